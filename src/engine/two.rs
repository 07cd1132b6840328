//! Two questions in one message ("should I learn go or java first, and what projects should
//! I build?"): [`Engine::reply_two`] splits it where one question ends and the next begins
//! and answers both, when each half alone is a confident answer and the two are on different
//! intents. Never more than two.

use super::matcher::Decision;
use super::normalize::content_stems;
use super::{Engine, Reply};

/// Words a question opens with: each half must open with one ("... and how much do they
/// earn"), so a question followed by a remark ("how do I start? I'm a nurse") is one question.
const OPENERS: &[&str] = &[
    "am", "any", "are", "can", "could", "did", "do", "does", "has", "have", "how", "is", "must",
    "should", "was", "were", "what", "whats", "when", "where", "which", "who", "why", "will",
    "would",
];
/// Words a half may open with before its question word ("and", "also", "so").
const LEADS: &[&str] = &["also", "and", "but", "ok", "okay", "plus", "so", "then"];
/// Words that point back at the other half ("and how is it different"): such a half is not a
/// question of its own.
const POINTING_BACK: &[&str] = &[
    "it", "its", "that", "them", "these", "they", "this", "those",
];
/// What may join two questions, besides a question mark.
const JOINS: &[&str] = &[
    ", and ",
    "; ",
    ", also ",
    ". also ",
    " and also ",
    ". and ",
    ", plus ",
];
/// Whether `half` opens like a question: with a question word, after any of [`LEADS`].
fn is_question(half: &str) -> bool {
    let lower = half.to_lowercase();
    let first = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .find(|w| !LEADS.contains(w));
    first.is_some_and(|w| OPENERS.contains(&w))
}

/// Whether `half` points back at what came before it ("and how is it different").
fn points_back(half: &str) -> bool {
    half.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .any(|w| POINTING_BACK.contains(&w))
}

/// A half needs this many words that are not stop words to be a question of its own.
const MIN_HALF_WORDS: usize = 2;
/// At most this many places are tried (each costs two matches), the first ones first.
const MAX_SPLITS: usize = 4;
/// Longest message looked at, in bytes: a long text is not two quick questions.
const MAX_BYTES: usize = 600;

/// The places where `text` may hold two questions, first first: (end of the first, start of
/// the second), as byte offsets.
fn split_points(text: &str) -> Vec<(usize, usize)> {
    // ASCII lowercase keeps every byte offset.
    let lower = text.to_ascii_lowercase();
    let mut points: Vec<(usize, usize)> = Vec::new();
    for (at, _) in lower.match_indices('?') {
        if lower[at + 1..].chars().any(char::is_alphanumeric) {
            points.push((at + 1, at + 1));
        }
    }
    for join in JOINS {
        points.extend(lower.match_indices(join).map(|(at, j)| (at, at + j.len())));
    }
    for (at, and) in lower.match_indices(" and ") {
        let next = lower[at + and.len()..]
            .split(|c: char| !c.is_ascii_alphabetic())
            .next();
        if next.is_some_and(|word| OPENERS.contains(&word)) {
            points.push((at, at + and.len()));
        }
    }
    // One place per second half (", and " and " and " start it alike), first first.
    points.sort_unstable_by_key(|&(end, start)| (start, end));
    points.dedup_by_key(|p| p.1);
    points.sort_unstable();
    points.truncate(MAX_SPLITS);
    points
}

impl Engine {
    /// The reply to `question` when it holds two questions each answered alone at least
    /// `confidence` surely, on different intents: the first half's reply, with the second's
    /// as its `also`. `None` otherwise (one question, or a half that is unsure, declined,
    /// unclear or the same topic as the other).
    pub fn reply_two(&self, question: &str, confidence: f32) -> Option<Reply> {
        if question.len() > MAX_BYTES {
            return None;
        }
        let sure =
            |reply: &Reply| reply.decision == Decision::Answer && reply.confidence >= confidence;
        for (end, start) in split_points(question) {
            let (first, second) = (&question[..end], &question[start..]);
            let own = |half: &str| content_stems(half).len() >= MIN_HALF_WORDS && is_question(half);
            if !own(first) || !own(second) || points_back(second) {
                continue;
            }
            let one = self.reply(first);
            if !sure(&one) {
                continue;
            }
            let two = self.reply(second);
            if !sure(&two) || two.intent == one.intent {
                continue;
            }
            let mut reply = one;
            reply.explanation.summary = format!(
                "two questions: {} / then: {}",
                reply.explanation.summary, two.explanation.summary
            );
            reply.also = Some(Box::new(two));
            return Some(reply);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn halves(text: &str) -> Vec<(&str, &str)> {
        split_points(text)
            .into_iter()
            .map(|(end, start)| (&text[..end], &text[start..]))
            .collect()
    }

    #[test]
    fn a_message_splits_where_a_question_ends_or_a_new_one_is_joined() {
        assert_eq!(
            halves("should I learn go or java first, and what projects should I build?"),
            [(
                "should I learn go or java first",
                "what projects should I build?"
            )]
        );
        assert_eq!(
            halves("What degree do I need? How much will I earn?"),
            [("What degree do I need?", " How much will I earn?")]
        );
        assert_eq!(
            halves("what does a backend dev do and how much do they earn"),
            [("what does a backend dev do", "how much do they earn")]
        );
        // "and" between two things is not two questions; a last "?" ends the only one.
        assert!(halves("what is the difference between frontend and backend?").is_empty());
        assert!(halves("is a degree worth it??").is_empty());
        // Non-ASCII text keeps its offsets.
        assert_eq!(halves("café? thé"), [("café?", " thé")]);
    }

    #[test]
    fn a_half_is_a_question_when_it_opens_like_one_and_points_nowhere_else() {
        for half in [
            "what projects should I build?",
            "and how much will I earn",
            "Is a degree needed",
        ] {
            assert!(is_question(half), "{half}");
        }
        for half in [
            "I'm a nurse thinking of switching",
            "like architect or manager?",
            "kindly suggest",
        ] {
            assert!(!is_question(half), "{half}");
        }
        assert!(points_back("and how is it different from backend"));
        assert!(!points_back("how much do backend devs earn"));
    }

    #[test]
    fn hostile_text_is_cheap_and_never_splits_inside_a_character() {
        let many = "a? ".repeat(10_000);
        assert_eq!(split_points(&many).len(), MAX_SPLITS);
        for text in ["?", "??", "? and what", "é?é", "\u{0130}? and what"] {
            for (end, start) in split_points(text) {
                assert!(
                    text.is_char_boundary(end) && text.is_char_boundary(start),
                    "{text}"
                );
            }
        }
    }
}
