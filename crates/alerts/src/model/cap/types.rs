//! The CAP document model: alert, info, resource, area and their parts.

use super::*;

/// `<alert>`: one CAP message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub identifier: String,
    pub sender: String,
    pub sent: CapTime,
    pub status: Status,
    pub msg_type: MsgType,
    pub source: Option<String>,
    pub scope: Scope,
    /// Required when `scope` is `Restricted`.
    pub restriction: Option<String>,
    /// Required when `scope` is `Private`; a space-separated list, kept verbatim.
    pub addresses: Option<String>,
    #[serde(default)]
    pub codes: Vec<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub references: Vec<Reference>,
    /// Space-separated incident identifiers, kept verbatim.
    pub incidents: Option<String>,
    #[serde(default)]
    pub infos: Vec<Info>,
}

/// One earlier message named in `<references>` (written `sender,identifier,sent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub sender: String,
    pub identifier: String,
    pub sent: CapTime,
}

/// `<info>`: the event described in one language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Info {
    /// As given in the document, or [`DEFAULT_LANGUAGE`] when absent.
    #[serde(default = "default_language")]
    pub language: String,
    /// At least one.
    pub categories: Vec<Category>,
    pub event: String,
    #[serde(default)]
    pub response_types: Vec<ResponseType>,
    pub urgency: Urgency,
    pub severity: Severity,
    pub certainty: Certainty,
    pub audience: Option<String>,
    #[serde(default)]
    pub event_codes: Vec<ValuePair>,
    pub effective: Option<CapTime>,
    pub onset: Option<CapTime>,
    pub expires: Option<CapTime>,
    pub sender_name: Option<String>,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    pub web: Option<String>,
    pub contact: Option<String>,
    #[serde(default)]
    pub parameters: Vec<ValuePair>,
    #[serde(default)]
    pub resources: Vec<Resource>,
    #[serde(default)]
    pub areas: Vec<Area>,
}

pub(super) fn default_language() -> String {
    DEFAULT_LANGUAGE.to_owned()
}

/// `<eventCode>`, `<parameter>` and `<geocode>`: a named value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValuePair {
    pub value_name: String,
    pub value: String,
}

/// `<resource>`: a file with supplemental information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    pub resource_desc: String,
    pub mime_type: String,
    /// Bytes.
    pub size: Option<u64>,
    pub uri: Option<String>,
    /// Base64 content, kept verbatim.
    pub deref_uri: Option<String>,
    /// SHA-1 of the content, kept verbatim.
    pub digest: Option<String>,
}

/// `<area>`: where the info applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Area {
    pub area_desc: String,
    #[serde(default)]
    pub polygons: Vec<Polygon>,
    #[serde(default)]
    pub circles: Vec<Circle>,
    #[serde(default)]
    pub geocodes: Vec<ValuePair>,
    /// Feet above mean sea level, as CAP defines it.
    pub altitude: Option<f64>,
    /// Feet above mean sea level; requires `altitude`.
    pub ceiling: Option<f64>,
}

/// A closed WGS 84 ring of `(latitude, longitude)` points: at least 4, first == last.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Polygon(pub Vec<(f64, f64)>);

/// A WGS 84 circle; CAP writes it `lat,lon radius`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Circle {
    pub lat: f64,
    pub lon: f64,
    pub radius_km: f64,
}
