//! Gateway events that are not slash commands: plain messages (mentions, DMs, watched
//! channels) and clicks on the bot's buttons and menus.

use std::sync::Arc;
use std::time::Duration;

use poise::serenity_prelude::{
    self as serenity, ComponentInteraction, ComponentInteractionDataKind, Context,
    CreateInteractionResponse, Message, MessageReference, RoleId, UserId,
};
use tracing::{debug, warn};

use super::answer::{Asked, Question, Response};
use super::present::{Action, Card};
use super::recorder::bump;
use super::state::Bot;
use crate::admin::store::Source;

/// Answers a plain message when it is addressed to the bot (a mention or a DM) or sits in
/// one of `answer_channels`; stays silent otherwise, and on anything from a bot.
pub async fn on_message(ctx: &Context, bot: &Bot, me: UserId, message: &Message) {
    if message.author.bot || message.author.id == me || message.webhook_id.is_some() {
        debug!("no answer to message {}: from a bot", message.id);
        return;
    }
    let in_dm = message.guild_id.is_none();
    // Members often pick the bot's own role from Discord's mention list instead of its user.
    let own_roles: Vec<RoleId> = message
        .mention_roles
        .iter()
        .copied()
        .filter(|role| bot.discord.is_own_role(*role))
        .collect();
    let mentioned = message.mentions_user_id(me) || !own_roles.is_empty();
    let source = if in_dm {
        Source::Dm
    } else if mentioned {
        Source::Mention
    } else if bot
        .settings
        .discord
        .answer_channels
        .contains(&message.channel_id)
    {
        Source::Channel
    } else {
        debug!("no answer to message {}: not addressed", message.id);
        return;
    };
    let question = strip_mention(&message.content, me, &own_roles);
    if question.trim().is_empty() {
        // Without the Message Content intent, unaddressed messages arrive empty.
        if source == Source::Channel {
            debug!("no answer to message {}: empty", message.id);
        } else {
            let card = Card::text(&bot.settings.replies.prompt);
            send(ctx, bot, message, card).await;
        }
        return;
    }
    let asked = Asked::new(source, message.guild_id, message.channel_id);
    match bot.answer(message.author.id, Question::Text(&question), asked) {
        Response::Answer(card) => send(ctx, bot, message, card).await,
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

/// Sends `card` in reply to `message` (as a reply in servers, without pinging anyone); a
/// refused or failed call is logged, retried once when Discord says to try later, and
/// never stops the bot.
async fn send(ctx: &Context, bot: &Bot, message: &Message, card: Card) {
    let Ok(_permit) = bot.discord.sending.acquire().await else {
        return;
    };
    let mut builder = card.message();
    if message.guild_id.is_some() {
        // A question deleted meanwhile must not make Discord refuse the answer.
        let reference = MessageReference::from(message).fail_if_not_exists(false);
        builder = builder.reference_message(reference);
    }
    for attempt in 0..2 {
        match message
            .channel_id
            .send_message(&ctx.http, builder.clone())
            .await
        {
            Ok(_) => return,
            Err(error) if attempt == 0 && is_transient(&error) => {
                debug!(%error, "Discord asked to retry a reply");
                tokio::time::sleep(RETRY_AFTER).await;
            }
            Err(error) => {
                bump(&bot.recorder.stats.failed_sends);
                warn!(%error, "could not send a reply");
                return;
            }
        }
    }
}

/// A 429 or a 5xx: worth one more try.
fn is_transient(error: &serenity::Error) -> bool {
    match error {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            let status = response.status_code.as_u16();
            status == 429 || status >= 500
        }
        _ => false,
    }
}

/// A click on one of the bot's buttons or menus. Answers go only to the clicker
/// (ephemeral), so exploring topics does not flood the channel.
pub async fn on_component(ctx: &Context, bot: &Arc<Bot>, click: &ComponentInteraction) {
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
            let asked = Asked::new(Source::Button, click.guild_id, click.channel_id);
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
