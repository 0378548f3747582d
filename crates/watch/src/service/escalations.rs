//! Escalations: acknowledging a call (「今から訪問します」) and reporting what the visit found.

use kernel::model::policy::Actor;
use kernel::{Error, Kernel, Result};
use serde::Deserialize;
use utoipa::ToSchema;

use super::access::{Access, access, audit_change};
use super::require_training;
use crate::policy::Action;
use crate::store::{self, Escalation};

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
    let mut tx = k.db.begin().await?;
    if !store::acknowledge(&mut tx, k, &e, me).await? {
        drop(tx);
        let now = store::get_escalation(&k.db, &e.id).await?.unwrap_or(e);
        if let Some(by) = &now.acknowledged_by {
            let name = crate::service::notices::person_name(k, by).await?;
            return Err(Error::conflict("watch-already-visiting", vec![("name", name)]));
        }
        return Err(Error::conflict("watch-escalation-closed", vec![]));
    }
    audit_change(&mut tx, k, actor, &a, "watch.acknowledge", &e.id).await?;
    tx.commit().await?;
    let e = store::get_escalation(&k.db, &e.id).await?.ok_or(Error::Forbidden)?;
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
    // Read before the transaction: the other calls the same visit answers (below).
    let others = store::acknowledged_by(&k.db, &a.circle.id, me).await?;
    let mut tx = k.db.begin().await?;
    if !store::close_escalation(&mut tx, k, &e.id, &input.outcome, note, "visit").await? {
        return Err(Error::conflict("watch-escalation-closed", vec![]));
    }
    // The same visit answers the circle's other calls it stopped.
    for other in others {
        store::close_escalation(&mut tx, k, &other, &input.outcome, note, "visit").await?;
    }
    audit_change(&mut tx, k, actor, &a, "watch.outcome", &input.outcome).await?;
    tx.commit().await?;
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

/// The open calls of every circle, with the watched person's name, for the welfare desk
/// (nobody else: empty).
pub(crate) async fn open_for_desk(k: &Kernel, actor: &Actor) -> Result<Vec<(Escalation, String)>> {
    if !crate::policy::is_desk(actor) {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for e in store::open_escalations(&k.db).await? {
        let circle = store::require(&k.db, &e.circle_id).await?;
        let name = crate::service::notices::person_name(k, &circle.person_id).await?;
        out.push((e, name));
    }
    Ok(out)
}
