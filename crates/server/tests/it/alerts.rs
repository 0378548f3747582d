//! Alerts through HTTP: CAP 1.2 in and out, idempotency, Update/Cancel, targeting, the duty
//! check, and the per-area feeds. SQLite, and PostgreSQL when MACHI_TEST_DATABASE says so.

use reqwest::StatusCode;
use serde_json::Value;
use server::testing::{TestApp, spawn_demo_app};

use crate::common::{Page, assert_refused, page, session_cookie, wait_for};

fn cap(identifier: &str, status: &str, msg_type: &str, references: Option<&str>, area: &str) -> String {
    let refs = references
        .map(|r| format!("<references>{r}</references>"))
        .unwrap_or_default();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>bousai@city.midori.example.jp</sender>
  <sent>2026-11-23T10:00:00+09:00</sent>
  <status>{status}</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>
  {refs}
  <info>
    <language>ja-JP</language>
    <category>Geo</category>
    <event>地震</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>震度5強の地震が発生しました</headline>
    <description>みどり市で震度5強を観測しました。余震に注意してください。</description>
    <instruction>身の安全を確保し、落ち着いて行動してください。</instruction>
    <area>
      <areaDesc>みどり市</areaDesc>
      {area}
    </area>
  </info>
</alert>"#
    )
}

const DISTRICT_1: &str = "<geocode><valueName>全国地方公共団体コード</valueName><value>13999-1</value></geocode>";

/// The rows of the alerts tables: a refused alert leaves them as they were.
async fn alert_rows(app: &TestApp) -> Vec<(String, i64)> {
    crate::common::counts(
        app,
        &["alerts", "alert_areas", "alert_groups", "alert_receipts", "outbox"],
    )
    .await
}

async fn post_cap(app: &TestApp, token: &str, xml: &str) -> (StatusCode, Option<String>, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/alerts"))
        .bearer_auth(token)
        .header("Content-Type", "application/cap+xml")
        .body(xml.to_string())
        .send()
        .await
        .unwrap();
    let status = res.status();
    let location = res.headers().get("location").map(|v| v.to_str().unwrap().to_string());
    (status, location, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn cap_in_cap_out_idempotent_and_targeted() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let xml = cap("midori-2026-001", "Actual", "Alert", None, DISTRICT_1);
    let (s, location, body) = post_cap(&app, &bousai, &xml).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let location = location.unwrap();
    assert_eq!(location, format!("/api/v1/alerts/{}", body["id"].as_str().unwrap()));
    assert_eq!(
        body["areas"].as_array().unwrap().len(),
        3,
        "district 1 has three 町丁目: {body}"
    );
    assert!(body["targeted_people"].as_i64().unwrap() > 0);
    assert!(body["targeted_households"].as_i64().unwrap() > 0);

    // The same sender + identifier again is the same alert.
    let (s, again, repeat) = post_cap(&app, &bousai, &xml).await;
    assert_eq!((s, again.as_deref()), (StatusCode::OK, Some(location.as_str())));
    assert_eq!(repeat["id"], body["id"]);

    // CAP out is the CAP that came in, Japanese exactly; JSON otherwise.
    let res = reqwest::Client::new()
        .get(app.url(&location))
        .header("Accept", "application/cap+xml")
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/cap+xml")
    );
    let out = res.text().await.unwrap();
    assert_eq!(out, xml);
    let parsed = alerts::model::cap::parse(&out).unwrap();
    assert_eq!(parsed.infos[0].headline.as_deref(), Some("震度5強の地震が発生しました"));
    assert!(!out.contains("Z</sent>"));
    let json: Value = reqwest::get(app.url(&location)).await.unwrap().json().await.unwrap();
    assert_eq!(json["headline"], "震度5強の地震が発生しました");
    assert_eq!(json["drill"], false);
}

#[tokio::test]
async fn only_the_alerts_duty_may_publish() {
    let app = spawn_demo_app().await;
    let xml = cap("midori-2026-002", "Actual", "Alert", None, DISTRICT_1);
    for login in ["fukushi", "tanaka", "admin"] {
        let token = app.token_for(login).await;
        let (s, _, body) = assert_unchanged!(alert_rows(&app).await, post_cap(&app, &token, &xml).await);
        assert_refused(&(s, &body), StatusCode::FORBIDDEN, "forbidden");
    }
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/alerts"))
        .header("Content-Type", "application/cap+xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn invalid_cap_is_a_400_naming_element_and_rule() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let zulu = cap("x-1", "Actual", "Alert", None, DISTRICT_1).replace("+09:00", "Z");
    let before = alert_rows(&app).await;
    let (s, _, body) = assert_unchanged!(app.snapshot().await, post_cap(&app, &bousai, &zulu).await);
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "cap-invalid");
    assert!(body["error"]["message"].as_str().unwrap().contains("sent"), "{body}");

    let open = cap(
        "x-2",
        "Actual",
        "Alert",
        None,
        "<polygon>35.6,139.5 35.7,139.5 35.7,139.6 35.6,139.6</polygon>",
    );
    let (s, _, body) = assert_unchanged!(app.snapshot().await, post_cap(&app, &bousai, &open).await);
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "cap-invalid");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("polygon") && msg.contains("closed"), "{msg}");

    let order = cap("x-3", "Actual", "Alert", None, DISTRICT_1).replace(
        "<status>Actual</status>\n  <msgType>Alert</msgType>",
        "<msgType>Alert</msgType>\n  <status>Actual</status>",
    );
    let (s, _, body) = assert_unchanged!(app.snapshot().await, post_cap(&app, &bousai, &order).await);
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "cap-invalid");
    assert_eq!(alert_rows(&app).await, before, "no invalid alert is kept");

    let res = reqwest::Client::new()
        .post(app.url("/api/v1/alerts"))
        .bearer_auth(&bousai)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn an_alert_for_elsewhere_is_accepted_and_reaches_nobody() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let xml = cap(
        "elsewhere-1",
        "Actual",
        "Alert",
        None,
        "<geocode><valueName>全国地方公共団体コード</valueName><value>27100</value></geocode>",
    );
    let (s, _, body) = post_cap(&app, &bousai, &xml).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(body["targeted_people"], 0);
    assert_eq!(body["areas"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn polygons_target_by_geometry_and_updates_cancels_replace() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    // A polygon around the first 町丁目's label point.
    let chome = kernel::store::areas::get(&app.kernel.db, "13999-1-01")
        .await
        .unwrap()
        .unwrap();
    let shape = kernel::model::geometry::parse_geometry(&chome.geometry).unwrap();
    let c = shape.label_point().unwrap();
    let (d, e) = (0.0005, 0.0005);
    let poly = format!(
        "<polygon>{},{} {},{} {},{} {},{} {},{}</polygon>",
        c.lat - d,
        c.lon - e,
        c.lat - d,
        c.lon + e,
        c.lat + d,
        c.lon + e,
        c.lat + d,
        c.lon - e,
        c.lat - d,
        c.lon - e
    );
    let (s, _, first) = post_cap(&app, &bousai, &cap("geo-1", "Actual", "Alert", None, &poly)).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(first["areas"], serde_json::json!(["13999-1-01"]));

    let active: Value = reqwest::get(app.url("/api/v1/areas/13999-1-01/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(active.as_array().unwrap().len(), 1);
    let district: Value = reqwest::get(app.url("/api/v1/areas/13999-1/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        district.as_array().unwrap().len(),
        1,
        "a district sees alerts for its 町丁目"
    );
    let ticker = reqwest::get(app.url("/api/v1/areas/13999-1-01/alerts.txt"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ticker, "震度5強の地震が発生しました\n");

    let refs = "bousai@city.midori.example.jp,geo-1,2026-11-23T10:00:00+09:00";
    let (s, _, update) = post_cap(&app, &bousai, &cap("geo-2", "Actual", "Update", Some(refs), &poly)).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(update["refers_to"], first["id"]);
    let active: Value = reqwest::get(app.url("/api/v1/areas/13999-1-01/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(active.as_array().unwrap().len(), 1);
    assert_eq!(active[0]["id"], update["id"], "the update replaces the alert");

    let refs = "bousai@city.midori.example.jp,geo-2,2026-11-23T10:00:00+09:00";
    let (s, _, _) = post_cap(&app, &bousai, &cap("geo-3", "Actual", "Cancel", Some(refs), &poly)).await;
    assert_eq!(s, StatusCode::CREATED);
    let active: Value = reqwest::get(app.url("/api/v1/areas/13999-1-01/alerts"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(active.as_array().unwrap().is_empty(), "cancelled: {active}");
    let ticker = reqwest::get(app.url("/api/v1/areas/13999-1-01/alerts.txt"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ticker, "現在、お知らせはありません\n");
}

#[tokio::test]
async fn drills_are_marked_on_the_ticker() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let (s, _, body) = post_cap(&app, &bousai, &cap("drill-1", "Exercise", "Alert", None, DISTRICT_1)).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(body["drill"], true);
    let ticker = reqwest::get(app.url("/api/v1/areas/13999-1/alerts.txt"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(ticker, "【訓練】震度5強の地震が発生しました\n");
    let en = reqwest::Client::new()
        .get(app.url("/api/v1/areas/13999-1/alerts.txt"))
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.starts_with("[DRILL]"));
}

/// Read SSE frames until one with `event: alert` arrives; return its data as JSON.
async fn next_alert(res: &mut reqwest::Response, buf: &mut String) -> Value {
    loop {
        if let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if frame.lines().any(|l| l == "event: alert") {
                let data: String = frame.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                return serde_json::from_str(&data).unwrap();
            }
            continue;
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), res.chunk())
            .await
            .expect("an alert within 10 s")
            .unwrap()
            .expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn terminals_receive_alerts_live_catch_up_and_acknowledge() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    // tanaka lives in district 1.
    let cookie = session_cookie(&app, "tanaka").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut stream = client
        .get(app.url("/alerts/events"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(
        stream.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut buf = String::new();

    let (s, _, posted) = post_cap(&app, &bousai, &cap("live-1", "Exercise", "Alert", None, DISTRICT_1)).await;
    assert_eq!(s, StatusCode::CREATED);
    let got = next_alert(&mut stream, &mut buf).await;
    assert_eq!(got["id"], posted["id"]);
    assert_eq!(got["drill"], true);
    assert_eq!(got["headline"], "震度5強の地震が発生しました");
    assert_eq!(got["instruction"], "身の安全を確保し、落ち着いて行動してください。");
    drop(stream);

    // Reconnecting catches up on what is in force, unless already seen (Last-Event-ID).
    let mut again = client
        .get(app.url("/alerts/events"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    assert_eq!(next_alert(&mut again, &mut buf).await["id"], posted["id"]);
    drop(again);

    // 「確認しました」: recorded once; the terminal does not show it again.
    let alert_id = posted["id"].as_str().unwrap();
    let res = client
        .post(app.url(&format!("/alerts/{alert_id}/ack")))
        .header("Cookie", &cookie)
        .form(&[
            ("csrf", "a".repeat(64).as_str()),
            ("back", "/terminal"),
            ("channel", "terminal"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (res.status(), res.headers()["location"].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/terminal")
    );
    let tanaka = kernel::store::accounts::person_by_login(&app.kernel.db, "tanaka")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        alerts::store::acknowledged_by(&app.kernel.db, &tanaka).await.unwrap(),
        vec![alert_id.to_string()]
    );
    assert!(
        !alerts::store::acknowledge(&app.kernel, alert_id, &tanaka, "terminal")
            .await
            .unwrap(),
        "once only"
    );

    // A second alert arrives on a fresh connection; the acknowledged one is not repeated.
    let (_, _, second) = post_cap(&app, &bousai, &cap("live-2", "Actual", "Alert", None, DISTRICT_1)).await;
    let mut third = client
        .get(app.url("/alerts/events"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let got = next_alert(&mut third, &mut buf).await;
    assert_eq!(got["id"], second["id"]);
    assert_eq!(got["takes_over"], true, "a real Severe alert takes the whole screen");

    // Someone in another district hears nothing of district 1's alerts; anonymous needs an area.
    let anon = client.get(app.url("/alerts/events")).send().await.unwrap();
    assert_eq!(anon.status(), StatusCode::SEE_OTHER);
    let mut public = client.get(app.url("/alerts/events?area=13999-1")).send().await.unwrap();
    let mut buf = String::new();
    assert!(next_alert(&mut public, &mut buf).await["id"].is_string());
}

/// A form posted by the holder of `cookie` (the one browser-like client of `common`).
async fn form_post(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Page {
    crate::common::form(app, cookie, path, fields).await
}

#[tokio::test]
async fn staff_compose_a_drill_and_the_report_fills_officers_see_their_silent_households() {
    let app = spawn_demo_app().await;
    let bousai = session_cookie(&app, "bousai").await;
    let (s, form) = page(&app, &bousai, "/alerts/new").await;
    assert_eq!(s, StatusCode::OK);
    assert!(form.contains("name=\"areas\""));
    // A mistake first: no area chosen.
    let res = assert_unchanged!(
        app.snapshot().await,
        form_post(
            &app,
            &bousai,
            "/alerts/new",
            &[
                ("status", "Exercise"),
                ("headline", "受信訓練"),
                ("category", "Geo"),
                ("urgency", "Immediate"),
                ("severity", "Severe"),
                ("certainty", "Observed"),
                ("expires_hours", "6"),
            ],
        )
        .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "alerts-target-missing");
    assert!(res.body.clone().contains("対象の地域を1つ以上選ぶか"));

    let res = assert_unchanged!(
        app.snapshot().await,
        form_post(
            &app,
            &bousai,
            "/alerts/new",
            &[
                ("status", "Exercise"),
                ("headline", "受信訓練"),
                ("category", "Geo"),
                ("urgency", "Immediate"),
                ("severity", "Severe"),
                ("certainty", "Observed"),
                ("areas", "13999-9-99"),
                ("expires_hours", "6"),
            ],
        )
        .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "area-unknown");
    assert!(res.body.contains("地域 13999-9-99 はこのまちにありません"));

    let res = form_post(
        &app,
        &bousai,
        "/alerts/new",
        &[
            ("status", "Exercise"),
            ("headline", "受信訓練:震度5強"),
            ("instruction", "「確認しました」を押してください"),
            ("category", "Geo"),
            ("urgency", "Immediate"),
            ("severity", "Severe"),
            ("certainty", "Observed"),
            ("areas", "13999-1"),
            ("areas", "13999-2-01"),
            ("expires_hours", "6"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let report_path = res.headers["location"].to_str().unwrap().to_string();
    let alert_id = report_path
        .trim_start_matches("/alerts/")
        .trim_end_matches("/report")
        .to_string();
    let stored = alerts::store::require(&app.kernel.db, &alert_id).await.unwrap();
    assert_eq!(
        (stored.status.as_str(), stored.msg_type.as_str()),
        ("Exercise", "Alert")
    );
    assert_eq!(
        alerts::store::area_codes(&app.kernel.db, &alert_id)
            .await
            .unwrap()
            .len(),
        4
    );
    // The composed CAP is valid CAP that parses back.
    let xml = alerts::store::cap_xml(&app.kernel.db, &alert_id).await.unwrap();
    assert!(alerts::model::cap::parse(&xml).is_ok());

    // tanaka (district 1) acknowledges from the terminal.
    let tanaka = session_cookie(&app, "tanaka").await;
    let res = form_post(
        &app,
        &tanaka,
        &format!("/alerts/{alert_id}/ack"),
        &[("back", "/terminal"), ("channel", "terminal")],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    let (s, report) = page(&app, &bousai, &report_path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(report.contains("id=\"report-acknowledged\">1<"), "{report}");
    assert!(report.contains("<svg"), "the curve is drawn");
    // City staff may read the town's people, so they see every area's silent households.
    assert!(report.contains("id=\"silent-households\""));
    assert!(report.contains("本町一丁目"));

    // The officer of district 1 sees district 1 only, with the households still silent there.
    let kaicho = session_cookie(&app, "kaicho").await;
    let (s, report) = page(&app, &kaicho, &report_path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(report.contains("id=\"silent-households\""), "{report}");
    assert!(
        !report.contains("本町一丁目"),
        "an area of another district is not shown"
    );
    let tanaka_household = kernel::store::people::household_of(
        &app.kernel.db,
        &kernel::store::accounts::person_by_login(&app.kernel.db, "tanaka")
            .await
            .unwrap()
            .unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let hh = kernel::store::households::require(&app.kernel.db, &tanaka_household)
        .await
        .unwrap();
    let silent = report
        .split("id=\"silent-households\"")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap();
    assert!(
        !silent.contains(&hh.name) || hh.name.is_empty(),
        "tanaka's household acknowledged"
    );

    // Residents see nothing of others.
    assert_refused(
        &page(&app, &tanaka, &report_path).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_refused(
        &page(&app, &tanaka, "/alerts/new").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[tokio::test]
async fn alerts_go_out_by_email_to_those_who_agreed() {
    let sink = server::testing::SmtpSink::start(std::time::Duration::ZERO).await;
    let config = kernel::config::Config {
        smtp: Some(sink.config()),
        ..Default::default()
    };
    let app = server::testing::spawn_app_with(config, true).await;
    let bousai = app.token_for("bousai").await;
    let (s, _, body) = post_cap(&app, &bousai, &cap("mail-1", "Exercise", "Alert", None, DISTRICT_1)).await;
    assert_eq!(s, StatusCode::CREATED);
    let id = body["id"].as_str().unwrap().to_string();
    let expected = alerts::store::email_recipients(&app.kernel.db, &id)
        .await
        .unwrap()
        .len();
    assert!(expected > 0, "the demo town has residents with e-mail in district 1");
    wait_for(async || sink.count() >= expected, "every e-mail").await;
    let source = format!("alert:{id}");
    wait_for(
        async || {
            let counts = kernel::store::outbox::counts(&app.kernel.db, &source).await.unwrap();
            counts
                .into_iter()
                .filter(|(channel, ..)| channel == "email")
                .collect::<Vec<_>>()
                == vec![("email".to_string(), "sent".to_string(), expected as i64)]
        },
        "the outbox to record every e-mail sent",
    )
    .await;
    let ids = sink.message_ids();
    assert_eq!(ids.len(), expected);
    assert_eq!(
        ids.iter().collect::<std::collections::HashSet<_>>().len(),
        expected,
        "no duplicates"
    );
    // The report shows the delivery progress per channel.
    let staff = session_cookie(&app, "bousai").await;
    let (_, report) = page(&app, &staff, &format!("/alerts/{id}/report")).await;
    let table = report.split("id=\"deliveries\"").nth(1).expect("a deliveries table");
    assert!(table.contains("email") && table.contains("送信済み"), "{table}");
    // …and pushes it live (SSE) to the dashboard; residents cannot watch it.
    let client = reqwest::Client::new();
    let mut live = client
        .get(app.url(&format!("/alerts/{id}/progress")))
        .header("Cookie", &staff)
        .send()
        .await
        .unwrap();
    assert!(
        live.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), live.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.contains("event: progress") && text.contains("\"state\":\"sent\""),
        "{text}"
    );
    let resident = session_cookie(&app, "tanaka").await;
    let res = client
        .get(app.url(&format!("/alerts/{id}/progress")))
        .header("Cookie", &resident)
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
    let first = sink.messages.lock().unwrap()[0].clone();
    assert!(first.contains("Subject:"), "{first}");
    // A resident who withdraws e-mail consent is not written to next time.
    let (_, _, second) = post_cap(&app, &bousai, &cap("mail-2", "Test", "Alert", None, DISTRICT_1)).await;
    assert!(
        kernel::store::outbox::counts(&app.kernel.db, &format!("alert:{}", second["id"].as_str().unwrap()))
            .await
            .unwrap()
            .is_empty(),
        "tests of the system are not mailed"
    );
}

#[tokio::test]
async fn the_outbox_survives_a_dead_sender_and_a_dead_smtp_server() {
    use kernel::store::outbox::{NewDelivery, enqueue};
    let app = spawn_demo_app().await;
    let deliveries: Vec<NewDelivery> = (0..60)
        .map(|i| NewDelivery {
            channel: "email".into(),
            source: "test:restart".into(),
            person_id: None,
            address: if i == 7 {
                "reject-me@example.jp".into()
            } else {
                format!("r{i}@example.jp")
            },
            subject: "試験".into(),
            body: "本文".into(),
            dedupe_key: format!("test:{i}"),
        })
        .collect();
    assert_eq!(enqueue(&app.kernel, &deliveries).await.unwrap(), 60);
    assert_eq!(
        enqueue(&app.kernel, &deliveries).await.unwrap(),
        0,
        "enqueueing again adds nothing"
    );

    // The SMTP server is down: deliveries wait and record why.
    let mut down = (*app.kernel.config).clone();
    down.smtp = Some(kernel::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port: 1,
        from: "a@example.jp".into(),
        username: None,
        password: None,
        connections: 2,
    });
    let mut k_down = app.kernel.clone();
    k_down.config = std::sync::Arc::new(down);
    let worker = server::channels::email::spawn(k_down).unwrap();
    wait_for(
        async || {
            !kernel::store::outbox::failures(&app.kernel.db, "test:restart", 100)
                .await
                .unwrap()
                .is_empty()
        },
        "a recorded connection failure",
    )
    .await;
    worker.abort();
    let counts = kernel::store::outbox::counts(&app.kernel.db, "test:restart")
        .await
        .unwrap();
    assert!(counts.iter().all(|(_, state, _)| state != "sent"), "{counts:?}");
    // The dashboard says the relay cannot be reached.
    let bousai = app.token_for("bousai").await;
    let (_, _, posted) = post_cap(&app, &bousai, &cap("down-1", "Test", "Alert", None, DISTRICT_1)).await;
    let report: Value = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/alerts/{}/report", posted["id"].as_str().unwrap())))
        .bearer_auth(&bousai)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(report["unreachable"], serde_json::json!(["email"]), "{report}");

    // A slow server; the sender dies part-way through.
    let sink = server::testing::SmtpSink::start(std::time::Duration::from_millis(30)).await;
    let mut up = (*app.kernel.config).clone();
    up.smtp = Some(sink.config());
    let mut k_up = app.kernel.clone();
    k_up.config = std::sync::Arc::new(up);
    app.clock.advance(10 * 60 * 1000); // past the backoff
    let worker = server::channels::email::spawn(k_up.clone()).unwrap();
    wait_for(async || sink.count() >= 10, "some e-mail").await;
    worker.abort();
    let before_restart = sink.count();
    assert!(before_restart < 59, "the sender died part-way ({before_restart} sent)");

    // Started again (after the dead sender's lease ran out), everything arrives exactly once
    // per Message-ID; the rejected address is failed for good with the server's reason.
    app.clock.advance(10 * 60 * 1000);
    let worker = server::channels::email::spawn(k_up).unwrap();
    wait_for(
        async || {
            let c = kernel::store::outbox::counts(&app.kernel.db, "test:restart")
                .await
                .unwrap();
            c.iter().any(|(_, s, n)| s == "sent" && *n == 59) && c.iter().any(|(_, s, n)| s == "failed" && *n == 1)
        },
        "59 sent and 1 failed",
    )
    .await;
    worker.abort();
    assert!(app.kernel.health.is_reachable("email") && app.kernel.health.down().is_empty());
    let ids = sink.message_ids();
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 59, "every recipient got it");
    let failed = kernel::store::outbox::failures(&app.kernel.db, "test:restart", 100)
        .await
        .unwrap();
    let rejected = failed.iter().find(|d| d.state == "failed").unwrap();
    assert_eq!(rejected.address, "reject-me@example.jp");
    assert!(
        rejected.last_error.as_deref().unwrap().contains("550"),
        "{:?}",
        rejected.last_error
    );
}

#[tokio::test]
async fn atom_feeds_per_area_and_of_cap_documents() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    post_cap(&app, &bousai, &cap("feed-1", "Exercise", "Alert", None, DISTRICT_1)).await;
    post_cap(
        &app,
        &bousai,
        &cap(
            "feed-2",
            "Actual",
            "Alert",
            None,
            "<geocode><valueName>x</valueName><value>13999-3</value></geocode>",
        ),
    )
    .await;
    let res = reqwest::get(app.url("/api/v1/areas/13999-1-01/alerts.atom"))
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/atom+xml")
    );
    let feed = res.text().await.unwrap();
    assert!(feed.contains("<feed xmlns=\"http://www.w3.org/2005/Atom\">"));
    assert!(feed.contains("【訓練】震度5強の地震が発生しました"), "{feed}");
    assert_eq!(feed.matches("<entry>").count(), 1, "only alerts that reached the area");
    let all = reqwest::get(app.url("/api/v1/alerts/cap.atom"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(all.matches("<entry>").count(), 2);
    assert!(all.contains("type=\"application/cap+xml\""));
    let res = crate::common::read(
        reqwest::get(app.url("/api/v1/areas/nowhere/alerts.atom"))
            .await
            .unwrap(),
    )
    .await;
    assert_refused(&res, StatusCode::NOT_FOUND, "area-not-found");
}

#[tokio::test]
async fn two_nodes_share_the_database_and_fan_out_through_postgres() {
    let app = spawn_demo_app().await;
    let (peer, peer_kernel) = server::testing::spawn_peer(&app).await;
    if app.kernel.db.backend() == "sqlite" {
        // One node per SQLite file: nothing is relayed.
        assert!(server::fanout::spawn(&peer_kernel).is_empty());
        return;
    }
    // A terminal connected to the second node…
    let cookie = session_cookie(&app, "tanaka").await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut stream = client
        .get(format!("http://{peer}/alerts/events"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    // Wait until the second node listens: a probe published on the first must arrive there.
    let mut probe_rx = peer_kernel.hub.subscribe();
    let mut listening = false;
    for i in 0..100 {
        let probe = kernel::events::Event {
            kind: "probe".into(),
            id: format!("probe-{i}"),
            area_ids: vec!["nowhere".into()],
            person_ids: Vec::new(),
            data: Value::Null,
        };
        app.kernel.hub.publish(probe);
        if let Ok(Ok(ev)) = tokio::time::timeout(std::time::Duration::from_millis(100), probe_rx.recv()).await
            && ev.kind == "probe"
        {
            listening = true;
            break;
        }
    }
    assert!(listening, "the second node never heard from the first");
    // …receives an alert published through the first.
    let bousai = app.token_for("bousai").await;
    let (s, _, posted) = post_cap(&app, &bousai, &cap("two-nodes-1", "Actual", "Alert", None, DISTRICT_1)).await;
    assert_eq!(s, StatusCode::CREATED);
    let mut buf = String::new();
    let got = next_alert(&mut stream, &mut buf).await;
    assert_eq!(got["id"], posted["id"]);

    // Both nodes work the outbox; nothing is claimed twice.
    use kernel::store::outbox::{NewDelivery, claim, enqueue};
    let batch: Vec<NewDelivery> = (0..40)
        .map(|i| NewDelivery {
            channel: "email".into(),
            source: "test:two".into(),
            person_id: None,
            address: format!("n{i}@example.jp"),
            subject: "s".into(),
            body: "b".into(),
            dedupe_key: format!("two:{i}"),
        })
        .collect();
    enqueue(&app.kernel, &batch).await.unwrap();
    let (a, b) = tokio::join!(
        claim(&app.kernel, "email", 30, 60_000),
        claim(&peer_kernel, "email", 30, 60_000)
    );
    // A node that lost the race for some rows gets fewer this round and the rest next round.
    let mut ids: Vec<String> = a.unwrap().into_iter().chain(b.unwrap()).map(|d| d.id).collect();
    loop {
        let (a, b) = tokio::join!(
            claim(&app.kernel, "email", 30, 60_000),
            claim(&peer_kernel, "email", 30, 60_000)
        );
        let round: Vec<String> = a.unwrap().into_iter().chain(b.unwrap()).map(|d| d.id).collect();
        if round.is_empty() {
            break;
        }
        ids.extend(round);
    }
    let total = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), total, "a delivery was claimed by both nodes");
    assert!(
        total >= 40,
        "everything due was claimed by one node or the other: {total}"
    );
}

#[tokio::test]
async fn devices_get_alerts_over_mqtt_and_acknowledge_back() {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let broker = crate::common::broker();
    let config = crate::common::mqtt_config("machi-test");
    let app = server::testing::spawn_app_with(config, true).await;
    // A device of our own, listening like tanaka's terminal and the district's displays do.
    let run = app.kernel.new_id();
    let (device, mut events) = AsyncClient::new(MqttOptions::new(format!("device-{run}"), broker.0, broker.1), 64);
    device.subscribe("machi/#", QoS::AtLeastOnce).await.unwrap();
    let mut seen = Vec::new();
    let mut subscribed = false;
    while !subscribed {
        if let Event::Incoming(Packet::SubAck(_)) = events.poll().await.unwrap() {
            subscribed = true;
        }
    }
    // The machi node must be connected before the alert goes out, or it just waits in the outbox.
    wait_for(
        async || app.kernel.health.is_reachable(server::channels::mqtt::CHANNEL),
        "machi's MQTT connection",
    )
    .await;

    let bousai = app.token_for("bousai").await;
    let identifier = format!("mqtt-{run}");
    let (s, _, posted) = post_cap(&app, &bousai, &cap(&identifier, "Exercise", "Alert", None, DISTRICT_1)).await;
    assert_eq!(s, StatusCode::CREATED);
    let alert_id = posted["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    while !(seen.iter().any(|t: &String| t == "machi/devices/terminal-0001")
        && seen.iter().any(|t| t == "machi/alerts/13999-1-01"))
    {
        let ev = tokio::time::timeout_at(deadline, events.poll())
            .await
            .expect("MQTT messages within 15 s")
            .unwrap();
        if let Event::Incoming(Packet::Publish(p)) = ev {
            let body: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
            if body["id"] == alert_id {
                assert_eq!(body["drill"], true);
                seen.push(p.topic.clone());
            }
        }
    }
    // tanaka's terminal presses 「確認しました」: the acknowledgement comes back over MQTT.
    device
        .publish(
            "machi/acks/terminal-0001",
            QoS::AtLeastOnce,
            false,
            alert_id.clone().into_bytes(),
        )
        .await
        .unwrap();
    let tanaka = kernel::store::accounts::person_by_login(&app.kernel.db, "tanaka")
        .await
        .unwrap()
        .unwrap();
    let pump = tokio::spawn(async move { while events.poll().await.is_ok() {} });
    wait_for(
        async || {
            alerts::store::acknowledged_by(&app.kernel.db, &tanaka)
                .await
                .unwrap()
                .contains(&alert_id)
        },
        "the device's acknowledgement",
    )
    .await;
    wait_for(
        async || {
            let counts = kernel::store::outbox::counts(&app.kernel.db, &format!("alert:{alert_id}"))
                .await
                .unwrap();
            counts
                .iter()
                .filter(|(c, ..)| c == "mqtt")
                .all(|(_, state, _)| state == "sent")
        },
        "every MQTT delivery acknowledged by the broker",
    )
    .await;
    pump.abort();
}

#[tokio::test]
async fn devices_may_acknowledge_over_http_with_their_token() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let (_, _, posted) = post_cap(&app, &bousai, &cap("http-ack-1", "Exercise", "Alert", None, DISTRICT_1)).await;
    let id = posted["id"].as_str().unwrap();
    let device_token = app.token_for("tanaka").await;
    let client = reqwest::Client::new();
    let res = client
        .post(app.url(&format!("/api/v1/alerts/{id}/ack")))
        .bearer_auth(&device_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let tanaka = kernel::store::accounts::person_by_login(&app.kernel.db, "tanaka")
        .await
        .unwrap()
        .unwrap();
    assert!(
        alerts::store::acknowledged_by(&app.kernel.db, &tanaka)
            .await
            .unwrap()
            .contains(&id.to_string())
    );
    let res = client
        .post(app.url(&format!("/api/v1/alerts/{id}/ack")))
        .bearer_auth("machi_nope")
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::UNAUTHORIZED, "token-invalid");
    let res = client
        .post(app.url("/api/v1/alerts/nope/ack"))
        .bearer_auth(&device_token)
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::NOT_FOUND, "alert-not-found");
}

#[tokio::test]
async fn ordinary_notices_are_limited_per_day_and_wait_behind_emergencies() {
    let config = kernel::config::Config {
        notices_per_day: 2,
        ..Default::default()
    };
    let app = server::testing::spawn_app_with(config, true).await;
    let bousai = app.token_for("bousai").await;
    let notice = |n: &str| {
        cap(n, "Actual", "Alert", None, DISTRICT_1)
            .replace("<severity>Severe</severity>", "<severity>Minor</severity>")
            .replace("<urgency>Immediate</urgency>", "<urgency>Future</urgency>")
            .replace("震度5強の地震が発生しました", "町内清掃のお知らせ")
    };
    let mut mailed = Vec::new();
    for n in ["notice-1", "notice-2", "notice-3"] {
        let (s, _, body) = post_cap(&app, &bousai, &notice(n)).await;
        assert_eq!(s, StatusCode::CREATED);
        let counts = kernel::store::outbox::counts(&app.kernel.db, &format!("alert:{}", body["id"].as_str().unwrap()))
            .await
            .unwrap();
        mailed.push(
            counts
                .iter()
                .filter(|(c, ..)| c == "email")
                .map(|(_, _, n)| *n)
                .sum::<i64>(),
        );
    }
    assert!(mailed[0] > 0);
    assert_eq!(mailed[0], mailed[1]);
    assert_eq!(mailed[2], 0, "a third notice the same day is not e-mailed: {mailed:?}");
    // An emergency is never limited.
    let (_, _, quake) = post_cap(
        &app,
        &bousai,
        &cap("quake-after-notices", "Actual", "Alert", None, DISTRICT_1),
    )
    .await;
    let counts = kernel::store::outbox::counts(&app.kernel.db, &format!("alert:{}", quake["id"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(
        counts
            .iter()
            .filter(|(c, ..)| c == "email")
            .map(|(_, _, n)| *n)
            .sum::<i64>(),
        mailed[0]
    );

    // A terminal connecting now sees the emergency, and no notice while it is in force.
    let cookie = session_cookie(&app, "tanaka").await;
    let client = reqwest::Client::new();
    let mut stream = client
        .get(app.url("/alerts/events"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let first = next_alert(&mut stream, &mut buf).await;
    assert_eq!(first["id"], quake["id"]);
    assert_eq!(first["takes_over"], true);
    let more = tokio::time::timeout(std::time::Duration::from_millis(500), next_alert(&mut stream, &mut buf)).await;
    assert!(more.is_err(), "ordinary notices are withheld: {more:?}");
}

/// `cap()` with `<parameter>`s naming groups, in schema order (before `<area>`).
fn cap_for_groups(identifier: &str, area: &str, groups: &[&str]) -> String {
    let params: String = groups
        .iter()
        .map(|g| format!("<parameter><valueName>machi-group</valueName><value>{g}</value></parameter>\n    "))
        .collect();
    cap(identifier, "Exercise", "Alert", None, area).replacen("<area>", &format!("{params}<area>"), 1)
}

#[tokio::test]
async fn groups_limit_an_alert_to_people_needing_support_or_an_associations_members() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let db = &app.kernel.db;

    // Everyone in district 1, then only its 要支援者.
    let (_, _, all) = post_cap(&app, &bousai, &cap("g-all", "Exercise", "Alert", None, DISTRICT_1)).await;
    let (s, _, some) = post_cap(
        &app,
        &bousai,
        &cap_for_groups("g-support", DISTRICT_1, &["needs-support"]),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{some}");
    assert_eq!(some["groups"], serde_json::json!(["needs-support"]));
    let district = kernel::store::areas::get(db, "13999-1").await.unwrap().unwrap();
    let mut needing = 0;
    for leaf in alerts::store::leaves_below(db, &district.id).await.unwrap() {
        needing += kernel::store::people::list(db, Some(&leaf), None, 100_000)
            .await
            .unwrap()
            .iter()
            .filter(|p| p.needs_support)
            .count() as i64;
    }
    assert!(needing > 0, "the demo has 要支援者 in district 1");
    assert_eq!(some["targeted_people"], needing);
    assert!(all["targeted_people"].as_i64().unwrap() > needing);
    let some_id = some["id"].as_str().unwrap();
    for (person, _) in alerts::store::email_recipients(db, some_id).await.unwrap() {
        let p = kernel::store::people::get(db, &person).await.unwrap().unwrap();
        assert!(p.needs_support, "only 要支援者 are mailed");
    }
    // tanaka (要支援者) has a device; the shop owner next door has none and is not reached.
    let devices = alerts::store::device_recipients(db, some_id).await.unwrap();
    assert!(devices.iter().any(|(_, d)| d == "bulb-0001"), "{devices:?}");

    // Screens: tanaka's terminal shows it; the shop owner's (same 町丁目, not 要支援者) does not,
    // while a public screen of the area shows it to all.
    let client = reqwest::Client::new();
    let stream_for = async |login: &str| {
        let cookie = session_cookie(&app, login).await;
        client
            .get(app.url("/alerts/events"))
            .header("Cookie", cookie)
            .header("Last-Event-ID", some_id)
            .send()
            .await
            .unwrap()
    };
    let mut tanaka = stream_for("tanaka").await;
    let mut shop = stream_for("shop").await;
    let mut public = client
        .get(app.url("/alerts/events?area=13999-1"))
        .header("Last-Event-ID", some_id)
        .send()
        .await
        .unwrap();
    let (_, _, live) = post_cap(&app, &bousai, &cap_for_groups("g-live", DISTRICT_1, &["needs-support"])).await;
    let (_, _, after) = post_cap(&app, &bousai, &cap("g-after", "Exercise", "Alert", None, DISTRICT_1)).await;
    let (mut b1, mut b2, mut b3) = (String::new(), String::new(), String::new());
    assert_eq!(next_alert(&mut tanaka, &mut b1).await["id"], live["id"]);
    assert_eq!(next_alert(&mut public, &mut b3).await["id"], live["id"]);
    assert_eq!(
        next_alert(&mut shop, &mut b2).await["id"],
        after["id"],
        "the shop owner's screen skipped the alert meant for 要支援者"
    );

    // An association's members, wherever in the town they live.
    let assoc = kernel::store::orgs::list(db)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.kind.as_str() == "association")
        .unwrap();
    let members: std::collections::HashSet<String> = kernel::store::orgs::members_of(db, &assoc.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.person_id)
        .collect();
    let town = "<geocode><valueName>machi-area</valueName><value>13999</value></geocode>";
    let group = format!("association:{}", assoc.id);
    let (s, _, body) = post_cap(&app, &bousai, &cap_for_groups("g-assoc", town, &[&group])).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["targeted_people"], members.len() as i64);

    // Unknown groups and unknown areas of the town's own code list are refused, naming them.
    for (id, area, groups, named, code) in [
        (
            "g-bad-1",
            DISTRICT_1,
            vec!["children"],
            "children",
            "alerts-group-unknown",
        ),
        (
            "g-bad-2",
            DISTRICT_1,
            vec!["association:no-such-org"],
            "association:no-such-org",
            "alerts-group-unknown",
        ),
        (
            "g-bad-3",
            "<geocode><valueName>machi-area</valueName><value>13999-9</value></geocode>",
            vec![],
            "13999-9",
            "area-unknown",
        ),
    ] {
        let (s, _, body) = assert_unchanged!(
            alert_rows(&app).await,
            post_cap(&app, &bousai, &cap_for_groups(id, area, &groups)).await
        );
        assert_refused(&(s, &body), StatusCode::BAD_REQUEST, code);
        assert!(body["error"]["message"].as_str().unwrap().contains(named), "{body}");
    }
    // A group given to a department (not an association) is no group either.
    let dept = kernel::store::orgs::list(db)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.kind.as_str() == "department")
        .unwrap();
    let (s, _, body) = assert_unchanged!(
        alert_rows(&app).await,
        post_cap(
            &app,
            &bousai,
            &cap_for_groups("g-bad-4", DISTRICT_1, &[&format!("association:{}", dept.id)]),
        )
        .await
    );
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "alerts-group-unknown");
}

#[tokio::test]
async fn the_report_counts_delivered_per_area_and_channel_in_the_browser_and_the_api() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let (_, _, posted) = post_cap(&app, &bousai, &cap("rep-1", "Exercise", "Alert", None, DISTRICT_1)).await;
    let id = posted["id"].as_str().unwrap();
    // tanaka's terminal showed it (the page script reports this), then tanaka acknowledged.
    let tanaka = session_cookie(&app, "tanaka").await;
    let res = form_post(&app, &tanaka, &format!("/alerts/{id}/seen"), &[("channel", "terminal")]).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let res = form_post(&app, &tanaka, &format!("/alerts/{id}/seen"), &[("channel", "terminal")]).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT, "twice counts once");
    let res = form_post(&app, &tanaka, &format!("/alerts/{id}/ack"), &[("channel", "terminal")]).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    let tanaka_area = kernel::store::people::get(&app.kernel.db, &app.person_of("tanaka").await)
        .await
        .unwrap()
        .unwrap()
        .area_id
        .unwrap();

    let client = reqwest::Client::new();
    let report: Value = client
        .get(app.url(&format!("/api/v1/alerts/{id}/report")))
        .bearer_auth(&bousai)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let row = report["area_channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["area_id"] == tanaka_area.as_str() && r["channel"] == "terminal")
        .unwrap_or_else(|| panic!("a terminal row for tanaka's area: {report}"));
    assert_eq!(
        (row["delivered"].as_i64(), row["acknowledged"].as_i64()),
        (Some(1), Some(1))
    );
    assert!(row["queued"].is_null(), "screens have no count to deliver");
    assert_eq!(report["acknowledged"], 1);

    // The page shows the same table.
    let staff = session_cookie(&app, "bousai").await;
    let (_, html) = page(&app, &staff, &format!("/alerts/{id}/report")).await;
    let table = html
        .split("id=\"report-area-channels\"")
        .nth(1)
        .expect("the area × channel table");
    let row = table
        .split(&format!("data-area=\"{tanaka_area}\" data-channel=\"terminal\""))
        .nth(1)
        .expect("tanaka's area, terminal");
    assert!(
        row.split("</tr>")
            .next()
            .unwrap()
            .contains("<td class=\"delivered\">1</td>"),
        "{row}"
    );

    // The district's officer sees their own area's silent households over the API; residents see nothing.
    let kaicho = app.token_for("kaicho").await;
    let own: Value = client
        .get(app.url(&format!("/api/v1/alerts/{id}/report")))
        .bearer_auth(&kaicho)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!own["silent"].as_array().unwrap().is_empty(), "{own}");
    assert!(own["failures"].as_array().unwrap().is_empty());
    let res = client
        .get(app.url(&format!("/api/v1/alerts/{id}/report")))
        .bearer_auth(app.token_for("sato").await)
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
    let res = client
        .get(app.url(&format!("/api/v1/alerts/{id}/report")))
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn staff_limit_a_composed_alert_to_people_needing_support() {
    let app = spawn_demo_app().await;
    let bousai = session_cookie(&app, "bousai").await;
    let (_, form) = page(&app, &bousai, "/alerts/new").await;
    assert!(
        form.contains("name=\"groups\" value=\"needs-support\""),
        "the form offers groups"
    );
    assert!(form.contains("value=\"association:"), "and the associations");
    let fields = [
        ("headline", "要支援者の方は避難を始めてください"),
        ("category", "Met"),
        ("urgency", "Expected"),
        ("severity", "Severe"),
        ("certainty", "Likely"),
        ("status", "Exercise"),
        ("areas", "13999-1"),
        ("groups", "needs-support"),
        ("expires_hours", "6"),
    ];
    let res = form_post(&app, &bousai, "/alerts/new", &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let report = res.headers["location"].to_str().unwrap().to_string();
    let (_, html) = page(&app, &bousai, &report).await;
    assert!(html.contains("id=\"report-groups\""), "the report says who it was for");
    let id = report.trim_start_matches("/alerts/").trim_end_matches("/report");
    let alert = alerts::store::require(&app.kernel.db, id).await.unwrap();
    let xml = alerts::store::cap_xml(&app.kernel.db, id).await.unwrap();
    assert!(xml.contains("<valueName>machi-group</valueName>"), "{xml}");
    assert!(alert.targeted_people > 0);

    let mut bad = fields.to_vec();
    bad.retain(|(k, _)| *k != "groups");
    bad.push(("groups", "children"));
    let res = assert_unchanged!(
        app.snapshot().await,
        form_post(&app, &bousai, "/alerts/new", &bad).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "alerts-group-unknown");
    assert!(res.body.clone().contains("children"));
}

// ---- issue 20: alerts in force stay, drills never hide a real alert, staff end and confirm alerts ----

/// A real 避難指示 for district 1, with who issued it.
fn evacuation_cap(identifier: &str, status: &str, headline: &str, severity: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>bousai@city.midori.example.jp</sender>
  <sent>2026-12-08T09:00:00+09:00</sent>
  <status>{status}</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>ja-JP</language>
    <category>Met</category>
    <event>大雨</event>
    <urgency>Immediate</urgency>
    <severity>{severity}</severity>
    <certainty>Observed</certainty>
    <senderName>みどり市 危機管理課</senderName>
    <headline>{headline}</headline>
    <description>みどり川が氾濫するおそれがあります。</description>
    <instruction>みどり小学校へ避難してください。</instruction>
    <area><areaDesc>北みどり地区</areaDesc>{DISTRICT_1}</area>
  </info>
</alert>"#
    )
}

/// Screens' receipts of an alert on a channel (the report's "delivered").
async fn receipts(app: &TestApp, alert: &str, channel: &str) -> i64 {
    alerts::store::deliveries_by_area(&app.kernel.db, alert)
        .await
        .unwrap()
        .iter()
        .filter(|d| d.1 == channel)
        .map(|d| d.3)
        .sum()
}

/// The part of a page between two markers (the banner, the terminal's panel).
fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in the page: {html}"));
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[tokio::test]
async fn an_acknowledged_alert_stays_on_every_page_and_a_drill_never_hides_it() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let tanaka = session_cookie(&app, "tanaka").await;
    let (_, calm) = page(&app, &tanaka, "/terminal").await;
    assert!(calm.contains("いま、緊急のお知らせはありません。"));

    let (s, _, real) = post_cap(
        &app,
        &bousai,
        &evacuation_cap("evac-1", "Actual", "避難指示:みどり町一丁目", "Extreme"),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let real_id = real["id"].as_str().unwrap().to_string();
    let issued = kernel::web::render::human_time(kernel::i18n::Lang::Ja, real["sent_ms"].as_i64().unwrap());
    assert!(issued.contains("12月8日(火)"), "{issued}");

    // A drill sent after it.
    let (_, _, drill) = post_cap(
        &app,
        &bousai,
        &evacuation_cap("drill-1", "Exercise", "受信訓練:大雨", "Severe"),
    )
    .await;
    let drill_id = drill["id"].as_str().unwrap().to_string();

    // The terminal's interruption shows the real one; the drill waits behind it and is not
    // credited as shown there (the banner lists both, so both count on the web).
    for (id, channel) in [(&drill_id, "terminal"), (&real_id, "terminal"), (&drill_id, "web")] {
        let res = form_post(&app, &tanaka, &format!("/alerts/{id}/seen"), &[("channel", channel)]).await;
        assert_eq!(res.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        receipts(&app, &drill_id, "terminal").await,
        0,
        "queued behind the 避難指示"
    );
    assert_eq!(receipts(&app, &real_id, "terminal").await, 1);
    assert_eq!(receipts(&app, &drill_id, "web").await, 1);

    // 確認しました on the terminal.
    let res = form_post(
        &app,
        &tanaka,
        &format!("/alerts/{real_id}/ack"),
        &[("back", "/terminal"), ("channel", "terminal")],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    // The terminal's panel still shows the 避難指示: headline, what to do, when, by whom, 確認済み.
    let (_, terminal) = page(&app, &tanaka, "/terminal").await;
    assert!(!terminal.contains(">いま、緊急のお知らせはありません。<"), "{terminal}");
    let panel = between(&terminal, "id=\"alerts-in-force\"", "id=\"terminal-notice\"");
    let real_item = between(panel, &format!("data-alert=\"{real_id}\""), "</li>");
    for words in [
        "緊急情報",
        "避難指示:みどり町一丁目",
        "みどり小学校へ避難してください。",
        issued.as_str(),
        "みどり市 危機管理課",
        "確認済み",
    ] {
        assert!(real_item.contains(words), "{words} in {real_item}");
    }
    // Real first, the drill after it, marked 【訓練】 and not yet acknowledged.
    assert!(panel.find(&real_id).unwrap() < panel.find(&drill_id).unwrap());
    let drill_item = between(panel, &format!("data-alert=\"{drill_id}\""), "</li>");
    assert!(
        panel.contains(&format!("class=\"alert-item drill\" data-alert=\"{drill_id}\"")),
        "{panel}"
    );
    assert!(drill_item.contains("【訓練】") && !drill_item.contains("確認済み"));
    // Now the drill has the terminal's screen, and counts.
    form_post(
        &app,
        &tanaka,
        &format!("/alerts/{drill_id}/seen"),
        &[("channel", "terminal")],
    )
    .await;
    assert_eq!(receipts(&app, &drill_id, "terminal").await, 1);

    // Every page: the banner lists both, real first, drill last and marked, without JavaScript.
    let (_, me) = page(&app, &tanaka, "/me").await;
    let banner = between(&me, "id=\"alert-banner\"", "</ul>");
    assert!(!banner.contains(" hidden"), "{banner}");
    assert!(banner.find("避難指示:みどり町一丁目").unwrap() < banner.find("受信訓練:大雨").unwrap());
    assert!(banner.contains("【訓練】") && banner.contains("確認済み") && banner.contains(issued.as_str()));
    assert!(banner.contains("みどり小学校へ避難してください。"));
    // The same, as the fragment the page swaps in live, and in English.
    let (s, fragment) = page(&app, &tanaka, "/alerts/in-force?view=banner&back=/me").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        fragment.contains("避難指示:みどり町一丁目") && fragment.contains("name=\"back\" value=\"&#x2f;me\""),
        "{fragment}"
    );
    let res = reqwest::Client::new()
        .get(app.url("/alerts/in-force?view=terminal"))
        .header("Cookie", format!("{tanaka}; machi_lang=en"))
        .send()
        .await
        .unwrap();
    let en = res.text().await.unwrap();
    assert!(
        en.contains("Acknowledged") && en.contains("Issued ") && en.contains("by みどり市 危機管理課"),
        "{en}"
    );
    // Through the API too: still in force for her area.
    let (_, list) = crate::common::get(&app, &bousai, "/areas/13999-1/alerts").await;
    assert!(list.as_array().unwrap().iter().any(|a| a["id"] == real_id.as_str()));
    // Someone in another district sees neither.
    let sato = session_cookie(&app, "sato").await;
    let (_, other) = page(&app, &sato, "/me").await;
    assert!(!other.contains("避難指示:みどり町一丁目"));
}

/// A real 避難指示 and a drill, published by bousai; tanaka is a resident of their area.
struct Ended {
    app: TestApp,
    bousai: String,
    tanaka: String,
    real_id: String,
    drill_id: String,
}

#[tokio::test]
async fn staff_list_alerts_and_lift_or_cancel_them_from_the_web_to_the_same_people() {
    let app = spawn_demo_app().await;
    let token = app.token_for("bousai").await;
    let (_, _, real) = post_cap(
        &app,
        &token,
        &evacuation_cap("evac-2", "Actual", "避難指示:みどり町一丁目", "Extreme"),
    )
    .await;
    let real_id = real["id"].as_str().unwrap().to_string();
    let (_, _, drill) = post_cap(
        &app,
        &token,
        &evacuation_cap("drill-2", "Exercise", "受信訓練:大雨", "Severe"),
    )
    .await;
    let drill_id = drill["id"].as_str().unwrap().to_string();

    let e = Ended {
        bousai: session_cookie(&app, "bousai").await,
        tanaka: session_cookie(&app, "tanaka").await,
        real_id,
        drill_id,
        app,
    };
    the_list_leads_to_reports_and_residents_may_not_end_one(&e).await;
    the_report_says_the_cap_values_in_words(&e).await;
    let lift_id = lifting_confirms_the_reach_and_reaches_the_same_people(&e).await;
    the_terminal_says_lifted(&e, &lift_id).await;
    lifting_again_is_refused_and_changes_nothing(&e, &lift_id).await;
    the_drill_is_cancelled_and_an_unknown_kind_is_refused(&e, &lift_id).await;
}

/// The list: the 避難指示 in force, the drill among drills, each leading to its report.
/// Residents may not see it nor end an alert.
async fn the_list_leads_to_reports_and_residents_may_not_end_one(e: &Ended) {
    let Ended {
        app,
        bousai,
        tanaka,
        real_id,
        drill_id,
        ..
    } = e;
    let (s, list) = page(app, bousai, "/alerts").await;
    assert_eq!(s, StatusCode::OK);
    let current = between(&list, "id=\"alerts-in-force-list\"", "</table>");
    assert!(current.contains(&format!("href=\"/alerts/{real_id}/report\"")) && current.contains("発信中"));
    assert!(current.contains("みどり市 危機管理課") && !current.contains(drill_id.as_str()));
    let drills = between(&list, "id=\"alerts-drills-list\"", "</table>");
    assert!(drills.contains(drill_id.as_str()) && drills.contains("【訓練】"));
    // Residents may not see it nor end an alert.
    assert_refused(&page(app, tanaka, "/alerts").await, StatusCode::FORBIDDEN, "forbidden");
    let res = assert_unchanged!(
        app.snapshot().await,
        form_post(
            app,
            tanaka,
            &format!("/alerts/{real_id}/end"),
            &[("kind", "lift"), ("confirm", "yes")],
        )
        .await
    );
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
}

/// The report shows the CAP values in words and offers 解除 and 取消.
async fn the_report_says_the_cap_values_in_words(e: &Ended) {
    let Ended {
        app, bousai, real_id, ..
    } = e;
    let (_, report) = page(app, bousai, &format!("/alerts/{real_id}/report")).await;
    for words in [
        "気象",
        "直ちに",
        "極めて重大",
        "発生を確認",
        "みどり市 危機管理課",
        "発信中",
    ] {
        assert!(report.contains(words), "{words} in the report");
    }
    assert!(!report.contains(">Immediate<") && !report.contains(">Extreme<"));
    assert!(report.contains(&format!("/alerts/{real_id}/end?kind=lift")));
}

/// 解除: first the confirmation with the reach, nothing sent yet; confirmed, an Update that
/// reaches the same areas, groups, people and e-mail recipients, referencing the original.
async fn lifting_confirms_the_reach_and_reaches_the_same_people(e: &Ended) -> String {
    let Ended {
        app, bousai, real_id, ..
    } = e;
    let (s, confirm) = page(app, bousai, &format!("/alerts/{real_id}/end?kind=lift")).await;
    assert_eq!(s, StatusCode::OK);
    let stored = alerts::store::require(&app.kernel.db, real_id).await.unwrap();
    let reach = format!(
        "同じ {}人・{}世帯 に届きます",
        stored.targeted_people, stored.targeted_households
    );
    assert!(confirm.contains(&reach), "{reach} in {confirm}");
    assert!(stored.targeted_people > 0);
    let res = form_post(app, bousai, &format!("/alerts/{real_id}/end"), &[("kind", "lift")]).await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "without confirm=yes: the confirmation again"
    );
    assert!(
        alerts::store::require(&app.kernel.db, real_id)
            .await
            .unwrap()
            .replaced_by
            .is_none()
    );
    let res = form_post(
        app,
        bousai,
        &format!("/alerts/{real_id}/end"),
        &[("kind", "lift"), ("confirm", "yes"), ("note", "避難指示を解除します。")],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.headers["location"], "/alerts?notice=lifted");
    let lifted = alerts::store::require(&app.kernel.db, real_id).await.unwrap();
    let lift_id = lifted.replaced_by.clone().expect("replaced by the 解除");
    let lift = alerts::store::require(&app.kernel.db, &lift_id).await.unwrap();
    assert_eq!((lift.msg_type.as_str(), lift.status.as_str()), ("Update", "Actual"));
    // The same reach as the original: areas, groups, people, e-mail recipients.
    let db = &app.kernel.db;
    assert_eq!(
        alerts::store::area_codes(db, &lift_id).await.unwrap(),
        alerts::store::area_codes(db, real_id).await.unwrap()
    );
    assert_eq!(
        (lift.targeted_people, lift.targeted_households),
        (lifted.targeted_people, lifted.targeted_households)
    );
    assert_eq!(
        alerts::store::email_recipients(db, &lift_id).await.unwrap(),
        alerts::store::email_recipients(db, real_id).await.unwrap()
    );
    let mut mails = Vec::new();
    for id in [&lift_id, real_id] {
        let counts = kernel::store::outbox::counts(db, &format!("alert:{id}")).await.unwrap();
        mails.push(counts.iter().filter(|c| c.0 == "email").map(|c| c.2).sum::<i64>());
    }
    assert_eq!(mails[0], mails[1], "the 解除 is e-mailed to the same people");
    // The CAP document keeps the codes and references the original.
    let xml = alerts::store::cap_xml(db, &lift_id).await.unwrap();
    assert!(
        xml.contains("<responseType>AllClear</responseType>")
            && xml.contains("<references>bousai@city.midori.example.jp,evac-2,")
    );

    lift_id
}

/// tanaka's terminal no longer shows the 避難指示; it says 解除.
async fn the_terminal_says_lifted(e: &Ended, lift_id: &str) {
    let Ended {
        app,
        bousai,
        tanaka,
        real_id,
        ..
    } = e;
    let (_, terminal) = page(app, tanaka, "/terminal").await;
    assert!(!terminal.contains(&format!("data-alert=\"{real_id}\"")), "{terminal}");
    let lift_item = between(&terminal, &format!("data-alert=\"{lift_id}\""), "</li>");
    assert!(lift_item.contains("解除") && lift_item.contains("避難指示を解除します。"));
    let (_, list) = page(app, bousai, "/alerts?notice=lifted").await;
    assert!(list.contains("解除を発信しました") && list.contains("解除済み"));
}

/// Lifting again is refused with the reason; nothing changes.
async fn lifting_again_is_refused_and_changes_nothing(e: &Ended, lift_id: &str) {
    let Ended {
        app, bousai, real_id, ..
    } = e;
    let db = &app.kernel.db;
    let res = assert_unchanged!(
        app.snapshot().await,
        form_post(
            app,
            bousai,
            &format!("/alerts/{real_id}/end"),
            &[("kind", "lift"), ("confirm", "yes")],
        )
        .await
    );
    assert_refused(&res, StatusCode::CONFLICT, "alerts-not-in-force");
    assert!(res.body.clone().contains("すでに取り消し・解除されたか"));
    assert!(
        alerts::store::get(db, lift_id)
            .await
            .unwrap()
            .unwrap()
            .replaced_by
            .is_none()
    );
}

/// The drill is cancelled: a CAP Cancel, and it leaves every screen. An unknown kind is a 400 in words.
async fn the_drill_is_cancelled_and_an_unknown_kind_is_refused(e: &Ended, lift_id: &str) {
    let Ended {
        app,
        bousai,
        tanaka,
        drill_id,
        ..
    } = e;
    let db = &app.kernel.db;
    let res = form_post(
        app,
        bousai,
        &format!("/alerts/{drill_id}/end"),
        &[("kind", "cancel"), ("confirm", "yes")],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let cancel_id = alerts::store::require(db, drill_id).await.unwrap().replaced_by.unwrap();
    let cancel = alerts::store::require(db, &cancel_id).await.unwrap();
    assert_eq!(
        (cancel.msg_type.as_str(), cancel.status.as_str()),
        ("Cancel", "Exercise")
    );
    assert_eq!(
        alerts::store::area_codes(db, &cancel_id).await.unwrap(),
        alerts::store::area_codes(db, drill_id).await.unwrap()
    );
    let (_, me) = page(app, tanaka, "/me").await;
    assert!(!me.contains("受信訓練:大雨"));
    // An unknown kind is a 400 in words.
    let res = assert_unchanged!(
        app.snapshot().await,
        form_post(app, bousai, &format!("/alerts/{lift_id}/end"), &[("kind", "x")]).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "alerts-end-kind");
}

#[tokio::test]
async fn a_real_alert_is_confirmed_with_its_reach_before_it_goes_out() {
    let app = spawn_demo_app().await;
    let bousai = session_cookie(&app, "bousai").await;
    let fields = [
        ("status", "Actual"),
        ("headline", "避難指示:みどり町"),
        ("instruction", "みどり小学校へ避難してください。"),
        ("category", "Met"),
        ("urgency", "Immediate"),
        ("severity", "Extreme"),
        ("certainty", "Observed"),
        ("areas", "13999-1"),
        ("expires_hours", "6"),
    ];
    // The compose form speaks words, the values stay CAP codes.
    let (_, form) = page(&app, &bousai, "/alerts/new").await;
    assert!(
        form.contains("<option value=\"Immediate\" selected>直ちに</option>"),
        "{form}"
    );
    assert!(form.contains(">地象(地震・火山など)</option>"));

    let before = alerts::store::recent(&app.kernel.db, 100).await.unwrap().len();
    let res = form_post(&app, &bousai, "/alerts/new", &fields).await;
    assert_eq!(res.status, StatusCode::OK);
    let confirm = res.body.clone();
    assert_eq!(
        alerts::store::recent(&app.kernel.db, 100).await.unwrap().len(),
        before,
        "nothing is sent before the confirmation"
    );
    let reach = between(&confirm, "id=\"confirm-reach\">", "</p>").to_string();
    assert!(reach.contains("人・") && reach.contains("世帯 に届きます"), "{reach}");
    for words in [
        "実際の緊急情報",
        "気象",
        "直ちに",
        "極めて重大",
        "みどり市 危機管理課",
        "name=\"confirm\" value=\"yes\"",
    ] {
        assert!(confirm.contains(words), "{words} in the confirmation");
    }
    // 「戻って直す」 brings the form back as typed.
    let mut edit = fields.to_vec();
    edit.push(("edit", "1"));
    let res = form_post(&app, &bousai, "/alerts/new", &edit).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.clone().contains("value=\"避難指示:みどり町\""));

    let mut send = fields.to_vec();
    send.push(("confirm", "yes"));
    let res = form_post(&app, &bousai, "/alerts/new", &send).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let id = res.headers["location"]
        .to_str()
        .unwrap()
        .trim_start_matches("/alerts/")
        .trim_end_matches("/report")
        .to_string();
    let stored = alerts::store::require(&app.kernel.db, &id).await.unwrap();
    assert_eq!(
        reach,
        format!(
            "id=\"confirm-reach\">この緊急情報は {}人・{}世帯 に届きます。",
            stored.targeted_people, stored.targeted_households
        ),
        "the confirmation said what the alert reached"
    );
    let xml = alerts::store::cap_xml(&app.kernel.db, &id).await.unwrap();
    assert!(
        xml.contains("<urgency>Immediate</urgency>") && xml.contains("<senderName>みどり市 危機管理課</senderName>")
    );
    // A drill goes out at once.
    let mut drill = fields.to_vec();
    drill[0] = ("status", "Exercise");
    let res = form_post(&app, &bousai, "/alerts/new", &drill).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
}

/// Publishing stores the alert and its audit entry in one transaction; an officer's look at the
/// silent households of their areas is read together with its entries. A refused publish leaves
/// neither.
#[tokio::test]
async fn publishing_and_reading_silent_households_commit_with_their_audit_entries() {
    let app = spawn_demo_app().await;
    let log = || async { kernel::store::audit::page(&app.kernel.db, 0, 1_000_000).await.unwrap() };
    let bousai = app.token_for("bousai").await;
    let bousai_id = app.person_of("bousai").await;
    let xml = cap("midori-2026-audit", "Exercise", "Alert", None, DISTRICT_1);
    let (s, _, body) = post_cap(&app, &bousai, &xml).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let stored = alerts::store::require(&app.kernel.db, &id).await.unwrap();
    assert_eq!(stored.identifier, "midori-2026-audit");
    let published: Vec<_> = log()
        .await
        .into_iter()
        .filter(|e| e.resource == format!("alert/{id}"))
        .collect();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(
        (
            published[0].action.as_str(),
            published[0].actor_id.as_deref(),
            published[0].reason.as_deref()
        ),
        ("alerts.publish", Some(bousai_id.as_str()), Some("Exercise Alert"))
    );

    // The same alert again stores nothing and logs nothing.
    let before = log().await.len();
    let (s, _, _) = post_cap(&app, &bousai, &xml).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(log().await.len(), before);

    // Refused: neither the alert nor an entry.
    let tanaka = app.token_for("tanaka").await;
    let other = cap("midori-2026-audit-2", "Exercise", "Alert", None, DISTRICT_1);
    let (s, _, e) = assert_unchanged!(alert_rows(&app).await, post_cap(&app, &tanaka, &other).await);
    assert_refused(&(s, &e), StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(log().await.len(), before);

    // The officer reads the silent households of their own areas: the list, one entry per area.
    let kaicho = app.token_for("kaicho").await;
    let kaicho_id = app.person_of("kaicho").await;
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/alerts/{id}/report")))
        .bearer_auth(&kaicho)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let report: Value = res.json().await.unwrap();
    assert!(!report["silent"].as_array().unwrap().is_empty(), "{report}");
    let read: Vec<_> = log()
        .await
        .into_iter()
        .filter(|e| e.action == "alerts.silent_households" && e.resource == format!("alert/{id}"))
        .collect();
    let areas = report["areas"].as_array().unwrap().len();
    assert_eq!(read.len(), areas, "one entry per area shown: {read:?}");
    assert!(
        read.iter().all(|e| e.actor_id.as_deref() == Some(kaicho_id.as_str())
            && e.reason.as_deref().is_some_and(|r| r.starts_with("area "))),
        "{read:?}"
    );
}
