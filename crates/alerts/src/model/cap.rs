//! CAP 1.2 (OASIS Common Alerting Protocol): types, a strict parser, a serializer and semantic validation.
//!
//! `parse` accepts only what the CAP 1.2 schema and specification allow (schema order, enumerations, offsets on
//! times, closed polygons, …) so that every accepted alert can be re-serialised by `to_xml` unchanged.
//! Text content is trimmed of surrounding XML whitespace (space, tab, CR, LF); everything else, including
//! full-width spaces, is kept exactly.

use std::fmt;
use std::str::FromStr;

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;
use serde::{Deserialize, Serialize};

/// XML namespace of CAP 1.2 documents.
pub const NAMESPACE: &str = "urn:oasis:names:tc:emergency:cap:1.2";

/// Language assumed by the specification when an `<info>` has no `<language>`.
pub const DEFAULT_LANGUAGE: &str = "en-US";

const RULE_MISSING: &str = "required element missing";
const RULE_UNKNOWN: &str = "unknown element";
const RULE_ONCE: &str = "element may appear only once";
const RULE_ONLY_TEXT: &str = "element must contain only text";
const RULE_NO_TEXT: &str = "element must not contain text";
const RULE_XML_CHAR: &str = "text contains a character not allowed in XML";
const RULE_ID: &str = "must be non-empty, without spaces, commas, < or &";
const RULE_NUMBER: &str = "must be a decimal number like 35.6895";
const RULE_FINITE: &str = "number must be finite";
const RULE_COORD: &str = "coordinate out of range (latitude -90..90, longitude -180..180)";
/// Deepest legal nesting is alert/info/area/geocode/value; anything much deeper is rejected early.
const MAX_DEPTH: usize = 8;

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

// ---------------------------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------------------------

/// Why a string is not a CAP time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("time must have an offset like +09:00, not Z")]
    Utc,
    #[error("time must not have fractional seconds")]
    FractionalSeconds,
    #[error("time must look like 2025-04-01T09:00:00+09:00")]
    Format,
    #[error("time is not a real date, time of day or offset")]
    OutOfRange,
}

/// A CAP date-time: `YYYY-MM-DDThh:mm:ss±hh:mm`, always with an explicit offset, never `Z` nor fractions.
///
/// Equality is textual: the same instant written with different offsets compares unequal
/// (compare `to_unix_ms()` for instants).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CapTime(String);

struct TimeParts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// Signed offset east of UTC, in seconds.
    offset: i64,
}

fn digits(b: &[u8], from: usize, len: usize) -> Option<i64> {
    let part = b.get(from..from + len)?;
    part.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

impl CapTime {
    /// JST, the offset `from_unix_ms_jst` writes.
    const JST_SECONDS: i64 = 9 * 3600;

    pub fn parse(s: &str) -> Result<Self, TimeError> {
        Self::parts(s)?;
        Ok(Self(s.to_owned()))
    }

    fn parts(s: &str) -> Result<TimeParts, TimeError> {
        let b = s.as_bytes();
        let shape = |i: usize, c: u8| b.get(i) == Some(&c);
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            digits(b, 0, 4),
            digits(b, 5, 2),
            digits(b, 8, 2),
            digits(b, 11, 2),
            digits(b, 14, 2),
            digits(b, 17, 2),
        ) else {
            return Err(TimeError::Format);
        };
        if !(shape(4, b'-') && shape(7, b'-') && shape(10, b'T') && shape(13, b':') && shape(16, b':')) {
            return Err(TimeError::Format);
        }
        let tail = &b[19..];
        let sign = match tail.first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(b'Z' | b'z') if tail.len() == 1 => return Err(TimeError::Utc),
            Some(b'.') => return Err(TimeError::FractionalSeconds),
            _ => return Err(TimeError::Format),
        };
        let (Some(off_h), Some(off_m)) = (digits(b, 20, 2), digits(b, 23, 2)) else {
            return Err(TimeError::Format);
        };
        if tail.len() != 6 || tail[3] != b':' {
            return Err(TimeError::Format);
        }
        // xs:dateTime limits: year 0001..9999 here, offsets within ±14:00.
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour <= 23
            && minute <= 59
            && second <= 59
            && off_m <= 59
            && (off_h < 14 || (off_h == 14 && off_m == 0));
        if !valid {
            return Err(TimeError::OutOfRange);
        }
        Ok(TimeParts {
            year,
            month,
            day,
            hour,
            minute,
            second,
            offset: sign * (off_h * 3600 + off_m * 60),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Milliseconds since the Unix epoch (always a whole number of seconds).
    pub fn to_unix_ms(&self) -> i64 {
        // The string was validated on construction, so this cannot fail.
        let Ok(p) = Self::parts(&self.0) else {
            unreachable!("CapTime holds a validated time")
        };
        let days = days_from_civil(p.year, p.month, p.day);
        (days * 86_400 + p.hour * 3600 + p.minute * 60 + p.second - p.offset) * 1000
    }

    /// Formats an instant in Japan Standard Time (`+09:00`), dropping sub-second precision (rounding down).
    /// Instants outside years 0001..9999 (JST) are clamped to that range, which CAP can express.
    pub fn from_unix_ms_jst(ms: i64) -> Self {
        let min = (days_from_civil(1, 1, 1) * 86_400 - Self::JST_SECONDS) * 1000;
        let max = (days_from_civil(10_000, 1, 1) * 86_400 - Self::JST_SECONDS) * 1000 - 1;
        let local = ms.clamp(min, max).div_euclid(1000) + Self::JST_SECONDS;
        let (year, month, day) = civil_from_days(local.div_euclid(86_400));
        let secs = local.rem_euclid(86_400);
        Self(format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}+09:00",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ))
    }
}

impl fmt::Display for CapTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CapTime {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CapTime {
    type Error = TimeError;
    fn try_from(s: String) -> Result<Self, TimeError> {
        Self::parts(&s)?;
        Ok(Self(s))
    }
}

impl From<CapTime> for String {
    fn from(t: CapTime) -> String {
        t.0
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Enumerations
// ---------------------------------------------------------------------------------------------------------------

/// Implemented by every CAP enumeration so the parser can check values generically.
trait CapEnum: Copy + 'static {
    const ALL: &'static [Self];
    fn text(self) -> &'static str;
    fn from_text(s: &str) -> Option<Self>;
}

macro_rules! cap_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal $(| $alias:literal)*),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text $(, alias = $alias)*)] $variant),+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in CAP XML.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Reads the CAP XML text (plus deprecated spellings still seen in the wild).
            pub fn from_cap(s: &str) -> Option<Self> {
                match s {
                    $($text $(| $alias)* => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl CapEnum for $name {
            const ALL: &'static [Self] = $name::ALL;
            fn text(self) -> &'static str {
                self.as_str()
            }
            fn from_text(s: &str) -> Option<Self> {
                Self::from_cap(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

cap_enum!(
    /// `<status>`: the appropriate handling of the alert.
    Status { Actual = "Actual", Exercise = "Exercise", System = "System", Test = "Test", Draft = "Draft" }
);
cap_enum!(
    /// `<msgType>`: the nature of the alert.
    MsgType { Alert = "Alert", Update = "Update", Cancel = "Cancel", Ack = "Ack", Error = "Error" }
);
cap_enum!(
    /// `<scope>`: the intended distribution.
    Scope { Public = "Public", Restricted = "Restricted", Private = "Private" }
);
cap_enum!(
    /// `<category>` of the subject event.
    Category {
        Geo = "Geo",
        Met = "Met",
        Safety = "Safety",
        Security = "Security",
        Rescue = "Rescue",
        Fire = "Fire",
        Health = "Health",
        Env = "Env",
        Transport = "Transport",
        Infra = "Infra",
        Cbrne = "CBRNE",
        Other = "Other",
    }
);
cap_enum!(
    /// `<responseType>`: the recommended action.
    ResponseType {
        Shelter = "Shelter",
        Evacuate = "Evacuate",
        Prepare = "Prepare",
        Execute = "Execute",
        Avoid = "Avoid",
        Monitor = "Monitor",
        Assess = "Assess",
        AllClear = "AllClear",
        None = "None",
    }
);
cap_enum!(
    /// `<urgency>`.
    Urgency { Immediate = "Immediate", Expected = "Expected", Future = "Future", Past = "Past", Unknown = "Unknown" }
);
cap_enum!(
    /// `<severity>`.
    Severity { Extreme = "Extreme", Severe = "Severe", Moderate = "Moderate", Minor = "Minor", Unknown = "Unknown" }
);
cap_enum!(
    /// `<certainty>`. CAP 1.1's "Very Likely" is read as `Likely`, as CAP 1.2 asks.
    Certainty {
        Observed = "Observed",
        Likely = "Likely" | "Very Likely",
        Possible = "Possible",
        Unlikely = "Unlikely",
        Unknown = "Unknown",
    }
);

// ---------------------------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------------------------

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

fn default_language() -> String {
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

// ---------------------------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------------------------

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

fn check_text(element: &str, s: &str) -> Result<(), CapError> {
    if s.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(CapError::new(element, RULE_XML_CHAR))
    }
}

fn check_opt(element: &str, s: &Option<String>) -> Result<(), CapError> {
    s.as_deref().map_or(Ok(()), |s| check_text(element, s))
}

/// `identifier` and `sender` end up inside `<references>` triples, hence the restricted characters.
fn check_id(element: &str, s: &str) -> Result<(), CapError> {
    check_text(element, s)?;
    let bad = |c: char| c.is_whitespace() || matches!(c, ',' | '<' | '&');
    if s.is_empty() || s.contains(bad) {
        Err(CapError::new(element, RULE_ID))
    } else {
        Ok(())
    }
}

/// Approximates xs:anyURI as schema validators apply it: an RFC 3986 reference once other characters are escaped.
fn is_uri_reference(s: &str) -> bool {
    let b = s.as_bytes();
    let escapes_ok = s
        .match_indices('%')
        .all(|(i, _)| b.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)));
    let (target, fragment) = s.split_once('#').unwrap_or((s, ""));
    let first_segment = &target[..target.find(['/', '?']).unwrap_or(target.len())];
    let rest = match first_segment.split_once(':') {
        Some((scheme, _)) => {
            let scheme_ok = scheme.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
            if !scheme_ok {
                return false;
            }
            &target[scheme.len() + 1..]
        }
        None => target,
    };
    let (authority, path) = match rest.strip_prefix("//") {
        Some(r) => r.split_at(r.find(['/', '?']).unwrap_or(r.len())),
        None => ("", rest),
    };
    // Brackets may only enclose an IP-literal host.
    let (userinfo, host) = authority.rsplit_once('@').unwrap_or(("", authority));
    let host_ok = !host.contains(['[', ']'])
        || (host.starts_with('[') && host.matches('[').count() == 1 && host.matches(']').count() == 1);
    escapes_ok
        && !fragment.contains('#')
        && host_ok
        && ![userinfo, path, fragment].iter().any(|part| part.contains(['[', ']']))
}

fn check_uri(element: &str, s: &Option<String>) -> Result<(), CapError> {
    check_opt(element, s)?;
    match s {
        Some(s) if !is_uri_reference(s) => Err(CapError::new(element, "must be a URI like https://example.jp/page")),
        _ => Ok(()),
    }
}

fn check_pairs(element: &str, pairs: &[ValuePair]) -> Result<(), CapError> {
    pairs.iter().try_for_each(|p| {
        check_text(element, &p.value_name)?;
        check_text(element, &p.value)
    })
}

/// xs:language: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn check_point(element: &str, lat: f64, lon: f64) -> Result<(), CapError> {
    if !lat.is_finite() || !lon.is_finite() {
        return Err(CapError::new(element, RULE_FINITE));
    }
    if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
        Ok(())
    } else {
        Err(CapError::new(element, RULE_COORD))
    }
}

impl Polygon {
    pub fn validate(&self) -> Result<(), CapError> {
        let points = &self.0;
        points
            .iter()
            .try_for_each(|&(lat, lon)| check_point("polygon", lat, lon))?;
        if points.len() < 4 {
            return Err(CapError::new("polygon", "polygon needs at least 4 points"));
        }
        if points.first() != points.last() {
            return Err(CapError::new(
                "polygon",
                "polygon is not closed (first and last points differ)",
            ));
        }
        Ok(())
    }
}

impl Circle {
    pub fn validate(&self) -> Result<(), CapError> {
        check_point("circle", self.lat, self.lon)?;
        if !self.radius_km.is_finite() {
            return Err(CapError::new("circle", RULE_FINITE));
        }
        if self.radius_km < 0.0 {
            return Err(CapError::new("circle", "circle radius must not be negative"));
        }
        Ok(())
    }
}

impl Area {
    pub fn validate(&self) -> Result<(), CapError> {
        check_text("areaDesc", &self.area_desc)?;
        self.polygons.iter().try_for_each(Polygon::validate)?;
        self.circles.iter().try_for_each(Circle::validate)?;
        check_pairs("geocode", &self.geocodes)?;
        for (element, value) in [("altitude", self.altitude), ("ceiling", self.ceiling)] {
            if value.is_some_and(|v| !v.is_finite()) {
                return Err(CapError::new(element, RULE_FINITE));
            }
        }
        if self.ceiling.is_some() && self.altitude.is_none() {
            return Err(CapError::new("ceiling", "ceiling requires altitude"));
        }
        Ok(())
    }
}

impl Resource {
    pub fn validate(&self) -> Result<(), CapError> {
        check_text("resourceDesc", &self.resource_desc)?;
        check_text("mimeType", &self.mime_type)?;
        check_uri("uri", &self.uri)?;
        check_opt("derefUri", &self.deref_uri)?;
        check_opt("digest", &self.digest)
    }
}

impl Info {
    pub fn validate(&self) -> Result<(), CapError> {
        if !is_language_tag(&self.language) {
            return Err(CapError::new("language", "language must be a tag like ja-JP"));
        }
        if self.categories.is_empty() {
            return Err(CapError::new("category", RULE_MISSING));
        }
        check_text("event", &self.event)?;
        check_opt("audience", &self.audience)?;
        check_pairs("eventCode", &self.event_codes)?;
        check_opt("senderName", &self.sender_name)?;
        check_opt("headline", &self.headline)?;
        check_opt("description", &self.description)?;
        check_opt("instruction", &self.instruction)?;
        check_uri("web", &self.web)?;
        check_opt("contact", &self.contact)?;
        check_pairs("parameter", &self.parameters)?;
        self.resources.iter().try_for_each(Resource::validate)?;
        self.areas.iter().try_for_each(Area::validate)
    }
}

impl Alert {
    /// Applies the semantic rules `parse` enforces to an alert built in code; call it before `to_xml`.
    pub fn validate(&self) -> Result<(), CapError> {
        check_id("identifier", &self.identifier)?;
        check_id("sender", &self.sender)?;
        check_opt("source", &self.source)?;
        check_opt("restriction", &self.restriction)?;
        check_opt("addresses", &self.addresses)?;
        match self.scope {
            Scope::Restricted if self.restriction.is_none() => {
                return Err(CapError::new("restriction", "required when scope is Restricted"));
            }
            Scope::Private if self.addresses.is_none() => {
                return Err(CapError::new("addresses", "required when scope is Private"));
            }
            _ => {}
        }
        self.codes.iter().try_for_each(|c| check_text("code", c))?;
        check_opt("note", &self.note)?;
        for r in &self.references {
            check_id("references", &r.sender)?;
            check_id("references", &r.identifier)?;
        }
        check_opt("incidents", &self.incidents)?;
        self.infos.iter().try_for_each(Info::validate)
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------------------------

/// An element of the document: CAP has no mixed content and no attributes, so name, text and children suffice.
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

fn malformed(detail: impl fmt::Display) -> CapError {
    CapError::new("xml", format!("malformed XML: {detail}"))
}

fn read_tree(xml: &str) -> Result<Node, CapError> {
    // Editors on Windows like to prepend a byte-order mark.
    let mut reader = NsReader::from_str(xml.strip_prefix('\u{FEFF}').unwrap_or(xml));
    // Empty elements then arrive as Start + End, so they need no separate handling.
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok(ok) => ok,
            Err(e) => return Err(malformed(format_args!("{e} (at byte {})", reader.error_position()))),
        };
        let in_cap = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == NAMESPACE);
        match event {
            Event::Start(start) | Event::Empty(start) => {
                let name = start.local_name().as_ref().to_owned();
                if root.is_some() {
                    return Err(malformed("more than one root element"));
                }
                if stack.is_empty() && !(in_cap && name == "alert") {
                    return Err(CapError::new(
                        name,
                        format!("root element must be alert in namespace {NAMESPACE}"),
                    ));
                }
                if !in_cap {
                    return Err(CapError::new(name, "element is not in the CAP 1.2 namespace"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(CapError::new(name, "elements are nested too deeply"));
                }
                for attr in start.attributes() {
                    let attr = attr.map_err(malformed)?;
                    if attr.key.as_namespace_binding().is_none() {
                        return Err(CapError::new(name, "attributes are not allowed"));
                    }
                }
                stack.push(Node {
                    name,
                    text: String::new(),
                    children: Vec::new(),
                });
            }
            Event::End(_) => {
                let Some(mut node) = stack.pop() else {
                    return Err(malformed("unexpected end tag"));
                };
                let trimmed = node.text.trim_matches(is_xml_space);
                if trimmed.len() != node.text.len() {
                    node.text = trimmed.to_owned();
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(text) => {
                let text = text.xml10_content();
                match stack.last_mut() {
                    Some(node) => node.text.push_str(&text),
                    None if text.chars().all(is_xml_space) => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(data) => match stack.last_mut() {
                Some(node) => node.text.push_str(&data.xml10_content()),
                None => return Err(malformed("text outside the root element")),
            },
            Event::GeneralRef(reference) => {
                let Some(node) = stack.last_mut() else {
                    return Err(malformed("text outside the root element"));
                };
                let c = match &*reference {
                    "lt" => '<',
                    "gt" => '>',
                    "amp" => '&',
                    "apos" => '\'',
                    "quot" => '"',
                    _ => match reference.resolve_char_ref() {
                        Ok(Some(c)) => c,
                        Ok(None) => return Err(CapError::new(&node.name, "undefined entity reference")),
                        Err(_) => return Err(CapError::new(&node.name, "invalid character reference")),
                    },
                };
                node.text.push(c);
            }
            Event::Decl(_) | Event::Comment(_) => {}
            Event::PI(_) => return Err(malformed("processing instructions are not allowed")),
            // Refusing DTDs outright rules out entity-expansion attacks.
            Event::DocType(_) => return Err(CapError::new("DOCTYPE", "DOCTYPE declarations are not allowed")),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unexpected end of document"));
    }
    root.ok_or_else(|| malformed("no root element"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Occurs {
    One,
    Optional,
    OneOrMore,
    Many,
}

impl Occurs {
    fn required(self) -> bool {
        matches!(self, Occurs::One | Occurs::OneOrMore)
    }
    fn repeatable(self) -> bool {
        matches!(self, Occurs::OneOrMore | Occurs::Many)
    }
}

type Sequence = &'static [(&'static str, Occurs)];

const ALERT_SEQ: Sequence = &[
    ("identifier", Occurs::One),
    ("sender", Occurs::One),
    ("sent", Occurs::One),
    ("status", Occurs::One),
    ("msgType", Occurs::One),
    ("source", Occurs::Optional),
    ("scope", Occurs::One),
    ("restriction", Occurs::Optional),
    ("addresses", Occurs::Optional),
    ("code", Occurs::Many),
    ("note", Occurs::Optional),
    ("references", Occurs::Optional),
    ("incidents", Occurs::Optional),
    ("info", Occurs::Many),
];

const INFO_SEQ: Sequence = &[
    ("language", Occurs::Optional),
    ("category", Occurs::OneOrMore),
    ("event", Occurs::One),
    ("responseType", Occurs::Many),
    ("urgency", Occurs::One),
    ("severity", Occurs::One),
    ("certainty", Occurs::One),
    ("audience", Occurs::Optional),
    ("eventCode", Occurs::Many),
    ("effective", Occurs::Optional),
    ("onset", Occurs::Optional),
    ("expires", Occurs::Optional),
    ("senderName", Occurs::Optional),
    ("headline", Occurs::Optional),
    ("description", Occurs::Optional),
    ("instruction", Occurs::Optional),
    ("web", Occurs::Optional),
    ("contact", Occurs::Optional),
    ("parameter", Occurs::Many),
    ("resource", Occurs::Many),
    ("area", Occurs::Many),
];

const RESOURCE_SEQ: Sequence = &[
    ("resourceDesc", Occurs::One),
    ("mimeType", Occurs::One),
    ("size", Occurs::Optional),
    ("uri", Occurs::Optional),
    ("derefUri", Occurs::Optional),
    ("digest", Occurs::Optional),
];

const AREA_SEQ: Sequence = &[
    ("areaDesc", Occurs::One),
    ("polygon", Occurs::Many),
    ("circle", Occurs::Many),
    ("geocode", Occurs::Many),
    ("altitude", Occurs::Optional),
    ("ceiling", Occurs::Optional),
];

const PAIR_SEQ: Sequence = &[("valueName", Occurs::One), ("value", Occurs::One)];

/// Names that may come next after `count` occurrences of `seq[pos]`.
fn expected_next(seq: Sequence, pos: usize, count: usize) -> Vec<&'static str> {
    let mut names = Vec::new();
    for (i, &(name, occurs)) in seq.iter().enumerate().skip(pos) {
        let satisfied = i == pos && count > 0;
        if satisfied && !occurs.repeatable() {
            continue;
        }
        names.push(name);
        if occurs.required() && !satisfied {
            break;
        }
    }
    names
}

fn order_error(element: &str, seq: Sequence, pos: usize, count: usize) -> CapError {
    let expected = expected_next(seq, pos, count);
    let rule = if expected.is_empty() {
        "element out of schema order (no further elements expected)".to_owned()
    } else {
        format!("element out of schema order (expected one of: {})", expected.join(", "))
    };
    CapError::new(element, rule)
}

/// Checks the children of `parent` against an xs:sequence, reporting the first deviation.
fn check_sequence(parent: &Node, seq: Sequence) -> Result<(), CapError> {
    if !parent.text.is_empty() {
        return Err(CapError::new(&parent.name, RULE_NO_TEXT));
    }
    let (mut pos, mut count) = (0, 0);
    for (i, child) in parent.children.iter().enumerate() {
        let Some(idx) = seq.iter().position(|&(name, _)| name == child.name) else {
            return Err(CapError::new(&child.name, RULE_UNKNOWN));
        };
        if idx == pos && count > 0 && !seq[idx].1.repeatable() {
            return Err(CapError::new(&child.name, RULE_ONCE));
        }
        if idx < pos {
            return Err(order_error(&child.name, seq, pos, count));
        }
        if idx > pos {
            let first_skipped = if count == 0 { pos } else { pos + 1 };
            if let Some(&(missing, _)) = seq[first_skipped..idx].iter().find(|(_, occurs)| occurs.required()) {
                // A required element that does come later is misplaced rather than missing.
                if parent.children[i + 1..].iter().any(|c| c.name == missing) {
                    return Err(order_error(&child.name, seq, pos, count));
                }
                return Err(CapError::new(missing, RULE_MISSING));
            }
            (pos, count) = (idx, 0);
        }
        count += 1;
    }
    let first_left = if count == 0 { pos } else { pos + 1 };
    match seq[first_left..].iter().find(|(_, occurs)| occurs.required()) {
        Some(&(missing, _)) => Err(CapError::new(missing, RULE_MISSING)),
        None => Ok(()),
    }
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn required(&self, name: &str) -> Result<&Node, CapError> {
        self.child(name).ok_or_else(|| CapError::new(name, RULE_MISSING))
    }

    fn text(&self) -> Result<String, CapError> {
        if self.children.is_empty() {
            Ok(self.text.clone())
        } else {
            Err(CapError::new(&self.name, RULE_ONLY_TEXT))
        }
    }

    fn text_of(&self, name: &str) -> Result<String, CapError> {
        self.required(name)?.text()
    }

    fn opt_text(&self, name: &str) -> Result<Option<String>, CapError> {
        self.child(name).map(Node::text).transpose()
    }

    fn texts(&self, name: &str) -> Result<Vec<String>, CapError> {
        self.all(name).map(Node::text).collect()
    }

    fn time(&self) -> Result<CapTime, CapError> {
        let text = self.text()?;
        CapTime::try_from(text).map_err(|e| CapError::new(&self.name, e.to_string()))
    }

    fn opt_time(&self, name: &str) -> Result<Option<CapTime>, CapError> {
        self.child(name).map(Node::time).transpose()
    }

    fn value<T: CapEnum>(&self) -> Result<T, CapError> {
        let text = self.text()?;
        T::from_text(&text).ok_or_else(|| {
            let allowed: Vec<_> = T::ALL.iter().map(|v| v.text()).collect();
            CapError::new(
                &self.name,
                format!("unknown value (expected one of: {})", allowed.join(", ")),
            )
        })
    }

    fn pairs(&self, name: &str) -> Result<Vec<ValuePair>, CapError> {
        self.all(name)
            .map(|node| {
                check_sequence(node, PAIR_SEQ)?;
                Ok(ValuePair {
                    value_name: node.text_of("valueName")?,
                    value: node.text_of("value")?,
                })
            })
            .collect()
    }

    fn number(&self) -> Result<f64, CapError> {
        parse_decimal(&self.text()?).ok_or_else(|| CapError::new(&self.name, RULE_NUMBER))
    }
}

/// xs:decimal syntax only: Rust's float parser would also take "NaN", "inf" and exponents.
fn parse_decimal(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let well_formed = !(int.is_empty() && frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit());
    well_formed
        .then(|| s.parse::<f64>().ok())
        .flatten()
        .filter(|v| v.is_finite())
}

fn parse_point(s: &str) -> Option<(f64, f64)> {
    let (lat, lon) = s.split_once(',')?;
    Some((parse_decimal(lat)?, parse_decimal(lon)?))
}

fn parse_polygon(s: &str) -> Result<Polygon, CapError> {
    s.split_ascii_whitespace()
        .map(|pair| {
            parse_point(pair).ok_or_else(|| CapError::new("polygon", "polygon must be space-separated lat,lon pairs"))
        })
        .collect::<Result<_, _>>()
        .map(Polygon)
}

fn parse_circle(s: &str) -> Result<Circle, CapError> {
    let mut parts = s.split_ascii_whitespace();
    match (
        parts.next().and_then(parse_point),
        parts.next().and_then(parse_decimal),
        parts.next(),
    ) {
        (Some((lat, lon)), Some(radius_km), None) => Ok(Circle { lat, lon, radius_km }),
        _ => Err(CapError::new("circle", "circle must be \"lat,lon radius\"")),
    }
}

fn parse_references(s: &str) -> Result<Vec<Reference>, CapError> {
    s.split_ascii_whitespace()
        .map(|triple| {
            let parts: Vec<&str> = triple.split(',').collect();
            let [sender, identifier, sent] = parts[..] else {
                return Err(CapError::new(
                    "references",
                    "references must be space-separated sender,identifier,sent",
                ));
            };
            let sent = CapTime::parse(sent).map_err(|e| CapError::new("references", e.to_string()))?;
            Ok(Reference {
                sender: sender.to_owned(),
                identifier: identifier.to_owned(),
                sent,
            })
        })
        .collect()
}

fn parse_resource(node: &Node) -> Result<Resource, CapError> {
    check_sequence(node, RESOURCE_SEQ)?;
    let size = match node.child("size") {
        Some(size) => {
            let text = size.text()?;
            let bytes = text
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| text.parse().ok())
                .flatten();
            Some(bytes.ok_or_else(|| CapError::new("size", "size must be a whole number of bytes"))?)
        }
        None => None,
    };
    Ok(Resource {
        resource_desc: node.text_of("resourceDesc")?,
        mime_type: node.text_of("mimeType")?,
        size,
        uri: node.opt_text("uri")?,
        deref_uri: node.opt_text("derefUri")?,
        digest: node.opt_text("digest")?,
    })
}

fn parse_area(node: &Node) -> Result<Area, CapError> {
    check_sequence(node, AREA_SEQ)?;
    Ok(Area {
        area_desc: node.text_of("areaDesc")?,
        polygons: node
            .all("polygon")
            .map(|p| parse_polygon(&p.text()?))
            .collect::<Result<_, _>>()?,
        circles: node
            .all("circle")
            .map(|c| parse_circle(&c.text()?))
            .collect::<Result<_, _>>()?,
        geocodes: node.pairs("geocode")?,
        altitude: node.child("altitude").map(Node::number).transpose()?,
        ceiling: node.child("ceiling").map(Node::number).transpose()?,
    })
}

fn parse_info(node: &Node) -> Result<Info, CapError> {
    check_sequence(node, INFO_SEQ)?;
    Ok(Info {
        language: node.opt_text("language")?.unwrap_or_else(default_language),
        categories: node.all("category").map(Node::value).collect::<Result<_, _>>()?,
        event: node.text_of("event")?,
        response_types: node.all("responseType").map(Node::value).collect::<Result<_, _>>()?,
        urgency: node.required("urgency")?.value()?,
        severity: node.required("severity")?.value()?,
        certainty: node.required("certainty")?.value()?,
        audience: node.opt_text("audience")?,
        event_codes: node.pairs("eventCode")?,
        effective: node.opt_time("effective")?,
        onset: node.opt_time("onset")?,
        expires: node.opt_time("expires")?,
        sender_name: node.opt_text("senderName")?,
        headline: node.opt_text("headline")?,
        description: node.opt_text("description")?,
        instruction: node.opt_text("instruction")?,
        web: node.opt_text("web")?,
        contact: node.opt_text("contact")?,
        parameters: node.pairs("parameter")?,
        resources: node.all("resource").map(parse_resource).collect::<Result<_, _>>()?,
        areas: node.all("area").map(parse_area).collect::<Result<_, _>>()?,
    })
}

/// Parses and validates a CAP 1.2 document.
///
/// Strict: the root must be `alert` in [`NAMESPACE`], elements must follow the schema order, enumerations, times,
/// geometry and the specification's rules (see [`Alert::validate`]) are checked; DTDs and unknown elements are
/// refused. An XML declaration and comments are allowed.
pub fn parse(xml: &str) -> Result<Alert, CapError> {
    let root = read_tree(xml)?;
    check_sequence(&root, ALERT_SEQ)?;
    let alert = Alert {
        identifier: root.text_of("identifier")?,
        sender: root.text_of("sender")?,
        sent: root.required("sent")?.time()?,
        status: root.required("status")?.value()?,
        msg_type: root.required("msgType")?.value()?,
        source: root.opt_text("source")?,
        scope: root.required("scope")?.value()?,
        restriction: root.opt_text("restriction")?,
        addresses: root.opt_text("addresses")?,
        codes: root.texts("code")?,
        note: root.opt_text("note")?,
        references: root
            .opt_text("references")?
            .as_deref()
            .map(parse_references)
            .transpose()?
            .unwrap_or_default(),
        incidents: root.opt_text("incidents")?,
        infos: root.all("info").map(parse_info).collect::<Result<_, _>>()?,
    };
    alert.validate()?;
    Ok(alert)
}

// ---------------------------------------------------------------------------------------------------------------
// Serialisation
// ---------------------------------------------------------------------------------------------------------------

struct XmlWriter {
    out: String,
    depth: usize,
}

impl XmlWriter {
    fn indent(&mut self) {
        self.out.extend(std::iter::repeat_n("  ", self.depth));
    }

    fn open(&mut self, name: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn leaf(&mut self, name: &str, text: &str) {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        for c in text.chars() {
            match c {
                '&' => self.out.push_str("&amp;"),
                '<' => self.out.push_str("&lt;"),
                '>' => self.out.push_str("&gt;"),
                // A literal CR would be normalised away by any XML parser.
                '\r' => self.out.push_str("&#13;"),
                // Keeps the output well-formed even for alerts that skipped `validate`.
                c if !is_xml_char(c) => self.out.push('\u{FFFD}'),
                c => self.out.push(c),
            }
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn opt(&mut self, name: &str, text: &Option<String>) {
        if let Some(text) = text {
            self.leaf(name, text);
        }
    }

    fn pairs(&mut self, name: &str, pairs: &[ValuePair]) {
        for pair in pairs {
            self.open(name);
            self.leaf("valueName", &pair.value_name);
            self.leaf("value", &pair.value);
            self.close(name);
        }
    }

    fn info(&mut self, info: &Info) {
        self.open("info");
        self.leaf("language", &info.language);
        for category in &info.categories {
            self.leaf("category", category.as_str());
        }
        self.leaf("event", &info.event);
        for response in &info.response_types {
            self.leaf("responseType", response.as_str());
        }
        self.leaf("urgency", info.urgency.as_str());
        self.leaf("severity", info.severity.as_str());
        self.leaf("certainty", info.certainty.as_str());
        self.opt("audience", &info.audience);
        self.pairs("eventCode", &info.event_codes);
        for (name, time) in [
            ("effective", &info.effective),
            ("onset", &info.onset),
            ("expires", &info.expires),
        ] {
            if let Some(time) = time {
                self.leaf(name, time.as_str());
            }
        }
        self.opt("senderName", &info.sender_name);
        self.opt("headline", &info.headline);
        self.opt("description", &info.description);
        self.opt("instruction", &info.instruction);
        self.opt("web", &info.web);
        self.opt("contact", &info.contact);
        self.pairs("parameter", &info.parameters);
        for resource in &info.resources {
            self.open("resource");
            self.leaf("resourceDesc", &resource.resource_desc);
            self.leaf("mimeType", &resource.mime_type);
            if let Some(size) = resource.size {
                self.leaf("size", &size.to_string());
            }
            self.opt("uri", &resource.uri);
            self.opt("derefUri", &resource.deref_uri);
            self.opt("digest", &resource.digest);
            self.close("resource");
        }
        for area in &info.areas {
            self.area(area);
        }
        self.close("info");
    }

    fn area(&mut self, area: &Area) {
        self.open("area");
        self.leaf("areaDesc", &area.area_desc);
        // `{}` on f64 prints the shortest decimal that parses back to the same value, never an exponent.
        for polygon in &area.polygons {
            let points: Vec<String> = polygon.0.iter().map(|(lat, lon)| format!("{lat},{lon}")).collect();
            self.leaf("polygon", &points.join(" "));
        }
        for circle in &area.circles {
            self.leaf("circle", &format!("{},{} {}", circle.lat, circle.lon, circle.radius_km));
        }
        self.pairs("geocode", &area.geocodes);
        if let Some(altitude) = area.altitude {
            self.leaf("altitude", &altitude.to_string());
        }
        if let Some(ceiling) = area.ceiling {
            self.leaf("ceiling", &ceiling.to_string());
        }
        self.close("area");
    }
}

/// Serialises an alert as a CAP 1.2 document (elements in schema order, indented).
///
/// Does not validate: call [`Alert::validate`] first for alerts composed in code. For a valid alert
/// `parse(&to_xml(&alert)) == Ok(alert)` as long as text fields carry no surrounding XML whitespace.
pub fn to_xml(alert: &Alert) -> String {
    let mut w = XmlWriter {
        out: String::with_capacity(4096),
        depth: 1,
    };
    w.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    w.out.push_str(&format!("<alert xmlns=\"{NAMESPACE}\">\n"));
    w.leaf("identifier", &alert.identifier);
    w.leaf("sender", &alert.sender);
    w.leaf("sent", alert.sent.as_str());
    w.leaf("status", alert.status.as_str());
    w.leaf("msgType", alert.msg_type.as_str());
    w.opt("source", &alert.source);
    w.leaf("scope", alert.scope.as_str());
    w.opt("restriction", &alert.restriction);
    w.opt("addresses", &alert.addresses);
    for code in &alert.codes {
        w.leaf("code", code);
    }
    w.opt("note", &alert.note);
    if !alert.references.is_empty() {
        let triples: Vec<String> = alert
            .references
            .iter()
            .map(|r| format!("{},{},{}", r.sender, r.identifier, r.sent))
            .collect();
        w.leaf("references", &triples.join(" "));
    }
    w.opt("incidents", &alert.incidents);
    for info in &alert.infos {
        w.info(info);
    }
    w.out.push_str("</alert>\n");
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- 緑市 防災情報: 地震 -->
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>urn:jp:city.midori:alert:20250312-0001</identifier>
  <sender>bousai@city.midori.example.jp</sender>
  <sent>2025-03-12T14:46:30+09:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <source>気象庁 震度速報</source>
  <scope>Public</scope>
  <code>machi:earthquake</code>
  <code>JMA</code>
  <note>  震度は速報値です。  </note>
  <incidents>eq-20250312-1445</incidents>
  <info>
    <language>ja-JP</language>
    <category>Geo</category>
    <event>地震</event>
    <responseType>Shelter</responseType>
    <responseType>Monitor</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <audience>緑市内の全住民</audience>
    <eventCode>
      <valueName>JMA-EQ</valueName>
      <value>震度5強</value>
    </eventCode>
    <effective>2025-03-12T14:46:30+09:00</effective>
    <onset>2025-03-12T14:45:12+09:00</onset>
    <expires>2025-03-12T20:46:30+09:00</expires>
    <senderName>緑市 危機管理課</senderName>
    <headline>【地震情報】緑市で震度5強を観測</headline>
    <description>
14時45分ごろ、地震がありました。緑市では震度5強を観測しました。
震源地は東京湾、地震の規模（マグニチュード）は6.1と推定されます。
    </description>
    <instruction>強い揺れに警戒し、&lt;落下物&gt;に注意してください。　余震にも注意。</instruction>
    <web>https://city.midori.example.jp/bousai/?eq=20250312&amp;lang=ja</web>
    <contact>緑市 危機管理課 03-0000-0000</contact>
    <parameter>
      <valueName>震度</valueName>
      <value>5+</value>
    </parameter>
    <parameter>
      <valueName>マグニチュード</valueName>
      <value>6.1</value>
    </parameter>
    <resource>
      <resourceDesc>震度分布図</resourceDesc>
      <mimeType>image/png</mimeType>
      <size>48213</size>
      <uri>https://city.midori.example.jp/bousai/eq/20250312-1446.png</uri>
    </resource>
    <area>
      <areaDesc>緑市 中央地区</areaDesc>
      <polygon>35.70,139.60 35.70,139.70 35.60,139.70 35.60,139.60 35.70,139.60</polygon>
      <circle>35.65,139.65 5.5</circle>
      <altitude>0</altitude>
      <ceiling>1500.5</ceiling>
    </area>
    <area>
      <areaDesc>緑市全域</areaDesc>
      <geocode>
        <valueName>全国地方公共団体コード</valueName>
        <value>139999</value>
      </geocode>
    </area>
  </info>
</alert>
"#;

    const FIRST_ID: &str = "urn:jp:city.midori:alert:20250312-0001";
    const SENDER: &str = "bousai@city.midori.example.jp";

    fn time(s: &str) -> CapTime {
        CapTime::parse(s).unwrap()
    }

    #[test]
    fn parses_japanese_earthquake_alert_field_by_field() {
        let a = parse(SAMPLE).unwrap();
        assert_eq!(a.identifier, FIRST_ID);
        assert_eq!(a.sender, SENDER);
        assert_eq!(a.sent, time("2025-03-12T14:46:30+09:00"));
        assert_eq!(a.status, Status::Actual);
        assert_eq!(a.msg_type, MsgType::Alert);
        assert_eq!(a.source.as_deref(), Some("気象庁 震度速報"));
        assert_eq!(a.scope, Scope::Public);
        assert_eq!((a.restriction.as_deref(), a.addresses.as_deref()), (None, None));
        assert_eq!(a.codes, ["machi:earthquake", "JMA"]);
        assert_eq!(a.note.as_deref(), Some("震度は速報値です。"));
        assert!(a.references.is_empty());
        assert_eq!(a.incidents.as_deref(), Some("eq-20250312-1445"));
        assert_eq!(a.infos.len(), 1);

        let info = &a.infos[0];
        assert_eq!(info.language, "ja-JP");
        assert_eq!(info.categories, [Category::Geo]);
        assert_eq!(info.event, "地震");
        assert_eq!(info.response_types, [ResponseType::Shelter, ResponseType::Monitor]);
        assert_eq!(
            (info.urgency, info.severity, info.certainty),
            (Urgency::Immediate, Severity::Severe, Certainty::Observed)
        );
        assert_eq!(info.audience.as_deref(), Some("緑市内の全住民"));
        assert_eq!(
            info.event_codes,
            [ValuePair {
                value_name: "JMA-EQ".into(),
                value: "震度5強".into()
            }]
        );
        assert_eq!(info.effective, Some(time("2025-03-12T14:46:30+09:00")));
        assert_eq!(info.onset, Some(time("2025-03-12T14:45:12+09:00")));
        assert_eq!(info.expires, Some(time("2025-03-12T20:46:30+09:00")));
        assert_eq!(info.sender_name.as_deref(), Some("緑市 危機管理課"));
        assert_eq!(info.headline.as_deref(), Some("【地震情報】緑市で震度5強を観測"));
        assert_eq!(
            info.description.as_deref(),
            Some(
                "14時45分ごろ、地震がありました。緑市では震度5強を観測しました。\n震源地は東京湾、地震の規模（マグニチュード）は6.1と推定されます。"
            )
        );
        // Entities decoded, the full-width space kept.
        assert_eq!(
            info.instruction.as_deref(),
            Some("強い揺れに警戒し、<落下物>に注意してください。　余震にも注意。")
        );
        assert_eq!(
            info.web.as_deref(),
            Some("https://city.midori.example.jp/bousai/?eq=20250312&lang=ja")
        );
        assert_eq!(info.contact.as_deref(), Some("緑市 危機管理課 03-0000-0000"));
        assert_eq!(info.parameters.len(), 2);
        assert_eq!(
            info.parameters[0],
            ValuePair {
                value_name: "震度".into(),
                value: "5+".into()
            }
        );
        assert_eq!(info.parameters[1].value_name, "マグニチュード");
        assert_eq!(
            info.resources,
            [Resource {
                resource_desc: "震度分布図".into(),
                mime_type: "image/png".into(),
                size: Some(48213),
                uri: Some("https://city.midori.example.jp/bousai/eq/20250312-1446.png".into()),
                deref_uri: None,
                digest: None,
            }]
        );

        assert_eq!(info.areas.len(), 2);
        let centre = &info.areas[0];
        assert_eq!(centre.area_desc, "緑市 中央地区");
        assert_eq!(
            centre.polygons,
            [Polygon(vec![
                (35.7, 139.6),
                (35.7, 139.7),
                (35.6, 139.7),
                (35.6, 139.6),
                (35.7, 139.6)
            ])]
        );
        assert_eq!(
            centre.circles,
            [Circle {
                lat: 35.65,
                lon: 139.65,
                radius_km: 5.5
            }]
        );
        assert!(centre.geocodes.is_empty());
        assert_eq!((centre.altitude, centre.ceiling), (Some(0.0), Some(1500.5)));
        let city = &info.areas[1];
        assert_eq!(city.area_desc, "緑市全域");
        assert!(city.polygons.is_empty() && city.circles.is_empty());
        assert_eq!(
            city.geocodes,
            [ValuePair {
                value_name: "全国地方公共団体コード".into(),
                value: "139999".into()
            }]
        );
        assert_eq!((city.altitude, city.ceiling), (None, None));

        assert_eq!(parse(&to_xml(&a)), Ok(a));
    }

    #[test]
    fn update_references_the_original_alert() {
        let original = parse(SAMPLE).unwrap();
        let mut update = original.clone();
        update.identifier = "urn:jp:city.midori:alert:20250312-0002".into();
        update.sent = time("2025-03-12T15:10:00+09:00");
        update.msg_type = MsgType::Update;
        update.references = vec![Reference {
            sender: original.sender.clone(),
            identifier: original.identifier.clone(),
            sent: original.sent,
        }];
        update.infos[0].severity = Severity::Moderate;
        update.infos[0].headline = Some("【地震情報・続報】震度5強 余震に注意".into());
        update.validate().unwrap();

        let xml = to_xml(&update);
        assert!(xml.contains(concat!(
            "<references>bousai@city.midori.example.jp,",
            "urn:jp:city.midori:alert:20250312-0001,2025-03-12T14:46:30+09:00</references>"
        )));
        let parsed = parse(&xml).unwrap();
        assert_eq!(parsed.msg_type, MsgType::Update);
        assert_eq!(parsed.references[0].identifier, FIRST_ID);
        assert_eq!(parsed, update);
    }

    #[test]
    fn cancel_without_info_and_with_several_references() {
        let xml = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>urn:jp:city.midori:alert:20250312-0003</identifier>
  <sender>bousai@city.midori.example.jp</sender>
  <sent>2025-03-12T18:00:00+09:00</sent>
  <status>Actual</status>
  <msgType>Cancel</msgType>
  <scope>Public</scope>
  <note>地震情報を取り消します（誤報）。</note>
  <references>
    bousai@city.midori.example.jp,urn:jp:city.midori:alert:20250312-0001,2025-03-12T14:46:30+09:00
    bousai@city.midori.example.jp,urn:jp:city.midori:alert:20250312-0002,2025-03-12T15:10:00+09:00
  </references>
</alert>"#;
        let cancel = parse(xml).unwrap();
        assert_eq!(cancel.msg_type, MsgType::Cancel);
        assert!(cancel.infos.is_empty());
        assert_eq!(cancel.note.as_deref(), Some("地震情報を取り消します（誤報）。"));
        let ids: Vec<_> = cancel.references.iter().map(|r| r.identifier.as_str()).collect();
        assert_eq!(ids, [FIRST_ID, "urn:jp:city.midori:alert:20250312-0002"]);
        assert_eq!(cancel.references[1].sent, time("2025-03-12T15:10:00+09:00"));
        assert_eq!(parse(&to_xml(&cancel)), Ok(cancel));
    }

    /// A small valid alert to derive error cases from.
    const MINIMAL: &str = concat!(
        r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">"#,
        "<identifier>x1</identifier><sender>s@example.jp</sender><sent>2025-01-01T09:00:00+09:00</sent>",
        "<status>Actual</status><msgType>Alert</msgType><scope>Public</scope>",
        "<info><category>Geo</category><event>地震</event><urgency>Immediate</urgency><severity>Severe</severity>",
        "<certainty>Observed</certainty><area><areaDesc>緑市</areaDesc>",
        "<polygon>35,139 35,140 36,140 35,139</polygon><circle>35.5,139.5 2</circle></area></info></alert>"
    );

    fn minimal_with(from: &str, to: &str) -> String {
        assert!(MINIMAL.contains(from), "{from} not in MINIMAL");
        MINIMAL.replacen(from, to, 1)
    }

    fn error_of(xml: &str) -> (String, String) {
        let e = parse(xml).unwrap_err();
        assert_eq!(e.to_string(), format!("{}: {}", e.element, e.rule));
        (e.element, e.rule)
    }

    fn assert_error(xml: &str, element: &str, rule: &str) {
        assert_eq!(error_of(xml), (element.to_owned(), rule.to_owned()));
    }

    #[test]
    fn minimal_alert_parses_with_defaults() {
        let a = parse(MINIMAL).unwrap();
        assert_eq!(a.infos[0].language, DEFAULT_LANGUAGE);
        assert_eq!(parse(&to_xml(&a)), Ok(a));
    }

    #[test]
    fn rejects_utc_z_time() {
        let xml = minimal_with("2025-01-01T09:00:00+09:00", "2025-01-01T00:00:00Z");
        assert_error(&xml, "sent", "time must have an offset like +09:00, not Z");
    }

    #[test]
    fn rejects_fractional_seconds() {
        let xml = minimal_with("2025-01-01T09:00:00+09:00", "2025-01-01T09:00:00.5+09:00");
        assert_error(&xml, "sent", "time must not have fractional seconds");
    }

    #[test]
    fn rejects_bad_times_in_info_and_references() {
        let xml = minimal_with("<area>", "<expires>2025-02-30T09:00:00+09:00</expires><area>");
        assert_error(&xml, "expires", "time is not a real date, time of day or offset");
        let xml = minimal_with("<info>", "<references>a,b,2025-01-01 09:00:00+09:00</references><info>");
        assert_error(&xml, "references", "time must look like 2025-04-01T09:00:00+09:00");
    }

    #[test]
    fn rejects_unclosed_polygon() {
        let xml = minimal_with("35,139 35,140 36,140 35,139", "35,139 35,140 36,140 36,139");
        assert_error(&xml, "polygon", "polygon is not closed (first and last points differ)");
    }

    #[test]
    fn rejects_three_point_polygon() {
        let xml = minimal_with("35,139 35,140 36,140 35,139", "35,139 35,140 35,139");
        assert_error(&xml, "polygon", "polygon needs at least 4 points");
    }

    #[test]
    fn rejects_out_of_range_and_malformed_polygon_points() {
        let xml = minimal_with("35,139 35,140 36,140 35,139", "35,139 95,140 36,140 35,139");
        assert_error(&xml, "polygon", RULE_COORD);
        let xml = minimal_with("35,139 35,140 36,140 35,139", "35,139 35;140 36,140 35,139");
        assert_error(&xml, "polygon", "polygon must be space-separated lat,lon pairs");
        let xml = minimal_with("35,139 35,140 36,140 35,139", "35,139 NaN,140 36,140 35,139");
        assert_error(&xml, "polygon", "polygon must be space-separated lat,lon pairs");
    }

    #[test]
    fn rejects_bad_circles() {
        for bad in ["35.5,139.5", "35.5 139.5 2", "35.5,139.5 2 3", "35.5,139.5 1e3"] {
            let xml = minimal_with("35.5,139.5 2", bad);
            assert_error(&xml, "circle", "circle must be \"lat,lon radius\"");
        }
        let xml = minimal_with("35.5,139.5 2", "35.5,139.5 -2");
        assert_error(&xml, "circle", "circle radius must not be negative");
        let xml = minimal_with("35.5,139.5 2", "35.5,200 2");
        assert_error(&xml, "circle", RULE_COORD);
    }

    #[test]
    fn rejects_elements_out_of_order() {
        let xml = minimal_with(
            "<sent>2025-01-01T09:00:00+09:00</sent><status>Actual</status>",
            "<status>Actual</status><sent>2025-01-01T09:00:00+09:00</sent>",
        );
        assert_error(&xml, "status", "element out of schema order (expected one of: sent)");
        let xml = minimal_with("<scope>Public</scope>", "<scope>Public</scope><source>x</source>");
        assert_error(
            &xml,
            "source",
            concat!(
                "element out of schema order ",
                "(expected one of: restriction, addresses, code, note, references, incidents, info)"
            ),
        );
        let xml = minimal_with("<event>地震</event>", "<event>地震</event><category>Met</category>");
        let (element, rule) = error_of(&xml);
        assert_eq!(element, "category");
        assert!(rule.starts_with("element out of schema order"), "{rule}");
        let xml = minimal_with(
            "<status>Actual</status>",
            "<status>Actual</status><status>Test</status>",
        );
        assert_error(&xml, "status", "element may appear only once");
    }

    #[test]
    fn rejects_missing_required_elements() {
        assert_error(
            &minimal_with("<sender>s@example.jp</sender>", ""),
            "sender",
            RULE_MISSING,
        );
        assert_error(&minimal_with("<scope>Public</scope>", ""), "scope", RULE_MISSING);
        assert_error(&minimal_with("<category>Geo</category>", ""), "category", RULE_MISSING);
        assert_error(
            &minimal_with("<certainty>Observed</certainty>", ""),
            "certainty",
            RULE_MISSING,
        );
        assert_error(&minimal_with("<areaDesc>緑市</areaDesc>", ""), "areaDesc", RULE_MISSING);
        assert_error(
            &minimal_with("<sender>s@example.jp</sender>", "<sender></sender>"),
            "sender",
            RULE_ID,
        );
    }

    #[test]
    fn enforces_scope_rules() {
        let restricted = minimal_with("<scope>Public</scope>", "<scope>Restricted</scope>");
        assert_error(&restricted, "restriction", "required when scope is Restricted");
        let ok = minimal_with(
            "<scope>Public</scope>",
            "<scope>Restricted</scope><restriction>職員のみ</restriction>",
        );
        assert_eq!(parse(&ok).unwrap().restriction.as_deref(), Some("職員のみ"));
        let private = minimal_with("<scope>Public</scope>", "<scope>Private</scope>");
        assert_error(&private, "addresses", "required when scope is Private");
    }

    #[test]
    fn rejects_unknown_enumeration_values() {
        assert_error(
            &minimal_with("<status>Actual</status>", "<status>actual</status>"),
            "status",
            "unknown value (expected one of: Actual, Exercise, System, Test, Draft)",
        );
        let (element, rule) = error_of(&minimal_with("<category>Geo</category>", "<category>Quake</category>"));
        assert_eq!(element, "category");
        assert!(
            rule.starts_with("unknown value (expected one of: Geo, Met,") && rule.contains("CBRNE"),
            "{rule}"
        );
    }

    #[test]
    fn accepts_deprecated_very_likely() {
        let xml = minimal_with("<certainty>Observed</certainty>", "<certainty>Very Likely</certainty>");
        assert_eq!(parse(&xml).unwrap().infos[0].certainty, Certainty::Likely);
    }

    #[test]
    fn rejects_wrong_namespace() {
        let xml = MINIMAL.replace(NAMESPACE, "urn:oasis:names:tc:emergency:cap:1.1");
        let rule = format!("root element must be alert in namespace {NAMESPACE}");
        assert_error(&xml, "alert", &rule);
        let no_namespace = MINIMAL.replace(&format!(r#" xmlns="{NAMESPACE}""#), "");
        assert_error(&no_namespace, "alert", &rule);
        let foreign_child = minimal_with("<scope>", r#"<x:scope xmlns:x="urn:other">Public</x:scope><scope>"#);
        assert_error(&foreign_child, "scope", "element is not in the CAP 1.2 namespace");
    }

    #[test]
    fn prefixed_namespace_is_fine() {
        let xml = MINIMAL
            .replace(
                &format!(r#"<alert xmlns="{NAMESPACE}">"#),
                &format!(r#"<cap:alert xmlns:cap="{NAMESPACE}">"#),
            )
            .replace("</alert>", "</cap:alert>")
            .replace("<", "<cap:")
            .replace("<cap:/", "</cap:")
            .replace("<cap:cap:", "<cap:")
            .replace("</cap:cap:", "</cap:");
        assert_eq!(parse(&xml), parse(MINIMAL));
    }

    #[test]
    fn rejects_doctype() {
        let xml = format!(
            r#"<!DOCTYPE alert [<!ENTITY boom "boom">]>{}"#,
            minimal_with("<event>地震</event>", "<event>&boom;</event>")
        );
        assert_error(&xml, "DOCTYPE", "DOCTYPE declarations are not allowed");
        let undefined = minimal_with("<event>地震</event>", "<event>&boom;</event>");
        assert_error(&undefined, "event", "undefined entity reference");
    }

    #[test]
    fn rejects_unknown_elements_and_attributes() {
        assert_error(
            &minimal_with("<scope>", "<priority>1</priority><scope>"),
            "priority",
            RULE_UNKNOWN,
        );
        assert_error(
            &minimal_with("<areaDesc>緑市</areaDesc>", "<areaDesc><b>x</b></areaDesc>"),
            "areaDesc",
            RULE_ONLY_TEXT,
        );
        assert_error(&minimal_with("<info>", "<info>text"), "info", RULE_NO_TEXT);
        assert_error(
            &minimal_with("<status>", r#"<status lang="ja">"#),
            "status",
            "attributes are not allowed",
        );
    }

    #[test]
    fn rejects_malformed_xml() {
        for xml in [
            MINIMAL.replacen("</sender>", "</sendr>", 1),
            MINIMAL.replacen("</alert>", "", 1),
            MINIMAL.replacen("<status>", "<status", 1),
            format!("{MINIMAL}<alert/>"),
            format!("{MINIMAL}trailing"),
            String::new(),
        ] {
            let (element, rule) = error_of(&xml);
            assert_eq!(element, "xml", "{xml}");
            assert!(rule.starts_with("malformed XML"), "{rule}");
        }
    }

    #[test]
    fn accepts_declaration_comments_cdata_and_char_refs() {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- a -->\n{}\n<!-- b -->\n",
            minimal_with(
                "<event>地震</event>",
                "<event> <!-- c --><![CDATA[<地震>]]>&#x1F30A;&#38; </event>"
            )
        );
        assert_eq!(parse(&xml).unwrap().infos[0].event, "<地震>🌊&");
        assert_eq!(parse(&format!("\u{FEFF}{MINIMAL}")), parse(MINIMAL));
        let crlf = minimal_with("<event>地震</event>", "<event>一行目\r\n二行目</event>");
        assert_eq!(parse(&crlf).unwrap().infos[0].event, "一行目\n二行目");
    }

    #[test]
    fn validate_catches_composed_mistakes() {
        let good = parse(MINIMAL).unwrap();
        let mut a = good.clone();
        a.infos[0].areas[0].polygons[0].0.pop();
        assert_eq!(a.validate().unwrap_err().rule, "polygon needs at least 4 points");
        let mut a = good.clone();
        a.infos[0].areas[0].circles[0].radius_km = f64::NAN;
        assert_eq!(a.validate(), Err(CapError::new("circle", RULE_FINITE)));
        let mut a = good.clone();
        a.infos[0].categories.clear();
        assert_eq!(a.validate(), Err(CapError::new("category", RULE_MISSING)));
        let mut a = good.clone();
        a.identifier = "two words".into();
        assert_eq!(a.validate(), Err(CapError::new("identifier", RULE_ID)));
        let mut a = good.clone();
        a.infos[0].language = "日本語".into();
        assert_eq!(a.validate().unwrap_err().element, "language");
        let mut a = good.clone();
        a.note = Some("bell\u{7}".into());
        assert_eq!(a.validate(), Err(CapError::new("note", RULE_XML_CHAR)));
        let mut a = good;
        a.infos[0].areas[0].ceiling = Some(10.0);
        assert_eq!(a.validate(), Err(CapError::new("ceiling", "ceiling requires altitude")));
    }

    #[test]
    fn uri_check_matches_schema_validators() {
        for good in [
            "a b",
            "http://[::1]/x",
            "a\"b",
            "a<b",
            "a{b|c}\\^`",
            "震度",
            "a%41",
            "a;b",
            "",
            "#",
            "-",
            "mailto:x@y.jp",
        ] {
            assert!(is_uri_reference(good), "{good}");
        }
        for bad in [
            "a[b",
            "a]b",
            "a#b#c",
            "a%zz",
            "a%4",
            ":",
            "1http://x",
            "http://x/[y]",
            "http://[::1/",
        ] {
            assert!(!is_uri_reference(bad), "{bad}");
        }
        let xml = minimal_with("<area>", "<web>https://city.midori.example.jp/a#b#c</web><area>");
        assert_error(&xml, "web", "must be a URI like https://example.jp/page");
    }

    #[test]
    fn cap_time_parsing_and_conversion() {
        assert_eq!(time("2024-01-01T09:00:00+09:00").to_unix_ms(), 1_704_067_200_000);
        assert_eq!(time("2024-01-01T00:00:00-00:00").to_unix_ms(), 1_704_067_200_000);
        assert_eq!(time("1969-12-31T23:59:59+00:00").to_unix_ms(), -1000);
        assert_eq!(
            CapTime::from_unix_ms_jst(1_704_067_200_999).as_str(),
            "2024-01-01T09:00:00+09:00"
        );
        assert_eq!(CapTime::from_unix_ms_jst(-1).as_str(), "1970-01-01T08:59:59+09:00");
        assert_eq!(
            CapTime::from_unix_ms_jst(i64::MAX).as_str(),
            "9999-12-31T23:59:59+09:00"
        );
        assert_eq!(
            CapTime::from_unix_ms_jst(i64::MIN).as_str(),
            "0001-01-01T00:00:00+09:00"
        );
        assert_eq!(
            time("2024-02-29T12:00:00+05:30").to_string(),
            "2024-02-29T12:00:00+05:30"
        );
        for (bad, err) in [
            ("2024-01-01T00:00:00Z", TimeError::Utc),
            ("2024-01-01T00:00:00.000Z", TimeError::FractionalSeconds),
            ("2024-01-01T00:00:00", TimeError::Format),
            ("2024-01-01 00:00:00+09:00", TimeError::Format),
            ("2024-01-01T00:00:00,09:00", TimeError::Format),
            ("2024-01-01T00:00:00+0900", TimeError::Format),
            ("2024-01-01T00:00:00+09:00 ", TimeError::Format),
            ("２024-01-01T00:00:00+09:00", TimeError::Format),
            ("2023-02-29T00:00:00+09:00", TimeError::OutOfRange),
            ("2024-01-01T24:00:00+09:00", TimeError::OutOfRange),
            ("2024-01-01T00:00:00+14:30", TimeError::OutOfRange),
            ("0000-01-01T00:00:00+09:00", TimeError::OutOfRange),
        ] {
            assert_eq!(CapTime::parse(bad), Err(err), "{bad}");
        }
    }

    #[test]
    fn serde_uses_cap_text() {
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error, StrDeserializer};
        let de = |s: &'static str| -> StrDeserializer<'static, Error> { s.into_deserializer() };
        assert_eq!(Certainty::deserialize(de("Very Likely")), Ok(Certainty::Likely));
        assert_eq!(Category::deserialize(de("CBRNE")), Ok(Category::Cbrne));
        assert!(Status::deserialize(de("actual")).is_err());
        assert_eq!(
            CapTime::deserialize(de("2025-01-01T09:00:00+09:00")),
            Ok(time("2025-01-01T09:00:00+09:00"))
        );
        assert!(CapTime::deserialize(de("2025-01-01T00:00:00Z")).is_err());
        assert_eq!(Category::Cbrne.as_str(), "CBRNE");
        assert_eq!(ResponseType::AllClear.to_string(), "AllClear");
    }

    // ---- property tests ----------------------------------------------------------------------------------------

    /// Text with Japanese, emoji, markup characters and inner whitespace; no surrounding whitespace (trimmed on parse).
    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 <>&\"'\\]\\[;#震度強弱地震津波避難所緑市　（）。、🌊🚨\t\r\n-]{0,24}"
            .prop_map(|s| s.trim_matches(is_xml_space).to_owned())
    }

    fn opt_text() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(text())
    }

    fn uri() -> impl Strategy<Value = Option<String>> {
        proptest::option::of(
            "(https://[a-z]{1,8}\\.example\\.jp)?/[a-z0-9震度/._~-]{0,12}(\\?[a-z]=[0-9&]{1,5})?(#[a-z]{1,4})?",
        )
    }

    fn id() -> impl Strategy<Value = String> {
        "[A-Za-z0-9._:@/-]{1,20}"
    }

    fn cap_time() -> impl Strategy<Value = CapTime> {
        (
            1i64..=9999,
            1i64..=12,
            1i64..=28,
            0i64..24,
            0i64..60,
            0i64..60,
            any::<bool>(),
            0i64..=14,
            0i64..60,
        )
            .prop_map(|(y, mo, d, h, mi, s, plus, oh, om)| {
                let om = if oh == 14 { 0 } else { om };
                let sign = if plus { '+' } else { '-' };
                CapTime::parse(&format!(
                    "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{sign}{oh:02}:{om:02}"
                ))
                .unwrap()
            })
    }

    fn pair() -> impl Strategy<Value = ValuePair> {
        (text(), text()).prop_map(|(value_name, value)| ValuePair { value_name, value })
    }

    fn point() -> impl Strategy<Value = (f64, f64)> {
        (-90.0f64..=90.0, -180.0f64..=180.0)
    }

    fn polygon() -> impl Strategy<Value = Polygon> {
        prop::collection::vec(point(), 3..8).prop_map(|mut points| {
            points.push(points[0]);
            Polygon(points)
        })
    }

    fn circle() -> impl Strategy<Value = Circle> {
        (point(), 0.0f64..1000.0).prop_map(|((lat, lon), radius_km)| Circle { lat, lon, radius_km })
    }

    fn area() -> impl Strategy<Value = Area> {
        (
            text(),
            prop::collection::vec(polygon(), 0..3),
            prop::collection::vec(circle(), 0..3),
            prop::collection::vec(pair(), 0..3),
            proptest::option::of((-1.0e4f64..1.0e5, proptest::option::of(0.0f64..1.0e5))),
        )
            .prop_map(|(area_desc, polygons, circles, geocodes, heights)| Area {
                area_desc,
                polygons,
                circles,
                geocodes,
                altitude: heights.map(|(altitude, _)| altitude),
                ceiling: heights.and_then(|(_, ceiling)| ceiling),
            })
    }

    fn resource() -> impl Strategy<Value = Resource> {
        (
            text(),
            "[a-z]{1,8}/[a-z0-9.+-]{1,12}",
            proptest::option::of(any::<u64>()),
            uri(),
            opt_text(),
            opt_text(),
        )
            .prop_map(|(resource_desc, mime_type, size, uri, deref_uri, digest)| Resource {
                resource_desc,
                mime_type,
                size,
                uri,
                deref_uri,
                digest,
            })
    }

    fn info() -> impl Strategy<Value = Info> {
        let head = (
            "[a-z]{2}(-[A-Z]{2})?",
            prop::collection::vec(prop::sample::select(Category::ALL), 1..3),
            text(),
            prop::collection::vec(prop::sample::select(ResponseType::ALL), 0..3),
            prop::sample::select(Urgency::ALL),
            prop::sample::select(Severity::ALL),
            prop::sample::select(Certainty::ALL),
            opt_text(),
            prop::collection::vec(pair(), 0..3),
        );
        let times = (
            proptest::option::of(cap_time()),
            proptest::option::of(cap_time()),
            proptest::option::of(cap_time()),
        );
        let texts = (opt_text(), opt_text(), opt_text(), opt_text(), uri(), opt_text());
        let tail = (
            prop::collection::vec(pair(), 0..3),
            prop::collection::vec(resource(), 0..2),
            prop::collection::vec(area(), 0..3),
        );
        (head, times, texts, tail).prop_map(
            |(
                (language, categories, event, response_types, urgency, severity, certainty, audience, event_codes),
                (effective, onset, expires),
                (sender_name, headline, description, instruction, web, contact),
                (parameters, resources, areas),
            )| Info {
                language,
                categories,
                event,
                response_types,
                urgency,
                severity,
                certainty,
                audience,
                event_codes,
                effective,
                onset,
                expires,
                sender_name,
                headline,
                description,
                instruction,
                web,
                contact,
                parameters,
                resources,
                areas,
            },
        )
    }

    fn reference() -> impl Strategy<Value = Reference> {
        (id(), id(), cap_time()).prop_map(|(sender, identifier, sent)| Reference {
            sender,
            identifier,
            sent,
        })
    }

    fn alert() -> impl Strategy<Value = Alert> {
        let head = (
            id(),
            id(),
            cap_time(),
            prop::sample::select(Status::ALL),
            prop::sample::select(MsgType::ALL),
            opt_text(),
            prop::sample::select(Scope::ALL),
        );
        let tail = (
            opt_text(),
            opt_text(),
            prop::collection::vec(text(), 0..3),
            opt_text(),
            prop::collection::vec(reference(), 0..3),
            opt_text(),
            prop::collection::vec(info(), 1..=3),
        );
        (head, tail).prop_map(
            |(
                (identifier, sender, sent, status, msg_type, source, scope),
                (restriction, addresses, codes, note, references, incidents, infos),
            )| {
                // The specification ties these two to the scope.
                let restriction = match scope {
                    Scope::Restricted => restriction.or_else(|| Some("職員のみ".into())),
                    _ => restriction,
                };
                let addresses = match scope {
                    Scope::Private => addresses.or_else(|| Some("bousai@city.midori.example.jp".into())),
                    _ => addresses,
                };
                Alert {
                    identifier,
                    sender,
                    sent,
                    status,
                    msg_type,
                    source,
                    scope,
                    restriction,
                    addresses,
                    codes,
                    note,
                    references,
                    incidents,
                    infos,
                }
            },
        )
    }

    /// XML-ish noise for the no-panic property.
    const NOISE: &str = concat!(
        r#"(<[a-z/!?]{0,3}|[a-z &;<>"=]|<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">|</alert>"#,
        r#"|<info>|</info>|<area>|<polygon>|</polygon>){0,30}"#
    );

    proptest! {
        #[test]
        fn generated_alerts_round_trip(a in alert()) {
            prop_assert_eq!(a.validate(), Ok(()));
            let xml = to_xml(&a);
            prop_assert_eq!(parse(&xml), Ok(a));
        }

        #[test]
        fn unix_ms_round_trips_through_jst(ms in -62_000_000_000_000i64..253_000_000_000_000) {
            let t = CapTime::from_unix_ms_jst(ms);
            prop_assert!(t.as_str().ends_with("+09:00"));
            prop_assert_eq!(t.to_unix_ms(), ms.div_euclid(1000) * 1000);
        }

        #[test]
        fn any_offset_converts_to_the_same_instant_in_jst(t in cap_time()) {
            let ms = t.to_unix_ms();
            prop_assume!(ms > -62_000_000_000_000 && ms < 253_000_000_000_000);
            prop_assert_eq!(CapTime::from_unix_ms_jst(ms).to_unix_ms(), ms);
        }

        #[test]
        fn parse_never_panics(xml in NOISE) {
            let _ = parse(&xml);
        }
    }
}
