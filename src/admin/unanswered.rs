//! Grouping the unanswered queue: near-duplicate questions ("how much does a junior earn",
//! "how much does a junor earn") become one group, so an admin triages each once.
//!
//! Pure and synchronous. Distinct texts are compared, not rows, and each only against the
//! groups' representatives; pairs that cannot reach the similarity (by length, then by
//! letter counts, both lower bounds of the edit distance) are skipped before an exact,
//! banded edit distance. Each text has a fixed budget of work ([`Budget`]), so grouping
//! grows linearly with the queue even when every text looks like every other.

use std::collections::{BTreeMap, HashMap};

use serde::ser::SerializeSeq as _;
use serde::{Serialize, Serializer};

use super::store::QuestionRecord;
use crate::engine::intents::Intent;
use crate::engine::Engine;

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

/// Characters of a question compared when grouping (a question may hold 4,000): past
/// them, two questions that start alike are alike enough to triage together.
pub const COMPARED_CHARS: usize = 300;

/// How much work grouping may spend on one distinct text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Groups checked by the cheap bounds (length, letter counts), nearest length first.
    pub considered: usize,
    /// Edit-distance cells computed for the exact comparisons, most promising group first.
    pub cells: usize,
}

impl Group {
    /// The intents to offer for filing this group, at most `n` (more only when more were
    /// stored): its stored candidates still in `engine`'s set, then the intents the matcher
    /// now ranks highest for its text.
    pub fn likely_intents<'a>(&self, engine: &'a Engine, n: usize) -> Vec<&'a Intent> {
        let mut intents: Vec<&Intent> = self
            .candidates
            .iter()
            .filter_map(|(id, _)| engine.intent(id))
            .collect();
        for intent in engine.ranked(&self.text) {
            if intents.len() >= n {
                break;
            }
            if !intents.iter().any(|known| known.id == intent.id) {
                intents.push(intent);
            }
        }
        intents
    }
}

impl Budget {
    /// Enough that ordinary queues are grouped exactly (a 60-character question can be
    /// compared exactly with a few dozen look-alikes), while 10,000 texts that all look
    /// alike and all differ take about a second (`cargo bench --bench unanswered`).
    pub const DEFAULT: Budget = Budget {
        considered: 4_096,
        cells: 1 << 15,
    };
}

/// Groups and what making them cost.
#[derive(Debug, Clone)]
pub struct Grouping {
    /// Biggest first, then most recently asked first.
    pub groups: Vec<Group>,
    /// Distinct texts that ran out of budget before every group the cheap bounds let
    /// through was compared: each joined the most similar group among those compared, or
    /// started its own. 0 means the grouping is exact.
    pub cut_short: usize,
    /// Groups checked by the cheap bounds, over all texts.
    pub considered: u64,
    /// Edit-distance cells computed, over all texts.
    pub cells: u64,
}

/// Groups `questions`: a text joins the group whose representative it equals or is at least
/// `similarity` similar to (normalized Levenshtein over the first [`COMPARED_CHARS`]
/// characters; the most similar group when several are), within [`Budget::DEFAULT`].
pub fn group(questions: &[QuestionRecord], similarity: f64) -> Grouping {
    group_within(questions, similarity, Budget::DEFAULT)
}

/// [`group`] with a budget of its own. Each distinct text checks at most
/// `budget.considered` groups and computes at most `budget.cells` cells, so the work grows
/// linearly with the number of texts, not with texts × groups: a queue of look-alikes that
/// are each just too far apart to group (a shared question with a different tail) would
/// otherwise compare every text with every group.
pub fn group_within(questions: &[QuestionRecord], similarity: f64, budget: Budget) -> Grouping {
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
    let (mut cut_short, mut considered, mut cells) = (0, 0u64, 0u64);
    // Groups that pass the cheap bounds: (the letter-count bound, group).
    let mut passing: Vec<(usize, usize)> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let (low, high) = length_window(text.len, similarity);
        let high = high.min(by_len.last_key_value().map_or(0, |(&len, _)| len));
        let mut left = budget.considered;
        let mut cut = false;
        passing.clear();
        'lengths: for len in nearest_first(text.len, low, high) {
            let Some(in_window) = by_len.get(&len) else {
                continue;
            };
            let allowed = allowed_edits(len.max(text.len), similarity);
            for &(ref letters, g) in in_window {
                if left == 0 {
                    cut = true;
                    break 'lengths;
                }
                left -= 1;
                let bound = letters.distance_bound(&text.letters);
                if bound <= allowed {
                    passing.push((bound, g));
                }
            }
        }
        considered += (budget.considered - left) as u64;
        passing.sort_unstable();
        let mut cells_left = budget.cells;
        let mut best: Option<(f64, usize)> = None;
        for &(_, g) in &passing {
            let rep = &texts[groups[g][0]];
            let score = match similar(rep, text, similarity, &mut cells_left) {
                Ok(Some(score)) => score,
                Ok(None) => continue,
                Err(OutOfCells) => {
                    cut = true;
                    break;
                }
            };
            if best.is_none_or(|(top, at)| score > top || (score == top && g < at)) {
                best = Some((score, g));
            }
        }
        cells += (budget.cells - cells_left) as u64;
        cut_short += usize::from(cut);
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
    Grouping {
        groups: out,
        cut_short,
        considered,
        cells,
    }
}

/// The lengths from `low` to `high`, nearest to `len` first (shorter before longer).
fn nearest_first(len: usize, low: usize, high: usize) -> impl Iterator<Item = usize> {
    let mut below = (low..=len.min(high)).rev();
    let mut above = len.saturating_add(1).max(low)..=high;
    std::iter::from_fn(move || match (below.next(), above.next()) {
        (None, None) => None,
        (b, a) => Some(b.into_iter().chain(a)),
    })
    .flatten()
}

/// One distinct question text and the rows that asked it.
struct Text<'q> {
    text: &'q str,
    /// Its first [`COMPARED_CHARS`] chars, and their number.
    chars: Vec<char>,
    len: usize,
    letters: Letters,
    rows: Vec<&'q QuestionRecord>,
    last_at_ms: i64,
}

fn distinct_texts(questions: &[QuestionRecord]) -> Vec<Text<'_>> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut texts: Vec<Text<'_>> = Vec::new();
    for q in questions {
        let i = *index.entry(q.text.as_str()).or_insert_with(|| {
            let chars: Vec<char> = q.text.chars().take(COMPARED_CHARS).collect();
            texts.push(Text {
                text: &q.text,
                len: chars.len(),
                letters: Letters::of(&chars),
                chars,
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

/// The budget of edit-distance cells ran out before a comparison.
#[derive(Debug)]
struct OutOfCells;

/// The similarity of `a` and `b` when it reaches `similarity` (`strsim`'s
/// `normalized_levenshtein` of their compared chars), spending from `cells`. For pairs the
/// letter-count bound has let through.
fn similar(
    a: &Text<'_>,
    b: &Text<'_>,
    similarity: f64,
    cells: &mut usize,
) -> Result<Option<f64>, OutOfCells> {
    let longest = a.len.max(b.len);
    if a.chars == b.chars {
        return Ok(Some(1.0));
    }
    let allowed = allowed_edits(longest, similarity);
    let Some(distance) = distance_within(&a.chars, &b.chars, allowed, cells)? else {
        return Ok(None);
    };
    let score = 1.0 - distance as f64 / longest as f64;
    Ok((score >= similarity).then_some(score))
}

/// The most edits that leave two texts, the longer `longest` chars, `similarity` similar
/// (rounded up a hair: the final check is exact).
fn allowed_edits(longest: usize, similarity: f64) -> usize {
    ((1.0 - similarity) * longest as f64 + EPSILON)
        .floor()
        .max(0.0) as usize
}

/// The edit distance of `a` and `b` when it is at most `k`. The common prefix and suffix
/// are set aside first (they never change the distance: look-alike questions share most of
/// their text), then Levenshtein runs restricted to the diagonal band of width `2k + 1`,
/// stopping at the first row whose every cell exceeds `k` (a row's minimum never decreases
/// further down). O(k·n) instead of O(n²), and most dissimilar pairs stop after a few rows.
/// Each cell computed is taken from `cells`; a comparison that might need more than is
/// left is not started.
fn distance_within(
    a: &[char],
    b: &[char],
    k: usize,
    cells: &mut usize,
) -> Result<Option<usize>, OutOfCells> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let (a, b) = (&a[prefix..], &b[prefix..]);
    let suffix = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (a, b) = (&a[..a.len() - suffix], &b[..b.len() - suffix]);
    let (a, b) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if b.len() - a.len() > k {
        return Ok(None);
    }
    let width = (2 * k + 1).min(a.len() + 1);
    if b.len().saturating_mul(width) > *cells {
        return Err(OutOfCells);
    }
    let far = k + 1;
    let mut previous: Vec<usize> = (0..=a.len()).map(|j| j.min(far)).collect();
    let mut current = vec![far; a.len() + 1];
    for (i, &bc) in b.iter().enumerate().map(|(i, c)| (i + 1, c)) {
        let low = i.saturating_sub(k).max(1);
        let high = (i + k).min(a.len());
        *cells -= width;
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
            return Ok(None);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    let distance = previous[a.len()];
    Ok((distance <= k).then_some(distance))
}

/// Character counts in 32 buckets (lowercase ASCII letters get one each), and their sum.
#[derive(Clone)]
struct Letters {
    counts: [u16; 32],
    total: u32,
}

impl Letters {
    fn of(chars: &[char]) -> Letters {
        let mut counts = [0u16; 32];
        for &c in chars {
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
            intent_version: None,
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
        let groups = group(&questions, 0.85).groups;
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
            let groups = group(&[q(1, 1, a, &[]), q(2, 2, b, &[])], similarity).groups;
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
        let groups = group(&questions, 0.85).groups;
        assert_eq!(
            summary(&groups),
            [
                ("completely different", 1),
                ("and yet another one", 1),
                ("first question here", 1)
            ]
        );
        assert!(group(&[], 0.85).groups.is_empty());
    }

    #[test]
    fn candidates_are_serialized_as_objects() {
        let groups = group(&[q(7, 1, "x", &["a", "b"])], 0.85).groups;
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
                    let mut cells = usize::MAX;
                    let within = distance_within(&ca, &cb, k, &mut cells).unwrap();
                    assert_eq!(
                        within,
                        (distance <= k).then_some(distance),
                        "{a:?} {b:?} k={k}"
                    );
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
                    let mut cells = usize::MAX;
                    let allowed = allowed_edits(a.len.max(b.len), similarity);
                    let passes = (low..=high).contains(&b.len)
                        && a.letters.distance_bound(&b.letters) <= allowed
                        && similar(a, b, similarity, &mut cells).unwrap().is_some();
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
        let groups = group(&questions, 0.85).groups;
        let mut expected = vec![(base, 10_002)];
        expected.extend(others.iter().map(|t| (*t, 1)));
        let mut got = summary(&groups);
        got[1..].sort_by_key(|&(text, _)| others.iter().position(|o| *o == text));
        assert_eq!(got, expected);
    }

    #[test]
    fn ten_thousand_ordinary_questions_are_grouped_exactly() {
        // 10,000 distinct texts: 5,000 generated questions, each also asked with a typo.
        let words: Vec<&str> = "how much salary junior senior backend engineer rust go python \
             database interview remote job learn course degree bootcamp career switch \
             promotion manager staff resume"
            .split_whitespace()
            .collect();
        let mut next = random(0x2545_f491_4f6c_dd1d);
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
        let grouping = group(&questions, 0.85);
        let groups = &grouping.groups;
        assert_eq!(groups.iter().map(|g| g.count).sum::<usize>(), 10_000);
        assert!(groups.len() <= 5_000, "{} groups", groups.len());
        // An ordinary queue stays within the budget: every pair the bounds let through
        // was compared.
        assert_eq!(grouping.cut_short, 0, "{grouping:?}");
    }

    /// A deterministic xorshift generator from `seed`: a number below `n` per call.
    fn random(mut seed: u64) -> impl FnMut(usize) -> usize {
        move |n| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        }
    }

    /// `n` questions that share their first 60 characters and end in a different
    /// arrangement of the same 20 letters: each passes the cheap bounds against every other,
    /// and most are just too far apart to group.
    fn look_alikes(n: usize) -> Vec<QuestionRecord> {
        let mut next = random(0x9e37_79b9_7f4a_7c15);
        (0..n as u64)
            .map(|id| {
                let mut tail: Vec<char> = ('a'..='t').collect();
                for i in (1..tail.len()).rev() {
                    tail.swap(i, next(i + 1));
                }
                let tail: String = tail.into_iter().collect();
                let text =
                    format!("how much does a junior backend engineer earn in berlin, ref {tail}");
                q(id, id as i64, &text, &[])
            })
            .collect()
    }

    #[test]
    fn look_alikes_cost_a_bounded_amount_of_work_per_question() {
        let budget = Budget {
            considered: 50,
            cells: 5_000,
        };
        let questions = look_alikes(1_000);
        let grouping = group_within(&questions, 0.85, budget);
        let texts = 1_000u64;
        // Without the budget each text checks every earlier group: about 1,000² / 2.
        assert!(
            grouping.considered <= texts * budget.considered as u64,
            "{} groups checked",
            grouping.considered
        );
        assert!(
            grouping.cells <= texts * budget.cells as u64,
            "{} cells",
            grouping.cells
        );
        assert!(grouping.cut_short > 0, "the budget was never reached");
        assert!(
            grouping.groups.len() > 100,
            "{} groups",
            grouping.groups.len()
        );
        let mut ids: Vec<u64> = grouping
            .groups
            .iter()
            .flat_map(|g| g.ids.iter().copied())
            .collect();
        ids.sort_unstable();
        assert_eq!(
            ids,
            (0..1_000).collect::<Vec<u64>>(),
            "every question is in a group"
        );
    }

    #[test]
    fn a_typo_finds_its_frequent_question_among_look_alikes() {
        let mut questions = look_alikes(3_000);
        let frequent = "how much does a junior backend engineer earn in berlin";
        for id in 0..5 {
            questions.push(q(10_000 + id, 1, frequent, &["salary"]));
        }
        let typos = [
            "how much does a junior backend engineer earn in berlim",
            "how much does a junior backend enginer earn in berlin",
            "how much dos a junior backend engineer earn in berlin?",
        ];
        for (n, typo) in typos.iter().enumerate() {
            questions.push(q(20_000 + n as u64, 2, typo, &[]));
        }
        let grouping = group(&questions, 0.85);
        let top = &grouping.groups[0];
        assert_eq!((top.text.as_str(), top.count), (frequent, 8));
    }

    #[test]
    fn long_questions_are_compared_by_their_beginning() {
        let start: String = "why is backend hard ".repeat(20);
        assert!(start.chars().count() >= COMPARED_CHARS);
        let questions = [
            q(1, 1, &format!("{start}{}", "x".repeat(3_000)), &[]),
            q(2, 2, &format!("{start}{}", "y".repeat(3_000)), &[]),
            q(3, 3, &format!("{}{start}", "z".repeat(200)), &[]),
        ];
        let grouping = group(&questions, 0.85);
        assert_eq!(grouping.cut_short, 0);
        let counts: Vec<usize> = grouping.groups.iter().map(|g| g.count).collect();
        assert_eq!(counts, [2, 1]);
    }
}
