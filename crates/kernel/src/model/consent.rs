//! Consent records: who agreed to what, for which purpose and scope, and when it was withdrawn.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Id;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Consent {
    pub id: Id,
    pub person_id: Id,
    pub purpose: String,
    pub scope: String,
    pub granted_at: i64,
    pub withdrawn_at: Option<i64>,
    /// Who gave it: the person themself, or a guardian acting for them.
    pub granted_by: Id,
    pub by_guardian: bool,
}

impl Consent {
    pub fn is_active(&self) -> bool {
        self.withdrawn_at.is_none()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub purpose: String,
    pub scope: String,
}
