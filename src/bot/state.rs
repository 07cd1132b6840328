//! What the running bot holds, in its parts: the reloader (the intent set in service,
//! swapped whole on reload), the settings, the [`Recorder`] of questions and votes, the
//! admins' [`Triage`] state and the Discord-side state ([`Discord`]).

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use poise::serenity_prelude as serenity;
use tokio::sync::Semaphore;
use tracing::debug;

use super::answer::Asked;
use super::cooldown::Cooldown;
use super::guilds::Guilds;
use super::manage::Triage;
use super::recorder::{bump, Recorder};
use super::threads::Threads;
use crate::admin::reload::{Refusal, Reloaded, Reloader, Served};
use crate::admin::store::Writer;
use crate::config::{Settings, ShardPlan};
use crate::engine::context::{FollowUpRule, Memory};

/// The bot's shared state (poise's user data).
pub struct Bot {
    pub reloader: Arc<Reloader>,
    pub settings: Settings,
    pub recorder: Recorder,
    pub triage: Triage,
    pub discord: Discord,
    /// Each server's own settings, and the config file's for the rest.
    pub guilds: Guilds,
    pub started: Instant,
    /// The shards this process runs.
    pub shards: ShardPlan,
}

/// What the bot keeps about Discord itself: the per-user cooldown, its own roles and the
/// bound on replies in flight.
pub struct Discord {
    pub cooldown: Cooldown,
    /// The bot's own (managed) roles in its servers, from GUILD_CREATE: a mention of one of
    /// them addresses the bot.
    own_roles: Mutex<HashSet<serenity::RoleId>>,
    /// Bounds the replies in flight to Discord.
    pub sending: Semaphore,
    /// The number of permits of `sending`.
    pub sending_max: u32,
    /// The last turn of each conversation (one member in one channel, thread or DM).
    conversations: Mutex<Memory>,
    /// Keys conversations by a hash salted afresh each run, so no user id is kept.
    salt: RandomState,
    /// When a message is read as a follow-up.
    pub follow_ups: FollowUpRule,
    /// The forum posts and threads the bot follows.
    pub threads: Threads,
    /// Whether this process asked for the Message Content intent when it connected.
    pub message_content: AtomicBool,
}

impl Discord {
    fn new(settings: &Settings) -> Discord {
        let sending_max = settings.discord.max_concurrent_replies.max(1);
        Discord {
            cooldown: Cooldown::new(
                settings.discord.cooldown_questions,
                settings.discord.cooldown_window,
            ),
            own_roles: Mutex::new(HashSet::new()),
            sending: Semaphore::new(sending_max),
            sending_max: sending_max as u32,
            conversations: Mutex::new(Memory::new(
                settings.conversation.ttl(),
                settings.conversation.max_conversations,
            )),
            salt: RandomState::new(),
            follow_ups: settings.conversation.rule(),
            threads: Threads::default(),
            message_content: AtomicBool::new(false),
        }
    }

    /// The conversation of `user` where `asked`: the channel (or thread) in a server; their
    /// DMs (and commands used there) make one conversation.
    pub fn conversation_key(&self, user: serenity::UserId, asked: Asked) -> u64 {
        self.salt.hash_one((user.get(), asked.place()))
    }

    /// Moves `user`'s conversation from where it was asked (`from`) to `to`: a thread the
    /// bot has just answered it in, or back.
    pub fn move_conversation(&self, user: serenity::UserId, from: Asked, to: Asked) {
        let (from, to) = (
            self.conversation_key(user, from),
            self.conversation_key(user, to),
        );
        let now = Instant::now();
        let mut conversations = self.conversations();
        if let Some(turn) = conversations.last(from, now) {
            conversations.forget(from);
            conversations.remember(to, turn, now);
        }
    }

    pub fn conversations(&self) -> MutexGuard<'_, Memory> {
        self.conversations.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes the roles of `guild` that Discord manages for the bot `me`.
    pub fn learn_own_roles(&self, guild: &serenity::Guild, me: serenity::UserId) {
        let mine: Vec<serenity::RoleId> = guild
            .roles
            .values()
            .filter(|role| role.tags.bot_id == Some(me))
            .map(|role| role.id)
            .collect();
        debug!(guild = %guild.id, roles = mine.len(), "learned the bot's own roles");
        let mut own = self.own_roles.lock().unwrap_or_else(|e| e.into_inner());
        own.extend(mine);
    }

    pub fn is_own_role(&self, role: serenity::RoleId) -> bool {
        let own = self.own_roles.lock().unwrap_or_else(|e| e.into_inner());
        own.contains(&role)
    }
}

impl Bot {
    /// The bot of a process running `shards`, storing through `writer` (if any).
    pub fn new(
        reloader: Arc<Reloader>,
        settings: Settings,
        writer: Option<Writer>,
        shards: ShardPlan,
    ) -> Bot {
        Bot {
            reloader,
            discord: Discord::new(&settings),
            guilds: Guilds::new(&settings),
            settings,
            recorder: Recorder::new(writer, shards.first),
            triage: Triage::default(),
            started: Instant::now(),
            shards,
        }
    }

    /// The set in service; a question keeps the one it started with even if a reload
    /// swaps in another meanwhile.
    pub fn served(&self) -> Arc<Served> {
        self.reloader.served()
    }

    /// Reloads the intent files off the async runtime (see [`Reloader::reload`]), counting
    /// reloads and refusals.
    pub async fn reload(&self) -> Result<Reloaded, Refusal> {
        let reloader = Arc::clone(&self.reloader);
        let result = off_runtime(move || reloader.reload()).await;
        let stats = &self.recorder.stats;
        match &result {
            Ok(done) if done.unchanged => {}
            Ok(_) => bump(&stats.reloads),
            Err(_) => bump(&stats.refused_reloads),
        }
        result
    }
}

/// Runs a reload on the blocking pool. [`Reloader::reload`] reports its own panics; a task
/// that never ran (the runtime shutting down) is [`Refusal::Cancelled`].
async fn off_runtime(
    reload: impl FnOnce() -> Result<Reloaded, Refusal> + Send + 'static,
) -> Result<Reloaded, Refusal> {
    tokio::task::spawn_blocking(reload)
        .await
        .unwrap_or_else(|failed| {
            Err(match failed.try_into_panic() {
                Ok(payload) => Refusal::panicked(payload),
                Err(_) => Refusal::Cancelled,
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_task_that_panics_off_the_runtime_is_reported_as_a_panic() {
        let result = off_runtime(|| panic!("the matcher fell over")).await;
        assert!(
            matches!(&result, Err(Refusal::Panicked(m)) if m == "the matcher fell over"),
            "{result:?}"
        );
    }
}
