//! The aid JSON API: supporters' profiles and certifications, requests and suggestions (with
//! the reason for each), invitations and broadcasts, offers, acceptance (409 names who was
//! first), fee changes both confirm, done / no-show / cancel, settlement and receipt, reviews
//! both ways, reports, blocks and 「知り合い」 links, and the coordinator's queue. The browser
//! pages are in `pages`.

pub mod pages;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::http::Auth;
use kernel::http::extract::ApiJson;
use kernel::i18n::Lang;
use kernel::{Kernel, Result};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::RequestInput;
use crate::service::activity::{
    ActInput, ReportInput, ReviewInput, SettleInput, act_for, report_for, review_for, settle_for,
};
use crate::service::coordinator::{QueueItem, coordinator_suggest_for, queue_for};
use crate::service::offers::{
    FeeInput, OfferInput, accept_for, confirm_fee_for, offer_for, propose_fee_for, withdraw_for,
};
use crate::service::profiles::{
    CertificationInput, LinkState, ProfileInput, block_for, certify_for, link_for, profile_of, put_profile_for,
};
use crate::service::requests::{
    AudienceInput, MyAid, RequestView, SuggestionView, SupporterRef, broadcast_for, create_for, invite_for, mine_for,
    suggestions_by_id, view_by_id,
};
use crate::store::{self, Request, Settlement, Supporter};

pub fn api() -> OpenApiRouter<Kernel> {
    OpenApiRouter::new()
        .routes(routes!(get_profile, put_profile))
        .routes(routes!(add_certification))
        .routes(routes!(list_requests, create_request))
        .routes(routes!(get_request))
        .routes(routes!(suggestions))
        .routes(routes!(invite))
        .routes(routes!(broadcast))
        .routes(routes!(offer))
        .routes(routes!(withdraw))
        .routes(routes!(accept))
        .routes(routes!(propose_fee))
        .routes(routes!(confirm_fee))
        .routes(routes!(act))
        .routes(routes!(settle))
        .routes(routes!(review))
        .routes(routes!(report))
        .routes(routes!(link))
        .routes(routes!(block))
        .routes(routes!(queue))
        .routes(routes!(coordinator_suggest))
}

#[utoipa::path(put, path = "/aid/supporters/me", tag = "aid", request_body = ProfileInput,
    description = "Offer help: categories, skills, radius, weekly availability, insurance, languages.",
    responses((status = 200, body = Supporter), (status = 400), (status = 401)))]
async fn put_profile(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<ProfileInput>,
) -> Result<Json<Supporter>> {
    auth.person_id()?;
    Ok(Json(put_profile_for(&k, &auth.0, &input).await?))
}

#[utoipa::path(get, path = "/aid/supporters/me", tag = "aid",
    responses((status = 200, body = Supporter), (status = 401), (status = 404)))]
async fn get_profile(State(k): State<Kernel>, auth: Auth) -> Result<Json<Supporter>> {
    let me = auth.person_id()?.to_string();
    Ok(Json(profile_of(&k, &me).await?))
}

#[utoipa::path(post, path = "/aid/certifications", tag = "aid", request_body = CertificationInput,
    description = "The coordinator records a supporter's certification (e.g. the childcare supporter course).",
    responses((status = 201, body = store::Certification), (status = 400), (status = 403)))]
async fn add_certification(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<CertificationInput>,
) -> Result<Response> {
    auth.person_id()?;
    let c = certify_for(&k, &auth.0, &input).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

#[utoipa::path(post, path = "/aid/requests", tag = "aid", request_body = RequestInput,
    description = "Ask for help. A fee outside the town's range → 400 with the range; a time in the past → 400.",
    responses((status = 201, body = Request), (status = 400), (status = 401)))]
async fn create_request(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<RequestInput>,
) -> Result<Response> {
    auth.person_id()?;
    let r = create_for(&k, &auth.0, &input).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

#[utoipa::path(get, path = "/aid/requests/{id}", tag = "aid",
    responses((status = 200, body = RequestView), (status = 403), (status = 404)))]
async fn get_request(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<RequestView>> {
    auth.person_id()?;
    Ok(Json(view_by_id(&k, &auth.0, &id).await?.1))
}

#[utoipa::path(get, path = "/aid/requests", tag = "aid",
    responses((status = 200, body = MyAid), (status = 401)))]
async fn list_requests(State(k): State<Kernel>, auth: Auth) -> Result<Json<MyAid>> {
    auth.person_id()?;
    Ok(Json(mine_for(&k, &auth.0).await?))
}

#[utoipa::path(get, path = "/aid/requests/{id}/suggestions", tag = "aid",
    description = "The best supporters for the request, acquaintances first, each with why.",
    responses((status = 200, body = [SuggestionView]), (status = 403), (status = 404)))]
async fn suggestions(
    State(k): State<Kernel>,
    auth: Auth,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Vec<SuggestionView>>> {
    auth.person_id()?;
    let lang = Lang::from_accept_language(headers.get("accept-language").and_then(|v| v.to_str().ok()));
    Ok(Json(suggestions_by_id(&k, &auth.0, &id, lang).await?))
}

#[utoipa::path(post, path = "/aid/requests/{id}/invite", tag = "aid", request_body = SupporterRef,
    description = "Ask one suggested supporter. 403 with the reason if they may not take it (e.g. no childcare certification).",
    responses((status = 204), (status = 403), (status = 409)))]
async fn invite(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SupporterRef>,
) -> Result<StatusCode> {
    auth.person_id()?;
    invite_for(&k, &auth.0, &id, &input.supporter_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/aid/requests/{id}/audience", tag = "aid", request_body = AudienceInput,
    responses((status = 204), (status = 400), (status = 403)))]
async fn broadcast(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AudienceInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    broadcast_for(&k, &auth.0, &id, &input.audience).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/aid/requests/{id}/offer", tag = "aid", request_body = OfferInput,
    description = "A supporter offers. 403 with the reason when they may not (an uncertified supporter on a childcare request).",
    responses((status = 204), (status = 403), (status = 409)))]
async fn offer(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OfferInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    offer_for(&k, &auth.0, &id, input.message.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/aid/requests/{id}/withdraw", tag = "aid",
    description = "A supporter takes back their offer while the request is not yet accepted; it is open again if it was the last offer. 409 once accepted, or without an offer.",
    responses((status = 204), (status = 403), (status = 409)))]
async fn withdraw(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode> {
    auth.person_id()?;
    withdraw_for(&k, &auth.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/aid/requests/{id}/accept", tag = "aid", request_body = SupporterRef,
    description = "The requester accepts an offer. Already accepted → 409 naming who was first.",
    responses((status = 200, body = Request), (status = 403), (status = 409)))]
async fn accept(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SupporterRef>,
) -> Result<Json<Request>> {
    auth.person_id()?;
    Ok(Json(accept_for(&k, &auth.0, &id, &input.supporter_id).await?))
}

#[utoipa::path(post, path = "/aid/requests/{id}/fee", tag = "aid", request_body = FeeInput,
    description = "Propose a different fee; it applies once the other party confirms.",
    responses((status = 204), (status = 400), (status = 403), (status = 409)))]
async fn propose_fee(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FeeInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    propose_fee_for(&k, &auth.0, &id, input.fee_per_hour).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/aid/requests/{id}/fee/confirm", tag = "aid", request_body = FeeInput,
    description = "The other party confirms the proposed fee (naming it, so a changed proposal is not agreed to unseen).",
    responses((status = 204), (status = 403), (status = 409)))]
async fn confirm_fee(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<FeeInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    confirm_fee_for(&k, &auth.0, &id, input.fee_per_hour).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/aid/requests/{id}/state", tag = "aid", request_body = ActInput,
    responses((status = 200, body = Request), (status = 400), (status = 403), (status = 409)))]
async fn act(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ActInput>,
) -> Result<Json<Request>> {
    auth.person_id()?;
    Ok(Json(act_for(&k, &auth.0, &id, &input.action).await?))
}

#[utoipa::path(post, path = "/aid/requests/{id}/settlement", tag = "aid", request_body = SettleInput,
    description = "Record how it was paid: cash, bank transfer or an external payment reference. The receipt is then on both sides' pages.",
    responses((status = 201, body = Settlement), (status = 400), (status = 403), (status = 409)))]
async fn settle(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SettleInput>,
) -> Result<Response> {
    auth.person_id()?;
    let s = settle_for(&k, &auth.0, &id, &input).await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

#[utoipa::path(post, path = "/aid/requests/{id}/reviews", tag = "aid", request_body = ReviewInput,
    description = "Review the other party, both ways, once the help was done. Before completion → 400.",
    responses((status = 201), (status = 400), (status = 403), (status = 409)))]
async fn review(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    review_for(&k, &auth.0, &id, &input).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(post, path = "/aid/requests/{id}/report", tag = "aid", request_body = ReportInput,
    description = "Report the other party to the coordinator (and optionally block them).",
    responses((status = 204), (status = 400), (status = 403)))]
async fn report(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ReportInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    report_for(&k, &auth.0, &id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/aid/links/{person}", tag = "aid",
    description = "Say someone is 「知り合い」; it counts for matching once they say it back.",
    responses((status = 200, body = LinkState), (status = 400), (status = 401)))]
async fn link(State(k): State<Kernel>, auth: Auth, Path(person): Path<String>) -> Result<Json<LinkState>> {
    let me = auth.person_id()?.to_string();
    Ok(Json(link_for(&k, &me, &person).await?))
}

#[utoipa::path(post, path = "/aid/blocks/{person}", tag = "aid",
    description = "Block someone: never matched with me, either way.",
    responses((status = 204), (status = 401)))]
async fn block(State(k): State<Kernel>, auth: Auth, Path(person): Path<String>) -> Result<StatusCode> {
    let me = auth.person_id()?.to_string();
    block_for(&k, &me, &person).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/aid/coordinator/queue", tag = "aid",
    responses((status = 200, body = [QueueItem]), (status = 403)))]
async fn queue(State(k): State<Kernel>, auth: Auth, headers: axum::http::HeaderMap) -> Result<Json<Vec<QueueItem>>> {
    auth.person_id()?;
    let lang = Lang::from_accept_language(headers.get("accept-language").and_then(|v| v.to_str().ok()));
    Ok(Json(queue_for(&k, &auth.0, lang).await?))
}

#[utoipa::path(post, path = "/aid/requests/{id}/coordinator-suggestion", tag = "aid", request_body = SupporterRef,
    description = "The coordinator suggests a supporter for an unmatched request (the supporter is invited; both are told).",
    responses((status = 204), (status = 403), (status = 409)))]
async fn coordinator_suggest(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SupporterRef>,
) -> Result<StatusCode> {
    auth.person_id()?;
    coordinator_suggest_for(&k, &auth.0, &id, &input.supporter_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
