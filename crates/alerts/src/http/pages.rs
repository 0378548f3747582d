//! Live alerts for screens: a Server-Sent Events stream per viewer (their area, or `?area=`),
//! with catch-up on reconnect (`Last-Event-ID`), and the 「確認しました」 acknowledgement.

use std::collections::HashSet;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use futures_util::stream::{self, Stream, StreamExt};
use kernel::events::Event;
use kernel::web::Viewer;
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};

use crate::model::alert::{is_drill, summary};
use crate::model::cap;
use crate::model::screen::{Screen, credit_receipt};
use crate::store::{self, StoredAlert};

pub fn router() -> Router<Kernel> {
    Router::new()
        .route("/alerts", get(super::staff::list))
        .route("/alerts/in-force", get(super::screens::fragment))
        .route("/alerts/{id}/end", get(super::staff::end_form).post(super::staff::end))
        .route("/alerts/events", get(events))
        .route("/alerts/{id}/ack", post(acknowledge))
        .route("/alerts/{id}/seen", post(seen))
        .route("/alerts/new", get(compose_form).post(compose))
        .route("/alerts/{id}/report", get(report))
        .route("/alerts/{id}/progress", get(progress))
}

pub const TEMPLATES: &[(&str, &str)] = &[
    ("alerts/compose.html", include_str!("../../templates/compose.html")),
    ("alerts/report.html", include_str!("../../templates/report.html")),
    ("alerts/banner.html", include_str!("../../templates/banner.html")),
    ("alerts/panel.html", include_str!("../../templates/panel.html")),
    ("alerts/list.html", include_str!("../../templates/list.html")),
    ("alerts/confirm.html", include_str!("../../templates/confirm.html")),
    ("alerts/end.html", include_str!("../../templates/end.html")),
];

/// What a screen needs to show an alert.
#[derive(Debug, Clone, Serialize)]
pub struct ScreenAlert {
    pub id: String,
    pub msg_type: String,
    pub drill: bool,
    pub severity: String,
    pub event: String,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    /// The alert an Update or Cancel replaces: screens take it down.
    pub refers_to: Option<String>,
    /// Severe or Extreme and real: ordinary content steps aside (平時と有事).
    pub takes_over: bool,
    /// An ordinary notice: shown in the status area, withheld while an emergency takes over.
    pub ordinary: bool,
    /// Groups the alert is limited to: personal screens of people outside them don't show it;
    /// public screens of the area do (高齢者等避難 is announced to all).
    pub groups: Vec<String>,
    /// When it was issued (CAP `sent`), ms; screens write it in the viewer's words.
    pub sent_ms: i64,
    /// Who issued it (CAP `senderName`, else the sender).
    pub sender: String,
}

fn screen_alert(stored: &StoredAlert, alert: &cap::Alert) -> ScreenAlert {
    let s = summary(alert);
    ScreenAlert {
        id: stored.id.clone(),
        msg_type: stored.msg_type.clone(),
        drill: is_drill(alert),
        takes_over: alert.status == cap::Status::Actual && matches!(s.severity.as_str(), "Severe" | "Extreme"),
        ordinary: crate::model::alert::priority(alert) == crate::model::alert::Priority::Ordinary,
        severity: s.severity,
        event: s.event,
        headline: s.headline,
        description: s.description,
        instruction: s.instruction,
        refers_to: stored.refers_to.clone(),
        sent_ms: stored.sent_ms,
        sender: super::screens::sender_of(alert),
        groups: crate::model::alert::groups(alert)
            .unwrap_or_default()
            .iter()
            .map(|g| g.as_string())
            .collect(),
    }
}

/// Is an alert (as sent to screens) meant for this viewer? `mine` is None on public screens.
fn for_viewer(data: &serde_json::Value, mine: Option<&[String]>) -> bool {
    let Some(mine) = mine else { return true };
    let groups: Vec<String> = data
        .get("groups")
        .and_then(|g| serde_json::from_value(g.clone()).ok())
        .unwrap_or_default();
    crate::model::target::person_in_groups(&groups, mine)
}

/// Send a newly stored alert (or its Update / Cancel) on every channel: queue an e-mail for
/// each person who agreed to e-mail alerts (the outbox sends it), and tell connected screens.
pub async fn announce(k: &Kernel, stored: &StoredAlert, alert: &cap::Alert) -> Result<()> {
    // Screens first: queueing tens of thousands of e-mails must not delay the terminals.
    announce_to_screens(k, stored, alert).await?;
    // Tests of the system reach nobody; real alerts and drills go out.
    if alert.status == cap::Status::Actual || alert.status == cap::Status::Exercise {
        let mail = crate::model::alert::email_text(alert, &stored.id);
        // Ordinary notices: at most `notices_per_day` e-mails per resident per local day. A Cancel
        // or 解除 of an earlier alert is never held back: it reaches everyone the alert reached.
        let ordinary = crate::model::alert::priority(alert) == crate::model::alert::Priority::Ordinary
            && alert.references.is_empty();
        let today = if ordinary {
            store::notices_since(&k.db, crate::model::alert::jst_day_start(k.now())).await?
        } else {
            Default::default()
        };
        let kind = if ordinary { "notice" } else { "alert" };
        let deliveries: Vec<kernel::store::outbox::NewDelivery> = store::email_recipients(&k.db, &stored.id)
            .await?
            .into_iter()
            .filter(|(person, _)| {
                !ordinary
                    || crate::model::alert::notices_left(
                        today.get(person).copied().unwrap_or(0),
                        k.config.notices_per_day,
                    ) > 0
            })
            .map(|(person, address)| kernel::store::outbox::NewDelivery {
                channel: "email".into(),
                source: format!("alert:{}", stored.id),
                dedupe_key: format!("{kind}:{}:email:{person}", stored.id),
                person_id: Some(person),
                address,
                subject: mail.0.clone(),
                body: mail.1.clone(),
            })
            .collect();
        kernel::store::outbox::enqueue(k, &deliveries).await?;
        // MQTT: one message per area topic (cable-TV and public displays) and one per device.
        let payload =
            serde_json::to_string(&screen_alert(stored, alert)).map_err(|e| Error::Internal(e.to_string()))?;
        let mqtt = |topic: String, key: String, person: Option<String>| kernel::store::outbox::NewDelivery {
            channel: "mqtt".into(),
            source: format!("alert:{}", stored.id),
            person_id: person,
            address: topic,
            subject: stored.id.clone(),
            body: payload.clone(),
            dedupe_key: format!("alert:{}:mqtt:{key}", stored.id),
        };
        let mut messages: Vec<_> = store::area_codes(&k.db, &stored.id)
            .await?
            .into_iter()
            .map(|code| mqtt(format!("machi/alerts/{code}"), format!("area:{code}"), None))
            .collect();
        for (person, device) in store::device_recipients(&k.db, &stored.id).await? {
            messages.push(mqtt(
                format!("machi/devices/{device}"),
                format!("device:{device}"),
                Some(person),
            ));
        }
        kernel::store::outbox::enqueue(k, &messages).await?;
    }
    Ok(())
}

async fn announce_to_screens(k: &Kernel, stored: &StoredAlert, alert: &cap::Alert) -> Result<()> {
    let data = serde_json::to_value(screen_alert(stored, alert)).map_err(|e| Error::Internal(e.to_string()))?;
    let mut area_ids = store::area_ids(&k.db, &stored.id).await?;
    if let Some(prev) = &stored.refers_to {
        // Screens showing the replaced alert must hear of its replacement.
        area_ids.extend(store::area_ids(&k.db, prev).await?);
    }
    if area_ids.is_empty() {
        return Ok(());
    }
    k.hub.publish(Event {
        kind: "alert".into(),
        id: stored.id.clone(),
        area_ids,
        person_ids: Vec::new(),
        data,
    });
    Ok(())
}

#[derive(Deserialize, Default)]
struct EventsQuery {
    /// Area code or id, for screens without a logged-in person (public banners).
    area: Option<String>,
}

fn sse_event(kind: &str, id: &str, data: &serde_json::Value) -> SseEvent {
    SseEvent::default().event(kind).id(id).data(data.to_string())
}

/// An alert for one viewer's screen: when and by whom it was issued, in their words.
fn localized<'a>(
    kind: &str,
    data: &'a serde_json::Value,
    lang: kernel::i18n::Lang,
) -> std::borrow::Cow<'a, serde_json::Value> {
    let sent = data.get("sent_ms").and_then(|v| v.as_i64());
    match (kind, sent) {
        ("alert", Some(ms)) => {
            let mut out = data.clone();
            let sender = data
                .get("sender")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            out["issued"] = kernel::i18n::t(
                lang,
                "alerts-issued-by",
                &[("when", kernel::web::render::human_time(lang, ms)), ("sender", sender)],
            )
            .into();
            std::borrow::Cow::Owned(out)
        }
        _ => std::borrow::Cow::Borrowed(data),
    }
}

async fn events(
    State(k): State<Kernel>,
    v: Viewer,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    // A public screen of an area shows everything for it; a person's screen, what is meant for them.
    let (mut watch, acked, mine): (Vec<String>, HashSet<String>, Option<Vec<String>>) = match (&v.person, &q.area) {
        (_, Some(area)) => (super::leaves(&k, area).await?, HashSet::new(), None),
        (Some(p), None) => (
            p.area_id.iter().cloned().collect(),
            store::acknowledged_by(&k.db, &p.id).await?.into_iter().collect(),
            Some(store::groups_of_person(&k.db, &p.id, p.needs_support).await?),
        ),
        (None, None) => return Err(v.require_login().map(|_| ()).unwrap_err()),
    };
    // The stream keeps these for as long as the screen stays connected, and a town has thousands of screens:
    // exact-size slices, the areas sorted (and without repeats) for binary search.
    watch.sort_unstable();
    watch.dedup();
    let watch = watch.into_boxed_slice();
    let mine = mine.map(Vec::into_boxed_slice);
    // Subscribe before reading the catch-up, so nothing published in between is lost.
    let rx = k.hub.subscribe();
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut catch_up = Vec::new();
    for area in watch.iter() {
        for stored in super::active(&k, area).await? {
            let newer = last_seen.as_ref().is_none_or(|l| stored.id.as_str() > l.as_str());
            if newer && !acked.contains(&stored.id) && !catch_up.iter().any(|(id, _)| id == &stored.id) {
                let alert = cap::parse(&store::cap_xml(&k.db, &stored.id).await?)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let data =
                    serde_json::to_value(screen_alert(&stored, &alert)).map_err(|e| Error::Internal(e.to_string()))?;
                if for_viewer(&data, mine.as_deref()) {
                    catch_up.push((stored.id.clone(), data));
                }
            }
        }
    }
    catch_up.sort_by(|a, b| a.0.cmp(&b.0));
    // While an emergency takes the screen, ordinary notices wait.
    let flag = |v: &(String, serde_json::Value), key: &str| v.1.get(key).and_then(|x| x.as_bool()).unwrap_or(false);
    let catch_up = crate::model::alert::withhold_ordinary(catch_up, |v| flag(v, "takes_over"), |v| flag(v, "ordinary"));
    let lang = v.lang;
    let first = stream::iter(
        catch_up
            .into_iter()
            .map(move |(id, data)| Ok(sse_event("alert", &id, &localized("alert", &data, lang)))),
    );
    // Notices to one person (a watch-over call, say) reach that person's screens only.
    let me: Option<Box<str>> = match (&v.person, &q.area) {
        (Some(p), None) => Some(p.id.clone().into_boxed_str()),
        _ => None,
    };
    let live = stream::unfold((rx, watch, mine, me), move |(mut rx, watch, mine, me)| async move {
        loop {
            match rx.recv().await {
                Ok(ev) if !ev.person_ids.is_empty() => {
                    if ev.for_person(me.as_deref()) {
                        let out = sse_event(&ev.kind, &ev.id, &localized(&ev.kind, &ev.data, lang));
                        return Some((Ok(out), (rx, watch, mine, me)));
                    }
                }
                Ok(ev)
                    if (ev.area_ids.is_empty() || ev.area_ids.iter().any(|a| watch.binary_search(a).is_ok()))
                        && for_viewer(&ev.data, mine.as_deref()) =>
                {
                    let out = sse_event(&ev.kind, &ev.id, &localized(&ev.kind, &ev.data, lang));
                    return Some((Ok(out), (rx, watch, mine, me)));
                }
                Ok(_) => continue,
                // Fell behind: the client reconnects with Last-Event-ID and catches up from the store.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return None,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(first.chain(live)).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}

#[derive(Deserialize, Default)]
struct AckForm {
    channel: Option<String>,
    back: Option<String>,
}

async fn acknowledge(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<AckForm>,
) -> Result<Response> {
    let person = v.require_login()?.clone();
    let alert = store::require(&k.db, &id).await?;
    let channel = match f.channel.as_deref() {
        Some("web") => "web",
        _ => "terminal",
    };
    store::acknowledge(&k, &alert.id, &person.id, channel).await?;
    match f.back.as_deref() {
        Some(back) => Ok(Redirect::to(&kernel::web::render::safe_next(Some(back))).into_response()),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// A screen showed the alert to its person: counted as delivered on that channel in the report.
async fn seen(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<AckForm>,
) -> Result<StatusCode> {
    let person = v.require_login()?.clone();
    let alert = store::require(&k.db, &id).await?;
    let channel = match f.channel.as_deref() {
        Some("web") => "web",
        _ => "terminal",
    };
    // Only what the screen shows now counts as a delivery: an alert in force for the person (their
    // area and groups) and, on a terminal, not queued behind another that has the screen.
    let screen = if channel == "web" {
        Screen::Web
    } else {
        Screen::Terminal
    };
    let in_force: Vec<_> = super::screens::in_force_for(&k, &person, v.lang)
        .await?
        .iter()
        .map(|a| a.on_screen())
        .collect();
    if credit_receipt(screen, &in_force, &alert.id) {
        store::record_receipt(&k, &alert.id, &person.id, person.area_id.as_deref(), channel).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

// ---- composing an alert in the browser (危機管理課) ----

#[derive(Deserialize, Default, Clone, Serialize)]
struct ComposeForm {
    #[serde(default)]
    headline: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    instruction: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    severity: String,
    #[serde(default)]
    certainty: String,
    #[serde(default)]
    status: String,
    /// Area codes, comma separated (one hidden field per checkbox is joined by the browser as repeats).
    #[serde(default)]
    areas: Vec<String>,
    /// Optional circle: "lat,lon radius_km".
    #[serde(default)]
    circle: String,
    /// Groups to limit the alert to (`needs-support`, `association:<id>`); none = everyone.
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    expires_hours: String,
}

async fn compose_page(
    k: &Kernel,
    v: &Viewer,
    form: &ComposeForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    use kernel::web::render::ser;
    let areas = kernel::store::areas::list(&k.db).await?;
    let associations: Vec<_> = kernel::store::orgs::list(&k.db)
        .await?
        .into_iter()
        .filter(|o| o.kind.as_str() == "association")
        .map(|o| kernel::web::minijinja::context! { value => format!("association:{}", o.id), name => o.name })
        .collect();
    let ctx = kernel::web::minijinja::context! {
        form => ser(form),
        associations,
        error => error,
        areas => ser(&areas),
        categories => cap::Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        urgencies => cap::Urgency::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        severities => cap::Severity::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        certainties => cap::Certainty::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
    };
    let mut res = kernel::web::page(v, "alerts/compose.html", "alerts-compose-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

async fn compose_form(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    v.require(crate::policy::Action::PublishAlerts, &crate::policy::Resource::Town)?;
    let form = ComposeForm {
        category: "Geo".into(),
        urgency: "Immediate".into(),
        severity: "Severe".into(),
        certainty: "Observed".into(),
        status: "Exercise".into(),
        expires_hours: "6".into(),
        ..Default::default()
    };
    compose_page(&k, &v, &form, None, StatusCode::OK).await
}

/// Build a CAP alert from the form. Errors name the field in the viewer's language.
fn build(k: &Kernel, f: &ComposeForm, lang: kernel::i18n::Lang) -> std::result::Result<cap::Alert, String> {
    use kernel::i18n::t;
    let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let headline = text(&f.headline).ok_or_else(|| t(lang, "alerts-headline-missing", &[]))?;
    let bad = |field: &str| t(lang, "alerts-field-invalid", &[("field", field.to_string())]);
    let category = cap::Category::from_cap(&f.category).ok_or_else(|| bad("category"))?;
    let urgency = cap::Urgency::from_cap(&f.urgency).ok_or_else(|| bad("urgency"))?;
    let severity = cap::Severity::from_cap(&f.severity).ok_or_else(|| bad("severity"))?;
    let certainty = cap::Certainty::from_cap(&f.certainty).ok_or_else(|| bad("certainty"))?;
    let status = match f.status.as_str() {
        "Actual" => cap::Status::Actual,
        "Exercise" => cap::Status::Exercise,
        "Test" => cap::Status::Test,
        _ => return Err(bad("status")),
    };
    let mut circles = Vec::new();
    if let Some(c) = text(&f.circle) {
        let parsed = c.split_once(' ').and_then(|(ll, r)| {
            let (lat, lon) = ll.split_once(',')?;
            Some(cap::Circle {
                lat: lat.trim().parse().ok()?,
                lon: lon.trim().parse().ok()?,
                radius_km: r.trim().parse().ok()?,
            })
        });
        circles.push(parsed.ok_or_else(|| t(lang, "alerts-circle-invalid", &[]))?);
    }
    let codes: Vec<String> = f
        .areas
        .iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    if codes.is_empty() && circles.is_empty() {
        return Err(t(lang, "alerts-target-missing", &[]));
    }
    let mut parameters = Vec::new();
    for g in f.groups.iter().filter(|g| !g.trim().is_empty()) {
        let group = crate::model::target::Group::parse(g)
            .ok_or_else(|| t(lang, "alerts-group-unknown", &[("group", g.clone())]))?;
        parameters.push(cap::ValuePair {
            value_name: crate::model::target::GROUP_PARAMETER.into(),
            value: group.as_string(),
        });
    }
    let hours: i64 = f
        .expires_hours
        .trim()
        .parse()
        .ok()
        .filter(|h| (1..=72).contains(h))
        .ok_or_else(|| bad("expires"))?;
    let now = k.now();
    let alert = cap::Alert {
        identifier: format!("machi-{}", k.new_id()),
        sender: web_sender(k),
        sent: cap::CapTime::from_unix_ms_jst(now),
        status,
        msg_type: cap::MsgType::Alert,
        source: None,
        scope: cap::Scope::Public,
        restriction: None,
        addresses: None,
        codes: vec![],
        note: None,
        references: vec![],
        incidents: None,
        infos: vec![cap::Info {
            language: "ja-JP".into(),
            categories: vec![category],
            event: text(&f.event).unwrap_or_else(|| headline.clone()),
            response_types: vec![],
            urgency,
            severity,
            certainty,
            audience: None,
            event_codes: vec![],
            effective: None,
            onset: None,
            expires: Some(cap::CapTime::from_unix_ms_jst(now + hours * 3_600_000)),
            sender_name: None,
            headline: Some(headline),
            description: text(&f.description),
            instruction: text(&f.instruction),
            web: None,
            contact: None,
            parameters,
            resources: vec![],
            areas: vec![cap::Area {
                area_desc: if codes.is_empty() {
                    "circle".into()
                } else {
                    codes.join(" ")
                },
                polygons: vec![],
                circles,
                geocodes: codes
                    .into_iter()
                    .map(|c| cap::ValuePair {
                        value_name: crate::model::target::AREA_GEOCODE.into(),
                        value: c,
                    })
                    .collect(),
                altitude: None,
                ceiling: None,
            }],
        }],
    };
    alert
        .validate()
        .map_err(|e| t(lang, "cap-invalid", &[("element", e.element), ("rule", e.rule)]))?;
    Ok(alert)
}

async fn compose(
    State(k): State<Kernel>,
    v: Viewer,
    axum::extract::RawForm(body): axum::extract::RawForm,
) -> Result<Response> {
    let person = v
        .require(crate::policy::Action::PublishAlerts, &crate::policy::Resource::Town)?
        .clone();
    // Parsed by hand: a form repeats `areas` once per ticked box, which serde_urlencoded won't collect.
    let mut f = ComposeForm::default();
    let (mut confirmed, mut edit) = (false, false);
    for (key, value) in form_pairs(&body) {
        match key.as_str() {
            "headline" => f.headline = value,
            "description" => f.description = value,
            "instruction" => f.instruction = value,
            "event" => f.event = value,
            "category" => f.category = value,
            "urgency" => f.urgency = value,
            "severity" => f.severity = value,
            "certainty" => f.certainty = value,
            "status" => f.status = value,
            "areas" => f.areas.push(value),
            "groups" => f.groups.push(value),
            "circle" => f.circle = value,
            "expires_hours" => f.expires_hours = value,
            "confirm" => confirmed = value == "yes",
            "edit" => edit = !value.is_empty(),
            _ => {}
        }
    }
    // Every area chosen must be one of the town's: a typo must not silently reach nobody.
    for code in f.areas.iter().filter(|a| !a.trim().is_empty()) {
        if kernel::store::areas::get(&k.db, code.trim()).await?.is_none() {
            let msg = kernel::i18n::t(v.lang, "area-unknown", &[("area", code.clone())]);
            return compose_page(&k, &v, &f, Some(msg), StatusCode::BAD_REQUEST).await;
        }
    }
    // 「戻って直す」 from the confirmation: the form again, as typed.
    if edit {
        return compose_page(&k, &v, &f, None, StatusCode::OK).await;
    }
    let mut alert = match build(&k, &f, v.lang) {
        Ok(a) => a,
        Err(msg) => return compose_page(&k, &v, &f, Some(msg), StatusCode::BAD_REQUEST).await,
    };
    let sender = super::staff::sender_name(&k, &v.actor).await?;
    for info in alert.infos.iter_mut() {
        info.sender_name = sender.clone();
    }
    // A real alert goes out only after the sender has seen whom it reaches; drills go at once.
    if alert.status == cap::Status::Actual && !confirmed {
        return confirm_page(&k, &v, &f, &alert).await;
    }
    let xml = cap::to_xml(&alert);
    let (stored, _) = match store::ingest(&k, &alert, &xml, Some(&person.id)).await {
        Ok(done) => done,
        // An association that no longer exists, say: show the form again with the reason.
        Err(Error::Invalid { key, args }) => {
            let msg = kernel::i18n::t(v.lang, &key, &args);
            return compose_page(&k, &v, &f, Some(msg), StatusCode::BAD_REQUEST).await;
        }
        Err(e) => return Err(e),
    };
    announce(&k, &stored, &alert).await?;
    kernel::store::audit::append(
        &k,
        kernel::model::audit::AuditRecord::new(Some(&person.id), "alerts.publish", format!("alert/{}", stored.id))
            .reason(&format!("{} {}", stored.status, stored.msg_type)),
    )
    .await?;
    Ok(Redirect::to(&format!("/alerts/{}/report", stored.id)).into_response())
}

/// The confirmation before a real alert goes out: what it says, in words, and how many people and
/// households it reaches. Nothing is stored until 「発信する」 is pressed.
async fn confirm_page(k: &Kernel, v: &Viewer, f: &ComposeForm, alert: &cap::Alert) -> Result<Response> {
    use kernel::web::render::ser;
    let (people, households) = match store::reach(k, alert).await {
        Ok(n) => n,
        Err(Error::Invalid { key, args }) => {
            let msg = kernel::i18n::t(v.lang, &key, &args);
            return compose_page(k, v, f, Some(msg), StatusCode::BAD_REQUEST).await;
        }
        Err(e) => return Err(e),
    };
    let areas = kernel::store::areas::list(&k.db).await?;
    let area_names: Vec<String> = f
        .areas
        .iter()
        .filter_map(|c| areas.iter().find(|a| a.code == c.trim()).map(|a| a.name.clone()))
        .collect();
    let orgs = kernel::store::orgs::list(&k.db).await?;
    let group_names: Vec<String> = f
        .groups
        .iter()
        .map(|g| match g.strip_prefix("association:") {
            Some(id) => orgs
                .iter()
                .find(|o| o.id == id)
                .map(|o| o.name.clone())
                .unwrap_or_else(|| g.clone()),
            None => kernel::i18n::t(v.lang, "alerts-group-needs-support", &[]),
        })
        .collect();
    let ctx = kernel::web::minijinja::context! {
        form => ser(f), people => people, households => households,
        area_names => area_names, group_names => group_names,
        sender => super::screens::sender_of(alert),
        sent_ms => k.now(),
    };
    kernel::web::page(v, "alerts/confirm.html", "alerts-confirm-title", ctx)
}

/// `application/x-www-form-urlencoded` pairs, percent- and plus-decoded.
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect()
}

// ---- the drill report ----

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

pub(crate) async fn report_for(k: &Kernel, actor: &kernel::model::policy::Actor, id: &str) -> Result<Report> {
    use crate::policy as alerts;
    use kernel::model::policy::{Action, Resource, may};
    let alert = store::require(&k.db, id).await?;
    let areas = store::report_areas(&k.db, id).await?;
    let staff = may(actor, alerts::Action::PublishAlerts, &alerts::Resource::Town);
    let mut mine = Vec::new();
    for (area_id, _, _, _) in &areas {
        let path = kernel::store::areas::path(&k.db, Some(area_id)).await?;
        if may(actor, Action::ListPeople, &Resource::Area { area_path: path }) {
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
    let mut silent = Vec::new();
    for (area_id, _, name, _) in visible.iter().filter(|(a, ..)| mine.contains(a)) {
        for (household, address) in store::silent_households(&k.db, id, area_id).await? {
            silent.push(serde_json::json!({ "area": name, "household": household, "address": address }));
        }
        kernel::store::audit::append(
            k,
            kernel::model::audit::AuditRecord::new(
                actor.person_id.as_deref(),
                "alerts.silent_households",
                format!("alert/{id}"),
            )
            .reason(&format!("area {name}")),
        )
        .await?;
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

async fn report(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    use kernel::i18n::t;
    use kernel::web::render::ser;
    v.require_login()?;
    let r = report_for(&k, &v.actor, &id).await?;
    let chart = crate::model::report::curve_svg(
        &r.acks,
        r.targeted,
        &t(v.lang, "alerts-curve-title", &[]),
        &t(
            v.lang,
            "alerts-curve-desc",
            &[
                ("acked", r.acknowledged.to_string()),
                ("targeted", r.targeted.to_string()),
            ],
        ),
        &t(v.lang, "alerts-minutes", &[]),
        &t(v.lang, "alerts-people", &[]),
    );
    let parsed = cap::parse(&store::cap_xml(&k.db, &id).await?).ok();
    let state = super::staff::state_of(&k, &r.alert).await?;
    let ctx = kernel::web::minijinja::context! {
        sender => parsed.as_ref().map(super::screens::sender_of).unwrap_or_else(|| r.alert.sender.clone()),
        instruction => parsed.as_ref().and_then(|a| crate::model::alert::main_info(a)).and_then(|i| i.instruction.clone()),
        state => state.key(), in_force => state == super::staff::AlertState::InForce,
        alert => ser(&r.alert), rows => ser(&r.areas), area_channels => ser(&r.area_channels),
        channels => ser(&r.channels), targeted => r.targeted, acknowledged => r.acknowledged,
        median => r.median_seconds, groups => ser(&r.groups),
        chart => kernel::web::minijinja::Value::from_safe_string(chart), silent => ser(&r.silent),
        show_silent => r.officer, staff => r.staff, unreachable => ser(&r.unreachable), deliveries => ser(&r.deliveries), failures => ser(&r.failures),
    };
    kernel::web::page(&v, "alerts/report.html", "alerts-report-title", ctx)
}

/// Delivery progress for the dashboard, pushed once a second while it changes (SSE). Stops by
/// itself after an hour; the page reconnects if it is still open.
async fn progress(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    v.require(crate::policy::Action::PublishAlerts, &crate::policy::Resource::Town)?;
    store::require(&k.db, &id).await?;
    let source = format!("alert:{id}");
    let ticks = stream::unfold((k, source, String::new(), 0u32), |(k, source, last, n)| async move {
        if n > 3600 {
            return None;
        }
        let snapshot = async {
            let counts = kernel::store::outbox::counts(&k.db, &source).await?;
            let acks = store::acks(&k.db, source.trim_start_matches("alert:"), 0).await?.len();
            Ok::<_, Error>(serde_json::json!({
                "deliveries": counts.iter().map(|(c, s, n)| serde_json::json!({"channel": c, "state": s, "n": n})).collect::<Vec<_>>(),
                "acknowledged": acks,
                "unreachable": k.health.down(),
            }))
        }
        .await;
        let data = snapshot.ok()?.to_string();
        if data != last {
            let ev = SseEvent::default().event("progress").data(data.clone());
            return Some((Ok(ev), (k, source, data, n + 1)));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((Ok(SseEvent::default().comment("")), (k, source, last, n + 1)))
    });
    Ok(Sse::new(ticks).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}

/// The CAP sender of alerts composed on the web: `alerts@` the public host.
pub(crate) fn web_sender(k: &Kernel) -> String {
    let host = k
        .config
        .public_url
        .as_deref()
        .and_then(|u| u.split("://").nth(1))
        .and_then(|h| h.split('/').next())
        .unwrap_or("machi.localhost");
    format!("alerts@{host}")
}
