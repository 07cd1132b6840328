//! The engine: plain synchronous Rust with no async runtime and no Discord types.
//!
//! [`intents`] reads and checks the files into an [`intents::ValidSet`] (the only way to
//! one), its intents sorted by id: positions in that order are the [`index::IntentIndex`]es
//! every part shares. [`Engine::build`] compiles that set into a [`matcher::Matcher`] and a
//! [`catalog::Catalog`], and [`Engine::reply`] turns a question into a [`Reply`] that every
//! front end (CLI, Discord) renders in its own way; [`decision`] is the rule that picks
//! answer, decline, clarify or fallback.

pub mod catalog;
pub mod confusions;
pub mod context;
pub mod decision;
pub mod english;
pub mod evaluation;
pub mod features;
pub mod index;
pub mod intents;
pub mod language;
pub mod matcher;
pub mod model;
pub mod normalize;
pub mod relevance;
pub mod two;

use std::path::Path;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use catalog::{Catalog, CourseFilter};
use index::IntentIndex;
use intents::{Action, Course, Diagnostic, Intent, Limits, ValidSet};
use matcher::{Candidate, Decision, Explanation, Matcher, MatcherSettings};
use normalize::{content_stems, stem};

/// The stems of an intent's frame words (see [`Engine::frames`]).
fn frame_of(intent: &Intent) -> FxHashSet<String> {
    let mut counts: FxHashMap<String, usize> = FxHashMap::default();
    for example in &intent.examples {
        let distinct: FxHashSet<String> = content_stems(example).into_iter().collect();
        for stem in distinct {
            *counts.entry(stem).or_default() += 1;
        }
    }
    let floor = (FRAME_SHARE * intent.examples.len() as f32).max(2.0);
    let mut frame: FxHashSet<String> = counts
        .into_iter()
        .filter(|&(_, n)| n as f32 >= floor)
        .map(|(stem, _)| stem)
        .collect();
    for keyword in &intent.keywords {
        frame.extend(content_stems(keyword));
    }
    frame
}

/// How many courses an intent with `action = "search_courses"` lists.
pub(crate) const SEARCHED_COURSES: usize = 5;

/// A compiled, fully valid intent set with its catalog.
#[derive(Debug, Clone)]
pub struct Engine {
    /// The set, its intents sorted by id: an intent's position is its [`IntentIndex`].
    set: ValidSet,
    matcher: Matcher,
    catalog: Catalog,
    /// For each course-search intent, the stems of its "frame": the words that ask for a
    /// course rather than name a topic ("any", "course", "tutorial"): its keywords and the
    /// words found in at least `FRAME_SHARE` of its examples.
    frames: FxHashMap<IntentIndex, FxHashSet<String>>,
}

/// A word in at least this share of a course-search intent's examples is frame, not topic.
const FRAME_SHARE: f32 = 0.15;

/// A course as a reply links it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CourseLink {
    pub id: String,
    pub title: String,
    pub url: String,
}

impl CourseLink {
    pub fn of(course: &Course) -> CourseLink {
        CourseLink {
            id: course.id.clone(),
            title: course.title.clone(),
            url: course.url.clone(),
        }
    }
}

/// What the bot says to a question, independent of where it is shown.
#[derive(Debug, Clone, Serialize)]
pub struct Reply {
    pub decision: Decision,
    /// The answered intent's id (only when `decision` is `answer` or `decline`).
    pub intent: Option<String>,
    /// The answered intent's title.
    pub title: Option<String>,
    /// The best candidate's confidence, in [0, 1].
    pub confidence: f32,
    /// Best first: the answer, the choices to clarify, or the fallback's suggestions.
    pub candidates: Vec<Candidate>,
    /// The answer's markdown (only when `decision` is `answer` or `decline`).
    pub answer: Option<String>,
    /// Whether `answer` is the intent's longer `details` ("tell me more").
    pub details: bool,
    /// Whether the intent has `details` not shown in this reply: a "More" button can ask.
    pub has_more: bool,
    /// The question's language (ISO 639-3) when it fell back for being clearly not English.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<&'static str>,
    pub courses: Vec<CourseLink>,
    /// Ids of related intents.
    pub follow_ups: Vec<String>,
    pub explanation: Explanation,
    /// The reply to a second question in the same message (see [`two`]), shown after this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub also: Option<Box<Reply>>,
}

/// The confidence a reply nobody asked for (a watched channel, a forum post) must reach, and
/// whose bar it is: the channel's, or the answered intent's own `min_confidence` when that is
/// stricter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub value: f32,
    /// `channel_min_confidence`, or `min_confidence of <intent id>`.
    pub source: String,
}

/// The result of loading a directory: an engine and its warnings, or every error.
pub type LoadResult = Result<(Engine, Vec<Diagnostic>), Vec<Diagnostic>>;

impl Engine {
    /// Loads, validates and compiles an intent directory within `limits`. Any error refuses
    /// the whole set.
    pub fn load(dir: &Path, settings: &MatcherSettings, limits: &Limits) -> LoadResult {
        match intents::load_dir(dir, limits) {
            Ok(loaded) => Ok((Engine::build(loaded.set, settings), loaded.warnings)),
            Err(refused) => Err(refused.diagnostics),
        }
    }

    /// The bar `reply` must reach to be sent unasked, where the channel's bar is `channel`:
    /// the stricter of that and its intent's `min_confidence`.
    pub fn unprompted_bar(&self, reply: &Reply, channel: f32) -> Bar {
        let own = reply
            .intent
            .as_deref()
            .and_then(|id| self.intent(id))
            .and_then(|intent| Some((intent.min_confidence?, &intent.id)))
            .filter(|&(own, _)| own > channel);
        match own {
            Some((value, id)) => Bar {
                value,
                source: format!("min_confidence of {id}"),
            },
            None => Bar {
                value: channel,
                source: "channel_min_confidence".to_owned(),
            },
        }
    }

    /// Compiles a valid set (only the loader makes one).
    pub fn build(set: ValidSet, settings: &MatcherSettings) -> Engine {
        let matcher = Matcher::build(
            set.intents(),
            set.synonyms(),
            set.lookups(),
            set.patterns(),
            settings,
        );
        let catalog = Catalog::new(set.courses().to_vec(), set.course_aliases());
        let frames = set
            .intents()
            .iter()
            .enumerate()
            .filter(|(_, intent)| intent.action == Some(Action::SearchCourses))
            .map(|(i, intent)| (IntentIndex::new(i), frame_of(intent)))
            .collect();
        Engine {
            set,
            matcher,
            catalog,
            frames,
        }
    }

    /// The intents sorted by id: position `i` is `IntentIndex::new(i)`.
    pub fn intents(&self) -> &[Intent] {
        self.set.intents()
    }

    /// The intents in the order their files list them (files by name): how a reader
    /// expects to see them listed.
    pub fn intents_as_written(&self) -> impl ExactSizeIterator<Item = &Intent> {
        self.set.intents_as_written()
    }

    pub fn intent(&self, id: &str) -> Option<&Intent> {
        self.index_of(id).map(|index| self.intent_at(index))
    }

    /// The index of the intent `id`.
    pub fn index_of(&self, id: &str) -> Option<IntentIndex> {
        self.intents()
            .binary_search_by(|intent| intent.id.as_str().cmp(id))
            .ok()
            .map(IntentIndex::new)
    }

    pub fn intent_at(&self, index: IntentIndex) -> &Intent {
        &self.intents()[index.get()]
    }

    /// Every intent, the matcher's highest raw score for `question` first.
    pub fn ranked(&self, question: &str) -> impl Iterator<Item = &Intent> {
        let ranked = self.matcher.ranked(question);
        ranked.into_iter().map(|index| self.intent_at(index))
    }

    pub fn set(&self) -> &ValidSet {
        &self.set
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn matcher(&self) -> &Matcher {
        &self.matcher
    }

    /// Matches a question and builds the reply.
    pub fn reply(&self, question: &str) -> Reply {
        if let Some(reply) = self.reply_to_code(question) {
            return reply;
        }
        let mut found = self.matcher.decide(question);
        let answered = found.answered().map(|c| c.index);
        let courses = answered
            .map(|index| self.courses_for(index, question, &found.explanation.unknown_words));
        let answered = answered.map(|index| self.intent_at(index));
        if let Some(Err(why)) = &courses {
            // A course search whose topic no course covers ("a course on cake decorating"):
            // saying so beats listing unrelated courses.
            found.decision = Decision::Fallback;
            found.candidates.remove(0);
            // The withdrawn answer is no candidate any more: the reply is only as sure as
            // its best suggestion, as every fallback is (none: 0).
            found.confidence = found.candidates.first().map_or(0.0, |c| c.score);
            found.explanation.summary = format!("fell back: {why}");
        }
        // Not understood and not English: say so rather than pretend.
        let unknown = &found.explanation.unknown_words;
        let known = |word: &str| !unknown.iter().any(|u| u == word);
        let language = (found.decision == Decision::Fallback)
            .then(|| language::foreign(question, known))
            .flatten();
        if let Some(code) = language {
            found.explanation.summary =
                format!("fell back: the question is not in English ({code})");
        }
        let confidence = found.confidence;
        match (answered, courses) {
            (Some(intent), Some(Ok((courses, note)))) => Reply {
                decision: found.decision,
                intent: Some(intent.id.clone()),
                title: Some(intent.title.clone()),
                confidence,
                candidates: found.candidates,
                answer: Some(match note {
                    Some(note) => format!("{}\n\n{note}", intent.answer.trim_end()),
                    None => intent.answer.clone(),
                }),
                details: false,
                has_more: intent.details.is_some(),
                language: None,
                courses,
                follow_ups: intent.follow_ups.clone(),
                explanation: found.explanation,
                also: None,
            },
            _ => Reply {
                decision: found.decision,
                intent: None,
                title: None,
                confidence,
                candidates: found.candidates,
                answer: None,
                details: false,
                has_more: false,
                language,
                courses: Vec::new(),
                follow_ups: Vec::new(),
                explanation: found.explanation,
                also: None,
            },
        }
    }

    /// A message that is only a code block has no words to match: the `code_only` intent
    /// answers it ("I can't debug code here"), when the set has one.
    fn reply_to_code(&self, question: &str) -> Option<Reply> {
        if !question.contains("```") || !normalize::clean(question).trim().is_empty() {
            return None;
        }
        let intent = self.intents_as_written().find(|i| i.code_only)?;
        let mut reply = self.reply_for(&intent.id)?;
        reply.explanation.summary = format!("only code: answered by `{}`", intent.id);
        Some(reply)
    }

    /// The reply for a chosen intent (a button or menu click): no matching involved.
    pub fn reply_for(&self, id: &str) -> Option<Reply> {
        let index = self.index_of(id)?;
        let intent = self.intent_at(index);
        let courses = self
            .courses_for(index, "", &[])
            .map(|(courses, _)| courses)
            .unwrap_or_default();
        let decision = if intent.decline {
            Decision::Decline
        } else {
            Decision::Answer
        };
        Some(Reply {
            decision,
            intent: Some(intent.id.clone()),
            title: Some(intent.title.clone()),
            confidence: 1.0,
            candidates: vec![Candidate {
                index,
                intent: intent.id.clone(),
                score: 1.0,
                decline: intent.decline,
            }],
            answer: Some(intent.answer.clone()),
            details: false,
            has_more: intent.details.is_some(),
            language: None,
            courses,
            follow_ups: intent.follow_ups.clone(),
            explanation: Explanation {
                summary: format!("chosen directly: `{id}`"),
                ..Explanation::default()
            },
            also: None,
        })
    }

    /// The words of `question` that name a course topic, less course search `index`'s frame
    /// words ("any", "course").
    fn topics_asked(&self, index: IntentIndex, question: &str) -> Vec<String> {
        let frame = self.frames.get(&index);
        let mut topics = self.catalog.topic_words(question);
        topics.retain(|w| frame.is_none_or(|f| !f.contains(stem(w).as_ref())));
        topics
    }

    /// The courses of intent `index`; for a course search, the catalog's best matches for the
    /// topic words of the question (words in some course's topics: "course" or "any" are
    /// not), or its own courses when the question names no topic at all. `None` when the
    /// question names something unknown (`unknown`) that no course covers: `Err` says so.
    /// When no course on its topic passes its level and price words ("an advanced course on
    /// python"), the topic's other courses, with a note saying so for the answer.
    fn courses_for(
        &self,
        index: IntentIndex,
        question: &str,
        unknown: &[String],
    ) -> Result<(Vec<CourseLink>, Option<String>), String> {
        let intent = self.intent_at(index);
        let listed = || intent.courses.iter().filter_map(|id| self.catalog.get(id));
        let mut note = None;
        let courses: Vec<&Course> = match intent.action {
            Some(Action::SearchCourses) => {
                let topics = self.topics_asked(index, question);
                // "free", "beginner", "advanced": as the options of `/course` would.
                let filter = self.catalog.filter_words(question);
                if !topics.is_empty() {
                    let topic = topics.join(" ");
                    let hits = self.catalog.search(&topic, &filter, SEARCHED_COURSES);
                    if hits.is_empty() {
                        let any = CourseFilter::default();
                        let others = self.catalog.search(&topic, &any, SEARCHED_COURSES);
                        if others.is_empty() {
                            return Err(format!("no course in the catalog covers {topic}"));
                        }
                        note = Some(format!(
                            "The catalog has no {}course on {topic}; here are its others.",
                            describe_filter(&filter)
                        ));
                        others.into_iter().map(|hit| hit.course).collect()
                    } else {
                        hits.into_iter().map(|hit| hit.course).collect()
                    }
                } else if !unknown.is_empty() {
                    return Err(format!(
                        "no course in the catalog covers {}",
                        unknown.join(", ")
                    ));
                } else if filter == CourseFilter::default() {
                    listed().collect()
                } else {
                    // Its own courses that pass, else any that do.
                    let own: Vec<&Course> = listed().filter(|c| filter.accepts(c)).collect();
                    if own.is_empty() {
                        let hits = self.catalog.search("", &filter, SEARCHED_COURSES);
                        hits.into_iter().map(|hit| hit.course).collect()
                    } else {
                        own
                    }
                }
            }
            Some(Action::More) | None => listed().collect(),
        };
        Ok((courses.into_iter().map(CourseLink::of).collect(), note))
    }
}

/// A filter's words, as in "no free beginner course": empty for no filter.
fn describe_filter(filter: &CourseFilter) -> String {
    let mut words = String::new();
    if filter.free_only {
        words.push_str("free ");
    }
    if let Some(level) = filter.level {
        words.push_str(level.as_str());
        words.push(' ');
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The engine of `tests/fixtures/good`, with the shipped settings.
    fn good_engine() -> Engine {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good");
        let settings = (MatcherSettings::shipped(), intents::Limits::shipped());
        Engine::load(&dir, &settings.0, &settings.1).unwrap().0
    }

    /// Found by the `matching` fuzz target: a free course search on a topic with no free
    /// course named the topic as often as the question repeated it.
    #[test]
    fn a_course_note_names_its_topic_once_after_the_intents_answer() {
        let engine = good_engine();
        let reply = engine.reply("are there free courses on sql 1, sql 2 and sql 3");
        assert_eq!(reply.decision, Decision::Answer, "{reply:#?}");
        let intent = engine.intent(reply.intent.as_deref().unwrap()).unwrap();
        let answer = reply.answer.as_deref().unwrap();
        let note = answer
            .strip_prefix(intent.answer.trim_end())
            .and_then(|rest| rest.strip_prefix("\n\n"))
            .unwrap_or_else(|| panic!("{answer:?}"));
        assert_eq!(note.matches("sql").count(), 1, "{note:?}");
        assert!(note.contains("no free course"), "{note:?}");
    }

    /// Found by the `matching` fuzz target: a course search whose topic no course covers
    /// fell back but kept the withdrawn answer's confidence, above every suggestion left.
    #[test]
    fn a_course_search_that_falls_back_is_no_surer_than_its_suggestions() {
        let engine = good_engine();
        let reply = engine.reply("any good course on rest apis");
        assert_eq!(reply.decision, Decision::Fallback, "{reply:#?}");
        assert!(
            reply.explanation.summary.contains("no course"),
            "{reply:#?}"
        );
        let best = reply.candidates.first().map_or(0.0, |c| c.score);
        assert_eq!(reply.confidence, best, "{reply:#?}");
    }
}
