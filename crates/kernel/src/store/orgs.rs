//! Organisations and memberships (roles).

use crate::model::org::{Membership, OrgKind, Organisation, OrganisationInput, Role};
use crate::model::policy::RoleGrant;
use crate::store::{Db, Tx};
use crate::{Error, Kernel, Result, on_db, on_tx};

#[derive(sqlx::FromRow)]
struct OrgRow {
    id: String,
    kind: String,
    name: String,
    area_id: Option<String>,
    duties: String,
    created_at: i64,
}

impl From<OrgRow> for Organisation {
    fn from(r: OrgRow) -> Self {
        Organisation {
            id: r.id,
            kind: OrgKind::parse(&r.kind).unwrap_or(OrgKind::Npo),
            name: r.name,
            area_id: r.area_id,
            duties: r
                .duties
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            created_at: r.created_at,
        }
    }
}

pub(crate) fn split_duties(s: &str) -> Vec<String> {
    s.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

pub async fn create(k: &Kernel, input: OrganisationInput) -> Result<Organisation> {
    let mut tx = k.db.begin().await?;
    let o = create_in(&mut tx, k, input).await?;
    tx.commit().await?;
    Ok(o)
}

/// `create` inside the caller's transaction (with the audit entry that records it, say).
pub async fn create_in(tx: &mut Tx, k: &Kernel, input: OrganisationInput) -> Result<Organisation> {
    let kind = OrgKind::parse(input.kind.trim())
        .ok_or_else(|| Error::invalid_with("organisation-kind-invalid", vec![("kind", input.kind.clone())]))?;
    let name = input.name.trim().to_string();
    if name.is_empty() {
        return Err(Error::invalid("organisation-name-missing"));
    }
    let area_id = crate::store::areas::resolve_in(tx, input.area_id.as_deref()).await?;
    let o = Organisation {
        id: k.new_id(),
        kind,
        name,
        area_id,
        duties: input
            .duties
            .iter()
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty())
            .collect(),
        created_at: k.now(),
    };
    on_tx!(tx, |t| sqlx::query(
        "INSERT INTO organisations (id, kind, name, area_id, duties, created_at) VALUES ($1,$2,$3,$4,$5,$6)"
    )
    .bind(&o.id)
    .bind(o.kind.as_str())
    .bind(&o.name)
    .bind(&o.area_id)
    .bind(o.duties.join(","))
    .bind(o.created_at)
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(o)
}

const COLUMNS: &str = "id, kind, name, area_id, duties, created_at";

pub async fn list(db: &Db) -> Result<Vec<Organisation>> {
    let sql = format!("SELECT {COLUMNS} FROM organisations ORDER BY kind, name");
    let rows = on_db!(db, |p| sqlx::query_as::<_, OrgRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .fetch_all(p)
        .await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Organisation>> {
    let sql = format!("SELECT {COLUMNS} FROM organisations WHERE id = $1");
    let row = on_db!(db, |p| sqlx::query_as::<_, OrgRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id)
        .fetch_optional(p)
        .await)?;
    Ok(row.map(Into::into))
}

pub async fn require(db: &Db, id: &str) -> Result<Organisation> {
    get(db, id)
        .await?
        .ok_or_else(|| Error::not_found("organisation-not-found"))
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    duties: String,
    id: String,
    person_id: String,
    organisation_id: String,
    kind: String,
    role: String,
    area_id: Option<String>,
    created_at: i64,
}

impl From<MembershipRow> for Membership {
    fn from(r: MembershipRow) -> Self {
        Membership {
            id: r.id,
            person_id: r.person_id,
            organisation_id: r.organisation_id,
            organisation_kind: OrgKind::parse(&r.kind).unwrap_or(OrgKind::Npo),
            role: Role::parse(&r.role).unwrap_or(Role::Resident),
            area_id: r.area_id,
            created_at: r.created_at,
            organisation_duties: split_duties(&r.duties),
        }
    }
}

const MEMBERSHIP_SELECT: &str = "SELECT m.id, m.person_id, m.organisation_id, o.kind, o.duties, m.role, m.area_id, m.created_at \
     FROM memberships m JOIN organisations o ON o.id = m.organisation_id";

pub async fn add_membership(
    k: &Kernel,
    person_id: &str,
    organisation_id: &str,
    role: &str,
    area_id: Option<&str>,
) -> Result<Membership> {
    let mut tx = k.db.begin().await?;
    let m = add_membership_in(&mut tx, k, person_id, organisation_id, role, area_id).await?;
    tx.commit().await?;
    Ok(m)
}

/// `add_membership` inside the caller's transaction (with the audit entry that records it, say).
pub async fn add_membership_in(
    tx: &mut Tx,
    k: &Kernel,
    person_id: &str,
    organisation_id: &str,
    role: &str,
    area_id: Option<&str>,
) -> Result<Membership> {
    let role = Role::parse(role.trim())
        .ok_or_else(|| Error::invalid_with("role-invalid", vec![("role", role.to_string())]))?;
    crate::store::people::require_active_in(tx, person_id).await?;
    let sql = format!("SELECT {COLUMNS} FROM organisations WHERE id = $1");
    let org: Organisation = on_tx!(tx, |t| sqlx::query_as::<_, OrgRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(organisation_id)
        .fetch_optional(&mut **t)
        .await)?
    .map(Into::into)
    .ok_or_else(|| Error::not_found("organisation-not-found"))?;
    let area_id = crate::store::areas::resolve_in(tx, area_id).await?;
    let m = Membership {
        id: k.new_id(),
        person_id: person_id.to_string(),
        organisation_id: org.id,
        organisation_kind: org.kind,
        role,
        area_id,
        created_at: k.now(),
        organisation_duties: org.duties.clone(),
    };
    let r = on_tx!(tx, |t| {
        sqlx::query(
        "INSERT INTO memberships (id, person_id, organisation_id, role, area_id, created_at) VALUES ($1,$2,$3,$4,$5,$6)"
    )
    .bind(&m.id)
    .bind(&m.person_id)
    .bind(&m.organisation_id)
    .bind(m.role.as_str())
    .bind(&m.area_id)
    .bind(m.created_at)
    .execute(&mut **t)
    .await.map(|r| r.rows_affected())
    });
    match r {
        Ok(_) => Ok(m),
        Err(e) if Error::is_unique_violation(&e) => Err(Error::conflict("membership-exists", vec![])),
        Err(e) => Err(e.into()),
    }
}

pub async fn get_membership(db: &Db, id: &str) -> Result<Option<Membership>> {
    let sql = format!("{MEMBERSHIP_SELECT} WHERE m.id = $1");
    let row = on_db!(db, |p| sqlx::query_as::<_, MembershipRow>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(p)
    .await)?;
    Ok(row.map(Into::into))
}

/// Remove a membership inside the caller's transaction; returns what was removed, if it existed.
pub async fn remove_membership_in(tx: &mut Tx, id: &str) -> Result<Option<Membership>> {
    let sql = format!("{MEMBERSHIP_SELECT} WHERE m.id = $1");
    let found = on_tx!(tx, |t| sqlx::query_as::<_, MembershipRow>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(id)
    .fetch_optional(&mut **t)
    .await)?;
    let Some(m) = found.map(Membership::from) else {
        return Ok(None);
    };
    let n = on_tx!(tx, |t| sqlx::query("DELETE FROM memberships WHERE id = $1")
        .bind(id)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
    // Removed meanwhile by someone else: their removal has its own entry.
    Ok((n > 0).then_some(m))
}

pub async fn memberships_of(db: &Db, person_id: &str) -> Result<Vec<Membership>> {
    let sql = format!("{MEMBERSHIP_SELECT} WHERE m.person_id = $1 ORDER BY m.created_at, m.id");
    let rows = on_db!(db, |p| sqlx::query_as::<_, MembershipRow>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(person_id)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn members_of(db: &Db, organisation_id: &str) -> Result<Vec<Membership>> {
    let sql = format!("{MEMBERSHIP_SELECT} WHERE m.organisation_id = $1 ORDER BY m.role, m.person_id");
    let rows = on_db!(db, |p| sqlx::query_as::<_, MembershipRow>(sqlx::AssertSqlSafe(
        sql.as_str()
    ))
    .bind(organisation_id)
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub fn grants(memberships: &[Membership]) -> Vec<RoleGrant> {
    memberships
        .iter()
        .map(|m| RoleGrant {
            role: m.role,
            organisation_id: m.organisation_id.clone(),
            organisation_kind: m.organisation_kind,
            area_id: m.area_id.clone(),
            duties: m.organisation_duties.clone(),
        })
        .collect()
}

/// The staff of the city departments that hold `duty` (`alerts`, `watch`, `aid`, …), sorted.
pub async fn duty_staff(db: &Db, duty: &str) -> Result<Vec<String>> {
    staff_holding(db, duty, false).await
}

/// Staff whose organisation holds `duty`, the city's or a commissioned NPO's (see
/// `Actor::is_commissioned_for`).
pub async fn commissioned_staff(db: &Db, duty: &str) -> Result<Vec<String>> {
    staff_holding(db, duty, true).await
}

async fn staff_holding(db: &Db, duty: &str, npo_too: bool) -> Result<Vec<String>> {
    let rows: Vec<(String, String)> = on_db!(db, |p| {
        sqlx::query_as(
        "SELECT DISTINCT m.person_id, o.duties FROM memberships m JOIN organisations o ON o.id = m.organisation_id \
         JOIN people pe ON pe.id = m.person_id WHERE m.role = 'staff' AND (o.kind = 'department' OR (o.kind = 'npo' AND $1 = 1)) \
         AND pe.deleted_at IS NULL"
    )
    .bind(i64::from(npo_too))
    .fetch_all(p)
    .await
    })?;
    let mut out: Vec<String> = rows
        .into_iter()
        .filter(|(_, duties)| duties.split(',').any(|d| d.trim() == duty))
        .map(|(person, _)| person)
        .collect();
    out.sort();
    Ok(out)
}
