//! Login rate limit: after 5 failures within 5 minutes for an account or a client address,
//! further attempts are refused until the oldest failure leaves the window.
//!
//! The failures live in the database (`login_failures`), so every node sharing it counts the
//! same attempts: a guesser behind a load balancer gets 5 tries in all, not 5 per node. There
//! is no per-node memory in front of it — a node cannot know what the others counted, and the
//! database is the truth.
//!
//! The rule itself (refuse every attempt on a locked account, the owner's included) is kept as
//! it was. Issue 22 will make the lock hit the guesser rather than the owner: that belongs in
//! [`attempt`], where the keys are counted — e.g. an account key that only refuses addresses
//! which have not logged in to that account before.

use crate::store::Db;
use crate::{Result, in_tx};

pub const MAX_FAILURES: usize = 5;
pub const WINDOW_MS: i64 = 5 * 60 * 1000;

/// Advisory-lock class of the login keys on PostgreSQL (the two-integer lock space, apart from
/// the migration lock's single bigint).
const PG_LOCK_CLASS: i32 = 0x6c6f_6769; // "logi"

/// Seconds to wait for a key with `count` failures in the window, the oldest at `oldest`.
fn wait_for(count: i64, oldest: Option<i64>, now: i64) -> i64 {
    match oldest {
        Some(oldest) if count >= MAX_FAILURES as i64 => ((oldest + WINDOW_MS - now) + 999) / 1000,
        _ => 0,
    }
}

/// Check and count an attempt in one transaction, so parallel requests — on this node or any
/// other — cannot all slip through before any of them fails: on SQLite `BEGIN IMMEDIATE` takes
/// the database's write lock before counting; on PostgreSQL a transaction-scoped advisory lock
/// per key (taken in a fixed order) makes the count and the insert one step.
/// `Err(seconds)` to wait if any of `keys` is over the limit at `now`; otherwise the attempt
/// is counted as a failure until [`succeeded`] takes it back.
pub async fn attempt(db: &Db, keys: &[String], now: i64) -> Result<std::result::Result<(), i64>> {
    let mut sorted: Vec<&String> = keys.iter().collect();
    sorted.sort();
    sorted.dedup();
    let wait = in_tx!(db, |tx| {
        if matches!(db, Db::Postgres(_)) {
            for k in &sorted {
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                    .bind(PG_LOCK_CLASS)
                    .bind(k.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        // Prune as it goes: failures that left the window count for nobody.
        sqlx::query("DELETE FROM login_failures WHERE at <= $1")
            .bind(now - WINDOW_MS)
            .execute(&mut *tx)
            .await?;
        let mut wait = 0;
        for k in &sorted {
            let (count, oldest): (i64, Option<i64>) =
                sqlx::query_as("SELECT count(*), min(at) FROM login_failures WHERE key = $1")
                    .bind(k.as_str())
                    .fetch_one(&mut *tx)
                    .await?;
            wait = wait.max(wait_for(count, oldest, now));
        }
        if wait == 0 {
            for k in &sorted {
                sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                    .bind(k.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        wait
    });
    Ok(if wait > 0 { Err(wait.max(1)) } else { Ok(()) })
}

/// The attempt counted by [`attempt`] at `now` succeeded: it is not a failure.
pub async fn succeeded(db: &Db, keys: &[String], now: i64) -> Result<()> {
    in_tx!(db, |tx| {
        for k in keys {
            sqlx::query(
                "DELETE FROM login_failures WHERE id = \
                 (SELECT id FROM login_failures WHERE key = $1 AND at = $2 ORDER BY id DESC LIMIT 1)",
            )
            .bind(k.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn fresh_db() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&dir.path().join("t.db").to_string_lossy()).await.unwrap();
        crate::store::migrate::run(&db, &[("kernel", crate::store::migrate::KERNEL)])
            .await
            .unwrap();
        (db, dir)
    }

    #[tokio::test]
    async fn five_failures_lock_for_the_rest_of_the_window() {
        let (db, _dir) = fresh_db().await;
        let keys = vec!["acct:tanaka".to_string()];
        for i in 0..5 {
            assert_eq!(attempt(&db, &keys, 1000 + i).await.unwrap(), Ok(()));
        }
        assert_eq!(
            attempt(&db, &keys, 2000).await.unwrap(),
            Err(299),
            "seconds until the oldest failure leaves the window"
        );
        assert_eq!(attempt(&db, &["ip:1.2.3.4".to_string()], 2000).await.unwrap(), Ok(()));
        assert_eq!(attempt(&db, &keys, 2000 + WINDOW_MS).await.unwrap(), Ok(()));
        // Every failure that left the window was pruned (the address's too): only the new one is left.
        let (n,): (i64,) = sqlx::query_as("SELECT count(*) FROM login_failures")
            .fetch_one(match &db {
                Db::Sqlite(p) => p,
                Db::Postgres(_) => unreachable!(),
            })
            .await
            .unwrap();
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn attempts_count_until_they_succeed() {
        let (db, _dir) = fresh_db().await;
        let keys = vec!["acct:sato".to_string(), "ip:10.0.0.1".to_string()];
        // Five parallel attempts are all counted before any finishes; the sixth waits.
        let mut tries = tokio::task::JoinSet::new();
        for i in 0..5 {
            let (db, keys) = (db.clone(), keys.clone());
            tries.spawn(async move { attempt(&db, &keys, 100 + i).await.unwrap() });
        }
        for r in tries.join_all().await {
            assert_eq!(r, Ok(()));
        }
        assert!(attempt(&db, &keys, 200).await.unwrap().is_err());
        // A success takes its own attempt back.
        let (db, _dir) = fresh_db().await;
        for i in 0..10 {
            assert_eq!(attempt(&db, &keys, 100 + i).await.unwrap(), Ok(()));
            succeeded(&db, &keys, 100 + i).await.unwrap();
        }
    }
}
