//! The audit log: one entry per change an admin makes, from Discord or from the dashboard
//! (which admin, what, when, and how it ended), kept in the store's `audit_log` table.
//!
//! The one place the store keeps a person's id: the admin's, for a change they made.
//! Members' ids are never in it (nor anywhere else). An entry's number is made of its time
//! and a digest of its content, so numbers run in time order (pages go by number), the
//! same entry written twice (a replayed batch, a second copy) is stored once, and entries
//! of different stores copied into one do not clash. Texts are cut to a bounded length when
//! stored, so no input can bloat the table.

use sha1::{Digest, Sha1};

use super::store::now_ms;
use crate::text::fit;

/// `via` of a change made from Discord.
pub const DISCORD: &str = "discord";
/// `via` of a change made from the web dashboard.
pub const DASHBOARD: &str = "dashboard";
/// The `outcome` of a change carried out.
pub const DONE: &str = "done";

/// The most characters kept of each text (a longer one is cut, marked with "…").
pub const ADMIN_MAX: usize = 100;
pub const VIA_MAX: usize = 20;
pub const ACTION_MAX: usize = 50;
pub const DETAIL_MAX: usize = 2_000;
pub const OUTCOME_MAX: usize = 500;

/// Low bits of an entry's number taken from its digest; the rest is its time.
const DIGEST_BITS: u32 = 20;
/// Times from 0 to 2^43 ms (the year 2248): with the digest's bits, below 2^63.
const TIME_MAX: i64 = (1 << 43) - 1;

/// One change an admin made, or tried to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// The entry's number, given by the store (see [`AuditEntry::stored`]); 0 when new.
    pub id: u64,
    /// When, in unix milliseconds.
    pub at_ms: i64,
    /// The admin's display name (a Discord user name, e.g. "alice").
    pub admin: String,
    /// The admin's Discord user id; `None` for the local dashboard's admin.
    pub admin_id: Option<u64>,
    /// Where the change was made: [`DISCORD`] or [`DASHBOARD`].
    pub via: String,
    /// The server it was made in, if any.
    pub guild: Option<u64>,
    /// What kind of change, one short word: "file_example", "ignore_group", "settings",
    /// "reload", ...
    pub action: String,
    /// What changed, for people.
    pub detail: String,
    /// [`DONE`], "refused: why" or "failed: why" (see [`refused`], [`failed`]).
    pub outcome: String,
}

impl AuditEntry {
    /// An entry for a change made now from Discord by the admin named `admin` (user id
    /// `admin_id`) in `guild`; the store numbers it.
    pub fn discord(
        admin: &str,
        admin_id: u64,
        guild: Option<u64>,
        action: &str,
        detail: String,
        outcome: String,
    ) -> AuditEntry {
        AuditEntry::now(
            DISCORD,
            admin,
            Some(admin_id),
            guild,
            action,
            detail,
            outcome,
        )
    }

    /// An entry for a change made now from the dashboard by `admin` (their Discord user id
    /// `admin_id`; `None` for the local dashboard's admin), about `guild` if one.
    pub fn dashboard(
        admin: &str,
        admin_id: Option<u64>,
        guild: Option<u64>,
        action: &str,
        detail: String,
        outcome: String,
    ) -> AuditEntry {
        AuditEntry::now(DASHBOARD, admin, admin_id, guild, action, detail, outcome)
    }

    fn now(
        via: &str,
        admin: &str,
        admin_id: Option<u64>,
        guild: Option<u64>,
        action: &str,
        detail: String,
        outcome: String,
    ) -> AuditEntry {
        AuditEntry {
            id: 0,
            at_ms: now_ms(),
            admin: admin.to_owned(),
            admin_id,
            via: via.to_owned(),
            guild,
            action: action.to_owned(),
            detail,
            outcome,
        }
    }

    /// The entry as the store keeps it: every text cut to its most, and numbered when new
    /// (a number given, as by a copy, stays).
    pub fn stored(&self) -> AuditEntry {
        let mut entry = AuditEntry {
            id: self.id,
            at_ms: self.at_ms,
            admin: fit(&self.admin, ADMIN_MAX),
            admin_id: self.admin_id,
            via: fit(&self.via, VIA_MAX),
            guild: self.guild,
            action: fit(&self.action, ACTION_MAX),
            detail: fit(&self.detail, DETAIL_MAX),
            outcome: fit(&self.outcome, OUTCOME_MAX),
        };
        if entry.id == 0 {
            entry.id = entry.number();
        }
        entry
    }

    /// The number of this entry: its time in the high bits (so numbers run in time
    /// order), a digest of its content in the low ones; never 0.
    fn number(&self) -> u64 {
        let mut digest = Sha1::new().chain_update(b"careerbot audit");
        digest.update(self.at_ms.to_le_bytes());
        for text in [
            &self.admin,
            &self.via,
            &self.action,
            &self.detail,
            &self.outcome,
        ] {
            // Lengths first, so no two different splits of the same bytes hash alike.
            digest.update((text.len() as u64).to_le_bytes());
            digest.update(text.as_bytes());
        }
        for id in [self.admin_id, self.guild] {
            digest.update([u8::from(id.is_some())]);
            digest.update(id.unwrap_or(0).to_le_bytes());
        }
        let digest = digest.finalize();
        let mut bytes = [0; 8];
        bytes.copy_from_slice(&digest[..8]);
        let low = u64::from_le_bytes(bytes) & ((1 << DIGEST_BITS) - 1);
        let time = self.at_ms.clamp(0, TIME_MAX) as u64;
        ((time << DIGEST_BITS) | low).max(1)
    }
}

/// The `outcome` of a change refused (nothing changed), saying why.
pub fn refused(why: &str) -> String {
    format!("refused: {why}")
}

/// The `outcome` of a change that failed (an error), saying why.
pub fn failed(why: &str) -> String {
    format!("failed: {why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: i64, detail: &str) -> AuditEntry {
        AuditEntry {
            at_ms,
            ..AuditEntry::discord(
                "alice",
                7,
                Some(9),
                "settings",
                detail.to_owned(),
                DONE.to_owned(),
            )
        }
    }

    #[test]
    fn numbers_follow_time_stay_when_given_and_tell_entries_apart() {
        let first = entry(1_000, "a").stored();
        let same = entry(1_000, "a").stored();
        let other = entry(1_000, "b").stored();
        let later = entry(1_001, "a").stored();
        assert_eq!(first.id, same.id, "the same entry, the same number");
        assert_ne!(first.id, other.id);
        assert!(first.id >> DIGEST_BITS == 1_000 && other.id >> DIGEST_BITS == 1_000);
        assert!(later.id > first.id.max(other.id));
        assert_eq!(first.stored(), first, "numbered once");
        let given = AuditEntry {
            id: 42,
            ..entry(5, "x")
        };
        assert_eq!(given.stored().id, 42);
        // Times out of range still give a number below 2^63, never 0.
        for at_ms in [i64::MIN, -1, 0, i64::MAX] {
            let id = entry(at_ms, "").stored().id;
            assert!(id > 0 && id < 1 << 63, "{at_ms}: {id}");
        }
    }

    #[test]
    fn texts_are_cut_to_their_most() {
        let long = AuditEntry {
            admin: "a".repeat(10_000),
            via: "v".repeat(100),
            action: "x".repeat(100),
            detail: "é".repeat(100_000),
            outcome: refused(&"r".repeat(10_000)),
            ..entry(1, "")
        }
        .stored();
        for (text, most) in [
            (&long.admin, ADMIN_MAX),
            (&long.via, VIA_MAX),
            (&long.action, ACTION_MAX),
            (&long.detail, DETAIL_MAX),
            (&long.outcome, OUTCOME_MAX),
        ] {
            assert_eq!(text.chars().count(), most);
            assert!(text.ends_with('…'));
        }
        assert!(long.outcome.starts_with("refused: r"));
        assert_eq!(failed("boom"), "failed: boom");
    }
}
