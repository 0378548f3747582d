//! The web shell every module's pages live in: templates (one layout, one CSS file, no
//! inline script), the viewer (session, language, large text, navigation by policy), CSRF
//! protection for forms, the login rate limit, and security headers.

pub mod assets;
pub mod csrf;
pub mod csv;
pub mod form;
pub mod limiter;
pub mod render;
pub mod sentences;
pub mod viewer;

/// The request body limit in force (set by the server's envelope), so a 413 can say it.
#[derive(Debug, Clone, Copy)]
pub struct MaxBody(pub usize);

pub use minijinja;
pub use render::{page, render};
pub use viewer::Viewer;

use axum::http::{HeaderName, HeaderValue, header};

/// The strict headers, made once: `from_static` outside a constant checks its text on every
/// call, and a name given as a string is looked up among the standard ones each time.
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 6] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'",
        ),
    ),
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    ),
    (
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(self)"),
    ),
];

/// Strict headers on every response: no inline script, no framing, no sniffing.
pub fn add_security_headers(h: &mut axum::http::HeaderMap) {
    // Room for them at once rather than the map growing twice on the way.
    h.reserve(SECURITY_HEADERS.len());
    for (name, value) in SECURITY_HEADERS {
        h.insert(name, value);
    }
}

/// Whether a request speaks for someone (a session cookie or an Authorization header): what it
/// is answered with may be theirs alone.
pub fn has_credentials(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) || cookie(headers, viewer::SESSION_COOKIE).is_some()
}

/// `Cache-Control: no-store` on an answer to someone's credentials, or one that sets a cookie,
/// unless the route chose its own: a shared computer's browser cache, or a proxy, must keep no
/// copy of a personal page or personal JSON.
pub fn add_cache_control(credentials: bool, h: &mut axum::http::HeaderMap) {
    if (credentials || h.contains_key(header::SET_COOKIE)) && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Value of one cookie from the Cookie header(s).
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A Set-Cookie value: HttpOnly, SameSite=Lax, Path=/, Secure when machi is served over https.
pub fn set_cookie(name: &str, value: &str, max_age_secs: Option<i64>, secure: bool) -> HeaderValue {
    let mut s = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_secs {
        s.push_str(&format!("; Max-Age={age}"));
    }
    if secure {
        s.push_str("; Secure");
    }
    HeaderValue::from_str(&s).expect("cookie values are ASCII")
}
