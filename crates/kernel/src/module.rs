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
    /// Navigation entries: (path, message key, who sees it — asked of the module's policy).
    pub nav: &'static [NavEntry],
    /// Templates by name, rendered inside the shared layout.
    pub templates: &'static [(&'static str, &'static str)],
    /// Background jobs, started once the app is serving.
    pub jobs: fn(Kernel) -> Vec<tokio::task::JoinHandle<()>>,
    /// Run once serving has stopped, before the database closes: finish what the module holds.
    pub stop: fn(Kernel) -> Stopping,
    /// What waits for a person on their home page (read only; `no_home` for nothing).
    pub home: HomeHook,
    /// The module's rows of the role × action matrix (its actions and rules live in its own
    /// `policy` room); the server checks every module's sheet in one test.
    pub policy: fn() -> crate::model::policy::Sheet,
    /// The module's section of machi.toml (`[watch]`), if it has one: typed in the module,
    /// unknown keys refused at start. A table no module claims stops the start too.
    pub config: Option<crate::config::Section>,
    /// Values the module adds to every logged-in page's template context (alerts: the alerts in
    /// force, shown on every page), by name; `&[]` for none.
    pub page_context: &'static [(&'static str, crate::web::viewer::PageContextFn)],
    /// Messages from devices over MQTT the module handles (`[]` for none); the server subscribes
    /// to `machi/<topic>/+` for every topic named here and gives each message to the most
    /// specific route (see [`route`]).
    pub mqtt: &'static [DeviceRoute],
    /// The module's part of the demo town, loaded after the kernel's town, in module order
    /// (`no_demo` for none).
    pub demo: fn(Kernel) -> Loading,
    /// The module's subcommand of the `machi` command line (`None` for none).
    pub cli: Option<Cli>,
}

pub use clap;

/// A kind of device message a module handles: one arriving on `machi/<topic>/<device-id>`
/// whose payload starts with `prefix` (`""` takes any payload on the topic).
#[derive(Clone, Copy)]
pub struct DeviceRoute {
    pub topic: &'static str,
    pub prefix: &'static str,
    /// Handled on a task of its own, many at once (e.g. signals written in batches); otherwise
    /// in the connection's loop, one after another.
    pub concurrent: bool,
    /// (kernel, device id, payload).
    pub handle: fn(Kernel, String, String) -> Handling,
}

/// What a device route's handler returns.
pub type Handling = std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<()>> + Send>>;

/// The route for a device message: the topic's route with the longest prefix the payload starts with.
pub fn route<'a>(
    routes: impl IntoIterator<Item = &'a DeviceRoute>,
    topic: &str,
    payload: &str,
) -> Option<&'a DeviceRoute> {
    routes
        .into_iter()
        .filter(|r| r.topic == topic && payload.starts_with(r.prefix))
        .max_by_key(|r| r.prefix.len())
}

/// What a module's `demo` returns: a line telling the operator what was loaded, if anything was.
pub type Loading = std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<Option<String>>> + Send>>;

/// For modules without demo data.
pub fn no_demo(_: Kernel) -> Loading {
    Box::pin(std::future::ready(Ok(None)))
}

/// A module's subcommand of `machi`: how it reads (global flags such as `--database` are added
/// by machi) and what it does once the database is ready.
#[derive(Clone, Copy)]
pub struct Cli {
    pub command: fn() -> clap::Command,
    /// Runs the matched subcommand; returns what to print on standard output.
    pub run: fn(Kernel, clap::ArgMatches) -> Running,
}

/// What a module's CLI `run` returns.
pub type Running = std::pin::Pin<Box<dyn std::future::Future<Output = crate::Result<String>> + Send>>;

/// A navigation entry: its path, its message key, and whether the actor sees it.
pub type NavEntry = (&'static str, &'static str, fn(&crate::model::policy::Actor) -> bool);

/// For modules without actions of their own.
pub fn no_policy() -> crate::model::policy::Sheet {
    crate::model::policy::Sheet::EMPTY
}

/// What a module's `stop` returns.
pub type Stopping = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

pub fn no_jobs(_: Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    Vec::new()
}

pub fn nothing_to_stop(_: Kernel) -> Stopping {
    Box::pin(std::future::ready(()))
}

/// Who a home page is for, as a module needs to know to say what waits for them.
#[derive(Debug, Clone)]
pub struct HomeViewer {
    pub person_id: crate::model::Id,
    pub household_id: Option<crate::model::Id>,
    pub area_id: Option<crate::model::Id>,
    pub lang: crate::i18n::Lang,
    pub actor: crate::model::policy::Actor,
}

/// Something waiting for the person, shown on their home page: a title, a sentence, and where to act.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HomeCard {
    pub title: String,
    pub text: String,
    pub href: String,
    pub link: String,
    /// Life-safety first (an alert in force, a safety check to answer).
    pub urgent: bool,
}

/// What a module's `home` returns.
pub type HomeCards = std::pin::Pin<Box<dyn std::future::Future<Output = Vec<HomeCard>> + Send>>;

/// A module's `home`.
pub type HomeHook = fn(Kernel, HomeViewer) -> HomeCards;

/// For modules with nothing to put on the home page.
pub fn no_home(_: Kernel, _: HomeViewer) -> HomeCards {
    Box::pin(std::future::ready(Vec::new()))
}

static HOME: std::sync::OnceLock<Vec<HomeHook>> = std::sync::OnceLock::new();

/// Install the modules' home hooks once at start-up (later calls are ignored).
pub fn register_home(hooks: Vec<HomeHook>) {
    let _ = HOME.set(hooks);
}

/// Every module's cards for this person, the urgent ones first.
pub async fn home_cards(k: &Kernel, viewer: HomeViewer) -> Vec<HomeCard> {
    let mut out = Vec::new();
    for hook in HOME.get().map(Vec::as_slice).unwrap_or_default() {
        out.extend(hook(k.clone(), viewer.clone()).await);
    }
    out.sort_by_key(|c| !c.urgent);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: Kernel, _: String, _: String) -> Handling {
        Box::pin(std::future::ready(Ok(())))
    }

    #[test]
    fn a_device_message_goes_to_the_most_specific_route() {
        let routes = [
            DeviceRoute {
                topic: "acks",
                prefix: "",
                concurrent: false,
                handle: none,
            },
            DeviceRoute {
                topic: "acks",
                prefix: "safety:",
                concurrent: false,
                handle: none,
            },
            DeviceRoute {
                topic: "signals",
                prefix: "",
                concurrent: true,
                handle: none,
            },
        ];
        let at = |topic, payload| route(&routes, topic, payload).map(|r| (r.topic, r.prefix));
        assert_eq!(at("acks", "safety:r1:safe"), Some(("acks", "safety:")));
        assert_eq!(at("acks", "01ALERT"), Some(("acks", "")));
        assert_eq!(at("signals", "safety:x"), Some(("signals", "")));
        assert_eq!(at("other", "x"), None);
    }
}
