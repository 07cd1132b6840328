//! Copying one store into another (`careerbot store migrate`): an SQLite file into the
//! PostgreSQL database a cluster shares, typically. Records keep their numbers, so copying
//! again stores nothing twice; a question's triage state, the servers' own settings and
//! the audit log (whose entries keep their numbers too) come along.

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
    /// Entries of the audit log of admins' changes.
    pub audit: Counts,
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
/// settings and the audit log, calling `progress` after each step.
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
    // Newest first, as the log pages; each entry keeps its number, so none is added twice.
    let mut before = None;
    loop {
        let page = from.audit_log(before, PAGE)?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        let added = to.add_audit(&page)?;
        copied.audit.add(page.len(), page.len() - added);
        progress(&copied);
    }
    (copied.skipped_rows, copied.skipped_questions) = from.unreadable(SKIPPED_NAMED)?;
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::audit::AuditEntry;
    use crate::admin::store::testing::{audit, question, TestDb};

    #[test]
    fn copying_sqlite_into_postgresql_twice_adds_each_audit_entry_once() {
        let (file, postgres) = (TestDb::sqlite(), TestDb::postgres());
        let mut from = file.open();
        from.write(&[question(1, 100, "q", "answer", 0.9)]).unwrap();
        // More entries than a page: the copy pages through them all.
        let entries: Vec<AuditEntry> = (0..PAGE as i64 + 5)
            .map(|n| audit(1_000 + n, &format!("change {n}")))
            .collect();
        assert_eq!(from.add_audit(&entries).unwrap(), entries.len());
        let mut to = postgres.open();
        // The target's own entry, made at the same time as one of the copied: both stay.
        to.record_audit(&audit(1_000, "made in the cluster"))
            .unwrap();

        let first = copy(&from, &mut to, |_| {}).unwrap();
        let n = entries.len() as u64;
        let all = |read, copied, already_there| Counts {
            read,
            copied,
            already_there,
        };
        assert_eq!(first.audit, all(n, n, 0));
        let again = copy(&from, &mut to, |_| {}).unwrap();
        assert_eq!(again.audit, all(n, 0, n));
        assert_eq!(again.questions, all(1, 0, 1));

        let copied = to.audit_log(None, 10 * PAGE).unwrap();
        assert_eq!(copied.len(), entries.len() + 1);
        // Same numbers as in the source, newest first.
        let source = from.audit_log(None, 10 * PAGE).unwrap();
        let without_own: Vec<&AuditEntry> = copied
            .iter()
            .filter(|e| e.detail != "made in the cluster")
            .collect();
        assert_eq!(without_own.len(), source.len());
        assert!(without_own.iter().zip(&source).all(|(a, b)| *a == b));
    }
}
