//! The SQLite backend of the store: one file, the embedded default.
//!
//! The schema is versioned in code ([`MIGRATIONS`], tracked with `PRAGMA user_version`); a
//! database newer than this code is refused, and so is a file that is not careerbot's
//! ([`APPLICATION_ID`]), before anything is written to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use rusqlite::types::{Type, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use tracing::debug;

use super::{
    count, from_sql_id, legacy_vote_id, page_bound, to_sql_id, Aggregates, OlderSchema,
    QuestionRecord, Record, Servers, StoredQuestion, VoteRecord,
};
use crate::admin::audit::AuditEntry;
use crate::admin::guilds::{GuildSettings, StoredGuild};
use crate::admin::report::{Day, Helpfulness, IntentCount};
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
    // 2: votes get their own number (from the bot's question numbers), so a vote copied or
    // replayed is stored once. Votes written before are numbered by `number_old_votes`.
    "ALTER TABLE votes ADD COLUMN id INTEGER;
     CREATE UNIQUE INDEX votes_id ON votes(id);",
    // 3: the published version of the intent set that answered (PostgreSQL stores publish
    // versions; an SQLite bot serves its directory, so NULL here, but the schemas match).
    "ALTER TABLE questions ADD COLUMN intent_version INTEGER;",
    // 4: each server's own settings (`/careerbot settings`); NULL follows the config file.
    "CREATE TABLE guild_settings (
         guild                  INTEGER PRIMARY KEY,
         answer_channels        TEXT,     -- channel ids separated by commas; '' for none
         admin_channel          INTEGER,  -- 0 for none
         channel_min_confidence REAL,
         updated_at_ms          INTEGER NOT NULL,
         revision               INTEGER NOT NULL DEFAULT 0  -- one up per change
     );",
    // 5: the audit log of admins' changes (see `crate::admin::audit`): the one table that
    // keeps a person's id, the admin's.
    "CREATE TABLE audit_log (
         id       INTEGER PRIMARY KEY,  -- the time's ms, then 20 bits of the entry's digest
         at_ms    INTEGER NOT NULL,
         admin    TEXT NOT NULL,        -- the admin's display name
         admin_id INTEGER,              -- the admin's Discord user id; NULL: the dashboard's
         via      TEXT NOT NULL,        -- 'discord' or 'dashboard'
         guild    INTEGER,
         action   TEXT NOT NULL,        -- 'file_example', 'ignore_group', 'settings', ...
         detail   TEXT NOT NULL,
         outcome  TEXT NOT NULL         -- 'done', 'refused: ...' or 'failed: ...'
     );
     CREATE INDEX audit_log_at_ms ON audit_log(at_ms);",
    // 6: each server's own forum channels (`/careerbot settings`); NULL follows the file.
    "ALTER TABLE guild_settings ADD COLUMN forum_channels TEXT;",
];

/// The schema version this code writes.
const SCHEMA_VERSION: usize = MIGRATIONS.len();

const QUESTION_COLUMNS: &str = "id, at_ms, guild, channel, source, text, decision, intent, \
     confidence, candidates, engine_version, intent_version";

const AUDIT_COLUMNS: &str = "id, at_ms, admin, admin_id, via, guild, action, detail, outcome";

/// A connection to an SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating it and its directory when missing) and migrates the database. A
    /// file that is not careerbot's (see [`APPLICATION_ID`]) is refused before anything is
    /// written to it, so pointing `[admin] database` at another program's file cannot
    /// change it.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStore> {
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
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
        })
    }

    /// Opens an existing database for reading only (reports); never creates, migrates or
    /// writes anything, so it also works on a database in a folder the caller cannot
    /// write to (see [`connect_read_only`]).
    pub fn open_read_only(path: &Path) -> anyhow::Result<SqliteStore> {
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
        if version < SCHEMA_VERSION {
            return Err(OlderSchema {
                database: path.display().to_string(),
                found: version,
                current: SCHEMA_VERSION,
            }
            .into());
        }
        register_functions(&conn)?;
        Ok(SqliteStore {
            conn,
            path: path.to_owned(),
        })
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `records` in one transaction. A record already stored (same id) is left
    /// as it is, so replaying a batch cannot fail.
    pub fn write(&mut self, records: &[Record]) -> anyhow::Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut audit = tx.prepare_cached(INSERT_AUDIT)?;
            let mut question = tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO questions ({QUESTION_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ))?;
            let mut vote = tx.prepare_cached(
                "INSERT OR IGNORE INTO votes (id, at_ms, question, intent, up) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
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
                            q.intent_version,
                        ])?;
                    }
                    Record::Vote(v) => {
                        vote.execute(params![
                            to_sql_id(v.id),
                            v.at_ms,
                            to_sql_id(v.question),
                            v.intent,
                            v.up
                        ])?;
                    }
                    Record::Audit(entry) => {
                        insert_audit(&mut audit, &entry.stored())?;
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
            "SELECT id, at_ms, question, intent, up FROM votes WHERE at_ms >= ?1 \
             ORDER BY at_ms, rowid",
        )?;
        let rows = stmt.query_map([since_ms], |row| {
            Ok(VoteRecord {
                id: from_sql_id(row.get(0)?),
                at_ms: row.get(1)?,
                question: from_sql_id(row.get(2)?),
                intent: row.get(3)?,
                up: row.get(4)?,
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
        self.unanswered_between(since_ms, i64::MAX, below, limit, &Servers::All)
    }

    /// [`Store::unanswered`] for questions asked in `[since_ms, until_ms)`.
    pub(super) fn unanswered_between(
        &self,
        since_ms: i64,
        until_ms: i64,
        below: f32,
        limit: usize,
        servers: &Servers,
    ) -> anyhow::Result<Vec<QuestionRecord>> {
        let servers = servers.questions_sql();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {QUESTION_COLUMNS} FROM questions
             WHERE at_ms >= ?1 AND at_ms < ?2 AND resolved IS NULL
               AND (decision = 'fallback'
                    OR (decision IN ('answer', 'clarify') AND confidence < ?3)
                    OR (decision = 'unconfident' AND source = 'forum'))
               AND {READABLE_QUESTION} AND {servers}
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

    /// Up to `limit` questions with their triage state, by number, after `after` (from
    /// the first when `None`): for copying a store.
    pub fn questions_page(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<StoredQuestion>> {
        let (bound, op) = page_bound(after);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {QUESTION_COLUMNS}, resolved, resolved_at_ms FROM questions
             WHERE id {op} ?1 AND {READABLE_QUESTION} AND careerbot_readable(resolved)
             ORDER BY id LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![bound, limit], |row| {
            Ok(StoredQuestion {
                record: question_from_row(row)?,
                resolved: row.get(12)?,
                resolved_at_ms: row.get(13)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Up to `limit` votes, by number, after `after` (from the first when `None`).
    pub fn votes_page(&self, after: Option<u64>, limit: usize) -> anyhow::Result<Vec<VoteRecord>> {
        let (bound, op) = page_bound(after);
        let mut stmt = self.conn.prepare(&format!(
            "SELECT id, at_ms, question, intent, up FROM votes
             WHERE id {op} ?1 AND careerbot_readable(intent) ORDER BY id LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![bound, limit], |row| {
            Ok(VoteRecord {
                id: from_sql_id(row.get(0)?),
                at_ms: row.get(1)?,
                question: from_sql_id(row.get(2)?),
                intent: row.get(3)?,
                up: row.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Rows no page reads, as their text is not valid UTF-8 (or a BLOB): how many, and the
    /// numbers of the first few questions among them.
    pub fn unreadable(&self, named: usize) -> anyhow::Result<(u64, Vec<u64>)> {
        let rows: i64 = self.conn.query_row(
            &format!(
                "SELECT (SELECT COUNT(*) FROM questions
                         WHERE NOT ({READABLE_QUESTION} AND careerbot_readable(resolved)))
                      + (SELECT COUNT(*) FROM votes WHERE NOT careerbot_readable(intent))
                      + (SELECT COUNT(*) FROM audit_log WHERE NOT {READABLE_AUDIT})"
            ),
            [],
            |row| row.get(0),
        )?;
        let named = i64::try_from(named).unwrap_or(i64::MAX);
        let ids = self
            .conn
            .prepare(&format!(
                "SELECT id FROM questions
                 WHERE NOT ({READABLE_QUESTION} AND careerbot_readable(resolved))
                 ORDER BY id LIMIT ?1"
            ))?
            .query_map([named], |row| row.get::<_, i64>(0).map(from_sql_id))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((count(rows), ids))
    }

    /// How many of these question and vote numbers are stored.
    pub fn present(&self, questions: &[u64], votes: &[u64]) -> anyhow::Result<(usize, usize)> {
        let mut found = (0, 0);
        for (table, ids, count) in [
            ("questions", questions, &mut found.0),
            ("votes", votes, &mut found.1),
        ] {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?;
            for &id in ids {
                if stmt.exists([to_sql_id(id)])? {
                    *count += 1;
                }
            }
        }
        Ok(found)
    }

    /// Sets the triage state of questions that have none yet; returns how many changed.
    pub fn carry_resolutions(&mut self, resolved: &[(u64, String, i64)]) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        {
            let mut stmt = tx.prepare(
                "UPDATE questions SET resolved = ?1, resolved_at_ms = ?2
                 WHERE id = ?3 AND resolved IS NULL",
            )?;
            for (id, action, at_ms) in resolved {
                changed += stmt.execute(params![action, at_ms, to_sql_id(*id)])?;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// Every server's own settings; a row that cannot be read is logged and left out.
    pub fn guild_settings(&self) -> anyhow::Result<Vec<StoredGuild>> {
        let rows = self
            .conn
            .prepare(
                "SELECT guild, answer_channels, admin_channel, channel_min_confidence, \
                 forum_channels, updated_at_ms, revision FROM guild_settings",
            )?
            .query_map([], |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    settings_from_row(row, 1),
                    row.get::<_, i64>(5)?,
                    row.get::<_, i64>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows
            .into_iter()
            .filter_map(|(guild, settings, at, revision)| {
                super::stored_guild(from_sql_id(guild), settings, at, revision)
            })
            .collect())
    }

    /// Changes one server's settings with `edit`, in a transaction that no other writer can
    /// interleave with; stores the result, one revision up, when it differs. Returns the
    /// settings after, and what `edit` returned.
    pub fn edit_guild_settings<T>(
        &mut self,
        guild: u64,
        at_ms: i64,
        edit: impl FnOnce(&mut GuildSettings) -> T,
    ) -> anyhow::Result<(StoredGuild, T)> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = tx
            .query_row(
                "SELECT answer_channels, admin_channel, channel_min_confidence, forum_channels, \
                 updated_at_ms, revision FROM guild_settings WHERE guild = ?1",
                [to_sql_id(guild)],
                |row| {
                    let settings = settings_from_row(row, 0);
                    Ok((settings, row.get::<_, i64>(4)?, row.get::<_, i64>(5)?))
                },
            )
            .optional()?;
        let (settings, read) = match row {
            None => (Ok(GuildSettings::default()), (at_ms, 0)),
            Some((settings, at, revision)) => (settings, (at, revision)),
        };
        let (stored, changed, out) = super::edit_stored(guild, settings, read, at_ms, edit);
        if changed {
            let after = &stored.settings;
            tx.execute(
                "INSERT OR REPLACE INTO guild_settings (guild, answer_channels, admin_channel, \
                 channel_min_confidence, forum_channels, updated_at_ms, revision) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    to_sql_id(guild),
                    after.channels_column(),
                    after.admin_channel.map(to_sql_id),
                    after.channel_min_confidence.map(f64::from),
                    after.forums_column(),
                    stored.updated_at_ms,
                    stored.revision
                ],
            )?;
            tx.commit()?;
        }
        Ok((stored, out))
    }

    /// Stores the settings of servers that have none here yet; returns how many.
    pub fn add_guild_settings(&mut self, guilds: &[StoredGuild]) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare(
                "INSERT OR IGNORE INTO guild_settings (guild, answer_channels, admin_channel, \
                 channel_min_confidence, forum_channels, updated_at_ms, revision) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for stored in guilds.iter().filter(|g| !g.settings.is_default()) {
                let settings = &stored.settings;
                added += stmt.execute(params![
                    to_sql_id(stored.guild),
                    settings.channels_column(),
                    settings.admin_channel.map(to_sql_id),
                    settings.channel_min_confidence.map(f64::from),
                    settings.forums_column(),
                    stored.updated_at_ms,
                    stored.revision
                ])?;
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Up to `limit` audit entries numbered below `before`, newest first; an entry whose
    /// text is not valid UTF-8 (written by another program) is left out.
    pub fn audit_log(&self, before: i64, limit: usize) -> anyhow::Result<Vec<AuditEntry>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id < ?1 AND {READABLE_AUDIT}
             ORDER BY id DESC LIMIT ?2"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![before, limit], |row| {
            Ok(AuditEntry {
                id: from_sql_id(row.get(0)?),
                at_ms: row.get(1)?,
                admin: row.get(2)?,
                admin_id: row.get::<_, Option<i64>>(3)?.map(from_sql_id),
                via: row.get(4)?,
                guild: row.get::<_, Option<i64>>(5)?.map(from_sql_id),
                action: row.get(6)?,
                detail: row.get(7)?,
                outcome: row.get(8)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores the audit entries (numbered, cut) not stored yet; returns how many.
    pub fn add_audit(&mut self, entries: &[AuditEntry]) -> anyhow::Result<usize> {
        let tx = self.conn.transaction()?;
        let mut added = 0;
        {
            let mut stmt = tx.prepare_cached(INSERT_AUDIT)?;
            for entry in entries {
                added += insert_audit(&mut stmt, entry)?;
            }
        }
        tx.commit()?;
        Ok(added)
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

impl SqliteStore {
    /// The aggregate figures of `[since_ms, until_ms)` (see [`Aggregates`]): computed by
    /// SQLite, so a report over months reads no rows it does not show.
    pub fn aggregates(
        &self,
        since_ms: i64,
        until_ms: i64,
        top: usize,
        skipped_named: usize,
        servers: &Servers,
    ) -> anyhow::Result<Aggregates> {
        let conn = &self.conn;
        let (questions_in, votes_in) = (servers.questions_sql(), servers.votes_sql());
        let range = [since_ms, until_ms];
        let per_day = conn
            .prepare(&format!(
                "SELECT date(at_ms / 1000, 'unixepoch') AS day, COUNT(*),
                        SUM(decision = 'answer'), SUM(decision = 'clarify'),
                        SUM(decision = 'fallback'), SUM(decision = 'decline')
                 FROM questions
                 WHERE at_ms >= ?1 AND at_ms < ?2 AND {READABLE_QUESTION} AND {questions_in}
                 GROUP BY day ORDER BY day"
            ))?
            .query_map(range, |row| {
                Ok(Day {
                    day: row.get(0)?,
                    questions: count(row.get(1)?),
                    answers: count(row.get(2)?),
                    clarifications: count(row.get(3)?),
                    fallbacks: count(row.get(4)?),
                    declines: count(row.get(5)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let responded: i64 = conn.query_row(
            &format!(
                "SELECT COUNT(*) FROM questions
                 WHERE at_ms >= ?1 AND at_ms < ?2 AND decision <> 'unconfident'
                   AND {READABLE_QUESTION} AND {questions_in}"
            ),
            range,
            |row| row.get(0),
        )?;
        let top = i64::try_from(top).unwrap_or(i64::MAX);
        let top_intents = conn
            .prepare(&format!(
                "SELECT intent, COUNT(*) AS n FROM questions
                 WHERE at_ms >= ?1 AND at_ms < ?2 AND decision = 'answer'
                   AND intent IS NOT NULL AND {READABLE_QUESTION} AND {questions_in}
                 GROUP BY intent ORDER BY n DESC, intent LIMIT ?3"
            ))?
            .query_map(params![since_ms, until_ms, top], |row| {
                Ok(IntentCount {
                    intent: row.get(0)?,
                    count: count(row.get(1)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let helpfulness = conn
            .prepare(&format!(
                "SELECT intent, SUM(up <> 0), SUM(up = 0) FROM votes
                 WHERE at_ms >= ?1 AND at_ms < ?2 AND careerbot_readable(intent) AND {votes_in}
                 GROUP BY intent ORDER BY COUNT(*) DESC, intent"
            ))?
            .query_map(range, |row| {
                Ok(Helpfulness::new(
                    row.get(0)?,
                    count(row.get(1)?),
                    count(row.get(2)?),
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let skipped_rows: i64 = conn.query_row(
            &format!(
                "SELECT (SELECT COUNT(*) FROM questions
                         WHERE at_ms >= ?1 AND at_ms < ?2 AND NOT {READABLE_QUESTION})
                      + (SELECT COUNT(*) FROM votes
                         WHERE at_ms >= ?1 AND at_ms < ?2 AND NOT careerbot_readable(intent))"
            ),
            range,
            |row| row.get(0),
        )?;
        let skipped_named = i64::try_from(skipped_named).unwrap_or(i64::MAX);
        let skipped_questions = conn
            .prepare(&format!(
                "SELECT id FROM questions
                 WHERE at_ms >= ?1 AND at_ms < ?2 AND NOT {READABLE_QUESTION}
                 ORDER BY id LIMIT ?3"
            ))?
            .query_map(params![since_ms, until_ms, skipped_named], |row| {
                row.get::<_, i64>(0).map(from_sql_id)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Aggregates {
            per_day,
            responded: count(responded),
            top_intents,
            helpfulness,
            skipped_rows: count(skipped_rows),
            skipped_questions,
        })
    }
}

const INSERT_AUDIT: &str = "INSERT OR IGNORE INTO audit_log \
     (id, at_ms, admin, admin_id, via, guild, action, detail, outcome) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// Inserts one audit entry, as [`AuditEntry::stored`] made it, with [`INSERT_AUDIT`];
/// 1 when it was new, 0 when its number was there already.
fn insert_audit(
    stmt: &mut rusqlite::CachedStatement<'_>,
    entry: &AuditEntry,
) -> rusqlite::Result<usize> {
    stmt.execute(params![
        to_sql_id(entry.id),
        entry.at_ms,
        entry.admin,
        entry.admin_id.map(to_sql_id),
        entry.via,
        entry.guild.map(to_sql_id),
        entry.action,
        entry.detail,
        entry.outcome,
    ])
}

/// A server's settings from the four columns of `row` from `first` on (answer channels,
/// admin channel, threshold, forum channels); an error (a value of the wrong type, say)
/// names what is wrong instead of failing the whole read.
fn settings_from_row(row: &Row<'_>, first: usize) -> Result<GuildSettings, String> {
    let read = || -> rusqlite::Result<_> {
        Ok((
            row.get::<_, Option<String>>(first)?,
            row.get::<_, Option<i64>>(first + 1)?,
            row.get::<_, Option<f64>>(first + 2)?,
            row.get::<_, Option<String>>(first + 3)?,
        ))
    };
    let (channels, admin, threshold, forums) = read().map_err(|e| e.to_string())?;
    GuildSettings::from_columns(
        channels.as_deref(),
        forums.as_deref(),
        admin.map(from_sql_id),
        threshold,
    )
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
        intent_version: row.get(11)?,
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

/// The condition an audit row must meet to be read.
const READABLE_AUDIT: &str = "careerbot_readable(admin, via, action, detail, outcome)";

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

/// The schema version that gave votes their numbers.
const VOTE_IDS: usize = 2;

/// Gives the votes stored before [`VOTE_IDS`] their numbers ([`legacy_vote_id`]), in the
/// migration's transaction.
fn number_old_votes(tx: &Connection) -> rusqlite::Result<()> {
    let old: Vec<(i64, i64, i64)> = tx
        .prepare("SELECT rowid, at_ms, question FROM votes WHERE id IS NULL")?
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
        .collect::<Result<_, _>>()?;
    let mut number = tx.prepare("UPDATE votes SET id = ?1 WHERE rowid = ?2")?;
    for (rowid, at_ms, question) in old {
        let id = legacy_vote_id(rowid, at_ms, from_sql_id(question));
        number.execute([to_sql_id(id), rowid])?;
    }
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
        let apply = || -> anyhow::Result<()> {
            tx.execute_batch(step)?;
            if version + 1 == VOTE_IDS {
                number_old_votes(&tx)?;
            }
            Ok(())
        };
        apply().with_context(|| {
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

/// Creates the database `path` as careerbot left it at schema `version` (an older
/// careerbot's, for tests of the upgrade).
#[cfg(test)]
pub(super) fn create_at_version(path: &Path, version: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    for step in &MIGRATIONS[..version] {
        conn.execute_batch(step).unwrap();
    }
    conn.pragma_update(None, "user_version", version as i64)
        .unwrap();
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::store::testing::{question, vote};
    use crate::admin::store::{Outcome, Source, Store, Writer};
    use rusqlite::types::FromSql;
    use rusqlite::ToSql;
    use std::time::SystemTime;

    fn temp_db() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/dir/careerbot.sqlite3");
        (dir, path)
    }

    #[test]
    fn a_new_database_is_in_wal_mode() {
        let (_dir, path) = temp_db();
        let store = SqliteStore::open(&path).unwrap();
        let mode: String = store
            .conn
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
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
    fn migrations_are_idempotent_and_newer_databases_refused() {
        let (_dir, path) = temp_db();
        SqliteStore::open(&path)
            .unwrap()
            .write(&[question(1, 100, "kept", "answer", 0.9)])
            .unwrap();
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(user_version(&store.conn, &path).unwrap(), SCHEMA_VERSION);
        assert_eq!(store.counts().unwrap(), (1, 0));
        store
            .conn
            .pragma_update(None, "user_version", SCHEMA_VERSION as i64 + 1)
            .unwrap();
        drop(store);
        for error in [
            SqliteStore::open(&path).unwrap_err(),
            SqliteStore::open_read_only(&path).unwrap_err(),
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
                SqliteStore::open(path).unwrap_err(),
                SqliteStore::open_read_only(path).unwrap_err(),
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
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(application_id(&store.conn), APPLICATION_ID);
        drop(store);
        // An empty file (as `touch` leaves it) is a new database too.
        let empty = dir.path().join("empty.sqlite3");
        std::fs::write(&empty, "").unwrap();
        assert_eq!(
            application_id(&SqliteStore::open(&empty).unwrap().conn),
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
             VALUES (1, 100, 'dm', 'old question', 'fallback', 0.1, '[]', '0.0.9');
             INSERT INTO votes (at_ms, question, intent, up) VALUES (150, 1, 'salary', 1);
             INSERT INTO votes (at_ms, question, intent, up) VALUES (150, 1, 'salary', 1);",
        )
        .unwrap();
        drop(conn);
        // Read-only, it is left as it is: a report waits for the bot to upgrade it...
        let error = format!("{:#}", SqliteStore::open_read_only(&older).unwrap_err());
        assert!(error.contains("schema version 1, older"), "{error}");
        // ...and opened for writing, it is stamped, migrated and keeps its rows.
        let mut store = SqliteStore::open(&older).unwrap();
        assert_eq!(application_id(&store.conn), APPLICATION_ID);
        assert_eq!(user_version(&store.conn, &older).unwrap(), SCHEMA_VERSION);
        assert_eq!(store.counts().unwrap(), (1, 2));
        // Its two identical votes keep numbers of their own, the same at every read.
        let votes = store.votes_since(0).unwrap();
        assert_ne!(votes[0].id, votes[1].id);
        assert_eq!(store.votes_since(0).unwrap(), votes);
        // A vote written again under its number is stored once.
        store.write(&[Record::Vote(votes[0].clone())]).unwrap();
        store
            .write(&[vote(260, 1, 160, false), vote(260, 1, 160, false)])
            .unwrap();
        assert_eq!(store.counts().unwrap(), (1, 3));
        drop(store);

        // An unstamped database with a table careerbot never made is not careerbot's.
        let extended = dir.path().join("extended.sqlite3");
        let conn = Connection::open(&extended).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.execute_batch("CREATE TABLE extra (x)").unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let error = format!("{:#}", SqliteStore::open(&extended).unwrap_err());
        assert!(error.contains("tables: extra, questions, votes"), "{error}");
    }

    #[test]
    fn a_read_only_store_cannot_write() {
        let (_dir, path) = temp_db();
        SqliteStore::open(&path).unwrap();
        let reader = SqliteStore::open_read_only(&path).unwrap();
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
        let error = format!("{:#}", SqliteStore::open_read_only(&path).unwrap_err());
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
        let error = format!("{:#}", SqliteStore::open_read_only(&other).unwrap_err());
        assert!(error.contains("not a careerbot database"), "{error}");
        let empty = dir.path().join("empty.sqlite3");
        std::fs::write(&empty, "").unwrap();
        let error = format!("{:#}", SqliteStore::open_read_only(&empty).unwrap_err());
        assert!(error.contains("schema version 0"), "{error}");
        SqliteStore::open(&path)
            .unwrap()
            .write(&[question(1, 100, "q", "answer", 0.9)])
            .unwrap();
        let store = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(store.counts().unwrap(), (1, 0));
    }

    #[test]
    fn a_failed_commit_is_retried_with_the_next_batch() {
        let (_dir, path) = temp_db();
        let writer = Writer::spawn(
            Store::Sqlite(SqliteStore::open(&path).unwrap()),
            Duration::from_millis(20),
            None,
        );
        // A trigger makes every insert into `votes` fail while `blocked` has a row.
        let admin = SqliteStore::open(&path).unwrap();
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
        writer.send(vote(210, 1, 110, true));
        writer.flush();
        assert_eq!(writer.written(), 0, "the batch must have failed");
        admin.conn.execute_batch("DELETE FROM blocked").unwrap();
        writer.send(vote(220, 1, 120, false));
        writer.flush();
        assert_eq!(writer.written(), 3);
        assert_eq!(admin.counts().unwrap(), (1, 2));
    }
}
