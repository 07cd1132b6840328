//! The sharded bot under a burst: the release `careerbot run` against the Discord emulator
//! of the tests, on 127.0.0.1. Prints figures; asserts nothing about time.
//!
//! `cargo bench --bench cluster` (add `-- --json` for JSON lines).
//!
//! A burst of 20,000 mentions from 2,000 users over 200 guilds (one channel each), spread
//! over 4 shards, sent as fast as the emulator writes them, with the shipped cooldown:
//! 1. two processes (shards 0..2 and 2..4 of 4) sharing one PostgreSQL database (a schema
//!    of its own in the local server, dropped afterwards; `CAREERBOT_TEST_POSTGRES` picks
//!    another server);
//! 2. one process running all 4 shards with an SQLite file, for comparison.
//!
//! After the burst, on PostgreSQL: `careerbot publish` of a set with one new example, and
//! the time from its return until a guild on every shard answers with it (asked as new
//! members every 20 ms).
//!
//! Every message must end answered (a reply), noticed (the one cooldown notice per user and
//! window) or throttled silently, as counted by each process's `/careerbot stats`; "lost"
//! is what is left. Latency is from handing MESSAGE_CREATE to the gateway socket to the
//! arrival of the reply's REST call. Write throughput is the rows stored over the time from
//! the burst's start until the last row was in the database; and, apart, the store alone:
//! 20,000 records through the writer into each backend.

#[path = "../tests/support/discord.rs"]
#[allow(dead_code)]
mod discord;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use careerbot::admin::store::{
    Database, Outcome, QuestionRecord, Record, Source, Store, Writer, FLUSH_EVERY,
};
use careerbot::config::{PostgresUrl, Settings};
use serde_json::{json, Value};

use discord::{option, Emulator, Msg, APP_ID, BOT_ID, FAKE_TOKEN, USER_ID};

const SHARDS: u32 = 4;
const GUILDS: usize = 200;
const USERS: u64 = 2_000;
const PER_USER: u64 = 10;
const MANAGE_GUILD: u64 = 1 << 5;
const STORE_RECORDS: u64 = 20_000;

struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn server_url() -> String {
    std::env::var("CAREERBOT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Runs `sql` on the server, on a connection of its own.
async fn execute(sql: &str) {
    let (client, connection) = tokio_postgres::connect(&server_url(), tokio_postgres::NoTls)
        .await
        .expect("the PostgreSQL server");
    tokio::spawn(connection);
    client.batch_execute(sql).await.expect(sql);
}

/// Questions from the shipped intents' own examples, so replies are real answers.
fn questions() -> Vec<String> {
    let settings = Settings::defaults();
    let (engine, _) = careerbot::engine::Engine::load(
        &root().join("intents"),
        &settings.matcher,
        &settings.limits,
    )
    .unwrap_or_else(|_| panic!("the shipped intents do not load"));
    engine
        .intents()
        .iter()
        .flat_map(|i| i.examples.iter().take(5).cloned())
        .collect()
}

fn start(emulator: &Emulator, database: &str, shards: &str) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .args([
            "run",
            "--shards",
            shards,
            "--total-shards",
            &SHARDS.to_string(),
        ])
        .arg("--intents")
        .arg(root().join("intents"))
        .env("DISCORD_TOKEN", FAKE_TOKEN)
        .env("CAREERBOT_DISCORD__API_BASE", emulator.api_base())
        .env("CAREERBOT_ADMIN__DATABASE", database)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start careerbot");
    Running { child }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// The counters of the process serving `guild`'s shard (`/careerbot stats` sent there).
async fn stats(emulator: &Emulator, guild: u64, channel: u64) -> HashMap<String, u64> {
    let mut call = emulator.slash(
        "careerbot",
        json!([option("stats", 1, Value::Null)]),
        USER_ID + 9_999_999,
        MANAGE_GUILD,
    );
    call["guild_id"] = json!(guild.to_string());
    call["channel_id"] = json!(channel.to_string());
    let id = emulator.interaction(call).await;
    let token = format!("/webhooks/{APP_ID}/emulated-interaction-token-{id}");
    let found = emulator
        .wait_request(Duration::from_secs(10), |r| {
            r.method == "POST" && r.path == token
        })
        .await
        .expect("no stats");
    let content = found.body["content"].as_str().unwrap_or_default();
    content
        .split("```")
        .nth(1)
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            Some((parts.next()?.to_owned(), parts.next()?.parse().ok()?))
        })
        .collect()
}

/// What one run measured.
struct Figures {
    setup: &'static str,
    answered: u64,
    noticed: u64,
    throttled: u64,
    failed: u64,
    lost: u64,
    p50: f64,
    p99: f64,
    sent_s: f64,
    drained_s: f64,
    stored: u64,
    stored_s: f64,
    /// PostgreSQL only: for each shard, ms from `careerbot publish` returning to its guild
    /// answering with the published example.
    published_ms: Option<Vec<f64>>,
}

impl Figures {
    fn json(&self) -> Value {
        json!({
            "setup": self.setup,
            "messages": USERS * PER_USER,
            "guilds": GUILDS,
            "users": USERS,
            "answered": self.answered,
            "cooldown_notices": self.noticed,
            "throttled": self.throttled,
            "failed_sends": self.failed,
            "lost": self.lost,
            "latency_p50_ms": self.p50,
            "latency_p99_ms": self.p99,
            "sent_s": self.sent_s,
            "drained_s": self.drained_s,
            "rows_stored": self.stored,
            "rows_stored_s": self.stored_s,
            "rows_per_s": self.stored as f64 / self.stored_s.max(1e-9),
            "publish_to_every_shard_ms": self.published_ms,
        })
    }

    fn print(&self) {
        println!(
            "{}: {} mentions from {USERS} users over {GUILDS} guilds on {SHARDS} shards",
            self.setup,
            USERS * PER_USER
        );
        println!(
            "  answered {}   throttled {} (with {} one-time notices)   failed sends {}   lost {}",
            self.answered, self.throttled, self.noticed, self.failed, self.lost
        );
        println!(
            "  latency p50 {:.2} ms   p99 {:.2} ms; sent in {:.2} s, last reply after {:.2} s",
            self.p50, self.p99, self.sent_s, self.drained_s
        );
        println!(
            "  {} rows stored {:.2} s after the burst began ({:.0} rows/s end to end)",
            self.stored,
            self.stored_s,
            self.stored as f64 / self.stored_s.max(1e-9)
        );
        if let Some(shards) = &self.published_ms {
            let shown: Vec<String> = shards.iter().map(|ms| format!("{ms:.0}")).collect();
            println!(
                "  careerbot publish to every shard answering with it: {:.0} ms (shard by shard: {} ms)",
                shards.iter().cloned().fold(0.0, f64::max),
                shown.join(", ")
            );
        }
    }
}

/// The burst against `processes` (shard ranges) storing into `database`.
async fn burst(
    setup: &'static str,
    database: &Database,
    value: &str,
    processes: &[&str],
) -> Figures {
    let questions = questions();
    let emulator = Emulator::start().await;
    emulator.set_validate(false);
    let guilds: Vec<(u64, u64)> = (0..GUILDS)
        .map(|n| emulator.guild_on_shard(n as u32 % SHARDS, SHARDS))
        .collect();
    // One guild per process, to ask it for its counters.
    let firsts: Vec<(u64, u64)> = processes
        .iter()
        .map(|range| {
            let first: u32 = range.split("..").next().unwrap().parse().unwrap();
            guilds[first as usize]
        })
        .collect();
    let _running: Vec<Running> = processes
        .iter()
        .map(|range| start(&emulator, value, range))
        .collect();
    assert!(
        emulator
            .wait_shards_ready(SHARDS as usize, Duration::from_secs(60))
            .await,
        "the shards never all connected"
    );
    emulator
        .wait_request(Duration::from_secs(30), |r| r.path.contains("/commands"))
        .await
        .expect("no command registration");
    let mut before = HashMap::new();
    for &(guild, channel) in &firsts {
        for (k, v) in stats(&emulator, guild, channel).await {
            *before.entry(k).or_insert(0) += v;
        }
    }
    emulator.clear_requests();

    let total = USERS * PER_USER;
    let mut sent_at: HashMap<u64, Instant> = HashMap::with_capacity(total as usize);
    let started = Instant::now();
    for round in 0..PER_USER {
        for user in 0..USERS {
            let n = round * USERS + user;
            let (guild, channel) = guilds[n as usize % GUILDS];
            let question = &questions[n as usize % questions.len()];
            let message = Msg {
                guild_id: Some(guild),
                ..Msg::guild(
                    channel,
                    USER_ID + 1 + user,
                    format!("<@{BOT_ID}> {question}"),
                )
                .mentioning_bot()
            };
            let at = Instant::now();
            let id = emulator.message(message).await;
            sent_at.insert(id, at);
        }
    }
    let sent_s = started.elapsed().as_secs_f64();
    let notice = Settings::defaults().replies.throttled;
    let replies = |emulator: &Emulator| {
        emulator
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
            .filter(|r| (200..300).contains(&r.status))
            .collect::<Vec<_>>()
    };
    let mut last = (0, Instant::now());
    let (answered, noticed, throttled, failed) = loop {
        let mut now = HashMap::new();
        for &(guild, channel) in &firsts {
            for (k, v) in stats(&emulator, guild, channel).await {
                *now.entry(k).or_insert(0) += v;
            }
        }
        let delta =
            |k: &str| now.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
        let posted = replies(&emulator);
        let noticed = posted
            .iter()
            .filter(|r| r.body["content"].as_str() == Some(notice.as_str()))
            .count() as u64;
        let answered = posted.len() as u64 - noticed;
        let throttled = delta("throttled");
        let progress = answered + throttled + noticed;
        let settled = answered + throttled == total && last.0 == progress;
        if (settled && last.1.elapsed() > Duration::from_millis(500))
            || last.1.elapsed() > Duration::from_secs(10)
        {
            break (answered, noticed, throttled, delta("failed_sends"));
        }
        if progress != last.0 {
            last = (progress, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let posted = replies(&emulator);
    let drained_s = posted
        .iter()
        .map(|r| r.at)
        .max()
        .unwrap_or(started)
        .saturating_duration_since(started)
        .as_secs_f64();
    let mut latencies: Vec<Duration> = posted
        .iter()
        .filter(|r| r.body["content"].as_str() != Some(notice.as_str()))
        .filter_map(|r| {
            let id = r.body["message_reference"]["message_id"]
                .as_str()
                .and_then(|id| id.parse::<u64>().ok())?;
            Some(r.at.saturating_duration_since(*sent_at.get(&id)?))
        })
        .collect();
    latencies.sort();
    // Every answered mention is stored (throttled ones are not): wait until they all are.
    let store = {
        let database = database.clone();
        tokio::task::spawn_blocking(move || Store::open_read_only(&database).unwrap())
            .await
            .unwrap()
    };
    let store = std::sync::Arc::new(std::sync::Mutex::new(store));
    let count = || {
        let store = std::sync::Arc::clone(&store);
        async move {
            tokio::task::spawn_blocking(move || store.lock().unwrap().counts().unwrap().0)
                .await
                .unwrap()
        }
    };
    let mut stored = count().await;
    let mut stored_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(30);
    while stored < answered && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = count().await;
        if now != stored {
            stored = now;
            stored_at = Instant::now();
        }
    }
    let stored_s = stored_at.saturating_duration_since(started).as_secs_f64();
    let published_ms = match database {
        Database::Postgres(_) => {
            Some(publication(&emulator, value, &guilds[..SHARDS as usize]).await)
        }
        Database::File(_) => None,
    };
    Figures {
        setup,
        answered,
        noticed,
        throttled,
        failed,
        lost: total - (answered + throttled).min(total),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        sent_s,
        drained_s,
        stored,
        stored_s,
        published_ms,
    }
}

/// Publishes the shipped set with one new example (a question nothing answered) and
/// returns, for each of `guilds` (one per shard), the ms from `careerbot publish`
/// returning until that guild answers the question with the example's intent.
async fn publication(emulator: &Emulator, database: &str, guilds: &[(u64, u64)]) -> Vec<f64> {
    const QUESTION: &str = "where can a zebra wrangler find mentoring circles";
    let settings = Settings::defaults();
    let dir = tempfile::tempdir().unwrap();
    for file in std::fs::read_dir(root().join("intents")).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), dir.path().join(file.file_name())).unwrap();
    }
    let (engine, _) =
        careerbot::engine::Engine::load(dir.path(), &settings.matcher, &settings.limits)
            .unwrap_or_else(|_| panic!("the shipped intents do not load"));
    let intent = engine
        .intents()
        .iter()
        .find(|i| i.action.is_none() && !i.decline && !i.unlisted && !i.code_only)
        .expect("an intent that answers");
    careerbot::admin::edit::append_example(dir.path(), &intent.id, QUESTION).unwrap();
    let mut user = USER_ID + 50_000_000;
    let mut ask = |guild: u64, channel: u64| {
        user += 1;
        let message = Msg {
            guild_id: Some(guild),
            ..Msg::guild(channel, user, format!("<@{BOT_ID}> {QUESTION}")).mentioning_bot()
        };
        async move {
            let id = emulator.message(message).await.to_string();
            let reply = emulator
                .wait_request(Duration::from_secs(10), |r| {
                    r.method == "POST"
                        && r.body["message_reference"]["message_id"].as_str() == Some(id.as_str())
                })
                .await
                .expect("no reply");
            reply.body["embeds"][0]["title"].as_str() == Some(intent.title.as_str())
        }
    };
    for &(guild, channel) in guilds {
        assert!(
            !ask(guild, channel).await,
            "answered before it was published"
        );
    }
    let mut publish = Command::new(env!("CARGO_BIN_EXE_careerbot"));
    publish
        .arg("publish")
        .arg("--intents")
        .arg(dir.path())
        .env("CAREERBOT_ADMIN__DATABASE", database);
    let publish = tokio::task::spawn_blocking(move || publish.output())
        .await
        .unwrap()
        .unwrap();
    assert!(publish.status.success(), "{publish:?}");
    let published = Instant::now();
    let mut delays = vec![None; guilds.len()];
    while delays.iter().any(Option::is_none) {
        assert!(
            published.elapsed() < Duration::from_secs(60),
            "never served"
        );
        for (n, &(guild, channel)) in guilds.iter().enumerate() {
            if delays[n].is_none() && ask(guild, channel).await {
                delays[n] = Some(published.elapsed().as_secs_f64() * 1e3);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    delays.into_iter().flatten().collect()
}

/// 20,000 records through the writer into `database`: records per second.
fn store_alone(database: &Database) -> f64 {
    let store = Store::open(database).unwrap();
    let writer = Writer::spawn(store, FLUSH_EVERY, None);
    let started = Instant::now();
    for id in 0..STORE_RECORDS {
        writer.send(Record::Question(QuestionRecord {
            id: 1 << 40 | id,
            at_ms: 1_700_000_000_000 + id as i64,
            guild: Some(1_234_567_890_123_456_789),
            channel: Some(42),
            source: Source::Mention,
            text: format!("how do i become a backend engineer {id}"),
            decision: Outcome::Answer,
            intent: Some("role.overview".to_owned()),
            confidence: 0.9,
            candidates: vec!["role.overview".to_owned(), "skills.core".to_owned()],
            engine_version: "bench".to_owned(),
            intent_version: None,
        }));
    }
    writer.flush();
    let took = started.elapsed();
    assert_eq!(writer.written(), STORE_RECORDS);
    STORE_RECORDS as f64 / took.as_secs_f64()
}

fn main() {
    let json_out = std::env::args().any(|a| a == "--json");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(json_out));
}

async fn run(json_out: bool) {
    let schema = format!("careerbot_bench_{}", std::process::id());
    execute(&format!("CREATE SCHEMA {schema}")).await;
    let separator = if server_url().contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{separator}options=-c%20search_path%3D{schema}",
        server_url()
    );
    let postgres = Database::Postgres(PostgresUrl::parse(&url).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bench.sqlite3");
    let sqlite = Database::file(&file);

    let cluster = burst(
        "2 processes, shards 0..2 and 2..4 of 4, PostgreSQL",
        &postgres,
        &url,
        &["0..2", "2..4"],
    )
    .await;
    let single = burst(
        "1 process, shards 0..4 of 4, SQLite",
        &sqlite,
        file.to_str().unwrap(),
        &["0..4"],
    )
    .await;
    let (pg_alone, sqlite_alone) = tokio::task::spawn_blocking({
        let (alone_pg, alone_file) = (
            Database::Postgres(PostgresUrl::parse(&url).unwrap()),
            Database::file(dir.path().join("alone.sqlite3")),
        );
        move || (store_alone(&alone_pg), store_alone(&alone_file))
    })
    .await
    .unwrap();
    execute(&format!("DROP SCHEMA {schema} CASCADE")).await;
    if json_out {
        println!("{}", cluster.json());
        println!("{}", single.json());
        println!(
            "{}",
            json!({"store_alone_records": STORE_RECORDS, "postgres_records_per_s": pg_alone, "sqlite_records_per_s": sqlite_alone})
        );
    } else {
        cluster.print();
        single.print();
        println!(
            "the store alone, {STORE_RECORDS} records through the writer: PostgreSQL {pg_alone:.0} records/s, SQLite {sqlite_alone:.0} records/s"
        );
    }
}
