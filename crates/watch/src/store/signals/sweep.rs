//! The missed-check-in sweep: the rules overdue, read from `watch_state` (never the signals).

use super::*;

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
        crate::store::WATCHING
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
