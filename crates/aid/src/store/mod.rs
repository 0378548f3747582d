//! Mutual aid on disk: supporters' profiles and certifications, requests and their lifecycle
//! (every change of state is one conditional UPDATE, so two people acting at once cannot both
//! win), invitations and offers, fee changes, settlements, reviews, 「知り合い」 links, blocks
//! and reports, the coordinator's queue. Matching reads the in-memory `index`.

pub mod index;

use kernel::store::{Db, Tx};
use kernel::{Error, Kernel, Result, in_tx, on_db, on_tx};
use serde::Serialize;
use utoipa::ToSchema;

pub static MIGRATIONS: &[kernel::store::migrate::Migration] =
    &[kernel::migration!("0001_aid"), kernel::migration!("0002_place")];

/// Tell every node's index that supporters, certifications or reviews changed.
pub async fn bump_index(db: &Db) -> Result<()> {
    on_db!(db, |p| sqlx::query(
        "UPDATE aid_meta SET value = value + 1 WHERE key = 'index_version'"
    )
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// `bump_index` inside the caller's transaction: the nodes hear of the change once it commits.
pub async fn bump_index_in(tx: &mut Tx) -> Result<()> {
    on_tx!(tx, |p| sqlx::query(
        "UPDATE aid_meta SET value = value + 1 WHERE key = 'index_version'"
    )
    .execute(&mut **p)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn index_version(db: &Db) -> Result<i64> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, i64>(
        "SELECT value FROM aid_meta WHERE key = 'index_version'"
    )
    .fetch_one(p)
    .await)?)
}

// ---- supporters ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Supporter {
    pub person_id: String,
    /// Comma-separated categories.
    pub categories: String,
    pub skills: String,
    pub radius_m: i64,
    pub lat: f64,
    pub lon: f64,
    /// Comma-separated `weekday:HH:MM-HH:MM` (0 = Monday).
    pub availability: String,
    pub insured: i64,
    pub insured_categories: String,
    pub languages: String,
    pub active: i64,
    pub updated_at: i64,
}

const SUPPORTER: &str = "person_id, categories, skills, radius_m, lat, lon, availability, insured, insured_categories, \
    languages, active, updated_at";

pub async fn put_supporter(k: &Kernel, s: &Supporter) -> Result<()> {
    on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO aid_supporters (person_id, categories, skills, radius_m, lat, lon, availability, insured, \
         insured_categories, languages, active, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) \
         ON CONFLICT (person_id) DO UPDATE SET categories = excluded.categories, skills = excluded.skills, \
         radius_m = excluded.radius_m, lat = excluded.lat, lon = excluded.lon, availability = excluded.availability, \
         insured = excluded.insured, insured_categories = excluded.insured_categories, languages = excluded.languages, \
         active = excluded.active, updated_at = excluded.updated_at"
    )
    .bind(&s.person_id)
    .bind(&s.categories)
    .bind(&s.skills)
    .bind(s.radius_m)
    .bind(s.lat)
    .bind(s.lon)
    .bind(&s.availability)
    .bind(s.insured)
    .bind(&s.insured_categories)
    .bind(&s.languages)
    .bind(s.active)
    .bind(s.updated_at)
    .execute(p)
    .await
    .map(|_| ()))?;
    bump_index(&k.db).await
}

pub async fn supporter(db: &Db, person_id: &str) -> Result<Option<Supporter>> {
    let sql = format!("SELECT {SUPPORTER} FROM aid_supporters WHERE person_id = $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Supporter>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(person_id)
    .fetch_optional(p)
    .await)?)
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Certification {
    pub id: String,
    pub person_id: String,
    /// `childcare`.
    pub kind: String,
    pub issued_by: String,
    /// Local date `YYYY-MM-DD` (valid through this day).
    pub valid_until: String,
    pub recorded_at: i64,
}

pub async fn add_certification(
    tx: &mut Tx,
    k: &Kernel,
    person_id: &str,
    kind: &str,
    issued_by: &str,
    valid_until: &str,
    by: &str,
) -> Result<Certification> {
    let c = Certification {
        id: k.new_id(),
        person_id: person_id.into(),
        kind: kind.into(),
        issued_by: issued_by.into(),
        valid_until: valid_until.into(),
        recorded_at: k.now(),
    };
    on_tx!(tx, |p| sqlx::query(
        "INSERT INTO aid_certifications (id, person_id, kind, issued_by, valid_until, recorded_by, recorded_at) \
         VALUES ($1,$2,$3,$4,$5,$6,$7)"
    )
    .bind(&c.id)
    .bind(&c.person_id)
    .bind(&c.kind)
    .bind(&c.issued_by)
    .bind(&c.valid_until)
    .bind(by)
    .bind(c.recorded_at)
    .execute(&mut **p)
    .await
    .map(|_| ()))?;
    bump_index_in(tx).await?;
    Ok(c)
}

pub async fn certifications(db: &Db, person_id: &str) -> Result<Vec<Certification>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Certification>(
        "SELECT id, person_id, kind, issued_by, valid_until, recorded_at FROM aid_certifications \
         WHERE person_id = $1 ORDER BY valid_until DESC"
    )
    .bind(person_id)
    .fetch_all(p)
    .await)?)
}

// ---- requests ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Request {
    pub id: String,
    pub requester_id: String,
    pub category: String,
    pub starts_at: i64,
    pub duration_minutes: i64,
    pub area_id: String,
    #[serde(skip)]
    pub lat: f64,
    #[serde(skip)]
    pub lon: f64,
    #[serde(skip)]
    pub exact_point: i64,
    pub description: String,
    /// Proposed yen per hour (0: free).
    pub fee_per_hour: i64,
    /// `invited`, `acquaintances` or `nearby`.
    pub audience: String,
    pub state: String,
    pub created_at: i64,
    pub supporter_id: Option<String>,
    pub accepted_at: Option<i64>,
    /// The fee both agreed (set at acceptance; changed only when both confirm).
    pub fee_agreed: Option<i64>,
    pub fee_proposed: Option<i64>,
    pub fee_proposed_by: Option<String>,
    /// Covered by the supporter's volunteer insurance (recorded at acceptance).
    pub covered: Option<i64>,
    pub done_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub coordinator_suggested: Option<String>,
    pub coordinator_id: Option<String>,
    /// The meeting place in the requester's words: only the accepted supporter reads it (in `contact`).
    #[serde(skip)]
    pub place: Option<String>,
}

const REQUEST: &str = "id, requester_id, category, starts_at, duration_minutes, area_id, lat, lon, exact_point, description, \
    fee_per_hour, audience, state, created_at, supporter_id, accepted_at, fee_agreed, fee_proposed, fee_proposed_by, \
    covered, done_at, closed_at, coordinator_suggested, coordinator_id, place";

pub struct NewRequest<'a> {
    pub requester_id: &'a str,
    pub checked: &'a crate::model::CheckedRequest,
    pub area_id: &'a str,
    pub lat: f64,
    pub lon: f64,
    pub exact_point: bool,
}

pub async fn create_request(tx: &mut Tx, k: &Kernel, n: NewRequest<'_>) -> Result<Request> {
    let id = k.new_id();
    on_tx!(tx, |p| {
        sqlx::query(
        "INSERT INTO aid_requests (id, requester_id, category, starts_at, duration_minutes, area_id, lat, lon, exact_point, \
         description, fee_per_hour, audience, state, created_at, place) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,'invited','open',$12,$13)"
    )
    .bind(&id)
    .bind(n.requester_id)
    .bind(n.checked.category.as_str())
    .bind(n.checked.starts_at)
    .bind(n.checked.duration_minutes)
    .bind(n.area_id)
    .bind(n.lat)
    .bind(n.lon)
    .bind(i64::from(n.exact_point))
    .bind(&n.checked.description)
    .bind(n.checked.fee_per_hour)
    .bind(k.now())
    .bind(n.checked.place.as_deref())
    .execute(&mut **p)
    .await
    .map(|_| ())
    })?;
    // As this transaction sees it (not committed yet).
    let sql = format!("SELECT {REQUEST} FROM aid_requests WHERE id = $1");
    Ok(on_tx!(tx, |p| sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(&id)
    .fetch_one(&mut **p)
    .await)?)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Request>> {
    let sql = format!("SELECT {REQUEST} FROM aid_requests WHERE id = $1");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(p)
    .await)?)
}

pub async fn require(db: &Db, id: &str) -> Result<Request> {
    get(db, id)
        .await?
        .ok_or_else(|| Error::not_found("aid-request-not-found"))
}

/// A person's requests, newest first.
pub async fn of_requester(db: &Db, person_id: &str, limit: i64) -> Result<Vec<Request>> {
    let sql = format!("SELECT {REQUEST} FROM aid_requests WHERE requester_id = $1 ORDER BY created_at DESC LIMIT $2");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(person_id)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Activities a supporter took on, newest first.
pub async fn of_supporter(db: &Db, person_id: &str, limit: i64) -> Result<Vec<Request>> {
    let sql = format!("SELECT {REQUEST} FROM aid_requests WHERE supporter_id = $1 ORDER BY starts_at DESC LIMIT $2");
    Ok(on_db!(db, |p| sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(person_id)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// Requests still looking for someone, newest first (what supporters may browse).
pub async fn open_requests(db: &Db, now: i64, limit: i64) -> Result<Vec<Request>> {
    let sql = format!(
        "SELECT {REQUEST} FROM aid_requests WHERE state IN ('open', 'offered') AND starts_at > $1 \
         ORDER BY created_at DESC LIMIT $2"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(now)
    .bind(limit)
    .fetch_all(p)
    .await)?)
}

/// The coordinator's queue: unmatched requests older than `before` that have not started.
pub async fn unmatched_since(db: &Db, before: i64, now: i64) -> Result<Vec<Request>> {
    let sql = format!(
        "SELECT {REQUEST} FROM aid_requests WHERE state IN ('open', 'offered') AND created_at <= $1 AND starts_at > $2 \
         ORDER BY created_at"
    );
    Ok(on_db!(db, |p| sqlx::query_as::<_, Request>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(before)
    .bind(now)
    .fetch_all(p)
    .await)?)
}

/// Move the request from `from` to `to` (setting `done_at`/`closed_at` as fits); false when it
/// was no longer in `from`.
pub async fn transition(tx: &mut Tx, k: &Kernel, id: &str, from: &str, to: &str) -> Result<bool> {
    let now = k.now();
    let n = on_tx!(tx, |p| sqlx::query(
        "UPDATE aid_requests SET state = $3, \
         done_at = CASE WHEN $3 = 'done' THEN $4 ELSE done_at END, \
         closed_at = CASE WHEN $3 IN ('cancelled', 'no_show', 'settled') THEN $4 ELSE closed_at END \
         WHERE id = $1 AND state = $2"
    )
    .bind(id)
    .bind(from)
    .bind(to)
    .bind(now)
    .execute(&mut **p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// Accept a supporter's offer: only from `offered`, only once, and only while the offer stands.
pub async fn accept(k: &Kernel, id: &str, supporter: &str, covered: bool) -> Result<bool> {
    let now = k.now();
    let n = in_tx!(&k.db, |tx| {
        // Hold the request's row first (PostgreSQL), as a withdrawal does; the offer is then
        // looked at by a later statement, which sees a withdrawal that committed meanwhile.
        let held = sqlx::query("UPDATE aid_requests SET state = state WHERE id = $1 AND state = 'offered'")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if held == 0 {
            0
        } else {
            sqlx::query(
                "UPDATE aid_requests SET state = 'accepted', supporter_id = $2, accepted_at = $3, fee_agreed = fee_per_hour, \
                 covered = $4 WHERE id = $1 AND state = 'offered' \
                 AND EXISTS (SELECT 1 FROM aid_offers o WHERE o.request_id = $1 AND o.supporter_id = $2)",
            )
            .bind(id)
            .bind(supporter)
            .bind(now)
            .bind(i64::from(covered))
            .execute(&mut *tx)
            .await?
            .rows_affected()
        }
    });
    Ok(n > 0)
}

pub async fn set_audience(db: &Db, id: &str, audience: &str) -> Result<()> {
    on_db!(db, |p| sqlx::query(
        "UPDATE aid_requests SET audience = $2 WHERE id = $1"
    )
    .bind(id)
    .bind(audience)
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

pub async fn invite(k: &Kernel, id: &str, supporter: &str, by: &str) -> Result<bool> {
    let n = on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO aid_invitations (request_id, supporter_id, invited_by, invited_at) VALUES ($1,$2,$3,$4) \
         ON CONFLICT (request_id, supporter_id) DO NOTHING"
    )
    .bind(id)
    .bind(supporter)
    .bind(by)
    .bind(k.now())
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn invited(db: &Db, id: &str, supporter: &str) -> Result<bool> {
    let n: i64 = on_db!(db, |p| sqlx::query_scalar(
        "SELECT COUNT(*) FROM aid_invitations WHERE request_id = $1 AND supporter_id = $2"
    )
    .bind(id)
    .bind(supporter)
    .fetch_one(p)
    .await)?;
    Ok(n > 0)
}

/// Requests a supporter was invited to.
pub async fn invitations_of(db: &Db, supporter: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT request_id FROM aid_invitations WHERE supporter_id = $1"
    )
    .bind(supporter)
    .fetch_all(p)
    .await)?)
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Offer {
    pub supporter_id: String,
    pub display_name: String,
    pub message: Option<String>,
    pub offered_at: i64,
}

/// Record an offer and move the request to `offered` (from open or offered), in one transaction.
pub async fn offer(k: &Kernel, id: &str, supporter: &str, message: Option<&str>) -> Result<bool> {
    let now = k.now();
    let ok = in_tx!(&k.db, |tx| {
        let moved =
            sqlx::query("UPDATE aid_requests SET state = 'offered' WHERE id = $1 AND state IN ('open', 'offered')")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if moved > 0 {
            sqlx::query(
                "INSERT INTO aid_offers (request_id, supporter_id, message, offered_at) VALUES ($1,$2,$3,$4) \
                 ON CONFLICT (request_id, supporter_id) DO UPDATE SET message = excluded.message",
            )
            .bind(id)
            .bind(supporter)
            .bind(message)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        moved > 0
    });
    Ok(ok)
}

/// Take back an offer while the request is still `offered`; the request is open again when it
/// was the last offer. False when there was no such offer or the request moved on (accepted).
pub async fn withdraw(k: &Kernel, id: &str, supporter: &str) -> Result<bool> {
    let ok = in_tx!(&k.db, |tx| {
        // Touching the request first holds its row (PostgreSQL), so an acceptance at the same
        // moment either comes first (and this finds it no longer offered) or waits.
        let held = sqlx::query("UPDATE aid_requests SET state = state WHERE id = $1 AND state = 'offered'")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let gone = if held == 0 {
            0
        } else {
            sqlx::query("DELETE FROM aid_offers WHERE request_id = $1 AND supporter_id = $2")
                .bind(id)
                .bind(supporter)
                .execute(&mut *tx)
                .await?
                .rows_affected()
        };
        if gone > 0 {
            let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM aid_offers WHERE request_id = $1")
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            let state = crate::model::lifecycle::after_withdrawal(left as usize);
            sqlx::query("UPDATE aid_requests SET state = $2 WHERE id = $1")
                .bind(id)
                .bind(state.as_str())
                .execute(&mut *tx)
                .await?;
        }
        gone > 0
    });
    Ok(ok)
}

pub async fn offers(db: &Db, id: &str) -> Result<Vec<Offer>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Offer>(
        "SELECT o.supporter_id, pe.display_name, o.message, o.offered_at FROM aid_offers o \
         JOIN people pe ON pe.id = o.supporter_id WHERE o.request_id = $1 ORDER BY o.offered_at"
    )
    .bind(id)
    .fetch_all(p)
    .await)?)
}

/// One party proposes a new fee (while accepted).
pub async fn propose_fee(k: &Kernel, id: &str, fee: i64, by: &str) -> Result<bool> {
    let n = on_db!(&k.db, |p| sqlx::query(
        "UPDATE aid_requests SET fee_proposed = $2, fee_proposed_by = $3 WHERE id = $1 AND state = 'accepted'"
    )
    .bind(id)
    .bind(fee)
    .bind(by)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

/// The other party confirms the proposed fee `fee`: it becomes the agreed fee.
pub async fn confirm_fee(k: &Kernel, id: &str, fee: i64, by: &str) -> Result<bool> {
    let n = on_db!(&k.db, |p| sqlx::query(
        "UPDATE aid_requests SET fee_agreed = fee_proposed, fee_proposed = NULL, fee_proposed_by = NULL \
         WHERE id = $1 AND state = 'accepted' AND fee_proposed = $3 AND fee_proposed_by <> $2"
    )
    .bind(id)
    .bind(by)
    .bind(fee)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n > 0)
}

pub async fn coordinator_suggest(k: &Kernel, id: &str, supporter: &str, coordinator: &str) -> Result<()> {
    on_db!(&k.db, |p| sqlx::query(
        "UPDATE aid_requests SET coordinator_suggested = $2, coordinator_id = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(supporter)
    .bind(coordinator)
    .execute(p)
    .await
    .map(|_| ()))?;
    invite(k, id, supporter, coordinator).await?;
    Ok(())
}

// ---- settlement and reviews ----

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Settlement {
    pub request_id: String,
    pub amount: i64,
    /// `cash`, `bank_transfer` or `external`.
    pub method: String,
    pub reference: Option<String>,
    pub recorded_by: String,
    pub recorded_at: i64,
}

/// Record the settlement and move done → settled together; false if not done (or settled already).
pub async fn settle(
    k: &Kernel,
    id: &str,
    amount: i64,
    method: &str,
    reference: Option<&str>,
    by: &str,
) -> Result<bool> {
    let now = k.now();
    let ok = in_tx!(&k.db, |tx| {
        let moved =
            sqlx::query("UPDATE aid_requests SET state = 'settled', closed_at = $2 WHERE id = $1 AND state = 'done'")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if moved > 0 {
            sqlx::query(
                "INSERT INTO aid_settlements (request_id, amount, method, reference, recorded_by, recorded_at) \
                 VALUES ($1,$2,$3,$4,$5,$6)",
            )
            .bind(id)
            .bind(amount)
            .bind(method)
            .bind(reference)
            .bind(by)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        moved > 0
    });
    Ok(ok)
}

pub async fn settlement(db: &Db, id: &str) -> Result<Option<Settlement>> {
    Ok(on_db!(db, |p| {
        sqlx::query_as::<_, Settlement>(
        "SELECT request_id, amount, method, reference, recorded_by, recorded_at FROM aid_settlements WHERE request_id = $1"
    )
    .bind(id)
    .fetch_optional(p)
    .await
    })?)
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Review {
    pub reviewer_id: String,
    pub reviewee_id: String,
    pub rating: i64,
    pub comment: Option<String>,
    pub created_at: i64,
}

/// A review; false if this reviewer already reviewed this activity.
pub async fn review(
    k: &Kernel,
    id: &str,
    reviewer: &str,
    reviewee: &str,
    rating: i64,
    comment: Option<&str>,
) -> Result<bool> {
    let n = on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO aid_reviews (request_id, reviewer_id, reviewee_id, rating, comment, created_at) \
         VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT (request_id, reviewer_id) DO NOTHING"
    )
    .bind(id)
    .bind(reviewer)
    .bind(reviewee)
    .bind(rating)
    .bind(comment)
    .bind(k.now())
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    if n > 0 {
        bump_index(&k.db).await?;
    }
    Ok(n > 0)
}

pub async fn reviews(db: &Db, id: &str) -> Result<Vec<Review>> {
    Ok(on_db!(db, |p| {
        sqlx::query_as::<_, Review>(
        "SELECT reviewer_id, reviewee_id, rating, comment, created_at FROM aid_reviews WHERE request_id = $1 ORDER BY created_at"
    )
    .bind(id)
    .fetch_all(p)
    .await
    })?)
}

// ---- trust: links, past aid, associations, blocks ----

fn pair<'a>(x: &'a str, y: &'a str) -> (&'a str, &'a str) {
    if x <= y { (x, y) } else { (y, x) }
}

/// Ask `other` to be 「知り合い」, or accept their asking. Returns whether the link is now mutual.
pub async fn link(k: &Kernel, me: &str, other: &str) -> Result<bool> {
    let (a, b) = pair(me, other);
    let now = k.now();
    let existing: Option<(String, Option<i64>)> = on_db!(&k.db, |p| sqlx::query_as(
        "SELECT asked_by, accepted_at FROM aid_links WHERE a = $1 AND b = $2"
    )
    .bind(a)
    .bind(b)
    .fetch_optional(p)
    .await)?;
    match existing {
        None => {
            on_db!(&k.db, |p| sqlx::query(
                "INSERT INTO aid_links (a, b, asked_by, asked_at) VALUES ($1,$2,$3,$4) ON CONFLICT (a, b) DO NOTHING"
            )
            .bind(a)
            .bind(b)
            .bind(me)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
            Ok(false)
        }
        Some((_, Some(_))) => Ok(true),
        Some((asked_by, None)) if asked_by == me => Ok(false),
        Some(_) => {
            on_db!(&k.db, |p| sqlx::query(
                "UPDATE aid_links SET accepted_at = $3 WHERE a = $1 AND b = $2"
            )
            .bind(a)
            .bind(b)
            .bind(now)
            .execute(p)
            .await
            .map(|_| ()))?;
            Ok(true)
        }
    }
}

/// People linked to `me` both ways.
pub async fn mutual_links(db: &Db, me: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT b FROM aid_links WHERE a = $1 AND accepted_at IS NOT NULL \
         UNION SELECT a FROM aid_links WHERE b = $1 AND accepted_at IS NOT NULL"
    )
    .bind(me)
    .fetch_all(p)
    .await)?)
}

/// Links others asked of `me` and `me` has not accepted: (person id, name).
pub async fn links_asked_of(db: &Db, me: &str) -> Result<Vec<(String, String)>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, (String, String)>(
        "SELECT l.asked_by, pe.display_name FROM aid_links l JOIN people pe ON pe.id = l.asked_by \
         WHERE (l.a = $1 OR l.b = $1) AND l.asked_by <> $1 AND l.accepted_at IS NULL"
    )
    .bind(me)
    .fetch_all(p)
    .await)?)
}

/// People `me` has completed an activity with (either side).
pub async fn past_partners(db: &Db, me: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        // Two lookups (each on its own index) rather than an OR that reads every finished activity.
        "SELECT supporter_id FROM aid_requests WHERE requester_id = $1 AND supporter_id IS NOT NULL \
         AND state IN ('done', 'settled') \
         UNION SELECT requester_id FROM aid_requests WHERE supporter_id = $1 AND state IN ('done', 'settled')"
    )
    .bind(me)
    .fetch_all(p)
    .await)?)
}

/// The associations (町会・自治会) a person belongs to.
pub async fn associations_of(db: &Db, person: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT DISTINCT m.organisation_id FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
         WHERE m.person_id = $1 AND o.kind = 'association'"
    )
    .bind(person)
    .fetch_all(p)
    .await)?)
}

pub async fn block(k: &Kernel, me: &str, other: &str) -> Result<()> {
    on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO aid_blocks (blocker_id, blocked_id, created_at) VALUES ($1,$2,$3) ON CONFLICT DO NOTHING"
    )
    .bind(me)
    .bind(other)
    .bind(k.now())
    .execute(p)
    .await
    .map(|_| ()))?;
    Ok(())
}

/// People `me` blocked or who blocked `me`: never matched either way.
pub async fn blocked_either_way(db: &Db, me: &str) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| {
        sqlx::query_scalar::<_, String>(
        "SELECT blocked_id FROM aid_blocks WHERE blocker_id = $1 UNION SELECT blocker_id FROM aid_blocks WHERE blocked_id = $1"
    )
    .bind(me)
    .fetch_all(p)
    .await
    })?)
}

pub async fn report(k: &Kernel, request: &str, reporter: &str, reported: &str, reason: &str) -> Result<()> {
    on_db!(&k.db, |p| {
        sqlx::query(
        "INSERT INTO aid_reports (id, request_id, reporter_id, reported_id, reason, created_at) VALUES ($1,$2,$3,$4,$5,$6)"
    )
    .bind(k.new_id())
    .bind(request)
    .bind(reporter)
    .bind(reported)
    .bind(reason)
    .bind(k.now())
    .execute(p)
    .await
    .map(|_| ())
    })?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Report {
    pub id: String,
    pub request_id: String,
    pub reporter_id: String,
    pub reported_id: String,
    pub reason: String,
    pub created_at: i64,
}

pub async fn open_reports(db: &Db) -> Result<Vec<Report>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, Report>(
        "SELECT id, request_id, reporter_id, reported_id, reason, created_at FROM aid_reports WHERE handled_at IS NULL \
         ORDER BY created_at"
    )
    .fetch_all(p)
    .await)?)
}
