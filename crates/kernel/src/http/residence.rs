//! A resident makes themself reachable: where they live (町丁目 from a list, an address typed or
//! the map), their household (joined by its code or made), their e-mail and phone with consent.
//! The forms on My Page and the JSON API under `/api/v1/me/…` call the same store functions.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::pages::{MeForm, render_me};
use super::{ApiJson, Auth};
use crate::model::geometry::Point;
use crate::model::household::HouseholdWithMembers;
use crate::model::person::Person;
use crate::model::policy::{Action, Resource};
use crate::model::residence::AddressMatch;
use crate::store::residence::{self, Contact, Reach};
use crate::store::{self, areas};
use crate::web::Viewer;
use crate::{Error, Kernel, Result};

/// The person acting on themself: the policy's word on editing one's own record.
async fn own_resource(k: &Kernel, p: &Person) -> Result<Resource> {
    Ok(Resource::Person {
        id: p.id.clone(),
        household_id: store::people::household_of(&k.db, &p.id).await?,
        area_path: areas::path(&k.db, p.area_id.as_deref()).await?,
    })
}

async fn acting_person(k: &Kernel, v: &Viewer) -> Result<Person> {
    let p = v.require_login()?.clone();
    v.require(Action::EditPerson, &own_resource(k, &p).await?)?;
    Ok(p)
}

// ---- pages ----

pub fn pages() -> Router<Kernel> {
    Router::new()
        .route("/me/address", post(address_form))
        .route("/me/household/join", post(join_form))
        .route("/me/household/create", post(create_form))
        .route("/me/contact", post(contact_form))
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A refusal shown next to the form it came from, with what was typed; anything else as an error.
async fn refused(k: &Kernel, v: &Viewer, section: &'static str, e: Error, mut form: MeForm) -> Result<Response> {
    let Some(text) = v.refusal_text(&e) else { return Err(e) };
    form.section = Some(section);
    form.error = Some(text);
    render_me(k, v, None, form, StatusCode::BAD_REQUEST).await
}

#[derive(Deserialize, Default)]
struct AddressForm {
    #[serde(default)]
    area: String,
    #[serde(default)]
    address: String,
}

async fn address_form(State(k): State<Kernel>, v: Viewer, Form(f): Form<AddressForm>) -> Result<Response> {
    let person = acting_person(&k, &v).await?;
    let typed = MeForm {
        address_text: f.address.clone(),
        ..Default::default()
    };
    let address = Some(f.address.as_str()).filter(|a| !a.trim().is_empty());
    let area = if !f.area.trim().is_empty() {
        f.area.trim().to_string()
    } else if let Some(text) = address {
        match residence::find_address(&k.db, text).await? {
            AddressMatch::One(id) => id,
            AddressMatch::Several(ids) => {
                // Not an error: a question. The person picks one of the candidates.
                let mut candidates = Vec::new();
                for id in ids {
                    candidates.extend(areas::get(&k.db, &id).await?);
                }
                let form = MeForm {
                    section: Some("address"),
                    candidates,
                    ..typed
                };
                return render_me(&k, &v, None, form, StatusCode::OK).await;
            }
            AddressMatch::None => {
                let e = Error::invalid_with("address-no-match", vec![("text", text.trim().to_string())]);
                return refused(&k, &v, "address", e, typed).await;
            }
        }
    } else {
        return refused(&k, &v, "address", Error::invalid("address-missing"), typed).await;
    };
    match residence::set_area(&k, &person, &area, address).await {
        Ok(_) => Ok(see_other("/me?notice=area-set#address")),
        Err(e) => refused(&k, &v, "address", e, typed).await,
    }
}

#[derive(Deserialize, Default)]
struct JoinForm {
    #[serde(default)]
    code: String,
}

async fn join_form(State(k): State<Kernel>, v: Viewer, Form(f): Form<JoinForm>) -> Result<Response> {
    let person = acting_person(&k, &v).await?;
    match residence::join_household(&k, &person, &f.code).await {
        Ok(_) => Ok(see_other("/me?notice=household-joined#household")),
        Err(e) => {
            let form = MeForm {
                household_code: f.code,
                ..Default::default()
            };
            refused(&k, &v, "household", e, form).await
        }
    }
}

#[derive(Deserialize, Default)]
struct CreateForm {
    #[serde(default)]
    name: String,
}

async fn create_form(State(k): State<Kernel>, v: Viewer, Form(f): Form<CreateForm>) -> Result<Response> {
    let person = acting_person(&k, &v).await?;
    match residence::create_household(&k, &person, &f.name).await {
        Ok(_) => Ok(see_other("/me?notice=household-created#household")),
        Err(e) => {
            let form = MeForm {
                household_name: Some(f.name),
                ..Default::default()
            };
            refused(&k, &v, "household", e, form).await
        }
    }
}

#[derive(Deserialize, Default)]
struct ContactForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    consent: Option<String>,
}

fn contact_kind(kind: &str) -> Result<Contact> {
    match kind {
        "email" => Ok(Contact::Email),
        "phone" => Ok(Contact::Phone),
        other => Err(Error::invalid_with(
            "contact-kind-unknown",
            vec![("kind", other.to_string())],
        )),
    }
}

async fn contact_form(State(k): State<Kernel>, v: Viewer, Form(f): Form<ContactForm>) -> Result<Response> {
    let person = acting_person(&k, &v).await?;
    let result = match contact_kind(&f.kind) {
        Ok(kind) => residence::set_contact(&k, &person, kind, &f.value, f.consent.is_some()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(see_other("/me?notice=contact-saved#contacts")),
        Err(e) => {
            let mut form = MeForm::default();
            if f.kind == "phone" {
                form.phone = Some(f.value);
            } else {
                form.email = Some(f.value);
            }
            refused(&k, &v, if f.kind == "phone" { "phone" } else { "email" }, e, form).await
        }
    }
}

// ---- JSON API ----

pub fn api() -> OpenApiRouter<Kernel> {
    OpenApiRouter::new()
        .routes(routes!(put_address))
        .routes(routes!(my_reach))
        .routes(routes!(join_household))
        .routes(routes!(create_household))
        .routes(routes!(household_code))
        .routes(routes!(put_contact))
}

async fn api_person(k: &Kernel, auth: &Auth) -> Result<Person> {
    let p = store::people::require(&k.db, auth.person_id()?).await?;
    auth.require(Action::EditPerson, &own_resource(k, &p).await?)?;
    Ok(p)
}

/// Where the person lives: one of `area` (a 町丁目's id or code), `address` (as written, matched
/// against the 町丁目 names and kana) or `lat`/`lon` (a point inside a 町丁目).
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
struct AddressInput {
    #[serde(default)]
    area: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    lon: Option<f64>,
}

#[derive(Serialize, ToSchema)]
struct AreaRef {
    id: String,
    code: String,
    name: String,
}

#[derive(Serialize, ToSchema)]
struct MyAddress {
    area: AreaRef,
    address: Option<String>,
    reach: Reach,
}

#[utoipa::path(put, path = "/me/address", tag = "me", request_body = AddressInput,
    description = "Set the 町丁目 the person lives in. An address that matches several 町丁目 is refused naming them; nothing changes on a refusal.",
    responses((status = 200, body = MyAddress), (status = 400, description = "no or several matching areas, not a 町丁目, a point outside the town"), (status = 401)))]
async fn put_address(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<AddressInput>,
) -> Result<Json<MyAddress>> {
    let person = api_person(&k, &auth).await?;
    let address = input.address.as_deref().filter(|a| !a.trim().is_empty());
    let area = match (&input.area, address, input.lat, input.lon) {
        (Some(a), _, _, _) if !a.trim().is_empty() => a.trim().to_string(),
        (_, _, Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(Error::invalid_with(
                    "query-invalid",
                    vec![("detail", "lat -90..90, lon -180..180".into())],
                ));
            }
            match areas::at_point(&k.db, Point { lon, lat }).await? {
                Some(a) => a.id,
                None => return Err(Error::invalid("address-point-outside")),
            }
        }
        (_, Some(text), _, _) => match residence::find_address(&k.db, text).await? {
            AddressMatch::One(id) => id,
            AddressMatch::Several(ids) => {
                let mut names = Vec::new();
                for id in ids {
                    names.extend(areas::get(&k.db, &id).await?.map(|a| a.name));
                }
                return Err(Error::invalid_with(
                    "address-ambiguous",
                    vec![("text", text.trim().to_string()), ("areas", names.join("、"))],
                ));
            }
            AddressMatch::None => {
                return Err(Error::invalid_with(
                    "address-no-match",
                    vec![("text", text.trim().to_string())],
                ));
            }
        },
        _ => return Err(Error::invalid("address-missing")),
    };
    let (person, area) = residence::set_area(&k, &person, &area, address).await?;
    let reach = residence::reach(&k.db, &person).await?;
    Ok(Json(MyAddress {
        area: AreaRef {
            id: area.id,
            code: area.code,
            name: area.name,
        },
        address: person.address,
        reach,
    }))
}

#[utoipa::path(get, path = "/me/reach", tag = "me", description = "What keeps alerts and safety checks from reaching the person (no area, no household).",
    responses((status = 200, body = Reach), (status = 401)))]
async fn my_reach(State(k): State<Kernel>, auth: Auth) -> Result<Json<Reach>> {
    let person = store::people::require(&k.db, auth.person_id()?).await?;
    Ok(Json(residence::reach(&k.db, &person).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct JoinInput {
    /// The code shown on the representative's My Page (`ABCD-2345`; case, width and hyphen do not matter).
    code: String,
}

#[utoipa::path(post, path = "/me/household/join", tag = "me", request_body = JoinInput,
    description = "Join the household with this code, leaving any other. A wrong code changes nothing.",
    responses((status = 200, body = HouseholdWithMembers), (status = 400, description = "no household has this code"), (status = 401)))]
async fn join_household(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<JoinInput>,
) -> Result<Json<HouseholdWithMembers>> {
    let person = api_person(&k, &auth).await?;
    let h = residence::join_household(&k, &person, &input.code).await?;
    Ok(Json(store::households::with_members(&k.db, &h.id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewHouseholdInput {
    name: String,
}

#[utoipa::path(post, path = "/me/household", tag = "me", request_body = NewHouseholdInput,
    description = "Make a household of the person alone, in their 町丁目; they represent it.",
    responses((status = 201, body = HouseholdWithMembers), (status = 400), (status = 401)))]
async fn create_household(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<NewHouseholdInput>,
) -> Result<(StatusCode, Json<HouseholdWithMembers>)> {
    let person = api_person(&k, &auth).await?;
    let h = residence::create_household(&k, &person, &input.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(store::households::with_members(&k.db, &h.id).await?),
    ))
}

#[derive(Serialize, ToSchema)]
struct HouseholdCode {
    code: String,
}

#[utoipa::path(get, path = "/me/household/code", tag = "me", description = "The join code of the household the person represents.",
    responses((status = 200, body = HouseholdCode), (status = 403, description = "not the representative"), (status = 404, description = "no household"), (status = 401)))]
async fn household_code(State(k): State<Kernel>, auth: Auth) -> Result<Json<HouseholdCode>> {
    let id = auth.person_id()?.to_string();
    let h = store::people::household_of(&k.db, &id)
        .await?
        .ok_or_else(|| Error::not_found("household-not-found"))?;
    let h = store::households::require(&k.db, &h).await?;
    auth.require(
        Action::ManageHousehold,
        &Resource::Household {
            id: h.id.clone(),
            representative_id: h.representative_id.clone(),
            area_path: areas::path(&k.db, h.area_id.as_deref()).await?,
        },
    )?;
    Ok(Json(HouseholdCode {
        code: residence::join_code(&k, &h.id).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactInput {
    /// `email` or `phone`.
    kind: String,
    /// The address or number; empty removes it and withdraws its consent.
    #[serde(default)]
    value: String,
    /// The person agrees to the purpose (required with a value); recorded as a consent record.
    #[serde(default)]
    consent: bool,
}

#[utoipa::path(put, path = "/me/contacts", tag = "me", request_body = ContactInput,
    description = "Add, change or remove the e-mail address or phone number. A value needs `consent: true`, recorded as a consent record for its purpose.",
    responses((status = 200, body = Person), (status = 400, description = "no consent, a malformed value"), (status = 401)))]
async fn put_contact(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<ContactInput>,
) -> Result<Json<Person>> {
    let person = api_person(&k, &auth).await?;
    let kind = contact_kind(&input.kind)?;
    Ok(Json(
        residence::set_contact(&k, &person, kind, &input.value, input.consent).await?,
    ))
}
