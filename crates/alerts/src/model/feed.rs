//! Atom 1.0 feeds of alerts: one per area for residents and relays, and a CAP feed whose entries link to CAP 1.2 documents.
//!
//! The feed is written as text rather than through an XML library: the shape is fixed and small, and writing it by
//! hand keeps the escaping rules in one visible place. Every string is escaped for XML and stripped of characters
//! XML 1.0 cannot carry, so any input yields a well-formed document. Non-ASCII text (Japanese, emoji) is written
//! as is, since the document is UTF-8.

/// Namespace of Atom 1.0 (RFC 4287).
pub const NAMESPACE: &str = "http://www.w3.org/2005/Atom";

/// Media type of the CAP 1.2 documents the CAP feed links to.
pub const CAP_MEDIA_TYPE: &str = "application/cap+xml";

/// An Atom feed (`<feed>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Feed {
    /// Permanent, unique identifier: a `tag:` or `urn:` URI.
    pub id: String,
    pub title: String,
    /// Where the feed itself is served; absolute or root-relative.
    pub self_url: String,
    /// RFC 3339 with an offset, e.g. `2026-11-23T10:00:00+09:00`.
    pub updated: String,
    /// Name of the publisher (Atom requires an author on the feed or on every entry).
    pub author: String,
    /// Written in the order given; callers sort (usually newest first).
    pub entries: Vec<Entry>,
}

/// One alert in a feed (`<entry>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Entry {
    pub id: String,
    pub title: String,
    /// RFC 3339 with an offset.
    pub updated: String,
    /// RFC 3339 with an offset; when the alert was first issued.
    pub published: Option<String>,
    pub summary: Option<String>,
    /// Plain text, written as `<content type="text">`.
    pub content: Option<String>,
    /// The alert as HTML or JSON (`rel="alternate"`).
    pub link: String,
    /// The alert as a CAP 1.2 document (`rel="alternate" type="application/cap+xml"`).
    pub cap_link: Option<String>,
    /// One `<category term="…"/>` each.
    pub categories: Vec<String>,
}

/// `title` with `drill_label` (e.g. "【訓練】") in front when the alert is a drill, so nobody mistakes an exercise
/// for a real alert; the label is not doubled if the title already starts with it.
pub fn drill_title(title: &str, drill: bool, drill_label: &str) -> String {
    if drill && !title.starts_with(drill_label) {
        format!("{drill_label}{title}")
    } else {
        title.to_owned()
    }
}

/// The feed as an Atom 1.0 document (UTF-8, one element per line).
pub fn to_atom(feed: &Feed) -> String {
    let mut out = String::with_capacity(512 + feed.entries.len() * 512);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"");
    out.push_str(NAMESPACE);
    out.push_str("\">\n");
    text_element(&mut out, 1, "id", &feed.id);
    text_element(&mut out, 1, "title", &feed.title);
    text_element(&mut out, 1, "updated", &feed.updated);
    indent(&mut out, 1);
    out.push_str("<author><name>");
    escape_into(&mut out, &feed.author, false);
    out.push_str("</name></author>\n");
    link(&mut out, 1, "self", None, &feed.self_url);
    for entry in &feed.entries {
        write_entry(&mut out, entry);
    }
    out.push_str("</feed>\n");
    out
}

fn write_entry(out: &mut String, entry: &Entry) {
    indent(out, 1);
    out.push_str("<entry>\n");
    text_element(out, 2, "id", &entry.id);
    text_element(out, 2, "title", &entry.title);
    text_element(out, 2, "updated", &entry.updated);
    if let Some(published) = &entry.published {
        text_element(out, 2, "published", published);
    }
    if let Some(summary) = &entry.summary {
        text_element(out, 2, "summary", summary);
    }
    if let Some(content) = &entry.content {
        indent(out, 2);
        out.push_str("<content type=\"text\">");
        escape_into(out, content, false);
        out.push_str("</content>\n");
    }
    link(out, 2, "alternate", None, &entry.link);
    if let Some(cap_link) = &entry.cap_link {
        link(out, 2, "alternate", Some(CAP_MEDIA_TYPE), cap_link);
    }
    for term in &entry.categories {
        indent(out, 2);
        out.push_str("<category term=\"");
        escape_into(out, term, true);
        out.push_str("\"/>\n");
    }
    indent(out, 1);
    out.push_str("</entry>\n");
}

fn indent(out: &mut String, level: usize) {
    for _ in 0..level {
        out.push_str("  ");
    }
}

fn text_element(out: &mut String, level: usize, name: &str, text: &str) {
    indent(out, level);
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_into(out, text, false);
    out.push_str("</");
    out.push_str(name);
    out.push_str(">\n");
}

fn link(out: &mut String, level: usize, rel: &str, media_type: Option<&str>, href: &str) {
    indent(out, level);
    out.push_str("<link rel=\"");
    out.push_str(rel);
    out.push('"');
    if let Some(media_type) = media_type {
        out.push_str(" type=\"");
        out.push_str(media_type);
        out.push('"');
    }
    out.push_str(" href=\"");
    escape_into(out, href, true);
    out.push_str("\"/>\n");
}

/// Whether XML 1.0 allows `c` in a document at all (the `Char` production; Rust `char`s are never surrogates).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Appends `text` escaped for element content or (with `attribute`) a double-quoted attribute value.
///
/// Characters XML 1.0 forbids are dropped, since no escape can represent them. A carriage return is written as a
/// character reference because parsers turn a literal CR (or CRLF) into LF; in attributes tab and LF are referenced
/// too, because attribute-value normalisation would turn them into spaces.
fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#xD;"),
            '\t' if attribute => out.push_str("&#x9;"),
            '\n' if attribute => out.push_str("&#xA;"),
            c if is_xml_char(c) => out.push(c),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A parsed element: its path from the root (`feed/entry/title`), attributes and text content.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Node {
        path: String,
        attributes: Vec<(String, String)>,
        text: String,
    }

    /// Reads `xml` with roxmltree, failing on anything not well-formed, and returns every element in document
    /// order with its own text (not its descendants').
    fn parse(xml: &str) -> Result<Vec<Node>, String> {
        fn walk(element: roxmltree::Node<'_, '_>, parent: Option<&str>, out: &mut Vec<Node>) {
            let name = element.tag_name().name();
            let path = match parent {
                Some(parent) => format!("{parent}/{name}"),
                None => name.to_owned(),
            };
            out.push(Node {
                path: path.clone(),
                attributes: element
                    .attributes()
                    .map(|a| (a.name().to_owned(), a.value().to_owned()))
                    .collect(),
                text: element
                    .children()
                    .filter(|c| c.is_text())
                    .map(|c| c.text().unwrap_or_default())
                    .collect(),
            });
            for child in element.children().filter(roxmltree::Node::is_element) {
                walk(child, Some(&path), out);
            }
        }
        let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
        let mut nodes = Vec::new();
        walk(doc.root_element(), None, &mut nodes);
        Ok(nodes)
    }

    fn texts<'a>(nodes: &'a [Node], path: &str) -> Vec<&'a str> {
        nodes
            .iter()
            .filter(|n| n.path == path)
            .map(|n| n.text.as_str())
            .collect()
    }

    fn attribute<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
        node.attributes.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn sample() -> Feed {
        Feed {
            id: "tag:machi.example,2026:alerts:area:13101".into(),
            title: "千代田区の防災情報".into(),
            self_url: "/alerts/areas/13101/feed.atom".into(),
            updated: "2026-11-23T10:00:00+09:00".into(),
            author: "千代田区".into(),
            entries: vec![
                Entry {
                    id: "urn:uuid:6f1c2a52-0d4e-4a4b-9c1e-6a0b8b7a2f10".into(),
                    title: drill_title("避難指示", true, "【訓練】"),
                    updated: "2026-11-23T10:00:00+09:00".into(),
                    published: Some("2026-11-23T09:30:00+09:00".into()),
                    summary: Some("訓練です。".into()),
                    content: None,
                    link: "/alerts/a1".into(),
                    cap_link: None,
                    categories: vec!["訓練".into()],
                },
                Entry {
                    id: "urn:uuid:0b7d9e3c-2f6a-4f0e-8d1b-3c5e7a9f1d22".into(),
                    title: "大雨警報".into(),
                    updated: "2026-11-23T08:00:00+09:00".into(),
                    published: None,
                    summary: None,
                    content: Some("川に近づかないでください。\n高台へ".into()),
                    link: "/alerts/a2?format=json&lang=ja".into(),
                    cap_link: Some("/alerts/a2.cap".into()),
                    categories: vec!["Met".into(), "大雨".into()],
                },
            ],
        }
    }

    #[test]
    fn japanese_feed_exact_output() {
        let expected = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:machi.example,2026:alerts:area:13101</id>
  <title>千代田区の防災情報</title>
  <updated>2026-11-23T10:00:00+09:00</updated>
  <author><name>千代田区</name></author>
  <link rel="self" href="/alerts/areas/13101/feed.atom"/>
  <entry>
    <id>urn:uuid:6f1c2a52-0d4e-4a4b-9c1e-6a0b8b7a2f10</id>
    <title>【訓練】避難指示</title>
    <updated>2026-11-23T10:00:00+09:00</updated>
    <published>2026-11-23T09:30:00+09:00</published>
    <summary>訓練です。</summary>
    <link rel="alternate" href="/alerts/a1"/>
    <category term="訓練"/>
  </entry>
  <entry>
    <id>urn:uuid:0b7d9e3c-2f6a-4f0e-8d1b-3c5e7a9f1d22</id>
    <title>大雨警報</title>
    <updated>2026-11-23T08:00:00+09:00</updated>
    <content type="text">川に近づかないでください。
高台へ</content>
    <link rel="alternate" href="/alerts/a2?format=json&amp;lang=ja"/>
    <link rel="alternate" type="application/cap+xml" href="/alerts/a2.cap"/>
    <category term="Met"/>
    <category term="大雨"/>
  </entry>
</feed>
"#;
        let xml = to_atom(&sample());
        assert_eq!(xml, expected);

        let nodes = parse(&xml).unwrap();
        assert_eq!(texts(&nodes, "feed/title"), ["千代田区の防災情報"]);
        assert_eq!(texts(&nodes, "feed/entry/title"), ["【訓練】避難指示", "大雨警報"]);
        assert_eq!(
            texts(&nodes, "feed/entry/content"),
            ["川に近づかないでください。\n高台へ"]
        );
        let hrefs: Vec<_> = nodes
            .iter()
            .filter(|n| n.path == "feed/entry/link")
            .map(|n| (attribute(n, "type"), attribute(n, "href").unwrap()))
            .collect();
        assert_eq!(
            hrefs,
            [
                (None, "/alerts/a1"),
                (None, "/alerts/a2?format=json&lang=ja"),
                (Some(CAP_MEDIA_TYPE), "/alerts/a2.cap"),
            ]
        );
    }

    #[test]
    fn escapes_markup_and_strips_control_characters() {
        let mut feed = sample();
        feed.title = "A & B".into();
        feed.entries[0].title = "<&>\"'\u{1}警報\u{FFFF}".into();
        feed.entries[0].categories = vec!["a\"b<c>\t\n\r".into()];
        feed.entries[1].content = Some("line1\r\nline2\u{0}\u{1B}[0m".into());
        let xml = to_atom(&feed);

        assert!(xml.contains("<title>A &amp; B</title>"));
        assert!(xml.contains("<title>&lt;&amp;&gt;&quot;&apos;警報</title>"));
        assert!(xml.contains(r#"<category term="a&quot;b&lt;c&gt;&#x9;&#xA;&#xD;"/>"#));
        assert!(xml.contains("<content type=\"text\">line1&#xD;\nline2[0m</content>"));
        assert!(!xml.chars().any(|c| !is_xml_char(c)));

        let nodes = parse(&xml).unwrap();
        assert_eq!(texts(&nodes, "feed/title"), ["A & B"]);
        assert_eq!(texts(&nodes, "feed/entry/title")[0], "<&>\"'警報");
        assert_eq!(texts(&nodes, "feed/entry/content"), ["line1\r\nline2[0m"]);
        let category = nodes.iter().find(|n| n.path == "feed/entry/category").unwrap();
        assert_eq!(attribute(category, "term"), Some("a\"b<c>\t\n\r"));
    }

    #[test]
    fn empty_feed_is_valid() {
        let feed = Feed {
            id: "urn:uuid:00000000-0000-4000-8000-000000000000".into(),
            title: "防災情報".into(),
            self_url: "https://machi.example/alerts/feed.atom".into(),
            updated: "2026-11-23T10:00:00+09:00".into(),
            author: "machi".into(),
            entries: Vec::new(),
        };
        let xml = to_atom(&feed);
        let nodes = parse(&xml).unwrap();
        assert!(texts(&nodes, "feed/entry").is_empty());
        assert_eq!(texts(&nodes, "feed/author/name"), ["machi"]);
        let self_link = nodes.iter().find(|n| n.path == "feed/link").unwrap();
        assert_eq!(attribute(self_link, "rel"), Some("self"));
        assert_eq!(
            attribute(self_link, "href"),
            Some("https://machi.example/alerts/feed.atom")
        );
        // Even a completely empty value set must still give a well-formed document.
        parse(&to_atom(&Feed::default())).unwrap();
    }

    #[test]
    fn drill_label_is_added_once() {
        assert_eq!(drill_title("避難指示", true, "【訓練】"), "【訓練】避難指示");
        assert_eq!(drill_title("【訓練】避難指示", true, "【訓練】"), "【訓練】避難指示");
        assert_eq!(drill_title("避難指示", false, "【訓練】"), "避難指示");
        assert_eq!(drill_title("避難指示", true, ""), "避難指示");
    }

    /// Strings mixing arbitrary characters (controls, surrogate neighbours, U+FFFE/U+FFFF), markup, Japanese and
    /// emoji, so most cases hit an escape or a stripped character.
    fn awkward_string() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            any::<char>(),
            prop::sample::select(vec![
                '<', '>', '&', '"', '\'', '\t', '\n', '\r', '\u{0}', '\u{FFFE}', '\u{FFFF}'
            ]),
            prop::char::range('\u{3041}', '\u{30FF}'),
            prop::char::range('\u{4E00}', '\u{9FFF}'),
            prop::char::range('\u{1F300}', '\u{1FAFF}'),
        ];
        prop::collection::vec(ch, 0..40).prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn any_text_gives_well_formed_xml_that_reads_back(
            title in awkward_string(),
            summary in awkward_string(),
            content in awkward_string(),
            category in awkward_string(),
        ) {
            let mut feed = sample();
            feed.entries[0].title = title.clone();
            feed.entries[0].summary = Some(summary.clone());
            feed.entries[0].content = Some(content.clone());
            feed.entries[0].categories = vec![category.clone()];
            let xml = to_atom(&feed);

            let nodes = parse(&xml).map_err(TestCaseError::fail)?;
            let clean = |s: &str| s.chars().filter(|&c| is_xml_char(c)).collect::<String>();
            prop_assert_eq!(texts(&nodes, "feed/entry/title")[0], clean(&title));
            prop_assert_eq!(texts(&nodes, "feed/entry/summary")[0], clean(&summary));
            prop_assert_eq!(texts(&nodes, "feed/entry/content")[0], clean(&content));
            let term = nodes.iter().find(|n| n.path == "feed/entry/category").and_then(|n| attribute(n, "term"));
            let expected = clean(&category);
            prop_assert_eq!(term, Some(expected.as_str()));
        }
    }
}
