//! The edges of the binary: input without end (an endless line, `/dev/zero` as a file),
//! a reader that is gone before anything is written, terminals and what reaches them, and
//! `careerbot run` before serenity takes over (signals while the intents load, a gateway
//! lookup that never answers or never ends).
//!
//! A process that should stop is waited for with a deadline and killed after it; one that
//! could run out of memory on a regression runs under an address-space limit (`ulimit -v`),
//! so a failing test fails alone instead of starving the machine.

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::support::discord::FAKE_TOKEN;
use crate::support::{bin, fixture, good_engine, shipped, wait_until, IntentDir};

/// Long enough for a debug build on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(30);
/// The address space a process that reads a bounded amount may use: far above what it
/// needs, far below what an unbounded read of `/dev/zero` takes.
const ADDRESS_SPACE_KIB: u64 = 4 << 20;

/// `careerbot ARGS` from the crate root, in a clean environment, under the address-space
/// limit.
fn careerbot(args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            "ulimit -v {ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""
        ))
        .arg(bin())
        .args(args)
        .current_dir(crate::support::root());
    for (key, _) in std::env::vars_os() {
        let text = key.to_string_lossy();
        if text.starts_with("CAREERBOT") || text == "RUST_LOG" || text == "DISCORD_TOKEN" {
            command.env_remove(&key);
        }
    }
    command
}

/// What a finished process printed, with its status.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            shown(&self.stdout),
            self.stderr
        )
    }
}

/// Runs `command` with `stdin` (from a thread; a closed pipe is ignored) until it exits,
/// or kills it after `within` and fails.
#[track_caller]
fn finish(mut command: Command, stdin: Vec<u8>, within: Duration) -> Finished {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start careerbot");
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let status = wait_for_exit(&mut child, within);
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let _ = writer.join();
    let Some(status) = status else {
        panic!("still running after {within:?}, killed\n--- stderr ---\n{stderr}");
    };
    Finished {
        status,
        stdout,
        stderr,
    }
}

/// Everything `pipe` gives until it closes, read on a thread of its own.
fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = pipe.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// `text`, or its start when it is too long to show in a failure.
fn shown(text: &str) -> String {
    match text.char_indices().nth(2000) {
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
        None => text.to_owned(),
    }
}

/// The exit status of `child`, or `None` (after killing it) when it runs for `within`.
fn wait_for_exit(child: &mut Child, within: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_until(within, || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status
}

// ---------------------------------------------------------------------------
// Input without end (issue 12, finding 7)
// ---------------------------------------------------------------------------

/// The most memory (KiB) a process has held so far, from `/proc`.
fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn chat_answers_a_50_mb_line_with_a_notice_in_bounded_memory_and_goes_on() {
    let skills = good_engine().intent("role.skills").unwrap();
    let mut child = careerbot(&["chat", "--intents"])
        .arg(fixture("good"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // stdin stays open: the process is still there to be measured after both replies.
    let mut input = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let words = "why do I need a degree ".repeat(50 << 20 >> 4);
        input.write_all(&words.as_bytes()[..50 << 20])?;
        input.write_all(b"\nwhich skills do I need\n")?;
        Ok::<_, std::io::Error>(input)
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let mut chunk = [0; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            text.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&text).contains(skills.answer.trim()) {
                break;
            }
        }
        // The pipe is handed back, not dropped: a closed stdout would end the chat at its
        // next prompt (quietly, as a closed pipe should), before its memory is read.
        (String::from_utf8_lossy(&text).into_owned(), stdout)
    });
    let answered = wait_until(WAIT, || reader.is_finished());
    let peak = answered.then(|| peak_kib(child.id()));
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        answered,
        "the question after the long line was not answered in time"
    );
    let (stdout, pipe) = reader.join().unwrap();
    drop(pipe);
    let input = writer.join().unwrap().expect("the whole line was read");
    drop(input);
    let notice = stdout
        .find("too long for a question")
        .unwrap_or_else(|| panic!("no notice:\n{}", shown(&stdout)));
    assert!(notice < stdout.find(skills.answer.trim()).unwrap());
    assert_eq!(
        stdout.matches("## ").count(),
        1,
        "only the second line is answered"
    );
    // The line alone is 50 MiB; the chat holds at most 16 KB of it.
    let peak = peak.unwrap();
    assert!(peak < 40 << 10, "peak memory {peak} KiB");
}

#[test]
fn eval_and_the_reload_gate_refuse_an_endless_cases_file_naming_it_and_the_limit() {
    let good = fixture("good");
    let good = good.to_str().unwrap();
    let out = finish(
        careerbot(&["eval", "/dev/zero", "--intents", good]),
        Vec::new(),
        WAIT,
    );
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        out.stderr.contains("/dev/zero") && out.stderr.contains("64 MiB"),
        "{out}"
    );
    // The gate judges the first set, so `chat` reads its cases before the first question.
    let mut chat = careerbot(&["chat", "--intents", good]);
    chat.env("CAREERBOT_ADMIN__RELOAD_GATE__CASES", "/dev/zero");
    let out = finish(chat, b"which skills do I need\n".to_vec(), WAIT);
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(
        out.stderr.contains("/dev/zero") && out.stderr.contains("64 MiB"),
        "{out}"
    );
    assert!(out.stdout.is_empty(), "{out}");
}

// ---------------------------------------------------------------------------
// Output and terminals (issue 12, finding 10)
// ---------------------------------------------------------------------------

#[test]
fn a_reader_gone_before_the_first_byte_ends_ask_courses_check_and_chat_quietly() {
    let good = fixture("good");
    let good = good.to_str().unwrap();
    for args in [
        &["ask", "which skills do I need"][..],
        &["ask", "which skills do I need", "--json"],
        &["courses"],
        &["courses", "--json"],
        &["check"],
        &["chat"],
    ] {
        let mut command = careerbot(args);
        command.args(["--intents", good]);
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -c0`: the read end is closed before anything is written, so every write
        // meets a closed pipe.
        drop(child.stdout.take());
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"which skills do I need\nwhat does a backend engineer do\n");
        drop(stdin);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = wait_for_exit(&mut child, WAIT).expect("it ends");
        assert!(status.success(), "{args:?}: {status:?}\n{stderr}");
        if args[0] == "check" {
            // Warnings about the intents go to stderr; nothing about the pipe may.
            assert!(
                !stderr.contains("error") && !stderr.contains("pipe"),
                "{stderr}"
            );
        } else {
            assert_eq!(stderr, "", "{args:?}");
        }
    }
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() {
    let mut run = careerbot(&["run", "--intents"]);
    run.arg(shipped())
        .env("DISCORD_TOKEN", FAKE_TOKEN)
        // Nothing listens on port 9: the lookup fails at once, after a few log lines.
        .env("CAREERBOT_DISCORD__API_BASE", "http://127.0.0.1:9")
        .env("CAREERBOT_ADMIN__DATABASE", "")
        .env("RUST_LOG", "careerbot=info");
    let out = finish(run, Vec::new(), WAIT);
    assert!(out.stderr.contains("INFO"), "no log line\n{out}");
    assert!(
        !out.stderr.contains('\x1b'),
        "colour codes\n{out:?}",
        out = out.stderr
    );
}

#[test]
fn check_prints_control_characters_of_file_names_escaped_and_letters_as_they_are() {
    let dir = IntentDir::new()
        .file("evil\x1b[2J\x07.toml", "[[intent]]\nid = \n")
        .file("café.toml", "[[intent]]\nid = \n");
    let out = finish(
        careerbot(&["check", "--intents", dir.path().to_str().unwrap()]),
        Vec::new(),
        WAIT,
    );
    assert_eq!(out.status.code(), Some(1), "{out}");
    assert!(!out.stderr.contains(['\x1b', '\x07']), "{:?}", out.stderr);
    assert!(
        out.stderr.contains("evil\\u{1b}[2J\\u{7}.toml:2:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("café.toml:2:"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------
// `careerbot run` before serenity takes over (issue 12, finding 8)
// ---------------------------------------------------------------------------

/// `careerbot run` on the shipped intents against `api_base`, logging at info into `log`.
fn run_bot(api_base: &str, log: &Path) -> Command {
    let mut command = careerbot(&["run", "--intents"]);
    command
        .arg(shipped())
        .env("DISCORD_TOKEN", FAKE_TOKEN)
        .env("CAREERBOT_DISCORD__API_BASE", api_base)
        .env("CAREERBOT_ADMIN__DATABASE", "")
        .env("RUST_LOG", "careerbot=info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    command
}

/// Opens the FIFO `path` for writing without waiting: it succeeds only once a reader has
/// it open (`ENXIO` before).
#[cfg(target_os = "linux")]
fn open_fifo_writer(path: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    const O_NONBLOCK: i32 = 0o4000;
    std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .ok()
}

/// Sends `signal` (`TERM`, `HUP`, ...) to `child`.
fn kill(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

#[test]
#[cfg(target_os = "linux")]
fn a_signal_while_the_intents_load_stops_run_cleanly() {
    // The reload gate judges the first set while `run` loads it. Its cases file is a FIFO
    // that the test opens and never writes: the gate's read waits, so the loading holds,
    // for as long as the test wants and no longer.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("cases.jsonl");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let log = dir.path().join("bot.log");
    // Nothing needs to answer: the bot never gets as far as connecting.
    for signals in [&["TERM"][..], &["INT"], &["HUP", "TERM"]] {
        let mut child = run_bot("http://127.0.0.1:9", &log)
            .env("CAREERBOT_ADMIN__RELOAD_GATE__CASES", &fifo)
            .spawn()
            .unwrap();
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        let mut writer = None;
        let reading = wait_until(WAIT, || {
            writer = open_fifo_writer(&fifo);
            writer.is_some()
        });
        assert!(reading, "the gate never opened its cases\n{}", read());
        for signal in signals {
            kill(&child, signal);
        }
        let status = wait_for_exit(&mut child, WAIT);
        drop(writer);
        let status = status.unwrap_or_else(|| panic!("{signals:?} ignored\n{}", read()));
        assert!(status.success(), "{signals:?}: {status:?}\n{}", read());
        assert!(
            read().contains("shutting down while loading the intents"),
            "{signals:?}\n{}",
            read()
        );
    }
}

/// The one line `run` printed on stderr, which must name the API and say `what`.
#[track_caller]
fn assert_one_line_error(log: &str, what: &str) {
    let lines: Vec<&str> = log.lines().filter(|l| !l.contains(" INFO ")).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].starts_with("error: cannot reach the Discord API at http://127.0.0.1:")
            && lines[0].contains(what),
        "{log}"
    );
}

#[test]
fn a_gateway_lookup_that_never_answers_stops_run_with_one_line() {
    // Accepts connections (the kernel does, into the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bot.log");
    let mut child = run_bot(&format!("http://{}", silent.local_addr().unwrap()), &log)
        .env("CAREERBOT_DISCORD__REQUEST_TIMEOUT_SECONDS", "1")
        .spawn()
        .unwrap();
    let status = wait_for_exit(&mut child, WAIT);
    let log = std::fs::read_to_string(&log).unwrap();
    let status = status.unwrap_or_else(|| panic!("still waiting for the lookup\n{log}"));
    assert_eq!(status.code(), Some(1), "{log}");
    assert_one_line_error(&log, "1 s");
}

#[test]
fn a_gateway_lookup_with_an_endless_answer_stops_run_with_one_line_having_read_little() {
    // Answers 200 with a body that goes on (up to 256 MiB, then silence), counting what it
    // could send before the bot hung up.
    let server = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = server.local_addr().unwrap();
    let sent = std::thread::spawn(move || {
        let (mut stream, _) = server.accept().unwrap();
        let mut request = [0; 4096];
        let _ = stream.read(&mut request);
        let mut sent = 0_usize;
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n{\"url\": \"";
        if stream.write_all(head).is_err() {
            return sent;
        }
        let chunk = vec![b'a'; 64 << 10];
        while sent < 256 << 20 {
            if stream.write_all(&chunk).is_err() {
                return sent;
            }
            sent += chunk.len();
        }
        // Then silence until the bot hangs up.
        let _ = stream.read(&mut request);
        sent
    });
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("bot.log");
    let mut child = run_bot(&format!("http://{address}"), &log).spawn().unwrap();
    let status = wait_for_exit(&mut child, WAIT);
    let log = std::fs::read_to_string(&log).unwrap();
    let status = status.unwrap_or_else(|| panic!("still reading the lookup's answer\n{log}"));
    assert_eq!(status.code(), Some(1), "{log}");
    assert_one_line_error(&log, "64 KiB");
    // What the server got out before the bot hung up: what the bot read (64 KiB) and what
    // the sockets' buffers held, not the whole answer.
    let sent = sent.join().unwrap();
    assert!(sent < 64 << 20, "{sent} bytes sent");
}
