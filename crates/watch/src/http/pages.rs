//! The watch pages: my circles (and the welfare desk's), starting a circle and consenting to
//! one, the circle page (status and sparkline, open calls with 「今から訪問します」, members and
//! the ladder, rules, devices, listening schedules, the allow-list and held messages), sending a
//! message to someone's terminal, and what the terminal shows (`/watch/mine`, 「元気です」).

use crate::policy::{Action, Resource};
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::i18n::t;
use kernel::web::Viewer;
use kernel::web::minijinja::context;
use kernel::web::render::ser;
use kernel::{Error, Kernel, Result};
use serde::Deserialize;

use crate::model::rule::RuleInput;
use crate::service;
use crate::service::circles::{CircleInput, DeviceInput, MemberInput, SettingsInput};
use crate::service::contacts::{DecisionInput, MessageInput};
use crate::service::escalations::OutcomeInput;
use crate::service::listening::{LogInput, ScheduleInput, TrainingInput};

pub fn router() -> Router<Kernel> {
    Router::new()
        .route("/watch", get(index).post(create))
        .route("/watch/mine", get(mine))
        .route("/watch/checkin", post(checkin))
        .route("/watch/answer", post(answer))
        .route("/watch/used", post(used))
        .route("/watch/static/watch.js", get(script))
        .route("/watch/trainings", post(training))
        .route("/watch/messages/new", get(message_form).post(send_message))
        .route("/watch/messages/{id}/decision", post(decide))
        .route("/watch/escalations/{id}/acknowledge", post(acknowledge))
        .route("/watch/escalations/{id}/outcome", post(outcome))
        .route("/watch/schedules/{id}/log", post(log))
        .route("/watch/{id}", get(circle_page))
        .route("/watch/{id}/consent", post(consent))
        .route("/watch/{id}/members", post(add_member))
        .route("/watch/{id}/rules", post(add_rule))
        .route("/watch/{id}/rules/{rule}/remove", post(remove_rule))
        .route("/watch/{id}/devices", post(add_device))
        .route("/watch/{id}/settings", post(settings))
        .route("/watch/{id}/schedules", post(add_schedule))
        .route("/watch/{id}/contacts", post(add_contact))
        .route("/watch/{id}/contacts/{person}/remove", post(remove_contact))
}

pub const TEMPLATES: &[(&str, &str)] = &[
    ("watch/index.html", include_str!("../../templates/index.html")),
    ("watch/circle.html", include_str!("../../templates/circle.html")),
    ("watch/message.html", include_str!("../../templates/message.html")),
    ("watch/terminal.html", include_str!("../../templates/terminal.html")),
];

const SCRIPT: &str = include_str!("../../assets/watch.js");

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// After a form on the circle page: back to it, or the page again with the reason.
async fn back(k: &Kernel, v: &Viewer, circle_id: &str, r: Result<()>, notice: &str) -> Result<Response> {
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/watch/{circle_id}?done={notice}")).into_response()),
        Err(e) => match v.refusal_text(&e) {
            Some(msg) => {
                let mut res = render_circle(k, v, circle_id, Some(msg), None).await?;
                *res.status_mut() = e.status();
                Ok(res)
            }
            None => Err(e),
        },
    }
}

#[derive(Deserialize, Default)]
struct Done {
    done: Option<String>,
}

fn done_text(v: &Viewer, done: Option<&str>) -> Option<String> {
    let key = match done? {
        "consent" => "watch-done-consent",
        "member" => "watch-done-member",
        "rule" => "watch-done-rule",
        "settings" => "watch-done-settings",
        "schedule" => "watch-done-schedule",
        "contacts" => "watch-done-contacts",
        "visiting" => "watch-done-visiting",
        "outcome" => "watch-done-outcome",
        "log" => "watch-done-log",
        "message" => "watch-done-message",
        "training" => "watch-done-training",
        "checkin" => "watch-done-checkin",
        "declined" => "watch-done-declined",
        _ => return None,
    };
    Some(t(v.lang, key, &[]))
}

// ---- my circles ----

async fn index(State(k): State<Kernel>, v: Viewer, Query(q): Query<Done>) -> Result<Response> {
    render_index(&k, &v, None, done_text(&v, q.done.as_deref()), StatusCode::OK).await
}

async fn render_index(
    k: &Kernel,
    v: &Viewer,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    v.require_login()?;
    let circles = service::circles::circles_for(k, &v.actor).await?;
    let desk = crate::policy::is_desk(&v.actor);
    let open: Vec<_> = service::escalations::open_for_desk(k, &v.actor)
        .await?
        .into_iter()
        .map(|(e, name)| context! { e => ser(&e), name })
        .collect();
    let notices = service::notices::mine(k, &v.actor, 20).await?;
    let ctx = context! {
        circles => ser(&circles),
        desk,
        open,
        notices => ser(&notices),
        may_train => v.may(Action::RecordTraining, &Resource::Town),
        broker => service::signals::broker_state(k),
        error,
        notice,
    };
    let mut res = kernel::web::page(v, "watch/index.html", "watch-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize, Default)]
struct CreateForm {
    #[serde(default)]
    whom: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    role: String,
}

async fn create(State(k): State<Kernel>, v: Viewer, Form(f): Form<CreateForm>) -> Result<Response> {
    let me = v.require_login()?.clone();
    let input = if f.whom == "self" {
        CircleInput {
            person_id: Some(me.id.clone()),
            ..Default::default()
        }
    } else {
        CircleInput {
            name: Some(f.name),
            birth_date: Some(f.birth_date),
            role: Some(f.role),
            ..Default::default()
        }
    };
    match service::circles::create_for(&k, &v.actor, &input).await {
        Ok(c) => Ok(Redirect::to(&format!("/watch/{}", c.id)).into_response()),
        Err(e) => match v.refusal_text(&e) {
            Some(msg) => render_index(&k, &v, Some(msg), None, e.status()).await,
            None => Err(e),
        },
    }
}

#[derive(Deserialize, Default)]
struct TrainingForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    organisation: String,
    #[serde(default)]
    taken_on: String,
    #[serde(default)]
    expires_on: String,
}

async fn training(State(k): State<Kernel>, v: Viewer, Form(f): Form<TrainingForm>) -> Result<Response> {
    v.require_login()?;
    let r = async {
        if !v.may(Action::RecordTraining, &Resource::Town) {
            return Err(Error::Forbidden);
        }
        let person = service::circles::person_by(&k, None, Some(&f.name), Some(&f.birth_date)).await?;
        service::listening::training_for(
            &k,
            &v.actor,
            &TrainingInput {
                person_id: person,
                organisation: f.organisation,
                taken_on: f.taken_on,
                expires_on: f.expires_on,
            },
        )
        .await
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to("/watch?done=training").into_response()),
        Err(e) => match v.refusal_text(&e) {
            Some(msg) => render_index(&k, &v, Some(msg), None, e.status()).await,
            None => Err(e),
        },
    }
}

// ---- the circle page ----

async fn circle_page(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response> {
    v.require_login()?;
    render_circle(&k, &v, &id, None, done_text(&v, q.done.as_deref())).await
}

async fn render_circle(
    k: &Kernel,
    v: &Viewer,
    id: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Result<Response> {
    v.require_login()?;
    let a = service::access::access(k, &v.actor, id).await?;
    let view = service::circles::view_for(k, &v.actor, &a).await?;
    let now = k.now();
    // The timeline: 48 hours of signals, hour by hour.
    let detail = service::circles::page_detail_for(k, &a, &view, now - 48 * 3_600_000).await?;
    let times: Vec<i64> = detail.signals.iter().map(|s| s.at).collect();
    let buckets = crate::model::sparkline::buckets(&times, now, 48);
    let hours_with = buckets.iter().filter(|c| **c > 0).count();
    let tick = |ms: i64| {
        if crate::model::sparkline::is_midnight(ms) {
            kernel::web::render::human_date(v.lang, ms)
        } else {
            let hour = (crate::model::local_minute(ms) / 60).to_string();
            t(v.lang, "watch-hour", &[("hour", hour)])
        }
    };
    let sparkline = crate::model::sparkline::svg(
        &buckets,
        now,
        &crate::model::sparkline::Words {
            title: &t(v.lang, "watch-timeline", &[]),
            desc: &t(
                v.lang,
                "watch-sparkline-label",
                &[
                    ("hours", hours_with.to_string()),
                    ("silent", (48 - hours_with).to_string()),
                    ("signals", times.len().to_string()),
                ],
            ),
            tick: &tick,
        },
    );
    let mut escalations = Vec::new();
    for e in &view.escalations {
        let calls: Vec<_> = detail
            .calls
            .get(&e.id)
            .into_iter()
            .flatten()
            .map(|(step, name, at)| context! { step, name, at })
            .collect();
        let by = match &e.acknowledged_by {
            Some(p) => Some(crate::service::notices::person_name(k, p).await?),
            None => None,
        };
        escalations.push(context! { e => ser(e), calls, by });
    }
    let rules: Vec<_> = view
        .rules
        .iter()
        .map(|r| {
            let mut args = crate::model::rule::describe(&r.rule());
            for (k, val) in args.iter_mut() {
                match *k {
                    "source" => *val = t(v.lang, &format!("watch-source-{val}"), &[]),
                    "period" | "limit" => *val = duration(v, val.parse().unwrap_or(0)),
                    _ => {}
                }
            }
            if !args.iter().any(|(k, _)| *k == "window") {
                args.push(("window", t(v.lang, "watch-all-day", &[])));
            }
            context! { id => r.id.clone(), text => t(v.lang, &format!("watch-rule-{}", r.kind), &args) }
        })
        .collect();
    let missed: Vec<_> = service::listening::missed_listening(k, &a.circle.id)
        .await?
        .into_iter()
        .map(|(s, at)| context! { name => s.volunteer_name, kind => s.kind, at })
        .collect();
    // What is due for each schedule this week, to log.
    let mut schedules = Vec::new();
    for s in &view.schedules {
        // Only occurrences since the schedule began can be logged.
        let last = crate::model::schedule::occurrences(
            s.weekday as u32,
            s.minute as u32,
            s.created_at.max(now - 7 * crate::model::DAY_MS),
            now + 1,
        );
        let logged = detail.logged.get(&s.id).cloned().unwrap_or_default();
        schedules.push(context! {
            s => ser(s),
            time => crate::model::hhmm(s.minute as u32),
            last => last.last().copied(),
            last_logged => last.last().is_some_and(|at| logged.contains(at)),
            mine => v.person_id() == Some(s.volunteer_id.as_str()),
        });
    }
    let is_person = a.is_person(&v.actor);
    // Devices as people name them: the kind and its number among that kind (電球 1), the last
    // signal in words.
    let mut seen: Vec<&str> = Vec::new();
    let devices: Vec<_> = view
        .devices
        .iter()
        .map(|d| {
            seen.push(d.kind.as_str());
            let n = seen.iter().filter(|k| **k == d.kind).count();
            context! {
                name => t(v.lang, "watch-device-name", &[("kind", t(v.lang, &format!("watch-source-{}", d.kind), &[])), ("n", n.to_string())]),
                id => d.id.clone(),
                last_at => d.last_at,
                last_value => d.last_value.as_deref().map(|x| value_words(v, x)),
                on_since => d.on_since,
            }
        })
        .collect();
    let recent: Vec<_> = detail
        .signals
        .iter()
        .take(10)
        .map(|s| context! { at => s.at, source => s.source.clone(), value => value_words(v, &s.value) })
        .collect();
    let ctx = context! {
        c => ser(&view),
        devices,
        sparkline,
        recent,
        escalations,
        rules,
        schedules,
        missed,
        is_person,
        may_manage => a.may(&v.actor, Action::ManageCircle),
        may_consent => view.circle.consent_id.is_none() && a.may(&v.actor, Action::ConsentCircle),
        may_name_guardian => a.may(&v.actor, Action::NameGuardian),
        may_ack => a.may(&v.actor, Action::AcknowledgeWatch),
        may_contacts => a.may(&v.actor, Action::ApproveContacts),
        paused => view.circle.paused_until.is_some_and(|p| p > now),
        quiet => view.circle.quiet_start.zip(view.circle.quiet_end).map(|(s, e)| format!("{}-{}", crate::model::hhmm(s as u32), crate::model::hhmm(e as u32))),
        roles => crate::model::CircleRole::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        kinds => crate::model::signal::DEVICE_KINDS.to_vec(),
        sources => crate::model::rule::SOURCES.to_vec(),
        family => view.members.iter().filter(|m| m.role == "family").map(|m| context! { id => m.person_id.clone(), name => m.display_name.clone() }).collect::<Vec<_>>(),
        candidates => view.members.iter().map(|m| context! { id => m.person_id.clone(), name => m.display_name.clone() }).collect::<Vec<_>>(),
        token => Option::<String>::None,
        error,
        notice,
    };
    kernel::web::page(v, "watch/circle.html", "watch-circle-title", ctx)
}

/// 「24時間」 or 「90分」 for a number of minutes.
fn duration(v: &Viewer, minutes: u32) -> String {
    if minutes >= 60 && minutes.is_multiple_of(60) {
        t(v.lang, "watch-hours", &[("n", (minutes / 60).to_string())])
    } else {
        t(v.lang, "watch-minutes", &[("n", minutes.to_string())])
    }
}

/// A signal's value in words (「点灯」 for `on`); a value the catalog does not know is not shown.
fn value_words(v: &Viewer, value: &str) -> String {
    match value {
        "on" | "off" | "open" | "close" | "closed" | "genki" | "use" | "motion" => {
            t(v.lang, &format!("watch-value-{value}"), &[])
        }
        _ => String::new(),
    }
}

async fn consent(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    let r = service::circles::consent_for(&k, &v.actor, &id).await.map(|_| ());
    back(&k, &v, &id, r, "consent").await
}

#[derive(Deserialize, Default)]
struct MemberForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    ladder: String,
}

async fn add_member(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<MemberForm>,
) -> Result<Response> {
    v.require_login()?;
    let r = async {
        let a = service::access::access(&k, &v.actor, &id).await?;
        a.require(&v.actor, Action::ManageCircle)?;
        let person = service::circles::person_by(&k, None, Some(&f.name), Some(&f.birth_date)).await?;
        let ladder = match f.ladder.trim() {
            "" => None,
            l => Some(
                l.parse()
                    .map_err(|_| Error::invalid_with("watch-ladder-invalid", vec![("field", "ladder".into())]))?,
            ),
        };
        service::circles::put_member_for(&k, &v.actor, &a, &person, &MemberInput { role: f.role, ladder }).await
    }
    .await;
    back(&k, &v, &id, r, "member").await
}

#[derive(Deserialize, Default)]
struct RuleForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    period_hours: String,
    #[serde(default)]
    grace_minutes: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    limit_hours: String,
    #[serde(default)]
    window: String,
}

fn number(s: &str, field: &'static str) -> Result<Option<f64>> {
    match s.trim() {
        "" => Ok(None),
        n => n
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .map(Some)
            .ok_or_else(|| Error::invalid_with("watch-number-invalid", vec![("field", field.into())])),
    }
}

async fn add_rule(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<RuleForm>,
) -> Result<Response> {
    v.require_login()?;
    let r = async {
        let a = service::access::access(&k, &v.actor, &id).await?;
        let minutes = |h: Option<f64>| h.map(|h| (h * 60.0).round().min(u32::MAX as f64) as u32);
        let input = RuleInput {
            kind: f.kind.clone(),
            source: Some(f.source.clone()),
            period_minutes: minutes(number(&f.period_hours, "period_hours")?),
            grace_minutes: number(&f.grace_minutes, "grace_minutes")?.map(|m| m.round().min(u32::MAX as f64) as u32),
            due: Some(f.due.clone()),
            limit_minutes: minutes(number(&f.limit_hours, "limit_hours")?),
            window: Some(f.window.clone()),
        };
        service::circles::add_rule_for(&k, &v.actor, &a, &input)
            .await
            .map(|_| ())
    }
    .await;
    back(&k, &v, &id, r, "rule").await
}

async fn remove_rule(State(k): State<Kernel>, v: Viewer, Path((id, rule)): Path<(String, String)>) -> Result<Response> {
    v.require_login()?;
    let a = service::access::access(&k, &v.actor, &id).await?;
    service::circles::remove_rule_for(&k, &v.actor, &a, &rule).await?;
    Ok(Redirect::to(&format!("/watch/{id}?done=rule")).into_response())
}

#[derive(Deserialize, Default)]
struct DeviceForm {
    #[serde(default)]
    device_id: String,
    #[serde(default)]
    kind: String,
}

async fn add_device(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<DeviceForm>,
) -> Result<Response> {
    v.require_login()?;
    let a = service::access::access(&k, &v.actor, &id).await?;
    match service::circles::add_device_for(
        &k,
        &v.actor,
        &a,
        &DeviceInput {
            id: f.device_id,
            kind: f.kind,
        },
    )
    .await
    {
        // The token is shown once, on this page, never stored in the clear.
        Ok(t) => {
            let mut res = render_circle(&k, &v, &id, None, Some(t_token(&v, &t.id, &t.token, &t.mqtt_topic))).await?;
            res.headers_mut()
                .insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Err(e) => back(&k, &v, &id, Err(e), "").await,
    }
}

fn t_token(v: &Viewer, id: &str, token: &str, topic: &str) -> String {
    t(
        v.lang,
        "watch-device-token",
        &[("device", id.into()), ("token", token.into()), ("topic", topic.into())],
    )
}

#[derive(Deserialize, Default)]
struct SettingsForm {
    #[serde(default)]
    guardian_id: Option<String>,
    #[serde(default)]
    pause_until: Option<String>,
    #[serde(default)]
    pause_reason: Option<String>,
    #[serde(default)]
    quiet: Option<String>,
    #[serde(default)]
    ladder_minutes: Option<String>,
}

async fn settings(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<SettingsForm>,
) -> Result<Response> {
    v.require_login()?;
    let r = async {
        let a = service::access::access(&k, &v.actor, &id).await?;
        let ladder_minutes = match f.ladder_minutes.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m) => Some(m.parse().map_err(|_| {
                Error::invalid_with("watch-ladder-minutes-invalid", vec![("field", "ladder_minutes".into())])
            })?),
        };
        let input = SettingsInput {
            guardian_id: f.guardian_id,
            pause_until: f.pause_until,
            pause_reason: f.pause_reason,
            quiet: f.quiet,
            ladder_minutes,
        };
        service::circles::settings_for(&k, &v.actor, &a, &input)
            .await
            .map(|_| ())
    }
    .await;
    back(&k, &v, &id, r, "settings").await
}

#[derive(Deserialize, Default)]
struct ScheduleForm {
    #[serde(default)]
    volunteer_id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    weekday: String,
    #[serde(default)]
    time: String,
}

async fn add_schedule(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ScheduleForm>,
) -> Result<Response> {
    v.require_login()?;
    let r = async {
        let a = service::access::access(&k, &v.actor, &id).await?;
        let weekday = f
            .weekday
            .trim()
            .parse()
            .map_err(|_| Error::invalid_with("watch-weekday-invalid", vec![("field", "weekday".into())]))?;
        let input = ScheduleInput {
            volunteer_id: f.volunteer_id,
            kind: f.kind,
            weekday,
            time: f.time,
        };
        service::listening::schedule_for(&k, &v.actor, &a, &input)
            .await
            .map(|_| ())
    }
    .await;
    back(&k, &v, &id, r, "schedule").await
}

#[derive(Deserialize, Default)]
struct LogForm {
    #[serde(default)]
    due_at: i64,
    #[serde(default)]
    note: Option<String>,
}

async fn log(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>, Form(f): Form<LogForm>) -> Result<Response> {
    v.require_login()?;
    let circle = service::listening::circle_of_schedule(&k, &v.actor, &id).await?;
    let r = service::listening::log_for(
        &k,
        &v.actor,
        &id,
        &LogInput {
            due_at: f.due_at,
            note: f.note,
        },
    )
    .await;
    back(&k, &v, &circle, r, "log").await
}

#[derive(Deserialize, Default)]
struct ContactForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
}

async fn add_contact(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<ContactForm>,
) -> Result<Response> {
    v.require_login()?;
    let r = async {
        let a = service::access::access(&k, &v.actor, &id).await?;
        a.require(&v.actor, Action::ApproveContacts)?;
        let person = service::circles::person_by(&k, None, Some(&f.name), Some(&f.birth_date)).await?;
        service::contacts::contact_for(&k, &v.actor, &a, &person, true).await
    }
    .await;
    back(&k, &v, &id, r, "contacts").await
}

async fn remove_contact(
    State(k): State<Kernel>,
    v: Viewer,
    Path((id, person)): Path<(String, String)>,
) -> Result<Response> {
    v.require_login()?;
    let a = service::access::access(&k, &v.actor, &id).await?;
    let r = service::contacts::contact_for(&k, &v.actor, &a, &person, false).await;
    back(&k, &v, &id, r, "contacts").await
}

async fn acknowledge(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    let (e, _) = service::escalations::escalation_access(&k, &v.actor, &id).await?;
    let r = service::escalations::acknowledge_for(&k, &v.actor, &id)
        .await
        .map(|_| ());
    back(&k, &v, &e.circle_id, r, "visiting").await
}

#[derive(Deserialize, Default)]
struct OutcomeForm {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    note: Option<String>,
}

async fn outcome(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<OutcomeForm>,
) -> Result<Response> {
    v.require_login()?;
    let (e, _) = service::escalations::escalation_access(&k, &v.actor, &id).await?;
    let r = service::escalations::outcome_for(
        &k,
        &v.actor,
        &id,
        &OutcomeInput {
            outcome: f.outcome,
            note: f.note,
        },
    )
    .await;
    back(&k, &v, &e.circle_id, r, "outcome").await
}

#[derive(Deserialize, Default)]
struct DecideForm {
    #[serde(default)]
    decision: String,
}

async fn decide(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<DecideForm>,
) -> Result<Response> {
    v.require_login()?;
    let circle = service::contacts::circle_of_message(&k, &v.actor, &id).await?;
    let input = DecisionInput {
        approve: f.decision.starts_with("approve"),
        allow_sender: f.decision == "approve_allow",
    };
    let r = service::contacts::decide_for(&k, &v.actor, &id, &input).await;
    back(&k, &v, &circle, r, "message").await
}

// ---- messages to a terminal ----

#[derive(Deserialize, Default)]
struct MessageForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    body: String,
}

async fn message_form(v: Viewer) -> Result<Response> {
    v.require_login()?;
    kernel::web::page(
        &v,
        "watch/message.html",
        "watch-message-title",
        context! { f => ser(&serde_json::json!({})), error => Option::<String>::None, sent => Option::<String>::None },
    )
}

async fn send_message(State(k): State<Kernel>, v: Viewer, Form(f): Form<MessageForm>) -> Result<Response> {
    v.require_login()?;
    let r = async {
        let to = service::circles::person_by(&k, None, Some(&f.name), Some(&f.birth_date)).await?;
        service::contacts::send_for(
            &k,
            &v.actor,
            &MessageInput {
                to,
                body: f.body.clone(),
            },
        )
        .await
    }
    .await;
    let form = serde_json::json!({ "name": f.name, "birth_date": f.birth_date, "body": f.body });
    match r {
        Ok(sent) => {
            let key = if sent.state == "held" {
                "watch-message-waiting"
            } else {
                "watch-message-sent"
            };
            kernel::web::page(
                &v,
                "watch/message.html",
                "watch-message-title",
                context! { f => ser(&serde_json::json!({})), error => Option::<String>::None, sent => Some(t(v.lang, key, &[]))},
            )
        }
        Err(e) => match v.refusal_text(&e) {
            Some(msg) => {
                let mut res = kernel::web::page(
                    &v,
                    "watch/message.html",
                    "watch-message-title",
                    context! { f => ser(&form), error => Some(msg), sent => Option::<String>::None },
                )?;
                *res.status_mut() = e.status();
                Ok(res)
            }
            None => Err(e),
        },
    }
}

// ---- the terminal ----

/// What the terminal shows of watch-over: whether the 「元気です」 button applies, and the
/// messages delivered to the person.
async fn mine(State(k): State<Kernel>, v: Viewer) -> Result<Json<serde_json::Value>> {
    v.require_login()?;
    let service::contacts::Terminal {
        circle,
        last_checkin,
        delivered,
        held,
    } = service::contacts::terminal_for(&k, &v.actor).await?;
    let watched = circle.as_ref().is_some_and(|c| c.consent_id.is_some());
    let pending_consent = circle.as_ref().filter(|c| c.consent_id.is_none()).map(|c| c.id.clone());
    let when = |ms| kernel::web::render::human_time(v.lang, ms);
    let messages: Vec<_> = delivered
        .into_iter()
        .map(|m| serde_json::json!({ "id": m.id, "from": m.from_name, "body": m.body, "sent_at": when(m.sent_at) }))
        .collect();
    // Held messages: only who wrote and that the family is checking — never the text.
    let waiting: Vec<_> = held
        .into_iter()
        .map(|m| {
            t(
                v.lang,
                "watch-terminal-waiting",
                &[("name", m.from_name), ("time", when(m.sent_at))],
            )
        })
        .collect();
    // Who asked to watch over the person, for the consent question.
    let asked_by = match &circle {
        Some(c) if c.consent_id.is_none() => Some(crate::service::notices::person_name(&k, &c.created_by).await?),
        _ => None,
    };
    let today = last_checkin.is_some_and(|t| t >= crate::model::local_midnight(k.now()));
    Ok(Json(serde_json::json!({
        "watched": watched,
        "pending_consent": pending_consent,
        "consent_question": asked_by.map(|name| t(v.lang, "watch-terminal-consent-question", &[("name", name)])),
        "checked_in_today": today,
        "messages": messages,
        "waiting": waiting,
    })))
}

#[derive(Deserialize, Default)]
struct BackForm {
    #[serde(default)]
    back: Option<String>,
}

/// 「元気です」 from the terminal (or any page).
async fn checkin(State(k): State<Kernel>, v: Viewer, Form(f): Form<BackForm>) -> Result<Response> {
    let me = v.require_login()?.clone();
    if !service::signals::own_signal(&k, &me.id, "checkin").await? {
        return Err(Error::conflict("watch-not-watched", vec![]));
    }
    let to = kernel::web::render::safe_next(f.back.as_deref().or(Some("/terminal")));
    let sep = if to.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{to}{sep}done=checkin")).into_response())
}

#[derive(Deserialize, Default)]
struct AnswerForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    back: Option<String>,
}

/// The person's own answer to 「見守ってもらいますか」 (from the terminal's two big buttons, or any
/// page): yes records the consent and watching begins; no closes the proposed circle, and those
/// who proposed it are told.
async fn answer(State(k): State<Kernel>, v: Viewer, Form(f): Form<AnswerForm>) -> Result<Response> {
    v.require_login()?;
    let circle = service::circles::own_pending(&k, &v.actor).await?;
    let done = match f.answer.as_str() {
        "yes" => {
            service::circles::consent_for(&k, &v.actor, &circle.id).await?;
            "consent"
        }
        "no" => {
            service::circles::decline_for(&k, &v.actor, &circle.id).await?;
            "declined"
        }
        _ => {
            return Err(Error::invalid_with(
                "watch-answer-invalid",
                vec![("field", "answer".into())],
            ));
        }
    };
    let to = kernel::web::render::safe_next(f.back.as_deref().or(Some("/terminal")));
    let sep = if to.contains('?') { '&' } else { '?' };
    Ok(Redirect::to(&format!("{to}{sep}done={done}")).into_response())
}

/// The terminal was used: a sign of life (sent by the terminal page as it is used).
async fn used(State(k): State<Kernel>, v: Viewer) -> Result<StatusCode> {
    let me = v.require_login()?.clone();
    service::signals::own_signal(&k, &me.id, "terminal").await?;
    Ok(StatusCode::NO_CONTENT)
}
