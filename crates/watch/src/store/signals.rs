//! Signals arrive all the time (every device of every watched person, every few minutes).
//! One task writes them in batches: devices resolved with one query, signals inserted with one
//! statement, the per-person state (`watch_state`) upserted with one more; each sender gets its
//! reply once its batch is committed. The sweep reads `watch_state`, never the signals.

use std::collections::HashMap;
use std::sync::Arc;

use kernel::store::{Db, padded_len, values_placeholders};
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

type Job = (Incoming, oneshot::Sender<Result<Ingested>>);

pub struct Writer {
    tx: mpsc::Sender<Job>,
}

/// The kernel's signal writer, started on first use.
pub fn writer(k: &Kernel) -> Arc<Writer> {
    k.extensions.get_or_init(|| {
        let (tx, rx) = mpsc::channel(BATCH * 64);
        tokio::spawn(run(k.clone(), rx));
        Writer { tx }
    })
}

impl Writer {
    pub async fn submit(&self, s: Incoming) -> Result<Ingested> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send((s, reply))
            .await
            .map_err(|_| Error::Unavailable("signal writer stopped".into()))?;
        wait.await
            .map_err(|_| Error::Unavailable("signal writer stopped".into()))?
    }
}

async fn run(k: Kernel, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(BATCH);
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        let signals: Vec<Incoming> = batch.iter().map(|(s, _)| s.clone()).collect();
        match ingest(&k, &signals).await {
            Ok(results) => {
                for ((_, reply), r) in batch.drain(..).zip(results) {
                    let _ = reply.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, signals = batch.len(), "batch of signals failed; writing one by one");
                for (s, reply) in batch.drain(..) {
                    let r = ingest(&k, std::slice::from_ref(&s))
                        .await
                        .and_then(|mut v| v.pop().ok_or_else(|| Error::Internal("no result".into())));
                    let _ = reply.send(r);
                }
            }
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
}

/// `$from, $from+1, …` padded to a power of two (repeating the last) so statements are reused.
fn in_list(from: usize, n: usize) -> String {
    (0..padded_len(n))
        .map(|i| format!("${}", from + i))
        .collect::<Vec<_>>()
        .join(",")
}

async fn resolve(db: &Db, by_token: &[&str]) -> Result<Vec<Resolved>> {
    let mut out = Vec::new();
    for (column, keys) in [("token_hash", by_token)] {
        for chunk in keys.chunks(256) {
            let sql = format!(
                "SELECT d.id, d.token_hash, d.person_id, d.kind, ({}) AS watched \
                 FROM watch_devices d JOIN watch_circles c ON c.id = d.circle_id \
                 WHERE d.{column} IN ({}) AND d.removed_at IS NULL",
                super::WATCHING,
                in_list(1, chunk.len())
            );
            let rows: Vec<Resolved> = on_db!(db, |p| {
                let mut q = sqlx::query_as::<_, Resolved>(sqlx::AssertSqlSafe(sql.as_str()));
                for i in 0..padded_len(chunk.len()) {
                    q = q.bind(chunk[i.min(chunk.len() - 1)]);
                }
                q.fetch_all(p).await
            })?;
            out.extend(rows);
        }
    }
    Ok(out)
}

/// People among `ids` with a consented, open circle.
async fn watched_people(db: &Db, ids: &[&str]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(256) {
        let sql = format!(
            "SELECT c.person_id FROM watch_circles c WHERE c.person_id IN ({}) AND {}",
            in_list(1, chunk.len()),
            super::WATCHING
        );
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

struct Row<'a> {
    person_id: &'a str,
    device_id: Option<&'a str>,
    source: &'a str,
    value: &'a str,
    at: i64,
}

/// Write a batch of signals in one transaction; one result per signal, in order.
pub async fn ingest(k: &Kernel, signals: &[Incoming]) -> Result<Vec<Ingested>> {
    let mut by_token = Vec::new();
    let mut people = Vec::new();
    for s in signals {
        match &s.sender {
            Sender::TokenHash(h) | Sender::DeviceToken { hash: h, .. } => by_token.push(h.as_str()),
            Sender::Person { person_id, .. } => people.push(person_id.as_str()),
        }
    }
    let devices = resolve(&k.db, &by_token).await?;
    let by_hash: HashMap<&str, &Resolved> = devices.iter().map(|d| (d.token_hash.as_str(), d)).collect();
    let watched: Vec<String> = if people.is_empty() {
        Vec::new()
    } else {
        watched_people(&k.db, &people).await?
    };

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
    if rows.is_empty() {
        return Ok(results);
    }

    // Per person: the newest signal, 「元気です」 and use of the terminal. Per device: its newest value.
    let mut state: HashMap<&str, PersonState> = HashMap::new();
    let mut device_events: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    for r in &rows {
        let e = state.entry(r.person_id).or_insert((i64::MIN, None, None));
        e.0 = e.0.max(r.at);
        if r.source == "checkin" {
            e.1 = Some(e.1.map_or(r.at, |c| c.max(r.at)));
        }
        if r.source == "terminal" && r.device_id.is_none() {
            e.2 = Some(e.2.map_or(r.at, |c| c.max(r.at)));
        }
        if let Some(d) = r.device_id {
            device_events.entry(d).or_default().push((r.at, r.value));
        }
    }
    let now = k.now();
    let mut state: Vec<(&str, PersonState)> = state.into_iter().collect();
    state.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut device_state: Vec<(&str, DeviceChange)> = device_events
        .into_iter()
        .map(|(d, mut events)| {
            events.sort_unstable();
            (d, DeviceChange::of(&events))
        })
        .collect();
    device_state.sort_unstable_by(|a, b| a.0.cmp(b.0));

    in_tx!(&k.db, |tx| {
        for chunk in rows.chunks(256) {
            let sql = format!(
                "INSERT INTO watch_signals (person_id, device_id, source, value, at, received_at) VALUES {}",
                values_placeholders(chunk.len(), 6)
            );
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
        for chunk in state.chunks(256) {
            let sql = format!(
                "INSERT INTO watch_state (person_id, last_signal_at, last_checkin_at, last_use_at) VALUES {} \
                 ON CONFLICT (person_id) DO UPDATE SET \
                 last_signal_at = CASE WHEN watch_state.last_signal_at IS NULL OR excluded.last_signal_at > watch_state.last_signal_at \
                   THEN excluded.last_signal_at ELSE watch_state.last_signal_at END, \
                 last_checkin_at = CASE WHEN excluded.last_checkin_at IS NOT NULL AND (watch_state.last_checkin_at IS NULL \
                   OR excluded.last_checkin_at > watch_state.last_checkin_at) THEN excluded.last_checkin_at ELSE watch_state.last_checkin_at END, \
                 last_use_at = CASE WHEN excluded.last_use_at IS NOT NULL AND (watch_state.last_use_at IS NULL \
                   OR excluded.last_use_at > watch_state.last_use_at) THEN excluded.last_use_at ELSE watch_state.last_use_at END",
                values_placeholders(chunk.len(), 4)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (person, (last, checkin, used)) in chunk {
                q = q.bind(*person).bind(*last).bind(*checkin).bind(*used);
            }
            q.execute(&mut *tx).await?;
        }
        for (device, c) in &device_state {
            sqlx::query(
                "UPDATE watch_devices SET last_value = $2, last_at = $3, \
                 on_since = CASE WHEN $4 = 1 AND $5 = 1 THEN $6 WHEN $4 = 1 THEN COALESCE(on_since, $6) \
                 WHEN $4 = 0 THEN NULL ELSE on_since END \
                 WHERE id = $1 AND (last_at IS NULL OR last_at <= $3)",
            )
            .bind(*device)
            .bind(c.value)
            .bind(c.at)
            .bind(c.switch)
            .bind(i64::from(c.off_in_batch))
            .bind(c.on_from)
            .execute(&mut *tx)
            .await?;
        }
    });
    Ok(results)
}

/// A signal on the timeline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct SignalRow {
    pub at: i64,
    pub source: String,
    pub value: String,
    pub device_id: Option<String>,
}

pub async fn recent(db: &Db, person_id: &str, since: i64, limit: i64) -> Result<Vec<SignalRow>> {
    Ok(on_db!(db, |p| {
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

/// The person's last signal and last 「元気です」.
pub async fn state(db: &Db, person_id: &str) -> Result<(Option<i64>, Option<i64>)> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, (Option<i64>, Option<i64>)>(
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

fn greater(a: &str, b: &str) -> String {
    format!("(CASE WHEN {a} > {b} THEN {a} ELSE {b} END)")
}

/// The last signal a `period` rule listens to.
/// (Using the terminal counts for `terminal`, whether the screen or a terminal device said so.)
const RELEVANT: &str = "(CASE WHEN r.source = 'any' THEN s.last_signal_at WHEN r.source = 'checkin' THEN s.last_checkin_at \
    WHEN r.source = 'terminal' THEN (CASE WHEN COALESCE(s.last_use_at, 0) > COALESCE((SELECT MAX(d.last_at) FROM watch_devices d \
      WHERE d.circle_id = r.circle_id AND d.kind = 'terminal'), 0) THEN s.last_use_at ELSE (SELECT MAX(d.last_at) \
      FROM watch_devices d WHERE d.circle_id = r.circle_id AND d.kind = 'terminal') END) \
    ELSE (SELECT MAX(d.last_at) FROM watch_devices d WHERE d.circle_id = r.circle_id AND d.kind = r.source) END)";

/// Rules overdue at `now`: periods without a signal, days without 「元気です」 past due, devices on
/// too long. One pass over the rules with their person's state.
pub async fn candidates(db: &Db, now: i64) -> Result<Vec<Candidate>> {
    let midnight = crate::model::local_midnight(now);
    let minute = crate::model::local_minute(now) as i64;
    // Counted from the last signal, or from when watching began, the rule was made, a pause
    // ended, or the last call for this rule was closed (a visit found them well).
    let since = greater(
        &greater(
            &greater(&format!("COALESCE({RELEVANT}, 0)"), "COALESCE(c.consented_at, 0)"),
            &greater("r.created_at", "COALESCE(c.paused_until, 0)"),
        ),
        "COALESCE((SELECT MAX(e.closed_at) FROM watch_escalations e WHERE e.rule_id = r.id), 0)",
    );
    let active = active();
    let period = format!(
        "SELECT * FROM (SELECT {CANDIDATE}, r.flag_basis, {since} AS last FROM watch_rules r \
         JOIN watch_circles c ON c.id = r.circle_id LEFT JOIN watch_state s ON s.person_id = c.person_id \
         WHERE r.kind = 'period' AND {active}) x \
         WHERE x.last + (x.period_minutes + x.grace_minutes) * 60000 <= $1 AND x.flag_basis <> x.last"
    );
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
    let mut out: Vec<Candidate> = Vec::new();
    // PostgreSQL wants exactly the parameters a statement uses.
    for (sql, all) in [(period, false), (daily, true), (on, false)] {
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
    use super::DeviceChange;

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
