//! The matcher: from a question to a decision (answer, clarify or fallback) with reasons.
//!
//! Scores come from the linear model over the question's features; an admin's regex
//! patterns and keywords add fixed evidence on top. A score is turned into a confidence
//! in [0, 1] by a logistic curve centred on the margin the model was trained to reach, and
//! the decision compares confidences with thresholds from config. Nothing here knows what
//! any intent is about.

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::features::{Analysis, Featurizer, SparseVec, TypoSettings};
use super::intents::Intent;
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

/// What the bot should do with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// One intent is clearly meant.
    Answer,
    /// Two or three intents are close: ask "did you mean…?".
    Clarify,
    /// Nothing is close enough: say so, with suggestions.
    Fallback,
}

/// One scored intent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// Index into the intent list the matcher was built from.
    #[serde(skip)]
    pub index: usize,
    pub intent: String,
    /// Confidence in [0, 1].
    pub score: f32,
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
    /// One sentence summing it up.
    pub summary: String,
}

/// Every intent's raw score for one question, and what produced it.
#[derive(Debug, Clone)]
pub struct Scored {
    /// Raw score per intent, in the order of the intents the matcher was built from.
    pub scores: Vec<f32>,
    pub vector: SparseVec,
    pub analysis: Analysis,
    /// Per intent, the indexes of its patterns that matched (empty when no intent has any).
    pub matched_patterns: Vec<Vec<usize>>,
    /// Per intent, whether one of its keywords or patterns matched.
    pub direct: Vec<bool>,
    /// Share of the question's content words that some example contains (a word known
    /// only through a typo correction counting `corrected_word_known`).
    pub coverage: f32,
}

impl Scored {
    /// The confidence of intent `class` (its raw score `score`), lowered by unknown words
    /// unless the intent's own keywords or patterns matched.
    fn confidence(&self, matcher: &Matcher, class: usize, score: f32) -> f32 {
        matcher.confidence(score) * self.coverage_factor(matcher, class)
    }

    /// What unknown words, and words only other intents use, multiply the confidence of
    /// intent `class` by (1 when its own keywords or patterns matched).
    fn coverage_factor(&self, matcher: &Matcher, class: usize) -> f32 {
        let exponent = matcher.settings.unknown_word_exponent;
        if self.direct[class] || exponent <= 0.0 {
            return 1.0;
        }
        let share = matcher.settings.intent_coverage_share;
        let coverage = (1.0 - share) * self.coverage + share * self.intent_coverage(matcher, class);
        coverage.powf(exponent)
    }

    /// Share of the question's content words that the intent's own examples use (a word
    /// the model weighs positively for it).
    fn intent_coverage(&self, matcher: &Matcher, class: usize) -> f32 {
        let stems = &self.analysis.content_stems;
        if stems.is_empty() {
            return 1.0;
        }
        let used = stems
            .iter()
            .filter(|s| {
                matcher
                    .featurizer
                    .word_id(s)
                    .is_some_and(|id| matcher.model.weight(id, class as u32) > 0.0)
            })
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
    /// The answered intent, when the decision is `Answer`.
    pub fn answered(&self) -> Option<&Candidate> {
        match self.decision {
            Decision::Answer => self.candidates.first(),
            _ => None,
        }
    }
}

/// A compiled intent set, ready to answer.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// Intent ids by class. Classes are the intents sorted by id, and examples are trained
    /// in an order set by their text, so reordering intents or files changes nothing.
    ids: Vec<String>,
    /// Class -> index in the caller's intent list, and back.
    original: Vec<usize>,
    class_of: Vec<usize>,
    featurizer: Featurizer,
    model: Model,
    /// Every keyword: its intent, text and stem sequence. One flat list, so a question
    /// costs the keywords there are, not one step per intent.
    keywords: Vec<(usize, String, Vec<String>)>,
    /// Compiled one by one, not as a `RegexSet`: a set answers "which matched" with an
    /// overlapping search that long alternations and `.{0,60}` gaps push off the fast lazy
    /// DFA onto the PikeVM (250 µs a question for the shipped patterns), while each
    /// `Regex::is_match` stays on its own DFA (a few µs for all of them).
    patterns: Vec<Regex>,
    /// For each pattern in `patterns`, its intent and source text.
    pattern_owner: Vec<(usize, String)>,
    settings: MatcherSettings,
}

impl Matcher {
    /// Compiles intents; their patterns come compiled (see [`super::intents::Pattern`]).
    pub fn build(
        intents: &[Intent],
        synonyms: &[super::intents::Synonym],
        settings: &MatcherSettings,
    ) -> Matcher {
        let mut original: Vec<usize> = (0..intents.len()).collect();
        original.sort_by(|&a, &b| intents[a].id.cmp(&intents[b].id));
        let mut class_of = vec![0; intents.len()];
        for (class, &index) in original.iter().enumerate() {
            class_of[index] = class;
        }
        let intents: Vec<&Intent> = original.iter().map(|&i| &intents[i]).collect();
        let texts = intents
            .iter()
            .flat_map(|i| i.examples.iter().map(String::as_str));
        let (featurizer, vectors) = Featurizer::fit(texts, synonyms);
        let labeled = intents.iter().enumerate().flat_map(|(class, intent)| {
            intent.examples.iter().map(move |text| (text, class as u32))
        });
        let mut examples: Vec<_> = vectors
            .into_iter()
            .zip(labeled)
            .map(|(vector, (text, class))| (text_key(text), vector, class))
            .collect();
        examples.sort_by_key(|(key, _, _)| *key);
        let examples: Vec<_> = examples.into_iter().map(|(_, v, c)| (v, c)).collect();
        let train = TrainSettings {
            epochs: settings.epochs,
            aggressiveness: settings.svm_c,
            ..TrainSettings::default()
        };
        let model = Model::train(&examples, featurizer.len(), intents.len(), train);
        let stems_of = |keyword: &str| featurizer.stems_of(keyword);
        let keywords = intents
            .iter()
            .enumerate()
            .flat_map(|(class, intent)| {
                intent
                    .keywords
                    .iter()
                    .map(move |k| (class, k.clone(), stems_of(k)))
            })
            .filter(|(_, _, stems)| !stems.is_empty())
            .collect();
        let mut pattern_owner = Vec::new();
        let mut patterns = Vec::new();
        for (index, intent) in intents.iter().enumerate() {
            for pattern in &intent.patterns {
                pattern_owner.push((index, pattern.as_str().to_owned()));
                patterns.push(pattern.regex().clone());
            }
        }
        Matcher {
            ids: intents.iter().map(|i| i.id.clone()).collect(),
            original,
            class_of,
            featurizer,
            model,
            keywords,
            patterns,
            pattern_owner,
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

    /// Raw scores of every intent for a question, with the analysis behind them.
    pub fn scores(&self, question: &str) -> Scored {
        let mut scored = self.score_classes(question);
        scored.scores = self.in_caller_order(&scored.scores);
        scored.direct = self.in_caller_order(&scored.direct);
        if !scored.matched_patterns.is_empty() {
            scored.matched_patterns = self.in_caller_order(&scored.matched_patterns);
        }
        scored
    }

    /// Values indexed by class, reordered like the intents the matcher was built from.
    fn in_caller_order<T: Clone>(&self, by_class: &[T]) -> Vec<T> {
        self.class_of
            .iter()
            .map(|&class| by_class[class].clone())
            .collect()
    }

    fn typos(&self) -> TypoSettings {
        TypoSettings {
            min_len: self.settings.typo_min_len,
            max_distance: self.settings.typo_max_distance,
        }
    }

    /// [`Matcher::scores`] indexed by class (the matcher's internal order).
    fn score_classes(&self, question: &str) -> Scored {
        let (vector, analysis) = self.featurizer.vectorize_question(question, self.typos());
        let mut scores = vec![0f32; self.ids.len()];
        let mut direct = vec![false; self.ids.len()];
        self.model.score_into(&vector, &mut scores);
        for (class, _, stems) in &self.keywords {
            if contains_sequence(&analysis.stems, stems) {
                scores[*class] += self.settings.keyword_weight;
                direct[*class] = true;
            }
        }
        // Patterns: one bonus per intent however many of its patterns match.
        let mut matched_patterns: Vec<Vec<usize>> = Vec::new();
        if !self.pattern_owner.is_empty() {
            matched_patterns = vec![Vec::new(); self.ids.len()];
            let hits = self
                .patterns
                .iter()
                .enumerate()
                .filter(|(_, p)| p.is_match(&analysis.cleaned));
            for (index, _) in hits {
                matched_patterns[self.pattern_owner[index].0].push(index);
            }
            for (class, hits) in matched_patterns.iter().enumerate() {
                if !hits.is_empty() {
                    scores[class] += self.settings.pattern_weight;
                    direct[class] = true;
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

    /// How far apart two confidences are in score units (the inverse of [`Matcher::confidence`]):
    /// 0.99 and 0.95 are as far apart as 0.6 and 0.3, though the confidences look close.
    fn gap(&self, higher: f32, lower: f32) -> f32 {
        let logit = |c: f32| {
            let c = c.clamp(1e-6, 1.0 - 1e-6);
            (c / (1.0 - c)).ln()
        };
        (logit(higher) - logit(lower)) / self.settings.confidence_slope
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
    pub fn top(&self, question: &str) -> (Option<usize>, f32) {
        let scored = self.score_classes(question);
        match top_k(&scored.scores, 1).first() {
            Some(&(class, score)) => (
                Some(self.original[class]),
                scored.confidence(self, class, score),
            ),
            None => (None, 0.0),
        }
    }

    /// Matches a question: the decision, up to three candidates and the explanation.
    pub fn decide(&self, question: &str) -> Match {
        let scored = self.score_classes(question);
        // Classes, not caller indexes, until the candidates are built.
        // The top is the model's best score; unknown words only lower confidences.
        // (Re-ranking the top by confidence let the coverage factor overrule the model: on
        // CLINC150 val that cost 2 points of accuracy, on the career dev set it gained
        // nothing measurable.) The runners-up are ordered by confidence, so the one
        // compared with the top is the most confident of them; when coverage puts it above
        // the top, the gap is negative and the bot asks which was meant (unless the top is
        // below `fallback_below`: the model's best not being good enough is a fallback).
        let mut ranked: Vec<(usize, f32)> = top_k(&scored.scores, 3);
        for entry in &mut ranked {
            entry.1 = scored.confidence(self, entry.0, entry.1);
        }
        // The runners-up by confidence: the one a reply may offer next comes first.
        if let Some(rest) = ranked.get_mut(1..) {
            rest.sort_by(|a, b| b.1.total_cmp(&a.1));
        }
        let candidates: Vec<Candidate> = ranked
            .iter()
            .map(|&(class, score)| Candidate {
                index: self.original[class],
                intent: self.ids[class].clone(),
                score,
            })
            .collect();
        let s = &self.settings;
        let top = candidates.first().map_or(0.0, |c| c.score);
        let runner_up = candidates.get(1).map_or(0.0, |c| c.score);
        let decision = if candidates.is_empty() || top < s.fallback_below {
            Decision::Fallback
        } else if runner_up >= s.fallback_below && self.gap(top, runner_up) < s.clarify_margin {
            Decision::Clarify
        } else {
            Decision::Answer
        };
        // Explained from the best candidates, even those too weak to be offered.
        let explanation = self.explain(decision, &candidates, &scored);
        let mut candidates: Vec<Candidate> = match decision {
            Decision::Answer => candidates,
            Decision::Clarify => candidates
                .into_iter()
                .filter(|c| {
                    self.gap(top, c.score) < s.clarify_margin && c.score >= s.fallback_below
                })
                .collect(),
            Decision::Fallback => candidates
                .into_iter()
                .filter(|c| c.score >= s.suggest_above)
                .collect(),
        };
        // Choices and suggestions are offered best first, whatever the model's order.
        if decision != Decision::Answer {
            candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
        }
        Match {
            decision,
            candidates,
            confidence: top,
            explanation,
        }
    }

    fn explain(
        &self,
        decision: Decision,
        candidates: &[Candidate],
        scored: &Scored,
    ) -> Explanation {
        let analysis = &scored.analysis;
        let mut explanation = Explanation {
            cleaned: analysis.cleaned.clone(),
            stems: analysis.stems.clone(),
            corrections: analysis.corrections.clone(),
            synonyms: analysis.synonyms.clone(),
            unknown_words: analysis.unknown_words.clone(),
            ..Explanation::default()
        };
        let Some(top) = candidates.first() else {
            explanation.summary = "no intent shares any word with the question".to_owned();
            return explanation;
        };
        let class = self.class_of[top.index];
        explanation.keywords = self
            .keywords
            .iter()
            .filter(|(owner, _, stems)| {
                *owner == class && contains_sequence(&analysis.stems, stems)
            })
            .map(|(_, keyword, _)| keyword.clone())
            .collect();
        if let Some(hits) = scored.matched_patterns.get(class) {
            explanation.patterns = hits
                .iter()
                .map(|&i| self.pattern_owner[i].1.clone())
                .collect();
        }
        explanation.evidence = self.evidence(&scored.vector, class);
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
        let factor = scored.coverage_factor(self, class);
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
        let because = if reasons.is_empty() {
            "only character n-grams in common".to_owned()
        } else {
            reasons.join("; ")
        };
        let s = &self.settings;
        explanation.summary = match decision {
            Decision::Answer => format!(
                "answered `{}` with confidence {:.2} (fallback below {:.2}): {because}",
                top.intent, top.score, s.fallback_below
            ),
            Decision::Clarify => format!(
                "asked to clarify: {} are within {:.2} of each other; top `{}` {:.2}: {because}",
                candidates
                    .iter()
                    .filter(|c| self.gap(top.score, c.score) < s.clarify_margin)
                    .map(|c| format!("`{}`", c.intent))
                    .collect::<Vec<_>>()
                    .join(", "),
                s.clarify_margin,
                top.intent,
                top.score
            ),
            Decision::Fallback => format!(
                "fell back: best `{}` has confidence {:.2}, below {:.2}: {because}",
                top.intent, top.score, s.fallback_below
            ),
        };
        explanation
    }

    /// Word and word-pair features of the question with their contribution to `class`.
    fn evidence(&self, vector: &SparseVec, class: usize) -> Vec<(String, f32)> {
        let mut evidence: Vec<(String, f32)> = vector
            .iter()
            .filter_map(|&(feature, x)| {
                let name = self.featurizer.name(feature)?;
                let contribution = x * self.model.weight(feature, class as u32);
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
fn top_k(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut best: Vec<(usize, f32)> = Vec::with_capacity(k + 1);
    for (index, &score) in scores.iter().enumerate() {
        if best.len() == k && score <= best[k - 1].1 {
            continue;
        }
        let at = best.partition_point(|&(_, s)| s >= score);
        best.insert(at, (index, score));
        best.truncate(k);
    }
    best
}
