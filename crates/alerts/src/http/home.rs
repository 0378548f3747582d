//! The home page's word from the alerts module: each alert in force for the person's 町丁目.

use kernel::Kernel;
use kernel::i18n::t;
use kernel::module::{HomeCard, HomeCards, HomeViewer};

pub fn cards(k: Kernel, v: HomeViewer) -> HomeCards {
    Box::pin(async move {
        let Some(area) = v.area_id.as_deref() else {
            return Vec::new();
        };
        // Best effort: the banner and the terminal still show alerts if this read fails.
        let Ok(alerts) = crate::service::in_force::active_here(&k, area).await else {
            return Vec::new();
        };
        alerts
            .into_iter()
            .map(|a| {
                let drill = a.status == "Exercise";
                HomeCard {
                    title: t(
                        v.lang,
                        if drill {
                            "home-alert-drill-title"
                        } else {
                            "home-alert-title"
                        },
                        &[],
                    ),
                    text: t(
                        v.lang,
                        "home-alert-text",
                        &[
                            ("headline", a.headline.clone().unwrap_or_else(|| a.event.clone())),
                            ("when", kernel::web::render::human_time(v.lang, a.sent_ms)),
                        ],
                    ),
                    href: "/terminal".into(),
                    link: t(v.lang, "home-alert-open", &[]),
                    urgent: !drill,
                }
            })
            .collect()
    })
}
