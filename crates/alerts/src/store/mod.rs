//! Alerts on disk: idempotent ingestion by (sender, identifier), Update/Cancel chains through
//! CAP references, the areas each alert reaches, and active alerts per area.

use kernel::model::geometry::parse_geometry;
use kernel::store::{Db, Tx, values_placeholders};
use kernel::{Error, Kernel, Result, on_db, on_tx};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::alert::{summary, targets};
use crate::model::cap;
use crate::model::target::{Group, TownArea, resolve};

/// SQL condition: the person `person` (an alias of `people`) is among those the alert `alert`
/// (an SQL expression for its id) is limited to — everyone when it names no groups.
pub(crate) fn reaches(alert: &str, person: &str) -> String {
    format!(
        "(NOT EXISTS (SELECT 1 FROM alert_groups g WHERE g.alert_id = {alert}) \
         OR EXISTS (SELECT 1 FROM alert_groups g WHERE g.alert_id = {alert} AND \
         ((g.grp = 'needs-support' AND {person}.needs_support) \
         OR EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = {person}.id AND g.grp = 'association:' || m.organisation_id))))"
    )
}

/// The groups an alert is limited to, as stored (`needs-support`, `association:<id>`).
pub async fn groups(db: &Db, alert_id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT grp FROM alert_groups WHERE alert_id = $1 ORDER BY grp"
    )
    .bind(alert_id)
    .fetch_all(p)
    .await)?)
}

/// The groups a person belongs to, in the same words: for screens to pick the alerts meant for them.
pub async fn groups_of_person(db: &Db, person_id: &str, needs_support: bool) -> Result<Vec<String>> {
    let mut out: Vec<String> = on_db!(db, |p| {
        sqlx::query_scalar::<_, String>(
        "SELECT 'association:' || m.organisation_id FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
         WHERE m.person_id = $1 AND o.kind = 'association'"
    )
    .bind(person_id)
    .fetch_all(p)
    .await
    })?;
    if needs_support {
        out.push("needs-support".into());
    }
    Ok(out)
}

/// Every group an alert names must exist: a typo must not silently reach nobody.
async fn check_groups(db: &Db, groups: &[Group]) -> Result<()> {
    for g in groups {
        if let Group::Association(id) = g {
            let known = kernel::store::orgs::get(db, id)
                .await?
                .is_some_and(|o| o.kind.as_str() == "association");
            if !known {
                return Err(Error::invalid_with(
                    "alerts-group-unknown",
                    vec![("group", g.as_string())],
                ));
            }
        }
    }
    Ok(())
}

/// (people, households) an alert reaches, after it is stored with its areas and groups (in the
/// transaction that stored them: they are not visible outside it yet).
async fn count_reached(tx: &mut Tx, alert_id: &str) -> Result<(i64, i64)> {
    let cond = reaches("$1", "pe");
    let sql = format!(
        "SELECT COUNT(*), COUNT(DISTINCT hm.household_id) FROM people pe \
         JOIN alert_areas x ON x.area_id = pe.area_id AND x.alert_id = $1 \
         LEFT JOIN household_members hm ON hm.person_id = pe.id \
         WHERE pe.deleted_at IS NULL AND {cond}"
    );
    Ok(on_tx!(tx, |tx| sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(alert_id)
    .fetch_one(&mut **tx)
    .await?))
}

pub static MIGRATIONS: &[kernel::store::migrate::Migration] = &[
    kernel::migration!("0001_alerts"),
    kernel::migration!("0002_acks"),
    kernel::migration!("0003_groups_receipts"),
];

/// An alert as machi keeps it (the CAP text is kept alongside, verbatim as received).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct StoredAlert {
    pub id: String,
    pub sender: String,
    pub identifier: String,
    pub sent: String,
    pub sent_ms: i64,
    pub status: String,
    pub msg_type: String,
    /// The alert this one updates or cancels.
    pub refers_to: Option<String>,
    pub event: String,
    pub category: String,
    pub urgency: String,
    pub severity: String,
    pub certainty: String,
    pub headline: Option<String>,
    pub language: String,
    pub expires_ms: Option<i64>,
    /// The later Update or Cancel that replaced this alert.
    pub replaced_by: Option<String>,
    pub created_at: i64,
    pub targeted_people: i64,
    pub targeted_households: i64,
}

const COLUMNS: &str = "id, sender, identifier, sent, sent_ms, status, msg_type, refers_to, event, category, urgency, \
     severity, certainty, headline, language, expires_ms, replaced_by, created_at, targeted_people, targeted_households";

pub async fn by_sender_identifier(db: &Db, sender: &str, identifier: &str) -> Result<Option<StoredAlert>> {
    let sql = format!("SELECT {COLUMNS} FROM alerts WHERE sender = $1 AND identifier = $2");
    Ok(on_db!(db, |p| sqlx::query_as::<_, StoredAlert>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(sender)
    .bind(identifier)
    .fetch_optional(p)
    .await)?)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<StoredAlert>> {
    let sql = format!("SELECT {COLUMNS} FROM alerts WHERE id = $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, StoredAlert>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

pub async fn require(db: &Db, id: &str) -> Result<StoredAlert> {
    get(db, id).await?.ok_or_else(|| Error::not_found("alert-not-found"))
}

pub async fn cap_xml(db: &Db, id: &str) -> Result<String> {
    on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT cap_xml FROM alerts WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await)?
    .ok_or_else(|| Error::not_found("alert-not-found"))
}

/// Codes of the areas an alert reaches.
pub async fn area_codes(db: &Db, id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT a.code FROM alert_areas x JOIN areas a ON a.id = x.area_id WHERE x.alert_id = $1 ORDER BY a.code"
    )
    .bind(id)
    .fetch_all(p)
    .await)?)
}

/// Ids of the areas an alert reaches.
pub async fn area_ids(db: &Db, id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT area_id FROM alert_areas WHERE alert_id = $1"
    )
    .bind(id)
    .fetch_all(p)
    .await)?)
}

/// Record that a person saw and acknowledged an alert. The first acknowledgement counts;
/// pressing again changes nothing.
pub async fn acknowledge(k: &Kernel, alert_id: &str, person_id: &str, channel: &str) -> Result<bool> {
    let household = kernel::store::people::household_of(&k.db, &person_id.to_string()).await?;
    let area = kernel::store::people::get(&k.db, person_id)
        .await?
        .and_then(|p| p.area_id);
    let n = on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO alert_acks (alert_id, person_id, household_id, area_id, channel, acked_at) \
         VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (alert_id, person_id) DO NOTHING"
    )
    .bind(alert_id)
    .bind(person_id)
    .bind(household)
    .bind(area)
    .bind(channel)
    .bind(k.now())
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Alerts this person has acknowledged, among `ids`.
pub async fn acknowledged_by(db: &Db, person_id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT alert_id FROM alert_acks WHERE person_id = $1"
    )
    .bind(person_id)
    .fetch_all(p)
    .await)?)
}

/// The town's areas with their shapes, for targeting.
pub async fn town_areas(db: &Db) -> Result<Vec<TownArea>> {
    let rows: Vec<(String, String, Option<String>, String, bool)> = on_db!(db, |p| sqlx::query_as(
        "SELECT a.id, a.code, a.parent_id, a.geometry, \
         NOT EXISTS (SELECT 1 FROM areas c WHERE c.parent_id = a.id) AS is_leaf FROM areas a"
    )
    .fetch_all(p)
    .await)?;
    rows.into_iter()
        .map(|(id, code, parent_id, geometry, is_leaf)| {
            let value: serde_json::Value =
                serde_json::from_str(&geometry).map_err(|e| Error::Internal(e.to_string()))?;
            let shape = parse_geometry(&value).map_err(|e| Error::Internal(e.0))?;
            Ok(TownArea {
                id,
                code,
                parent_id,
                is_leaf,
                shape,
            })
        })
        .collect()
}

async fn count_in_areas(db: &Db, table: &str, area_ids: &[String]) -> Result<i64> {
    if area_ids.is_empty() {
        return Ok(0);
    }
    let ph = values_placeholders(1, area_ids.len());
    let ph = &ph[1..ph.len() - 1];
    let extra = if table == "people" {
        " AND deleted_at IS NULL"
    } else {
        ""
    };
    let sql = format!("SELECT COUNT(*) FROM {table} WHERE area_id IN ({ph}){extra}");
    on_db!(db, |p| {
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.as_str()));
        for a in area_ids {
            q = q.bind(a);
        }
        q.fetch_one(p).await
    })
    .map_err(Into::into)
}

/// (people, households) an alert with these targets and groups would reach, before it is sent: for
/// the confirmation step. Counted as [`insert_in`] will count them.
pub async fn reach(k: &Kernel, alert: &cap::Alert) -> Result<(i64, i64)> {
    let groups = crate::model::alert::groups(alert)
        .map_err(|bad| Error::invalid_with("alerts-group-unknown", vec![("group", bad)]))?;
    let areas = town_areas(&k.db).await?;
    let hit: Vec<String> = resolve(&targets(alert), &areas).into_iter().collect();
    if groups.is_empty() || hit.is_empty() {
        return Ok((
            count_in_areas(&k.db, "people", &hit).await?,
            count_in_areas(&k.db, "households", &hit).await?,
        ));
    }
    let n = hit.len();
    let ph = values_placeholders(1, n);
    let ph = &ph[1..ph.len() - 1];
    let orgs: Vec<String> = groups
        .iter()
        .filter_map(|g| match g {
            Group::Association(id) => Some(id.clone()),
            Group::NeedsSupport => None,
        })
        .collect();
    let mut cond = Vec::new();
    if groups.contains(&Group::NeedsSupport) {
        cond.push("pe.needs_support".to_string());
    }
    if !orgs.is_empty() {
        let list: Vec<String> = (0..orgs.len()).map(|i| format!("${}", n + i + 1)).collect();
        cond.push(format!(
            "EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = pe.id AND m.organisation_id IN ({}))",
            list.join(",")
        ));
    }
    let sql = format!(
        "SELECT COUNT(*), COUNT(DISTINCT hm.household_id) FROM people pe \
         LEFT JOIN household_members hm ON hm.person_id = pe.id \
         WHERE pe.deleted_at IS NULL AND pe.area_id IN ({ph}) AND ({})",
        cond.join(" OR ")
    );
    on_db!(&k.db, |p| {
        let mut q = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql.as_str()));
        for a in &hit {
            q = q.bind(a);
        }
        for o in &orgs {
            q = q.bind(o);
        }
        q.fetch_one(p).await
    })
    .map_err(Into::into)
}

/// An alert checked and resolved against the town, ready to store: its row, the 町丁目 it
/// reaches, its groups, the alerts it replaces.
pub struct Prepared {
    stored: StoredAlert,
    hit: Vec<String>,
    groups: Vec<Group>,
    referenced: Vec<String>,
}

/// Check a CAP alert for storing and resolve whom it reaches (reads only; nothing is written).
/// The town's own area codes and the groups must exist; anything else may name places
/// elsewhere and simply reaches nobody here.
pub async fn prepare(k: &Kernel, alert: &cap::Alert) -> Result<Prepared> {
    let groups = crate::model::alert::groups(alert)
        .map_err(|bad| Error::invalid_with("alerts-group-unknown", vec![("group", bad)]))?;
    check_groups(&k.db, &groups).await?;
    for code in crate::model::alert::own_area_codes(alert) {
        if kernel::store::areas::get(&k.db, &code).await?.is_none() {
            return Err(Error::invalid_with("area-unknown", vec![("area", code)]));
        }
    }
    let areas = town_areas(&k.db).await?;
    let hit: Vec<String> = resolve(&targets(alert), &areas).into_iter().collect();
    let s = summary(alert);
    let mut referenced = Vec::new();
    for r in &alert.references {
        if let Some(prev) = by_sender_identifier(&k.db, &r.sender, &r.identifier).await? {
            referenced.push(prev.id);
        }
    }
    let stored = StoredAlert {
        id: k.new_id(),
        sender: alert.sender.clone(),
        identifier: alert.identifier.clone(),
        sent: alert.sent.as_str().to_string(),
        sent_ms: alert.sent.to_unix_ms(),
        status: alert.status.as_str().to_string(),
        msg_type: alert.msg_type.as_str().to_string(),
        refers_to: referenced.last().cloned(),
        event: s.event,
        category: s.category,
        urgency: s.urgency,
        severity: s.severity,
        certainty: s.certainty,
        headline: s.headline,
        language: s.language,
        expires_ms: s.expires_ms,
        replaced_by: None,
        created_at: k.now(),
        targeted_people: count_in_areas(&k.db, "people", &hit).await?,
        targeted_households: count_in_areas(&k.db, "households", &hit).await?,
    };
    Ok(Prepared {
        stored,
        hit,
        groups,
        referenced,
    })
}

/// Store a prepared alert inside the caller's transaction (its audit entry commits with it): the
/// row with the CAP text verbatim, its areas and groups; an Update or Cancel marks the alerts it
/// references replaced. The same sender + identifier stored meanwhile is a unique violation.
pub async fn insert_in(tx: &mut Tx, p: Prepared, xml: &str, created_by: Option<&str>) -> Result<StoredAlert> {
    let sql = format!(
        "INSERT INTO alerts ({COLUMNS}, cap_xml, created_by) VALUES \
         ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)"
    );
    let Prepared {
        stored,
        hit,
        groups,
        referenced,
    } = p;
    on_tx!(tx, |tx| {
        let s = &stored;
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(&s.id)
            .bind(&s.sender)
            .bind(&s.identifier)
            .bind(&s.sent)
            .bind(s.sent_ms)
            .bind(&s.status)
            .bind(&s.msg_type)
            .bind(&s.refers_to)
            .bind(&s.event)
            .bind(&s.category)
            .bind(&s.urgency)
            .bind(&s.severity)
            .bind(&s.certainty)
            .bind(&s.headline)
            .bind(&s.language)
            .bind(s.expires_ms)
            .bind(&s.replaced_by)
            .bind(s.created_at)
            .bind(s.targeted_people)
            .bind(s.targeted_households)
            .bind(xml)
            .bind(created_by)
            .execute(&mut **tx)
            .await?;
        for area in &hit {
            sqlx::query("INSERT INTO alert_areas (alert_id, area_id) VALUES ($1, $2)")
                .bind(&s.id)
                .bind(area)
                .execute(&mut **tx)
                .await?;
        }
        for g in &groups {
            sqlx::query("INSERT INTO alert_groups (alert_id, grp) VALUES ($1, $2)")
                .bind(&s.id)
                .bind(g.as_string())
                .execute(&mut **tx)
                .await?;
        }
        for prev in &referenced {
            sqlx::query("UPDATE alerts SET replaced_by = $2 WHERE id = $1 AND replaced_by IS NULL")
                .bind(prev)
                .bind(&s.id)
                .execute(&mut **tx)
                .await?;
        }
    });
    if groups.is_empty() {
        return Ok(stored);
    }
    // Limited to groups: count who is really reached, now that the groups are stored.
    let (people, households) = count_reached(tx, &stored.id).await?;
    on_tx!(tx, |tx| {
        sqlx::query("UPDATE alerts SET targeted_people = $2, targeted_households = $3 WHERE id = $1")
            .bind(&stored.id)
            .bind(people)
            .bind(households)
            .execute(&mut **tx)
            .await?;
    });
    Ok(StoredAlert {
        targeted_people: people,
        targeted_households: households,
        ..stored
    })
}

/// Alerts in force for an area at `now`: reaching it, not replaced, not a Cancel, not expired,
/// Actual or Exercise. Most severe first, then newest.
pub async fn active_for_area(db: &Db, area_id: &str, now: i64) -> Result<Vec<StoredAlert>> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("a.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {cols} FROM alerts a JOIN alert_areas x ON x.alert_id = a.id \
         WHERE x.area_id = $1 AND a.replaced_by IS NULL AND a.msg_type <> 'Cancel' \
         AND a.status IN ('Actual', 'Exercise') AND (a.expires_ms IS NULL OR a.expires_ms > $2) \
         ORDER BY CASE a.severity WHEN 'Extreme' THEN 0 WHEN 'Severe' THEN 1 WHEN 'Moderate' THEN 2 WHEN 'Minor' THEN 3 ELSE 4 END, \
         a.sent_ms DESC"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, StoredAlert>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(area_id)
    .bind(now)
    .fetch_all(p)
    .await)?)
}

/// Newest first, a page at a time.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<StoredAlert>> {
    let sql = format!("SELECT {COLUMNS} FROM alerts ORDER BY sent_ms DESC, id DESC LIMIT $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, StoredAlert>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// For the report: each area the alert reaches (id, code, name) with the number of people there it reaches.
pub async fn report_areas(db: &Db, alert_id: &str) -> Result<Vec<(String, String, String, i64)>> {
    let cond = reaches("x.alert_id", "pe");
    let sql = format!(
        "SELECT x.area_id, a.code, a.name, \
         (SELECT COUNT(*) FROM people pe WHERE pe.area_id = x.area_id AND pe.deleted_at IS NULL AND {cond}) \
         FROM alert_areas x JOIN areas a ON a.id = x.area_id WHERE x.alert_id = $1 ORDER BY a.code"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String, String, i64)>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(alert_id)
    .fetch_all(p)
    .await)?)
}

/// A screen showed the alert to a logged-in person (terminal or web banner). The first time counts.
pub async fn record_receipt(
    k: &Kernel,
    alert_id: &str,
    person_id: &str,
    area_id: Option<&str>,
    channel: &str,
) -> Result<()> {
    on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO alert_receipts (alert_id, person_id, channel, area_id, received_at) \
         VALUES ($1,$2,$3,$4,$5) ON CONFLICT (alert_id, person_id, channel) DO NOTHING"
    )
    .bind(alert_id)
    .bind(person_id)
    .bind(channel)
    .bind(area_id)
    .bind(k.now())
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// Deliveries per (area, channel, state count): screens from receipts, e-mail and devices from
/// the outbox rows of people in each area. Returns (area id, channel, queued, delivered).
pub async fn deliveries_by_area(db: &Db, alert_id: &str) -> Result<Vec<(String, String, i64, i64)>> {
    let source = format!("alert:{alert_id}");
    let mut rows: Vec<(String, String, i64, i64)> = on_db!(db, |p| sqlx::query_as(
        "SELECT pe.area_id, o.channel, COUNT(*), \
         SUM(CASE WHEN o.state IN ('sent', 'acknowledged') THEN 1 ELSE 0 END) \
         FROM outbox o JOIN people pe ON pe.id = o.person_id \
         WHERE o.source = $1 AND pe.area_id IS NOT NULL GROUP BY pe.area_id, o.channel"
    )
    .bind(&source)
    .fetch_all(p)
    .await)?;
    let screens: Vec<(String, String, i64)> = on_db!(db, |p| sqlx::query_as(
        "SELECT area_id, channel, COUNT(*) FROM alert_receipts WHERE alert_id = $1 AND area_id IS NOT NULL \
         GROUP BY area_id, channel"
    )
    .bind(alert_id)
    .fetch_all(p)
    .await)?;
    rows.extend(screens.into_iter().map(|(a, c, n)| (a, c, n, n)));
    Ok(rows)
}

/// Acknowledgements of an alert, relative to when it was issued.
pub async fn acks(db: &Db, alert_id: &str, issued_ms: i64) -> Result<Vec<crate::model::report::Ack>> {
    let rows: Vec<(i64, String, Option<String>)> = on_db!(db, |p| sqlx::query_as(
        "SELECT acked_at, channel, area_id FROM alert_acks WHERE alert_id = $1 ORDER BY acked_at"
    )
    .bind(alert_id)
    .fetch_all(p)
    .await)?;
    Ok(rows
        .into_iter()
        .map(|(at, channel, area_id)| crate::model::report::Ack {
            after_ms: at - issued_ms,
            channel,
            area_id,
        })
        .collect())
}

/// Households in `area_id` the alert reaches where nobody has acknowledged it: for the officer's
/// follow-up visit.
/// Read inside the caller's transaction, which records the read in the audit log.
pub async fn silent_households(tx: &mut Tx, alert_id: &str, area_id: &str) -> Result<Vec<(String, Option<String>)>> {
    let cond = reaches("$1", "pe");
    let sql = format!(
        "SELECT h.name, h.address FROM households h WHERE h.area_id = $2 AND NOT EXISTS \
         (SELECT 1 FROM alert_acks k WHERE k.alert_id = $1 AND k.household_id = h.id) \
         AND (NOT EXISTS (SELECT 1 FROM alert_groups g WHERE g.alert_id = $1) OR EXISTS \
         (SELECT 1 FROM household_members hm JOIN people pe ON pe.id = hm.person_id WHERE hm.household_id = h.id AND {cond})) \
         ORDER BY h.address, h.name"
    );
    Ok(on_tx!(tx, |tx| sqlx::query_as::<_, (String, Option<String>)>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(alert_id)
    .bind(area_id)
    .fetch_all(&mut **tx)
    .await?))
}

/// People an alert reaches who registered an e-mail address and agreed to receive alerts by
/// e-mail: (person id, address).
pub async fn email_recipients(db: &Db, alert_id: &str) -> Result<Vec<(String, String)>> {
    let cond = reaches("x.alert_id", "pe");
    let sql = format!(
        "SELECT pe.id, pe.email FROM people pe JOIN alert_areas x ON x.area_id = pe.area_id \
         WHERE x.alert_id = $1 AND pe.email IS NOT NULL AND pe.deleted_at IS NULL \
         AND EXISTS (SELECT 1 FROM consents c WHERE c.person_id = pe.id AND c.scope = 'email' AND c.withdrawn_at IS NULL) \
         AND {cond} ORDER BY pe.id"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String)>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(alert_id)
    .fetch_all(p)
    .await)?)
}

/// Newest alerts reaching any of `area_ids` (cancelled and expired included: a feed is a history).
pub async fn recent_for_areas(db: &Db, area_ids: &[String], limit: i64) -> Result<Vec<StoredAlert>> {
    if area_ids.is_empty() {
        return Ok(Vec::new());
    }
    let ph = values_placeholders(1, area_ids.len());
    let ph = &ph[1..ph.len() - 1];
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("a.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let n = area_ids.len() + 1;
    let sql = format!(
        "SELECT {cols} FROM alerts a WHERE a.id IN (SELECT alert_id FROM alert_areas WHERE area_id IN ({ph})) \
         ORDER BY a.sent_ms DESC, a.id DESC LIMIT ${n}"
    );
    on_db!(db, |p| {
        let mut q = sqlx::query_as::<_, StoredAlert>(sqlx::AssertSqlSafe(sql.as_str()));
        for a in area_ids {
            q = q.bind(a);
        }
        q.bind(limit).fetch_all(p).await
    })
    .map_err(Into::into)
}

/// Devices (linked identifiers of kind `device`) of the people an alert reaches: (person, device id).
pub async fn device_recipients(db: &Db, alert_id: &str) -> Result<Vec<(String, String)>> {
    let cond = reaches("x.alert_id", "pe");
    let sql = format!(
        "SELECT li.person_id, li.value FROM linked_identifiers li JOIN people pe ON pe.id = li.person_id \
         JOIN alert_areas x ON x.area_id = pe.area_id \
         WHERE x.alert_id = $1 AND li.kind = 'device' AND pe.deleted_at IS NULL AND {cond} ORDER BY li.value"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String)>(
        sqlx::AssertSqlSafe(sql.as_str())
    )
    .bind(alert_id)
    .fetch_all(p)
    .await)?)
}

/// Ordinary notices e-mailed to each person since `since` (ms): for the per-day limit.
pub async fn notices_since(db: &Db, since: i64) -> Result<std::collections::HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = on_db!(db, |p| sqlx::query_as(
        "SELECT person_id, COUNT(*) FROM outbox WHERE channel = 'email' AND dedupe_key LIKE 'notice:%' \
         AND created_at >= $1 AND person_id IS NOT NULL GROUP BY person_id"
    )
    .bind(since)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().collect())
}

/// The leaf areas (町丁目) at or below an area, by id — in SQL, without reading any shapes, since
/// every screen that connects asks this.
pub async fn leaves_below(db: &Db, area_id: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "WITH RECURSIVE down(id, depth) AS (SELECT id, 0 FROM areas WHERE id = $1 \
         UNION ALL SELECT a.id, down.depth + 1 FROM areas a JOIN down ON a.parent_id = down.id WHERE down.depth < 16) \
         SELECT d.id FROM down d WHERE NOT EXISTS (SELECT 1 FROM areas c WHERE c.parent_id = d.id) ORDER BY d.id"
    )
    .bind(area_id)
    .fetch_all(p)
    .await)?)
}
