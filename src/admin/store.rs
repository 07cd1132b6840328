//! The SQLite store of questions and feedback votes, and the [`Writer`] that fills it.
//!
//! Privacy by design: a record holds what was asked and how the bot answered, never who
//! asked (no user ids or names). The schema is versioned in code ([`MIGRATIONS`], tracked
//! with `PRAGMA user_version`); a database newer than this code is refused. Writes go
//! through a dedicated thread in batches, so the bot never waits for the disk.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, Type, ValueRef};
use rusqlite::ToSql;
use rusqlite::{params, Connection, OpenFlags, Row, TransactionBehavior};
use tracing::{debug, error, warn};

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
    /// The version of the intent set that answered.
    pub engine_version: String,
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
    /// When it was cast, in unix milliseconds.
    pub at_ms: i64,
    pub question: u64,
    pub intent: String,
    pub up: bool,
}

/// Anything the bot stores.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Question(QuestionRecord),
    Vote(VoteRecord),
}

/// The schema, one step per version: step `n` takes a database from version `n` to `n + 1`.
/// Steps are only ever appended, never edited.
const MIGRATIONS: &[&str] = &[
    // 1: questions (with their triage state) and votes.
    "CREATE TABLE questions (
         id             INTEGER PRIMARY KEY,
         at_ms          INTEGER NOT NULL,
         guild          INTEGER,
         channel        INTEGER,
         source         TEXT NOT NULL,
         text           TEXT NOT NULL,
         decision       TEXT NOT NULL,
         intent         TEXT,
         confidence     REAL NOT NULL,
         candidates     TEXT NOT NULL,  -- JSON array of intent ids, best first
         engine_version TEXT NOT NULL,
         resolved       TEXT,           -- the intent it was filed under, or 'ignore'
         resolved_at_ms INTEGER
     );
     CREATE INDEX questions_at_ms ON questions(at_ms);
     CREATE TABLE votes (
         at_ms    INTEGER NOT NULL,
         question INTEGER NOT NULL,
         intent   TEXT NOT NULL,
         up       INTEGER NOT NULL
     );
     CREATE INDEX votes_at_ms ON votes(at_ms);
     CREATE INDEX votes_question ON votes(question);",
];

/// The schema version this code writes.
const SCHEMA_VERSION: usize = MIGRATIONS.len();

const QUESTION_COLUMNS: &str = "id, at_ms, guild, channel, source, text, decision, intent, \
     confidence, candidates, engine_version";

/// A connection to the database file.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating it and its directory when missing) and migrates the database. A
    /// file that is not careerbot's (see [`APPLICATION_ID`]) is refused before anything is
    /// written to it, so pointing `[admin] database` at another program's file cannot
    /// change it.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create the directory {}", parent.display()))?;
        }
        let mut conn = Connection::open(path)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Only reads: the WAL switch below is the first write.
        identify(&conn, path)?;
        let setup = || -> rusqlite::Result<String> {
            let mode = conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                row.get::<_, String>(0)
            })?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            Ok(mode)
        };
        let mode =
            setup().with_context(|| format!("cannot set up the database {}", path.display()))?;
        if !mode.eq_ignore_ascii_case("wal") {
            // SQLite keeps its old mode where WAL cannot work (some network file systems):
            // still correct, but reports then wait for the writer.
            tracing::warn!(path = %path.display(), %mode, "the database is not in WAL mode");
        }
        migrate(&mut conn, path)?;
        register_functions(&conn)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// Opens an existing database for reading only (reports); never creates, migrates or
    /// writes anything, so it also works on a database in a folder the caller cannot
    /// write to (see [`connect_read_only`]).
    pub fn open_read_only(path: &Path) -> anyhow::Result<Store> {
        anyhow::ensure!(
            path.is_file(),
            "no database at {} (the bot creates it on first run)",
            path.display()
        );
        let conn = connect_read_only(path)?;
        let version = match identify(&conn, path)? {
            Identity::Empty => 0,
            Identity::Careerbot(version) | Identity::Unstamped(version) => version,
        };
        check_not_newer(version, path)?;
        anyhow::ensure!(
            version == SCHEMA_VERSION,
            "{} is at schema version {version}, older than this careerbot's {SCHEMA_VERSION} \
             (an empty database, or one that `careerbot run` has not upgraded yet)",
            path.display()
        );
        register_functions(&conn)?;
        Ok(Store {
            conn,
            path: path.to_owned(),
        })
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection, for the aggregate queries of the sibling admin modules.
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Writes `records` in one transaction. A question already stored (same id) is left
    /// as it is, so replaying a batch cannot fail.
    pub fn write(&mut self, records: &[Record]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut question = tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO questions ({QUESTION_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))?;
            let mut vote = tx.prepare_cached(
                "INSERT INTO votes (at_ms, question, intent, up) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for record in records {
                match record {
                    Record::Question(q) => {
                        question.execute(params![
                            to_sql_id(q.id),
                            q.at_ms,
                            q.guild.map(to_sql_id),
                            q.channel.map(to_sql_id),
                            q.source,
                            q.text,
                            q.decision,
                            q.intent,
                            f64::from(q.confidence),
                            serde_json::to_string(&q.candidates)?,
                            q.engine_version,
                        ])?;
                    }
                    Record::Vote(v) => {
                        vote.execute(params![v.at_ms, to_sql_id(v.question), v.intent, v.up])?;
                    }
                }
            }
        }
        tx.commit()
            .with_context(|| format!("cannot commit to {}", self.path.display()))
    }

    /// Deletes questions and votes older than `cutoff_ms`; returns how many rows went.
    pub fn delete_older_than(&mut self, cutoff_ms: i64) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        let questions = tx.execute("DELETE FROM questions WHERE at_ms < ?1", [cutoff_ms])?;
        let votes = tx.execute("DELETE FROM votes WHERE at_ms < ?1", [cutoff_ms])?;
        tx.commit()?;
        Ok(questions + votes)
    }

    /// Questions asked at or after `since_ms`, oldest first.
    pub fn questions_since(&self, since_ms: i64) -> anyhow::Result<Vec<QuestionRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {QUESTION_COLUMNS} FROM questions WHERE at_ms >= ?1 ORDER BY at_ms, id"
        ))?;
        let rows = stmt.query_map([since_ms], question_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Votes cast at or after `since_ms`, oldest first.
    pub fn votes_since(&self, since_ms: i64) -> anyhow::Result<Vec<VoteRecord>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT at_ms, question, intent, up FROM votes WHERE at_ms >= ?1 \
             ORDER BY at_ms, rowid",
        )?;
        let rows = stmt.query_map([since_ms], |row| {
            Ok(VoteRecord {
                at_ms: row.get(0)?,
                question: from_sql_id(row.get(1)?),
                intent: row.get(2)?,
                up: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The unanswered queue, newest first: questions since `since_ms` that fell back, or
    /// were answered or clarified with a confidence below `below`, and are not resolved.
    /// Forum posts the bot left alone ("unconfident" with source "forum") are in it too;
    /// declines (out of scope on purpose) never are. `decision` is free text in the schema (no CHECK), so a new outcome
    /// needs no migration, and databases written before declines open as they are.
    pub fn unanswered(
        &self,
        since_ms: i64,
        below: f32,
        limit: usize,
    ) -> anyhow::Result<Vec<QuestionRecord>> {
        self.unanswered_between(since_ms, i64::MAX, below, limit)
    }

    /// [`Store::unanswered`] for questions asked in `[since_ms, until_ms)`.
    pub(super) fn unanswered_between(
        &self,
        since_ms: i64,
        until_ms: i64,
        below: f32,
        limit: usize,
    ) -> anyhow::Result<Vec<QuestionRecord>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {QUESTION_COLUMNS} FROM questions
             WHERE at_ms >= ?1 AND at_ms < ?2 AND resolved IS NULL
               AND (decision = 'fallback'
                    OR (decision IN ('answer', 'clarify') AND confidence < ?3)
                    OR (decision = 'unconfident' AND source = 'forum'))
               AND {READABLE_QUESTION}
             ORDER BY at_ms DESC, id DESC
             LIMIT ?4"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query(params![since_ms, until_ms, f64::from(below), limit])?;
        let mut questions = Vec::new();
        while let Some(row) = rows.next()? {
            let question = question_from_row(row).with_context(|| {
                let id = row.get::<_, i64>(0).unwrap_or(-1);
                format!("cannot read question {id} of {}", self.path.display())
            })?;
            questions.push(question);
        }
        Ok(questions)
    }

    /// Marks questions resolved, so they leave the unanswered queue. `action` is the intent
    /// they were filed under, or "ignore". Returns how many of `ids` were found.
    pub fn resolve(&mut self, ids: &[u64], action: &str, at_ms: i64) -> anyhow::Result<usize> {
        anyhow::ensure!(!action.trim().is_empty(), "a resolution needs an action");
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        {
            let mut stmt = tx.prepare_cached(
                "UPDATE questions SET resolved = ?1, resolved_at_ms = ?2 WHERE id = ?3",
            )?;
            for &id in ids {
                changed += stmt.execute(params![action, at_ms, to_sql_id(id)])?;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// How many (questions, votes) the database holds.
    pub fn counts(&self) -> anyhow::Result<(u64, u64)> {
        let count = |table: &str| -> anyhow::Result<u64> {
            let n: i64 =
                self.conn
                    .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        };
        Ok((count("questions")?, count("votes")?))
    }
}

/// Discord ids and question numbers are below 2^63 in practice; the cast is a bijection
/// anyway, so any u64 comes back unchanged.
fn to_sql_id(id: u64) -> i64 {
    id as i64
}

fn from_sql_id(id: i64) -> u64 {
    id as u64
}

fn question_from_row(row: &Row<'_>) -> rusqlite::Result<QuestionRecord> {
    let candidates: String = row.get(9)?;
    let candidates = serde_json::from_str(&candidates)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(9, Type::Text, Box::new(e)))?;
    Ok(QuestionRecord {
        id: from_sql_id(row.get(0)?),
        at_ms: row.get(1)?,
        guild: row.get::<_, Option<i64>>(2)?.map(from_sql_id),
        channel: row.get::<_, Option<i64>>(3)?.map(from_sql_id),
        source: row.get(4)?,
        text: row.get(5)?,
        decision: row.get(6)?,
        intent: row.get(7)?,
        confidence: row.get::<_, f64>(8)? as f32,
        candidates,
        engine_version: row.get(10)?,
    })
}

/// careerbot's `PRAGMA application_id`: "cbot" in ASCII. SQLite keeps it in the file
/// header (offset 68), so whose file a database is can be told before anything is written
/// to it. careerbot writes it into every database it creates; earlier versions wrote 0
/// (see [`Identity::Unstamped`]).
pub const APPLICATION_ID: i32 = 0x6362_6F74;

/// Whose database a file is, as read before anything is written to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Identity {
    /// No tables, no application id and schema version 0: a new (or empty) file that
    /// careerbot may fill.
    Empty,
    /// Stamped with [`APPLICATION_ID`]; at this schema version.
    Careerbot(usize),
    /// Written by a careerbot older than the stamp (application id 0): holds exactly the
    /// tables and indexes of careerbot's schema at this version. Stamped when opened for
    /// writing.
    Unstamped(usize),
}

/// Reads whose database `path` is, and refuses one that is not careerbot's with a single
/// line naming the file. Only reads: a refused file is left as it was.
fn identify(conn: &Connection, path: &Path) -> anyhow::Result<Identity> {
    let refuse = |why: String| {
        anyhow::anyhow!(
            "{} is not a careerbot database ({why}); careerbot leaves it untouched: set \
             `[admin] database` to a file of its own",
            path.display()
        )
    };
    let read = || -> rusqlite::Result<(i32, i64, Vec<SchemaObject>)> {
        let id = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok((id, version, schema_objects(conn)?))
    };
    let (id, version, objects) = match read() {
        Ok(read) => read,
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            return Err(refuse("not an SQLite database".to_owned()))
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot read the database {}", path.display())))
        }
    };
    let version_index = usize::try_from(version).unwrap_or(usize::MAX);
    if id == APPLICATION_ID {
        return Ok(Identity::Careerbot(version_index));
    }
    if id != 0 {
        return Err(refuse(format!(
            "its application_id is {id:#x}, careerbot's is {APPLICATION_ID:#x}"
        )));
    }
    if objects.is_empty() && version == 0 {
        return Ok(Identity::Empty);
    }
    if version_index <= SCHEMA_VERSION && objects == schema_at(version_index) {
        return Ok(Identity::Unstamped(version_index));
    }
    let names: Vec<&str> = objects
        .iter()
        .filter(|o| o.kind == "table")
        .map(|o| o.name.as_str())
        .collect();
    Err(refuse(format!(
        "no careerbot application_id, and its schema (user_version {version}, tables: {}) \
         is not one careerbot wrote",
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join(", ")
        }
    )))
}

/// A table, index, view or trigger of a database, as `sqlite_master` lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SchemaObject {
    kind: String,
    name: String,
    table: String,
}

/// The schema objects of `conn` (SQLite's own `sqlite_*` ones left out), sorted.
fn schema_objects(conn: &Connection) -> rusqlite::Result<Vec<SchemaObject>> {
    conn.prepare(
        "SELECT type, name, tbl_name FROM sqlite_master
         WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name, tbl_name",
    )?
    .query_map([], |row| {
        Ok(SchemaObject {
            kind: row.get(0)?,
            name: row.get(1)?,
            table: row.get(2)?,
        })
    })?
    .collect()
}

/// The schema objects careerbot's migrations create up to `version`, built in memory.
fn schema_at(version: usize) -> Vec<SchemaObject> {
    let conn = Connection::open_in_memory().expect("an in-memory database");
    for step in &MIGRATIONS[..version] {
        conn.execute_batch(step).expect("the migrations apply");
    }
    schema_objects(&conn).expect("an in-memory schema reads")
}

/// Opens `path` read-only. A WAL database needs its `-shm` file to be read; in a folder
/// the caller cannot write to, that file cannot be created, and SQLite answers "attempt
/// to write a readonly database". Then, when there is no `-wal` file with changes the
/// database file does not hold yet, the file alone is the whole database and is read as
/// immutable; otherwise the error says what to do.
fn connect_read_only(path: &Path) -> anyhow::Result<Connection> {
    let open = |immutable: bool| -> anyhow::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI;
        let conn = if immutable {
            let absolute = std::path::absolute(path)?;
            let uri = url::Url::from_file_path(&absolute)
                .map_err(|()| anyhow::anyhow!("{} cannot be made a URI", path.display()))?;
            Connection::open_with_flags(format!("{uri}?mode=ro&immutable=1"), flags)
        } else {
            Connection::open_with_flags(path, flags)
        }
        .with_context(|| format!("cannot open the database {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Belt and braces: even a statement that could write is refused.
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    };
    let conn = open(false)?;
    match conn.query_row("SELECT COUNT(*) FROM sqlite_master", [], |_| Ok(())) {
        // "attempt to write a readonly database" when there is no -wal either, "unable to
        // open database file" when there is.
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::CannotOpen
            ) => {}
        _ => return Ok(conn),
    }
    drop(conn);
    let wal = sidecar(path, "-wal");
    if wal.metadata().is_ok_and(|m| m.len() > 0) {
        anyhow::bail!(
            "cannot read the database {}: its folder is read-only to this user, and {} holds \
             changes that SQLite can only read with a -shm file it would have to create \
             there; run the report as a user who can write to the folder, or stop the bot \
             cleanly first (which folds the changes into the database file)",
            path.display(),
            wal.display()
        );
    }
    debug!(path = %path.display(), "read-only folder: reading the database file as immutable");
    open(true)
}

/// `path` with `suffix` appended to its file name (SQLite's `-wal`, `-shm`, `-journal`).
pub fn sidecar(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// The SQL function `careerbot_readable(a, b, ...)`: whether every argument can be read as
/// text (NULL, a number, or TEXT that is valid UTF-8; not a BLOB). Rows failing it are left
/// out of reports and counted, instead of one bad row failing the whole report.
fn register_functions(conn: &Connection) -> anyhow::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "careerbot_readable",
        -1,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            Ok((0..ctx.len()).all(|i| match ctx.get_raw(i) {
                ValueRef::Text(bytes) => std::str::from_utf8(bytes).is_ok(),
                ValueRef::Blob(_) => false,
                ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => true,
            }))
        },
    )?;
    Ok(())
}

/// The condition a question row must meet to be read (see [`register_functions`]).
pub(super) const READABLE_QUESTION: &str =
    "careerbot_readable(source, text, decision, intent, candidates, engine_version)";

fn user_version(conn: &Connection, path: &Path) -> anyhow::Result<usize> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .with_context(|| format!("cannot read the schema version of {}", path.display()))?;
    Ok(usize::try_from(version).unwrap_or(usize::MAX))
}

fn check_not_newer(version: usize, path: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        version <= SCHEMA_VERSION,
        "{} has schema version {version}, newer than this careerbot understands \
         ({SCHEMA_VERSION}): it was written by a newer careerbot; upgrade careerbot",
        path.display()
    );
    Ok(())
}

/// Applies the missing migration steps, each in its own transaction. The version is read
/// again inside a write transaction, so two processes opening a new file cannot both
/// apply the same step.
fn migrate(conn: &mut Connection, path: &Path) -> anyhow::Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version = user_version(&tx, path)?;
        check_not_newer(version, path)?;
        // A new database, or one of a careerbot older than the stamp (`identify` checked
        // its schema): stamped in the same transaction as its first step, if any.
        let id: i32 = tx.pragma_query_value(None, "application_id", |r| r.get(0))?;
        if id == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        let Some(step) = MIGRATIONS.get(version) else {
            if id == 0 {
                tx.commit()?;
            }
            return Ok(());
        };
        tx.execute_batch(step).with_context(|| {
            format!(
                "cannot migrate {} to version {}",
                path.display(),
                version + 1
            )
        })?;
        tx.pragma_update(None, "user_version", (version + 1) as i64)?;
        tx.commit()?;
    }
}

/// Unix time now, in milliseconds: the clock of every stored record.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A batch is committed at once when this many records are pending.
const BATCH_MAX: usize = 5_000;
/// While commits fail, at most this many records are kept; the oldest go first.
const PENDING_MAX: usize = 100_000;
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
    closed: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
    written: Arc<AtomicU64>,
}

impl Writer {
    /// Starts the writer thread, which owns `store`, applying `retention` if any.
    pub fn spawn(store: Store, flush_every: Duration, retention: Option<Retention>) -> Writer {
        let (tx, rx) = mpsc::channel();
        let written = Arc::new(AtomicU64::new(0));
        let batcher = Batcher {
            store,
            flush_every,
            pending: VecDeque::new(),
            due: None,
            failing: false,
            dropped: 0,
            written: Arc::clone(&written),
        };
        let thread = std::thread::Builder::new()
            .name("careerbot-store".to_owned())
            .spawn(move || batcher.run(&rx, retention))
            .expect("cannot start the store writer thread");
        Writer {
            tx,
            closed: AtomicBool::new(false),
            thread: Mutex::new(Some(thread)),
            written,
        }
    }

    /// Queues a record; never blocks. After [`Writer::close`] this does nothing.
    pub fn send(&self, record: Record) {
        if self.closed.load(Ordering::Acquire) || self.tx.send(Message::Record(record)).is_err() {
            debug!("the store writer is closed; a record was not stored");
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
    /// Records received and not yet committed, oldest first.
    pending: VecDeque<Record>,
    /// When the pending records must be committed.
    due: Option<Instant>,
    /// The last commit failed: wait for `due` instead of retrying on every full batch.
    failing: bool,
    /// Records dropped since the last successful commit.
    dropped: u64,
    written: Arc<AtomicU64>,
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
                        return;
                    }
                }
                Ok(Message::Close) | Err(RecvTimeoutError::Disconnected) => {
                    let drained = self.drain(rx);
                    self.commit();
                    for done in drained.flushes {
                        let _ = done.send(());
                    }
                    return;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.due.is_some_and(|due| Instant::now() >= due) {
                        self.commit();
                    }
                }
            }
        }
    }

    fn push(&mut self, record: Record) {
        if self.pending.len() >= PENDING_MAX {
            self.pending.pop_front();
            if self.dropped == 0 {
                warn!(
                    kept = PENDING_MAX,
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
                Message::Record(record) => self.push(record),
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
                    warn!(dropped = self.dropped, "the database accepts records again");
                    self.dropped = 0;
                }
            }
            Err(e) => {
                error!(
                    pending = self.pending.len(),
                    "cannot write to the database (will retry): {e:#}"
                );
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

#[cfg(test)]
mod tests {
    use super::*;

    fn question(id: u64, at_ms: i64, text: &str, decision: &str, confidence: f32) -> Record {
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
        })
    }

    fn vote(question: u64, at_ms: i64, up: bool) -> Record {
        Record::Vote(VoteRecord {
            at_ms,
            question,
            intent: "salary".to_owned(),
            up,
        })
    }

    fn temp_db() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/careerbot.sqlite3");
        (dir, path)
    }

    #[test]
    fn records_round_trip_and_replays_do_not_fail() {
        let (_dir, path) = temp_db();
        let mut store = Store::open(&path).unwrap();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let records = vec![
            question(
                1,
                1_000,
                "how much do backend engineers earn",
                "answer",
                0.9,
            ),
            vote(1, 1_500, true),
        ];
        store.write(&records).unwrap();
        store.write(&records[..1]).unwrap();
        let questions = store.questions_since(0).unwrap();
        assert_eq!(questions.len(), 1);
        assert_eq!(Record::Question(questions[0].clone()), records[0]);
        assert_eq!(
            store.votes_since(0).unwrap(),
            vec![VoteRecord {
                at_ms: 1_500,
                question: 1,
                intent: "salary".to_owned(),
                up: true
            }]
        );
        assert!(store.questions_since(1_001).unwrap().is_empty());
        assert_eq!(store.counts().unwrap(), (1, 1));
    }

    /// `value` goes into SQLite as `text` and comes back from it.
    fn stored_as<T: ToSql + FromSql + PartialEq + std::fmt::Debug>(value: T, text: &str) {
        let conn = Connection::open_in_memory().unwrap();
        let stored: String = conn.query_row("SELECT ?1", [&value], |r| r.get(0)).unwrap();
        assert_eq!(stored, text);
        let read: T = conn.query_row("SELECT ?1", [text], |r| r.get(0)).unwrap();
        assert_eq!(read, value);
    }

    #[test]
    fn sources_and_outcomes_keep_their_stored_text_and_strangers_are_refused() {
        for (source, text) in [
            (Source::Mention, "mention"),
            (Source::Dm, "dm"),
            (Source::Channel, "channel"),
            (Source::Forum, "forum"),
            (Source::Thread, "thread"),
            (Source::Slash, "slash"),
            (Source::Button, "button"),
        ] {
            stored_as(source, text);
        }
        for (outcome, text) in [
            (Outcome::Answer, "answer"),
            (Outcome::Clarify, "clarify"),
            (Outcome::Fallback, "fallback"),
            (Outcome::Decline, "decline"),
            (Outcome::Unconfident, "unconfident"),
        ] {
            stored_as(outcome, text);
        }
        let conn = Connection::open_in_memory().unwrap();
        let error = conn
            .query_row("SELECT 'Answer'", [], |r| r.get::<_, Outcome>(0))
            .unwrap_err();
        assert!(
            error.to_string().contains("not a stored outcome"),
            "{error}"
        );
    }

    #[test]
    fn the_unanswered_queue_and_resolution() {
        let (_dir, path) = temp_db();
        let mut store = Store::open(&path).unwrap();
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
        let Record::Question(mut post) = question(8, 150, "post left alone", "unconfident", 0.6)
        else {
            unreachable!()
        };
        post.source = Source::Forum;
        store.write(&[Record::Question(post)]).unwrap();
        let ids = |qs: Vec<QuestionRecord>| qs.iter().map(|q| q.id).collect::<Vec<_>>();
        assert_eq!(ids(store.unanswered(100, 0.5, 10).unwrap()), [4, 3, 2, 8]);
        assert_eq!(ids(store.unanswered(100, 0.5, 2).unwrap()), [4, 3]);
        assert_eq!(ids(store.unanswered(0, 0.25, 10).unwrap()), [4, 3, 8, 6]);
        assert_eq!(store.resolve(&[3, 4, 8, 99], "salary", 600).unwrap(), 3);
        assert_eq!(ids(store.unanswered(0, 0.5, 10).unwrap()), [2, 6]);
        assert!(store.resolve(&[2], " ", 600).is_err());
    }

    #[test]
    fn old_records_are_deleted() {
        let (_dir, path) = temp_db();
        let mut store = Store::open(&path).unwrap();
        store
            .write(&[
                question(1, 100, "old", "answer", 0.9),
                question(2, 300, "new", "answer", 0.9),
                vote(1, 150, false),
                vote(2, 350, true),
            ])
            .unwrap();
        assert_eq!(store.delete_older_than(200).unwrap(), 2);
        assert_eq!(store.counts().unwrap(), (1, 1));
        assert_eq!(store.questions_since(0).unwrap()[0].id, 2);
    }

    #[test]
    fn migrations_are_idempotent_and_newer_databases_refused() {
        let (_dir, path) = temp_db();
        Store::open(&path)
            .unwrap()
            .write(&[question(1, 100, "kept", "answer", 0.9)])
            .unwrap();
        let store = Store::open(&path).unwrap();
        assert_eq!(user_version(&store.conn, &path).unwrap(), SCHEMA_VERSION);
        assert_eq!(store.counts().unwrap(), (1, 0));
        store
            .conn
            .pragma_update(None, "user_version", SCHEMA_VERSION as i64 + 1)
            .unwrap();
        drop(store);
        for error in [
            Store::open(&path).unwrap_err(),
            Store::open_read_only(&path).unwrap_err(),
        ] {
            let error = format!("{error:#}");
            assert!(error.contains("newer than this careerbot"), "{error}");
        }
    }

    /// The bytes and modification time of `path`, and which of SQLite's side files exist.
    fn snapshot(path: &Path) -> (Vec<u8>, SystemTime, Vec<bool>) {
        let sides = ["-wal", "-shm", "-journal"]
            .iter()
            .map(|suffix| sidecar(path, suffix).exists())
            .collect();
        let modified = std::fs::metadata(path).unwrap().modified().unwrap();
        (std::fs::read(path).unwrap(), modified, sides)
    }

    #[test]
    fn another_programs_database_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let foreign = dir.path().join("notes.sqlite3");
        // Another program's file: its own table, user_version 0, the default DELETE journal.
        Connection::open(&foreign)
            .unwrap()
            .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
        // Careerbot's very tables, but another program's application id.
        let claimed = dir.path().join("claimed.sqlite3");
        let conn = Connection::open(&claimed).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.pragma_update(None, "application_id", 42).unwrap();
        drop(conn);
        // Not SQLite at all.
        let text = dir.path().join("notes.txt");
        std::fs::write(&text, "these are my notes, not a database\n".repeat(200)).unwrap();

        for (path, why) in [
            (&foreign, "tables: notes"),
            (&claimed, "application_id is 0x2a"),
            (&text, "not an SQLite database"),
        ] {
            let before = snapshot(path);
            assert_eq!(before.2, [false, false, false]);
            for error in [
                Store::open(path).unwrap_err(),
                Store::open_read_only(path).unwrap_err(),
            ] {
                let error = format!("{error:#}");
                assert!(
                    error.contains(&format!("{} is not a careerbot database", path.display()))
                        && error.contains(why)
                        && !error.contains('\n'),
                    "{error}"
                );
            }
            assert!(snapshot(path) == before, "{} changed", path.display());
        }
        let notes: String = Connection::open(&foreign)
            .unwrap()
            .query_row("SELECT body FROM notes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(notes, "mine");
    }

    #[test]
    fn new_databases_are_stamped_and_older_careerbot_ones_still_open() {
        let application_id = |conn: &Connection| -> i32 {
            conn.pragma_query_value(None, "application_id", |r| r.get(0))
                .unwrap()
        };
        let (dir, path) = temp_db();
        let store = Store::open(&path).unwrap();
        assert_eq!(application_id(&store.conn), APPLICATION_ID);
        drop(store);
        // An empty file (as `touch` leaves it) is a new database too.
        let empty = dir.path().join("empty.sqlite3");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(
            application_id(&Store::open(&empty).unwrap().conn),
            APPLICATION_ID
        );

        // As careerbot wrote it before the stamp: WAL, schema version 1, application id 0.
        let older = dir.path().join("older.sqlite3");
        let conn = Connection::open(&older).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO questions (id, at_ms, source, text, decision, confidence, candidates,
                                    engine_version)
             VALUES (1, 100, 'dm', 'old question', 'fallback', 0.1, '[]', '0.0.9')",
        )
        .unwrap();
        drop(conn);
        // Read-only, it is read as it is...
        let reader = Store::open_read_only(&older).unwrap();
        assert_eq!(reader.counts().unwrap(), (1, 0));
        assert_eq!(application_id(&reader.conn), 0);
        drop(reader);
        // ...and opened for writing, it is stamped and keeps its rows.
        let store = Store::open(&older).unwrap();
        assert_eq!(application_id(&store.conn), APPLICATION_ID);
        assert_eq!(store.counts().unwrap(), (1, 0));
        drop(store);

        // An unstamped database with a table careerbot never made is not careerbot's.
        let extended = dir.path().join("extended.sqlite3");
        let conn = Connection::open(&extended).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch("CREATE TABLE extra (x)").unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let error = format!("{:#}", Store::open(&extended).unwrap_err());
        assert!(error.contains("tables: extra, questions, votes"), "{error}");
    }

    #[test]
    fn a_read_only_store_cannot_write() {
        let (_dir, path) = temp_db();
        Store::open(&path).unwrap();
        let reader = Store::open_read_only(&path).unwrap();
        let error = reader
            .conn
            .execute_batch("CREATE TABLE t (x)")
            .unwrap_err()
            .to_string();
        assert!(error.contains("readonly"), "{error}");
    }

    #[test]
    fn read_only_needs_an_existing_careerbot_database() {
        let (dir, path) = temp_db();
        let error = format!("{:#}", Store::open_read_only(&path).unwrap_err());
        assert!(
            error.contains("no database at") && error.contains("first run"),
            "{error}"
        );
        assert!(!path.exists(), "a read-only open must not create the file");
        let other = dir.path().join("other.sqlite3");
        Connection::open(&other)
            .unwrap()
            .execute_batch("CREATE TABLE t (x)")
            .unwrap();
        let error = format!("{:#}", Store::open_read_only(&other).unwrap_err());
        assert!(error.contains("not a careerbot database"), "{error}");
        let empty = dir.path().join("empty.sqlite3");
        std::fs::write(&empty, "").unwrap();
        let error = format!("{:#}", Store::open_read_only(&empty).unwrap_err());
        assert!(error.contains("schema version 0"), "{error}");
        Store::open(&path)
            .unwrap()
            .write(&[question(1, 100, "q", "answer", 0.9)])
            .unwrap();
        let store = Store::open_read_only(&path).unwrap();
        assert_eq!(store.counts().unwrap(), (1, 0));
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
        let (_dir, path) = temp_db();
        let writer = Writer::spawn(Store::open(&path).unwrap(), Duration::from_millis(50), None);
        writer.send(question(1, 100, "q", "answer", 0.9));
        writer.send(vote(1, 110, true));
        let reader = Store::open(&path).unwrap();
        assert!(eventually(Duration::from_secs(5), || writer.written() == 2));
        assert_eq!(reader.counts().unwrap(), (1, 1));
    }

    #[test]
    fn flush_and_close_commit_everything_and_it_survives_a_restart() {
        let (_dir, path) = temp_db();
        // A window far longer than the test: only flush() and close() can commit.
        let writer = Writer::spawn(Store::open(&path).unwrap(), Duration::from_secs(3600), None);
        for id in 0..6_000 {
            writer.send(question(id, 100 + id as i64, "q", "fallback", 0.1));
        }
        writer.flush();
        assert_eq!(writer.written(), 6_000);
        assert_eq!(Store::open(&path).unwrap().counts().unwrap(), (6_000, 0));
        writer.send(vote(1, 200, false));
        writer.close();
        assert_eq!(writer.written(), 6_001);
        writer.send(vote(2, 300, true));
        writer.flush();
        writer.close();
        drop(writer);
        let reopened = Store::open_read_only(&path).unwrap();
        assert_eq!(reopened.counts().unwrap(), (6_000, 1));
    }

    #[test]
    fn dropping_the_writer_commits() {
        let (_dir, path) = temp_db();
        let writer = Writer::spawn(Store::open(&path).unwrap(), Duration::from_secs(3600), None);
        writer.send(question(1, 100, "q", "answer", 0.9));
        drop(writer);
        assert_eq!(Store::open(&path).unwrap().counts().unwrap(), (1, 0));
    }

    #[test]
    fn the_writer_applies_retention_at_start_and_then_again_every_period() {
        let (_dir, path) = temp_db();
        let now = now_ms();
        let day = 86_400_000;
        let mut store = Store::open(&path).unwrap();
        store
            .write(&[
                question(1, now - 10 * day, "old", "answer", 0.9),
                vote(1, now - 10 * day, true),
                question(2, now - day, "recent", "answer", 0.9),
            ])
            .unwrap();
        let retention = Retention {
            keep: Duration::from_secs(7 * 86_400),
            every: Duration::from_millis(100),
        };
        let writer = Writer::spawn(store, Duration::from_millis(50), Some(retention));
        writer.flush();
        let mut reader = Store::open(&path).unwrap();
        assert_eq!(reader.counts().unwrap(), (1, 0));
        assert_eq!(reader.questions_since(0).unwrap()[0].id, 2);
        // A record that became old since (written here by another connection) goes at the
        // next run.
        reader
            .write(&[question(3, now - 8 * day, "aged", "answer", 0.9)])
            .unwrap();
        assert_eq!(reader.counts().unwrap(), (2, 0));
        assert!(eventually(Duration::from_secs(5), || {
            reader.counts().unwrap() == (1, 0)
        }));
        drop(writer);
    }

    #[test]
    fn a_failed_commit_is_retried_with_the_next_batch() {
        let (_dir, path) = temp_db();
        let writer = Writer::spawn(Store::open(&path).unwrap(), Duration::from_millis(20), None);
        // A trigger makes every insert into `votes` fail while `blocked` has a row.
        let admin = Store::open(&path).unwrap();
        admin
            .conn
            .execute_batch(
                "CREATE TABLE blocked (x);
                 INSERT INTO blocked VALUES (1);
                 CREATE TRIGGER refuse BEFORE INSERT ON votes
                 WHEN EXISTS (SELECT 1 FROM blocked)
                 BEGIN SELECT RAISE(ABORT, 'blocked for the test'); END;",
            )
            .unwrap();
        writer.send(question(1, 100, "q", "answer", 0.9));
        writer.send(vote(1, 110, true));
        writer.flush();
        assert_eq!(writer.written(), 0, "the batch must have failed");
        admin.conn.execute_batch("DELETE FROM blocked").unwrap();
        writer.send(vote(1, 120, false));
        writer.flush();
        assert_eq!(writer.written(), 3);
        assert_eq!(admin.counts().unwrap(), (1, 2));
    }
}
