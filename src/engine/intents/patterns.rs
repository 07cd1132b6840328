//! An intent's `patterns`: each one checked on its own, then all of a set compiled
//! together into one [`PatternSet`] that the matcher runs in one pass over a question.
//!
//! The design choice that matters: a pattern's text is bounded by its length before the
//! regex engine sees it (compiling a 4 MB literal takes 1.5 GB just to refuse it by its
//! compiled size), and the set's patterns are bounded together by the size of the one
//! program they compile to, so many small patterns cannot add up to a slow or large
//! matcher either. Single patterns are compiled only to be checked and then dropped: the
//! set is what answers.

use std::ops::Range;

use regex::{RegexBuilder, RegexSet, RegexSetBuilder};

use super::limits::{setting, Limits};
use crate::engine::index::IntentIndex;

/// Size limit of one compiled `patterns` regex, so a hostile pattern cannot exhaust memory.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Cache of the set's lazy DFA: the memory one thread matching the set may use on top of
/// the compiled set. One cache for the whole set (it was one per pattern).
const SET_DFA_CACHE: usize = 2 << 20;

/// One `patterns` entry, checked: short enough, valid, and compiled (case-insensitively, as
/// the matcher matches it) under [`REGEX_SIZE_LIMIT`].
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    source: String,
}

/// Why a pattern cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PatternError {
    #[error("empty regex in `patterns`: it would match every question")]
    Empty,
    #[error(
        "regex in `patterns` is too long: {chars} characters (at most {}; it is not compiled)",
        setting("max_pattern_chars", max)
    )]
    TooLong { chars: usize, max: usize },
    #[error("invalid regex in `patterns`: {}", error_text(.0))]
    Invalid(#[from] regex::Error),
}

impl Pattern {
    /// Checks `source`: its length (in characters) against `max_chars` first, then its
    /// syntax and compiled size.
    pub fn new(source: &str, max_chars: usize) -> Result<Pattern, PatternError> {
        if source.is_empty() {
            return Err(PatternError::Empty);
        }
        // More bytes than characters: only a long text is counted.
        if source.len() > max_chars {
            let chars = source.chars().count();
            if chars > max_chars {
                return Err(PatternError::TooLong {
                    chars,
                    max: max_chars,
                });
            }
        }
        RegexBuilder::new(source)
            .case_insensitive(true)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()?;
        Ok(Pattern {
            source: source.to_owned(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// The regex crate's reason on one line (its syntax errors span several lines).
fn error_text(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error:"))
        .map(|reason| reason.trim().to_string())
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Every pattern of a valid set compiled into one program: a question is matched against
/// all of them in one pass, and each hit is told by its position (`owner`).
#[derive(Debug, Clone, Default)]
pub struct PatternSet {
    /// `None` when the set has no pattern.
    regex: Option<RegexSet>,
    /// The intent of each pattern, by position.
    owners: Vec<IntentIndex>,
}

/// The set's patterns compile to more than [`Limits::max_compiled_pattern_bytes`]: the first
/// pattern (position in the order given) at which they do.
#[derive(Debug)]
pub(super) struct SetTooBig {
    pub(super) first_past: usize,
    pub(super) message: String,
}

impl PatternSet {
    /// Compiles `sources` (each already a valid [`Pattern`]) together, bounded by
    /// `limits.max_compiled_pattern_bytes`; `owners` are set later by the valid set.
    pub(super) fn compile(sources: &[&str], limits: &Limits) -> Result<PatternSet, SetTooBig> {
        if sources.is_empty() {
            return Ok(PatternSet::default());
        }
        let max = limits.max_compiled_pattern_bytes;
        match build(sources, max) {
            Ok(regex) => Ok(PatternSet {
                regex: Some(regex),
                owners: Vec::new(),
            }),
            Err(regex::Error::CompiledTooBig(_)) => Err(SetTooBig {
                first_past: first_too_big(sources, max),
                message: format!(
                    "the set's patterns compile to more than {} bytes together, from this \
                     one on ({})",
                    max,
                    setting("max_compiled_pattern_bytes", max)
                ),
            }),
            // Each pattern compiled alone, so only the whole can fail.
            Err(other) => Err(SetTooBig {
                first_past: 0,
                message: format!("the set's patterns cannot be compiled together: {other}"),
            }),
        }
    }

    /// The same set, its pattern at position `i` owned by `owners[i]`.
    pub(super) fn owned_by(self, owners: Vec<IntentIndex>) -> PatternSet {
        PatternSet { owners, ..self }
    }

    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    /// The intent of pattern `i`.
    pub fn owner(&self, i: usize) -> IntentIndex {
        self.owners[i]
    }

    /// Pattern `i` as written.
    pub fn source(&self, i: usize) -> &str {
        self.regex.as_ref().map_or("", |set| &set.patterns()[i])
    }

    /// The positions of the patterns that match `text`, in order. Most questions match
    /// none: a plain search (which stops at the first hit) answers those before the search
    /// for every hit runs.
    pub fn matches(&self, text: &str) -> Vec<usize> {
        match &self.regex {
            Some(set) if set.is_match(text) => set.matches(text).into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// `sources` compiled together, case-insensitively, under `max` bytes.
pub(super) fn build(sources: &[&str], max: usize) -> Result<RegexSet, regex::Error> {
    RegexSetBuilder::new(sources)
        .case_insensitive(true)
        .size_limit(max)
        .dfa_size_limit(SET_DFA_CACHE)
        .build()
}

/// The first position at which `sources[..=i]` compile to more than `max` bytes (the whole
/// does): a binary search, each step stopped by the limit as soon as it is crossed.
fn first_too_big(sources: &[&str], max: usize) -> usize {
    let fits = |end: usize| build(&sources[..end], max).is_ok();
    // The prefix of length `fitting.start` fits, that of `fitting.end` does not.
    let mut fitting: Range<usize> = 0..sources.len();
    while fitting.end - fitting.start > 1 {
        let mid = fitting.start + (fitting.end - fitting.start) / 2;
        if fits(mid) {
            fitting.start = mid;
        } else {
            fitting.end = mid;
        }
    }
    fitting.end - 1
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    #[test]
    fn a_long_pattern_is_refused_by_its_length_before_it_is_compiled() {
        // 4 MB of literal text: compiling it would take gigabytes before refusing it.
        let long = "a".repeat(4 << 20);
        match Pattern::new(&long, 1000) {
            Err(PatternError::TooLong { chars, max }) => {
                assert_eq!((chars, max), (4 << 20, 1000))
            }
            other => panic!("{other:?}"),
        }
        // Counted in characters, not bytes.
        assert!(Pattern::new(&"é".repeat(1000), 1000).is_ok());
        assert!(Pattern::new(&"é".repeat(1001), 1000).is_err());
    }

    /// The smallest power of two that `source` compiles within: more than its size, less
    /// than twice it.
    pub(in super::super) fn fitting_one(source: &str) -> usize {
        (8..30)
            .map(|p| 1usize << p)
            .find(|&max| build(&[source], max).is_ok())
            .unwrap()
    }

    #[test]
    fn the_first_pattern_past_the_total_size_is_found() {
        let sources: Vec<String> = (0..40).map(|i| format!("[a-z]{{18}}q{i}")).collect();
        let sources: Vec<&str> = sources.iter().map(String::as_str).collect();
        // One pattern fits, three cannot.
        let max = fitting_one(sources[0]);
        let limits = Limits {
            max_compiled_pattern_bytes: max,
            ..Limits::UNBOUNDED
        };
        let refused = PatternSet::compile(&sources, &limits).unwrap_err();
        let first = refused.first_past;
        assert!((1..=2).contains(&first), "{first}");
        assert!(build(&sources[..first], max).is_ok());
        assert!(build(&sources[..=first], max).is_err());
        let setting = format!("max_compiled_pattern_bytes = {max}");
        assert!(refused.message.contains(&setting), "{}", refused.message);
        assert!(PatternSet::compile(&sources[..first], &limits).is_ok());
    }
}
