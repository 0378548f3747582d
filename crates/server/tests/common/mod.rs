//! Helpers shared by the integration tests that act as a logged-in browser.

use reqwest::StatusCode;
use server::testing::TestApp;

/// Log a demo login in and return the `Cookie` header value (session and CSRF cookie; forms
/// then send `csrf` = 64 × "a").
pub async fn session_cookie(app: &TestApp, login: &str) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let csrf = "a".repeat(64);
    let res = client
        .post(app.url("/login"))
        .header("Cookie", format!("machi_csrf={csrf}"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("login", login),
            ("password", kernel::demo::DEMO_PASSWORD),
            ("next", "/me"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let session = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("machi_session="))
        .unwrap();
    format!("machi_csrf={csrf}; {}", session.split(';').next().unwrap())
}
