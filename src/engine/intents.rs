//! Intent files: the plain data an admin writes, read and checked before anything is built.
//!
//! `load_dir` reads every `*.toml` in a directory and `parse_*` turn one file's text into
//! data; all of them collect every problem as a [`Diagnostic`] (`path:line:col: message`)
//! instead of stopping at the first, so an admin fixes a broken edit in one pass.
//! Nothing here compiles a matcher: a set is compiled only once it has no errors.
//!
//! A directory holds three kinds of file, told apart by name:
//!
//! - `courses.toml`: `[[course]]` tables (`id`, `title`, `provider`, `url`, `topics`,
//!   `level`, `free`, optional `summary`);
//! - `synonyms.toml`: top-level `canonical = ["variant", ...]`;
//! - any other `*.toml`: `[[intent]]` tables (`id`, `title`, `answer`, optional `examples`,
//!   `keywords`, `patterns`, `courses`, `follow_ups`, `action`).
//!
//! How it works: a file is parsed with `toml_edit::ImDocument`, which keeps the byte span
//! of every key and value; each table is then walked field by field, so every unknown key,
//! missing field or bad value is reported with its own line and column. Checks that need
//! one table only happen while reading it (`parse_*`); checks that need the whole set
//! (unique ids, references, an example claimed by two intents) happen in [`validate`].

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};
use toml_edit::{ImDocument, Item, TableLike, Value};

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
        let path = self.path.display();
        let tag = match self.severity {
            Severity::Error => "",
            Severity::Warning => "warning: ",
        };
        write!(
            f,
            "{path}:{}:{}: {tag}{}",
            self.line, self.col, self.message
        )
    }
}

/// Where a piece of data came from: file and 1-based line/column.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
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
    pub patterns: Vec<String>,
    pub answer: String,
    pub courses: Vec<String>,
    pub follow_ups: Vec<String>,
    pub action: Option<Action>,
    /// Where the intent's `[[intent]]` table starts.
    pub origin: Origin,
    /// Where each example is written (same order as `examples`).
    pub example_origins: Vec<Origin>,
    /// Where each course reference is written (same order as `courses`).
    pub course_origins: Vec<Origin>,
    /// Where each follow-up reference is written (same order as `follow_ups`).
    pub follow_up_origins: Vec<Origin>,
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
    pub origin: Origin,
}

/// A canonical word and the variants that mean the same (`developer = ["dev", "programmer"]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Synonym {
    pub canonical: String,
    pub variants: Vec<String>,
    pub origin: Origin,
}

/// Everything in an intent directory, fully validated.
#[derive(Debug, Clone, Default)]
pub struct IntentSet {
    pub dir: PathBuf,
    pub intents: Vec<Intent>,
    pub courses: Vec<Course>,
    pub synonyms: Vec<Synonym>,
    /// 16 hex digits identifying the bytes the set was read from: SHA-1 over every file's
    /// name and contents, in load order (empty for a set not read from files). Stable across
    /// builds and machines, so stored records can name the set that answered them.
    pub digest: String,
}

// ---------------------------------------------------------------------------
// Limits and file names
// ---------------------------------------------------------------------------

/// Longest `title` of a course, in characters.
pub const MAX_COURSE_TITLE_CHARS: usize = 100;
/// Largest file `load_dir` reads; a bigger file is reported, not read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Size limit of one compiled `patterns` regex, so a hostile pattern cannot exhaust memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// The file of a directory that holds the `[[course]]` catalog.
pub const COURSES_FILE: &str = "courses.toml";
/// The file of a directory that holds the synonyms.
pub const SYNONYMS_FILE: &str = "synonyms.toml";

const INTENT_FIELDS: &[&str] = &[
    "id",
    "title",
    "examples",
    "keywords",
    "patterns",
    "answer",
    "courses",
    "follow_ups",
    "action",
];
const COURSE_FIELDS: &[&str] = &[
    "id", "title", "provider", "url", "topics", "level", "free", "summary",
];
const ACTIONS: &[(&str, Action)] = &[("search_courses", Action::SearchCourses)];

// ---------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------

/// An intent directory as read by [`load_dir`]: the data and every problem found in it.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub set: IntentSet,
    /// Sorted by file, line and column; empty when the directory is clean.
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    /// Whether any diagnostic is an error (the set must then not be used).
    pub fn has_errors(&self) -> bool {
        has_errors(&self.diagnostics)
    }
}

/// Whether any diagnostic is an error (warnings alone do not refuse a set).
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.severity == Severity::Error)
}

/// Compiles one `patterns` entry exactly as the matcher must: case-insensitive, size-limited.
pub fn build_pattern(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
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

/// Reads every `*.toml` file of `dir` (sorted by name): `courses.toml` holds `[[course]]`,
/// `synonyms.toml` holds `canonical = ["variant", ...]`, every other file holds `[[intent]]`.
/// Hidden files, editor backups (`~`) and other extensions are skipped.
/// Never panics: an unreadable directory or file becomes a diagnostic. Ends with [`validate`].
pub fn load_dir(dir: &Path) -> Loaded {
    let mut diags = Vec::new();
    let mut set = IntentSet {
        dir: dir.to_path_buf(),
        ..IntentSet::default()
    };
    match toml_files(dir, &mut diags) {
        Ok(files) => {
            let mut digest = Sha1::new();
            for path in files {
                if let Some(text) = read_text(&path, &mut diags) {
                    let name = path.file_name().unwrap_or_default().as_encoded_bytes();
                    // Lengths first, so no two different name/contents splits hash alike.
                    for part in [name, text.as_bytes()] {
                        digest.update((part.len() as u64).to_le_bytes());
                        digest.update(part);
                    }
                    add_file(&mut set, &path, &text, &mut diags);
                }
            }
            set.digest = digest.finalize()[..8]
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            validate(&set, &mut diags);
        }
        Err(err) => diags.push(whole_file_error(
            dir,
            format!("cannot read intent directory: {err}"),
        )),
    }
    diags.sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
    Loaded {
        set,
        diagnostics: diags,
    }
}

/// Parses one intent file (`[[intent]]` tables) and checks each intent on its own.
pub fn parse_intent_file(path: &Path, text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Intent> {
    let mut ctx = Ctx::new(path, text, diags);
    let Some(doc) = parse_toml(&mut ctx, text) else {
        return Vec::new();
    };
    let records = records(&mut ctx, doc.as_table(), "intent", "an intent file");
    records
        .into_iter()
        .filter_map(|record| read_intent(&mut ctx, record))
        .collect()
}

/// Parses `courses.toml` (`[[course]]` tables) and checks each course on its own.
pub fn parse_course_file(path: &Path, text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Course> {
    let mut ctx = Ctx::new(path, text, diags);
    let Some(doc) = parse_toml(&mut ctx, text) else {
        return Vec::new();
    };
    let records = records(&mut ctx, doc.as_table(), "course", COURSES_FILE);
    records
        .into_iter()
        .filter_map(|record| read_course(&mut ctx, record))
        .collect()
}

/// Parses `synonyms.toml` (`canonical = ["variant", ...]`); a variant may belong to one
/// canonical only.
pub fn parse_synonym_file(path: &Path, text: &str, diags: &mut Vec<Diagnostic>) -> Vec<Synonym> {
    let mut ctx = Ctx::new(path, text, diags);
    let Some(doc) = parse_toml(&mut ctx, text) else {
        return Vec::new();
    };
    let root = doc.as_table();
    let mut owners = HashMap::new();
    root.iter()
        .map(|(canonical, item)| {
            let key_span = root.key(canonical).and_then(|k| k.span());
            read_synonym(&mut ctx, canonical, item, key_span, &mut owners)
        })
        .collect()
}

/// Reads one `canonical = [...]` entry. `owners` maps each variant seen so far (folded)
/// to its canonical and place, to report a variant given to two canonicals.
fn read_synonym(
    ctx: &mut Ctx<'_>,
    canonical: &str,
    item: &Item,
    key_span: Span,
    owners: &mut HashMap<String, (String, Origin)>,
) -> Synonym {
    if canonical.trim().is_empty() {
        ctx.error(
            &key_span,
            "empty synonym key: the canonical word must not be empty",
        );
    }
    let what = format!("synonym `{canonical}`");
    let value_span = item.span().or_else(|| key_span.clone());
    let variants = string_list(ctx, item, value_span, &what).unwrap_or_default();
    for variant in &variants {
        let key = fold(&variant.value);
        if key.is_empty() {
            ctx.error(&variant.span, format!("empty string in {what}"));
            continue;
        }
        match owners.get(&key) {
            Some((other, first)) if other != canonical => {
                let message = format!(
                    "synonym variant \"{}\" is mapped to both `{other}` ({}) and `{canonical}`",
                    variant.value,
                    at(first)
                );
                ctx.error(&variant.span, message);
            }
            Some(_) => {}
            None => {
                owners.insert(key, (canonical.to_string(), ctx.origin(&variant.span)));
            }
        }
    }
    Synonym {
        canonical: canonical.to_string(),
        variants: variants.into_iter().map(|v| v.value).collect(),
        origin: ctx.origin(&key_span),
    }
}

/// Cross-file checks on a whole set: at least one intent, unique intent and course ids,
/// course and follow-up references that resolve, examples claimed by one intent only.
pub fn validate(set: &IntentSet, diags: &mut Vec<Diagnostic>) {
    if set.intents.is_empty() {
        diags.push(whole_file_error(
            &set.dir,
            "no intent found: no *.toml file of the directory has an [[intent]] table".into(),
        ));
    }
    check_unique_intent_ids(set, diags);
    check_unique_course_ids(set, diags);
    check_references(set, diags);
    check_examples_across_intents(set, diags);
}

// ---------------------------------------------------------------------------
// Directory and file reading
// ---------------------------------------------------------------------------

/// The `*.toml` files of `dir`, sorted by file name.
fn toml_files(dir: &Path, diags: &mut Vec<Diagnostic>) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                diags.push(whole_file_error(
                    dir,
                    format!("cannot list directory entry: {err}"),
                ));
                continue;
            }
        };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.starts_with('.') || name.ends_with('~') || !name.ends_with(".toml") {
            continue;
        }
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => files.push(path),
            Ok(_) => {}
            Err(err) => diags.push(whole_file_error(&path, format!("cannot read file: {err}"))),
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

/// A file's text, or `None` after reporting why it cannot be used (unreadable, too big,
/// not UTF-8).
fn read_text(path: &Path, diags: &mut Vec<Diagnostic>) -> Option<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = std::fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes));
    if let Err(err) = read {
        diags.push(whole_file_error(path, format!("cannot read file: {err}")));
        return None;
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        diags.push(whole_file_error(
            path,
            format!("file is larger than {MAX_FILE_BYTES} bytes"),
        ));
        return None;
    }
    match String::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(err) => {
            let bytes = err.as_bytes();
            let valid = err.utf8_error().valid_up_to();
            let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
            let (line, col) = LineIndex::new(prefix).position(valid);
            diags.push(Diagnostic {
                path: path.to_path_buf(),
                line,
                col,
                severity: Severity::Error,
                message: "file is not valid UTF-8".into(),
            });
            None
        }
    }
}

/// Parses one file into `set`, choosing the format from the file name.
fn add_file(set: &mut IntentSet, path: &Path, text: &str, diags: &mut Vec<Diagnostic>) {
    match path.file_name().and_then(|n| n.to_str()) {
        Some(COURSES_FILE) => set.courses.extend(parse_course_file(path, text, diags)),
        Some(SYNONYMS_FILE) => set.synonyms.extend(parse_synonym_file(path, text, diags)),
        _ => set.intents.extend(parse_intent_file(path, text, diags)),
    }
}

fn whole_file_error(path: &Path, message: String) -> Diagnostic {
    Diagnostic {
        path: path.to_path_buf(),
        line: 0,
        col: 0,
        severity: Severity::Error,
        message,
    }
}

// ---------------------------------------------------------------------------
// Positions and the diagnostic sink
// ---------------------------------------------------------------------------

type Span = Option<Range<usize>>;

/// Turns byte offsets into 1-based line and character column.
struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, line_starts }
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let before = self.text.as_bytes().get(start..offset).unwrap_or_default();
        // Count characters, i.e. bytes that do not continue a UTF-8 sequence.
        let mut col = before.iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
        if start == 0 && offset >= 3 && self.text.starts_with('\u{feff}') {
            col -= 1; // a byte-order mark is not a column
        }
        (line, col)
    }
}

/// The file being read and where its problems go.
struct Ctx<'a> {
    path: &'a Path,
    index: LineIndex<'a>,
    diags: &'a mut Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    fn new(path: &'a Path, text: &'a str, diags: &'a mut Vec<Diagnostic>) -> Self {
        Ctx {
            path,
            index: LineIndex::new(text),
            diags,
        }
    }

    fn origin(&self, span: &Span) -> Origin {
        let (line, col) = span
            .as_ref()
            .map_or((0, 0), |range| self.index.position(range.start));
        Origin {
            path: self.path.to_path_buf(),
            line,
            col,
        }
    }

    fn report(&mut self, severity: Severity, span: &Span, message: String) {
        let Origin { path, line, col } = self.origin(span);
        self.diags.push(Diagnostic {
            path,
            line,
            col,
            severity,
            message,
        });
    }

    fn error(&mut self, span: &Span, message: impl Into<String>) {
        self.report(Severity::Error, span, message.into());
    }

    fn warning(&mut self, span: &Span, message: impl Into<String>) {
        self.report(Severity::Warning, span, message.into());
    }
}

/// `path:line:col`, for messages that point at a second place.
fn at(origin: &Origin) -> String {
    format!("{}:{}:{}", origin.path.display(), origin.line, origin.col)
}

// ---------------------------------------------------------------------------
// Generic TOML reading
// ---------------------------------------------------------------------------

/// A value as written, with where it is written.
struct Located<T> {
    value: T,
    span: Span,
}

fn parse_toml<'t>(ctx: &mut Ctx<'_>, text: &'t str) -> Option<ImDocument<&'t str>> {
    match ImDocument::parse(text) {
        Ok(doc) => Some(doc),
        Err(err) => {
            let message = err.message().trim().replace('\n', "; ");
            ctx.error(&err.span(), format!("TOML syntax error: {message}"));
            None
        }
    }
}

/// One `[[kind]]` table being read.
struct Record<'t> {
    /// `intent` or `course`, then `intent `a.b`` once the id is known: used in messages.
    label: String,
    table: &'t dyn TableLike,
    span: Span,
}

/// The `[[kind]]` tables of a file's root; any other top-level key is an error.
fn records<'t>(
    ctx: &mut Ctx<'_>,
    root: &'t toml_edit::Table,
    kind: &str,
    file_desc: &str,
) -> Vec<Record<'t>> {
    let mut out = Vec::new();
    for (name, item) in root.iter() {
        let key_span = root.key(name).and_then(|k| k.span());
        if name != kind {
            let hint = did_you_mean(name, &[kind]);
            ctx.error(
                &key_span,
                format!(
                    "unknown top-level key `{name}` in {file_desc}{hint}; only [[{kind}]] tables are allowed"
                ),
            );
            continue;
        }
        let mut push = |table: &'t dyn TableLike, span: Span| {
            out.push(Record {
                label: kind.to_string(),
                table,
                span,
            })
        };
        match item {
            Item::ArrayOfTables(tables) => tables.iter().for_each(|t| push(t, t.span())),
            Item::Value(Value::Array(values)) => {
                for value in values.iter() {
                    match value.as_inline_table() {
                        Some(table) => push(table, value.span()),
                        None => ctx.error(
                            &value.span(),
                            format!("`{kind}` must hold tables, found {}", value.type_name()),
                        ),
                    }
                }
            }
            other => ctx.error(
                &other.span().or(key_span),
                format!(
                    "`{kind}` must be written as [[{kind}]] tables, found {}",
                    other.type_name()
                ),
            ),
        }
    }
    out
}

impl<'t> Record<'t> {
    /// The field's value and where to point at it (its value, else its key, else the table).
    fn get(&self, key: &str) -> Option<(&'t Item, Span)> {
        let (k, item) = self.table.get_key_value(key)?;
        let span = item
            .span()
            .or_else(|| k.span())
            .or_else(|| self.span.clone());
        Some((item, span))
    }

    fn check_fields(&self, ctx: &mut Ctx<'_>, allowed: &[&str]) {
        for (name, _) in self.table.iter() {
            if !allowed.contains(&name) {
                let span = self.table.key(name).and_then(|k| k.span());
                let hint = did_you_mean(name, allowed);
                ctx.error(
                    &span,
                    format!(
                        "unknown field `{name}` in {}{hint}; allowed fields: {}",
                        self.label,
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn missing(&self, ctx: &mut Ctx<'_>, key: &str) {
        let message = format!("{} is missing required field `{key}`", self.label);
        ctx.error(&self.span, message);
    }

    fn optional_str(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Located<String>> {
        let (item, span) = self.get(key)?;
        match item.as_str() {
            Some(value) => Some(Located {
                value: value.to_string(),
                span,
            }),
            None => {
                let message = format!("`{key}` must be a string, found {}", item.type_name());
                ctx.error(&span, message);
                None
            }
        }
    }

    fn required_str(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Located<String>> {
        if self.table.get(key).is_none() {
            self.missing(ctx, key);
            return None;
        }
        self.optional_str(ctx, key)
    }

    fn required_bool(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<bool> {
        let Some((item, span)) = self.get(key) else {
            self.missing(ctx, key);
            return None;
        };
        let value = item.as_bool();
        if value.is_none() {
            let message = format!("`{key}` must be true or false, found {}", item.type_name());
            ctx.error(&span, message);
        }
        value
    }

    /// An optional list of strings: empty when absent, `None` when not an array at all.
    fn str_list(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Vec<Located<String>>> {
        match self.get(key) {
            None => Some(Vec::new()),
            Some((item, span)) => string_list(ctx, item, span, &format!("`{key}`")),
        }
    }
}

/// `item` as an array of strings; wrong elements are reported and skipped.
/// `None` (after an error) when `item` is not an array.
fn string_list(
    ctx: &mut Ctx<'_>,
    item: &Item,
    span: Span,
    what: &str,
) -> Option<Vec<Located<String>>> {
    let Some(array) = item.as_array() else {
        let message = format!(
            "{what} must be an array of strings, found {}",
            item.type_name()
        );
        ctx.error(&span, message);
        return None;
    };
    let mut out = Vec::new();
    for value in array.iter() {
        let value_span = value.span().or_else(|| span.clone());
        match value.as_str() {
            Some(text) => out.push(Located {
                value: text.to_string(),
                span: value_span,
            }),
            None => {
                let message = format!("{what} must hold only strings, found {}", value.type_name());
                ctx.error(&value_span, message);
            }
        }
    }
    Some(out)
}

/// `" (did you mean `x`?)"` when `name` is a likely typo of one of `candidates`.
fn did_you_mean(name: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), *c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(1))
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------
// Field checks
// ---------------------------------------------------------------------------

/// The longest intent id: ids travel inside Discord's 100-character component ids.
pub const MAX_INTENT_ID: usize = 64;

/// `area.name`, each part `[a-z0-9_]+`, at most `MAX_INTENT_ID` characters.
fn is_intent_id(id: &str) -> bool {
    if id.len() > MAX_INTENT_ID {
        return false;
    }
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    matches!(id.split_once('.'), Some((area, name)) if word(area) && word(name))
}

/// `[a-z0-9_-]+`.
fn is_course_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A non-empty text of at most `max` characters.
fn check_text(ctx: &mut Ctx<'_>, text: &Located<String>, field: &str, max: usize) {
    let chars = text.value.chars().count();
    if text.value.trim().is_empty() {
        ctx.error(&text.span, format!("`{field}` must not be empty"));
    } else if chars > max {
        let message = format!("`{field}` is too long: {chars} characters (at most {max})");
        ctx.error(&text.span, message);
    }
}

fn check_no_empty_strings(ctx: &mut Ctx<'_>, items: &[Located<String>], field: &str) {
    for item in items.iter().filter(|item| item.value.trim().is_empty()) {
        ctx.error(&item.span, format!("empty string in `{field}`"));
    }
}

fn check_pattern(ctx: &mut Ctx<'_>, pattern: &Located<String>) {
    if pattern.value.is_empty() {
        let message = "empty regex in `patterns`: it would match every question";
        ctx.error(&pattern.span, message);
    } else if let Err(err) = build_pattern(&pattern.value) {
        let message = format!("invalid regex in `patterns`: {}", regex_error_text(&err));
        ctx.error(&pattern.span, message);
    }
}

/// The regex crate's reason on one line (its syntax errors span several lines).
fn regex_error_text(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error:"))
        .map(|reason| reason.trim().to_string())
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Why `url` is not an `https://host/...` URL, if it is not.
fn url_problem(url: &str) -> Option<String> {
    match url::Url::parse(url) {
        Err(err) => Some(format!("invalid `url` \"{url}\": {err}")),
        Ok(parsed) if parsed.scheme() != "https" => Some(format!(
            "`url` must use https, found `{}:` in \"{url}\"",
            parsed.scheme()
        )),
        Ok(parsed) if parsed.host_str().is_none_or(str::is_empty) => {
            Some(format!("`url` \"{url}\" has no host"))
        }
        Ok(_) => None,
    }
}

// ---------------------------------------------------------------------------
// Intents
// ---------------------------------------------------------------------------

/// Reads and checks one `[[intent]]` table; `None` when it has no usable string `id`.
fn read_intent(ctx: &mut Ctx<'_>, mut record: Record<'_>) -> Option<Intent> {
    let id = record.required_str(ctx, "id");
    if let Some(id) = &id {
        if !is_intent_id(&id.value) {
            let message = format!(
                "invalid intent id `{}`: expected `area.name`, lowercase letters, digits and `_` \
                 (e.g. `billing.refund`), at most {MAX_INTENT_ID} characters",
                id.value
            );
            ctx.error(&id.span, message);
        }
        record.label = format!("intent `{}`", id.value);
    }
    record.check_fields(ctx, INTENT_FIELDS);
    let title = record.required_str(ctx, "title");
    if let Some(title) = &title {
        check_text(ctx, title, "title", MAX_TITLE_CHARS);
    }
    let answer = record.required_str(ctx, "answer");
    if let Some(answer) = &answer {
        check_text(ctx, answer, "answer", MAX_ANSWER_CHARS);
    }
    let examples = record.str_list(ctx, "examples");
    let patterns = record.str_list(ctx, "patterns");
    let keywords = record.str_list(ctx, "keywords").unwrap_or_default();
    let courses = record.str_list(ctx, "courses").unwrap_or_default();
    let follow_ups = record.str_list(ctx, "follow_ups").unwrap_or_default();
    let action = read_action(ctx, &record);

    check_no_empty_strings(ctx, examples.as_deref().unwrap_or_default(), "examples");
    check_no_empty_strings(ctx, &keywords, "keywords");
    patterns
        .iter()
        .flatten()
        .for_each(|p| check_pattern(ctx, p));
    warn_repeated_examples(ctx, &record, examples.as_deref().unwrap_or_default());
    if let (Some(examples), Some(patterns)) = (&examples, &patterns) {
        check_example_count(ctx, &record, examples.len(), patterns.len());
    }

    let id = id?;
    let origins = |ctx: &Ctx<'_>, items: &[Located<String>]| -> Vec<Origin> {
        items.iter().map(|item| ctx.origin(&item.span)).collect()
    };
    let examples = examples.unwrap_or_default();
    let values = |items: Vec<Located<String>>| items.into_iter().map(|i| i.value).collect();
    Some(Intent {
        id: id.value,
        title: title.map(|t| t.value).unwrap_or_default(),
        answer: answer.map(|a| a.value).unwrap_or_default(),
        origin: ctx.origin(&record.span),
        example_origins: origins(ctx, &examples),
        course_origins: origins(ctx, &courses),
        follow_up_origins: origins(ctx, &follow_ups),
        examples: values(examples),
        keywords: values(keywords),
        patterns: values(patterns.unwrap_or_default()),
        courses: values(courses),
        follow_ups: values(follow_ups),
        action,
    })
}

fn read_action(ctx: &mut Ctx<'_>, record: &Record<'_>) -> Option<Action> {
    let name = record.optional_str(ctx, "action")?;
    let action = ACTIONS
        .iter()
        .find(|(n, _)| *n == name.value)
        .map(|(_, a)| *a);
    if action.is_none() {
        let known: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
        let message = format!(
            "unknown action `{}` (expected {})",
            name.value,
            known.join(" or ")
        );
        ctx.error(&name.span, message);
    }
    action
}

/// No examples and no patterns: an error; a few examples: a warning.
fn check_example_count(ctx: &mut Ctx<'_>, record: &Record<'_>, examples: usize, patterns: usize) {
    let label = &record.label;
    if examples == 0 && patterns == 0 {
        let message = format!("{label} has no examples and no patterns, so it can never match");
        ctx.error(&record.span, message);
    } else if examples < MIN_EXAMPLES_WITHOUT_WARNING {
        let message = format!(
            "{label} has only {examples} example(s); at least {MIN_EXAMPLES_WITHOUT_WARNING} \
             are recommended"
        );
        ctx.warning(&record.span, message);
    }
}

fn warn_repeated_examples(ctx: &mut Ctx<'_>, record: &Record<'_>, examples: &[Located<String>]) {
    let mut seen: HashMap<String, Origin> = HashMap::new();
    for example in examples {
        let key = normalize_example(&example.value);
        if key.is_empty() {
            continue;
        }
        if let Some(first) = seen.get(&key) {
            let message = format!(
                "example \"{}\" is listed twice in {} (first at line {})",
                example.value, record.label, first.line
            );
            ctx.warning(&example.span, message);
        } else {
            seen.insert(key, ctx.origin(&example.span));
        }
    }
}

// ---------------------------------------------------------------------------
// Courses
// ---------------------------------------------------------------------------

/// Reads and checks one `[[course]]` table; `None` when it has no usable string `id`
/// (other broken fields are reported and left at a placeholder value).
fn read_course(ctx: &mut Ctx<'_>, mut record: Record<'_>) -> Option<Course> {
    let id = record.required_str(ctx, "id");
    if let Some(id) = &id {
        if !is_course_id(&id.value) {
            let message = format!(
                "invalid course id `{}`: use lowercase letters, digits, `_` and `-`",
                id.value
            );
            ctx.error(&id.span, message);
        }
        record.label = format!("course `{}`", id.value);
    }
    record.check_fields(ctx, COURSE_FIELDS);
    let title = record.required_str(ctx, "title");
    if let Some(title) = &title {
        check_text(ctx, title, "title", MAX_COURSE_TITLE_CHARS);
    }
    let provider = record.required_str(ctx, "provider");
    if let Some(provider) = &provider {
        check_text(ctx, provider, "provider", MAX_COURSE_TITLE_CHARS);
    }
    let url = record.required_str(ctx, "url");
    if let Some(url) = &url {
        if let Some(problem) = url_problem(&url.value) {
            ctx.error(&url.span, problem);
        }
    }
    let topics = read_topics(ctx, &record);
    let level = read_level(ctx, &record);
    let free = record.required_bool(ctx, "free");
    let summary = record.optional_str(ctx, "summary");
    Some(Course {
        origin: ctx.origin(&record.span),
        id: id?.value,
        title: title.map(|t| t.value).unwrap_or_default(),
        provider: provider.map(|p| p.value).unwrap_or_default(),
        url: url.map(|u| u.value).unwrap_or_default(),
        topics: topics.unwrap_or_default(),
        level: level.unwrap_or(Level::Beginner),
        free: free.unwrap_or(false),
        summary: summary.map(|s| s.value),
    })
}

fn read_topics(ctx: &mut Ctx<'_>, record: &Record<'_>) -> Option<Vec<String>> {
    let Some((_, span)) = record.get("topics") else {
        record.missing(ctx, "topics");
        return None;
    };
    let topics = record.str_list(ctx, "topics")?;
    check_no_empty_strings(ctx, &topics, "topics");
    if topics.is_empty() {
        ctx.error(&span, "`topics` must list at least one topic");
    }
    Some(topics.into_iter().map(|t| t.value).collect())
}

fn read_level(ctx: &mut Ctx<'_>, record: &Record<'_>) -> Option<Level> {
    if record.get("level").is_none() {
        record.missing(ctx, "level");
        return None;
    }
    let level = record.optional_str(ctx, "level")?;
    match level.value.parse::<Level>() {
        Ok(level) => Some(level),
        Err(message) => {
            ctx.error(&level.span, message);
            None
        }
    }
}

// ---------------------------------------------------------------------------
// Cross-file checks
// ---------------------------------------------------------------------------

fn cross_error(origin: &Origin, message: String) -> Diagnostic {
    Diagnostic {
        path: origin.path.clone(),
        line: origin.line,
        col: origin.col,
        severity: Severity::Error,
        message,
    }
}

fn check_unique_intent_ids(set: &IntentSet, diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Origin> = HashMap::new();
    for intent in &set.intents {
        match first.get(intent.id.as_str()) {
            Some(origin) => diags.push(cross_error(
                &intent.origin,
                format!(
                    "duplicate intent id `{}` (first defined at {})",
                    intent.id,
                    at(origin)
                ),
            )),
            None => {
                first.insert(&intent.id, &intent.origin);
            }
        }
    }
}

fn check_unique_course_ids(set: &IntentSet, diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Origin> = HashMap::new();
    for course in &set.courses {
        match first.get(course.id.as_str()) {
            Some(origin) => diags.push(cross_error(
                &course.origin,
                format!(
                    "duplicate course id `{}` (first defined at {})",
                    course.id,
                    at(origin)
                ),
            )),
            None => {
                first.insert(&course.id, &course.origin);
            }
        }
    }
}

/// The origin of the `i`-th entry of a list, falling back to the intent's own origin.
fn nth_origin<'a>(origins: &'a [Origin], i: usize, fallback: &'a Origin) -> &'a Origin {
    origins.get(i).unwrap_or(fallback)
}

fn check_references(set: &IntentSet, diags: &mut Vec<Diagnostic>) {
    let course_ids: std::collections::HashSet<&str> =
        set.courses.iter().map(|c| c.id.as_str()).collect();
    let intent_ids: std::collections::HashSet<&str> =
        set.intents.iter().map(|i| i.id.as_str()).collect();
    for intent in &set.intents {
        for (i, course) in intent.courses.iter().enumerate() {
            if !course_ids.contains(course.as_str()) {
                let origin = nth_origin(&intent.course_origins, i, &intent.origin);
                let message = format!(
                    "unknown course `{course}` in `courses` of intent `{}` (not in {COURSES_FILE})",
                    intent.id
                );
                diags.push(cross_error(origin, message));
            }
        }
        for (i, follow_up) in intent.follow_ups.iter().enumerate() {
            let origin = nth_origin(&intent.follow_up_origins, i, &intent.origin);
            if *follow_up == intent.id {
                let message = format!("intent `{}` lists itself in `follow_ups`", intent.id);
                diags.push(cross_error(origin, message));
            } else if !intent_ids.contains(follow_up.as_str()) {
                let message = format!(
                    "unknown intent `{follow_up}` in `follow_ups` of intent `{}`",
                    intent.id
                );
                diags.push(cross_error(origin, message));
            }
        }
    }
}

/// An example must belong to one intent only, or the matcher cannot tell them apart.
fn check_examples_across_intents(set: &IntentSet, diags: &mut Vec<Diagnostic>) {
    // normalized example -> (intent index, where first written)
    let mut owners: HashMap<String, (usize, &Origin)> = HashMap::new();
    for (index, intent) in set.intents.iter().enumerate() {
        for (i, example) in intent.examples.iter().enumerate() {
            let key = normalize_example(example);
            if key.is_empty() {
                continue;
            }
            let origin = nth_origin(&intent.example_origins, i, &intent.origin);
            match owners.get(&key) {
                Some(&(owner, first)) if owner != index => {
                    let message = format!(
                        "example \"{example}\" of intent `{}` is also listed under intent `{}` ({})",
                        intent.id,
                        set.intents[owner].id,
                        at(first)
                    );
                    diags.push(cross_error(origin, message));
                }
                Some(_) => {}
                None => {
                    owners.insert(key, (index, origin));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Severity::{Error as E, Warning as W};

    /// A clean intent of 5 lines; cases append their broken line as line 6.
    const BASE: &str = "[[intent]]\n\
                        id = \"a.b\"\n\
                        title = \"T\"\n\
                        answer = \"A\"\n\
                        examples = [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\"]\n";
    /// Another clean intent, so that cases on courses/synonyms have a valid directory.
    const OTHER: &str = "[[intent]]\n\
                         id = \"c.d\"\n\
                         title = \"T\"\n\
                         answer = \"A\"\n\
                         examples = [\"c1\", \"c2\", \"c3\", \"c4\", \"c5\"]\n";
    /// A clean course of 8 lines.
    const COURSE: &str = "[[course]]\n\
                          id = \"c1\"\n\
                          title = \"C\"\n\
                          provider = \"P\"\n\
                          url = \"https://example.org/c\"\n\
                          topics = [\"t\"]\n\
                          level = \"beginner\"\n\
                          free = true\n";

    /// One expected diagnostic: file name, line, column, severity, part of the message.
    type Expect = (&'static str, usize, usize, Severity, &'static str);

    struct Case {
        name: &'static str,
        files: Vec<(&'static str, String)>,
        expect: Vec<Expect>,
    }

    fn case(name: &'static str, files: &[(&'static str, &str)], expect: &[Expect]) -> Case {
        Case {
            name,
            files: files.iter().map(|(n, t)| (*n, t.to_string())).collect(),
            expect: expect.to_vec(),
        }
    }

    /// Parses `files` as `load_dir` would (without a file system), then validates.
    fn check(files: &[(&str, String)]) -> (IntentSet, Vec<Diagnostic>) {
        let dir = Path::new("dir");
        let mut set = IntentSet {
            dir: dir.to_path_buf(),
            ..IntentSet::default()
        };
        let mut diags = Vec::new();
        for (name, text) in files {
            add_file(&mut set, &dir.join(name), text, &mut diags);
        }
        validate(&set, &mut diags);
        diags.sort_by(|a, b| (&a.path, a.line, a.col).cmp(&(&b.path, b.line, b.col)));
        (set, diags)
    }

    /// `Err` describing every difference between `actual` and `expect`.
    fn compare(name: &str, actual: &[Diagnostic], expect: &[Expect]) -> Result<(), String> {
        let shown: Vec<String> = actual.iter().map(|d| d.to_string()).collect();
        if actual.len() != expect.len() {
            return Err(format!("{name}: expected {expect:?}, got {shown:#?}"));
        }
        for (d, &(file, line, col, severity, fragment)) in actual.iter().zip(expect) {
            let path = match file {
                "" => PathBuf::from("dir"),
                file => Path::new("dir").join(file),
            };
            let ok = d.path == path
                && (d.line, d.col, d.severity) == (line, col, severity)
                && d.message.contains(fragment);
            if !ok {
                let want = format!("{file}:{line}:{col} {severity:?} `{fragment}`");
                return Err(format!("{name}: expected {want}, got {d}"));
            }
        }
        Ok(())
    }

    fn assert_diags(name: &str, actual: &[Diagnostic], expect: &[Expect]) {
        if let Err(problem) = compare(name, actual, expect) {
            panic!("{problem}");
        }
    }

    fn with(extra: &str) -> String {
        format!("{BASE}{extra}")
    }

    fn error_cases() -> Vec<Case> {
        let long_title = format!("title = \"{}\"\n", "é".repeat(MAX_TITLE_CHARS + 1));
        let long_answer = format!("answer = \"{}\"\n", "x".repeat(MAX_ANSWER_CHARS + 1));
        vec![
            case(
                "toml syntax error",
                &[("a.toml", "[[intent]]\nid = \"a.b\ntitle = 1\n"), ("z.toml", OTHER)],
                &[("a.toml", 2, 10, E, "TOML syntax error: invalid basic string")],
            ),
            case(
                "unknown field with a hint",
                &[("a.toml", &with("exmples = [\"x\"]\n"))],
                &[(
                    "a.toml",
                    6,
                    1,
                    E,
                    "unknown field `exmples` in intent `a.b` (did you mean `examples`?); \
                     allowed fields: id, title, examples",
                )],
            ),
            case(
                "unknown top-level key in an intent file",
                &[("a.toml", &with("\n[[intents]]\nid = \"x.y\"\n"))],
                &[("a.toml", 7, 3, E, "unknown top-level key `intents` in an intent file (did you mean `intent`?)")],
            ),
            case(
                "unknown top-level key in courses.toml",
                &[("a.toml", BASE), ("courses.toml", "[[intent]]\nid = \"x\"\n")],
                &[("courses.toml", 1, 3, E, "unknown top-level key `intent` in courses.toml")],
            ),
            case(
                "a plain [intent] table",
                &[("a.toml", "[intent]\nid = \"a.b\"\n")],
                &[
                    ("", 0, 0, E, "no intent found"),
                    ("a.toml", 1, 1, E, "`intent` must be written as [[intent]] tables, found table"),
                ],
            ),
            case(
                "missing required fields",
                &[("a.toml", "[[intent]]\nexamples = [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\"]\n"), ("b.toml", OTHER)],
                &[
                    ("a.toml", 1, 1, E, "intent is missing required field `id`"),
                    ("a.toml", 1, 1, E, "intent is missing required field `title`"),
                    ("a.toml", 1, 1, E, "intent is missing required field `answer`"),
                ],
            ),
            case(
                "wrong types",
                &[(
                    "a.toml",
                    "[[intent]]\nid = \"a.b\"\ntitle = 5\nanswer = \"A\"\nexamples = \"a1\"\nkeywords = [\"k\", 2]\nfollow_ups = {}\n",
                )],
                &[
                    ("a.toml", 3, 9, E, "`title` must be a string, found integer"),
                    ("a.toml", 5, 12, E, "`examples` must be an array of strings, found string"),
                    ("a.toml", 6, 18, E, "`keywords` must hold only strings, found integer"),
                    ("a.toml", 7, 14, E, "`follow_ups` must be an array of strings, found inline table"),
                ],
            ),
            case(
                "bad intent id",
                &[("a.toml", &BASE.replace("\"a.b\"", "\"Prep.Degree\""))],
                &[("a.toml", 2, 6, E, "invalid intent id `Prep.Degree`: expected `area.name`")],
            ),
            case(
                "intent id without an area",
                &[("a.toml", &BASE.replace("\"a.b\"", "\"degree\""))],
                &[("a.toml", 2, 6, E, "invalid intent id `degree`")],
            ),
            case(
                "duplicate intent id across files",
                &[("a.toml", BASE), ("b.toml", &OTHER.replace("c.d", "a.b"))],
                &[("b.toml", 1, 1, E, "duplicate intent id `a.b` (first defined at dir/a.toml:1:1)")],
            ),
            case(
                "duplicate course id",
                &[("a.toml", BASE), ("courses.toml", &format!("{COURSE}\n{COURSE}"))],
                &[("courses.toml", 10, 1, E, "duplicate course id `c1` (first defined at dir/courses.toml:1:1)")],
            ),
            case(
                "invalid regex",
                &[("a.toml", &with("patterns = ['(unclosed']\n"))],
                &[("a.toml", 6, 13, E, "invalid regex in `patterns`: unclosed group")],
            ),
            case(
                "regex over the size limit",
                &[("a.toml", &with("patterns = ['\\w{200}\\w{200}\\w{200}']\n"))],
                &[("a.toml", 6, 13, E, "invalid regex in `patterns`: Compiled regex exceeds size limit")],
            ),
            case(
                "empty regex",
                &[("a.toml", &with("patterns = ['']\n"))],
                &[("a.toml", 6, 13, E, "empty regex in `patterns`")],
            ),
            case(
                "dangling course id",
                &[("a.toml", &with("courses = [\"c1\", \"nope\"]\n")), ("courses.toml", COURSE)],
                &[("a.toml", 6, 18, E, "unknown course `nope` in `courses` of intent `a.b`")],
            ),
            case(
                "dangling follow-up",
                &[("a.toml", &with("follow_ups = [\"x.y\"]\n"))],
                &[("a.toml", 6, 15, E, "unknown intent `x.y` in `follow_ups` of intent `a.b`")],
            ),
            case(
                "follow-up to itself",
                &[("a.toml", &with("follow_ups = [\"a.b\"]\n"))],
                &[("a.toml", 6, 15, E, "intent `a.b` lists itself in `follow_ups`")],
            ),
            case(
                "non-https url",
                &[("a.toml", BASE), ("courses.toml", &COURSE.replace("https:", "http:"))],
                &[("courses.toml", 5, 7, E, "`url` must use https, found `http:`")],
            ),
            case(
                "url that does not parse",
                &[("a.toml", BASE), ("courses.toml", &COURSE.replace("https://example.org/c", "example.org"))],
                &[("courses.toml", 5, 7, E, "invalid `url` \"example.org\": relative URL without a base")],
            ),
            case(
                "title too long (counted in characters)",
                &[("a.toml", &BASE.replace("title = \"T\"\n", &long_title))],
                &[("a.toml", 3, 9, E, "`title` is too long: 81 characters (at most 80)")],
            ),
            case(
                "empty title",
                &[("a.toml", &BASE.replace("\"T\"", "\"  \""))],
                &[("a.toml", 3, 9, E, "`title` must not be empty")],
            ),
            case(
                "answer too long",
                &[("a.toml", &BASE.replace("answer = \"A\"\n", &long_answer))],
                &[("a.toml", 4, 10, E, "`answer` is too long: 4001 characters (at most 4000)")],
            ),
            case(
                "empty answer",
                &[("a.toml", &BASE.replace("\"A\"", "\"\"\"\n\"\"\""))],
                &[("a.toml", 4, 10, E, "`answer` must not be empty")],
            ),
            case(
                "example under two intents",
                &[
                    ("a.toml", &BASE.replace("\"a3\"", "\"Is a degree  required?\"")),
                    ("b.toml", &OTHER.replace("\"c2\"", "\" is a DEGREE required \"")),
                ],
                &[(
                    "b.toml",
                    5,
                    19,
                    E,
                    "example \" is a DEGREE required \" of intent `c.d` is also listed under intent `a.b` (dir/a.toml:5:25)",
                )],
            ),
            case(
                "no examples and no patterns",
                &[("a.toml", "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\n")],
                &[("a.toml", 1, 1, E, "intent `a.b` has no examples and no patterns, so it can never match")],
            ),
            case(
                "synonym variant under two canonicals",
                &[("a.toml", BASE), ("synonyms.toml", "developer = [\"dev\"]\nengineer = [\"eng\", \"Dev\"]\n")],
                &[("synonyms.toml", 2, 20, E, "synonym variant \"Dev\" is mapped to both `developer` (dir/synonyms.toml:1:14) and `engineer`")],
            ),
            case(
                "synonyms of the wrong type",
                &[("a.toml", BASE), ("synonyms.toml", "dev = \"x\"\n\"\" = [\"y\", \"\"]\n")],
                &[
                    ("synonyms.toml", 1, 7, E, "synonym `dev` must be an array of strings, found string"),
                    ("synonyms.toml", 2, 1, E, "empty synonym key"),
                    ("synonyms.toml", 2, 12, E, "empty string in synonym ``"),
                ],
            ),
            case(
                "empty strings in examples and keywords (columns in characters)",
                &[("a.toml", &with("keywords = [\"café\", \"\"]\n").replace("\"a5\"", "\" \""))],
                &[
                    ("a.toml", 5, 37, E, "empty string in `examples`"),
                    ("a.toml", 6, 21, E, "empty string in `keywords`"),
                ],
            ),
            case(
                "directory without intents",
                &[("courses.toml", COURSE)],
                &[("", 0, 0, E, "no intent found")],
            ),
            case(
                "unknown level",
                &[("a.toml", BASE), ("courses.toml", &COURSE.replace("beginner", "expert"))],
                &[("courses.toml", 7, 9, E, "unknown level `expert` (expected beginner, intermediate or advanced)")],
            ),
            case(
                "unknown action",
                &[("a.toml", &with("action = \"fly\"\n"))],
                &[("a.toml", 6, 10, E, "unknown action `fly` (expected search_courses)")],
            ),
            case(
                "broken course fields",
                &[
                    ("a.toml", BASE),
                    ("courses.toml", "[[course]]\nid = \"CS 50\"\ntitle = \"\"\nurl = \"https://x.org\"\ntopics = []\nlevel = 1\nfree = \"yes\"\nsumary = \"s\"\n"),
                ],
                &[
                    ("courses.toml", 1, 1, E, "course `CS 50` is missing required field `provider`"),
                    ("courses.toml", 2, 6, E, "invalid course id `CS 50`"),
                    ("courses.toml", 3, 9, E, "`title` must not be empty"),
                    ("courses.toml", 5, 10, E, "`topics` must list at least one topic"),
                    ("courses.toml", 6, 9, E, "`level` must be a string, found integer"),
                    ("courses.toml", 7, 8, E, "`free` must be true or false, found string"),
                    ("courses.toml", 8, 1, E, "unknown field `sumary` in course `CS 50` (did you mean `summary`?)"),
                ],
            ),
        ]
    }

    fn warning_cases() -> Vec<Case> {
        vec![
            case(
                "few examples",
                &[("a.toml", "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\nexamples = [\"a1\", \"a2\"]\n")],
                &[("a.toml", 1, 1, W, "intent `a.b` has only 2 example(s); at least 5 are recommended")],
            ),
            case(
                "patterns only",
                &[("a.toml", "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\npatterns = ['x']\n")],
                &[("a.toml", 1, 1, W, "intent `a.b` has only 0 example(s)")],
            ),
            case(
                "same example twice in one intent",
                &[("a.toml", &BASE.replace("\"a4\"", "\"A1 ?\""))],
                &[("a.toml", 5, 31, W, "example \"A1 ?\" is listed twice in intent `a.b` (first at line 5)")],
            ),
        ]
    }

    #[test]
    fn every_error_and_warning_is_reported_at_its_place() {
        let failures: Vec<String> = error_cases()
            .into_iter()
            .chain(warning_cases())
            .filter_map(|case| compare(case.name, &check(&case.files).1, &case.expect).err())
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn clean_snippets_have_no_diagnostics() {
        let inline = "intent = [{ id = \"a.b\", title = \"T\", answer = \"A\", \
                      examples = [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\"] }]\n";
        for files in [
            vec![("a.toml", BASE.to_string())],
            vec![("a.toml", inline.to_string())],
            vec![
                ("a.toml", BASE.to_string()),
                ("courses.toml", COURSE.to_string()),
            ],
            vec![("a.toml", format!("\u{feff}{BASE}"))],
        ] {
            let (_, diags) = check(&files);
            assert_diags("clean", &diags, &[]);
        }
    }

    #[test]
    fn a_complete_intent_is_read_with_its_origins() {
        let text = format!(
            "{BASE}keywords = [\"k\"]\npatterns = ['\\bx\\b']\ncourses = [\"c1\"]\n\
             follow_ups = [\"c.d\"]\naction = \"search_courses\"\n\n{OTHER}"
        );
        let mut diags = Vec::new();
        let intents = parse_intent_file(Path::new("f.toml"), &text, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        let intent = &intents[0];
        assert_eq!((intent.id.as_str(), intent.title.as_str()), ("a.b", "T"));
        assert_eq!(intent.examples, ["a1", "a2", "a3", "a4", "a5"]);
        assert_eq!(intent.patterns, ["\\bx\\b"]);
        assert_eq!(
            (intent.courses.clone(), intent.follow_ups.clone()),
            (vec!["c1".into()], vec!["c.d".into()])
        );
        assert_eq!(intent.action, Some(Action::SearchCourses));
        let pos = |o: &Origin| (o.line, o.col);
        assert_eq!(pos(&intent.origin), (1, 1));
        assert_eq!(
            intent.example_origins.iter().map(pos).collect::<Vec<_>>(),
            [(5, 13), (5, 19), (5, 25), (5, 31), (5, 37)]
        );
        assert_eq!(pos(&intent.course_origins[0]), (8, 12));
        assert_eq!(pos(&intent.follow_up_origins[0]), (9, 15));
        assert_eq!(pos(&intents[1].origin), (12, 1));
    }

    #[test]
    fn courses_and_synonyms_are_read() {
        let mut diags = Vec::new();
        let text = format!("{COURSE}summary = \"S\"\n");
        let courses = parse_course_file(Path::new("courses.toml"), &text, &mut diags);
        let synonyms = parse_synonym_file(
            Path::new("s.toml"),
            "\n dev = [\"d\", \"coder\"]\n",
            &mut diags,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let c = &courses[0];
        assert_eq!(
            (c.id.as_str(), c.url.as_str(), c.level, c.free),
            ("c1", "https://example.org/c", Level::Beginner, true)
        );
        assert_eq!(
            (c.topics.clone(), c.summary.clone()),
            (vec!["t".into()], Some("S".into()))
        );
        assert_eq!(
            (synonyms[0].canonical.as_str(), synonyms[0].variants.clone()),
            ("dev", vec!["d".into(), "coder".into()])
        );
        assert_eq!((synonyms[0].origin.line, synonyms[0].origin.col), (2, 2));
    }

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    #[test]
    fn good_fixture_loads_cleanly() {
        let loaded = load_dir(&fixture("good"));
        let shown: Vec<String> = loaded.diagnostics.iter().map(|d| d.to_string()).collect();
        assert!(shown.is_empty(), "{shown:#?}");
        assert_eq!(loaded.set.intents.len(), 5);
        assert_eq!(loaded.set.courses.len(), 3);
        assert_eq!(loaded.set.synonyms.len(), 3);
        assert!(!loaded.has_errors());
    }

    #[test]
    fn load_dir_collects_errors_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let write =
            |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        write("a.toml", with("courses = [\"gone\"]\n").as_bytes());
        write("b.toml", OTHER.replace("c.d", "a.b").as_bytes());
        write("c.toml", b"[[intent]\n");
        write("d.toml", b"x = 1\n\xff\xfe");
        write(".hidden.toml", b"\0garbage");
        write("e.toml~", b"\0garbage");
        write("notes.txt", b"\0garbage");
        std::fs::create_dir(dir.path().join("sub.toml")).unwrap();

        let loaded = load_dir(dir.path());
        let got: Vec<(String, usize, usize, String)> = loaded
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
        assert_eq!(loaded.set.intents.len(), 2);
    }

    #[test]
    fn an_unreadable_directory_is_a_diagnostic() {
        let loaded = load_dir(Path::new("/no/such/careerbot/dir"));
        assert_eq!(loaded.diagnostics.len(), 1);
        assert!(loaded.diagnostics[0]
            .message
            .contains("cannot read intent directory"));
    }

    #[test]
    fn garbage_never_panics() {
        let mut inputs: Vec<String> = vec![
            "\0\0\0".into(),
            format!("a = {}", "[".repeat(10_000)),
            format!("a = {}", "{b = ".repeat(10_000)),
            "[[intent]]\nid = 1\n[[intent]]\n".into(),
            "intent = [1, {id = []}]\ncourse = 2\n".into(),
        ];
        // Every prefix of a complete file.
        let full = std::fs::read_to_string(fixture("good/role.toml")).unwrap();
        inputs.extend(full.char_indices().map(|(i, _)| full[..i].to_string()));
        // Pseudo-random bytes.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..64)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    b"[]{}=\"'\n.,# ax\\\0\xc3"[(seed >> 59) as usize % 17]
                })
                .collect();
            inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        for text in &inputs {
            let mut diags = Vec::new();
            let path = Path::new("x.toml");
            let set = IntentSet {
                intents: parse_intent_file(path, text, &mut diags),
                courses: parse_course_file(path, text, &mut diags),
                synonyms: parse_synonym_file(path, text, &mut diags),
                ..IntentSet::default()
            };
            validate(&set, &mut diags);
        }
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
