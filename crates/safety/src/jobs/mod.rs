//! The safety module's background work, once a second on the kernel's clock (so tests can
//! move time): start rounds for alerts that match the town's rule (after the configured
//! delay; aftershocks join the open round), send reminders, escalate silent 要支援者 households.
//! Every step is safe with two nodes: the database decides who does it. The steps are use cases
//! in `service`; this only runs them.

use std::time::Duration;

use kernel::{Kernel, Result};

use crate::service::{asking, follow_up, rounds};

pub fn spawn(k: Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(async move {
        loop {
            if let Err(e) = tick(&k).await {
                tracing::warn!(error = %e, "safety job failed; trying again");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })]
}

/// What one pass did.
#[derive(Debug, Default, PartialEq)]
pub struct Tick {
    pub started: Vec<String>,
    pub joined: Vec<String>,
    pub reminders: usize,
    pub escalated: usize,
}

pub async fn tick(k: &Kernel) -> Result<Tick> {
    let (started, joined) = rounds::auto_start(k).await?;
    rounds::announce_unfinished(k).await?;
    let reminders = asking::remind(k).await?;
    let escalated = follow_up::escalate(k).await?;
    Ok(Tick {
        started,
        joined,
        reminders,
        escalated,
    })
}
