//! The intent-set limits' figures (issue 12, findings 1, 3 and 6): what sets that used to be
//! slow cost now, and what a set exactly at the `[limits]` costs to check, start and reload.
//!
//! `cargo bench --bench limits` runs the `careerbot` binary named by `CAREERBOT_BIN`
//! (default `target/release/careerbot`: build it first with `cargo build --release`) on
//! generated sets, timing each run and reading its peak memory with `/usr/bin/time`.
//! `-- --before` measures a binary without `[limits]` (no limit is set through the
//! environment; the sets at the limits and the reloads are skipped). `-- --only NAME` runs
//! the sections whose name contains NAME (`one-line`, `patterns`, `big`, `at-limits`).
//! A run over `TIMEOUT` is stopped and shown as such. Prints; asserts nothing about time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use careerbot::admin::reload::Reloader;
use careerbot::config::Settings;
use careerbot::engine::intents::synthetic::{intent_file, SyntheticSet, Written};
use careerbot::engine::intents::{Limits, Pattern};
use careerbot::engine::Engine;

/// Longest one run may take.
const TIMEOUT: Duration = Duration::from_secs(150);

/// One run of the binary: wall time, peak memory, exit code, the first line of stderr.
struct Run {
    seconds: f64,
    rss_mb: f64,
    code: Option<i32>,
    first_error: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = self.code.map_or("killed".to_owned(), |c| c.to_string());
        write!(
            f,
            "{:7.2} s {:7.0} MB exit {code}",
            self.seconds, self.rss_mb
        )?;
        if self.code != Some(0) && !self.first_error.is_empty() {
            let shown: String = self.first_error.chars().take(150).collect();
            write!(f, "  | {shown}")?;
        }
        Ok(())
    }
}

struct Bench {
    bin: PathBuf,
    before: bool,
    only: Option<String>,
}

impl Bench {
    fn wants(&self, section: &str) -> bool {
        self.only.as_ref().is_none_or(|only| section.contains(only))
    }

    fn line(&mut self, text: impl AsRef<str>) {
        println!("{}", text.as_ref());
    }

    /// `careerbot ARGS --intents DIR` with `env` (left out for `--before`) and `stdin`.
    fn run(&self, args: &[&str], dir: &Path, env: &[(&str, String)], stdin: &str) -> Run {
        let stats = tempfile::NamedTempFile::new().unwrap();
        let mut cmd = Command::new("timeout");
        cmd.arg(TIMEOUT.as_secs().to_string())
            .arg("/usr/bin/time")
            .args(["-f", "%e %M", "-o"])
            .arg(stats.path())
            .arg(&self.bin)
            .args(args)
            .arg("--intents")
            .arg(dir)
            .env("CAREERBOT_ADMIN__WATCH", "false")
            .env("CAREERBOT_ADMIN__DATABASE", "")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if !self.before {
            cmd.envs(env.iter().map(|(k, v)| (*k, v)));
        }
        let started = Instant::now();
        let mut child = cmd.spawn().expect("timeout and /usr/bin/time run");
        {
            use std::io::Write as _;
            let mut input = child.stdin.take().unwrap();
            let _ = input.write_all(stdin.as_bytes());
        }
        let output = child.wait_with_output().unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let stats = std::fs::read_to_string(stats.path()).unwrap_or_default();
        let rss_kb: f64 = stats
            .lines()
            .last()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse().ok())
            .unwrap_or(0.0);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let code = output.status.code().filter(|&c| c != 124);
        Run {
            seconds,
            rss_mb: rss_kb / 1024.0,
            code,
            first_error: stderr
                .lines()
                .find(|l| !l.contains("warning:") && !l.trim().is_empty())
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the shipped intents with `files` added.
fn shipped_plus(files: &[(String, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(root().join("intents")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    write_files(dir.path(), files);
    dir
}

fn write_files(dir: &Path, files: &[(String, String)]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

fn quoted(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items
        .into_iter()
        .map(|i| serde_json::to_string(&i).unwrap())
        .collect();
    items.join(", ")
}

/// Finding 1's file: one intent with `n` examples, all on one line or one a line.
fn examples_file(n: usize, one_line: bool) -> String {
    let examples = (0..n).map(|i| format!("q{i} w{i}"));
    let list = if one_line {
        format!("[{}]", quoted(examples))
    } else {
        let lines: Vec<String> = examples
            .map(|e| format!("  {},\n", serde_json::to_string(&e).unwrap()))
            .collect();
        format!("[\n{}]", lines.concat())
    };
    format!("[[intent]]\nid = \"gen.t0\"\ntitle = \"T\"\nanswer = \"A\"\nexamples = {list}\n")
}

/// Finding 3's file: one intent with `n` patterns `\w{18}qN`.
fn patterns_file(n: usize) -> String {
    let patterns: Vec<String> = (0..n).map(|i| format!("'\\w{{18}}q{i}'")).collect();
    format!(
        "[[intent]]\nid = \"gen.pat\"\ntitle = \"T\"\nanswer = \"A\"\n\
         examples = [\"zz one\", \"zz two\", \"zz three\", \"zz four\", \"zz five\"]\n\
         patterns = [{}]\n",
        patterns.join(", ")
    )
}

fn one_line(bench: &mut Bench) {
    bench.line(
        "== finding 1: one line against one a line (check --no-confusions, shipped + gen.toml)",
    );
    // Past the shipped limits on purpose: this measures locating, not the limits.
    let env = [
        ("CAREERBOT_LIMITS__MAX_EXAMPLES", "1000000".to_owned()),
        ("CAREERBOT_LIMITS__MAX_SET_BYTES", (64u64 << 20).to_string()),
    ];
    for n in [40_000, 100_000] {
        for one_line in [true, false] {
            let dir = shipped_plus(&[("gen.toml".into(), examples_file(n, one_line))]);
            let run = bench.run(&["check", "--no-confusions"], dir.path(), &env, "");
            let shape = if one_line { "one line " } else { "one a line" };
            bench.line(format!("{n:>7} examples, {shape}: {run}"));
        }
    }
}

fn patterns(bench: &mut Bench) {
    bench.line("== finding 3: 400 patterns \\w{18}qN in one 5.6 KB file (shipped + gen.toml)");
    let text = patterns_file(400);
    let dir = shipped_plus(&[("gen.toml".into(), text.clone())]);
    bench.line(format!("file: {} bytes", text.len()));
    let check = bench.run(&["check", "--no-confusions"], dir.path(), &[], "");
    bench.line(format!("check --no-confusions   {check}"));
    let start = bench.run(&["chat"], dir.path(), &[], "");
    bench.line(format!("chat, start-up only     {start}"));
    let questions: String = (0..100)
        .map(|i| format!("how do I become a backend developer {i}\n"))
        .collect();
    let asked = bench.run(&["chat"], dir.path(), &[], &questions);
    bench.line(format!("chat, 100 questions     {asked}"));
    if start.code == Some(0) && asked.code == Some(0) {
        let per = (asked.seconds - start.seconds) * 1e3 / 100.0;
        bench.line(format!("ms per question         {per:.2}"));
    }
}

/// Finding 6's sets: one 15 MB file, 20,000 intents, 5,000 files.
fn big(bench: &mut Bench) {
    bench.line("== finding 6: whole sets (check --no-confusions; ask one question)");
    let question = "what does a backend developer do";
    // One file of at least 15 MB: generated intents of 120 examples each.
    let mut intents = 1;
    let big = loop {
        let text = SyntheticSet::new("big", intents, 120).text();
        if text.len() >= 15 << 20 {
            break text;
        }
        intents = (intents * 2).max(intents * (15 << 20) / text.len().max(1) + 1);
    };
    let many = SyntheticSet::new("many", 20_000, 3).text();
    let set = SyntheticSet::new("file", 5_000, 5);
    let files: Vec<(String, String)> = (0..set.len())
        .map(|i| {
            let text = intent_file([Written {
                id: set.id(i),
                title: format!("Topic {i}"),
                answer: format!("file {i}"),
                examples: set.examples(i),
            }]);
            (format!("f{i:04}.toml"), text)
        })
        .collect();
    let cases: [(String, Vec<(String, String)>); 3] = [
        (
            format!(
                "one file of {:.1} MB ({intents} intents x 120 examples)",
                big.len() as f64 / 1e6
            ),
            vec![("big.toml".into(), big)],
        ),
        (
            format!(
                "20,000 intents x 3 examples, one file of {:.1} MB",
                many.len() as f64 / 1e6
            ),
            vec![("many.toml".into(), many)],
        ),
        ("5,000 files of one intent x 5 examples".to_owned(), files),
    ];
    for (what, files) in cases {
        let dir = tempfile::tempdir().unwrap();
        write_files(dir.path(), &files);
        drop(files);
        bench.line(what);
        let check = bench.run(&["check", "--no-confusions"], dir.path(), &[], "");
        bench.line(format!("  check --no-confusions {check}"));
        let ask = bench.run(&["ask", question], dir.path(), &[], "");
        bench.line(format!("  ask                   {ask}"));
    }
}

/// Patterns of the set at the limits: `\w{18}qN` (large when compiled) for as many as fit
/// in `max_compiled_pattern_bytes` with the one longest pattern, plain words for the rest,
/// `max_patterns` in all. One of them is `max_pattern_chars` long.
fn patterns_at_limit(limits: &Limits) -> Vec<String> {
    let longest: String = {
        let words: Vec<String> = (0..).map(|i| format!("lw{i}")).take(400).collect();
        let mut text = words.join("|");
        text.truncate(limits.max_pattern_chars);
        text.trim_end_matches('|').to_owned()
    };
    let longest = format!(
        "{longest}{}",
        "x".repeat(limits.max_pattern_chars - longest.len())
    );
    // The loader's own measure of the compiled size (each pattern weighed, not compiled).
    let weight = |source: &str| {
        Pattern::new(source, limits.max_pattern_chars)
            .expect("a valid pattern")
            .weight()
    };
    let plain = |i: usize| format!("\\bplain{i}\\b");
    let mut total = weight(&longest);
    let mut patterns = vec![longest];
    // Heavy patterns while the plain ones still fit after them.
    loop {
        let heavy = format!("\\w{{18}}q{}", patterns.len());
        let rest = limits.max_patterns.saturating_sub(patterns.len() + 1);
        let after = total + weight(&heavy) + rest * weight(&plain(limits.max_patterns));
        if patterns.len() >= limits.max_patterns || after > limits.max_compiled_pattern_bytes {
            break;
        }
        total += weight(&heavy);
        patterns.push(heavy);
    }
    let heavy = patterns.len();
    while patterns.len() < limits.max_patterns {
        let next = plain(patterns.len());
        total += weight(&next);
        patterns.push(next);
    }
    assert!(
        total <= limits.max_compiled_pattern_bytes,
        "{heavy} heavy patterns"
    );
    patterns
}

/// A set exactly at every limit at once: `max_files` files holding `max_intents` intents,
/// `max_examples` examples and `max_patterns` patterns (as large compiled as fits), padded
/// with comments to `max_set_bytes`.
fn set_at_limits(limits: &Limits) -> Vec<(String, String)> {
    let per_intent = limits.max_examples / limits.max_intents;
    let set = SyntheticSet::new("lim", limits.max_intents, per_intent);
    let patterns = patterns_at_limit(limits);
    let per_pattern = patterns.len().div_ceil(limits.max_intents);
    let mut files: Vec<String> = vec![String::new(); limits.max_files];
    for i in 0..set.len() {
        let mut examples = set.examples(i).to_vec();
        // The examples that do not divide evenly go to the first intents.
        if i < limits.max_examples % limits.max_intents {
            examples.push(format!("spare example {i}"));
        }
        let mut text = intent_file([Written {
            id: set.id(i),
            title: format!("Topic {i}"),
            answer: format!("lim {i}"),
            examples: &examples,
        }]);
        let mine: Vec<String> = patterns
            .iter()
            .skip(i * per_pattern)
            .take(per_pattern)
            .map(|p| format!("'{p}'"))
            .collect();
        if !mine.is_empty() {
            text.push_str(&format!("patterns = [{}]\n", mine.join(", ")));
        }
        files[i % limits.max_files].push_str(&text);
        files[i % limits.max_files].push('\n');
    }
    let used: usize = files.iter().map(String::len).sum();
    let pad = usize::try_from(limits.max_set_bytes)
        .unwrap()
        .saturating_sub(used);
    // Comment lines of 80 bytes, then one of the bytes left.
    let mut padding = format!("#{}\n", "-".repeat(78)).repeat(pad / 80);
    match pad % 80 {
        0 => {}
        1 => padding.push('\n'),
        rest => padding.push_str(&format!("#{}\n", "-".repeat(rest - 2))),
    }
    files[0].push_str(&padding);
    files
        .into_iter()
        .enumerate()
        .map(|(i, text)| (format!("l{i:04}.toml"), text))
        .collect()
}

fn at_limits(bench: &mut Bench) {
    if bench.before {
        return;
    }
    let settings = Settings::defaults();
    let limits = settings.limits;
    bench.line(format!(
        "== a set exactly at every shipped limit at once: {limits:?}"
    ));
    let files = set_at_limits(&limits);
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path(), &files);
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    bench.line(format!("{} files, {bytes} bytes", files.len()));
    let check = bench.run(&["check", "--no-confusions"], dir.path(), &[], "");
    bench.line(format!("check --no-confusions   {check}"));
    let ask = bench.run(
        &["ask", "what does a backend developer do"],
        dir.path(),
        &[],
        "",
    );
    bench.line(format!("ask (start-up + 1)      {ask}"));
    let questions: String = (0..200)
        .map(|i| format!("how much does topic {i} pay\n"))
        .collect();
    let asked = bench.run(&["chat"], dir.path(), &[], &questions);
    bench.line(format!("chat, 200 questions     {asked}"));

    // A reload in this process (the library's Reloader, as `run` and `chat` use it).
    let started = Instant::now();
    let (engine, _) = Engine::load(dir.path(), &settings.matcher, &settings.limits)
        .unwrap_or_else(|errors| panic!("the set at the limits is refused: {}", errors[0]));
    let built = started.elapsed();
    // Answering, in this process: the start-up of a process is most of a `chat` run.
    let started = Instant::now();
    for i in 0..2000 {
        std::hint::black_box(engine.reply(&format!("how much does topic {i} pay")));
    }
    bench.line(format!(
        "in process: {:.3} ms a question (2,000 questions)",
        started.elapsed().as_secs_f64() * 1e3 / 2000.0
    ));
    let reloader = Reloader::new(engine, dir.path(), &settings).unwrap();
    let edited = dir.path().join("l0001.toml");
    let mut times = Vec::new();
    for n in 0..3 {
        // A new answer of the same length: the set stays exactly at `max_set_bytes`.
        let text = std::fs::read_to_string(&edited).unwrap();
        let at = text.find("answer = \"li").expect("an answer") + "answer = \"li".len();
        let text = format!("{}{}{}", &text[..at], ["x", "y", "z"][n], &text[at + 1..]);
        std::fs::write(&edited, text).unwrap();
        let started = Instant::now();
        reloader.reload().unwrap_or_else(|r| panic!("{}", r.text()));
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    bench.line(format!(
        "in process: load + build {:.0} ms; reload after an edit {:.0} / {:.0} / {:.0} ms",
        built.as_secs_f64() * 1e3,
        times[0],
        times[1],
        times[2]
    ));
    // One past: a refused reload leaves the set in service.
    std::fs::write(
        dir.path().join("zz.toml"),
        "[[intent]]\nid = \"zz.past\"\ntitle = \"T\"\nanswer = \"A\"\nexamples = [\"past one\"]\n",
    )
    .unwrap();
    let started = Instant::now();
    let refused = reloader.reload().err().map(|r| r.text());
    bench.line(format!(
        "one file past the limit: reload refused in {:.0} ms: {}",
        started.elapsed().as_secs_f64() * 1e3,
        refused
            .unwrap_or_else(|| "NOT REFUSED".into())
            .lines()
            .next()
            .unwrap_or("")
    ));
}

/// One part of the benchmark, run when `--only` names it.
type Section = fn(&mut Bench);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let bin = std::env::var_os("CAREERBOT_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/release/careerbot"));
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release",
        bin.display()
    );
    let mut bench = Bench {
        bin,
        before: args.iter().any(|a| a == "--before"),
        only,
    };
    bench.line(format!("binary: {}", bench.bin.display()));
    let sections: [(&str, Section); 4] = [
        ("one-line", one_line),
        ("patterns", patterns),
        ("big", big),
        ("at-limits", at_limits),
    ];
    for (name, section) in sections {
        if bench.wants(name) {
            section(&mut bench);
        }
    }
}
