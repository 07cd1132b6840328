//! Per-server settings end to end: `/careerbot settings` through the Discord emulator, kept
//! in the store (SQLite, PostgreSQL), followed on messages, across restarts and processes.

use std::time::{Duration, Instant};

use careerbot::admin::audit::{AuditEntry, DISCORD, DONE};
use careerbot::admin::store::{now_ms, Database, Store};
use serde_json::{json, Value};

use crate::admin::{intents_copy, refuse_next_reload};
use crate::bot::{question_answered, Bot, EPHEMERAL, MANAGE_GUILD, WAIT};
use crate::support::discord::{
    option, Emulator, Msg, CHANNEL_ID, GUILD_ID, INTENT_MESSAGE_CONTENT, USER_ID,
};
use crate::support::postgres::TestStore;
use crate::support::privacy::{assert_only_admins_in_the_audit_log, tables_holding};
use crate::support::{shipped, shipped_engine};

/// A channel of the emulated server that the tests make an answer channel.
const WATCHED: u64 = CHANNEL_ID + 41;
/// An admin of the emulated server.
const ADMIN: u64 = USER_ID + 900;
/// The bot's `RUST_LOG`: its debug lines say which messages it passed over.
const LOG: &str = "careerbot=debug,serenity=info,poise=info";

fn config(db: &TestStore, extra: &str) -> String {
    let database = toml_edit::Value::from(db.value.as_str());
    format!("[admin]\ndatabase = {database}\n{extra}")
}

/// `/careerbot settings` with `options` by `user` holding `permissions`: the private reply.
async fn settings(bot: &Bot, options: Value, user: u64, permissions: u64) -> String {
    let call = bot.emulator.slash(
        "careerbot",
        json!([option("settings", 1, options)]),
        user,
        permissions,
    );
    let id = bot.emulator.interaction(call).await;
    let data = bot.response(id).await;
    assert_eq!(
        data["flags"].as_u64().unwrap_or(0) & EPHEMERAL,
        EPHEMERAL,
        "{data}"
    );
    data["content"].as_str().unwrap_or_default().to_owned()
}

/// `/careerbot settings` by an admin.
async fn admin_settings(bot: &Bot, options: Value) -> String {
    settings(bot, options, ADMIN, MANAGE_GUILD).await
}

fn channel(name: &str, id: u64) -> Value {
    option(name, 7, json!(id.to_string()))
}

/// Sends `text` unaddressed in `channel` as `user`: the message id.
async fn unaddressed(bot: &Bot, channel: u64, user: u64, text: &str) -> u64 {
    bot.emulator.message(Msg::guild(channel, user, text)).await
}

/// Whether the bot answers `text` asked unaddressed in `channel` by a new member: the reply,
/// or `None` once the bot logged that it passed the message over.
async fn answered_unaddressed(bot: &Bot, channel: u64, user: u64, text: &str) -> Option<Value> {
    let before = bot.emulator.requests().len();
    let id = unaddressed(bot, channel, user, text).await;
    let path = format!("/channels/{channel}/messages");
    let deadline = Instant::now() + WAIT;
    loop {
        let replies = bot.emulator.requests();
        if let Some(reply) = replies
            .iter()
            .skip(before)
            .find(|r| r.method == "POST" && r.path == path)
        {
            return Some(reply.body.clone());
        }
        if bot.passed(&[id]) == 1 {
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "no verdict on {id}\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the bot has seen the post `thread` and left it alone: its THREAD_CREATE
/// found in no watched forum, its first message passed over or kept for a post that never
/// comes; then checks nothing was posted in it.
async fn post_left_alone(bot: &Bot, thread: u64) {
    let seen = format!("thread {thread} is in no watched forum");
    let kept = format!("message {thread} opens a post not announced yet");
    let done = crate::support::wait_until_async(WAIT, || {
        let log = bot.log();
        log.contains(&seen) && (bot.passed(&[thread]) == 1 || log.contains(&kept))
    })
    .await;
    assert!(done, "{}", bot.log());
    let path = format!("/channels/{thread}/messages");
    let posted = bot
        .emulator
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path == path);
    assert!(!posted, "{}", bot.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_chooses_its_own_forums() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestStore::sqlite(dir.path());
    // The config file's forum (so the bot has the Message Content intent), and the
    // server's own.
    let (files, own) = (CHANNEL_ID + 44, CHANNEL_ID + 45);
    let config = config(&db, &format!("[discord]\nforum_channels = [{files}]\n"));
    let emulator = Emulator::start().await;
    emulator.forum(files, &[]);
    emulator.forum(own, &[]);
    emulator.text_channel(WATCHED);
    let bot = Bot::start_on(emulator, &config, &shipped(), LOG, &[]).await;
    let engine = shipped_engine();
    let (title, intent) = crate::threads::confident_post(engine, 0.8);
    let expected = engine.intent(&intent).unwrap().title.clone();
    let body = "Any advice is welcome.";

    let shown = admin_settings(&bot, Value::Null).await;
    assert!(
        shown.contains(&format!("**Forum channels** (new posts there are answered, when the bot is sure): <#{files}> (the bot's default)")),
        "{shown}"
    );
    let thread = bot.emulator.forum_post(own, USER_ID, &title, body).await;
    post_left_alone(&bot, thread).await;

    // Only a forum can be one.
    let refused = admin_settings(&bot, json!([channel("add_forum_channel", WATCHED)])).await;
    assert!(refused.contains("is not a forum channel"), "{refused}");
    let saved = admin_settings(&bot, json!([channel("add_forum_channel", own)])).await;
    assert!(saved.starts_with("Saved"), "{saved}");
    assert!(
        saved.contains(&format!("<#{files}>, <#{own}> (set in this server)")),
        "{saved}"
    );
    let before = bot.emulator.requests().len();
    let thread = bot.emulator.forum_post(own, USER_ID, &title, body).await;
    let reply = bot.reply_in(thread, before).await;
    assert_eq!(
        reply.body["embeds"][0]["title"],
        expected.as_str(),
        "{}",
        reply.body
    );

    // Turned off, no forum of this server is watched, the file's included.
    let saved = admin_settings(&bot, json!([option("turn_off", 4, json!(2))])).await;
    assert!(saved.contains("**Forum channels** (new posts there are answered, when the bot is sure): none (set in this server)"), "{saved}");
    for forum in [files, own] {
        let thread = bot
            .emulator
            .forum_post(forum, USER_ID + 1, &title, body)
            .await;
        post_left_alone(&bot, thread).await;
    }
    // Reset, the file's forum again.
    let saved = admin_settings(&bot, json!([option("reset", 4, json!(4))])).await;
    assert!(
        saved.contains(&format!("<#{files}> (the bot's default)")),
        "{saved}"
    );
    let before = bot.emulator.requests().len();
    let thread = bot
        .emulator
        .forum_post(files, USER_ID + 2, &title, body)
        .await;
    bot.reply_in(thread, before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_say_where_a_channel_s_permissions_keep_the_bot_from_answering() {
    use serenity::model::permissions::Permissions;
    let dir = tempfile::tempdir().unwrap();
    let db = TestStore::sqlite(dir.path());
    let emulator = Emulator::start().await;
    emulator.text_channel(WATCHED);
    // A channel where the server denies the bot's role posting and embeds.
    let shut = CHANNEL_ID + 43;
    emulator.deny_bot_in(
        shut,
        (Permissions::SEND_MESSAGES | Permissions::EMBED_LINKS).bits(),
    );
    let bot = Bot::start_on(emulator, &config(&db, ""), &shipped(), LOG, &[]).await;

    let saved = admin_settings(&bot, json!([channel("add_answer_channel", WATCHED)])).await;
    assert!(saved.starts_with("Saved"), "{saved}");
    assert!(!saved.contains("cannot"), "{saved}");
    // Saved all the same (the admin may fix the channel next), with what is missing.
    let saved = admin_settings(&bot, json!([channel("add_answer_channel", shut)])).await;
    assert!(saved.starts_with("Saved"), "{saved}");
    let warning = saved
        .lines()
        .find(|line| line.contains(&format!("cannot answer in <#{shut}>")))
        .unwrap_or_else(|| panic!("no warning\n{saved}"));
    assert!(warning.contains("Send Messages"), "{warning}");
    assert!(warning.contains("Embed Links"), "{warning}");
    assert!(!warning.contains("View Channel"), "{warning}");
    assert!(
        !saved.contains(&format!("cannot answer in <#{WATCHED}>")),
        "{saved}"
    );
    let saved = admin_settings(&bot, json!([channel("admin_channel", shut)])).await;
    assert!(
        saved.contains(&format!(
            "cannot post in <#{shut}>: it lacks Send Messages there"
        )),
        "{saved}"
    );
    // Listing the settings says so too; and once the channel is dropped, no more.
    let shown = admin_settings(&bot, json!([channel("remove_answer_channel", shut)])).await;
    assert!(!shown.contains("cannot answer"), "{shown}");
    assert!(shown.contains("cannot post"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_s_own_settings_are_validated_kept_across_a_restart_and_followed() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestStore::sqlite(dir.path());
    let config = config(&db, "[discord]\nchannel_min_confidence = 0.7\n");
    // The server's channels, in its GUILD_CREATE; and another server's.
    let emulator = Emulator::start().await;
    emulator.text_channel(WATCHED);
    let forum = CHANNEL_ID + 42;
    emulator.forum(forum, &["solved"]);
    let (_, elsewhere) = emulator.guild_on_shard(0, 1);
    let bot = Bot::start_on(emulator, &config, &shipped(), LOG, &[]).await;
    let engine = shipped_engine();
    let (sure, intent) = question_answered(engine, 0.8..0.99);
    let title = engine.intent(&intent).unwrap().title.clone();
    // Nothing asks for the Message Content intent yet.
    assert_eq!(
        bot.emulator.identify_intents().unwrap() & INTENT_MESSAGE_CONTENT,
        0
    );

    let shown = admin_settings(&bot, Value::Null).await;
    assert!(shown.contains("**Answer channels**"), "{shown}");
    assert!(
        shown.contains("none: the bot answers only when asked"),
        "{shown}"
    );
    assert!(shown.contains("0.70 (the bot's default)"), "{shown}");
    // Only admins; Discord hides the command from others, the bot checks again.
    let refused = settings(
        &bot,
        json!([channel("add_answer_channel", WATCHED)]),
        USER_ID,
        0,
    )
    .await;
    assert!(refused.contains("Manage Server"), "{refused}");

    let saved = admin_settings(&bot, json!([channel("add_answer_channel", WATCHED)])).await;
    assert!(saved.starts_with("Saved"), "{saved}");
    assert!(
        saved.contains(&format!("<#{WATCHED}> (set in this server)")),
        "{saved}"
    );
    assert!(
        saved.contains("without the Message Content intent"),
        "{saved}"
    );
    // Connected without the intent, the bot gets the channel's messages empty: silence.
    assert!(
        answered_unaddressed(&bot, WATCHED, USER_ID + 1, &sure)
            .await
            .is_none(),
        "{}",
        bot.log()
    );

    // Refused, each changing nothing.
    let not_here = admin_settings(&bot, json!([channel("admin_channel", elsewhere)])).await;
    assert!(
        not_here.contains("is not a channel of this server"),
        "{not_here}"
    );
    let not_text = admin_settings(&bot, json!([channel("add_answer_channel", forum)])).await;
    assert!(
        not_text.contains("is not a text or announcement channel"),
        "{not_text}"
    );
    let out_of_range = admin_settings(
        &bot,
        json!([option("channel_min_confidence", 10, json!(1.5))]),
    )
    .await;
    assert!(
        out_of_range.starts_with(
            "Nothing was changed: channel_min_confidence must be a number from 0 to 1"
        ),
        "{out_of_range}"
    );
    let contradiction = admin_settings(
        &bot,
        json!([
            channel("add_answer_channel", CHANNEL_ID),
            option("turn_off", 4, json!(0)),
        ]),
    )
    .await;
    assert!(contradiction.contains("pick one"), "{contradiction}");
    let again = admin_settings(&bot, json!([channel("add_answer_channel", WATCHED)])).await;
    assert!(again.starts_with("Nothing to change"), "{again}");
    let stored = Store::open_read_only(&db.database)
        .unwrap()
        .guild_settings()
        .unwrap();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].guild, GUILD_ID);
    assert_eq!(stored[0].settings.answer_channels, Some(vec![WATCHED]));
    assert_eq!(stored[0].settings.channel_min_confidence, None);

    // Restarted, the bot asks for the intent the server's answer channel needs.
    let mut bot = bot;
    bot.terminate();
    let emulator = bot.emulator.clone();
    drop(bot);
    let bot = Bot::start_on(emulator, &config, &shipped(), LOG, &[]).await;
    assert_ne!(
        bot.emulator.identify_intents().unwrap() & INTENT_MESSAGE_CONTENT,
        0
    );
    let reply = answered_unaddressed(&bot, WATCHED, USER_ID + 2, &sure)
        .await
        .unwrap_or_else(|| panic!("not answered in the server's channel\n{}", bot.log()));
    assert_eq!(reply["embeds"][0]["title"], title.as_str());
    // Another channel of the server is still left alone.
    assert!(answered_unaddressed(&bot, CHANNEL_ID, USER_ID + 3, &sure)
        .await
        .is_none());

    // A stricter bar than the answer's confidence: left alone; back to the default: answered.
    let strict = admin_settings(
        &bot,
        json!([option("channel_min_confidence", 10, json!(1.0))]),
    )
    .await;
    assert!(strict.contains("1.00 (set in this server)"), "{strict}");
    assert!(answered_unaddressed(&bot, WATCHED, USER_ID + 4, &sure)
        .await
        .is_none());
    let reset = admin_settings(&bot, json!([option("reset", 4, json!(2))])).await;
    assert!(reset.contains("0.70 (the bot's default)"), "{reset}");
    assert!(answered_unaddressed(&bot, WATCHED, USER_ID + 5, &sure)
        .await
        .is_some());
    // Turned off: asked only.
    let off = admin_settings(&bot, json!([option("turn_off", 4, json!(0))])).await;
    assert!(
        off.contains("none: the bot answers only when asked (a mention"),
        "{off}"
    );
    assert!(answered_unaddressed(&bot, WATCHED, USER_ID + 6, &sure)
        .await
        .is_none());
    let mentioned = crate::admin::mention(&bot, WATCHED, USER_ID + 7, &sure).await;
    assert_eq!(mentioned["embeds"][0]["title"], title.as_str());
}

/// The newest `n` entries of the audit log once it has them (the bot writes them within
/// half a second).
pub(crate) async fn audit_log(db: &Database, n: usize) -> Vec<AuditEntry> {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = Store::open_read_only(db)
            .and_then(|store| store.audit_log(None, 100))
            .unwrap_or_default();
        if log.len() >= n || Instant::now() > deadline {
            assert_eq!(log.len(), n, "{log:#?}");
            return log;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_s_settings_changes_are_in_the_audit_log_and_no_member_s_id_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    settings_changes_are_audited(TestStore::sqlite(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_an_admin_s_settings_changes_are_in_the_audit_log() {
    settings_changes_are_audited(TestStore::postgres()).await;
}

async fn settings_changes_are_audited(db: TestStore) {
    let emulator = Emulator::start().await;
    emulator.text_channel(WATCHED);
    let bot = Bot::start_on(emulator, &config(&db, ""), &shipped(), LOG, &[]).await;
    // A member's question is stored, without its asker.
    let member = USER_ID + 1;
    crate::admin::mention(
        &bot,
        CHANNEL_ID,
        member,
        "how much does a backend engineer earn",
    )
    .await;
    // A member without Manage Server is refused at the gate, and not logged.
    let refused = settings(
        &bot,
        json!([channel("add_answer_channel", WATCHED)]),
        USER_ID,
        0,
    )
    .await;
    assert!(refused.contains("Manage Server"), "{refused}");
    // The admin: a change, a refused one, one that changes nothing, and a look (not logged).
    let saved = admin_settings(&bot, json!([channel("add_answer_channel", WATCHED)])).await;
    assert!(saved.starts_with("Saved"), "{saved}");
    let out_of_range = admin_settings(
        &bot,
        json!([option("channel_min_confidence", 10, json!(1.5))]),
    )
    .await;
    assert!(
        out_of_range.starts_with("Nothing was changed"),
        "{out_of_range}"
    );
    let again = admin_settings(&bot, json!([channel("add_answer_channel", WATCHED)])).await;
    assert!(again.starts_with("Nothing to change"), "{again}");
    admin_settings(&bot, Value::Null).await;

    let log = audit_log(&db.database, 3).await;
    for entry in &log {
        assert_eq!(entry.admin, format!("user{ADMIN}"));
        assert_eq!(entry.admin_id, Some(ADMIN));
        assert_eq!(entry.via, DISCORD);
        assert_eq!(entry.guild, Some(GUILD_ID));
        assert_eq!(entry.action, "settings");
    }
    // Newest first.
    assert_eq!(
        log[2].detail,
        format!("add answer channel {WATCHED}"),
        "{log:#?}"
    );
    assert_eq!(log[2].outcome, DONE);
    assert_eq!(log[1].detail, "channel_min_confidence 1.5");
    assert!(
        log[1]
            .outcome
            .starts_with("refused: channel_min_confidence must be a number from 0 to 1"),
        "{log:#?}"
    );
    assert_eq!(
        log[0].detail,
        format!("add answer channel {WATCHED} (nothing to change: already so)")
    );
    assert_eq!(log[0].outcome, DONE);
    // The admin's id is in the audit log alone; the members' are nowhere.
    assert_only_admins_in_the_audit_log(&db, &[ADMIN], &[USER_ID, member]);
    // The scan does find ids where they are kept.
    assert_eq!(
        tables_holding(&db, GUILD_ID),
        ["audit_log", "guild_settings", "questions"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_reload_goes_to_the_server_s_own_admin_channel_instead_of_the_file_s() {
    let intents = intents_copy();
    let db = TestStore::sqlite(intents.path());
    // Posts go out in the order of the channels' ids: the file's channel is the lower, so
    // a post to it would come before the one to the server's own.
    let (file_s, own) = (CHANNEL_ID + 77, CHANNEL_ID + 78);
    let extra = format!("watch = false\n[discord]\nadmin_channel = {file_s}\n");
    let emulator = Emulator::start().await;
    emulator.text_channel(file_s);
    emulator.text_channel(own);
    let bot = Bot::start_on(emulator, &config(&db, &extra), intents.path(), LOG, &[]).await;
    let shown = admin_settings(&bot, Value::Null).await;
    assert!(
        shown.contains(&format!("<#{file_s}> (the bot's default)")),
        "{shown}"
    );
    let saved = admin_settings(&bot, json!([channel("admin_channel", own)])).await;
    assert!(
        saved.contains(&format!("<#{own}> (set in this server)")),
        "{saved}"
    );

    refuse_next_reload(&bot, intents.path()).await;
    let path = format!("/channels/{own}/messages");
    let posted = bot
        .emulator
        .wait_request(WAIT, |r| r.method == "POST" && r.path == path)
        .await
        .unwrap_or_else(|| panic!("nothing posted to the server's channel\n{}", bot.log()));
    assert!(posted.body["content"]
        .as_str()
        .unwrap()
        .starts_with("Reload refused"));
    // The file's channel was looked up (to learn its server), not posted to.
    let looked_up = format!("/channels/{file_s}");
    assert_eq!(bot.count(|r| r.method == "GET" && r.path == looked_up), 1);
    let file_s_path = format!("/channels/{file_s}/messages");
    assert_eq!(
        bot.count(|r| r.method == "POST" && r.path == file_s_path),
        0,
        "{}",
        bot.calls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_by_another_process_reaches_the_bot_through_postgresql() {
    let db = TestStore::postgres();
    let bot = Bot::start(&config(&db, ""), &shipped()).await;
    let shown = admin_settings(&bot, Value::Null).await;
    assert!(shown.contains("0.70 (the bot's default)"), "{shown}");
    // Another process of the cluster (here: the test) changes the server's settings.
    let changed = Instant::now();
    let mut store = Store::open(&db.database).unwrap();
    store
        .edit_guild_settings(GUILD_ID, now_ms(), |s| {
            s.channel_min_confidence = Some(0.95)
        })
        .unwrap();
    let mut seen = false;
    while changed.elapsed() < WAIT && !seen {
        let shown = admin_settings(&bot, Value::Null).await;
        seen = shown.contains("0.95 (set in this server)");
    }
    assert!(seen, "never followed\n{}", bot.log());
    eprintln!("followed in {} ms", changed.elapsed().as_millis());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_content_intent_does_not_keep_the_bot_off_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestStore::sqlite(dir.path());
    // A server chose an answer channel; the application may not use the intent it needs.
    Store::open(&db.database)
        .unwrap()
        .edit_guild_settings(GUILD_ID, now_ms(), |s| {
            s.answer_channels = Some(vec![WATCHED])
        })
        .unwrap();
    let emulator = Emulator::start().await;
    emulator.disallow_intents(INTENT_MESSAGE_CONTENT);
    let bot = Bot::start_on(emulator, &config(&db, ""), &shipped(), LOG, &[]).await;
    assert!(
        bot.log()
            .contains("Discord refused the Message Content intent"),
        "{}",
        bot.log()
    );
    // Asked for first, refused with 4014, then connected without.
    assert_eq!(bot.emulator.identify_count(), 2, "{}", bot.log());
    assert_eq!(
        bot.emulator.identify_intents().unwrap() & INTENT_MESSAGE_CONTENT,
        0
    );
    let shown = admin_settings(&bot, Value::Null).await;
    assert!(
        shown.contains("without the Message Content intent"),
        "{shown}"
    );
    let (question, intent) = question_answered(shipped_engine(), 0.8..=1.0);
    let reply = crate::admin::mention(&bot, WATCHED, USER_ID, &question).await;
    let title = &shipped_engine().intent(&intent).unwrap().title;
    assert_eq!(reply["embeds"][0]["title"], title.as_str());
}
