//! `careerbot eval`: the evaluation report of `engine::evaluation`, as text or JSON.

use std::path::Path;
use std::process::ExitCode;

use crate::engine::evaluation::{evaluate, read_bounded, read_cases, Report, FALLBACK};
use crate::engine::relevance;
use crate::engine::Engine;

/// `careerbot eval CASES [--json] [--min-accuracy F]`.
pub fn run(
    engine: &Engine,
    path: &Path,
    json: bool,
    min_accuracy: Option<f64>,
) -> anyhow::Result<ExitCode> {
    let cases = read_cases(path)?;
    anyhow::ensure!(!cases.is_empty(), "{} holds no cases", path.display());
    let report = evaluate(engine, &cases)?;
    if json {
        super::emit(&format!("{}\n", serde_json::to_string_pretty(&report)?))?;
    } else {
        super::emit(&format_report(&report))?;
    }
    match min_accuracy {
        Some(min) if report.accuracy < min => {
            eprintln!(
                "accuracy {:.4} is below the required {min:.4}",
                report.accuracy
            );
            Ok(ExitCode::FAILURE)
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn format_report(r: &Report) -> String {
    let mut out = String::new();
    line!(out, "cases               {}", r.cases);
    line!(out, "accuracy            {:.2}%", 100.0 * r.accuracy);
    line!(
        out,
        "in-scope accuracy   {:.2}%",
        100.0 * r.in_scope_accuracy
    );
    line!(
        out,
        "out-of-scope        precision {:.2}%  recall {:.2}%",
        100.0 * r.oos_precision,
        100.0 * r.oos_recall
    );
    line!(out, "clarify rate        {:.2}%", 100.0 * r.clarify_rate);
    line!(
        out,
        "declined            {} ({:.2}%): {} out of scope, {} in scope; out of scope fell back {}",
        r.declines,
        100.0 * r.decline_rate,
        r.oos_declined,
        r.in_scope_declined,
        r.oos_fell_back
    );
    line!(out, "not English         {}", r.not_english);
    line!(
        out,
        "latency             p50 {:.1} µs  p99 {:.1} µs",
        r.latency_us.p50,
        r.latency_us.p99
    );
    line!(
        out,
        "throughput          {:.0} questions/s (one thread)",
        r.queries_per_second
    );
    line!(
        out,
        "\nper intent           precision  recall     f1  support"
    );
    for (id, s) in &r.per_intent {
        line!(
            out,
            "  {id:<28} {:>6.2} {:>7.2} {:>6.2} {:>8}",
            s.precision,
            s.recall,
            s.f1,
            s.support
        );
    }
    if !r.confusions.is_empty() {
        line!(out, "\ntop confusions (expected -> got)");
        for c in &r.confusions {
            line!(out, "  {:>3} x {} -> {}", c.count, c.expected, c.predicted);
        }
    }
    if !r.failures.is_empty() {
        line!(out, "\nfailures");
        for f in &r.failures {
            line!(
                out,
                "  {:?}: expected {}, got {:?} {} ({:.2})",
                f.text,
                f.expected.as_deref().unwrap_or(FALLBACK),
                f.decision,
                f.predicted.as_deref().unwrap_or("-"),
                f.confidence
            );
        }
    }
    out
}

/// Largest relevance table `courses --relevance` reads.
const MAX_TABLE_BYTES: u64 = 16 << 20;

/// `careerbot courses --relevance TABLE [--json]`: precision at 1 and 3 of the course search
/// on a relevance table, the queries it missed and any fragment match. Exits 1 when a
/// result matched a fragment of a word or the table names a course the catalog lacks.
pub fn course_relevance(engine: &Engine, path: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let text = read_bounded(path, MAX_TABLE_BYTES, "a relevance table")?;
    let table = relevance::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    anyhow::ensure!(!table.is_empty(), "{} holds no queries", path.display());
    let r = relevance::measure(engine.catalog(), &table);
    if json {
        super::emit(&format!("{}\n", serde_json::to_string_pretty(&r)?))?;
    } else {
        let mut out = String::new();
        line!(out, "queries             {}", r.queries);
        line!(out, "precision at 1      {:.2}%", 100.0 * r.precision_at_1);
        line!(out, "precision at 3      {:.2}%", 100.0 * r.precision_at_3);
        line!(out, "filled at 3         {:.2}%", 100.0 * r.filled_at_3);
        line!(out, "fragment matches    {}", r.fragments.len());
        for f in &r.fragments {
            line!(out, "  {:?}: {} on {:?}", f.query, f.course, f.word);
        }
        for id in &r.unknown_ids {
            line!(out, "unknown course id   {id}");
        }
        if !r.misses.is_empty() {
            line!(out, "missed:");
        }
        for m in &r.misses {
            line!(
                out,
                "  {:?}: top 3 {:?} (best {:?}; at 3 {:.2})",
                m.query,
                m.top3,
                m.best,
                m.at_3
            );
        }
        super::emit(&out)?;
    }
    let clean = r.fragments.is_empty() && r.unknown_ids.is_empty();
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
