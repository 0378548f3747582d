//! Households and their members.

use crate::model::household::{Household, HouseholdInput, HouseholdMember, HouseholdWithMembers};
use crate::store::{Db, Tx};
use crate::{Error, Kernel, Result, on_db, on_tx};

const COLUMNS: &str = "id, name, area_id, address, representative_id, created_at";

pub async fn create(k: &Kernel, input: HouseholdInput) -> Result<Household> {
    let mut tx = k.db.begin().await?;
    let h = create_in(&mut tx, k, input).await?;
    tx.commit().await?;
    Ok(h)
}

/// `create` inside the caller's transaction (with the audit entry that records it, say).
pub async fn create_in(tx: &mut Tx, k: &Kernel, input: HouseholdInput) -> Result<Household> {
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(Error::invalid("person-name-missing"));
    }
    let area_id = crate::store::areas::resolve_in(tx, input.area_id.as_deref()).await?;
    let h = Household {
        id: k.new_id(),
        name,
        area_id,
        address: input.address,
        representative_id: None,
        created_at: k.now(),
    };
    let sql = format!("INSERT INTO households ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6)");
    on_tx!(tx, |t| sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(&h.id)
        .bind(&h.name)
        .bind(&h.area_id)
        .bind(&h.address)
        .bind(&h.representative_id)
        .bind(h.created_at)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(h)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Household>> {
    let sql = format!("SELECT {COLUMNS} FROM households WHERE id = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Household>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)?)
}

pub async fn require(db: &Db, id: &str) -> Result<Household> {
    get(db, id)
        .await?
        .ok_or_else(|| Error::not_found("household-not-found"))
}

pub async fn members(db: &Db, id: &str) -> Result<Vec<HouseholdMember>> {
    Ok(on_db!(db, |pool| sqlx::query_as::<_, HouseholdMember>(
        "SELECT m.household_id, m.person_id, p.display_name, m.relation FROM household_members m \
         JOIN people p ON p.id = m.person_id WHERE m.household_id = $1 ORDER BY p.id"
    )
    .bind(id)
    .fetch_all(pool)
    .await)?)
}

pub async fn with_members(db: &Db, id: &str) -> Result<HouseholdWithMembers> {
    let household = require(db, id).await?;
    let members = members(db, id).await?;
    Ok(HouseholdWithMembers { household, members })
}

/// Put a person in a household (moving them out of any other); optionally make them the
/// one who acts for it.
pub async fn add_member(
    db: &Db,
    household_id: &str,
    person_id: &str,
    relation: Option<&str>,
    representative: bool,
) -> Result<()> {
    let mut tx = db.begin().await?;
    add_member_in(&mut tx, household_id, person_id, relation, representative).await?;
    tx.commit().await
}

/// `add_member` inside the caller's transaction; the household may be one it just made.
pub async fn add_member_in(
    tx: &mut Tx,
    household_id: &str,
    person_id: &str,
    relation: Option<&str>,
    representative: bool,
) -> Result<()> {
    on_tx!(tx, |t| {
        let household: Option<String> = sqlx::query_scalar("SELECT id FROM households WHERE id = $1")
            .bind(household_id)
            .fetch_optional(&mut **t)
            .await?;
        if household.is_none() {
            return Err(Error::not_found("household-not-found"));
        }
        let active: Option<String> = sqlx::query_scalar("SELECT id FROM people WHERE id = $1 AND deleted_at IS NULL")
            .bind(person_id)
            .fetch_optional(&mut **t)
            .await?;
        if active.is_none() {
            return Err(Error::not_found("person-not-found"));
        }
        sqlx::query(
            "INSERT INTO household_members (person_id, household_id, relation) VALUES ($1,$2,$3) \
             ON CONFLICT (person_id) DO UPDATE SET household_id = excluded.household_id, relation = excluded.relation",
        )
        .bind(person_id)
        .bind(household_id)
        .bind(relation)
        .execute(&mut **t)
        .await?;
        if representative {
            sqlx::query("UPDATE households SET representative_id = $2 WHERE id = $1")
                .bind(household_id)
                .bind(person_id)
                .execute(&mut **t)
                .await?;
        }
    });
    Ok(())
}

pub async fn list(db: &Db, after: Option<&str>, limit: i64) -> Result<Vec<Household>> {
    let sql = format!("SELECT {COLUMNS} FROM households WHERE id > $1 ORDER BY id LIMIT $2");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Household>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(after.unwrap_or(""))
    .bind(limit)
    .fetch_all(pool)
    .await)?)
}
