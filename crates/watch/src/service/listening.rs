//! Privacy trainings, listening schedules, their log, and the calls and visits missed.

use kernel::model::audit::AuditRecord;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::Deserialize;
use utoipa::ToSchema;

use super::access::{Access, access, audit_change};
use super::require_training;
use crate::policy::{Action, Resource};
use crate::store::{self, Schedule, Training};

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
    let mut tx = k.db.begin().await?;
    let t = store::record_training(
        &mut tx,
        k,
        &person.id,
        org,
        from,
        to,
        actor.person_id.as_deref().unwrap_or_default(),
    )
    .await?;
    let rec = AuditRecord::new(
        actor.person_id.as_deref(),
        "watch.training",
        format!("person/{}", person.id),
    )
    .subject(&person.id)
    .reason(org);
    kernel::store::audit::append_in(&mut tx, k.now(), vec![rec]).await?;
    tx.commit().await?;
    Ok(t)
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
    let mut tx = k.db.begin().await?;
    let id = store::add_schedule(
        &mut tx,
        k,
        &a.circle.id,
        &input.volunteer_id,
        &input.kind,
        (input.weekday, minute as i64),
        by,
    )
    .await?;
    audit_change(&mut tx, k, actor, a, "watch.schedule", &input.volunteer_id).await?;
    tx.commit().await?;
    Ok(id)
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

/// The circle a schedule belongs to, for one who may see that circle.
pub(crate) async fn circle_of_schedule(k: &Kernel, actor: &Actor, schedule_id: &str) -> Result<String> {
    let s = store::get_schedule(&k.db, schedule_id).await?.ok_or(Error::Forbidden)?;
    Ok(access(k, actor, &s.circle_id).await?.circle.id)
}
