//! The test kit itself: the snapshot sees a write, `assert_refused` reads the code of a JSON
//! error and the sentence of a page, and `app.as_` acts on both the API and the web.

use reqwest::StatusCode;
use serde_json::json;
use server::testing::spawn_demo_app;

use crate::common::{AppExt, assert_refused};

#[tokio::test]
async fn the_snapshot_sees_a_write_and_assert_refused_reads_codes_and_pages() {
    let app = spawn_demo_app().await;
    let before = app.snapshot().await;
    assert!(
        before.0.get("people").is_some_and(|rows| !rows.is_empty()),
        "{before:?}"
    );
    assert!(!before.0.contains_key("audit_log"), "the audit trail is left out");
    let admin = app.as_("admin").await;
    let tanaka = app.as_("tanaka").await;
    let (s, _) = admin
        .post(
            &format!("/people/{}/identifiers", tanaka.person),
            json!({"kind": "ic_card", "value": "9999000011110001"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(app.snapshot().await, before, "a write shows in the snapshot");

    // A JSON refusal: the status and the code.
    let res = tanaka.get("/audit").await;
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
    let wrong = std::panic::catch_unwind(|| assert_refused(&res, StatusCode::FORBIDDEN, "not-found"));
    assert!(wrong.is_err(), "another code is not accepted");
    let wrong = std::panic::catch_unwind(|| assert_refused(&res, StatusCode::NOT_FOUND, "forbidden"));
    assert!(wrong.is_err(), "another status is not accepted");

    // A page refusal: the status and the sentence of the code, in the person's own shell.
    let page = tanaka.page("/admin").await;
    assert_refused(&page, StatusCode::FORBIDDEN, "forbidden");
    assert!(
        page.body.contains("田中 ハナ"),
        "logged in by the first page: {}",
        page.body
    );
    let wrong = std::panic::catch_unwind(|| assert_refused(&page, StatusCode::FORBIDDEN, "route-not-found"));
    assert!(wrong.is_err(), "a page that does not say it is not refused with it");
}
