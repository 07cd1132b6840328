//! Benchmarks that print figures: `bench-clinc` (accuracy and speed on the public CLINC150
//! intent data set) and `bench-scale` (speed and memory on a generated set of many intents).
//!
//! Neither is a timed test: they measure and report, and the figures go in the notes.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::config::Settings;
use crate::engine::intents::synthetic::{self, SyntheticSet, Written};
use crate::engine::intents::{self, Refused};
use crate::engine::Engine;

/// Which CLINC split to evaluate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    Val,
    Test,
}

/// A CLINC150-format file: lists of `[text, intent]`.
#[derive(Debug, Default, Deserialize)]
struct Clinc {
    train: Vec<(String, String)>,
    #[serde(default)]
    val: Vec<(String, String)>,
    #[serde(default)]
    test: Vec<(String, String)>,
    #[serde(default)]
    oos_val: Vec<(String, String)>,
    #[serde(default)]
    oos_test: Vec<(String, String)>,
}

/// CLINC's label for out-of-scope queries.
const OOS: &str = "oos";

#[derive(Debug, Serialize)]
struct ClincReport {
    split: &'static str,
    intents: usize,
    train_examples: usize,
    in_scope_accuracy: f64,
    /// In-scope accuracy with no out-of-scope threshold (every query gets its top intent).
    in_scope_accuracy_no_threshold: f64,
    oos_recall: f64,
    oos_precision: f64,
    /// The out-of-scope confidence threshold, chosen on val + oos_val.
    threshold: f32,
    /// On val + oos_val: the highest out-of-scope recall of any threshold whose precision
    /// reaches `--min-oos-precision` (0 when none does).
    val_oos_recall_at_min_precision: f64,
    /// The same with precision computed as if val had the test split's out-of-scope share
    /// (1,000 out-of-scope per 4,500 in-scope questions, against val's 100 per 3,000): each
    /// oos_val question counts that many times more. Precision depends on the share, and
    /// the published out-of-scope figures are on the test split.
    val_oos_recall_at_min_precision_test_share: f64,
    threshold_rule: String,
    build_ms: f64,
    load_ms: f64,
    validate_ms: f64,
    compile_ms: f64,
    #[serde(flatten)]
    speed: Speed,
}

/// Speed and size figures both benchmarks report.
#[derive(Debug, Serialize)]
struct Speed {
    queries_per_second: f64,
    latency_us_p50: f64,
    latency_us_p99: f64,
    features: usize,
    weights: usize,
    /// Mean features per query, and mean weights read to score one.
    features_per_query: f64,
    weights_per_query: f64,
    peak_rss_mb: f64,
}

impl Speed {
    /// Single-thread throughput and latency percentiles of the matching path, measured
    /// over repeated passes until at least one second has gone by, and the model's size.
    fn measure(engine: &Engine, queries: &[(String, String)]) -> Speed {
        let matcher = engine.matcher();
        let mut latencies = Vec::new();
        let started = Instant::now();
        let mut answered = 0usize;
        while started.elapsed() < Duration::from_secs(1) || answered == 0 {
            for (text, _) in queries {
                let t = Instant::now();
                std::hint::black_box(matcher.top(std::hint::black_box(text)));
                latencies.push(t.elapsed().as_secs_f64() * 1e6);
                answered += 1;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        let (features, weights) = matcher.size();
        let (mut query_features, mut query_weights) = (0, 0);
        for (text, _) in queries {
            let (f, w) = matcher.cost(text);
            query_features += f;
            query_weights += w;
        }
        let n = queries.len().max(1) as f64;
        Speed {
            queries_per_second: answered as f64 / elapsed,
            latency_us_p50: crate::engine::evaluation::percentile(&latencies, 0.5),
            latency_us_p99: crate::engine::evaluation::percentile(&latencies, 0.99),
            features,
            weights,
            features_per_query: query_features as f64 / n,
            weights_per_query: query_weights as f64 / n,
            peak_rss_mb: peak_rss_mb(),
        }
    }

    fn print(&self, out: &mut String) {
        line!(
            out,
            "speed               {:.0} queries/s on one thread (p50 {:.1} µs, p99 {:.1} µs)",
            self.queries_per_second,
            self.latency_us_p50,
            self.latency_us_p99
        );
        line!(
            out,
            "model               {} features, {} weights, peak RSS {:.0} MB",
            self.features,
            self.weights,
            self.peak_rss_mb
        );
        line!(
            out,
            "per query           {:.0} features, {:.0} weights read",
            self.features_per_query,
            self.weights_per_query
        );
    }
}

/// A prediction for one query: the top intent (as a CLINC label) and its confidence.
struct Prediction {
    label: String,
    expected: String,
    confidence: f32,
}

/// Figures at one out-of-scope threshold (questions below it are declared out of scope).
#[derive(Debug, Clone, Copy, Default)]
struct AtThreshold {
    threshold: f32,
    in_scope_accuracy: f64,
    oos_recall: f64,
    oos_precision: f64,
}

pub fn clinc(
    file: &Path,
    split: Split,
    json: bool,
    min_oos_precision: f64,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let text = super::read_text(file)?;
    let data: Clinc = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a CLINC150-format file", file.display()))?;
    let text = clinc_file(&data.train);
    let loaded = started.elapsed();
    let set = intents::load_texts(Path::new("clinc"), [("clinc.toml", text)], &settings.limits)
        .map_err(|refused| invalid(refused, "the CLINC training split"))?
        .set;
    let validated = started.elapsed();
    let train_examples = data.train.len();
    let engine = Engine::build(set, &settings.matcher);
    let built = started.elapsed();

    anyhow::ensure!(
        !data.val.is_empty(),
        "{} has no val split to choose the threshold on",
        file.display()
    );
    let tuning = predict(&engine, data.val.iter().chain(&data.oos_val));
    let (chosen, rule) = choose_threshold(&tuning, min_oos_precision);
    let best_at_precision = recall_at_precision(&tuning, min_oos_precision, 1.0);
    let best_at_test_share =
        recall_at_precision(&tuning, min_oos_precision, test_share_weight(&tuning));
    let (queries, name) = match split {
        Split::Val => (
            data.val
                .iter()
                .chain(&data.oos_val)
                .cloned()
                .collect::<Vec<_>>(),
            "val",
        ),
        Split::Test => {
            anyhow::ensure!(
                !data.test.is_empty(),
                "{} has no test split",
                file.display()
            );
            (
                data.test.iter().chain(&data.oos_test).cloned().collect(),
                "test",
            )
        }
    };
    let predictions = predict(&engine, queries.iter());
    let evaluated = at_threshold(&predictions, chosen.threshold);
    let unthresholded = at_threshold(&predictions, f32::NEG_INFINITY);
    let speed = Speed::measure(&engine, &queries);
    let report = ClincReport {
        split: name,
        intents: engine.intents().len(),
        train_examples,
        in_scope_accuracy: evaluated.in_scope_accuracy,
        in_scope_accuracy_no_threshold: unthresholded.in_scope_accuracy,
        oos_recall: evaluated.oos_recall,
        oos_precision: evaluated.oos_precision,
        threshold: chosen.threshold,
        val_oos_recall_at_min_precision: best_at_precision,
        val_oos_recall_at_min_precision_test_share: best_at_test_share,
        threshold_rule: rule,
        build_ms: ms(built),
        load_ms: ms(loaded),
        validate_ms: ms(validated - loaded),
        compile_ms: ms(built - validated),
        speed,
    };
    emit_report(&report, json, |report, out| {
        line!(
            out,
            "CLINC150 {} ({} intents, {} training examples)",
            report.split,
            report.intents,
            report.train_examples
        );
        line!(
            out,
            "in-scope accuracy   {:.2}% ({:.2}% with no out-of-scope threshold)",
            100.0 * report.in_scope_accuracy,
            100.0 * report.in_scope_accuracy_no_threshold
        );
        line!(
            out,
            "out-of-scope        recall {:.2}%  precision {:.2}%",
            100.0 * report.oos_recall,
            100.0 * report.oos_precision
        );
        line!(
            out,
            "threshold           {:.3} ({})",
            report.threshold,
            report.threshold_rule
        );
        line!(
            out,
            "on val, best out-of-scope recall at precision >= {min_oos_precision:.2}: {:.0}% \
             ({:.0}% at the test split's out-of-scope share)",
            100.0 * report.val_oos_recall_at_min_precision,
            100.0 * report.val_oos_recall_at_min_precision_test_share
        );
        line!(
            out,
            "build               {:.0} ms (load {:.0}, validate {:.0}, compile {:.0})",
            report.build_ms,
            report.load_ms,
            report.validate_ms,
            report.compile_ms
        );
        report.speed.print(out);
    })
}

/// Turns CLINC's training pairs into an intent file: one intent per label, in label order.
fn clinc_file(train: &[(String, String)]) -> String {
    let mut by_label: std::collections::BTreeMap<&str, Vec<String>> = Default::default();
    for (text, label) in train {
        by_label
            .entry(label.as_str())
            .or_default()
            .push(text.clone());
    }
    synthetic::intent_file(by_label.iter().map(|(label, examples)| Written {
        id: format!("clinc.{label}"),
        title: (*label).to_owned(),
        answer: format!("(intent {label})"),
        examples,
    }))
}

/// Prints a refused set's diagnostics; the error to return.
fn invalid(refused: Refused, what: &str) -> anyhow::Error {
    for d in &refused.diagnostics {
        eprintln!("{d}");
    }
    anyhow::anyhow!("{what} does not form a valid intent set")
}

fn predict<'a>(
    engine: &Engine,
    queries: impl Iterator<Item = &'a (String, String)>,
) -> Vec<Prediction> {
    queries
        .map(|(text, expected)| {
            let (index, confidence) = engine.matcher().top(text);
            let label = index.map_or(OOS.to_owned(), |i| {
                engine
                    .intent_at(i)
                    .id
                    .trim_start_matches("clinc.")
                    .to_owned()
            });
            Prediction {
                label,
                expected: expected.clone(),
                confidence,
            }
        })
        .collect()
}

fn at_threshold(predictions: &[Prediction], threshold: f32) -> AtThreshold {
    at_threshold_weighted(predictions, threshold, 1.0)
}

/// How many times an out-of-scope question must count for `predictions` to have the CLINC
/// test split's out-of-scope share (1,000 per 4,500 in-scope).
fn test_share_weight(predictions: &[Prediction]) -> f64 {
    let oos = predictions.iter().filter(|p| p.expected == OOS).count();
    let in_scope = predictions.len() - oos;
    if oos == 0 || in_scope == 0 {
        return 1.0;
    }
    (1000.0 / 4500.0) / (oos as f64 / in_scope as f64)
}

/// The highest out-of-scope recall of any threshold whose precision, with each
/// out-of-scope question counted `oos_weight` times, is at least `min_precision`.
fn recall_at_precision(predictions: &[Prediction], min_precision: f64, oos_weight: f64) -> f64 {
    predictions
        .iter()
        .map(|p| at_threshold_weighted(predictions, p.confidence, oos_weight))
        .filter(|a| a.oos_precision >= min_precision)
        .map(|a| a.oos_recall)
        .fold(0.0, f64::max)
}

/// [`at_threshold`] with each out-of-scope question counted `oos_weight` times in the
/// precision (recall and accuracy are shares within one kind, so unaffected).
fn at_threshold_weighted(
    predictions: &[Prediction],
    threshold: f32,
    oos_weight: f64,
) -> AtThreshold {
    let (mut in_scope, mut in_right, mut oos, mut rejected, mut rejected_oos) = (0, 0, 0, 0, 0);
    for p in predictions {
        let reject = p.confidence < threshold;
        let is_oos = p.expected == OOS;
        if is_oos {
            oos += 1;
            rejected_oos += usize::from(reject);
        } else {
            in_scope += 1;
            in_right += usize::from(!reject && p.label == p.expected);
        }
        rejected += usize::from(reject);
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    AtThreshold {
        threshold,
        in_scope_accuracy: ratio(in_right, in_scope),
        oos_recall: ratio(rejected_oos, oos),
        oos_precision: if rejected == 0 {
            1.0
        } else {
            let true_hits = rejected_oos as f64 * oos_weight;
            true_hits / (true_hits + (rejected - rejected_oos) as f64)
        },
    }
}

/// The threshold with the highest out-of-scope recall whose precision is at least
/// `min_precision`; when no threshold reaches that precision, the one that maximizes
/// the mean of in-scope accuracy and out-of-scope recall.
fn choose_threshold(predictions: &[Prediction], min_precision: f64) -> (AtThreshold, String) {
    let mut thresholds: Vec<f32> = predictions.iter().map(|p| p.confidence).collect();
    thresholds.push(0.0);
    thresholds.sort_by(f32::total_cmp);
    thresholds.dedup();
    let all: Vec<AtThreshold> = thresholds
        .iter()
        .map(|&t| at_threshold(predictions, t))
        .collect();
    let feasible = all
        .iter()
        .filter(|a| a.oos_precision >= min_precision && a.oos_recall > 0.0)
        .max_by(|a, b| {
            (a.oos_recall, a.in_scope_accuracy)
                .partial_cmp(&(b.oos_recall, b.in_scope_accuracy))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    match feasible {
        Some(best) => (
            *best,
            format!("highest out-of-scope recall at precision >= {min_precision:.2} on val"),
        ),
        None => {
            let f1 = |a: &AtThreshold| {
                let sum = a.oos_precision + a.oos_recall;
                if sum > 0.0 {
                    2.0 * a.oos_precision * a.oos_recall / sum
                } else {
                    0.0
                }
            };
            let best = all
                .iter()
                .max_by(|a, b| f1(a).total_cmp(&f1(b)))
                .copied()
                .unwrap_or_default();
            (
                best,
                format!(
                    "no threshold reaches out-of-scope precision {min_precision:.2} on val; \
                     best out-of-scope F1 on val"
                ),
            )
        }
    }
}

#[derive(Debug, Serialize)]
struct ScaleReport {
    intents: usize,
    examples_per_intent: usize,
    build_ms: f64,
    /// Share of generated held-out questions answered with the intent they were made for.
    accuracy: f64,
    #[serde(flatten)]
    speed: Speed,
}

/// Generates `intents` x `examples` questions from a fixed pseudo-random vocabulary (see
/// [`SyntheticSet`]), loads and builds the engine and measures it on unseen questions
/// generated the same way.
pub fn scale(
    intents: usize,
    examples: usize,
    json: bool,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        intents >= 2 && examples >= 1,
        "need at least 2 intents and 1 example"
    );
    let mut set = SyntheticSet::new("generated", intents, examples);
    let queries: Vec<(String, String)> = (0..5000)
        .map(|n| {
            let i = n % intents;
            (set.question(i), set.id(i))
        })
        .collect();
    let started = Instant::now();
    let loaded = set
        // The sizes measured here go past any served set's limits on purpose.
        .load(&intents::Limits::UNBOUNDED)
        .map_err(|refused| invalid(refused, "the generated set"))?;
    let engine = Engine::build(loaded.set, &settings.matcher);
    let build_ms = ms(started.elapsed());
    let right = queries
        .iter()
        .filter(|(text, expected)| {
            let (index, _) = engine.matcher().top(text);
            index.is_some_and(|i| &engine.intent_at(i).id == expected)
        })
        .count();
    let report = ScaleReport {
        intents,
        examples_per_intent: examples,
        build_ms,
        accuracy: right as f64 / queries.len() as f64,
        speed: Speed::measure(&engine, &queries),
    };
    emit_report(&report, json, |report, out| {
        line!(
            out,
            "generated set       {} intents x {} examples",
            report.intents,
            report.examples_per_intent
        );
        line!(out, "build               {:.0} ms", report.build_ms);
        line!(
            out,
            "accuracy            {:.2}% on held-out generated questions",
            100.0 * report.accuracy
        );
        report.speed.print(out);
    })
}

/// Prints a benchmark's report: as JSON, or as the lines `text` writes.
fn emit_report<R: Serialize>(
    report: &R,
    json: bool,
    text: impl FnOnce(&R, &mut String),
) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    if json {
        line!(out, "{}", serde_json::to_string_pretty(report)?);
    } else {
        text(report, &mut out);
    }
    super::emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Peak resident memory of this process in MB (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(expected: &str, confidence: f32) -> Prediction {
        Prediction {
            label: "a".to_owned(),
            expected: expected.to_owned(),
            confidence,
        }
    }

    #[test]
    fn out_of_scope_precision_can_be_taken_at_the_test_split_share() {
        // 31 in-scope questions (one unsure) and 2 out-of-scope ones.
        let mut predictions: Vec<Prediction> = (0..30).map(|_| prediction("a", 0.9)).collect();
        predictions.push(prediction("a", 0.2));
        predictions.push(prediction(OOS, 0.1));
        predictions.push(prediction(OOS, 0.3));
        let weight = test_share_weight(&predictions);
        assert!((weight - (1000.0 / 4500.0) / (2.0 / 31.0)).abs() < 1e-9);
        // Rejecting all three unsure questions finds both out-of-scope ones at precision
        // 2/3, or 0.87 once they count at the test split's share.
        let all = at_threshold_weighted(&predictions, 0.9, weight);
        assert_eq!(all.oos_recall, 1.0);
        assert!((all.oos_precision - 2.0 * weight / (2.0 * weight + 1.0)).abs() < 1e-9);
        assert!((at_threshold(&predictions, 0.9).oos_precision - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(recall_at_precision(&predictions, 0.85, 1.0), 0.5);
        assert_eq!(recall_at_precision(&predictions, 0.85, weight), 1.0);
        assert_eq!(recall_at_precision(&predictions, 0.99, weight), 0.5);
    }
}
