//! The matcher: from a question to a decision (answer, clarify or fallback) with reasons.
//!
//! Scores come from the linear model over the question's features; an admin's regex
//! patterns and keywords add fixed evidence on top. A score is turned into a confidence
//! in [0, 1] by a logistic curve centred on the margin the model was trained to reach, and
//! [`super::decision`] compares the best confidences with thresholds from config. Classes
//! are [`IntentIndex`]es: the caller passes the intents sorted by id, so the matcher needs
//! no mapping of its own. Nothing here knows what any intent is about.

use serde::{Deserialize, Serialize};

use super::decision::{self, Thresholds};
pub use super::decision::{Candidate, Decision};
use super::features::{Analysis, Featurizer, SparseVec, TypoSettings};
use super::index::{IntentIndex, PerIntent};
use super::intents::{Intent, PatternSet};
use super::model::{Model, TrainSettings};

/// Matching settings (the `[matcher]` table of the config). Their defaults live in one
/// place, `config/default.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MatcherSettings {
    /// Below this confidence the question is out of scope: fall back with suggestions.
    pub fallback_below: f32,
    /// When the runner-up's score is within this of the top one's, ask which was meant.
    /// Measured in score units, where training puts the right intent 1.0 above the others
    /// (not in confidence, which saturates near 1: 0.99 against 0.95 is a clear win).
    pub clarify_margin: f32,
    /// Candidates below this confidence are never offered as suggestions.
    pub suggest_above: f32,
    /// Score added to an intent for each of its keywords found in the question.
    pub keyword_weight: f32,
    /// Score added to an intent when one of its patterns matches the question.
    pub pattern_weight: f32,
    /// Steepness of the score-to-confidence curve.
    pub confidence_slope: f32,
    /// Score at which the confidence is 0.5.
    pub confidence_midpoint: f32,
    /// How much words the intents do not know lower the confidence: it is multiplied by
    /// `coverage ^ unknown_word_exponent`, where coverage is the share of the question's
    /// content words the intents know (see the two settings below), so a question whose
    /// every content word is unknown ("how do I cook pasta" shares only "how do I") falls
    /// back. 0 disables it. An intent whose keyword or pattern matched is exempt.
    pub unknown_word_exponent: f32,
    /// How much a word known only after typo correction counts as known in that coverage
    /// (1 = fully; a correction is a guess, and "speed" may become "spend").
    pub corrected_word_known: f32,
    /// How much of that coverage counts only the words the candidate intent's own examples
    /// use (the rest: words any intent uses). 0 = any intent, 1 = that intent only.
    pub intent_coverage_share: f32,
    /// The `C` of training (a multi-class support vector machine): the most weight one
    /// example may carry. Higher fits the examples harder. Formerly `aggressiveness`, a name
    /// config files may still use.
    pub svm_c: f32,
    /// Training passes over the examples.
    pub epochs: usize,
    /// Words shorter than this are never corrected as typos.
    pub typo_min_len: usize,
    /// Largest edit distance of a typo correction (words of 8+ letters; shorter get 1).
    pub typo_max_distance: usize,
}

#[cfg(test)]
impl MatcherSettings {
    /// The shipped defaults, for unit tests.
    pub(crate) fn shipped() -> MatcherSettings {
        crate::config::Settings::defaults().matcher
    }
}

/// Why the matcher decided what it did, for admins ("why this answer?").
#[derive(Debug, Clone, Default, Serialize)]
pub struct Explanation {
    /// The question as matched: cleaned, then stemmed words.
    pub cleaned: String,
    pub stems: Vec<String>,
    /// `typed -> known` corrections.
    pub corrections: Vec<(String, String)>,
    /// `typed -> canonical` synonyms applied.
    pub synonyms: Vec<(String, String)>,
    /// Keywords of the top intent found in the question.
    pub keywords: Vec<String>,
    /// Patterns of the top intent that matched.
    pub patterns: Vec<String>,
    /// The words that pushed the top intent's score most, with their contribution.
    pub evidence: Vec<(String, f32)>,
    /// Content words of the question that no example contains.
    pub unknown_words: Vec<String>,
    /// The lookup classes (`lookups.toml`) whose words or phrases the question holds.
    pub classes: Vec<String>,
    /// One sentence summing it up.
    pub summary: String,
    /// How the conversation's last turn was used, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The confidence a reply nobody asked for needs, and whose bar it is (set by a front
    /// end that knows its channel's bar: `ask --json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bar: Option<crate::engine::Bar>,
}

/// Every intent's raw score for one question, and what produced it.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Raw score per intent.
    pub scores: PerIntent<f32>,
    pub vector: SparseVec,
    pub analysis: Analysis,
    /// Per intent, the indexes of its patterns that matched (empty when no intent has any).
    pub matched_patterns: PerIntent<Vec<usize>>,
    /// Per intent, whether one of its keywords or patterns matched.
    pub direct: PerIntent<bool>,
    /// Share of the question's content words that some example contains (a word known
    /// only through a typo correction counting `corrected_word_known`).
    pub coverage: f32,
}

impl Scored {
    /// The confidence of intent `index` (its raw score `score`), lowered by unknown words
    /// unless the intent's own keywords or patterns matched.
    fn confidence(&self, matcher: &Matcher, index: IntentIndex, score: f32) -> f32 {
        matcher.confidence(score) * self.coverage_factor(matcher, index)
    }

    /// What unknown words, and words only other intents use, multiply the confidence of
    /// intent `index` by (1 when its own keywords or patterns matched).
    fn coverage_factor(&self, matcher: &Matcher, index: IntentIndex) -> f32 {
        let exponent = matcher.settings.unknown_word_exponent;
        if self.direct[index] || exponent <= 0.0 {
            return 1.0;
        }
        let share = matcher.settings.intent_coverage_share;
        let coverage = (1.0 - share) * self.coverage + share * self.intent_coverage(matcher, index);
        coverage.powf(exponent)
    }

    /// Share of the question's content words that the intent's own examples use (a word
    /// the model weighs positively for it).
    fn intent_coverage(&self, matcher: &Matcher, index: IntentIndex) -> f32 {
        let stems = &self.analysis.content_stems;
        if stems.is_empty() {
            return 1.0;
        }
        // A word of a lookup class is used when its class token is.
        let classes = &self.analysis.content_classes;
        let used_by = |feature: &str| {
            matcher
                .featurizer
                .word_id(feature)
                .is_some_and(|id| matcher.model.weight(id, index) > 0.0)
        };
        let used = stems
            .iter()
            .zip(classes)
            .filter(|(stem, class)| used_by(stem) || class.as_deref().is_some_and(used_by))
            .count();
        used as f32 / stems.len() as f32
    }
}

/// A decision with its candidates and reasons.
#[derive(Debug, Clone)]
pub struct Match {
    pub decision: Decision,
    /// At most three, highest confidence first; an answer's intent (the model's best
    /// score) always comes first.
    pub candidates: Vec<Candidate>,
    /// The confidence of the model's best intent, which the decision is made on (0 when
    /// there are no intents). A suggestion may be more confident (its own keyword
    /// matched, say) without changing a fallback: the model ranked it lower.
    pub confidence: f32,
    pub explanation: Explanation,
}

impl Match {
    /// The answered intent, when the decision is `Answer` or `Decline`.
    pub fn answered(&self) -> Option<&Candidate> {
        match self.decision {
            Decision::Answer | Decision::Decline => self.candidates.first(),
            Decision::Clarify | Decision::Fallback => None,
        }
    }
}

/// A compiled intent set, ready to answer.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Intent ids by index. Intents come sorted by id and examples are trained in an
    /// order set by their text, so reordering intents or files changes nothing.
    ids: PerIntent<String>,
    /// Which intents are declines (`decline = true`).
    declines: PerIntent<bool>,
    featurizer: Featurizer,
    model: Model,
    /// Every keyword: its intent, text and stem sequence. One flat list, so a question
    /// costs the keywords there are, not one step per intent.
    keywords: Vec<(IntentIndex, String, Vec<String>)>,
    /// Every intent's patterns compiled together (by the loader, within the set's
    /// limits): a question is matched against all of them in one pass, each hit mapped
    /// to its intent.
    patterns: PatternSet,
    settings: MatcherSettings,
}

impl Matcher {
    /// Compiles valid intents, sorted by id: their positions are their [`IntentIndex`]es.
    /// Their patterns come compiled together, each owned by its intent's index.
    pub(super) fn build(
        intents: &[Intent],
        synonyms: &[super::intents::Synonym],
        lookups: &[super::intents::Lookup],
        patterns: &PatternSet,
        settings: &MatcherSettings,
    ) -> Matcher {
        debug_assert!(
            intents.is_sorted_by(|a, b| a.id <= b.id),
            "intents sorted by id"
        );
        let indexed = || {
            intents
                .iter()
                .enumerate()
                .map(|(i, intent)| (IntentIndex::new(i), intent))
        };
        let texts = intents
            .iter()
            .flat_map(|i| i.examples.iter().map(String::as_str));
        let (featurizer, vectors) = Featurizer::fit(texts, synonyms, lookups);
        let labeled = indexed()
            .flat_map(|(index, intent)| intent.examples.iter().map(move |text| (text, index)));
        let mut examples: Vec<_> = vectors
            .into_iter()
            .zip(labeled)
            .map(|(vector, (text, index))| (text_key(text), vector, index))
            .collect();
        examples.sort_by_key(|(key, _, _)| *key);
        let examples: Vec<_> = examples.into_iter().map(|(_, v, i)| (v, i)).collect();
        let train = TrainSettings::new(settings.epochs, settings.svm_c);
        let model = Model::train(&examples, featurizer.len(), intents.len(), train);
        let stems_of = |keyword: &str| featurizer.stems_of(keyword);
        let keywords = indexed()
            .flat_map(|(index, intent)| {
                intent
                    .keywords
                    .iter()
                    .map(move |k| (index, k.clone(), stems_of(k)))
            })
            .filter(|(_, _, stems)| !stems.is_empty())
            .collect();
        Matcher {
            ids: intents.iter().map(|i| i.id.clone()).collect(),
            declines: intents.iter().map(|i| i.decline).collect(),
            featurizer,
            model,
            keywords,
            patterns: patterns.clone(),
            settings: settings.clone(),
        }
    }

    pub fn settings(&self) -> &MatcherSettings {
        &self.settings
    }

    /// Number of learned weights and features, for reports.
    pub fn size(&self) -> (usize, usize) {
        (self.featurizer.len(), self.model.weights())
    }

    /// Features of a question and the weights scoring it reads: what a query costs.
    pub fn cost(&self, question: &str) -> (usize, usize) {
        let (vector, _) = self.featurizer.vectorize_question(question, self.typos());
        (vector.len(), self.model.cost(&vector))
    }

    fn typos(&self) -> TypoSettings {
        TypoSettings {
            min_len: self.settings.typo_min_len,
            max_distance: self.settings.typo_max_distance,
        }
    }

    /// Raw scores of every intent for a question, with the analysis behind them.
    /// The intents one of whose patterns matches `question` (cleaned as for matching), each
    /// once.
    pub fn pattern_owners(&self, question: &str) -> Vec<IntentIndex> {
        let cleaned = super::normalize::clean(question);
        let mut owners: Vec<IntentIndex> = self
            .patterns
            .matches(&cleaned)
            .into_iter()
            .map(|pattern| self.patterns.owner(pattern))
            .collect();
        owners.sort_unstable();
        owners.dedup();
        owners
    }

    pub fn scores(&self, question: &str) -> Scored {
        let (vector, analysis) = self.featurizer.vectorize_question(question, self.typos());
        let mut scores = PerIntent::filled(self.ids.len(), 0f32);
        let mut direct = PerIntent::filled(self.ids.len(), false);
        self.model.score_into(&vector, &mut scores);
        for &(index, _, ref stems) in &self.keywords {
            if contains_sequence(&analysis.stems, stems) {
                scores[index] += self.settings.keyword_weight;
                direct[index] = true;
            }
        }
        // Patterns: one bonus per intent however many of its patterns match.
        let mut matched_patterns = PerIntent::default();
        if !self.patterns.is_empty() {
            matched_patterns = PerIntent::filled(self.ids.len(), Vec::new());
            for pattern in self.patterns.matches(&analysis.cleaned) {
                matched_patterns[self.patterns.owner(pattern)].push(pattern);
            }
            for (index, hits) in matched_patterns.iter() {
                if !hits.is_empty() {
                    scores[index] += self.settings.pattern_weight;
                    direct[index] = true;
                }
            }
        }
        // A corrected word is a guess: it counts as known only in part.
        let guessed = analysis.corrections.len().min(analysis.content_words) as f32;
        let known = analysis.content_words as f32
            - analysis.unknown_words.len() as f32
            - (1.0 - self.settings.corrected_word_known) * guessed;
        let coverage = if analysis.content_words == 0 {
            1.0
        } else {
            (known / analysis.content_words as f32).clamp(0.0, 1.0)
        };
        Scored {
            scores,
            direct,
            coverage,
            vector,
            analysis,
            matched_patterns,
        }
    }

    /// Turns a raw score into a confidence in [0, 1].
    pub fn confidence(&self, score: f32) -> f32 {
        let s = &self.settings;
        let c = 1.0 / (1.0 + (-(score - s.confidence_midpoint) * s.confidence_slope).exp());
        if c.is_finite() {
            c.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }

    /// The best intent and its confidence, with nothing else computed: the fast path for
    /// benchmarks and bulk evaluation.
    pub fn top(&self, question: &str) -> (Option<IntentIndex>, f32) {
        let scored = self.scores(question);
        match top_k(&scored.scores, 1).first() {
            Some(&(index, score)) => (Some(index), scored.confidence(self, index, score)),
            None => (None, 0.0),
        }
    }

    /// Every intent, highest raw score first (lowest index on ties).
    pub fn ranked(&self, question: &str) -> Vec<IntentIndex> {
        let scores = self.scores(question).scores;
        let mut ranked: Vec<IntentIndex> = scores.iter().map(|(index, _)| index).collect();
        ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
        ranked
    }

    /// Matches a question: the decision, up to three candidates and the explanation.
    pub fn decide(&self, question: &str) -> Match {
        let scored = self.scores(question);
        // The model's three best, with the confidences the decision compares.
        let ranked: Vec<Candidate> = top_k(&scored.scores, 3)
            .into_iter()
            .map(|(index, score)| Candidate {
                index,
                intent: self.ids[index].clone(),
                score: scored.confidence(self, index, score),
                decline: self.declines[index],
            })
            .collect();
        let thresholds = Thresholds::from(&self.settings);
        let (mut explanation, reasons) = self.explain(ranked.first(), &scored);
        let mut verdict = decision::decide(ranked.clone(), &reasons, &thresholds);
        // A clarification is explained from its best choice, which the unknown words may
        // have put above the model's best.
        let best = verdict
            .candidates
            .first()
            .filter(|_| verdict.decision == Decision::Clarify);
        if let Some(best) = best.filter(|b| Some(b.index) != ranked.first().map(|r| r.index)) {
            let (best_explanation, best_reasons) = self.explain(Some(best), &scored);
            explanation = best_explanation;
            verdict = decision::decide(ranked, &best_reasons, &thresholds);
        }
        explanation.summary = verdict.summary;
        Match {
            decision: verdict.decision,
            candidates: verdict.candidates,
            confidence: verdict.confidence,
            explanation,
        }
    }

    /// What the question shows and, for the model's best intent `top`, the reasons it
    /// scored as it did (the decision's summary sums them up).
    fn explain(&self, top: Option<&Candidate>, scored: &Scored) -> (Explanation, Vec<String>) {
        let analysis = &scored.analysis;
        let mut explanation = Explanation {
            cleaned: analysis.cleaned.clone(),
            stems: analysis.stems.clone(),
            corrections: analysis.corrections.clone(),
            synonyms: analysis.synonyms.clone(),
            unknown_words: analysis.unknown_words.clone(),
            classes: analysis.classes.clone(),
            ..Explanation::default()
        };
        let Some(top) = top else {
            return (explanation, Vec::new());
        };
        let index = top.index;
        explanation.keywords = self
            .keywords
            .iter()
            .filter(|(owner, _, stems)| {
                *owner == index && contains_sequence(&analysis.stems, stems)
            })
            .map(|(_, keyword, _)| keyword.clone())
            .collect();
        if let Some(hits) = scored.matched_patterns.get(index) {
            explanation.patterns = hits
                .iter()
                .map(|&i| self.patterns.source(i).to_owned())
                .collect();
        }
        explanation.evidence = self.evidence(&scored.vector, index);
        let words: Vec<String> = explanation
            .evidence
            .iter()
            .take(4)
            .map(|(w, c)| format!("`{w}` ({c:+.2})"))
            .collect();
        let mut reasons = Vec::new();
        if !words.is_empty() {
            reasons.push(format!("words {}", words.join(", ")));
        }
        if !explanation.keywords.is_empty() {
            reasons.push(format!("keywords {}", explanation.keywords.join(", ")));
        }
        if !explanation.patterns.is_empty() {
            reasons.push(format!("pattern {}", explanation.patterns.join(", ")));
        }
        let factor = scored.coverage_factor(self, index);
        if factor < 1.0 {
            let unknown = if analysis.unknown_words.is_empty() {
                "none".to_owned()
            } else {
                analysis.unknown_words.join(", ")
            };
            reasons.push(format!(
                "words the intent does not use lower the confidence x{factor:.2} (unknown: {unknown})"
            ));
        }
        if !explanation.corrections.is_empty() {
            let fixes: Vec<String> = explanation
                .corrections
                .iter()
                .map(|(a, b)| format!("{a}→{b}"))
                .collect();
            reasons.push(format!("typos corrected {}", fixes.join(", ")));
        }
        (explanation, reasons)
    }

    /// Word and word-pair features of the question with their contribution to `index`.
    fn evidence(&self, vector: &SparseVec, index: IntentIndex) -> Vec<(String, f32)> {
        let mut evidence: Vec<(String, f32)> = vector
            .iter()
            .filter_map(|&(feature, x)| {
                let name = self.featurizer.name(feature)?;
                let contribution = x * self.model.weight(feature, index);
                (contribution.abs() > 0.005).then(|| (name.to_owned(), contribution))
            })
            .collect();
        evidence.sort_by(|a, b| b.1.total_cmp(&a.1));
        evidence.truncate(6);
        evidence
    }
}

/// A stable key for an example's text, which sets its place in the training order.
fn text_key(text: &str) -> (u64, &str) {
    use std::hash::{Hash, Hasher};
    let mut hasher = rustc_hash::FxHasher::default();
    text.hash(&mut hasher);
    (hasher.finish(), text)
}

/// Whether `needle` occurs as consecutive items of `haystack`.
fn contains_sequence(haystack: &[String], needle: &[String]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The `k` best `(index, score)` pairs, best first (lowest index on ties).
fn top_k(scores: &PerIntent<f32>, k: usize) -> Vec<(IntentIndex, f32)> {
    let mut best: Vec<(IntentIndex, f32)> = Vec::with_capacity(k + 1);
    for (index, &score) in scores.iter() {
        if best.len() == k && score <= best[k - 1].1 {
            continue;
        }
        let at = best.partition_point(|&(_, s)| s >= score);
        best.insert(at, (index, score));
        best.truncate(k);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    /// Three small intents (id, examples), in an order that is not their ids'.
    const INTENTS: [(&str, [&str; 5]); 3] = [
        (
            "work.remote",
            [
                "can I work remotely",
                "is remote work possible",
                "do teams work from home",
                "is this job remote",
                "can I work from anywhere",
            ],
        ),
        (
            "jobs.salary",
            [
                "how much does it pay",
                "what is the salary",
                "what salary can a junior expect",
                "how much money will I make",
                "is the pay good",
            ],
        ),
        (
            "jobs.interview",
            [
                "how do I prepare for an interview",
                "what questions are asked in interviews",
                "tips to pass the interview",
                "how many interview rounds are there",
                "what happens in an onsite interview",
            ],
        ),
    ];

    /// An engine loaded from `intents` written into one file, in that order, with
    /// `extra` lines (keywords or patterns) added to the intent `id`.
    fn engine(intents: &[(&str, [&str; 5])], extra: Option<(&str, &str)>) -> Engine {
        let text: String = intents
            .iter()
            .map(|(id, examples)| {
                let lines = extra.filter(|e| e.0 == *id).map_or("", |e| e.1);
                format!(
                    "[[intent]]\nid = {id:?}\ntitle = {id:?}\nexamples = {examples:?}\nanswer = \"An answer.\"\n{lines}\n\n"
                )
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("intents.toml"), text).unwrap();
        match Engine::load(
            dir.path(),
            &MatcherSettings::shipped(),
            &crate::engine::intents::Limits::shipped(),
        ) {
            Ok((engine, _)) => engine,
            Err(errors) => panic!("{errors:?}"),
        }
    }

    fn ids<'a>(intents: impl Iterator<Item = &'a Intent>) -> Vec<&'a str> {
        intents.map(|i| i.id.as_str()).collect()
    }

    #[test]
    fn classes_are_the_intents_sorted_by_id_whatever_the_file_order() {
        let engine = engine(&INTENTS, None);
        assert_eq!(
            ids(engine.intents().iter()),
            ["jobs.interview", "jobs.salary", "work.remote"]
        );
        assert_eq!(
            ids(engine.intents_as_written()),
            ["work.remote", "jobs.salary", "jobs.interview"]
        );
        let matcher = engine.matcher();
        for intent in engine.intents() {
            let index = engine.index_of(&intent.id).unwrap();
            assert_eq!(engine.intent_at(index).id, intent.id);
            for example in &intent.examples {
                assert_eq!(matcher.top(example).0, Some(index), "{example:?}");
                assert_eq!(matcher.ranked(example)[0], index, "{example:?}");
                let found = matcher.decide(example);
                assert_eq!(found.decision, Decision::Answer, "{example:?}");
                let top = &found.candidates[0];
                assert_eq!(
                    (top.index, top.intent.as_str()),
                    (index, intent.id.as_str())
                );
            }
        }
    }

    #[test]
    fn the_order_of_the_file_changes_no_score() {
        let forward = engine(&INTENTS, None);
        let reversed: Vec<_> = INTENTS.iter().rev().copied().collect();
        let reversed = engine(&reversed, None);
        for question in [
            "remote salary interview",
            "how much for an onsite",
            "cook pasta",
        ] {
            let by_id = |engine: &Engine| -> Vec<(String, u32)> {
                let scores = engine.matcher().scores(question).scores;
                scores
                    .iter()
                    .map(|(i, s)| (engine.intent_at(i).id.clone(), s.to_bits()))
                    .collect()
            };
            assert_eq!(by_id(&forward), by_id(&reversed), "{question:?}");
        }
    }

    #[test]
    fn keywords_and_patterns_add_their_weight_to_their_intent_only() {
        let settings = MatcherSettings::shipped();
        let plain = engine(&INTENTS, None);
        let question = "is a whiteboard round part of the hiring";
        // (what the intent gains, the bonus, what the explanation lists)
        let table = [
            (
                "keywords = [\"whiteboard\"]",
                settings.keyword_weight,
                "whiteboard",
            ),
            (
                "patterns = ['\\bwhiteboard\\b']",
                settings.pattern_weight,
                "\\bwhiteboard\\b",
            ),
        ];
        for (lines, bonus, listed) in table {
            let with = engine(&INTENTS, Some(("jobs.interview", lines)));
            let before = plain.matcher().scores(question);
            let after = with.matcher().scores(question);
            let gained = with.index_of("jobs.interview").unwrap();
            for ((index, b), (_, a)) in before.scores.iter().zip(after.scores.iter()) {
                let expected = if index == gained { bonus } else { 0.0 };
                assert!((a - b - expected).abs() < 1e-5, "{lines}: {a} - {b}");
                assert_eq!(after.direct[index], index == gained, "{lines}");
            }
            let found = with.matcher().decide(question);
            assert_eq!(found.candidates[0].intent, "jobs.interview", "{lines}");
            let explanation = &found.explanation;
            let shown = [&explanation.keywords, &explanation.patterns];
            assert!(
                shown.iter().any(|l| l.contains(&listed.to_owned())),
                "{lines}"
            );
            assert!(
                explanation.summary.contains(listed),
                "{}",
                explanation.summary
            );
        }
    }

    #[test]
    fn ranked_lists_every_intent_by_raw_score() {
        let engine = engine(&INTENTS, None);
        let matcher = engine.matcher();
        for question in ["what salary for remote work", "interview", ""] {
            let ranked = matcher.ranked(question);
            let scores = matcher.scores(question).scores;
            assert_eq!(ranked.len(), engine.intents().len());
            assert!(ranked.windows(2).all(|w| scores[w[0]] >= scores[w[1]]));
            assert_eq!(Some(ranked[0]), matcher.top(question).0, "{question:?}");
        }
        // Ties (nothing in common) keep the index order.
        let ranked = matcher.ranked("zzz");
        assert!(ranked.windows(2).all(|w| w[0] < w[1]), "{ranked:?}");
    }

    #[test]
    fn unknown_words_lower_the_confidence_until_it_falls_back() {
        let engine = engine(&INTENTS, None);
        let matcher = engine.matcher();
        let known = matcher.scores("what is the salary");
        assert_eq!(known.coverage, 1.0);
        let unknown = matcher.scores("what is the lasagna recipe");
        assert!(unknown.coverage < 1.0, "{}", unknown.coverage);
        let found = matcher.decide("how do I cook pasta with basil");
        assert_eq!(
            found.decision,
            Decision::Fallback,
            "{}",
            found.explanation.summary
        );
        assert!(!found.explanation.unknown_words.is_empty());
        assert!(found.explanation.summary.starts_with("fell back"));
    }

    #[test]
    fn confidence_is_a_logistic_curve_of_the_score() {
        let engine = engine(&INTENTS, None);
        let matcher = engine.matcher();
        let s = matcher.settings();
        // (raw score, expected confidence)
        let table = [
            (s.confidence_midpoint, 0.5),
            (s.confidence_midpoint + 1.0 / s.confidence_slope, 0.731),
            (s.confidence_midpoint - 1.0 / s.confidence_slope, 0.269),
            (f32::INFINITY, 1.0),
            (f32::NEG_INFINITY, 0.0),
            (f32::NAN, 0.0),
        ];
        for (score, expected) in table {
            let c = matcher.confidence(score);
            assert!((c - expected).abs() < 1e-3, "confidence({score}) = {c}");
        }
    }
}
