//! Engine replies as Discord messages: embeds, buttons and menus, always within Discord's
//! limits and always with mentions switched off.
//!
//! Everything here is pure: it builds serenity builders (which serialize to the JSON Discord
//! receives) from engine values, so the limits are checked by unit tests on that JSON.

use poise::serenity_prelude::{
    ButtonStyle, CreateActionRow, CreateAllowedMentions, CreateButton, CreateEmbed,
    CreateEmbedFooter, CreateInteractionResponseFollowup, CreateInteractionResponseMessage,
    CreateMessage, CreateSelectMenu, CreateSelectMenuKind, CreateSelectMenuOption, ReactionType,
};

use super::limits;
use crate::config::ReplySettings;
use crate::engine::catalog::CourseHit;
use crate::engine::matcher::Decision;
use crate::engine::{Engine, Reply};
use crate::text::fit;

/// The colour of the bot's embeds.
const COLOUR: u32 = 0x3b82f6;
/// Related topics offered under an answer (one row of buttons).
const RELATED: usize = limits::BUTTONS_PER_ROW;
/// Suggestions offered by a fallback.
const SUGGESTIONS: usize = 3;
/// Courses listed by `/course`.
pub const COURSES_LISTED: usize = 10;

/// What a component's custom id asks for. Ids are short, prefixed and self-contained, so a
/// click still works after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Answer this intent (a related topic, a "did you mean" candidate, a suggestion).
    Answer(String),
    /// Show this intent's details (the "More" button under its answer).
    More(String),
    /// A 👍 or 👎 on the answer to question `question`, which was `intent`.
    Vote {
        up: bool,
        question: u64,
        intent: String,
    },
    /// The `/topics` menu: the chosen value is the intent.
    Pick,
    /// An admin's menu for unanswered group `n`: the chosen value is an intent or "ignore".
    Triage(u64),
}

const PREFIX: &str = "cb";

impl Action {
    /// The custom id; at most 100 characters because intent ids are at most 64.
    pub fn custom_id(&self) -> String {
        match self {
            Action::Answer(intent) => format!("{PREFIX}:a:{intent}"),
            Action::More(intent) => format!("{PREFIX}:m:{intent}"),
            Action::Vote {
                up,
                question,
                intent,
            } => {
                let vote = if *up { "up" } else { "down" };
                format!("{PREFIX}:v:{vote}:{question:x}:{intent}")
            }
            Action::Pick => format!("{PREFIX}:pick"),
            Action::Triage(group) => format!("{PREFIX}:t:{group:x}"),
        }
    }

    /// Reads a custom id; `None` for anything this bot did not make.
    pub fn parse(custom_id: &str) -> Option<Action> {
        let rest = custom_id.strip_prefix(PREFIX)?.strip_prefix(':')?;
        let (kind, rest) = rest.split_once(':').unwrap_or((rest, ""));
        match kind {
            "a" if !rest.is_empty() => Some(Action::Answer(rest.to_owned())),
            "m" if !rest.is_empty() => Some(Action::More(rest.to_owned())),
            "v" => {
                let mut parts = rest.splitn(3, ':');
                let up = match parts.next()? {
                    "up" => true,
                    "down" => false,
                    _ => return None,
                };
                let question = u64::from_str_radix(parts.next()?, 16).ok()?;
                let intent = parts.next().filter(|i| !i.is_empty())?.to_owned();
                Some(Action::Vote {
                    up,
                    question,
                    intent,
                })
            }
            "pick" => Some(Action::Pick),
            "t" => u64::from_str_radix(rest, 16).ok().map(Action::Triage),
            _ => None,
        }
    }
}

/// A reply in Discord's terms, before it becomes a message or an interaction response.
#[derive(Debug, Clone, Default)]
pub struct Card {
    pub content: Option<String>,
    /// At most two (two answers in one message), within Discord's 6,000 characters together.
    pub embeds: Vec<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
}

/// No pings at all: not `@everyone`/`@here`, not roles, not users, not the replied-to user.
pub fn no_mentions() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
        .empty_users()
        .empty_roles()
        .replied_user(false)
}

/// Puts a card into one of the message builders (serenity's and poise's share these method
/// names but no trait), always with mentions switched off.
/// `$add` is the builder's method that adds one embed to those it has.
macro_rules! fill {
    ($card:expr, $builder:expr, $add:ident) => {{
        let card: Card = $card;
        let mut builder = $builder
            .allowed_mentions(no_mentions())
            .components(card.components);
        if let Some(content) = card.content {
            builder = builder.content(content);
        }
        for embed in card.embeds {
            builder = builder.$add(embed);
        }
        builder
    }};
}

impl Card {
    /// Plain text.
    pub fn text(text: &str) -> Card {
        Card {
            content: Some(fit(text, limits::CONTENT)),
            ..Card::default()
        }
    }

    /// As a channel message.
    pub fn message(self) -> CreateMessage {
        fill!(self, CreateMessage::new(), add_embed)
    }

    /// As an interaction response (private to the clicker when `ephemeral`).
    pub fn interaction(self, ephemeral: bool) -> CreateInteractionResponseMessage {
        fill!(
            self,
            CreateInteractionResponseMessage::new().ephemeral(ephemeral),
            add_embed
        )
    }

    /// As a follow-up to a deferred interaction.
    pub fn followup(self, ephemeral: bool) -> CreateInteractionResponseFollowup {
        fill!(
            self,
            CreateInteractionResponseFollowup::new().ephemeral(ephemeral),
            add_embed
        )
    }

    /// As a poise reply to a slash command.
    pub fn reply(self, ephemeral: bool) -> poise::CreateReply {
        fill!(
            self,
            poise::CreateReply::default()
                .reply(false)
                .ephemeral(ephemeral),
            embed
        )
    }
}

/// The card for an engine reply to question number `question`; two questions in one
/// message get one card with both answers (see [`two_answers`]), the second numbered
/// `also_question` (each answer is voted on as a question of its own).
pub fn reply(
    engine: &Engine,
    words: &ReplySettings,
    reply: &Reply,
    question: u64,
    also_question: Option<u64>,
) -> Card {
    match &reply.also {
        Some(also) => {
            let second = also_question.unwrap_or(question);
            two_answers(engine, words, reply, also, [question, second])
        }
        None => one_reply(engine, words, reply, question, None),
    }
}

/// Two answers in one message: two embeds numbered "1." and "2.", each in half of Discord's
/// 6,000 characters; the first's buttons (More, votes labelled 1), then the second's related
/// topics and its buttons (labelled 2). One "Related" row, the second's.
fn two_answers(
    engine: &Engine,
    words: &ReplySettings,
    first: &Reply,
    second: &Reply,
    questions: [u64; 2],
) -> Card {
    let first = Reply {
        follow_ups: Vec::new(),
        also: None,
        ..first.clone()
    };
    let mut card = one_reply(engine, words, &first, questions[0], Some(1));
    let other = one_reply(engine, words, second, questions[1], Some(2));
    card.embeds.extend(other.embeds);
    card.components.extend(other.components);
    card
}

/// The card for one reply; `number` (1 or 2) when it shares a message with another answer.
fn one_reply(
    engine: &Engine,
    words: &ReplySettings,
    reply: &Reply,
    question: u64,
    number: Option<u8>,
) -> Card {
    let title_of = |id: &str| engine.intent(id).map_or(id.to_owned(), |i| i.title.clone());
    match (reply.decision, &reply.intent) {
        // A decline's answer says what is out of scope: shown, and voted on, like any.
        (Decision::Answer | Decision::Decline, Some(intent)) => {
            let mut rows = Vec::new();
            // Custom ids must be unique within a message: a follow-up listed twice (or the
            // answered intent itself) would make Discord refuse the whole reply.
            let mut seen = vec![intent.as_str()];
            let related: Vec<CreateButton> = reply
                .follow_ups
                .iter()
                .filter(|id| {
                    let first = !seen.contains(&id.as_str());
                    seen.push(id);
                    first
                })
                .take(RELATED)
                .map(|id| intent_button(id, &title_of(id)))
                .collect();
            if !related.is_empty() {
                rows.push(CreateActionRow::Buttons(related));
            }
            let vote = |up: bool, emoji: char| {
                let action = Action::Vote {
                    up,
                    question,
                    intent: intent.clone(),
                };
                let button = CreateButton::new(action.custom_id())
                    .style(ButtonStyle::Secondary)
                    .emoji(ReactionType::Unicode(emoji.to_string()));
                match number {
                    Some(n) => button.label(n.to_string()),
                    None => button,
                }
            };
            let mut last_row = Vec::new();
            if reply.has_more {
                last_row.push(
                    CreateButton::new(Action::More(intent.clone()).custom_id())
                        .style(ButtonStyle::Primary)
                        .label(match number {
                            Some(n) => format!("More on {n}"),
                            None => "More".to_owned(),
                        }),
                );
            }
            last_row.extend([vote(true, '👍'), vote(false, '👎')]);
            rows.push(CreateActionRow::Buttons(last_row));
            let footer = match number {
                Some(n) => format!(
                    "{n}. Was this helpful? Vote with the buttons marked {n} · {:.0}% sure",
                    reply.confidence * 100.0
                ),
                None => format!(
                    "Was this helpful? · {:.0}% sure · /topics for more",
                    reply.confidence * 100.0
                ),
            };
            let title = reply.title.as_deref().unwrap_or(intent);
            let (title, room) = match number {
                Some(n) => (format!("{n}. {title}"), limits::EMBED_TOTAL / 2),
                None => (title.to_owned(), limits::EMBED_TOTAL),
            };
            Card {
                content: None,
                embeds: vec![answer_embed(
                    &title,
                    reply.answer.as_deref().unwrap_or_default(),
                    &reply.courses,
                    &footer,
                    room,
                )],
                components: rows,
            }
        }
        (Decision::Clarify, _) => {
            let buttons = reply
                .candidates
                .iter()
                .take(limits::BUTTONS_PER_ROW)
                .map(|c| intent_button(&c.intent, &title_of(&c.intent)))
                .collect();
            Card {
                content: Some(fit(&words.clarify, limits::CONTENT)),
                embeds: Vec::new(),
                components: vec![CreateActionRow::Buttons(buttons)],
            }
        }
        (Decision::Fallback, _) if reply.language.is_some() => Card::text(&words.not_english),
        _ => {
            let suggestions: Vec<CreateButton> = reply
                .candidates
                .iter()
                .take(SUGGESTIONS)
                .map(|c| intent_button(&c.intent, &title_of(&c.intent)))
                .collect();
            let mut text = words.fallback.clone();
            if !suggestions.is_empty() {
                text.push_str("\n\n");
                text.push_str(&words.suggestions);
            }
            text.push_str("\n\nSee everything I can answer with `/topics`.");
            Card {
                content: Some(fit(&text, limits::CONTENT)),
                embeds: Vec::new(),
                components: if suggestions.is_empty() {
                    Vec::new()
                } else {
                    vec![CreateActionRow::Buttons(suggestions)]
                },
            }
        }
    }
}

/// A secondary button that answers `intent`.
fn intent_button(intent: &str, title: &str) -> CreateButton {
    CreateButton::new(Action::Answer(intent.to_owned()).custom_id())
        .style(ButtonStyle::Secondary)
        .label(fit(title, limits::BUTTON_LABEL))
}

/// The answer embed: title, answer, a field of course links, a footer; the description gives
/// way when the whole would pass Discord's 6,000 characters.
fn answer_embed(
    title: &str,
    answer: &str,
    courses: &[crate::engine::CourseLink],
    footer: &str,
    total: usize,
) -> CreateEmbed {
    let title = fit(title, limits::EMBED_TITLE);
    let footer = fit(footer, limits::FOOTER);
    let mut links = String::new();
    for course in courses {
        let line = format!("• [{}]({})\n", escape_link_text(&course.title), course.url);
        if links.chars().count() + line.chars().count() > limits::FIELD_VALUE {
            break;
        }
        links.push_str(&line);
    }
    let field_name = "Courses";
    let used =
        title.chars().count() + footer.chars().count() + links.chars().count() + field_name.len();
    let room = total
        .min(limits::EMBED_TOTAL)
        .saturating_sub(used)
        .min(limits::EMBED_DESCRIPTION);
    let mut embed = CreateEmbed::new()
        .title(title)
        .description(fit(answer, room))
        .colour(COLOUR)
        .footer(CreateEmbedFooter::new(footer));
    if !links.is_empty() {
        embed = embed.field(field_name, links.trim_end(), false);
    }
    embed
}

/// Square brackets would end a markdown link's text early.
fn escape_link_text(text: &str) -> String {
    text.replace('[', "(").replace(']', ")")
}

/// `/topics`: the areas (the part of an intent id before the dot) with their topics, and
/// menus that answer the chosen topic (25 options a menu, at most five menus).
pub fn topics(engine: &Engine) -> Card {
    let mut areas: Vec<(&str, Vec<&str>)> = Vec::new();
    // Declines (what the bot does not answer) and conversation (`listed = false`) are no
    // topics to pick.
    let topics = || {
        engine
            .intents_as_written()
            .filter(|intent| intent.is_topic())
    };
    for intent in topics() {
        let area = intent.id.split_once('.').map_or("", |(a, _)| a);
        match areas.iter_mut().find(|(a, _)| *a == area) {
            Some((_, titles)) => titles.push(&intent.title),
            None => areas.push((area, vec![&intent.title])),
        }
    }
    let total = topics().count();
    let listed = limits::ROWS * limits::SELECT_OPTIONS;
    let mut intro = format!(
        "I know {total} topics. Ask in your own words (mention me, DM me or use `/ask`), or pick one below."
    );
    if total > listed {
        intro.push_str(&format!(
            " (The menus hold the first {listed}; ask in your own words for the rest.)"
        ));
    }
    let mut embed = CreateEmbed::new()
        .title("What I can answer")
        .description(intro.clone())
        .colour(COLOUR);
    let mut total = intro.len() + 20;
    for (area, titles) in areas.iter().take(limits::FIELDS) {
        let name = fit(&capitalize(area), limits::FIELD_NAME);
        let value = fit(
            &titles
                .iter()
                .map(|t| format!("• {t}"))
                .collect::<Vec<_>>()
                .join("\n"),
            limits::FIELD_VALUE,
        );
        total += name.chars().count() + value.chars().count();
        if total > limits::EMBED_TOTAL {
            break;
        }
        embed = embed.field(name, value, true);
    }
    let options: Vec<CreateSelectMenuOption> = topics()
        .map(|intent| {
            CreateSelectMenuOption::new(fit(&intent.title, limits::OPTION_LABEL), &intent.id)
        })
        .collect();
    let chunks: Vec<_> = options.chunks(limits::SELECT_OPTIONS).collect();
    let menus = chunks.len().min(limits::ROWS);
    let components = chunks
        .into_iter()
        .take(limits::ROWS)
        .enumerate()
        .map(|(n, chunk)| {
            let placeholder = if menus == 1 {
                "Pick a topic".to_owned()
            } else {
                format!("Pick a topic ({} of {menus})", n + 1)
            };
            let kind = CreateSelectMenuKind::String {
                options: chunk.to_vec(),
            };
            // Custom ids must differ within a message; the suffix is ignored when parsing.
            let id = format!("{}:{n}", Action::Pick.custom_id());
            CreateActionRow::SelectMenu(
                CreateSelectMenu::new(id, kind).placeholder(fit(&placeholder, limits::PLACEHOLDER)),
            )
        })
        .collect();
    Card {
        content: None,
        embeds: vec![embed],
        components,
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect::<String>()
    })
}

/// `/course`: the catalog hits for a topic, or a plain "nothing found".
pub fn courses(topic: &str, hits: &[CourseHit<'_>]) -> Card {
    if hits.is_empty() {
        return Card::text(&format!(
            "No course in the catalog matches “{}”. Try a broader topic (for example “databases” or “python”), or ask me in your own words.",
            fit(topic, 100)
        ));
    }
    let mut lines = String::new();
    for hit in hits.iter().take(COURSES_LISTED) {
        let c = hit.course;
        let cost = if c.free { "free" } else { "paid" };
        let line = format!(
            "• **[{}]({})**: {}, {}, {cost}\n",
            escape_link_text(&c.title),
            c.url,
            c.provider,
            c.level.as_str()
        );
        if lines.chars().count() + line.chars().count() > limits::EMBED_DESCRIPTION {
            break;
        }
        lines.push_str(&line);
    }
    let title = if topic.trim().is_empty() {
        "Courses".to_owned()
    } else {
        format!("Courses on “{}”", topic.trim())
    };
    Card {
        content: None,
        embeds: vec![CreateEmbed::new()
            .title(fit(&title, limits::EMBED_TITLE))
            .description(lines.trim_end())
            .colour(COLOUR)],
        components: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn custom_ids_round_trip_and_strangers_are_refused() {
        let long = format!(
            "a.{}",
            "b".repeat(crate::engine::intents::MAX_INTENT_ID - 2)
        );
        for action in [
            Action::Answer("role.overview".into()),
            Action::Answer(long.clone()),
            Action::Vote {
                up: true,
                question: u64::MAX,
                intent: long.clone(),
            },
            Action::Vote {
                up: false,
                question: 0,
                intent: "x.y".into(),
            },
            Action::Pick,
            Action::Triage(u64::MAX),
        ] {
            let id = action.custom_id();
            assert!(id.len() <= limits::CUSTOM_ID, "{id}");
            assert_eq!(Action::parse(&id), Some(action));
        }
        for stranger in [
            "",
            "cb",
            "cb:",
            "cb:a:",
            "cb:v:maybe:1:x.y",
            "cb:v:up:zz:x.y",
            "xx:a:b",
        ] {
            assert_eq!(Action::parse(stranger), None, "{stranger}");
        }
        assert_eq!(Action::parse("cb:pick:3"), Some(Action::Pick));
    }

    /// The custom ids of a message's components, row by row.
    fn custom_ids(json: &serde_json::Value) -> Vec<&str> {
        json["components"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row["components"].as_array().unwrap())
            .map(|c| c["custom_id"].as_str().unwrap())
            .collect()
    }

    /// The engine of the test fixture `tests/fixtures/NAME`, with the shipped settings.
    fn fixture(name: &str) -> Engine {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        Engine::load(
            &dir.join(name),
            &crate::engine::matcher::MatcherSettings::shipped(),
            &crate::engine::intents::Limits::shipped(),
        )
        .unwrap()
        .0
    }

    #[test]
    fn repeated_follow_ups_never_repeat_a_custom_id() {
        let engine = fixture("good");
        let mut answer = engine.reply_for("meta.help").unwrap();
        answer.follow_ups = ["role.overview", "meta.help", "role.overview", "role.skills"]
            .map(String::from)
            .to_vec();
        let words = crate::config::Settings::load(None).unwrap().replies;
        let card = reply(&engine, &words, &answer, 7, None);
        let json = serde_json::to_value(card.message()).unwrap();
        let ids = custom_ids(&json);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        assert!(ids.contains(&"cb:a:role.overview") && ids.contains(&"cb:a:role.skills"));
        assert!(
            !ids.contains(&"cb:a:meta.help"),
            "an answer links to itself: {ids:?}"
        );
    }

    #[test]
    fn a_decline_is_an_answer_embed_and_no_topic() {
        let engine = fixture("decline");
        let declined = engine.reply("how do i become an electrician");
        assert_eq!(declined.decision, Decision::Decline);
        let words = crate::config::Settings::load(None).unwrap().replies;
        let json =
            serde_json::to_value(reply(&engine, &words, &declined, 7, None).message()).unwrap();
        let answer = &engine.intent("scope.other_careers").unwrap().answer;
        assert_eq!(
            json["embeds"][0]["description"].as_str(),
            Some(answer.as_str())
        );
        let ids = custom_ids(&json);
        assert_eq!(
            ids,
            [
                "cb:v:up:7:scope.other_careers",
                "cb:v:down:7:scope.other_careers"
            ]
        );
        // `/topics` offers what the bot answers: not the decline.
        let json = serde_json::to_value(topics(&engine).message()).unwrap();
        let text = json.to_string();
        assert!(text.contains("study.degree"), "{text}");
        assert!(
            !text.contains("scope.other_careers") && !text.contains("Other careers"),
            "{text}"
        );
    }

    #[test]
    fn two_answers_share_one_message_within_discord_s_limits() {
        let engine = fixture("good");
        let mut first = engine.reply_for("meta.help").unwrap();
        let mut second = engine.reply_for("role.overview").unwrap();
        first.answer = Some("first ".repeat(700));
        second.answer = Some("second ".repeat(600));
        second.has_more = true;
        first.also = Some(Box::new(second.clone()));
        let words = crate::config::Settings::load(None).unwrap().replies;
        let json =
            serde_json::to_value(reply(&engine, &words, &first, 9, Some(10)).message()).unwrap();
        let embeds = json["embeds"].as_array().unwrap();
        assert_eq!(embeds.len(), 2, "{json:#}");
        let text = |v: &Value| v.as_str().unwrap_or_default().chars().count();
        let mut total = 0;
        for (n, embed) in embeds.iter().enumerate() {
            let title = embed["title"].as_str().unwrap();
            assert!(title.starts_with(&format!("{}. ", n + 1)), "{title}");
            total += text(&embed["title"])
                + text(&embed["description"])
                + text(&embed["footer"]["text"]);
            for field in embed["fields"].as_array().into_iter().flatten() {
                total += text(&field["name"]) + text(&field["value"]);
            }
        }
        assert!(total <= limits::EMBED_TOTAL, "{total}");
        // Votes for each answer, told apart by their labels; one "Related" row, the second's.
        let ids = custom_ids(&json);
        let unique: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        for id in [
            "cb:v:up:9:meta.help",
            "cb:v:up:a:role.overview",
            "cb:m:role.overview",
        ] {
            assert!(ids.contains(&id), "{id} missing from {ids:?}");
        }
        let related: Vec<&&str> = ids.iter().filter(|id| id.starts_with("cb:a:")).collect();
        let expected: Vec<String> = second
            .follow_ups
            .iter()
            .filter(|id| *id != "role.overview")
            .take(RELATED)
            .map(|id| format!("cb:a:{id}"))
            .collect();
        assert_eq!(related.len(), expected.len(), "{ids:?}");
        let labels: Vec<&str> = json["components"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| row["components"].as_array().unwrap())
            .filter(|b| b["custom_id"].as_str().unwrap().starts_with("cb:v:"))
            .map(|b| b["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["1", "1", "2", "2"]);
        assert!(json["components"].as_array().unwrap().len() <= limits::ROWS);
    }

    #[test]
    fn no_mentions_allows_nothing() {
        let json = serde_json::to_value(no_mentions()).unwrap();
        assert_eq!(json["parse"], Value::Array(vec![]));
        assert_eq!(json["users"], Value::Array(vec![]));
        assert_eq!(json["roles"], Value::Array(vec![]));
        assert_eq!(json["replied_user"], Value::Bool(false));
    }

    #[test]
    fn an_oversized_answer_still_fits_an_embed() {
        let courses: Vec<_> = (0..100)
            .map(|n| crate::engine::CourseLink {
                id: format!("c{n}"),
                title: format!("[A course] with a long title number {n} {}", "x".repeat(60)),
                url: format!("https://example.com/{n}"),
            })
            .collect();
        let embed = answer_embed(
            &"T".repeat(400),
            &"word ".repeat(2000),
            &courses,
            &"f".repeat(3000),
            limits::EMBED_TOTAL,
        );
        let json = serde_json::to_value(&embed).unwrap();
        let len = |v: &Value| v.as_str().unwrap().chars().count();
        let title = len(&json["title"]);
        let description = len(&json["description"]);
        let footer = len(&json["footer"]["text"]);
        let field = &json["fields"][0];
        assert!(title <= limits::EMBED_TITLE);
        assert!(description <= limits::EMBED_DESCRIPTION);
        assert!(footer <= limits::FOOTER);
        assert!(len(&field["value"]) <= limits::FIELD_VALUE);
        let total = title + description + footer + len(&field["name"]) + len(&field["value"]);
        assert!(total <= limits::EMBED_TOTAL, "{total}");
        assert!(!field["value"].as_str().unwrap().contains("[A course]"));
    }
}
