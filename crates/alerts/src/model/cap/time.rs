//! CAP date-times: `YYYY-MM-DDThh:mm:ss±hh:mm`, always with an offset.

use super::*;

/// Why a string is not a CAP time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("time must have an offset like +09:00, not Z")]
    Utc,
    #[error("time must not have fractional seconds")]
    FractionalSeconds,
    #[error("time must look like 2025-04-01T09:00:00+09:00")]
    Format,
    #[error("time is not a real date, time of day or offset")]
    OutOfRange,
}

/// A CAP date-time: `YYYY-MM-DDThh:mm:ss±hh:mm`, always with an explicit offset, never `Z` nor fractions.
///
/// Equality is textual: the same instant written with different offsets compares unequal
/// (compare `to_unix_ms()` for instants).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CapTime(String);

pub(super) struct TimeParts {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    /// Signed offset east of UTC, in seconds.
    offset: i64,
}

pub(super) fn digits(b: &[u8], from: usize, len: usize) -> Option<i64> {
    let part = b.get(from..from + len)?;
    part.iter().try_fold(0i64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

/// Midnight of 1970-01-01, from which CAP times count their seconds (as civil times, so that every year
/// 0001..9999 with every offset stays in range).
const EPOCH: jiff::civil::DateTime = jiff::civil::DateTime::constant(1970, 1, 1, 0, 0, 0, 0);

/// Seconds from [`EPOCH`] to a wall-clock time.
fn seconds_since_epoch(t: jiff::civil::DateTime) -> i64 {
    t.duration_since(EPOCH).as_secs()
}

impl CapTime {
    /// JST, the offset `from_unix_ms_jst` writes.
    const JST_SECONDS: i64 = 9 * 3600;

    pub fn parse(s: &str) -> Result<Self, TimeError> {
        Self::parts(s)?;
        Ok(Self(s.to_owned()))
    }

    fn parts(s: &str) -> Result<TimeParts, TimeError> {
        let b = s.as_bytes();
        let shape = |i: usize, c: u8| b.get(i) == Some(&c);
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            digits(b, 0, 4),
            digits(b, 5, 2),
            digits(b, 8, 2),
            digits(b, 11, 2),
            digits(b, 14, 2),
            digits(b, 17, 2),
        ) else {
            return Err(TimeError::Format);
        };
        if !(shape(4, b'-') && shape(7, b'-') && shape(10, b'T') && shape(13, b':') && shape(16, b':')) {
            return Err(TimeError::Format);
        }
        let tail = &b[19..];
        let sign = match tail.first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            Some(b'Z' | b'z') if tail.len() == 1 => return Err(TimeError::Utc),
            Some(b'.') => return Err(TimeError::FractionalSeconds),
            _ => return Err(TimeError::Format),
        };
        let (Some(off_h), Some(off_m)) = (digits(b, 20, 2), digits(b, 23, 2)) else {
            return Err(TimeError::Format);
        };
        if tail.len() != 6 || tail[3] != b':' {
            return Err(TimeError::Format);
        }
        // xs:dateTime limits: year 0001..9999 here, offsets within ±14:00.
        let valid = (1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && jiff::civil::Date::new(year as i16, month as i8, day as i8).is_ok()
            && hour <= 23
            && minute <= 59
            && second <= 59
            && off_m <= 59
            && (off_h < 14 || (off_h == 14 && off_m == 0));
        if !valid {
            return Err(TimeError::OutOfRange);
        }
        Ok(TimeParts {
            year,
            month,
            day,
            hour,
            minute,
            second,
            offset: sign * (off_h * 3600 + off_m * 60),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Milliseconds since the Unix epoch (always a whole number of seconds).
    pub fn to_unix_ms(&self) -> i64 {
        // The string was validated on construction, so this cannot fail.
        let Ok(p) = Self::parts(&self.0) else {
            unreachable!("CapTime holds a validated time")
        };
        let local = jiff::civil::DateTime::new(
            p.year as i16,
            p.month as i8,
            p.day as i8,
            p.hour as i8,
            p.minute as i8,
            p.second as i8,
            0,
        );
        let Ok(local) = local else {
            unreachable!("CapTime holds a validated time")
        };
        (seconds_since_epoch(local) - p.offset) * 1000
    }

    /// Formats an instant in Japan Standard Time (`+09:00`), dropping sub-second precision (rounding down).
    /// Instants outside years 0001..9999 (JST) are clamped to that range, which CAP can express.
    pub fn from_unix_ms_jst(ms: i64) -> Self {
        let first = seconds_since_epoch(jiff::civil::DateTime::constant(1, 1, 1, 0, 0, 0, 0));
        let last = seconds_since_epoch(jiff::civil::DateTime::constant(9999, 12, 31, 23, 59, 59, 0));
        let local = (ms.div_euclid(1000) + Self::JST_SECONDS).clamp(first, last);
        let Ok(t) = EPOCH.checked_add(jiff::SignedDuration::from_secs(local)) else {
            unreachable!("clamped to years 0001..9999")
        };
        Self(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+09:00",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ))
    }
}

impl fmt::Display for CapTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CapTime {
    type Err = TimeError;
    fn from_str(s: &str) -> Result<Self, TimeError> {
        Self::parse(s)
    }
}

impl TryFrom<String> for CapTime {
    type Error = TimeError;
    fn try_from(s: String) -> Result<Self, TimeError> {
        Self::parts(&s)?;
        Ok(Self(s))
    }
}

impl From<CapTime> for String {
    fn from(t: CapTime) -> String {
        t.0
    }
}
