//! CSRF protection for forms (double-submit): a random token in an HttpOnly cookie, repeated
//! in a hidden `csrf` field of every form. A POST to a page without the matching field is
//! refused with a 403 page before any handler runs. The JSON API is exempt: it authenticates
//! with Bearer tokens, which a foreign site cannot make a browser send.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};

use crate::Error;

pub const COOKIE: &str = "machi_csrf";
pub const FIELD: &str = "csrf";

/// The token for this request, available to handlers and templates.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// Whether cookies get the Secure flag (machi served over https).
#[derive(Debug, Clone, Copy)]
pub struct SecureCookies(pub bool);

/// Check a request and pass it on to `next` (the route), which sees the token as `CsrfToken`.
pub async fn protect<F, Fut>(req: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    // The JSON API and the probes (health, readiness, metrics) are exempt and show no forms: no
    // token to check, make or send.
    let path = req.uri().path();
    if path.starts_with("/api/") || matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next(req).await;
    }
    let secure = req.extensions().get::<SecureCookies>().map(|s| s.0).unwrap_or(false);
    let existing = super::cookie(req.headers(), COOKIE)
        .filter(|t| t.len() == 64)
        .map(str::to_string);
    let token = existing.clone().unwrap_or_else(|| {
        let mut b = [0u8; 32];
        crate::model::token::fill_random(&mut b);
        hex::encode(b)
    });
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let mut req = req;
    if unsafe_method {
        let (parts, body) = req.into_parts();
        let limit = parts
            .extensions
            .get::<super::MaxBody>()
            .map(|m| m.0)
            .unwrap_or(1024 * 1024);
        let bytes = match to_bytes(body, limit).await {
            Ok(b) => b,
            Err(_) => return Error::TooLarge.into_response(),
        };
        // Before the token: a form that is not UTF-8 would otherwise lose its token (and get a
        // misleading 403) or, percent-encoded, reach the handler with U+FFFD in place of its bytes.
        if !form_is_utf8(&bytes) {
            let mut res = Error::invalid("form-not-utf8").into_response();
            res.extensions_mut().insert(CsrfToken(token));
            return res;
        }
        let sent = form_field(&bytes, FIELD);
        if existing.is_none() || sent.as_deref() != existing.as_deref() {
            let mut res = Error::CsrfRejected.into_response();
            res.extensions_mut().insert(CsrfToken(token));
            return res;
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut res = next(req).await;
    // Error pages are rendered further out; they need the token for the forms in their layout.
    res.extensions_mut().insert(CsrfToken(token.clone()));
    if existing.is_none() {
        res.headers_mut()
            .append(header::SET_COOKIE, super::set_cookie(COOKIE, &token, None, secure));
    }
    res
}

/// One field of an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Whether an `application/x-www-form-urlencoded` body is UTF-8 both as sent and once each
/// `%XX` is decoded (what a browser sends for a page served as UTF-8).
fn form_is_utf8(body: &[u8]) -> bool {
    if std::str::from_utf8(body).is_err() {
        return false;
    }
    body.split(|b| *b == b'&').all(|pair| {
        let mut decoded = Vec::with_capacity(pair.len());
        let mut i = 0;
        while i < pair.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            match (
                pair[i],
                pair.get(i + 1).copied().and_then(hex),
                pair.get(i + 2).copied().and_then(hex),
            ) {
                (b'%', Some(hi), Some(lo)) => {
                    decoded.push((hi * 16 + lo) as u8);
                    i += 3;
                }
                (b, _, _) => {
                    decoded.push(b);
                    i += 1;
                }
            }
        }
        std::str::from_utf8(&decoded).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::form_is_utf8;

    #[test]
    fn forms_must_be_utf8_as_sent_and_decoded() {
        assert!(form_is_utf8(b"name=%E7%94%B0%E4%B8%AD&csrf=ab+c%"));
        assert!(form_is_utf8("name=田中".as_bytes()));
        assert!(!form_is_utf8(b"name=%FF&csrf=x"));
        assert!(!form_is_utf8(b"name=%E7%94&csrf=x"), "a character cut short");
        assert!(!form_is_utf8(b"name=\xff&csrf=x"));
    }
}
