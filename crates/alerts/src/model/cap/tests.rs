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
