//! Delivery channels the server holds: workers that take rows from the durable outbox and send
//! them (e-mail over SMTP, MQTT to devices, notices to a person's screens), with retries and backoff.

pub mod email;
pub mod mqtt;
pub mod web;

use std::sync::Arc;

/// Start the channel workers the configuration asks for.
pub fn spawn(k: &kernel::Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    let mut jobs: Vec<_> = email::spawn(k.clone()).into_iter().collect();
    jobs.push(web::spawn(k.clone()));
    let on_ack: mqtt::AckHandler = Arc::new(|k, topic, device, payload| {
        Box::pin(async move {
            // A watch-over signal; `safety:<round>:safe|help` answers a safety check; anything else
            // acknowledges an alert.
            let done = if topic == "signals" {
                watch::http::mqtt_signal(&k, &device, &payload).await.map(|_| ())
            } else if payload.starts_with("safety:") {
                safety::http::device_answer(&k, &device, &payload).await.map(|_| ())
            } else {
                alerts::store::device_ack(&k, &device, &payload).await.map(|_| ())
            };
            if let Err(e) = done {
                tracing::warn!(%device, error = %e, "device message not recorded");
            }
        })
    });
    jobs.extend(mqtt::spawn(k.clone(), on_ack));
    jobs
}
