//! The matching index, in memory per node: every active supporter with their point, radius,
//! categories (as bits, with a list per category), weekly slots, skills, rating, childcare
//! certification and associations (with a member list per association). Built from the
//! database on first use and again whenever `aid_meta.index_version` moves (a profile,
//! certification or review changed on any node).
//!
//! A match goes by trust, as the ranking does: first the requester's 「知り合い」 and past
//! partners, then the members of the requester's associations, and only if those leave room in
//! the list, the other supporters of the category. Within each, a supporter whose best possible
//! score (known from distance and reviews alone) cannot enter the list is skipped before their
//! slots and skills are looked at.

use std::collections::HashMap;
use std::sync::Arc;

use kernel::store::Db;
use kernel::{Kernel, Result, on_db};
use tokio::sync::{Mutex, RwLock};

use crate::model::matching::{self, Best, Facts, Slot, Suggestion, Trust};
use crate::model::{Around, Category, DAY_MS, LOCAL_OFFSET_MS, category_bits, local_ms};

/// What a scan reads of a supporter, packed together and copied into each list the supporter
/// is on (their categories; their associations' lists per category), so a scan walks memory
/// in order instead of jumping to each supporter's own allocations.
#[derive(Debug, Clone, Copy)]
struct Hot {
    lat: f64,
    lon: f64,
    /// `matching::review_points` of their reviews.
    review_points: f64,
    radius_m: f32,
    /// Position in the index.
    pos: u32,
    /// Their weekly slots: `slots[slots_at .. slots_at + slots_len]` of the index.
    slots_at: u32,
    /// Their skills as distinct-skill numbers: `skill_refs[skills_at .. skills_at + skills_len]`.
    skills_at: u32,
    /// Local day number until which a childcare certification is valid (i32::MIN: none).
    childcare_until: i32,
    categories: u16,
    slots_len: u8,
    skills_len: u8,
    /// Their skills' numbers modulo 64, as bits: no bit in common with the request's words
    /// means no skill in them.
    skill_mask: u64,
    /// Per weekday, the earliest start and latest end of their slots in quarter hours, rounded
    /// outwards ([255, 0]: none that day): a request outside it is surely not covered, so most
    /// who are not free at the time are known without reading their slots.
    day_span: [[u8; 2]; 7],
}

fn day_spans(slots: &[Slot]) -> [[u8; 2]; 7] {
    let mut span = [[255u8, 0u8]; 7];
    for s in slots {
        let d = &mut span[s.weekday.min(6) as usize];
        d[0] = d[0].min((s.start / 15).min(96) as u8);
        d[1] = d[1].max(s.end.div_ceil(15).min(96) as u8);
    }
    span
}

/// One supporter: the packed figures and what only a chosen few need.
#[derive(Debug, Clone)]
pub struct Entry {
    pub person_id: String,
    hot: Hot,
    rating: Option<(f64, u32)>,
    /// Associations as small numbers.
    assoc: Vec<u32>,
    insured: bool,
    insured_categories: u16,
}

/// A supporter's profile as read from the database.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub person_id: String,
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
    pub categories: u16,
    pub skills: Vec<String>,
    pub slots: Vec<Slot>,
    pub rating: Option<(f64, u32)>,
    /// Latest valid-until of a childcare certification (`YYYY-MM-DD`).
    pub childcare_until: Option<String>,
    pub associations: Vec<String>,
    pub insured: bool,
    pub insured_categories: u16,
}

#[derive(Default)]
pub struct Index {
    pub version: i64,
    entries: Vec<Entry>,
    /// The supporters offering each category, by position.
    by_category: HashMap<Category, Vec<Hot>>,
    /// The members of each association offering each category, by position.
    by_association: HashMap<(u32, Category), Vec<Hot>>,
    by_person: HashMap<String, u32>,
    assoc_ids: HashMap<String, u32>,
    slots: Vec<Slot>,
    skill_refs: Vec<u32>,
    /// Distinct skills, lowercased.
    skills: Vec<String>,
}

pub fn parse_categories(s: &str) -> Vec<Category> {
    s.split(',').filter_map(Category::parse).collect()
}

pub fn parse_slots(s: &str) -> Vec<Slot> {
    s.split(',').filter_map(Slot::parse).collect()
}

/// The local day number of a `YYYY-MM-DD` date.
fn day_number(date: &str) -> Option<i32> {
    local_ms(date, "00:00").map(|ms| ((ms + LOCAL_OFFSET_MS).div_euclid(DAY_MS)) as i32)
}

impl Index {
    pub fn from_profiles(version: i64, profiles: Vec<Profile>) -> Index {
        let mut idx = Index {
            version,
            ..Index::default()
        };
        let mut skill_ids: HashMap<String, u32> = HashMap::new();
        idx.entries.reserve(profiles.len());
        idx.by_person.reserve(profiles.len());
        for (i, p) in profiles.into_iter().enumerate() {
            let slots_at = idx.slots.len() as u32;
            // A week has no use for more than a few dozen slots; the list stops at 255.
            idx.slots.extend(p.slots.iter().take(255));
            let skills_at = idx.skill_refs.len() as u32;
            for s in p
                .skills
                .iter()
                .map(|s| s.trim().to_lowercase())
                .filter(|s| !s.is_empty())
            {
                let next = skill_ids.len() as u32;
                let id = *skill_ids.entry(s).or_insert(next);
                let mine = &idx.skill_refs[skills_at as usize..];
                if !mine.contains(&id) && mine.len() < 255 {
                    idx.skill_refs.push(id);
                }
            }
            let mut assoc: Vec<u32> = Vec::with_capacity(p.associations.len());
            for a in &p.associations {
                let next = idx.assoc_ids.len() as u32;
                let id = *idx.assoc_ids.entry(a.clone()).or_insert(next);
                if !assoc.contains(&id) {
                    assoc.push(id);
                }
            }
            let hot = Hot {
                lat: p.lat,
                lon: p.lon,
                review_points: matching::review_points(p.rating),
                radius_m: p.radius_m as f32,
                pos: i as u32,
                slots_at,
                skills_at,
                childcare_until: p.childcare_until.as_deref().and_then(day_number).unwrap_or(i32::MIN),
                categories: p.categories,
                slots_len: (idx.slots.len() as u32 - slots_at) as u8,
                skills_len: (idx.skill_refs.len() as u32 - skills_at) as u8,
                day_span: day_spans(&p.slots),
                skill_mask: idx.skill_refs[skills_at as usize..]
                    .iter()
                    .fold(0u64, |m, s| m | 1u64 << (s % 64)),
            };
            for c in Category::ALL {
                if p.categories & c.bit() != 0 {
                    idx.by_category.entry(*c).or_default().push(hot);
                    for a in &assoc {
                        idx.by_association.entry((*a, *c)).or_default().push(hot);
                    }
                }
            }
            idx.by_person.insert(p.person_id.clone(), i as u32);
            idx.entries.push(Entry {
                person_id: p.person_id,
                hot,
                rating: p.rating,
                assoc,
                insured: p.insured,
                insured_categories: p.insured_categories,
            });
        }
        idx.skills = vec![String::new(); skill_ids.len()];
        for (s, id) in skill_ids {
            idx.skills[id as usize] = s;
        }
        idx
    }

    /// What one request needs, worked out once: its point, time, words and dates, and the
    /// requester's trust as supporters' positions in the index (usually a handful).
    pub fn prepare(&self, w: &Want, t: &TrustOf) -> Prepared {
        let (weekday, minute) = crate::model::local_weekday_minute(w.starts_at);
        let positions = |list: &[String]| -> Vec<u32> {
            let mut v: Vec<u32> = list.iter().filter_map(|p| self.by_person.get(p).copied()).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let mut blocked = positions(&t.blocked);
        if let Some(me) = self.by_person.get(w.requester_id) {
            blocked.push(*me);
            blocked.sort_unstable();
        }
        let mut assoc: Vec<u32> = t
            .associations
            .iter()
            .filter_map(|a| self.assoc_ids.get(a).copied())
            .collect();
        assoc.sort_unstable();
        assoc.dedup();
        Prepared {
            around: Around::new(w.lat, w.lon),
            weekday,
            minute,
            duration: w.duration_minutes.clamp(0, u32::MAX as i64) as u32,
            // Certified on both days: valid until the later of today and the activity's day.
            certified_from: day_number(&w.today)
                .max(day_number(&w.activity_date))
                .unwrap_or(i32::MAX),
            skill_bits: self.skill_bits(&w.description.to_lowercase()),
            description: w.description.to_lowercase(),
            assoc,
            mutual: positions(&t.mutual),
            past: positions(&t.past),
            blocked,
        }
    }

    /// The facts of one supporter for one request (for a single check: eligibility, visibility).
    pub fn facts_for<'a>(&'a self, person: &str, w: &Want, t: &TrustOf) -> Option<Facts<'a>> {
        let i = *self.by_person.get(person)?;
        let p = self.prepare(w, t);
        let e = &self.entries[i as usize];
        let h = &e.hot;
        let hits = self
            .skills_of(h)
            .iter()
            .filter(|s| p.description.contains(self.skills[**s as usize].as_str()))
            .count();
        Some(Facts {
            id: &e.person_id,
            trust: p.trust(i, e),
            distance_m: p.around.metres_to(h.lat, h.lon),
            radius_m: h.radius_m as f64,
            offers_category: h.categories & w.category.bit() != 0,
            skill_hits: hits as u32,
            available: self.available(h, &p),
            rating: e.rating,
            certified: h.childcare_until >= p.certified_from,
            blocked: p.blocked.binary_search(&i).is_ok(),
        })
    }

    /// Which distinct skills occur in a description, as bits (see `Prepared::skill_bits`).
    fn skill_bits(&self, description: &str) -> u64 {
        if self.skills.len() > 4096 {
            return u64::MAX;
        }
        self.skills
            .iter()
            .enumerate()
            .filter(|(_, s)| description.contains(s.as_str()))
            .fold(0u64, |m, (i, _)| m | 1u64 << (i % 64))
    }

    fn skills_of(&self, h: &Hot) -> &[u32] {
        &self.skill_refs[h.skills_at as usize..h.skills_at as usize + h.skills_len as usize]
    }

    fn available(&self, h: &Hot, p: &Prepared) -> bool {
        let slots = &self.slots[h.slots_at as usize..h.slots_at as usize + h.slots_len as usize];
        matching::covers(slots, p.weekday, p.minute, p.duration)
    }

    pub fn get(&self, person: &str) -> Option<&Entry> {
        self.by_person.get(person).map(|i| &self.entries[*i as usize])
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What the matching needs of the request and its requester.
pub struct Want<'a> {
    pub requester_id: &'a str,
    pub category: Category,
    pub lat: f64,
    pub lon: f64,
    pub starts_at: i64,
    pub duration_minutes: i64,
    pub description: &'a str,
    /// Today's local date and the activity's, for certification validity (valid on both).
    pub today: String,
    pub activity_date: String,
}

/// The requester's side of trust.
#[derive(Debug, Default)]
pub struct TrustOf {
    pub associations: Vec<String>,
    pub past: Vec<String>,
    pub mutual: Vec<String>,
    pub blocked: Vec<String>,
}

/// The requester's associations, past partners, accepted 「知り合い」 and blocks, in one query.
pub async fn trust_of(db: &Db, person: &str) -> Result<TrustOf> {
    let rows: Vec<(String, String)> = on_db!(db, |p| sqlx::query_as::<_, (String, String)>(
        // Each part reads its own index (the same lookups as associations_of, past_partners,
        // mutual_links and blocked_either_way, in one round trip).
        "SELECT 'a', m.organisation_id FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
           WHERE m.person_id = $1 AND o.kind = 'association' \
         UNION ALL SELECT 'p', supporter_id FROM aid_requests WHERE requester_id = $1 AND supporter_id IS NOT NULL \
           AND state IN ('done', 'settled') \
         UNION ALL SELECT 'p', requester_id FROM aid_requests WHERE supporter_id = $1 AND state IN ('done', 'settled') \
         UNION ALL SELECT 'm', b FROM aid_links WHERE a = $1 AND accepted_at IS NOT NULL \
         UNION ALL SELECT 'm', a FROM aid_links WHERE b = $1 AND accepted_at IS NOT NULL \
         UNION ALL SELECT 'b', blocked_id FROM aid_blocks WHERE blocker_id = $1 \
         UNION ALL SELECT 'b', blocker_id FROM aid_blocks WHERE blocked_id = $1"
    )
    .bind(person)
    .fetch_all(p)
    .await)?;
    let mut t = TrustOf::default();
    for (kind, id) in rows {
        match kind.as_str() {
            "a" => t.associations.push(id),
            "p" => t.past.push(id),
            "m" => t.mutual.push(id),
            _ => t.blocked.push(id),
        }
    }
    Ok(t)
}

/// A request made ready for scanning the supporters.
pub struct Prepared {
    around: Around,
    weekday: u32,
    minute: u32,
    duration: u32,
    /// A childcare certification must be valid until at least this local day.
    certified_from: i32,
    description: String,
    /// The numbers (modulo 64, as bits) of the distinct skills the description contains; all
    /// bits when there are too many distinct skills to check each.
    skill_bits: u64,
    /// The requester's associations, as numbers.
    assoc: Vec<u32>,
    /// Positions, ascending.
    mutual: Vec<u32>,
    past: Vec<u32>,
    /// Blocked either way, and the requester themselves.
    blocked: Vec<u32>,
}

impl Prepared {
    fn trust(&self, i: u32, e: &Entry) -> Trust {
        if self.mutual.binary_search(&i).is_ok() {
            Trust::Mutual
        } else if self.past.binary_search(&i).is_ok() {
            Trust::PastAid
        } else if e.assoc.iter().any(|a| self.assoc.contains(a)) {
            Trust::SameAssociation
        } else {
            Trust::Stranger
        }
    }
}

impl Entry {
    /// Covered by the supporter's insurance for this category.
    pub fn covers(&self, category: Category) -> bool {
        self.insured && self.insured_categories & category.bit() != 0
    }
}

/// One match in progress: the list so far and which supporters were already looked at.
struct Scan<'a, 'w> {
    index: &'a Index,
    want: &'w Want<'w>,
    p: &'w Prepared,
    best: Best<'a>,
    /// Per position: looked at already (or blocked).
    seen: Vec<u64>,
    /// Per distinct skill: 0 not yet checked, 1 not in the description, 2 in it.
    skill_in_text: Vec<u8>,
}

impl<'a, 'w> Scan<'a, 'w> {
    fn mark(&mut self, i: u32) -> bool {
        let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
        let fresh = self.seen[word] & bit == 0;
        self.seen[word] |= bit;
        fresh
    }

    /// The best a supporter of this list could score, from the packed figures alone; None if
    /// they may not be suggested at all (another category, outside their radius, uncertified
    /// for childcare).
    fn bound(&self, h: &Hot) -> Option<(f64, f64)> {
        let (w, p) = (self.want, self.p);
        if h.categories & w.category.bit() == 0 {
            return None;
        }
        let distance = p.around.metres_to(h.lat, h.lon);
        let radius = h.radius_m as f64;
        if distance.is_nan()
            || distance > radius
            || (w.category.needs_certification() && h.childcare_until < p.certified_from)
        {
            return None;
        }
        let [from, to] = h.day_span[p.weekday as usize];
        let maybe_free = from as u32 * 15 <= p.minute && p.minute + p.duration <= to as u32 * 15;
        let available = if maybe_free { None } else { Some(false) };
        let bound = matching::score_bound(distance, radius, h.review_points, available, self.may_hit(h));
        Some((bound, distance))
    }

    /// May some of their skills be in the request's words?
    fn may_hit(&self, h: &Hot) -> bool {
        h.skill_mask & self.p.skill_bits != 0
    }

    /// Look at the supporters of one trust level. Their bounds first (the packed figures, read
    /// in order); then the supporters in order of bound, a few dozen at a time, until the next
    /// bound cannot enter the list — usually after the first few dozen.
    fn level<'h>(&mut self, hots: impl Iterator<Item = &'h Hot>, trust: Trust) {
        if self.best.hopeless(trust, f64::INFINITY) {
            return;
        }
        let mut open: Vec<(f64, f64, &'h Hot)> = Vec::new();
        for h in hots {
            if !self.mark(h.pos) {
                continue;
            }
            if let Some((bound, distance)) = self.bound(h) {
                open.push((bound, distance, h));
            }
        }
        // Highest bound first (a heap: most levels stop after a few dozen).
        let mut heap: std::collections::BinaryHeap<(u64, u32)> = open
            .iter()
            .enumerate()
            // Bounds are above -2; shifted, their bits order as the numbers do.
            .map(|(i, (bound, _, _))| ((bound + 16.0).to_bits(), i as u32))
            .collect();
        while let Some((_, i)) = heap.pop() {
            let (bound, distance, h) = open[i as usize];
            if self.best.hopeless(trust, bound) {
                // Nobody after can enter either.
                return;
            }
            self.consider(h, trust, distance);
        }
    }

    /// Look closely at one supporter who may enter the list: slots, then skills.
    fn consider(&mut self, h: &Hot, trust: Trust, distance: f64) {
        let index = self.index;
        let p = self.p;
        let radius = h.radius_m as f64;
        let may_hit = self.may_hit(h);
        let available = index.available(h, p);
        if !available
            && self.best.hopeless(
                trust,
                matching::score_bound(distance, radius, h.review_points, Some(false), may_hit),
            )
        {
            return;
        }
        let mut hits = 0;
        if may_hit {
            for s in index.skills_of(h) {
                let known = &mut self.skill_in_text[*s as usize];
                if *known == 0 {
                    *known = 1 + u8::from(p.description.contains(index.skills[*s as usize].as_str()));
                }
                hits += u32::from(*known == 2);
            }
        }
        if self.best.hopeless(
            trust,
            matching::score_of(available, distance, radius, hits, h.review_points),
        ) {
            return;
        }
        let e = &index.entries[h.pos as usize];
        self.best.offer(Facts {
            id: &e.person_id,
            trust,
            distance_m: distance,
            radius_m: radius,
            offers_category: true,
            skill_hits: hits,
            available,
            rating: e.rating,
            certified: h.childcare_until >= p.certified_from,
            blocked: false,
        });
    }
}

/// The best `limit` supporters for the request, best first.
pub fn suggest(index: &Index, w: &Want, t: &TrustOf, limit: usize) -> Vec<Suggestion> {
    let Some(all) = index.by_category.get(&w.category) else {
        return Vec::new();
    };
    let p = index.prepare(w, t);
    let mut scan = Scan {
        index,
        want: w,
        p: &p,
        best: Best::new(w.category, limit),
        seen: vec![0; index.entries.len().div_ceil(64)],
        skill_in_text: vec![0; index.skills.len()],
    };
    for i in &p.blocked {
        scan.mark(*i);
    }
    // Acquaintances first: a 「知り合い」 link, a past activity, then the same association;
    // strangers last, and only while they can still enter the list.
    let hot = |list: &[u32]| -> Vec<Hot> { list.iter().map(|i| index.entries[*i as usize].hot).collect() };
    scan.level(hot(&p.mutual).iter(), Trust::Mutual);
    scan.level(hot(&p.past).iter(), Trust::PastAid);
    let members = p
        .assoc
        .iter()
        .filter_map(|a| index.by_association.get(&(*a, w.category)))
        .flatten();
    scan.level(members, Trust::SameAssociation);
    scan.level(all.iter(), Trust::Stranger);
    scan.best.into_suggestions()
}

/// The node's index, rebuilt when the version in the database moved.
pub struct Cache {
    current: RwLock<Arc<Index>>,
    building: Mutex<()>,
}

pub async fn current(k: &Kernel) -> Result<Arc<Index>> {
    let cache = k.extensions.get_or_init(|| Cache {
        current: RwLock::new(Arc::new(Index {
            version: -1,
            ..Index::default()
        })),
        building: Mutex::new(()),
    });
    let version = super::index_version(&k.db).await?;
    {
        let idx = cache.current.read().await;
        if idx.version == version {
            return Ok(idx.clone());
        }
    }
    // One rebuild at a time. While it runs, others go on with the index they have (seconds
    // for a town's supporters) — unless there is none yet.
    let _guard = match cache.building.try_lock() {
        Ok(g) => g,
        Err(_) => {
            let idx = cache.current.read().await.clone();
            if idx.version >= 0 {
                return Ok(idx);
            }
            cache.building.lock().await
        }
    };
    {
        let idx = cache.current.read().await;
        if idx.version == version {
            return Ok(idx.clone());
        }
    }
    let built = Arc::new(build(&k.db, version).await?);
    let mut current = cache.current.write().await;
    // Never replace a newer index with an older one (a slow rebuild finishing late).
    if current.version < built.version {
        *current = built.clone();
    }
    Ok(current.clone())
}

#[derive(sqlx::FromRow)]
struct Row {
    person_id: String,
    categories: String,
    skills: String,
    radius_m: i64,
    lat: f64,
    lon: f64,
    availability: String,
    insured: i64,
    insured_categories: String,
}

async fn build(db: &Db, version: i64) -> Result<Index> {
    let rows: Vec<Row> = on_db!(db, |p| sqlx::query_as::<_, Row>(
        "SELECT s.person_id, s.categories, s.skills, s.radius_m, s.lat, s.lon, s.availability, s.insured, \
         s.insured_categories FROM aid_supporters s JOIN people pe ON pe.id = s.person_id \
         WHERE s.active = 1 AND pe.deleted_at IS NULL ORDER BY s.person_id"
    )
    .fetch_all(p)
    .await)?;
    let certs: Vec<(String, String)> = on_db!(db, |p| sqlx::query_as(
        "SELECT person_id, MAX(valid_until) FROM aid_certifications WHERE kind = 'childcare' GROUP BY person_id"
    )
    .fetch_all(p)
    .await)?;
    let certs: HashMap<String, String> = certs.into_iter().collect();
    let ratings: Vec<(String, i64, i64)> = on_db!(db, |p| sqlx::query_as(
        // Reviews received as a supporter only; SUM is NUMERIC on PostgreSQL, hence the cast.
        "SELECT v.reviewee_id, CAST(SUM(v.rating) AS BIGINT), COUNT(*) FROM aid_reviews v \
         JOIN aid_requests r ON r.id = v.request_id AND r.supporter_id = v.reviewee_id GROUP BY v.reviewee_id"
    )
    .fetch_all(p)
    .await)?;
    let ratings: HashMap<String, (f64, u32)> = ratings
        .into_iter()
        .map(|(p, sum, n)| (p, (sum as f64 / n.max(1) as f64, n as u32)))
        .collect();
    let assoc: Vec<(String, String)> = on_db!(db, |p| sqlx::query_as(
        "SELECT DISTINCT m.person_id, m.organisation_id FROM memberships m \
         JOIN organisations o ON o.id = m.organisation_id JOIN aid_supporters s ON s.person_id = m.person_id \
         WHERE o.kind = 'association'"
    )
    .fetch_all(p)
    .await)?;
    let mut associations: HashMap<String, Vec<String>> = HashMap::new();
    for (p, o) in assoc {
        associations.entry(p).or_default().push(o);
    }
    let profiles = rows
        .into_iter()
        .map(|r| Profile {
            lat: r.lat,
            lon: r.lon,
            radius_m: r.radius_m as f64,
            categories: category_bits(&parse_categories(&r.categories)),
            skills: r
                .skills
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            slots: parse_slots(&r.availability),
            rating: ratings.get(&r.person_id).copied(),
            childcare_until: certs.get(&r.person_id).cloned(),
            associations: associations.remove(&r.person_id).unwrap_or_default(),
            insured: r.insured != 0,
            insured_categories: category_bits(&parse_categories(&r.insured_categories)),
            person_id: r.person_id,
        })
        .collect();
    Ok(Index::from_profiles(version, profiles))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SKILLS: [&str; 6] = ["料理", "スマホ", "運転", "英語", "草むしり", "Piano"];
    const DATES: [&str; 4] = ["2026-11-30", "2026-12-05", "2026-12-20", "2027-03-31"];

    type Drawn = (
        (f64, f64, f64, u16),
        (Vec<usize>, Vec<(u32, u32, u32)>),
        (Option<(f64, u32)>, Option<usize>, Vec<usize>),
    );

    fn profile() -> impl Strategy<Value = Drawn> {
        (
            (-0.03f64..0.03, -0.03f64..0.03, 300.0f64..5000.0, 0u16..256),
            (
                proptest::collection::vec(0usize..6, 0..3),
                proptest::collection::vec((0u32..7, 0u32..1400, 10u32..600), 0..6),
            ),
            (
                proptest::option::of((1.0f64..5.0, 0u32..15)),
                proptest::option::of(0usize..4),
                proptest::collection::vec(0usize..3, 0..2),
            ),
        )
    }

    proptest! {
        /// The pruned scan (trust levels, bounds, quick checks) suggests exactly what ranking
        /// every supporter's full facts would.
        #[test]
        fn the_scan_suggests_what_ranking_everyone_would(
            drawn in proptest::collection::vec(profile(), 0..120),
            who in proptest::collection::vec((0usize..120, 0u8..4), 0..12),
            requester_assoc in proptest::collection::vec(0usize..3, 0..2),
            category in 0usize..8,
            (start, duration, words) in (0i64..(14 * 1440), 30i64..240, proptest::collection::vec(0usize..6, 0..3)),
            limit in 0usize..12,
        ) {
            let profiles: Vec<Profile> = drawn.iter().enumerate().map(|(i, ((dlat, dlon, radius, cats), (skills, slots), (rating, cert, assoc)))| Profile {
                person_id: format!("p{i:03}"),
                lat: 35.68 + dlat,
                lon: 139.56 + dlon,
                radius_m: radius.round(),
                categories: *cats,
                skills: skills.iter().map(|s| SKILLS[*s].to_string()).collect(),
                slots: slots.iter().map(|(d, s, len)| Slot { weekday: *d, start: *s, end: (s + len).min(1440) }).collect(),
                rating: *rating,
                childcare_until: cert.map(|c| DATES[c].to_string()),
                associations: assoc.iter().map(|a| format!("assoc{a}")).collect(),
                insured: false,
                insured_categories: 0,
            }).collect();
            let index = Index::from_profiles(1, profiles);
            let mut trust = TrustOf {
                associations: requester_assoc.iter().map(|a| format!("assoc{a}")).collect(),
                ..TrustOf::default()
            };
            for (i, kind) in &who {
                let id = format!("p{i:03}");
                match kind { 0 => trust.mutual.push(id), 1 => trust.past.push(id), 2 => trust.blocked.push(id), _ => {} }
            }
            let description: String = words.iter().map(|w| format!("{}をお願いします。", SKILLS[*w].to_lowercase())).collect();
            let starts_at = crate::model::local_ms("2026-12-01", "00:00").unwrap() + start * 60_000;
            let want = Want {
                requester_id: "p007",
                category: Category::ALL[category],
                lat: 35.68,
                lon: 139.56,
                starts_at,
                duration_minutes: duration,
                description: &description,
                today: "2026-12-01".into(),
                activity_date: kernel::model::clock::to_rfc3339_jst(starts_at)[..10].to_string(),
            };
            let everyone = (0..drawn.len()).filter_map(|i| index.facts_for(&format!("p{i:03}"), &want, &trust));
            let expected = matching::rank(want.category, everyone, limit);
            let got = suggest(&index, &want, &trust, limit);
            prop_assert_eq!(got, expected);
        }
    }
}
