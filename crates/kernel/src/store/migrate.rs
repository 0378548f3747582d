//! Migrations: each module lists its migrations; every migration has a SQLite and a
//! PostgreSQL file of the same name (the `migration!` macro fails to compile otherwise, and
//! a test checks the folders hold no unlisted file). Applied in order, once, on start.

use crate::store::Db;
use crate::{Result, on_db};

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// `migration!("0001_kernel")` embeds `migrations/sqlite/0001_kernel.sql` and
/// `migrations/postgres/0001_kernel.sql` from the calling crate.
#[macro_export]
macro_rules! migration {
    ($name:literal) => {
        $crate::store::migrate::Migration {
            name: $name,
            sqlite: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/sqlite/",
                $name,
                ".sql"
            )),
            postgres: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/migrations/postgres/",
                $name,
                ".sql"
            )),
        }
    };
}

/// Lock id for PostgreSQL's advisory lock, so two nodes starting together migrate once.
const MIGRATION_LOCK: i64 = 0x006d_6163_6869;

/// Apply every pending migration of every module, each in its own transaction.
pub async fn run(db: &Db, modules: &[(&str, &[Migration])]) -> Result<Vec<String>> {
    let mut applied = Vec::new();
    // The advisory lock belongs to a session: take and release it on one held connection.
    let mut lock_conn = match db {
        Db::Postgres(p) => {
            let mut c = p.acquire().await?;
            sqlx::query("SELECT pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *c)
                .await?;
            Some(c)
        }
        Db::Sqlite(_) => None,
    };
    let result = run_locked(db, modules, &mut applied).await;
    if let Some(c) = lock_conn.as_mut() {
        sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut **c)
            .await?;
    }
    result.map(|_| applied)
}

async fn run_locked(db: &Db, modules: &[(&str, &[Migration])], applied: &mut Vec<String>) -> Result<()> {
    on_db!(db, |p| sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS machi_migrations (module TEXT NOT NULL, name TEXT NOT NULL, \
         applied_at BIGINT NOT NULL, PRIMARY KEY (module, name))"
    )
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    for (module, migrations) in modules {
        for m in *migrations {
            let done: Option<i64> = on_db!(db, |p| sqlx::query_scalar(
                "SELECT applied_at FROM machi_migrations WHERE module = $1 AND name = $2"
            )
            .bind(*module)
            .bind(m.name)
            .fetch_optional(p)
            .await)?;
            if done.is_some() {
                continue;
            }
            let now = crate::Clock::now_ms(&crate::SystemClock);
            let insert = "INSERT INTO machi_migrations (module, name, applied_at) VALUES ($1, $2, $3)";
            match db {
                Db::Sqlite(p) => {
                    let mut tx = p.begin_with("BEGIN IMMEDIATE").await?;
                    sqlx::raw_sql(m.sqlite).execute(&mut *tx).await?;
                    sqlx::query(insert)
                        .bind(*module)
                        .bind(m.name)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
                Db::Postgres(p) => {
                    let mut tx = p.begin().await?;
                    sqlx::raw_sql(m.postgres).execute(&mut *tx).await?;
                    sqlx::query(insert)
                        .bind(*module)
                        .bind(m.name)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                }
            }
            applied.push(format!("{module}/{}", m.name));
        }
    }
    Ok(())
}

pub static KERNEL: &[Migration] = &[
    crate::migration!("0001_kernel"),
    crate::migration!("0002_web"),
    crate::migration!("0003_outbox"),
    crate::migration!("0004_memberships_role"),
    crate::migration!("0005_household_join_code"),
    crate::migration!("0006_login_failures"),
    crate::migration!("0007_token_generation"),
];

/// Check that a crate's migration folders hold the same names and that each is listed.
pub fn parity_problems(dir: &std::path::Path, listed: &[Migration]) -> Vec<String> {
    let names = |backend: &str| -> std::collections::BTreeSet<String> {
        std::fs::read_dir(dir.join(backend))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| {
                        e.file_name()
                            .to_str()
                            .and_then(|n| n.strip_suffix(".sql"))
                            .map(str::to_string)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    let mut problems = Vec::new();
    for n in sqlite.difference(&postgres) {
        problems.push(format!("{n} exists for sqlite but not postgres"));
    }
    for n in postgres.difference(&sqlite) {
        problems.push(format!("{n} exists for postgres but not sqlite"));
    }
    for n in sqlite.union(&postgres) {
        if !listed.iter().any(|m| m.name == n) {
            problems.push(format!("{n} is in the folder but not listed"));
        }
    }
    problems
}
