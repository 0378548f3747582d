//! Events between modules and out to connected screens: an in-process broadcast hub. Modules
//! publish (an alert was issued); channels subscribe (SSE streams to terminals and banners).
//! Fan-out across nodes (PostgreSQL LISTEN/NOTIFY) plugs in behind the same `publish`.

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::broadcast;

/// Something that happened, for the people in `area_ids` (all areas when empty), or only for
/// the people in `person_ids` when that is not empty (a notice to a person).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Event {
    /// What it is, e.g. `alert`; SSE clients see it as the event name.
    pub kind: String,
    /// Sortable id (ULID), used as the SSE event id for catch-up after reconnecting.
    pub id: String,
    pub area_ids: Vec<String>,
    #[serde(default)]
    pub person_ids: Vec<String>,
    pub data: serde_json::Value,
}

impl Event {
    pub fn reaches(&self, area_id: Option<&str>) -> bool {
        self.person_ids.is_empty()
            && (self.area_ids.is_empty() || area_id.is_some_and(|a| self.area_ids.iter().any(|x| x == a)))
    }

    /// A notice to one person: what their own screens show, nobody else's.
    pub fn for_person(&self, person_id: Option<&str>) -> bool {
        person_id.is_some_and(|p| self.person_ids.iter().any(|x| x == p))
    }
}

pub struct Hub {
    tx: broadcast::Sender<Arc<Event>>,
    /// Events to pass to other nodes (set when several nodes share PostgreSQL).
    relay: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<Arc<Event>>>,
}

impl Default for Hub {
    fn default() -> Self {
        // Slow subscribers that fall this far behind miss events and catch up from the store.
        let (tx, _) = broadcast::channel(4096);
        Hub {
            tx,
            relay: std::sync::OnceLock::new(),
        }
    }
}

impl Hub {
    /// Publish to this node's subscribers and, when relaying, to the other nodes.
    pub fn publish(&self, event: Event) {
        let event = Arc::new(event);
        if let Some(relay) = self.relay.get() {
            let _ = relay.send(event.clone());
        }
        // No subscribers is fine: nobody is watching right now.
        let _ = self.tx.send(event);
    }

    /// An event that came from another node: for this node's subscribers only.
    pub fn deliver_local(&self, event: Event) {
        let _ = self.tx.send(Arc::new(event));
    }

    /// Start relaying published events; returns the stream of events to pass on.
    pub fn relay(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Arc<Event>>> {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.relay.set(tx).ok().map(|_| rx)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}
