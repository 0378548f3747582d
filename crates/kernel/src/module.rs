//! How a module plugs into machi: its migrations, message catalog and routes, registered with
//! the server in one list (`server::modules()`).

use utoipa_axum::router::OpenApiRouter;

pub mod check;

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

/// What one app's pages ask of its modules: navigation, page context, home cards. Kept on the
/// kernel rather than the process, so that two apps in one process (a test's) each show their
/// own modules only.
#[derive(Debug, Default)]
pub struct Wiring {
    pub nav: std::sync::Arc<[NavEntry]>,
    pub page_context: Vec<(&'static str, crate::web::viewer::PageContextFn)>,
    pub home: Vec<HomeHook>,
}

/// Install these modules for this kernel: their catalogs and templates join the process's, once
/// per module name (preparing another app in the same process adds only the modules it
/// brings), and the kernel keeps their navigation, page context and home hooks.
pub fn install(k: &Kernel, modules: &[Module]) -> Result<(), String> {
    for m in modules {
        crate::web::render::install_module(m.name, m.templates)?;
        crate::i18n::install_module(m.name, m.messages_ja, m.messages_en)?;
    }
    let wiring = Wiring {
        nav: modules.iter().flat_map(|m| m.nav.iter().copied()).collect(),
        page_context: modules.iter().flat_map(|m| m.page_context.iter().copied()).collect(),
        home: modules.iter().map(|m| m.home).collect(),
    };
    if k.extensions.get::<Wiring>().is_some() {
        return Err("this kernel's modules are already installed".into());
    }
    k.extensions.get_or_init(|| wiring);
    Ok(())
}

/// This kernel's wiring (none before [`install`]).
pub fn wiring(k: &Kernel) -> std::sync::Arc<Wiring> {
    k.extensions.get::<Wiring>().unwrap_or_default()
}

/// Every module's cards for this person, the urgent ones first.
pub async fn home_cards(k: &Kernel, viewer: HomeViewer) -> Vec<HomeCard> {
    let mut out = Vec::new();
    for hook in &wiring(k).home {
        out.extend(hook(k.clone(), viewer.clone()).await);
    }
    out.sort_by_key(|c| !c.urgent);
    out
}

#[cfg(test)]
mod module_tests {
    crate::assert_module!(crate::http::api::module(), keys: keys());

    /// Keys built from a prefix (`t("role-" ~ r.role)`), for every value, and the navigation's.
    fn keys() -> Vec<String> {
        crate::model::org::Role::ALL
            .iter()
            .map(|r| format!("role-{r}"))
            .chain(crate::model::org::OrgKind::ALL.iter().map(|k| format!("kind-{k}")))
            .chain(crate::model::area::AreaLevel::ALL.iter().map(|l| format!("level-{l}")))
            .chain(crate::web::Viewer::all_nav_labels().iter().map(|s| s.to_string()))
            .collect()
    }

    fn lax(_: &crate::config::Config) -> Result<(), crate::config::ConfigError> {
        Ok(())
    }

    fn unwritten() -> crate::model::policy::Sheet {
        crate::model::policy::Sheet {
            actions: || vec!["flawed.poke"],
            ..crate::model::policy::Sheet::EMPTY
        }
    }

    /// Installing is additive and once per module name: a second app's modules join the first's,
    /// the same module again changes nothing, and a template name taken by another module is
    /// refused; navigation stays with each kernel.
    #[tokio::test]
    async fn modules_install_once_each_and_navigation_stays_with_its_kernel() {
        let db = crate::Db::connect("sqlite::memory:").await.unwrap();
        let one = crate::Kernel::new(db.clone(), crate::config::Config::default());
        let two = crate::Kernel::new(db, crate::config::Config::default());
        let first = super::Module {
            name: "kit-first",
            messages_ja: "kit-first-title = 一番\n",
            messages_en: "kit-first-title = First\n",
            templates: &[("kit/first.html", "{{ t(\"kit-first-title\") }}")],
            nav: &[("/first", "kit-first-title", |_| true)],
            ..crate::http::api::module()
        };
        let clash = super::Module {
            name: "kit-clash",
            messages_ja: "kit-clash-title = 衝突\n",
            messages_en: "kit-clash-title = Clash\n",
            templates: &[("kit/first.html", "other")],
            nav: &[],
            ..crate::http::api::module()
        };
        super::install(&one, std::slice::from_ref(&first)).unwrap();
        assert!(
            super::install(&one, std::slice::from_ref(&first)).is_err(),
            "once per kernel"
        );
        super::install(&two, &[super::Module { nav: &[], ..first }]).unwrap();
        let e = super::install(&crate::Kernel::new(two.db.clone(), Default::default()), &[clash]).unwrap_err();
        assert!(e.contains("kit/first.html"), "{e}");
        let html = crate::web::render::render("kit/first.html", minijinja::context! { lang => "en" }).unwrap();
        assert_eq!(html, "First");
        assert_eq!(super::wiring(&one).nav.len(), 1);
        assert!(super::wiring(&two).nav.is_empty());
    }

    /// The checks are not empty: a module with a flaw of each kind is told about each.
    #[test]
    fn a_flawed_module_is_told_what_is_wrong() {
        use super::check::*;
        let flawed = super::Module {
            name: "flawed",
            migrations: &[crate::store::migrate::Migration {
                name: "0002_late",
                sqlite: "CREATE TABLE flawed (id TEXT PRIMARY KEY, person_id TEXT REFERENCES people (id));",
                postgres: "CREATE TABLE flawed (id TEXT PRIMARY KEY, oops);",
            }],
            messages_ja: "nav-flawed = 欠陥\nflawed-only-ja = だけ\n",
            messages_en: "nav-flawed = Flawed\n",
            nav: &[("/flawed", "nav-flawed", |_| true), ("/x", "nav-nowhere", |_| true)],
            templates: &[("flawed.html", "{{ t(\"flawed-title\") }}")],
            policy: unwritten,
            config: Some(crate::config::Section {
                name: "flawed",
                check: lax,
            }),
            ..crate::http::api::module()
        };
        let none = std::path::Path::new("no such folder");
        assert_eq!(
            migration_problems(&flawed, none),
            ["flawed: migration 0002_late should be named 0001_…"]
        );
        // SQLite takes it (after the kernel's `people`); PostgreSQL, when the run has it, does not.
        let applied = block_on(apply_problems(&flawed));
        let on_postgres = std::env::var("MACHI_TEST_DATABASE").is_ok_and(|u| crate::store::is_postgres_url(&u));
        assert_eq!(applied.len(), usize::from(on_postgres), "{applied:?}");
        assert_eq!(
            catalog_problems(&flawed, &["flawed-built".to_string()]),
            [
                "flawed.html: flawed-title (en)",
                "flawed.html: flawed-title (ja)",
                "flawed: audit-flawed-poke (en)",
                "flawed: audit-flawed-poke (ja)",
                "flawed: en lacks flawed-only-ja",
                "flawed: flawed-built (en)",
                "flawed: flawed-built (ja)",
                "flawed: nav-nowhere (en)",
                "flawed: nav-nowhere (ja)",
            ]
        );
        assert!(!policy_problems(&flawed).is_empty());
        assert_eq!(config_problems(&flawed), ["[flawed]: an unknown key is accepted"]);
        assert_eq!(
            keys_in(
                "flawed-",
                &["t(\"flawed-a\"), \"flawed-role-\", \"flawed-{x}\", \"other-b\", \"flawed-a\""]
            ),
            ["flawed-a"]
        );
    }
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
