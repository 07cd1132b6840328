//! A schema of its own in the local PostgreSQL server for each test, dropped afterwards,
//! so tests that share the server run in parallel. The server is real (no mock):
//! `CAREERBOT_TEST_POSTGRES`, by default `postgres://postgres@127.0.0.1:5432/test`, which
//! `.ci/run` checks and starts.

use std::sync::atomic::{AtomicU64, Ordering};

use careerbot::admin::store::Database;
use careerbot::config::PostgresUrl;

/// The server the tests use.
pub fn server_url() -> String {
    std::env::var("CAREERBOT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A fresh schema, dropped (with everything in it) when this is dropped.
pub struct Schema {
    pub name: String,
}

impl Schema {
    pub fn new() -> Schema {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "careerbot_it_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        execute(&server_url(), &format!("CREATE SCHEMA {name}"));
        Schema { name }
    }

    /// The URL whose connections use this schema.
    pub fn url(&self) -> String {
        let url = server_url();
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}options=-c%20search_path%3D{}", self.name)
    }

    pub fn database(&self) -> Database {
        Database::Postgres(PostgresUrl::parse(&self.url()).unwrap())
    }

    /// The one number `sql` returns (any integer type), run in this schema.
    pub fn count(&self, sql: &str) -> i64 {
        query_one(&self.url(), &format!("SELECT ({sql})::bigint"))
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        execute(&server_url(), &format!("DROP SCHEMA {} CASCADE", self.name));
    }
}

/// Runs `work` on a runtime of its own, on a thread of its own: the helpers are called
/// from async tests too, where a runtime cannot be started.
fn on_own_runtime<T: Send + 'static>(
    work: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>> + Send + 'static,
) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work())
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("the PostgreSQL test server ({url}): {e}"));
    tokio::spawn(connection);
    client
}

/// Runs `sql` on `url`.
pub fn execute(url: &str, sql: &str) {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    on_own_runtime(move || {
        Box::pin(async move {
            connect(&url)
                .await
                .batch_execute(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
        })
    })
}

/// The texts of the first column `sql` returns on `url`.
pub fn query_texts(url: &str, sql: &str) -> Vec<String> {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    on_own_runtime(move || {
        Box::pin(async move {
            connect(&url)
                .await
                .query(&sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
                .iter()
                .map(|row| row.get(0))
                .collect()
        })
    })
}

/// The one number `sql` returns on `url`.
pub fn query_one(url: &str, sql: &str) -> i64 {
    let (url, sql) = (url.to_owned(), sql.to_owned());
    on_own_runtime(move || {
        Box::pin(async move {
            connect(&url)
                .await
                .query_one(&sql, &[])
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
                .get(0)
        })
    })
}

/// Where a test bot stores: an SQLite file in a folder of the test's, or a fresh
/// PostgreSQL schema. The same test runs on both.
pub struct TestStore {
    /// The value of `[admin] database`.
    pub value: String,
    pub database: Database,
    _schema: Option<Schema>,
}

impl TestStore {
    pub fn sqlite(dir: &std::path::Path) -> TestStore {
        let path = dir.join("db.sqlite3");
        TestStore {
            value: path.to_str().unwrap().to_owned(),
            database: Database::file(&path),
            _schema: None,
        }
    }

    pub fn postgres() -> TestStore {
        let schema = Schema::new();
        TestStore {
            value: schema.url(),
            database: schema.database(),
            _schema: Some(schema),
        }
    }

    /// The intent file `name` the bot serves: in `dir` with SQLite, in the version
    /// published as current with PostgreSQL.
    pub fn intent_file(&self, dir: &std::path::Path, name: &str) -> String {
        match &self._schema {
            None => std::fs::read_to_string(dir.join(name)).unwrap(),
            Some(schema) => {
                let texts = query_texts(
                    &schema.url(),
                    &format!(
                        "SELECT convert_from(body, 'UTF8') FROM intent_files
                         WHERE version = (SELECT version FROM intent_current) AND name = '{name}'"
                    ),
                );
                texts.into_iter().next().unwrap_or_default()
            }
        }
    }

    /// Who published each version, oldest first (none with SQLite).
    pub fn publications(&self) -> Vec<String> {
        match &self._schema {
            None => Vec::new(),
            Some(schema) => query_texts(
                &schema.url(),
                "SELECT published_by FROM intent_versions ORDER BY version",
            ),
        }
    }

    /// Every intent file the bot serves (see [`TestStore::intent_file`]), sorted.
    pub fn intent_files(&self, dir: &std::path::Path) -> Vec<String> {
        let mut all: Vec<String> = match &self._schema {
            None => std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .map(|p| std::fs::read_to_string(&p).unwrap())
                .collect(),
            Some(schema) => query_texts(
                &schema.url(),
                "SELECT convert_from(body, 'UTF8') FROM intent_files
                 WHERE version = (SELECT version FROM intent_current)",
            ),
        };
        all.sort();
        all
    }

    /// The store, read-only, as `careerbot report` opens it.
    pub fn read(&self) -> anyhow::Result<careerbot::admin::store::Store> {
        careerbot::admin::store::Store::open_read_only(&self.database)
    }
}
