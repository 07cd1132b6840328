//! How well an intent set answers labelled questions: `careerbot eval` and the reload gate.
//!
//! A case is right when the bot answers it with the expected intent, or, for a case whose
//! intent is `null`, when it falls back or declines (a decline intent said it is out of
//! scope). A case may also name a decline intent, which must then decline it. Asking to
//! clarify counts as wrong either way: the user did not get the answer. Out-of-scope
//! detection is scored as a binary task where "fell back or declined" is the positive
//! prediction.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;
use std::time::Instant;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use super::matcher::Decision;
use super::Engine;

/// One labelled question.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub text: String,
    /// The intent that should answer, or `None` when the bot should fall back.
    pub intent: Option<String>,
}

/// Precision, recall and F1 of one label.
#[derive(Debug, Default, Serialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Cases whose expected label is this one.
    pub support: usize,
}

/// A frequent mistake.
#[derive(Debug, Serialize)]
pub struct Confusion {
    pub expected: String,
    pub predicted: String,
    pub count: usize,
}

/// A case the bot got wrong.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub text: String,
    pub expected: Option<String>,
    pub decision: Decision,
    pub predicted: Option<String>,
    pub confidence: f32,
}

/// The whole report (`--json` prints it as is).
#[derive(Debug, Serialize)]
pub struct Report {
    pub cases: usize,
    pub accuracy: f64,
    /// Over the cases naming an intent that is no decline.
    pub in_scope_accuracy: f64,
    pub oos_precision: f64,
    pub oos_recall: f64,
    pub clarify_rate: f64,
    /// Cases a decline intent answered, and their share of all cases.
    pub declines: usize,
    pub decline_rate: f64,
    /// Out-of-scope cases (`null`) that a decline intent answered, and that fell back.
    pub oos_declined: usize,
    pub oos_fell_back: usize,
    /// In-scope cases (naming an intent that is no decline) that a decline intent took.
    pub in_scope_declined: usize,
    /// Cases that fell back as clearly not in English.
    pub not_english: usize,
    pub per_intent: BTreeMap<String, Scores>,
    pub confusions: Vec<Confusion>,
    pub latency_us: Latency,
    pub queries_per_second: f64,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
}

/// Label of an outcome: the answered intent, or a bracketed word for the other decisions.
pub const FALLBACK: &str = "(fallback)";
/// Label of a decline, when a case expects one (named or `null`) it is counted as the
/// case's own label.
pub const DECLINE: &str = "(decline)";
const CLARIFY: &str = "(clarify)";

/// Largest cases file read (`careerbot eval`, the reload gate): 64 MiB, some 500,000
/// questions. Reading stops one byte past it, so an endless input (`/dev/zero`, a runaway
/// pipe) is refused in bounded memory instead of read until memory runs out.
pub const MAX_CASES_BYTES: u64 = 64 * 1024 * 1024;

/// The UTF-8 text of the file at `path` (`what`, in errors), refused past `max` bytes:
/// reading stops one byte past it, so an endless input is refused in bounded memory.
pub fn read_bounded(path: &Path, max: u64, what: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(max + 1).read_to_end(&mut bytes))
        .with_context(|| format!("cannot read {}", path.display()))?;
    anyhow::ensure!(
        bytes.len() as u64 <= max,
        "{}: larger than the {} MiB {what} may hold",
        path.display(),
        max >> 20
    );
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not valid UTF-8", path.display()))
}

/// The cases of a JSON-lines file (blank lines skipped), or an error naming the file and
/// the line. Any readable file will do, a pipe included (`eval <(generate)`), up to
/// [`MAX_CASES_BYTES`].
pub fn read_cases(path: &Path) -> anyhow::Result<Vec<Case>> {
    let text = read_bounded(path, MAX_CASES_BYTES, "a cases file")?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            serde_json::from_str(line).with_context(|| {
                format!(
                    "{}:{}: not a case {{\"text\", \"intent\"}}",
                    path.display(),
                    n + 1
                )
            })
        })
        .collect()
}

/// Evaluates every case and computes the report.
pub fn evaluate(engine: &Engine, cases: &[Case]) -> anyhow::Result<Report> {
    for (n, case) in cases.iter().enumerate() {
        if let Some(id) = &case.intent {
            anyhow::ensure!(
                engine.intent(id).is_some(),
                "case {} expects intent `{id}`, which does not exist",
                n + 1
            );
        }
    }
    let mut latencies = Vec::with_capacity(cases.len());
    let mut outcomes = Vec::with_capacity(cases.len());
    let started = Instant::now();
    for case in cases {
        let t = Instant::now();
        let reply = engine.reply(&case.text);
        latencies.push(t.elapsed().as_secs_f64() * 1e6);
        outcomes.push(reply);
    }
    let total = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);

    let label = |decision: Decision, intent: &Option<String>| -> String {
        match decision {
            Decision::Answer => intent.clone().unwrap_or_default(),
            Decision::Decline => format!("{DECLINE} {}", intent.as_deref().unwrap_or_default()),
            Decision::Clarify => CLARIFY.to_owned(),
            Decision::Fallback => FALLBACK.to_owned(),
        }
    };
    let mut correct = 0;
    let mut in_scope = (0, 0);
    let mut oos = (0usize, 0usize, 0usize); // (true positives, predicted, actual)
    let mut clarified = 0;
    let mut not_english = 0;
    let mut declined = (0usize, 0usize, 0usize, 0usize); // all, out of scope, in scope, oos fell back
    let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new(); // tp, predicted, actual
    let mut confusions: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (case, reply) in cases.iter().zip(&outcomes) {
        let expected = case.intent.clone().unwrap_or_else(|| FALLBACK.to_owned());
        let is_decline = |id: &str| engine.intent(id).is_some_and(|i| i.decline);
        let right = match (&case.intent, reply.decision) {
            (None, Decision::Fallback | Decision::Decline) => true,
            (Some(id), Decision::Answer | Decision::Decline) => reply.intent.as_ref() == Some(id),
            _ => false,
        };
        // A right case counts under its own label, so a `null` case a decline intent took
        // is no false positive of that intent.
        let predicted = if right {
            expected.clone()
        } else {
            label(reply.decision, &reply.intent)
        };
        correct += usize::from(right);
        clarified += usize::from(reply.decision == Decision::Clarify);
        // A case naming a decline intent is out of scope too, just more precisely so.
        let expects_oos = case.intent.as_deref().is_none_or(is_decline);
        let declines = reply.decision == Decision::Decline;
        declined.0 += usize::from(declines);
        declined.1 += usize::from(declines && case.intent.is_none());
        declined.2 += usize::from(declines && !expects_oos);
        if !expects_oos {
            in_scope.0 += usize::from(right);
            in_scope.1 += 1;
        }
        let fell_back = reply.decision == Decision::Fallback;
        declined.3 += usize::from(fell_back && case.intent.is_none());
        not_english += usize::from(reply.language.is_some());
        let out_of_scope = fell_back || declines;
        oos.0 += usize::from(out_of_scope && expects_oos);
        oos.1 += usize::from(out_of_scope);
        oos.2 += usize::from(expects_oos);
        counts.entry(expected.clone()).or_default().2 += 1;
        counts.entry(predicted.clone()).or_default().1 += 1;
        if right {
            counts.entry(expected.clone()).or_default().0 += 1;
        } else {
            *confusions.entry((expected, predicted)).or_default() += 1;
            failures.push(Failure {
                text: case.text.clone(),
                expected: case.intent.clone(),
                decision: reply.decision,
                predicted: reply.candidates.first().map(|c| c.intent.clone()),
                confidence: reply.confidence,
            });
        }
    }
    let per_intent = counts
        .into_iter()
        .filter(|(label, (_, _, actual))| *actual > 0 && label != FALLBACK)
        .map(|(label, (tp, predicted, actual))| {
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, actual);
            let f1 = if precision + recall > 0.0 {
                2.0 * precision * recall / (precision + recall)
            } else {
                0.0
            };
            (
                label,
                Scores {
                    precision,
                    recall,
                    f1,
                    support: actual,
                },
            )
        })
        .collect();
    let mut confusions: Vec<Confusion> = confusions
        .into_iter()
        .map(|((expected, predicted), count)| Confusion {
            expected,
            predicted,
            count,
        })
        .collect();
    confusions.sort_by_key(|c| std::cmp::Reverse(c.count));
    confusions.truncate(10);
    Ok(Report {
        cases: cases.len(),
        accuracy: ratio(correct, cases.len()),
        in_scope_accuracy: ratio(in_scope.0, in_scope.1),
        oos_precision: ratio(oos.0, oos.1),
        oos_recall: ratio(oos.0, oos.2),
        clarify_rate: ratio(clarified, cases.len()),
        declines: declined.0,
        decline_rate: ratio(declined.0, cases.len()),
        oos_declined: declined.1,
        oos_fell_back: declined.3,
        in_scope_declined: declined.2,
        not_english,
        per_intent,
        confusions,
        latency_us: Latency {
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
        },
        queries_per_second: if total > 0.0 {
            cases.len() as f64 / total
        } else {
            0.0
        },
        failures,
    })
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::intents::Limits;
    use crate::engine::matcher::MatcherSettings;

    fn case(text: &str, intent: Option<&str>) -> Case {
        Case {
            text: text.to_owned(),
            intent: intent.map(str::to_owned),
        }
    }

    #[test]
    fn a_decline_is_right_for_an_out_of_scope_case_and_wrong_for_an_in_scope_one() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/decline");
        let settings = MatcherSettings::shipped();
        let (engine, _) = Engine::load(&dir, &settings, &Limits::shipped()).unwrap();
        let cases = [
            // Declined (no example names an electrician: the occupation class does).
            case("how do i become an electrician", None),
            // Falls back.
            case("how do i cook pasta with basil", None),
            // Declined, by the decline intent it names.
            case(
                "how do i become a registered nurse",
                Some("scope.other_careers"),
            ),
            case(
                "what degree do i need to be a backend developer",
                Some("study.degree"),
            ),
            // Declined, though in scope by its label: wrong.
            case(
                "what degree do i need to be a pharmacist",
                Some("study.degree"),
            ),
        ];
        let decisions: Vec<Decision> = cases
            .iter()
            .map(|c| engine.reply(&c.text).decision)
            .collect();
        use Decision::{Answer, Decline, Fallback};
        assert_eq!(decisions, [Decline, Fallback, Decline, Answer, Decline]);
        let report = evaluate(&engine, &cases).unwrap();
        assert_eq!(report.accuracy, 0.8);
        assert_eq!(report.in_scope_accuracy, 0.5);
        assert_eq!(
            (
                report.declines,
                report.oos_declined,
                report.oos_fell_back,
                report.in_scope_declined
            ),
            (3, 1, 1, 1)
        );
        // Out of scope: the two `null` cases and the named decline, all caught; one of the
        // four caught is the in-scope case declined.
        assert_eq!((report.oos_recall, report.oos_precision), (1.0, 0.75));
        let failed: Vec<&str> = report.failures.iter().map(|f| f.text.as_str()).collect();
        assert_eq!(failed, ["what degree do i need to be a pharmacist"]);
        assert_eq!(report.per_intent["scope.other_careers"].precision, 1.0);
    }
}
