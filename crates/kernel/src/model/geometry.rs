//! Plane geometry on lon/lat for areas: polygons with holes, point-in-polygon, bounding boxes,
//! and strict parsing of GeoJSON geometries. Done in Rust so SQLite and PostgreSQL agree.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub lon: f64,
    pub lat: f64,
}

/// Outer ring first, then holes. Rings are closed (first == last).
#[derive(Debug, Clone, PartialEq)]
pub struct Polygon(pub Vec<Vec<Point>>);

#[derive(Debug, Clone, PartialEq)]
pub struct MultiPolygon(pub Vec<Polygon>);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

impl BBox {
    pub fn contains(&self, p: Point) -> bool {
        p.lon >= self.min_lon && p.lon <= self.max_lon && p.lat >= self.min_lat && p.lat <= self.max_lat
    }
}

/// Even-odd rule on one ring; points exactly on an edge may fall either way.
fn ring_contains(ring: &[Point], p: Point) -> bool {
    let mut inside = false;
    let n = ring.len();
    if n < 4 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let (a, b) = (ring[i], ring[j]);
        if (a.lat > p.lat) != (b.lat > p.lat) {
            let x = (b.lon - a.lon) * (p.lat - a.lat) / (b.lat - a.lat) + a.lon;
            if p.lon < x {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

impl Polygon {
    pub fn contains(&self, p: Point) -> bool {
        match self.0.split_first() {
            Some((outer, holes)) => ring_contains(outer, p) && !holes.iter().any(|h| ring_contains(h, p)),
            None => false,
        }
    }
}

impl MultiPolygon {
    pub fn contains(&self, p: Point) -> bool {
        self.0.iter().any(|poly| poly.contains(p))
    }

    pub fn bbox(&self) -> BBox {
        let mut b = BBox {
            min_lon: f64::MAX,
            min_lat: f64::MAX,
            max_lon: f64::MIN,
            max_lat: f64::MIN,
        };
        for pt in self.0.iter().filter_map(|poly| poly.0.first()).flatten() {
            b.min_lon = b.min_lon.min(pt.lon);
            b.min_lat = b.min_lat.min(pt.lat);
            b.max_lon = b.max_lon.max(pt.lon);
            b.max_lat = b.max_lat.max(pt.lat);
        }
        b
    }

    /// Mean of the outer ring vertices (without the closing repeat): a label point, not a true centroid.
    pub fn label_point(&self) -> Option<Point> {
        let ring = &self.0.first()?.0.first()?;
        let pts = &ring[..ring.len().saturating_sub(1)];
        if pts.is_empty() {
            return None;
        }
        let n = pts.len() as f64;
        Some(Point {
            lon: pts.iter().map(|p| p.lon).sum::<f64>() / n,
            lat: pts.iter().map(|p| p.lat).sum::<f64>() / n,
        })
    }

    pub fn to_geojson(&self) -> Value {
        let poly = |p: &Polygon| -> Value {
            Value::Array(
                p.0.iter()
                    .map(|r| Value::Array(r.iter().map(|pt| serde_json::json!([pt.lon, pt.lat])).collect()))
                    .collect(),
            )
        };
        if self.0.len() == 1 {
            serde_json::json!({"type": "Polygon", "coordinates": poly(&self.0[0])})
        } else {
            serde_json::json!({"type": "MultiPolygon", "coordinates": self.0.iter().map(poly).collect::<Vec<_>>()})
        }
    }
}

/// Why a geometry was refused, in words a person importing a file can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct GeometryError(pub String);

impl std::fmt::Display for GeometryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(s: impl Into<String>) -> Result<T, GeometryError> {
    Err(GeometryError(s.into()))
}

fn parse_position(v: &Value) -> Result<Point, GeometryError> {
    let arr = match v.as_array() {
        Some(a) if a.len() >= 2 => a,
        _ => return err("a position must be an array [longitude, latitude]"),
    };
    let (lon, lat) = match (arr[0].as_f64(), arr[1].as_f64()) {
        (Some(lon), Some(lat)) => (lon, lat),
        _ => return err("a position must contain numbers"),
    };
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return err(format!(
            "position [{lon}, {lat}] is outside longitude -180..180 / latitude -90..90"
        ));
    }
    Ok(Point { lon, lat })
}

fn parse_polygon(v: &Value) -> Result<Polygon, GeometryError> {
    let rings = match v.as_array() {
        Some(r) if !r.is_empty() => r,
        _ => return err("a polygon must be a non-empty array of linear rings"),
    };
    let mut out = Vec::with_capacity(rings.len());
    for (ri, ring) in rings.iter().enumerate() {
        let pts = ring
            .as_array()
            .ok_or_else(|| GeometryError(format!("ring {ri} is not an array")))?
            .iter()
            .map(parse_position)
            .collect::<Result<Vec<_>, _>>()?;
        if pts.len() < 4 {
            return err(format!(
                "ring {ri} has {} positions; a linear ring needs at least 4",
                pts.len()
            ));
        }
        if pts.first() != pts.last() {
            return err(format!("ring {ri} is not closed (first and last positions differ)"));
        }
        out.push(pts);
    }
    Ok(Polygon(out))
}

/// Parse a GeoJSON geometry object of type Polygon or MultiPolygon.
pub fn parse_geometry(v: &Value) -> Result<MultiPolygon, GeometryError> {
    let kind = v.get("type").and_then(Value::as_str);
    let coords = v.get("coordinates");
    match (kind, coords) {
        (Some("Polygon"), Some(c)) => Ok(MultiPolygon(vec![parse_polygon(c)?])),
        (Some("MultiPolygon"), Some(c)) => {
            let polys = c.as_array().filter(|a| !a.is_empty());
            match polys {
                Some(ps) => Ok(MultiPolygon(ps.iter().map(parse_polygon).collect::<Result<_, _>>()?)),
                None => err("a MultiPolygon needs at least one polygon"),
            }
        }
        (Some(other @ ("Polygon" | "MultiPolygon")), None) => err(format!("{other} without coordinates")),
        (Some(other), _) => err(format!(
            "geometry type {other} is not an area; use Polygon or MultiPolygon"
        )),
        (None, _) => err("geometry has no type"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn square(x0: f64, y0: f64, s: f64) -> Value {
        json!({"type":"Polygon","coordinates":[[[x0,y0],[x0+s,y0],[x0+s,y0+s],[x0,y0+s],[x0,y0]]]})
    }

    #[test]
    fn point_in_square_and_hole() {
        let mut g = square(139.0, 35.0, 1.0);
        g["coordinates"].as_array_mut().unwrap().push(json!([
            [139.4, 35.4],
            [139.6, 35.4],
            [139.6, 35.6],
            [139.4, 35.6],
            [139.4, 35.4]
        ]));
        let mp = parse_geometry(&g).unwrap();
        assert!(mp.contains(Point { lon: 139.2, lat: 35.2 }));
        assert!(!mp.contains(Point { lon: 139.5, lat: 35.5 }), "inside the hole");
        assert!(!mp.contains(Point { lon: 141.0, lat: 35.5 }));
    }

    #[test]
    fn refuses_bad_geometry_with_reason() {
        let open = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]});
        assert!(parse_geometry(&open).unwrap_err().0.contains("not closed"));
        let short = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]});
        assert!(parse_geometry(&short).unwrap_err().0.contains("at least 4"));
        let point = json!({"type":"Point","coordinates":[0,0]});
        assert!(parse_geometry(&point).unwrap_err().0.contains("Point"));
        let far = json!({"type":"Polygon","coordinates":[[[0,0],[200,0],[1,1],[0,0]]]});
        assert!(parse_geometry(&far).unwrap_err().0.contains("outside"));
    }

    #[test]
    fn round_trips_geojson() {
        let mp = parse_geometry(&square(1.0, 2.0, 0.5)).unwrap();
        assert_eq!(parse_geometry(&mp.to_geojson()).unwrap(), mp);
    }

    proptest! {
        #[test]
        fn strictly_inside_square_is_contained(x0 in -170.0f64..170.0, y0 in -80.0f64..80.0, s in 0.001f64..5.0, fx in 0.01f64..0.99, fy in 0.01f64..0.99) {
            let mp = parse_geometry(&square(x0, y0, s)).unwrap();
            let p = Point { lon: x0 + fx * s, lat: y0 + fy * s };
            prop_assert!(mp.contains(p));
            prop_assert!(mp.bbox().contains(p));
            let outside = Point { lon: x0 + s * 1.5, lat: y0 + fy * s };
            prop_assert!(!mp.contains(outside));
        }
    }
}
