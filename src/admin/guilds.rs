//! Per-server settings: the answer channels, the forum channels, the admin channel and the
//! stricter channel threshold that one server's admins chose (`/careerbot settings`), kept in the store.
//! Whatever a server has not chosen follows the config file. Plain data and the rules for
//! changing it; the bot keeps them in memory and translates to and from Discord.

use std::fmt::Write as _;

/// Most answer channels one server may have; and most forum channels.
pub const MAX_ANSWER_CHANNELS: usize = 25;

/// One server's own choices; a `None` follows the config file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GuildSettings {
    /// Channels whose messages are answered without a mention (`Some(empty)`: none).
    pub answer_channels: Option<Vec<u64>>,
    /// Forum channels whose new posts are answered (`Some(empty)`: none).
    pub forum_channels: Option<Vec<u64>>,
    /// The channel for messages to this server's admins (`Some(0)`: none).
    pub admin_channel: Option<u64>,
    /// The confidence an unaddressed message here needs to be answered.
    pub channel_min_confidence: Option<f32>,
}

/// A server's settings as stored, with the time of their last change and their revision:
/// each change counts one up (a server's row is kept when it goes back to the defaults, so
/// revisions never go back), which tells a newer copy from an older one.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredGuild {
    pub guild: u64,
    pub settings: GuildSettings,
    pub updated_at_ms: i64,
    pub revision: i64,
}

impl GuildSettings {
    /// Whether everything follows the config file (such a server needs no row).
    pub fn is_default(&self) -> bool {
        *self == GuildSettings::default()
    }

    /// `answer_channels` as the store keeps it: ids separated by commas ("" for none).
    pub fn channels_column(&self) -> Option<String> {
        ids_column(self.answer_channels.as_deref())
    }

    /// `forum_channels` as the store keeps it, as [`GuildSettings::channels_column`].
    pub fn forums_column(&self) -> Option<String> {
        ids_column(self.forum_channels.as_deref())
    }

    /// Settings from the store's columns; an error names what is not readable (a row
    /// written by hand, say).
    pub fn from_columns(
        answer_channels: Option<&str>,
        forum_channels: Option<&str>,
        admin_channel: Option<u64>,
        channel_min_confidence: Option<f64>,
    ) -> Result<GuildSettings, String> {
        let answer_channels = answer_channels
            .map(|text| ids_from_column(Field::AnswerChannels, text))
            .transpose()?;
        let forum_channels = forum_channels
            .map(|text| ids_from_column(Field::ForumChannels, text))
            .transpose()?;
        let channel_min_confidence = channel_min_confidence
            .map(|value| {
                if (0.0..=1.0).contains(&value) {
                    Ok(value as f32)
                } else {
                    Err(format!(
                        "channel_min_confidence is {value}, not between 0 and 1"
                    ))
                }
            })
            .transpose()?;
        Ok(GuildSettings {
            answer_channels,
            forum_channels,
            admin_channel,
            channel_min_confidence,
        })
    }
}

/// Channel ids as the store keeps them: separated by commas ("" for none).
fn ids_column(ids: Option<&[u64]>) -> Option<String> {
    ids.map(|ids| {
        let mut text = String::new();
        for (n, id) in ids.iter().enumerate() {
            let comma = if n == 0 { "" } else { "," };
            let _ = write!(text, "{comma}{id}");
        }
        text
    })
}

/// The channel ids of `field`'s column.
fn ids_from_column(field: Field, text: &str) -> Result<Vec<u64>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(|id| match id.parse::<u64>() {
            Ok(id) if id > 0 => Ok(id),
            _ => Err(format!("{} holds {id:?}, not a channel id", field.name())),
        })
        .collect()
}

/// One setting, to set back to the config file's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    AnswerChannels,
    ForumChannels,
    AdminChannel,
    ChannelMinConfidence,
}

/// One change an admin asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    AddAnswerChannel(u64),
    RemoveAnswerChannel(u64),
    NoAnswerChannels,
    AddForumChannel(u64),
    RemoveForumChannel(u64),
    NoForumChannels,
    AdminChannel(u64),
    NoAdminChannel,
    ChannelMinConfidence(f32),
    /// Back to the config file's value.
    Default(Field),
}

impl Change {
    /// The setting this change is about.
    fn field(self) -> Field {
        match self {
            Change::AddAnswerChannel(_)
            | Change::RemoveAnswerChannel(_)
            | Change::NoAnswerChannels => Field::AnswerChannels,
            Change::AddForumChannel(_)
            | Change::RemoveForumChannel(_)
            | Change::NoForumChannels => Field::ForumChannels,
            Change::AdminChannel(_) | Change::NoAdminChannel => Field::AdminChannel,
            Change::ChannelMinConfidence(_) => Field::ChannelMinConfidence,
            Change::Default(field) => field,
        }
    }
}

impl std::fmt::Display for Change {
    /// The change in words, for the audit log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::AddAnswerChannel(channel) => write!(f, "add answer channel {channel}"),
            Change::RemoveAnswerChannel(channel) => write!(f, "remove answer channel {channel}"),
            Change::NoAnswerChannels => write!(f, "turn off answer channels"),
            Change::AddForumChannel(channel) => write!(f, "add forum channel {channel}"),
            Change::RemoveForumChannel(channel) => write!(f, "remove forum channel {channel}"),
            Change::NoForumChannels => write!(f, "turn off forum channels"),
            Change::AdminChannel(channel) => write!(f, "admin channel {channel}"),
            Change::NoAdminChannel => write!(f, "turn off the admin channel"),
            Change::ChannelMinConfidence(value) => write!(f, "channel_min_confidence {value}"),
            Change::Default(field) => write!(f, "reset {}", field.name()),
        }
    }
}

/// `changes` in words, for the audit log.
pub fn describe_changes(changes: &[Change]) -> String {
    let words: Vec<String> = changes.iter().map(Change::to_string).collect();
    words.join(", ")
}

/// Why a set of changes was refused (nothing of it applies).
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// A threshold that is not a number from 0 to 1.
    Threshold(f32),
    /// More answer (or forum) channels than [`MAX_ANSWER_CHANNELS`].
    TooManyChannels(Field),
    /// A setting both changed and set back to the default, or both turned off and set.
    Contradiction(Field),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Threshold(value) => write!(
                f,
                "channel_min_confidence must be a number from 0 to 1, not {value}"
            ),
            Refused::TooManyChannels(field) => write!(
                f,
                "a server can have at most {MAX_ANSWER_CHANNELS} {}",
                field.name().replace('_', " ")
            ),
            Refused::Contradiction(field) => write!(
                f,
                "{} is both changed and set back to its default, or both turned off and set: pick one",
                field.name()
            ),
        }
    }
}

impl Field {
    /// The setting's name, as in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Field::AnswerChannels => "answer_channels",
            Field::ForumChannels => "forum_channels",
            Field::AdminChannel => "admin_channel",
            Field::ChannelMinConfidence => "channel_min_confidence",
        }
    }
}

/// The config file's channels in one server, which its own lists start from.
#[derive(Debug, Clone, Copy, Default)]
pub struct Defaults<'a> {
    pub answer_channels: &'a [u64],
    pub forum_channels: &'a [u64],
}

/// Applies `changes` to `settings`, all or nothing. `defaults` are the config file's
/// answer and forum channels in this server: a server that follows them and adds or
/// removes one starts from them. Adding a channel that is there, or removing one that is
/// not, changes nothing.
pub fn apply(
    settings: &mut GuildSettings,
    changes: &[Change],
    defaults: Defaults<'_>,
) -> Result<(), Refused> {
    for (n, change) in changes.iter().enumerate() {
        for other in &changes[n + 1..] {
            let same = change.field() == other.field();
            let resets =
                matches!(change, Change::Default(_)) != matches!(other, Change::Default(_));
            let empty = |c: &Change| {
                matches!(
                    c,
                    Change::NoAnswerChannels | Change::NoForumChannels | Change::NoAdminChannel
                )
            };
            let empties = empty(change) != empty(other);
            if same && (resets || empties) {
                return Err(Refused::Contradiction(change.field()));
            }
        }
    }
    let add = |list: &mut Option<Vec<u64>>, default: &[u64], channel: u64| {
        let channels = list.get_or_insert_with(|| default.to_vec());
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    };
    let remove = |list: &mut Option<Vec<u64>>, default: &[u64], channel: u64| {
        list.get_or_insert_with(|| default.to_vec())
            .retain(|c| *c != channel);
    };
    let (answers, forums) = (defaults.answer_channels, defaults.forum_channels);
    let mut next = settings.clone();
    for change in changes {
        match *change {
            Change::AddAnswerChannel(channel) => add(&mut next.answer_channels, answers, channel),
            Change::RemoveAnswerChannel(channel) => {
                remove(&mut next.answer_channels, answers, channel)
            }
            Change::NoAnswerChannels => next.answer_channels = Some(Vec::new()),
            Change::AddForumChannel(channel) => add(&mut next.forum_channels, forums, channel),
            Change::RemoveForumChannel(channel) => {
                remove(&mut next.forum_channels, forums, channel)
            }
            Change::NoForumChannels => next.forum_channels = Some(Vec::new()),
            Change::AdminChannel(channel) => next.admin_channel = Some(channel),
            Change::NoAdminChannel => next.admin_channel = Some(0),
            Change::ChannelMinConfidence(value) => {
                if !(0.0..=1.0).contains(&value) {
                    return Err(Refused::Threshold(value));
                }
                next.channel_min_confidence = Some(value);
            }
            Change::Default(Field::AnswerChannels) => next.answer_channels = None,
            Change::Default(Field::ForumChannels) => next.forum_channels = None,
            Change::Default(Field::AdminChannel) => next.admin_channel = None,
            Change::Default(Field::ChannelMinConfidence) => next.channel_min_confidence = None,
        }
    }
    for (list, default, field) in [
        (&mut next.answer_channels, answers, Field::AnswerChannels),
        (&mut next.forum_channels, forums, Field::ForumChannels),
    ] {
        // Following the file again when the list is the file's anyway, in the same order.
        if list.as_deref() == Some(default) && !default.is_empty() {
            *list = None;
        }
        if list.as_ref().is_some_and(|c| c.len() > MAX_ANSWER_CHANNELS) {
            return Err(Refused::TooManyChannels(field));
        }
    }
    *settings = next;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The config file's answer channels `channels`, and no forum.
    fn answers(channels: &[u64]) -> Defaults<'_> {
        Defaults {
            answer_channels: channels,
            forum_channels: &[],
        }
    }

    #[test]
    fn forum_channels_are_a_list_of_their_own_with_the_same_rules() {
        let defaults = Defaults {
            answer_channels: &[1],
            forum_channels: &[5],
        };
        let mut settings = GuildSettings::default();
        apply(&mut settings, &[Change::AddForumChannel(6)], defaults).unwrap();
        assert_eq!(settings.forum_channels, Some(vec![5, 6]));
        assert_eq!(
            settings.answer_channels, None,
            "the answer channels untouched"
        );
        apply(&mut settings, &[Change::RemoveForumChannel(6)], defaults).unwrap();
        assert!(settings.is_default(), "the file's forums again");
        apply(&mut settings, &[Change::NoForumChannels], defaults).unwrap();
        assert_eq!(settings.forum_channels, Some(vec![]));
        let refused = apply(
            &mut settings,
            &[Change::AddForumChannel(7), Change::NoForumChannels],
            defaults,
        )
        .unwrap_err();
        assert_eq!(refused, Refused::Contradiction(Field::ForumChannels));
        let full: Vec<u64> = (1..=MAX_ANSWER_CHANNELS as u64).collect();
        let many = Defaults {
            answer_channels: &[],
            forum_channels: &full,
        };
        let mut settings = GuildSettings::default();
        let refused = apply(&mut settings, &[Change::AddForumChannel(99)], many).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "a server can have at most 25 forum channels"
        );
        assert!(settings.is_default());
    }

    #[test]
    fn the_columns_round_trip_and_unreadable_ones_are_named() {
        let settings = GuildSettings {
            answer_channels: Some(vec![7, 18_446_744_073_709_551_615]),
            forum_channels: Some(vec![8]),
            admin_channel: Some(0),
            channel_min_confidence: Some(0.5),
        };
        let column = settings.channels_column();
        assert_eq!(column.as_deref(), Some("7,18446744073709551615"));
        let forums = settings.forums_column();
        let back =
            GuildSettings::from_columns(column.as_deref(), forums.as_deref(), Some(0), Some(0.5))
                .unwrap();
        assert_eq!(back, settings);
        let none = GuildSettings {
            answer_channels: Some(Vec::new()),
            ..GuildSettings::default()
        };
        assert_eq!(none.channels_column().as_deref(), Some(""));
        assert_eq!(
            GuildSettings::from_columns(Some(""), None, None, None).unwrap(),
            none
        );
        assert!(GuildSettings::from_columns(None, None, None, None)
            .unwrap()
            .is_default());
        let bad = GuildSettings::from_columns(Some("7,x"), None, None, None).unwrap_err();
        assert!(bad.contains("answer_channels holds \"x\""), "{bad}");
        let bad = GuildSettings::from_columns(None, Some("y"), None, None).unwrap_err();
        assert!(bad.contains("forum_channels holds \"y\""), "{bad}");
        assert!(GuildSettings::from_columns(Some("0"), None, None, None).is_err());
        assert!(GuildSettings::from_columns(None, None, None, Some(1.5)).is_err());
        assert!(GuildSettings::from_columns(None, None, None, Some(f64::NAN)).is_err());
    }

    #[test]
    fn adding_and_removing_starts_from_the_file_s_channels_and_ends_back_on_them() {
        let mut settings = GuildSettings::default();
        apply(
            &mut settings,
            &[Change::AddAnswerChannel(3)],
            answers(&[1, 2]),
        )
        .unwrap();
        assert_eq!(settings.answer_channels, Some(vec![1, 2, 3]));
        apply(
            &mut settings,
            &[Change::AddAnswerChannel(3)],
            answers(&[1, 2]),
        )
        .unwrap();
        assert_eq!(settings.answer_channels, Some(vec![1, 2, 3]));
        apply(
            &mut settings,
            &[Change::RemoveAnswerChannel(3)],
            answers(&[1, 2]),
        )
        .unwrap();
        assert_eq!(settings.answer_channels, None, "the file's list again");
        apply(
            &mut settings,
            &[Change::RemoveAnswerChannel(1)],
            answers(&[1, 2]),
        )
        .unwrap();
        assert_eq!(settings.answer_channels, Some(vec![2]));
        apply(
            &mut settings,
            &[Change::RemoveAnswerChannel(2)],
            answers(&[1, 2]),
        )
        .unwrap();
        assert_eq!(settings.answer_channels, Some(vec![]), "explicitly none");
        apply(
            &mut settings,
            &[Change::Default(Field::AnswerChannels)],
            answers(&[1]),
        )
        .unwrap();
        assert!(settings.is_default());
        apply(
            &mut settings,
            &[Change::NoAnswerChannels],
            Defaults::default(),
        )
        .unwrap();
        assert_eq!(settings.answer_channels, Some(vec![]));
    }

    #[test]
    fn a_refused_change_changes_nothing() {
        let mut settings = GuildSettings {
            admin_channel: Some(9),
            ..GuildSettings::default()
        };
        let before = settings.clone();
        for (changes, refused) in [
            (
                vec![Change::AdminChannel(4), Change::ChannelMinConfidence(1.5)],
                Refused::Threshold(1.5),
            ),
            (
                vec![Change::ChannelMinConfidence(f32::NAN)],
                Refused::Threshold(f32::NAN),
            ),
            (
                vec![
                    Change::AdminChannel(4),
                    Change::Default(Field::AdminChannel),
                ],
                Refused::Contradiction(Field::AdminChannel),
            ),
            (
                vec![Change::AddAnswerChannel(4), Change::NoAnswerChannels],
                Refused::Contradiction(Field::AnswerChannels),
            ),
            (
                vec![Change::AdminChannel(4), Change::NoAdminChannel],
                Refused::Contradiction(Field::AdminChannel),
            ),
        ] {
            let error = apply(&mut settings, &changes, Defaults::default()).unwrap_err();
            // NaN is not equal to itself: compare the messages.
            assert_eq!(error.to_string(), refused.to_string());
            assert_eq!(settings, before);
        }
        let full: Vec<u64> = (1..=MAX_ANSWER_CHANNELS as u64).collect();
        let mut settings = GuildSettings::default();
        apply(
            &mut settings,
            &[Change::AddAnswerChannel(99)],
            answers(&full),
        )
        .unwrap_err();
        assert!(settings.is_default());
        apply(
            &mut settings,
            &[Change::NoAdminChannel, Change::ChannelMinConfidence(0.9)],
            Defaults::default(),
        )
        .unwrap();
        assert_eq!(settings.admin_channel, Some(0));
        assert_eq!(settings.channel_min_confidence, Some(0.9));
    }
}
