//! `careerbot chat`: the offline conversation in the terminal.
//!
//! Each line is a question. A number picks one of the choices the last reply offered
//! (a "did you mean" candidate, a suggestion or a related topic), as buttons do on
//! Discord. Lines starting with `/` are commands (`/help`). When stdin is not a terminal
//! no prompt is printed, so the conversation can be scripted.
//!
//! The session is one conversation: a follow-up ("what about docker?", "tell me more") is
//! read against the last answer for `[conversation] context_minutes`.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use crate::admin::reload::Reloader;
use crate::admin::watch::{Change, Watch};
use crate::bot::limits::QUESTION;
use crate::config::Settings;
use crate::engine::catalog::CourseFilter;
use crate::engine::context::Memory;
use crate::engine::matcher::Decision;
use crate::engine::Reply;

use super::render;

const HELP: &str = "Ask a question in plain words. Also:
  <number>        open one of the numbered choices of the last reply
  /topics         list what I can answer
  /course <words> search the course catalog
  /why            explain the last decision
  /quit           leave (or Ctrl-D)";

/// Runs the conversation until end of input or `/quit`. Each question is answered by the
/// set `reloader` serves at that moment (it may be reloaded meanwhile).
pub fn run(
    reloader: &Reloader,
    settings: &Settings,
    mut input: impl BufRead,
    mut out: impl Write,
) -> anyhow::Result<()> {
    let words = &settings.replies;
    // The session is the one conversation this memory holds.
    const SESSION: u64 = 0;
    let mut memory = Memory::new(settings.conversation.ttl(), 1);
    let rule = settings.conversation.rule();
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if interactive {
        writeln!(
            out,
            "careerbot: {} topics loaded. Type a question, or /help.",
            reloader.served().engine.intents().len()
        )?;
    }
    let mut choices: Vec<String> = Vec::new();
    let mut last: Option<Reply> = None;
    let prompt = |out: &mut dyn Write| -> std::io::Result<()> {
        if interactive {
            write!(out, "> ")?;
            out.flush()?;
        }
        Ok(())
    };
    prompt(&mut out)?;
    let mut bytes = Vec::new();
    while let Some(fits) = read_line(&mut input, &mut bytes, MAX_LINE_BYTES)? {
        // A line that is not valid UTF-8 is answered like any other text.
        let line = String::from_utf8_lossy(&bytes);
        let line = line.trim();
        if !fits || line.chars().count() > QUESTION {
            writeln!(
                out,
                "That is too long for a question (at most {QUESTION} characters). Please ask \
                 it in fewer words.\n"
            )?;
            prompt(&mut out)?;
            continue;
        }
        let served = reloader.served();
        let engine = &served.engine;
        if line.is_empty() {
            prompt(&mut out)?;
            continue;
        }
        let reply = match line
            .split_once(' ')
            .map_or((line, ""), |(c, r)| (c, r.trim()))
        {
            ("/quit" | "/exit", _) => break,
            ("/help", _) => {
                writeln!(out, "{HELP}")?;
                None
            }
            ("/topics", _) => {
                let topics = || engine.intents_as_written().filter(|i| i.is_topic());
                choices = topics().map(|i| i.id.clone()).collect();
                for (n, intent) in topics().enumerate() {
                    writeln!(out, "  {}. {}", n + 1, intent.title)?;
                }
                None
            }
            ("/course" | "/courses", query) => {
                let hits = engine.catalog().search(query, &CourseFilter::default(), 10);
                if hits.is_empty() {
                    writeln!(out, "No course matches {query:?}.")?;
                }
                for hit in hits {
                    writeln!(out, "  - {}", render::course_line(hit.course))?;
                }
                None
            }
            ("/why", _) => {
                match &last {
                    Some(reply) => {
                        writeln!(out, "{}", reply.explanation.summary)?;
                        if let Some(context) = &reply.explanation.context {
                            writeln!(out, "({context})")?;
                        }
                    }
                    None => writeln!(out, "Ask something first.")?,
                }
                None
            }
            _ => {
                let now = std::time::Instant::now();
                let turn = memory.last(SESSION, now);
                let (reply, next) = match line.parse::<usize>() {
                    Ok(n) if (1..=choices.len()).contains(&n) => {
                        let id = &choices[n - 1];
                        (engine.reply_for(id), engine.turn_for(id).or(turn))
                    }
                    _ => {
                        let reply = engine.reply_after(line, turn.as_ref(), &rule);
                        let next = engine.turn_after(line, &reply, turn.as_ref());
                        (Some(reply), next)
                    }
                };
                match next {
                    Some(next) => memory.remember(SESSION, next, now),
                    None => memory.forget(SESSION),
                }
                reply
            }
        };
        if let Some(reply) = reply {
            writeln!(out, "{}", render::reply(engine, words, &reply))?;
            choices = offered_choices(&reply);
            last = Some(reply);
        }
        writeln!(out)?;
        prompt(&mut out)?;
    }
    Ok(())
}

/// The longest line kept, in bytes: [`QUESTION`] characters of up to 4 bytes each.
const MAX_LINE_BYTES: usize = 4 * QUESTION;

/// Reads one line (without its `\n`) into `line`, keeping at most `cap` bytes: the rest of
/// a longer line is read and dropped, so memory stays bounded whatever the input.
/// `None` at the end of input; `Some(false)` when the line was longer than `cap`.
fn read_line(
    input: &mut impl BufRead,
    line: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<bool>> {
    line.clear();
    let (mut read_any, mut fits) = (false, true);
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(read_any.then_some(fits));
        }
        read_any = true;
        let (chunk, ended) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..end], true),
            None => (available, false),
        };
        let room = cap.saturating_sub(line.len());
        fits &= chunk.len() <= room;
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len() + usize::from(ended);
        input.consume(used);
        if ended {
            return Ok(Some(fits));
        }
    }
}

/// The intents a reply offers as numbered choices.
fn offered_choices(reply: &Reply) -> Vec<String> {
    if let Some(also) = &reply.also {
        return offered_choices(also);
    }
    match reply.decision {
        Decision::Answer | Decision::Decline => reply.follow_ups.clone(),
        Decision::Clarify | Decision::Fallback => {
            reply.candidates.iter().map(|c| c.intent.clone()).collect()
        }
    }
}

/// Reloads the chat's intents when their files change (`admin.watch`), reporting on stderr
/// so a scripted conversation's stdout stays clean: a refused set is reported once and the
/// previous set keeps answering. A replaced directory (a deploy) is said and reloaded; a
/// removed one is said, and the previous set keeps answering until it is back.
pub fn watch(reloader: &Arc<Reloader>, settings: &Settings) -> Option<Watch> {
    if !settings.admin.watch {
        return None;
    }
    let debounce = settings.admin.watch_debounce;
    let watched = Arc::clone(reloader);
    let result = crate::admin::watch::watch(reloader.dir(), debounce, move |change| {
        let dir = watched.dir().display();
        match change {
            Change::Files => {}
            Change::Replaced => {
                eprintln!("careerbot: intents directory {dir} was replaced; watching the new one");
            }
            Change::Missing => {
                eprintln!(
                    "careerbot: intents directory {dir} is gone; still answering with the previous intents until it is back"
                );
                return;
            }
        }
        reload(&watched);
    });
    match result {
        Ok(watch) => Some(watch),
        Err(error) => {
            eprintln!("careerbot: not watching the intents: {error:#}");
            None
        }
    }
}

/// Reloads and says how it went on stderr.
fn reload(reloader: &Reloader) {
    match reloader.reload() {
        Ok(done) if done.unchanged => eprintln!(
            "careerbot: intents unchanged ({} topics in service)",
            done.intents
        ),
        Ok(done) => eprintln!(
            "careerbot: intents reloaded ({} topics, {} ms)",
            done.intents,
            done.took.as_millis()
        ),
        Err(refusal) => {
            if reloader.first_time(&refusal) {
                eprintln!(
                    "careerbot: reload refused, still answering with the previous intents: {}",
                    refusal.text()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_line_keeps_at_most_cap_bytes_and_drops_the_rest_of_the_line() {
        // (input, cap, lines as (kept, fits)); a 2-byte buffer splits every line.
        for (input, cap, expected) in [
            ("", 3, vec![]),
            ("\n", 3, vec![("", true)]),
            ("ab\ncd", 3, vec![("ab", true), ("cd", true)]),
            ("abc\n", 3, vec![("abc", true)]),
            ("abcd\nxy\n", 3, vec![("abc", false), ("xy", true)]),
            ("abcdefgh", 3, vec![("abc", false)]),
            ("\n\nab", 0, vec![("", true), ("", true), ("", false)]),
        ] {
            let mut reader = std::io::BufReader::with_capacity(2, input.as_bytes());
            let mut line = Vec::new();
            let mut got = Vec::new();
            while let Some(fits) = read_line(&mut reader, &mut line, cap).unwrap() {
                got.push((String::from_utf8(line.clone()).unwrap(), fits));
            }
            let expected: Vec<(String, bool)> = expected
                .into_iter()
                .map(|(s, f)| (s.to_owned(), f))
                .collect();
            assert_eq!(got, expected, "{input:?} cap {cap}");
        }
    }
}
