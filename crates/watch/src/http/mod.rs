//! The watch JSON API: circles (with consent), members and the ladder, rules, devices and
//! their tokens, signals from devices (HTTP; MQTT arrives through `service::signals::mqtt_signal`) and the
//! 「元気です」 check-in, escalations (acknowledge, outcome), trainings, listening schedules,
//! the contact allow-list and held messages. The browser pages are in `pages`; both parse, call
//! the use cases in `crate::service` and respond.
//!
//! Every read of a circle by someone other than the watched person is audited with the
//! person as subject, so it shows on their my page.

pub mod pages;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::http::Auth;
use kernel::http::extract::ApiJson;
use kernel::{Error, Kernel, Result};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::rule::RuleInput;
use crate::model::signal::SignalInput;
use crate::service::access::access;
use crate::service::circles::{
    CircleInput, CircleSummary, CircleView, DeviceInput, DeviceToken, MemberInput, SettingsInput, add_device_for,
    add_rule_for, circles_for, close_for, consent_for, create_for, put_member_for, remove_device_for,
    remove_member_for, remove_rule_for, settings_for, view_for,
};
use crate::service::contacts::{DecisionInput, MessageInput, Sent, contact_for, decide_for, send_for};
use crate::service::escalations::{OutcomeInput, acknowledge_for, outcome_for};
use crate::service::listening::{LogInput, ScheduleInput, TrainingInput, log_for, schedule_for, training_for};
use crate::service::signals::{broker_state, own_signal, token_signal};
use crate::store::{Circle, Escalation, StoredRule, Training};

pub fn api() -> OpenApiRouter<Kernel> {
    OpenApiRouter::new()
        .routes(routes!(list_circles, create_circle))
        .routes(routes!(get_circle, update_circle))
        .routes(routes!(consent))
        .routes(routes!(put_member, remove_member))
        .routes(routes!(add_rule))
        .routes(routes!(remove_rule))
        .routes(routes!(add_device))
        .routes(routes!(remove_device))
        .routes(routes!(close_circle))
        .routes(routes!(device_signal))
        .routes(routes!(checkin))
        .routes(routes!(acknowledge))
        .routes(routes!(outcome))
        .routes(routes!(record_training))
        .routes(routes!(add_schedule))
        .routes(routes!(log_schedule))
        .routes(routes!(put_contact, remove_contact))
        .routes(routes!(send_message))
        .routes(routes!(decide_message))
        .routes(routes!(status))
}

// ---- access ----

// ---- circles ----

#[utoipa::path(post, path = "/watch/circles", tag = "watch", request_body = CircleInput,
    description = "Start a watch-over circle around a person (oneself, or someone found by id or by name and birth date). \
    Someone else's circle watches nothing until the person (or their guardian) consents.",
    responses((status = 201, body = Circle), (status = 400), (status = 401), (status = 409, description = "the person has a circle")))]
async fn create_circle(State(k): State<Kernel>, auth: Auth, ApiJson(input): ApiJson<CircleInput>) -> Result<Response> {
    auth.person_id()?;
    let c = create_for(&k, &auth.0, &input).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

#[utoipa::path(get, path = "/watch/circles", tag = "watch",
    description = "The asker's own circle, the circles they are a member of, and for the welfare desk every circle.",
    responses((status = 200, body = [CircleSummary]), (status = 401)))]
async fn list_circles(State(k): State<Kernel>, auth: Auth) -> Result<Json<Vec<CircleSummary>>> {
    auth.person_id()?;
    Ok(Json(circles_for(&k, &auth.0).await?))
}

#[utoipa::path(get, path = "/watch/circles/{id}", tag = "watch",
    description = "Members, the welfare desk and the person see the circle; anyone else gets 403 and learns nothing. Audited.",
    responses((status = 200, body = CircleView), (status = 401), (status = 403)))]
async fn get_circle(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<CircleView>> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    Ok(Json(view_for(&k, &auth.0, &a).await?))
}

#[utoipa::path(patch, path = "/watch/circles/{id}", tag = "watch", request_body = SettingsInput,
    responses((status = 200, body = Circle), (status = 400), (status = 403)))]
async fn update_circle(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<SettingsInput>,
) -> Result<Json<Circle>> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    Ok(Json(settings_for(&k, &auth.0, &a, &input).await?))
}

#[utoipa::path(post, path = "/watch/circles/{id}/consent", tag = "watch",
    description = "The watched person, or their guardian, consents: the consent is recorded and watching begins.",
    responses((status = 200, body = Circle), (status = 403)))]
async fn consent(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Circle>> {
    auth.person_id()?;
    Ok(Json(consent_for(&k, &auth.0, &id).await?))
}

#[utoipa::path(put, path = "/watch/circles/{id}/members/{person}", tag = "watch", request_body = MemberInput,
    description = "Add or change a member. Putting a supporter or listening volunteer on the ladder needs their valid privacy training (400 says why).",
    responses((status = 204), (status = 400), (status = 403)))]
async fn put_member(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, person)): Path<(String, String)>,
    ApiJson(input): ApiJson<MemberInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    put_member_for(&k, &auth.0, &a, &person, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/watch/circles/{id}/members/{person}", tag = "watch",
    responses((status = 204), (status = 403), (status = 404)))]
async fn remove_member(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, person)): Path<(String, String)>,
) -> Result<StatusCode> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    remove_member_for(&k, &auth.0, &a, &person).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- rules and devices ----

#[utoipa::path(post, path = "/watch/circles/{id}/rules", tag = "watch", request_body = RuleInput,
    description = "A rule: `period` (a signal every period_minutes + grace), `daily` (「元気です」 by `due` + grace), \
    `on_too_long` (a device on for limit_minutes inside `window`). Grace 0 or a period over 7 days is refused with a message.",
    responses((status = 201, body = StoredRule), (status = 400), (status = 403)))]
async fn add_rule(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<RuleInput>,
) -> Result<Response> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    let r = add_rule_for(&k, &auth.0, &a, &input).await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

#[utoipa::path(delete, path = "/watch/circles/{id}/rules/{rule}", tag = "watch",
    responses((status = 204), (status = 403), (status = 404)))]
async fn remove_rule(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, rule)): Path<(String, String)>,
) -> Result<StatusCode> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    remove_rule_for(&k, &auth.0, &a, &rule).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/watch/circles/{id}/devices", tag = "watch", request_body = DeviceInput,
    responses((status = 201, body = DeviceToken), (status = 400), (status = 403), (status = 409)))]
async fn add_device(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DeviceInput>,
) -> Result<Response> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    let t = add_device_for(&k, &auth.0, &a, &input).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

#[utoipa::path(delete, path = "/watch/circles/{id}/devices/{device}", tag = "watch",
    description = "Retire a device: its token stops working at once and its identifier is unlinked.",
    responses((status = 204), (status = 403), (status = 404)))]
async fn remove_device(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, device)): Path<(String, String)>,
) -> Result<StatusCode> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    remove_device_for(&k, &auth.0, &a, &device).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/watch/circles/{id}/close", tag = "watch",
    description = "The watched person (or the welfare desk) ends the circle; open calls end with it.",
    responses((status = 204), (status = 403)))]
async fn close_circle(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode> {
    auth.person_id()?;
    close_for(&k, &auth.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- signals ----

#[utoipa::path(post, path = "/watch/signals", tag = "watch", request_body = SignalInput,
    description = "A device reports (bulb on/off, door, kettle, motion) with `Authorization: Bearer <device token>`. \
    Unknown token → 401; a time far in the future → 400; a person not (yet) watched → 409, nothing kept.",
    responses((status = 202), (status = 400), (status = 401), (status = 409)))]
async fn device_signal(State(k): State<Kernel>, headers: HeaderMap, body: axum::body::Bytes) -> Result<StatusCode> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::unauthorized("watch-device-unknown"))?;
    let input: SignalInput = if body.iter().all(u8::is_ascii_whitespace) {
        SignalInput::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| Error::invalid_with("bad-json", vec![("detail", e.to_string())]))?
    };
    token_signal(&k, token, &input).await?;
    Ok(StatusCode::ACCEPTED)
}

#[utoipa::path(post, path = "/watch/checkin", tag = "watch",
    description = "「元気です」: the watched person says they are well. 409 when they are not watched.",
    responses((status = 204), (status = 401), (status = 409)))]
async fn checkin(State(k): State<Kernel>, auth: Auth) -> Result<StatusCode> {
    let me = auth.person_id()?.to_string();
    if own_signal(&k, &me, "checkin").await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::conflict("watch-not-watched", vec![]))
    }
}

// ---- escalations ----

#[utoipa::path(post, path = "/watch/escalations/{id}/acknowledge", tag = "watch",
    description = "「今から訪問します」: stops the ladder. 409 names who is already on their way; 400 when the training gate refuses.",
    responses((status = 200, body = Escalation), (status = 400), (status = 403), (status = 409)))]
async fn acknowledge(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Escalation>> {
    auth.person_id()?;
    Ok(Json(acknowledge_for(&k, &auth.0, &id).await?))
}

#[utoipa::path(post, path = "/watch/escalations/{id}/outcome", tag = "watch", request_body = OutcomeInput,
    responses((status = 204), (status = 400), (status = 403), (status = 409)))]
async fn outcome(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<OutcomeInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    outcome_for(&k, &auth.0, &id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- trainings and listening schedules ----

#[utoipa::path(post, path = "/watch/trainings", tag = "watch", request_body = TrainingInput,
    description = "The welfare desk records a supporter's or volunteer's privacy training.",
    responses((status = 201, body = Training), (status = 400), (status = 403)))]
async fn record_training(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<TrainingInput>,
) -> Result<Response> {
    auth.person_id()?;
    let t = training_for(&k, &auth.0, &input).await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

#[derive(Serialize, ToSchema)]
pub struct Created {
    pub id: String,
}

#[utoipa::path(post, path = "/watch/circles/{id}/schedules", tag = "watch", request_body = ScheduleInput,
    description = "A recurring call or visit by a listening volunteer; refused (400, saying why) without a valid privacy training.",
    responses((status = 201, body = Created), (status = 400), (status = 403)))]
async fn add_schedule(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ScheduleInput>,
) -> Result<Response> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    let id = schedule_for(&k, &auth.0, &a, &input).await?;
    Ok((StatusCode::CREATED, Json(Created { id })).into_response())
}

#[utoipa::path(post, path = "/watch/schedules/{id}/log", tag = "watch", request_body = LogInput,
    responses((status = 204), (status = 400), (status = 403)))]
async fn log_schedule(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<LogInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    log_for(&k, &auth.0, &id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- contacts and messages ----

#[utoipa::path(put, path = "/watch/circles/{id}/contacts/{person}", tag = "watch",
    description = "The guardian adds someone to the person's allow-list; the person and the guardian are told.",
    responses((status = 204), (status = 400), (status = 403)))]
async fn put_contact(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, person)): Path<(String, String)>,
) -> Result<StatusCode> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    contact_for(&k, &auth.0, &a, &person, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/watch/circles/{id}/contacts/{person}", tag = "watch",
    responses((status = 204), (status = 403)))]
async fn remove_contact(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, person)): Path<(String, String)>,
) -> Result<StatusCode> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    contact_for(&k, &auth.0, &a, &person, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/watch/messages", tag = "watch", request_body = MessageInput,
    description = "A message to a person's terminal. For a watched person, a sender not on their allow-list is held for the guardian.",
    responses((status = 201, body = Sent), (status = 400), (status = 401), (status = 403)))]
async fn send_message(State(k): State<Kernel>, auth: Auth, ApiJson(input): ApiJson<MessageInput>) -> Result<Response> {
    auth.person_id()?;
    let s = send_for(&k, &auth.0, &input).await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

#[utoipa::path(post, path = "/watch/messages/{id}/decision", tag = "watch", request_body = DecisionInput,
    description = "The guardian approves (the terminal shows it) or rejects a held message.",
    responses((status = 204), (status = 403), (status = 409)))]
async fn decide_message(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> Result<StatusCode> {
    auth.person_id()?;
    decide_for(&k, &auth.0, &id, &input).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct WatchStatus {
    /// `connected`, `unreachable`, or `not_configured`: device signals over MQTT need it; HTTP does not.
    pub mqtt_broker: String,
}

#[utoipa::path(get, path = "/watch/status", tag = "watch",
    responses((status = 200, body = WatchStatus), (status = 401)))]
async fn status(State(k): State<Kernel>, auth: Auth) -> Result<Json<WatchStatus>> {
    auth.person_id()?;
    Ok(Json(WatchStatus {
        mqtt_broker: broker_state(&k).into(),
    }))
}
