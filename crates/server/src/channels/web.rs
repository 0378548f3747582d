//! Notices to a person's screens (web pages and the in-home terminal) from the durable outbox:
//! each `web` row becomes a `notice` event for that person alone on the event hub (SSE), and is
//! kept in the outbox so the person's pages can list it later. A screen that is not connected
//! sees it on its next page.

use std::time::Duration;

use kernel::Kernel;
use kernel::events::Event;
use kernel::store::outbox;

pub const CHANNEL: &str = "web";

pub fn spawn(k: Kernel) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // On SQLite only this node sends: what it was showing when it stopped goes again now.
        if let Err(e) = outbox::requeue_after_restart(&k, CHANNEL).await {
            tracing::warn!(error = %e, "could not requeue unfinished notices");
        }
        loop {
            match outbox::claim(&k, CHANNEL, 200, k.config.outbox_lease_secs as i64 * 1000).await {
                Ok(batch) if batch.is_empty() => tokio::time::sleep(Duration::from_millis(250)).await,
                Ok(batch) => {
                    for d in batch {
                        k.hub.publish(Event {
                            kind: "notice".into(),
                            id: d.id.clone(),
                            area_ids: Vec::new(),
                            person_ids: vec![d.address.clone()],
                            data: serde_json::json!({ "subject": d.subject, "source": d.source }),
                        });
                        if let Err(e) = outbox::mark_sent(&k, &d.id).await {
                            tracing::warn!(delivery = %d.id, error = %e, "could not record a notice as shown");
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "notice outbox unavailable; retrying");
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
            }
        }
    })
}
