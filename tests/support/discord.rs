//! An in-process Discord emulator for end-to-end tests of the bot.
//!
//! It speaks just enough Discord for serenity 0.12.5 (and poise 0.6 on top of it) to run against
//! it on 127.0.0.1, without a network and without a real token:
//!
//! - a **REST API** (axum, one port): the bot's `Http` is built with
//!   `HttpBuilder::new(FAKE_TOKEN).proxy(emulator.api_base()).ratelimiter_disabled(true)`, so
//!   serenity sends `http://127.0.0.1:PORT/api/v10/...`. Every request is recorded ([`Recorded`])
//!   with the instant it arrived, and answered with payloads that serenity's own model types
//!   decode (see the table in [`rest`]); unknown routes get a recorded 404. Failures can be
//!   injected with [`Emulator::fail_next`].
//! - a **gateway** (tokio-tungstenite, its own port, plain JSON text frames): HELLO on connect,
//!   READY (then GUILD_CREATE when the GUILDS intent is asked for) in answer to IDENTIFY, RESUMED
//!   in answer to a RESUME of the current session (INVALID_SESSION otherwise), HEARTBEAT_ACK to
//!   every heartbeat. The test pushes events with [`Emulator::message`],
//!   [`Emulator::interaction`], [`Emulator::dispatch`] and [`Emulator::raw_frame`], and can
//!   drop the connection with a close code ([`Emulator::close_gateway`]). As on Discord, a
//!   server message reaches a connection without the Message Content intent with an empty
//!   `content` unless it mentions the bot, and an IDENTIFY asking for an intent the
//!   application may not use ([`Emulator::disallow_intents`]) is closed with 4014.
//! - **OAuth2**, the authorization-code flow the dashboard logs admins in with (same port; the
//!   `oauth` module at the end). `GET /oauth2/authorize` (not under `/api`) checks the request
//!   (`client_id` [`OAUTH_CLIENT_ID`], `response_type=code`, scopes `identify` and `guilds`, an
//!   absolute http(s) `redirect_uri`; else 400 with a short text) and answers a minimal consent
//!   page whose form posts to `POST /oauth2/authorize`: a one-time code for the user logged in
//!   in the browser ([`Emulator::oauth_user`], [`OAuthUser::owner`] by default), by `302 Found`
//!   to `{redirect_uri}?code=..&state=..`. [`Emulator::oauth_code`] skips the page.
//!   `POST /api/oauth2/token` (or `/api/v10/oauth2/token`) exchanges a code (or a refresh
//!   token) for a Bearer token, the client authenticated with [`OAUTH_CLIENT_SECRET`] by form
//!   fields or Basic auth: a reused or unknown code, or another `redirect_uri`, gets 400
//!   `invalid_grant`, wrong credentials 401 `invalid_client`; `.../token/revoke` forgets a
//!   token. With `Authorization: Bearer TOKEN`, `GET /users/@me`, `/users/@me/guilds` and
//!   `/oauth2/@me` answer for the token's user ([`OAuthUser`], [`OAuthGuild`]); an unknown
//!   token, or a bot route, gets 401. With the bot's token, `/users/@me` and
//!   `/users/@me/guilds` answer for the bot as before. OAuth2 requests are recorded like the
//!   others, with their URI, `Authorization` header and form fields ([`Recorded::mentions`]
//!   finds a secret in any of them).
//!
//! serenity silently turns a dispatch whose payload it cannot decode into `Event::Unknown`, so
//! every dispatch built here is checked with serenity's own types before it is sent (unless
//! [`Emulator::set_validate`] turned that off for a benchmark), and a payload that would vanish
//! panics with the serde error instead. REST answers and the emulator's own dispatches (READY,
//! GUILD_CREATE, ...) that fail that check are printed and kept in [`Emulator::errors`].
//!
//! The emulated world: one guild [`GUILD_ID`] owned by [`OWNER_ID`] with a text channel
//! [`CHANNEL_ID`]; the bot user [`BOT_ID`] of application [`APP_ID`] is a member with the role
//! [`BOT_ROLE_ID`] ([`BOT_PERMISSIONS`]). `@everyone` has no permission: every other user gets
//! one role holding exactly their permissions ([`DEFAULT_MEMBER_PERMISSIONS`] unless
//! [`Emulator::set_permissions`] or an interaction builder said otherwise), announced with
//! GUILD_ROLE_CREATE before the first event that needs it, so the permissions a test gives a
//! user are what poise computes from the cache and from `GET /guilds/.../members/...`.
//! Channels other than [`CHANNEL_ID`] exist as soon as they are named (a message in them, a
//! request to them): guild text channels of [`GUILD_ID`], or DM channels for [`Msg::dm`].
//! Forum channels (type 15, with tags) come from [`Emulator::forum`], their posts (public
//! threads, type 11, each a THREAD_CREATE and its first message) from
//! [`Emulator::forum_post`], threads in text channels from [`Emulator::thread`] or from the
//! bot starting one; a message in a thread is a [`Msg::guild`] with the thread's id. A channel
//! chosen in a command's channel option (type 7) comes resolved in `data.resolved.channels`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use axum::Router;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use serenity::model::application::{Command, CurrentApplicationInfo, Interaction};
use serenity::model::channel::{Channel, ChannelType, GuildChannel, Message};
use serenity::model::event::{
    Event, GatewayEvent, GuildCreateEvent, GuildRoleCreateEvent, ThreadCreateEvent,
};
use serenity::model::gateway::{BotGateway, Gateway, Ready};
use serenity::model::guild::{GuildInfo, Member, PartialGuild, Role};
use serenity::model::permissions::Permissions;
use serenity::model::user::{CurrentUser, User};
use serenity::model::Timestamp;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;

// The benches include this file and use none of it (they allow dead code, not this).
#[allow(unused_imports)]
pub use oauth::{OAuthGuild, OAuthUser, OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET};

/// The bot's user id (READY's `user`, `GET /users/@me`, author of every message the bot sends).
pub const BOT_ID: u64 = 1_050_000_000_000_000_000;
/// The bot's application id (READY's `application`, interactions' `application_id`, the
/// `{app}` of command and webhook routes). Deliberately different from [`BOT_ID`].
pub const APP_ID: u64 = 1_050_000_000_000_000_001;
/// The one emulated guild.
pub const GUILD_ID: u64 = 1_050_000_000_000_000_100;
/// The name of [`GUILD_ID`] (and of the guilds of [`Emulator::guild_on_shard`]).
pub const GUILD_NAME: &str = "Emulated Guild";
/// The owner of the application (`GET /oauth2/applications/@me`) and of the guild.
pub const OWNER_ID: u64 = 1_050_000_000_000_000_200;
/// The guild's text channel, where interactions built here happen.
pub const CHANNEL_ID: u64 = 1_050_000_000_000_000_300;
/// A plain member, for tests that need "some user".
pub const USER_ID: u64 = 1_050_000_000_000_000_400;
/// The bot's managed role in the guild.
pub const BOT_ROLE_ID: u64 = 1_050_000_000_000_000_500;
/// A token that passes serenity's `validate_token` (three non-empty dot-separated parts).
pub const FAKE_TOKEN: &str =
    "MTA1MDAwMDAwMDAwMDAwMDAw.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789ABCD";
/// The `heartbeat_interval` sent in HELLO, in milliseconds (Discord's usual value).
pub const HEARTBEAT_INTERVAL_MS: u64 = 41_250;
/// What an ordinary member may do: see, read and write, react, use application commands.
pub const DEFAULT_MEMBER_PERMISSIONS: u64 = Permissions::VIEW_CHANNEL.bits()
    | Permissions::SEND_MESSAGES.bits()
    | Permissions::READ_MESSAGE_HISTORY.bits()
    | Permissions::ADD_REACTIONS.bits()
    | Permissions::EMBED_LINKS.bits()
    | Permissions::ATTACH_FILES.bits()
    | Permissions::USE_EXTERNAL_EMOJIS.bits()
    | Permissions::USE_APPLICATION_COMMANDS.bits()
    | Permissions::SEND_MESSAGES_IN_THREADS.bits();
/// The bot's permissions in the guild (its role) and interactions' `app_permissions`: a
/// member's, and starting and managing threads (see [`Emulator::deny_bot`]).
pub const BOT_PERMISSIONS: u64 = DEFAULT_MEMBER_PERMISSIONS
    | Permissions::CREATE_PUBLIC_THREADS.bits()
    | Permissions::MANAGE_THREADS.bits();
/// The most tags a forum post may carry.
const MAX_APPLIED_TAGS: usize = 5;

/// How long `message()` and friends wait for a connection that has received READY or RESUMED.
/// Longer than serenity's 5 s pause between two IDENTIFYs, so a re-identify is waited for.
const CONNECT_WAIT: Duration = Duration::from_secs(12);
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;
/// `MessageFlags::LOADING`: a deferred interaction response not edited yet.
const FLAG_LOADING: u64 = 1 << 7;
/// How many dispatches of a session are kept for replay on RESUME.
const REPLAY_LIMIT: usize = 100_000;
/// The only gateway intent the emulator reacts to: GUILDS brings a GUILD_CREATE after READY.
const INTENT_GUILDS: u64 = 1;
/// The privileged Message Content intent.
pub const INTENT_MESSAGE_CONTENT: u64 = 1 << 15;

/// One REST request as the emulator received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without `/api/v10` (or `/api`) and without the query string, e.g.
    /// `/channels/1/messages`, `/oauth2/token`.
    pub path: String,
    /// The path and query string as received, prefix included, e.g.
    /// `/oauth2/authorize?response_type=code&...`.
    pub uri: String,
    /// The `Authorization` header as received (`""` if none): `Bot ...`, `Bearer ...`,
    /// `Basic ...` (see [`Recorded::basic_auth`]).
    pub authorization: String,
    /// The JSON body; for multipart the `payload_json` part; for a form
    /// (`application/x-www-form-urlencoded`) an object of its fields as strings; `Null` if
    /// none or neither.
    pub body: serde_json::Value,
    /// When the request arrived (before its body was read).
    pub at: Instant,
    /// The status the emulator answered with.
    pub status: u16,
}

/// A MESSAGE_CREATE to push through the gateway with [`Emulator::message`].
#[derive(Clone, Debug)]
pub struct Msg {
    pub channel_id: u64,
    /// `Some` for a guild message (then it carries `guild_id` and a partial `member`).
    pub guild_id: Option<u64>,
    pub author_id: u64,
    pub author_bot: bool,
    pub content: String,
    /// Put the bot user in `mentions` (the content is left as given, e.g. `"<@BOT_ID> hi"`).
    pub mentions_bot: bool,
    /// Roles put in `mention_roles` (the content is left as given, e.g. `"<@&ROLE> hi"`).
    pub mention_roles: Vec<u64>,
}

impl Msg {
    /// A message in a text channel of [`GUILD_ID`].
    pub fn guild(channel_id: u64, author_id: u64, content: impl Into<String>) -> Msg {
        Msg {
            channel_id,
            guild_id: Some(GUILD_ID),
            author_id,
            author_bot: false,
            content: content.into(),
            mentions_bot: false,
            mention_roles: Vec::new(),
        }
    }

    /// A direct message to the bot; `channel_id` becomes the DM channel with `author_id`.
    pub fn dm(channel_id: u64, author_id: u64, content: impl Into<String>) -> Msg {
        Msg {
            guild_id: None,
            ..Msg::guild(channel_id, author_id, content)
        }
    }

    /// Puts the bot user in `mentions`.
    pub fn mentioning_bot(mut self) -> Msg {
        self.mentions_bot = true;
        self
    }

    /// Puts `role` in `mention_roles`.
    pub fn mentioning_role(mut self, role: u64) -> Msg {
        self.mention_roles.push(role);
        self
    }

    /// Makes the author a bot (`author.bot = true`).
    pub fn by_bot(mut self) -> Msg {
        self.author_bot = true;
        self
    }
}

/// The emulator: both servers and their shared state. Cheap to clone.
#[derive(Clone)]
pub struct Emulator {
    inner: Arc<Inner>,
}

struct Inner {
    api_addr: SocketAddr,
    ws_url: String,
    validate: AtomicBool,
    ids: AtomicU64,
    gw: Mutex<Gw>,
    gw_changed: watch::Sender<()>,
    identifies: AtomicUsize,
    resumes: AtomicUsize,
    intents: Mutex<Option<u64>>,
    /// Intents the application may not use (Discord closes such an IDENTIFY with 4014).
    disallowed: AtomicU64,
    /// `[shard_id, num_shards]` of every IDENTIFY.
    identified: Mutex<Vec<[u32; 2]>>,
    log: Mutex<Log>,
    log_changed: watch::Sender<()>,
    fails: Mutex<Vec<FailRule>>,
    /// Number of per-permission roles created so far (they are only ever appended).
    roles_created: AtomicUsize,
    world: Mutex<World>,
    errors: Mutex<Vec<String>>,
    /// OAuth2: the user logged in in the browser, codes and tokens.
    oauth: Mutex<oauth::OAuth>,
}

/// Gateway side: each shard's latest connection and the session it carries, and the
/// connections not identified yet.
#[derive(Default)]
struct Gw {
    shards: BTreeMap<u32, Shard>,
    /// Connections that have sent neither IDENTIFY nor a RESUME of a known session yet.
    unbound: HashMap<u64, Conn>,
    /// The shard count of the latest IDENTIFY (1 before any): guild events go to shard
    /// `(guild_id >> 22) % total`, direct messages to shard 0.
    total: u32,
    /// What `GET /gateway/bot` recommends (1 unless a test said otherwise).
    recommended: u32,
    next_conn: u64,
    next_session: u64,
}

/// One shard: its latest connection and session.
#[derive(Default)]
struct Shard {
    current: Option<Conn>,
    session: Option<Session>,
}

impl Gw {
    /// The shard that receives the events of `guild` (`None`: a DM).
    fn shard_of(&self, guild: Option<u64>) -> u32 {
        guild.map_or(0, |g| shard_of(g, self.total.max(1)))
    }

    /// The shard connection `conn_id` carries, if it is bound to one.
    fn shard_of_conn(&self, conn_id: u64) -> Option<u32> {
        self.shards
            .iter()
            .find(|(_, s)| s.current.as_ref().is_some_and(|c| c.id == conn_id))
            .map(|(id, _)| *id)
    }
}

/// Discord's shard formula.
pub fn shard_of(guild: u64, total: u32) -> u32 {
    ((guild >> 22) % u64::from(total.max(1))) as u32
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Out>,
    /// READY or RESUMED was sent on it.
    ready: bool,
}

struct Session {
    id: String,
    seq: u64,
    /// GUILD_CREATE was sent, so serenity's cache holds the guild and new roles must be
    /// announced with GUILD_ROLE_CREATE.
    guild_cached: bool,
    /// How many of the per-permission roles the session's client knows.
    roles_known: usize,
    /// The session's dispatches by sequence number (the last [`REPLAY_LIMIT`]), replayed after
    /// the client's `seq` when it resumes, as Discord does.
    sent: VecDeque<(u64, String)>,
}

enum Out {
    Text(String),
    Close(u16),
}

#[derive(Default)]
struct Log {
    generation: u64,
    entries: Vec<Recorded>,
}

struct FailRule {
    method: String,
    prefix: String,
    status: u16,
    remaining: usize,
}

/// REST side: what exists in the emulated Discord.
#[derive(Default)]
struct World {
    /// channel id -> guild (None: a DM channel with `recipient`).
    channels: HashMap<u64, ChannelInfo>,
    dm_by_user: HashMap<u64, u64>,
    /// user -> permissions, for users a test configured.
    perms: HashMap<u64, u64>,
    /// permissions -> role id, in creation order in `role_order`.
    roles: BTreeMap<u64, u64>,
    role_order: Vec<(u64, u64)>,
    /// Messages the bot created (and component messages), by id.
    messages: HashMap<u64, Value>,
    /// Interactions dispatched, by token.
    interactions: HashMap<String, Itx>,
    /// Registered commands by scope (None: global).
    commands: HashMap<Option<u64>, Vec<Value>>,
    /// The guilds: [`GUILD_ID`] first, then those of [`Emulator::guild_on_shard`].
    guilds: Vec<u64>,
    /// Forum channels (type 15): their tags, as (id, name).
    forums: HashMap<u64, Vec<(u64, String)>>,
    /// Public threads (type 11), in forums and text channels.
    threads: HashMap<u64, ThreadInfo>,
    /// Permissions the bot lacks, whatever its role says (see [`Emulator::deny_bot`]).
    bot_denied: u64,
    /// Permissions the bot's role is denied in a channel, by an overwrite (see
    /// [`Emulator::deny_bot_in`]).
    denied_in: HashMap<u64, u64>,
    /// Members' messages sent through the gateway: id -> channel.
    member_messages: HashMap<u64, u64>,
}

/// A public thread: a forum post, or a thread started in a text channel.
#[derive(Clone)]
struct ThreadInfo {
    parent: u64,
    owner: u64,
    name: String,
    /// Applied forum tags (ids).
    tags: Vec<u64>,
    archived: bool,
}

#[derive(Clone, Copy)]
struct ChannelInfo {
    guild: Option<u64>,
    recipient: Option<u64>,
}

struct Itx {
    id: u64,
    kind: u64,
    channel_id: u64,
    /// When the INTERACTION_CREATE went out: Discord forgets an interaction not
    /// acknowledged within 3 seconds.
    sent: Instant,
    acknowledged: bool,
    /// The `@original` response message, once there is one.
    original: Option<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn notify(w: &watch::Sender<()>) {
    w.send_modify(|_| {});
}

fn now() -> String {
    Timestamp::now().to_string()
}

fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn user_json(id: u64, bot: bool) -> Value {
    let name = match id {
        BOT_ID => "careerbot".to_owned(),
        OWNER_ID => "owner".to_owned(),
        _ => format!("user{id}"),
    };
    json!({
        "id": id.to_string(),
        "username": name,
        "discriminator": "0",
        "global_name": null,
        "avatar": null,
        "bot": bot || id == BOT_ID,
        "public_flags": 0,
    })
}

fn role_json(id: u64, name: &str, permissions: u64, position: usize, bot: bool) -> Value {
    let mut role = json!({
        "id": id.to_string(),
        "name": name,
        "color": 0,
        "colors": {"primary_color": 0, "secondary_color": null, "tertiary_color": null},
        "hoist": false,
        "managed": bot,
        "mentionable": false,
        "permissions": permissions.to_string(),
        "position": position,
        "icon": null,
        "unicode_emoji": null,
        "flags": 0,
    });
    if bot {
        role["tags"] = json!({"bot_id": BOT_ID.to_string()});
    }
    role
}

fn guild_channel_json(id: u64, guild: u64) -> Value {
    let name = if id == CHANNEL_ID {
        "general".to_owned()
    } else {
        format!("channel-{id}")
    };
    json!({
        "id": id.to_string(),
        "type": 0,
        "guild_id": guild.to_string(),
        "name": name,
        "position": 0,
        "permission_overwrites": [],
        "nsfw": false,
        "topic": null,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "parent_id": null,
        "flags": 0,
    })
}

fn thread_json(id: u64, thread: &ThreadInfo) -> Value {
    json!({
        "id": id.to_string(),
        "type": 11,
        "guild_id": GUILD_ID.to_string(),
        "parent_id": thread.parent.to_string(),
        "owner_id": thread.owner.to_string(),
        "name": thread.name,
        "last_message_id": null,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "total_message_sent": 0,
        "thread_metadata": {
            "archived": thread.archived,
            "auto_archive_duration": 4320,
            "archive_timestamp": now(),
            "locked": false,
            "create_timestamp": now(),
        },
        "applied_tags": thread.tags.iter().map(u64::to_string).collect::<Vec<_>>(),
        "flags": 0,
    })
}

fn forum_json(id: u64, tags: &[(u64, String)]) -> Value {
    let mut forum = guild_channel_json(id, GUILD_ID);
    merge_into(
        &mut forum,
        &json!({
            "type": 15,
            "name": format!("forum-{id}"),
            "available_tags": tags.iter().map(|(tag, name)| json!({
                "id": tag.to_string(),
                "name": name,
                "moderated": false,
                "emoji_id": null,
                "emoji_name": null,
            })).collect::<Vec<_>>(),
            "default_reaction_emoji": null,
            "default_thread_rate_limit_per_user": 0,
            "default_sort_order": null,
            "default_forum_layout": 0,
        }),
    );
    forum
}

impl World {
    /// The bot's permissions: its role's, less what a test denied it.
    fn bot_may(&self, permissions: u64) -> bool {
        BOT_PERMISSIONS & !self.bot_denied & permissions == permissions
    }

    fn channel(&mut self, id: u64) -> ChannelInfo {
        *self.channels.entry(id).or_insert(ChannelInfo {
            guild: Some(GUILD_ID),
            recipient: None,
        })
    }

    fn channel_json(&mut self, id: u64) -> Value {
        if let Some(thread) = self.threads.get(&id) {
            return thread_json(id, thread);
        }
        if let Some(tags) = self.forums.get(&id) {
            return forum_json(id, tags);
        }
        match self.channel(id) {
            ChannelInfo { guild: Some(g), .. } => {
                self.with_overwrites(id, guild_channel_json(id, g))
            }
            ChannelInfo { recipient, .. } => json!({
                "id": id.to_string(),
                "type": 1,
                "last_message_id": null,
                "recipients": [user_json(recipient.unwrap_or(USER_ID), false)],
            }),
        }
    }

    /// `channel`'s JSON with its overwrite for the bot's role, if a test denied it anything.
    fn with_overwrites(&self, channel: u64, mut json: Value) -> Value {
        if let Some(denied) = self.denied_in.get(&channel) {
            json["permission_overwrites"] = json!([{
                "id": BOT_ROLE_ID.to_string(),
                "type": 0,
                "allow": "0",
                "deny": denied.to_string(),
            }]);
        }
        json
    }

    fn permissions_of(&self, user: u64) -> u64 {
        self.perms
            .get(&user)
            .copied()
            .unwrap_or(DEFAULT_MEMBER_PERMISSIONS)
    }

    /// The role holding exactly `permissions`, created if needed.
    fn role_for(&mut self, permissions: u64, ids: &AtomicU64, created: &AtomicUsize) -> u64 {
        if let Some(id) = self.roles.get(&permissions) {
            return *id;
        }
        let id = next_id(ids);
        self.roles.insert(permissions, id);
        self.role_order.push((id, permissions));
        created.store(self.role_order.len(), Ordering::Release);
        id
    }

    fn perm_role_json(&self, index: usize) -> Value {
        let (id, permissions) = self.role_order[index];
        role_json(
            id,
            &format!("perms-{permissions}"),
            permissions,
            index + 2,
            false,
        )
    }

    fn roles_json(&self, guild: u64) -> Vec<Value> {
        let mut roles = vec![
            role_json(guild, "@everyone", 0, 0, false),
            role_json(BOT_ROLE_ID, "careerbot", BOT_PERMISSIONS, 1, true),
        ];
        roles.extend((0..self.role_order.len()).map(|i| self.perm_role_json(i)));
        roles
    }

    fn member_json(&self, user: u64, permissions: Option<u64>) -> Value {
        let role = if user == BOT_ID {
            BOT_ROLE_ID
        } else {
            self.roles[&self.permissions_of(user)]
        };
        let mut member = json!({
            "user": user_json(user, false),
            "nick": null,
            "avatar": null,
            "roles": [role.to_string()],
            "joined_at": now(),
            "premium_since": null,
            "deaf": false,
            "mute": false,
            "flags": 0,
            "pending": false,
            "communication_disabled_until": null,
        });
        if let Some(p) = permissions {
            member["permissions"] = json!(p.to_string());
        }
        member
    }

    fn guild_base_json(&self, guild: u64) -> Value {
        json!({
            "id": guild.to_string(),
            "name": GUILD_NAME,
            "icon": null,
            "icon_hash": null,
            "splash": null,
            "discovery_splash": null,
            "owner_id": OWNER_ID.to_string(),
            "afk_channel_id": null,
            "afk_timeout": 300,
            "widget_enabled": false,
            "widget_channel_id": null,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": self.roles_json(guild),
            "emojis": [],
            "features": [],
            "mfa_level": 0,
            "application_id": null,
            "system_channel_id": null,
            "system_channel_flags": 0,
            "rules_channel_id": null,
            "max_presences": null,
            "max_members": 500_000,
            "vanity_url_code": null,
            "description": null,
            "banner": null,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": null,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "nsfw_level": 0,
            "stickers": [],
            "premium_progress_bar_enabled": false,
            "safety_alerts_channel_id": null,
            "incidents_data": null,
        })
    }

    fn guild_create_json(&self, id: u64) -> Value {
        let mut guild = self.guild_base_json(id);
        let channels: Vec<Value> = self
            .channels
            .iter()
            .filter(|(c_id, c)| c.guild == Some(id) && !self.threads.contains_key(c_id))
            .map(|(c_id, _)| match self.forums.get(c_id) {
                Some(tags) => forum_json(*c_id, tags),
                None => self.with_overwrites(*c_id, guild_channel_json(*c_id, id)),
            })
            .collect();
        let extra = json!({
            "joined_at": now(),
            "large": false,
            "unavailable": false,
            "member_count": 2,
            "voice_states": [],
            "members": [self.member_json(BOT_ID, None)],
            "channels": channels,
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
        });
        merge_into(&mut guild, &extra);
        guild
    }
}

fn merge_into(target: &mut Value, extra: &Value) {
    if let (Some(t), Some(e)) = (target.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            t.insert(k.clone(), v.clone());
        }
    }
}

/// A new snowflake: a counter that started at Discord's layout for the emulator's start time
/// (milliseconds since 2015 shifted left by 22), so ids are unique, non-zero and increasing.
fn next_id(ids: &AtomicU64) -> u64 {
    ids.fetch_add(1, Ordering::Relaxed)
}

/// Checks that serenity decodes `d` as the payload of a `t` dispatch, first with the specific
/// model type (for a precise error), then as a whole frame the way serenity reads it, which must
/// not end up as `Event::Unknown`.
fn validate_dispatch(t: &str, d: &Value) -> Result<(), String> {
    fn as_type<T: DeserializeOwned>(d: &Value) -> Result<(), String> {
        serde_json::from_value::<T>(d.clone())
            .map(drop)
            .map_err(|e| e.to_string())
    }
    let specific = match t {
        "READY" => as_type::<Ready>(d),
        "MESSAGE_CREATE" => as_type::<Message>(d),
        "INTERACTION_CREATE" => as_type::<Interaction>(d),
        "GUILD_CREATE" => as_type::<GuildCreateEvent>(d),
        "GUILD_ROLE_CREATE" => as_type::<GuildRoleCreateEvent>(d),
        "THREAD_CREATE" => as_type::<ThreadCreateEvent>(d).and_then(|()| {
            let thread: GuildChannel =
                serde_json::from_value(d.clone()).map_err(|e| e.to_string())?;
            (thread.kind == ChannelType::PublicThread && thread.parent_id.is_some())
                .then_some(())
                .ok_or_else(|| "not a public thread with a parent".to_owned())
        }),
        _ => Ok(()),
    };
    specific.map_err(|e| format!("{t} payload does not deserialize: {e}\n{d}"))?;
    let frame = json!({"op": 0, "s": 1, "t": t, "d": d});
    match serde_json::from_value::<GatewayEvent>(frame) {
        Ok(GatewayEvent::Dispatch(_, Event::Unknown(_))) => Err(format!(
            "{t} payload would reach serenity as Event::Unknown\n{d}"
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(format!("{t} frame does not deserialize: {e}\n{d}")),
    }
}

fn dispatch_frame(seq: u64, t: &str, d: &str) -> String {
    format!(r#"{{"op":0,"s":{seq},"t":"{t}","d":{d}}}"#)
}

impl Emulator {
    /// Starts the REST API and the gateway, each on its own `127.0.0.1:0` port.
    pub async fn start() -> Emulator {
        let api = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("emulator: cannot bind the REST port");
        let ws = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("emulator: cannot bind the gateway port");
        let api_addr = api.local_addr().expect("REST address");
        let ws_addr = ws.local_addr().expect("gateway address");
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let first_id = (since_epoch.saturating_sub(DISCORD_EPOCH_MS) << 22).max(1 << 22);
        let inner = Arc::new(Inner {
            api_addr,
            ws_url: format!("ws://{ws_addr}"),
            validate: AtomicBool::new(true),
            ids: AtomicU64::new(first_id),
            gw: Mutex::new(Gw {
                total: 1,
                recommended: 1,
                ..Gw::default()
            }),
            gw_changed: watch::channel(()).0,
            identifies: AtomicUsize::new(0),
            resumes: AtomicUsize::new(0),
            intents: Mutex::new(None),
            disallowed: AtomicU64::new(0),
            identified: Mutex::new(Vec::new()),
            log: Mutex::new(Log::default()),
            log_changed: watch::channel(()).0,
            fails: Mutex::new(Vec::new()),
            roles_created: AtomicUsize::new(0),
            world: Mutex::new(World::default()),
            errors: Mutex::new(Vec::new()),
            oauth: Mutex::new(oauth::OAuth::default()),
        });
        {
            let mut world = lock(&inner.world);
            world.guilds.push(GUILD_ID);
            world.channel(CHANNEL_ID);
            world.role_for(DEFAULT_MEMBER_PERMISSIONS, &inner.ids, &inner.roles_created);
        }
        let app = Router::new().fallback(rest).with_state(inner.clone());
        tokio::spawn(async move {
            use axum::serve::ListenerExt;
            let api = api.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let _ = axum::serve(api, app).await;
        });
        tokio::spawn(accept_gateway(inner.clone(), ws));
        Emulator { inner }
    }

    /// `http://127.0.0.1:PORT`, for `HttpBuilder::proxy`.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.inner.api_addr)
    }

    /// `ws://127.0.0.1:PORT`, what `GET /gateway` answers.
    pub fn ws_url(&self) -> String {
        self.inner.ws_url.clone()
    }

    /// Turns the serenity-type checks of dispatches and REST answers on or off (on by
    /// default; off makes `message()` cheaper for bursts).
    pub fn set_validate(&self, on: bool) {
        self.inner.validate.store(on, Ordering::Relaxed);
    }

    /// Waits until the latest gateway connection has been sent READY or RESUMED.
    pub async fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.gw_changed.subscribe();
        loop {
            rx.borrow_and_update();
            if self.is_ready() {
                return true;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return false;
            }
        }
    }

    /// Some shard is connected, and every shard that ever connected is ready again.
    fn is_ready(&self) -> bool {
        let gw = lock(&self.inner.gw);
        !gw.shards.is_empty()
            && gw
                .shards
                .values()
                .all(|s| s.current.as_ref().is_some_and(|c| c.ready))
    }

    /// Waits until `n` shards have connections that were sent READY or RESUMED.
    pub async fn wait_shards_ready(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.gw_changed.subscribe();
        loop {
            rx.borrow_and_update();
            let ready = lock(&self.inner.gw)
                .shards
                .values()
                .filter(|s| s.current.as_ref().is_some_and(|c| c.ready))
                .count();
            if ready >= n {
                return true;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return false;
            }
        }
    }

    /// The shards whose current connection was sent READY or RESUMED, in order.
    pub fn ready_shards(&self) -> Vec<u32> {
        let gw = lock(&self.inner.gw);
        gw.shards
            .iter()
            .filter(|(_, s)| s.current.as_ref().is_some_and(|c| c.ready))
            .map(|(id, _)| *id)
            .collect()
    }

    /// The `[shard_id, num_shards]` of every IDENTIFY received, in order.
    pub fn identified_shards(&self) -> Vec<[u32; 2]> {
        lock(&self.inner.identified).clone()
    }

    /// What `GET /gateway/bot` recommends from now on.
    pub fn set_recommended_shards(&self, shards: u32) {
        lock(&self.inner.gw).recommended = shards;
    }

    /// A new guild of the emulated world, on `shard` of `total`: its id, whose events go to
    /// that shard. It has the bot as a member and one text channel, returned too.
    pub fn guild_on_shard(&self, shard: u32, total: u32) -> (u64, u64) {
        let guild = loop {
            let id = self.new_id();
            if shard_of(id, total) == shard {
                break id;
            }
        };
        let channel = self.new_id();
        let mut world = lock(&self.inner.world);
        world.guilds.push(guild);
        world.channels.insert(
            channel,
            ChannelInfo {
                guild: Some(guild),
                recipient: None,
            },
        );
        (guild, channel)
    }

    /// A text channel `id` of [`GUILD_ID`], in the server's GUILD_CREATE from now on.
    pub fn text_channel(&self, id: u64) {
        lock(&self.inner.world).channel(id);
    }

    /// Makes Discord refuse an IDENTIFY asking for any of `intents` (close code 4014), as
    /// it does for a privileged intent the application is not allowed.
    pub fn disallow_intents(&self, intents: u64) {
        self.inner.disallowed.store(intents, Ordering::SeqCst);
    }

    /// How many IDENTIFY (op 2) frames were received.
    pub fn identify_count(&self) -> usize {
        self.inner.identifies.load(Ordering::SeqCst)
    }

    /// How many RESUME (op 6) frames were received.
    pub fn resume_count(&self) -> usize {
        self.inner.resumes.load(Ordering::SeqCst)
    }

    /// The `intents` of the last IDENTIFY.
    pub fn identify_intents(&self) -> Option<u64> {
        *lock(&self.inner.intents)
    }

    /// Problems the emulator found in what it produced itself (REST answers, READY, ...) that
    /// serenity would not decode. Should stay empty.
    pub fn errors(&self) -> Vec<String> {
        lock(&self.inner.errors).clone()
    }

    /// A fresh snowflake id.
    pub fn new_id(&self) -> u64 {
        next_id(&self.inner.ids)
    }

    /// Gives `user` exactly `permissions` in [`GUILD_ID`] (through a role of their own) from now
    /// on: in interactions' `member.permissions`, in `GET /guilds/{g}/members/{user}`, and in
    /// serenity's cache through a GUILD_ROLE_CREATE sent before the next dispatch.
    pub fn set_permissions(&self, user: u64, permissions: u64) {
        let mut world = lock(&self.inner.world);
        world.perms.insert(user, permissions);
        world.role_for(permissions, &self.inner.ids, &self.inner.roles_created);
    }

    /// Sends a MESSAGE_CREATE (validated unless turned off) and returns the message id.
    pub async fn message(&self, m: Msg) -> u64 {
        let id = self.new_id();
        self.message_with_id(m, id).await;
        id
    }

    /// Denies the bot `permissions` from now on, whatever its role says: the REST calls that
    /// need them answer 403 with code 50013, as Discord does (Send Messages in Threads to
    /// post in a thread, Create Public Threads to start one, Manage Threads to tag a post).
    pub fn deny_bot(&self, permissions: u64) {
        lock(&self.inner.world).bot_denied |= permissions;
    }

    /// Denies the bot's role `permissions` in the text channel `channel` of [`GUILD_ID`] by a
    /// permission overwrite, as a server admin would in the channel's settings. The overwrite
    /// is in the channel's JSON from now on (GUILD_CREATE, `GET /channels/{id}`), so call it
    /// before the bot connects; posting there answers 403 (50013) when View Channel or Send
    /// Messages is denied.
    pub fn deny_bot_in(&self, channel: u64, permissions: u64) {
        let mut world = lock(&self.inner.world);
        world.channel(channel);
        *world.denied_in.entry(channel).or_default() |= permissions;
    }

    /// Gives the bot back `permissions` denied with [`Emulator::deny_bot`].
    pub fn allow_bot(&self, permissions: u64) {
        lock(&self.inner.world).bot_denied &= !permissions;
    }

    /// Makes `id` a forum channel (type 15) of [`GUILD_ID`] offering `tags`.
    pub fn forum(&self, id: u64, tags: &[&str]) {
        let tags = tags
            .iter()
            .map(|name| (self.new_id(), (*name).to_owned()))
            .collect();
        let mut world = lock(&self.inner.world);
        world.forums.insert(id, tags);
        world.channel(id);
    }

    /// `author` opens a post titled `title` in `forum`, as Discord announces it: a
    /// THREAD_CREATE for the post (a public thread owned by `author`), then the MESSAGE_CREATE
    /// of its first message `content`, whose id is the thread's. Returns the thread id.
    pub async fn forum_post(&self, forum: u64, author: u64, title: &str, content: &str) -> u64 {
        self.post(forum, author, title, content, false).await
    }

    /// The first half of [`Emulator::forum_post`] in the other order: only the post's first
    /// message; [`Emulator::announce`] sends its THREAD_CREATE. serenity handles events in
    /// tasks of their own, so a bot may see them in this order too.
    pub async fn forum_post_message_first(
        &self,
        forum: u64,
        author: u64,
        title: &str,
        content: &str,
    ) -> u64 {
        self.post(forum, author, title, content, true).await
    }

    /// Sends (again) the THREAD_CREATE of `thread`, as Discord announces a new thread.
    pub async fn announce(&self, thread: u64) {
        let d = thread_json(thread, &lock(&self.inner.world).threads[&thread]);
        self.send_checked("THREAD_CREATE", &d).await;
    }

    /// Applies the tag `name` of its forum to the post `thread`, as its author may.
    pub fn tag(&self, thread: u64, name: &str) {
        let mut world = lock(&self.inner.world);
        let parent = world.threads[&thread].parent;
        let tag = world.forums[&parent]
            .iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| *id)
            .expect("emulator: no such tag");
        world
            .threads
            .get_mut(&thread)
            .expect("a thread")
            .tags
            .push(tag);
    }

    /// Archives `thread`, as Discord does to a quiet one.
    pub fn archive(&self, thread: u64) {
        if let Some(t) = lock(&self.inner.world).threads.get_mut(&thread) {
            t.archived = true;
        }
    }

    async fn post(&self, forum: u64, author: u64, title: &str, content: &str, first: bool) -> u64 {
        assert!(
            lock(&self.inner.world).forums.contains_key(&forum),
            "emulator: {forum} is not a forum"
        );
        let thread = self.open_thread(forum, author, title);
        let message = Msg::guild(thread, author, content);
        if !first {
            self.announce(thread).await;
        }
        self.message_with_id(message, thread).await;
        thread
    }

    /// `author` starts a public thread named `name` in the text channel `parent` and Discord
    /// announces it (THREAD_CREATE); messages in it are [`Msg::guild`] with its id.
    pub async fn thread(&self, parent: u64, author: u64, name: &str) -> u64 {
        let thread = self.open_thread(parent, author, name);
        let d = thread_json(thread, &lock(&self.inner.world).threads[&thread]);
        self.send_checked("THREAD_CREATE", &d).await;
        thread
    }

    fn open_thread(&self, parent: u64, owner: u64, name: &str) -> u64 {
        let thread = self.new_id();
        let mut world = lock(&self.inner.world);
        world.channel(parent);
        world.channel(thread);
        let info = ThreadInfo {
            parent,
            owner,
            name: name.to_owned(),
            tags: Vec::new(),
            archived: false,
        };
        world.threads.insert(thread, info);
        thread
    }

    /// The names of the tags applied to the forum post `thread`.
    pub fn applied_tags(&self, thread: u64) -> Vec<String> {
        let world = lock(&self.inner.world);
        let Some(info) = world.threads.get(&thread) else {
            return Vec::new();
        };
        let forum = world.forums.get(&info.parent).cloned().unwrap_or_default();
        info.tags
            .iter()
            .filter_map(|tag| forum.iter().find(|(id, _)| id == tag))
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// The threads started from a message: (thread, parent channel, name), oldest first.
    pub fn threads_started_by_bot(&self) -> Vec<(u64, u64, String)> {
        let world = lock(&self.inner.world);
        let mut started: Vec<(u64, u64, String)> = world
            .threads
            .iter()
            .filter(|(_, t)| t.owner == BOT_ID)
            .map(|(id, t)| (*id, t.parent, t.name.clone()))
            .collect();
        started.sort();
        started
    }

    /// Moves an interaction built here into `channel` (a thread, a forum post): its
    /// `channel_id`, its partial `channel` (type, parent) and the message it was made on.
    pub fn in_channel(&self, mut i: serde_json::Value, channel: u64) -> serde_json::Value {
        let mut world = lock(&self.inner.world);
        let full = world.channel_json(channel);
        drop(world);
        i["channel_id"] = json!(channel.to_string());
        for key in ["id", "type", "name", "parent_id"] {
            i["channel"][key] = full[key].clone();
        }
        if let Some(metadata) = full.get("thread_metadata") {
            i["channel"]["thread_metadata"] = metadata.clone();
        }
        if i["message"].is_object() {
            i["message"]["channel_id"] = json!(channel.to_string());
        }
        i
    }

    async fn message_with_id(&self, m: Msg, id: u64) {
        // Without the Message Content intent, Discord leaves a server message's content
        // empty unless it mentions the bot (or the bot wrote it).
        let readable = m.guild_id.is_none()
            || m.mentions_bot
            || m.mention_roles.contains(&BOT_ROLE_ID)
            || m.author_id == BOT_ID
            || lock(&self.inner.intents).is_none_or(|i| i & INTENT_MESSAGE_CONTENT != 0);
        let d = {
            let mut world = lock(&self.inner.world);
            world.member_messages.insert(id, m.channel_id);
            if let std::collections::hash_map::Entry::Vacant(slot) =
                world.channels.entry(m.channel_id)
            {
                slot.insert(ChannelInfo {
                    guild: m.guild_id,
                    recipient: m.guild_id.is_none().then_some(m.author_id),
                });
                if m.guild_id.is_none() {
                    world.dm_by_user.insert(m.author_id, m.channel_id);
                }
            }
            let mentions = if m.mentions_bot {
                vec![user_json(BOT_ID, true)]
            } else {
                Vec::new()
            };
            let mut d = json!({
                "id": id.to_string(),
                "channel_id": m.channel_id.to_string(),
                "author": user_json(m.author_id, m.author_bot),
                "content": if readable { m.content.as_str() } else { "" },
                "timestamp": now(),
                "edited_timestamp": null,
                "tts": false,
                "mention_everyone": false,
                "mentions": mentions,
                "mention_roles": m.mention_roles.iter().map(u64::to_string).collect::<Vec<_>>(),
                "attachments": [],
                "embeds": [],
                "components": [],
                "pinned": false,
                "type": 0,
                "flags": 0,
            });
            if let Some(guild) = m.guild_id {
                let role = if m.author_id == BOT_ID {
                    BOT_ROLE_ID
                } else {
                    let p = world.permissions_of(m.author_id);
                    world.role_for(p, &self.inner.ids, &self.inner.roles_created)
                };
                d["guild_id"] = json!(guild.to_string());
                d["member"] = json!({
                    "roles": [role.to_string()],
                    "joined_at": now(),
                    "premium_since": null,
                    "nick": null,
                    "deaf": false,
                    "mute": false,
                    "flags": 0,
                    "pending": false,
                });
            }
            d
        };
        self.send_checked("MESSAGE_CREATE", &d).await;
    }

    /// Sends an INTERACTION_CREATE with `i` as its `d` (validated unless turned off) and returns
    /// the interaction id. Its token becomes usable on the callback and webhook routes.
    pub async fn interaction(&self, i: serde_json::Value) -> u64 {
        let id = id_of(&i["id"]).expect("emulator: the interaction has no `id`");
        let token = i["token"]
            .as_str()
            .expect("emulator: the interaction has no `token`")
            .to_owned();
        {
            let mut world = lock(&self.inner.world);
            let channel_id = id_of(&i["channel_id"]).unwrap_or(CHANNEL_ID);
            world.channel(channel_id);
            if let Some(message) = i.get("message").filter(|m| m.is_object()) {
                if let Some(mid) = id_of(&message["id"]) {
                    world.messages.insert(mid, message.clone());
                }
            }
            if let Some(user) = id_of(&i["member"]["user"]["id"]) {
                if let Some(p) = i["member"]["permissions"]
                    .as_str()
                    .and_then(|p| p.parse().ok())
                {
                    world.perms.insert(user, p);
                    world.role_for(p, &self.inner.ids, &self.inner.roles_created);
                }
            }
            let original = i["message"]["id"].clone();
            world.interactions.insert(
                token.clone(),
                Itx {
                    id,
                    kind: i["type"].as_u64().unwrap_or(0),
                    channel_id,
                    sent: Instant::now(),
                    acknowledged: false,
                    original: id_of(&original),
                },
            );
        }
        self.send_checked("INTERACTION_CREATE", &i).await;
        // Discord's 3 seconds run from delivery (sending may have waited for a connection).
        if let Some(itx) = lock(&self.inner.world).interactions.get_mut(&token) {
            itx.sent = Instant::now();
        }
        id
    }

    /// Sends any dispatch, NOT validated (for unknown or deliberately broken events), to the
    /// shard of its `guild_id`.
    pub async fn dispatch(&self, t: &str, d: serde_json::Value) {
        let guild = id_of(&d["guild_id"]);
        let d = serde_json::to_string(&d).expect("JSON serializes");
        self.send_event(t, guild, &d).await;
    }

    /// Sends an arbitrary text frame on shard 0's current (ready) connection.
    pub async fn raw_frame(&self, text: &str) {
        let deadline = tokio::time::Instant::now() + CONNECT_WAIT;
        loop {
            let sent = {
                let gw = lock(&self.inner.gw);
                gw.shards
                    .get(&0)
                    .and_then(|s| s.current.as_ref())
                    .filter(|c| c.ready)
                    .is_some_and(|c| c.tx.send(Out::Text(text.to_owned())).is_ok())
            };
            if sent {
                return;
            }
            self.wait_ready_until(deadline, "a raw frame").await;
        }
    }

    /// Closes shard 0's current gateway connection with `code` (waiting for one if none is
    /// ready). serenity resumes after most codes (4000, 4001, ...), re-identifies after
    /// 4007/4009, and gives up on 4004, 4010-4014.
    pub async fn close_gateway(&self, code: u16) {
        let deadline = tokio::time::Instant::now() + CONNECT_WAIT;
        loop {
            let closed = {
                let mut gw = lock(&self.inner.gw);
                match gw.shards.get_mut(&0) {
                    Some(shard) => match shard.current.take() {
                        Some(conn) if conn.ready => {
                            let _ = conn.tx.send(Out::Close(code));
                            true
                        }
                        other => {
                            shard.current = other;
                            false
                        }
                    },
                    None => false,
                }
            };
            if closed {
                notify(&self.inner.gw_changed);
                return;
            }
            self.wait_ready_until(deadline, "close_gateway").await;
        }
    }

    /// Every REST request recorded so far (since the last `clear_requests`).
    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner.log).entries.clone()
    }

    /// How many requests are recorded (cheaper than `requests().len()`).
    pub fn request_count(&self) -> usize {
        lock(&self.inner.log).entries.len()
    }

    /// Waits for a recorded request matching `pred`, already recorded ones included.
    pub async fn wait_request(
        &self,
        timeout: Duration,
        pred: impl Fn(&Recorded) -> bool,
    ) -> Option<Recorded> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.inner.log_changed.subscribe();
        let mut generation = u64::MAX;
        let mut scanned = 0;
        loop {
            rx.borrow_and_update();
            {
                let log = lock(&self.inner.log);
                if log.generation != generation || log.entries.len() < scanned {
                    generation = log.generation;
                    scanned = 0;
                }
                if let Some(found) = log.entries[scanned..].iter().find(|r| pred(r)) {
                    return Some(found.clone());
                }
                scanned = log.entries.len();
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return None;
            }
        }
    }

    /// The next `times` requests with this method (`"*"` for any) whose path (without
    /// `/api/v10`) starts with `path_prefix` are answered with `status` instead: 429 with a
    /// Discord rate-limit body and `x-ratelimit-*` headers, 500 with Discord's
    /// `{"message":"500: Internal Server Error","code":0}`, 403 "Missing Permissions" (50013),
    /// anything else `{"message":"<status>: <reason>","code":0}`. They are recorded with it.
    pub fn fail_next(&self, method: &str, path_prefix: &str, status: u16, times: usize) {
        lock(&self.inner.fails).push(FailRule {
            method: method.to_ascii_uppercase(),
            prefix: path_prefix.to_owned(),
            status,
            remaining: times,
        });
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        {
            let mut log = lock(&self.inner.log);
            log.generation += 1;
            log.entries.clear();
        }
        notify(&self.inner.log_changed);
    }

    /// An application command interaction (type 2) for the chat-input command `name` in
    /// [`CHANNEL_ID`] of [`GUILD_ID`], by `user`, whose member has exactly `permissions` (see
    /// [`Emulator::set_permissions`], which this calls). `options` is `data.options` (each
    /// option needs `type`, `name` and `value`, or `options` for subcommands); `null` means none.
    /// The command id is the registered one when the bot registered `name`.
    pub fn slash(
        &self,
        name: &str,
        options: serde_json::Value,
        user: u64,
        permissions: u64,
    ) -> serde_json::Value {
        self.set_permissions(user, permissions);
        let data = self.command_data(name, options);
        self.interaction_json(2, user, data)
    }

    /// An autocomplete interaction (type 4) for `name`, by `user` (with their current
    /// permissions). The option marked `"focused": true` is the one being typed; when none is,
    /// the last leaf option gets the mark. The focused value is sent as a string, as Discord
    /// does (serenity requires it).
    pub fn autocomplete(
        &self,
        name: &str,
        options: serde_json::Value,
        user: u64,
    ) -> serde_json::Value {
        let mut options = match options {
            Value::Null => Value::Array(Vec::new()),
            other => other,
        };
        if !has_focused(&options) {
            focus_last(&mut options);
        }
        stringify_focused(&mut options);
        let data = self.command_data(name, options);
        self.interaction_json(4, user, data)
    }

    /// A message component interaction (type 3) on a bot message in [`CHANNEL_ID`] that
    /// carries the component: a button (`component_type` 2, `values` ignored) or a select menu
    /// (3 string select, offering `values`; 5-8 the other selects), with `values` chosen.
    pub fn component(
        &self,
        custom_id: &str,
        component_type: u8,
        values: &[&str],
        user: u64,
    ) -> serde_json::Value {
        let component = match component_type {
            2 => json!({"type": 2, "style": 1, "label": "Button", "custom_id": custom_id}),
            3 => {
                let mut offered: Vec<Value> = values
                    .iter()
                    .map(|v| json!({"label": v, "value": v, "default": false}))
                    .collect();
                if offered.is_empty() {
                    offered.push(json!({"label": "option", "value": "option", "default": false}));
                }
                json!({
                    "type": 3,
                    "custom_id": custom_id,
                    "options": offered,
                    "min_values": 1,
                    "max_values": values.len().max(1),
                })
            }
            other => json!({"type": other, "custom_id": custom_id}),
        };
        let message_id = self.new_id();
        let mut message = bot_message_json(
            message_id,
            CHANNEL_ID,
            &json!({"content": "", "components": [{"type": 1, "components": [component]}]}),
            0,
        );
        message["application_id"] = json!(APP_ID.to_string());
        let mut data = json!({"custom_id": custom_id, "component_type": component_type});
        if component_type != 2 {
            data["values"] = json!(values);
        }
        let mut i = self.interaction_json(3, user, data);
        i["message"] = message;
        i
    }

    fn command_data(&self, name: &str, options: Value) -> Value {
        let options = match options {
            Value::Null => Value::Array(Vec::new()),
            other => other,
        };
        let world = lock(&self.inner.world);
        // A guild command shadows a global one of the same name.
        let registered = [Some(GUILD_ID), None].into_iter().find_map(|scope| {
            world
                .commands
                .get(&scope)?
                .iter()
                .find(|c| c["name"] == name && c["type"].as_u64() == Some(1))
                .map(|c| (scope, id_of(&c["id"])))
        });
        drop(world);
        let (scope, id) = match registered {
            Some((scope, Some(id))) => (scope, id),
            _ => (None, self.new_id()),
        };
        // Discord resolves the channels chosen in channel options (type 7) as partial
        // channels: id, name, type, the invoking member's permissions there, parent.
        let mut chosen = Vec::new();
        channel_options(&options, &mut chosen);
        let mut data = json!({"id": id.to_string(), "name": name, "type": 1, "options": options});
        if !chosen.is_empty() {
            let mut world = lock(&self.inner.world);
            let channels: Map<String, Value> = chosen
                .into_iter()
                .map(|channel| {
                    let full = world.channel_json(channel);
                    let partial = json!({
                        "id": full["id"],
                        "name": full["name"],
                        "type": full["type"],
                        "permissions": "0",
                        "parent_id": full.get("parent_id").cloned().unwrap_or(Value::Null),
                    });
                    (channel.to_string(), partial)
                })
                .collect();
            data["resolved"] = json!({"channels": channels});
        }
        if let Some(g) = scope {
            data["guild_id"] = json!(g.to_string());
        }
        data
    }

    fn interaction_json(&self, kind: u8, user: u64, data: Value) -> Value {
        let id = self.new_id();
        let (member, permissions) = {
            let mut world = lock(&self.inner.world);
            let p = world.permissions_of(user);
            world.role_for(p, &self.inner.ids, &self.inner.roles_created);
            (world.member_json(user, Some(p)), p)
        };
        json!({
            "id": id.to_string(),
            "application_id": APP_ID.to_string(),
            "type": kind,
            "data": data,
            "guild_id": GUILD_ID.to_string(),
            "channel_id": CHANNEL_ID.to_string(),
            "channel": {
                "id": CHANNEL_ID.to_string(),
                "type": 0,
                "name": "general",
                "guild_id": GUILD_ID.to_string(),
                "permissions": permissions.to_string(),
                "parent_id": null,
                "nsfw": false,
                "position": 0,
                "flags": 0,
            },
            "member": member,
            "token": format!("emulated-interaction-token-{id}"),
            "version": 1,
            "app_permissions": BOT_PERMISSIONS.to_string(),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID.to_string()},
            "context": 0,
            "attachment_size_limit": 10_485_760,
        })
    }

    /// Validates (when on, panicking on failure: the event would vanish in serenity) and sends.
    async fn send_checked(&self, t: &str, d: &Value) {
        if self.inner.validate.load(Ordering::Relaxed) {
            if let Err(e) = validate_dispatch(t, d) {
                panic!("emulator: {e}");
            }
        }
        let text = serde_json::to_string(d).expect("JSON serializes");
        self.send_event(t, id_of(&d["guild_id"]), &text).await;
    }

    /// Sends dispatch `t` to the shard of `guild` (`None`: shard 0, as a DM), waiting for
    /// that shard's connection.
    async fn send_event(&self, t: &str, guild: Option<u64>, d: &str) {
        let deadline = tokio::time::Instant::now() + CONNECT_WAIT;
        loop {
            let shard = lock(&self.inner.gw).shard_of(guild);
            if try_send_dispatch(&self.inner, Target::Shard(shard), t, d) {
                return;
            }
            self.wait_ready_until(deadline, t).await;
        }
    }

    async fn wait_ready_until(&self, deadline: tokio::time::Instant, what: &str) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !self.wait_ready(left).await {
            panic!(
                "emulator: no gateway connection got READY/RESUMED within {CONNECT_WAIT:?} \
                 to send {what} (is the bot running?)"
            );
        }
    }
}

/// Where a dispatch goes.
#[derive(Clone, Copy)]
enum Target {
    /// The shard's current connection, once it is ready.
    Shard(u32),
    /// Connection `id`, ready or not (READY and GUILD_CREATE on the connection identifying).
    Conn(u64),
}

/// Sends a dispatch to `target`, announcing roles the client has not seen first. False when
/// there is no such connection.
fn try_send_dispatch(inner: &Inner, target: Target, t: &str, d: &str) -> bool {
    let roles_created = inner.roles_created.load(Ordering::Acquire);
    let failed;
    {
        let mut gw = lock(&inner.gw);
        let shard = match target {
            Target::Shard(shard) => shard,
            Target::Conn(id) => match gw.shard_of_conn(id) {
                Some(shard) => shard,
                None => return false,
            },
        };
        let Some(Shard { current, session }) = gw.shards.get_mut(&shard) else {
            return false;
        };
        let conn = match (current.as_ref(), target) {
            (Some(c), Target::Conn(id)) if c.id == id => c,
            (Some(c), Target::Shard(_)) if c.ready => c,
            _ => return false,
        };
        let Some(session) = session.as_mut() else {
            return false;
        };
        let mut frames = Vec::new();
        if session.guild_cached && session.roles_known < roles_created {
            let world = lock(&inner.world);
            let upto = world.role_order.len();
            for index in session.roles_known..upto {
                let d =
                    json!({"guild_id": GUILD_ID.to_string(), "role": world.perm_role_json(index)});
                session.seq += 1;
                let frame = dispatch_frame(session.seq, "GUILD_ROLE_CREATE", &d.to_string());
                frames.push((session.seq, frame));
            }
            session.roles_known = upto;
        }
        session.seq += 1;
        frames.push((session.seq, dispatch_frame(session.seq, t, d)));
        failed = frames.into_iter().any(|(seq, frame)| {
            session.sent.push_back((seq, frame.clone()));
            if session.sent.len() > REPLAY_LIMIT {
                session.sent.pop_front();
            }
            conn.tx.send(Out::Text(frame)).is_err()
        });
        if failed {
            *current = None;
        }
    }
    if failed {
        notify(&inner.gw_changed);
    }
    !failed
}

fn has_focused(options: &Value) -> bool {
    options.as_array().is_some_and(|list| {
        list.iter()
            .any(|o| o["focused"] == json!(true) || has_focused(&o["options"]))
    })
}

fn focus_last(options: &mut Value) {
    if let Some(last) = options.as_array_mut().and_then(|l| l.last_mut()) {
        if matches!(last["type"].as_u64(), Some(1 | 2)) {
            focus_last(&mut last["options"]);
        } else if let Some(o) = last.as_object_mut() {
            o.insert("focused".into(), json!(true));
        }
    }
}

fn stringify_focused(options: &mut Value) {
    if let Some(list) = options.as_array_mut() {
        for o in list {
            if o["focused"] == json!(true) {
                let text = match &o["value"] {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                o["value"] = json!(text);
            }
            if o.get("options").is_some() {
                stringify_focused(&mut o["options"]);
            }
        }
    }
}

// ----------------------------------------------------------------------------------------------
// Gateway

async fn accept_gateway(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let inner = inner.clone();
        tokio::spawn(async move {
            if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                run_connection(inner, ws).await;
            }
        });
    }
}

/// One gateway connection: HELLO, then answers to the client's frames until it goes away.
/// It becomes its shard's current connection (the one that shard's dispatches go to) when it
/// identifies or resumes that shard's session.
async fn run_connection(inner: Arc<Inner>, ws: WebSocketStream<TcpStream>) {
    let (sink, mut stream) = ws.split();
    let (tx, rx) = mpsc::unbounded_channel();
    let conn_id = {
        let mut gw = lock(&inner.gw);
        gw.next_conn += 1;
        let id = gw.next_conn;
        let hello = json!({"op": 10, "s": null, "t": null, "d": {"heartbeat_interval": HEARTBEAT_INTERVAL_MS}});
        let _ = tx.send(Out::Text(hello.to_string()));
        let conn = Conn {
            id,
            tx: tx.clone(),
            ready: false,
        };
        gw.unbound.insert(id, conn);
        id
    };
    notify(&inner.gw_changed);
    tokio::spawn(write_frames(sink, rx));
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(WsMessage::Text(text)) => client_frame(&inner, conn_id, &tx, &text),
            Ok(WsMessage::Close(_)) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let was_current = {
        let mut gw = lock(&inner.gw);
        gw.unbound.remove(&conn_id);
        match gw.shard_of_conn(conn_id) {
            Some(shard) => {
                gw.shards.entry(shard).or_default().current = None;
                true
            }
            None => false,
        }
    };
    if was_current {
        notify(&inner.gw_changed);
    }
}

/// Writes queued frames, flushing whenever the queue is momentarily empty.
async fn write_frames(
    mut sink: SplitSink<WebSocketStream<TcpStream>, WsMessage>,
    mut rx: mpsc::UnboundedReceiver<Out>,
) {
    while let Some(mut out) = rx.recv().await {
        loop {
            match out {
                Out::Text(text) => {
                    if sink.feed(WsMessage::Text(text)).await.is_err() {
                        return;
                    }
                }
                Out::Close(code) => {
                    let frame = CloseFrame {
                        code: CloseCode::from(code),
                        reason: "".into(),
                    };
                    let _ = sink.send(WsMessage::Close(Some(frame))).await;
                    return;
                }
            }
            match rx.try_recv() {
                Ok(next) => out = next,
                Err(_) => break,
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

fn client_frame(inner: &Arc<Inner>, conn_id: u64, tx: &mpsc::UnboundedSender<Out>, text: &str) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        inner.error(format!(
            "gateway: the client sent a frame that is not JSON: {text}"
        ));
        return;
    };
    match frame["op"].as_u64() {
        Some(1) => {
            let _ = tx.send(Out::Text(
                r#"{"op":11,"s":null,"t":null,"d":null}"#.to_owned(),
            ));
        }
        Some(2) => identify(inner, conn_id, &frame["d"]),
        Some(6) => resume(inner, conn_id, &frame["d"]),
        _ => {}
    }
}

fn identify(inner: &Arc<Inner>, conn_id: u64, d: &Value) {
    inner.identifies.fetch_add(1, Ordering::SeqCst);
    let intents = d["intents"].as_u64();
    *lock(&inner.intents) = intents;
    let with_guild = intents.unwrap_or(0) & INTENT_GUILDS != 0;
    let pair = d["shard"].as_array().map(|pair| {
        let at = |i: usize| pair.get(i).and_then(Value::as_u64).unwrap_or(u64::MAX);
        (at(0), at(1))
    });
    let (shard, total) = pair.unwrap_or((0, 1));
    lock(&inner.identified).push([shard as u32, total as u32]);
    if intents.unwrap_or(0) & inner.disallowed.load(Ordering::SeqCst) != 0 {
        // Discord's "Disallowed intent(s)": a privileged intent not enabled for the app.
        if let Some(conn) = lock(&inner.gw).unbound.remove(&conn_id) {
            let _ = conn.tx.send(Out::Close(4014));
        }
        return;
    }
    if total == 0 || total > u64::from(u32::MAX) || shard >= total {
        // Discord's "Invalid shard": the client must not reconnect.
        if let Some(conn) = lock(&inner.gw).unbound.remove(&conn_id) {
            let _ = conn.tx.send(Out::Close(4010));
        }
        return;
    }
    let (shard, total) = (shard as u32, total as u32);
    let session_id = {
        let mut gw = lock(&inner.gw);
        gw.next_session += 1;
        format!("emulated-session-{}", gw.next_session)
    };
    let (guilds, creates, roles_known) = {
        let world = lock(&inner.world);
        let guilds: Vec<u64> = world
            .guilds
            .iter()
            .copied()
            .filter(|g| shard_of(*g, total) == shard)
            .collect();
        let creates: Vec<(u64, Value)> = guilds
            .iter()
            .filter(|_| with_guild)
            .map(|g| (*g, world.guild_create_json(*g)))
            .collect();
        (guilds, creates, world.role_order.len())
    };
    let mut ready = json!({
        "v": 10,
        "user": {
            "id": BOT_ID.to_string(),
            "username": "careerbot",
            "discriminator": "0",
            "global_name": null,
            "avatar": null,
            "bot": true,
            "verified": true,
            "mfa_enabled": false,
            "email": null,
            "flags": 0,
        },
        "guilds": guilds
            .iter()
            .map(|g| json!({"id": g.to_string(), "unavailable": true}))
            .collect::<Vec<_>>(),
        "session_id": session_id,
        "resume_gateway_url": inner.ws_url,
        "application": {
            "id": APP_ID.to_string(),
            "flags": 1u64 << 19,
        },
        "private_channels": [],
        "presences": [],
        "relationships": [],
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
        "user_settings": {},
    });
    if pair.is_some() {
        ready["shard"] = json!([shard, total]);
    }
    inner.check_dispatch("READY", &ready);
    for (_, g) in &creates {
        inner.check_dispatch("GUILD_CREATE", g);
    }
    {
        let mut gw = lock(&inner.gw);
        let Some(conn) = gw.unbound.remove(&conn_id) else {
            return;
        };
        gw.total = total;
        let slot = gw.shards.entry(shard).or_default();
        slot.current = Some(conn);
        slot.session = Some(Session {
            id: session_id,
            seq: 0,
            guild_cached: false,
            roles_known,
            sent: VecDeque::new(),
        });
    }
    try_send_dispatch(inner, Target::Conn(conn_id), "READY", &ready.to_string());
    for (_, g) in &creates {
        try_send_dispatch(inner, Target::Conn(conn_id), "GUILD_CREATE", &g.to_string());
    }
    {
        let mut gw = lock(&inner.gw);
        if let Some(slot) = gw.shards.get_mut(&shard) {
            // From now on, roles created after the GUILD_CREATE was built are announced.
            if let Some(session) = slot.session.as_mut() {
                session.guild_cached = creates.iter().any(|(g, _)| *g == GUILD_ID);
            }
            if let Some(c) = slot.current.as_mut().filter(|c| c.id == conn_id) {
                c.ready = true;
            }
        }
    }
    notify(&inner.gw_changed);
}

/// RESUME: replays the session's dispatches after the client's `seq`, then RESUMED, and the
/// connection becomes its shard's; an unknown session, or one whose missed dispatches are no
/// longer kept, gets INVALID_SESSION (false).
fn resume(inner: &Arc<Inner>, conn_id: u64, d: &Value) {
    inner.resumes.fetch_add(1, Ordering::SeqCst);
    let their_seq = d["seq"].as_u64().unwrap_or(0);
    {
        let mut gw = lock(&inner.gw);
        let Some(mut conn) = gw.unbound.remove(&conn_id) else {
            return;
        };
        let shard = gw.shards.iter().find_map(|(id, slot)| {
            let s = slot.session.as_ref()?;
            let resumable = d["session_id"].as_str() == Some(s.id.as_str())
                && their_seq <= s.seq
                && s.sent
                    .front()
                    .is_none_or(|(first, _)| their_seq + 1 >= *first);
            resumable.then_some(*id)
        });
        match shard {
            Some(shard) => {
                let slot = gw.shards.get_mut(&shard).expect("found above");
                let s = slot.session.as_mut().expect("found above");
                for (_, frame) in s.sent.iter().filter(|(seq, _)| *seq > their_seq) {
                    let _ = conn.tx.send(Out::Text(frame.clone()));
                }
                s.seq += 1;
                let _ = conn
                    .tx
                    .send(Out::Text(dispatch_frame(s.seq, "RESUMED", "{}")));
                conn.ready = true;
                slot.current = Some(conn);
            }
            None => {
                let _ = conn.tx.send(Out::Text(
                    r#"{"op":9,"s":null,"t":null,"d":false}"#.to_owned(),
                ));
                gw.unbound.insert(conn_id, conn);
            }
        }
    }
    notify(&inner.gw_changed);
}

impl Inner {
    fn error(&self, message: String) {
        eprintln!("discord emulator: {message}");
        lock(&self.errors).push(message);
    }

    fn check_dispatch(&self, t: &str, d: &Value) {
        if self.validate.load(Ordering::Relaxed) {
            if let Err(e) = validate_dispatch(t, d) {
                self.error(e);
            }
        }
    }

    /// Records what serenity would fail to decode as a `T` in an answer.
    fn check<T: DeserializeOwned>(&self, what: &str, v: &Value) {
        if self.validate.load(Ordering::Relaxed) {
            if let Err(e) = serde_json::from_value::<T>(v.clone()) {
                self.error(format!("REST answer is not a valid {what}: {e}\n{v}"));
            }
        }
    }

    fn new_id(&self) -> u64 {
        next_id(&self.ids)
    }
}

// ----------------------------------------------------------------------------------------------
// REST

/// What a route answers.
struct Reply {
    status: u16,
    body: Option<Value>,
    /// A non-JSON body, with its content type (`body` must be `None`).
    text: Option<(&'static str, String)>,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body: Some(body),
            text: None,
            headers: Vec::new(),
        }
    }

    fn no_content() -> Reply {
        Reply {
            status: 204,
            body: None,
            text: None,
            headers: Vec::new(),
        }
    }

    fn error(status: u16, code: u64, message: &str) -> Reply {
        Reply {
            status,
            body: Some(json!({"message": message, "code": code})),
            text: None,
            headers: Vec::new(),
        }
    }

    fn not_found() -> Reply {
        Reply::error(404, 0, "Unknown")
    }
}

/// The REST API. Routes (under `/api/v10`):
///
/// | route | answer |
/// | --- | --- |
/// | `GET /gateway`, `GET /gateway/bot` | the gateway's `ws://` URL (one shard) |
/// | `GET /users/@me`, `GET /users/{id}` | the bot user, any user |
/// | `GET /users/@me/guilds` | the bot's guilds (partial: id, name, owner, permissions) |
/// | `POST /users/@me/channels` | the DM channel with `recipient_id` |
/// | `GET /oauth2/applications/@me`, `GET /applications/@me` | the application, owner [`OWNER_ID`] |
/// | `PUT`/`GET /applications/{app}(/guilds/{g})/commands`, `POST` one | registered commands |
/// | `GET /guilds/{g}`, `.../roles`, `.../channels`, `.../members/{u}` | the emulated guild |
/// | `GET /channels/{c}` | the channel: text (0), forum (15) with its tags, public thread (11) |
/// | `PATCH /channels/{thread}` | the thread, with `applied_tags` applied (Manage Threads) |
/// | `POST /channels/{c}/messages/{m}/threads` | a new public thread from message `m` (Create Public Threads), announced with THREAD_CREATE |
/// | `POST /channels/{c}/messages` | the new bot message (Discord's length/emptiness checks; Send Messages in Threads in a thread) |
/// | `GET`/`PATCH`/`DELETE /channels/{c}/messages/{m}` | the bot's message |
/// | `POST /channels/{c}/typing`, reactions | 204 |
/// | `POST /interactions/{id}/{token}/callback` | 204 (400 code 40060 when answered twice; 404 code 10062 after 3 s, as Discord) |
/// | `GET`/`PATCH`/`DELETE /webhooks/{app}/{token}/messages/{@original or id}` | the message |
/// | `POST /webhooks/{app}/{token}` | a followup (404 10015 before the callback) |
/// | anything else | 404 `{"message":"Unknown","code":0}` |
///
/// OAuth2 (the `oauth` module), by the path as received: `GET`/`POST /oauth2/authorize`,
/// `POST /api/oauth2/token` and `/api/v10/oauth2/token` (and `.../token/revoke`); with a
/// Bearer token, `GET /users/@me`, `/users/@me/guilds` and `/oauth2/@me` (401 for anything
/// else).
async fn rest(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let at = Instant::now();
    let method = req.method().as_str().to_owned();
    let raw_path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let uri = req
        .uri()
        .path_and_query()
        .map_or_else(|| raw_path.clone(), |pq| pq.as_str().to_owned());
    let path = api_path(&raw_path).to_owned();
    let (content_type, authorization) = {
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        (
            header(CONTENT_TYPE),
            header(axum::http::header::AUTHORIZATION),
        )
    };
    let bytes = axum::body::to_bytes(req.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    let authorized = authorization == format!("Bot {FAKE_TOKEN}");
    let (body, files) = parse_body(&content_type, &bytes);
    let reply = match take_failure(&inner, &method, &path) {
        Some(status) => failure(status),
        // Discord checks every bot call's token; the first call the bot makes stands for all.
        None if path == "/gateway/bot" && !authorized => Reply::error(401, 0, "401: Unauthorized"),
        None => oauth::route(
            &inner,
            &method,
            &raw_path,
            &path,
            &query,
            &authorization,
            &body,
        )
        .unwrap_or_else(|| route(&inner, &method, &path, &body, &files)),
    };
    let status = reply.status;
    {
        let mut log = lock(&inner.log);
        log.entries.push(Recorded {
            method,
            path,
            uri,
            authorization,
            body,
            at,
            status,
        });
    }
    notify(&inner.log_changed);
    let mut response = Response::builder().status(status);
    for (name, value) in reply.headers {
        response = response.header(name, value);
    }
    let body = match reply.body {
        Some(v) => {
            response = response.header(CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => match reply.text {
            Some((content_type, text)) => {
                response = response.header(CONTENT_TYPE, content_type);
                Body::from(text)
            }
            None => Body::empty(),
        },
    };
    response.body(body).expect("a valid response")
}

/// The path without `/api/v10`, or without `/api` (Discord's unversioned API, which the
/// OAuth2 token URL documents); other paths as they are.
fn api_path(raw: &str) -> &str {
    ["/api/v10", "/api"]
        .iter()
        .find_map(|prefix| {
            raw.strip_prefix(prefix)
                .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        })
        .unwrap_or(raw)
}

/// A file part of a multipart request: its field name, file name and size.
struct FilePart {
    name: String,
    filename: String,
    size: usize,
}

fn parse_body(content_type: &str, bytes: &[u8]) -> (Value, Vec<FilePart>) {
    if bytes.is_empty() {
        return (Value::Null, Vec::new());
    }
    if content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return (oauth::form_json(bytes), Vec::new());
    }
    if let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    {
        return parse_multipart(bytes, boundary.trim_matches('"'));
    }
    (
        serde_json::from_slice(bytes).unwrap_or(Value::Null),
        Vec::new(),
    )
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header_param(headers: &str, key: &str) -> Option<String> {
    let start = headers.find(&format!("{key}=\""))? + key.len() + 2;
    let end = headers[start..].find('"')?;
    Some(headers[start..start + end].to_owned())
}

fn parse_multipart(bytes: &[u8], boundary: &str) -> (Value, Vec<FilePart>) {
    let delimiter = format!("--{boundary}");
    let mut payload = Value::Null;
    let mut files = Vec::new();
    let mut rest = bytes;
    while let Some(start) = find(rest, delimiter.as_bytes()) {
        rest = &rest[start + delimiter.len()..];
        let part_end = find(rest, delimiter.as_bytes()).unwrap_or(rest.len());
        let part = &rest[..part_end];
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]);
        let mut content = &part[split + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        let name = header_param(&headers, "name").unwrap_or_default();
        if name == "payload_json" {
            payload = serde_json::from_slice(content).unwrap_or(Value::Null);
        } else if let Some(filename) = header_param(&headers, "filename") {
            files.push(FilePart {
                name,
                filename,
                size: content.len(),
            });
        }
    }
    (payload, files)
}

fn take_failure(inner: &Inner, method: &str, path: &str) -> Option<u16> {
    let mut fails = lock(&inner.fails);
    let rule = fails.iter_mut().find(|r| {
        r.remaining > 0 && (r.method == "*" || r.method == method) && path.starts_with(&r.prefix)
    })?;
    rule.remaining -= 1;
    let status = rule.status;
    fails.retain(|r| r.remaining > 0);
    Some(status)
}

fn failure(status: u16) -> Reply {
    match status {
        429 => {
            let reset = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64())
                + 0.05;
            Reply {
                status,
                body: Some(json!({
                    "message": "You are being rate limited.",
                    "retry_after": 0.05,
                    "global": false,
                    "code": 0,
                })),
                text: None,
                headers: vec![
                    ("x-ratelimit-limit", "5".into()),
                    ("x-ratelimit-remaining", "0".into()),
                    ("x-ratelimit-reset", format!("{reset:.3}")),
                    ("x-ratelimit-reset-after", "0.050".into()),
                    ("x-ratelimit-bucket", "emulated-bucket".into()),
                    ("x-ratelimit-scope", "user".into()),
                    ("retry-after", "1".into()),
                ],
            }
        }
        500 => Reply::error(500, 0, "500: Internal Server Error"),
        403 => Reply::error(403, 50013, "Missing Permissions"),
        other => {
            let reason = axum::http::StatusCode::from_u16(other)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            Reply::error(other, 0, &format!("{other}: {reason}"))
        }
    }
}

fn route(inner: &Arc<Inner>, method: &str, path: &str, body: &Value, files: &[FilePart]) -> Reply {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let num = |s: &str| s.parse::<u64>().ok();
    match (method, segments.as_slice()) {
        ("GET", ["gateway"]) => {
            let v = json!({"url": inner.ws_url});
            inner.check::<Gateway>("Gateway", &v);
            Reply::ok(v)
        }
        ("GET", ["gateway", "bot"]) => {
            let shards = lock(&inner.gw).recommended;
            let v = json!({
                "url": inner.ws_url,
                "shards": shards,
                "session_start_limit": {
                    "total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1,
                },
            });
            inner.check::<BotGateway>("BotGateway", &v);
            Reply::ok(v)
        }
        ("GET", ["users", "@me"]) => {
            let mut v = user_json(BOT_ID, true);
            merge_into(
                &mut v,
                &json!({"verified": true, "mfa_enabled": false, "email": null, "flags": 0, "locale": "en-US"}),
            );
            inner.check::<CurrentUser>("CurrentUser", &v);
            Reply::ok(v)
        }
        ("GET", ["users", "@me", "guilds"]) => {
            // The bot's guilds (a Bearer token gets its user's, in `oauth::route`).
            let world = lock(&inner.world);
            let permissions = BOT_PERMISSIONS & !world.bot_denied;
            let v: Vec<Value> = world
                .guilds
                .iter()
                .map(|g| {
                    json!({
                        "id": g.to_string(),
                        "name": GUILD_NAME,
                        "icon": null,
                        "owner": false,
                        "permissions": permissions.to_string(),
                        "features": [],
                    })
                })
                .collect();
            drop(world);
            let v = Value::Array(v);
            inner.check::<Vec<GuildInfo>>("guild list", &v);
            Reply::ok(v)
        }
        ("GET", ["users", user]) => match num(user) {
            Some(id) => {
                let v = user_json(id, false);
                inner.check::<User>("User", &v);
                Reply::ok(v)
            }
            None => Reply::error(404, 10013, "Unknown User"),
        },
        ("POST", ["users", "@me", "channels"]) => {
            let Some(user) = id_of(&body["recipient_id"]) else {
                return invalid_form(
                    "recipient_id",
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                );
            };
            let mut world = lock(&inner.world);
            let channel = match world.dm_by_user.get(&user) {
                Some(c) => *c,
                None => {
                    let c = inner.new_id();
                    world.dm_by_user.insert(user, c);
                    world.channels.insert(
                        c,
                        ChannelInfo {
                            guild: None,
                            recipient: Some(user),
                        },
                    );
                    c
                }
            };
            let v = world.channel_json(channel);
            drop(world);
            inner.check::<Channel>("Channel", &v);
            Reply::ok(v)
        }
        ("GET", ["oauth2", "applications", "@me"] | ["applications", "@me"]) => {
            let v = application_json();
            inner.check::<CurrentApplicationInfo>("CurrentApplicationInfo", &v);
            Reply::ok(v)
        }
        (_, ["applications", app, rest @ ..]) => {
            if num(app) != Some(APP_ID) {
                return Reply::error(404, 10002, "Unknown Application");
            }
            match rest {
                ["commands"] => commands(inner, method, None, body),
                ["guilds", g, "commands"] => match num(g) {
                    Some(g) => commands(inner, method, Some(g), body),
                    None => Reply::not_found(),
                },
                _ => Reply::not_found(),
            }
        }
        ("GET", ["guilds", g, rest @ ..])
            if num(g).is_some_and(|g| lock(&inner.world).guilds.contains(&g)) =>
        {
            let g = num(g).expect("checked above");
            let mut world = lock(&inner.world);
            match rest {
                [] => {
                    let v = world.guild_base_json(g);
                    drop(world);
                    inner.check::<PartialGuild>("PartialGuild", &v);
                    Reply::ok(v)
                }
                ["roles"] => {
                    let v = Value::Array(world.roles_json(g));
                    drop(world);
                    inner.check::<Vec<Role>>("role list", &v);
                    Reply::ok(v)
                }
                ["channels"] => {
                    let ids: Vec<u64> = world
                        .channels
                        .iter()
                        .filter(|(_, c)| c.guild == Some(g))
                        .map(|(id, _)| *id)
                        .collect();
                    let v: Vec<Value> = ids.into_iter().map(|id| world.channel_json(id)).collect();
                    Reply::ok(Value::Array(v))
                }
                ["members", u] => match num(u) {
                    Some(u) => {
                        if u != BOT_ID {
                            let p = world.permissions_of(u);
                            world.role_for(p, &inner.ids, &inner.roles_created);
                        }
                        let v = world.member_json(u, None);
                        drop(world);
                        inner.check::<Member>("Member", &v);
                        Reply::ok(v)
                    }
                    None => Reply::error(404, 10007, "Unknown Member"),
                },
                _ => Reply::not_found(),
            }
        }
        (_, ["guilds", ..]) => Reply::error(404, 10004, "Unknown Guild"),
        (_, ["channels", c, rest @ ..]) => match num(c) {
            Some(c) => channel_route(inner, method, c, rest, body, files),
            None => Reply::error(404, 10003, "Unknown Channel"),
        },
        ("POST", ["interactions", id, token, "callback"]) => {
            callback(inner, id, token, body, files)
        }
        (_, ["webhooks", app, token, rest @ ..]) => {
            if num(app) != Some(APP_ID) {
                return Reply::error(404, 10015, "Unknown Webhook");
            }
            webhook(inner, method, token, rest, body, files)
        }
        _ => Reply::not_found(),
    }
}

fn application_json() -> Value {
    json!({
        "id": APP_ID.to_string(),
        "name": "careerbot",
        "icon": null,
        "description": "",
        "summary": "",
        "type": null,
        "rpc_origins": [],
        "bot_public": false,
        "bot_require_code_grant": false,
        "owner": user_json(OWNER_ID, false),
        "verify_key": "0".repeat(64),
        "team": null,
        "flags": 1 << 19,
        "tags": [],
        "role_connections_verification_url": null,
        "approximate_guild_count": 1,
        "approximate_user_install_count": 0,
        "redirect_uris": [],
        "interactions_endpoint_url": null,
        "bot": user_json(BOT_ID, true),
    })
}

/// A registered command as Discord echoes it: the body's fields plus ids, version and defaults.
fn command_json(inner: &Inner, c: &Value, scope: Option<u64>, existing: &[Value]) -> Value {
    let kind = c["type"].as_u64().unwrap_or(1);
    let id = existing
        .iter()
        .find(|e| e["name"] == c["name"] && e["type"].as_u64() == Some(kind))
        .and_then(|e| id_of(&e["id"]))
        .unwrap_or_else(|| inner.new_id());
    let mut v = c.clone();
    if !v.is_object() {
        v = json!({});
    }
    let defaults = json!({
        "name_localizations": null,
        "description": "",
        "description_localizations": null,
        "options": [],
        "default_member_permissions": null,
        "nsfw": false,
        "integration_types": [0],
        "contexts": null,
    });
    for (k, d) in defaults.as_object().into_iter().flatten() {
        if v.get(k).is_none_or(Value::is_null) {
            v[k] = d.clone();
        }
    }
    merge_into(
        &mut v,
        &json!({
            "id": id.to_string(),
            "type": kind,
            "application_id": APP_ID.to_string(),
            "version": inner.new_id().to_string(),
        }),
    );
    match scope {
        Some(g) => v["guild_id"] = json!(g.to_string()),
        None => {
            if v.get("dm_permission").is_none() {
                v["dm_permission"] = json!(true);
            }
        }
    }
    v
}

fn commands(inner: &Arc<Inner>, method: &str, scope: Option<u64>, body: &Value) -> Reply {
    let mut world = lock(&inner.world);
    let existing = world.commands.get(&scope).cloned().unwrap_or_default();
    let reply = match method {
        "GET" => Value::Array(existing),
        "PUT" => {
            let Some(list) = body.as_array() else {
                return invalid_form("", "BASE_TYPE_ARRAY", "Must be an array");
            };
            let made: Vec<Value> = list
                .iter()
                .map(|c| command_json(inner, c, scope, &existing))
                .collect();
            world.commands.insert(scope, made.clone());
            Value::Array(made)
        }
        "POST" => {
            let made = command_json(inner, body, scope, &existing);
            let list = world.commands.entry(scope).or_default();
            list.retain(|c| c["name"] != made["name"] || c["type"] != made["type"]);
            list.push(made.clone());
            drop(world);
            inner.check::<Command>("Command", &made);
            return Reply::ok(made);
        }
        _ => return Reply::not_found(),
    };
    drop(world);
    inner.check::<Vec<Command>>("command list", &reply);
    Reply::ok(reply)
}

/// `{"code":50035,"message":"Invalid Form Body","errors":{...}}` for one field path.
fn invalid_form(path: &str, code: &str, message: &str) -> Reply {
    let mut errors = json!({"_errors": [{"code": code, "message": message}]});
    for key in path.rsplit('.').filter(|k| !k.is_empty()) {
        errors = json!({ key: errors });
    }
    Reply {
        status: 400,
        body: Some(json!({"code": 50035, "message": "Invalid Form Body", "errors": errors})),
        text: None,
        headers: Vec::new(),
    }
}

fn chars(v: &Value) -> usize {
    v.as_str().map_or(0, |s| s.chars().count())
}

/// Discord's checks on a message body (content, embeds, components); `creating` adds the
/// "Cannot send an empty message" check. Lengths are counted in characters.
fn check_message_body(body: &Value, creating: bool, files: usize) -> Option<Reply> {
    if chars(&body["content"]) > 2000 {
        return Some(invalid_form(
            "content",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 2000 or fewer in length.",
        ));
    }
    let too_long = |path: String, max: usize| {
        Some(invalid_form(
            &path,
            "BASE_TYPE_MAX_LENGTH",
            &format!("Must be {max} or fewer in length."),
        ))
    };
    let embeds = body["embeds"].as_array().map_or(&[][..], Vec::as_slice);
    if embeds.len() > 10 {
        return Some(invalid_form(
            "embeds",
            "BASE_TYPE_MAX_LENGTH",
            "Must be 10 or fewer in length.",
        ));
    }
    let mut total = 0;
    for (i, e) in embeds.iter().enumerate() {
        for (field, max) in [("title", 256), ("description", 4096)] {
            let n = chars(&e[field]);
            total += n;
            if n > max {
                return too_long(format!("embeds.{i}.{field}"), max);
            }
        }
        for (field, max) in [("footer", 2048), ("author", 256)] {
            let key = if field == "footer" { "text" } else { "name" };
            let n = chars(&e[field][key]);
            total += n;
            if n > max {
                return too_long(format!("embeds.{i}.{field}.{key}"), max);
            }
        }
        let fields = e["fields"].as_array().map_or(&[][..], Vec::as_slice);
        if fields.len() > 25 {
            return too_long(format!("embeds.{i}.fields"), 25);
        }
        for (j, f) in fields.iter().enumerate() {
            for (key, max) in [("name", 256), ("value", 1024)] {
                let n = chars(&f[key]);
                total += n;
                if n == 0 {
                    return Some(invalid_form(
                        &format!("embeds.{i}.fields.{j}.{key}"),
                        "BASE_TYPE_REQUIRED",
                        "This field is required",
                    ));
                }
                if n > max {
                    return too_long(format!("embeds.{i}.fields.{j}.{key}"), max);
                }
            }
        }
    }
    if total > 6000 {
        return Some(invalid_form(
            "embeds",
            "MAX_EMBED_SIZE_EXCEEDED",
            "Embed size exceeds maximum size of 6000",
        ));
    }
    let rows = body["components"].as_array().map_or(&[][..], Vec::as_slice);
    if rows.len() > 5 {
        return too_long("components".into(), 5);
    }
    for (i, row) in rows.iter().enumerate() {
        let items = row["components"].as_array().map_or(&[][..], Vec::as_slice);
        if items.len() > 5 {
            return too_long(format!("components.{i}.components"), 5);
        }
        for (j, c) in items.iter().enumerate() {
            if chars(&c["custom_id"]) > 100 {
                return too_long(format!("components.{i}.components.{j}.custom_id"), 100);
            }
            if chars(&c["label"]) > 80 {
                return too_long(format!("components.{i}.components.{j}.label"), 80);
            }
            if c["options"].as_array().is_some_and(|o| o.len() > 25) {
                return too_long(format!("components.{i}.components.{j}.options"), 25);
            }
        }
    }
    let empty = chars(&body["content"]) == 0
        && embeds.is_empty()
        && rows.is_empty()
        && files == 0
        && body["sticker_ids"].as_array().is_none_or(Vec::is_empty)
        && body.get("poll").is_none_or(Value::is_null);
    if creating && empty {
        return Some(Reply::error(400, 50006, "Cannot send an empty message"));
    }
    None
}

fn normalize_embeds(embeds: &Value) -> Value {
    let mut list = embeds.as_array().cloned().unwrap_or_default();
    for e in &mut list {
        if let Some(o) = e.as_object_mut() {
            o.entry("type").or_insert_with(|| json!("rich"));
        }
    }
    Value::Array(list)
}

fn attachments_json(body: &Value, files: &[FilePart], message_id: u64) -> Value {
    let mut out = Vec::new();
    for (i, a) in body["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let index = id_of(&a["id"]).unwrap_or(i as u64);
        let part = files
            .iter()
            .find(|f| f.name == format!("files[{index}]"))
            .or_else(|| files.get(i));
        let Some(part) = part else {
            continue;
        };
        let filename = a["filename"].as_str().unwrap_or(&part.filename);
        let url = format!("https://cdn.discordapp.com/attachments/{message_id}/{index}/{filename}");
        out.push(json!({
            "id": (message_id + index + 1).to_string(),
            "filename": filename,
            "description": a.get("description").cloned().unwrap_or(Value::Null),
            "size": part.size,
            "url": url,
            "proxy_url": url,
            "content_type": null,
        }));
    }
    if out.is_empty() && body["attachments"].is_null() {
        for (i, part) in files.iter().enumerate() {
            let url = format!(
                "https://cdn.discordapp.com/attachments/{message_id}/{i}/{}",
                part.filename
            );
            out.push(json!({
                "id": (message_id + i as u64 + 1).to_string(),
                "filename": part.filename,
                "size": part.size,
                "url": url,
                "proxy_url": url,
            }));
        }
    }
    Value::Array(out)
}

/// A message authored by the bot, echoing the body's content, embeds, components and flags.
fn bot_message_json(id: u64, channel_id: u64, body: &Value, kind: u8) -> Value {
    let mut m = json!({
        "id": id.to_string(),
        "channel_id": channel_id.to_string(),
        "author": user_json(BOT_ID, true),
        "content": body["content"].as_str().unwrap_or(""),
        "timestamp": now(),
        "edited_timestamp": null,
        "tts": body["tts"].as_bool().unwrap_or(false),
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": normalize_embeds(&body["embeds"]),
        "components": body.get("components").filter(|c| c.is_array()).cloned().unwrap_or(json!([])),
        "pinned": false,
        "type": kind,
        "flags": body["flags"].as_u64().unwrap_or(0),
    });
    if let Some(reference) = body.get("message_reference").filter(|r| r.is_object()) {
        let mut reference = reference.clone();
        if reference.get("channel_id").is_none_or(Value::is_null) {
            reference["channel_id"] = json!(channel_id.to_string());
        }
        m["message_reference"] = reference;
        m["type"] = json!(19);
    }
    m
}

/// Applies an edit body to a stored message.
fn edit_message(m: &mut Value, body: &Value, files: &[FilePart]) {
    if let Some(content) = body.get("content") {
        m["content"] = json!(content.as_str().unwrap_or(""));
    }
    if let Some(embeds) = body.get("embeds") {
        m["embeds"] = normalize_embeds(embeds);
    }
    if let Some(components) = body.get("components") {
        m["components"] = if components.is_array() {
            components.clone()
        } else {
            json!([])
        };
    }
    if body.get("attachments").is_some() || !files.is_empty() {
        let id = id_of(&m["id"]).unwrap_or(0);
        m["attachments"] = attachments_json(body, files, id);
    }
    let flags = body["flags"]
        .as_u64()
        .unwrap_or_else(|| m["flags"].as_u64().unwrap_or(0));
    m["flags"] = json!(flags & !FLAG_LOADING);
    m["edited_timestamp"] = json!(now());
}

fn channel_route(
    inner: &Arc<Inner>,
    method: &str,
    channel: u64,
    rest: &[&str],
    body: &Value,
    files: &[FilePart],
) -> Reply {
    let mut world = lock(&inner.world);
    world.channel(channel);
    let message_id = rest.get(1).and_then(|m| m.parse::<u64>().ok());
    match (method, rest) {
        ("GET", []) => {
            let v = world.channel_json(channel);
            drop(world);
            inner.check::<Channel>("Channel", &v);
            Reply::ok(v)
        }
        ("PATCH", []) => edit_thread(inner, world, channel, body),
        ("POST", ["messages", m, "threads"]) => match m.parse::<u64>() {
            Ok(m) => start_thread(inner, world, channel, m, body),
            Err(_) => Reply::error(404, 10008, "Unknown Message"),
        },
        ("POST", ["messages"]) => {
            let need = Permissions::SEND_MESSAGES_IN_THREADS.bits();
            if world.threads.contains_key(&channel) && !world.bot_may(need) {
                return Reply::error(403, 50013, "Missing Permissions");
            }
            let to_post = Permissions::VIEW_CHANNEL.bits() | Permissions::SEND_MESSAGES.bits();
            if world
                .denied_in
                .get(&channel)
                .is_some_and(|d| d & to_post != 0)
            {
                return Reply::error(403, 50013, "Missing Permissions");
            }
            if let Some(bad) = check_message_body(body, true, files.len()) {
                return bad;
            }
            let id = inner.new_id();
            let mut m = bot_message_json(id, channel, body, 0);
            m["attachments"] = attachments_json(body, files, id);
            world.messages.insert(id, m.clone());
            drop(world);
            inner.check::<Message>("Message", &m);
            Reply::ok(m)
        }
        ("GET", ["messages"]) => {
            // The bot's own messages in the channel, newest first (no user history is kept).
            let mut list: Vec<(u64, Value)> = world
                .messages
                .iter()
                .filter(|(_, m)| id_of(&m["channel_id"]) == Some(channel))
                .map(|(id, m)| (*id, m.clone()))
                .collect();
            list.sort_by_key(|m| std::cmp::Reverse(m.0));
            list.truncate(50);
            Reply::ok(Value::Array(list.into_iter().map(|(_, m)| m).collect()))
        }
        ("POST", ["typing"]) => Reply::no_content(),
        ("PUT" | "DELETE", ["messages", _, "reactions", ..]) => Reply::no_content(),
        (_, ["messages", _]) => {
            let Some(id) = message_id.filter(|id| world.messages.contains_key(id)) else {
                return Reply::error(404, 10008, "Unknown Message");
            };
            match method {
                "GET" => {
                    let m = world.messages[&id].clone();
                    Reply::ok(m)
                }
                "PATCH" => {
                    if let Some(bad) = check_message_body(body, false, files.len()) {
                        return bad;
                    }
                    let m = world.messages.get_mut(&id).expect("checked above");
                    edit_message(m, body, files);
                    let m = m.clone();
                    drop(world);
                    inner.check::<Message>("Message", &m);
                    Reply::ok(m)
                }
                "DELETE" => {
                    world.messages.remove(&id);
                    Reply::no_content()
                }
                _ => Reply::not_found(),
            }
        }
        _ => Reply::not_found(),
    }
}

/// `PATCH /channels/{thread}`: only `applied_tags` of a forum post is applied (other fields
/// are accepted and ignored). Tagging needs Manage Threads; the tags must be the forum's, at
/// most [`MAX_APPLIED_TAGS`].
fn edit_thread(
    inner: &Arc<Inner>,
    mut world: MutexGuard<'_, World>,
    channel: u64,
    body: &Value,
) -> Reply {
    let Some(thread) = world.threads.get(&channel).cloned() else {
        return Reply::error(400, 50024, "Cannot execute action on this channel type");
    };
    let unarchives = body["archived"] == json!(false);
    if thread.archived && !unarchives {
        return Reply::error(400, 50083, "Thread is archived");
    }
    if let Some(tags) = body.get("applied_tags") {
        if !world.bot_may(Permissions::MANAGE_THREADS.bits()) {
            return Reply::error(403, 50013, "Missing Permissions");
        }
        let Some(forum) = world.forums.get(&thread.parent) else {
            return invalid_form("applied_tags", "BASE_TYPE_BAD", "Not a forum post");
        };
        let ids: Option<Vec<u64>> = tags
            .as_array()
            .map(|tags| tags.iter().map(id_of).collect::<Option<Vec<u64>>>())
            .unwrap_or(None);
        let Some(ids) = ids.filter(|ids| ids.iter().all(|id| forum.iter().any(|(t, _)| t == id)))
        else {
            return invalid_form("applied_tags", "BASE_TYPE_BAD", "Unknown tag");
        };
        if ids.len() > MAX_APPLIED_TAGS {
            return invalid_form("applied_tags", "BASE_TYPE_MAX_LENGTH", "Too many tags");
        }
        world.threads.get_mut(&channel).expect("checked above").tags = ids;
    }
    if unarchives {
        world
            .threads
            .get_mut(&channel)
            .expect("checked above")
            .archived = false;
    }
    let v = thread_json(channel, &world.threads[&channel]);
    drop(world);
    inner.check::<Channel>("Channel", &v);
    Reply::ok(v)
}

/// `POST /channels/{c}/messages/{m}/threads`: the bot starts a public thread from message `m`
/// (the thread's id is the message's); needs Create Public Threads and a `name` of 1 to 100
/// characters; one thread per message. Discord then announces it with a THREAD_CREATE.
fn start_thread(
    inner: &Arc<Inner>,
    mut world: MutexGuard<'_, World>,
    channel: u64,
    message: u64,
    body: &Value,
) -> Reply {
    if !world.bot_may(Permissions::CREATE_PUBLIC_THREADS.bits()) {
        return Reply::error(403, 50013, "Missing Permissions");
    }
    if world.threads.contains_key(&channel) || world.forums.contains_key(&channel) {
        return Reply::error(400, 50024, "Cannot execute action on this channel type");
    }
    let name = body["name"].as_str().unwrap_or("");
    if !(1..=100).contains(&name.chars().count()) {
        return invalid_form(
            "name",
            "BASE_TYPE_BAD_LENGTH",
            "Must be between 1 and 100 in length.",
        );
    }
    if world.member_messages.get(&message) != Some(&channel) {
        return Reply::error(404, 10008, "Unknown Message");
    }
    if world.threads.contains_key(&message) {
        return Reply::error(
            400,
            160_004,
            "A thread has already been created for this message",
        );
    }
    if body.get("type").is_some_and(|t| t.as_u64() != Some(11)) {
        return invalid_form("type", "BASE_TYPE_CHOICES", "Only public threads here");
    }
    let info = ThreadInfo {
        parent: channel,
        owner: BOT_ID,
        name: name.to_owned(),
        tags: Vec::new(),
        archived: false,
    };
    world.channel(message);
    let v = thread_json(message, &info);
    world.threads.insert(message, info);
    drop(world);
    inner.check::<Channel>("Channel", &v);
    inner.check_dispatch("THREAD_CREATE", &v);
    let shard = lock(&inner.gw).shard_of(Some(GUILD_ID));
    try_send_dispatch(inner, Target::Shard(shard), "THREAD_CREATE", &v.to_string());
    Reply::ok(v)
}

/// How long Discord waits for an interaction's first response.
const ACK_DEADLINE: Duration = Duration::from_secs(3);

fn callback(inner: &Arc<Inner>, id: &str, token: &str, body: &Value, files: &[FilePart]) -> Reply {
    let mut world = lock(&inner.world);
    let World {
        interactions,
        messages,
        ..
    } = &mut *world;
    let Some(itx) = interactions
        .get_mut(token)
        .filter(|itx| id.parse::<u64>().ok() == Some(itx.id))
    else {
        return Reply::error(404, 10062, "Unknown interaction");
    };
    if itx.acknowledged {
        return Reply::error(400, 40060, "Interaction has already been acknowledged.");
    }
    if itx.sent.elapsed() > ACK_DEADLINE {
        return Reply::error(404, 10062, "Unknown interaction");
    }
    let data = &body["data"];
    let kind = body["type"].as_u64().unwrap_or(0);
    let message_kind = if itx.kind == 2 { 20 } else { 0 };
    let made = match kind {
        4 => {
            if let Some(bad) = check_message_body(data, true, files.len()) {
                return bad;
            }
            let mid = inner.new_id();
            let mut m = bot_message_json(mid, itx.channel_id, data, message_kind);
            m["attachments"] = attachments_json(data, files, mid);
            m["webhook_id"] = json!(APP_ID.to_string());
            m["application_id"] = json!(APP_ID.to_string());
            itx.original = Some(mid);
            messages.insert(mid, m.clone());
            Some(m)
        }
        5 => {
            let mid = inner.new_id();
            let mut m = bot_message_json(mid, itx.channel_id, &json!({}), message_kind);
            m["flags"] = json!(data["flags"].as_u64().unwrap_or(0) | FLAG_LOADING);
            m["webhook_id"] = json!(APP_ID.to_string());
            m["application_id"] = json!(APP_ID.to_string());
            itx.original = Some(mid);
            messages.insert(mid, m.clone());
            Some(m)
        }
        7 => {
            if let Some(bad) = check_message_body(data, false, files.len()) {
                return bad;
            }
            match itx.original.and_then(|o| messages.get_mut(&o)) {
                Some(m) => {
                    edit_message(m, data, files);
                    Some(m.clone())
                }
                None => None,
            }
        }
        1 | 6 | 8 | 9 | 10 | 12 => None,
        _ => {
            return invalid_form(
                "type",
                "BASE_TYPE_CHOICES",
                "Value must be one of {1, 4, 5, 6, 7, 8, 9, 10, 12}.",
            )
        }
    };
    itx.acknowledged = true;
    drop(world);
    if let Some(m) = made {
        inner.check::<Message>("Message", &m);
    }
    Reply::no_content()
}

fn webhook(
    inner: &Arc<Inner>,
    method: &str,
    token: &str,
    rest: &[&str],
    body: &Value,
    files: &[FilePart],
) -> Reply {
    let mut world = lock(&inner.world);
    let World {
        interactions,
        messages,
        ..
    } = &mut *world;
    let Some(itx) = interactions.get_mut(token) else {
        return Reply::error(404, 10015, "Unknown Webhook");
    };
    let reply = match (method, rest) {
        ("POST", []) => {
            if !itx.acknowledged {
                return Reply::error(404, 10015, "Unknown Webhook");
            }
            if let Some(bad) = check_message_body(body, true, files.len()) {
                return bad;
            }
            // After a deferred response, the first followup replaces the "thinking" message.
            let loading = itx
                .original
                .and_then(|o| messages.get_mut(&o))
                .filter(|m| m["flags"].as_u64().unwrap_or(0) & FLAG_LOADING != 0);
            if let Some(m) = loading {
                let mut edit = body.clone();
                if edit.get("content").is_none() {
                    edit["content"] = json!("");
                }
                edit_message(m, &edit, files);
                m["edited_timestamp"] = Value::Null;
                Reply::ok(m.clone())
            } else {
                let mid = inner.new_id();
                let mut m = bot_message_json(mid, itx.channel_id, body, 0);
                m["webhook_id"] = json!(APP_ID.to_string());
                m["application_id"] = json!(APP_ID.to_string());
                m["attachments"] = attachments_json(body, files, mid);
                messages.insert(mid, m.clone());
                Reply::ok(m)
            }
        }
        (_, ["messages", which]) => {
            let id = if *which == "@original" {
                itx.original
            } else {
                which.parse().ok()
            };
            let Some(id) = id.filter(|id| messages.contains_key(id)) else {
                return Reply::error(404, 10008, "Unknown Message");
            };
            match method {
                "GET" => Reply::ok(messages[&id].clone()),
                "PATCH" => {
                    if let Some(bad) = check_message_body(body, false, files.len()) {
                        return bad;
                    }
                    let m = messages.get_mut(&id).expect("checked above");
                    edit_message(m, body, files);
                    Reply::ok(m.clone())
                }
                "DELETE" => {
                    messages.remove(&id);
                    if itx.original == Some(id) {
                        itx.original = None;
                    }
                    Reply::no_content()
                }
                _ => Reply::not_found(),
            }
        }
        _ => Reply::not_found(),
    };
    drop(world);
    if let Some(m) = reply.body.as_ref().filter(|_| reply.status == 200) {
        inner.check::<Message>("Message", m);
    }
    reply
}

/// The channel ids chosen in channel options (type 7) of `options`, nested ones too.
fn channel_options(options: &Value, found: &mut Vec<u64>) {
    for option in options.as_array().into_iter().flatten() {
        if option["type"] == 7 {
            found.extend(id_of(&option["value"]));
        }
        channel_options(&option["options"], found);
    }
}

/// One `data.options` entry for [`Emulator::slash`] / [`Emulator::autocomplete`]: `kind` is the
/// option type (1 subcommand, 2 group: `value` is then their options array; 3 string, 4 integer,
/// 5 boolean, 6 user, 7 channel (its id as a string; resolved by the emulator), 10 number, ...).
pub fn option(name: &str, kind: u8, value: serde_json::Value) -> serde_json::Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(name));
    o.insert("type".into(), json!(kind));
    if kind == 1 || kind == 2 {
        o.insert(
            "options".into(),
            if value.is_null() { json!([]) } else { value },
        );
    } else {
        o.insert("value".into(), value);
    }
    Value::Object(o)
}

// ----------------------------------------------------------------------------------------------
// OAuth2

mod oauth {
    //! Discord's OAuth2 authorization-code flow, as the dashboard's admin login uses it (see the
    //! module doc of `support::discord` for the URLs and [`Emulator::oauth_user`] for the user).
    //!
    //! Codes are one-time and remember the `redirect_uri` they were issued for; tokens remember
    //! their user by id, so [`Emulator::oauth_user`] with the same id and other guilds changes what
    //! an existing token reads, as a change on Discord would. Answers follow Discord: token errors
    //! are `{"error": ..., "error_description": ...}` (400, or 401 `invalid_client`), an unknown
    //! Bearer token gets 401 `{"message": "401: Unauthorized", "code": 0}`, and a Bearer token
    //! reaches only the OAuth2 routes (`/users/@me`, `/users/@me/guilds`, `/oauth2/@me`).

    use std::collections::HashMap;
    use std::sync::Arc;

    use serde_json::{json, Map, Value};
    use serenity::model::guild::GuildInfo;
    use serenity::model::permissions::Permissions;
    use serenity::model::user::CurrentUser;
    use serenity::model::Timestamp;
    use url::form_urlencoded;

    use super::{
        application_json, lock, Emulator, Inner, Recorded, Reply, APP_ID, GUILD_ID, GUILD_NAME,
        OWNER_ID,
    };

    /// The OAuth2 client id: on Discord, the application id ([`APP_ID`]).
    pub const OAUTH_CLIENT_ID: u64 = APP_ID;
    /// The OAuth2 client secret the emulator expects at the token endpoint.
    pub const OAUTH_CLIENT_SECRET: &str = "EmuLatedOAuth2ClientSecret_x7Qz";
    /// `expires_in` of every access token: 7 days, as on Discord.
    const EXPIRES_IN: u64 = 604_800;
    /// Scopes Discord knows (others are refused on the consent page).
    const KNOWN_SCOPES: &[&str] = &[
        "identify",
        "email",
        "guilds",
        "guilds.join",
        "guilds.members.read",
        "connections",
        "openid",
        "role_connections.write",
        "bot",
        "applications.commands",
    ];

    /// A guild in a user's `GET /users/@me/guilds` (Bearer).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct OAuthGuild {
        pub id: u64,
        pub name: String,
        /// The user owns the guild.
        pub owner: bool,
        /// The user's permission bits in the guild (sent as a decimal string).
        pub permissions: u64,
    }

    impl OAuthGuild {
        pub fn new(id: u64, name: impl Into<String>, owner: bool, permissions: u64) -> OAuthGuild {
            OAuthGuild {
                id,
                name: name.into(),
                owner,
                permissions,
            }
        }
    }

    /// The Discord user logged in in the browser (see [`Emulator::oauth_user`]).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct OAuthUser {
        pub id: u64,
        /// `username` and `global_name`, and the name on the consent page.
        pub name: String,
        /// What `GET /users/@me/guilds` lists, in this order.
        pub guilds: Vec<OAuthGuild>,
    }

    impl OAuthUser {
        /// [`OWNER_ID`] ("owner"), owner of [`GUILD_ID`] with every permission (the default user).
        pub fn owner() -> OAuthUser {
            OAuthUser {
                id: OWNER_ID,
                name: "owner".to_owned(),
                guilds: vec![OAuthGuild::new(
                    GUILD_ID,
                    GUILD_NAME,
                    true,
                    Permissions::all().bits(),
                )],
            }
        }

        /// A member of [`GUILD_ID`], not its owner, with exactly `permissions` there
        /// ([`Emulator::oauth_user`] gives them these permissions in the guild too).
        pub fn member(id: u64, name: impl Into<String>, permissions: u64) -> OAuthUser {
            OAuthUser {
                id,
                name: name.into(),
                guilds: vec![OAuthGuild::new(GUILD_ID, GUILD_NAME, false, permissions)],
            }
        }

        /// Adds a guild to the user's list, e.g. one the bot does not serve (pick its id with
        /// [`Emulator::new_id`]).
        pub fn with_guild(mut self, guild: OAuthGuild) -> OAuthUser {
            self.guilds.push(guild);
            self
        }

        fn json(&self) -> Value {
            json!({
                "id": self.id.to_string(),
                "username": self.name,
                "global_name": self.name,
                "discriminator": "0",
                "avatar": null,
                "avatar_decoration_data": null,
                "banner": null,
                "accent_color": null,
                "public_flags": 0,
                "flags": 0,
                "locale": "en-US",
                "mfa_enabled": false,
                "premium_type": 0,
            })
        }

        fn guilds_json(&self) -> Value {
            self.guilds
                .iter()
                .map(|g| {
                    json!({
                        "id": g.id.to_string(),
                        "name": g.name,
                        "icon": null,
                        "owner": g.owner,
                        "permissions": g.permissions.to_string(),
                        "features": [],
                    })
                })
                .collect()
        }
    }

    /// OAuth2 state: users by id, the one logged in, codes and tokens.
    pub(super) struct OAuth {
        current: u64,
        users: HashMap<u64, OAuthUser>,
        codes: HashMap<String, Code>,
        /// Access tokens and refresh tokens.
        access: HashMap<String, Grant>,
        refresh: HashMap<String, Grant>,
        /// Access tokens issued so far (by code or refresh).
        issued: usize,
    }

    impl Default for OAuth {
        fn default() -> OAuth {
            let owner = OAuthUser::owner();
            OAuth {
                current: owner.id,
                users: HashMap::from([(owner.id, owner)]),
                codes: HashMap::new(),
                access: HashMap::new(),
                refresh: HashMap::new(),
                issued: 0,
            }
        }
    }

    struct Code {
        grant: Grant,
        redirect_uri: String,
        used: bool,
    }

    #[derive(Clone)]
    struct Grant {
        user: u64,
        scope: String,
    }

    impl OAuth {
        fn issue_code(&mut self, inner: &Inner, redirect_uri: &str, scope: &str) -> String {
            let code = secret(inner, 30);
            let grant = Grant {
                user: self.current,
                scope: scope.to_owned(),
            };
            self.codes.insert(
                code.clone(),
                Code {
                    grant,
                    redirect_uri: redirect_uri.to_owned(),
                    used: false,
                },
            );
            code
        }

        fn issue_tokens(&mut self, inner: &Inner, grant: Grant) -> Reply {
            let access = secret(inner, 30);
            let refresh = secret(inner, 30);
            self.issued += 1;
            let v = json!({
                "access_token": access,
                "token_type": "Bearer",
                "expires_in": EXPIRES_IN,
                "refresh_token": refresh,
                "scope": grant.scope,
            });
            self.access.insert(access, grant.clone());
            self.refresh.insert(refresh, grant);
            Reply::ok(v)
        }
    }

    /// `len` characters of `[A-Za-z0-9]`, from a fresh snowflake id (unique per emulator).
    fn secret(inner: &Inner, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut state = inner.new_id();
        (0..len)
            .map(|_| {
                // splitmix64
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                char::from(ALPHABET[(z % ALPHABET.len() as u64) as usize])
            })
            .collect()
    }

    impl Emulator {
        /// The Discord user logged in in the browser from now on: the next authorize (consent
        /// page or [`Emulator::oauth_code`]) grants a code for them. Tokens already issued to a
        /// user with the same id see the new name and guilds. Their non-owner permissions in
        /// [`GUILD_ID`] are also given to them there ([`Emulator::set_permissions`]). Default:
        /// [`OAuthUser::owner`].
        pub fn oauth_user(&self, user: OAuthUser) {
            for g in &user.guilds {
                if g.id == GUILD_ID && !g.owner && user.id != OWNER_ID {
                    self.set_permissions(user.id, g.permissions);
                }
            }
            let mut oauth = lock(&self.inner.oauth);
            oauth.current = user.id;
            oauth.users.insert(user.id, user);
        }

        /// A one-time code for the current user (scope `identify guilds`), as the consent page's
        /// Authorize button would issue it, for `redirect_uri` (which the token request must
        /// repeat).
        pub fn oauth_code(&self, redirect_uri: &str) -> String {
            lock(&self.inner.oauth).issue_code(&self.inner, redirect_uri, "identify guilds")
        }

        /// How many access tokens the token endpoint has issued (codes and refreshes).
        pub fn oauth_tokens_issued(&self) -> usize {
            lock(&self.inner.oauth).issued
        }

        /// Forgets every access and refresh token issued so far, as if they had expired or been
        /// revoked: their next use gets 401.
        pub fn oauth_revoke_tokens(&self) {
            let mut oauth = lock(&self.inner.oauth);
            oauth.access.clear();
            oauth.refresh.clear();
        }
    }

    impl Recorded {
        /// The `(client_id, client_secret)` of an `Authorization: Basic ...` header.
        pub fn basic_auth(&self) -> Option<(String, String)> {
            basic_auth(&self.authorization)
        }

        /// Whether `needle` appears anywhere in the request: its URI (decoded too), its
        /// `Authorization` header (Basic credentials decoded too), or its body.
        pub fn mentions(&self, needle: &str) -> bool {
            let query = self.uri.split_once('?').map_or("", |(_, q)| q);
            self.uri.contains(needle)
                || form_urlencoded::parse(query.as_bytes())
                    .any(|(k, v)| k.contains(needle) || v.contains(needle))
                || self.authorization.contains(needle)
                || self
                    .basic_auth()
                    .is_some_and(|(id, secret)| id.contains(needle) || secret.contains(needle))
                || self.body.to_string().contains(needle)
                || walk_strings(&self.body, &mut |s| s.contains(needle))
        }
    }

    fn walk_strings(v: &Value, f: &mut impl FnMut(&str) -> bool) -> bool {
        match v {
            Value::String(s) => f(s),
            Value::Array(a) => a.iter().any(|x| walk_strings(x, f)),
            Value::Object(o) => o.iter().any(|(k, x)| f(k) || walk_strings(x, f)),
            _ => false,
        }
    }

    /// A form body as a JSON object of strings (the last of repeated fields wins).
    pub(super) fn form_json(bytes: &[u8]) -> Value {
        let fields: Map<String, Value> = form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        Value::Object(fields)
    }

    /// The OAuth2 routes, and every request with a Bearer token; `None` for the bot's routes.
    /// `raw_path` is the path as received, `path` without `/api/v10` or `/api`.
    pub(super) fn route(
        inner: &Arc<Inner>,
        method: &str,
        raw_path: &str,
        path: &str,
        query: &str,
        authorization: &str,
        body: &Value,
    ) -> Option<Reply> {
        let reply = match raw_path {
            "/oauth2/authorize" => match method {
                "GET" => consent_page(inner, &form_json(query.as_bytes())),
                "POST" => authorize(inner, body),
                _ => method_not_allowed(),
            },
            "/api/oauth2/token" | "/api/v10/oauth2/token" => match method {
                "POST" => token(inner, authorization, body),
                _ => method_not_allowed(),
            },
            "/api/oauth2/token/revoke" | "/api/v10/oauth2/token/revoke" => match method {
                "POST" => revoke(inner, authorization, body),
                _ => method_not_allowed(),
            },
            _ => {
                let token = scheme(authorization, "Bearer")?;
                bearer(inner, method, path, token)
            }
        };
        Some(reply)
    }

    /// The credentials after `Authorization: <scheme> ` (scheme case-insensitive).
    fn scheme<'a>(authorization: &'a str, scheme: &str) -> Option<&'a str> {
        let (given, rest) = authorization.split_once(' ')?;
        given.eq_ignore_ascii_case(scheme).then_some(rest.trim())
    }

    fn method_not_allowed() -> Reply {
        Reply::error(405, 0, "405: Method Not Allowed")
    }

    fn text(status: u16, content_type: &'static str, text: String) -> Reply {
        Reply {
            status,
            body: None,
            text: Some((content_type, text)),
            headers: Vec::new(),
        }
    }

    fn bad_request(message: &str) -> Reply {
        text(400, "text/plain; charset=utf-8", format!("{message}\n"))
    }

    /// `{"error": ..., "error_description": ...}` with `status`.
    fn oauth_error(status: u16, error: &str, description: &str) -> Reply {
        Reply {
            status,
            body: Some(json!({"error": error, "error_description": description})),
            text: None,
            headers: Vec::new(),
        }
    }

    /// A valid authorization request (consent page or its form).
    struct AuthRequest {
        redirect_uri: String,
        /// The requested scopes, space-separated.
        scope: String,
        state: Option<String>,
    }

    fn field<'a>(fields: &'a Value, name: &str) -> Option<&'a str> {
        fields.get(name).and_then(Value::as_str)
    }

    /// Discord's checks of an authorization request; `Err` is the 400's text.
    fn auth_request(fields: &Value) -> Result<AuthRequest, String> {
        match field(fields, "client_id") {
            None => return Err("Missing client_id".into()),
            Some(id) if id != OAUTH_CLIENT_ID.to_string() => {
                return Err(format!("Invalid client_id {id:?}: unknown application"))
            }
            Some(_) => {}
        }
        match field(fields, "response_type") {
            Some("code") => {}
            other => return Err(format!("Unsupported response_type {other:?}")),
        }
        let scopes: Vec<&str> = field(fields, "scope")
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if let Some(unknown) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(s)) {
            return Err(format!("Invalid scope {unknown:?}"));
        }
        if !scopes.contains(&"identify") || !scopes.contains(&"guilds") {
            return Err(format!(
                "The scope must include identify and guilds, not {:?}",
                scopes.join(" ")
            ));
        }
        let Some(redirect_uri) = field(fields, "redirect_uri").filter(|r| !r.is_empty()) else {
            return Err("Missing redirect_uri".into());
        };
        match url::Url::parse(redirect_uri) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.fragment().is_none() => {}
            _ => return Err(format!("Invalid OAuth2 redirect_uri {redirect_uri:?}")),
        }
        Ok(AuthRequest {
            redirect_uri: redirect_uri.to_owned(),
            scope: scopes.join(" "),
            state: field(fields, "state")
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        })
    }

    fn escape(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
        out
    }

    /// `GET /oauth2/authorize`: the consent page, a form posting back the request.
    fn consent_page(inner: &Inner, query: &Value) -> Reply {
        let request = match auth_request(query) {
            Ok(r) => r,
            Err(message) => return bad_request(&message),
        };
        let name = {
            let oauth = lock(&inner.oauth);
            oauth.users[&oauth.current].name.clone()
        };
        let scopes: String = request
            .scope
            .split(' ')
            .map(|s| format!("<li>{}</li>", escape(s)))
            .collect();
        let hidden = |name: &str, value: &str| {
            format!(
                r#"<input type="hidden" name="{name}" value="{}">"#,
                escape(value)
            )
        };
        let mut fields = [
            hidden("client_id", &OAUTH_CLIENT_ID.to_string()),
            hidden("redirect_uri", &request.redirect_uri),
            hidden("scope", &request.scope),
            hidden("response_type", "code"),
        ]
        .join("\n");
        if let Some(state) = &request.state {
            fields.push('\n');
            fields.push_str(&hidden("state", state));
        }
        let page = format!(
            r#"<!DOCTYPE html>
    <html lang="en">
    <head><meta charset="utf-8"><title>Authorize access</title></head>
    <body>
    <h1>Authorize access</h1>
    <p>careerbot wants to access your account, <strong id="user">{}</strong>:</p>
    <ul id="scopes">{scopes}</ul>
    <form method="post" action="/oauth2/authorize">
    {fields}
    <button type="submit" id="authorize">Authorize</button>
    </form>
    </body>
    </html>
    "#,
            escape(&name)
        );
        text(200, "text/html; charset=utf-8", page)
    }

    /// `POST /oauth2/authorize`: a code for the current user, by a 302 to the redirect URI.
    fn authorize(inner: &Inner, form: &Value) -> Reply {
        let request = match auth_request(form) {
            Ok(r) => r,
            Err(message) => return bad_request(&message),
        };
        let code = lock(&inner.oauth).issue_code(inner, &request.redirect_uri, &request.scope);
        let mut location = request.redirect_uri.clone();
        if !location.ends_with(['?', '&']) {
            location.push(if location.contains('?') { '&' } else { '?' });
        }
        let mut params = form_urlencoded::Serializer::new(String::new());
        params.append_pair("code", &code);
        if let Some(state) = &request.state {
            params.append_pair("state", state);
        }
        location.push_str(&params.finish());
        Reply {
            status: 302,
            body: None,
            text: None,
            headers: vec![("location", location)],
        }
    }

    /// Standard base64 (padding optional); `None` if not base64.
    fn base64_decode(s: &str) -> Option<Vec<u8>> {
        let value = |c: u8| match c {
            b'A'..=b'Z' => Some(c - b'A'),
            b'a'..=b'z' => Some(c - b'a' + 26),
            b'0'..=b'9' => Some(c - b'0' + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        };
        let s = s.trim_end_matches('=');
        let mut out = Vec::with_capacity(s.len() * 3 / 4);
        let (mut acc, mut bits) = (0u32, 0);
        for c in s.bytes() {
            acc = (acc << 6) | u32::from(value(c)?);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
        Some(out)
    }

    /// `Basic base64(urlencoded(id):urlencoded(secret))` (RFC 6749 2.3.1).
    fn basic_auth(authorization: &str) -> Option<(String, String)> {
        let decoded = String::from_utf8(base64_decode(scheme(authorization, "Basic")?)?).ok()?;
        let (id, secret) = decoded.split_once(':')?;
        let unescape = |s: &str| {
            form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map_or_else(String::new, |(_, v)| v.into_owned())
        };
        Some((unescape(id), unescape(secret)))
    }

    /// The client's credentials, by Basic auth or form fields (both must be right if both are
    /// given); `Some` 401 `invalid_client` if missing or wrong.
    fn client_refused(authorization: &str, form: &Value) -> Option<Reply> {
        let mut given = Vec::new();
        if let Some(creds) = basic_auth(authorization) {
            given.push(creds);
        }
        let (id, secret) = (field(form, "client_id"), field(form, "client_secret"));
        if id.is_some() || secret.is_some() {
            given.push((
                id.unwrap_or_default().to_owned(),
                secret.unwrap_or_default().to_owned(),
            ));
        }
        let expected = (OAUTH_CLIENT_ID.to_string(), OAUTH_CLIENT_SECRET.to_owned());
        (given.is_empty() || given.iter().any(|c| *c != expected))
            .then(|| oauth_error(401, "invalid_client", "Invalid client credentials."))
    }

    /// `POST /api(/v10)/oauth2/token`: a code (or a refresh token) for tokens.
    fn token(inner: &Inner, authorization: &str, form: &Value) -> Reply {
        if let Some(refused) = client_refused(authorization, form) {
            return refused;
        }
        let mut oauth = lock(&inner.oauth);
        match field(form, "grant_type") {
            Some("authorization_code") => {
                let code = field(form, "code").unwrap_or("");
                let grant = match oauth.codes.get_mut(code) {
                    Some(c) if !c.used => {
                        if field(form, "redirect_uri") != Some(c.redirect_uri.as_str()) {
                            return oauth_error(
                                400,
                                "invalid_grant",
                                "Invalid \"redirect_uri\" in request.",
                            );
                        }
                        c.used = true;
                        c.grant.clone()
                    }
                    _ => return oauth_error(400, "invalid_grant", "Invalid \"code\" in request."),
                };
                oauth.issue_tokens(inner, grant)
            }
            Some("refresh_token") => {
                let refresh = field(form, "refresh_token").unwrap_or("");
                match oauth.refresh.remove(refresh) {
                    Some(grant) => oauth.issue_tokens(inner, grant),
                    None => oauth_error(
                        400,
                        "invalid_grant",
                        "Invalid \"refresh_token\" in request.",
                    ),
                }
            }
            _ => oauth_error(400, "unsupported_grant_type", "Unsupported grant type"),
        }
    }

    /// `POST /api(/v10)/oauth2/token/revoke`: forgets an access or refresh token.
    fn revoke(inner: &Inner, authorization: &str, form: &Value) -> Reply {
        if let Some(refused) = client_refused(authorization, form) {
            return refused;
        }
        let token = field(form, "token").unwrap_or("");
        let mut oauth = lock(&inner.oauth);
        oauth.access.remove(token);
        oauth.refresh.remove(token);
        Reply::ok(json!({}))
    }

    /// A request with `Authorization: Bearer TOKEN`.
    fn bearer(inner: &Inner, method: &str, path: &str, token: &str) -> Reply {
        let unauthorized = || Reply::error(401, 0, "401: Unauthorized");
        let (user, scope) = {
            let oauth = lock(&inner.oauth);
            let Some(grant) = oauth.access.get(token) else {
                return unauthorized();
            };
            (oauth.users[&grant.user].clone(), grant.scope.clone())
        };
        match (method, path) {
            ("GET", "/users/@me") => {
                let v = user.json();
                inner.check::<CurrentUser>("CurrentUser", &v);
                Reply::ok(v)
            }
            ("GET", "/users/@me/guilds") => {
                let v = user.guilds_json();
                inner.check::<Vec<GuildInfo>>("guild list", &v);
                Reply::ok(v)
            }
            ("GET", "/oauth2/@me") => {
                let expires = Timestamp::from_unix_timestamp(
                    Timestamp::now().unix_timestamp() + EXPIRES_IN as i64,
                )
                .map_or_else(|_| Value::Null, |t| Value::String(t.to_string()));
                Reply::ok(json!({
                    "application": application_json(),
                    "scopes": scope.split(' ').collect::<Vec<_>>(),
                    "expires": expires,
                    "user": user.json(),
                }))
            }
            // The bot's routes are not for a Bearer token.
            _ => unauthorized(),
        }
    }
}
