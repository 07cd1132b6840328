//! Questions that are clearly not in English: the bot answers in English only, and says so
//! once rather than fall back as if it had understood.
//!
//! Language identification (whatlang) alone is unsure on a short question, and a learner's
//! English ("sir wat skils shud i lern") or a borrowed word ("Vorstellungsgespräch") can look
//! foreign to it, while its confidence measures the gap between the closest languages
//! (Spanish and Portuguese), not how far from English a question is. So a question counts as
//! foreign only when whatlang takes it for another language, and again, at least
//! [`MIN_CONFIDENCE`] surely (or reliably), when the choice is only between that language and
//! English; it has at least [`MIN_WORDS`]
//! words (or, in a script without spaces, [`MIN_UNSPACED_LETTERS`] letters, reliably told),
//! and fewer than half of its words are English words or words the intents know.
//! The caller asks only about questions it could not answer anyway.

use super::english;
use super::normalize::{clean, words};

/// Words a question needs before its language is judged.
pub const MIN_WORDS: usize = 3;
/// whatlang's confidence, against English alone, below which its guess is not taken.
pub const MIN_CONFIDENCE: f64 = 0.5;
/// Letters a question without spaces between words needs instead.
pub const MIN_UNSPACED_LETTERS: usize = 8;

/// The language of `question` (its ISO 639-3 code, e.g. `spa`) when it is clearly not
/// English; `known` says whether the intents know a word.
pub fn foreign(question: &str, known: impl Fn(&str) -> bool) -> Option<&'static str> {
    let cleaned = clean(question);
    let words = words(&cleaned);
    let info = whatlang::detect(&cleaned)?;
    // Scripts that do not separate words (Japanese, Chinese, Thai) make one long "word":
    // enough letters, reliably told, will do.
    let letters = cleaned.chars().filter(|c| c.is_alphabetic()).count();
    let long_enough =
        words.len() >= MIN_WORDS || (info.is_reliable() && letters >= MIN_UNSPACED_LETTERS);
    if info.lang() == whatlang::Lang::Eng || !long_enough {
        return None;
    }
    // Against English alone: its confidence then says how far from English the text is
    // (on all languages it says how far from the next closest, Portuguese for Spanish).
    let pair = whatlang::Detector::with_allowlist(vec![whatlang::Lang::Eng, info.lang()]);
    let versus = pair.detect(&cleaned)?;
    let sure = versus.is_reliable() || versus.confidence() >= MIN_CONFIDENCE;
    if versus.lang() == whatlang::Lang::Eng || !sure {
        return None;
    }
    let english = words
        .iter()
        .filter(|w| english::is_word(w) || known(w))
        .count();
    (english * 2 < words.len()).then(|| info.lang().code())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing_known(_: &str) -> bool {
        false
    }

    #[test]
    fn clear_foreign_questions_are_named_and_english_ones_never() {
        for (question, code) in [
            ("¿Cómo puedo ser desarrollador backend?", "spa"),
            ("как стать бэкенд разработчиком", "rus"),
            (
                "バックエンドエンジニアになるには何を勉強すればいいですか",
                "jpn",
            ),
            ("wie werde ich ein guter Backend-Entwickler", "deu"),
        ] {
            assert_eq!(foreign(question, nothing_known), Some(code), "{question}");
        }
        for question in [
            "how do i become a backend developer",
            "Vorstellungsgespräch as backend dev in Berlin next week, what do they ask?",
            "hola",
            "merci beaucoup",
        ] {
            assert_eq!(foreign(question, nothing_known), None, "{question}");
        }
    }

    #[test]
    fn words_the_intents_know_count_as_english() {
        // Learner spellings look Danish to whatlang; the intents' synonyms know them.
        let question = "sir wat skils shud i lern for bakend";
        assert_eq!(foreign(question, nothing_known), Some("dan"));
        let known = |w: &str| ["wat", "skils", "shud", "lern", "bakend"].contains(&w);
        assert_eq!(foreign(question, known), None);
    }
}
