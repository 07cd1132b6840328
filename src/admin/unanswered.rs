//! Grouping the unanswered queue: near-duplicate questions ("how much does a junior earn",
//! "how much does a junor earn") become one group, so an admin triages each once.
//!
//! Pure and synchronous. Distinct texts are compared, not rows, and each only against the
//! groups' representatives; pairs that cannot reach the similarity (by length, then by
//! letter counts, both lower bounds of the edit distance) are skipped before the exact
//! `strsim::normalized_levenshtein`, which keeps 10,000 questions well under a second.

use std::collections::{BTreeMap, HashMap};

use serde::ser::SerializeSeq as _;
use serde::{Serialize, Serializer};

use super::store::QuestionRecord;

/// Candidate intents kept per group.
const CANDIDATES_KEPT: usize = 5;

/// Similar unanswered questions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The representative: the group's most frequent text.
    pub text: String,
    /// Questions in the group (rows, not distinct texts).
    pub count: usize,
    /// Their question numbers, newest first.
    pub ids: Vec<u64>,
    /// Intents by how often they were a candidate, best first (at most 5); serialized as
    /// `[{"intent", "count"}]`.
    #[serde(serialize_with = "intent_counts")]
    pub candidates: Vec<(String, usize)>,
    /// When the newest question of the group was asked (unix milliseconds).
    pub last_at_ms: i64,
}

fn intent_counts<S: Serializer>(
    candidates: &[(String, usize)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct IntentCount<'a> {
        intent: &'a str,
        count: usize,
    }
    let mut seq = serializer.serialize_seq(Some(candidates.len()))?;
    for (intent, count) in candidates {
        seq.serialize_element(&IntentCount {
            intent,
            count: *count,
        })?;
    }
    seq.end()
}

/// Groups `questions`: a text joins the group whose representative it equals or is at least
/// `similarity` similar to (normalized Levenshtein; the most similar group when several
/// are). Groups come biggest first, then most recently asked first.
pub fn group(questions: &[QuestionRecord], similarity: f64) -> Vec<Group> {
    let mut texts = distinct_texts(questions);
    // Most frequent first, so every group's first text is its most frequent one.
    texts.sort_by(|a, b| {
        (b.rows.len(), b.last_at_ms, a.text).cmp(&(a.rows.len(), a.last_at_ms, b.text))
    });
    // Each group as indexes into `texts`; the first one is the representative.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    // Groups by the length (in chars) of their representative, with a copy of its letter
    // counts: most pairs are ruled out by these alone, read in order from memory.
    let mut by_len: BTreeMap<usize, Vec<(Letters, usize)>> = BTreeMap::new();
    for (i, text) in texts.iter().enumerate() {
        let mut best: Option<(f64, usize)> = None;
        let (low, high) = length_window(text.len, similarity);
        for (&len, in_window) in by_len.range(low..=high) {
            let allowed = allowed_edits(len.max(text.len), similarity);
            for &(ref letters, g) in in_window {
                if letters.distance_bound(&text.letters) > allowed {
                    continue;
                }
                let rep = &texts[groups[g][0]];
                let Some(score) = similar(rep, text, similarity) else {
                    continue;
                };
                if best.is_none_or(|(top, at)| score > top || (score == top && g < at)) {
                    best = Some((score, g));
                }
            }
        }
        match best {
            Some((_, g)) => groups[g].push(i),
            None => {
                by_len
                    .entry(text.len)
                    .or_default()
                    .push((text.letters.clone(), groups.len()));
                groups.push(vec![i]);
            }
        }
    }
    let mut out: Vec<Group> = groups
        .iter()
        .map(|members| build(&texts, members))
        .collect();
    out.sort_by(|a, b| (b.count, b.last_at_ms, &a.text).cmp(&(a.count, a.last_at_ms, &b.text)));
    out
}

/// One distinct question text and the rows that asked it.
struct Text<'q> {
    text: &'q str,
    /// Length in chars (what `normalized_levenshtein` divides by).
    len: usize,
    chars: Vec<char>,
    letters: Letters,
    rows: Vec<&'q QuestionRecord>,
    last_at_ms: i64,
}

fn distinct_texts(questions: &[QuestionRecord]) -> Vec<Text<'_>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut texts: Vec<Text<'_>> = Vec::new();
    for q in questions {
        let i = *index.entry(q.text.as_str()).or_insert_with(|| {
            texts.push(Text {
                text: &q.text,
                len: q.text.chars().count(),
                chars: q.text.chars().collect(),
                letters: Letters::of(&q.text),
                rows: Vec::new(),
                last_at_ms: i64::MIN,
            });
            texts.len() - 1
        });
        let text = &mut texts[i];
        text.rows.push(q);
        text.last_at_ms = text.last_at_ms.max(q.at_ms);
    }
    texts
}

/// Slack for the float arithmetic of the prefilters; the final check is exact.
const EPSILON: f64 = 1e-9;

/// The lengths a text of `len` chars can be `similarity` similar to: the edit distance is
/// at least the difference of the lengths, so similarity ≤ shorter / longer.
fn length_window(len: usize, similarity: f64) -> (usize, usize) {
    if similarity <= 0.0 {
        return (0, usize::MAX);
    }
    let len = len as f64;
    let low = (len * similarity - EPSILON).ceil().max(0.0) as usize;
    let high = (len / similarity + EPSILON).floor().min(usize::MAX as f64) as usize;
    (low, high)
}

/// The similarity of `a` and `b` when it reaches `similarity`.
fn similar(a: &Text<'_>, b: &Text<'_>, similarity: f64) -> Option<f64> {
    if a.text == b.text {
        return Some(1.0);
    }
    let allowed = allowed_edits(a.len.max(b.len), similarity);
    if a.letters.distance_bound(&b.letters) > allowed || !within(&a.chars, &b.chars, allowed) {
        return None;
    }
    let score = strsim::normalized_levenshtein(a.text, b.text);
    (score >= similarity).then_some(score)
}

/// The most edits that leave two texts, the longer `longest` chars, `similarity` similar
/// (rounded up a hair: the final check is exact).
fn allowed_edits(longest: usize, similarity: f64) -> usize {
    ((1.0 - similarity) * longest as f64 + EPSILON)
        .floor()
        .max(0.0) as usize
}

/// Whether the edit distance of `a` and `b` is at most `k`: Levenshtein restricted to the
/// diagonal band of width `2k + 1`, stopping at the first row whose every cell exceeds `k`
/// (a row's minimum never decreases further down). O(k·n) instead of O(n²), and most
/// dissimilar pairs stop after a few rows.
fn within(a: &[char], b: &[char], k: usize) -> bool {
    let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if b.len() - a.len() > k {
        return false;
    }
    let far = k + 1;
    let mut previous: Vec<usize> = (0..=a.len()).map(|j| j.min(far)).collect();
    let mut current = vec![far; a.len() + 1];
    for (i, &bc) in b.iter().enumerate().map(|(i, c)| (i + 1, c)) {
        let low = i.saturating_sub(k).max(1);
        let high = (i + k).min(a.len());
        current[low - 1] = if low == 1 { i.min(far) } else { far };
        let mut row_min = current[low - 1];
        for j in low..=high {
            let substitute = previous[j - 1] + usize::from(a[j - 1] != bc);
            let cell = substitute
                .min(previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(far);
            current[j] = cell;
            row_min = row_min.min(cell);
        }
        if high < a.len() {
            current[high + 1] = far;
        }
        if row_min > k {
            return false;
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[a.len()] <= k
}

/// Character counts in 32 buckets (lowercase ASCII letters get one each), and their sum.
#[derive(Clone)]
struct Letters {
    counts: [u16; 32],
    total: u32,
}

impl Letters {
    fn of(text: &str) -> Letters {
        let mut counts = [0u16; 32];
        for c in text.chars() {
            let bucket = &mut counts[(c as u32 % 32) as usize];
            *bucket = bucket.saturating_add(1);
        }
        let total = counts.iter().map(|&n| u32::from(n)).sum();
        Letters { counts, total }
    }

    /// A lower bound of the edit distance: an edit removes at most one surplus character
    /// and adds at most one missing one, so it is at least max(surplus, missing), which is
    /// (|a - b| summed over buckets + |total a - total b|) / 2. (Shared buckets and
    /// saturation only lower it.)
    fn distance_bound(&self, other: &Letters) -> usize {
        let mut differences = 0u32;
        for (a, b) in self.counts.iter().zip(&other.counts) {
            differences += u32::from(a.abs_diff(*b));
        }
        ((differences + self.total.abs_diff(other.total)) / 2) as usize
    }
}

fn build(texts: &[Text<'_>], members: &[usize]) -> Group {
    let rows: Vec<&QuestionRecord> = members
        .iter()
        .flat_map(|&i| texts[i].rows.iter().copied())
        .collect();
    let mut ids: Vec<(i64, u64)> = rows.iter().map(|q| (q.at_ms, q.id)).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for q in &rows {
        let intent = q.intent.iter().filter(|i| !q.candidates.contains(i));
        let mut seen: Vec<&str> = Vec::new();
        for id in q.candidates.iter().chain(intent) {
            if !seen.contains(&id.as_str()) {
                seen.push(id);
                *counts.entry(id).or_default() += 1;
            }
        }
    }
    let mut candidates: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(intent, n)| (intent.to_owned(), n))
        .collect();
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    candidates.truncate(CANDIDATES_KEPT);
    Group {
        text: texts[members[0]].text.to_owned(),
        count: rows.len(),
        ids: ids.into_iter().map(|(_, id)| id).collect(),
        candidates,
        last_at_ms: members
            .iter()
            .map(|&i| texts[i].last_at_ms)
            .max()
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::store::{Outcome, Source};

    fn q(id: u64, at_ms: i64, text: &str, candidates: &[&str]) -> QuestionRecord {
        QuestionRecord {
            id,
            at_ms,
            guild: None,
            channel: None,
            source: Source::Dm,
            text: text.to_owned(),
            decision: Outcome::Fallback,
            intent: candidates.first().map(|c| (*c).to_owned()),
            confidence: 0.1,
            candidates: candidates.iter().map(|c| (*c).to_owned()).collect(),
            engine_version: "test".to_owned(),
        }
    }

    fn summary(groups: &[Group]) -> Vec<(&str, usize)> {
        groups.iter().map(|g| (g.text.as_str(), g.count)).collect()
    }

    #[test]
    fn near_duplicates_group_under_the_most_frequent_text() {
        let questions = [
            q(1, 100, "how much does a junior earn", &["salary"]),
            q(2, 200, "how much does a junor earn", &["salary", "junior"]),
            q(3, 300, "how much does a junior earn", &["salary", "junior"]),
            q(4, 400, "can i cook pasta", &[]),
            q(5, 500, "how much does a junior earn?", &["junior"]),
            q(6, 50, "what is kubernetes", &["devops"]),
        ];
        let groups = group(&questions, 0.85);
        assert_eq!(
            summary(&groups),
            [
                ("how much does a junior earn", 4),
                ("can i cook pasta", 1),
                ("what is kubernetes", 1)
            ]
        );
        let top = &groups[0];
        assert_eq!(top.ids, [5, 3, 2, 1]);
        assert_eq!(top.last_at_ms, 500);
        assert_eq!(
            top.candidates,
            [("junior".to_owned(), 3), ("salary".to_owned(), 3)]
        );
        assert!(groups[1].candidates.is_empty());
    }

    #[test]
    fn the_threshold_decides_table() {
        // (a, b, similarity, grouped)
        let cases = [
            ("abcdefghij", "abcdefghix", 0.9, true),
            ("abcdefghij", "abcdefghxx", 0.9, false),
            ("abcdefghij", "abcdefghxx", 0.8, true),
            ("abcdefghij", "abcdefghijkl", 0.85, false),
            ("abcdefghij", "abcdefghijk", 0.9, true),
            ("", "", 1.0, true),
            ("", "a", 0.5, false),
            ("same", "same", 1.0, true),
            ("anything", "else entirely", 0.0, true),
            ("été à paris", "ete a paris", 0.7, true),
        ];
        for (a, b, similarity, grouped) in cases {
            let groups = group(&[q(1, 1, a, &[]), q(2, 2, b, &[])], similarity);
            assert_eq!(
                groups.len() == 1,
                grouped,
                "{a:?} vs {b:?} at {similarity}: {groups:?}"
            );
            assert_eq!(
                strsim::normalized_levenshtein(a, b) >= similarity,
                grouped,
                "the table disagrees with strsim for {a:?} vs {b:?}"
            );
        }
    }

    #[test]
    fn ties_sort_by_recency_and_nothing_is_lost() {
        let questions = [
            q(1, 100, "first question here", &[]),
            q(2, 300, "completely different", &[]),
            q(3, 200, "and yet another one", &[]),
        ];
        let groups = group(&questions, 0.85);
        assert_eq!(
            summary(&groups),
            [
                ("completely different", 1),
                ("and yet another one", 1),
                ("first question here", 1)
            ]
        );
        assert!(group(&[], 0.85).is_empty());
    }

    #[test]
    fn candidates_are_serialized_as_objects() {
        let groups = group(&[q(7, 1, "x", &["a", "b"])], 0.85);
        let json = serde_json::to_value(&groups[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "text": "x", "count": 1, "ids": [7], "last_at_ms": 1,
                "candidates": [{"intent": "a", "count": 1}, {"intent": "b", "count": 1}]
            })
        );
    }

    #[test]
    fn the_banded_distance_agrees_with_strsim() {
        let texts = [
            "",
            "a",
            "ab",
            "ba",
            "abc",
            "kitten",
            "sitting",
            "saturday",
            "sunday",
            "flaw",
            "lawn",
            "été",
            "ete",
            "how do i become a backend dev",
            "how do i become a dev",
        ];
        for a in texts {
            for b in texts {
                let distance = strsim::levenshtein(a, b);
                let (ca, cb): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
                for k in 0..12 {
                    assert_eq!(within(&ca, &cb, k), distance <= k, "{a:?} {b:?} k={k}");
                }
            }
        }
    }

    #[test]
    fn the_prefilters_never_reject_a_pair_strsim_accepts() {
        let words = [
            "how", "do", "i", "become", "a", "backend", "dev", "engineer", "jr",
        ];
        let mut texts = Vec::new();
        for a in &words {
            for b in &words {
                for c in &words {
                    texts.push(format!("{a} {b} {c}"));
                }
            }
        }
        let records: Vec<QuestionRecord> = texts.iter().map(|t| q(1, 1, t, &[])).collect();
        let texts = distinct_texts(&records);
        for similarity in [0.5, 0.7, 0.85] {
            for a in texts.iter().step_by(7) {
                for b in texts.iter().step_by(5) {
                    let exact = strsim::normalized_levenshtein(a.text, b.text) >= similarity;
                    let (low, high) = length_window(a.len, similarity);
                    let passes =
                        (low..=high).contains(&b.len) && similar(a, b, similarity).is_some();
                    assert_eq!(
                        passes, exact,
                        "{:?} vs {:?} at {similarity}",
                        a.text, b.text
                    );
                }
            }
        }
    }

    #[test]
    fn near_identical_questions_form_one_group_and_different_ones_stay_apart() {
        let base = "how much does a junior backend engineer earn in berlin";
        let mut questions = Vec::new();
        // 10,000 near-identical questions: one letter changed each.
        for id in 0..10_000u64 {
            let mut text: Vec<char> = base.chars().collect();
            let at = (id as usize * 7) % text.len();
            text[at] = char::from(b'a' + (id % 26) as u8);
            let text: String = text.into_iter().collect();
            questions.push(q(id, id as i64, &text, &["salary"]));
        }
        questions.push(q(20_000, 5, base, &["salary"]));
        questions.push(q(20_001, 6, base, &["salary"]));
        let others = [
            "how much does a senior frontend developer earn in paris",
            "what is kubernetes",
            "can i learn rust in a month",
            "how do i switch careers into backend engineering",
        ];
        for (n, text) in others.iter().enumerate() {
            questions.push(q(30_000 + n as u64, 1, text, &[]));
        }
        let groups = group(&questions, 0.85);
        let mut expected = vec![(base, 10_002)];
        expected.extend(others.iter().map(|t| (*t, 1)));
        let mut got = summary(&groups);
        got[1..].sort_by_key(|&(text, _)| others.iter().position(|o| *o == text));
        assert_eq!(got, expected);
    }

    #[test]
    fn ten_thousand_questions_are_grouped_quickly() {
        // 10,000 distinct texts: 5,000 generated questions, each also asked with a typo.
        let words: Vec<&str> = "how much salary junior senior backend engineer rust go python \
             database interview remote job learn course degree bootcamp career switch \
             promotion manager staff resume"
            .split_whitespace()
            .collect();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let mut questions = Vec::new();
        for t in 0..5_000u64 {
            let len = 4 + next(8);
            let text: Vec<&str> = (0..len).map(|_| words[next(words.len())]).collect();
            let text = text.join(" ");
            let mut typo = text.clone().into_bytes();
            let at = next(typo.len());
            typo[at] = b'x';
            let typo = String::from_utf8(typo).unwrap();
            questions.push(q(2 * t, 2 * t as i64, &text, &["career"]));
            questions.push(q(2 * t + 1, 2 * t as i64 + 1, &typo, &["career"]));
        }
        let start = std::time::Instant::now();
        let groups = group(&questions, 0.85);
        let took = start.elapsed();
        assert_eq!(groups.iter().map(|g| g.count).sum::<usize>(), 10_000);
        assert!(groups.len() <= 5_000, "{} groups", groups.len());
        eprintln!(
            "grouped 10,000 questions into {} groups in {took:?}",
            groups.len()
        );
        // Generous, for unoptimized test builds on a busy machine.
        assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
    }
}
