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

#[cfg(test)]
mod module_tests {
    kernel::assert_module!(crate::module(), keys: keys());

    /// The keys aid's Rust builds at run time or names.
    fn keys() -> Vec<String> {
        let mut keys: Vec<String> = vec!["aid-cert-childcare".into()];
        for c in crate::model::Category::ALL {
            keys.push(format!("aid-category-{}", c.as_str()));
        }
        for s in crate::model::lifecycle::State::ALL {
            keys.push(format!("aid-state-{}", s.as_str()));
        }
        for d in 0..7 {
            keys.push(format!("aid-weekday-{d}"));
        }
        for p in ["morning", "afternoon", "evening"] {
            keys.push(format!("aid-part-{p}"));
            keys.push(format!("aid-grid-{p}"));
        }
        for m in ["cash", "bank_transfer", "external"] {
            keys.push(format!("aid-method-{m}"));
        }
        for d in crate::http::pages::DONE {
            keys.push(format!("aid-done-{d}"));
        }
        keys.extend(kernel::module::check::keys_in(
            "aid-",
            &[
                include_str!("http/mod.rs"),
                include_str!("http/pages.rs"),
                include_str!("store/mod.rs"),
                include_str!("model/mod.rs"),
                include_str!("model/matching.rs"),
                include_str!("model/lifecycle.rs"),
            ],
        ));
        keys
    }
}
