//! Listening volunteers' recurring calls and visits: weekly at a local day and time. Which
//! occurrences fell due in a period, and which were missed (not logged a day after).

use super::{DAY_MS, LOCAL_OFFSET_MS};

/// How long after its time an occurrence may still be logged before it counts as missed.
pub const LOG_GRACE_MS: i64 = DAY_MS;

/// Local weekday of `ms`: 0 = Monday … 6 = Sunday.
pub fn weekday(ms: i64) -> u32 {
    // 1970-01-01 was a Thursday (3).
    (((ms + LOCAL_OFFSET_MS).div_euclid(DAY_MS) + 3).rem_euclid(7)) as u32
}

/// Occurrences of "every `weekday` at `minute`" in `[from, to)`.
pub fn occurrences(weekday_: u32, minute: u32, from: i64, to: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut day = super::local_midnight(from);
    while day < to {
        let at = day + minute as i64 * 60_000;
        if weekday(day) == weekday_ && at >= from && at < to {
            out.push(at);
        }
        day += DAY_MS;
    }
    out
}

/// Occurrences since `since` that are past their grace and not in `logged`.
pub fn missed(weekday_: u32, minute: u32, since: i64, now: i64, logged: &[i64]) -> Vec<i64> {
    occurrences(weekday_, minute, since, now - LOG_GRACE_MS + 1)
        .into_iter()
        .filter(|at| !logged.contains(at))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // 2025-12-01 00:00 JST, a Monday.
    const MONDAY: i64 = 1_764_514_800_000;

    #[test]
    fn weekly_occurrences() {
        assert_eq!(weekday(MONDAY), 0);
        assert_eq!(weekday(MONDAY + 6 * DAY_MS), 6);
        // Wednesdays at 14:00 over two weeks.
        let occ = occurrences(2, 14 * 60, MONDAY, MONDAY + 14 * DAY_MS);
        assert_eq!(
            occ,
            vec![
                MONDAY + 2 * DAY_MS + 14 * 3_600_000,
                MONDAY + 9 * DAY_MS + 14 * 3_600_000
            ]
        );
        let now = MONDAY + 14 * DAY_MS;
        assert_eq!(missed(2, 14 * 60, MONDAY, now, &[occ[0]]), vec![occ[1]]);
        // Not yet a day late: not missed.
        assert!(missed(2, 14 * 60, MONDAY, occ[0] + 3_600_000, &[]).is_empty());
    }

    proptest! {
        #[test]
        fn occurrences_are_a_week_apart(wd in 0u32..7, minute in 0u32..1440, from in 0i64..4_000_000_000_000, weeks in 1i64..10) {
            let occ = occurrences(wd, minute, from, from + weeks * 7 * DAY_MS);
            prop_assert_eq!(occ.len() as i64, weeks);
            for w in occ.windows(2) {
                prop_assert_eq!(w[1] - w[0], 7 * DAY_MS);
            }
            for at in occ {
                prop_assert_eq!(weekday(at), wd);
                prop_assert_eq!(super::super::local_minute(at), minute);
            }
        }
    }
}
