//! The `[safety]` section of machi.toml: when rounds start by themselves, reminders, escalation.

use std::sync::Arc;

use kernel::Kernel;
use kernel::config::{Config, ConfigError, Section};
use serde::{Deserialize, Serialize};

/// `[safety]` in machi.toml.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SafetyConfig {
    /// Start a round by itself when an Actual alert matches the rule below.
    pub auto_start: bool,
    /// An earthquake alert starts a round from this seismic intensity (震度) up: "5弱", "6強", …
    pub quake_min_intensity: String,
    /// Other events that start a round when an alert's event or headline names them.
    pub events: Vec<String>,
    /// Wait this long after the alert (a mistaken alert is usually cancelled within minutes).
    pub delay_secs: u64,
    /// An alert within this long of an open round's start joins it (aftershocks).
    pub aftershock_window_secs: u64,
    /// Reminders to households that have not answered: each this long after the start, on
    /// its own channels (`[[safety.reminders]] after_secs = 900, channels = ["terminal"]`).
    pub reminders: Vec<ReminderStep>,
    /// A silent household with a 要支援者 escalates to its supporter after this long.
    pub escalate_after_secs: u64,
    /// How long an e-mailed answer link stays valid.
    pub link_hours: u64,
}

/// One reminder of a safety round: when, and on which channels (`terminal`, `email`, `mqtt`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderStep {
    pub after_secs: u64,
    pub channels: Vec<String>,
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            auto_start: true,
            quake_min_intensity: "5弱".into(),
            events: vec!["津波".into(), "特別警報".into()],
            delay_secs: 0,
            aftershock_window_secs: 6 * 3600,
            reminders: vec![
                ReminderStep {
                    after_secs: 15 * 60,
                    channels: vec!["terminal".into(), "mqtt".into()],
                },
                ReminderStep {
                    after_secs: 45 * 60,
                    channels: vec!["terminal".into(), "mqtt".into(), "email".into()],
                },
            ],
            escalate_after_secs: 30 * 60,
            link_hours: 72,
        }
    }
}

/// The section as the server checks it at start.
pub const SECTION: Section = Section { name: "safety", check };

fn check(c: &Config) -> Result<(), ConfigError> {
    c.section::<SafetyConfig>("safety").map(|_| ())
}

/// This kernel's `[safety]`.
pub fn of(k: &Kernel) -> Arc<SafetyConfig> {
    kernel::config::cached(k, "safety")
}
