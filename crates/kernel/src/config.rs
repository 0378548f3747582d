//! Configuration: `machi.toml`, overridden by environment variables, overridden by command
//! line flags. Unknown keys in the file stop the start with the key named, so a typo never
//! silently falls back to a default.

use serde::Deserialize;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "./machi.db";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address to listen on.
    #[serde(default = "default_bind")]
    pub bind: String,
    /// SQLite file path, or a `postgres://` URL.
    #[serde(default = "default_database")]
    pub database: String,
    /// `text` or `json`.
    #[serde(default = "default_log_format")]
    pub log_format: String,
    /// The URL people reach machi at; cookies are Secure when it is https.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Threads serving requests (the async runtime's workers). Unset: one fewer than the
    /// machine's cores, at least one (`Config::workers`).
    #[serde(default)]
    pub workers: Option<usize>,
    /// Largest request body accepted, in bytes.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// A web session ends after this many hours without use.
    #[serde(default = "default_session_hours")]
    pub session_hours: u64,
    /// Seconds to let in-flight requests finish after SIGTERM.
    #[serde(default = "default_shutdown_grace")]
    pub shutdown_grace_secs: u64,
    /// Seconds a sender holds a claimed delivery before another (after a crash) may take it.
    #[serde(default = "default_outbox_lease")]
    pub outbox_lease_secs: u64,
    /// Ordinary notices (not emergencies) e-mailed to one resident per day at most.
    #[serde(default = "default_notices_per_day")]
    pub notices_per_day: i64,
    /// Outgoing e-mail; without it e-mail deliveries wait in the outbox.
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    /// The MQTT broker devices listen on; without it MQTT deliveries wait in the outbox.
    #[serde(default)]
    pub mqtt: Option<MqttConfig>,
    /// Safety-confirmation rounds (安否確認): when they start by themselves, reminders, escalation.
    #[serde(default)]
    pub safety: SafetyConfig,
    /// Watch-over (見守り): how fast a missed check-in walks up the ladder, what signals are believed.
    #[serde(default)]
    pub watch: WatchConfig,
    /// Mutual aid (共助): the town's fee range, when the coordinator steps in.
    #[serde(default)]
    pub aid: AidConfig,
}

/// `[aid]` in machi.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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

/// `[watch]` in machi.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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

/// `[safety]` in machi.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Deserialize)]
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

/// `[mqtt]` in machi.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConfig {
    pub host: String,
    #[serde(default = "default_mqtt_port")]
    pub port: u16,
    /// Client id at the broker; each node needs its own (a random suffix is added).
    #[serde(default = "default_mqtt_client")]
    pub client_id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
}

fn default_mqtt_port() -> u16 {
    1883
}
fn default_mqtt_client() -> String {
    "machi".into()
}

/// `[smtp]` in machi.toml.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default = "default_smtp_port")]
    pub port: u16,
    /// The From address, e.g. `みどり市 <alerts@city.midori.example.jp>`.
    pub from: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Connections kept open to the server.
    #[serde(default = "default_smtp_connections")]
    pub connections: u32,
}

fn default_outbox_lease() -> u64 {
    120
}
fn default_notices_per_day() -> i64 {
    3
}
fn default_smtp_port() -> u16 {
    25
}
/// Each SMTP connection sends about 25 messages a second (the DATA terminator waits on the
/// server's delayed ACK), so 32 connections reach 18,000 messages in well under a minute.
fn default_smtp_connections() -> u32 {
    32
}

fn default_bind() -> String {
    DEFAULT_BIND.into()
}
fn default_database() -> String {
    DEFAULT_DATABASE.into()
}
fn default_log_format() -> String {
    "text".into()
}
fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}
fn default_session_hours() -> u64 {
    8
}
fn default_shutdown_grace() -> u64 {
    20
}

impl Default for Config {
    fn default() -> Self {
        toml::from_str("").expect("every field has a default")
    }
}

/// Why configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{name}={value}: {message}")]
    Env {
        name: String,
        value: String,
        message: String,
    },
}

impl Config {
    /// Parse a config file's text. An unknown key is refused with its name.
    pub fn from_toml(path: &str, text: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.message().to_string(),
        })
    }

    /// Load `path` if given (it must exist), else `./machi.toml` if present, else defaults.
    pub fn load(path: Option<&str>) -> Result<Config, ConfigError> {
        let (path, required) = match path {
            Some(p) => (p.to_string(), true),
            None => ("machi.toml".to_string(), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::from_toml(&path, &text),
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Apply `MACHI_*` environment overrides (and `DATABASE_URL`) from `vars`.
    pub fn apply_env(&mut self, vars: impl Iterator<Item = (String, String)>) -> Result<(), ConfigError> {
        for (name, value) in vars {
            let bad = |message: &str| ConfigError::Env {
                name: name.clone(),
                value: value.clone(),
                message: message.into(),
            };
            match name.as_str() {
                "MACHI_BIND" => self.bind = value.clone(),
                "DATABASE_URL" | "MACHI_DATABASE" => self.database = value.clone(),
                "MACHI_LOG_FORMAT" => self.log_format = value.clone(),
                "MACHI_PUBLIC_URL" => self.public_url = Some(value.clone()),
                "MACHI_WORKERS" => self.workers = Some(value.parse().map_err(|_| bad("not a number"))?),
                "MACHI_MAX_BODY_BYTES" => self.max_body_bytes = value.parse().map_err(|_| bad("not a number"))?,
                "MACHI_SMTP_HOST" => {
                    let from = self
                        .smtp
                        .as_ref()
                        .map(|s| s.from.clone())
                        .unwrap_or_else(|| "machi@localhost".into());
                    let port = self.smtp.as_ref().map(|s| s.port).unwrap_or(25);
                    let mut smtp = self.smtp.clone().unwrap_or(SmtpConfig {
                        host: String::new(),
                        port,
                        from,
                        username: None,
                        password: None,
                        connections: default_smtp_connections(),
                    });
                    smtp.host = value.clone();
                    self.smtp = Some(smtp);
                }
                "MACHI_SMTP_PORT" => match self.smtp.as_mut() {
                    Some(s) => s.port = value.parse().map_err(|_| bad("not a port number"))?,
                    None => return Err(bad("set MACHI_SMTP_HOST first")),
                },
                "MACHI_MQTT_HOST" => {
                    let mut m = self.mqtt.clone().unwrap_or(MqttConfig {
                        host: String::new(),
                        port: default_mqtt_port(),
                        client_id: default_mqtt_client(),
                        username: None,
                        password: None,
                    });
                    m.host = value.clone();
                    self.mqtt = Some(m);
                }
                "MACHI_MQTT_PORT" => match self.mqtt.as_mut() {
                    Some(m) => m.port = value.parse().map_err(|_| bad("not a port number"))?,
                    None => return Err(bad("set MACHI_MQTT_HOST first")),
                },
                "MACHI_OUTBOX_LEASE_SECS" => self.outbox_lease_secs = value.parse().map_err(|_| bad("not a number"))?,
                "MACHI_SESSION_HOURS" => self.session_hours = value.parse().map_err(|_| bad("not a number"))?,
                "MACHI_SHUTDOWN_GRACE_SECS" => {
                    self.shutdown_grace_secs = value.parse().map_err(|_| bad("not a number"))?
                }
                _ => {}
            }
        }
        self.check()
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError::Env {
                name: "log_format".into(),
                value: self.log_format.clone(),
                message: "must be text or json".into(),
            });
        }
        if self.workers == Some(0) {
            return Err(ConfigError::Env {
                name: "workers".into(),
                value: "0".into(),
                message: "must be at least 1".into(),
            });
        }
        if self.watch.keep_signals_days < 2 {
            return Err(ConfigError::Env {
                name: "watch.keep_signals_days".into(),
                value: self.watch.keep_signals_days.to_string(),
                message: "must be at least 2 (the circle page shows the last 48 hours)".into(),
            });
        }
        if self.watch.checkpoint_frames < 100 {
            return Err(ConfigError::Env {
                name: "watch.checkpoint_frames".into(),
                value: self.watch.checkpoint_frames.to_string(),
                message: "must be at least 100".into(),
            });
        }
        Ok(())
    }

    /// How many threads serve requests: `workers`, or one fewer than the cores (at least one).
    /// The core left over is for the threads that write to the database (SQLite's writers, or
    /// PostgreSQL itself on the same machine): they do the serial part of every request that
    /// changes something, and with a worker per core they queued behind the requests they
    /// were holding up (on two cores, interleaved runs of the watch ingest: 13,200–17,900 device
    /// signals a second with two workers, 15,800–18,200 with one).
    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1)))
    }

    /// Cookies get the Secure flag when machi is reached over https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
    }

    pub fn is_postgres(&self) -> bool {
        crate::store::is_postgres_url(&self.database)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_are_kept_at_least_the_two_days_the_circle_page_shows() {
        let mut c = Config::from_toml("machi.toml", "[watch]\nkeep_signals_days = 1\n").unwrap();
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("keep_signals_days=1") && e.contains("48"), "{e}");
        c.watch.keep_signals_days = 2;
        c.check().unwrap();
        assert_eq!(Config::default().watch.keep_signals_days, 30);
        assert!(Config::default().workers() >= 1);
        let c = Config::from_toml("machi.toml", "workers = 0\n").unwrap();
        assert!(c.check().unwrap_err().to_string().contains("workers=0"));
        let mut c = Config::default();
        c.apply_env([("MACHI_WORKERS".to_string(), "3".to_string())].into_iter())
            .unwrap();
        assert_eq!(c.workers(), 3);
    }

    #[test]
    fn defaults_and_unknown_key() {
        let c = Config::default();
        assert_eq!(c.bind, DEFAULT_BIND);
        assert_eq!(c.database, DEFAULT_DATABASE);
        let e = Config::from_toml("machi.toml", "bind = \"0.0.0.0:1\"\ndatabse = \"x\"\n").unwrap_err();
        assert!(e.to_string().contains("databse"), "{e}");
    }

    #[test]
    fn env_overrides_file() {
        let mut c = Config::from_toml("m.toml", "bind = \"127.0.0.1:1\"").unwrap();
        c.apply_env(
            [
                ("MACHI_BIND".to_string(), "127.0.0.1:2".to_string()),
                ("DATABASE_URL".into(), "postgres://x/y".into()),
            ]
            .into_iter(),
        )
        .unwrap();
        assert_eq!(c.bind, "127.0.0.1:2");
        assert!(c.is_postgres());
        let bad = c.apply_env([("MACHI_MAX_BODY_BYTES".to_string(), "lots".to_string())].into_iter());
        assert!(bad.unwrap_err().to_string().contains("MACHI_MAX_BODY_BYTES"));
    }
}
