//! What is in force: the alerts reaching an area now (most severe first), and those meant for a
//! person's screens (their area and groups), with what they acknowledged; the catch-up a screen
//! gets when it (re)connects to the live stream.

use std::collections::HashSet;

use kernel::i18n::{Lang, t};
use kernel::model::person::Person;
use kernel::{Error, Kernel, Result};
use serde::Serialize;

use crate::model::alert::{main_info, priority, summary};
use crate::model::cap;
use crate::model::screen::{OnScreen, sort_key};
use crate::store::{self, StoredAlert};

/// The leaf areas at or below an area given by id or code.
pub(crate) async fn leaves(k: &Kernel, id_or_code: &str) -> Result<Vec<String>> {
    let area = kernel::store::areas::get(&k.db, id_or_code)
        .await?
        .ok_or_else(|| Error::not_found("area-not-found"))?;
    store::leaves_below(&k.db, &area.id).await
}

pub(crate) async fn active(k: &Kernel, area: &str) -> Result<Vec<StoredAlert>> {
    let mut seen = std::collections::BTreeMap::new();
    for leaf in leaves(k, area).await? {
        for a in store::active_for_area(&k.db, &leaf, k.now()).await? {
            seen.entry(a.id.clone()).or_insert(a);
        }
    }
    let mut list: Vec<StoredAlert> = seen.into_values().collect();
    let rank = |s: &str| {
        ["Extreme", "Severe", "Moderate", "Minor"]
            .iter()
            .position(|x| *x == s)
            .unwrap_or(4)
    };
    list.sort_by(|a, b| {
        rank(&a.severity)
            .cmp(&rank(&b.severity))
            .then(b.sent_ms.cmp(&a.sent_ms))
    });
    Ok(list)
}

/// One alert in force, as a person's screen lists it.
#[derive(Debug, Clone, Serialize)]
pub struct InForce {
    pub id: String,
    pub msg_type: String,
    pub drill: bool,
    pub severity: String,
    pub category: String,
    pub urgency: String,
    pub certainty: String,
    pub event: String,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    /// When it was issued (CAP `sent`), ms.
    pub sent_ms: i64,
    /// Who issued it: the CAP `senderName`, else the sender's address.
    pub sender: String,
    /// When and by whom, in the viewer's words (12月8日(火) 午前9時 みどり市 危機管理課 発表).
    pub issued: String,
    pub acked: bool,
    /// A minor notice: listed calmly, never interrupting.
    pub ordinary: bool,
    /// An Update saying the danger is over (CAP responseType AllClear): 解除.
    pub lifted: bool,
}

impl InForce {
    pub fn on_screen(&self) -> OnScreen {
        OnScreen {
            id: self.id.clone(),
            drill: self.drill,
            severity: self.severity.clone(),
            ordinary: self.ordinary,
            acked: self.acked,
        }
    }
}

/// Who issued an alert, in words: the CAP `senderName`, else the sender's address.
pub fn sender_of(alert: &cap::Alert) -> String {
    main_info(alert)
        .and_then(|i| i.sender_name.clone())
        .unwrap_or_else(|| alert.sender.clone())
}

/// Every alert in force for the person's area and meant for them (their groups), in the order
/// screens show them: real ones by severity, drills last.
pub async fn in_force_for(k: &Kernel, person: &Person, lang: Lang) -> Result<Vec<InForce>> {
    let Some(area) = &person.area_id else {
        return Ok(Vec::new());
    };
    let active = active(k, area).await?;
    if active.is_empty() {
        return Ok(Vec::new());
    }
    let mine = store::groups_of_person(&k.db, &person.id, person.needs_support).await?;
    let acked: HashSet<String> = store::acknowledged_by(&k.db, &person.id).await?.into_iter().collect();
    let mut out = Vec::new();
    for stored in active {
        if !crate::model::target::person_in_groups(&store::groups(&k.db, &stored.id).await?, &mine) {
            continue;
        }
        let alert =
            cap::parse(&store::cap_xml(&k.db, &stored.id).await?).map_err(|e| Error::Internal(e.to_string()))?;
        let s = summary(&alert);
        out.push(InForce {
            drill: crate::model::alert::is_drill(&alert),
            ordinary: priority(&alert) == crate::model::alert::Priority::Ordinary,
            lifted: main_info(&alert).is_some_and(|i| i.response_types.contains(&cap::ResponseType::AllClear)),
            issued: t(
                lang,
                "alerts-issued-by",
                &[
                    ("when", kernel::web::render::human_time(lang, stored.sent_ms)),
                    ("sender", sender_of(&alert)),
                ],
            ),
            sender: sender_of(&alert),
            acked: acked.contains(&stored.id),
            id: stored.id,
            msg_type: stored.msg_type,
            severity: s.severity,
            category: s.category,
            urgency: s.urgency,
            certainty: s.certainty,
            event: s.event,
            headline: s.headline,
            description: s.description,
            instruction: s.instruction,
            sent_ms: stored.sent_ms,
        });
    }
    out.sort_by_key(|a| sort_key(a.drill, &a.severity, &a.id));
    Ok(out)
}

/// What a screen watches: the leaf areas, the alerts its person acknowledged, and their groups
/// (`None` on a public screen of an area, which shows everything for it).
pub(crate) struct Watching {
    pub areas: Vec<String>,
    pub acked: HashSet<String>,
    pub groups: Option<Vec<String>>,
}

/// A public screen of an area (`area`), or a person's screen.
pub(crate) async fn watching(k: &Kernel, person: Option<&Person>, area: Option<&str>) -> Result<Watching> {
    Ok(match (person, area) {
        (_, Some(area)) => Watching {
            areas: leaves(k, area).await?,
            acked: HashSet::new(),
            groups: None,
        },
        (Some(p), None) => Watching {
            areas: p.area_id.iter().cloned().collect(),
            acked: store::acknowledged_by(&k.db, &p.id).await?.into_iter().collect(),
            groups: Some(store::groups_of_person(&k.db, &p.id, p.needs_support).await?),
        },
        // `http` asks anonymous viewers without an area to log in first.
        (None, None) => return Err(Error::Forbidden),
    })
}

/// The alerts in force a (re)connecting screen has not seen (after `last_seen`) nor acknowledged,
/// meant for it, oldest first, as screens get them: (id, data).
pub(crate) async fn catch_up(
    k: &Kernel,
    w: &Watching,
    last_seen: Option<&str>,
) -> Result<Vec<(String, serde_json::Value)>> {
    let mut out: Vec<(String, serde_json::Value)> = Vec::new();
    for area in &w.areas {
        for stored in active(k, area).await? {
            let newer = last_seen.is_none_or(|l| stored.id.as_str() > l);
            if newer && !w.acked.contains(&stored.id) && !out.iter().any(|(id, _)| id == &stored.id) {
                let alert = cap::parse(&store::cap_xml(&k.db, &stored.id).await?)
                    .map_err(|e| Error::Internal(e.to_string()))?;
                let data = serde_json::to_value(super::publish::screen_alert(&stored, &alert))
                    .map_err(|e| Error::Internal(e.to_string()))?;
                if super::publish::for_viewer(&data, w.groups.as_deref()) {
                    out.push((stored.id.clone(), data));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The alerts in force for one 町丁目 (the home page's cards).
pub(crate) async fn active_here(k: &Kernel, area_id: &str) -> Result<Vec<StoredAlert>> {
    store::active_for_area(&k.db, area_id, k.now()).await
}
