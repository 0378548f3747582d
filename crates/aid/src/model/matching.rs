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

/// Points for being available at the requested time: the largest part of a score.
pub const AVAILABLE_POINTS: f64 = 4.0;
/// The most that matching skills can add.
pub const SKILL_POINTS_MAX: f64 = 1.0;

/// Up to 2 points for being near, relative to the supporter's own radius.
pub fn near_points(distance_m: f64, radius_m: f64) -> f64 {
    2.0 * (1.0 - (distance_m / radius_m.max(1.0)).clamp(0.0, 1.0))
}

/// A few reviews move little; many good ones more. 3 stars is neutral (-1 to +1).
pub fn review_points(rating: Option<(f64, u32)>) -> f64 {
    match rating {
        Some((avg, n)) if n > 0 => (avg - 3.0) / 2.0 * (n.min(10) as f64 / 10.0),
        _ => 0.0,
    }
}

pub fn skill_points(hits: u32) -> f64 {
    SKILL_POINTS_MAX * hits.min(3) as f64 / 3.0
}

/// Within one trust level: available at the time weighs most, then distance, skills and reviews.
pub fn score(f: &Facts) -> f64 {
    score_of(
        f.available,
        f.distance_m,
        f.radius_m,
        f.skill_hits,
        review_points(f.rating),
    )
}

/// The score from its parts (what `score` computes, for a scan that has the parts at hand).
pub fn score_of(available: bool, distance_m: f64, radius_m: f64, skill_hits: u32, review_points: f64) -> f64 {
    let available = if available { AVAILABLE_POINTS } else { 0.0 };
    available + near_points(distance_m, radius_m) + skill_points(skill_hits) + review_points
}

/// The most a supporter can score, knowing only their distance and review points (and, when
/// known, whether they are available) and whether they have skills at all: a scan skips the
/// supporters whose bound cannot enter the list.
pub fn score_bound(
    distance_m: f64,
    radius_m: f64,
    review_points: f64,
    available: Option<bool>,
    has_skills: bool,
) -> f64 {
    let available = match available {
        Some(false) => 0.0,
        _ => AVAILABLE_POINTS,
    };
    let skills = if has_skills { SKILL_POINTS_MAX } else { 0.0 };
    // A hair above, so rounding in a different order of additions never cuts a true candidate.
    available + near_points(distance_m, radius_m) + skills + review_points + 1e-9
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

/// One eligible supporter with what orders them.
#[derive(Debug, Clone)]
struct Ranked<'a> {
    trust: Trust,
    score: f64,
    facts: Facts<'a>,
}

/// Does `a` rank before `b`: trust, then score, then the nearer, then by id (a total order).
fn before(a: &Ranked, b: &Ranked) -> bool {
    b.trust
        .cmp(&a.trust)
        .then(b.score.total_cmp(&a.score))
        .then(a.facts.distance_m.total_cmp(&b.facts.distance_m))
        .then(a.facts.id.cmp(b.facts.id))
        .is_lt()
}

/// The best `limit` eligible supporters seen so far, best first. Supporters are offered one by
/// one; `hopeless` tells a scan which ones need not be looked at closely.
#[derive(Debug, Clone)]
pub struct Best<'a> {
    category: Category,
    limit: usize,
    items: Vec<Ranked<'a>>,
}

impl<'a> Best<'a> {
    pub fn new(category: Category, limit: usize) -> Best<'a> {
        Best {
            category,
            limit,
            items: Vec::with_capacity(limit.min(64) + 1),
        }
    }

    /// Consider one supporter (ignored unless eligible).
    pub fn offer(&mut self, facts: Facts<'a>) {
        if self.limit == 0 || eligible(self.category, &facts).is_err() {
            return;
        }
        let r = Ranked {
            trust: facts.trust,
            score: score(&facts),
            facts,
        };
        if self.items.len() == self.limit {
            if !self.items.last().is_some_and(|w| before(&r, w)) {
                return;
            }
            self.items.pop();
        }
        let at = self.items.partition_point(|x| before(x, &r));
        self.items.insert(at, r);
    }

    /// Full, and a supporter of this trust scoring at most `bound` cannot enter.
    pub fn hopeless(&self, trust: Trust, bound: f64) -> bool {
        if self.limit == 0 {
            return true;
        }
        if self.items.len() < self.limit {
            return false;
        }
        let worst = &self.items[self.items.len() - 1];
        trust < worst.trust || (trust == worst.trust && bound < worst.score)
    }

    pub fn into_suggestions(self) -> Vec<Suggestion> {
        self.items
            .into_iter()
            .map(|r| Suggestion {
                person_id: r.facts.id.to_string(),
                trust: r.trust,
                distance_m: r.facts.distance_m,
                available: r.facts.available,
                rating: r.facts.rating.filter(|x| x.1 > 0).map(|x| (x.0 * 10.0).round() / 10.0),
                reviews: r.facts.rating.map(|x| x.1).unwrap_or(0),
                skill_hits: r.facts.skill_hits,
                score: r.score,
            })
            .collect()
    }
}

/// The best `limit` eligible supporters, best first.
pub fn rank<'a>(category: Category, facts: impl IntoIterator<Item = Facts<'a>>, limit: usize) -> Vec<Suggestion> {
    let mut best = Best::new(category, limit);
    for f in facts {
        best.offer(f);
    }
    best.into_suggestions()
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
        // The same parts as the availability grid on the supporter's page.
        let part = super::availability::PARTS[super::availability::part_of(start_minute)].0;
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

        /// Keeping the best few while offering one by one gives the same list as sorting everyone.
        #[test]
        fn the_same_as_sorting_everyone(list in proptest::collection::vec(facts_strategy(), 0..80), limit in 0usize..15) {
            let ids: Vec<String> = (0..list.len()).map(|i| format!("s{i:02}")).collect();
            let facts: Vec<Facts> = list.iter().zip(&ids).map(|(o, id)| Facts { id, trust: trust(o.0), distance_m: o.1,
                radius_m: o.2, offers_category: o.3, skill_hits: o.4, available: o.5, certified: o.6, blocked: o.7, rating: o.8 }).collect();
            let mut all: Vec<&Facts> = facts.iter().filter(|f| eligible(Category::Moving, f).is_ok()).collect();
            all.sort_by(|a, b| b.trust.cmp(&a.trust).then(score(b).total_cmp(&score(a)))
                .then(a.distance_m.total_cmp(&b.distance_m)).then(a.id.cmp(b.id)));
            let want: Vec<&str> = all.iter().take(limit).map(|f| f.id).collect();
            let got = rank(Category::Moving, facts.clone(), limit);
            prop_assert_eq!(got.iter().map(|s| s.person_id.as_str()).collect::<Vec<_>>(), want);
        }

        /// What `hopeless` skips could never have entered: the bound is never below the score,
        /// and offering a skipped supporter leaves the list as it was.
        #[test]
        fn skipping_the_hopeless_changes_nothing(list in proptest::collection::vec(facts_strategy(), 1..60), limit in 1usize..6) {
            let ids: Vec<String> = (0..list.len()).map(|i| format!("s{i:02}")).collect();
            let facts: Vec<Facts> = list.iter().zip(&ids).map(|(o, id)| Facts { id, trust: trust(o.0), distance_m: o.1,
                radius_m: o.2, offers_category: true, skill_hits: o.4, available: o.5, certified: o.6, blocked: false, rating: o.8 }).collect();
            let mut best = Best::new(Category::Shopping, limit);
            for f in &facts {
                let bound = score_bound(f.distance_m, f.radius_m, review_points(f.rating), None, f.skill_hits > 0);
                prop_assert!(bound >= score(f));
                prop_assert!(score_bound(f.distance_m, f.radius_m, review_points(f.rating), Some(f.available), f.skill_hits > 0) >= score(f));
                if best.hopeless(f.trust, bound) {
                    let before: Vec<String> = best.clone().into_suggestions().into_iter().map(|s| s.person_id).collect();
                    let mut tried = best.clone();
                    tried.offer(f.clone());
                    let after: Vec<String> = tried.into_suggestions().into_iter().map(|s| s.person_id).collect();
                    prop_assert_eq!(before, after);
                } else {
                    best.offer(f.clone());
                }
            }
        }
    }
}
