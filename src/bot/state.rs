//! What the running bot holds: the engine in service (swapped whole on reload), settings,
//! the cooldown, counters and the feedback received.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use tokio::sync::Semaphore;

use super::cooldown::Cooldown;
use crate::config::Settings;
use crate::engine::intents::{Diagnostic, Severity};
use crate::engine::Engine;

/// The bot's shared state (poise's user data).
pub struct Bot {
    engine: ArcSwap<Engine>,
    pub settings: Settings,
    intents_dir: PathBuf,
    pub cooldown: Cooldown,
    pub stats: Stats,
    votes: Mutex<VecDeque<Vote>>,
    next_question: AtomicU64,
    /// Bounds the replies in flight to Discord.
    pub sending: Semaphore,
    /// One reload at a time.
    reloading: tokio::sync::Mutex<()>,
    pub started: Instant,
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

/// Counters since start. Every question ends in exactly one of: answer, clarify, fallback,
/// unconfident (an unmentioned channel message left alone) or throttled.
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

/// A reload that went live.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub intents: usize,
    pub warnings: usize,
    pub took: Duration,
}

impl Bot {
    pub fn new(engine: Engine, settings: Settings, intents_dir: PathBuf) -> Bot {
        let cooldown = Cooldown::new(
            settings.discord.cooldown_questions,
            Duration::from_secs(settings.discord.cooldown_seconds),
        );
        let sending = Semaphore::new(settings.discord.max_concurrent_replies.max(1));
        // Question numbers start at the clock so they do not repeat across restarts.
        let first = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_micros() as u64);
        Bot {
            engine: ArcSwap::from_pointee(engine),
            settings,
            intents_dir,
            cooldown,
            stats: Stats::default(),
            votes: Mutex::new(VecDeque::new()),
            next_question: AtomicU64::new(first),
            sending,
            reloading: tokio::sync::Mutex::new(()),
            started: Instant::now(),
        }
    }

    /// The engine in service; a question keeps the one it started with even if a reload
    /// swaps in another meanwhile.
    pub fn engine(&self) -> Arc<Engine> {
        self.engine.load_full()
    }

    /// A new question number (goes into the feedback buttons).
    pub fn next_question(&self) -> u64 {
        self.next_question.fetch_add(1, Ordering::Relaxed)
    }

    /// Keeps a vote.
    pub fn record_vote(&self, vote: Vote) {
        let mut votes = self.votes.lock().unwrap_or_else(|e| e.into_inner());
        if votes.len() == VOTES_KEPT {
            votes.pop_front();
        }
        votes.push_back(vote);
    }

    /// (up, down) votes in memory.
    pub fn vote_counts(&self) -> (usize, usize) {
        let votes = self.votes.lock().unwrap_or_else(|e| e.into_inner());
        let up = votes.iter().filter(|v| v.up).count();
        (up, votes.len() - up)
    }

    /// Loads, validates and compiles the intent directory off the async runtime, and swaps
    /// it in only if it is fully valid; otherwise the set in service stays and the errors
    /// come back.
    pub async fn reload(&self) -> Result<Reloaded, Vec<Diagnostic>> {
        let _one_at_a_time = self.reloading.lock().await;
        let started = Instant::now();
        let dir = self.intents_dir.clone();
        let matcher = self.settings.matcher.clone();
        let loaded = tokio::task::spawn_blocking(move || Engine::load(&dir, &matcher))
            .await
            .unwrap_or_else(|panic| {
                Err(vec![Diagnostic {
                    path: self.intents_dir.clone(),
                    line: 0,
                    col: 0,
                    severity: Severity::Error,
                    message: format!("loading the intents failed: {panic}"),
                }])
            });
        match loaded {
            Ok((engine, warnings)) => {
                let intents = engine.intents().len();
                self.engine.store(Arc::new(engine));
                bump(&self.stats.reloads);
                Ok(Reloaded {
                    intents,
                    warnings: warnings.len(),
                    took: started.elapsed(),
                })
            }
            Err(errors) => {
                bump(&self.stats.refused_reloads);
                Err(errors)
            }
        }
    }
}
