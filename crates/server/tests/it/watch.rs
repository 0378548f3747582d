//! Watch-over (見守り) through HTTP: a circle started by a family member and consented to by the
//! person; the training gate; a missed check-in walking up the ladder under the test clock and
//! stopping at 「今から訪問します」; two nodes sweeping at once opening one escalation; device
//! signals over HTTP and from a real Mosquitto resetting the timer; the broker down while HTTP
//! keeps working; the contact allow-list holding a stranger's message for the guardian; audited
//! reads. SQLite, and PostgreSQL when MACHI_TEST_DATABASE says so.

use kernel::Clock;
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::testing::{TestApp, spawn_app_with, spawn_demo_app};

use crate::common::{api, assert_refused, get, page, post, put, session_cookie};

/// A device reports with its own token.
async fn signal(app: &TestApp, device_token: &str, body: Value) -> StatusCode {
    signal_answer(app, device_token, body).await.0
}

/// A device reports with its own token: the status and the body (an error's code).
async fn signal_answer(app: &TestApp, device_token: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/watch/signals"))
        .bearer_auth(device_token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (res.status(), res.json().await.unwrap_or(Value::Null))
}

/// A device added to a circle by one of its members; the answer carries its token (shown once).
async fn add_device(app: &TestApp, member: &str, circle: &str, id: &str, kind: &str) -> Value {
    let (s, d) = post(
        app,
        member,
        &format!("/watch/circles/{circle}/devices"),
        json!({"id": id, "kind": kind}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    d
}

/// A rule on the circle: a signal expected every hour, 30 minutes' grace.
async fn hourly_rule(app: &TestApp, member: &str, circle: &str) {
    let (s, r) = post(
        app,
        member,
        &format!("/watch/circles/{circle}/rules"),
        json!({"kind": "period", "period_minutes": 60, "grace_minutes": 30}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
}

/// Who has been called for an escalation, in order.
async fn called(app: &TestApp, escalation: &str) -> Vec<String> {
    watch::store::calls(&app.kernel.db, escalation)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, name, _)| name)
        .collect()
}

async fn name_of(app: &TestApp, login: &str) -> String {
    let id = app.person_of(login).await;
    kernel::store::people::get(&app.kernel.db, &id)
        .await
        .unwrap()
        .unwrap()
        .display_name
}

/// sato (the daughter, another household) starts a circle around her mother tanaka, who consents.
async fn tanakas_circle(app: &TestApp) -> (String, String, String) {
    let sato = app.token_for("sato").await;
    let tanaka = app.token_for("tanaka").await;
    let (s, c) = post(
        app,
        &sato,
        "/watch/circles",
        json!({"name": "田中 ハナ", "birth_date": "1938-04-12", "role": "family"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert!(c["consent_id"].is_null(), "someone else's circle waits for consent");
    let id = c["id"].as_str().unwrap().to_string();
    // The daughter cannot consent for her mother; only the person (or a named guardian) can.
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(app, &sato, &format!("/watch/circles/{id}/consent"), json!({})).await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let (s, c) = post(app, &tanaka, &format!("/watch/circles/{id}/consent"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert!(c["consent_id"].is_string());
    (id, sato, tanaka)
}

/// tanaka's circle (sato's, with tanaka's consent) and the people of the ladder.
struct Ladder {
    app: TestApp,
    circle: String,
    sato: String,
    tanaka: String,
    caremgr: String,
    fukushi: String,
    supporter_id: String,
    caremgr_id: String,
}

#[tokio::test]
async fn a_missed_check_in_walks_up_the_ladder_and_stops_at_the_acknowledgement() {
    let app = spawn_demo_app().await;
    let (circle, sato, tanaka) = tanakas_circle(&app).await;
    let l = Ladder {
        caremgr: app.token_for("caremgr").await,
        fukushi: app.token_for("fukushi").await,
        supporter_id: app.person_of("supporter").await,
        caremgr_id: app.person_of("caremgr").await,
        circle,
        sato,
        tanaka,
        app,
    };
    nobody_outside_the_circle_sees_it(&l).await;
    only_the_trained_go_on_the_ladder(&l).await;
    bad_rules_are_refused_and_an_hourly_rule_is_kept(&l).await;
    let esc = silence_calls_sato_then_the_care_manager(&l).await;
    the_care_manager_goes_and_the_ladder_stops(&l, &esc).await;
    the_bulb_reports_and_bad_signals_are_refused(&l).await;
    a_check_in_before_anyone_goes_closes_the_call(&l).await;
    the_ladder_ends_at_the_desk_and_a_silent_visitor_is_chased(&l).await;
    member_reads_are_audited_for_tanaka(&l).await;
}

/// Nobody outside the circle sees it, and learns nothing about the person.
async fn nobody_outside_the_circle_sees_it(l: &Ladder) {
    let Ladder { app, circle, .. } = l;
    let kaicho = app.token_for("kaicho").await;
    let (s, body) = get(app, &kaicho, &format!("/watch/circles/{circle}")).await;
    assert_refused(&(s, &body), StatusCode::FORBIDDEN, "forbidden");
    assert!(!body.to_string().contains("田中"));
}

/// The care manager is second on the ladder; the supporter cannot be put on it untrained, nor
/// with an expired training; only the welfare desk records trainings.
async fn only_the_trained_go_on_the_ladder(l: &Ladder) {
    let Ladder {
        app,
        circle,
        sato,
        fukushi,
        supporter_id,
        caremgr_id,
        ..
    } = l;
    let (s, _) = put(
        app,
        sato,
        &format!("/watch/circles/{circle}/members/{caremgr_id}"),
        json!({"role": "care_manager", "ladder": 2}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        put(
            app,
            sato,
            &format!("/watch/circles/{circle}/members/{supporter_id}"),
            json!({"role": "supporter", "ladder": 3}),
        )
        .await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "watch-training-missing");
    assert_eq!(e["error"]["code"], "watch-training-missing", "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("研修"),
        "says why: {e}"
    );
    // The welfare desk records an expired training: still refused, with the date.
    let (s, _) = post(
        app,
        fukushi,
        "/watch/trainings",
        json!({"person_id": supporter_id, "organisation": "みどり市社会福祉協議会", "taken_on": "2024-04-01", "expires_on": "2025-03-31"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        put(
            app,
            sato,
            &format!("/watch/circles/{circle}/members/{supporter_id}"),
            json!({"role": "supporter", "ladder": 3}),
        )
        .await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "watch-training-expired");
    assert!(e["error"]["message"].as_str().unwrap().contains("2025-03-31"));
    // Only the welfare desk records trainings.
    let (s, refusal) = assert_unchanged!(app.snapshot().await, post(
        app,
        sato,
        "/watch/trainings",
        json!({"person_id": supporter_id, "organisation": "x", "taken_on": "2026-04-01", "expires_on": "2027-03-31"}),
    )
    .await);
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    post(
        app,
        fukushi,
        "/watch/trainings",
        json!({"person_id": supporter_id, "organisation": "みどり市社会福祉協議会", "taken_on": "2026-04-01", "expires_on": "2027-03-31"}),
    )
    .await;
    let (s, _) = put(
        app,
        sato,
        &format!("/watch/circles/{circle}/members/{supporter_id}"),
        json!({"role": "supporter", "ladder": 3}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "trained: on the ladder");
}

/// Bad rules are refused with a message naming the field; then a signal expected every hour, 30 minutes' grace.
async fn bad_rules_are_refused_and_an_hourly_rule_is_kept(l: &Ladder) {
    let Ladder { app, circle, sato, .. } = l;
    for (rule, key) in [
        (
            json!({"kind": "period", "period_minutes": 1440, "grace_minutes": 0}),
            "watch-rule-grace-zero",
        ),
        (
            json!({"kind": "period", "period_minutes": 8 * 1440, "grace_minutes": 60}),
            "watch-rule-period-too-long",
        ),
        (
            json!({"kind": "daily", "due": "25:00", "grace_minutes": 30}),
            "watch-rule-due-invalid",
        ),
    ] {
        let (s, e) = assert_unchanged!(
            app.snapshot().await,
            post(app, sato, &format!("/watch/circles/{circle}/rules"), rule.clone()).await
        );
        assert_refused(&(s, &e), StatusCode::BAD_REQUEST, key);
        assert!(!e["error"]["message"].as_str().unwrap().is_empty());
    }
    // A signal expected every hour, 30 minutes' grace.
    hourly_rule(app, sato, circle).await;
}

/// 89 minutes of silence: not yet; 91: the first contact (sato) is called, on her screens and by
/// e-mail; 30 minutes without 「今から訪問します」: the care manager. The escalation.
async fn silence_calls_sato_then_the_care_manager(l: &Ladder) -> String {
    let Ladder { app, .. } = l;
    let k = &app.kernel;
    // 89 minutes of silence: not yet.
    app.clock.advance(89 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    assert!(watch::store::open_escalations(&k.db).await.unwrap().is_empty());
    // 91: the first contact (sato) is called, on her screens and by e-mail.
    app.clock.advance(2 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    let open = watch::store::open_escalations(&k.db).await.unwrap();
    assert_eq!(open.len(), 1, "one miss, one escalation");
    let esc = open[0].id.clone();
    assert_eq!(called(app, &esc).await, vec![name_of(app, "sato").await]);
    let sato_id = app.person_of("sato").await;
    let notices = watch::store::notices(&k.db, &sato_id, 10).await.unwrap();
    assert!(notices[0].subject.contains("田中"), "{:?}", notices[0]);
    // Ticks in between call nobody new.
    app.clock.advance(29 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    assert_eq!(called(app, &esc).await.len(), 1);
    // 30 minutes without 「今から訪問します」: the care manager.
    app.clock.advance(60_000);
    watch::jobs::tick(k).await.unwrap();
    assert_eq!(
        called(app, &esc).await,
        vec![name_of(app, "sato").await, name_of(app, "caremgr").await]
    );

    esc
}

/// The care manager goes: the ladder stops there; a second member finds someone already on the
/// way, named; the visit's outcome closes it and the same silence does not open another.
async fn the_care_manager_goes_and_the_ladder_stops(l: &Ladder, esc: &str) {
    let Ladder {
        app,
        sato,
        caremgr,
        caremgr_id,
        ..
    } = l;
    let k = &app.kernel;
    let (s, e) = post(
        app,
        caremgr,
        &format!("/watch/escalations/{esc}/acknowledge"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    assert_eq!(e["acknowledged_by"], caremgr_id.as_str());
    // A second member finds someone already on the way, named.
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(app, sato, &format!("/watch/escalations/{esc}/acknowledge"), json!({})).await
    );
    assert_refused(&(s, &e), StatusCode::CONFLICT, "watch-already-visiting");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&name_of(app, "caremgr").await),
        "{e}"
    );
    app.clock.advance(90 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    assert_eq!(
        called(app, esc).await.len(),
        2,
        "nobody called after the acknowledgement"
    );
    // The visit's outcome closes it; the same silence does not open another.
    let (s, _) = post(
        app,
        caremgr,
        &format!("/watch/escalations/{esc}/outcome"),
        json!({"outcome": "safe", "note": "転んで起き上がれずにいた。けがなし。"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    watch::jobs::tick(k).await.unwrap();
    assert!(watch::store::open_escalations(&k.db).await.unwrap().is_empty());
}

/// The bulb starts reporting over HTTP with its token; bad input is refused.
async fn the_bulb_reports_and_bad_signals_are_refused(l: &Ladder) {
    let Ladder { app, circle, sato, .. } = l;
    let k = &app.kernel;
    let d = add_device(app, sato, circle, "bulb-7001", "bulb").await;
    let token = d["token"].as_str().unwrap().to_string();
    assert_refused(
        &assert_unchanged!(
            app.snapshot().await,
            signal_answer(app, "mdev_nonsense", json!({"value": "on"})).await
        ),
        StatusCode::UNAUTHORIZED,
        "watch-device-unknown",
    );
    let future = app.clock.now_ms() + 3_600_000;
    assert_refused(
        &assert_unchanged!(
            app.snapshot().await,
            signal_answer(app, &token, json!({"value": "on", "at": future})).await
        ),
        StatusCode::BAD_REQUEST,
        "watch-signal-future",
    );
    assert_eq!(signal(app, &token, json!({"value": "on"})).await, StatusCode::ACCEPTED);
    let (last, _) = watch::store::signals::state(k, &app.person_of("tanaka").await)
        .await
        .unwrap();
    assert_eq!(last, Some(app.clock.now_ms()));
}

/// Silent again past the period: a new call; the person presses 「元気です」 before anyone goes.
async fn a_check_in_before_anyone_goes_closes_the_call(l: &Ladder) {
    let Ladder { app, tanaka, .. } = l;
    let k = &app.kernel;
    app.clock.advance(91 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    let open = watch::store::open_escalations(&k.db).await.unwrap();
    assert_eq!(open.len(), 1);
    let (s, _) = post(app, tanaka, "/watch/checkin", json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    watch::jobs::tick(k).await.unwrap();
    let closed = watch::store::get_escalation(&k.db, &open[0].id).await.unwrap().unwrap();
    assert_eq!(closed.outcome.as_deref(), Some("signal"));
}

/// The ladder's end: with nobody acknowledging, the welfare desk is called last. Someone says they
/// are going but never records what they found: after two hours the desk is called again, and
/// the visitor is reminded.
async fn the_ladder_ends_at_the_desk_and_a_silent_visitor_is_chased(l: &Ladder) {
    let Ladder { app, sato, .. } = l;
    let k = &app.kernel;
    let sato_id = app.person_of("sato").await;
    app.clock.advance(91 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    let esc = watch::store::open_escalations(&k.db).await.unwrap()[0].id.clone();
    for _ in 0..4 {
        app.clock.advance(30 * 60_000);
        watch::jobs::tick(k).await.unwrap();
    }
    let calls = called(app, &esc).await;
    assert_eq!(
        calls.len(),
        4,
        "sato, the care manager, the supporter, the welfare desk: {calls:?}"
    );
    assert_eq!(calls[3], name_of(app, "fukushi").await);
    // Someone says they are going but never records what they found: after two hours the desk is
    // called again, and the visitor is reminded.
    let fukushi_id = app.person_of("fukushi").await;
    let sato_notices = watch::store::notices(&k.db, &sato_id, 50).await.unwrap().len();
    let (s, _) = post(app, sato, &format!("/watch/escalations/{esc}/acknowledge"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let desk_before = watch::store::notices(&k.db, &fukushi_id, 50).await.unwrap().len();
    app.clock.advance(2 * 3_600_000 + 60_000);
    watch::jobs::tick(k).await.unwrap();
    watch::jobs::tick(k).await.unwrap();
    assert_eq!(
        watch::store::notices(&k.db, &fukushi_id, 50).await.unwrap().len(),
        desk_before + 1
    );
    assert!(watch::store::notices(&k.db, &sato_id, 50).await.unwrap().len() > sato_notices);
    let e = watch::store::get_escalation(&k.db, &esc).await.unwrap().unwrap();
    assert!(e.acknowledged_at.is_none() && e.closed_at.is_none());
}

/// Reads by members are audited with tanaka as subject: she sees them on her my page.
async fn member_reads_are_audited_for_tanaka(l: &Ladder) {
    let Ladder {
        app,
        circle,
        caremgr,
        caremgr_id,
        ..
    } = l;
    let k = &app.kernel;
    let audit = kernel::store::audit::about_person(&k.db, &app.person_of("tanaka").await, 200)
        .await
        .unwrap();
    let (s, _) = get(app, caremgr, &format!("/watch/circles/{circle}")).await;
    assert_eq!(s, StatusCode::OK);
    let after = kernel::store::audit::about_person(&k.db, &app.person_of("tanaka").await, 200)
        .await
        .unwrap();
    assert_eq!(after.len(), audit.len() + 1);
    assert_eq!(after[0].action, "watch.read");
    assert_eq!(after[0].actor_id.as_deref(), Some(caremgr_id.as_str()));
}

#[tokio::test]
async fn two_nodes_sweeping_at_once_open_one_escalation_per_miss() {
    let app = spawn_demo_app().await;
    let (circle, sato, _) = tanakas_circle(&app).await;
    hourly_rule(&app, &sato, &circle).await;
    let (_, peer) = server::testing::spawn_peer(&app).await;
    app.clock.advance(91 * 60_000);
    let (mut a, mut b) = (watch::jobs::Tick::default(), watch::jobs::Tick::default());
    let (ra, rb) = tokio::join!(
        watch::jobs::detect(&app.kernel, &mut a),
        watch::jobs::detect(&peer, &mut b)
    );
    ra.unwrap();
    rb.unwrap();
    // (A node's own background pass may have opened it first.)
    assert!(a.opened + b.opened <= 1, "{a:?} {b:?}");
    assert_eq!(
        watch::store::open_escalations(&app.kernel.db).await.unwrap().len(),
        1,
        "one miss, one escalation"
    );
    // The same miss found again, by either node, opens nothing more.
    for k in [&app.kernel, &peer] {
        let mut t = watch::jobs::Tick::default();
        watch::jobs::detect(k, &mut t).await.unwrap();
        assert_eq!(t.opened, 0);
    }
    assert_eq!(watch::store::open_escalations(&app.kernel.db).await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_mqtt_signal_from_mosquitto_resets_the_timer() {
    use rumqttc::{AsyncClient, Event, MqttOptions, QoS};
    let broker = crate::common::broker();
    let app = spawn_app_with(crate::common::mqtt_config("machi-watch-test"), true).await;
    let k = &app.kernel;
    let tanaka = app.token_for("tanaka").await;
    // tanaka starts her own circle: her consent is recorded at once.
    let (s, c) = post(
        &app,
        &tanaka,
        "/watch/circles",
        json!({"person_id": app.person_of("tanaka").await}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert!(c["consent_id"].is_string());
    let circle = c["id"].as_str().unwrap().to_string();
    let run = k.new_id().to_lowercase();
    let device = format!("kettle-{}", &run[run.len() - 8..]);
    let d = add_device(&app, &tanaka, &circle, &device, "kettle").await;
    assert_eq!(d["mqtt_topic"], format!("machi/signals/{device}"));
    post(
        &app,
        &tanaka,
        &format!("/watch/circles/{circle}/rules"),
        json!({"kind": "period", "period_minutes": 60, "grace_minutes": 30}),
    )
    .await;
    for _ in 0..300 {
        if k.health.is_reachable(server::channels::mqtt::CHANNEL) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (s, st) = get(&app, &tanaka, "/watch/status").await;
    assert_eq!((s, st["mqtt_broker"].as_str()), (StatusCode::OK, Some("connected")));

    // 80 minutes in, the kettle is switched on and says so through the broker.
    app.clock.advance(80 * 60_000);
    let (client, mut events) = AsyncClient::new(MqttOptions::new(format!("dev-{run}"), broker.0, broker.1), 16);
    tokio::spawn(async move {
        while let Ok(_e) = events.poll().await {
            let _: Event = _e;
        }
    });
    let token = d["token"].as_str().unwrap().to_string();
    // Anyone can publish on a topic: a payload without the device's token is ignored.
    client
        .publish(format!("machi/signals/{device}"), QoS::AtLeastOnce, false, "on")
        .await
        .unwrap();
    client
        .publish(
            format!("machi/signals/{device}"),
            QoS::AtLeastOnce,
            false,
            "mdev_forged on",
        )
        .await
        .unwrap();
    client
        .publish(
            format!("machi/signals/{device}"),
            QoS::AtLeastOnce,
            false,
            format!("{token} on"),
        )
        .await
        .unwrap();
    let person = app.person_of("tanaka").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (last, _) = watch::store::signals::state(k, &person).await.unwrap();
        if last.is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the MQTT signal reached machi within 15 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let kept = watch::store::signals::recent(k, &person, 0, 10).await.unwrap();
    assert_eq!(kept.len(), 1, "only the signal with the device's token: {kept:?}");
    let devices = watch::store::devices(&k.db, &circle).await.unwrap();
    assert_eq!(devices[0].last_value.as_deref(), Some("on"));
    assert!(devices[0].on_since.is_some());

    // 100 minutes after watching began — but only 20 after the kettle: no call.
    app.clock.advance(20 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    assert!(
        watch::store::open_escalations(&k.db).await.unwrap().is_empty(),
        "the signal reset the timer"
    );
    // 91 minutes after the kettle: called (for the hourly rule; by now, 11:51, the default
    // 「元気です」 by 10:00 rule has also called, for its own reason).
    app.clock.advance(71 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    let open = watch::store::open_escalations(&k.db).await.unwrap();
    assert_eq!(open.iter().filter(|e| e.reason == "period").count(), 1, "{open:?}");
}

#[tokio::test]
async fn with_the_broker_down_devices_still_report_over_http_and_the_job_says_so() {
    let config = kernel::config::Config {
        mqtt: Some(kernel::config::MqttConfig {
            // Nothing listens here.
            host: "127.0.0.1".into(),
            port: 9,
            client_id: "machi-watch-down".into(),
            username: None,
            password: None,
        }),
        ..Default::default()
    };
    let app = spawn_app_with(config, true).await;
    let tanaka = app.token_for("tanaka").await;
    let (_, c) = post(
        &app,
        &tanaka,
        "/watch/circles",
        json!({"person_id": app.person_of("tanaka").await}),
    )
    .await;
    let circle = c["id"].as_str().unwrap();
    let d = add_device(&app, &tanaka, circle, "door-down-1", "door").await;
    assert_eq!(
        signal(&app, d["token"].as_str().unwrap(), json!({"value": "open"})).await,
        StatusCode::ACCEPTED
    );
    let t = watch::jobs::tick(&app.kernel).await.unwrap();
    assert_eq!(t.broker, Some(false), "the job reports the broker unreachable");
    let (_, st) = get(&app, &tanaka, "/watch/status").await;
    assert_eq!(st["mqtt_broker"], "unreachable");
}

#[tokio::test]
async fn a_strangers_message_waits_for_the_guardian_and_the_person_sees_it() {
    let app = spawn_demo_app().await;
    let (circle, sato, tanaka) = tanakas_circle(&app).await;
    let shop = app.token_for("shop").await;
    let tanaka_id = app.person_of("tanaka").await;
    let sato_id = app.person_of("sato").await;
    let shop_id = app.person_of("shop").await;
    // Family cannot name themselves guardian; tanaka names sato.
    let (s, refusal) = api(
        &app,
        &sato,
        reqwest::Method::PATCH,
        &format!("/watch/circles/{circle}"),
        Some(json!({"guardian_id": sato_id})),
    )
    .await;
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let (s, _) = api(
        &app,
        &tanaka,
        reqwest::Method::PATCH,
        &format!("/watch/circles/{circle}"),
        Some(json!({"guardian_id": sato_id})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // The shop is not on tanaka's list: held, and the guardian is told.
    let (s, m) = post(
        &app,
        &shop,
        "/watch/messages",
        json!({"to": tanaka_id, "body": "還付金があります。ATMへ"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(m["state"], "held", "the sender is told it waits for the family: {m}");
    let msg = m["id"].as_str().unwrap().to_string();
    let stored = watch::store::get_message(&app.kernel.db, &msg).await.unwrap().unwrap();
    assert_eq!(stored.state, "held");
    assert!(
        watch::store::notices(&app.kernel.db, &sato_id, 10)
            .await
            .unwrap()
            .iter()
            .any(|n| n.subject.contains("保留"))
    );
    // The terminal does not show it; the person sees it held on her circle page.
    let cookie = session_cookie(&app, "tanaka").await;
    let mine: Value = reqwest::Client::new()
        .get(app.url("/watch/mine"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["messages"].as_array().unwrap().len(), 0);
    let (_, view) = get(&app, &tanaka, &format!("/watch/circles/{circle}")).await;
    assert_eq!(view["held_messages"][0]["state"], "held");
    assert!(view["held_messages"][0]["body"].is_null(), "not the text: {view}");
    let (_, view) = get(&app, &sato, &format!("/watch/circles/{circle}")).await;
    assert_eq!(view["held_messages"][0]["body"], "還付金があります。ATMへ");
    // Only the guardian decides.
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &tanaka,
            &format!("/watch/messages/{msg}/decision"),
            json!({"approve": true}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let (s, _) = post(
        &app,
        &sato,
        &format!("/watch/messages/{msg}/decision"),
        json!({"approve": false}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &sato,
            &format!("/watch/messages/{msg}/decision"),
            json!({"approve": true}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::CONFLICT, "watch-message-decided"); // decided once

    // The guardian puts the shop on the list: both are told, and the shop's messages now arrive.
    let (s, _) = put(
        &app,
        &sato,
        &format!("/watch/circles/{circle}/contacts/{shop_id}"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for who in [&tanaka_id, &sato_id] {
        assert!(
            watch::store::notices(&app.kernel.db, who, 10)
                .await
                .unwrap()
                .iter()
                .any(|n| n.subject.contains("連絡先リスト")),
            "{who} told of the change"
        );
    }
    let (s, m) = post(
        &app,
        &shop,
        "/watch/messages",
        json!({"to": tanaka_id, "body": "ご注文の野菜を届けます"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let stored = watch::store::get_message(&app.kernel.db, m["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.state, "delivered");
    let mine: Value = reqwest::Client::new()
        .get(app.url("/watch/mine"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["messages"][0]["body"], "ご注文の野菜を届けます");
    // The person may not change her list herself here; the guardian does. Bad input is named.
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        put(
            &app,
            &tanaka,
            &format!("/watch/circles/{circle}/contacts/{shop_id}"),
            json!({}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(&app, &shop, "/watch/messages", json!({"to": tanaka_id, "body": "  "})).await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "watch-message-invalid");
}

#[tokio::test]
async fn listening_visits_missed_show_to_the_care_manager_and_the_terminal_says_genki() {
    let app = spawn_demo_app().await;
    let (circle, sato, _) = tanakas_circle(&app).await;
    let supporter_id = app.person_of("supporter").await;
    let caremgr_id = app.person_of("caremgr").await;
    put(
        &app,
        &sato,
        &format!("/watch/circles/{circle}/members/{caremgr_id}"),
        json!({"role": "care_manager"}),
    )
    .await;
    put(
        &app,
        &sato,
        &format!("/watch/circles/{circle}/members/{supporter_id}"),
        json!({"role": "listening_volunteer"}),
    )
    .await;
    // Untrained: the schedule is refused with the reason.
    let sched = json!({"volunteer_id": supporter_id, "kind": "call", "weekday": 2, "time": "14:00"});
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &sato,
            &format!("/watch/circles/{circle}/schedules"),
            sched.clone(),
        )
        .await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "watch-training-missing");
    let fukushi = app.token_for("fukushi").await;
    post(
        &app,
        &fukushi,
        "/watch/trainings",
        json!({"person_id": supporter_id, "organisation": "NPO ささえあい", "taken_on": "2026-04-01", "expires_on": "2027-03-31"}),
    )
    .await;
    let (s, _) = post(&app, &sato, &format!("/watch/circles/{circle}/schedules"), sched).await;
    assert_eq!(s, StatusCode::CREATED);
    // Two weeks pass without a logged call: the care manager's page shows them missed.
    app.clock.advance(15 * 86_400_000);
    let cookie = session_cookie(&app, "caremgr").await;
    let page = reqwest::Client::new()
        .get(app.url(&format!("/watch/{circle}")))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"watch-missed\""), "missed calls listed");
    assert!(html.contains("<svg class=\"sparkline\""), "the timeline is drawn");

    // The terminal: 「元気です」 from the form counts as a check-in.
    let cookie = session_cookie(&app, "tanaka").await;
    let terminal = reqwest::Client::new()
        .get(app.url("/terminal"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(terminal.contains("id=\"watch-checkin\""));
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/watch/checkin"))
        .header("Cookie", &cookie)
        .form(&[("csrf", "a".repeat(64).as_str()), ("back", "/terminal")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, checkin) = watch::store::signals::state(&app.kernel, &app.person_of("tanaka").await)
        .await
        .unwrap();
    assert_eq!(checkin, Some(app.clock.now_ms()));
}

#[tokio::test]
async fn only_members_and_the_desk_see_a_circle() {
    let app = spawn_demo_app().await;
    let (circle, _, tanaka) = tanakas_circle(&app).await;
    for (login, expected) in [
        ("fukushi", StatusCode::OK),
        ("sato", StatusCode::OK),
        ("kaicho", StatusCode::FORBIDDEN),
        ("shop", StatusCode::FORBIDDEN),
        ("bousai", StatusCode::FORBIDDEN),
    ] {
        let token = app.token_for(login).await;
        let (s, body) = get(&app, &token, &format!("/watch/circles/{circle}")).await;
        if expected == StatusCode::OK {
            assert_eq!(s, expected, "{login}");
        } else {
            assert_refused(&(s, &body), expected, "forbidden");
        }
    }
    // An unknown circle looks the same as a forbidden one.
    let (s, refusal) = get(&app, &tanaka, "/watch/circles/01NOSUCHCIRCLE").await;
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    // A second circle for the same person is refused.
    let sato = app.token_for("sato").await;
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &sato,
            "/watch/circles",
            json!({"name": "田中 ハナ", "birth_date": "1938-04-12", "role": "family"}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::CONFLICT, "watch-circle-exists");
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &sato,
            "/watch/circles",
            json!({"name": "誰か", "birth_date": "1900-01-01"}),
        )
        .await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "watch-person-not-found");
}

#[tokio::test]
async fn taking_back_consent_stops_the_watching_and_the_person_can_close_the_circle() {
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    let (circle, sato, tanaka) = tanakas_circle(&app).await;
    let d = add_device(&app, &sato, &circle, "motion-9001", "motion").await;
    let token = d["token"].as_str().unwrap().to_string();
    post(
        &app,
        &sato,
        &format!("/watch/circles/{circle}/rules"),
        json!({"kind": "period", "period_minutes": 60, "grace_minutes": 30}),
    )
    .await;
    assert_eq!(
        signal(&app, &token, json!({"value": "motion"})).await,
        StatusCode::ACCEPTED
    );

    // tanaka takes her consent back on her my page.
    let c = watch::store::require(&k.db, &circle).await.unwrap();
    kernel::store::consents::withdraw(k, &app.person_of("tanaka").await, c.consent_id.as_deref().unwrap())
        .await
        .unwrap();
    assert_refused(
        &assert_unchanged!(
            app.snapshot().await,
            signal_answer(&app, &token, json!({"value": "motion"})).await
        ),
        StatusCode::CONFLICT,
        "watch-not-watched",
    ); // nothing is kept
    let (_, view) = get(&app, &sato, &format!("/watch/circles/{circle}")).await;
    assert!(view["last_signal_at"].is_null(), "her days are no longer shown: {view}");
    app.clock.advance(3 * 3_600_000);
    watch::jobs::tick(k).await.unwrap();
    assert!(
        watch::store::open_escalations(&k.db).await.unwrap().is_empty(),
        "and nobody is called"
    );

    // Only she (or the desk) may end the circle; then a new one can be started.
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(&app, &sato, &format!("/watch/circles/{circle}/close"), json!({})).await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let (s, _) = post(&app, &tanaka, &format!("/watch/circles/{circle}/close"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, c) = post(
        &app,
        &tanaka,
        "/watch/circles",
        json!({"person_id": app.person_of("tanaka").await}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
}

/// The signal writer keeps the devices it has heard (on SQLite); a device retired, or a circle
/// closed, after its devices were heard must still count at the very next signal.
#[tokio::test]
async fn a_device_heard_before_is_refused_once_retired_or_its_circle_closed() {
    let app = spawn_demo_app().await;
    let (circle, sato, tanaka) = tanakas_circle(&app).await;
    let bulb = add_device(&app, &sato, &circle, "bulb-7001", "bulb").await;
    let door = add_device(&app, &sato, &circle, "door-7002", "door").await;
    let (bulb, door) = (bulb["token"].as_str().unwrap(), door["token"].as_str().unwrap());
    for _ in 0..2 {
        assert_eq!(signal(&app, bulb, json!({"value": "on"})).await, StatusCode::ACCEPTED);
        assert_eq!(signal(&app, door, json!({"value": "open"})).await, StatusCode::ACCEPTED);
    }

    let (s, _) = api(
        &app,
        &sato,
        reqwest::Method::DELETE,
        &format!("/watch/circles/{circle}/devices/bulb-7001"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_refused(
        &assert_unchanged!(
            app.snapshot().await,
            signal_answer(&app, bulb, json!({"value": "off"})).await
        ),
        StatusCode::UNAUTHORIZED,
        "watch-device-unknown",
    ); // a retired device's token stops at once
    assert_eq!(
        signal(&app, door, json!({"value": "close"})).await,
        StatusCode::ACCEPTED
    );

    let (s, _) = post(&app, &tanaka, &format!("/watch/circles/{circle}/close"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_refused(
        &assert_unchanged!(
            app.snapshot().await,
            signal_answer(&app, door, json!({"value": "open"})).await
        ),
        StatusCode::CONFLICT,
        "watch-not-watched",
    ); // nothing is kept once the circle is closed
    // On SQLite, signals the writer holds are in its log until applied.
    watch::store::signals::settle(&app.kernel).await.unwrap();
    let kept: i64 = kernel::on_db!(&app.kernel.db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM watch_signals WHERE device_id IN ('bulb-7001', 'door-7002')"
    )
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(kept, 5, "two rounds of two devices, and the door once more");
}

/// On SQLite the signal writer checkpoints the WAL itself (after replying, not inside the
/// commit): signal after signal, the WAL restarts instead of growing. (PostgreSQL has no WAL
/// of ours to look at.)
#[tokio::test]
async fn the_signal_writer_keeps_the_wal_from_growing() {
    // SQLite's own threshold, so that a few thousand signals cross it (the default is 16,000).
    let mut config = kernel::config::Config::default();
    config.set_section(
        "watch",
        &watch::config::WatchConfig {
            checkpoint_frames: 1000,
            ..Default::default()
        },
    );
    let app = spawn_app_with(config, true).await;
    let kernel::Db::Sqlite(pool) = &app.kernel.db else {
        return;
    };
    let wal = format!("{}-wal", pool.connect_options().get_filename().display());
    let (circle, sato, _) = tanakas_circle(&app).await;
    let bulb = add_device(&app, &sato, &circle, "bulb-7101", "bulb").await;
    let hash = watch::store::hash_token(bulb["token"].as_str().unwrap());
    let writer = watch::store::signals::writer(&app.kernel);
    let now = app.clock.now_ms();
    // One at a time: each its own transaction, a few WAL frames each (4 KiB pages).
    for i in 0..2_000 {
        let r = writer
            .submit(watch::store::signals::Incoming {
                sender: watch::store::signals::Sender::TokenHash(hash.clone()),
                value: if i % 2 == 0 { "on" } else { "off" }.into(),
                at: now - 2_000 + i,
            })
            .await
            .unwrap();
        assert!(matches!(r, watch::store::signals::Ingested::Stored { .. }), "{r:?}");
    }
    let bytes = std::fs::metadata(&wal).unwrap().len();
    // Unchecked, 2,000 transactions of three or more frames would make it 24 MB and more (36 MB
    // measured). A checkpoint is asked for past 1,000 frames (4 KiB each), the writer steps in
    // itself past 3,000, and the transaction after a complete checkpoint starts the WAL over.
    assert!(bytes < 13_000_000, "the WAL is {bytes} bytes");
}

#[tokio::test]
async fn signals_older_than_keep_signals_days_are_forgotten_by_the_job() {
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    let tanaka = app.token_for("tanaka").await;
    let tanaka_id = app.person_of("tanaka").await;
    let (_, c) = post(&app, &tanaka, "/watch/circles", json!({"person_id": tanaka_id})).await;
    let circle = c["id"].as_str().unwrap();
    let d = add_device(&app, &tanaka, circle, "bulb-keep-1", "bulb").await;
    let token = d["token"].as_str().unwrap().to_string();
    assert_eq!(signal(&app, &token, json!({"value": "on"})).await, StatusCode::ACCEPTED);
    app.clock.advance(20 * 86_400_000);
    assert_eq!(
        signal(&app, &token, json!({"value": "off"})).await,
        StatusCode::ACCEPTED
    );
    let kept = |since| watch::store::signals::recent(k, &tanaka_id, since, 10);
    assert_eq!(kept(0).await.unwrap().len(), 2);

    // 29 days after the first: both kept (30 by default).
    app.clock.advance(9 * 86_400_000);
    assert_eq!(watch::jobs::tick(k).await.unwrap().forgotten, 0);
    // 31 days: the first is forgotten, the second (11 days old) stays.
    app.clock.advance(2 * 86_400_000);
    assert_eq!(watch::jobs::tick(k).await.unwrap().forgotten, 1);
    let left = kept(0).await.unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].value, "off");
    // The person's latest times are not signals: the state the sweep reads is untouched.
    let (last, _) = watch::store::signals::state(k, &tanaka_id).await.unwrap();
    assert_eq!(last, Some(left[0].at));
}

/// Many devices at once: on SQLite the writer holds a busy batch's signals a moment before
/// applying them to the person's state and the devices. Whoever reads next — the circle's page,
/// the sweep — sees every signal that was answered, whichever way the batches fell.
#[tokio::test]
async fn a_burst_of_signals_is_seen_by_the_circle_page_and_the_sweep_once_answered() {
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    let (circle, sato, _) = tanakas_circle(&app).await;
    hourly_rule(&app, &sato, &circle).await;
    let mut tokens = Vec::new();
    for i in 0..12 {
        let d = add_device(&app, &sato, &circle, &format!("burst-{i:02}"), "bulb").await;
        tokens.push(d["token"].as_str().unwrap().to_string());
    }
    // Past the rule's hour and half hour of grace since watching began: only the burst below
    // keeps the sweep from flagging tanaka.
    app.clock.advance(100 * 60_000);
    let now = app.clock.now_ms();
    // Each device on, off, on (a second apart), all 36 at once.
    let app_ref = &app;
    let sends = tokens.iter().flat_map(|token| {
        ["on", "off", "on"].into_iter().enumerate().map(move |(n, value)| {
            let at = now - 3_000 + n as i64 * 1_000;
            signal(app_ref, token, json!({"value": value, "at": at}))
        })
    });
    for s in futures_util::future::join_all(sends).await {
        assert_eq!(s, StatusCode::ACCEPTED);
    }

    let (s, view) = get(&app, &sato, &format!("/watch/circles/{circle}")).await;
    assert_eq!(s, StatusCode::OK, "{view}");
    assert_eq!(view["last_signal_at"], now - 1_000, "{view}");
    let devices = view["devices"].as_array().unwrap();
    assert_eq!(devices.len(), 12);
    for d in devices {
        assert_eq!(d["last_value"], "on", "{d}");
        assert_eq!(d["last_at"], now - 1_000, "{d}");
        // On since the "on" after the "off", not the first.
        assert_eq!(d["on_since"], now - 1_000, "{d}");
    }

    let t = watch::jobs::tick(k).await.unwrap();
    assert_eq!(t.opened, 0, "{t:?}");
    assert!(watch::store::open_escalations(&k.db).await.unwrap().is_empty());
}

/// A form posted by the holder of `cookie` (redirects not followed): status, Location, HTML.
async fn form(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String, String) {
    let p = crate::common::form(app, cookie, path, fields).await;
    (p.status, p.location().to_string(), p.body)
}

const SCAM: &str = "還付金があります。今日中に 03-5555-0199 へお電話ください";

#[tokio::test]
async fn a_held_scam_is_hidden_from_the_watched_person_and_her_family_decides_without_a_guardian() {
    let app = spawn_demo_app().await;
    let (circle, sato, tanaka) = tanakas_circle(&app).await;
    let k = &app.kernel;
    let tanaka_id = app.person_of("tanaka").await;
    let sato_id = app.person_of("sato").await;
    assert!(
        watch::store::require(&k.db, &circle)
            .await
            .unwrap()
            .guardian_id
            .is_none(),
        "no guardian named"
    );

    // A stranger sends the scam from the message page: told it waits for the family, not 「送りました」.
    let shop = session_cookie(&app, "shop").await;
    let (s, _, html) = form(
        &app,
        &shop,
        "/watch/messages/new",
        &[("name", "田中 ハナ"), ("birth_date", "1938-04-12"), ("body", SCAM)],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("ご家族の確認を待っています"), "{html}");
    assert!(!html.contains("送りました"));
    let held = watch::store::messages_to(&k.db, &tanaka_id, false, 10).await.unwrap();
    assert_eq!((held.len(), held[0].state.as_str()), (1, "held"));
    let msg = held[0].id.clone();

    // The family is told at once: on the screen (notice) and by e-mail through the outbox.
    let notices = watch::store::notices(&k.db, &sato_id, 10).await.unwrap();
    assert!(notices.iter().any(|n| n.subject.contains("保留")), "{notices:?}");
    let mailed: i64 = kernel::on_db!(&k.db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE $1 AND channel = 'email'"
    )
    .bind(format!("watch:message:{msg}%"))
    .fetch_one(p)
    .await)
    .unwrap();
    assert_eq!(mailed, 1, "sato is e-mailed");

    // tanaka: not the text, not the number — only who wrote and that her family is checking.
    let (_, view) = get(&app, &tanaka, &format!("/watch/circles/{circle}")).await;
    assert_eq!(view["held_messages"][0]["from_name"], "井上 勇");
    assert!(view["held_messages"][0]["body"].is_null(), "{view}");
    assert!(!view.to_string().contains("03-5555-0199"));
    let hana = session_cookie(&app, "tanaka").await;
    let (_, mine) = page(&app, &hana, "/watch/mine").await;
    assert!(!mine.contains("還付金") && !mine.contains("03-5555-0199"), "{mine}");
    let mine: Value = serde_json::from_str(&mine).unwrap();
    assert_eq!(mine["messages"].as_array().unwrap().len(), 0);
    let waiting = mine["waiting"][0].as_str().unwrap();
    assert!(
        waiting.contains("井上 勇さんから連絡がありました") && waiting.contains("ご家族が確認しています"),
        "{waiting}"
    );
    for path in [
        format!("/watch/{circle}"),
        "/watch".into(),
        "/terminal".into(),
        "/me".into(),
    ] {
        let (s, html) = page(&app, &hana, &path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(
            !html.contains("還付金") && !html.contains("03-5555-0199"),
            "{path} shows the scam"
        );
    }
    let (_, html) = page(&app, &hana, &format!("/watch/{circle}")).await;
    assert!(html.contains("井上 勇さんからの連絡が届いています。ご家族が確認してからお見せします。"));
    assert!(!html.contains("/decision"), "the person has no decision buttons");
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &tanaka,
            &format!("/watch/messages/{msg}/decision"),
            json!({"approve": true}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");

    // sato (family, no guardian named) reads it and refuses it from the circle page.
    let daughter = session_cookie(&app, "sato").await;
    let (_, html) = page(&app, &daughter, &format!("/watch/{circle}")).await;
    assert!(html.contains(SCAM), "the family reads the text");
    assert!(html.contains(&format!("/watch/messages/{msg}/decision")));
    let (s, to, _) = form(
        &app,
        &daughter,
        &format!("/watch/messages/{msg}/decision"),
        &[("decision", "reject")],
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, format!("/watch/{circle}?done=message").as_str())
    );
    let m = watch::store::get_message(&k.db, &msg).await.unwrap().unwrap();
    assert_eq!(m.state, "rejected");
    let (_, html) = page(&app, &daughter, &format!("/watch/{circle}?done=message")).await;
    assert!(html.contains("保留中の連絡を処理しました") && html.contains("届けませんでした"));
    // Refused: tanaka still never sees it.
    let (_, view) = get(&app, &tanaka, &format!("/watch/circles/{circle}")).await;
    assert!(view["held_messages"][0]["body"].is_null());
    let (_, mine) = page(&app, &hana, "/watch/mine").await;
    assert!(!mine.contains("03-5555-0199"));

    // A member of the circle writes: delivered at once, and the sender reads 「送りました」.
    let (s, _, html) = form(
        &app,
        &daughter,
        "/watch/messages/new",
        &[
            ("name", "田中 ハナ"),
            ("birth_date", "1938-04-12"),
            ("body", "夕方に寄ります"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("送りました") && !html.contains("ご家族の確認を待っています"));

    // Once tanaka names a guardian, it is the guardian's to decide; the welfare desk no longer may.
    let (s, m) = post(&app, &sato, "/watch/messages", json!({"to": tanaka_id, "body": "x"})).await;
    assert_eq!((s, m["state"].as_str()), (StatusCode::CREATED, Some("delivered")));
    let fukushi = app.token_for("fukushi").await;
    let (s, m) = post(
        &app,
        &fukushi,
        "/watch/messages",
        json!({"to": tanaka_id, "body": SCAM}),
    )
    .await;
    assert_eq!((s, m["state"].as_str()), (StatusCode::CREATED, Some("held")));
    let second = m["id"].as_str().unwrap().to_string();
    let (s, _) = api(
        &app,
        &tanaka,
        reqwest::Method::PATCH,
        &format!("/watch/circles/{circle}"),
        Some(json!({"guardian_id": sato_id})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &fukushi,
            &format!("/watch/messages/{second}/decision"),
            json!({"approve": true}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(
        watch::store::get_message(&k.db, &second).await.unwrap().unwrap().state,
        "held"
    );
    let (s, _) = post(
        &app,
        &sato,
        &format!("/watch/messages/{second}/decision"),
        json!({"approve": false}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_new_circle_starts_with_the_default_rules_and_the_person_answers_on_the_terminal() {
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    // The care manager proposes a circle around 鈴木 茂 (kaicho's login).
    let care = app.token_for("caremgr").await;
    let (s, c) = post(
        &app,
        &care,
        "/watch/circles",
        json!({"name": "鈴木 茂", "birth_date": "1952-03-25", "role": "care_manager"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let circle = c["id"].as_str().unwrap().to_string();
    let (_, view) = get(&app, &care, &format!("/watch/circles/{circle}")).await;
    let rules = view["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 2, "{view}");
    assert!(
        rules
            .iter()
            .any(|r| r["kind"] == "daily" && r["due_minute"] == 600 && r["source"] == "checkin")
    );
    assert!(
        rules
            .iter()
            .any(|r| r["kind"] == "period" && r["period_minutes"] == 1440 && r["source"] == "any")
    );
    let cm = session_cookie(&app, "caremgr").await;
    let (_, html) = page(&app, &cm, &format!("/watch/{circle}")).await;
    assert!(html.contains("毎日 10:00 までに「元気です」(猶予 60 分)"), "shown");
    assert!(html.contains("24時間に1回は合図があること"));
    assert!(
        html.contains(&format!("/watch/{circle}/rules/")),
        "and can be removed (changed)"
    );

    // 鈴木さん's terminal asks him, with two big buttons posting without script.
    let shigeru = session_cookie(&app, "kaicho").await;
    let (_, terminal) = page(&app, &shigeru, "/terminal").await;
    assert!(terminal.contains("id=\"watch-consent-question\""));
    assert!(terminal.contains("はい、見守ってもらう") && terminal.contains(">いいえ<"));
    assert!(terminal.contains("action=\"/watch/answer\""));
    let (_, mine) = page(&app, &shigeru, "/watch/mine").await;
    let mine: Value = serde_json::from_str(&mine).unwrap();
    assert_eq!(mine["watched"], false);
    assert_eq!(
        mine["consent_question"],
        "中村 恵子さんが、あなたの見守りを始めたいと言っています。"
    );
    // A wrong answer is named, and nothing changes.
    let (s, _, html) = assert_unchanged!(
        app.snapshot().await,
        form(
            &app,
            &shigeru,
            "/watch/answer",
            &[("answer", "maybe"), ("back", "/terminal")],
        )
        .await
    );
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "watch-answer-invalid");
    assert!(
        watch::store::require(&k.db, &circle)
            .await
            .unwrap()
            .consent_id
            .is_none()
    );
    let (s, to, _) = form(
        &app,
        &shigeru,
        "/watch/answer",
        &[("answer", "yes"), ("back", "/terminal")],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/terminal?done=consent"));
    assert!(watch::store::watching(&k.db, &circle).await.unwrap());
    let (_, mine) = page(&app, &shigeru, "/watch/mine").await;
    let mine: Value = serde_json::from_str(&mine).unwrap();
    assert_eq!(
        (mine["watched"].as_bool(), mine["consent_question"].is_null()),
        (Some(true), true)
    );
    let (_, terminal) = page(&app, &shigeru, "/terminal?done=consent").await;
    assert!(terminal.contains("見守りが始まりました。"));
    // Nothing left to answer.
    let (s, _, html) = assert_unchanged!(
        app.snapshot().await,
        form(&app, &shigeru, "/watch/answer", &[("answer", "no")]).await
    );
    assert_refused(&(s, &html), StatusCode::CONFLICT, "watch-nothing-to-answer");
    assert!(watch::store::watching(&k.db, &circle).await.unwrap());

    // Someone else says no: the proposed circle closes and whoever proposed it is told.
    let sato = app.token_for("sato").await;
    let (s, c) = post(
        &app,
        &sato,
        "/watch/circles",
        json!({"name": "井上 勇", "birth_date": "1960-09-03", "role": "family"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let other = c["id"].as_str().unwrap().to_string();
    let isamu = session_cookie(&app, "shop").await;
    let (s, to, _) = form(
        &app,
        &isamu,
        "/watch/answer",
        &[("answer", "no"), ("back", "/terminal")],
    )
    .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/terminal?done=declined"));
    let closed = watch::store::require(&k.db, &other).await.unwrap();
    assert!(closed.closed_at.is_some() && closed.consent_id.is_none());
    let told = watch::store::notices(&k.db, &app.person_of("sato").await, 10)
        .await
        .unwrap();
    assert!(
        told.iter().any(|n| n.subject.contains("見守りを希望されませんでした")),
        "{told:?}"
    );
}

#[tokio::test]
async fn the_demo_town_ships_tanakas_circle_as_a_living_example() {
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    assert!(watch::demo::load(k).await.unwrap());
    assert!(!watch::demo::load(k).await.unwrap(), "loaded once");
    let tanaka_id = app.person_of("tanaka").await;
    let c = watch::store::of_person(&k.db, &tanaka_id).await.unwrap().unwrap();
    assert!(watch::store::watching(&k.db, &c.id).await.unwrap(), "consented");
    let members: Vec<(String, String, Option<i64>)> = watch::store::members(&k.db, &c.id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.display_name, m.role, m.ladder))
        .collect();
    assert_eq!(
        members,
        vec![
            ("佐藤 由美".into(), "family".into(), Some(1)),
            ("中村 恵子".into(), "care_manager".into(), Some(2)),
            ("伊藤 翔太".into(), "supporter".into(), None),
        ]
    );
    assert_eq!(watch::store::rules(&k.db, &c.id).await.unwrap().len(), 2);
    let devices = watch::store::devices(&k.db, &c.id).await.unwrap();
    assert_eq!(
        (devices.len(), devices[0].id.as_str(), devices[0].kind.as_str()),
        (1, "bulb-0001", "bulb")
    );
    let recent = watch::store::signals::recent(k, &tanaka_id, app.clock.now_ms() - 48 * 3_600_000, 500)
        .await
        .unwrap();
    assert!(recent.len() >= 12, "two days of signals: {}", recent.len());
    assert!(recent.iter().any(|s| s.source == "bulb") && recent.iter().any(|s| s.source == "checkin"));
    // A calm example: nothing is missed, so nobody is called.
    watch::jobs::tick(k).await.unwrap();
    assert!(watch::store::open_escalations(&k.db).await.unwrap().is_empty());

    // sato's page: the people by name, the bulb in words, a readable timeline.
    let cookie = session_cookie(&app, "sato").await;
    let (s, html) = page(&app, &cookie, &format!("/watch/{}", c.id)).await;
    assert_eq!(s, StatusCode::OK);
    for words in [
        "佐藤 由美",
        "中村 恵子",
        "伊藤 翔太",
        "電球 1",
        "最後の合図",
        "消灯",
        "毎日 10:00 までに「元気です」",
    ] {
        assert!(html.contains(words), "{words}");
    }
    assert!(!html.contains("bulb-0001"), "no raw device id");
    let svg = &html[html.find("<svg class=\"sparkline\"").unwrap()..];
    let attr = |name: &str| -> usize {
        svg.split(&format!(" {name}=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(attr("width") >= 600 && attr("height") >= 120);
    assert!(svg.contains("<title id=\"spark-title\">48時間の合図(1時間ごと)</title>"));
    assert!(svg.contains("<desc id=\"spark-desc\">48時間のうち"));
    assert!(svg.contains(">6時<") && svg.contains(">12時<"), "hours on the axis");
    // Dates as people write them; no ISO timestamps.
    assert!(!html.contains("2026-11-"), "no ISO dates");
}

/// Starting a circle writes the circle, its default rules and the entry recording it in one
/// transaction: with the entry impossible nothing is written; otherwise all of it is.
#[tokio::test]
async fn a_circle_is_started_only_with_its_audit_entry() {
    let app = spawn_demo_app().await;
    let sato = app.token_for("sato").await;
    let body = json!({"name": "田中 ハナ", "birth_date": "1938-04-12", "role": "family"});
    let head = crate::api::break_audit(&app).await;
    let (s, v) = assert_unchanged!(
        app.snapshot().await,
        post(&app, &sato, "/watch/circles", body.clone()).await
    );
    assert_refused(&(s, &v), StatusCode::INTERNAL_SERVER_ERROR, "internal");
    crate::api::mend_audit(&app, head).await;
    let (s, c) = post(&app, &sato, "/watch/circles", body).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let id = c["id"].as_str().unwrap();
    let k = &app.kernel;
    assert!(watch::store::get(&k.db, id).await.unwrap().is_some());
    assert_eq!(
        watch::store::rules(&k.db, id).await.unwrap().len(),
        watch::model::rule::defaults().len()
    );
    let e = crate::api::last_entry(&app).await;
    assert_eq!(
        (e.action.as_str(), e.resource, e.subject_id),
        (
            "watch.create",
            format!("watch/{id}"),
            Some(app.person_of("tanaka").await)
        )
    );
    assert!(kernel::store::audit::verify(&k.db).await.unwrap().is_ok());
}
