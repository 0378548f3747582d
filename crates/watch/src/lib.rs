//! watch: watch-over (見守り) of people living alone — circles of family, care manager,
//! supporters and listening volunteers around a person (with consent), signals from the
//! terminal's 「元気です」 and from IoT devices (HTTP and MQTT), rules per person, the escalation
//! ladder when a check-in is missed, the training gate for visitors, listening schedules, and
//! the contact allow-list that holds messages from strangers for the guardian.

pub mod cli;
pub mod config;
pub mod demo;
pub mod family;
pub mod http;
pub mod jobs;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;

/// The watch module as the server registers it.
pub fn module() -> kernel::Module {
    kernel::Module {
        name: "watch",
        migrations: store::MIGRATIONS,
        messages_ja: include_str!("../messages/ja.txt"),
        messages_en: include_str!("../messages/en.txt"),
        api: http::api,
        pages: http::pages::router,
        nav: &[("/watch", "nav-watch", policy::sees_nav)],
        templates: http::pages::TEMPLATES,
        jobs: jobs::spawn,
        stop: jobs::stop,
        home: kernel::module::no_home,
        policy: policy::sheet,
        config: Some(config::SECTION),
        page_context: &[],
        mqtt: &[kernel::module::DeviceRoute {
            topic: "signals",
            prefix: "",
            concurrent: true,
            handle: mqtt_signal,
        }],
        demo: demo::load_module,
        cli: Some(cli::CLI),
    }
}

/// A watch-over signal from a device over MQTT (`machi/signals/<device-id>`).
fn mqtt_signal(k: kernel::Kernel, device: String, payload: String) -> kernel::module::Handling {
    Box::pin(async move { service::signals::mqtt_signal(&k, &device, &payload).await.map(|_| ()) })
}

#[cfg(test)]
mod module_tests {
    kernel::assert_module!(crate::module(), keys: keys());

    /// The keys the watch's Rust builds at run time or names (`watch-message` is an event name).
    fn keys() -> Vec<String> {
        let mut keys: Vec<String> = vec!["watch-all-day".into(), "watch-sparkline-label".into()];
        for r in crate::model::CircleRole::ALL {
            keys.push(format!("watch-role-{}", r.as_str()));
            keys.push(format!("watch-as-{}", r.as_str()));
        }
        for a in ["self", "welfare_desk"] {
            keys.push(format!("watch-as-{a}"));
        }
        for k in crate::model::rule::RuleKind::ALL {
            keys.push(format!("watch-rule-{}", k.as_str()));
            keys.push(format!("watch-reason-{}", k.as_str()));
            keys.push(format!("watch-kind-{}", k.as_str()));
        }
        for s in crate::model::rule::SOURCES
            .iter()
            .chain(crate::model::signal::DEVICE_KINDS)
        {
            keys.push(format!("watch-source-{s}"));
        }
        for o in crate::service::escalations::OUTCOMES.iter().chain(&["signal"]) {
            keys.push(format!("watch-outcome-{o}"));
        }
        for s in ["held", "rejected", "approved", "delivered"] {
            keys.push(format!("watch-state-{s}"));
        }
        for x in ["on", "off", "open", "close", "closed", "genki", "use", "motion"] {
            keys.push(format!("watch-value-{x}"));
        }
        for b in ["connected", "unreachable", "not_configured"] {
            keys.push(format!("watch-broker-{b}"));
        }
        for d in 0..7 {
            keys.push(format!("watch-weekday-{d}"));
        }
        for k in ["call", "visit"] {
            keys.push(format!("watch-schedule-{k}"));
        }
        for d in [
            "consent", "member", "rule", "settings", "schedule", "contacts", "visiting", "outcome", "log", "message",
            "training", "checkin", "declined",
        ] {
            keys.push(format!("watch-done-{d}"));
        }
        let named = kernel::module::check::keys_in(
            "watch-",
            &[
                include_str!("http/mod.rs"),
                include_str!("http/pages.rs"),
                include_str!("store/mod.rs"),
                include_str!("model/rule.rs"),
                include_str!("model/signal.rs"),
            ],
        );
        keys.extend(named.into_iter().filter(|k| k != "watch-message"));
        keys
    }
}
