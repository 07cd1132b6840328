//! The store of questions and feedback votes (and of servers' settings and the audit log of
//! admins' changes), and the [`Writer`] that fills it.
//!
//! Two backends behind one interface ([`Store`]): an SQLite file ([`sqlite`], the embedded
//! default) or a PostgreSQL database ([`postgres`]) that every process of a sharded bot
//! shares. Both have the same tables and their own versioned migrations; a database newer
//! than this code is refused.
//!
//! Privacy by design: a record holds what was asked and how the bot answered, never who
//! asked (no user ids or names). The one exception is the audit log
//! ([`crate::admin::audit`]): it keeps the admin's name and Discord id for each change that
//! admin made; a member's id is never stored. Writes go through a dedicated thread in batches, so the
//! bot never waits for the database; while the database is away, records wait in a bounded
//! buffer and what overflows it is counted and logged.

pub mod copy;
mod postgres;
mod sqlite;
mod tls;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;
use sha1::{Digest, Sha1};
use tracing::{debug, error, warn};

pub use self::postgres::{IntentFiles, PgStore, Publication, Published};
pub use self::sqlite::{sidecar, SqliteStore, APPLICATION_ID};
use crate::admin::audit::AuditEntry;
use crate::admin::guilds::{GuildSettings, StoredGuild};
use crate::admin::report::{Day, Helpfulness, IntentCount};
pub use crate::config::Database;
use crate::engine::matcher::Decision;

/// One question the bot was asked, and what it did with it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionRecord {
    /// The bot's question number (unique; also inside the vote buttons).
    pub id: u64,
    /// When it was asked, in unix milliseconds.
    pub at_ms: i64,
    pub guild: Option<u64>,
    /// The server channel; never a DM's (see [`crate::bot`]'s `Asked`).
    pub channel: Option<u64>,
    pub source: Source,
    /// The normalized question text.
    pub text: String,
    pub decision: Outcome,
    /// The best candidate's intent id (also for a fallback or clarification, when any).
    pub intent: Option<String>,
    pub confidence: f32,
    /// Candidate intent ids, best first (at most 3).
    pub candidates: Vec<String>,
    /// The version of the intent set that answered: the crate's version and the digest of
    /// its files.
    pub engine_version: String,
    /// The published version (PostgreSQL) of the intent set that answered; `None` for a
    /// set read from a local directory.
    pub intent_version: Option<u32>,
}

/// How a question reached the bot; stored as the text of [`Source::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A message mentioning the bot (or its own role).
    Mention,
    /// A direct message.
    Dm,
    /// A message in one of `answer_channels`, addressed to nobody.
    Channel,
    /// A new post in one of `forum_channels`: its title and first message.
    Forum,
    /// A message addressed to nobody in a thread the bot follows: a forum post it watches,
    /// or a thread it started for an answer (`reply_in_thread`).
    Thread,
    /// `/ask`.
    Slash,
    /// A button or menu that answers a topic.
    Button,
}

/// What the bot did with a question; stored as the text of [`Outcome::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Answer,
    Clarify,
    Fallback,
    /// A decline intent answered: the question is out of scope, said so on purpose, so it
    /// is no gap of the knowledge base and never in the unanswered queue.
    Decline,
    /// A message nobody addressed to the bot, left alone as not sure enough: counted, and
    /// stored only for a forum post (which then joins the unanswered queue).
    Unconfident,
}

/// The text each variant is stored as, and back: one table per enum, so the two
/// directions cannot drift apart.
macro_rules! stored_as_text {
    ($type:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            /// The text stored in the database.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $type {
            type Err = String;

            fn from_str(text: &str) -> Result<$type, String> {
                match text {
                    $($text => Ok($type::$variant),)+
                    other => Err(format!(
                        "{other:?} is not a stored {}",
                        stringify!($type).to_lowercase()
                    )),
                }
            }
        }

        impl ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl FromSql for $type {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<$type> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e: String| FromSqlError::Other(e.into()))
            }
        }
    };
}

impl Source {
    /// Nobody addressed the bot: it speaks up only when sure, and never mentions the
    /// cooldown.
    pub fn is_unprompted(self) -> bool {
        matches!(self, Source::Channel | Source::Forum | Source::Thread)
    }
}

stored_as_text!(Source {
    Mention => "mention",
    Dm => "dm",
    Channel => "channel",
    Forum => "forum",
    Thread => "thread",
    Slash => "slash",
    Button => "button",
});

stored_as_text!(Outcome {
    Answer => "answer",
    Clarify => "clarify",
    Fallback => "fallback",
    Decline => "decline",
    Unconfident => "unconfident",
});

impl From<Decision> for Outcome {
    fn from(decision: Decision) -> Outcome {
        match decision {
            Decision::Answer => Outcome::Answer,
            Decision::Clarify => Outcome::Clarify,
            Decision::Fallback => Outcome::Fallback,
            Decision::Decline => Outcome::Decline,
        }
    }
}

/// A 👍 (`up`) or 👎 on the answer to question `question`, which was `intent`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteRecord {
    /// The vote's own number (from the same counter as question numbers), so a vote
    /// replayed or copied is stored once.
    pub id: u64,
    /// When it was cast, in unix milliseconds.
    pub at_ms: i64,
    pub question: u64,
    pub intent: String,
    pub up: bool,
}

/// A database a read-only open refused as older than this careerbot's schema: `careerbot
/// run` (or any open for writing) upgrades it.
#[derive(Debug, thiserror::Error)]
#[error(
    "{database} is at schema version {found}, older than this careerbot's {current} ({})",
    if *.found == 0 { "an empty database" } else { "`careerbot run` has not upgraded it yet" }
)]
pub struct OlderSchema {
    pub database: String,
    pub found: usize,
    pub current: usize,
}

/// A stored question with its triage state.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredQuestion {
    pub record: QuestionRecord,
    /// The intent it was filed under, or "ignore"; `None` while it is unresolved.
    pub resolved: Option<String>,
    pub resolved_at_ms: Option<i64>,
}

/// Anything the bot stores.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Question(QuestionRecord),
    Vote(VoteRecord),
    /// A change an admin made; numbered by the store when its `id` is 0.
    Audit(AuditEntry),
}

/// An open store: an SQLite file or a PostgreSQL database. Every call blocks (on the
/// file, or on the server): in async code, call it from `spawn_blocking`.
#[derive(Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Calls the same method on whichever backend `$store` is.
macro_rules! on_backend {
    ($store:expr, $backend:ident => $call:expr) => {
        match $store {
            Store::Sqlite($backend) => $call,
            Store::Postgres($backend) => $call,
        }
    };
}

impl Store {
    /// Opens `database` for reading and writing, creating and migrating it as needed (an
    /// SQLite file and its directory; a PostgreSQL database's tables). A database that is
    /// not careerbot's is refused before anything is written to it.
    pub fn open(database: &Database) -> anyhow::Result<Store> {
        Ok(match database {
            Database::File(path) => Store::Sqlite(SqliteStore::open(path)?),
            Database::Postgres(url) => Store::Postgres(PgStore::open(url)?),
        })
    }

    /// Opens an existing database for reading only (reports): never creates, migrates or
    /// writes anything.
    pub fn open_read_only(database: &Database) -> anyhow::Result<Store> {
        Ok(match database {
            Database::File(path) => Store::Sqlite(SqliteStore::open_read_only(path)?),
            Database::Postgres(url) => Store::Postgres(PgStore::open_read_only(url)?),
        })
    }

    /// What to call the store in messages: the file's path, or the server's URL without
    /// its password.
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(store) => store.path().display().to_string(),
            Store::Postgres(store) => store.url().to_string(),
        }
    }

    /// A way to open this store again from another thread (see [`Connector`]).
    pub fn connector(&self) -> Connector {
        match self {
            Store::Sqlite(store) => Connector::Sqlite(store.path().to_owned()),
            Store::Postgres(store) => Connector::Postgres(store.clone()),
        }
    }

    /// Writes `records` in one transaction. A question, vote or audit entry already stored
    /// (same number) is left as it is, so replaying a batch cannot fail or count twice.
    pub fn write(&mut self, records: &[Record]) -> anyhow::Result<()> {
        on_backend!(self, store => store.write(records))
    }

    /// Deletes questions and votes older than `cutoff_ms`; returns how many rows went.
    /// The audit log is kept: it is the record of what admins did, not of who asked.
    pub fn delete_older_than(&mut self, cutoff_ms: i64) -> anyhow::Result<usize> {
        on_backend!(self, store => store.delete_older_than(cutoff_ms))
    }

    /// Questions asked at or after `since_ms`, oldest first.
    pub fn questions_since(&self, since_ms: i64) -> anyhow::Result<Vec<QuestionRecord>> {
        on_backend!(self, store => store.questions_since(since_ms))
    }

    /// Votes cast at or after `since_ms`, oldest first.
    pub fn votes_since(&self, since_ms: i64) -> anyhow::Result<Vec<VoteRecord>> {
        on_backend!(self, store => store.votes_since(since_ms))
    }

    /// The unanswered queue, newest first: questions since `since_ms` that fell back, or
    /// were answered or clarified with a confidence below `below`, and are not resolved.
    /// Forum posts the bot left alone ("unconfident" with source "forum") are in it too;
    /// declines (out of scope on purpose) never are.
    pub fn unanswered(
        &self,
        since_ms: i64,
        below: f32,
        limit: usize,
    ) -> anyhow::Result<Vec<QuestionRecord>> {
        self.unanswered_between(since_ms, i64::MAX, below, limit, &Servers::All)
    }

    /// [`Store::unanswered`] for questions asked in `[since_ms, until_ms)` in `servers`.
    pub fn unanswered_between(
        &self,
        since_ms: i64,
        until_ms: i64,
        below: f32,
        limit: usize,
        servers: &Servers,
    ) -> anyhow::Result<Vec<QuestionRecord>> {
        on_backend!(self, store => store.unanswered_between(since_ms, until_ms, below, limit, servers))
    }

    /// Marks questions resolved, so they leave the unanswered queue. `action` is the intent
    /// they were filed under, or "ignore". Returns how many of `ids` were found.
    pub fn resolve(&mut self, ids: &[u64], action: &str, at_ms: i64) -> anyhow::Result<usize> {
        anyhow::ensure!(!action.trim().is_empty(), "a resolution needs an action");
        // Each question once, so both backends count alike.
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        on_backend!(self, store => store.resolve(&ids, action, at_ms))
    }

    /// Up to `limit` questions with their triage state, by number, after `after` (from
    /// the first when `None`): for copying a store.
    pub fn questions_page(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<StoredQuestion>> {
        on_backend!(self, store => store.questions_page(after, limit))
    }

    /// Up to `limit` votes, by number, after `after` (from the first when `None`).
    pub fn votes_page(&self, after: Option<u64>, limit: usize) -> anyhow::Result<Vec<VoteRecord>> {
        on_backend!(self, store => store.votes_page(after, limit))
    }

    /// Rows the pages leave out, as a text of theirs is not valid UTF-8 (only SQLite can
    /// hold such): how many, and the numbers of the first `named` questions among them.
    pub fn unreadable(&self, named: usize) -> anyhow::Result<(u64, Vec<u64>)> {
        on_backend!(self, store => store.unreadable(named))
    }

    /// How many of these question and vote numbers are stored.
    pub fn present(&self, questions: &[u64], votes: &[u64]) -> anyhow::Result<(usize, usize)> {
        on_backend!(self, store => store.present(questions, votes))
    }

    /// Sets the triage state (intent or "ignore", and when) of the questions numbered that
    /// have none yet; returns how many changed.
    pub fn carry_resolutions(&mut self, resolved: &[(u64, String, i64)]) -> anyhow::Result<usize> {
        on_backend!(self, store => store.carry_resolutions(resolved))
    }

    /// How many (questions, votes) the database holds.
    pub fn counts(&self) -> anyhow::Result<(u64, u64)> {
        on_backend!(self, store => store.counts())
    }

    /// The aggregate figures of `[since_ms, until_ms)` in `servers`, computed by the
    /// database: at most `top` intents, and the numbers of at most `skipped_named`
    /// unreadable questions.
    pub fn aggregates(
        &self,
        since_ms: i64,
        until_ms: i64,
        top: usize,
        skipped_named: usize,
        servers: &Servers,
    ) -> anyhow::Result<Aggregates> {
        on_backend!(self, store => store.aggregates(since_ms, until_ms, top, skipped_named, servers))
    }
}

impl Store {
    /// Every server's own settings (`/careerbot settings`), by server.
    pub fn guild_settings(&self) -> anyhow::Result<Vec<StoredGuild>> {
        let mut guilds = on_backend!(self, store => store.guild_settings())?;
        // Ids above i64::MAX are stored negative: ordered here, not by the database.
        guilds.sort_unstable_by_key(|g| g.guild);
        Ok(guilds)
    }

    /// Changes one server's settings with `edit`, atomically (two admins changing the
    /// same server at once both count); stores the result, one revision up, when it
    /// differs, and with PostgreSQL tells every process. Returns the server's settings
    /// after, and what `edit` returned.
    pub fn edit_guild_settings<T: Send>(
        &mut self,
        guild: u64,
        at_ms: i64,
        edit: impl FnOnce(&mut GuildSettings) -> T + Send,
    ) -> anyhow::Result<(StoredGuild, T)> {
        anyhow::ensure!(guild != 0, "0 is no server's id");
        on_backend!(self, store => store.edit_guild_settings(guild, at_ms, edit))
    }

    /// Stores the settings of servers that have none here yet (copying a store); returns
    /// how many.
    pub fn add_guild_settings(&mut self, guilds: &[StoredGuild]) -> anyhow::Result<usize> {
        on_backend!(self, store => store.add_guild_settings(guilds))
    }
}

impl Store {
    /// Adds `entry` to the audit log at once (its texts cut to their most, see
    /// [`AuditEntry::stored`]); returns its number. The bot sends [`Record::Audit`] through
    /// its [`Writer`] instead, so it never waits.
    pub fn record_audit(&mut self, entry: &AuditEntry) -> anyhow::Result<u64> {
        let entry = entry.stored();
        self.add_audit(std::slice::from_ref(&entry))?;
        Ok(entry.id)
    }

    /// Up to `limit` entries of the audit log, newest first, numbered below `before_id`
    /// (from the newest when `None`): the next page starts before the last entry's `id`.
    pub fn audit_log(
        &self,
        before_id: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<AuditEntry>> {
        // Numbers are below 2^63 (see `AuditEntry::stored`): as SQL integers, in order.
        let before = before_id.map_or(i64::MAX, |id| to_sql_id(id.min(i64::MAX as u64)));
        on_backend!(self, store => store.audit_log(before, limit))
    }

    /// Stores the audit entries (numbered when new) this store does not have yet, as when
    /// copying a store; returns how many.
    pub fn add_audit(&mut self, entries: &[AuditEntry]) -> anyhow::Result<usize> {
        let entries: Vec<AuditEntry> = entries.iter().map(AuditEntry::stored).collect();
        on_backend!(self, store => store.add_audit(&entries))
    }
}

/// One edit of a server's settings, the same on both backends: the row as read
/// (`settings` that cannot be read count as the defaults, logged), `edit` applied. Returns
/// the server's settings after (one revision up, changed at `at_ms`, when they differ),
/// whether they must be written, and what `edit` returned.
fn edit_stored<T>(
    guild: u64,
    settings: Result<GuildSettings, String>,
    (updated_at_ms, revision): (i64, i64),
    at_ms: i64,
    edit: impl FnOnce(&mut GuildSettings) -> T,
) -> (StoredGuild, bool, T) {
    let before = settings.unwrap_or_else(|why| {
        tracing::warn!(guild, "unreadable settings replaced by the edit: {why}");
        GuildSettings::default()
    });
    let mut after = before.clone();
    let out = edit(&mut after);
    let changed = after != before;
    let (updated_at_ms, revision) = if changed {
        (at_ms, revision + 1)
    } else {
        (updated_at_ms, revision)
    };
    let stored = StoredGuild {
        guild,
        settings: after,
        updated_at_ms,
        revision,
    };
    (stored, changed, out)
}

/// A stored server's settings, or `None` (logged) when its row cannot be read.
fn stored_guild(
    guild: u64,
    settings: Result<GuildSettings, String>,
    updated_at_ms: i64,
    revision: i64,
) -> Option<StoredGuild> {
    let settings = settings.and_then(|settings| match guild {
        0 => Err("0 is no server's id".to_owned()),
        _ => Ok(settings),
    });
    match settings {
        Ok(settings) => Some(StoredGuild {
            guild,
            settings,
            updated_at_ms,
            revision,
        }),
        Err(why) => {
            tracing::warn!(guild, "a server's stored settings are left out: {why}");
            None
        }
    }
}

/// Opens a [`Store`] again, on any thread: an SQLite file gets a connection of its own
/// each time, a PostgreSQL database shares the pool it was opened with.
#[derive(Debug, Clone)]
pub enum Connector {
    Sqlite(PathBuf),
    Postgres(PgStore),
}

impl Connector {
    /// A store to read and write; blocking.
    pub fn connect(&self) -> anyhow::Result<Store> {
        Ok(match self {
            Connector::Sqlite(path) => Store::Sqlite(SqliteStore::open(path)?),
            Connector::Postgres(store) => Store::Postgres(store.clone()),
        })
    }
}

/// What a report needs of a period, aggregated by the database.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    /// Days with questions, oldest first (UTC).
    pub per_day: Vec<Day>,
    /// Questions the bot responded to (all but "unconfident").
    pub responded: u64,
    /// The most answered intents, most first (ties by name).
    pub top_intents: Vec<IntentCount>,
    /// Per intent with votes, most votes first (ties by name).
    pub helpfulness: Vec<Helpfulness>,
    /// Rows left out because a text of theirs cannot be read (only SQLite can hold such).
    pub skipped_rows: u64,
    /// The first few such questions' numbers.
    pub skipped_questions: Vec<u64>,
}

/// Discord ids and question numbers are below 2^63 in practice; the cast is a bijection
/// anyway, so any u64 comes back unchanged (both backends store BIGINT).
/// Whose questions a read covers: every server's (and DMs'), or only these servers'
/// (the dashboard of a Discord admin).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Servers {
    #[default]
    All,
    Only(Vec<u64>),
}

impl Servers {
    /// The condition on a question's `guild`, for SQLite and PostgreSQL alike. The ids are
    /// numbers written as numbers: nothing of a user's reaches the SQL.
    fn questions_sql(&self) -> String {
        match self {
            Servers::All => "TRUE".to_owned(),
            Servers::Only(ids) if ids.is_empty() => "FALSE".to_owned(),
            Servers::Only(ids) => {
                let ids: Vec<String> = ids.iter().map(|&id| to_sql_id(id).to_string()).collect();
                format!("guild IN ({})", ids.join(", "))
            }
        }
    }

    /// The condition on a vote, by its question's server.
    fn votes_sql(&self) -> String {
        match self {
            Servers::All => "TRUE".to_owned(),
            only => format!(
                "question IN (SELECT id FROM questions WHERE {})",
                only.questions_sql()
            ),
        }
    }
}

fn to_sql_id(id: u64) -> i64 {
    id as i64
}

fn from_sql_id(id: i64) -> u64 {
    id as u64
}

/// A SQL count or sum (never negative).
fn count(n: i64) -> u64 {
    n.max(0) as u64
}

/// Where a page by number starts: from the very first number, or after `after`.
fn page_bound(after: Option<u64>) -> (i64, &'static str) {
    match after {
        None => (i64::MIN, ">="),
        Some(after) => (to_sql_id(after), ">"),
    }
}

/// The number given to a vote stored before votes had numbers (an SQLite row of schema
/// version 1, numbered when the file is upgraded): different rows, of one file or of
/// several, get different numbers, so copying several files into one database keeps them
/// all.
pub fn legacy_vote_id(rowid: i64, at_ms: i64, question: u64) -> u64 {
    let digest = Sha1::new()
        .chain_update(b"careerbot vote")
        .chain_update(rowid.to_le_bytes())
        .chain_update(at_ms.to_le_bytes())
        .chain_update(question.to_le_bytes())
        .finalize();
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    // Below 2^63, as every stored id (see `to_sql_id`).
    u64::from_le_bytes(bytes) >> 1
}

/// Unix time now, in milliseconds: the clock of every stored record.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A batch is committed at once when this many records are pending.
const BATCH_MAX: usize = 5_000;
/// While commits fail (the database is away), at most this many records are kept; the
/// oldest go first, and are counted as lost.
const PENDING_MAX: usize = 100_000;
/// Records on their way to the writer thread; while it is busy with a commit that hangs
/// (a server that does not answer), what does not fit is counted as lost, never waited for.
/// Counted rather than given to a bounded channel, which would allocate every slot up front.
const QUEUE_MAX: usize = 100_000;
/// Which records to delete, and how often.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Records older than this are deleted...
    pub keep: Duration,
    /// ...at the writer's start and then at this interval.
    pub every: Duration,
}

impl Retention {
    /// Records older than `keep` deleted at start and then every 24 hours.
    pub fn daily(keep: Duration) -> Retention {
        Retention {
            keep,
            every: Duration::from_secs(24 * 60 * 60),
        }
    }
}

enum Message {
    Record(Record),
    /// Commit everything received so far, then answer.
    Flush(mpsc::Sender<()>),
    /// Commit everything and stop.
    Close,
}

/// How long the bot lets records gather before a commit: a record reaches the database
/// within this (plus the commit), so a crash loses at most about half a second.
pub const FLUSH_EVERY: Duration = Duration::from_millis(500);

/// Writes records on a thread of its own, in batches: a record reaches the database at
/// most `flush_every` after it was sent (sooner when [`BATCH_MAX`] are pending), so a
/// crash loses at most that window. Sending never blocks.
#[derive(Debug)]
pub struct Writer {
    tx: mpsc::Sender<Message>,
    /// Records sent and not yet taken by the writer thread.
    queued: Arc<AtomicUsize>,
    closed: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
    written: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
    describe: String,
    connector: Connector,
}

impl Writer {
    /// Starts the writer thread, which owns `store`, applying `retention` if any.
    pub fn spawn(store: Store, flush_every: Duration, retention: Option<Retention>) -> Writer {
        Writer::spawn_keeping(store, flush_every, retention, PENDING_MAX)
    }

    /// [`Writer::spawn`], keeping at most `keep` records while the database is away.
    pub fn spawn_keeping(
        store: Store,
        flush_every: Duration,
        retention: Option<Retention>,
        keep: usize,
    ) -> Writer {
        let (tx, rx) = mpsc::channel();
        let queued = Arc::new(AtomicUsize::new(0));
        let written = Arc::new(AtomicU64::new(0));
        let lost = Arc::new(AtomicU64::new(0));
        let describe = store.describe();
        let connector = store.connector();
        let batcher = Batcher {
            store,
            flush_every,
            keep: keep.max(1),
            pending: VecDeque::new(),
            due: None,
            failing: false,
            dropped: 0,
            written: Arc::clone(&written),
            lost: Arc::clone(&lost),
            queued: Arc::clone(&queued),
        };
        let thread = std::thread::Builder::new()
            .name("careerbot-store".to_owned())
            .spawn(move || batcher.run(&rx, retention))
            .expect("cannot start the store writer thread");
        Writer {
            tx,
            queued,
            closed: AtomicBool::new(false),
            thread: Mutex::new(Some(thread)),
            written,
            lost,
            describe,
            connector,
        }
    }

    /// A way to open the same store from another thread (reads for reports and commands).
    pub fn connector(&self) -> Connector {
        self.connector.clone()
    }

    /// Queues a record; never blocks. After [`Writer::close`] this does nothing. A record
    /// that finds the queue full (the writer stuck on a database that does not answer) is
    /// lost, and counted.
    pub fn send(&self, record: Record) {
        if self.closed.load(Ordering::Acquire) {
            debug!("the store writer is closed; a record was not stored");
            return;
        }
        if self.queued.fetch_add(1, Ordering::AcqRel) >= QUEUE_MAX {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            if self.lost.fetch_add(1, Ordering::Relaxed) % 10_000 == 0 {
                warn!(
                    store = %self.describe,
                    lost = self.lost.load(Ordering::Relaxed),
                    "the store writer is behind; records are being lost"
                );
            }
            return;
        }
        if self.tx.send(Message::Record(record)).is_err() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            debug!("the store writer is gone; a record was not stored");
        }
    }

    /// Blocks until everything sent before this call is committed (or its commit failed,
    /// which is logged).
    pub fn flush(&self) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        let (done, wait) = mpsc::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            // An error means the thread is gone: nothing left to wait for.
            let _ = wait.recv();
        }
    }

    /// Commits everything sent so far and stops the thread; later calls do nothing.
    /// Dropping the writer does the same.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _ = self.tx.send(Message::Close);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            if thread.join().is_err() {
                error!("the store writer thread panicked");
            }
        }
    }

    /// How many records have been committed so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// How many records were lost so far: dropped while the database was away and the
    /// buffer full, or still pending when the writer closed.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.close();
    }
}

/// What [`Batcher::drain`] found besides records.
struct Drained {
    flushes: Vec<mpsc::Sender<()>>,
    close: bool,
}

/// The writer thread's state.
struct Batcher {
    store: Store,
    flush_every: Duration,
    /// At most this many records pending.
    keep: usize,
    /// Records received and not yet committed, oldest first.
    pending: VecDeque<Record>,
    /// When the pending records must be committed.
    due: Option<Instant>,
    /// The last commit failed: wait for `due` instead of retrying on every full batch.
    failing: bool,
    /// Records dropped since the last successful commit.
    dropped: u64,
    written: Arc<AtomicU64>,
    lost: Arc<AtomicU64>,
    /// Shared with the [`Writer`]: what is on its way here.
    queued: Arc<AtomicUsize>,
}

impl Batcher {
    fn run(mut self, rx: &mpsc::Receiver<Message>, retention: Option<Retention>) {
        let mut next_retention = retention.map(|_| Instant::now());
        loop {
            if let (Some(retention), Some(at)) = (retention, next_retention) {
                if Instant::now() >= at {
                    self.apply_retention(retention.keep);
                    next_retention = Some(Instant::now() + retention.every);
                }
            }
            let wake = match (self.due, next_retention) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let message = match wake {
                Some(at) => rx.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match message {
                Ok(Message::Record(record)) => {
                    self.queued.fetch_sub(1, Ordering::AcqRel);
                    self.push(record);
                    if self.pending.len() >= BATCH_MAX && !self.failing {
                        self.commit();
                    }
                }
                Ok(Message::Flush(done)) => {
                    let mut drained = self.drain(rx);
                    drained.flushes.push(done);
                    self.commit();
                    for done in drained.flushes {
                        let _ = done.send(());
                    }
                    if drained.close {
                        return self.give_up();
                    }
                }
                Ok(Message::Close) | Err(RecvTimeoutError::Disconnected) => {
                    let drained = self.drain(rx);
                    self.commit();
                    for done in drained.flushes {
                        let _ = done.send(());
                    }
                    return self.give_up();
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.due.is_some_and(|due| Instant::now() >= due) {
                        self.commit();
                    }
                }
            }
        }
    }

    /// At close: what the last commit could not store is lost, and said so.
    fn give_up(&mut self) {
        if !self.pending.is_empty() {
            let lost = self.pending.len() as u64;
            self.lost.fetch_add(lost, Ordering::Relaxed);
            error!(
                store = %self.store.describe(),
                lost,
                "closing with records the database did not accept; they are lost"
            );
            self.pending.clear();
        }
    }

    fn push(&mut self, record: Record) {
        if self.pending.len() >= self.keep {
            self.pending.pop_front();
            self.lost.fetch_add(1, Ordering::Relaxed);
            if self.dropped % 10_000 == 0 {
                warn!(
                    store = %self.store.describe(),
                    kept = self.keep,
                    dropped = self.dropped + 1,
                    "the database has not accepted records for a while; dropping the oldest"
                );
            }
            self.dropped += 1;
        }
        self.pending.push_back(record);
        self.due
            .get_or_insert_with(|| Instant::now() + self.flush_every);
    }

    /// Takes the records already queued (those sent before a flush or close), and the
    /// flushes and close among them, to be answered once the commit is done.
    fn drain(&mut self, rx: &mpsc::Receiver<Message>) -> Drained {
        let mut drained = Drained {
            flushes: Vec::new(),
            close: false,
        };
        while let Ok(message) = rx.try_recv() {
            match message {
                Message::Record(record) => {
                    self.queued.fetch_sub(1, Ordering::AcqRel);
                    self.push(record);
                }
                Message::Flush(done) => drained.flushes.push(done),
                Message::Close => drained.close = true,
            }
        }
        drained
    }

    /// Commits the pending records in one transaction; on failure keeps them for the next
    /// attempt, `flush_every` later.
    fn commit(&mut self) {
        if self.pending.is_empty() {
            self.due = None;
            return;
        }
        match self.store.write(self.pending.make_contiguous()) {
            Ok(()) => {
                self.written
                    .fetch_add(self.pending.len() as u64, Ordering::Relaxed);
                self.pending.clear();
                self.due = None;
                if self.failing {
                    self.failing = false;
                    warn!(
                        store = %self.store.describe(),
                        lost = self.dropped,
                        "the database accepts records again"
                    );
                    self.dropped = 0;
                }
            }
            Err(e) => {
                // Once per outage at error level; the retries every `flush_every` at debug.
                if self.failing {
                    debug!(pending = self.pending.len(), "still cannot write: {e:#}");
                } else {
                    error!(
                        store = %self.store.describe(),
                        pending = self.pending.len(),
                        "cannot write to the database (will retry): {e:#}"
                    );
                }
                self.failing = true;
                self.due = Some(Instant::now() + self.flush_every);
            }
        }
    }

    fn apply_retention(&mut self, keep: Duration) {
        let keep_ms = i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now_ms().saturating_sub(keep_ms);
        match self.store.delete_older_than(cutoff) {
            Ok(0) => {}
            Ok(n) => debug!(deleted = n, "retention: old records deleted"),
            Err(e) => error!("retention: cannot delete old records: {e:#}"),
        }
    }
}

/// Databases for tests: an SQLite file in a temporary folder, or a schema of its own in
/// the local PostgreSQL server (`CAREERBOT_TEST_POSTGRES`, by default
/// `postgres://postgres@127.0.0.1:5432/test`), dropped afterwards, so tests run in
/// parallel. There is no mock: a PostgreSQL test needs the server (`.ci/run` starts it).
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// A question record for tests: a mention, intent "salary".
    pub fn question(id: u64, at_ms: i64, text: &str, decision: &str, confidence: f32) -> Record {
        Record::Question(QuestionRecord {
            id,
            at_ms,
            guild: Some(u64::MAX - 1),
            channel: None,
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

    /// A vote record for tests, on intent "salary".
    pub fn vote(id: u64, question: u64, at_ms: i64, up: bool) -> Record {
        Record::Vote(VoteRecord {
            id,
            at_ms,
            question,
            intent: "salary".to_owned(),
            up,
        })
    }

    /// An audit entry for tests: alice (Discord id 7) changed server 9's settings.
    pub fn audit(at_ms: i64, detail: &str) -> AuditEntry {
        AuditEntry {
            at_ms,
            ..AuditEntry::discord(
                "alice",
                7,
                Some(9),
                "settings",
                detail.to_owned(),
                crate::admin::audit::DONE.to_owned(),
            )
        }
    }

    /// The server the PostgreSQL tests use.
    pub fn server_url() -> String {
        std::env::var("CAREERBOT_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    pub struct TestDb {
        pub database: Database,
        _dir: Option<tempfile::TempDir>,
        schema: Option<String>,
    }

    impl TestDb {
        pub fn sqlite() -> TestDb {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("nested/dir/careerbot.sqlite3");
            TestDb {
                database: Database::File(path),
                _dir: Some(dir),
                schema: None,
            }
        }

        pub fn postgres() -> TestDb {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let schema = format!(
                "careerbot_test_{}_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed),
                now_ms()
            );
            postgres::execute(&server_url(), &format!("CREATE SCHEMA {schema}"))
                .unwrap_or_else(|e| panic!("the PostgreSQL test server: {e:#}"));
            let url = with_search_path(&server_url(), &schema);
            TestDb {
                database: Database::Postgres(crate::config::PostgresUrl::parse(&url).unwrap()),
                _dir: None,
                schema: Some(schema),
            }
        }

        /// One database of each backend.
        pub fn both() -> [TestDb; 2] {
            [TestDb::sqlite(), TestDb::postgres()]
        }

        pub fn open(&self) -> Store {
            Store::open(&self.database).unwrap()
        }

        /// The PostgreSQL schema of this database.
        pub fn schema(&self) -> &str {
            self.schema.as_deref().expect("a PostgreSQL test database")
        }

        /// Runs `sql` on this database, behind the store's back.
        pub fn execute(&self, sql: &str) {
            match &self.database {
                Database::File(path) => rusqlite::Connection::open(path)
                    .unwrap()
                    .execute_batch(sql)
                    .unwrap(),
                Database::Postgres(url) => postgres::execute(url.as_str(), sql).unwrap(),
            }
        }
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            if let Some(schema) = &self.schema {
                let dropped =
                    postgres::execute(&server_url(), &format!("DROP SCHEMA {schema} CASCADE"));
                if let Err(e) = dropped {
                    eprintln!("cannot drop the test schema {schema}: {e:#}");
                }
            }
        }
    }

    /// A TCP relay to the PostgreSQL test server that can be taken down (every connection
    /// through it cut, new ones closed at once) and brought back: an outage on demand.
    pub struct Relay {
        pub port: u16,
        up: Arc<AtomicBool>,
        live: Arc<Mutex<Vec<std::net::TcpStream>>>,
    }

    impl Relay {
        pub fn start() -> Relay {
            Relay::starting(None)
        }

        /// A relay that answers every TLS request with "yes" and then garbage, as a server
        /// with broken TLS would; connections that do not ask for TLS pass through.
        pub fn with_broken_tls() -> Relay {
            Relay::starting(Some(b"Snot a TLS server hello at all\r\n"))
        }

        /// A relay that answers every TLS request with "yes" and then hangs up, as a
        /// connection lost in the handshake would; others pass through.
        pub fn cutting_tls() -> Relay {
            Relay::starting(Some(b"S"))
        }

        /// A relay; with `tls_answer`, what a TLS request gets before the connection is
        /// closed.
        fn starting(tls_answer: Option<&'static [u8]>) -> Relay {
            use std::io::{Read, Write};
            use std::net::{TcpListener, TcpStream};
            let server = url::Url::parse(&server_url()).unwrap();
            let target = format!(
                "{}:{}",
                server.host_str().unwrap(),
                server.port().unwrap_or(5432)
            );
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let up = Arc::new(AtomicBool::new(true));
            let live = Arc::new(Mutex::new(Vec::<TcpStream>::new()));
            let (accepting, tracked) = (Arc::clone(&up), Arc::clone(&live));
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { continue };
                    if !accepting.load(Ordering::SeqCst) {
                        continue; // dropped: closed at once
                    }
                    let mut first = [0u8; 8];
                    if let Some(answer) = tls_answer {
                        // An SSLRequest: length 8, code 80877103.
                        let mut client = &client;
                        if client.read_exact(&mut first).is_err() {
                            continue;
                        }
                        if first == [0, 0, 0, 8, 4, 210, 22, 47] {
                            let _ = client.write_all(answer);
                            let _ = client.shutdown(std::net::Shutdown::Both);
                            continue;
                        }
                    }
                    let Ok(mut server) = TcpStream::connect(&target) else {
                        continue;
                    };
                    if tls_answer.is_some() && server.write_all(&first).is_err() {
                        continue;
                    }
                    let mut live = tracked.lock().unwrap();
                    live.push(client.try_clone().unwrap());
                    live.push(server.try_clone().unwrap());
                    for (mut from, mut to) in [
                        (client.try_clone().unwrap(), server.try_clone().unwrap()),
                        (server, client),
                    ] {
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut from, &mut to);
                            let _ = to.shutdown(std::net::Shutdown::Both);
                        });
                    }
                }
            });
            Relay { port, up, live }
        }

        /// Cuts every connection and closes new ones until [`Relay::restore`].
        pub fn cut(&self) {
            self.up.store(false, Ordering::SeqCst);
            for stream in self.live.lock().unwrap().drain(..) {
                let _ = stream.shutdown(std::net::Shutdown::Both);
            }
        }

        pub fn restore(&self) {
            self.up.store(true, Ordering::SeqCst);
        }

        /// The test server's URL through this relay, in `schema`.
        pub fn url(&self, schema: &str) -> String {
            let mut url = url::Url::parse(&server_url()).unwrap();
            url.set_port(Some(self.port)).unwrap();
            with_search_path(url.as_str(), schema)
        }
    }

    /// `url` with its connections' schema set to `schema`.
    pub fn with_search_path(url: &str, schema: &str) -> String {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}options=-c%20search_path%3D{schema}")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{audit, question, vote, TestDb};
    use super::*;
    use crate::admin::audit::{refused, DASHBOARD, DETAIL_MAX};

    #[test]
    fn the_audit_log_records_and_pages_newest_first() {
        for db in TestDb::both() {
            let mut store = db.open();
            assert!(store.audit_log(None, 10).unwrap().is_empty());
            let first = store
                .record_audit(&audit(1_000, "add answer channel 5"))
                .unwrap();
            // The same entry again (a replay) is stored once, under the same number.
            assert_eq!(
                store
                    .record_audit(&audit(1_000, "add answer channel 5"))
                    .unwrap(),
                first
            );
            let dashboard = AuditEntry {
                admin: "local admin".to_owned(),
                admin_id: None,
                via: DASHBOARD.to_owned(),
                guild: None,
                action: "file_example".to_owned(),
                outcome: refused("2 errors in salary.toml"),
                ..audit(3_000, "“how much do juniors earn” under salary")
            };
            let third = store.record_audit(&dashboard).unwrap();
            let second = store
                .record_audit(&audit(2_000, "reset admin_channel"))
                .unwrap();
            assert!(first < second && second < third, "numbers follow time");
            let all = store.audit_log(None, 10).unwrap();
            let ids: Vec<u64> = all.iter().map(|e| e.id).collect();
            assert_eq!(ids, [third, second, first], "{}", store.describe());
            assert_eq!(
                all[0],
                AuditEntry {
                    id: third,
                    ..dashboard
                }
            );
            assert_eq!(
                all[2],
                AuditEntry {
                    id: first,
                    ..audit(1_000, "add answer channel 5")
                }
            );
            // Pages: newest first, each before the last one's number.
            let page = store.audit_log(None, 2).unwrap();
            assert_eq!(page, all[..2]);
            let next = store.audit_log(Some(page[1].id), 2).unwrap();
            assert_eq!(next, all[2..]);
            assert!(store.audit_log(Some(first), 2).unwrap().is_empty());
            // Retention deletes old questions and votes, never the audit log.
            store.delete_older_than(i64::MAX).unwrap();
            assert_eq!(store.audit_log(None, 10).unwrap().len(), 3);
        }
    }

    #[test]
    fn audit_texts_are_cut_when_stored_and_odd_ones_come_back() {
        for db in TestDb::both() {
            let mut store = db.open();
            let hostile = AuditEntry {
                admin: "ä".repeat(5_000),
                admin_id: Some(u64::MAX >> 1),
                guild: Some(u64::MAX),
                detail: "x'); DROP TABLE audit_log; --\0".repeat(10_000),
                outcome: "🎉".repeat(10_000),
                ..audit(1_000, "")
            };
            store.record_audit(&hostile).unwrap();
            let stored = &store.audit_log(None, 1).unwrap()[0];
            assert_eq!(stored.admin.chars().count(), crate::admin::audit::ADMIN_MAX);
            assert_eq!(stored.detail.chars().count(), DETAIL_MAX);
            assert!(stored.detail.starts_with("x'); DROP TABLE audit_log; --"));
            assert!(stored.outcome.chars().count() <= crate::admin::audit::OUTCOME_MAX);
            assert_eq!(stored.admin_id, hostile.admin_id);
            assert_eq!(stored.guild, Some(u64::MAX));
        }
    }

    #[test]
    fn the_writer_carries_audit_entries_with_the_other_records() {
        for db in TestDb::both() {
            let writer = Writer::spawn(db.open(), Duration::from_secs(3600), None);
            writer.send(question(1, 100, "q", "fallback", 0.1));
            let entry = audit(200, "ignored “q” (1 questions)");
            writer.send(Record::Audit(entry.clone()));
            writer.send(Record::Audit(entry.clone()));
            writer.flush();
            assert_eq!(writer.written(), 3);
            let store = db.open();
            assert_eq!(store.counts().unwrap(), (1, 0));
            let log = store.audit_log(None, 10).unwrap();
            assert_eq!(log, [entry.stored()], "numbered by the store, stored once");
        }
    }

    #[test]
    fn an_older_database_gets_the_audit_log_and_keeps_its_data() {
        for db in TestDb::both() {
            match &db.database {
                Database::File(path) => sqlite::create_at_version(path, 4),
                Database::Postgres(url) => postgres::create_at_version(url.as_str(), 3).unwrap(),
            }
            db.execute(
                "INSERT INTO questions (id, at_ms, source, text, decision, confidence,
                                        candidates, engine_version)
                 VALUES (1, 100, 'dm', 'old question', 'fallback', 0.1, '[]', '0.0.9');
                 INSERT INTO votes (id, at_ms, question, intent, up)
                 VALUES (5, 150, 1, 'salary', TRUE);
                 INSERT INTO guild_settings (guild, admin_channel, updated_at_ms, revision)
                 VALUES (7, 9, 100, 1);",
            );
            // A report waits for the bot to upgrade it...
            let error = Store::open_read_only(&db.database).unwrap_err();
            let older = error.downcast_ref::<OlderSchema>().expect("older");
            assert_eq!(older.current, older.found + 2, "the audit log, then forums");
            // ...which keeps every row and adds the audit log.
            let mut store = db.open();
            assert_eq!(store.counts().unwrap(), (1, 1));
            assert_eq!(store.questions_since(0).unwrap()[0].text, "old question");
            let guilds = store.guild_settings().unwrap();
            assert_eq!(
                (guilds[0].guild, guilds[0].settings.admin_channel),
                (7, Some(9))
            );
            assert_eq!(guilds[0].settings.forum_channels, None, "the file's forums");
            assert!(store.audit_log(None, 10).unwrap().is_empty());
            let id = store
                .record_audit(&audit(1_000, "reset admin_channel"))
                .unwrap();
            assert_eq!(store.audit_log(None, 10).unwrap()[0].id, id);
            drop(store);
            let reader = Store::open_read_only(&db.database).unwrap();
            assert_eq!(reader.audit_log(None, 10).unwrap().len(), 1);
        }
    }

    #[test]
    fn records_round_trip_and_replays_do_not_fail() {
        for db in TestDb::both() {
            let mut store = db.open();
            let records = vec![
                question(
                    1,
                    1_000,
                    "how much do backend engineers earn",
                    "answer",
                    0.9,
                ),
                vote(7, 1, 1_500, true),
            ];
            store.write(&records).unwrap();
            // A replayed batch (a commit whose answer was lost) stores nothing twice.
            store.write(&records).unwrap();
            store.write(&records[..1]).unwrap();
            let questions = store.questions_since(0).unwrap();
            assert_eq!(questions.len(), 1);
            assert_eq!(Record::Question(questions[0].clone()), records[0]);
            assert_eq!(
                store.votes_since(0).unwrap(),
                vec![VoteRecord {
                    id: 7,
                    at_ms: 1_500,
                    question: 1,
                    intent: "salary".to_owned(),
                    up: true
                }]
            );
            assert!(store.questions_since(1_001).unwrap().is_empty());
            assert_eq!(store.counts().unwrap(), (1, 1), "{}", store.describe());
        }
    }

    #[test]
    fn server_settings_are_edited_atomically_one_revision_up_per_change() {
        for db in TestDb::both() {
            let mut store = db.open();
            assert!(store.guild_settings().unwrap().is_empty());
            assert!(
                store.edit_guild_settings(0, 1, |_| ()).is_err(),
                "no server 0"
            );
            let guild = u64::MAX - 1;
            let (after, said) = store
                .edit_guild_settings(guild, 1_000, |s| {
                    s.answer_channels = Some(vec![1 << 63, 7]);
                    s.forum_channels = Some(vec![3]);
                    s.admin_channel = Some(9);
                    "edited"
                })
                .unwrap();
            assert_eq!(said, "edited");
            assert_eq!(after.settings.answer_channels, Some(vec![1 << 63, 7]));
            assert_eq!(after.settings.forum_channels, Some(vec![3]));
            assert_eq!((after.updated_at_ms, after.revision), (1_000, 1));
            // An edit that changes nothing writes nothing (the time and revision stay).
            let (same, ()) = store.edit_guild_settings(guild, 2_000, |_| ()).unwrap();
            assert_eq!(same, after);
            store
                .edit_guild_settings(5, 2_500, |s| s.channel_min_confidence = Some(0.25))
                .unwrap();
            let stored = store.guild_settings().unwrap();
            assert_eq!(stored.len(), 2, "{}", store.describe());
            assert_eq!((stored[0].guild, stored[0].updated_at_ms), (5, 2_500));
            assert_eq!(stored[0].settings.channel_min_confidence, Some(0.25));
            assert_eq!(stored[1], after);
            // Explicitly none is kept apart from following the file.
            store
                .edit_guild_settings(guild, 3_000, |s| {
                    s.answer_channels = Some(Vec::new());
                    s.admin_channel = Some(0);
                })
                .unwrap();
            let stored = store.guild_settings().unwrap();
            assert_eq!(stored[1].settings.answer_channels, Some(Vec::new()));
            assert_eq!(stored[1].settings.admin_channel, Some(0));
            // Back on every default, the server keeps its row and its count of changes.
            let (reset, ()) = store
                .edit_guild_settings(guild, 4_000, |s| *s = Default::default())
                .unwrap();
            assert_eq!(reset.revision, 3);
            assert_eq!(store.guild_settings().unwrap()[1], reset);
            // Copying adds what is missing and leaves what is there.
            let copied = vec![
                StoredGuild {
                    guild: 5,
                    settings: after.settings.clone(),
                    updated_at_ms: 1,
                    revision: 1,
                },
                StoredGuild {
                    guild: 6,
                    settings: after.settings.clone(),
                    updated_at_ms: 1,
                    revision: 4,
                },
            ];
            assert_eq!(store.add_guild_settings(&copied).unwrap(), 1);
            assert_eq!(store.add_guild_settings(&copied).unwrap(), 0);
            let stored = store.guild_settings().unwrap();
            assert_eq!(stored[0].settings.channel_min_confidence, Some(0.25));
            assert_eq!(stored[1], copied[1]);
        }
    }

    #[test]
    fn an_unreadable_server_row_is_left_out_and_the_others_still_load() {
        for db in TestDb::both() {
            let mut store = db.open();
            for guild in [5, 6, 7] {
                store
                    .edit_guild_settings(guild, 0, |s| s.admin_channel = Some(guild))
                    .unwrap();
            }
            db.execute("UPDATE guild_settings SET answer_channels = 'not,ids' WHERE guild = 5");
            if matches!(db.database, Database::File(_)) {
                // Only SQLite lets a column hold a value of another type.
                db.execute("UPDATE guild_settings SET admin_channel = 'x' WHERE guild = 6");
            } else {
                db.execute("UPDATE guild_settings SET channel_min_confidence = 2 WHERE guild = 6");
            }
            db.execute("INSERT INTO guild_settings (guild, updated_at_ms) VALUES (0, 0)");
            let left: Vec<u64> = store
                .guild_settings()
                .unwrap()
                .iter()
                .map(|g| g.guild)
                .collect();
            assert_eq!(left, [7], "{}", store.describe());
        }
    }

    #[test]
    fn an_edit_racing_a_reset_of_the_same_server_still_counts() {
        for db in TestDb::both() {
            let mut first = db.open();
            first
                .edit_guild_settings(3, 0, |s| s.admin_channel = Some(1))
                .unwrap();
            let threads: Vec<_> = (0..2u64)
                .map(|n| {
                    let mut store = db.open();
                    std::thread::spawn(move || {
                        for k in 0..20u64 {
                            store
                                .edit_guild_settings(3, 0, |s| {
                                    if n == 0 {
                                        *s = GuildSettings::default();
                                    } else {
                                        s.admin_channel = Some(100 + k);
                                    }
                                })
                                .unwrap();
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            let stored = db.open().guild_settings().unwrap();
            assert_eq!(stored.len(), 1);
            // Every edit that changed something counted once: 1 + at most 40.
            assert!((2..=41).contains(&stored[0].revision), "{stored:?}");
        }
    }

    #[test]
    fn concurrent_edits_of_one_server_all_count() {
        for db in TestDb::both() {
            let threads: Vec<_> = (0..4u64)
                .map(|n| {
                    let mut store = db.open();
                    std::thread::spawn(move || {
                        for k in 0..5u64 {
                            store
                                .edit_guild_settings(1, 0, |s| {
                                    s.answer_channels
                                        .get_or_insert_with(Vec::new)
                                        .push(100 + n * 10 + k)
                                })
                                .unwrap();
                        }
                    })
                })
                .collect();
            for thread in threads {
                thread.join().unwrap();
            }
            let stored = db.open().guild_settings().unwrap();
            let mut channels = stored[0].settings.answer_channels.clone().unwrap();
            channels.sort_unstable();
            let all: Vec<u64> = (0..4u64)
                .flat_map(|n| (0..5u64).map(move |k| 100 + n * 10 + k))
                .collect();
            assert_eq!(channels, all);
        }
    }

    #[test]
    fn the_largest_ids_and_odd_texts_come_back_unchanged() {
        for db in TestDb::both() {
            let mut store = db.open();
            let Record::Question(mut odd) = question(u64::MAX, -5, "", "clarify", 0.0) else {
                unreachable!()
            };
            odd.guild = Some(u64::MAX);
            odd.channel = Some(1 << 63);
            odd.text = "ünïcödé 🎉 'quotes' \"double\" \\ back; DROP TABLE questions; --".into();
            odd.candidates = Vec::new();
            odd.intent = None;
            odd.intent_version = Some(u32::MAX >> 1);
            store.write(&[Record::Question(odd.clone())]).unwrap();
            assert_eq!(store.questions_since(i64::MIN).unwrap(), [odd]);
        }
    }

    #[test]
    fn the_unanswered_queue_and_resolution() {
        for db in TestDb::both() {
            let mut store = db.open();
            store
                .write(&[
                    question(1, 100, "sure answer", "answer", 0.9),
                    question(2, 200, "weak answer", "answer", 0.3),
                    question(3, 300, "fell back", "fallback", 0.8),
                    question(4, 400, "weak clarify", "clarify", 0.2),
                    question(5, 500, "chatter", "unconfident", 0.1),
                    question(6, 50, "too old", "fallback", 0.1),
                    // Out of scope on purpose, however unsure: no gap to fill.
                    question(7, 450, "how do i become a nurse", "decline", 0.2),
                ])
                .unwrap();
            // A forum post the bot left alone, however close it came, is what the forum asks.
            let Record::Question(mut post) =
                question(8, 150, "post left alone", "unconfident", 0.6)
            else {
                unreachable!()
            };
            post.source = Source::Forum;
            store.write(&[Record::Question(post)]).unwrap();
            let ids = |qs: Vec<QuestionRecord>| qs.iter().map(|q| q.id).collect::<Vec<_>>();
            assert_eq!(ids(store.unanswered(100, 0.5, 10).unwrap()), [4, 3, 2, 8]);
            assert_eq!(ids(store.unanswered(100, 0.5, 2).unwrap()), [4, 3]);
            assert_eq!(ids(store.unanswered(0, 0.25, 10).unwrap()), [4, 3, 8, 6]);
            assert_eq!(
                ids(store
                    .unanswered_between(100, 400, 0.5, 10, &Servers::All)
                    .unwrap()),
                [3, 2, 8]
            );
            assert_eq!(store.resolve(&[3, 4, 8, 99, 3], "salary", 600).unwrap(), 3);
            assert_eq!(ids(store.unanswered(0, 0.5, 10).unwrap()), [2, 6]);
            assert!(store.resolve(&[2], " ", 600).is_err());
        }
    }

    /// A Discord admin's dashboard reads their servers' questions and votes only.
    #[test]
    fn reads_can_be_held_to_some_servers() {
        for db in TestDb::both() {
            let mut store = db.open();
            let in_guild = |id: u64, guild: Option<u64>, decision: &str| {
                let Record::Question(mut q) = question(
                    id,
                    100 + id as i64,
                    "q",
                    decision,
                    if decision == "answer" { 0.9 } else { 0.1 },
                ) else {
                    unreachable!()
                };
                q.guild = guild;
                Record::Question(q)
            };
            store
                .write(&[
                    in_guild(1, Some(10), "fallback"),
                    in_guild(2, Some(20), "fallback"),
                    in_guild(3, None, "fallback"),
                    in_guild(4, Some(10), "answer"),
                    in_guild(5, Some(20), "answer"),
                    vote(11, 4, 200, true),
                    vote(12, 5, 200, false),
                ])
                .unwrap();
            let ids = |qs: Vec<QuestionRecord>| qs.iter().map(|q| q.id).collect::<Vec<_>>();
            let ten = Servers::Only(vec![10]);
            let unanswered = |servers: &Servers| {
                ids(store
                    .unanswered_between(0, i64::MAX, 0.5, 10, servers)
                    .unwrap())
            };
            assert_eq!(unanswered(&Servers::All), [3, 2, 1]);
            assert_eq!(unanswered(&ten), [1]);
            assert_eq!(unanswered(&Servers::Only(vec![20, 10])), [2, 1]);
            assert!(unanswered(&Servers::Only(Vec::new())).is_empty());

            let all = store.aggregates(0, i64::MAX, 10, 0, &Servers::All).unwrap();
            let mine = store.aggregates(0, i64::MAX, 10, 0, &ten).unwrap();
            let asked = |a: &Aggregates| a.per_day.iter().map(|d| d.questions).sum::<u64>();
            assert_eq!((asked(&all), asked(&mine)), (5, 2));
            let votes = |a: &Aggregates| {
                a.helpfulness
                    .iter()
                    .map(|h| (h.up, h.down))
                    .fold((0, 0), |t, v| (t.0 + v.0, t.1 + v.1))
            };
            assert_eq!(votes(&all), (1, 1));
            assert_eq!(votes(&mine), (1, 0));
        }
    }

    #[test]
    fn old_records_are_deleted() {
        for db in TestDb::both() {
            let mut store = db.open();
            store
                .write(&[
                    question(1, 100, "old", "answer", 0.9),
                    question(2, 300, "new", "answer", 0.9),
                    vote(11, 1, 150, false),
                    vote(12, 2, 350, true),
                ])
                .unwrap();
            assert_eq!(store.delete_older_than(200).unwrap(), 2);
            assert_eq!(store.counts().unwrap(), (1, 1));
            assert_eq!(store.questions_since(0).unwrap()[0].id, 2);
        }
    }

    #[test]
    fn a_read_only_store_reads_and_a_missing_one_is_explained() {
        for db in TestDb::both() {
            let error = format!("{:#}", Store::open_read_only(&db.database).unwrap_err());
            assert!(error.contains("first run"), "{error}");
            db.open()
                .write(&[question(1, 100, "q", "answer", 0.9)])
                .unwrap();
            let mut reader = Store::open_read_only(&db.database).unwrap();
            assert_eq!(reader.counts().unwrap(), (1, 0));
            let error = format!(
                "{:#}",
                reader
                    .write(&[question(2, 200, "q", "answer", 0.9)])
                    .unwrap_err()
            );
            assert!(
                error.contains("read-only") || error.contains("readonly"),
                "{error}"
            );
            assert_eq!(db.open().counts().unwrap(), (1, 0));
        }
    }

    /// Waits up to `limit` for `done`.
    fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if done() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        done()
    }

    #[test]
    fn the_writer_commits_within_the_window_without_a_flush() {
        for db in TestDb::both() {
            let writer = Writer::spawn(db.open(), Duration::from_millis(50), None);
            writer.send(question(1, 100, "q", "answer", 0.9));
            writer.send(vote(2, 1, 110, true));
            let reader = db.open();
            assert!(eventually(Duration::from_secs(5), || writer.written() == 2));
            assert_eq!(reader.counts().unwrap(), (1, 1));
        }
    }

    #[test]
    fn flush_and_close_commit_everything_and_it_survives_a_restart() {
        for db in TestDb::both() {
            // A window far longer than the test: only flush() and close() can commit.
            let writer = Writer::spawn(db.open(), Duration::from_secs(3600), None);
            for id in 0..6_000 {
                writer.send(question(id, 100 + id as i64, "q", "fallback", 0.1));
            }
            writer.flush();
            assert_eq!(writer.written(), 6_000);
            assert_eq!(db.open().counts().unwrap(), (6_000, 0));
            writer.send(vote(10_001, 1, 200, false));
            writer.close();
            assert_eq!(writer.written(), 6_001);
            writer.send(vote(10_002, 2, 300, true));
            writer.flush();
            writer.close();
            assert_eq!(writer.lost(), 0);
            drop(writer);
            let reopened = Store::open_read_only(&db.database).unwrap();
            assert_eq!(reopened.counts().unwrap(), (6_000, 1));
        }
    }

    #[test]
    fn dropping_the_writer_commits() {
        for db in TestDb::both() {
            let writer = Writer::spawn(db.open(), Duration::from_secs(3600), None);
            writer.send(question(1, 100, "q", "answer", 0.9));
            drop(writer);
            assert_eq!(db.open().counts().unwrap(), (1, 0));
        }
    }

    #[test]
    fn the_writer_applies_retention_at_start_and_then_again_every_period() {
        for db in TestDb::both() {
            let now = now_ms();
            let day = 86_400_000;
            let mut store = db.open();
            store
                .write(&[
                    question(1, now - 10 * day, "old", "answer", 0.9),
                    vote(5, 1, now - 10 * day, true),
                    question(2, now - day, "recent", "answer", 0.9),
                ])
                .unwrap();
            let retention = Retention {
                keep: Duration::from_secs(7 * 86_400),
                every: Duration::from_millis(100),
            };
            let writer = Writer::spawn(store, Duration::from_millis(50), Some(retention));
            writer.flush();
            let mut reader = db.open();
            assert_eq!(reader.counts().unwrap(), (1, 0));
            assert_eq!(reader.questions_since(0).unwrap()[0].id, 2);
            // A record that became old since (written here by another connection) goes at
            // the next run.
            reader
                .write(&[question(3, now - 8 * day, "aged", "answer", 0.9)])
                .unwrap();
            assert_eq!(reader.counts().unwrap(), (2, 0));
            assert!(eventually(Duration::from_secs(5), || {
                reader.counts().unwrap() == (1, 0)
            }));
            drop(writer);
        }
    }

    #[test]
    fn under_sslmode_prefer_a_server_whose_tls_fails_is_used_without_it() {
        let db = TestDb::postgres();
        let relay = testing::Relay::with_broken_tls();
        let url = crate::config::PostgresUrl::parse(&relay.url(db.schema())).unwrap();
        let mut store = Store::open(&Database::Postgres(url)).unwrap();
        store
            .write(&[question(1, 100, "over plain tcp", "answer", 0.9)])
            .unwrap();
        assert_eq!(store.questions_since(0).unwrap().len(), 1);
        // require refuses it, saying why.
        let url = format!("{}&sslmode=require", relay.url(db.schema()));
        let url = crate::config::PostgresUrl::parse(&url).unwrap();
        let refused = Store::open(&Database::Postgres(url)).unwrap_err();
        assert!(
            format!("{refused:#}").contains("TLS handshake"),
            "{refused:#}"
        );
        // A connection lost in the handshake is no reason to give TLS up.
        let cutting = testing::Relay::cutting_tls();
        let url = crate::config::PostgresUrl::parse(&cutting.url(db.schema())).unwrap();
        let failed = Store::open(&Database::Postgres(url)).unwrap_err();
        assert!(
            format!("{failed:#}").contains("TLS handshake"),
            "{failed:#}"
        );
    }

    #[test]
    fn a_postgresql_outage_is_survived_and_what_overflows_the_buffer_counted() {
        let db = TestDb::postgres();
        let relay = testing::Relay::start();
        let url = crate::config::PostgresUrl::parse(&relay.url(db.schema())).unwrap();
        let store = Store::open(&Database::Postgres(url)).unwrap();
        let writer = Writer::spawn_keeping(store, Duration::from_millis(50), None, 8);
        for id in 0..5 {
            writer.send(question(id, 100, "before", "answer", 0.9));
        }
        writer.flush();
        assert_eq!(writer.written(), 5);

        relay.cut();
        // The outage: sending never blocks, and commits fail.
        for id in 5..10 {
            writer.send(question(id, 200, "during", "answer", 0.9));
        }
        writer.flush();
        assert_eq!((writer.written(), writer.lost()), (5, 0));
        // More than the buffer keeps: the oldest go, counted.
        for id in 10..15 {
            writer.send(question(id, 300, "overflow", "answer", 0.9));
        }
        writer.flush();
        assert_eq!((writer.written(), writer.lost()), (5, 2));

        relay.restore();
        assert!(
            eventually(Duration::from_secs(20), || writer.written() == 13),
            "written {} after the server came back",
            writer.written()
        );
        let ids: Vec<u64> = db
            .open()
            .questions_since(0)
            .unwrap()
            .iter()
            .map(|q| q.id)
            .collect();
        // 5 and 6, the oldest of the outage, were dropped.
        assert_eq!(ids, [0, 1, 2, 3, 4, 7, 8, 9, 10, 11, 12, 13, 14]);
        assert_eq!(writer.lost(), 2);
    }

    #[test]
    fn legacy_vote_ids_are_stable_and_distinct() {
        assert_eq!(legacy_vote_id(1, 100, 7), legacy_vote_id(1, 100, 7));
        assert_ne!(legacy_vote_id(1, 100, 7), legacy_vote_id(2, 100, 7));
        assert_ne!(legacy_vote_id(1, 100, 7), legacy_vote_id(1, 101, 7));
        assert_ne!(legacy_vote_id(1, 100, 7), legacy_vote_id(1, 100, 8));
        assert!(legacy_vote_id(u32::MAX.into(), i64::MAX, u64::MAX) < 1 << 63);
    }
}
