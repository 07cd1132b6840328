//! `careerbot report`: the real binary over a database written with the library's `Store`.

use std::path::Path;

use careerbot::admin::store::{
    now_ms, sidecar, Database, QuestionRecord, Record, Source, Store, VoteRecord,
};
use serde_json::json;

use crate::support::{careerbot, set_mode};

const HOUR: i64 = 3_600_000;

fn question(
    id: u64,
    at_ms: i64,
    text: &str,
    decision: &str,
    intent: &str,
    confidence: f32,
) -> Record {
    Record::Question(QuestionRecord {
        id,
        at_ms,
        guild: Some(1_234_567_890_123_456_789),
        channel: Some(42),
        source: Source::Mention,
        text: text.to_owned(),
        decision: decision.parse().unwrap(),
        intent: Some(intent.to_owned()),
        confidence,
        candidates: vec![intent.to_owned(), "career_switch".to_owned()],
        engine_version: "0.1.0+test".to_owned(),
        intent_version: None,
    })
}

fn vote(question: u64, at_ms: i64, intent: &str, up: bool) -> Record {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    Record::Vote(VoteRecord {
        id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        at_ms,
        question,
        intent: intent.to_owned(),
        up,
    })
}

/// A settings file whose `[admin] database` is `database`.
fn config(dir: &Path, database: &Path) -> std::path::PathBuf {
    let file = dir.join("careerbot.toml");
    let value = toml_edit::Value::from(database.display().to_string());
    std::fs::write(&file, format!("[admin]\ndatabase = {value}\n")).unwrap();
    file
}

#[test]
fn report_reads_counts_rates_votes_and_groups_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("data/careerbot.sqlite3");
    let now = now_ms();
    let mut store = Store::open(&Database::file(&database)).unwrap();
    store
        .write(&[
            question(
                1,
                now - HOUR,
                "how much does a junior earn",
                "answer",
                "salary",
                0.9,
            ),
            question(
                2,
                now - 2 * HOUR,
                "what is the pay",
                "answer",
                "salary",
                0.95,
            ),
            question(
                3,
                now - 3 * HOUR,
                "do i need a degree",
                "answer",
                "degree",
                0.3,
            ),
            question(
                4,
                now - 4 * HOUR,
                "degree or bootcamp",
                "clarify",
                "degree",
                0.6,
            ),
            question(
                5,
                now - 5 * HOUR,
                "how do i cook pasta",
                "fallback",
                "salary",
                0.1,
            ),
            question(
                6,
                now - 6 * HOUR,
                "how do i cook pastas",
                "fallback",
                "salary",
                0.05,
            ),
            question(7, now - 7 * HOUR, "lol nice", "unconfident", "salary", 0.2),
            // Older than the period: not counted.
            question(8, now - 10 * 24 * HOUR, "old", "answer", "degree", 0.9),
            vote(1, now - HOUR, "salary", true),
            vote(2, now - 2 * HOUR, "salary", true),
            vote(2, now - 2 * HOUR, "salary", false),
            vote(3, now - 3 * HOUR, "degree", false),
            vote(8, now - 10 * 24 * HOUR, "degree", true),
        ])
        .unwrap();
    drop(store);
    let settings = config(dir.path(), &database);

    let out = careerbot(["report", "--since", "7d", "--json", "--config"])
        .with_args([&settings])
        .run();
    out.expect_code(0);
    let report = out.json();
    assert_eq!(report["questions"], 7, "{report:#}");
    let per_day = report["per_day"].as_array().unwrap();
    let total = |key: &str| {
        per_day
            .iter()
            .map(|d| d[key].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        [
            total("questions"),
            total("answers"),
            total("clarifications"),
            total("fallbacks")
        ],
        [7, 3, 1, 2]
    );
    assert!(per_day
        .iter()
        .all(|d| d["day"].as_str().is_some_and(|s| s.len() == 10)));
    let rate = |key: &str| report["rates"][key].as_f64().unwrap();
    assert!((rate("answer") - 0.5).abs() < 1e-9, "{report:#}");
    assert!((rate("clarify") - 1.0 / 6.0).abs() < 1e-9, "{report:#}");
    assert!((rate("fallback") - 2.0 / 6.0).abs() < 1e-9, "{report:#}");
    assert_eq!(
        report["top_intents"],
        json!([{"intent": "salary", "count": 2}, {"intent": "degree", "count": 1}])
    );
    let helpfulness = report["helpfulness"].as_array().unwrap();
    assert_eq!(helpfulness.len(), 2, "{report:#}");
    assert_eq!(
        (
            &helpfulness[0]["intent"],
            &helpfulness[0]["up"],
            &helpfulness[0]["down"]
        ),
        (&json!("salary"), &json!(2), &json!(1))
    );
    assert!((helpfulness[0]["helpful"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(
        (&helpfulness[1]["intent"], &helpfulness[1]["helpful"]),
        (&json!("degree"), &json!(0.0))
    );

    // The two pasta questions are one group; the weak answer about degrees another; the
    // clarification above the threshold and the silent chatter are not unanswered.
    let unanswered = report["unanswered"].as_array().unwrap();
    let groups: Vec<(&str, u64)> = unanswered
        .iter()
        .map(|g| (g["text"].as_str().unwrap(), g["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        groups,
        [("how do i cook pasta", 2), ("do i need a degree", 1)],
        "{report:#}"
    );
    assert_eq!(unanswered[0]["ids"], json!([5, 6]));
    assert_eq!(unanswered[0]["last_at_ms"], json!(now - 5 * HOUR));
    assert_eq!(
        unanswered[0]["candidates"],
        json!([{"intent": "career_switch", "count": 2}, {"intent": "salary", "count": 2}])
    );

    // Privacy: nothing about who asked is in the report.
    assert!(!out.stdout.contains("1234567890123456789"));

    let text = careerbot(["report", "--config"])
        .with_args([&settings])
        .run();
    text.expect_code(0);
    for expected in [
        "7 questions: 50.0% answered",
        "salary",
        "how do i cook pasta",
    ] {
        assert!(
            text.stdout.contains(expected),
            "missing {expected:?}\n{text}"
        );
    }

    // A shorter period leaves the older questions out.
    let recent = careerbot(["report", "--since", "150m", "--json", "--config"])
        .with_args([&settings])
        .run();
    recent.expect_code(0);
    assert_eq!(recent.json()["questions"], 2);
    let all = careerbot(["report", "--since", "all", "--json", "--config"])
        .with_args([&settings])
        .run();
    all.expect_code(0);
    assert_eq!(all.json()["questions"], 8);
}

#[test]
fn report_refuses_a_bad_period_and_a_missing_database() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere/careerbot.sqlite3");
    let settings = config(dir.path(), &missing);

    for since in ["7w", "seven", "1.5d", ""] {
        let out = careerbot(["report", "--since", since, "--config"])
            .with_args([&settings])
            .run();
        out.expect_code(1);
        assert!(out.stderr.contains("invalid --since"), "{since:?}\n{out}");
        assert!(out.stdout.is_empty(), "{out}");
    }

    let out = careerbot(["report", "--config"])
        .with_args([&settings])
        .run();
    out.expect_code(1);
    assert!(out.stderr.contains("no database at"), "{out}");
    assert!(
        out.stderr.contains(&missing.display().to_string()),
        "the error names the path\n{out}"
    );
    assert!(!missing.exists(), "a report must not create the database");
    assert!(!missing.parent().unwrap().exists());
}

#[test]
fn report_leaves_out_and_counts_a_row_whose_text_is_not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("careerbot.sqlite3");
    let now = now_ms();
    Store::open(&Database::file(&database))
        .unwrap()
        .write(&[
            question(
                1,
                now - HOUR,
                "how do i cook pasta",
                "fallback",
                "salary",
                0.1,
            ),
            question(2, now - HOUR, "written by hand", "fallback", "salary", 0.1),
        ])
        .unwrap();
    rusqlite::Connection::open(&database)
        .unwrap()
        .execute_batch("UPDATE questions SET text = CAST(x'68c328ff' AS TEXT) WHERE id = 2")
        .unwrap();
    let settings = config(dir.path(), &database);

    let out = careerbot(["report", "--json", "--config"])
        .with_args([&settings])
        .run();
    out.expect_code(0);
    let report = out.json();
    assert_eq!(report["skipped_rows"], 1, "{report:#}");
    assert_eq!(report["skipped_questions"], json!([2]));
    assert_eq!(report["questions"], 1);
    assert_eq!(report["unanswered"][0]["ids"], json!([1]));

    let text = careerbot(["report", "--config"])
        .with_args([&settings])
        .run();
    text.expect_code(0);
    assert!(
        text.stdout.contains(
            "1 stored row left out of the figures, as its text is not valid UTF-8 (question 2)"
        ),
        "{text}"
    );
}

/// Gives a folder back its write permission when dropped, so that it can be cleaned up
/// even after a failed assertion.
struct Writable<'a>(&'a Path);

impl Drop for Writable<'_> {
    fn drop(&mut self) {
        set_mode(self.0, 0o755);
    }
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn report_reads_a_database_in_a_read_only_folder() {
    let dir = tempfile::tempdir().unwrap();
    set_mode(dir.path(), 0o755);
    let data = dir.path().join("data");
    let database = data.join("careerbot.sqlite3");
    let now = now_ms();
    Store::open(&Database::file(&database))
        .unwrap()
        .write(&[question(
            1,
            now - HOUR,
            "how do i cook pasta",
            "fallback",
            "salary",
            0.1,
        )])
        .unwrap();
    // Closed, SQLite has folded the WAL into the file and removed the -wal and -shm.
    assert_eq!(files_in(&data), ["careerbot.sqlite3"]);
    let settings = config(dir.path(), &database);
    let report = || {
        careerbot(["report", "--json", "--config"])
            .with_args([&settings])
            .unprivileged()
            .run()
    };
    let before = std::fs::read(&database).unwrap();
    set_mode(&database, 0o444);
    set_mode(&data, 0o555);
    let writable = Writable(&data);

    // The bot is stopped: the database file is the whole database.
    let out = report();
    out.expect_code(0);
    assert_eq!(out.json()["questions"], 1, "{out}");
    assert_eq!(
        files_in(&data),
        ["careerbot.sqlite3"],
        "the report wrote a file"
    );
    assert!(
        std::fs::read(&database).unwrap() == before,
        "the database changed"
    );

    // The bot is running (as another user): recent rows are still in its -wal, which the
    // report reads with the bot's -shm.
    drop(writable);
    set_mode(&database, 0o644);
    let mut bot = Store::open(&Database::file(&database)).unwrap();
    bot.write(&[question(
        2,
        now - HOUR,
        "how do i cook rice",
        "fallback",
        "salary",
        0.1,
    )])
    .unwrap();
    assert!(sidecar(&database, "-wal").exists() && sidecar(&database, "-shm").exists());
    set_mode(&data, 0o555);
    let writable = Writable(&data);
    let out = report();
    out.expect_code(0);
    assert_eq!(out.json()["questions"], 2, "{out}");

    // A -wal without its -shm (copied, say) cannot be read from a read-only folder: the
    // error says why and what to do.
    let copy = dir.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    let copied = copy.join("careerbot.sqlite3");
    std::fs::copy(&database, &copied).unwrap();
    std::fs::copy(sidecar(&database, "-wal"), sidecar(&copied, "-wal")).unwrap();
    drop(writable);
    drop(bot);
    set_mode(&copy, 0o555);
    let _writable = Writable(&copy);
    let out = careerbot(["report", "--config"])
        .with_args([&config(dir.path(), &copied)])
        .unprivileged()
        .run();
    out.expect_code(1);
    assert!(
        out.stderr.contains("folder is read-only") && out.stderr.contains("stop the bot"),
        "{out}"
    );
    assert_eq!(
        files_in(&copy),
        ["careerbot.sqlite3", "careerbot.sqlite3-wal"]
    );
}
