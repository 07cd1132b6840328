//! Copying one store into another (`careerbot store migrate`): an SQLite file into the
//! PostgreSQL database a cluster shares, typically. Records keep their numbers, so copying
//! again stores nothing twice; a question's triage state and the servers' own settings
//! come along.

use serde::Serialize;

use super::{Record, Store};

/// Rows read and written per round trip.
const PAGE: usize = 2_000;
/// Skipped questions named.
const SKIPPED_NAMED: usize = 5;

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Copied {
    pub questions: Counts,
    pub votes: Counts,
    /// Servers' own settings: a server whose settings the target has already keeps them.
    pub guild_settings: Counts,
    /// Triage states (an intent, or "ignore") set on copied questions that had none.
    pub resolutions: u64,
    /// Rows of the source left out because a text of theirs is not valid UTF-8 (written by
    /// hand or by another program; reports leave them out too).
    pub skipped_rows: u64,
    /// The first few such questions' numbers.
    pub skipped_questions: Vec<u64>,
}

/// Rows of one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Rows read from the source.
    pub read: u64,
    /// Rows the target did not have, now written.
    pub copied: u64,
    /// Rows the target had already (same number): left as they were.
    pub already_there: u64,
}

impl Counts {
    fn add(&mut self, read: usize, present: usize) {
        self.read += read as u64;
        self.already_there += present as u64;
        self.copied += (read - present) as u64;
    }
}

/// Copies every question and vote of `from` into `to`, page by page, then the servers'
/// settings, calling `progress` after each step.
pub fn copy(
    from: &Store,
    to: &mut Store,
    mut progress: impl FnMut(&Copied),
) -> anyhow::Result<Copied> {
    let mut copied = Copied::default();
    let mut after = None;
    loop {
        let page = from.questions_page(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.record.id);
        let ids: Vec<u64> = page.iter().map(|q| q.record.id).collect();
        let (present, _) = to.present(&ids, &[])?;
        let records: Vec<Record> = page
            .iter()
            .map(|q| Record::Question(q.record.clone()))
            .collect();
        to.write(&records)?;
        let resolved: Vec<(u64, String, i64)> = page
            .iter()
            .filter_map(|q| {
                let action = q.resolved.clone()?;
                Some((
                    q.record.id,
                    action,
                    q.resolved_at_ms.unwrap_or(q.record.at_ms),
                ))
            })
            .collect();
        if !resolved.is_empty() {
            copied.resolutions += to.carry_resolutions(&resolved)? as u64;
        }
        copied.questions.add(page.len(), present);
        progress(&copied);
    }
    let mut after = None;
    loop {
        let page = from.votes_page(after, PAGE)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let ids: Vec<u64> = page.iter().map(|v| v.id).collect();
        let (_, present) = to.present(&[], &ids)?;
        let records: Vec<Record> = page.into_iter().map(Record::Vote).collect();
        to.write(&records)?;
        copied.votes.add(records.len(), present);
        progress(&copied);
    }
    // Servers back on every default have nothing to copy.
    let guilds: Vec<_> = from
        .guild_settings()?
        .into_iter()
        .filter(|g| !g.settings.is_default())
        .collect();
    let added = to.add_guild_settings(&guilds)?;
    copied
        .guild_settings
        .add(guilds.len(), guilds.len() - added);
    progress(&copied);
    (copied.skipped_rows, copied.skipped_questions) = from.unreadable(SKIPPED_NAMED)?;
    Ok(copied)
}
