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

/// Trains without the examples of one fold and reports those it gets wrong.
fn check_fold(
    (intents, synonyms, lookups, patterns): (&[Intent], &[Synonym], &[Lookup], &PatternSet),
    settings: &MatcherSettings,
    examples: &[(usize, usize)],
    fold: usize,
    folds: usize,
) -> Vec<Diagnostic> {
    let leave_one_out = folds == examples.len();
    let held_out: Vec<(usize, usize)> = examples
        .iter()
        .enumerate()
        .filter(|&(n, &(i, e))| {
            let slot = if leave_one_out {
                n
            } else {
                fold_of(&intents[i].id, &intents[i].examples[e], folds)
            };
            slot == fold
        })
        .map(|(_, &e)| e)
        .collect();
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

    #[test]
    fn an_example_keeps_its_fold_and_the_folds_are_even() {
        let texts: Vec<String> = (0..2_000).map(|n| format!("question number {n}")).collect();
        let mut sizes = [0usize; FOLDS];
        for text in &texts {
            let fold = fold_of("jobs.search", text, FOLDS);
            // The same example lands in the same fold whatever else the set holds.
            assert_eq!(fold, fold_of("jobs.search", &text.clone(), FOLDS));
            sizes[fold] += 1;
        }
        // 200 expected per fold; a fold outside 150..250 would check some intents far less.
        assert!(sizes.iter().all(|&n| (150..250).contains(&n)), "{sizes:?}");
        // The intent counts: the same text in two intents is two examples.
        let moved = texts
            .iter()
            .filter(|t| fold_of("jobs.search", t, FOLDS) != fold_of("jobs.salary", t, FOLDS))
            .count();
        assert!(moved > texts.len() / 2, "{moved}");
    }
}
