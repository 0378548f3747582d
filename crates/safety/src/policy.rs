//! Who may do what in safety confirmation (安否確認): city staff start rounds and see tallies for
//! any area, an officer for their own; the area's officers and supporters follow up; one member
//! answers for the whole household, and family in a watching circle may answer for the watched
//! person's household.

use kernel::model::Id;
use kernel::model::org::Role;
use kernel::model::policy::fixtures::{TARGET_HOUSEHOLD, path};
use kernel::model::policy::{Actor, Policy, Sheet};

kernel::policy_actions! {
    /// What the safety policy can be asked about.
    StartSafetyRound = "safety.start",
    ViewSafetyTally = "safety.tally",
    FollowUpSafety = "safety.follow_up",
    AnswerSafety = "safety.answer",
}

/// What a safety action is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Town,
    /// An area and its ancestors.
    Area {
        area_path: Vec<Id>,
    },
    /// A household, answered for by its members.
    Household {
        id: Id,
    },
    /// The household of a person the asker watches over, as the asker stands in that person's
    /// circle (their role: `family`, `care_manager`, …).
    WatchedHousehold {
        role: String,
    },
}

impl Policy for Action {
    type Resource = Resource;

    fn may(actor: &Actor, action: Action, resource: &Resource) -> bool {
        use Action::*;
        if actor.person_id.is_none() {
            return false;
        }
        let admin = actor.has_role(Role::Admin);
        match (action, resource) {
            (StartSafetyRound | ViewSafetyTally, Resource::Town) => admin || actor.is_city_staff(),
            (StartSafetyRound | ViewSafetyTally, Resource::Area { area_path }) => {
                admin || actor.is_city_staff() || actor.has_role_over(Role::Officer, area_path)
            }
            // Visits to households that need help or stay silent: the area's officers and
            // supporters (on the town: anyone who follows up somewhere, for the navigation).
            (FollowUpSafety, Resource::Town) => {
                admin || actor.is_city_staff() || actor.has_role(Role::Officer) || actor.has_role(Role::Supporter)
            }
            (FollowUpSafety, Resource::Area { area_path }) => {
                admin
                    || actor.is_city_staff()
                    || actor.has_role_over(Role::Officer, area_path)
                    || actor.has_role_over(Role::Supporter, area_path)
            }
            // Nobody answers for another's household, except the family in a watching circle.
            (AnswerSafety, Resource::Household { id }) => actor.household_id.as_deref() == Some(id.as_str()),
            (AnswerSafety, Resource::WatchedHousehold { role }) => role == "family",
            // Everyone logged in may open the safety pages (the navigation asks about the town).
            (AnswerSafety, Resource::Town) => true,
            _ => false,
        }
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// Everyone logged in sees 「安否確認」 in the navigation.
pub fn sees_nav(actor: &Actor) -> bool {
    kernel::model::policy::may(actor, Action::AnswerSafety, &Resource::Town)
}

fn matrix_resource(action: Action) -> Resource {
    match action {
        Action::AnswerSafety => Resource::Household {
            id: TARGET_HOUSEHOLD.into(),
        },
        _ => Resource::Area { area_path: path("C2") },
    }
}

/// The safety rows of the role × action matrix (rounds and tallies asked about 町丁目 C2, answers
/// about the target's household H1).
pub fn sheet() -> Sheet {
    kernel::policy_sheet!(
        "
            actor          srnd stly sfol sans
            anonymous      .    .    .    .
            self           .    .    .    Y
            representative .    .    .    Y
            neighbour      .    .    .    .
            officer_d1     Y    Y    Y    .
            officer_d2     .    .    .    .
            staff          Y    Y    Y    .
            alerts_staff   Y    Y    Y    .
            welfare_staff  Y    Y    Y    .
            admin          Y    Y    Y    .
            auditor        .    .    .    .
            medic          .    .    .    .
            care_manager   .    .    .    .
            supporter      .    .    Y    .
            shop_owner     .    .    .    .
            aid_npo        .    .    .    .
            npo_staff      .    .    .    .
        ",
        matrix_resource,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::model::policy::fixtures::actor;
    use kernel::model::policy::may;

    #[test]
    fn only_family_in_the_circle_answer_a_safety_check_for_the_watched_household() {
        let circle = |role: &str| Resource::WatchedHousehold { role: role.into() };
        let neighbour = actor("neighbour").unwrap();
        assert!(may(&neighbour, Action::AnswerSafety, &circle("family")));
        for role in ["care_manager", "supporter", "officer", "listening_volunteer"] {
            assert!(!may(&neighbour, Action::AnswerSafety, &circle(role)), "{role}");
        }
        assert!(!may(
            &actor("anonymous").unwrap(),
            Action::AnswerSafety,
            &circle("family")
        ));
    }
}
