//! When a round starts by itself and when its reminders and escalation are due. Times are ms.

use crate::config::SafetyConfig;

/// The seismic intensity scale of the Japan Meteorological Agency, lowest first.
const INTENSITIES: [&str; 9] = ["1", "2", "3", "4", "5弱", "5強", "6弱", "6強", "7"];

/// Rank of an intensity written as in 「震度5弱」 (0 = 震度1), or None.
pub fn intensity_rank(s: &str) -> Option<usize> {
    let s = s.trim().trim_start_matches("震度").trim();
    // Full-width digits appear in official texts.
    let s: String = s
        .chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32).unwrap_or(c),
            '+' => '強',
            '-' => '弱',
            c => c,
        })
        .collect();
    INTENSITIES.iter().position(|i| *i == s)
}

/// The highest 「震度…」 named in a text, as its rank.
pub fn highest_intensity(text: &str) -> Option<usize> {
    text.match_indices("震度")
        .filter_map(|(i, _)| {
            let rest = &text[i + "震度".len()..];
            let mut candidate: String = rest.chars().take(1).collect();
            if let Some(next) = rest.chars().nth(1)
                && matches!(next, '弱' | '強' | '+' | '-')
            {
                candidate.push(next);
            }
            intensity_rank(&candidate)
        })
        .max()
}

/// The alert facts the rule looks at.
#[derive(Debug, Clone, Default)]
pub struct AlertFacts<'a> {
    pub status: &'a str,
    pub msg_type: &'a str,
    pub event: &'a str,
    pub headline: &'a str,
    pub category: &'a str,
}

/// Does this alert start a round (or join the open one)? Only real alerts do; drills and
/// tests never.
pub fn triggers(rule: &SafetyConfig, a: &AlertFacts) -> bool {
    if !rule.auto_start || a.status != "Actual" || a.msg_type == "Cancel" {
        return false;
    }
    let text = format!("{} {}", a.event, a.headline);
    let quake = text.contains("地震") || a.event.eq_ignore_ascii_case("earthquake");
    if quake
        && let (Some(seen), Some(min)) = (highest_intensity(&text), intensity_rank(&rule.quake_min_intensity))
        && seen >= min
    {
        return true;
    }
    rule.events.iter().any(|e| !e.is_empty() && text.contains(e.as_str()))
}

/// The delay before an automatic round starts has passed.
pub fn start_due(alert_created_ms: i64, rule: &SafetyConfig, now_ms: i64) -> bool {
    now_ms >= alert_created_ms + rule.delay_secs as i64 * 1000
}

/// An alert this soon after an open round's start is an aftershock of the same event.
pub fn joins_open_round(round_started_ms: i64, alert_created_ms: i64, rule: &SafetyConfig) -> bool {
    alert_created_ms >= round_started_ms
        && alert_created_ms - round_started_ms <= rule.aftershock_window_secs as i64 * 1000
}

/// How many reminders should have gone out by now; the job sends the difference.
pub fn reminders_due(round_started_ms: i64, rule: &SafetyConfig, now_ms: i64) -> usize {
    rule.reminders
        .iter()
        .filter(|r| now_ms >= round_started_ms + r.after_secs as i64 * 1000)
        .count()
}

/// The channels of reminders `from..to` (those due now that were not sent), each once: a
/// reminder missed while the server was down goes out once, on every channel it was due on.
pub fn reminder_channels(rule: &SafetyConfig, from: usize, to: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for step in rule.reminders.iter().skip(from).take(to.saturating_sub(from)) {
        for c in &step.channels {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    out
}

/// A silent household with a 要支援者 is escalated once this is true.
pub fn escalation_due(round_started_ms: i64, rule: &SafetyConfig, now_ms: i64) -> bool {
    now_ms >= round_started_ms + rule.escalate_after_secs as i64 * 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts<'a>(status: &'a str, event: &'a str, headline: &'a str) -> AlertFacts<'a> {
        AlertFacts {
            status,
            msg_type: "Alert",
            event,
            headline,
            category: "Geo",
        }
    }

    #[test]
    fn intensities_read_as_officially_written() {
        assert_eq!(intensity_rank("5弱"), Some(4));
        assert_eq!(intensity_rank("震度６強"), Some(7));
        assert_eq!(intensity_rank("5+"), Some(5));
        assert_eq!(intensity_rank("8"), None);
        assert_eq!(highest_intensity("震度4、一部で震度5強を観測"), Some(5));
        assert_eq!(highest_intensity("地震がありました"), None);
    }

    #[test]
    fn the_towns_rule_starts_rounds_for_strong_quakes_and_named_events_only() {
        let rule = SafetyConfig::default();
        assert!(triggers(&rule, &facts("Actual", "地震", "震度5弱の地震が発生しました")));
        assert!(triggers(&rule, &facts("Actual", "地震", "震度6強")));
        assert!(!triggers(&rule, &facts("Actual", "地震", "震度4の地震が発生しました")));
        assert!(
            !triggers(&rule, &facts("Exercise", "地震", "震度7")),
            "drills never start rounds"
        );
        assert!(triggers(
            &rule,
            &facts("Actual", "津波警報", "津波警報が発表されました")
        ));
        assert!(triggers(&rule, &facts("Actual", "大雨", "大雨特別警報")));
        assert!(!triggers(&rule, &facts("Actual", "大雨", "大雨警報")));
        let off = SafetyConfig {
            auto_start: false,
            ..SafetyConfig::default()
        };
        assert!(!triggers(&off, &facts("Actual", "地震", "震度7")));
        let cancel = AlertFacts {
            msg_type: "Cancel",
            ..facts("Actual", "地震", "震度7")
        };
        assert!(!triggers(&rule, &cancel));
    }

    #[test]
    fn delays_aftershocks_reminders_and_escalation_follow_the_clock() {
        let rule = SafetyConfig {
            delay_secs: 600,
            aftershock_window_secs: 3600,
            reminders: vec![
                crate::config::ReminderStep {
                    after_secs: 900,
                    channels: vec!["terminal".into()],
                },
                crate::config::ReminderStep {
                    after_secs: 2700,
                    channels: vec!["terminal".into(), "email".into()],
                },
            ],
            escalate_after_secs: 1800,
            ..SafetyConfig::default()
        };
        assert!(!start_due(0, &rule, 599_999));
        assert!(start_due(0, &rule, 600_000));
        assert!(joins_open_round(0, 3_600_000, &rule));
        assert!(!joins_open_round(0, 3_600_001, &rule));
        assert_eq!(reminders_due(0, &rule, 899_999), 0);
        assert_eq!(reminders_due(0, &rule, 900_000), 1);
        assert_eq!(reminders_due(0, &rule, 10_000_000), 2);
        assert_eq!(reminder_channels(&rule, 0, 1), vec!["terminal"]);
        assert_eq!(reminder_channels(&rule, 1, 2), vec!["terminal", "email"]);
        assert_eq!(
            reminder_channels(&rule, 0, 2),
            vec!["terminal", "email"],
            "each channel once"
        );
        assert!(reminder_channels(&rule, 2, 2).is_empty());
        assert!(!escalation_due(0, &rule, 1_799_999));
        assert!(escalation_due(0, &rule, 1_800_000));
    }

    proptest! {
        #[test]
        fn reminders_never_exceed_the_schedule_and_never_go_back(a in 0i64..10_000_000, b in 0i64..10_000_000) {
            let rule = SafetyConfig::default();
            let (early, late) = (a.min(b), a.max(b));
            prop_assert!(reminders_due(0, &rule, early) <= reminders_due(0, &rule, late));
            prop_assert!(reminders_due(0, &rule, late) <= rule.reminders.len());
        }
    }
}
