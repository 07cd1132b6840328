//! Conversations: a follow-up that says little by itself ("what about docker?", "and for
//! go?", "what if I don't have one?", "why?") is read against the conversation's last turn,
//! and "tell me more" expands the last answer.
//!
//! A conversation remembers one [`Turn`] (the intent it answered and the question that
//! anchored it) in a [`Memory`]: in memory only, forgotten after a few minutes, and bounded
//! (the oldest conversation is forgotten first). The front ends key it by a number of their
//! own making, so nothing here knows who asked.
//!
//! The rule ([`Engine::reply_after`]): only a short message (at most [`FOLLOW_UP_WORDS`]
//! content words) that opens like a follow-up ("and ...", "what about ...", "why?": the
//! `follow_up_openers` setting) and that the matcher is not sure of alone
//! (`standalone_confidence`) may be a follow-up; everything else is answered alone, so a
//! change of subject is never dragged back (but one of stop words only, "why?", says
//! nothing alone however sure the matcher is). So is a message naming a word no example
//! knows. Otherwise, after a course
//! search, a message naming a course topic searches that topic; and the message is matched
//! together with the last turn's question, a reading kept when it answers the last intent
//! or one of its follow-ups more surely than the message alone.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rustc_hash::FxHashMap;

use super::catalog::CourseFilter;
use super::index::IntentIndex;
use super::intents::Action;
use super::matcher::Decision;
use super::normalize::{clean, content_stems, words};
use super::{CourseLink, Engine, Reply, SEARCHED_COURSES};

/// A message with at most this many content words (words that are not stop words) may be a
/// follow-up; a longer one stands on its own.
pub const FOLLOW_UP_WORDS: usize = 3;

/// When a message is read as a follow-up (`[conversation]` settings).
#[derive(Debug, Clone)]
pub struct FollowUpRule {
    /// A short message answered alone at least this surely stands on its own.
    standalone: f32,
    /// The words a follow-up opens with ("and", "what about", "why"), cleaned and split.
    openers: Vec<Vec<String>>,
    /// Two questions in one message are both answered when each half alone is answered at
    /// least this surely ([`Engine::reply_two`]).
    two_questions: f32,
}

impl FollowUpRule {
    pub fn new(standalone: f32, openers: &[String], two_questions: f32) -> FollowUpRule {
        let openers = openers
            .iter()
            .map(|o| words(&clean(o)).into_iter().map(str::to_owned).collect())
            .filter(|o: &Vec<String>| !o.is_empty())
            .collect();
        FollowUpRule {
            standalone,
            openers,
            two_questions,
        }
    }

    /// Whether `question` opens like a follow-up.
    fn opens(&self, question: &str) -> bool {
        let cleaned = clean(question);
        let words = words(&cleaned);
        self.openers
            .iter()
            .any(|o| words.len() >= o.len() && o.iter().zip(&words).all(|(a, b)| a == b))
    }
}

/// What a conversation remembers of its last answered turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    /// The intent answered.
    pub intent: String,
    /// The question that stood on its own and led to it (a follow-up keeps its anchor's, so
    /// a chain of follow-ups never grows it).
    pub question: String,
    /// Whether the intent's details were shown already.
    pub details_shown: bool,
}

/// The last turn of each conversation, for `ttl`, at most `capacity` conversations.
#[derive(Debug)]
pub struct Memory {
    ttl: Duration,
    capacity: usize,
    turns: FxHashMap<u64, Kept>,
    /// Conversations by the order their turns were kept: the first is the oldest.
    by_age: BTreeMap<u64, u64>,
    next: u64,
}

#[derive(Debug)]
struct Kept {
    turn: Turn,
    at: Instant,
    order: u64,
}

impl Memory {
    pub fn new(ttl: Duration, capacity: usize) -> Memory {
        Memory {
            ttl,
            capacity,
            turns: FxHashMap::default(),
            by_age: BTreeMap::new(),
            next: 0,
        }
    }

    /// The last turn of conversation `key`, unless it is older than the memory keeps.
    pub fn last(&mut self, key: u64, now: Instant) -> Option<Turn> {
        let kept = self.turns.get(&key)?;
        if now.saturating_duration_since(kept.at) <= self.ttl {
            return Some(kept.turn.clone());
        }
        self.forget(key);
        None
    }

    /// Keeps `turn` as conversation `key`'s last, forgetting the oldest conversations beyond
    /// the capacity (and any that have expired).
    pub fn remember(&mut self, key: u64, turn: Turn, now: Instant) {
        if self.capacity == 0 || self.ttl.is_zero() {
            return;
        }
        self.forget(key);
        let order = self.next;
        self.next += 1;
        self.turns.insert(
            key,
            Kept {
                turn,
                at: now,
                order,
            },
        );
        self.by_age.insert(order, key);
        while self.turns.len() > self.capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.turns.remove(&oldest);
        }
        // Turns are kept in time order, so the expired ones are the oldest.
        while let Some((&order, &oldest)) = self.by_age.first_key_value() {
            let expired = self
                .turns
                .get(&oldest)
                .is_none_or(|kept| now.saturating_duration_since(kept.at) > self.ttl);
            if !expired {
                break;
            }
            self.by_age.remove(&order);
            self.turns.remove(&oldest);
        }
    }

    pub fn forget(&mut self, key: u64) {
        if let Some(kept) = self.turns.remove(&key) {
            self.by_age.remove(&kept.order);
        }
    }

    /// Conversations remembered.
    pub fn len(&self) -> usize {
        self.turns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }
}

impl Engine {
    /// The reply to `question` in a conversation whose last turn was `last` (see the module
    /// documentation for the rule).
    pub fn reply_after(&self, question: &str, last: Option<&Turn>, rule: &FollowUpRule) -> Reply {
        let last = last.and_then(|t| Some((t, self.index_of(&t.intent)?)));
        // "Tell me more" and "why?" are formulas: a `more` intent's own pattern decides,
        // whatever else the words might suggest.
        if let Some((last, anchor)) = last {
            let asked_more = self
                .matcher
                .pattern_owners(question)
                .into_iter()
                .find(|&i| self.intent_at(i).action == Some(Action::More));
            if let Some(more) = asked_more.and_then(|i| self.reply_for(&self.intent_at(i).id)) {
                return self.more(anchor, last, more);
            }
        }
        if let Some(two) = self.reply_two(question, rule.two_questions) {
            return two;
        }
        let alone = self.reply(question);
        let Some((last, anchor)) = last else {
            return alone;
        };
        let answered = alone
            .intent
            .as_deref()
            .and_then(|id| self.index_of(id))
            .filter(|_| alone.decision == Decision::Answer);
        if let Some(index) = answered {
            if self.intent_at(index).action == Some(Action::More) {
                return self.more(anchor, last, alone);
            }
        }
        // "any free ones?" after a course search: the same search, narrowed.
        let searches = self.intent_at(anchor).action == Some(Action::SearchCourses);
        if searches
            && answered == Some(anchor)
            && self.topics_asked(anchor, question).is_empty()
            && self.catalog.filter_words(question) != CourseFilter::default()
        {
            if let Some(reply) = self.search_after(question, &last.question, anchor, &alone) {
                return reply;
            }
        }
        let words = content_stems(question);
        let sure = matches!(alone.decision, Decision::Answer | Decision::Decline)
            && alone.confidence >= rule.standalone;
        // "why?" says nothing alone, however sure the model is of it.
        let empty = words.is_empty();
        if words.len() > FOLLOW_UP_WORDS || (sure && !empty) || !rule.opens(question) {
            return alone;
        }
        let related = |index: IntentIndex| {
            index == anchor
                || self
                    .intent_at(anchor)
                    .follow_ups
                    .iter()
                    .any(|id| *id == self.intent_at(index).id)
        };
        if searches {
            if let Some(reply) = self.search_after(question, &last.question, anchor, &alone) {
                return reply;
            }
        }
        // A word no example knows ("what about kafka?") is a new subject the last question
        // cannot explain.
        if !alone.explanation.unknown_words.is_empty() {
            return alone;
        }
        let mut both = self.reply(&format!("{} {question}", last.question));
        let both_index = both
            .intent
            .as_deref()
            .and_then(|id| self.index_of(id))
            .filter(|&index| {
                matches!(both.decision, Decision::Answer | Decision::Decline) && related(index)
            });
        let Some(index) = both_index else {
            return alone;
        };
        let alone_answers = matches!(alone.decision, Decision::Answer | Decision::Decline);
        if alone_answers && !empty && alone.confidence >= both.confidence {
            return alone;
        }
        if self.intent_at(index).action == Some(Action::SearchCourses) {
            // The courses of the message's own topic, not of the last question's.
            let unknown = &alone.explanation.unknown_words;
            if let Ok((courses, _)) = self.courses_for(index, question, unknown) {
                both.courses = courses;
            }
        }
        both.explanation.context = Some(format!(
            "read as a follow-up of the last question (on `{}`)",
            last.intent
        ));
        both
    }

    /// After a course search (`last`), a short message naming a course topic ("what about
    /// docker?") searches that topic; one naming only things no course covers says so; one
    /// naming only a level or price ("any free ones?") searches the last topic again with it.
    fn search_after(
        &self,
        question: &str,
        last: &str,
        anchor: IntentIndex,
        alone: &Reply,
    ) -> Option<Reply> {
        let mut topics = self.topics_asked(anchor, question);
        let filter = self.catalog.filter_words(question);
        if topics.is_empty() && filter != CourseFilter::default() {
            topics = self.topics_asked(anchor, last);
        }
        let unknown = &alone.explanation.unknown_words;
        let context = "read as a follow-up of the last course search".to_owned();
        if topics.is_empty() {
            if unknown.is_empty() || alone.decision == Decision::Answer {
                return None;
            }
            let mut reply = alone.clone();
            reply.explanation.summary = format!(
                "fell back: no course in the catalog covers {}",
                unknown.join(", ")
            );
            reply.explanation.context = Some(context);
            return Some(reply);
        }
        let hits = self
            .catalog
            .search(&topics.join(" "), &filter, SEARCHED_COURSES);
        if hits.is_empty() {
            return None;
        }
        let mut reply = self.reply_for(&self.intent_at(anchor).id)?;
        reply.courses = hits
            .into_iter()
            .map(|hit| CourseLink::of(hit.course))
            .collect();
        reply.explanation = alone.explanation.clone();
        reply.explanation.summary = format!("course search for {}", topics.join(", "));
        reply.explanation.context = Some(context);
        Some(reply)
    }

    /// "Tell me more" after `anchor`: its details the first time, else its related topics
    /// under the "more" intent's own answer (`asked`).
    fn more(&self, anchor: IntentIndex, last: &Turn, asked: Reply) -> Reply {
        let intent = self.intent_at(anchor);
        let details = (!last.details_shown)
            .then(|| self.details_of(&intent.id))
            .flatten();
        let mut reply = details.unwrap_or_else(|| Reply {
            follow_ups: intent.follow_ups.clone(),
            ..asked
        });
        reply.explanation.context = Some(format!(
            "asked for more on the last answer (`{}`)",
            last.intent
        ));
        reply
    }

    /// What a conversation remembers after `reply` to `question`, given its last turn
    /// `last`: an answer or a decline replaces it (a follow-up keeping its anchor's
    /// question); anything else (a fallback, a clarify, "more") leaves it as it was.
    pub fn turn_after(&self, question: &str, reply: &Reply, last: Option<&Turn>) -> Option<Turn> {
        let keep = || last.cloned();
        let Some(id) = reply.intent.as_deref() else {
            return keep();
        };
        let Some(index) = self.index_of(id) else {
            return keep();
        };
        let answered = matches!(reply.decision, Decision::Answer | Decision::Decline);
        if !answered || self.intent_at(index).action == Some(Action::More) {
            return keep();
        }
        let follow_up = reply.explanation.context.is_some() || reply.details;
        let question = match last {
            Some(last) if follow_up && (last.intent == id || !reply.details) => {
                last.question.clone()
            }
            // Details asked for an older answer: its title stands for the question.
            _ if reply.details => self.intent_at(index).title.clone(),
            _ => question.to_owned(),
        };
        Some(Turn {
            intent: id.to_owned(),
            question,
            details_shown: reply.details,
        })
    }

    /// Intent `id`'s details as a reply (the "More" button); `None` when the set has no such
    /// intent or it has no details.
    pub fn details_of(&self, id: &str) -> Option<Reply> {
        let details = self.intent(id)?.details.clone()?;
        let mut reply = self.reply_for(id)?;
        reply.answer = Some(details);
        reply.details = true;
        reply.has_more = false;
        reply.explanation.summary = format!("details of `{id}`");
        Some(reply)
    }

    /// The turn a click on a topic (`id`) leaves: its title stands for the question.
    pub fn turn_for(&self, id: &str) -> Option<Turn> {
        let intent = self.intent(id)?;
        (intent.action != Some(Action::More)).then(|| Turn {
            intent: intent.id.clone(),
            question: intent.title.clone(),
            details_shown: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(intent: &str) -> Turn {
        Turn {
            intent: intent.to_owned(),
            question: format!("about {intent}"),
            details_shown: false,
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_turn_is_remembered_until_it_expires() {
        let start = Instant::now();
        let mut memory = Memory::new(10 * MINUTE, 100);
        memory.remember(1, turn("a.b"), start);
        assert_eq!(memory.last(1, start + 10 * MINUTE), Some(turn("a.b")));
        assert_eq!(memory.last(2, start), None);
        assert_eq!(memory.last(1, start + 11 * MINUTE), None);
        // Expired and asked for: gone.
        assert!(memory.is_empty());
        // A newer turn replaces the older one of the same conversation.
        memory.remember(1, turn("a.b"), start);
        memory.remember(1, turn("c.d"), start + MINUTE);
        assert_eq!(memory.last(1, start + MINUTE), Some(turn("c.d")));
        assert_eq!(memory.len(), 1);
        memory.forget(1);
        assert_eq!(memory.last(1, start + MINUTE), None);
    }

    #[test]
    fn beyond_its_capacity_the_memory_forgets_the_oldest_conversation_first() {
        let start = Instant::now();
        let mut memory = Memory::new(10 * MINUTE, 3);
        for key in 0..3 {
            memory.remember(key, turn("a.b"), start);
        }
        // Conversation 0 speaks again: 1 is now the oldest.
        memory.remember(0, turn("c.d"), start);
        memory.remember(3, turn("e.f"), start);
        assert_eq!(memory.len(), 3);
        assert_eq!(memory.last(1, start), None);
        for key in [0, 2, 3] {
            assert!(memory.last(key, start).is_some(), "{key}");
        }
        // Keeping a turn also drops the expired ones, asked for or not.
        memory.remember(9, turn("g.h"), start + 11 * MINUTE);
        assert_eq!(memory.len(), 1);
    }

    #[test]
    fn a_memory_of_no_minutes_or_no_room_keeps_nothing() {
        let now = Instant::now();
        for mut memory in [Memory::new(Duration::ZERO, 10), Memory::new(MINUTE, 0)] {
            memory.remember(1, turn("a.b"), now);
            assert_eq!(memory.last(1, now), None);
            assert!(memory.is_empty());
        }
    }
}
