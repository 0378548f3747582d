//! What a person's screen shows of the alerts in force, in which order, and which of them the
//! screen really put before the person's eyes — the rule the drill report's "delivered" counts.

use std::cmp::Reverse;

/// One alert in force for a person, as far as ordering and showing go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnScreen {
    pub id: String,
    pub drill: bool,
    /// CAP severity code (`Extreme`, `Severe`, …).
    pub severity: String,
    /// A minor notice: listed, never interrupting.
    pub ordinary: bool,
    /// The person pressed 「確認しました」.
    pub acked: bool,
}

/// Which screen reports a receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The in-home terminal: one unacknowledged alert at a time takes the whole screen.
    Terminal,
    /// The banner on every web page: it lists every alert in force.
    Web,
}

fn severity_rank(s: &str) -> usize {
    ["Extreme", "Severe", "Moderate", "Minor"]
        .iter()
        .position(|x| *x == s)
        .unwrap_or(4)
}

/// The order alerts are listed and interrupt in: real ones before drills (a drill never hides a
/// real alert), then the most severe, then the newest (ids grow with time).
pub fn sort_key(drill: bool, severity: &str, id: &str) -> (bool, usize, Reverse<String>) {
    (drill, severity_rank(severity), Reverse(id.to_string()))
}

/// Sort alerts in force into the order screens show them.
pub fn order(items: &mut [OnScreen]) {
    items.sort_by_key(|a| sort_key(a.drill, &a.severity, &a.id));
}

/// The alerts a screen puts before the person's eyes now. The web banner lists them all. The
/// terminal covers everything with the first unacknowledged non-ordinary alert until it is
/// acknowledged — the alerts queued behind it are not shown; with none waiting, its status
/// panel lists them all.
pub fn displayed(screen: Screen, items: &[OnScreen]) -> Vec<String> {
    let mut sorted = items.to_vec();
    order(&mut sorted);
    if screen == Screen::Terminal
        && let Some(top) = sorted.iter().find(|a| !a.acked && !a.ordinary)
    {
        return vec![top.id.clone()];
    }
    sorted.into_iter().map(|a| a.id).collect()
}

/// A screen's report that it showed `id` counts as a delivery only if that screen shows it now.
pub fn credit_receipt(screen: Screen, items: &[OnScreen], id: &str) -> bool {
    displayed(screen, items).iter().any(|x| x == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, drill: bool, severity: &str, acked: bool) -> OnScreen {
        OnScreen {
            id: id.into(),
            drill,
            severity: severity.into(),
            ordinary: severity == "Minor",
            acked,
        }
    }

    #[test]
    fn real_alerts_come_first_by_severity_drills_last() {
        let mut items = vec![
            item("05", true, "Extreme", false),
            item("01", false, "Moderate", false),
            item("02", false, "Extreme", false),
            item("04", false, "Extreme", false),
        ];
        order(&mut items);
        let ids: Vec<_> = items.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["04", "02", "01", "05"]);
    }

    #[test]
    fn a_drill_behind_a_real_alert_on_the_terminal_is_not_credited_as_shown() {
        // The 避難指示 is on the screen; the drill that arrived after it waits behind it.
        let items = vec![item("01", false, "Extreme", false), item("02", true, "Severe", false)];
        assert!(credit_receipt(Screen::Terminal, &items, "01"));
        assert!(!credit_receipt(Screen::Terminal, &items, "02"));
        // Nor is a real alert credited while a drill sent before it... the real one goes on top.
        let items = vec![item("01", true, "Severe", false), item("02", false, "Severe", false)];
        assert_eq!(displayed(Screen::Terminal, &items), vec!["02".to_string()]);
        // Once the real one is acknowledged, the drill takes the screen and counts.
        let items = vec![item("01", false, "Extreme", true), item("02", true, "Severe", false)];
        assert!(credit_receipt(Screen::Terminal, &items, "02"));
        assert!(!credit_receipt(Screen::Terminal, &items, "01"));
    }

    #[test]
    fn with_nothing_waiting_the_terminal_panel_and_the_banner_show_every_alert() {
        let items = vec![
            item("01", false, "Extreme", true),
            item("02", true, "Severe", true),
            item("03", false, "Minor", false),
        ];
        assert_eq!(displayed(Screen::Terminal, &items), ["01", "03", "02"]);
        let waiting = vec![item("01", false, "Extreme", false), item("02", true, "Severe", false)];
        assert_eq!(displayed(Screen::Web, &waiting), ["01", "02"]);
        // An alert not in force for the person is never credited.
        assert!(!credit_receipt(Screen::Web, &waiting, "09"));
    }
}
