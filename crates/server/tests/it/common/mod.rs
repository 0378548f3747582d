//! Helpers shared by the integration tests:
//! - [`AppExt::as_`]: `app.as_("tanaka")` is a demo login acting through the JSON API (its
//!   token) and the web (one browser-like client, [`Browser`], with cookies and CSRF);
//! - [`assert_refused`] (status and error code — or, for a page, the code's sentence) and
//!   [`assert_unchanged!`] (a refused write changed nothing; snapshot with
//!   `app.snapshot().await`, every row of every table, or a GET of what the write aimed at):
//!
//!   ```ignore
//!   let res = assert_unchanged!(app.snapshot().await, sato.post("/watch/circles/x/consent", json!({})).await);
//!   assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
//!   ```
//! - the local MQTT broker, and a polling wait.
//!
//! The free functions `api`/`get`/`post`/`put`/`session_cookie`/`page`/`form` are the older
//! spellings, kept as thin wrappers over the same client.

mod actor;
mod browser;
#[macro_use]
mod refusal;

pub use actor::{Actor, AppExt, call, request};
pub use browser::{Browser, Page};
pub use refusal::{Answer, assert_refused};

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
    call(app, Some(token), method, path, body).await
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

/// Log a demo login in and return the `Cookie` header value (session and CSRF cookie), for
/// [`page`] and [`form`].
pub async fn session_cookie(app: &TestApp, login: &str) -> String {
    let b = Browser::logged_in(app, login).await;
    // The older helpers post forms with `csrf` = 64 × "a": the cookie says the same.
    b.set_cookie("machi_csrf", &"a".repeat(64));
    b.cookie_header()
}

/// The browser holding exactly the cookies of a `Cookie` header.
fn browser_with(app: &TestApp, cookie: &str) -> Browser {
    let b = Browser::new(app);
    for kv in cookie.split(';') {
        if let Some((k, v)) = kv.trim().split_once('=') {
            b.set_cookie(k, v);
        }
    }
    b
}

/// A page as the holder of `cookie` sees it (status and HTML as written).
pub async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let p = browser_with(app, cookie).get(path).await;
    (p.status, p.body)
}

/// A form posted by the holder of `cookie`, redirects not followed.
pub async fn form(app: &TestApp, cookie: &str, path: &str, fields: &[(&str, &str)]) -> Page {
    browser_with(app, cookie).post(path, fields).await
}

/// Poll `check` every 50 ms for up to 15 s.
pub async fn wait_for(mut check: impl AsyncFnMut() -> bool, what: &str) {
    for _ in 0..300 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The broker the tests use: Mosquitto at `MACHI_TEST_MQTT` (`host:port`, where scripts/test puts a
/// throwaway one when the machine has none), else 127.0.0.1:1883.
pub fn broker() -> (&'static str, u16) {
    static BROKER: std::sync::OnceLock<(String, u16)> = std::sync::OnceLock::new();
    let (host, port) = BROKER.get_or_init(|| {
        let addr = std::env::var("MACHI_TEST_MQTT").unwrap_or_else(|_| "127.0.0.1:1883".into());
        let (host, port) = addr.rsplit_once(':').expect("MACHI_TEST_MQTT is host:port");
        (
            host.to_string(),
            port.parse().expect("MACHI_TEST_MQTT has a port number"),
        )
    });
    (host, *port)
}

/// Machi's configuration for talking to the test broker as `client_id`, with a clear message when
/// it is down.
pub fn mqtt_config(client_id: &str) -> kernel::config::Config {
    let (host, port) = broker();
    assert!(
        std::net::TcpStream::connect((host, port)).is_ok(),
        "Mosquitto is not reachable at {host}:{port} (scripts/with-services starts one; or set MACHI_TEST_MQTT)"
    );
    kernel::config::Config {
        mqtt: Some(kernel::config::MqttConfig {
            host: host.into(),
            port,
            client_id: client_id.into(),
            username: None,
            password: None,
        }),
        ..Default::default()
    }
}

/// The number of rows of each table, to check that a refused write added or removed none.
pub async fn counts(app: &TestApp, tables: &[&str]) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in tables {
        out.push((t.to_string(), app.count(&format!("SELECT COUNT(*) FROM {t}")).await));
    }
    out
}

/// A raw response read to the end, for [`assert_refused`].
pub async fn read(res: reqwest::Response) -> Page {
    Page {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}
