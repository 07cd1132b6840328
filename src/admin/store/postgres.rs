//! The PostgreSQL backend of the store: one database shared by every process of a sharded
//! bot, so reports, stats and the unanswered queue see the whole cluster's records.
//!
//! tokio-postgres with a deadpool pool, on a small runtime of the store's own: the store's
//! callers are blocking threads (the writer thread, `spawn_blocking`, the command line),
//! which wait here for the answer. The schema is versioned in code ([`MIGRATIONS`],
//! recorded in `careerbot_migrations`); processes starting together take an advisory lock
//! so a step is applied once, and a database newer than this code is refused. Tables go
//! into the connection's current schema (the URL's `options=-c search_path=...` chooses
//! it), so several careerbots, or tests, can share one database.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod};
use tokio_postgres::Row;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{
    count, from_sql_id, page_bound, to_sql_id, Aggregates, OlderSchema, QuestionRecord, Record,
    Servers, StoredQuestion, VoteRecord,
};
use crate::admin::audit::AuditEntry;
use crate::admin::guilds::{GuildSettings, StoredGuild};
use crate::admin::report::{Day, Helpfulness, IntentCount};
use crate::config::{PostgresUrl, SslMode};

/// Whether `error` is a TLS handshake that the server botched (data that is not TLS, a
/// TLS alert, a certificate rustls cannot read), not a connection that broke meanwhile.
fn tls_refused(error: &tokio_postgres::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    let mut in_handshake = false;
    while let Some(now) = cause {
        in_handshake |= now
            .to_string()
            .starts_with("error performing TLS handshake");
        if let Some(io) = now.downcast_ref::<std::io::Error>() {
            if in_handshake && io.kind() == std::io::ErrorKind::InvalidData {
                return true;
            }
        }
        if in_handshake && now.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        cause = now.source();
    }
    false
}

/// The schema, one step per version: step `n` takes a database from version `n` to `n + 1`.
/// Steps are only ever appended, never edited. The same tables as SQLite's, with
/// PostgreSQL's types.
const MIGRATIONS: &[&str] = &[
    // 1: questions (with their triage state) and votes.
    "CREATE TABLE questions (
         id             BIGINT PRIMARY KEY,
         at_ms          BIGINT NOT NULL,
         guild          BIGINT,
         channel        BIGINT,
         source         TEXT NOT NULL,
         text           TEXT NOT NULL,
         decision       TEXT NOT NULL,
         intent         TEXT,
         confidence     DOUBLE PRECISION NOT NULL,
         candidates     TEXT NOT NULL,  -- JSON array of intent ids, best first
         engine_version TEXT NOT NULL,
         resolved       TEXT,           -- the intent it was filed under, or 'ignore'
         resolved_at_ms BIGINT
     );
     CREATE INDEX questions_at_ms ON questions(at_ms);
     CREATE TABLE votes (
         id       BIGINT PRIMARY KEY,
         at_ms    BIGINT NOT NULL,
         question BIGINT NOT NULL,
         intent   TEXT NOT NULL,
         up       BOOLEAN NOT NULL
     );
     CREATE INDEX votes_at_ms ON votes(at_ms);
     CREATE INDEX votes_question ON votes(question);",
    // 2: published intent sets (see `crate::admin::publish`): numbered versions with the
    // files' bytes, the one in service, and what happened when; and the published version
    // that answered each question.
    "ALTER TABLE questions ADD COLUMN intent_version INTEGER;
     CREATE TABLE intent_versions (
         version         INTEGER PRIMARY KEY,
         digest          TEXT NOT NULL,    -- of the files' names and bytes, as in engine_version
         published_by    TEXT NOT NULL,
         published_at_ms BIGINT NOT NULL,
         intents         INTEGER NOT NULL
     );
     CREATE TABLE intent_files (
         version INTEGER NOT NULL REFERENCES intent_versions(version),
         name    TEXT NOT NULL,
         body    BYTEA NOT NULL,
         PRIMARY KEY (version, name)
     );
     CREATE TABLE intent_current (
         singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
         version   INTEGER NOT NULL REFERENCES intent_versions(version)
     );
     CREATE TABLE intent_history (
         at_ms   BIGINT NOT NULL,
         version INTEGER NOT NULL,
         action  TEXT NOT NULL,            -- 'publish' or 'rollback'
         by      TEXT NOT NULL
     );",
    // 3: each server's own settings (`/careerbot settings`); NULL follows the config file.
    "CREATE TABLE guild_settings (
         guild                  BIGINT PRIMARY KEY,
         answer_channels        TEXT,     -- channel ids separated by commas; '' for none
         admin_channel          BIGINT,   -- 0 for none
         channel_min_confidence DOUBLE PRECISION,
         updated_at_ms          BIGINT NOT NULL,
         revision               BIGINT NOT NULL DEFAULT 0  -- one up per change
     );",
    // 4: the audit log of admins' changes (see `crate::admin::audit`): the one table that
    // keeps a person's id, the admin's.
    "CREATE TABLE audit_log (
         id       BIGINT PRIMARY KEY,  -- the time's ms, then 20 bits of the entry's digest
         at_ms    BIGINT NOT NULL,
         admin    TEXT NOT NULL,       -- the admin's display name
         admin_id BIGINT,              -- the admin's Discord user id; NULL: the dashboard's
         via      TEXT NOT NULL,       -- 'discord' or 'dashboard'
         guild    BIGINT,
         action   TEXT NOT NULL,       -- 'file_example', 'ignore_group', 'settings', ...
         detail   TEXT NOT NULL,
         outcome  TEXT NOT NULL        -- 'done', 'refused: ...' or 'failed: ...'
     );
     CREATE INDEX audit_log_at_ms ON audit_log(at_ms);",
    // 5: each server's own forum channels (`/careerbot settings`); NULL follows the file.
    "ALTER TABLE guild_settings ADD COLUMN forum_channels TEXT;",
];

/// The schema version this code writes.
const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// The advisory lock that serializes migrations ("cbot" in ASCII, as SQLite's stamp).
const MIGRATION_LOCK: i64 = 0x6362_6F74;

/// How long a connection attempt may take before it counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one call (connection, queries, commit) may take in all: a server that accepts
/// and then never answers fails the call instead of holding the writer for ever.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections kept: the writer's, and a few for reports and admin commands.
const POOL_SIZE: usize = 4;

const QUESTION_COLUMNS: &str = "id, at_ms, guild, channel, source, text, decision, intent, \
     confidence, candidates, engine_version, intent_version";

const AUDIT_COLUMNS: &str = "id, at_ms, admin, admin_id, via, guild, action, detail, outcome";

/// A pool of connections to one PostgreSQL database; cheap to clone (clones share it).
#[derive(Clone)]
pub struct PgStore {
    shared: Arc<Shared>,
}

struct Shared {
    /// `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
    pool: Pool,
    url: PostgresUrl,
    /// For connections of their own (LISTEN).
    config: tokio_postgres::Config,
    tls: MakeRustlsConnect,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside async code (where the last clone
        // may go): let its thread wind down on its own instead.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.shared.url)
            .finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects to `url` and brings its schema up to date (creating the tables on a new
    /// database). Refuses a database whose tables careerbot did not create.
    pub fn open(url: &PostgresUrl) -> anyhow::Result<PgStore> {
        let store = PgStore::connect(url, false)?;
        store.call(|mut client| async move { migrate(&mut client).await })?;
        Ok(store)
    }

    /// Connects to `url` for reading only: every transaction is read-only, and the schema
    /// must be this careerbot's version already.
    pub fn open_read_only(url: &PostgresUrl) -> anyhow::Result<PgStore> {
        let store = PgStore::connect(url, true)?;
        let version = store.call(|mut client| async move { schema_version(&mut client).await })?;
        let shown = store.url().to_string();
        match version {
            None => {
                anyhow::bail!("{shown} has no careerbot tables (the bot creates them on first run)")
            }
            Some(version) => {
                check_not_newer(version, &shown)?;
                if version < SCHEMA_VERSION {
                    return Err(OlderSchema {
                        database: shown,
                        found: version,
                        current: SCHEMA_VERSION,
                    }
                    .into());
                }
            }
        }
        Ok(store)
    }

    /// Connects as `url` says. Under `sslmode=prefer` (the default), a server that offers
    /// TLS but answers the handshake with something that is not TLS, or with a TLS alert,
    /// is used without it, as libpq does, with a warning. A connection that is refused or
    /// reset meanwhile is no reason to give TLS up: that is tried again as usual. What a
    /// server did is found out once per process (the dashboard opens the store per page).
    fn connect(url: &PostgresUrl, read_only: bool) -> anyhow::Result<PgStore> {
        static PLAIN: LazyLock<Mutex<HashMap<String, bool>>> = LazyLock::new(Default::default);
        let plain = || {
            let mut config = url.config();
            config.ssl_mode(tokio_postgres::config::SslMode::Disable);
            PgStore::connect_with(url, config, read_only)
        };
        if url.ssl_mode() != SslMode::Prefer {
            return PgStore::connect_with(url, url.config(), read_only);
        }
        let key = url.to_string();
        let known = PLAIN
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .copied();
        if known == Some(true) {
            return plain();
        }
        let store = PgStore::connect_with(url, url.config(), read_only)?;
        if known.is_some() {
            return Ok(store);
        }
        let (config, tls) = (store.shared.config.clone(), store.shared.tls.clone());
        let tried = store.wait(move || async move {
            tokio::time::timeout(CONNECT_TIMEOUT, config.connect(tls))
                .await
                .map(|connected| connected.map(drop))
        });
        let remember = |broken: bool| {
            PLAIN
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key.clone(), broken);
        };
        match tried {
            Ok(Ok(())) => {
                remember(false);
                Ok(store)
            }
            Ok(Err(error)) if tls_refused(&error) => {
                remember(true);
                tracing::warn!(
                    store = %url,
                    "the server offers TLS but the handshake failed ({}); connecting \
                     without TLS, as sslmode=prefer allows (sslmode=require would refuse)",
                    flatten(error.into())
                );
                plain()
            }
            // Down or slow: decided at the next connection.
            _ => Ok(store),
        }
    }

    fn connect_with(
        url: &PostgresUrl,
        mut config: tokio_postgres::Config,
        read_only: bool,
    ) -> anyhow::Result<PgStore> {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("careerbot");
        }
        // A connection whose server vanished without closing it (a failover, a cable) is
        // found out in about 20 s instead of the system's two hours.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(2);
        if read_only {
            let options = config.get_options().unwrap_or_default().to_owned();
            config.options(format!("{options} -c default_transaction_read_only=on").trim());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("careerbot-postgres")
            .enable_all()
            .build()
            .context("cannot start the PostgreSQL client's runtime")?;
        let tls = super::tls::connector(url)?;
        let manager = Manager::from_config(
            config.clone(),
            tls.clone(),
            // A connection handed out again is checked with a query first (bounded by the
            // recycle timeout): one left hanging by a call that timed out is dropped, not
            // reused.
            ManagerConfig {
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CALL_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .context("cannot set up the PostgreSQL pool")?;
        Ok(PgStore {
            shared: Arc::new(Shared {
                runtime: Some(runtime),
                pool,
                url: url.clone(),
                config,
                tls,
            }),
        })
    }

    /// The server's URL, without its password.
    pub fn url(&self) -> &PostgresUrl {
        &self.shared.url
    }

    /// Runs `work` on a pooled connection and waits for it (at most [`CALL_TIMEOUT`]).
    /// Blocking: never call it from async code.
    fn call<T, F>(
        &self,
        work: impl FnOnce(deadpool_postgres::Client) -> F + Send,
    ) -> anyhow::Result<T>
    where
        T: Send,
        F: Future<Output = anyhow::Result<T>>,
    {
        let pool = self.shared.pool.clone();
        let shown = self.shared.url.to_string();
        let result = self.wait(move || async move {
            let job = async {
                let client = pool.get().await.map_err(|e| {
                    let why = match e {
                        PoolError::Backend(e) => flatten(anyhow::Error::new(e)).to_string(),
                        PoolError::Timeout(_) => "no answer in time".to_owned(),
                        other => other.to_string(),
                    };
                    anyhow::anyhow!("cannot connect to {shown}: {why}")
                })?;
                work(client).await
            };
            tokio::time::timeout(CALL_TIMEOUT, job).await.map_err(|_| {
                anyhow::anyhow!("{shown} did not answer within {} s", CALL_TIMEOUT.as_secs())
            })?
        });
        result.map_err(flatten)
    }

    /// Runs the future `make` makes on the store's runtime and waits for it. Inside async
    /// code (a caller that forgot `spawn_blocking`) a runtime cannot be blocked on: it
    /// waits on a thread of its own instead, as blocking as an SQLite call.
    fn wait<T, F>(&self, make: impl FnOnce() -> F + Send) -> T
    where
        T: Send,
        F: Future<Output = T>,
    {
        let runtime = self.shared.runtime.as_ref().expect("the runtime lives");
        let run = move || runtime.block_on(make());
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| scope.spawn(run).join())
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        } else {
            run()
        }
    }

    pub fn write(&mut self, records: &[Record]) -> anyhow::Result<()> {
        let batch = Batch::of(records);
        self.call(move |mut client| async move { batch.insert(&mut client).await })?;
        Ok(())
    }

    pub fn delete_older_than(&mut self, cutoff_ms: i64) -> anyhow::Result<usize> {
        self.call(move |mut client| async move {
            let tx = client.transaction().await?;
            let questions = tx
                .execute("DELETE FROM questions WHERE at_ms < $1", &[&cutoff_ms])
                .await?;
            let votes = tx
                .execute("DELETE FROM votes WHERE at_ms < $1", &[&cutoff_ms])
                .await?;
            tx.commit().await?;
            Ok(usize::try_from(questions + votes).unwrap_or(usize::MAX))
        })
    }

    pub fn questions_since(&self, since_ms: i64) -> anyhow::Result<Vec<QuestionRecord>> {
        self.call(move |client| async move {
            let rows = client
                .query(
                    &format!(
                        "SELECT {QUESTION_COLUMNS} FROM questions WHERE at_ms >= $1 \
                             ORDER BY at_ms, id"
                    ),
                    &[&since_ms],
                )
                .await?;
            rows.iter().map(question_from_row).collect()
        })
    }

    pub fn votes_since(&self, since_ms: i64) -> anyhow::Result<Vec<VoteRecord>> {
        self.call(move |client| async move {
            let rows = client
                .query(
                    "SELECT id, at_ms, question, intent, up FROM votes WHERE at_ms >= $1 \
                         ORDER BY at_ms, id",
                    &[&since_ms],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|row| VoteRecord {
                    id: from_sql_id(row.get(0)),
                    at_ms: row.get(1),
                    question: from_sql_id(row.get(2)),
                    intent: row.get(3),
                    up: row.get(4),
                })
                .collect())
        })
    }

    pub fn unanswered_between(
        &self,
        since_ms: i64,
        until_ms: i64,
        below: f32,
        limit: usize,
        servers: &Servers,
    ) -> anyhow::Result<Vec<QuestionRecord>> {
        let servers = servers.questions_sql();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let below = f64::from(below);
        self.call(move |client| async move {
            let rows = client
                .query(
                    &format!(
                        "SELECT {QUESTION_COLUMNS} FROM questions
                             WHERE at_ms >= $1 AND at_ms < $2 AND resolved IS NULL
                               AND (decision = 'fallback'
                                    OR (decision IN ('answer', 'clarify') AND confidence < $3)
                                    OR (decision = 'unconfident' AND source = 'forum'))
                               AND {servers}
                             ORDER BY at_ms DESC, id DESC
                             LIMIT $4"
                    ),
                    &[&since_ms, &until_ms, &below, &limit],
                )
                .await?;
            rows.iter().map(question_from_row).collect()
        })
    }

    pub fn resolve(&mut self, ids: &[u64], action: &str, at_ms: i64) -> anyhow::Result<usize> {
        let ids: Vec<i64> = ids.iter().copied().map(to_sql_id).collect();
        let action = action.to_owned();
        self.call(move |client| async move {
            let changed = client
                .execute(
                    "UPDATE questions SET resolved = $1, resolved_at_ms = $2
                         WHERE id = ANY($3)",
                    &[&action, &at_ms, &ids],
                )
                .await?;
            Ok(usize::try_from(changed).unwrap_or(usize::MAX))
        })
    }

    pub fn questions_page(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> anyhow::Result<Vec<StoredQuestion>> {
        let (bound, op) = page_bound(after);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |client| async move {
            let rows = client
                .query(
                    &format!(
                        "SELECT {QUESTION_COLUMNS}, resolved, resolved_at_ms FROM questions
                         WHERE id {op} $1 ORDER BY id LIMIT $2"
                    ),
                    &[&bound, &limit],
                )
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(StoredQuestion {
                        record: question_from_row(row)?,
                        resolved: row.get(12),
                        resolved_at_ms: row.get(13),
                    })
                })
                .collect()
        })
    }

    pub fn votes_page(&self, after: Option<u64>, limit: usize) -> anyhow::Result<Vec<VoteRecord>> {
        let (bound, op) = page_bound(after);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |client| async move {
            let rows = client
                .query(
                    &format!(
                        "SELECT id, at_ms, question, intent, up FROM votes
                         WHERE id {op} $1 ORDER BY id LIMIT $2"
                    ),
                    &[&bound, &limit],
                )
                .await?;
            Ok(rows.iter().map(vote_from_row).collect())
        })
    }

    /// PostgreSQL's text is always valid UTF-8: every row is readable.
    pub fn unreadable(&self, _named: usize) -> anyhow::Result<(u64, Vec<u64>)> {
        Ok((0, Vec::new()))
    }

    pub fn present(&self, questions: &[u64], votes: &[u64]) -> anyhow::Result<(usize, usize)> {
        let questions: Vec<i64> = questions.iter().copied().map(to_sql_id).collect();
        let votes: Vec<i64> = votes.iter().copied().map(to_sql_id).collect();
        self.call(move |client| async move {
            let row = client
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM questions WHERE id = ANY($1)),
                            (SELECT COUNT(*) FROM votes WHERE id = ANY($2))",
                    &[&questions, &votes],
                )
                .await?;
            let found = |n: i64| usize::try_from(n).unwrap_or(0);
            Ok((found(row.get(0)), found(row.get(1))))
        })
    }

    pub fn carry_resolutions(&mut self, resolved: &[(u64, String, i64)]) -> anyhow::Result<usize> {
        let ids: Vec<i64> = resolved.iter().map(|r| to_sql_id(r.0)).collect();
        let actions: Vec<String> = resolved.iter().map(|r| text(&r.1)).collect();
        let at: Vec<i64> = resolved.iter().map(|r| r.2).collect();
        self.call(move |client| async move {
            let changed = client
                .execute(
                    "UPDATE questions AS q SET resolved = r.action, resolved_at_ms = r.at_ms
                     FROM UNNEST($1::int8[], $2::text[], $3::int8[]) AS r(id, action, at_ms)
                     WHERE q.id = r.id AND q.resolved IS NULL",
                    &[&ids, &actions, &at],
                )
                .await?;
            Ok(usize::try_from(changed).unwrap_or(usize::MAX))
        })
    }

    /// Up to `limit` audit entries numbered below `before`, newest first.
    pub fn audit_log(&self, before: i64, limit: usize) -> anyhow::Result<Vec<AuditEntry>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |client| async move {
            let rows = client
                .query(
                    &format!(
                        "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE id < $1
                         ORDER BY id DESC LIMIT $2"
                    ),
                    &[&before, &limit],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|row| AuditEntry {
                    id: from_sql_id(row.get(0)),
                    at_ms: row.get(1),
                    admin: row.get(2),
                    admin_id: row.get::<_, Option<i64>>(3).map(from_sql_id),
                    via: row.get(4),
                    guild: row.get::<_, Option<i64>>(5).map(from_sql_id),
                    action: row.get(6),
                    detail: row.get(7),
                    outcome: row.get(8),
                })
                .collect())
        })
    }

    /// Stores the audit entries (numbered, cut) not stored yet; returns how many.
    pub fn add_audit(&mut self, entries: &[AuditEntry]) -> anyhow::Result<usize> {
        let mut batch = Batch::default();
        for entry in entries {
            batch.push_audit(entry);
        }
        let added = self.call(move |mut client| async move { batch.insert(&mut client).await })?;
        Ok(usize::try_from(added).unwrap_or(usize::MAX))
    }

    pub fn counts(&self) -> anyhow::Result<(u64, u64)> {
        self.call(move |client| async move {
            let row = client
                .query_one(
                    "SELECT (SELECT COUNT(*) FROM questions), (SELECT COUNT(*) FROM votes)",
                    &[],
                )
                .await?;
            Ok((count(row.get(0)), count(row.get(1))))
        })
    }

    /// See [`super::Store::aggregates`]. PostgreSQL's text is always valid UTF-8, so no
    /// row is ever skipped. Names are ordered bytewise (`COLLATE "C"`), as SQLite does.
    pub fn aggregates(
        &self,
        since_ms: i64,
        until_ms: i64,
        top: usize,
        _skipped_named: usize,
        servers: &Servers,
    ) -> anyhow::Result<Aggregates> {
        let top = i64::try_from(top).unwrap_or(i64::MAX);
        let (questions_in, votes_in) = (servers.questions_sql(), servers.votes_sql());
        self.call(move |client| async move {
            let range: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&since_ms, &until_ms];
            let per_day = client
                .query(
                    &format!(
                        "SELECT to_char(to_timestamp(div(at_ms, 1000)) AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD') AS day,
                                COUNT(*),
                                COUNT(*) FILTER (WHERE decision = 'answer'),
                                COUNT(*) FILTER (WHERE decision = 'clarify'),
                                COUNT(*) FILTER (WHERE decision = 'fallback'),
                                COUNT(*) FILTER (WHERE decision = 'decline')
                         FROM questions WHERE at_ms >= $1 AND at_ms < $2 AND {questions_in}
                         GROUP BY day ORDER BY day"
                    ),
                    &range,
                )
                .await?
                .iter()
                .map(|row| Day {
                    day: row.get(0),
                    questions: count(row.get(1)),
                    answers: count(row.get(2)),
                    clarifications: count(row.get(3)),
                    fallbacks: count(row.get(4)),
                    declines: count(row.get(5)),
                })
                .collect();
            let responded = client
                .query_one(
                    &format!(
                        "SELECT COUNT(*) FROM questions
                         WHERE at_ms >= $1 AND at_ms < $2 AND decision <> 'unconfident'
                           AND {questions_in}"
                    ),
                    &range,
                )
                .await?;
            let top_intents = client
                .query(
                    &format!(
                        "SELECT intent, COUNT(*) AS n FROM questions
                         WHERE at_ms >= $1 AND at_ms < $2 AND decision = 'answer'
                           AND intent IS NOT NULL AND {questions_in}
                         GROUP BY intent ORDER BY n DESC, intent COLLATE \"C\" LIMIT $3"
                    ),
                    &[&since_ms, &until_ms, &top],
                )
                .await?
                .iter()
                .map(|row| IntentCount {
                    intent: row.get(0),
                    count: count(row.get(1)),
                })
                .collect();
            let helpfulness = client
                .query(
                    &format!(
                        "SELECT intent, COUNT(*) FILTER (WHERE up), COUNT(*) FILTER (WHERE NOT up)
                         FROM votes WHERE at_ms >= $1 AND at_ms < $2 AND {votes_in}
                         GROUP BY intent ORDER BY COUNT(*) DESC, intent COLLATE \"C\""
                    ),
                    &range,
                )
                .await?
                .iter()
                .map(|row| Helpfulness::new(row.get(0), count(row.get(1)), count(row.get(2))))
                .collect();
            Ok(Aggregates {
                per_day,
                responded: count(responded.get(0)),
                top_intents,
                helpfulness,
                skipped_rows: 0,
                skipped_questions: Vec::new(),
            })
        })
    }
}

/// A published intent set, as listed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Publication {
    pub version: u32,
    /// The digest of its files, as in the served version (`<crate>+<digest>`).
    pub digest: String,
    pub published_by: String,
    pub published_at_ms: i64,
    pub intents: u32,
    /// Whether it is the version in service.
    pub current: bool,
}

/// What [`PgStore::publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// A new version, now current.
    New(u32),
    /// The current version has these very files: nothing was published.
    Unchanged(u32),
    /// Publishing only where none was, and this one is current.
    Existing(u32),
    /// Publishing an edit of another version than the current one, which is this: nothing
    /// was published (the edit would have undone what was published since).
    Stale(u32),
}

/// The files of a version: (file name, text).
pub type IntentFiles = Vec<(String, String)>;

/// The channel of notices that a server's settings changed; the payload is the schema, as
/// for [`INTENTS_CHANNEL`].
const SETTINGS_CHANNEL: &str = "careerbot_settings";

impl PgStore {
    /// Every server's own settings; a row that cannot be read is logged and left out.
    pub fn guild_settings(&self) -> anyhow::Result<Vec<StoredGuild>> {
        self.call(|client| async move {
            let rows = client
                .query(
                    "SELECT guild, answer_channels, admin_channel, channel_min_confidence, \
                     forum_channels, updated_at_ms, revision FROM guild_settings",
                    &[],
                )
                .await?;
            Ok(rows
                .iter()
                .filter_map(|row| {
                    super::stored_guild(
                        from_sql_id(row.get(0)),
                        settings_from_row(row, 1),
                        row.get(5),
                        row.get(6),
                    )
                })
                .collect())
        })
    }

    /// Changes one server's settings with `edit` under a row lock (see
    /// [`super::Store::edit_guild_settings`]), telling every listening process on commit.
    pub fn edit_guild_settings<T: Send>(
        &mut self,
        guild: u64,
        at_ms: i64,
        edit: impl FnOnce(&mut GuildSettings) -> T + Send,
    ) -> anyhow::Result<(StoredGuild, T)> {
        let id = to_sql_id(guild);
        self.call(move |mut client| async move {
            let tx = client.transaction().await?;
            // The server's row, made if missing, locked and read in one statement: a
            // concurrent edit waits here and then reads what this one wrote.
            let row = tx
                .query_one(
                    "INSERT INTO guild_settings (guild, updated_at_ms) VALUES ($1, $2)
                     ON CONFLICT (guild) DO UPDATE SET guild = EXCLUDED.guild
                     RETURNING answer_channels, admin_channel, channel_min_confidence,
                               forum_channels, updated_at_ms, revision",
                    &[&id, &at_ms],
                )
                .await?;
            let read = (row.get(4), row.get(5));
            let settings = settings_from_row(&row, 0);
            let (stored, changed, out) = super::edit_stored(guild, settings, read, at_ms, edit);
            if !changed {
                // Rolled back: a row made above goes again.
                return Ok((stored, out));
            }
            let after = &stored.settings;
            tx.execute(
                "UPDATE guild_settings SET answer_channels = $2, admin_channel = $3,
                     channel_min_confidence = $4, updated_at_ms = $5, revision = $6,
                     forum_channels = $7
                 WHERE guild = $1",
                &[
                    &id,
                    &after.channels_column(),
                    &after.admin_channel.map(to_sql_id),
                    &after.channel_min_confidence.map(f64::from),
                    &stored.updated_at_ms,
                    &stored.revision,
                    &after.forums_column(),
                ],
            )
            .await?;
            tx.execute(
                "SELECT pg_notify($1, current_schema())",
                &[&SETTINGS_CHANNEL],
            )
            .await?;
            tx.commit().await?;
            Ok((stored, out))
        })
    }

    /// Stores the settings of servers that have none here yet; returns how many.
    pub fn add_guild_settings(&mut self, guilds: &[StoredGuild]) -> anyhow::Result<usize> {
        let guilds: Vec<StoredGuild> = guilds
            .iter()
            .filter(|g| !g.settings.is_default())
            .cloned()
            .collect();
        self.call(move |mut client| async move {
            let tx = client.transaction().await?;
            let mut added = 0;
            for stored in &guilds {
                let settings = &stored.settings;
                added += tx
                    .execute(
                        "INSERT INTO guild_settings (guild, answer_channels, admin_channel,
                             channel_min_confidence, updated_at_ms, revision, forum_channels)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (guild) DO NOTHING",
                        &[
                            &to_sql_id(stored.guild),
                            &settings.channels_column(),
                            &settings.admin_channel.map(to_sql_id),
                            &settings.channel_min_confidence.map(f64::from),
                            &stored.updated_at_ms,
                            &stored.revision,
                            &settings.forums_column(),
                        ],
                    )
                    .await?;
            }
            if added > 0 {
                tx.execute(
                    "SELECT pg_notify($1, current_schema())",
                    &[&SETTINGS_CHANNEL],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(usize::try_from(added).unwrap_or(usize::MAX))
        })
    }

    /// Listens for changed server settings (see [`PgStore::listen`]).
    pub fn listen_settings(&self, wake: tokio::sync::mpsc::Sender<()>) {
        self.listen_on(SETTINGS_CHANNEL, "server settings", wake);
    }
}

/// The channel of publication notices; the payload is the publishing connection's schema,
/// so careerbots in other schemas of the same database ignore it.
const INTENTS_CHANNEL: &str = "careerbot_intents";

/// Serializes publications (and rollbacks) across processes.
const PUBLISH_LOCK: i64 = 0x6362_6F75;

/// How often a listening process reads the current version anyway.
const RECHECK_EVERY: Duration = Duration::from_secs(30);

/// How long the listener waits before reconnecting, at most.
const LISTEN_BACKOFF_MAX: Duration = Duration::from_secs(30);

impl PgStore {
    /// The number of the version in service; `None` before anything was published.
    pub fn current_version(&self) -> anyhow::Result<Option<u32>> {
        self.call(|client| async move {
            let row = client
                .query_opt("SELECT version FROM intent_current", &[])
                .await?;
            Ok(row.map(|row| u32::try_from(row.get::<_, i32>(0)).unwrap_or(0)))
        })
    }

    /// The version in service and its files; `None` before anything was published.
    pub fn current_intents(&self) -> anyhow::Result<Option<(u32, IntentFiles)>> {
        self.call(|client| async move {
            let Some(row) = client
                .query_opt("SELECT version FROM intent_current", &[])
                .await?
            else {
                return Ok(None);
            };
            let version: i32 = row.get(0);
            let files = files_of(&client, version).await?;
            Ok(Some((u32::try_from(version).unwrap_or(0), files)))
        })
    }

    /// Every published version, newest first.
    pub fn publications(&self) -> anyhow::Result<Vec<Publication>> {
        self.call(|client| async move {
            let rows = client
                .query(
                    "SELECT v.version, v.digest, v.published_by, v.published_at_ms, v.intents,
                            v.version = (SELECT version FROM intent_current)
                     FROM intent_versions v ORDER BY v.version DESC",
                    &[],
                )
                .await?;
            Ok(rows
                .iter()
                .map(|row| Publication {
                    version: u32::try_from(row.get::<_, i32>(0)).unwrap_or(0),
                    digest: row.get(1),
                    published_by: row.get(2),
                    published_at_ms: row.get(3),
                    intents: u32::try_from(row.get::<_, i32>(4)).unwrap_or(0),
                    current: row.get::<_, Option<bool>>(5).unwrap_or(false),
                })
                .collect())
        })
    }

    /// Publishes `files` (checked by the caller) as a new version and makes it current,
    /// telling every listening process. With `only_if_none`, publishes only when nothing
    /// is published yet (the first process of a cluster to start).
    /// With `based_on`, publishes only while that version is still the current one: an
    /// edit of version N must not silently drop what was published after N.
    pub fn publish(
        &self,
        files: &[(String, String)],
        digest: &str,
        intents: usize,
        by: &str,
        only_if_none: bool,
        based_on: Option<u32>,
    ) -> anyhow::Result<Published> {
        let names: Vec<String> = files.iter().map(|(name, _)| name.clone()).collect();
        let bodies: Vec<Vec<u8>> = files
            .iter()
            .map(|(_, text)| text.clone().into_bytes())
            .collect();
        let (digest, by) = (digest.to_owned(), by.to_owned());
        let intents = i32::try_from(intents).unwrap_or(i32::MAX);
        self.call(move |mut client| async move {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PUBLISH_LOCK])
                .await?;
            let current = tx
                .query_opt(
                    "SELECT c.version, v.digest FROM intent_current c
                     JOIN intent_versions v USING (version)",
                    &[],
                )
                .await?;
            if let Some(row) = &current {
                let version = u32::try_from(row.get::<_, i32>(0)).unwrap_or(0);
                if only_if_none {
                    return Ok(Published::Existing(version));
                }
                if based_on.is_some_and(|base| base != version) {
                    return Ok(Published::Stale(version));
                }
                if row.get::<_, String>(1) == digest {
                    return Ok(Published::Unchanged(version));
                }
            }
            let version: i32 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0) + 1 FROM intent_versions",
                    &[],
                )
                .await?
                .get(0);
            let now = super::now_ms();
            tx.execute(
                "INSERT INTO intent_versions
                     (version, digest, published_by, published_at_ms, intents)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&version, &digest, &by, &now, &intents],
            )
            .await?;
            tx.execute(
                "INSERT INTO intent_files (version, name, body)
                 SELECT $1, * FROM UNNEST($2::text[], $3::bytea[])",
                &[&version, &names, &bodies],
            )
            .await?;
            make_current(&tx, version, "publish", &by, now).await?;
            tx.commit().await?;
            Ok(Published::New(u32::try_from(version).unwrap_or(0)))
        })
    }

    /// Makes the published `version` current again (a rollback), telling every listening
    /// process; false when there is no such version.
    pub fn roll_back_to(&self, version: u32, by: &str) -> anyhow::Result<bool> {
        let version = i32::try_from(version).unwrap_or(i32::MAX);
        let by = by.to_owned();
        self.call(move |mut client| async move {
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PUBLISH_LOCK])
                .await?;
            let exists = tx
                .query_opt(
                    "SELECT 1 FROM intent_versions WHERE version = $1",
                    &[&version],
                )
                .await?
                .is_some();
            if exists {
                make_current(&tx, version, "rollback", &by, super::now_ms()).await?;
                tx.commit().await?;
            }
            Ok(exists)
        })
    }

    /// The files of one published version; `None` when there is no such version.
    pub fn intent_files(&self, version: u32) -> anyhow::Result<Option<IntentFiles>> {
        let version = i32::try_from(version).unwrap_or(i32::MAX);
        self.call(move |client| async move {
            let exists = client
                .query_opt(
                    "SELECT 1 FROM intent_versions WHERE version = $1",
                    &[&version],
                )
                .await?
                .is_some();
            if !exists {
                return Ok(None);
            }
            Ok(Some(files_of(&client, version).await?))
        })
    }

    /// Listens for publications on a connection of its own: `wake` gets a message for each
    /// one, and after every (re)connection (a notice may have been missed meanwhile). A
    /// lost connection is retried with a growing pause (at most 30 s); the listener stops
    /// when `wake`'s receiver is gone.
    pub fn listen(&self, wake: tokio::sync::mpsc::Sender<()>) {
        self.listen_on(INTENTS_CHANNEL, "published intent sets", wake);
    }

    /// Listens on `channel` (notices of `what`) as [`PgStore::listen`] says.
    fn listen_on(
        &self,
        channel: &'static str,
        what: &'static str,
        wake: tokio::sync::mpsc::Sender<()>,
    ) {
        let (config, tls) = (self.shared.config.clone(), self.shared.tls.clone());
        let shown = self.shared.url.to_string();
        let runtime = self.shared.runtime.as_ref().expect("the runtime lives");
        runtime.spawn(async move {
            let mut pause = Duration::from_millis(500);
            while !wake.is_closed() {
                match listen_once(&config, &tls, channel, what, &wake, &mut pause).await {
                    Ok(()) => {}
                    Err(error) => {
                        tracing::warn!(
                            store = %shown,
                            "lost the listener for {what} ({}); retrying in {} ms",
                            flatten(error),
                            pause.as_millis()
                        );
                    }
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LISTEN_BACKOFF_MAX);
            }
        });
    }
}

/// One listening connection, until it ends.
async fn listen_once(
    config: &tokio_postgres::Config,
    tls: &MakeRustlsConnect,
    channel: &str,
    what: &str,
    wake: &tokio::sync::mpsc::Sender<()>,
    pause: &mut Duration,
) -> anyhow::Result<()> {
    let (client, mut connection) = config.connect(tls.clone()).await?;
    let (notices, mut noticed) = tokio::sync::mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(tokio_postgres::AsyncMessage::Notification(notice))) => {
                    let _ = notices.send(notice.payload().to_owned());
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            }
        }
    });
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    let schema: Option<String> = client
        .query_one("SELECT current_schema()", &[])
        .await?
        .get(0);
    // Whatever changed while this connection was not listening.
    let _ = wake.try_send(());
    *pause = Duration::from_millis(500);
    tracing::debug!("listening for {what}");
    // Belt and braces: the listener is woken now and then anyway, in case a notice
    // was lost with a connection nobody noticed dying.
    let mut check = tokio::time::interval(RECHECK_EVERY);
    check.tick().await;
    loop {
        tokio::select! {
            notice = noticed.recv() => {
                let Some(payload) = notice else { break };
                if schema.as_deref() == Some(payload.as_str()) {
                    // A full queue already holds a wake-up that will read the newest.
                    let _ = wake.try_send(());
                }
            }
            _ = check.tick() => {
                let _ = wake.try_send(());
            }
            () = wake.closed() => return Ok(()),
        }
    }
    drop(client);
    driver.await??;
    anyhow::bail!("the server closed the connection")
}

/// Points `intent_current` at `version`, logs it, and tells the listeners (on commit).
async fn make_current(
    tx: &deadpool_postgres::Transaction<'_>,
    version: i32,
    action: &str,
    by: &str,
    at_ms: i64,
) -> anyhow::Result<()> {
    tx.execute(
        "INSERT INTO intent_current (singleton, version) VALUES (TRUE, $1)
         ON CONFLICT (singleton) DO UPDATE SET version = EXCLUDED.version",
        &[&version],
    )
    .await?;
    tx.execute(
        "INSERT INTO intent_history (at_ms, version, action, by) VALUES ($1, $2, $3, $4)",
        &[&at_ms, &version, &action, &by],
    )
    .await?;
    tx.execute(
        "SELECT pg_notify($1, current_schema())",
        &[&INTENTS_CHANNEL],
    )
    .await?;
    Ok(())
}

async fn files_of(client: &deadpool_postgres::Client, version: i32) -> anyhow::Result<IntentFiles> {
    let rows = client
        .query(
            "SELECT name, body FROM intent_files WHERE version = $1 ORDER BY name COLLATE \"C\"",
            &[&version],
        )
        .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.get(0);
            let body: Vec<u8> = row.get(1);
            let text = String::from_utf8(body)
                .with_context(|| format!("published file {name} of version {version}"))?;
            Ok((name, text))
        })
        .collect()
}

/// A batch of records as columns, for one `INSERT ... SELECT FROM UNNEST(...)` per table:
/// one round trip per batch, however many records.
#[derive(Default)]
struct Batch {
    q_id: Vec<i64>,
    q_at_ms: Vec<i64>,
    q_guild: Vec<Option<i64>>,
    q_channel: Vec<Option<i64>>,
    q_source: Vec<&'static str>,
    q_text: Vec<String>,
    q_decision: Vec<&'static str>,
    q_intent: Vec<Option<String>>,
    q_confidence: Vec<f64>,
    q_candidates: Vec<String>,
    q_engine_version: Vec<String>,
    q_intent_version: Vec<Option<i32>>,
    v_id: Vec<i64>,
    v_at_ms: Vec<i64>,
    v_question: Vec<i64>,
    v_intent: Vec<String>,
    v_up: Vec<bool>,
    a_id: Vec<i64>,
    a_at_ms: Vec<i64>,
    a_admin: Vec<String>,
    a_admin_id: Vec<Option<i64>>,
    a_via: Vec<String>,
    a_guild: Vec<Option<i64>>,
    a_action: Vec<String>,
    a_detail: Vec<String>,
    a_outcome: Vec<String>,
}

/// PostgreSQL's text cannot hold NUL; SQLite's can. The bot's normalized questions have
/// none, but a record must never be able to fail its whole batch.
fn text(value: &str) -> String {
    value.replace('\0', "\u{FFFD}")
}

impl Batch {
    fn of(records: &[Record]) -> Batch {
        let mut batch = Batch::default();
        for record in records {
            match record {
                Record::Question(q) => {
                    batch.q_id.push(to_sql_id(q.id));
                    batch.q_at_ms.push(q.at_ms);
                    batch.q_guild.push(q.guild.map(to_sql_id));
                    batch.q_channel.push(q.channel.map(to_sql_id));
                    batch.q_source.push(q.source.as_str());
                    batch.q_text.push(text(&q.text));
                    batch.q_decision.push(q.decision.as_str());
                    batch.q_intent.push(q.intent.as_deref().map(text));
                    batch.q_confidence.push(f64::from(q.confidence));
                    batch.q_candidates.push(text(
                        &serde_json::to_string(&q.candidates).expect("strings serialize"),
                    ));
                    batch.q_engine_version.push(text(&q.engine_version));
                    batch
                        .q_intent_version
                        .push(q.intent_version.and_then(|v| i32::try_from(v).ok()));
                }
                Record::Vote(v) => {
                    batch.v_id.push(to_sql_id(v.id));
                    batch.v_at_ms.push(v.at_ms);
                    batch.v_question.push(to_sql_id(v.question));
                    batch.v_intent.push(text(&v.intent));
                    batch.v_up.push(v.up);
                }
                Record::Audit(entry) => batch.push_audit(&entry.stored()),
            }
        }
        batch
    }

    /// Adds an audit entry, as [`AuditEntry::stored`] made it.
    fn push_audit(&mut self, entry: &AuditEntry) {
        self.a_id.push(to_sql_id(entry.id));
        self.a_at_ms.push(entry.at_ms);
        self.a_admin.push(text(&entry.admin));
        self.a_admin_id.push(entry.admin_id.map(to_sql_id));
        self.a_via.push(text(&entry.via));
        self.a_guild.push(entry.guild.map(to_sql_id));
        self.a_action.push(text(&entry.action));
        self.a_detail.push(text(&entry.detail));
        self.a_outcome.push(text(&entry.outcome));
    }

    /// Inserts the batch in one transaction; returns how many of its audit entries were new.
    async fn insert(self, client: &mut deadpool_postgres::Client) -> anyhow::Result<u64> {
        let tx = client.transaction().await?;
        if !self.q_id.is_empty() {
            tx.execute(
                &format!(
                    "INSERT INTO questions ({QUESTION_COLUMNS})
                     SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[],
                                          $5::text[], $6::text[], $7::text[], $8::text[],
                                          $9::float8[], $10::text[], $11::text[], $12::int4[])
                     ON CONFLICT (id) DO NOTHING"
                ),
                &[
                    &self.q_id,
                    &self.q_at_ms,
                    &self.q_guild,
                    &self.q_channel,
                    &self.q_source,
                    &self.q_text,
                    &self.q_decision,
                    &self.q_intent,
                    &self.q_confidence,
                    &self.q_candidates,
                    &self.q_engine_version,
                    &self.q_intent_version,
                ],
            )
            .await
            .context("cannot store the questions")?;
        }
        if !self.v_id.is_empty() {
            tx.execute(
                "INSERT INTO votes (id, at_ms, question, intent, up)
                 SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::text[],
                                      $5::bool[])
                 ON CONFLICT (id) DO NOTHING",
                &[
                    &self.v_id,
                    &self.v_at_ms,
                    &self.v_question,
                    &self.v_intent,
                    &self.v_up,
                ],
            )
            .await
            .context("cannot store the votes")?;
        }
        let mut audited = 0;
        if !self.a_id.is_empty() {
            audited = tx
                .execute(
                    &format!(
                        "INSERT INTO audit_log ({AUDIT_COLUMNS})
                         SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::int8[],
                                              $5::text[], $6::int8[], $7::text[], $8::text[],
                                              $9::text[])
                         ON CONFLICT (id) DO NOTHING"
                    ),
                    &[
                        &self.a_id,
                        &self.a_at_ms,
                        &self.a_admin,
                        &self.a_admin_id,
                        &self.a_via,
                        &self.a_guild,
                        &self.a_action,
                        &self.a_detail,
                        &self.a_outcome,
                    ],
                )
                .await
                .context("cannot store the audit entries")?;
        }
        tx.commit().await.context("cannot commit")?;
        Ok(audited)
    }
}

/// The schema version of the connection's current schema, `None` when careerbot's
/// bookkeeping table is not there.
async fn schema_version(client: &mut deadpool_postgres::Client) -> anyhow::Result<Option<usize>> {
    let row = client
        .query_one(
            "SELECT to_regclass('careerbot_migrations') IS NOT NULL",
            &[],
        )
        .await?;
    if !row.get::<_, bool>(0) {
        return Ok(None);
    }
    let row = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM careerbot_migrations",
            &[],
        )
        .await?;
    Ok(Some(usize::try_from(row.get::<_, i32>(0)).unwrap_or(0)))
}

fn check_not_newer(version: usize, shown: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        version <= SCHEMA_VERSION,
        "{shown} has schema version {version}, newer than this careerbot understands \
         ({SCHEMA_VERSION}): it was written by a newer careerbot; upgrade careerbot"
    );
    Ok(())
}

/// Applies the missing migration steps, each in its own transaction under the advisory
/// lock, so processes starting together apply each step once. A schema holding tables
/// named like careerbot's but without its bookkeeping is another program's: refused,
/// untouched.
async fn migrate(client: &mut deadpool_postgres::Client) -> anyhow::Result<()> {
    loop {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        let known = tx
            .query_one(
                "SELECT to_regclass('careerbot_migrations') IS NOT NULL,
                        to_regclass('questions') IS NOT NULL OR to_regclass('votes') IS NOT NULL,
                        current_schema()",
                &[],
            )
            .await?;
        let (bookkept, tables, schema): (bool, bool, Option<String>) =
            (known.get(0), known.get(1), known.get(2));
        let schema = schema.ok_or_else(|| {
            anyhow::anyhow!(
                "the connection has no current schema to create careerbot's tables in (set \
                 one with the URL's options=-c search_path=...)"
            )
        })?;
        if !bookkept {
            anyhow::ensure!(
                !tables,
                "schema {schema:?} has a questions or votes table that careerbot did not \
                 create (no careerbot_migrations table); careerbot leaves it untouched: give \
                 it a database or schema of its own"
            );
            tx.batch_execute(
                "CREATE TABLE careerbot_migrations (
                     version       INTEGER PRIMARY KEY,
                     applied_at_ms BIGINT NOT NULL
                 )",
            )
            .await?;
        }
        let version: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM careerbot_migrations",
                &[],
            )
            .await?
            .get(0);
        let version = usize::try_from(version).unwrap_or(0);
        check_not_newer(version, &format!("schema {schema:?}"))?;
        let Some(step) = MIGRATIONS.get(version) else {
            tx.commit().await?;
            return Ok(());
        };
        tx.batch_execute(step)
            .await
            .with_context(|| format!("cannot migrate to version {}", version + 1))?;
        let next = i32::try_from(version + 1).expect("few migrations");
        tx.execute(
            "INSERT INTO careerbot_migrations (version, applied_at_ms) VALUES ($1, $2)",
            &[&next, &super::now_ms()],
        )
        .await?;
        tx.commit().await?;
    }
}

/// One line of an error's chain, each cause once: tokio-postgres writes its cause into its
/// own message too, which `{:#}` would then repeat.
pub(super) fn flatten(error: anyhow::Error) -> anyhow::Error {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.ends_with(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    anyhow::Error::msg(line)
}

/// A server's settings from the four columns of `row` from `first` on (answer channels,
/// admin channel, threshold, forum channels); an error names what is wrong instead of
/// failing the whole read.
fn settings_from_row(row: &Row, first: usize) -> Result<GuildSettings, String> {
    let channels = row
        .try_get::<_, Option<&str>>(first)
        .map_err(|e| e.to_string())?;
    let admin = row
        .try_get::<_, Option<i64>>(first + 1)
        .map_err(|e| e.to_string())?;
    let threshold = row
        .try_get::<_, Option<f64>>(first + 2)
        .map_err(|e| e.to_string())?;
    let forums = row
        .try_get::<_, Option<&str>>(first + 3)
        .map_err(|e| e.to_string())?;
    GuildSettings::from_columns(channels, forums, admin.map(from_sql_id), threshold)
}

fn vote_from_row(row: &Row) -> VoteRecord {
    VoteRecord {
        id: from_sql_id(row.get(0)),
        at_ms: row.get(1),
        question: from_sql_id(row.get(2)),
        intent: row.get(3),
        up: row.get(4),
    }
}

fn question_from_row(row: &Row) -> anyhow::Result<QuestionRecord> {
    let id: i64 = row.get(0);
    let read = || -> anyhow::Result<QuestionRecord> {
        Ok(QuestionRecord {
            id: from_sql_id(id),
            at_ms: row.get(1),
            guild: row.get::<_, Option<i64>>(2).map(from_sql_id),
            channel: row.get::<_, Option<i64>>(3).map(from_sql_id),
            source: row.get::<_, &str>(4).parse().map_err(anyhow::Error::msg)?,
            text: row.get(5),
            decision: row.get::<_, &str>(6).parse().map_err(anyhow::Error::msg)?,
            intent: row.get(7),
            confidence: row.get::<_, f64>(8) as f32,
            candidates: serde_json::from_str(row.get(9))?,
            engine_version: row.get(10),
            intent_version: row
                .get::<_, Option<i32>>(11)
                .and_then(|v| u32::try_from(v).ok()),
        })
    };
    read().with_context(|| format!("cannot read question {id}"))
}

/// Creates careerbot's tables in the schema of `url` as an older careerbot left them, at
/// schema `version` (for tests of the upgrade).
#[cfg(test)]
pub(crate) fn create_at_version(url: &str, version: usize) -> anyhow::Result<()> {
    let mut sql = "CREATE TABLE careerbot_migrations (
                       version       INTEGER PRIMARY KEY,
                       applied_at_ms BIGINT NOT NULL
                   );"
    .to_owned();
    for (n, step) in MIGRATIONS[..version].iter().enumerate() {
        sql.push_str(step);
        sql.push_str(&format!(
            ";\nINSERT INTO careerbot_migrations VALUES ({}, 0);\n",
            n + 1
        ));
    }
    execute(url, &sql)
}

/// Runs `sql` on a connection of its own to `url` (tests set up and drop their schemas
/// with it).
#[cfg(test)]
pub(crate) fn execute(url: &str, sql: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        let connection = tokio::spawn(connection);
        client.batch_execute(sql).await?;
        drop(client);
        let _ = connection.await;
        Ok(())
    })
}
