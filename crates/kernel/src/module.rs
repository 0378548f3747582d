//! How a module plugs into machi: its migrations, message catalog and routes, registered with
//! the server in one list (`server::modules()`).

use utoipa_axum::router::OpenApiRouter;

use crate::Kernel;
use crate::store::migrate::Migration;

pub struct Module {
    pub name: &'static str,
    /// Applied in order, once each, on start.
    pub migrations: &'static [Migration],
    pub messages_ja: &'static str,
    pub messages_en: &'static str,
    /// JSON API routes, mounted under `/api/v1`, documented in the OpenAPI document.
    pub api: fn() -> OpenApiRouter<Kernel>,
    /// HTML pages (server-rendered), mounted at the root.
    pub pages: fn() -> axum::Router<Kernel>,
    /// Navigation entries: (path, message key, the action that makes it visible on the town).
    pub nav: &'static [(&'static str, &'static str, crate::model::policy::Action)],
    /// Templates by name, rendered inside the shared layout.
    pub templates: &'static [(&'static str, &'static str)],
    /// Background jobs, started once the app is serving.
    pub jobs: fn(Kernel) -> Vec<tokio::task::JoinHandle<()>>,
    /// Run once serving has stopped, before the database closes: finish what the module holds.
    pub stop: fn(Kernel) -> Stopping,
}

/// What a module's `stop` returns.
pub type Stopping = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

pub fn no_jobs(_: Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    Vec::new()
}

pub fn nothing_to_stop(_: Kernel) -> Stopping {
    Box::pin(std::future::ready(()))
}
