//! Helpers for integration tests of any module: a fresh database per test (a temporary SQLite
//! file, or a new schema in the PostgreSQL database named by `MACHI_TEST_DATABASE`), and the
//! whole app served on an ephemeral loopback port.

use std::net::SocketAddr;
use std::sync::Arc;

use kernel::config::Config;
use kernel::{Db, Kernel, TestClock};

/// The environment variable that selects PostgreSQL for a test run.
pub const TEST_DATABASE_ENV: &str = "MACHI_TEST_DATABASE";

pub struct TestDb {
    pub db: Db,
    /// What `--database` would be for this database (the schema is in the URL for PostgreSQL).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh, empty database. Panics with a clear message when PostgreSQL was asked for and
/// cannot be reached: a test run never silently skips a backend.
pub async fn test_db() -> TestDb {
    match std::env::var(TEST_DATABASE_ENV) {
        Ok(url) if kernel::store::is_postgres_url(&url) => {
            let schema = kernel::module::check::fresh_schema(&url)
                .await
                .unwrap_or_else(|e| panic!("{TEST_DATABASE_ENV}={url}: PostgreSQL is not reachable: {e}"));
            let sep = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{sep}options[search_path]={schema}");
            let db = Db::connect(&url).await.expect("connect to the test schema");
            TestDb { db, url, _dir: None }
        }
        _ => {
            let dir = tempfile::tempdir().expect("temporary directory");
            let path = dir.path().join("machi-test.db");
            let url = path.to_string_lossy().to_string();
            let db = Db::connect(&url).await.expect("open SQLite test database");
            TestDb {
                db,
                url,
                _dir: Some(dir),
            }
        }
    }
}

/// A running app on an ephemeral port, with a test clock.
pub struct TestApp {
    pub addr: SocketAddr,
    pub kernel: Kernel,
    pub clock: Arc<TestClock>,
    _db: TestDb,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// 2026-11-23T09:00:00+09:00, the tests' "now".
pub const TEST_START_MS: i64 = 1_795_392_000_000;

pub async fn spawn_app_with(config: Config, demo: bool) -> TestApp {
    spawn_app_of(config, demo, crate::modules).await
}

/// The app of these modules (a test adding a module of its own to [`crate::modules`]); its pages
/// show these modules' navigation only, whatever other apps the process runs.
pub async fn spawn_app_of(config: Config, demo: bool, modules: fn() -> Vec<kernel::Module>) -> TestApp {
    let tdb = test_db().await;
    let mut k = crate::prepare_modules(tdb.db.clone(), config, &modules())
        .await
        .expect("migrate test database");
    let clock = Arc::new(TestClock::new(TEST_START_MS));
    k.clock = clock.clone();
    if demo {
        kernel::store::demo::load(&k, &kernel::demo::generate(kernel::demo::MIN_RESIDENTS), |_, _, _| {})
            .await
            .expect("load demo town");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind ephemeral port");
    let addr = listener.local_addr().expect("local addr");
    let served = k.clone();
    tokio::spawn(async move {
        let _ = crate::serve_with(served, modules(), listener, std::future::pending()).await;
    });
    TestApp {
        addr,
        kernel: k,
        clock,
        _db: tdb,
    }
}

/// A second node serving the same database (its own pool, hub and port), as a city running
/// two `machi serve` processes behind a load balancer would.
pub async fn spawn_peer(app: &TestApp) -> (SocketAddr, Kernel) {
    let db = Db::connect(&app._db.url).await.expect("connect the second node");
    let mut k = crate::prepare_with(db, (*app.kernel.config).clone())
        .await
        .expect("second node");
    k.clock = app.clock.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind ephemeral port");
    let addr = listener.local_addr().expect("local addr");
    let served = k.clone();
    tokio::spawn(async move {
        let _ = crate::serve(served, listener, std::future::pending()).await;
    });
    (addr, k)
}

/// The app with the demo town loaded.
pub async fn spawn_demo_app() -> TestApp {
    spawn_app_with(Config::default(), true).await
}

/// A local SMTP server for tests: accepts every message (or refuses recipients whose address
/// contains `reject`) and keeps what it received. `delay` slows each DATA reply.
pub struct SmtpSink {
    pub addr: SocketAddr,
    pub messages: Arc<std::sync::Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start(delay: std::time::Duration) -> SmtpSink {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind SMTP sink");
        let addr = listener.local_addr().unwrap();
        let messages: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let store = messages.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let store = store.clone();
                tokio::spawn(async move {
                    let (r, mut w) = socket.into_split();
                    let mut lines = BufReader::new(r).lines();
                    if w.write_all(b"220 sink ESMTP\r\n").await.is_err() {
                        return;
                    }
                    while let Ok(Some(line)) = lines.next_line().await {
                        let upper = line.to_ascii_uppercase();
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
                        } else if upper.starts_with("RCPT") && upper.contains("REJECT") {
                            b"550 5.1.1 no such mailbox\r\n"
                        } else if upper.starts_with("DATA") {
                            if w.write_all(b"354 go ahead\r\n").await.is_err() {
                                return;
                            }
                            let mut message = String::new();
                            while let Ok(Some(l)) = lines.next_line().await {
                                if l == "." {
                                    break;
                                }
                                message.push_str(&l);
                                message.push('\n');
                            }
                            tokio::time::sleep(delay).await;
                            store.lock().unwrap().push(message);
                            b"250 2.0.0 queued\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = w.write_all(b"221 bye\r\n").await;
                            return;
                        } else {
                            b"250 ok\r\n"
                        };
                        if w.write_all(reply).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SmtpSink { addr, messages }
    }

    pub fn count(&self) -> usize {
        self.messages.lock().unwrap().len()
    }

    /// Message-IDs of everything received.
    pub fn message_ids(&self) -> Vec<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter_map(|m| {
                m.lines()
                    .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))
                    .map(|l| l[11..].trim().to_string())
            })
            .collect()
    }

    pub fn config(&self) -> kernel::config::SmtpConfig {
        kernel::config::SmtpConfig {
            host: self.addr.ip().to_string(),
            port: self.addr.port(),
            from: "みどり市 <alerts@city.midori.example.jp>".into(),
            username: None,
            password: None,
            connections: 4,
        }
    }
}

impl TestApp {
    /// The person behind a demo login.
    pub async fn person_of(&self, login: &str) -> String {
        kernel::store::accounts::person_by_login(&self.kernel.db, login)
            .await
            .expect("look up login")
            .unwrap_or_else(|| panic!("no login {login}"))
    }

    /// A fresh API token for a demo login.
    pub async fn token_for(&self, login: &str) -> String {
        let person = self.person_of(login).await;
        kernel::store::accounts::create_token(&self.kernel, &person, "test")
            .await
            .expect("create token")
            .1
    }
}

impl TestApp {
    /// One number from the database (`SELECT COUNT(*) …`), on either backend: tests snapshot the
    /// rows a refused write would have touched and check that they did not move.
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sql.to_string();
        let n: Result<i64, sqlx::Error> = kernel::on_db!(&self.kernel.db, |p| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())).fetch_one(p).await
        });
        n.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// Every row of every table (as text), to check that a refused request wrote nothing.
/// Left out: the audit trail (reads and refusals are audited on purpose) and sessions (they
/// record when they were last used).
#[derive(PartialEq, Eq)]
pub struct DbSnapshot(pub std::collections::BTreeMap<String, Vec<String>>);

impl std::fmt::Debug for DbSnapshot {
    /// Table, row count and a hash of the rows: short enough to read in a failed assertion.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::hash::{Hash, Hasher};
        let mut m = f.debug_map();
        for (table, rows) in &self.0 {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            rows.hash(&mut h);
            m.entry(table, &format!("{} rows #{:016x}", rows.len(), h.finish()));
        }
        m.finish()
    }
}

/// Tables a snapshot leaves out.
/// (`login_failures` is the login limiter's bookkeeping: a refused login counts there.)
const NOT_SNAPSHOT: &[&str] = &[
    "audit_log",
    "audit_head",
    "sessions",
    "login_failures",
    "_sqlx_migrations",
];

/// Tables with bookkeeping that moves on its own while a test runs: only the columns a request
/// writes are compared (the outbox's sender moves `state`, `attempts`, …; using a token records
/// when it was last used, as sessions do).
const REQUEST_COLUMNS: &[(&str, &[&str])] = &[
    (
        "api_tokens",
        &[
            "id",
            "person_id",
            "name",
            "hint",
            "token_hash",
            "created_at",
            "revoked_at",
        ],
    ),
    (
        "outbox",
        &[
            "id",
            "channel",
            "source",
            "person_id",
            "address",
            "subject",
            "body",
            "dedupe_key",
            "created_at",
        ],
    ),
];

fn request_columns(table: &str) -> Option<&'static [&'static str]> {
    REQUEST_COLUMNS.iter().find(|(t, _)| *t == table).map(|(_, c)| *c)
}

impl TestApp {
    /// Every row of every table, as text, sorted (see [`DbSnapshot`]).
    pub async fn snapshot(&self) -> DbSnapshot {
        let mut out = std::collections::BTreeMap::new();
        match &self.kernel.db {
            Db::Sqlite(p) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
                )
                .fetch_all(p)
                .await
                .expect("list tables");
                for t in tables.into_iter().filter(|t| !NOT_SNAPSHOT.contains(&t.as_str())) {
                    let cols: Vec<String> = match request_columns(&t) {
                        Some(c) => c.iter().map(|c| c.to_string()).collect(),
                        None => sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                            "SELECT name FROM pragma_table_info('{t}')"
                        )))
                        .fetch_all(p)
                        .await
                        .expect("list columns"),
                    };
                    let row = cols
                        .iter()
                        .map(|c| format!("quote(\"{c}\")"))
                        .collect::<Vec<_>>()
                        .join(" || ',' || ");
                    let rows: Vec<String> =
                        sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {row} FROM \"{t}\" ORDER BY 1")))
                            .fetch_all(p)
                            .await
                            .unwrap_or_else(|e| panic!("read {t}: {e}"));
                    out.insert(t, rows);
                }
            }
            Db::Postgres(p) => {
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename",
                )
                .fetch_all(p)
                .await
                .expect("list tables");
                for t in tables.into_iter().filter(|t| !NOT_SNAPSHOT.contains(&t.as_str())) {
                    let row = match request_columns(&t) {
                        Some(c) => format!("ROW({})", c.join(", ")),
                        None => "x".to_string(),
                    };
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT CAST({row} AS TEXT) FROM \"{t}\" AS x ORDER BY 1"
                    )))
                    .fetch_all(p)
                    .await
                    .unwrap_or_else(|e| panic!("read {t}: {e}"));
                    out.insert(t, rows);
                }
            }
        }
        DbSnapshot(out)
    }
}
