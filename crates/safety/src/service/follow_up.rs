//! Follow-up: the households to visit in the asker's areas (助けが必要, or silent with a
//! 要支援者), those family answered for, assigning a visitor and recording the visit. The list
//! names households and their state: read in one transaction with its audit entry.

use kernel::model::policy::{Actor, may};
use kernel::store::outbox::NewDelivery;
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::rule;
use crate::policy::{Action, Resource};
use crate::store::{self, FollowUp, Round};

#[derive(Serialize, ToSchema)]
pub struct FollowUpView {
    /// Households that asked for help or stay silent with a 要支援者, in the asker's areas.
    pub households: Vec<FollowUp>,
    /// Households whose latest answer family gave for them (代理回答), in the asker's areas.
    pub proxy_answers: Vec<store::ProxyAnswer>,
}

/// The follow-up list of the asker's areas; refused to anyone who follows up none.
pub(crate) async fn view_for(k: &Kernel, actor: &Actor, round: &Round) -> Result<FollowUpView> {
    let s = super::rounds::scope(k, actor, round).await?;
    if s.follow_up.is_empty() {
        return Err(Error::Forbidden);
    }
    let mut tx = k.db.begin().await?;
    let households = store::follow_up(&mut tx, &round.id, &s.follow_up).await?;
    let proxy_answers = store::proxy_answers(&mut tx, &round.id, &s.follow_up).await?;
    let entry = super::audit(actor.person_id.as_deref(), "safety.follow_up", &round.id)
        .reason(&format!("{} households", households.len()));
    kernel::store::audit::append_in(&mut tx, k.now(), vec![entry]).await?;
    tx.commit().await?;
    Ok(FollowUpView {
        households,
        proxy_answers,
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitInput {
    pub visitor_id: String,
}

/// May the actor follow up this household? Returns the household's area.
async fn check_follow_up(k: &Kernel, actor: &Actor, round_id: &str, household: &str) -> Result<String> {
    let (area, _) = store::target(&k.db, round_id, household)
        .await?
        .ok_or_else(|| Error::not_found("safety-household-not-in-round"))?;
    let area_path = kernel::store::areas::path(&k.db, Some(&area)).await?;
    if !may(actor, Action::FollowUpSafety, &Resource::Area { area_path }) {
        return Err(Error::Forbidden);
    }
    Ok(area)
}

/// Who may be sent to visit in the round's area: its officers and supporters.
pub(crate) async fn visitors(k: &Kernel, round: &Round) -> Result<Vec<(String, String)>> {
    let area_path = kernel::store::areas::path(&k.db, Some(&round.area_id)).await?;
    store::visitors(&k.db, &area_path).await
}

/// Send someone to visit a household: one of the area's visitors.
pub(crate) async fn assign_for(
    k: &Kernel,
    actor: &Actor,
    round_id: &str,
    household: &str,
    visitor: &str,
) -> Result<()> {
    let area = check_follow_up(k, actor, round_id, household).await?;
    let area_path = kernel::store::areas::path(&k.db, Some(&area)).await?;
    if !store::visitors(&k.db, &area_path)
        .await?
        .iter()
        .any(|(id, _)| id == visitor)
    {
        return Err(Error::invalid_with(
            "safety-visitor-invalid",
            vec![("field", "visitor_id".into())],
        ));
    }
    // Who is sent to a household is about that household: recorded with the assignment.
    let by = actor.person_id.as_deref();
    let mut tx = k.db.begin().await?;
    store::assign_visit(&mut tx, k.now(), round_id, household, visitor, by.unwrap_or_default()).await?;
    let entry = super::audit(by, "safety.visit", round_id).reason(household);
    kernel::store::audit::append_in(&mut tx, k.now(), vec![entry]).await?;
    tx.commit().await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeInput {
    /// `safe` (会えた・無事), `help` (支援につないだ), `absent` (不在).
    pub outcome: String,
    #[serde(default)]
    pub note: Option<String>,
}

pub(crate) const OUTCOMES: [&str; 3] = ["safe", "help", "absent"];

/// Record how the visit went; refused when nobody was sent.
pub(crate) async fn outcome_for(
    k: &Kernel,
    actor: &Actor,
    round_id: &str,
    household: &str,
    input: &OutcomeInput,
) -> Result<()> {
    check_follow_up(k, actor, round_id, household).await?;
    if !OUTCOMES.contains(&input.outcome.as_str()) {
        return Err(Error::invalid_with(
            "safety-outcome-invalid",
            vec![("field", "outcome".into())],
        ));
    }
    let note = input.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 500) {
        return Err(Error::invalid_with(
            "safety-comment-too-long",
            vec![("field", "note".into())],
        ));
    }
    // How the household was found is about that household: recorded with the outcome.
    let mut tx = k.db.begin().await?;
    if !store::record_visit(&mut tx, k.now(), round_id, household, &input.outcome, note).await? {
        return Err(Error::conflict("safety-visit-not-assigned", vec![]));
    }
    let entry = super::audit(actor.person_id.as_deref(), "safety.visit_outcome", round_id).reason(household);
    kernel::store::audit::append_in(&mut tx, k.now(), vec![entry]).await?;
    tx.commit().await
}

/// Hand silent households with a 要支援者 to those who visit (the assigned visitor, else the
/// area's officers and supporters, with the watch-over circle first; else the alerts duty), by
/// e-mail. Returns how many households were escalated.
pub async fn escalate(k: &Kernel) -> Result<usize> {
    let mut escalated = 0;
    let cfg = &*crate::config::of(k);
    let now = k.now();
    for round in store::open(&k.db).await? {
        if !rule::escalation_due(round.started_at, cfg, now) {
            continue;
        }
        for (household, area, visitor) in store::to_escalate(&k.db, &round.id).await? {
            // The assigned visitor if there is one, else the officers and supporters of the area,
            // and the watch-over circle's ladder of anyone in the household; else (nobody covers
            // the area) the city's staff with the alerts duty.
            let mut to: Vec<String> = match visitor {
                Some(v) => vec![v],
                None => {
                    let path = kernel::store::areas::path(&k.db, Some(&area)).await?;
                    store::visitors(&k.db, &path)
                        .await?
                        .into_iter()
                        .map(|(id, _)| id)
                        .collect()
                }
            };
            // A watched person's circle (見守りの輪) knows them best: its ladder is told too, first.
            let members: Vec<String> = kernel::store::households::members(&k.db, &household)
                .await?
                .into_iter()
                .map(|m| m.person_id)
                .collect();
            let mut circle = watch::service::for_others::ladders_of(&k.db, &members).await?;
            if !circle.is_empty() {
                circle.retain(|p| !to.contains(p));
                circle.extend(to);
                to = circle;
            }
            if to.is_empty() {
                to = kernel::store::orgs::duty_staff(&k.db, "alerts").await?;
            }
            let h = kernel::store::households::get(&k.db, &household).await?;
            let (name, address) = h.map(|h| (h.name, h.address.unwrap_or_default())).unwrap_or_default();
            let mut mail = Vec::new();
            for person in &to {
                if let Some(p) = kernel::store::people::get(&k.db, person).await?
                    && let Some(email) = p.email
                {
                    let (subject, body) = crate::model::escalation_mail(
                        &round.title,
                        &name,
                        &address,
                        &k.link(&format!("/safety/{}", round.id)),
                    )
                    .render(kernel::i18n::Lang::from_tag(p.language.as_deref()));
                    mail.push(NewDelivery {
                        channel: "email".into(),
                        source: format!("safety:{}", round.id),
                        person_id: Some(person.clone()),
                        address: email,
                        subject,
                        body,
                        dedupe_key: format!("safety:{}:escalate:{household}:{person}", round.id),
                    });
                }
            }
            // Marked and mailed together: a crash between the two would leave a household
            // marked escalated that nobody was told about.
            let mut tx = k.db.begin().await?;
            if !store::mark_escalated_in(&mut tx, now, &round.id, &household, &to).await? {
                continue;
            }
            kernel::store::outbox::enqueue_in(&mut tx, k, &mail).await?;
            tx.commit().await?;
            escalated += 1;
        }
    }
    Ok(escalated)
}
