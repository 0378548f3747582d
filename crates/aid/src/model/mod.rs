//! Pure logic of mutual aid (共助): what a request may say (category, time, place, fee), the
//! ranking of supporters (`matching`), and the lifecycle of an activity (`lifecycle`). No I/O.

pub mod availability;
pub mod lifecycle;
pub mod matching;
pub mod notice;

use serde::Deserialize;
use utoipa::ToSchema;

pub(crate) use kernel::text_enum;

text_enum!(
    /// What kind of help (困りごと).
    Category {
        Childcare = "childcare",
        Shopping = "shopping",
        Housework = "housework",
        Garden = "garden",
        Moving = "moving",
        ItHelp = "it_help",
        Listening = "listening",
        Other = "other",
    }
);

impl Category {
    /// Bit of this category in a set.
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
    /// Childcare (託児・送迎) goes only to supporters with a valid childcare certification.
    pub fn needs_certification(self) -> bool {
        self == Category::Childcare
    }
}

/// A set of categories as bits.
pub fn category_bits(list: &[Category]) -> u16 {
    list.iter().fold(0, |b, c| b | c.bit())
}

/// The town's fee rule: a range per hour, and whether free help is allowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeeRule {
    pub min_per_hour: i64,
    pub max_per_hour: i64,
}

/// A request as asked for.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    pub category: String,
    /// Local date `YYYY-MM-DD`.
    pub date: String,
    /// Local time `HH:MM`.
    pub start: String,
    pub duration_minutes: i64,
    /// An area code (町丁目); or give `lat`/`lon`, shown to others only as its 町丁目 until a match is accepted.
    #[serde(default)]
    pub area: Option<String>,
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    pub description: String,
    /// Where to meet, in words (e.g. 「みどり保育園の門の前」): only the accepted supporter reads it.
    #[serde(default)]
    pub place: Option<String>,
    /// Yen per hour; 0 with `free` for help without a fee.
    #[serde(default)]
    pub fee_per_hour: Option<i64>,
    #[serde(default)]
    pub free: bool,
}

/// A checked request (time resolved to ms; the place is checked by the store).
#[derive(Debug, Clone, PartialEq)]
pub struct CheckedRequest {
    pub category: Category,
    pub starts_at: i64,
    pub duration_minutes: i64,
    pub description: String,
    pub fee_per_hour: i64,
    pub place: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InputError {
    pub key: &'static str,
    pub field: &'static str,
    pub args: Vec<(&'static str, String)>,
}

fn err(key: &'static str, field: &'static str) -> InputError {
    InputError {
        key,
        field,
        args: Vec::new(),
    }
}

pub const LOCAL_OFFSET_MS: i64 = 9 * 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// Local `YYYY-MM-DD` + `HH:MM` → ms (2026-02-30 is not a day).
pub fn local_ms(date: &str, time: &str) -> Option<i64> {
    let day = kernel::model::clock::parse_date(date)?;
    let (h, mi) = time.trim().split_once(':')?;
    let (h, mi): (i8, i8) = (h.parse().ok()?, mi.parse().ok()?);
    if !(0..24).contains(&h) || !(0..60).contains(&mi) {
        return None;
    }
    Some(kernel::model::clock::jst_ms(day.at(h, mi, 0, 0)))
}

/// Local weekday (0 = Monday) and minute of the day of `ms`.
pub fn local_weekday_minute(ms: i64) -> (u32, u32) {
    let local = ms + LOCAL_OFFSET_MS;
    let days = local.div_euclid(DAY_MS);
    (
        ((days + 3).rem_euclid(7)) as u32,
        (local.rem_euclid(DAY_MS) / 60_000) as u32,
    )
}

impl RequestInput {
    /// The time alone (the ask page's second step): when it starts, in ms.
    pub fn check_when(&self, now: i64) -> Result<i64, InputError> {
        let starts_at = local_ms(&self.date, &self.start).ok_or(err("aid-time-invalid", "date"))?;
        if starts_at < now {
            return Err(err("aid-time-past", "date"));
        }
        if starts_at > now + 180 * DAY_MS {
            return Err(err("aid-time-too-far", "date"));
        }
        if !(15..=12 * 60).contains(&self.duration_minutes) {
            return Err(err("aid-duration-invalid", "duration_minutes"));
        }
        Ok(starts_at)
    }

    pub fn check(&self, now: i64, fees: FeeRule) -> Result<CheckedRequest, InputError> {
        let category = Category::parse(&self.category).ok_or(err("aid-category-invalid", "category"))?;
        let starts_at = self.check_when(now)?;
        let description = self.description.trim();
        if description.is_empty() || description.chars().count() > 2000 {
            return Err(err("aid-description-invalid", "description"));
        }
        let place = self.place.as_deref().map(str::trim).filter(|p| !p.is_empty());
        if place.is_some_and(|p| p.chars().count() > 200) {
            return Err(err("aid-place-too-long", "place"));
        }
        let fee_per_hour = if self.free {
            0
        } else {
            let fee = self.fee_per_hour.ok_or(err("aid-fee-missing", "fee_per_hour"))?;
            check_fee(fee, fees)?;
            fee
        };
        Ok(CheckedRequest {
            category,
            starts_at,
            duration_minutes: self.duration_minutes,
            description: description.to_string(),
            fee_per_hour,
            place: place.map(str::to_string),
        })
    }
}

/// A fee per hour within the town's range (the message gives the range).
pub fn check_fee(fee: i64, fees: FeeRule) -> Result<(), InputError> {
    if fee < fees.min_per_hour || fee > fees.max_per_hour {
        return Err(InputError {
            key: "aid-fee-out-of-range",
            field: "fee_per_hour",
            args: vec![
                ("min", fees.min_per_hour.to_string()),
                ("max", fees.max_per_hour.to_string()),
            ],
        });
    }
    Ok(())
}

/// What the activity costs: the fee for the time, rounded up to the quarter hour.
pub fn amount(fee_per_hour: i64, duration_minutes: i64) -> i64 {
    let quarters = (duration_minutes + 14) / 15;
    (fee_per_hour * quarters + 3) / 4
}

/// Great-circle distance in metres.
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6_371_000.0;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// Distances around one point on a flat map: metres east and north, the east scaled at the
/// latitude halfway between the two points (to first order). Across a town (tens of
/// kilometres) this is the great-circle distance within 0.1%, for a few multiplications per
/// supporter instead of trigonometry.
#[derive(Debug, Clone, Copy)]
pub struct Around {
    lat: f64,
    lon: f64,
    cos_lat: f64,
    /// sin(lat) / 2 per degree, for moving the cosine to the halfway latitude.
    half_sin_per_deg: f64,
}

const M_PER_DEG: f64 = 6_371_000.0 * std::f64::consts::PI / 180.0;

impl Around {
    pub fn new(lat: f64, lon: f64) -> Around {
        let r = lat.to_radians();
        Around {
            lat,
            lon,
            cos_lat: r.cos(),
            half_sin_per_deg: r.sin() / 2.0 * std::f64::consts::PI / 180.0,
        }
    }
    pub fn metres_to(&self, lat: f64, lon: f64) -> f64 {
        let dlat = lat - self.lat;
        let dx = (lon - self.lon) * M_PER_DEG * (self.cos_lat - self.half_sin_per_deg * dlat);
        let dy = dlat * M_PER_DEG;
        (dx * dx + dy * dy).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FEES: FeeRule = FeeRule {
        min_per_hour: 500,
        max_per_hour: 700,
    };

    fn input() -> RequestInput {
        RequestInput {
            category: "childcare".into(),
            date: "2026-12-05".into(),
            start: "09:30".into(),
            duration_minutes: 90,
            description: "保育園のお迎え".into(),
            fee_per_hour: Some(600),
            ..Default::default()
        }
    }

    #[test]
    fn requests_are_checked() {
        let now = local_ms("2026-12-01", "10:00").unwrap();
        let r = input().check(now, FEES).unwrap();
        assert_eq!(local_weekday_minute(r.starts_at), (5, 9 * 60 + 30), "a Saturday, 09:30");
        let e = RequestInput {
            fee_per_hour: Some(900),
            ..input()
        }
        .check(now, FEES)
        .unwrap_err();
        assert_eq!(e.key, "aid-fee-out-of-range");
        assert_eq!(e.args, vec![("min", "500".to_string()), ("max", "700".to_string())]);
        let e = RequestInput {
            date: "2026-11-30".into(),
            ..input()
        }
        .check(now, FEES)
        .unwrap_err();
        assert_eq!(e.key, "aid-time-past");
        assert!(
            RequestInput {
                free: true,
                fee_per_hour: None,
                ..input()
            }
            .check(now, FEES)
            .is_ok_and(|r| r.fee_per_hour == 0)
        );
        assert_eq!(amount(600, 90), 900);
        assert!(local_ms("2026-02-30", "10:00").is_none() && local_ms("2028-02-29", "10:00").is_some());
        assert_eq!(amount(600, 100), 1050, "rounded up to the quarter hour");
        let d = distance_m(35.68, 139.56, 35.69, 139.56);
        assert!((d - 1112.0).abs() < 5.0, "{d}");
    }

    proptest! {
        #[test]
        fn accepted_fees_are_in_range(fee in -1000i64..3000) {
            let r = RequestInput { fee_per_hour: Some(fee), ..input() }.check(local_ms("2026-12-01", "10:00").unwrap(), FEES);
            prop_assert_eq!(r.is_ok(), (500..=700).contains(&fee));
        }

        #[test]
        fn local_time_round_trips(days in 0i64..40_000, minute in 0i64..1440) {
            let ms = days * DAY_MS + minute * 60_000 - LOCAL_OFFSET_MS;
            let (wd, m) = local_weekday_minute(ms);
            prop_assert_eq!(m as i64, minute);
            prop_assert_eq!(wd as i64, (days + 3).rem_euclid(7));
        }

        /// Across a town the flat-map distance is the great-circle distance within 0.1% (+1 cm).
        #[test]
        fn flat_distance_is_close_to_great_circle(lat in 24.0f64..46.0, lon in 123.0f64..146.0,
                dlat in -0.2f64..0.2, dlon in -0.2f64..0.2) {
            let flat = Around::new(lat, lon).metres_to(lat + dlat, lon + dlon);
            let round = distance_m(lat, lon, lat + dlat, lon + dlon);
            prop_assert!((flat - round).abs() <= round * 0.001 + 0.01, "{} vs {}", flat, round);
        }
    }
}
