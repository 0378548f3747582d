//! aid: mutual aid (共助) — residents' requests for help (困りごと) and supporters' offers,
//! matched by trust, distance, skills, time and reviews, with agreed fees, insurance per
//! activity, settlement and receipts, reviews both ways, and a coordinator's queue for requests
//! nobody took.

pub mod cli;
pub mod config;
pub mod http;
pub mod jobs;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;

/// The aid module as the server registers it.
pub fn module() -> kernel::Module {
    kernel::Module {
        name: "aid",
        migrations: store::MIGRATIONS,
        messages_ja: include_str!("../messages/ja.txt"),
        messages_en: include_str!("../messages/en.txt"),
        api: http::api,
        pages: http::pages::router,
        nav: &[("/aid", "nav-aid", policy::sees_nav)],
        templates: http::pages::TEMPLATES,
        jobs: jobs::spawn,
        stop: kernel::module::nothing_to_stop,
        home: kernel::module::no_home,
        policy: policy::sheet,
        config: Some(config::SECTION),
        page_context: &[],
        mqtt: &[],
        demo: kernel::module::no_demo,
        cli: Some(cli::CLI),
    }
}
