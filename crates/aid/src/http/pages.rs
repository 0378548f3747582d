//! The aid pages: the hub (my requests, my activities, requests open to me), asking for help
//! in three steps with large buttons, a request's page (suggestions with reasons, offers,
//! acceptance, fee, done, settlement, reviews, report), the receipt, offering help (the
//! supporter's profile), and the coordinator's queue.

use crate::policy::{Action, Resource};
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kernel::i18n::t;
use kernel::web::Viewer;
use kernel::web::form::{Refusal, refusal};
use kernel::web::minijinja::context;
use kernel::web::render::ser;
use kernel::{Error, Kernel, Result};
use serde::Deserialize;

use crate::model::availability::{self, Grid};
use crate::model::lifecycle::{self, State as St};
use crate::model::matching::Slot;
use crate::model::{Category, RequestInput};
use crate::service::activity::{ReportInput, ReviewInput, SettleInput};
use crate::service::profiles::{CertificationInput, ProfileInput};
use crate::store;

pub fn router() -> Router<Kernel> {
    Router::new()
        .route("/aid", get(hub))
        .route("/aid/ask", get(ask).post(create))
        .route("/aid/offer", get(offer_page).post(save_profile))
        .route("/aid/coordinator", get(coordinator))
        .route("/aid/coordinator/certify", post(certify))
        .route("/aid/requests/{id}", get(request_page))
        .route("/aid/requests/{id}/receipt", get(receipt))
        .route("/aid/requests/{id}/do", post(act))
        .route("/aid/links/{person}", post(link))
}

pub const TEMPLATES: &[(&str, &str)] = &[
    ("aid/hub.html", include_str!("../../templates/hub.html")),
    ("aid/ask.html", include_str!("../../templates/ask.html")),
    ("aid/request.html", include_str!("../../templates/request.html")),
    ("aid/receipt.html", include_str!("../../templates/receipt.html")),
    ("aid/offer.html", include_str!("../../templates/offer.html")),
    ("aid/coordinator.html", include_str!("../../templates/coordinator.html")),
];

#[derive(Deserialize, Default)]
struct Done {
    done: Option<String>,
}

/// The `?done=` notices a page may show after an action (`aid-done-…` in the catalogs).
pub(crate) const DONE: [&str; 19] = [
    "created",
    "invite",
    "audience",
    "offer",
    "withdraw",
    "accept",
    "fee",
    "fee_confirm",
    "done",
    "no_show",
    "cancel",
    "settle",
    "review",
    "report",
    "link",
    "linked",
    "profile",
    "certify",
    "suggest",
];

fn done_text(v: &Viewer, done: Option<&str>) -> Option<String> {
    let d = done?;
    DONE.contains(&d).then(|| t(v.lang, &format!("aid-done-{d}"), &[]))
}

// ---- the hub ----

async fn hub(State(k): State<Kernel>, v: Viewer, Query(q): Query<Done>) -> Result<Response> {
    v.require_login()?;
    let mine = crate::service::requests::mine_for(&k, &v.actor).await?;
    let links = crate::service::profiles::links_asked_for(&k, &v.actor).await?;
    let (profile, _) = crate::service::profiles::own_for(&k, &v.actor).await?;
    let ctx = context! {
        mine => ser(&mine),
        links => links.into_iter().map(|(id, name)| context! { id, name }).collect::<Vec<_>>(),
        supporter => profile.is_some(),
        coordinator => v.may(Action::CoordinateAid, &Resource::Town),
        notice => done_text(&v, q.done.as_deref()),
    };
    kernel::web::page(&v, "aid/hub.html", "aid-title", ctx)
}

// ---- asking in three steps ----

#[derive(Deserialize, Default, serde::Serialize, Clone)]
struct AskForm {
    #[serde(default)]
    category: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    start: String,
    #[serde(default)]
    duration_minutes: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    area: String,
    #[serde(default)]
    place: String,
    #[serde(default)]
    fee_per_hour: String,
    #[serde(default)]
    free: String,
}

impl AskForm {
    fn input(&self) -> RequestInput {
        let free = self.free == "1";
        RequestInput {
            category: self.category.clone(),
            date: self.date.clone(),
            start: self.start.clone(),
            duration_minutes: self.duration_minutes.trim().parse().unwrap_or(0),
            area: Some(self.area.clone()).filter(|a| !a.trim().is_empty()),
            lat: None,
            lon: None,
            description: self.description.clone(),
            place: Some(self.place.clone()),
            fee_per_hour: if free {
                None
            } else {
                self.fee_per_hour.trim().parse().ok()
            },
            free,
        }
    }
}

async fn ask(State(k): State<Kernel>, v: Viewer, Query(f): Query<AskForm>) -> Result<Response> {
    v.require_login()?;
    // The second step is checked before the third is shown, so a day in the past is said at once.
    if Category::parse(&f.category).is_some()
        && !f.date.is_empty()
        && !f.start.is_empty()
        && !f.duration_minutes.is_empty()
        && let Err(e) = f.input().check_when(k.now())
    {
        let e = crate::service::invalid(e);
        let err = refusal(&v, &e);
        return render_ask(&k, &v, &f, Some(2), err, StatusCode::BAD_REQUEST).await;
    }
    render_ask(&k, &v, &f, None, None, StatusCode::OK).await
}

async fn render_ask(
    k: &Kernel,
    v: &Viewer,
    f: &AskForm,
    step: Option<u8>,
    error: Option<Refusal>,
    status: StatusCode,
) -> Result<Response> {
    let step = step.unwrap_or(if Category::parse(&f.category).is_none() {
        1
    } else if f.date.is_empty() || f.start.is_empty() || f.duration_minutes.is_empty() {
        2
    } else {
        3
    });
    let me = v.require_login()?;
    // What was chosen before wins over where the person lives.
    let chosen = |code: &str, id: &str| {
        if f.area.trim().is_empty() {
            me.area_id.as_deref() == Some(id)
        } else {
            f.area == code
        }
    };
    let areas: Vec<_> = crate::service::profiles::chome(k)
        .await?
        .into_iter()
        .map(|a| context! { selected => chosen(&a.code, &a.id), code => a.code, name => a.name })
        .collect();
    let cfg = &*crate::config::of(k);
    let today = kernel::model::clock::to_rfc3339_jst(k.now())[..10].to_string();
    let starts = crate::model::local_ms(&f.date, &f.start).map(|ms| kernel::web::render::human_time(v.lang, ms));
    // Back to the second step, keeping the third's fields.
    let change_when = format!(
        "/aid/ask?{}",
        serde_urlencoded::to_string([
            ("category", &f.category),
            ("description", &f.description),
            ("area", &f.area),
            ("place", &f.place),
            ("fee_per_hour", &f.fee_per_hour),
            ("free", &f.free),
        ])
        .unwrap_or_default()
    );
    let ctx = context! {
        step,
        change_when,
        f => ser(f),
        categories => Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        areas,
        fee_min => cfg.fee_min_per_hour,
        fee_max => cfg.fee_max_per_hour,
        fee_default => cfg.fee_default_per_hour,
        today,
        starts,
        error => error.as_ref().map(|e| e.message.clone()),
        error_field => error.map(|e| e.field).unwrap_or_default(),
    };
    let mut res = kernel::web::page(v, "aid/ask.html", "aid-ask-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

async fn create(State(k): State<Kernel>, v: Viewer, Form(f): Form<AskForm>) -> Result<Response> {
    v.require_login()?;
    match crate::service::requests::create_for(&k, &v.actor, &f.input()).await {
        Ok(r) => Ok(Redirect::to(&format!("/aid/requests/{}?done=created", r.id)).into_response()),
        Err(e) => match refusal(&v, &e) {
            Some(r) => {
                // Back to the step the mistake is on, with everything typed.
                let step = match r.field.as_str() {
                    "category" => 1,
                    "date" | "start" | "duration_minutes" => 2,
                    _ => 3,
                };
                let status = r.status;
                render_ask(&k, &v, &f, Some(step), Some(r), status).await
            }
            None => Err(e),
        },
    }
}

// ---- a request ----

async fn request_page(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Done>,
) -> Result<Response> {
    v.require_login()?;
    render_request(
        &k,
        &v,
        &id,
        None,
        done_text(&v, q.done.as_deref()),
        None,
        StatusCode::OK,
    )
    .await
}

async fn render_request(
    k: &Kernel,
    v: &Viewer,
    id: &str,
    error: Option<String>,
    notice: Option<String>,
    typed: Option<&ActForm>,
    status: StatusCode,
) -> Result<Response> {
    let (r, view) = crate::service::requests::view_by_id(k, &v.actor, id).await?;
    let party = crate::service::party(&v.actor, &r);
    let state = St::parse(&r.state).unwrap_or(St::Cancelled);
    let coordinator = v.may(Action::CoordinateAid, &Resource::Town);
    let suggestions = if (view.party == "requester" || coordinator) && matches!(state, St::Open | St::Offered) {
        crate::service::requests::suggestions_for(k, &v.actor, &r, v.lang).await?
    } else {
        Vec::new()
    };
    let me = v.person_id().unwrap_or_default().to_string();
    let reviewed = view.reviews.iter().any(|x| x.reviewer_id == me);
    let started = k.now() >= r.starts_at;
    // Each suggested person has one next step: ask them, or wait for them, or decide on their offer.
    let (offered, asked) = crate::service::requests::standing_for(k, &v.actor, &view, &suggestions).await?;
    let map = view
        .contact
        .as_ref()
        .and_then(|c| c.point.as_deref())
        .and_then(|p| p.split_once(','))
        .map(|(lat, lon)| format!("https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"));
    let ctx = context! {
        r => ser(&view),
        when => kernel::web::render::human_time(v.lang, r.starts_at),
        category => t(v.lang, &format!("aid-category-{}", r.category), &[]),
        suggestions => ser(&suggestions),
        asked,
        map,
        // The requester reads back the meeting place she gave.
        own_place => r.place.clone().filter(|_| view.party == "requester"),
        typed => typed.map(ser),
        coordinator,
        may_offer => view.party == "other" && matches!(state, St::Open | St::Offered) && !offered,
        offered,
        may_manage => view.party == "requester" && matches!(state, St::Open | St::Offered),
        may_cancel => view.party == "requester" && matches!(state, St::Open | St::Offered | St::Accepted),
        may_fee => lifecycle::may_change_fee(state, party),
        fee_to_confirm => state == St::Accepted
            && r.fee_proposed.is_some()
            && r.fee_proposed_by.as_deref() != Some(me.as_str())
            && view.party != "other",
        may_done => state == St::Accepted && view.party != "other" && started,
        may_no_show => state == St::Accepted && view.party == "requester" && started,
        may_settle => state == St::Done && view.party != "other",
        may_review => lifecycle::may_review(state, party).is_ok() && !reviewed,
        receipt => view.settlement.is_some(),
        may_report => view.party != "other" && r.supporter_id.is_some(),
        error,
        notice,
    };
    let mut res = kernel::web::page(v, "aid/request.html", "aid-request-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize, Default, serde::Serialize)]
struct ActForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    supporter_id: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    fee_per_hour: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    rating: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    block: String,
    #[serde(default)]
    person: String,
}

/// Every form on a request's page posts here with an `action`.
async fn act(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>, Form(f): Form<ActForm>) -> Result<Response> {
    v.require_login()?;
    let a = &v.actor;
    let num = |s: &str, field: &'static str| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| Error::invalid_with("aid-number-invalid", vec![("field", field.to_string())]))
    };
    let result: Result<&str> = async {
        match f.action.as_str() {
            "invite" => crate::service::requests::invite_for(&k, a, &id, &f.supporter_id)
                .await
                .map(|_| "invite"),
            "audience" => crate::service::requests::broadcast_for(&k, a, &id, &f.audience)
                .await
                .map(|_| "audience"),
            "offer" => crate::service::offers::offer_for(&k, a, &id, Some(&f.message))
                .await
                .map(|_| "offer"),
            "withdraw" => crate::service::offers::withdraw_for(&k, a, &id)
                .await
                .map(|_| "withdraw"),
            "accept" => crate::service::offers::accept_for(&k, a, &id, &f.supporter_id)
                .await
                .map(|_| "accept"),
            "fee" => crate::service::offers::propose_fee_for(&k, a, &id, num(&f.fee_per_hour, "fee_per_hour")?)
                .await
                .map(|_| "fee"),
            "fee_confirm" => crate::service::offers::confirm_fee_for(&k, a, &id, num(&f.fee_per_hour, "fee_per_hour")?)
                .await
                .map(|_| "fee_confirm"),
            "done" | "no_show" | "cancel" => {
                let what = f.action.as_str();
                crate::service::activity::act_for(&k, a, &id, what)
                    .await
                    .map(|_| match what {
                        "done" => "done",
                        "no_show" => "no_show",
                        _ => "cancel",
                    })
            }
            "settle" => {
                let input = SettleInput {
                    amount: None,
                    method: f.method.clone(),
                    reference: Some(f.reference.clone()),
                };
                crate::service::activity::settle_for(&k, a, &id, &input)
                    .await
                    .map(|_| "settle")
            }
            "review" => {
                let input = ReviewInput {
                    rating: num(&f.rating, "rating")?,
                    comment: Some(f.comment.clone()),
                };
                crate::service::activity::review_for(&k, a, &id, &input)
                    .await
                    .map(|_| "review")
            }
            "report" => {
                let input = ReportInput {
                    reason: f.reason.clone(),
                    block: f.block == "1",
                };
                crate::service::activity::report_for(&k, a, &id, &input)
                    .await
                    .map(|_| "report")
            }
            "link" => {
                let me = v.person_id().unwrap_or_default();
                if f.person.is_empty() {
                    return Err(Error::invalid_with("aid-link-self", vec![("field", "person".into())]));
                }
                let state = crate::service::profiles::link_for(&k, me, &f.person).await?;
                Ok(if state.mutual { "linked" } else { "link" })
            }
            "coordinator_suggest" => crate::service::coordinator::coordinator_suggest_for(&k, a, &id, &f.supporter_id)
                .await
                .map(|_| "suggest"),
            _ => Err(Error::not_found("aid-request-not-found")),
        }
    }
    .await;
    match result {
        Ok(done) => Ok(Redirect::to(&format!("/aid/requests/{id}?done={done}")).into_response()),
        Err(e) => match v.refusal_text(&e) {
            Some(msg) => render_request(&k, &v, &id, Some(msg), None, Some(&f), e.status()).await,
            None => Err(e),
        },
    }
}

/// 「知り合い」 from the hub: say it back to someone who said it.
async fn link(State(k): State<Kernel>, v: Viewer, Path(person): Path<String>) -> Result<Response> {
    let me = v.require_login()?.id.clone();
    if crate::service::profiles::link_for(&k, &me, &person).await?.mutual {
        return Ok(Redirect::to("/aid?done=linked").into_response());
    }
    Ok(Redirect::to("/aid?done=link").into_response())
}

async fn receipt(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    v.require_login()?;
    let (r, view) = crate::service::requests::view_by_id(&k, &v.actor, &id).await?;
    if crate::service::party(&v.actor, &r) == lifecycle::Party::Other {
        return Err(Error::Forbidden);
    }
    let s = view
        .settlement
        .clone()
        .ok_or_else(|| Error::not_found("aid-no-receipt"))?;
    let ctx = context! {
        r => ser(&view),
        s => ser(&s),
        when => kernel::web::render::human_time(v.lang, r.starts_at),
        category => t(v.lang, &format!("aid-category-{}", r.category), &[]),
        paid_at => kernel::web::render::human_time(v.lang, s.recorded_at),
    };
    kernel::web::page(&v, "aid/receipt.html", "aid-receipt-title", ctx)
}

// ---- offering help ----

#[derive(Deserialize, Default, serde::Serialize)]
struct ProfileForm {
    #[serde(default)]
    categories: Vec<String>,
    #[serde(default)]
    skills: String,
    #[serde(default)]
    radius_km: String,
    /// The ticked cells of the week (`d5p0` for Saturday morning).
    #[serde(skip)]
    grid: Grid,
    #[serde(default)]
    insured: String,
    #[serde(default)]
    insured_categories: Vec<String>,
    #[serde(default)]
    languages: String,
}

impl ProfileForm {
    /// The form as the saved profile fills it.
    fn of(p: &store::Supporter) -> ProfileForm {
        let list = |s: &str| {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        let slots: Vec<Slot> = p.availability.split(',').filter_map(Slot::parse).collect();
        ProfileForm {
            categories: list(&p.categories),
            skills: list(&p.skills).join("、"),
            radius_km: format!("{}", p.radius_m as f64 / 1000.0),
            grid: availability::grid_of(&slots),
            insured: if p.insured != 0 { "1".into() } else { String::new() },
            insured_categories: list(&p.insured_categories),
            languages: list(&p.languages).join("、"),
        }
    }
}

/// The week in words, 「土曜 午前・午後、日曜 夜」, for reading back what is saved.
fn week_words(lang: kernel::i18n::Lang, grid: &Grid) -> String {
    let days: Vec<String> = grid
        .iter()
        .enumerate()
        .filter(|(_, parts)| parts.iter().any(|x| *x))
        .map(|(d, parts)| {
            let ps: Vec<String> = parts
                .iter()
                .enumerate()
                .filter(|(_, x)| **x)
                .map(|(i, _)| t(lang, &format!("aid-part-{}", availability::PARTS[i].0), &[]))
                .collect();
            let sep = if lang == kernel::i18n::Lang::Ja { "・" } else { ", " };
            t(
                lang,
                "aid-week-day",
                &[
                    ("day", t(lang, &format!("aid-weekday-{d}"), &[])),
                    ("parts", ps.join(sep)),
                ],
            )
        })
        .collect();
    days.join(if lang == kernel::i18n::Lang::Ja { "、" } else { "; " })
}

async fn offer_page(State(k): State<Kernel>, v: Viewer, Query(q): Query<Done>) -> Result<Response> {
    v.require_login()?;
    render_offer(&k, &v, None, None, done_text(&v, q.done.as_deref()), StatusCode::OK).await
}

async fn render_offer(
    k: &Kernel,
    v: &Viewer,
    typed: Option<&ProfileForm>,
    error: Option<Refusal>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    v.require_login()?;
    let (profile, certifications) = crate::service::profiles::own_for(k, &v.actor).await?;
    let mine = crate::service::requests::mine_for(k, &v.actor).await?;
    // What was typed, after a mistake; else what is saved.
    let saved = profile.as_ref().map(ProfileForm::of);
    let form = typed.or(saved.as_ref());
    let grid = form.map(|f| f.grid).unwrap_or_default();
    let days: Vec<_> = (0..7)
        .map(|d| {
            context! {
                name => t(v.lang, &format!("aid-weekday-{d}"), &[]),
                cells => (0..3).map(|p| context! {
                    name => availability::cell_name(d, p),
                    checked => grid[d][p],
                    label => t(v.lang, "aid-grid-cell", &[
                        ("day", t(v.lang, &format!("aid-weekday-{d}"), &[])),
                        ("part", t(v.lang, &format!("aid-part-{}", availability::PARTS[p].0), &[])),
                    ]),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let certifications: Vec<_> = certifications
        .iter()
        .map(|c| {
            context! {
                kind => c.kind.clone(),
                issued_by => c.issued_by.clone(),
                until => crate::model::local_ms(&c.valid_until, "00:00")
                    .map(|ms| kernel::web::render::human_date(v.lang, ms))
                    .unwrap_or_else(|| c.valid_until.clone()),
            }
        })
        .collect();
    let ctx = context! {
        registered => profile.is_some(),
        f => form.map(ser),
        has => form.map(|f| f.categories.clone()).unwrap_or_default(),
        insured_has => form.map(|f| f.insured_categories.clone()).unwrap_or_default(),
        radius_km => form.map(|f| f.radius_km.clone()).unwrap_or_else(|| "2".into()),
        days,
        parts => availability::PARTS.iter().map(|(p, a, b)| context! {
            name => t(v.lang, &format!("aid-grid-{p}"), &[]),
            hours => t(v.lang, "aid-part-hours", &[("from", (a / 60).to_string()), ("to", (b / 60).to_string())]),
        }).collect::<Vec<_>>(),
        saved_week => saved.as_ref().map(|f| week_words(v.lang, &f.grid)),
        categories => Category::ALL.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        certifications,
        open => ser(&mine.open_to_me),
        error => error.as_ref().map(|e| e.message.clone()),
        error_field => error.map(|e| e.field).unwrap_or_default(),
        notice,
    };
    let mut res = kernel::web::page(v, "aid/offer.html", "aid-offer-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

async fn save_profile(
    State(k): State<Kernel>,
    v: Viewer,
    axum::extract::RawForm(raw): axum::extract::RawForm,
) -> Result<Response> {
    v.require_login()?;
    // Repeated checkboxes (`categories=a&categories=b`) arrive as pairs.
    let mut f = ProfileForm::default();
    for (key, value) in form_pairs(&raw) {
        match key.as_str() {
            "categories" => f.categories.push(value),
            "insured_categories" => f.insured_categories.push(value),
            "skills" => f.skills = value,
            "radius_km" => f.radius_km = value,
            "insured" => f.insured = value,
            "languages" => f.languages = value,
            cell => {
                if let Some((d, p)) = availability::parse_cell(cell) {
                    f.grid[d][p] = value == "1";
                }
            }
        }
    }
    let split = |s: &str| {
        s.split([',', '、', '\n'])
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
    };
    let radius_m = f
        .radius_km
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .map(|km| (km * 1000.0).round() as i64)
        .unwrap_or(0);
    let input = ProfileInput {
        categories: f.categories.clone(),
        skills: split(&f.skills),
        radius_m,
        lat: None,
        lon: None,
        availability: availability::slots_of(&f.grid).iter().map(Slot::text).collect(),
        insured: f.insured == "1",
        insured_categories: f.insured_categories.clone(),
        languages: split(&f.languages),
        active: true,
    };
    match crate::service::profiles::put_profile_for(&k, &v.actor, &input).await {
        Ok(_) => Ok(Redirect::to("/aid/offer?done=profile").into_response()),
        Err(e) => match refusal(&v, &e) {
            Some(r) => {
                let status = r.status;
                render_offer(&k, &v, Some(&f), Some(r), None, status).await
            }
            None => Err(e),
        },
    }
}

fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(raw).unwrap_or_default()
}

// ---- the coordinator ----

async fn coordinator(State(k): State<Kernel>, v: Viewer, Query(q): Query<Done>) -> Result<Response> {
    v.require_login()?;
    render_coordinator(&k, &v, None, None, done_text(&v, q.done.as_deref()), StatusCode::OK).await
}

async fn render_coordinator(
    k: &Kernel,
    v: &Viewer,
    typed: Option<&CertifyForm>,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let queue = crate::service::coordinator::queue_for(k, &v.actor, v.lang).await?;
    let reports = crate::service::coordinator::reports_for(k, &v.actor).await?;
    let ctx = context! {
        queue => ser(&queue),
        reports => ser(&reports),
        after_hours => crate::config::of(k).coordinator_after_hours,
        c => typed.map(ser),
        error,
        notice,
    };
    let mut res = kernel::web::page(v, "aid/coordinator.html", "aid-coordinator-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize, Default, serde::Serialize)]
struct CertifyForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    issued_by: String,
    #[serde(default)]
    valid_until: String,
}

async fn certify(State(k): State<Kernel>, v: Viewer, Form(f): Form<CertifyForm>) -> Result<Response> {
    v.require_login()?;
    let r = async {
        let person = crate::service::coordinator::find_person(&k, &v.actor, &f.name, &f.birth_date).await?;
        crate::service::profiles::certify_for(
            &k,
            &v.actor,
            &CertificationInput {
                person_id: person,
                kind: "childcare".into(),
                issued_by: f.issued_by.clone(),
                valid_until: f.valid_until.clone(),
            },
        )
        .await
    }
    .await;
    match r {
        Ok(_) => Ok(Redirect::to("/aid/coordinator?done=certify").into_response()),
        Err(e) => match v.refusal_text(&e) {
            Some(msg) => render_coordinator(&k, &v, Some(&f), Some(msg), None, e.status()).await,
            None => Err(e),
        },
    }
}
