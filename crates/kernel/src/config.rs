//! Configuration: `machi.toml`, overridden by environment variables, overridden by command
//! line flags. Unknown keys in the file stop the start with the key named, so a typo never
//! silently falls back to a default.

use serde::Deserialize;

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "./machi.db";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The kernel's own tables in machi.toml; every other table is a module's section.
const KERNEL_SECTIONS: &[&str] = &["smtp", "mqtt"];

/// A module's section of machi.toml, as the module declares it (see `Module::config`).
#[derive(Clone, Copy)]
pub struct Section {
    /// The table's name (`[watch]`).
    pub name: &'static str,
    /// Parse the section (unknown keys refused) and check its values; the reason otherwise.
    pub check: fn(&Config) -> Result<(), ConfigError>,
}

/// A module's typed section for this kernel, parsed once and kept with the kernel (the config
/// was checked at start, so a bad section cannot reach here; defaults if it somehow does).
pub fn cached<T>(k: &crate::Kernel, name: &str) -> std::sync::Arc<T>
where
    T: serde::de::DeserializeOwned + Default + Send + Sync + 'static,
{
    k.sections
        .get_or_init(|| k.config.section::<T>(name).unwrap_or_default())
}

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
    /// Modules' sections (`[watch]`, `[safety]`, `[aid]`, …), kept as written: each module parses
    /// and checks its own (unknown keys refused) when the server starts, see `Config::section`.
    #[serde(skip)]
    pub sections: std::collections::BTreeMap<String, toml::Value>,
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
    /// Parse a config file's text. An unknown key is refused with its name. Tables other than
    /// the kernel's own (`[smtp]`, `[mqtt]`) are modules' sections, checked by the modules.
    pub fn from_toml(path: &str, text: &str) -> Result<Config, ConfigError> {
        let parse = |message: String| ConfigError::Parse {
            path: path.into(),
            message,
        };
        let mut table: toml::Table = toml::from_str(text).map_err(|e| parse(e.message().to_string()))?;
        let names: Vec<String> = table
            .iter()
            .filter(|(name, value)| value.is_table() && !KERNEL_SECTIONS.contains(&name.as_str()))
            .map(|(name, _)| name.clone())
            .collect();
        let mut sections = std::collections::BTreeMap::new();
        for name in names {
            if let Some(v) = table.remove(&name) {
                sections.insert(name, v);
            }
        }
        let mut c = Config::deserialize(toml::Value::Table(table)).map_err(|e| parse(e.message().to_string()))?;
        c.sections = sections;
        Ok(c)
    }

    /// A module's section, typed; its defaults when the file has none. An unknown key or a
    /// wrong type is refused with the section and the key named.
    pub fn section<T: serde::de::DeserializeOwned + Default>(&self, name: &str) -> Result<T, ConfigError> {
        match self.sections.get(name) {
            None => Ok(T::default()),
            Some(v) => T::deserialize(v.clone()).map_err(|e| ConfigError::Parse {
                path: format!("[{name}]"),
                message: e.message().to_string(),
            }),
        }
    }

    /// Replace a module's section (tests and tools that build a config in code).
    pub fn set_section<T: serde::Serialize>(&mut self, name: &str, value: &T) {
        let v = toml::Value::try_from(value).expect("a config section serialises to TOML");
        self.sections.insert(name.to_string(), v);
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

    /// Apply `MACHI_*` environment overrides (and `DATABASE_URL`) from `vars`, in any order: the
    /// environment's order is whatever a container or service manager made it.
    pub fn apply_env(&mut self, vars: impl Iterator<Item = (String, String)>) -> Result<(), ConfigError> {
        let mut vars: Vec<(String, String)> = vars.collect();
        // A host makes its `[smtp]`/`[mqtt]` table; the port and the rest then change that table.
        vars.sort_by_key(|(name, _)| !matches!(name.as_str(), "MACHI_SMTP_HOST" | "MACHI_MQTT_HOST"));
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
                    None => return Err(bad("needs MACHI_SMTP_HOST too (or [smtp] host in the config file)")),
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
                    None => return Err(bad("needs MACHI_MQTT_HOST too (or [mqtt] host in the config file)")),
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
    fn workers_and_module_sections() {
        assert!(Config::default().workers() >= 1);
        let c = Config::from_toml("machi.toml", "workers = 0\n").unwrap();
        assert!(c.check().unwrap_err().to_string().contains("workers=0"));
        let mut c = Config::default();
        c.apply_env([("MACHI_WORKERS".to_string(), "3".to_string())].into_iter())
            .unwrap();
        assert_eq!(c.workers(), 3);

        #[derive(Debug, Default, PartialEq, serde::Deserialize, serde::Serialize)]
        #[serde(deny_unknown_fields, default)]
        struct Garden {
            flowers: u32,
        }
        let c = Config::from_toml(
            "machi.toml",
            "[garden]\nflowers = 3\n[smtp]\nhost = \"h\"\nfrom = \"f\"\n",
        )
        .unwrap();
        assert_eq!(c.section::<Garden>("garden").unwrap(), Garden { flowers: 3 });
        assert_eq!(c.section::<Garden>("absent").unwrap(), Garden::default());
        assert_eq!(c.smtp.as_ref().unwrap().host, "h");
        let c = Config::from_toml("machi.toml", "[garden]\nflwers = 3\n").unwrap();
        let e = c.section::<Garden>("garden").unwrap_err().to_string();
        assert!(e.contains("[garden]") && e.contains("flwers"), "{e}");
        let mut c = Config::default();
        c.set_section("garden", &Garden { flowers: 9 });
        assert_eq!(c.section::<Garden>("garden").unwrap().flowers, 9);
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

    /// A port listed before its host in the environment (as a container may list them) is the
    /// same configuration as the other way round; a port with no host anywhere is still refused.
    #[test]
    fn env_order_does_not_matter() {
        let env = |pairs: &[(&str, &str)]| {
            let mut c = Config::default();
            c.apply_env(pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())))
                .map(|()| c)
        };
        let forward = [
            ("MACHI_SMTP_HOST", "mail.example"),
            ("MACHI_SMTP_PORT", "2525"),
            ("MACHI_MQTT_HOST", "broker.example"),
            ("MACHI_MQTT_PORT", "8883"),
        ];
        let backward: Vec<_> = forward.iter().rev().copied().collect();
        let a = env(&forward).unwrap();
        let b = env(&backward).unwrap();
        assert_eq!(a, b);
        assert_eq!(
            (b.smtp.as_ref().unwrap().host.as_str(), b.smtp.as_ref().unwrap().port),
            ("mail.example", 2525)
        );
        assert_eq!(
            (b.mqtt.as_ref().unwrap().host.as_str(), b.mqtt.as_ref().unwrap().port),
            ("broker.example", 8883)
        );
        let e = env(&[("MACHI_SMTP_PORT", "2525")]).unwrap_err().to_string();
        assert!(
            e.contains("MACHI_SMTP_PORT=2525") && e.contains("needs MACHI_SMTP_HOST"),
            "{e}"
        );
        let e = env(&[("MACHI_MQTT_PORT", "8883")]).unwrap_err().to_string();
        assert!(
            e.contains("MACHI_MQTT_PORT=8883") && e.contains("needs MACHI_MQTT_HOST"),
            "{e}"
        );
        // A host from the file is enough for the port alone.
        let mut c = Config::from_toml("m.toml", "[mqtt]\nhost = \"file.example\"\n").unwrap();
        c.apply_env([("MACHI_MQTT_PORT".to_string(), "1884".to_string())].into_iter())
            .unwrap();
        assert_eq!(c.mqtt.unwrap().port, 1884);
    }
}
