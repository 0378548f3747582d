//! Who may do what in watch-over (見守り). Anyone may propose a circle around a person; it starts
//! only with the person's or their guardian's consent. Members see the circle; the person, family
//! and care manager manage it; the welfare desk (staff of a department with the `watch` duty) sees
//! every circle. Held messages are decided by the family until a guardian is named, then by the
//! guardian alone.

use kernel::model::Id;
use kernel::model::org::Role;
use kernel::model::policy::fixtures::{TARGET, target_person};
use kernel::model::policy::{Actor, Policy, Sheet};

kernel::policy_actions! {
    /// What the watch policy can be asked about.
    CreateCircle = "watch.create",
    ViewCircle = "watch.view",
    ManageCircle = "watch.manage",
    ConsentCircle = "watch.consent",
    AcknowledgeWatch = "watch.acknowledge",
    ApproveContacts = "watch.contacts",
    RecordTraining = "watch.training",
    SendMessage = "watch.message",
    NameGuardian = "watch.guardian",
    CloseCircle = "watch.close",
    WelfareDesk = "watch.desk",
}

/// What a watch action is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Town,
    /// A person (to propose a circle around, or to send a message to).
    Person {
        id: Id,
    },
    /// A watch-over circle (見守りの輪) around a person, as the asker stands in it.
    Circle {
        /// The watched person.
        person_id: Id,
        /// The asker's role in the circle (`family`, `care_manager`, `supporter`,
        /// `listening_volunteer`, `officer`), if a member.
        role: Option<String>,
        /// The asker is the circle's named guardian.
        guardian: bool,
        /// The circle has a named guardian (without one, the family members and the welfare desk
        /// approve contacts and decide held messages).
        has_guardian: bool,
    },
}

impl Policy for Action {
    type Resource = Resource;

    fn may(actor: &Actor, action: Action, resource: &Resource) -> bool {
        use Action::*;
        if actor.person_id.is_none() {
            return false;
        }
        let desk = actor.is_staff_with_duty("watch");
        match (action, resource) {
            (CreateCircle, Resource::Person { .. }) => true,
            (ViewCircle, Resource::Town) => true,
            (ViewCircle, Resource::Circle { person_id, role, .. }) => {
                actor.is_person(person_id) || role.is_some() || desk
            }
            (ManageCircle, Resource::Circle { person_id, role, .. }) => {
                actor.is_person(person_id) || matches!(role.as_deref(), Some("family" | "care_manager")) || desk
            }
            (
                ConsentCircle,
                Resource::Circle {
                    person_id, guardian, ..
                },
            ) => actor.is_person(person_id) || *guardian,
            (AcknowledgeWatch, Resource::Circle { role, .. }) => role.is_some() || desk,
            (
                ApproveContacts,
                Resource::Circle {
                    role,
                    guardian,
                    has_guardian,
                    ..
                },
            ) => {
                // Held messages are decided by the family from the start; a named guardian takes it over.
                *guardian || (!*has_guardian && (role.as_deref() == Some("family") || desk))
            }
            // Privacy training of supporters and volunteers is recorded by the welfare desk.
            (RecordTraining, _) => actor.has_role(Role::Admin) || desk,
            (SendMessage, Resource::Person { id }) => !actor.is_person(id),
            // A guardian may consent for the person and decides who reaches them: named (or
            // removed) only by the person, or by the welfare desk (which sees the court's papers)
            // — never by family alone. Ending the circle is theirs too.
            (NameGuardian | CloseCircle, Resource::Circle { person_id, .. }) => actor.is_person(person_id) || desk,
            (WelfareDesk, _) => desk,
            _ => false,
        }
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

/// Everyone logged in sees 「見守り」 in the navigation.
pub fn sees_nav(actor: &Actor) -> bool {
    kernel::model::policy::may(actor, Action::ViewCircle, &Resource::Town)
}

/// The welfare desk: sees every circle and every open escalation, and visits without the
/// volunteers' training gate.
pub fn is_desk(actor: &Actor) -> bool {
    kernel::model::policy::may(actor, Action::WelfareDesk, &Resource::Town)
}

fn matrix_resource(action: Action) -> Resource {
    use Action::*;
    match action {
        RecordTraining | WelfareDesk => Resource::Town,
        CreateCircle | SendMessage => Resource::Person { id: target_person() },
        _ => Resource::Circle {
            person_id: TARGET.into(),
            role: None,
            guardian: false,
            has_guardian: false,
        },
    }
}

/// The watch rows of the role × action matrix (circles asked about from outside: the asker holds
/// no role in the target's circle, which has no guardian).
pub fn sheet() -> Sheet {
    kernel::policy_sheet!(
        "
            actor          wcre wvie wman wcon wack wapp wtrn wmsg wgrd wcls desk
            anonymous      .    .    .    .    .    .    .    .    .    .    .
            self           Y    Y    Y    Y    .    .    .    .    Y    Y    .
            representative Y    .    .    .    .    .    .    Y    .    .    .
            neighbour      Y    .    .    .    .    .    .    Y    .    .    .
            officer_d1     Y    .    .    .    .    .    .    Y    .    .    .
            officer_d2     Y    .    .    .    .    .    .    Y    .    .    .
            staff          Y    .    .    .    .    .    .    Y    .    .    .
            alerts_staff   Y    .    .    .    .    .    .    Y    .    .    .
            welfare_staff  Y    Y    Y    .    Y    Y    Y    Y    Y    Y    Y
            admin          Y    .    .    .    .    .    Y    Y    .    .    .
            auditor        Y    .    .    .    .    .    .    Y    .    .    .
            medic          Y    .    .    .    .    .    .    Y    .    .    .
            care_manager   Y    .    .    .    .    .    .    Y    .    .    .
            supporter      Y    .    .    .    .    .    .    Y    .    .    .
            shop_owner     Y    .    .    .    .    .    .    Y    .    .    .
            aid_npo        Y    .    .    .    .    .    .    Y    .    .    .
            npo_staff      Y    .    .    .    .    .    .    Y    .    .    .
        ",
        matrix_resource,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::model::policy::fixtures::actor;
    use kernel::model::policy::may;

    /// Held messages to a watched person: the family decides until a guardian is named, then the
    /// guardian alone (with the welfare desk only while there is none); the person never does.
    #[test]
    fn family_decide_held_messages_until_a_guardian_is_named() {
        let circle = |role: Option<&str>, guardian: bool, has_guardian: bool| Resource::Circle {
            person_id: TARGET.into(),
            role: role.map(Into::into),
            guardian,
            has_guardian,
        };
        let family = actor("neighbour").unwrap();
        assert!(may(
            &family,
            Action::ApproveContacts,
            &circle(Some("family"), false, false)
        ));
        assert!(!may(
            &family,
            Action::ApproveContacts,
            &circle(Some("family"), false, true)
        ));
        assert!(may(
            &family,
            Action::ApproveContacts,
            &circle(Some("family"), true, true)
        ));
        for role in ["care_manager", "supporter", "listening_volunteer", "officer"] {
            assert!(
                !may(&family, Action::ApproveContacts, &circle(Some(role), false, false)),
                "{role}"
            );
        }
        assert!(!may(
            &actor("self").unwrap(),
            Action::ApproveContacts,
            &circle(None, false, false)
        ));
        let desk = actor("welfare_staff").unwrap();
        assert!(may(&desk, Action::ApproveContacts, &circle(None, false, false)));
        assert!(!may(&desk, Action::ApproveContacts, &circle(None, false, true)));
    }

    #[test]
    fn family_manage_a_circle_but_never_name_its_guardian() {
        let family = actor("neighbour").unwrap();
        let theirs = Resource::Circle {
            person_id: TARGET.into(),
            role: Some("family".into()),
            guardian: false,
            has_guardian: false,
        };
        assert!(may(&family, Action::ManageCircle, &theirs));
        assert!(!may(&family, Action::NameGuardian, &theirs));
        assert!(!may(&family, Action::CloseCircle, &theirs));
    }
}
