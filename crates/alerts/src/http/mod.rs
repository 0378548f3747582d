//! The alerts JSON API: CAP in (`POST /alerts`), CAP or JSON out, active alerts per area as
//! JSON and as plain text for cable-TV tickers; and the live stream to terminals (`pages`).

pub mod home;
pub mod pages;
pub mod screens;
pub mod staff;

use crate::policy::{Action, Resource};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::http::Auth;
use kernel::i18n::{Lang, t};
use kernel::{Error, Kernel, Result};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::cap;
use crate::service::report::{self, Report};
use crate::service::{acknowledge, in_force, publish, sources};
use crate::store::StoredAlert;

pub fn api() -> OpenApiRouter<Kernel> {
    OpenApiRouter::new()
        .routes(routes!(recent_alerts, post_alert))
        .routes(routes!(get_alert))
        .routes(routes!(ack_alert))
        .routes(routes!(alert_report))
        .routes(routes!(area_alerts))
        .routes(routes!(area_ticker))
        .routes(routes!(area_feed))
        .routes(routes!(cap_feed))
}

fn feed_entry(a: &StoredAlert, lang: Lang) -> crate::model::feed::Entry {
    let updated = cap::CapTime::from_unix_ms_jst(a.created_at).as_str().to_string();
    let title = a.headline.clone().unwrap_or_else(|| a.event.clone());
    crate::model::feed::Entry {
        id: format!("urn:machi:alert:{}", a.id),
        title: crate::model::feed::drill_title(&title, a.status == "Exercise", &t(lang, "ticker-drill", &[])),
        updated,
        published: Some(a.sent.clone()),
        summary: Some(format!("{} / {} / {}", a.msg_type, a.severity, a.event)),
        content: None,
        link: format!("/api/v1/alerts/{}", a.id),
        cap_link: Some(format!("/api/v1/alerts/{}", a.id)),
        categories: vec![a.category.clone(), a.status.clone()],
    }
}

fn atom_response(feed: &crate::model::feed::Feed) -> Response {
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        crate::model::feed::to_atom(feed),
    )
        .into_response()
}

#[utoipa::path(get, path = "/areas/{code}/alerts.atom", tag = "alerts",
    responses((status = 200, description = "Atom feed of the alerts that reached the area", content_type = "application/atom+xml"), (status = 404)))]
async fn area_feed(State(k): State<Kernel>, headers: HeaderMap, Path(code): Path<String>) -> Result<Response> {
    let lang = Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let (area, alerts) = sources::of_area(&k, &code, 50).await?;
    let feed = crate::model::feed::Feed {
        id: format!("urn:machi:area:{}:alerts", area.code),
        title: format!("{} — {}", area.name, t(lang, "feed-title", &[])),
        self_url: format!("/api/v1/areas/{}/alerts.atom", area.code),
        updated: cap::CapTime::from_unix_ms_jst(alerts.first().map(|a| a.created_at).unwrap_or_else(|| k.now()))
            .as_str()
            .to_string(),
        author: t(lang, "feed-author", &[]),
        entries: alerts.iter().map(|a| feed_entry(a, lang)).collect(),
    };
    Ok(atom_response(&feed))
}

#[utoipa::path(get, path = "/alerts/cap.atom", tag = "alerts",
    responses((status = 200, description = "Atom feed whose entries link to CAP 1.2 documents, for relays", content_type = "application/atom+xml")))]
async fn cap_feed(State(k): State<Kernel>, headers: HeaderMap) -> Result<Response> {
    let lang = Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let alerts = sources::recent(&k, 100).await?;
    let feed = crate::model::feed::Feed {
        id: "urn:machi:alerts:cap".into(),
        title: t(lang, "feed-cap-title", &[]),
        self_url: "/api/v1/alerts/cap.atom".into(),
        updated: cap::CapTime::from_unix_ms_jst(alerts.first().map(|a| a.created_at).unwrap_or_else(|| k.now()))
            .as_str()
            .to_string(),
        author: t(lang, "feed-author", &[]),
        entries: alerts.iter().map(|a| feed_entry(a, lang)).collect(),
    };
    Ok(atom_response(&feed))
}

/// An alert with the areas it reaches, as the API returns it.
#[derive(Serialize, ToSchema)]
struct AlertView {
    #[serde(flatten)]
    alert: StoredAlert,
    /// Codes of the town's areas (町丁目) the alert reaches.
    areas: Vec<String>,
    /// Groups the alert is limited to within its areas (`needs-support`, `association:<id>`).
    groups: Vec<String>,
    drill: bool,
}

async fn view(k: &Kernel, alert: StoredAlert) -> Result<AlertView> {
    let (areas, groups) = sources::reach_of(k, &alert.id).await?;
    Ok(AlertView {
        areas,
        groups,
        drill: alert.status == "Exercise",
        alert,
    })
}

fn wants_cap(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/cap+xml") || a.contains("application/xml"))
}

#[utoipa::path(post, path = "/alerts", tag = "alerts",
    request_body(content = String, content_type = "application/cap+xml", description = "A CAP 1.2 alert"),
    responses((status = 201, description = "stored; Location names it", body = AlertView),
              (status = 200, description = "the same sender + identifier was stored before", body = AlertView),
              (status = 400, description = "not valid CAP: names the element and the rule"),
              (status = 403), (status = 413), (status = 415)))]
async fn post_alert(State(k): State<Kernel>, auth: Auth, headers: HeaderMap, body: Bytes) -> Result<Response> {
    auth.require(Action::PublishAlerts, &Resource::Town)?;
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !["application/cap+xml", "application/xml", "text/xml"]
        .iter()
        .any(|c| ctype.starts_with(c))
    {
        return Ok((StatusCode::UNSUPPORTED_MEDIA_TYPE, Error::invalid("cap-content-type")).into_response());
    }
    let xml = std::str::from_utf8(&body).map_err(|_| {
        Error::invalid_with(
            "cap-invalid",
            vec![("element", "xml".into()), ("rule", "the body is not UTF-8".into())],
        )
    })?;
    let (stored, created) = publish::publish_cap(&k, &auth.0, xml).await?;
    let location = format!("/api/v1/alerts/{}", stored.id);
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let mut res = (status, axum::Json(view(&k, stored).await?)).into_response();
    res.headers_mut().insert(
        header::LOCATION,
        HeaderValue::from_str(&location).map_err(|e| Error::Internal(e.to_string()))?,
    );
    Ok(res)
}

#[utoipa::path(post, path = "/alerts/{id}/ack", tag = "alerts",
    description = "A device or app acknowledges an alert for the token's person (「確認しました」).",
    responses((status = 204), (status = 401), (status = 404)))]
async fn ack_alert(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode> {
    let person = auth.person_id()?.to_string();
    acknowledge::acknowledge(&k, &person, &id, "device").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/alerts/{id}/report", tag = "alerts",
    description = "The drill report: per area and channel targeted, delivered, acknowledged and the median time to \
    acknowledge. Staff with the alerts duty see every area and the delivery failures; an officer sees their own \
    areas and the households there nobody in which has acknowledged.",
    responses((status = 200, body = Report), (status = 401), (status = 403), (status = 404)))]
async fn alert_report(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<axum::Json<Report>> {
    auth.person_id()?;
    Ok(axum::Json(report::report_for(&k, &auth.0, &id).await?))
}

#[utoipa::path(get, path = "/alerts", tag = "alerts", responses((status = 200, body = [StoredAlert])))]
async fn recent_alerts(State(k): State<Kernel>) -> Result<axum::Json<Vec<StoredAlert>>> {
    Ok(axum::Json(sources::recent(&k, 100).await?))
}

#[utoipa::path(get, path = "/alerts/{id}", tag = "alerts",
    responses((status = 200, description = "JSON, or CAP 1.2 XML with Accept: application/cap+xml", body = AlertView),
              (status = 404)))]
async fn get_alert(State(k): State<Kernel>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response> {
    let alert = sources::require(&k, &id).await?;
    if wants_cap(&headers) {
        let xml = sources::cap_xml(&k, &id).await?;
        return Ok(([(header::CONTENT_TYPE, "application/cap+xml; charset=utf-8")], xml).into_response());
    }
    Ok(axum::Json(view(&k, alert).await?).into_response())
}

#[utoipa::path(get, path = "/areas/{code}/alerts", tag = "alerts",
    responses((status = 200, description = "alerts in force for the area, most severe first", body = [StoredAlert]), (status = 404)))]
async fn area_alerts(State(k): State<Kernel>, Path(code): Path<String>) -> Result<axum::Json<Vec<StoredAlert>>> {
    Ok(axum::Json(in_force::active(&k, &code).await?))
}

#[utoipa::path(get, path = "/areas/{code}/alerts.txt", tag = "alerts",
    responses((status = 200, description = "one line per alert in force, for cable-TV tickers", content_type = "text/plain"), (status = 404)))]
async fn area_ticker(State(k): State<Kernel>, headers: HeaderMap, Path(code): Path<String>) -> Result<Response> {
    let code = code.strip_suffix(".txt").unwrap_or(&code).to_string();
    let lang = Lang::from_accept_language(headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
    let alerts = in_force::active(&k, &code).await?;
    let mut text = String::new();
    for a in &alerts {
        if a.status == "Exercise" {
            text.push_str(&t(lang, "ticker-drill", &[]));
        }
        text.push_str(a.headline.as_deref().unwrap_or(&a.event));
        text.push('\n');
    }
    if alerts.is_empty() {
        text.push_str(&t(lang, "ticker-none", &[]));
        text.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
}
