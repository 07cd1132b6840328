//! Discord's size limits.
//!
//! Every string the bot sends passes through [`fit`](crate::text::fit) with the limit of
//! the field it goes into, so a long answer, title or course list can never make Discord
//! reject a reply.

/// Characters in a message's `content`.
pub const CONTENT: usize = 2000;
/// Characters in a message a user can send (4,000 with Nitro): the longest question that
/// can reach the bot, so also the longest line `careerbot chat` answers.
pub const QUESTION: usize = 4000;
/// Characters in an embed's title.
pub const EMBED_TITLE: usize = 256;
/// Characters in an embed's description.
pub const EMBED_DESCRIPTION: usize = 4096;
/// Characters in an embed field's name and value.
pub const FIELD_NAME: usize = 256;
pub const FIELD_VALUE: usize = 1024;
/// Characters in an embed's footer.
pub const FOOTER: usize = 2048;
/// Characters in all of an embed's texts together.
pub const EMBED_TOTAL: usize = 6000;
/// Fields in one embed.
pub const FIELDS: usize = 25;
/// Action rows in one message, and buttons in one row.
pub const ROWS: usize = 5;
pub const BUTTONS_PER_ROW: usize = 5;
/// Characters in a button's label.
pub const BUTTON_LABEL: usize = 80;
/// Characters in a component's custom id.
pub const CUSTOM_ID: usize = 100;
/// Options in a select menu; characters in an option's label, value and description.
pub const SELECT_OPTIONS: usize = 25;
pub const OPTION_LABEL: usize = 100;
pub const OPTION_DESCRIPTION: usize = 100;
/// Characters in a select menu's placeholder.
pub const PLACEHOLDER: usize = 150;
/// Choices in an autocomplete answer, and characters in a choice's name.
pub const AUTOCOMPLETE_CHOICES: usize = 25;
pub const CHOICE_NAME: usize = 100;
