//! People: create, read, edit, list by area.

use crate::model::Id;
use crate::model::person::{Person, PersonInput};
use crate::store::{Db, Tx};
use crate::{Error, Kernel, Result, on_db, on_tx};

const COLUMNS: &str =
    "id, display_name, kana, birth_date, phone, email, language, address, area_id, needs_support, created_at";

pub async fn create(k: &Kernel, input: PersonInput) -> Result<Person> {
    let mut tx = k.db.begin().await?;
    let p = create_in(&mut tx, k, input).await?;
    tx.commit().await?;
    Ok(p)
}

/// `create` inside the caller's transaction (with the audit entry that records it, say).
pub async fn create_in(tx: &mut Tx, k: &Kernel, input: PersonInput) -> Result<Person> {
    let mut input = input.validate().map_err(|e| Error::invalid(e.message_key()))?;
    // Areas may be given by id or code; rows always hold the id.
    input.area_id = crate::store::areas::resolve_in(tx, input.area_id.as_deref()).await?;
    let p = Person {
        id: k.new_id(),
        display_name: input.display_name,
        kana: input.kana,
        birth_date: input.birth_date,
        phone: input.phone,
        email: input.email,
        language: input.language,
        address: input.address,
        area_id: input.area_id,
        needs_support: input.needs_support,
        created_at: k.now(),
    };
    let sql = format!("INSERT INTO people ({COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)");
    on_tx!(tx, |t| sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(&p.id)
        .bind(&p.display_name)
        .bind(&p.kana)
        .bind(&p.birth_date)
        .bind(&p.phone)
        .bind(&p.email)
        .bind(&p.language)
        .bind(&p.address)
        .bind(&p.area_id)
        .bind(p.needs_support)
        .bind(p.created_at)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(p)
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Person>> {
    let sql = format!("SELECT {COLUMNS} FROM people WHERE id = $1");
    Ok(on_db!(db, |pool| sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(pool)
    .await)?)
}

/// Display names of several people in one query (for lists); the missing are left out.
pub async fn display_names(db: &Db, ids: &[&str]) -> Result<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(256) {
        let padded = crate::store::padded_len(chunk.len());
        let sql = format!(
            "SELECT id, display_name FROM people WHERE id IN ({})",
            crate::store::padded_in_list(1, chunk.len())
        );
        let rows: Vec<(String, String)> = on_db!(db, |pool| {
            let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql.as_str()));
            for i in 0..padded {
                q = q.bind(chunk[i.min(chunk.len() - 1)]);
            }
            q.fetch_all(pool).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

/// The language each of several people chose (for notices written in it); people who chose
/// none, or are missing, are left out: Japanese for them.
pub async fn languages(db: &Db, ids: &[&str]) -> Result<std::collections::HashMap<String, crate::i18n::Lang>> {
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(256) {
        let padded = crate::store::padded_len(chunk.len());
        let sql = format!(
            "SELECT id, language FROM people WHERE language IS NOT NULL AND id IN ({})",
            crate::store::padded_in_list(1, chunk.len())
        );
        let rows: Vec<(String, String)> = on_db!(db, |pool| {
            let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql.as_str()));
            for i in 0..padded {
                q = q.bind(chunk[i.min(chunk.len() - 1)]);
            }
            q.fetch_all(pool).await
        })?;
        out.extend(
            rows.into_iter()
                .map(|(id, tag)| (id, crate::i18n::Lang::from_tag(Some(&tag)))),
        );
    }
    Ok(out)
}

pub async fn require(db: &Db, id: &str) -> Result<Person> {
    get(db, id).await?.ok_or_else(|| Error::not_found("person-not-found"))
}

/// A person who may still be written to: a deleted account is never given new data.
pub async fn require_active(db: &Db, id: &str) -> Result<Person> {
    let deleted: Option<Option<i64>> = on_db!(db, |pool| sqlx::query_scalar(
        "SELECT deleted_at FROM people WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?;
    match deleted {
        Some(None) => require(db, id).await,
        _ => Err(Error::not_found("person-not-found")),
    }
}

pub async fn update(k: &Kernel, id: &str, input: PersonInput) -> Result<Person> {
    let mut tx = k.db.begin().await?;
    let p = update_in(&mut tx, id, input).await?;
    tx.commit().await?;
    Ok(p)
}

/// `update` inside the caller's transaction; returns the person as the transaction sees them.
pub async fn update_in(tx: &mut Tx, id: &str, input: PersonInput) -> Result<Person> {
    let mut input = input.validate().map_err(|e| Error::invalid(e.message_key()))?;
    // Areas may be given by id or code; rows always hold the id.
    input.area_id = crate::store::areas::resolve_in(tx, input.area_id.as_deref()).await?;
    let n = on_tx!(tx, |t| sqlx::query(
        "UPDATE people SET display_name=$2, kana=$3, birth_date=$4, phone=$5, email=$6, language=$7, address=$8, \
         area_id=$9, needs_support=$10 WHERE id=$1 AND deleted_at IS NULL"
    )
    .bind(id)
    .bind(&input.display_name)
    .bind(&input.kana)
    .bind(&input.birth_date)
    .bind(&input.phone)
    .bind(&input.email)
    .bind(&input.language)
    .bind(&input.address)
    .bind(&input.area_id)
    .bind(input.needs_support)
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::not_found("person-not-found"));
    }
    require_in(tx, id).await
}

/// `require_active` through the caller's transaction.
pub async fn require_active_in(tx: &mut Tx, id: &str) -> Result<Person> {
    let p = require_in(tx, id).await?;
    let deleted: Option<i64> = on_tx!(tx, |t| sqlx::query_scalar(
        "SELECT deleted_at FROM people WHERE id = $1"
    )
    .bind(id)
    .fetch_one(&mut **t)
    .await)?;
    match deleted {
        None => Ok(p),
        Some(_) => Err(Error::not_found("person-not-found")),
    }
}

/// `require` through the caller's transaction: sees what it wrote.
pub async fn require_in(tx: &mut Tx, id: &str) -> Result<Person> {
    let sql = format!("SELECT {COLUMNS} FROM people WHERE id = $1");
    on_tx!(tx, |t| sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?
    .ok_or_else(|| Error::not_found("person-not-found"))
}

/// People living in `area_id` or any area below it (or everyone), ordered by id, paged by `after`.
pub async fn list(db: &Db, area_id: Option<&str>, after: Option<&str>, limit: i64) -> Result<Vec<Person>> {
    let after = after.unwrap_or("");
    let rows = match area_id {
        Some(area) => {
            let sql = format!(
                "WITH RECURSIVE down(id, depth) AS (SELECT id, 0 FROM areas WHERE id = $1 \
                 UNION ALL SELECT a.id, down.depth + 1 FROM areas a JOIN down ON a.parent_id = down.id \
                 WHERE down.depth < 16) \
                 SELECT {COLUMNS} FROM people WHERE area_id IN (SELECT id FROM down) AND id > $2 ORDER BY id LIMIT $3"
            );
            on_db!(db, |pool| sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(
                sql.as_str()
            ))
            .bind(area)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await)?
        }
        None => {
            let sql = format!("SELECT {COLUMNS} FROM people WHERE id > $1 ORDER BY id LIMIT $2");
            on_db!(db, |pool| sqlx::query_as::<_, Person>(sqlx::AssertSqlSafe(
                sql.as_str()
            ))
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await)?
        }
    };
    Ok(rows)
}

pub async fn count(db: &Db) -> Result<i64> {
    Ok(on_db!(db, |pool| sqlx::query_scalar("SELECT COUNT(*) FROM people")
        .fetch_one(pool)
        .await)?)
}

/// The household a person belongs to, if any.
pub async fn household_of(db: &Db, person_id: &Id) -> Result<Option<Id>> {
    Ok(on_db!(db, |pool| sqlx::query_scalar(
        "SELECT household_id FROM household_members WHERE person_id = $1"
    )
    .bind(person_id)
    .fetch_optional(pool)
    .await)?)
}

pub async fn large_text(db: &Db, id: &str) -> Result<bool> {
    Ok(on_db!(db, |pool| sqlx::query_scalar(
        "SELECT large_text FROM people WHERE id = $1"
    )
    .bind(id)
    .fetch_optional(pool)
    .await)?
    .unwrap_or(false))
}

/// Display preferences: language (`ja` / `en`, None = follow the browser) and large text.
pub async fn set_prefs(db: &Db, id: &str, language: Option<&str>, large_text: bool) -> Result<()> {
    on_db!(db, |pool| sqlx::query(
        "UPDATE people SET language = $2, large_text = $3 WHERE id = $1"
    )
    .bind(id)
    .bind(language)
    .bind(large_text)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The name shown in place of a deleted account's.
pub const DELETED_NAME: &str = "(deleted)";

/// Delete an account: withdraw every consent, remove the personal fields, the login, tokens,
/// sessions, roles and household membership. The person's id stays so the audit trail keeps
/// its links, but nothing in it identifies them any more.
pub async fn delete_personal(k: &Kernel, id: &str) -> Result<()> {
    let mut tx = k.db.begin().await?;
    delete_personal_in(&mut tx, k, id).await?;
    tx.commit().await
}

/// `delete_personal` inside the caller's transaction (with the entry that records it).
pub async fn delete_personal_in(tx: &mut Tx, k: &Kernel, id: &str) -> Result<()> {
    let now = k.now();
    on_tx!(tx, |tx| {
        sqlx::query("UPDATE consents SET withdrawn_at = $2 WHERE person_id = $1 AND withdrawn_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "UPDATE people SET display_name = $2, kana = NULL, birth_date = NULL, phone = NULL, email = NULL, \
             language = NULL, address = NULL, area_id = NULL, needs_support = FALSE, large_text = FALSE, deleted_at = $3 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(DELETED_NAME)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL")
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        for table in [
            "sessions",
            "accounts",
            "memberships",
            "household_members",
            "linked_identifiers",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table} WHERE person_id = $1")))
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("UPDATE households SET representative_id = NULL WHERE representative_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        // A household left without members would still carry a family name and an address.
        sqlx::query(
            "DELETE FROM households WHERE id IN (SELECT h.id FROM households h \
             WHERE NOT EXISTS (SELECT 1 FROM household_members m WHERE m.household_id = h.id))",
        )
        .execute(&mut **tx)
        .await?;
    });
    Ok(())
}

/// The one person with this name (spaces ignored) and birth date, as family, care managers and
/// coordinators know them; None when nobody — or more than one — matches.
pub async fn find_by_name_and_birth(db: &Db, name: &str, birth_date: &str) -> Result<Option<Id>> {
    let name: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    let ids: Vec<String> = on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT id FROM people WHERE REPLACE(REPLACE(display_name, ' ', ''), '　', '') = $1 \
         AND birth_date = $2 AND deleted_at IS NULL LIMIT 2"
    )
    .bind(&name)
    .bind(birth_date.trim())
    .fetch_all(p)
    .await)?;
    Ok(if ids.len() == 1 { ids.into_iter().next() } else { None })
}

/// The name a person is shown by (empty for someone unknown), for notices and lists.
pub async fn display_name(db: &Db, id: &str) -> Result<String> {
    Ok(get(db, id).await?.map(|p| p.display_name).unwrap_or_default())
}
