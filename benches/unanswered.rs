//! How long grouping the unanswered queue takes: 10,000 near-identical questions (one
//! question asked over and over with a different reference number) and 10,000
//! all-different ones, through `unanswered::group` alone and
//! through the whole `report::build` over a database holding them.
//!
//! `cargo bench --bench unanswered` (add `-- --json` for one JSON object). Prints; asserts
//! nothing about time.

use std::time::{Duration, Instant};

use careerbot::admin::report;
use careerbot::admin::store::{Outcome, QuestionRecord, Record, Source, Store};
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
fn measure(questions: &[QuestionRecord]) -> serde_json::Value {
    let (group, groups) = timed(|| unanswered::group(questions, SIMILARITY));
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("bench.sqlite3")).unwrap();
    let records: Vec<Record> = questions.iter().cloned().map(Record::Question).collect();
    store.write(&records).unwrap();
    let (report, _) = timed(|| report::build(&store, 0, i64::MAX, 0.5, SIMILARITY).unwrap());
    json!({
        "questions": questions.len(),
        "groups": groups.len(),
        "biggest_group": groups.first().map_or(0, |g| g.count),
        "group_s": {"median": group.0, "min": group.1, "max": group.2},
        "report_s": {"median": report.0, "min": report.1, "max": report.2},
    })
}

fn main() {
    let json_out = std::env::args().any(|a| a == "--json");
    let near = measure(&near_identical(QUESTIONS));
    let different = measure(&all_different(QUESTIONS));
    if json_out {
        println!(
            "{}",
            json!({"near_identical": near, "all_different": different})
        );
        return;
    }
    for (name, figures) in [("near-identical", &near), ("all-different", &different)] {
        println!(
            "{} {name} unanswered questions ({RUNS} runs, similarity {SIMILARITY}): \
             grouped into {} groups (biggest {}) in median {:.3} s (min {:.3}, max {:.3}); \
             whole report median {:.3} s (min {:.3}, max {:.3})",
            figures["questions"],
            figures["groups"],
            figures["biggest_group"],
            figures["group_s"]["median"].as_f64().unwrap(),
            figures["group_s"]["min"].as_f64().unwrap(),
            figures["group_s"]["max"].as_f64().unwrap(),
            figures["report_s"]["median"].as_f64().unwrap(),
            figures["report_s"]["min"].as_f64().unwrap(),
            figures["report_s"]["max"].as_f64().unwrap(),
        );
    }
}
