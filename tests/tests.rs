//! The integration tests, one binary (`autotests = false` in Cargo.toml).
//!
//! - `admin`: live reload (chat and bot), the reload gate, triage of unanswered questions and
//!   the store across restarts and kills;
//! - `browser`: the dashboard in a headless Chromium over WebDriver (`careerbot dashboard`);
//! - `bot`: the real `careerbot run` against the Discord emulator (`support::discord`);
//! - `cli`: the real `careerbot` binary, on the fixtures and on the shipped `intents/`;
//! - `dashboard`: the admin dashboard over HTTP (`careerbot dashboard`);
//! - `edges`: endless input, closed pipes, terminals, and `run` before it connects;
//! - `emulator_selftest`: the Discord emulator of `support::discord` against a bare serenity client;
//! - `engine`: matching behaviour through the library, on intent sets built in temp dirs;
//! - `guilds`: per-server settings (`/careerbot settings`) through the Discord emulator;
//! - `hostile`: hostile messages and broken intent directories, library and binary;
//! - `knowledge`: the shipped knowledge base against its contract and its evaluation;
//! - `settings`: bad settings refused by the binary, with their ranges and sources;
//! - `shards`: shard ranges across processes through the Discord emulator;
//! - `store`: the PostgreSQL store through the binary (`store migrate`, `report`);
//! - `threads`: forum posts and threads through the Discord emulator.

mod support;

mod admin;
mod bot;
mod browser;
mod cli;
mod dashboard;
mod edges;
mod emulator_selftest;
mod engine;
mod guilds;
mod hostile;
mod knowledge;
mod report;
mod settings;
mod shards;
mod store;
mod threads;
