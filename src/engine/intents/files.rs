//! Which files of an intent directory are read, and reading one.
//!
//! The rule is written once, in [`kind_of`]: a visible `*.toml` file directly in the
//! directory is read, by what its name says it holds; hidden files (our own `.x.toml.tmp`),
//! editor backups and swap files (`x.toml~`, `x.toml.swp`, `#x.toml#`) and every other
//! extension are not. The loader, the example editor and the reload watcher all ask it.

use std::ffi::OsStr;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::parse::LineIndex;
use super::{Diagnostic, Severity};

/// Largest file the loader reads; a bigger file is reported, not read.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// The file of a directory that holds the `[[course]]` catalog.
pub const COURSES_FILE: &str = "courses.toml";
/// The file of a directory that holds the synonyms.
pub const SYNONYMS_FILE: &str = "synonyms.toml";
/// The file of a directory that holds the `[[lookup]]` word classes (optional).
pub const LOOKUPS_FILE: &str = "lookups.toml";

/// What a file of an intent directory holds, told by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// [`COURSES_FILE`]: `[[course]]` tables.
    Courses,
    /// [`SYNONYMS_FILE`]: `canonical = ["variant", ...]`.
    Synonyms,
    /// [`LOOKUPS_FILE`]: `[[lookup]]` tables (`class`, `entries`).
    Lookups,
    /// Any other read file: `[[intent]]` tables.
    Intents,
}

/// What the file named `name` holds, or `None` when the loader does not read it.
pub fn kind_of(name: &OsStr) -> Option<FileKind> {
    let name = name.to_string_lossy();
    if name.starts_with('.') || !name.ends_with(".toml") {
        return None;
    }
    Some(match &*name {
        COURSES_FILE => FileKind::Courses,
        SYNONYMS_FILE => FileKind::Synonyms,
        LOOKUPS_FILE => FileKind::Lookups,
        _ => FileKind::Intents,
    })
}

/// The files of a directory the loader reads.
#[derive(Debug, Default)]
pub struct Listing {
    /// Sorted by name, with their kinds.
    pub files: Vec<(PathBuf, FileKind)>,
    /// An entry that could not be listed or inspected (an error).
    pub problems: Vec<Diagnostic>,
}

/// The files of `dir` the loader reads. `Err` when `dir` cannot be listed at all.
pub fn list(dir: &Path) -> io::Result<Listing> {
    let mut listing = Listing::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                let message = format!("cannot list directory entry: {err}");
                listing.problems.push(Diagnostic::whole_file(dir, message));
                continue;
            }
        };
        let Some(kind) = kind_of(&entry.file_name()) else {
            continue;
        };
        let path = entry.path();
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() => listing.files.push((path, kind)),
            Ok(_) => {}
            Err(err) => {
                let message = format!("cannot read file: {err}");
                listing
                    .problems
                    .push(Diagnostic::whole_file(&path, message));
            }
        }
    }
    listing
        .files
        .sort_by(|(a, _), (b, _)| a.file_name().cmp(&b.file_name()));
    Ok(listing)
}

/// Why a file's text cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    #[error("cannot read file: {0}")]
    Io(#[from] io::Error),
    #[error("file is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge,
    /// The first byte that is not UTF-8 is at this 1-based line and column.
    #[error("file is not valid UTF-8")]
    NotUtf8 { line: usize, col: usize },
}

impl Unreadable {
    /// The problem as the loader reports it, at its place in `path`.
    pub fn diagnostic(&self, path: &Path) -> Diagnostic {
        let (line, col) = match self {
            Unreadable::NotUtf8 { line, col } => (*line, *col),
            _ => (0, 0),
        };
        Diagnostic {
            path: path.to_path_buf(),
            line,
            col,
            severity: Severity::Error,
            message: self.to_string(),
        }
    }
}

/// A file's text as written (a byte-order mark is kept: positions skip it), or why it cannot
/// be used: unreadable, larger than [`MAX_FILE_BYTES`], not UTF-8.
pub fn read_text(path: &Path) -> Result<String, Unreadable> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Unreadable::TooLarge);
    }
    String::from_utf8(bytes).map_err(|err| {
        let bytes = err.as_bytes();
        let valid = err.utf8_error().valid_up_to();
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let (line, col) = LineIndex::new(prefix).position(valid);
        Unreadable::NotUtf8 { line, col }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_toml_files_are_read_by_what_their_name_says() {
        let cases = [
            ("role.toml", Some(FileKind::Intents)),
            ("courses.toml", Some(FileKind::Courses)),
            ("synonyms.toml", Some(FileKind::Synonyms)),
            ("lookups.toml", Some(FileKind::Lookups)),
            (".hidden.toml", None),
            (".x.toml.123.0.tmp", None),
            ("x.toml~", None),
            ("x.toml.swp", None),
            ("#x.toml#", None),
            (".#x.toml", None),
            ("4913", None),
            ("notes.txt", None),
        ];
        for (name, kind) in cases {
            assert_eq!(kind_of(OsStr::new(name)), kind, "{name}");
        }
    }
}
