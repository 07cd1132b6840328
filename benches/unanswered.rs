//! How long grouping the unanswered queue takes: 10,000 near-identical questions (one
//! question asked over and over with a different reference number), 10,000 look-alikes
//! (one question ending in a different arrangement of the same 20 letters: every pair
//! passes the cheap bounds, and most are just too far apart to group, the worst case for
//! grouping) and 10,000 all-different ones, through `unanswered::group` alone and through
//! the whole `report::build` over a database holding them. Add `--quadratic` to also time
//! the look-alikes with an unlimited budget (every text compared with every group).
//!
//! `cargo bench --bench unanswered` (add `-- --json` for one JSON object). Prints; asserts
//! nothing about time.

use std::time::{Duration, Instant};

use careerbot::admin::report;
use careerbot::admin::store::{Database, Outcome, QuestionRecord, Record, Servers, Source, Store};
use careerbot::admin::unanswered;
use serde_json::json;

const QUESTIONS: usize = 10_000;
const SIMILARITY: f64 = 0.85;
const RUNS: usize = 3;

/// A deterministic xorshift generator: the same questions on every run.
struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn question(id: usize, text: String) -> QuestionRecord {
    QuestionRecord {
        id: id as u64,
        at_ms: 1_700_000_000_000 + id as i64,
        guild: None,
        channel: Some(1),
        source: Source::Mention,
        text,
        decision: Outcome::Fallback,
        intent: Some("salary".to_owned()),
        confidence: 0.1,
        candidates: vec!["salary".to_owned()],
        engine_version: "bench".to_owned(),
        intent_version: None,
    }
}

/// One question asked `n` times, each with a reference of its own (12 random letters and
/// digits): near-identical texts, most too far apart to group, all passing the cheap
/// length and letter-count checks.
fn near_identical(n: usize) -> Vec<QuestionRecord> {
    let base = "how much does a junior backend engineer earn in berlin, ref";
    let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyz0123456789".chars().collect();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|id| {
            let tag: String = (0..12)
                .map(|_| alphabet[random.below(alphabet.len())])
                .collect();
            question(id, format!("{base} {tag}"))
        })
        .collect()
}

/// One question asked `n` times, each ending in its own arrangement of the letters a to t.
fn look_alikes(n: usize) -> Vec<QuestionRecord> {
    let base = "how much does a junior backend engineer earn in berlin, ref";
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|id| {
            let mut tail: Vec<char> = ('a'..='t').collect();
            for i in (1..tail.len()).rev() {
                tail.swap(i, random.below(i + 1));
            }
            let tail: String = tail.into_iter().collect();
            question(id, format!("{base} {tail}"))
        })
        .collect()
}

/// `n` unrelated questions: random words of a 2,000-word vocabulary.
fn all_different(n: usize) -> Vec<QuestionRecord> {
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    let vocabulary: Vec<String> = (0..2_000)
        .map(|_| {
            (0..3 + random.below(7))
                .map(|_| char::from(b'a' + random.below(26) as u8))
                .collect()
        })
        .collect();
    (0..n)
        .map(|id| {
            let words: Vec<&str> = (0..4 + random.below(8))
                .map(|_| vocabulary[random.below(vocabulary.len())].as_str())
                .collect();
            question(id, words.join(" "))
        })
        .collect()
}

/// (median, min, max) seconds of `RUNS` runs of `f`, and what the last run returned.
fn timed<T>(mut f: impl FnMut() -> T) -> ((f64, f64, f64), T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    times.sort();
    let s = |d: Duration| d.as_secs_f64();
    (
        (s(times[RUNS / 2]), s(times[0]), s(times[RUNS - 1])),
        last.expect("at least one run"),
    )
}

/// Grouping alone, then the whole report over a database of `questions`.
fn measure(questions: &[QuestionRecord], budget: unanswered::Budget) -> serde_json::Value {
    let (group, grouping) = timed(|| unanswered::group_within(questions, SIMILARITY, budget));
    let groups = &grouping.groups;
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&Database::file(dir.path().join("bench.sqlite3"))).unwrap();
    let records: Vec<Record> = questions.iter().cloned().map(Record::Question).collect();
    store.write(&records).unwrap();
    let (report, _) =
        timed(|| report::build(&store, 0, i64::MAX, 0.5, SIMILARITY, &Servers::All).unwrap());
    json!({
        "questions": questions.len(),
        "groups": groups.len(),
        "biggest_group": groups.first().map_or(0, |g| g.count),
        "cut_short": grouping.cut_short,
        "considered": grouping.considered,
        "cells": grouping.cells,
        "group_s": {"median": group.0, "min": group.1, "max": group.2},
        "report_s": {"median": report.0, "min": report.1, "max": report.2},
    })
}

fn main() {
    let json_out = std::env::args().any(|a| a == "--json");
    let quadratic = std::env::args().any(|a| a == "--quadratic");
    let budget = unanswered::Budget::DEFAULT;
    let mut shapes = vec![
        (
            "near_identical",
            measure(&near_identical(QUESTIONS), budget),
        ),
        ("look_alike", measure(&look_alikes(QUESTIONS), budget)),
        ("all_different", measure(&all_different(QUESTIONS), budget)),
    ];
    if quadratic {
        let unlimited = unanswered::Budget {
            considered: usize::MAX,
            cells: usize::MAX,
        };
        shapes.push((
            "look_alike_unlimited",
            measure(&look_alikes(QUESTIONS), unlimited),
        ));
    }
    if json_out {
        let all: serde_json::Map<String, serde_json::Value> = shapes
            .into_iter()
            .map(|(name, figures)| (name.to_owned(), figures))
            .collect();
        println!("{}", serde_json::Value::Object(all));
        return;
    }
    for (key, figures) in &shapes {
        let name = key
            .replace("_unlimited", ", unlimited budget,")
            .replace('_', "-");
        println!(
            "{} {name} unanswered questions ({RUNS} runs, similarity {SIMILARITY}): \
             grouped into {} groups (biggest {}, {} texts cut short, {} groups checked, \
             {} cells) in median {:.3} s (min {:.3}, max {:.3}); \
             whole report median {:.3} s (min {:.3}, max {:.3})",
            figures["questions"],
            figures["groups"],
            figures["biggest_group"],
            figures["cut_short"],
            figures["considered"],
            figures["cells"],
            figures["group_s"]["median"].as_f64().unwrap(),
            figures["group_s"]["min"].as_f64().unwrap(),
            figures["group_s"]["max"].as_f64().unwrap(),
            figures["report_s"]["median"].as_f64().unwrap(),
            figures["report_s"]["min"].as_f64().unwrap(),
            figures["report_s"]["max"].as_f64().unwrap(),
        );
    }
}
