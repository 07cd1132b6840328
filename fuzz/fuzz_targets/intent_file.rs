//! The intent loader (`load_texts`: TOML parsing, every per-table and whole-set check,
//! patterns compiled) on one fuzzed file among the fixed valid files of
//! `tests/fixtures/good`, so checks across files (course and follow-up references, duplicate
//! ids) run too. No panic; every diagnostic points inside its file; a refused set has an
//! error. Time and memory are bounded by libFuzzer's `-timeout` and `-rss_limit_mb`.
//!
//! The first byte chooses the file and the mode: bits 0-1 which file (an intent file, twice
//! as often, the courses or the synonyms), bit 2 whether the rest of the input replaces
//! that file or is spliced into its valid text (at the offset the next two bytes give), so
//! that mutations land inside well-formed TOML as well as in arbitrary text.

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use careerbot::config::Settings;
use careerbot::engine::intents::{load_texts, Diagnostic, Limits, Severity};
use libfuzzer_sys::fuzz_target;

mod good;
use good::FILES;

/// Which of `FILES` the first byte's two low bits pick (the intent file `role.toml` for two
/// of the four values).
const CHOICE: [usize; 4] = [2, 2, 0, 3];

/// The shipped `[limits]`, read once.
static LIMITS: LazyLock<Limits> = LazyLock::new(|| Settings::defaults().limits);

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let chosen = CHOICE[usize::from(control & 3)];
    let seed = FILES[chosen].1;
    let text = if control & 4 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        let (at, insert) = match rest {
            [hi, lo, insert @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), insert),
            _ => (0, &[][..]),
        };
        let mut at = at % (seed.len() + 1);
        while !seed.is_char_boundary(at) {
            at -= 1;
        }
        let mut text = seed[..at].to_owned();
        text.push_str(&String::from_utf8_lossy(insert));
        text.push_str(&seed[at..]);
        text
    };
    let mut files: Vec<(&str, &str)> = FILES.to_vec();
    files[chosen].1 = &text;

    let dir = Path::new("good");
    match load_texts(dir, files.iter().copied(), &LIMITS) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                assert_eq!(warning.severity, Severity::Warning, "{warning}");
                check_place(warning, dir, &files);
            }
            assert!(!loaded.set.intents().is_empty());
        }
        Err(refused) => {
            let diagnostics = &refused.diagnostics;
            assert!(diagnostics.iter().any(|d| d.severity == Severity::Error));
            for diagnostic in diagnostics {
                check_place(diagnostic, dir, &files);
            }
        }
    }
});

/// A diagnostic names the directory (as a whole) or one of the files, and its line and column (when it has them) are a
/// place in that file: a line it has, at most one column past that line's last character.
fn check_place(diagnostic: &Diagnostic, dir: &Path, files: &[(&str, &str)]) {
    let shown = diagnostic.to_string();
    if diagnostic.path == dir {
        assert_eq!((diagnostic.line, diagnostic.col), (0, 0), "{shown}");
        return;
    }
    let text = files
        .iter()
        .find(|(name, _)| diagnostic.path == dir.join(name))
        .map(|(_, text)| *text)
        .unwrap_or_else(|| panic!("a diagnostic about no file: {shown}"));
    if diagnostic.line == 0 {
        assert_eq!(diagnostic.col, 0, "{shown}");
        return;
    }
    let line = text
        .split('\n')
        .nth(diagnostic.line - 1)
        .unwrap_or_else(|| panic!("line past the end: {shown}"));
    let line = line
        .strip_prefix('\u{feff}')
        .filter(|_| diagnostic.line == 1)
        .unwrap_or(line);
    assert!(
        (1..=line.chars().count() + 1).contains(&diagnostic.col),
        "column outside line {:?}: {shown}",
        line
    );
}
