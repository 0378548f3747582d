//! Prometheus text metrics: requests by method, route and status, with latency sums.

use axum::http::Method;
use axum::response::IntoResponse;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// route → (method, status, count, seconds). Looked up by the route's text, so a request to a
/// route seen before allocates nothing.
type Series = HashMap<String, Vec<(Method, u16, u64, f64)>>;

#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Series>>);

impl Metrics {
    /// One request answered: `route` is the route's template (not the raw path, so label
    /// cardinality stays bounded), "unmatched" for none.
    pub fn record(&self, route: &str, method: Method, status: u16, secs: f64) {
        if let Ok(mut map) = self.0.lock() {
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
    }
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
