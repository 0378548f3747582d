//! Holes an outside probe found (issue 22, item 6), each closed and proven here: personal
//! answers are not cached, CSV cells never start a formula, a form that is not UTF-8 is refused
//! saying so. SQLite, and PostgreSQL when MACHI_TEST_DATABASE says so.

use reqwest::StatusCode;
use reqwest::header::CACHE_CONTROL;
use serde_json::json;
use server::testing::spawn_demo_app;

use crate::common::{Browser, assert_refused, post};

fn cache_control(headers: &reqwest::header::HeaderMap) -> &str {
    headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// A shared computer's browser, or a proxy, keeps no copy of a personal page or personal JSON.
#[tokio::test]
async fn personal_pages_and_personal_json_are_not_stored() {
    let app = spawn_demo_app().await;
    let tanaka = Browser::logged_in(&app, "tanaka").await;
    for path in ["/me", "/me/tokens", "/me/export", "/"] {
        let p = tanaka.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
        assert_eq!(cache_control(&p.headers), "no-store", "{path}");
    }
    // The login that sets the session cookie is not stored either.
    let fresh = Browser::new(&app);
    let login = fresh.login("tanaka", kernel::demo::DEMO_PASSWORD).await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    assert_eq!(cache_control(&login.headers), "no-store");
    // The JSON API, with a token: the person, their data, and a refusal too.
    let token = app.token_for("tanaka").await;
    let me = app.person_of("tanaka").await;
    for path in [
        "/api/v1/me".to_string(),
        format!("/api/v1/people/{me}"),
        format!("/api/v1/people/{me}/audit"),
    ] {
        let res = reqwest::Client::new()
            .get(app.url(&path))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(cache_control(res.headers()), "no-store", "{path}");
    }
    // The town's shared files keep their own caching, whoever asks.
    let css = tanaka.get("/static/machi.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(cache_control(&css.headers).starts_with("public"), "{:?}", css.headers);
}

/// A name or an address beginning with TAB or CR followed by a formula is exported with a
/// leading `'`, as one beginning with = + - @ already was.
#[tokio::test]
async fn csv_export_neutralises_tab_and_cr_as_well() {
    let app = spawn_demo_app().await;
    let kaicho = app.token_for("kaicho").await;
    let person = app.person_of("tanaka").await;
    let household = kernel::store::people::household_of(&app.kernel.db, &person)
        .await
        .unwrap()
        .unwrap();
    // What a household's name and address could be made to say by whoever registers them.
    kernel::on_db!(&app.kernel.db, |p| sqlx::query(
        "UPDATE households SET name = $1, address = $2 WHERE id = $3"
    )
    .bind("\t=HYPERLINK(\"http://evil.example\",\"田中\")")
    .bind("\r=1+1")
    .bind(&household)
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
    let (s, round) = post(
        &app,
        &kaicho,
        "/safety/rounds",
        json!({"area": "13999-1", "title": "地震の安否確認"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{round}");
    let id = round["id"].as_str().unwrap();
    let res = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/safety/rounds/{id}/export.csv")))
        .bearer_auth(&kaicho)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let csv = res.text().await.unwrap();
    assert!(
        csv.contains(&format!(
            "\"{household}\",\"'\t=HYPERLINK(\"\"http://evil.example\"\",\"\"田中\"\")\",\"'\r=1+1\","
        )),
        "{csv}"
    );
    assert!(!csv.contains(",\"\t") && !csv.contains(",\"\r"), "{csv}");
}

/// The new-token form as a client would send it, with `name` as raw bytes.
async fn send_token_form(b: &Browser, name: &[u8]) -> crate::common::Page {
    let mut body = format!("csrf={}&name=", b.csrf().await).into_bytes();
    body.extend_from_slice(name);
    b.send(
        b.client()
            .post(b.url("/me/tokens"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body),
    )
    .await
}

/// A form that is not UTF-8 is refused with a 400 that says so, in the person's language, and
/// nothing is saved: neither U+FFFD in place of a percent-encoded bad byte, nor a misleading
/// "expired form" 403 for raw bad bytes.
#[tokio::test]
async fn a_form_that_is_not_utf8_is_a_400_saying_so() {
    let app = spawn_demo_app().await;
    let tanaka = Browser::logged_in(&app, "tanaka").await;
    let japanese = kernel::i18n::t(kernel::i18n::Lang::Ja, "form-not-utf8", &[]);
    let english = kernel::i18n::t(kernel::i18n::Lang::En, "form-not-utf8", &[]);
    for bad in [&b"%FF%FE"[..], b"%E7%94", b"\xff\xfe", b"\xe7\x94"] {
        let res = assert_unchanged!(app.snapshot().await, send_token_form(&tanaka, bad).await);
        assert_refused(&res, StatusCode::BAD_REQUEST, "form-not-utf8");
        assert!(res.html().contains(&japanese), "{}", res.body);
    }
    tanaka.set_cookie("machi_lang", "en");
    let res = assert_unchanged!(app.snapshot().await, send_token_form(&tanaka, b"%FF").await);
    assert_refused(&res, StatusCode::BAD_REQUEST, "form-not-utf8");
    assert!(res.html().contains(&english), "{}", res.body);
    // The same form in UTF-8, percent-encoded or raw, is saved as written.
    for good in [
        "%E7%94%B0%E4%B8%AD%E3%81%AE%E9%9B%BB%E8%A9%B1".as_bytes(),
        "田中の電話".as_bytes(),
    ] {
        let res = send_token_form(&tanaka, good).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE name = '田中の電話'")
            .await,
        2
    );
}
