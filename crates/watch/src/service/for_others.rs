//! What watch offers other modules (safety asks who watches over whom): other modules call
//! these, never watch's tables.

use kernel::Result;
use kernel::store::Db;

pub use crate::family::Watched;

/// The people `member` watches over (consented circles), with their role in each circle.
pub async fn watched_by(db: &Db, member: &str) -> Result<Vec<Watched>> {
    crate::family::watched_by(db, member).await
}

/// The escalation ladders of these people's (consented) circles, in order: who to tell first
/// when one of them is in trouble (a silent household in a safety round).
pub async fn ladders_of(db: &Db, person_ids: &[String]) -> Result<Vec<String>> {
    crate::store::ladders_of(db, person_ids).await
}
