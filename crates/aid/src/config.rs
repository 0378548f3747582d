//! The `[aid]` section of machi.toml: the town's fee range, when the coordinator steps in.

use std::sync::Arc;

use kernel::Kernel;
use kernel::config::{Config, ConfigError, Section};
use serde::{Deserialize, Serialize};

/// `[aid]` in machi.toml.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AidConfig {
    /// The fee per hour residents may agree on (yen); help may also be free.
    pub fee_min_per_hour: i64,
    pub fee_max_per_hour: i64,
    /// What the ask form proposes.
    pub fee_default_per_hour: i64,
    /// A request unmatched this long shows in the coordinator's queue.
    pub coordinator_after_hours: u64,
    /// How many supporters a request suggests.
    pub suggestions: usize,
}

impl Default for AidConfig {
    fn default() -> Self {
        AidConfig {
            fee_min_per_hour: 500,
            fee_max_per_hour: 700,
            fee_default_per_hour: 600,
            coordinator_after_hours: 24,
            suggestions: 10,
        }
    }
}

/// The section as the server checks it at start.
pub const SECTION: Section = Section { name: "aid", check };

fn check(c: &Config) -> Result<(), ConfigError> {
    let a: AidConfig = c.section("aid")?;
    if a.fee_min_per_hour > a.fee_max_per_hour {
        return Err(ConfigError::Env {
            name: "aid.fee_min_per_hour".into(),
            value: a.fee_min_per_hour.to_string(),
            message: format!("must not be above fee_max_per_hour ({})", a.fee_max_per_hour),
        });
    }
    Ok(())
}

/// This kernel's `[aid]`.
pub fn of(k: &Kernel) -> Arc<AidConfig> {
    kernel::config::cached(k, "aid")
}
