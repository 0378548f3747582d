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
