//! The range of every numeric setting, stated once in [`RANGES`]: the values a user may give,
//! and whether only whole numbers will do. A value is checked against its range as each layer
//! sets it, so a value out of range never reaches the typed settings (an `epochs` of four
//! billion cannot hang training, a `keyword_weight` of 1e308 cannot overflow an `f32`, and an
//! integer too large for its field cannot fail the conversion).
//!
//! A new numeric key needs one line here; a unit test fails for a numeric key of
//! `config/default.toml` that has none, or a default outside its own range.

use std::fmt;

use toml_edit::{Item, Value};

/// The values a numeric setting accepts, both ends included. Bounds are finite, so NaN and
/// infinity are always outside.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Range {
    /// Whole numbers from the first to the second.
    Whole(i64, i64),
    /// Numbers, whole or not, from the first to the second.
    Number(f64, f64),
}

/// Numbers from 0 to 1: confidences, shares, similarities, accuracies.
const SHARE: Range = Range::Number(0.0, 1.0);
/// A Discord id, 0 for none (TOML integers stop at `i64::MAX`).
const ID: Range = Range::Whole(0, i64::MAX);

/// Every numeric setting with its range, by dotted key; for a list, the range of each
/// element. Each range is also written in the key's comment in `config/default.toml`.
pub const RANGES: &[(&str, Range)] = &[
    ("matcher.fallback_below", SHARE),
    // In score units, where training puts the right intent 1.0 above the others: a margin
    // above 1 would ask "did you mean" about nearly every question.
    ("matcher.clarify_margin", Range::Number(0.0, 1.0)),
    ("matcher.suggest_above", SHARE),
    ("matcher.keyword_weight", Range::Number(0.0, 10.0)),
    ("matcher.pattern_weight", Range::Number(0.0, 10.0)),
    // Score gaps are divided by the slope: 0 would divide by zero, and below 0.01 every
    // confidence is 0.5.
    ("matcher.confidence_slope", Range::Number(0.01, 100.0)),
    ("matcher.confidence_midpoint", Range::Number(-10.0, 10.0)),
    ("matcher.unknown_word_exponent", Range::Number(0.0, 10.0)),
    ("matcher.corrected_word_known", SHARE),
    ("matcher.intent_coverage_share", SHARE),
    // Each pass trains on every example: the count bounds how long a reload takes.
    ("matcher.epochs", Range::Whole(1, 100)),
    // Below 0.001 the machine learns nothing.
    ("matcher.svm_c", Range::Number(0.001, 1000.0)),
    ("matcher.typo_min_len", Range::Whole(1, 100)),
    // The deletion index finds words at most two edits away; 0 turns correction off.
    ("matcher.typo_max_distance", Range::Whole(0, 2)),
    // A day at most: a conversation is a few minutes.
    ("conversation.context_minutes", Range::Whole(0, 1_440)),
    ("conversation.max_conversations", Range::Whole(0, 1_000_000)),
    ("conversation.standalone_confidence", SHARE),
    ("conversation.two_questions_confidence", SHARE),
    ("discord.answer_channels", Range::Whole(1, i64::MAX)),
    ("discord.forum_channels", Range::Whole(1, i64::MAX)),
    // Discord asks for a shard per 1,000 to 2,500 servers: a million shards is far beyond.
    ("discord.total_shards", Range::Whole(0, 1_000_000)),
    ("discord.dev_guild", ID),
    ("discord.admin_channel", ID),
    ("discord.channel_min_confidence", SHARE),
    ("discord.cooldown_questions", Range::Whole(0, 10_000)),
    ("discord.cooldown_seconds", Range::Whole(0, 86_400)),
    ("discord.max_concurrent_replies", Range::Whole(1, 10_000)),
    ("discord.request_timeout_seconds", Range::Whole(1, 300)),
    ("admin.watch_debounce_ms", Range::Whole(1, 60_000)),
    ("admin.retention_days", Range::Whole(0, 36_500)),
    ("admin.unanswered_below", SHARE),
    ("admin.group_similarity", SHARE),
    ("admin.reload_gate.min_accuracy", SHARE),
    ("web.client_id", ID),
    // A month at most: a stolen cookie is good for no longer.
    ("web.session_hours", Range::Whole(1, 720)),
    // Bounds on one intent set: at least 1 each; the upper ends keep even a raised limit
    // within what a reload can do in a couple of minutes.
    ("limits.max_files", Range::Whole(1, 10_000)),
    ("limits.max_set_bytes", Range::Whole(1, 64 << 20)),
    ("limits.max_intents", Range::Whole(1, 20_000)),
    ("limits.max_examples", Range::Whole(1, 1_000_000)),
    ("limits.max_patterns", Range::Whole(1, 10_000)),
    ("limits.max_pattern_chars", Range::Whole(1, 100_000)),
    (
        "limits.max_compiled_pattern_bytes",
        Range::Whole(1, 256 << 20),
    ),
    ("limits.max_lookup_entries", Range::Whole(1, 1_000_000)),
];

/// The range of `key`, if it is a numeric setting.
pub fn range_of(key: &str) -> Option<Range> {
    RANGES
        .iter()
        .find(|(known, _)| *known == key)
        .map(|&(_, range)| range)
}

impl Range {
    /// Whether `item` (a number, or a list of numbers for a list setting) is in the range.
    /// A value that is not a number at all is outside.
    pub fn holds(self, item: &Item) -> bool {
        match item.as_value() {
            Some(Value::Array(list)) => list.iter().all(|value| self.holds_number(value)),
            Some(value) => self.holds_number(value),
            None => false,
        }
    }

    fn holds_number(self, value: &Value) -> bool {
        match (self, value) {
            (Range::Whole(low, high), Value::Integer(n)) => (low..=high).contains(n.value()),
            (Range::Number(low, high), Value::Integer(n)) => {
                (low..=high).contains(&(*n.value() as f64))
            }
            (Range::Number(low, high), Value::Float(x)) => (low..=high).contains(x.value()),
            _ => false,
        }
    }
}

/// The message for a value outside the range, e.g. "must be a whole number from 1 to 100".
impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Range::Whole(low, i64::MAX) => write!(f, "must be a whole number, at least {low}"),
            Range::Whole(low, high) => write!(f, "must be a whole number from {low} to {high}"),
            Range::Number(low, high) => write!(f, "must be a number from {low} to {high}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(toml: &str) -> Item {
        let document: toml_edit::DocumentMut = format!("v = {toml}").parse().unwrap();
        document["v"].clone()
    }

    #[test]
    fn a_range_holds_its_ends_and_nothing_beyond_or_unnumbered() {
        let epochs = Range::Whole(1, 100);
        let slope = Range::Number(0.01, 100.0);
        for (range, toml, holds) in [
            (epochs, "1", true),
            (epochs, "100", true),
            (epochs, "0", false),
            (epochs, "101", false),
            (epochs, "4000000000", false),
            (epochs, "-5", false),
            (epochs, "2.0", false),
            (epochs, "1.9", false),
            (epochs, "1e30", false),
            (epochs, "\"6\"", false),
            (slope, "0.01", true),
            (slope, "6", true),
            (slope, "100.0", true),
            (slope, "0", false),
            (slope, "0.0", false),
            (slope, "-6", false),
            (slope, "inf", false),
            (slope, "-inf", false),
            (slope, "nan", false),
            (slope, "1e308", false),
            (slope, "true", false),
            (Range::Whole(1, i64::MAX), "[]", true),
            (Range::Whole(1, i64::MAX), "[5, 9223372036854775807]", true),
            (Range::Whole(1, i64::MAX), "[5, 0]", false),
            (Range::Whole(1, i64::MAX), "[5, 1.5]", false),
        ] {
            assert_eq!(range.holds(&item(toml)), holds, "{range:?} holding {toml}");
        }
    }

    #[test]
    fn the_message_states_the_range() {
        for (range, message) in [
            (Range::Whole(1, 100), "must be a whole number from 1 to 100"),
            (
                Range::Whole(0, i64::MAX),
                "must be a whole number, at least 0",
            ),
            (SHARE, "must be a number from 0 to 1"),
            (
                Range::Number(0.01, 100.0),
                "must be a number from 0.01 to 100",
            ),
        ] {
            assert_eq!(range.to_string(), message);
        }
    }

    #[test]
    fn every_numeric_default_has_a_range_that_holds_it() {
        let defaults: toml_edit::DocumentMut = super::super::DEFAULT_TOML.parse().unwrap();
        let mut leaves = Vec::new();
        super::super::raw::leaves_of("", defaults.as_item(), &mut leaves);
        let mut numeric = Vec::new();
        for (key, item) in leaves {
            let number = |v: &Value| v.is_integer() || v.is_float();
            let is_numeric = match item.as_value() {
                Some(Value::Array(list)) => list.iter().all(number),
                Some(value) => number(value),
                None => false,
            };
            if is_numeric {
                let range = range_of(&key).unwrap_or_else(|| panic!("{key} has no range"));
                assert!(
                    range.holds(item),
                    "the default of {key} is outside {range:?}"
                );
                numeric.push(key);
            }
        }
        // Every range is of a key the defaults have, as a number (or a list of them).
        let mut ranged: Vec<String> = RANGES.iter().map(|(key, _)| key.to_string()).collect();
        ranged.sort_unstable();
        numeric.sort_unstable();
        assert_eq!(ranged, numeric);
    }

    #[test]
    fn every_range_is_finite_and_not_empty() {
        for (key, range) in RANGES {
            let ok = match *range {
                Range::Whole(low, high) => low <= high,
                Range::Number(low, high) => low.is_finite() && high.is_finite() && low <= high,
            };
            assert!(ok, "{key}: {range:?}");
        }
    }
}
