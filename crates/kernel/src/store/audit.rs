//! The audit log on disk. Appends are serialised through the one-row `audit_head` table
//! (a row lock on PostgreSQL, the write lock on SQLite), so the chain never forks.

use crate::model::audit::{AuditEntry, AuditRecord, BrokenLink, ChainVerifier, entry_hash};
use crate::store::{Db, Tx};
use crate::{Kernel, Result, on_db, on_tx};

const COLUMNS: &str = "seq, at, actor_id, action, subject_id, resource, reason, prev_hash, hash";

/// An entry in a transaction of its own. Code that changes data appends with `append_in` in the
/// change's transaction instead (`server`'s tests check it); reads use `service::record_alone`.
pub async fn append(k: &Kernel, rec: AuditRecord) -> Result<AuditEntry> {
    let mut entries = append_many(k, vec![rec]).await?;
    entries
        .pop()
        .ok_or_else(|| crate::Error::Internal("no audit entry written".into()))
}

/// Append several entries in one transaction (a list of people read at once: one entry per
/// person, so each sees the read in their own log).
pub async fn append_many(k: &Kernel, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = k.db.begin().await?;
    let entries = append_in(&mut tx, k.now(), records).await?;
    tx.commit().await?;
    Ok(entries)
}

/// Append entries inside the caller's transaction, so the change they record and the record
/// itself commit together: a crash between the two can no longer lose the entry. Takes the
/// chain's head row lock until the caller commits, so keep such transactions short.
pub async fn append_in(tx: &mut Tx, at: i64, records: Vec<AuditRecord>) -> Result<Vec<AuditEntry>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let entries = on_tx!(tx, |tx| {
        let (last_seq, mut prev_hash): (i64, String) =
            sqlx::query_as("UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash")
                .bind(records.len() as i64)
                .fetch_one(&mut **tx)
                .await?;
        let first = last_seq - records.len() as i64 + 1;
        let sql = format!("INSERT INTO audit_log ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)");
        let mut written = Vec::with_capacity(records.len());
        for (i, rec) in records.into_iter().enumerate() {
            let seq = first + i as i64;
            let hash = entry_hash(seq, at, &rec, &prev_hash);
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(seq)
                .bind(at)
                .bind(&rec.actor_id)
                .bind(&rec.action)
                .bind(&rec.subject_id)
                .bind(&rec.resource)
                .bind(&rec.reason)
                .bind(&prev_hash)
                .bind(&hash)
                .execute(&mut **tx)
                .await?;
            let entry = AuditEntry {
                seq,
                at,
                actor_id: rec.actor_id,
                action: rec.action,
                subject_id: rec.subject_id,
                resource: rec.resource,
                reason: rec.reason,
                prev_hash: std::mem::replace(&mut prev_hash, hash.clone()),
                hash,
            };
            written.push(entry);
        }
        sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
            .bind(&prev_hash)
            .execute(&mut **tx)
            .await?;
        written
    });
    Ok(entries)
}

/// Entries about one person (their "who read my data" log), newest first.
pub async fn about_person(db: &Db, person_id: &str, limit: i64) -> Result<Vec<AuditEntry>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE subject_id = $1 ORDER BY seq DESC LIMIT $2");
    Ok(on_db!(db, |p| sqlx::query_as::<_, AuditEntry>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(person_id)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// A page of the log in order, starting after `after_seq`.
pub async fn page(db: &Db, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>> {
    let sql = format!("SELECT {COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    Ok(on_db!(db, |p| sqlx::query_as::<_, AuditEntry>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(after_seq)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Walk the whole chain page by page, up to the head as it was when the walk began (later
/// appends are not mistaken for gaps). `Ok(n)`: n entries verified. `Err`: the first break.
pub async fn verify(db: &Db) -> Result<std::result::Result<u64, BrokenLink>> {
    let (head_seq, head_hash): (i64, String) =
        on_db!(db, |p| sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(p)
            .await)?;
    let mut v = ChainVerifier::default();
    let mut after = 0;
    let mut last_hash = crate::model::audit::GENESIS.to_string();
    while after < head_seq {
        let entries = page(db, after, 5000.min(head_seq - after)).await?;
        let Some(last) = entries.last() else { break };
        after = last.seq;
        for e in &entries {
            if let Err(broken) = v.check(e) {
                return Ok(Err(broken));
            }
            last_hash = e.hash.clone();
        }
    }
    // Rows removed from the end leave the head pointing past the last entry.
    if head_seq != v.checked as i64 {
        return Ok(Err(BrokenLink::Gap {
            expected_seq: v.checked as i64 + 1,
            found_seq: head_seq,
        }));
    }
    if head_hash != last_hash {
        return Ok(Err(BrokenLink::Altered { seq: head_seq }));
    }
    Ok(Ok(v.checked))
}

/// An audit entry with the actor's display name, for the person's "who read my data" page.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct NamedEntry {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub resource: String,
    pub reason: Option<String>,
}

pub async fn about_person_named(db: &Db, person_id: &str, limit: i64) -> Result<Vec<NamedEntry>> {
    Ok(on_db!(db, |p| {
        sqlx::query_as::<_, NamedEntry>(
        "SELECT a.seq, a.at, a.actor_id, pe.display_name AS actor_name, a.action, a.resource, a.reason FROM audit_log a \
         LEFT JOIN people pe ON pe.id = a.actor_id WHERE a.subject_id = $1 ORDER BY a.seq DESC LIMIT $2"
    )
    .bind(person_id)
    .bind(limit)
    .fetch_all(p)
    .await
    })?)
}
