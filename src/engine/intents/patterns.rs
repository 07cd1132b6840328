//! An intent's `patterns`: each one checked on its own, then all of a set compiled
//! together into one [`PatternSet`] that the matcher runs in one pass over a question.
//!
//! The design choice that matters: a pattern's text is bounded by its length before the
//! regex engine sees it (compiling a 4 MB literal takes 1.5 GB just to refuse it by its
//! compiled size), and the set's patterns are bounded together by the size of the one
//! program they compile to, so many small patterns cannot add up to a slow or large
//! matcher either. Single patterns are compiled only to be checked and then dropped: the
//! set is what answers.

use regex::{RegexSet, RegexSetBuilder};
use regex_syntax::hir::{Class, Hir, HirKind};
use regex_syntax::utf8::Utf8Sequences;

use super::limits::{setting, Limits};
use crate::engine::index::IntentIndex;

/// Limit of one pattern's weight ([`Pattern::weight`], an over-estimate of its compiled
/// size), so one hostile pattern cannot exhaust memory. The heaviest shipped pattern
/// weighs about 1.2 MB (it compiles to 0.2 MB); `\w{18}` weighs 2.9 MB (0.9 MB).
pub const REGEX_SIZE_LIMIT: usize = 4 << 20;

/// Cache of the set's lazy DFA: the most memory one thread matching the set may use on top
/// of the compiled set (a bound, grown only as states are built). One cache for the whole
/// set (it was one per pattern). Measured with `careerbot eval
/// tests/data/career_cases.jsonl --json` on the shipped set: at 2 MiB the cache thrashes
/// and the median question takes 250-270 µs (65-75 µs with one regex per pattern); at
/// 32 MiB, 167 µs, with the same throughput as one regex per pattern.
const SET_DFA_CACHE: usize = 32 << 20;

/// One `patterns` entry, checked: short enough, valid, and compiled (case-insensitively, as
/// the matcher matches it) under [`REGEX_SIZE_LIMIT`].
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    source: String,
    weight: usize,
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
    /// syntax (parsed, not compiled: a pattern is compiled once, with the whole set) and
    /// the size it would compile to ([`Pattern::weight`]) against [`REGEX_SIZE_LIMIT`].
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
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(true)
            .nest_limit(NEST_LIMIT)
            .build()
            .parse(source)
            .map_err(|err| PatternError::Invalid(regex::Error::Syntax(err.to_string())))?;
        let weight = weight(&hir)
            .saturating_mul(BYTES_PER_STATE)
            .saturating_add(BYTES_PER_PATTERN);
        if weight > REGEX_SIZE_LIMIT {
            return Err(PatternError::Invalid(regex::Error::CompiledTooBig(
                REGEX_SIZE_LIMIT,
            )));
        }
        Ok(Pattern {
            source: source.to_owned(),
            weight,
        })
    }

    /// About how many bytes the pattern compiles to, known from its parsed form without
    /// compiling it: each literal byte, each byte range of a character class's UTF-8
    /// encoding and each look-around is one state of the compiled automaton, a bounded
    /// repetition copies its inside, and a state is counted as [`BYTES_PER_STATE`] bytes.
    /// An over-estimate (the compiler shares common suffixes), so that a set whose weights
    /// fit its budget compiles within it.
    pub fn weight(&self) -> usize {
        self.weight
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// How deeply groups and repetitions may nest in one pattern (the regex crate's default is
/// 250; a sentence-sized pattern needs a handful).
const NEST_LIMIT: u32 = 100;

/// Bytes counted per automaton state, and per pattern, in [`Pattern::weight`]; calibrated
/// so that a weight is above the size the regex crate compiles the pattern to (the test
/// `a_weight_is_above_the_compiled_size` checks it on the shipped patterns and on
/// repeated classes). Measured: 15-44 bytes a state, the most for small patterns and
/// small classes (`[a-z]{18}`), the least for large Unicode classes (`\w{18}`, which this
/// over-estimates threefold).
const BYTES_PER_STATE: usize = 48;
const BYTES_PER_PATTERN: usize = 512;

/// The states of `hir` compiled to a byte automaton (see [`Pattern::weight`]), saturating.
fn weight(hir: &Hir) -> usize {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(literal) => literal.0.len().max(1),
        HirKind::Class(Class::Bytes(class)) => class.ranges().len().max(1),
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .map(|range| {
                Utf8Sequences::new(range.start(), range.end())
                    .map(|sequence| sequence.len())
                    .sum::<usize>()
            })
            .sum::<usize>()
            .max(1),
        HirKind::Repetition(repetition) => {
            // `x{n,m}` is m copies of x; `x{n,}` is n copies and a loop over one more.
            let copies = repetition.max.unwrap_or(repetition.min.saturating_add(1));
            weight(&repetition.sub).saturating_mul(copies.max(1) as usize)
        }
        HirKind::Capture(capture) => weight(&capture.sub).saturating_add(2),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => parts
            .iter()
            .fold(parts.len(), |sum, part| sum.saturating_add(weight(part))),
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
    /// Compiles `patterns` together, bounded by `limits.max_compiled_pattern_bytes`: their
    /// weights ([`Pattern::weight`]) are added up first, so a set past the bound is refused
    /// at the first pattern past it without compiling anything; `owners` are set later by
    /// the valid set.
    pub(super) fn compile(patterns: &[&Pattern], limits: &Limits) -> Result<PatternSet, SetTooBig> {
        if patterns.is_empty() {
            return Ok(PatternSet::default());
        }
        let max = limits.max_compiled_pattern_bytes;
        let too_big = |first_past: usize| SetTooBig {
            first_past,
            message: format!(
                "the set's patterns would compile to more than {} bytes together, from this \
                 one on ({})",
                max,
                setting("max_compiled_pattern_bytes", max)
            ),
        };
        let mut total = 0usize;
        for (i, pattern) in patterns.iter().enumerate() {
            total = total.saturating_add(pattern.weight());
            if total > max {
                return Err(too_big(i));
            }
        }
        let sources: Vec<&str> = patterns.iter().map(|p| p.as_str()).collect();
        match build(&sources, max) {
            Ok(regex) => Ok(PatternSet {
                regex: Some(regex),
                owners: Vec::new(),
            }),
            // The weights over-estimate, so this is not expected; the last pattern is the
            // one that did not fit.
            Err(regex::Error::CompiledTooBig(_)) => Err(too_big(patterns.len() - 1)),
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

    /// `source` checked with room to spare.
    pub(in super::super) fn pattern(source: &str) -> Pattern {
        Pattern::new(source, 1000).unwrap()
    }

    #[test]
    fn the_first_pattern_past_the_total_size_is_found() {
        let patterns: Vec<Pattern> = (0..40)
            .map(|i| pattern(&format!("[a-z]{{18}}q{i}")))
            .collect();
        let patterns: Vec<&Pattern> = patterns.iter().collect();
        // Two fit, three do not.
        let max = patterns[0].weight() * 2 + patterns[2].weight() / 2;
        let limits = Limits {
            max_compiled_pattern_bytes: max,
            ..Limits::UNBOUNDED
        };
        let refused = PatternSet::compile(&patterns, &limits).unwrap_err();
        assert_eq!(refused.first_past, 2);
        let setting = format!("max_compiled_pattern_bytes = {max}");
        assert!(refused.message.contains(&setting), "{}", refused.message);
        assert!(PatternSet::compile(&patterns[..2], &limits).is_ok());
    }

    #[test]
    fn a_weight_is_above_the_compiled_size() {
        // The shipped patterns, and the shapes that weigh most: Unicode classes repeated.
        let shipped = crate::engine::intents::load_dir(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("intents"),
            &Limits::UNBOUNDED,
        )
        .unwrap();
        let mut sources: Vec<String> = shipped
            .set
            .intents()
            .iter()
            .flat_map(|intent| intent.patterns.iter().map(|p| p.as_str().to_owned()))
            .collect();
        assert!(sources.len() > 10, "{}", sources.len());
        sources.extend(
            [
                r"\w{18}q1",
                r"\b\w+\s+\w+\b",
                r".{30}",
                r"[^x]{12}",
                r"\d{3}-\d{4}",
            ]
            .map(String::from),
        );
        let mut total = 0;
        for source in &sources {
            let weight = pattern(source).weight();
            total += weight;
            assert!(
                build(&[source], weight).is_ok(),
                "{source}: weight {weight}"
            );
        }
        let all: Vec<&str> = sources.iter().map(String::as_str).collect();
        assert!(build(&all, total).is_ok(), "together: weight {total}");
    }

    #[test]
    fn a_pattern_past_its_own_size_is_refused_without_compiling() {
        match Pattern::new(r"\w{100}", 1000) {
            Err(PatternError::Invalid(regex::Error::CompiledTooBig(max))) => {
                assert_eq!(max, REGEX_SIZE_LIMIT)
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Pattern::new("(a", 1000),
            Err(PatternError::Invalid(regex::Error::Syntax(_)))
        ));
    }
}
