//! The valid set: everything in an intent directory, once every check passed.
//!
//! Its fields are private and only the loader builds one, so holding a [`ValidSet`] is the
//! proof that the checks passed: ids unique, references resolved, every pattern compiled,
//! no example claimed by two intents. The engine is built from nothing else.
//!
//! Its intents are sorted by id, once, here: an intent's position in that order is its
//! [`IntentIndex`] everywhere (matcher classes, scores, candidates), so no part maps one
//! order to another. The files' own order is kept aside for listings people read.

use super::{Counts, Course, CourseAlias, Draft, Intent, Lookup, PatternSet, Synonym};
use crate::engine::index::IntentIndex;

/// Everything in an intent directory, fully validated.
#[derive(Debug, Clone)]
pub struct ValidSet {
    /// Its intents sorted by id.
    draft: Draft,
    /// The intents in load order (files by name, tables in file order).
    as_written: Vec<IntentIndex>,
    /// Every pattern of the set compiled together, each owned by its intent's index.
    patterns: PatternSet,
    digest: String,
}

impl ValidSet {
    /// Only the loader calls this, after the checks found no error and compiled the
    /// patterns of `draft`'s intents, in `draft`'s order, into `patterns`.
    pub(super) fn new(mut draft: Draft, patterns: PatternSet, digest: String) -> ValidSet {
        let mut order: Vec<usize> = (0..draft.intents.len()).collect();
        // Ids are unique (checked), so the order is total.
        order.sort_by(|&a, &b| draft.intents[a].id.cmp(&draft.intents[b].id));
        let mut as_written = vec![IntentIndex::new(0); order.len()];
        for (index, &position) in order.iter().enumerate() {
            as_written[position] = IntentIndex::new(index);
        }
        let owners = draft
            .intents
            .iter()
            .zip(&as_written)
            .flat_map(|(intent, &index)| std::iter::repeat_n(index, intent.patterns.len()))
            .collect();
        let mut written: Vec<Option<Intent>> = std::mem::take(&mut draft.intents)
            .into_iter()
            .map(Some)
            .collect();
        draft.intents = order
            .iter()
            .filter_map(|&position| written[position].take())
            .collect();
        ValidSet {
            draft,
            as_written,
            patterns: patterns.owned_by(owners),
            digest,
        }
    }

    /// Sorted by id: position `i` is `IntentIndex::new(i)`.
    pub fn intents(&self) -> &[Intent] {
        &self.draft.intents
    }

    /// The intents' indexes in load order.
    pub fn written_order(&self) -> &[IntentIndex] {
        &self.as_written
    }

    /// In load order (files by name, tables in file order): how a reader expects to see
    /// them listed.
    pub fn intents_as_written(&self) -> impl ExactSizeIterator<Item = &Intent> {
        self.as_written
            .iter()
            .map(|index| &self.draft.intents[index.get()])
    }

    /// Every intent's patterns, compiled into one program.
    pub fn patterns(&self) -> &PatternSet {
        &self.patterns
    }

    pub fn courses(&self) -> &[Course] {
        &self.draft.courses
    }

    /// The `[[alias]]` tables of `courses.toml`, as written.
    pub fn course_aliases(&self) -> &[CourseAlias] {
        &self.draft.course_aliases
    }

    pub fn synonyms(&self) -> &[Synonym] {
        &self.draft.synonyms
    }

    /// The word classes of `lookups.toml`, as written (none without the file).
    pub fn lookups(&self) -> &[Lookup] {
        &self.draft.lookups
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
