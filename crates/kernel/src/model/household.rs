//! Households: the unit that answers safety confirmation. One member (the representative)
//! may act for the household; every member may see it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Id;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Household {
    pub id: Id,
    pub name: String,
    pub area_id: Option<Id>,
    pub address: Option<String>,
    pub representative_id: Option<Id>,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct HouseholdMember {
    pub household_id: Id,
    pub person_id: Id,
    pub display_name: String,
    /// How the member relates to the household (本人, 配偶者, 子, …), free text.
    pub relation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HouseholdWithMembers {
    #[serde(flatten)]
    pub household: Household,
    pub members: Vec<HouseholdMember>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HouseholdInput {
    pub name: String,
    #[serde(default)]
    pub area_id: Option<Id>,
    #[serde(default)]
    pub address: Option<String>,
}
