//! Settings, in two steps as ripgrep's flags are. [`raw`] reads the layers, the documented
//! `config/default.toml` (built into the binary, so every default lives in that one file),
//! then the file given with `--config`, then environment variables
//! `CAREERBOT_<SECTION>__<KEY>` (e.g. `CAREERBOT_MATCHER__FALLBACK_BELOW=0.4`), into plain
//! serde structs. [`Settings::load`] then converts them once into the checked [`Settings`]
//! the rest of the program uses: ids as `Option<ChannelId>` (never 0), `api_base` as a `Url`,
//! durations as `Duration`, paths as `Option<PathBuf>` (never ""). Every numeric key has a
//! range, stated once in [`ranges`]. A load reports every bad key at once, each with the
//! file (at its line), variable or default its value came from.

mod ranges;
mod raw;

use std::fmt;
use std::num::{NonZeroU32, NonZeroU64};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use serde::Deserialize;
use serenity::model::id::{ChannelId, GuildId};
use url::Url;

use crate::engine::intents::Limits;
use crate::engine::matcher::MatcherSettings;
pub use raw::Source;
use raw::{Layers, RawSettings};

/// The shipped, documented defaults.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// Every setting of careerbot, checked. Each key is documented in `config/default.toml`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Directory of intent files, relative to the working directory.
    pub intents_dir: PathBuf,
    pub matcher: MatcherSettings,
    /// What one intent set may hold (`[limits]`).
    pub limits: Limits,
    pub replies: ReplySettings,
    pub conversation: ConversationSettings,
    pub discord: DiscordSettings,
    pub admin: AdminSettings,
    pub web: WebSettings,
    pub log: LogSettings,
}

/// The admin dashboard as `careerbot run` serves it (`[web]`).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// Where to serve it; `None` (`listen = ""`): not at all.
    pub listen: Option<std::net::SocketAddr>,
    /// The address admins open (`public_url`), without a trailing slash; `None`: the listen
    /// address over http.
    pub public_url: Option<Url>,
    /// The OAuth2 client id; `None` (`client_id = 0`): the bot's own application id.
    pub client_id: Option<NonZeroU64>,
    /// How long a login lasts (`session_hours`, 1 to 720).
    pub session: Duration,
}

impl WebSettings {
    /// The address admins open: `public_url`, else `http://LISTEN`.
    pub fn base_url(&self) -> Option<Url> {
        match (&self.public_url, self.listen) {
            (Some(url), _) => Some(url.clone()),
            (None, Some(listen)) => Url::parse(&format!("http://{listen}/")).ok(),
            (None, None) => None,
        }
    }
}

/// The admin loop: live reload, the reload gate, the store and the unanswered queue.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// Watch the intents directory and reload on a change (`run` and `chat`).
    pub watch: bool,
    /// Changes closer together than this make one reload (`watch_debounce_ms`, at least 1).
    pub watch_debounce: Duration,
    /// A valid set must also pass this before it goes live.
    pub reload_gate: GateSettings,
    /// Where questions and votes are kept; `None` (`database = ""`) keeps nothing.
    pub database: Option<Database>,
    /// Records older than this are deleted (daily); `None` (`retention_days = 0`) keeps
    /// everything.
    pub retention: Option<Duration>,
    /// A question whose confidence is below this (or that fell back) joins the unanswered queue.
    pub unanswered_below: f32,
    /// Unanswered questions at least this similar (normalized Levenshtein) form one group.
    pub group_similarity: f64,
}

/// The regression gate of a reload.
#[derive(Debug, Clone)]
pub struct GateSettings {
    /// A cases file (JSON lines `{"text", "intent" | null}`); `None` (`cases = ""`): no gate.
    pub cases: Option<PathBuf>,
    /// The accuracy a new set needs on those cases, in [0, 1].
    pub min_accuracy: f64,
}

/// The Discord front end (`careerbot run`).
#[derive(Debug, Clone)]
pub struct DiscordSettings {
    /// Where REST calls and the gateway lookup go: an http(s) URL with a host.
    pub api_base: Url,
    /// Channels whose plain messages are answered without a mention.
    pub answer_channels: Vec<ChannelId>,
    /// Forum channels whose new posts are answered in the post when the bot is sure.
    pub forum_channels: Vec<ChannelId>,
    /// The name of the forum tag a post's author applies with 👍 on the bot's answer;
    /// `None` (`solved_tag = ""`): votes only.
    pub solved_tag: Option<String>,
    /// Answer `answer_channels` messages in a thread started from the question.
    pub reply_in_thread: bool,
    /// Which shards this process runs.
    pub sharding: Sharding,
    /// A guild to register the slash commands in at once; `None` (`dev_guild = 0`): globally.
    pub dev_guild: Option<GuildId>,
    /// A channel for messages to the server's admins; `None` (`admin_channel = 0`): none.
    pub admin_channel: Option<ChannelId>,
    /// The confidence an unmentioned message in `answer_channels` needs to be answered.
    pub channel_min_confidence: f32,
    /// Per user: at most `cooldown_questions` questions every `cooldown_window`
    /// (`cooldown_seconds`); 0 questions turns the cooldown off.
    pub cooldown_questions: u32,
    pub cooldown_window: Duration,
    /// At most this many replies are being sent to Discord at once (1 to 10,000).
    pub max_concurrent_replies: usize,
    /// The longest one call to Discord's API may take, connecting and reading the answer
    /// included (`request_timeout_seconds`, 1 to 300).
    pub request_timeout: Duration,
    /// The bot token: only from the environment (`DISCORD_TOKEN` or
    /// `CAREERBOT_DISCORD__TOKEN`); a config file that sets it is refused.
    pub token: Option<Secret>,
}
/// Which shards of the bot one process runs: `discord.shards` and `discord.total_shards`, or
/// `careerbot run --shards A..B --total-shards N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sharding {
    /// Shards `A..B` (B excluded); `None`: all of them.
    pub range: Option<(u32, u32)>,
    /// How many shards the bot has in all; `None`: as many as Discord recommends.
    pub total: Option<NonZeroU32>,
}

impl Sharding {
    /// A range needs the total it is part of, and must end within it.
    pub fn new(range: Option<(u32, u32)>, total: Option<NonZeroU32>) -> Result<Sharding, String> {
        match (range, total) {
            (Some((a, b)), None) => Err(format!(
                "the shards {a}..{b} are a part of a total: set total_shards (--total-shards) too"
            )),
            (Some((a, b)), Some(n)) if b > n.get() => Err(format!(
                "the shards {a}..{b} end past the {n} shards in all (total_shards)"
            )),
            _ => Ok(Sharding { range, total }),
        }
    }

    /// The shards to run when Discord recommends `recommended` in all.
    pub fn plan(&self, recommended: u32) -> ShardPlan {
        let total = self.total.map_or(recommended.max(1), NonZeroU32::get);
        let (first, end) = self.range.unwrap_or((0, total));
        ShardPlan { first, end, total }
    }
}

/// The shards one process runs: `first..end` (end excluded) of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardPlan {
    pub first: u32,
    pub end: u32,
    pub total: u32,
}

impl ShardPlan {
    /// One process, one shard: what a bot in a few servers runs.
    pub const SINGLE: ShardPlan = ShardPlan {
        first: 0,
        end: 1,
        total: 1,
    };

    pub fn count(&self) -> u32 {
        self.end - self.first
    }

    /// Whether `guild`'s events come to one of these shards (Discord's formula).
    pub fn runs_guild(&self, guild: u64) -> bool {
        let shard = (guild >> 22) % u64::from(self.total.max(1));
        (u64::from(self.first)..u64::from(self.end)).contains(&shard)
    }
}

impl fmt::Display for ShardPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{} of {}", self.first, self.end, self.total)
    }
}

/// `A..B`: shard ids A up to B, B excluded, A below B.
pub fn parse_shard_range(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("{text:?} is not a range of shard ids A..B (B excluded, A below B)");
    let (a, b) = text.trim().split_once("..").ok_or_else(bad)?;
    let id = |s: &str| s.trim().parse::<u32>().map_err(|_| bad());
    let (a, b) = (id(a)?, id(b)?);
    if a >= b {
        return Err(bad());
    }
    Ok((a, b))
}

/// The longest name Discord gives a forum tag.
const MAX_TAG_CHARS: usize = 20;

/// The environment variable the bot token comes from.
pub const TOKEN_VARIABLE: &str = "DISCORD_TOKEN";

/// A value that must never be printed: its `Debug` shows only that it is there.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The layered config's environment override of `discord.token`.
pub const TOKEN_OVERRIDE: &str = "CAREERBOT_DISCORD__TOKEN";

/// Why `careerbot run` cannot use the token it was given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("{TOKEN_VARIABLE} is not set: create a bot at https://discord.com/developers/applications and export its token (or use `careerbot chat` offline)")]
    Missing,
    /// `variable` is the one the bad value came from.
    #[error("{variable} is not a Discord bot token (expected three parts separated by dots)")]
    Malformed { variable: &'static str },
}

impl DiscordSettings {
    /// The bot token: `DISCORD_TOKEN`, else the layered `discord.token` (environment only:
    /// `CAREERBOT_DISCORD__TOKEN`), checked for the shape of a Discord token. A variable set
    /// to blanks counts as unset.
    pub fn token(&self) -> Result<Secret, TokenError> {
        let given = |token: Option<String>| token.filter(|t| !t.trim().is_empty());
        let (token, variable) = given(std::env::var(TOKEN_VARIABLE).ok())
            .map(|t| (t, TOKEN_VARIABLE))
            .or_else(|| {
                given(self.token.as_ref().map(|t| t.0.clone())).map(|t| (t, TOKEN_OVERRIDE))
            })
            .ok_or(TokenError::Missing)?;
        let token = Secret(token.trim().to_owned());
        if token.0.chars().any(|c| c.is_whitespace() || c.is_control())
            || serenity::utils::validate_token(&token.0).is_err()
        {
            return Err(TokenError::Malformed { variable });
        }
        Ok(token)
    }

    /// Whether `api_base` is something other than Discord's own API (the shipped default): a
    /// proxy doing its own rate limiting, or an emulator.
    pub fn through_proxy(&self) -> bool {
        self.api_base != Settings::defaults().discord.api_base
    }
}

/// The bot's own words around answers (the answers themselves live in the intent files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplySettings {
    /// Said when no intent is close enough.
    pub fallback: String,
    /// Introduces the suggestions of a fallback.
    pub suggestions: String,
    /// Asks which of the close candidates was meant.
    pub clarify: String,
    /// Said to a mention without a question.
    pub prompt: String,
    /// Said once per cooldown window to a user asking too fast.
    pub throttled: String,
    /// Said to a question that is clearly not in English.
    pub not_english: String,
}

/// Conversations (`[conversation]`): what the bot remembers of each one's last turn, so a
/// follow-up is understood; in memory only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversationSettings {
    /// Minutes a conversation's last turn is remembered; 0 remembers nothing.
    pub context_minutes: u64,
    /// At most this many conversations are remembered (the oldest forgotten first).
    pub max_conversations: usize,
    /// A short message answered alone at least this surely is not read as a follow-up.
    pub standalone_confidence: f32,
    /// The words a follow-up opens with.
    pub follow_up_openers: Vec<String>,
    /// Each half of a message holding two questions must be answered alone at least this
    /// surely for both to be answered.
    pub two_questions_confidence: f32,
}

impl ConversationSettings {
    /// How long a last turn is remembered.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.context_minutes * 60)
    }

    /// When a message is read as a follow-up.
    pub fn rule(&self) -> crate::engine::context::FollowUpRule {
        crate::engine::context::FollowUpRule::new(
            self.standalone_confidence,
            &self.follow_up_openers,
            self.two_questions_confidence,
        )
    }
}

/// Logging (`tracing`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `careerbot=debug`; `RUST_LOG` wins when set.
    pub level: String,
}

/// One bad setting: its key, its value as written (never for a token or an unknown key),
/// where that value came from, and what is wrong with it. Shown as
/// `place: key = value: message`, so one from a file reads `path:line:col: ...` like every
/// other error in a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    pub value: Option<String>,
    pub source: Source,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.key)?;
        if let Some(value) = &self.value {
            write!(f, " = {value}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every bad setting of one load, one per line (unindented, so a line from a file starts
/// with its `path:line:col`).
#[derive(Debug, thiserror::Error)]
#[error("invalid settings:{}", .0.iter().map(|p| format!("\n{p}")).collect::<String>())]
pub struct Invalid(pub Vec<Problem>);

impl Settings {
    /// Loads the defaults, then `file` (an error if given but missing), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let env = std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        });
        Settings::from_layers(file, env)
    }

    /// The shipped defaults (`config/default.toml`) alone, for tests and benchmarks.
    pub fn defaults() -> Settings {
        static DEFAULTS: LazyLock<Settings> = LazyLock::new(|| {
            Settings::from_layers(None, []).expect("the shipped defaults are valid")
        });
        DEFAULTS.clone()
    }

    fn from_layers(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Settings> {
        let mut layers = Layers::read(file, env)?;
        let raw = layers.raw()?;
        let settings = Settings::from_raw(raw, &mut layers);
        match (settings, layers.into_problems()) {
            (Some(settings), problems) if problems.is_empty() => Ok(settings),
            (_, problems) => Err(Invalid(problems).into()),
        }
    }

    /// Converts the raw settings, recording in `layers` every value that cannot be converted
    /// (numbers were held to their ranges as each layer set them); `None` when one could not.
    fn from_raw(raw: RawSettings, layers: &mut Layers) -> Option<Settings> {
        let RawSettings {
            intents_dir,
            matcher,
            limits,
            replies,
            conversation,
            discord,
            admin,
            web,
            log,
        } = raw;
        let channels = |key: &str, ids: &[u64], layers: &mut Layers| {
            let channels: Option<Vec<ChannelId>> = ids
                .iter()
                .map(|&id| NonZeroU64::new(id).map(ChannelId::from))
                .collect();
            layers.ensure(key, channels.is_some(), "0 is not a channel id");
            channels
        };
        let answer_channels = channels("discord.answer_channels", &discord.answer_channels, layers);
        let forum_channels = channels("discord.forum_channels", &discord.forum_channels, layers);
        let range = match discord.shards.trim() {
            "" => Ok(None),
            text => parse_shard_range(text).map(Some),
        };
        let sharding =
            range.and_then(|range| Sharding::new(range, NonZeroU32::new(discord.total_shards)));
        if let Err(problem) = &sharding {
            layers.ensure("discord.shards", false, problem);
        }
        let solved_tag = discord.solved_tag.trim().to_owned();
        layers.ensure(
            "discord.solved_tag",
            solved_tag.chars().count() <= MAX_TAG_CHARS,
            "a forum tag's name has at most 20 characters",
        );
        let api_base = Url::parse(&discord.api_base)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
        layers.ensure(
            "discord.api_base",
            api_base.is_some(),
            "must be an http(s) URL with a host",
        );
        let database = match Database::parse(&admin.database) {
            Ok(database) => Some(database),
            Err(problem) => {
                layers.ensure_secret("admin.database", false, &problem);
                None
            }
        };
        let path = |path: PathBuf| (!path.as_os_str().is_empty()).then_some(path);
        let listen = match web.listen.trim() {
            "" => Some(None),
            text => text.parse::<std::net::SocketAddr>().ok().map(Some),
        };
        layers.ensure(
            "web.listen",
            listen.is_some(),
            "must be HOST:PORT with an IP address (e.g. 127.0.0.1:8787), or \"\"",
        );
        let public_url = match web.public_url.trim() {
            "" => Some(None),
            text => Url::parse(text)
                .ok()
                .filter(|url| {
                    matches!(url.scheme(), "http" | "https")
                        && url.host().is_some()
                        && url.path() == "/"
                        && url.query().is_none()
                        && url.fragment().is_none()
                })
                .map(Some),
        };
        layers.ensure(
            "web.public_url",
            public_url.is_some(),
            "must be an http(s) URL with a host and no path or query, or \"\"",
        );
        Some(Settings {
            intents_dir,
            matcher,
            limits,
            replies,
            conversation,
            discord: DiscordSettings {
                api_base: api_base?,
                answer_channels: answer_channels?,
                forum_channels: forum_channels?,
                solved_tag: (!solved_tag.is_empty()).then_some(solved_tag),
                reply_in_thread: discord.reply_in_thread,
                sharding: sharding.ok()?,
                dev_guild: NonZeroU64::new(discord.dev_guild).map(GuildId::from),
                admin_channel: NonZeroU64::new(discord.admin_channel).map(ChannelId::from),
                channel_min_confidence: discord.channel_min_confidence,
                cooldown_questions: discord.cooldown_questions,
                cooldown_window: Duration::from_secs(discord.cooldown_seconds),
                max_concurrent_replies: discord.max_concurrent_replies,
                request_timeout: Duration::from_secs(discord.request_timeout_seconds),
                token: discord.token,
            },
            admin: AdminSettings {
                watch: admin.watch,
                watch_debounce: Duration::from_millis(admin.watch_debounce_ms),
                reload_gate: GateSettings {
                    cases: path(admin.reload_gate.cases),
                    min_accuracy: admin.reload_gate.min_accuracy,
                },
                database: database?,
                retention: (admin.retention_days > 0)
                    .then(|| Duration::from_secs(u64::from(admin.retention_days) * 86_400)),
                unanswered_below: admin.unanswered_below,
                group_similarity: admin.group_similarity,
            },
            web: WebSettings {
                listen: listen?,
                public_url: public_url?,
                client_id: NonZeroU64::new(web.client_id),
                session: Duration::from_secs(web.session_hours * 3600),
            },
            log,
        })
    }
}

/// Where questions and votes are kept (`[admin] database`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file: the embedded default.
    File(PathBuf),
    /// A PostgreSQL database, shared by every process of a cluster.
    Postgres(PostgresUrl),
}

impl Database {
    /// An SQLite file.
    pub fn file(path: impl AsRef<Path>) -> Database {
        Database::File(path.as_ref().to_owned())
    }

    /// `""` (keep nothing), a `postgres://` (or `postgresql://`) URL, or a file path.
    pub fn parse(text: &str) -> Result<Option<Database>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        let scheme = text.split_once("://").map(|(scheme, _)| scheme);
        match scheme {
            Some(scheme)
                if scheme.eq_ignore_ascii_case("postgres")
                    || scheme.eq_ignore_ascii_case("postgresql") =>
            {
                PostgresUrl::parse(text).map(|url| Some(Database::Postgres(url)))
            }
            Some(scheme)
                if !scheme.is_empty()
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) =>
            {
                Err(format!(
                    "a {scheme}:// URL is not a database careerbot can use: give a file path \
                 (SQLite) or a postgres:// URL"
                ))
            }
            _ => Ok(Some(Database::File(PathBuf::from(text)))),
        }
    }
}

impl fmt::Display for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Database::File(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => url.fmt(f),
        }
    }
}

/// A PostgreSQL connection URL, checked. It may hold a password (better given in
/// `PGPASSWORD`): shown and logged only without it.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    /// As given.
    url: String,
    /// As tokio-postgres reads it: `sslmode` and `sslrootcert` taken out (the mode is
    /// set from [`PostgresUrl::ssl_mode`]).
    client: String,
    shown: String,
    ssl_mode: SslMode,
    roots: RootCerts,
}

/// How a connection to PostgreSQL is encrypted and checked: libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, its certificate unchecked (libpq's default).
    Prefer,
    /// TLS or no connection, the certificate unchecked.
    Require,
    /// TLS, the certificate signed by a trusted root (any name).
    VerifyCa,
    /// TLS, the certificate signed by a trusted root and made out to the host connected to.
    VerifyFull,
}

impl SslMode {
    /// What tokio-postgres is told: whether to ask for TLS (the certificate checks are
    /// ours, in the TLS connector).
    fn for_client(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }
}

/// The roots a verified connection trusts: libpq's `sslrootcert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCerts {
    /// The operating system's (`sslrootcert=system`, and the default).
    System,
    /// The PEM certificates of one file.
    File(PathBuf),
}

impl RootCerts {
    /// The certificates of a root file, or why it cannot be used.
    pub fn read_file(
        path: &Path,
    ) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
        use rustls::pki_types::pem::PemObject;
        let shown = path.display();
        let certificates = rustls::pki_types::CertificateDer::pem_file_iter(path)
            .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("sslrootcert {shown}: cannot read its certificates ({e})"))?;
        if certificates.is_empty() {
            return Err(format!("sslrootcert {shown} holds no PEM certificate"));
        }
        Ok(certificates)
    }
}

impl PostgresUrl {
    /// Checks `text` as tokio-postgres reads it, with libpq's `sslmode` (`disable`,
    /// `prefer`, `require`, `verify-ca`, `verify-full`) and `sslrootcert` (a PEM file, or
    /// `system`).
    pub fn parse(text: &str) -> Result<PostgresUrl, String> {
        let (client, ssl_mode, roots) = Self::tls_parameters(text)?;
        let config: tokio_postgres::Config = client
            .parse()
            .map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
        // An sslmode tokio-postgres found where the query was not looked for.
        if config.get_ssl_mode() != tokio_postgres::config::SslMode::Prefer {
            return Err("the PostgreSQL URL's sslmode could not be read".to_owned());
        }
        if config.get_hosts().is_empty() {
            return Err("the PostgreSQL URL names no host".to_owned());
        }
        if config.get_dbname().is_none() {
            return Err(
                "the PostgreSQL URL names no database (postgres://host/DATABASE)".to_owned(),
            );
        }
        if let RootCerts::File(path) = &roots {
            RootCerts::read_file(path)?;
        }
        let shown = Self::masked(text);
        Ok(PostgresUrl {
            url: text.to_owned(),
            client,
            shown,
            ssl_mode,
            roots,
        })
    }

    /// Where the credentials and the query of `text` start, as tokio-postgres reads a URL:
    /// the credentials run to the first `@` (a password may hold `?` or `/`), the query from
    /// the next `?`.
    fn parts(text: &str) -> (usize, usize, Option<usize>) {
        let after_scheme = text.find("://").map_or(0, |at| at + 3);
        let after_credentials = text[after_scheme..]
            .find('@')
            .map_or(after_scheme, |at| after_scheme + at + 1);
        let query = text[after_credentials..]
            .find('?')
            .map(|at| after_credentials + at + 1);
        (after_scheme, after_credentials, query)
    }

    /// `text` with any password (`user:PASSWORD@`, `?password=`) as `****`.
    fn masked(text: &str) -> String {
        let (after_scheme, after_credentials, query) = Self::parts(text);
        let mut shown = text[..after_scheme].to_owned();
        if after_credentials > after_scheme {
            let credentials = &text[after_scheme..after_credentials - 1];
            match credentials.split_once(':') {
                Some((user, _)) => shown.push_str(&format!("{user}:****@")),
                None => shown.push_str(&format!("{credentials}@")),
            }
        }
        let Some(query) = query else {
            shown.push_str(&text[after_credentials..]);
            return shown;
        };
        shown.push_str(&text[after_credentials..query]);
        let pairs: Vec<String> = text[query..]
            .split('&')
            .map(|pair| {
                let key = pair.split_once('=').map_or(pair, |(key, _)| key);
                let key_decoded = percent_encoding::percent_decode_str(key).decode_utf8_lossy();
                if key_decoded == "password" {
                    format!("{key}=****")
                } else {
                    pair.to_owned()
                }
            })
            .collect();
        shown.push_str(&pairs.join("&"));
        shown
    }

    /// Takes libpq's TLS parameters out of the URL's query, which tokio-postgres would
    /// refuse (it knows `sslmode` up to `require` only, and no `sslrootcert`): the URL for
    /// tokio-postgres without them, the mode and the roots. `require` with a root file
    /// given is `verify-ca`, as in libpq.
    fn tls_parameters(text: &str) -> Result<(String, SslMode, RootCerts), String> {
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let (base, query) = match Self::parts(text).2 {
            Some(query) => (&text[..query - 1], &text[query..]),
            None => (text, ""),
        };
        let (mut mode, mut roots) = (None, None);
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match decode(key).as_str() {
                "sslmode" => {
                    let value = decode(value);
                    mode = Some(match value.as_str() {
                        "disable" => SslMode::Disable,
                        "prefer" => SslMode::Prefer,
                        "require" => SslMode::Require,
                        "verify-ca" => SslMode::VerifyCa,
                        "verify-full" => SslMode::VerifyFull,
                        _ => {
                            return Err(format!(
                                "sslmode={value} is not one careerbot knows: disable, prefer \
                                 (the default), require, verify-ca or verify-full"
                            ))
                        }
                    });
                }
                "sslrootcert" => {
                    let value = decode(value);
                    roots = Some(match value.as_str() {
                        "" => return Err("sslrootcert is empty: give a PEM file or system".into()),
                        "system" => RootCerts::System,
                        _ => RootCerts::File(PathBuf::from(value)),
                    });
                }
                _ => kept.push(pair),
            }
        }
        // As in libpq: require with a root file checks the chain; the system's roots are
        // for checking names, so they ask for verify-full and refuse anything weaker.
        // verify-ca takes any name, so it needs roots of the admin's own choosing: with the
        // system's, any certificate a public CA made out to anyone would pass.
        let mode = match (mode, &roots) {
            (None | Some(SslMode::Prefer | SslMode::Require), Some(RootCerts::File(_))) => {
                SslMode::VerifyCa
            }
            (None | Some(SslMode::VerifyFull), Some(RootCerts::System)) => SslMode::VerifyFull,
            (Some(_), Some(RootCerts::System)) => {
                return Err(
                    "sslrootcert=system needs sslmode=verify-full (or no sslmode)".to_owned(),
                )
            }
            (Some(SslMode::VerifyCa), None) => {
                return Err(
                    "sslmode=verify-ca needs sslrootcert=FILE, the root certificate(s) \
                     to trust (verify-full checks against the system's roots)"
                        .to_owned(),
                )
            }
            (Some(mode), _) => mode,
            (None, _) => SslMode::Prefer,
        };
        let client = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok((client, mode, roots.unwrap_or(RootCerts::System)))
    }

    /// The client settings it stands for; the password from `PGPASSWORD` when the URL has
    /// none.
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config: tokio_postgres::Config = self.client.parse().expect("checked when parsed");
        config.ssl_mode(self.ssl_mode.for_client());
        if config.get_password().is_none() {
            if let Some(password) = std::env::var_os("PGPASSWORD") {
                config.password(password.as_encoded_bytes());
            }
        }
        config
    }

    /// How the connection is encrypted and checked.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl_mode
    }

    /// The roots a verified connection trusts.
    pub fn root_certs(&self) -> &RootCerts {
        &self.roots
    }
}

#[cfg(test)]
impl PostgresUrl {
    /// The URL as given, password and all.
    pub fn as_str(&self) -> &str {
        &self.url
    }
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PostgresUrl({})", self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Loads `file_text` (when given) as a config file, with `env` as the environment.
    fn load(file_text: Option<&str>, env: &[(&str, &str)]) -> (anyhow::Result<Settings>, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("careerbot.toml");
        if let Some(text) = file_text {
            std::fs::write(&file, text).unwrap();
        }
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let loaded = Settings::from_layers(file_text.map(|_| file.as_path()), env);
        (loaded, file)
    }

    /// The problems of a load that must fail, as (key, source).
    fn problems(file_text: Option<&str>, env: &[(&str, &str)]) -> (Vec<(String, Source)>, String) {
        let (loaded, _) = load(file_text, env);
        let error = loaded.unwrap_err();
        let shown = format!("{error:#}");
        let invalid = error.downcast::<Invalid>().unwrap();
        let keys = invalid.0.into_iter().map(|p| (p.key, p.source)).collect();
        (keys, shown)
    }

    #[test]
    fn a_process_runs_the_guilds_of_its_shards_by_discord_s_formula() {
        let plan = ShardPlan {
            first: 1,
            end: 3,
            total: 4,
        };
        let on = |shard: u64| (7 << 24 | shard) << 22;
        assert!(!plan.runs_guild(on(0)));
        assert!(plan.runs_guild(on(1)) && plan.runs_guild(on(2)));
        assert!(!plan.runs_guild(on(3)));
        assert!(ShardPlan::SINGLE.runs_guild(u64::MAX));
    }

    #[test]
    fn the_database_is_a_file_or_a_postgres_url_and_its_password_never_shows() {
        let database = |value: &str| {
            load(None, &[("CAREERBOT_ADMIN__DATABASE", value)])
                .0
                .map(|s| s.admin.database)
        };
        assert_eq!(
            database("data/x.sqlite3").unwrap(),
            Some(Database::file("data/x.sqlite3"))
        );
        assert_eq!(database("").unwrap(), None);
        let Some(Database::Postgres(url)) =
            database("postgres://bot:hunter2@db.internal:5433/careerbot").unwrap()
        else {
            panic!("not a PostgreSQL URL")
        };
        let Some(Database::Postgres(in_query)) =
            database("postgres://bot@db.internal/careerbot?password=hunter2&application_name=x")
                .unwrap()
        else {
            panic!("not a PostgreSQL URL")
        };
        assert!(!in_query.to_string().contains("hunter2"), "{in_query}");
        assert!(
            in_query.to_string().contains("application_name=x"),
            "{in_query}"
        );
        for shown in [url.to_string(), format!("{url:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(
                shown.contains("bot:****@db.internal:5433/careerbot"),
                "{shown}"
            );
        }
        assert_eq!(url.config().get_password(), Some(&b"hunter2"[..]));
        for (bad, says) in [
            ("postgres://bot:hunter2@db.internal", "names no database"),
            ("postgresql://bot:hunter2@/careerbot", "names no host"),
            (
                "mysql://bot:hunter2@db/careerbot",
                "a mysql:// URL is not a database",
            ),
            (
                "postgres://bot:hunter2@db/x?sslmode=bogus",
                "sslmode=bogus is not one careerbot knows",
            ),
            ("postgres://bot:hunter2@db/x?sslmode=allow", "sslmode=allow"),
            (
                "postgres://bot:hunter2@db/x?sslmode=verify-full&sslrootcert=/nowhere/root.pem",
                "sslrootcert /nowhere/root.pem: cannot read",
            ),
            (
                "postgres://bot:hunter2@db/x?sslrootcert=",
                "sslrootcert is empty",
            ),
            (
                "postgres://bot:hunter2@db/x?sslcrl=x",
                "not a PostgreSQL URL",
            ),
        ] {
            let error = format!("{:#}", database(bad).unwrap_err());
            assert!(error.contains(says), "{bad}: {error}");
            assert!(!error.contains("hunter2"), "{bad}: {error}");
        }
    }

    #[test]
    fn libpq_s_tls_parameters_are_read_and_kept_from_tokio_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let url = |query: &str| PostgresUrl::parse(&format!("postgres://bot@db/x{query}"));
        let mode = |query: &str| url(query).map(|url| url.ssl_mode());
        assert_eq!(mode(""), Ok(SslMode::Prefer));
        assert_eq!(mode("?sslmode=disable"), Ok(SslMode::Disable));
        assert_eq!(mode("?sslmode=require"), Ok(SslMode::Require));
        assert_eq!(
            mode("?application_name=x&sslmode=verify-full"),
            Ok(SslMode::VerifyFull)
        );
        assert_eq!(mode("?sslmode=verify%2Dfull"), Ok(SslMode::VerifyFull));
        // As in libpq, the system's roots are for checking names.
        assert_eq!(mode("?sslrootcert=system"), Ok(SslMode::VerifyFull));
        let weaker = mode("?sslmode=require&sslrootcert=system").unwrap_err();
        assert!(weaker.contains("needs sslmode=verify-full"), "{weaker}");
        let verified = url("?sslmode=verify-full&sslrootcert=system&connect_timeout=3").unwrap();
        assert_eq!(verified.root_certs(), &RootCerts::System);
        // What tokio-postgres is given: its own parameters, and TLS required.
        let config = verified.config();
        assert_eq!(
            config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert_eq!(
            url("?sslmode=disable").unwrap().config().get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
        // verify-ca takes any name: only with roots the admin chose.
        let any_name = mode("?sslmode=verify-ca").unwrap_err();
        assert!(any_name.contains("needs sslrootcert=FILE"), "{any_name}");
        // A password may hold `?` (the credentials run to the first `@`).
        let odd = PostgresUrl::parse("postgres://bot:x?y@db/app?sslmode=require").unwrap();
        assert_eq!(odd.ssl_mode(), SslMode::Require);
        assert_eq!(odd.config().get_password(), Some(&b"x?y"[..]));
        assert_eq!(odd.config().get_dbname(), Some("app"));
        let odd = PostgresUrl::parse("postgres://bot:x?y@db/app?sslmode=verify-full").unwrap();
        assert_eq!(odd.ssl_mode(), SslMode::VerifyFull);
        assert_eq!(
            odd.to_string(),
            "postgres://bot:****@db/app?sslmode=verify-full"
        );
        let odd = PostgresUrl::parse("postgres://bot@db/app?user=bot&pass%77ord=x%3Fy").unwrap();
        assert_eq!(
            odd.to_string(),
            "postgres://bot@db/app?user=bot&pass%77ord=****"
        );
        let no_certificate = format!("?sslrootcert={}", empty.display());
        let error = url(&no_certificate).unwrap_err();
        assert!(error.contains("holds no PEM certificate"), "{error}");
    }

    #[test]
    fn the_defaults_are_the_shipped_file_checked() {
        let settings = Settings::defaults();
        let shipped: RawSettings = toml_edit::de::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(settings.matcher, shipped.matcher);
        assert_eq!(settings.matcher.svm_c, 2.0);
        assert_eq!(settings.intents_dir, PathBuf::from("intents"));
        let discord = &settings.discord;
        assert_eq!(discord.api_base.as_str(), "https://discord.com/");
        assert!(!discord.through_proxy());
        assert!(discord.answer_channels.is_empty());
        assert_eq!((discord.dev_guild, discord.admin_channel), (None, None));
        assert_eq!(discord.cooldown_window, Duration::from_secs(30));
        let admin = &settings.admin;
        assert_eq!(admin.watch_debounce, Duration::from_millis(300));
        assert_eq!(
            admin.database,
            Some(Database::File(PathBuf::from("data/careerbot.sqlite3")))
        );
        assert_eq!(admin.retention, Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(admin.reload_gate.cases, None);
    }

    #[test]
    fn every_bad_key_is_reported_at_once_with_where_it_was_set() {
        let file = "colour = \"red\"\nintents_dir = 7\n\
                    [matcher]\nfallback_below = 2\naggressiveness = 0\n\
                    [discord]\napi_base = \"ftp://example.com\"\nanswer_channels = [5, 0]\n\
                    dev_guild = -1\n\
                    [admin]\ngroup_similarity = 85\n";
        let env = [
            ("CAREERBOT_MATCHER__SUGGEST_ABOVE", "high"),
            ("CAREERBOT_DISCORD__MAX_CONCURRENT_REPLIES", "0"),
            ("CAREERBOT_ADMIN__WATCHH", "true"),
            ("CAREERBOT_ADMIN__WATCH_DEBOUNCE_MS", "0"),
            ("CAREERBOT_ADMIN__UNANSWERED_BELOW", "0.5"),
            ("OTHER_VARIABLE", "ignored"),
        ];
        let (keys, shown) = problems(Some(file), &env);
        let at = |line: usize, column: usize| Source::File {
            path: PathBuf::from("careerbot.toml"),
            line,
            column,
        };
        let from = |name: &str| Source::Env(name.to_owned());
        let expected = [
            ("admin.group_similarity", at(11, 20)),
            (
                "admin.watch_debounce_ms",
                from("CAREERBOT_ADMIN__WATCH_DEBOUNCE_MS"),
            ),
            ("admin.watchh", from("CAREERBOT_ADMIN__WATCHH")),
            ("colour", at(1, 10)),
            ("discord.answer_channels", at(8, 19)),
            ("discord.api_base", at(7, 12)),
            ("discord.dev_guild", at(9, 13)),
            (
                "discord.max_concurrent_replies",
                from("CAREERBOT_DISCORD__MAX_CONCURRENT_REPLIES"),
            ),
            ("intents_dir", at(2, 15)),
            ("matcher.fallback_below", at(4, 18)),
            (
                "matcher.suggest_above",
                from("CAREERBOT_MATCHER__SUGGEST_ABOVE"),
            ),
            ("matcher.svm_c", at(5, 18)),
        ];
        let expected: Vec<(String, Source)> = expected
            .into_iter()
            .map(|(key, source)| (key.to_owned(), source))
            .collect();
        // The file is in a temporary directory: compare its name.
        let keys: Vec<(String, Source)> = keys
            .into_iter()
            .map(|(key, source)| match source {
                Source::File { path, line, column } => {
                    let path = path.file_name().unwrap().into();
                    (key, Source::File { path, line, column })
                }
                other => (key, other),
            })
            .collect();
        assert_eq!(keys, expected, "{shown}");
        for line in [
            "\n/",
            "careerbot.toml:4:18: matcher.fallback_below = 2: must be a number from 0 to 1\n",
            "careerbot.toml:9:13: discord.dev_guild = -1: must be a whole number, at least 0\n",
            "\nenvironment variable CAREERBOT_MATCHER__SUGGEST_ABOVE: \
             matcher.suggest_above = \"high\": expected a number\n",
            "careerbot.toml:7:12: discord.api_base = \"ftp://example.com\": must be an http(s)",
            "careerbot.toml:1:10: colour: unknown setting\n",
        ] {
            assert!(shown.contains(line), "missing {line:?} in\n{shown}");
        }
    }

    /// The one problem of loading `value` for `key` from a file, then from the environment,
    /// each as (key, place, message); the place is `file:line:col` (file name only) or the
    /// variable.
    fn refusals(key: &str, value: &str) -> [(String, String, String); 2] {
        let (section, name) = key.rsplit_once('.').unwrap_or(("", key));
        let file = format!("[{section}]\n\n{name} = {value}\n");
        let variable = format!("CAREERBOT_{}", key.to_uppercase().replace('.', "__"));
        [
            load(Some(&file), &[]).0,
            load(None, &[(&variable, value)]).0,
        ]
        .map(|loaded| {
            let error = loaded.expect_err(&format!("{key} = {value} was accepted"));
            let Invalid(problems) = error.downcast::<Invalid>().unwrap();
            let [problem] = <[Problem; 1]>::try_from(problems).unwrap();
            let place = match problem.source {
                Source::File { path, line, column } => format!(
                    "{}:{line}:{column}",
                    path.file_name().unwrap().to_string_lossy()
                ),
                other => other.to_string(),
            };
            (problem.key, place, problem.message)
        })
    }

    #[test]
    fn a_number_out_of_its_range_is_refused_from_a_file_and_the_environment() {
        for (key, value, message) in [
            (
                "matcher.epochs",
                "1e30",
                "must be a whole number from 1 to 100",
            ),
            (
                "matcher.epochs",
                "4000000000",
                "must be a whole number from 1 to 100",
            ),
            (
                "matcher.epochs",
                "0",
                "must be a whole number from 1 to 100",
            ),
            (
                "matcher.epochs",
                "6.5",
                "must be a whole number from 1 to 100",
            ),
            (
                "discord.max_concurrent_replies",
                "1.9",
                "must be a whole number from 1 to 10000",
            ),
            (
                "matcher.clarify_margin",
                "-5",
                "must be a number from 0 to 1",
            ),
            (
                "matcher.corrected_word_known",
                "5",
                "must be a number from 0 to 1",
            ),
            (
                "matcher.intent_coverage_share",
                "-3",
                "must be a number from 0 to 1",
            ),
            (
                "matcher.unknown_word_exponent",
                "-10",
                "must be a number from 0 to 10",
            ),
            (
                "matcher.keyword_weight",
                "1e308",
                "must be a number from 0 to 10",
            ),
            (
                "matcher.confidence_slope",
                "inf",
                "must be a number from 0.01 to 100",
            ),
            (
                "matcher.confidence_slope",
                "nan",
                "must be a number from 0.01 to 100",
            ),
            (
                "matcher.confidence_slope",
                "0",
                "must be a number from 0.01 to 100",
            ),
            (
                "matcher.svm_c",
                "-inf",
                "must be a number from 0.001 to 1000",
            ),
            // Too large for the u32 it becomes: once an error without its source.
            (
                "admin.retention_days",
                "4294967296",
                "must be a whole number from 0 to 36500",
            ),
        ] {
            // `refusals` writes the key on line 3 of the file: `name = value`.
            let name = key.rsplit('.').next().unwrap();
            let in_file = format!("careerbot.toml:3:{}", name.len() + 4);
            let variable = key.to_uppercase().replace('.', "__");
            let in_env = format!("environment variable CAREERBOT_{variable}");
            let expected =
                [in_file, in_env].map(|place| (key.to_owned(), place, message.to_owned()));
            assert_eq!(refusals(key, value), expected, "{key} = {value}");
        }
    }

    #[test]
    fn both_ends_of_every_range_load() {
        for (key, range) in ranges::RANGES {
            let ends = match *range {
                ranges::Range::Whole(low, high) => [low.to_string(), high.to_string()],
                ranges::Range::Number(low, high) => [format!("{low:?}"), format!("{high:?}")],
            };
            for end in ends {
                let value = if key.ends_with("_channels") {
                    format!("[{end}]")
                } else {
                    end
                };
                let (loaded, _) = load(Some(&format!("{key} = {value}\n")), &[]);
                if let Err(error) = loaded {
                    panic!("{key} = {value}: {error:#}");
                }
            }
        }
    }

    #[test]
    fn zero_and_empty_say_none_and_lists_come_comma_separated() {
        let file = "[discord]\ndev_guild = 0\nadmin_channel = 42\nanswer_channels = [7]\n\
                    [admin]\ndatabase = \"\"\nretention_days = 0\n\
                    [admin.reload_gate]\ncases = \"gate.jsonl\"\n";
        let (settings, _) = load(Some(file), &[]);
        let settings = settings.unwrap();
        assert_eq!(settings.discord.dev_guild, None);
        assert_eq!(settings.discord.admin_channel, Some(ChannelId::new(42)));
        assert_eq!(settings.discord.answer_channels, [ChannelId::new(7)]);
        assert_eq!(settings.admin.database, None);
        assert_eq!(settings.admin.retention, None);
        assert_eq!(
            settings.admin.reload_gate.cases,
            Some(PathBuf::from("gate.jsonl"))
        );
        for (text, channels) in [("", vec![]), ("1, 22,333", vec![1, 22, 333])] {
            let env = [("CAREERBOT_DISCORD__ANSWER_CHANNELS", text)];
            let (settings, _) = load(Some(file), &env);
            let expected: Vec<ChannelId> = channels.into_iter().map(ChannelId::new).collect();
            assert_eq!(
                settings.unwrap().discord.answer_channels,
                expected,
                "{text:?}"
            );
        }
        let env = [("CAREERBOT_DISCORD__ANSWER_CHANNELS", "1,0")];
        let (keys, _) = problems(None, &env);
        assert_eq!(keys[0].0, "discord.answer_channels");
    }

    #[test]
    fn shard_ranges_are_half_open_parts_of_a_total() {
        assert_eq!(parse_shard_range(" 2..5 "), Ok((2, 5)));
        for bad in ["5..2", "1..1", "1", "a..b", "-1..2", "1..=2"] {
            assert!(parse_shard_range(bad).is_err(), "{bad}");
        }
        let total = NonZeroU32::new(4);
        let part = Sharding::new(Some((1, 3)), total).unwrap();
        assert_eq!(part.plan(9).to_string(), "1..3 of 4");
        assert_eq!(part.plan(9).count(), 2);
        assert_eq!(
            Sharding::new(None, total).unwrap().plan(9).to_string(),
            "0..4 of 4"
        );
        assert_eq!(Sharding::default().plan(3).to_string(), "0..3 of 3");
        assert!(Sharding::new(Some((0, 1)), None).is_err());
        assert!(Sharding::new(Some((3, 5)), total).is_err());
        let file = "[discord]\nshards = \"0..2\"\ntotal_shards = 3\n";
        let sharding = load(Some(file), &[]).0.unwrap().discord.sharding;
        assert_eq!(
            sharding.plan(1),
            ShardPlan {
                first: 0,
                end: 2,
                total: 3
            }
        );
        let env = [("CAREERBOT_DISCORD__SHARDS", "2..3")];
        let sharding = load(Some(file), &env).0.unwrap().discord.sharding;
        assert_eq!(sharding.plan(1).to_string(), "2..3 of 3");
        let (keys, _) = problems(Some("[discord]\nshards = \"0..2\"\n"), &[]);
        assert_eq!(keys[0].0, "discord.shards");
    }

    #[test]
    fn forums_come_from_the_file_or_the_environment_and_a_tag_name_is_discord_s_length() {
        let file = "[discord]\nforum_channels = [9]\nsolved_tag = \" Solved \"\n";
        let discord = load(Some(file), &[]).0.unwrap().discord;
        assert_eq!(discord.forum_channels, [ChannelId::new(9)]);
        assert_eq!(discord.solved_tag.as_deref(), Some("Solved"));
        assert!(!discord.reply_in_thread);
        let env = [
            ("CAREERBOT_DISCORD__FORUM_CHANNELS", "4, 5"),
            ("CAREERBOT_DISCORD__SOLVED_TAG", ""),
            ("CAREERBOT_DISCORD__REPLY_IN_THREAD", "true"),
        ];
        let discord = load(Some(file), &env).0.unwrap().discord;
        assert_eq!(
            discord.forum_channels,
            [ChannelId::new(4), ChannelId::new(5)]
        );
        assert_eq!(discord.solved_tag, None);
        assert!(discord.reply_in_thread);
        for (key, value) in [
            ("forum_channels", "[0]"),
            ("solved_tag", "\"twenty-one characters\""),
        ] {
            let file = format!("[discord]\n{key} = {value}\n");
            let (keys, _) = problems(Some(&file), &[]);
            assert_eq!(keys[0].0, format!("discord.{key}"), "{file}");
        }
    }

    #[test]
    fn api_base_is_checked_when_the_settings_load() {
        for (url, good) in [
            ("https://discord.com", true),
            ("http://127.0.0.1:9", true),
            ("https://proxy.example/discord/", true),
            ("ftp://discord.com", false),
            ("discord.com", false),
            ("http://", false),
            ("unix:/run/discord.sock", false),
            ("", false),
        ] {
            let (loaded, _) = load(None, &[("CAREERBOT_DISCORD__API_BASE", url)]);
            match loaded {
                Ok(settings) => {
                    assert!(good, "{url:?} was accepted");
                    let proxy = settings.discord.through_proxy();
                    assert_eq!(proxy, url != "https://discord.com", "{url:?}");
                }
                Err(error) => {
                    assert!(!good, "{url:?}: {error:#}");
                    let shown = format!("{error:#}");
                    assert!(
                        shown.contains("discord.api_base")
                            && shown.contains("CAREERBOT_DISCORD__API_BASE"),
                        "{shown}"
                    );
                }
            }
        }
    }

    #[test]
    fn layers_override_in_order_and_the_old_name_still_works() {
        let file = "[matcher]\nfallback_below = 0.9\naggressiveness = 1\n";
        let (settings, _) = load(Some(file), &[]);
        let settings = settings.unwrap();
        assert_eq!(settings.matcher.fallback_below, 0.9);
        assert_eq!(settings.matcher.svm_c, 1.0);
        let env = [
            ("CAREERBOT_MATCHER__FALLBACK_BELOW", "0.2"),
            ("CAREERBOT_ADMIN__WATCH", "FALSE"),
            ("CAREERBOT_INTENTS_DIR", "elsewhere"),
        ];
        let (settings, _) = load(Some(file), &env);
        let settings = settings.unwrap();
        assert_eq!(settings.matcher.fallback_below, 0.2);
        assert!(!settings.admin.watch);
        assert_eq!(settings.intents_dir, PathBuf::from("elsewhere"));
    }

    #[test]
    fn the_dashboard_settings_are_checked_where_they_are_written() {
        let (loaded, _) = load(
            Some("[web]\nlisten = \"127.0.0.1:8787\"\npublic_url = \"https://dash.example.com\"\n"),
            &[],
        );
        let web = loaded.unwrap().web;
        assert_eq!(web.listen, Some("127.0.0.1:8787".parse().unwrap()));
        assert_eq!(
            web.base_url().unwrap().as_str(),
            "https://dash.example.com/"
        );
        assert_eq!(web.session, Duration::from_secs(12 * 3600));
        assert_eq!(Settings::defaults().web.listen, None);

        let text = "[web]\nlisten = \"localhost\"\npublic_url = \"https://x.example.com/admin\"\nsession_hours = 0\nclient_secret = \"s3cr3t\"\n";
        let (found, shown) = problems(Some(text), &[]);
        let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
        for key in ["web.listen", "web.public_url", "web.session_hours"] {
            assert!(keys.contains(&key), "{key}: {shown}");
        }
        // A line and column for each, as for every setting from a file.
        assert!(shown.contains(":2:"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn a_missing_or_broken_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.toml");
        let error = format!("{:#}", Settings::load(Some(&missing)).unwrap_err());
        assert!(error.contains("missing.toml"), "{error}");
        let (loaded, file) = load(Some("[matcher\n"), &[]);
        let error = format!("{:#}", loaded.unwrap_err());
        assert!(error.contains(&file.display().to_string()), "{error}");
    }

    #[test]
    fn a_token_in_a_config_file_is_refused_and_never_shown() {
        for text in [
            "[discord]\ntoken = \"abc.def.ghi\"\n",
            "discord = { token = \"abc.def.ghi\" }\n",
            "[discord]\ntokens = \"abc.def.ghi\"\n",
        ] {
            let (loaded, _) = load(Some(text), &[]);
            let error = format!("{:#}", loaded.unwrap_err());
            assert!(!error.contains("abc.def.ghi"), "{error}");
            assert!(
                error.contains("DISCORD_TOKEN") || error.contains("unknown setting"),
                "{error}"
            );
        }
        let (loaded, _) = load(None, &[(TOKEN_OVERRIDE, "abc.def.ghi")]);
        let mut discord = loaded.unwrap().discord;
        assert_eq!(discord.token, Some(Secret::new("abc.def.ghi")));
        assert!(!format!("{discord:?}").contains("abc"));
        discord.token = Some(Secret::new("xyz"));
        assert!(!format!("{discord:?}").contains("xyz"));
    }
}
