//! The Discord bot under load: the release `careerbot run` against the Discord emulator of
//! the tests, on 127.0.0.1. Prints figures; asserts nothing about time.
//!
//! `cargo bench --bench discord` (add `-- --json` for one JSON object).
//!
//! 1. Latency: 1,000 mentions, one at a time, each from a new user; the time from handing
//!    MESSAGE_CREATE to the gateway socket to the arrival of the reply's REST call.
//! 2. Burst: 10,000 mentions from 1,000 users across 100 channels, sent as fast as the
//!    emulator can write them, with the shipped cooldown. Every message must end answered
//!    (an embed), noticed (the one cooldown notice per user and window) or throttled silently,
//!    counted by the bot's own `/careerbot stats`; "lost" is whatever is left.

#[path = "../tests/support/discord.rs"]
#[allow(dead_code)]
mod discord;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use careerbot::config::Settings;
use serde_json::{json, Value};

use discord::{option, Emulator, Msg, APP_ID, BOT_ID, CHANNEL_ID, FAKE_TOKEN, USER_ID};

const LATENCY_MESSAGES: usize = 1_000;
const BURST_USERS: u64 = 1_000;
const BURST_CHANNELS: u64 = 100;
const BURST_PER_USER: u64 = 10;
const MANAGE_GUILD: u64 = 1 << 5;

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

/// Questions from the shipped intents' own examples, so replies are real answers.
fn questions() -> Vec<String> {
    let settings = careerbot::config::Settings::defaults();
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

async fn start(emulator: &Emulator, data: &std::path::Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_careerbot"))
        .arg("run")
        .arg("--intents")
        .arg(root().join("intents"))
        .env("DISCORD_TOKEN", FAKE_TOKEN)
        .env("CAREERBOT_DISCORD__API_BASE", emulator.api_base())
        .env("CAREERBOT_ADMIN__DATABASE", data.join("bench.sqlite3"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot start careerbot");
    let running = Running { child };
    assert!(
        emulator.wait_ready(Duration::from_secs(30)).await,
        "the bot never connected"
    );
    emulator
        .wait_request(Duration::from_secs(30), |r| r.path.contains("/commands"))
        .await
        .expect("no command registration");
    running
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

async fn stats(emulator: &Emulator) -> HashMap<String, u64> {
    let call = emulator.slash(
        "careerbot",
        json!([option("stats", 1, Value::Null)]),
        USER_ID + 9_999_999,
        MANAGE_GUILD,
    );
    let id = emulator.interaction(call).await;
    // `/careerbot stats` defers, then answers with a follow-up on the interaction's webhook.
    let token = format!("/webhooks/{APP_ID}/emulated-interaction-token-{id}");
    let found = emulator
        .wait_request(Duration::from_secs(10), |r| {
            r.method == "POST" && r.path == token
        })
        .await
        .expect("no stats");
    let content = found.body["content"].as_str().unwrap_or_default();
    // The counters: the first code block (the database's report follows).
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

fn main() {
    let json_out = std::env::args().any(|a| a == "--json");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(json_out));
}

async fn run(json_out: bool) {
    let questions = questions();
    let emulator = Emulator::start().await;
    emulator.set_validate(false);
    let data = tempfile::tempdir().unwrap();
    let _bot = start(&emulator, data.path()).await;

    // 1. Latency, one message at a time (each from a new user: no cooldown involved).
    let mut latencies = Vec::with_capacity(LATENCY_MESSAGES);
    for n in 0..LATENCY_MESSAGES {
        let question = &questions[n % questions.len()];
        let content = format!("<@{BOT_ID}> {question}");
        let user = USER_ID + 1_000_000 + n as u64;
        emulator.clear_requests();
        let sent = Instant::now();
        emulator
            .message(Msg::guild(CHANNEL_ID, user, content).mentioning_bot())
            .await;
        let reply = emulator
            .wait_request(Duration::from_secs(10), |r| {
                r.method == "POST" && r.path.ends_with("/messages")
            })
            .await
            .unwrap_or_else(|| panic!("message {n} never answered"));
        latencies.push(reply.at.saturating_duration_since(sent));
    }
    latencies.sort();
    let (p50, p99, max) = (
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    let before = stats(&emulator).await;
    emulator.clear_requests();

    // 2. Burst.
    let total = BURST_USERS * BURST_PER_USER;
    let started = Instant::now();
    for round in 0..BURST_PER_USER {
        for user in 0..BURST_USERS {
            let n = round * BURST_USERS + user;
            let channel = CHANNEL_ID + 1 + n % BURST_CHANNELS;
            let question = &questions[n as usize % questions.len()];
            let content = format!("<@{BOT_ID}> {question}");
            emulator
                .message(Msg::guild(channel, USER_ID + 1 + user, content).mentioning_bot())
                .await;
        }
    }
    let sent_in = started.elapsed();
    // Replies Discord accepted; a cooldown notice is told apart by its text.
    let notice = Settings::load(None).unwrap().replies.throttled;
    let replies = |emulator: &Emulator| {
        emulator
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
            .filter(|r| (200..300).contains(&r.status))
            .collect::<Vec<_>>()
    };
    // Wait until every message is accounted for, or nothing moves for five seconds.
    let mut last = (0, Instant::now());
    let (answered, noticed, throttled, failed) = loop {
        let now = stats(&emulator).await;
        let delta =
            |k: &str| now.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
        let posted = replies(&emulator);
        let noticed = posted
            .iter()
            .filter(|r| r.body["content"].as_str() == Some(notice.as_str()))
            .count() as u64;
        // Answers, clarifications and fallbacks alike: each is a reply to its message.
        let answered = posted.len() as u64 - noticed;
        let throttled = delta("throttled");
        // Progress: every message counted, and every notice posted (or nothing moving).
        let progress = answered + throttled + noticed;
        let settled = answered + throttled == total && last.0 == progress;
        if (settled && last.1.elapsed() > Duration::from_millis(500))
            || last.1.elapsed() > Duration::from_secs(5)
        {
            break (answered, noticed, throttled, delta("failed_sends"));
        }
        if progress != last.0 {
            last = (progress, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let last_reply = replies(&emulator)
        .iter()
        .map(|r| r.at)
        .max()
        .unwrap_or(started);
    let drained = last_reply.saturating_duration_since(started);
    let lost = total - (answered + throttled).min(total);

    if json_out {
        println!(
            "{}",
            json!({
                "latency_messages": LATENCY_MESSAGES,
                "latency_p50_ms": p50,
                "latency_p99_ms": p99,
                "latency_max_ms": max,
                "burst_messages": total,
                "burst_users": BURST_USERS,
                "burst_channels": BURST_CHANNELS,
                "burst_answered": answered,
                "burst_cooldown_notices": noticed,
                "burst_throttled": throttled,
                "burst_failed_sends": failed,
                "burst_lost": lost,
                "burst_sent_s": sent_in.as_secs_f64(),
                "burst_drained_s": drained.as_secs_f64(),
            })
        );
    } else {
        println!("latency over {LATENCY_MESSAGES} mentions, MESSAGE_CREATE sent -> reply's REST call received:");
        println!("  p50 {p50:.3} ms   p99 {p99:.3} ms   max {max:.3} ms");
        println!(
            "burst of {total} mentions from {BURST_USERS} users in {BURST_CHANNELS} channels (cooldown as shipped):"
        );
        println!(
            "  answered {answered}   throttled {throttled} (with {noticed} one-time notices)   failed sends {failed}   lost {lost}"
        );
        println!(
            "  sent in {:.2} s; last reply after {:.2} s ({:.0} messages/s end to end)",
            sent_in.as_secs_f64(),
            drained.as_secs_f64(),
            total as f64 / drained.as_secs_f64().max(1e-9)
        );
    }
}
