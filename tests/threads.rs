//! Forum posts and threads end to end: the real `careerbot run` against the Discord
//! emulator's forums (type 15, with tags) and public threads (type 11). As in `bot`, a check
//! that the bot said nothing waits for its log line passing the message over, and every
//! message the bot sent is checked for empty allowed mentions when the bot is dropped.

use std::path::Path;

use careerbot::admin::store::{Database, Outcome, Source, Store};
use careerbot::engine::matcher::Decision;
use careerbot::engine::Engine;
use serde_json::Value;

use crate::admin::mention;
use crate::bot::{
    confident_question, custom_ids, question_answered, Bot, EPHEMERAL, MANAGE_GUILD, WAIT,
};
use crate::support::discord::{Msg, Recorded, CHANNEL_ID, USER_ID};
use crate::support::{shipped_engine, wait_until_async};

/// The privileged Message Content gateway intent.
const MESSAGE_CONTENT: u64 = 1 << 15;
/// Another member, who replies in someone else's post.
const OTHER: u64 = USER_ID + 50;
/// A watched channel (`answer_channels`).
const WATCHED: u64 = CHANNEL_ID + 9;
/// The Manage Threads and Create Public Threads permission bits.
const MANAGE_THREADS: u64 = 1 << 34;
const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;

/// A post's body that adds nothing to its title.
const BODY: &str = "Any advice is welcome, thanks in advance.";

/// A post (title, body) the engine answers as `intent` with at least `min` confidence, the
/// way the bot asks it (title, then first message), from the intents' own examples.
pub(crate) fn confident_post(engine: &Engine, min: f32) -> (String, String) {
    engine
        .intents()
        .iter()
        .flat_map(|i| i.examples.iter().map(move |e| (e.clone(), i.id.clone())))
        .find(|(title, id)| {
            let reply = engine.reply(&format!("{title}\n{BODY}"));
            reply.decision == Decision::Answer
                && reply.intent.as_deref() == Some(id)
                && reply.confidence >= min
        })
        .expect("some example is answered surely as a post's title")
}

/// Settings watching `forum`, the `[discord]` settings `extra` added (the bar is 0.7
/// unless they set it).
fn forum_config(forum: u64, extra: &str) -> String {
    let bar = if extra.contains("channel_min_confidence") {
        ""
    } else {
        "channel_min_confidence = 0.7\n"
    };
    format!("[discord]\nforum_channels = [{forum}]\n{bar}{extra}")
}

/// Starts the bot on `intents` watching a forum offering `tags`, with `extra` settings of
/// `[discord]`; the bot and the forum's id.
async fn bot_with_forum(intents: &Path, tags: &[&str], extra: &str) -> (Bot, u64) {
    // The id goes into the settings before the bot (and its emulator) starts.
    let forum = CHANNEL_ID + 1_000;
    let bot = Bot::start(&forum_config(forum, extra), intents).await;
    bot.emulator.forum(forum, tags);
    (bot, forum)
}

fn posts_in(requests: &[Recorded], thread: u64) -> Vec<Recorded> {
    let path = format!("/channels/{thread}/messages");
    requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_forum_post_is_answered_inside_it_whichever_event_comes_first() {
    let engine = shipped_engine();
    let (bot, forum) = bot_with_forum(&crate::support::shipped(), &[], "").await;
    let intents = bot.emulator.identify_intents().unwrap();
    assert_ne!(
        intents & MESSAGE_CONTENT,
        0,
        "forums need the message content"
    );
    let (title, intent) = confident_post(engine, 0.7);
    let expected = &engine.intent(&intent).unwrap().title;
    for message_first in [false, true] {
        let before = bot.emulator.requests().len();
        let thread = if message_first {
            let thread = bot
                .emulator
                .forum_post_message_first(forum, USER_ID, &title, BODY)
                .await;
            // The bot has seen the message, and kept it for the post.
            let line = format!("message {thread} opens a post not announced yet");
            let kept = wait_until_async(WAIT, || bot.log().contains(&line)).await;
            assert!(kept, "{}", bot.log());
            bot.emulator.announce(thread).await;
            thread
        } else {
            bot.emulator.forum_post(forum, USER_ID, &title, BODY).await
        };
        let reply = bot.reply_in(thread, before).await;
        let body = &reply.body;
        assert_eq!(body["embeds"][0]["title"], expected.as_str(), "{body}");
        // A reply to the post's first message, whose id is the thread's.
        assert_eq!(body["message_reference"]["message_id"], thread.to_string());
        assert!(custom_ids(body).iter().any(|id| id.starts_with("cb:v:up:")));
    }
    // Each post once, and nothing anywhere else.
    let sent: Vec<_> = bot
        .emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .collect();
    assert_eq!(sent.len(), 2, "{}", bot.calls());
    // Discord announcing a post again changes nothing: its author's follow-up is still
    // answered, and nothing is asked twice.
    let thread = bot.emulator.forum_post(forum, USER_ID, &title, BODY).await;
    bot.reply_in(thread, 0).await;
    bot.emulator.announce(thread).await;
    let line = format!("post {thread} seen in a watched forum");
    let twice = wait_until_async(WAIT, || bot.log().matches(&line).count() == 2).await;
    assert!(twice, "{}", bot.log());
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(thread, USER_ID, title.clone()))
        .await;
    bot.reply_in(thread, before).await;
    assert_eq!(posts_in(&bot.emulator.requests(), thread).len(), 2);
    let stats = bot.stats().await;
    assert_eq!(stats["answers"], 4, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsure_post_is_left_alone_and_queued_as_is_one_its_intent_s_own_bar_stops() {
    let engine = shipped_engine();
    // A post answered surely enough for the forum's bar (0.5), not for its intent's 0.99.
    let (barred, barred_intent) = question_answered(engine, 0.6..0.95);
    let dir = crate::admin::intents_copy();
    crate::support::set_min_confidence(dir.path(), &barred_intent, 0.99);
    let extra = "channel_min_confidence = 0.5\n";
    let (bot, forum) = bot_with_forum(dir.path(), &[], extra).await;
    let off_topic = bot
        .emulator
        .forum_post(
            forum,
            USER_ID,
            "Pasta tonight",
            "what should I cook for dinner tonight with pasta",
        )
        .await;
    let stopped = bot.emulator.forum_post(forum, USER_ID, &barred, "").await;
    bot.passed_over(&[off_topic, stopped]).await;
    // Both join the unanswered queue, as forum posts, under their threads.
    let db = bot.database();
    let queued = || {
        Store::open_read_only(&Database::file(&db))
            .and_then(|store| store.unanswered(0, 0.5, 10))
            .unwrap_or_default()
    };
    assert!(
        wait_until_async(WAIT, || queued().len() == 2).await,
        "{:?}\n{}",
        queued(),
        bot.log()
    );
    for question in queued() {
        assert_eq!(question.source, Source::Forum);
        assert_eq!(question.decision, Outcome::Unconfident);
        // The forum, not the post: a post's id names who opened it.
        assert_eq!(question.channel, Some(forum));
    }
    assert_eq!(
        bot.count(|r| r.method == "POST" && r.path.ends_with("/messages")),
        0,
        "{}",
        bot.calls()
    );
    // The admins see it in /careerbot unanswered.
    let call = bot.careerbot("unanswered", USER_ID + 1, MANAGE_GUILD);
    let id = bot.emulator.interaction(call).await;
    let listing = bot.response(id).await;
    assert!(
        listing.to_string().contains("pasta"),
        "{listing}\n{}",
        bot.log()
    );
    assert_nothing_about_members(&db, &[USER_ID, off_topic, stopped], forum);
}

/// No id of `members` (and of their posts and threads, which name who opened them) is
/// anywhere in the database's files (the database and its write-ahead log), where the same
/// scan finds `stored`, an id that is kept (a forum's or channel's).
fn assert_nothing_about_members(db: &Path, members: &[u64], stored: u64) {
    let mut bytes = std::fs::read(db).unwrap();
    bytes.extend(std::fs::read(careerbot::admin::store::sidecar(db, "-wal")).unwrap_or_default());
    // SQLite keeps integers of this size as 8 big-endian bytes; text as its digits.
    let holds = |id: u64| {
        bytes.windows(8).any(|w| w == id.to_be_bytes())
            || String::from_utf8_lossy(&bytes).contains(&id.to_string())
    };
    assert!(
        holds(stored),
        "the scan does not find the stored id {stored}"
    );
    for member in members {
        assert!(!holds(*member), "member {member} is stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_author_s_thumbs_up_tags_the_post_solved_and_no_one_else_s_does() {
    let engine = shipped_engine();
    let (bot, forum) = bot_with_forum(
        &crate::support::shipped(),
        &["Career", "Solved"],
        "solved_tag = \"solved\"\n",
    )
    .await;
    let (title, _) = confident_post(engine, 0.7);
    let before = bot.emulator.requests().len();
    let thread = bot.emulator.forum_post(forum, USER_ID, &title, BODY).await;
    let reply = bot.reply_in(thread, before).await;
    let up = up_vote(&reply.body);
    // The post carries a tag of its own, and has gone quiet (archived) by the time of the 👍.
    bot.emulator.tag(thread, "Career");
    bot.emulator.archive(thread);
    // Someone else's 👍: thanked and counted, the post stays untagged.
    vote(&bot, &up, thread, OTHER).await;
    let logged = wait_until_async(WAIT, || bot.log().contains("someone other than")).await;
    assert!(logged, "{}", bot.log());
    assert_eq!(bot.emulator.applied_tags(thread), ["Career"]);
    // The author's: the solved tag, added to what the post had.
    vote(&bot, &up, thread, USER_ID).await;
    let tagged = wait_until_async(WAIT, || bot.emulator.applied_tags(thread).len() == 2).await;
    assert!(tagged, "{}\n{}", bot.calls(), bot.log());
    assert_eq!(bot.emulator.applied_tags(thread), ["Career", "Solved"]);
    let counted = wait_until_async(WAIT, || bot.log().contains("marked a forum post solved")).await;
    assert!(counted, "{}", bot.log());
    // Without Manage Threads the vote is all there is.
    bot.emulator.deny_bot(MANAGE_THREADS);
    let before = bot.emulator.requests().len();
    let second = bot.emulator.forum_post(forum, USER_ID, &title, BODY).await;
    let reply = bot.reply_in(second, before).await;
    vote(&bot, &up_vote(&reply.body), second, USER_ID).await;
    let refused = wait_until_async(WAIT, || bot.log().contains("may not manage threads")).await;
    assert!(refused, "{}", bot.log());
    assert!(bot.emulator.applied_tags(second).is_empty());
    let stats = bot.stats().await;
    assert_eq!(stats["votes_up"], 3, "{stats:?}");
    assert_eq!(stats["posts_solved"], 1, "{stats:?}");
    // /ask inside the post is kept under the forum too.
    let call = bot
        .emulator
        .in_channel(bot.ask_call(&title, USER_ID), thread);
    let id = bot.emulator.interaction(call).await;
    bot.response(id).await;
    // The votes and the questions are stored; who asked, voted or replied is not.
    let db = bot.database();
    let stored = || {
        Store::open_read_only(&Database::file(&db))
            .and_then(|s| s.counts())
            .unwrap_or((0, 0))
    };
    assert!(
        wait_until_async(WAIT, || stored() == (3, 3)).await,
        "{:?}",
        stored()
    );
    assert_nothing_about_members(&db, &[USER_ID, OTHER, thread, second], forum);
}

/// Every question in the database `db` (none while it cannot be read).
fn stored_questions(db: &Path) -> Vec<careerbot::admin::store::QuestionRecord> {
    Store::open_read_only(&Database::file(db))
        .and_then(|store| store.questions_since(0))
        .unwrap_or_default()
}

/// The 👍 button of a reply.
fn up_vote(reply: &Value) -> String {
    custom_ids(reply)
        .into_iter()
        .find(|id| id.starts_with("cb:v:up:"))
        .unwrap_or_else(|| panic!("no 👍 under {reply}"))
}

/// `user` clicks `button` in `thread`; the private thanks.
async fn vote(bot: &Bot, button: &str, thread: u64, user: u64) {
    let click = bot.emulator.component(button, 2, &[], user);
    let click = bot.emulator.in_channel(click, thread);
    let data = bot.private_reply(click, "Thanks").await;
    assert_eq!(data["flags"].as_u64().unwrap() & EPHEMERAL, EPHEMERAL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_human_reply_in_a_post_makes_the_bot_step_back_until_it_is_mentioned() {
    let engine = shipped_engine();
    let (bot, forum) = bot_with_forum(&crate::support::shipped(), &[], "").await;
    let (title, _) = confident_post(engine, 0.7);
    let (question, intent) = confident_question(engine, 0.8);
    let expected = &engine.intent(&intent).unwrap().title;
    let before = bot.emulator.requests().len();
    let thread = bot.emulator.forum_post(forum, USER_ID, &title, BODY).await;
    bot.reply_in(thread, before).await;
    // The author asks on, unmentioned: answered while nobody else has spoken.
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(thread, USER_ID, question.clone()))
        .await;
    let reply = bot.reply_in(thread, before).await;
    assert_eq!(reply.body["embeds"][0]["title"], expected.as_str());
    // Another member answers: from then on the post is the humans'.
    let human = bot
        .emulator
        .message(Msg::guild(
            thread,
            OTHER,
            "I went the bootcamp route, happy to chat",
        ))
        .await;
    // (serenity handles messages in tasks of their own: one sent later may be seen first.)
    bot.passed_over(&[human]).await;
    let again = bot
        .emulator
        .message(Msg::guild(thread, USER_ID, question.clone()))
        .await;
    bot.passed_over(&[again]).await;
    assert_eq!(posts_in(&bot.emulator.requests(), thread).len(), 2);
    // A mention is still answered there.
    let reply = mention(&bot, thread, USER_ID, &question).await;
    assert_eq!(reply["embeds"][0]["title"], expected.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_in_thread_answers_in_a_new_thread_and_the_asker_continues_there() {
    let engine = shipped_engine();
    let config = format!(
        "[discord]\nanswer_channels = [{WATCHED}]\nreply_in_thread = true\n\
         channel_min_confidence = 0.3\n"
    );
    let bot = Bot::shipped(&config).await;
    let search = crate::bot::course_search(engine);
    let first = "any course on sql";
    assert_eq!(
        engine.reply(first).intent.as_deref(),
        Some(search.id.as_str())
    );
    let before = bot.emulator.requests().len();
    let asked = bot
        .emulator
        .message(Msg::guild(WATCHED, USER_ID, first))
        .await;
    // A thread started from the question, named after it, and the answer inside it.
    let answer = bot.reply_in(asked, before).await;
    assert_eq!(answer.body["embeds"][0]["title"], search.title.as_str());
    let started = bot.emulator.threads_started_by_bot();
    assert_eq!(started, [(asked, WATCHED, first.to_owned())]);
    // The follow-up, unmentioned in the thread, continues the conversation: a course search
    // on its own topic, which it would not be alone.
    let follow_up = "what about docker?";
    assert_ne!(
        engine.reply(follow_up).intent.as_deref(),
        Some(search.id.as_str())
    );
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(asked, USER_ID, follow_up))
        .await;
    let second = bot.reply_in(asked, before).await;
    let embed = &second.body["embeds"][0];
    assert_eq!(embed["title"], search.title.as_str(), "{}", second.body);
    let docker = engine
        .set()
        .courses()
        .iter()
        .find(|c| c.topics.iter().any(|t| t == "docker"))
        .expect("a docker course ships");
    let courses = embed["fields"][0]["value"].as_str().unwrap_or_default();
    assert!(courses.contains(&docker.url), "{courses}");
    // Nothing went to the channel itself.
    assert!(posts_in(&bot.emulator.requests(), WATCHED).is_empty());
    // Without Create Public Threads, the answer goes to the channel.
    bot.emulator.deny_bot(CREATE_PUBLIC_THREADS);
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(WATCHED, USER_ID + 1, first))
        .await;
    let in_channel = bot.reply_in(WATCHED, before).await;
    assert_eq!(in_channel.body["embeds"][0]["title"], search.title.as_str());
    // Allowed to start a thread but not to write in one: the channel gets the answer.
    bot.emulator.allow_bot(CREATE_PUBLIC_THREADS);
    bot.emulator.deny_bot(SEND_MESSAGES_IN_THREADS);
    let bot_threads = bot.emulator.threads_started_by_bot().len();
    let before = bot.emulator.requests().len();
    let later = bot
        .emulator
        .message(Msg::guild(WATCHED, USER_ID + 2, first))
        .await;
    let in_channel = bot.reply_in(WATCHED, before).await;
    assert_eq!(in_channel.body["embeds"][0]["title"], search.title.as_str());
    assert_eq!(
        in_channel.body["message_reference"]["message_id"],
        later.to_string()
    );
    assert_eq!(bot.emulator.threads_started_by_bot().len(), bot_threads + 1);
    // Every question is stored under the channel, none under a thread.
    let db = bot.database();
    let stored = || stored_questions(&db);
    assert!(
        wait_until_async(WAIT, || stored().len() == 4).await,
        "{:?}",
        stored()
    );
    assert!(
        stored().iter().all(|q| q.channel == Some(WATCHED)),
        "{:?}",
        stored()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_in_any_thread_is_answered_in_that_thread_and_nothing_else_is() {
    let engine = shipped_engine();
    let bot = Bot::shipped("").await;
    let thread = bot.emulator.thread(CHANNEL_ID, OTHER, "job hunt").await;
    let (question, intent) = confident_question(engine, 0.8);
    let unmentioned = bot
        .emulator
        .message(Msg::guild(thread, USER_ID, question.clone()))
        .await;
    bot.passed_over(&[unmentioned]).await;
    let reply = mention(&bot, thread, USER_ID, &question).await;
    let expected = &engine.intent(&intent).unwrap().title;
    assert_eq!(reply["embeds"][0]["title"], expected.as_str());
    assert_eq!(
        bot.count(|r| r.method == "POST" && r.path.ends_with("/messages")),
        1
    );
    // Stored under the channel the thread is in.
    let db = bot.database();
    let stored = || stored_questions(&db);
    assert!(wait_until_async(WAIT, || stored().len() == 1).await);
    assert_eq!(stored()[0].channel, Some(CHANNEL_ID));
}
