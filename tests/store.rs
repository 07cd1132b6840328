//! The PostgreSQL store through the real binary: `careerbot store migrate` from an SQLite
//! file, and `careerbot report` reading the copy, against the local PostgreSQL server.

use careerbot::admin::audit::AuditEntry;
use careerbot::admin::store::{
    now_ms, Database, QuestionRecord, Record, Source, Store, VoteRecord,
};
use serde_json::{json, Value};

use crate::support::careerbot;
use crate::support::postgres::Schema;

const HOUR: i64 = 3_600_000;

pub(crate) fn question(id: u64, at_ms: i64, text: &str, decision: &str, confidence: f32) -> Record {
    Record::Question(QuestionRecord {
        id,
        at_ms,
        guild: Some(1_234_567_890_123_456_789),
        channel: Some(42),
        source: Source::Mention,
        text: text.to_owned(),
        decision: decision.parse().unwrap(),
        intent: Some("salary".to_owned()),
        confidence,
        candidates: vec!["salary".to_owned(), "degree".to_owned()],
        engine_version: "0.1.0+test".to_owned(),
        intent_version: None,
    })
}

fn vote(id: u64, question: u64, at_ms: i64, up: bool) -> Record {
    Record::Vote(VoteRecord {
        id,
        at_ms,
        question,
        intent: "salary".to_owned(),
        up,
    })
}

fn migrate(from: &std::path::Path, to: &str) -> Value {
    let out = careerbot(["store", "migrate", "--json", "--from"])
        .with_args([from.as_os_str()])
        .with_args(["--to", to])
        .run();
    out.expect_code(0);
    out.json()
}

/// `careerbot report --since all --json` over `database`.
fn report(dir: &std::path::Path, database: &str) -> Value {
    let file = dir.join(format!("careerbot-{}.toml", now_ms()));
    let value = toml_edit::Value::from(database);
    std::fs::write(&file, format!("[admin]\ndatabase = {value}\n")).unwrap();
    let out = careerbot(["report", "--since", "all", "--json", "--config"])
        .with_args([&file])
        .run();
    out.expect_code(0);
    out.json()
}

#[test]
fn store_migrate_copies_an_sqlite_file_into_postgresql_once_and_report_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("careerbot.sqlite3");
    let schema = Schema::new();
    let now = now_ms();
    let mut sqlite = Store::open(&Database::file(&file)).unwrap();
    sqlite
        .write(&[
            question(1, now - HOUR, "how much does a junior earn", "answer", 0.9),
            question(2, now - 2 * HOUR, "how do i cook pasta", "fallback", 0.1),
            question(3, now - 3 * HOUR, "how do i cook pastas", "fallback", 0.1),
            question(4, now - 4 * HOUR, "which degree", "clarify", 0.3),
            vote(10, 1, now - HOUR, true),
            vote(11, 1, now - HOUR, false),
        ])
        .unwrap();
    // An admin already filed one of them: the copy keeps it out of the queue.
    sqlite.resolve(&[4], "degree", now).unwrap();
    // A server's own settings come along.
    sqlite
        .edit_guild_settings(77, now, |s| {
            s.answer_channels = Some(vec![5, 6]);
            s.channel_min_confidence = Some(0.5);
        })
        .unwrap();
    // The audit log of admins' changes comes along, each entry once.
    let change = AuditEntry::discord(
        "alice",
        1_234,
        Some(77),
        "settings",
        "add answer channel 5".to_owned(),
        "done".to_owned(),
    );
    sqlite.record_audit(&change).unwrap();
    // A row another program wrote with a text that is not UTF-8 is left out, and said so.
    sqlite
        .write(&[question(6, now - 6 * HOUR, "broken", "answer", 0.9)])
        .unwrap();
    drop(sqlite);
    rusqlite::Connection::open(&file)
        .unwrap()
        .execute_batch("UPDATE questions SET text = CAST(x'6361c3fe28' AS TEXT) WHERE id = 6")
        .unwrap();
    let mut sqlite = Store::open(&Database::file(&file)).unwrap();

    let first = migrate(&file, &schema.url());
    assert_eq!(
        first,
        json!({
            "questions": {"read": 4, "copied": 4, "already_there": 0},
            "votes": {"read": 2, "copied": 2, "already_there": 0},
            "guild_settings": {"read": 1, "copied": 1, "already_there": 0},
            "audit": {"read": 1, "copied": 1, "already_there": 0},
            "resolutions": 1,
            "skipped_rows": 1,
            "skipped_questions": [6]
        })
    );
    let again = migrate(&file, &schema.url());
    assert_eq!(
        again,
        json!({
            "questions": {"read": 4, "copied": 0, "already_there": 4},
            "votes": {"read": 2, "copied": 0, "already_there": 2},
            "guild_settings": {"read": 1, "copied": 0, "already_there": 1},
            "audit": {"read": 1, "copied": 0, "already_there": 1},
            "resolutions": 0,
            "skipped_rows": 1,
            "skipped_questions": [6]
        })
    );
    // What the bot stored since is copied on the next run, and only that.
    sqlite
        .write(&[
            question(5, now - 5 * HOUR, "is rust worth it", "answer", 0.8),
            vote(12, 5, now - HOUR, true),
        ])
        .unwrap();
    let third = migrate(&file, &schema.url());
    assert_eq!(third["questions"]["copied"], 1, "{third:#}");
    assert_eq!(third["votes"]["copied"], 1, "{third:#}");
    assert_eq!(schema.count("SELECT COUNT(*) FROM questions"), 5);
    assert_eq!(schema.count("SELECT COUNT(*) FROM votes"), 3);
    assert_eq!(
        schema.count("SELECT COUNT(*) FROM audit_log WHERE admin_id = 1234 AND guild = 77"),
        1
    );
    assert_eq!(
        schema.count("SELECT COUNT(*) FROM questions WHERE resolved = 'degree'"),
        1
    );
    assert_eq!(
        schema.count(
            "SELECT COUNT(*) FROM guild_settings WHERE guild = 77 \
             AND answer_channels = '5,6' AND channel_min_confidence = 0.5"
        ),
        1
    );

    // The report over the copy is the report over the file.
    let from_file = report(dir.path(), file.to_str().unwrap());
    let from_postgres = report(dir.path(), &schema.url());
    for key in [
        "questions",
        "per_day",
        "rates",
        "top_intents",
        "helpfulness",
        "unanswered",
    ] {
        assert_eq!(from_file[key], from_postgres[key], "{key}");
    }
    assert_eq!(from_postgres["questions"], 5);
    let unanswered = from_postgres["unanswered"].as_array().unwrap();
    assert_eq!(unanswered.len(), 1, "{unanswered:#?}");
    assert_eq!(unanswered[0]["count"], 2);
}

#[test]
fn store_migrate_text_output_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("careerbot.sqlite3");
    let schema = Schema::new();
    Store::open(&Database::file(&file))
        .unwrap()
        .write(&[question(1, now_ms(), "q", "answer", 0.9)])
        .unwrap();
    let out = careerbot(["store", "migrate", "--from"])
        .with_args([file.as_os_str()])
        .with_args(["--to", &schema.url()])
        .run();
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("questions       1 read, 1 copied, 0 already there")
            && out
                .stdout
                .contains("votes           0 read, 0 copied, 0 already there")
            && out
                .stdout
                .contains("server settings 0 read, 0 copied, 0 already there")
            && out
                .stdout
                .contains("audit entries   0 read, 0 copied, 0 already there"),
        "{}",
        out.stdout
    );
    // The password never shows.
    assert!(!out.stdout.contains("secret"), "{}", out.stdout);

    for (args, expected) in [
        (
            vec![
                "--from",
                file.to_str().unwrap(),
                "--to",
                "mysql://localhost/x",
            ],
            "a mysql:// URL is not a database careerbot can use",
        ),
        (
            vec![
                "--from",
                file.to_str().unwrap(),
                "--to",
                file.to_str().unwrap(),
            ],
            "are the same database",
        ),
        (
            vec!["--from", "postgres://", "--to", file.to_str().unwrap()],
            "--from: the PostgreSQL URL names no host",
        ),
        (
            vec![
                "--from",
                file.to_str().unwrap(),
                "--to",
                "postgres://bot:hunter2@db",
            ],
            "--to: the PostgreSQL URL names no database",
        ),
    ] {
        let out = careerbot(["store", "migrate"]).with_args(&args).run();
        assert_ne!(out.code, Some(0), "{args:?}");
        assert!(out.stderr.contains(expected), "{args:?}: {}", out.stderr);
        assert!(!out.stderr.contains("hunter2"), "{args:?}: {}", out.stderr);
    }
    // A source that does not exist is not created.
    let missing = dir.path().join("missing.sqlite3");
    let out = careerbot(["store", "migrate", "--from"])
        .with_args([missing.as_os_str()])
        .with_args(["--to", &schema.url()])
        .run();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("no database at"), "{}", out.stderr);
    assert!(!missing.exists());
    // A server that refuses: one clear line, and the file is left as it was.
    let out = careerbot(["store", "migrate", "--from"])
        .with_args([file.as_os_str()])
        .with_args(["--to", "postgres://careerbot:secret@127.0.0.1:9/test"])
        .run();
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("cannot connect to postgres://careerbot:****@127.0.0.1:9/test")
            && !out.stderr.contains("secret"),
        "{}",
        out.stderr
    );
}

/// A settings file storing into `schema`, and `extra` settings.
fn config_for(dir: &std::path::Path, url: &str, extra: &str) -> std::path::PathBuf {
    let file = dir.join("careerbot.toml");
    let value = toml_edit::Value::from(url);
    std::fs::write(&file, format!("[admin]\ndatabase = {value}\n{extra}")).unwrap();
    file
}

fn publish(
    config: &std::path::Path,
    intents: &std::path::Path,
    args: &[&str],
) -> crate::support::Output {
    careerbot(["publish", "--config"])
        .with_args([
            config.as_os_str(),
            "--intents".as_ref(),
            intents.as_os_str(),
        ])
        .with_args(args)
        .run()
}

#[test]
fn publish_checks_a_directory_like_a_reload_numbers_versions_and_rolls_back() {
    let dir = tempfile::tempdir().unwrap();
    let intents = dir.path().join("intents");
    std::fs::create_dir(&intents).unwrap();
    for entry in std::fs::read_dir(crate::support::fixture("good")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, intents.join(path.file_name().unwrap())).unwrap();
    }
    let schema = Schema::new();
    let config = config_for(dir.path(), &schema.url(), "");

    let first = publish(&config, &intents, &["--json"]);
    first.expect_code(0);
    let first = first.json();
    assert_eq!(
        (first["version"].as_u64(), first["published"].as_bool()),
        (Some(1), Some(true)),
        "{first:#}"
    );
    // The same files again: nothing new.
    let again = publish(&config, &intents, &["--json"]).json();
    assert_eq!(
        (again["version"].as_u64(), again["published"].as_bool()),
        (Some(1), Some(false)),
        "{again:#}"
    );

    // A change is version 2, with its files' bytes in the database.
    let meta = intents.join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, format!("{original}{}", crate::admin::ZEBRA)).unwrap();
    let out = publish(&config, &intents, &[]);
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("published version 2:"),
        "{}",
        out.stdout
    );
    assert_eq!(
        schema.count(
            "SELECT COUNT(*) FROM intent_files WHERE version = 2 AND name = 'meta.toml'
               AND position('meta.zebra' in convert_from(body, 'UTF8')) > 0"
        ),
        1
    );
    assert_eq!(schema.count("SELECT version FROM intent_current"), 2);

    // A broken directory is refused with its errors, and nothing is published.
    std::fs::write(
        &meta,
        format!(
            "{original}{}\n[[intent]]\nid = \"meta.broken\"\ntitle = 5\n",
            crate::admin::ZEBRA
        ),
    )
    .unwrap();
    let out = publish(&config, &intents, &[]);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    let diagnostics = crate::support::diagnostics(&out.stderr);
    assert!(
        diagnostics.iter().any(|d| d.path.ends_with("meta.toml")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("not published"), "{}", out.stderr);
    assert_eq!(
        schema.count("SELECT COUNT(*) FROM intent_versions"),
        2,
        "refused, not published"
    );

    // The files of a version can be written out, to edit them.
    let exported = dir.path().join("exported");
    let out = publish(
        &config,
        &intents,
        &["--export", exported.to_str().unwrap(), "--version", "2"],
    );
    out.expect_code(0);
    assert!(
        std::fs::read_to_string(exported.join("meta.toml"))
            .unwrap()
            .contains("meta.zebra"),
        "{}",
        out.stdout
    );
    let out = publish(&config, &intents, &["--export", exported.to_str().unwrap()]);
    assert_eq!(out.code, Some(1), "an export never writes over files");
    // Publishing a directory without examples the version in service has says so.
    std::fs::write(&meta, &original).unwrap();
    let out = publish(&config, &intents, &[]);
    out.expect_code(0);
    assert!(
        out.stdout.starts_with("published version 3:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("examples of the version in service are not in")
            && out.stderr.contains("meta.zebra: \"tell me zebra facts\""),
        "{}",
        out.stderr
    );

    // The list, newest first, the current one marked; then a rollback.
    let list = publish(&config, &intents, &["--list", "--json"]).json();
    let versions: Vec<(u64, bool)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["version"].as_u64().unwrap(),
                p["current"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [(3, true), (2, false), (1, false)]);
    assert!(list[0]["published_by"]
        .as_str()
        .unwrap()
        .starts_with("careerbot publish by "));
    let out = publish(&config, &intents, &["--rollback", "1"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("version 1 is current again"),
        "{}",
        out.stdout
    );
    assert_eq!(schema.count("SELECT version FROM intent_current"), 1);
    assert_eq!(
        schema
            .count("SELECT COUNT(*) FROM intent_history WHERE action = 'rollback' AND version = 1"),
        1
    );
    let out = publish(&config, &intents, &["--rollback", "9"]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr.contains("there is no published version 9"),
        "{}",
        out.stderr
    );

    // With SQLite there is nothing to publish to.
    let sqlite = config_for(
        dir.path(),
        dir.path().join("db.sqlite3").to_str().unwrap(),
        "",
    );
    let out = publish(&sqlite, &intents, &[]);
    assert_eq!(out.code, Some(1));
    assert!(
        out.stderr
            .contains("published only with a PostgreSQL store"),
        "{}",
        out.stderr
    );
}
