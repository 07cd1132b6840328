//! Reloads that cannot break the bot: the whole intent set is loaded, validated, compiled
//! and (optionally) regression-tested off to the side, then swapped in at once. A question
//! is answered by the old set or the new one, never a mix; a refused set changes nothing.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;

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
}

/// An engine with the version of the files it was built from.
pub struct Served {
    pub engine: Engine,
    /// `<crate version>+<hash of the intent files>`, stored with every question.
    pub version: String,
}

/// The regression gate: cases the new set must answer well enough.
#[derive(Debug, Clone)]
pub struct Gate {
    pub cases: PathBuf,
    pub min_accuracy: f64,
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
            Refusal::GateBroken(why) | Refusal::Panicked(why) => vec![why.clone()],
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
        let gate = &settings.admin.reload_gate;
        let gate = gate.cases.clone().map(|cases| Gate {
            cases,
            min_accuracy: gate.min_accuracy,
        });
        if let Some(gate) = &gate {
            check_gate(&engine, gate)?;
        }
        Ok(Reloader {
            current: ArcSwap::from_pointee(Served {
                version: version_of(engine.set().digest()),
                engine,
            }),
            dir: dir.to_owned(),
            matcher: settings.matcher.clone(),
            limits: settings.limits,
            gate,
            reloading: Mutex::new(()),
            last_refusal: Mutex::new(None),
        })
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
    pub fn reload(&self) -> Result<Reloaded, Refusal> {
        guarded(|| self.reload_files())
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

/// Runs `reload`, a panic in it becoming [`Refusal::Panicked`].
fn guarded(reload: impl FnOnce() -> Result<Reloaded, Refusal>) -> Result<Reloaded, Refusal> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(reload))
        .unwrap_or_else(|payload| Err(Refusal::panicked(payload)))
}

fn check_gate(engine: &Engine, gate: &Gate) -> Result<(), Refusal> {
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
        let result = guarded(|| panic!("the matcher fell over"));
        assert!(
            matches!(&result, Err(Refusal::Panicked(m)) if m == "the matcher fell over"),
            "{result:?}"
        );
        let result = guarded(|| panic!("{} intents", 3));
        assert!(matches!(&result, Err(Refusal::Panicked(m)) if m == "3 intents"));
        let result = guarded(|| Err(Refusal::GateBroken("no cases".to_owned())));
        assert!(matches!(result, Err(Refusal::GateBroken(_))));
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
}
