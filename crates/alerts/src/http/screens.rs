//! The alerts in force for a person, on every page (the banner) and on the terminal's status
//! panel: shown until they expire or are cancelled or lifted, whether acknowledged or not —
//! 「確認しました」 only takes down the full-screen interruption. Rendered with the page (no
//! JavaScript needed) and again as a fragment when the live stream says something changed.

use std::collections::HashSet;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use kernel::i18n::{Lang, t};
use kernel::model::person::Person;
use kernel::web::Viewer;
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};

use crate::model::alert::{main_info, priority, summary};
use crate::model::cap;
use crate::model::screen::{OnScreen, sort_key};
use crate::store;

/// One alert in force, as a person's screen lists it.
#[derive(Debug, Clone, Serialize)]
pub struct InForce {
    pub id: String,
    pub msg_type: String,
    pub drill: bool,
    pub severity: String,
    pub category: String,
    pub urgency: String,
    pub certainty: String,
    pub event: String,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    /// When it was issued (CAP `sent`), ms.
    pub sent_ms: i64,
    /// Who issued it: the CAP `senderName`, else the sender's address.
    pub sender: String,
    /// When and by whom, in the viewer's words (12月8日(火) 午前9時 みどり市 危機管理課 発表).
    pub issued: String,
    pub acked: bool,
    /// A minor notice: listed calmly, never interrupting.
    pub ordinary: bool,
    /// An Update saying the danger is over (CAP responseType AllClear): 解除.
    pub lifted: bool,
}

impl InForce {
    pub fn on_screen(&self) -> OnScreen {
        OnScreen {
            id: self.id.clone(),
            drill: self.drill,
            severity: self.severity.clone(),
            ordinary: self.ordinary,
            acked: self.acked,
        }
    }
}

/// Who issued an alert, in words: the CAP `senderName`, else the sender's address.
pub fn sender_of(alert: &cap::Alert) -> String {
    main_info(alert)
        .and_then(|i| i.sender_name.clone())
        .unwrap_or_else(|| alert.sender.clone())
}

/// Every alert in force for the person's area and meant for them (their groups), in the order
/// screens show them: real ones by severity, drills last.
pub async fn in_force_for(k: &Kernel, person: &Person, lang: Lang) -> Result<Vec<InForce>> {
    let Some(area) = &person.area_id else {
        return Ok(Vec::new());
    };
    let active = super::active(k, area).await?;
    if active.is_empty() {
        return Ok(Vec::new());
    }
    let mine = store::groups_of_person(&k.db, &person.id, person.needs_support).await?;
    let acked: HashSet<String> = store::acknowledged_by(&k.db, &person.id).await?.into_iter().collect();
    let mut out = Vec::new();
    for stored in active {
        if !crate::model::target::person_in_groups(&store::groups(&k.db, &stored.id).await?, &mine) {
            continue;
        }
        let alert =
            cap::parse(&store::cap_xml(&k.db, &stored.id).await?).map_err(|e| Error::Internal(e.to_string()))?;
        let s = summary(&alert);
        out.push(InForce {
            drill: crate::model::alert::is_drill(&alert),
            ordinary: priority(&alert) == crate::model::alert::Priority::Ordinary,
            lifted: main_info(&alert).is_some_and(|i| i.response_types.contains(&cap::ResponseType::AllClear)),
            issued: t(
                lang,
                "alerts-issued-by",
                &[
                    ("when", kernel::web::render::human_time(lang, stored.sent_ms)),
                    ("sender", sender_of(&alert)),
                ],
            ),
            sender: sender_of(&alert),
            acked: acked.contains(&stored.id),
            id: stored.id,
            msg_type: stored.msg_type,
            severity: s.severity,
            category: s.category,
            urgency: s.urgency,
            certainty: s.certainty,
            event: s.event,
            headline: s.headline,
            description: s.description,
            instruction: s.instruction,
            sent_ms: stored.sent_ms,
        });
    }
    out.sort_by_key(|a| sort_key(a.drill, &a.severity, &a.id));
    Ok(out)
}

/// The layout's `alerts_in_force` for every page of a logged-in person (registered with the kernel).
pub fn in_force_context(
    k: Kernel,
    person: Person,
    lang: Lang,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<serde_json::Value>> + Send>> {
    Box::pin(async move {
        let list = in_force_for(&k, &person, lang).await?;
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
    let list = in_force_for(&k, &person, v.lang).await?;
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
