//! Staff with the alerts duty (危機管理課): the list of alerts (in force, drills, past), each
//! leading to its report, and ending an alert from the web — a CAP Cancel (sent by mistake) or an
//! Update with 解除 (the danger is over) — to the same people as the original, after a
//! confirmation that says how many it reaches.

use crate::policy::{Action, Resource};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::i18n::{Lang, t};
use kernel::model::policy::Actor;
use kernel::web::Viewer;
use kernel::web::minijinja::context;
use kernel::web::render::ser;
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};

use crate::model::alert::main_info;
use crate::model::cap;
use crate::store::{self, StoredAlert};

/// Who sends alerts composed here, in words for the people who read them: 「みどり市 危機管理課」.
pub(crate) async fn sender_name(k: &Kernel, actor: &Actor) -> Result<Option<String>> {
    let town = kernel::store::areas::list(&k.db)
        .await?
        .into_iter()
        .find(|a| a.parent_id.is_none())
        .map(|a| a.name);
    let grant = actor
        .grants
        .iter()
        .find(|g| g.duties.iter().any(|d| d == "alerts"))
        .or_else(|| actor.grants.first());
    let org = match grant {
        Some(g) => kernel::store::orgs::get(&k.db, &g.organisation_id)
            .await?
            .map(|o| o.name),
        None => None,
    };
    Ok(match (town, org) {
        (Some(town), Some(org)) => Some(format!("{town} {org}")),
        (town, org) => org.or(town),
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
struct Row {
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

fn in_force(a: &StoredAlert, now: i64) -> bool {
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

/// The alerts list: in force, drills, and past ones, newest first; each leads to its report.
pub(crate) async fn list(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    v.require(Action::PublishAlerts, &Resource::Town)?;
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
            sender: alert.map(super::screens::sender_of).unwrap_or_else(|| a.sender.clone()),
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
    let notice = v
        .path
        .split("notice=")
        .nth(1)
        .map(|n| n.split('&').next().unwrap_or(n).to_string());
    let ctx = context! {
        current => ser(&current), drills => ser(&drills), past => ser(&past),
        notice => notice.filter(|n| n == "cancelled" || n == "lifted").map(|n| format!("alerts-notice-{n}")),
    };
    kernel::web::page(&v, "alerts/list.html", "alerts-list-title", ctx)
}

#[derive(Deserialize, Default)]
pub(crate) struct EndQuery {
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct EndForm {
    kind: Option<String>,
    #[serde(default)]
    note: String,
    confirm: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// CAP Cancel: sent by mistake, disregard it.
    Cancel,
    /// CAP Update with responseType AllClear: 解除, the danger is over.
    Lift,
}

impl Ending {
    fn parse(s: Option<&str>) -> Result<Ending> {
        match s {
            Some("cancel") => Ok(Ending::Cancel),
            Some("lift") => Ok(Ending::Lift),
            _ => Err(Error::invalid_with("alerts-end-kind", vec![])),
        }
    }
    fn code(self) -> &'static str {
        match self {
            Ending::Cancel => "cancel",
            Ending::Lift => "lift",
        }
    }
}

/// The original alert, refusing one that is no longer in force (already cancelled, lifted, expired).
async fn endable(k: &Kernel, id: &str) -> Result<(StoredAlert, cap::Alert)> {
    let stored = store::require(&k.db, id).await?;
    if !in_force(&stored, k.now()) {
        return Err(Error::conflict("alerts-not-in-force", vec![]));
    }
    let alert = cap::parse(&store::cap_xml(&k.db, id).await?).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((stored, alert))
}

/// The Cancel or 解除 Update for an alert: the same areas and groups (so the same people), the
/// same status (a drill ends as a drill), referencing it. Its words are the town's language.
fn ending_alert(
    k: &Kernel,
    original: &cap::Alert,
    kind: Ending,
    note: &str,
    sender_name: Option<String>,
) -> std::result::Result<cap::Alert, Error> {
    let info = main_info(original).ok_or_else(|| Error::Internal("an alert without info".into()))?;
    let title = info.headline.clone().unwrap_or_else(|| info.event.clone());
    let now = k.now();
    let note = Some(note.trim().to_string()).filter(|n| !n.is_empty());
    let (headline, description, response_types, urgency, severity) = match kind {
        Ending::Cancel => (
            t(Lang::Ja, "alerts-cancel-headline", &[("title", title)]),
            note.unwrap_or_else(|| t(Lang::Ja, "alerts-cancel-text", &[])),
            vec![],
            info.urgency,
            info.severity,
        ),
        Ending::Lift => (
            t(Lang::Ja, "alerts-lift-headline", &[("title", title)]),
            note.unwrap_or_else(|| t(Lang::Ja, "alerts-lift-text", &[])),
            vec![cap::ResponseType::AllClear],
            cap::Urgency::Past,
            cap::Severity::Minor,
        ),
    };
    let alert = cap::Alert {
        identifier: format!("machi-{}", k.new_id()),
        sender: super::pages::web_sender(k),
        sent: cap::CapTime::from_unix_ms_jst(now),
        status: original.status,
        msg_type: match kind {
            Ending::Cancel => cap::MsgType::Cancel,
            Ending::Lift => cap::MsgType::Update,
        },
        source: None,
        scope: original.scope,
        restriction: original.restriction.clone(),
        addresses: original.addresses.clone(),
        codes: vec![],
        note: None,
        references: vec![cap::Reference {
            sender: original.sender.clone(),
            identifier: original.identifier.clone(),
            sent: original.sent.clone(),
        }],
        incidents: original.incidents.clone(),
        infos: vec![cap::Info {
            language: "ja-JP".into(),
            categories: info.categories.clone(),
            event: info.event.clone(),
            response_types,
            urgency,
            severity,
            certainty: cap::Certainty::Observed,
            audience: None,
            event_codes: vec![],
            effective: None,
            onset: None,
            // The 解除 stays on screens for six hours, then goes.
            expires: Some(cap::CapTime::from_unix_ms_jst(now + 6 * 3_600_000)),
            sender_name,
            headline: Some(headline),
            description: Some(description),
            instruction: None,
            web: None,
            contact: None,
            // The same groups and areas: the same people as the original.
            parameters: info.parameters.clone(),
            resources: vec![],
            areas: original.infos.iter().flat_map(|i| i.areas.clone()).collect(),
        }],
    };
    alert
        .validate()
        .map_err(|e| Error::invalid_with("cap-invalid", vec![("element", e.element), ("rule", e.rule)]))?;
    Ok(alert)
}

async fn end_page(
    k: &Kernel,
    v: &Viewer,
    stored: &StoredAlert,
    original: &cap::Alert,
    kind: Ending,
    note: &str,
) -> Result<Response> {
    let (people, households) = store::reach(k, original).await?;
    let info = main_info(original);
    let ctx = context! {
        alert => ser(stored),
        instruction => info.and_then(|i| i.instruction.clone()),
        sender => super::screens::sender_of(original),
        drill => stored.status == "Exercise",
        kind => kind.code(),
        note => note,
        people => people, households => households,
    };
    let title = match kind {
        Ending::Cancel => "alerts-cancel-title",
        Ending::Lift => "alerts-lift-title",
    };
    kernel::web::page(v, "alerts/end.html", title, ctx)
}

/// The confirmation before a Cancel or 解除 goes out: what, and to how many people and households.
pub(crate) async fn end_form(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<EndQuery>,
) -> Result<Response> {
    v.require(Action::PublishAlerts, &Resource::Town)?;
    let kind = Ending::parse(q.kind.as_deref())?;
    let (stored, original) = endable(&k, &id).await?;
    end_page(&k, &v, &stored, &original, kind, "").await
}

/// Send the Cancel or 解除 once confirmed; without `confirm=yes`, show the confirmation.
pub(crate) async fn end(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<EndForm>,
) -> Result<Response> {
    let person = v.require(Action::PublishAlerts, &Resource::Town)?.clone();
    let kind = Ending::parse(f.kind.as_deref())?;
    let (stored, original) = endable(&k, &id).await?;
    if f.confirm.as_deref() != Some("yes") {
        let mut res = end_page(&k, &v, &stored, &original, kind, &f.note).await?;
        *res.status_mut() = StatusCode::OK;
        return Ok(res);
    }
    let alert = ending_alert(&k, &original, kind, &f.note, sender_name(&k, &v.actor).await?)?;
    let xml = cap::to_xml(&alert);
    let (sent, _) = store::ingest(&k, &alert, &xml, Some(&person.id)).await?;
    super::pages::announce(&k, &sent, &alert).await?;
    kernel::store::audit::append(
        &k,
        kernel::model::audit::AuditRecord::new(Some(&person.id), "alerts.publish", format!("alert/{}", sent.id))
            .reason(&format!("{} {} of {}", sent.status, sent.msg_type, stored.id)),
    )
    .await?;
    let notice = match kind {
        Ending::Cancel => "cancelled",
        Ending::Lift => "lifted",
    };
    Ok(Redirect::to(&format!("/alerts?notice={notice}")).into_response())
}
