//! Safety confirmation (安否確認) through HTTP: rounds started by officers, staff and the town's
//! rule; answers from the API, the web form, the e-mail link and a device; tallies, follow-up,
//! visits, reminders and escalation under the test clock; the export. SQLite, and PostgreSQL
//! when MACHI_TEST_DATABASE says so.

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::testing::{TestApp, spawn_app_with, spawn_demo_app};

use crate::common::{api, assert_refused, get, post, session_cookie};

/// A form posted by the holder of `cookie`: status, page, where it went.
async fn form(
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, Option<String>) {
    let p = crate::common::form(app, cookie, path, fields).await;
    let location = Some(p.location().to_string()).filter(|l| !l.is_empty());
    (p.status, p.body, location)
}

/// A page as the holder of `cookie` reads it (links as the browser reads them: `&#x2f;` is `/`).
async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let (status, body) = crate::common::page(app, cookie, path).await;
    (status, body.replace("&#x2f;", "/"))
}

async fn household_of(app: &TestApp, login: &str) -> String {
    let person = app.person_of(login).await;
    kernel::store::people::household_of(&app.kernel.db, &person)
        .await
        .unwrap()
        .unwrap()
}

/// A round of district 1 started by its officer (kaicho); tanaka's household is in it, sato's is not.
struct Round {
    app: TestApp,
    kaicho: String,
    tanaka: String,
    sato: String,
    /// The round.
    id: String,
    /// tanaka's person and household.
    me: String,
    hh: String,
    /// Where tanaka answers for her household.
    answers: String,
}

#[tokio::test]
async fn officers_start_rounds_for_their_area_and_one_member_answers_for_the_household() {
    let app = spawn_demo_app().await;
    let kaicho = app.token_for("kaicho").await;
    let tanaka = app.token_for("tanaka").await;
    let id = officers_start_rounds_for_their_own_area(&app, &kaicho, &tanaka).await;
    let r = Round {
        sato: app.token_for("sato").await,
        me: app.person_of("tanaka").await,
        hh: household_of(&app, "tanaka").await,
        answers: format!("/safety/rounds/{id}/households/mine/answers"),
        id,
        kaicho,
        tanaka,
        app,
    };
    every_household_of_the_district_is_asked(&r).await;
    one_member_answers_for_the_household_and_the_latest_counts(&r).await;
    residents_see_only_the_counts(&r).await;
    bad_answers_are_refused_and_change_nothing(&r).await;
    the_officer_follows_up_with_a_visit(&r).await;
    the_export_is_for_officers_only(&r).await;
    a_closed_round_refuses_answers_with_the_time(&r).await;
}

/// The officer of district 1 may ask district 1, not district 2; a resident may not start one.
async fn officers_start_rounds_for_their_own_area(app: &TestApp, kaicho: &str, tanaka: &str) -> String {
    let (s, round) = post(
        app,
        kaicho,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "地震の安否確認"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{round}");
    let id = round["id"].as_str().unwrap().to_string();
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(app, kaicho, "/safety/rounds", json!({"area": "13999-2", "title": "x"})).await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(app, tanaka, "/safety/rounds", json!({"area": "13999-1", "title": "x"})).await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let (s, body) = assert_unchanged!(
        app.snapshot().await,
        post(app, kaicho, "/safety/rounds", json!({"area": "13999-9", "title": "x"})).await
    );
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "area-unknown");
    id
}

/// Every household of the district is asked; nobody has answered yet.
async fn every_household_of_the_district_is_asked(r: &Round) {
    let Round { app, kaicho, id, .. } = r;
    let (s, view) = get(app, kaicho, &format!("/safety/rounds/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let households = view["total"]["households"].as_i64().unwrap();
    assert!(households > 3, "{view}");
    assert_eq!(view["total"]["silent"], households);
    assert!(!view["areas"].as_array().unwrap().is_empty());
}

/// tanaka answers for the household: all safe; then amends: tanaka is hurt. The latest counts.
async fn one_member_answers_for_the_household_and_the_latest_counts(r: &Round) {
    let Round {
        app,
        kaicho,
        tanaka,
        id,
        me,
        hh,
        answers,
        ..
    } = r;
    let (s, a) = post(app, tanaka, answers, json!({"status": "safe"})).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["effective"], "safe");
    let (s, a) = post(
        app,
        tanaka,
        answers,
        json!({"status": "safe", "members": [{"person_id": me, "status": "injured", "comment": "足をけがした"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(a["effective"], "help", "a member hurt counts as needing help");
    // Bad JSON: 400 `bad-json` with the parser's words (where and what), and nothing recorded.
    let res = assert_unchanged!(
        app.snapshot().await,
        reqwest::Client::new()
            .post(app.url(&format!("/api/v1{answers}")))
            .bearer_auth(tanaka)
            .header("Content-Type", "application/json")
            .header("Accept-Language", "en")
            .body("{\"status\": \"safe\",")
            .send()
            .await
            .unwrap()
    );
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad-json", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("Cannot read the request's JSON: "), "{body}");
    assert!(
        message.contains("EOF while parsing") && message.contains("line 1"),
        "the parser's words: {body}"
    );
    let history = safety::store::history(&app.kernel.db, id, hh).await.unwrap();
    assert_eq!(history.len(), 2, "history is kept");
    let (_, view) = get(app, kaicho, &format!("/safety/rounds/{id}")).await;
    assert_eq!(
        (view["total"]["answered"].as_i64(), view["total"]["help"].as_i64()),
        (Some(1), Some(1))
    );
}

/// Residents of the round see only the counts; someone elsewhere sees nothing.
async fn residents_see_only_the_counts(r: &Round) {
    let Round {
        app, tanaka, sato, id, ..
    } = r;
    let (s, mine) = get(app, tanaka, &format!("/safety/rounds/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(mine["areas"].as_array().unwrap().is_empty());
    assert_eq!(mine["total"]["answered"], 1);
    let (s, refusal) = get(app, sato, &format!("/safety/rounds/{id}")).await;
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
}

/// Bad input: another's household, a malformed member state (named), a stranger as member.
async fn bad_answers_are_refused_and_change_nothing(r: &Round) {
    let Round {
        app,
        tanaka,
        sato,
        id,
        me,
        answers,
        ..
    } = r;
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            app,
            tanaka,
            &format!(
                "/safety/rounds/{id}/households/{}/answers",
                household_of(app, "kaicho").await
            ),
            json!({"status": "safe"}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "safety-not-your-household");
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(
            app,
            tanaka,
            answers,
            json!({"status": "safe", "members": [{"person_id": me, "status": "sleepy"}]}),
        )
        .await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "safety-member-status-invalid");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("members[0].status"),
        "{e}"
    );
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(app, tanaka, answers, json!({"status": "fine"})).await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "safety-status-invalid");
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            app,
            sato,
            &format!("/safety/rounds/{id}/households/mine/answers"),
            json!({"status": "safe"}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden"); // sato's household is not asked in district 1
}

/// Follow-up: the officer sees tanaka's household (help), assigns the supporter, records the visit.
async fn the_officer_follows_up_with_a_visit(r: &Round) {
    let Round {
        app,
        kaicho,
        tanaka,
        id,
        me,
        hh,
        ..
    } = r;
    let (s, f) = get(app, kaicho, &format!("/safety/rounds/{id}/follow-up")).await;
    assert_eq!(s, StatusCode::OK);
    let list = f["households"].as_array().unwrap();
    assert!(
        list.iter()
            .any(|h| h["household_id"] == hh.as_str() && h["status"] == "help"),
        "{f}"
    );
    assert!(
        list.iter().all(|h| h["status"] == "help" || h["needs_support"] == true),
        "only help and silent 要支援者 households"
    );
    let (s, refusal) = get(app, tanaka, &format!("/safety/rounds/{id}/follow-up")).await;
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden"); // residents see no lists
    let supporter = app.person_of("supporter").await;
    let visit = format!("/safety/rounds/{id}/households/{hh}/visit");
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        api(
            app,
            kaicho,
            reqwest::Method::PUT,
            &visit,
            Some(json!({"visitor_id": me})),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::BAD_REQUEST, "safety-visitor-invalid"); // a resident is no visitor
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(app, kaicho, &format!("{visit}/outcome"), json!({"outcome": "safe"})).await
    );
    assert_refused(&(s, &refusal), StatusCode::CONFLICT, "safety-visit-not-assigned"); // nobody assigned yet
    let (s, _) = api(
        app,
        kaicho,
        reqwest::Method::PUT,
        &visit,
        Some(json!({"visitor_id": supporter})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let sup = app.token_for("supporter").await;
    let (s, _) = post(
        app,
        &sup,
        &format!("{visit}/outcome"),
        json!({"outcome": "help", "note": "病院へ搬送"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "the supporter records the outcome");
    let (_, f) = get(app, kaicho, &format!("/safety/rounds/{id}/follow-up")).await;
    let row = f["households"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["household_id"] == hh.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (row["visitor_id"].as_str(), row["outcome"].as_str()),
        (Some(supporter.as_str()), Some("help"))
    );
}

/// The export: areas for the officer, with households of their own area; residents get nothing.
async fn the_export_is_for_officers_only(r: &Round) {
    let Round {
        app,
        kaicho,
        tanaka,
        id,
        ..
    } = r;
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/safety/rounds/{id}/export.csv")))
        .bearer_auth(kaicho)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].trim_start_matches('\u{feff}').starts_with("section,area_code"));
    assert!(lines.iter().any(|l| l.starts_with("area,")));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("household,") && l.contains(",help,")),
        "{csv}"
    );
    let (s, refusal) = get(app, tanaka, &format!("/safety/rounds/{id}/export.csv")).await;
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
}

/// Closed: answers are refused with the time it closed.
async fn a_closed_round_refuses_answers_with_the_time(r: &Round) {
    let Round {
        app,
        kaicho,
        tanaka,
        id,
        answers,
        ..
    } = r;
    let (s, closed) = post(app, kaicho, &format!("/safety/rounds/{id}/close"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let at = kernel::web::render::human_time(kernel::i18n::Lang::Ja, closed["closed_at"].as_i64().unwrap());
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(app, tanaka, answers, json!({"status": "safe"})).await
    );
    assert_refused(&(s, &e), StatusCode::CONFLICT, "safety-round-closed");
    assert!(e["error"]["message"].as_str().unwrap().contains(&at), "{e}");
}

#[tokio::test]
async fn residents_answer_on_the_web_and_officers_watch_the_tally_and_map() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let (s, round) = post(
        &app,
        &bousai,
        "/safety/rounds",
        json!({"area": "13999", "title": "町全体の安否確認"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = round["id"].as_str().unwrap();

    // The web: the pending question, the form with each member, two big buttons.
    let sato = session_cookie(&app, "sato").await;
    let pending: Value = serde_json::from_str(&page(&app, &sato, "/safety/pending").await.1).unwrap();
    assert_eq!(pending[0]["round"], id);
    let (s, html) = page(&app, &sato, &format!("/safety/{id}/answer")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"status\" value=\"safe\"") && html.contains("name=\"status\" value=\"help\""));
    let me = app.person_of("sato").await;
    let (s, html, _) = form(
        &app,
        &sato,
        &format!("/safety/{id}/answer"),
        &[
            ("status", "safe"),
            (&format!("member.{me}"), "safe"),
            ("comment", "家は無事です"),
        ],
    )
    .await;
    // Answered: the receipt (after a redirect, so reloading does not answer again).
    assert_eq!(s, StatusCode::SEE_OTHER, "{html}");
    let (s, html) = page(&app, &sato, &format!("/safety/{id}/receipt")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"safety-done\"") && html.contains("回答を受け付けました"));
    assert!(html.contains("家は無事です"), "the comment is shown back");
    let (s, html, _) = assert_unchanged!(
        app.snapshot().await,
        form(
            &app,
            &sato,
            &format!("/safety/{id}/answer"),
            &[("status", "safe"), (&format!("member.{me}"), "sleepy")],
        )
        .await
    );
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "safety-member-status-invalid");
    assert!(html.contains("member"), "the form names the field");
    assert_eq!(
        serde_json::from_str::<Value>(&page(&app, &sato, "/safety/pending").await.1).unwrap(),
        json!([]),
        "answered: nothing pending"
    );

    // The terminal's big button (a form post that goes back to the terminal).
    let tanaka = session_cookie(&app, "tanaka").await;
    let (s, _, location) = form(
        &app,
        &tanaka,
        &format!("/safety/{id}/answer"),
        &[("status", "help"), ("channel", "terminal"), ("back", "/terminal")],
    )
    .await;
    let receipt = format!("/safety/{id}/receipt?back=/terminal");
    assert_eq!(
        (s, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(receipt.as_str()))
    );
    let history = safety::store::history(&app.kernel.db, id, &household_of(&app, "tanaka").await)
        .await
        .unwrap();
    assert_eq!(history[0].channel, "terminal");
    // The terminal shows what was recorded, a way back to the terminal and a way to change it.
    let (s, html) = page(&app, &tanaka, &receipt).await;
    assert_eq!(s, StatusCode::OK);
    let at = kernel::web::render::human_time(kernel::i18n::Lang::Ja, history[0].answered_at);
    for seen in [
        "回答を受け付けました",
        "助けが必要",
        "(端末)",
        at.as_str(),
        "href=\"/terminal\"",
        "回答を直す",
    ] {
        assert!(html.contains(seen), "{seen} in {html}");
    }

    // A device button answers for its person's household.
    let round_id = id.to_string();
    assert!(
        safety::service::answers::device_answer(&app.kernel, "bulb-0001", &format!("safety:{round_id}:safe"))
            .await
            .unwrap()
    );
    assert!(
        !safety::service::answers::device_answer(&app.kernel, "no-such-device", &format!("safety:{round_id}:safe"))
            .await
            .unwrap()
    );
    assert!(
        !safety::service::answers::device_answer(&app.kernel, "bulb-0001", &format!("safety:{round_id}:maybe"))
            .await
            .unwrap()
    );

    // City staff see every area, the map and the curve; the page updates live.
    let staff = session_cookie(&app, "bousai").await;
    let (s, html) = page(&app, &staff, &format!("/safety/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"safety-areas\"") && html.contains("<svg") && html.contains("data-area=\"13999-1-01\""));
    assert!(html.contains("id=\"progress-title\""), "the progress curve");
    let mut live = reqwest::Client::new()
        .get(app.url(&format!("/safety/{id}/live")))
        .header("Cookie", &staff)
        .send()
        .await
        .unwrap();
    let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), live.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&chunk);
    assert!(
        text.contains("event: tally") && text.contains("\"answered\":2"),
        "{text}"
    );
    // A resident's page shows the counts, not the areas.
    let (_, html) = page(&app, &sato, &format!("/safety/{id}")).await;
    assert!(!html.contains("id=\"safety-areas\"") && html.contains("id=\"safety-total\""));
}

#[tokio::test]
async fn the_email_link_answers_once_without_logging_in() {
    let app = spawn_demo_app().await;
    let bousai = app.token_for("bousai").await;
    let (_, round) = post(
        &app,
        &bousai,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "メールの安否確認"}),
    )
    .await;
    let id = round["id"].as_str().unwrap();
    // The question went to the outbox, one e-mail per consenting member, each with its own link.
    let mails = kernel::store::outbox::claim(&app.kernel, "email", 10_000, 60_000)
        .await
        .unwrap();
    let mails: Vec<_> = mails
        .into_iter()
        .filter(|d| d.source == format!("safety:{id}"))
        .collect();
    assert!(!mails.is_empty());
    let link = |body: &str| {
        body.split_whitespace()
            .find(|w| w.contains("/safety/a/"))
            .map(|w| w[w.find("/safety/a/").unwrap()..].to_string())
            .unwrap()
    };
    let first = link(&mails[0].body);
    assert!(mails[0].subject.starts_with("【安否確認】"));

    // Opened without logging in: the form. Opening again (a mail scanner) does not spend it.
    let anon = "machi_csrf=".to_string() + &"a".repeat(64);
    for _ in 0..2 {
        let (s, html) = page(&app, &anon, &first).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("name=\"status\" value=\"safe\""));
    }
    let (s, html, _) = assert_unchanged!(
        app.snapshot().await,
        form(&app, &anon, &first, &[("status", "maybe")]).await
    );
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "safety-status-invalid");
    assert!(html.contains("status"));
    // 全員無事 with someone hurt asks first; the link is not spent by the question.
    let safety::store::Link::Valid { household_id: hh, .. } =
        safety::store::peek_link(&app.kernel, first.trim_start_matches("/safety/a/"))
            .await
            .unwrap()
    else {
        panic!("the link is valid")
    };
    let members = kernel::store::households::members(&app.kernel.db, &hh).await.unwrap();
    let member = format!("member.{}", members[0].person_id);
    let (s, html, _) = form(&app, &anon, &first, &[("status", "safe"), (&member, "injured")]).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("けがをした人がいます。『助けが必要』として送りますか?"),
        "{html}"
    );
    let (s, html, _) = form(&app, &anon, &first, &[("status", "safe")]).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("id=\"safety-done\"") && html.contains("回答を受け付けました"));
    assert!(html.contains("(メールのリンク)"), "the channel in words: {html}");
    // Used: a page saying so, offering to log in.
    let (s, html, _) = form(&app, &anon, &first, &[("status", "help")]).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(html.contains("safety-link-problem") && html.contains("/login"));
    let (s, _) = page(&app, &anon, &first).await;
    assert_eq!(s, StatusCode::GONE);
    let (s, refusal) = page(&app, &anon, "/safety/a/machi_0000").await;
    assert_refused(&(s, &refusal), StatusCode::NOT_FOUND, "safety-link-unknown");
    // Expired: after link_hours.
    let second = link(&mails[1].body);
    app.clock
        .advance(safety::config::of(&app.kernel).link_hours as i64 * 3_600_000 + 1);
    let (s, html) = page(&app, &anon, &second).await;
    assert_eq!(s, StatusCode::GONE);
    assert!(html.contains("有効期限") || html.contains("expired"), "{html}");
    let (_, view) = get(&app, &bousai, &format!("/safety/rounds/{id}")).await;
    assert_eq!(view["total"]["answered"], 1, "the link's answer counts, once");
}

async fn post_cap(app: &TestApp, token: &str, identifier: &str, status: &str, headline: &str) -> Value {
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>jma@example.jp</sender>
  <sent>2026-11-23T10:00:00+09:00</sent>
  <status>{status}</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>ja-JP</language>
    <category>Geo</category>
    <event>地震</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>{headline}</headline>
    <area><areaDesc>みどり市一区</areaDesc><geocode><valueName>machi-area</valueName><value>13999-1</value></geocode></area>
  </info>
</alert>"#
    );
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/alerts"))
        .bearer_auth(token)
        .header("Content-Type", "application/cap+xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_strong_quake_starts_a_round_after_the_delay_aftershocks_join_and_silence_escalates() {
    let mut config = kernel::config::Config::default();
    config.set_section(
        "safety",
        &safety::config::SafetyConfig {
            delay_secs: 600,
            aftershock_window_secs: 3600,
            reminders: vec![safety::config::ReminderStep {
                after_secs: 900,
                channels: vec!["terminal".into(), "email".into()],
            }],
            escalate_after_secs: 1800,
            ..Default::default()
        },
    );
    let app = spawn_app_with(config, true).await;
    let k = &app.kernel;
    let bousai = app.token_for("bousai").await;
    let quake = post_cap(&app, &bousai, "q-1", "Actual", "震度5強の地震が発生しました").await;
    let drill = post_cap(&app, &bousai, "q-drill", "Exercise", "震度7(訓練)").await;
    let weak = post_cap(&app, &bousai, "q-weak", "Actual", "震度3の地震がありました").await;
    // An aftershock two minutes later, while the round is still waiting out the delay.
    app.clock.advance(120_000);
    let early = post_cap(&app, &bousai, "q-1b", "Actual", "震度5弱の余震").await;

    // Within the delay nothing starts (a mistaken alert is usually cancelled by then).
    safety::jobs::tick(k).await.unwrap();
    assert!(
        safety::store::round_of_alert(&k.db, quake["id"].as_str().unwrap())
            .await
            .unwrap()
            .is_none()
    );
    app.clock.advance(480_000);
    safety::jobs::tick(k).await.unwrap();
    let round = safety::store::round_of_alert(&k.db, quake["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("the quake started a round");
    assert_eq!(round.started_how, "alert");
    let early_round = safety::store::round_of_alert(&k.db, early["id"].as_str().unwrap())
        .await
        .unwrap()
        .expect("the early aftershock joined");
    assert_eq!(early_round.id, round.id, "one round for the quake and its aftershock");
    for other in [&drill, &weak] {
        assert!(
            safety::store::round_of_alert(&k.db, other["id"].as_str().unwrap())
                .await
                .unwrap()
                .is_none()
        );
    }

    // An aftershock within the window joins the open round.
    let after = post_cap(&app, &bousai, "q-2", "Actual", "震度5弱の余震").await;
    app.clock.advance(600_000);
    safety::jobs::tick(k).await.unwrap();
    let joined = safety::store::round_of_alert(&k.db, after["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(joined.id, round.id);
    assert_eq!(safety::store::open(&k.db).await.unwrap().len(), 1);

    // Someone answers; at 15 minutes the silent ones are reminded, once.
    let sato = app.token_for("sato").await; // sato lives outside district 1: not asked
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &sato,
            &format!("/safety/rounds/{}/households/mine/answers", round.id),
            json!({"status": "safe"}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let kaicho = app.token_for("kaicho").await;
    let (s, _) = post(
        &app,
        &kaicho,
        &format!("/safety/rounds/{}/households/mine/answers", round.id),
        json!({"status": "safe"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    safety::jobs::tick(k).await.unwrap();
    assert_eq!(
        safety::store::require(&k.db, &round.id).await.unwrap().reminders_sent,
        0,
        "10 minutes in"
    );
    let mails = async || {
        kernel::store::outbox::counts(&k.db, &format!("safety:{}", round.id))
            .await
            .unwrap()
            .iter()
            .filter(|(c, ..)| c == "email")
            .map(|(_, _, n)| *n)
            .sum::<i64>()
    };
    let asked = mails().await;
    assert!(asked > 0, "the question went out by e-mail");
    app.clock.advance(600_000);
    safety::jobs::tick(k).await.unwrap();
    assert!(mails().await > asked, "the reminder went out by e-mail too");
    let r = safety::store::require(&k.db, &round.id).await.unwrap();
    assert_eq!(r.reminders_sent, 1, "20 minutes in: the 15-minute reminder went out");
    let reminded = safety::store::email_recipients(&k.db, &round.id, true).await.unwrap();
    let kaicho_hh = household_of(&app, "kaicho").await;
    assert!(
        reminded.iter().all(|(_, h, _)| h != &kaicho_hh),
        "answered households are not reminded"
    );
    safety::jobs::tick(k).await.unwrap();
    assert_eq!(
        safety::store::require(&k.db, &round.id).await.unwrap().reminders_sent,
        1,
        "once"
    );

    // At 30 minutes, silent households with a 要支援者 go to the area's officers and supporters.
    app.clock.advance(15 * 60_000);
    safety::jobs::tick(k).await.unwrap();
    let tanaka_hh = household_of(&app, "tanaka").await;
    let escalated_to = safety::store::escalations_for(&k.db, &round.id, &app.person_of("kaicho").await)
        .await
        .unwrap();
    assert!(
        escalated_to.contains(&tanaka_hh),
        "tanaka (要支援者) stayed silent: {escalated_to:?}"
    );
    let kaicho_follow: Value = get(&app, &kaicho, &format!("/safety/rounds/{}/follow-up", round.id))
        .await
        .1;
    let row = kaicho_follow["households"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["household_id"] == tanaka_hh.as_str())
        .unwrap()
        .clone();
    assert!(row["escalated_at"].is_i64() && row["needs_support"] == true);
    // Escalated once only.
    assert!(safety::jobs::tick(k).await.unwrap().escalated == 0);
}

#[tokio::test]
async fn a_device_is_asked_over_mqtt_and_its_button_answers_for_the_household() {
    use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
    let broker = crate::common::broker();
    let config = crate::common::mqtt_config("machi-safety-test");
    let app = spawn_app_with(config, true).await;
    // tanaka's smart bulb, listening on its topic.
    let run = app.kernel.new_id();
    let (device, mut events) = AsyncClient::new(MqttOptions::new(format!("bulb-{run}"), broker.0, broker.1), 64);
    device
        .subscribe("machi/devices/bulb-0001", QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = events.poll().await.unwrap() {
            break;
        }
    }
    for _ in 0..300 {
        if app.kernel.health.is_reachable(server::channels::mqtt::CHANNEL) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let kaicho = app.token_for("kaicho").await;
    let (s, round) = post(
        &app,
        &kaicho,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "機器の安否確認"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = round["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let question = loop {
        let ev = tokio::time::timeout_at(deadline, events.poll())
            .await
            .expect("the question over MQTT within 15 s")
            .unwrap();
        if let Event::Incoming(Packet::Publish(p)) = ev {
            let body: Value = serde_json::from_slice(&p.payload).unwrap_or(Value::Null);
            if body["round"] == id.as_str() {
                break body;
            }
        }
    };
    assert_eq!(question["kind"], "safety");
    assert_eq!(question["answer_topic"], "machi/acks/bulb-0001");
    // The button: 「全員無事」.
    device
        .publish(
            "machi/acks/bulb-0001",
            QoS::AtLeastOnce,
            false,
            question["answers"]["safe"].as_str().unwrap().as_bytes().to_vec(),
        )
        .await
        .unwrap();
    let pump = tokio::spawn(async move { while events.poll().await.is_ok() {} });
    let household = household_of(&app, "tanaka").await;
    let mut answered = None;
    for _ in 0..300 {
        answered = safety::store::target(&app.kernel.db, &id, &household)
            .await
            .unwrap()
            .and_then(|(_, s)| s);
        if answered.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(answered.as_deref(), Some("safe"));
    let history = safety::store::history(&app.kernel.db, &id, &household).await.unwrap();
    assert_eq!(history[0].channel, "mqtt");
    pump.abort();
}

#[tokio::test]
async fn in_one_batch_the_last_answer_of_a_household_wins() {
    use safety::model::answer::{Answer, HouseholdStatus};
    use safety::store::{NewAnswer, Recorded, record};
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    let (round, _) = safety::store::start(
        k,
        &kernel::store::areas::get(&k.db, "13999-1").await.unwrap().unwrap().id,
        "t",
        "staff",
        None,
        None,
    )
    .await
    .unwrap();
    let hh = household_of(&app, "tanaka").await;
    let answer = |status| NewAnswer {
        round_id: round.id.clone(),
        household_id: hh.clone(),
        person_id: None,
        proxy_by: None,
        channel: "api".into(),
        answer: Answer {
            status,
            members: vec![],
            comment: None,
        },
    };
    let stranger = NewAnswer {
        household_id: household_of(&app, "sato").await,
        ..answer(HouseholdStatus::Safe)
    };
    let out = record(
        k,
        &[answer(HouseholdStatus::Safe), stranger, answer(HouseholdStatus::Help)],
    )
    .await
    .unwrap();
    assert!(matches!(out[0], Recorded::Stored { .. }));
    assert_eq!(out[1], Recorded::NotTargeted, "sato's household is not asked");
    assert!(matches!(out[2], Recorded::Stored { .. }));
    let (_, status) = safety::store::target(&k.db, &round.id, &hh).await.unwrap().unwrap();
    assert_eq!(status.as_deref(), Some("help"));
    assert_eq!(safety::store::history(&k.db, &round.id, &hh).await.unwrap().len(), 2);
    let closed = safety::store::close(k, &round.id).await.unwrap();
    let out = record(k, &[answer(HouseholdStatus::Safe)]).await.unwrap();
    assert_eq!(out[0], Recorded::Closed(closed.closed_at.unwrap()));
}

#[tokio::test]
async fn a_household_nobody_covers_is_escalated_to_the_alerts_duty() {
    let app = spawn_demo_app().await;
    let staff = kernel::store::orgs::duty_staff(&app.kernel.db, "alerts").await.unwrap();
    assert_eq!(staff, vec![app.person_of("bousai").await]);
    assert!(
        kernel::store::orgs::duty_staff(&app.kernel.db, "no-such-duty")
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_silent_watched_person_is_escalated_to_their_watch_over_circle_too() {
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    // tanaka (要支援者, living alone) has a watch-over circle with her daughter first on the ladder.
    let sato = app.token_for("sato").await;
    let tanaka = app.token_for("tanaka").await;
    let (s, c) = post(
        &app,
        &sato,
        "/watch/circles",
        json!({"name": "田中 ハナ", "birth_date": "1938-04-12", "role": "family"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let circle = c["id"].as_str().unwrap();
    post(&app, &tanaka, &format!("/watch/circles/{circle}/consent"), json!({})).await;

    let kaicho = app.token_for("kaicho").await;
    let (s, round) = post(
        &app,
        &kaicho,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "見守りと安否確認"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let round = round["id"].as_str().unwrap().to_string();
    app.clock
        .advance((safety::config::of(k).escalate_after_secs as i64 + 1) * 1000);
    safety::jobs::tick(k).await.unwrap();
    let household = household_of(&app, "tanaka").await;
    let sato_id = app.person_of("sato").await;
    let key = format!("safety:{round}:escalate:{household}:{sato_id}");
    let mailed: i64 = kernel::on_db!(&k.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM outbox WHERE dedupe_key = $1"
    )
    .bind(&key)
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(mailed, 1, "the daughter on tanaka's ladder is told");
}

/// tanaka's own watch-over circle (she consents by starting it) with sato as family and the
/// care manager; returns the circle's id.
async fn tanaka_circle_with_family(app: &TestApp) -> String {
    let tanaka = app.token_for("tanaka").await;
    let me = app.person_of("tanaka").await;
    let (s, circle) = post(app, &tanaka, "/watch/circles", json!({ "person_id": me })).await;
    assert_eq!(s, StatusCode::CREATED, "{circle}");
    let circle = circle["id"].as_str().unwrap().to_string();
    for (login, role) in [("sato", "family"), ("caremgr", "care_manager")] {
        let person = app.person_of(login).await;
        let (s, body) = crate::common::put(
            app,
            &tanaka,
            &format!("/watch/circles/{circle}/members/{person}"),
            json!({ "role": role }),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    }
    circle
}

#[tokio::test]
async fn family_in_the_watch_over_circle_answers_for_the_household_and_officers_see_who() {
    let app = spawn_demo_app().await;
    let kaicho = app.token_for("kaicho").await;
    let (_, round) = post(
        &app,
        &kaicho,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "地震の安否確認"}),
    )
    .await;
    let id = round["id"].as_str().unwrap().to_string();
    let hh = household_of(&app, "tanaka").await;
    let answers = format!("/safety/rounds/{id}/households/{hh}/answers");
    let sato = app.token_for("sato").await;
    let nothing_changed = || async {
        assert!(
            safety::store::history(&app.kernel.db, &id, &hh)
                .await
                .unwrap()
                .is_empty()
        );
        let (_, status) = safety::store::target(&app.kernel.db, &id, &hh).await.unwrap().unwrap();
        assert_eq!(status, None);
    };

    // Without a circle, sato is a stranger to tanaka's household: refused, saying why.
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(&app, &sato, &answers, json!({"status": "safe"})).await
    );
    assert_refused(&(s, &e), StatusCode::FORBIDDEN, "safety-not-your-household");
    assert_eq!(e["error"]["code"], "safety-not-your-household", "{e}");
    nothing_changed().await;

    // In tanaka's circle: the care manager is no family and is refused too.
    tanaka_circle_with_family(&app).await;
    let caremgr = app.token_for("caremgr").await;
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(&app, &caremgr, &answers, json!({"status": "safe"})).await
    );
    assert_refused(&(s, &e), StatusCode::FORBIDDEN, "safety-not-your-household");
    assert_eq!(e["error"]["code"], "safety-not-your-household", "{e}");
    nothing_changed().await;

    // sato, family, answers for tanaka's household: recorded as her proxy answer.
    let sato_id = app.person_of("sato").await;
    let (s, a) = post(&app, &sato, &answers, json!({"status": "safe"})).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    assert_eq!(a["proxy_by"], sato_id.as_str());
    let history = safety::store::history(&app.kernel.db, &id, &hh).await.unwrap();
    assert_eq!(
        (
            history.len(),
            history[0].proxy_by.as_deref(),
            history[0].proxy.as_deref()
        ),
        (1, Some(sato_id.as_str()), Some("佐藤 由美"))
    );
    let (_, view) = get(&app, &kaicho, &format!("/safety/rounds/{id}")).await;
    assert_eq!(view["total"]["safe"], 1, "the proxy answer counts");
    // tanaka can see in her access log that sato answered for her household.
    let tanaka_id = app.person_of("tanaka").await;
    let log = kernel::store::audit::about_person(&app.kernel.db, &tanaka_id, 50)
        .await
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "safety.proxy_answer" && e.actor_id.as_deref() == Some(sato_id.as_str())),
        "{log:?}"
    );

    // Officers see who answered: the API, the round page and the export.
    let (s, f) = get(&app, &kaicho, &format!("/safety/rounds/{id}/follow-up")).await;
    assert_eq!(s, StatusCode::OK);
    let proxies = f["proxy_answers"].as_array().unwrap();
    assert!(
        proxies.iter().any(|p| p["household_id"] == hh.as_str()
            && p["proxy"] == "佐藤 由美"
            && p["proxy_by"] == sato_id.as_str()
            && p["status"] == "safe"),
        "{f}"
    );
    let officer = session_cookie(&app, "kaicho").await;
    let (_, html) = page(&app, &officer, &format!("/safety/{id}")).await;
    assert!(html.contains("佐藤 由美さんが代わりに回答"), "{html}");
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/safety/rounds/{id}/export.csv")))
        .bearer_auth(&kaicho)
        .send()
        .await
        .unwrap();
    let csv = res.text().await.unwrap();
    assert!(csv.contains("answered_for_by"), "{csv}");
    assert!(
        csv.lines()
            .any(|l| l.contains(&hh) && l.contains(",safe,") && l.ends_with("\"佐藤 由美\"")),
        "{csv}"
    );

    // On the web: sato's /safety page leads to the answer page for tanaka's household.
    let web = session_cookie(&app, "sato").await;
    let (s, html) = page(&app, &web, "/safety").await;
    assert_eq!(s, StatusCode::OK);
    let form_path = format!("/safety/{id}/households/{hh}/answer");
    assert!(html.contains(&form_path) && html.contains("田中家"), "{html}");
    let (s, html) = page(&app, &web, &form_path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("田中家の安否を、家族として代わりに回答します。"),
        "{html}"
    );
    let (s, _, location) = form(
        &app,
        &web,
        &form_path,
        &[("status", "help"), ("comment", "電話がつながりません")],
    )
    .await;
    let receipt = format!("/safety/{id}/households/{hh}/receipt");
    assert_eq!(
        (s, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(receipt.as_str()))
    );
    let (s, html) = page(&app, &web, &receipt).await;
    assert_eq!(s, StatusCode::OK);
    for seen in [
        "回答を受け付けました",
        "田中家",
        "助けが必要",
        "佐藤 由美さんが代わりに回答",
        "電話がつながりません",
    ] {
        assert!(html.contains(seen), "{seen} in {html}");
    }
    // The care manager gets neither the form nor the receipt.
    let cm = session_cookie(&app, "caremgr").await;
    assert_refused(
        &page(&app, &cm, &form_path).await,
        StatusCode::FORBIDDEN,
        "safety-not-your-household",
    );
    assert_refused(
        &page(&app, &cm, &receipt).await,
        StatusCode::FORBIDDEN,
        "safety-not-your-household",
    );
    let (s, refused, _) = assert_unchanged!(
        app.snapshot().await,
        form(&app, &cm, &form_path, &[("status", "safe")]).await
    );
    assert_refused(&(s, &refused), StatusCode::FORBIDDEN, "safety-not-your-household");
    assert_eq!(safety::store::history(&app.kernel.db, &id, &hh).await.unwrap().len(), 2);
}

#[tokio::test]
async fn all_safe_with_someone_hurt_asks_first_and_the_receipt_shows_what_was_recorded() {
    let app = spawn_demo_app().await;
    let kaicho = app.token_for("kaicho").await;
    let (_, round) = post(
        &app,
        &kaicho,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "地震の安否確認"}),
    )
    .await;
    let id = round["id"].as_str().unwrap().to_string();
    let hh = household_of(&app, "tanaka").await;
    let me = app.person_of("tanaka").await;
    let tanaka = session_cookie(&app, "tanaka").await;
    let answer = format!("/safety/{id}/answer");
    let member = format!("member.{me}");
    let comment = format!("comment.{me}");

    // 全員無事 with tanaka marked けが: a question, and nothing recorded yet.
    let (s, html, _) = form(
        &app,
        &tanaka,
        &answer,
        &[("status", "safe"), (&member, "injured"), (&comment, "足をくじいた")],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("けがをした人がいます。『助けが必要』として送りますか?"),
        "{html}"
    );
    assert!(html.contains("『助けが必要』として送る") && html.contains("戻って直す"));
    assert!(html.contains("value=\"足をくじいた\""), "what was typed rides along");
    assert!(
        safety::store::history(&app.kernel.db, &id, &hh)
            .await
            .unwrap()
            .is_empty()
    );

    // 戻って直す: the form again, as it was filled in.
    let (s, html, _) = form(
        &app,
        &tanaka,
        &answer,
        &[
            (&member, "injured"),
            (&comment, "足をくじいた"),
            ("confirmed", "1"),
            ("edit", "1"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("value=\"injured\" checked") && html.contains("value=\"足をくじいた\""),
        "{html}"
    );
    assert!(
        safety::store::history(&app.kernel.db, &id, &hh)
            .await
            .unwrap()
            .is_empty()
    );

    // 『助けが必要』として送る: recorded, and the receipt says what.
    let (s, _, location) = form(
        &app,
        &tanaka,
        &answer,
        &[
            (&member, "injured"),
            (&comment, "足をくじいた"),
            ("confirmed", "1"),
            ("status", "help"),
        ],
    )
    .await;
    assert_eq!(
        (s, location.as_deref()),
        (StatusCode::SEE_OTHER, Some(format!("/safety/{id}/receipt").as_str()))
    );
    let history = safety::store::history(&app.kernel.db, &id, &hh).await.unwrap();
    assert_eq!((history.len(), history[0].status.as_str()), (1, "help"));
    let (s, html) = page(&app, &tanaka, &format!("/safety/{id}/receipt")).await;
    assert_eq!(s, StatusCode::OK);
    let at = kernel::web::render::human_time(kernel::i18n::Lang::Ja, history[0].answered_at);
    for seen in [
        "回答を受け付けました",
        "助けが必要",
        "けが",
        "足をくじいた",
        at.as_str(),
        "(ウェブ)",
        "回答を直す",
    ] {
        assert!(html.contains(seen), "{seen} in {html}");
    }
    assert!(!html.contains("代わりに回答"), "tanaka answered herself");
    // Changing it starts from what was recorded.
    let (_, html) = page(&app, &tanaka, &answer).await;
    assert!(html.contains("value=\"injured\" checked"), "{html}");

    // 全員無事 with nobody hurt needs no question.
    let (s, _, _) = form(&app, &tanaka, &answer, &[("status", "safe"), (&member, "safe")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&app, &tanaka, &format!("/safety/{id}/receipt")).await;
    assert!(html.contains("<strong>全員無事</strong>"), "{html}");
}

/// The audit entries about a round with this action.
async fn entries(app: &TestApp, round: &str, action: &str) -> Vec<kernel::model::audit::AuditEntry> {
    kernel::store::audit::page(&app.kernel.db, 0, 1_000_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action && e.resource == format!("safety/{round}"))
        .collect()
}

/// Each use case commits what it changed or read together with the audit entry that records it:
/// after it, both are there; refused, neither.
#[tokio::test]
async fn each_use_case_commits_its_change_or_read_with_its_audit_entry() {
    let app = spawn_demo_app().await;
    let kaicho = app.token_for("kaicho").await;
    let kaicho_id = app.person_of("kaicho").await;

    // Starting a round: the round and who started it.
    let (s, round) = post(
        &app,
        &kaicho,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "訓練の安否確認"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{round}");
    let id = round["id"].as_str().unwrap().to_string();
    assert_eq!(
        safety::store::require(&app.kernel.db, &id).await.unwrap().title,
        "訓練の安否確認"
    );
    let started = entries(&app, &id, "safety.start").await;
    assert_eq!(started.len(), 1, "{started:?}");
    assert_eq!(
        (started[0].actor_id.as_deref(), started[0].reason.as_deref()),
        (Some(kaicho_id.as_str()), Some("13999-1"))
    );

    // Family answering for tanaka's household: the answer and the entry in tanaka's log.
    tanaka_circle_with_family(&app).await;
    let sato = app.token_for("sato").await;
    let sato_id = app.person_of("sato").await;
    let tanaka_id = app.person_of("tanaka").await;
    let hh = household_of(&app, "tanaka").await;
    let (s, a) = post(
        &app,
        &sato,
        &format!("/safety/rounds/{id}/households/{hh}/answers"),
        json!({"status": "help"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    let history = safety::store::history(&app.kernel.db, &id, &hh).await.unwrap();
    assert_eq!(
        (history.len(), history[0].proxy_by.as_deref()),
        (1, Some(sato_id.as_str()))
    );
    let proxied = entries(&app, &id, "safety.proxy_answer").await;
    assert_eq!(proxied.len(), 1, "{proxied:?}");
    assert_eq!(
        (
            proxied[0].actor_id.as_deref(),
            proxied[0].subject_id.as_deref(),
            proxied[0].reason.as_deref()
        ),
        (Some(sato_id.as_str()), Some(tanaka_id.as_str()), Some(hh.as_str()))
    );

    // Reading the follow-up list: the list, and one entry saying how many households it named.
    let (s, f) = get(&app, &kaicho, &format!("/safety/rounds/{id}/follow-up")).await;
    assert_eq!(s, StatusCode::OK, "{f}");
    let listed = f["households"].as_array().unwrap().len();
    assert!(listed >= 1, "tanaka's household asked for help: {f}");
    let read = entries(&app, &id, "safety.follow_up").await;
    assert_eq!(read.len(), 1, "{read:?}");
    assert_eq!(read[0].actor_id.as_deref(), Some(kaicho_id.as_str()));
    assert_eq!(read[0].reason.as_deref(), Some(format!("{listed} households").as_str()));

    // Sending someone to visit, and how the visit went: each with its entry.
    let visit = format!("/safety/rounds/{id}/households/{hh}/visit");
    let (s, body) = crate::common::put(&app, &kaicho, &visit, json!({"visitor_id": kaicho_id})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, body) = post(&app, &kaicho, &format!("{visit}/outcome"), json!({"outcome": "safe"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (_, f) = get(&app, &kaicho, &format!("/safety/rounds/{id}/follow-up")).await;
    assert!(
        f["households"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["household_id"] == hh.as_str() && h["outcome"] == "safe"),
        "{f}"
    );
    for action in ["safety.visit", "safety.visit_outcome"] {
        let e = entries(&app, &id, action).await;
        assert_eq!(e.len(), 1, "{action}: {e:?}");
        assert_eq!(e[0].reason.as_deref(), Some(hh.as_str()));
    }

    // The export with households: the CSV, and its entry.
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/safety/rounds/{id}/export.csv")))
        .bearer_auth(&kaicho)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(csv.contains(&format!("\"{hh}\"")), "{csv}");
    assert_eq!(entries(&app, &id, "safety.export").await.len(), 1);

    // A resident may neither read the list nor export: refused, and nothing is logged.
    let tanaka = app.token_for("tanaka").await;
    let logged = kernel::store::audit::page(&app.kernel.db, 0, 1_000_000)
        .await
        .unwrap()
        .len();
    let (s, e) = get(&app, &tanaka, &format!("/safety/rounds/{id}/follow-up")).await;
    assert_refused(&(s, &e), StatusCode::FORBIDDEN, "forbidden");
    let (s, e) = get(&app, &tanaka, &format!("/safety/rounds/{id}/export.csv")).await;
    assert_refused(&(s, &e), StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        kernel::store::audit::page(&app.kernel.db, 0, 1_000_000)
            .await
            .unwrap()
            .len(),
        logged
    );
}
