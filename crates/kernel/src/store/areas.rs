//! Areas: import from GeoJSON in one transaction, lookup by id or code, ancestry, and
//! point-in-area (bounding box in SQL, exact test in Rust).

use serde_json::Value;

use crate::model::Id;
use crate::model::area::{Area, AreaFeature, AreaLevel, parse_feature_collection};
use crate::model::geometry::{Point, parse_geometry};
use crate::store::{Db, Tx};
use crate::{Error, Kernel, Result, on_db, on_tx};

#[derive(sqlx::FromRow)]
struct AreaRow {
    id: String,
    code: String,
    name: String,
    kana: Option<String>,
    level: String,
    parent_id: Option<String>,
    geometry: String,
}

impl AreaRow {
    fn into_area(self) -> Result<Area> {
        Ok(Area {
            level: AreaLevel::parse(&self.level).ok_or_else(|| Error::Internal(format!("bad level {}", self.level)))?,
            geometry: serde_json::from_str(&self.geometry).map_err(|e| Error::Internal(e.to_string()))?,
            id: self.id,
            code: self.code,
            name: self.name,
            kana: self.kana,
            parent_id: self.parent_id,
        })
    }
}

const COLUMNS: &str = "id, code, name, kana, level, parent_id, geometry";

pub async fn list(db: &Db) -> Result<Vec<Area>> {
    let sql = format!("SELECT {COLUMNS} FROM areas ORDER BY code");
    let rows = on_db!(db, |p| sqlx::query_as::<_, AreaRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .fetch_all(p)
        .await)?;
    rows.into_iter().map(AreaRow::into_area).collect()
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Area>> {
    let sql = format!("SELECT {COLUMNS} FROM areas WHERE id = $1 OR code = $1");
    let row = on_db!(db, |p| sqlx::query_as::<_, AreaRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id)
        .fetch_optional(p)
        .await)?;
    row.map(AreaRow::into_area).transpose()
}

pub async fn require(db: &Db, id: &str) -> Result<Area> {
    get(db, id)
        .await?
        .ok_or_else(|| Error::invalid_with("area-unknown", vec![("area", id.to_string())]))
}

/// An area given by id or code → its id (None stays None); unknown → 400 naming it.
pub async fn resolve(db: &Db, id_or_code: Option<&str>) -> Result<Option<Id>> {
    match id_or_code {
        Some(a) => Ok(Some(require(db, a).await?.id)),
        None => Ok(None),
    }
}

/// `resolve` through the caller's transaction: a transaction that waits for no other connection
/// while it holds the write lock (SQLite) cannot be starved by those waiting for that lock.
pub async fn resolve_in(tx: &mut Tx, id_or_code: Option<&str>) -> Result<Option<Id>> {
    match id_or_code {
        Some(a) => Ok(Some(require_in(tx, a).await?.id)),
        None => Ok(None),
    }
}

pub async fn require_in(tx: &mut Tx, id: &str) -> Result<Area> {
    get_in(tx, id)
        .await?
        .ok_or_else(|| Error::invalid_with("area-unknown", vec![("area", id.to_string())]))
}

pub async fn get_in(tx: &mut Tx, id: &str) -> Result<Option<Area>> {
    let sql = format!("SELECT {COLUMNS} FROM areas WHERE id = $1 OR code = $1");
    let row = on_tx!(tx, |t| sqlx::query_as::<_, AreaRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id)
        .fetch_optional(&mut **t)
        .await)?;
    row.map(AreaRow::into_area).transpose()
}

/// The area and all its ancestors, nearest first: what the policy needs for scoped roles.
pub async fn path(db: &Db, id: Option<&str>) -> Result<Vec<Id>> {
    let Some(id) = id else { return Ok(Vec::new()) };
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "WITH RECURSIVE up(id, parent_id, depth) AS (SELECT id, parent_id, 0 FROM areas WHERE id = $1 \
         UNION ALL SELECT a.id, a.parent_id, up.depth + 1 FROM areas a JOIN up ON a.id = up.parent_id \
         WHERE up.depth < 16) \
         SELECT id FROM up ORDER BY depth"
    )
    .bind(id)
    .fetch_all(p)
    .await)?)
}

/// The most specific area containing the point (町丁目 before district before town).
pub async fn at_point(db: &Db, pt: Point) -> Result<Option<Area>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM areas WHERE min_lon <= $1 AND max_lon >= $1 AND min_lat <= $2 AND max_lat >= $2"
    );
    let rows = on_db!(db, |p| sqlx::query_as::<_, AreaRow>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(pt.lon)
        .bind(pt.lat)
        .fetch_all(p)
        .await)?;
    let mut best: Option<Area> = None;
    for row in rows {
        let area = row.into_area()?;
        let shape = parse_geometry(&area.geometry).map_err(|e| Error::Internal(e.0))?;
        if shape.contains(pt) && best.as_ref().is_none_or(|b| rank(area.level) > rank(b.level)) {
            best = Some(area);
        }
    }
    Ok(best)
}

fn rank(l: AreaLevel) -> u8 {
    match l {
        AreaLevel::Town => 0,
        AreaLevel::District => 1,
        AreaLevel::Chome => 2,
    }
}

pub async fn codes(db: &Db) -> Result<Vec<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar::<_, String>(
        "SELECT code FROM areas"
    )
    .fetch_all(p)
    .await)?)
}

/// Import a GeoJSON FeatureCollection. All or nothing: a bad feature is reported with its
/// index and nothing is stored. Features whose code exists are updated in place.
/// `progress` is called after each stored feature with (done, total). In the caller's
/// transaction, which records the import in the audit log before it commits.
pub async fn import_in(tx: &mut Tx, k: &Kernel, doc: &Value, mut progress: impl FnMut(usize, usize)) -> Result<usize> {
    let known: Vec<String> = on_tx!(tx, |t| sqlx::query_scalar::<_, String>("SELECT code FROM areas")
        .fetch_all(&mut **t)
        .await)?;
    let features = parse_feature_collection(doc, &known)
        .map_err(|e| Error::invalid_with("areas-import-invalid", vec![("detail", e.to_string())]))?;
    let total = features.len();
    let now = k.now();
    let ids: Vec<Id> = features.iter().map(|_| k.new_id()).collect();
    on_tx!(tx, |tx| {
        for (i, (f, new_id)) in features.iter().zip(&ids).enumerate() {
            let parent_id: Option<String> = match &f.parent_code {
                Some(code) => {
                    sqlx::query_scalar("SELECT id FROM areas WHERE code = $1")
                        .bind(code)
                        .fetch_optional(&mut **tx)
                        .await?
                }
                None => None,
            };
            let (geometry, b) = geometry_columns(f);
            sqlx::query(
                "INSERT INTO areas (id, code, name, kana, level, parent_id, geometry, min_lon, min_lat, max_lon, max_lat, created_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) \
                 ON CONFLICT (code) DO UPDATE SET name = excluded.name, kana = excluded.kana, level = excluded.level, \
                 parent_id = excluded.parent_id, geometry = excluded.geometry, min_lon = excluded.min_lon, \
                 min_lat = excluded.min_lat, max_lon = excluded.max_lon, max_lat = excluded.max_lat",
            )
            .bind(new_id)
            .bind(&f.code)
            .bind(&f.name)
            .bind(&f.kana)
            .bind(f.level.as_str())
            .bind(parent_id)
            .bind(geometry)
            .bind(b.min_lon)
            .bind(b.min_lat)
            .bind(b.max_lon)
            .bind(b.max_lat)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            progress(i + 1, total);
        }
    });
    Ok(total)
}

fn geometry_columns(f: &AreaFeature) -> (String, crate::model::geometry::BBox) {
    (f.shape.to_geojson().to_string(), f.shape.bbox())
}
