//! careerbot: answers career questions about backend software engineering.
//!
//! - [`engine`]: the pure, synchronous core (normalize, intent files, matcher, catalog).
//! - [`cli`]: the command-line front end (offline chat, ask, check, eval, benchmarks).
//! - [`bot`]: the Discord front end (serenity and poise), started by `careerbot run`.
//! - [`web`]: the admin dashboard (axum, maud), started by `careerbot dashboard`.
//! - [`admin`]: the admin loop (live reload, store, unanswered queue, edits, reports).
//! - [`config`]: every setting, layered from `config/default.toml` and the environment.
//! - [`text`]: text cut to a length (Discord's limits, report columns).

pub mod admin;
pub mod bot;
pub mod cli;
pub mod config;
pub mod engine;
pub mod text;
pub mod web;
