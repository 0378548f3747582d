//! Events between modules and out to connected screens: an in-process broadcast hub. Modules
//! publish (an alert was issued); channels subscribe (SSE streams to terminals and banners).
//! Fan-out across nodes (PostgreSQL LISTEN/NOTIFY) plugs in behind the same `publish`.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

/// Something that happened, for the people in `area_ids` (all areas when empty).
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// What it is, e.g. `alert`; SSE clients see it as the event name.
    pub kind: String,
    /// Sortable id (ULID), used as the SSE event id for catch-up after reconnecting.
    pub id: String,
    pub area_ids: Vec<String>,
    pub data: serde_json::Value,
}

impl Event {
    pub fn reaches(&self, area_id: Option<&str>) -> bool {
        self.area_ids.is_empty() || area_id.is_some_and(|a| self.area_ids.iter().any(|x| x == a))
    }
}

pub struct Hub {
    tx: broadcast::Sender<Arc<Event>>,
}

impl Default for Hub {
    fn default() -> Self {
        // Slow subscribers that fall this far behind miss events and catch up from the store.
        let (tx, _) = broadcast::channel(4096);
        Hub { tx }
    }
}

impl Hub {
    pub fn publish(&self, event: Event) {
        // No subscribers is fine: nobody is watching right now.
        let _ = self.tx.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}
