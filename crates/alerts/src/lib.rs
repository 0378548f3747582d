//! alerts: emergency and ordinary information on every channel — CAP 1.2 import and export,
//! targeting by area geometry and codes, and (as they arrive) delivery, drills and receipts.

pub mod http;
pub mod model;
pub mod service;
pub mod store;

/// The alerts module as the server registers it.
pub fn module() -> kernel::Module {
    kernel::Module {
        name: "alerts",
        migrations: store::MIGRATIONS,
        messages_ja: include_str!("../messages/ja.txt"),
        messages_en: include_str!("../messages/en.txt"),
        api: http::api,
        pages: http::pages::router,
        nav: &[("/alerts", "nav-alerts", kernel::model::policy::Action::PublishAlerts)],
        templates: http::pages::TEMPLATES,
        jobs: kernel::module::no_jobs,
        stop: kernel::module::nothing_to_stop,
        home: http::home::cards,
    }
}
