//! The safety JSON API: start and close rounds, answer for one's household, tallies per area
//! (officers: their areas; city staff: all; residents of the round: the counts only),
//! follow-up lists and visits, and the CSV export. The browser pages are in `pages`.

pub mod home;
pub mod pages;

use crate::policy::{Action, Resource};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::http::{ApiJson, Auth};
use kernel::i18n::Lang;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::answer::AnswerInput;
use crate::model::tally::{AreaTally, total};
use crate::store::{self, FollowUp, NewAnswer, Recorded, Round};

pub fn api() -> OpenApiRouter<Kernel> {
    OpenApiRouter::new()
        .routes(routes!(list_rounds, start_round))
        .routes(routes!(get_round))
        .routes(routes!(close_round))
        .routes(routes!(answer))
        .routes(routes!(follow_up))
        .routes(routes!(assign_visit))
        .routes(routes!(visit_outcome))
        .routes(routes!(export_csv))
}

/// What the actor may see and do in a round, area by area.
pub(crate) struct Scope {
    /// Areas whose tallies the actor sees.
    pub tally: Vec<String>,
    /// Areas whose follow-up lists (and visits) the actor handles.
    pub follow_up: Vec<String>,
    /// The actor's household is asked in this round: they see the counts.
    pub resident: bool,
}

pub(crate) async fn scope(k: &Kernel, actor: &Actor, round: &Round) -> Result<Scope> {
    let town = may(actor, Action::ViewSafetyTally, &Resource::Town);
    let mut s = Scope {
        tally: Vec::new(),
        follow_up: Vec::new(),
        resident: false,
    };
    for area in store::round_areas(&k.db, &round.id).await? {
        let area_path = kernel::store::areas::path(&k.db, Some(&area)).await?;
        let resource = Resource::Area { area_path };
        if town || may(actor, Action::ViewSafetyTally, &resource) {
            s.tally.push(area.clone());
        }
        if may(actor, Action::FollowUpSafety, &resource) {
            s.follow_up.push(area);
        }
    }
    if let Some(h) = &actor.household_id {
        s.resident = store::target(&k.db, &round.id, h).await?.is_some();
    }
    Ok(s)
}

/// A round as the API shows it, with the tallies the asker may see.
#[derive(Serialize, ToSchema)]
pub struct RoundView {
    #[serde(flatten)]
    pub round: Round,
    /// Sum over the areas shown.
    pub total: AreaTally,
    /// Per area; empty for residents, who see only the total.
    pub areas: Vec<AreaTally>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInput {
    /// Area code or id: the town, a district, a 町丁目.
    pub area: String,
    pub title: String,
}

/// Start a round for an area: an officer for their own, city staff for any.
pub(crate) async fn start_for(k: &Kernel, actor: &Actor, area: &str, title: &str) -> Result<Round> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::invalid_with(
            "safety-title-invalid",
            vec![("field", "title".into())],
        ));
    }
    let area = kernel::store::areas::get(&k.db, area.trim())
        .await?
        .ok_or_else(|| Error::invalid_with("area-unknown", vec![("area", area.to_string())]))?;
    let area_path = kernel::store::areas::path(&k.db, Some(&area.id)).await?;
    if !may(actor, Action::StartSafetyRound, &Resource::Area { area_path }) {
        return Err(Error::Forbidden);
    }
    let how = if may(actor, Action::StartSafetyRound, &Resource::Town) {
        "staff"
    } else {
        "officer"
    };
    let (round, _) = store::start(k, &area.id, title, how, actor.person_id.as_deref(), None).await?;
    // Should asking fail half-way, the round is there and the job asks again.
    crate::service::asking::announce(k, &round).await?;
    store::mark_announced(k, &round.id).await?;
    kernel::store::audit::append(
        k,
        kernel::model::audit::AuditRecord::new(
            actor.person_id.as_deref(),
            "safety.start",
            format!("safety/{}", round.id),
        )
        .reason(&area.code),
    )
    .await?;
    Ok(round)
}

#[utoipa::path(post, path = "/safety/rounds", tag = "safety", request_body = StartInput,
    responses((status = 201, body = Round), (status = 400), (status = 401), (status = 403)))]
async fn start_round(State(k): State<Kernel>, auth: Auth, ApiJson(input): ApiJson<StartInput>) -> Result<Response> {
    auth.person_id()?;
    let round = start_for(&k, &auth.0, &input.area, &input.title).await?;
    let mut res = (StatusCode::CREATED, Json(&round)).into_response();
    res.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/api/v1/safety/rounds/{}", round.id))
            .map_err(|e| Error::Internal(e.to_string()))?,
    );
    Ok(res)
}

#[utoipa::path(get, path = "/safety/rounds", tag = "safety",
    description = "Rounds the asker may see (open first): officers and city staff see theirs; residents the ones asking their household.",
    responses((status = 200, body = [Round]), (status = 401)))]
async fn list_rounds(State(k): State<Kernel>, auth: Auth) -> Result<Json<Vec<Round>>> {
    auth.person_id()?;
    Ok(Json(visible_rounds(&k, &auth.0).await?))
}

pub(crate) async fn visible_rounds(k: &Kernel, actor: &Actor) -> Result<Vec<Round>> {
    let mut out = Vec::new();
    for r in store::recent(&k.db, 50).await? {
        let s = scope(k, actor, &r).await?;
        if !s.tally.is_empty() || !s.follow_up.is_empty() || s.resident {
            out.push(r);
        }
    }
    out.sort_by_key(|r| (r.closed_at.is_some(), -r.started_at));
    Ok(out)
}

pub(crate) async fn view_for(k: &Kernel, actor: &Actor, round: Round) -> Result<(RoundView, Scope)> {
    let s = scope(k, actor, &round).await?;
    if s.tally.is_empty() && s.follow_up.is_empty() && !s.resident {
        return Err(Error::Forbidden);
    }
    let (total, areas) = if !s.tally.is_empty() || !s.follow_up.is_empty() {
        let mut shown = s.tally.clone();
        shown.extend(s.follow_up.iter().cloned());
        let areas = store::tally(&k.db, &round.id, Some(&shown)).await?;
        (total(&areas), areas)
    } else {
        // Residents of an area see only how many answered, never who.
        (total(&store::tally(&k.db, &round.id, None).await?), Vec::new())
    };
    Ok((RoundView { round, total, areas }, s))
}

#[utoipa::path(get, path = "/safety/rounds/{id}", tag = "safety",
    responses((status = 200, body = RoundView), (status = 401), (status = 403), (status = 404)))]
async fn get_round(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<RoundView>> {
    auth.person_id()?;
    let round = store::require(&k.db, &id).await?;
    Ok(Json(view_for(&k, &auth.0, round).await?.0))
}

pub(crate) async fn close_for(k: &Kernel, actor: &Actor, id: &str) -> Result<Round> {
    let round = store::require(&k.db, id).await?;
    let area_path = kernel::store::areas::path(&k.db, Some(&round.area_id)).await?;
    if !may(actor, Action::StartSafetyRound, &Resource::Area { area_path }) {
        return Err(Error::Forbidden);
    }
    store::close(k, id).await
}

#[utoipa::path(post, path = "/safety/rounds/{id}/close", tag = "safety",
    responses((status = 200, body = Round), (status = 403), (status = 404)))]
async fn close_round(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Round>> {
    auth.person_id()?;
    Ok(Json(close_for(&k, &auth.0, &id).await?))
}

/// The answer as stored.
#[derive(Serialize, ToSchema)]
pub struct Answered {
    pub id: String,
    pub household_id: String,
    pub status: String,
    /// What the tally counts (a member hurt or missing counts as 助けが必要).
    pub effective: String,
    pub answered_at: i64,
    /// The family member who answered for the household (代理回答), when not one of its members.
    pub proxy_by: Option<String>,
}

/// Family answering for a household not their own.
pub(crate) struct Proxy {
    /// The family member answering.
    pub by: String,
    /// The watched person whose household it is (the subject of the audit entry).
    pub watched: String,
}

/// May the actor answer for this household: as one of its members (`None`), or as family in the
/// watching circle of one of its members (a proxy answer)? Refused otherwise.
pub(crate) async fn answering_as(k: &Kernel, actor: &Actor, household_id: &str) -> Result<Option<Proxy>> {
    let household = Resource::Household {
        id: household_id.to_string(),
    };
    if may(actor, Action::AnswerSafety, &household) {
        return Ok(None);
    }
    if let Some(me) = actor.person_id.as_deref() {
        for w in watch::service::for_others::watched_by(&k.db, me).await? {
            if may(
                actor,
                Action::AnswerSafety,
                &Resource::WatchedHousehold { role: w.role.clone() },
            ) && kernel::store::people::household_of(&k.db, &w.person_id)
                .await?
                .as_deref()
                == Some(household_id)
            {
                return Ok(Some(Proxy {
                    by: me.to_string(),
                    watched: w.person_id,
                }));
            }
        }
    }
    Err(Error::refused("safety-not-your-household", vec![]))
}

/// Households the actor may answer for as family (not their own): (household id, watched person).
pub(crate) async fn family_households(k: &Kernel, actor: &Actor) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(me) = actor.person_id.as_deref() else {
        return Ok(out);
    };
    for w in watch::service::for_others::watched_by(&k.db, me).await? {
        if !may(
            actor,
            Action::AnswerSafety,
            &Resource::WatchedHousehold { role: w.role.clone() },
        ) {
            continue;
        }
        if let Some(h) = kernel::store::people::household_of(&k.db, &w.person_id).await?
            && actor.household_id.as_deref() != Some(h.as_str())
            && !out.iter().any(|(x, _)| x == &h)
        {
            out.push((h, w.person_id));
        }
    }
    Ok(out)
}

/// Check and record an answer for a household; the policy decides who may (a member, or family
/// answering for it). Without an actor (a device button, an e-mailed link) the caller checked.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn answer_for(
    k: &Kernel,
    actor: Option<&Actor>,
    round_id: &str,
    household_id: &str,
    person_id: Option<&str>,
    channel: &str,
    input: &AnswerInput,
    lang: Lang,
) -> Result<Answered> {
    let proxy = match actor {
        Some(actor) => answering_as(k, actor, household_id).await?,
        None => None,
    };
    let proxy_by = proxy.as_ref().map(|p| p.by.clone());
    let members: Vec<String> = if input.members.is_empty() {
        Vec::new()
    } else {
        kernel::store::households::members(&k.db, household_id)
            .await?
            .into_iter()
            .map(|m| m.person_id)
            .collect()
    };
    let answer = input
        .check(&members)
        .map_err(|e| Error::invalid_with(e.key, vec![("field", e.field)]))?;
    let status = answer.status.as_str().to_string();
    let effective = answer.effective().as_str().to_string();
    let recorded = crate::store::writer::writer(k)
        .submit(NewAnswer {
            round_id: round_id.to_string(),
            household_id: household_id.to_string(),
            person_id: person_id.map(str::to_string),
            proxy_by: proxy_by.clone(),
            channel: channel.to_string(),
            answer,
        })
        .await?;
    match recorded {
        Recorded::Stored { id, at } => {
            if let Some(p) = &proxy {
                kernel::store::audit::append(
                    k,
                    kernel::model::audit::AuditRecord::new(
                        Some(&p.by),
                        "safety.proxy_answer",
                        format!("safety/{round_id}"),
                    )
                    .subject(&p.watched)
                    .reason(household_id),
                )
                .await?;
            }
            Ok(Answered {
                id,
                household_id: household_id.to_string(),
                status,
                effective,
                answered_at: at,
                proxy_by,
            })
        }
        Recorded::Closed(at) => Err(Error::conflict(
            "safety-round-closed",
            vec![("time", kernel::web::render::human_time(lang, at))],
        )),
        Recorded::NotTargeted => match store::get(&k.db, round_id).await? {
            None => Err(Error::not_found("safety-round-not-found")),
            Some(_) => Err(Error::Forbidden),
        },
    }
}

/// The language an API caller reads (for times inside messages): Accept-Language, Japanese by default.
fn api_lang(headers: &HeaderMap) -> Lang {
    Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
}

#[utoipa::path(post, path = "/safety/rounds/{id}/households/{household}/answers", tag = "safety",
    request_body = AnswerInput,
    description = "One member answers for the household: `safe` (全員無事) or `help` (助けが必要), optionally each \
    member's state (`safe`/`injured`/`unknown`/`away`) with a comment. A later answer amends the earlier one. \
    Family in the watching circle of a household member may answer for it: a proxy answer (`proxy_by`).",
    responses((status = 201, body = Answered), (status = 400, description = "names the malformed field"),
              (status = 401), (status = 403, description = "`safety-not-your-household`: neither a member nor family in a circle; or the household is not asked"),
              (status = 409, description = "the round closed; says when")))]
async fn answer(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, household)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<AnswerInput>,
) -> Result<Response> {
    let person = auth.person_id()?.to_string();
    let household = if household == "mine" {
        auth.0.household_id.clone().ok_or(Error::Forbidden)?
    } else {
        household
    };
    let done = answer_for(
        &k,
        Some(&auth.0),
        &id,
        &household,
        Some(&person),
        "api",
        &input,
        api_lang(&headers),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(done)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct FollowUpView {
    /// Households that asked for help or stay silent with a 要支援者, in the asker's areas.
    pub households: Vec<FollowUp>,
    /// Households whose latest answer family gave for them (代理回答), in the asker's areas.
    pub proxy_answers: Vec<store::ProxyAnswer>,
}

pub(crate) async fn follow_up_for(k: &Kernel, actor: &Actor, round: &Round) -> Result<Vec<FollowUp>> {
    let s = scope(k, actor, round).await?;
    if s.follow_up.is_empty() {
        return Err(Error::Forbidden);
    }
    let list = store::follow_up(&k.db, &round.id, &s.follow_up).await?;
    kernel::store::audit::append(
        k,
        kernel::model::audit::AuditRecord::new(
            actor.person_id.as_deref(),
            "safety.follow_up",
            format!("safety/{}", round.id),
        )
        .reason(&format!("{} households", list.len())),
    )
    .await?;
    Ok(list)
}

#[utoipa::path(get, path = "/safety/rounds/{id}/follow-up", tag = "safety",
    responses((status = 200, body = FollowUpView), (status = 401), (status = 403), (status = 404)))]
async fn follow_up(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<FollowUpView>> {
    auth.person_id()?;
    let round = store::require(&k.db, &id).await?;
    let households = follow_up_for(&k, &auth.0, &round).await?;
    let s = scope(&k, &auth.0, &round).await?;
    Ok(Json(FollowUpView {
        households,
        proxy_answers: store::proxy_answers(&k.db, &round.id, &s.follow_up).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    pub visitor_id: String,
}

/// May the actor follow up this household, and may the visitor go there?
pub(crate) async fn check_follow_up(k: &Kernel, actor: &Actor, round_id: &str, household: &str) -> Result<String> {
    let (area, _) = store::target(&k.db, round_id, household)
        .await?
        .ok_or_else(|| Error::not_found("safety-household-not-in-round"))?;
    let area_path = kernel::store::areas::path(&k.db, Some(&area)).await?;
    if !may(actor, Action::FollowUpSafety, &Resource::Area { area_path }) {
        return Err(Error::Forbidden);
    }
    Ok(area)
}

pub(crate) async fn assign_for(
    k: &Kernel,
    actor: &Actor,
    round_id: &str,
    household: &str,
    visitor: &str,
) -> Result<()> {
    let area = check_follow_up(k, actor, round_id, household).await?;
    let area_path = kernel::store::areas::path(&k.db, Some(&area)).await?;
    if !store::visitors(&k.db, &area_path)
        .await?
        .iter()
        .any(|(id, _)| id == visitor)
    {
        return Err(Error::invalid_with(
            "safety-visitor-invalid",
            vec![("field", "visitor_id".into())],
        ));
    }
    store::assign_visit(
        k,
        round_id,
        household,
        visitor,
        actor.person_id.as_deref().unwrap_or_default(),
    )
    .await
}

#[utoipa::path(put, path = "/safety/rounds/{id}/households/{household}/visit", tag = "safety", request_body = VisitInput,
    responses((status = 204), (status = 400), (status = 403), (status = 404)))]
async fn assign_visit(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, household)): Path<(String, String)>,
    ApiJson(input): ApiJson<VisitInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    assign_for(&k, &auth.0, &id, &household, &input.visitor_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    /// `safe` (会えた・無事), `help` (支援につないだ), `absent` (不在).
    pub outcome: String,
    #[serde(default)]
    pub note: Option<String>,
}

pub(crate) const OUTCOMES: [&str; 3] = ["safe", "help", "absent"];

pub(crate) async fn outcome_for(
    k: &Kernel,
    actor: &Actor,
    round_id: &str,
    household: &str,
    input: &OutcomeInput,
) -> Result<()> {
    check_follow_up(k, actor, round_id, household).await?;
    if !OUTCOMES.contains(&input.outcome.as_str()) {
        return Err(Error::invalid_with(
            "safety-outcome-invalid",
            vec![("field", "outcome".into())],
        ));
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(Error::invalid_with(
            "safety-comment-too-long",
            vec![("field", "note".into())],
        ));
    }
    if !store::record_visit(k, round_id, household, &input.outcome, note).await? {
        return Err(Error::conflict("safety-visit-not-assigned", vec![]));
    }
    Ok(())
}

#[utoipa::path(post, path = "/safety/rounds/{id}/households/{household}/visit/outcome", tag = "safety",
    request_body = OutcomeInput, responses((status = 204), (status = 400), (status = 403), (status = 409)))]
async fn visit_outcome(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, household)): Path<(String, String)>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    outcome_for(&k, &auth.0, &id, &household, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

// Quoted, with a leading = + - @ TAB or CR neutralised so spreadsheets never run a field.
use kernel::web::csv::field as csv_field;

/// The export: per area always; per household only for the areas whose households the asker may list.
pub(crate) async fn export_for(k: &Kernel, actor: &Actor, round: &Round, lang: Lang) -> Result<String> {
    let s = scope(k, actor, round).await?;
    if s.tally.is_empty() {
        return Err(Error::Forbidden);
    }
    let mut out = String::from("\u{feff}");
    out.push_str("section,area_code,area,households,answered,safe,help,silent,rate_percent\r\n");
    for a in store::tally(&k.db, &round.id, Some(&s.tally)).await? {
        out.push_str(&format!(
            "area,{},{},{},{},{},{},{},{}\r\n",
            csv_field(&a.code),
            csv_field(&a.name),
            a.households,
            a.answered,
            a.safe,
            a.help,
            a.silent,
            a.rate
        ));
    }
    let mut listed = Vec::new();
    for area in &s.tally {
        let area_path = kernel::store::areas::path(&k.db, Some(area)).await?;
        if may(
            actor,
            kernel::model::policy::Action::ListPeople,
            &kernel::model::policy::Resource::Area { area_path },
        ) {
            listed.push(area.clone());
        }
    }
    if !listed.is_empty() {
        out.push_str(
            "section,area_code,area,household_id,household,address,status,answered_at,needs_support,answered_for_by\r\n",
        );
        for r in store::export_rows(&k.db, &round.id).await? {
            if !listed.contains(&r.area_id) {
                continue;
            }
            out.push_str(&format!(
                "household,{},{},{},{},{},{},{},{},{}\r\n",
                csv_field(&r.code),
                csv_field(&r.area),
                csv_field(&r.household_id),
                csv_field(&r.household),
                csv_field(r.address.as_deref().unwrap_or("")),
                r.status.as_deref().unwrap_or("silent"),
                csv_field(
                    &r.answered_at
                        .map(|at| kernel::web::render::human_time(lang, at))
                        .unwrap_or_default()
                ),
                r.needs_support,
                csv_field(r.proxy.as_deref().unwrap_or(""))
            ));
        }
        kernel::store::audit::append(
            k,
            kernel::model::audit::AuditRecord::new(
                actor.person_id.as_deref(),
                "safety.export",
                format!("safety/{}", round.id),
            )
            .reason(&format!("{} areas with households", listed.len())),
        )
        .await?;
    }
    Ok(out)
}

#[utoipa::path(get, path = "/safety/rounds/{id}/export.csv", tag = "safety",
    description = "Results by area; with the households' names and states only for areas whose households the asker may list.",
    responses((status = 200, content_type = "text/csv"), (status = 403), (status = 404)))]
async fn export_csv(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    auth.person_id()?;
    let round = store::require(&k.db, &id).await?;
    Ok(csv_response(
        &id,
        export_for(&k, &auth.0, &round, api_lang(&headers)).await?,
    ))
}

/// The export as a download named after the round.
pub(crate) fn csv_response(round_id: &str, csv: String) -> Response {
    let disposition = format!("attachment; filename=\"safety-{round_id}.csv\"");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response()
}

/// A device's button (`safety:<round>:safe` or `…:help` on `machi/acks/<device>`) answers for
/// the household of the device's person. Returns whether it was recorded.
pub async fn device_answer(k: &Kernel, device: &str, payload: &str) -> Result<bool> {
    let mut parts = payload.splitn(3, ':');
    let (Some("safety"), Some(round), Some(status)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(false);
    };
    let Some(li) = kernel::store::identifiers::lookup(&k.db, "device", device).await? else {
        return Ok(false);
    };
    let Some(household) = kernel::store::people::household_of(&k.db, &li.person_id).await? else {
        return Ok(false);
    };
    let input = AnswerInput {
        status: status.trim().to_string(),
        ..Default::default()
    };
    match answer_for(
        k,
        None,
        round,
        &household,
        Some(&li.person_id),
        "mqtt",
        &input,
        Lang::Ja,
    )
    .await
    {
        Ok(_) => Ok(true),
        Err(Error::Invalid { .. } | Error::Conflict { .. } | Error::Forbidden | Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
