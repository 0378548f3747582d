//! Answers arrive in bursts (a quake: every household at once). They go through the kernel's
//! batch writer (`kernel::store::batch`): one transaction per batch instead of one per answer,
//! and each request gets its reply only after its batch is committed, so a 2xx answer survives
//! a kill -9. On a SQLite file the writer is a thread with a connection of its own and one
//! prepared single-row INSERT (no hop to the pool's worker thread per statement, no statement
//! text built per batch); otherwise the batch is one multi-row INSERT through the pool
//! ([`super::record`]).

use std::sync::Arc;

use kernel::model::ids::IdSource;
use kernel::store::batch::{Batch, BatchWriter, Tuning};
use kernel::{Clock, Kernel, Result};
use rusqlite::{OptionalExtension, params};

use super::{NewAnswer, Recorded, record};

/// The answer writer's own state: the kernel's clock and ids, not the kernel itself (the
/// writer's thread ends when the kernel, holding the writer, is dropped).
pub struct Answers {
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdSource>,
}

/// Keeps only answers for households an open round asks; the trigger `safety_answer_is_latest`
/// makes each stored answer its household's latest state in the same statement.
const INSERT_ONE: &str = "INSERT INTO safety_answers (id, round_id, household_id, person_id, channel, status, \
     effective, members, comment, answered_at, proxy_by) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11 WHERE EXISTS (SELECT 1 FROM safety_targets t \
     JOIN safety_rounds r ON r.id = t.round_id WHERE t.round_id = ?2 AND t.household_id = ?3 \
     AND r.closed_at IS NULL)";

impl Batch for Answers {
    type Item = NewAnswer;
    type Done = Recorded;

    fn write_sqlite(
        &mut self,
        tx: &rusqlite::Transaction<'_>,
        answers: &[NewAnswer],
    ) -> rusqlite::Result<Vec<Recorded>> {
        let now = self.clock.now_ms();
        let mut insert = tx.prepare_cached(INSERT_ONE)?;
        let mut out = Vec::with_capacity(answers.len());
        for a in answers {
            let id = self.ids.new_id();
            let members = serde_json::to_string(&a.answer.members)
                .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
            let stored = insert.execute(params![
                id,
                a.round_id,
                a.household_id,
                a.person_id,
                a.channel,
                a.answer.status.as_str(),
                a.answer.effective().as_str(),
                members,
                a.answer.comment,
                now,
                a.proxy_by,
            ])?;
            if stored == 1 {
                out.push(Recorded::Stored { id, at: now });
                continue;
            }
            // Rare: the round is closed or unknown, or the household is not asked.
            let closed: Option<Option<i64>> = tx
                .prepare_cached("SELECT closed_at FROM safety_rounds WHERE id = ?1")?
                .query_row([&a.round_id], |r| r.get(0))
                .optional()?;
            out.push(match closed.flatten() {
                Some(at) => Recorded::Closed(at),
                None => Recorded::NotTargeted,
            });
        }
        Ok(out)
    }

    async fn write_pool(&self, k: &Kernel, answers: &[NewAnswer]) -> Result<Vec<Recorded>> {
        record(k, answers).await
    }
}

pub struct Writer(BatchWriter<Answers>);

/// The kernel's answer writer, started on first use.
pub fn writer(k: &Kernel) -> Arc<Writer> {
    k.extensions.get_or_init(|| {
        let answers = Answers {
            clock: k.clock.clone(),
            ids: k.ids.clone(),
        };
        // 256 answers at most in one transaction: large enough to amortise the commit, small
        // enough that the first in a batch does not wait long.
        let tuning = Tuning {
            batch: 256,
            ..Tuning::default()
        };
        Writer(BatchWriter::start(k, "safety-answers", tuning, answers))
    })
}

impl Writer {
    pub async fn submit(&self, answer: NewAnswer) -> Result<Recorded> {
        self.0.submit(answer).await
    }
}
