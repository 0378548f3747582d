//! CAP 1.2 (OASIS Common Alerting Protocol): types, a strict parser, a serializer and semantic validation.
//!
//! `parse` accepts only what the CAP 1.2 schema and specification allow (schema order, enumerations, offsets on
//! times, closed polygons, …) so that every accepted alert can be re-serialised by `to_xml` unchanged.
//! Text content is trimmed of surrounding XML whitespace (space, tab, CR, LF); everything else, including
//! full-width spaces, is kept exactly.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// XML namespace of CAP 1.2 documents.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// Language assumed by the specification when an `<info>` has no `<language>`.
pub const DEFAULT_LANGUAGE: &str = "en-US";

pub(super) const RULE_MISSING: &str = "required element missing";
pub(super) const RULE_UNKNOWN: &str = "unknown element";
pub(super) const RULE_ONCE: &str = "element may appear only once";
pub(super) const RULE_ONLY_TEXT: &str = "element must contain only text";
pub(super) const RULE_NO_TEXT: &str = "element must not contain text";
pub(super) const RULE_XML_CHAR: &str = "text contains a character not allowed in XML";
pub(super) const RULE_ID: &str = "must be non-empty, without spaces, commas, < or &";
pub(super) const RULE_NUMBER: &str = "must be a decimal number like 35.6895";
pub(super) const RULE_FINITE: &str = "number must be finite";
pub(super) const RULE_COORD: &str = "coordinate out of range (latitude -90..90, longitude -180..180)";
/// Deepest legal nesting is alert/info/area/geocode/value; anything much deeper is rejected early.
pub(super) const MAX_DEPTH: usize = 8;

/// A CAP document or value that breaks the standard: which element, and which rule (a short English phrase).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{element}: {rule}")]
pub struct CapError {
    pub element: String,
    pub rule: String,
}

impl CapError {
    pub fn new(element: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            element: element.into(),
            rule: rule.into(),
        }
    }
}

mod enums;
mod parse;
mod time;
mod types;
mod validate;
mod write;

pub use enums::*;
pub use parse::*;
pub use time::*;
pub use types::*;
use validate::*;
pub use write::*;

#[cfg(test)]
mod schema_tests;
#[cfg(test)]
mod tests;
