//! The admin loop's figures: how long a reload takes (the shipped set, and a generated set
//! of 2,000 intents), how long a saved edit takes to go live through the watcher (the
//! target is 2 s), how long a new release takes to go live after a deploy re-points the
//! intents symlink, and how fast the store's writer commits records.
//!
//! `cargo bench --bench admin` (add `-- --json` for one JSON object). Prints; asserts nothing
//! about time.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use careerbot::admin::reload::Reloader;
use careerbot::admin::store::{
    Database, Outcome, QuestionRecord, Record, Source, Store, VoteRecord, Writer, FLUSH_EVERY,
};
use careerbot::admin::watch::watch;
use careerbot::config::Settings;
use careerbot::engine::intents::synthetic::SyntheticSet;
use careerbot::engine::Engine;
use serde_json::json;

const RELOADS: usize = 10;
const REPLACES: usize = 5;
const GENERATED_INTENTS: usize = 2_000;
const GENERATED_EXAMPLES: usize = 10;
const RECORDS: u64 = 200_000;

fn median_ms(mut times: Vec<Duration>) -> (f64, f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(*times.last().unwrap()),
    )
}

/// A copy of the files of `dir` in a temporary directory.
fn copy_of(dir: &Path) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
    }
    copy
}

fn engine_of(dir: &Path, settings: &Settings) -> Engine {
    Engine::load(dir, &settings.matcher, &settings.limits)
        .unwrap_or_else(|_| panic!("{} does not load", dir.display()))
        .0
}

/// Reloads `dir` `n` times after an edit each (a comment appended to one file, as an
/// admin's save would change it), then once unchanged; (median, min, max) of the edited
/// reloads and the unchanged one, in milliseconds. Works on a copy of `dir`.
fn reload_times(dir: &Path, settings: &Settings, n: usize) -> ((f64, f64, f64), f64) {
    let copy = copy_of(dir);
    let dir = copy.path();
    let engine = engine_of(dir, settings);
    let reloader = Reloader::new(engine, dir, settings).unwrap_or_else(|r| panic!("{}", r.text()));
    let edited = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "toml"))
        .unwrap();
    let reload = || reloader.reload().unwrap_or_else(|r| panic!("{}", r.text()));
    let times = (0..n)
        .map(|run| {
            let text = std::fs::read_to_string(&edited).unwrap();
            std::fs::write(&edited, format!("{text}\n# edit {run}\n")).unwrap();
            let done = reload();
            assert!(!done.unchanged);
            done.took
        })
        .collect();
    let same = reload();
    assert!(same.unchanged);
    (median_ms(times), same.took.as_secs_f64() * 1e3)
}

/// Saves an edit to one file of a copy of `dir` `n` times and waits for the watcher's
/// reload to put it in service, as `careerbot run` and `chat` do; (median, min, max)
/// milliseconds from the save to the new set answering.
fn live_times(dir: &Path, settings: &Settings, n: usize) -> (f64, f64, f64) {
    let copy = copy_of(dir);
    let dir = copy.path();
    let engine = engine_of(dir, settings);
    let reloader =
        Arc::new(Reloader::new(engine, dir, settings).unwrap_or_else(|r| panic!("{}", r.text())));
    let (done, live) = mpsc::channel();
    let watched = Arc::clone(&reloader);
    let _watch = watch(dir, settings.admin.watch_debounce, move |_| {
        if let Ok(reloaded) = watched.reload() {
            let _ = done.send((reloaded.unchanged, Instant::now()));
        }
    })
    .unwrap();
    let edited = dir.join("meta.toml");
    let times = (0..n)
        .map(|run| {
            let text = std::fs::read_to_string(&edited).unwrap();
            let saved = Instant::now();
            std::fs::write(&edited, format!("{text}\n# edit {run}\n")).unwrap();
            loop {
                let (unchanged, at) = live
                    .recv_timeout(Duration::from_secs(60))
                    .expect("the edit never went live");
                if !unchanged {
                    break at - saved;
                }
            }
        })
        .collect();
    median_ms(times)
}

/// Copies the files of `from` into `to` (created).
fn copy_into(from: &Path, to: &Path) {
    std::fs::create_dir(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

/// Deploys a new release of `dir` `n` times the atomic way: a copy with one edit written
/// beside the others, then the `intents` symlink re-pointed to it by renaming a new link
/// over it (what `ln -sfn` does). Waits each time for the watcher to see the replacement
/// and its reload to serve the release; (median, min, max) milliseconds from the re-point
/// to the new set answering.
fn replace_live_times(dir: &Path, settings: &Settings, n: usize) -> (f64, f64, f64) {
    let root = tempfile::tempdir().unwrap();
    let link = root.path().join("intents");
    copy_into(dir, &root.path().join("release-0"));
    std::os::unix::fs::symlink("release-0", &link).unwrap();
    let engine = engine_of(&link, settings);
    let reloader =
        Arc::new(Reloader::new(engine, &link, settings).unwrap_or_else(|r| panic!("{}", r.text())));
    let (done, live) = mpsc::channel();
    let watched = Arc::clone(&reloader);
    let _watch = watch(&link, settings.admin.watch_debounce, move |_| {
        if let Ok(reloaded) = watched.reload() {
            let _ = done.send((reloaded.version, Instant::now()));
        }
    })
    .unwrap();
    let times = (1..=n)
        .map(|run| {
            let release = root.path().join(format!("release-{run}"));
            copy_into(dir, &release);
            let meta = release.join("meta.toml");
            let text = std::fs::read_to_string(&meta).unwrap();
            std::fs::write(&meta, format!("{text}\n# release {run}\n")).unwrap();
            let tmp = root.path().join("intents.tmp");
            std::os::unix::fs::symlink(format!("release-{run}"), &tmp).unwrap();
            let serving = reloader.served().version.clone();
            let swapped = Instant::now();
            std::fs::rename(&tmp, &link).unwrap();
            loop {
                let (version, at) = live
                    .recv_timeout(Duration::from_secs(60))
                    .expect("the new release never went live");
                if version != serving {
                    break at - swapped;
                }
            }
        })
        .collect();
    median_ms(times)
}

fn question(id: u64) -> Record {
    Record::Question(QuestionRecord {
        id,
        at_ms: 1_700_000_000_000 + id as i64,
        guild: Some(1),
        channel: Some(2),
        source: Source::Mention,
        text: format!("how do i become a backend engineer number {}", id % 1000),
        decision: Outcome::Answer,
        intent: Some("role.overview".to_owned()),
        confidence: 0.9,
        candidates: vec!["role.overview".to_owned(), "role.impact".to_owned()],
        engine_version: "0.1.0+0000000000000000".to_owned(),
        intent_version: None,
    })
}

fn main() {
    let json_out = std::env::args().any(|a| a == "--json");
    let settings = Settings::load(None).unwrap();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));

    let (shipped, shipped_same) = reload_times(&root.join("intents"), &settings, RELOADS);
    let live = live_times(&root.join("intents"), &settings, RELOADS);
    let replaced = replace_live_times(&root.join("intents"), &settings, REPLACES);
    let dir = tempfile::tempdir().unwrap();
    SyntheticSet::new("gen", GENERATED_INTENTS, GENERATED_EXAMPLES)
        .write(dir.path())
        .unwrap();
    // The generated set is larger than the shipped limits allow, on purpose: it is the
    // figure of a large set (`cargo bench --bench limits` measures sets at the limits).
    let mut past_limits = settings.clone();
    past_limits.limits.max_intents = GENERATED_INTENTS;
    let (large, large_same) = reload_times(dir.path(), &past_limits, 3);

    // The writer: RECORDS questions (and a vote for every tenth) sent as fast as possible.
    let db = tempfile::tempdir().unwrap();
    let store = Store::open(&Database::file(db.path().join("bench.sqlite3"))).unwrap();
    let writer = Writer::spawn(store, FLUSH_EVERY, None);
    let started = Instant::now();
    let mut sent = 0u64;
    for id in 1..=RECORDS {
        writer.send(question(id));
        sent += 1;
        if id % 10 == 0 {
            writer.send(Record::Vote(VoteRecord {
                id,
                at_ms: 1_700_000_000_000 + id as i64,
                question: id,
                intent: "role.overview".to_owned(),
                up: id % 20 == 0,
            }));
            sent += 1;
        }
    }
    let queued = started.elapsed();
    writer.flush();
    let committed = started.elapsed();
    assert_eq!(writer.written(), sent);
    // One record alone: the time until it is committed without a flush (the batch window).
    let single = Instant::now();
    writer.send(question(RECORDS + 1));
    while writer.written() < sent + 1 {
        assert!(
            single.elapsed() < Duration::from_secs(30),
            "the writer never committed the record"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let window = single.elapsed();
    writer.close();
    let rate = sent as f64 / committed.as_secs_f64();

    if json_out {
        println!(
            "{}",
            json!({
                "reload_shipped_ms": {"median": shipped.0, "min": shipped.1, "max": shipped.2},
                "reload_2000_intents_ms": {"median": large.0, "min": large.1, "max": large.2},
                "reload_unchanged_shipped_ms": shipped_same,
                "edit_live_through_watcher_ms": {"median": live.0, "min": live.1, "max": live.2},
                "release_live_after_symlink_swap_ms": {"median": replaced.0, "min": replaced.1, "max": replaced.2},
                "reload_unchanged_2000_intents_ms": large_same,
                "store_records": sent,
                "store_queued_s": queued.as_secs_f64(),
                "store_committed_s": committed.as_secs_f64(),
                "store_records_per_s": rate,
                "store_single_record_commit_ms": window.as_secs_f64() * 1e3,
            })
        );
    } else {
        println!(
            "reload after an edit, shipped intents ({RELOADS} runs): median {:.0} ms (min {:.0}, max {:.0})",
            shipped.0, shipped.1, shipped.2
        );
        println!(
            "a saved edit live through the watcher, shipped intents ({RELOADS} runs, debounce {} ms): median {:.0} ms (min {:.0}, max {:.0}; target 2,000 ms)",
            settings.admin.watch_debounce.as_millis(),
            live.0, live.1, live.2
        );
        println!(
            "a new release live after re-pointing the intents symlink, shipped intents ({REPLACES} runs, debounce {} ms): median {:.0} ms (min {:.0}, max {:.0})",
            settings.admin.watch_debounce.as_millis(),
            replaced.0, replaced.1, replaced.2
        );
        println!(
            "reload after an edit, {GENERATED_INTENTS} generated intents x {GENERATED_EXAMPLES} examples (3 runs): median {:.0} ms (min {:.0}, max {:.0})",
            large.0, large.1, large.2
        );
        println!(
            "reload of unchanged files (validated, not compiled): shipped {shipped_same:.0} ms, {GENERATED_INTENTS} intents {large_same:.0} ms"
        );
        println!(
            "store: {sent} records queued in {:.2} s, all committed after {:.2} s: {rate:.0} records/s",
            queued.as_secs_f64(),
            committed.as_secs_f64()
        );
        println!(
            "store: a lone record reached the database after {:.0} ms (batch window {} ms)",
            window.as_secs_f64() * 1e3,
            FLUSH_EVERY.as_millis()
        );
    }
}
