//! Signals arrive all the time (every device of every watched person, every few minutes).
//! One task writes them in batches: devices resolved, signals inserted, the per-person state
//! (`watch_state`) and the devices' live fields updated; each sender gets its reply once its
//! batch is committed. The sweep reads `watch_state`, never the signals.
//!
//! On a SQLite file, under load, the writer holds signals for up to a second: each is appended
//! to a log before its reply, and then many at once are moved into `watch_signals` and applied
//! to the state and the devices, in key order. Readers of the signals, the state or the devices
//! call [`settle`] first, and a restarted writer applies what a crash left in the log
//! (`sqlite::Pending`).

mod plan;
mod pool;
mod sqlite;
mod state;
mod sweep;

use std::collections::HashMap;
use std::sync::Arc;

use kernel::store::{Db, padded_in_list, padded_len, values_placeholders};
use kernel::{Error, Kernel, Result, in_tx, on_db};
use tokio::sync::{mpsc, oneshot};

use plan::*;
pub use pool::ingest;
pub use state::*;
pub use sweep::*;

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
/// connection of its own (`sqlite`); otherwise (PostgreSQL, SQLite in memory) a task on the pool.
pub fn writer(k: &Kernel) -> Arc<Writer> {
    k.extensions.get_or_init(|| {
        let (tx, rx) = mpsc::channel(BATCH * 64);
        match sqlite::open(&k.db) {
            Some(Ok(conn)) => {
                // The clock only, not the kernel: the thread ends when the kernel (and with it
                // this writer's sender) is dropped.
                let (clock, frames) = (k.clock.clone(), crate::config::of(k).checkpoint_frames as i32);
                let holding = Arc::new(std::sync::atomic::AtomicBool::new(false));
                let held = holding.clone();
                std::thread::Builder::new()
                    .name("watch-signals".into())
                    .spawn(move || sqlite::run(clock, conn, rx, frames, &held))
                    .expect("start the signal writer thread");
                // What the writer holds is applied within about `sqlite::HOLD` even when no
                // more signals come (a weak sender: the timer does not keep the writer alive).
                let timer = tx.downgrade();
                tokio::spawn(async move {
                    let mut every = tokio::time::interval(sqlite::HOLD);
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
