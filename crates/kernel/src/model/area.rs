//! Areas of the town: town → district → 町丁目, each with a polygon. Import from a GeoJSON
//! FeatureCollection is validated here in full before anything is stored.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::Id;
use super::geometry::{MultiPolygon, parse_geometry};

crate::text_enum!(
    /// The level of an area in the town's hierarchy.
    AreaLevel {
        Town = "town",
        District = "district",
        Chome = "chome",
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Area {
    pub id: Id,
    /// The town's own code for the area (for 町丁目 often the 全国地方公共団体コード plus a suffix).
    pub code: String,
    pub name: String,
    pub kana: Option<String>,
    pub level: AreaLevel,
    pub parent_id: Option<Id>,
    /// GeoJSON geometry (Polygon or MultiPolygon).
    #[schema(value_type = Object)]
    pub geometry: Value,
}

/// One feature of an import file, checked and ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaFeature {
    pub code: String,
    pub name: String,
    pub kana: Option<String>,
    pub level: AreaLevel,
    pub parent_code: Option<String>,
    pub shape: MultiPolygon,
}

/// The import refused feature `index` (0-based) for `reason`.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportError {
    pub index: Option<usize>,
    pub reason: String,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "feature {i}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// Parse and check a whole FeatureCollection. Properties: `code` and `name` required,
/// `level` (town / district / chome, default chome), `parent_code`, `kana` optional.
/// A parent must be defined earlier in the file or already exist (`known_codes`).
pub fn parse_feature_collection(doc: &Value, known_codes: &[String]) -> Result<Vec<AreaFeature>, ImportError> {
    let whole = |reason: &str| ImportError {
        index: None,
        reason: reason.to_string(),
    };
    if doc.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(whole("the file is not a GeoJSON FeatureCollection"));
    }
    let features = doc
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| whole("the FeatureCollection has no features array"))?;
    let mut seen: std::collections::HashSet<String> = known_codes.iter().cloned().collect();
    let mut new_codes = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let at = |reason: String| ImportError { index: Some(i), reason };
        let props = f
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| at("has no properties object".into()))?;
        let text = |k: &str| {
            props
                .get(k)
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .or_else(|| v.as_i64().map(|n| n.to_string()))
                })
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let code = text("code").ok_or_else(|| at("property code is missing".into()))?;
        let name = text("name").ok_or_else(|| at("property name is missing".into()))?;
        let level = match text("level") {
            None => AreaLevel::Chome,
            Some(l) => {
                AreaLevel::parse(&l).ok_or_else(|| at(format!("level {l} is not one of town, district, chome")))?
            }
        };
        let parent_code = text("parent_code");
        if parent_code.as_deref() == Some(code.as_str()) {
            return Err(at(format!("area {code} cannot be its own parent")));
        }
        if let Some(p) = &parent_code
            && !seen.contains(p)
        {
            return Err(at(format!("parent_code {p} is not defined before this feature")));
        }
        if !new_codes.insert(code.clone()) {
            return Err(at(format!("code {code} appears twice in the file")));
        }
        let geometry = f
            .get("geometry")
            .filter(|g| !g.is_null())
            .ok_or_else(|| at("has no geometry".into()))?;
        let shape = parse_geometry(geometry).map_err(|e| at(e.0))?;
        seen.insert(code.clone());
        out.push(AreaFeature {
            code,
            name,
            kana: text("kana"),
            level,
            parent_code,
            shape,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feature(code: &str, parent: Option<&str>) -> Value {
        json!({"type":"Feature","properties":{"code":code,"name":format!("area {code}"),"parent_code":parent},
               "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}})
    }

    #[test]
    fn parses_a_hierarchy() {
        let doc = json!({"type":"FeatureCollection","features":[feature("1", None), feature("1-1", Some("1"))]});
        let fs = parse_feature_collection(&doc, &[]).unwrap();
        assert_eq!(fs.len(), 2);
        assert_eq!(fs[1].parent_code.as_deref(), Some("1"));
    }

    #[test]
    fn names_the_bad_feature() {
        let mut bad = feature("2", None);
        bad["geometry"]["coordinates"][0].as_array_mut().unwrap().pop();
        let doc = json!({"type":"FeatureCollection","features":[feature("1", None), bad]});
        let e = parse_feature_collection(&doc, &[]).unwrap_err();
        assert_eq!(e.index, Some(1));
        assert!(e.to_string().starts_with("feature 1: ring 0"));

        let orphan = json!({"type":"FeatureCollection","features":[feature("1-1", Some("9"))]});
        assert!(
            parse_feature_collection(&orphan, &[])
                .unwrap_err()
                .reason
                .contains("parent_code 9")
        );
        assert!(parse_feature_collection(&orphan, &["9".into()]).is_ok());

        let own = json!({"type":"FeatureCollection","features":[feature("1", Some("1"))]});
        assert!(
            parse_feature_collection(&own, &["1".into()])
                .unwrap_err()
                .reason
                .contains("own parent")
        );

        let dup = json!({"type":"FeatureCollection","features":[feature("1", None), feature("1", None)]});
        assert!(
            parse_feature_collection(&dup, &[])
                .unwrap_err()
                .reason
                .contains("twice")
        );
        assert!(parse_feature_collection(&json!({"type":"Feature"}), &[]).is_err());
    }
}
