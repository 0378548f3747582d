//! alerts: emergency and ordinary information on every channel — CAP 1.2 import and export,
//! targeting by area geometry and codes, and (as they arrive) delivery, drills and receipts.

pub mod http;
pub mod model;
pub mod policy;
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
        nav: &[("/alerts", "nav-alerts", policy::sees_nav)],
        templates: http::pages::TEMPLATES,
        jobs: kernel::module::no_jobs,
        stop: kernel::module::nothing_to_stop,
        home: http::home::cards,
        policy: policy::sheet,
        config: None,
        page_context: &[("alerts_in_force", http::screens::in_force_context)],
        // Any other acknowledgement: the payload is the alert's id.
        mqtt: &[kernel::module::DeviceRoute {
            topic: "acks",
            prefix: "",
            concurrent: false,
            handle: device_ack,
        }],
        demo: kernel::module::no_demo,
        cli: None,
    }
}

/// A device's acknowledgement of an alert over MQTT (the payload is the alert's id).
fn device_ack(k: kernel::Kernel, device: String, payload: String) -> kernel::module::Handling {
    Box::pin(async move {
        service::acknowledge::device_ack(&k, &device, &payload)
            .await
            .map(|_| ())
    })
}

#[cfg(test)]
mod module_tests {
    kernel::assert_module!(crate::module(), keys: keys());

    /// The keys alerts' Rust builds at run time.
    fn keys() -> Vec<String> {
        use crate::model::cap::{Category, Certainty, Severity, Urgency};
        let states = [
            "in-force",
            "expired",
            "cancelled",
            "lifted",
            "updated",
            "ending",
            "test",
        ];
        [
            "alerts-status-Exercise",
            "alerts-status-Actual",
            "alerts-status-Test",
            "alerts-channel-terminal",
            "alerts-channel-web",
            "alerts-channel-email",
            "alerts-channel-mqtt",
            "alerts-channel-device",
            "alerts-unreachable-email",
            "alerts-unreachable-mqtt",
            "alerts-notice-cancelled",
            "alerts-notice-lifted",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain(Category::ALL.iter().map(|c| format!("cap-category-{}", c.as_str())))
        .chain(Urgency::ALL.iter().map(|c| format!("cap-urgency-{}", c.as_str())))
        .chain(Severity::ALL.iter().map(|c| format!("cap-severity-{}", c.as_str())))
        .chain(Certainty::ALL.iter().map(|c| format!("cap-certainty-{}", c.as_str())))
        .chain(states.iter().map(|s| format!("alerts-state-{s}")))
        .collect()
    }
}
