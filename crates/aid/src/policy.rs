//! Who may do what in mutual aid (共助): any resident asks or offers; the requester decides on
//! their request; requester and accepted supporter act on the activity; the coordinator (the
//! `aid` duty) — city staff or an NPO's staff — sees unmatched requests and suggests supporters.

use kernel::model::Id;
use kernel::model::org::Role;
use kernel::model::policy::fixtures::{SUPPORTER, TARGET};
use kernel::model::policy::{Actor, Policy, Sheet};

kernel::policy_actions! {
    /// What the aid policy can be asked about.
    AskAid = "aid.ask",
    OfferAid = "aid.offer",
    ManageAidRequest = "aid.manage",
    ActOnAid = "aid.act",
    CoordinateAid = "aid.coordinate",
}

/// What an aid action is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Town,
    /// A request for help and the supporter whose offer was accepted.
    Request {
        requester_id: Id,
        supporter_id: Option<Id>,
    },
}

impl Policy for Action {
    type Resource = Resource;

    fn may(actor: &Actor, action: Action, resource: &Resource) -> bool {
        use Action::*;
        if actor.person_id.is_none() {
            return false;
        }
        match (action, resource) {
            (AskAid | OfferAid, Resource::Town) => true,
            (ManageAidRequest, Resource::Request { requester_id, .. }) => actor.is_person(requester_id),
            (
                ActOnAid,
                Resource::Request {
                    requester_id,
                    supporter_id,
                },
            ) => actor.is_person(requester_id) || supporter_id.as_deref().is_some_and(|s| actor.is_person(s)),
            (CoordinateAid, _) => actor.has_role(Role::Admin) || actor.is_commissioned_for("aid"),
            _ => false,
        }
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// Everyone logged in sees 「助け合い」 in the navigation.
pub fn sees_nav(actor: &Actor) -> bool {
    kernel::model::policy::may(actor, Action::AskAid, &Resource::Town)
}

fn matrix_resource(action: Action) -> Resource {
    match action {
        Action::ManageAidRequest | Action::ActOnAid => Resource::Request {
            requester_id: TARGET.into(),
            supporter_id: Some(SUPPORTER.into()),
        },
        _ => Resource::Town,
    }
}

/// The aid rows of the role × action matrix (the request is the target's, accepted from the
/// fixture supporter).
pub fn sheet() -> Sheet {
    kernel::policy_sheet!(
        "
            actor          aask aoff aman aact acoo
            anonymous      .    .    .    .    .
            self           Y    Y    Y    Y    .
            representative Y    Y    .    .    .
            neighbour      Y    Y    .    .    .
            officer_d1     Y    Y    .    .    .
            officer_d2     Y    Y    .    .    .
            staff          Y    Y    .    .    .
            alerts_staff   Y    Y    .    .    .
            welfare_staff  Y    Y    .    .    .
            admin          Y    Y    .    .    Y
            auditor        Y    Y    .    .    .
            medic          Y    Y    .    .    .
            care_manager   Y    Y    .    .    .
            supporter      Y    Y    .    Y    .
            shop_owner     Y    Y    .    .    .
            aid_npo        Y    Y    .    .    Y
            npo_staff      Y    Y    .    .    .
        ",
        matrix_resource,
    )
}
