//! Reloads that cannot break the bot: the whole intent set is loaded, validated, compiled
//! and (optionally) regression-tested off to the side, then swapped in at once. A question
//! is answered by the old set or the new one, never a mix; a refused set changes nothing.
//!
//! The set comes from a directory (the default, watched), or, with a PostgreSQL store,
//! from the versions published in the database ([`Reloader::published`]): every process
//! of a cluster then serves the same version. A directory is published with
//! [`Reloader::publish_dir`] (`careerbot publish`, and triage), which checks it exactly as
//! a reload does before any process sees it.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

use crate::admin::edit;
use crate::admin::store::{PgStore, Published};
use crate::config::Settings;
use crate::engine::evaluation::{self, Case, Failure};
use crate::engine::intents::{self, Diagnostic, Limits};
use crate::engine::matcher::MatcherSettings;
use crate::engine::Engine;

/// The set in service, and how to replace it.
pub struct Reloader {
    current: ArcSwap<Served>,
    dir: PathBuf,
    matcher: MatcherSettings,
    /// What a reloaded set may hold; a set past them is refused like one with errors.
    limits: Limits,
    gate: Option<Gate>,
    /// One reload at a time; a second waits and then loads the newest files.
    reloading: Mutex<()>,
    /// The last refusal's text: the same refusal is announced once.
    last_refusal: Mutex<Option<String>>,
    /// Where sets come from: `dir`, or the database's published versions.
    source: Source,
    /// The latest reloads that changed the set or were refused, oldest first.
    history: Mutex<VecDeque<ReloadEvent>>,
}

/// Reloads kept in [`Reloader::history`].
const HISTORY_KEPT: usize = 200;

/// A reload that changed the set in service, or was refused (the History page's rows).
#[derive(Debug, Clone)]
pub struct ReloadEvent {
    /// When, in unix milliseconds.
    pub at_ms: i64,
    /// The version in service after it: the new one, or (refused) the one that stayed.
    pub version: String,
    pub published: Option<u32>,
    pub intents: usize,
    pub warnings: usize,
    /// Why it was refused, one line per problem (`path:line:col: message`); `None` when
    /// the set went live.
    pub refused: Option<Vec<String>>,
}

/// Where a reload reads the set.
enum Source {
    Directory,
    Published(PgStore),
}

/// An engine with the version of the files it was built from.
pub struct Served {
    pub engine: Engine,
    /// `<crate version>+<hash of the intent files>`, stored with every question.
    pub version: String,
    /// The published version it is (with a PostgreSQL store); `None` for a directory's set.
    pub published: Option<u32>,
}

/// The regression gate: cases the new set must answer well enough.
#[derive(Debug, Clone)]
pub struct Gate {
    pub cases: PathBuf,
    pub min_accuracy: f64,
}

impl Gate {
    /// The gate `[admin.reload_gate]` sets, if any.
    pub fn of(settings: &Settings) -> Option<Gate> {
        let gate = &settings.admin.reload_gate;
        gate.cases.clone().map(|cases| Gate {
            cases,
            min_accuracy: gate.min_accuracy,
        })
    }
}

/// A reload that went live.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub intents: usize,
    pub warnings: Vec<Diagnostic>,
    pub version: String,
    /// The files held the set already in service: nothing was compiled or swapped.
    pub unchanged: bool,
    pub took: Duration,
    /// The published version now in service (with a PostgreSQL store).
    pub published: Option<u32>,
}

/// Why a set was refused; the set in service stays.
#[derive(Debug, Clone)]
pub enum Refusal {
    /// Errors in the files, each `path:line:col: message`.
    Invalid(Vec<Diagnostic>),
    /// Valid, but below the gate on its cases.
    Gate {
        accuracy: f64,
        min_accuracy: f64,
        cases: usize,
        failures: Vec<Failure>,
    },
    /// The gate's cases could not be read or do not fit the new set.
    GateBroken(String),
    /// The reload itself panicked (a bug, not a problem in the files); the panic's message.
    Panicked(String),
    /// The reload never ran: the runtime it was handed to shut down first.
    Cancelled,
    /// The database of published sets could not be read or written.
    Store(String),
}

impl Refusal {
    /// One line per problem.
    pub fn lines(&self) -> Vec<String> {
        match self {
            Refusal::Invalid(errors) => errors.iter().map(ToString::to_string).collect(),
            Refusal::Gate { failures, .. } => failures
                .iter()
                .map(|f| {
                    format!(
                        "{:?}: expected {}, got {}",
                        f.text,
                        f.expected.as_deref().unwrap_or(evaluation::FALLBACK),
                        match (&f.predicted, f.decision) {
                            (Some(intent), _) => intent.clone(),
                            (None, decision) => format!("({decision:?})").to_lowercase(),
                        }
                    )
                })
                .collect(),
            Refusal::GateBroken(why) | Refusal::Panicked(why) | Refusal::Store(why) => {
                vec![why.clone()]
            }
            Refusal::Cancelled => Vec::new(),
        }
    }

    /// A one-line summary.
    pub fn summary(&self) -> String {
        match self {
            Refusal::Invalid(errors) => format!(
                "{} error{} in the intent files",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            ),
            Refusal::Gate {
                accuracy,
                min_accuracy,
                cases,
                failures,
            } => format!(
                "the reload gate failed: accuracy {:.1}% on {cases} cases is below {:.1}% ({} wrong)",
                accuracy * 100.0,
                min_accuracy * 100.0,
                failures.len()
            ),
            Refusal::GateBroken(_) => "the reload gate could not run".to_owned(),
            Refusal::Panicked(_) => "the reload panicked (a bug in careerbot)".to_owned(),
            Refusal::Cancelled => "the reload was cancelled: careerbot is shutting down".to_owned(),
            Refusal::Store(_) => "the published intent sets could not be reached".to_owned(),
        }
    }

    /// The refusal for a reload that panicked with `payload` (what `catch_unwind` or a
    /// task's join error hands back).
    pub fn panicked(payload: Box<dyn std::any::Any + Send>) -> Refusal {
        let message = match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(payload) => payload
                .downcast_ref::<&str>()
                .map_or("a panic without a message", |m| m)
                .to_owned(),
        };
        Refusal::Panicked(message)
    }

    /// Summary and lines, as logged and posted.
    pub fn text(&self) -> String {
        let mut text = self.summary();
        for line in self.lines() {
            text.push('\n');
            text.push_str(&line);
        }
        text
    }
}

impl Reloader {
    /// Serves `engine` (already loaded from `dir`) with the settings' gate. The gate judges
    /// the first set too: a regressing set must not go live through a restart, and a gate
    /// that cannot run (a missing cases file) is reported now rather than at the first reload.
    pub fn new(engine: Engine, dir: &Path, settings: &Settings) -> Result<Reloader, Refusal> {
        let gate = Gate::of(settings);
        if let Some(gate) = &gate {
            check_gate(&engine, gate)?;
        }
        Ok(Reloader {
            current: ArcSwap::from_pointee(Served {
                version: version_of(engine.set().digest()),
                engine,
                published: None,
            }),
            dir: dir.to_owned(),
            matcher: settings.matcher.clone(),
            limits: settings.limits,
            gate,
            reloading: Mutex::new(()),
            last_refusal: Mutex::new(None),
            source: Source::Directory,
            history: Mutex::new(VecDeque::new()),
        })
    }

    /// Serves `engine`, the published `version`, and from then on whatever version the
    /// database of `store` says is current (see [`Reloader::reload`]). `dir` is where
    /// [`Reloader::publish_dir`] comes from by default. The gate judged the set when it was
    /// published; it is not judged again here, so every process serves the same set.
    pub fn published(
        engine: Engine,
        version: u32,
        store: PgStore,
        dir: &Path,
        settings: &Settings,
    ) -> Reloader {
        let gate = Gate::of(settings);
        Reloader {
            current: ArcSwap::from_pointee(Served {
                version: version_of(engine.set().digest()),
                engine,
                published: Some(version),
            }),
            dir: dir.to_owned(),
            matcher: settings.matcher.clone(),
            limits: settings.limits,
            gate,
            reloading: Mutex::new(()),
            last_refusal: Mutex::new(None),
            source: Source::Published(store),
            history: Mutex::new(VecDeque::new()),
        }
    }

    /// The store of published sets, when sets come from there.
    pub fn publisher(&self) -> Option<&PgStore> {
        match &self.source {
            Source::Directory => None,
            Source::Published(store) => Some(store),
        }
    }

    /// The set in service. Hold the `Arc` for the whole of a question: a reload meanwhile
    /// does not change what that question sees.
    pub fn served(&self) -> Arc<Served> {
        self.current.load_full()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Loads, validates, compiles and gates the directory; swaps it in only when all pass.
    /// Files whose bytes are those of the set in service are not compiled again (a watcher
    /// may report one save twice, and a triage edit is reported by the watcher and reloaded
    /// by the command too). Blocking (run it off an async runtime).
    /// A panic on the way (a bug, not a problem in the files) is caught, the set in service
    /// stays, and it comes back as [`Refusal::Panicked`], whoever called.
    ///
    /// With published sets, a reload reads which version is current and swaps it in when it
    /// is not the one in service (a rollback included).
    pub fn reload(&self) -> Result<Reloaded, Refusal> {
        let result = match &self.source {
            Source::Directory => guarded(|| self.reload_files()),
            Source::Published(store) => guarded(|| self.reload_published(store)),
        };
        self.remember(&result);
        result
    }

    /// Keeps a reload that changed the set or was refused in [`Reloader::history`].
    fn remember(&self, result: &Result<Reloaded, Refusal>) {
        let serving = self.current.load();
        let event = match result {
            Ok(reloaded) if reloaded.unchanged => return,
            Ok(reloaded) => ReloadEvent {
                at_ms: crate::admin::store::now_ms(),
                version: reloaded.version.clone(),
                published: reloaded.published,
                intents: reloaded.intents,
                warnings: reloaded.warnings.len(),
                refused: None,
            },
            Err(refusal) => ReloadEvent {
                at_ms: crate::admin::store::now_ms(),
                version: serving.version.clone(),
                published: serving.published,
                intents: serving.engine.intents().len(),
                warnings: 0,
                refused: Some(refusal.lines()),
            },
        };
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.push_back(event);
        while history.len() > HISTORY_KEPT {
            history.pop_front();
        }
    }

    /// The latest reloads (and publications) of this process that changed the set in
    /// service or were refused, newest first.
    pub fn history(&self) -> Vec<ReloadEvent> {
        let history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        history.iter().rev().cloned().collect()
    }

    fn reload_published(&self, store: &PgStore) -> Result<Reloaded, Refusal> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let serving = self.current.load_full();
        // The number first: most checks find the version in service (a process's own
        // publication, the periodic check), and need not read its files.
        let current = store
            .current_version()
            .map_err(|e| Refusal::Store(format!("{e:#}")))?;
        if current.is_some() && current == serving.published {
            return Ok(Reloaded {
                intents: serving.engine.intents().len(),
                warnings: Vec::new(),
                version: serving.version.clone(),
                unchanged: true,
                took: started.elapsed(),
                published: current,
            });
        }
        let (version, files) = store
            .current_intents()
            .map_err(|e| Refusal::Store(format!("{e:#}")))?
            .ok_or_else(|| Refusal::Store("no intent set is published".to_owned()))?;
        if serving.published == Some(version) {
            return Ok(Reloaded {
                intents: serving.engine.intents().len(),
                warnings: Vec::new(),
                version: serving.version.clone(),
                unchanged: true,
                took: started.elapsed(),
                published: Some(version),
            });
        }
        let label = published_label(version);
        let loaded = intents::load_texts(&label, files, &self.limits)
            .map_err(|refused| Refusal::Invalid(refused.diagnostics))?;
        let engine = Engine::build(loaded.set, &self.matcher);
        let served = Served {
            version: version_of(engine.set().digest()),
            engine,
            published: Some(version),
        };
        let (intents, version_text) = (served.engine.intents().len(), served.version.clone());
        self.current.store(Arc::new(served));
        *self.last_refusal.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(Reloaded {
            intents,
            warnings: loaded.warnings,
            version: version_text,
            unchanged: false,
            took: started.elapsed(),
            published: Some(version),
        })
    }

    /// Loads, validates, compiles and gates `dir` exactly as a reload does, then publishes
    /// it as a new version (by `by`) and serves it here at once; the other processes take
    /// it when told. Files identical to the version in service publish nothing. Only with
    /// published sets. Blocking.
    pub fn publish_dir(&self, dir: &Path, by: &str) -> Result<Reloaded, Refusal> {
        let result = self
            .publish_dir_based_on(dir, by, None)
            .map(|published| published.expect("only an edit can be stale"));
        self.remember(&result);
        result
    }

    /// [`Reloader::publish_dir`] of an edit of version `based_on` (when given): `Ok(None)`,
    /// publishing nothing, when another version became current meanwhile.
    fn publish_dir_based_on(
        &self,
        dir: &Path,
        by: &str,
        based_on: Option<u32>,
    ) -> Result<Option<Reloaded>, Refusal> {
        let Source::Published(store) = &self.source else {
            return Err(Refusal::Store(
                "intent sets are published only with a PostgreSQL store".to_owned(),
            ));
        };
        guarded(|| {
            let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
            let started = Instant::now();
            let checked = check_dir(dir, &self.matcher, &self.limits, self.gate.as_ref())?;
            let published = store
                .publish(
                    &checked.files,
                    checked.engine.set().digest(),
                    checked.engine.intents().len(),
                    by,
                    false,
                    based_on,
                )
                .map_err(|e| Refusal::Store(format!("{e:#}")))?;
            let version = match published {
                Published::New(version)
                | Published::Unchanged(version)
                | Published::Existing(version) => version,
                Published::Stale(_) => return Ok(None),
            };
            let intents = checked.engine.intents().len();
            let version_text = version_of(checked.engine.set().digest());
            let serving = self.current.load();
            let unchanged = serving.published == Some(version);
            if !unchanged {
                self.current.store(Arc::new(Served {
                    version: version_text.clone(),
                    engine: checked.engine,
                    published: Some(version),
                }));
            }
            *self.last_refusal.lock().unwrap_or_else(|e| e.into_inner()) = None;
            Ok(Some(Reloaded {
                intents,
                warnings: checked.warnings,
                version: version_text,
                unchanged: matches!(published, Published::Unchanged(_)),
                took: started.elapsed(),
                published: Some(version),
            }))
        })
    }

    /// Triage with published sets: appends `example` to `intent` in a copy of the version
    /// in service and publishes it: [`Reloader::edit_and_publish`] with
    /// [`edit::Change::AddExample`].
    pub fn append_and_publish(
        &self,
        intent: &str,
        example: &str,
        by: &str,
    ) -> Result<(edit::Appended, Result<Reloaded, Refusal>), edit::EditError> {
        self.edit_and_publish(intent, &edit::Change::AddExample(example.to_owned()), by)
    }

    /// An edit with published sets: makes `change` to `intent` in a scratch copy of the
    /// version in service (as [`edit::edit_intent`] does in a directory, comments kept) and
    /// publishes the copy ([`Reloader::publish_dir`]), by `by`. When another process
    /// publishes meanwhile, the edit is made again on the newer version, so neither change
    /// is lost. A refused copy publishes nothing, so there is nothing to take back; an edit
    /// refused as such (`Err`, e.g. [`edit::EditError::Unchanged`]) publishes nothing
    /// either. Blocking.
    pub fn edit_and_publish(
        &self,
        intent: &str,
        change: &edit::Change,
        by: &str,
    ) -> Result<(edit::Edited, Result<Reloaded, Refusal>), edit::EditError> {
        let Source::Published(store) = &self.source else {
            return Err(edit::EditError::Parse {
                path: self.dir.clone(),
                message: "intent sets are published only with a PostgreSQL store".to_owned(),
            });
        };
        let unreachable = |e: anyhow::Error| edit::EditError::Parse {
            path: PathBuf::from("published"),
            message: format!("{e:#}"),
        };
        for _ in 0..EDIT_ATTEMPTS {
            let (version, files) = store
                .current_intents()
                .map_err(unreachable)?
                .ok_or_else(|| unreachable(anyhow::anyhow!("no intent set is published")))?;
            let scratch = Scratch::new().map_err(|source| edit::EditError::Io {
                path: std::env::temp_dir(),
                source,
            })?;
            for (name, text) in &files {
                let path = scratch.0.join(name);
                std::fs::write(&path, text)
                    .map_err(|source| edit::EditError::Io { path, source })?;
            }
            let edited = edit::edit_intent(&scratch.0, intent, change)?;
            let published = match self.publish_dir_based_on(&scratch.0, by, Some(version)) {
                Ok(None) => continue,
                Ok(Some(reloaded)) => Ok(reloaded),
                Err(refusal) => Err(refusal),
            };
            self.remember(&published);
            return Ok((edited, published));
        }
        Err(unreachable(anyhow::anyhow!(
            "the published set kept changing; try again"
        )))
    }

    fn reload_files(&self) -> Result<Reloaded, Refusal> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let loaded = intents::load_dir(&self.dir, &self.limits)
            .map_err(|refused| Refusal::Invalid(refused.diagnostics))?;
        let version = version_of(loaded.set.digest());
        let serving = self.current.load();
        let unchanged = serving.version == version;
        let intents = if unchanged {
            serving.engine.intents().len()
        } else {
            let engine = Engine::build(loaded.set, &self.matcher);
            if let Some(gate) = &self.gate {
                check_gate(&engine, gate)?;
            }
            let intents = engine.intents().len();
            self.current.store(Arc::new(Served {
                engine,
                version: version.clone(),
                published: None,
            }));
            intents
        };
        *self.last_refusal.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(Reloaded {
            intents,
            warnings: loaded.warnings,
            version,
            unchanged,
            took: started.elapsed(),
            published: None,
        })
    }

    /// True the first time this refusal is seen since the last success or other refusal:
    /// an admin channel hears of a broken file once, not on every save.
    pub fn first_time(&self, refusal: &Refusal) -> bool {
        let text = refusal.text();
        let mut last = self.last_refusal.lock().unwrap_or_else(|e| e.into_inner());
        if last.as_deref() == Some(text.as_str()) {
            return false;
        }
        *last = Some(text);
        true
    }
}

/// How many times an edit of a published set is made again on a newer version before giving up.
const EDIT_ATTEMPTS: usize = 5;

/// A directory of its own under the system's temporary directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> std::io::Result<Scratch> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "careerbot-triage-{}-{n}-{}",
            std::process::id(),
            crate::admin::store::now_ms()
        ));
        std::fs::create_dir(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A directory checked as a reload checks it, with the files it was read from.
pub struct Checked {
    pub engine: Engine,
    pub warnings: Vec<Diagnostic>,
    /// (file name, text), exactly as read.
    pub files: Vec<(String, String)>,
}

/// Loads, validates, compiles and gates `dir`: what a reload does before a set goes live.
pub fn check_dir(
    dir: &Path,
    matcher: &MatcherSettings,
    limits: &Limits,
    gate: Option<&Gate>,
) -> Result<Checked, Refusal> {
    let (loaded, files) = intents::load_dir_with_texts(dir, limits)
        .map_err(|refused| Refusal::Invalid(refused.diagnostics))?;
    let engine = Engine::build(loaded.set, matcher);
    if let Some(gate) = gate {
        check_gate(&engine, gate)?;
    }
    Ok(Checked {
        engine,
        warnings: loaded.warnings,
        files,
    })
}

/// Where the diagnostics of a published version point: `published/v<N>/<file>`.
pub fn published_label(version: u32) -> PathBuf {
    Path::new("published").join(format!("v{version}"))
}

/// Runs `reload`, a panic in it becoming [`Refusal::Panicked`].
fn guarded<T>(reload: impl FnOnce() -> Result<T, Refusal>) -> Result<T, Refusal> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(reload))
        .unwrap_or_else(|payload| Err(Refusal::panicked(payload)))
}

pub fn check_gate(engine: &Engine, gate: &Gate) -> Result<(), Refusal> {
    let cases: Vec<Case> =
        evaluation::read_cases(&gate.cases).map_err(|e| Refusal::GateBroken(format!("{e:#}")))?;
    if cases.is_empty() {
        return Err(Refusal::GateBroken(format!(
            "{} holds no cases",
            gate.cases.display()
        )));
    }
    let report = evaluation::evaluate(engine, &cases)
        .map_err(|e| Refusal::GateBroken(format!("{}: {e:#}", gate.cases.display())))?;
    if report.accuracy < gate.min_accuracy {
        return Err(Refusal::Gate {
            accuracy: report.accuracy,
            min_accuracy: gate.min_accuracy,
            cases: report.cases,
            failures: report.failures,
        });
    }
    Ok(())
}

/// `<crate version>+<16 hex digits>`: the crate's version and the digest of the bytes a
/// set was loaded from (see [`ValidSet::digest`](crate::engine::intents::ValidSet::digest)).
fn version_of(digest: &str) -> String {
    format!("{}+{digest}", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_during_a_reload_is_reported_as_a_panic() {
        let result = guarded::<Reloaded>(|| panic!("the matcher fell over"));
        assert!(
            matches!(&result, Err(Refusal::Panicked(m)) if m == "the matcher fell over"),
            "{result:?}"
        );
        let result = guarded::<Reloaded>(|| panic!("{} intents", 3));
        assert!(matches!(&result, Err(Refusal::Panicked(m)) if m == "3 intents"));
        let result = guarded::<Reloaded>(|| Err(Refusal::GateBroken("no cases".to_owned())));
        assert!(matches!(result, Err(Refusal::GateBroken(_))));
    }

    /// Two processes' reloaders over one PostgreSQL schema, the fixture published as v1.
    fn two_published(
        db: &crate::admin::store::testing::TestDb,
    ) -> (tempfile::TempDir, Reloader, Reloader) {
        let crate::admin::store::Database::Postgres(url) = &db.database else {
            unreachable!()
        };
        let dir = crate::admin::good_fixture_copy();
        let settings = Settings::defaults();
        let open = || {
            let store = PgStore::open(url).unwrap();
            let checked = check_dir(dir.path(), &settings.matcher, &settings.limits, None).unwrap();
            let digest = checked.engine.set().digest().to_owned();
            let intents = checked.engine.intents().len();
            let version = match store
                .publish(&checked.files, &digest, intents, "test", true, None)
                .unwrap()
            {
                Published::New(v) | Published::Existing(v) => v,
                other => panic!("{other:?}"),
            };
            Reloader::published(checked.engine, version, store, dir.path(), &settings)
        };
        let (a, b) = (open(), open());
        (dir, a, b)
    }

    #[test]
    fn triage_in_two_processes_keeps_both_examples_and_a_stale_edit_publishes_nothing() {
        let db = crate::admin::store::testing::TestDb::postgres();
        let (_dir, a, b) = two_published(&db);
        assert_eq!(a.served().published, Some(1));
        assert_eq!(b.served().published, Some(1));
        let intent = a.served().engine.intents()[0].id.clone();
        let (_, first) = a
            .append_and_publish(&intent, "zebra wranglers ask this first", "a")
            .unwrap();
        assert_eq!(first.unwrap().published, Some(2));
        // b still serves version 1, yet its edit is made on version 2: nothing is lost.
        assert_eq!(b.served().published, Some(1));
        let (_, second) = b
            .append_and_publish(&intent, "zebra wranglers ask this second", "b")
            .unwrap();
        assert_eq!(second.unwrap().published, Some(3));
        let store = b.publisher().unwrap();
        let (version, files) = store.current_intents().unwrap().unwrap();
        assert_eq!(version, 3);
        let all: String = files.into_iter().map(|(_, text)| text).collect();
        assert!(all.contains("zebra wranglers ask this first"), "{all}");
        assert!(all.contains("zebra wranglers ask this second"), "{all}");
        // An edit of version 2, published now that 3 is current, is refused as stale.
        let stale = store
            .publish(
                &[("x.toml".to_owned(), String::new())],
                "d",
                0,
                "late",
                false,
                Some(2),
            )
            .unwrap();
        assert_eq!(stale, Published::Stale(3));
        assert_eq!(store.current_version().unwrap(), Some(3));
        // And a reload brings a up to the current version.
        let reloaded = a.reload().unwrap();
        assert_eq!((reloaded.published, reloaded.unchanged), (Some(3), false));
    }

    #[test]
    fn unchanged_files_are_not_compiled_again_and_any_byte_counts_as_a_change() {
        let dir = crate::admin::good_fixture_copy();
        let settings = Settings::load(None).unwrap();
        let (engine, _) = Engine::load(dir.path(), &settings.matcher, &settings.limits).unwrap();
        let reloader = Reloader::new(engine, dir.path(), &settings).unwrap();
        let first = reloader.served();

        let same = reloader.reload().unwrap();
        assert!(same.unchanged);
        assert!(Arc::ptr_eq(&first, &reloader.served()));
        assert_eq!(same.version, first.version);

        // A comment is a change of bytes: a new set, a new version.
        let file = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "toml"))
            .unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, format!("{text}\n# edited\n")).unwrap();
        let edited = reloader.reload().unwrap();
        assert!(!edited.unchanged);
        assert_ne!(edited.version, first.version);
        assert!(!Arc::ptr_eq(&first, &reloader.served()));

        // Back to the first bytes: the first version again (the digest is of the bytes).
        std::fs::write(&file, text).unwrap();
        let back = reloader.reload().unwrap();
        assert!(!back.unchanged);
        assert_eq!(back.version, first.version);
    }

    #[test]
    fn an_edit_of_a_published_set_is_served_at_once_and_an_unchanged_one_publishes_nothing() {
        let db = crate::admin::store::testing::TestDb::postgres();
        let (_dir, a, b) = two_published(&db);
        let answer = "A published answer.\n\nOn two lines, \"quoted\".";
        let (done, first) = a
            .edit_and_publish(
                "role.overview",
                &edit::Change::SetAnswer(answer.to_owned()),
                "a",
            )
            .unwrap();
        assert_eq!(done.example, answer);
        assert_eq!(first.unwrap().published, Some(2));
        let served = a.served();
        assert_eq!(
            served.engine.intent("role.overview").unwrap().answer,
            answer
        );

        // b serves version 1, yet removes the example from version 2: the answer stays.
        let remove = edit::Change::RemoveExample("Describe a typical day?".to_owned());
        let (done, second) = b.edit_and_publish("role.overview", &remove, "b").unwrap();
        assert_eq!(done.example, "describe a typical day");
        assert_eq!(second.unwrap().published, Some(3));
        let served = b.served();
        let overview = served.engine.intent("role.overview").unwrap();
        assert_eq!(overview.answer, answer);
        assert!(!overview
            .examples
            .iter()
            .any(|e| e == "describe a typical day"));

        // The same answer again, or an example that is gone: nothing is published.
        let same = b.edit_and_publish(
            "role.overview",
            &edit::Change::SetAnswer(answer.to_owned()),
            "b",
        );
        assert!(
            matches!(same, Err(edit::EditError::Unchanged { .. })),
            "{same:?}"
        );
        let gone = b.edit_and_publish("role.overview", &remove, "b");
        assert!(
            matches!(gone, Err(edit::EditError::NoSuchExample { .. })),
            "{gone:?}"
        );
        assert_eq!(b.publisher().unwrap().current_version().unwrap(), Some(3));
        assert!(Arc::ptr_eq(&served, &b.served()));
    }
}
