//! What the running bot holds: the intent set in service (swapped whole on reload), settings,
//! the cooldown, counters, the store's writer and the unanswered groups shown to admins.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use poise::serenity_prelude as serenity;
use tokio::sync::Semaphore;

use super::cooldown::Cooldown;
use crate::admin::reload::{Refusal, Reloaded, Reloader, Served};
use crate::admin::store::{QuestionRecord, Record, VoteRecord, Writer};
use crate::admin::unanswered::Group;
use crate::config::Settings;
use crate::engine::matcher::Decision;
use crate::engine::Reply;

/// The bot's shared state (poise's user data).
pub struct Bot {
    pub reloader: Arc<Reloader>,
    pub settings: Settings,
    /// The store's writer; `None` when `admin.database` is "".
    pub writer: Option<Writer>,
    /// Unanswered groups last shown by `/careerbot unanswered`, by the number in their menu.
    pub shown_groups: Mutex<HashMap<u64, Group>>,
    pub cooldown: Cooldown,
    pub stats: Stats,
    votes: Mutex<VecDeque<Vote>>,
    /// (question, user) pairs that voted, in memory only (user ids are never stored), so
    /// one member's repeated clicks count once; the newest `VOTES_KEPT`, oldest forgotten
    /// first.
    voters: Mutex<Voters>,
    next_question: AtomicU64,
    /// The bot's own (managed) roles in its servers, from GUILD_CREATE: a mention of one of
    /// them addresses the bot.
    own_roles: Mutex<HashSet<serenity::RoleId>>,
    /// Bounds the replies in flight to Discord.
    pub sending: Semaphore,
    /// One triage choice at a time, from its append to its reload (and undo, if refused),
    /// so one admin's undo can never take back another's example.
    pub triage: tokio::sync::Mutex<()>,
    pub started: Instant,
}

/// Who voted on what, in arrival order.
#[derive(Default)]
struct Voters {
    seen: HashSet<(u64, u64)>,
    order: VecDeque<(u64, u64)>,
}

/// Where a question came from (stored with it).
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    pub source: &'static str,
    pub guild: Option<u64>,
    pub channel: Option<u64>,
}

/// A 👍 or 👎, kept in memory (no user ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vote {
    pub question: u64,
    pub intent: String,
    pub up: bool,
}

/// The most votes kept in memory; older ones are dropped first.
const VOTES_KEPT: usize = 100_000;

/// Counters since start. `questions` is the sum of answers, clarifications, fallbacks and
/// unconfident (an unmentioned channel message left alone); throttled questions are counted
/// apart, in `throttled` only.
#[derive(Debug, Default)]
pub struct Stats {
    pub questions: AtomicU64,
    pub answers: AtomicU64,
    pub clarifications: AtomicU64,
    pub fallbacks: AtomicU64,
    pub unconfident: AtomicU64,
    pub throttled: AtomicU64,
    /// Replies Discord refused or that never arrived (logged).
    pub failed_sends: AtomicU64,
    pub reloads: AtomicU64,
    pub refused_reloads: AtomicU64,
}

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Reads a counter.
pub fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Bot {
    pub fn new(reloader: Arc<Reloader>, settings: Settings, writer: Option<Writer>) -> Bot {
        let cooldown = Cooldown::new(
            settings.discord.cooldown_questions,
            settings.discord.cooldown_window,
        );
        let sending = Semaphore::new(settings.discord.max_concurrent_replies.max(1));
        // Question numbers start at the clock so they do not repeat across restarts.
        let first = now_ms().max(1) as u64 * 1000;
        Bot {
            reloader,
            settings,
            writer,
            shown_groups: Mutex::new(HashMap::new()),
            cooldown,
            stats: Stats::default(),
            votes: Mutex::new(VecDeque::new()),
            voters: Mutex::new(Voters::default()),
            next_question: AtomicU64::new(first),
            own_roles: Mutex::new(HashSet::new()),
            sending,
            triage: tokio::sync::Mutex::new(()),
            started: Instant::now(),
        }
    }

    /// The set in service; a question keeps the one it started with even if a reload
    /// swaps in another meanwhile.
    pub fn served(&self) -> Arc<Served> {
        self.reloader.served()
    }

    /// A new question number (goes into the feedback buttons and the store).
    pub fn next_question(&self) -> u64 {
        self.next_question.fetch_add(1, Ordering::Relaxed)
    }

    /// Counts a question and hands it to the store (never blocks). `decision` overrides the
    /// reply's for questions left alone ("unconfident").
    pub fn record_question(
        &self,
        id: u64,
        origin: Origin,
        served: &Served,
        reply: &Reply,
        decision: Option<&'static str>,
    ) {
        bump(&self.stats.questions);
        let decision = decision.unwrap_or(match reply.decision {
            Decision::Answer => "answer",
            Decision::Clarify => "clarify",
            Decision::Fallback => "fallback",
        });
        bump(match decision {
            "answer" => &self.stats.answers,
            "clarify" => &self.stats.clarifications,
            "fallback" => &self.stats.fallbacks,
            _ => &self.stats.unconfident,
        });
        // A message nobody addressed to the bot and that it left alone is counted, not kept.
        if let Some(writer) = self.writer.as_ref().filter(|_| decision != "unconfident") {
            writer.send(Record::Question(QuestionRecord {
                id,
                at_ms: now_ms(),
                guild: origin.guild,
                channel: origin.channel,
                source: origin.source.to_owned(),
                text: reply.explanation.cleaned.clone(),
                decision: decision.to_owned(),
                intent: reply.candidates.first().map(|c| c.intent.clone()),
                confidence: reply.confidence,
                candidates: reply
                    .candidates
                    .iter()
                    .take(3)
                    .map(|c| c.intent.clone())
                    .collect(),
                engine_version: served.version.clone(),
            }));
        }
    }

    /// Notes the roles of `guild` that Discord manages for the bot `me`.
    pub fn learn_own_roles(&self, guild: &serenity::Guild, me: serenity::UserId) {
        let mut own = self.own_roles.lock().unwrap_or_else(|e| e.into_inner());
        own.extend(
            guild
                .roles
                .values()
                .filter(|role| role.tags.bot_id == Some(me))
                .map(|role| role.id),
        );
    }

    pub fn is_own_role(&self, role: serenity::RoleId) -> bool {
        let own = self.own_roles.lock().unwrap_or_else(|e| e.into_inner());
        own.contains(&role)
    }

    /// True the first time `user` votes on `question` (since start).
    pub fn first_vote(&self, question: u64, user: u64) -> bool {
        let mut voters = self.voters.lock().unwrap_or_else(|e| e.into_inner());
        let Voters { seen, order } = &mut *voters;
        if !seen.insert((question, user)) {
            return false;
        }
        order.push_back((question, user));
        if order.len() > VOTES_KEPT {
            if let Some(oldest) = order.pop_front() {
                seen.remove(&oldest);
            }
        }
        true
    }

    /// Keeps a vote (in memory, and in the store).
    pub fn record_vote(&self, vote: Vote) {
        if let Some(writer) = &self.writer {
            writer.send(Record::Vote(VoteRecord {
                at_ms: now_ms(),
                question: vote.question,
                intent: vote.intent.clone(),
                up: vote.up,
            }));
        }
        let mut votes = self.votes.lock().unwrap_or_else(|e| e.into_inner());
        if votes.len() == VOTES_KEPT {
            votes.pop_front();
        }
        votes.push_back(vote);
    }

    /// (up, down) votes since start.
    pub fn vote_counts(&self) -> (usize, usize) {
        let votes = self.votes.lock().unwrap_or_else(|e| e.into_inner());
        let up = votes.iter().filter(|v| v.up).count();
        (up, votes.len() - up)
    }

    /// Reloads the intent files off the async runtime (see [`Reloader::reload`]).
    pub async fn reload(&self) -> Result<Reloaded, Refusal> {
        let reloader = Arc::clone(&self.reloader);
        let result = tokio::task::spawn_blocking(move || reloader.reload())
            .await
            .unwrap_or_else(|panic| {
                Err(Refusal::GateBroken(format!(
                    "loading the intents failed: {panic}"
                )))
            });
        match &result {
            Ok(done) if done.unchanged => {}
            Ok(_) => bump(&self.stats.reloads),
            Err(_) => bump(&self.stats.refused_reloads),
        }
        result
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
