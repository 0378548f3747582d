//! Live alerts for screens: a Server-Sent Events stream per viewer (their area, or `?area=`),
//! with catch-up on reconnect (`Last-Event-ID`), and the 「確認しました」 acknowledgement.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use futures_util::stream::{self, Stream, StreamExt};
use kernel::web::Viewer;
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};

use crate::model::cap;
use crate::service::publish::for_viewer;
use crate::service::{acknowledge, in_force, publish, report};

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
    if q.area.is_none() {
        v.require_login()?;
    }
    let w = in_force::watching(&k, v.person.as_ref(), q.area.as_deref()).await?;
    // Subscribe before reading the catch-up, so nothing published in between is lost.
    let rx = k.hub.subscribe();
    let last_seen = headers.get("last-event-id").and_then(|v| v.to_str().ok());
    let catch_up = in_force::catch_up(&k, &w, last_seen).await?;
    // The stream keeps these for as long as the screen stays connected, and a town has thousands of screens:
    // exact-size slices, the areas sorted (and without repeats) for binary search.
    let mut watch = w.areas;
    watch.sort_unstable();
    watch.dedup();
    let watch = watch.into_boxed_slice();
    let mine = w.groups.map(Vec::into_boxed_slice);
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
    let channel = match f.channel.as_deref() {
        Some("web") => "web",
        _ => "terminal",
    };
    acknowledge::acknowledge(&k, &person.id, &id, channel).await?;
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
    let channel = match f.channel.as_deref() {
        Some("web") => "web",
        _ => "terminal",
    };
    acknowledge::seen(&k, &person, &id, channel).await?;
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
        sender: publish::web_sender(k),
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
    v.require(crate::policy::Action::PublishAlerts, &crate::policy::Resource::Town)?;
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
    let alert = match build(&k, &f, v.lang) {
        Ok(a) => a,
        Err(msg) => return compose_page(&k, &v, &f, Some(msg), StatusCode::BAD_REQUEST).await,
    };
    // A real alert goes out only after the sender has seen whom it reaches; drills go at once.
    if alert.status == cap::Status::Actual && !confirmed {
        let alert = publish::signed(&k, &v.actor, alert).await?;
        return confirm_page(&k, &v, &f, &alert).await;
    }
    let stored = match publish::publish_composed(&k, &v.actor, alert).await {
        Ok(stored) => stored,
        // An association that no longer exists, say: show the form again with the reason.
        Err(Error::Invalid { key, args }) => {
            let msg = kernel::i18n::t(v.lang, &key, &args);
            return compose_page(&k, &v, &f, Some(msg), StatusCode::BAD_REQUEST).await;
        }
        Err(e) => return Err(e),
    };
    Ok(Redirect::to(&format!("/alerts/{}/report", stored.id)).into_response())
}

/// The confirmation before a real alert goes out: what it says, in words, and how many people and
/// households it reaches. Nothing is stored until 「発信する」 is pressed.
async fn confirm_page(k: &Kernel, v: &Viewer, f: &ComposeForm, alert: &cap::Alert) -> Result<Response> {
    use kernel::web::render::ser;
    let (people, households) = match publish::reach(k, alert).await {
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
        sender => in_force::sender_of(alert),
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

async fn report(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    use kernel::i18n::t;
    use kernel::web::render::ser;
    v.require_login()?;
    let (r, parsed, state) = report::report_page_for(&k, &v.actor, &id).await?;
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
    let ctx = kernel::web::minijinja::context! {
        sender => parsed.as_ref().map(in_force::sender_of).unwrap_or_else(|| r.alert.sender.clone()),
        instruction => parsed.as_ref().and_then(|a| crate::model::alert::main_info(a)).and_then(|i| i.instruction.clone()),
        state => state.key(), in_force => state == report::AlertState::InForce,
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
    report::progress_for(&k, &v.actor, &id).await?;
    let ticks = stream::unfold((k, id, String::new(), 0u32), |(k, source, last, n)| async move {
        if n > 3600 {
            return None;
        }
        let data = report::progress(&k, &source).await.ok()?.to_string();
        if data != last {
            let ev = SseEvent::default().event("progress").data(data.clone());
            return Some((Ok(ev), (k, source, data, n + 1)));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((Ok(SseEvent::default().comment("")), (k, source, last, n + 1)))
    });
    Ok(Sse::new(ticks).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}
