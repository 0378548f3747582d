//! Delivery channels the server holds: workers that take rows from the durable outbox and send
//! them (e-mail now; MQTT and push next), with retries and backoff.

pub mod email;

/// Start the channel workers the configuration asks for.
pub fn spawn(k: &kernel::Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    email::spawn(k.clone()).into_iter().collect()
}
