//! The safety JSON API: start and close rounds, answer for one's household, tallies per area
//! (officers: their areas; city staff: all; residents of the round: the counts only),
//! follow-up lists and visits, and the CSV export. The browser pages are in `pages`.

pub mod home;
pub mod pages;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::http::{ApiJson, Auth};
use kernel::i18n::Lang;
use kernel::{Error, Kernel, Result};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::answer::AnswerInput;
use crate::service::answers::{self, Answered};
use crate::service::export;
use crate::service::follow_up::{self, FollowUpView, OutcomeInput, VisitInput};
use crate::service::rounds::{self, RoundView, StartInput};
use crate::store::Round;

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

#[utoipa::path(post, path = "/safety/rounds", tag = "safety", request_body = StartInput,
    responses((status = 201, body = Round), (status = 400), (status = 401), (status = 403)))]
async fn start_round(State(k): State<Kernel>, auth: Auth, ApiJson(input): ApiJson<StartInput>) -> Result<Response> {
    auth.person_id()?;
    let round = rounds::start_for(&k, &auth.0, &input.area, &input.title).await?;
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
    Ok(Json(rounds::visible_rounds(&k, &auth.0).await?))
}

#[utoipa::path(get, path = "/safety/rounds/{id}", tag = "safety",
    responses((status = 200, body = RoundView), (status = 401), (status = 403), (status = 404)))]
async fn get_round(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<RoundView>> {
    auth.person_id()?;
    let round = rounds::require(&k, &id).await?;
    Ok(Json(rounds::view_for(&k, &auth.0, round).await?.0))
}

#[utoipa::path(post, path = "/safety/rounds/{id}/close", tag = "safety",
    responses((status = 200, body = Round), (status = 403), (status = 404)))]
async fn close_round(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Round>> {
    auth.person_id()?;
    Ok(Json(rounds::close_for(&k, &auth.0, &id).await?))
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
    let done = answers::answer_for(
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

#[utoipa::path(get, path = "/safety/rounds/{id}/follow-up", tag = "safety",
    responses((status = 200, body = FollowUpView), (status = 401), (status = 403), (status = 404)))]
async fn follow_up(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<FollowUpView>> {
    auth.person_id()?;
    let round = rounds::require(&k, &id).await?;
    Ok(Json(follow_up::view_for(&k, &auth.0, &round).await?))
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
    follow_up::assign_for(&k, &auth.0, &id, &household, &input.visitor_id).await?;
    Ok(StatusCode::NO_CONTENT)
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
    follow_up::outcome_for(&k, &auth.0, &id, &household, &input).await?;
    Ok(StatusCode::NO_CONTENT)
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
    let round = rounds::require(&k, &id).await?;
    Ok(csv_response(
        &id,
        export::export_for(&k, &auth.0, &round, api_lang(&headers)).await?,
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
