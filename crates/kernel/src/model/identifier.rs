//! Linked identifiers: one person, several IDs (IC card, association member number, device),
//! each unique within its kind — never one number for everything.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Id;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct LinkedIdentifier {
    pub kind: String,
    pub value: String,
    pub person_id: Id,
    pub created_at: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierInput {
    pub kind: String,
    pub value: String,
}

impl IdentifierInput {
    /// Kinds are short lowercase words (`ic_card`, `member_no`, `device`); values are trimmed,
    /// non-empty and at most 200 characters.
    pub fn validate(self) -> Option<IdentifierInput> {
        let kind = self.kind.trim().to_string();
        let value = self.value.trim().to_string();
        let kind_ok = !kind.is_empty()
            && kind.len() <= 40
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        let value_ok = !value.is_empty() && value.chars().count() <= 200;
        (kind_ok && value_ok).then_some(IdentifierInput { kind, value })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_kind_and_value() {
        assert!(
            IdentifierInput {
                kind: "ic_card".into(),
                value: " 0123 ".into()
            }
            .validate()
            .is_some()
        );
        assert!(
            IdentifierInput {
                kind: "IC Card".into(),
                value: "1".into()
            }
            .validate()
            .is_none()
        );
        assert!(
            IdentifierInput {
                kind: "device".into(),
                value: "  ".into()
            }
            .validate()
            .is_none()
        );
    }
}
