//! The matching index, in memory per node: every active supporter with their point, radius,
//! categories (as bits, with a list per category), weekly slots, skills, rating, childcare
//! certification and associations. Built from the database on first use and again whenever
//! `aid_meta.index_version` moves (a profile, certification or review changed on any node);
//! a match then scans only the supporters of the request's category.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kernel::store::Db;
use kernel::{Kernel, Result, on_db};
use tokio::sync::{Mutex, RwLock};

use crate::model::matching::{self, Facts, Slot, Suggestion, Trust};
use crate::model::{Category, category_bits, distance_m};

#[derive(Debug, Clone)]
pub struct Entry {
    pub person_id: String,
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
    pub categories: u16,
    pub skills: Vec<String>,
    /// The skills lowercased once, for matching against a request's description.
    skills_lower: Vec<String>,
    pub slots: Vec<Slot>,
    pub rating: Option<(f64, u32)>,
    /// Latest valid-until of a childcare certification (`YYYY-MM-DD`).
    pub childcare_until: Option<String>,
    pub associations: Vec<String>,
    /// The associations as small numbers (an integer test per supporter, not a string lookup).
    assoc: Vec<u32>,
    pub insured: bool,
    pub insured_categories: u16,
}

#[derive(Default)]
pub struct Index {
    pub version: i64,
    pub entries: Vec<Entry>,
    by_category: HashMap<Category, Vec<u32>>,
    by_person: HashMap<String, u32>,
    assoc_ids: HashMap<String, u32>,
}

pub fn parse_categories(s: &str) -> Vec<Category> {
    s.split(',').filter_map(Category::parse).collect()
}

pub fn parse_slots(s: &str) -> Vec<Slot> {
    s.split(',').filter_map(Slot::parse).collect()
}

impl Index {
    pub fn from_entries(version: i64, mut entries: Vec<Entry>) -> Index {
        let mut by_category: HashMap<Category, Vec<u32>> = HashMap::new();
        let mut by_person = HashMap::with_capacity(entries.len());
        let mut assoc_ids: HashMap<String, u32> = HashMap::new();
        for e in entries.iter_mut() {
            e.skills_lower = e
                .skills
                .iter()
                .map(|s| s.to_lowercase())
                .filter(|s| !s.is_empty())
                .collect();
            e.assoc = e
                .associations
                .iter()
                .map(|a| {
                    let next = assoc_ids.len() as u32;
                    *assoc_ids.entry(a.clone()).or_insert(next)
                })
                .collect();
        }
        for (i, e) in entries.iter().enumerate() {
            for c in Category::ALL {
                if e.categories & c.bit() != 0 {
                    by_category.entry(*c).or_default().push(i as u32);
                }
            }
            by_person.insert(e.person_id.clone(), i as u32);
        }
        Index {
            version,
            entries,
            by_category,
            by_person,
            assoc_ids,
        }
    }

    /// What one request needs, worked out once: its time, words, and the requester's trust as
    /// supporters' positions in the index (usually a handful).
    pub fn prepare(&self, w: &Want, t: &TrustOf) -> Prepared {
        let (weekday, minute) = crate::model::local_weekday_minute(w.starts_at);
        let positions = |set: &HashSet<String>| -> HashSet<u32> {
            set.iter().filter_map(|p| self.by_person.get(p).copied()).collect()
        };
        Prepared {
            weekday,
            minute,
            description: w.description.to_lowercase(),
            assoc: t
                .associations
                .iter()
                .filter_map(|a| self.assoc_ids.get(a).copied())
                .collect(),
            mutual: positions(&t.mutual),
            past: positions(&t.past),
            blocked: positions(&t.blocked),
            requester: self.by_person.get(w.requester_id).copied(),
        }
    }

    /// The facts of one supporter for one request (for a single check: eligibility, visibility).
    pub fn facts_for<'a>(&'a self, person: &str, w: &Want, t: &TrustOf) -> Option<Facts<'a>> {
        let i = *self.by_person.get(person)?;
        Some(self.entries[i as usize].facts(i, w, &self.prepare(w, t)))
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
#[derive(Default)]
pub struct TrustOf {
    pub associations: HashSet<String>,
    pub past: HashSet<String>,
    pub mutual: HashSet<String>,
    pub blocked: HashSet<String>,
}

pub async fn trust_of(db: &Db, person: &str) -> Result<TrustOf> {
    Ok(TrustOf {
        associations: super::associations_of(db, person).await?.into_iter().collect(),
        past: super::past_partners(db, person).await?.into_iter().collect(),
        mutual: super::mutual_links(db, person).await?.into_iter().collect(),
        blocked: super::blocked_either_way(db, person).await?.into_iter().collect(),
    })
}

/// A request made ready for scanning the supporters.
pub struct Prepared {
    weekday: u32,
    minute: u32,
    description: String,
    assoc: Vec<u32>,
    mutual: HashSet<u32>,
    past: HashSet<u32>,
    blocked: HashSet<u32>,
    requester: Option<u32>,
}

impl Entry {
    /// What the ranking knows of this supporter (at position `i`) for this request.
    fn facts<'a>(&'a self, i: u32, w: &Want, p: &Prepared) -> Facts<'a> {
        let trust = if p.mutual.contains(&i) {
            Trust::Mutual
        } else if p.past.contains(&i) {
            Trust::PastAid
        } else if self.assoc.iter().any(|a| p.assoc.contains(a)) {
            Trust::SameAssociation
        } else {
            Trust::Stranger
        };
        Facts {
            id: &self.person_id,
            trust,
            distance_m: distance_m(w.lat, w.lon, self.lat, self.lon),
            radius_m: self.radius_m,
            offers_category: self.categories & w.category.bit() != 0,
            skill_hits: self
                .skills_lower
                .iter()
                .filter(|s| p.description.contains(s.as_str()))
                .count() as u32,
            available: matching::covers(&self.slots, p.weekday, p.minute, w.duration_minutes as u32),
            rating: self.rating,
            certified: self
                .childcare_until
                .as_deref()
                .is_some_and(|u| w.today.as_str() <= u && w.activity_date.as_str() <= u),
            blocked: p.requester == Some(i) || p.blocked.contains(&i),
        }
    }

    /// Covered by the supporter's insurance for this category.
    pub fn covers(&self, category: Category) -> bool {
        self.insured && self.insured_categories & category.bit() != 0
    }
}

/// The best `limit` supporters for the request, best first.
pub fn suggest(index: &Index, w: &Want, t: &TrustOf, limit: usize) -> Vec<Suggestion> {
    let Some(ids) = index.by_category.get(&w.category) else {
        return Vec::new();
    };
    let p = index.prepare(w, t);
    let facts = ids.iter().map(|i| index.entries[*i as usize].facts(*i, w, &p));
    matching::rank(w.category, facts, limit)
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
    let entries = rows
        .into_iter()
        .map(|r| Entry {
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
            assoc: Vec::new(),
            skills_lower: Vec::new(),
            insured: r.insured != 0,
            insured_categories: category_bits(&parse_categories(&r.insured_categories)),
            person_id: r.person_id,
        })
        .collect();
    Ok(Index::from_entries(version, entries))
}
