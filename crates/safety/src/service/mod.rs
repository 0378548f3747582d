//! The safety module's use cases shared by its pages, its JSON API, its device messages and
//! its jobs: each checks the policy, reads and writes through `store`, records what it did in
//! the audit log (in the same transaction as the change or read it records) and tells whom it
//! must. `http` and `jobs` call downwards into here, never into each other.

pub mod answers;
pub mod asking;
pub mod export;
pub mod follow_up;
pub mod rounds;

use kernel::model::audit::AuditRecord;

/// An audit entry about a round.
pub(crate) fn audit(actor: Option<&str>, action: &str, round_id: &str) -> AuditRecord {
    AuditRecord::new(actor, action, format!("safety/{round_id}"))
}
