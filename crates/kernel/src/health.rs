//! Whether the outside services deliveries go through (the SMTP relay, the MQTT broker) can be
//! reached from this node: for `/metrics` and the delivery dashboard. Kept per kernel, so two
//! nodes in one process (tests) each report their own.

use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct ChannelHealth {
    /// Channel name → reachable. A channel not yet tried is absent.
    state: Mutex<BTreeMap<&'static str, bool>>,
}

impl ChannelHealth {
    /// Record what the channel just saw; returns what it was before (None if never seen).
    pub fn set(&self, channel: &'static str, reachable: bool) -> Option<bool> {
        self.state.lock().ok()?.insert(channel, reachable)
    }

    pub fn is_reachable(&self, channel: &str) -> bool {
        self.seen(channel).unwrap_or(false)
    }

    /// What the channel saw last; None until it has tried (at start).
    pub fn seen(&self, channel: &str) -> Option<bool> {
        self.state.lock().ok()?.get(channel).copied()
    }

    /// Channels that were reached before and are not now, or were never reached.
    pub fn down(&self) -> Vec<&'static str> {
        self.state
            .lock()
            .map(|s| s.iter().filter(|(_, up)| !**up).map(|(c, _)| *c).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_each_channel() {
        let h = ChannelHealth::default();
        assert!(!h.is_reachable("mqtt"));
        assert_eq!(h.seen("mqtt"), None);
        assert_eq!(h.set("mqtt", true), None);
        assert_eq!(h.seen("mqtt"), Some(true));
        assert_eq!(h.set("email", false), None);
        assert!(h.is_reachable("mqtt"));
        assert_eq!(h.down(), vec!["email"]);
        assert_eq!(h.set("mqtt", false), Some(true));
        assert_eq!(h.down(), vec!["email", "mqtt"]);
    }
}
