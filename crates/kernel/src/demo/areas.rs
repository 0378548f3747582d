//! The town's areas: districts as bands of the town, their 丁目 as strips, GeoJSON rectangles.

use super::*;

/// The town is roughly 4 km (east–west) × 3 km (north–south) west of Tokyo.
pub(super) const TOWN_WEST: f64 = 139.540;
pub(super) const TOWN_EAST: f64 = 139.584;
pub(super) const TOWN_SOUTH: f64 = 35.665;
pub(super) const TOWN_NORTH: f64 = 35.692;

pub(super) struct DistrictDef {
    pub(super) name: &'static str,
    pub(super) kana: &'static str,
    pub(super) south: f64,
    pub(super) north: f64,
    /// West-to-east chome boundaries; literal so coordinates serialise without float noise.
    pub(super) lon_splits: &'static [f64],
    pub(super) chome: &'static [(&'static str, &'static str)],
    /// Key of the association covering this district.
    pub(super) association: Option<&'static str>,
}

/// Districts are horizontal bands of the town; their chome are side-by-side strips of the band.
pub(super) const DISTRICTS: &[DistrictDef] = &[
    DistrictDef {
        name: "北みどり地区",
        kana: "きたみどりちく",
        south: 35.683,
        north: TOWN_NORTH,
        lon_splits: &[TOWN_WEST, 139.555, 139.570, TOWN_EAST],
        chome: &[
            ("みどり町一丁目", "みどりちょういっちょうめ"),
            ("みどり町二丁目", "みどりちょうにちょうめ"),
            ("みどり町三丁目", "みどりちょうさんちょうめ"),
        ],
        association: Some("assoc-midori1"),
    },
    DistrictDef {
        name: "中央地区",
        kana: "ちゅうおうちく",
        south: 35.674,
        north: 35.683,
        lon_splits: &[TOWN_WEST, 139.554, 139.569, TOWN_EAST],
        chome: &[
            ("本町一丁目", "ほんちょういっちょうめ"),
            ("本町二丁目", "ほんちょうにちょうめ"),
            ("本町三丁目", "ほんちょうさんちょうめ"),
        ],
        association: Some("assoc-chuo"),
    },
    DistrictDef {
        name: "南みどり地区",
        kana: "みなみみどりちく",
        south: TOWN_SOUTH,
        north: 35.674,
        lon_splits: &[TOWN_WEST, 139.562, TOWN_EAST],
        chome: &[
            ("南町一丁目", "みなみまちいっちょうめ"),
            ("南町二丁目", "みなみまちにちょうめ"),
        ],
        association: None,
    },
];

/// What households need to know about a chome.
pub(super) struct Chome {
    pub(super) code: String,
    pub(super) name: &'static str,
    pub(super) district: usize,
}

/// Axis-aligned rectangle as a GeoJSON Polygon; counter-clockwise exterior ring, as RFC 7946 recommends.
pub(super) fn rect(west: f64, south: f64, east: f64, north: f64) -> Value {
    json!({
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    })
}

pub(super) fn build_areas() -> (Vec<DemoArea>, Vec<Chome>) {
    let mut areas = vec![DemoArea {
        code: TOWN_CODE.to_owned(),
        name: "みどり市".to_owned(),
        kana: Some("みどりし".to_owned()),
        level: "town",
        parent_code: None,
        geometry: rect(TOWN_WEST, TOWN_SOUTH, TOWN_EAST, TOWN_NORTH),
    }];
    let mut chome = Vec::new();
    for (d, district) in DISTRICTS.iter().enumerate() {
        let district_code = format!("{TOWN_CODE}-{}", d + 1);
        areas.push(DemoArea {
            code: district_code.clone(),
            name: district.name.to_owned(),
            kana: Some(district.kana.to_owned()),
            level: "district",
            parent_code: Some(TOWN_CODE.to_owned()),
            geometry: rect(TOWN_WEST, district.south, TOWN_EAST, district.north),
        });
        for (c, &(name, kana)) in district.chome.iter().enumerate() {
            let code = format!("{district_code}-{:02}", c + 1);
            let (west, east) = (district.lon_splits[c], district.lon_splits[c + 1]);
            areas.push(DemoArea {
                code: code.clone(),
                name: name.to_owned(),
                kana: Some(kana.to_owned()),
                level: "chome",
                parent_code: Some(district_code.clone()),
                geometry: rect(west, district.south, east, district.north),
            });
            chome.push(Chome {
                code,
                name,
                district: d,
            });
        }
    }
    (areas, chome)
}
