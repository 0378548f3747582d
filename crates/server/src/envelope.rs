//! What every request passes through, in two hand-written services rather than a stack of
//! eight middleware layers. Each `from_fn` layer or boxed layer clones its inner service and
//! boxes one more future on every request, and that stack cost 14–20 µs of server CPU per
//! device signal (40% more than the same routes bare; measured with the watch benchmark).
//!
//! - [`Envelope`], once around the whole app: the request ID (kept from the client or made,
//!   and returned), the request's log span and line, the extensions the handlers read (metrics,
//!   body limit, Secure cookies), errors in the asker's language and shape, strict headers,
//!   and no caching of what answers someone's credentials.
//! - [`Guard`], around each route (it needs the route matched): the body limit, the CSRF check
//!   for forms, and the metrics, which so count what those two refuse.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kernel::http::ErrorContext;
use kernel::web::MaxBody;
use kernel::web::csrf::SecureCookies;
use tower::ServiceExt;
use tracing::Instrument;

use crate::metrics::Metrics;

type Answer = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Around the whole app.
#[derive(Clone)]
pub struct Envelope<S> {
    inner: S,
    /// To draw an error page in the person's own shell.
    kernel: kernel::Kernel,
    metrics: Metrics,
    max_body: usize,
    secure_cookies: SecureCookies,
}

impl<S> Envelope<S> {
    pub fn new(
        inner: S,
        kernel: kernel::Kernel,
        metrics: Metrics,
        max_body: usize,
        secure_cookies: SecureCookies,
    ) -> Self {
        Envelope {
            inner,
            kernel,
            metrics,
            max_body,
            secure_cookies,
        }
    }
}

impl<S> tower::Service<Request> for Envelope<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // `oneshot` below waits for the inner service's readiness.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request) -> Answer {
        let id = match req.headers().get(&REQUEST_ID) {
            Some(v) => v.clone(),
            None => {
                let v = HeaderValue::try_from(kernel::model::ids::request_id()).expect("a ULID is a header value");
                req.headers_mut().insert(REQUEST_ID, v.clone());
                v
            }
        };
        // Disabled (the level is above INFO), the span costs nothing and its fields are not
        // written out.
        let span = tracing::info_span!(
            "request",
            method = %req.method(),
            path = %log_path(req.uri().path()),
            request_id = %id.to_str().unwrap_or("-"),
        );
        let ext = req.extensions_mut();
        ext.insert(self.metrics.clone());
        ext.insert(MaxBody(self.max_body));
        ext.insert(self.secure_cookies);
        let errors = ErrorContext::of(&req);
        let credentials = kernel::web::has_credentials(req.headers());
        let inner = self.inner.clone();
        let k = self.kernel.clone();
        let start = Instant::now();
        Box::pin(async move {
            let Ok(res) = inner.oneshot(req).instrument(span.clone()).await;
            let mut res = errors.localize(&k, res).await;
            kernel::web::add_security_headers(res.headers_mut());
            kernel::web::add_cache_control(credentials, res.headers_mut());
            if !res.headers().contains_key(&REQUEST_ID) {
                res.headers_mut().insert(REQUEST_ID, id);
            }
            let (status, latency) = (res.status().as_u16(), start.elapsed());
            if res.status().is_server_error() {
                tracing::error!(parent: &span, status, ?latency, "response failed");
            } else {
                tracing::info!(parent: &span, status, ?latency, "finished processing request");
            }
            Ok(res)
        })
    }
}

/// The path as logged: no query string, and no identifier values (card and member numbers).
fn log_path(path: &str) -> String {
    match path.find("/identifiers/") {
        Some(i) => format!("{}/identifiers/…", &path[..i]),
        None => path.to_string(),
    }
}

/// Around each route.
#[derive(Clone)]
pub struct Guard<S> {
    inner: S,
    metrics: Metrics,
    max_body: usize,
}

/// Makes a [`Guard`] of each route (`Router::layer`).
#[derive(Clone)]
pub struct GuardLayer {
    pub metrics: Metrics,
    pub max_body: usize,
}

impl<S> tower::Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            metrics: self.metrics.clone(),
            max_body: self.max_body,
        }
    }
}

impl<S> tower::Service<Request> for Guard<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Answer {
        let (inner, metrics, max_body) = (self.inner.clone(), self.metrics.clone(), self.max_body);
        Box::pin(async move {
            let method = req.method().clone();
            let route = req.extensions().get::<MatchedPath>().cloned();
            let start = Instant::now();
            let declared = req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            let res = if declared.is_some_and(|n| n > max_body as u64) {
                // Refused before a byte of the body is read.
                StatusCode::PAYLOAD_TOO_LARGE.into_response()
            } else {
                // A body without a length, or longer than it said, is cut off at the limit
                // however a handler reads it.
                let req = req.map(|b| Body::new(http_body_util::Limited::new(b, max_body)));
                kernel::web::csrf::protect(req, |req| async move {
                    let Ok(res) = inner.oneshot(req).await;
                    res
                })
                .await
            };
            let route = route.as_ref().map_or("unmatched", |p| p.as_str());
            metrics.record(route, method, res.status().as_u16(), start.elapsed().as_secs_f64());
            Ok(res)
        })
    }
}
