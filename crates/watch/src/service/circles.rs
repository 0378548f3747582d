//! Circles: starting one, listing and viewing them, their settings, consent (and declining it),
//! members and the ladder, rules, devices and their tokens, and closing a circle.

use kernel::model::audit::AuditRecord;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{Access, access, audit_change, audit_read};
use super::require_training;
use crate::model::CircleRole;
use crate::model::rule::RuleInput;
use crate::model::signal;
use crate::policy::{Action, Resource};
use crate::store::{self, Circle, Contact, Device, Escalation, Member, Message, Schedule, StoredRule};

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
    // The circle, its rules, the consent and the entry recording them: all, or nothing.
    let mut tx = k.db.begin().await?;
    let circle = store::create_circle(&mut tx, k, &person, &me, role).await?;
    // A circle watches from its first day: the default rules (shown on its page, changeable).
    for rule in crate::model::rule::defaults() {
        store::add_rule(&mut tx, k, &circle.id, &rule, &me).await?;
    }
    // The person's own circle starts with their consent; anyone else's waits for it.
    let circle = if own {
        store::record_consent(&mut tx, k, &circle, &me).await?
    } else {
        circle
    };
    let rec = AuditRecord::new(Some(&me), "watch.create", format!("watch/{}", circle.id)).subject(&person);
    kernel::store::audit::append_in(&mut tx, k.now(), vec![rec]).await?;
    tx.commit().await?;
    Ok(circle)
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
    let mut tx = k.db.begin().await?;
    store::update_settings(&mut tx, &c).await?;
    audit_change(&mut tx, k, actor, a, "watch.settings", "settings").await?;
    tx.commit().await?;
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

pub(crate) async fn consent_for(k: &Kernel, actor: &Actor, circle_id: &str) -> Result<Circle> {
    let a = access(k, actor, circle_id).await?;
    // Consent comes from the person or their named guardian (not from family by default).
    a.require(actor, Action::ConsentCircle)?;
    if store::watching(&k.db, &a.circle.id).await? {
        return Ok(a.circle);
    }
    let by = actor.person_id.as_deref().unwrap_or_default();
    let mut tx = k.db.begin().await?;
    let c = store::record_consent(&mut tx, k, &a.circle, by).await?;
    audit_change(
        &mut tx,
        k,
        actor,
        &a,
        "watch.consent",
        if a.is_person(actor) { "person" } else { "guardian" },
    )
    .await?;
    tx.commit().await?;
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
    let mut tx = k.db.begin().await?;
    if !store::close_circle(&mut tx, k, &a.circle.id).await? {
        return Ok(());
    }
    audit_change(&mut tx, k, actor, &a, "watch.consent", "declined").await?;
    tx.commit().await?;
    let name = crate::service::notices::person_name(k, &a.circle.person_id).await?;
    let members: Vec<String> = store::members(&k.db, &a.circle.id)
        .await?
        .into_iter()
        .map(|m| m.person_id)
        .collect();
    let notice = crate::model::notice::declined_notice(&name);
    crate::service::notices::notify(k, &members, &notice, &format!("watch:{}:declined", a.circle.id)).await
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
    let mut tx = k.db.begin().await?;
    store::put_member(&mut tx, k, &a.circle.id, person, role.as_str(), input.ladder, by).await?;
    audit_change(
        &mut tx,
        k,
        actor,
        a,
        "watch.member",
        &format!("{person} {}", role.as_str()),
    )
    .await?;
    tx.commit().await
}

/// A member leaves the circle; the guardian only by those who may name one.
pub(crate) async fn remove_member_for(k: &Kernel, actor: &Actor, a: &Access, person: &str) -> Result<()> {
    a.require(actor, Action::ManageCircle)?;
    if a.circle.guardian_id.as_deref() == Some(person) && !a.may(actor, Action::NameGuardian) {
        return Err(Error::Forbidden);
    }
    let mut tx = k.db.begin().await?;
    if !store::remove_member(&mut tx, &a.circle.id, person).await? {
        return Err(Error::not_found("watch-member-not-found"));
    }
    audit_change(&mut tx, k, actor, a, "watch.member", &format!("{person} removed")).await?;
    tx.commit().await
}

pub(crate) async fn add_rule_for(k: &Kernel, actor: &Actor, a: &Access, input: &RuleInput) -> Result<StoredRule> {
    a.require(actor, Action::ManageCircle)?;
    let rule = input
        .check()
        .map_err(|e| Error::invalid_with(e.key, vec![("field", e.field.into())]))?;
    let mut tx = k.db.begin().await?;
    let by = actor.person_id.as_deref().unwrap_or_default();
    let r = store::add_rule(&mut tx, k, &a.circle.id, &rule, by).await?;
    audit_change(&mut tx, k, actor, a, "watch.rule", rule.kind.as_str()).await?;
    tx.commit().await?;
    Ok(r)
}

pub(crate) async fn remove_rule_for(k: &Kernel, actor: &Actor, a: &Access, rule: &str) -> Result<()> {
    a.require(actor, Action::ManageCircle)?;
    let mut tx = k.db.begin().await?;
    if !store::remove_rule(&mut tx, k, &a.circle.id, rule).await? {
        return Err(Error::not_found("watch-rule-not-found"));
    }
    audit_change(&mut tx, k, actor, a, "watch.rule", &format!("{rule} removed")).await?;
    tx.commit().await
}

/// What the circle's page shows besides the view: the signals since `since` (newest first), the
/// calls made for each escalation of the view, and the occurrences logged for each schedule.
/// Part of the read `view_for` records (call it first).
pub(crate) struct PageDetail {
    pub signals: Vec<store::signals::SignalRow>,
    pub calls: std::collections::HashMap<String, Vec<(i64, String, i64)>>,
    pub logged: std::collections::HashMap<String, Vec<i64>>,
}

pub(crate) async fn page_detail_for(k: &Kernel, a: &Access, view: &CircleView, since: i64) -> Result<PageDetail> {
    let c = &a.circle;
    // As in `view_for`: nothing about the person's days unless they (still) agree.
    let signals = if store::watching(&k.db, &c.id).await? {
        store::signals::recent(k, &c.person_id, since, 5000).await?
    } else {
        Vec::new()
    };
    let mut calls = std::collections::HashMap::new();
    for e in view.escalations.iter().filter(|e| e.circle_id == c.id) {
        calls.insert(e.id.clone(), store::calls(&k.db, &e.id).await?);
    }
    let mut logged = std::collections::HashMap::new();
    for s in &view.schedules {
        let at = store::schedule_log(&k.db, &s.id)
            .await?
            .into_iter()
            .map(|l| l.0)
            .collect();
        logged.insert(s.id.clone(), at);
    }
    Ok(PageDetail { signals, calls, logged })
}

/// The person's own circle waiting for their answer (consent or not).
pub(crate) async fn own_pending(k: &Kernel, actor: &Actor) -> Result<Circle> {
    let me = actor.person_id.as_deref().ok_or(Error::Forbidden)?;
    store::of_person(&k.db, me)
        .await?
        .filter(|c| c.consent_id.is_none())
        .ok_or_else(|| Error::conflict("watch-nothing-to-answer", vec![]))
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
pub(crate) async fn require_watching(k: &Kernel, a: &Access) -> Result<()> {
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
    let mut tx = k.db.begin().await?;
    let token = store::add_device(&mut tx, k, &a.circle, id, input.kind.trim()).await?;
    audit_change(&mut tx, k, actor, a, "watch.device", id).await?;
    tx.commit().await?;
    Ok(DeviceToken {
        id: id.to_string(),
        token,
        mqtt_topic: format!("machi/signals/{id}"),
    })
}

/// Retire a device: its token stops working at once and its identifier is unlinked.
pub(crate) async fn remove_device_for(k: &Kernel, actor: &Actor, a: &Access, device: &str) -> Result<()> {
    a.require(actor, Action::ManageCircle)?;
    let mut tx = k.db.begin().await?;
    if !store::remove_device(&mut tx, &a.circle, device).await? {
        return Err(Error::not_found("watch-device-not-found"));
    }
    audit_change(&mut tx, k, actor, a, "watch.device", &format!("{device} removed")).await?;
    tx.commit().await
}

/// The person (or the welfare desk) ends the circle: no more signals kept, no more calls.
pub(crate) async fn close_for(k: &Kernel, actor: &Actor, id: &str) -> Result<()> {
    let a = access(k, actor, id).await?;
    a.require(actor, Action::CloseCircle)?;
    let mut tx = k.db.begin().await?;
    store::close_circle(&mut tx, k, &a.circle.id).await?;
    audit_change(&mut tx, k, actor, &a, "watch.close", "closed").await?;
    tx.commit().await
}
