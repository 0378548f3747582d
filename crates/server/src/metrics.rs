//! Prometheus text metrics: requests by method, route and status, with latency sums.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// (method, route, status) → (count, seconds).
type Series = BTreeMap<(String, String, u16), (u64, f64)>;

#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Series>>);

pub async fn record(State(m): State<Metrics>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    // The route template, not the raw path, so label cardinality stays bounded.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let start = Instant::now();
    let res = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    if let Ok(mut map) = m.0.lock() {
        let e = map.entry((method, route, res.status().as_u16())).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += secs;
    }
    res
}

pub async fn render(
    axum::extract::State(k): axum::extract::State<kernel::Kernel>,
    axum::Extension(m): axum::Extension<Metrics>,
) -> impl IntoResponse {
    let mut out = String::from(
        "# HELP machi_http_requests_total HTTP requests handled.\n# TYPE machi_http_requests_total counter\n",
    );
    let snapshot = m.0.lock().map(|g| g.clone()).unwrap_or_default();
    for ((method, route, status), (n, _)) in &snapshot {
        out.push_str(&format!(
            "machi_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}\n"
        ));
    }
    out.push_str("# HELP machi_http_request_seconds_sum Time spent handling HTTP requests.\n# TYPE machi_http_request_seconds_sum counter\n");
    for ((method, route, status), (_, s)) in &snapshot {
        out.push_str(&format!(
            "machi_http_request_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {s:.6}\n"
        ));
    }
    let connected = k.health.is_reachable(crate::channels::mqtt::CHANNEL) as u8;
    out.push_str(&format!(
        "# HELP machi_mqtt_connected Whether the MQTT broker is connected.\n# TYPE machi_mqtt_connected gauge\nmachi_mqtt_connected {connected}\n"
    ));
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
