//! The watch JSON API: circles (with consent), members and the ladder, rules, devices and
//! their tokens, signals from devices (HTTP; MQTT arrives through `mqtt_signal`) and the
//! 「元気です」 check-in, escalations (acknowledge, outcome), trainings, listening schedules,
//! the contact allow-list and held messages. The browser pages are in `pages`.
//!
//! Every read of a circle by someone other than the watched person is audited with the
//! person as subject, so it shows on their my page.

pub mod pages;

use crate::policy::{Action, Resource};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::http::Auth;
use kernel::http::extract::ApiJson;
use kernel::model::audit::AuditRecord;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::model::CircleRole;
use crate::model::rule::RuleInput;
use crate::model::signal::{self, SignalInput};
use crate::service::require_training;
use crate::store::signals::{Incoming, Ingested, Sender};
use crate::store::{self, Circle, Contact, Device, Escalation, Member, Message, Schedule, StoredRule, Training};

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

/// A circle as the asker stands in it.
pub(crate) struct Access {
    pub circle: Circle,
    pub role: Option<String>,
    pub resource: Resource,
}

impl Access {
    pub fn may(&self, actor: &Actor, action: Action) -> bool {
        may(actor, action, &self.resource)
    }
    pub fn require(&self, actor: &Actor, action: Action) -> Result<()> {
        if self.may(actor, action) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
    pub fn is_person(&self, actor: &Actor) -> bool {
        actor.is_person(&self.circle.person_id)
    }
}

pub(crate) async fn access(k: &Kernel, actor: &Actor, circle_id: &str) -> Result<Access> {
    let person = actor.person_id.as_deref().ok_or(Error::Forbidden)?;
    // A circle that does not exist and one the asker may not see look the same: nothing is revealed.
    let circle = store::get(&k.db, circle_id).await?.ok_or(Error::Forbidden)?;
    let role = store::member_role(&k.db, &circle.id, person).await?;
    let resource = Resource::Circle {
        person_id: circle.person_id.clone(),
        role: role.clone(),
        guardian: circle.guardian_id.as_deref() == Some(person),
        has_guardian: circle.guardian_id.is_some(),
    };
    let a = Access { circle, role, resource };
    a.require(actor, Action::ViewCircle)?;
    Ok(a)
}

/// Audit a read of the circle's personal data (not the person's own).
pub(crate) async fn audit_read(k: &Kernel, actor: &Actor, a: &Access, what: &str) -> Result<()> {
    if a.is_person(actor) {
        return Ok(());
    }
    kernel::store::audit::append(
        k,
        AuditRecord::new(
            actor.person_id.as_deref(),
            "watch.read",
            format!("watch/{}", a.circle.id),
        )
        .subject(&a.circle.person_id)
        .reason(what),
    )
    .await?;
    Ok(())
}

pub(crate) async fn audit_change(k: &Kernel, actor: &Actor, a: &Access, action: &str, what: &str) -> Result<()> {
    kernel::store::audit::append(
        k,
        AuditRecord::new(actor.person_id.as_deref(), action, format!("watch/{}", a.circle.id))
            .subject(&a.circle.person_id)
            .reason(what),
    )
    .await?;
    Ok(())
}

// ---- circles ----

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CircleInput {
    /// The watched person's id; or give `name` and `birth_date` (as family and care managers know them).
    #[serde(default)]
    pub person_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub birth_date: Option<String>,
    /// The creator's role in the circle when it is not their own: `family`, `care_manager`, … .
    #[serde(default)]
    pub role: Option<String>,
}

pub(crate) async fn person_by(k: &Kernel, id: Option<&str>, name: Option<&str>, birth: Option<&str>) -> Result<String> {
    let found = match (id.map(str::trim).filter(|s| !s.is_empty()), name, birth) {
        (Some(id), _, _) => kernel::store::people::require_active(&k.db, id)
            .await
            .ok()
            .map(|p| p.id),
        (None, Some(n), Some(b)) if !n.trim().is_empty() && crate::model::is_date(b.trim()) => {
            kernel::store::people::find_by_name_and_birth(&k.db, n, b).await?
        }
        _ => {
            return Err(Error::invalid_with(
                "watch-person-required",
                vec![("field", "name".into())],
            ));
        }
    };
    found.ok_or_else(|| Error::invalid_with("watch-person-not-found", vec![("field", "name".into())]))
}

pub(crate) async fn create_for(k: &Kernel, actor: &Actor, input: &CircleInput) -> Result<Circle> {
    let me = actor.person_id.clone().ok_or(Error::Forbidden)?;
    let person = person_by(
        k,
        input.person_id.as_deref(),
        input.name.as_deref(),
        input.birth_date.as_deref(),
    )
    .await?;
    let target = Resource::Person { id: person.clone() };
    if !may(actor, Action::CreateCircle, &target) {
        return Err(Error::Forbidden);
    }
    let own = person == me;
    let role = if own {
        None
    } else {
        // Said, not assumed: the creator's place in the circle decides what they may do.
        let r = input.role.as_deref().unwrap_or_default();
        Some(
            CircleRole::parse(r)
                .ok_or_else(|| Error::invalid_with("watch-role-invalid", vec![("field", "role".into())]))?
                .as_str(),
        )
    };
    let circle = store::create_circle(k, &person, &me, role).await?;
    // A circle watches from its first day: the default rules (shown on its page, changeable).
    for rule in crate::model::rule::defaults() {
        store::add_rule(k, &circle.id, &rule, &me).await?;
    }
    // The person's own circle starts with their consent; anyone else's waits for it.
    let circle = if own {
        store::record_consent(k, &circle, &me).await?
    } else {
        circle
    };
    kernel::store::audit::append(
        k,
        AuditRecord::new(Some(&me), "watch.create", format!("watch/{}", circle.id)).subject(&person),
    )
    .await?;
    Ok(circle)
}

#[utoipa::path(post, path = "/watch/circles", tag = "watch", request_body = CircleInput,
    description = "Start a watch-over circle around a person (oneself, or someone found by id or by name and birth date). \
    Someone else's circle watches nothing until the person (or their guardian) consents.",
    responses((status = 201, body = Circle), (status = 400), (status = 401), (status = 409, description = "the person has a circle")))]
async fn create_circle(State(k): State<Kernel>, auth: Auth, ApiJson(input): ApiJson<CircleInput>) -> Result<Response> {
    auth.person_id()?;
    let c = create_for(&k, &auth.0, &input).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

/// A circle with the asker's place in it.
#[derive(Serialize, ToSchema)]
pub struct CircleSummary {
    #[serde(flatten)]
    pub circle: Circle,
    pub person_name: String,
    /// `self`, a circle role, or `welfare_desk`.
    pub as_role: String,
    pub open_escalations: usize,
}

pub(crate) async fn circles_for(k: &Kernel, actor: &Actor) -> Result<Vec<CircleSummary>> {
    let me = actor.person_id.as_deref().ok_or(Error::Forbidden)?;
    let mut out = Vec::new();
    let push = |c: Circle, role: String, out: &mut Vec<CircleSummary>| {
        if !out.iter().any(|s: &CircleSummary| s.circle.id == c.id) {
            out.push(CircleSummary {
                circle: c,
                person_name: String::new(),
                as_role: role,
                open_escalations: 0,
            });
        }
    };
    if let Some(c) = store::of_person(&k.db, me).await? {
        push(c, "self".into(), &mut out);
    }
    for (id, role) in store::circles_of_member(&k.db, me).await? {
        if let Some(c) = store::get(&k.db, &id).await? {
            push(c, role, &mut out);
        }
    }
    if crate::policy::is_desk(actor) {
        for c in store::all_open(&k.db, 500).await? {
            push(c, "welfare_desk".into(), &mut out);
        }
    }
    let open = store::open_escalations(&k.db).await?;
    for s in &mut out {
        s.person_name = crate::service::notices::person_name(k, &s.circle.person_id).await?;
        s.open_escalations = open.iter().filter(|e| e.circle_id == s.circle.id).count();
    }
    // Circles with an open call first.
    out.sort_by_key(|s| (s.open_escalations == 0, s.circle.created_at));
    Ok(out)
}

#[utoipa::path(get, path = "/watch/circles", tag = "watch",
    description = "The asker's own circle, the circles they are a member of, and for the welfare desk every circle.",
    responses((status = 200, body = [CircleSummary]), (status = 401)))]
async fn list_circles(State(k): State<Kernel>, auth: Auth) -> Result<Json<Vec<CircleSummary>>> {
    auth.person_id()?;
    Ok(Json(circles_for(&k, &auth.0).await?))
}

/// Everything about a circle its members see.
#[derive(Serialize, ToSchema)]
pub struct CircleView {
    #[serde(flatten)]
    pub circle: Circle,
    pub person_name: String,
    pub as_role: Option<String>,
    pub last_signal_at: Option<i64>,
    pub last_checkin_at: Option<i64>,
    pub members: Vec<Member>,
    pub rules: Vec<StoredRule>,
    pub devices: Vec<Device>,
    pub escalations: Vec<Escalation>,
    pub schedules: Vec<Schedule>,
    pub contacts: Vec<Contact>,
    /// Messages waiting for the guardian (and decided ones), for the person and the guardian.
    pub held_messages: Vec<Message>,
}

pub(crate) async fn view_for(k: &Kernel, actor: &Actor, a: &Access) -> Result<CircleView> {
    let c = &a.circle;
    // Before consent, or once it is taken back, nothing about the person's days is shown.
    // (`state` waits for the signals written so far, and so the devices read below show them;
    // a circle not watching has no signals stored.)
    let (last_signal_at, last_checkin_at) = if store::watching(&k.db, &c.id).await? {
        store::signals::state(k, &c.person_id).await?
    } else {
        (None, None)
    };
    let decides = a.may(actor, Action::ApproveContacts);
    let sees_messages = a.is_person(actor) || decides;
    let view = CircleView {
        person_name: crate::service::notices::person_name(k, &c.person_id).await?,
        as_role: a.role.clone(),
        last_signal_at,
        last_checkin_at,
        members: store::members(&k.db, &c.id).await?,
        rules: store::rules(&k.db, &c.id).await?,
        devices: store::devices(&k.db, &c.id).await?,
        escalations: store::escalations(&k.db, &c.id, 20).await?,
        schedules: store::schedules(&k.db, &c.id).await?,
        contacts: store::contacts(&k.db, &c.id).await?,
        held_messages: if sees_messages {
            let mut list = store::messages_to(&k.db, &c.person_id, false, 50).await?;
            // The person learns who wrote and that the family is checking, never the text itself
            // until it is let through.
            if !decides {
                for m in &mut list {
                    if m.state != "approved" {
                        m.body = None;
                    }
                }
            }
            list
        } else {
            Vec::new()
        },
        circle: c.clone(),
    };
    audit_read(k, actor, a, "circle").await?;
    Ok(view)
}

#[utoipa::path(get, path = "/watch/circles/{id}", tag = "watch",
    description = "Members, the welfare desk and the person see the circle; anyone else gets 403 and learns nothing. Audited.",
    responses((status = 200, body = CircleView), (status = 401), (status = 403)))]
async fn get_circle(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<CircleView>> {
    auth.person_id()?;
    let a = access(&k, &auth.0, &id).await?;
    Ok(Json(view_for(&k, &auth.0, &a).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// A family member who approves the person's contacts and may consent for them (empty string:
    /// none, family members approve contacts). Named by the person or the welfare desk only.
    #[serde(default)]
    pub guardian_id: Option<String>,
    /// Pause watching until this local date (`YYYY-MM-DD`; travel, a hospital stay); empty string resumes.
    #[serde(default)]
    pub pause_until: Option<String>,
    #[serde(default)]
    pub pause_reason: Option<String>,
    /// Quiet hours, `HH:MM-HH:MM` (empty string: none).
    #[serde(default)]
    pub quiet: Option<String>,
    #[serde(default)]
    pub ladder_minutes: Option<i64>,
}

pub(crate) async fn settings_for(k: &Kernel, actor: &Actor, a: &Access, input: &SettingsInput) -> Result<Circle> {
    a.require(actor, Action::ManageCircle)?;
    let mut c = a.circle.clone();
    if let Some(g) = input.guardian_id.as_deref().map(str::trim)
        && Some(g) != c.guardian_id.as_deref().or(Some(""))
    {
        // A guardian may consent for the person and decides who reaches them: named only by the
        // person, or by the welfare desk (which sees the court's papers) — never by family alone.
        a.require(actor, Action::NameGuardian)?;
        if g.is_empty() {
            c.guardian_id = None;
        } else if store::member_role(&k.db, &c.id, g).await?.as_deref() != Some("family") {
            return Err(Error::invalid_with(
                "watch-guardian-invalid",
                vec![("field", "guardian_id".into())],
            ));
        } else {
            c.guardian_id = Some(g.to_string());
        }
    }
    if let Some(p) = input.pause_until.as_deref().map(str::trim) {
        if p.is_empty() {
            c.paused_until = None;
            c.pause_reason = None;
        } else {
            let until = date_end(p)
                .filter(|&t| t > k.now())
                .ok_or_else(|| Error::invalid_with("watch-pause-invalid", vec![("field", "pause_until".into())]))?;
            c.paused_until = Some(until);
            c.pause_reason = input
                .pause_reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| r.chars().take(200).collect());
        }
    }
    if let Some(q) = input.quiet.as_deref().map(str::trim) {
        if q.is_empty() {
            c.quiet_start = None;
            c.quiet_end = None;
        } else {
            let (s, e) = q
                .split_once('-')
                .and_then(|(s, e)| Some((crate::model::parse_hhmm(s)?, crate::model::parse_hhmm(e)?)))
                .filter(|(s, e)| s != e)
                .ok_or_else(|| Error::invalid_with("watch-quiet-invalid", vec![("field", "quiet".into())]))?;
            c.quiet_start = Some(s as i64);
            c.quiet_end = Some(e as i64);
        }
    }
    if let Some(m) = input.ladder_minutes {
        if !(1..=24 * 60).contains(&m) {
            return Err(Error::invalid_with(
                "watch-ladder-minutes-invalid",
                vec![("field", "ladder_minutes".into())],
            ));
        }
        c.ladder_minutes = m;
    }
    store::update_settings(k, &c).await?;
    audit_change(k, actor, a, "watch.settings", "settings").await?;
    Ok(c)
}

/// The end of a local date (`YYYY-MM-DD`): the next local midnight, in ms.
fn date_end(date: &str) -> Option<i64> {
    if !crate::model::is_date(date) {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (
        date[..4].parse().ok()?,
        date[5..7].parse().ok()?,
        date[8..].parse().ok()?,
    );
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days + 1) * crate::model::DAY_MS - crate::model::LOCAL_OFFSET_MS)
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

pub(crate) async fn consent_for(k: &Kernel, actor: &Actor, circle_id: &str) -> Result<Circle> {
    let a = access(k, actor, circle_id).await?;
    // Consent comes from the person or their named guardian (not from family by default).
    a.require(actor, Action::ConsentCircle)?;
    if store::watching(&k.db, &a.circle.id).await? {
        return Ok(a.circle);
    }
    let by = actor.person_id.as_deref().unwrap_or_default();
    let c = store::record_consent(k, &a.circle, by).await?;
    audit_change(
        k,
        actor,
        &a,
        "watch.consent",
        if a.is_person(actor) { "person" } else { "guardian" },
    )
    .await?;
    Ok(c)
}

/// The person (or their guardian) says no to a proposed circle: it is closed before it ever
/// watched, and its members are told (on their screens and by e-mail).
pub(crate) async fn decline_for(k: &Kernel, actor: &Actor, circle_id: &str) -> Result<()> {
    let a = access(k, actor, circle_id).await?;
    a.require(actor, Action::ConsentCircle)?;
    if a.circle.consent_id.is_some() {
        return Err(Error::conflict("watch-nothing-to-answer", vec![]));
    }
    if !store::close_circle(k, &a.circle.id).await? {
        return Ok(());
    }
    audit_change(k, actor, &a, "watch.consent", "declined").await?;
    let name = crate::service::notices::person_name(k, &a.circle.person_id).await?;
    let members: Vec<String> = store::members(&k.db, &a.circle.id)
        .await?
        .into_iter()
        .map(|m| m.person_id)
        .collect();
    let notice = crate::model::notice::declined_notice(&name);
    crate::service::notices::notify(k, &members, &notice, &format!("watch:{}:declined", a.circle.id)).await
}

#[utoipa::path(post, path = "/watch/circles/{id}/consent", tag = "watch",
    description = "The watched person, or their guardian, consents: the consent is recorded and watching begins.",
    responses((status = 200, body = Circle), (status = 403)))]
async fn consent(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Circle>> {
    auth.person_id()?;
    Ok(Json(consent_for(&k, &auth.0, &id).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    /// `family`, `care_manager`, `supporter`, `listening_volunteer`, `officer`.
    pub role: String,
    /// Place on the escalation ladder (1 = called first); absent: not called.
    #[serde(default)]
    pub ladder: Option<i64>,
}

pub(crate) async fn put_member_for(
    k: &Kernel,
    actor: &Actor,
    a: &Access,
    person: &str,
    input: &MemberInput,
) -> Result<()> {
    a.require(actor, Action::ManageCircle)?;
    let role = CircleRole::parse(&input.role)
        .ok_or_else(|| Error::invalid_with("watch-role-invalid", vec![("field", "role".into())]))?;
    if person == a.circle.person_id {
        return Err(Error::invalid_with(
            "watch-member-is-person",
            vec![("field", "person_id".into())],
        ));
    }
    if input.ladder.is_some_and(|l| !(1..=20).contains(&l)) {
        return Err(Error::invalid_with(
            "watch-ladder-invalid",
            vec![("field", "ladder".into())],
        ));
    }
    // A visitor on the ladder is assigned visits: the training gate applies.
    if input.ladder.is_some() {
        require_training(k, person, Some(role.as_str())).await?;
    }
    kernel::store::people::get(&k.db, person)
        .await?
        .ok_or_else(|| Error::invalid_with("watch-person-not-found", vec![("field", "person_id".into())]))?;
    let by = actor.person_id.as_deref().unwrap_or_default();
    store::put_member(k, &a.circle.id, person, role.as_str(), input.ladder, by).await?;
    audit_change(k, actor, a, "watch.member", &format!("{person} {}", role.as_str())).await
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
    a.require(&auth.0, Action::ManageCircle)?;
    if a.circle.guardian_id.as_deref() == Some(person.as_str()) && !a.may(&auth.0, Action::NameGuardian) {
        return Err(Error::Forbidden);
    }
    if !store::remove_member(&k.db, &id, &person).await? {
        return Err(Error::not_found("watch-member-not-found"));
    }
    audit_change(&k, &auth.0, &a, "watch.member", &format!("{person} removed")).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- rules and devices ----

pub(crate) async fn add_rule_for(k: &Kernel, actor: &Actor, a: &Access, input: &RuleInput) -> Result<StoredRule> {
    a.require(actor, Action::ManageCircle)?;
    let rule = input
        .check()
        .map_err(|e| Error::invalid_with(e.key, vec![("field", e.field.into())]))?;
    let r = store::add_rule(k, &a.circle.id, &rule, actor.person_id.as_deref().unwrap_or_default()).await?;
    audit_change(k, actor, a, "watch.rule", rule.kind.as_str()).await?;
    Ok(r)
}

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
    a.require(&auth.0, Action::ManageCircle)?;
    if !store::remove_rule(&k, &id, &rule).await? {
        return Err(Error::not_found("watch-rule-not-found"));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceInput {
    /// The device's own id (printed on it), e.g. `bulb-0001`.
    pub id: String,
    /// `bulb`, `door`, `kettle`, `motion`, `terminal`.
    pub kind: String,
}

#[derive(Serialize, ToSchema)]
pub struct DeviceToken {
    pub id: String,
    /// Shown once: the device sends it as `Authorization: Bearer …`.
    pub token: String,
    pub mqtt_topic: String,
}

/// Devices and contacts are set up only once the person (or guardian) has consented.
async fn require_watching(k: &Kernel, a: &Access) -> Result<()> {
    if store::watching(&k.db, &a.circle.id).await? {
        Ok(())
    } else {
        Err(Error::conflict("watch-not-watched", vec![]))
    }
}

pub(crate) async fn add_device_for(k: &Kernel, actor: &Actor, a: &Access, input: &DeviceInput) -> Result<DeviceToken> {
    a.require(actor, Action::ManageCircle)?;
    require_watching(k, a).await?;
    let id = input.id.trim();
    let id_ok =
        !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !id_ok {
        return Err(Error::invalid_with(
            "watch-device-id-invalid",
            vec![("field", "id".into())],
        ));
    }
    if !signal::DEVICE_KINDS.contains(&input.kind.trim()) {
        return Err(Error::invalid_with(
            "watch-device-kind-invalid",
            vec![("field", "kind".into())],
        ));
    }
    let token = store::add_device(k, &a.circle, id, input.kind.trim()).await?;
    audit_change(k, actor, a, "watch.device", id).await?;
    Ok(DeviceToken {
        id: id.to_string(),
        token,
        mqtt_topic: format!("machi/signals/{id}"),
    })
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
    a.require(&auth.0, Action::ManageCircle)?;
    if !store::remove_device(&k, &a.circle, &device).await? {
        return Err(Error::not_found("watch-device-not-found"));
    }
    audit_change(&k, &auth.0, &a, "watch.device", &format!("{device} removed")).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The person (or the welfare desk) ends the circle: no more signals kept, no more calls.
pub(crate) async fn close_for(k: &Kernel, actor: &Actor, id: &str) -> Result<()> {
    let a = access(k, actor, id).await?;
    a.require(actor, Action::CloseCircle)?;
    store::close_circle(k, &a.circle.id).await?;
    audit_change(k, actor, &a, "watch.close", "closed").await
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

fn checked(k: &Kernel, input: &SignalInput) -> Result<(String, i64)> {
    let cfg = &*crate::config::of(k);
    signal::check(
        input,
        k.now(),
        cfg.future_tolerance_secs as i64 * 1000,
        cfg.max_signal_age_days as i64 * 86_400_000,
    )
    .map_err(|e| Error::invalid_with(e.key(), vec![("field", e.field().into())]))
}

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
    let (value, at) = checked(&k, &input)?;
    let r = store::signals::writer(&k)
        .submit(Incoming {
            sender: Sender::TokenHash(store::hash_token(token)),
            value,
            at,
        })
        .await?;
    match r {
        Ingested::Stored { .. } => Ok(StatusCode::ACCEPTED),
        Ingested::Unknown => Err(Error::unauthorized("watch-device-unknown")),
        Ingested::NotWatched => Err(Error::conflict("watch-not-watched", vec![])),
    }
}

/// A signal from a device over MQTT (`machi/signals/<device-id>`); returns whether it was kept.
pub async fn mqtt_signal(k: &Kernel, device: &str, payload: &str) -> Result<bool> {
    let Some(input) = signal::parse_payload(payload) else {
        tracing::warn!(%device, "MQTT signal with an unreadable payload");
        return Ok(false);
    };
    let (value, at) = match checked(k, &input) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(%device, error = %e, "MQTT signal refused");
            return Ok(false);
        }
    };
    let token = input.token.as_deref().unwrap_or_default();
    let r = store::signals::writer(k)
        .submit(Incoming {
            sender: Sender::DeviceToken {
                device: device.to_string(),
                hash: store::hash_token(token),
            },
            value,
            at,
        })
        .await?;
    if r == Ingested::Unknown {
        tracing::warn!(%device, "MQTT signal with a token that is not this device's; ignored");
    }
    Ok(matches!(r, Ingested::Stored { .. }))
}

/// The person's own signal: 「元気です」 (`checkin`) or using the terminal (`terminal`).
pub(crate) async fn own_signal(k: &Kernel, person_id: &str, source: &'static str) -> Result<bool> {
    let r = store::signals::writer(k)
        .submit(Incoming {
            sender: Sender::Person {
                person_id: person_id.to_string(),
                source,
            },
            value: if source == "checkin" {
                "genki".into()
            } else {
                "use".into()
            },
            at: k.now(),
        })
        .await?;
    Ok(matches!(r, Ingested::Stored { .. }))
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

pub(crate) async fn escalation_access(k: &Kernel, actor: &Actor, id: &str) -> Result<(Escalation, Access)> {
    let e = store::get_escalation(&k.db, id).await?.ok_or(Error::Forbidden)?;
    let a = access(k, actor, &e.circle_id).await?;
    Ok((e, a))
}

pub(crate) async fn acknowledge_for(k: &Kernel, actor: &Actor, id: &str) -> Result<Escalation> {
    let (e, a) = escalation_access(k, actor, id).await?;
    a.require(actor, Action::AcknowledgeWatch)?;
    let me = actor.person_id.as_deref().unwrap_or_default();
    if !crate::policy::is_desk(actor) {
        require_training(k, me, a.role.as_deref()).await?;
    }
    if !store::acknowledge(k, &e, me).await? {
        let now = store::get_escalation(&k.db, &e.id).await?.unwrap_or(e);
        if let Some(by) = &now.acknowledged_by {
            let name = crate::service::notices::person_name(k, by).await?;
            return Err(Error::conflict("watch-already-visiting", vec![("name", name)]));
        }
        return Err(Error::conflict("watch-escalation-closed", vec![]));
    }
    let e = store::get_escalation(&k.db, &e.id).await?.ok_or(Error::Forbidden)?;
    audit_change(k, actor, &a, "watch.acknowledge", &e.id).await?;
    let name = crate::service::notices::person_name(k, &a.circle.person_id).await?;
    let visitor = crate::service::notices::person_name(k, me).await?;
    let others: Vec<String> = crate::service::notices::concerned(k, &e)
        .await?
        .into_iter()
        .filter(|p| p != me)
        .collect();
    let notice = crate::model::visiting_notice(&name, &visitor, &crate::service::notices::circle_link(k, &a.circle));
    crate::service::notices::notify(k, &others, &notice, &format!("watch:{}:visiting", e.id)).await?;
    Ok(e)
}

#[utoipa::path(post, path = "/watch/escalations/{id}/acknowledge", tag = "watch",
    description = "「今から訪問します」: stops the ladder. 409 names who is already on their way; 400 when the training gate refuses.",
    responses((status = 200, body = Escalation), (status = 400), (status = 403), (status = 409)))]
async fn acknowledge(State(k): State<Kernel>, auth: Auth, Path(id): Path<String>) -> Result<Json<Escalation>> {
    auth.person_id()?;
    Ok(Json(acknowledge_for(&k, &auth.0, &id).await?))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    /// `safe` (会えた・無事), `help` (支援・救急につないだ), `absent` (不在).
    pub outcome: String,
    #[serde(default)]
    pub note: Option<String>,
}

pub(crate) const OUTCOMES: [&str; 3] = ["safe", "help", "absent"];

pub(crate) async fn outcome_for(k: &Kernel, actor: &Actor, id: &str, input: &OutcomeInput) -> Result<()> {
    let (e, a) = escalation_access(k, actor, id).await?;
    a.require(actor, Action::AcknowledgeWatch)?;
    let me = actor.person_id.as_deref().unwrap_or_default();
    // The visitor reports what they found; so may those who manage the circle and the desk.
    let desk = crate::policy::is_desk(actor);
    if e.acknowledged_by.as_deref() != Some(me) && !desk && !a.may(actor, Action::ManageCircle) {
        return Err(Error::conflict("watch-outcome-not-visitor", vec![]));
    }
    if !desk {
        require_training(k, me, a.role.as_deref()).await?;
    }
    if !OUTCOMES.contains(&input.outcome.as_str()) {
        return Err(Error::invalid_with(
            "watch-outcome-invalid",
            vec![("field", "outcome".into())],
        ));
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 1000) {
        return Err(Error::invalid_with(
            "watch-note-too-long",
            vec![("field", "note".into())],
        ));
    }
    if !store::close_escalation(k, &e.id, &input.outcome, note, "visit").await? {
        return Err(Error::conflict("watch-escalation-closed", vec![]));
    }
    // The same visit answers the circle's other calls it stopped.
    for other in store::acknowledged_by(&k.db, &a.circle.id, me).await? {
        store::close_escalation(k, &other, &input.outcome, note, "visit").await?;
    }
    audit_change(k, actor, &a, "watch.outcome", &input.outcome).await?;
    let name = crate::service::notices::person_name(k, &a.circle.person_id).await?;
    let visitor = crate::service::notices::person_name(k, me).await?;
    let others: Vec<String> = crate::service::notices::concerned(k, &e)
        .await?
        .into_iter()
        .filter(|p| p != me)
        .collect();
    let notice = crate::model::outcome_notice(
        &name,
        &visitor,
        &input.outcome,
        &crate::service::notices::circle_link(k, &a.circle),
    );
    crate::service::notices::notify(k, &others, &notice, &format!("watch:{}:outcome", e.id)).await
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TrainingInput {
    pub person_id: String,
    /// Which organisation gave the course.
    pub organisation: String,
    /// `YYYY-MM-DD`.
    pub taken_on: String,
    /// `YYYY-MM-DD`, after `taken_on`.
    pub expires_on: String,
}

pub(crate) async fn training_for(k: &Kernel, actor: &Actor, input: &TrainingInput) -> Result<Training> {
    if !may(actor, Action::RecordTraining, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let org = input.organisation.trim();
    if org.is_empty() || org.chars().count() > 100 {
        return Err(Error::invalid_with(
            "watch-training-org-invalid",
            vec![("field", "organisation".into())],
        ));
    }
    let (from, to) = (input.taken_on.trim(), input.expires_on.trim());
    if !crate::model::is_date(from) {
        return Err(Error::invalid_with(
            "watch-date-invalid",
            vec![("field", "taken_on".into())],
        ));
    }
    if !crate::model::is_date(to) || to <= from {
        return Err(Error::invalid_with(
            "watch-date-invalid",
            vec![("field", "expires_on".into())],
        ));
    }
    let person = kernel::store::people::get(&k.db, input.person_id.trim())
        .await?
        .ok_or_else(|| Error::invalid_with("watch-person-not-found", vec![("field", "person_id".into())]))?;
    let t = store::record_training(
        k,
        &person.id,
        org,
        from,
        to,
        actor.person_id.as_deref().unwrap_or_default(),
    )
    .await?;
    kernel::store::audit::append(
        k,
        AuditRecord::new(
            actor.person_id.as_deref(),
            "watch.training",
            format!("person/{}", person.id),
        )
        .subject(&person.id)
        .reason(org),
    )
    .await?;
    Ok(t)
}

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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// A member of the circle (a listening volunteer, usually).
    pub volunteer_id: String,
    /// `call` or `visit`.
    pub kind: String,
    /// 0 = Monday … 6 = Sunday.
    pub weekday: i64,
    /// Local time `HH:MM`.
    pub time: String,
}

pub(crate) async fn schedule_for(k: &Kernel, actor: &Actor, a: &Access, input: &ScheduleInput) -> Result<String> {
    a.require(actor, Action::ManageCircle)?;
    let role = store::member_role(&k.db, &a.circle.id, &input.volunteer_id)
        .await?
        .ok_or_else(|| Error::invalid_with("watch-volunteer-not-member", vec![("field", "volunteer_id".into())]))?;
    if !["call", "visit"].contains(&input.kind.as_str()) {
        return Err(Error::invalid_with(
            "watch-schedule-kind-invalid",
            vec![("field", "kind".into())],
        ));
    }
    if !(0..7).contains(&input.weekday) {
        return Err(Error::invalid_with(
            "watch-weekday-invalid",
            vec![("field", "weekday".into())],
        ));
    }
    let minute = crate::model::parse_hhmm(&input.time)
        .ok_or_else(|| Error::invalid_with("watch-time-invalid", vec![("field", "time".into())]))?;
    require_training(k, &input.volunteer_id, Some(&role)).await?;
    let by = actor.person_id.as_deref().unwrap_or_default();
    let id = store::add_schedule(
        k,
        &a.circle.id,
        &input.volunteer_id,
        &input.kind,
        input.weekday,
        minute as i64,
        by,
    )
    .await?;
    audit_change(k, actor, a, "watch.schedule", &input.volunteer_id).await?;
    Ok(id)
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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct LogInput {
    /// The occurrence done (ms, as listed).
    pub due_at: i64,
    #[serde(default)]
    pub note: Option<String>,
}

pub(crate) async fn log_for(k: &Kernel, actor: &Actor, schedule_id: &str, input: &LogInput) -> Result<()> {
    let s = store::get_schedule(&k.db, schedule_id).await?.ok_or(Error::Forbidden)?;
    let a = access(k, actor, &s.circle_id).await?;
    let me = actor.person_id.as_deref().unwrap_or_default();
    if me != s.volunteer_id && !a.may(actor, Action::ManageCircle) {
        return Err(Error::Forbidden);
    }
    let valid = crate::model::schedule::occurrences(s.weekday as u32, s.minute as u32, input.due_at, input.due_at + 1);
    if valid.is_empty() || input.due_at > k.now() + crate::model::DAY_MS {
        return Err(Error::invalid_with(
            "watch-occurrence-invalid",
            vec![("field", "due_at".into())],
        ));
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 1000) {
        return Err(Error::invalid_with(
            "watch-note-too-long",
            vec![("field", "note".into())],
        ));
    }
    store::log_done(k, &s.id, input.due_at, me, note).await?;
    Ok(())
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

/// Missed listening calls and visits of a circle over the last four weeks: (schedule, due at).
pub(crate) async fn missed_listening(k: &Kernel, circle_id: &str) -> Result<Vec<(Schedule, i64)>> {
    let now = k.now();
    let mut out = Vec::new();
    for s in store::schedules(&k.db, circle_id).await? {
        let logged: Vec<i64> = store::schedule_log(&k.db, &s.id)
            .await?
            .into_iter()
            .map(|l| l.0)
            .collect();
        let since = s.created_at.max(now - 28 * crate::model::DAY_MS);
        for at in crate::model::schedule::missed(s.weekday as u32, s.minute as u32, since, now, &logged) {
            out.push((s.clone(), at));
        }
    }
    out.sort_by_key(|(_, at)| -at);
    Ok(out)
}

// ---- contacts and messages ----

pub(crate) async fn contact_for(k: &Kernel, actor: &Actor, a: &Access, contact: &str, add: bool) -> Result<()> {
    a.require(actor, Action::ApproveContacts)?;
    require_watching(k, a).await?;
    let person = kernel::store::people::get(&k.db, contact)
        .await?
        .ok_or_else(|| Error::invalid_with("watch-person-not-found", vec![("field", "contact_id".into())]))?;
    let changed = if add {
        store::add_contact(
            k,
            &a.circle.id,
            &person.id,
            actor.person_id.as_deref().unwrap_or_default(),
        )
        .await?
    } else {
        store::remove_contact(&k.db, &a.circle.id, &person.id).await?
    };
    if !changed {
        return Ok(());
    }
    audit_change(
        k,
        actor,
        a,
        "watch.contacts",
        &format!("{} {}", if add { "add" } else { "remove" }, person.id),
    )
    .await?;
    // The person and the guardian both hear of every change.
    let name = crate::service::notices::person_name(k, &a.circle.person_id).await?;
    let mut to = vec![a.circle.person_id.clone()];
    to.extend(guardians(k, &a.circle).await?);
    let notice = crate::model::contacts_notice(
        &name,
        &person.display_name,
        add,
        &crate::service::notices::circle_link(k, &a.circle),
    );
    let key = format!("watch:{}:contacts:{}:{}:{}", a.circle.id, person.id, add, k.now());
    crate::service::notices::notify(k, &to, &notice, &key).await
}

/// Who approves the person's contacts and decides held messages: the named guardian, or else
/// the family members of the circle (and the welfare desk, which also may, and is told when the
/// circle has no family).
pub(crate) async fn guardians(k: &Kernel, c: &Circle) -> Result<Vec<String>> {
    if let Some(g) = &c.guardian_id {
        return Ok(vec![g.clone()]);
    }
    let family: Vec<String> = store::members(&k.db, &c.id)
        .await?
        .into_iter()
        .filter(|m| m.role == "family")
        .map(|m| m.person_id)
        .collect();
    if family.is_empty() {
        kernel::store::orgs::duty_staff(&k.db, "watch").await
    } else {
        Ok(family)
    }
}

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

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    /// The person whose terminal shows it.
    pub to: String,
    pub body: String,
}

/// What the sender learns: delivered, or waiting for the family's check. A sender must not be
/// told 「送りました」 for a message the person will not see (they would think it was read).
#[derive(Serialize, ToSchema)]
pub struct Sent {
    pub id: String,
    /// `delivered`, or `held` (waiting for the person's family or guardian to check it).
    pub state: String,
}

pub(crate) async fn send_for(k: &Kernel, actor: &Actor, input: &MessageInput) -> Result<Sent> {
    let me = actor.person_id.as_deref().ok_or(Error::Forbidden)?;
    let to = kernel::store::people::require_active(&k.db, input.to.trim())
        .await
        .ok()
        .ok_or_else(|| Error::invalid_with("watch-person-not-found", vec![("field", "to".into())]))?;
    let target = Resource::Person { id: to.id.clone() };
    if !may(actor, Action::SendMessage, &target) {
        return Err(Error::Forbidden);
    }
    let body = crate::model::check_message(&input.body)
        .ok_or_else(|| Error::invalid_with("watch-message-invalid", vec![("field", "body".into())]))?;
    // Fraud protection: a watched person's messages from anyone off their list wait for the guardian.
    let circle = match store::of_person(&k.db, &to.id).await? {
        Some(c) if store::watching(&k.db, &c.id).await? => Some(c),
        _ => None,
    };
    let held = match &circle {
        Some(c) => crate::model::message_is_held(store::allowed(&k.db, &c.id, me).await?),
        None => false,
    };
    let state = if held { "held" } else { "delivered" };
    let id = store::send_message(k, &to.id, me, &body, state).await?;
    if let (true, Some(c)) = (held, &circle) {
        let sender = crate::service::notices::person_name(k, me).await?;
        let notice = crate::model::held_notice(&to.display_name, &sender, &crate::service::notices::circle_link(k, c));
        crate::service::notices::notify(k, &guardians(k, c).await?, &notice, &format!("watch:message:{id}")).await?;
    } else {
        k.hub.publish(kernel::events::Event {
            kind: "watch-message".into(),
            id: id.clone(),
            area_ids: Vec::new(),
            person_ids: vec![to.id.clone()],
            data: serde_json::json!({ "id": id }),
        });
    }
    Ok(Sent {
        id,
        state: state.into(),
    })
}

#[utoipa::path(post, path = "/watch/messages", tag = "watch", request_body = MessageInput,
    description = "A message to a person's terminal. For a watched person, a sender not on their allow-list is held for the guardian.",
    responses((status = 201, body = Sent), (status = 400), (status = 401), (status = 403)))]
async fn send_message(State(k): State<Kernel>, auth: Auth, ApiJson(input): ApiJson<MessageInput>) -> Result<Response> {
    auth.person_id()?;
    let s = send_for(&k, &auth.0, &input).await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub approve: bool,
    /// Also put the sender on the allow-list.
    #[serde(default)]
    pub allow_sender: bool,
}

pub(crate) async fn decide_for(k: &Kernel, actor: &Actor, id: &str, input: &DecisionInput) -> Result<()> {
    let m = store::get_message(&k.db, id).await?.ok_or(Error::Forbidden)?;
    let circle = store::of_person(&k.db, &m.to_person_id)
        .await?
        .ok_or(Error::Forbidden)?;
    let a = access(k, actor, &circle.id).await?;
    a.require(actor, Action::ApproveContacts)?;
    if !store::decide_message(k, &m.id, input.approve, actor.person_id.as_deref().unwrap_or_default()).await? {
        return Err(Error::conflict("watch-message-decided", vec![]));
    }
    audit_change(
        k,
        actor,
        &a,
        "watch.message",
        if input.approve { "approved" } else { "rejected" },
    )
    .await?;
    if input.approve {
        k.hub.publish(kernel::events::Event {
            kind: "watch-message".into(),
            id: m.id.clone(),
            area_ids: Vec::new(),
            person_ids: vec![m.to_person_id.clone()],
            data: serde_json::json!({ "id": m.id }),
        });
    }
    if input.approve && input.allow_sender {
        contact_for(k, actor, &a, &m.from_person_id, true).await?;
    }
    Ok(())
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

pub(crate) fn broker_state(k: &Kernel) -> &'static str {
    match &k.config.mqtt {
        None => "not_configured",
        Some(_) if k.health.is_reachable("mqtt") => "connected",
        Some(_) => "unreachable",
    }
}

#[utoipa::path(get, path = "/watch/status", tag = "watch",
    responses((status = 200, body = WatchStatus), (status = 401)))]
async fn status(State(k): State<Kernel>, auth: Auth) -> Result<Json<WatchStatus>> {
    auth.person_id()?;
    Ok(Json(WatchStatus {
        mqtt_broker: broker_state(&k).into(),
    }))
}
