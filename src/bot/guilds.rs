//! Each server's own settings (see [`crate::admin::guilds`]) in memory, where every message
//! reads them: swapped whole when the store is read again, never read from the store on a
//! message's way. The store is read at start, after every change made here, whenever
//! PostgreSQL says another process changed one, and every [`REFRESH_EVERY`] anyway.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use poise::serenity_prelude::{ChannelId, Context, GuildId};
use tracing::{debug, warn};

use super::state::Bot;
use crate::admin::guilds::{apply, Change, GuildSettings, StoredGuild};
use crate::admin::store::{now_ms, Connector};
use crate::config::Settings;

/// How often the store is read again without being told to.
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// The servers' own settings, and the config file's values for everything they left.
pub struct Guilds {
    own: ArcSwap<HashMap<u64, GuildSettings>>,
    /// Changes made by this process: a read of the store that began before one is read
    /// again, so it cannot put an older state back.
    edits: AtomicU64,
    answer_channels: Vec<ChannelId>,
    admin_channel: Option<ChannelId>,
    channel_min_confidence: f32,
}

impl Guilds {
    pub fn new(settings: &Settings) -> Guilds {
        let discord = &settings.discord;
        Guilds {
            own: ArcSwap::default(),
            edits: AtomicU64::new(0),
            answer_channels: discord.answer_channels.clone(),
            admin_channel: discord.admin_channel,
            channel_min_confidence: discord.channel_min_confidence,
        }
    }

    /// What `guild` chose itself (all `None` when nothing).
    pub fn own(&self, guild: GuildId) -> GuildSettings {
        self.own
            .load()
            .get(&guild.get())
            .cloned()
            .unwrap_or_default()
    }

    /// Whether unaddressed messages in `channel` of `guild` are answered.
    pub fn answers_in(&self, guild: Option<GuildId>, channel: ChannelId) -> bool {
        let Some(guild) = guild else {
            return false;
        };
        match self.own.load().get(&guild.get()) {
            Some(GuildSettings {
                answer_channels: Some(own),
                ..
            }) => own.contains(&channel.get()),
            _ => self.answer_channels.contains(&channel),
        }
    }

    /// The confidence an unaddressed message in `guild` needs.
    pub fn channel_min_confidence(&self, guild: Option<GuildId>) -> f32 {
        guild
            .and_then(|guild| self.own.load().get(&guild.get())?.channel_min_confidence)
            .unwrap_or(self.channel_min_confidence)
    }

    /// The config file's answer channels.
    pub fn default_answer_channels(&self) -> &[ChannelId] {
        &self.answer_channels
    }

    /// The config file's admin channel.
    pub fn default_admin_channel(&self) -> Option<ChannelId> {
        self.admin_channel
    }

    /// The config file's channel threshold.
    pub fn default_channel_min_confidence(&self) -> f32 {
        self.channel_min_confidence
    }

    /// The servers that chose an admin channel of their own (`Some(0)`: none), by server.
    pub fn own_admin_channels(&self) -> Vec<(GuildId, Option<ChannelId>)> {
        self.own
            .load()
            .iter()
            .filter_map(|(guild, own)| {
                let channel = own.admin_channel?;
                Some((
                    GuildId::new(*guild),
                    (channel != 0).then(|| ChannelId::new(channel)),
                ))
            })
            .collect()
    }

    /// Whether any server chose answer channels of its own (the bot then needs the
    /// Message Content intent).
    pub fn any_own_answer_channels(&self) -> bool {
        self.own
            .load()
            .values()
            .any(|own| own.answer_channels.as_ref().is_some_and(|c| !c.is_empty()))
    }

    /// `guild`'s settings after a change made by this process.
    pub fn put(&self, guild: GuildId, settings: GuildSettings) {
        self.edits.fetch_add(1, Ordering::SeqCst);
        self.own.rcu(|own| {
            let mut own = HashMap::clone(own);
            if settings.is_default() {
                own.remove(&guild.get());
            } else {
                own.insert(guild.get(), settings.clone());
            }
            own
        });
    }

    fn replace(&self, stored: Vec<StoredGuild>) {
        let own = stored
            .into_iter()
            .filter(|g| !g.settings.is_default())
            .map(|g| (g.guild, g.settings))
            .collect();
        self.own.store(Arc::new(own));
    }
}

/// Reads every server's settings from the store into `bot`'s memory, off the async
/// runtime; logged and left as they were when the store cannot be read.
pub async fn load(bot: &Arc<Bot>, connector: &Connector) -> bool {
    for _ in 0..3 {
        let edits = bot.guilds.edits.load(Ordering::SeqCst);
        let connector = connector.clone();
        let read = tokio::task::spawn_blocking(move || connector.connect()?.guild_settings()).await;
        match read {
            Ok(Ok(stored)) => {
                // A change made here meanwhile may be missing from what was read.
                if bot.guilds.edits.load(Ordering::SeqCst) != edits {
                    continue;
                }
                debug!(servers = stored.len(), "read the servers' own settings");
                bot.guilds.replace(stored);
                return true;
            }
            Ok(Err(error)) => {
                warn!("cannot read the servers' settings; those in memory stay: {error:#}");
                return false;
            }
            Err(error) => {
                warn!(%error, "cannot read the servers' settings");
                return false;
            }
        }
    }
    false
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
    pub admin_channel: Option<u64>,
}

/// The config file's channels that are in `guild`, as serenity's cache knows it (none
/// when it does not know the server).
pub fn channels_here(ctx: &Context, guild: GuildId, bot: &Bot) -> Here {
    let Some(server) = ctx.cache.guild(guild) else {
        return Here::default();
    };
    let in_server = |channel: &&ChannelId| server.channels.contains_key(channel);
    Here {
        answer_channels: bot
            .guilds
            .default_answer_channels()
            .iter()
            .filter(in_server)
            .map(|channel| channel.get())
            .collect(),
        admin_channel: bot
            .guilds
            .default_admin_channel()
            .as_ref()
            .filter(in_server)
            .map(|channel| channel.get()),
    }
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
    let listed = if answer_channels.is_empty() {
        "none: the bot answers only when asked (a mention, a DM, `/ask`)".to_owned()
    } else {
        let names: Vec<String> = answer_channels.iter().map(|id| mention(*id)).collect();
        names.join(", ")
    };
    let admin = match own.admin_channel {
        Some(0) => None,
        Some(channel) => Some(channel),
        None => here.admin_channel,
    };
    let admin = admin.map_or_else(|| "none".to_owned(), mention);
    let threshold = bot.guilds.channel_min_confidence(Some(guild));
    let mut text = format!(
        "**careerbot's settings in this server**\n\
         • **Answer channels** (questions there are answered without a mention): {listed} ({})\n\
         • **Admin channel** (refused intent reloads are posted there): {admin} ({})\n\
         • **Channel threshold** (how sure the bot must be to answer a question that did not mention it): {threshold:.2} ({})\n\
         Change them with the options of `/careerbot settings`; `reset` goes back to the bot's default.",
        whose(own.answer_channels.is_some()),
        whose(own.admin_channel.is_some()),
        whose(own.channel_min_confidence.is_some()),
    );
    if !answer_channels.is_empty() && !bot.discord.message_content.load(Ordering::Relaxed) {
        text.push_str(
            "\n⚠️ The bot connected without the Message Content intent, so it reads the answer \
             channels' questions only when they mention it, until it restarts (the intent must \
             be enabled for the bot in the Discord Developer Portal).",
        );
    }
    text
}

/// Applies `changes` to `guild`'s settings in the store (all or nothing) and here; the
/// admin's reply. `here` are the config file's channels in this server.
pub async fn change(bot: &Arc<Bot>, guild: GuildId, changes: Vec<Change>, here: Here) -> String {
    let Some(connector) = bot.recorder.connector() else {
        return format!(
            "No database is configured (`[admin] database`), so this server cannot keep \
             settings of its own: it has the bot's defaults.\n\n{}",
            describe(bot, guild, &here)
        );
    };
    let at_ms = now_ms();
    let defaults = here.answer_channels.clone();
    let edited = tokio::task::spawn_blocking(move || {
        connector
            .connect()?
            .edit_guild_settings(guild.get(), at_ms, |settings| {
                let before = settings.clone();
                apply(settings, &changes, &defaults).map(|()| *settings != before)
            })
    })
    .await
    .map_err(anyhow::Error::new)
    .and_then(|edited| edited);
    let said = match edited {
        Err(error) => {
            warn!("could not save a server's settings: {error:#}");
            return format!("Nothing was changed: the settings could not be saved ({error:#}).");
        }
        Ok((_, Err(refused))) => return format!("Nothing was changed: {refused}."),
        Ok((after, Ok(changed))) => {
            bot.guilds.put(guild, after);
            if changed {
                "Saved: the bot follows the new settings in this server now."
            } else {
                "Nothing to change: the settings already were so."
            }
        }
    };
    format!("{said}\n\n{}", describe(bot, guild, &here))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(guild: u64, settings: GuildSettings) -> StoredGuild {
        StoredGuild {
            guild,
            settings,
            updated_at_ms: 0,
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
            GuildSettings {
                answer_channels: Some(vec![20]),
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
        guilds.put(
            own,
            GuildSettings {
                answer_channels: Some(Vec::new()),
                ..GuildSettings::default()
            },
        );
        assert!(!guilds.answers_in(Some(own), ChannelId::new(10)));
        assert!(!guilds.any_own_answer_channels());
        assert_eq!(guilds.channel_min_confidence(Some(own)), 0.7);
        guilds.put(own, GuildSettings::default());
        assert!(guilds.own_admin_channels().is_empty());
        assert!(guilds.answers_in(Some(own), ChannelId::new(10)));
    }
}
