//! Signals arrive all the time (every device of every watched person, every few minutes).
//! One task writes them in batches: devices resolved, signals inserted, the per-person state
//! (`watch_state`) and the devices' live fields updated; each sender gets its reply once its
//! batch is committed. The sweep reads `watch_state`, never the signals.
//!
//! On a SQLite file, under load, the writer holds signals for up to a second: each is appended
//! to a log before its reply, and then many at once are moved into `watch_signals` and applied
//! to the state and the devices, in key order. Readers of the signals, the state or the devices
//! call [`settle`] first, and a restarted writer applies what a crash left in the log
//! (`direct::Pending`).

use std::collections::HashMap;
use std::sync::Arc;

use kernel::store::{Db, padded_in_list, padded_len, values_placeholders};
use kernel::{Error, Kernel, Result, in_tx, on_db};
use tokio::sync::{mpsc, oneshot};

/// Who sends a signal.
#[derive(Debug, Clone, PartialEq)]
pub enum Sender {
    /// A device over HTTP, by the SHA-256 of its token.
    TokenHash(String),
    /// A device over MQTT: the token in the payload must be the token of the device the topic
    /// names (the broker's own access rules are not relied on).
    DeviceToken { device: String, hash: String },
    /// The person themselves: `checkin` (「元気です」) or `terminal` (using the terminal).
    Person { person_id: String, source: &'static str },
}

#[derive(Debug, Clone)]
pub struct Incoming {
    pub sender: Sender,
    pub value: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ingested {
    Stored {
        person_id: String,
    },
    /// No such device (or token): 401.
    Unknown,
    /// The person is not watched (no circle, or no consent yet): nothing is kept.
    NotWatched,
}

const BATCH: usize = 512;

enum Job {
    Signal(Incoming, oneshot::Sender<Result<Ingested>>),
    /// Reply once every signal written before is in `watch_signals` and applied to `watch_state`
    /// and the devices.
    Settle(oneshot::Sender<Result<()>>),
    /// From the writer's timer: apply what has been held long enough.
    Tick,
}

type SignalJob = (Incoming, oneshot::Sender<Result<Ingested>>);

pub struct Writer {
    tx: mpsc::Sender<Job>,
}

/// The kernel's signal writer, started on first use: on a SQLite file, a thread with a
/// connection of its own (`direct`); otherwise (PostgreSQL, SQLite in memory) a task on the pool.
pub fn writer(k: &Kernel) -> Arc<Writer> {
    k.extensions.get_or_init(|| {
        let (tx, rx) = mpsc::channel(BATCH * 64);
        match direct::open(&k.db) {
            Some(Ok(conn)) => {
                // The clock only, not the kernel: the thread ends when the kernel (and with it
                // this writer's sender) is dropped.
                let (clock, frames) = (k.clock.clone(), crate::config::of(k).checkpoint_frames as i32);
                let holding = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let held = holding.clone();
                std::thread::Builder::new()
                    .name("watch-signals".into())
                    .spawn(move || direct::run(clock, conn, rx, frames, &held))
                    .expect("start the signal writer thread");
                // What the writer holds is applied within about `direct::HOLD` even when no
                // more signals come (a weak sender: the timer does not keep the writer alive).
                let timer = tx.downgrade();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(direct::HOLD);
                    loop {
                        every.tick().await;
                        let Some(tx) = timer.upgrade() else { break };
                        if holding.load(std::sync::atomic::Ordering::Acquire) {
                            let _ = tx.try_send(Job::Tick);
                        }
                    }
                });
            }
            other => {
                if let Some(Err(e)) = other {
                    tracing::warn!(error = %e, "signal writer: no connection of its own; writing through the pool");
                }
                tokio::spawn(run(k.clone(), rx));
            }
        }
        Writer { tx }
    })
}

impl Writer {
    pub async fn submit(&self, s: Incoming) -> Result<Ingested> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Job::Signal(s, reply))
            .await
            .map_err(|_| Error::Unavailable("signal writer stopped".into()))?;
        wait.await
            .map_err(|_| Error::Unavailable("signal writer stopped".into()))?
    }

    /// Wait until every signal submitted before is applied to `watch_state` and the devices.
    pub async fn settle(&self) -> Result<()> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send(Job::Settle(reply))
            .await
            .map_err(|_| Error::Unavailable("signal writer stopped".into()))?;
        wait.await
            .map_err(|_| Error::Unavailable("signal writer stopped".into()))?
    }
}

/// Before reading `watch_signals`, `watch_state` or the devices' live fields (the sweep, a
/// circle's page): under load the SQLite writer keeps signals in its log a moment before moving
/// and applying them; this waits for what it holds (and, in a process that has not started the
/// writer yet, for what a stop without warning left in the log). On PostgreSQL it costs a round
/// trip to the writer's task.
pub async fn settle(k: &Kernel) -> Result<()> {
    writer(k).settle().await
}

/// Reply to each sender once its batch is written; a failed batch is written again one signal
/// at a time, so one bad signal does not fail the others.
fn reply_all(batch: &mut Vec<SignalJob>, mut write: impl FnMut(&[Incoming]) -> Result<Vec<Ingested>>) {
    let (signals, replies): (Vec<Incoming>, Vec<_>) = batch.drain(..).unzip();
    match write(&signals) {
        Ok(results) => {
            for (reply, r) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(r));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, signals = signals.len(), "batch of signals failed; writing one by one");
            for (s, reply) in signals.iter().zip(replies) {
                let r = write(std::slice::from_ref(s))
                    .and_then(|mut v| v.pop().ok_or_else(|| Error::Internal("no result".into())));
                let _ = reply.send(r);
            }
        }
    }
}

/// The jobs of a batch by kind: signals, the replies owed to `settle`, whether the timer ticked.
fn sort_jobs(jobs: &mut Vec<Job>) -> (Vec<SignalJob>, Vec<oneshot::Sender<Result<()>>>, bool) {
    let (mut signals, mut settles, mut ticked) = (Vec::with_capacity(jobs.len()), Vec::new(), false);
    for job in jobs.drain(..) {
        match job {
            Job::Signal(s, reply) => signals.push((s, reply)),
            Job::Settle(reply) => settles.push(reply),
            Job::Tick => ticked = true,
        }
    }
    (signals, settles, ticked)
}

/// Through the pool every batch is applied as it is written: nothing to wait for.
async fn run(k: Kernel, mut rx: mpsc::Receiver<Job>) {
    let mut jobs: Vec<Job> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut jobs, BATCH).await > 0 {
        let (batch, settles, _) = sort_jobs(&mut jobs);
        let (signals, replies): (Vec<Incoming>, Vec<_>) = batch.into_iter().unzip();
        let results = match ingest(&k, &signals).await {
            Ok(results) => results.into_iter().map(Ok).collect(),
            Err(e) => {
                tracing::warn!(error = %e, signals = signals.len(), "batch of signals failed; writing one by one");
                let mut results = Vec::with_capacity(signals.len());
                for s in &signals {
                    results.push(
                        ingest(&k, std::slice::from_ref(s))
                            .await
                            .and_then(|mut v| v.pop().ok_or_else(|| Error::Internal("no result".into()))),
                    );
                }
                results
            }
        };
        for (reply, r) in replies.into_iter().zip(results) {
            let _ = reply.send(r);
        }
        for reply in settles {
            let _ = reply.send(Ok(()));
        }
    }
}

/// A device as the ingest needs it.
#[derive(sqlx::FromRow)]
struct Resolved {
    id: String,
    token_hash: String,
    person_id: String,
    kind: String,
    watched: bool,
    /// SQLite's rowid of the device (the direct writer updates the device by it).
    #[sqlx(default)]
    rowid: Option<i64>,
}

/// Devices by token hash, with whether their circle is watching (and, for the SQLite writer,
/// the device's rowid as the first column).
fn resolve_sql(keys: &str, with_rowid: bool) -> String {
    format!(
        "SELECT {}d.id, d.token_hash, d.person_id, d.kind, ({}) AS watched \
         FROM watch_devices d JOIN watch_circles c ON c.id = d.circle_id \
         WHERE d.token_hash IN ({keys}) AND d.removed_at IS NULL",
        if with_rowid { "d.rowid, " } else { "" },
        super::WATCHING
    )
}

/// People among a list with a consented, open circle.
fn watched_sql(keys: &str) -> String {
    format!(
        "SELECT c.person_id FROM watch_circles c WHERE c.person_id IN ({keys}) AND {}",
        super::WATCHING
    )
}

async fn resolve(db: &Db, by_token: &[&str]) -> Result<Vec<Resolved>> {
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
async fn watched_people(db: &Db, ids: &[&str]) -> Result<Vec<String>> {
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

/// What a batch says of one device: its newest value, and since when it has been on.
struct DeviceChange<'a> {
    value: &'a str,
    at: i64,
    /// 1 on, 0 off, None for values that switch nothing (a door, motion).
    switch: Option<i64>,
    /// Switched off within the batch: a later "on" starts a new on-period.
    off_in_batch: bool,
    /// The first "on" after the last "off" in the batch.
    on_from: i64,
}

impl<'a> DeviceChange<'a> {
    /// `events` sorted by time, not empty.
    fn of(events: &[(i64, &'a str)]) -> DeviceChange<'a> {
        let (at, value) = events[events.len() - 1];
        let last_off = events
            .iter()
            .rposition(|(_, v)| crate::model::signal::switches(v) == Some(false));
        let after = last_off.map_or(0, |i| i + 1);
        let on_from = events[after..]
            .iter()
            .find(|(_, v)| crate::model::signal::switches(v) == Some(true))
            .map_or(at, |(t, _)| *t);
        DeviceChange {
            value,
            at,
            switch: crate::model::signal::switches(value).map(i64::from),
            off_in_batch: last_off.is_some(),
            on_from,
        }
    }
}

/// Per person in a batch: newest signal, newest 「元気です」, newest use of the terminal.
type PersonState = (i64, Option<i64>, Option<i64>);

#[derive(Clone, Copy)]
struct Row<'a> {
    person_id: &'a str,
    device_id: Option<&'a str>,
    /// SQLite's rowid of the device, when the writer resolved it (see `UPDATE_BY_ROWID`).
    device_rowid: Option<i64>,
    source: &'a str,
    value: &'a str,
    at: i64,
}

/// A batch resolved: each signal's result, and the signals to write.
struct Plan<'a> {
    results: Vec<Ingested>,
    rows: Vec<Row<'a>>,
}

/// What signals change in `watch_state` and the devices, each key once.
struct Projection<'a> {
    /// Sorted by person (rows are locked in one order).
    state: Vec<(&'a str, PersonState)>,
    /// Sorted by device id: the device's rowid (if known) and its change.
    devices: Vec<(&'a str, Option<i64>, DeviceChange<'a>)>,
}

/// Per person: the newest signal, 「元気です」 and use of the terminal. Per device: its newest
/// value, and since when it is on. The rows may come in any order.
fn project<'a, 'b>(rows: impl IntoIterator<Item = &'b Row<'a>>) -> Projection<'a>
where
    'a: 'b,
{
    let mut state: HashMap<&str, PersonState> = HashMap::new();
    // By device: its rowid (if known) and its (time, value) events.
    type Events<'a> = (Option<i64>, Vec<(i64, &'a str)>);
    let mut device_events: HashMap<&str, Events> = HashMap::new();
    for r in rows {
        let e = state.entry(r.person_id).or_insert((i64::MIN, None, None));
        e.0 = e.0.max(r.at);
        if r.source == "checkin" {
            e.1 = Some(e.1.map_or(r.at, |c| c.max(r.at)));
        }
        if r.source == "terminal" && r.device_id.is_none() {
            e.2 = Some(e.2.map_or(r.at, |c| c.max(r.at)));
        }
        if let Some(d) = r.device_id {
            let e = device_events.entry(d).or_default();
            e.0 = e.0.or(r.device_rowid);
            e.1.push((r.at, r.value));
        }
    }
    let mut state: Vec<(&str, PersonState)> = state.into_iter().collect();
    state.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut devices: Vec<(&str, Option<i64>, DeviceChange)> = device_events
        .into_iter()
        .map(|(d, (rowid, mut events))| {
            events.sort_unstable();
            (d, rowid, DeviceChange::of(&events))
        })
        .collect();
    devices.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Projection { state, devices }
}

/// The senders whose devices must be looked up (by token hash) and the people whose watching
/// must be checked.
fn keys(signals: &[Incoming]) -> (Vec<&str>, Vec<&str>) {
    let mut by_token = Vec::new();
    let mut people = Vec::new();
    for s in signals {
        match &s.sender {
            Sender::TokenHash(h) | Sender::DeviceToken { hash: h, .. } => by_token.push(h.as_str()),
            Sender::Person { person_id, .. } => people.push(person_id.as_str()),
        }
    }
    (by_token, people)
}

fn plan<'a>(signals: &'a [Incoming], devices: &'a [Resolved], watched: &[String]) -> Plan<'a> {
    let by_hash: HashMap<&str, &Resolved> = devices.iter().map(|d| (d.token_hash.as_str(), d)).collect();
    let mut results = Vec::with_capacity(signals.len());
    let mut rows: Vec<Row> = Vec::with_capacity(signals.len());
    for s in signals {
        let device = match &s.sender {
            Sender::TokenHash(h) => by_hash.get(h.as_str()).copied(),
            Sender::DeviceToken { device, hash } => by_hash.get(hash.as_str()).copied().filter(|d| &d.id == device),
            Sender::Person { person_id, source } => {
                if watched.iter().any(|w| w == person_id) {
                    rows.push(Row {
                        person_id,
                        device_id: None,
                        device_rowid: None,
                        source,
                        value: &s.value,
                        at: s.at,
                    });
                    results.push(Ingested::Stored {
                        person_id: person_id.clone(),
                    });
                } else {
                    results.push(Ingested::NotWatched);
                }
                continue;
            }
        };
        match device {
            None => results.push(Ingested::Unknown),
            Some(d) if !d.watched => results.push(Ingested::NotWatched),
            Some(d) => {
                rows.push(Row {
                    person_id: &d.person_id,
                    device_id: Some(&d.id),
                    device_rowid: d.rowid,
                    source: &d.kind,
                    value: &s.value,
                    at: s.at,
                });
                results.push(Ingested::Stored {
                    person_id: d.person_id.clone(),
                });
            }
        }
    }

    Plan { results, rows }
}

const INSERT_SIGNAL: &str = "INSERT INTO watch_signals (person_id, device_id, source, value, at, received_at) VALUES ";

/// The SQLite writer's log of the signals it holds (`direct::Pending`).
const HOLD_SIGNAL: &str = "INSERT INTO watch_signal_log (person_id, device_id, source, value, at, received_at) VALUES ";

/// Keeps the newest of each time per person (a batch may arrive after a newer one).
const UPSERT_STATE: &str = "ON CONFLICT (person_id) DO UPDATE SET \
    last_signal_at = CASE WHEN watch_state.last_signal_at IS NULL OR excluded.last_signal_at > watch_state.last_signal_at \
      THEN excluded.last_signal_at ELSE watch_state.last_signal_at END, \
    last_checkin_at = CASE WHEN excluded.last_checkin_at IS NOT NULL AND (watch_state.last_checkin_at IS NULL \
      OR excluded.last_checkin_at > watch_state.last_checkin_at) THEN excluded.last_checkin_at ELSE watch_state.last_checkin_at END, \
    last_use_at = CASE WHEN excluded.last_use_at IS NOT NULL AND (watch_state.last_use_at IS NULL \
      OR excluded.last_use_at > watch_state.last_use_at) THEN excluded.last_use_at ELSE watch_state.last_use_at END";

/// The columns of `FROM (VALUES …) AS v`, for `update_device` over many devices.
const VALUES_COLUMNS: [&str; 6] = [
    "v.column1",
    "v.column2",
    "v.column3",
    "v.column4",
    "v.column5",
    "v.column6",
];

/// A device's newest value, unless a newer one is stored. `v` names the values: (id, value, at,
/// switch, off_in_batch, on_from), e.g. `["?1", …]` for one device or the columns of a VALUES
/// list for many; `which` picks the device (`watch_devices.id = {id}` unless given).
fn update_device(v: [&str; 6], from: &str, which: Option<&str>) -> String {
    let [id, value, at, switch, off, on_from] = v;
    let which = which.map_or_else(|| format!("watch_devices.id = {id}"), str::to_string);
    format!(
        "UPDATE watch_devices SET last_value = {value}, last_at = {at}, \
         on_since = CASE WHEN {switch} = 1 AND {off} = 1 THEN {on_from} \
           WHEN {switch} = 1 THEN COALESCE(watch_devices.on_since, {on_from}) WHEN {switch} = 0 THEN NULL \
           ELSE watch_devices.on_since END {from} \
         WHERE {which} AND (watch_devices.last_at IS NULL OR watch_devices.last_at <= {at})"
    )
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

/// The SQLite writer: a thread with a connection of its own, so a batch costs no hop between
/// threads per statement (the pool's connections each run on a worker thread of their own), its
/// single-row statements are prepared once, and its page cache stays warm (the only writer of
/// these tables, its cache is not thrown away when another connection writes).
mod direct {
    use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

    use super::*;

    /// Its page cache: SQLite's default, 2 MB, and not more. A commit whose inserts split a page
    /// walks the whole cache: `balance_nonroot` renumbers pages through the pending-byte page
    /// (page 262,145), and the commit's truncate of the cache to the database's size then scans
    /// every hash slot and page. With 16 MB that walk was 12–16% of the writer's time (perf,
    /// 100,000 devices), and the pages it read from the file were no fewer than with 2 MB.
    const CACHE_KIB: i64 = 2 * 1024;

    /// A connection of its own to the database file; None when there is no file (PostgreSQL,
    /// SQLite in memory).
    pub fn open(db: &Db) -> Option<std::result::Result<Connection, rusqlite::Error>> {
        let Db::Sqlite(pool) = db else { return None };
        let options = pool.connect_options();
        let path = options.get_filename();
        if path.as_os_str().is_empty()
            || path
                .to_str()
                .is_some_and(|p| p.starts_with(":memory:") || p.contains("mode=memory"))
        {
            return None;
        }
        Some(connect(path).and_then(|conn| {
            conn.pragma_update(None, "cache_size", -CACHE_KIB)?;
            // In place of the automatic checkpoint (see `Checkpoints`).
            conn.wal_hook(Some(note_frames));
            Ok(conn)
        }))
    }

    /// As the pool's connections (kernel::store): WAL, NORMAL, foreign keys, 10 s busy wait.
    fn connect(path: &std::path::Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(conn)
    }

    /// The writer's checkpoints. SQLite's automatic checkpoint runs inside the commit that fills
    /// the WAL past 1,000 frames: that batch's replies, and every signal after it, waited for the
    /// checkpoint's writes and fsyncs. Here a thread of its own copies the WAL into the database
    /// while the writer goes on. A checkpoint that runs while the writer appends cannot empty the
    /// WAL (SQLite starts it over only once everything in it has been copied), so when the thread
    /// is done, the writer copies the little written since itself, and its next transaction
    /// starts the WAL over.
    struct Checkpoints {
        /// Frames in the WAL past which a checkpoint is asked for.
        frames: i32,
        /// None: no thread (it could not start); the writer checkpoints itself.
        thread: Option<(std::sync::mpsc::SyncSender<()>, Arc<std::sync::atomic::AtomicBool>)>,
        asked: bool,
    }

    impl Checkpoints {
        fn start(path: Option<&str>, frames: i32) -> Checkpoints {
            let thread = path.and_then(|path| {
                let conn = connect(std::path::Path::new(path))
                    .map_err(
                        |e| tracing::warn!(error = %e, "signal writer: no checkpoint thread; checkpointing itself"),
                    )
                    .ok()?;
                let (ask, asked) = std::sync::mpsc::sync_channel::<()>(1);
                let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let finished = done.clone();
                std::thread::Builder::new()
                    .name("watch-checkpoint".into())
                    .spawn(move || {
                        // Ends with the writer (its sender dropped).
                        while asked.recv().is_ok() {
                            checkpoint(&conn);
                            finished.store(true, std::sync::atomic::Ordering::Release);
                        }
                    })
                    .ok()?;
                Some((ask, done))
            });
            Checkpoints {
                frames,
                thread,
                asked: false,
            }
        }

        /// After a batch's replies have gone out.
        fn after_batch(&mut self, conn: &Connection) {
            let frames = WAL_FRAMES.get();
            if frames < self.frames {
                return;
            }
            match &self.thread {
                Some((ask, _)) if !self.asked => {
                    self.asked = ask.try_send(()).is_ok();
                }
                Some((_, done)) if done.swap(false, std::sync::atomic::Ordering::AcqRel) => {
                    self.asked = false;
                    WAL_FRAMES.set(0);
                    checkpoint(conn);
                }
                // Still copying, and not yet far behind.
                Some(_) if frames < BEHIND * self.frames => {}
                _ => {
                    WAL_FRAMES.set(0);
                    checkpoint(conn);
                }
            }
        }
    }

    /// Copy what the WAL holds into the database, as far as readers allow (PASSIVE: no waiting).
    fn checkpoint(conn: &Connection) {
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "signal writer: checkpoint failed; tried again later");
        }
    }

    /// How long a batch of several signals waits for more before it is written.
    const GATHER: std::time::Duration = std::time::Duration::from_micros(250);

    /// Devices already resolved, by token hash. Most signals come from a device heard a few
    /// minutes before, and resolving one walks six b-trees (the token's index, the device, its
    /// circle, the consent: 4–5 µs of the writer's 35–45 per signal, measured). Kept while
    /// `watch_ingest_generation` stays the same: triggers move it on any change to devices,
    /// circles or consents (migration 0003), and the writer reads it inside each batch's
    /// transaction, so a removed device or a withdrawn consent counts from the next batch on, as
    /// without the keeping.
    /// Tokens that match nothing are not kept (a stranger guessing cannot fill it).
    #[derive(Default)]
    pub(super) struct Known {
        generation: Option<i64>,
        /// By the token's SHA-256 (the bytes of `token_hash`).
        devices: HashMap<[u8; 32], KnownDevice>,
    }

    /// A resolved device without its token hash (the key).
    struct KnownDevice {
        id: Box<str>,
        person_id: Box<str>,
        kind: Box<str>,
        watched: bool,
        rowid: Option<i64>,
    }

    /// At most this many devices are kept (about 250 bytes each); past it, the writer starts over.
    const KNOWN_MAX: usize = 200_000;

    /// The bytes of a hex SHA-256 (`hash_token`); None for anything else.
    fn key(token_hash: &str) -> Option<[u8; 32]> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(token_hash, &mut out).ok()?;
        Some(out)
    }

    impl Known {
        /// Start over unless the generation read in this transaction is the one kept.
        fn check(&mut self, generation: Option<i64>) {
            if generation.is_none() || self.generation != generation || self.devices.len() >= KNOWN_MAX {
                self.devices.clear();
                self.generation = generation;
            }
        }

        fn get(&self, token_hash: &str) -> Option<Resolved> {
            let d = self.devices.get(&key(token_hash)?)?;
            Some(Resolved {
                id: d.id.to_string(),
                token_hash: token_hash.to_string(),
                person_id: d.person_id.to_string(),
                kind: d.kind.to_string(),
                watched: d.watched,
                rowid: d.rowid,
            })
        }

        fn keep(&mut self, d: &Resolved) {
            if let (Some(_), Some(k)) = (self.generation, key(&d.token_hash)) {
                self.devices.insert(
                    k,
                    KnownDevice {
                        id: d.id.as_str().into(),
                        person_id: d.person_id.as_str().into(),
                        kind: d.kind.as_str().into(),
                        watched: d.watched,
                        rowid: d.rowid,
                    },
                );
            }
        }
    }

    /// How long the writer holds signals before it applies them to `watch_state` and the
    /// devices (at most; `settle` and a quiet moment apply them sooner). Random order, 100,000
    /// devices, interleaved runs: 250 ms 24,769/s, 500 ms 24,351-26,346, 1 s 26,255-27,180,
    /// 2 s 27,409 (its pause to apply twice as long).
    pub const HOLD: std::time::Duration = std::time::Duration::from_millis(1000);

    /// Signals held at most before they are applied.
    const HOLD_MAX: usize = 25_000;

    /// Batches of fewer signals than this, with nothing held, are applied as they are written:
    /// a few signals at a time, the writer keeps up and a reader sees them at once.
    const HOLD_FROM: usize = 8;

    /// Signals written to the log (`watch_signal_log`) and not yet applied.
    ///
    /// Devices in no particular order dirty three random pages per signal: the signals' index
    /// of persons, the person's `watch_state` row and the device's row. A held signal is
    /// appended to the log, which has no index, before its reply. Applying moves the log into
    /// `watch_signals` in the order of that index and updates the state and the devices in key
    /// order, for all held signals in one transaction: most of those pages are then written once
    /// for several signals. A signal in `watch_signals` is always applied; what a stop without
    /// warning left in the log, the next writer applies first (`catch_up`).
    #[derive(Default)]
    pub(super) struct Pending {
        /// The held device signals (a person's own count at once: only their log row waits).
        rows: Vec<HeldRow>,
        /// The batches they came in.
        batches: usize,
        since: Option<std::time::Instant>,
        /// Signals in the log, the person's own included.
        logged: usize,
    }

    /// A signal as `Pending` holds it.
    struct HeldRow {
        person_id: Box<str>,
        device_id: Option<Box<str>>,
        device_rowid: Option<i64>,
        source: Box<str>,
        value: Box<str>,
        at: i64,
    }

    impl HeldRow {
        fn of(r: &Row) -> HeldRow {
            HeldRow {
                person_id: r.person_id.into(),
                device_id: r.device_id.map(Into::into),
                device_rowid: r.device_rowid,
                source: r.source.into(),
                value: r.value.into(),
                at: r.at,
            }
        }

        fn row(&self) -> Row<'_> {
            Row {
                person_id: &self.person_id,
                device_id: self.device_id.as_deref(),
                device_rowid: self.device_rowid,
                source: &self.source,
                value: &self.value,
                at: self.at,
            }
        }
    }

    impl Pending {
        fn clear(&mut self) {
            self.rows.clear();
            self.batches = 0;
            self.since = None;
            self.logged = 0;
        }

        fn due(&self) -> bool {
            self.logged >= HOLD_MAX || self.since.is_some_and(|t| t.elapsed() >= HOLD)
        }
    }

    pub fn run(
        clock: Arc<dyn kernel::Clock>,
        mut conn: Connection,
        mut rx: mpsc::Receiver<Job>,
        frames: i32,
        holding: &std::sync::atomic::AtomicBool,
    ) {
        let mut jobs: Vec<Job> = Vec::with_capacity(BATCH);
        let mut known = Known::default();
        let mut pending = Pending::default();
        let mut checkpoints = Checkpoints::start(conn.path(), frames);
        // What a stop without warning left unapplied; a reader's `settle` waits for this.
        match catch_up(&mut conn) {
            Ok(0) => {}
            Ok(n) => tracing::info!(signals = n, "signal writer: applied the signals a stop left unapplied"),
            Err(e) => tracing::warn!(error = %e, "signal writer: could not apply the signals a stop left unapplied"),
        }
        while rx.blocking_recv_many(&mut jobs, BATCH) > 0 {
            // Group commit: when several senders are at it at once, the others in flight are a
            // moment away; waiting for them halves the transactions under load (as PostgreSQL's
            // commit_delay). A lone signal is written at once.
            if jobs.len() > 1 && jobs.len() < BATCH {
                std::thread::sleep(GATHER);
                while jobs.len() < BATCH {
                    match rx.try_recv() {
                        Ok(job) => jobs.push(job),
                        Err(_) => break,
                    }
                }
            }
            let (mut batch, settles, ticked) = sort_jobs(&mut jobs);
            // A tick alone: the writer has nothing else to do.
            let apply = !settles.is_empty() || (ticked && (batch.is_empty() || pending.due()));
            if !batch.is_empty() {
                reply_all(&mut batch, |signals| {
                    ingest(&mut conn, &mut known, &mut pending, clock.now_ms(), signals, apply)
                        .map_err(|e| Error::Unavailable(format!("signal writer: {e}")))
                });
            }
            let mut applied = Ok(());
            if apply && pending.logged > 0 {
                applied = apply_held(&mut conn, &mut pending);
                if let Err(e) = &applied {
                    tracing::warn!(error = %e, "signal writer: applying the held signals failed; trying again");
                }
            }
            for reply in settles {
                let _ = reply.send(
                    applied
                        .as_ref()
                        .map(|_| ())
                        .map_err(|e| Error::Unavailable(format!("signal writer: {e}"))),
                );
            }
            holding.store(pending.logged > 0, std::sync::atomic::Ordering::Release);
            checkpoints.after_batch(&conn);
        }
        // The kernel is gone: apply what is held before the thread ends.
        if pending.logged > 0
            && let Err(e) = apply_held(&mut conn, &mut pending)
        {
            tracing::warn!(error = %e, "signal writer: the held signals are applied on the next start");
        }
    }

    /// A checkpoint is asked for past `[watch] checkpoint_frames` in the WAL (by default 16,000:
    /// 64 MB of 4 KB pages; SQLite's own default is 1,000). Signals from devices in no particular order dirty about three pages
    /// each, all over the tables: at 1,000 frames the checkpoint thread copied the WAL back and
    /// synced both files every 300-odd signals, and a page the next signals touched again was
    /// copied as many times. At 16,000 a hot page is copied once for several writes and the syncs
    /// are 16 times fewer: the writer went from 41-46 to 31 µs per signal and the HTTP ingest
    /// from 11,400-13,000 to 18,900 signals/s in the same session (watch benchmark, devices in a
    /// random order; 4,000 and 8,000 in between, 32,000 no better).
    ///
    /// Past three times as many, the checkpoint thread has fallen behind and the writer
    /// checkpoints itself.
    const BEHIND: i32 = 3;

    thread_local! {
        /// Frames in the WAL after the writer's last commit.
        static WAL_FRAMES: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
    }

    fn note_frames(_: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
        WAL_FRAMES.set(frames);
        Ok(())
    }

    /// A device by the rowid its resolving read (`?7`), which saves the walk of the id's index
    /// for every signal; the id is checked too, as a rowid of a table without an integer key may
    /// change (VACUUM).
    pub(super) const UPDATE_BY_ROWID: &str = "watch_devices.rowid = ?7 AND watch_devices.id = ?1";

    /// `$n` → `?n`: the same numbered parameters, as SQLite binds them by position.
    fn numbered(sql: &str) -> String {
        sql.replace('$', "?")
    }

    /// Write a batch of signals in one transaction; one result per signal, in order. The
    /// signals of a batch of `HOLD_FROM` or more, or of any batch while some are held, are held
    /// (`Pending`) unless `apply` says or the held ones are due; otherwise they are applied with
    /// all that is held. A person's own signals (「元気です」, the terminal) are applied at once
    /// either way: the person looks for them.
    pub(super) fn ingest(
        conn: &mut Connection,
        known: &mut Known,
        pending: &mut Pending,
        now: i64,
        signals: &[Incoming],
        apply: bool,
    ) -> rusqlite::Result<Vec<Ingested>> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (by_token, people) = keys(signals);
        let mut devices = Vec::with_capacity(by_token.len());
        {
            let generation = tx
                .prepare_cached("SELECT n FROM watch_ingest_generation WHERE id = 1")?
                .query_row([], |r| r.get::<_, i64>(0))
                .optional()?;
            known.check(generation);
            // With the device's rowid, to update it by (see `UPDATE_BY_ROWID`).
            let mut q = tx.prepare_cached(&numbered(&resolve_sql("$1", true)))?;
            for hash in by_token {
                if let Some(d) = known.get(hash) {
                    devices.push(d);
                    continue;
                }
                let d = q
                    .query_row([hash], |r| {
                        Ok(Resolved {
                            rowid: r.get(0)?,
                            id: r.get(1)?,
                            token_hash: r.get(2)?,
                            person_id: r.get(3)?,
                            kind: r.get(4)?,
                            watched: r.get(5)?,
                        })
                    })
                    .optional()?;
                if let Some(d) = d {
                    known.keep(&d);
                    devices.push(d);
                }
            }
        }
        let mut watched = Vec::new();
        if !people.is_empty() {
            let mut q = tx.prepare_cached(&numbered(&watched_sql("$1")))?;
            for person in people {
                watched.extend(q.query_row([person], |r| r.get::<_, String>(0)).optional()?);
            }
        }
        let plan = plan(signals, &devices, &watched);
        // Once holding, a small batch is held too: under load the batches come big and small by
        // turns (the senders answered together come back one after another).
        let hold = !apply && !pending.due() && (signals.len() >= HOLD_FROM || pending.logged > 0);
        if !plan.rows.is_empty() {
            let insert = if hold { HOLD_SIGNAL } else { INSERT_SIGNAL };
            let mut q = tx.prepare_cached(&format!("{insert}(?1, ?2, ?3, ?4, ?5, ?6)"))?;
            for r in &plan.rows {
                q.execute(params![r.person_id, r.device_id, r.source, r.value, r.at, now])?;
            }
        }
        if hold {
            project_into(&tx, &project(plan.rows.iter().filter(|r| r.device_id.is_none())))?;
        } else {
            if pending.logged > 0 {
                move_log(&tx, i64::MAX)?;
            }
            let held: Vec<Row> = pending.rows.iter().map(HeldRow::row).collect();
            project_into(&tx, &project(held.iter().chain(&plan.rows)))?;
        }
        tx.commit()?;
        // Only once committed: a batch that failed changes nothing of what is held.
        if hold {
            pending.batches += 1;
            pending.logged += plan.rows.len();
            pending
                .rows
                .extend(plan.rows.iter().filter(|r| r.device_id.is_some()).map(HeldRow::of));
            if pending.logged > 0 && pending.since.is_none() {
                pending.since = Some(std::time::Instant::now());
            }
        } else {
            if pending.logged > 0 {
                tracing::debug!(
                    held = pending.logged,
                    batches = pending.batches,
                    with = plan.rows.len(),
                    "signal writer: applied"
                );
            }
            pending.clear();
        }
        Ok(plan.results)
    }

    /// Apply what is held, in a transaction of its own.
    pub(super) fn apply_held(conn: &mut Connection, pending: &mut Pending) -> rusqlite::Result<()> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        move_log(&tx, i64::MAX)?;
        let held: Vec<Row> = pending.rows.iter().map(HeldRow::row).collect();
        project_into(&tx, &project(&held))?;
        tx.commit()?;
        tracing::debug!(
            held = pending.logged,
            batches = pending.batches,
            "signal writer: applied"
        );
        pending.clear();
        Ok(())
    }

    /// Signals read back for `catch_up`, at most this many a transaction.
    const CATCH_UP_CHUNK: i64 = 20_000;

    /// Apply what a stop without warning left in the log, oldest first; how many signals.
    pub(super) fn catch_up(conn: &mut Connection) -> rusqlite::Result<usize> {
        let mut total = 0;
        loop {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (held, last_id) = {
                let mut q = tx.prepare(
                    "SELECT id, person_id, device_id, source, value, at FROM watch_signal_log \
                     ORDER BY id LIMIT ?1",
                )?;
                let mut rows = q.query([CATCH_UP_CHUNK])?;
                let (mut held, mut last_id) = (Vec::new(), 0);
                while let Some(r) = rows.next()? {
                    last_id = r.get(0)?;
                    held.push(HeldRow {
                        person_id: r.get::<_, String>(1)?.into(),
                        device_id: r.get::<_, Option<String>>(2)?.map(Into::into),
                        device_rowid: None,
                        source: r.get::<_, String>(3)?.into(),
                        value: r.get::<_, String>(4)?.into(),
                        at: r.get(5)?,
                    });
                }
                (held, last_id)
            };
            if held.is_empty() {
                return Ok(total);
            }
            move_log(&tx, last_id)?;
            let rows: Vec<Row> = held.iter().map(HeldRow::row).collect();
            project_into(&tx, &project(&rows))?;
            tx.commit()?;
            total += held.len();
        }
    }

    /// The columns a signal has in the log and in `watch_signals`.
    const LOG_COLUMNS: &str = "(person_id, device_id, source, value, at, received_at)";

    /// Move the log, up to the signal `through`, into `watch_signals`, in the order of its index
    /// of persons (each of its pages written once for all the log's signals on it).
    fn move_log(tx: &rusqlite::Transaction, through: i64) -> rusqlite::Result<()> {
        tx.prepare_cached(&format!(
            "INSERT INTO watch_signals {LOG_COLUMNS} SELECT {} FROM watch_signal_log \
             WHERE id <= ?1 ORDER BY person_id, at",
            &LOG_COLUMNS[1..LOG_COLUMNS.len() - 1]
        ))?
        .execute([through])?;
        tx.prepare_cached("DELETE FROM watch_signal_log WHERE id <= ?1")?
            .execute([through])?;
        Ok(())
    }

    /// Write a projection to `watch_state` and the devices.
    fn project_into(tx: &rusqlite::Transaction, p: &Projection) -> rusqlite::Result<()> {
        let mut q = tx.prepare_cached(&format!(
            "INSERT INTO watch_state (person_id, last_signal_at, last_checkin_at, last_use_at) \
             VALUES (?1, ?2, ?3, ?4) {UPSERT_STATE}"
        ))?;
        for (person, (last, checkin, used)) in &p.state {
            q.execute(params![person, last, checkin, used])?;
        }
        // Parameters, not UPDATE … FROM (VALUES …): SQLite runs that through two temporary
        // tables, each a pager of its own opened and closed per statement.
        let mut by_id = tx.prepare_cached(&update_device(["?1", "?2", "?3", "?4", "?5", "?6"], "", None))?;
        let mut by_rowid = tx.prepare_cached(&update_device(
            ["?1", "?2", "?3", "?4", "?5", "?6"],
            "",
            Some(UPDATE_BY_ROWID),
        ))?;
        for (device, rowid, c) in &p.devices {
            let values = params![device, c.value, c.at, c.switch, i64::from(c.off_in_batch), c.on_from];
            let updated = match rowid {
                Some(rowid) => by_rowid.execute(rusqlite::params_from_iter(
                    values.iter().copied().chain([rowid as &dyn rusqlite::ToSql]),
                ))?,
                None => 0,
            };
            // Not by rowid (none kept, the row renumbered, or a newer value stored): by id.
            if updated == 0 {
                by_id.execute(values)?;
            }
        }
        Ok(())
    }
}

/// A signal on the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct SignalRow {
    pub at: i64,
    pub source: String,
    pub value: String,
    pub device_id: Option<String>,
}

/// The person's signals since `since`, newest first, every signal written so far among them.
pub async fn recent(k: &Kernel, person_id: &str, since: i64, limit: i64) -> Result<Vec<SignalRow>> {
    settle(k).await?;
    Ok(on_db!(&k.db, |p| {
        sqlx::query_as::<_, SignalRow>(
        "SELECT at, source, value, device_id FROM watch_signals WHERE person_id = $1 AND at >= $2 ORDER BY at DESC LIMIT $3"
    )
    .bind(person_id)
    .bind(since)
    .bind(limit)
    .fetch_all(p)
    .await
    })?)
}

/// Forget up to `limit` of the oldest signals that arrived before `before`; how many went.
/// Only the oldest `limit` rows by id are looked at (ids follow arrival, to within the second
/// the SQLite writer may hold a signal in its log), so a pass never scans the table, and each
/// pass is a short transaction the signal writer waits little for.
pub async fn forget_before(db: &Db, before: i64, limit: i64) -> Result<u64> {
    Ok(on_db!(db, |p| sqlx::query(
        "DELETE FROM watch_signals WHERE id IN (SELECT id FROM \
         (SELECT id, received_at FROM watch_signals ORDER BY id LIMIT $2) AS oldest WHERE received_at < $1)"
    )
    .bind(before)
    .bind(limit)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?)
}

/// The person's last signal and last 「元気です」, with every signal written so far applied.
pub async fn state(k: &Kernel, person_id: &str) -> Result<(Option<i64>, Option<i64>)> {
    settle(k).await?;
    Ok(on_db!(&k.db, |p| sqlx::query_as::<_, (Option<i64>, Option<i64>)>(
        "SELECT last_signal_at, last_checkin_at FROM watch_state WHERE person_id = $1"
    )
    .bind(person_id)
    .fetch_optional(p)
    .await)?
    .unwrap_or((None, None)))
}

// ---- the sweep ----

/// A rule the SQL found overdue; the model confirms it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub rule_id: String,
    pub circle_id: String,
    pub person_id: String,
    pub kind: String,
    pub source: String,
    pub period_minutes: Option<i64>,
    pub grace_minutes: i64,
    pub due_minute: Option<i64>,
    pub limit_minutes: Option<i64>,
    pub window_start: Option<i64>,
    pub window_end: Option<i64>,
    pub quiet_start: Option<i64>,
    pub quiet_end: Option<i64>,
    /// period: the last relevant signal (or when watching began); daily: the last 「元気です」;
    /// on_too_long: since when the device has been on.
    #[sqlx(default)]
    pub last: Option<i64>,
}

impl Candidate {
    pub fn rule(&self) -> crate::model::rule::Rule {
        crate::store::StoredRule {
            id: self.rule_id.clone(),
            circle_id: self.circle_id.clone(),
            kind: self.kind.clone(),
            source: self.source.clone(),
            period_minutes: self.period_minutes,
            grace_minutes: self.grace_minutes,
            due_minute: self.due_minute,
            limit_minutes: self.limit_minutes,
            window_start: self.window_start,
            window_end: self.window_end,
            created_at: 0,
        }
        .rule()
    }
}

/// A `period` rule with the times its count may start from (`model::rule::period_since`).
#[derive(sqlx::FromRow)]
struct PeriodRow {
    #[sqlx(flatten)]
    candidate: Candidate,
    flag_basis: i64,
    t_relevant: Option<i64>,
    t_consented: Option<i64>,
    t_created: i64,
    t_paused: Option<i64>,
    t_closed: Option<i64>,
}

const CANDIDATE: &str = "r.id AS rule_id, r.circle_id, c.person_id, r.kind, r.source, r.period_minutes, r.grace_minutes, \
    r.due_minute, r.limit_minutes, r.window_start, r.window_end, c.quiet_start, c.quiet_end";

/// Watched, not paused, no escalation open for the rule.
fn active() -> String {
    format!(
        "r.removed_at IS NULL AND {} AND (c.paused_until IS NULL OR c.paused_until <= $1) \
         AND NOT EXISTS (SELECT 1 FROM watch_escalations e WHERE e.rule_id = r.id AND e.closed_at IS NULL)",
        super::WATCHING
    )
}

/// The last signal a `period` rule listens to.
/// (Using the terminal counts for `terminal`, whether the screen or a terminal device said so.)
const RELEVANT: &str = "(CASE WHEN r.source = 'any' THEN s.last_signal_at WHEN r.source = 'checkin' THEN s.last_checkin_at \
    WHEN r.source = 'terminal' THEN (CASE WHEN COALESCE(s.last_use_at, 0) > COALESCE((SELECT MAX(d.last_at) FROM watch_devices d \
      WHERE d.circle_id = r.circle_id AND d.kind = 'terminal'), 0) THEN s.last_use_at ELSE (SELECT MAX(d.last_at) \
      FROM watch_devices d WHERE d.circle_id = r.circle_id AND d.kind = 'terminal') END) \
    ELSE (SELECT MAX(d.last_at) FROM watch_devices d WHERE d.circle_id = r.circle_id AND d.kind = r.source) END)";

/// `period` rules overdue at `now` (`$1`) among the rows `from_where` selects: each time the count
/// may start from is computed once, and the rule is overdue only if every one of them is older
/// than its period and grace (their latest is `since`).
fn period_sql(relevant: &str, from_where: &str) -> String {
    let active = active();
    let window = "(x.period_minutes + x.grace_minutes) * 60000";
    format!(
        "SELECT * FROM (SELECT {CANDIDATE}, r.flag_basis, {relevant} AS t_relevant, c.consented_at AS t_consented, \
         r.created_at AS t_created, c.paused_until AS t_paused, \
         (SELECT MAX(e.closed_at) FROM watch_escalations e WHERE e.rule_id = r.id) AS t_closed \
         {from_where} AND {active}) x \
         WHERE COALESCE(x.t_relevant, 0) + {window} <= $1 AND COALESCE(x.t_consented, 0) + {window} <= $1 \
         AND x.t_created + {window} <= $1 AND COALESCE(x.t_paused, 0) + {window} <= $1 \
         AND COALESCE(x.t_closed, 0) + {window} <= $1"
    )
}

/// Rules overdue at `now`: periods without a signal, days without 「元気です」 past due, devices on
/// too long. Each pass reads only its own kind of rule (`watch_rules_kind`); the usual rule —
/// any signal, every so often — starts from the persons whose last signal is older than the
/// shortest such rule allows, so 100,000 persons signalling every few minutes cost one scan of
/// `watch_state` and nothing per person.
pub async fn candidates(db: &Db, now: i64) -> Result<Vec<Candidate>> {
    let midnight = crate::model::local_midnight(now);
    let minute = crate::model::local_minute(now) as i64;
    let mut out: Vec<Candidate> = Vec::new();

    // `period` rules on any signal: their relevant signal is `last_signal_at`, and every other
    // time the count may start from only makes a rule less overdue. Every watched person has a
    // `watch_state` row (made at consent), its `last_signal_at` NULL until the first signal.
    let shortest: Option<i64> = on_db!(db, |p| sqlx::query_scalar(
        "SELECT MIN(period_minutes + grace_minutes) FROM watch_rules WHERE kind = 'period' AND source = 'any'"
    )
    .fetch_one(p)
    .await)?;
    let mut periods: Vec<(String, i64)> = Vec::new();
    if let Some(shortest) = shortest {
        periods.push((
            period_sql(
                "s.last_signal_at",
                "FROM watch_state s CROSS JOIN watch_circles c CROSS JOIN watch_rules r \
                 WHERE (s.last_signal_at IS NULL OR s.last_signal_at <= $2) \
                 AND c.person_id = s.person_id AND r.circle_id = c.id AND r.kind = 'period' AND r.source = 'any'",
            ),
            now - shortest * 60_000,
        ));
    }
    // `period` rules on one source (「元気です」, the terminal, a kind of device): few, read whole.
    let others = period_sql(
        RELEVANT,
        "FROM watch_rules r JOIN watch_circles c ON c.id = r.circle_id \
         LEFT JOIN watch_state s ON s.person_id = c.person_id \
         WHERE r.kind = 'period' AND (r.source < 'any' OR r.source > 'any')",
    );
    for (sql, cut) in periods.iter().map(|(s, c)| (s, Some(*c))).chain([(&others, None)]) {
        let rows: Vec<PeriodRow> = on_db!(db, |p| {
            let mut q = sqlx::query_as::<_, PeriodRow>(sqlx::AssertSqlSafe(sql.as_str())).bind(now);
            if let Some(cut) = cut {
                q = q.bind(cut);
            }
            q.fetch_all(p).await
        })?;
        for r in rows {
            let since = crate::model::rule::period_since(&[
                r.t_relevant,
                r.t_consented,
                Some(r.t_created),
                r.t_paused,
                r.t_closed,
            ]);
            // This miss was flagged already (one miss, one escalation).
            if r.flag_basis == since {
                continue;
            }
            out.push(Candidate {
                last: Some(since),
                ..r.candidate
            });
        }
    }

    let active = active();
    let daily = format!(
        "SELECT {CANDIDATE}, s.last_checkin_at AS last FROM watch_rules r \
         JOIN watch_circles c ON c.id = r.circle_id LEFT JOIN watch_state s ON s.person_id = c.person_id \
         WHERE r.kind = 'daily' AND {active} AND r.due_minute + r.grace_minutes <= $2 \
         AND COALESCE(s.last_checkin_at, 0) < $3 AND r.flag_basis <> $3 \
         AND r.created_at <= $3 + r.due_minute * 60000 AND c.consented_at <= $3 + r.due_minute * 60000"
    );
    let on = format!(
        "SELECT {CANDIDATE}, d.on_since AS last FROM watch_rules r \
         JOIN watch_circles c ON c.id = r.circle_id \
         JOIN watch_devices d ON d.circle_id = r.circle_id AND d.removed_at IS NULL AND (r.source = 'any' OR d.kind = r.source) \
         WHERE r.kind = 'on_too_long' AND {active} AND d.on_since IS NOT NULL \
         AND d.on_since + r.limit_minutes * 60000 <= $1 AND r.flag_basis <> d.on_since"
    );
    // PostgreSQL wants exactly the parameters a statement uses.
    for (sql, all) in [(daily, true), (on, false)] {
        let rows: Vec<Candidate> = on_db!(db, |p| {
            let mut q = sqlx::query_as::<_, Candidate>(sqlx::AssertSqlSafe(sql.as_str())).bind(now);
            if all {
                q = q.bind(minute).bind(midnight);
            }
            q.fetch_all(p).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// Open escalations whose person has signalled since (or whose device went off), acknowledged
/// or not — a visitor who never recorded the outcome does not keep the rule blocked: (escalation
/// id, circle id).
pub async fn resumed(db: &Db) -> Result<Vec<(String, String)>> {
    let sql = format!(
        "SELECT e.id, e.circle_id FROM watch_escalations e JOIN watch_circles c ON c.id = e.circle_id \
         JOIN watch_rules r ON r.id = e.rule_id LEFT JOIN watch_state s ON s.person_id = c.person_id \
         WHERE e.closed_at IS NULL AND ( \
           (e.reason = 'period' AND COALESCE({RELEVANT}, 0) > e.basis) \
           OR (e.reason = 'daily' AND COALESCE(s.last_checkin_at, 0) >= e.basis) \
           OR (e.reason = 'on_too_long' AND NOT EXISTS (SELECT 1 FROM watch_devices d WHERE d.circle_id = e.circle_id \
               AND d.on_since = e.basis AND d.removed_at IS NULL)))"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String)>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .fetch_all(p)
    .await)?)
}

#[cfg(test)]
mod tests {
    use super::{DeviceChange, VALUES_COLUMNS, update_device};

    /// The signal writer's statement for one device stays a plain UPDATE: SQLite runs
    /// UPDATE … FROM through temporary tables (`OpenEphemeral`), a pager each, opened and closed
    /// for every device of every batch.
    #[test]
    fn one_device_is_updated_without_temporary_tables() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("../../migrations/sqlite/0001_watch.sql"))
            .unwrap();
        let opcodes = |sql: &str| -> Vec<String> {
            let mut q = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
            // Unbound parameters are NULL, which EXPLAIN does not mind.
            let mut rows = q.raw_query();
            let mut ops = Vec::new();
            while let Some(r) = rows.next().unwrap() {
                ops.push(r.get::<_, String>(1).unwrap());
            }
            ops
        };
        let single = opcodes(&update_device(["?1", "?2", "?3", "?4", "?5", "?6"], "", None));
        assert!(single.iter().any(|op| op == "OpenWrite"), "{single:?}");
        assert!(!single.iter().any(|op| op == "OpenEphemeral"), "{single:?}");
        // By the rowid the writer kept: one seek into the table, the id's index not opened.
        let by_rowid = opcodes(&update_device(
            ["?1", "?2", "?3", "?4", "?5", "?6"],
            "",
            Some(super::direct::UPDATE_BY_ROWID),
        ));
        assert!(
            by_rowid.iter().any(|op| op == "NotExists" || op == "SeekRowid"),
            "{by_rowid:?}"
        );
        assert!(
            !by_rowid.iter().any(|op| op == "SeekGE" || op == "IdxGT"),
            "{by_rowid:?}"
        );
        // The pooled form for many devices at once is the one that pays for them.
        let many = opcodes(&update_device(
            VALUES_COLUMNS,
            "FROM (VALUES (?1, ?2, ?3, ?4, ?5, ?6)) AS v",
            None,
        ));
        assert!(many.iter().any(|op| op == "OpenEphemeral"), "{many:?}");
    }

    /// The writer keeps the devices it resolved while `watch_ingest_generation` stays the same:
    /// what the answer depends on moves it on, the writer's own update of a device does not.
    #[test]
    fn only_what_resolving_a_device_depends_on_moves_the_generation() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        // The kernel's tables the watch tables refer to, as far as they matter here.
        conn.execute_batch(
            "CREATE TABLE people (id TEXT PRIMARY KEY); INSERT INTO people (id) VALUES ('p1'); \
             CREATE TABLE consents (id TEXT PRIMARY KEY, withdrawn_at INTEGER);",
        )
        .unwrap();
        conn.execute_batch(include_str!("../../migrations/sqlite/0001_watch.sql"))
            .unwrap();
        conn.execute_batch(include_str!("../../migrations/sqlite/0003_ingest_cache.sql"))
            .unwrap();
        let generation = || -> i64 {
            conn.query_row("SELECT n FROM watch_ingest_generation", [], |r| r.get(0))
                .unwrap()
        };
        conn.execute_batch(
            "INSERT INTO consents (id) VALUES ('co1'); \
             INSERT INTO watch_circles (id, person_id, created_by, created_at, consent_id, ladder_minutes) \
               VALUES ('c1', 'p1', 'p1', 0, 'co1', 15); \
             INSERT INTO watch_devices (id, circle_id, person_id, kind, token_hash, created_at) \
               VALUES ('d1', 'c1', 'p1', 'bulb', 'h1', 0);",
        )
        .unwrap();
        let start = generation();
        assert_eq!(start, 2, "a new circle and a new device each move it");

        conn.execute(
            &update_device(["?1", "?2", "?3", "?4", "?5", "?6"], "", None),
            rusqlite::params!["d1", "on", 10, 1, 0, 10],
        )
        .unwrap();
        assert_eq!(
            conn.query_row("SELECT last_value FROM watch_devices", [], |r| r.get::<_, String>(0))
                .unwrap(),
            "on"
        );
        conn.execute("UPDATE watch_circles SET paused_until = 5, quiet_start = 1", [])
            .unwrap();
        assert_eq!(generation(), start, "a device's last value, a pause: the same devices");

        let mut expected = start;
        for change in [
            "UPDATE watch_devices SET removed_at = 20",
            "UPDATE watch_devices SET token_hash = 'h2'",
            "UPDATE watch_circles SET closed_at = 30",
            "UPDATE watch_circles SET consent_id = NULL",
            "UPDATE consents SET withdrawn_at = 40",
            "DELETE FROM watch_devices",
            "DELETE FROM consents",
        ] {
            conn.execute(change, []).unwrap();
            expected += 1;
            assert_eq!(generation(), expected, "{change}");
        }
    }

    #[test]
    fn an_off_within_a_batch_starts_a_new_on_period() {
        let c = DeviceChange::of(&[(1, "on"), (2, "off"), (3, "on"), (4, "on")]);
        assert_eq!(
            (c.value, c.at, c.switch, c.off_in_batch, c.on_from),
            ("on", 4, Some(1), true, 3)
        );
        let c = DeviceChange::of(&[(5, "on"), (6, "on")]);
        assert_eq!((c.off_in_batch, c.on_from), (false, 5));
        let c = DeviceChange::of(&[(7, "on"), (8, "off")]);
        assert_eq!((c.switch, c.off_in_batch), (Some(0), true));
        let c = DeviceChange::of(&[(9, "open")]);
        assert_eq!(c.switch, None);
    }
}

/// The SQLite writer holding the signals of a busy batch and applying them later.
#[cfg(test)]
mod held {
    use rusqlite::Connection;

    use super::direct::{Known, Pending, apply_held, catch_up, ingest};
    use super::{Incoming, Ingested, Sender};

    /// The watch tables (every SQLite migration) and two watched persons: p1 with the devices
    /// d0, d2, …, d8, p2 with d1, d3, …, d9 (token hashes h0 … h9).
    fn town() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE people (id TEXT PRIMARY KEY); INSERT INTO people (id) VALUES ('p1'), ('p2'); \
             CREATE TABLE consents (id TEXT PRIMARY KEY, withdrawn_at INTEGER); \
             INSERT INTO consents (id) VALUES ('co1'), ('co2');",
        )
        .unwrap();
        for m in crate::store::MIGRATIONS {
            conn.execute_batch(m.sqlite).unwrap();
        }
        for (c, p) in [("c1", "p1"), ("c2", "p2")] {
            conn.execute(
                "INSERT INTO watch_circles (id, person_id, created_by, created_at, consent_id, ladder_minutes) \
                 VALUES (?1, ?2, ?2, 0, ?3, 15)",
                [c, p, &format!("co{}", &p[1..])],
            )
            .unwrap();
            conn.execute("INSERT INTO watch_state (person_id) VALUES (?1)", [p])
                .unwrap();
        }
        for i in 0..10 {
            let (c, p) = if i % 2 == 0 { ("c1", "p1") } else { ("c2", "p2") };
            conn.execute(
                "INSERT INTO watch_devices (id, circle_id, person_id, kind, token_hash, created_at) \
                 VALUES (?1, ?2, ?3, 'bulb', ?4, 0)",
                [&format!("d{i}"), c, p, &hash(i)],
            )
            .unwrap();
        }
        conn
    }

    fn hash(i: usize) -> String {
        format!("{i:064x}")
    }

    fn from_device(i: usize, value: &str, at: i64) -> Incoming {
        Incoming {
            sender: Sender::TokenHash(hash(i)),
            value: value.into(),
            at,
        }
    }

    /// The ten devices once each: d{i} says `value` at `at + i`.
    fn round(value: &str, at: i64) -> Vec<Incoming> {
        (0..10).map(|i| from_device(i, value, at + i as i64)).collect()
    }

    /// A device's id, last value, last time and since when it is on.
    type DeviceRow = (String, Option<String>, Option<i64>, Option<i64>);

    fn devices(conn: &Connection) -> Vec<DeviceRow> {
        let mut q = conn
            .prepare("SELECT id, last_value, last_at, on_since FROM watch_devices ORDER BY id")
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn state(conn: &Connection, person: &str) -> (Option<i64>, Option<i64>) {
        conn.query_row(
            "SELECT last_signal_at, last_checkin_at FROM watch_state WHERE person_id = ?1",
            [person],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    /// Signals in the writer's log (held, not yet moved into `watch_signals`).
    fn logged(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM watch_signal_log", [], |r| r.get(0))
            .unwrap()
    }

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM watch_signals", [], |r| r.get(0))
            .unwrap()
    }

    /// The direct writer's connection and what its thread keeps between batches.
    struct Writer {
        conn: Connection,
        known: Known,
        pending: Pending,
    }

    impl Writer {
        fn new() -> Writer {
            Writer {
                conn: town(),
                known: Known::default(),
                pending: Pending::default(),
            }
        }

        fn write(&mut self, signals: &[Incoming], apply: bool) -> Vec<Ingested> {
            ingest(&mut self.conn, &mut self.known, &mut self.pending, 0, signals, apply).unwrap()
        }
    }

    #[test]
    fn a_busy_batch_is_written_at_once_and_applied_later_all_together() {
        let mut w = Writer::new();
        let mut batch = round("on", 1_000);
        batch.push(Incoming {
            sender: Sender::Person {
                person_id: "p1".into(),
                source: "checkin",
            },
            value: "genki".into(),
            at: 5_000,
        });
        let results = w.write(&batch, false);
        assert!(
            results.iter().all(|r| matches!(r, Ingested::Stored { .. })),
            "{results:?}"
        );
        // Every signal is in the database (the log); the person's own 「元気です」 counts at once.
        assert_eq!((count(&w.conn), logged(&w.conn)), (0, 11));
        assert_eq!(state(&w.conn, "p1"), (Some(5_000), Some(5_000)));
        assert_eq!(state(&w.conn, "p2"), (None, None), "the devices' signals are held");
        assert!(devices(&w.conn).iter().all(|d| d.1.is_none()));

        // A second busy batch: on, off and on again within what is held.
        let mut again = round("off", 2_000);
        again.extend(round("on", 3_000));
        w.write(&again, false);
        assert_eq!((count(&w.conn), logged(&w.conn)), (0, 31));
        assert_eq!(state(&w.conn, "p2"), (None, None));

        apply_held(&mut w.conn, &mut w.pending).unwrap();
        assert_eq!(state(&w.conn, "p1"), (Some(5_000), Some(5_000)));
        assert_eq!(state(&w.conn, "p2"), (Some(3_009), None));
        for (i, d) in devices(&w.conn).into_iter().enumerate() {
            let at = 3_000 + i as i64;
            // On since the last "on" after the "off", not since the first one.
            assert_eq!(d, (format!("d{i}"), Some("on".into()), Some(at), Some(at)));
        }
        assert_eq!((count(&w.conn), logged(&w.conn)), (31, 0));
        // Moved in the order of the persons' index.
        let people: Vec<String> = w
            .conn
            .prepare("SELECT person_id FROM watch_signals ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert!(people.is_sorted(), "{people:?}");
    }

    #[test]
    fn a_lone_signal_is_applied_at_once_unless_signals_are_held() {
        let mut w = Writer::new();
        // Nothing held: the writer keeps up, and the signal is applied as it is written.
        w.write(&[from_device(3, "on", 500)], false);
        assert_eq!(
            devices(&w.conn)[3],
            ("d3".into(), Some("on".into()), Some(500), Some(500))
        );
        assert_eq!(state(&w.conn, "p2"), (Some(500), None));
        assert_eq!((count(&w.conn), logged(&w.conn)), (1, 0));

        w.write(&round("on", 1_000), false);
        // While signals are held, a lone one is held with them (under load, big and small
        // batches come by turns).
        w.write(&[from_device(3, "off", 1_500)], false);
        assert_eq!(
            devices(&w.conn)[3],
            ("d3".into(), Some("on".into()), Some(500), Some(500))
        );
        assert_eq!(state(&w.conn, "p2"), (Some(500), None));
        assert_eq!((count(&w.conn), logged(&w.conn)), (1, 11));

        // Asked to apply (a reader waits): everything, the busy batch that asks included.
        w.write(&round("off", 2_000), true);
        let d = devices(&w.conn);
        assert!(
            d.iter().all(|d| d.1.as_deref() == Some("off") && d.3.is_none()),
            "{d:?}"
        );
        assert_eq!(state(&w.conn, "p2"), (Some(2_009), None));
        assert_eq!((count(&w.conn), logged(&w.conn)), (22, 0));
    }

    #[test]
    fn a_writer_started_again_applies_what_a_stop_without_warning_left_held() {
        let mut w = Writer::new();
        w.write(&round("on", 1_000), false);
        w.write(&round("off", 2_000), false);
        assert_eq!(state(&w.conn, "p1"), (None, None));
        assert_eq!((count(&w.conn), logged(&w.conn)), (0, 20));
        // The process ends here: what was held in memory is gone, the log is not.
        w.pending = Pending::default();

        assert_eq!(catch_up(&mut w.conn).unwrap(), 20);
        assert_eq!(state(&w.conn, "p1"), (Some(2_008), None));
        assert_eq!(state(&w.conn, "p2"), (Some(2_009), None));
        assert!(
            devices(&w.conn)
                .iter()
                .all(|d| d.1.as_deref() == Some("off") && d.3.is_none())
        );
        assert_eq!((count(&w.conn), logged(&w.conn)), (20, 0));
        assert_eq!(catch_up(&mut w.conn).unwrap(), 0, "nothing twice");
    }
}
