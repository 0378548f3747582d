//! Answers arrive in bursts (a quake: every household at once). One task writes them in
//! batches — one transaction per batch instead of one per answer — and each request gets its
//! reply only after its batch is committed, so a 2xx answer survives a kill -9.

use std::sync::Arc;

use kernel::{Error, Kernel, Result};
use tokio::sync::{mpsc, oneshot};

use super::{NewAnswer, Recorded, record};

/// Most answers in one transaction: large enough to amortise the commit, small enough that
/// the first in a batch does not wait long.
const BATCH: usize = 256;

type Job = (NewAnswer, oneshot::Sender<Result<Recorded>>);

pub struct Writer {
    tx: mpsc::Sender<Job>,
}

/// The kernel's answer writer, started on first use.
pub fn writer(k: &Kernel) -> Arc<Writer> {
    k.extensions.get_or_init(|| {
        let (tx, rx) = mpsc::channel(BATCH * 64);
        tokio::spawn(run(k.clone(), rx));
        Writer { tx }
    })
}

impl Writer {
    pub async fn submit(&self, answer: NewAnswer) -> Result<Recorded> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send((answer, reply))
            .await
            .map_err(|_| Error::Unavailable("answer writer stopped".into()))?;
        wait.await
            .map_err(|_| Error::Unavailable("answer writer stopped".into()))?
    }
}

async fn run(k: Kernel, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let answers: Vec<NewAnswer> = batch.iter().map(|(a, _)| a.clone()).collect();
        match record(&k, &answers).await {
            Ok(results) => {
                for ((_, reply), r) in batch.drain(..).zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(e) => {
                // One bad answer must not fail the others: write them one by one.
                tracing::warn!(error = %e, answers = batch.len(), "batch of answers failed; writing one by one");
                for (a, reply) in batch.drain(..) {
                    let r = record(&k, std::slice::from_ref(&a))
                        .await
                        .and_then(|mut v| v.pop().ok_or_else(|| Error::Internal("no result".into())));
                    let _ = reply.send(r);
                }
            }
        }
    }
}
