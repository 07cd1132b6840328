//! Shards across processes through the Discord emulator: each `careerbot run` identifies
//! the shards it was given (half-open ranges, translated for serenity), receives only the
//! events of its shards' guilds, and says which shards it runs.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::bot::{confident_question, Bot, MANAGE_GUILD, WAIT};
use crate::support::discord::{Emulator, Msg, BOT_ID, FAKE_TOKEN, USER_ID};
use crate::support::postgres::TestStore;
use crate::support::{bin, shipped, shipped_engine};

const LOG: &str = "careerbot=debug,serenity=info,poise=info";

/// A mention of the bot in `channel` of `guild`.
fn mention_in(guild: u64, channel: u64, question: &str) -> Msg {
    Msg {
        guild_id: Some(guild),
        ..Msg::guild(channel, USER_ID, format!("<@{BOT_ID}> {question}")).mentioning_bot()
    }
}

/// Whether `bot` logged that it answered message `id`.
fn answered(bot: &Bot, id: u64) -> bool {
    let line = format!("answered message {id}");
    bot.log().lines().any(|l| l.trim_end().ends_with(&line))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_split_the_shards_and_each_answers_only_its_own_guilds() {
    let emulator = Emulator::start().await;
    let (guild0, channel0) = emulator.guild_on_shard(0, 2);
    let (guild1, channel1) = emulator.guild_on_shard(1, 2);
    let shards = |range: &'static str| ["--shards", range, "--total-shards", "2"];
    let first = Bot::start_on(emulator.clone(), "", &shipped(), LOG, &shards("0..1")).await;
    let second = Bot::start_on(emulator.clone(), "", &shipped(), LOG, &shards("1..2")).await;
    assert!(emulator.wait_shards_ready(2, WAIT).await);
    // Each process identified its own shard, and only that one.
    let mut identified = emulator.identified_shards();
    identified.sort();
    assert_eq!(identified, [[0, 2], [1, 2]]);
    assert!(first.log().contains("shards=0..1 of 2"), "{}", first.log());
    assert!(
        second.log().contains("shards=1..2 of 2"),
        "{}",
        second.log()
    );
    // serenity queues every shard of a process at once, and says so: one each, no more (its
    // own inclusive range would queue shard 1 in the first process and 2 in the second).
    let queued = |bot: &Bot| {
        let log = bot.log();
        (0..3)
            .filter(|id| {
                let line = format!("start shard {id}");
                log.lines().any(|l| l.trim_end().ends_with(&line))
            })
            .collect::<Vec<u32>>()
    };
    assert_eq!(queued(&first), [0], "{}", first.log());
    assert_eq!(queued(&second), [1], "{}", second.log());
    // A guild's mention reaches the process of its shard, which answers it.
    let (question, _) = confident_question(shipped_engine(), 0.5);
    for (guild, channel, mine, other) in [
        (guild0, channel0, &first, &second),
        (guild1, channel1, &second, &first),
    ] {
        let before = emulator.requests().len();
        let id = emulator
            .message(mention_in(guild, channel, &question))
            .await;
        mine.reply_in(channel, before).await;
        let logged = crate::support::wait_until_async(WAIT, || answered(mine, id)).await;
        assert!(logged, "{}", mine.log());
        assert!(!answered(other, id), "{}", other.log());
    }
    // A DM reaches shard 0 only, as on Discord.
    let dm_channel = emulator.new_id();
    let before = emulator.requests().len();
    let dm = emulator
        .message(Msg::dm(dm_channel, USER_ID, question.clone()))
        .await;
    first.reply_in(dm_channel, before).await;
    assert!(crate::support::wait_until_async(WAIT, || answered(&first, dm)).await);
    assert!(!answered(&second, dm));
    // /careerbot stats says which shards answer it (the emulated guild is on shard 0).
    let call = first.careerbot("stats", USER_ID + 1, MANAGE_GUILD);
    let id = emulator.interaction(call).await;
    let stats = first.response(id).await;
    let text = stats["content"].as_str().unwrap_or_default();
    assert!(text.contains("shards                0..1 of 2"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_shard_settings_the_bot_runs_every_shard_discord_recommends() {
    let emulator = Emulator::start().await;
    emulator.set_recommended_shards(2);
    let (guild1, channel1) = emulator.guild_on_shard(1, 2);
    let bot = Bot::start_on(emulator.clone(), "", &shipped(), LOG, &[]).await;
    // serenity starts one shard every 5 seconds.
    assert!(emulator.wait_shards_ready(2, WAIT).await, "{}", bot.log());
    let mut identified = emulator.identified_shards();
    identified.sort();
    assert_eq!(identified, [[0, 2], [1, 2]]);
    assert!(bot.log().contains("shards=0..2 of 2"), "{}", bot.log());
    let (question, _) = confident_question(shipped_engine(), 0.5);
    let before = emulator.requests().len();
    emulator
        .message(mention_in(guild1, channel1, &question))
        .await;
    bot.reply_in(channel1, before).await;
}

#[test]
fn a_shard_range_without_its_total_or_past_it_is_refused_before_connecting() {
    for (args, says) in [
        (&["--shards", "1..2"][..], "total_shards"),
        (&["--shards", "1..3", "--total-shards", "2"][..], "end past"),
        (
            &["--shards", "2..1", "--total-shards", "2"][..],
            "not a range",
        ),
        (&["--total-shards", "0"][..], "--total-shards"),
    ] {
        let output = Command::new(bin())
            .arg("run")
            .args(args)
            .env("DISCORD_TOKEN", FAKE_TOKEN)
            // Nowhere to connect to: refusing must come first.
            .env("CAREERBOT_DISCORD__API_BASE", "http://127.0.0.1:9")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    // The same from the settings.
    let output = Command::new(bin())
        .arg("run")
        .env("DISCORD_TOKEN", FAKE_TOKEN)
        .env("CAREERBOT_DISCORD__SHARDS", "0..1")
        .env("CAREERBOT_DISCORD__API_BASE", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("discord.shards") && stderr.contains("total_shards"),
        "{stderr}"
    );
    assert_ne!(output.status.code(), Some(0), "{stderr}");
}

/// Mentions the bot in `channel` of `guild` and waits for `bot`'s reply there.
async fn ask_in(
    bot: &Bot,
    guild: u64,
    channel: u64,
    user: u64,
    question: &str,
) -> serde_json::Value {
    let before = bot.emulator.requests().len();
    let mut message = mention_in(guild, channel, question);
    message.author_id = user;
    bot.emulator.message(message).await;
    bot.reply_in(channel, before).await.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgresql_store_and_one_published_set() {
    let emulator = Emulator::start().await;
    let (guild0, channel0) = emulator.guild_on_shard(0, 2);
    let (guild1, channel1) = emulator.guild_on_shard(1, 2);
    let db = TestStore::postgres();
    let config = format!(
        "[admin]\ndatabase = {}\n",
        toml_edit::Value::from(db.value.as_str())
    );
    // Each process has its own copy of the intents: what they serve comes from the database.
    let (intents0, intents1) = (crate::admin::intents_copy(), crate::admin::intents_copy());
    let shards = |range: &'static str| ["--shards", range, "--total-shards", "2"];
    let first = Bot::start_on(
        emulator.clone(),
        &config,
        intents0.path(),
        LOG,
        &shards("0..1"),
    )
    .await;
    let mut second = Bot::start_on(
        emulator.clone(),
        &config,
        intents1.path(),
        LOG,
        &shards("1..2"),
    )
    .await;
    assert!(emulator.wait_shards_ready(2, WAIT).await);
    assert!(
        second.log().contains("serving the published intent set"),
        "{}",
        second.log()
    );

    // Each answers its own guild; the question nobody's set knows is asked in the second
    // process's guild.
    let (question, _) = confident_question(shipped_engine(), 0.5);
    ask_in(&first, guild0, channel0, USER_ID, &question).await;
    ask_in(&second, guild1, channel1, USER_ID, &question).await;
    let unknown = "where can a zebra wrangler find mentoring circles";
    for user in 0..2 {
        let reply = ask_in(&second, guild1, channel1, USER_ID + 10 + user, unknown).await;
        assert!(reply["embeds"][0].is_null(), "{reply}");
    }
    // A DM is answered once, by shard 0's process.
    let dm_channel = emulator.new_id();
    let before = emulator.requests().len();
    let dm = emulator
        .message(Msg::dm(dm_channel, USER_ID, question.clone()))
        .await;
    first.reply_in(dm_channel, before).await;
    assert!(crate::support::wait_until_async(WAIT, || answered(&first, dm)).await);
    assert!(!answered(&second, dm), "{}", second.log());

    // Both processes' records are in one report.
    let stored = |guild: u64| {
        db.read()
            .and_then(|s| s.questions_since(0))
            .map(|qs| qs.iter().filter(|q| q.guild == Some(guild)).count())
            .unwrap_or(0)
    };
    assert!(
        crate::support::wait_until_async(WAIT, || stored(guild0) == 1 && stored(guild1) == 3).await,
        "{} {}",
        stored(guild0),
        stored(guild1)
    );
    let report_config = intents0.path().join("report.toml");
    std::fs::write(&report_config, &config).unwrap();
    let report = crate::support::careerbot(["report", "--since", "all", "--json", "--config"])
        .with_args([&report_config])
        .run();
    report.expect_code(0);
    assert_eq!(report.json()["questions"], 5, "{}", report.stdout);

    // Triage through the first process files the second process's question; the second
    // process serves the new version.
    let admin = USER_ID + 100;
    let call = first.careerbot("unanswered", admin, MANAGE_GUILD);
    let id = emulator.interaction(call).await;
    let listing = first.response(id).await;
    assert!(
        listing["content"].as_str().unwrap().contains(unknown),
        "{listing}"
    );
    let menu = listing["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let pick = emulator.component(&menu, 3, &["background.entry_paths"], admin);
    let pick_id = emulator.interaction(pick).await;
    let done = first.response(pick_id).await;
    let filed = Instant::now();
    assert!(
        done["content"]
            .as_str()
            .unwrap()
            .contains("published it as version 2"),
        "{done}"
    );
    let title = &shipped_engine()
        .intent("background.entry_paths")
        .unwrap()
        .title;
    let mut asked_second = 3;
    for user in 0.. {
        asked_second += 1;
        let reply = ask_in(&second, guild1, channel1, USER_ID + 200 + user, unknown).await;
        if reply["embeds"][0]["title"] == title.as_str() {
            break;
        }
        assert!(filed.elapsed() < WAIT, "not served\n{}", second.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "the other process answered with the triaged example {} ms after the triage's reply",
        filed.elapsed().as_millis()
    );

    // Killed and restarted, the second process resumes its shard; of what it stored, at
    // most the last second can be lost.
    assert!(
        crate::support::wait_until_async(WAIT, || stored(guild1) == asked_second).await,
        "{} of {asked_second}",
        stored(guild1)
    );
    let before_kill = asked_second;
    for user in 0..5 {
        ask_in(&second, guild1, channel1, USER_ID + 300 + user, &question).await;
    }
    let old_enough = Instant::now();
    // These five are more than a second old when the process dies.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for user in 5..10 {
        ask_in(&second, guild1, channel1, USER_ID + 300 + user, &question).await;
    }
    second.child.kill().unwrap();
    second.child.wait().unwrap();
    let killed_after = old_enough.elapsed();
    let kept = stored(guild1) - before_kill;
    eprintln!(
        "killed: {kept} of 10 questions kept (5 asked at least {} ms before the kill)",
        killed_after.as_millis()
    );
    assert!(
        kept >= 5,
        "only {kept} kept: more than the last second was lost"
    );
    let restarted = Bot::start_on(
        emulator.clone(),
        &config,
        intents1.path(),
        LOG,
        &shards("1..2"),
    )
    .await;
    assert!(emulator.wait_shards_ready(2, WAIT).await);
    ask_in(&restarted, guild1, channel1, USER_ID + 400, &question).await;
    drop(first);
}
