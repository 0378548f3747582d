//! Rules per person, Healthchecks-style: a signal expected every period (plus grace),
//! 「元気です」 expected by a time of day, or a device on for too long (a light left on all
//! night). And when each counts as missed. The SQL sweep finds candidates with the same
//! arithmetic; these functions decide.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{in_window, local_midnight, local_minute, parse_hhmm};

/// Longest period a rule may expect between signals.
pub const MAX_PERIOD_MINUTES: u32 = 7 * 24 * 60;

super::text_enum!(
    RuleKind {
        Period = "period",
        Daily = "daily",
        OnTooLong = "on_too_long",
    }
);

/// Signal sources a rule may listen to: any, the 「元気です」 button, or one kind of device.
pub const SOURCES: &[&str] = &["any", "checkin", "bulb", "door", "kettle", "motion", "terminal"];

/// A rule as asked for (API and form).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleInput {
    /// `period`, `daily` or `on_too_long`.
    pub kind: String,
    /// `any` (default), `checkin`, `terminal`, `bulb`, `door`, `kettle`, `motion`.
    #[serde(default)]
    pub source: Option<String>,
    /// period: a signal expected at least this often (at most 7 days).
    #[serde(default)]
    pub period_minutes: Option<u32>,
    /// How long after the expected time before it counts as missed (not 0).
    #[serde(default)]
    pub grace_minutes: Option<u32>,
    /// daily: 「元気です」 by this local time, `HH:MM`.
    #[serde(default)]
    pub due: Option<String>,
    /// on_too_long: a device on for this long…
    #[serde(default)]
    pub limit_minutes: Option<u32>,
    /// …inside this local window, `HH:MM-HH:MM` (e.g. `22:00-06:00`); all day when absent.
    #[serde(default)]
    pub window: Option<String>,
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Rule {
    pub kind: RuleKind,
    pub source: String,
    pub period_minutes: Option<u32>,
    pub grace_minutes: u32,
    pub due_minute: Option<u32>,
    pub limit_minutes: Option<u32>,
    pub window_start: Option<u32>,
    pub window_end: Option<u32>,
}

/// What is wrong with a rule: a catalog key and the field.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub key: &'static str,
    pub field: &'static str,
}

fn err(key: &'static str, field: &'static str) -> RuleError {
    RuleError { key, field }
}

impl RuleInput {
    pub fn check(&self) -> Result<Rule, RuleError> {
        let kind = RuleKind::parse(&self.kind).ok_or(err("watch-rule-kind-invalid", "kind"))?;
        let source = self.source.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let source = match (kind, source) {
            (RuleKind::Daily, None | Some("checkin")) => "checkin".to_string(),
            // 「元気です」 by a time of day is a check-in; devices have period rules.
            (RuleKind::Daily, Some(_)) => return Err(err("watch-rule-source-invalid", "source")),
            (_, None) => "any".to_string(),
            (_, Some(s)) if SOURCES.contains(&s) => s.to_string(),
            _ => return Err(err("watch-rule-source-invalid", "source")),
        };
        let grace = self.grace_minutes.unwrap_or(match kind {
            RuleKind::OnTooLong => 1,
            _ => 0,
        });
        if grace == 0 {
            return Err(err("watch-rule-grace-zero", "grace_minutes"));
        }
        if grace > MAX_PERIOD_MINUTES {
            return Err(err("watch-rule-period-too-long", "grace_minutes"));
        }
        let mut rule = Rule {
            kind,
            source,
            period_minutes: None,
            grace_minutes: grace,
            due_minute: None,
            limit_minutes: None,
            window_start: None,
            window_end: None,
        };
        match kind {
            RuleKind::Period => {
                let p = self
                    .period_minutes
                    .ok_or(err("watch-rule-period-missing", "period_minutes"))?;
                if p == 0 {
                    return Err(err("watch-rule-period-missing", "period_minutes"));
                }
                if p > MAX_PERIOD_MINUTES {
                    return Err(err("watch-rule-period-too-long", "period_minutes"));
                }
                rule.period_minutes = Some(p);
            }
            RuleKind::Daily => {
                let due = self
                    .due
                    .as_deref()
                    .and_then(parse_hhmm)
                    .ok_or(err("watch-rule-due-invalid", "due"))?;
                if due + grace >= 24 * 60 {
                    return Err(err("watch-rule-due-invalid", "due"));
                }
                rule.due_minute = Some(due);
            }
            RuleKind::OnTooLong => {
                let l = self.limit_minutes.unwrap_or(0);
                if l == 0 || l > MAX_PERIOD_MINUTES {
                    return Err(err("watch-rule-limit-invalid", "limit_minutes"));
                }
                rule.limit_minutes = Some(l);
                if let Some(w) = self.window.as_deref().map(str::trim).filter(|w| !w.is_empty()) {
                    let (a, b) = w
                        .split_once('-')
                        .and_then(|(a, b)| Some((parse_hhmm(a)?, parse_hhmm(b)?)))
                        .filter(|(a, b)| a != b)
                        .ok_or(err("watch-rule-window-invalid", "window"))?;
                    rule.window_start = Some(a);
                    rule.window_end = Some(b);
                }
            }
        }
        Ok(rule)
    }
}

/// The rules a new circle starts with, so it watches from the first day: 「元気です」 every day by
/// 10:00 (called an hour later), and some sign of life (any signal) at least once in 24 hours.
pub fn defaults() -> Vec<Rule> {
    let daily = RuleInput {
        kind: "daily".into(),
        due: Some("10:00".into()),
        grace_minutes: Some(60),
        ..Default::default()
    };
    let any = RuleInput {
        kind: "period".into(),
        source: Some("any".into()),
        period_minutes: Some(24 * 60),
        grace_minutes: Some(60),
        ..Default::default()
    };
    [daily, any]
        .iter()
        .map(|r| r.check().expect("the default rules are valid"))
        .collect()
}

/// Has a `period` rule missed, its last signal (or the circle's start) at `last`?
pub fn period_missed(rule: &Rule, last: i64, now: i64) -> bool {
    let p = rule.period_minutes.unwrap_or(0) as i64;
    last + (p + rule.grace_minutes as i64) * 60_000 <= now
}

/// Since when a `period` rule counts: the latest of its last relevant signal, when watching
/// began, when the rule was made, when a pause ended, and when its last call was closed (a visit
/// found them well). Missing times count as never.
pub fn period_since(terms: &[Option<i64>]) -> i64 {
    terms.iter().map(|t| t.unwrap_or(0)).max().unwrap_or(0)
}

/// A `daily` rule: 「元気です」 not pressed today by due + grace. Returns the day's midnight (the
/// basis, so one day's miss is flagged once).
pub fn daily_missed(rule: &Rule, last_checkin: Option<i64>, now: i64) -> Option<i64> {
    let due = rule.due_minute? + rule.grace_minutes;
    let midnight = local_midnight(now);
    let late = local_minute(now) >= due;
    let pressed_today = last_checkin.is_some_and(|t| t >= midnight);
    (late && !pressed_today).then_some(midnight)
}

/// An `on_too_long` rule: a device on for longer than the limit inside the window (if any) —
/// counted from when it came on or from the window's start, whichever is later (a light
/// switched on at 17:00 is not "on all night" at 22:00).
pub fn on_too_long(rule: &Rule, on_since: i64, now: i64) -> bool {
    let limit = rule.limit_minutes.unwrap_or(u32::MAX) as i64 * 60_000;
    let from = match (rule.window_start, rule.window_end) {
        (Some(a), Some(b)) => {
            let minute = local_minute(now);
            if !in_window(minute, a, b) {
                return false;
            }
            // Minutes since the window opened (it may have opened yesterday evening).
            let since_open = (minute as i64 - a as i64).rem_euclid(24 * 60);
            on_since.max(now - (now % 60_000) - since_open * 60_000)
        }
        _ => on_since,
    };
    now - from >= limit
}

/// Calls wait out the person's quiet hours (a missed check-in found at 03:00 is called at its end);
/// an anomaly such as a light on all night is exactly a night-time matter and is called at once.
pub fn call_now(kind: RuleKind, quiet: Option<(u32, u32)>, now: i64) -> bool {
    match (kind, quiet) {
        (RuleKind::OnTooLong, _) | (_, None) => true,
        (_, Some((a, b))) => a == b || !in_window(local_minute(now), a, b),
    }
}

/// A short description for people: 「24時間に1回(猶予60分)」.
pub fn describe(rule: &Rule) -> Vec<(&'static str, String)> {
    let mut args = vec![
        ("grace", rule.grace_minutes.to_string()),
        ("source", rule.source.clone()),
    ];
    if let Some(p) = rule.period_minutes {
        args.push(("period", p.to_string()));
    }
    if let Some(d) = rule.due_minute {
        args.push(("due", super::hhmm(d)));
    }
    if let Some(l) = rule.limit_minutes {
        args.push(("limit", l.to_string()));
    }
    if let (Some(a), Some(b)) = (rule.window_start, rule.window_end) {
        args.push(("window", format!("{}-{}", super::hhmm(a), super::hhmm(b))));
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input(kind: &str) -> RuleInput {
        RuleInput {
            kind: kind.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_period_counts_from_the_latest_of_its_times() {
        assert_eq!(period_since(&[None, Some(5), Some(3), None, Some(9)]), 9);
        assert_eq!(period_since(&[None, None]), 0);
        let r = RuleInput {
            period_minutes: Some(60),
            grace_minutes: Some(30),
            ..input("period")
        }
        .check()
        .unwrap();
        // A call closed after the last signal restarts the count.
        let since = period_since(&[Some(0), Some(10 * 60_000)]);
        assert!(!period_missed(&r, since, 90 * 60_000));
        assert!(period_missed(&r, since, 100 * 60_000));
    }

    #[test]
    fn bad_rules_are_named() {
        let e = |i: RuleInput| i.check().unwrap_err();
        let period = |p: u32, g: u32| RuleInput {
            period_minutes: Some(p),
            grace_minutes: Some(g),
            ..input("period")
        };
        assert_eq!(e(period(1440, 0)).key, "watch-rule-grace-zero");
        assert_eq!(e(period(7 * 1440 + 1, 60)).key, "watch-rule-period-too-long");
        assert!(period(7 * 1440, 60).check().is_ok());
        assert_eq!(e(input("weekly")).field, "kind");
        assert_eq!(
            e(RuleInput {
                due: Some("25:00".into()),
                grace_minutes: Some(30),
                ..input("daily")
            })
            .field,
            "due"
        );
        assert_eq!(
            e(RuleInput {
                limit_minutes: Some(300),
                window: Some("22:00-22:00".into()),
                ..input("on_too_long")
            })
            .field,
            "window"
        );
        let r = RuleInput {
            due: Some("10:00".into()),
            grace_minutes: Some(30),
            ..input("daily")
        }
        .check()
        .unwrap();
        assert_eq!((r.source.as_str(), r.due_minute), ("checkin", Some(600)));
        assert_eq!(
            e(RuleInput {
                due: Some("10:00".into()),
                grace_minutes: Some(30),
                source: Some("bulb".into()),
                ..input("daily")
            })
            .field,
            "source"
        );
    }

    #[test]
    fn daily_rule_misses_after_due_and_grace() {
        let r = RuleInput {
            due: Some("10:00".into()),
            grace_minutes: Some(30),
            ..input("daily")
        }
        .check()
        .unwrap();
        // 2025-12-01 JST midnight.
        let midnight = 1_764_514_800_000;
        let at = |h: i64, m: i64| midnight + (h * 60 + m) * 60_000;
        assert_eq!(daily_missed(&r, None, at(10, 29)), None);
        assert_eq!(daily_missed(&r, None, at(10, 30)), Some(midnight));
        assert_eq!(daily_missed(&r, Some(at(7, 0)), at(11, 0)), None);
        // Yesterday's press does not count for today.
        assert_eq!(daily_missed(&r, Some(midnight - 1), at(11, 0)), Some(midnight));
    }

    #[test]
    fn light_on_all_night() {
        let r = RuleInput {
            limit_minutes: Some(300),
            window: Some("22:00-06:00".into()),
            ..input("on_too_long")
        }
        .check()
        .unwrap();
        let midnight = 1_764_514_800_000;
        let at = |h: i64| midnight + h * 3_600_000;
        assert!(on_too_long(&r, at(0), at(5)));
        assert!(!on_too_long(&r, at(0), at(4)));
        // On since 17:00 the day before: counted from 22:00, so flagged at 03:00, not at 22:00.
        assert!(!on_too_long(&r, at(-7), at(-2)));
        assert!(!on_too_long(&r, at(-7), at(2)));
        assert!(on_too_long(&r, at(-7), at(3)));
        // On for 5 h in the afternoon is not a night-time anomaly.
        assert!(!on_too_long(&r, at(10), at(15)));
    }

    #[test]
    fn quiet_hours_defer_calls_but_not_anomalies() {
        let midnight = 1_764_514_800_000;
        let three = midnight + 3 * 3_600_000;
        let quiet = Some((22 * 60, 7 * 60));
        assert!(!call_now(RuleKind::Period, quiet, three));
        assert!(call_now(RuleKind::Period, quiet, three + 4 * 3_600_000));
        assert!(call_now(RuleKind::OnTooLong, quiet, three));
        assert!(call_now(RuleKind::Daily, None, three));
    }

    proptest! {
        /// Once missed, a period rule stays missed as time goes on; a later signal un-misses it.
        #[test]
        fn period_missed_is_monotonic(p in 1u32..MAX_PERIOD_MINUTES, g in 1u32..600, last in 0i64..1_000_000_000, d in 0i64..1_000_000_000, e in 0i64..1_000_000) {
            let r = RuleInput { period_minutes: Some(p), grace_minutes: Some(g), ..input("period") }.check().unwrap();
            let now = last + d;
            if period_missed(&r, last, now) {
                prop_assert!(period_missed(&r, last, now + e));
            }
            prop_assert!(!period_missed(&r, now, now));
        }

        /// Any valid rule input round-trips its limits: grace is never 0, period never over 7 days.
        #[test]
        fn checked_rules_respect_limits(p in 0u32..20_000, g in 0u32..20_000) {
            let i = RuleInput { period_minutes: Some(p), grace_minutes: Some(g), ..input("period") };
            if let Ok(r) = i.check() {
                prop_assert!(r.grace_minutes > 0);
                prop_assert!(r.period_minutes.unwrap() <= MAX_PERIOD_MINUTES && r.period_minutes.unwrap() > 0);
            }
        }
    }
}
