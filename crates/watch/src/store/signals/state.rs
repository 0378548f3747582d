//! What the writer has kept: a person's signals and their state, and forgetting old signals.

use super::*;

/// A signal on the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct SignalRow {
    pub at: i64,
    pub source: String,
    pub value: String,
    pub device_id: Option<String>,
}

/// The person's signals since `since`, newest first, every signal written so far among them.
pub async fn recent(k: &Kernel, person_id: &str, since: i64, limit: i64) -> Result<Vec<SignalRow>> {
    settle(k).await?;
    Ok(on_db!(&k.db, |p| {
        sqlx::query_as::<_, SignalRow>(
        "SELECT at, source, value, device_id FROM watch_signals WHERE person_id = $1 AND at >= $2 ORDER BY at DESC LIMIT $3"
    )
    .bind(person_id)
    .bind(since)
    .bind(limit)
    .fetch_all(p)
    .await
    })?)
}

/// Forget up to `limit` of the oldest signals that arrived before `before`; how many went.
/// Only the oldest `limit` rows by id are looked at (ids follow arrival, to within the second
/// the SQLite writer may hold a signal in its log), so a pass never scans the table, and each
/// pass is a short transaction the signal writer waits little for.
pub async fn forget_before(db: &Db, before: i64, limit: i64) -> Result<u64> {
    Ok(on_db!(db, |p| sqlx::query(
        "DELETE FROM watch_signals WHERE id IN (SELECT id FROM \
         (SELECT id, received_at FROM watch_signals ORDER BY id LIMIT $2) AS oldest WHERE received_at < $1)"
    )
    .bind(before)
    .bind(limit)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?)
}

/// The person's last signal and last 「元気です」, with every signal written so far applied.
pub async fn state(k: &Kernel, person_id: &str) -> Result<(Option<i64>, Option<i64>)> {
    settle(k).await?;
    Ok(on_db!(&k.db, |p| sqlx::query_as::<_, (Option<i64>, Option<i64>)>(
        "SELECT last_signal_at, last_checkin_at FROM watch_state WHERE person_id = $1"
    )
    .bind(person_id)
    .fetch_optional(p)
    .await)?
    .unwrap_or((None, None)))
}
