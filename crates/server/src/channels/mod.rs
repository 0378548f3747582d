//! Delivery channels the server holds: workers that take rows from the durable outbox and send
//! them (e-mail over SMTP, MQTT to devices), with retries and backoff.

pub mod email;
pub mod mqtt;

use std::sync::Arc;

/// Start the channel workers the configuration asks for.
pub fn spawn(k: &kernel::Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    let mut jobs: Vec<_> = email::spawn(k.clone()).into_iter().collect();
    let on_ack: mqtt::AckHandler = Arc::new(|k, device, payload| {
        Box::pin(async move {
            if let Err(e) = alerts::store::device_ack(&k, &device, &payload).await {
                tracing::warn!(%device, error = %e, "device acknowledgement not recorded");
            }
        })
    });
    jobs.extend(mqtt::spawn(k.clone(), on_ack));
    jobs
}
