//! Watches the intents directory and says when its `*.toml` files changed, so the bot can
//! reload them.
//!
//! The directory is watched, not the files: editors save by writing a temp file and renaming
//! it over the original, which replaces the inode a per-file watch would be following.
//! Events are debounced by `notify-debouncer-full` and filtered by file name with the
//! loader's own rule (`intents::files::kind_of`): only the visible `*.toml` files directly
//! in the directory count (editor swap files, backups, lock files, vim's `4913` probe and
//! our own `.x.toml.*.tmp` are not), and mere opens and reads are ignored, so a reload that
//! reads the files cannot trigger itself.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::RecommendedCache;
use notify_debouncer_full::{new_debouncer, DebounceEventResult, DebouncedEvent, Debouncer};

use crate::engine::intents::files;

/// A running watch of an intents directory; stops when dropped.
pub struct Watch {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    /// Set on drop: events still queued in the debouncer thread are not reported.
    stopped: Arc<AtomicBool>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // No new `on_change` call starts after this; one already running may finish.
        self.stopped.store(true, Ordering::SeqCst);
    }
}

/// Calls `on_change` (on the debouncer's thread) once per burst of changes to `*.toml`
/// files directly in `dir`, at most every `debounce`: a change is reported between one
/// and two `debounce` after it happened. Handles editors' save-by-rename, file creation,
/// deletion and renames; vim's `4913` probe and `*.swp`, emacs `#x#`/`.#x`, `x~` backups
/// and other hidden or non-`.toml` files are ignored. Errors from notify are logged with
/// `tracing::warn!`. A long burst of changes may be reported in two calls.
///
/// Fails when `dir` cannot be watched (missing, not a directory, no inotify watches left)
/// or when `debounce` is zero.
pub fn watch(
    dir: &Path,
    debounce: Duration,
    mut on_change: impl FnMut() + Send + 'static,
) -> anyhow::Result<Watch> {
    anyhow::ensure!(!debounce.is_zero(), "the reload debounce must not be zero");
    let stopped = Arc::new(AtomicBool::new(false));
    let handler_stopped = Arc::clone(&stopped);
    let shown_dir = dir.display().to_string();
    let handler = move |result: DebounceEventResult| match result {
        Ok(events) => {
            if events.iter().any(is_relevant) && !handler_stopped.load(Ordering::SeqCst) {
                on_change();
            }
        }
        Err(errors) => {
            for error in errors {
                tracing::warn!(dir = %shown_dir, "error watching the intents directory: {error}");
            }
        }
    };
    // A tick as long as the debounce: the debouncer thread then reports at most once per
    // `debounce`, instead of every quarter of it.
    let mut debouncer = new_debouncer(debounce, Some(debounce), handler)
        .context("cannot start the file watcher")?;
    debouncer
        .watch(dir, RecursiveMode::NonRecursive)
        .with_context(|| format!("cannot watch {}", dir.display()))?;
    Ok(Watch {
        _debouncer: debouncer,
        stopped,
    })
}

/// Whether an event may change what `intents::load_dir` reads.
fn is_relevant(event: &DebouncedEvent) -> bool {
    if event.need_rescan() {
        return true; // events were lost: assume anything changed
    }
    match event.kind {
        // Closing a file written to finishes a write; every other access is a mere read,
        // such as the reload reading the files.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return false,
        _ => {}
    }
    // A file the loader reads: `x.toml`, not `.x.toml.tmp`, `x.toml.swp`, `x.toml~`,
    // `#x.toml#`, `.#x.toml` or `4913`.
    event
        .paths
        .iter()
        .any(|path| path.file_name().and_then(files::kind_of).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::sync::mpsc::{self, Receiver};
    use std::time::Instant;

    const DEBOUNCE: Duration = Duration::from_millis(200);
    /// How long a change may take to be reported (generous, for loaded CI machines).
    const PATIENCE: Duration = Duration::from_secs(5);
    /// How long to wait before concluding that nothing will be reported.
    const QUIET: Duration = Duration::from_secs(1);

    /// A watch on a fresh directory holding `x.toml`, and the channel its calls go to.
    fn start() -> (tempfile::TempDir, Watch, Receiver<Instant>) {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("x.toml"), "a = 1\n").unwrap();
        let (tx, rx) = mpsc::channel();
        let watch = watch(dir.path(), DEBOUNCE, move || {
            let _ = tx.send(Instant::now());
        })
        .unwrap();
        (dir, watch, rx)
    }

    /// Calls reported until `QUIET` passes without one (after waiting up to `PATIENCE`
    /// for the first when `expect_one`).
    fn calls(rx: &Receiver<Instant>, expect_one: bool) -> Vec<Instant> {
        let mut calls = Vec::new();
        if expect_one {
            calls.extend(rx.recv_timeout(PATIENCE).ok());
        }
        while let Ok(at) = rx.recv_timeout(QUIET) {
            calls.push(at);
        }
        calls
    }

    /// Asserts that one change was reported: in one call, or in two when its events
    /// straddled a debounce tick (a create and the write's close can arrive apart on a
    /// loaded machine; reloading twice is harmless).
    fn assert_reported(calls: &[Instant], what: &str) {
        assert!(
            (1..=2).contains(&calls.len()),
            "{what}: {} calls",
            calls.len()
        );
    }

    #[test]
    fn a_write_is_reported() {
        let (dir, _watch, rx) = start();
        fs::write(dir.path().join("x.toml"), "a = 2\n").unwrap();
        assert_reported(&calls(&rx, true), "write");
    }

    #[test]
    fn creation_and_deletion_are_reported() {
        let (dir, _watch, rx) = start();
        fs::write(dir.path().join("new.toml"), "a = 1\n").unwrap();
        assert_reported(&calls(&rx, true), "creation");
        fs::remove_file(dir.path().join("x.toml")).unwrap();
        assert_reported(&calls(&rx, true), "deletion");
    }

    #[test]
    fn a_save_by_rename_is_reported() {
        let (dir, _watch, rx) = start();
        let tmp = dir.path().join(".x.toml.tmp");
        fs::write(&tmp, "a = 3\n").unwrap();
        fs::rename(&tmp, dir.path().join("x.toml")).unwrap();
        assert_reported(&calls(&rx, true), "save by rename");
    }

    #[test]
    fn an_append_example_is_reported() {
        let (dir, _watch, rx) = start();
        let text = "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\nexamples = [\"x\"]\n";
        fs::write(dir.path().join("a.toml"), text).unwrap();
        calls(&rx, true);
        crate::admin::edit::append_example(dir.path(), "a.b", "y").unwrap();
        assert_reported(&calls(&rx, true), "append");
    }

    #[test]
    fn a_burst_of_writes_is_reported_once() {
        let (dir, _watch, rx) = start();
        for i in 0..5 {
            fs::write(dir.path().join("x.toml"), format!("a = {i}\n")).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        let calls = calls(&rx, true);
        assert_reported(&calls, "burst");
        if let [first, second] = calls[..] {
            assert!(second - first >= DEBOUNCE, "{:?} apart", second - first);
        }
    }

    #[test]
    fn other_files_and_reads_are_ignored() {
        let (dir, _watch, rx) = start();
        let path = |name: &str| dir.path().join(name);
        for name in [
            "notes.txt",
            "x.toml.swp",
            ".x.toml.swp",
            "4913",
            "x.toml~",
            "#x.toml#",
            ".hidden.toml",
        ] {
            fs::write(path(name), "junk").unwrap();
        }
        fs::remove_file(path("4913")).unwrap();
        fs::rename(path("notes.txt"), path("notes.md")).unwrap();
        // A reload reads the files: that must not report a change.
        fs::read_to_string(path("x.toml")).unwrap();
        fs::read_dir(dir.path()).unwrap().for_each(drop);
        assert_eq!(calls(&rx, false).len(), 0);
    }

    #[test]
    fn dropping_the_watch_stops_calls() {
        let (dir, watch, rx) = start();
        drop(watch);
        fs::write(dir.path().join("x.toml"), "a = 4\n").unwrap();
        assert!(rx.recv_timeout(QUIET).is_err());
    }

    #[test]
    fn a_missing_directory_or_zero_debounce_is_an_error() {
        let missing = Path::new("/no/such/careerbot/dir");
        let err = watch(missing, DEBOUNCE, || {}).unwrap_err();
        assert!(
            format!("{err:#}").contains("/no/such/careerbot/dir"),
            "{err:#}"
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(watch(dir.path(), Duration::ZERO, || {}).is_err());
    }
}
