//! The slash commands (poise): `/ask`, `/course`, `/topics` and the admins' `/careerbot`.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use poise::serenity_prelude::{AutocompleteChoice, Permissions};
use tracing::{info, warn};

use super::cooldown::Verdict;
use super::events::count_decision;
use super::limits::{self, fit};
use super::present::{self, Card};
use super::state::{bump, read, Bot};
use crate::engine::catalog::CourseFilter;
use crate::engine::intents::Level;

pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Arc<Bot>, Error>;

/// Every command, for poise's framework options.
pub fn all() -> Vec<poise::Command<Arc<Bot>, Error>> {
    vec![ask(), course(), topics(), careerbot()]
}

/// Counts a question against the user's cooldown; on a refusal says so, privately.
async fn allowed(ctx: Context<'_>) -> Result<bool, Error> {
    let bot = ctx.data();
    if bot.cooldown.check(ctx.author().id.get(), Instant::now()) == Verdict::Allowed {
        return Ok(true);
    }
    bump(&bot.stats.throttled);
    ctx.send(Card::text(&bot.settings.replies.throttled).reply(true))
        .await?;
    Ok(false)
}

/// Ask a career question in your own words
#[poise::command(slash_command)]
pub async fn ask(
    ctx: Context<'_>,
    #[description = "Your question, e.g. \"do I need a degree to become a backend engineer?\""]
    #[max_length = 1000]
    question: String,
) -> Result<(), Error> {
    if !allowed(ctx).await? {
        return Ok(());
    }
    let bot = ctx.data();
    bump(&bot.stats.questions);
    let engine = bot.engine();
    let reply = engine.reply(&question);
    count_decision(bot, reply.decision);
    let card = present::reply(&engine, &bot.settings.replies, &reply, bot.next_question());
    ctx.send(card.reply(false)).await?;
    Ok(())
}

/// A course level, as `/course` offers it.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum LevelChoice {
    Beginner,
    Intermediate,
    Advanced,
}

impl From<LevelChoice> for Level {
    fn from(level: LevelChoice) -> Level {
        match level {
            LevelChoice::Beginner => Level::Beginner,
            LevelChoice::Intermediate => Level::Intermediate,
            LevelChoice::Advanced => Level::Advanced,
        }
    }
}

/// Completes `/course topic` from the catalog in memory (autocomplete cannot be deferred).
async fn complete_topic(ctx: Context<'_>, partial: &str) -> Vec<AutocompleteChoice> {
    ctx.data()
        .engine()
        .catalog()
        .suggest(partial, limits::AUTOCOMPLETE_CHOICES)
        .into_iter()
        .map(|topic| {
            let name = fit(&topic, limits::CHOICE_NAME);
            AutocompleteChoice::new(name.clone(), name)
        })
        .collect()
}

/// Find courses on a topic in the catalog
#[poise::command(slash_command)]
pub async fn course(
    ctx: Context<'_>,
    #[description = "A topic, e.g. SQL, operating systems, Go"]
    #[autocomplete = "complete_topic"]
    #[max_length = 100]
    topic: String,
    #[description = "Only courses of this level"] level: Option<LevelChoice>,
    #[description = "Only free courses"] free: Option<bool>,
) -> Result<(), Error> {
    if !allowed(ctx).await? {
        return Ok(());
    }
    let engine = ctx.data().engine();
    let filter = CourseFilter {
        level: level.map(Level::from),
        free_only: free.unwrap_or(false),
    };
    let hits = engine
        .catalog()
        .search(&topic, &filter, present::COURSES_LISTED);
    ctx.send(present::courses(&topic, &hits).reply(false))
        .await?;
    Ok(())
}

/// What I can answer, with a menu to pick a topic
#[poise::command(slash_command)]
pub async fn topics(ctx: Context<'_>) -> Result<(), Error> {
    let engine = ctx.data().engine();
    ctx.send(present::topics(&engine).reply(false)).await?;
    Ok(())
}

/// careerbot administration (Manage Server)
#[poise::command(
    slash_command,
    subcommands("reload", "stats"),
    subcommand_required,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    check = "manages_server"
)]
pub async fn careerbot(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// The server-side half of the admin gate: Discord hides `/careerbot` from members without
/// Manage Server, but a server can override that, so the permissions the interaction
/// carries are checked again here.
async fn manages_server(ctx: Context<'_>) -> Result<bool, Error> {
    let permissions = match ctx {
        poise::Context::Application(app) => {
            app.interaction.member.as_ref().and_then(|m| m.permissions)
        }
        poise::Context::Prefix(_) => None,
    };
    let allowed =
        permissions.is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.administrator());
    if !allowed {
        warn!(user = %ctx.author().id, command = %ctx.command().qualified_name, "admin command refused");
        ctx.send(
            Card::text("Only members with the **Manage Server** permission can use `/careerbot`.")
                .reply(true),
        )
        .await?;
    }
    Ok(allowed)
}

/// Reload the intent files (a set with errors is refused; the current one stays)
#[poise::command(slash_command, ephemeral)]
pub async fn reload(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let bot = ctx.data();
    let text = match bot.reload().await {
        Ok(done) => {
            info!(
                intents = done.intents,
                took_ms = done.took.as_millis() as u64,
                "reloaded"
            );
            format!(
                "Reloaded: {} intents in service ({} warnings), in {} ms.",
                done.intents,
                done.warnings,
                done.took.as_millis()
            )
        }
        Err(errors) => {
            warn!(errors = errors.len(), "reload refused");
            refused_reload(&errors)
        }
    };
    ctx.send(Card::text(&text).reply(true)).await?;
    Ok(())
}

/// The message for a refused reload: as many `path:line:col: message` lines as fit.
pub fn refused_reload(errors: &[crate::engine::intents::Diagnostic]) -> String {
    let head = format!(
        "Reload refused: {} error{}. The previous intents are still in service.\n```\n",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
    let tail = "```";
    let mut body = String::new();
    for (shown, error) in errors.iter().enumerate() {
        let line = format!("{}\n", error.to_string().replace("```", "'''"));
        let more = format!("… and {} more\n", errors.len() - shown);
        let budget = limits::CONTENT - head.chars().count() - tail.len() - more.chars().count();
        if body.chars().count() + line.chars().count() > budget {
            body.push_str(&more);
            break;
        }
        body.push_str(&line);
    }
    fit(&format!("{head}{body}{tail}"), limits::CONTENT)
}

/// Counters since the bot started
#[poise::command(slash_command, ephemeral)]
pub async fn stats(ctx: Context<'_>) -> Result<(), Error> {
    let bot = ctx.data();
    let engine = bot.engine();
    let s = &bot.stats;
    let (up, down) = bot.vote_counts();
    let mut text = String::from("```\n");
    let mut row = |name: &str, value: u64| {
        let _ = writeln!(text, "{name:<22}{value}");
    };
    row("uptime_seconds", bot.started.elapsed().as_secs());
    row("intents", engine.intents().len() as u64);
    row("questions", read(&s.questions));
    row("answers", read(&s.answers));
    row("clarifications", read(&s.clarifications));
    row("fallbacks", read(&s.fallbacks));
    row("unconfident_silent", read(&s.unconfident));
    row("throttled", read(&s.throttled));
    row("failed_sends", read(&s.failed_sends));
    row("votes_up", up as u64);
    row("votes_down", down as u64);
    row("reloads", read(&s.reloads));
    row("refused_reloads", read(&s.refused_reloads));
    text.push_str("```");
    ctx.send(Card::text(&text).reply(true)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::intents::{Diagnostic, Severity};

    #[test]
    fn a_refused_reload_lists_errors_within_a_message() {
        let errors: Vec<Diagnostic> = (0..500)
            .map(|n| Diagnostic {
                path: format!("intents/file{n}.toml").into(),
                line: n + 1,
                col: 3,
                severity: Severity::Error,
                message: "unknown field `exampels` ```".to_owned(),
            })
            .collect();
        let text = refused_reload(&errors);
        assert!(text.chars().count() <= limits::CONTENT);
        assert!(text.starts_with("Reload refused: 500 errors"));
        assert!(text.contains("intents/file0.toml:1:3: unknown field `exampels`"));
        assert!(text.contains("more"));
        assert_eq!(text.matches("```").count(), 2, "{text}");
        let one = refused_reload(&errors[..1]);
        assert!(one.starts_with("Reload refused: 1 error."));
        assert!(!one.contains("more"));
    }
}
