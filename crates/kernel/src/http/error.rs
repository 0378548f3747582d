//! Errors become responses here and only here. A handler's error carries a catalog key; the
//! server's envelope around every request (`ErrorContext::localize`) writes `{"error":{"code":…,"message":…}}` in the asker's
//! language, and gives the same shape to errors axum raises itself (404, 405, 413, …).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Error;
use crate::i18n::{Lang, t};

/// Attached to an error response until the middleware renders it.
#[derive(Debug, Clone)]
pub struct ErrorPayload {
    pub code: String,
    pub args: Vec<(&'static str, String)>,
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid { .. } => StatusCode::BAD_REQUEST,
            Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden | Error::CsrfRejected | Error::Refused { .. } => StatusCode::FORBIDDEN,
            Error::LoginRequired { .. } => StatusCode::SEE_OTHER,
            Error::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(e) if is_unreachable(e) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn payload(self) -> ErrorPayload {
        let (code, args) = match self {
            Error::Invalid { key, args } | Error::Conflict { key, args } | Error::Refused { key, args } => {
                (key.into_owned(), args)
            }
            Error::Unauthorized { key } | Error::NotFound { key } => (key.into_owned(), vec![]),
            Error::Forbidden => ("forbidden".into(), vec![]),
            Error::CsrfRejected => ("csrf-invalid".into(), vec![]),
            Error::LoginRequired { .. } => ("unauthorized".into(), vec![]),
            Error::TooManyAttempts { retry_after_secs } => (
                "too-many-attempts".into(),
                vec![("minutes", ((retry_after_secs + 59) / 60).to_string())],
            ),
            Error::TooLarge => ("payload-too-large".into(), vec![]),
            Error::Unavailable(_) => ("unavailable".into(), vec![]),
            Error::Database(e) if is_unreachable(&e) => ("unavailable".into(), vec![]),
            Error::Database(_) | Error::Internal(_) => ("internal".into(), vec![]),
        };
        ErrorPayload { code, args }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Error::LoginRequired { next, expired } => {
                let mut to = format!("/login?next={}", crate::web::render::url_encode(next));
                if *expired {
                    to.push_str("&expired=1");
                }
                return axum::response::Redirect::to(&to).into_response();
            }
            Error::TooManyAttempts { retry_after_secs } => {
                let retry = HeaderValue::from(*retry_after_secs);
                let mut r = with_payload(status, self.payload());
                r.headers_mut().insert(header::RETRY_AFTER, retry);
                return r;
            }
            Error::Database(_) | Error::Internal(_) | Error::Unavailable(_) => {
                tracing::error!(error = %self, "request failed")
            }
            _ => {}
        }
        with_payload(status, self.payload())
    }
}

/// The database cannot be reached right now (as opposed to a query that failed).
fn is_unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed
    )
}

fn with_payload(status: StatusCode, payload: ErrorPayload) -> Response {
    let mut r = status.into_response();
    r.extensions_mut().insert(payload);
    r
}

/// The language of the request: `?lang=` wins, then Accept-Language; Japanese by default.
pub fn request_lang(req: &Request) -> Lang {
    let from_query = req.uri().query().and_then(|q| {
        q.split('&').find_map(|kv| match kv {
            "lang=en" => Some(Lang::En),
            "lang=ja" => Some(Lang::Ja),
            _ => None,
        })
    });
    let from_cookie = || match crate::web::cookie(req.headers(), crate::web::viewer::LANG_COOKIE) {
        Some("en") => Some(Lang::En),
        Some("ja") => Some(Lang::Ja),
        _ => None,
    };
    from_query.or_else(from_cookie).unwrap_or_else(|| {
        Lang::from_accept_language(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
    })
}

/// What an error response needs to know of its request, read before the request goes on
/// (the handler takes it): the asker's language, whether the asker is on a page, the body limit.
pub struct ErrorContext {
    lang: Lang,
    page: Option<PageContext>,
    max_body: Option<usize>,
}

/// A logged-in person's request to a page, kept so that an error page can be drawn with their
/// name and menu (the request itself goes on to the handler).
struct SessionRequest {
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
}

impl ErrorContext {
    pub fn of(req: &Request) -> ErrorContext {
        ErrorContext {
            lang: request_lang(req),
            page: PageContext::of(req),
            max_body: req.extensions().get::<crate::web::MaxBody>().map(|m| m.0),
        }
    }

    /// An error response in the asker's language and shape (a JSON error, or an error page
    /// in the asker's own shell: their name and menu); anything else as it is.
    pub async fn localize(self, k: &crate::Kernel, res: Response) -> Response {
        let status = res.status();
        if !(status.is_client_error() || status.is_server_error()) {
            return res;
        }
        // Only client errors look the person up: a server error may mean the database is down.
        let viewer = match self.page.as_ref().and_then(|p| p.session.as_ref()) {
            Some(s) if status.is_client_error() => {
                let mut req = Request::new(axum::body::Body::empty());
                *req.uri_mut() = s.uri.clone();
                *req.headers_mut() = s.headers.clone();
                let (mut parts, _) = req.into_parts();
                <crate::web::Viewer as axum::extract::FromRequestParts<crate::Kernel>>::from_request_parts(
                    &mut parts, k,
                )
                .await
                .ok()
                .filter(|v| v.person.is_some())
            }
            _ => None,
        };
        self.localize_as(viewer, res)
    }

    fn localize_as(self, viewer: Option<crate::web::Viewer>, mut res: Response) -> Response {
        let ErrorContext { lang, page, max_body } = self;
        let lang = viewer.as_ref().map_or(lang, |v| v.lang);
        let status = res.status();
        let payload = match res.extensions_mut().remove::<ErrorPayload>() {
            Some(p) => p,
            None => {
                // An error axum or a layer produced without going through `Error`.
                // A handler that wrote its own body (a JSON document, or a form shown again with its
                // errors) has said what it means.
                let complete = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
                    v.as_bytes().starts_with(b"application/json") || v.as_bytes().starts_with(b"text/html")
                });
                if complete {
                    return res;
                }
                let code = match status {
                    StatusCode::NOT_FOUND => "route-not-found",
                    StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
                    StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
                    StatusCode::UNAUTHORIZED => "unauthorized",
                    StatusCode::FORBIDDEN => "forbidden",
                    s if s.is_client_error() => "bad-request",
                    _ => "internal",
                };
                ErrorPayload {
                    code: code.into(),
                    args: vec![("detail", status.canonical_reason().unwrap_or("").into())],
                }
            }
        };
        let mut args = payload.args.clone();
        if payload.code == "payload-too-large" {
            args.push(("limit", max_body.map(|m| m.to_string()).unwrap_or_else(|| "?".into())));
        }
        let message = t(lang, &payload.code, &args);
        if let Some(mut page) = page {
            if let Some(token) = res.extensions().get::<crate::web::csrf::CsrfToken>() {
                page.csrf = token.0.clone();
            }
            return page.render(status, lang, &message, viewer, res);
        }
        let body = serde_json::json!({"error": {"code": payload.code, "message": message}});
        let out = (status, axum::Json(body)).into_response();
        with_headers_of(out, &res, lang)
    }
}

/// For requests to HTML pages (anything outside `/api/` and the probes), errors are pages.
struct PageContext {
    csrf: String,
    large_text: bool,
    path: String,
    session: Option<SessionRequest>,
}

impl PageContext {
    fn of(req: &Request) -> Option<PageContext> {
        let path = req.uri().path();
        if path.starts_with("/api/")
            || matches!(path, "/healthz" | "/readyz" | "/metrics")
            || path.starts_with("/static/")
        {
            return None;
        }
        Some(PageContext {
            // Filled from the response once the CSRF layer has run; the cookie is the fallback.
            csrf: crate::web::cookie(req.headers(), crate::web::csrf::COOKIE)
                .unwrap_or_default()
                .to_string(),
            large_text: crate::web::cookie(req.headers(), crate::web::viewer::LARGE_COOKIE) == Some("1"),
            path: path.to_string(),
            session: crate::web::cookie(req.headers(), crate::web::viewer::SESSION_COOKIE).map(|_| SessionRequest {
                uri: req.uri().clone(),
                headers: req.headers().clone(),
            }),
        })
    }

    fn render(
        self,
        status: StatusCode,
        lang: Lang,
        message: &str,
        viewer: Option<crate::web::Viewer>,
        original: Response,
    ) -> Response {
        if let Some(mut v) = viewer {
            // The person's own shell: their name, their menu, the token this response carries.
            v.csrf = self.csrf;
            let ctx = minijinja::context! {
                ..crate::web::render::shell(&v, "error-title"),
                ..minijinja::context! { heading_key => "error-title", message => message }
            };
            let html = crate::web::render("error.html", ctx).unwrap_or_else(|_| message.to_string());
            let out = (status, axum::response::Html(html)).into_response();
            return with_headers_of(out, &original, lang);
        }
        let nav = vec![
            crate::web::viewer::NavItem {
                href: "/",
                label: "nav-home",
                current: false,
            },
            crate::web::viewer::NavItem {
                href: "/directory",
                label: "nav-directory",
                current: false,
            },
        ];
        let ctx = minijinja::context! {
            lang => lang.code(), title_key => "error-title", heading_key => "error-title", large_text => self.large_text,
            csrf => self.csrf, nav => crate::web::render::ser(&nav), viewer_name => None::<String>, logged_in => false,
            path => self.path, message => message,
        };
        let html = crate::web::render("error.html", ctx).unwrap_or_else(|_| message.to_string());
        let out = (status, axum::response::Html(html)).into_response();
        with_headers_of(out, &original, lang)
    }
}

/// A rendered error keeps the headers of the response it replaces (Set-Cookie, Retry-After, …)
/// but its type and length, and says its language.
fn with_headers_of(mut out: Response, original: &Response, lang: Lang) -> Response {
    for (name, value) in original.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out.headers_mut()
        .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    out
}
