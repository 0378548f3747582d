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

/// The town's time zone. Japan has kept standard time all year since 1951 (no summer time), so Asia/Tokyo is
/// the fixed offset +09:00 for every date the town deals with: no time-zone database is needed (some machines
/// have none, and bundling jiff's would add its data to every binary for one unchanging offset).
pub const JST: jiff::tz::Offset = jiff::tz::Offset::constant(9);

/// The JST wall-clock date and time of an instant (instants beyond ±9999 years are clamped to that range).
pub fn jst(ms: i64) -> jiff::civil::DateTime {
    let instant = jiff::Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    JST.to_datetime(instant)
}

/// The instant of a JST wall-clock date and time, in milliseconds.
pub fn jst_ms(local: jiff::civil::DateTime) -> i64 {
    let epoch = jiff::civil::date(1970, 1, 1).at(0, 0, 0, 0);
    let since = local.duration_since(epoch);
    since.as_millis() as i64 - i64::from(JST.seconds()) * 1000
}

/// A calendar date written `YYYY-MM-DD` (a real day: 2026-02-30 is refused).
pub fn parse_date(s: &str) -> Option<jiff::civil::Date> {
    let b = s.as_bytes();
    if b.len() != 10
        || b[4] != b'-'
        || b[7] != b'-'
        || !s
            .bytes()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    {
        return None;
    }
    let (y, m, d) = (s[..4].parse().ok()?, s[5..7].parse().ok()?, s[8..].parse().ok()?);
    jiff::civil::Date::new(y, m, d).ok()
}

/// Format milliseconds as RFC 3339 in Japan Standard Time (+09:00), the town's local time.
pub fn to_rfc3339_jst(ms: i64) -> String {
    let t = jst(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+09:00",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The JST date of an instant, `YYYY-MM-DD`.
pub fn jst_date(ms: i64) -> String {
    let t = jst(ms);
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

/// Local (JST) parts of a time: (year, month, day, weekday 0 = Sunday, hour, minute).
pub fn jst_parts(ms: i64) -> (i64, u32, u32, u32, u32, u32) {
    let t = jst(ms);
    (
        i64::from(t.year()),
        t.month() as u32,
        t.day() as u32,
        t.weekday().to_sunday_zero_offset() as u32,
        t.hour() as u32,
        t.minute() as u32,
    )
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
        assert_eq!(human(Lang::Ja, -1, 2026), "1970年1月1日(木) 午前8時59分");
    }

    #[test]
    fn local_dates_round_trip() {
        let ms = 1_796_655_960_000;
        assert_eq!(jst_date(ms), "2026-12-08");
        assert_eq!(jst_ms(jst(ms)), ms);
        assert_eq!(jst_ms(parse_date("2026-12-08").unwrap().at(0, 6, 0, 0)), ms);
        assert_eq!(parse_date("2026-02-30"), None);
        assert_eq!(parse_date("2026-2-03"), None);
        assert_eq!(parse_date("2026-+2-03"), None);
        assert_eq!(jst_date(i64::MIN), "-9999-01-02");
    }

    #[test]
    fn test_clock_moves_only_when_told() {
        let c = TestClock::new(1000);
        assert_eq!(c.now_ms(), 1000);
        c.advance(500);
        assert_eq!(c.now_ms(), 1500);
    }
}
