//! The integration tests, one binary (`autotests = false` in Cargo.toml).
//!
//! - `cli`: the real `careerbot` binary, on the fixtures and on the shipped `intents/`;
//! - `engine`: matching behaviour through the library, on intent sets built in temp dirs;
//! - `hostile`: hostile messages and broken intent directories, library and binary;
//! - `knowledge`: the shipped knowledge base against its contract and its evaluation.

mod support;

mod cli;
mod engine;
mod hostile;
mod knowledge;
