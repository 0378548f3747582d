//! Watch-over on disk: circles with their consent, members and ladder, devices and their
//! tokens, rules, escalations and the calls made, trainings, listening schedules, the contact
//! allow-list and messages. Signals are written in batches by `signals`.

pub mod signals;

use kernel::store::{Db, Tx};
use kernel::{Error, Kernel, Result, in_tx, on_db, on_tx};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

pub static MIGRATIONS: &[kernel::store::migrate::Migration] = &[
    kernel::migration!("0001_watch"),
    kernel::migration!("0002_sweep"),
    kernel::migration!("0003_ingest_cache"),
    kernel::migration!("0004_state_without_rowid"),
    kernel::migration!("0005_projection"),
    kernel::migration!("0006_signal_log"),
];

/// A circle (`c`) is watching: consent given and not taken back, circle not closed.
pub const WATCHING: &str = "c.consent_id IS NOT NULL AND c.closed_at IS NULL AND NOT EXISTS \
    (SELECT 1 FROM consents co WHERE co.id = c.consent_id AND co.withdrawn_at IS NOT NULL)";

/// Is the circle watching (consented, consent not withdrawn, open)?
pub async fn watching(db: &Db, circle_id: &str) -> Result<bool> {
    let sql = format!("SELECT COUNT(*) FROM watch_circles c WHERE c.id = $1 AND {WATCHING}");
    let n: i64 = on_db!(db, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(circle_id)
        .fetch_one(p)
        .await)?;
    Ok(n > 0)
}

/// Close a circle (the person or the welfare desk ends it, or the consent was taken back): its
/// open calls end too, and a new circle may be started later.
pub async fn close_circle(tx: &mut Tx, k: &Kernel, circle_id: &str) -> Result<bool> {
    let now = k.now();
    let closed = on_tx!(tx, |tx| {
        let n = sqlx::query("UPDATE watch_circles SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL")
            .bind(circle_id)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
        sqlx::query(
            "UPDATE watch_escalations SET closed_at = $2, closed_how = 'circle_closed', next_step_at = NULL \
             WHERE circle_id = $1 AND closed_at IS NULL",
        )
        .bind(circle_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        n > 0
    });
    Ok(closed)
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Circle {
    pub id: String,
    /// The watched person.
    pub person_id: String,
    pub created_by: String,
    pub created_at: i64,
    /// The consent record (kernel); the circle watches nobody until it is given.
    pub consent_id: Option<String>,
    pub consented_at: Option<i64>,
    pub guardian_id: Option<String>,
    pub paused_until: Option<i64>,
    pub pause_reason: Option<String>,
    pub quiet_start: Option<i64>,
    pub quiet_end: Option<i64>,
    pub ladder_minutes: i64,
    pub closed_at: Option<i64>,
}

const CIRCLE: &str = "id, person_id, created_by, created_at, consent_id, consented_at, guardian_id, paused_until, \
    pause_reason, quiet_start, quiet_end, ladder_minutes, closed_at";

pub async fn create_circle(
    tx: &mut Tx,
    k: &Kernel,
    person_id: &str,
    by: &str,
    creator_role: Option<&str>,
) -> Result<Circle> {
    let c = Circle {
        id: k.new_id(),
        person_id: person_id.to_string(),
        created_by: by.to_string(),
        created_at: k.now(),
        consent_id: None,
        consented_at: None,
        guardian_id: None,
        paused_until: None,
        pause_reason: None,
        quiet_start: None,
        quiet_end: None,
        ladder_minutes: crate::config::of(k).ladder_minutes as i64,
        closed_at: None,
    };
    let inserted = async {
        on_tx!(tx, |tx| {
            sqlx::query(
                "INSERT INTO watch_circles (id, person_id, created_by, created_at, ladder_minutes) VALUES ($1,$2,$3,$4,$5)",
            )
            .bind(&c.id)
            .bind(&c.person_id)
            .bind(&c.created_by)
            .bind(c.created_at)
            .bind(c.ladder_minutes)
            .execute(&mut **tx)
            .await?;
            if let Some(role) = creator_role {
                // Supporters and volunteers go on the ladder only through the training gate.
                let ladder = crate::model::CircleRole::parse(role)
                    .is_some_and(|r| !r.needs_training())
                    .then_some(1i64);
                sqlx::query(
                    "INSERT INTO watch_members (circle_id, person_id, role, ladder, added_by, added_at) \
                     VALUES ($1,$2,$3,$4,$2,$5)",
                )
                .bind(&c.id)
                .bind(by)
                .bind(role)
                .bind(ladder)
                .bind(c.created_at)
                .execute(&mut **tx)
                .await?;
            }
        });
        Ok::<_, Error>(())
    }
    .await;
    match inserted {
        Err(Error::Database(e)) if Error::is_unique_violation(&e) => {
            Err(Error::conflict("watch-circle-exists", vec![]))
        }
        Err(e) => Err(e),
        Ok(()) => Ok(c),
    }
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Circle>> {
    let sql = format!("SELECT {CIRCLE} FROM watch_circles WHERE id = $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Circle>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

pub async fn require(db: &Db, id: &str) -> Result<Circle> {
    get(db, id)
        .await?
        .ok_or_else(|| Error::not_found("watch-circle-not-found"))
}

pub async fn of_person(db: &Db, person_id: &str) -> Result<Option<Circle>> {
    let sql = format!("SELECT {CIRCLE} FROM watch_circles WHERE person_id = $1 AND closed_at IS NULL");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Circle>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(person_id)
    .fetch_optional(p)
    .await)?)
}

/// Circles the person is a member of, with their role.
pub async fn circles_of_member(db: &Db, person_id: &str) -> Result<Vec<(String, String)>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT m.circle_id, m.role FROM watch_members m JOIN watch_circles c ON c.id = m.circle_id \
         WHERE m.person_id = $1 AND c.closed_at IS NULL ORDER BY c.created_at"
    )
    .bind(person_id)
    .fetch_all(p)
    .await)?)
}

/// Every open circle (the welfare desk's list).
pub async fn all_open(db: &Db, limit: i64) -> Result<Vec<Circle>> {
    let sql = format!("SELECT {CIRCLE} FROM watch_circles WHERE closed_at IS NULL ORDER BY created_at DESC LIMIT $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Circle>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

pub async fn member_role(db: &Db, circle_id: &str, person_id: &str) -> Result<Option<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT role FROM watch_members WHERE circle_id = $1 AND person_id = $2"
    )
    .bind(circle_id)
    .bind(person_id)
    .fetch_optional(p)
    .await)?)
}

/// Record the consent (given by the person, or by their guardian) and start watching.
pub async fn record_consent(tx: &mut Tx, k: &Kernel, circle: &Circle, given_by: &str) -> Result<Circle> {
    let consent = kernel::store::consents::grant_in(
        tx,
        k,
        &circle.person_id,
        given_by,
        kernel::model::consent::ConsentInput {
            // Recorded in the town's language, as the kernel records contact purposes; pages show
            // it in the reader's language (`consent-purpose-watch`).
            purpose: kernel::i18n::t(kernel::i18n::Lang::Ja, "consent-purpose-watch", &[]),
            scope: format!("watch/{}", circle.id),
        },
    )
    .await?;
    // Every watched person has a state row before watching starts: the sweep starts from them.
    on_tx!(tx, |p| sqlx::query(
        "INSERT INTO watch_state (person_id) VALUES ($1) ON CONFLICT (person_id) DO NOTHING"
    )
    .bind(&circle.person_id)
    .execute(&mut **p)
    .await
    .map(|_| ()))?;
    // The circle as this transaction leaves it (a closed circle stays as it was).
    let sql = format!(
        "UPDATE watch_circles SET consent_id = $2, consented_at = $3 WHERE id = $1 AND closed_at IS NULL RETURNING {CIRCLE}"
    );
    let updated = on_tx!(tx, |p| sqlx::query_as::<_, Circle>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(&circle.id)
        .bind(&consent.id)
        .bind(consent.granted_at)
        .fetch_optional(&mut **p)
        .await)?;
    Ok(updated.unwrap_or_else(|| circle.clone()))
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Member {
    pub person_id: String,
    pub display_name: String,
    pub role: String,
    /// Place on the ladder (1 = first contact); None: not called.
    pub ladder: Option<i64>,
    pub added_at: i64,
}

pub async fn members(db: &Db, circle_id: &str) -> Result<Vec<Member>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Member>(
        "SELECT m.person_id, pe.display_name, m.role, m.ladder, m.added_at FROM watch_members m \
         JOIN people pe ON pe.id = m.person_id WHERE m.circle_id = $1 \
         ORDER BY CASE WHEN m.ladder IS NULL THEN 1 ELSE 0 END, m.ladder, m.added_at"
    )
    .bind(circle_id)
    .fetch_all(p)
    .await)?)
}

/// Add (or change) a member; `ladder` places them on the escalation ladder.
pub async fn put_member(
    tx: &mut Tx,
    k: &Kernel,
    circle_id: &str,
    person_id: &str,
    role: &str,
    ladder: Option<i64>,
    by: &str,
) -> Result<()> {
    on_tx!(tx, |p| sqlx::query(
        "INSERT INTO watch_members (circle_id, person_id, role, ladder, added_by, added_at) VALUES ($1,$2,$3,$4,$5,$6) \
         ON CONFLICT (circle_id, person_id) DO UPDATE SET role = excluded.role, ladder = excluded.ladder"
    )
    .bind(circle_id)
    .bind(person_id)
    .bind(role)
    .bind(ladder)
    .bind(by)
    .bind(k.now())
    .execute(&mut **p)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn remove_member(tx: &mut Tx, circle_id: &str, person_id: &str) -> Result<bool> {
    let n = on_tx!(tx, |p| sqlx::query(
        "DELETE FROM watch_members WHERE circle_id = $1 AND person_id = $2"
    )
    .bind(circle_id)
    .bind(person_id)
    .execute(&mut **p)
    .await
    .map(|r| r.rows_affected()))?;
    // A guardian who leaves the circle is no longer its guardian.
    on_tx!(tx, |p| sqlx::query(
        "UPDATE watch_circles SET guardian_id = NULL WHERE id = $1 AND guardian_id = $2"
    )
    .bind(circle_id)
    .bind(person_id)
    .execute(&mut **p)
    .await
    .map(|_| ()))?;
    Ok(n > 0)
}

/// The ladder with each member's role: (person, role) in calling order.
pub async fn ladder_with_roles(db: &Db, circle_id: &str) -> Result<Vec<(String, String)>> {
    Ok(on_db!(db, |p| {
        sqlx::query_as::<_, (String, String)>(
        "SELECT person_id, role FROM watch_members WHERE circle_id = $1 AND ladder IS NOT NULL ORDER BY ladder, added_at"
    )
    .bind(circle_id)
    .fetch_all(p)
    .await
    })?)
}

/// The ladder: members called in order.
pub async fn ladder(db: &Db, circle_id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT person_id FROM watch_members WHERE circle_id = $1 AND ladder IS NOT NULL ORDER BY ladder, added_at"
    )
    .bind(circle_id)
    .fetch_all(p)
    .await)?)
}

/// Settings of a circle: guardian, pause, quiet hours, ladder minutes.
pub async fn update_settings(tx: &mut Tx, c: &Circle) -> Result<()> {
    on_tx!(tx, |p| sqlx::query(
        "UPDATE watch_circles SET guardian_id = $2, paused_until = $3, pause_reason = $4, quiet_start = $5, \
         quiet_end = $6, ladder_minutes = $7 WHERE id = $1"
    )
    .bind(&c.id)
    .bind(&c.guardian_id)
    .bind(c.paused_until)
    .bind(&c.pause_reason)
    .bind(c.quiet_start)
    .bind(c.quiet_end)
    .bind(c.ladder_minutes)
    .execute(&mut **p)
    .await
    .map(|_| ()))?;
    Ok(())
}

// ---- devices ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Device {
    pub id: String,
    pub kind: String,
    pub created_at: i64,
    pub last_value: Option<String>,
    pub last_at: Option<i64>,
    pub on_since: Option<i64>,
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Register a device of the watched person (also linked to the person as an identifier of kind
/// `device`); returns the device's token, shown once.
pub async fn add_device(tx: &mut Tx, k: &Kernel, circle: &Circle, device_id: &str, kind: &str) -> Result<String> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| Error::Internal(e.to_string()))?;
    let token = format!("mdev_{}", hex::encode(raw));
    if let Some(li) = kernel::store::identifiers::lookup_in(tx, "device", device_id).await?
        && li.person_id != circle.person_id
    {
        return Err(Error::conflict(
            "watch-device-taken",
            vec![("device", device_id.to_string())],
        ));
    }
    let r = on_tx!(tx, |p| {
        sqlx::query(
        "INSERT INTO watch_devices (id, circle_id, person_id, kind, token_hash, created_at) VALUES ($1,$2,$3,$4,$5,$6)"
    )
    .bind(device_id)
    .bind(&circle.id)
    .bind(&circle.person_id)
    .bind(kind)
    .bind(hash_token(&token))
    .bind(k.now())
    .execute(&mut **p)
    .await.map(|_| ())
    });
    match r {
        Err(e) if Error::is_unique_violation(&e) => {
            return Err(Error::conflict(
                "watch-device-taken",
                vec![("device", device_id.to_string())],
            ));
        }
        r => {
            r?;
        }
    }
    if kernel::store::identifiers::lookup_in(tx, "device", device_id)
        .await?
        .is_none()
    {
        kernel::store::identifiers::link_in(
            tx,
            k,
            &circle.person_id,
            kernel::model::identifier::IdentifierInput {
                kind: "device".into(),
                value: device_id.to_string(),
            },
        )
        .await?;
    }
    Ok(token)
}

pub async fn devices(db: &Db, circle_id: &str) -> Result<Vec<Device>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Device>(
        "SELECT id, kind, created_at, last_value, last_at, on_since FROM watch_devices \
         WHERE circle_id = $1 AND removed_at IS NULL ORDER BY id"
    )
    .bind(circle_id)
    .fetch_all(p)
    .await)?)
}

/// Retire a device: its token stops working at once and its identifier is unlinked (its past
/// signals stay on the timeline).
pub async fn remove_device(tx: &mut Tx, circle: &Circle, device_id: &str) -> Result<bool> {
    let n = on_tx!(tx, |p| sqlx::query(
        "DELETE FROM watch_devices WHERE circle_id = $1 AND id = $2"
    )
    .bind(&circle.id)
    .bind(device_id)
    .execute(&mut **p)
    .await
    .map(|r| r.rows_affected()))?;
    if n > 0 {
        kernel::store::identifiers::unlink_in(tx, &circle.person_id, "device", device_id).await?;
    }
    Ok(n > 0)
}

// ---- rules ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct StoredRule {
    pub id: String,
    pub circle_id: String,
    pub kind: String,
    pub source: String,
    pub period_minutes: Option<i64>,
    pub grace_minutes: i64,
    pub due_minute: Option<i64>,
    pub limit_minutes: Option<i64>,
    pub window_start: Option<i64>,
    pub window_end: Option<i64>,
    pub created_at: i64,
}

impl StoredRule {
    pub fn rule(&self) -> crate::model::rule::Rule {
        use crate::model::rule::{Rule, RuleKind};
        let u = |v: Option<i64>| v.map(|x| x as u32);
        Rule {
            kind: RuleKind::parse(&self.kind).unwrap_or(RuleKind::Period),
            source: self.source.clone(),
            period_minutes: u(self.period_minutes),
            grace_minutes: self.grace_minutes as u32,
            due_minute: u(self.due_minute),
            limit_minutes: u(self.limit_minutes),
            window_start: u(self.window_start),
            window_end: u(self.window_end),
        }
    }
}

const RULE: &str = "id, circle_id, kind, source, period_minutes, grace_minutes, due_minute, limit_minutes, \
    window_start, window_end, created_at";

pub async fn add_rule(
    tx: &mut Tx,
    k: &Kernel,
    circle_id: &str,
    r: &crate::model::rule::Rule,
    by: &str,
) -> Result<StoredRule> {
    let id = k.new_id();
    let i = |v: Option<u32>| v.map(i64::from);
    on_tx!(tx, |p| {
        sqlx::query(
        "INSERT INTO watch_rules (id, circle_id, kind, source, period_minutes, grace_minutes, due_minute, \
         limit_minutes, window_start, window_end, created_by, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"
    )
    .bind(&id)
    .bind(circle_id)
    .bind(r.kind.as_str())
    .bind(&r.source)
    .bind(i(r.period_minutes))
    .bind(r.grace_minutes as i64)
    .bind(i(r.due_minute))
    .bind(i(r.limit_minutes))
    .bind(i(r.window_start))
    .bind(i(r.window_end))
    .bind(by)
    .bind(k.now())
    .execute(&mut **p)
    .await
    .map(|_| ())
    })?;
    let sql = format!("SELECT {RULE} FROM watch_rules WHERE id = $1");
    Ok(on_tx!(tx, |p| sqlx::query_as::<_, StoredRule>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(&id)
    .fetch_one(&mut **p)
    .await)?)
}

pub async fn rules(db: &Db, circle_id: &str) -> Result<Vec<StoredRule>> {
    let sql =
        format!("SELECT {RULE} FROM watch_rules WHERE circle_id = $1 AND removed_at IS NULL ORDER BY created_at, id");
    Ok(on_db!(db, |p| sqlx::query_as::<_, StoredRule>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(circle_id)
    .fetch_all(p)
    .await)?)
}

pub async fn remove_rule(tx: &mut Tx, k: &Kernel, circle_id: &str, rule_id: &str) -> Result<bool> {
    let n = on_tx!(tx, |p| sqlx::query(
        "UPDATE watch_rules SET removed_at = $3 WHERE circle_id = $1 AND id = $2 AND removed_at IS NULL"
    )
    .bind(circle_id)
    .bind(rule_id)
    .bind(k.now())
    .execute(&mut **p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

// ---- escalations ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Escalation {
    pub id: String,
    pub circle_id: String,
    pub rule_id: String,
    /// `period`, `daily` or `on_too_long`: which rule was missed.
    pub reason: String,
    pub basis: i64,
    pub opened_at: i64,
    /// Ladder step last called (0 = first contact).
    pub step: i64,
    pub next_step_at: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<i64>,
    /// `safe` (会えた・無事), `help` (支援・救急につないだ), `absent` (不在), `signal` (本人から合図).
    pub outcome: Option<String>,
    pub note: Option<String>,
    pub closed_at: Option<i64>,
    pub closed_how: Option<String>,
}

const ESC: &str = "id, circle_id, rule_id, reason, basis, opened_at, step, next_step_at, acknowledged_by, \
    acknowledged_at, outcome, note, closed_at, closed_how";

/// A missed rule: what an escalation is opened for.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub rule_id: String,
    pub circle_id: String,
    /// `period`, `daily` or `on_too_long`.
    pub reason: &'static str,
    /// The signal time (or day) missed.
    pub basis: i64,
}

/// Open one escalation per missed rule, once per `basis` (one per miss, however many nodes
/// sweep), in one transaction for all of them. The rule's `flag_basis` moves first
/// (compare-and-set, and only while no escalation is open for the rule); only the rules it moved
/// for get an escalation. Returns how many were opened.
pub async fn open_for_misses(k: &Kernel, misses: &[Miss]) -> Result<usize> {
    // One miss per rule (a rule on two devices left on is one call).
    let mut seen = std::collections::HashSet::new();
    let misses: Vec<&Miss> = misses.iter().filter(|m| seen.insert(m.rule_id.as_str())).collect();
    if misses.is_empty() {
        return Ok(0);
    }
    let now = k.now();
    let ids: Vec<String> = misses.iter().map(|_| k.new_id()).collect();
    let opened = in_tx!(&k.db, |tx| {
        let mut opened = 0u64;
        for (chunk, ids) in misses.chunks(256).zip(ids.chunks(256)) {
            let sql = format!(
                "UPDATE watch_rules SET flag_basis = v.column2 FROM (VALUES {}) AS v \
                 WHERE watch_rules.id = v.column1 AND watch_rules.flag_basis <> v.column2 \
                 AND NOT EXISTS (SELECT 1 FROM watch_escalations e WHERE e.rule_id = watch_rules.id AND e.closed_at IS NULL) \
                 RETURNING watch_rules.id",
                kernel::store::values_placeholders(chunk.len(), 2)
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for m in chunk {
                q = q.bind(&m.rule_id).bind(m.basis);
            }
            let moved: std::collections::HashSet<String> = q.fetch_all(&mut *tx).await?.into_iter().collect();
            let new: Vec<(&Miss, &String)> = chunk
                .iter()
                .zip(ids)
                .filter(|(m, _)| moved.contains(&m.rule_id))
                .map(|(m, id)| (*m, id))
                .collect();
            if new.is_empty() {
                continue;
            }
            // A conflict is only possible with another node opening for the same rule at the same
            // moment (PostgreSQL): its escalation stands and this miss joins it.
            let sql = format!(
                "INSERT INTO watch_escalations (id, circle_id, rule_id, reason, basis, opened_at, step) VALUES {} \
                 ON CONFLICT DO NOTHING",
                kernel::store::values_placeholders(new.len(), 7)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (m, id) in new {
                q = q
                    .bind(id)
                    .bind(&m.circle_id)
                    .bind(&m.rule_id)
                    .bind(m.reason)
                    .bind(m.basis)
                    .bind(now)
                    .bind(-1i64);
            }
            opened += q.execute(&mut *tx).await?.rows_affected();
        }
        opened
    });
    Ok(opened as usize)
}

pub async fn get_escalation(db: &Db, id: &str) -> Result<Option<Escalation>> {
    let sql = format!("SELECT {ESC} FROM watch_escalations WHERE id = $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Escalation>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// Escalations whose next call is due: just opened (step -1) and not waiting for quiet hours,
/// or past `next_step_at` without an acknowledgement.
pub async fn due_calls(db: &Db, now: i64) -> Result<Vec<Escalation>> {
    // A paused or closed circle (a hospital stay) and a removed rule call nobody.
    let esc: String = ESC
        .split(", ")
        .map(|c| format!("e.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {esc} FROM watch_escalations e JOIN watch_circles c ON c.id = e.circle_id \
         JOIN watch_rules r ON r.id = e.rule_id \
         WHERE e.closed_at IS NULL AND e.acknowledged_at IS NULL \
         AND (e.step = -1 OR (e.next_step_at IS NOT NULL AND e.next_step_at <= $1)) \
         AND (c.paused_until IS NULL OR c.paused_until <= $1) AND {WATCHING} AND r.removed_at IS NULL \
         ORDER BY e.opened_at"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, Escalation>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(now)
    .fetch_all(p)
    .await)?)
}

/// Move an escalation from step `from` to `to`, recording who is called; false when another
/// node (or an acknowledgement) got there first.
pub async fn advance(k: &Kernel, e: &Escalation, to: i64, next_at: Option<i64>, called: &[String]) -> Result<bool> {
    let now = k.now();
    let moved = in_tx!(&k.db, |tx| {
        let n = sqlx::query(
            "UPDATE watch_escalations SET step = $3, next_step_at = $4 WHERE id = $1 AND step = $2 \
             AND acknowledged_at IS NULL AND closed_at IS NULL",
        )
        .bind(&e.id)
        .bind(e.step)
        .bind(to)
        .bind(next_at)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            for person in called {
                sqlx::query(
                    "INSERT INTO watch_calls (escalation_id, step, person_id, called_at) VALUES ($1,$2,$3,$4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(&e.id)
                .bind(to)
                .bind(person)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        n > 0
    });
    Ok(moved)
}

/// 「今から訪問します」: stops the ladder — of this escalation and of any other open one of the
/// same circle (one visit answers them all). False if this one was already acknowledged or closed.
pub async fn acknowledge(tx: &mut Tx, k: &Kernel, e: &Escalation, by: &str) -> Result<bool> {
    let now = k.now();
    let ok = on_tx!(tx, |tx| {
        let n = sqlx::query(
            "UPDATE watch_escalations SET acknowledged_by = $2, acknowledged_at = $3, next_step_at = NULL \
             WHERE id = $1 AND acknowledged_at IS NULL AND closed_at IS NULL",
        )
        .bind(&e.id)
        .bind(by)
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if n > 0 {
            sqlx::query(
                "UPDATE watch_escalations SET acknowledged_by = $2, acknowledged_at = $3, next_step_at = NULL \
                 WHERE circle_id = $1 AND acknowledged_at IS NULL AND closed_at IS NULL",
            )
            .bind(&e.circle_id)
            .bind(by)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        n > 0
    });
    Ok(ok)
}

/// The welfare desk has been called and nobody more is on the ladder: stop calling.
pub async fn stop_ladder(db: &Db, id: &str) -> Result<()> {
    on_db!(db, |p| sqlx::query(
        "UPDATE watch_escalations SET next_step_at = NULL WHERE id = $1"
    )
    .bind(id)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Visits acknowledged before `cutoff` whose outcome was never recorded: the ladder resumes with
/// the welfare desk. Returns the escalations reopened.
pub async fn stale_visits(k: &Kernel, cutoff: i64) -> Result<Vec<Escalation>> {
    let sql = format!(
        "SELECT {ESC} FROM watch_escalations WHERE closed_at IS NULL AND acknowledged_at IS NOT NULL \
         AND acknowledged_at < $1"
    );
    let stale: Vec<Escalation> = on_db!(&k.db, |p| sqlx::query_as::<_, Escalation>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(cutoff)
    .fetch_all(p)
    .await)?;
    let mut reopened = Vec::new();
    for e in stale {
        // The step before the desk, so the next call is the desk's.
        let desk_step = ladder(&k.db, &e.circle_id).await?.len() as i64;
        let n = on_db!(&k.db, |p| {
            sqlx::query(
            "UPDATE watch_escalations SET acknowledged_by = NULL, acknowledged_at = NULL, step = $2, next_step_at = $3 \
             WHERE id = $1 AND acknowledged_at IS NOT NULL AND closed_at IS NULL"
        )
        .bind(&e.id)
        .bind(desk_step - 1)
        .bind(k.now())
        .execute(p)
        .await
        .map(|r| r.rows_affected())
        })?;
        if n > 0 {
            reopened.push(e);
        }
    }
    Ok(reopened)
}

/// Open escalations of a circle acknowledged by `by` (closed together by the visit's outcome).
pub async fn acknowledged_by(db: &Db, circle_id: &str, by: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT id FROM watch_escalations WHERE circle_id = $1 AND acknowledged_by = $2 AND closed_at IS NULL"
    )
    .bind(circle_id)
    .bind(by)
    .fetch_all(p)
    .await)?)
}

/// Close with the visit's outcome (or `signal`: the person signalled before anyone went).
pub async fn close_escalation(
    tx: &mut Tx,
    k: &Kernel,
    id: &str,
    outcome: &str,
    note: Option<&str>,
    how: &str,
) -> Result<bool> {
    let n = on_tx!(tx, |p| {
        sqlx::query(
        "UPDATE watch_escalations SET outcome = $2, note = $3, closed_at = $4, closed_how = $5, next_step_at = NULL \
         WHERE id = $1 AND closed_at IS NULL"
    )
    .bind(id)
    .bind(outcome)
    .bind(note)
    .bind(k.now())
    .bind(how)
    .execute(&mut **p)
    .await
    .map(|r| r.rows_affected())
    })?;
    Ok(n > 0)
}

pub async fn escalations(db: &Db, circle_id: &str, limit: i64) -> Result<Vec<Escalation>> {
    let sql = format!(
        "SELECT {ESC} FROM watch_escalations WHERE circle_id = $1 \
         ORDER BY CASE WHEN closed_at IS NULL THEN 0 ELSE 1 END, opened_at DESC LIMIT $2"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, Escalation>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(circle_id)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Open escalations of every circle (the welfare desk).
pub async fn open_escalations(db: &Db) -> Result<Vec<Escalation>> {
    let sql = format!("SELECT {ESC} FROM watch_escalations WHERE closed_at IS NULL ORDER BY opened_at");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Escalation>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .fetch_all(p)
    .await)?)
}

/// Who was called, step by step.
pub async fn calls(db: &Db, escalation_id: &str) -> Result<Vec<(i64, String, i64)>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, (i64, String, i64)>(
        "SELECT c.step, pe.display_name, c.called_at FROM watch_calls c JOIN people pe ON pe.id = c.person_id \
         WHERE c.escalation_id = $1 ORDER BY c.step, c.called_at"
    )
    .bind(escalation_id)
    .fetch_all(p)
    .await)?)
}

// ---- trainings ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Training {
    pub id: String,
    pub person_id: String,
    pub organisation: String,
    pub taken_on: String,
    pub expires_on: String,
    pub recorded_by: String,
    pub recorded_at: i64,
}

pub async fn record_training(
    tx: &mut Tx,
    k: &Kernel,
    person_id: &str,
    organisation: &str,
    taken_on: &str,
    expires_on: &str,
    by: &str,
) -> Result<Training> {
    let t = Training {
        id: k.new_id(),
        person_id: person_id.to_string(),
        organisation: organisation.to_string(),
        taken_on: taken_on.to_string(),
        expires_on: expires_on.to_string(),
        recorded_by: by.to_string(),
        recorded_at: k.now(),
    };
    on_tx!(tx, |p| sqlx::query(
        "INSERT INTO watch_trainings (id, person_id, organisation, taken_on, expires_on, recorded_by, recorded_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7)"
    )
    .bind(&t.id)
    .bind(&t.person_id)
    .bind(&t.organisation)
    .bind(&t.taken_on)
    .bind(&t.expires_on)
    .bind(&t.recorded_by)
    .bind(t.recorded_at)
    .execute(&mut **p)
    .await
    .map(|_| ()))?;
    Ok(t)
}

pub async fn trainings_of(db: &Db, person_id: &str) -> Result<Vec<Training>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Training>(
        "SELECT id, person_id, organisation, taken_on, expires_on, recorded_by, recorded_at FROM watch_trainings \
         WHERE person_id = $1 ORDER BY expires_on DESC"
    )
    .bind(person_id)
    .fetch_all(p)
    .await)?)
}

// ---- listening schedules ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Schedule {
    pub id: String,
    pub circle_id: String,
    pub volunteer_id: String,
    pub volunteer_name: String,
    /// `call` or `visit`.
    pub kind: String,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i64,
    /// Minutes after local midnight.
    pub minute: i64,
    pub created_at: i64,
}

pub async fn add_schedule(
    tx: &mut Tx,
    k: &Kernel,
    circle_id: &str,
    volunteer: &str,
    kind: &str,
    (weekday, minute): (i64, i64),
    by: &str,
) -> Result<String> {
    let id = k.new_id();
    on_tx!(tx, |p| sqlx::query(
        "INSERT INTO watch_schedules (id, circle_id, volunteer_id, kind, weekday, minute, created_by, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8)"
    )
    .bind(&id)
    .bind(circle_id)
    .bind(volunteer)
    .bind(kind)
    .bind(weekday)
    .bind(minute)
    .bind(by)
    .bind(k.now())
    .execute(&mut **p)
    .await
    .map(|_| ()))?;
    Ok(id)
}

pub async fn schedules(db: &Db, circle_id: &str) -> Result<Vec<Schedule>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Schedule>(
        "SELECT s.id, s.circle_id, s.volunteer_id, pe.display_name AS volunteer_name, s.kind, s.weekday, s.minute, \
         s.created_at FROM watch_schedules s JOIN people pe ON pe.id = s.volunteer_id \
         WHERE s.circle_id = $1 AND s.removed_at IS NULL ORDER BY s.weekday, s.minute"
    )
    .bind(circle_id)
    .fetch_all(p)
    .await)?)
}

pub async fn get_schedule(db: &Db, id: &str) -> Result<Option<Schedule>> {
    Ok(on_db!(db, |p| {
        sqlx::query_as::<_, Schedule>(
        "SELECT s.id, s.circle_id, s.volunteer_id, pe.display_name AS volunteer_name, s.kind, s.weekday, s.minute, \
         s.created_at FROM watch_schedules s JOIN people pe ON pe.id = s.volunteer_id WHERE s.id = $1 AND s.removed_at IS NULL"
    )
    .bind(id)
    .fetch_optional(p)
    .await
    })?)
}

/// Log a call or visit done for the occurrence due at `due_at`; false if already logged.
pub async fn log_done(k: &Kernel, schedule_id: &str, due_at: i64, by: &str, note: Option<&str>) -> Result<bool> {
    let n = on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO watch_schedule_log (schedule_id, due_at, done_by, done_at, note) VALUES ($1,$2,$3,$4,$5) \
         ON CONFLICT (schedule_id, due_at) DO NOTHING"
    )
    .bind(schedule_id)
    .bind(due_at)
    .bind(by)
    .bind(k.now())
    .bind(note)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// The log of a schedule: (due at, done at, note).
pub async fn schedule_log(db: &Db, schedule_id: &str) -> Result<Vec<(i64, i64, Option<String>)>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, (i64, i64, Option<String>)>(
        "SELECT due_at, done_at, note FROM watch_schedule_log WHERE schedule_id = $1 ORDER BY due_at DESC"
    )
    .bind(schedule_id)
    .fetch_all(p)
    .await)?)
}

// ---- contacts and messages ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Contact {
    pub contact_id: String,
    pub display_name: String,
    pub added_by: String,
    pub added_at: i64,
}

pub async fn contacts(db: &Db, circle_id: &str) -> Result<Vec<Contact>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Contact>(
        "SELECT c.contact_id, pe.display_name, c.added_by, c.added_at FROM watch_contacts c \
         JOIN people pe ON pe.id = c.contact_id WHERE c.circle_id = $1 ORDER BY c.added_at"
    )
    .bind(circle_id)
    .fetch_all(p)
    .await)?)
}

pub async fn add_contact(tx: &mut Tx, k: &Kernel, circle_id: &str, contact: &str, by: &str) -> Result<bool> {
    let n = on_tx!(tx, |p| sqlx::query(
        "INSERT INTO watch_contacts (circle_id, contact_id, added_by, added_at) VALUES ($1,$2,$3,$4) \
         ON CONFLICT (circle_id, contact_id) DO NOTHING"
    )
    .bind(circle_id)
    .bind(contact)
    .bind(by)
    .bind(k.now())
    .execute(&mut **p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn remove_contact(tx: &mut Tx, circle_id: &str, contact: &str) -> Result<bool> {
    let n = on_tx!(tx, |p| sqlx::query(
        "DELETE FROM watch_contacts WHERE circle_id = $1 AND contact_id = $2"
    )
    .bind(circle_id)
    .bind(contact)
    .execute(&mut **p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// May `sender` reach the circle's person directly: on the allow-list, the named guardian, or —
/// with no guardian named — a family member (those who decide held messages anyway). Other
/// membership lets nobody through (a member someone else added could be anyone).
pub async fn allowed(db: &Db, circle_id: &str, sender: &str) -> Result<bool> {
    let n: i64 = on_db!(db, |p| sqlx::query_scalar(
        "SELECT (SELECT COUNT(*) FROM watch_contacts WHERE circle_id = $1 AND contact_id = $2) + \
         (SELECT COUNT(*) FROM watch_circles WHERE id = $1 AND guardian_id = $2) + \
         (SELECT COUNT(*) FROM watch_circles c JOIN watch_members m ON m.circle_id = c.id \
          WHERE c.id = $1 AND c.guardian_id IS NULL AND m.person_id = $2 AND m.role = 'family')"
    )
    .bind(circle_id)
    .bind(sender)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Message {
    pub id: String,
    pub to_person_id: String,
    pub from_person_id: String,
    pub from_name: String,
    /// Absent where the reader may not see it: a held or refused message, read by the person it
    /// was sent to (a scam's text and phone number must not reach them before the family looks).
    pub body: Option<String>,
    pub sent_at: i64,
    /// `delivered`, `held` (waiting for the guardian), `approved` (then delivered), `rejected`.
    pub state: String,
    pub decided_at: Option<i64>,
}

const MSG: &str =
    "m.id, m.to_person_id, m.from_person_id, pe.display_name AS from_name, m.body, m.sent_at, m.state, m.decided_at";

pub async fn send_message(k: &Kernel, to: &str, from: &str, body: &str, state: &str) -> Result<String> {
    let id = k.new_id();
    on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO watch_messages (id, to_person_id, from_person_id, body, sent_at, state) VALUES ($1,$2,$3,$4,$5,$6)"
    )
    .bind(&id)
    .bind(to)
    .bind(from)
    .bind(body)
    .bind(k.now())
    .bind(state)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(id)
}

/// Messages to a person: `shown` = delivered or approved (the terminal shows these); else the
/// ones that went to the guardian (held, approved, rejected).
pub async fn messages_to(db: &Db, person_id: &str, shown: bool, limit: i64) -> Result<Vec<Message>> {
    let states = if shown {
        "('delivered', 'approved')"
    } else {
        "('held', 'approved', 'rejected')"
    };
    let sql = format!(
        "SELECT {MSG} FROM watch_messages m JOIN people pe ON pe.id = m.from_person_id \
         WHERE m.to_person_id = $1 AND m.state IN {states} ORDER BY m.sent_at DESC LIMIT $2"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, Message>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(person_id)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

pub async fn get_message(db: &Db, id: &str) -> Result<Option<Message>> {
    let sql = format!("SELECT {MSG} FROM watch_messages m JOIN people pe ON pe.id = m.from_person_id WHERE m.id = $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Message>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

/// The guardian's decision on a held message; false if it was not held (decided already).
pub async fn decide_message(tx: &mut Tx, k: &Kernel, id: &str, approve: bool, by: &str) -> Result<bool> {
    let n = on_tx!(tx, |p| sqlx::query(
        "UPDATE watch_messages SET state = $2, decided_by = $3, decided_at = $4 WHERE id = $1 AND state = 'held'"
    )
    .bind(id)
    .bind(if approve { "approved" } else { "rejected" })
    .bind(by)
    .bind(k.now())
    .execute(&mut **p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// A notice as the person's screens got it (the `web` channel of the outbox).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Notice {
    pub id: String,
    pub subject: String,
    pub body: String,
    pub created_at: i64,
}

/// The person's latest watch notices.
pub async fn notices(db: &Db, person_id: &str, limit: i64) -> Result<Vec<Notice>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Notice>(
        "SELECT id, subject, body, created_at FROM outbox WHERE channel = 'web' AND source = 'watch' \
         AND person_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
    )
    .bind(person_id)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// The escalation ladders of these people's (consented) circles, in order: who to tell first when
/// one of them is in trouble — used by safety confirmation for a silent household.
pub async fn ladders_of(db: &Db, person_ids: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for person in person_ids {
        let Some(c) = of_person(db, person).await? else {
            continue;
        };
        if !watching(db, &c.id).await? {
            continue;
        }
        for m in ladder(db, &c.id).await? {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Everyone called so far for an escalation.
pub async fn called_people(db: &Db, escalation_id: &str) -> Result<Vec<String>> {
    Ok(kernel::on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT DISTINCT person_id FROM watch_calls WHERE escalation_id = $1 ORDER BY person_id"
    )
    .bind(escalation_id)
    .fetch_all(p)
    .await)?)
}
