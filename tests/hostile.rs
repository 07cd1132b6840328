//! Hostile input: odd messages through the library and the binary, and broken intent
//! directories. Nothing may panic; a message with nothing to match falls back, a real
//! question wrapped in noise is still answered.

use std::path::Path;
use std::time::{Duration, Instant};

use careerbot::engine::matcher::Decision;
use careerbot::engine::{Engine, Reply};

use crate::support::{
    self, assert_well_formed, careerbot, diagnostics, fixture, good_engine, intents_arg,
    shipped_engine, IntentDir,
};

/// A question of the good fixture and the intent that answers it.
const QUESTION: &str = "which skills do I need";
const INTENT: &str = "role.skills";

/// Messages with nothing to match: each must fall back. The flag says whether the text
/// can be passed as a command-line argument (no NUL byte).
fn noise() -> Vec<(&'static str, String, bool)> {
    vec![
        ("empty", String::new(), true),
        ("whitespace", " \t \n\r\n   \u{3000}\u{a0} ".into(), true),
        ("NUL bytes", "\0\0\0".into(), false),
        (
            "control characters",
            "\x01\x02\x07\x08\x0b\x0c\x1b[31m\x1b[0m\x7f\u{85}\u{9f}".into(),
            true,
        ),
        ("emoji only", "🎓🤔💼🚀👩‍💻🇫🇷".into(), true),
        ("many emoji", "😀".repeat(5000), true),
        (
            "Arabic",
            "هل أحتاج إلى شهادة جامعية لأصبح مهندس برمجيات؟".into(),
            true,
        ),
        ("Hebrew", "האם אני צריך תואר כדי להיות מתכנת?".into(), true),
        (
            "Discord mentions only",
            "<@123> <@&456> <#789> @everyone".into(),
            true,
        ),
        (
            "more Discord markup",
            "<@!1> @here <:blob:123> <a:dance:456> <t:1700000000:R> </cmd sub:9> <id:browse>"
                .into(),
            true,
        ),
        (
            "code fence only",
            "```rust\nfn main() { println!(\"which skills do I need\"); }\n```".into(),
            true,
        ),
        (
            "markdown symbols",
            "**__~~||||~~__** `` ` > >>> # -#".into(),
            true,
        ),
        (
            "unterminated markup",
            "<@ <# ```` [[[ ]( <https:// ||".into(),
            true,
        ),
        (
            "replacement characters",
            "\u{fffd}\u{fffd} \u{fffd}".into(),
            true,
        ),
        (
            "invisible characters",
            "\u{200b}\u{200c}\u{200d}\u{2060}\u{feff}\u{202e}\u{202d}\u{ad}".into(),
            true,
        ),
        ("one 100 KB word", "x".repeat(100 * 1024), true),
        (
            "100 KB of unknown words",
            "zorblax quintessa vormund ".repeat(4000),
            true,
        ),
        ("100 KB of digits", "1234567890 ".repeat(10_000), true),
        (
            "lone surrogate-like text",
            "\u{fff0}\u{ffff}\u{10ffff}".into(),
            true,
        ),
    ]
}

/// The good fixture's question wrapped in noise: each must still answer it.
fn wrapped() -> Vec<(&'static str, String, bool)> {
    vec![
        (
            "mentions around",
            format!("<@123> <@&456> {QUESTION}? <#789> @everyone"),
            true,
        ),
        ("markdown emphasis", format!("**{QUESTION}?**"), true),
        ("quote and heading", format!("> ## {QUESTION}"), true),
        (
            "after a code block",
            format!("```\nlet x = 1;\n```\n{QUESTION}"),
            true,
        ),
        ("NUL bytes inside", format!("\0{QUESTION}\0\0"), false),
        (
            "control characters around",
            format!("\x07\x1b{QUESTION}\x7f"),
            true,
        ),
        ("emoji around", format!("🤔 {QUESTION} 🙏🙏"), true),
        ("bidi marks", format!("\u{202e}{QUESTION}\u{202c}"), true),
        ("with Hebrew", format!("{QUESTION}? שלום"), true),
        ("shouting", QUESTION.to_uppercase(), true),
        (
            "fullwidth",
            "ｗｈｉｃｈ ｓｋｉｌｌｓ ｄｏ Ｉ ｎｅｅｄ".into(),
            true,
        ),
        (
            "100 KB of the question",
            format!("{QUESTION} ").repeat(100 * 1024 / (QUESTION.len() + 1)),
            true,
        ),
    ]
}

/// Replies, failing when one reply takes unreasonably long (even in a debug build).
fn timed_reply(engine: &Engine, text: &str, what: &str) -> Reply {
    let started = Instant::now();
    let reply = engine.reply(text);
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "{what}: one reply took {took:?}"
    );
    reply
}

#[test]
fn the_library_falls_back_on_noise() {
    for engine in [good_engine(), shipped_engine()] {
        // Only code is answered by the set's `code_only` intent, when it has one.
        let code_only = engine.intents().iter().find(|i| i.code_only);
        for (what, text, _) in noise() {
            let reply = timed_reply(engine, &text, what);
            assert_well_formed(&reply, engine, what);
            let expected = match code_only.filter(|_| what == "code fence only") {
                Some(intent) if intent.decline => Decision::Decline,
                Some(_) => Decision::Answer,
                None => Decision::Fallback,
            };
            assert_eq!(
                reply.decision, expected,
                "{what}: {}",
                reply.explanation.summary
            );
            if expected == Decision::Fallback {
                assert!(reply.courses.is_empty() && reply.follow_ups.is_empty());
            }
        }
    }
}

#[test]
fn the_library_answers_a_question_wrapped_in_noise() {
    let engine = good_engine();
    for (what, text, _) in wrapped() {
        let reply = timed_reply(engine, &text, what);
        assert_well_formed(&reply, engine, what);
        assert_eq!(
            (reply.decision, reply.intent.as_deref()),
            (Decision::Answer, Some(INTENT)),
            "{what}: {}",
            reply.explanation.summary
        );
    }
}

#[test]
fn the_library_survives_a_question_followed_by_100_kb_of_garbage() {
    let engine = good_engine();
    for tail in [
        "x".repeat(100 * 1024),
        "🎉".repeat(30_000),
        "\0\u{7}".repeat(50_000),
        "<@1>".repeat(25_000),
        "`".repeat(100 * 1024),
        "[a](".repeat(25_000),
    ] {
        let text = format!("{QUESTION} {tail}");
        let reply = timed_reply(engine, &text, "question + garbage");
        assert_well_formed(&reply, engine, "question + garbage");
        assert_ne!(reply.decision, Decision::Clarify);
        assert!(reply.intent.is_none() || reply.intent.as_deref() == Some(INTENT));
    }
}

#[test]
fn course_search_and_reply_for_survive_hostile_text() {
    let engine = shipped_engine();
    for (what, text, _) in noise().into_iter().chain(wrapped()) {
        let hits = engine.catalog().search(&text, &Default::default(), 10);
        assert!(hits.len() <= 10, "{what}");
        assert!(engine.reply_for(&text).is_none(), "{what}");
    }
}

/// `careerbot ask TEXT --json` on the good fixture, expected to exit 0.
fn ask_json(text: &str, what: &str) -> serde_json::Value {
    let out = careerbot(["ask", text, "--json"])
        .with_args(intents_arg(&fixture("good")))
        .run();
    out.expect_code(0);
    assert!(
        !out.stderr.contains("panicked"),
        "{what}: the process panicked\n{out}"
    );
    out.json()
}

#[test]
fn ask_takes_hostile_arguments_and_decides_as_the_library_does() {
    // What each text is answered is the library tests' business (above); the binary adds
    // the argument's way in: every kind of noise, and the largest argument.
    let engine = good_engine();
    let largest = wrapped()
        .into_iter()
        .max_by_key(|(_, text, _)| text.len())
        .unwrap();
    for (what, text, passable) in noise().into_iter().chain([largest]) {
        if !passable {
            continue;
        }
        let reply = ask_json(&text, what);
        let expected = engine.reply(&text);
        assert_eq!(
            reply["decision"],
            serde_json::to_value(expected.decision).unwrap(),
            "{what}: {reply:#}"
        );
        assert_eq!(
            reply["intent"].as_str(),
            expected.intent.as_deref(),
            "{what}"
        );
        assert_eq!(
            reply["confidence"].as_f64().unwrap() as f32,
            expected.confidence,
            "{what}"
        );
    }
    // Plain text too: exit 0 and a non-empty message.
    let out = careerbot(["ask", "🎓🤔💼🚀"])
        .with_args(intents_arg(&fixture("good")))
        .run();
    out.expect_code(0);
    assert!(!out.stdout.trim().is_empty(), "{out}");
}

#[test]
fn ask_rejects_an_argument_that_is_not_utf8_without_panicking() {
    use std::os::unix::ffi::OsStrExt as _;
    let arg = std::ffi::OsStr::from_bytes(b"which skills \xff\xfe do I need");
    let out = careerbot([std::ffi::OsStr::new("ask"), arg])
        .with_args(intents_arg(&fixture("good")))
        .run();
    // clap refuses it as a usage error (exit 2), with a message, and nothing on stdout.
    out.expect_code(2);
    assert!(out.stderr.contains("UTF-8"), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
}

/// `careerbot chat` on the good fixture with raw bytes on stdin.
fn chat(input: &[u8]) -> support::Output {
    let out = careerbot(["chat"])
        .with_args(intents_arg(&fixture("good")))
        .stdin(input)
        .run();
    out.expect_code(0);
    out
}

#[test]
fn chat_survives_invalid_utf8_and_goes_on() {
    let engine = good_engine();
    let skills = engine.intent(INTENT).unwrap();
    let input: &[u8] =
        b"\xff\xfe\xfd\n\xc3\x28\n\xe2\x82\n\x80\x80 \xf0\x9f\nwhich skills do I need\n";
    let out = chat(input);
    assert!(out.stdout.contains(skills.answer.trim()), "{out}");
    assert_eq!(out.stdout.matches(skills.answer.trim()).count(), 1, "{out}");
    // Invalid bytes never answer an intent.
    for intent in engine.intents() {
        if intent.id != INTENT {
            assert!(!out.stdout.contains(intent.answer.trim()), "{out}");
        }
    }
    // Without a final newline, after invalid bytes, too.
    let out = chat(b"which skills do I need\n\xff");
    assert!(out.stdout.contains(skills.answer.trim()), "{out}");
}

#[test]
fn chat_answers_a_line_with_invalid_utf8_like_any_other() {
    // chat.rs says "A line that is not valid UTF-8 is answered like any other text", but
    // such a line becomes an empty string and gets no reply at all.
    let engine = good_engine();
    let skills = engine.intent(INTENT).unwrap();
    let out = chat(b"which skills do I need \xff\n");
    assert!(
        out.stdout.contains(skills.answer.trim()),
        "the question was not answered\n{out}"
    );
    // A line of invalid bytes only gets a reply (a fallback), like any other text.
    let alone = chat(b"\xff\xfe\n");
    assert!(!alone.stdout.trim().is_empty(), "no reply at all\n{alone}");
}

#[test]
fn chat_handles_hostile_lines_one_reply_each() {
    let engine = good_engine();
    let skills = engine.intent(INTENT).unwrap();
    let mut input = Vec::new();
    let (mut replies, mut too_long) = (0, 0);
    for (_, text, _) in noise() {
        // One chat line each: line breaks inside would split it.
        let line = text.replace(['\n', '\r', '\u{85}'], " ");
        if line.trim().is_empty() {
            continue; // blank lines are skipped by design
        }
        input.extend_from_slice(line.as_bytes());
        input.extend_from_slice(b"\r\n");
        // Longer than a Discord message: a notice instead of a fallback.
        if line.trim().chars().count() > careerbot::bot::limits::QUESTION {
            too_long += 1;
        } else {
            replies += 1;
        }
    }
    input.extend_from_slice(format!("{QUESTION}\n").as_bytes());
    let out = chat(&input);
    assert!(out.stdout.contains(skills.answer.trim()), "{out}");
    // Every noise line got a fallback (or, for text in another script, the one line saying
    // the bot answers in English), and only the real question was answered.
    let fallback = careerbot(["ask", "zorblax"])
        .with_args(intents_arg(&fixture("good")))
        .run();
    let first_line = fallback.stdout.lines().next().unwrap().to_owned();
    let not_english = careerbot::config::Settings::defaults().replies.not_english;
    let said = out.stdout.matches(&first_line).count() + out.stdout.matches(&not_english).count();
    assert_eq!(said, replies, "{out}");
    assert_eq!(
        out.stdout.matches("too long for a question").count(),
        too_long,
        "{out}"
    );
    assert_eq!(out.stdout.matches("## ").count(), 1, "{out}");
}

// ---------------------------------------------------------------------------
// Broken intent directories
// ---------------------------------------------------------------------------

/// A directory with a syntax error, a binary file, NULs and a valid intent file.
fn broken_dir() -> IntentDir {
    let valid = std::fs::read_to_string(fixture("good/role.toml")).unwrap();
    let mut garbage: Vec<u8> = b"[[intent]]\nid = \"x.y\"\n".to_vec();
    let mut seed: u32 = 7;
    garbage.extend((0..512).map(|_| {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        (seed >> 16) as u8 | 0x80
    }));
    IntentDir::new()
        .file("role.toml", valid)
        .file(
            "courses.toml",
            std::fs::read(fixture("good/courses.toml")).unwrap(),
        )
        .file(
            "syntax.toml",
            "[[intent]]\nid = \"a.b\"\ntitle = 'never closed\nanswer = \"x\"\n",
        )
        .file("garbage.toml", garbage)
        .file("nul.toml", "\0\0\0[[intent]]\0")
        .file("bom.toml", "\u{feff}[[intent]\n")
}

/// (file, line) of the diagnostics expected from [`broken_dir`], each with a column >= 1.
const BROKEN: [(&str, usize); 4] = [
    ("bom.toml", 1),
    ("garbage.toml", 3),
    ("nul.toml", 1),
    ("syntax.toml", 3),
];

#[track_caller]
fn assert_broken_dir_errors(stderr: &str, dir: &Path) {
    let found = diagnostics(stderr);
    let places: Vec<(String, usize)> = found
        .iter()
        .map(|d| {
            let name = Path::new(&d.path).file_name().unwrap();
            (name.to_string_lossy().into_owned(), d.line)
        })
        .collect();
    let expected: Vec<(String, usize)> = BROKEN.iter().map(|&(f, l)| (f.to_owned(), l)).collect();
    assert_eq!(places, expected, "{stderr}");
    for d in &found {
        assert!(d.col >= 1, "{d:?}");
        assert!(Path::new(&d.path).starts_with(dir), "{d:?}");
    }
    let garbage = found
        .iter()
        .find(|d| d.path.ends_with("garbage.toml"))
        .unwrap();
    assert!(garbage.message.contains("UTF-8"), "{garbage:?}");
    let syntax = found
        .iter()
        .find(|d| d.path.ends_with("syntax.toml"))
        .unwrap();
    assert!(syntax.message.contains("TOML syntax error"), "{syntax:?}");
}

#[test]
fn a_broken_directory_is_refused_by_the_library_with_places() {
    let dir = broken_dir();
    let diagnostics = match Engine::load(
        dir.path(),
        &crate::support::matcher_settings(),
        &crate::support::limits(),
    ) {
        Ok(_) => panic!("a broken directory must not load"),
        Err(diagnostics) => diagnostics,
    };
    let shown: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    assert_broken_dir_errors(&shown.join("\n"), dir.path());
}

#[test]
fn a_broken_directory_exits_1_with_every_error() {
    let dir = broken_dir();
    for run in [
        careerbot(["check"]),
        careerbot(["ask", QUESTION]),
        careerbot(["ask", QUESTION, "--json"]),
        careerbot(["chat"]).stdin(format!("{QUESTION}\n")),
    ] {
        let out = run.with_args(intents_arg(dir.path())).run();
        out.expect_code(1);
        assert_broken_dir_errors(&out.stderr, dir.path());
        assert!(
            !out.stdout.contains("## "),
            "nothing may be answered\n{out}"
        );
    }
}

#[test]
fn hostile_intent_files_are_refused_quickly() {
    let pattern_bomb = support::intents_toml(&[support::IntentToml {
        id: "a.b",
        title: "T",
        examples: &["one", "two", "three", "four", "five"],
        patterns: &[r"\w{1000}{1000}", "(a+)+$"],
        answer: "A",
        ..Default::default()
    }]);
    let deep = format!(
        "[[intent]]\nid = \"a.b\"\nexamples = {}\n",
        "[".repeat(50_000)
    );
    let huge_answer = format!(
        "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nexamples = [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\"]\nanswer = \"{}\"\n",
        "x".repeat(1_000_000)
    );
    for (what, text, line) in [
        ("regex too big", pattern_bomb.as_str(), 6),
        ("deep nesting", deep.as_str(), 3),
        ("huge answer", huge_answer.as_str(), 5),
    ] {
        let dir = IntentDir::new().file("a.toml", text);
        let started = Instant::now();
        let out = careerbot(["check"])
            .with_args(intents_arg(dir.path()))
            .run();
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        out.expect_code(1);
        let found = diagnostics(&out.stderr);
        assert!(
            found
                .iter()
                .any(|d| d.path.ends_with("a.toml") && d.line == line),
            "{what}: expected an error on line {line}\n{out}"
        );
    }
}

#[test]
fn an_empty_directory_is_an_error_not_an_empty_bot() {
    let dir = IntentDir::new().file("notes.txt", "not an intent file");
    let out = careerbot(["ask", QUESTION])
        .with_args(intents_arg(dir.path()))
        .run();
    out.expect_code(1);
    // A problem of the whole directory: `path: message`, with no line or column.
    let expected = format!("{}: no intent found", dir.path().display());
    let found: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(&expected))
        .collect();
    assert_eq!(found.len(), 1, "{out}");
    assert!(diagnostics(&out.stderr).is_empty(), "{out}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_reader_that_goes_away_is_not_a_crash() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    // `careerbot chat < many questions | head -1`: the reader closes after one line.
    let mut child = Command::new(crate::support::bin())
        .args(["chat", "--intents"])
        .arg(crate::support::fixture("good"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start careerbot");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        for _ in 0..5000 {
            if stdin
                .write_all(b"what does a backend engineer do\n")
                .is_err()
            {
                break;
            }
        }
    });
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read one line");
    assert!(!first.is_empty());
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("writer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
