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
use crate::store::{self, StoredAlert};

pub fn router() -> Router<Kernel> {
    Router::new()
        .route("/alerts/events", get(events))
        .route("/alerts/{id}/ack", post(acknowledge))
}

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
}

fn screen_alert(stored: &StoredAlert, alert: &cap::Alert) -> ScreenAlert {
    let s = summary(alert);
    ScreenAlert {
        id: stored.id.clone(),
        msg_type: stored.msg_type.clone(),
        drill: is_drill(alert),
        takes_over: alert.status == cap::Status::Actual && matches!(s.severity.as_str(), "Severe" | "Extreme"),
        severity: s.severity,
        event: s.event,
        headline: s.headline,
        description: s.description,
        instruction: s.instruction,
        refers_to: stored.refers_to.clone(),
    }
}

/// Tell connected screens about a newly stored alert (or its Update / Cancel).
pub async fn announce(k: &Kernel, stored: &StoredAlert, alert: &cap::Alert) -> Result<()> {
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

async fn events(
    State(k): State<Kernel>,
    v: Viewer,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = std::result::Result<SseEvent, Infallible>>>> {
    let (watch, acked): (HashSet<String>, HashSet<String>) = match (&v.person, &q.area) {
        (_, Some(area)) => (super::leaves(&k, area).await?.into_iter().collect(), HashSet::new()),
        (Some(p), None) => (
            p.area_id.iter().cloned().collect(),
            store::acknowledged_by(&k.db, &p.id).await?.into_iter().collect(),
        ),
        (None, None) => return Err(v.require_login().map(|_| ()).unwrap_err()),
    };
    // Subscribe before reading the catch-up, so nothing published in between is lost.
    let rx = k.hub.subscribe();
    let last_seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut catch_up = Vec::new();
    for area in &watch {
        for stored in super::active(&k, area).await? {
            let newer = last_seen.as_ref().is_none_or(|l| stored.id.as_str() > l.as_str());
            if newer && !acked.contains(&stored.id) && !catch_up.iter().any(|(id, _)| id == &stored.id) {
                let alert = cap::parse(&store::cap_xml(&k.db, &stored.id).await?)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let data =
                    serde_json::to_value(screen_alert(&stored, &alert)).map_err(|e| Error::Internal(e.to_string()))?;
                catch_up.push((stored.id.clone(), data));
            }
        }
    }
    catch_up.sort_by(|a, b| a.0.cmp(&b.0));
    let first = stream::iter(
        catch_up
            .into_iter()
            .map(|(id, data)| Ok(sse_event("alert", &id, &data))),
    );
    let live = stream::unfold((rx, watch), |(mut rx, watch)| async move {
        loop {
            match rx.recv().await {
                Ok(ev) if ev.area_ids.is_empty() || ev.area_ids.iter().any(|a| watch.contains(a)) => {
                    let out = sse_event(&ev.kind, &ev.id, &ev.data);
                    return Some((Ok(out), (rx, watch)));
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
