//! Reading TOML with positions: the generic half of reading an intent file.
//!
//! A file is parsed with `toml_edit::ImDocument`, which keeps the byte span of every key
//! and value; [`Record`] walks one `[[kind]]` table field by field, and [`Ctx`] turns a span
//! into a [`Location`] (1-based line, column in characters) for every diagnostic. Byte
//! offsets become positions in one place only, [`LineIndex`].

use std::ops::Range;
use std::path::Path;

use toml_edit::{ImDocument, Item, TableLike, Value};

use super::{Diagnostic, Location, Severity};

pub(super) type Span = Option<Range<usize>>;

/// Turns byte offsets into 1-based line and character column, in constant time per
/// offset (after one pass over the text), however many values share a line: a file with
/// 100,000 examples in one array on one line is located as fast as one a line.
pub(super) struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    /// `char_marks[i]`: the characters in the first `i * MARK_EVERY` bytes.
    char_marks: Vec<usize>,
    /// Bytes counted by lookups so far: the tests bound the work of one lookup with it.
    #[cfg(test)]
    scanned: std::cell::Cell<usize>,
}

/// Bytes between two character-count marks: at most this many are counted per lookup.
const MARK_EVERY: usize = 256;

/// The characters in `bytes` (any slice of UTF-8): the bytes that do not continue a
/// multi-byte sequence.
fn chars_in(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

impl<'a> LineIndex<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        let mut char_marks = vec![0];
        for chunk in text.as_bytes().chunks(MARK_EVERY) {
            char_marks.push(char_marks.last().copied().unwrap_or(0) + chars_in(chunk));
        }
        LineIndex {
            text,
            line_starts,
            char_marks,
            #[cfg(test)]
            scanned: std::cell::Cell::new(0),
        }
    }

    /// The characters before byte `offset` (at most `text.len()`).
    fn chars_before(&self, offset: usize) -> usize {
        let mark = offset / MARK_EVERY;
        let counted = &self.text.as_bytes()[mark * MARK_EVERY..offset];
        #[cfg(test)]
        self.scanned.set(self.scanned.get() + counted.len());
        self.char_marks[mark] + chars_in(counted)
    }

    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let start = self.line_starts[line.saturating_sub(1)];
        let mut col = self.chars_before(offset) - self.chars_before(start) + 1;
        if start == 0 && offset >= 3 && self.text.starts_with('\u{feff}') {
            col -= 1; // a byte-order mark is not a column
        }
        (line, col)
    }
}

/// The file being read and where its problems go.
pub(super) struct Ctx<'a> {
    path: &'a Path,
    index: LineIndex<'a>,
    diags: &'a mut Vec<Diagnostic>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(path: &'a Path, text: &'a str, diags: &'a mut Vec<Diagnostic>) -> Self {
        Ctx {
            path,
            index: LineIndex::new(text),
            diags,
        }
    }

    /// Where `span` starts (line and column 0 when there is no span).
    pub(super) fn locate(&self, span: &Span) -> Location {
        let (line, col) = span
            .as_ref()
            .map_or((0, 0), |range| self.index.position(range.start));
        Location {
            path: self.path.to_path_buf(),
            line,
            col,
        }
    }

    /// A diagnostic at `span`.
    pub(super) fn diagnostic(
        &self,
        severity: Severity,
        span: &Span,
        message: String,
    ) -> Diagnostic {
        let Location { path, line, col } = self.locate(span);
        Diagnostic {
            path,
            line,
            col,
            severity,
            message,
        }
    }

    fn report(&mut self, severity: Severity, span: &Span, message: String) {
        let diagnostic = self.diagnostic(severity, span, message);
        self.diags.push(diagnostic);
    }

    /// `text` (the text this context reads) parsed, or `None` after reporting its syntax
    /// error.
    pub(super) fn parse<'t>(&mut self, text: &'t str) -> Option<ImDocument<&'t str>> {
        parse_toml(self, text)
            .map_err(|syntax| self.diags.push(syntax))
            .ok()
    }

    pub(super) fn error(&mut self, span: &Span, message: impl Into<String>) {
        self.report(Severity::Error, span, message.into());
    }

    pub(super) fn warning(&mut self, span: &Span, message: impl Into<String>) {
        self.report(Severity::Warning, span, message.into());
    }
}

/// `path:line:col`, for messages that point at a second place.
pub(super) fn at(location: &Location) -> String {
    format!(
        "{}:{}:{}",
        location.path.display(),
        location.line,
        location.col
    )
}

// ---------------------------------------------------------------------------
// Generic TOML reading
// ---------------------------------------------------------------------------

/// A value as written, with where it is written.
pub(super) struct Located<T> {
    pub(super) value: T,
    pub(super) span: Span,
}

/// `text` parsed, or its syntax error at its place.
pub(super) fn parse_toml<'t>(
    ctx: &Ctx<'_>,
    text: &'t str,
) -> Result<ImDocument<&'t str>, Diagnostic> {
    ImDocument::parse(text).map_err(|err| {
        let message = err.message().trim().replace('\n', "; ");
        ctx.diagnostic(
            Severity::Error,
            &err.span(),
            format!("TOML syntax error: {message}"),
        )
    })
}

/// One `[[kind]]` table being read.
pub(super) struct Record<'t> {
    /// `intent` or `course`, then `intent `a.b`` once the id is known: used in messages.
    pub(super) label: String,
    table: &'t dyn TableLike,
    pub(super) span: Span,
}

/// The `[[kind]]` tables of a file's root, for each kind of `kinds`, in file order (each
/// record's `label` is its kind); any other top-level key is an error.
pub(super) fn records<'t>(
    ctx: &mut Ctx<'_>,
    root: &'t toml_edit::Table,
    kinds: &[&str],
    file_desc: &str,
) -> Vec<Record<'t>> {
    let mut out = Vec::new();
    for (name, item) in root.iter() {
        let key_span = root.key(name).and_then(|k| k.span());
        let Some(&kind) = kinds.iter().find(|&&kind| kind == name) else {
            let hint = did_you_mean(name, kinds);
            let allowed: Vec<String> = kinds.iter().map(|k| format!("[[{k}]]")).collect();
            ctx.error(
                &key_span,
                format!(
                    "unknown top-level key `{name}` in {file_desc}{hint}; only {} tables are allowed",
                    allowed.join(" and ")
                ),
            );
            continue;
        };
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
    pub(super) fn get(&self, key: &str) -> Option<(&'t Item, Span)> {
        let (k, item) = self.table.get_key_value(key)?;
        let span = item
            .span()
            .or_else(|| k.span())
            .or_else(|| self.span.clone());
        Some((item, span))
    }

    pub(super) fn check_fields(&self, ctx: &mut Ctx<'_>, allowed: &[&str]) {
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

    pub(super) fn missing(&self, ctx: &mut Ctx<'_>, key: &str) {
        let message = format!("{} is missing required field `{key}`", self.label);
        ctx.error(&self.span, message);
    }

    pub(super) fn optional_str(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Located<String>> {
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

    pub(super) fn required_str(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Located<String>> {
        if self.table.get(key).is_none() {
            self.missing(ctx, key);
            return None;
        }
        self.optional_str(ctx, key)
    }

    pub(super) fn required_bool(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<bool> {
        if self.table.get(key).is_none() {
            self.missing(ctx, key);
            return None;
        }
        self.optional_bool(ctx, key)
    }

    /// `None` when absent, or (after an error) when not a boolean.
    pub(super) fn optional_bool(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<bool> {
        let (item, span) = self.get(key)?;
        let value = item.as_bool();
        if value.is_none() {
            let message = format!("`{key}` must be true or false, found {}", item.type_name());
            ctx.error(&span, message);
        }
        value
    }

    /// `None` when absent, or (after an error) when not a number from 0 to 1.
    pub(super) fn optional_share(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<f32> {
        let (item, span) = self.get(key)?;
        let value = item
            .as_float()
            .or_else(|| item.as_integer().map(|i| i as f64));
        match value {
            Some(v) if (0.0..=1.0).contains(&v) => Some(v as f32),
            Some(v) => {
                ctx.error(&span, format!("`{key}` must be from 0 to 1, found {v}"));
                None
            }
            None => {
                let message = format!(
                    "`{key}` must be a number from 0 to 1, found {}",
                    item.type_name()
                );
                ctx.error(&span, message);
                None
            }
        }
    }

    /// An optional list of strings: empty when absent, `None` when not an array at all.
    pub(super) fn str_list(&self, ctx: &mut Ctx<'_>, key: &str) -> Option<Vec<Located<String>>> {
        match self.get(key) {
            None => Some(Vec::new()),
            Some((item, span)) => string_list(ctx, item, span, &format!("`{key}`")),
        }
    }
}

/// `item` as an array of strings; wrong elements are reported and skipped.
/// `None` (after an error) when `item` is not an array.
pub(super) fn string_list(
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
pub(super) fn did_you_mean(name: &str, candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(name, c), *c))
        .filter(|(distance, c)| *distance <= (c.len() / 3).max(1))
        .min()
        .map(|(_, c)| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The column by counting from the line's start, as the index must agree with.
    fn counted(text: &str, offset: usize) -> (usize, usize) {
        let before = &text.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let mut col = chars_in(&before[start..]) + 1;
        if start == 0 && offset >= 3 && text.starts_with('\u{feff}') {
            col -= 1;
        }
        (line, col)
    }

    #[test]
    fn positions_agree_with_counting_on_long_lines_and_multibyte_text() {
        let long: String = (0..2_000).map(|i| format!("\"é{i}🦀\", ")).collect();
        for text in [
            String::new(),
            "a = 1\nb = 2\n".to_owned(),
            format!("\u{feff}x = [{long}]\ny = 1"),
            format!("[[intent]]\nexamples = [{long}]\n\nz = \"ünï\"\n"),
        ] {
            let index = LineIndex::new(&text);
            for offset in 0..=text.len() {
                if text.is_char_boundary(offset) {
                    assert_eq!(index.position(offset), counted(&text, offset), "{offset}");
                }
            }
        }
    }

    #[test]
    fn a_lookup_counts_a_bounded_number_of_bytes_however_long_the_line() {
        // 100,000 examples in one array on one line, as a generated file writes them.
        let items: String = (0..100_000).map(|i| format!("\"q{i} w{i}\", ")).collect();
        let text = format!("[[intent]]\nid = \"a.b\"\nexamples = [{items}]\n");
        let index = LineIndex::new(&text);
        let mut most = 0;
        for (offset, _) in text.match_indices('"') {
            let before = index.scanned.get();
            index.position(offset);
            most = most.max(index.scanned.get() - before);
        }
        // Two lookups of less than a mark each (the offset's and its line start's);
        // counting from the line's start would scan up to the whole 1.6 MB line.
        assert!(most < 2 * MARK_EVERY, "one lookup counted {most} bytes");
    }
}
