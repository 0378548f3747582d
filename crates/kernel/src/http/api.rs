//! The kernel's JSON API under `/api/v1`: the public directory (areas, organisations), people,
//! households, identifiers, consents, tokens, and the audit log. Handlers are thin: parse →
//! policy → store → respond; every read of someone else's personal data writes an audit entry.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiQuery, Auth};
use crate::model::Id;
use crate::model::area::Area;
use crate::model::audit::{AuditEntry, AuditRecord};
use crate::model::consent::{Consent, ConsentInput};
use crate::model::geometry::Point;
use crate::model::household::{Household, HouseholdInput, HouseholdWithMembers};
use crate::model::identifier::{IdentifierInput, LinkedIdentifier};
use crate::model::org::{Membership, MembershipInput, Organisation, OrganisationInput};
use crate::model::person::{Person, PersonInput, PersonPublic};
use crate::model::policy::{Action, Resource};
use crate::store::accounts::ApiToken;
use crate::store::{self, audit};
use crate::{Error, Kernel, Result, service};

pub fn router() -> OpenApiRouter<Kernel> {
    OpenApiRouter::new()
        .routes(routes!(list_areas))
        .routes(routes!(area_at_point))
        .routes(routes!(get_area))
        .routes(routes!(import_areas))
        .routes(routes!(list_organisations, create_organisation))
        .routes(routes!(get_organisation))
        .routes(routes!(organisation_members))
        .routes(routes!(create_membership))
        .routes(routes!(delete_membership))
        .routes(routes!(list_people, create_person))
        .routes(routes!(get_person, update_person))
        .routes(routes!(person_identifiers, link_identifier))
        .routes(routes!(unlink_identifier))
        .routes(routes!(lookup_identifier))
        .routes(routes!(person_consents, grant_consent))
        .routes(routes!(withdraw_consent))
        .routes(routes!(person_audit))
        .routes(routes!(create_household))
        .routes(routes!(get_household))
        .routes(routes!(add_household_member))
        .routes(routes!(me))
        .routes(routes!(my_tokens, create_my_token))
        .routes(routes!(revoke_my_token))
        .routes(routes!(audit_log))
        .routes(routes!(audit_verify))
        .merge(super::residence::api())
}

/// Record a read of someone's personal data, unless they are reading their own.
async fn audit_read(k: &Kernel, auth: &Auth, action: Action, subject: &str, resource: String) -> Result<()> {
    let rec = service::personal(&auth.0, action.as_str(), subject, resource);
    service::record_alone(k, rec.into_iter().collect()).await
}

async fn person_resource(k: &Kernel, p: &Person) -> Result<Resource> {
    Ok(Resource::Person {
        id: p.id.clone(),
        household_id: store::people::household_of(&k.db, &p.id).await?,
        area_path: store::areas::path(&k.db, p.area_id.as_deref()).await?,
    })
}

async fn household_resource(k: &Kernel, h: &Household) -> Result<Resource> {
    Ok(Resource::Household {
        id: h.id.clone(),
        representative_id: h.representative_id.clone(),
        area_path: store::areas::path(&k.db, h.area_id.as_deref()).await?,
    })
}

// ---- areas (public directory) ----

#[utoipa::path(get, path = "/areas", tag = "areas", responses((status = 200, body = [Area])))]
async fn list_areas(State(k): State<Kernel>) -> Result<Json<Vec<Area>>> {
    Ok(Json(store::areas::list(&k.db).await?))
}

#[utoipa::path(get, path = "/areas/{id}", tag = "areas", params(("id" = String, Path, description = "area id or code")),
    responses((status = 200, body = Area), (status = 404)))]
async fn get_area(State(k): State<Kernel>, Path(id): Path<String>) -> Result<Json<Area>> {
    store::areas::get(&k.db, &id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("area-not-found"))
}

#[derive(Deserialize, IntoParams)]
struct PointQuery {
    lat: f64,
    lon: f64,
}

#[utoipa::path(get, path = "/areas/at", tag = "areas", params(PointQuery),
    responses((status = 200, description = "the most specific area containing the point", body = Area), (status = 404)))]
async fn area_at_point(State(k): State<Kernel>, ApiQuery(q): ApiQuery<PointQuery>) -> Result<Json<Area>> {
    if !(-90.0..=90.0).contains(&q.lat) || !(-180.0..=180.0).contains(&q.lon) {
        return Err(Error::invalid_with(
            "query-invalid",
            vec![("detail", "lat -90..90, lon -180..180".into())],
        ));
    }
    store::areas::at_point(&k.db, Point { lon: q.lon, lat: q.lat })
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("area-not-found"))
}

#[derive(Serialize, ToSchema)]
struct ImportResult {
    imported: usize,
}

#[utoipa::path(post, path = "/areas/import", tag = "areas", request_body(content = Object, description = "GeoJSON FeatureCollection"),
    responses((status = 200, body = ImportResult), (status = 400, description = "names the bad feature; nothing imported")))]
async fn import_areas(State(k): State<Kernel>, auth: Auth, ApiJson(doc): ApiJson<Value>) -> Result<Json<ImportResult>> {
    auth.require(Action::ImportAreas, &Resource::Town)?;
    let imported = service::import_areas(&k, &auth.0, &doc, |n| format!("areas:{n}")).await?;
    Ok(Json(ImportResult { imported }))
}

// ---- organisations and memberships ----

#[utoipa::path(get, path = "/organisations", tag = "organisations", responses((status = 200, body = [Organisation])))]
async fn list_organisations(State(k): State<Kernel>) -> Result<Json<Vec<Organisation>>> {
    Ok(Json(store::orgs::list(&k.db).await?))
}

#[utoipa::path(post, path = "/organisations", tag = "organisations", request_body = OrganisationInput,
    responses((status = 201, body = Organisation), (status = 400), (status = 403)))]
async fn create_organisation(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<OrganisationInput>,
) -> Result<(StatusCode, Json<Organisation>)> {
    auth.require(Action::ManageOrganisations, &Resource::Town)?;
    let o = service::create_organisation(&k, &auth.0, input).await?;
    Ok((StatusCode::CREATED, Json(o)))
}

#[utoipa::path(get, path = "/organisations/{id}", tag = "organisations", responses((status = 200, body = Organisation), (status = 404)))]
async fn get_organisation(State(k): State<Kernel>, Path(id): Path<String>) -> Result<Json<Organisation>> {
    Ok(Json(store::orgs::require(&k.db, &id).await?))
}

#[utoipa::path(get, path = "/organisations/{id}/members", tag = "organisations", responses((status = 200, body = [Membership]), (status = 403)))]
async fn organisation_members(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<Membership>>> {
    auth.require(Action::ManageMemberships, &Resource::Organisation { id: id.clone() })?;
    store::orgs::require(&k.db, &id).await?;
    let members = store::orgs::members_of(&k.db, &id).await?;
    let records = members
        .iter()
        .map(|m| {
            AuditRecord::new(
                auth.0.person_id.as_deref(),
                "organisation.members",
                format!("organisation/{id}"),
            )
            .subject(&m.person_id)
        })
        .collect();
    service::record_alone(&k, records).await?;
    Ok(Json(members))
}

#[utoipa::path(post, path = "/memberships", tag = "organisations", request_body = MembershipInput,
    responses((status = 201, body = Membership), (status = 400), (status = 403), (status = 409)))]
async fn create_membership(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<MembershipInput>,
) -> Result<(StatusCode, Json<Membership>)> {
    auth.require(
        Action::ManageMemberships,
        &Resource::Organisation {
            id: input.organisation_id.clone(),
        },
    )?;
    let m = service::grant_role(
        &k,
        &auth.0,
        &input.person_id,
        &input.organisation_id,
        &input.role,
        input.area_id.as_deref(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

#[utoipa::path(delete, path = "/memberships/{id}", tag = "organisations", responses((status = 204), (status = 403), (status = 404)))]
async fn delete_membership(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode> {
    auth.require(Action::ManageMemberships, &Resource::Town)?;
    service::revoke_role(&k, &auth.0, &id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- people ----

#[derive(Deserialize, IntoParams)]
struct PeopleQuery {
    /// Area id or code: people living in it or below it.
    area: Option<String>,
    /// Page after this person id.
    after: Option<String>,
    /// At most this many (1–500, default 100).
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/people", tag = "people", params(PeopleQuery), responses((status = 200, body = [Person]), (status = 401), (status = 403)))]
async fn list_people(
    State(k): State<Kernel>,
    auth: Auth,
    ApiQuery(q): ApiQuery<PeopleQuery>,
) -> Result<Json<Vec<Person>>> {
    let area = match &q.area {
        Some(a) => Some(store::areas::require(&k.db, a).await?),
        None => None,
    };
    let resource = match &area {
        Some(a) => Resource::Area {
            area_path: store::areas::path(&k.db, Some(&a.id)).await?,
        },
        None => Resource::Town,
    };
    auth.require(Action::ListPeople, &resource)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let people = store::people::list(&k.db, area.as_ref().map(|a| a.id.as_str()), q.after.as_deref(), limit).await?;
    let scope = area.map(|a| a.code).unwrap_or_else(|| "town".into());
    // One entry per person listed, so each sees the read in their own access log.
    let records = people
        .iter()
        .map(|p| {
            AuditRecord::new(
                auth.0.person_id.as_deref(),
                Action::ListPeople.as_str(),
                format!("people?area={scope}"),
            )
            .subject(&p.id)
        })
        .collect();
    service::record_alone(&k, records).await?;
    Ok(Json(people))
}

#[utoipa::path(post, path = "/people", tag = "people", request_body = PersonInput, responses((status = 201, body = Person), (status = 400), (status = 403)))]
async fn create_person(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<PersonInput>,
) -> Result<(StatusCode, Json<Person>)> {
    auth.require(Action::CreatePerson, &Resource::Town)?;
    let p = service::create_person(&k, &auth.0, input).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

#[utoipa::path(get, path = "/people/{id}", tag = "people", responses((status = 200, body = Person), (status = 403), (status = 404)))]
async fn get_person(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Person>> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::ReadPerson, &person_resource(&k, &p).await?)?;
    audit_read(&k, &auth, Action::ReadPerson, &p.id, format!("person/{}", p.id)).await?;
    Ok(Json(p))
}

#[utoipa::path(put, path = "/people/{id}", tag = "people", request_body = PersonInput, responses((status = 200, body = Person), (status = 400), (status = 403)))]
async fn update_person(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<PersonInput>,
) -> Result<Json<Person>> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::EditPerson, &person_resource(&k, &p).await?)?;
    // Contact details are kept only for a purpose the person agreed to (as at sign-up).
    let consents = store::consents::of_person(&k.db, &id).await?;
    let consented = |scope: &str| consents.iter().any(|c| c.is_active() && c.scope == scope);
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if given(&input.email).is_some_and(|e| Some(e) != p.email) && !consented("email") {
        return Err(Error::invalid("consent-needed-email"));
    }
    if given(&input.phone).is_some_and(|e| Some(e) != p.phone) && !consented("phone") {
        return Err(Error::invalid("consent-needed-phone"));
    }
    let p = service::update_person(&k, &auth.0, &id, input).await?;
    Ok(Json(p))
}

// ---- linked identifiers ----

#[utoipa::path(get, path = "/people/{id}/identifiers", tag = "identifiers", responses((status = 200, body = [LinkedIdentifier]), (status = 403)))]
async fn person_identifiers(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Vec<LinkedIdentifier>>> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::ReadIdentifiers, &person_resource(&k, &p).await?)?;
    audit_read(
        &k,
        &auth,
        Action::ReadIdentifiers,
        &p.id,
        format!("person/{}/identifiers", p.id),
    )
    .await?;
    Ok(Json(store::identifiers::of_person(&k.db, &id).await?))
}

#[utoipa::path(post, path = "/people/{id}/identifiers", tag = "identifiers", request_body = IdentifierInput,
    responses((status = 201, body = LinkedIdentifier), (status = 400), (status = 403), (status = 409, description = "the kind+value is linked to someone already")))]
async fn link_identifier(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<IdentifierInput>,
) -> Result<(StatusCode, Json<LinkedIdentifier>)> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::ManageIdentifiers, &person_resource(&k, &p).await?)?;
    let li = service::link_identifier(&k, &auth.0, &id, input).await?;
    Ok((StatusCode::CREATED, Json(li)))
}

#[utoipa::path(delete, path = "/people/{id}/identifiers/{kind}/{value}", tag = "identifiers", responses((status = 204), (status = 403), (status = 404)))]
async fn unlink_identifier(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, kind, value)): Path<(String, String, String)>,
) -> Result<StatusCode> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::ManageIdentifiers, &person_resource(&k, &p).await?)?;
    service::unlink_identifier(&k, &auth.0, &id, &kind, &value).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
struct IdentifiedPerson {
    identifier: LinkedIdentifier,
    person: PersonPublic,
}

#[utoipa::path(get, path = "/identifiers/{kind}/{value}", tag = "identifiers",
    responses((status = 200, body = IdentifiedPerson), (status = 403), (status = 404)))]
async fn lookup_identifier(
    State(k): State<Kernel>,
    auth: Auth,
    Path((kind, value)): Path<(String, String)>,
) -> Result<Json<IdentifiedPerson>> {
    auth.require(Action::LookupIdentifier, &Resource::Town)?;
    let li = store::identifiers::lookup(&k.db, &kind, &value)
        .await?
        .ok_or_else(|| Error::not_found("identifier-not-found"))?;
    let p = store::people::require(&k.db, &li.person_id).await?;
    audit_read(&k, &auth, Action::LookupIdentifier, &p.id, format!("identifier/{kind}")).await?;
    Ok(Json(IdentifiedPerson {
        person: PersonPublic::from(&p),
        identifier: li,
    }))
}

// ---- consents and the person's own audit trail ----

#[utoipa::path(get, path = "/people/{id}/consents", tag = "consents", responses((status = 200, body = [Consent]), (status = 403)))]
async fn person_consents(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Vec<Consent>>> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::ManageConsents, &person_resource(&k, &p).await?)?;
    Ok(Json(store::consents::of_person(&k.db, &id).await?))
}

#[utoipa::path(post, path = "/people/{id}/consents", tag = "consents", request_body = ConsentInput, responses((status = 201, body = Consent), (status = 400), (status = 403)))]
async fn grant_consent(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<ConsentInput>,
) -> Result<(StatusCode, Json<Consent>)> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::ManageConsents, &person_resource(&k, &p).await?)?;
    let c = store::consents::grant(&k, &id, auth.person_id()?, input).await?;
    Ok((StatusCode::CREATED, Json(c)))
}

#[utoipa::path(post, path = "/people/{id}/consents/{consent_id}/withdraw", tag = "consents", responses((status = 200, body = Consent), (status = 403), (status = 404)))]
async fn withdraw_consent(
    State(k): State<Kernel>,
    auth: Auth,
    Path((id, consent_id)): Path<(String, String)>,
) -> Result<Json<Consent>> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::ManageConsents, &person_resource(&k, &p).await?)?;
    Ok(Json(store::consents::withdraw(&k, &id, &consent_id).await?))
}

#[utoipa::path(get, path = "/people/{id}/audit", tag = "audit", description = "Who read or changed this person's data: for the person themself.",
    responses((status = 200, body = [AuditEntry]), (status = 403)))]
async fn person_audit(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Vec<AuditEntry>>> {
    let p = store::people::require(&k.db, &id).await?;
    auth.require(Action::ReadPersonAudit, &person_resource(&k, &p).await?)?;
    Ok(Json(audit::about_person(&k.db, &id, 500).await?))
}

// ---- households ----

#[utoipa::path(post, path = "/households", tag = "households", request_body = HouseholdInput, responses((status = 201, body = Household), (status = 403)))]
async fn create_household(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<HouseholdInput>,
) -> Result<(StatusCode, Json<Household>)> {
    auth.require(Action::CreatePerson, &Resource::Town)?;
    Ok((StatusCode::CREATED, Json(store::households::create(&k, input).await?)))
}

#[utoipa::path(get, path = "/households/{id}", tag = "households", responses((status = 200, body = HouseholdWithMembers), (status = 403), (status = 404)))]
async fn get_household(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<HouseholdWithMembers>> {
    let h = store::households::require(&k.db, &id).await?;
    auth.require(Action::ReadHousehold, &household_resource(&k, &h).await?)?;
    let hm = store::households::with_members(&k.db, &id).await?;
    if auth.0.household_id.as_deref() != Some(id.as_str()) {
        let records = hm
            .members
            .iter()
            .filter_map(|m| {
                service::personal(
                    &auth.0,
                    Action::ReadHousehold.as_str(),
                    &m.person_id,
                    format!("household/{id}"),
                )
            })
            .collect();
        service::record_alone(&k, records).await?;
    }
    Ok(Json(hm))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MemberInput {
    person_id: Id,
    #[serde(default)]
    relation: Option<String>,
    /// Make this member the one who acts for the household.
    #[serde(default)]
    representative: bool,
}

#[utoipa::path(post, path = "/households/{id}/members", tag = "households", request_body = MemberInput,
    responses((status = 200, body = HouseholdWithMembers), (status = 403), (status = 404)))]
async fn add_household_member(
    State(k): State<Kernel>,
    auth: Auth,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<MemberInput>,
) -> Result<Json<HouseholdWithMembers>> {
    let h = store::households::require(&k.db, &id).await?;
    auth.require(Action::ManageHousehold, &household_resource(&k, &h).await?)?;
    // A representative adds people who have no household yet; moving someone out of another
    // household, or choosing who acts for one, needs the city.
    let current = store::people::household_of(&k.db, &input.person_id).await?;
    if input.representative || current.as_ref().is_some_and(|c| c != &id) {
        auth.require(Action::AssignHouseholds, &Resource::Town)?;
    }
    service::add_household_member(
        &k,
        &auth.0,
        &id,
        &input.person_id,
        input.relation.as_deref(),
        input.representative,
    )
    .await?;
    Ok(Json(store::households::with_members(&k.db, &id).await?))
}

// ---- me and my tokens ----

#[derive(Serialize, ToSchema)]
struct Me {
    person: Person,
    household: Option<HouseholdWithMembers>,
    memberships: Vec<Membership>,
}

#[utoipa::path(get, path = "/me", tag = "me", responses((status = 200, body = Me), (status = 401)))]
async fn me(State(k): State<Kernel>, auth: Auth) -> Result<Json<Me>> {
    let id = auth.person_id()?;
    let person = store::people::require(&k.db, id).await?;
    let household = match &auth.0.household_id {
        Some(h) => Some(store::households::with_members(&k.db, h).await?),
        None => None,
    };
    Ok(Json(Me {
        person,
        household,
        memberships: store::orgs::memberships_of(&k.db, id).await?,
    }))
}

#[utoipa::path(get, path = "/me/tokens", tag = "me", responses((status = 200, body = [ApiToken]), (status = 401)))]
async fn my_tokens(State(k): State<Kernel>, auth: Auth) -> Result<Json<Vec<ApiToken>>> {
    Ok(Json(store::accounts::tokens_of(&k.db, auth.person_id()?).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    name: String,
}

#[derive(Serialize, ToSchema)]
struct NewToken {
    #[serde(flatten)]
    token: ApiToken,
    /// The secret, shown this once.
    secret: String,
}

#[utoipa::path(post, path = "/me/tokens", tag = "me", request_body = TokenInput, responses((status = 201, body = NewToken), (status = 401)))]
async fn create_my_token(
    State(k): State<Kernel>,
    auth: Auth,
    ApiJson(input): ApiJson<TokenInput>,
) -> Result<(StatusCode, Json<NewToken>)> {
    let id = auth.person_id()?.to_string();
    let (token, secret) = service::create_token(&k, Some(&id), &id, &input.name).await?;
    Ok((StatusCode::CREATED, Json(NewToken { token, secret })))
}

#[utoipa::path(delete, path = "/me/tokens/{id}", tag = "me", responses((status = 204), (status = 401), (status = 404)))]
async fn revoke_my_token(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<StatusCode> {
    let person = auth.person_id()?.to_string();
    service::revoke_token(&k, &person, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- the audit log ----

#[derive(Deserialize, IntoParams)]
struct AuditQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery), responses((status = 200, body = [AuditEntry]), (status = 403)))]
async fn audit_log(
    State(k): State<Kernel>,
    auth: Auth,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>> {
    auth.require(Action::ReadAuditLog, &Resource::Town)?;
    let entries = audit::page(&k.db, q.after.unwrap_or(0), q.limit.unwrap_or(100).clamp(1, 1000)).await?;
    // Reading the log is itself on the record: auditors are audited too.
    let range = format!("audit?after={}&count={}", q.after.unwrap_or(0), entries.len());
    service::record_alone(
        &k,
        vec![AuditRecord::new(
            auth.0.person_id.as_deref(),
            Action::ReadAuditLog.as_str(),
            range,
        )],
    )
    .await?;
    Ok(Json(entries))
}

#[derive(Serialize, ToSchema)]
struct VerifyResult {
    ok: bool,
    verified: u64,
    broken: Option<String>,
}

#[utoipa::path(get, path = "/audit/verify", tag = "audit", responses((status = 200, body = VerifyResult), (status = 403)))]
async fn audit_verify(State(k): State<Kernel>, auth: Auth) -> Result<Json<VerifyResult>> {
    auth.require(Action::ReadAuditLog, &Resource::Town)?;
    Ok(Json(match audit::verify(&k.db).await? {
        Ok(n) => VerifyResult {
            ok: true,
            verified: n,
            broken: None,
        },
        Err(b) => VerifyResult {
            ok: false,
            verified: 0,
            broken: Some(b.to_string()),
        },
    }))
}

/// The kernel as a module of the server.
pub fn module() -> crate::Module {
    crate::Module {
        name: "kernel",
        migrations: crate::store::migrate::KERNEL,
        messages_ja: crate::i18n::KERNEL_JA,
        messages_en: crate::i18n::KERNEL_EN,
        api: router,
        pages: super::pages::router,
        nav: &[],
        templates: crate::web::render::KERNEL_TEMPLATES,
        jobs: crate::module::no_jobs,
        stop: crate::module::nothing_to_stop,
        home: crate::module::no_home,
        policy: crate::model::policy::sheet,
        config: None,
        page_context: &[],
        mqtt: &[],
        demo: crate::module::no_demo,
        cli: None,
    }
}
