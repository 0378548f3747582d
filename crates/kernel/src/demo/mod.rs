//! The demo town みどり市: a fictional town generated deterministically, for docs, tests and benchmarks.
//!
//! The town has a hand-written core (areas, organisations, 28 households with 60 people including the 14
//! demo logins) that is identical for every size; larger towns append generated households after it.
//! Everything is pure: no I/O, no clock, no global randomness, so the same input always gives the same town.

use serde_json::{Value, json};

mod areas;
mod builder;
mod households;
mod names;
mod organisations;
#[cfg(test)]
mod tests;

use areas::*;
use builder::*;
use households::*;
use names::*;
use organisations::*;

/// Password shared by every demo login.
pub const DEMO_PASSWORD: &str = "midori-demo-2026";

/// The fixed demo logins, in this order.
pub const DEMO_LOGINS: &[&str] = &[
    "admin",
    "bousai",
    "fukushi",
    "kosodate",
    "doro",
    "kyodo",
    "kaicho",
    "tanaka",
    "sato",
    "caremgr",
    "supporter",
    "medic",
    "auditor",
    "shop",
];

/// Smallest town: the hand-written core alone. Smaller requests are raised to this.
pub const MIN_RESIDENTS: usize = 60;

/// Area code of the town itself.
pub const TOWN_CODE: &str = "13999";

/// A generated town.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoTown {
    /// Parents come before their children.
    pub areas: Vec<DemoArea>,
    pub organisations: Vec<DemoOrg>,
    pub households: Vec<DemoHousehold>,
    pub memberships: Vec<DemoMembership>,
    pub identifiers: Vec<DemoIdentifier>,
}

/// An area of the town: the town, a district or a 町丁目.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoArea {
    pub code: String,
    pub name: String,
    pub kana: Option<String>,
    /// `"town"`, `"district"` or `"chome"`.
    pub level: &'static str,
    pub parent_code: Option<String>,
    /// GeoJSON Polygon with closed rings of `[lon, lat]` positions.
    pub geometry: Value,
}

/// A department, association, NPO, shop, care office, school or hospital.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOrg {
    /// Stable key such as `"dept-kikikanri"`.
    pub key: String,
    /// `department`, `association`, `npo`, `shop`, `care_office`, `school` or `hospital`.
    pub kind: &'static str,
    pub name: String,
    pub area_code: Option<String>,
    pub duties: Vec<String>,
}

/// A household living in one 町丁目.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoHousehold {
    pub key: String,
    /// e.g. `"田中家"`.
    pub name: String,
    /// Always a chome code.
    pub area_code: String,
    pub address: String,
    /// Never empty.
    pub members: Vec<DemoPerson>,
    /// Index into `members`.
    pub representative: usize,
}

/// A person; every person belongs to exactly one household.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoPerson {
    /// Unique and stable, e.g. `"p000008"`.
    pub key: String,
    pub display_name: String,
    pub kana: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub needs_support: bool,
    /// Relation to the household representative: 本人, 配偶者, 子, 親.
    pub relation: Option<String>,
    /// One of [`DEMO_LOGINS`], or `None`.
    pub login: Option<&'static str>,
}

/// A person's role in an organisation, optionally limited to an area.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoMembership {
    pub person_key: String,
    pub org_key: String,
    pub role: &'static str,
    pub area_code: Option<String>,
}

/// An external identifier of a person; values are unique per kind.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoIdentifier {
    pub person_key: String,
    /// `"ic_card"`, `"member_no"` or `"device"`.
    pub kind: &'static str,
    pub value: String,
}

impl DemoTown {
    /// All people, household by household.
    pub fn people(&self) -> impl Iterator<Item = &DemoPerson> {
        self.households.iter().flat_map(|h| &h.members)
    }

    pub fn person_count(&self) -> usize {
        self.households.iter().map(|h| h.members.len()).sum()
    }

    /// The person holding a demo login, if any.
    pub fn person_by_login(&self, login: &str) -> Option<&DemoPerson> {
        self.people().find(|p| p.login == Some(login))
    }
}

/// Generates a town of exactly `residents` people (at least [`MIN_RESIDENTS`]). Same input → same output.
///
/// The first 60 people, the areas and the organisations do not depend on `residents`.
pub fn generate(residents: usize) -> DemoTown {
    let residents = residents.max(MIN_RESIDENTS);
    let (areas, chome) = build_areas();
    let mut town = Builder::new(chome, residents);
    for household in FIXED_HOUSEHOLDS {
        town.add_fixed(household);
    }
    town.fill(residents);
    DemoTown {
        areas,
        organisations: build_orgs(),
        households: town.households,
        memberships: town.memberships,
        identifiers: town.identifiers,
    }
}
