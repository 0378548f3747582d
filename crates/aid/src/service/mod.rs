//! The aid module's use cases shared by its pages, its JSON API, its jobs and its CLI. `http`,
//! `jobs` and `cli` call downwards into here, never into each other.

pub mod activity;
pub mod coordinator;
pub mod notices;
pub mod offers;
pub mod profiles;
pub mod requests;

use crate::model::FeeRule;
use crate::model::lifecycle::{Party, Refusal, State as St};
use crate::policy::Resource;
use crate::store::Request;
use kernel::model::policy::Actor;
use kernel::{Error, Kernel, Result};

pub(crate) fn fees(k: &Kernel) -> FeeRule {
    FeeRule {
        min_per_hour: crate::config::of(k).fee_min_per_hour,
        max_per_hour: crate::config::of(k).fee_max_per_hour,
    }
}

pub(crate) fn invalid(e: crate::model::InputError) -> Error {
    let mut args = e.args;
    args.push(("field", e.field.to_string()));
    Error::invalid_with(e.key, args)
}

pub(crate) fn me(actor: &Actor) -> Result<&str> {
    actor.person_id.as_deref().ok_or(Error::Forbidden)
}

/// The asker's part in a request.
pub(crate) fn party(actor: &Actor, r: &Request) -> Party {
    match actor.person_id.as_deref() {
        Some(p) if p == r.requester_id => Party::Requester,
        Some(p) if r.supporter_id.as_deref() == Some(p) => Party::Supporter,
        _ => Party::Other,
    }
}

pub(crate) fn resource(r: &Request) -> Resource {
    Resource::Request {
        requester_id: r.requester_id.clone(),
        supporter_id: r.supporter_id.clone(),
    }
}

pub(crate) fn state_of(r: &Request) -> St {
    St::parse(&r.state).unwrap_or(St::Cancelled)
}

pub(crate) fn refusal(r: Refusal) -> Error {
    match r {
        Refusal::NotYours => Error::Forbidden,
        Refusal::NotStarted => Error::invalid(r.key()),
        Refusal::AlreadyAccepted | Refusal::WrongState(_) => Error::conflict(r.key(), vec![]),
    }
}
