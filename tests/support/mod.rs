//! Helpers shared by the integration tests: the built binary, fixture paths, the engines
//! the library tests share, waits with deadlines, an intent-set builder in a temporary
//! directory and a parser for `path:line:col: message` diagnostics.
//!
//! Tests about the engine (answers, decisions, validation, evaluation figures) call the
//! library through the few helpers here; the binary is started only where its interface
//! (exit codes, output, flags, stdin, signals, Discord) is what a test is about. Every wait
//! has a deadline, so a stuck or panicking thread fails the suite instead of hanging it.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use careerbot::engine::confusions;
use careerbot::engine::evaluation::{self, Report};
use careerbot::engine::intents::{self, Diagnostic, Limits};
use careerbot::engine::matcher::{Decision, MatcherSettings};
use careerbot::engine::{Engine, Reply};

pub mod discord;
pub mod postgres;
pub mod privacy;

/// The `careerbot` binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_careerbot"))
}

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

/// The shipped knowledge base, `intents/`.
pub fn shipped() -> PathBuf {
    root().join("intents")
}

/// The matcher settings the binary uses when no file or variable changes them.
pub fn matcher_settings() -> MatcherSettings {
    careerbot::config::Settings::defaults().matcher
}

/// The shipped `[limits]`.
pub fn limits() -> Limits {
    careerbot::config::Settings::defaults().limits
}

/// The shipped intents, compiled once for the whole suite with the default settings.
pub fn shipped_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| load(&shipped(), &matcher_settings()))
}

/// `tests/fixtures/good`, compiled once for the whole suite with the default settings.
pub fn good_engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| load(&fixture("good"), &matcher_settings()))
}

/// Checks the invariants every reply has, whatever the input.
#[track_caller]
pub fn assert_well_formed(reply: &Reply, engine: &Engine, what: &str) {
    assert!(
        reply.confidence.is_finite() && (0.0..=1.0).contains(&reply.confidence),
        "{what}: confidence {}",
        reply.confidence
    );
    assert!(
        reply.candidates.len() <= 3,
        "{what}: {:?}",
        reply.candidates
    );
    for c in &reply.candidates {
        assert!(c.score.is_finite() && (0.0..=1.0).contains(&c.score));
        assert!(engine.intent(&c.intent).is_some());
    }
    let scores: Vec<f32> = reply.candidates.iter().map(|c| c.score).collect();
    assert!(scores.is_sorted_by(|a, b| a >= b), "{what}: not best first");
    match reply.decision {
        Decision::Answer | Decision::Decline => {
            let id = reply.intent.as_deref().expect("an answer names its intent");
            assert_eq!(
                reply.answer.as_deref(),
                Some(engine.intent(id).unwrap().answer.as_str())
            );
            assert_eq!(reply.candidates[0].intent, id, "{what}");
            assert_eq!(scores[0], reply.confidence, "{what}");
        }
        Decision::Clarify | Decision::Fallback => {
            assert!(reply.intent.is_none() && reply.answer.is_none(), "{what}");
            assert!(
                reply.courses.is_empty() && reply.follow_ups.is_empty(),
                "{what}"
            );
            // A more confident choice or suggestion may be listed first.
            assert!(
                scores.first().is_none_or(|&best| reply.confidence <= best),
                "{what}"
            );
        }
    }
    assert!(!reply.explanation.summary.is_empty(), "{what}");
}

/// What `careerbot check` finds in `dir` beyond validation: the examples a model trained
/// without them answers with another intent (k-fold on large sets: seconds on `intents/`).
pub fn confusions(dir: &Path) -> Vec<Diagnostic> {
    let loaded = intents::load_dir(dir, &limits()).unwrap_or_else(|refused| panic!("{refused:#?}"));
    confusions::find(&loaded.set, &matcher_settings())
}

/// What `careerbot eval CASES` reports for `engine`.
pub fn evaluate(engine: &Engine, cases: &Path) -> Report {
    let cases =
        evaluation::read_cases(cases).unwrap_or_else(|e| panic!("{}: {e:#}", cases.display()));
    evaluation::evaluate(engine, &cases).expect("the cases name known intents")
}

/// How often the waits below look again.
const POLL: Duration = Duration::from_millis(20);

/// One item per look of a wait, until `within` has passed.
fn looks(within: Duration) -> impl Iterator<Item = ()> {
    let deadline = Instant::now() + within;
    std::iter::from_fn(move || (Instant::now() < deadline).then_some(()))
}

/// Polls `done` until it holds or `within` has passed; whether it held. For plain threads.
pub fn wait_until(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    for () in looks(within) {
        if done() {
            return true;
        }
        std::thread::sleep(POLL);
    }
    done()
}

/// [`wait_until`] for async tests: sleeps without blocking the runtime's workers.
pub async fn wait_until_async(within: Duration, mut done: impl FnMut() -> bool) -> bool {
    for () in looks(within) {
        if done() {
            return true;
        }
        tokio::time::sleep(POLL).await;
    }
    done()
}

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts the process exited with `code`, showing everything it printed otherwise.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
        assert!(
            !self.stderr.contains("panicked"),
            "the process panicked\n{self}"
        );
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{self}"))
    }
}

impl std::fmt::Display for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// A run of the binary being prepared.
pub struct Run {
    cmd: Command,
    stdin: Vec<u8>,
}

/// Starts preparing `careerbot ARGS...`, run from the crate root with a clean environment
/// (no `CAREERBOT_*` or `RUST_LOG` variable leaks in from the caller).
pub fn careerbot<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(bin());
    cmd.args(args).current_dir(root());
    for (key, _) in std::env::vars_os() {
        let key_text = key.to_string_lossy();
        if key_text.starts_with("CAREERBOT") || key_text == "RUST_LOG" {
            cmd.env_remove(&key);
        }
    }
    Run {
        cmd,
        stdin: Vec::new(),
    }
}

impl Run {
    /// Appends more arguments.
    pub fn with_args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.stdin = bytes.as_ref().to_vec();
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Runs as `nobody` (uid and gid 65534) when the tests run as root, for whom file
    /// permissions do not bind: a read-only folder is then read-only to the binary too.
    pub fn unprivileged(mut self) -> Self {
        use std::os::unix::process::CommandExt as _;
        if running_as_root() {
            self.cmd.uid(65534).gid(65534);
        }
        self
    }

    /// Runs to completion, feeding stdin (closed afterwards) and capturing both outputs.
    pub fn run(self) -> Output {
        let (child, writer) = self.spawn();
        let out = child.wait_with_output().expect("cannot wait for careerbot");
        writer.join().expect("stdin writer thread");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Like [`Run::run`], for a run that must end by itself `within` a deadline (one that
    /// would hang without the behaviour under test): past it, the process is killed and the
    /// test fails.
    #[track_caller]
    pub fn run_within(self, within: Duration) -> Output {
        let (mut child, writer) = self.spawn();
        let read = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                if let Some(mut pipe) = pipe {
                    let _ = pipe.read_to_end(&mut text);
                }
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = read(child.stdout.take().map(|p| Box::new(p) as _));
        let stderr = read(child.stderr.take().map(|p| Box::new(p) as _));
        let mut status = None;
        let ended = wait_until(within, || {
            status = child.try_wait().expect("cannot wait for careerbot");
            status.is_some()
        });
        if !ended {
            let _ = child.kill();
            let _ = child.wait();
        }
        writer.join().expect("stdin writer thread");
        let out = Output {
            code: status.and_then(|s| s.code()),
            stdout: stdout.join().expect("stdout reader thread"),
            stderr: stderr.join().expect("stderr reader thread"),
        };
        assert!(ended, "still running after {within:?}; killed\n{out}");
        out
    }

    /// Starts the process with piped stdio and a thread feeding it stdin.
    fn spawn(mut self) -> (std::process::Child, std::thread::JoinHandle<()>) {
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the careerbot binary");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let bytes = std::mem::take(&mut self.stdin);
        // Write from another thread so a large input cannot deadlock against full pipes.
        let writer = std::thread::spawn(move || {
            // The process may legitimately stop reading (`/quit`): ignore broken pipes.
            let _ = stdin.write_all(&bytes);
        });
        (child, writer)
    }
}

/// Whether the tests run as root: the owner of a file this process has just created.
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let file = tempfile::tempfile().expect("a temporary file");
    file.metadata().expect("its metadata").uid() == 0
}

/// Sets the permission bits of `path`.
pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

/// `["--intents", dir]`, ready to chain with other arguments.
pub fn intents_arg(dir: &Path) -> [std::ffi::OsString; 2] {
    ["--intents".into(), dir.as_os_str().to_owned()]
}

/// An intent directory written file by file into a fresh temporary directory.
pub struct IntentDir {
    pub dir: tempfile::TempDir,
}

impl IntentDir {
    pub fn new() -> IntentDir {
        IntentDir {
            dir: tempfile::tempdir().expect("cannot create a temporary directory"),
        }
    }

    /// Writes `name` (text or raw bytes) into the directory.
    pub fn file(self, name: &str, contents: impl AsRef<[u8]>) -> IntentDir {
        std::fs::write(self.dir.path().join(name), contents).expect("cannot write a fixture");
        self
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Loads the directory with default settings; panics with every diagnostic on errors.
    #[track_caller]
    pub fn engine(&self) -> Engine {
        load(self.path(), &matcher_settings())
    }
}

impl Default for IntentDir {
    fn default() -> Self {
        IntentDir::new()
    }
}

/// `Engine::load`, panicking with every diagnostic when the set has errors.
#[track_caller]
pub fn load(dir: &Path, settings: &MatcherSettings) -> Engine {
    match Engine::load(dir, settings, &limits()) {
        Ok((engine, _warnings)) => engine,
        Err(diagnostics) => {
            let shown: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
            panic!("{} does not load:\n{}", dir.display(), shown.join("\n"));
        }
    }
}

/// One `[[intent]]` table in TOML.
#[derive(Default)]
pub struct IntentToml<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub examples: &'a [&'a str],
    pub keywords: &'a [&'a str],
    pub patterns: &'a [&'a str],
    pub answer: &'a str,
    pub courses: &'a [&'a str],
    pub follow_ups: &'a [&'a str],
    pub action: Option<&'a str>,
}

impl IntentToml<'_> {
    pub fn to_toml(&self) -> String {
        // TOML basic strings and JSON strings escape the same way for what we write.
        let s = |text: &str| serde_json::to_string(text).expect("a string serializes");
        let list = |items: &[&str]| {
            let items: Vec<String> = items.iter().map(|i| s(i)).collect();
            format!("[{}]", items.join(", "))
        };
        let mut out = format!(
            "[[intent]]\nid = {}\ntitle = {}\nanswer = {}\n",
            s(self.id),
            s(self.title),
            s(self.answer)
        );
        for (key, items) in [
            ("examples", self.examples),
            ("keywords", self.keywords),
            ("patterns", self.patterns),
            ("courses", self.courses),
            ("follow_ups", self.follow_ups),
        ] {
            if !items.is_empty() {
                out.push_str(&format!("{key} = {}\n", list(items)));
            }
        }
        if let Some(action) = self.action {
            out.push_str(&format!("action = {}\n", s(action)));
        }
        out.push('\n');
        out
    }
}

/// Several intents as the text of one intent file.
pub fn intents_toml(intents: &[IntentToml<'_>]) -> String {
    intents.iter().map(IntentToml::to_toml).collect()
}

/// One diagnostic line `path:line:col: message`, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosticLine {
    pub path: String,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Splits `path:line:col: message`; `None` when the line does not have that shape.
pub fn parse_diagnostic(text: &str) -> Option<DiagnosticLine> {
    let re = regex::Regex::new(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")
        .expect("valid regex");
    let caps = re.captures(text)?;
    Some(DiagnosticLine {
        path: caps["path"].to_owned(),
        line: caps["line"].parse().ok()?,
        col: caps["col"].parse().ok()?,
        message: caps["message"].to_owned(),
    })
}

/// Every line of `stderr` shaped like a diagnostic.
pub fn diagnostics(stderr: &str) -> Vec<DiagnosticLine> {
    stderr.lines().filter_map(parse_diagnostic).collect()
}

/// The four errors of `tests/fixtures/bad`: file name, line, column, message fragment.
pub const BAD_FIXTURE_ERRORS: [(&str, usize, usize, &str); 4] = [
    (
        "broken.toml",
        4,
        20,
        "TOML syntax error: invalid basic string",
    ),
    (
        "faq.toml",
        6,
        1,
        "unknown field `exmples` in intent `faq.salary`",
    ),
    (
        "faq.toml",
        14,
        13,
        "invalid regex in `patterns`: unclosed group",
    ),
    ("faq.toml", 16, 12, "unknown course `negotiation-101`"),
];

/// Asserts that `stderr` lists exactly the four errors of `tests/fixtures/bad`, each as
/// `path:line:col: message` with the path pointing into `dir`.
#[track_caller]
pub fn assert_bad_fixture_errors(stderr: &str, dir: &Path) {
    let found = diagnostics(stderr);
    assert_eq!(
        found.len(),
        BAD_FIXTURE_ERRORS.len(),
        "expected exactly the fixture's errors, got:\n{stderr}"
    );
    for (d, (file, line, col, fragment)) in found.iter().zip(BAD_FIXTURE_ERRORS) {
        assert_eq!(
            Path::new(&d.path),
            dir.join(file),
            "wrong path in {d:?}\n{stderr}"
        );
        assert_eq!((d.line, d.col), (line, col), "wrong place in {d:?}");
        assert!(
            d.message.contains(fragment),
            "{d:?} should mention {fragment:?}"
        );
        assert!(
            !d.message.starts_with("warning:"),
            "{d:?} should be an error"
        );
    }
}

/// Gives intent `id` of the intent directory `dir` its own `min_confidence`, written under
/// its `id` line.
pub fn set_min_confidence(dir: &Path, id: &str, value: f32) {
    let line = format!("id = \"{id}\"\n");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains(&line) {
            let edited = text.replacen(&line, &format!("{line}min_confidence = {value}\n"), 1);
            std::fs::write(&path, edited).unwrap();
            return;
        }
    }
    panic!("no intent {id} in {}", dir.display());
}
