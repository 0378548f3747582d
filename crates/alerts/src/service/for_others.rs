//! What alerts offers other modules (safety starts rounds from alerts): the facts of recent
//! alerts, when alerts were issued, the areas an alert reaches. Other modules call these, never
//! alerts' tables.

use kernel::store::Db;
use kernel::{Result, on_db};

/// An actual alert, as a module deciding whether to act on it needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlertFacts {
    pub id: String,
    pub created_at: i64,
    pub status: String,
    pub msg_type: String,
    pub event: String,
    pub headline: String,
    pub category: String,
    /// A later alert replaced (cancelled or updated) this one.
    pub replaced: bool,
}

/// Actual alerts (`status` Actual) created since `since`, oldest first.
pub async fn actual_since(db: &Db, since: i64) -> Result<Vec<AlertFacts>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, AlertFacts>(
        "SELECT a.id, a.created_at, a.status, a.msg_type, a.event, COALESCE(a.headline, '') AS headline, a.category, \
         (a.replaced_by IS NOT NULL) AS replaced FROM alerts a WHERE a.created_at >= $1 AND a.status = 'Actual' \
         ORDER BY a.created_at"
    )
    .bind(since)
    .fetch_all(p)
    .await)?)
}

/// Has a later alert replaced (cancelled or updated) this one? False for an unknown alert.
pub async fn is_replaced(db: &Db, id: &str) -> Result<bool> {
    Ok(crate::store::get(db, id)
        .await?
        .is_some_and(|a| a.replaced_by.is_some()))
}

/// When the first of these alerts was issued (None for none known).
pub async fn first_issued_at(db: &Db, ids: &[String]) -> Result<Option<i64>> {
    let mut first: Option<i64> = None;
    for chunk in ids.chunks(256) {
        let sql = format!(
            "SELECT MIN(created_at) FROM alerts WHERE id IN ({})",
            kernel::store::padded_in_list(1, chunk.len())
        );
        let at: Option<i64> = on_db!(db, |p| {
            let mut q = sqlx::query_scalar::<_, Option<i64>>(sqlx::AssertSqlSafe(sql.as_str()));
            for i in 0..kernel::store::padded_len(chunk.len()) {
                q = q.bind(&chunk[i.min(chunk.len() - 1)]);
            }
            q.fetch_one(p).await
        })?;
        first = match (first, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(first)
}

/// The areas (町丁目 and larger) an alert reaches.
pub async fn area_ids(db: &Db, id: &str) -> Result<Vec<String>> {
    crate::store::area_ids(db, id).await
}
