//! The kernel owns what every module of machi shares: people, households, areas,
//! organisations and roles, linked identifiers, consent records, the hash-chained audit
//! log, API tokens and accounts, the one policy that answers "may X do Y to Z", storage
//! plumbing for SQLite and PostgreSQL, configuration, errors, message catalogs, and the
//! injectable clock and ID source.
//!
//! Rooms: `model` (pure types and logic, no I/O), `store` (SQL), `service` (use cases the API and
//! the pages share: a change and its audit entry in one transaction), `http` (JSON API).

pub mod config;
pub mod demo;
pub mod error;
pub mod events;
pub mod health;
pub mod http;
pub mod i18n;
pub mod model;
pub mod module;
pub mod notice;
pub mod service;
pub mod store;
pub mod web;

pub use error::{Error, Result};
pub use model::clock::{Clock, SystemClock, TestClock};
pub use model::ids::{IdSource, RandomIds, SequentialIds};
pub use module::Module;
pub use store::Db;

use std::sync::Arc;

/// Everything a handler or job needs from the kernel, cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdSource>,
    pub config: Arc<config::Config>,
    /// Events to connected screens (SSE).
    pub hub: Arc<events::Hub>,
    /// Whether the SMTP relay and the MQTT broker can be reached from this node.
    pub health: Arc<health::ChannelHealth>,
    /// Per-kernel state modules keep for themselves (a module's write queue, say), by type.
    pub extensions: Arc<Extensions>,
    /// Modules' config sections, parsed once (apart from `extensions`, whose initialisers read
    /// them while holding its lock).
    pub sections: Arc<Extensions>,
}

/// A small type map: each module keeps its own per-kernel state here, made on first use.
#[derive(Default)]
pub struct Extensions(
    std::sync::Mutex<std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>>,
);

impl Extensions {
    pub fn get_or_init<T: Send + Sync + 'static>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(init()) as Arc<dyn std::any::Any + Send + Sync>);
        entry.clone().downcast::<T>().expect("keyed by its own type")
    }

    /// The state of type `T`, if something made it.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.get(&std::any::TypeId::of::<T>())?.clone();
        Some(entry.downcast::<T>().expect("keyed by its own type"))
    }
}

impl Kernel {
    pub fn new(db: Db, config: config::Config) -> Self {
        Kernel {
            db,
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
            config: Arc::new(config),
            hub: Arc::default(),
            health: Arc::default(),
            extensions: Arc::default(),
            sections: Arc::default(),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn new_id(&self) -> String {
        self.ids.new_id()
    }

    /// The absolute address of one of machi's pages (`/watch/01…`), for e-mails and notices:
    /// under `public_url`, else the address machi listens on.
    pub fn link(&self, path: &str) -> String {
        let base = self
            .config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.config.bind));
        format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
    }
}
