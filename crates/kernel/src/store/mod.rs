//! Storage plumbing: one enum of pools chosen at start-up, SQL in the dialect SQLite and
//! PostgreSQL share (`$N` placeholders, `RETURNING`, `ON CONFLICT`), DDL per backend.

pub mod accounts;
pub mod areas;
pub mod audit;
pub mod batch;
pub mod consents;
pub mod demo;
pub mod households;
pub mod identifiers;
pub mod migrate;
pub mod orgs;
pub mod outbox;
pub mod people;
pub mod residence;
pub mod sessions;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
pub use sqlx::sqlite::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Error, Result};

/// How often the WAL is copied back into a SQLite database (`checkpoints`).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Run the same body against whichever pool this is; the body is compiled once per backend.
#[macro_export]
macro_rules! on_db {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite($pool) => $body,
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
}

/// Run the body in a write transaction (`BEGIN IMMEDIATE` on SQLite, so a transaction that
/// reads before it writes waits for the lock instead of failing). `?` inside rolls back.
#[macro_export]
macro_rules! in_tx {
    ($db:expr, |$tx:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite(pool) => {
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
            $crate::store::Db::Postgres(pool) => {
                let mut $tx = pool.begin().await?;
                let out = $body;
                $tx.commit().await?;
                out
            }
        }
    };
}

/// One write transaction on either backend, for a use case that writes in several store
/// functions and must keep them together — above all a change and the audit entry that records it
/// (`audit::append_in`): both are committed, or neither. Dropped without `commit`, it rolls back.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }
}

/// Run the same body against whichever transaction this is (given `&mut Tx`); the body is
/// compiled once per backend and passes `&mut **$c` to sqlx as its executor.
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::store::Tx::Sqlite($c) => $body,
            $crate::store::Tx::Postgres($c) => $body,
        }
    };
}

/// Copy the WAL back into the database every `CHECKPOINT_EVERY`, until the pool is closed.
/// SQLite's own (automatic) checkpoint runs inside the commit that fills the WAL past 1,000
/// pages: that commit — a request, the watch sweep opening a thousand escalations — waited for
/// the copy and its fsync (~100 ms measured). PASSIVE: it never waits for readers or writers,
/// and copies what it can; the signal writer keeps its own (`watch::store::signals`).
async fn checkpoints(pool: SqlitePool) {
    let mut every = tokio::time::interval(CHECKPOINT_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    every.tick().await;
    while !pool.is_closed() {
        every.tick().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            if pool.is_closed() {
                break;
            }
            // Busy: another checkpoint is running (the signal writer's); the next tick tries again.
            tracing::debug!(error = %e, "checkpoint skipped");
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages and logs.
pub fn redact_password(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_string()
}

pub fn is_postgres_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

/// Options for connecting; tests use `pg_schema` to give each run a fresh schema.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub pg_schema: Option<String>,
    pub max_connections: Option<u32>,
}

impl Db {
    /// Connect to a SQLite file (created if missing, WAL, foreign keys on) or a PostgreSQL URL.
    pub async fn connect(database: &str) -> Result<Db> {
        Db::connect_with(database, ConnectOptions::default()).await
    }

    /// Begin a write transaction (`BEGIN IMMEDIATE` on SQLite, as `in_tx!`).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Db::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    pub async fn connect_with(database: &str, opts: ConnectOptions) -> Result<Db> {
        let shown = redact_password(database);
        let unreachable = |e: sqlx::Error| Error::Unavailable(format!("cannot open database {shown}: {e}"));
        if is_postgres_url(database) {
            let mut o = PgConnectOptions::from_str(database).map_err(unreachable)?;
            if let Some(schema) = &opts.pg_schema {
                o = o.options([("search_path", schema.as_str())]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections.unwrap_or(16))
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(o)
                .await
                .map_err(unreachable)?;
            Ok(Db::Postgres(pool))
        } else {
            let path = database
                .strip_prefix("sqlite://")
                .or(database.strip_prefix("sqlite:"))
                .unwrap_or(database);
            // synchronous=NORMAL with WAL: a commit survives a process crash (kill -9); only an
            // OS crash or power loss can lose the last transactions. FULL costs an fsync each.
            let o = SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // No checkpoint inside a commit: `checkpoints` copies the WAL back instead.
                .pragma("wal_autocheckpoint", "0");
            // A SQLite connection is a file handle in this process: it cannot go stale, so no
            // ping before each use (that would double the round trips to its worker thread).
            let pool = SqlitePoolOptions::new()
                .test_before_acquire(false)
                .max_connections(opts.max_connections.unwrap_or(8))
                .connect_with(o)
                .await
                .map_err(unreachable)?;
            tokio::spawn(checkpoints(pool.clone()));
            Ok(Db::Sqlite(pool))
        }
    }

    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        on_db!(self, |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    pub async fn close(&self) {
        on_db!(self, |p| p.close().await)
    }
}

/// Write a consistent copy of a SQLite database to `file` (online: others keep working).
pub async fn vacuum_into(pool: &SqlitePool, file: &str) -> Result<()> {
    sqlx::query("VACUUM INTO $1").bind(file).execute(pool).await?;
    Ok(())
}

/// The size to pad a variable-length list to (a power of two), so the same few SQL texts
/// come back and prepared statements are reused instead of prepared anew for every length.
pub fn padded_len(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// `$from, $from+1, …` for an `IN (…)` of `n` values, padded to `padded_len(n)` (bind the last
/// value again for the padding).
pub fn padded_in_list(from: usize, n: usize) -> String {
    (0..padded_len(n))
        .map(|i| format!("${}", from + i))
        .collect::<Vec<_>>()
        .join(",")
}

/// `$1, $2, …` groups for a multi-row INSERT of `rows` rows with `cols` columns each.
pub fn values_placeholders(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

#[cfg(test)]
mod tests {
    /// With SQLite's own checkpoint off, the pool's task copies the WAL back: the next big write
    /// starts the WAL over instead of growing it.
    #[tokio::test]
    async fn the_wal_is_copied_back_outside_the_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = super::Db::connect(path.to_str().unwrap()).await.unwrap();
        let super::Db::Sqlite(pool) = &db else { unreachable!() };
        let auto: i64 = sqlx::query_scalar("PRAGMA wal_autocheckpoint")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(auto, 0, "no checkpoint inside a commit");
        sqlx::query("CREATE TABLE t (x BLOB)").execute(pool).await.unwrap();
        // About 1,200 pages each, past the 1,000 at which SQLite would have checkpointed.
        let write = || {
            sqlx::query(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) \
                 INSERT INTO t SELECT randomblob(4000) FROM n",
            )
            .execute(pool)
        };
        let wal_size = || std::fs::metadata(dir.path().join("t.db-wal")).map(|m| m.len()).unwrap();
        write().await.unwrap();
        let first = wal_size();
        assert!(first > 1_000 * 4096, "{first}");
        // Three of the task's ticks.
        tokio::time::sleep(super::CHECKPOINT_EVERY * 3).await;
        write().await.unwrap();
        let second = wal_size();
        assert!(
            second < first + first / 2,
            "the WAL grew from {first} to {second} bytes: not copied back"
        );
        db.close().await;
    }

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            super::redact_password("postgres://u:secret@h:5432/d"),
            "postgres://u:***@h:5432/d"
        );
        assert_eq!(super::redact_password("postgres://u@h/d"), "postgres://u@h/d");
        assert_eq!(super::redact_password("./machi.db"), "./machi.db");
    }

    #[test]
    fn placeholders() {
        assert_eq!(super::values_placeholders(2, 2), "($1,$2),($3,$4)");
    }
}
