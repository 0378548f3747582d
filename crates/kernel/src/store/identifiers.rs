//! Linked identifiers: unique per kind, looked up to find the person.

use crate::model::identifier::{IdentifierInput, LinkedIdentifier};
use crate::store::{Db, Tx};
use crate::{Error, Kernel, Result, on_db, on_tx};

pub async fn link(k: &Kernel, person_id: &str, input: IdentifierInput) -> Result<LinkedIdentifier> {
    let mut tx = k.db.begin().await?;
    let li = link_in(&mut tx, k, person_id, input).await?;
    tx.commit().await?;
    Ok(li)
}

/// `link` inside the caller's transaction (with the audit entry that records it, say).
pub async fn link_in(tx: &mut Tx, k: &Kernel, person_id: &str, input: IdentifierInput) -> Result<LinkedIdentifier> {
    let input = input.validate().ok_or_else(|| Error::invalid("identifier-invalid"))?;
    crate::store::people::require_active_in(tx, person_id).await?;
    let li = LinkedIdentifier {
        kind: input.kind,
        value: input.value,
        person_id: person_id.to_string(),
        created_at: k.now(),
    };
    let r = on_tx!(tx, |t| sqlx::query(
        "INSERT INTO linked_identifiers (kind, value, person_id, created_at) VALUES ($1,$2,$3,$4)"
    )
    .bind(&li.kind)
    .bind(&li.value)
    .bind(&li.person_id)
    .bind(li.created_at)
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()));
    match r {
        Ok(_) => Ok(li),
        Err(e) if Error::is_unique_violation(&e) => {
            Err(Error::conflict("identifier-taken", vec![("kind", li.kind.clone())]))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn unlink_in(tx: &mut Tx, person_id: &str, kind: &str, value: &str) -> Result<bool> {
    let n = on_tx!(tx, |t| sqlx::query(
        "DELETE FROM linked_identifiers WHERE person_id = $1 AND kind = $2 AND value = $3"
    )
    .bind(person_id)
    .bind(kind)
    .bind(value)
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn of_person(db: &Db, person_id: &str) -> Result<Vec<LinkedIdentifier>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, LinkedIdentifier>(
        "SELECT kind, value, person_id, created_at FROM linked_identifiers WHERE person_id = $1 ORDER BY kind, value"
    )
    .bind(person_id)
    .fetch_all(p)
    .await)?)
}

pub async fn lookup(db: &Db, kind: &str, value: &str) -> Result<Option<LinkedIdentifier>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, LinkedIdentifier>(
        "SELECT kind, value, person_id, created_at FROM linked_identifiers WHERE kind = $1 AND value = $2"
    )
    .bind(kind.trim())
    .bind(value.trim())
    .fetch_optional(p)
    .await)?)
}

/// `lookup` through the caller's transaction.
pub async fn lookup_in(tx: &mut Tx, kind: &str, value: &str) -> Result<Option<LinkedIdentifier>> {
    Ok(on_tx!(tx, |t| sqlx::query_as::<_, LinkedIdentifier>(
        "SELECT kind, value, person_id, created_at FROM linked_identifiers WHERE kind = $1 AND value = $2"
    )
    .bind(kind.trim())
    .bind(value.trim())
    .fetch_optional(&mut **t)
    .await)?)
}
