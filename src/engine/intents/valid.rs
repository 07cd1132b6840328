//! The valid set: everything in an intent directory, once every check passed.
//!
//! Its fields are private and only the loader builds one, so holding a [`ValidSet`] is the
//! proof that the checks passed: ids unique, references resolved, every pattern compiled,
//! no example claimed by two intents. The engine is built from nothing else.

use std::path::Path;

use super::{Counts, Course, Draft, Intent, Synonym};

/// Everything in an intent directory, fully validated.
#[derive(Debug, Clone)]
pub struct ValidSet {
    draft: Draft,
    digest: String,
}

impl ValidSet {
    /// Only the loader calls this, after the checks found no error.
    pub(super) fn new(draft: Draft, digest: String) -> ValidSet {
        ValidSet { draft, digest }
    }

    /// The directory the set was read from.
    pub fn dir(&self) -> &Path {
        &self.draft.dir
    }

    /// In load order: files by name, tables in file order.
    pub fn intents(&self) -> &[Intent] {
        &self.draft.intents
    }

    pub fn courses(&self) -> &[Course] {
        &self.draft.courses
    }

    pub fn synonyms(&self) -> &[Synonym] {
        &self.draft.synonyms
    }

    /// 16 hex digits identifying the bytes the set was read from: SHA-1 over every file's
    /// name and contents, in load order. Stable across builds and machines, so stored
    /// records can name the set that answered them.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    pub fn counts(&self) -> Counts {
        Counts::of(self.intents(), self.courses())
    }
}
