//! The decision: from the best candidates' confidences to answer, decline, clarify or fall
//! back.
//!
//! A pure function of the candidates and the [`Thresholds`], so every rule (the bar, the
//! clarify margin, which runner-up is compared, which suggestions are offered, the
//! sentence that explains it) is tested here on plain numbers, apart from any model.
//!
//! A decline intent (`decline = true`) competes like any other; when it would be answered,
//! the decision is [`Decision::Decline`] instead. It is never offered as a choice: not to
//! clarify (the bot asks only when at least two ordinary intents are close; otherwise the
//! top one, answer or decline, is given) nor as a fallback's suggestion.

use serde::{Deserialize, Serialize};

use super::index::IntentIndex;
use super::matcher::MatcherSettings;

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
    /// A decline intent is clearly meant: the question is out of scope, and the intent's
    /// answer says so.
    Decline,
}

/// One scored intent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    #[serde(skip)]
    pub index: IntentIndex,
    pub intent: String,
    /// Confidence in [0, 1].
    pub score: f32,
    /// A decline intent: never offered as a choice.
    #[serde(skip)]
    pub decline: bool,
}

/// The settings the decision reads (see [`MatcherSettings`] for each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub fallback_below: f32,
    /// In score units: compared through [`Thresholds::gap`].
    pub clarify_margin: f32,
    pub suggest_above: f32,
    /// The steepness of the score-to-confidence curve, which turns confidences back into
    /// score units.
    pub confidence_slope: f32,
}

impl From<&MatcherSettings> for Thresholds {
    fn from(s: &MatcherSettings) -> Thresholds {
        Thresholds {
            fallback_below: s.fallback_below,
            clarify_margin: s.clarify_margin,
            suggest_above: s.suggest_above,
            confidence_slope: s.confidence_slope,
        }
    }
}

impl Thresholds {
    /// How far apart two confidences are in score units (the inverse of the confidence
    /// curve): 0.99 and 0.95 are as far apart as 0.6 and 0.3, though they look close.
    pub fn gap(&self, higher: f32, lower: f32) -> f32 {
        let logit = |c: f32| {
            let c = c.clamp(1e-6, 1.0 - 1e-6);
            (c / (1.0 - c)).ln()
        };
        (logit(higher) - logit(lower)) / self.confidence_slope
    }

    /// Whether `other` is within the clarify margin of `top`, either way: a runner-up far
    /// above the best (unknown words lowered the best one's confidence) is no close call,
    /// and the model's best is answered (on the dev sets, asking then cost a point).
    fn close(&self, top: f32, other: f32) -> bool {
        self.gap(top, other).abs() < self.clarify_margin
    }
}

/// A decision with what a reply offers and the sentence that explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub decision: Decision,
    /// An answer's intent first, then the runners-up by confidence; the choices of a
    /// clarify or the suggestions of a fallback, best first.
    pub candidates: Vec<Candidate>,
    /// The confidence of the model's best intent, or for a clarification of its best
    /// choice (0 when there are none).
    pub confidence: f32,
    pub summary: String,
}

/// Decides on `ranked`: the model's best intent first, then the runners-up in any order.
/// `reasons` say why the best intent scored as it did (empty: only character n-grams).
///
/// The decision is made on the model's best intent, whose confidence unknown words may
/// have lowered below a runner-up's: then the gap is negative, and the bot asks which was
/// meant only when the runner-up is within the margin above it; further above, the best
/// is still answered unless it is below `fallback_below` (the model's best not being good
/// enough is a fallback). Re-ranking the best by confidence let that lowering overrule the
/// model: on CLINC150 val it cost 2 points of accuracy; asking whenever the gap was
/// negative cost a point on the career dev sets.
pub fn decide(mut ranked: Vec<Candidate>, reasons: &[String], t: &Thresholds) -> Verdict {
    // The runners-up by confidence: the one compared with the top is the most confident.
    if let Some(rest) = ranked.get_mut(1..) {
        rest.sort_by(|a, b| b.score.total_cmp(&a.score));
    }
    let top = ranked.first().map_or(0.0, |c| c.score);
    let runner_up = ranked.get(1).map_or(0.0, |c| c.score);
    let top_declines = ranked.first().is_some_and(|c| c.decline);
    let choice = |c: &Candidate| t.close(top, c.score) && c.score >= t.fallback_below;
    let decision = if ranked.is_empty() || top < t.fallback_below {
        Decision::Fallback
    } else if runner_up >= t.fallback_below
        && t.close(top, runner_up)
        && ranked.iter().filter(|c| choice(c) && !c.decline).count() >= 2
    {
        // A clarification offers a choice of topics, and a decline is none: with fewer
        // than two topics close, the top one is meant (an answer, or a decline).
        Decision::Clarify
    } else if top_declines {
        Decision::Decline
    } else {
        Decision::Answer
    };
    let mut candidates: Vec<Candidate> = match decision {
        Decision::Answer | Decision::Decline => ranked.clone(),
        Decision::Clarify => ranked
            .iter()
            .filter(|c| choice(c) && !c.decline)
            .cloned()
            .collect(),
        Decision::Fallback => ranked
            .iter()
            .filter(|c| c.score >= t.suggest_above && !c.decline)
            .cloned()
            .collect(),
    };
    // Choices and suggestions are offered best first, whatever the model's order.
    if matches!(decision, Decision::Clarify | Decision::Fallback) {
        candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    }
    // A clarification is as sure as its best choice, which leads its summary; anything else
    // is explained from the model's best, even candidates too weak to be offered.
    let best = match decision {
        Decision::Clarify => candidates.first(),
        _ => ranked.first(),
    };
    let confidence = best.map_or(0.0, |c| c.score);
    let summary = summary(decision, best, &ranked, reasons, t);
    Verdict {
        decision,
        candidates,
        confidence,
        summary,
    }
}

/// One sentence summing up the decision on `ranked` (the model's best first), led by `top`
/// (the model's best, or a clarification's best choice) whose `reasons` are given.
fn summary(
    decision: Decision,
    top: Option<&Candidate>,
    ranked: &[Candidate],
    reasons: &[String],
    t: &Thresholds,
) -> String {
    let Some(top) = top else {
        return "no intent shares any word with the question".to_owned();
    };
    let because = if reasons.is_empty() {
        "only character n-grams in common".to_owned()
    } else {
        reasons.join("; ")
    };
    match decision {
        Decision::Answer => format!(
            "answered `{}` with confidence {:.2} (fallback below {:.2}): {because}",
            top.intent, top.score, t.fallback_below
        ),
        Decision::Clarify => format!(
            "asked to clarify: {} are within {:.2} of each other; top `{}` {:.2}: {because}",
            ranked
                .iter()
                .filter(|c| t.close(top.score, c.score))
                .map(|c| format!("`{}`", c.intent))
                .collect::<Vec<_>>()
                .join(", "),
            t.clarify_margin,
            top.intent,
            top.score
        ),
        Decision::Fallback => format!(
            "fell back: best `{}` has confidence {:.2}, below {:.2}: {because}",
            top.intent, top.score, t.fallback_below
        ),
        Decision::Decline => format!(
            "declined as out of scope: `{}` with confidence {:.2} (fallback below {:.2}): {because}",
            top.intent, top.score, t.fallback_below
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped defaults: fall back below 0.4, clarify within 0.05 score units (0.90
    /// and 0.88 are 0.034 apart, 0.90 and 0.85 are 0.077), suggest above 0.1.
    const T: Thresholds = Thresholds {
        fallback_below: 0.4,
        clarify_margin: 0.05,
        suggest_above: 0.1,
        confidence_slope: 6.0,
    };

    /// Candidates named by letter, indexed in order of appearance; a name starting with `x`
    /// is a decline intent.
    fn ranked(scores: &[(&str, f32)]) -> Vec<Candidate> {
        scores
            .iter()
            .enumerate()
            .map(|(i, &(intent, score))| Candidate {
                index: IntentIndex::new(i),
                intent: intent.to_owned(),
                score,
                decline: intent.starts_with('x'),
            })
            .collect()
    }

    #[test]
    fn decides_on_the_best_candidates() {
        use Decision::{Answer, Clarify, Decline, Fallback};
        // (what, ranked in model order, expected decision, offered intents, summary)
        type Row<'a> = (
            &'a str,
            &'a [(&'a str, f32)],
            Decision,
            &'a [&'a str],
            &'a str,
        );
        let table: &[Row] = &[
            (
                "a clear answer keeps every candidate, runners-up by confidence",
                &[("a", 0.9), ("b", 0.2), ("c", 0.5)],
                Answer,
                &["a", "c", "b"],
                "answered `a` with confidence 0.90 (fallback below 0.40): because",
            ),
            (
                "below the bar: fall back, suggesting what is above suggest_above",
                &[("a", 0.35), ("b", 0.3), ("c", 0.05)],
                Fallback,
                &["a", "b"],
                "fell back: best `a` has confidence 0.35, below 0.40: because",
            ),
            (
                "a weak top is not suggested either",
                &[("a", 0.08), ("b", 0.02)],
                Fallback,
                &[],
                "fell back: best `a` has confidence 0.08, below 0.40: because",
            ),
            (
                "a runner-up within the margin: ask, offering the close ones",
                &[("a", 0.9), ("b", 0.88), ("c", 0.5)],
                Clarify,
                &["a", "b"],
                "asked to clarify: `a`, `b` are within 0.05 of each other; top `a` 0.90: because",
            ),
            (
                "just outside the margin: answer",
                &[("a", 0.9), ("b", 0.85)],
                Answer,
                &["a", "b"],
                "answered `a` with confidence 0.90 (fallback below 0.40): because",
            ),
            (
                "a close runner-up below fallback_below is no choice",
                &[("a", 0.42), ("b", 0.39)],
                Answer,
                &["a", "b"],
                "answered `a` with confidence 0.42 (fallback below 0.40): because",
            ),
            (
                "a close third below fallback_below is named but not offered",
                &[("a", 0.41), ("b", 0.405), ("c", 0.395)],
                Clarify,
                &["a", "b"],
                "asked to clarify: `a`, `b`, `c` are within 0.05 of each other; top `a` 0.41: because",
            ),
            (
                "coverage puts a runner-up just above the top: within the margin, ask, led by it",
                &[("a", 0.8), ("c", 0.3), ("b", 0.81)],
                Clarify,
                &["b", "a"],
                "asked to clarify: `a`, `b` are within 0.05 of each other; top `b` 0.81: because",
            ),
            (
                "coverage puts a runner-up far above the top: the model's best is answered",
                &[("a", 0.6), ("c", 0.3), ("b", 0.8)],
                Answer,
                &["a", "b", "c"],
                "answered `a` with confidence 0.60 (fallback below 0.40): because",
            ),
            (
                "a runner-up above a top below the bar does not save it",
                &[("a", 0.3), ("b", 0.8)],
                Fallback,
                &["b", "a"],
                "fell back: best `a` has confidence 0.30, below 0.40: because",
            ),
            (
                "a tie at the top: ask, in model order",
                &[("a", 0.7), ("b", 0.7)],
                Clarify,
                &["a", "b"],
                "asked to clarify: `a`, `b` are within 0.05 of each other; top `a` 0.70: because",
            ),
            (
                "tied runners-up keep the model's order",
                &[("a", 0.9), ("c", 0.3), ("b", 0.3)],
                Answer,
                &["a", "c", "b"],
                "answered `a` with confidence 0.90 (fallback below 0.40): because",
            ),
            (
                "a single intent answers alone",
                &[("a", 0.5)],
                Answer,
                &["a"],
                "answered `a` with confidence 0.50 (fallback below 0.40): because",
            ),
            (
                "no intents at all",
                &[],
                Fallback,
                &[],
                "no intent shares any word with the question",
            ),
            (
                "a clear decline declines, keeping every candidate",
                &[("x", 0.9), ("b", 0.2), ("c", 0.5)],
                Decline,
                &["x", "c", "b"],
                "declined as out of scope: `x` with confidence 0.90 (fallback below 0.40): because",
            ),
            (
                "a decline below the bar falls back, never suggesting a decline",
                &[("x", 0.35), ("b", 0.3), ("xy", 0.32)],
                Fallback,
                &["b"],
                "fell back: best `x` has confidence 0.35, below 0.40: because",
            ),
            (
                "a decline close to one answer: one topic is no choice, the decline stands",
                &[("x", 0.9), ("b", 0.88), ("c", 0.5)],
                Decline,
                &["x", "b", "c"],
                "declined as out of scope: `x` with confidence 0.90 (fallback below 0.40): because",
            ),
            (
                "a decline close to two answers: clarify between them",
                &[("x", 0.9), ("b", 0.88), ("c", 0.87)],
                Clarify,
                &["b", "c"],
                "asked to clarify: `x`, `b`, `c` are within 0.05 of each other; top `b` 0.88: because",
            ),
            (
                "an answer close to a decline alone: the answer stands",
                &[("a", 0.9), ("x", 0.89), ("b", 0.2)],
                Answer,
                &["a", "x", "b"],
                "answered `a` with confidence 0.90 (fallback below 0.40): because",
            ),
            (
                "an answer close to a decline: the decline is no choice",
                &[("a", 0.9), ("x", 0.89), ("b", 0.88)],
                Clarify,
                &["a", "b"],
                "asked to clarify: `a`, `x`, `b` are within 0.05 of each other; top `a` 0.90: because",
            ),
            (
                "only declines close together: the top one declines",
                &[("x", 0.9), ("xy", 0.89), ("b", 0.2)],
                Decline,
                &["x", "xy", "b"],
                "declined as out of scope: `x` with confidence 0.90 (fallback below 0.40): because",
            ),
            (
                "a decline runner-up does not stop a clear answer",
                &[("a", 0.9), ("x", 0.5)],
                Answer,
                &["a", "x"],
                "answered `a` with confidence 0.90 (fallback below 0.40): because",
            ),
        ];
        for &(what, scores, decision, offered, summary) in table {
            let verdict = decide(ranked(scores), &["because".to_owned()], &T);
            let ids: Vec<&str> = verdict
                .candidates
                .iter()
                .map(|c| c.intent.as_str())
                .collect();
            assert_eq!(
                (verdict.decision, ids.as_slice(), verdict.summary.as_str()),
                (decision, offered, summary),
                "{what}"
            );
            // The model's best, or a clarification's best choice: the highest score offered.
            let score_of = |id: &str| scores.iter().find(|s| s.0 == id).map_or(0.0, |s| s.1);
            let top = match decision {
                Clarify => offered.iter().map(|id| score_of(id)).fold(0.0, f32::max),
                _ => scores.first().map_or(0.0, |s| s.1),
            };
            assert_eq!(verdict.confidence, top, "{what}");
        }
    }

    #[test]
    fn candidates_keep_their_index() {
        let verdict = decide(ranked(&[("a", 0.8), ("b", 0.81)]), &[], &T);
        let indexes: Vec<usize> = verdict.candidates.iter().map(|c| c.index.get()).collect();
        assert_eq!(indexes, [1, 0]);
    }

    #[test]
    fn the_summary_joins_the_reasons() {
        let reasons = [
            "words `salary` (+0.80)".to_owned(),
            "keywords pay".to_owned(),
        ];
        let verdict = decide(ranked(&[("jobs", 0.9)]), &reasons, &T);
        assert_eq!(
            verdict.summary,
            "answered `jobs` with confidence 0.90 (fallback below 0.40): words `salary` (+0.80); keywords pay"
        );
        let verdict = decide(ranked(&[("jobs", 0.9)]), &[], &T);
        assert!(verdict
            .summary
            .ends_with(": only character n-grams in common"));
    }

    #[test]
    fn the_gap_is_in_score_units() {
        let table = [
            ((0.5, 0.5), 0.0),
            ((0.99, 0.95), 0.275),
            ((0.6, 0.3), 0.209),
            ((0.3, 0.6), -0.209),
        ];
        for ((higher, lower), expected) in table {
            let gap = T.gap(higher, lower);
            assert!(
                (gap - expected).abs() < 0.001,
                "gap({higher}, {lower}) = {gap}, expected about {expected}"
            );
        }
        // Saturated confidences stay finite.
        assert!(T.gap(1.0, 0.0).is_finite());
    }
}
