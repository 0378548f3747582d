//! Prometheus metrics (OpenMetrics text, written by the `prometheus-client` crate): requests by method, route
//! and status, their latency, and whether the MQTT broker is connected.
//!
//! Names kept from the hand-written exposition this replaced: `machi_http_requests_total` and
//! `machi_http_request_seconds_sum` (now the sum of a histogram, which also gives `_count` and `_bucket`).

use std::sync::Arc;

use axum::http::Method;
use axum::response::IntoResponse;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// An HTTP method as a label value, without copying its text.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct MethodLabel(Method);

impl EncodeLabelValue for MethodLabel {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> std::fmt::Result {
        std::fmt::Write::write_str(encoder, self.0.as_str())
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Labels {
    method: MethodLabel,
    route: String,
    status: u16,
}

type Seconds = Family<Labels, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    // 1 ms, 4 ms, 16 ms, 64 ms, 256 ms, 1 s.
    Histogram::new(exponential_buckets(0.001, 4.0, 6))
}

struct Inner {
    registry: Registry,
    requests: Family<Labels, Counter>,
    seconds: Seconds,
    mqtt_connected: Gauge,
}

#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<Labels, Counter>::default();
        let seconds = Seconds::new_with_constructor(seconds_histogram as fn() -> Histogram);
        let mqtt_connected = Gauge::default();
        let mut registry = Registry::default();
        // The text encoder adds `_total` to counters.
        registry.register("machi_http_requests", "HTTP requests handled", requests.clone());
        registry.register(
            "machi_http_request_seconds",
            "Time spent handling HTTP requests",
            seconds.clone(),
        );
        registry.register(
            "machi_mqtt_connected",
            "Whether the MQTT broker is connected",
            mqtt_connected.clone(),
        );
        Metrics(Arc::new(Inner {
            registry,
            requests,
            seconds,
            mqtt_connected,
        }))
    }
}

impl Metrics {
    /// One request answered: `route` is the route's template (not the raw path, so label
    /// cardinality stays bounded), "unmatched" for none.
    pub fn record(&self, route: &str, method: Method, status: u16, secs: f64) {
        let labels = Labels {
            method: MethodLabel(method),
            route: route.to_owned(),
            status,
        };
        self.0.requests.get_or_create(&labels).inc();
        self.0.seconds.get_or_create(&labels).observe(secs);
    }

    /// The exposition text, with the MQTT gauge read now.
    pub fn encode(&self, mqtt_connected: bool) -> String {
        self.0.mqtt_connected.set(i64::from(mqtt_connected));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.0.registry).expect("writing to a String cannot fail");
        out
    }
}

pub async fn render(
    axum::extract::State(k): axum::extract::State<kernel::Kernel>,
    axum::Extension(m): axum::Extension<Metrics>,
) -> impl IntoResponse {
    let out = m.encode(k.health.is_reachable(crate::channels::mqtt::CHANNEL));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        out,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_keeps_the_names_and_labels() {
        let m = Metrics::default();
        m.record("/healthz", Method::GET, 200, 0.002);
        m.record("/healthz", Method::GET, 200, 0.001);
        m.record("/alerts/{id}", Method::POST, 403, 0.5);
        let text = m.encode(true);
        assert!(
            text.contains("machi_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "machi_http_request_seconds_sum{method=\"POST\",route=\"/alerts/{id}\",status=\"403\"} 0.5\n"
            ),
            "{text}"
        );
        assert!(text.contains("machi_mqtt_connected 1\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
