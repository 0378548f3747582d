//! The one policy of machi: `may(actor, action, resource)`. Every handler asks it; nothing
//! else decides who may do what. The kernel answers for its own actions (people, households,
//! organisations, audit); each module declares its own actions, resources and rules in its
//! `policy` room by implementing [`Policy`], and its rows of the role × action matrix as a
//! [`Sheet`]. The server gathers every sheet into one matrix test against the [`fixtures`].

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
    pub fn has_role_over(&self, role: Role, area_path: &[Id]) -> bool {
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

    /// Staff of a city department (any duty).
    pub fn is_city_staff(&self) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == Role::Staff && g.organisation_kind == OrgKind::Department)
    }
}

/// Declares a policy's actions: an enum with `ALL` and `as_str` (the name written to the audit
/// log and shown in the matrix). Used by the kernel and by every module's `policy` room.
#[macro_export]
macro_rules! policy_actions {
    ($(#[$meta:meta])* $($variant:ident = $text:literal),+ $(,)?) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        pub enum Action { $($variant),+ }
        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $(Action::$variant => $text),+ } }
        }
    };
}

/// A policy's [`Sheet`]: its actions (`Action::ALL` of the calling module), the expected table,
/// and the resource each action is asked about in the matrix (`fn(Action) -> Resource`).
#[macro_export]
macro_rules! policy_sheet {
    ($table:expr, $resource:expr $(,)?) => {
        $crate::model::policy::Sheet {
            actions: || Action::ALL.iter().map(|a| a.as_str()).collect(),
            table: $table,
            answers: |who| {
                Action::ALL
                    .iter()
                    .map(|a| $crate::model::policy::may(who, *a, &$resource(*a)))
                    .collect()
            },
        }
    };
}

/// A policy: its actions, the resources they are about, and its rules. The kernel's is
/// `Action`/`Resource` here; each module implements it for its own `policy::Action`.
pub trait Policy: Copy {
    type Resource;
    /// May `actor` do `action` to `resource`? Pure; anonymous visitors are asked too.
    fn may(actor: &Actor, action: Self, resource: &Self::Resource) -> bool;
    /// The action's name, as in the audit log and the matrix.
    fn name(self) -> &'static str;
}

/// May `actor` do `action` to `resource`? Whichever policy the action belongs to answers.
pub fn may<A: Policy>(actor: &Actor, action: A, resource: &A::Resource) -> bool {
    A::may(actor, action, resource)
}

policy_actions! {
    /// Everything the kernel's own policy can be asked about.
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
}

/// What a kernel action is about. Area paths hold the resource's area and all its ancestors, so a
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
}

impl Policy for Action {
    type Resource = Resource;

    fn may(actor: &Actor, action: Action, resource: &Resource) -> bool {
        kernel_may(actor, action, resource)
    }

    fn name(self) -> &'static str {
        self.as_str()
    }
}

fn kernel_may(actor: &Actor, action: Action, resource: &Resource) -> bool {
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
        _ => false,
    }
}

/// A policy's rows of the role × action matrix: a table with one column per action (in the
/// order `actions` gives) and one row per fixture actor; `Y` allowed, `.` refused.
#[derive(Clone, Copy)]
pub struct Sheet {
    /// The policy's action names, in column order.
    pub actions: fn() -> Vec<&'static str>,
    /// The expected answers: a header row of short labels, then `actor Y . Y …` rows.
    pub table: &'static str,
    /// What the policy answers for one fixture actor, one answer per column.
    pub answers: fn(&Actor) -> Vec<bool>,
}

impl Sheet {
    /// A policy with no actions of its own.
    pub const EMPTY: Sheet = Sheet {
        actions: Vec::new,
        table: "",
        answers: |_| Vec::new(),
    };

    /// Compare the table with the policy's answers: every fixture actor has a row, every action a
    /// column, every cell agrees. The mismatches, if any, as sentences.
    pub fn check(&self, module: &str) -> Vec<String> {
        let actions = (self.actions)();
        let mut problems = Vec::new();
        let mut lines = self.table.lines().map(str::trim).filter(|l| !l.is_empty());
        let Some(header) = lines.next() else {
            if !actions.is_empty() {
                problems.push(format!("{module}: {} actions but no matrix", actions.len()));
            }
            return problems;
        };
        let columns = header.split_whitespace().skip(1).count();
        if columns != actions.len() {
            problems.push(format!("{module}: {columns} columns for {} actions", actions.len()));
        }
        let mut seen = Vec::new();
        for line in lines {
            let mut cells = line.split_whitespace();
            let name = cells.next().unwrap_or_default();
            let Some(who) = fixtures::actor(name) else {
                problems.push(format!("{module}: no fixture actor {name}"));
                continue;
            };
            seen.push(name);
            let expected: Vec<&str> = cells.collect();
            let got = (self.answers)(&who);
            if expected.len() != actions.len() || got.len() != actions.len() {
                problems.push(format!("{module}: row {name} has {} cells", expected.len()));
                continue;
            }
            for ((action, cell), got) in actions.iter().zip(expected).zip(got) {
                if got != (cell == "Y") {
                    problems.push(format!(
                        "{module}: {name} × {action}: expected {cell}, policy says {got}"
                    ));
                }
            }
        }
        for name in fixtures::ACTORS {
            if !actions.is_empty() && !seen.contains(name) {
                problems.push(format!("{module}: no row for {name}"));
            }
        }
        problems
    }
}

/// The kernel's rows of the matrix (columns follow `Action::ALL`).
pub fn sheet() -> Sheet {
    Sheet {
        actions: || Action::ALL.iter().map(|a| a.as_str()).collect(),
        table: KERNEL_MATRIX,
        answers: |who| {
            Action::ALL
                .iter()
                .map(|a| may(who, *a, &fixtures::kernel_resource(*a)))
                .collect()
        },
    }
}

const KERNEL_MATRIX: &str = "
    actor          dir list crea read edit idr  idm  look hhr  hhm  asg  org  mem  area cons tok  paud audit
    anonymous      Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .
    self           Y   .    .    Y    Y    Y    .    .    Y    .    .    .    .    .    Y    Y    Y    .
    representative Y   .    .    .    .    .    .    .    Y    Y    .    .    .    .    .    .    .    .
    neighbour      Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .
    officer_d1     Y   Y    .    Y    .    .    .    .    Y    .    .    .    .    .    .    .    .    .
    officer_d2     Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .
    staff          Y   Y    .    Y    .    .    .    Y    Y    .    .    .    .    .    .    .    .    .
    alerts_staff   Y   Y    .    Y    .    .    .    Y    Y    .    .    .    .    .    .    .    .    .
    welfare_staff  Y   Y    .    Y    .    .    .    Y    Y    .    .    .    .    .    .    .    .    .
    admin          Y   Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    Y    .    .    .    Y
    auditor        Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    Y
    medic          Y   .    .    .    .    .    .    Y    .    .    .    .    .    .    .    .    .    .
    care_manager   Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .
    supporter      Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .
    shop_owner     Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .
    aid_npo        Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .
    npo_staff      Y   .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .    .
";

/// The fixture town every policy's matrix is written against: district D1 contains 町丁目 C1 and
/// C2; district D2 contains C3. The target resident (`target`) lives in C1, household H1, whose
/// representative is R. Actors are named by what they are.
pub mod fixtures {
    use super::{Action, Actor, Id, Resource, RoleGrant};
    use crate::model::org::{OrgKind, Role};

    /// Every fixture actor: each sheet has one row for each.
    pub const ACTORS: &[&str] = &[
        "anonymous",
        "self",
        "representative",
        "neighbour",
        "officer_d1",
        "officer_d2",
        "staff",
        "alerts_staff",
        "welfare_staff",
        "admin",
        "auditor",
        "medic",
        "care_manager",
        "supporter",
        "shop_owner",
        "aid_npo",
        "npo_staff",
    ];

    /// The target resident's person id, their household's, and the supporter accepted for the
    /// target's request for help.
    pub const TARGET: &str = "target";
    pub const TARGET_HOUSEHOLD: &str = "H1";
    pub const SUPPORTER: &str = "sp";

    /// The target resident's id, owned.
    pub fn target_person() -> Id {
        TARGET.into()
    }

    /// The target resident, as a kernel resource.
    pub fn target() -> Resource {
        Resource::Person {
            id: TARGET.into(),
            household_id: Some(TARGET_HOUSEHOLD.into()),
            area_path: path("C1"),
        }
    }

    /// The target's household (H1, represented by R, in C1).
    pub fn household() -> Resource {
        Resource::Household {
            id: "H1".into(),
            representative_id: Some("R".into()),
            area_path: path("C1"),
        }
    }

    /// A 町丁目 and its ancestors.
    pub fn path(chome: &str) -> Vec<Id> {
        let district = if chome == "C3" { "D2" } else { "D1" };
        vec![chome.into(), district.into(), "TOWN".into()]
    }

    pub fn grant(role: Role, kind: OrgKind, area: Option<&str>) -> RoleGrant {
        RoleGrant {
            role,
            organisation_id: format!("org-{kind}"),
            organisation_kind: kind,
            area_id: area.map(Into::into),
            duties: vec![],
        }
    }

    /// The fixture actor of that name.
    pub fn actor(name: &str) -> Option<Actor> {
        let person = |id: &str, household: Option<&str>, grants: Vec<RoleGrant>| Actor {
            person_id: Some(id.into()),
            household_id: household.map(Into::into),
            grants,
        };
        let with_duties = |g: RoleGrant, duties: &[&str]| RoleGrant {
            duties: duties.iter().map(|d| d.to_string()).collect(),
            ..g
        };
        let resident = grant(Role::Resident, OrgKind::Association, Some("D1"));
        Some(match name {
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
                vec![with_duties(grant(Role::Staff, OrgKind::Department, None), &["alerts"])],
            ),
            "welfare_staff" => person(
                "w",
                None,
                vec![with_duties(
                    grant(Role::Staff, OrgKind::Department, None),
                    &["welfare", "watch"],
                )],
            ),
            "admin" => person("a", None, vec![grant(Role::Admin, OrgKind::Department, None)]),
            "auditor" => person("au", None, vec![grant(Role::Auditor, OrgKind::Department, None)]),
            "medic" => person("m", None, vec![grant(Role::Medic, OrgKind::Hospital, None)]),
            "care_manager" => person("cm", None, vec![grant(Role::CareManager, OrgKind::CareOffice, None)]),
            "supporter" => person("sp", None, vec![grant(Role::Supporter, OrgKind::Npo, None)]),
            "aid_npo" => person(
                "np",
                None,
                vec![with_duties(grant(Role::Staff, OrgKind::Npo, None), &["aid"])],
            ),
            "npo_staff" => person("ns", None, vec![grant(Role::Staff, OrgKind::Npo, None)]),
            "shop_owner" => person("sh", None, vec![grant(Role::ShopOwner, OrgKind::Shop, None)]),
            _ => return None,
        })
    }

    /// The resource each kernel action is asked about in the matrix.
    pub(super) fn kernel_resource(action: Action) -> Resource {
        use Action::*;
        match action {
            ReadDirectory | CreatePerson | AssignHouseholds | ManageOrganisations | ManageMemberships | ImportAreas
            | ReadAuditLog | LookupIdentifier => Resource::Town,
            ListPeople => Resource::Area { area_path: path("C2") },
            ReadHousehold | ManageHousehold => household(),
            _ => target(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{actor, path, target};
    use super::*;

    #[test]
    fn a_wrong_cell_or_a_missing_row_is_reported() {
        let wrong = Sheet {
            table: "actor dir\nanonymous .\n",
            actions: || vec!["directory.read"],
            answers: |who| vec![may(who, Action::ReadDirectory, &Resource::Town)],
        };
        let problems = wrong.check("x");
        assert!(
            problems.iter().any(|p| p.contains("anonymous × directory.read")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("no row for self")), "{problems:?}");
    }

    #[test]
    fn officer_scope_follows_the_area_tree() {
        let o = actor("officer_d1").unwrap();
        let in_c3 = Resource::Person {
            id: "x".into(),
            household_id: None,
            area_path: path("C3"),
        };
        assert!(may(&o, Action::ReadPerson, &target()));
        assert!(!may(&o, Action::ReadPerson, &in_c3));
        assert!(!may(&o, Action::ListPeople, &Resource::Town));
        assert!(may(&actor("officer_d2").unwrap(), Action::ReadPerson, &in_c3));
    }
}
