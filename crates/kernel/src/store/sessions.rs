//! Server-side web sessions: the cookie holds a random secret, the table its hash.

use crate::model::Id;
use crate::model::token::{new_token, token_hash};
use crate::store::{Db, Tx};
use crate::{Kernel, Result, on_db, on_tx};

/// Start a session for a person; returns the cookie secret.
pub async fn create(k: &Kernel, person_id: &str, lifetime_ms: i64) -> Result<String> {
    let secret = new_token();
    let now = k.now();
    on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO sessions (id_hash, person_id, created_at, expires_at) VALUES ($1,$2,$3,$4)"
    )
    .bind(token_hash(&secret))
    .bind(person_id)
    .bind(now)
    .bind(now + lifetime_ms)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(secret)
}

/// The person of a live session, extending it when less than half its lifetime remains.
pub async fn person(k: &Kernel, secret: &str, lifetime_ms: i64) -> Result<Option<Id>> {
    let now = k.now();
    let row: Option<(Id, i64)> = on_db!(&k.db, |p| sqlx::query_as(
        "SELECT s.person_id, s.expires_at FROM sessions s JOIN people pe ON pe.id = s.person_id \
         WHERE s.id_hash = $1 AND s.expires_at > $2 AND pe.deleted_at IS NULL"
    )
    .bind(token_hash(secret))
    .bind(now)
    .fetch_optional(p)
    .await)?;
    let Some((person, expires)) = row else { return Ok(None) };
    if expires - now < lifetime_ms / 2 {
        on_db!(&k.db, |p| sqlx::query(
            "UPDATE sessions SET expires_at = $2 WHERE id_hash = $1"
        )
        .bind(token_hash(secret))
        .bind(now + lifetime_ms)
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(Some(person))
}

pub async fn end(db: &Db, secret: &str) -> Result<()> {
    on_db!(db, |p| sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(token_hash(secret))
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// End every session of a person (password change, account deletion), inside the caller's
/// transaction.
pub async fn end_all_in(tx: &mut Tx, person_id: &str) -> Result<()> {
    on_tx!(tx, |t| sqlx::query("DELETE FROM sessions WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}
