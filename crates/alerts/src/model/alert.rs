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

/// The groups the alert is limited to, from every info block; `Err` names a value that is no group.
pub fn groups(a: &cap::Alert) -> Result<Vec<super::target::Group>, String> {
    super::target::groups_named(
        a.infos
            .iter()
            .flat_map(|i| i.parameters.iter())
            .map(|p| (p.value_name.as_str(), p.value.as_str())),
    )
}

/// Codes given as the town's own area codes (geocode valueName `machi-area`): each must exist.
pub fn own_area_codes(a: &cap::Alert) -> Vec<String> {
    a.infos
        .iter()
        .flat_map(|i| i.areas.iter())
        .flat_map(|area| area.geocodes.iter())
        .filter(|g| g.value_name == super::target::AREA_GEOCODE)
        .map(|g| g.value.clone())
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
    // A headline already marked (【取消】 or 【解除】 from the web) is not marked twice.
    let mark = if !is_drill(a) && title.starts_with('【') {
        ""
    } else {
        mark
    };
    let subject = format!("{mark}{title}");
    let mut body = format!("{mark}{title}\n\n");
    if is_drill(a) {
        body.push_str("これは受信訓練です。\n\n");
    }
    for part in [&s.description, &s.instruction].into_iter().flatten() {
        body.push_str(part);
        body.push_str("\n\n");
    }
    // When and by whom, as people write it (12月8日(火) 午前9時 みどり市 危機管理課), not the CAP timestamp.
    let ms = a.sent.to_unix_ms();
    let when = kernel::model::clock::human(kernel::i18n::Lang::Ja, ms, kernel::model::clock::jst_year(ms));
    let by = main_info(a)
        .and_then(|i| i.sender_name.clone())
        .unwrap_or_else(|| a.sender.clone());
    body.push_str(&format!("発表: {when} {by}\n識別子: {id}\n"));
    (subject, body)
}

/// How an alert travels: emergencies pre-empt everything (平時と有事); ordinary notices
/// (community news, later shop coupons) go at low priority, rate-limited per resident per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Emergency,
    Normal,
    Ordinary,
}

pub fn priority(a: &cap::Alert) -> Priority {
    match main_info(a).map(|i| i.severity) {
        Some(cap::Severity::Severe | cap::Severity::Extreme) => Priority::Emergency,
        Some(cap::Severity::Moderate) => Priority::Normal,
        _ => Priority::Ordinary,
    }
}

/// Ordinary notices a resident may still receive today by e-mail, given how many they had.
pub fn notices_left(already_today: i64, per_day: i64) -> i64 {
    (per_day - already_today).max(0)
}

/// What a terminal shows of the alerts in force: while a real emergency takes the screen,
/// ordinary notices are withheld. Items are (takes_over, ordinary).
pub fn withhold_ordinary<T>(items: Vec<T>, takes_over: impl Fn(&T) -> bool, ordinary: impl Fn(&T) -> bool) -> Vec<T> {
    if items.iter().any(&takes_over) {
        items.into_iter().filter(|i| takes_over(i) || !ordinary(i)).collect()
    } else {
        items
    }
}

/// Midnight (JST) of the day containing `ms`, in ms: notice limits count per local day.
pub fn jst_day_start(ms: i64) -> i64 {
    let offset = 9 * 3_600_000;
    (ms + offset).div_euclid(86_400_000) * 86_400_000 - offset
}

#[cfg(test)]
mod priority_tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_content_steps_aside_for_an_emergency() {
        let items = vec![(true, false), (false, true), (false, false)];
        assert_eq!(
            withhold_ordinary(items.clone(), |i| i.0, |i| i.1),
            vec![(true, false), (false, false)]
        );
        let calm = vec![(false, true), (false, false)];
        assert_eq!(withhold_ordinary(calm.clone(), |i| i.0, |i| i.1), calm);
        assert_eq!(notices_left(1, 3), 2);
        assert_eq!(notices_left(5, 3), 0);
        // 2026-11-23T00:30+09:00 and 23:30+09:00 are the same local day.
        assert_eq!(jst_day_start(1_795_361_400_000), jst_day_start(1_795_444_200_000));
    }

    fn alert(msg_type: &str, status: &str, headline: &str) -> cap::Alert {
        cap::parse(&format!(
            r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier>
            <sender>s@example.jp</sender><sent>2026-12-08T09:06:00+09:00</sent><status>{status}</status>
            <msgType>{msg_type}</msgType><scope>Public</scope><info><category>Met</category><event>大雨</event>
            <urgency>Immediate</urgency><severity>Extreme</severity><certainty>Observed</certainty>
            <senderName>みどり市 危機管理課</senderName><headline>{headline}</headline></info></alert>"#
        ))
        .unwrap()
    }

    #[test]
    fn emails_say_when_and_by_whom_in_words_and_mark_once() {
        let (subject, body) = email_text(&alert("Alert", "Actual", "避難指示"), "01X");
        assert_eq!(subject, "【緊急】避難指示");
        assert!(
            body.contains("発表: 12月8日(火) 午前9時6分 みどり市 危機管理課"),
            "{body}"
        );
        assert!(!body.contains("2026-12-08T"));
        let (subject, _) = email_text(&alert("Update", "Actual", "【解除】避難指示"), "01Y");
        assert_eq!(subject, "【解除】避難指示");
        let (subject, _) = email_text(&alert("Cancel", "Exercise", "【取消】受信訓練"), "01Z");
        assert_eq!(subject, "【訓練】【取消】受信訓練");
    }

    proptest! {
        #[test]
        fn emergencies_are_never_withheld(flags in proptest::collection::vec((any::<bool>(), any::<bool>()), 0..20)) {
            let kept = withhold_ordinary(flags.clone(), |i| i.0, |i| i.1);
            for f in flags.iter().filter(|f| f.0) {
                prop_assert!(kept.contains(f));
            }
            prop_assert!(notices_left(flags.len() as i64, 3) <= 3);
        }
    }
}
