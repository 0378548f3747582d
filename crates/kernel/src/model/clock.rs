//! Time comes through this trait so tests can move it. Times are integer UTC milliseconds.

use std::sync::atomic::{AtomicI64, Ordering};

pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
}

/// A clock that only moves when told to.
pub struct TestClock(AtomicI64);

impl TestClock {
    pub fn new(start_ms: i64) -> Self {
        TestClock(AtomicI64::new(start_ms))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn set(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Format milliseconds as RFC 3339 in Japan Standard Time (+09:00), the town's local time.
pub fn to_rfc3339_jst(ms: i64) -> String {
    let offset = 9 * 3600;
    let secs = ms.div_euclid(1000) + offset;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+09:00",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Local (JST) parts of a time: (year, month, day, weekday 0 = Sunday, hour, minute).
pub fn jst_parts(ms: i64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = ms.div_euclid(1000) + 9 * 3600;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let wd = (days + 4).rem_euclid(7) as u32;
    (y, m, d, wd, (rem / 3600) as u32, ((rem / 60) % 60) as u32)
}

/// A time as people write it: 「12月8日(火) 午前9時6分」, or "Tue 8 Dec, 9:06 am".
/// The year is added when it is not `this_year` (the reader's current year).
pub fn human(lang: crate::i18n::Lang, ms: i64, this_year: i64) -> String {
    let (y, m, d, wd, h, min) = jst_parts(ms);
    match lang {
        crate::i18n::Lang::Ja => {
            let day = ["日", "月", "火", "水", "木", "金", "土"][wd as usize];
            let year = if y == this_year {
                String::new()
            } else {
                format!("{y}年")
            };
            let (half, h12) = if h < 12 { ("午前", h) } else { ("午後", h - 12) };
            let minute = if min == 0 { String::new() } else { format!("{min}分") };
            format!("{year}{m}月{d}日({day}) {half}{h12}時{minute}")
        }
        crate::i18n::Lang::En => {
            let day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][wd as usize];
            let month = [
                "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            ][(m - 1) as usize];
            let year = if y == this_year { String::new() } else { format!(" {y}") };
            let (half, h12) = if h < 12 { ("am", h) } else { ("pm", h - 12) };
            let h12 = if h12 == 0 { 12 } else { h12 };
            format!("{day} {d} {month}{year}, {h12}:{min:02} {half}")
        }
    }
}

/// A date alone: 「12月8日(火)」, or "Tue 8 Dec".
pub fn human_date(lang: crate::i18n::Lang, ms: i64, this_year: i64) -> String {
    let full = human(lang, ms, this_year);
    match lang {
        crate::i18n::Lang::Ja => full.split(' ').next().unwrap_or_default().to_string(),
        crate::i18n::Lang::En => full.split(',').next().unwrap_or_default().to_string(),
    }
}

/// The JST year of a time.
pub fn jst_year(ms: i64) -> i64 {
    jst_parts(ms).0
}

/// Howard Hinnant's days-to-civil algorithm: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_jst() {
        assert_eq!(to_rfc3339_jst(0), "1970-01-01T09:00:00+09:00");
        // 2026-11-23T01:35:00Z
        assert_eq!(to_rfc3339_jst(1_795_397_700_000), "2026-11-23T10:35:00+09:00");
    }

    #[test]
    fn people_read_dates_with_the_weekday() {
        use crate::i18n::Lang;
        // 2026-12-08T00:06:00+09:00 is a Tuesday.
        let ms = 1_796_655_960_000;
        assert_eq!(to_rfc3339_jst(ms), "2026-12-08T00:06:00+09:00");
        assert_eq!(human(Lang::Ja, ms, 2026), "12月8日(火) 午前0時6分");
        assert_eq!(human(Lang::En, ms, 2026), "Tue 8 Dec, 12:06 am");
        assert_eq!(
            human(Lang::Ja, ms + 9 * 3_600_000 - 360_000, 2026),
            "12月8日(火) 午前9時"
        );
        assert_eq!(
            human(Lang::Ja, ms + 12 * 3_600_000, 2025),
            "2026年12月8日(火) 午後0時6分"
        );
        assert_eq!(human(Lang::En, ms + 13 * 3_600_000, 2025), "Tue 8 Dec 2026, 1:06 pm");
        assert_eq!(human_date(Lang::Ja, ms, 2026), "12月8日(火)");
        assert_eq!(human_date(Lang::En, ms, 2026), "Tue 8 Dec");
        assert_eq!(human(Lang::Ja, 0, 2026), "1970年1月1日(木) 午前9時");
    }

    #[test]
    fn test_clock_moves_only_when_told() {
        let c = TestClock::new(1000);
        assert_eq!(c.now_ms(), 1000);
        c.advance(500);
        assert_eq!(c.now_ms(), 1500);
    }
}
