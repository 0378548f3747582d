//! Consent records: granted and withdrawn, never deleted.

use crate::model::consent::{Consent, ConsentInput};
use crate::store::{Db, Tx};
use crate::{Error, Kernel, Result, on_db, on_tx};

const COLUMNS: &str = "id, person_id, purpose, scope, granted_at, withdrawn_at, granted_by, by_guardian";

/// Record consent for `person_id`, given by `granted_by` (the person, or a guardian).
pub async fn grant(k: &Kernel, person_id: &str, granted_by: &str, input: ConsentInput) -> Result<Consent> {
    let mut tx = k.db.begin().await?;
    let c = grant_in(&mut tx, k, person_id, granted_by, input).await?;
    tx.commit().await?;
    Ok(c)
}

/// `grant` inside the caller's transaction (with the audit entry that records it, say).
pub async fn grant_in(
    tx: &mut Tx,
    k: &Kernel,
    person_id: &str,
    granted_by: &str,
    input: ConsentInput,
) -> Result<Consent> {
    let (purpose, scope) = (input.purpose.trim().to_string(), input.scope.trim().to_string());
    if purpose.is_empty() || scope.is_empty() {
        return Err(Error::invalid("consent-invalid"));
    }
    let c = Consent {
        id: k.new_id(),
        person_id: person_id.to_string(),
        purpose,
        scope,
        granted_at: k.now(),
        withdrawn_at: None,
        granted_by: granted_by.to_string(),
        by_guardian: person_id != granted_by,
    };
    let sql = format!("INSERT INTO consents ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)");
    on_tx!(tx, |t| sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(&c.id)
        .bind(&c.person_id)
        .bind(&c.purpose)
        .bind(&c.scope)
        .bind(c.granted_at)
        .bind(c.withdrawn_at)
        .bind(&c.granted_by)
        .bind(c.by_guardian)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(c)
}

pub async fn of_person(db: &Db, person_id: &str) -> Result<Vec<Consent>> {
    let sql = format!("SELECT {COLUMNS} FROM consents WHERE person_id = $1 ORDER BY granted_at, id");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Consent>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(person_id)
    .fetch_all(p)
    .await)?)
}

/// Withdraw; withdrawing twice keeps the first time.
pub async fn withdraw(k: &Kernel, person_id: &str, consent_id: &str) -> Result<Consent> {
    let mut tx = k.db.begin().await?;
    let c = withdraw_in(&mut tx, k, person_id, consent_id).await?;
    tx.commit().await?;
    Ok(c)
}

pub async fn withdraw_in(tx: &mut Tx, k: &Kernel, person_id: &str, consent_id: &str) -> Result<Consent> {
    let now = k.now();
    let n = on_tx!(tx, |t| sqlx::query(
        "UPDATE consents SET withdrawn_at = COALESCE(withdrawn_at, $3) WHERE id = $1 AND person_id = $2"
    )
    .bind(consent_id)
    .bind(person_id)
    .bind(now)
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::not_found("consent-not-found"));
    }
    let sql = format!("SELECT {COLUMNS} FROM consents WHERE id = $1");
    Ok(on_tx!(tx, |t| sqlx::query_as::<_, Consent>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(consent_id)
    .fetch_one(&mut **t)
    .await)?)
}
