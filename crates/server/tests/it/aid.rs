//! Mutual aid (共助) through HTTP: a parent asks for a Saturday pick-up; an uncertified
//! supporter is refused with the reason; once certified, the acquainted supporter is suggested
//! first, with why; offer, acceptance (a second acceptance names who was first), done, settlement,
//! receipt and reviews both ways; bad input; the coordinator's queue. SQLite, and PostgreSQL when
//! MACHI_TEST_DATABASE says so.

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::testing::{TestApp, spawn_demo_app};

use crate::common::{Actor, AppExt, api, assert_refused, get, post};

/// A supporter's profile: childcare and shopping, Saturday mornings, 5 km, insured for childcare.
async fn profile(supporter: &Actor) {
    let (s, p) = supporter
        .put(
            "/aid/supporters/me",
            json!({
                "categories": ["childcare", "shopping"],
                "skills": ["車の運転"],
                "radius_m": 5000,
                "availability": ["5:08:00-12:00"],
                "insured": true,
                "insured_categories": ["childcare"],
            }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
}

/// The people of the Saturday pick-up: the parent (kosodate), 翔太 the acquainted supporter,
/// another supporter (caremgr) and the coordinator (kyodo).
struct Saturday {
    app: TestApp,
    parent: Actor,
    supporter: Actor,
    other: Actor,
    coordinator: Actor,
}

impl Saturday {
    /// The request as its requester sees it, and every row of the database: what a refused
    /// write must not change.
    async fn snapshot(&self, id: &str) -> (Value, server::testing::DbSnapshot) {
        let (_, v) = self.parent.get(&format!("/aid/requests/{id}")).await;
        (v, self.app.snapshot().await)
    }
}

/// A childcare request: 09:30 for 90 minutes on `date`, at `fee` yen an hour.
fn ask(fee: i64, date: &str) -> Value {
    json!({"category": "childcare", "date": date, "start": "09:30", "duration_minutes": 90,
           "description": "保育園のお迎えと、家まで送ってほしいです。車の運転ができる方だと助かります。", "fee_per_hour": fee})
}

#[tokio::test]
async fn a_saturday_pick_up_from_asking_to_reviews() {
    let app = spawn_demo_app().await;
    let story = Saturday {
        parent: app.as_("kosodate").await,
        supporter: app.as_("supporter").await,
        other: app.as_("caremgr").await,
        coordinator: app.as_("kyodo").await,
        app,
    };
    profile(&story.supporter).await;
    profile(&story.other).await;
    let id = the_parent_asks_and_bad_input_is_refused(&story).await;
    nobody_certified_is_suggested_or_may_offer(&story, &id).await;
    the_coordinator_certifies_and_the_acquainted_comes_first(&story, &id).await;
    both_offer_one_withdraws_and_offers_again(&story, &id).await;
    the_parent_accepts_and_only_the_two_see_the_details(&story, &id).await;
    a_fee_change_needs_both(&story, &id).await;
    done_settled_and_reviewed_both_ways(&story, &id).await;
    the_next_request_finds_the_supporter_with_his_rating(&story).await;
}

/// Bad input: a fee outside the town's range says the range; a time in the past is refused.
/// Then Saturday 28 November, 09:30–11:00, ¥600 an hour.
async fn the_parent_asks_and_bad_input_is_refused(story: &Saturday) -> String {
    let parent = &story.parent;
    let res = assert_unchanged!(
        story.app.snapshot().await,
        parent.post("/aid/requests", ask(900, "2026-11-28")).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "aid-fee-out-of-range");
    let msg = res.1["error"]["message"].as_str().unwrap();
    assert!(msg.contains("500") && msg.contains("700"), "{msg}");
    let res = assert_unchanged!(
        story.app.snapshot().await,
        parent.post("/aid/requests", ask(600, "2026-11-20")).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "aid-time-past");

    let (s, r) = parent.post("/aid/requests", ask(600, "2026-11-28")).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    r["id"].as_str().unwrap().to_string()
}

/// Nobody is certified for childcare yet: nobody is suggested, and an offer is refused with why.
async fn nobody_certified_is_suggested_or_may_offer(story: &Saturday, id: &str) {
    let (parent, supporter) = (&story.parent, &story.supporter);
    let (_, list) = parent.get(&format!("/aid/requests/{id}/suggestions")).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
    let (s, e) = parent
        .post(&format!("/aid/requests/{id}/audience"), json!({"audience": "nearby"}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let res = assert_unchanged!(
        story.snapshot(id).await,
        supporter.post(&format!("/aid/requests/{id}/offer"), json!({})).await
    );
    assert_refused(&res, StatusCode::FORBIDDEN, "aid-ineligible-certification");
    assert!(
        res.1["error"]["message"].as_str().unwrap().contains("講習"),
        "{}",
        res.1
    );
}

/// The coordinator records both supporters' childcare course (the parent may not); the parent
/// and 翔太 are 知り合い. The acquainted, certified supporter comes first, and the list says why.
async fn the_coordinator_certifies_and_the_acquainted_comes_first(story: &Saturday, id: &str) {
    let (parent, supporter, other) = (&story.parent, &story.supporter, &story.other);
    for person in [&supporter.person, &other.person] {
        let (s, c) = story
            .coordinator
            .post(
                "/aid/certifications",
                json!({"person_id": person, "kind": "childcare", "issued_by": "みどり市ファミリー・サポート・センター", "valid_until": "2027-03-31"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
    }
    let res = assert_unchanged!(
        story.snapshot(id).await,
        parent
            .post(
                "/aid/certifications",
                json!({"person_id": parent.person, "kind": "childcare", "issued_by": "x", "valid_until": "2027-03-31"}),
            )
            .await
    );
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden"); // only the coordinator certifies
    let (_, l) = parent
        .post(&format!("/aid/links/{}", supporter.person), json!({}))
        .await;
    assert_eq!(l["mutual"], false);
    let (_, l) = supporter
        .post(&format!("/aid/links/{}", parent.person), json!({}))
        .await;
    assert_eq!(l["mutual"], true);

    let (s, list) = parent.get(&format!("/aid/requests/{id}/suggestions")).await;
    assert_eq!(s, StatusCode::OK);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["person_id"], supporter.person.as_str());
    assert_eq!(list[0]["trust"], "mutual");
    let why = list[0]["why"].as_str().unwrap();
    assert!(
        why.contains("知り合い") && why.contains("土曜午前に対応可") && why.contains("km"),
        "{why}"
    );
    assert_eq!(list[1]["trust"], "stranger");
    // Another person cannot see the suggestions.
    let res = supporter.get(&format!("/aid/requests/{id}/suggestions")).await;
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
}

/// Both offer; the contact details stay hidden until acceptance. One takes the offer back and
/// makes it again; the last one taking theirs back would open the request again. The requester
/// hears of it.
async fn both_offer_one_withdraws_and_offers_again(story: &Saturday, id: &str) {
    let (app, parent, supporter, other) = (&story.app, &story.parent, &story.supporter, &story.other);
    for actor in [supporter, other] {
        let (s, e) = actor
            .post(&format!("/aid/requests/{id}/offer"), json!({"message": "行けます"}))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    }
    let (_, v) = supporter.get(&format!("/aid/requests/{id}")).await;
    assert!(v["contact"].is_null(), "{v}");
    let withdraw = format!("/aid/requests/{id}/withdraw");
    let notices = || async {
        let c = kernel::store::outbox::counts(&app.kernel.db, "aid").await.unwrap();
        c.iter().map(|r| r.2).sum::<i64>()
    };
    let before = notices().await;
    let (s, e) = other.post(&withdraw, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    let (_, v) = parent.get(&format!("/aid/requests/{id}")).await;
    assert_eq!(v["state"], "offered", "another offer is left: {v}");
    assert_eq!(v["offers"].as_array().unwrap().len(), 1, "{v}");
    let res = assert_unchanged!(story.snapshot(id).await, other.post(&withdraw, json!({})).await);
    assert_refused(&res, StatusCode::CONFLICT, "aid-no-offer-of-yours");
    // Not the requester's to take back.
    let res = assert_unchanged!(story.snapshot(id).await, parent.post(&withdraw, json!({})).await);
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
    let told_of_withdrawal = notices().await;
    assert!(told_of_withdrawal > before, "the requester is told");
    let (s, e) = other
        .post(
            &format!("/aid/requests/{id}/offer"),
            json!({"message": "やはり行けます"}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{e}");
    assert!(notices().await > told_of_withdrawal, "the renewed offer is told too");
}

/// The parent accepts 翔太; a second acceptance names who was first; an accepted offer can no
/// longer be taken back; the contact details show to the two, and only the two see the request.
async fn the_parent_accepts_and_only_the_two_see_the_details(story: &Saturday, id: &str) {
    let (parent, supporter, other) = (&story.parent, &story.supporter, &story.other);
    let (s, r) = parent
        .post(
            &format!("/aid/requests/{id}/accept"),
            json!({"supporter_id": supporter.person}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["fee_agreed"], 600);
    assert_eq!(r["covered"], 1, "insured for childcare: covered");
    let res = assert_unchanged!(
        story.snapshot(id).await,
        parent
            .post(
                &format!("/aid/requests/{id}/accept"),
                json!({"supporter_id": other.person})
            )
            .await
    );
    assert_refused(&res, StatusCode::CONFLICT, "aid-already-accepted");
    assert!(
        res.1["error"]["message"].as_str().unwrap().contains("翔太"),
        "names who was first: {}",
        res.1
    );
    // Once accepted, an offer can no longer be taken back (too late for the accepted one too).
    let withdraw = format!("/aid/requests/{id}/withdraw");
    for actor in [other, supporter] {
        let res = assert_unchanged!(story.snapshot(id).await, actor.post(&withdraw, json!({})).await);
        assert_refused(&res, StatusCode::CONFLICT, "aid-wrong-state");
    }
    let (_, v) = supporter.get(&format!("/aid/requests/{id}")).await;
    assert!(
        v["contact"]["name"].is_string(),
        "contact details after acceptance: {v}"
    );
    assert_eq!(v["contact"]["name"], v["requester_name"]);
    // After the match only the two see it.
    let res = other.get(&format!("/aid/requests/{id}")).await;
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
}

/// A fee change needs both: proposed by one, confirmed by the other (not by the proposer).
async fn a_fee_change_needs_both(story: &Saturday, id: &str) {
    let (parent, supporter) = (&story.parent, &story.supporter);
    let fee = format!("/aid/requests/{id}/fee");
    let confirm = format!("/aid/requests/{id}/fee/confirm");
    let res = assert_unchanged!(
        story.snapshot(id).await,
        supporter.post(&fee, json!({"fee_per_hour": 800})).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "aid-fee-out-of-range");
    supporter.post(&fee, json!({"fee_per_hour": 650})).await;
    // The proposer does not confirm their own proposal.
    let res = assert_unchanged!(
        story.snapshot(id).await,
        supporter.post(&confirm, json!({"fee_per_hour": 650})).await
    );
    assert_refused(&res, StatusCode::CONFLICT, "aid-no-fee-to-confirm");
    let (s, _) = parent.post(&confirm, json!({"fee_per_hour": 650})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    parent.post(&fee, json!({"fee_per_hour": 600})).await;
    supporter.post(&confirm, json!({"fee_per_hour": 600})).await;
}

/// Reviews wait for the help to be done; done waits for the time. On Saturday at 11:00 the
/// supporter marks it done; one side cannot set the amount; the parent settles in cash (the
/// receipt is on both sides); one review each, and only the two review.
async fn done_settled_and_reviewed_both_ways(story: &Saturday, id: &str) {
    let (app, parent, supporter, other) = (&story.app, &story.parent, &story.supporter, &story.other);
    let reviews = format!("/aid/requests/{id}/reviews");
    let state = format!("/aid/requests/{id}/state");
    let settlement = format!("/aid/requests/{id}/settlement");
    let res = assert_unchanged!(
        story.snapshot(id).await,
        parent.post(&reviews, json!({"rating": 5})).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "aid-review-too-early");
    let res = assert_unchanged!(
        story.snapshot(id).await,
        supporter.post(&state, json!({"action": "done"})).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "aid-not-started");
    // Saturday, 11:00.
    app.clock.advance((5 * 24 + 2) * 3_600_000);
    let (s, r) = supporter.post(&state, json!({"action": "done"})).await;
    assert_eq!((s, r["state"].as_str()), (StatusCode::OK, Some("done")));
    // One side cannot set the amount.
    let res = assert_unchanged!(
        story.snapshot(id).await,
        supporter
            .post(
                &settlement,
                json!({"method": "external", "reference": "PAY-1", "amount": 50000})
            )
            .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "aid-amount-not-agreed");
    let (s, st) = parent.post(&settlement, json!({"method": "cash"})).await;
    assert_eq!(s, StatusCode::CREATED, "{st}");
    assert_eq!(st["amount"], 900, "¥600 × 1.5 h");
    let (_, v) = supporter.get(&format!("/aid/requests/{id}")).await;
    assert_eq!(v["state"], "settled");
    assert_eq!(v["settlement"]["amount"], 900, "the receipt is on both sides");
    for (actor, rating) in [(parent, 5), (supporter, 5)] {
        let (s, e) = actor
            .post(&reviews, json!({"rating": rating, "comment": "ありがとうございました"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
    }
    // One review each.
    let res = assert_unchanged!(
        story.snapshot(id).await,
        parent.post(&reviews, json!({"rating": 1})).await
    );
    assert_refused(&res, StatusCode::CONFLICT, "aid-already-reviewed");
    // Only the two review.
    let res = assert_unchanged!(
        story.snapshot(id).await,
        other.post(&reviews, json!({"rating": 1})).await
    );
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
}

/// The next request finds 翔太 with a past activity together and his rating as a supporter
/// (the parent's own rating as a requester does not count for her).
async fn the_next_request_finds_the_supporter_with_his_rating(story: &Saturday) {
    let parent = &story.parent;
    let (_, r2) = parent.post("/aid/requests", ask(600, "2026-12-05")).await;
    let id2 = r2["id"].as_str().unwrap();
    let (s, list) = parent.get(&format!("/aid/requests/{id2}/suggestions")).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    assert_eq!(list[0]["person_id"], story.supporter.person.as_str());
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
    profile(&app.as_("supporter").await).await;
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
    let (s, refusal) = get(&app, &tanaka, "/aid/coordinator/queue").await;
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
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
    let web = app.as_("kyodo").await;
    let html = web.page("/aid/coordinator").await.body;
    assert!(
        html.contains(&format!("/aid/requests/{id}")),
        "the queue page lists the request"
    );
    // A certification for someone unknown says so and keeps what was typed.
    let (s, html) = assert_unchanged!(
        app.snapshot().await,
        web.form(
            "/aid/coordinator/certify",
            &[
                ("name", "山本 まだいない"),
                ("birth_date", "1980-01-01"),
                ("issued_by", "みどり市ファミリー・サポート・センター"),
                ("valid_until", "2027-03-31"),
            ],
        )
        .await
        .outcome()
    );
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "aid-person-not-found");
    assert!(html.contains("氏名と生年月日が一致する方が見つかりません"), "{html}");
    assert!(html.contains("value=\"山本 まだいない\"") && html.contains("value=\"2027-03-31\""));
    let (_, v) = get(&app, &tanaka, &format!("/aid/requests/{id}")).await;
    assert_eq!(v["coordinator_suggested"], supporter_id.as_str());
    assert_eq!(v["offers"][0]["supporter_id"], supporter_id.as_str());
}

/// Checked boxes as the page writes them.
fn ticked(html: &str, name: &str) -> bool {
    html.contains(&format!("name=\"{name}\" value=\"1\" checked"))
}

#[tokio::test]
async fn the_offer_page_edits_the_week_as_a_grid_of_days_and_times_of_day() {
    let app = spawn_demo_app().await;
    let supporter = app.token_for("supporter").await;
    let web = app.as_("supporter").await;

    // The empty page: a table of days × 午前・午後・夜, never 「5:09:00-12:00」 nor 0 = 月.
    let (s, html) = web.page("/aid/offer").await.parts();
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"aid-week\"") && html.contains("土曜 午前"), "{html}");
    assert!(html.contains("0時〜12時") && html.contains("12時〜17時") && html.contains("17時〜24時"));
    assert!(
        !html.contains("0=月") && !html.contains("5:09"),
        "no codes where a person reads"
    );

    // 土曜・午前, and 日曜 午前 and 午後 (joined into one slot).
    let (s, to) = web
        .form(
            "/aid/offer",
            &[
                ("categories", "shopping"),
                ("radius_km", "3"),
                ("d5p0", "1"),
                ("d6p0", "1"),
                ("d6p1", "1"),
            ],
        )
        .await
        .outcome();
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/aid/offer?done=profile"));
    let (_, p) = get(&app, &supporter, "/aid/supporters/me").await;
    assert_eq!(p["availability"], "5:00:00-12:00,6:00:00-17:00", "the API's slots: {p}");
    let (_, html) = web.page(&to).await.parts();
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
    let (_, html) = web.page("/aid/offer").await.parts();
    assert!(ticked(&html, "d2p2") && !ticked(&html, "d5p0"), "水曜 夜");
    assert!(html.contains("水曜 夜"));

    // A mistake (too far) keeps everything typed, says what is wrong, and changes nothing.
    let (s, html) = assert_unchanged!(
        app.snapshot().await,
        web.form(
            "/aid/offer",
            &[
                ("categories", "garden"),
                ("skills", "草むしり"),
                ("radius_km", "50"),
                ("d1p1", "1"),
                ("languages", "日本語"),
            ],
        )
        .await
        .outcome()
    );
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "aid-radius-invalid");
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
    let web = app.as_("kosodate").await;
    let area = kernel::store::areas::list(&app.kernel.db)
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.level.as_str() == "chome")
        .unwrap();

    // Step 2 with a day already past: said at once, the typed day and time kept.
    let (s, html) = web
        .page("/aid/ask?category=shopping&date=2026-11-01&start=10:30&duration_minutes=90")
        .await
        .parts();
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "aid-time-past");
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
    let (s, html) = assert_unchanged!(app.snapshot().await, web.form("/aid/ask", &fields).await.outcome());
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "aid-fee-out-of-range");
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
    let (s, html) = assert_unchanged!(app.snapshot().await, web.form("/aid/ask", &past).await.outcome());
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "aid-time-past");
    assert!(html.contains("3つのうち 2 つめ") && html.contains("過ぎた日時には頼めません"));
    assert!(html.contains("name=\"description\" value=\"米10kgを買ってきてほしいです。\""));
    assert!(html.contains("name=\"place\" value=\"家の玄関(呼び鈴を長めに)\""));

    // Corrected, it is asked.
    let mut good = fields;
    good[7] = ("fee_per_hour", "600");
    let (s, to) = web.form("/aid/ask", &good).await.outcome();
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
    profile(&app.as_("supporter").await).await;
    profile(&app.as_("caremgr").await).await;
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
    let tanaka_web = app.as_("tanaka").await;
    let supporter_web = app.as_("supporter").await;
    let other_web = app.as_("caremgr").await;

    // One button per suggested person: 「この人に頼む」; after it, the card says she waits.
    let (_, html) = tanaka_web.page(&path).await.parts();
    assert_eq!(html.matches("この人に頼む").count(), 2, "two suggested: {html}");
    assert!(!html.contains("この人にお願いする"));
    assert!(html.contains("11月28日(土)"), "the time in words");
    let (s, to) = tanaka_web
        .form(
            &format!("{path}/do"),
            &[("action", "invite"), ("supporter_id", &supporter_id)],
        )
        .await
        .outcome();
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, format!("{path}?done=invite").as_str())
    );
    let (_, html) = tanaka_web.page(&path).await.parts();
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
    let (_, html) = supporter_web.page(&path).await.parts();
    assert!(
        !html.contains(place) && !html.contains("aid-contact"),
        "not before acceptance"
    );
    let (_, html) = tanaka_web.page(&path).await.parts();
    assert!(
        html.contains("この人から申し出がありました"),
        "the suggestion points to the offer"
    );
    assert!(html.contains("この人に決める"));

    let (s, _) = tanaka_web
        .form(
            &format!("{path}/do"),
            &[("action", "accept"), ("supporter_id", &supporter_id)],
        )
        .await
        .outcome();
    assert_eq!(s, StatusCode::SEE_OTHER);

    // The accepted supporter reads where to meet and how to reach her.
    let (s, html) = supporter_web.page(&path).await.parts();
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
    let (_, html) = tanaka_web.page(&path).await.parts();
    assert!(
        html.contains("id=\"aid-own-place\">みどり町一丁目の集会所の前"),
        "she reads back what she gave"
    );

    // Another supporter is refused: the page and the API say so, nothing of the place, nothing changed.
    let (s, html) = other_web.page(&path).await.parts();
    assert_refused(&(s, &html), StatusCode::FORBIDDEN, "forbidden");
    assert!(!html.contains(place) && !html.contains("集会所"));
    let (s, e) = get(&app, &other, &path).await;
    assert_refused(&(s, &e), StatusCode::FORBIDDEN, "forbidden");
    assert!(!e.to_string().contains(place));
    let (s, e) = assert_unchanged!(
        get(&app, &tanaka, &path).await,
        post(&app, &other, &format!("{path}/offer"), json!({})).await
    );
    assert_refused(&(s, &e), StatusCode::CONFLICT, "aid-wrong-state");
    let (_, v) = get(&app, &tanaka, &path).await;
    assert_eq!(
        (v["state"].as_str(), v["supporter_id"].as_str()),
        (Some("accepted"), Some(supporter_id.as_str()))
    );

    // The fee and report forms keep what was typed after a mistake; nothing is recorded.
    let (s, html) = assert_unchanged!(
        app.snapshot().await,
        supporter_web
            .form(&format!("{path}/do"), &[("action", "fee"), ("fee_per_hour", "5000")],)
            .await
            .outcome()
    );
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "aid-fee-out-of-range");
    assert!(html.contains("謝礼は 1時間 500〜700 円の間にしてください"), "{html}");
    assert!(html.contains("id=\"aid-fee-change\" open") && html.contains("value=\"5000\""));
    let (s, html) = assert_unchanged!(
        app.snapshot().await,
        supporter_web
            .form(
                &format!("{path}/do"),
                &[("action", "report"), ("reason", " "), ("block", "1")],
            )
            .await
            .outcome()
    );
    assert_refused(&(s, &html), StatusCode::BAD_REQUEST, "aid-reason-invalid");
    assert!(html.contains("何があったかを 1〜1000 文字で書いてください"), "{html}");
    assert!(html.contains("id=\"aid-report\" open") && html.contains("name=\"block\" value=\"1\" checked"));
    let (_, v) = get(&app, &tanaka, &path).await;
    assert!(v["fee_proposed"].is_null() && v["fee_agreed"] == 600, "{v}");
}

/// A certification is recorded only with the entry that records it: with the entry impossible
/// nothing is written (nor the index told); otherwise both are there.
#[tokio::test]
async fn a_certification_is_recorded_only_with_its_audit_entry() {
    let app = spawn_demo_app().await;
    let coordinator = app.as_("kyodo").await;
    let supporter = app.person_of("caremgr").await;
    let body = json!({"person_id": supporter, "kind": "childcare", "issued_by": "みどり市ファミリー・サポート・センター", "valid_until": "2027-03-31"});
    let head = crate::api::break_audit(&app).await;
    let res = assert_unchanged!(
        app.snapshot().await,
        coordinator.post("/aid/certifications", body.clone()).await
    );
    assert_refused(&res, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    crate::api::mend_audit(&app, head).await;
    let (s, c) = coordinator.post("/aid/certifications", body).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let k = &app.kernel;
    let stored = aid::store::certifications(&k.db, &supporter).await.unwrap();
    assert_eq!(
        stored.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [c["id"].as_str().unwrap()]
    );
    let e = crate::api::last_entry(&app).await;
    assert_eq!(
        (e.action.as_str(), e.subject_id.as_deref(), e.actor_id),
        (
            "aid.certify",
            Some(supporter.as_str()),
            Some(coordinator.person.clone())
        )
    );
    assert!(kernel::store::audit::verify(&k.db).await.unwrap().is_ok());
}
