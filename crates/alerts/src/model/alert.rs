//! What machi keeps of an alert besides its CAP text: the info block it shows (Japanese
//! first), the targets it names, and whether it is a drill.

use serde::{Deserialize, Serialize};

use super::cap;
use super::target::Target;

/// The parts of a CAP alert machi indexes and shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub event: String,
    pub category: String,
    pub urgency: String,
    pub severity: String,
    pub certainty: String,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    pub language: String,
    pub expires_ms: Option<i64>,
}

/// The info block to show: the first in Japanese, else the first one.
pub fn main_info(a: &cap::Alert) -> Option<&cap::Info> {
    a.infos
        .iter()
        .find(|i| i.language.to_ascii_lowercase().starts_with("ja"))
        .or_else(|| a.infos.first())
}

pub fn summary(a: &cap::Alert) -> Summary {
    match main_info(a) {
        Some(i) => Summary {
            event: i.event.clone(),
            category: i.categories.first().map(|c| c.as_str().to_string()).unwrap_or_default(),
            urgency: i.urgency.as_str().to_string(),
            severity: i.severity.as_str().to_string(),
            certainty: i.certainty.as_str().to_string(),
            headline: i.headline.clone(),
            description: i.description.clone(),
            instruction: i.instruction.clone(),
            language: i.language.clone(),
            expires_ms: i.expires.as_ref().map(|t| t.to_unix_ms()),
        },
        // An alert without info (a bare Cancel, say) still has a place in the record.
        None => Summary {
            event: String::new(),
            category: String::new(),
            urgency: "Unknown".into(),
            severity: "Unknown".into(),
            certainty: "Unknown".into(),
            headline: None,
            description: None,
            instruction: None,
            language: "ja-JP".into(),
            expires_ms: None,
        },
    }
}

/// Every area named in every info block, as targets.
pub fn targets(a: &cap::Alert) -> Vec<Target> {
    a.infos
        .iter()
        .flat_map(|i| i.areas.iter())
        .map(|area| Target {
            polygons: area.polygons.iter().map(|p| p.0.clone()).collect(),
            circles: area.circles.iter().map(|c| (c.lat, c.lon, c.radius_km)).collect(),
            codes: area.geocodes.iter().map(|g| g.value.clone()).collect(),
        })
        .collect()
}

/// A reception drill (受信訓練): shown as 【訓練】 on every channel.
pub fn is_drill(a: &cap::Alert) -> bool {
    a.status == cap::Status::Exercise
}

/// Subject and plain-text body of the e-mail for an alert, Japanese (the town's language);
/// drills are marked 【訓練】 in both.
pub fn email_text(a: &cap::Alert, id: &str) -> (String, String) {
    let s = summary(a);
    let mark = if is_drill(a) {
        "【訓練】"
    } else if a.msg_type == cap::MsgType::Cancel {
        "【取消】"
    } else {
        "【緊急】"
    };
    let title = s.headline.clone().unwrap_or_else(|| s.event.clone());
    let subject = format!("{mark}{title}");
    let mut body = format!("{mark}{title}\n\n");
    if is_drill(a) {
        body.push_str("これは受信訓練です。\n\n");
    }
    for part in [&s.description, &s.instruction].into_iter().flatten() {
        body.push_str(part);
        body.push_str("\n\n");
    }
    body.push_str(&format!("発信: {}\n識別子: {id}\n", a.sent.as_str()));
    (subject, body)
}
