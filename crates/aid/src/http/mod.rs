//! The aid JSON API: supporters' profiles and certifications, requests and suggestions (with
//! the reason for each), invitations and broadcasts, offers, acceptance (409 names who was
//! first), fee changes both confirm, done / no-show / cancel, settlement and receipt, reviews
//! both ways, reports, blocks and 「知り合い」 links, and the coordinator's queue. The browser
//! pages are in `pages`.

pub mod pages;

use crate::policy::{Action, Resource};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::http::Auth;
use kernel::http::extract::ApiJson;
use kernel::i18n::{Lang, t};
use kernel::model::audit::AuditRecord;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::lifecycle::{self, Event, Party, Refusal, State as St};
use crate::model::matching::{self, Slot};
use crate::model::{Category, FeeRule, RequestInput};
use crate::store::index::{self, Want};
use crate::store::{self, Offer, Request, Review, Settlement, Supporter};

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

pub(crate) fn fees(k: &Kernel) -> FeeRule {
    FeeRule {
        min_per_hour: crate::config::of(k).fee_min_per_hour,
        max_per_hour: crate::config::of(k).fee_max_per_hour,
    }
}

pub(crate) fn invalid(e: crate::model::InputError) -> Error {
    let mut args = e.args;
    args.push(("field", e.field.to_string()));
    Error::invalid_with(e.key, args)
}

fn me(actor: &Actor) -> Result<&str> {
    actor.person_id.as_deref().ok_or(Error::Forbidden)
}

/// The asker's part in a request.
pub(crate) fn party(actor: &Actor, r: &Request) -> Party {
    match actor.person_id.as_deref() {
        Some(p) if p == r.requester_id => Party::Requester,
        Some(p) if r.supporter_id.as_deref() == Some(p) => Party::Supporter,
        _ => Party::Other,
    }
}

fn resource(r: &Request) -> Resource {
    Resource::Request {
        requester_id: r.requester_id.clone(),
        supporter_id: r.supporter_id.clone(),
    }
}

fn state_of(r: &Request) -> St {
    St::parse(&r.state).unwrap_or(St::Cancelled)
}

fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::NotYours => Error::Forbidden,
        Refusal::NotStarted => Error::invalid(r.key()),
        Refusal::AlreadyAccepted | Refusal::WrongState(_) => Error::conflict(r.key(), vec![]),
    }
}

// ---- supporters ----

#[derive(Deserialize, Serialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    /// Categories the supporter helps with.
    pub categories: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    /// How far they will go, in metres (100–20,000).
    pub radius_m: i64,
    /// Their starting point; their 町丁目's centre when absent.
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    /// Weekly slots `weekday:HH:MM-HH:MM` (0 = Monday), e.g. `5:09:00-12:00` for Saturday morning.
    /// The web page edits them as a grid of 午前 (0–12時), 午後 (12–17時) and 夜 (17–24時).
    pub availability: Vec<String>,
    /// Enrolled in volunteer-activity insurance, and the categories it covers.
    #[serde(default)]
    pub insured: bool,
    #[serde(default)]
    pub insured_categories: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The centre (label point) of the person's 町丁目.
pub(crate) async fn home_point(k: &Kernel, person: &str) -> Result<Option<(f64, f64)>> {
    let Some(p) = kernel::store::people::get(&k.db, person).await? else {
        return Ok(None);
    };
    area_point(k, p.area_id.as_deref()).await
}

pub(crate) async fn area_point(k: &Kernel, area: Option<&str>) -> Result<Option<(f64, f64)>> {
    let Some(area) = area else { return Ok(None) };
    let Some(a) = kernel::store::areas::get(&k.db, area).await? else {
        return Ok(None);
    };
    Ok(kernel::model::geometry::parse_geometry(&a.geometry)
        .ok()
        .and_then(|g| g.label_point())
        .map(|p| (p.lat, p.lon)))
}

pub(crate) async fn put_profile_for(k: &Kernel, actor: &Actor, input: &ProfileInput) -> Result<Supporter> {
    let me = me(actor)?;
    if !may(actor, Action::OfferAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let bad = |key: &'static str, field: &str| Error::invalid_with(key, vec![("field", field.to_string())]);
    let cats: Vec<Category> = input.categories.iter().filter_map(|c| Category::parse(c)).collect();
    if cats.is_empty() || cats.len() != input.categories.len() {
        return Err(bad("aid-category-invalid", "categories"));
    }
    if !(100..=20_000).contains(&input.radius_m) {
        return Err(bad("aid-radius-invalid", "radius_m"));
    }
    let slots: Vec<Slot> = input.availability.iter().filter_map(|s| Slot::parse(s)).collect();
    if slots.len() != input.availability.len() {
        return Err(bad("aid-availability-invalid", "availability"));
    }
    let insured_cats: Vec<Category> = input
        .insured_categories
        .iter()
        .filter_map(|c| Category::parse(c))
        .collect();
    if insured_cats.len() != input.insured_categories.len() {
        return Err(bad("aid-category-invalid", "insured_categories"));
    }
    let clean = |v: &[String]| {
        v.iter()
            .map(|s| s.trim().replace(',', " "))
            .filter(|s| !s.is_empty())
            .take(20)
            .map(|s| s.chars().take(40).collect::<String>())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (lat, lon) = match (input.lat, input.lon) {
        (Some(lat), Some(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => (lat, lon),
        (None, None) => home_point(k, me)
            .await?
            .ok_or_else(|| bad("aid-point-required", "lat"))?,
        _ => return Err(bad("aid-point-invalid", "lat")),
    };
    let s = Supporter {
        person_id: me.to_string(),
        categories: cats.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
        skills: clean(&input.skills),
        radius_m: input.radius_m,
        lat,
        lon,
        availability: slots.iter().map(Slot::text).collect::<Vec<_>>().join(","),
        insured: i64::from(input.insured),
        insured_categories: insured_cats.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
        languages: clean(&input.languages),
        active: i64::from(input.active),
        updated_at: k.now(),
    };
    store::put_supporter(k, &s).await?;
    Ok(s)
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
    store::supporter(&k.db, &me)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("aid-not-a-supporter"))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CertificationInput {
    pub person_id: String,
    /// `childcare` (the childcare supporter course).
    pub kind: String,
    pub issued_by: String,
    /// `YYYY-MM-DD`: valid through this day.
    pub valid_until: String,
}

pub(crate) async fn certify_for(k: &Kernel, actor: &Actor, input: &CertificationInput) -> Result<store::Certification> {
    if !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let bad = |key: &'static str, field: &str| Error::invalid_with(key, vec![("field", field.to_string())]);
    if input.kind != "childcare" {
        return Err(bad("aid-certification-kind-invalid", "kind"));
    }
    let by = input.issued_by.trim();
    if by.is_empty() || by.chars().count() > 100 {
        return Err(bad("aid-certification-issuer-invalid", "issued_by"));
    }
    if crate::model::local_ms(&input.valid_until, "00:00").is_none() {
        return Err(bad("aid-date-invalid", "valid_until"));
    }
    kernel::store::people::require_active(&k.db, &input.person_id)
        .await
        .map_err(|_| bad("aid-person-not-found", "person_id"))?;
    let c = store::add_certification(k, &input.person_id, &input.kind, by, &input.valid_until, me(actor)?).await?;
    kernel::store::audit::append(
        k,
        AuditRecord::new(
            actor.person_id.as_deref(),
            "aid.certify",
            format!("person/{}", input.person_id),
        )
        .subject(&input.person_id)
        .reason(&input.kind),
    )
    .await?;
    Ok(c)
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

// ---- requests ----

/// A request as the asker may see it: the exact place and the other party's contact details
/// only between the two, after acceptance.
#[derive(Serialize, ToSchema)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: Request,
    pub area_name: String,
    pub requester_name: String,
    pub supporter_name: Option<String>,
    /// `requester`, `supporter` or `other`.
    pub party: String,
    /// The amount for the agreed fee and the time.
    pub amount: Option<i64>,
    /// Shown only between the parties once accepted.
    pub contact: Option<Contact>,
    pub offers: Vec<Offer>,
    pub settlement: Option<Settlement>,
    pub reviews: Vec<Review>,
}

#[derive(Serialize, ToSchema)]
pub struct Contact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The exact place (for the supporter): `lat,lon`, when the requester gave a point.
    pub point: Option<String>,
    /// Where to meet, in the requester's words (for the supporter).
    pub place: Option<String>,
    /// The requester's address as registered (for the supporter).
    pub address: Option<String>,
}

pub(crate) async fn create_for(k: &Kernel, actor: &Actor, input: &RequestInput) -> Result<Request> {
    let me = me(actor)?.to_string();
    if !may(actor, Action::AskAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let checked = input.check(k.now(), fees(k)).map_err(invalid)?;
    let bad = |key: &'static str, field: &str| Error::invalid_with(key, vec![("field", field.to_string())]);
    let (area_id, lat, lon, exact) = match (input.lat, input.lon, input.area.as_deref().map(str::trim)) {
        (Some(lat), Some(lon), _) => {
            let area = kernel::store::areas::at_point(&k.db, kernel::model::geometry::Point { lat, lon })
                .await?
                .ok_or_else(|| bad("aid-point-outside", "lat"))?;
            (area.id, lat, lon, true)
        }
        (None, None, Some(code)) if !code.is_empty() => {
            let area = kernel::store::areas::get(&k.db, code)
                .await?
                .ok_or_else(|| bad("aid-area-unknown", "area"))?;
            let (lat, lon) = area_point(k, Some(&area.id))
                .await?
                .ok_or_else(|| bad("aid-area-unknown", "area"))?;
            (area.id, lat, lon, false)
        }
        (None, None, _) => {
            // Where the requester lives.
            let p = kernel::store::people::require(&k.db, &me).await?;
            let area = p.area_id.ok_or_else(|| bad("aid-area-required", "area"))?;
            let (lat, lon) = area_point(k, Some(&area))
                .await?
                .ok_or_else(|| bad("aid-area-required", "area"))?;
            (area, lat, lon, false)
        }
        _ => return Err(bad("aid-point-invalid", "lat")),
    };
    let r = store::create_request(
        k,
        store::NewRequest {
            requester_id: &me,
            checked: &checked,
            area_id: &area_id,
            lat,
            lon,
            exact_point: exact,
        },
    )
    .await?;
    kernel::store::audit::append(
        k,
        AuditRecord::new(Some(&me), "aid.request", format!("aid/{}", r.id)).reason(checked.category.as_str()),
    )
    .await?;
    Ok(r)
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

/// Was the request put before this supporter: invited (by the requester or the coordinator),
/// offered already, or broadcast — and is it still looking for someone? Others never see it,
/// and after the match nobody but the two does.
async fn reaches(k: &Kernel, me: &str, r: &Request) -> Result<bool> {
    if !matches!(state_of(r), St::Open | St::Offered) {
        return Ok(false);
    }
    Ok(r.audience != "invited"
        || store::invited(&k.db, &r.id, me).await?
        || store::offers(&k.db, &r.id).await?.iter().any(|o| o.supporter_id == me))
}

/// May a supporter (not a party) see this request: it reaches them, and they are eligible (for
/// a broadcast to acquaintances, an acquaintance). Eligibility is judged from the 町丁目's centre,
/// so the exact place cannot be found by moving one's radius about.
pub(crate) async fn visible_to_supporter(k: &Kernel, actor: &Actor, r: &Request) -> Result<bool> {
    let me = me(actor)?;
    if !reaches(k, me, r).await? {
        return Ok(false);
    }
    if store::invited(&k.db, &r.id, me).await?
        || store::offers(&k.db, &r.id).await?.iter().any(|o| o.supporter_id == me)
    {
        return Ok(true);
    }
    let idx = index::current(k).await?;
    if idx.get(me).is_none() {
        return Ok(false);
    }
    let trust = index::trust_of(&k.db, &r.requester_id).await?;
    let want = want_public(k, r).await?;
    let Some(facts) = idx.facts_for(me, &want, &trust) else {
        return Ok(false);
    };
    let ok = matching::eligible(want.category, &facts).is_ok();
    Ok(ok && (r.audience == "nearby" || facts.trust.is_acquaintance()))
}

/// The request as others may know it: placed at its 町丁目's centre.
pub(crate) async fn want_public<'a>(k: &Kernel, r: &'a Request) -> Result<Want<'a>> {
    let mut w = want_of(k, r);
    if r.exact_point != 0
        && let Some((lat, lon)) = area_point(k, Some(&r.area_id)).await?
    {
        w.lat = lat;
        w.lon = lon;
    }
    Ok(w)
}

pub fn want_of<'a>(k: &Kernel, r: &'a Request) -> Want<'a> {
    Want {
        requester_id: &r.requester_id,
        category: Category::parse(&r.category).unwrap_or(Category::Other),
        lat: r.lat,
        lon: r.lon,
        starts_at: r.starts_at,
        duration_minutes: r.duration_minutes,
        description: &r.description,
        // Certifications must be valid today and on the day of the activity.
        today: kernel::model::clock::to_rfc3339_jst(k.now())[..10].to_string(),
        activity_date: kernel::model::clock::to_rfc3339_jst(r.starts_at)[..10].to_string(),
    }
}

pub(crate) async fn view_for(k: &Kernel, actor: &Actor, r: Request) -> Result<RequestView> {
    let p = party(actor, &r);
    let coordinator = may(actor, Action::CoordinateAid, &Resource::Town);
    if p == Party::Other && !coordinator && !visible_to_supporter(k, actor, &r).await? {
        return Err(Error::Forbidden);
    }
    let name = |id: String| async move {
        kernel::store::people::get(&k.db, &id)
            .await
            .map(|p| p.map(|p| p.display_name))
    };
    let contact = if lifecycle::contacts_visible(state_of(&r), p) {
        let other = if p == Party::Requester {
            r.supporter_id.clone().unwrap_or_default()
        } else {
            r.requester_id.clone()
        };
        let o = kernel::store::people::require(&k.db, &other).await?;
        kernel::store::audit::append(
            k,
            AuditRecord::new(actor.person_id.as_deref(), "aid.contact", format!("aid/{}", r.id)).subject(&o.id),
        )
        .await?;
        Some(Contact {
            name: o.display_name,
            phone: o.phone,
            email: o.email,
            point: (p == Party::Supporter && r.exact_point != 0).then(|| format!("{:.5},{:.5}", r.lat, r.lon)),
            place: r.place.clone().filter(|_| p == Party::Supporter),
            address: o.address.filter(|_| p == Party::Supporter),
        })
    } else {
        None
    };
    let offers = if p == Party::Requester || coordinator {
        store::offers(&k.db, &r.id).await?
    } else {
        Vec::new()
    };
    let parties = p != Party::Other;
    Ok(RequestView {
        area_name: kernel::store::areas::get(&k.db, &r.area_id)
            .await?
            .map(|a| a.name)
            .unwrap_or_default(),
        requester_name: name(r.requester_id.clone()).await?.unwrap_or_default(),
        supporter_name: match &r.supporter_id {
            Some(s) => name(s.clone()).await?,
            None => None,
        },
        party: match p {
            Party::Requester => "requester",
            Party::Supporter => "supporter",
            Party::Other => "other",
        }
        .into(),
        amount: r.fee_agreed.map(|f| crate::model::amount(f, r.duration_minutes)),
        contact,
        offers,
        settlement: if parties {
            store::settlement(&k.db, &r.id).await?
        } else {
            None
        },
        reviews: if parties {
            store::reviews(&k.db, &r.id).await?
        } else {
            Vec::new()
        },
        request: r,
    })
}

#[utoipa::path(get, path = "/aid/requests/{id}", tag = "aid",
    responses((status = 200, body = RequestView), (status = 403), (status = 404)))]
async fn get_request(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<RequestView>> {
    auth.person_id()?;
    let r = store::require(&k.db, &id).await?;
    Ok(Json(view_for(&k, &auth.0, r).await?))
}

#[derive(Serialize, ToSchema)]
pub struct MyAid {
    /// Requests I asked.
    pub asked: Vec<Request>,
    /// Activities I took on as a supporter.
    pub helping: Vec<Request>,
    /// Open requests I may offer on (invited, or broadcast and I am eligible).
    pub open_to_me: Vec<Request>,
}

pub(crate) async fn mine_for(k: &Kernel, actor: &Actor) -> Result<MyAid> {
    let me = me(actor)?;
    let asked = store::of_requester(&k.db, me, 50).await?;
    let helping = store::of_supporter(&k.db, me, 50).await?;
    let mut open_to_me = Vec::new();
    if store::supporter(&k.db, me).await?.is_some() || !store::invitations_of(&k.db, me).await?.is_empty() {
        for r in store::open_requests(&k.db, k.now(), 200).await? {
            if r.requester_id != me && visible_to_supporter(k, actor, &r).await? {
                open_to_me.push(r);
            }
        }
    }
    Ok(MyAid {
        asked,
        helping,
        open_to_me,
    })
}

#[utoipa::path(get, path = "/aid/requests", tag = "aid",
    responses((status = 200, body = MyAid), (status = 401)))]
async fn list_requests(State(k): State<Kernel>, auth: Auth) -> Result<Json<MyAid>> {
    auth.person_id()?;
    Ok(Json(mine_for(&k, &auth.0).await?))
}

/// One suggestion with its reason in words.
#[derive(Serialize, ToSchema)]
pub struct SuggestionView {
    #[serde(flatten)]
    pub suggestion: matching::Suggestion,
    pub name: String,
    /// 「同じ町会・1.2km・評価4.8・土曜午前に対応可」
    pub why: String,
    pub insured: bool,
}

pub(crate) async fn suggestions_for(k: &Kernel, actor: &Actor, r: &Request, lang: Lang) -> Result<Vec<SuggestionView>> {
    if party(actor, r) != Party::Requester && !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let idx = index::current(k).await?;
    let trust = index::trust_of(&k.db, &r.requester_id).await?;
    let want = want_of(k, r);
    let list = index::suggest(&idx, &want, &trust, crate::config::of(k).suggestions);
    let (weekday, minute) = crate::model::local_weekday_minute(r.starts_at);
    let ids: Vec<&str> = list.iter().map(|s| s.person_id.as_str()).collect();
    let mut names = kernel::store::people::display_names(&k.db, &ids).await?;
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        let why = why_text(lang, &matching::reasons(&s, weekday, minute));
        let name = names.remove(&s.person_id).unwrap_or_default();
        let insured = idx.get(&s.person_id).is_some_and(|e| e.covers(want.category));
        out.push(SuggestionView {
            suggestion: s,
            name,
            why,
            insured,
        });
    }
    Ok(out)
}

/// The reasons joined in the asker's language.
pub fn why_text(lang: Lang, reasons: &[matching::Reason]) -> String {
    let parts: Vec<String> = reasons
        .iter()
        .map(|r| {
            let mut args: Vec<(&str, String)> = r.args.clone();
            for (k, v) in args.iter_mut() {
                if *k == "day" {
                    *v = t(lang, &format!("aid-weekday-{v}"), &[]);
                } else if *k == "part" {
                    *v = t(lang, &format!("aid-part-{v}"), &[]);
                }
            }
            t(lang, r.key, &args)
        })
        .collect();
    // 「同じ町会・1.2km」 in Japanese; "acquaintance, 1.2 km" in English.
    parts.join(if lang == Lang::Ja { "・" } else { ", " })
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
    let r = store::require(&k.db, &id).await?;
    let lang = Lang::from_accept_language(headers.get("accept-language").and_then(|v| v.to_str().ok()));
    Ok(Json(suggestions_for(&k, &auth.0, &r, lang).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SupporterRef {
    pub supporter_id: String,
}

/// Why this supporter may not take the request, as a 403 that says so. `public`: judged as the
/// supporter may know the request (from its 町丁目's centre).
pub(crate) async fn check_eligible(k: &Kernel, r: &Request, supporter: &str, public: bool) -> Result<()> {
    let idx = index::current(k).await?;
    if idx.get(supporter).is_none() {
        return Err(Error::refused("aid-not-a-supporter", vec![]));
    }
    let trust = index::trust_of(&k.db, &r.requester_id).await?;
    let want = if public {
        want_public(k, r).await?
    } else {
        want_of(k, r)
    };
    let facts = idx
        .facts_for(supporter, &want, &trust)
        .ok_or_else(|| Error::refused("aid-not-a-supporter", vec![]))?;
    matching::eligible(want.category, &facts).map_err(|e| Error::refused(e.key(), vec![]))
}

pub(crate) async fn invite_for(k: &Kernel, actor: &Actor, id: &str, supporter: &str) -> Result<()> {
    let r = store::require(&k.db, id).await?;
    if !may(actor, Action::ManageAidRequest, &resource(&r)) {
        return Err(Error::Forbidden);
    }
    if !matches!(state_of(&r), St::Open | St::Offered) {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    check_eligible(k, &r, supporter, false).await?;
    if store::invite(k, &r.id, supporter, me(actor)?).await? {
        let name = crate::service::notices::name(k, &r.requester_id).await?;
        let notice = crate::model::notice::invited(&name, &r.category, &crate::service::notices::link(k, &r.id));
        crate::service::notices::notify(
            k,
            &[supporter.to_string()],
            &notice,
            &format!("aid:{}:invite:{supporter}", r.id),
        )
        .await?;
    }
    Ok(())
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    /// `acquaintances` (people linked to me) or `nearby` (everyone eligible around).
    pub audience: String,
}

pub(crate) async fn broadcast_for(k: &Kernel, actor: &Actor, id: &str, audience: &str) -> Result<usize> {
    let r = store::require(&k.db, id).await?;
    if !may(actor, Action::ManageAidRequest, &resource(&r)) {
        return Err(Error::Forbidden);
    }
    if !["acquaintances", "nearby"].contains(&audience) {
        return Err(Error::invalid_with(
            "aid-audience-invalid",
            vec![("field", "audience".into())],
        ));
    }
    if !matches!(state_of(&r), St::Open | St::Offered) {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    store::set_audience(&k.db, &r.id, audience).await?;
    // Tell those it now reaches (a nearby broadcast tells the best 50, not a whole town).
    let idx = index::current(k).await?;
    let trust = index::trust_of(&k.db, &r.requester_id).await?;
    let want = want_of(k, &r);
    let reach: Vec<String> = index::suggest(&idx, &want, &trust, 50)
        .into_iter()
        .filter(|s| audience == "nearby" || s.trust.is_acquaintance())
        .map(|s| s.person_id)
        .collect();
    let name = crate::service::notices::name(k, &r.requester_id).await?;
    let notice = crate::model::notice::invited(&name, &r.category, &crate::service::notices::link(k, &r.id));
    crate::service::notices::notify(k, &reach, &notice, &format!("aid:{}:broadcast:{audience}", r.id)).await?;
    Ok(reach.len())
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    #[serde(default)]
    pub message: Option<String>,
}

pub(crate) async fn offer_for(k: &Kernel, actor: &Actor, id: &str, message: Option<&str>) -> Result<()> {
    let me = me(actor)?;
    if !may(actor, Action::OfferAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let r = store::require(&k.db, id).await?;
    lifecycle::apply(state_of(&r), Event::Offer, party(actor, &r), false).map_err(refusal)?;
    if !reaches(k, me, &r).await? {
        return Err(Error::Forbidden);
    }
    // An uncertified supporter on a childcare request is told why.
    check_eligible(k, &r, me, true).await?;
    if !visible_to_supporter(k, actor, &r).await? {
        return Err(Error::Forbidden);
    }
    let message = message.map(str::trim).filter(|m| !m.is_empty());
    if message.is_some_and(|m| m.chars().count() > 500) {
        return Err(Error::invalid_with(
            "aid-message-too-long",
            vec![("field", "message".into())],
        ));
    }
    if !store::offer(k, &r.id, me, message).await? {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    tell_requester(k, &r, me, "offer", crate::model::notice::offered).await
}

/// Tell the requester what a supporter did (`what`: the notice from the supporter's name and
/// the request's link). Each time is told: an offer taken back and made again is told again.
async fn tell_requester(
    k: &Kernel,
    r: &Request,
    supporter: &str,
    kind: &str,
    what: fn(&str, &str) -> kernel::notice::Notice,
) -> Result<()> {
    let name = crate::service::notices::name(k, supporter).await?;
    let notice = what(&name, &crate::service::notices::link(k, &r.id));
    crate::service::notices::notify(
        k,
        std::slice::from_ref(&r.requester_id),
        &notice,
        &format!("aid:{}:{kind}:{supporter}:{}", r.id, k.new_id()),
    )
    .await
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

/// A supporter takes back their offer before it is accepted (the requester is told).
pub(crate) async fn withdraw_for(k: &Kernel, actor: &Actor, id: &str) -> Result<()> {
    let me = me(actor)?;
    let r = store::require(&k.db, id).await?;
    lifecycle::apply(state_of(&r), Event::Withdraw, party(actor, &r), false).map_err(refusal)?;
    if !store::offers(&k.db, &r.id).await?.iter().any(|o| o.supporter_id == me) {
        return Err(Error::conflict("aid-no-offer-of-yours", vec![]));
    }
    if !store::withdraw(k, &r.id, me).await? {
        // Accepted (or cancelled) at the same moment.
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    tell_requester(k, &r, me, "withdraw", crate::model::notice::withdrawn).await
}

#[utoipa::path(post, path = "/aid/requests/{id}/withdraw", tag = "aid",
    description = "A supporter takes back their offer while the request is not yet accepted; it is open again if it was the last offer. 409 once accepted, or without an offer.",
    responses((status = 204), (status = 403), (status = 409)))]
async fn withdraw(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode> {
    auth.person_id()?;
    withdraw_for(&k, &auth.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// 409 naming who was first.
async fn already_accepted(k: &Kernel, r: &Request) -> Result<Error> {
    let who = match &r.supporter_id {
        Some(s) => crate::service::notices::name(k, s).await?,
        None => String::new(),
    };
    Ok(Error::conflict("aid-already-accepted", vec![("name", who)]))
}

pub(crate) async fn accept_for(k: &Kernel, actor: &Actor, id: &str, supporter: &str) -> Result<Request> {
    let r = store::require(&k.db, id).await?;
    if !may(actor, Action::ManageAidRequest, &resource(&r)) {
        return Err(Error::Forbidden);
    }
    if let Err(e) = lifecycle::apply(state_of(&r), Event::Accept, Party::Requester, false) {
        return Err(match e {
            Refusal::AlreadyAccepted => already_accepted(k, &r).await?,
            e => refusal(e),
        });
    }
    if k.now() >= r.starts_at {
        return Err(Error::conflict("aid-too-late", vec![]));
    }
    // Still eligible now (a certification may have lapsed, someone may have blocked the other).
    check_eligible(k, &r, supporter, false).await?;
    let idx = index::current(k).await?;
    let covered = idx
        .get(supporter)
        .is_some_and(|e| e.covers(Category::parse(&r.category).unwrap_or(Category::Other)));
    if !store::accept(k, &r.id, supporter, covered).await? {
        let now = store::require(&k.db, id).await?;
        if now.supporter_id.is_some() {
            return Err(already_accepted(k, &now).await?);
        }
        return Err(Error::invalid_with(
            "aid-no-such-offer",
            vec![("field", "supporter_id".into())],
        ));
    }
    let r = store::require(&k.db, id).await?;
    let name = crate::service::notices::name(k, &r.requester_id).await?;
    let notice = crate::model::notice::accepted(&name, &crate::service::notices::link(k, &r.id));
    crate::service::notices::notify(k, &[supporter.to_string()], &notice, &format!("aid:{}:accepted", r.id)).await?;
    Ok(r)
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct FeeInput {
    pub fee_per_hour: i64,
}

pub(crate) async fn propose_fee_for(k: &Kernel, actor: &Actor, id: &str, fee: i64) -> Result<()> {
    let r = store::require(&k.db, id).await?;
    if !may(actor, Action::ActOnAid, &resource(&r)) {
        return Err(Error::Forbidden);
    }
    if !lifecycle::may_change_fee(state_of(&r), party(actor, &r)) {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    if fee != 0 {
        crate::model::check_fee(fee, fees(k)).map_err(invalid)?;
    }
    store::propose_fee(k, &r.id, fee, me(actor)?).await?;
    let other = if party(actor, &r) == Party::Requester {
        r.supporter_id.clone().unwrap_or_default()
    } else {
        r.requester_id.clone()
    };
    let notice = crate::model::notice::fee_proposed(fee, &crate::service::notices::link(k, &r.id));
    crate::service::notices::notify(k, &[other], &notice, &format!("aid:{}:fee:{fee}:{}", r.id, k.now())).await
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

/// Confirm the proposed fee — the one the confirming party saw (a re-proposal in between is not agreed to).
pub(crate) async fn confirm_fee_for(k: &Kernel, actor: &Actor, id: &str, fee: i64) -> Result<()> {
    let r = store::require(&k.db, id).await?;
    if !may(actor, Action::ActOnAid, &resource(&r)) {
        return Err(Error::Forbidden);
    }
    if !store::confirm_fee(k, &r.id, fee, me(actor)?).await? {
        return Err(Error::conflict("aid-no-fee-to-confirm", vec![]));
    }
    Ok(())
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

/// done, no-show or cancel.
pub(crate) async fn act_for(k: &Kernel, actor: &Actor, id: &str, what: &str) -> Result<Request> {
    let r = store::require(&k.db, id).await?;
    let event = match what {
        "done" => Event::Complete,
        "no_show" => Event::NoShow,
        "cancel" => Event::Cancel,
        _ => return Err(Error::not_found("aid-request-not-found")),
    };
    let started = k.now() >= r.starts_at;
    let next = lifecycle::apply(state_of(&r), event, party(actor, &r), started).map_err(refusal)?;
    if !store::transition(k, &r.id, &r.state, next.as_str()).await? {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    kernel::store::audit::append(
        k,
        AuditRecord::new(actor.person_id.as_deref(), "aid.state", format!("aid/{}", r.id)).reason(next.as_str()),
    )
    .await?;
    // The other party hears of it.
    let other = if party(actor, &r) == Party::Requester {
        r.supporter_id.clone()
    } else {
        Some(r.requester_id.clone())
    };
    if let Some(other) = other {
        let who = crate::service::notices::name(k, me(actor)?).await?;
        let notice = crate::model::notice::state_changed(&who, next.as_str(), &crate::service::notices::link(k, &r.id));
        crate::service::notices::notify(k, &[other], &notice, &format!("aid:{}:state:{}", r.id, next.as_str())).await?;
    }
    store::require(&k.db, id).await
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ActInput {
    /// `done` (either party, once the time has begun), `no_show` (the requester), `cancel` (the requester).
    pub action: String,
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SettleInput {
    /// Yen; must be the agreed fee for the time (change the fee, both confirming, to pay otherwise).
    #[serde(default)]
    pub amount: Option<i64>,
    /// `cash`, `bank_transfer` or `external`.
    pub method: String,
    /// The payment service's reference for `external` (or a transfer's).
    #[serde(default)]
    pub reference: Option<String>,
}

pub(crate) async fn settle_for(k: &Kernel, actor: &Actor, id: &str, input: &SettleInput) -> Result<Settlement> {
    let r = store::require(&k.db, id).await?;
    lifecycle::apply(state_of(&r), Event::Settle, party(actor, &r), true).map_err(refusal)?;
    if !["cash", "bank_transfer", "external"].contains(&input.method.as_str()) {
        return Err(Error::invalid_with(
            "aid-method-invalid",
            vec![("field", "method".into())],
        ));
    }
    let reference = input.reference.as_deref().map(str::trim).filter(|s| !s.is_empty());
    if input.method == "external" && reference.is_none() {
        return Err(Error::invalid_with(
            "aid-reference-required",
            vec![("field", "reference".into())],
        ));
    }
    // One party records the payment; the amount is what both agreed, never typed in by one.
    let agreed = r
        .fee_agreed
        .map(|f| crate::model::amount(f, r.duration_minutes))
        .unwrap_or(0);
    let amount = input.amount.unwrap_or(agreed);
    if amount != agreed {
        return Err(Error::invalid_with(
            "aid-amount-not-agreed",
            vec![("field", "amount".into()), ("amount", agreed.to_string())],
        ));
    }
    if !store::settle(k, &r.id, amount, &input.method, reference, me(actor)?).await? {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    store::settlement(&k.db, &r.id).await?.ok_or(Error::Forbidden)
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// 1–5.
    pub rating: i64,
    #[serde(default)]
    pub comment: Option<String>,
}

pub(crate) async fn review_for(k: &Kernel, actor: &Actor, id: &str, input: &ReviewInput) -> Result<()> {
    let r = store::require(&k.db, id).await?;
    let p = party(actor, &r);
    lifecycle::may_review(state_of(&r), p).map_err(|key| {
        if key == "aid-not-yours" {
            Error::Forbidden
        } else {
            Error::invalid(key)
        }
    })?;
    if !(1..=5).contains(&input.rating) {
        return Err(Error::invalid_with(
            "aid-rating-invalid",
            vec![("field", "rating".into())],
        ));
    }
    let comment = input.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > 1000) {
        return Err(Error::invalid_with(
            "aid-comment-too-long",
            vec![("field", "comment".into())],
        ));
    }
    let reviewee = if p == Party::Requester {
        r.supporter_id.clone().unwrap_or_default()
    } else {
        r.requester_id.clone()
    };
    if !store::review(k, &r.id, me(actor)?, &reviewee, input.rating, comment).await? {
        return Err(Error::conflict("aid-already-reviewed", vec![]));
    }
    Ok(())
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    pub reason: String,
    /// Also block them: never matched with me again.
    #[serde(default)]
    pub block: bool,
}

pub(crate) async fn report_for(k: &Kernel, actor: &Actor, id: &str, input: &ReportInput) -> Result<()> {
    let r = store::require(&k.db, id).await?;
    let p = party(actor, &r);
    let me = me(actor)?;
    let other = match p {
        Party::Requester => r.supporter_id.clone(),
        Party::Supporter => Some(r.requester_id.clone()),
        Party::Other if store::offers(&k.db, &r.id).await?.iter().any(|o| o.supporter_id == me) => {
            Some(r.requester_id.clone())
        }
        Party::Other => None,
    }
    .ok_or(Error::Forbidden)?;
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 1000 {
        return Err(Error::invalid_with(
            "aid-reason-invalid",
            vec![("field", "reason".into())],
        ));
    }
    store::report(k, &r.id, me, &other, reason).await?;
    if input.block {
        store::block(k, me, &other).await?;
    }
    Ok(())
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

#[derive(Serialize, ToSchema)]
pub struct LinkState {
    /// Both have said 「知り合い」.
    pub mutual: bool,
}

#[utoipa::path(post, path = "/aid/links/{person}", tag = "aid",
    description = "Say someone is 「知り合い」; it counts for matching once they say it back.",
    responses((status = 200, body = LinkState), (status = 400), (status = 401)))]
async fn link(State(k): State<Kernel>, auth: Auth, Path(person): Path<String>) -> Result<Json<LinkState>> {
    let me = auth.person_id()?.to_string();
    if person == me {
        return Err(Error::invalid_with("aid-link-self", vec![("field", "person".into())]));
    }
    kernel::store::people::require_active(&k.db, &person).await?;
    let mutual = store::link(&k, &me, &person).await?;
    if mutual {
        store::bump_index(&k.db).await?;
    }
    Ok(Json(LinkState { mutual }))
}

#[utoipa::path(post, path = "/aid/blocks/{person}", tag = "aid",
    description = "Block someone: never matched with me, either way.",
    responses((status = 204), (status = 401)))]
async fn block(State(k): State<Kernel>, auth: Auth, Path(person): Path<String>) -> Result<StatusCode> {
    let me = auth.person_id()?.to_string();
    kernel::store::people::require_active(&k.db, &person).await?;
    store::block(&k, &me, &person).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The coordinator's queue: unmatched requests older than `coordinator_after_hours`, each with
/// its best suggestion.
#[derive(Serialize, ToSchema)]
pub struct QueueItem {
    #[serde(flatten)]
    pub request: Request,
    pub requester_name: String,
    pub area_name: String,
    pub waiting_hours: i64,
    pub suggestions: Vec<SuggestionView>,
}

pub(crate) async fn queue_for(k: &Kernel, actor: &Actor, lang: Lang) -> Result<Vec<QueueItem>> {
    if !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let now = k.now();
    let before = now - crate::config::of(k).coordinator_after_hours as i64 * 3_600_000;
    let mut out = Vec::new();
    for r in store::unmatched_since(&k.db, before, now).await? {
        let suggestions = suggestions_for(k, actor, &r, lang).await?.into_iter().take(3).collect();
        out.push(QueueItem {
            requester_name: crate::service::notices::name(k, &r.requester_id).await?,
            area_name: kernel::store::areas::get(&k.db, &r.area_id)
                .await?
                .map(|a| a.name)
                .unwrap_or_default(),
            waiting_hours: (now - r.created_at) / 3_600_000,
            suggestions,
            request: r,
        });
    }
    kernel::store::audit::append(
        k,
        AuditRecord::new(actor.person_id.as_deref(), "aid.queue", "aid/queue")
            .reason(&format!("{} requests", out.len())),
    )
    .await?;
    Ok(out)
}

#[utoipa::path(get, path = "/aid/coordinator/queue", tag = "aid",
    responses((status = 200, body = [QueueItem]), (status = 403)))]
async fn queue(State(k): State<Kernel>, auth: Auth, headers: axum::http::HeaderMap) -> Result<Json<Vec<QueueItem>>> {
    auth.person_id()?;
    let lang = Lang::from_accept_language(headers.get("accept-language").and_then(|v| v.to_str().ok()));
    Ok(Json(queue_for(&k, &auth.0, lang).await?))
}

pub(crate) async fn coordinator_suggest_for(k: &Kernel, actor: &Actor, id: &str, supporter: &str) -> Result<()> {
    if !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let r = store::require(&k.db, id).await?;
    if !matches!(state_of(&r), St::Open | St::Offered) {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    check_eligible(k, &r, supporter, false).await?;
    store::coordinator_suggest(k, &r.id, supporter, me(actor)?).await?;
    let link = crate::service::notices::link(k, &r.id);
    let requester = crate::service::notices::name(k, &r.requester_id).await?;
    let helper = crate::service::notices::name(k, supporter).await?;
    let notice = crate::model::notice::coordinator_to_requester(&helper, &link);
    crate::service::notices::notify(
        k,
        std::slice::from_ref(&r.requester_id),
        &notice,
        &format!("aid:{}:coord:{supporter}:r", r.id),
    )
    .await?;
    let notice = crate::model::notice::coordinator_to_supporter(&requester, &r.category, &link);
    crate::service::notices::notify(
        k,
        &[supporter.to_string()],
        &notice,
        &format!("aid:{}:coord:{supporter}:s", r.id),
    )
    .await
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
