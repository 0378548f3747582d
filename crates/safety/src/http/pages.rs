//! The safety pages: rounds and how to start one, the live tally with its map and curve,
//! follow-up lists with visits, the answer form (logged in, or from an e-mailed link without
//! logging in), and what terminals and banners ask (`/safety/pending`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use kernel::i18n::t;
use kernel::web::Viewer;
use kernel::web::minijinja::context;
use kernel::web::render::ser;
use kernel::{Error, Kernel, Result};

use crate::model::answer::{AnswerInput, Doubt, MemberAnswer, MemberInput, MemberStatus};
use crate::service::answers::{self, ByLink};
use crate::service::follow_up::{self, OutcomeInput};
use crate::service::{export, rounds};
use crate::store::{AnswerRecord, Link, Round};

pub fn router() -> Router<Kernel> {
    Router::new()
        .route("/safety", get(index).post(start))
        .route("/safety/pending", get(pending))
        .route("/safety/static/safety.js", get(script))
        .route("/safety/a/{token}", get(link_form).post(link_answer))
        .route("/safety/{id}", get(round_page))
        .route("/safety/{id}/live", get(live))
        .route("/safety/{id}/answer", get(answer_form).post(answer))
        .route("/safety/{id}/receipt", get(receipt))
        .route(
            "/safety/{id}/households/{household}/answer",
            get(answer_form_for).post(answer_for_household),
        )
        .route("/safety/{id}/households/{household}/receipt", get(receipt_for))
        .route("/safety/{id}/visit", post(assign))
        .route("/safety/{id}/outcome", post(outcome))
        .route("/safety/{id}/close", post(close))
        .route("/safety/{id}/export.csv", get(export))
}

pub const TEMPLATES: &[(&str, &str)] = &[
    ("safety/index.html", include_str!("../../templates/index.html")),
    ("safety/round.html", include_str!("../../templates/round.html")),
    ("safety/answer.html", include_str!("../../templates/answer.html")),
    ("safety/link.html", include_str!("../../templates/link.html")),
    ("safety/confirm.html", include_str!("../../templates/confirm.html")),
    ("safety/receipt.html", include_str!("../../templates/receipt.html")),
];

const SCRIPT: &str = include_str!("../../assets/safety.js");

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

// ---- rounds ----

async fn index(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    v.require_login()?;
    let o = rounds::overview_for(&k, &v.actor).await?;
    let family: Vec<_> = o
        .family
        .iter()
        .map(|f| {
            context! {
                round => ser(&f.round), household => f.household.clone(), person => f.person.clone(),
                state => f.state.clone(),
                answer => format!("/safety/{}/households/{}/answer", f.round.id, f.household_id),
            }
        })
        .collect();
    let ctx = context! {
        rounds => ser(&o.rounds), areas => ser(&o.startable), error => Option::<String>::None, family,
        own => ser(&o.own),
    };
    kernel::web::page(&v, "safety/index.html", "safety-title", ctx)
}

#[derive(serde::Deserialize)]
struct StartForm {
    area: String,
    title: String,
}

async fn start(State(k): State<Kernel>, v: Viewer, Form(f): Form<StartForm>) -> Result<Response> {
    v.require_login()?;
    let round = rounds::start_for(&k, &v.actor, &f.area, &f.title).await?;
    Ok(Redirect::to(&format!("/safety/{}", round.id)).into_response())
}

async fn round_page(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    let round = rounds::require(&k, &id).await?;
    let (view, scope) = rounds::view_for(&k, &v.actor, round.clone()).await?;
    let staff_view = !view.areas.is_empty();
    let (map, curve) = if staff_view {
        let shown: Vec<String> = view.areas.iter().map(|a| a.area_id.clone()).collect();
        (
            map_svg(&k, &v, &view.areas).await?,
            curve_svg(&k, &v, &round, &shown, view.total.households).await?,
        )
    } else {
        (String::new(), String::new())
    };
    let (follow_up, proxies) = if scope.follow_up.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let f = follow_up::view_for(&k, &v.actor, &round).await?;
        (f.households, f.proxy_answers)
    };
    let mut visitors = Vec::new();
    if !follow_up.is_empty() {
        for (id, name) in follow_up::visitors(&k, &round).await? {
            visitors.push(context! { id, name });
        }
    }
    let may_close = round.closed_at.is_none() && rounds::may_close(&k, &v.actor, &round).await?;
    let answered = rounds::own_state(&k, &v.actor, &round, &scope).await?;
    let ctx = context! {
        round => ser(&round), total => ser(&view.total), areas => ser(&view.areas), staff_view,
        map => kernel::web::minijinja::Value::from_safe_string(map),
        curve => kernel::web::minijinja::Value::from_safe_string(curve),
        follow_up => ser(&follow_up), show_follow_up => !scope.follow_up.is_empty(), visitors,
        resident => scope.resident, answered, may_close, may_export => !scope.tally.is_empty(),
        outcomes => follow_up::OUTCOMES, proxies => ser(&proxies), legend => map_legend(&v),
    };
    kernel::web::page(&v, "safety/round.html", "safety-round-title", ctx)
}

async fn map_svg(k: &Kernel, v: &Viewer, areas: &[crate::model::tally::AreaTally]) -> Result<String> {
    // The 町丁目 as the kernel holds them (their GeoJSON polygons), each drawn in its own shape.
    let mut shapes = Vec::new();
    for a in kernel::store::areas::list(&k.db).await? {
        if let Some(t) = areas.iter().find(|t| t.area_id == a.id)
            && let Ok(shape) = kernel::model::geometry::parse_geometry(&a.geometry)
        {
            shapes.push((t, shape));
        }
    }
    let map_areas: Vec<crate::model::map::MapArea> = shapes
        .iter()
        .map(|(a, shape)| crate::model::map::MapArea {
            code: &a.code,
            name: &a.name,
            shape,
            rate: Some(a.rate),
            help: a.help,
        })
        .collect();
    if map_areas.is_empty() {
        return Ok(String::new());
    }
    let total = crate::model::tally::total(areas);
    Ok(crate::model::map::svg(
        &map_areas,
        &t(v.lang, "safety-map-title", &[]),
        &t(
            v.lang,
            "safety-map-desc",
            &[
                ("answered", total.answered.to_string()),
                ("households", total.households.to_string()),
            ],
        ),
        &t(v.lang, "safety-help", &[]),
    ))
}

/// The map's legend: each colour step with the answer rates it stands for.
fn map_legend(v: &Viewer) -> Vec<kernel::web::minijinja::Value> {
    crate::model::map::STEPS
        .iter()
        .map(|(from, to)| {
            let (fill, _) = crate::model::map::colour(Some(*from));
            let label = if from == to {
                t(v.lang, "safety-legend-all", &[("rate", from.to_string())])
            } else {
                t(
                    v.lang,
                    "safety-legend-range",
                    &[("from", from.to_string()), ("to", to.to_string())],
                )
            };
            context! { fill, label }
        })
        .collect()
}

async fn curve_svg(k: &Kernel, v: &Viewer, round: &Round, shown: &[String], households: i64) -> Result<String> {
    let firsts = rounds::first_answers(k, round, shown).await?;
    Ok(crate::model::tally::progress_svg(
        &firsts,
        households,
        &t(v.lang, "safety-curve-title", &[]),
        &t(
            v.lang,
            "safety-map-desc",
            &[
                ("answered", firsts.len().to_string()),
                ("households", households.to_string()),
            ],
        ),
        &t(v.lang, "safety-minutes", &[]),
    ))
}

/// The tally, pushed once a second while it changes (SSE); the page updates without reloading.
async fn live(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    v.require_login()?;
    let round = rounds::require(&k, &id).await?;
    // Refuse at once if the viewer may see nothing.
    rounds::view_for(&k, &v.actor, round.clone()).await?;
    let actor = v.actor.clone();
    // At most one look a second (a burst of answers must not turn watchers into a load), and
    // for an hour: the page reconnects if it is still open.
    let until = tokio::time::Instant::now() + Duration::from_secs(3600);
    let ticks = stream::unfold(
        (k, actor, round, String::new(), true),
        move |(k, actor, round, last, first)| async move {
            if tokio::time::Instant::now() >= until {
                return None;
            }
            if !first {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let (view, _) = rounds::view_for(&k, &actor, round.clone()).await.ok()?;
            // Each area with its map colours, so the page recolours the map as answers arrive.
            let areas: Vec<serde_json::Value> = view
                .areas
                .iter()
                .map(|a| {
                    let (fill, ink) = crate::model::map::colour(Some(a.rate));
                    let mut v = serde_json::to_value(a).unwrap_or_default();
                    v["fill"] = fill.into();
                    v["ink"] = ink.into();
                    v
                })
                .collect();
            let data = serde_json::json!({ "total": view.total, "areas": areas }).to_string();
            if data != last {
                return Some((
                    Ok(SseEvent::default().event("tally").data(data.clone())),
                    (k, actor, round, data, false),
                ));
            }
            Some((Ok(SseEvent::default().comment("")), (k, actor, round, last, false)))
        },
    );
    Ok(Sse::new(ticks).keep_alive(KeepAlive::new().interval(Duration::from_secs(20))))
}

async fn close(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    rounds::close_for(&k, &v.actor, &id).await?;
    Ok(Redirect::to(&format!("/safety/{id}")).into_response())
}

async fn export(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    let round = rounds::require(&k, &id).await?;
    Ok(super::csv_response(
        &id,
        export::export_for(&k, &v.actor, &round, v.lang).await?,
    ))
}

// ---- follow-up ----

/// A form field's value (empty when absent).
fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

async fn assign(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response> {
    v.require_login()?;
    follow_up::assign_for(&k, &v.actor, &id, &field(&f, "household"), &field(&f, "visitor")).await?;
    Ok(Redirect::to(&format!("/safety/{id}#follow-up")).into_response())
}

async fn outcome(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<Vec<(String, String)>>,
) -> Result<Response> {
    v.require_login()?;
    let input = OutcomeInput {
        outcome: field(&f, "outcome"),
        note: Some(field(&f, "note")),
    };
    follow_up::outcome_for(&k, &v.actor, &id, &field(&f, "household"), &input).await?;
    Ok(Redirect::to(&format!("/safety/{id}#follow-up")).into_response())
}

// ---- answering ----

/// Open rounds asking the viewer's household, for terminals and banners.
async fn pending(State(k): State<Kernel>, v: Viewer) -> Result<Json<serde_json::Value>> {
    let pending = rounds::pending_for(&k, &v.actor).await?;
    Ok(Json(serde_json::Value::Array(
        pending
            .into_iter()
            .map(|r| serde_json::json!({ "round": r.id, "title": r.title, "answer": format!("/safety/{}/answer", r.id) }))
            .collect(),
    )))
}

/// The form's fields: `status`, `member.<person>` / `comment.<person>` per member, `comment`.
fn answer_input(fields: &[(String, String)]) -> AnswerInput {
    // A map first: a form with many fields must not cost fields × members lookups.
    let map: std::collections::HashMap<&str, &str> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let get = |name: &str| map.get(name).map(|v| v.to_string());
    let members = fields
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("member.").map(|p| (p.to_string(), v.clone())))
        .filter(|(_, v)| !v.is_empty())
        .map(|(person_id, status)| MemberInput {
            comment: get(&format!("comment.{person_id}")),
            person_id,
            status,
        })
        .collect();
    AnswerInput {
        status: get("status").unwrap_or_default(),
        members,
        comment: get("comment"),
    }
}

fn has(fields: &[(String, String)], name: &str) -> bool {
    fields.iter().any(|(k, _)| k == name)
}

/// What a form shows already filled in: each member's state and comment, the household's comment.
#[derive(Default)]
struct Prefill {
    states: std::collections::HashMap<String, String>,
    comments: std::collections::HashMap<String, String>,
    comment: String,
}

impl Prefill {
    fn of(input: &AnswerInput) -> Prefill {
        Prefill {
            states: input
                .members
                .iter()
                .map(|m| (m.person_id.clone(), m.status.clone()))
                .collect(),
            comments: input
                .members
                .iter()
                .filter_map(|m| m.comment.clone().map(|c| (m.person_id.clone(), c)))
                .collect(),
            comment: input.comment.clone().unwrap_or_default(),
        }
    }

    fn of_record(r: &AnswerRecord) -> Prefill {
        let members: Vec<MemberAnswer> = serde_json::from_str(&r.members).unwrap_or_default();
        Prefill {
            states: members
                .iter()
                .map(|m| (m.person_id.clone(), m.status.as_str().to_string()))
                .collect(),
            comments: members
                .iter()
                .filter_map(|m| m.comment.clone().map(|c| (m.person_id.clone(), c)))
                .collect(),
            comment: r.comment.clone().unwrap_or_default(),
        }
    }
}

/// Where the answer pages of a household live: one's own under the round, another's (family
/// answering for it) under the household.
fn answer_base(round_id: &str, household: Option<&str>) -> String {
    match household {
        Some(h) => format!("/safety/{round_id}/households/{h}"),
        None => format!("/safety/{round_id}"),
    }
}

#[allow(clippy::too_many_arguments)]
async fn answer_page(
    k: &Kernel,
    v: &Viewer,
    round: &Round,
    household_id: &str,
    action: &str,
    error: Option<String>,
    prefill: Prefill,
    proxy: bool,
    status: StatusCode,
) -> Result<Response> {
    // Each member with what the form shows already chosen and typed.
    let members: Vec<_> = answers::members(k, household_id)
        .await?
        .into_iter()
        .map(|m| {
            context! {
                state => prefill.states.get(&m.person_id).cloned().unwrap_or_default(),
                comment => prefill.comments.get(&m.person_id).cloned().unwrap_or_default(),
                person_id => m.person_id, display_name => m.display_name, relation => m.relation,
            }
        })
        .collect();
    let history: Vec<_> = answers::history(k, round, household_id)
        .await?
        .into_iter()
        .map(|h| {
            context! { status => h.effective, channel => h.channel, at => h.answered_at, comment => h.comment,
            proxy => h.proxy }
        })
        .collect();
    let states: Vec<_> = MemberStatus::ALL.iter().map(|s| s.as_str()).collect();
    let ctx = context! {
        round => ser(round), members, states, action, error, history,
        closed => round.closed_at, comment => prefill.comment,
        for_household => if proxy { Some(answers::household_name(k, household_id).await?) } else { None },
    };
    let mut res = kernel::web::page(v, "safety/answer.html", "safety-answer-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

/// 「全員無事」 with someone marked hurt or missing: ask before recording (the answer rides along
/// in hidden fields; nothing is stored until a choice is made).
async fn confirm_page(
    k: &Kernel,
    v: &Viewer,
    round: &Round,
    household_id: &str,
    action: &str,
    fields: &[(String, String)],
    doubt: Doubt,
) -> Result<Response> {
    let members = answers::members(k, household_id).await?;
    let names: std::collections::HashMap<&str, &str> = members
        .iter()
        .map(|m| (m.person_id.as_str(), m.display_name.as_str()))
        .collect();
    let input = answer_input(fields);
    let marked: Vec<_> = input
        .members
        .iter()
        .filter_map(|m| {
            let s = MemberStatus::parse(&m.status)?;
            Some(
                context! { name => names.get(m.person_id.as_str()).copied().unwrap_or_default(), status => s.as_str() },
            )
        })
        .collect();
    // Everything typed goes back with the choice, except the status the buttons decide.
    let carried: Vec<_> = fields
        .iter()
        .filter(|(k, _)| k.starts_with("member.") || k.starts_with("comment") || k == "channel" || k == "back")
        .map(|(k, v)| context! { name => k, value => v })
        .collect();
    let ctx = context! {
        round => ser(round), action, carried, marked, question => doubt.key(),
    };
    kernel::web::page(v, "safety/confirm.html", "safety-confirm-title", ctx)
}

/// 「回答を受け付けました」 with what was recorded: the household's state, each member's, when, by
/// whom (and whether family answered for the household), and how to change it.
async fn receipt_page(
    k: &Kernel,
    v: &Viewer,
    round: &Round,
    household_id: &str,
    change: Option<String>,
    back: Option<String>,
) -> Result<Response> {
    let latest = answers::history(k, round, household_id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::not_found("safety-no-answer-yet"))?;
    let given: Vec<MemberAnswer> = serde_json::from_str(&latest.members).unwrap_or_default();
    let members: Vec<_> = answers::members(k, household_id)
        .await?
        .into_iter()
        .map(|m| {
            let g = given.iter().find(|g| g.person_id == m.person_id);
            context! {
                name => m.display_name,
                status => g.map(|g| g.status.as_str()),
                comment => g.and_then(|g| g.comment.clone()),
            }
        })
        .collect();
    let ctx = context! {
        round => ser(round), answer => ser(&latest), members, change, back,
        household => answers::household_name(k, household_id).await?,
    };
    kernel::web::page(v, "safety/receipt.html", "safety-receipt-title", ctx)
}

/// The household the page is about: the one named (family answering for it) or the viewer's own.
fn household_of(v: &Viewer, named: Option<String>) -> Result<String> {
    match named {
        Some(h) => Ok(h),
        None => v.actor.household_id.clone().ok_or(Error::Forbidden),
    }
}

async fn answer_form(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    show_form(k, v, id, None).await
}

async fn answer_form_for(
    State(k): State<Kernel>,
    v: Viewer,
    Path((id, household)): Path<(String, String)>,
) -> Result<Response> {
    show_form(k, v, id, Some(household)).await
}

async fn show_form(k: Kernel, v: Viewer, id: String, named: Option<String>) -> Result<Response> {
    v.require_login()?;
    let round = rounds::require(&k, &id).await?;
    let household = household_of(&v, named.clone())?;
    let start = answers::form_for(&k, &v.actor, &round, &household).await?;
    let proxy = start.proxy;
    // Changing an answer starts from what was recorded.
    let prefill = start.latest.as_ref().map(Prefill::of_record).unwrap_or_default();
    let action = format!("{}/answer", answer_base(&id, named.as_deref()));
    answer_page(
        &k,
        &v,
        &round,
        &household,
        &action,
        None,
        prefill,
        proxy,
        StatusCode::OK,
    )
    .await
}

/// Turn a refused answer into the form again with the reason, in the viewer's language.
#[allow(clippy::too_many_arguments)]
async fn refused(
    k: &Kernel,
    v: &Viewer,
    round: &Round,
    household: &str,
    action: &str,
    input: &AnswerInput,
    proxy: bool,
    e: Error,
) -> Result<Response> {
    let status = match &e {
        Error::Invalid { .. } => StatusCode::BAD_REQUEST,
        Error::Conflict { .. } => StatusCode::CONFLICT,
        _ => return Err(e),
    };
    let (Error::Invalid { key, args } | Error::Conflict { key, args }) = e else {
        return Err(Error::Internal("unreachable".into()));
    };
    let msg = t(v.lang, &key, &args);
    answer_page(
        k,
        v,
        round,
        household,
        action,
        Some(msg),
        Prefill::of(input),
        proxy,
        status,
    )
    .await
}

async fn answer(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    take_answer(k, v, id, None, fields).await
}

async fn answer_for_household(
    State(k): State<Kernel>,
    v: Viewer,
    Path((id, household)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    take_answer(k, v, id, Some(household), fields).await
}

async fn take_answer(
    k: Kernel,
    v: Viewer,
    id: String,
    named: Option<String>,
    fields: Vec<(String, String)>,
) -> Result<Response> {
    let person = v.require_login()?.clone();
    let round = rounds::require(&k, &id).await?;
    let household = household_of(&v, named.clone())?;
    let proxy = answers::may_answer(&k, &v.actor, &round, &household).await?.is_some();
    let channel = match fields.iter().find(|(k, _)| k == "channel").map(|(_, v)| v.as_str()) {
        Some("terminal") => "terminal",
        _ => "web",
    };
    let base = answer_base(&id, named.as_deref());
    let action = format!("{base}/answer");
    let input = answer_input(&fields);
    if has(&fields, "edit") {
        return answer_page(
            &k,
            &v,
            &round,
            &household,
            &action,
            None,
            Prefill::of(&input),
            proxy,
            StatusCode::OK,
        )
        .await;
    }
    if !has(&fields, "confirmed") {
        let members = answers::member_ids(&k, &household).await?;
        if let Ok(a) = input.check(&members)
            && let Some(doubt) = a.doubt()
        {
            return confirm_page(&k, &v, &round, &household, &action, &fields, doubt).await;
        }
    }
    let done = answers::answer_for(
        &k,
        Some(&v.actor),
        &id,
        &household,
        Some(&person.id),
        channel,
        &input,
        v.lang,
    )
    .await;
    match done {
        Ok(_) => {
            let back = fields
                .iter()
                .find(|(k, _)| k == "back")
                .map(|(_, b)| kernel::web::render::safe_next(Some(b)));
            let to = match back {
                Some(b) => format!("{base}/receipt?back={}", kernel::web::render::url_encode(&b)),
                None => format!("{base}/receipt"),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => refused(&k, &v, &round, &household, &action, &input, proxy, e).await,
    }
}

#[derive(serde::Deserialize)]
struct ReceiptQuery {
    back: Option<String>,
}

async fn receipt(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<ReceiptQuery>,
) -> Result<Response> {
    show_receipt(k, v, id, None, q.back).await
}

async fn receipt_for(
    State(k): State<Kernel>,
    v: Viewer,
    Path((id, household)): Path<(String, String)>,
    Query(q): Query<ReceiptQuery>,
) -> Result<Response> {
    show_receipt(k, v, id, Some(household), q.back).await
}

async fn show_receipt(
    k: Kernel,
    v: Viewer,
    id: String,
    named: Option<String>,
    back: Option<String>,
) -> Result<Response> {
    v.require_login()?;
    let round = rounds::require(&k, &id).await?;
    let household = household_of(&v, named.clone())?;
    answers::may_answer(&k, &v.actor, &round, &household).await?;
    let change = round
        .closed_at
        .is_none()
        .then(|| format!("{}/answer", answer_base(&id, named.as_deref())));
    let back = back.map(|b| kernel::web::render::safe_next(Some(&b)));
    receipt_page(&k, &v, &round, &household, change, back).await
}

/// A link that cannot be used: say why, and offer to log in and answer there.
fn link_problem(v: &Viewer, link: &Link) -> Result<Response> {
    let (key, at, status) = match link {
        Link::Used(at) => ("safety-link-used", Some(*at), StatusCode::GONE),
        Link::Expired(at) => ("safety-link-expired", Some(*at), StatusCode::GONE),
        _ => ("safety-link-unknown", None, StatusCode::NOT_FOUND),
    };
    let message = t(
        v.lang,
        key,
        &[(
            "time",
            at.map(|at| kernel::web::render::human_time(v.lang, at))
                .unwrap_or_default(),
        )],
    );
    let mut res = kernel::web::page(v, "safety/link.html", "safety-link-title", context! { message })?;
    *res.status_mut() = status;
    Ok(res)
}

async fn link_form(State(k): State<Kernel>, v: Viewer, Path(token): Path<String>) -> Result<Response> {
    match answers::peek_link(&k, &token).await? {
        Link::Valid {
            round_id, household_id, ..
        } => {
            let round = rounds::require(&k, &round_id).await?;
            answer_page(
                &k,
                &v,
                &round,
                &household_id,
                &format!("/safety/a/{token}"),
                None,
                Prefill::default(),
                false,
                StatusCode::OK,
            )
            .await
        }
        other => link_problem(&v, &other),
    }
}

async fn link_answer(
    State(k): State<Kernel>,
    v: Viewer,
    Path(token): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let input = answer_input(&fields);
    let action = format!("/safety/a/{token}");
    // Check the answer before spending the link, so a mistake can be corrected.
    let Link::Valid {
        round_id, household_id, ..
    } = answers::peek_link(&k, &token).await?
    else {
        return link_problem(&v, &answers::peek_link(&k, &token).await?);
    };
    let round = rounds::require(&k, &round_id).await?;
    if has(&fields, "edit") {
        return answer_page(
            &k,
            &v,
            &round,
            &household_id,
            &action,
            None,
            Prefill::of(&input),
            false,
            StatusCode::OK,
        )
        .await;
    }
    let members = answers::member_ids(&k, &household_id).await?;
    match input.check(&members) {
        Err(e) => {
            let err = Error::invalid_with(e.key, vec![("field", e.field)]);
            return refused(&k, &v, &round, &household_id, &action, &input, false, err).await;
        }
        Ok(a) if !has(&fields, "confirmed") => {
            if let Some(doubt) = a.doubt() {
                return confirm_page(&k, &v, &round, &household_id, &action, &fields, doubt).await;
            }
        }
        Ok(_) => {}
    }
    match answers::answer_by_link(&k, &token, &input, v.lang).await? {
        // The link is spent: changing the answer later is done logged in.
        ByLink::Answered => {
            let change = round.closed_at.is_none().then(|| {
                format!(
                    "/login?next={}",
                    kernel::web::render::url_encode(&format!("/safety/{round_id}/answer"))
                )
            });
            receipt_page(&k, &v, &round, &household_id, change, None).await
        }
        ByLink::Refused(e) => refused(&k, &v, &round, &household_id, &action, &input, false, e).await,
        ByLink::Unusable(other) => link_problem(&v, &other),
    }
}
