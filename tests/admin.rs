//! The admin loop end to end: live reload in `careerbot chat` and in the bot, the reload
//! gate, reloads of a 2,000-intent set under questions, the unanswered queue's "append an
//! example" action, and the store across restarts, clean shutdowns and kills.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use careerbot::admin::reload::Reloader;
use careerbot::config::Settings;
use careerbot::engine::intents::synthetic::SyntheticSet;
use careerbot::engine::matcher::Decision;
use careerbot::engine::Engine;
use serde_json::Value;

use crate::bot::{confident_question, custom_ids, Bot, EPHEMERAL, MANAGE_GUILD, WAIT};
use crate::support::discord::{Msg, BOT_ID, CHANNEL_ID, USER_ID};
use crate::support::postgres::TestStore;
use crate::support::{self, bin, shipped, shipped_engine, wait_until, wait_until_async};

/// How long a test waits for an edit to go live. The 2 s target is a speed figure,
/// measured by `cargo bench --bench admin` (a timed assertion here would fail on a loaded
/// machine and prove nothing on an idle one); this deadline only keeps a broken watcher
/// from hanging the suite.
const LIVE_WITHIN: Duration = Duration::from_secs(30);

/// A copy of the shipped intents in a temporary directory.
pub(crate) fn intents_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_shipped(dir.path());
    dir
}

/// Copies the shipped intents into `dir` (created), as a deploy would write a release.
fn copy_shipped(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(shipped()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
}

pub(crate) const ZEBRA: &str = r#"
# Added by a test: a topic the shipped set does not have.
[[intent]]
id = "meta.zebra"
title = "Zebra facts"
examples = ["tell me zebra facts", "zebra stripes facts", "why do zebras have stripes", "zebra trivia please", "facts about zebras"]
answer = "Zebras are striped."
"#;

/// Appends `text` to `file` the way an editor saves: a new file renamed over the old one.
fn save(file: &Path, text: &str) {
    let tmp = file.with_extension("toml.tmp~");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, file).unwrap();
}

/// The first and last lines of `careerbot chat`'s `/help`.
const HELP_FIRST: &str = "Ask a question in plain words.";
const HELP_LAST: &str = "leave (or Ctrl-D)";

/// `careerbot chat` with piped stdin and stdout; one reply per question.
struct Chat {
    child: Child,
    stdin: ChildStdin,
    replies: mpsc::Receiver<String>,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Chat {
    fn start(intents: &Path, config: &str) -> Chat {
        Chat::start_in(&support::root(), intents, config)
    }

    /// `careerbot chat` run in the working directory `cwd` (`intents` may be relative to it).
    fn start_in(cwd: &Path, intents: &Path, config: &str) -> Chat {
        let dir = tempfile::tempdir().unwrap();
        let config_file = dir.path().join("config.toml");
        std::fs::write(&config_file, config).unwrap();
        let stderr = dir.path().join("stderr");
        let mut child = Command::new(bin())
            .args(["chat", "--intents"])
            .arg(intents)
            .arg("--config")
            .arg(&config_file)
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            // Each question is followed by `/help`, whose text ends every reply: answers
            // themselves contain blank lines, so nothing else delimits them.
            let mut reply = String::new();
            let mut in_help = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with(HELP_FIRST) {
                    in_help = true;
                } else if in_help && line.contains(HELP_LAST) {
                    in_help = false;
                    if tx.send(std::mem::take(&mut reply)).is_err() {
                        break;
                    }
                } else if !in_help {
                    reply.push_str(&line);
                    reply.push('\n');
                }
            }
        });
        Chat {
            child,
            stdin,
            replies,
            stderr,
            _dir: dir,
        }
    }

    fn ask(&mut self, question: &str) -> String {
        writeln!(self.stdin, "{question}\n/help").unwrap();
        self.stdin.flush().unwrap();
        self.replies
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("no reply to {question:?}\n{}", self.stderr()))
    }

    /// Waits until the chat's stderr says `needle`.
    fn wait_stderr(&self, needle: &str) {
        let said = wait_until(WAIT, || self.stderr().contains(needle));
        assert!(said, "no {needle:?}\n{}", self.stderr());
    }

    /// How many times the chat's stderr says `needle`.
    fn said(&self, needle: &str) -> usize {
        self.stderr().matches(needle).count()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Asks `question` until the reply contains `wanted`; the time that took.
    fn until(&mut self, question: &str, wanted: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let reply = self.ask(question);
            if reply.contains(wanted) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "{wanted:?} not answered within {limit:?}; last reply: {reply}\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Chat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn chat_takes_a_valid_edit_live_and_keeps_answering_through_a_broken_one() {
    let intents = intents_copy();
    let mut chat = Chat::start(intents.path(), "");
    let before = chat.ask("why do zebras have stripes");
    assert!(!before.contains("Zebra facts"), "{before}");
    let meta = intents.path().join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    save(&meta, &format!("{original}{ZEBRA}"));
    chat.until("why do zebras have stripes", "Zebra facts", LIVE_WITHIN);
    // A broken edit: refused, reported with path:line:col, the previous set keeps answering.
    save(
        &meta,
        &format!("{original}{ZEBRA}\n[[intent]]\nid = \"meta.broken\"\ntitle = 5\n"),
    );
    chat.wait_stderr("reload refused");
    let located = regex::Regex::new(r"meta\.toml:\d+:\d+: ").unwrap();
    assert!(located.is_match(&chat.stderr()), "{}", chat.stderr());
    assert!(chat.ask("tell me zebra facts").contains("Zebra facts"));
    // Fixed again: live again.
    save(&meta, &original);
    chat.until("why do zebras have stripes", "Sorry", LIVE_WITHIN);
}

/// A question the shipped set does not answer and the zebra topic does.
const ZEBRA_QUESTION: &str = "why do zebras have stripes";
/// What chat says when the intents directory was replaced (issue 12, finding 4).
const REPLACED: &str = "was replaced; watching the new one";

/// Writes a release of the intents into `dir`: the shipped files with the zebra topic whose
/// answer is `answer` (and `meta.toml`'s original text, to edit further).
fn write_release(dir: &Path, answer: &str) -> String {
    copy_shipped(dir);
    let meta = dir.join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    let zebra = ZEBRA.replace("Zebras are striped.", answer);
    std::fs::write(&meta, format!("{original}{zebra}")).unwrap();
    original
}

/// Edits the zebra answer of the release in `dir` the way an editor saves.
fn edit_answer(dir: &Path, original: &str, answer: &str) {
    let zebra = ZEBRA.replace("Zebras are striped.", answer);
    save(&dir.join("meta.toml"), &format!("{original}{zebra}"));
}

/// The inodes that the inotify watches of process `pid` follow, from
/// `/proc/<pid>/fdinfo` (`inotify wd:1 ino:2a0b1 sdev:...`): what its watcher can still hear.
fn watched_inodes(pid: u32) -> Vec<u64> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap();
    let mut inodes = Vec::new();
    for fd in fds {
        let fd = fd.unwrap();
        let inotify =
            std::fs::read_link(fd.path()).is_ok_and(|to| to == Path::new("anon_inode:inotify"));
        if !inotify {
            continue;
        }
        let info = std::fs::read_to_string(format!(
            "/proc/{pid}/fdinfo/{}",
            fd.file_name().to_string_lossy()
        ))
        .unwrap();
        inodes.extend(
            info.lines()
                .filter(|l| l.starts_with("inotify "))
                .filter_map(|line| {
                    let hex = line
                        .split_whitespace()
                        .find_map(|field| field.strip_prefix("ino:"))?;
                    u64::from_str_radix(hex, 16).ok()
                }),
        );
    }
    inodes
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).unwrap().ino()
}

/// Asserts that chat's watcher follows the directory `live` and no longer `dead`.
fn assert_watching(chat: &Chat, live: &Path, dead: &Path) {
    let watched = watched_inodes(chat.child.id());
    assert!(
        watched.contains(&inode(live)),
        "{} not watched: {watched:?}",
        live.display()
    );
    assert!(
        !watched.contains(&inode(dead)),
        "{} still watched: {watched:?}",
        dead.display()
    );
}

/// `rm -rf intents` and a new `intents/` written at once: the new files are served and the
/// new directory's later edits are seen. Chat runs in the directory that holds `intents/`
/// and is given the relative path: the parent watched is the working directory.
#[test]
fn chat_serves_an_intents_directory_removed_and_recreated() {
    let root = tempfile::tempdir().unwrap();
    let intents = root.path().join("intents");
    copy_shipped(&intents);
    let mut chat = Chat::start_in(root.path(), Path::new("intents"), "");
    let before = chat.ask(ZEBRA_QUESTION);
    assert!(!before.contains("Zebra facts"), "{before}");

    std::fs::remove_dir_all(&intents).unwrap();
    let original = write_release(&intents, "Zebras are striped, first release.");
    chat.until(ZEBRA_QUESTION, "first release", LIVE_WITHIN);
    chat.wait_stderr(&format!("intents directory intents {REPLACED}"));
    edit_answer(&intents, &original, "Zebras are striped, edited in place.");
    chat.until(ZEBRA_QUESTION, "edited in place", LIVE_WITHIN);
}

/// `rm -rf intents` and nothing yet in its place: said once, the previous set keeps
/// answering; the directory's return is served.
#[test]
fn chat_keeps_answering_while_the_intents_directory_is_gone_and_takes_it_back() {
    let root = tempfile::tempdir().unwrap();
    let intents = root.path().join("intents");
    copy_shipped(&intents);
    let mut chat = Chat::start(&intents, "");
    let (question, _) = confident_question(shipped_engine(), 0.5);
    // Replies after the first start with the blank line that ends `/help`.
    let answered = chat.ask(&question).trim().to_owned();

    std::fs::remove_dir_all(&intents).unwrap();
    chat.wait_stderr("is gone; still answering with the previous intents");
    assert_eq!(chat.ask(&question).trim(), answered);
    assert_eq!(chat.said("is gone"), 1, "{}", chat.stderr());
    write_release(&intents, "Zebras are striped, back again.");
    chat.until(ZEBRA_QUESTION, "back again", LIVE_WITHIN);
    chat.wait_stderr(REPLACED);
    assert_eq!(chat.ask(&question).trim(), answered);
}

/// Two ways of renaming a release in: the old directory renamed away and the new one
/// renamed to `intents` (`mv intents old && mv new intents`), and both swapped in one
/// atomic `renameat2(RENAME_EXCHANGE)`. Each time the new release is served, its edits are
/// seen, and the old directory is no longer watched.
#[test]
fn chat_serves_an_intents_directory_renamed_in() {
    let root = tempfile::tempdir().unwrap();
    let dir = |name: &str| root.path().join(name);
    copy_shipped(&dir("intents"));
    let mut chat = Chat::start(&dir("intents"), "");
    // A first reply: the set is loaded and the files are watched.
    let before = chat.ask(ZEBRA_QUESTION);
    assert!(!before.contains("Zebra facts"), "{before}");

    let original = write_release(&dir("next"), "Zebras are striped, renamed in.");
    std::fs::rename(dir("intents"), dir("previous")).unwrap();
    std::fs::rename(dir("next"), dir("intents")).unwrap();
    chat.until(ZEBRA_QUESTION, "renamed in", LIVE_WITHIN);
    chat.wait_stderr(REPLACED);
    assert_watching(&chat, &dir("intents"), &dir("previous"));
    edit_answer(
        &dir("intents"),
        &original,
        "Zebras are striped, edited after the rename.",
    );
    chat.until(ZEBRA_QUESTION, "edited after the rename", LIVE_WITHIN);

    write_release(&dir("next"), "Zebras are striped, exchanged.");
    exchange(&dir("next"), &dir("intents"));
    chat.until(ZEBRA_QUESTION, "exchanged", LIVE_WITHIN);
    // The reload may answer from the new files before the watcher has moved to them (seen
    // once under load): wait, with a deadline, for the watcher to say so.
    let moved = wait_until(WAIT, || chat.said(REPLACED) >= 2);
    assert!(moved, "the watcher never moved\n{}", chat.stderr());
    // `next` is the directory served before the exchange.
    assert_watching(&chat, &dir("intents"), &dir("next"));
    edit_answer(
        &dir("intents"),
        &original,
        "Zebras are striped, edited after the exchange.",
    );
    chat.until(ZEBRA_QUESTION, "edited after the exchange", LIVE_WITHIN);
    assert!(chat.said(REPLACED) >= 2, "{}", chat.stderr());
}

/// Swaps two paths atomically (`renameat2` with `RENAME_EXCHANGE`, Linux 3.15).
fn exchange(a: &Path, b: &Path) {
    use std::os::unix::ffi::OsStrExt as _;
    let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let (a, b) = (c(a), c(b));
    // SAFETY: both are NUL-terminated paths that outlive the call.
    let done = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    assert_eq!(done, 0, "renameat2: {}", std::io::Error::last_os_error());
}

/// The usual atomic deploy: `intents -> release-1`, a new `release-2` written beside it,
/// and the symlink re-pointed by renaming a new link over it (what `ln -sfn` does). The new
/// release is served, its edits are seen, and `release-1` is no longer watched.
#[test]
fn chat_follows_the_intents_symlink_re_pointed_to_a_new_release() {
    let root = tempfile::tempdir().unwrap();
    let dir = |name: &str| root.path().join(name);
    copy_shipped(&dir("release-1"));
    std::os::unix::fs::symlink("release-1", dir("intents")).unwrap();
    let mut chat = Chat::start(&dir("intents"), "");
    // A first reply: the files are watched (chat watches before it reads questions).
    chat.ask(ZEBRA_QUESTION);
    let pid = chat.child.id();
    assert!(watched_inodes(pid).contains(&inode(&dir("release-1"))));

    let original = write_release(&dir("release-2"), "Zebras are striped, release two.");
    std::os::unix::fs::symlink("release-2", dir("intents.tmp")).unwrap();
    std::fs::rename(dir("intents.tmp"), dir("intents")).unwrap();
    chat.until(ZEBRA_QUESTION, "release two", LIVE_WITHIN);
    chat.wait_stderr(REPLACED);
    assert_watching(&chat, &dir("release-2"), &dir("release-1"));
    edit_answer(
        &dir("release-2"),
        &original,
        "Zebras are striped, release two edited.",
    );
    chat.until(ZEBRA_QUESTION, "release two edited", LIVE_WITHIN);
}

#[test]
fn a_valid_set_that_fails_the_gate_is_refused_with_its_failing_cases() {
    let intents = intents_copy();
    let meta = intents.path().join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, format!("{original}{ZEBRA}")).unwrap();
    let cases = intents.path().join("gate.jsonl");
    std::fs::write(
        &cases,
        "{\"text\": \"why do zebras have stripes\", \"intent\": \"meta.zebra\"}\n{\"text\": \"tell me zebra facts\", \"intent\": \"meta.zebra\"}\n",
    )
    .unwrap();
    let config = format!(
        "[admin.reload_gate]\ncases = {:?}\nmin_accuracy = 1.0\n",
        cases.to_str().unwrap()
    );
    let mut chat = Chat::start(intents.path(), &config);
    assert!(chat
        .ask("why do zebras have stripes")
        .contains("Zebra facts"));
    // Valid, but the zebra intent now learns from unrelated examples: a regression.
    let regressed = ZEBRA.replace(
        r#"examples = ["tell me zebra facts", "zebra stripes facts", "why do zebras have stripes", "zebra trivia please", "facts about zebras"]"#,
        r#"examples = ["pineapple pizza opinions", "is pineapple on pizza ok", "pizza toppings debate", "best pizza topping", "pizza with fruit"]"#,
    );
    save(&meta, &format!("{original}{regressed}"));
    chat.wait_stderr("reload gate failed");
    assert!(
        chat.stderr()
            .contains("\"why do zebras have stripes\": expected meta.zebra"),
        "{}",
        chat.stderr()
    );
    assert!(chat
        .ask("why do zebras have stripes")
        .contains("Zebra facts"));
    // The gate judges the first set too: a restart does not put the regression live.
    let config_dir = tempfile::tempdir().unwrap();
    let config_file = config_dir.path().join("config.toml");
    std::fs::write(&config_file, &config).unwrap();
    let restart = Command::new(bin())
        .args(["chat", "--intents"])
        .arg(intents.path())
        .arg("--config")
        .arg(&config_file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&restart.stderr);
    assert_eq!(restart.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("reload gate failed"), "{stderr}");
    assert!(restart.stdout.is_empty());
}

/// Writes a generated set of 2,000 intents whose ids, titles and answers all carry `marker`
/// (`marker.topic5`, "Topic 5 of marker", "marker 5"), replacing the last one as an editor
/// saves. Every marker's set asks the same questions.
fn write_generated(dir: &Path, marker: &str) {
    SyntheticSet::new(marker, 2000, 3).write(dir).unwrap();
}

/// For each generated intent, a question that the generated sets answer with it: one of
/// its examples.
fn generated_questions() -> Vec<String> {
    let set = SyntheticSet::new("any", 2000, 3);
    (0..set.len()).map(|n| set.examples(n)[0].clone()).collect()
}

#[test]
fn questions_during_reloads_of_a_2000_intent_set_never_fail_or_mix_sets() {
    let dir = tempfile::tempdir().unwrap();
    write_generated(dir.path(), "first");
    let questions = Arc::new(generated_questions());
    let mut settings = Settings::load(None).unwrap();
    // A set past the shipped limit on purpose: its reloads take long enough to overlap.
    settings.limits.max_intents = 2000;
    let (engine, _) = Engine::load(dir.path(), &settings.matcher, &settings.limits).unwrap();
    let reloader = Arc::new(Reloader::new(engine, dir.path(), &settings).expect("no gate"));
    let stop = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicUsize::new(0));
    let markers_seen: Vec<_> = (0..2)
        .map(|t| {
            let (reloader, stop, asked) = (reloader.clone(), stop.clone(), asked.clone());
            let questions = questions.clone();
            std::thread::spawn(move || {
                let mut seen = std::collections::BTreeSet::new();
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    let n = (i * 37) % 2000;
                    let served = reloader.served();
                    let reply = served.engine.reply(&questions[n]);
                    assert_eq!(reply.decision, Decision::Answer, "question {n} failed");
                    let answer = reply.answer.unwrap();
                    let (marker, number) = answer.split_once(' ').unwrap();
                    // The answer and the intent come from one set (each set names its
                    // intents after its marker), and it is the right one.
                    assert_eq!(reply.intent.unwrap(), format!("{marker}.topic{number}"));
                    assert_eq!(number, n.to_string());
                    seen.insert(marker.to_owned());
                    asked.fetch_add(1, Ordering::Relaxed);
                    i += 2;
                }
                seen
            })
        })
        .collect();
    let mut took = Vec::new();
    for (n, marker) in ["second", "third"].iter().enumerate() {
        write_generated(dir.path(), marker);
        let done = reloader.reload().unwrap_or_else(|r| panic!("{}", r.text()));
        assert_eq!(done.intents, 2000);
        took.push(done.took);
        let answer = reloader
            .served()
            .engine
            .reply(&questions[5])
            .answer
            .unwrap();
        assert!(answer.starts_with(marker), "reload {n}: {answer}");
    }
    // Let the askers meet the last set too (a panicking asker stops counting).
    let now = asked.load(Ordering::Relaxed);
    let met = wait_until(WAIT, || asked.load(Ordering::Relaxed) >= now + 50);
    stop.store(true, Ordering::Relaxed);
    assert!(met, "the askers stopped asking");
    let mut seen = std::collections::BTreeSet::new();
    for thread in markers_seen {
        seen.extend(thread.join().unwrap());
    }
    assert!(asked.load(Ordering::Relaxed) > 0);
    assert!(seen.contains("first") && seen.contains("third"), "{seen:?}");
    eprintln!("2000-intent reloads took {took:?} (test build)");
}

#[test]
fn chat_answers_every_question_from_one_whole_set_while_a_2000_intent_set_reloads() {
    let dir = tempfile::tempdir().unwrap();
    write_generated(dir.path(), "first");
    let questions = generated_questions();
    // A set past the shipped limit on purpose: its reloads take long enough to overlap.
    let mut chat = Chat::start(dir.path(), "[limits]\nmax_intents = 2000\n");
    // A reply's title and answer name their set: "## Topic 5 of second" and "second 5".
    let reply_of = regex::Regex::new(r"(?m)^## Topic (\d+) of (\w+)\n\n(\w+) (\d+)$").unwrap();
    // A first reply: the set is loaded and the files are watched (chat watches before it
    // reads its first line), so the edits below cannot go unseen.
    assert!(reply_of.is_match(&chat.ask(&questions[1])));
    let mut asked = 0;
    for (reload, marker) in ["second", "third"].into_iter().enumerate() {
        write_generated(dir.path(), marker);
        // Ask through the reload until the new set answers, and a few more.
        let started = Instant::now();
        let mut after = 0;
        while after < 5 {
            assert!(
                started.elapsed() < WAIT * 2,
                "the {marker} set never went live\n{}",
                chat.stderr()
            );
            let n = (asked * 37) % 2000;
            asked += 1;
            let reply = chat.ask(&questions[n]);
            let found = reply_of
                .captures(&reply)
                .unwrap_or_else(|| panic!("question {n} not answered: {reply}\n{}", chat.stderr()));
            let (title_n, title_set, set, answer_n) = (&found[1], &found[2], &found[3], &found[4]);
            assert_eq!(
                (title_n, answer_n),
                (&*n.to_string(), &*n.to_string()),
                "{reply}"
            );
            assert_eq!(title_set, set, "a reply mixed two sets: {reply}");
            if set == marker {
                after += 1;
            } else {
                let previous = if reload == 0 { "first" } else { "second" };
                assert_eq!(set, previous, "{reply}");
            }
        }
    }
    chat.wait_stderr("intents reloaded (2000 topics");
    eprintln!("{asked} questions asked through two reloads");
}

/// A bot with its own database and a copy of the intents.
async fn bot_with_store(intents: &Path, db: &TestStore, extra: &str) -> Bot {
    let database = toml_edit::Value::from(db.value.as_str());
    let config = format!("[admin]\ndatabase = {database}\n{extra}");
    Bot::start(&config, intents).await
}

pub(crate) async fn mention(bot: &Bot, channel: u64, user: u64, question: &str) -> Value {
    let before = bot.emulator.requests().len();
    bot.emulator
        .message(Msg::guild(channel, user, format!("<@{BOT_ID}> {question}")).mentioning_bot())
        .await;
    bot.reply_in(channel, before).await.body
}

/// Asks about zebras (a new user each time, clear of the cooldown) until the zebra topic
/// answers; how long that took.
async fn until_zebra(bot: &Bot, limit: Duration) -> Duration {
    let started = Instant::now();
    for user in 0.. {
        let reply = mention(
            bot,
            CHANNEL_ID,
            USER_ID + user,
            "why do zebras have stripes",
        )
        .await;
        if reply["embeds"][0]["title"] == "Zebra facts" {
            break;
        }
        assert!(started.elapsed() < limit, "not live\n{}", bot.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_takes_an_edit_live() {
    let intents = intents_copy();
    let db = TestStore::sqlite(intents.path());
    let bot = bot_with_store(intents.path(), &db, "").await;
    let meta = intents.path().join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    save(&meta, &format!("{original}{ZEBRA}"));
    until_zebra(&bot, LIVE_WITHIN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_appends_the_question_to_the_chosen_intent_keeping_comments_and_it_answers_at_once()
{
    let intents = intents_copy();
    let db = TestStore::sqlite(intents.path());
    triage_appends_and_answers(intents, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn triage_on_postgresql_appends_the_question_and_it_answers_at_once() {
    triage_appends_and_answers(intents_copy(), TestStore::postgres()).await;
}

async fn triage_appends_and_answers(intents: tempfile::TempDir, db: TestStore) {
    let bot = bot_with_store(intents.path(), &db, "").await;
    let engine = shipped_engine();
    let question = "where can a zebra wrangler find mentoring circles";
    assert_eq!(engine.reply(question).decision, Decision::Fallback);
    for user in 0..3 {
        let reply = mention(&bot, CHANNEL_ID, USER_ID + user, question).await;
        assert!(reply["embeds"][0].is_null(), "{reply}");
    }
    let stray = "do penguins pay income taxes in antarctica";
    assert_eq!(engine.reply(stray).decision, Decision::Fallback);
    mention(&bot, CHANNEL_ID, USER_ID + 10, stray).await;
    let admin = USER_ID + 100;
    let call = bot.careerbot("unanswered", admin, MANAGE_GUILD);
    let id = bot.emulator.interaction(call).await;
    let listing = bot.response(id).await;
    let content = listing["content"].as_str().unwrap();
    assert!(content.contains(question), "{content}");
    assert!(content.contains("asked 3×"), "{content}");
    let menu = &listing["components"][0]["components"][0];
    let custom_id = menu["custom_id"].as_str().unwrap().to_owned();
    let options: Vec<&str> = menu["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["value"].as_str().unwrap())
        .collect();
    assert!(options.contains(&"ignore"), "{options:?}");
    // A member without Manage Server cannot use the menu.
    let sneaky = bot
        .emulator
        .component(&custom_id, 3, &["background.entry_paths"], USER_ID);
    let sneaky_id = bot.emulator.interaction(sneaky).await;
    let refused = bot.response(sneaky_id).await;
    assert!(
        refused["content"]
            .as_str()
            .unwrap()
            .contains("Manage Server"),
        "{refused}"
    );
    // The admin files it under background.entry_paths.
    let before = db.intent_file(intents.path(), "background.toml");
    bot.emulator.set_permissions(admin, MANAGE_GUILD);
    let pick = bot
        .emulator
        .component(&custom_id, 3, &["background.entry_paths"], admin);
    let pick_id = bot.emulator.interaction(pick).await;
    let done = bot.response(pick_id).await;
    let text = done["content"].as_str().unwrap();
    assert!(text.starts_with("Added"), "{text}\n{}", bot.log());
    // With PostgreSQL the example is a new published version, for every process.
    if matches!(db.database, careerbot::admin::store::Database::Postgres(_)) {
        assert!(text.contains("published it as version 2"), "{text}");
        let by = db.publications();
        assert_eq!(by.len(), 2, "{by:?}");
        assert_eq!(by[1], "triage (/careerbot unanswered)");
    }
    assert_eq!(done["flags"].as_u64().unwrap() & EPHEMERAL, EPHEMERAL);
    let after = db.intent_file(intents.path(), "background.toml");
    // Every original line is still there, comments included; one example was added.
    let added: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .collect();
    assert!(
        after
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            >= before
                .lines()
                .filter(|l| l.trim_start().starts_with('#'))
                .count()
    );
    assert!(
        before.lines().all(|l| after.contains(l)),
        "a line of the file changed"
    );
    assert!(
        added.iter().any(|l| l.contains("zebra wrangler")),
        "{added:?}"
    );
    // It answers at once, and the group left the queue.
    let reply = mention(&bot, CHANNEL_ID, USER_ID + 50, question).await;
    let title = &engine.intent("background.entry_paths").unwrap().title;
    assert_eq!(reply["embeds"][0]["title"], title.as_str(), "{reply}");
    let call = bot.careerbot("unanswered", admin, MANAGE_GUILD);
    let id = bot.emulator.interaction(call).await;
    let listing = bot.response(id).await;
    let content = listing["content"].as_str().unwrap();
    assert!(!content.contains("zebra wrangler"), "{listing}");
    // "ignore" takes the other group out of the queue and touches no file.
    assert!(content.contains(stray), "{content}");
    let files = || db.intent_files(intents.path());
    let untouched = files();
    let menu = listing["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap();
    let ignore = bot.emulator.component(menu, 3, &["ignore"], admin);
    let ignore_id = bot.emulator.interaction(ignore).await;
    let ignored = bot.response(ignore_id).await;
    let text = ignored["content"].as_str().unwrap();
    assert!(text.starts_with("Ignored"), "{text}");
    let call = bot.careerbot("unanswered", admin, MANAGE_GUILD);
    let id = bot.emulator.interaction(call).await;
    let listing = bot.response(id).await;
    assert!(
        !listing["content"].as_str().unwrap().contains(stray),
        "{listing}"
    );
    assert!(files() == untouched, "an intent file changed");
    // Both choices are in the audit log, under the admin; the member refused at the menu
    // is not, and no asker's id is stored anywhere.
    let log = crate::guilds::audit_log(&db.database, 2).await;
    let actions: Vec<(&str, &str)> = log
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        actions,
        [("ignore_group", "done"), ("file_example", "done")],
        "{log:#?}"
    );
    assert!(log.iter().all(|e| e.admin_id == Some(admin)), "{log:#?}");
    assert!(
        log[1].detail.contains("zebra wrangler")
            && log[1].detail.contains("background.entry_paths"),
        "{log:#?}"
    );
    assert!(log[0].detail.contains(stray), "{log:#?}");
    let members: Vec<u64> = [0, 1, 2, 10, 50].map(|n| USER_ID + n).to_vec();
    crate::support::privacy::assert_only_admins_in_the_audit_log(&db, &[admin], &members);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn questions_and_votes_survive_a_restart_and_a_clean_shutdown_loses_nothing() {
    let intents = intents_copy();
    let db = TestStore::sqlite(intents.path());
    survive_a_restart(intents, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_questions_and_votes_survive_a_restart_and_a_clean_shutdown() {
    survive_a_restart(intents_copy(), TestStore::postgres()).await;
}

async fn survive_a_restart(intents: tempfile::TempDir, db: TestStore) {
    let (question, _) = confident_question(shipped_engine(), 0.5);
    let mut bot = bot_with_store(intents.path(), &db, "").await;
    let asked = 20;
    let mut vote_ids = Vec::new();
    for n in 0..asked {
        let reply = mention(&bot, CHANNEL_ID + n, USER_ID + n, &question).await;
        let up = custom_ids(&reply)
            .into_iter()
            .find(|id| id.starts_with("cb:v:up:"))
            .unwrap();
        vote_ids.push(up);
    }
    for up in vote_ids.iter().take(5) {
        let click = bot.emulator.component(up, 2, &[], USER_ID);
        let id = bot.emulator.interaction(click).await;
        bot.response(id).await;
    }
    // SIGTERM right after the last vote: everything must be in the database.
    let status = bot.terminate();
    assert!(status.success(), "{status:?}\n{}", bot.log());
    let store = db.read().unwrap();
    let (questions, votes) = store.counts().unwrap();
    assert_eq!((questions, votes), (asked, 5));
    drop(store);
    // A new process on the same database sees them.
    let again = bot_with_store(intents.path(), &db, "").await;
    let stats = again.stats().await;
    assert_eq!(stats.get("questions"), Some(&0), "{stats:?}");
    let call = again.careerbot("stats", USER_ID + 1, MANAGE_GUILD);
    let id = again.emulator.interaction(call).await;
    let text = again.response(id).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(text.contains("Last 7 days"), "{text}");
    assert!(text.contains(&format!("\n{asked} questions:")), "{text}");
    let votes = regex::Regex::new(r"\s5\s+0\s+100\.0%").unwrap();
    assert!(votes.is_match(&text), "5 up-votes, 0 down: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_bot_keeps_every_question_its_writer_committed() {
    let intents = intents_copy();
    let db = TestStore::sqlite(intents.path());
    killed_bot_keeps_what_was_committed(intents, db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_killed_bot_keeps_every_question_its_writer_committed() {
    killed_bot_keeps_what_was_committed(intents_copy(), TestStore::postgres()).await;
}

async fn killed_bot_keeps_what_was_committed(intents: tempfile::TempDir, db: TestStore) {
    let (question, _) = confident_question(shipped_engine(), 0.5);
    let mut bot = bot_with_store(intents.path(), &db, "").await;
    let early = 10;
    for n in 0..early {
        mention(&bot, CHANNEL_ID, USER_ID + n, &question).await;
    }
    // Recorded before each reply was sent, they reach the database without a flush (within
    // the writer's 500 ms batch window: a figure of `cargo bench --bench admin`).
    let stored = || db.read().and_then(|s| s.counts()).map_or(0, |c| c.0);
    assert!(
        wait_until_async(WAIT, || stored() >= early).await,
        "{}",
        bot.log()
    );
    for n in early..early + 10 {
        mention(&bot, CHANNEL_ID, USER_ID + n, &question).await;
    }
    bot.child.kill().unwrap();
    bot.child.wait().unwrap();
    let store = db.read().unwrap();
    let (questions, _) = store.counts().unwrap();
    assert!(
        questions >= early,
        "only {questions} of the {early} stored questions survived the kill"
    );
}

/// Waits until the bot has logged `n` refused reloads.
async fn refusals(bot: &Bot, n: usize) {
    let logged = wait_until_async(WAIT, || bot.log().matches("reload refused").count() >= n).await;
    assert!(logged, "no refusal {n}\n{}", bot.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_edit_is_posted_once_to_the_admin_channel_and_sighup_reloads() {
    let intents = intents_copy();
    let db = TestStore::sqlite(intents.path());
    let admin_channel = CHANNEL_ID + 77;
    // No watcher: every reload here is one a SIGHUP asked for.
    let extra = format!("watch = false\n[discord]\nadmin_channel = {admin_channel}\n");
    let bot = bot_with_store(intents.path(), &db, &extra).await;
    let pid = bot.child.id().to_string();
    let hangup = || {
        Command::new("kill").args(["-HUP", &pid]).status().unwrap();
    };
    let meta = intents.path().join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    save(
        &meta,
        &format!("{original}\n[[intent]]\nid = \"meta.broken\"\ntitle = 5\n"),
    );
    hangup();
    refusals(&bot, 1).await;
    let path = format!("/channels/{admin_channel}/messages");
    let posted = bot
        .emulator
        .wait_request(WAIT, |r| r.method == "POST" && r.path == path)
        .await
        .unwrap_or_else(|| panic!("nothing posted to the admin channel\n{}", bot.log()));
    let text = posted.body["content"].as_str().unwrap();
    assert!(text.starts_with("Reload refused"), "{text}");
    let located = regex::Regex::new(r"meta\.toml:\d+:\d+: ").unwrap();
    assert!(located.is_match(text), "{text}");
    crate::bot::assert_no_pings(&posted.body);
    // The same refusal again: logged, not posted again.
    hangup();
    refusals(&bot, 2).await;
    // Fixed, with the zebra topic: the next SIGHUP takes it live.
    save(&meta, &format!("{original}{ZEBRA}"));
    hangup();
    until_zebra(&bot, WAIT).await;
    // One task runs the reloads in turn: the second refusal's announcement was over before
    // the fix went live, so a second post would be recorded by now.
    assert_eq!(bot.count(|r| r.path == path), 1);
}

/// Breaks the intents in `dir` and sends the bot a SIGHUP: waits until the reload it asks
/// for is refused.
pub(crate) async fn refuse_next_reload(bot: &Bot, dir: &Path) {
    let meta = dir.join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    save(
        &meta,
        &format!("{original}\n[[intent]]\nid = \"meta.broken\"\ntitle = 5\n"),
    );
    Command::new("kill")
        .args(["-HUP", &bot.child.id().to_string()])
        .status()
        .unwrap();
    refusals(bot, 1).await;
}

/// `careerbot publish` of `intents` into the database of `db`, with `args`.
fn publish_cli(db: &TestStore, intents: &Path, args: &[&str]) -> support::Output {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("publish.toml");
    let value = toml_edit::Value::from(db.value.as_str());
    std::fs::write(&config, format!("[admin]\ndatabase = {value}\n")).unwrap();
    support::careerbot(["publish", "--config"])
        .with_args([
            config.as_os_str(),
            "--intents".as_ref(),
            intents.as_os_str(),
        ])
        .with_args(args)
        .run()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_on_postgresql_serves_the_published_set_and_follows_publications_and_rollbacks() {
    let intents = intents_copy();
    let db = TestStore::postgres();
    // Nothing published yet: the first process publishes its directory as version 1.
    let bot = bot_with_store(intents.path(), &db, "").await;
    assert!(
        bot.log()
            .contains("nothing was published: published the intents directory"),
        "{}",
        bot.log()
    );
    let stats = bot.careerbot("stats", USER_ID + 1, MANAGE_GUILD);
    let id = bot.emulator.interaction(stats).await;
    let text = bot.response(id).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("intent_set            published v1"),
        "{text}"
    );

    // Another machine publishes a set with the zebra topic: this process serves it.
    let release = tempfile::tempdir().unwrap();
    copy_shipped(release.path());
    let meta = release.path().join("meta.toml");
    let original = std::fs::read_to_string(&meta).unwrap();
    std::fs::write(&meta, format!("{original}{ZEBRA}")).unwrap();
    let published = Instant::now();
    let out = publish_cli(&db, release.path(), &["--json"]);
    out.expect_code(0);
    assert_eq!(out.json()["version"], 2);
    let took = until_zebra(&bot, LIVE_WITHIN).await;
    eprintln!(
        "version 2 answered {} ms after `careerbot publish` returned ({} ms after it started)",
        took.as_millis(),
        published.elapsed().as_millis()
    );
    // The questions it answers carry the version.
    let stored = || {
        db.read()
            .and_then(|s| s.questions_since(0))
            .map(|qs| qs.iter().any(|q| q.intent_version == Some(2)))
            .unwrap_or(false)
    };
    assert!(wait_until_async(WAIT, stored).await, "{}", bot.log());

    // A rollback to version 1: zebras are unknown again.
    let out = publish_cli(&db, release.path(), &["--rollback", "1"]);
    out.expect_code(0);
    let started = Instant::now();
    // A new member each time: a throttled one's cooldown notice is no answer either.
    for user in 0.. {
        let reply = mention(&bot, CHANNEL_ID, USER_ID + 500 + user, ZEBRA_QUESTION).await;
        if reply["embeds"][0]["title"] != "Zebra facts" {
            break;
        }
        assert!(
            started.elapsed() < LIVE_WITHIN,
            "not rolled back\n{}",
            bot.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = bot.careerbot("stats", USER_ID + 1, MANAGE_GUILD);
    let id = bot.emulator.interaction(stats).await;
    let text = bot.response(id).await["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains("intent_set            published v1"),
        "{text}"
    );
}
