//! The one browser-like client of the tests: it keeps cookies as a browser does, never follows
//! redirects (a test reads where a form sends it), and posts forms with the CSRF token of its
//! cookie, as the page's hidden field would.

use std::collections::BTreeMap;
use std::sync::Mutex;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::Value;
use server::testing::TestApp;

/// What came back for a page or a form: status, headers and the body as text.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    /// Where a redirect goes ("" when the answer is not a redirect).
    pub fn location(&self) -> &str {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The body as a browser reads the text: the entities templates write in attributes
    /// (`&#x2f;`, `&amp;`, …) turned back into characters.
    pub fn html(&self) -> String {
        unescape(&self.body)
    }

    /// The body read as JSON (null when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

/// HTML entities the templates write, back to characters.
pub fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A cookie-keeping client that does not follow redirects, like a careful browser without
/// JavaScript. Methods take `&self`: one person's browser can be shared by the scenes of a story.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
    lang: Mutex<Option<&'static str>>,
}

impl Browser {
    /// A browser with no cookies yet (nobody logged in).
    pub fn new(app: &TestApp) -> Browser {
        Browser::at(&app.url(""))
    }

    /// A browser with no cookies yet, talking to the node at `base` (`http://host:port`).
    pub fn at(base: &str) -> Browser {
        Browser {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Mutex::default(),
            lang: Mutex::default(),
        }
    }

    /// The browser of a demo login, logged in with the demo password.
    pub async fn logged_in(app: &TestApp, login: &str) -> Browser {
        let b = Browser::new(app);
        b.log_in_as(login).await;
        b
    }

    /// Log in with the demo password; panics unless the login succeeds.
    pub async fn log_in_as(&self, login: &str) {
        let res = self.login(login, kernel::demo::DEMO_PASSWORD).await;
        assert_eq!(res.status, StatusCode::SEE_OTHER, "log in as {login}: {}", res.body);
    }

    /// The `Accept-Language` the browser sends (None: no header).
    pub fn set_lang(&self, lang: Option<&'static str>) {
        *self.lang.lock().unwrap() = lang;
    }

    /// The `Cookie` header this browser sends now.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A cookie's value, if the browser has it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.lock().unwrap().get(name).cloned()
    }

    /// Set or replace a cookie by hand (a test forging or keeping one).
    pub fn set_cookie(&self, name: &str, value: &str) {
        self.cookies.lock().unwrap().insert(name.into(), value.into());
    }

    /// Forget a cookie.
    pub fn forget_cookie(&self, name: &str) {
        self.cookies.lock().unwrap().remove(name);
    }

    /// Send a request with the browser's cookies and language, and keep what it sets.
    pub async fn send(&self, req: reqwest::RequestBuilder) -> Page {
        let mut req = req.header("Cookie", self.cookie_header());
        if let Some(l) = *self.lang.lock().unwrap() {
            req = req.header("Accept-Language", l);
        }
        let res = req.send().await.unwrap();
        {
            let mut jar = self.cookies.lock().unwrap();
            for c in res.headers().get_all(SET_COOKIE) {
                let c = c.to_str().unwrap();
                let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
                let (k, v) = kv.split_once('=').unwrap();
                if attrs.contains("Max-Age=0") {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_string(), v.to_string());
                }
            }
        }
        Page {
            status: res.status(),
            headers: res.headers().clone(),
            body: res.text().await.unwrap(),
        }
    }

    /// The full URL of a path on the app.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The underlying client (no redirects), for requests the helpers do not cover.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Open a page.
    pub async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(self.url(path))).await
    }

    /// Submit a form with the CSRF token of the browser's cookie, as the page would (a first
    /// visit fetches the cookie).
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        form.extend_from_slice(fields);
        self.send(self.client.post(self.url(path)).form(&form)).await
    }

    /// Submit a form exactly as given (no CSRF field added): for tests of the CSRF check.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(self.client.post(self.url(path)).form(fields)).await
    }

    /// The CSRF token of the browser's cookie, fetched by a first visit when there is none.
    pub async fn csrf(&self) -> String {
        if self.cookie("machi_csrf").is_none() {
            self.get("/").await;
        }
        self.cookie("machi_csrf").expect("the site sets a CSRF cookie")
    }

    /// Log in with a password (whatever the answer).
    pub async fn login(&self, login: &str, password: &str) -> Page {
        self.post("/login", &[("login", login), ("password", password), ("next", "/me")])
            .await
    }
}

impl Page {
    /// (status, body): how the older helpers gave a page.
    pub fn parts(self) -> (StatusCode, String) {
        (self.status, self.body)
    }

    /// (status, where it went or, when it did not redirect, the page): how the older helpers
    /// gave a form's answer.
    pub fn outcome(self) -> (StatusCode, String) {
        match self.headers.get(LOCATION) {
            Some(l) => (self.status, l.to_str().unwrap().to_string()),
            None => (self.status, self.body),
        }
    }
}
