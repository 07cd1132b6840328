//! The admin loop, beside the front ends: live reload that cannot break the bot, the
//! SQLite store of questions and votes, the unanswered-question queue, safe edits of the
//! intent files, and reports. Synchronous; the bot runs it off its async runtime.

pub mod edit;
pub mod reload;
pub mod report;
pub mod store;
pub mod unanswered;
pub mod watch;
