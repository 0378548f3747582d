//! safety: safety-confirmation rounds (安否確認) — every household of an area asked on every
//! channel it has, one member answering for all, live tallies and a map for officers and city
//! staff, follow-up visits, reminders and escalation, and the export for the disaster HQ.

pub mod config;
pub mod http;
pub mod jobs;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;

/// The safety module as the server registers it.
pub fn module() -> kernel::Module {
    kernel::Module {
        name: "safety",
        migrations: store::MIGRATIONS,
        messages_ja: include_str!("../messages/ja.txt"),
        messages_en: include_str!("../messages/en.txt"),
        api: http::api,
        pages: http::pages::router,
        // Everyone logged in: residents answer (for their household, or as family for another's),
        // officers and staff run the checks.
        nav: &[("/safety", "nav-safety", policy::sees_nav)],
        templates: http::pages::TEMPLATES,
        jobs: jobs::spawn,
        stop: kernel::module::nothing_to_stop,
        home: http::home::cards,
        policy: policy::sheet,
        config: Some(config::SECTION),
        page_context: &[],
        // `safety:<round>:safe|help` answers a safety check.
        mqtt: &[kernel::module::DeviceRoute {
            topic: "acks",
            prefix: "safety:",
            concurrent: false,
            handle: device_answer,
        }],
        demo: kernel::module::no_demo,
        cli: None,
    }
}

/// A device's answer to a safety check over MQTT (`safety:<round>:safe|help`).
fn device_answer(k: kernel::Kernel, device: String, payload: String) -> kernel::module::Handling {
    Box::pin(async move { service::answers::device_answer(&k, &device, &payload).await.map(|_| ()) })
}

#[cfg(test)]
mod module_tests {
    kernel::assert_module!(crate::module(), keys: keys());

    /// The keys safety's Rust builds at run time.
    fn keys() -> Vec<String> {
        let mut keys: Vec<String> = ["level-town", "level-district", "level-chome"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for s in crate::model::answer::MemberStatus::ALL {
            keys.push(format!("safety-member-{}", s.as_str()));
        }
        for o in crate::service::follow_up::OUTCOMES {
            keys.push(format!("safety-outcome-{o}"));
        }
        for s in ["safe", "help"] {
            keys.push(format!("safety-status-{s}"));
            keys.push(format!("safety-household-{s}"));
        }
        for d in [
            crate::model::answer::Doubt::Injured,
            crate::model::answer::Doubt::Unknown,
        ] {
            keys.push(d.key().to_string());
        }
        for c in ["web", "terminal", "email", "mqtt", "api"] {
            keys.push(format!("safety-channel-{c}"));
        }
        keys
    }
}
