//! The drill report and the alerts list: per area and channel targeted, delivered and
//! acknowledged; the households nobody in which acknowledged, for an officer's own areas only (a
//! read of personal data, committed with its audit entries); where each alert stands.

use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::Serialize;

use crate::model::alert::main_info;
use crate::model::cap;
use crate::policy::{Action, Resource};
use crate::store::{self, StoredAlert};

/// What the drill report shows a given actor: every area to city staff with the alerts duty,
/// their own areas to officers; the silent households only for their own areas.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Report {
    #[schema(value_type = Object)]
    pub alert: StoredAlert,
    /// Groups the alert is limited to (`needs-support`, `association:<id>`); empty = everyone.
    pub groups: Vec<String>,
    pub targeted: i64,
    pub acknowledged: i64,
    pub median_seconds: Option<i64>,
    #[schema(value_type = Vec<Object>)]
    pub areas: Vec<crate::model::report::AreaRow>,
    /// Per area and channel: queued, delivered, acknowledged, median time to acknowledge.
    #[schema(value_type = Vec<Object>)]
    pub area_channels: Vec<crate::model::report::AreaChannelRow>,
    #[schema(value_type = Vec<Object>)]
    pub channels: Vec<crate::model::report::ChannelRow>,
    /// Outbox counts per channel and state (staff only).
    #[schema(value_type = Vec<Object>)]
    pub deliveries: Vec<serde_json::Value>,
    /// Deliveries that failed, with reasons (staff only).
    #[schema(value_type = Vec<Object>)]
    pub failures: Vec<serde_json::Value>,
    /// Channels whose server (SMTP relay, MQTT broker) this node cannot reach now: their
    /// deliveries wait and are retried (staff only).
    pub unreachable: Vec<String>,
    /// Households nobody in which acknowledged, in the officer's own areas only.
    #[schema(value_type = Vec<Object>)]
    pub silent: Vec<serde_json::Value>,
    #[serde(skip)]
    pub acks: Vec<crate::model::report::Ack>,
    #[serde(skip)]
    pub staff: bool,
    #[serde(skip)]
    pub officer: bool,
}

pub(crate) async fn report_for(k: &Kernel, actor: &Actor, id: &str) -> Result<Report> {
    let alert = store::require(&k.db, id).await?;
    let areas = store::report_areas(&k.db, id).await?;
    let staff = may(actor, Action::PublishAlerts, &Resource::Town);
    let mut mine = Vec::new();
    for (area_id, _, _, _) in &areas {
        let path = kernel::store::areas::path(&k.db, Some(area_id)).await?;
        if may(
            actor,
            kernel::model::policy::Action::ListPeople,
            &kernel::model::policy::Resource::Area { area_path: path },
        ) {
            mine.push(area_id.clone());
        }
    }
    if !staff && mine.is_empty() {
        return Err(Error::Forbidden);
    }
    let visible: Vec<_> = areas.into_iter().filter(|(a, ..)| staff || mine.contains(a)).collect();
    let shown = |a: &Option<String>| a.as_ref().is_some_and(|x| visible.iter().any(|(v, ..)| v == x));
    let acks: Vec<_> = store::acks(&k.db, id, alert.created_at)
        .await?
        .into_iter()
        .filter(|a| shown(&a.area_id))
        .collect();
    let deliveries_by_area: Vec<_> = store::deliveries_by_area(&k.db, id)
        .await?
        .into_iter()
        .filter(|d| shown(&Some(d.0.clone())))
        .collect();
    let rows = crate::model::report::area_rows(&visible, &acks);
    let area_channels = crate::model::report::area_channel_rows(&visible, &acks, &deliveries_by_area);
    // Households to visit: only for the officer's own areas, never for anyone else.
    // Each area's list is read in one transaction with the audit entries that record the reads.
    let mut silent = Vec::new();
    let own: Vec<_> = visible.iter().filter(|(a, ..)| mine.contains(a)).collect();
    if !own.is_empty() {
        let mut tx = k.db.begin().await?;
        let mut entries = Vec::new();
        for (area_id, _, name, _) in own {
            for (household, address) in store::silent_households(&mut tx, id, area_id).await? {
                silent.push(serde_json::json!({ "area": name, "household": household, "address": address }));
            }
            entries.push(
                kernel::model::audit::AuditRecord::new(
                    actor.person_id.as_deref(),
                    "alerts.silent_households",
                    format!("alert/{id}"),
                )
                .reason(&format!("area {name}")),
            );
        }
        kernel::store::audit::append_in(&mut tx, k.now(), entries).await?;
        tx.commit().await?;
    }
    let (deliveries, failures) = if staff {
        let source = format!("alert:{id}");
        let counts = kernel::store::outbox::counts(&k.db, &source).await?;
        let failed = kernel::store::outbox::failures(&k.db, &source, 50).await?;
        (
            counts
                .into_iter()
                .map(|(channel, state, n)| serde_json::json!({ "channel": channel, "state": state, "n": n }))
                .collect(),
            failed
                .into_iter()
                .map(|d| serde_json::json!({ "channel": d.channel, "address": d.address, "state": d.state, "attempts": d.attempts, "error": d.last_error }))
                .collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let unreachable = if staff {
        k.health.down().into_iter().map(str::to_string).collect()
    } else {
        Vec::new()
    };
    Ok(Report {
        unreachable,
        groups: store::groups(&k.db, id).await?,
        targeted: rows.iter().map(|r| r.targeted).sum(),
        acknowledged: rows.iter().map(|r| r.acknowledged).sum(),
        median_seconds: crate::model::report::median_seconds(acks.iter().map(|a| a.after_ms).collect()),
        channels: crate::model::report::channel_rows(&acks),
        areas: rows,
        area_channels,
        deliveries,
        failures,
        silent,
        acks,
        staff,
        officer: !mine.is_empty(),
        alert,
    })
}

/// Where an alert stands, for the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AlertState {
    InForce,
    Expired,
    Cancelled,
    Lifted,
    Updated,
    /// A Cancel or 解除 message itself.
    Ending,
    Test,
}

impl AlertState {
    pub(crate) fn key(self) -> &'static str {
        match self {
            AlertState::InForce => "alerts-state-in-force",
            AlertState::Expired => "alerts-state-expired",
            AlertState::Cancelled => "alerts-state-cancelled",
            AlertState::Lifted => "alerts-state-lifted",
            AlertState::Updated => "alerts-state-updated",
            AlertState::Ending => "alerts-state-ending",
            AlertState::Test => "alerts-state-test",
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct Row {
    id: String,
    title: String,
    drill: bool,
    severity: String,
    sent_ms: i64,
    sender: String,
    people: i64,
    households: i64,
    state: &'static str,
    in_force: bool,
}

fn is_all_clear(alert: &cap::Alert) -> bool {
    main_info(alert).is_some_and(|i| i.response_types.contains(&cap::ResponseType::AllClear))
}

pub(crate) fn in_force(a: &StoredAlert, now: i64) -> bool {
    a.replaced_by.is_none()
        && a.msg_type != "Cancel"
        && (a.status == "Actual" || a.status == "Exercise")
        && a.expires_ms.is_none_or(|e| e > now)
}

/// Where an alert stands, given its CAP and the message that replaced it (if any).
fn state_from(
    a: &StoredAlert,
    alert: Option<&cap::Alert>,
    next: Option<(&StoredAlert, Option<&cap::Alert>)>,
    now: i64,
) -> AlertState {
    if a.status != "Actual" && a.status != "Exercise" {
        AlertState::Test
    } else if a.msg_type == "Cancel" || alert.is_some_and(is_all_clear) {
        AlertState::Ending
    } else if a.replaced_by.is_some() {
        match next {
            Some((r, _)) if r.msg_type == "Cancel" => AlertState::Cancelled,
            Some((_, Some(n))) if is_all_clear(n) => AlertState::Lifted,
            _ => AlertState::Updated,
        }
    } else if in_force(a, now) {
        AlertState::InForce
    } else {
        AlertState::Expired
    }
}

/// Where one alert stands (for its report).
pub(crate) async fn state_of(k: &Kernel, a: &StoredAlert) -> Result<AlertState> {
    let alert = cap::parse(&store::cap_xml(&k.db, &a.id).await?).ok();
    let next = match &a.replaced_by {
        Some(n) => store::get(&k.db, n).await?,
        None => None,
    };
    let next_cap = match &next {
        Some(n) => cap::parse(&store::cap_xml(&k.db, &n.id).await?).ok(),
        None => None,
    };
    Ok(state_from(
        a,
        alert.as_ref(),
        next.as_ref().map(|n| (n, next_cap.as_ref())),
        k.now(),
    ))
}

/// The alerts list for staff with the alerts duty: (in force, drills, past), newest first.
pub(crate) async fn list_for(k: &Kernel, actor: &Actor) -> Result<(Vec<Row>, Vec<Row>, Vec<Row>)> {
    if !may(actor, Action::PublishAlerts, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let now = k.now();
    let recent = store::recent(&k.db, 200).await?;
    let mut parsed = std::collections::HashMap::new();
    for a in &recent {
        if let Ok(alert) = cap::parse(&store::cap_xml(&k.db, &a.id).await?) {
            parsed.insert(a.id.clone(), alert);
        }
    }
    let (mut current, mut drills, mut past) = (Vec::new(), Vec::new(), Vec::new());
    for a in &recent {
        let alert = parsed.get(&a.id);
        let next = a.replaced_by.as_ref().and_then(|n| recent.iter().find(|r| &r.id == n));
        let state = state_from(a, alert, next.map(|r| (r, parsed.get(&r.id))), now);
        let row = Row {
            id: a.id.clone(),
            title: a.headline.clone().unwrap_or_else(|| a.event.clone()),
            drill: a.status == "Exercise",
            severity: a.severity.clone(),
            sent_ms: a.sent_ms,
            sender: alert
                .map(super::in_force::sender_of)
                .unwrap_or_else(|| a.sender.clone()),
            people: a.targeted_people,
            households: a.targeted_households,
            state: state.key(),
            in_force: state == AlertState::InForce,
        };
        if row.drill {
            drills.push(row);
        } else if state == AlertState::InForce {
            current.push(row);
        } else {
            past.push(row);
        }
    }
    current.sort_by_key(|r| crate::model::screen::sort_key(r.drill, &r.severity, &r.id));
    Ok((current, drills, past))
}

/// The report with what the page shows beside it: the alert's CAP (for its sender and
/// instruction) and where it stands.
pub(crate) async fn report_page_for(
    k: &Kernel,
    actor: &Actor,
    id: &str,
) -> Result<(Report, Option<cap::Alert>, AlertState)> {
    let r = report_for(k, actor, id).await?;
    let parsed = cap::parse(&store::cap_xml(&k.db, id).await?).ok();
    let state = state_of(k, &r.alert).await?;
    Ok((r, parsed, state))
}

/// Delivery progress for the dashboard: outbox counts per channel and state, acknowledgements,
/// unreachable channels. Staff with the alerts duty only.
pub(crate) async fn progress_for(k: &Kernel, actor: &Actor, id: &str) -> Result<()> {
    if !may(actor, Action::PublishAlerts, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    store::require(&k.db, id).await?;
    Ok(())
}

pub(crate) async fn progress(k: &Kernel, id: &str) -> Result<serde_json::Value> {
    let counts = kernel::store::outbox::counts(&k.db, &format!("alert:{id}")).await?;
    let acks = store::acks(&k.db, id, 0).await?.len();
    Ok(serde_json::json!({
        "deliveries": counts.iter().map(|(c, s, n)| serde_json::json!({"channel": c, "state": s, "n": n})).collect::<Vec<_>>(),
        "acknowledged": acks,
        "unreachable": k.health.down(),
    }))
}
