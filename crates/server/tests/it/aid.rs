//! Mutual aid (共助) through HTTP: a parent asks for a Saturday pick-up; an uncertified
//! supporter is refused with the reason; once certified, the acquainted supporter is suggested
//! first, with why; offer, acceptance (a second acceptance names who was first), done, settlement,
//! receipt and reviews both ways; bad input; the coordinator's queue. SQLite, and PostgreSQL when
//! MACHI_TEST_DATABASE says so.

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::testing::{TestApp, spawn_demo_app};

use crate::common::{api, get, post, session_cookie};

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

/// A supporter's profile: childcare and shopping, Saturday mornings, 5 km, insured for childcare.
async fn profile(app: &TestApp, token: &str) {
    let (s, p) = api(
        app,
        token,
        reqwest::Method::PUT,
        "/aid/supporters/me",
        Some(json!({
            "categories": ["childcare", "shopping"],
            "skills": ["車の運転"],
            "radius_m": 5000,
            "availability": ["5:08:00-12:00"],
            "insured": true,
            "insured_categories": ["childcare"],
        })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
}

#[tokio::test]
async fn a_saturday_pick_up_from_asking_to_reviews() {
    let app = spawn_demo_app().await;
    let parent = app.token_for("kosodate").await;
    let supporter = app.token_for("supporter").await;
    let other = app.token_for("caremgr").await;
    let coordinator = app.token_for("kyodo").await;
    let supporter_id = app.person_of("supporter").await;
    let other_id = app.person_of("caremgr").await;
    let parent_id = app.person_of("kosodate").await;
    profile(&app, &supporter).await;
    profile(&app, &other).await;

    // Bad input: a fee outside the town's range says the range; a time in the past is refused.
    let ask = |fee: i64, date: &str| {
        json!({"category": "childcare", "date": date, "start": "09:30", "duration_minutes": 90,
               "description": "保育園のお迎えと、家まで送ってほしいです。車の運転ができる方だと助かります。", "fee_per_hour": fee})
    };
    let (s, e) = post(&app, &parent, "/aid/requests", ask(900, "2026-11-28")).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "aid-fee-out-of-range"));
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("500") && msg.contains("700"), "{msg}");
    let (s, e) = post(&app, &parent, "/aid/requests", ask(600, "2026-11-20")).await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "aid-time-past"));

    // Saturday 28 November, 09:30–11:00, ¥600 an hour.
    let (s, r) = post(&app, &parent, "/aid/requests", ask(600, "2026-11-28")).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();

    // Nobody is certified for childcare yet: nobody is suggested, and an offer is refused with why.
    let (_, list) = get(&app, &parent, &format!("/aid/requests/{id}/suggestions")).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    let (s, e) = post(
        &app,
        &parent,
        &format!("/aid/requests/{id}/audience"),
        json!({"audience": "nearby"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (s, e) = post(&app, &supporter, &format!("/aid/requests/{id}/offer"), json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "aid-ineligible-certification"));
    assert!(e["error"]["message"].as_str().unwrap().contains("講習"), "{e}");

    // The coordinator records both supporters' childcare course; the parent and 翔太 are 知り合い.
    for person in [&supporter_id, &other_id] {
        let (s, c) = post(
            &app,
            &coordinator,
            "/aid/certifications",
            json!({"person_id": person, "kind": "childcare", "issued_by": "みどり市ファミリー・サポート・センター", "valid_until": "2027-03-31"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
    }
    let (s, _) = post(
        &app,
        &parent,
        "/aid/certifications",
        json!({"person_id": parent_id, "kind": "childcare", "issued_by": "x", "valid_until": "2027-03-31"}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the coordinator certifies");
    let (_, l) = post(&app, &parent, &format!("/aid/links/{supporter_id}"), json!({})).await;
    assert_eq!(l["mutual"], false);
    let (_, l) = post(&app, &supporter, &format!("/aid/links/{parent_id}"), json!({})).await;
    assert_eq!(l["mutual"], true);

    // The acquainted, certified supporter comes first, and the page says why.
    let (s, list) = get(&app, &parent, &format!("/aid/requests/{id}/suggestions")).await;
    assert_eq!(s, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["person_id"], supporter_id.as_str());
    assert_eq!(list[0]["trust"], "mutual");
    let why = list[0]["why"].as_str().unwrap();
    assert!(
        why.contains("知り合い") && why.contains("土曜午前に対応可") && why.contains("km"),
        "{why}"
    );
    assert_eq!(list[1]["trust"], "stranger");
    // Another person cannot see the suggestions.
    let (s, _) = get(&app, &supporter, &format!("/aid/requests/{id}/suggestions")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Both offer; the contact details stay hidden until acceptance.
    for token in [&supporter, &other] {
        let (s, e) = post(
            &app,
            token,
            &format!("/aid/requests/{id}/offer"),
            json!({"message": "行けます"}),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    }
    let (_, v) = get(&app, &supporter, &format!("/aid/requests/{id}")).await;
    assert!(v["contact"].is_null(), "{v}");
    // One takes the offer back and makes it again; the last one taking theirs back would
    // open the request again. The requester hears of it.
    let withdraw = format!("/aid/requests/{id}/withdraw");
    let notices = || async {
        let c = kernel::store::outbox::counts(&app.kernel.db, "aid").await.unwrap();
        c.iter().map(|r| r.2).sum::<i64>()
    };
    let before = notices().await;
    let (s, e) = post(&app, &other, &withdraw, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, v) = get(&app, &parent, &format!("/aid/requests/{id}")).await;
    assert_eq!(v["state"], "offered", "another offer is left: {v}");
    assert_eq!(v["offers"].as_array().unwrap().len(), 1, "{v}");
    let (s, e) = post(&app, &other, &withdraw, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "aid-no-offer-of-yours"));
    let (s, e) = post(&app, &parent, &withdraw, json!({})).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "not the requester's to take back"
    );
    let told_of_withdrawal = notices().await;
    assert!(told_of_withdrawal > before, "the requester is told");
    let (s, e) = post(
        &app,
        &other,
        &format!("/aid/requests/{id}/offer"),
        json!({"message": "やはり行けます"}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    assert!(notices().await > told_of_withdrawal, "the renewed offer is told too");
    let (s, r) = post(
        &app,
        &parent,
        &format!("/aid/requests/{id}/accept"),
        json!({"supporter_id": supporter_id}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["fee_agreed"], 600);
    assert_eq!(r["covered"], 1, "insured for childcare: covered");
    let (s, e) = post(
        &app,
        &parent,
        &format!("/aid/requests/{id}/accept"),
        json!({"supporter_id": other_id}),
    )
    .await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "aid-already-accepted"));
    assert!(
        e["error"]["message"].as_str().unwrap().contains("翔太"),
        "names who was first: {e}"
    );
    // Once accepted, an offer can no longer be taken back.
    let (s, e) = post(&app, &other, &withdraw, json!({})).await;
    assert_eq!((s, code(&e)), (StatusCode::CONFLICT, "aid-wrong-state"));
    let (s, e) = post(&app, &supporter, &withdraw, json!({})).await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::CONFLICT, "aid-wrong-state"),
        "too late for the accepted one too"
    );
    let (_, v) = get(&app, &supporter, &format!("/aid/requests/{id}")).await;
    assert!(
        v["contact"]["name"].is_string(),
        "contact details after acceptance: {v}"
    );
    assert_eq!(v["contact"]["name"], v["requester_name"]);
    let (s, _) = get(&app, &other, &format!("/aid/requests/{id}")).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "after the match only the two see it");

    // A fee change needs both: proposed by one, confirmed by the other (not by the proposer).
    let (s, e) = post(
        &app,
        &supporter,
        &format!("/aid/requests/{id}/fee"),
        json!({"fee_per_hour": 800}),
    )
    .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "aid-fee-out-of-range"));
    post(
        &app,
        &supporter,
        &format!("/aid/requests/{id}/fee"),
        json!({"fee_per_hour": 650}),
    )
    .await;
    let (s, _) = post(
        &app,
        &supporter,
        &format!("/aid/requests/{id}/fee/confirm"),
        json!({"fee_per_hour": 650}),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::CONFLICT,
        "the proposer does not confirm their own proposal"
    );
    let (s, _) = post(
        &app,
        &parent,
        &format!("/aid/requests/{id}/fee/confirm"),
        json!({"fee_per_hour": 650}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    post(
        &app,
        &parent,
        &format!("/aid/requests/{id}/fee"),
        json!({"fee_per_hour": 600}),
    )
    .await;
    post(
        &app,
        &supporter,
        &format!("/aid/requests/{id}/fee/confirm"),
        json!({"fee_per_hour": 600}),
    )
    .await;

    // Reviews wait for the help to be done; done waits for the time.
    let (s, e) = post(
        &app,
        &parent,
        &format!("/aid/requests/{id}/reviews"),
        json!({"rating": 5}),
    )
    .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "aid-review-too-early"));
    let (s, e) = post(
        &app,
        &supporter,
        &format!("/aid/requests/{id}/state"),
        json!({"action": "done"}),
    )
    .await;
    assert_eq!((s, code(&e)), (StatusCode::BAD_REQUEST, "aid-not-started"));
    // Saturday, 11:00.
    app.clock.advance((5 * 24 + 2) * 3_600_000);
    let (s, r) = post(
        &app,
        &supporter,
        &format!("/aid/requests/{id}/state"),
        json!({"action": "done"}),
    )
    .await;
    assert_eq!((s, r["state"].as_str()), (StatusCode::OK, Some("done")));
    let (s, e) = post(
        &app,
        &supporter,
        &format!("/aid/requests/{id}/settlement"),
        json!({"method": "external", "reference": "PAY-1", "amount": 50000}),
    )
    .await;
    assert_eq!(
        (s, code(&e)),
        (StatusCode::BAD_REQUEST, "aid-amount-not-agreed"),
        "one side cannot set the amount"
    );
    let (s, st) = post(
        &app,
        &parent,
        &format!("/aid/requests/{id}/settlement"),
        json!({"method": "cash"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{st}");
    assert_eq!(st["amount"], 900, "¥600 × 1.5 h");
    let (_, v) = get(&app, &supporter, &format!("/aid/requests/{id}")).await;
    assert_eq!(v["state"], "settled");
    assert_eq!(v["settlement"]["amount"], 900, "the receipt is on both sides");
    for (token, rating) in [(&parent, 5), (&supporter, 5)] {
        let (s, e) = post(
            &app,
            token,
            &format!("/aid/requests/{id}/reviews"),
            json!({"rating": rating, "comment": "ありがとうございました"}),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
    }
    let (s, _) = post(
        &app,
        &parent,
        &format!("/aid/requests/{id}/reviews"),
        json!({"rating": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "one review each");
    let (s, _) = post(
        &app,
        &other,
        &format!("/aid/requests/{id}/reviews"),
        json!({"rating": 1}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the two review");

    // The next request finds 翔太 with a past activity together and his rating as a supporter
    // (the parent's own rating as a requester does not count for her).
    let (_, r2) = post(&app, &parent, "/aid/requests", ask(600, "2026-12-05")).await;
    let id2 = r2["id"].as_str().unwrap();
    let (s, list) = get(&app, &parent, &format!("/aid/requests/{id2}/suggestions")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list[0]["person_id"], supporter_id.as_str());
    assert_eq!(list[0]["rating"], 5.0);
    assert_eq!(list[0]["reviews"], 1);
    assert!(list[0]["why"].as_str().unwrap().contains("評価5.0"), "{list}");
    assert!(list[0].get("score").is_none(), "the score is not shown");
}

#[tokio::test]
async fn the_coordinator_sees_an_old_unmatched_request_and_suggests_someone() {
    let app = spawn_demo_app().await;
    let supporter = app.token_for("supporter").await;
    let supporter_id = app.person_of("supporter").await;
    let coordinator = app.token_for("kyodo").await;
    profile(&app, &supporter).await;
    let tanaka = app.token_for("tanaka").await;
    let (s, r) = post(
        &app,
        &tanaka,
        "/aid/requests",
        json!({"category": "shopping", "date": "2026-11-28", "start": "10:00", "duration_minutes": 60,
               "description": "米10kgを買ってきてほしい", "free": true}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_string();
    // Not old yet.
    let (_, q) = get(&app, &coordinator, "/aid/coordinator/queue").await;
    assert!(q.as_array().unwrap().is_empty());
    let (s, _) = get(&app, &tanaka, "/aid/coordinator/queue").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    app.clock.advance(25 * 3_600_000);
    let (_, q) = get(&app, &coordinator, "/aid/coordinator/queue").await;
    let q = q.as_array().unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["id"], id.as_str());
    assert_eq!(q[0]["suggestions"][0]["person_id"], supporter_id.as_str());
    // The coordinator also hears of it from the job, once.
    assert_eq!(aid::jobs::tick(&app.kernel).await.unwrap(), 1);
    let (s, _) = post(
        &app,
        &coordinator,
        &format!("/aid/requests/{id}/coordinator-suggestion"),
        json!({"supporter_id": supporter_id}),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The supporter now sees it (invited) and offers.
    let (_, mine) = get(&app, &supporter, "/aid/requests").await;
    assert!(
        mine["open_to_me"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str()),
        "{mine}"
    );
    let (s, _) = post(&app, &supporter, &format!("/aid/requests/{id}/offer"), json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    // The coordinator's page lists it with the suggestion.
    let cookie = session_cookie(&app, "kyodo").await;
    let html = reqwest::Client::new()
        .get(app.url("/aid/coordinator"))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("/aid/requests/{id}")),
        "the queue page lists the request"
    );
    // A certification for someone unknown says so and keeps what was typed.
    let web = Browser::new(&app, "kyodo").await;
    let (s, html) = web
        .post(
            &app,
            "/aid/coordinator/certify",
            &[
                ("name", "山本 まだいない"),
                ("birth_date", "1980-01-01"),
                ("issued_by", "みどり市ファミリー・サポート・センター"),
                ("valid_until", "2027-03-31"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("氏名と生年月日が一致する方が見つかりません"), "{html}");
    assert!(html.contains("value=\"山本 まだいない\"") && html.contains("value=\"2027-03-31\""));
    let (_, v) = get(&app, &tanaka, &format!("/aid/requests/{id}")).await;
    assert_eq!(v["coordinator_suggested"], supporter_id.as_str());
    assert_eq!(v["offers"][0]["supporter_id"], supporter_id.as_str());
}

/// A logged-in browser without JavaScript: pages and forms with the session cookie.
struct Browser {
    cookie: String,
    client: reqwest::Client,
}

impl Browser {
    async fn new(app: &TestApp, login: &str) -> Browser {
        Browser {
            cookie: session_cookie(app, login).await,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }
    async fn page(&self, app: &TestApp, path: &str) -> (StatusCode, String) {
        let res = self
            .client
            .get(app.url(path))
            .header("Cookie", &self.cookie)
            .send()
            .await
            .unwrap();
        (res.status(), res.text().await.unwrap())
    }
    /// Post a form; the status, the page (or where it went) as text.
    async fn post(&self, app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let csrf = "a".repeat(64);
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        form.extend_from_slice(fields);
        let res = self
            .client
            .post(app.url(path))
            .header("Cookie", &self.cookie)
            .form(&form)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let location = res.headers().get("location").map(|l| l.to_str().unwrap().to_string());
        match location {
            Some(l) => (status, l),
            None => (status, res.text().await.unwrap()),
        }
    }
}

/// Checked boxes as the page writes them.
fn ticked(html: &str, name: &str) -> bool {
    html.contains(&format!("name=\"{name}\" value=\"1\" checked"))
}

#[tokio::test]
async fn the_offer_page_edits_the_week_as_a_grid_of_days_and_times_of_day() {
    let app = spawn_demo_app().await;
    let supporter = app.token_for("supporter").await;
    let web = Browser::new(&app, "supporter").await;

    // The empty page: a table of days × 午前・午後・夜, never 「5:09:00-12:00」 nor 0 = 月.
    let (s, html) = web.page(&app, "/aid/offer").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"aid-week\"") && html.contains("土曜 午前"), "{html}");
    assert!(html.contains("0時〜12時") && html.contains("12時〜17時") && html.contains("17時〜24時"));
    assert!(
        !html.contains("0=月") && !html.contains("5:09"),
        "no codes where a person reads"
    );

    // 土曜・午前, and 日曜 午前 and 午後 (joined into one slot).
    let (s, to) = web
        .post(
            &app,
            "/aid/offer",
            &[
                ("categories", "shopping"),
                ("radius_km", "3"),
                ("d5p0", "1"),
                ("d6p0", "1"),
                ("d6p1", "1"),
            ],
        )
        .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/aid/offer?done=profile"));
    let (_, p) = get(&app, &supporter, "/aid/supporters/me").await;
    assert_eq!(p["availability"], "5:00:00-12:00,6:00:00-17:00", "the API's slots: {p}");
    let (_, html) = web.page(&app, &to).await;
    assert!(html.contains("登録しました"));
    assert!(ticked(&html, "d5p0") && ticked(&html, "d6p0") && ticked(&html, "d6p1"));
    assert!(!ticked(&html, "d5p1") && !ticked(&html, "d0p0"));
    assert!(
        html.contains("いま登録している手伝える時間: 土曜 午前、日曜 午前・午後"),
        "kept, in words: {html}"
    );
    assert!(!html.contains("5:00:00"), "no slot codes on the page");

    // The JSON API keeps its slot format; the page shows those slots in the grid.
    let (s, p) = api(
        &app,
        &supporter,
        reqwest::Method::PUT,
        "/aid/supporters/me",
        Some(json!({"categories": ["shopping"], "radius_m": 3000, "availability": ["2:18:00-21:00"]})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let (_, html) = web.page(&app, "/aid/offer").await;
    assert!(ticked(&html, "d2p2") && !ticked(&html, "d5p0"), "水曜 夜");
    assert!(html.contains("水曜 夜"));

    // A mistake (too far) keeps everything typed, says what is wrong, and changes nothing.
    let (s, html) = web
        .post(
            &app,
            "/aid/offer",
            &[
                ("categories", "garden"),
                ("skills", "草むしり"),
                ("radius_km", "50"),
                ("d1p1", "1"),
                ("languages", "日本語"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("行ける範囲は 0.1〜20 km にしてください"), "{html}");
    assert!(html.contains("class=\"error-summary\""));
    assert!(html.contains("value=\"草むしり\"") && html.contains("value=\"50\"") && html.contains("value=\"日本語\""));
    assert!(html.contains("value=\"garden\" checked"), "the category stays ticked");
    assert!(
        ticked(&html, "d1p1") && !ticked(&html, "d2p2"),
        "the typed grid, not the saved one"
    );
    let (_, p) = get(&app, &supporter, "/aid/supporters/me").await;
    assert_eq!(p["availability"], "2:18:00-21:00", "nothing changed: {p}");
    assert_eq!(p["categories"], "shopping");
}

#[tokio::test]
async fn the_ask_form_keeps_what_was_typed_after_a_mistake() {
    let app = spawn_demo_app().await;
    let parent = app.token_for("kosodate").await;
    let web = Browser::new(&app, "kosodate").await;
    let area = kernel::store::areas::list(&app.kernel.db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.level.as_str() == "chome")
        .unwrap();

    // Step 2 with a day already past: said at once, the typed day and time kept.
    let (s, html) = web
        .page(
            &app,
            "/aid/ask?category=shopping&date=2026-11-01&start=10:30&duration_minutes=90",
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("過ぎた日時には頼めません"), "{html}");
    assert!(html.contains("3つのうち 2 つめ"));
    assert!(html.contains("value=\"2026-11-01\"") && html.contains("value=\"10:30\""));
    assert!(html.contains("<option value=\"90\" selected>"));
    assert!(html.contains("id=\"date\"") && html.contains("aria-invalid=\"true\""));

    // Step 3 with a fee outside the town's range: everything typed is still there.
    let fields = [
        ("category", "shopping"),
        ("date", "2026-11-28"),
        ("start", "10:00"),
        ("duration_minutes", "60"),
        ("description", "米10kgを買ってきてほしいです。"),
        ("area", area.code.as_str()),
        ("place", "家の玄関(呼び鈴を長めに)"),
        ("fee_per_hour", "900"),
    ];
    let (s, html) = web.post(&app, "/aid/ask", &fields).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("謝礼は 1時間 500〜700 円の間にしてください"), "{html}");
    assert!(html.contains("3つのうち 3 つめ"));
    assert!(html.contains("米10kgを買ってきてほしいです。"));
    assert!(html.contains("value=\"家の玄関(呼び鈴を長めに)\""));
    assert!(html.contains("value=\"900\""));
    assert!(
        html.contains("<p class=\"field-error\" id=\"aid-field-error\">謝礼は"),
        "said at the field too"
    );
    assert!(html.contains(&format!("<option value=\"{}\" selected>", area.code)));
    assert!(html.contains("11月28日(土)"), "the time in words: {html}");
    assert!(!html.contains("2026-11-28 10:00"));
    let (_, mine) = get(&app, &parent, "/aid/requests").await;
    assert_eq!(mine["asked"].as_array().unwrap().len(), 0, "nothing was asked: {mine}");

    // The same with a day past at the last step: back to step 2, the details carried along.
    let mut past = fields;
    past[1] = ("date", "2026-11-02");
    past[7] = ("fee_per_hour", "600");
    let (s, html) = web.post(&app, "/aid/ask", &past).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("3つのうち 2 つめ") && html.contains("過ぎた日時には頼めません"));
    assert!(html.contains("name=\"description\" value=\"米10kgを買ってきてほしいです。\""));
    assert!(html.contains("name=\"place\" value=\"家の玄関(呼び鈴を長めに)\""));

    // Corrected, it is asked.
    let mut good = fields;
    good[7] = ("fee_per_hour", "600");
    let (s, to) = web.post(&app, "/aid/ask", &good).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.ends_with("?done=created"), "{to}");
}

#[tokio::test]
async fn the_meeting_place_is_for_the_accepted_supporter_only() {
    let app = spawn_demo_app().await;
    let tanaka = app.token_for("tanaka").await;
    let supporter = app.token_for("supporter").await;
    let other = app.token_for("caremgr").await;
    let supporter_id = app.person_of("supporter").await;
    profile(&app, &supporter).await;
    profile(&app, &other).await;
    let place = "みどり町一丁目の集会所の前";
    let (s, r) = post(
        &app,
        &tanaka,
        "/aid/requests",
        json!({"category": "shopping", "date": "2026-11-28", "start": "10:00", "duration_minutes": 60,
               "description": "米10kgを買ってきてほしい", "place": place, "fee_per_hour": 600}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert!(r.get("place").is_none(), "the place is not in the public request: {r}");
    let id = r["id"].as_str().unwrap().to_string();
    let path = format!("/aid/requests/{id}");
    let tanaka_web = Browser::new(&app, "tanaka").await;
    let supporter_web = Browser::new(&app, "supporter").await;
    let other_web = Browser::new(&app, "caremgr").await;

    // One button per suggested person: 「この人に頼む」; after it, the card says she waits.
    let (_, html) = tanaka_web.page(&app, &path).await;
    assert_eq!(html.matches("この人に頼む").count(), 2, "two suggested: {html}");
    assert!(!html.contains("この人にお願いする"));
    assert!(html.contains("11月28日(土)"), "the time in words");
    let (s, to) = tanaka_web
        .post(
            &app,
            &format!("{path}/do"),
            &[("action", "invite"), ("supporter_id", &supporter_id)],
        )
        .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, format!("{path}?done=invite").as_str())
    );
    let (_, html) = tanaka_web.page(&app, &path).await;
    assert_eq!(html.matches("この人に頼む").count(), 1, "only the one not asked yet");
    assert!(html.contains("この人の返事を待っています"));
    // Both may offer (the other through a broadcast); nobody sees the place yet.
    post(
        &app,
        &tanaka,
        &format!("{path}/audience"),
        json!({"audience": "nearby"}),
    )
    .await;
    for token in [&supporter, &other] {
        let (s, e) = post(&app, token, &format!("{path}/offer"), json!({})).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    }
    let (_, html) = supporter_web.page(&app, &path).await;
    assert!(
        !html.contains(place) && !html.contains("aid-contact"),
        "not before acceptance"
    );
    let (_, html) = tanaka_web.page(&app, &path).await;
    assert!(
        html.contains("この人から申し出がありました"),
        "the suggestion points to the offer"
    );
    assert!(html.contains("この人に決める"));

    let (s, _) = tanaka_web
        .post(
            &app,
            &format!("{path}/do"),
            &[("action", "accept"), ("supporter_id", &supporter_id)],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // The accepted supporter reads where to meet and how to reach her.
    let (s, html) = supporter_web.page(&app, &path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("待ち合わせ場所と連絡先") && html.contains(place),
        "{html}"
    );
    assert!(
        html.contains("田中 ハナ") && html.contains("tel:"),
        "her name and phone"
    );
    let (_, v) = get(&app, &supporter, &path).await;
    assert_eq!(v["contact"]["place"], place, "{v}");
    assert!(v["contact"]["address"].is_string(), "{v}");
    // The requester sees the supporter's contact, not her own place as "where to meet".
    let (_, v) = get(&app, &tanaka, &path).await;
    assert!(
        v["contact"]["place"].is_null() && v["contact"]["name"] == "伊藤 翔太",
        "{v}"
    );
    let (_, html) = tanaka_web.page(&app, &path).await;
    assert!(
        html.contains("id=\"aid-own-place\">みどり町一丁目の集会所の前"),
        "she reads back what she gave"
    );

    // Another supporter is refused: the page and the API say so, nothing of the place, nothing changed.
    let (s, html) = other_web.page(&app, &path).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(!html.contains(place) && !html.contains("集会所"));
    let (s, e) = get(&app, &other, &path).await;
    assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, "forbidden"));
    assert!(!e.to_string().contains(place));
    let (s, e) = post(&app, &other, &format!("{path}/offer"), json!({})).await;
    assert!(s == StatusCode::FORBIDDEN || s == StatusCode::CONFLICT, "{s} {e}");
    let (_, v) = get(&app, &tanaka, &path).await;
    assert_eq!(
        (v["state"].as_str(), v["supporter_id"].as_str()),
        (Some("accepted"), Some(supporter_id.as_str()))
    );

    // The fee and report forms keep what was typed after a mistake; nothing is recorded.
    let (s, html) = supporter_web
        .post(
            &app,
            &format!("{path}/do"),
            &[("action", "fee"), ("fee_per_hour", "5000")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("謝礼は 1時間 500〜700 円の間にしてください"), "{html}");
    assert!(html.contains("id=\"aid-fee-change\" open") && html.contains("value=\"5000\""));
    let (s, html) = supporter_web
        .post(
            &app,
            &format!("{path}/do"),
            &[("action", "report"), ("reason", " "), ("block", "1")],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(html.contains("何があったかを 1〜1000 文字で書いてください"), "{html}");
    assert!(html.contains("id=\"aid-report\" open") && html.contains("name=\"block\" value=\"1\" checked"));
    let (_, v) = get(&app, &tanaka, &path).await;
    assert!(v["fee_proposed"].is_null() && v["fee_agreed"] == 600, "{v}");
}
