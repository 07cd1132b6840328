//! Bounds on what one intent set may hold (the `[limits]` table of the config).
//!
//! Every cost of a set (reading, checking, compiling the patterns, training, answering)
//! grows with what it holds, and an admin's save reaches all of them. The design choice
//! that matters: each bound is checked before the work it protects, as cheaply as the
//! thing can be counted (files before they are read, bytes as they are read, a pattern's
//! length before it is compiled, the set's patterns together before the matcher exists),
//! so a set past a limit is refused quickly, with the first item past it named, and the
//! set in service keeps answering.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Diagnostic;

/// The bounds of one intent set. Callers pass them in (from config); the loader refuses a
/// set past any of them. Each is documented, with its default and allowed range, in
/// `config/default.toml`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most files the loader reads from one directory.
    pub max_files: usize,
    /// Most bytes of all read files together.
    pub max_set_bytes: u64,
    /// Most `[[intent]]` tables in the set.
    pub max_intents: usize,
    /// Most `examples` of all intents together.
    pub max_examples: usize,
    /// Most `patterns` of all intents together.
    pub max_patterns: usize,
    /// Longest single pattern, in characters; checked before it is compiled.
    pub max_pattern_chars: usize,
    /// Most bytes the set's patterns may compile to together, as the regex engine counts
    /// its compiled program (one pattern alone stays under
    /// [`super::REGEX_SIZE_LIMIT`]).
    pub max_compiled_pattern_bytes: usize,
    /// Most `entries` of all `[[lookup]]` classes together.
    pub max_lookup_entries: usize,
}

impl Limits {
    /// No bound at all: for benchmarks that measure sets larger than any served one.
    pub const UNBOUNDED: Limits = Limits {
        max_files: usize::MAX,
        max_set_bytes: u64::MAX,
        max_intents: usize::MAX,
        max_examples: usize::MAX,
        max_patterns: usize::MAX,
        max_pattern_chars: usize::MAX,
        max_compiled_pattern_bytes: usize::MAX,
        max_lookup_entries: usize::MAX,
    };
}

/// The end of a limit's message: which setting it is and its value.
pub(super) fn setting(key: &str, value: impl std::fmt::Display) -> String {
    format!("[limits] {key} = {value}")
}

/// `Err` at the first file past `limits.max_files` when `paths` (the files to read, in
/// load order) are too many: checked before any is read.
pub(super) fn check_files(paths: &[&Path], limits: &Limits) -> Result<(), Diagnostic> {
    let max = limits.max_files;
    match paths.get(max) {
        Some(first_past) => Err(Diagnostic::whole_file(
            first_past,
            format!(
                "too many intent files: {} in the directory, at most {} ({}); this is the \
                 first past the limit",
                paths.len(),
                max,
                setting("max_files", max)
            ),
        )),
        None => Ok(()),
    }
}

/// The bytes read so far, against `limits.max_set_bytes`.
pub(super) struct Budget {
    read: u64,
    max: u64,
}

impl Budget {
    pub(super) fn new(limits: &Limits) -> Budget {
        Budget {
            read: 0,
            max: limits.max_set_bytes,
        }
    }

    /// Counts the `bytes` of the file `path`; `Err` at that file when they take the set
    /// past its limit (nothing after it is read).
    pub(super) fn spend(&mut self, path: &Path, bytes: usize) -> Result<(), Diagnostic> {
        self.read = self.read.saturating_add(bytes as u64);
        if self.read <= self.max {
            return Ok(());
        }
        Err(Diagnostic::whole_file(
            path,
            format!(
                "the intent files are too large: {} bytes up to this one, at most {} \
                 together ({}); reading stopped here",
                self.read,
                self.max,
                setting("max_set_bytes", self.max)
            ),
        ))
    }
}

#[cfg(test)]
impl Limits {
    /// The shipped defaults, for unit tests.
    pub(crate) fn shipped() -> Limits {
        crate::config::Settings::defaults().limits
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::samples::{BASE, OTHER};
    use super::super::{load_dir, load_texts, Refused};
    use super::*;

    /// Files of a case, as (name, text).
    type Files = Vec<(&'static str, String)>;
    /// Where a diagnostic points: file name, line, column.
    type Place = (&'static str, usize, usize);

    /// BASE with `patterns` added.
    fn with_patterns(patterns: &[&str]) -> String {
        let quoted: Vec<String> = patterns.iter().map(|p| format!("'{p}'")).collect();
        format!("{BASE}patterns = [{}]\n", quoted.join(", "))
    }

    /// The refusal of `files` under `limits`, after checking that the shipped limits
    /// accept them (so the limit is what refuses).
    fn refused(files: &[(&str, String)], limits: Limits) -> Refused {
        let texts = || files.iter().map(|(name, text)| (*name, text.as_str()));
        if let Err(refused) = load_texts(Path::new("dir"), texts(), &Limits::shipped()) {
            panic!("{:#?}", refused.diagnostics);
        }
        load_texts(Path::new("dir"), texts(), &limits).unwrap_err()
    }

    #[test]
    fn each_limit_refuses_at_the_first_item_past_it() {
        let two = || vec![("a.toml", BASE.to_owned()), ("b.toml", OTHER.to_owned())];
        let bytes = (BASE.len() + OTHER.len() - 1) as u64;
        let small_patterns: Vec<String> = (0..40).map(|i| format!("[a-z]{{18}}q{i}")).collect();
        let small_patterns: Vec<&str> = small_patterns.iter().map(String::as_str).collect();
        let one_line = |n: usize| with_patterns(&small_patterns[..n]);
        // (limits, files, expected place (file, line, col) and message)
        let cases: Vec<(Limits, Files, Place, &str)> = vec![
            (
                Limits { max_files: 1, ..Limits::shipped() },
                two(),
                ("b.toml", 0, 0),
                "too many intent files: 2 in the directory, at most 1 ([limits] max_files = 1)",
            ),
            (
                Limits { max_set_bytes: bytes, ..Limits::shipped() },
                two(),
                ("b.toml", 0, 0),
                "the intent files are too large",
            ),
            (
                Limits { max_intents: 1, ..Limits::shipped() },
                two(),
                ("b.toml", 1, 1),
                "too many intents: 2 in the set, at most 1 ([limits] max_intents = 1)",
            ),
            (
                Limits { max_examples: 7, ..Limits::shipped() },
                two(),
                // The third example of the second file.
                ("b.toml", 5, 25),
                "too many examples: 10 in the set, at most 7 ([limits] max_examples = 7)",
            ),
            (
                Limits { max_patterns: 1, ..Limits::shipped() },
                vec![("a.toml", with_patterns(&["x", "y"]))],
                ("a.toml", 6, 18),
                "too many patterns: 2 in the set, at most 1 ([limits] max_patterns = 1)",
            ),
            (
                Limits { max_pattern_chars: 3, ..Limits::shipped() },
                vec![("a.toml", with_patterns(&["abc", "abcd"]))],
                ("a.toml", 6, 20),
                "regex in `patterns` is too long: 4 characters (at most [limits] max_pattern_chars = 3",
            ),
            (
                Limits { max_lookup_entries: 2, ..Limits::shipped() },
                vec![
                    ("a.toml", BASE.to_owned()),
                    (
                        "lookups.toml",
                        "[[lookup]]\nclass = \"a\"\nentries = [\"p\"]\n\n[[lookup]]\nclass = \"b\"\nentries = [\"q\", \"r\"]\n".to_owned(),
                    ),
                ],
                // The second entry of the second class.
                ("lookups.toml", 7, 17),
                "too many lookup entries: 3 in the set, at most 2 ([limits] max_lookup_entries = 2)",
            ),
        ];
        for (limits, files, (file, line, col), message) in cases {
            let refused = refused(&files, limits);
            let shown: Vec<String> = refused.diagnostics.iter().map(|d| d.to_string()).collect();
            assert_eq!(refused.diagnostics.len(), 1, "{shown:#?}");
            let d = &refused.diagnostics[0];
            assert_eq!(
                (&d.path, d.line, d.col),
                (&Path::new("dir").join(file), line, col),
                "{shown:#?}"
            );
            assert!(d.message.contains(message), "{shown:#?}");
        }

        // The total compiled size: 40 patterns that fit alone, not together (two fit in
        // `max`, three cannot). The first past the limit is the third.
        let weight = super::super::patterns::tests::pattern(small_patterns[0]).weight();
        let max = weight * 2 + weight / 2;
        let limits = Limits {
            max_compiled_pattern_bytes: max,
            ..Limits::shipped()
        };
        let refused = refused(&[("a.toml", one_line(40))], limits);
        let d = &refused.diagnostics[0];
        assert_eq!((refused.diagnostics.len(), d.line), (1, 6), "{d}");
        // `'[a-z]{18}qN', ` is 15 characters for N < 10.
        assert_eq!(d.col, 13 + 30, "{d}");
        let setting = format!("max_compiled_pattern_bytes = {max}");
        assert!(d.message.contains(&setting), "{d}");
        // And a set that fits, fits.
        assert!(load_texts(Path::new("dir"), [("a.toml", one_line(1))], &limits).is_ok());
    }

    #[test]
    fn a_4_mb_pattern_is_refused_by_its_length() {
        let text = format!("{BASE}patterns = ['{}']\n", "a".repeat(4 << 20));
        // The file alone is past the shipped bytes: this is the pattern's own limit.
        let limits = Limits {
            max_set_bytes: 64 << 20,
            ..Limits::shipped()
        };
        let refused = load_texts(Path::new("dir"), [("a.toml", text)], &limits).unwrap_err();
        let shown: Vec<String> = refused.diagnostics.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            shown,
            [
                "dir/a.toml:6:13: regex in `patterns` is too long: 4194304 characters (at most \
              [limits] max_pattern_chars = 1000; it is not compiled)"
            ]
        );
    }

    #[test]
    fn too_many_files_are_refused_before_any_is_read() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.toml", "b.toml", "c.toml"] {
            // Not UTF-8: reading any of them would be an error of its own.
            std::fs::write(dir.path().join(name), b"\xff").unwrap();
        }
        let limits = Limits {
            max_files: 2,
            ..Limits::shipped()
        };
        let refused = load_dir(dir.path(), &limits).unwrap_err();
        let paths: Vec<PathBuf> = refused.diagnostics.iter().map(|d| d.path.clone()).collect();
        assert_eq!(paths, [dir.path().join("c.toml")]);
        assert!(refused.diagnostics[0]
            .message
            .contains("too many intent files: 3"));
    }
}
