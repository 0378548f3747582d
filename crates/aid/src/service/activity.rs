//! After the match: done / no-show / cancel, settlement and receipt, reviews both ways, reports.

use kernel::model::audit::AuditRecord;
use kernel::model::policy::Actor;
use kernel::{Error, Kernel, Result};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::model::lifecycle::{self, Event, Party};
use crate::store::{self, Request, Settlement};

use super::{me, party, refusal, state_of};

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
    let mut tx = k.db.begin().await?;
    if !store::transition(&mut tx, k, &r.id, &r.state, next.as_str()).await? {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    let rec = AuditRecord::new(actor.person_id.as_deref(), "aid.state", format!("aid/{}", r.id)).reason(next.as_str());
    kernel::store::audit::append_in(&mut tx, k.now(), vec![rec]).await?;
    tx.commit().await?;
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
