//! The admin loop, beside the front ends: live reload that cannot break the bot, the
//! store of questions and votes (SQLite or PostgreSQL), per-server settings, the
//! unanswered-question queue, safe edits of the intent files, the audit log of admins'
//! changes, and reports. Synchronous; the bot runs it off its async runtime.

pub mod audit;
pub mod edit;
pub mod guilds;
pub mod reload;
pub mod report;
pub mod store;
pub mod triage;
pub mod unanswered;
pub mod watch;

/// A copy of the `good` test fixture (a small valid intent directory) to edit freely.
#[cfg(test)]
pub(crate) fn good_fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let good = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good");
    for entry in std::fs::read_dir(good).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    dir
}
