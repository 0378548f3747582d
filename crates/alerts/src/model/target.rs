//! Which of the town's areas an alert reaches. CAP areas name places three ways: polygons,
//! circles and geocodes (area codes such as the 全国地方公共団体コード). Everything resolves to
//! the town's smallest areas (町丁目), which is what people, households and devices belong to.

use std::collections::BTreeSet;

use kernel::model::geometry::{MultiPolygon, Point};

/// One of the town's areas, as targeting needs it.
#[derive(Debug, Clone)]
pub struct TownArea {
    pub id: String,
    pub code: String,
    pub parent_id: Option<String>,
    /// Areas with no children (町丁目) are what alerts finally target.
    pub is_leaf: bool,
    pub shape: MultiPolygon,
}

/// A group of people an alert may be limited to, besides its areas. Named in CAP by an
/// `<info><parameter>` whose valueName is [`GROUP_PARAMETER`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// Residents registered as needing support in a disaster (要支援者).
    NeedsSupport,
    /// Members of one neighbourhood association (自治会・町内会), by organisation id.
    Association(String),
}

/// The CAP parameter naming a group: `<parameter><valueName>machi-group</valueName><value>needs-support</value></parameter>`.
pub const GROUP_PARAMETER: &str = "machi-group";
/// The geocode valueName of the town's own area codes: an unknown code under it is a mistake, not
/// an alert for somewhere else.
pub const AREA_GEOCODE: &str = "machi-area";

impl Group {
    /// `needs-support` or `association:<organisation id>`.
    pub fn parse(s: &str) -> Option<Group> {
        match s.trim() {
            "needs-support" => Some(Group::NeedsSupport),
            other => other
                .strip_prefix("association:")
                .map(str::trim)
                .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .map(|id| Group::Association(id.to_string())),
        }
    }

    pub fn as_string(&self) -> String {
        match self {
            Group::NeedsSupport => "needs-support".into(),
            Group::Association(id) => format!("association:{id}"),
        }
    }
}

/// The groups an alert names, or the first value that is not a group.
pub fn groups_named<'a>(parameters: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Vec<Group>, String> {
    let mut out = Vec::new();
    for (name, value) in parameters {
        if name == GROUP_PARAMETER {
            let g = Group::parse(value).ok_or_else(|| value.to_string())?;
            if !out.contains(&g) {
                out.push(g);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Does a person in the alert's areas belong to its groups? No groups means everyone in the areas.
pub fn person_in_groups(groups: &[String], person_groups: &[String]) -> bool {
    groups.is_empty() || groups.iter().any(|g| person_groups.contains(g))
}

/// A CAP area reduced to geometry and codes. Polygons and circles are (lat, lon) as CAP writes them.
#[derive(Debug, Clone, Default)]
pub struct Target {
    pub polygons: Vec<Vec<(f64, f64)>>,
    pub circles: Vec<(f64, f64, f64)>,
    pub codes: Vec<String>,
}

const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in kilometres.
pub fn distance_km(a: Point, b: Point) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
}

/// Even-odd point-in-polygon for a CAP polygon given as (lat, lon).
fn cap_polygon_contains(poly: &[(f64, f64)], p: Point) -> bool {
    let mut inside = false;
    let n = poly.len();
    if n < 4 {
        return false;
    }
    let mut j = n - 1;
    for i in 0..n {
        let ((ai_lat, ai_lon), (aj_lat, aj_lon)) = (poly[i], poly[j]);
        if (ai_lat > p.lat) != (aj_lat > p.lat) {
            let x = (aj_lon - ai_lon) * (p.lat - ai_lat) / (aj_lat - ai_lat) + ai_lon;
            if p.lon < x {
                inside = !inside;
            }
        }
        j = i;
    }
    inside
}

/// Local flat projection to kilometres around `lat0`: exact enough at town scale.
fn project(p: Point, lat0: f64) -> (f64, f64) {
    (p.lon * lat0.to_radians().cos() * 111.320, p.lat * 110.574)
}

/// The outer-ring edges of an area, as pairs of points.
fn edges(shape: &MultiPolygon) -> Vec<(Point, Point)> {
    shape
        .0
        .iter()
        .filter_map(|poly| poly.0.first())
        .flat_map(|ring| ring.windows(2).map(|w| (w[0], w[1])))
        .collect()
}

fn cross(o: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
}

/// Do segments ab and cd cross or touch (in the plane)?
fn segments_meet(a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64)) -> bool {
    let (d1, d2, d3, d4) = (cross(c, d, a), cross(c, d, b), cross(a, b, c), cross(a, b, d));
    if ((d1 > 0.0 && d2 < 0.0) || (d1 < 0.0 && d2 > 0.0)) && ((d3 > 0.0 && d4 < 0.0) || (d3 < 0.0 && d4 > 0.0)) {
        return true;
    }
    let on = |p: (f64, f64), q: (f64, f64), r: (f64, f64), v: f64| {
        v == 0.0 && r.0 >= p.0.min(q.0) && r.0 <= p.0.max(q.0) && r.1 >= p.1.min(q.1) && r.1 <= p.1.max(q.1)
    };
    on(c, d, a, d1) || on(c, d, b, d2) || on(a, b, c, d3) || on(a, b, d, d4)
}

/// Distance from p to segment ab, all projected (km).
fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    let (x, y) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - x).powi(2) + (p.1 - y).powi(2)).sqrt()
}

/// The shapes overlap: a vertex of one inside the other, or edges crossing.
fn polygon_reaches(poly: &[(f64, f64)], area: &TownArea) -> bool {
    let area_edges = edges(&area.shape);
    if area_edges.iter().any(|(a, _)| cap_polygon_contains(poly, *a))
        || poly
            .iter()
            .any(|(lat, lon)| area.shape.contains(Point { lon: *lon, lat: *lat }))
    {
        return true;
    }
    let lat0 = poly.first().map(|p| p.0).unwrap_or(0.0);
    let pp = |(lat, lon): (f64, f64)| project(Point { lon, lat }, lat0);
    poly.windows(2).any(|w| {
        let (c, d) = (pp(w[0]), pp(w[1]));
        area_edges
            .iter()
            .any(|(a, b)| segments_meet(project(*a, lat0), project(*b, lat0), c, d))
    })
}

/// The circle's centre is in the area, or some edge of the area comes within the radius.
fn circle_reaches(lat: f64, lon: f64, radius_km: f64, area: &TownArea) -> bool {
    let centre = Point { lon, lat };
    if area.shape.contains(centre) {
        return true;
    }
    let c = project(centre, lat);
    edges(&area.shape)
        .iter()
        .any(|(a, b)| segment_distance(c, project(*a, lat), project(*b, lat)) <= radius_km)
}

/// The leaf areas (町丁目) the targets reach, by id, sorted.
pub fn resolve(targets: &[Target], areas: &[TownArea]) -> BTreeSet<String> {
    let mut hit: BTreeSet<String> = BTreeSet::new();
    // Codes name any level; a district or the town means every 町丁目 below it.
    let mut named: Vec<&str> = Vec::new();
    for t in targets {
        for code in &t.codes {
            named.extend(areas.iter().filter(|a| &a.code == code).map(|a| a.id.as_str()));
        }
    }
    for a in areas.iter().filter(|a| a.is_leaf) {
        if is_below_any(a, &named, areas) {
            hit.insert(a.id.clone());
            continue;
        }
        let geometric = targets.iter().any(|t| {
            t.polygons.iter().any(|poly| polygon_reaches(poly, a))
                || t.circles.iter().any(|(lat, lon, r)| circle_reaches(*lat, *lon, *r, a))
        });
        if geometric {
            hit.insert(a.id.clone());
        }
    }
    hit
}

/// Is `a` one of `ids` or below one of them?
fn is_below_any(a: &TownArea, ids: &[&str], areas: &[TownArea]) -> bool {
    let mut current = Some(a);
    let mut steps = 0;
    while let Some(c) = current {
        if ids.contains(&c.id.as_str()) {
            return true;
        }
        steps += 1;
        if steps > 16 {
            return false;
        }
        current = c.parent_id.as_deref().and_then(|p| areas.iter().find(|x| x.id == p));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use kernel::model::geometry::parse_geometry;
    use proptest::prelude::*;
    use serde_json::json;

    /// A rectangular area; `b` is (west, south, east, north).
    fn rect(id: &str, code: &str, parent: Option<&str>, leaf: bool, b: (f64, f64, f64, f64)) -> TownArea {
        let (x0, y0, x1, y1) = b;
        let g = json!({"type":"Polygon","coordinates":[[[x0,y0],[x1,y0],[x1,y1],[x0,y1],[x0,y0]]]});
        TownArea {
            id: id.into(),
            code: code.into(),
            parent_id: parent.map(Into::into),
            is_leaf: leaf,
            shape: parse_geometry(&g).unwrap(),
        }
    }

    /// Town T (139.0–139.4 × 35.0–35.1) with district D1 (west half: A, B) and D2 (east: C, D).
    fn town() -> Vec<TownArea> {
        vec![
            rect("T", "13999", None, false, (139.0, 35.0, 139.4, 35.1)),
            rect("D1", "13999-1", Some("T"), false, (139.0, 35.0, 139.2, 35.1)),
            rect("D2", "13999-2", Some("T"), false, (139.2, 35.0, 139.4, 35.1)),
            rect("A", "13999-1-01", Some("D1"), true, (139.0, 35.0, 139.1, 35.1)),
            rect("B", "13999-1-02", Some("D1"), true, (139.1, 35.0, 139.2, 35.1)),
            rect("C", "13999-2-01", Some("D2"), true, (139.2, 35.0, 139.3, 35.1)),
            rect("D", "13999-2-02", Some("D2"), true, (139.3, 35.0, 139.4, 35.1)),
        ]
    }

    fn ids(s: BTreeSet<String>) -> Vec<String> {
        s.into_iter().collect()
    }

    #[test]
    fn codes_reach_every_block_below_them() {
        let t = Target {
            codes: vec!["13999-1".into()],
            ..Default::default()
        };
        assert_eq!(ids(resolve(&[t], &town())), vec!["A", "B"]);
        let t = Target {
            codes: vec!["13999".into()],
            ..Default::default()
        };
        assert_eq!(resolve(&[t], &town()).len(), 4);
        let t = Target {
            codes: vec!["99999".into()],
            ..Default::default()
        };
        assert!(
            resolve(&[t], &town()).is_empty(),
            "an alert for elsewhere reaches nobody here"
        );
    }

    #[test]
    fn polygons_and_circles_reach_by_geometry() {
        // A small polygon inside block C only.
        let poly = vec![
            (35.04, 139.24),
            (35.04, 139.26),
            (35.06, 139.26),
            (35.06, 139.24),
            (35.04, 139.24),
        ];
        let t = Target {
            polygons: vec![poly],
            ..Default::default()
        };
        assert_eq!(ids(resolve(&[t], &town())), vec!["C"]);
        // A circle centred in A; B's western edge (139.1) is ~4.6 km east of 139.05 at 35°N.
        let t = Target {
            circles: vec![(35.05, 139.05, 1.0)],
            ..Default::default()
        };
        assert_eq!(ids(resolve(&[t], &town())), vec!["A"]);
        let t = Target {
            circles: vec![(35.05, 139.05, 6.0)],
            ..Default::default()
        };
        assert_eq!(ids(resolve(&[t], &town())), vec!["A", "B"]);
        // A polygon covering the whole town reaches every block.
        let big = vec![
            (34.0, 138.0),
            (34.0, 140.0),
            (36.0, 140.0),
            (36.0, 138.0),
            (34.0, 138.0),
        ];
        assert_eq!(
            resolve(
                &[Target {
                    polygons: vec![big],
                    ..Default::default()
                }],
                &town()
            )
            .len(),
            4
        );
    }

    #[test]
    fn groups_parse_and_unknown_ones_are_named() {
        assert_eq!(Group::parse("needs-support"), Some(Group::NeedsSupport));
        assert_eq!(
            Group::parse("association:org-1"),
            Some(Group::Association("org-1".into()))
        );
        assert_eq!(Group::parse("association:"), None);
        assert_eq!(Group::parse("association:a b"), None);
        assert_eq!(Group::parse("everyone"), None);
        let named = groups_named([
            ("machi-group", "needs-support"),
            ("other", "whatever"),
            ("machi-group", "needs-support"),
        ]);
        assert_eq!(named, Ok(vec![Group::NeedsSupport]));
        assert_eq!(
            groups_named([("machi-group", "needs-support"), ("machi-group", "kids")]),
            Err("kids".to_string())
        );
        assert!(person_in_groups(&[], &[]));
        assert!(person_in_groups(
            &["needs-support".into()],
            &["a".into(), "needs-support".into()]
        ));
        assert!(!person_in_groups(&["needs-support".into()], &["association:x".into()]));
    }

    #[test]
    fn distance_is_plausible() {
        let tokyo = Point {
            lon: 139.767,
            lat: 35.681,
        };
        let osaka = Point {
            lon: 135.500,
            lat: 34.733,
        };
        let d = distance_km(tokyo, osaka);
        assert!((395.0..405.0).contains(&d), "{d}");
    }

    proptest! {
        #[test]
        fn a_group_written_out_reads_back(id in "[a-zA-Z0-9_-]{1,24}", support in any::<bool>()) {
            let g = if support { Group::NeedsSupport } else { Group::Association(id) };
            prop_assert_eq!(Group::parse(&g.as_string()), Some(g));
        }

        #[test]
        fn a_circle_around_a_blocks_centre_always_reaches_it(i in 0usize..4, r in 0.01f64..20.0) {
            let areas = town();
            let leaf = areas.iter().filter(|a| a.is_leaf).nth(i).unwrap();
            let c = leaf.shape.label_point().unwrap();
            let hit = resolve(&[Target { circles: vec![(c.lat, c.lon, r)], ..Default::default() }], &areas);
            prop_assert!(hit.contains(&leaf.id));
        }

        #[test]
        fn targeting_only_ever_returns_leaves(lat in 34.9f64..35.2, lon in 138.9f64..139.5, r in 0.0f64..30.0) {
            let areas = town();
            let hit = resolve(&[Target { circles: vec![(lat, lon, r)], codes: vec!["13999-2".into()], ..Default::default() }], &areas);
            for id in hit {
                prop_assert!(areas.iter().any(|a| a.id == id && a.is_leaf));
            }
        }
    }
}
