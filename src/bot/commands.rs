//! The slash commands (poise): `/ask`, `/course`, `/topics` and the admins' `/careerbot`.

use std::fmt::Write as _;
use std::sync::Arc;

use poise::serenity_prelude::{AutocompleteChoice, ChannelType, PartialChannel};
use tracing::warn;

use super::answer::{Asked, Question, Response};
use super::guilds;
use super::limits;
use super::manage;
use super::present::{self, Card};
use super::recorder::read;
use super::state::Bot;
use crate::admin::audit::{self, DONE};
use crate::admin::guilds::{describe_changes, Change, Field};
use crate::admin::store::Source;
use crate::engine::catalog::CourseFilter;
use crate::engine::intents::Level;
use crate::text::fit;

pub type Error = anyhow::Error;
pub type Context<'a> = poise::Context<'a, Arc<Bot>, Error>;

/// Every command, for poise's framework options.
pub fn all() -> Vec<poise::Command<Arc<Bot>, Error>> {
    vec![ask(), course(), topics(), careerbot()]
}

/// Sends a command's response: an answer for everyone in the channel, a notice privately.
async fn respond(ctx: Context<'_>, response: Response) -> Result<(), Error> {
    match response {
        Response::Answer(card) => ctx.send(card.reply(false)).await?,
        Response::Notice(card) => ctx.send(card.reply(true)).await?,
        Response::Silence => return Ok(()),
    };
    Ok(())
}

/// Ask a career question in your own words
#[poise::command(slash_command)]
pub async fn ask(
    ctx: Context<'_>,
    #[description = "Your question, e.g. \"do I need a degree to become a backend engineer?\""]
    #[max_length = 1000]
    question: String,
) -> Result<(), Error> {
    let channel = match ctx {
        poise::Context::Application(app) => app.interaction.channel.as_ref(),
        poise::Context::Prefix(_) => None,
    };
    let asked = Asked::new(Source::Slash, ctx.guild_id(), ctx.channel_id()).in_channel(channel);
    let response = ctx
        .data()
        .answer(ctx.author().id, Question::Text(&question), asked);
    respond(ctx, response).await
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
        .served()
        .engine
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
    if let Some(refused) = ctx.data().throttle(ctx.author().id, Source::Slash) {
        return respond(ctx, refused).await;
    }
    let served = ctx.data().served();
    let engine = &served.engine;
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
    let served = ctx.data().served();
    ctx.send(present::topics(&served.engine).reply(false))
        .await?;
    Ok(())
}

/// careerbot administration (Manage Server)
#[poise::command(
    slash_command,
    subcommands("reload", "stats", "unanswered", "settings"),
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
    let allowed = manage::may_administer(permissions);
    if !allowed {
        warn!(command = %ctx.command().qualified_name, "admin command refused");
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
    let reloaded = manage::reload(&ctx.serenity_context().http, bot, "/careerbot reload").await;
    let (detail, outcome) = match &reloaded {
        Ok(done) if done.unchanged => (
            format!("nothing to reload: version {}", done.version),
            DONE.to_owned(),
        ),
        Ok(done) => (
            format!(
                "{} intents in service, version {}",
                done.intents, done.version
            ),
            DONE.to_owned(),
        ),
        Err(refusal) => (
            "the set in service stays".to_owned(),
            audit::refused(&refusal.summary()),
        ),
    };
    manage::audit(bot, ctx.author(), ctx.guild_id(), "reload", detail, outcome);
    let text = match reloaded {
        Ok(done) if done.unchanged => format!(
            "The intent files hold the set in service: {} intents ({} warnings), nothing to reload.",
            done.intents,
            done.warnings.len()
        ),
        Ok(done) => format!(
            "Reloaded: {} intents in service ({} warnings), in {} ms.",
            done.intents,
            done.warnings.len(),
            done.took.as_millis()
        ),
        Err(refusal) => manage::refusal_message(&refusal),
    };
    ctx.send(Card::text(&text).reply(true)).await?;
    Ok(())
}

/// A setting to turn off in this server.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum TurnOff {
    #[name = "answer channels: answer only when asked"]
    AnswerChannels,
    #[name = "admin channel: post nowhere"]
    AdminChannel,
    #[name = "forum channels: answer posts only when asked"]
    ForumChannels,
}

/// A setting to set back to the config file's value in this server.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum Reset {
    #[name = "answer channels"]
    AnswerChannels,
    #[name = "admin channel"]
    AdminChannel,
    #[name = "channel threshold"]
    ChannelMinConfidence,
    #[name = "all of them"]
    All,
    // After the others: Discord sends a choice's index, which a process of the previous
    // version, in a rolling upgrade, reads with its own list.
    #[name = "forum channels"]
    ForumChannels,
}

/// This server's settings; with no option, shows them
// Every change asked for, made or refused, goes to the audit log.
// One parameter per option: that is how poise declares a slash command's options.
#[allow(clippy::too_many_arguments)]
#[poise::command(slash_command, ephemeral)]
pub async fn settings(
    ctx: Context<'_>,
    #[description = "Also answer questions in this channel that do not mention the bot"]
    #[channel_types("Text", "News")]
    add_answer_channel: Option<PartialChannel>,
    #[description = "Stop answering questions in this channel unless the bot is mentioned"]
    #[channel_types("Text", "News")]
    remove_answer_channel: Option<PartialChannel>,
    #[description = "Also answer new posts in this forum (when the bot is sure)"]
    #[channel_types("Forum")]
    add_forum_channel: Option<PartialChannel>,
    #[description = "Stop answering new posts in this forum unless the bot is mentioned"]
    #[channel_types("Forum")]
    remove_forum_channel: Option<PartialChannel>,
    #[description = "Where to tell this server's admins about refused intent reloads"]
    #[channel_types("Text", "News")]
    admin_channel: Option<PartialChannel>,
    #[description = "How sure (0 to 1) the bot must be to answer a question that did not mention it"]
    #[min = 0]
    #[max = 1]
    channel_min_confidence: Option<f64>,
    #[description = "Turn a setting off in this server"] turn_off: Option<TurnOff>,
    #[description = "Set a setting back to the bot's default"] reset: Option<Reset>,
) -> Result<(), Error> {
    let Some(guild) = ctx.guild_id() else {
        return Ok(());
    };
    let bot = ctx.data();
    let here = guilds::channels_here(ctx.serenity_context(), guild, bot);
    let refused = |detail: String, why: &str| {
        let outcome = audit::refused(why);
        manage::audit(bot, ctx.author(), Some(guild), SETTINGS, detail, outcome);
    };
    let mut changes = Vec::new();
    type Kind = (fn(ChannelType) -> bool, &'static str);
    let texts: Kind = (
        |kind| matches!(kind, ChannelType::Text | ChannelType::News),
        "a text or announcement channel",
    );
    let forums: Kind = (|kind| kind == ChannelType::Forum, "a forum channel");
    let channels = [
        (
            add_answer_channel,
            Change::AddAnswerChannel as fn(u64) -> Change,
            texts,
        ),
        (remove_answer_channel, Change::RemoveAnswerChannel, texts),
        (add_forum_channel, Change::AddForumChannel, forums),
        (remove_forum_channel, Change::RemoveForumChannel, forums),
        (admin_channel, Change::AdminChannel, texts),
    ];
    for (channel, change, (fits, kind)) in channels {
        let Some(channel) = channel else { continue };
        let change = change(channel.id.get());
        if !fits(channel.kind) {
            refused(change.to_string(), &format!("not {kind}"));
            let text = format!("<#{}> is not {kind}: pick one.", channel.id);
            ctx.send(Card::text(&text).reply(true)).await?;
            return Ok(());
        }
        if here
            .as_ref()
            .is_some_and(|here| !here.channels.contains(&channel.id.get()))
        {
            refused(change.to_string(), "not a channel of this server");
            let text = format!("<#{}> is not a channel of this server.", channel.id);
            ctx.send(Card::text(&text).reply(true)).await?;
            return Ok(());
        }
        changes.push(change);
    }
    if let Some(value) = channel_min_confidence {
        changes.push(Change::ChannelMinConfidence(value as f32));
    }
    match turn_off {
        Some(TurnOff::AnswerChannels) => changes.push(Change::NoAnswerChannels),
        Some(TurnOff::ForumChannels) => changes.push(Change::NoForumChannels),
        Some(TurnOff::AdminChannel) => changes.push(Change::NoAdminChannel),
        None => {}
    }
    let fields = match reset {
        Some(Reset::AnswerChannels) => &[Field::AnswerChannels][..],
        Some(Reset::ForumChannels) => &[Field::ForumChannels],
        Some(Reset::AdminChannel) => &[Field::AdminChannel],
        Some(Reset::ChannelMinConfidence) => &[Field::ChannelMinConfidence],
        Some(Reset::All) => &[
            Field::AnswerChannels,
            Field::ForumChannels,
            Field::AdminChannel,
            Field::ChannelMinConfidence,
        ],
        None => &[],
    };
    changes.extend(fields.iter().map(|field| Change::Default(*field)));
    let text = match here {
        _ if changes.is_empty() => guilds::describe(bot, guild, &here.unwrap_or_default()),
        // Which of the config file's channels are this server's is not known yet: a change
        // could drop them.
        None => {
            refused(
                describe_changes(&changes),
                "the bot did not know the server's channels yet",
            );
            "The bot does not know this server's channels yet (it is still connecting \
                 to it); try again in a moment."
                .to_owned()
        }
        Some(here) => {
            ctx.defer_ephemeral().await?;
            let (text, outcome, changed) = guilds::change(bot, guild, changes.clone(), here).await;
            let mut detail = describe_changes(&changes);
            if !changed && outcome == DONE {
                detail.push_str(" (nothing to change: already so)");
            }
            manage::audit(bot, ctx.author(), Some(guild), SETTINGS, detail, outcome);
            text
        }
    };
    ctx.send(Card::text(&text).reply(true)).await?;
    Ok(())
}

/// The audit log's action of a change of a server's settings.
const SETTINGS: &str = "settings";

/// Unanswered questions, grouped, each with a menu to make it an example or ignore it
#[poise::command(slash_command, ephemeral)]
pub async fn unanswered(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let card = manage::unanswered_card(ctx.data()).await?;
    ctx.send(card.reply(true)).await?;
    Ok(())
}

/// Counters since the bot started
#[poise::command(slash_command, ephemeral)]
pub async fn stats(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let bot = ctx.data();
    let served = bot.served();
    let engine = &served.engine;
    let s = &bot.recorder.stats;
    let mut text = String::from("```\n");
    let _ = writeln!(text, "{:<22}{}", "shards", bot.shards);
    let set = match served.published {
        Some(version) => format!("published v{version}"),
        None => "local directory".to_owned(),
    };
    let _ = writeln!(text, "{:<22}{set}", "intent_set");
    let _ = writeln!(text, "{:<22}{}", "intent_set_version", served.version);
    let mut row = |name: &str, value: u64| {
        let _ = writeln!(text, "{name:<22}{value}");
    };
    row("uptime_seconds", bot.started.elapsed().as_secs());
    row("intents", engine.intents().len() as u64);
    row("questions", read(&s.questions));
    row("answers", read(&s.answers));
    row("clarifications", read(&s.clarifications));
    row("fallbacks", read(&s.fallbacks));
    row("declines", read(&s.declines));
    row("unconfident_silent", read(&s.unconfident));
    row("throttled", read(&s.throttled));
    row("failed_sends", read(&s.failed_sends));
    row("votes_up", read(&s.votes_up));
    row("votes_down", read(&s.votes_down));
    row("posts_solved", read(&s.posts_solved));
    row("threads_followed", bot.discord.threads.len() as u64);
    row("reloads", read(&s.reloads));
    row("refused_reloads", read(&s.refused_reloads));
    // Records the database never got: dropped in an outage longer than the buffer.
    row("records_lost", bot.recorder.lost());
    text.push_str("```");
    if let Some(report) = manage::recent_report(bot, 7).await? {
        // With PostgreSQL, the whole cluster's records: every process's.
        text.push_str("\n**Last 7 days** (from the database)\n```\n");
        text.push_str(&fit(
            &report,
            limits::CONTENT.saturating_sub(text.len() + 10),
        ));
        text.push_str("\n```");
    }
    ctx.send(Card::text(&text).reply(true)).await?;
    Ok(())
}
