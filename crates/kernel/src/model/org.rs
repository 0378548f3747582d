//! Organisations and the roles people hold in them. A role is scoped to an organisation and,
//! where relevant, an area (an officer of an association acts for its own area only).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Id;

/// An enum kept and sent as text (snake_case), with `ALL`, `as_str`, `parse` (input trimmed)
/// and `Display`. Exported for the modules' own enums (they need `serde` and `utoipa`).
#[macro_export]
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize, ::utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<$name> {
                match s.trim() { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

crate::text_enum!(
    /// What kind of body an organisation is.
    OrgKind {
        Department = "department",
        Association = "association",
        Npo = "npo",
        Shop = "shop",
        CareOffice = "care_office",
        School = "school",
        Hospital = "hospital",
    }
);

crate::text_enum!(
    /// A role a person holds in an organisation.
    Role {
        Resident = "resident",
        Officer = "officer",
        Staff = "staff",
        Supporter = "supporter",
        CareManager = "care_manager",
        Volunteer = "volunteer",
        ShopOwner = "shop_owner",
        Lecturer = "lecturer",
        Medic = "medic",
        Auditor = "auditor",
        Admin = "admin",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Organisation {
    pub id: Id,
    pub kind: OrgKind,
    pub name: String,
    pub area_id: Option<Id>,
    /// Duties a department holds (e.g. `alerts`, `welfare`); modules check them through the policy.
    pub duties: Vec<String>,
    pub created_at: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationInput {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub area_id: Option<Id>,
    #[serde(default)]
    pub duties: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Membership {
    pub id: Id,
    pub person_id: Id,
    pub organisation_id: Id,
    pub organisation_kind: OrgKind,
    pub role: Role,
    pub area_id: Option<Id>,
    pub created_at: i64,
    /// The duties of the organisation (e.g. `alerts`), which some actions require.
    pub organisation_duties: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipInput {
    pub person_id: Id,
    pub organisation_id: Id,
    pub role: String,
    #[serde(default)]
    pub area_id: Option<Id>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_and_kind_text_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{}\"", r.as_str()));
        }
        for k in OrgKind::ALL {
            assert_eq!(OrgKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(Role::parse("king"), None);
    }
}
