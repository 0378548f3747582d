//! Writing CAP XML (hand-written: elements in schema order, indented, escaping text only — CAP has no attributes).

use super::*;

pub(super) struct XmlWriter {
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
