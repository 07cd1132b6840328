//! What the bot keeps of the questions it is asked: counters since start, question numbers,
//! the votes, and the store's writer.
//!
//! Recording never waits: counters are atomics and the writer only queues. Who asked or
//! voted is never stored; the one place a member's id is held (in memory) is the vote
//! dedupe. The audit log of admins' changes goes through the same writer, and it alone
//! keeps a user id: the admin's.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::answer::Asked;
use crate::admin::audit::AuditEntry;
use crate::admin::reload::Served;
use crate::admin::store::{
    now_ms, Connector, Outcome, QuestionRecord, Record, Source, VoteRecord, Writer,
};
use crate::engine::Reply;

/// Counters since start. `questions` is the sum of answers, clarifications, fallbacks,
/// declines and unconfident (an unmentioned message or forum post left alone); throttled
/// questions are counted apart, in `throttled` only.
#[derive(Debug, Default)]
pub struct Stats {
    pub questions: AtomicU64,
    pub answers: AtomicU64,
    pub clarifications: AtomicU64,
    pub fallbacks: AtomicU64,
    pub declines: AtomicU64,
    pub unconfident: AtomicU64,
    pub throttled: AtomicU64,
    /// Replies Discord refused or that never arrived (logged).
    pub failed_sends: AtomicU64,
    pub reloads: AtomicU64,
    pub refused_reloads: AtomicU64,
    pub votes_up: AtomicU64,
    pub votes_down: AtomicU64,
    /// Forum posts the bot tagged solved on their author's 👍.
    pub posts_solved: AtomicU64,
}

/// Adds one to a counter.
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// Reads a counter.
pub fn read(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Counts, numbers and stores questions and votes.
pub struct Recorder {
    pub stats: Stats,
    /// The store's writer; `None` when `admin.database` is "".
    writer: Option<Writer>,
    next_number: AtomicU64,
    /// Tells this process's numbers from those of the other processes of a cluster.
    tag: u64,
    /// (question, user) pairs that voted, so one member's repeated clicks count once.
    voters: Mutex<Voters>,
}

/// Who voted on what, in arrival order; the newest `VOTERS_KEPT`, oldest forgotten first.
#[derive(Default)]
struct Voters {
    seen: HashSet<(u64, u64)>,
    order: VecDeque<(u64, u64)>,
}

/// The most (question, user) pairs remembered against repeated votes.
const VOTERS_KEPT: usize = 100_000;

/// Processes told apart by a question number's low bits.
const TAGS: u64 = 1024;

impl Recorder {
    /// The recorder of a process whose first shard is `first_shard`.
    pub fn new(writer: Option<Writer>, first_shard: u32) -> Recorder {
        // Numbers start at the clock so they do not repeat across restarts.
        let first = now_ms().max(1) as u64 * 1000;
        Recorder {
            stats: Stats::default(),
            writer,
            next_number: AtomicU64::new(first),
            tag: u64::from(first_shard) % TAGS,
            voters: Mutex::new(Voters::default()),
        }
    }

    /// A new number, unique since start and across restarts: a question's (it goes into
    /// the vote buttons and the store), a vote's or a triage menu's. The processes of a
    /// cluster (sharing one database) run different first shards, which go into the low
    /// bits, so two processes started in the same millisecond cannot draw the same number
    /// (below 2^63 until the year 2255).
    pub fn number(&self) -> u64 {
        self.next_number.fetch_add(1, Ordering::Relaxed) * TAGS + self.tag
    }

    /// Numbers and counts a question and hands it to the store (never blocks); returns its
    /// number. A message left alone ([`Outcome::Unconfident`]) is counted, and stored only
    /// when it opened a forum post: what the forum asks belongs in the unanswered queue,
    /// channel chatter does not.
    pub fn question(&self, asked: Asked, served: &Served, reply: &Reply, outcome: Outcome) -> u64 {
        let id = self.number();
        bump(&self.stats.questions);
        bump(match outcome {
            Outcome::Answer => &self.stats.answers,
            Outcome::Clarify => &self.stats.clarifications,
            Outcome::Fallback => &self.stats.fallbacks,
            Outcome::Decline => &self.stats.declines,
            Outcome::Unconfident => &self.stats.unconfident,
        });
        if let Some(writer) = self
            .writer
            .as_ref()
            .filter(|_| outcome != Outcome::Unconfident || asked.source() == Source::Forum)
        {
            writer.send(Record::Question(QuestionRecord {
                id,
                at_ms: now_ms(),
                guild: asked.guild(),
                channel: asked.channel(),
                source: asked.source(),
                text: reply.explanation.cleaned.clone(),
                decision: outcome,
                intent: reply.candidates.first().map(|c| c.intent.clone()),
                confidence: reply.confidence,
                candidates: reply
                    .candidates
                    .iter()
                    .take(3)
                    .map(|c| c.intent.clone())
                    .collect(),
                engine_version: served.version.clone(),
                intent_version: served.published,
            }));
        }
        id
    }

    /// Counts and stores `user`'s 👍 (`up`) or 👎 on the answer to `question`, which was
    /// `intent`; false (and nothing kept) when that user already voted on it since start.
    pub fn vote(&self, user: u64, question: u64, intent: &str, up: bool) -> bool {
        if !self.first_vote(question, user) {
            return false;
        }
        bump(if up {
            &self.stats.votes_up
        } else {
            &self.stats.votes_down
        });
        if let Some(writer) = &self.writer {
            writer.send(Record::Vote(VoteRecord {
                id: self.number(),
                at_ms: now_ms(),
                question,
                intent: intent.to_owned(),
                up,
            }));
        }
        true
    }

    fn first_vote(&self, question: u64, user: u64) -> bool {
        let mut voters = self.voters.lock().unwrap_or_else(|e| e.into_inner());
        let Voters { seen, order } = &mut *voters;
        if !seen.insert((question, user)) {
            return false;
        }
        order.push_back((question, user));
        if order.len() > VOTERS_KEPT {
            if let Some(oldest) = order.pop_front() {
                seen.remove(&oldest);
            }
        }
        true
    }

    /// Hands a change an admin made to the store's audit log (never blocks); kept nowhere
    /// when nothing is stored.
    pub fn audit(&self, entry: AuditEntry) {
        if let Some(writer) = &self.writer {
            writer.send(Record::Audit(entry));
        }
    }

    /// Whether questions are stored (`admin.database` is set).
    pub fn stores(&self) -> bool {
        self.writer.is_some()
    }

    /// A way to open the store from another thread; `None` when nothing is stored.
    pub fn connector(&self) -> Option<Connector> {
        self.writer.as_ref().map(Writer::connector)
    }

    /// Records lost so far (see [`Writer::lost`]).
    pub fn lost(&self) -> u64 {
        self.writer.as_ref().map_or(0, Writer::lost)
    }

    /// Blocks until everything recorded so far is committed (see [`Writer::flush`]).
    pub fn flush(&self) {
        if let Some(writer) = &self.writer {
            writer.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_votes_once_per_question_and_votes_are_counted_not_kept() {
        let recorder = Recorder::new(None, 0);
        assert!(recorder.vote(1, 10, "a.b", true));
        assert!(!recorder.vote(1, 10, "a.b", false), "a second click counts");
        assert!(recorder.vote(2, 10, "a.b", false));
        assert!(recorder.vote(1, 11, "a.b", true));
        assert_eq!(read(&recorder.stats.votes_up), 2);
        assert_eq!(read(&recorder.stats.votes_down), 1);
    }
}
