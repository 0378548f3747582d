//! Delivery channels the server holds: workers that take rows from the durable outbox and send
//! them (e-mail over SMTP, MQTT to devices, notices to a person's screens), with retries and backoff.

pub mod email;
pub mod mqtt;
pub mod web;

use std::sync::Arc;

use kernel::Module;
use kernel::module::DeviceRoute;

/// Start the channel workers the configuration asks for; device messages over MQTT go to the
/// modules' routes.
pub fn spawn(k: &kernel::Kernel, modules: &[Module]) -> Vec<tokio::task::JoinHandle<()>> {
    let mut jobs: Vec<_> = email::spawn(k.clone()).into_iter().collect();
    jobs.push(web::spawn(k.clone()));
    jobs.extend(mqtt::spawn(k.clone(), device_routes(modules)));
    jobs
}

/// Every module's device routes.
pub fn device_routes(modules: &[Module]) -> Arc<Vec<DeviceRoute>> {
    Arc::new(modules.iter().flat_map(|m| m.mqtt.iter().copied()).collect())
}

/// Give a device's message to the most specific route for it (its topic, the longest payload
/// prefix); false when no module takes it. A handler's error is logged, not returned.
pub async fn dispatch(k: &kernel::Kernel, routes: &[DeviceRoute], topic: &str, device: &str, payload: &str) -> bool {
    let Some(route) = kernel::module::route(routes, topic, payload) else {
        tracing::debug!(%device, topic, "device message no module takes");
        return false;
    };
    if let Err(e) = (route.handle)(k.clone(), device.to_string(), payload.to_string()).await {
        tracing::warn!(%device, error = %e, "device message not recorded");
    }
    true
}
