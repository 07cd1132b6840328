//! The admins' side of the bot (`/careerbot`): reloads (a refusal is announced once in
//! `admin_channel`), the unanswered-question queue with its triage menus, figures from the
//! store, and the audit log of what admins change (see [`audit`]). Named apart from
//! [`crate::admin`], whose synchronous work it drives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use poise::serenity_prelude::{
    ChannelId, ComponentInteraction, Context, CreateActionRow, CreateSelectMenu,
    CreateSelectMenuKind, CreateSelectMenuOption, GuildId, Http, Permissions, User,
};
use tracing::{debug, error, info, warn};

use super::limits;
use super::present::{Action, Card};
use super::recorder::bump;
use super::state::Bot;
use crate::admin::audit::{self, AuditEntry, DONE};
use crate::admin::reload::{Refusal, Reloaded};
use crate::admin::report;
use crate::admin::store::{now_ms, Servers, Store};
use crate::admin::triage::{self, Filed};
use crate::admin::unanswered::{self, Group};
use crate::text::fit;

/// Groups shown by `/careerbot unanswered` (one menu each; Discord allows five rows).
const GROUPS_SHOWN: usize = limits::ROWS;
/// Unanswered questions read from the store to group.
const QUEUE_READ: usize = 10_000;
/// Groups whose menus stay usable (tokens of the latest `/careerbot unanswered` lists).
const SHOWN_KEPT: usize = 100;
/// The menu value that drops a group from the queue without editing anything.
const IGNORE: &str = "ignore";

/// The triage state: the unanswered groups last shown to admins, and one choice at a time.
#[derive(Default)]
pub struct Triage {
    /// Groups last shown by `/careerbot unanswered`, by the number in their menu.
    shown: Mutex<HashMap<u64, Group>>,
    /// Held from a choice's append to its reload (and undo, if refused), so one admin's
    /// undo can never take back another's example.
    /// Shared with the dashboard when `careerbot run` serves it.
    pub one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

impl Triage {
    fn shown(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Group>> {
        self.shown.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reloads, logs the outcome and announces a refusal in `admin_channel` the first time it
/// is seen. `trigger` says why ("files changed", "SIGHUP", "/careerbot reload").
pub async fn reload(http: &Http, bot: &Bot, trigger: &str) -> Result<Reloaded, Refusal> {
    let result = bot.reload().await;
    announce(http, bot, trigger, &result).await;
    result
}

/// The trigger of a reload the publication listener asked for.
pub const PUBLISHED_SET: &str = "published set";

/// Logs a reload's outcome; posts a refusal to `admin_channel` the first time it is seen.
async fn announce(http: &Http, bot: &Bot, trigger: &str, result: &Result<Reloaded, Refusal>) {
    match result {
        // The periodic look at the published version, finding the one in service.
        Ok(done) if done.unchanged && trigger == PUBLISHED_SET => debug!(
            version = %done.version,
            published = ?done.published,
            "the published set in service is current"
        ),
        Ok(done) => info!(
            trigger,
            intents = done.intents,
            took_ms = done.took.as_millis() as u64,
            version = %done.version,
            published = ?done.published,
            unchanged = done.unchanged,
            "reloaded"
        ),
        Err(refusal) => {
            if let Refusal::Panicked(_) = refusal {
                error!(
                    trigger,
                    "a reload panicked, the previous set stays: {}",
                    refusal.text()
                );
            } else {
                warn!(
                    trigger,
                    "reload refused, the previous set stays: {}",
                    refusal.text()
                );
            }
            if bot.reloader.first_time(refusal) {
                let card = Card::text(&refusal_message(refusal));
                for channel in admin_channels(http, bot).await {
                    if let Err(error) = channel.send_message(http, card.clone().message()).await {
                        warn!(%error, %channel, "could not post the refused reload to an admin channel");
                    }
                }
            }
        }
    }
}

/// The admin channels of the servers this process runs: each server's own, and the
/// config file's unless its server chose another (or none). The config file's is looked up
/// to know its server; when that fails, the process running shard 0 posts to it anyway.
async fn admin_channels(http: &Http, bot: &Bot) -> Vec<ChannelId> {
    let own = bot.guilds.own_admin_channels();
    let mut channels: Vec<ChannelId> = own
        .iter()
        .filter(|(guild, _)| bot.shards.runs_guild(guild.get()))
        .filter_map(|(_, channel)| *channel)
        .collect();
    if let Some(default) = bot.guilds.default_admin_channel() {
        let server = match default.to_channel(http).await {
            Ok(channel) => channel.guild().map(|c| c.guild_id),
            Err(error) => {
                debug!(%error, "could not look up the config file's admin channel");
                None
            }
        };
        let posted = match server {
            Some(server) => {
                bot.shards.runs_guild(server.get()) && !own.iter().any(|(g, _)| *g == server)
            }
            None => bot.shards.first == 0,
        };
        if posted {
            channels.push(default);
        }
    }
    channels.sort_unstable();
    channels.dedup();
    channels
}

/// A refused reload as one message: the summary, then as many problem lines as fit.
pub fn refusal_message(refusal: &Refusal) -> String {
    let head = format!(
        "Reload refused: {}. The previous intents are still in service.\n```\n",
        refusal.summary()
    );
    let tail = "```";
    let lines = refusal.lines();
    let mut body = String::new();
    for (shown, line) in lines.iter().enumerate() {
        let line = format!("{}\n", line.replace("```", "'''"));
        let more = format!("… and {} more\n", lines.len() - shown);
        let budget = limits::CONTENT - head.chars().count() - tail.len() - more.chars().count();
        if body.chars().count() + line.chars().count() > budget {
            body.push_str(&more);
            break;
        }
        body.push_str(&line);
    }
    fit(&format!("{head}{body}{tail}"), limits::CONTENT)
}

/// Logs a change `admin` made (or tried) from Discord in `guild` to the audit log, through
/// the store's writer: never waits. Only for admins: a member refused at the gate is not
/// logged, as a member's id is never stored.
pub fn audit(
    bot: &Bot,
    admin: &User,
    guild: Option<GuildId>,
    action: &str,
    detail: String,
    outcome: String,
) {
    bot.recorder.audit(AuditEntry::discord(
        &admin.name,
        admin.id.get(),
        guild.map(GuildId::get),
        action,
        detail,
        outcome,
    ));
}

/// The audit log's action of filing a group under an intent.
const FILE_EXAMPLE: &str = "file_example";
/// The audit log's action of dropping a group from the queue.
const IGNORE_GROUP: &str = "ignore_group";

/// Whether an interaction's member may administer the bot.
pub fn may_administer(permissions: Option<Permissions>) -> bool {
    permissions.is_some_and(|p| p.contains(Permissions::MANAGE_GUILD) || p.administrator())
}

/// Commits pending records, then runs `read` on a fresh connection to the store, off the
/// async runtime. `None` when no database is configured.
pub async fn with_store<T: Send + 'static>(
    bot: &Arc<Bot>,
    read: impl FnOnce(&mut Store) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<Option<T>> {
    let Some(connector) = bot.recorder.connector() else {
        return Ok(None);
    };
    let bot = Arc::clone(bot);
    tokio::task::spawn_blocking(move || {
        bot.recorder.flush();
        let mut store = connector.connect()?;
        read(&mut store).map(Some)
    })
    .await?
}

/// The top unanswered groups and a menu for each: its likely intents, or "ignore".
pub async fn unanswered_card(bot: &Arc<Bot>) -> anyhow::Result<Card> {
    let below = bot.settings.admin.unanswered_below;
    let similarity = bot.settings.admin.group_similarity;
    let groups = with_store(bot, move |store| {
        let questions = store.unanswered(0, below, QUEUE_READ)?;
        Ok(unanswered::group(&questions, similarity).groups)
    })
    .await?;
    let Some(groups) = groups else {
        return Ok(Card::text(
            "No database is configured (`[admin] database`), so there is no queue.",
        ));
    };
    if groups.is_empty() {
        return Ok(Card::text("No unanswered questions. 🎉"));
    }
    let served = bot.served();
    let engine = &served.engine;
    let mut text = format!(
        "**Unanswered questions**: the top {} of {} groups. Pick the topic that should answer a group (its question becomes an example of that intent, then the intents reload), or ignore it.\n",
        groups.len().min(GROUPS_SHOWN),
        groups.len()
    );
    let mut rows = Vec::new();
    let mut shown = bot.triage.shown();
    // Several admins may have menus open: keep the newest lists, drop the oldest entries.
    while shown.len() >= SHOWN_KEPT {
        let oldest = *shown.keys().min().expect("not empty");
        shown.remove(&oldest);
    }
    for (n, group) in groups.into_iter().take(GROUPS_SHOWN).enumerate() {
        let line = format!(
            "{}. “{}”: asked {}×, last <t:{}:R>\n",
            n + 1,
            fit(&group.text, 150),
            group.count,
            group.last_at_ms / 1000
        );
        text.push_str(&line);
        let mut options: Vec<CreateSelectMenuOption> = group
            .likely_intents(engine, 5)
            .into_iter()
            .map(|intent| {
                CreateSelectMenuOption::new(fit(&intent.title, limits::OPTION_LABEL), &intent.id)
                    .description(fit(
                        &format!("add as an example of {}", intent.id),
                        limits::OPTION_DESCRIPTION,
                    ))
            })
            .collect();
        options.push(
            CreateSelectMenuOption::new("Ignore", IGNORE).description("drop it from the queue"),
        );
        let token = bot.recorder.number();
        let placeholder = fit(&format!("{}. {}", n + 1, group.text), limits::PLACEHOLDER);
        rows.push(CreateActionRow::SelectMenu(
            CreateSelectMenu::new(
                Action::Triage(token).custom_id(),
                CreateSelectMenuKind::String { options },
            )
            .placeholder(placeholder),
        ));
        shown.insert(token, group);
    }
    Ok(Card {
        content: Some(fit(&text, limits::CONTENT)),
        embeds: Vec::new(),
        components: rows,
    })
}

/// An admin picked what to do with unanswered group `token`: append its question to the
/// chosen intent's file (then reload; if the new set is refused, the file is restored) or
/// ignore it. Either way the group leaves the queue, and the audit log says what happened.
pub async fn triage(
    ctx: &Context,
    bot: &Arc<Bot>,
    click: &ComponentInteraction,
    token: u64,
    choice: &str,
) {
    let member_permissions = click.member.as_ref().and_then(|m| m.permissions);
    let action = if choice == IGNORE {
        IGNORE_GROUP
    } else {
        FILE_EXAMPLE
    };
    let text = if !may_administer(member_permissions) {
        "Only members with the **Manage Server** permission can triage questions.".to_owned()
    } else {
        let group = bot.triage.shown().remove(&token);
        match group {
            None => {
                let detail = format!("choice {}", fit(choice, 100));
                let outcome = audit::refused("the list was out of date");
                audit(bot, &click.user, click.guild_id, action, detail, outcome);
                "This list is out of date; run `/careerbot unanswered` again.".to_owned()
            }
            Some(group) => {
                if let Err(error) = click.defer_ephemeral(&ctx.http).await {
                    warn!(%error, "could not acknowledge a triage choice");
                    return;
                }
                let applied = apply(ctx, bot, &group, choice).await;
                let what = format!("“{}” ({} questions)", fit(&group.text, 300), group.count);
                let detail = if choice == IGNORE {
                    format!("ignored {what}")
                } else {
                    format!("{what} as an example of {choice}{}", applied.detail)
                };
                audit(
                    bot,
                    &click.user,
                    click.guild_id,
                    action,
                    detail,
                    applied.outcome,
                );
                if !applied.settled {
                    // Nothing changed: the same menu can make another choice.
                    bot.triage.shown().insert(token, group);
                }
                let followup = Card::text(&applied.text).followup(true);
                if let Err(error) = click.create_followup(&ctx.http, followup).await {
                    warn!(%error, "could not report a triage choice");
                }
                return;
            }
        }
    };
    let response = poise::serenity_prelude::CreateInteractionResponse::Message(
        Card::text(&text).interaction(true),
    );
    if let Err(error) = click.create_response(&ctx.http, response).await {
        warn!(%error, "could not answer a triage choice");
    }
}

/// What a triage choice did.
struct Applied {
    /// The message for the admin.
    text: String,
    /// Whether the group is settled (false when nothing changed, so the menu stays usable).
    settled: bool,
    /// For the audit log: how it ended, and what to add to the choice's description.
    outcome: String,
    detail: String,
}

impl Applied {
    fn new(text: String, settled: bool, outcome: String) -> Applied {
        Applied {
            text,
            settled,
            outcome,
            detail: String::new(),
        }
    }
}

/// Carries out a triage choice.
async fn apply(ctx: &Context, bot: &Arc<Bot>, group: &Group, choice: &str) -> Applied {
    let ids = group.ids.clone();
    if choice == IGNORE {
        let resolved = with_store(bot, move |store| store.resolve(&ids, IGNORE, now_ms())).await;
        return match resolved {
            Ok(_) => Applied::new(
                format!(
                    "Ignored “{}” ({} questions).",
                    fit(&group.text, 200),
                    group.count
                ),
                true,
                DONE.to_owned(),
            ),
            Err(error) => Applied::new(
                format!("Could not update the queue: {error:#}"),
                false,
                audit::failed(&format!("{error:#}")),
            ),
        };
    }
    // One choice at a time from the append to the reload's verdict (and the undo): no other
    // choice can slip its example in between. Announcing goes after, outside the lock.
    let one_at_a_time = bot.triage.one_at_a_time.lock().await;
    let reloader = Arc::clone(&bot.reloader);
    let (intent, example) = (choice.to_owned(), group.text.clone());
    let filed = tokio::task::spawn_blocking(move || {
        triage::file(
            &reloader,
            &intent,
            &example,
            "triage (/careerbot unanswered)",
        )
    })
    .await;
    drop(one_at_a_time);
    let filed = match filed {
        Ok(filed) => filed,
        Err(error) => {
            return Applied::new(
                format!("Could not add the example: {error}"),
                false,
                audit::failed(&error.to_string()),
            )
        }
    };
    let published = bot.reloader.publisher().is_some();
    match filed {
        Filed::Added { done, reloaded } => {
            if !reloaded.unchanged {
                bump(&bot.recorder.stats.reloads);
            }
            announce(
                &ctx.http,
                bot,
                "/careerbot unanswered",
                &Ok(reloaded.clone()),
            )
            .await;
            mark_resolved(bot, group, done.intent.clone()).await;
            let file = done.path.file_name().unwrap_or_default().to_string_lossy();
            let (text, detail) = if published {
                let version = reloaded.published.unwrap_or_default();
                (
                    format!(
                        "Added “{}” as an example of `{}` ({file}) and published it as version {version}: {} intents in service here now, on every process within seconds.",
                        fit(&done.example, 300),
                        done.intent,
                        reloaded.intents,
                    ),
                    format!(" ({file}), published as version {version}"),
                )
            } else {
                (
                    format!(
                        "Added “{}” as an example of `{}` in {}. Reloaded: {} intents in service, in {} ms.",
                        fit(&done.example, 300),
                        done.intent,
                        done.path.display(),
                        reloaded.intents,
                        reloaded.took.as_millis()
                    ),
                    format!(" ({file})"),
                )
            };
            Applied {
                detail,
                ..Applied::new(text, true, DONE.to_owned())
            }
        }
        Filed::Duplicate { intent, path } => {
            // Already an example (of this intent or another): adding it again cannot help,
            // so the group leaves the queue; the matcher, not the data, missed it.
            mark_resolved(bot, group, intent.clone()).await;
            let (what, place) = if published {
                let file = path.file_name().unwrap_or_default().to_string_lossy();
                ("published", file.into_owned())
            } else {
                ("added", path.display().to_string())
            };
            let text = format!(
                "“{}” is already an example of `{intent}` ({place}), so nothing was {what}; the group left the queue. If it still goes unanswered, its intent needs clearer examples.",
                fit(&group.text, 300),
            );
            Applied {
                detail: format!(
                    ": already an example of {intent}, nothing {what}, the group left the queue"
                ),
                ..Applied::new(text, true, DONE.to_owned())
            }
        }
        Filed::Refused { refusal, kept } => {
            bump(&bot.recorder.stats.refused_reloads);
            let lines = first_lines(&refusal);
            let summary = refusal.summary();
            announce(&ctx.http, bot, "/careerbot unanswered", &Err(refusal)).await;
            let outcome = audit::refused(&format!(
                "{summary}{}",
                kept.map(|why| format!(" ({why})")).unwrap_or_default()
            ));
            let kept = kept.map(|why| format!("\n{why}")).unwrap_or_default();
            let verb = if published { "published" } else { "kept" };
            Applied::new(
                format!("The example was not {verb}: {summary}{kept}\n{lines}"),
                false,
                outcome,
            )
        }
        Filed::Failed(error) => Applied::new(
            format!("Could not add the example: {error}"),
            false,
            audit::failed(&error.to_string()),
        ),
    }
}

/// The first ten lines of a refusal, for a triage reply.
fn first_lines(refusal: &Refusal) -> String {
    refusal
        .lines()
        .into_iter()
        .take(10)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Takes a group out of the queue, settled as `action` (an intent id); logged on failure,
/// since the admin's change itself is done.
async fn mark_resolved(bot: &Arc<Bot>, group: &Group, action: String) {
    let ids = group.ids.clone();
    if let Err(error) = with_store(bot, move |store| store.resolve(&ids, &action, now_ms())).await {
        warn!(%error, "could not mark a group resolved");
    }
}

/// The store's view of the last `days` days, for `/careerbot stats`.
pub async fn recent_report(bot: &Arc<Bot>, days: i64) -> anyhow::Result<Option<String>> {
    let below = bot.settings.admin.unanswered_below;
    let similarity = bot.settings.admin.group_similarity;
    let until = now_ms();
    let since = until - days * 86_400_000;
    with_store(bot, move |store| {
        let built = report::build(store, since, until, below, similarity, &Servers::All)?;
        Ok(report::format(&built))
    })
    .await
}

/// How long shutdown waits for replies in flight before the last flush.
pub const GRACE: Duration = Duration::from_secs(2);

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
        let text = refusal_message(&Refusal::Invalid(errors.clone()));
        assert!(text.chars().count() <= limits::CONTENT);
        assert!(text.starts_with("Reload refused: 500 errors"), "{text}");
        assert!(text.contains("intents/file0.toml:1:3: unknown field `exampels`"));
        assert!(text.contains("more"));
        assert_eq!(text.matches("```").count(), 2, "{text}");
        let one = refusal_message(&Refusal::Invalid(errors[..1].to_vec()));
        assert!(one.starts_with("Reload refused: 1 error in"), "{one}");
        assert!(!one.contains("more"));
    }
}
