//! Offers, withdrawal, acceptance (409 names who was first) and fee changes both confirm.

use crate::policy::{Action, Resource};
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::model::Category;
use crate::model::lifecycle::{self, Event, Party, Refusal};
use crate::store::index;
use crate::store::{self, Request};

use super::requests::{check_eligible, reaches, visible_to_supporter};
use super::{fees, invalid, me, party, refusal, resource, state_of};

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
pub(crate) async fn tell_requester(
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

/// 409 naming who was first.
pub(crate) async fn already_accepted(k: &Kernel, r: &Request) -> Result<Error> {
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
