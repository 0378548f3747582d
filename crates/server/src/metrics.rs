//! Prometheus text metrics: requests by method, route and status, with latency sums.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// route → (method, status, count, seconds). Looked up by the route's text, so a request to a
/// route seen before allocates nothing.
type Series = HashMap<String, Vec<(Method, u16, u64, f64)>>;

#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Series>>);

pub async fn record(State(m): State<Metrics>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // The route template, not the raw path, so label cardinality stays bounded.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let start = Instant::now();
    let res = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let (route, status) = (
        matched.as_ref().map_or("unmatched", |p| p.as_str()),
        res.status().as_u16(),
    );
    if let Ok(mut map) = m.0.lock() {
        if !map.contains_key(route) {
            map.insert(route.to_string(), Vec::new());
        }
        let series = map.get_mut(route).expect("inserted above");
        match series.iter_mut().find(|(m, s, _, _)| *m == method && *s == status) {
            Some(e) => {
                e.2 += 1;
                e.3 += secs;
            }
            None => series.push((method, status, 1, secs)),
        }
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
    // (method, route, status) → (count, seconds), in order.
    let snapshot: BTreeMap<(String, String, u16), (u64, f64)> =
        m.0.lock()
            .map(|g| {
                g.iter()
                    .flat_map(|(route, series)| {
                        series
                            .iter()
                            .map(move |(m, s, n, secs)| ((m.to_string(), route.clone(), *s), (*n, *secs)))
                    })
                    .collect()
            })
            .unwrap_or_default();
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
