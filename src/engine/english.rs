//! Which words are English words: typo correction leaves a real word alone, even one the
//! intents never use, so "hate" is never read as "have", "quote" as "quite" or "nitro" as
//! "intro". The list is SCOWL's (see the header of `english-words.txt` for its source, size
//! and notice), compiled into the binary.

use std::sync::LazyLock;

/// The list: lowercase words of ASCII letters, sorted, after a `#` header.
const LIST: &str = include_str!("english-words.txt");

/// The words, parsed once per process.
static WORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let words: Vec<&str> = LIST
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    debug_assert!(words.is_sorted(), "english-words.txt is sorted");
    words
});

/// Whether `word` (lowercase) is an English word, in British or American spelling.
pub fn is_word(word: &str) -> bool {
    WORDS.binary_search(&word).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_words_of_both_spellings_are_words_and_typos_are_not() {
        for word in [
            "hate",
            "have",
            "quote",
            "quite",
            "nitro",
            "rain",
            "main",
            "colour",
            "color",
            "optimisation",
            "optimization",
            "organisation",
            "hates",
            "quoted",
        ] {
            assert!(is_word(word), "{word}");
        }
        for typo in [
            "enginer", "bakend", "skils", "pyhton", "carrer", "sallary", "", "Hate",
        ] {
            assert!(!is_word(typo), "{typo}");
        }
    }

    #[test]
    fn the_list_is_sorted_lowercase_letters_and_large() {
        assert!(WORDS.len() > 70_000, "{} words", WORDS.len());
        assert!(WORDS.is_sorted());
        assert!(WORDS
            .iter()
            .all(|w| w.bytes().all(|b| b.is_ascii_lowercase())));
    }
}
