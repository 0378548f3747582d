//! Pure logic of watch-over: roles in a circle, the rules and when a check-in is missed, the
//! escalation ladder, listening schedules, the training gate, signal checks and the sparkline.
//! No I/O.

pub mod ladder;
pub mod notice;
pub mod rule;
pub mod schedule;
pub mod signal;
pub mod sparkline;

pub use notice::*;

/// The town's local time (JST) is UTC+9, without summer time.
pub const LOCAL_OFFSET_MS: i64 = 9 * 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// Minutes since local midnight.
pub fn local_minute(ms: i64) -> u32 {
    ((ms + LOCAL_OFFSET_MS).rem_euclid(DAY_MS) / 60_000) as u32
}

/// The instant of the local midnight that starts the day of `ms`.
pub fn local_midnight(ms: i64) -> i64 {
    ms - (ms + LOCAL_OFFSET_MS).rem_euclid(DAY_MS)
}

/// `"10:00"` → 600.
pub fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60 && m.to_string().len() <= 2).then_some(h * 60 + m)
}

pub fn hhmm(minute: u32) -> String {
    format!("{:02}:{:02}", minute / 60 % 24, minute % 60)
}

/// Is `minute` inside the window from `start` to `end` (which may run past midnight)?
pub fn in_window(minute: u32, start: u32, end: u32) -> bool {
    if start <= end {
        start <= minute && minute < end
    } else {
        minute >= start || minute < end
    }
}

pub(crate) use kernel::text_enum;

text_enum!(
    /// A member's role in a circle.
    CircleRole {
        Family = "family",
        CareManager = "care_manager",
        Supporter = "supporter",
        ListeningVolunteer = "listening_volunteer",
        Officer = "officer",
    }
);

impl CircleRole {
    /// Supporters and listening volunteers visit homes they are not family of: they need a
    /// recorded privacy training first.
    pub fn needs_training(self) -> bool {
        matches!(self, CircleRole::Supporter | CircleRole::ListeningVolunteer)
    }
}

/// A privacy training as recorded: dates are local `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingDates {
    pub taken_on: String,
    pub expires_on: String,
}

/// Why a person may not be assigned visits.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainingGap {
    Missing,
    Expired {
        on: String,
    },
    /// Recorded ahead of the course date.
    NotYet {
        from: String,
    },
}

/// The local date of `ms`, `YYYY-MM-DD`.
pub fn local_date(ms: i64) -> String {
    kernel::model::clock::jst_date(ms)
}

/// A valid ISO date `YYYY-MM-DD` (month 1–12, day 1–31).
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && s[..4].parse::<u32>().is_ok()
        && s[5..7].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m))
        && s[8..].parse::<u32>().is_ok_and(|d| (1..=31).contains(&d))
}

/// May someone with these trainings be assigned a visit today? Valid from the course date
/// through the expiry date; the newest expiry counts.
pub fn training_gap(trainings: &[TrainingDates], now: i64) -> Option<TrainingGap> {
    let today = local_date(now);
    let valid = trainings
        .iter()
        .any(|t| t.taken_on.as_str() <= today.as_str() && today.as_str() <= t.expires_on.as_str());
    if valid {
        return None;
    }
    match trainings.iter().max_by(|a, b| a.expires_on.cmp(&b.expires_on)) {
        Some(t) if t.expires_on.as_str() < today.as_str() => Some(TrainingGap::Expired {
            on: t.expires_on.clone(),
        }),
        Some(t) => Some(TrainingGap::NotYet {
            from: t.taken_on.clone(),
        }),
        None => Some(TrainingGap::Missing),
    }
}

/// A message to a watched person's terminal: delivered, or held for the guardian.
pub fn message_is_held(sender_allowed: bool) -> bool {
    !sender_allowed
}

/// A message body: trimmed, 1–1000 characters.
pub fn check_message(body: &str) -> Option<String> {
    let b = body.trim();
    (!b.is_empty() && b.chars().count() <= 1000).then(|| b.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn local_time_is_jst() {
        // 2026-12-01 00:30 UTC = 09:30 JST.
        let t = 1_764_549_000_000;
        assert_eq!(local_minute(t), 9 * 60 + 30);
        assert_eq!(local_date(t), "2025-12-01");
        assert_eq!(local_minute(local_midnight(t)), 0);
        assert_eq!(parse_hhmm("10:00"), Some(600));
        assert_eq!(parse_hhmm("24:00"), None);
        assert_eq!(parse_hhmm("ten"), None);
        assert_eq!(hhmm(605), "10:05");
    }

    #[test]
    fn windows_wrap_midnight() {
        assert!(in_window(23 * 60, 22 * 60, 6 * 60));
        assert!(in_window(60, 22 * 60, 6 * 60));
        assert!(!in_window(12 * 60, 22 * 60, 6 * 60));
        assert!(in_window(9 * 60, 8 * 60, 17 * 60));
        assert!(!in_window(17 * 60, 8 * 60, 17 * 60));
    }

    #[test]
    fn training_gate() {
        let now = 1_764_549_000_000; // 2025-12-01 JST
        let t = |a: &str, b: &str| TrainingDates {
            taken_on: a.into(),
            expires_on: b.into(),
        };
        assert_eq!(training_gap(&[], now), Some(TrainingGap::Missing));
        assert_eq!(
            training_gap(&[t("2024-04-01", "2025-12-01")], now),
            None,
            "valid on its last day"
        );
        assert_eq!(
            training_gap(&[t("2023-04-01", "2025-11-30")], now),
            Some(TrainingGap::Expired {
                on: "2025-11-30".into()
            })
        );
        // Recorded ahead of time: not yet valid.
        assert_eq!(
            training_gap(&[t("2025-12-05", "2026-12-05")], now),
            Some(TrainingGap::NotYet {
                from: "2025-12-05".into()
            })
        );
        assert!(CircleRole::Supporter.needs_training());
        assert!(!CircleRole::Family.needs_training());
        assert!(is_date("2026-02-28") && !is_date("2026-13-01") && !is_date("26-1-1"));
    }

    proptest! {
        #[test]
        fn local_date_agrees_with_midnight(t in 0i64..4_000_000_000_000) {
            let m = local_midnight(t);
            prop_assert!(m <= t && t - m < DAY_MS);
            prop_assert_eq!(local_date(m), local_date(t));
            prop_assert_ne!(local_date(m - 1), local_date(t));
        }

        #[test]
        fn a_window_and_its_complement_cover_the_day(start in 0u32..1440, end in 0u32..1440, m in 0u32..1440) {
            prop_assume!(start != end);
            prop_assert_ne!(in_window(m, start, end), in_window(m, end, start));
        }
    }
}
