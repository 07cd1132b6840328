//! Replies as terminal text: the answer, its course links and related topics.

use serde_json::json;

use crate::config::ReplySettings;
use crate::engine::catalog::CourseHit;
use crate::engine::intents::Course;
use crate::engine::matcher::Decision;
use crate::engine::{Engine, Reply};

/// The reply as the bot would give it, in plain text with the answer's markdown.
pub fn reply(engine: &Engine, words: &ReplySettings, reply: &Reply) -> String {
    // Two questions: both answers, one "Related" list (the second's, numbered for `chat`).
    if let Some(also) = &reply.also {
        let first = Reply {
            follow_ups: Vec::new(),
            also: None,
            ..reply.clone()
        };
        return format!(
            "{}
{}",
            self::reply(engine, words, &first),
            self::reply(engine, words, also)
        );
    }
    let mut out = String::new();
    let title_of = |id: &str| engine.intent(id).map_or(id.to_owned(), |i| i.title.clone());
    match reply.decision {
        // A decline's answer is given like any other: it says what is out of scope.
        Decision::Answer | Decision::Decline => {
            if let Some(title) = &reply.title {
                out.push_str(&format!("## {title}\n\n"));
            }
            out.push_str(reply.answer.as_deref().unwrap_or_default().trim_end());
            out.push('\n');
            if !reply.courses.is_empty() {
                out.push_str("\nCourses:\n");
                for course in &reply.courses {
                    out.push_str(&format!("  - {} <{}>\n", course.title, course.url));
                }
            }
            if !reply.follow_ups.is_empty() {
                let related: Vec<String> = reply
                    .follow_ups
                    .iter()
                    .enumerate()
                    .map(|(n, id)| format!("{}. {}", n + 1, title_of(id)))
                    .collect();
                out.push_str(&format!("\nRelated: {}\n", related.join(" · ")));
            }
        }
        Decision::Clarify => {
            out.push_str(&words.clarify);
            out.push('\n');
            for (n, c) in reply.candidates.iter().enumerate() {
                out.push_str(&format!("  {}. {}\n", n + 1, title_of(&c.intent)));
            }
        }
        Decision::Fallback if reply.language.is_some() => out.push_str(&words.not_english),
        Decision::Fallback => {
            out.push_str(&words.fallback);
            out.push('\n');
            if !reply.candidates.is_empty() {
                out.push_str(&words.suggestions);
                out.push('\n');
                for (n, c) in reply.candidates.iter().enumerate() {
                    out.push_str(&format!("  {}. {}\n", n + 1, title_of(&c.intent)));
                }
            }
        }
    }
    out.trim_end().to_owned()
}

/// One catalog entry on one line.
pub fn course_line(course: &Course) -> String {
    let cost = if course.free { "free" } else { "paid" };
    format!(
        "{} ({}, {}, {cost}) <{}>",
        course.title,
        course.provider,
        course.level.as_str(),
        course.url
    )
}

/// One catalog hit as JSON.
pub fn course_json(hit: &CourseHit<'_>) -> serde_json::Value {
    let c = hit.course;
    json!({
        "id": c.id,
        "title": c.title,
        "provider": c.provider,
        "url": c.url,
        "level": c.level.as_str(),
        "free": c.free,
        "topics": c.topics,
        "score": hit.score,
    })
}
