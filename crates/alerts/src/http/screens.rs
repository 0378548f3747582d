//! The alerts in force for a person, on every page (the banner) and on the terminal's status
//! panel: shown until they expire or are cancelled or lifted, whether acknowledged or not —
//! 「確認しました」 only takes down the full-screen interruption. Rendered with the page (no
//! JavaScript needed) and again as a fragment when the live stream says something changed.

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use kernel::i18n::Lang;
use kernel::model::person::Person;
use kernel::web::Viewer;
use kernel::{Error, Kernel, Result};
use serde::Deserialize;

use crate::service::in_force;

/// The layout's `alerts_in_force` for every page of a logged-in person (registered with the kernel).
pub fn in_force_context(
    k: Kernel,
    person: Person,
    lang: Lang,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<serde_json::Value>> + Send>> {
    Box::pin(async move {
        let list = in_force::in_force_for(&k, &person, lang).await?;
        serde_json::to_value(list).map_err(|e| Error::Internal(e.to_string()))
    })
}

#[derive(Deserialize, Default)]
pub(crate) struct FragmentQuery {
    view: Option<String>,
    back: Option<String>,
}

/// The banner or the terminal's panel alone, for the page to swap in when the stream says an
/// alert arrived, was cancelled or lifted.
pub(crate) async fn fragment(State(k): State<Kernel>, v: Viewer, Query(q): Query<FragmentQuery>) -> Result<Response> {
    let person = v.require_login()?.clone();
    let list = in_force::in_force_for(&k, &person, v.lang).await?;
    let (template, back) = match q.view.as_deref() {
        Some("terminal") => ("alerts/panel.html", "/terminal".to_string()),
        _ => ("alerts/banner.html", kernel::web::render::safe_next(q.back.as_deref())),
    };
    let ctx = kernel::web::minijinja::context! {
        lang => v.lang.code(),
        csrf => v.csrf.clone(),
        path => back,
        alerts_in_force => kernel::web::render::ser(&list),
    };
    let html = if list.is_empty() {
        String::new()
    } else {
        kernel::web::render::render(template, ctx)?
    };
    let mut res = Html(html).into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
