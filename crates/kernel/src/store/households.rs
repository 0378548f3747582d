//! Households and their members.

use crate::model::household::{Household, HouseholdInput, HouseholdMember, HouseholdWithMembers};
use crate::store::Db;
use crate::{Error, Kernel, Result, in_tx, on_db};

const COLUMNS: &str = "id, name, area_id, address, representative_id, created_at";

pub async fn create(k: &Kernel, input: HouseholdInput) -> Result<Household> {
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(Error::invalid("person-name-missing"));
    }
    let area_id = crate::store::areas::resolve(&k.db, input.area_id.as_deref()).await?;
    let h = Household {
        id: k.new_id(),
        name,
        area_id,
        address: input.address,
        representative_id: None,
        created_at: k.now(),
    };
    let sql = format!("INSERT INTO households ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6)");
    on_db!(&k.db, |pool| sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(&h.id)
        .bind(&h.name)
        .bind(&h.area_id)
        .bind(&h.address)
        .bind(&h.representative_id)
        .bind(h.created_at)
        .execute(pool)
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
    require(db, household_id).await?;
    crate::store::people::require_active(db, person_id).await?;
    in_tx!(db, |tx| {
        sqlx::query(
            "INSERT INTO household_members (person_id, household_id, relation) VALUES ($1,$2,$3) \
             ON CONFLICT (person_id) DO UPDATE SET household_id = excluded.household_id, relation = excluded.relation",
        )
        .bind(person_id)
        .bind(household_id)
        .bind(relation)
        .execute(&mut *tx)
        .await?;
        if representative {
            sqlx::query("UPDATE households SET representative_id = $2 WHERE id = $1")
                .bind(household_id)
                .bind(person_id)
                .execute(&mut *tx)
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
