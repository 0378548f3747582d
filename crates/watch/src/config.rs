//! The `[watch]` section of machi.toml: how fast a missed check-in walks up the ladder, which
//! signals are believed, how long they are kept.

use std::sync::Arc;

use kernel::Kernel;
use kernel::config::{Config, ConfigError, Section};
use serde::{Deserialize, Serialize};

/// `[watch]` in machi.toml.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchConfig {
    /// Minutes each step of the escalation ladder waits for 「今から訪問します」 before the next
    /// (a circle may set its own).
    pub ladder_minutes: u64,
    /// How often the detection job looks for missed check-ins.
    pub sweep_secs: u64,
    /// A signal stamped further ahead of the server's clock than this is refused (a device with a wrong clock).
    pub future_tolerance_secs: u64,
    /// A signal older than this is refused (a device replaying an old buffer).
    pub max_signal_age_days: u64,
    /// Signals are kept this many days after they arrive, then forgotten by the watch job (at
    /// the benchmark's scale, 100,000 devices every 5 minutes, that is 28.8 million a day). The
    /// circle page shows the last 48 hours; the sweep reads only each person's latest times.
    pub keep_signals_days: u64,
    /// On SQLite, the signal writer has the WAL copied back into the database once it holds
    /// this many pages (4 KB each): fewer copies and syncs against a larger WAL file.
    pub checkpoint_frames: u32,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            ladder_minutes: 30,
            sweep_secs: 10,
            future_tolerance_secs: 300,
            max_signal_age_days: 7,
            keep_signals_days: 30,
            checkpoint_frames: 16_000,
        }
    }
}

/// The section as the server checks it at start.
pub const SECTION: Section = Section { name: "watch", check };

fn check(c: &Config) -> Result<(), ConfigError> {
    let w: WatchConfig = c.section("watch")?;
    if w.keep_signals_days < 2 {
        return Err(ConfigError::Env {
            name: "watch.keep_signals_days".into(),
            value: w.keep_signals_days.to_string(),
            message: "must be at least 2 (the circle page shows the last 48 hours)".into(),
        });
    }
    if w.checkpoint_frames < 100 {
        return Err(ConfigError::Env {
            name: "watch.checkpoint_frames".into(),
            value: w.checkpoint_frames.to_string(),
            message: "must be at least 100".into(),
        });
    }
    Ok(())
}

/// This kernel's `[watch]`.
pub fn of(k: &Kernel) -> Arc<WatchConfig> {
    kernel::config::cached(k, "watch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_kept_at_least_the_two_days_the_circle_page_shows() {
        let mut c = Config::from_toml("machi.toml", "[watch]\nkeep_signals_days = 1\n").unwrap();
        let e = check(&c).unwrap_err().to_string();
        assert!(e.contains("keep_signals_days=1") && e.contains("48"), "{e}");
        c.set_section(
            "watch",
            &WatchConfig {
                keep_signals_days: 2,
                ..WatchConfig::default()
            },
        );
        check(&c).unwrap();
        assert_eq!(WatchConfig::default().keep_signals_days, 30);
        let c = Config::from_toml("machi.toml", "[watch]\nladder_minute = 5\n").unwrap();
        assert!(check(&c).unwrap_err().to_string().contains("ladder_minute"));
    }
}
