//! A person acting in a test: `app.as_("tanaka")` gives the demo login's person with an API
//! token and a browser that logs in the first time a page is opened.

use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use server::testing::TestApp;

use super::browser::{Browser, Page};

/// Call the JSON API: `path` is under `/api/v1`; no token calls it as nobody. (status, body or null)
pub async fn call(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    request(app, token, method, &format!("/api/v1{path}"), body).await
}

/// A JSON request to any path of the app, with a token or as nobody. (status, body or null)
pub async fn request(
    app: &TestApp,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new().request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// A demo login acting through the JSON API (its token) and the web (its browser).
pub struct Actor {
    pub login: String,
    /// The person's id.
    pub person: String,
    pub token: String,
    pub browser: Browser,
    logged_in: AtomicBool,
    base: String,
}

impl Actor {
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}/api/v1{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.api(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.api(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.api(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.api(Method::DELETE, path, None).await
    }

    /// The browser, logged in (the first call logs in).
    pub async fn web(&self) -> &Browser {
        if !self.logged_in.swap(true, Ordering::SeqCst) {
            self.browser.log_in_as(&self.login).await;
        }
        &self.browser
    }

    /// Open a page as this person.
    pub async fn page(&self, path: &str) -> Page {
        self.web().await.get(path).await
    }

    /// Submit a form as this person (with the CSRF token; redirects not followed).
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.web().await.post(path, fields).await
    }
}

/// `app.as_(login)` and friends.
pub trait AppExt {
    /// The demo login as an actor: its person, a fresh API token, a browser.
    async fn as_(&self, login: &str) -> Actor;
    /// A browser of nobody (no cookies).
    fn browser(&self) -> Browser;
}

impl AppExt for TestApp {
    async fn as_(&self, login: &str) -> Actor {
        Actor {
            login: login.to_string(),
            person: self.person_of(login).await,
            token: self.token_for(login).await,
            browser: Browser::new(self),
            logged_in: AtomicBool::new(false),
            base: self.url(""),
        }
    }

    fn browser(&self) -> Browser {
        Browser::new(self)
    }
}
