//! Safe edits of the intent files, one intent at a time: add an example (usually a user's
//! question from Discord), remove one, or replace the answer, without disturbing anything
//! else in the file.
//!
//! The design choice that matters: the file is edited with `toml_edit`, never re-serialized
//! from data, so every comment, blank line and the array's own layout survive; only the
//! changed item (and the comma or line it needs or leaves behind) is touched. The files are
//! chosen and read, and their intents and examples found, by the engine's own reader
//! (`intents::files`, `intents::intent_examples`), so an edit sees the directory exactly as
//! the loader does. Before writing, the new text is parsed back and must hold exactly the
//! old data with that one change; then it replaces the file atomically (temp file, fsync,
//! rename), like an editor's save, so the reload watcher sees one change and a reader never
//! sees half a file.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use toml_edit::{Array, DocumentMut, Item, RawString, TableLike, Value};

use crate::engine::intents::files::{self, FileKind, Unreadable};
use crate::engine::intents::{intent_examples, normalize_example, Diagnostic, MAX_ANSWER_CHARS};

/// Longest example accepted, in characters (after cleaning).
pub const MAX_EXAMPLE_CHARS: usize = 500;

/// Serializes edits within the process, so two concurrent edits cannot both read the old
/// file and lose one of the two changes. (An admin's editor can still race an edit.)
static EDIT_LOCK: Mutex<()> = Mutex::new(());

/// One change to one intent, as [`edit_intent`] makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Append this example to the intent's `examples`.
    AddExample(String),
    /// Take this example out of the intent's `examples` (compared as the loader compares
    /// examples: case, spacing and trailing punctuation ignored).
    RemoveExample(String),
    /// Replace the intent's `answer` with this text.
    SetAnswer(String),
}

/// Why an intent was not edited. `Empty` to `Unchanged` are the user's to fix; `Parse`,
/// `Io` and `Verify` concern the intent files and belong in the admin's log.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The example or answer holds nothing (whitespace or punctuation alone).
    #[error("the text is empty")]
    Empty,
    /// The example is longer than [`MAX_EXAMPLE_CHARS`] or the answer than the loader's
    /// [`MAX_ANSWER_CHARS`].
    #[error("the text is too long: {chars} characters (at most {max})")]
    TooLong { chars: usize, max: usize },
    #[error("unknown intent `{0}`")]
    UnknownIntent(String),
    /// The same example (compared as the loader does: case, spacing and trailing
    /// punctuation ignored) is already listed under `intent`, in `path`.
    #[error("this example is already listed under intent `{intent}` ({})", path.display())]
    Duplicate { intent: String, path: PathBuf },
    /// The example to remove is not listed under `intent` (compared as the loader does).
    #[error("intent `{intent}` has no example \"{example}\"")]
    NoSuchExample { intent: String, example: String },
    /// The answer is already exactly this text: nothing was written.
    #[error("the answer of intent `{intent}` is already this text")]
    Unchanged { intent: String },
    /// An intent file the loader cannot read (not UTF-8, too large, not TOML), or whose
    /// `examples` is not an array or `answer` not a string.
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The edited text did not parse back to the old data with exactly the change; nothing
    /// was written. Means a bug here or in `toml_edit`, never a user mistake.
    #[error("refusing to write {}: {message}", path.display())]
    Verify { path: PathBuf, message: String },
}

/// An edit that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// The intent file that was rewritten (inside the directory given).
    pub path: PathBuf,
    pub intent: String,
    /// The text the change was about, as stored: the example added (control characters
    /// made spaces, whitespace collapsed, trimmed), the example removed (as it was written
    /// in the file), or the new answer (line breaks `\n`, trimmed).
    pub example: String,
    /// The change as made, with that same text.
    pub change: Change,
    /// The file's bytes before and after the edit, for [`undo`].
    before: Vec<u8>,
    after: Vec<u8>,
}

/// The name the first edit (appending an example) gave [`Edited`].
pub type Appended = Edited;

/// Appends `example` to the `examples` of intent `intent_id`: [`edit_intent`] with
/// [`Change::AddExample`].
pub fn append_example(dir: &Path, intent_id: &str, example: &str) -> Result<Appended, EditError> {
    edit_intent(dir, intent_id, &Change::AddExample(example.to_string()))
}

/// Finds the intent `intent_id` among `dir/*.toml` (skipping `courses.toml`,
/// `synonyms.toml`, hidden files and `~` backups, as the loader does), makes `change` to it
/// with toml_edit, keeping every comment, blank line and the layout around it, and writes
/// the file atomically (a temp file in the same directory, fsync, then rename over). Every
/// intent file is parsed, so a broken file anywhere refuses the edit with its path.
///
/// - [`Change::AddExample`]: the example is cleaned (control characters and line breaks
///   become spaces, runs of whitespace one space, trimmed) and refused when empty, longer
///   than [`MAX_EXAMPLE_CHARS`], or already listed under any intent of the directory
///   ([`EditError::Duplicate`]). It goes at the end of the array in the array's own style
///   (one item per line with the indentation and trailing-comma choice of the items above,
///   if the array is multi-line; inline otherwise); `examples = [...]` is created if absent.
/// - [`Change::RemoveExample`]: every example of the intent equal to it as the loader
///   compares them is taken out with its line (its own trailing comment too); the comments
///   above it and the neighbours' stay. [`EditError::NoSuchExample`] when there is none.
///   Removing the last example is allowed: whether an intent may have none is the
///   loader's call, at the reload.
/// - [`Change::SetAnswer`]: `\r\n` and lone `\r` become `\n` and surrounding whitespace is
///   trimmed; refused when empty or longer than [`MAX_ANSWER_CHARS`] (the loader's limit).
///   One line is written as `"..."`, several as `"""..."""`; the spacing before the value
///   and a comment after it are kept. The very text in service already gives
///   [`EditError::Unchanged`], writing nothing.
///
/// Blocking (reads the directory, fsyncs): call it from `spawn_blocking` in async code.
pub fn edit_intent(dir: &Path, intent_id: &str, change: &Change) -> Result<Edited, EditError> {
    let change = match change {
        Change::AddExample(example) => Change::AddExample(clean_example(example)?),
        Change::RemoveExample(example) => Change::RemoveExample(clean_line(example)?),
        Change::SetAnswer(answer) => Change::SetAnswer(clean_answer(answer)?),
    };
    let _guard = EDIT_LOCK.lock().unwrap_or_else(PoisonError::into_inner);

    let mut files = intent_files(dir)?;
    let Some(target) = files
        .iter()
        .position(|f| f.intents.iter().any(|(id, _)| id == intent_id))
    else {
        return Err(EditError::UnknownIntent(intent_id.to_string()));
    };
    if let Change::AddExample(example) = &change {
        refuse_duplicate(&files, example)?;
    }
    let mut file = files.swap_remove(target).edit()?;

    let (example, expected) = match &change {
        Change::AddExample(example) => {
            add_to_intent(&mut file, intent_id, example)?;
            (example.clone(), Expected::Added(example))
        }
        Change::RemoveExample(example) => {
            let removed = remove_from_intent(&mut file, intent_id, example)?;
            (removed, Expected::Removed(normalize_example(example)))
        }
        Change::SetAnswer(answer) => {
            set_answer(&mut file, intent_id, answer)?;
            (answer.clone(), Expected::Answer(answer))
        }
    };
    let text = file.doc.to_string();
    verify(&file.text, &text, intent_id, &expected).map_err(|message| EditError::Verify {
        path: file.path.clone(),
        message,
    })?;
    let text = if file.crlf {
        text.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        text
    };
    let bom = if file.bom { "\u{feff}" } else { "" };
    let after = format!("{bom}{text}").into_bytes();
    write_atomically(&file.path, &after).map_err(|source| EditError::Io {
        path: file.path.clone(),
        source,
    })?;
    let change = match change {
        Change::RemoveExample(_) => Change::RemoveExample(example.clone()),
        other => other,
    };
    Ok(Edited {
        path: file.path,
        intent: intent_id.to_string(),
        example,
        change,
        before: format!("{bom}{}", file.text).into_bytes(),
        after,
    })
}

/// Takes an edit back: puts the file's old bytes back (atomically, as the edit was
/// written), but only while the file still holds exactly what the edit wrote. Returns
/// false, changing nothing, when the file has changed since (an editor's save, another
/// edit): restoring then would lose that change.
pub fn undo(edited: &Edited) -> io::Result<bool> {
    let _guard = EDIT_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    if fs::read(&edited.path)? != edited.after {
        return Ok(false);
    }
    write_atomically(&edited.path, &edited.before)?;
    Ok(true)
}

/// [`EditError::Duplicate`] when `example` is listed under any intent of `files`.
fn refuse_duplicate(files: &[IntentFile], example: &str) -> Result<(), EditError> {
    let key = normalize_example(example);
    for file in files {
        for (id, examples) in &file.intents {
            if examples.iter().any(|e| normalize_example(e) == key) {
                return Err(EditError::Duplicate {
                    intent: id.clone(),
                    path: file.path.clone(),
                });
            }
        }
    }
    Ok(())
}

/// The example as it will be stored, or why it cannot be.
fn clean_example(raw: &str) -> Result<String, EditError> {
    let text = clean_line(raw)?;
    let chars = text.chars().count();
    if chars > MAX_EXAMPLE_CHARS {
        return Err(EditError::TooLong {
            chars,
            max: MAX_EXAMPLE_CHARS,
        });
    }
    Ok(text)
}

/// `raw` on one line: control characters and line breaks made spaces, runs of whitespace
/// one space, trimmed; [`EditError::Empty`] when nothing an example could match is left.
fn clean_line(raw: &str) -> Result<String, EditError> {
    let spaced: String = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    // Punctuation alone ("?!") normalizes to nothing and could never be matched.
    if normalize_example(&text).is_empty() {
        return Err(EditError::Empty);
    }
    Ok(text)
}

/// The answer as it will be stored (`\n` line breaks, trimmed), or why it cannot be.
fn clean_answer(raw: &str) -> Result<String, EditError> {
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(EditError::Empty);
    }
    // Counted as the loader counts it, so an answer accepted here is not refused there
    // for its length.
    let chars = text.chars().count();
    if chars > MAX_ANSWER_CHARS {
        return Err(EditError::TooLong {
            chars,
            max: MAX_ANSWER_CHARS,
        });
    }
    Ok(text.to_string())
}

/// Every intent file of `dir`, read and parsed as the loader does (sorted by name); the
/// first one the loader could not read refuses the edit.
fn intent_files(dir: &Path) -> Result<Vec<IntentFile>, EditError> {
    let listing = files::list(dir).map_err(|source| EditError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if let Some(problem) = listing.problems.into_iter().next() {
        return Err(unreadable(problem));
    }
    listing
        .files
        .into_iter()
        .filter(|(_, kind)| *kind == FileKind::Intents)
        .map(|(path, _)| IntentFile::read(path))
        .collect()
}

fn unreadable(diagnostic: Diagnostic) -> EditError {
    EditError::Parse {
        path: diagnostic.path,
        message: diagnostic.message,
    }
}

/// One intent file as the loader reads it.
struct IntentFile {
    path: PathBuf,
    /// The text as read (with its byte-order mark, if any).
    text: String,
    /// Each intent with a string id, with its string examples.
    intents: Vec<(String, Vec<String>)>,
}

impl IntentFile {
    fn read(path: PathBuf) -> Result<Self, EditError> {
        let text = match files::read_text(&path) {
            Ok(text) => text,
            Err(Unreadable::Io(source)) => return Err(EditError::Io { path, source }),
            Err(other) => return Err(unreadable(other.diagnostic(&path))),
        };
        let intents = intent_examples(&path, &text).map_err(unreadable)?;
        Ok(IntentFile {
            path,
            text,
            intents,
        })
    }

    /// The file opened for editing.
    fn edit(self) -> Result<Editing, EditError> {
        let (bom, text) = match self.text.strip_prefix('\u{feff}') {
            Some(rest) => (true, rest.to_string()),
            None => (false, self.text),
        };
        // The loader parsed this text already; a failure here would mean the two parsers
        // of `toml_edit` disagree.
        let doc = text
            .parse::<DocumentMut>()
            .map_err(|err| EditError::Parse {
                path: self.path.clone(),
                message: format!("TOML syntax error: {}", err.message().trim()),
            })?;
        let crlf =
            text.contains('\n') && text.matches('\n').count() == text.matches("\r\n").count();
        Ok(Editing {
            path: self.path,
            text,
            bom,
            doc,
            crlf,
        })
    }
}

/// One intent file being edited with `toml_edit`, which keeps its layout and comments.
struct Editing {
    path: PathBuf,
    /// The text as read, without a byte-order mark.
    text: String,
    /// Whether the file started with a byte-order mark (written back if so).
    bom: bool,
    doc: DocumentMut,
    /// Whether every line ends with `\r\n`: `toml_edit` writes `\n`, so the edited text
    /// is converted back.
    crlf: bool,
}

/// The first intent table of `doc` whose `id` is `intent_id`.
fn intent_table_mut<'d>(
    doc: &'d mut DocumentMut,
    intent_id: &str,
) -> Option<&'d mut dyn TableLike> {
    let is_it = |t: &dyn TableLike| t.get("id").and_then(Item::as_str) == Some(intent_id);
    match doc.get_mut("intent")? {
        Item::ArrayOfTables(tables) => tables
            .iter_mut()
            .find(|t| is_it(*t))
            .map(|t| t as &mut dyn TableLike),
        Item::Value(Value::Array(values)) => values
            .iter_mut()
            .filter_map(|v| v.as_inline_table_mut())
            .find(|t| is_it(*t))
            .map(|t| t as &mut dyn TableLike),
        _ => None,
    }
}

/// Appends `example` to the intent's `examples`, creating `examples = [...]` if absent.
fn add_to_intent(file: &mut Editing, intent_id: &str, example: &str) -> Result<(), EditError> {
    let Some(table) = intent_table_mut(&mut file.doc, intent_id) else {
        return Err(EditError::UnknownIntent(intent_id.to_string()));
    };
    match table.get_mut("examples") {
        None => {
            let array = Array::from_iter([basic_string(example)]);
            table.insert("examples", Item::Value(Value::Array(array)));
        }
        Some(item) => match item.as_array_mut() {
            Some(array) => push_in_style(array, example),
            None => {
                return Err(EditError::Parse {
                    path: file.path.clone(),
                    message: format!(
                        "`examples` of intent `{intent_id}` must be an array, found {}",
                        item.type_name()
                    ),
                })
            }
        },
    }
    Ok(())
}

/// Pushes `text` onto `array` in the array's own layout.
///
/// Multi-line: the item goes on its own line after the last item, with that item's
/// indentation; a comment on the last item's line stays on that line, comments below it
/// stay below the new item. Inline: `, "text"` after the last item, spacing kept.
fn push_in_style(array: &mut Array, text: &str) {
    let len = array.len();
    if is_multiline(array) {
        let indent = item_indent(array);
        let item = basic_string(text);
        if len == 0 || array.trailing_comma() {
            // `"last",<head><tail>]` → `"last",<head>\n<indent>"text",<tail>]`
            let (head, tail) = split_at_line_break(raw(Some(array.trailing())));
            let (head, tail) = (head.to_string(), tail.to_string());
            array.push_formatted(item.decorated(format!("{head}\n{indent}"), ""));
            array.set_trailing(tail);
            array.set_trailing_comma(true);
        } else {
            // `"last"<head><tail>]` → `"last",<head>\n<indent>"text"<tail>]`
            let last = array.get_mut(len - 1).expect("array is not empty");
            let suffix = raw(last.decor().suffix()).to_string();
            let (head, tail) = split_at_line_break(&suffix);
            last.decor_mut().set_suffix("");
            array.push_formatted(item.decorated(format!("{head}\n{indent}"), tail));
        }
    } else if len == 0 {
        array.push_formatted(basic_string(text).decorated("", ""));
        array.set_trailing("");
    } else {
        // `[ "a", "b" ]` → `[ "a", "b", "text" ]`: the new item takes the last item's
        // spacing, the last item takes the spacing of the one before it.
        let decor = |i: usize| array.get(i).map(|v| v.decor().clone());
        let last = decor(len - 1).unwrap_or_default();
        let before = len.checked_sub(2).and_then(decor);
        let prefix = match &before {
            Some(_) => raw(last.prefix()).to_string(),
            None => " ".to_string(),
        };
        let suffix = raw(last.suffix()).to_string();
        let old_suffix = before.as_ref().map_or("", |d| raw(d.suffix())).to_string();
        if let Some(last) = array.get_mut(len - 1) {
            last.decor_mut().set_suffix(old_suffix);
        }
        array.push_formatted(basic_string(text).decorated(prefix, suffix));
    }
}

/// `text` as a one-line basic string (`"..."`), the way examples are usually written,
/// whatever it holds (`toml_edit` alone would pick `'...'` or `"""..."""` for some texts).
fn basic_string(text: &str) -> Value {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    // Cannot fail; `verify` would catch a wrong value anyway.
    quoted.parse().unwrap_or_else(|_| Value::from(text))
}

/// Takes every example of the intent equal to `example` (as the loader compares them) out
/// of its `examples`; returns the first one as it was written.
fn remove_from_intent(
    file: &mut Editing,
    intent_id: &str,
    example: &str,
) -> Result<String, EditError> {
    let no_such = || EditError::NoSuchExample {
        intent: intent_id.to_string(),
        example: example.to_string(),
    };
    let Some(table) = intent_table_mut(&mut file.doc, intent_id) else {
        return Err(EditError::UnknownIntent(intent_id.to_string()));
    };
    let Some(item) = table.get_mut("examples") else {
        return Err(no_such());
    };
    let Some(array) = item.as_array_mut() else {
        return Err(EditError::Parse {
            path: file.path.clone(),
            message: format!(
                "`examples` of intent `{intent_id}` must be an array, found {}",
                item.type_name()
            ),
        });
    };
    let key = normalize_example(example);
    let matching: Vec<usize> = array
        .iter()
        .enumerate()
        .filter(|(_, v)| v.as_str().is_some_and(|e| normalize_example(e) == key))
        .map(|(i, _)| i)
        .collect();
    let Some(first) = matching.first() else {
        return Err(no_such());
    };
    let removed = array
        .get(*first)
        .and_then(Value::as_str)
        .unwrap_or(example)
        .to_string();
    // From the end, so the indices still to remove stay right.
    for &index in matching.iter().rev() {
        remove_in_style(array, index);
    }
    Ok(removed)
}

/// Removes item `index` of `array` with its line, in the array's own layout.
///
/// Multi-line: the item's line goes, with a comment on that line; comment lines above it
/// and the comments of the other items stay. Taking out the last item of an array
/// without a trailing comma also takes out the comma before it. Inline: the item and its
/// comma go, the others' spacing stays.
fn remove_in_style(array: &mut Array, index: usize) {
    let len = array.len();
    let removed = array.remove(index);
    // What separated the item from the comma (or bracket) before it.
    let before = raw(removed.decor().prefix()).to_string();
    if index + 1 < len {
        // `"prev",<before>"item",<after>"next"` → `"prev",<joined>"next"`
        let next = array
            .get_mut(index)
            .expect("the item after the removed one");
        let after = raw(next.decor().prefix());
        let joined = join_lines(&before, after).unwrap_or(before);
        next.decor_mut().set_prefix(joined);
    } else if array.trailing_comma() {
        // `"prev",<before>"item",<after>]` → `"prev",<joined>]`
        let after = raw(Some(array.trailing())).to_string();
        let joined = join_lines(&before, &after).unwrap_or(after);
        array.set_trailing(joined);
        if array.is_empty() {
            array.set_trailing_comma(false);
        }
    } else {
        // `"prev",<before>"item"<after>]` → `"prev"<joined>]`: the comma after `prev`
        // goes too, as the parser would read the result (all of it in `prev`'s suffix).
        let after = format!(
            "{}{}",
            raw(removed.decor().suffix()),
            raw(Some(array.trailing()))
        );
        let joined = join_lines(&before, &after).unwrap_or(after);
        match index.checked_sub(1).and_then(|i| array.get_mut(i)) {
            Some(prev) => {
                let suffix = format!("{}{joined}", raw(prev.decor().suffix()));
                prev.decor_mut().set_suffix(suffix);
                array.set_trailing("");
            }
            None => array.set_trailing(joined),
        }
    }
    if array.is_empty() && !raw(Some(array.trailing())).contains('\n') {
        // `[ ]` → `[]`, as an empty inline array is usually written.
        array.set_trailing("");
    }
}

/// What is left of the whitespace and comments around an item taken out with its line:
/// `before` up to its last line break (the end of the line above, comment lines above the
/// item), then `after` from its first line break (the item's own line comment dropped).
/// `None` when `after` holds no line break: the item did not end a line.
fn join_lines(before: &str, after: &str) -> Option<String> {
    let rest = &after[after.find('\n')?..];
    let kept = before.rfind('\n').map_or("", |at| &before[..at]);
    Some(format!("{kept}{rest}"))
}

/// Replaces the intent's `answer` with `answer`, keeping the spacing before the value and
/// a comment after it; creates `answer = ...` if absent.
fn set_answer(file: &mut Editing, intent_id: &str, answer: &str) -> Result<(), EditError> {
    let Some(table) = intent_table_mut(&mut file.doc, intent_id) else {
        return Err(EditError::UnknownIntent(intent_id.to_string()));
    };
    let Some(item) = table.get_mut("answer") else {
        table.insert("answer", Item::Value(answer_string(answer)));
        return Ok(());
    };
    match item.as_value_mut() {
        Some(value) if value.is_str() => {
            if value.as_str() == Some(answer) {
                return Err(EditError::Unchanged {
                    intent: intent_id.to_string(),
                });
            }
            let decor = value.decor().clone();
            *value = answer_string(answer);
            *value.decor_mut() = decor;
            Ok(())
        }
        _ => Err(EditError::Parse {
            path: file.path.clone(),
            message: format!(
                "`answer` of intent `{intent_id}` must be a string, found {}",
                item.type_name()
            ),
        }),
    }
}

/// `text` as a basic string: `"..."` for one line, `"""..."""` (the text right after the
/// opening quotes, as the intent files write answers) for several. Backslashes and control
/// characters other than line breaks and tabs are escaped; in a multi-line string, quotes
/// only where three would close it.
fn answer_string(text: &str) -> Value {
    let multiline = text.contains('\n');
    let chars: Vec<char> = text.chars().collect();
    let mut quoted = String::from(if multiline { "\"\"\"" } else { "\"" });
    let mut run = 0; // quotes in a row so far
    for (i, &c) in chars.iter().enumerate() {
        run = if c == '"' { run + 1 } else { 0 };
        match c {
            '"' if !multiline => quoted.push_str("\\\""),
            '"' => {
                // Every third quote of a run, and a run that ends the text (it would run
                // into the closing quotes).
                let ends_text = chars[i..].iter().all(|&c| c == '"');
                if run % 3 == 0 || ends_text {
                    quoted.push_str("\\\"");
                } else {
                    quoted.push('"');
                }
            }
            '\\' => quoted.push_str("\\\\"),
            '\n' | '\t' => quoted.push(c),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push_str(if multiline { "\"\"\"" } else { "\"" });
    // Cannot fail; `verify` would catch a wrong value anyway.
    quoted.parse().unwrap_or_else(|_| Value::from(text))
}

/// The text of a decor part (`""` when absent).
fn raw(part: Option<&RawString>) -> &str {
    part.and_then(RawString::as_str).unwrap_or("")
}

/// Whether any whitespace of the array holds a line break.
fn is_multiline(array: &Array) -> bool {
    let decor_breaks = array.iter().any(|v| {
        let decor = v.decor();
        raw(decor.prefix()).contains('\n') || raw(decor.suffix()).contains('\n')
    });
    decor_breaks || raw(Some(array.trailing())).contains('\n')
}

/// The indentation of the last item that starts a line (four spaces if none does).
fn item_indent(array: &Array) -> String {
    (0..array.len())
        .rev()
        .filter_map(|i| array.get(i))
        .find_map(|v| {
            let (_, indent) = raw(v.decor().prefix()).rsplit_once('\n')?;
            indent
                .chars()
                .all(|c| c == ' ' || c == '\t')
                .then(|| indent.to_string())
        })
        .unwrap_or_else(|| "    ".to_string())
}

/// Splits before the first line break: `(" # note", "\n  # more\n")`.
fn split_at_line_break(text: &str) -> (&str, &str) {
    text.split_at(text.find('\n').unwrap_or(text.len()))
}

/// The change [`verify`] expects between the old data and the new.
enum Expected<'a> {
    /// This example at the end of the intent's examples.
    Added(&'a str),
    /// Every example of the intent whose normal form ([`normalize_example`]) is this gone,
    /// the others in their order.
    Removed(String),
    /// The intent's answer this text.
    Answer(&'a str),
}

/// Checks that `new` holds exactly the data of `old` with the `expected` change to intent
/// `intent_id`, whatever the formatting. Both are read as plain data (`toml_edit`'s serde
/// deserializer into JSON values: tables compare without regard to key order).
fn verify(old: &str, new: &str, intent_id: &str, expected: &Expected<'_>) -> Result<(), String> {
    use serde_json::Value as Data;
    let data =
        |text: &str| toml_edit::de::from_str::<Data>(text).map_err(|e| e.message().to_string());
    let old = data(old)?;
    let got = data(new).map_err(|e| format!("the edited file does not parse: {e}"))?;
    let mut want = old.clone();
    let intent = want
        .get_mut("intent")
        .and_then(Data::as_array_mut)
        .and_then(|intents| {
            intents
                .iter_mut()
                .filter_map(Data::as_object_mut)
                .find(|t| t.get("id").and_then(Data::as_str) == Some(intent_id))
        })
        .ok_or_else(|| format!("intent `{intent_id}` not found when checking the edit"))?;
    let what = match expected {
        Expected::Added(example) => {
            examples_of(intent)?.push(Data::from(*example));
            "examples"
        }
        Expected::Removed(key) => {
            examples_of(intent)?
                .retain(|e| e.as_str().is_none_or(|e| normalize_example(e) != *key));
            "examples"
        }
        Expected::Answer(answer) => {
            intent.insert("answer".to_string(), Data::from(*answer));
            "answer"
        }
    };
    if got == old {
        Err(format!("the edit changes nothing in intent `{intent_id}`"))
    } else if got == want {
        Ok(())
    } else {
        Err(format!(
            "the edit would change more than the {what} of intent `{intent_id}`"
        ))
    }
}

/// The intent's `examples` as plain data, created empty if absent.
fn examples_of(
    intent: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<&mut Vec<serde_json::Value>, String> {
    intent
        .entry("examples")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()))
        .as_array_mut()
        .ok_or_else(|| "`examples` is not an array".to_string())
}

/// Replaces `path` with `bytes` the way an editor saves: write a hidden temp file in the
/// same directory, fsync it, rename it over `path`, fsync the directory. A symlink is
/// followed, so the link stays a link; the file's permissions are kept.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let target = fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let permissions = fs::metadata(&target)?.permissions();

    let (tmp, mut file) = create_temp(dir, &name)?;
    let written = (|| {
        file.write_all(bytes)?;
        file.set_permissions(permissions)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, &target)
    })();
    if let Err(err) = written {
        let _ = fs::remove_file(&tmp);
        return Err(err);
    }
    sync_dir(dir);
    Ok(())
}

/// A new hidden file `.<name>.<pid>.<n>.tmp` in `dir` (hidden, so neither the loader nor
/// the watcher takes it for an intent file).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, fs::File)> {
    let pid = std::process::id();
    let mut attempt = 0;
    loop {
        let tmp = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(file) => return Ok((tmp, file)),
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// Makes the rename durable. Best effort: the file is already in place and whole.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(err) = fs::File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(dir = %dir.display(), "cannot fsync intent directory: {err}");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::good_fixture_copy;
    use crate::engine::intents::{load_dir, Limits};

    fn read(dir: &Path, name: &str) -> String {
        fs::read_to_string(dir.join(name)).unwrap()
    }

    /// The examples of `intent` in `dir/name`, read back by the loader's reader.
    fn examples_of(dir: &Path, name: &str, intent: &str) -> Vec<String> {
        let path = dir.join(name);
        let intents = intent_examples(&path, &read(dir, name)).unwrap();
        intents.into_iter().find(|(id, _)| id == intent).unwrap().1
    }

    fn assert_loads_cleanly(dir: &Path) {
        if let Err(refused) = load_dir(dir, &Limits::shipped()) {
            let errors: Vec<String> = refused
                .diagnostics
                .iter()
                .filter(|d| d.severity == crate::engine::intents::Severity::Error)
                .map(|d| d.to_string())
                .collect();
            panic!("{errors:#?}");
        }
    }

    const COMMENTED: &str = "\
# Questions about the role itself.

[[intent]]
id = \"role.overview\" # keep me
title = \"What does the role involve?\"
examples = [
    # the common phrasings
    \"what does the job involve\",

    \"describe a typical day\", # short one
    # more to come
]
answer = \"\"\"Designing, writing and reviewing code.\"\"\"

# Another intent.
[[intent]]
id = \"role.inline\"
title = \"Inline\"
examples = [ \"first inline\", \"second inline\" ]   # inline comment
answer = 'A'

[[intent]]
id = \"role.nocomma\"
title = \"No trailing comma\"
examples = [
  \"alpha one\",
  \"alpha two\" # last
]
answer = \"A\"

[[intent]]
id = \"role.patterns\"
title = \"Patterns only\"
patterns = ['x']
answer = \"A\"
";

    /// Appends to `intent` of a one-file directory holding `text` and returns the new text.
    fn append_to(text: &str, intent: &str, example: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("role.toml"), text).unwrap();
        let appended = append_example(dir.path(), intent, example).unwrap();
        assert_eq!(appended.path, dir.path().join("role.toml"));
        assert_loads_cleanly(dir.path());
        read(dir.path(), "role.toml")
    }

    #[test]
    fn only_the_new_item_is_added() {
        let cases = [
            (
                "multi-line, comments kept around the new line",
                "role.overview",
                "    \"describe a typical day\", # short one\n",
                "    \"describe a typical day\", # short one\n    \"a new one\",\n",
            ),
            (
                "inline, spacing and comment kept",
                "role.inline",
                "[ \"first inline\", \"second inline\" ]   # inline comment",
                "[ \"first inline\", \"second inline\", \"a new one\" ]   # inline comment",
            ),
            (
                "multi-line without trailing comma",
                "role.nocomma",
                "  \"alpha two\" # last\n]",
                "  \"alpha two\", # last\n  \"a new one\"\n]",
            ),
            (
                "no examples yet",
                "role.patterns",
                "patterns = ['x']\nanswer = \"A\"\n",
                "patterns = ['x']\nanswer = \"A\"\nexamples = [\"a new one\"]\n",
            ),
        ];
        for (name, intent, before, after) in cases {
            assert_eq!(COMMENTED.matches(before).count(), 1, "{name}");
            let expected = COMMENTED.replace(before, after);
            assert_eq!(
                append_to(COMMENTED, intent, "a new one"),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn other_layouts_are_kept() {
        let base = "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\n";
        let cases = [
            ("empty inline", "examples = []\n", "examples = [\"new\"]\n"),
            (
                "one inline",
                "examples = [\"x\"]\n",
                "examples = [\"x\", \"new\"]\n",
            ),
            (
                "inline trailing comma",
                "examples = [\"x\", \"y\",]\n",
                "examples = [\"x\", \"y\", \"new\",]\n",
            ),
            (
                "empty multi-line",
                "examples = [\n]\n",
                "examples = [\n    \"new\",\n]\n",
            ),
            (
                "tab indented",
                "examples = [\n\t\"x\",\n]\n",
                "examples = [\n\t\"x\",\n\t\"new\",\n]\n",
            ),
            (
                "first item on the bracket line",
                "examples = [\"x\",\n            \"y\"]\n",
                "examples = [\"x\",\n            \"y\",\n            \"new\"]\n",
            ),
        ];
        for (name, before, after) in cases {
            let text = format!("{base}{before}");
            assert_eq!(
                append_to(&text, "a.b", "new"),
                format!("{base}{after}"),
                "{name}"
            );
        }
    }

    #[test]
    fn inline_intent_tables_are_edited() {
        let text =
            "intent = [{ id = \"a.b\", title = \"T\", answer = \"A\", examples = [\"x\"] }]\n";
        let expected = text.replace("[\"x\"]", "[\"x\", \"new\"]");
        assert_eq!(append_to(text, "a.b", "new"), expected);
    }

    #[test]
    fn crlf_and_byte_order_mark_are_kept() {
        let text = "\u{feff}[[intent]]\r\nid = \"a.b\"\r\ntitle = \"T\"\r\nexamples = [\r\n    \"x\", # c\r\n]\r\nanswer = \"\"\"A\r\nB\"\"\"\r\n";
        let expected = text.replace("# c\r\n", "# c\r\n    \"new\",\r\n");
        assert_eq!(append_to(text, "a.b", "new"), expected);
    }

    #[test]
    fn undo_restores_the_exact_bytes_unless_the_file_changed_since() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        let text = "\u{feff}# kept\r\n[[intent]]\r\nid = \"a.b\"\r\ntitle = \"T\"\r\nexamples = [\"x\"]\r\nanswer = \"A\"\r\n";
        fs::write(&path, text).unwrap();

        let first = append_example(dir.path(), "a.b", "one").unwrap();
        assert!(undo(&first).unwrap());
        assert_eq!(fs::read_to_string(&path).unwrap(), text);

        // Another append after this one: undoing the first would lose the second.
        let first = append_example(dir.path(), "a.b", "one").unwrap();
        append_example(dir.path(), "a.b", "two").unwrap();
        assert!(!undo(&first).unwrap());
        assert_eq!(
            examples_of(dir.path(), "a.toml", "a.b"),
            ["x", "one", "two"]
        );
    }

    #[test]
    fn any_text_is_stored_as_a_valid_string() {
        let dir = good_fixture_copy();
        let cases = [
            ("say \"hi\" to the team", "say \"hi\" to the team"),
            (
                "C:\\path\\to\\job \\n \\u0041",
                "C:\\path\\to\\job \\n \\u0041",
            ),
            ("it's \"both\" 'quotes'", "it's \"both\" 'quotes'"),
            (
                "'''triple''' \"\"\"triple\"\"\"",
                "'''triple''' \"\"\"triple\"\"\"",
            ),
            (
                "  line one\nline two\r\n\tthree\u{0}\u{7f}\u{1b}[31m ",
                "line one line two three [31m",
            ),
            ("über café — 日本語 🦀", "über café — 日本語 🦀"),
            ("# not a comment ] , [", "# not a comment ] , ["),
        ];
        for (raw, stored) in cases {
            let appended = append_example(dir.path(), "role.overview", raw).unwrap();
            assert_eq!(appended.example, stored);
            let examples = examples_of(dir.path(), "role.toml", "role.overview");
            assert_eq!(examples.last().map(String::as_str), Some(stored), "{raw:?}");
        }
        assert_eq!(
            examples_of(dir.path(), "role.toml", "role.overview").len(),
            12
        );
        // Written as the other examples are: one `"..."` per line.
        let role = read(dir.path(), "role.toml");
        assert!(
            role.contains("\n    \"say \\\"hi\\\" to the team\",\n"),
            "{role}"
        );
        assert!(
            role.contains("\n    \"C:\\\\path\\\\to\\\\job \\\\n \\\\u0041\",\n"),
            "{role}"
        );
        assert_loads_cleanly(dir.path());
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn refusals() {
        let dir = good_fixture_copy();
        let role = read(dir.path(), "role.toml");
        let refused =
            |intent: &str, example: &str| append_example(dir.path(), intent, example).unwrap_err();

        assert!(
            matches!(refused("role.nope", "hello?"), EditError::UnknownIntent(id) if id == "role.nope")
        );
        // Courses are not intents, even when an id looks alike.
        assert!(matches!(
            refused("databases_101", "x y"),
            EditError::UnknownIntent(_)
        ));
        assert!(matches!(
            refused("role.overview", " \n\t "),
            EditError::Empty
        ));
        assert!(matches!(refused("role.overview", "?!"), EditError::Empty));
        let long = "a".repeat(MAX_EXAMPLE_CHARS + 1);
        assert!(matches!(
            refused("role.overview", &long),
            EditError::TooLong {
                chars: 501,
                max: 500
            }
        ));
        append_example(dir.path(), "role.overview", &"é".repeat(MAX_EXAMPLE_CHARS)).unwrap();

        // Already listed under another intent, in another file, written differently.
        match refused("role.overview", "  Hi\n THERE ") {
            EditError::Duplicate { intent, path } => {
                assert_eq!(
                    (intent.as_str(), path),
                    ("meta.greeting", dir.path().join("meta.toml"))
                );
            }
            other => panic!("{other:?}"),
        }
        // Already listed under the same intent.
        assert!(matches!(
            refused("role.overview", "Describe a TYPICAL day?"),
            EditError::Duplicate { intent, .. } if intent == "role.overview"
        ));

        // Nothing above touched role.toml except the one accepted example.
        let now = read(dir.path(), "role.toml");
        assert_eq!(now.lines().count(), role.lines().count() + 1);
    }

    #[test]
    fn a_broken_file_is_named() {
        let dir = good_fixture_copy();
        fs::write(dir.path().join("zz.toml"), "[[intent]\nid = \"x\"\n").unwrap();
        match append_example(dir.path(), "role.overview", "new question") {
            Err(err @ EditError::Parse { .. }) => {
                let EditError::Parse { path, .. } = &err else {
                    unreachable!()
                };
                assert_eq!(path, &dir.path().join("zz.toml"));
                assert!(err.to_string().contains("zz.toml"), "{err}");
            }
            other => panic!("{other:?}"),
        }
        fs::write(dir.path().join("zz.toml"), b"x = 1\n\xff").unwrap();
        assert!(matches!(
            append_example(dir.path(), "role.overview", "new question"),
            Err(EditError::Parse { .. })
        ));
        fs::write(
            dir.path().join("zz.toml"),
            "[[intent]]\nid = \"zz.top\"\nexamples = \"one\"\n",
        )
        .unwrap();
        assert!(matches!(
            append_example(dir.path(), "zz.top", "new question"),
            Err(EditError::Parse { message, .. }) if message.contains("must be an array")
        ));
        assert!(matches!(
            append_example(Path::new("/no/such/careerbot/dir"), "a.b", "x"),
            Err(EditError::Io { .. })
        ));
    }

    #[test]
    fn the_fixture_still_loads_after_appends() {
        let dir = good_fixture_copy();
        for (intent, example) in [
            ("role.overview", "what happens in a normal week"),
            ("role.skills", "do I need to know linux"),
            ("meta.help", "what are you for"),
            ("role.courses", "any classes on sql?"),
        ] {
            append_example(dir.path(), intent, example).unwrap();
        }
        let loaded = load_dir(dir.path(), &Limits::shipped()).unwrap();
        let shown: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
        assert!(shown.is_empty(), "{shown:#?}");
        let overview = loaded
            .set
            .intents()
            .iter()
            .find(|i| i.id == "role.overview")
            .unwrap();
        assert_eq!(
            overview.examples.last().unwrap(),
            "what happens in a normal week"
        );
    }

    #[test]
    fn the_real_intent_files_change_by_one_line_per_example() {
        let dir = tempfile::tempdir().unwrap();
        let intents = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
        for entry in fs::read_dir(intents).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        let loaded = load_dir(dir.path(), &Limits::shipped()).unwrap();
        assert!(!loaded.set.intents().is_empty());
        for intent in loaded.set.intents() {
            let before = fs::read_to_string(&intent.location.path).unwrap();
            let example = format!("careerbot edit test for {}", intent.id);
            let appended = append_example(dir.path(), &intent.id, &example).unwrap();
            assert_eq!(appended.path, intent.location.path);
            let after = fs::read_to_string(&intent.location.path).unwrap();
            // One more line in the list, or the list itself for an intent matched by its
            // patterns alone (the "more" intent).
            let added = if intent.examples.is_empty() {
                format!("examples = [\"{example}\"]")
            } else {
                format!("\"{example}\",")
            };
            let at = after
                .lines()
                .position(|l| l.trim() == added)
                .expect(&intent.id);
            let mut lines: Vec<&str> = after.lines().collect();
            lines.remove(at);
            assert_eq!(lines, before.lines().collect::<Vec<_>>(), "{}", intent.id);
            assert_eq!(after.ends_with('\n'), before.ends_with('\n'));
        }
        assert_loads_cleanly(dir.path());
    }

    #[test]
    fn an_edit_that_changes_anything_else_is_refused() {
        let old = "top = 1\n[[intent]]\nid = \"a.b\"\n";
        let good = "top = 1\n[[intent]]\nid = \"a.b\"\nexamples = [\"x\"]\n";
        assert_eq!(verify(old, good, "a.b", &Expected::Added("x")), Ok(()));
        for bad in [
            good.replace("top = 1", "top = 2"),
            good.replace("[\"x\"]", "[\"x\", \"x\"]"),
            good.replace("\"x\"", "\"y\""),
            good.replace("[[intent]]", "[intent]"),
        ] {
            assert!(
                verify(old, &bad, "a.b", &Expected::Added("x")).is_err(),
                "{bad}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn permissions_and_symlinks_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = good_fixture_copy();
        let role = dir.path().join("role.toml");
        fs::set_permissions(&role, fs::Permissions::from_mode(0o640)).unwrap();
        append_example(dir.path(), "role.overview", "first new").unwrap();
        assert_eq!(
            fs::metadata(&role).unwrap().permissions().mode() & 0o777,
            0o640
        );

        let elsewhere = tempfile::tempdir().unwrap();
        let real = elsewhere.path().join("real.toml");
        fs::rename(&role, &real).unwrap();
        std::os::unix::fs::symlink(&real, &role).unwrap();
        append_example(dir.path(), "role.overview", "second new").unwrap();
        assert!(fs::symlink_metadata(&role)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(fs::read_to_string(&real).unwrap().contains("second new"));
    }

    /// Makes `change` to `intent` of a one-file directory holding `text`; the new text.
    fn edit_to(text: &str, intent: &str, change: &Change) -> String {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("role.toml"), text).unwrap();
        let edited = edit_intent(dir.path(), intent, change).unwrap();
        assert_eq!(edited.path, dir.path().join("role.toml"));
        read(dir.path(), "role.toml")
    }

    fn remove(example: &str) -> Change {
        Change::RemoveExample(example.to_string())
    }

    fn set_answer(answer: &str) -> Change {
        Change::SetAnswer(answer.to_string())
    }

    /// Every file of `dir` by name, as bytes.
    fn bytes_of(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.clone(), fs::read(p).unwrap()))
            .collect();
        files.sort();
        files
    }

    /// The answer of `intent` as the loader reads `dir`.
    fn answer_of(dir: &Path, intent: &str) -> String {
        let loaded = load_dir(dir, &Limits::shipped()).unwrap();
        let found = loaded.set.intents().iter().find(|i| i.id == intent);
        found.unwrap().answer.clone()
    }

    #[test]
    fn only_the_removed_line_goes() {
        let cases = [
            (
                "multi-line, the comment above kept, written differently",
                "role.overview",
                "What does the JOB involve?",
                "    # the common phrasings\n    \"what does the job involve\",\n\n",
                "    # the common phrasings\n\n",
            ),
            (
                "multi-line, last item: its comment goes, the one below stays",
                "role.overview",
                "describe a typical day",
                "\n\n    \"describe a typical day\", # short one\n    # more to come\n]",
                "\n\n    # more to come\n]",
            ),
            (
                "inline, first item",
                "role.inline",
                "first inline",
                "[ \"first inline\", \"second inline\" ]   # inline comment",
                "[ \"second inline\" ]   # inline comment",
            ),
            (
                "inline, last item",
                "role.inline",
                "second inline",
                "[ \"first inline\", \"second inline\" ]   # inline comment",
                "[ \"first inline\" ]   # inline comment",
            ),
            (
                "last item without trailing comma: no comma left behind",
                "role.nocomma",
                "alpha two",
                "  \"alpha one\",\n  \"alpha two\" # last\n]",
                "  \"alpha one\"\n]",
            ),
            (
                "first item without trailing comma",
                "role.nocomma",
                "alpha one",
                "  \"alpha one\",\n  \"alpha two\" # last\n]",
                "  \"alpha two\" # last\n]",
            ),
        ];
        for (name, intent, example, before, after) in cases {
            assert_eq!(COMMENTED.matches(before).count(), 1, "{name}");
            let expected = COMMENTED.replacen(before, after, 1);
            assert_eq!(
                edit_to(COMMENTED, intent, &remove(example)),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn removals_keep_other_layouts() {
        let base = "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\n";
        let cases = [
            (
                "only inline item",
                "x",
                "examples = [\"x\"]\n",
                "examples = []\n",
            ),
            (
                "only multi-line item",
                "x",
                "examples = [\n    \"x\",\n]\n",
                "examples = [\n]\n",
            ),
            (
                "only item, a comment above it kept",
                "x",
                "examples = [\n    # c\n    \"x\",\n]\n",
                "examples = [\n    # c\n]\n",
            ),
            (
                "inline trailing comma",
                "y",
                "examples = [\"x\", \"y\",]\n",
                "examples = [\"x\",]\n",
            ),
            (
                "inline first, none of its spacing left",
                "x",
                "examples = [\"x\", \"y\"]\n",
                "examples = [\"y\"]\n",
            ),
            (
                "inline middle",
                "y",
                "examples = [\"x\", \"y\", \"z\"]\n",
                "examples = [\"x\", \"z\"]\n",
            ),
            (
                "middle line, each neighbour's comment kept",
                "y",
                "examples = [\n  \"x\", # cx\n  \"y\", # cy\n  \"z\", # cz\n]\n",
                "examples = [\n  \"x\", # cx\n  \"z\", # cz\n]\n",
            ),
            (
                "first item on the bracket line",
                "x",
                "examples = [\"x\",\n            \"y\"]\n",
                "examples = [\n            \"y\"]\n",
            ),
            (
                "last item after one on the bracket line",
                "y",
                "examples = [\"x\",\n            \"y\"]\n",
                "examples = [\"x\"]\n",
            ),
            (
                "every spelling of it",
                "HI  there",
                "examples = [\"Hi there\", \"x\", \"hi there?\"]\n",
                "examples = [\"x\"]\n",
            ),
        ];
        for (name, example, before, after) in cases {
            let text = format!("{base}{before}");
            assert_eq!(
                edit_to(&text, "a.b", &remove(example)),
                format!("{base}{after}"),
                "{name}"
            );
        }
        // An inline intent table.
        let text = "intent = [{ id = \"a.b\", title = \"T\", answer = \"A\", examples = [\"x\", \"y\"] }]\n";
        let expected = text.replace("[\"x\", \"y\"]", "[\"y\"]");
        assert_eq!(edit_to(text, "a.b", &remove("x")), expected);
    }

    #[test]
    fn a_removal_reports_the_example_as_written_and_leaves_a_loadable_file() {
        let dir = good_fixture_copy();
        let edited = edit_intent(
            dir.path(),
            "role.skills",
            &remove("WHAT SHOULD I LEARN FIRST?!"),
        )
        .unwrap();
        assert_eq!(edited.example, "what should I learn first");
        assert_eq!(edited.change, remove("what should I learn first"));
        assert_eq!(
            examples_of(dir.path(), "role.toml", "role.skills"),
            [
                "which skills do I need",
                "what are the most important skills",
                "which programming language should I learn",
                "what do employers look for",
            ]
        );
        assert_loads_cleanly(dir.path());
    }

    #[test]
    fn removing_what_is_not_there_changes_nothing() {
        let dir = good_fixture_copy();
        let before = bytes_of(dir.path());
        let refused = |intent: &str, example: &str| {
            edit_intent(dir.path(), intent, &remove(example)).unwrap_err()
        };
        match refused("role.overview", "how do I bake bread") {
            EditError::NoSuchExample { intent, example } => {
                assert_eq!(
                    (intent.as_str(), example.as_str()),
                    ("role.overview", "how do I bake bread")
                );
            }
            other => panic!("{other:?}"),
        }
        // Listed, but under another intent.
        assert!(matches!(
            refused("role.overview", "hi there"),
            EditError::NoSuchExample { intent, .. } if intent == "role.overview"
        ));
        assert!(matches!(
            refused("role.nope", "hi there"),
            EditError::UnknownIntent(_)
        ));
        assert!(matches!(refused("role.overview", " ?! "), EditError::Empty));
        assert_eq!(bytes_of(dir.path()), before);
    }

    #[test]
    fn an_answer_is_replaced_with_its_decor_kept() {
        let base = "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nexamples = [\"x\"]\n";
        let old = "answer =   \"Old answer.\"   # keep this\nkeywords = [\"k\"]\n";
        let cases = [
            (
                "one line",
                "  New answer, with \"quotes\"\tand a tab.  ",
                "answer =   \"New answer, with \\\"quotes\\\"\tand a tab.\"   # keep this\n",
            ),
            (
                "several lines, \\r\\n made \\n",
                "Line one\r\n\r\n- two \"quoted\"\r\n",
                "answer =   \"\"\"Line one\n\n- two \"quoted\\\"\"\"\"   # keep this\n",
            ),
        ];
        for (name, answer, written) in cases {
            let text = format!("{base}{old}");
            let expected = format!("{base}{written}keywords = [\"k\"]\n");
            assert_eq!(
                edit_to(&text, "a.b", &set_answer(answer)),
                expected,
                "{name}"
            );
        }
        // `"""` one-liners (as the intent files write answers) become `"..."`.
        let text = format!("{base}answer = \"\"\"Old.\"\"\"\n");
        assert_eq!(
            edit_to(&text, "a.b", &set_answer("New.")),
            format!("{base}answer = \"New.\"\n")
        );
        // An intent without an answer gets one.
        assert_eq!(
            edit_to(base, "a.b", &set_answer("New.")),
            format!("{base}answer = \"New.\"\n")
        );
    }

    #[test]
    fn a_crlf_file_gets_an_answer_with_crlf_lines() {
        let text = "\u{feff}[[intent]]\r\nid = \"a.b\"\r\ntitle = \"T\"\r\nexamples = [\"x\"]\r\nanswer = \"A\" # c\r\n";
        let expected = text.replace("\"A\"", "\"\"\"B\r\n\r\nC\"\"\"");
        assert_eq!(edit_to(text, "a.b", &set_answer("B\n\nC")), expected);
    }

    #[test]
    fn any_answer_reads_back_exactly() {
        let dir = good_fixture_copy();
        let answers = [
            "C:\\path\\to\\job \\n \\u0041 \\\"",
            "say \"hi\"",
            "\"quoted\" from start to end \"",
            "a line ending in a backslash \\\nnext line",
            "three \"\"\" four \"\"\"\" five \"\"\"\"\" six \"\"\"\"\"\"\nend",
            "\"\"\"\nthe text starts and ends with triple quotes\n\"\"\"",
            "starts\nand ends with two quotes\"\"",
            "'''literal''' looking\n# not a comment\n[not.a.table]\n\tindented",
            "bell \u{7} escape \u{1b}[31m del \u{7f}\nüber café — 日本語 🦀",
            "**Markdown** answer:\n\n- one\n- two\n\n> quoted",
        ];
        for answer in answers {
            let edited = edit_intent(dir.path(), "role.overview", &set_answer(answer)).unwrap();
            assert_eq!(edited.example, answer);
            assert_eq!(edited.change, set_answer(answer));
            assert_eq!(answer_of(dir.path(), "role.overview"), answer, "{answer:?}");
        }
        assert_loads_cleanly(dir.path());
        // Only the answer's lines changed: the rest of the file is as it was.
        let role = read(dir.path(), "role.toml");
        let original = fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good/role.toml"),
        )
        .unwrap();
        let answer_line = original
            .lines()
            .find(|l| l.starts_with("answer = \"\"\"Most of the day"))
            .unwrap();
        let (head, tail) = original.split_once(answer_line).unwrap();
        assert!(role.starts_with(&format!("{head}answer = \"\"\"**Markdown** answer:\n")));
        assert!(role.ends_with(&format!("> quoted\"\"\"{tail}")), "{role}");
    }

    #[test]
    fn answer_refusals_write_nothing() {
        let dir = good_fixture_copy();
        let current = answer_of(dir.path(), "role.overview");
        let before = bytes_of(dir.path());
        let refused = |answer: &str| {
            edit_intent(dir.path(), "role.overview", &set_answer(answer)).unwrap_err()
        };
        assert!(matches!(refused(" \r\n\t "), EditError::Empty));
        let long = "é".repeat(MAX_ANSWER_CHARS + 1);
        assert!(matches!(
            refused(&long),
            EditError::TooLong { chars, max } if chars == MAX_ANSWER_CHARS + 1 && max == MAX_ANSWER_CHARS
        ));
        // The answer in service, give or take surrounding whitespace: nothing to change.
        assert!(matches!(
            refused(&format!("\n{current}  \r\n")),
            EditError::Unchanged { intent } if intent == "role.overview"
        ));
        assert_eq!(bytes_of(dir.path()), before);

        // The loader's limit is the edit's: the longest answer allowed still loads.
        let longest = "é".repeat(MAX_ANSWER_CHARS);
        edit_intent(dir.path(), "role.overview", &set_answer(&longest)).unwrap();
        assert_eq!(answer_of(dir.path(), "role.overview"), longest);

        fs::write(
            dir.path().join("zz.toml"),
            "[[intent]]\nid = \"zz.top\"\nexamples = [\"zz\"]\nanswer = 5\n",
        )
        .unwrap();
        assert!(matches!(
            edit_intent(dir.path(), "zz.top", &set_answer("text")),
            Err(EditError::Parse { message, .. }) if message.contains("must be a string")
        ));
    }

    #[test]
    fn every_kind_of_edit_can_be_undone() {
        let dir = good_fixture_copy();
        let original = bytes_of(dir.path());
        for change in [
            Change::AddExample("a brand new question".to_string()),
            remove("describe a typical day"),
            set_answer("A new answer.\n\nOn two paragraphs."),
        ] {
            let edited = edit_intent(dir.path(), "role.overview", &change).unwrap();
            assert_ne!(bytes_of(dir.path()), original, "{change:?}");
            assert!(undo(&edited).unwrap(), "{change:?}");
            assert_eq!(bytes_of(dir.path()), original, "{change:?}");
        }
    }

    #[test]
    fn the_real_intent_files_lose_one_line_per_removed_example() {
        let dir = tempfile::tempdir().unwrap();
        let intents = Path::new(env!("CARGO_MANIFEST_DIR")).join("intents");
        for entry in fs::read_dir(intents).unwrap() {
            let entry = entry.unwrap();
            fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        let loaded = load_dir(dir.path(), &Limits::shipped()).unwrap();
        let mut removed = 0;
        for intent in loaded.set.intents() {
            // The middle one, and the last one (the comma rules differ at the end).
            let picks = [
                intent.examples.len() / 2,
                intent.examples.len().wrapping_sub(1),
            ];
            for example in picks.iter().filter_map(|&i| intent.examples.get(i)) {
                let before = fs::read_to_string(&intent.location.path).unwrap();
                let quoted = format!("\"{example}\"");
                let lines: Vec<&str> = before.lines().collect();
                let at: Vec<usize> = (0..lines.len())
                    .filter(|&i| lines[i].trim_start().starts_with(&quoted))
                    .collect();
                let [at] = at[..] else {
                    panic!("{}: {example:?} on {} lines", intent.id, at.len())
                };
                edit_intent(dir.path(), &intent.id, &remove(example)).unwrap();
                let after = fs::read_to_string(&intent.location.path).unwrap();
                let mut expected = lines.clone();
                expected.remove(at);
                assert_eq!(after.lines().collect::<Vec<_>>(), expected, "{example:?}");
                assert_eq!(after.ends_with('\n'), before.ends_with('\n'));
                removed += 1;
            }
        }
        assert!(removed > 50, "{removed}");
        assert_loads_cleanly(dir.path());
    }

    #[test]
    fn a_removal_or_answer_that_changes_anything_else_is_refused() {
        let old = "top = 1\n[[intent]]\nid = \"a.b\"\nanswer = \"A\"\nexamples = [\"x\", \"Y?\", \"z\"]\n";
        let removed = old.replace("\"Y?\", ", "");
        let key = || Expected::Removed(normalize_example("y"));
        assert_eq!(verify(old, &removed, "a.b", &key()), Ok(()));
        for bad in [
            old.to_string(),
            removed.replace("top = 1", "top = 2"),
            removed.replace("\"x\", ", ""),
            removed.replace("[\"x\", \"z\"]", "[\"z\", \"x\"]"),
            removed.replace("answer = \"A\"", "answer = \"B\""),
        ] {
            assert!(verify(old, &bad, "a.b", &key()).is_err(), "{bad}");
        }
        let answered = old.replace("\"A\"", "\"\"\"B\nC\"\"\"");
        assert_eq!(
            verify(old, &answered, "a.b", &Expected::Answer("B\nC")),
            Ok(())
        );
        for bad in [
            old.to_string(),
            answered.replace("B\nC", "B\nD"),
            answered.replace("\"x\", ", ""),
            answered.replace("id = \"a.b\"", "id = \"a.c\""),
        ] {
            assert!(
                verify(old, &bad, "a.b", &Expected::Answer("B\nC")).is_err(),
                "{bad}"
            );
        }
    }
}
