//! Intent files: the plain data an admin writes, read and checked before anything is built.
//!
//! [`load_dir`] reads a directory and [`load_texts`] the same from memory; both collect
//! every problem as a [`Diagnostic`] (`path:line:col: message`) instead of stopping at the
//! first, so an admin fixes a broken edit in one pass. The design choice that matters: the
//! only way to a [`ValidSet`] is through them, so a set that exists has passed every check,
//! its patterns are compiled, and a set with errors never leaves this module (only its
//! diagnostics and counts do, in [`Refused`]).
//!
//! A directory holds four kinds of file, told apart by name (see [`files`]):
//!
//! - `courses.toml`: `[[course]]` tables (`id`, `title`, `provider`, `url`, `topics`,
//!   `level`, `free`, optional `summary`);
//! - `synonyms.toml`: top-level `canonical = ["variant", ...]`;
//! - `lookups.toml` (optional): `[[lookup]]` tables (`class`, `entries`), word classes;
//! - any other `*.toml`: `[[intent]]` tables (`id`, `title`, `answer`, optional `examples`,
//!   `keywords`, `patterns`, `courses`, `follow_ups`, `action`, `decline`).
//!
//! The steps, one module each: [`files`] lists and reads the files, `parse` walks TOML with
//! the position of every key and value, `records` reads each table into data with the
//! checks that need that table only, `check` runs the checks that need the whole set, and
//! `valid` holds the result. [`synthetic`] writes intent files for benchmarks and tests.

mod check;
pub mod files;
mod limits;
mod parse;
mod patterns;
mod records;
pub mod synthetic;
mod valid;

use std::fmt;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};

pub use files::{FileKind, COURSES_FILE, LOOKUPS_FILE, MAX_FILE_BYTES, SYNONYMS_FILE};
pub use limits::Limits;
pub use patterns::{Pattern, PatternError, PatternSet, REGEX_SIZE_LIMIT};
pub use records::{intent_examples, MAX_INTENT_ID};
pub use valid::ValidSet;

/// Longest `title` of an intent or course, in characters (Discord button labels allow 80).
pub const MAX_TITLE_CHARS: usize = 80;
/// Longest `answer`, in characters (a Discord embed description allows 4,096).
pub const MAX_ANSWER_CHARS: usize = 4000;
/// An intent with fewer examples than this gets a warning.
pub const MIN_EXAMPLES_WITHOUT_WARNING: usize = 5;

/// How serious a [`Diagnostic`] is: errors refuse the set, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem found in an intent directory, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    /// 1-based line; 0 when the problem concerns the file or directory as a whole.
    pub line: usize,
    /// 1-based column (in characters); 0 when unknown.
    pub col: usize,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = printable_path(&self.path);
        let tag = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        // A problem of a whole file (unreadable, too large, not UTF-8) has no line.
        if self.line == 0 {
            return write!(f, "{path}: {tag}{}", self.message);
        }
        write!(
            f,
            "{path}:{}:{}: {tag}{}",
            self.line, self.col, self.message
        )
    }
}

/// `path` as it is safe to print on a terminal: control characters (an escape sequence in a
/// file name could rewrite the screen) and the bidirectional overrides (which reorder what
/// follows) are written as `\u{1b}`, `\n`, ...; everything else, accented letters
/// included, as it is.
pub fn printable_path(path: &Path) -> String {
    let name = path.to_string_lossy();
    let unsafe_char =
        |c: char| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    if !name.chars().any(unsafe_char) {
        return name.into_owned();
    }
    name.chars()
        .map(|c| match c {
            c if unsafe_char(c) => c.escape_default().to_string(),
            c => c.to_string(),
        })
        .collect()
}

impl Diagnostic {
    /// An error about a file or directory as a whole (line and column 0, shown as
    /// `path: message`).
    fn whole_file(path: &Path, message: String) -> Diagnostic {
        Diagnostic {
            path: path.to_path_buf(),
            line: 0,
            col: 0,
            severity: Severity::Error,
            message,
        }
    }
}

/// A place in an intent file: path and 1-based line and column (0 when the place is the
/// file as a whole).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
}

/// What an intent's reply does beyond its fixed answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// List the catalog courses that best match the question's topic words.
    SearchCourses,
    /// "Tell me more": in a conversation, show the last answer's `details`, or its related
    /// topics when it has none; alone, the intent's own answer.
    More,
}

/// One intent, as written in an intent file (checked, not yet compiled).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Intent {
    /// `area.name`, lowercase, unique across all files.
    pub id: String,
    pub title: String,
    pub examples: Vec<String>,
    pub keywords: Vec<String>,
    /// Regular expressions (Rust syntax), matched case-insensitively on the cleaned question.
    pub patterns: Vec<Pattern>,
    /// Where each pattern is written (same order as `patterns`).
    pub pattern_locations: Vec<Location>,
    pub answer: String,
    /// A longer text shown when a member asks for more after the answer ("tell me more",
    /// the More button).
    pub details: Option<String>,
    pub courses: Vec<String>,
    pub follow_ups: Vec<String>,
    pub action: Option<Action>,
    /// `decline = true`: the intent names what the bot does not cover; when it wins, its
    /// answer is given as a polite "out of scope" and it is never offered as a choice.
    pub decline: bool,
    /// `listed = false`: conversation around the questions (a greeting, thanks, "tell me
    /// more"), not a topic to list: `/topics` leaves it out.
    pub unlisted: bool,
    /// `code_only = true`: the reply to a message that is only a code block (the first
    /// such intent in file order answers it).
    pub code_only: bool,
    /// `min_confidence = 0.9`: a reply nobody asked for (a watched channel, a forum post)
    /// gives this answer only when at least this sure, if that is stricter than the
    /// channel's bar ([`crate::engine::Engine::unprompted_bar`]).
    pub min_confidence: Option<f32>,
    /// Where the intent's `[[intent]]` table starts.
    pub location: Location,
    /// Where each example is written (same order as `examples`).
    pub example_locations: Vec<Location>,
    /// Where each course reference is written (same order as `courses`).
    pub course_locations: Vec<Location>,
    /// Where each follow-up reference is written (same order as `follow_ups`).
    pub follow_up_locations: Vec<Location>,
}

impl Intent {
    /// Whether `/topics` lists it: neither a decline (what the bot does not answer) nor
    /// `listed = false`.
    pub fn is_topic(&self) -> bool {
        !self.decline && !self.unlisted
    }
}

/// How hard a course is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize, serde::Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Beginner,
    Intermediate,
    Advanced,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Beginner => "beginner",
            Level::Intermediate => "intermediate",
            Level::Advanced => "advanced",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "beginner" => Ok(Level::Beginner),
            "intermediate" => Ok(Level::Intermediate),
            "advanced" => Ok(Level::Advanced),
            other => Err(format!(
                "unknown level `{other}` (expected beginner, intermediate or advanced)"
            )),
        }
    }
}

/// One catalog entry from `courses.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Course {
    pub id: String,
    pub title: String,
    pub provider: String,
    /// Always `https://`.
    pub url: String,
    pub topics: Vec<String>,
    pub level: Level,
    pub free: bool,
    pub summary: Option<String>,
    pub location: Location,
}

/// Other names of a course search term, from `courses.toml`'s `[[alias]]` tables
/// (`term = "kubernetes"`, `aliases = ["k8s"]`): the catalog reads each alias, in courses
/// and questions alike, as its term.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseAlias {
    pub term: String,
    pub aliases: Vec<String>,
    pub location: Location,
}

/// A canonical word and the variants that mean the same (`developer = ["dev", "programmer"]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Synonym {
    pub canonical: String,
    pub variants: Vec<String>,
    pub location: Location,
}

/// A word class of `lookups.toml`: words and phrases that all stand for one class
/// (`occupation = ["nurse", "registered nurse", ...]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// `[a-z0-9_]+`, unique in the file.
    pub class: String,
    /// Each a word or phrase, in no other class.
    pub entries: Vec<String>,
    /// Where the `[[lookup]]` table starts.
    pub location: Location,
    /// Where each entry is written (same order as `entries`).
    pub entry_locations: Vec<Location>,
}

/// Longest `class` name of a lookup, in characters.
pub const MAX_LOOKUP_CLASS: usize = 64;
/// Longest lookup entry, in characters.
pub const MAX_LOOKUP_ENTRY_CHARS: usize = 100;

/// Longest `title` of a course, in characters.
pub const MAX_COURSE_TITLE_CHARS: usize = 100;

/// A directory (or texts) that passed: the valid set and its warnings.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub set: ValidSet,
    /// Sorted by file, line and column; empty when the directory is clean.
    pub warnings: Vec<Diagnostic>,
}

/// A directory (or texts) with errors: every problem found, and how much was read.
#[derive(Debug, Clone)]
pub struct Refused {
    /// Errors and warnings, sorted by file, line and column; at least one is an error.
    pub diagnostics: Vec<Diagnostic>,
    /// What the files held despite the errors (records with an id), for a summary line.
    pub read: Counts,
}

/// How much an intent directory holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub intents: usize,
    pub examples: usize,
    pub courses: usize,
}

/// The form two examples are compared in: lowercase, trimmed, single spaces,
/// without trailing sentence punctuation (`"Is a degree needed?"` = `"is a  degree needed"`).
pub fn normalize_example(text: &str) -> String {
    fold(text)
        .trim_end_matches(|c: char| c.is_whitespace() || ".,;:!?…。？！、".contains(c))
        .to_string()
}

/// Lowercase, trimmed, runs of whitespace made one space.
fn fold(text: &str) -> String {
    text.to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Reads every file of `dir` that [`files::kind_of`] names (sorted by name) and checks the
/// set within `limits`: a [`ValidSet`] with its warnings, or every diagnostic when any is an
/// error. Too many files are refused before any is read, and reading stops at the file that
/// takes the set past its bytes. Never panics: an unreadable directory or file becomes a
/// diagnostic.
pub fn load_dir(dir: &Path, limits: &Limits) -> Result<Loaded, Refused> {
    load_dir_with_texts(dir, limits).map(|(loaded, _)| loaded)
}

/// [`load_dir`], also handing back the files it read, as (file name, text) in load order:
/// exactly the bytes the set was built from, to publish them.
pub fn load_dir_with_texts(
    dir: &Path,
    limits: &Limits,
) -> Result<(Loaded, Vec<(String, String)>), Refused> {
    let files::Listing {
        files,
        problems: mut diags,
    } = match files::list(dir) {
        Ok(listing) => listing,
        Err(err) => {
            let message = format!("cannot read intent directory: {err}");
            return Err(Refused::by(Diagnostic::whole_file(dir, message)));
        }
    };
    let paths: Vec<&Path> = files.iter().map(|(path, _)| path.as_path()).collect();
    limits::check_files(&paths, limits).map_err(Refused::by)?;
    let mut budget = limits::Budget::new(limits);
    let mut texts = Vec::new();
    for (path, kind) in files {
        match files::read_text(&path) {
            Ok(text) => {
                budget.spend(&path, text.len()).map_err(Refused::by)?;
                texts.push((path, kind, text));
            }
            Err(unreadable) => diags.push(unreadable.diagnostic(&path)),
        }
    }
    let named = texts
        .iter()
        .map(|(path, _, text)| {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            (name.into_owned(), text.clone())
        })
        .collect();
    check_texts(dir, texts, diags, limits).map(|loaded| (loaded, named))
}

/// [`load_dir`] on texts instead of files: each `(name, text)` is read as the file
/// `dir/name` would be (its kind told by `name`, and skipped where [`files::kind_of`]
/// would skip that file), in the order given, within the same `limits`. For sets that
/// programs make (see [`synthetic`]) and for tests.
pub fn load_texts<N: AsRef<Path>, T: Into<String>>(
    dir: &Path,
    texts: impl IntoIterator<Item = (N, T)>,
    limits: &Limits,
) -> Result<Loaded, Refused> {
    let texts: Vec<(PathBuf, FileKind, String)> = texts
        .into_iter()
        .filter_map(|(name, text)| {
            let path = dir.join(name);
            let kind = files::kind_of(path.file_name()?)?;
            Some((path, kind, text.into()))
        })
        .collect();
    let paths: Vec<&Path> = texts.iter().map(|(path, _, _)| path.as_path()).collect();
    limits::check_files(&paths, limits).map_err(Refused::by)?;
    let mut budget = limits::Budget::new(limits);
    for (path, _, text) in &texts {
        budget.spend(path, text.len()).map_err(Refused::by)?;
    }
    check_texts(dir, texts, Vec::new(), limits)
}

/// The records of every file, as read before the checks across files. It holds placeholders
/// where a field was broken, so it leaves this module only inside a [`ValidSet`], once the
/// checks found no error.
#[derive(Debug, Clone)]
struct Draft {
    dir: PathBuf,
    intents: Vec<Intent>,
    courses: Vec<Course>,
    course_aliases: Vec<CourseAlias>,
    synonyms: Vec<Synonym>,
    lookups: Vec<Lookup>,
}

/// Parses and checks `texts` (path, kind and contents, in load order) after the problems
/// found reading them (`diags`), within `limits`; compiles the patterns of a set without
/// errors.
fn check_texts(
    dir: &Path,
    texts: Vec<(PathBuf, FileKind, String)>,
    mut diags: Vec<Diagnostic>,
    limits: &Limits,
) -> Result<Loaded, Refused> {
    let mut draft = Draft {
        dir: dir.to_path_buf(),
        intents: Vec::new(),
        courses: Vec::new(),
        course_aliases: Vec::new(),
        synonyms: Vec::new(),
        lookups: Vec::new(),
    };
    let mut digest = Sha1::new();
    for (path, kind, text) in &texts {
        let name = path.file_name().unwrap_or_default();
        // Lengths first, so no two different name/contents splits hash alike.
        for part in [name.as_encoded_bytes(), text.as_bytes()] {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part);
        }
        match kind {
            FileKind::Courses => {
                let (courses, aliases) = records::parse_course_file(path, text, &mut diags);
                draft.courses.extend(courses);
                draft.course_aliases.extend(aliases);
            }
            FileKind::Synonyms => draft
                .synonyms
                .extend(records::parse_synonym_file(path, text, &mut diags)),
            FileKind::Lookups => draft
                .lookups
                .extend(records::parse_lookup_file(path, text, &mut diags)),
            FileKind::Intents => draft.intents.extend(records::parse_intent_file(
                path,
                text,
                limits.max_pattern_chars,
                &mut diags,
            )),
        }
    }
    check::validate(&draft, &mut diags);
    check::counts(&draft, limits, &mut diags);
    let is_error = |d: &Diagnostic| d.severity == Severity::Error;
    // Only a set with no other error is worth compiling.
    let patterns = if diags.iter().any(is_error) {
        None
    } else {
        check::pattern_set(&draft, limits, &mut diags)
    };
    diags.sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    let Some(patterns) = patterns.filter(|_| !diags.iter().any(is_error)) else {
        return Err(Refused {
            diagnostics: diags,
            read: Counts::of(&draft.intents, &draft.courses),
        });
    };
    let digest = digest.finalize()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok(Loaded {
        set: ValidSet::new(draft, patterns, digest),
        warnings: diags,
    })
}

impl Refused {
    /// A refusal for one problem found before any record was read.
    fn by(diagnostic: Diagnostic) -> Refused {
        Refused {
            diagnostics: vec![diagnostic],
            read: Counts::default(),
        }
    }
}

impl Counts {
    fn of(intents: &[Intent], courses: &[Course]) -> Counts {
        Counts {
            intents: intents.len(),
            examples: intents.iter().map(|i| i.examples.len()).sum(),
            courses: courses.len(),
        }
    }
}

/// Texts and fixtures the unit tests of every step share.
#[cfg(test)]
mod samples {
    use std::path::{Path, PathBuf};

    /// A clean intent of 5 lines; cases append their broken line as line 6.
    pub(super) const BASE: &str = "[[intent]]\n\
                        id = \"a.b\"\n\
                        title = \"T\"\n\
                        answer = \"A\"\n\
                        examples = [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\"]\n";
    /// Another clean intent, so that cases on courses/synonyms have a valid directory.
    pub(super) const OTHER: &str = "[[intent]]\n\
                         id = \"c.d\"\n\
                         title = \"T\"\n\
                         answer = \"A\"\n\
                         examples = [\"c1\", \"c2\", \"c3\", \"c4\", \"c5\"]\n";
    /// A clean course of 8 lines.
    pub(super) const COURSE: &str = "[[course]]\n\
                          id = \"c1\"\n\
                          title = \"C\"\n\
                          provider = \"P\"\n\
                          url = \"https://example.org/c\"\n\
                          topics = [\"t\"]\n\
                          level = \"beginner\"\n\
                          free = true\n";

    pub(super) fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::samples::{fixture, BASE, OTHER};
    use super::*;

    #[test]
    fn a_whole_file_problem_is_shown_without_a_position() {
        let path = Path::new("intents/x.toml");
        let whole = Diagnostic::whole_file(path, "not UTF-8".to_owned());
        assert_eq!(whole.to_string(), "intents/x.toml: not UTF-8");
        let placed = Diagnostic {
            line: 3,
            col: 7,
            severity: Severity::Warning,
            ..whole
        };
        assert_eq!(placed.to_string(), "intents/x.toml:3:7: warning: not UTF-8");
    }

    #[test]
    fn printable_path_escapes_controls_and_overrides_only() {
        for (name, shown) in [
            ("intents/a.toml", "intents/a.toml"),
            ("intents/café ü.toml", "intents/café ü.toml"),
            ("evil\u{1b}[2J.toml", "evil\\u{1b}[2J.toml"),
            ("a\nb\tc\r.toml", "a\\nb\\tc\\r.toml"),
            ("\u{7f}\u{9b}.toml", "\\u{7f}\\u{9b}.toml"),
            ("x\u{202e}lmth.toml", "x\\u{202e}lmth.toml"),
        ] {
            assert_eq!(printable_path(Path::new(name)), shown, "{name:?}");
        }
    }

    #[test]
    fn good_fixture_loads_cleanly() {
        let loaded = load_dir(&fixture("good"), &Limits::shipped()).unwrap();
        let shown: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
        assert!(shown.is_empty(), "{shown:#?}");
        assert_eq!(loaded.set.intents().len(), 5);
        assert_eq!(loaded.set.courses().len(), 3);
        assert_eq!(loaded.set.synonyms().len(), 3);
    }

    #[test]
    fn load_dir_collects_errors_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        write("a.toml", format!("{BASE}courses = [\"gone\"]\n").as_bytes());
        write("b.toml", OTHER.replace("c.d", "a.b").as_bytes());
        write("c.toml", b"[[intent]\n");
        write("d.toml", b"x = 1\n\xff\xfe");
        write(".hidden.toml", b"\0garbage");
        write("e.toml~", b"\0garbage");
        write("notes.txt", b"\0garbage");
        std::fs::create_dir(dir.path().join("sub.toml")).unwrap();

        let refused = load_dir(dir.path(), &Limits::shipped()).unwrap_err();
        let got: Vec<(String, usize, usize, String)> = refused
            .diagnostics
            .iter()
            .map(|d| {
                let name = d.path.file_name().unwrap().to_string_lossy().into_owned();
                (name, d.line, d.col, d.message.clone())
            })
            .collect();
        let expect = [
            ("a.toml", 6, 12, "unknown course `gone`"),
            (
                "b.toml",
                1,
                1,
                "duplicate intent id `a.b` (first defined at ",
            ),
            ("c.toml", 1, 9, "TOML syntax error"),
            ("d.toml", 2, 1, "file is not valid UTF-8"),
        ];
        assert_eq!(got.len(), expect.len(), "{got:#?}");
        for (g, (file, line, col, fragment)) in got.iter().zip(expect) {
            assert_eq!((g.0.as_str(), g.1, g.2), (file, line, col), "{got:#?}");
            assert!(g.3.contains(fragment), "{g:?} lacks {fragment}");
        }
        let read = Counts {
            intents: 2,
            examples: 10,
            courses: 0,
        };
        assert_eq!(refused.read, read);
    }

    #[test]
    fn an_unreadable_directory_is_a_diagnostic() {
        let refused =
            load_dir(Path::new("/no/such/careerbot/dir"), &Limits::shipped()).unwrap_err();
        assert_eq!(refused.diagnostics.len(), 1);
        assert!(refused.diagnostics[0]
            .message
            .contains("cannot read intent directory"));
    }

    #[test]
    fn examples_are_compared_loosely() {
        assert_eq!(
            normalize_example("  Is a   Degree needed?! "),
            "is a degree needed"
        );
        assert_eq!(normalize_example("what is c++"), "what is c++");
    }
}
