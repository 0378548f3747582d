//! Errors become responses here and only here. A handler's error carries a catalog key; the
//! `localize_errors` middleware writes `{"error":{"code":…,"message":…}}` in the asker's
//! language, and gives the same shape to errors axum raises itself (404, 405, 413, …).

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
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
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound { .. } => StatusCode::NOT_FOUND,
            Error::Conflict { .. } => StatusCode::CONFLICT,
            Error::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Database(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn payload(self) -> ErrorPayload {
        let (code, args) = match self {
            Error::Invalid { key, args } | Error::Conflict { key, args } => (key.into_owned(), args),
            Error::Unauthorized { key } | Error::NotFound { key } => (key.into_owned(), vec![]),
            Error::Forbidden => ("forbidden".into(), vec![]),
            Error::TooLarge => ("payload-too-large".into(), vec![]),
            Error::Unavailable(_) => ("unavailable".into(), vec![]),
            Error::Database(_) | Error::Internal(_) => ("internal".into(), vec![]),
        };
        ErrorPayload { code, args }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Error::Database(sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed) => {
                tracing::error!(error = %self, "database unavailable");
                return with_payload(StatusCode::SERVICE_UNAVAILABLE, self.payload_unavailable());
            }
            Error::Database(_) | Error::Internal(_) | Error::Unavailable(_) => {
                tracing::error!(error = %self, "request failed")
            }
            _ => {}
        }
        with_payload(status, self.payload())
    }
}

impl Error {
    fn payload_unavailable(&self) -> ErrorPayload {
        ErrorPayload {
            code: "unavailable".into(),
            args: vec![],
        }
    }
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
    from_query.unwrap_or_else(|| {
        Lang::from_accept_language(req.headers().get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()))
    })
}

pub async fn localize_errors(req: Request, next: Next) -> Response {
    let lang = request_lang(&req);
    let max_body = req.extensions().get::<MaxBody>().map(|m| m.0);
    let mut res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let payload = match res.extensions_mut().remove::<ErrorPayload>() {
        Some(p) => p,
        None => {
            // An error axum or a layer produced without going through `Error`.
            let is_json = res
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            if is_json {
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
    let body = serde_json::json!({"error": {"code": payload.code, "message": message}});
    let mut out = (status, axum::Json(body)).into_response();
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut()
        .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
    out
}

/// The request body limit in force, so the 413 message can say it.
#[derive(Debug, Clone, Copy)]
pub struct MaxBody(pub usize);
