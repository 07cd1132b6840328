//! The threads the bot follows: new posts of `forum_channels`, and the threads it starts for
//! its answers (`reply_in_thread`). In a followed thread the one who opened it is answered
//! without a mention, when the bot is sure, until someone else speaks there; then the
//! thread belongs to the humans and only mentions are answered.
//!
//! Held in memory only and bounded. Who opened a thread is kept as a hash salted afresh each
//! run, never as an id, and nothing about the thread's other members is kept but the fact
//! that one spoke.
//!
//! Discord announces a forum post twice: THREAD_CREATE (the post, with its title) and the
//! MESSAGE_CREATE of its first message (whose id is the thread's). serenity handles events
//! in tasks of their own, so the two may be seen in either order; the first message of a
//! post not announced yet waits here ([`EARLY_KEPT`], at most [`EARLY_WAIT`]) for it, or,
//! when it was answered at once (it mentioned the bot), a mark that it was.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use poise::serenity_prelude::{ChannelId, Message, UserId};

/// The most threads followed at once; the oldest is forgotten first.
const FOLLOWED_KEPT: usize = 10_000;
/// The most first messages waiting for their post's THREAD_CREATE.
const EARLY_KEPT: usize = 256;
/// How long a first message waits for its post's THREAD_CREATE.
const EARLY_WAIT: Duration = Duration::from_secs(60);

/// What a message in a thread is, for the bot.
#[derive(Debug)]
pub enum Heard {
    /// Not in a thread the bot follows (or not in a thread at all).
    Elsewhere,
    /// The first message of a new post in a watched forum: asked with the post's title.
    Post { title: String, parent: ChannelId },
    /// The first message of a post not announced yet: kept, and answered when the post is.
    Early,
    /// The opener of a followed thread (in `parent`), which nobody else has joined.
    Opener { parent: ChannelId },
    /// Someone else has spoken in the followed thread (in `parent`): it is the humans'.
    Humans { parent: ChannelId },
}

/// The followed threads.
pub struct Threads {
    state: Mutex<State>,
    salt: RandomState,
}

#[derive(Default)]
struct State {
    followed: HashMap<ChannelId, Followed>,
    /// Followed threads, oldest first (may hold threads forgotten since).
    order: VecDeque<ChannelId>,
    /// First messages seen before their post, with when they came: kept to be asked, or
    /// `None` when one was answered at once.
    early: HashMap<ChannelId, (Option<Message>, Instant)>,
    early_order: VecDeque<ChannelId>,
}

struct Followed {
    /// The channel or forum the thread is in.
    parent: ChannelId,
    /// The salted hash of whoever opened the thread.
    opener: u64,
    /// A post's title until its first message has been asked; `None` after.
    waiting_title: Option<String>,
    /// Someone other than the opener (or the bot) has spoken in it.
    humans: bool,
}

impl Default for Threads {
    fn default() -> Threads {
        Threads {
            state: Mutex::new(State::default()),
            salt: RandomState::new(),
        }
    }
}

impl Threads {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn hash(&self, user: UserId) -> u64 {
        self.salt.hash_one(user.get())
    }

    /// A new post in the watched forum `parent`: `thread`, opened by `opener`, titled
    /// `title`. Returns its first message when that came first unanswered, to be asked now;
    /// otherwise the post waits for it. A post already followed (Discord announcing it
    /// again) is left as it is.
    pub fn post_opened(
        &self,
        thread: ChannelId,
        parent: ChannelId,
        opener: UserId,
        title: &str,
    ) -> Option<Message> {
        let opener = self.hash(opener);
        let mut state = self.state();
        if state.followed.contains_key(&thread) {
            return None;
        }
        let (early, waiting_title) = match state.early.remove(&thread) {
            Some((message, _)) => (message, None),
            None => (None, Some(title.to_owned())),
        };
        state.follow(
            thread,
            Followed {
                parent,
                opener,
                waiting_title,
                humans: false,
            },
        );
        early
    }

    /// A thread the bot started in `parent` from `opener`'s question, to answer in.
    pub fn started(&self, thread: ChannelId, parent: ChannelId, opener: UserId) {
        let opener = self.hash(opener);
        self.state().follow(
            thread,
            Followed {
                parent,
                opener,
                waiting_title: None,
                humans: false,
            },
        );
    }

    /// What `message` (from a person, in a server) is to the bot, when forums are
    /// `watched`. A thread's first message (its id is the thread's) that comes before its
    /// post is kept as [`Heard::Early`], or, when it `mentioned` the bot (and is answered at
    /// once), marked as answered.
    pub fn heard(&self, message: &Message, watched: bool, mentioned: bool, now: Instant) -> Heard {
        let thread = message.channel_id;
        let author = self.hash(message.author.id);
        let first = message.id.get() == thread.get();
        let mut state = self.state();
        let Some(followed) = state.followed.get_mut(&thread) else {
            if first && watched {
                state.keep_early(thread, (!mentioned).then(|| message.clone()), now);
                if !mentioned {
                    return Heard::Early;
                }
            }
            return Heard::Elsewhere;
        };
        let parent = followed.parent;
        if first {
            return match followed.waiting_title.take() {
                Some(title) => Heard::Post { title, parent },
                None => Heard::Elsewhere,
            };
        }
        if author != followed.opener {
            followed.humans = true;
        }
        if followed.humans || followed.waiting_title.is_some() {
            Heard::Humans { parent }
        } else {
            Heard::Opener { parent }
        }
    }

    /// Stops following `thread`.
    pub fn forget(&self, thread: ChannelId) {
        self.state().followed.remove(&thread);
    }

    /// The number of threads followed.
    pub fn len(&self) -> usize {
        self.state().followed.len()
    }
}

impl State {
    fn follow(&mut self, thread: ChannelId, followed: Followed) {
        if self.followed.insert(thread, followed).is_none() {
            self.order.push_back(thread);
        }
        while self.followed.len() > FOLLOWED_KEPT {
            match self.order.pop_front() {
                Some(oldest) => {
                    self.followed.remove(&oldest);
                }
                None => break,
            }
        }
    }

    fn keep_early(&mut self, thread: ChannelId, message: Option<Message>, now: Instant) {
        while let Some(oldest) = self.early_order.front() {
            let stale = self
                .early
                .get(oldest)
                .is_none_or(|(_, at)| now.saturating_duration_since(*at) > EARLY_WAIT);
            if !stale && self.early.len() < EARLY_KEPT {
                break;
            }
            let oldest = *oldest;
            self.early_order.pop_front();
            self.early.remove(&oldest);
        }
        if self.early.insert(thread, (message, now)).is_none() {
            self.early_order.push_back(thread);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poise::serenity_prelude::MessageId;

    const FORUM: ChannelId = ChannelId::new(99);

    fn message(thread: u64, id: u64, author: u64) -> Message {
        let mut message = Message::default();
        message.channel_id = ChannelId::new(thread);
        message.id = MessageId::new(id);
        message.author.id = UserId::new(author);
        message.content = format!("message {id}");
        message
    }

    fn kind(heard: &Heard) -> &'static str {
        match heard {
            Heard::Elsewhere => "elsewhere",
            Heard::Post { .. } => "post",
            Heard::Early => "early",
            Heard::Opener { .. } => "opener",
            Heard::Humans { .. } => "humans",
        }
    }

    /// What `threads` makes of message `id` by `author` in `thread` (forums watched,
    /// the bot not mentioned).
    fn hear(threads: &Threads, thread: u64, id: u64, author: u64) -> &'static str {
        kind(&threads.heard(&message(thread, id, author), true, false, Instant::now()))
    }

    fn open(threads: &Threads, thread: u64, opener: u64) -> Option<Message> {
        threads.post_opened(ChannelId::new(thread), FORUM, UserId::new(opener), "Title")
    }

    #[test]
    fn a_post_is_asked_once_whichever_of_its_two_events_comes_first() {
        let threads = Threads::default();
        let now = Instant::now();
        // The post first, then its first message.
        assert!(open(&threads, 10, 1).is_none());
        let heard = threads.heard(&message(10, 10, 1), true, false, now);
        assert!(
            matches!(&heard, Heard::Post { title, parent } if title == "Title" && *parent == FORUM)
        );
        assert_eq!(hear(&threads, 10, 10, 1), "elsewhere");
        // The first message first: kept, then handed over with the post.
        assert_eq!(hear(&threads, 20, 20, 2), "early");
        assert_eq!(open(&threads, 20, 2).map(|m| m.id.get()), Some(20));
        assert_eq!(hear(&threads, 20, 21, 2), "opener");
        // Discord announcing a followed post again changes nothing.
        assert!(open(&threads, 20, 2).is_none());
        assert_eq!(hear(&threads, 20, 22, 2), "opener");
        // Forums not watched: nothing is kept.
        let unwatched = threads.heard(&message(25, 25, 2), false, false, now);
        assert_eq!(kind(&unwatched), "elsewhere");
        assert!(!threads.state().early.contains_key(&ChannelId::new(25)));
    }

    #[test]
    fn a_first_message_answered_at_once_is_not_asked_again_and_its_opener_goes_on() {
        let threads = Threads::default();
        let now = Instant::now();
        // It mentioned the bot and came first: answered there and then, only marked.
        let heard = threads.heard(&message(30, 30, 3), true, true, now);
        assert_eq!(kind(&heard), "elsewhere");
        assert!(open(&threads, 30, 3).is_none());
        assert_eq!(hear(&threads, 30, 31, 3), "opener");
        // It mentioned the bot and came second: a post, asked as a mention by the caller.
        assert!(open(&threads, 40, 4).is_none());
        let heard = threads.heard(&message(40, 40, 4), true, true, now);
        assert_eq!(kind(&heard), "post");
        assert_eq!(hear(&threads, 40, 41, 4), "opener");
    }

    #[test]
    fn a_thread_is_the_opener_s_until_someone_else_speaks() {
        let threads = Threads::default();
        threads.started(ChannelId::new(5), FORUM, UserId::new(1));
        assert_eq!(hear(&threads, 5, 6, 1), "opener");
        assert_eq!(hear(&threads, 5, 7, 2), "humans");
        assert_eq!(hear(&threads, 5, 8, 1), "humans");
        assert_eq!(hear(&threads, 9, 11, 1), "elsewhere");
        // A post whose first message has not come yet is not the opener's to continue.
        open(&threads, 40, 1);
        assert_eq!(hear(&threads, 40, 41, 1), "humans");
    }

    #[test]
    fn what_is_followed_and_kept_is_bounded() {
        let threads = Threads::default();
        for id in 1..=(FOLLOWED_KEPT as u64 + 5) {
            threads.started(ChannelId::new(id), FORUM, UserId::new(1));
        }
        assert_eq!(threads.len(), FOLLOWED_KEPT);
        assert_eq!(hear(&threads, 1, 2, 1), "elsewhere");
        let now = Instant::now();
        let first = 1_000_000;
        for id in first..first + EARLY_KEPT as u64 + 5 {
            threads.heard(&message(id, id, 1), true, false, now);
        }
        assert!(threads.state().early.len() <= EARLY_KEPT);
        // A first message left waiting too long is dropped with the next one kept.
        let late = now + EARLY_WAIT + Duration::from_secs(1);
        threads.heard(&message(first * 2, first * 2, 1), true, false, late);
        assert_eq!(threads.state().early.len(), 1);
    }
}
