//! Text cut to a length, for every place with a size limit: Discord's fields (see
//! `bot::limits`) and the report's columns.
//!
//! Lengths are in characters, not bytes, so a cut never splits a character; a cut text
//! ends in "…" and still fits the limit.

/// `text` cut to at most `max` characters, ending in "…" when cut.
pub fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_characters_and_marks_a_cut() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("exactly10!", 10), "exactly10!");
        let cut = fit(&"é".repeat(50), 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
        assert_eq!(fit("abc", 0), "");
        assert_eq!(fit("abc", 1), "…");
    }
}
