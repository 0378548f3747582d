//! Load the demo town into the database, in one transaction per table batch so 180,000
//! residents load in seconds.

use std::collections::HashMap;

use crate::demo::{DEMO_PASSWORD, DemoTown};
use crate::model::Id;
use crate::model::geometry::parse_geometry;
use crate::store::{Db, values_placeholders};
use crate::{Error, Kernel, Result, in_tx};

/// Rows per multi-row INSERT. Small statements keep the bind step cheap; the transaction
/// around a whole table is what makes the load fast.
const ROWS_PER_STATEMENT: usize = 64;

/// What was loaded, for the command's report.
#[derive(Debug, Default)]
pub struct Loaded {
    pub areas: usize,
    pub organisations: usize,
    pub households: usize,
    pub people: usize,
    pub logins: usize,
}

/// Refuse to load twice: the demo goes into an empty town only.
pub async fn is_loaded(db: &Db) -> Result<bool> {
    Ok(crate::store::people::count(db).await? > 0)
}

enum Val {
    S(Option<String>),
    I(i64),
    B(bool),
    F(f64),
}

fn s(v: &str) -> Val {
    Val::S(Some(v.to_string()))
}
fn os(v: &Option<String>) -> Val {
    Val::S(v.clone())
}

/// Insert `rows` into `table(columns)`: one transaction per table, statements of
/// `ROWS_PER_STATEMENT` rows (prepared once and reused), `progress(done)` every statement.
async fn insert_rows(
    db: &Db,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Val>>,
    progress: &mut dyn FnMut(usize),
) -> Result<()> {
    let full_sql = statement(table, columns, ROWS_PER_STATEMENT);
    let mut done = 0;
    in_tx!(db, |tx| {
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let sql = if chunk.len() == ROWS_PER_STATEMENT {
                full_sql.clone()
            } else {
                statement(table, columns, chunk.len())
            };
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for cell in chunk.iter().flatten() {
                q = match cell {
                    Val::S(x) => q.bind(x.clone()),
                    Val::I(x) => q.bind(*x),
                    Val::B(x) => q.bind(*x),
                    Val::F(x) => q.bind(*x),
                };
            }
            q.execute(&mut *tx).await?;
            done += chunk.len();
            progress(done);
        }
    });
    Ok(())
}

fn statement(table: &str, columns: &[&str], rows: usize) -> String {
    format!(
        "INSERT INTO {table} ({}) VALUES {}",
        columns.join(","),
        values_placeholders(rows, columns.len())
    )
}

/// Load `town` into an empty database. Fixed logins get accounts with the demo password.
pub async fn load(k: &Kernel, town: &DemoTown, mut progress: impl FnMut(&str, usize, usize)) -> Result<Loaded> {
    let now = k.now();
    let mut loaded = Loaded::default();
    let area_ids = load_areas(k, town, now, &mut loaded).await?;
    let org_ids = load_organisations(k, town, now, &area_ids, &mut loaded).await?;
    let (person_ids, logins) = load_households(k, town, now, &area_ids, &mut loaded, &mut progress).await?;
    load_email_consents(k, town, now, &person_ids).await?;
    load_memberships(k, town, now, &area_ids, &org_ids, &person_ids, &mut progress).await?;
    load_identifiers(k, town, now, &person_ids, &mut progress).await?;
    create_logins(k, &logins).await?;
    loaded.logins = logins.len();
    Ok(loaded)
}

/// An area's id by its code, as a cell (none without a code).
fn area(area_ids: &HashMap<&str, Id>, code: &Option<String>) -> Val {
    Val::S(code.as_deref().map(|c| area_ids[c].clone()))
}

/// The areas, parents first (the generator orders them so); their ids by code.
async fn load_areas<'t>(k: &Kernel, town: &'t DemoTown, now: i64, loaded: &mut Loaded) -> Result<HashMap<&'t str, Id>> {
    let mut area_ids: HashMap<&str, Id> = HashMap::new();
    let mut rows = Vec::new();
    for a in &town.areas {
        let id = k.new_id();
        let shape = parse_geometry(&a.geometry).map_err(|e| Error::Internal(format!("demo area {}: {e}", a.code)))?;
        let b = shape.bbox();
        let parent = a.parent_code.as_deref().map(|c| area_ids[c].clone());
        rows.push(vec![
            s(&id),
            s(&a.code),
            s(&a.name),
            os(&a.kana),
            s(a.level),
            Val::S(parent),
            s(&shape.to_geojson().to_string()),
            Val::F(b.min_lon),
            Val::F(b.min_lat),
            Val::F(b.max_lon),
            Val::F(b.max_lat),
            Val::I(now),
        ]);
        area_ids.insert(&a.code, id);
    }
    loaded.areas = rows.len();
    insert_rows(
        &k.db,
        "areas",
        &[
            "id",
            "code",
            "name",
            "kana",
            "level",
            "parent_id",
            "geometry",
            "min_lon",
            "min_lat",
            "max_lon",
            "max_lat",
            "created_at",
        ],
        rows,
        &mut |_| {},
    )
    .await?;
    Ok(area_ids)
}

/// The organisations; their ids by key.
async fn load_organisations<'t>(
    k: &Kernel,
    town: &'t DemoTown,
    now: i64,
    area_ids: &HashMap<&str, Id>,
    loaded: &mut Loaded,
) -> Result<HashMap<&'t str, Id>> {
    let mut org_ids: HashMap<&str, Id> = HashMap::new();
    let mut rows = Vec::new();
    for o in &town.organisations {
        let id = k.new_id();
        rows.push(vec![
            s(&id),
            s(o.kind),
            s(&o.name),
            area(area_ids, &o.area_code),
            s(&o.duties.join(",")),
            Val::I(now),
        ]);
        org_ids.insert(&o.key, id);
    }
    loaded.organisations = rows.len();
    insert_rows(
        &k.db,
        "organisations",
        &["id", "kind", "name", "area_id", "duties", "created_at"],
        rows,
        &mut |_| {},
    )
    .await?;

    Ok(org_ids)
}

/// The households, their people and who belongs where; the people's ids by key, and the logins.
async fn load_households<'t>(
    k: &Kernel,
    town: &'t DemoTown,
    now: i64,
    area_ids: &HashMap<&str, Id>,
    loaded: &mut Loaded,
    progress: &mut impl FnMut(&str, usize, usize),
) -> Result<(HashMap<&'t str, Id>, Vec<(Id, &'static str)>)> {
    let total = town.person_count();
    let mut person_ids: HashMap<&str, Id> = HashMap::with_capacity(total);
    let (mut people, mut households, mut members) = (Vec::with_capacity(total), Vec::new(), Vec::with_capacity(total));
    let mut logins = Vec::new();
    for h in &town.households {
        let hid = k.new_id();
        let chome = Some(h.area_code.clone());
        let mut rep = None;
        for (i, p) in h.members.iter().enumerate() {
            let pid = k.new_id();
            people.push(vec![
                s(&pid),
                s(&p.display_name),
                os(&p.kana),
                os(&p.birth_date),
                os(&p.phone),
                os(&p.email),
                Val::S(None),
                s(&h.address),
                area(area_ids, &chome),
                Val::B(p.needs_support),
                Val::I(now),
            ]);
            members.push(vec![s(&pid), s(&hid), os(&p.relation)]);
            if i == h.representative {
                rep = Some(pid.clone());
            }
            if let Some(login) = p.login {
                logins.push((pid.clone(), login));
            }
            person_ids.insert(&p.key, pid);
        }
        households.push(vec![
            s(&hid),
            s(&h.name),
            area(area_ids, &chome),
            s(&h.address),
            Val::S(rep),
            Val::I(now),
        ]);
    }
    loaded.households = households.len();
    loaded.people = people.len();
    insert_rows(
        &k.db,
        "households",
        &["id", "name", "area_id", "address", "representative_id", "created_at"],
        households,
        &mut |_| {},
    )
    .await?;
    insert_rows(
        &k.db,
        "people",
        &[
            "id",
            "display_name",
            "kana",
            "birth_date",
            "phone",
            "email",
            "language",
            "address",
            "area_id",
            "needs_support",
            "created_at",
        ],
        people,
        &mut |done| progress("people", done, total),
    )
    .await?;
    insert_rows(
        &k.db,
        "household_members",
        &["person_id", "household_id", "relation"],
        members,
        &mut |_| {},
    )
    .await?;

    Ok((person_ids, logins))
}

/// Demo residents who gave an e-mail address agreed to alerts by e-mail, as sign-up requires.
async fn load_email_consents(k: &Kernel, town: &DemoTown, now: i64, person_ids: &HashMap<&str, Id>) -> Result<()> {
    let consents: Vec<Vec<Val>> = town
        .people()
        .filter(|p| p.email.is_some())
        .map(|p| {
            let pid = &person_ids[p.key.as_str()];
            vec![
                s(&k.new_id()),
                s(pid),
                s("緊急情報・お知らせのメール配信"),
                s("email"),
                Val::I(now),
                s(pid),
                Val::B(false),
            ]
        })
        .collect();
    insert_rows(
        &k.db,
        "consents",
        &[
            "id",
            "person_id",
            "purpose",
            "scope",
            "granted_at",
            "granted_by",
            "by_guardian",
        ],
        consents,
        &mut |_| {},
    )
    .await?;

    Ok(())
}

/// The roles people hold in organisations.
async fn load_memberships(
    k: &Kernel,
    town: &DemoTown,
    now: i64,
    area_ids: &HashMap<&str, Id>,
    org_ids: &HashMap<&str, Id>,
    person_ids: &HashMap<&str, Id>,
    progress: &mut impl FnMut(&str, usize, usize),
) -> Result<()> {
    let rows = town
        .memberships
        .iter()
        .map(|m| {
            vec![
                s(&k.new_id()),
                s(&person_ids[m.person_key.as_str()]),
                s(&org_ids[m.org_key.as_str()]),
                s(m.role),
                area(area_ids, &m.area_code),
                Val::I(now),
            ]
        })
        .collect::<Vec<_>>();
    let n = rows.len();
    insert_rows(
        &k.db,
        "memberships",
        &["id", "person_id", "organisation_id", "role", "area_id", "created_at"],
        rows,
        &mut |d| progress("memberships", d, n),
    )
    .await?;

    Ok(())
}

/// The people's linked identifiers.
async fn load_identifiers(
    k: &Kernel,
    town: &DemoTown,
    now: i64,
    person_ids: &HashMap<&str, Id>,
    progress: &mut impl FnMut(&str, usize, usize),
) -> Result<()> {
    let rows = town
        .identifiers
        .iter()
        .map(|i| {
            vec![
                s(i.kind),
                s(&i.value),
                s(&person_ids[i.person_key.as_str()]),
                Val::I(now),
            ]
        })
        .collect::<Vec<_>>();
    let n = rows.len();
    insert_rows(
        &k.db,
        "linked_identifiers",
        &["kind", "value", "person_id", "created_at"],
        rows,
        &mut |d| progress("identifiers", d, n),
    )
    .await?;

    Ok(())
}

/// An account for each demo login, with the demo password.
async fn create_logins(k: &Kernel, logins: &[(Id, &'static str)]) -> Result<()> {
    // One argon2 hash per login: each gets its own salt.
    for (pid, login) in logins {
        let hash = crate::store::accounts::hash_password(DEMO_PASSWORD.to_string()).await?;
        crate::store::accounts::create_account(k, pid, login, &hash).await?;
    }
    Ok(())
}
