//! The aid module's background work: once an hour, remind the coordinators of requests that
//! have waited `coordinator_after_hours` without a match (once per request).

use std::time::Duration;

use kernel::{Kernel, Result};

use crate::service::notices::{link, notify};

pub fn spawn(k: Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(async move {
        loop {
            if let Err(e) = tick(&k).await {
                tracing::warn!(error = %e, "aid job failed; trying again");
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    })]
}

/// Tell the coordinators (staff with the `aid` duty) of requests that waited too long.
pub async fn tick(k: &Kernel) -> Result<usize> {
    let now = k.now();
    let before = now - crate::config::of(k).coordinator_after_hours as i64 * 3_600_000;
    let waiting = crate::store::unmatched_since(&k.db, before, now).await?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let coordinators = kernel::store::orgs::commissioned_staff(&k.db, "aid").await?;
    for r in &waiting {
        let notice = crate::model::notice::waiting(&r.category, &link(k, &r.id));
        notify(k, &coordinators, &notice, &format!("aid:{}:waiting", r.id)).await?;
    }
    Ok(waiting.len())
}
