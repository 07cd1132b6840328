//! How well course search finds the right course: a table of queries, each with the courses
//! that may come first (`best`) and the others that are fair results (`relevant`), measured
//! as precision at 1 and at 3, plus a check that no result matched a fragment of a word.
//!
//! - Precision at 1: the share of queries whose first result is one of its `best`.
//! - Precision at 3: the mean over queries of the share of acceptable courses (`best` or
//!   `relevant`) among the first three results shown (a query with no result counts 0).
//! - Filled at 3: the mean over queries of the acceptable courses among the first three
//!   results over the most there could be (three, or fewer when fewer are acceptable): it
//!   also counts the right courses a search left out.
//! - A fragment: a result matched on a query word that is not a whole word (or alias, or
//!   typo of a whole word) of that course; see [`Catalog::is_whole_word_match`].

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, CourseFilter};

/// Results looked at per query for fragments (the most `/course` lists is 10).
pub const RESULTS_CHECKED: usize = 10;

/// A relevance table file: `[[query]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    query: Vec<Judgement>,
}

/// One query and the courses that answer it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    pub text: String,
    /// The courses any of which is a right first result.
    pub best: Vec<String>,
    /// Other fair results.
    #[serde(default)]
    pub relevant: Vec<String>,
}

/// Reads a relevance table; `Err` with the TOML error (line and column) or a problem.
pub fn parse(text: &str) -> Result<Vec<Judgement>, String> {
    let table: Table = toml_edit::de::from_str(text).map_err(|e| e.to_string())?;
    if let Some(q) = table.query.iter().find(|q| q.best.is_empty()) {
        return Err(format!("query {:?} has no `best` course", q.text));
    }
    Ok(table.query)
}

/// The figures of one run over a table.
#[derive(Debug, Clone, Serialize)]
pub struct Relevance {
    pub queries: usize,
    pub precision_at_1: f64,
    pub precision_at_3: f64,
    pub filled_at_3: f64,
    /// Results that matched a fragment of a word (should be none).
    pub fragments: Vec<Fragment>,
    /// Queries whose first result is not one of their `best`, or whose first three hold a
    /// course that is neither `best` nor `relevant` (or miss one that could be there).
    pub misses: Vec<Miss>,
    /// Ids in the table that the catalog does not have.
    pub unknown_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Fragment {
    pub query: String,
    pub course: String,
    pub word: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub query: String,
    /// The first three results' ids.
    pub top3: Vec<String>,
    pub best: Vec<String>,
    pub at_3: f64,
}

/// Runs every query of `table` through [`Catalog::search`] (no filter besides the query's
/// own words) and measures the results.
pub fn measure(catalog: &Catalog, table: &[Judgement]) -> Relevance {
    let mut at_1 = 0usize;
    let mut at_3_sum = 0.0f64;
    let mut filled_sum = 0.0f64;
    let mut fragments = Vec::new();
    let mut misses = Vec::new();
    let mut unknown_ids: Vec<String> = Vec::new();
    for judgement in table {
        for id in judgement.best.iter().chain(&judgement.relevant) {
            if catalog.get(id).is_none() && !unknown_ids.contains(id) {
                unknown_ids.push(id.clone());
            }
        }
        let hits = catalog.search(&judgement.text, &CourseFilter::default(), RESULTS_CHECKED);
        for hit in &hits {
            for word in &hit.matched {
                if !catalog.is_whole_word_match(hit.course, word) {
                    fragments.push(Fragment {
                        query: judgement.text.clone(),
                        course: hit.course.id.clone(),
                        word: word.clone(),
                    });
                }
            }
        }
        let acceptable = |id: &str| {
            judgement
                .best
                .iter()
                .chain(&judgement.relevant)
                .any(|a| a == id)
        };
        let top3: Vec<String> = hits.iter().take(3).map(|h| h.course.id.clone()).collect();
        let first_ok = top3.first().is_some_and(|id| judgement.best.contains(id));
        let possible = (judgement.best.len() + judgement.relevant.len()).min(3);
        let good = top3.iter().filter(|id| acceptable(id)).count();
        let at_3 = if top3.is_empty() {
            0.0
        } else {
            good as f64 / top3.len() as f64
        };
        at_1 += usize::from(first_ok);
        at_3_sum += at_3;
        filled_sum += good as f64 / possible as f64;
        if !first_ok || good < top3.len() {
            misses.push(Miss {
                query: judgement.text.clone(),
                top3,
                best: judgement.best.clone(),
                at_3,
            });
        }
    }
    let n = table.len().max(1) as f64;
    Relevance {
        queries: table.len(),
        precision_at_1: at_1 as f64 / n,
        precision_at_3: at_3_sum / n,
        filled_at_3: filled_sum / n,
        fragments,
        misses,
        unknown_ids,
    }
}
