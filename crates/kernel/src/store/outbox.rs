//! The durable outbox on disk: enqueue (idempotent by dedupe key), claim due rows with a lease
//! (a crashed sender's rows come back when the lease ends), and record the outcome.

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::outbox::{AfterFailure, after_failure};
use crate::store::{Db, Tx, values_placeholders};
use crate::{Kernel, Result, in_tx, on_db, on_tx};

/// A delivery to make.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub channel: String,
    pub source: String,
    pub person_id: Option<String>,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub dedupe_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Delivery {
    pub id: String,
    pub channel: String,
    pub source: String,
    pub person_id: Option<String>,
    pub address: String,
    pub subject: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

const ROWS: usize = 64;

/// Queue deliveries in one transaction; ones already queued (same dedupe key) are skipped.
pub async fn enqueue(k: &Kernel, deliveries: &[NewDelivery]) -> Result<u64> {
    let mut tx = k.db.begin().await?;
    let added = enqueue_in(&mut tx, k, deliveries).await?;
    tx.commit().await?;
    Ok(added)
}

/// Queue deliveries inside the caller's transaction, so that the change that calls for them
/// (an escalation marked done, say) and the mail commit together or not at all.
pub async fn enqueue_in(tx: &mut Tx, k: &Kernel, deliveries: &[NewDelivery]) -> Result<u64> {
    let now = k.now();
    let ids: Vec<String> = deliveries.iter().map(|_| k.new_id()).collect();
    let mut added = 0;
    on_tx!(tx, |tx| {
        for (chunk, chunk_ids) in deliveries.chunks(ROWS).zip(ids.chunks(ROWS)) {
            let sql = format!(
                "INSERT INTO outbox (id, channel, source, person_id, address, subject, body, dedupe_key, state, attempts, \
                 next_attempt_at, created_at) VALUES {} ON CONFLICT (dedupe_key) DO NOTHING",
                values_placeholders(chunk.len(), 12)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (d, id) in chunk.iter().zip(chunk_ids) {
                q = q
                    .bind(id)
                    .bind(&d.channel)
                    .bind(&d.source)
                    .bind(&d.person_id)
                    .bind(&d.address)
                    .bind(&d.subject)
                    .bind(&d.body)
                    .bind(&d.dedupe_key)
                    .bind("queued")
                    .bind(0i64)
                    .bind(now)
                    .bind(now);
            }
            added += q.execute(&mut **tx).await?.rows_affected();
        }
    });
    Ok(added)
}

/// Claim up to `limit` due deliveries of `channel` for `lease_ms`. Rows whose lease ran out
/// (their sender died) are due again. The state test is repeated in the outer WHERE so that
/// on PostgreSQL a second node re-checks the row after waiting for the first and skips it.
pub async fn claim(k: &Kernel, channel: &str, limit: i64, lease_ms: i64) -> Result<Vec<Delivery>> {
    let now = k.now();
    let due = "(state = 'queued' AND next_attempt_at <= $2) OR (state = 'sending' AND claimed_until < $2)";
    let sql = format!(
        "UPDATE outbox SET state = 'sending', claimed_until = $3, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM outbox WHERE channel = $1 AND ({due}) ORDER BY next_attempt_at, id LIMIT $4) \
         AND ({due}) \
         RETURNING id, channel, source, person_id, address, subject, body, state, attempts, last_error"
    );
    let rows = in_tx!(&k.db, |tx| {
        sqlx::query_as::<_, Delivery>(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(channel)
            .bind(now)
            .bind(now + lease_ms)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?
    });
    Ok(rows)
}

/// After a restart: with SQLite only one process serves the database, so deliveries it had
/// claimed when it died are nobody's now and go back in the queue at once. (With PostgreSQL
/// other nodes may be sending; their leases decide.)
pub async fn requeue_after_restart(k: &Kernel, channel: &str) -> Result<u64> {
    match &k.db {
        Db::Sqlite(p) => Ok(sqlx::query(
            "UPDATE outbox SET state = 'queued', claimed_until = NULL WHERE channel = $1 AND state = 'sending'",
        )
        .bind(channel)
        .execute(p)
        .await?
        .rows_affected()),
        Db::Postgres(_) => Ok(0),
    }
}

pub async fn mark_sent(k: &Kernel, id: &str) -> Result<()> {
    on_db!(&k.db, |p| sqlx::query(
        "UPDATE outbox SET state = 'sent', sent_at = $2, claimed_until = NULL, last_error = NULL WHERE id = $1"
    )
    .bind(id)
    .bind(k.now())
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Record a failed attempt: retry later with backoff, or give up (permanent failure or too many tries).
pub async fn mark_failed(k: &Kernel, d: &Delivery, error: &str, permanent: bool) -> Result<()> {
    let now = k.now();
    let (state, next) = match after_failure(d.attempts, permanent, now) {
        AfterFailure::RetryAt(at) => ("queued", at),
        AfterFailure::GiveUp => ("failed", now),
    };
    on_db!(&k.db, |p| sqlx::query(
        "UPDATE outbox SET state = $2, next_attempt_at = $3, claimed_until = NULL, last_error = $4 WHERE id = $1"
    )
    .bind(&d.id)
    .bind(state)
    .bind(next)
    .bind(error)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Delivery counts for a source, by channel and state.
pub async fn counts(db: &Db, source: &str) -> Result<Vec<(String, String, i64)>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String, i64)>(
        "SELECT channel, state, COUNT(*) FROM outbox WHERE source = $1 GROUP BY channel, state ORDER BY channel, state"
    )
    .bind(source)
    .fetch_all(p)
    .await)?)
}

/// Failed deliveries of a source, with their reasons.
pub async fn failures(db: &Db, source: &str, limit: i64) -> Result<Vec<Delivery>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Delivery>(
        "SELECT id, channel, source, person_id, address, subject, body, state, attempts, last_error FROM outbox \
         WHERE source = $1 AND (state = 'failed' OR last_error IS NOT NULL) ORDER BY id LIMIT $2"
    )
    .bind(source)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Notices to people on their ordinary channels: their screens (the `web` channel: an SSE
/// notice to them alone, and listed on their pages) always, e-mail when they gave an address.
/// `dedupe` makes a retry (or a second node) send nothing twice. Each person gets the notice
/// in their own language (the one they chose; Japanese when none).
pub async fn notify_people(
    k: &Kernel,
    source: &str,
    people: &[String],
    notice: &crate::notice::Notice,
    dedupe: &str,
) -> Result<()> {
    let mut out = Vec::new();
    for person in people {
        let Some(p) = crate::store::people::get(&k.db, person).await? else {
            continue;
        };
        let (subject, body) = notice.render(crate::i18n::Lang::from_tag(p.language.as_deref()));
        let (subject, body) = (subject.as_str(), body.as_str());
        out.push(NewDelivery {
            channel: "web".into(),
            source: source.into(),
            person_id: Some(person.clone()),
            address: person.clone(),
            subject: subject.to_string(),
            body: body.to_string(),
            dedupe_key: format!("{dedupe}:web:{person}"),
        });
        if let Some(email) = p.email {
            out.push(NewDelivery {
                channel: "email".into(),
                source: source.into(),
                person_id: Some(person.clone()),
                address: email,
                subject: subject.to_string(),
                body: body.to_string(),
                dedupe_key: format!("{dedupe}:email:{person}"),
            });
        }
    }
    enqueue(k, &out).await?;
    Ok(())
}
