//! Safety rounds on disk: starting a round (every household of the area becomes a target in
//! one statement), answers with history (the latest wins in `safety_targets`), tallies per
//! area, follow-up lists and visits, single-use answer links, reminders and escalation.

pub mod writer;

use kernel::store::{Db, Tx};
use kernel::{Error, Kernel, Result, in_tx, on_db, on_tx};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::answer::Answer;
use crate::model::tally::AreaTally;

pub static MIGRATIONS: &[kernel::store::migrate::Migration] = &[
    kernel::migration!("0001_safety"),
    kernel::migration!("0002_latest_answer"),
    kernel::migration!("0003_announced"),
    kernel::migration!("0004_proxy"),
    kernel::migration!("0005_no_foreign_key_into_alerts"),
];

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Round {
    pub id: String,
    pub title: String,
    pub area_id: String,
    /// `alert` (the town's rule), `officer` or `staff`.
    pub started_how: String,
    pub started_by: Option<String>,
    pub started_at: i64,
    pub closed_at: Option<i64>,
    pub reminders_sent: i64,
}

const COLUMNS: &str = "id, title, area_id, started_how, started_by, started_at, closed_at, reminders_sent";

/// Every area at or below `area` (by id), as an SQL subquery on parameter `$n`.
fn areas_below(n: usize) -> String {
    format!(
        "(WITH RECURSIVE down(id, depth) AS (SELECT id, 0 FROM areas WHERE id = ${n} \
         UNION ALL SELECT a.id, down.depth + 1 FROM areas a JOIN down ON a.parent_id = down.id WHERE down.depth < 16) \
         SELECT id FROM down)"
    )
}

/// Start a round for every household in `area_id` and below. With `alert_id`, the round is
/// that alert's: a second start for the same alert (another node, a retry) returns the first.
pub async fn start(
    k: &Kernel,
    area_id: &str,
    title: &str,
    how: &str,
    by: Option<&str>,
    alert_id: Option<&str>,
) -> Result<(Round, bool)> {
    if let Some(a) = alert_id
        && let Some(existing) = round_of_alert(&k.db, a).await?
    {
        return Ok((existing, false));
    }
    // An alert's round asks the households of the 町丁目 the alert reaches (not everything
    // under their common ancestor; alerts says which).
    let alert_areas = match alert_id {
        Some(a) => Some(alerts::service::for_others::area_ids(&k.db, a).await?),
        None => None,
    };
    let result = async {
        let mut tx = k.db.begin().await?;
        let round = start_in(
            &mut tx,
            k,
            area_id,
            title,
            how,
            by,
            alert_id.zip(alert_areas.as_deref()),
        )
        .await?;
        tx.commit().await?;
        Ok::<Round, Error>(round)
    }
    .await;
    match result {
        Ok(round) => Ok((round, true)),
        Err(Error::Database(e)) if Error::is_unique_violation(&e) && alert_id.is_some() => {
            let existing = round_of_alert(&k.db, alert_id.unwrap_or_default()).await?;
            existing.map(|r| (r, false)).ok_or(Error::Database(e))
        }
        Err(e) => Err(e),
    }
}

/// Start a round inside the caller's transaction (so its audit entry commits with it). With
/// `alert` = (alert id, the 町丁目 it reaches), the round is the alert's and asks those areas'
/// households; without, everyone under `area_id`.
pub async fn start_in(
    tx: &mut Tx,
    k: &Kernel,
    area_id: &str,
    title: &str,
    how: &str,
    by: Option<&str>,
    alert: Option<(&str, &[String])>,
) -> Result<Round> {
    let round = Round {
        id: k.new_id(),
        title: title.to_string(),
        area_id: area_id.to_string(),
        started_how: how.to_string(),
        started_by: by.map(str::to_string),
        started_at: k.now(),
        closed_at: None,
        reminders_sent: 0,
    };
    let (targets, areas) = match alert {
        Some((_, areas)) => (targets_of_areas(areas.len()), areas.to_vec()),
        None => (
            format!("{TARGETS} FROM households h WHERE h.area_id IN {}", areas_below(2)),
            vec![area_id.to_string()],
        ),
    };
    on_tx!(tx, |tx| {
        sqlx::query(
            "INSERT INTO safety_rounds (id, title, area_id, started_how, started_by, started_at) \
             VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(&round.id)
        .bind(&round.title)
        .bind(&round.area_id)
        .bind(&round.started_how)
        .bind(&round.started_by)
        .bind(round.started_at)
        .execute(&mut **tx)
        .await?;
        if let Some((a, _)) = alert {
            sqlx::query("INSERT INTO safety_round_alerts (alert_id, round_id, joined_at) VALUES ($1,$2,$3)")
                .bind(a)
                .bind(&round.id)
                .bind(round.started_at)
                .execute(&mut **tx)
                .await?;
        }
        if !areas.is_empty() {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(targets.as_str())).bind(&round.id);
            for a in &areas {
                q = q.bind(a);
            }
            q.execute(&mut **tx).await?;
        }
    });
    Ok(round)
}

/// The start of the statement that makes households targets of round `$1`.
const TARGETS: &str = "INSERT INTO safety_targets (round_id, household_id, area_id, needs_support) \
     SELECT $1, h.id, h.area_id, EXISTS (SELECT 1 FROM household_members hm JOIN people pe ON pe.id = hm.person_id \
     WHERE hm.household_id = h.id AND pe.needs_support AND pe.deleted_at IS NULL)";

/// Households of the `n` areas `$2`… (the 町丁目 an alert reaches), not yet asked in round `$1`.
fn targets_of_areas(n: usize) -> String {
    let areas = (0..n).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(",");
    format!(
        "{TARGETS} FROM households h WHERE h.area_id IN ({areas}) \
         AND NOT EXISTS (SELECT 1 FROM safety_targets t WHERE t.round_id = $1 AND t.household_id = h.id)"
    )
}

/// An aftershock's alert joins the open round, which then also asks the households of any
/// 町丁目 it reaches that the round did not (nothing happens if it already belongs to one).
pub async fn join(k: &Kernel, round_id: &str, alert_id: &str) -> Result<bool> {
    let areas = alerts::service::for_others::area_ids(&k.db, alert_id).await?;
    let targets = targets_of_areas(areas.len());
    let joined = in_tx!(&k.db, |tx| {
        let n = sqlx::query(
            "INSERT INTO safety_round_alerts (alert_id, round_id, joined_at) VALUES ($1,$2,$3) \
             ON CONFLICT (alert_id) DO NOTHING",
        )
        .bind(alert_id)
        .bind(round_id)
        .bind(k.now())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 && !areas.is_empty() {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(targets.as_str())).bind(round_id);
            for a in &areas {
                q = q.bind(a);
            }
            q.execute(&mut *tx).await?;
        }
        n > 0
    });
    Ok(joined)
}

/// When the first alert of a round was issued (aftershocks are counted from it).
pub async fn first_alert_at(db: &Db, round_id: &str) -> Result<Option<i64>> {
    let ids: Vec<String> = on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT alert_id FROM safety_round_alerts WHERE round_id = $1"
    )
    .bind(round_id)
    .fetch_all(p)
    .await)?;
    alerts::service::for_others::first_issued_at(db, &ids).await
}

/// Rounds whose households have not been asked yet (the node that started one died, or
/// sending failed): the job asks again until it is done.
pub async fn unannounced(db: &Db) -> Result<Vec<Round>> {
    let sql = format!("SELECT {COLUMNS} FROM safety_rounds WHERE announced_at IS NULL AND closed_at IS NULL");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Round>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .fetch_all(p)
    .await)?)
}

pub async fn mark_announced(k: &Kernel, round_id: &str) -> Result<()> {
    on_db!(&k.db, |p| sqlx::query(
        "UPDATE safety_rounds SET announced_at = $2 WHERE id = $1 AND announced_at IS NULL"
    )
    .bind(round_id)
    .bind(k.now())
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn round_of_alert(db: &Db, alert_id: &str) -> Result<Option<Round>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM safety_rounds WHERE id = (SELECT round_id FROM safety_round_alerts WHERE alert_id = $1)"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, Round>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(alert_id)
    .fetch_optional(p)
    .await)?)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Round>> {
    let sql = format!("SELECT {COLUMNS} FROM safety_rounds WHERE id = $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Round>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

pub async fn require(db: &Db, id: &str) -> Result<Round> {
    get(db, id)
        .await?
        .ok_or_else(|| Error::not_found("safety-round-not-found"))
}

/// Open rounds, newest first.
pub async fn open(db: &Db) -> Result<Vec<Round>> {
    let sql = format!("SELECT {COLUMNS} FROM safety_rounds WHERE closed_at IS NULL ORDER BY started_at DESC, id DESC");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Round>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .fetch_all(p)
    .await)?)
}

/// Newest first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<Round>> {
    let sql = format!("SELECT {COLUMNS} FROM safety_rounds ORDER BY started_at DESC, id DESC LIMIT $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Round>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Close a round; answers after this are refused with the closing time.
pub async fn close(k: &Kernel, id: &str) -> Result<Round> {
    on_db!(&k.db, |p| sqlx::query(
        "UPDATE safety_rounds SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL"
    )
    .bind(id)
    .bind(k.now())
    .execute(p)
    .await
    .map(|_| ()))?;
    require(&k.db, id).await
}

/// Actual alerts created since `since` (alerts says which) that have no round yet, oldest first.
pub async fn alerts_without_round(db: &Db, since: i64) -> Result<Vec<AlertRow>> {
    let mut recent = alerts::service::for_others::actual_since(db, since).await?;
    let mut with_round: std::collections::HashSet<String> = Default::default();
    let ids: Vec<&str> = recent.iter().map(|a| a.id.as_str()).collect();
    for chunk in ids.chunks(256) {
        let sql = format!(
            "SELECT alert_id FROM safety_round_alerts WHERE alert_id IN ({})",
            kernel::store::padded_in_list(1, chunk.len())
        );
        let found: Vec<String> = on_db!(db, |p| {
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str()));
            for i in 0..kernel::store::padded_len(chunk.len()) {
                q = q.bind(chunk[i.min(chunk.len() - 1)]);
            }
            q.fetch_all(p).await
        })?;
        with_round.extend(found);
    }
    recent.retain(|a| !with_round.contains(&a.id));
    Ok(recent)
}

/// An alert as the town's rule reads it.
pub type AlertRow = alerts::service::for_others::AlertFacts;

/// The smallest area covering every area an alert reaches: the round's area.
pub async fn alert_scope(db: &Db, alert_id: &str) -> Result<Option<String>> {
    let areas = alerts::service::for_others::area_ids(db, alert_id).await?;
    if areas.is_empty() {
        return Ok(None);
    }
    let mut common: Option<Vec<String>> = None;
    for a in &areas {
        let mut path = kernel::store::areas::path(db, Some(a)).await?;
        path.reverse(); // town first
        common = Some(match common {
            None => path,
            Some(c) => c
                .into_iter()
                .zip(path)
                .take_while(|(x, y)| x == y)
                .map(|(x, _)| x)
                .collect(),
        });
    }
    Ok(common.and_then(|c| c.last().cloned()))
}

/// A household's place in a round: (area id, latest status, needs support).
pub async fn target(db: &Db, round_id: &str, household_id: &str) -> Result<Option<(String, Option<String>)>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, Option<String>)>(
        "SELECT area_id, status FROM safety_targets WHERE round_id = $1 AND household_id = $2"
    )
    .bind(round_id)
    .bind(household_id)
    .fetch_optional(p)
    .await)?)
}

/// An answer to record.
#[derive(Debug, Clone)]
pub struct NewAnswer {
    pub round_id: String,
    pub household_id: String,
    pub person_id: Option<String>,
    /// A family member answering for a household not their own (代理回答).
    pub proxy_by: Option<String>,
    pub channel: String,
    pub answer: Answer,
}

/// What became of an answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Stored {
        id: String,
        at: i64,
    },
    /// The round closed (at this time) before the answer arrived.
    Closed(i64),
    /// The household is not part of the round.
    NotTargeted,
}

/// Record answers (the writer batches concurrent ones): one INSERT per 200 answers, which
/// keeps only answers for households an open round asks; a trigger makes each stored answer
/// its household's latest state in the same statement. Answers in one batch are in arrival
/// order, so the last one of a household wins.
pub async fn record(k: &Kernel, answers: &[NewAnswer]) -> Result<Vec<Recorded>> {
    use std::collections::HashSet;
    let now = k.now();
    let ids: Vec<String> = answers.iter().map(|_| k.new_id()).collect();
    let mut stored: HashSet<String> = HashSet::with_capacity(answers.len());
    let members: Vec<String> = answers
        .iter()
        .map(|a| serde_json::to_string(&a.answer.members).map_err(|e| Error::Internal(e.to_string())))
        .collect::<Result<_>>()?;
    // Rows are padded with blanks (which match no round and are never inserted) so a handful
    // of statement texts serve every batch size and prepared statements are reused.
    for (chunk, start) in answers.chunks(256).zip((0..).step_by(256)) {
        let padded = kernel::store::padded_len(chunk.len());
        let sql = format!(
            "WITH v (id, round_id, household_id, person_id, channel, status, effective, members, comment, answered_at, n, \
             proxy_by) AS (VALUES {}) \
             INSERT INTO safety_answers (id, round_id, household_id, person_id, channel, status, effective, members, \
             comment, answered_at, proxy_by) \
             SELECT v.id, v.round_id, v.household_id, v.person_id, v.channel, v.status, v.effective, v.members, \
             v.comment, v.answered_at, v.proxy_by FROM v WHERE EXISTS (SELECT 1 FROM safety_targets t JOIN safety_rounds r \
             ON r.id = t.round_id WHERE t.round_id = v.round_id AND t.household_id = v.household_id \
             AND r.closed_at IS NULL) ORDER BY v.n RETURNING id",
            kernel::store::values_placeholders(padded, 12)
        );
        let returned: Vec<String> = on_db!(&k.db, |p| {
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str()));
            for (i, a) in chunk.iter().enumerate() {
                q = q
                    .bind(&ids[start + i])
                    .bind(&a.round_id)
                    .bind(&a.household_id)
                    .bind(&a.person_id)
                    .bind(&a.channel)
                    .bind(a.answer.status.as_str())
                    .bind(a.answer.effective().as_str())
                    .bind(&members[start + i])
                    .bind(&a.answer.comment)
                    .bind(now)
                    .bind(i as i64)
                    .bind(&a.proxy_by);
            }
            for i in chunk.len()..padded {
                q = q
                    .bind("")
                    .bind("")
                    .bind("")
                    .bind(None::<String>)
                    .bind("")
                    .bind("")
                    .bind("")
                    .bind("")
                    .bind(None::<String>)
                    .bind(now)
                    .bind(i as i64)
                    .bind(None::<String>);
            }
            q.fetch_all(p).await
        })?;
        stored.extend(returned);
    }
    let mut out = Vec::with_capacity(answers.len());
    let mut closed_at: std::collections::HashMap<&str, Option<i64>> = Default::default();
    for (a, id) in answers.iter().zip(&ids) {
        if stored.contains(id) {
            out.push(Recorded::Stored {
                id: id.clone(),
                at: now,
            });
            continue;
        }
        // Rare: the round is closed or unknown, or the household is not asked.
        if !closed_at.contains_key(a.round_id.as_str()) {
            let closed: Option<Option<i64>> = on_db!(&k.db, |p| sqlx::query_scalar(
                "SELECT closed_at FROM safety_rounds WHERE id = $1"
            )
            .bind(&a.round_id)
            .fetch_optional(p)
            .await)?;
            closed_at.insert(a.round_id.as_str(), closed.flatten());
        }
        out.push(match closed_at.get(a.round_id.as_str()).copied().flatten() {
            Some(at) => Recorded::Closed(at),
            None => Recorded::NotTargeted,
        });
    }
    Ok(out)
}

/// Record one answer inside the caller's transaction, bypassing the batch writer: for the rare
/// answer that must commit together with its audit entry (family answering for a household).
/// Keeps only an answer for a household an open round asks, as [`record`] does.
pub async fn record_in(tx: &mut Tx, k: &Kernel, a: &NewAnswer) -> Result<Recorded> {
    let id = k.new_id();
    let now = k.now();
    let members = serde_json::to_string(&a.answer.members).map_err(|e| Error::Internal(e.to_string()))?;
    let stored = on_tx!(tx, |tx| sqlx::query(
        "INSERT INTO safety_answers (id, round_id, household_id, person_id, channel, status, effective, members, \
         comment, answered_at, proxy_by) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 \
         WHERE EXISTS (SELECT 1 FROM safety_targets t JOIN safety_rounds r ON r.id = t.round_id \
         WHERE t.round_id = $2 AND t.household_id = $3 AND r.closed_at IS NULL)"
    )
    .bind(&id)
    .bind(&a.round_id)
    .bind(&a.household_id)
    .bind(&a.person_id)
    .bind(&a.channel)
    .bind(a.answer.status.as_str())
    .bind(a.answer.effective().as_str())
    .bind(&members)
    .bind(&a.answer.comment)
    .bind(now)
    .bind(&a.proxy_by)
    .execute(&mut **tx)
    .await?
    .rows_affected());
    if stored == 1 {
        return Ok(Recorded::Stored { id, at: now });
    }
    let closed: Option<Option<i64>> = on_tx!(tx, |tx| sqlx::query_scalar(
        "SELECT closed_at FROM safety_rounds WHERE id = $1"
    )
    .bind(&a.round_id)
    .fetch_optional(&mut **tx)
    .await?);
    Ok(match closed.flatten() {
        Some(at) => Recorded::Closed(at),
        None => Recorded::NotTargeted,
    })
}

/// One answer from a household's history.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct AnswerRecord {
    pub id: String,
    pub person_id: Option<String>,
    pub channel: String,
    pub status: String,
    pub effective: String,
    /// JSON list of member states.
    pub members: String,
    pub comment: Option<String>,
    pub answered_at: i64,
    /// Who answered, by name.
    pub person: Option<String>,
    /// The family member who answered for the household, if one did (代理回答).
    pub proxy_by: Option<String>,
    pub proxy: Option<String>,
}

const HISTORY: &str = "SELECT s.id, s.person_id, s.channel, s.status, s.effective, s.members, s.comment, \
     s.answered_at, pe.display_name AS person, s.proxy_by, pp.display_name AS proxy FROM safety_answers s \
     LEFT JOIN people pe ON pe.id = s.person_id LEFT JOIN people pp ON pp.id = s.proxy_by \
     WHERE s.round_id = $1 AND s.household_id = $2 ORDER BY s.answered_at DESC, s.id DESC";

/// A household's answers in a round, latest first.
pub async fn history(db: &Db, round_id: &str, household_id: &str) -> Result<Vec<AnswerRecord>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, AnswerRecord>(HISTORY)
        .bind(round_id)
        .bind(household_id)
        .fetch_all(p)
        .await)?)
}

/// [`history`] inside the caller's transaction (a read recorded in the audit log).
pub async fn history_in(tx: &mut Tx, round_id: &str, household_id: &str) -> Result<Vec<AnswerRecord>> {
    Ok(on_tx!(tx, |tx| sqlx::query_as::<_, AnswerRecord>(HISTORY)
        .bind(round_id)
        .bind(household_id)
        .fetch_all(&mut **tx)
        .await?))
}

/// Households per area: (area id, code, name, households, safe, help), for the areas given
/// (all of the round's when None).
pub async fn tally(db: &Db, round_id: &str, only: Option<&[String]>) -> Result<Vec<AreaTally>> {
    let rows: Vec<(String, String, String, i64, i64, i64)> = on_db!(db, |p| sqlx::query_as(
        "SELECT t.area_id, a.code, a.name, COUNT(*), \
         SUM(CASE WHEN t.status = 'safe' THEN 1 ELSE 0 END), SUM(CASE WHEN t.status = 'help' THEN 1 ELSE 0 END) \
         FROM safety_targets t JOIN areas a ON a.id = t.area_id WHERE t.round_id = $1 \
         GROUP BY t.area_id, a.code, a.name ORDER BY a.code"
    )
    .bind(round_id)
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .filter(|r| only.is_none_or(|o| o.contains(&r.0)))
        .map(|(id, code, name, h, s, p)| AreaTally::new(id, code, name, h, s, p))
        .collect())
}

/// When each household first answered, in ms after the start (for the progress curve).
pub async fn first_answers(db: &Db, round: &Round, only: Option<&[String]>) -> Result<Vec<i64>> {
    let rows: Vec<(String, i64)> = on_db!(db, |p| {
        sqlx::query_as(
        "SELECT area_id, first_answered_at FROM safety_targets WHERE round_id = $1 AND first_answered_at IS NOT NULL"
    )
    .bind(&round.id)
    .fetch_all(p)
    .await
    })?;
    Ok(rows
        .into_iter()
        .filter(|(a, _)| only.is_none_or(|o| o.contains(a)))
        .map(|(_, t)| t - round.started_at)
        .collect())
}

/// A household on a follow-up list.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct FollowUp {
    pub household_id: String,
    pub household: String,
    pub address: Option<String>,
    pub area_id: String,
    pub area: String,
    pub status: Option<String>,
    pub needs_support: bool,
    pub answered_at: Option<i64>,
    pub comment: Option<String>,
    pub visitor_id: Option<String>,
    pub visitor: Option<String>,
    pub outcome: Option<String>,
    pub escalated_at: Option<i64>,
    /// The family member who gave the latest answer for the household, by name (代理回答).
    pub proxy: Option<String>,
}

/// 「助けが必要」 households, and silent ones with a 要支援者, in the given areas.
/// Read inside the caller's transaction, which records the read in the audit log.
pub async fn follow_up(tx: &mut Tx, round_id: &str, areas: &[String]) -> Result<Vec<FollowUp>> {
    let rows: Vec<FollowUp> = on_tx!(tx, |tx| sqlx::query_as::<_, FollowUp>(
        "SELECT t.household_id, h.name AS household, h.address, t.area_id, a.name AS area, t.status, \
         (t.needs_support = TRUE) AS needs_support, t.answered_at, \
         (SELECT s.comment FROM safety_answers s WHERE s.round_id = t.round_id AND s.household_id = t.household_id \
          ORDER BY s.answered_at DESC, s.id DESC LIMIT 1) AS comment, \
         v.visitor_id, pv.display_name AS visitor, v.outcome, t.escalated_at, \
         (SELECT pp.display_name FROM safety_answers s LEFT JOIN people pp ON pp.id = s.proxy_by \
          WHERE s.round_id = t.round_id AND s.household_id = t.household_id \
          ORDER BY s.answered_at DESC, s.id DESC LIMIT 1) AS proxy \
         FROM safety_targets t JOIN households h ON h.id = t.household_id JOIN areas a ON a.id = t.area_id \
         LEFT JOIN safety_visits v ON v.round_id = t.round_id AND v.household_id = t.household_id \
         LEFT JOIN people pv ON pv.id = v.visitor_id \
         WHERE t.round_id = $1 AND (t.status = 'help' OR (t.status IS NULL AND t.needs_support = TRUE)) \
         ORDER BY CASE WHEN t.status = 'help' THEN 0 ELSE 1 END, a.code, h.address, h.name"
    )
    .bind(round_id)
    .fetch_all(&mut **tx)
    .await?);
    Ok(rows.into_iter().filter(|r| areas.contains(&r.area_id)).collect())
}

/// Assign someone to visit a household (replacing an earlier assignment), in the caller's
/// transaction (its audit entry commits with it).
pub async fn assign_visit(
    tx: &mut Tx,
    now: i64,
    round_id: &str,
    household_id: &str,
    visitor: &str,
    by: &str,
) -> Result<()> {
    on_tx!(tx, |tx| {
        sqlx::query(
            "INSERT INTO safety_visits (round_id, household_id, visitor_id, assigned_by, assigned_at) \
             VALUES ($1,$2,$3,$4,$5) ON CONFLICT (round_id, household_id) DO UPDATE SET visitor_id = $3, \
             assigned_by = $4, assigned_at = $5, outcome = NULL, note = NULL, visited_at = NULL",
        )
        .bind(round_id)
        .bind(household_id)
        .bind(visitor)
        .bind(by)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    });
    Ok(())
}

/// The visit's outcome, in the caller's transaction; false if nobody was assigned.
pub async fn record_visit(
    tx: &mut Tx,
    now: i64,
    round_id: &str,
    household_id: &str,
    outcome: &str,
    note: Option<&str>,
) -> Result<bool> {
    let n = on_tx!(tx, |tx| {
        sqlx::query(
        "UPDATE safety_visits SET outcome = $3, note = $4, visited_at = $5 WHERE round_id = $1 AND household_id = $2"
    )
    .bind(round_id)
    .bind(household_id)
    .bind(outcome)
    .bind(note)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected()
    });
    Ok(n > 0)
}

/// People who may be sent to visit in an area: its officers and supporters (grants covering it).
pub async fn visitors(db: &Db, area_path: &[String]) -> Result<Vec<(String, String)>> {
    let rows: Vec<(String, String, Option<String>)> = on_db!(db, |p| {
        sqlx::query_as(
        "SELECT DISTINCT pe.id, pe.display_name, m.area_id FROM memberships m JOIN people pe ON pe.id = m.person_id \
         WHERE m.role IN ('officer', 'supporter') AND pe.deleted_at IS NULL ORDER BY pe.display_name"
    )
    .fetch_all(p)
    .await
    })?;
    let mut out: Vec<(String, String)> = Vec::new();
    for (id, name, scope) in rows {
        if scope.is_none_or(|s| area_path.contains(&s)) && !out.iter().any(|(x, _)| x == &id) {
            out.push((id, name));
        }
    }
    Ok(out)
}

// ---- links sent by e-mail ----

/// What an answer link turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Link {
    Valid {
        round_id: String,
        household_id: String,
        person_id: String,
    },
    Used(i64),
    Expired(i64),
    Unknown,
}

/// Make links for (person, household) pairs; returns the tokens in the same order.
pub async fn create_links(
    k: &Kernel,
    round_id: &str,
    people: &[(String, String)],
    expires_at: i64,
) -> Result<Vec<String>> {
    let tokens: Vec<String> = people.iter().map(|_| kernel::model::token::new_token()).collect();
    in_tx!(&k.db, |tx| {
        for ((person, household), token) in people.iter().zip(&tokens) {
            sqlx::query(
                "INSERT INTO safety_links (token_hash, round_id, household_id, person_id, expires_at) VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(kernel::model::token::token_hash(token))
            .bind(round_id)
            .bind(household)
            .bind(person)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        }
    });
    Ok(tokens)
}

/// Look a link up without using it (showing the form must not spend it: mail scanners open links).
pub async fn peek_link(k: &Kernel, token: &str) -> Result<Link> {
    let row: Option<(String, String, String, i64, Option<i64>)> = on_db!(&k.db, |p| sqlx::query_as(
        "SELECT round_id, household_id, person_id, expires_at, used_at FROM safety_links WHERE token_hash = $1"
    )
    .bind(kernel::model::token::token_hash(token))
    .fetch_optional(p)
    .await)?;
    Ok(match row {
        None => Link::Unknown,
        Some((_, _, _, _, Some(used))) => Link::Used(used),
        Some((_, _, _, exp, None)) if exp <= k.now() => Link::Expired(exp),
        Some((round_id, household_id, person_id, _, None)) => Link::Valid {
            round_id,
            household_id,
            person_id,
        },
    })
}

/// Spend a link: of many requests with it, only one ever gets `Valid`.
pub async fn use_link(k: &Kernel, token: &str) -> Result<Link> {
    let link = peek_link(k, token).await?;
    if let Link::Valid { .. } = &link {
        let n = on_db!(&k.db, |p| sqlx::query(
            "UPDATE safety_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2"
        )
        .bind(kernel::model::token::token_hash(token))
        .bind(k.now())
        .execute(p)
        .await
        .map(|r| r.rows_affected()))?;
        if n == 0 {
            // Another request spent it a moment ago.
            return peek_link(k, token).await;
        }
    }
    Ok(link)
}

/// Give a link back when the answer it carried could not be stored (the resident may retry).
pub async fn unuse_link(k: &Kernel, token: &str) -> Result<()> {
    on_db!(&k.db, |p| sqlx::query(
        "UPDATE safety_links SET used_at = NULL WHERE token_hash = $1"
    )
    .bind(kernel::model::token::token_hash(token))
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

// ---- who to ask, remind and escalate to ----

/// Members of silent households (all targets when `only_silent` is false) with an e-mail
/// address and e-mail consent: (person, household, address).
pub async fn email_recipients(db: &Db, round_id: &str, only_silent: bool) -> Result<Vec<(String, String, String)>> {
    let silent = if only_silent { " AND t.status IS NULL" } else { "" };
    let sql = format!(
        "SELECT pe.id, t.household_id, pe.email FROM safety_targets t \
         JOIN household_members hm ON hm.household_id = t.household_id JOIN people pe ON pe.id = hm.person_id \
         WHERE t.round_id = $1{silent} AND pe.email IS NOT NULL AND pe.deleted_at IS NULL \
         AND EXISTS (SELECT 1 FROM consents c WHERE c.person_id = pe.id AND c.scope = 'email' AND c.withdrawn_at IS NULL) \
         ORDER BY pe.id"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String, String)>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(round_id)
    .fetch_all(p)
    .await)?)
}

/// Devices of members of (silent) target households: (person, household, device id).
pub async fn device_recipients(db: &Db, round_id: &str, only_silent: bool) -> Result<Vec<(String, String, String)>> {
    let silent = if only_silent { " AND t.status IS NULL" } else { "" };
    let sql = format!(
        "SELECT li.person_id, t.household_id, li.value FROM safety_targets t \
         JOIN household_members hm ON hm.household_id = t.household_id \
         JOIN linked_identifiers li ON li.person_id = hm.person_id AND li.kind = 'device' \
         WHERE t.round_id = $1{silent} ORDER BY li.value"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String, String)>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(round_id)
    .fetch_all(p)
    .await)?)
}

/// Areas of the silent households (screens there are asked again).
pub async fn silent_areas(db: &Db, round_id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT DISTINCT area_id FROM safety_targets WHERE round_id = $1 AND status IS NULL"
    )
    .bind(round_id)
    .fetch_all(p)
    .await)?)
}

/// Areas the round covers (the 町丁目 its households live in).
pub async fn round_areas(db: &Db, round_id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT DISTINCT area_id FROM safety_targets WHERE round_id = $1"
    )
    .bind(round_id)
    .fetch_all(p)
    .await)?)
}

/// Record that a reminder went out (so each goes once, even with two nodes).
pub async fn bump_reminders(k: &Kernel, round_id: &str, from: i64, to: i64) -> Result<bool> {
    let n = on_db!(&k.db, |p| sqlx::query(
        "UPDATE safety_rounds SET reminders_sent = $3 WHERE id = $1 AND reminders_sent = $2"
    )
    .bind(round_id)
    .bind(from)
    .bind(to)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Silent households with a 要支援者 not yet escalated: (household, area id, assigned visitor).
pub async fn to_escalate(db: &Db, round_id: &str) -> Result<Vec<(String, String, Option<String>)>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String, Option<String>)>(
        "SELECT t.household_id, t.area_id, v.visitor_id FROM safety_targets t \
         LEFT JOIN safety_visits v ON v.round_id = t.round_id AND v.household_id = t.household_id \
         WHERE t.round_id = $1 AND t.status IS NULL AND t.needs_support = TRUE AND t.escalated_at IS NULL"
    )
    .bind(round_id)
    .fetch_all(p)
    .await)?)
}

/// Mark a household escalated to these people (once: returns false if another node did it).
/// Mark a household escalated to `to`, inside the caller's transaction (with the mail that tells
/// them); false when another node or tick has already done it.
pub async fn mark_escalated_in(
    tx: &mut kernel::store::Tx,
    now: i64,
    round_id: &str,
    household_id: &str,
    to: &[String],
) -> Result<bool> {
    let done = kernel::on_tx!(tx, |tx| {
        let n = sqlx::query(
            "UPDATE safety_targets SET escalated_at = $3 WHERE round_id = $1 AND household_id = $2 AND escalated_at IS NULL",
        )
        .bind(round_id)
        .bind(household_id)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n > 0 {
            for person in to {
                sqlx::query(
                    "INSERT INTO safety_escalations (round_id, household_id, to_person, escalated_at) VALUES ($1,$2,$3,$4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(round_id)
                .bind(household_id)
                .bind(person)
                .bind(now)
                .execute(&mut **tx)
                .await?;
            }
        }
        n > 0
    });
    Ok(done)
}

/// Escalations handed to a person, for their follow-up list.
pub async fn escalations_for(db: &Db, round_id: &str, person_id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT household_id FROM safety_escalations WHERE round_id = $1 AND to_person = $2"
    )
    .bind(round_id)
    .bind(person_id)
    .fetch_all(p)
    .await)?)
}

/// Open rounds that ask this household and have no answer from it yet.
pub async fn pending_for_household(db: &Db, household_id: &str) -> Result<Vec<Round>> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols} FROM safety_rounds r JOIN safety_targets t ON t.round_id = r.id \
         WHERE t.household_id = $1 AND r.closed_at IS NULL AND t.status IS NULL ORDER BY r.started_at DESC"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, Round>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(household_id)
    .fetch_all(p)
    .await)?)
}

/// Every household of the round with its state, for the export.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ExportRow {
    pub area_id: String,
    pub code: String,
    pub area: String,
    pub household_id: String,
    pub household: String,
    pub address: Option<String>,
    pub status: Option<String>,
    pub answered_at: Option<i64>,
    pub needs_support: bool,
    /// The family member who gave the latest answer, by name (代理回答).
    pub proxy: Option<String>,
}

const EXPORT_ROWS: &str = "SELECT t.area_id, a.code, a.name AS area, t.household_id, h.name AS household, \
     h.address, t.status, t.answered_at, (t.needs_support = TRUE) AS needs_support, \
     (SELECT pp.display_name FROM safety_answers s LEFT JOIN people pp ON pp.id = s.proxy_by \
      WHERE s.round_id = t.round_id AND s.household_id = t.household_id \
      ORDER BY s.answered_at DESC, s.id DESC LIMIT 1) AS proxy FROM safety_targets t JOIN areas a ON a.id = t.area_id \
     JOIN households h ON h.id = t.household_id WHERE t.round_id = $1 ORDER BY a.code, h.address, h.name";

pub async fn export_rows(db: &Db, round_id: &str) -> Result<Vec<ExportRow>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, ExportRow>(EXPORT_ROWS)
        .bind(round_id)
        .fetch_all(p)
        .await)?)
}

/// [`export_rows`] inside the caller's transaction (the export's audit entry commits with it).
pub async fn export_rows_in(tx: &mut Tx, round_id: &str) -> Result<Vec<ExportRow>> {
    Ok(on_tx!(tx, |tx| sqlx::query_as::<_, ExportRow>(EXPORT_ROWS)
        .bind(round_id)
        .fetch_all(&mut **tx)
        .await?))
}

/// A household whose latest answer a family member gave for it (代理回答), for officers.
#[derive(Debug, Clone, Serialize, ToSchema, sqlx::FromRow)]
pub struct ProxyAnswer {
    pub household_id: String,
    pub household: String,
    pub area_id: String,
    /// What the tally counts: `safe` or `help`.
    pub status: String,
    pub proxy_by: String,
    /// The family member, by name.
    pub proxy: String,
    pub answered_at: i64,
}

/// Households of the given areas whose latest answer was given by family for them.
/// Read inside the caller's transaction, with the follow-up list it belongs to.
pub async fn proxy_answers(tx: &mut Tx, round_id: &str, areas: &[String]) -> Result<Vec<ProxyAnswer>> {
    let rows: Vec<ProxyAnswer> = on_tx!(tx, |tx| sqlx::query_as::<_, ProxyAnswer>(
        "SELECT t.household_id, h.name AS household, t.area_id, s.effective AS status, s.proxy_by, \
         pp.display_name AS proxy, s.answered_at FROM safety_targets t \
         JOIN households h ON h.id = t.household_id \
         JOIN safety_answers s ON s.id = (SELECT s2.id FROM safety_answers s2 WHERE s2.round_id = t.round_id \
              AND s2.household_id = t.household_id ORDER BY s2.answered_at DESC, s2.id DESC LIMIT 1) \
         JOIN people pp ON pp.id = s.proxy_by \
         WHERE t.round_id = $1 ORDER BY s.answered_at DESC"
    )
    .bind(round_id)
    .fetch_all(&mut **tx)
    .await?);
    Ok(rows.into_iter().filter(|r| areas.contains(&r.area_id)).collect())
}

/// Open rounds asking any of these households, with the household: (round, household id).
pub async fn open_for_households(db: &Db, households: &[String]) -> Result<Vec<(Round, String)>> {
    let mut out = Vec::new();
    for r in open(db).await? {
        for h in households {
            if target(db, &r.id, h).await?.is_some() {
                out.push((r.clone(), h.clone()));
            }
        }
    }
    Ok(out)
}
