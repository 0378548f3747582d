//! The batch writer of the hot paths (watch's signals, safety's answers): a typed queue and
//! one writer that groups what waits into one transaction and acknowledges each caller only
//! once that transaction is committed, so a 2xx reply survives a kill -9.
//!
//! Per backend:
//! - **a SQLite file**: a thread with a connection of its own (`rusqlite`, the same bundled
//!   SQLite as the pool's), prepared statements kept, a group commit (a batch of several waits
//!   [`Tuning::gather`] for the others in flight), and the WAL copied back by a checkpoint thread
//!   of its own instead of inside the commit that fills it ([`Checkpoints`]);
//! - **PostgreSQL, SQLite in memory**: a task on the pool, one batch at a time (the next one
//!   gathers while one is written).
//!
//! A failed batch is written again one item at a time, so one bad item does not fail the others.
//!
//! A module implements [`Batch`] (its SQL for either path) and keeps the [`BatchWriter`] in the
//! kernel's extensions. Watch's signal writer, which also holds signals back under load, runs
//! its own loop on the same parts: [`own_connection`], [`Checkpoints`], [`gather`], [`reply_all`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::store::Db;
use crate::{Error, Kernel, Result};

/// How a writer groups and writes.
#[derive(Debug, Clone, Copy)]
pub struct Tuning {
    /// Most items in one transaction.
    pub batch: usize,
    /// SQLite file: how long a batch of several items waits for the others in flight (as
    /// PostgreSQL's `commit_delay`); a lone item is written at once.
    pub gather: Duration,
    /// SQLite file: the writer connection's page cache, in KiB (see watch's signal writer for
    /// why not more than SQLite's default 2 MB).
    pub cache_kib: i64,
    /// SQLite file: frames in the WAL past which the checkpoint thread is asked to copy it back.
    pub checkpoint_frames: i32,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            batch: 512,
            gather: Duration::from_micros(250),
            cache_kib: 2 * 1024,
            checkpoint_frames: 16_000,
        }
    }
}

/// What one module writes in batches.
pub trait Batch: Send + Sync + 'static {
    type Item: Send + Sync + 'static;
    type Done: Send + 'static;

    /// Write a batch inside the transaction of the writer's own SQLite connection; one result
    /// per item, in order. Use `tx.prepare_cached`: the statements are kept between batches.
    fn write_sqlite(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        items: &[Self::Item],
    ) -> rusqlite::Result<Vec<Self::Done>>;

    /// Write a batch through the pool (PostgreSQL, SQLite in memory), in one transaction or
    /// one statement; one result per item, in order.
    fn write_pool(&self, k: &Kernel, items: &[Self::Item]) -> impl Future<Output = Result<Vec<Self::Done>>> + Send;
}

type Job<B> = (<B as Batch>::Item, oneshot::Sender<Result<<B as Batch>::Done>>);

/// The queue in front of one writer.
pub struct BatchWriter<B: Batch> {
    tx: mpsc::Sender<Job<B>>,
    name: &'static str,
}

impl<B: Batch> BatchWriter<B> {
    /// Start the writer: a thread on a SQLite file (named `name`), a task otherwise. The
    /// thread ends when this writer (its sender) is dropped, so `batch` must not hold the
    /// kernel; the task holds a clone of it.
    pub fn start(k: &Kernel, name: &'static str, tuning: Tuning, mut batch: B) -> BatchWriter<B> {
        let (tx, mut rx) = mpsc::channel::<Job<B>>(tuning.batch * 64);
        match own_connection(&k.db, tuning.cache_kib) {
            Some(Ok(mut conn)) => {
                std::thread::Builder::new()
                    .name(name.into())
                    .spawn(move || {
                        let mut checkpoints = Checkpoints::start(name, conn.path(), tuning.checkpoint_frames);
                        let mut jobs = Vec::with_capacity(tuning.batch);
                        while gather(&mut rx, &mut jobs, tuning.batch, tuning.gather) > 0 {
                            reply_all(name, &mut jobs, |items| {
                                write_file(&mut conn, &mut batch, items)
                                    .map_err(|e| Error::Unavailable(format!("{name}: {e}")))
                            });
                            checkpoints.after_batch(&conn);
                        }
                    })
                    .expect("start a batch writer thread");
            }
            other => {
                if let Some(Err(e)) = other {
                    tracing::warn!(error = %e, writer = name, "no connection of its own; writing through the pool");
                }
                let k = k.clone();
                tokio::spawn(async move {
                    let mut jobs: Vec<Job<B>> = Vec::with_capacity(tuning.batch);
                    while rx.recv_many(&mut jobs, tuning.batch).await > 0 {
                        let (items, replies): (Vec<B::Item>, Vec<_>) = jobs.drain(..).unzip();
                        let results = match batch.write_pool(&k, &items).await {
                            Ok(done) => done.into_iter().map(Ok).collect(),
                            Err(e) => {
                                tracing::warn!(error = %e, writer = name, items = items.len(), "batch failed; writing one by one");
                                let mut results = Vec::with_capacity(items.len());
                                for item in &items {
                                    results.push(batch.write_pool(&k, std::slice::from_ref(item)).await.and_then(one));
                                }
                                results
                            }
                        };
                        for (reply, r) in replies.into_iter().zip(results) {
                            let _ = reply.send(r);
                        }
                    }
                });
            }
        }
        BatchWriter { tx, name }
    }

    /// Queue an item; the result once its batch is committed.
    pub async fn submit(&self, item: B::Item) -> Result<B::Done> {
        let (reply, wait) = oneshot::channel();
        let gone = || Error::Unavailable(format!("{} stopped", self.name));
        self.tx.send((item, reply)).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }
}

/// One batch in one IMMEDIATE transaction of the writer's connection.
fn write_file<B: Batch>(conn: &mut Connection, batch: &mut B, items: &[B::Item]) -> rusqlite::Result<Vec<B::Done>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let done = batch.write_sqlite(&tx, items)?;
    tx.commit()?;
    Ok(done)
}

fn one<D>(mut v: Vec<D>) -> Result<D> {
    match (v.pop(), v.is_empty()) {
        (Some(d), true) => Ok(d),
        _ => Err(Error::Internal("a batch of one gave no single result".into())),
    }
}

/// Reply to each caller once its batch is written; a failed batch is written again one item at
/// a time, so one bad item does not fail the others.
pub fn reply_all<I, D>(
    name: &str,
    batch: &mut Vec<(I, oneshot::Sender<Result<D>>)>,
    mut write: impl FnMut(&[I]) -> Result<Vec<D>>,
) {
    let (items, replies): (Vec<I>, Vec<_>) = batch.drain(..).unzip();
    match write(&items) {
        Ok(results) if results.len() == items.len() => {
            for (reply, r) in replies.into_iter().zip(results) {
                let _ = reply.send(Ok(r));
            }
        }
        // Committed, but the results do not line up with the items: writing again would store
        // them twice, so every caller hears of the fault instead.
        Ok(results) => {
            tracing::error!(
                writer = name,
                items = items.len(),
                results = results.len(),
                "batch results do not match"
            );
            for reply in replies {
                let _ = reply.send(Err(crate::Error::Internal(format!(
                    "{name}: {} results for {} items",
                    results.len(),
                    items.len()
                ))));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, writer = name, items = items.len(), "batch failed; writing one by one");
            for (item, reply) in items.iter().zip(replies) {
                let _ = reply.send(write(std::slice::from_ref(item)).and_then(one));
            }
        }
    }
}

/// Receive the next batch on a writer thread: wait for one job, take what else is queued and,
/// when there are several (others in flight are a moment away), wait `gather` once for more —
/// a group commit that halves the transactions under load. 0 when the queue is closed.
pub fn gather<T>(rx: &mut mpsc::Receiver<T>, jobs: &mut Vec<T>, most: usize, wait: Duration) -> usize {
    if rx.blocking_recv_many(jobs, most) == 0 {
        return 0;
    }
    if jobs.len() > 1 && jobs.len() < most {
        std::thread::sleep(wait);
        while jobs.len() < most {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
    }
    jobs.len()
}

/// A connection of its own to the database file, for a writer thread; None when there is no
/// file (PostgreSQL, SQLite in memory). Its page cache is `cache_kib`; SQLite's automatic
/// checkpoint is replaced by [`Checkpoints`] (which must run on the same thread).
pub fn own_connection(db: &Db, cache_kib: i64) -> Option<std::result::Result<Connection, rusqlite::Error>> {
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
        conn.pragma_update(None, "cache_size", -cache_kib)?;
        conn.wal_hook(Some(note_frames));
        Ok(conn)
    }))
}

/// As the pool's connections (`store::Db::connect`): WAL, NORMAL, foreign keys, 10 s busy wait.
pub fn connect(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

thread_local! {
    /// Frames in the WAL after this thread's writer's last commit.
    static WAL_FRAMES: std::cell::Cell<i32> = const { std::cell::Cell::new(0) };
}

fn note_frames(_: &rusqlite::hooks::Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(frames);
    Ok(())
}

/// Past this many times `checkpoint_frames`, the checkpoint thread has fallen behind: the writer
/// waits for it, then checkpoints itself.
const BEHIND: i32 = 3;

/// How long a writer that is far behind waits for the checkpoint thread before it goes on
/// writing (a reader holding the WAL can keep a checkpoint from finishing).
const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A writer's checkpoints. SQLite's automatic checkpoint runs inside the commit that fills the
/// WAL past 1,000 frames: that batch's replies, and every item after it, waited for the
/// checkpoint's writes and fsyncs. Here a thread of its own copies the WAL into the database
/// while the writer goes on. A checkpoint that runs while the writer appends cannot empty the
/// WAL (SQLite starts it over only once everything in it has been copied), so when the thread
/// is done, the writer copies the little written since itself, and its next transaction starts
/// the WAL over.
///
/// Why 16,000 frames by default (watch's `[watch] checkpoint_frames`): signals from devices in
/// no particular order dirty about three pages each, all over the tables; at 1,000 frames the
/// checkpoint thread copied the WAL back and synced both files every 300-odd signals, and a page
/// the next signals touched again was copied as many times. At 16,000 a hot page is copied once
/// for several writes and the syncs are 16 times fewer: the signal writer went from 41–46 to
/// 31 µs per signal (4,000 and 8,000 in between, 32,000 no better).
pub struct Checkpoints {
    name: &'static str,
    frames: i32,
    /// None: no thread (it could not start); the writer checkpoints itself.
    thread: Option<(std::sync::mpsc::SyncSender<()>, Arc<AtomicBool>)>,
    asked: bool,
}

impl Checkpoints {
    /// On the writer's thread (the WAL hook counts there).
    pub fn start(name: &'static str, path: Option<&str>, frames: i32) -> Checkpoints {
        let thread = path.and_then(|path| {
            let conn = connect(std::path::Path::new(path))
                .map_err(|e| tracing::warn!(error = %e, writer = name, "no checkpoint thread; checkpointing itself"))
                .ok()?;
            let (ask, asked) = std::sync::mpsc::sync_channel::<()>(1);
            let done = Arc::new(AtomicBool::new(false));
            let finished = done.clone();
            std::thread::Builder::new()
                .name(format!("{name}-checkpoint"))
                .spawn(move || {
                    // Ends with the writer (its sender dropped).
                    while asked.recv().is_ok() {
                        checkpoint(name, &conn);
                        finished.store(true, Ordering::Release);
                    }
                })
                .ok()?;
            Some((ask, done))
        });
        Checkpoints {
            name,
            frames,
            thread,
            asked: false,
        }
    }

    /// After a batch's replies have gone out.
    pub fn after_batch(&mut self, conn: &Connection) {
        let frames = WAL_FRAMES.get();
        if frames < self.frames {
            return;
        }
        match &self.thread {
            Some((ask, _)) if !self.asked => {
                self.asked = ask.try_send(()).is_ok();
            }
            Some((_, done)) if done.swap(false, Ordering::AcqRel) => {
                self.asked = false;
                WAL_FRAMES.set(0);
                checkpoint(self.name, conn);
            }
            // Still copying, and not yet far behind.
            Some(_) if frames < BEHIND * self.frames => {}
            // Far behind (a busy machine: the thread gets little CPU): the writer's own
            // checkpoint would only find the thread's in its way and fail, and the WAL would go
            // on growing. Wait for the thread instead — the back-pressure that bounds the WAL —
            // then copy the rest.
            Some((_, done)) => {
                let waited = std::time::Instant::now();
                while !done.swap(false, Ordering::AcqRel) {
                    if waited.elapsed() > MAX_WAIT {
                        tracing::warn!(writer = self.name, frames, "checkpoint thread still busy; going on");
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                self.asked = false;
                WAL_FRAMES.set(0);
                checkpoint(self.name, conn);
            }
            None => {
                WAL_FRAMES.set(0);
                checkpoint(self.name, conn);
            }
        }
    }
}

/// Copy what the WAL holds into the database, as far as readers allow (PASSIVE: no waiting).
fn checkpoint(name: &str, conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, writer = name, "checkpoint failed; tried again later");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Doubles numbers; refuses 13 (so a batch holding it is written again one by one).
    struct Doubler;

    impl Batch for Doubler {
        type Item = i64;
        type Done = i64;

        fn write_sqlite(&mut self, tx: &rusqlite::Transaction<'_>, items: &[i64]) -> rusqlite::Result<Vec<i64>> {
            let mut q = tx.prepare_cached("INSERT INTO batch_test (n) VALUES (?1)")?;
            let mut out = Vec::new();
            for n in items {
                if *n == 13 {
                    return Err(rusqlite::Error::InvalidQuery);
                }
                q.execute([n])?;
                out.push(n * 2);
            }
            Ok(out)
        }

        async fn write_pool(&self, _: &Kernel, items: &[i64]) -> Result<Vec<i64>> {
            if items.contains(&13) {
                return Err(Error::Internal("13".into()));
            }
            Ok(items.iter().map(|n| n * 2).collect())
        }
    }

    async fn burst(w: Arc<BatchWriter<Doubler>>) -> Vec<Result<i64>> {
        let tasks: Vec<_> = (0..200i64)
            .map(|n| {
                let w = w.clone();
                tokio::spawn(async move { w.submit(n).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    fn check(results: &[Result<i64>]) {
        for (n, r) in results.iter().enumerate() {
            match n {
                13 => assert!(r.is_err(), "13 is refused"),
                _ => assert_eq!(r.as_ref().ok(), Some(&(n as i64 * 2))),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_file_every_caller_gets_its_own_result_after_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.db");
        let db = Db::connect(path.to_str().unwrap()).await.unwrap();
        let k = Kernel::new(db, crate::config::Config::default());
        {
            let conn = connect(&path).unwrap();
            conn.execute("CREATE TABLE batch_test (n INTEGER NOT NULL)", [])
                .unwrap();
        }
        let w = Arc::new(BatchWriter::start(&k, "batch-test", Tuning::default(), Doubler));
        check(&burst(w).await);
        // Committed before the replies: all but the refused one are in the file.
        let conn = connect(&path).unwrap();
        let n: i64 = conn
            .query_row("SELECT count(*) FROM batch_test", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 199);
    }

    #[tokio::test]
    async fn through_the_pool_a_bad_item_fails_alone() {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        let k = Kernel::new(db, crate::config::Config::default());
        let w = Arc::new(BatchWriter::start(&k, "batch-test", Tuning::default(), Doubler));
        check(&burst(w).await);
    }
}
