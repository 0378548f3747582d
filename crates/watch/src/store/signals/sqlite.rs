//! The SQLite writer: a thread with a connection of its own, so a batch costs no hop between
//! threads per statement (the pool's connections each run on a worker thread of their own), its
//! single-row statements are prepared once, and its page cache stays warm (the only writer of
//! these tables, its cache is not thrown away when another connection writes).

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::*;
use kernel::store::batch;

/// Its page cache: SQLite's default, 2 MB, and not more. A commit whose inserts split a page
/// walks the whole cache: `balance_nonroot` renumbers pages through the pending-byte page
/// (page 262,145), and the commit's truncate of the cache to the database's size then scans
/// every hash slot and page. With 16 MB that walk was 12–16% of the writer's time (perf,
/// 100,000 devices), and the pages it read from the file were no fewer than with 2 MB.
const CACHE_KIB: i64 = 2 * 1024;

/// How long a batch of several signals waits for more before it is written.
const GATHER: std::time::Duration = std::time::Duration::from_micros(250);

/// A connection of its own to the database file (the kernel's batch-writer connection, with
/// the page cache above); None when there is no file (PostgreSQL, SQLite in memory).
pub fn open(db: &Db) -> Option<std::result::Result<Connection, rusqlite::Error>> {
    batch::own_connection(db, CACHE_KIB)
}

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
    let mut checkpoints = batch::Checkpoints::start("watch-signals", conn.path(), frames);
    // What a stop without warning left unapplied; a reader's `settle` waits for this.
    match catch_up(&mut conn) {
        Ok(0) => {}
        Ok(n) => tracing::info!(signals = n, "signal writer: applied the signals a stop left unapplied"),
        Err(e) => tracing::warn!(error = %e, "signal writer: could not apply the signals a stop left unapplied"),
    }
    // Group commit: when several senders are at it at once, the others in flight are a moment
    // away; waiting for them halves the transactions under load. A lone signal is written at once.
    while batch::gather(&mut rx, &mut jobs, BATCH, GATHER) > 0 {
        let (mut batch, settles, ticked) = sort_jobs(&mut jobs);
        // A tick alone: the writer has nothing else to do.
        let apply = !settles.is_empty() || (ticked && (batch.is_empty() || pending.due()));
        if !batch.is_empty() {
            batch::reply_all("signal writer", &mut batch, |signals| {
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

/// The SQLite writer holding the signals of a busy batch and applying them later.
#[cfg(test)]
mod held {
    use rusqlite::Connection;

    use super::{Incoming, Ingested, Known, Pending, Sender, apply_held, catch_up, ingest};

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

    /// The SQLite writer's connection and what its thread keeps between batches.
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
