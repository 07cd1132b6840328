//! The one answer path: every question (a mention, a DM, a watched channel's message,
//! `/ask`, a button or menu that answers a topic) goes reply → cooldown → number → record →
//! card through [`Bot::answer`], so each rule is written once.
//!
//! The privacy rules that a DM's channel is never stored, and a thread's only as the channel
//! it is in, live in [`Asked`]: a channel is kept only together with a server, and a
//! thread (whose id names who opened it) is stored as its parent.

use std::time::Instant;

use poise::serenity_prelude::{ChannelId, ChannelType, GuildId, PartialChannel, UserId};
use tracing::debug;

use super::cooldown::Verdict;
use super::present::{self, Card};
use super::recorder::bump;
use super::state::Bot;
use crate::admin::store::{Outcome, Source};
use crate::engine::matcher::Decision;
use crate::engine::Reply;

/// Where a question was asked, as stored with it.
#[derive(Debug, Clone, Copy)]
pub struct Asked {
    source: Source,
    guild: Option<GuildId>,
    channel: Option<ChannelId>,
    /// When `channel` is a thread: the channel or forum it is in.
    parent: Option<ChannelId>,
    /// `channel` is a thread whose parent is not known: no channel is kept.
    unknown_thread: bool,
}

/// Threads of every kind.
fn is_thread(kind: ChannelType) -> bool {
    matches!(
        kind,
        ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread
    )
}

impl Asked {
    /// A question from `source` in `channel` of `guild`, or of no server (a DM): a DM's
    /// channel stands for one user, so it is not kept.
    pub fn new(source: Source, guild: Option<GuildId>, channel: ChannelId) -> Asked {
        Asked {
            source,
            guild,
            channel: guild.map(|_| channel),
            parent: None,
            unknown_thread: false,
        }
    }

    /// The same, asked in a thread of `parent` (a channel or forum), if any.
    pub fn in_thread_of(self, parent: Option<ChannelId>) -> Asked {
        Asked {
            parent: parent.filter(|_| self.guild.is_some()),
            ..self
        }
    }

    /// The same, asked in a thread whose channel is not known: kept with no channel.
    pub fn in_unknown_thread(self) -> Asked {
        Asked {
            parent: None,
            unknown_thread: true,
            ..self
        }
    }

    /// The same, asked where an interaction's `channel` says: in a thread, the channel or
    /// forum it is in (the thread's id is not kept).
    pub fn in_channel(self, channel: Option<&PartialChannel>) -> Asked {
        match channel {
            Some(channel) if is_thread(channel.kind) => match channel.parent_id {
                Some(parent) => self.in_thread_of(Some(parent)),
                None => self.in_unknown_thread(),
            },
            _ => self,
        }
    }

    /// The same question, as asked in `channel` of the same server (a thread the bot
    /// moved the conversation to).
    pub fn moved_to(self, thread: ChannelId) -> Asked {
        Asked {
            channel: self.guild.map(|_| thread),
            parent: self.channel,
            ..self
        }
    }

    pub fn source(&self) -> Source {
        self.source
    }

    pub fn guild(&self) -> Option<u64> {
        self.guild.map(GuildId::get)
    }

    /// The channel as stored: only ever within a server, and a thread's parent rather than
    /// the thread.
    pub fn channel(&self) -> Option<u64> {
        if self.unknown_thread {
            return None;
        }
        self.parent.or(self.channel).map(ChannelId::get)
    }

    /// Where the conversation happens: the channel or thread, only ever within a server.
    pub fn place(&self) -> Option<u64> {
        self.channel.map(ChannelId::get)
    }
}

/// What is asked.
#[derive(Debug, Clone, Copy)]
pub enum Question<'a> {
    /// A question in the member's words.
    Text(&'a str),
    /// A topic picked from a button or menu: its intent id.
    Intent(&'a str),
    /// The "More" button under an answer: that intent's details.
    More(&'a str),
}

/// What the bot says to a question.
#[derive(Debug)]
pub enum Response {
    /// The answer, clarification or fallback card.
    Answer(Card),
    /// A word for the asker alone where Discord allows it: the cooldown's notice, or a
    /// topic that is no longer known.
    Notice(Card),
    /// Nothing: a channel message left alone, or a throttled member already told.
    /// Never the response to an interaction (`/ask`, a button), which must be answered.
    Silence,
}

impl Response {
    /// The card to send, if any.
    pub fn card(self) -> Option<Card> {
        match self {
            Response::Answer(card) | Response::Notice(card) => Some(card),
            Response::Silence => None,
        }
    }
}

/// Said when a button names a topic a reload has taken away.
const GONE: &str =
    "That topic is no longer in my knowledge base. Try `/topics` for what I know now.";

impl Bot {
    /// Answers `user`'s question: the reply of the set in service, counted and stored with
    /// where it was asked, as a card. A message nobody addressed to the bot (a watched
    /// channel's, a forum post, a follow-up in a thread the bot follows) is answered only
    /// when the bot is sure, and is otherwise left alone (counted as unconfident; stored,
    /// for the unanswered queue, only when it is a forum post); the cooldown applies to the
    /// rest.
    pub fn answer(&self, user: UserId, question: Question<'_>, asked: Asked) -> Response {
        // A question addressed to the bot meets the cooldown before it is matched, so a
        // flood costs no matching; a watched channel's message only once the bot would
        // speak up.
        let watched = asked.source().is_unprompted();
        if !watched {
            if let Some(refused) = self.throttle(user, asked.source()) {
                return refused;
            }
        }
        let served = self.served();
        let engine = &served.engine;
        let conversation = self.discord.conversation_key(user, asked);
        let now = Instant::now();
        let last = self.discord.conversations().last(conversation, now);
        let reply = match question {
            Question::Text(text) => {
                Some(engine.reply_after(text, last.as_ref(), &self.discord.follow_ups))
            }
            Question::Intent(intent) => engine.reply_for(intent),
            Question::More(intent) => engine.details_of(intent),
        };
        if watched {
            let guild = asked.guild().map(GuildId::new);
            if let Some(unsure) = reply
                .as_ref()
                .filter(|r| !self.sure_enough(engine, r, guild))
            {
                self.recorder
                    .question(asked, &served, unsure, Outcome::Unconfident);
                debug!(
                    confidence = unsure.confidence,
                    "left an unaddressed message alone"
                );
                return Response::Silence;
            }
            if let Some(refused) = self.throttle(user, asked.source()) {
                // A forum post is the forum's question, whoever is over the cooldown.
                if let Some(post) = reply.as_ref().filter(|_| asked.source() == Source::Forum) {
                    self.recorder
                        .question(asked, &served, post, Outcome::Unconfident);
                }
                return refused;
            }
        }
        let Some(reply) = reply else {
            return Response::Notice(Card::text(GONE));
        };
        let next = match question {
            Question::Text(text) => engine.turn_after(text, &reply, last.as_ref()),
            Question::Intent(intent) => engine.turn_for(intent).or(last),
            Question::More(_) => engine.turn_after("", &reply, last.as_ref()),
        };
        if let Some(next) = next {
            self.discord
                .conversations()
                .remember(conversation, next, now);
        }
        let id = self
            .recorder
            .question(asked, &served, &reply, reply.decision.into());
        // A second question in the message is a question of its own: stored, and voted on.
        let also = reply.also.as_deref().map(|also| {
            self.recorder
                .question(asked, &served, also, also.decision.into())
        });
        Response::Answer(present::reply(
            &served.engine,
            &self.settings.replies,
            &reply,
            id,
            also,
        ))
    }

    /// Nobody asked the bot: it speaks up only with an answer this sure (the server's
    /// channel bar, or the intent's own when stricter).
    fn sure_enough(
        &self,
        engine: &crate::engine::Engine,
        reply: &Reply,
        guild: Option<GuildId>,
    ) -> bool {
        let bar = engine.unprompted_bar(reply, self.guilds.channel_min_confidence(guild));
        reply.decision == Decision::Answer && reply.confidence >= bar.value
    }

    /// Counts a question from `user` against the cooldown: `None` when allowed, else what
    /// to say instead: an interaction is always answered (privately), a message addressed
    /// to the bot gets one notice a window, a watched channel's message none.
    pub fn throttle(&self, user: UserId, source: Source) -> Option<Response> {
        let verdict = self.discord.cooldown.check(user.get(), Instant::now());
        if verdict == Verdict::Allowed {
            return None;
        }
        bump(&self.recorder.stats.throttled);
        let tell = match source {
            Source::Slash | Source::Button => true,
            Source::Mention | Source::Dm => verdict == Verdict::Notify,
            Source::Channel | Source::Forum | Source::Thread => false,
        };
        Some(if tell {
            Response::Notice(Card::text(&self.settings.replies.throttled))
        } else {
            Response::Silence
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::reload::Reloader;
    use crate::bot::recorder::read;
    use crate::config::Settings;
    use crate::engine::Engine;
    use std::sync::Arc;

    /// A bot over the `good` fixture, no database, `questions` allowed per hour each.
    fn bot(questions: u32) -> Bot {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good");
        let mut settings = Settings::defaults();
        settings.discord.cooldown_questions = questions;
        settings.discord.cooldown_window = std::time::Duration::from_secs(3600);
        let (engine, _) = Engine::load(&dir, &settings.matcher, &settings.limits).unwrap();
        let reloader = Reloader::new(engine, &dir, &settings).unwrap();
        Bot::new(
            Arc::new(reloader),
            settings,
            None,
            crate::config::ShardPlan::SINGLE,
        )
    }

    /// An example of the fixture's first intent: answered, and surely.
    fn sure_question(bot: &Bot) -> String {
        bot.served().engine.intents()[0].examples[0].clone()
    }

    fn kind(response: &Response) -> &'static str {
        match response {
            Response::Answer(_) => "answer",
            Response::Notice(_) => "notice",
            Response::Silence => "silence",
        }
    }

    #[test]
    fn every_source_meets_the_cooldown_its_own_way() {
        let bot = bot(1);
        let question = sure_question(&bot);
        let ask = |user: u64, source: Source| {
            let asked = Asked::new(source, Some(GuildId::new(1)), ChannelId::new(2));
            kind(&bot.answer(UserId::new(user), Question::Text(&question), asked))
        };
        // A message addressed to the bot: one notice a window, then silence.
        let mention: Vec<_> = (0..3).map(|_| ask(1, Source::Mention)).collect();
        assert_eq!(mention, ["answer", "notice", "silence"]);
        // An interaction is always answered.
        let slash: Vec<_> = (0..3).map(|_| ask(2, Source::Slash)).collect();
        assert_eq!(slash, ["answer", "notice", "notice"]);
        // A watched channel's message never hears of the cooldown.
        let channel: Vec<_> = (0..2).map(|_| ask(3, Source::Channel)).collect();
        assert_eq!(channel, ["answer", "silence"]);
        let stats = &bot.recorder.stats;
        assert_eq!(read(&stats.questions), 3);
        assert_eq!(read(&stats.throttled), 5);
    }

    #[test]
    fn an_unsure_channel_message_is_left_alone_without_spending_the_cooldown() {
        let bot = bot(1);
        let asked = Asked::new(Source::Channel, Some(GuildId::new(1)), ChannelId::new(2));
        let user = UserId::new(1);
        let unsure = bot.answer(user, Question::Text("zqxv wplk"), asked);
        assert_eq!(kind(&unsure), "silence");
        assert_eq!(read(&bot.recorder.stats.unconfident), 1);
        let question = sure_question(&bot);
        let sure = bot.answer(user, Question::Text(&question), asked);
        assert_eq!(kind(&sure), "answer");
    }

    #[test]
    fn a_topic_a_reload_took_away_gets_a_notice() {
        let bot = bot(5);
        let asked = Asked::new(Source::Button, None, ChannelId::new(2));
        let intent = bot.served().engine.intents()[0].id.clone();
        let known = bot.answer(UserId::new(1), Question::Intent(&intent), asked);
        assert_eq!(kind(&known), "answer");
        let gone = bot.answer(UserId::new(1), Question::Intent("no.such.topic"), asked);
        assert!(matches!(&gone, Response::Notice(card) if card.content.as_deref() == Some(GONE)));
        assert_eq!(read(&bot.recorder.stats.questions), 1);
    }

    #[test]
    fn a_dm_channel_is_never_kept() {
        let channel = ChannelId::new(7);
        let dm = Asked::new(Source::Dm, None, channel);
        assert_eq!((dm.guild(), dm.channel()), (None, None));
        let slash_in_dm = Asked::new(Source::Slash, None, channel);
        assert_eq!(slash_in_dm.channel(), None);
        let server = Asked::new(Source::Mention, Some(GuildId::new(3)), channel);
        assert_eq!((server.guild(), server.channel()), (Some(3), Some(7)));
    }

    #[test]
    fn a_thread_is_stored_as_the_channel_it_is_in_and_talked_in_as_itself() {
        let (forum, thread) = (ChannelId::new(7), ChannelId::new(8));
        let guild = Some(GuildId::new(3));
        let post = Asked::new(Source::Forum, guild, thread).in_thread_of(Some(forum));
        assert_eq!((post.channel(), post.place()), (Some(7), Some(8)));
        let moved = Asked::new(Source::Channel, guild, forum).moved_to(thread);
        assert_eq!((moved.channel(), moved.place()), (Some(7), Some(8)));
        let dm = Asked::new(Source::Dm, None, thread).in_thread_of(Some(forum));
        assert_eq!((dm.channel(), dm.place()), (None, None));
        let unknown = Asked::new(Source::Mention, guild, thread).in_unknown_thread();
        assert_eq!((unknown.channel(), unknown.place()), (None, Some(8)));
        let partial = |kind: u8| -> PartialChannel {
            let channel = serde_json::json!({"id": "8", "type": kind, "parent_id": "7"});
            serde_json::from_value(channel).unwrap()
        };
        let partial = partial(11);
        let clicked = Asked::new(Source::Button, guild, thread).in_channel(Some(&partial));
        assert_eq!(clicked.channel(), Some(7));
        let text = serde_json::json!({"id": "8", "type": 0, "parent_id": "7"});
        let text: PartialChannel = serde_json::from_value(text).unwrap();
        let clicked = Asked::new(Source::Button, guild, thread).in_channel(Some(&text));
        assert_eq!(clicked.channel(), Some(8));
    }
}
