//! Staff with the alerts duty (危機管理課): the list of alerts (in force, drills, past), each
//! leading to its report, and ending an alert from the web — a CAP Cancel (sent by mistake) or an
//! Update with 解除 (the danger is over) — to the same people as the original, after a
//! confirmation that says how many it reaches.

use crate::policy::{Action, Resource};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::web::Viewer;
use kernel::web::minijinja::context;
use kernel::web::render::ser;
use kernel::{Kernel, Result};
use serde::Deserialize;

use crate::model::alert::main_info;
use crate::model::cap;
use crate::service::publish::{self, Ending, endable};
use crate::service::{in_force, report};
use crate::store::StoredAlert;

/// The alerts list: in force, drills, and past ones, newest first; each leads to its report.
pub(crate) async fn list(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    v.require(Action::PublishAlerts, &Resource::Town)?;
    let (current, drills, past) = report::list_for(&k, &v.actor).await?;
    let notice = v
        .path
        .split("notice=")
        .nth(1)
        .map(|n| n.split('&').next().unwrap_or(n).to_string());
    let ctx = context! {
        current => ser(&current), drills => ser(&drills), past => ser(&past),
        notice => notice.filter(|n| n == "cancelled" || n == "lifted").map(|n| format!("alerts-notice-{n}")),
    };
    kernel::web::page(&v, "alerts/list.html", "alerts-list-title", ctx)
}

#[derive(Deserialize, Default)]
pub(crate) struct EndQuery {
    kind: Option<String>,
}

#[derive(Deserialize, Default)]
pub(crate) struct EndForm {
    kind: Option<String>,
    #[serde(default)]
    note: String,
    confirm: Option<String>,
}

async fn end_page(
    k: &Kernel,
    v: &Viewer,
    stored: &StoredAlert,
    original: &cap::Alert,
    kind: Ending,
    note: &str,
) -> Result<Response> {
    let (people, households) = publish::reach(k, original).await?;
    let info = main_info(original);
    let ctx = context! {
        alert => ser(stored),
        instruction => info.and_then(|i| i.instruction.clone()),
        sender => in_force::sender_of(original),
        drill => stored.status == "Exercise",
        kind => kind.code(),
        note => note,
        people => people, households => households,
    };
    let title = match kind {
        Ending::Cancel => "alerts-cancel-title",
        Ending::Lift => "alerts-lift-title",
    };
    kernel::web::page(v, "alerts/end.html", title, ctx)
}

/// The confirmation before a Cancel or 解除 goes out: what, and to how many people and households.
pub(crate) async fn end_form(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<EndQuery>,
) -> Result<Response> {
    v.require(Action::PublishAlerts, &Resource::Town)?;
    let kind = Ending::parse(q.kind.as_deref())?;
    let (stored, original) = endable(&k, &id).await?;
    end_page(&k, &v, &stored, &original, kind, "").await
}

/// Send the Cancel or 解除 once confirmed; without `confirm=yes`, show the confirmation.
pub(crate) async fn end(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<EndForm>,
) -> Result<Response> {
    v.require(Action::PublishAlerts, &Resource::Town)?;
    let kind = Ending::parse(f.kind.as_deref())?;
    if f.confirm.as_deref() != Some("yes") {
        let (stored, original) = endable(&k, &id).await?;
        let mut res = end_page(&k, &v, &stored, &original, kind, &f.note).await?;
        *res.status_mut() = StatusCode::OK;
        return Ok(res);
    }
    publish::end_for(&k, &v.actor, &id, kind, &f.note).await?;
    let notice = match kind {
        Ending::Cancel => "cancelled",
        Ending::Lift => "lifted",
    };
    Ok(Redirect::to(&format!("/alerts?notice={notice}")).into_response())
}
