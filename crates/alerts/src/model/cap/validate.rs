//! Semantic validation: what the schema cannot say (identifiers, URIs, coordinates, closed polygons, …).

use super::*;

pub(super) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub(super) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

pub(super) fn check_text(element: &str, s: &str) -> Result<(), CapError> {
    if s.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(CapError::new(element, RULE_XML_CHAR))
    }
}

pub(super) fn check_opt(element: &str, s: &Option<String>) -> Result<(), CapError> {
    s.as_deref().map_or(Ok(()), |s| check_text(element, s))
}

/// `identifier` and `sender` end up inside `<references>` triples, hence the restricted characters.
pub(super) fn check_id(element: &str, s: &str) -> Result<(), CapError> {
    check_text(element, s)?;
    let bad = |c: char| c.is_whitespace() || matches!(c, ',' | '<' | '&');
    if s.is_empty() || s.contains(bad) {
        Err(CapError::new(element, RULE_ID))
    } else {
        Ok(())
    }
}

/// Approximates xs:anyURI as schema validators apply it: an RFC 3986 reference once other characters are escaped.
pub(super) fn is_uri_reference(s: &str) -> bool {
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

pub(super) fn check_uri(element: &str, s: &Option<String>) -> Result<(), CapError> {
    check_opt(element, s)?;
    match s {
        Some(s) if !is_uri_reference(s) => Err(CapError::new(element, "must be a URI like https://example.jp/page")),
        _ => Ok(()),
    }
}

pub(super) fn check_pairs(element: &str, pairs: &[ValuePair]) -> Result<(), CapError> {
    pairs.iter().try_for_each(|p| {
        check_text(element, &p.value_name)?;
        check_text(element, &p.value)
    })
}

/// xs:language: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*`.
pub(super) fn is_language_tag(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

pub(super) fn check_point(element: &str, lat: f64, lon: f64) -> Result<(), CapError> {
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
