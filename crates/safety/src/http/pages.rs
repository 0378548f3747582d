//! The safety pages: rounds and how to start one, the live tally with its map and curve,
//! follow-up lists with visits, the answer form (logged in, or from an e-mailed link without
//! logging in), and what terminals and banners ask (`/safety/pending`).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::stream::{self, Stream};
use kernel::i18n::t;
use kernel::model::policy::{Action, Resource};
use kernel::web::Viewer;
use kernel::web::minijinja::context;
use kernel::web::render::ser;
use kernel::{Error, Kernel, Result};

use super::OutcomeInput;
use crate::model::answer::{AnswerInput, MemberInput, MemberStatus};
use crate::store::{self, Link, Round};

pub fn router() -> Router<Kernel> {
    Router::new()
        .route("/safety", get(index).post(start))
        .route("/safety/pending", get(pending))
        .route("/safety/static/safety.js", get(script))
        .route("/safety/a/{token}", get(link_form).post(link_answer))
        .route("/safety/{id}", get(round_page))
        .route("/safety/{id}/live", get(live))
        .route("/safety/{id}/answer", get(answer_form).post(answer))
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
    let rounds = super::visible_rounds(&k, &v.actor).await?;
    // Areas the viewer may start a round for: all for city staff, their own for officers.
    let mut startable = Vec::new();
    for a in kernel::store::areas::list(&k.db).await? {
        let area_path = kernel::store::areas::path(&k.db, Some(&a.id)).await?;
        if v.may(Action::StartSafetyRound, &Resource::Area { area_path }) {
            startable.push(a);
        }
    }
    let ctx = context! { rounds => ser(&rounds), areas => ser(&startable), error => Option::<String>::None };
    kernel::web::page(&v, "safety/index.html", "safety-title", ctx)
}

#[derive(serde::Deserialize)]
struct StartForm {
    area: String,
    title: String,
}

async fn start(State(k): State<Kernel>, v: Viewer, Form(f): Form<StartForm>) -> Result<Response> {
    v.require_login()?;
    let round = super::start_for(&k, &v.actor, &f.area, &f.title).await?;
    Ok(Redirect::to(&format!("/safety/{}", round.id)).into_response())
}

async fn round_page(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    let round = store::require(&k.db, &id).await?;
    let (view, scope) = super::view_for(&k, &v.actor, round.clone()).await?;
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
    let follow_up = if scope.follow_up.is_empty() {
        Vec::new()
    } else {
        super::follow_up_for(&k, &v.actor, &round).await?
    };
    let mut visitors = Vec::new();
    if !follow_up.is_empty() {
        let area_path = kernel::store::areas::path(&k.db, Some(&round.area_id)).await?;
        for (id, name) in store::visitors(&k.db, &area_path).await? {
            visitors.push(context! { id, name });
        }
    }
    let may_close = round.closed_at.is_none() && {
        let area_path = kernel::store::areas::path(&k.db, Some(&round.area_id)).await?;
        v.may(Action::StartSafetyRound, &Resource::Area { area_path })
    };
    let answered = match &v.actor.household_id {
        Some(h) if scope.resident => store::target(&k.db, &round.id, h).await?.and_then(|(_, s)| s),
        _ => None,
    };
    let ctx = context! {
        round => ser(&round), total => ser(&view.total), areas => ser(&view.areas), staff_view,
        map => kernel::web::minijinja::Value::from_safe_string(map),
        curve => kernel::web::minijinja::Value::from_safe_string(curve),
        follow_up => ser(&follow_up), show_follow_up => !scope.follow_up.is_empty(), visitors,
        resident => scope.resident, answered, may_close, may_export => !scope.tally.is_empty(),
        outcomes => super::OUTCOMES,
    };
    kernel::web::page(&v, "safety/round.html", "safety-round-title", ctx)
}

async fn map_svg(k: &Kernel, v: &Viewer, areas: &[crate::model::tally::AreaTally]) -> Result<String> {
    let shapes = alerts::store::town_areas(&k.db).await?;
    let mut drawn = Vec::new();
    for a in areas {
        if let Some(s) = shapes.iter().find(|s| s.id == a.area_id) {
            drawn.push((a, s));
        }
    }
    let map_areas: Vec<crate::model::map::MapArea> = drawn
        .iter()
        .map(|(a, s)| crate::model::map::MapArea {
            code: &a.code,
            name: &a.name,
            shape: &s.shape,
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

async fn curve_svg(k: &Kernel, v: &Viewer, round: &Round, shown: &[String], households: i64) -> Result<String> {
    let firsts = store::first_answers(&k.db, round, Some(shown)).await?;
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
    let round = store::require(&k.db, &id).await?;
    // Refuse at once if the viewer may see nothing.
    super::view_for(&k, &v.actor, round.clone()).await?;
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
            let (view, _) = super::view_for(&k, &actor, round.clone()).await.ok()?;
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
    super::close_for(&k, &v.actor, &id).await?;
    Ok(Redirect::to(&format!("/safety/{id}")).into_response())
}

async fn export(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    let round = store::require(&k.db, &id).await?;
    Ok(super::csv_response(&id, super::export_for(&k, &v.actor, &round).await?))
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
    super::assign_for(&k, &v.actor, &id, &field(&f, "household"), &field(&f, "visitor")).await?;
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
    super::outcome_for(&k, &v.actor, &id, &field(&f, "household"), &input).await?;
    Ok(Redirect::to(&format!("/safety/{id}#follow-up")).into_response())
}

// ---- answering ----

/// Open rounds asking the viewer's household, for terminals and banners.
async fn pending(State(k): State<Kernel>, v: Viewer) -> Result<Json<serde_json::Value>> {
    let Some(h) = v.actor.household_id.as_deref() else {
        return Ok(Json(serde_json::json!([])));
    };
    let rounds = store::pending_for_household(&k.db, h).await?;
    Ok(Json(serde_json::Value::Array(
        rounds
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

#[allow(clippy::too_many_arguments)]
async fn answer_page(
    k: &Kernel,
    v: &Viewer,
    round: &Round,
    household_id: &str,
    action: &str,
    error: Option<String>,
    done: bool,
    status: StatusCode,
) -> Result<Response> {
    let members = kernel::store::households::members(&k.db, household_id).await?;
    let history: Vec<_> = store::history(&k.db, &round.id, household_id)
        .await?
        .into_iter()
        .map(|h| context! { status => h.effective, channel => h.channel, at => h.answered_at, comment => h.comment })
        .collect();
    let states: Vec<_> = MemberStatus::ALL.iter().map(|s| s.as_str()).collect();
    let ctx = context! {
        round => ser(round), members => ser(&members), states, action, error, done, history,
        closed => round.closed_at,
    };
    let mut res = kernel::web::page(v, "safety/answer.html", "safety-answer-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

async fn answer_form(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    let round = store::require(&k.db, &id).await?;
    let household = v.actor.household_id.clone().ok_or(Error::Forbidden)?;
    if store::target(&k.db, &round.id, &household).await?.is_none() {
        return Err(Error::Forbidden);
    }
    answer_page(
        &k,
        &v,
        &round,
        &household,
        &format!("/safety/{id}/answer"),
        None,
        false,
        StatusCode::OK,
    )
    .await
}

/// Turn a refused answer into the form again with the reason, in the viewer's language.
async fn refused(k: &Kernel, v: &Viewer, round: &Round, household: &str, action: &str, e: Error) -> Result<Response> {
    match e {
        Error::Invalid { key, args } => {
            let msg = t(v.lang, &key, &args);
            answer_page(
                k,
                v,
                round,
                household,
                action,
                Some(msg),
                false,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Error::Conflict { key, args } => {
            let msg = t(v.lang, &key, &args);
            answer_page(k, v, round, household, action, Some(msg), false, StatusCode::CONFLICT).await
        }
        e => Err(e),
    }
}

async fn answer(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response> {
    let person = v.require_login()?.clone();
    let round = store::require(&k.db, &id).await?;
    let household = v.actor.household_id.clone().ok_or(Error::Forbidden)?;
    let channel = match fields.iter().find(|(k, _)| k == "channel").map(|(_, v)| v.as_str()) {
        Some("terminal") => "terminal",
        _ => "web",
    };
    let action = format!("/safety/{id}/answer");
    let input = answer_input(&fields);
    match super::answer_for(&k, Some(&v.actor), &id, &household, Some(&person.id), channel, &input).await {
        Ok(_) => match fields.iter().find(|(k, _)| k == "back").map(|(_, v)| v.as_str()) {
            Some(back) => Ok(Redirect::to(&kernel::web::render::safe_next(Some(back))).into_response()),
            None => answer_page(&k, &v, &round, &household, &action, None, true, StatusCode::OK).await,
        },
        Err(e) => refused(&k, &v, &round, &household, &action, e).await,
    }
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
        &[("time", at.map(kernel::web::render::format_time).unwrap_or_default())],
    );
    let mut res = kernel::web::page(v, "safety/link.html", "safety-link-title", context! { message })?;
    *res.status_mut() = status;
    Ok(res)
}

async fn link_form(State(k): State<Kernel>, v: Viewer, Path(token): Path<String>) -> Result<Response> {
    match store::peek_link(&k, &token).await? {
        Link::Valid {
            round_id, household_id, ..
        } => {
            let round = store::require(&k.db, &round_id).await?;
            answer_page(
                &k,
                &v,
                &round,
                &household_id,
                &format!("/safety/a/{token}"),
                None,
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
    } = store::peek_link(&k, &token).await?
    else {
        return link_problem(&v, &store::peek_link(&k, &token).await?);
    };
    let round = store::require(&k.db, &round_id).await?;
    let members: Vec<String> = kernel::store::households::members(&k.db, &household_id)
        .await?
        .into_iter()
        .map(|m| m.person_id)
        .collect();
    if let Err(e) = input.check(&members) {
        let err = Error::invalid_with(e.key, vec![("field", e.field)]);
        return refused(&k, &v, &round, &household_id, &action, err).await;
    }
    match store::use_link(&k, &token).await? {
        Link::Valid { person_id, .. } => {
            match super::answer_for(&k, None, &round_id, &household_id, Some(&person_id), "email", &input).await {
                Ok(_) => answer_page(&k, &v, &round, &household_id, &action, None, true, StatusCode::OK).await,
                Err(e) => {
                    // Not stored: the link is given back so the resident can try again.
                    store::unuse_link(&k, &token).await?;
                    refused(&k, &v, &round, &household_id, &action, e).await
                }
            }
        }
        other => link_problem(&v, &other),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_exist_for_both_backends() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        assert_eq!(
            kernel::store::migrate::parity_problems(&dir, crate::store::MIGRATIONS),
            Vec::<String>::new()
        );
    }

    /// Every `t("key")` in the safety templates exists in Japanese and English.
    #[test]
    fn templates_use_only_known_message_keys() {
        let mut catalog = kernel::i18n::Catalog::default();
        catalog.add(kernel::i18n::KERNEL_JA, kernel::i18n::KERNEL_EN).unwrap();
        catalog
            .add(
                include_str!("../../messages/ja.txt"),
                include_str!("../../messages/en.txt"),
            )
            .unwrap();
        assert_eq!(catalog.missing_keys(), Vec::<String>::new());
        let mut dynamic: Vec<String> = ["nav-safety", "level-town", "level-district", "level-chome"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for s in crate::model::answer::MemberStatus::ALL {
            dynamic.push(format!("safety-member-{}", s.as_str()));
        }
        for o in super::super::OUTCOMES {
            dynamic.push(format!("safety-outcome-{o}"));
        }
        for s in ["safe", "help"] {
            dynamic.push(format!("safety-status-{s}"));
        }
        for c in ["web", "terminal", "email", "mqtt", "api"] {
            dynamic.push(format!("safety-channel-{c}"));
        }
        let missing = catalog.keys_missing_for(super::TEMPLATES, &dynamic);
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }
}
