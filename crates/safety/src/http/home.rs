//! The home page's word from the safety module: a safety check waiting for the household's answer.

use kernel::Kernel;
use kernel::i18n::t;
use kernel::module::{HomeCard, HomeCards, HomeViewer};

pub fn cards(k: Kernel, v: HomeViewer) -> HomeCards {
    Box::pin(async move {
        let Some(h) = v.household_id.as_deref() else {
            return Vec::new();
        };
        let rounds = match crate::service::rounds::pending(&k, h).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "home: pending safety checks");
                return Vec::new();
            }
        };
        rounds
            .into_iter()
            .map(|r| HomeCard {
                title: t(v.lang, "home-safety-title", &[]),
                text: t(v.lang, "home-safety-text", &[("title", r.title.clone())]),
                href: format!("/safety/{}/answer", r.id),
                link: t(v.lang, "home-safety-open", &[]),
                urgent: true,
            })
            .collect()
    })
}
