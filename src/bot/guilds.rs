//! Each server's own settings (see [`crate::admin::guilds`]) in memory, where every message
//! reads them: never read from the store on a message's way. The store is read at start,
//! whenever PostgreSQL says another process changed one, and every [`REFRESH_EVERY`]
//! anyway; a change made here is taken in at once. Each server's settings carry their
//! revision, so an older copy (a read that began before a change) never replaces a newer.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU64;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use poise::serenity_prelude::{ChannelId, Context, GuildId, Permissions};
use tracing::{debug, warn};

use super::state::Bot;
use crate::admin::audit::{self, DONE};
use crate::admin::guilds::{apply, Change, Defaults, GuildSettings, StoredGuild};
use crate::admin::store::{now_ms, Connector};
use crate::config::Settings;

/// How often the store is read again without being told to.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// The servers' own settings, and the config file's values for everything they left.
pub struct Guilds {
    /// By server: the revision and the settings.
    own: ArcSwap<HashMap<u64, (i64, GuildSettings)>>,
    answer_channels: Vec<ChannelId>,
    forum_channels: Vec<ChannelId>,
    admin_channel: Option<ChannelId>,
    channel_min_confidence: f32,
}

impl Guilds {
    pub fn new(settings: &Settings) -> Guilds {
        let discord = &settings.discord;
        Guilds {
            own: ArcSwap::default(),
            answer_channels: discord.answer_channels.clone(),
            forum_channels: discord.forum_channels.clone(),
            admin_channel: discord.admin_channel,
            channel_min_confidence: discord.channel_min_confidence,
        }
    }

    /// What `guild` chose itself (all `None` when nothing).
    pub fn own(&self, guild: GuildId) -> GuildSettings {
        self.own
            .load()
            .get(&guild.get())
            .map(|(_, own)| own.clone())
            .unwrap_or_default()
    }

    /// Whether unaddressed messages in `channel` of `guild` are answered.
    pub fn answers_in(&self, guild: Option<GuildId>, channel: ChannelId) -> bool {
        self.listed(
            guild,
            |own| own.answer_channels.as_deref(),
            &self.answer_channels,
            Some(channel),
        )
    }

    /// Whether new posts in the forum `channel` of `guild` are answered.
    pub fn forum_in(&self, guild: Option<GuildId>, channel: ChannelId) -> bool {
        self.listed(
            guild,
            |own| own.forum_channels.as_deref(),
            &self.forum_channels,
            Some(channel),
        )
    }

    /// Whether `guild` has any forum whose posts are answered.
    pub fn watches_forums(&self, guild: Option<GuildId>) -> bool {
        self.listed(
            guild,
            |own| own.forum_channels.as_deref(),
            &self.forum_channels,
            None,
        )
    }

    /// Whether `guild`'s own list (as `pick` finds it in its settings), else the config
    /// file's `default`, holds `channel`; with no channel, whether it holds any.
    fn listed(
        &self,
        guild: Option<GuildId>,
        pick: fn(&GuildSettings) -> Option<&[u64]>,
        default: &[ChannelId],
        channel: Option<ChannelId>,
    ) -> bool {
        let Some(guild) = guild else {
            return false;
        };
        let own = self.own.load();
        match (
            own.get(&guild.get()).and_then(|(_, own)| pick(own)),
            channel,
        ) {
            (Some(own), Some(channel)) => own.contains(&channel.get()),
            (Some(own), None) => !own.is_empty(),
            (None, Some(channel)) => default.contains(&channel),
            (None, None) => !default.is_empty(),
        }
    }

    /// The confidence an unaddressed message in `guild` needs.
    pub fn channel_min_confidence(&self, guild: Option<GuildId>) -> f32 {
        guild
            .and_then(|guild| self.own.load().get(&guild.get())?.1.channel_min_confidence)
            .unwrap_or(self.channel_min_confidence)
    }

    /// The config file's answer channels.
    pub fn default_answer_channels(&self) -> &[ChannelId] {
        &self.answer_channels
    }

    /// The config file's forum channels.
    pub fn default_forum_channels(&self) -> &[ChannelId] {
        &self.forum_channels
    }

    /// The config file's admin channel.
    pub fn default_admin_channel(&self) -> Option<ChannelId> {
        self.admin_channel
    }

    /// The servers that chose an admin channel of their own (`None`: none), by server.
    pub fn own_admin_channels(&self) -> Vec<(GuildId, Option<ChannelId>)> {
        self.own
            .load()
            .iter()
            .filter(|(guild, _)| **guild != 0)
            .filter_map(|(guild, (_, own))| {
                let channel = own.admin_channel?;
                Some((
                    GuildId::new(*guild),
                    NonZeroU64::new(channel).map(ChannelId::from),
                ))
            })
            .collect()
    }

    /// Whether any server chose answer or forum channels of its own (the bot then needs
    /// the Message Content intent).
    pub fn any_own_answer_channels(&self) -> bool {
        self.own.load().values().any(|(_, own)| {
            [&own.answer_channels, &own.forum_channels]
                .into_iter()
                .any(|list| list.as_ref().is_some_and(|channels| !channels.is_empty()))
        })
    }

    /// A server's settings after a change made by this process, unless a newer revision
    /// is here already.
    pub fn put(&self, stored: StoredGuild) {
        self.own.rcu(|own| {
            let mut own = HashMap::clone(own);
            let newer = own
                .get(&stored.guild)
                .is_none_or(|(revision, _)| *revision < stored.revision);
            if newer {
                own.insert(stored.guild, (stored.revision, stored.settings.clone()));
            }
            own
        });
    }

    /// Every server's settings as read from the store; a server's newer revision in memory
    /// (a change made here after the read began) stays.
    fn replace(&self, stored: Vec<StoredGuild>) {
        self.own.rcu(|own| {
            stored
                .iter()
                .map(|g| {
                    let kept = own
                        .get(&g.guild)
                        .filter(|(revision, _)| *revision > g.revision)
                        .cloned();
                    let entry = kept.unwrap_or_else(|| (g.revision, g.settings.clone()));
                    (g.guild, entry)
                })
                .collect::<HashMap<_, _>>()
        });
    }
}

/// Reads every server's settings from the store into `bot`'s memory, off the async
/// runtime; logged and left as they were when the store cannot be read.
pub async fn load(bot: &Arc<Bot>, connector: &Connector) -> bool {
    let connector = connector.clone();
    let read = tokio::task::spawn_blocking(move || connector.connect()?.guild_settings()).await;
    match read {
        Ok(Ok(stored)) => {
            debug!(servers = stored.len(), "read the servers' own settings");
            bot.guilds.replace(stored);
            true
        }
        Ok(Err(error)) => {
            warn!("cannot read the servers' settings; those in memory stay: {error:#}");
            false
        }
        Err(error) => {
            warn!(%error, "cannot read the servers' settings");
            false
        }
    }
}

/// Keeps `bot`'s copy of the servers' settings current: read again when PostgreSQL tells
/// of a change, and every [`REFRESH_EVERY`]. Ends with the runtime.
pub fn spawn_refresh(bot: &Arc<Bot>, connector: Connector) {
    let (wake, mut woken) = tokio::sync::mpsc::channel::<()>(1);
    if let Connector::Postgres(store) = &connector {
        store.listen_settings(wake.clone());
    }
    let bot = Arc::clone(bot);
    tokio::spawn(async move {
        // Kept, so the channel stays open for the listener even with SQLite.
        let _wake = wake;
        loop {
            tokio::select! {
                _ = woken.recv() => {}
                () = tokio::time::sleep(REFRESH_EVERY) => {}
            }
            load(&bot, &connector).await;
        }
    });
}

/// The config file's channels that are in one server.
#[derive(Debug, Clone, Default)]
pub struct Here {
    pub answer_channels: Vec<u64>,
    pub forum_channels: Vec<u64>,
    pub admin_channel: Option<u64>,
    /// Every channel of the server.
    pub channels: HashSet<u64>,
    /// The bot's own permissions in each channel, where the cache knows them.
    pub bot_may: HashMap<u64, Permissions>,
}

/// What the bot needs in an answer channel: to see it, read the question it replies to,
/// and post its answer card.
const TO_ANSWER: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::READ_MESSAGE_HISTORY)
    .union(Permissions::EMBED_LINKS);
/// What the bot needs in a forum channel: to see it, read a post's first message, and
/// answer in the post.
const TO_ANSWER_POSTS: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES_IN_THREADS)
    .union(Permissions::READ_MESSAGE_HISTORY)
    .union(Permissions::EMBED_LINKS);
/// What the bot needs in an admin channel: to see it and post there.
const TO_POST: Permissions = Permissions::VIEW_CHANNEL.union(Permissions::SEND_MESSAGES);

/// The server's channels and the config file's among them, as serenity's cache knows
/// them; `None` when it does not know the server (yet).
pub fn channels_here(ctx: &Context, guild: GuildId, bot: &Bot) -> Option<Here> {
    let server = ctx.cache.guild(guild)?;
    let in_server = |channel: &&ChannelId| server.channels.contains_key(channel);
    let here = |channels: &[ChannelId]| -> Vec<u64> {
        channels
            .iter()
            .filter(in_server)
            .map(|channel| channel.get())
            .collect()
    };
    let me = server.members.get(&ctx.cache.current_user().id);
    Some(Here {
        bot_may: me
            .map(|me| {
                server
                    .channels
                    .values()
                    .map(|channel| (channel.id.get(), server.user_permissions_in(channel, me)))
                    .collect()
            })
            .unwrap_or_default(),
        channels: server
            .channels
            .keys()
            .map(|channel| channel.get())
            .collect(),
        answer_channels: here(bot.guilds.default_answer_channels()),
        forum_channels: here(bot.guilds.default_forum_channels()),
        admin_channel: bot
            .guilds
            .default_admin_channel()
            .as_ref()
            .filter(in_server)
            .map(|channel| channel.get()),
    })
}

/// Whose value a setting has: the server's own, or the config file's.
fn whose(own: bool) -> &'static str {
    if own {
        "set in this server"
    } else {
        "the bot's default"
    }
}

/// `guild`'s settings as `/careerbot settings` shows them; `here` are the config file's
/// channels in this server.
pub fn describe(bot: &Bot, guild: GuildId, here: &Here) -> String {
    let own = bot.guilds.own(guild);
    let mention = |id: u64| format!("<#{id}>");
    let answer_channels = own
        .answer_channels
        .as_deref()
        .unwrap_or(&here.answer_channels);
    let forum_channels = own
        .forum_channels
        .as_deref()
        .unwrap_or(&here.forum_channels);
    let list = |channels: &[u64], none: &str| {
        if channels.is_empty() {
            none.to_owned()
        } else {
            let names: Vec<String> = channels.iter().map(|id| mention(*id)).collect();
            names.join(", ")
        }
    };
    let listed = list(
        answer_channels,
        "none: the bot answers only when asked (a mention, a DM, `/ask`)",
    );
    let forums = list(forum_channels, "none");
    let admin = match own.admin_channel {
        Some(0) => None,
        Some(channel) => Some(channel),
        None => here.admin_channel,
    };
    let admin_shown = admin.map_or_else(|| "none".to_owned(), mention);
    let threshold = bot.guilds.channel_min_confidence(Some(guild));
    let mut text = format!(
        "**careerbot's settings in this server**\n\
         • **Answer channels** (questions there are answered without a mention): {listed} ({})\n\
         • **Forum channels** (new posts there are answered, when the bot is sure): {forums} ({})\n\
         • **Admin channel** (refused intent reloads are posted there): {admin_shown} ({})\n\
         • **Channel threshold** (how sure the bot must be to answer a question that did not mention it): {threshold:.2} ({})\n\
         Change them with the options of `/careerbot settings`; `reset` goes back to the bot's default.",
        whose(own.answer_channels.is_some()),
        whose(own.forum_channels.is_some()),
        whose(own.admin_channel.is_some()),
        whose(own.channel_min_confidence.is_some()),
    );
    let watching = !answer_channels.is_empty() || !forum_channels.is_empty();
    if watching && !bot.discord.message_content.load(Ordering::Relaxed) {
        text.push_str(
            "\n⚠️ The bot connected without the Message Content intent, so it reads the answer \
             channels' questions and the forums' posts only when they mention it, until it \
             restarts (the intent must be enabled for the bot in the Discord Developer Portal).",
        );
    }
    let lacking = answer_channels
        .iter()
        .map(|channel| (*channel, TO_ANSWER, "answer"))
        .chain(
            forum_channels
                .iter()
                .map(|channel| (*channel, TO_ANSWER_POSTS, "answer posts")),
        )
        .chain(admin.map(|channel| (channel, TO_POST, "post")));
    for (channel, needs, to) in lacking {
        let Some(may) = here.bot_may.get(&channel) else {
            continue;
        };
        let mut missing = needs.difference(*may);
        // serenity (as Discord) takes Embed Links away with Send Messages, which in a forum
        // only means creating posts, not answering in them: what is left unknown is not
        // reported.
        if needs == TO_ANSWER_POSTS && !may.contains(Permissions::SEND_MESSAGES) {
            missing.remove(Permissions::EMBED_LINKS);
        }
        if !missing.is_empty() {
            let names = missing.get_permission_names();
            let them = if names.len() == 1 { "it" } else { "them" };
            text.push_str(&format!(
                "\n⚠️ The bot cannot {to} in {}: it lacks {} there; allow {them} for the bot \
                 (its role, or itself) in the channel's permissions.",
                mention(channel),
                names.join(", ")
            ));
        }
    }
    text
}

/// Applies `changes` to `guild`'s settings in the store (all or nothing) and here.
/// Returns the admin's reply, and for the audit log the outcome ([`DONE`], refused or
/// failed) and whether anything changed. `here` are the config file's channels in this
/// server.
pub async fn change(
    bot: &Arc<Bot>,
    guild: GuildId,
    changes: Vec<Change>,
    here: Here,
) -> (String, String, bool) {
    let Some(connector) = bot.recorder.connector() else {
        let text = format!(
            "No database is configured (`[admin] database`), so this server cannot keep \
             settings of its own: it has the bot's defaults.\n\n{}",
            describe(bot, guild, &here)
        );
        return (text, audit::refused("no database is configured"), false);
    };
    let at_ms = now_ms();
    let (answers, forums) = (here.answer_channels.clone(), here.forum_channels.clone());
    let edited = tokio::task::spawn_blocking(move || {
        let defaults = Defaults {
            answer_channels: &answers,
            forum_channels: &forums,
        };
        connector
            .connect()?
            .edit_guild_settings(guild.get(), at_ms, |settings| {
                let before = settings.clone();
                apply(settings, &changes, defaults).map(|()| *settings != before)
            })
    })
    .await
    .map_err(anyhow::Error::new)
    .and_then(|edited| edited);
    let (said, changed) = match edited {
        Err(error) => {
            warn!("could not save a server's settings: {error:#}");
            let text = format!("Nothing was changed: the settings could not be saved ({error:#}).");
            return (text, audit::failed(&format!("{error:#}")), false);
        }
        Ok((_, Err(refused))) => {
            let why = refused.to_string();
            return (
                format!("Nothing was changed: {why}."),
                audit::refused(&why),
                false,
            );
        }
        Ok((after, Ok(changed))) => {
            bot.guilds.put(after);
            if changed {
                (
                    "Saved: the bot follows the new settings in this server now.",
                    true,
                )
            } else {
                ("Nothing to change: the settings already were so.", false)
            }
        }
    };
    let text = format!("{said}\n\n{}", describe(bot, guild, &here));
    (text, DONE.to_owned(), changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(guild: u64, revision: i64, settings: GuildSettings) -> StoredGuild {
        StoredGuild {
            guild,
            settings,
            updated_at_ms: 0,
            revision,
        }
    }

    #[test]
    fn a_server_s_own_choice_replaces_the_file_s_and_the_rest_follow_the_file() {
        let mut settings = Settings::defaults();
        settings.discord.answer_channels = vec![ChannelId::new(10)];
        settings.discord.admin_channel = Some(ChannelId::new(11));
        settings.discord.channel_min_confidence = 0.7;
        let guilds = Guilds::new(&settings);
        let (own, other) = (GuildId::new(1), GuildId::new(2));
        assert!(guilds.answers_in(Some(own), ChannelId::new(10)));
        assert!(
            !guilds.answers_in(None, ChannelId::new(10)),
            "DMs are no channel"
        );
        assert!(!guilds.any_own_answer_channels());
        guilds.replace(vec![stored(
            1,
            1,
            GuildSettings {
                answer_channels: Some(vec![20]),
                forum_channels: None,
                admin_channel: Some(0),
                channel_min_confidence: Some(0.9),
            },
        )]);
        assert!(guilds.answers_in(Some(own), ChannelId::new(20)));
        assert!(!guilds.answers_in(Some(own), ChannelId::new(10)));
        assert!(guilds.answers_in(Some(other), ChannelId::new(10)));
        assert!(!guilds.answers_in(Some(other), ChannelId::new(20)));
        assert_eq!(guilds.channel_min_confidence(Some(own)), 0.9);
        assert_eq!(guilds.channel_min_confidence(Some(other)), 0.7);
        assert_eq!(guilds.own_admin_channels(), [(own, None)]);
        assert!(guilds.any_own_answer_channels());
        // Explicitly none: no channel of the server's, none of the file's either.
        let none = GuildSettings {
            answer_channels: Some(Vec::new()),
            ..GuildSettings::default()
        };
        guilds.put(stored(1, 2, none.clone()));
        assert!(!guilds.answers_in(Some(own), ChannelId::new(10)));
        assert!(!guilds.any_own_answer_channels());
        assert_eq!(guilds.channel_min_confidence(Some(own)), 0.7);
        // A read that began before that change brings the older revision: it is not taken.
        guilds.replace(vec![stored(1, 1, GuildSettings::default())]);
        assert_eq!(guilds.own(own), none);
        // Nor is an older change put after a newer one.
        guilds.put(stored(1, 1, GuildSettings::default()));
        assert_eq!(guilds.own(own), none);
        guilds.put(stored(1, 3, GuildSettings::default()));
        assert!(guilds.own_admin_channels().is_empty());
        assert!(guilds.answers_in(Some(own), ChannelId::new(10)));
        // A server the store no longer has is dropped.
        guilds.replace(Vec::new());
        assert!(guilds.own(own).is_default());
    }

    #[test]
    fn a_server_s_own_forums_replace_the_file_s() {
        let mut settings = Settings::defaults();
        settings.discord.forum_channels = vec![ChannelId::new(30)];
        let guilds = Guilds::new(&settings);
        let (own, other) = (GuildId::new(1), GuildId::new(2));
        assert!(guilds.forum_in(Some(own), ChannelId::new(30)));
        assert!(guilds.watches_forums(Some(own)));
        assert!(!guilds.watches_forums(None), "DMs are in no forum");
        guilds.put(stored(
            1,
            1,
            GuildSettings {
                forum_channels: Some(vec![31]),
                ..GuildSettings::default()
            },
        ));
        assert!(guilds.forum_in(Some(own), ChannelId::new(31)));
        assert!(!guilds.forum_in(Some(own), ChannelId::new(30)));
        assert!(guilds.forum_in(Some(other), ChannelId::new(30)));
        assert!(
            !guilds.answers_in(Some(own), ChannelId::new(31)),
            "a forum is no answer channel"
        );
        assert!(
            guilds.any_own_answer_channels(),
            "forums need the message content too"
        );
        guilds.put(stored(
            1,
            2,
            GuildSettings {
                forum_channels: Some(Vec::new()),
                ..GuildSettings::default()
            },
        ));
        assert!(!guilds.watches_forums(Some(own)));
        assert!(guilds.watches_forums(Some(other)));
    }
}
