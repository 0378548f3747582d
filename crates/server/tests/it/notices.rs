//! Notices in the recipient's language: a resident who chose English on the settings page
//! receives aid, watch and safety notices in English — on the screen (the `web` channel, which
//! the SSE notice shows) and by e-mail (read back from the test SMTP server) — while a resident
//! who chose nothing receives them in Japanese, worded as before. SQLite, and PostgreSQL when
//! MACHI_TEST_DATABASE says so.

use reqwest::StatusCode;
use serde_json::json;
use server::testing::{SmtpSink, TestApp, spawn_app_with};

use crate::common::{post, put, session_cookie};

/// The demo town, e-mailing through a local SMTP server that keeps what it receives.
async fn app_with_mail() -> (TestApp, SmtpSink) {
    let sink = SmtpSink::start(std::time::Duration::ZERO).await;
    let config = kernel::config::Config {
        smtp: Some(sink.config()),
        ..Default::default()
    };
    (spawn_app_with(config, true).await, sink)
}

/// `login` chooses English on the settings page and gives an e-mail address (with consent to
/// its purpose), as a resident does; returns their person id.
async fn speaks_english(app: &TestApp, login: &str, email: &str) -> String {
    let cookie = session_cookie(app, login).await;
    let csrf = "a".repeat(64);
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/settings"))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str()), ("lang", "en"), ("back", "/me")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    gives_email(app, login, email).await
}

/// `login` gives an e-mail address with consent to its purpose; returns their person id.
async fn gives_email(app: &TestApp, login: &str, email: &str) -> String {
    let token = app.token_for(login).await;
    let (s, e) = put(
        app,
        &token,
        "/me/contacts",
        json!({"kind": "email", "value": email, "consent": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    app.person_of(login).await
}

/// What the outbox holds for a person from `source`, oldest first: (channel, subject, body).
async fn received(app: &TestApp, person: &str, source: &str) -> Vec<(String, String, String)> {
    kernel::on_db!(&app.kernel.db, |p| sqlx::query_as::<_, (String, String, String)>(
        "SELECT channel, subject, body FROM outbox WHERE person_id = $1 AND source = $2 ORDER BY created_at, id"
    )
    .bind(person)
    .bind(source)
    .fetch_all(p)
    .await)
    .unwrap()
}

/// The subjects shown on a person's screens (`web` channel) from `source`, oldest first.
async fn on_screen(app: &TestApp, person: &str, source: &str) -> Vec<String> {
    received(app, person, source)
        .await
        .into_iter()
        .filter(|(channel, ..)| channel == "web")
        .map(|(_, subject, _)| subject)
        .collect()
}

/// Quoted-printable as the SMTP server received it (lines joined by `\n`), decoded.
fn unquote(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        if bytes[i] == b'='
            && let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The e-mails the SMTP server received for `address` (waiting up to ten seconds for
/// `at_least` of them), each decoded: headers, a blank line, the body.
async fn mails_to(sink: &SmtpSink, address: &str, at_least: usize) -> Vec<String> {
    for _ in 0..200 {
        let got: Vec<String> = sink
            .messages
            .lock()
            .unwrap()
            .iter()
            .filter(|m| {
                m.lines()
                    .any(|l| l.to_ascii_lowercase().starts_with("to:") && l.contains(address))
            })
            .map(|m| unquote(m))
            .collect();
        if got.len() >= at_least {
            return got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no e-mail to {address}");
}

#[tokio::test]
async fn aid_notices_reach_each_person_in_their_language() {
    let (app, sink) = app_with_mail().await;
    // tanaka reads English; the supporter chose no language (Japanese).
    let tanaka_id = speaks_english(&app, "tanaka", "hana.en@example.jp").await;
    let supporter_id = app.person_of("supporter").await;
    let tanaka = app.token_for("tanaka").await;
    let supporter = app.token_for("supporter").await;
    let (s, p) = put(
        &app,
        &supporter,
        "/aid/supporters/me",
        json!({"categories": ["shopping"], "radius_m": 5000, "availability": ["5:08:00-12:00"]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (s, r) = post(
        &app,
        &tanaka,
        "/aid/requests",
        json!({"category": "shopping", "date": "2026-11-28", "start": "10:00", "duration_minutes": 60,
               "description": "米10kgを買ってきてほしい", "fee_per_hour": 600}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    let hana = kernel::store::people::get(&app.kernel.db, &tanaka_id)
        .await
        .unwrap()
        .unwrap()
        .display_name;
    let helper = kernel::store::people::get(&app.kernel.db, &supporter_id)
        .await
        .unwrap()
        .unwrap()
        .display_name;

    // Asked to help (Japanese, worded as before); offers; tanaka hears of it in English.
    let (s, _) = post(
        &app,
        &tanaka,
        &format!("/aid/requests/{id}/invite"),
        json!({"supporter_id": supporter_id}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        on_screen(&app, &supporter_id, "aid").await,
        vec![format!("【共助】{hana}さんが「買い物」の手伝いを探しています")]
    );
    let (s, e) = post(&app, &supporter, &format!("/aid/requests/{id}/offer"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    assert_eq!(
        on_screen(&app, &tanaka_id, "aid").await,
        vec![format!("[Mutual aid] {helper} has offered to help")]
    );
    let mail = &mails_to(&sink, "hana.en@example.jp", 1).await[0];
    assert!(
        mail.contains(&format!("{helper} has offered to help with your request."))
            && mail.contains(&format!("/aid/requests/{id}")),
        "{mail}"
    );
    assert!(!mail.contains("申し出"), "no Japanese sentence: {mail}");

    // tanaka accepts: the supporter is told in Japanese, as before.
    let (s, r) = post(
        &app,
        &tanaka,
        &format!("/aid/requests/{id}/accept"),
        json!({"supporter_id": supporter_id}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let told = received(&app, &supporter_id, "aid").await;
    let (_, subject, body) = told.iter().rev().find(|(c, ..)| c == "web").unwrap();
    assert_eq!(subject, &format!("【共助】{hana}さんがあなたにお願いしました"));
    assert!(
        body.starts_with(&format!(
            "{hana}さんがあなたの申し出を受けました。連絡先と場所は下のページで見られます。\n\n"
        )),
        "{body}"
    );
}

#[tokio::test]
async fn watch_calls_reach_each_person_in_their_language() {
    let (app, sink) = app_with_mail().await;
    let k = &app.kernel;
    // sato (the daughter, first on the ladder) reads English; the care manager Japanese.
    let sato_id = speaks_english(&app, "sato", "sato.en@example.jp").await;
    let caremgr_id = app.person_of("caremgr").await;
    let sato = app.token_for("sato").await;
    let tanaka = app.token_for("tanaka").await;
    let caremgr = app.token_for("caremgr").await;
    let (s, c) = post(
        &app,
        &sato,
        "/watch/circles",
        json!({"name": "田中 ハナ", "birth_date": "1938-04-12", "role": "family"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let circle = c["id"].as_str().unwrap().to_string();
    let (s, _) = post(&app, &tanaka, &format!("/watch/circles/{circle}/consent"), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = put(
        &app,
        &sato,
        &format!("/watch/circles/{circle}/members/{caremgr_id}"),
        json!({"role": "care_manager", "ladder": 2}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, r) = post(
        &app,
        &sato,
        &format!("/watch/circles/{circle}/rules"),
        json!({"kind": "period", "period_minutes": 60, "grace_minutes": 30}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");

    // 91 minutes of silence: sato is called, in English, on her screens and by e-mail.
    app.clock.advance(91 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    assert_eq!(
        on_screen(&app, &sato_id, "watch").await,
        vec!["[Watch-over] 田中 ハナ: no sign within the set time".to_string()]
    );
    let mail = &mails_to(&sink, "sato.en@example.jp", 1).await[0];
    assert!(
        mail.contains("In watching over 田中 ハナ: no sign within the set time.")
            && mail.contains("press \"I'm going to visit now\" on the page below")
            && mail.contains(&format!("/watch/{circle}")),
        "{mail}"
    );
    // 30 minutes on: the care manager is called, in Japanese, worded as before.
    app.clock.advance(30 * 60_000);
    watch::jobs::tick(k).await.unwrap();
    let told = received(&app, &caremgr_id, "watch").await;
    let (_, subject, body) = told.iter().find(|(c, ..)| c == "web").unwrap();
    assert_eq!(subject, "【見守り】田中 ハナさん: 決めた時間のあいだ合図がありません");
    assert!(
        body.starts_with(
            "田中 ハナさんの見守りで、決めた時間のあいだ合図がありません。\n見守りの輪の連絡先としてお知らせしています。\n\n\
             様子を見に行ける方は、下のページで「今から訪問します」を押してください。\n"
        ),
        "{body}"
    );

    // The care manager goes: sato is told in English.
    let esc = watch::store::open_escalations(&k.db).await.unwrap()[0].id.clone();
    let (s, e) = post(
        &app,
        &caremgr,
        &format!("/watch/escalations/{esc}/acknowledge"),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{e}");
    let visitor = kernel::store::people::get(&k.db, &caremgr_id)
        .await
        .unwrap()
        .unwrap()
        .display_name;
    assert_eq!(
        on_screen(&app, &sato_id, "watch").await.last().unwrap(),
        &format!("[Watch-over] {visitor} is going to visit 田中 ハナ")
    );
    // The watch page lists the same notice, as sato reads it.
    let notices = watch::store::notices(&k.db, &sato_id, 10).await.unwrap();
    assert!(notices[0].subject.starts_with("[Watch-over]"), "{notices:?}");
}

#[tokio::test]
async fn safety_questions_and_escalations_reach_each_person_in_their_language() {
    let (app, sink) = app_with_mail().await;
    // tanaka reads English; kaicho (same district) chose no language.
    let tanaka_id = speaks_english(&app, "tanaka", "hana.en@example.jp").await;
    // Her daughter sato, first on the ladder of tanaka's watch-over circle, reads English too.
    let sato_id = speaks_english(&app, "sato", "sato.en@example.jp").await;
    let sato = app.token_for("sato").await;
    let (s, c) = post(
        &app,
        &sato,
        "/watch/circles",
        json!({"name": "田中 ハナ", "birth_date": "1938-04-12", "role": "family"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let tanaka = app.token_for("tanaka").await;
    let circle = c["id"].as_str().unwrap();
    post(&app, &tanaka, &format!("/watch/circles/{circle}/consent"), json!({})).await;
    let bousai = app.token_for("bousai").await;
    let (s, round) = post(
        &app,
        &bousai,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "Earthquake drill"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{round}");
    let id = round["id"].as_str().unwrap();
    let source = format!("safety:{id}");

    let mine = received(&app, &tanaka_id, &source).await;
    let (channel, subject, body) = mine
        .iter()
        .find(|(c, ..)| c == "email")
        .expect("tanaka is asked by e-mail");
    assert_eq!(
        (channel.as_str(), subject.as_str()),
        ("email", "[Safety check] Earthquake drill")
    );
    assert!(
        body.contains("Please tell us whether your family is safe.") && body.contains("/safety/a/"),
        "{body}"
    );
    let mail = &mails_to(&sink, "hana.en@example.jp", 1).await[0];
    assert!(
        mail.contains("Subject: [Safety check] Earthquake drill")
            && mail.contains("choose \"Everyone is safe\" or \"We need help\" (no login needed)")
            && mail.contains("This link works only once."),
        "{mail}"
    );

    // Everyone else asked chose no language: Japanese, worded as before.
    let others: Vec<(String, String)> = kernel::on_db!(&app.kernel.db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT subject, body FROM outbox WHERE source = $1 AND channel = 'email' AND person_id <> $2"
    )
    .bind(&source)
    .bind(&tanaka_id)
    .fetch_all(p)
    .await)
    .unwrap();
    assert!(!others.is_empty(), "the district has other residents with e-mail");
    for (subject, body) in &others {
        assert_eq!(subject, "【安否確認】Earthquake drill");
        assert!(
            body.starts_with(
                "【安否確認】Earthquake drill\n\nご家族の安否を教えてください。ご家族のどなたか1人が、世帯全員の分を回答できます。\n"
            ),
            "{body}"
        );
    }

    // tanaka (要支援者) stays silent: the escalation reaches sato in English, others in Japanese.
    let k = &app.kernel;
    app.clock
        .advance((safety::config::of(k).escalate_after_secs as i64 + 1) * 1000);
    safety::jobs::tick(k).await.unwrap();
    let household = kernel::store::households::get(&k.db, &household_of(&app, "tanaka").await)
        .await
        .unwrap()
        .unwrap()
        .name;
    let escalation = |person: String| {
        let source = source.clone();
        async move {
            kernel::on_db!(&k.db, |p| sqlx::query_as::<_, (String, String)>(
                "SELECT subject, body FROM outbox WHERE source = $1 AND channel = 'email' AND dedupe_key LIKE $2"
            )
            .bind(&source)
            .bind(format!("%:escalate:%:{person}"))
            .fetch_all(p)
            .await)
            .unwrap()
        }
    };
    let to_sato = escalation(sato_id.clone()).await;
    assert_eq!(to_sato.len(), 1, "sato is told");
    assert_eq!(
        to_sato[0].0,
        format!("[Safety check, visit needed] No answer from {household}")
    );
    assert!(
        to_sato[0]
            .1
            .starts_with("Earthquake drill\n\nA household with someone who needs support has not answered yet.\n"),
        "{}",
        to_sato[0].1
    );
    let mail = mails_to(&sink, "sato.en@example.jp", 1).await;
    assert!(
        mail.iter()
            .any(|m| m.contains("Please check on them by visiting or calling, and record the result.")),
        "{mail:?}"
    );
    let to_others: Vec<(String, String)> = escalation("%".into())
        .await
        .into_iter()
        .filter(|(subject, _)| !subject.starts_with("[Safety check"))
        .collect();
    assert!(
        !to_others.is_empty(),
        "other silent households reach people who chose no language"
    );
    for (subject, body) in &to_others {
        assert!(
            subject.starts_with("【安否確認・要訪問】") && subject.ends_with("家から回答がありません"),
            "{subject}"
        );
        assert!(
            body.starts_with("Earthquake drill\n\n要支援者のいる世帯から、まだ回答がありません。\n世帯: "),
            "{body}"
        );
    }
}

async fn household_of(app: &TestApp, login: &str) -> String {
    let person = app.person_of(login).await;
    kernel::store::people::household_of(&app.kernel.db, &person)
        .await
        .unwrap()
        .unwrap()
}
