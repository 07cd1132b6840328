//! The Discord emulator of `support::discord`, proven against a bare serenity client (no
//! careerbot code): READY, messages answered over REST, interactions answered through the
//! callback and webhook routes, resume after a dropped connection, re-identify after an
//! invalidated session, injected failures, forums and threads, and every REST answer decoded
//! by serenity itself; and its OAuth2 login flow over plain HTTP (consent page, token
//! exchange and its refusals, Bearer reads beside the bot's token).

use std::time::Duration;

use serde_json::{json, Value};
use serenity::all::{
    ChannelId, Client, ClientBuilder, Command, CommandOptionType, ComponentInteractionDataKind,
    Context, CreateActionRow, CreateAttachment, CreateAutocompleteResponse, CreateButton,
    CreateCommand, CreateCommandOption, CreateEmbed, CreateInteractionResponse,
    CreateInteractionResponseFollowup, CreateInteractionResponseMessage, CreateMessage,
    CreateThread, EditInteractionResponse, EditMessage, EditThread, EventHandler, GatewayIntents,
    GuildChannel, GuildId, Http, HttpBuilder, Interaction, Message, Permissions, Ready, UserId,
};
use tokio::sync::mpsc;

use crate::support::discord::{
    option, Emulator, Msg, OAuthGuild, OAuthUser, Recorded, APP_ID, BOT_ID, CHANNEL_ID,
    DEFAULT_MEMBER_PERMISSIONS, FAKE_TOKEN, GUILD_ID, GUILD_NAME, INTENT_MESSAGE_CONTENT,
    OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, OWNER_ID, USER_ID,
};

const WAIT: Duration = Duration::from_secs(10);

/// What the test client observed, in order: `("kind", detail)`.
type Seen = mpsc::UnboundedReceiver<(String, String)>;

/// A minimal bot: echoes every message from a non-bot, answers every interaction, and reports
/// what it saw (and any error serenity returned) to the test.
struct Echo {
    seen: mpsc::UnboundedSender<(String, String)>,
}

impl Echo {
    fn report(&self, kind: &str, detail: impl Into<String>) {
        let _ = self.seen.send((kind.to_owned(), detail.into()));
    }

    fn outcome(&self, what: &str, result: serenity::Result<()>) {
        if let Err(e) = result {
            self.report("error", format!("{what}: {e}"));
        }
    }
}

#[serenity::async_trait]
impl EventHandler for Echo {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        self.report("ready", ready.user.id.to_string());
    }

    async fn thread_create(&self, _ctx: Context, thread: GuildChannel) {
        self.report(
            "thread",
            format!(
                "kind={:?} parent={:?} owner={:?} name={}",
                thread.kind,
                thread.parent_id.map(ChannelId::get),
                thread.owner_id.map(UserId::get),
                thread.name
            ),
        );
    }

    async fn message(&self, ctx: Context, msg: Message) {
        self.report(
            "message",
            format!(
                "guild={:?} mentions_bot={} member={}",
                msg.guild_id.map(|g| g.get()),
                msg.mentions_user_id(BOT_ID),
                msg.member.is_some()
            ),
        );
        if msg.author.bot {
            return;
        }
        let sent = msg
            .channel_id
            .say(&ctx.http, format!("echo: {}", msg.content))
            .await;
        self.outcome("say", sent.map(drop));
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        match interaction {
            Interaction::Command(cmd) => {
                // What serenity's cache computes for the member: must be what the test gave.
                let cached = cmd.guild_id.and_then(|g| {
                    let guild = ctx.cache.guild(g)?;
                    let channel = guild.channels.get(&cmd.channel_id)?;
                    Some(
                        guild
                            .user_permissions_in(channel, cmd.member.as_deref()?)
                            .bits(),
                    )
                });
                let given = cmd
                    .member
                    .as_ref()
                    .and_then(|m| m.permissions)
                    .map(|p| p.bits());
                let options: Vec<String> = cmd
                    .data
                    .options
                    .iter()
                    .map(|o| format!("{}={:?}", o.name, o.value))
                    .collect();
                self.report(
                    "command",
                    format!(
                        "{} user={} given={given:?} cached={cached:?} options={options:?}",
                        cmd.data.name, cmd.user.id
                    ),
                );
                if cmd.data.name == "deferred" {
                    // Defer, then the first followup replaces the "thinking" message.
                    self.outcome("defer", cmd.defer(&ctx.http).await);
                    let late = CreateInteractionResponseFollowup::new().content("late");
                    let followup = cmd.create_followup(&ctx.http, late).await;
                    let original = cmd.get_response(&ctx.http).await;
                    match (followup, original) {
                        (Ok(f), Ok(o)) => self.report(
                            "deferred",
                            format!("same={} content={}", f.id == o.id, o.content),
                        ),
                        (f, o) => self.report("error", format!("deferred: {f:?} {o:?}")),
                    }
                    return;
                }
                let answer = CreateInteractionResponse::Message(
                    CreateInteractionResponseMessage::new()
                        .content(format!("pong {}", cmd.data.name)),
                );
                self.outcome(
                    "create_response",
                    cmd.create_response(&ctx.http, answer).await,
                );
                if cmd.data.name == "followup" {
                    let more = CreateInteractionResponseFollowup::new().content("more");
                    let r = cmd.create_followup(&ctx.http, more).await;
                    self.outcome("create_followup", r.map(drop));
                    let edit = EditInteractionResponse::new().content("edited");
                    let r = cmd.edit_response(&ctx.http, edit).await;
                    self.outcome("edit_response", r.map(drop));
                    let r = cmd.get_response(&ctx.http).await;
                    if let Ok(m) = &r {
                        self.report("original", m.content.clone());
                    }
                    self.outcome("get_response", r.map(drop));
                }
            }
            Interaction::Component(c) => {
                let picked = match &c.data.kind {
                    ComponentInteractionDataKind::StringSelect { values } => values.join(","),
                    other => format!("{other:?}"),
                };
                let parent = c.channel.as_ref().and_then(|ch| ch.parent_id);
                self.report("component", format!("{} {picked}", c.data.custom_id));
                self.report(
                    "component channel",
                    format!("{} parent={:?}", c.channel_id, parent.map(ChannelId::get)),
                );
                let answer = CreateInteractionResponse::UpdateMessage(
                    CreateInteractionResponseMessage::new().content(format!("picked {picked}")),
                );
                self.outcome(
                    "component response",
                    c.create_response(&ctx.http, answer).await,
                );
            }
            Interaction::Autocomplete(a) => {
                let focused = a.data.autocomplete().map(|f| f.value.to_owned());
                self.report("autocomplete", format!("{focused:?}"));
                let answer = CreateInteractionResponse::Autocomplete(
                    CreateAutocompleteResponse::new().add_string_choice("rust", "rust"),
                );
                self.outcome("autocomplete", a.create_response(&ctx.http, answer).await);
            }
            _ => {}
        }
    }
}

fn http(emu: &Emulator) -> Http {
    HttpBuilder::new(FAKE_TOKEN)
        .proxy(emu.api_base())
        .ratelimiter_disabled(true)
        .build()
}

fn intents() -> GatewayIntents {
    GatewayIntents::non_privileged() | GatewayIntents::MESSAGE_CONTENT
}

/// Starts the emulator and an `Echo` client on it, and waits for READY.
async fn start() -> (Emulator, Seen) {
    let emu = Emulator::start().await;
    let (tx, rx) = mpsc::unbounded_channel();
    let mut client: Client = ClientBuilder::new_with_http(http(&emu), intents())
        .event_handler(Echo { seen: tx })
        .await
        .expect("the client builds");
    tokio::spawn(async move {
        let _ = client.start().await;
    });
    assert!(emu.wait_ready(WAIT).await, "the client never got READY");
    (emu, rx)
}

/// The next thing the client saw of `kind`, skipping others; errors are never skipped.
async fn next_seen(seen: &mut Seen, kind: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = tokio::time::timeout_at(deadline, seen.recv())
            .await
            .unwrap_or_else(|_| panic!("the client never reported {kind}"))
            .expect("the client is gone");
        assert_ne!(got.0, "error", "the client hit an error: {}", got.1);
        if got.0 == kind {
            return got.1;
        }
    }
}

/// The next error the client reported, skipping everything else.
async fn next_error(seen: &mut Seen) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = tokio::time::timeout_at(deadline, seen.recv())
            .await
            .expect("the client never reported an error")
            .expect("the client is gone");
        if got.0 == "error" {
            return got.1;
        }
    }
}

fn no_client_errors(seen: &mut Seen) {
    while let Ok((kind, detail)) = seen.try_recv() {
        assert_ne!(kind, "error", "the client hit an error: {detail}");
    }
}

async fn reply_in(emu: &Emulator, channel: u64, content: &str) -> Recorded {
    let path = format!("/channels/{channel}/messages");
    emu.wait_request(WAIT, |r| {
        r.method == "POST" && r.path == path && r.body["content"] == content
    })
    .await
    .unwrap_or_else(|| {
        let all = emu.requests();
        let last = &all[all.len().saturating_sub(20)..];
        panic!("no POST {path} with {content:?}; the last requests: {last:#?}")
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_messages_and_interactions() {
    let (emu, mut seen) = start().await;
    assert_eq!(next_seen(&mut seen, "ready").await, BOT_ID.to_string());
    assert_eq!(emu.identify_count(), 1);
    assert_eq!(emu.resume_count(), 0);
    assert_eq!(emu.identify_intents(), Some(intents().bits()));

    // A guild message mentioning the bot, answered in its channel.
    let content = format!("<@{BOT_ID}> hello");
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, content.clone()).mentioning_bot())
        .await;
    assert_eq!(
        next_seen(&mut seen, "message").await,
        format!("guild=Some({GUILD_ID}) mentions_bot=true member=true")
    );
    let reply = reply_in(&emu, CHANNEL_ID, &format!("echo: {content}")).await;
    assert_eq!(reply.status, 200);

    // A DM, answered in the DM channel; a bot's message is not answered.
    emu.message(Msg::dm(777, USER_ID, "in private")).await;
    assert_eq!(
        next_seen(&mut seen, "message").await,
        "guild=None mentions_bot=false member=false"
    );
    reply_in(&emu, 777, "echo: in private").await;
    emu.message(Msg::guild(CHANNEL_ID, 4242, "beep").by_bot())
        .await;
    next_seen(&mut seen, "message").await;

    // A slash command with an option: the member has exactly the given permissions, in the
    // payload and in serenity's cache (through the role the emulator announced).
    let perms = (Permissions::MANAGE_GUILD | Permissions::SEND_MESSAGES).bits();
    let slash = emu.slash(
        "ping",
        json!([option("topic", 3, json!("rust"))]),
        USER_ID,
        perms,
    );
    let token = slash["token"].as_str().unwrap().to_owned();
    let id = emu.interaction(slash).await;
    let detail = next_seen(&mut seen, "command").await;
    assert!(
        detail.starts_with(&format!(
            "ping user={USER_ID} given=Some({perms}) cached=Some({perms})"
        )),
        "{detail}"
    );
    assert!(detail.contains(r#"topic=String(\"rust\")"#), "{detail}");
    let callback = emu
        .wait_request(WAIT, |r| {
            r.path == format!("/interactions/{id}/{token}/callback")
        })
        .await
        .expect("the interaction was answered");
    assert_eq!((callback.method.as_str(), callback.status), ("POST", 204));
    assert_eq!(callback.body["type"], 4);
    assert_eq!(callback.body["data"]["content"], "pong ping");

    // Followup, edit and fetch of the original response.
    let slash = emu.slash("followup", Value::Null, USER_ID, DEFAULT_MEMBER_PERMISSIONS);
    let token = slash["token"].as_str().unwrap().to_owned();
    emu.interaction(slash).await;
    assert_eq!(next_seen(&mut seen, "original").await, "edited");
    let followup = emu
        .wait_request(WAIT, |r| {
            r.method == "POST" && r.path == format!("/webhooks/{APP_ID}/{token}")
        })
        .await
        .expect("a followup");
    assert_eq!(
        (followup.status, &followup.body["content"]),
        (200, &json!("more"))
    );
    let edit = emu
        .wait_request(WAIT, |r| {
            r.method == "PATCH" && r.path.ends_with("@original")
        })
        .await
        .expect("an edit of the original");
    assert_eq!(
        (edit.status, &edit.body["content"]),
        (200, &json!("edited"))
    );

    let deferred = emu.slash("deferred", Value::Null, USER_ID, DEFAULT_MEMBER_PERMISSIONS);
    emu.interaction(deferred).await;
    assert_eq!(
        next_seen(&mut seen, "deferred").await,
        "same=true content=late"
    );

    // A select menu and an autocomplete.
    let pick = emu.component("pick", 3, &["b"], USER_ID);
    emu.interaction(pick).await;
    assert_eq!(next_seen(&mut seen, "component").await, "pick b");
    let update = emu
        .wait_request(WAIT, |r| r.body["type"] == 7)
        .await
        .expect("an UPDATE_MESSAGE callback");
    assert_eq!(update.status, 204);
    let button = emu.component("go", 2, &[], OWNER_ID);
    emu.interaction(button).await;
    assert_eq!(next_seen(&mut seen, "component").await, "go Button");
    let auto = emu.autocomplete(
        "ping",
        json!([
            option("topic", 3, json!("ru")),
            option("count", 4, json!(3))
        ]),
        USER_ID,
    );
    emu.interaction(auto).await;
    assert_eq!(next_seen(&mut seen, "autocomplete").await, "Some(\"3\")");
    let choices = emu
        .wait_request(WAIT, |r| r.body["type"] == 8)
        .await
        .expect("an autocomplete result");
    assert_eq!(choices.body["data"]["choices"][0]["value"], "rust");

    no_client_errors(&mut seen);
    assert_eq!(emu.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn resumes_after_a_dropped_connection() {
    let (emu, mut seen) = start().await;
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "before")).await;
    reply_in(&emu, CHANNEL_ID, "echo: before").await;

    emu.close_gateway(4000).await;
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "after")).await;
    reply_in(&emu, CHANNEL_ID, "echo: after").await;
    assert_eq!(emu.resume_count(), 1);
    assert_eq!(emu.identify_count(), 1);

    // RECONNECT (op 7): serenity drops the connection at once, unread dispatches included;
    // they are replayed when it resumes, as Discord does.
    emu.raw_frame(r#"{"op":7,"d":null}"#).await;
    for i in 0..30 {
        emu.message(Msg::guild(CHANNEL_ID, USER_ID, format!("in flight {i}")))
            .await;
    }
    for i in 0..30 {
        reply_in(&emu, CHANNEL_ID, &format!("echo: in flight {i}")).await;
    }
    assert_eq!(emu.resume_count(), 2);
    assert_eq!(emu.identify_count(), 1);

    // Junk on the wire and unknown events do not kill the connection.
    emu.raw_frame("{this is not json").await;
    emu.dispatch("SOMETHING_NEW", json!({"x": 1})).await;
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "still here"))
        .await;
    reply_in(&emu, CHANNEL_ID, "echo: still here").await;

    no_client_errors(&mut seen);
    assert_eq!(emu.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn reidentifies_after_an_invalidated_session() {
    let (emu, mut seen) = start().await;
    // 4009 (session timed out) makes serenity drop its session and IDENTIFY again, which its
    // shard queuer delays to 5 s after the previous one.
    emu.close_gateway(4009).await;
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "again")).await;
    reply_in(&emu, CHANNEL_ID, "echo: again").await;
    assert_eq!(emu.identify_count(), 2);
    no_client_errors(&mut seen);
    assert_eq!(emu.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn injected_failures_are_answered_and_recorded() {
    let (emu, mut seen) = start().await;
    emu.fail_next("POST", "/channels/", 500, 1);
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "one")).await;
    let failed = reply_in(&emu, CHANNEL_ID, "echo: one").await;
    assert_eq!(failed.status, 500);
    let error = next_error(&mut seen).await;
    assert!(error.contains("500"), "{error}");

    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "two")).await;
    assert_eq!(reply_in(&emu, CHANNEL_ID, "echo: two").await.status, 200);

    emu.fail_next("*", "/channels/", 429, 1);
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "three")).await;
    assert_eq!(reply_in(&emu, CHANNEL_ID, "echo: three").await.status, 429);
    let error = next_error(&mut seen).await;
    assert!(error.contains("rate limited"), "{error}");
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "four")).await;
    assert_eq!(reply_in(&emu, CHANNEL_ID, "echo: four").await.status, 200);
    assert_eq!(emu.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identify_for_a_shard_past_the_total_is_closed_with_4010() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let emu = Emulator::start().await;
    // What serenity's inclusive `start_shard_range(1..2, 2)` sends for its second shard.
    let (mut ws, _) = tokio_tungstenite::connect_async(emu.ws_url())
        .await
        .unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains(r#""op":10"#), "{hello}");
    let identify = json!({"op": 2, "d": {
        "token": FAKE_TOKEN, "intents": 1, "shard": [2, 2],
        "properties": {"os": "linux", "browser": "test", "device": "test"},
    }});
    ws.send(WsMessage::Text(identify.to_string()))
        .await
        .unwrap();
    let closed = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
    match closed {
        Some(Ok(WsMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4010),
        other => panic!("expected a 4010 close, got {other:?}"),
    }
    assert_eq!(emu.identified_shards(), [[2, 2]]);
    assert!(emu.ready_shards().is_empty());
}

/// A raw gateway connection to `emu` that identified as shard 0 of 1 with `intents`.
async fn raw_identified(
    emu: &Emulator,
    intents: u64,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let (mut ws, _) = tokio_tungstenite::connect_async(emu.ws_url())
        .await
        .unwrap();
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains(r#""op":10"#), "{hello}");
    let identify = json!({"op": 2, "d": {
        "token": FAKE_TOKEN, "intents": intents, "shard": [0, 1],
        "properties": {"os": "linux", "browser": "test", "device": "test"},
    }});
    ws.send(WsMessage::Text(identify.to_string()))
        .await
        .unwrap();
    ws
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disallowed_intent_is_closed_with_4014() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message as WsMessage;
    let emu = Emulator::start().await;
    emu.disallow_intents(INTENT_MESSAGE_CONTENT);
    let mut ws = raw_identified(&emu, 1 | INTENT_MESSAGE_CONTENT).await;
    let closed = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
    match closed {
        Some(Ok(WsMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 4014),
        other => panic!("expected a 4014 close, got {other:?}"),
    }
    assert!(emu.ready_shards().is_empty());
    // Without it, the same application connects.
    let _ws = raw_identified(&emu, 1).await;
    assert!(emu.wait_ready(WAIT).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_message_content_only_mentions_carry_their_content() {
    use futures_util::StreamExt;
    let emu = Emulator::start().await;
    // Guilds and guild messages, no Message Content.
    let mut ws = raw_identified(&emu, 1 | 1 << 9).await;
    assert!(emu.wait_ready(WAIT).await);
    let mut contents = Vec::new();
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "unaddressed"))
        .await;
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, format!("<@{BOT_ID}> asked")).mentioning_bot())
        .await;
    emu.message(Msg::dm(CHANNEL_ID + 1, USER_ID, "in a DM"))
        .await;
    while contents.len() < 3 {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("the messages arrive")
            .unwrap()
            .unwrap();
        let frame: Value = serde_json::from_str(frame.to_text().unwrap()).unwrap();
        if frame["t"] == "MESSAGE_CREATE" {
            contents.push(frame["d"]["content"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(contents, ["", &format!("<@{BOT_ID}> asked"), "in a DM"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn forums_and_threads_decode_with_serenity() {
    let (emu, mut seen) = start().await;
    let http = http(&emu);
    let forum = CHANNEL_ID + 15;
    emu.forum(forum, &["Help", "Solved"]);
    // A new post: THREAD_CREATE, then its first message, whose id is the thread's.
    let post = emu
        .forum_post(forum, USER_ID, "Which degree?", "Do I need one?")
        .await;
    let thread = next_seen(&mut seen, "thread").await;
    assert_eq!(
        thread,
        format!("kind=PublicThread parent=Some({forum}) owner=Some({USER_ID}) name=Which degree?")
    );
    // (serenity handles events in tasks of their own: the message may be seen first.)
    let echo = reply_in(&emu, post, "echo: Do I need one?").await;
    assert_eq!(echo.status, 200);
    // The forum, its tags and the post, as serenity reads them.
    let serenity::model::channel::Channel::Guild(read) =
        http.get_channel(forum.into()).await.unwrap()
    else {
        panic!("the forum is a guild channel");
    };
    assert_eq!(read.kind, serenity::all::ChannelType::Forum);
    let solved = read
        .available_tags
        .iter()
        .find(|t| t.name == "Solved")
        .unwrap()
        .id;
    let serenity::model::channel::Channel::Guild(read) =
        http.get_channel(post.into()).await.unwrap()
    else {
        panic!("the post is a guild channel");
    };
    assert_eq!(read.owner_id, Some(UserId::new(USER_ID)));
    assert!(read.applied_tags.is_empty());
    // Tagging it.
    let tagged = ChannelId::new(post)
        .edit_thread(&http, EditThread::new().applied_tags([solved]))
        .await
        .unwrap();
    assert_eq!(tagged.applied_tags, [solved]);
    assert_eq!(emu.applied_tags(post), ["Solved"]);
    // A thread started from a message: the message's id, once only.
    let message = emu.message(Msg::guild(CHANNEL_ID, USER_ID, "hi")).await;
    let started = ChannelId::new(CHANNEL_ID)
        .create_thread_from_message(&http, message, CreateThread::new("a question"))
        .await
        .unwrap();
    assert_eq!(started.id.get(), message);
    assert_eq!(started.parent_id, Some(ChannelId::new(CHANNEL_ID)));
    let thread = next_seen(&mut seen, "thread").await;
    assert!(
        thread.contains(&format!("owner=Some({BOT_ID})")),
        "{thread}"
    );
    let again = ChannelId::new(CHANNEL_ID)
        .create_thread_from_message(&http, message, CreateThread::new("again"))
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("already been created"),
        "{again}"
    );
    let unknown = ChannelId::new(CHANNEL_ID)
        .create_thread_from_message(&http, emu.new_id(), CreateThread::new("none"))
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("Unknown Message"), "{unknown}");
    // An archived post is tagged only together with reopening it.
    emu.archive(post);
    let refused = ChannelId::new(post)
        .edit_thread(&http, EditThread::new().applied_tags([solved]))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("archived"), "{refused}");
    let reopened = ChannelId::new(post)
        .edit_thread(
            &http,
            EditThread::new().archived(false).applied_tags([solved]),
        )
        .await
        .unwrap();
    assert!(!reopened.thread_metadata.unwrap().archived);
    // What the bot may not do is refused as Discord does.
    emu.deny_bot(Permissions::MANAGE_THREADS.bits() | Permissions::SEND_MESSAGES_IN_THREADS.bits());
    let refused = ChannelId::new(post)
        .edit_thread(&http, EditThread::new().applied_tags([]))
        .await
        .unwrap_err();
    assert!(
        refused.to_string().contains("Missing Permissions"),
        "{refused}"
    );
    let refused = ChannelId::new(post).say(&http, "hi").await.unwrap_err();
    assert!(
        refused.to_string().contains("Missing Permissions"),
        "{refused}"
    );
    // An interaction moved into the post carries it as its channel, with the forum as parent.
    let click = emu.in_channel(emu.component("cb:x", 2, &[], USER_ID), post);
    emu.interaction(click).await;
    let channel = next_seen(&mut seen, "component channel").await;
    assert_eq!(channel, format!("{post} parent=Some({forum})"));
    assert!(emu.errors().is_empty(), "{:?}", emu.errors());
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_answers_decode_with_serenity() {
    let emu = Emulator::start().await;
    let http = http(&emu);
    http.set_application_id(APP_ID.into());

    assert_eq!(http.get_gateway().await.unwrap().url, emu.ws_url());
    assert_eq!(http.get_bot_gateway().await.unwrap().shards, 1);
    assert_eq!(http.get_current_user().await.unwrap().id, BOT_ID);
    let app = http.get_current_application_info().await.unwrap();
    assert_eq!(app.id, APP_ID);
    assert_eq!(app.owner.map(|o| o.id.get()), Some(OWNER_ID));

    let commands = vec![
        CreateCommand::new("ask")
            .description("Ask a question")
            .add_option(
                CreateCommandOption::new(CommandOptionType::String, "question", "What?")
                    .required(true)
                    .set_autocomplete(true),
            )
            .default_member_permissions(Permissions::MANAGE_GUILD),
        CreateCommand::new("admin")
            .description("Admin things")
            .add_option(
                CreateCommandOption::new(CommandOptionType::SubCommand, "reload", "Reload")
                    .add_sub_option(
                        CreateCommandOption::new(CommandOptionType::Integer, "level", "How")
                            .add_int_choice("one", 1),
                    ),
            ),
    ];
    let global = Command::set_global_commands(&http, commands.clone())
        .await
        .unwrap();
    assert_eq!(global.len(), 2);
    let again = Command::set_global_commands(&http, commands.clone())
        .await
        .unwrap();
    assert_eq!(
        global[0].id, again[0].id,
        "re-registering keeps command ids"
    );
    let guild = GuildId::new(GUILD_ID)
        .set_commands(&http, commands)
        .await
        .unwrap();
    assert_eq!(guild[1].guild_id, Some(GuildId::new(GUILD_ID)));
    let slash = emu.slash(
        "ask",
        json!([option("question", 3, json!("why"))]),
        USER_ID,
        0,
    );
    assert_eq!(slash["data"]["guild_id"], json!(GUILD_ID.to_string()));

    // Channels, DMs, the guild and members (what poise's permission checks fetch).
    let dm = UserId::new(USER_ID).create_dm_channel(&http).await.unwrap();
    assert_eq!(dm.recipient.id, USER_ID);
    assert!(dm.id.to_channel(&http).await.unwrap().private().is_some());
    let channel = ChannelId::new(CHANNEL_ID).to_channel(&http).await.unwrap();
    let channel = channel.guild().expect("a guild channel");
    emu.set_permissions(USER_ID, Permissions::ADMINISTRATOR.bits());
    let partial = GuildId::new(GUILD_ID)
        .to_partial_guild(&http)
        .await
        .unwrap();
    let member = partial.member(&http, USER_ID).await.unwrap();
    assert_eq!(
        partial.user_permissions_in(&channel, &member),
        Permissions::all()
    );
    let other = partial.member(&http, 31337).await.unwrap();
    let partial = GuildId::new(GUILD_ID)
        .to_partial_guild(&http)
        .await
        .unwrap();
    assert_eq!(
        partial.user_permissions_in(&channel, &other).bits(),
        DEFAULT_MEMBER_PERMISSIONS
    );
    let owner = partial.member(&http, OWNER_ID).await.unwrap();
    assert_eq!(
        partial.user_permissions_in(&channel, &owner),
        Permissions::all()
    );

    // Messages: embeds, components, a file (multipart), a reply, edit, typing, delete.
    let original = ChannelId::new(CHANNEL_ID)
        .send_message(
            &http,
            CreateMessage::new()
                .content("look")
                .embed(
                    CreateEmbed::new()
                        .title("Title")
                        .description("Body")
                        .field("k", "v", true)
                        .footer(serenity::all::CreateEmbedFooter::new("foot")),
                )
                .components(vec![CreateActionRow::Buttons(vec![CreateButton::new(
                    "more",
                )
                .label("More")])])
                .add_file(CreateAttachment::bytes(b"hello".as_slice(), "notes.txt")),
        )
        .await
        .unwrap();
    assert_eq!(original.author.id, BOT_ID);
    assert_eq!(original.embeds[0].title.as_deref(), Some("Title"));
    assert_eq!(original.attachments[0].size, 5);
    let multipart = emu
        .wait_request(WAIT, |r| r.body["content"] == "look")
        .await
        .unwrap();
    assert_eq!(multipart.body["embeds"][0]["description"], "Body");
    let reply = ChannelId::new(CHANNEL_ID)
        .send_message(
            &http,
            CreateMessage::new()
                .content("re")
                .reference_message(&original),
        )
        .await
        .unwrap();
    assert_eq!(
        reply.message_reference.and_then(|r| r.message_id),
        Some(original.id)
    );
    let edited = ChannelId::new(CHANNEL_ID)
        .edit_message(&http, original.id, EditMessage::new().content("looked"))
        .await
        .unwrap();
    assert_eq!(edited.content, "looked");
    assert!(edited.edited_timestamp.is_some());
    ChannelId::new(CHANNEL_ID)
        .broadcast_typing(&http)
        .await
        .unwrap();
    ChannelId::new(CHANNEL_ID)
        .delete_message(&http, original.id)
        .await
        .unwrap();

    // Discord's refusals: empty and over-long messages, unknown routes.
    let empty = ChannelId::new(CHANNEL_ID)
        .send_message(&http, CreateMessage::new())
        .await;
    assert!(format!("{empty:?}").contains("50006"), "{empty:?}");
    // (serenity's builders refuse this one themselves: send the raw body.)
    let long = http
        .send_message(
            CHANNEL_ID.into(),
            vec![],
            &json!({"content": "x".repeat(2001)}),
        )
        .await;
    assert!(format!("{long:?}").contains("50035"), "{long:?}");
    assert!(GuildId::new(GUILD_ID).webhooks(&http).await.is_err());
    let unknown = emu
        .wait_request(WAIT, |r| r.path == format!("/guilds/{GUILD_ID}/webhooks"))
        .await
        .unwrap();
    assert_eq!(unknown.status, 404);

    // Every request was recorded, without the /api/v10 prefix or a query string.
    let requests = emu.requests();
    assert!(requests
        .iter()
        .all(|r| r.path.starts_with('/') && !r.path.contains("api/v10")));
    assert!(requests
        .iter()
        .any(|r| r.path == "/oauth2/applications/@me"));
    emu.clear_requests();
    assert!(emu.requests().is_empty());
    assert_eq!(emu.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn builders_make_valid_interactions() {
    // `interaction()` validates with serenity's types and panics otherwise; here the payloads
    // are checked directly, including nested subcommands and the autocomplete focus rules.
    let emu = Emulator::start().await;
    let check = |v: &Value| {
        serde_json::from_value::<Interaction>(v.clone()).unwrap_or_else(|e| panic!("{e}\n{v:#}"));
    };
    let sub = json!([option(
        "admin",
        2,
        json!([option("reload", 1, json!([option("level", 4, json!(2))]))])
    )]);
    check(&emu.slash("config", sub.clone(), USER_ID, 8));
    let auto = emu.autocomplete("config", sub, USER_ID);
    check(&auto);
    let focused = &auto["data"]["options"][0]["options"][0]["options"][0];
    assert_eq!(
        (&focused["focused"], &focused["value"]),
        (&json!(true), &json!("2"))
    );
    // A channel option carries its channel, resolved as Discord does.
    let chosen = emu.slash(
        "config",
        json!([option("where", 7, json!(CHANNEL_ID.to_string()))]),
        USER_ID,
        8,
    );
    check(&chosen);
    let Interaction::Command(command) = serde_json::from_value(chosen).unwrap() else {
        panic!("not a command")
    };
    match command.data.options()[0].value {
        serenity::all::ResolvedValue::Channel(channel) => {
            assert_eq!(channel.id, ChannelId::new(CHANNEL_ID));
            assert_eq!(channel.kind, serenity::all::ChannelType::Text);
        }
        ref other => panic!("not a resolved channel: {other:?}"),
    }
    check(&emu.component("b", 2, &[], USER_ID));
    check(&emu.component("s", 3, &["x", "y"], USER_ID));
    check(&emu.component("u", 5, &["1"], USER_ID));
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_dispatches_panic_with_the_serde_error() {
    let emu = Emulator::start().await;
    let mut bad = emu.slash("ping", Value::Null, USER_ID, 0);
    bad.as_object_mut().unwrap().remove("locale");
    let outcome = tokio::spawn(async move { emu.interaction(bad).await }).await;
    let panic = outcome.expect_err("an invalid interaction must not be sent");
    let text = panic
        .into_panic()
        .downcast::<String>()
        .map(|s| *s)
        .unwrap_or_default();
    assert!(text.contains("missing field `locale`"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_without_validation_gets_through() {
    // Speed is measured by `cargo bench --bench discord`, not here; this only shows that
    // messages sent back to back are all delivered and answered.
    let (emu, mut seen) = start().await;
    next_seen(&mut seen, "ready").await;
    // A burst without validation: every message answered.
    emu.set_validate(false);
    emu.clear_requests();
    let n = 500;
    let started = std::time::Instant::now();
    for i in 0..n {
        emu.message(Msg::guild(CHANNEL_ID, USER_ID, format!("b{i}")))
            .await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while emu.request_count() < n {
        if tokio::time::Instant::now() > deadline {
            let mut errors = Vec::new();
            while let Ok((kind, detail)) = seen.try_recv() {
                if kind == "error" {
                    errors.push(detail);
                }
            }
            errors.truncate(5);
            panic!(
                "only {} replies (identifies {}, resumes {}); client errors: {errors:#?}",
                emu.request_count(),
                emu.identify_count(),
                emu.resume_count()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("burst of {n} answered in {:?}", started.elapsed());
    assert!(emu.requests().iter().all(|r| r.status == 200));
}

// A poise framework on the emulator: command registration, prefix and slash commands, and
// `required_permissions`, which poise checks through the cache and `GET .../members/{user}`.

struct PoiseData;
type PoiseError = Box<dyn std::error::Error + Send + Sync>;
type PoiseContext<'a> = poise::Context<'a, PoiseData, PoiseError>;

/// Says hi.
#[poise::command(slash_command, prefix_command)]
async fn hello(ctx: PoiseContext<'_>) -> Result<(), PoiseError> {
    ctx.say("hi there").await?;
    Ok(())
}

/// Only for managers.
#[poise::command(slash_command, required_permissions = "MANAGE_GUILD")]
async fn manage(ctx: PoiseContext<'_>) -> Result<(), PoiseError> {
    ctx.say("managed").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn poise_registers_and_answers_commands() {
    let emu = Emulator::start().await;
    let framework = poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: vec![hello(), manage()],
            prefix_options: poise::PrefixFrameworkOptions {
                prefix: Some("!".into()),
                mention_as_prefix: true,
                ..Default::default()
            },
            ..Default::default()
        })
        .setup(|ctx, _ready, framework| {
            Box::pin(async move {
                let guild = GuildId::new(GUILD_ID);
                poise::builtins::register_in_guild(ctx, &framework.options().commands, guild)
                    .await?;
                Ok(PoiseData)
            })
        })
        .build();
    let mut client = ClientBuilder::new_with_http(http(&emu), intents())
        .framework(framework)
        .await
        .expect("the client builds");
    tokio::spawn(async move {
        let _ = client.start().await;
    });
    assert!(emu.wait_ready(WAIT).await);
    let path = format!("/applications/{APP_ID}/guilds/{GUILD_ID}/commands");
    let put = emu
        .wait_request(WAIT, |r| r.method == "PUT" && r.path == path)
        .await
        .expect("poise registers the commands in the guild");
    assert_eq!(put.status, 200);
    assert_eq!(put.body.as_array().map(Vec::len), Some(2));

    emu.message(Msg::guild(CHANNEL_ID, USER_ID, "!hello")).await;
    reply_in(&emu, CHANNEL_ID, "hi there").await;
    emu.message(Msg::guild(CHANNEL_ID, USER_ID, format!("<@{BOT_ID}> hello")).mentioning_bot())
        .await;
    let second = emu
        .wait_request(WAIT, |r| {
            r.body["content"] == "hi there" && r.at > put.at && r.path.starts_with("/channels/")
        })
        .await;
    assert!(second.is_some());

    async fn answer(emu: &Emulator, i: Value) -> Recorded {
        let path = format!(
            "/interactions/{}/{}/callback",
            i["id"].as_str().unwrap(),
            i["token"].as_str().unwrap()
        );
        emu.interaction(i).await;
        emu.wait_request(WAIT, |r| r.path == path)
            .await
            .expect("poise answered the interaction")
    }
    let hi = answer(
        &emu,
        emu.slash("hello", Value::Null, USER_ID, DEFAULT_MEMBER_PERMISSIONS),
    )
    .await;
    assert_eq!(hi.body["data"]["content"], "hi there");
    let denied = answer(
        &emu,
        emu.slash("manage", Value::Null, USER_ID, DEFAULT_MEMBER_PERMISSIONS),
    )
    .await;
    assert_eq!(
        denied.body["data"]["content"], "You're lacking permissions for `/manage`: Manage Guild",
        "poise computed the member's permissions from the emulated guild"
    );
    let manager = DEFAULT_MEMBER_PERMISSIONS | Permissions::MANAGE_GUILD.bits();
    let allowed = answer(&emu, emu.slash("manage", Value::Null, USER_ID, manager)).await;
    assert_eq!(allowed.body["data"]["content"], "managed");
    assert_eq!(emu.errors(), Vec::<String>::new());
}

// ----------------------------------------------------------------------------------------------
// OAuth2 (the dashboard's admin login), over plain HTTP as a browser and a web server do it.

/// Where the emulated dashboard wants the browser sent back (never connected to).
const REDIRECT: &str = "http://127.0.0.1:9/auth/callback";

/// A browser (or the dashboard's HTTP client): redirects are not followed.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `/oauth2/authorize?...` with these parameters.
fn authorize_url(emu: &Emulator, params: &[(&str, &str)]) -> String {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    format!("{}/oauth2/authorize?{query}", emu.api_base())
}

/// A valid authorization request's parameters, without `state`.
fn authorize_params(redirect_uri: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".to_owned()),
        ("client_id", OAUTH_CLIENT_ID.to_string()),
        ("scope", "identify guilds".to_owned()),
        ("redirect_uri", redirect_uri.to_owned()),
    ]
}

/// The hidden inputs of a page, `(name, value)`, unescaped.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    page.split(r#"<input type="hidden" name=""#)
        .skip(1)
        .map(|input| {
            let (name, rest) = input.split_once('"').unwrap();
            let value = rest.split_once(r#"value=""#).unwrap().1;
            let value = value.split_once('"').unwrap().0;
            let value = value
                .replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&");
            (name.to_owned(), value)
        })
        .collect()
}

/// `POST {path}` (under the REST port) with a form and maybe Basic auth: status and JSON.
async fn post_form(
    emu: &Emulator,
    path: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (u16, Value) {
    let mut request = browser()
        .post(format!("{}{path}", emu.api_base()))
        .form(form);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Exchanges `code` with the client credentials in the form.
async fn exchange(emu: &Emulator, code: &str, redirect_uri: &str) -> (u16, Value) {
    let id = OAUTH_CLIENT_ID.to_string();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", id.as_str()),
        ("client_secret", OAUTH_CLIENT_SECRET),
    ];
    post_form(emu, "/api/oauth2/token", &form, None).await
}

/// A Bearer token for the current OAuth user.
async fn login(emu: &Emulator) -> String {
    let (status, body) = exchange(emu, &emu.oauth_code(REDIRECT), REDIRECT).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

/// `GET /api/v10{path}` with this `Authorization`: status and JSON.
async fn get_api(emu: &Emulator, path: &str, authorization: &str) -> (u16, Value) {
    let response = browser()
        .get(format!("{}/api/v10{path}", emu.api_base()))
        .header(reqwest::header::AUTHORIZATION, authorization)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_consent_page_posts_back_and_redirects_with_code_and_state() {
    let emu = Emulator::start().await;
    let client = browser();
    let state = "st ate&x=1/é";
    let url = format!(
        "{}/oauth2/authorize?response_type=code&client_id={OAUTH_CLIENT_ID}&scope=identify%20guilds&state={}&redirect_uri={}",
        emu.api_base(),
        enc(state),
        enc(REDIRECT)
    );
    let page = client.get(&url).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let content_type = page.headers()[reqwest::header::CONTENT_TYPE]
        .to_str()
        .unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = page.text().await.unwrap();
    for part in [
        "<title>Authorize access</title>",
        r#"<strong id="user">owner</strong>"#,
        "<li>identify</li><li>guilds</li>",
        r#"<form method="post" action="/oauth2/authorize">"#,
        r#"<button type="submit" id="authorize">Authorize</button>"#,
    ] {
        assert!(html.contains(part), "{part} is not in\n{html}");
    }
    let fields = hidden_fields(&html);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(
        field("client_id"),
        Some(OAUTH_CLIENT_ID.to_string().as_str())
    );
    assert_eq!(field("redirect_uri"), Some(REDIRECT));
    assert_eq!(field("scope"), Some("identify guilds"));
    assert_eq!(field("state"), Some(state));
    assert_eq!(field("response_type"), Some("code"));

    // The Authorize button: the form posted to the page's own origin.
    let posted = client
        .post(format!("{}/oauth2/authorize", emu.api_base()))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), reqwest::StatusCode::FOUND);
    let location = posted.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        location.starts_with(&format!("{REDIRECT}?code=")),
        "{location}"
    );
    let pairs: Vec<(String, String)> = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(pairs.len(), 2, "{pairs:?}");
    assert_eq!(pairs[0].0, "code");
    assert_eq!(pairs[1], ("state".to_owned(), state.to_owned()));
    let (status, body) = exchange(&emu, &pairs[0].1, REDIRECT).await;
    assert_eq!(status, 200, "{body}");

    // The code is for the user logged in when the button was pressed; without a state, no
    // state; a redirect URI with a query gets the code after `&`.
    emu.oauth_user(OAuthUser::member(
        USER_ID,
        "ann <admin>",
        DEFAULT_MEMBER_PERMISSIONS,
    ));
    let with_query = "http://127.0.0.1:9/cb?next=%2Fguilds";
    let params = authorize_params(with_query);
    let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let html = client
        .get(authorize_url(&emu, &params))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("ann &lt;admin&gt;"), "{html}");
    assert!(!html.contains(r#"name="state""#), "{html}");
    let posted = client
        .post(format!("{}/oauth2/authorize", emu.api_base()))
        .form(&hidden_fields(&html))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), reqwest::StatusCode::FOUND);
    let location = posted.headers()[reqwest::header::LOCATION]
        .to_str()
        .unwrap();
    let code = location
        .strip_prefix(&format!("{with_query}&code="))
        .unwrap_or_else(|| panic!("{location}"));
    assert!(
        code.chars().all(|c| c.is_ascii_alphanumeric()),
        "{location}"
    );
    let (status, body) = exchange(&emu, code, with_query).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap();
    let (_, me) = get_api(&emu, "/users/@me", &format!("Bearer {token}")).await;
    assert_eq!(me["id"], USER_ID.to_string());

    // Recorded like any request: the page's query in `uri`, the form's fields in `body`.
    let requests = emu.requests();
    let get = requests
        .iter()
        .find(|r| r.method == "GET" && r.path == "/oauth2/authorize")
        .unwrap();
    assert!(get.uri.contains("scope=identify%20guilds"), "{}", get.uri);
    assert_eq!(get.status, 200);
    let post = requests
        .iter()
        .find(|r| r.method == "POST" && r.path == "/oauth2/authorize")
        .unwrap();
    assert_eq!(post.body["state"], state);
    assert_eq!(post.status, 302);
    assert_eq!(emu.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_token_exchange_takes_form_credentials_or_basic_auth() {
    let emu = Emulator::start().await;
    let id = OAUTH_CLIENT_ID.to_string();

    // Credentials in the form, at /api/oauth2/token.
    let code = emu.oauth_code(REDIRECT);
    let (status, first) = exchange(&emu, &code, REDIRECT).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 604_800);
    assert_eq!(first["scope"], "identify guilds");
    let access = first["access_token"].as_str().unwrap();
    let refresh = first["refresh_token"].as_str().unwrap();
    assert!(!access.is_empty() && !refresh.is_empty() && access != refresh);

    // Basic auth, at /api/v10/oauth2/token.
    let code = emu.oauth_code(REDIRECT);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, second) = post_form(
        &emu,
        "/api/v10/oauth2/token",
        &form,
        Some((&id, OAUTH_CLIENT_SECRET)),
    )
    .await;
    assert_eq!(status, 200, "{second}");
    assert_ne!(second["access_token"], first["access_token"]);
    assert_eq!(emu.oauth_tokens_issued(), 2);

    // A refresh token gives a new access token, once.
    let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let basic = Some((id.as_str(), OAUTH_CLIENT_SECRET));
    let (status, refreshed) = post_form(&emu, "/api/oauth2/token", &form, basic).await;
    assert_eq!(status, 200, "{refreshed}");
    assert_ne!(refreshed["access_token"], first["access_token"]);
    let (status, again) = post_form(&emu, "/api/oauth2/token", &form, basic).await;
    assert_eq!((status, &again["error"]), (400, &json!("invalid_grant")));
    assert_eq!(emu.oauth_tokens_issued(), 3);

    // The secret went in the form or in Basic auth, and nowhere else.
    let requests = emu.requests();
    let tokens: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/oauth2/token")
        .collect();
    assert_eq!(tokens.len(), 4);
    assert_eq!(tokens[0].body["client_secret"], OAUTH_CLIENT_SECRET);
    assert_eq!(tokens[0].body["client_id"], id);
    assert_eq!(tokens[0].authorization, "");
    assert_eq!(tokens[0].uri, "/api/oauth2/token");
    assert_eq!(
        tokens[1].basic_auth(),
        Some((id.clone(), OAUTH_CLIENT_SECRET.to_owned()))
    );
    assert_eq!(tokens[1].body.get("client_secret"), None);
    assert_eq!(tokens[1].uri, "/api/v10/oauth2/token");
    assert!(tokens.iter().all(|r| r.mentions(OAUTH_CLIENT_SECRET)));
    let (status, _) = get_api(&emu, "/users/@me", &format!("Bearer {access}")).await;
    assert_eq!(status, 200);
    assert!(emu
        .requests()
        .iter()
        .filter(|r| r.path != "/oauth2/token")
        .all(|r| !r.mentions(OAUTH_CLIENT_SECRET)));
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_token_exchange_refuses_reused_codes_other_redirects_and_wrong_secrets() {
    let emu = Emulator::start().await;
    let id = OAUTH_CLIENT_ID.to_string();
    let code = emu.oauth_code(REDIRECT);
    let grant = |redirect_uri: &'static str, code: String| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code),
            ("redirect_uri", redirect_uri.to_owned()),
        ]
    };
    let with = |mut form: Vec<(&'static str, String)>, extra: &[(&'static str, &str)]| {
        form.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        form
    };
    async fn send(
        emu: &Emulator,
        form: Vec<(&'static str, String)>,
        basic: Option<(&str, &str)>,
    ) -> (u16, Value) {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post_form(emu, "/api/oauth2/token", &form, basic).await
    }
    let creds: [(&str, &str); 2] = [("client_id", &id), ("client_secret", OAUTH_CLIENT_SECRET)];
    let error = |reply: (u16, Value)| (reply.0, reply.1["error"].as_str().unwrap().to_owned());

    // Another redirect URI (or none): refused, and the code is still good.
    let other = grant("http://127.0.0.1:9/elsewhere", code.clone());
    let reply = send(&emu, with(other, &creds), None).await;
    assert_eq!(error(reply), (400, "invalid_grant".to_owned()));
    let mut none = grant(REDIRECT, code.clone());
    none.retain(|(k, _)| *k != "redirect_uri");
    let reply = send(&emu, with(none, &creds), None).await;
    assert_eq!(error(reply), (400, "invalid_grant".to_owned()));

    // Wrong or missing client credentials: 401 invalid_client, the code still good.
    let invalid_client = (401, "invalid_client".to_owned());
    let wrong_secret = [("client_id", id.as_str()), ("client_secret", "nope")];
    let reply = send(
        &emu,
        with(grant(REDIRECT, code.clone()), &wrong_secret),
        None,
    )
    .await;
    assert_eq!(error(reply), invalid_client);
    let reply = send(&emu, grant(REDIRECT, code.clone()), Some((&id, "nope"))).await;
    assert_eq!(error(reply), invalid_client);
    let reply = send(
        &emu,
        grant(REDIRECT, code.clone()),
        Some(("123", OAUTH_CLIENT_SECRET)),
    )
    .await;
    assert_eq!(error(reply), invalid_client);
    let reply = send(&emu, grant(REDIRECT, code.clone()), None).await;
    assert_eq!(error(reply), invalid_client);
    // Right in Basic auth, wrong in the form: refused too.
    let reply = send(
        &emu,
        with(grant(REDIRECT, code.clone()), &wrong_secret),
        Some((&id, OAUTH_CLIENT_SECRET)),
    )
    .await;
    assert_eq!(error(reply), invalid_client);

    // Right: once.
    let (status, body) = send(&emu, with(grant(REDIRECT, code.clone()), &creds), None).await;
    assert_eq!(status, 200, "{body}");
    let reply = send(&emu, with(grant(REDIRECT, code.clone()), &creds), None).await;
    assert_eq!(error(reply), (400, "invalid_grant".to_owned()));
    let reply = send(&emu, with(grant(REDIRECT, "unknown".into()), &creds), None).await;
    assert_eq!(error(reply), (400, "invalid_grant".to_owned()));
    let reply = send(
        &emu,
        creds.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        None,
    )
    .await;
    assert_eq!(error(reply), (400, "unsupported_grant_type".to_owned()));
    assert_eq!(emu.oauth_tokens_issued(), 1);

    // Only under /api, and only POST.
    let response = browser()
        .get(format!("{}/api/oauth2/token", emu.api_base()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let code = emu.oauth_code(REDIRECT);
    let form: Vec<(&str, &str)> = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ]
    .into_iter()
    .chain(creds)
    .collect();
    let (status, _) = post_form(&emu, "/oauth2/token", &form, None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_bearer_token_reads_its_user_and_their_guilds() {
    let emu = Emulator::start().await;
    let owner = format!("Bearer {}", login(&emu).await);
    let (status, me) = get_api(&emu, "/users/@me", &owner).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], OWNER_ID.to_string());
    assert_eq!(me["username"], "owner");
    assert_eq!(me["global_name"], "owner");
    assert_eq!(me["discriminator"], "0");
    assert_eq!(me["avatar"], Value::Null);
    let (status, guilds) = get_api(&emu, "/users/@me/guilds", &owner).await;
    assert_eq!(status, 200, "{guilds}");
    assert_eq!(
        guilds,
        json!([{
            "id": GUILD_ID.to_string(), "name": GUILD_NAME, "icon": null, "owner": true,
            "permissions": Permissions::all().bits().to_string(), "features": [],
        }])
    );

    // A member who also owns a guild the bot does not serve.
    let other = emu.new_id();
    let manager = DEFAULT_MEMBER_PERMISSIONS | Permissions::MANAGE_GUILD.bits();
    emu.oauth_user(
        OAuthUser::member(USER_ID, "ann", manager).with_guild(OAuthGuild::new(
            other,
            "Elsewhere",
            true,
            Permissions::ADMINISTRATOR.bits(),
        )),
    );
    let member = format!("Bearer {}", login(&emu).await);
    let (_, me) = get_api(&emu, "/users/@me", &member).await;
    assert_eq!(
        (&me["id"], &me["username"]),
        (&json!(USER_ID.to_string()), &json!("ann"))
    );
    let (_, guilds) = get_api(&emu, "/users/@me/guilds", &member).await;
    assert_eq!(
        guilds,
        json!([
            {"id": GUILD_ID.to_string(), "name": GUILD_NAME, "icon": null, "owner": false,
             "permissions": manager.to_string(), "features": []},
            {"id": other.to_string(), "name": "Elsewhere", "icon": null, "owner": true,
             "permissions": Permissions::ADMINISTRATOR.bits().to_string(), "features": []},
        ])
    );
    let (_, info) = get_api(&emu, "/oauth2/@me", &member).await;
    assert_eq!(info["scopes"], json!(["identify", "guilds"]));
    assert_eq!(info["user"]["id"], USER_ID.to_string());
    // The owner's token still reads the owner; the member has those permissions in the guild.
    let (_, me) = get_api(&emu, "/users/@me", &owner).await;
    assert_eq!(me["id"], OWNER_ID.to_string());
    let http = http(&emu);
    let roles = http.get_guild_roles(GuildId::new(GUILD_ID)).await.unwrap();
    let member_roles = http
        .get_member(GuildId::new(GUILD_ID), UserId::new(USER_ID))
        .await
        .unwrap()
        .roles;
    assert!(roles
        .iter()
        .any(|r| member_roles.contains(&r.id) && r.permissions.bits() == manager));

    // Unknown tokens, and bot routes, are refused.
    let unauthorized = (401, json!({"message": "401: Unauthorized", "code": 0}));
    assert_eq!(
        get_api(&emu, "/users/@me", "Bearer nope").await,
        unauthorized
    );
    assert_eq!(
        get_api(&emu, "/users/@me/guilds", "Bearer nope").await,
        unauthorized
    );
    assert_eq!(
        get_api(&emu, &format!("/guilds/{GUILD_ID}"), &member).await,
        unauthorized
    );
    // Revoked by the endpoint, or all of them expired.
    let id = OAUTH_CLIENT_ID.to_string();
    let token = member.strip_prefix("Bearer ").unwrap();
    let (status, _) = post_form(
        &emu,
        "/api/oauth2/token/revoke",
        &[("token", token)],
        Some((&id, OAUTH_CLIENT_SECRET)),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(get_api(&emu, "/users/@me", &member).await, unauthorized);
    assert_eq!(get_api(&emu, "/users/@me", &owner).await.0, 200);
    emu.oauth_revoke_tokens();
    assert_eq!(get_api(&emu, "/users/@me", &owner).await, unauthorized);
    assert_eq!(emu.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bot_token_still_reads_the_bot_user_and_its_guilds() {
    let emu = Emulator::start().await;
    let http = http(&emu);
    let me = http.get_current_user().await.unwrap();
    assert_eq!((me.id.get(), me.bot), (BOT_ID, true));
    let guilds = http.get_guilds(None, None).await.unwrap();
    assert_eq!(
        guilds
            .iter()
            .map(|g| (g.id.get(), g.name.as_str(), g.owner))
            .collect::<Vec<_>>(),
        [(GUILD_ID, GUILD_NAME, false)]
    );
    // The same over plain HTTP, whatever OAuth user is logged in.
    emu.oauth_user(OAuthUser::member(
        USER_ID,
        "ann",
        DEFAULT_MEMBER_PERMISSIONS,
    ));
    let (status, me) = get_api(&emu, "/users/@me", &format!("Bot {FAKE_TOKEN}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&me["id"], &me["bot"]),
        (&json!(BOT_ID.to_string()), &json!(true))
    );
    assert!(emu
        .requests()
        .iter()
        .all(|r| r.authorization == format!("Bot {FAKE_TOKEN}")));
    assert_eq!(emu.errors(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn oauth_authorize_refuses_bad_requests_with_400() {
    let emu = Emulator::start().await;
    let client = browser();
    let valid = authorize_params(REDIRECT);
    let bad_client = BOT_ID.to_string();
    let cases: [(&str, Option<&str>); 8] = [
        ("client_id", Some(&bad_client)),
        ("client_id", None),
        ("response_type", Some("token")),
        ("scope", Some("identify")),
        ("scope", Some("identify guilds bogus")),
        ("redirect_uri", None),
        ("redirect_uri", Some("/auth/callback")),
        ("redirect_uri", Some("ftp://127.0.0.1/cb")),
    ];
    for (name, value) in cases {
        let params: Vec<(&str, &str)> = valid
            .iter()
            .filter(|(k, _)| *k != name)
            .map(|(k, v)| (*k, v.as_str()))
            .chain(value.map(|v| (name, v)))
            .collect();
        for post in [false, true] {
            let response = if post {
                client
                    .post(format!("{}/oauth2/authorize", emu.api_base()))
                    .form(&params)
                    .send()
                    .await
            } else {
                client.get(authorize_url(&emu, &params)).send().await
            }
            .unwrap();
            assert_eq!(
                response.status().as_u16(),
                400,
                "{name}={value:?} post={post}"
            );
            assert!(response.headers().get(reqwest::header::LOCATION).is_none());
            let text = response.text().await.unwrap();
            assert!(text.contains(name), "{name}={value:?}: {text}");
        }
    }
    // Valid: the page; under /api: not there.
    let params: Vec<(&str, &str)> = valid.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = authorize_url(&emu, &params);
    assert_eq!(
        client.get(&url).send().await.unwrap().status().as_u16(),
        200
    );
    let under_api = url.replace("/oauth2/authorize", "/api/v10/oauth2/authorize");
    assert_eq!(
        client
            .get(&under_api)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
}
