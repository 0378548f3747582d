//! Reading CAP XML: a strict parser that follows the schema order and names the element and rule it refuses.

use super::*;

/// An element of the document: CAP has no mixed content and no attributes, so name, text and children suffice.
pub(super) struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

pub(super) fn malformed(detail: impl fmt::Display) -> CapError {
    CapError::new("xml", format!("malformed XML: {detail}"))
}

pub(super) fn read_tree(xml: &str) -> Result<Node, CapError> {
    // Editors on Windows like to prepend a byte-order mark.
    let xml = xml.strip_prefix('\u{FEFF}').unwrap_or(xml);
    // roxmltree refuses DTDs unless asked (`allow_dtd` stays false), which rules out entity-expansion attacks:
    // without a DTD the only entities are the five predefined ones and character references.
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => CapError::new("DOCTYPE", "DOCTYPE declarations are not allowed"),
        roxmltree::Error::UnknownEntityReference(name, _) => {
            CapError::new(element_around(xml, &format!("&{name};")), "undefined entity reference")
        }
        other => malformed(other),
    })?;
    let root = doc.root();
    if root.children().any(|n| n.is_pi()) {
        return Err(malformed("processing instructions are not allowed"));
    }
    let alert = doc.root_element();
    let name = alert.tag_name().name();
    if !(name == "alert" && alert.tag_name().namespace() == Some(NAMESPACE)) {
        return Err(CapError::new(
            name,
            format!("root element must be alert in namespace {NAMESPACE}"),
        ));
    }
    to_node(alert, 0)
}

/// Copies an element of the document into a [`Node`], refusing what CAP does not use (foreign namespaces,
/// attributes, processing instructions, deep nesting) in document order.
fn to_node(element: roxmltree::Node<'_, '_>, depth: usize) -> Result<Node, CapError> {
    let name = element.tag_name().name();
    if element.tag_name().namespace() != Some(NAMESPACE) {
        return Err(CapError::new(name, "element is not in the CAP 1.2 namespace"));
    }
    if depth >= MAX_DEPTH {
        return Err(CapError::new(name, "elements are nested too deeply"));
    }
    // Namespace declarations are not attributes to roxmltree, so `xmlns:cap="…"` passes.
    if element.attributes().len() > 0 {
        return Err(CapError::new(name, "attributes are not allowed"));
    }
    let mut node = Node {
        name: name.to_owned(),
        text: String::new(),
        children: Vec::new(),
    };
    for child in element.children() {
        if child.is_element() {
            node.children.push(to_node(child, depth + 1)?);
        } else if child.is_text() {
            // Text, CDATA sections and references arrive merged (comments may split them).
            node.text.push_str(child.text().unwrap_or_default());
        } else if child.is_pi() {
            return Err(malformed("processing instructions are not allowed"));
        }
    }
    let trimmed = node.text.trim_matches(is_xml_space);
    if trimmed.len() != node.text.len() {
        node.text = trimmed.to_owned();
    }
    Ok(node)
}

/// The local name of the element whose content holds the first `needle` (for naming the element of an error
/// the XML library reports by position only). Comments, CDATA and declarations are skipped.
fn element_around(xml: &str, needle: &str) -> String {
    fn skip_to<'a>(rest: &'a str, close: &str) -> &'a str {
        rest.find(close).map_or("", |i| &rest[i + close.len()..])
    }
    let end = xml.find(needle).unwrap_or(xml.len());
    let mut open: Vec<&str> = Vec::new();
    let mut rest = &xml[..end];
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if rest.starts_with("!--") {
            rest = skip_to(rest, "-->");
        } else if rest.starts_with("![CDATA[") {
            rest = skip_to(rest, "]]>");
        } else if rest.starts_with('!') || rest.starts_with('?') {
            rest = skip_to(rest, ">");
        } else if let Some(closing) = rest.strip_prefix('/') {
            open.pop();
            rest = closing;
        } else {
            let tag_end = rest.find('>').unwrap_or(rest.len());
            let tag = &rest[..tag_end];
            if !tag.ends_with('/') {
                let qname = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
                open.push(qname.rsplit(':').next().unwrap_or(qname));
            }
            rest = &rest[tag_end..];
        }
    }
    open.last().map_or_else(|| "xml".to_owned(), |name| (*name).to_owned())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Occurs {
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

pub(super) type Sequence = &'static [(&'static str, Occurs)];

pub(super) const ALERT_SEQ: Sequence = &[
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

pub(super) const INFO_SEQ: Sequence = &[
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

pub(super) const RESOURCE_SEQ: Sequence = &[
    ("resourceDesc", Occurs::One),
    ("mimeType", Occurs::One),
    ("size", Occurs::Optional),
    ("uri", Occurs::Optional),
    ("derefUri", Occurs::Optional),
    ("digest", Occurs::Optional),
];

pub(super) const AREA_SEQ: Sequence = &[
    ("areaDesc", Occurs::One),
    ("polygon", Occurs::Many),
    ("circle", Occurs::Many),
    ("geocode", Occurs::Many),
    ("altitude", Occurs::Optional),
    ("ceiling", Occurs::Optional),
];

pub(super) const PAIR_SEQ: Sequence = &[("valueName", Occurs::One), ("value", Occurs::One)];

/// Names that may come next after `count` occurrences of `seq[pos]`.
pub(super) fn expected_next(seq: Sequence, pos: usize, count: usize) -> Vec<&'static str> {
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

pub(super) fn order_error(element: &str, seq: Sequence, pos: usize, count: usize) -> CapError {
    let expected = expected_next(seq, pos, count);
    let rule = if expected.is_empty() {
        "element out of schema order (no further elements expected)".to_owned()
    } else {
        format!("element out of schema order (expected one of: {})", expected.join(", "))
    };
    CapError::new(element, rule)
}

/// Checks the children of `parent` against an xs:sequence, reporting the first deviation.
pub(super) fn check_sequence(parent: &Node, seq: Sequence) -> Result<(), CapError> {
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
pub(super) fn parse_decimal(s: &str) -> Option<f64> {
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

pub(super) fn parse_point(s: &str) -> Option<(f64, f64)> {
    let (lat, lon) = s.split_once(',')?;
    Some((parse_decimal(lat)?, parse_decimal(lon)?))
}

pub(super) fn parse_polygon(s: &str) -> Result<Polygon, CapError> {
    s.split_ascii_whitespace()
        .map(|pair| {
            parse_point(pair).ok_or_else(|| CapError::new("polygon", "polygon must be space-separated lat,lon pairs"))
        })
        .collect::<Result<_, _>>()
        .map(Polygon)
}

pub(super) fn parse_circle(s: &str) -> Result<Circle, CapError> {
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

pub(super) fn parse_references(s: &str) -> Result<Vec<Reference>, CapError> {
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

pub(super) fn parse_resource(node: &Node) -> Result<Resource, CapError> {
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

pub(super) fn parse_area(node: &Node) -> Result<Area, CapError> {
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

pub(super) fn parse_info(node: &Node) -> Result<Info, CapError> {
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
