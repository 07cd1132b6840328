//! `careerbot store migrate`: copies one database into another, typically the SQLite file
//! of a single bot into the PostgreSQL database a cluster shares.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::admin::store::copy::{copy, Copied, Counts};
use crate::admin::store::{Database, OlderSchema, Store};

/// A `--from` or `--to` database: a file path or a postgres:// URL. Checked here rather
/// than by clap, whose error would repeat the value, password and all.
fn database(flag: &str, text: &str) -> anyhow::Result<Database> {
    match Database::parse(text) {
        Ok(Some(database)) => Ok(database),
        Ok(None) => anyhow::bail!("{flag}: give a file path or a postgres:// URL"),
        Err(why) => anyhow::bail!("{flag}: {why}"),
    }
}

/// `careerbot store migrate --from FILE|URL --to FILE|URL [--json]`.
pub fn migrate(from: &str, to: &str, json: bool) -> anyhow::Result<ExitCode> {
    let (from, to) = (&database("--from", from)?, &database("--to", to)?);
    anyhow::ensure!(from != to, "--from and --to are the same database ({from})");
    // Read-only when it can be; a store of an older careerbot is upgraded first, as
    // `careerbot run` would.
    let source = match Store::open_read_only(from) {
        Err(error)
            if error
                .downcast_ref::<OlderSchema>()
                .is_some_and(|o| o.found > 0) =>
        {
            Store::open(from)?
        }
        opened => opened?,
    };
    let mut target = Store::open(to)?;
    let copied = copy(&source, &mut target, |_| {})
        .with_context(|| format!("the copy from {from} to {to} stopped"))?;
    if json {
        super::emit(&format!("{}\n", serde_json::to_string_pretty(&copied)?))?;
    } else {
        super::emit(&summary(from, to, &copied))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn summary(from: &Database, to: &Database, copied: &Copied) -> String {
    let line = |name: &str, counts: &Counts| {
        format!(
            "  {name:<16}{} read, {} copied, {} already there\n",
            counts.read, counts.copied, counts.already_there
        )
    };
    let mut text = format!(
        "Copied {from} into {to}:\n{}{}{}{}  triage states carried over: {}\n",
        line("questions", &copied.questions),
        line("votes", &copied.votes),
        line("server settings", &copied.guild_settings),
        line("audit entries", &copied.audit),
        copied.resolutions
    );
    if copied.skipped_rows > 0 {
        let named: Vec<String> = copied
            .skipped_questions
            .iter()
            .map(u64::to_string)
            .collect();
        text.push_str(&format!(
            "  left out: {} rows whose text is not valid UTF-8{}\n",
            copied.skipped_rows,
            if named.is_empty() {
                String::new()
            } else {
                format!(" (questions {})", named.join(", "))
            }
        ));
    }
    text
}
