//! The course catalog and its fuzzy search (used by course listings and Discord autocomplete).
//!
//! Design choice: all text work on the catalog happens once, in [`Catalog::new`]: every course's
//! title, topics, provider and summary are cleaned, tokenized and stemmed into a vocabulary of
//! terms with posting lists (term → courses, with a field weight), plus a sorted list of every
//! spelling for prefix lookups. A search only tokenizes the query and walks those structures, and
//! each query word is weighted by the IDF of the *set of courses it matched* (exact, prefix or
//! typo), so a word matching most of the catalog ("course") counts little and one matching
//! nothing is ignored.

use std::collections::HashMap;

use crate::engine::english;
use crate::engine::intents::{Course, Level};
use crate::engine::normalize::{clean, content_stems, is_stop_word, stem, words};

/// Field weights: topics and title > provider > summary.
const W_TITLE: f32 = 2.0;
const W_TOPIC: f32 = 2.0;
const W_PROVIDER: f32 = 1.0;
const W_SUMMARY: f32 = 0.5;
/// Indexed by field kind: title, topics, provider, summary.
const FIELD_WEIGHTS: [f32; 4] = [W_TITLE, W_TOPIC, W_PROVIDER, W_SUMMARY];
/// A term found in several fields of a course gets this share of its other fields' weights.
const W_EXTRA_FIELD: f32 = 0.25;

/// Match qualities (multiplied by the field weight and the word's IDF).
const Q_EXACT: f32 = 1.0;
/// Prefix: `Q_PREFIX * (0.5 + 0.5 * typed / full length)`, so a longer prefix counts more.
const Q_PREFIX: f32 = 0.6;
/// Typo: `Q_TYPO * similarity` (similarity is at least [`MIN_TYPO_SIMILARITY`]).
const Q_TYPO: f32 = 0.8;
/// Normalized optimal-string-alignment (restricted Damerau-Levenshtein) similarity needed.
const MIN_TYPO_SIMILARITY: f32 = 0.8;
/// Query words shorter than this (in chars) get no typo tolerance.
const MIN_TYPO_CHARS: usize = 4;
/// Query words shorter than this (in chars) get no prefix matching.
const MIN_PREFIX_CHARS: usize = 2;
/// Only the first this many distinct query words are used (hostile input stays cheap).
const MAX_QUERY_WORDS: usize = 32;

/// Which courses a search may return. `Default` = no filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CourseFilter {
    pub level: Option<Level>,
    pub free_only: bool,
}

impl CourseFilter {
    pub fn accepts(&self, course: &Course) -> bool {
        self.level.is_none_or(|level| course.level == level) && (!self.free_only || course.free)
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseHit<'a> {
    pub course: &'a Course,
    /// Always > 0; only comparable within one search. An empty query lists with score 1.0.
    pub score: f32,
    /// The (cleaned) query words that matched this course, in query order, for explanations.
    pub matched: Vec<String>,
}

/// The validated courses, indexed for search. Built once; cheap to search.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    courses: Vec<Course>,
    by_id: HashMap<String, usize>,
    /// Course indices sorted by title (case-insensitive), then id.
    by_title: Vec<u32>,
    /// Position of each course in `by_title` (tie-breaker for equal scores).
    title_rank: Vec<u32>,
    /// One entry per distinct stem: the courses it occurs in, with field weight.
    postings: Vec<Vec<(u32, f32)>>,
    /// Stem → index into `postings`.
    stems: HashMap<String, u32>,
    /// Every stem and every original spelling, sorted by text: prefix ranges and typo scans.
    forms: Vec<Form>,
    /// Stems and spellings of the one-word `topics` of any course (stop words aside) ...
    topic_stems: std::collections::HashSet<String>,
    topic_spellings: std::collections::HashSet<String>,
    /// ... and the stems of the topics of several words, each named only whole.
    topic_phrases: Vec<Vec<String>>,
    /// Every distinct topic, most common first (then by text): what autocomplete offers.
    topics_by_use: Vec<String>,
}

#[derive(Debug, Clone)]
struct Form {
    text: String,
    chars: usize,
    mask: u64,
    term: u32,
}

impl Catalog {
    pub fn new(courses: Vec<Course>) -> Catalog {
        let mut by_id = HashMap::with_capacity(courses.len());
        for (i, course) in courses.iter().enumerate() {
            by_id.entry(course.id.clone()).or_insert(i);
        }

        let keys: Vec<String> = courses.iter().map(|c| c.title.to_lowercase()).collect();
        let mut by_title: Vec<u32> = (0..courses.len() as u32).collect();
        by_title.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            keys[a]
                .cmp(&keys[b])
                .then_with(|| courses[a].id.cmp(&courses[b].id))
        });
        let mut title_rank = vec![0u32; courses.len()];
        for (rank, &c) in by_title.iter().enumerate() {
            title_rank[c as usize] = rank as u32;
        }

        let mut stems: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<(u32, f32)>> = Vec::new();
        let mut spellings: Vec<(String, u32)> = Vec::new();
        for (ci, course) in courses.iter().enumerate() {
            // (text, index into FIELD_WEIGHTS)
            let mut fields: Vec<(&str, usize)> = vec![(&course.title, 0)];
            fields.extend(course.topics.iter().map(|t| (t.as_str(), 1)));
            fields.push((&course.provider, 2));
            if let Some(summary) = &course.summary {
                fields.push((summary, 3));
            }
            // (term, field kind): a kind counts once per course, however often its words repeat;
            // the topics together are one kind.
            let mut field_terms: Vec<(u32, usize)> = Vec::new();
            for &(text, kind) in &fields {
                let cleaned = clean(text);
                for word in words(&cleaned) {
                    if is_stop_word(word) {
                        continue;
                    }
                    let s = stem(word);
                    let term = match stems.get(s.as_ref()) {
                        Some(&t) => t,
                        None => {
                            let t = postings.len() as u32;
                            postings.push(Vec::new());
                            stems.insert(s.to_string(), t);
                            spellings.push((s.to_string(), t));
                            t
                        }
                    };
                    if word != s.as_ref() {
                        spellings.push((word.to_string(), term));
                    }
                    field_terms.push((term, kind));
                }
            }
            field_terms.sort_unstable();
            field_terms.dedup();
            for group in field_terms.chunk_by(|a, b| a.0 == b.0) {
                let weights = group.iter().map(|&(_, kind)| FIELD_WEIGHTS[kind]);
                let max = weights.clone().fold(0.0f32, f32::max);
                let sum: f32 = weights.sum();
                let weight = max + W_EXTRA_FIELD * (sum - max);
                postings[group[0].0 as usize].push((ci as u32, weight));
            }
        }

        let mut topic_stems = std::collections::HashSet::new();
        let mut topic_spellings = std::collections::HashSet::new();
        let mut topic_phrases = std::collections::HashSet::new();
        for topic in courses.iter().flat_map(|c| c.topics.iter()) {
            match content_stems(topic).as_slice() {
                [] => {}
                [one] => {
                    topic_stems.insert(one.clone());
                    let cleaned = clean(topic);
                    topic_spellings.extend(
                        words(&cleaned)
                            .into_iter()
                            .filter(|w| !is_stop_word(w))
                            .map(str::to_owned),
                    );
                }
                many => {
                    topic_phrases.insert(many.to_vec());
                }
            }
        }
        let mut topic_phrases: Vec<Vec<String>> = topic_phrases.into_iter().collect();
        topic_phrases.sort();

        spellings.sort();
        spellings.dedup();
        let forms = spellings
            .into_iter()
            .map(|(text, term)| Form {
                chars: text.chars().count(),
                mask: char_mask(&text),
                text,
                term,
            })
            .collect();

        let mut counts: HashMap<&str, usize> = HashMap::new();
        for course in &courses {
            for topic in &course.topics {
                *counts.entry(topic.as_str()).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let topics_by_use = ranked.into_iter().map(|(t, _)| t.to_owned()).collect();
        Catalog {
            topics_by_use,
            courses,
            by_id,
            by_title,
            title_rank,
            postings,
            stems,
            forms,
            topic_stems,
            topic_spellings,
            topic_phrases,
        }
    }

    pub fn courses(&self) -> &[Course] {
        &self.courses
    }

    pub fn get(&self, id: &str) -> Option<&Course> {
        self.by_id.get(id).map(|&i| &self.courses[i])
    }

    /// Completions for a topic being typed (`/course` autocomplete): catalog topics, most
    /// common first, then course titles, whose words start with every word typed so far
    /// (case-insensitive). An empty `partial` gives the most common topics.
    pub fn suggest(&self, partial: &str, limit: usize) -> Vec<String> {
        let typed: Vec<String> = partial
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let fits = |text: &str| {
            let lower = text.to_lowercase();
            let words: Vec<&str> = lower
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            typed
                .iter()
                .all(|t| words.iter().any(|w| w.starts_with(t.as_str())))
        };
        let titles = self
            .by_title
            .iter()
            .map(|&i| self.courses[i as usize].title.as_str())
            .filter(|t| fits(t));
        let mut seen = std::collections::HashSet::new();
        self.topics_by_use
            .iter()
            .map(String::as_str)
            .filter(|t| fits(t))
            .chain(titles)
            .filter(|t| seen.insert(t.to_lowercase()))
            .take(limit)
            .map(str::to_owned)
            .collect()
    }

    /// The words of `text` that name a topic of some course, in order: a one-word topic by
    /// its stem or within a typo (normalized Damerau-Levenshtein similarity >= 0.8) of its
    /// spelling (words of 4+ letters) or of its stem (stems of 5+ letters: "cook" would
    /// pass for "cooki", the stem of "cookies"), and a topic of several words only whole,
    /// each word by its stem or within a typo of a stem of 5+ letters ("learning" alone
    /// does not name "learning path"; "operating sytems" names "operating systems"). A word
    /// that is itself an English word is never a typo ([`english::is_word`]).
    /// "any course on kubernetes?" gives `["kubernetes"]`; "any course on distributed
    /// systems" gives both words; "any course?" gives nothing.
    pub fn topic_words(&self, text: &str) -> Vec<String> {
        let cleaned = clean(text);
        let content: Vec<&str> = words(&cleaned)
            .into_iter()
            .filter(|w| !is_stop_word(w))
            .collect();
        let stems: Vec<String> = content.iter().map(|w| stem(w).into_owned()).collect();
        let close = |a: &str, b: &str| strsim::normalized_damerau_levenshtein(a, b) >= 0.8;
        let long_stem = |s: &str| s.chars().count() > MIN_TYPO_CHARS;
        let same_stem = |a: &str, b: &str| a == b || (long_stem(a) && long_stem(b) && close(a, b));
        let mut topical = vec![false; content.len()];
        for (i, word) in content.iter().enumerate() {
            topical[i] = self.topic_stems.contains(&stems[i])
                || (word.chars().count() >= MIN_TYPO_CHARS
                    && !english::is_word(word)
                    && self.topic_spellings.iter().any(|t| close(word, t)))
                || (!english::is_word(word)
                    && self.topic_stems.iter().any(|t| same_stem(&stems[i], t)));
        }
        for phrase in &self.topic_phrases {
            for at in 0..stems.len().saturating_sub(phrase.len() - 1) {
                let window = &stems[at..at + phrase.len()];
                if window.iter().zip(phrase).all(|(a, b)| same_stem(a, b)) {
                    topical[at..at + phrase.len()].fill(true);
                }
            }
        }
        content
            .into_iter()
            .zip(topical)
            .filter(|&(_, topical)| topical)
            .map(|(word, _)| word.to_owned())
            .collect()
    }

    /// Fuzzy search over title, topics, provider and summary.
    ///
    /// The query is cleaned, split into words, stop words dropped (duplicates too; at most 32
    /// words are used), and each word is matched against the catalog's terms by exact stem,
    /// by prefix for the word still being typed (the last one, with nothing after it; 2+
    /// chars, against stems and original spellings: "dat" finds "data" and "databases", so
    /// autocomplete works while typing) and, when the word has no exact match
    /// in the catalog, by typo tolerance (4+ chars, not an English word, normalized restricted
    /// Damerau-Levenshtein similarity >= 0.8, via strsim). A word's contribution to a course is its best match
    /// quality × field weight (topics, title 2 > provider 1 > summary 0.5) × the BM25 IDF of
    /// the set of courses the word matched; words matching no course are ignored.
    ///
    /// Best first, ties broken by title. A query with no words left after dropping stop words
    /// (empty, punctuation, only mentions, "the") lists every course that passes the filter,
    /// sorted by title, with score 1.0. Returns at most `limit` hits.
    pub fn search(&self, query: &str, filter: &CourseFilter, limit: usize) -> Vec<CourseHit<'_>> {
        if limit == 0 || self.courses.is_empty() {
            return Vec::new();
        }
        let cleaned = clean(query);
        // Only a word still being typed (the last one, with nothing after it) matches by
        // prefix: in "any course on sql?" the word "course" must not match "Coursera".
        let typing: Option<&str> = match cleaned.chars().last() {
            Some(c) if c.is_alphanumeric() => words(&cleaned).last().copied(),
            _ => None,
        };
        let mut qwords: Vec<&str> = Vec::new();
        for w in words(&cleaned) {
            if !is_stop_word(w) && !qwords.contains(&w) {
                qwords.push(w);
                if qwords.len() == MAX_QUERY_WORDS {
                    break;
                }
            }
        }
        if qwords.is_empty() {
            return self
                .by_title
                .iter()
                .map(|&c| &self.courses[c as usize])
                .filter(|c| filter.accepts(c))
                .take(limit)
                .map(|course| CourseHit {
                    course,
                    score: 1.0,
                    matched: Vec::new(),
                })
                .collect();
        }

        let n = self.courses.len();
        let mut scratch = Scratch {
            best: vec![0.0; n],
            touched: Vec::new(),
        };
        let mut total = vec![0.0f32; n];
        let mut matched = vec![0u32; n];
        for (wi, q) in qwords.iter().enumerate() {
            self.match_word(q, typing == Some(*q), &mut scratch);
            let df = scratch.touched.len();
            if df == 0 {
                continue;
            }
            let idf = bm25_idf(n, df);
            for &c in &scratch.touched {
                let c = c as usize;
                total[c] += idf * scratch.best[c];
                matched[c] |= 1 << wi;
                scratch.best[c] = 0.0;
            }
            scratch.touched.clear();
        }

        let mut hits: Vec<(u32, f32)> = (0..n)
            .filter(|&c| total[c] > 0.0 && filter.accepts(&self.courses[c]))
            .map(|c| (c as u32, total[c]))
            .collect();
        hits.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.title_rank[a.0 as usize].cmp(&self.title_rank[b.0 as usize]))
        });
        hits.truncate(limit);
        hits.into_iter()
            .map(|(c, score)| {
                let bits = matched[c as usize];
                CourseHit {
                    course: &self.courses[c as usize],
                    score,
                    matched: qwords
                        .iter()
                        .enumerate()
                        .filter(|(wi, _)| bits & (1 << wi) != 0)
                        .map(|(_, w)| w.to_string())
                        .collect(),
                }
            })
            .collect()
    }

    /// Fills `scratch` with each course's best match quality × field weight for one query word.
    fn match_word(&self, q: &str, by_prefix: bool, scratch: &mut Scratch) {
        let qs = stem(q);
        let qs = qs.as_ref();
        let exact = self.stems.get(qs).copied();
        if let Some(term) = exact {
            scratch.add(&self.postings[term as usize], Q_EXACT);
        }

        let q_chars = q.chars().count();
        if by_prefix && q_chars >= MIN_PREFIX_CHARS {
            let candidates: &[&str] = if qs == q { &[q] } else { &[q, qs] };
            for &cand in candidates {
                let cand_chars = cand.chars().count();
                let from = self.forms.partition_point(|f| f.text.as_str() < cand);
                for form in self.forms[from..]
                    .iter()
                    .take_while(|f| f.text.starts_with(cand))
                {
                    if Some(form.term) == exact {
                        continue;
                    }
                    let quality = if form.chars == cand_chars {
                        Q_EXACT
                    } else {
                        Q_PREFIX * (0.5 + 0.5 * cand_chars as f32 / form.chars as f32)
                    };
                    scratch.add(&self.postings[form.term as usize], quality);
                }
            }
        }

        // A typo only: an English word is never taken for another ("nitro" is not "intro").
        if exact.is_none() && q_chars >= MIN_TYPO_CHARS && !english::is_word(q) {
            let candidates: &[&str] = if qs == q { &[q] } else { &[q, qs] };
            let cands: Vec<(&str, usize, u64)> = candidates
                .iter()
                .map(|&c| (c, c.chars().count(), char_mask(c)))
                .collect();
            for form in &self.forms {
                let mut best = 0.0f32;
                for &(cand, chars, mask) in &cands {
                    let longest = chars.max(form.chars);
                    // similarity = 1 - distance / longest >= MIN_TYPO_SIMILARITY
                    let max_dist =
                        ((1.0 - MIN_TYPO_SIMILARITY) * longest as f32 + 1e-3).floor() as usize;
                    if max_dist == 0
                        || chars.abs_diff(form.chars) > max_dist
                        // each edit changes at most two bits of the letter-presence mask
                        || (mask ^ form.mask).count_ones() as usize > 2 * max_dist
                    {
                        continue;
                    }
                    let dist = strsim::osa_distance(cand, &form.text);
                    let sim = 1.0 - dist as f32 / longest as f32;
                    if dist <= max_dist {
                        best = best.max(sim);
                    }
                }
                if best > 0.0 {
                    scratch.add(&self.postings[form.term as usize], Q_TYPO * best);
                }
            }
        }
    }
}

/// Per-search working memory: best quality × weight per course for the current query word.
struct Scratch {
    best: Vec<f32>,
    touched: Vec<u32>,
}

impl Scratch {
    fn add(&mut self, postings: &[(u32, f32)], quality: f32) {
        for &(c, weight) in postings {
            let slot = &mut self.best[c as usize];
            if *slot == 0.0 {
                self.touched.push(c);
            }
            let v = quality * weight;
            if v > *slot {
                *slot = v;
            }
        }
    }
}

/// BM25's IDF, always > 0: high for a word matching few of the `n` courses, near 0 for most.
fn bm25_idf(n: usize, df: usize) -> f32 {
    let (n, df) = (n as f32, df as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// Which characters a word contains: a-z, 0-9, and anything else hashed into the last bits.
fn char_mask(word: &str) -> u64 {
    word.chars().fold(0u64, |mask, c| {
        let bit = match c {
            'a'..='z' => c as u32 - 'a' as u32,
            '0'..='9' => 26 + c as u32 - '0' as u32,
            _ => 36 + (c as u32 % 28),
        };
        mask | (1 << bit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::intents::Location;

    fn course(
        id: &str,
        title: &str,
        topics: &[&str],
        provider: &str,
        level: Level,
        free: bool,
        summary: Option<&str>,
    ) -> Course {
        Course {
            id: id.to_string(),
            title: title.to_string(),
            provider: provider.to_string(),
            url: format!("https://example.com/{id}"),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            level,
            free,
            summary: summary.map(str::to_string),
            location: Location::default(),
        }
    }

    fn catalog() -> Catalog {
        use Level::*;
        Catalog::new(vec![
            course(
                "sql",
                "SQL for Data Analysis",
                &["sql", "databases", "queries"],
                "Udacity",
                Beginner,
                true,
                Some("Write SQL queries against relational databases."),
            ),
            course(
                "db-internals",
                "Database Internals",
                &["databases", "storage engines", "b-trees"],
                "CMU",
                Advanced,
                true,
                Some("How a database course stores data on disk."),
            ),
            course(
                "os",
                "Operating Systems: Three Easy Pieces",
                &["operating systems", "concurrency", "linux"],
                "OSTEP",
                Intermediate,
                true,
                Some("An operating systems course about processes and memory."),
            ),
            course(
                "python",
                "Python for Everybody",
                &["python", "programming"],
                "Coursera",
                Beginner,
                false,
                Some("A first programming course in Python."),
            ),
            course(
                "algo",
                "Algorithms, Part I",
                &["algorithms", "data structures"],
                "Coursera",
                Intermediate,
                false,
                Some("A course on sorting, searching and graphs."),
            ),
            course(
                "cpp",
                "C++ Fundamentals",
                &["c++", "programming"],
                "Pluralsight",
                Beginner,
                false,
                None,
            ),
        ])
    }

    #[test]
    fn suggestions_put_common_topics_first_then_titles_and_match_each_typed_word() {
        let catalog = catalog();
        // "databases" is a topic of two courses: the most common comes first.
        assert_eq!(catalog.suggest("", 1), ["databases"]);
        let sql = catalog.suggest("sq", 25);
        assert_eq!(sql.first().map(String::as_str), Some("sql"));
        assert!(sql.contains(&"SQL for Data Analysis".to_owned()), "{sql:?}");
        // Every typed word must start a word of the suggestion.
        assert_eq!(
            catalog.suggest("operat sys", 25),
            ["operating systems", "Operating Systems: Three Easy Pieces"]
        );
        assert!(catalog.suggest("zzz", 25).is_empty());
    }

    fn ids(hits: &[CourseHit<'_>]) -> Vec<String> {
        hits.iter().map(|h| h.course.id.clone()).collect()
    }

    #[test]
    fn only_the_word_being_typed_matches_by_prefix() {
        let catalog = Catalog::new(vec![
            course(
                "sql",
                "SQL Basics",
                &["sql"],
                "SQLBolt",
                Level::Beginner,
                true,
                None,
            ),
            course(
                "ml",
                "Machine Learning",
                &["ml"],
                "Coursera",
                Level::Beginner,
                true,
                None,
            ),
        ]);
        let f = CourseFilter::default();
        // "course" is a whole word here: it must not pull in every "Coursera" course.
        assert_eq!(ids(&catalog.search("any course on sql?", &f, 10)), ["sql"]);
        // Still typing "course": Coursera's courses are fair completions.
        assert_eq!(ids(&catalog.search("course", &f, 10)), ["ml"]);
    }

    #[test]
    fn an_english_word_is_never_taken_for_a_typo_of_another() {
        let catalog = Catalog::new(vec![course(
            "go",
            "Intro to Go",
            &["golang"],
            "Go",
            Level::Beginner,
            true,
            None,
        )]);
        let f = CourseFilter::default();
        // One transposition from "intro", but a word of its own.
        assert!(catalog.search("free nitro", &f, 10).is_empty());
        assert!(catalog.topic_words("free nitro now").is_empty());
        // A typo of no word is still forgiven.
        assert_eq!(ids(&catalog.search("an itnro course", &f, 10)), ["go"]);
    }

    #[test]
    fn search_first_hit() {
        let cat = catalog();
        // (query, expected first id)
        let rows = [
            ("any course on SQL?", "sql"),
            ("sql", "sql"),
            ("operating sytems", "os"),
            ("operating systems", "os"),
            ("opreating", "os"),
            ("pyth", "python"),
            ("pyhton", "python"),
            ("Python", "python"),
            ("algoritms", "algo"),
            ("data structures", "algo"),
            ("database internals", "db-internals"),
            ("databse", "db-internals"),
            ("linux", "os"),
            ("c++", "cpp"),
            ("ostep", "os"),
            ("Which courses teach **concurrency**? <@123>", "os"),
        ];
        for (query, first) in rows {
            let hits = cat.search(query, &CourseFilter::default(), 10);
            assert!(!hits.is_empty(), "{query:?} found nothing");
            assert_eq!(hits[0].course.id, first, "{query:?}: {:?}", ids(&hits));
            assert!(hits.iter().all(|h| h.score > 0.0));
            assert!(
                hits.windows(2).all(|w| w[0].score >= w[1].score),
                "{query:?} not sorted"
            );
        }
    }

    #[test]
    fn prefix_finds_several() {
        let cat = catalog();
        let hits = cat.search("dat", &CourseFilter::default(), 10);
        let found = ids(&hits);
        for id in ["sql", "db-internals", "algo"] {
            assert!(found.contains(&id.to_string()), "dat -> {found:?}");
        }
        assert_eq!(hits[0].matched, vec!["dat".to_string()]);
    }

    #[test]
    fn matched_words() {
        let cat = catalog();
        let hits = cat.search("python programming course", &CourseFilter::default(), 10);
        assert_eq!(hits[0].course.id, "python");
        assert_eq!(hits[0].matched, vec!["python", "programming", "course"]);
        // Programming (2 courses) beats "course" (in 4 summaries).
        assert_eq!(hits[1].course.id, "cpp");
    }

    #[test]
    fn common_words_count_little() {
        let cat = catalog();
        let hits = cat.search("course on linux", &CourseFilter::default(), 10);
        assert_eq!(hits[0].course.id, "os");
        let os = hits[0].score;
        assert!(hits[1..].iter().all(|h| h.score < os / 2.0), "{hits:?}");
    }

    #[test]
    fn filters() {
        let cat = catalog();
        let beginner = CourseFilter {
            level: Some(Level::Beginner),
            free_only: false,
        };
        let free = CourseFilter {
            level: None,
            free_only: true,
        };
        let free_adv = CourseFilter {
            level: Some(Level::Advanced),
            free_only: true,
        };
        let paid_only_level = CourseFilter {
            level: Some(Level::Advanced),
            free_only: false,
        };
        let rows: &[(&str, CourseFilter, &[&str])] = &[
            ("programming", beginner, &["cpp", "python"]),
            ("programming", free, &[]),
            ("databases", free, &["db-internals", "sql"]),
            ("databases", free_adv, &["db-internals"]),
            ("python", paid_only_level, &[]),
            ("", beginner, &["cpp", "python", "sql"]),
            ("", free, &["db-internals", "os", "sql"]),
        ];
        for (query, filter, expected) in rows {
            let mut found = ids(&cat.search(query, filter, 10));
            found.sort();
            assert_eq!(found, *expected, "{query:?} {filter:?}");
        }
    }

    #[test]
    fn empty_query_lists_all_by_title() {
        let cat = catalog();
        for query in ["", "   ", "???", "<@123> <#456>", "the", "```code```"] {
            let hits = cat.search(query, &CourseFilter::default(), 100);
            assert_eq!(
                ids(&hits),
                ["algo", "cpp", "db-internals", "os", "python", "sql"],
                "{query:?}"
            );
            assert!(hits.iter().all(|h| h.score == 1.0 && h.matched.is_empty()));
        }
        assert_eq!(cat.search("", &CourseFilter::default(), 2).len(), 2);
        assert!(cat.search("", &CourseFilter::default(), 0).is_empty());
    }

    #[test]
    fn no_match_returns_nothing() {
        let cat = catalog();
        for query in [
            "kubernetes",
            "zzzz qqqq",
            "x",
            "quantum chromodynamics",
            "12345",
        ] {
            assert!(
                cat.search(query, &CourseFilter::default(), 10).is_empty(),
                "{query:?}"
            );
        }
    }

    #[test]
    fn limit_and_ties() {
        let cat = catalog();
        let hits = cat.search("programming", &CourseFilter::default(), 1);
        assert_eq!(ids(&hits), ["python"]);
        // Same score: ties broken by title ("Algorithms, Part I" < "Python for Everybody").
        let hits = cat.search("coursera", &CourseFilter::default(), 10);
        assert_eq!(ids(&hits), ["algo", "python"]);
        assert_eq!(hits[0].score, hits[1].score);
    }

    #[test]
    fn get_and_courses() {
        let cat = catalog();
        assert_eq!(cat.courses().len(), 6);
        assert_eq!(
            cat.get("os").map(|c| c.title.as_str()),
            Some("Operating Systems: Three Easy Pieces")
        );
        assert!(cat.get("nope").is_none());
        let empty = Catalog::new(Vec::new());
        assert!(empty.search("sql", &CourseFilter::default(), 10).is_empty());
        assert!(empty.search("", &CourseFilter::default(), 10).is_empty());
    }

    #[test]
    fn hostile_queries_do_not_panic() {
        let cat = catalog();
        let long = "sql ".repeat(50_000);
        let many: String = (0..3000).map(|i| format!("w{i} ")).collect();
        let lossy =
            String::from_utf8_lossy(&[0xff, 0xfe, b's', b'q', b'l', 0x00, 0xc3]).into_owned();
        for query in [
            long.as_str(),
            many.as_str(),
            lossy.as_str(),
            "\0\0\0",
            "😀🎉",
            "مرحبا بالعالم",
            "שלום",
            "<",
            "```unterminated",
            "[a](http",
            "c#+",
            "ﬁ",
            "ＳＱＬ",
        ] {
            let hits = cat.search(query, &CourseFilter::default(), 10);
            assert!(hits.len() <= 10);
        }
        assert_eq!(
            cat.search("ＳＱＬ", &CourseFilter::default(), 10)[0]
                .course
                .id,
            "sql"
        );
        assert_eq!(
            cat.search(&long, &CourseFilter::default(), 10)[0].course.id,
            "sql"
        );
    }

    #[test]
    fn topic_words_name_one_word_topics_and_whole_phrases_typos_included() {
        let catalog = Catalog::new(vec![
            course(
                "os",
                "OS",
                &["operating systems", "linux"],
                "P",
                Level::Beginner,
                true,
                None,
            ),
            course(
                "web",
                "Web",
                &["learning path", "cookies"],
                "P",
                Level::Beginner,
                true,
                None,
            ),
            course(
                "db",
                "Databases",
                &["databases"],
                "P",
                Level::Beginner,
                true,
                None,
            ),
        ]);
        let cases: [(&str, &[&str]); 7] = [
            ("any course on operating systems", &["operating", "systems"]),
            ("a course on operating sytems", &["operating", "sytems"]),
            ("a course on linux", &["linux"]),
            // Part of a phrase topic names nothing.
            ("course about systems", &[]),
            ("best course for learning french", &[]),
            // A typo of a spelling or a long stem, but not of a short stem.
            ("recommend a databse course", &["databse"]),
            ("where can i take a cooking class", &[]),
        ];
        for (question, expected) in cases {
            assert_eq!(catalog.topic_words(question), expected, "{question}");
        }
    }
}
