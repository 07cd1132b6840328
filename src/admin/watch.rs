//! Watches the intents directory and says when its `*.toml` files changed, or when the
//! directory itself was replaced, so the bot can reload them.
//!
//! The directory is watched, not the files: editors save by writing a temp file and renaming
//! it over the original, which replaces the inode a per-file watch would be following.
//! Events are debounced by `notify-debouncer-full` and filtered by file name with the
//! loader's own rule (`intents::files::kind_of`): only the visible `*.toml` files directly
//! in the directory count (editor swap files, backups, lock files, vim's `4913` probe and
//! our own `.x.toml.*.tmp` are not), and mere opens and reads are ignored, so a reload that
//! reads the files cannot trigger itself.
//!
//! A watch follows an inode, and deploys replace the directory: `rm -rf` and recreate, a
//! new directory renamed in, a symlink re-pointed. So the directory's parent is watched too
//! (not recursively: its other entries only make the watcher look, never reload), and on
//! every debounced batch, and every [`CHECK_EVERY`] besides, the path is resolved again:
//! when it names another directory (device, inode and birth time) than the one watched, the
//! watch moves to the new one and the change is reported as [`Change::Replaced`]. The
//! looking and reporting happen on one thread of the watch's own, which owns the debouncer,
//! so moving the watch never races with a report.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode, ModifyKind};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::RecommendedCache;
use notify_debouncer_full::{new_debouncer, DebounceEventResult, DebouncedEvent, Debouncer};

use crate::engine::intents::files;

/// How often the path is resolved again without any event: a symlink re-pointed higher up
/// (`current -> releases/7` with the intents under `current/`) changes nothing the watches
/// see. One `stat` a second costs nothing.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

/// What a watch reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// `*.toml` files in the directory changed: reload.
    Files,
    /// The path names another directory than before (a deploy removed and recreated it,
    /// renamed a new one in, or re-pointed a symlink), or names one again after
    /// [`Change::Missing`]. The new directory is watched now: reload.
    Replaced,
    /// The path names no directory any more (removed, or renamed away, and nothing in its
    /// place yet): nothing to reload, the set in service stays. Said once; the directory's
    /// return is reported as [`Change::Replaced`].
    Missing,
}

/// A running watch of an intents directory; stops when dropped.
pub struct Watch {
    /// Wakes the watch's thread to stop.
    signals: Sender<Signal>,
    /// Set on drop: events still queued are not reported.
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
        let _ = self.signals.send(Signal::Stop);
    }
}

/// What the debouncer hands the watch's thread.
enum Signal {
    /// A debounced batch of events: whether one may change what the loader reads, and
    /// whether one created, removed or renamed the directory itself.
    Batch {
        files: bool,
        dir: bool,
    },
    Stop,
}

/// Calls `on_change` (on the watch's own thread) once per burst of changes to `*.toml`
/// files directly in `dir`, at most every `debounce`: a change is reported between one
/// and two `debounce` after it happened. Handles editors' save-by-rename, file creation,
/// deletion and renames; vim's `4913` probe and `*.swp`, emacs `#x#`/`.#x`, `x~` backups
/// and other hidden or non-`.toml` files are ignored. Errors from notify are logged with
/// `tracing::warn!`. A long burst of changes may be reported in two calls.
///
/// When `dir` is replaced by another directory, the watch moves to it and reports
/// [`Change::Replaced`]; when it disappears, [`Change::Missing`] (see [`Change`]). A relative
/// `dir` is taken from the working directory, as the loader takes it.
///
/// Fails when `dir` cannot be watched (missing, not a directory, no inotify watches left)
/// or when `debounce` is zero. Its parent not being watchable is only logged: replacements
/// are then seen within [`CHECK_EVERY`] instead.
pub fn watch(
    dir: &Path,
    debounce: Duration,
    on_change: impl FnMut(Change) + Send + 'static,
) -> anyhow::Result<Watch> {
    anyhow::ensure!(!debounce.is_zero(), "the reload debounce must not be zero");
    let target = Target::new(dir).with_context(|| format!("cannot watch {}", dir.display()))?;
    // Resolved before the watch is set: a replacement in between is then seen as one.
    let identity = Identity::of(dir).with_context(|| format!("cannot watch {}", dir.display()))?;
    let (signals, received) = mpsc::channel();
    let handler = handler(&target, signals.clone());
    // A tick as long as the debounce: the debouncer thread then reports at most once per
    // `debounce`, instead of every quarter of it.
    let mut debouncer = new_debouncer(debounce, Some(debounce), handler)
        .context("cannot start the file watcher")?;
    target.arm(&mut debouncer)?;
    let stopped = Arc::new(AtomicBool::new(false));
    let watcher = Watcher {
        debouncer,
        target,
        watching: Some(identity),
        on_change,
        stopped: Arc::clone(&stopped),
    };
    std::thread::Builder::new()
        .name("careerbot-watch".to_owned())
        .spawn(move || watcher.run(received))
        .context("cannot start the file watcher")?;
    Ok(Watch { signals, stopped })
}

/// The debouncer's handler: sums each batch up for the watch's thread.
fn handler(target: &Target, signals: Sender<Signal>) -> impl FnMut(DebounceEventResult) {
    let dir = target.dir.clone();
    move |result: DebounceEventResult| match result {
        Ok(events) => {
            let _ = signals.send(Signal::Batch {
                files: events.iter().any(|e| is_relevant(e, &dir)),
                dir: events.iter().any(|e| names_dir(e, &dir)),
            });
        }
        Err(errors) => {
            for error in errors {
                tracing::warn!(dir = %dir.display(), "error watching the intents directory: {error}");
            }
        }
    }
}

/// The path watched, absolute as notify reports it, and its parent.
struct Target {
    /// As given: resolved again on every look, from the working directory as the loader does.
    given: PathBuf,
    /// Absolute (the working directory joined to a relative path, as notify does), not
    /// canonical: the path and its symlinks are what is watched, not what they point to now.
    dir: PathBuf,
    /// `None` when the path ends in `..` or is `/`.
    parent: Option<PathBuf>,
}

impl Target {
    fn new(dir: &Path) -> std::io::Result<Target> {
        let absolute = if dir.is_absolute() {
            dir.to_owned()
        } else {
            std::env::current_dir()?.join(dir)
        };
        let parent = match absolute.components().next_back() {
            Some(Component::Normal(_)) => absolute.parent().map(Path::to_owned),
            _ => None,
        };
        Ok(Target {
            given: dir.to_owned(),
            dir: absolute,
            parent,
        })
    }

    /// Watches the parent and the directory the path names now.
    fn arm(
        &self,
        debouncer: &mut Debouncer<RecommendedWatcher, RecommendedCache>,
    ) -> anyhow::Result<()> {
        if let Some(parent) = &self.parent {
            if let Err(error) = debouncer.watch(parent, RecursiveMode::NonRecursive) {
                tracing::warn!(
                    dir = %self.given.display(),
                    "cannot watch the intents directory's parent, replacements are seen within {CHECK_EVERY:?}: {error}"
                );
            }
        }
        debouncer
            .watch(&self.dir, RecursiveMode::NonRecursive)
            .with_context(|| format!("cannot watch {}", self.given.display()))
    }

    /// Drops the watches, whatever they follow now.
    fn disarm(&self, debouncer: &mut Debouncer<RecommendedWatcher, RecommendedCache>) {
        // Either may be gone already: notify drops a directory's watch when it sees the
        // directory removed or renamed away.
        let _ = debouncer.unwatch(&self.dir);
        if let Some(parent) = &self.parent {
            let _ = debouncer.unwatch(parent);
        }
    }
}

/// Which directory a path names: device, inode and (where the file system keeps it) birth
/// time, so that a directory recreated on a freed inode still counts as another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    born: Option<SystemTime>,
}

impl Identity {
    /// The directory `dir` names now, following symlinks; an error when it names none.
    fn of(dir: &Path) -> std::io::Result<Identity> {
        let meta = std::fs::metadata(dir)?;
        if !meta.is_dir() {
            return Err(std::io::Error::other("not a directory"));
        }
        let (dev, ino) = file_id(&meta);
        Ok(Identity {
            dev,
            ino,
            born: meta.created().ok(),
        })
    }
}

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

/// Elsewhere only the birth time tells directories apart.
#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The watch's thread: owns the debouncer, so that it can move the watch.
struct Watcher<F> {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    target: Target,
    /// The directory watched; `None` while the path names none.
    watching: Option<Identity>,
    on_change: F,
    stopped: Arc<AtomicBool>,
}

impl<F: FnMut(Change)> Watcher<F> {
    fn run(mut self, signals: Receiver<Signal>) {
        loop {
            let (mut files, mut dir) = (false, false);
            let mut take = |signal: Signal| match signal {
                Signal::Batch { files: f, dir: d } => {
                    files |= f;
                    dir |= d;
                    true
                }
                Signal::Stop => false,
            };
            let go_on = match signals.recv_timeout(CHECK_EVERY) {
                Ok(signal) => take(signal),
                Err(RecvTimeoutError::Timeout) => true,
                Err(RecvTimeoutError::Disconnected) => false,
            };
            // Batches that queued during a long reload make one report.
            if !go_on || !signals.try_iter().all(&mut take) || self.stopped.load(Ordering::SeqCst) {
                return;
            }
            let change = match self.look(dir) {
                Some(change) => Some(change),
                None if files && self.watching.is_some() => Some(Change::Files),
                None => None,
            };
            if let Some(change) = change {
                if self.stopped.load(Ordering::SeqCst) {
                    return;
                }
                (self.on_change)(change);
            }
        }
    }

    /// Resolves the path again and moves the watch when it names another directory than
    /// the one watched, or when `dir_touched` (the directory was created, removed or
    /// renamed: notify has dropped its watch even if the same directory is back).
    fn look(&mut self, dir_touched: bool) -> Option<Change> {
        let Ok(now) = Identity::of(&self.target.given) else {
            self.watching.take()?;
            // The parent stays watched: it sees the directory come back.
            let _ = self.debouncer.unwatch(&self.target.dir);
            return Some(Change::Missing);
        };
        let was = self.watching;
        if was == Some(now) && !dir_touched {
            return None;
        }
        self.target.disarm(&mut self.debouncer);
        match self.target.arm(&mut self.debouncer) {
            Ok(()) => self.watching = Some(now),
            Err(error) => {
                // Gone again, or out of watches: the next look tries again.
                tracing::warn!("{error:#}");
                self.watching = None;
                return None;
            }
        }
        // The same directory moved away and back: re-watched quietly, and reloaded in case.
        Some(if was == Some(now) {
            Change::Files
        } else {
            Change::Replaced
        })
    }
}

/// Whether an event may change what `intents::load_dir` reads from `dir`.
fn is_relevant(event: &DebouncedEvent, dir: &Path) -> bool {
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
    // A file the loader reads: `x.toml` directly in `dir` (not a sibling of `dir` seen by
    // the parent's watch), not `.x.toml.tmp`, `x.toml.swp`, `x.toml~`, `#x.toml#`,
    // `.#x.toml` or `4913`.
    event.paths.iter().any(|path| {
        path.parent() == Some(dir) && path.file_name().and_then(files::kind_of).is_some()
    })
}

/// Whether an event created, removed or renamed `dir` itself (or events were lost).
fn names_dir(event: &DebouncedEvent, dir: &Path) -> bool {
    if event.need_rescan() {
        return true;
    }
    matches!(
        event.kind,
        EventKind::Create(_) | EventKind::Remove(_) | EventKind::Modify(ModifyKind::Name(_))
    ) && event.paths.iter().any(|path| path == dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_debouncer_full::notify::event::{CreateKind, DataChange, Event, RemoveKind};
    use std::fs;
    use std::time::Instant;

    const DEBOUNCE: Duration = Duration::from_millis(200);
    /// How long a change may take to be reported (generous, for loaded CI machines).
    const PATIENCE: Duration = Duration::from_secs(5);
    /// How long to wait before concluding that nothing will be reported.
    const QUIET: Duration = Duration::from_secs(1);

    /// A watch on `intents/` (holding `x.toml`) in a fresh directory, so that the parent
    /// it also watches is the test's own; the channel its calls go to.
    struct Watched {
        root: tempfile::TempDir,
        watch: Watch,
        calls: Receiver<(Change, Instant)>,
    }

    impl Watched {
        fn dir(&self) -> PathBuf {
            self.root.path().join("intents")
        }
    }

    fn start() -> Watched {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("intents");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("x.toml"), "a = 1\n").unwrap();
        start_on(root, &dir)
    }

    fn start_on(root: tempfile::TempDir, dir: &Path) -> Watched {
        let (tx, calls) = mpsc::channel();
        let watch = watch(dir, DEBOUNCE, move |change| {
            let _ = tx.send((change, Instant::now()));
        })
        .unwrap();
        Watched { root, watch, calls }
    }

    /// Calls reported until `QUIET` passes without one (after waiting up to `PATIENCE`
    /// for the first when `expect_one`).
    fn calls(rx: &Receiver<(Change, Instant)>, expect_one: bool) -> Vec<(Change, Instant)> {
        let mut calls = Vec::new();
        if expect_one {
            calls.extend(rx.recv_timeout(PATIENCE).ok());
        }
        while let Ok(call) = rx.recv_timeout(QUIET) {
            calls.push(call);
        }
        calls
    }

    /// Asserts that one change of files was reported: in one call, or in two when its
    /// events straddled a debounce tick (a create and the write's close can arrive apart on
    /// a loaded machine; reloading twice is harmless).
    fn assert_reported(calls: &[(Change, Instant)], what: &str) {
        assert!(
            (1..=2).contains(&calls.len()) && calls.iter().all(|(c, _)| *c == Change::Files),
            "{what}: {calls:?}"
        );
    }

    /// Waits up to `PATIENCE` for `wanted` to be reported; the calls before it.
    fn until(rx: &Receiver<(Change, Instant)>, wanted: Change) -> Vec<Change> {
        let deadline = Instant::now() + PATIENCE;
        let mut before = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((change, _)) if change == wanted => return before,
                Ok((change, _)) => before.push(change),
                Err(_) => panic!("no {wanted:?} within {PATIENCE:?}; got {before:?}"),
            }
        }
    }

    /// A directory beside `intents/` holding `x.toml`, ready to replace it.
    fn release(w: &Watched, name: &str) -> PathBuf {
        let dir = w.root.path().join(name);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("x.toml"), format!("a = {name:?}\n")).unwrap();
        dir
    }

    #[test]
    fn a_write_is_reported() {
        let w = start();
        fs::write(w.dir().join("x.toml"), "a = 2\n").unwrap();
        assert_reported(&calls(&w.calls, true), "write");
    }

    #[test]
    fn creation_and_deletion_are_reported() {
        let w = start();
        fs::write(w.dir().join("new.toml"), "a = 1\n").unwrap();
        assert_reported(&calls(&w.calls, true), "creation");
        fs::remove_file(w.dir().join("x.toml")).unwrap();
        assert_reported(&calls(&w.calls, true), "deletion");
    }

    #[test]
    fn a_save_by_rename_is_reported() {
        let w = start();
        let tmp = w.dir().join(".x.toml.tmp");
        fs::write(&tmp, "a = 3\n").unwrap();
        fs::rename(&tmp, w.dir().join("x.toml")).unwrap();
        assert_reported(&calls(&w.calls, true), "save by rename");
    }

    #[test]
    fn an_append_example_is_reported() {
        let w = start();
        let text = "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\nexamples = [\"x\"]\n";
        fs::write(w.dir().join("a.toml"), text).unwrap();
        calls(&w.calls, true);
        crate::admin::edit::append_example(&w.dir(), "a.b", "y").unwrap();
        assert_reported(&calls(&w.calls, true), "append");
    }

    #[test]
    fn a_burst_of_writes_is_reported_once() {
        let w = start();
        let mut last_write = Instant::now();
        for i in 0..5 {
            // Taken before the write: its events are timed after this.
            last_write = Instant::now();
            fs::write(w.dir().join("x.toml"), format!("a = {i}\n")).unwrap();
            std::thread::sleep(Duration::from_millis(10));
        }
        let calls = calls(&w.calls, true);
        assert_reported(&calls, "burst");
        // The last report waits until the burst has been quiet for the debounce time (two
        // reports may be closer than that to each other when the burst straddled a tick).
        let (_, last) = calls[calls.len() - 1];
        assert!(
            last >= last_write + DEBOUNCE,
            "reported {:?} after the last write",
            last - last_write
        );
    }

    #[test]
    fn other_files_reads_and_siblings_of_the_directory_are_ignored() {
        let w = start();
        let path = |name: &str| w.dir().join(name);
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
        fs::read_dir(w.dir()).unwrap().for_each(drop);
        // The parent is watched for replacements; its other entries are not intent files.
        fs::write(w.root.path().join("other.toml"), "a = 1\n").unwrap();
        fs::create_dir(w.root.path().join("intents-next")).unwrap();
        fs::write(w.root.path().join("intents-next/x.toml"), "a = 1\n").unwrap();
        assert_eq!(calls(&w.calls, false), []);
    }

    #[test]
    fn only_the_directorys_own_toml_files_are_relevant() {
        let dir = Path::new("/srv/bot/intents");
        let event = |kind, path: &str| {
            DebouncedEvent::new(Event::new(kind).add_path(path.into()), Instant::now())
        };
        let written = EventKind::Access(AccessKind::Close(AccessMode::Write));
        let data = EventKind::Modify(ModifyKind::Data(DataChange::Any));
        let created = EventKind::Create(CreateKind::Folder);
        let removed = EventKind::Remove(RemoveKind::Folder);
        // (event, relevant: reload, names the directory: look again)
        let table = [
            (event(written, "/srv/bot/intents/x.toml"), true, false),
            (event(data, "/srv/bot/intents/x.toml"), true, false),
            (event(written, "/srv/bot/x.toml"), false, false),
            (event(data, "/srv/bot/intents-next/x.toml"), false, false),
            (event(written, "/srv/bot/intents/sub/x.toml"), false, false),
            (event(removed, "/srv/bot/intents"), false, true),
            (event(created, "/srv/bot/intents"), false, true),
            (
                event(
                    EventKind::Modify(ModifyKind::Name(
                        notify_debouncer_full::notify::event::RenameMode::To,
                    )),
                    "/srv/bot/intents",
                ),
                false,
                true,
            ),
            (event(data, "/srv/bot/intents"), false, false),
            (event(created, "/srv/bot/intents-next"), false, false),
        ];
        for (event, relevant, named) in table {
            assert_eq!(is_relevant(&event, dir), relevant, "{event:?}");
            assert_eq!(names_dir(&event, dir), named, "{event:?}");
        }
    }

    #[test]
    fn a_removed_directory_is_reported_missing_once_and_its_return_as_a_replacement() {
        let w = start();
        fs::remove_dir_all(w.dir()).unwrap();
        until(&w.calls, Change::Missing);
        fs::create_dir(w.dir()).unwrap();
        fs::write(w.dir().join("x.toml"), "a = 5\n").unwrap();
        let before = until(&w.calls, Change::Replaced);
        assert!(!before.contains(&Change::Missing), "{before:?}");
        // The new directory is the one watched now.
        calls(&w.calls, false);
        fs::write(w.dir().join("x.toml"), "a = 6\n").unwrap();
        assert_reported(&calls(&w.calls, true), "write in the new directory");
    }

    #[test]
    fn a_directory_removed_and_recreated_at_once_is_a_replacement() {
        let w = start();
        fs::remove_dir_all(w.dir()).unwrap();
        fs::create_dir(w.dir()).unwrap();
        fs::write(w.dir().join("x.toml"), "a = 5\n").unwrap();
        until(&w.calls, Change::Replaced);
        calls(&w.calls, false);
        fs::write(w.dir().join("x.toml"), "a = 6\n").unwrap();
        assert_reported(&calls(&w.calls, true), "write in the new directory");
    }

    #[test]
    fn a_directory_renamed_in_is_a_replacement() {
        let w = start();
        let next = release(&w, "next");
        fs::rename(w.dir(), w.root.path().join("previous")).unwrap();
        fs::rename(next, w.dir()).unwrap();
        until(&w.calls, Change::Replaced);
        calls(&w.calls, false);
        fs::write(w.dir().join("x.toml"), "a = 6\n").unwrap();
        assert_reported(&calls(&w.calls, true), "write in the new directory");
    }

    #[cfg(unix)]
    #[test]
    fn a_re_pointed_symlink_is_a_replacement() {
        let root = tempfile::tempdir().unwrap();
        let link = root.path().join("intents");
        fs::create_dir(root.path().join("one")).unwrap();
        std::os::unix::fs::symlink("one", &link).unwrap();
        let w = start_on(root, &link);
        let two = release(&w, "two");
        let tmp = w.root.path().join("intents.tmp");
        std::os::unix::fs::symlink("two", &tmp).unwrap();
        fs::rename(&tmp, &link).unwrap();
        until(&w.calls, Change::Replaced);
        calls(&w.calls, false);
        fs::write(two.join("x.toml"), "a = 7\n").unwrap();
        assert_reported(&calls(&w.calls, true), "write in the new target");
    }

    /// `current -> one` with the intents in `current/intents`: re-pointing `current` makes
    /// no event the watches see; the periodic look finds it.
    #[cfg(unix)]
    #[test]
    fn a_symlink_re_pointed_higher_up_is_found_by_looking_again() {
        let root = tempfile::tempdir().unwrap();
        for release in ["one", "two"] {
            fs::create_dir_all(root.path().join(release).join("intents")).unwrap();
        }
        let current = root.path().join("current");
        std::os::unix::fs::symlink("one", &current).unwrap();
        let w = start_on(root, &current.join("intents"));
        let tmp = w.root.path().join("current.tmp");
        std::os::unix::fs::symlink("two", &tmp).unwrap();
        fs::rename(&tmp, &current).unwrap();
        until(&w.calls, Change::Replaced);
        calls(&w.calls, false);
        fs::write(w.root.path().join("two/intents/x.toml"), "a = 8\n").unwrap();
        assert_reported(&calls(&w.calls, true), "write in the new target");
    }

    #[test]
    fn dropping_the_watch_stops_calls() {
        let w = start();
        let (dir, calls) = (w.dir(), w.calls);
        drop(w.watch);
        fs::write(dir.join("x.toml"), "a = 4\n").unwrap();
        assert!(calls.recv_timeout(QUIET).is_err());
    }

    #[test]
    fn a_missing_directory_or_zero_debounce_is_an_error() {
        let missing = Path::new("/no/such/careerbot/dir");
        let err = watch(missing, DEBOUNCE, |_| {}).unwrap_err();
        assert!(
            format!("{err:#}").contains("/no/such/careerbot/dir"),
            "{err:#}"
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(watch(dir.path(), Duration::ZERO, |_| {}).is_err());
    }
}
