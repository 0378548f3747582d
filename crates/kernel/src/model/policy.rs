//! The one policy of machi: `may(actor, action, resource)`. Every handler asks it; nothing
//! else decides who may do what. Pure, so the whole role × action matrix is tested.

use serde::Serialize;

use super::Id;
use super::org::{OrgKind, Role};

/// A role as held by the actor: in which organisation, and for which area if scoped.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoleGrant {
    pub role: Role,
    pub organisation_id: Id,
    pub organisation_kind: OrgKind,
    pub area_id: Option<Id>,
    /// The organisation's duties (a department's `alerts` duty, say).
    pub duties: Vec<String>,
}

/// Who is asking. Anonymous visitors have no person.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Actor {
    pub person_id: Option<Id>,
    pub household_id: Option<Id>,
    pub grants: Vec<RoleGrant>,
}

impl Actor {
    pub fn anonymous() -> Self {
        Actor::default()
    }

    pub fn is_person(&self, id: &str) -> bool {
        self.person_id.as_deref() == Some(id)
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }

    /// Holds `role` with a scope covering `area_path` (an unscoped grant covers the whole town).
    fn has_role_over(&self, role: Role, area_path: &[Id]) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.area_id.as_ref().is_none_or(|a| area_path.contains(a)))
    }

    /// Staff of a department that holds `duty`.
    pub fn is_staff_with_duty(&self, duty: &str) -> bool {
        self.grants.iter().any(|g| {
            g.role == Role::Staff && g.organisation_kind == OrgKind::Department && g.duties.iter().any(|d| d == duty)
        })
    }

    /// Staff of the city, or of an NPO the town commissioned, whose organisation holds `duty`
    /// (e.g. a ファミリー・サポート centre run by an NPO coordinating mutual aid).
    pub fn is_commissioned_for(&self, duty: &str) -> bool {
        self.grants.iter().any(|g| {
            g.role == Role::Staff
                && matches!(g.organisation_kind, OrgKind::Department | OrgKind::Npo)
                && g.duties.iter().any(|d| d == duty)
        })
    }

    fn is_city_staff(&self) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == Role::Staff && g.organisation_kind == OrgKind::Department)
    }
}

macro_rules! actions {
    ($($variant:ident = $text:literal),+ $(,)?) => {
        /// Everything the kernel's policy can be asked about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
        pub enum Action { $($variant),+ }
        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $(Action::$variant => $text),+ } }
        }
    };
}

actions! {
    ReadDirectory = "directory.read",
    ListPeople = "people.list",
    CreatePerson = "person.create",
    ReadPerson = "person.read",
    EditPerson = "person.edit",
    ReadIdentifiers = "identifiers.read",
    ManageIdentifiers = "identifiers.manage",
    LookupIdentifier = "identifier.lookup",
    ReadHousehold = "household.read",
    ManageHousehold = "household.manage",
    AssignHouseholds = "households.assign",
    ManageOrganisations = "organisations.manage",
    ManageMemberships = "memberships.manage",
    ImportAreas = "areas.import",
    ManageConsents = "consents.manage",
    ManageTokens = "tokens.manage",
    ReadPersonAudit = "person_audit.read",
    ReadAuditLog = "audit.read",
    PublishAlerts = "alerts.publish",
    StartSafetyRound = "safety.start",
    ViewSafetyTally = "safety.tally",
    FollowUpSafety = "safety.follow_up",
    AnswerSafety = "safety.answer",
    CreateCircle = "watch.create",
    ViewCircle = "watch.view",
    ManageCircle = "watch.manage",
    ConsentCircle = "watch.consent",
    AcknowledgeWatch = "watch.acknowledge",
    ApproveContacts = "watch.contacts",
    RecordTraining = "watch.training",
    SendMessage = "watch.message",
    AskAid = "aid.ask",
    OfferAid = "aid.offer",
    ManageAidRequest = "aid.manage",
    ActOnAid = "aid.act",
    CoordinateAid = "aid.coordinate",
}

/// What the action is about. Area paths hold the resource's area and all its ancestors, so a
/// grant scoped to a district covers every 町丁目 in it.
#[derive(Debug, Clone, PartialEq)]
pub enum Resource {
    Town,
    Area {
        area_path: Vec<Id>,
    },
    Person {
        id: Id,
        household_id: Option<Id>,
        area_path: Vec<Id>,
    },
    Household {
        id: Id,
        representative_id: Option<Id>,
        area_path: Vec<Id>,
    },
    Organisation {
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
    /// A request for mutual aid (共助) and the supporter whose offer was accepted.
    AidRequest {
        requester_id: Id,
        supporter_id: Option<Id>,
    },
}

/// May `actor` do `action` to `resource`?
pub fn may(actor: &Actor, action: Action, resource: &Resource) -> bool {
    use Action::*;
    if action == ReadDirectory {
        return true;
    }
    if actor.person_id.is_none() {
        return false;
    }
    let admin = actor.has_role(Role::Admin);
    match (action, resource) {
        (ListPeople, Resource::Town) => admin || actor.is_city_staff(),
        (ListPeople, Resource::Area { area_path }) => {
            admin || actor.is_city_staff() || actor.has_role_over(Role::Officer, area_path)
        }
        // Moving people between households, or choosing who acts for one, is the city's job.
        (CreatePerson | AssignHouseholds | ManageOrganisations | ManageMemberships | ImportAreas, _) => admin,
        (ReadPerson, Resource::Person { id, area_path, .. }) => {
            actor.is_person(id) || admin || actor.is_city_staff() || actor.has_role_over(Role::Officer, area_path)
        }
        (EditPerson | ReadIdentifiers, Resource::Person { id, .. }) => actor.is_person(id) || admin,
        (ManageIdentifiers, Resource::Person { .. }) => admin,
        // Identifying a person by card or device: city staff and emergency medical staff.
        (LookupIdentifier, _) => admin || actor.is_city_staff() || actor.has_role(Role::Medic),
        // Consent, tokens and the person's own audit trail belong to the person alone.
        (ManageConsents | ManageTokens | ReadPersonAudit, Resource::Person { id, .. }) => actor.is_person(id),
        (ReadHousehold, Resource::Household { id, area_path, .. }) => {
            actor.household_id.as_deref() == Some(id.as_str())
                || admin
                || actor.is_city_staff()
                || actor.has_role_over(Role::Officer, area_path)
        }
        (ManageHousehold, Resource::Household { representative_id, .. }) => {
            admin || representative_id.as_deref().is_some_and(|r| actor.is_person(r))
        }
        (ReadAuditLog, _) => admin || actor.has_role(Role::Auditor),
        // Emergency information is issued by the department that holds the alerts duty only.
        (PublishAlerts, _) => actor.is_staff_with_duty("alerts"),
        // Safety confirmation (安否確認): city staff for any area, an officer for their own.
        (StartSafetyRound | ViewSafetyTally, Resource::Town) => admin || actor.is_city_staff(),
        (StartSafetyRound | ViewSafetyTally, Resource::Area { area_path }) => {
            admin || actor.is_city_staff() || actor.has_role_over(Role::Officer, area_path)
        }
        // Visits to households that need help or stay silent: the area's officers and supporters
        // (on the town: anyone who follows up somewhere, for the navigation).
        (FollowUpSafety, Resource::Town) => {
            admin || actor.is_city_staff() || actor.has_role(Role::Officer) || actor.has_role(Role::Supporter)
        }
        (FollowUpSafety, Resource::Area { area_path }) => {
            admin
                || actor.is_city_staff()
                || actor.has_role_over(Role::Officer, area_path)
                || actor.has_role_over(Role::Supporter, area_path)
        }
        // One member answers for the whole household; nobody answers for another's, except the
        // family in a watching circle around one of its members (asked about that circle).
        (AnswerSafety, Resource::Household { id, .. }) => actor.household_id.as_deref() == Some(id.as_str()),
        (AnswerSafety, Resource::Circle { role, .. }) => role.as_deref() == Some("family"),
        // Everyone logged in may open the safety pages (the navigation asks about the town).
        (AnswerSafety, Resource::Town) => true,
        // Watch-over (見守り). Anyone may propose a circle around a person; it starts only with the
        // person's or their guardian's consent. The welfare desk (the `watch` duty) sees every circle.
        (CreateCircle, Resource::Person { .. }) => true,
        (ViewCircle, Resource::Town) => true,
        (ViewCircle, Resource::Circle { person_id, role, .. }) => {
            actor.is_person(person_id) || role.is_some() || actor.is_staff_with_duty("watch")
        }
        (ManageCircle, Resource::Circle { person_id, role, .. }) => {
            actor.is_person(person_id)
                || matches!(role.as_deref(), Some("family" | "care_manager"))
                || actor.is_staff_with_duty("watch")
        }
        (
            ConsentCircle,
            Resource::Circle {
                person_id, guardian, ..
            },
        ) => actor.is_person(person_id) || *guardian,
        (AcknowledgeWatch, Resource::Circle { role, .. }) => role.is_some() || actor.is_staff_with_duty("watch"),
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
            *guardian || (!*has_guardian && (role.as_deref() == Some("family") || actor.is_staff_with_duty("watch")))
        }
        // Privacy training of supporters and volunteers is recorded by the welfare desk.
        (RecordTraining, _) => admin || actor.is_staff_with_duty("watch"),
        (SendMessage, Resource::Person { id, .. }) => !actor.is_person(id),
        // Mutual aid (共助): any resident asks or offers; the requester decides on their request;
        // requester and accepted supporter act on the activity; the coordinator (the `aid` duty)
        // — city staff or an NPO's staff — sees unmatched requests and suggests supporters.
        (AskAid | OfferAid, Resource::Town) => true,
        (ManageAidRequest, Resource::AidRequest { requester_id, .. }) => actor.is_person(requester_id),
        (
            ActOnAid,
            Resource::AidRequest {
                requester_id,
                supporter_id,
            },
        ) => actor.is_person(requester_id) || supporter_id.as_deref().is_some_and(|s| actor.is_person(s)),
        (CoordinateAid, _) => admin || actor.is_commissioned_for("aid"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixture town: district D1 contains 町丁目 C1 and C2; district D2 contains C3.
    /// The target resident lives in C1, household H1 (whose representative is R).
    fn target() -> Resource {
        Resource::Person {
            id: "target".into(),
            household_id: Some("H1".into()),
            area_path: path("C1"),
        }
    }

    fn path(chome: &str) -> Vec<Id> {
        let district = if chome == "C3" { "D2" } else { "D1" };
        vec![chome.into(), district.into(), "TOWN".into()]
    }

    fn grant(role: Role, kind: OrgKind, area: Option<&str>) -> RoleGrant {
        RoleGrant {
            role,
            organisation_id: format!("org-{kind}"),
            organisation_kind: kind,
            area_id: area.map(Into::into),
            duties: vec![],
        }
    }

    fn actor(name: &str) -> Actor {
        let person = |id: &str, household: Option<&str>, grants: Vec<RoleGrant>| Actor {
            person_id: Some(id.into()),
            household_id: household.map(Into::into),
            grants,
        };
        let resident = grant(Role::Resident, OrgKind::Association, Some("D1"));
        match name {
            "anonymous" => Actor::anonymous(),
            "self" => person("target", Some("H1"), vec![resident]),
            "representative" => person("R", Some("H1"), vec![resident]),
            "neighbour" => person("n", Some("H2"), vec![resident]),
            "officer_d1" => person(
                "o1",
                Some("H3"),
                vec![grant(Role::Officer, OrgKind::Association, Some("D1"))],
            ),
            "officer_d2" => person(
                "o2",
                Some("H4"),
                vec![grant(Role::Officer, OrgKind::Association, Some("D2"))],
            ),
            "staff" => person("s", None, vec![grant(Role::Staff, OrgKind::Department, None)]),
            "alerts_staff" => person(
                "b",
                None,
                vec![RoleGrant {
                    duties: vec!["alerts".into()],
                    ..grant(Role::Staff, OrgKind::Department, None)
                }],
            ),
            "welfare_staff" => person(
                "w",
                None,
                vec![RoleGrant {
                    duties: vec!["welfare".into(), "watch".into()],
                    ..grant(Role::Staff, OrgKind::Department, None)
                }],
            ),
            "admin" => person("a", None, vec![grant(Role::Admin, OrgKind::Department, None)]),
            "auditor" => person("au", None, vec![grant(Role::Auditor, OrgKind::Department, None)]),
            "medic" => person("m", None, vec![grant(Role::Medic, OrgKind::Hospital, None)]),
            "care_manager" => person("cm", None, vec![grant(Role::CareManager, OrgKind::CareOffice, None)]),
            "supporter" => person("sp", None, vec![grant(Role::Supporter, OrgKind::Npo, None)]),
            "aid_npo" => person(
                "np",
                None,
                vec![RoleGrant {
                    duties: vec!["aid".into()],
                    ..grant(Role::Staff, OrgKind::Npo, None)
                }],
            ),
            "npo_staff" => person("ns", None, vec![grant(Role::Staff, OrgKind::Npo, None)]),
            "shop_owner" => person("sh", None, vec![grant(Role::ShopOwner, OrgKind::Shop, None)]),
            other => panic!("no fixture actor {other}"),
        }
    }

    /// The resource each action is asked about in the matrix.
    fn resource_for(action: Action) -> Resource {
        use Action::*;
        match action {
            ReadDirectory | CreatePerson | AssignHouseholds | ManageOrganisations | ManageMemberships | ImportAreas
            | ReadAuditLog | PublishAlerts => Resource::Town,
            LookupIdentifier => Resource::Town,
            ListPeople | StartSafetyRound | ViewSafetyTally | FollowUpSafety => {
                Resource::Area { area_path: path("C2") }
            }
            RecordTraining | AskAid | OfferAid | CoordinateAid => Resource::Town,
            ManageAidRequest | ActOnAid => Resource::AidRequest {
                requester_id: "target".into(),
                supporter_id: Some("sp".into()),
            },
            ViewCircle | ManageCircle | ConsentCircle | AcknowledgeWatch | ApproveContacts => Resource::Circle {
                person_id: "target".into(),
                role: None,
                guardian: false,
                has_guardian: false,
            },
            ReadHousehold | ManageHousehold | AnswerSafety => Resource::Household {
                id: "H1".into(),
                representative_id: Some("R".into()),
                area_path: path("C1"),
            },
            _ => target(),
        }
    }

    /// Expected answers. Columns follow `Action::ALL`; Y = allowed, . = refused.
    const MATRIX: &str = "
        actor          dir list crea read edit idr  idm  look hhr  hhm  asg  org  mem  area cons tok  paud audit alrt  srnd stly sfol sans  wcre wvie wman wcon wack wapp wtrn wmsg  aask aoff aman aact acoo
        anonymous      Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .  .    .    .    .    .    .    .    .  .    .    .    .    .
        self           Y   .    .    Y    Y    Y    .    .    Y    .    .    .    .    .    Y    Y    Y    .    .    .    .    .    Y  Y    Y    Y    Y    .    .    .    .  Y    Y    Y    Y    .
        representative Y   .    .    .    .    .    .    .    Y    Y    .    .    .    .    .    .    .    .    .    .    .    .    Y  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        neighbour      Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        officer_d1     Y   Y    .    Y    .    .    .    .    Y    .    .    .    .    .    .    .    .    .    .    Y    Y    Y    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        officer_d2     Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        staff          Y   Y    .    Y    .    .    .    Y    Y    .    .    .    .    .    .    .    .    .    .    Y    Y    Y    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        alerts_staff   Y   Y    .    Y    .    .    .    Y    Y    .    .    .    .    .    .    .    .    .    Y    Y    Y    Y    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        welfare_staff  Y   Y    .    Y    .    .    .    Y    Y    .    .    .    .    .    .    .    .    .    .    Y    Y    Y    .      Y    Y    Y    .    Y    Y    Y    Y  Y    Y    .    .    .
        admin          Y   Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    .    .    .    Y    .    Y    Y    Y    .  Y    .    .    .    .    .    Y    Y  Y    Y    .    .    Y
        auditor        Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    Y    .    .    .    .    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        medic          Y   .    .    .    .    .    .    Y    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        care_manager   Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        supporter      Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    Y    .  Y    .    .    .    .    .    .    Y  Y    Y    .    Y    .
        shop_owner     Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
        aid_npo        Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    Y
        npo_staff      Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .  Y    .    .    .    .    .    .    Y  Y    Y    .    .    .
    ";

    #[test]
    fn role_action_matrix_matches_the_table() {
        let mut lines = MATRIX.lines().map(str::trim).filter(|l| !l.is_empty());
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().skip(1).collect();
        assert_eq!(header.len(), Action::ALL.len(), "one column per action");
        let mut mismatches = Vec::new();
        for line in lines {
            let mut cells = line.split_whitespace();
            let name = cells.next().unwrap();
            let who = actor(name);
            let expected: Vec<&str> = cells.collect();
            assert_eq!(expected.len(), Action::ALL.len(), "row {name}");
            for (action, cell) in Action::ALL.iter().zip(expected) {
                let got = may(&who, *action, &resource_for(*action));
                if got != (cell == "Y") {
                    mismatches.push(format!(
                        "{name} × {}: expected {cell}, policy says {got}",
                        action.as_str()
                    ));
                }
            }
        }
        assert!(
            mismatches.is_empty(),
            "policy differs from the matrix:\n{}",
            mismatches.join("\n")
        );
    }

    #[test]
    fn only_family_in_the_circle_answer_a_safety_check_for_the_watched_household() {
        let circle = |role: Option<&str>| Resource::Circle {
            person_id: "target".into(),
            role: role.map(Into::into),
            guardian: false,
            has_guardian: false,
        };
        let neighbour = actor("neighbour");
        assert!(may(&neighbour, Action::AnswerSafety, &circle(Some("family"))));
        for role in [None, Some("care_manager"), Some("supporter"), Some("officer")] {
            assert!(!may(&neighbour, Action::AnswerSafety, &circle(role)), "{role:?}");
        }
        assert!(!may(&actor("anonymous"), Action::AnswerSafety, &circle(Some("family"))));
    }

    #[test]
    fn officer_scope_follows_the_area_tree() {
        let o = actor("officer_d1");
        let in_c3 = Resource::Person {
            id: "x".into(),
            household_id: None,
            area_path: path("C3"),
        };
        assert!(may(&o, Action::ReadPerson, &target()));
        assert!(!may(&o, Action::ReadPerson, &in_c3));
        assert!(!may(&o, Action::ListPeople, &Resource::Town));
        assert!(may(&actor("officer_d2"), Action::ReadPerson, &in_c3));
    }

    /// Held messages to a watched person: the family decides until a guardian is named, then the
    /// guardian alone (with the welfare desk only while there is none); the person never does.
    #[test]
    fn family_decide_held_messages_until_a_guardian_is_named() {
        let circle = |role: Option<&str>, guardian: bool, has_guardian: bool| Resource::Circle {
            person_id: "target".into(),
            role: role.map(Into::into),
            guardian,
            has_guardian,
        };
        let family = actor("neighbour");
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
            &actor("self"),
            Action::ApproveContacts,
            &circle(None, false, false)
        ));
        assert!(may(
            &actor("welfare_staff"),
            Action::ApproveContacts,
            &circle(None, false, false)
        ));
        assert!(!may(
            &actor("welfare_staff"),
            Action::ApproveContacts,
            &circle(None, false, true)
        ));
    }
}
