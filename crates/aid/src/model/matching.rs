//! Ranking supporters for a request. Trust comes first — acquaintances (a mutual 「知り合い」
//! link, a past completed activity, the same association) before strangers — then, within the
//! same trust, availability at the requested time, skills, distance and reviews. Who may be
//! suggested at all: supporters offering the category, within their own service radius, not
//! blocked either way, and for childcare only those with a valid certification.
//! Each suggestion says why, in words built from `Reason`s.

use serde::Serialize;
use utoipa::ToSchema;

use super::Category;

/// How the supporter is linked to the requester (the strongest link counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trust {
    Stranger = 0,
    SameAssociation = 1,
    PastAid = 2,
    Mutual = 3,
}

impl Trust {
    pub fn is_acquaintance(self) -> bool {
        self != Trust::Stranger
    }
}

/// A weekly availability slot: local weekday (0 = Monday) and minutes of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Slot {
    pub weekday: u32,
    pub start: u32,
    pub end: u32,
}

impl Slot {
    /// `"5:09:00-12:00"` (Saturday morning).
    pub fn parse(s: &str) -> Option<Slot> {
        let (wd, range) = s.trim().split_once(':')?;
        let weekday: u32 = wd.parse().ok().filter(|w| *w < 7)?;
        let (a, b) = range.split_once('-')?;
        let start = hhmm(a)?;
        let end = if b.trim() == "24:00" { 1440 } else { hhmm(b)? };
        (start < end).then_some(Slot { weekday, start, end })
    }
    pub fn text(&self) -> String {
        format!(
            "{}:{:02}:{:02}-{:02}:{:02}",
            self.weekday,
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

fn hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

/// Does one slot cover the whole request (same day)?
pub fn covers(slots: &[Slot], weekday: u32, start: u32, duration: u32) -> bool {
    slots
        .iter()
        .any(|s| s.weekday == weekday && s.start <= start && start + duration <= s.end)
}

/// What the ranking knows of one supporter for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts<'a> {
    pub id: &'a str,
    pub trust: Trust,
    pub distance_m: f64,
    pub radius_m: f64,
    pub offers_category: bool,
    pub skill_hits: u32,
    pub available: bool,
    /// Average rating and how many reviews.
    pub rating: Option<(f64, u32)>,
    /// Holds a valid childcare certification.
    pub certified: bool,
    pub blocked: bool,
}

/// Why a supporter may not take a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ineligible {
    Blocked,
    Category,
    Radius,
    Certification,
}

impl Ineligible {
    pub fn key(self) -> &'static str {
        match self {
            Ineligible::Blocked => "aid-ineligible-blocked",
            Ineligible::Category => "aid-ineligible-category",
            Ineligible::Radius => "aid-ineligible-radius",
            Ineligible::Certification => "aid-ineligible-certification",
        }
    }
}

pub fn eligible(category: Category, f: &Facts) -> Result<(), Ineligible> {
    if f.blocked {
        return Err(Ineligible::Blocked);
    }
    if category.needs_certification() && !f.certified {
        return Err(Ineligible::Certification);
    }
    if !f.offers_category {
        return Err(Ineligible::Category);
    }
    if f.distance_m.is_nan() || f.distance_m > f.radius_m {
        return Err(Ineligible::Radius);
    }
    Ok(())
}

/// Within one trust level: available at the time weighs most, then distance, skills and reviews.
pub fn score(f: &Facts) -> f64 {
    let available = if f.available { 4.0 } else { 0.0 };
    let near = 2.0 * (1.0 - (f.distance_m / f.radius_m.max(1.0)).clamp(0.0, 1.0));
    let skills = f.skill_hits.min(3) as f64 / 3.0;
    // A few reviews move little; many good ones more. 3 stars is neutral.
    let reviews = match f.rating {
        Some((avg, n)) if n > 0 => (avg - 3.0) / 2.0 * (n.min(10) as f64 / 10.0),
        _ => 0.0,
    };
    available + near + skills + reviews
}

/// One ranked supporter.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Suggestion {
    pub person_id: String,
    pub trust: Trust,
    /// Rounded to 100 m when shown: a supporter's home is not to be worked out from it.
    #[serde(serialize_with = "rounded_100")]
    pub distance_m: f64,
    pub available: bool,
    pub rating: Option<f64>,
    pub reviews: u32,
    pub skill_hits: u32,
    #[serde(skip)]
    pub score: f64,
}

fn rounded_100<S: serde::Serializer>(d: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d / 100.0).round() * 100.0)
}

/// The best `limit` eligible supporters, best first.
pub fn rank<'a>(category: Category, facts: impl IntoIterator<Item = Facts<'a>>, limit: usize) -> Vec<Suggestion> {
    let mut ok: Vec<(Trust, f64, f64, Facts)> = facts
        .into_iter()
        .filter(|f| eligible(category, f).is_ok())
        .map(|f| (f.trust, score(&f), f.distance_m, f))
        .collect();
    let better = |a: &(Trust, f64, f64, Facts), b: &(Trust, f64, f64, Facts)| {
        b.0.cmp(&a.0)
            .then(b.1.total_cmp(&a.1))
            .then(a.2.total_cmp(&b.2))
            .then(a.3.id.cmp(b.3.id))
    };
    if ok.len() > limit && limit > 0 {
        ok.select_nth_unstable_by(limit - 1, better);
        ok.truncate(limit);
    }
    ok.sort_by(better);
    ok.truncate(limit);
    ok.into_iter()
        .map(|(trust, score, distance_m, f)| Suggestion {
            person_id: f.id.to_string(),
            trust,
            distance_m,
            available: f.available,
            rating: f.rating.filter(|r| r.1 > 0).map(|r| (r.0 * 10.0).round() / 10.0),
            reviews: f.rating.map(|r| r.1).unwrap_or(0),
            skill_hits: f.skill_hits,
            score,
        })
        .collect()
}

/// A part of "why", for the catalog: a key and its arguments.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Reason {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

/// Why this supporter: 「同じ町会・1.2km・評価4.8・土曜午前に対応可」 as keys.
pub fn reasons(s: &Suggestion, weekday: u32, start_minute: u32) -> Vec<Reason> {
    let mut out = Vec::new();
    let trust = match s.trust {
        Trust::Mutual => Some("aid-why-mutual"),
        Trust::PastAid => Some("aid-why-past"),
        Trust::SameAssociation => Some("aid-why-association"),
        Trust::Stranger => None,
    };
    if let Some(key) = trust {
        out.push(Reason { key, args: vec![] });
    }
    out.push(Reason {
        key: "aid-why-km",
        args: vec![("km", format!("{:.1}", s.distance_m / 1000.0))],
    });
    if let Some(r) = s.rating {
        out.push(Reason {
            key: "aid-why-rating",
            args: vec![("rating", format!("{r:.1}"))],
        });
    }
    if s.skill_hits > 0 {
        out.push(Reason {
            key: "aid-why-skills",
            args: vec![],
        });
    }
    if s.available {
        let part = match start_minute {
            0..720 => "morning",
            720..1020 => "afternoon",
            _ => "evening",
        };
        out.push(Reason {
            key: "aid-why-available",
            args: vec![("day", weekday.to_string()), ("part", part.to_string())],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn f(id: &str) -> Facts<'_> {
        Facts {
            id,
            trust: Trust::Stranger,
            distance_m: 1000.0,
            radius_m: 3000.0,
            offers_category: true,
            skill_hits: 0,
            available: true,
            rating: None,
            certified: false,
            blocked: false,
        }
    }

    #[test]
    fn acquaintances_first_then_the_rest() {
        let near_stranger = Facts {
            distance_m: 100.0,
            rating: Some((5.0, 10)),
            ..f("stranger")
        };
        let far_friend = Facts {
            trust: Trust::SameAssociation,
            distance_m: 2500.0,
            ..f("friend")
        };
        let r = rank(Category::Shopping, vec![near_stranger, far_friend], 10);
        assert_eq!(r[0].person_id, "friend");
        let why = reasons(&r[0], 5, 9 * 60);
        let keys: Vec<&str> = why.iter().map(|r| r.key).collect();
        assert_eq!(keys, vec!["aid-why-association", "aid-why-km", "aid-why-available"]);
        assert_eq!(why[1].args[0].1, "2.5");
        assert_eq!(
            why[2].args,
            vec![("day", "5".to_string()), ("part", "morning".to_string())]
        );
    }

    #[test]
    fn who_may_not_be_suggested() {
        assert_eq!(eligible(Category::Childcare, &f("x")), Err(Ineligible::Certification));
        assert_eq!(
            eligible(
                Category::Shopping,
                &Facts {
                    distance_m: 3001.0,
                    ..f("x")
                }
            ),
            Err(Ineligible::Radius)
        );
        assert_eq!(
            eligible(
                Category::Shopping,
                &Facts {
                    blocked: true,
                    ..f("x")
                }
            ),
            Err(Ineligible::Blocked)
        );
        assert!(
            eligible(
                Category::Childcare,
                &Facts {
                    certified: true,
                    ..f("x")
                }
            )
            .is_ok()
        );
        let slots = [Slot::parse("5:09:00-12:00").unwrap()];
        assert!(covers(&slots, 5, 9 * 60 + 30, 90));
        assert!(!covers(&slots, 5, 11 * 60, 90));
        assert!(!covers(&slots, 6, 9 * 60 + 30, 30));
        assert_eq!(slots[0].text(), "5:09:00-12:00");
        assert!(Slot::parse("7:09:00-12:00").is_none() && Slot::parse("1:12:00-09:00").is_none());
    }

    type Drawn = (u8, f64, f64, bool, u32, bool, bool, bool, Option<(f64, u32)>);

    fn facts_strategy() -> impl Strategy<Value = Drawn> {
        (
            0u8..4,
            0.0f64..10_000.0,
            100.0f64..8_000.0,
            any::<bool>(),
            0u32..5,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of((1.0f64..5.0, 0u32..20)),
        )
    }

    fn trust(t: u8) -> Trust {
        [Trust::Stranger, Trust::SameAssociation, Trust::PastAid, Trust::Mutual][t as usize]
    }

    proptest! {
        /// An acquaintance never ranks below a stranger with equal other factors.
        #[test]
        fn acquaintance_never_below_an_equal_stranger(x in facts_strategy(), t in 1u8..4, others in proptest::collection::vec(facts_strategy(), 0..20)) {
            let ids: Vec<String> = (0..others.len()).map(|i| format!("o{i}")).collect();
            let mk = |id: &'static str, tr: Trust| Facts {
                id, trust: tr, distance_m: x.1, radius_m: x.2, offers_category: x.3, skill_hits: x.4, available: x.5,
                certified: x.6, blocked: x.7, rating: x.8,
            };
            let mut all = vec![mk("stranger", Trust::Stranger), mk("friend", trust(t))];
            for (o, id) in others.iter().zip(&ids) {
                all.push(Facts { id, trust: trust(o.0), distance_m: o.1, radius_m: o.2, offers_category: o.3, skill_hits: o.4,
                    available: o.5, certified: o.6, blocked: o.7, rating: o.8 });
            }
            let r = rank(Category::Shopping, all, 100);
            let pos = |id: &str| r.iter().position(|s| s.person_id == id);
            if let Some(s) = pos("stranger") {
                prop_assert!(pos("friend").is_some_and(|f| f < s));
            }
        }

        /// Nobody outside their radius, nobody uncertified for childcare, nobody blocked; best first.
        #[test]
        fn only_eligible_and_in_order(list in proptest::collection::vec(facts_strategy(), 0..60), child in any::<bool>()) {
            let ids: Vec<String> = (0..list.len()).map(|i| format!("s{i}")).collect();
            let facts: Vec<Facts> = list.iter().zip(&ids).map(|(o, id)| Facts { id, trust: trust(o.0), distance_m: o.1,
                radius_m: o.2, offers_category: o.3, skill_hits: o.4, available: o.5, certified: o.6, blocked: o.7, rating: o.8 }).collect();
            let category = if child { Category::Childcare } else { Category::Garden };
            let r = rank(category, facts.clone(), 10);
            prop_assert!(r.len() <= 10);
            for s in &r {
                let f = facts.iter().find(|f| f.id == s.person_id).unwrap();
                prop_assert!(f.distance_m <= f.radius_m && !f.blocked && f.offers_category);
                prop_assert!(!child || f.certified);
            }
            for w in r.windows(2) {
                prop_assert!(w[0].trust > w[1].trust || (w[0].trust == w[1].trust && w[0].score >= w[1].score));
            }
            // The top 10 are the best 10 of all eligible.
            let eligible_count = facts.iter().filter(|f| eligible(category, f).is_ok()).count();
            prop_assert_eq!(r.len(), eligible_count.min(10));
        }
    }
}
