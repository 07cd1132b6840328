//! Gateway events that are not slash commands: plain messages (mentions, DMs, watched
//! channels, forum posts and the threads the bot follows) and clicks on the bot's buttons
//! and menus.

use std::sync::Arc;
use std::time::{Duration, Instant};

use poise::serenity_prelude::{
    self as serenity, ChannelId, ChannelType, ComponentInteraction, ComponentInteractionDataKind,
    Context, CreateInteractionResponse, CreateThread, EditThread, GuildChannel, Message,
    MessageReference, RoleId, UserId,
};
use tracing::{debug, info, warn};

use super::answer::{Asked, Question, Response};
use super::present::{Action, Card};
use super::recorder::bump;
use super::state::Bot;
use super::threads::Heard;
use crate::admin::store::Source;

/// Answers a plain message when it is addressed to the bot (a mention or a DM), sits in one
/// of `answer_channels`, opens a post of `forum_channels`, or continues a thread the bot
/// follows (see [`super::threads`]); stays silent otherwise, and on anything from a bot.
pub async fn on_message(ctx: &Context, bot: &Bot, me: UserId, message: &Message) {
    if message.author.bot || message.author.id == me || message.webhook_id.is_some() {
        debug!("no answer to message {}: from a bot", message.id);
        return;
    }
    // Members often pick the bot's own role from Discord's mention list instead of its user.
    let own_roles: Vec<RoleId> = message
        .mention_roles
        .iter()
        .copied()
        .filter(|role| bot.discord.is_own_role(*role))
        .collect();
    let mentioned = message.mentions_user_id(me) || !own_roles.is_empty();
    let question = strip_mention(&message.content, me, &own_roles);
    let addressed = if mentioned {
        Source::Mention
    } else {
        Source::Thread
    };
    let (source, question, parent) = if message.guild_id.is_none() {
        (Source::Dm, question, None)
    } else {
        let threads = &bot.discord.threads;
        // A post's first message may come before the post, when forums are watched at all.
        let forums = bot.guilds.watches_forums(message.guild_id);
        match threads.heard(message, forums, mentioned, Instant::now()) {
            Heard::Post { title, parent } => {
                let source = if mentioned {
                    Source::Mention
                } else {
                    Source::Forum
                };
                (source, post_question(&title, &question), Some(parent))
            }
            Heard::Opener { parent } => (addressed, question, Some(parent)),
            Heard::Early => {
                debug!(
                    "message {} opens a post not announced yet: kept",
                    message.id
                );
                return;
            }
            Heard::Humans { parent } if mentioned => (Source::Mention, question, Some(parent)),
            Heard::Elsewhere if mentioned => {
                let asked = Asked::new(Source::Mention, message.guild_id, message.channel_id);
                let asked = match thread_parent(ctx, message) {
                    Some(parent) => asked.in_thread_of(Some(parent)),
                    // A post's first message, seen before the post: a thread, unknown yet.
                    None if message.id.get() == message.channel_id.get() => {
                        asked.in_unknown_thread()
                    }
                    None => asked,
                };
                return respond(ctx, bot, message, asked, &question).await;
            }
            Heard::Humans { .. } => {
                debug!(
                    "no answer to message {}: the thread is the humans'",
                    message.id
                );
                return;
            }
            Heard::Elsewhere => {
                if !bot.guilds.answers_in(message.guild_id, message.channel_id) {
                    debug!("no answer to message {}: not addressed", message.id);
                    return;
                }
                (Source::Channel, question, None)
            }
        }
    };
    let asked = Asked::new(source, message.guild_id, message.channel_id).in_thread_of(parent);
    respond(ctx, bot, message, asked, &question).await;
}

/// The channel or forum `message`'s channel is in, when that is a thread serenity's cache
/// knows (a thread's id names who opened it, so it is not stored).
fn thread_parent(ctx: &Context, message: &Message) -> Option<ChannelId> {
    let guild = ctx.cache.guild(message.guild_id?)?;
    let thread = guild.threads.iter().find(|t| t.id == message.channel_id)?;
    thread.parent_id
}

/// A new post in a thread (serenity's ThreadCreate): in a watched forum, its first message
/// is asked with its title, now if it came first, else when it comes. A THREAD_CREATE that
/// adds the bot to a thread (it carries the bot's membership) is no new post.
pub async fn on_thread(ctx: &Context, bot: &Bot, me: UserId, thread: &GuildChannel) {
    let watched = |forum: &ChannelId| bot.guilds.forum_in(Some(thread.guild_id), *forum);
    let Some(forum) = thread.parent_id.filter(watched) else {
        debug!("thread {} is in no watched forum", thread.id);
        return;
    };
    let Some(opener) = thread.owner_id.filter(|opener| *opener != me) else {
        return;
    };
    if thread.member.is_some() {
        debug!(thread = %thread.id, "added to a post: not a new question");
        return;
    }
    debug!("post {} seen in a watched forum", thread.id);
    let threads = &bot.discord.threads;
    if let Some(first) = threads.post_opened(thread.id, forum, opener, &thread.name) {
        // The first message came first: it was kept unanswered, and mentioned nobody.
        let question = strip_mention(&first.content, me, &[]);
        let question = post_question(&thread.name, &question);
        let asked =
            Asked::new(Source::Forum, first.guild_id, first.channel_id).in_thread_of(Some(forum));
        respond(ctx, bot, &first, asked, &question).await;
    }
}

/// A forum post's question: its title, then its first message.
fn post_question(title: &str, message: &str) -> String {
    format!("{}\n{}", title.trim(), message.trim())
}

/// Answers `message` (whose words, without mentions of the bot, are `question`), `asked` as
/// it was: in a thread started from it for `reply_in_thread`, else where it was asked.
async fn respond(ctx: &Context, bot: &Bot, message: &Message, asked: Asked, question: &str) {
    let source = asked.source();
    if question.trim().is_empty() {
        // Without the Message Content intent, unaddressed messages arrive empty.
        if source.is_unprompted() {
            debug!("no answer to message {}: empty", message.id);
        } else {
            let card = Card::text(&bot.settings.replies.prompt);
            send(ctx, bot, message, card).await;
        }
        return;
    }
    match bot.answer(message.author.id, Question::Text(question), asked) {
        Response::Answer(card)
            if source == Source::Channel && bot.settings.discord.reply_in_thread =>
        {
            let Some(thread) = open_thread(ctx, message, question).await else {
                send(ctx, bot, message, card).await;
                return;
            };
            // Followed before the answer is out: the asker may write there at once.
            let (user, there) = (message.author.id, asked.moved_to(thread));
            bot.discord
                .threads
                .started(thread, message.channel_id, user);
            bot.discord.move_conversation(user, asked, there);
            if !send_to(ctx, bot, thread, None, card.clone()).await {
                // Not allowed to write in threads, say: the channel still gets the answer,
                // and the conversation goes on there.
                bot.discord.threads.forget(thread);
                bot.discord.move_conversation(user, there, asked);
                send(ctx, bot, message, card).await;
            }
        }
        Response::Answer(card) => {
            if send(ctx, bot, message, card).await {
                debug!("answered message {}", message.id);
            }
        }
        // The cooldown's notice: the last thing this message gets.
        Response::Notice(card) => {
            send(ctx, bot, message, card).await;
            debug!("no answer to message {}: throttled, told", message.id);
        }
        Response::Silence => {
            debug!(
                "no answer to message {}: left alone or throttled",
                message.id
            );
        }
    }
}

/// The longest thread name Discord takes, in characters.
const THREAD_NAME_CHARS: usize = 100;

/// Starts a public thread from `message`, named after its `question`; `None` (logged) when
/// Discord refuses (no Create Public Threads permission, a thread already there).
async fn open_thread(ctx: &Context, message: &Message, question: &str) -> Option<ChannelId> {
    let name = thread_name(question);
    let builder = CreateThread::new(name).kind(ChannelType::PublicThread);
    match message
        .channel_id
        .create_thread_from_message(&ctx.http, message.id, builder)
        .await
    {
        Ok(thread) => Some(thread.id),
        Err(error) => {
            warn!(%error, "could not start a thread for an answer; answering in the channel");
            None
        }
    }
}

/// A thread's name from the question: its words on one line, cut to what Discord takes.
fn thread_name(question: &str) -> String {
    let words: Vec<&str> = question.split_whitespace().collect();
    let line = words.join(" ");
    let mut name: String = line.chars().take(THREAD_NAME_CHARS).collect();
    if name.len() < line.len() {
        name.pop();
        name.push('…');
    }
    if name.is_empty() {
        name.push_str("Question");
    }
    name
}

/// The message without mentions of the bot (`<@id>`, the older `<@!id>`, and `<@&role>` for
/// its own `roles`).
pub fn strip_mention(content: &str, me: UserId, roles: &[RoleId]) -> String {
    let mut content = content
        .replace(&format!("<@{me}>"), " ")
        .replace(&format!("<@!{me}>"), " ");
    for role in roles {
        content = content.replace(&format!("<@&{role}>"), " ");
    }
    content.trim().to_owned()
}

/// How long to wait before the one retry of a reply Discord refused with 429 or 5xx.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Sends `card` in reply to `message` (as a reply in servers, without pinging anyone);
/// false when it could not be sent.
async fn send(ctx: &Context, bot: &Bot, message: &Message, card: Card) -> bool {
    // A question deleted meanwhile must not make Discord refuse the answer.
    let reference = message
        .guild_id
        .map(|_| MessageReference::from(message).fail_if_not_exists(false));
    send_to(ctx, bot, message.channel_id, reference, card).await
}

/// Sends `card` to `channel`, replying to `reference` if any; a refused or failed call is
/// logged, retried once when Discord says to try later, and never stops the bot. False when
/// it was not sent.
async fn send_to(
    ctx: &Context,
    bot: &Bot,
    channel: ChannelId,
    reference: Option<MessageReference>,
    card: Card,
) -> bool {
    let Ok(_permit) = bot.discord.sending.acquire().await else {
        return false;
    };
    let mut builder = card.message();
    if let Some(reference) = reference {
        builder = builder.reference_message(reference);
    }
    for attempt in 0..2 {
        match channel.send_message(&ctx.http, builder.clone()).await {
            Ok(_) => return true,
            Err(error) if attempt == 0 && is_transient(&error) => {
                debug!(%error, "Discord asked to retry a reply");
                tokio::time::sleep(RETRY_AFTER).await;
            }
            Err(error) => {
                bump(&bot.recorder.stats.failed_sends);
                warn!(%error, "could not send a reply");
                return false;
            }
        }
    }
    false
}

/// A 429 or a 5xx: worth one more try.
fn is_transient(error: &serenity::Error) -> bool {
    status_of(error).is_some_and(|status| status == 429 || status >= 500)
}

/// The HTTP status Discord refused a call with.
fn status_of(error: &serenity::Error) -> Option<u16> {
    match error {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            Some(response.status_code.as_u16())
        }
        _ => None,
    }
}

/// A click on one of the bot's buttons or menus. Answers go only to the clicker
/// (ephemeral), so exploring topics does not flood the channel.
pub async fn on_component(ctx: &Context, bot: &Arc<Bot>, click: &ComponentInteraction) {
    let mut solved = false;
    let chosen = match (&click.data.kind, Action::parse(&click.data.custom_id)) {
        (ComponentInteractionDataKind::StringSelect { values }, Some(Action::Pick)) => {
            values.first().cloned().map(Action::Answer)
        }
        (ComponentInteractionDataKind::StringSelect { values }, Some(Action::Triage(group))) => {
            let choice = values.first().map_or("", String::as_str);
            return super::manage::triage(ctx, bot, click, group, choice).await;
        }
        (_, action) => action,
    };
    let card = match chosen {
        Some(Action::Answer(ref intent) | Action::More(ref intent)) => {
            let question = if matches!(chosen, Some(Action::More(_))) {
                Question::More(intent)
            } else {
                Question::Intent(intent)
            };
            let asked = Asked::new(Source::Button, click.guild_id, click.channel_id)
                .in_channel(click.channel.as_ref());
            let Some(card) = bot.answer(click.user.id, question, asked).card() else {
                return;
            };
            card
        }
        Some(Action::Vote {
            up,
            question,
            intent,
        }) => {
            if !bot
                .recorder
                .vote(click.user.id.get(), question, &intent, up)
            {
                Card::text("You have already rated this answer. Thanks!")
            } else if up {
                solved = in_watched_forum(bot, click);
                Card::text("Thanks! Glad it helped.")
            } else {
                Card::text("Thanks for telling me. The admins review answers that miss.")
            }
        }
        Some(Action::Pick | Action::Triage(_)) | None => {
            Card::text("This button is no longer active. Try `/topics` or ask me again.")
        }
    };
    let response = CreateInteractionResponse::Message(card.interaction(true));
    if let Err(error) = click.create_response(&ctx.http, response).await {
        bump(&bot.recorder.stats.failed_sends);
        warn!(%error, "could not answer a click");
    }
    if solved {
        mark_solved(ctx, bot, click).await;
    }
}

/// Whether `click` happened in a post of a watched forum whose admins named a solved tag.
fn in_watched_forum(bot: &Bot, click: &ComponentInteraction) -> bool {
    let parent = click.channel.as_ref().and_then(|channel| channel.parent_id);
    bot.settings.discord.solved_tag.is_some()
        && parent.is_some_and(|p| bot.guilds.forum_in(click.guild_id, p))
}

/// Most tags Discord lets a forum post carry.
const MAX_APPLIED_TAGS: usize = 5;

/// Applies the solved tag to the forum post `click` (a 👍) happened in, when the clicker
/// opened the post. Discord is asked who did (nothing about the post's members is kept),
/// and decides whether the bot may manage the thread: without Manage Threads the vote
/// stays recorded and the post untagged.
async fn mark_solved(ctx: &Context, bot: &Bot, click: &ComponentInteraction) {
    let Some(name) = &bot.settings.discord.solved_tag else {
        return;
    };
    let post = match click.channel_id.to_channel(&ctx.http).await {
        Ok(serenity::Channel::Guild(post)) => post,
        Ok(_) => return,
        Err(error) => {
            warn!(%error, "could not read the forum post to mark it solved");
            return;
        }
    };
    if post.owner_id != Some(click.user.id) {
        debug!(post = %post.id, "a 👍 from someone other than the post's author: no tag");
        return;
    }
    let Some(forum) = post.parent_id else {
        return;
    };
    let tag = match forum.to_channel(&ctx.http).await {
        Ok(serenity::Channel::Guild(forum)) => forum
            .available_tags
            .into_iter()
            .find(|tag| tag.name.to_lowercase() == name.to_lowercase()),
        Ok(_) => None,
        Err(error) => {
            warn!(%error, "could not read the forum's tags to mark a post solved");
            return;
        }
    };
    let Some(tag) = tag else {
        warn!(%forum, tag = %name, "the forum has no tag named as discord.solved_tag");
        return;
    };
    if post.applied_tags.contains(&tag.id) {
        return;
    }
    if post.applied_tags.len() >= MAX_APPLIED_TAGS {
        info!(post = %post.id, "the post already carries as many tags as Discord allows");
        return;
    }
    let mut tags = post.applied_tags.clone();
    tags.push(tag.id);
    let mut edit = EditThread::new().applied_tags(tags);
    // Discord refuses to tag an archived post: it is reopened with the tag, and archives
    // itself again when quiet.
    if post.thread_metadata.is_some_and(|m| m.archived) {
        edit = edit.archived(false);
    }
    match post.id.edit_thread(&ctx.http, edit).await {
        Ok(_) => {
            bump(&bot.recorder.stats.posts_solved);
            debug!(post = %post.id, "marked a forum post solved");
        }
        Err(error) if status_of(&error) == Some(403) => info!(
            post = %post.id,
            "the bot may not manage threads here: the vote is recorded, the post is not tagged"
        ),
        Err(error) => warn!(%error, "could not tag a forum post solved"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_named_after_its_question_within_discord_s_length() {
        assert_eq!(thread_name("  how do I\n start?  "), "how do I start?");
        assert_eq!(thread_name(" \n "), "Question");
        let long = "é".repeat(150);
        let name = thread_name(&long);
        assert_eq!(name.chars().count(), THREAD_NAME_CHARS);
        assert!(name.ends_with('…'));
        assert_eq!(
            post_question(" Degree? ", " Do I need one?\n"),
            "Degree?\nDo I need one?"
        );
    }

    #[test]
    fn both_mention_forms_are_stripped() {
        let me = UserId::new(42);
        assert_eq!(
            strip_mention("<@42> what is a backend?", me, &[]),
            "what is a backend?"
        );
        assert_eq!(
            strip_mention("hey <@!42>, degree?", me, &[]),
            "hey  , degree?"
        );
        assert_eq!(strip_mention("<@420> hi", me, &[]), "<@420> hi");
        let role = RoleId::new(7);
        assert_eq!(
            strip_mention("<@&7> salary? <@&8>", me, &[role]),
            "salary? <@&8>"
        );
    }
}
