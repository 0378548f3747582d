//! The writer through the pool (PostgreSQL, SQLite in memory): each batch resolved, written
//! and applied in one transaction.

use super::*;

pub(super) async fn resolve(db: &Db, by_token: &[&str]) -> Result<Vec<Resolved>> {
    let mut out = Vec::new();
    for chunk in by_token.chunks(256) {
        let sql = resolve_sql(&padded_in_list(1, chunk.len()), false);
        let rows: Vec<Resolved> = on_db!(db, |p| {
            let mut q = sqlx::query_as::<_, Resolved>(sqlx::AssertSqlSafe(sql.as_str()));
            for i in 0..padded_len(chunk.len()) {
                q = q.bind(chunk[i.min(chunk.len() - 1)]);
            }
            q.fetch_all(p).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// People among `ids` with a consented, open circle.
pub(super) async fn watched_people(db: &Db, ids: &[&str]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(256) {
        let sql = watched_sql(&padded_in_list(1, chunk.len()));
        let rows: Vec<String> = on_db!(db, |p| {
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str()));
            for i in 0..padded_len(chunk.len()) {
                q = q.bind(chunk[i.min(chunk.len() - 1)]);
            }
            q.fetch_all(p).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// Write a batch of signals in one transaction (through the pool); one result per signal, in order.
pub async fn ingest(k: &Kernel, signals: &[Incoming]) -> Result<Vec<Ingested>> {
    let (by_token, people) = keys(signals);
    let devices = resolve(&k.db, &by_token).await?;
    let watched: Vec<String> = if people.is_empty() {
        Vec::new()
    } else {
        watched_people(&k.db, &people).await?
    };
    let plan = plan(signals, &devices, &watched);
    if plan.rows.is_empty() {
        return Ok(plan.results);
    }
    let now = k.now();
    let projection = project(&plan.rows);
    in_tx!(&k.db, |tx| {
        for chunk in plan.rows.chunks(256) {
            let sql = format!("{INSERT_SIGNAL}{}", values_placeholders(chunk.len(), 6));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(r.person_id)
                    .bind(r.device_id)
                    .bind(r.source)
                    .bind(r.value)
                    .bind(r.at)
                    .bind(now);
            }
            q.execute(&mut *tx).await?;
        }
        for chunk in projection.state.chunks(256) {
            let sql = format!(
                "INSERT INTO watch_state (person_id, last_signal_at, last_checkin_at, last_use_at) VALUES {} {UPSERT_STATE}",
                values_placeholders(chunk.len(), 4)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (person, (last, checkin, used)) in chunk {
                q = q.bind(*person).bind(*last).bind(*checkin).bind(*used);
            }
            q.execute(&mut *tx).await?;
        }
        // All devices of a chunk in one statement (SQLite ≥ 3.33 and PostgreSQL know UPDATE … FROM).
        for chunk in projection.devices.chunks(256) {
            let sql = update_device(
                VALUES_COLUMNS,
                &format!("FROM (VALUES {}) AS v", values_placeholders(chunk.len(), 6)),
                None,
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (device, _, c) in chunk {
                q = q
                    .bind(*device)
                    .bind(c.value)
                    .bind(c.at)
                    .bind(c.switch)
                    .bind(i64::from(c.off_in_batch))
                    .bind(c.on_from);
            }
            q.execute(&mut *tx).await?;
        }
    });
    Ok(plan.results)
}
