//! Confusable examples: the ones the matcher would give to another intent if they were not
//! in the training set.
//!
//! An example that only answers correctly because it is memorised is a sign that two
//! intents overlap, and unseen questions worded like it will go astray. Small sets are
//! checked exactly (leave one out); larger ones by k-fold cross-validation, where each
//! example is also predicted by a model that never saw it, its fold chosen by its text.
//! Folds run on all cores.

use super::intents::{Diagnostic, Intent, Lookup, PatternSet, Severity, Synonym, ValidSet};
use super::matcher::{Decision, Matcher, MatcherSettings};

/// Sets with at most this many examples are checked by leave-one-out.
const LEAVE_ONE_OUT_UP_TO: usize = 400;
/// Folds for larger sets.
const FOLDS: usize = 10;

/// One warning per example that a model trained without it answers with another intent,
/// or asks to choose between other intents only.
pub fn find(set: &ValidSet, settings: &MatcherSettings) -> Vec<Diagnostic> {
    let (intents, synonyms, patterns) = (set.intents(), set.synonyms(), set.patterns());
    let lookups = set.lookups();
    // In the files' order, so the folds do not depend on how intents are indexed.
    let examples: Vec<(usize, usize)> = set
        .written_order()
        .iter()
        .map(|index| index.get())
        .flat_map(|i| (0..intents[i].examples.len()).map(move |e| (i, e)))
        .collect();
    if intents.len() < 2 || examples.is_empty() {
        return Vec::new();
    }
    let folds = if examples.len() <= LEAVE_ONE_OUT_UP_TO {
        examples.len()
    } else {
        FOLDS
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(folds);
    let mut found: Vec<Diagnostic> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                let examples = &examples;
                scope.spawn(move || {
                    (worker..folds)
                        .step_by(workers)
                        .flat_map(|fold| {
                            let model = (intents, synonyms, lookups, patterns);
                            check_fold(model, settings, examples, fold, folds)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    found.sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    found
}

/// The fold of an example in k-fold checking: from its intent and text, not its position,
/// so an edit elsewhere (an example added or removed above it) leaves it in its fold, and
/// the warnings of the untouched examples only change as much as the model does.
fn fold_of(intent: &str, text: &str, folds: usize) -> usize {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    intent.hash(&mut hasher);
    text.hash(&mut hasher);
    // The high bits: Fx mixes the last word it hashes into them best.
    ((hasher.finish() >> 32) % folds as u64) as usize
}

/// Positions of the examples (`(intent id, text)`, in the files' order) that `fold` holds
/// out: one each when there are as many folds as examples (leave one out), else those
/// whose [`fold_of`] it is.
fn in_fold<'a>(
    keys: &'a [(&str, &str)],
    fold: usize,
    folds: usize,
) -> impl Iterator<Item = usize> + 'a {
    let leave_one_out = folds == keys.len();
    keys.iter()
        .enumerate()
        .filter_map(move |(n, &(intent, text))| {
            let slot = if leave_one_out {
                n
            } else {
                fold_of(intent, text, folds)
            };
            (slot == fold).then_some(n)
        })
}

/// Trains without the examples of one fold and reports those it gets wrong.
fn check_fold(
    (intents, synonyms, lookups, patterns): (&[Intent], &[Synonym], &[Lookup], &PatternSet),
    settings: &MatcherSettings,
    examples: &[(usize, usize)],
    fold: usize,
    folds: usize,
) -> Vec<Diagnostic> {
    let keys: Vec<(&str, &str)> = examples
        .iter()
        .map(|&(i, e)| (intents[i].id.as_str(), intents[i].examples[e].as_str()))
        .collect();
    let held_out: Vec<(usize, usize)> = in_fold(&keys, fold, folds).map(|n| examples[n]).collect();
    // Sorted by id like the set, as the matcher's classes must be.
    let mut training: Vec<Intent> = intents.to_vec();
    let mut removed = held_out.clone();
    // Highest example first within each intent, so earlier positions stay valid.
    removed.sort_unstable_by(|a, b| b.cmp(a));
    for (i, e) in removed {
        training[i].examples.remove(e);
    }
    let matcher = Matcher::build(&training, synonyms, lookups, patterns, settings);
    held_out
        .iter()
        .filter_map(|&(i, e)| {
            let intent = &intents[i];
            let text = &intent.examples[e];
            let found = matcher.decide(text);
            // Confused: answered with another intent, or asked about others only. (A
            // fallback is no confusion, and a clarify that offers the intent is a fair one.)
            let confused = match found.decision {
                Decision::Answer | Decision::Decline => {
                    found.candidates.first().is_none_or(|c| c.intent != intent.id)
                }
                Decision::Clarify => found.candidates.iter().all(|c| c.intent != intent.id),
                Decision::Fallback => false,
            };
            let top = found.candidates.first().filter(|_| confused)?;
            let location = intent
                .example_locations
                .get(e)
                .unwrap_or(&intent.location);
            Some(Diagnostic {
                path: location.path.clone(),
                line: location.line,
                col: location.col,
                severity: Severity::Warning,
                message: format!(
                    "example {text:?} of `{}` {} `{}` ({:.2}) when left out: the two intents overlap",
                    intent.id,
                    if found.decision == Decision::Clarify {
                        "is taken for a choice of others led by"
                    } else {
                        "is matched to"
                    },
                    top.intent,
                    top.score
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The held-out examples of each fold, by text.
    fn held_out_texts<'a>(keys: &[(&str, &'a str)], folds: usize) -> Vec<Vec<&'a str>> {
        (0..folds)
            .map(|fold| in_fold(keys, fold, folds).map(|n| keys[n].1).collect())
            .collect()
    }

    #[test]
    fn an_edit_above_an_example_leaves_it_in_its_fold() {
        let texts: Vec<String> = (0..2_000).map(|n| format!("question number {n}")).collect();
        let keys: Vec<(&str, &str)> = texts.iter().map(|t| ("jobs.search", t.as_str())).collect();
        let before = held_out_texts(&keys, FOLDS);
        // An example added at the top (and one removed further down) shifts every position.
        let mut edited = keys.clone();
        edited.insert(0, ("jobs.salary", "a new first example"));
        edited.remove(1_000);
        let after = held_out_texts(&edited, FOLDS);
        let removed = keys[999].1;
        for (fold, (was, is)) in before.iter().zip(&after).enumerate() {
            let kept: Vec<&str> = is
                .iter()
                .copied()
                .filter(|t| *t != "a new first example")
                .collect();
            let expected: Vec<&str> = was.iter().copied().filter(|t| *t != removed).collect();
            assert_eq!(kept, expected, "fold {fold}");
        }
        // 200 expected per fold; a fold outside 150..250 would check some intents far less.
        let sizes: Vec<usize> = before.iter().map(Vec::len).collect();
        assert!(sizes.iter().all(|n| (150..250).contains(n)), "{sizes:?}");
    }

    #[test]
    fn small_sets_leave_one_example_out_at_a_time() {
        let keys = [("a.x", "one"), ("a.x", "two"), ("b.y", "one")];
        let held: Vec<Vec<usize>> = (0..3)
            .map(|fold| in_fold(&keys, fold, 3).collect())
            .collect();
        assert_eq!(held, [[0], [1], [2]]);
    }
}
