//! The Discord bot end to end: the real `careerbot run` binary, with serenity and poise
//! inside, against the Discord emulator of `support::discord` on 127.0.0.1. Every test
//! asserts on the REST calls the bot made; expected answers come from the engine itself.
//!
//! serenity hands each gateway event to its own task, so the bot may finish messages out of
//! order: a reply to a later message proves nothing about an earlier one. A test that
//! expects no answer waits for the bot's debug line saying it passed that message over
//! ([`Bot::passed_over`]), never for a quiet moment.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use careerbot::engine::matcher::Decision;
use careerbot::engine::Engine;
use serde_json::{json, Value};

use crate::support::discord::{
    option, Emulator, Msg, Recorded, APP_ID, BOT_ID, BOT_ROLE_ID, CHANNEL_ID, FAKE_TOKEN, GUILD_ID,
    OAUTH_CLIENT_SECRET, USER_ID,
};
use crate::support::{bin, shipped, shipped_engine, wait_until, wait_until_async};

/// Long enough for a debug build on a loaded 2-core machine; tests finish as soon as the
/// awaited call arrives.
pub(crate) const WAIT: Duration = Duration::from_secs(15);
/// The Manage Server permission bit.
pub(crate) const MANAGE_GUILD: u64 = 1 << 5;
/// The privileged Message Content gateway intent.
const MESSAGE_CONTENT: u64 = 1 << 15;
/// A watched channel (`answer_channels`) in the tests that configure one.
const WATCHED: u64 = CHANNEL_ID + 7;
/// The EPHEMERAL message flag.
pub(crate) const EPHEMERAL: u64 = 1 << 6;

/// A `careerbot run` process connected to its own emulator; killed when dropped.
pub(crate) struct Bot {
    pub(crate) emulator: Emulator,
    pub(crate) child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Bot {
    /// Starts the bot on `intents` with `config` (TOML) layered over the defaults, and waits
    /// until it is connected and has registered its commands.
    pub(crate) async fn start(config: &str, intents: &Path) -> Bot {
        Bot::start_logging(config, intents, "careerbot=debug,serenity=info,poise=info").await
    }

    /// [`Bot::start`] with `rust_log` as the bot's `RUST_LOG`.
    pub(crate) async fn start_logging(config: &str, intents: &Path, rust_log: &str) -> Bot {
        let emulator = Emulator::start().await;
        Bot::start_on(emulator, config, intents, rust_log, &[]).await
    }

    /// [`Bot::start`] against `emulator` (which other bots may share), with `args` after
    /// `run`: waits until the bot is connected and has registered its commands itself.
    pub(crate) async fn start_on(
        emulator: Emulator,
        config: &str,
        intents: &Path,
        rust_log: &str,
        args: &[&str],
    ) -> Bot {
        let is_put = |r: &Recorded| r.method == "PUT" && r.path.contains("/commands");
        let puts_before = emulator.requests().iter().filter(|r| is_put(r)).count();
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("config.toml");
        std::fs::write(&config_file, config).unwrap();
        let log = dir.path().join("bot.log");
        let mut command = Command::new(bin());
        // Keep the database out of the working tree unless the test chose one.
        if !config.contains("database =") {
            command.env("CAREERBOT_ADMIN__DATABASE", dir.path().join("bot.sqlite3"));
        }
        let child = command
            .arg("run")
            .args(args)
            .arg("--intents")
            .arg(intents)
            .arg("--config")
            .arg(&config_file)
            .env("DISCORD_TOKEN", FAKE_TOKEN)
            // Read only when the config serves the dashboard (`[web] listen`).
            .env("DISCORD_CLIENT_SECRET", OAUTH_CLIENT_SECRET)
            .env("CAREERBOT_DISCORD__API_BASE", emulator.api_base())
            .env("RUST_LOG", rust_log)
            .env_remove("CAREERBOT_DISCORD__TOKEN")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut bot = Bot {
            emulator,
            child,
            log,
            _dir: dir,
        };
        let ready = bot.emulator.wait_ready(WAIT).await;
        assert!(ready, "the bot never connected\n{}", bot.log());
        let registered = wait_until_async(WAIT, || {
            bot.emulator.requests().iter().filter(|r| is_put(r)).count() > puts_before
        })
        .await;
        assert!(registered, "no command registration\n{}", bot.log());
        assert!(bot.child.try_wait().unwrap().is_none(), "{}", bot.log());
        bot
    }

    pub(crate) async fn shipped(config: &str) -> Bot {
        Bot::start(config, &shipped()).await
    }

    /// The database the bot stores into, unless the test's config chose another.
    pub(crate) fn database(&self) -> PathBuf {
        self._dir.path().join("bot.sqlite3")
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many of the messages `ids` the bot has passed over: logged that it gives them no
    /// answer (a bot wrote it, it was not addressed to the bot, the bot was not sure enough,
    /// or the author is throttled). The line comes last, after any cooldown notice, so
    /// nothing more is sent for a message once it is logged.
    pub(crate) fn passed(&self, ids: &[u64]) -> usize {
        let log = self.log();
        ids.iter()
            .filter(|id| log.contains(&format!("no answer to message {id}:")))
            .count()
    }

    /// Waits until the bot has passed over every message of `ids` (see [`Bot::passed`]).
    pub(crate) async fn passed_over(&self, ids: &[u64]) {
        let all = wait_until_async(WAIT, || self.passed(ids) == ids.len()).await;
        assert!(all, "messages {ids:?} not all passed over\n{}", self.log());
    }

    /// The next reply posted to `channel` after `after` requests were recorded.
    pub(crate) async fn reply_in(&self, channel: u64, after: usize) -> Recorded {
        let path = format!("/channels/{channel}/messages");
        self.wait_nth(after, |r| {
            r.method == "POST" && r.path == path && r.status == 200
        })
        .await
        .unwrap_or_else(|| panic!("no reply in {channel}\n{}", self.log()))
    }

    /// The first request matching `pred` among those recorded after the first `after`.
    pub(crate) async fn wait_nth(
        &self,
        after: usize,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Option<Recorded> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(found) = self.emulator.requests().into_iter().skip(after).find(&pred) {
                return Some(found);
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The callback for interaction `id`.
    pub(crate) async fn callback(&self, id: u64) -> Value {
        let prefix = format!("/interactions/{id}/");
        let found = self
            .emulator
            .wait_request(WAIT, |r| {
                r.path.starts_with(&prefix) && r.path.ends_with("/callback")
            })
            .await
            .unwrap_or_else(|| panic!("no callback for interaction {id}\n{}", self.log()));
        assert_accepted(&found);
        found.body
    }

    /// The interaction's visible response: the callback's data, or, when it deferred, the
    /// edit of the original response or the first follow-up (which Discord shows in place of
    /// the "thinking…" message).
    pub(crate) async fn response(&self, id: u64) -> Value {
        let callback = self.callback(id).await;
        if callback["type"] == 5 {
            let edit = self
                .emulator
                .wait_request(WAIT, |r| {
                    let token = format!("/webhooks/{APP_ID}/emulated-interaction-token-{id}");
                    (r.method == "PATCH" && r.path == format!("{token}/messages/@original"))
                        || (r.method == "POST" && r.path == token)
                })
                .await
                .unwrap_or_else(|| {
                    panic!(
                        "deferred and never answered\n{}\n{}",
                        self.calls(),
                        self.log()
                    )
                });
            assert_accepted(&edit);
            return edit.body;
        }
        assert_eq!(callback["type"], 4, "{callback}");
        callback["data"].clone()
    }

    /// A `/careerbot <subcommand>` interaction by `user` with `permissions`.
    pub(crate) fn careerbot(&self, subcommand: &str, user: u64, permissions: u64) -> Value {
        let options = json!([option(subcommand, 1, Value::Null)]);
        self.emulator.slash("careerbot", options, user, permissions)
    }

    /// A `/ask question:<question>` interaction by `user`.
    pub(crate) fn ask_call(&self, question: &str, user: u64) -> Value {
        let options = json!([option("question", 3, json!(question))]);
        self.emulator.slash("ask", options, user, 0)
    }

    /// Sends `/ask question` as `user`; the visible response.
    pub(crate) async fn ask(&self, question: &str, user: u64) -> Value {
        let id = self
            .emulator
            .interaction(self.ask_call(question, user))
            .await;
        self.response(id).await
    }

    /// Sends interaction `call` and asserts its response is private and says `needle`.
    pub(crate) async fn private_reply(&self, call: Value, needle: &str) -> Value {
        let id = self.emulator.interaction(call).await;
        let data = self.response(id).await;
        let content = data["content"].as_str().unwrap_or_default();
        assert!(content.contains(needle), "{data}");
        assert_eq!(
            data["flags"].as_u64().unwrap() & EPHEMERAL,
            EPHEMERAL,
            "{data}"
        );
        data
    }

    /// The recorded calls, one line each, for failure messages.
    pub(crate) fn calls(&self) -> String {
        self.emulator
            .requests()
            .iter()
            .map(|r| format!("{} {} -> {}: {}", r.method, r.path, r.status, r.body))
            .collect::<Vec<_>>()
            .join("\n")
    }

    pub(crate) fn count(&self, pred: impl Fn(&Recorded) -> bool) -> usize {
        self.emulator.requests().iter().filter(|r| pred(r)).count()
    }

    /// `/careerbot stats` as an admin, parsed into `name -> value`.
    pub(crate) async fn stats(&self) -> std::collections::HashMap<String, u64> {
        let admin = USER_ID + 1;
        let call = self.careerbot("stats", admin, MANAGE_GUILD);
        let id = self.emulator.interaction(call).await;
        let response = self.response(id).await;
        let text = response["content"].as_str().unwrap_or_default().to_owned();
        // The counters: the first code block (a report from the database may follow).
        let counters = text.split("```").nth(1).unwrap_or_default().to_owned();
        counters
            .lines()
            .filter_map(|line| {
                let mut parts = line.split_whitespace();
                Some((parts.next()?.to_owned(), parts.next()?.parse().ok()?))
            })
            .collect()
    }

    /// SIGTERM, then the exit status.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM")
    }

    /// Sends the signal `name` (`TERM`, `INT`, ...), then waits for the exit status.
    pub(crate) fn signal(&mut self, name: &str) -> std::process::ExitStatus {
        signal_and_wait(&mut self.child, name)
            .unwrap_or_else(|| panic!("the bot did not stop on SIG{name}\n{}", self.log()))
    }
}

/// Sends the signal `name` (`TERM`, `INT`, ...) to `child`; its exit status, or `None` when
/// it is still running 5 seconds later.
fn signal_and_wait(child: &mut Child, name: &str) -> Option<std::process::ExitStatus> {
    Command::new("kill")
        .args([format!("-{name}"), child.id().to_string()])
        .status()
        .unwrap();
    let mut status = None;
    wait_until(Duration::from_secs(5), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status
}

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let errors = self.emulator.errors();
        if !std::thread::panicking() {
            assert!(errors.is_empty(), "emulator errors: {errors:?}");
            let pinging = pinging(&self.emulator.requests());
            assert!(pinging.is_empty(), "sent able to ping: {pinging:#?}");
        }
    }
}

/// The components (buttons, menus) of every action row of a message or response.
pub(crate) fn components(message: &Value) -> Vec<&Value> {
    message["components"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap())
        .collect()
}

/// The custom ids of a message's buttons and menus.
pub(crate) fn custom_ids(message: &Value) -> Vec<String> {
    components(message)
        .into_iter()
        .filter_map(|c| c["custom_id"].as_str().map(str::to_owned))
        .collect()
}

/// Asserts the request was accepted (Discord's checks of limits passed).
#[track_caller]
fn assert_accepted(request: &Recorded) {
    assert!(
        (200..300).contains(&request.status),
        "refused with {}: {} {} {}",
        request.status,
        request.method,
        request.path,
        request.body
    );
}

/// True when a message body lets nobody be pinged.
fn pings_nobody(body: &Value) -> bool {
    let mentions = &body["allowed_mentions"];
    mentions["parse"] == json!([])
        && mentions["users"] == json!([])
        && mentions["roles"] == json!([])
        && mentions["replied_user"] == json!(false)
}

/// Every request that sent text (a message, an edit, an interaction response or follow-up)
/// without an empty `allowed_mentions`: checked after every bot test.
fn pinging(requests: &[Recorded]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| matches!(r.method.as_str(), "POST" | "PATCH"))
        .filter_map(|r| {
            let body = if r.path.ends_with("/callback") {
                &r.body["data"]
            } else {
                &r.body
            };
            let sends_text = ["content", "embeds", "components"]
                .iter()
                .any(|key| !body[key].is_null());
            (sends_text && !pings_nobody(body)).then(|| format!("{} {} {body}", r.method, r.path))
        })
        .collect()
}

/// Asserts a reply can ping nobody.
#[track_caller]
pub(crate) fn assert_no_pings(body: &Value) {
    assert!(pings_nobody(body), "{body}");
}

/// A question the engine answers with confidence at least `min`, from the intents' own
/// examples (so the test is not tied to one wording).
pub(crate) fn confident_question(engine: &Engine, min: f32) -> (String, String) {
    question_answered(engine, min..=1.0)
}

/// One of the intents' own examples that the engine answers (as its own intent) with a
/// confidence within `confidence`, and that intent.
pub(crate) fn question_answered(
    engine: &Engine,
    confidence: impl std::ops::RangeBounds<f32>,
) -> (String, String) {
    engine
        .intents()
        .iter()
        .flat_map(|i| i.examples.iter().map(move |e| (e.clone(), i.id.clone())))
        .find(|(e, id)| {
            let reply = engine.reply(e);
            reply.decision == Decision::Answer
                && reply.intent.as_deref() == Some(id)
                && confidence.contains(&reply.confidence)
        })
        .unwrap_or_else(|| panic!("no example is answered within the confidence asked"))
}

const DEFAULTS: &str = "";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_are_registered_globally_at_ready_without_privileged_intents() {
    let bot = Bot::shipped(DEFAULTS).await;
    let put = bot
        .emulator
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT" && r.path.contains("/commands"))
        .unwrap();
    assert_eq!(put.path, format!("/applications/{APP_ID}/commands"));
    let commands = put.body.as_array().unwrap();
    let names: Vec<&str> = commands
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in ["ask", "course", "topics", "careerbot"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let admin = commands.iter().find(|c| c["name"] == "careerbot").unwrap();
    assert_eq!(
        admin["default_member_permissions"],
        MANAGE_GUILD.to_string()
    );
    let subcommands: Vec<&str> = admin["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert!(subcommands.contains(&"reload") && subcommands.contains(&"stats"));
    let course = commands.iter().find(|c| c["name"] == "course").unwrap();
    assert_eq!(course["options"][0]["autocomplete"], true, "{course}");
    let intents = bot.emulator.identify_intents().unwrap();
    assert_eq!(
        intents & MESSAGE_CONTENT,
        0,
        "mentions and DMs need no privileges"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_guild_and_answer_channels_change_registration_and_intents() {
    let config = format!("[discord]\ndev_guild = {GUILD_ID}\nanswer_channels = [{WATCHED}]\n");
    let bot = Bot::shipped(&config).await;
    let put = bot
        .emulator
        .wait_request(WAIT, |r| r.method == "PUT" && r.path.contains("/commands"))
        .await
        .unwrap();
    assert_eq!(
        put.path,
        format!("/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    );
    let intents = bot.emulator.identify_intents().unwrap();
    assert_ne!(intents & MESSAGE_CONTENT, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_is_answered_with_the_right_intent_and_pings_nobody() {
    let bot = Bot::shipped(DEFAULTS).await;
    let question =
        "what degree do I need to become a backend engineer? @everyone @here <@&1234567> <@98765>";
    let expected = shipped_engine().reply(question);
    assert_eq!(expected.decision, Decision::Answer);
    let before = bot.emulator.requests().len();
    let content = format!("<@{BOT_ID}> {question}");
    bot.emulator
        .message(Msg::guild(CHANNEL_ID, USER_ID, content).mentioning_bot())
        .await;
    let reply = bot.reply_in(CHANNEL_ID, before).await;
    let embed = &reply.body["embeds"][0];
    assert_eq!(embed["title"], expected.title.unwrap().as_str());
    let answer = expected.answer.unwrap();
    assert!(embed["description"]
        .as_str()
        .unwrap()
        .starts_with(answer.trim().lines().next().unwrap()));
    assert_no_pings(&reply.body);
    assert!(
        reply.body["message_reference"]["message_id"].is_string(),
        "{}",
        reply.body
    );
    // Related topics and feedback buttons, each custom id within Discord's limit.
    let ids = custom_ids(&reply.body);
    assert!(ids.iter().any(|id| id.starts_with("cb:v:up:")), "{ids:?}");
    assert!(ids.iter().all(|id| id.len() <= 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_of_the_bots_own_role_addresses_it_and_other_roles_do_not() {
    let bot = Bot::shipped(DEFAULTS).await;
    // Events wait in poise until the bot is set up, then run in tasks of their own: the
    // server's GUILD_CREATE (which names the bot's role) may still be pending.
    let learned =
        wait_until_async(WAIT, || bot.log().contains("learned the bot's own roles")).await;
    assert!(learned, "the bot never learned its role\n{}", bot.log());
    let (question, intent) = confident_question(shipped_engine(), 0.5);
    let title = &shipped_engine().intent(&intent).unwrap().title;
    // Another role's mention in an unwatched channel: not addressed to the bot.
    let other_role = BOT_ROLE_ID + 1;
    let other = bot
        .emulator
        .message(
            Msg::guild(CHANNEL_ID, USER_ID, format!("<@&{other_role}> {question}"))
                .mentioning_role(other_role),
        )
        .await;
    bot.passed_over(&[other]).await;
    let before = bot.emulator.requests().len();
    // The role Discord manages for the bot (the one members pick from the mention list).
    bot.emulator
        .message(
            Msg::guild(CHANNEL_ID, USER_ID, format!("<@&{BOT_ROLE_ID}> {question}"))
                .mentioning_role(BOT_ROLE_ID),
        )
        .await;
    let reply = bot.reply_in(CHANNEL_ID, before).await;
    assert_eq!(reply.body["embeds"][0]["title"], title.as_str());
    assert_eq!(
        bot.count(|r| r.method == "POST" && r.path.ends_with("/messages")),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_message_is_answered_without_a_mention() {
    let bot = Bot::shipped(DEFAULTS).await;
    let (question, intent) = confident_question(shipped_engine(), 0.5);
    let title = shipped_engine().intent(&intent).unwrap().title.clone();
    let dm = CHANNEL_ID + 99;
    let before = bot.emulator.requests().len();
    bot.emulator.message(Msg::dm(dm, USER_ID, question)).await;
    let reply = bot.reply_in(dm, before).await;
    assert_eq!(reply.body["embeds"][0]["title"], title.as_str());
    assert_no_pings(&reply.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_not_in_english_gets_one_short_reply_saying_so() {
    let bot = Bot::shipped(DEFAULTS).await;
    let question = "¿Cómo puedo ser desarrollador backend si no tengo título?";
    let reply = shipped_engine().reply(question);
    assert_eq!(reply.language, Some("spa"), "{reply:?}");
    let dm = CHANNEL_ID + 98;
    let before = bot.emulator.requests().len();
    bot.emulator.message(Msg::dm(dm, USER_ID, question)).await;
    let sent = bot.reply_in(dm, before).await;
    let not_english = careerbot::config::Settings::defaults().replies.not_english;
    assert_eq!(sent.body["content"], not_english.as_str(), "{}", sent.body);
    assert!(sent.body["embeds"].as_array().is_none_or(|e| e.is_empty()));
    assert!(
        custom_ids(&sent.body).is_empty(),
        "no suggestions: {}",
        sent.body
    );
    assert_no_pings(&sent.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_questions_in_one_message_get_both_answers_in_one_message() {
    let bot = Bot::shipped(DEFAULTS).await;
    let engine = shipped_engine();
    let question = "should I learn go or java first, and what projects should I build?";
    let rule = careerbot::config::Settings::defaults().conversation.rule();
    let expected = engine.reply_after(question, None, &rule);
    let also = expected
        .also
        .as_deref()
        .expect("the shipped set answers both halves");
    assert_ne!(also.intent, expected.intent);
    let dm = CHANNEL_ID + 97;
    let before = bot.emulator.requests().len();
    bot.emulator.message(Msg::dm(dm, USER_ID, question)).await;
    let reply = bot.reply_in(dm, before).await;
    let embeds = reply.body["embeds"].as_array().expect("embeds");
    assert_eq!(embeds.len(), 2, "{}", reply.body);
    for (n, answer) in [&expected, also].into_iter().enumerate() {
        let title = format!("{}. {}", n + 1, answer.title.as_deref().unwrap());
        assert_eq!(embeds[n]["title"], title.as_str(), "{}", reply.body);
    }
    // Votes for each answer; exactly one message.
    let ids = custom_ids(&reply.body);
    for answer in [&expected, also] {
        let vote = format!(":{}", answer.intent.as_deref().unwrap());
        assert!(
            ids.iter()
                .any(|id| id.starts_with("cb:v:up:") && id.ends_with(&vote)),
            "{ids:?}"
        );
    }
    assert_no_pings(&reply.body);
    // A question followed by a remark is one question.
    let one = "how do I learn system design? I have no idea where to start";
    assert!(engine.reply_after(one, None, &rule).also.is_none());
    let before = bot.emulator.requests().len();
    bot.emulator.message(Msg::dm(dm, USER_ID, one)).await;
    let reply = bot.reply_in(dm, before).await;
    assert!(
        reply.body["embeds"].as_array().is_none_or(|e| e.len() <= 1),
        "{}",
        reply.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_s_own_bar_stops_an_unasked_answer_the_channel_s_bar_allows() {
    let engine = shipped_engine();
    // A question answered surely enough for the channel (0.5), not for a bar of 0.99.
    let (question, intent) = question_answered(engine, 0.6..0.95);
    let dir = crate::admin::intents_copy();
    crate::support::set_min_confidence(dir.path(), &intent, 0.99);
    let config =
        format!("[discord]\nanswer_channels = [{WATCHED}]\nchannel_min_confidence = 0.5\n");
    let bot = Bot::start(&config, dir.path()).await;
    let unasked = bot
        .emulator
        .message(Msg::guild(WATCHED, USER_ID, question.clone()))
        .await;
    bot.passed_over(&[unasked]).await;
    // Asked by name, it is answered.
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(WATCHED, USER_ID, format!("<@{BOT_ID}> {question}")).mentioning_bot())
        .await;
    let reply = bot.reply_in(WATCHED, before).await;
    let title = &engine.intent(&intent).unwrap().title;
    assert_eq!(reply.body["embeds"][0]["title"], title.as_str());
    assert_eq!(
        bot.count(|r| r.method == "POST" && r.path.ends_with("/messages")),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unaddressed_messages_and_bots_are_ignored() {
    let bot = Bot::shipped(DEFAULTS).await;
    let (question, _) = confident_question(shipped_engine(), 0.5);
    let before = bot.emulator.requests().len();
    let mention = format!("<@{BOT_ID}> {question}");
    let ignored = [
        // Not mentioned, in a channel nobody configured.
        Msg::guild(CHANNEL_ID, USER_ID, question.clone()),
        // Another bot mentioning careerbot, and careerbot itself.
        Msg::guild(CHANNEL_ID, USER_ID + 5, mention.clone())
            .mentioning_bot()
            .by_bot(),
        Msg::guild(CHANNEL_ID, BOT_ID, mention.clone())
            .mentioning_bot()
            .by_bot(),
    ];
    let mut ids = Vec::new();
    for message in ignored {
        ids.push(bot.emulator.message(message).await);
    }
    // Then a real mention: the only one answered.
    bot.emulator
        .message(Msg::guild(CHANNEL_ID, USER_ID, mention).mentioning_bot())
        .await;
    bot.reply_in(CHANNEL_ID, before).await;
    bot.passed_over(&ids).await;
    let replies = bot.count(|r| r.method == "POST" && r.path.ends_with("/messages"));
    assert_eq!(replies, 1, "{}", bot.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watched_channel_is_answered_only_when_confident() {
    let config =
        format!("[discord]\nanswer_channels = [{WATCHED}]\nchannel_min_confidence = 0.7\n");
    let bot = Bot::shipped(&config).await;
    let engine = shipped_engine();
    let (sure, intent) = confident_question(engine, 0.7);
    let off_topic = "what should I cook for dinner tonight with pasta";
    assert_eq!(engine.reply(off_topic).decision, Decision::Fallback);
    let before = bot.emulator.requests().len();
    let off_topic = bot
        .emulator
        .message(Msg::guild(WATCHED, USER_ID, off_topic))
        .await;
    bot.emulator
        .message(Msg::guild(WATCHED, USER_ID, sure))
        .await;
    let reply = bot.reply_in(WATCHED, before).await;
    let title = engine.intent(&intent).unwrap().title.clone();
    assert_eq!(reply.body["embeds"][0]["title"], title.as_str());
    // An answer below the channel's bar (but above the fallback's): left alone there, yet
    // answered when the bot is mentioned.
    let (unsure, unsure_intent) = engine
        .intents()
        .iter()
        .flat_map(|i| i.examples.iter().map(move |e| (e, &i.id)))
        .flat_map(|(e, id)| {
            let words: Vec<&str> = e.split_whitespace().collect();
            (1..words.len()).map(move |n| (words[..n].join(" "), id.clone()))
        })
        .find(|(q, id)| {
            let reply = engine.reply(q);
            reply.decision == Decision::Answer
                && reply.intent.as_ref() == Some(id)
                && (0.45..0.65).contains(&reply.confidence)
        })
        .expect("some shortened example is answered without much confidence");
    let unsure_id = bot
        .emulator
        .message(Msg::guild(WATCHED, USER_ID + 1, unsure.clone()))
        .await;
    bot.passed_over(&[off_topic, unsure_id]).await;
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(WATCHED, USER_ID + 1, format!("<@{BOT_ID}> {unsure}")).mentioning_bot())
        .await;
    let reply = bot.reply_in(WATCHED, before).await;
    let title = &engine.intent(&unsure_intent).unwrap().title;
    assert_eq!(reply.body["embeds"][0]["title"], title.as_str());
    assert_eq!(
        bot.count(|r| r.method == "POST" && r.path.ends_with("/messages")),
        2
    );
    let stats = bot.stats().await;
    assert_eq!(stats["unconfident_silent"], 2, "{stats:?}");
    assert_eq!(stats["answers"], 2, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slash_ask_answers_in_an_embed_and_buttons_answer_follow_ups_and_take_votes() {
    let bot = Bot::shipped(DEFAULTS).await;
    let engine = shipped_engine();
    // A question whose answer has related topics.
    let (question, intent) = engine
        .intents()
        .iter()
        .filter(|i| !i.follow_ups.is_empty())
        .flat_map(|i| i.examples.iter().map(move |e| (e.clone(), i.id.clone())))
        .find(|(e, id)| engine.reply(e).intent.as_deref() == Some(id))
        .unwrap();
    let data = bot.ask(&question, USER_ID).await;
    assert_eq!(
        data["embeds"][0]["title"],
        engine.intent(&intent).unwrap().title.as_str()
    );
    assert_no_pings(&data);
    let ids = custom_ids(&data);
    // A related-topic button answers that topic, privately.
    let related = ids.iter().find(|id| id.starts_with("cb:a:")).unwrap();
    let follow_up = related.trim_start_matches("cb:a:");
    let click = bot.emulator.component(related, 2, &[], USER_ID);
    let click_id = bot.emulator.interaction(click).await;
    let answer = bot.response(click_id).await;
    assert_eq!(
        answer["embeds"][0]["title"],
        engine.intent(follow_up).unwrap().title.as_str()
    );
    assert_eq!(answer["flags"].as_u64().unwrap() & EPHEMERAL, EPHEMERAL);
    assert_no_pings(&answer);
    // A 👍 is acknowledged privately and counted.
    let up = ids.iter().find(|id| id.starts_with("cb:v:up:")).unwrap();
    let vote = bot.emulator.component(up, 2, &[], USER_ID);
    bot.private_reply(vote, "Thanks").await;
    let stats = bot.stats().await;
    assert_eq!(stats["votes_up"], 1, "{stats:?}");
    assert_eq!(stats["votes_down"], 0, "{stats:?}");
}

/// The course search intent of the shipped set (found by its action, not its name).
pub(crate) fn course_search(engine: &Engine) -> &careerbot::engine::intents::Intent {
    engine
        .intents()
        .iter()
        .find(|i| i.action == Some(careerbot::engine::intents::Action::SearchCourses))
        .expect("the shipped intents search courses")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_is_read_in_its_own_conversation_only() {
    let bot = Bot::shipped(DEFAULTS).await;
    let engine = shipped_engine();
    let search = course_search(engine);
    let follow_up = "what about docker?";
    let alone = engine.reply(follow_up);
    assert_ne!(
        alone.intent.as_deref(),
        Some(search.id.as_str()),
        "{alone:?}"
    );
    let mention = |user: u64, text: &str| {
        Msg::guild(CHANNEL_ID, user, format!("<@{BOT_ID}> {text}")).mentioning_bot()
    };
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(mention(USER_ID, "any course on sql"))
        .await;
    let first = bot.reply_in(CHANNEL_ID, before).await;
    assert_eq!(first.body["embeds"][0]["title"], search.title.as_str());
    // The same member, same channel: the follow-up searches its own topic.
    let before = bot.emulator.requests().len();
    bot.emulator.message(mention(USER_ID, follow_up)).await;
    let second = bot.reply_in(CHANNEL_ID, before).await;
    let embed = &second.body["embeds"][0];
    assert_eq!(embed["title"], search.title.as_str(), "{}", second.body);
    let courses = embed["fields"][0]["value"].as_str().unwrap_or_default();
    let docker = engine
        .set()
        .courses()
        .iter()
        .find(|c| c.topics.iter().any(|t| t == "docker"))
        .expect("a docker course ships");
    assert!(courses.contains(&docker.url), "{courses}");
    assert_no_pings(&second.body);
    // Another member in the same channel has no conversation yet: matched alone.
    let before = bot.emulator.requests().len();
    bot.emulator.message(mention(USER_ID + 1, follow_up)).await;
    let third = bot.reply_in(CHANNEL_ID, before).await;
    match alone.title {
        Some(title) => assert_eq!(third.body["embeds"][0]["title"], title.as_str()),
        None => assert!(third.body["embeds"][0]["title"].is_null(), "{}", third.body),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_more_button_shows_the_details_and_ask_mentions_and_buttons_share_a_conversation() {
    let bot = Bot::shipped(DEFAULTS).await;
    let engine = shipped_engine();
    let question = "do i need a degree";
    let degree = engine
        .intent(engine.reply(question).intent.as_deref().unwrap())
        .unwrap();
    let details = degree
        .details
        .as_deref()
        .expect("the degree answer has details");
    let first_line = details.lines().next().unwrap();
    let data = bot.ask(question, USER_ID).await;
    assert_eq!(data["embeds"][0]["title"], degree.title.as_str());
    let more = format!("cb:m:{}", degree.id);
    let ids = custom_ids(&data);
    assert!(ids.contains(&more), "{ids:?}");
    // An answer without details has no More button.
    let plain = engine
        .intents()
        .iter()
        .filter(|i| i.details.is_none() && !i.decline && i.action.is_none())
        .flat_map(|i| i.examples.iter().map(move |e| (e, i)))
        .find(|(e, i)| engine.reply(e).intent.as_deref() == Some(&i.id))
        .unwrap();
    let other = bot.ask(plain.0, USER_ID + 1).await;
    assert!(
        !custom_ids(&other).iter().any(|id| id.starts_with("cb:m:")),
        "{other}"
    );
    // The button shows the details, privately.
    let click = bot.emulator.component(&more, 2, &[], USER_ID);
    let click_id = bot.emulator.interaction(click).await;
    let shown = bot.response(click_id).await;
    let description = shown["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(description.starts_with(first_line), "{shown}");
    assert_eq!(shown["flags"].as_u64().unwrap() & EPHEMERAL, EPHEMERAL);
    assert!(
        !custom_ids(&shown).contains(&more),
        "no More under the details: {shown}"
    );
    // The same conversation, by mention: the details were shown, so the related topics.
    let more_intent = engine
        .intents()
        .iter()
        .find(|i| i.action == Some(careerbot::engine::intents::Action::More))
        .unwrap();
    let before = bot.emulator.requests().len();
    let content = format!("<@{BOT_ID}> tell me more");
    bot.emulator
        .message(Msg::guild(CHANNEL_ID, USER_ID, content).mentioning_bot())
        .await;
    let reply = bot.reply_in(CHANNEL_ID, before).await;
    assert_eq!(reply.body["embeds"][0]["title"], more_intent.title.as_str());
    let related = custom_ids(&reply.body);
    let first_related = format!("cb:a:{}", degree.follow_ups[0]);
    assert!(related.contains(&first_related), "{related:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clarify_asks_which_with_one_button_per_candidate_and_a_button_answers_it() {
    let bot = Bot::shipped(DEFAULTS).await;
    let engine = shipped_engine();
    // Two intents' questions run together: found among the intents' own examples, so the
    // test holds whatever the wording of the shipped files.
    let firsts: Vec<&String> = engine
        .intents()
        .iter()
        .filter_map(|i| i.examples.first())
        .collect();
    let (question, reply) = firsts
        .iter()
        .flat_map(|a| firsts.iter().map(move |b| format!("{a} or {b}")))
        .map(|q| {
            let reply = engine.reply(&q);
            (q, reply)
        })
        .find(|(_, reply)| reply.decision == Decision::Clarify)
        .expect("some pair of questions makes the engine ask which");
    let data = bot.ask(&question, USER_ID).await;
    assert_no_pings(&data);
    assert!(
        data["embeds"].as_array().is_none_or(Vec::is_empty),
        "{data}"
    );
    let buttons = components(&data);
    let labels: Vec<&str> = buttons.iter().filter_map(|b| b["label"].as_str()).collect();
    let titles: Vec<&str> = reply
        .candidates
        .iter()
        .map(|c| engine.intent(&c.intent).unwrap().title.as_str())
        .collect();
    assert_eq!(labels, titles, "{data}");
    assert!((2..=3).contains(&labels.len()), "{data}");
    // Choosing the second candidate answers it.
    let second = buttons[1]["custom_id"].as_str().unwrap();
    let click = bot.emulator.component(second, 2, &[], USER_ID);
    let click_id = bot.emulator.interaction(click).await;
    let answer = bot.response(click_id).await;
    assert_eq!(answer["embeds"][0]["title"], titles[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fallback_says_so_offers_at_most_three_suggestions_and_points_to_topics() {
    let bot = Bot::shipped(DEFAULTS).await;
    let question = "what is the best recipe for sourdough bread";
    assert_eq!(
        shipped_engine().reply(question).decision,
        Decision::Fallback
    );
    let data = bot.ask(question, USER_ID).await;
    let content = data["content"].as_str().unwrap();
    assert!(content.contains("/topics"), "{content}");
    assert!(components(&data).len() <= 3, "{data}");
    assert_no_pings(&data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn course_autocomplete_and_lookup_come_from_the_catalog() {
    let bot = Bot::shipped(DEFAULTS).await;
    let typing = bot.emulator.autocomplete(
        "course",
        json!([{"name": "topic", "type": 3, "value": "sq", "focused": true}]),
        USER_ID,
    );
    let id = bot.emulator.interaction(typing).await;
    let callback = bot.callback(id).await;
    assert_eq!(callback["type"], 8, "{callback}");
    let choices = callback["data"]["choices"].as_array().unwrap();
    assert!(!choices.is_empty() && choices.len() <= 25, "{callback}");
    assert!(choices
        .iter()
        .all(|c| c["name"].as_str().unwrap().chars().count() <= 100));
    assert!(
        choices
            .iter()
            .any(|c| c["name"].as_str().unwrap().to_lowercase().contains("sql")),
        "{callback}"
    );
    let everything = bot.emulator.autocomplete(
        "course",
        json!([{"name": "topic", "type": 3, "value": "", "focused": true}]),
        USER_ID,
    );
    let id = bot.emulator.interaction(everything).await;
    let all = bot.callback(id).await;
    assert_eq!(
        all["data"]["choices"].as_array().unwrap().len(),
        25,
        "{all}"
    );

    let lookup = bot.emulator.slash(
        "course",
        json!([
            option("topic", 3, json!("sql")),
            option("free", 5, json!(true))
        ]),
        USER_ID,
        0,
    );
    let id = bot.emulator.interaction(lookup).await;
    let data = bot.response(id).await;
    let listed = data["embeds"][0]["description"].as_str().unwrap();
    let engine = shipped_engine();
    let free_sql: Vec<_> = engine
        .catalog()
        .courses()
        .iter()
        .filter(|c| c.free && c.topics.iter().any(|t| t.to_lowercase().contains("sql")))
        .collect();
    assert!(!free_sql.is_empty());
    assert!(free_sql.iter().any(|c| listed.contains(&c.url)), "{listed}");
    assert!(!listed.contains(", paid"), "{listed}");

    // The topic's own level and price words filter too; "java" is not JavaScript.
    for (topic, absent) in [
        (
            "free beginner go",
            vec![", paid", ", intermediate", ", advanced"],
        ),
        ("java", vec!["JavaScript", "javascript"]),
    ] {
        let lookup = bot.emulator.slash(
            "course",
            json!([option("topic", 3, json!(topic))]),
            USER_ID,
            0,
        );
        let id = bot.emulator.interaction(lookup).await;
        let data = bot.response(id).await;
        let listed = data["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(listed.contains("https://"), "{topic}: {data}");
        for word in absent {
            assert!(!listed.contains(word), "{topic}: {listed}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_lists_every_intent_and_its_menu_answers_the_choice() {
    let bot = Bot::shipped(DEFAULTS).await;
    let engine = shipped_engine();
    let call = bot.emulator.slash("topics", Value::Null, USER_ID, 0);
    let id = bot.emulator.interaction(call).await;
    let data = bot.response(id).await;
    let menu = &data["components"][0]["components"][0];
    assert_eq!(menu["type"], 3, "{data}");
    let values: Vec<&str> = data["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["components"][0]["options"].as_array().unwrap())
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    // Every intent but the declines and the conversation around questions (greetings,
    // thanks, "tell me more"): neither is a topic to offer.
    let topics: Vec<_> = engine.intents().iter().filter(|i| i.is_topic()).collect();
    assert!(
        engine.intents().iter().any(|i| i.decline),
        "the shipped set has declines"
    );
    let unlisted: Vec<_> = engine.intents().iter().filter(|i| i.unlisted).collect();
    assert!(!unlisted.is_empty(), "the shipped set has unlisted intents");
    assert_eq!(values.len(), topics.len());
    assert!(topics.iter().all(|i| values.contains(&i.id.as_str())));
    assert!(unlisted.iter().all(|i| !values.contains(&i.id.as_str())));
    let chosen = topics.last().unwrap();
    let custom_id = menu["custom_id"].as_str().unwrap();
    let pick = bot
        .emulator
        .component(custom_id, 3, &[chosen.id.as_str()], USER_ID);
    let pick_id = bot.emulator.interaction(pick).await;
    let answer = bot.response(pick_id).await;
    assert_eq!(answer["embeds"][0]["title"], chosen.title.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_refuse_members_without_manage_server() {
    let bot = Bot::shipped(DEFAULTS).await;
    let call = bot.careerbot("reload", USER_ID, 0);
    bot.private_reply(call, "Manage Server").await;
    let stats = bot.stats().await;
    assert_eq!(stats["reloads"], 0);
    assert_eq!(stats["refused_reloads"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_takes_a_good_edit_and_refuses_a_broken_one_keeping_the_old_set() {
    let dir = crate::admin::intents_copy();
    // Only the command reloads here (the watcher could take the edit first, and the command
    // would then find nothing to reload).
    let bot = Bot::start("[admin]\nwatch = false\n", dir.path()).await;
    let admin = USER_ID + 1;
    let reload = |bot: &Bot| bot.careerbot("reload", admin, MANAGE_GUILD);
    // A good edit: a new intent goes live.
    let extra = "\n[[intent]]\nid = \"meta.zebra\"\ntitle = \"Zebra facts\"\nexamples = [\"tell me zebra facts\", \"zebra stripes facts\", \"why do zebras have stripes\", \"zebra trivia please\", \"facts about zebras\"]\nanswer = \"Zebras are striped.\"\n";
    let meta = dir.path().join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, format!("{original}{extra}")).unwrap();
    let id = bot.emulator.interaction(reload(&bot)).await;
    let data = bot.response(id).await;
    assert!(
        data["content"].as_str().unwrap().starts_with("Reloaded"),
        "{data}"
    );
    let zebra = bot.ask("why do zebras have stripes", USER_ID + 2).await;
    assert_eq!(zebra["embeds"][0]["title"], "Zebra facts");
    // A broken edit: refused with path:line:col, and the previous set keeps answering.
    std::fs::write(
        &meta,
        format!("{original}{extra}\n[[intent]]\nid = \"meta.broken\"\ntitle = 5\n"),
    )
    .unwrap();
    let id = bot.emulator.interaction(reload(&bot)).await;
    let data = bot.response(id).await;
    let text = data["content"].as_str().unwrap();
    assert!(text.starts_with("Reload refused"), "{text}");
    let located = regex::Regex::new(r"meta\.toml:\d+:\d+: ").unwrap();
    assert!(located.is_match(text), "{text}");
    let zebra = bot.ask("tell me zebra facts", USER_ID + 2).await;
    assert_eq!(zebra["embeds"][0]["title"], "Zebra facts");
    // Both reloads are in the audit log, under the admin who asked.
    let db = careerbot::admin::store::Database::file(bot.database());
    let log = crate::guilds::audit_log(&db, 2).await;
    assert!(
        log.iter()
            .all(|e| e.action == "reload" && e.admin_id == Some(admin)),
        "{log:#?}"
    );
    assert!(log[0].outcome.starts_with("refused: "), "{log:#?}");
    assert_eq!(log[1].outcome, "done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_gateway_traffic_is_ignored_and_the_bot_keeps_answering() {
    let bot = Bot::shipped(DEFAULTS).await;
    bot.emulator.raw_frame("{this is not json").await;
    bot.emulator
        .raw_frame(&"\u{0}\u{1}binary?".repeat(100))
        .await;
    bot.emulator
        .dispatch("SOMETHING_DISCORD_ADDS_LATER", json!({"x": 1}))
        .await;
    bot.emulator
        .dispatch("MESSAGE_CREATE", json!({"garbage": true}))
        .await;
    bot.emulator
        .dispatch("INTERACTION_CREATE", json!({"type": 99}))
        .await;
    // A huge, markup-laden message.
    let huge = format!(
        "<@{BOT_ID}> {}",
        "**@everyone** ```code``` <a:x:1> ".repeat(400)
    );
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(CHANNEL_ID, USER_ID, huge).mentioning_bot())
        .await;
    let reply = bot.reply_in(CHANNEL_ID, before).await;
    assert_no_pings(&reply.body);
    let (question, intent) = confident_question(shipped_engine(), 0.5);
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(
            Msg::guild(CHANNEL_ID, USER_ID + 3, format!("<@{BOT_ID}> {question}")).mentioning_bot(),
        )
        .await;
    let reply = bot.reply_in(CHANNEL_ID, before).await;
    let title = shipped_engine().intent(&intent).unwrap().title.clone();
    assert_eq!(reply.body["embeds"][0]["title"], title.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_replies_are_retried_once_then_dropped_and_the_next_message_is_answered() {
    let bot = Bot::shipped(DEFAULTS).await;
    let (question, _) = confident_question(shipped_engine(), 0.5);
    let mention = format!("<@{BOT_ID}> {question}");
    let path = format!("/channels/{CHANNEL_ID}/messages");
    let statuses = |since: usize| -> Vec<u16> {
        let requests = bot.emulator.requests();
        let replies = requests[since..].iter().filter(|r| r.path == path);
        replies.map(|r| r.status).collect()
    };
    // One 429: the retry gets through.
    bot.emulator.fail_next("POST", &path, 429, 1);
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(CHANNEL_ID, USER_ID, mention.clone()).mentioning_bot())
        .await;
    bot.reply_in(CHANNEL_ID, before).await;
    assert_eq!(statuses(before), [429, 200]);
    // 500 twice: that reply is lost (and logged), the bot carries on.
    bot.emulator.fail_next("POST", &path, 500, 2);
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(CHANNEL_ID, USER_ID + 1, mention.clone()).mentioning_bot())
        .await;
    // Dropped after its one retry (both refused): the 500s are used up.
    let dropped = wait_until_async(WAIT, || bot.log().contains("could not send a reply")).await;
    assert!(dropped, "{}\n{}", bot.calls(), bot.log());
    assert_eq!(statuses(before), [500, 500]);
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(CHANNEL_ID, USER_ID + 2, mention).mentioning_bot())
        .await;
    bot.reply_in(CHANNEL_ID, before).await;
    let stats = bot.stats().await;
    assert_eq!(stats["failed_sends"], 1, "{stats:?}");
    assert!(
        bot.log().contains("could not send a reply"),
        "{}",
        bot.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_gateway_drops_the_bot_reconnects_and_answers() {
    let bot = Bot::shipped(DEFAULTS).await;
    bot.emulator.close_gateway(4000).await;
    let reconnected = wait_until_async(WAIT, || {
        bot.emulator.resume_count() + bot.emulator.identify_count() >= 2
    })
    .await;
    assert!(reconnected, "no reconnection\n{}", bot.log());
    assert!(bot.emulator.wait_ready(WAIT).await);
    let (question, _) = confident_question(shipped_engine(), 0.5);
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(
            Msg::guild(CHANNEL_ID, USER_ID, format!("<@{BOT_ID}> {question}")).mentioning_bot(),
        )
        .await;
    bot.reply_in(CHANNEL_ID, before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_user_gets_one_notice_then_silence_and_others_are_unaffected() {
    let config = "[discord]\ncooldown_questions = 2\ncooldown_seconds = 600\n";
    let bot = Bot::shipped(config).await;
    let (question, _) = confident_question(shipped_engine(), 0.5);
    let mention = format!("<@{BOT_ID}> {question}");
    let dm = CHANNEL_ID + 50;
    let mut sent = Vec::new();
    for _ in 0..5 {
        sent.push(
            bot.emulator
                .message(Msg::dm(dm, USER_ID, mention.clone()))
                .await,
        );
    }
    let other = CHANNEL_ID + 51;
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::dm(other, USER_ID + 1, mention.clone()))
        .await;
    bot.reply_in(other, before).await;
    let replies = || -> Vec<Value> {
        let path = format!("/channels/{dm}/messages");
        let requests = bot.emulator.requests().into_iter();
        requests
            .filter(|r| r.path == path)
            .map(|r| r.body)
            .collect()
    };
    let is_notice = |r: &Value| r["content"].as_str().is_some_and(|c| c.contains("faster"));
    // Each message is done once answered, or once passed over (after any notice).
    let answers = || replies().iter().filter(|r| !is_notice(r)).count();
    let done = wait_until_async(WAIT, || answers() + bot.passed(&sent) >= sent.len()).await;
    assert!(done, "{}\n{}", bot.calls(), bot.log());
    let replies = replies();
    assert_eq!(replies.len(), 3, "2 answers and 1 notice: {replies:?}");
    assert_eq!(replies.iter().filter(|r| is_notice(r)).count(), 1);
    // A throttled slash command gets a private notice every time, never silence.
    bot.private_reply(bot.ask_call(&question, USER_ID), "faster")
        .await;
    let stats = bot.stats().await;
    assert_eq!(stats["throttled"], 4, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_stop_the_bot_cleanly_and_even_trace_logs_hide_the_token() {
    for signal in ["TERM", "INT"] {
        // Everything at trace: the gateway library would print the IDENTIFY frame.
        let mut bot = Bot::start_logging(DEFAULTS, &shipped(), "trace").await;
        let (question, _) = confident_question(shipped_engine(), 0.5);
        let at = bot.emulator.requests().len();
        bot.emulator
            .message(Msg::dm(CHANNEL_ID + 99, USER_ID, question))
            .await;
        bot.reply_in(CHANNEL_ID + 99, at).await;
        let status = bot.signal(signal);
        assert!(status.success(), "SIG{signal}: {status:?}\n{}", bot.log());
        let log = bot.log();
        assert!(log.contains("TRACE"), "not a trace log:\n{log}");
        assert_no_token(&log);
    }
}

#[test]
fn a_signal_while_still_connecting_stops_the_bot_cleanly() {
    // An API that accepts connections and never answers: the bot waits for its gateway.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bot.log");
    for signal in ["TERM", "INT"] {
        let mut child = Command::new(bin())
            .args(["run", "--intents"])
            .arg(shipped())
            .env("DISCORD_TOKEN", FAKE_TOKEN)
            .env(
                "CAREERBOT_DISCORD__API_BASE",
                format!("http://{}", silent.local_addr().unwrap()),
            )
            .env("CAREERBOT_ADMIN__DATABASE", "")
            .env("RUST_LOG", "careerbot=info")
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        let connecting = wait_until(WAIT, || read().contains("go through a proxy"));
        assert!(connecting, "never started connecting:\n{}", read());
        let status = signal_and_wait(&mut child, signal)
            .unwrap_or_else(|| panic!("SIG{signal} ignored:\n{}", read()));
        assert!(status.success(), "SIG{signal}: {status:?}\n{}", read());
    }
}

/// Fails when `log` holds the token's secret part as text, hex or a list of byte values
/// (how a frame's payload prints with `{:?}`).
fn assert_no_token(log: &str) {
    let secret = FAKE_TOKEN.rsplit('.').next().unwrap();
    let hex: String = secret.bytes().map(|b| format!("{b:02x}")).collect();
    let decimal = secret
        .bytes()
        .map(|b| b.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    for (form, leaked) in [
        ("text", secret),
        ("hex", hex.as_str()),
        ("bytes", decimal.as_str()),
    ] {
        assert!(!log.contains(leaked), "the token was logged ({form})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_discord_refuses_stops_the_bot_with_one_line_saying_so() {
    let emulator = Emulator::start().await;
    // Well formed, but not the one Discord knows.
    let revoked = FAKE_TOKEN.replace("abc", "xyz");
    let mut command = Command::new(bin());
    command
        .args(["run", "--intents"])
        .arg(shipped())
        .env("DISCORD_TOKEN", &revoked)
        .env_remove("CAREERBOT_DISCORD__TOKEN")
        .env("CAREERBOT_DISCORD__API_BASE", emulator.api_base())
        .env("CAREERBOT_ADMIN__DATABASE", "");
    // The emulator answers on this runtime while the bot runs.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let last = stderr.trim().lines().last().unwrap_or_default();
    assert_eq!(
        last, "error: Discord refused the token in DISCORD_TOKEN",
        "{stderr}"
    );
    assert!(
        !stderr.contains(&revoked),
        "the token was printed: {stderr}"
    );
}

#[test]
fn a_missing_or_malformed_token_exits_2_with_one_line_naming_the_variable() {
    let cases = [
        None,
        Some(""),
        Some("not-a-token"),
        Some("a.b"),
        Some("a.b.c d"),
    ];
    // Each through DISCORD_TOKEN and through the layered config's environment override.
    for (token, variable) in cases
        .into_iter()
        .flat_map(|t| [(t, "DISCORD_TOKEN"), (t, "CAREERBOT_DISCORD__TOKEN")])
    {
        let mut command = Command::new(bin());
        command
            .arg("run")
            .env_remove("DISCORD_TOKEN")
            .env_remove("CAREERBOT_DISCORD__TOKEN")
            .env("CAREERBOT_DISCORD__API_BASE", "http://127.0.0.1:9");
        if let Some(token) = token {
            command.env(variable, token);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{token:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"));
        match token.filter(|t| !t.is_empty()) {
            // Malformed: the message names the variable the value came from.
            Some(token) => {
                assert!(
                    stderr.starts_with(&format!("error: {variable} ")),
                    "{stderr}"
                );
                assert!(!stderr.contains(token), "the token was printed: {stderr}");
            }
            None => assert!(stderr.contains("DISCORD_TOKEN is not set"), "{stderr}"),
        }
    }
    // A blank DISCORD_TOKEN does not hide a good token in the override: the bot goes on
    // to connect (and fails on the unreachable API instead).
    let output = Command::new(bin())
        .arg("run")
        .env("DISCORD_TOKEN", " ")
        .env("CAREERBOT_DISCORD__TOKEN", FAKE_TOKEN)
        .env("CAREERBOT_DISCORD__API_BASE", "http://127.0.0.1:9")
        .env("CAREERBOT_ADMIN__DATABASE", "")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach the Discord API"), "{stderr}");
}
