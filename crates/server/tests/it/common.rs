//! Helpers shared by the integration tests: JSON API calls with a token, a logged-in browser,
//! the local MQTT broker. Not every test file uses every helper.

use reqwest::StatusCode;
use serde_json::Value;
use server::testing::TestApp;

/// Call the JSON API as the token's person: (status, body or null).
pub async fn api(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, app.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    api(app, token, reqwest::Method::POST, path, Some(body)).await
}

pub async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    api(app, token, reqwest::Method::PUT, path, Some(body)).await
}

pub async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    api(app, token, reqwest::Method::GET, path, None).await
}

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

/// The broker the tests use (Mosquitto on loopback), with a clear message when it is down.
pub const BROKER: (&str, u16) = ("127.0.0.1", 1883);

/// Machi's configuration for talking to the test broker as `client_id`.
pub fn mqtt_config(client_id: &str) -> kernel::config::Config {
    assert!(
        std::net::TcpStream::connect(BROKER).is_ok(),
        "Mosquitto is not reachable at 127.0.0.1:1883 (start it: mosquitto -d -c /etc/mosquitto/mosquitto.conf)"
    );
    kernel::config::Config {
        mqtt: Some(kernel::config::MqttConfig {
            host: BROKER.0.into(),
            port: BROKER.1,
            client_id: client_id.into(),
            username: None,
            password: None,
        }),
        ..Default::default()
    }
}
