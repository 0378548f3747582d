//! Answers: who may answer for a household (a member, or family in a watching circle: 代理回答),
//! recording an answer from any channel (pages, the API, a device's button, an e-mailed link),
//! and what the answer form shows. A proxy answer and a proxy's look at the form are personal
//! data of the watched person: each commits with its audit entry.

use kernel::i18n::Lang;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::answer::AnswerInput;
use crate::policy::{Action, Resource};
use crate::store::{self, AnswerRecord, Link, NewAnswer, Recorded, Round};

/// The answer as stored.
#[derive(Serialize, ToSchema)]
pub struct Answered {
    pub id: String,
    pub household_id: String,
    pub status: String,
    /// What the tally counts (a member hurt or missing counts as 助けが必要).
    pub effective: String,
    pub answered_at: i64,
    /// The family member who answered for the household (代理回答), when not one of its members.
    pub proxy_by: Option<String>,
}

/// Family answering for a household not their own.
pub(crate) struct Proxy {
    /// The family member answering.
    pub by: String,
    /// The watched person whose household it is (the subject of the audit entry).
    pub watched: String,
}
/// May the actor answer for this household: as one of its members (`None`), or as family in the
/// watching circle of one of its members (a proxy answer)? Refused otherwise.
pub(crate) async fn answering_as(k: &Kernel, actor: &Actor, household_id: &str) -> Result<Option<Proxy>> {
    let household = Resource::Household {
        id: household_id.to_string(),
    };
    if may(actor, Action::AnswerSafety, &household) {
        return Ok(None);
    }
    if let Some(me) = actor.person_id.as_deref() {
        for w in watch::service::for_others::watched_by(&k.db, me).await? {
            if may(
                actor,
                Action::AnswerSafety,
                &Resource::WatchedHousehold { role: w.role.clone() },
            ) && kernel::store::people::household_of(&k.db, &w.person_id)
                .await?
                .as_deref()
                == Some(household_id)
            {
                return Ok(Some(Proxy {
                    by: me.to_string(),
                    watched: w.person_id,
                }));
            }
        }
    }
    Err(Error::refused("safety-not-your-household", vec![]))
}

/// Households the actor may answer for as family (not their own): (household id, watched person).
pub(crate) async fn family_households(k: &Kernel, actor: &Actor) -> Result<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(me) = actor.person_id.as_deref() else {
        return Ok(out);
    };
    for w in watch::service::for_others::watched_by(&k.db, me).await? {
        if !may(
            actor,
            Action::AnswerSafety,
            &Resource::WatchedHousehold { role: w.role.clone() },
        ) {
            continue;
        }
        if let Some(h) = kernel::store::people::household_of(&k.db, &w.person_id).await?
            && actor.household_id.as_deref() != Some(h.as_str())
            && !out.iter().any(|(x, _)| x == &h)
        {
            out.push((h, w.person_id));
        }
    }
    Ok(out)
}

/// Check and record an answer for a household; the policy decides who may (a member, or family
/// answering for it). Without an actor (a device button, an e-mailed link) the caller checked.
/// A member's answer goes through the batch writer (a quake: every household at once); family's
/// answer for another household is rare and commits in one transaction with its audit entry.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn answer_for(
    k: &Kernel,
    actor: Option<&Actor>,
    round_id: &str,
    household_id: &str,
    person_id: Option<&str>,
    channel: &str,
    input: &AnswerInput,
    lang: Lang,
) -> Result<Answered> {
    let proxy = match actor {
        Some(actor) => answering_as(k, actor, household_id).await?,
        None => None,
    };
    let proxy_by = proxy.as_ref().map(|p| p.by.clone());
    let members: Vec<String> = if input.members.is_empty() {
        Vec::new()
    } else {
        member_ids(k, household_id).await?
    };
    let answer = input
        .check(&members)
        .map_err(|e| Error::invalid_with(e.key, vec![("field", e.field)]))?;
    let status = answer.status.as_str().to_string();
    let effective = answer.effective().as_str().to_string();
    let new = NewAnswer {
        round_id: round_id.to_string(),
        household_id: household_id.to_string(),
        person_id: person_id.map(str::to_string),
        proxy_by: proxy_by.clone(),
        channel: channel.to_string(),
        answer,
    };
    let recorded = match &proxy {
        None => crate::store::writer::writer(k).submit(new).await?,
        Some(p) => {
            let mut tx = k.db.begin().await?;
            let recorded = store::record_in(&mut tx, k, &new).await?;
            if let Recorded::Stored { .. } = recorded {
                let entry = super::audit(Some(&p.by), "safety.proxy_answer", round_id)
                    .subject(&p.watched)
                    .reason(household_id);
                kernel::store::audit::append_in(&mut tx, k.now(), vec![entry]).await?;
            }
            tx.commit().await?;
            recorded
        }
    };
    match recorded {
        Recorded::Stored { id, at } => Ok(Answered {
            id,
            household_id: household_id.to_string(),
            status,
            effective,
            answered_at: at,
            proxy_by,
        }),
        Recorded::Closed(at) => Err(Error::conflict(
            "safety-round-closed",
            vec![("time", kernel::web::render::human_time(lang, at))],
        )),
        Recorded::NotTargeted => match store::get(&k.db, round_id).await? {
            None => Err(Error::not_found("safety-round-not-found")),
            Some(_) => Err(Error::Forbidden),
        },
    }
}

/// A device's button (`safety:<round>:safe` or `…:help` on `machi/acks/<device>`) answers for
/// the household of the device's person. Returns whether it was recorded.
pub async fn device_answer(k: &Kernel, device: &str, payload: &str) -> Result<bool> {
    let mut parts = payload.splitn(3, ':');
    let (Some("safety"), Some(round), Some(status)) = (parts.next(), parts.next(), parts.next()) else {
        return Ok(false);
    };
    let Some(li) = kernel::store::identifiers::lookup(&k.db, "device", device).await? else {
        return Ok(false);
    };
    let Some(household) = kernel::store::people::household_of(&k.db, &li.person_id).await? else {
        return Ok(false);
    };
    let input = AnswerInput {
        status: status.trim().to_string(),
        ..Default::default()
    };
    match answer_for(
        k,
        None,
        round,
        &household,
        Some(&li.person_id),
        "mqtt",
        &input,
        Lang::Ja,
    )
    .await
    {
        Ok(_) => Ok(true),
        Err(Error::Invalid { .. } | Error::Conflict { .. } | Error::Forbidden | Error::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The household's members, as the answer form lists them.
pub(crate) async fn members(k: &Kernel, household: &str) -> Result<Vec<kernel::model::household::HouseholdMember>> {
    kernel::store::households::members(&k.db, household).await
}

/// The household's members' ids (the answer names them).
pub(crate) async fn member_ids(k: &Kernel, household: &str) -> Result<Vec<String>> {
    Ok(members(k, household).await?.into_iter().map(|m| m.person_id).collect())
}

/// The household's name, as shown when family answers for it.
pub(crate) async fn household_name(k: &Kernel, household_id: &str) -> Result<String> {
    Ok(kernel::store::households::get(&k.db, household_id)
        .await?
        .map(|h| h.name)
        .unwrap_or_default())
}

/// Check the actor may answer for the household in this round; `Some` when as family (a proxy).
pub(crate) async fn may_answer(k: &Kernel, actor: &Actor, round: &Round, household: &str) -> Result<Option<Proxy>> {
    let proxy = answering_as(k, actor, household).await?;
    if store::target(&k.db, &round.id, household).await?.is_none() {
        return Err(Error::Forbidden);
    }
    Ok(proxy)
}

/// What the answer form starts from, for an actor who may answer: whether as family, and the
/// latest answer recorded (changing an answer starts from it). Family sees the household's
/// members and answers: a read of personal data, recorded with the read.
pub(crate) struct FormStart {
    pub proxy: bool,
    pub latest: Option<AnswerRecord>,
}

pub(crate) async fn form_for(k: &Kernel, actor: &Actor, round: &Round, household: &str) -> Result<FormStart> {
    let proxy = may_answer(k, actor, round, household).await?;
    let latest = match &proxy {
        None => store::history(&k.db, &round.id, household).await?,
        Some(p) => {
            let mut tx = k.db.begin().await?;
            let history = store::history_in(&mut tx, &round.id, household).await?;
            let entry = super::audit(Some(&p.by), "safety.proxy_form", &round.id)
                .subject(&p.watched)
                .reason(household);
            kernel::store::audit::append_in(&mut tx, k.now(), vec![entry]).await?;
            tx.commit().await?;
            history
        }
    }
    .into_iter()
    .next();
    Ok(FormStart {
        proxy: proxy.is_some(),
        latest,
    })
}

/// A household's answers in the round, latest first (the form's history and the receipt).
pub(crate) async fn history(k: &Kernel, round: &Round, household: &str) -> Result<Vec<AnswerRecord>> {
    store::history(&k.db, &round.id, household).await
}

/// An e-mailed link, without using it (showing the form must not spend it: mail scanners open links).
pub(crate) async fn peek_link(k: &Kernel, token: &str) -> Result<Link> {
    store::peek_link(k, token).await
}

/// What became of an answer given through an e-mailed link.
pub(crate) enum ByLink {
    Answered,
    /// Not stored (the link is given back, so the resident can try again).
    Refused(Error),
    /// The link cannot be used (spent a moment ago, expired, unknown).
    Unusable(Link),
}

/// Answer through an e-mailed link: spends it, and gives it back when the answer is refused.
pub(crate) async fn answer_by_link(k: &Kernel, token: &str, input: &AnswerInput, lang: Lang) -> Result<ByLink> {
    match store::use_link(k, token).await? {
        Link::Valid {
            round_id,
            household_id,
            person_id,
        } => match answer_for(
            k,
            None,
            &round_id,
            &household_id,
            Some(&person_id),
            "email",
            input,
            lang,
        )
        .await
        {
            Ok(_) => Ok(ByLink::Answered),
            Err(e) => {
                store::unuse_link(k, token).await?;
                Ok(ByLink::Refused(e))
            }
        },
        other => Ok(ByLink::Unusable(other)),
    }
}
