//! The demo town みどり市: a fictional town generated deterministically, for docs, tests and benchmarks.
//!
//! The town has a hand-written core (areas, organisations, 28 households with 60 people including the 14
//! demo logins) that is identical for every size; larger towns append generated households after it.
//! Everything is pure: no I/O, no clock, no global randomness, so the same input always gives the same town.

use serde_json::{Value, json};

/// Password shared by every demo login.
pub const DEMO_PASSWORD: &str = "midori-demo-2026";

/// The fixed demo logins, in this order.
pub const DEMO_LOGINS: &[&str] = &[
    "admin",
    "bousai",
    "fukushi",
    "kosodate",
    "doro",
    "kyodo",
    "kaicho",
    "tanaka",
    "sato",
    "caremgr",
    "supporter",
    "medic",
    "auditor",
    "shop",
];

/// Smallest town: the hand-written core alone. Smaller requests are raised to this.
pub const MIN_RESIDENTS: usize = 60;

/// Area code of the town itself.
pub const TOWN_CODE: &str = "13999";

/// A generated town.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoTown {
    /// Parents come before their children.
    pub areas: Vec<DemoArea>,
    pub organisations: Vec<DemoOrg>,
    pub households: Vec<DemoHousehold>,
    pub memberships: Vec<DemoMembership>,
    pub identifiers: Vec<DemoIdentifier>,
}

/// An area of the town: the town, a district or a 町丁目.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoArea {
    pub code: String,
    pub name: String,
    pub kana: Option<String>,
    /// `"town"`, `"district"` or `"chome"`.
    pub level: &'static str,
    pub parent_code: Option<String>,
    /// GeoJSON Polygon with closed rings of `[lon, lat]` positions.
    pub geometry: Value,
}

/// A department, association, NPO, shop, care office, school or hospital.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoOrg {
    /// Stable key such as `"dept-kikikanri"`.
    pub key: String,
    /// `department`, `association`, `npo`, `shop`, `care_office`, `school` or `hospital`.
    pub kind: &'static str,
    pub name: String,
    pub area_code: Option<String>,
    pub duties: Vec<String>,
}

/// A household living in one 町丁目.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoHousehold {
    pub key: String,
    /// e.g. `"田中家"`.
    pub name: String,
    /// Always a chome code.
    pub area_code: String,
    pub address: String,
    /// Never empty.
    pub members: Vec<DemoPerson>,
    /// Index into `members`.
    pub representative: usize,
}

/// A person; every person belongs to exactly one household.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoPerson {
    /// Unique and stable, e.g. `"p000008"`.
    pub key: String,
    pub display_name: String,
    pub kana: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub needs_support: bool,
    /// Relation to the household representative: 本人, 配偶者, 子, 親.
    pub relation: Option<String>,
    /// One of [`DEMO_LOGINS`], or `None`.
    pub login: Option<&'static str>,
}

/// A person's role in an organisation, optionally limited to an area.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoMembership {
    pub person_key: String,
    pub org_key: String,
    pub role: &'static str,
    pub area_code: Option<String>,
}

/// An external identifier of a person; values are unique per kind.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoIdentifier {
    pub person_key: String,
    /// `"ic_card"`, `"member_no"` or `"device"`.
    pub kind: &'static str,
    pub value: String,
}

impl DemoTown {
    /// All people, household by household.
    pub fn people(&self) -> impl Iterator<Item = &DemoPerson> {
        self.households.iter().flat_map(|h| &h.members)
    }

    pub fn person_count(&self) -> usize {
        self.households.iter().map(|h| h.members.len()).sum()
    }

    /// The person holding a demo login, if any.
    pub fn person_by_login(&self, login: &str) -> Option<&DemoPerson> {
        self.people().find(|p| p.login == Some(login))
    }
}

/// Generates a town of exactly `residents` people (at least [`MIN_RESIDENTS`]). Same input → same output.
///
/// The first 60 people, the areas and the organisations do not depend on `residents`.
pub fn generate(residents: usize) -> DemoTown {
    let residents = residents.max(MIN_RESIDENTS);
    let (areas, chome) = build_areas();
    let mut town = Builder::new(chome, residents);
    for household in FIXED_HOUSEHOLDS {
        town.add_fixed(household);
    }
    town.fill(residents);
    DemoTown {
        areas,
        organisations: build_orgs(),
        households: town.households,
        memberships: town.memberships,
        identifiers: town.identifiers,
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Areas

/// The town is roughly 4 km (east–west) × 3 km (north–south) west of Tokyo.
const TOWN_WEST: f64 = 139.540;
const TOWN_EAST: f64 = 139.584;
const TOWN_SOUTH: f64 = 35.665;
const TOWN_NORTH: f64 = 35.692;

struct DistrictDef {
    name: &'static str,
    kana: &'static str,
    south: f64,
    north: f64,
    /// West-to-east chome boundaries; literal so coordinates serialise without float noise.
    lon_splits: &'static [f64],
    chome: &'static [(&'static str, &'static str)],
    /// Key of the association covering this district.
    association: Option<&'static str>,
}

/// Districts are horizontal bands of the town; their chome are side-by-side strips of the band.
const DISTRICTS: &[DistrictDef] = &[
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
struct Chome {
    code: String,
    name: &'static str,
    district: usize,
}

/// Axis-aligned rectangle as a GeoJSON Polygon; counter-clockwise exterior ring, as RFC 7946 recommends.
fn rect(west: f64, south: f64, east: f64, north: f64) -> Value {
    json!({
        "type": "Polygon",
        "coordinates": [[[west, south], [east, south], [east, north], [west, north], [west, south]]],
    })
}

fn build_areas() -> (Vec<DemoArea>, Vec<Chome>) {
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

// ---------------------------------------------------------------------------------------------------------------
// Organisations

struct OrgDef {
    key: &'static str,
    kind: &'static str,
    name: &'static str,
    area: Option<&'static str>,
    duties: &'static [&'static str],
}

const ORGS: &[OrgDef] = &[
    OrgDef {
        key: "dept-kikikanri",
        kind: "department",
        name: "危機管理課",
        area: Some(TOWN_CODE),
        duties: &["alerts", "safety"],
    },
    OrgDef {
        key: "dept-fukushi",
        kind: "department",
        name: "福祉課",
        area: Some(TOWN_CODE),
        duties: &["welfare", "watch"],
    },
    OrgDef {
        key: "dept-kosodate",
        kind: "department",
        name: "子育て支援課",
        area: Some(TOWN_CODE),
        duties: &["childcare"],
    },
    OrgDef {
        key: "dept-doro",
        kind: "department",
        name: "道路課",
        area: Some(TOWN_CODE),
        duties: &["roads", "voice"],
    },
    OrgDef {
        key: "dept-kyodo",
        kind: "department",
        name: "市民協働課",
        area: Some(TOWN_CODE),
        duties: &["community", "aid", "voice"],
    },
    OrgDef {
        key: "dept-somu",
        kind: "department",
        name: "総務課",
        area: Some(TOWN_CODE),
        duties: &["audit"],
    },
    OrgDef {
        key: "assoc-midori1",
        kind: "association",
        name: "みどり町一丁目町会",
        area: Some("13999-1"),
        duties: &[],
    },
    OrgDef {
        key: "assoc-chuo",
        kind: "association",
        name: "中央町内会",
        area: Some("13999-2"),
        duties: &[],
    },
    OrgDef {
        key: "npo-sasaeai",
        kind: "npo",
        name: "NPOみどり支え合いネット",
        area: Some(TOWN_CODE),
        duties: &[],
    },
    OrgDef {
        key: "shop-yaoya",
        kind: "shop",
        name: "みどり青果店",
        area: Some("13999-1-01"),
        duties: &[],
    },
    OrgDef {
        key: "shop-bakery",
        kind: "shop",
        name: "中央ベーカリー",
        area: Some("13999-2-02"),
        duties: &[],
    },
    OrgDef {
        key: "care-midori",
        kind: "care_office",
        name: "みどりケアプランセンター",
        area: Some("13999-2-01"),
        duties: &[],
    },
    OrgDef {
        key: "school-midori",
        kind: "school",
        name: "みどり小学校",
        area: Some("13999-1-02"),
        duties: &[],
    },
    OrgDef {
        key: "hospital-midori",
        kind: "hospital",
        name: "みどり市民病院",
        area: Some("13999-2-03"),
        duties: &[],
    },
];

fn build_orgs() -> Vec<DemoOrg> {
    ORGS.iter()
        .map(|o| DemoOrg {
            key: o.key.to_owned(),
            kind: o.kind,
            name: o.name.to_owned(),
            area_code: o.area.map(str::to_owned),
            duties: o.duties.iter().map(|d| (*d).to_owned()).collect(),
        })
        .collect()
}

/// Roles of the demo logins beyond their `resident` membership: (login, org key, role, area).
const LOGIN_ROLES: &[(&str, &str, &str, Option<&str>)] = &[
    ("admin", "dept-kyodo", "admin", None),
    ("bousai", "dept-kikikanri", "staff", None),
    ("fukushi", "dept-fukushi", "staff", None),
    ("kosodate", "dept-kosodate", "staff", None),
    ("doro", "dept-doro", "staff", None),
    ("kyodo", "dept-kyodo", "staff", None),
    ("kaicho", "assoc-midori1", "officer", Some("13999-1")),
    ("caremgr", "care-midori", "care_manager", None),
    ("supporter", "npo-sasaeai", "supporter", None),
    ("supporter", "npo-sasaeai", "volunteer", None),
    ("medic", "hospital-midori", "medic", None),
    ("auditor", "dept-somu", "auditor", None),
    ("shop", "shop-yaoya", "shop_owner", None),
];

// ---------------------------------------------------------------------------------------------------------------
// The hand-written households

/// Which contact details a person gave; many give only their name.
#[derive(Clone, Copy)]
enum Contact {
    Name,
    Phone,
    Email,
    Both,
}

#[derive(Clone, Copy)]
struct FixedPerson {
    given: &'static str,
    kana: &'static str,
    birth: &'static str,
    relation: &'static str,
    contact: Contact,
    needs_support: bool,
    login: Option<&'static str>,
}

const fn fp(
    given: &'static str,
    kana: &'static str,
    birth: &'static str,
    relation: &'static str,
    contact: Contact,
) -> FixedPerson {
    FixedPerson {
        given,
        kana,
        birth,
        relation,
        contact,
        needs_support: false,
        login: None,
    }
}

impl FixedPerson {
    const fn login(self, login: &'static str) -> Self {
        Self {
            login: Some(login),
            ..self
        }
    }

    const fn support(self) -> Self {
        Self {
            needs_support: true,
            ..self
        }
    }
}

struct FixedHousehold {
    surname: &'static str,
    kana: &'static str,
    /// Index into the chome list (0..8).
    chome: usize,
    /// Block and lot, appended to the chome name.
    lot: &'static str,
    /// The first member is the representative.
    members: &'static [FixedPerson],
}

use Contact::{Both, Email, Name, Phone};

const FIXED_HOUSEHOLDS: &[FixedHousehold] = &[
    // みどり町一丁目
    FixedHousehold {
        surname: "田中",
        kana: "タナカ",
        chome: 0,
        lot: "3-12",
        members: &[fp("ハナ", "ハナ", "1938-04-12", "本人", Phone)
            .login("tanaka")
            .support()],
    },
    FixedHousehold {
        surname: "井上",
        kana: "イノウエ",
        chome: 0,
        lot: "1-5",
        members: &[
            fp("勇", "イサム", "1960-09-03", "本人", Both).login("shop"),
            fp("和子", "カズコ", "1962-02-17", "配偶者", Phone),
        ],
    },
    FixedHousehold {
        surname: "高橋",
        kana: "タカハシ",
        chome: 0,
        lot: "4-2",
        members: &[fp("正雄", "マサオ", "1942-11-30", "本人", Phone).support()],
    },
    FixedHousehold {
        surname: "吉田",
        kana: "ヨシダ",
        chome: 0,
        lot: "6-8",
        members: &[
            fp("彩", "アヤ", "1988-06-21", "本人", Both).login("kosodate"),
            fp("拓也", "タクヤ", "1987-01-09", "配偶者", Phone),
            fp("陽菜", "ヒナ", "2020-05-14", "子", Name),
            fp("蓮", "レン", "2023-08-02", "子", Name),
        ],
    },
    // みどり町二丁目
    FixedHousehold {
        surname: "鈴木",
        kana: "スズキ",
        chome: 1,
        lot: "2-7",
        members: &[
            fp("茂", "シゲル", "1952-03-25", "本人", Both).login("kaicho"),
            fp("幸子", "サチコ", "1954-07-08", "配偶者", Name),
        ],
    },
    FixedHousehold {
        surname: "森",
        kana: "モリ",
        chome: 1,
        lot: "5-1",
        members: &[fp("千代", "チヨ", "1936-12-01", "本人", Name).support()],
    },
    FixedHousehold {
        surname: "清水",
        kana: "シミズ",
        chome: 1,
        lot: "8-15",
        members: &[
            fp("浩二", "コウジ", "1978-10-11", "本人", Email),
            fp("美穂", "ミホ", "1980-04-04", "配偶者", Phone),
            fp("結衣", "ユイ", "2019-09-19", "子", Name),
            fp("悠真", "ユウマ", "2022-02-28", "子", Name),
        ],
    },
    // みどり町三丁目
    FixedHousehold {
        surname: "小林",
        kana: "コバヤシ",
        chome: 2,
        lot: "1-20",
        members: &[
            fp("誠", "マコト", "1982-05-30", "本人", Both).login("bousai"),
            fp("由香", "ユカ", "1984-08-16", "配偶者", Name),
            fp("颯太", "ソウタ", "2021-11-03", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "石井",
        kana: "イシイ",
        chome: 2,
        lot: "3-4",
        members: &[fp("トシ", "トシ", "1941-01-23", "本人", Phone).support()],
    },
    FixedHousehold {
        surname: "前田",
        kana: "マエダ",
        chome: 2,
        lot: "7-9",
        members: &[
            fp("隆", "タカシ", "1948-06-06", "本人", Phone),
            fp("節子", "セツコ", "1950-10-27", "配偶者", Name),
        ],
    },
    // 本町一丁目
    FixedHousehold {
        surname: "山本",
        kana: "ヤマモト",
        chome: 3,
        lot: "2-3",
        members: &[
            fp("健一", "ケンイチ", "1975-02-14", "本人", Both).login("admin"),
            fp("智子", "トモコ", "1977-12-12", "配偶者", Email),
            fp("大翔", "ヒロト", "2008-07-07", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "中村",
        kana: "ナカムラ",
        chome: 3,
        lot: "4-11",
        members: &[
            fp("恵子", "ケイコ", "1972-03-03", "本人", Both).login("caremgr"),
            fp("敏夫", "トシオ", "1944-09-15", "親", Name),
        ],
    },
    FixedHousehold {
        surname: "岡田",
        kana: "オカダ",
        chome: 3,
        lot: "6-6",
        members: &[fp("ミツ", "ミツ", "1939-05-05", "本人", Phone).support()],
    },
    FixedHousehold {
        surname: "藤田",
        kana: "フジタ",
        chome: 3,
        lot: "9-2",
        members: &[
            fp("翼", "ツバサ", "1992-04-18", "本人", Email),
            fp("沙織", "サオリ", "1993-11-22", "配偶者", Both),
            fp("芽依", "メイ", "2024-01-10", "子", Name),
        ],
    },
    // 本町二丁目
    FixedHousehold {
        surname: "佐藤",
        kana: "サトウ",
        chome: 4,
        lot: "1-8",
        // 由美 is 田中 ハナ's daughter; she married and lives in her own household.
        members: &[
            fp("由美", "ユミ", "1966-08-20", "本人", Both).login("sato"),
            fp("浩", "ヒロシ", "1964-01-31", "配偶者", Phone),
            fp("健太", "ケンタ", "1996-06-13", "子", Email),
        ],
    },
    FixedHousehold {
        surname: "松本",
        kana: "マツモト",
        chome: 4,
        lot: "3-17",
        members: &[fp("玲子", "レイコ", "1970-10-02", "本人", Both).login("auditor")],
    },
    FixedHousehold {
        surname: "長谷川",
        kana: "ハセガワ",
        chome: 4,
        lot: "5-3",
        members: &[fp("勝", "マサル", "1945-04-29", "本人", Name)],
    },
    FixedHousehold {
        surname: "村上",
        kana: "ムラカミ",
        chome: 4,
        lot: "7-10",
        members: &[
            fp("直人", "ナオト", "1983-09-09", "本人", Phone),
            fp("愛", "アイ", "1985-03-16", "配偶者", Email),
            fp("湊", "ミナト", "2019-12-24", "子", Name),
            fp("凛", "リン", "2021-06-01", "子", Name),
        ],
    },
    // 本町三丁目
    FixedHousehold {
        surname: "渡辺",
        kana: "ワタナベ",
        chome: 5,
        lot: "2-14",
        members: &[
            fp("直樹", "ナオキ", "1980-07-25", "本人", Both).login("medic"),
            fp("さくら", "サクラ", "1982-04-01", "配偶者", Phone),
            fp("葵", "アオイ", "2020-10-10", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "伊藤",
        kana: "イトウ",
        chome: 5,
        lot: "4-6",
        members: &[fp("翔太", "ショウタ", "1995-02-02", "本人", Both).login("supporter")],
    },
    FixedHousehold {
        surname: "近藤",
        kana: "コンドウ",
        chome: 5,
        lot: "8-1",
        members: &[fp("房子", "フサコ", "1937-08-08", "本人", Name).support()],
    },
    // 南町一丁目
    FixedHousehold {
        surname: "加藤",
        kana: "カトウ",
        chome: 6,
        lot: "1-1",
        members: &[
            fp("真理子", "マリコ", "1979-11-11", "本人", Both).login("fukushi"),
            fp("剛", "ツヨシ", "1976-05-19", "配偶者", Name),
            fp("美咲", "ミサキ", "2010-03-27", "子", Name),
            fp("陸", "リク", "2013-09-30", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "山田",
        kana: "ヤマダ",
        chome: 6,
        lot: "3-9",
        members: &[
            fp("大輔", "ダイスケ", "1985-12-05", "本人", Both).login("doro"),
            fp("優子", "ユウコ", "1986-02-20", "配偶者", Phone),
            fp("樹", "イツキ", "2022-07-17", "子", Name),
        ],
    },
    FixedHousehold {
        surname: "坂本",
        kana: "サカモト",
        chome: 6,
        lot: "5-13",
        members: &[
            fp("清", "キヨシ", "1940-06-10", "本人", Phone),
            fp("キヨ", "キヨ", "1943-01-15", "配偶者", Name).support(),
        ],
    },
    // 南町二丁目
    FixedHousehold {
        surname: "佐々木",
        kana: "ササキ",
        chome: 7,
        lot: "2-5",
        members: &[fp("陽子", "ヨウコ", "1990-09-26", "本人", Both).login("kyodo")],
    },
    FixedHousehold {
        surname: "木村",
        kana: "キムラ",
        chome: 7,
        lot: "4-18",
        members: &[fp("修", "オサム", "1950-02-08", "本人", Phone)],
    },
    FixedHousehold {
        surname: "林",
        kana: "ハヤシ",
        chome: 7,
        lot: "6-2",
        members: &[
            fp("健", "ケン", "1973-08-31", "本人", Phone),
            fp("典子", "ノリコ", "1974-12-03", "配偶者", Email),
            fp("花音", "カノン", "2005-04-23", "子", Email),
            fp("正一", "ショウイチ", "1946-03-12", "親", Name),
        ],
    },
    FixedHousehold {
        surname: "西村",
        kana: "ニシムラ",
        chome: 7,
        lot: "9-7",
        members: &[fp("康介", "コウスケ", "1998-05-15", "本人", Email)],
    },
];

// ---------------------------------------------------------------------------------------------------------------
// Name pools for generated households: (kanji, katakana)

#[rustfmt::skip]
const SURNAMES: &[(&str, &str)] = &[
    ("佐藤", "サトウ"), ("鈴木", "スズキ"), ("高橋", "タカハシ"), ("田中", "タナカ"), ("伊藤", "イトウ"),
    ("渡辺", "ワタナベ"), ("山本", "ヤマモト"), ("中村", "ナカムラ"), ("小林", "コバヤシ"), ("加藤", "カトウ"),
    ("吉田", "ヨシダ"), ("山田", "ヤマダ"), ("佐々木", "ササキ"), ("山口", "ヤマグチ"), ("松本", "マツモト"),
    ("井上", "イノウエ"), ("木村", "キムラ"), ("林", "ハヤシ"), ("斎藤", "サイトウ"), ("清水", "シミズ"),
    ("山崎", "ヤマザキ"), ("森", "モリ"), ("池田", "イケダ"), ("橋本", "ハシモト"), ("阿部", "アベ"),
    ("石川", "イシカワ"), ("山下", "ヤマシタ"), ("中島", "ナカジマ"), ("石井", "イシイ"), ("小川", "オガワ"),
    ("前田", "マエダ"), ("岡田", "オカダ"), ("長谷川", "ハセガワ"), ("藤田", "フジタ"), ("後藤", "ゴトウ"),
    ("近藤", "コンドウ"), ("村上", "ムラカミ"), ("遠藤", "エンドウ"), ("青木", "アオキ"), ("坂本", "サカモト"),
    ("斉藤", "サイトウ"), ("福田", "フクダ"), ("太田", "オオタ"), ("西村", "ニシムラ"), ("藤井", "フジイ"),
    ("金子", "カネコ"), ("岡本", "オカモト"), ("藤原", "フジワラ"), ("中野", "ナカノ"), ("三浦", "ミウラ"),
    ("原田", "ハラダ"), ("中川", "ナカガワ"), ("松田", "マツダ"), ("竹内", "タケウチ"), ("小野", "オノ"),
    ("田村", "タムラ"), ("中山", "ナカヤマ"), ("和田", "ワダ"), ("石田", "イシダ"), ("森田", "モリタ"),
    ("上田", "ウエダ"), ("原", "ハラ"), ("内田", "ウチダ"), ("柴田", "シバタ"), ("酒井", "サカイ"),
    ("宮崎", "ミヤザキ"), ("横山", "ヨコヤマ"), ("高木", "タカギ"), ("安藤", "アンドウ"), ("宮本", "ミヤモト"),
    ("大野", "オオノ"), ("小島", "コジマ"), ("谷口", "タニグチ"), ("今井", "イマイ"), ("工藤", "クドウ"),
    ("高田", "タカダ"), ("増田", "マスダ"), ("丸山", "マルヤマ"), ("杉山", "スギヤマ"), ("村田", "ムラタ"),
    ("大塚", "オオツカ"), ("新井", "アライ"), ("小山", "コヤマ"), ("平野", "ヒラノ"), ("藤本", "フジモト"),
    ("河野", "コウノ"), ("上野", "ウエノ"), ("野口", "ノグチ"), ("武田", "タケダ"), ("松井", "マツイ"),
    ("千葉", "チバ"), ("岩崎", "イワサキ"), ("菅原", "スガワラ"), ("木下", "キノシタ"), ("久保", "クボ"),
    ("佐野", "サノ"), ("野村", "ノムラ"), ("松尾", "マツオ"), ("市川", "イチカワ"), ("菊地", "キクチ"),
];

#[rustfmt::skip]
const MALE_NAMES: &[(&str, &str)] = &[
    ("健一", "ケンイチ"), ("誠", "マコト"), ("大輔", "ダイスケ"), ("翔太", "ショウタ"), ("直樹", "ナオキ"),
    ("浩", "ヒロシ"), ("茂", "シゲル"), ("勇", "イサム"), ("隆", "タカシ"), ("正雄", "マサオ"),
    ("清", "キヨシ"), ("修", "オサム"), ("健", "ケン"), ("康介", "コウスケ"), ("拓也", "タクヤ"),
    ("蓮", "レン"), ("颯太", "ソウタ"), ("大翔", "ヒロト"), ("湊", "ミナト"), ("陸", "リク"),
    ("樹", "イツキ"), ("悠真", "ユウマ"), ("剛", "ツヨシ"), ("勝", "マサル"), ("敏夫", "トシオ"),
    ("正一", "ショウイチ"), ("直人", "ナオト"), ("翼", "ツバサ"), ("健太", "ケンタ"), ("浩二", "コウジ"),
    ("和也", "カズヤ"), ("達也", "タツヤ"), ("秀樹", "ヒデキ"), ("哲也", "テツヤ"), ("明", "アキラ"),
    ("実", "ミノル"), ("博", "ヒロシ"), ("進", "ススム"), ("豊", "ユタカ"), ("俊介", "シュンスケ"),
    ("亮", "リョウ"), ("悠斗", "ユウト"), ("陽太", "ヨウタ"), ("海斗", "カイト"), ("蒼", "アオイ"),
    ("朝陽", "アサヒ"), ("一郎", "イチロウ"), ("義男", "ヨシオ"), ("孝", "タカシ"), ("昭", "アキラ"),
];

#[rustfmt::skip]
const FEMALE_NAMES: &[(&str, &str)] = &[
    ("ハナ", "ハナ"), ("和子", "カズコ"), ("由美", "ユミ"), ("恵子", "ケイコ"), ("真理子", "マリコ"),
    ("彩", "アヤ"), ("陽子", "ヨウコ"), ("玲子", "レイコ"), ("幸子", "サチコ"), ("千代", "チヨ"),
    ("トシ", "トシ"), ("節子", "セツコ"), ("ミツ", "ミツ"), ("房子", "フサコ"), ("キヨ", "キヨ"),
    ("美穂", "ミホ"), ("由香", "ユカ"), ("智子", "トモコ"), ("沙織", "サオリ"), ("愛", "アイ"),
    ("さくら", "サクラ"), ("優子", "ユウコ"), ("典子", "ノリコ"), ("陽菜", "ヒナ"), ("結衣", "ユイ"),
    ("芽依", "メイ"), ("凛", "リン"), ("葵", "アオイ"), ("美咲", "ミサキ"), ("花音", "カノン"),
    ("久美子", "クミコ"), ("洋子", "ヨウコ"), ("京子", "キョウコ"), ("明美", "アケミ"), ("直美", "ナオミ"),
    ("裕子", "ユウコ"), ("麻衣", "マイ"), ("舞", "マイ"), ("美香", "ミカ"), ("香織", "カオリ"),
    ("恵", "メグミ"), ("紬", "ツムギ"), ("結菜", "ユイナ"), ("杏", "アン"), ("莉子", "リコ"),
    ("文子", "フミコ"), ("静江", "シズエ"), ("フミ", "フミ"), ("ヨシ", "ヨシ"), ("春子", "ハルコ"),
];

/// splitmix64: tiny, fast and good enough for plausible fake data; fixed seed keeps towns reproducible.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` for small `n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Assembly

/// Everything needed to create a person, before keys and contact details are assigned.
struct PersonSpec {
    display_name: String,
    kana: Option<String>,
    birth_date: Option<String>,
    relation: &'static str,
    contact: Contact,
    needs_support: bool,
    login: Option<&'static str>,
}

struct Builder {
    chome: Vec<Chome>,
    households: Vec<DemoHousehold>,
    memberships: Vec<DemoMembership>,
    identifiers: Vec<DemoIdentifier>,
    people: usize,
    /// Member numbers issued so far, per district association.
    member_nos: [usize; 3],
}

impl Builder {
    fn new(chome: Vec<Chome>, residents: usize) -> Self {
        // Roughly 2.2 people per household, 1.5 memberships and 1 identifier per person.
        Self {
            chome,
            households: Vec::with_capacity(residents / 2),
            memberships: Vec::with_capacity(residents * 3 / 2),
            identifiers: Vec::with_capacity(residents),
            people: 0,
            member_nos: [0; 3],
        }
    }

    fn add_fixed(&mut self, h: &FixedHousehold) {
        let specs = h.members.iter().map(|m| PersonSpec {
            display_name: format!("{} {}", h.surname, m.given),
            kana: Some(format!("{} {}", h.kana, m.kana)),
            birth_date: Some(m.birth.to_owned()),
            relation: m.relation,
            contact: m.contact,
            needs_support: m.needs_support,
            login: m.login,
        });
        let specs: Vec<_> = specs.collect();
        let address = format!("{}{}", self.chome[h.chome].name, h.lot);
        self.add_household(h.surname, h.chome, address, specs);
    }

    /// Appends random households of 1–5 people until the town has exactly `residents` people.
    fn fill(&mut self, residents: usize) {
        let mut rng = SplitMix64(0x6d69_646f_7269); // "midori"
        while self.people < residents {
            let size = (1 + rng.below(5) as usize).min(residents - self.people);
            let (surname, surname_kana) = rng.pick(SURNAMES);
            let chome = rng.below(self.chome.len() as u64) as usize;
            let head_year = if size == 1 {
                1935 + rng.below(68)
            } else {
                1950 + rng.below(46)
            };
            let head_male = rng.below(2) == 0;
            let mut specs = Vec::with_capacity(size);
            for i in 0..size {
                let (relation, year, male) = match i {
                    0 => ("本人", head_year, head_male),
                    1 => ("配偶者", head_year + rng.below(7) - 3, !head_male),
                    // A fifth member is a parent who moved in.
                    4 => ("親", (head_year - 25 - rng.below(10)).max(1928), rng.below(2) == 0),
                    _ => ("子", (head_year + 22 + rng.below(18)).min(2024), rng.below(2) == 0),
                };
                specs.push(random_person(
                    &mut rng,
                    surname,
                    surname_kana,
                    relation,
                    year,
                    male,
                    size,
                ));
            }
            let address = format!("{}{}-{}", self.chome[chome].name, 1 + rng.below(20), 1 + rng.below(30));
            self.add_household(surname, chome, address, specs);
        }
    }

    fn add_household(&mut self, surname: &str, chome: usize, address: String, specs: Vec<PersonSpec>) {
        let members = specs.into_iter().map(|spec| self.add_person(spec, chome)).collect();
        self.households.push(DemoHousehold {
            key: format!("h{:06}", self.households.len() + 1),
            name: format!("{surname}家"),
            area_code: self.chome[chome].code.clone(),
            address,
            members,
            representative: 0,
        });
    }

    fn add_person(&mut self, spec: PersonSpec, chome: usize) -> DemoPerson {
        self.people += 1;
        let n = self.people as u64;
        let key = format!("p{n:06}");
        let (phone, email) = match spec.contact {
            Contact::Name => (false, false),
            Contact::Phone => (true, false),
            Contact::Email => (false, true),
            Contact::Both => (true, true),
        };
        // Multiplying by a number coprime to 10^8 spreads consecutive people over plausible-looking numbers.
        let digits = (n * 7_654_321 + 12_345_678) % 100_000_000;
        let phone = phone.then(|| {
            let prefix = if n.is_multiple_of(2) { "090" } else { "080" };
            format!("{prefix}-{:04}-{:04}", digits / 10_000, digits % 10_000)
        });
        let email = email.then(|| format!("{}@example.jp", spec.login.unwrap_or(&key)));

        let district = self.chome[chome].district;
        if let Some(assoc) = DISTRICTS[district].association {
            self.memberships.push(DemoMembership {
                person_key: key.clone(),
                org_key: assoc.to_owned(),
                role: "resident",
                area_code: Some(self.chome[chome].code.clone()),
            });
            self.member_nos[district] += 1;
            self.identify(
                &key,
                "member_no",
                format!("M{}-{:04}", district + 1, self.member_nos[district]),
            );
        }
        if let Some(login) = spec.login {
            for &(_, org, role, area) in LOGIN_ROLES.iter().filter(|r| r.0 == login) {
                self.memberships.push(DemoMembership {
                    person_key: key.clone(),
                    org_key: org.to_owned(),
                    role,
                    area_code: area.map(str::to_owned),
                });
            }
        }
        if n.is_multiple_of(3) {
            // 982451653 is prime, so n ↦ n·p mod 10^12 is a bijection: unique 16-digit card numbers.
            let card = 3_581_000_000_000_000 + (n * 982_451_653) % 1_000_000_000_000;
            self.identify(&key, "ic_card", card.to_string());
        }
        if spec.login == Some("tanaka") {
            // The watch-over devices of the elderly demo resident: a smart bulb and a tablet terminal.
            self.identify(&key, "device", "bulb-0001".to_owned());
            self.identify(&key, "device", "terminal-0001".to_owned());
        }

        DemoPerson {
            key,
            display_name: spec.display_name,
            kana: spec.kana,
            birth_date: spec.birth_date,
            phone,
            email,
            needs_support: spec.needs_support,
            relation: Some(spec.relation.to_owned()),
            login: spec.login,
        }
    }

    fn identify(&mut self, person_key: &str, kind: &'static str, value: String) {
        self.identifiers.push(DemoIdentifier {
            person_key: person_key.to_owned(),
            kind,
            value,
        });
    }
}

fn random_person(
    rng: &mut SplitMix64,
    surname: &str,
    surname_kana: &str,
    relation: &'static str,
    year: u64,
    male: bool,
    household_size: usize,
) -> PersonSpec {
    let (given, given_kana) = rng.pick(if male { MALE_NAMES } else { FEMALE_NAMES });
    let (month, day) = (1 + rng.below(12), 1 + rng.below(28));
    // Some people leave out their birth date or reading; children have no contact details of their own.
    let birth_date = (rng.below(12) != 0).then(|| format!("{year:04}-{month:02}-{day:02}"));
    let kana = (rng.below(15) != 0).then(|| format!("{surname_kana} {given_kana}"));
    let contact = match rng.below(10) {
        _ if year > 2010 => Contact::Name,
        0..=2 => Contact::Phone,
        3 | 4 => Contact::Both,
        5 => Contact::Email,
        _ => Contact::Name,
    };
    let needs_support = year < 1950 && (household_size == 1 || relation == "親") && rng.below(3) == 0;
    PersonSpec {
        display_name: format!("{surname} {given}"),
        kana,
        birth_date,
        relation,
        contact,
        needs_support,
        login: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    const ROLES: &[&str] = &[
        "resident",
        "officer",
        "staff",
        "supporter",
        "care_manager",
        "volunteer",
        "shop_owner",
        "lecturer",
        "medic",
        "auditor",
        "admin",
    ];

    fn ring(area: &DemoArea) -> Vec<(f64, f64)> {
        area.geometry["coordinates"][0]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
            .collect()
    }

    fn bbox(area: &DemoArea) -> (f64, f64, f64, f64) {
        ring(area)
            .iter()
            .fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |(w, s, e, n), &(x, y)| {
                (w.min(x), s.min(y), e.max(x), n.max(y))
            })
    }

    fn roles_of<'t>(town: &'t DemoTown, login: &str) -> Vec<(&'t str, &'t str, Option<&'t str>)> {
        let key = &town.person_by_login(login).unwrap().key;
        town.memberships
            .iter()
            .filter(|m| &m.person_key == key)
            .map(|m| (m.org_key.as_str(), m.role, m.area_code.as_deref()))
            .collect()
    }

    /// Structural invariants that hold for every town size.
    fn check_invariants(town: &DemoTown) {
        let mut keys = HashSet::new();
        for p in town.people() {
            assert!(keys.insert(p.key.as_str()), "duplicate person key {}", p.key);
            if let Some(login) = p.login {
                assert!(DEMO_LOGINS.contains(&login));
            }
        }
        let mut household_keys = HashSet::new();
        let chome: HashSet<_> = town
            .areas
            .iter()
            .filter(|a| a.level == "chome")
            .map(|a| a.code.as_str())
            .collect();
        for h in &town.households {
            assert!(household_keys.insert(h.key.as_str()));
            assert!(!h.members.is_empty(), "{} is empty", h.key);
            assert!(h.representative < h.members.len());
            assert!(chome.contains(h.area_code.as_str()));
        }
        let mut seen: HashMap<&str, HashSet<&str>> = HashMap::new();
        for id in &town.identifiers {
            assert!(["ic_card", "member_no", "device"].contains(&id.kind));
            assert!(keys.contains(id.person_key.as_str()));
            assert!(
                seen.entry(id.kind).or_default().insert(&id.value),
                "duplicate {} {}",
                id.kind,
                id.value
            );
        }
        let orgs: HashSet<_> = town.organisations.iter().map(|o| o.key.as_str()).collect();
        for m in &town.memberships {
            assert!(ROLES.contains(&m.role), "unknown role {}", m.role);
            assert!(orgs.contains(m.org_key.as_str()));
            assert!(keys.contains(m.person_key.as_str()));
        }
    }

    #[test]
    fn default_town_shape() {
        let town = generate(60);
        assert_eq!(town.person_count(), 60);
        assert_eq!(town.people().count(), 60);
        assert_eq!(town.households.len(), 28);
        assert_eq!(town.areas.iter().filter(|a| a.level == "town").count(), 1);
        assert_eq!(town.areas.iter().filter(|a| a.level == "district").count(), 3);
        assert_eq!(town.areas.iter().filter(|a| a.level == "chome").count(), 8);
        check_invariants(&town);

        // Every chome has at least one household.
        let used: HashSet<_> = town.households.iter().map(|h| h.area_code.as_str()).collect();
        assert_eq!(used.len(), 8);
        // Many people give only their name.
        assert!(town.people().any(|p| p.phone.is_none() && p.email.is_none()));
        assert!(town.people().any(|p| p.phone.is_some()));
        assert!(town.people().any(|p| p.email.is_some()));
        assert!(town.people().filter(|p| p.needs_support).count() >= 4);
    }

    #[test]
    fn areas_are_ordered_closed_and_nested() {
        let town = generate(60);
        let mut earlier: HashMap<&str, &DemoArea> = HashMap::new();
        for area in &town.areas {
            if let Some(parent) = &area.parent_code {
                assert!(
                    earlier.contains_key(parent.as_str()),
                    "{} comes before its parent",
                    area.code
                );
            }
            assert_eq!(area.geometry["type"], "Polygon");
            let ring = ring(area);
            assert!(ring.len() >= 5);
            assert_eq!(ring.first(), ring.last());
            assert!(area.kana.is_some());
            if area.level == "chome" {
                let district = earlier[area.parent_code.as_deref().unwrap()];
                let (w, s, e, n) = bbox(district);
                let (x, y) = ring[0];
                assert!(
                    w <= x && x <= e && s <= y && y <= n,
                    "{} outside its district",
                    area.code
                );
            }
            earlier.insert(&area.code, area);
        }
        // Children tile their parent: areas add up and neighbours do not overlap.
        for parent in &town.areas {
            let children: Vec<_> = town
                .areas
                .iter()
                .filter(|a| a.parent_code.as_ref() == Some(&parent.code))
                .collect();
            if children.is_empty() {
                continue;
            }
            let area = |(w, s, e, n): (f64, f64, f64, f64)| (e - w) * (n - s);
            let sum: f64 = children.iter().map(|c| area(bbox(c))).sum();
            assert!((sum - area(bbox(parent))).abs() < 1e-9, "{} is not tiled", parent.code);
            for (i, a) in children.iter().enumerate() {
                for b in &children[i + 1..] {
                    let (a, b) = (bbox(a), bbox(b));
                    let overlap = (a.2.min(b.2) - a.0.max(b.0)).max(0.0) * (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
                    assert!(overlap < 1e-12);
                }
            }
        }
    }

    #[test]
    fn logins_and_their_memberships() {
        let town = generate(60);
        for login in DEMO_LOGINS {
            assert_eq!(town.people().filter(|p| p.login == Some(*login)).count(), 1, "{login}");
        }
        let org = |key: &str| town.organisations.iter().find(|o| o.key == key).unwrap();
        assert_eq!(org("dept-kikikanri").duties, ["alerts", "safety"]);
        assert_eq!(org("dept-kyodo").duties, ["community", "aid", "voice"]);

        let has = |login: &str, org_key: &str, role: &str, area: Option<&str>| {
            assert!(
                roles_of(&town, login).contains(&(org_key, role, area)),
                "{login}: {org_key} {role} {area:?}"
            );
        };
        has("admin", "dept-kyodo", "admin", None);
        has("bousai", "dept-kikikanri", "staff", None);
        has("fukushi", "dept-fukushi", "staff", None);
        has("kosodate", "dept-kosodate", "staff", None);
        has("doro", "dept-doro", "staff", None);
        has("kyodo", "dept-kyodo", "staff", None);
        has("kaicho", "assoc-midori1", "officer", Some("13999-1"));
        has("caremgr", "care-midori", "care_manager", None);
        has("supporter", "npo-sasaeai", "supporter", None);
        has("supporter", "npo-sasaeai", "volunteer", None);
        has("medic", "hospital-midori", "medic", None);
        has("auditor", "dept-somu", "auditor", None);
        has("shop", "shop-yaoya", "shop_owner", None);
        assert_eq!(org("assoc-midori1").area_code.as_deref(), Some("13999-1"));
        assert_eq!(org("shop-yaoya").kind, "shop");

        // tanaka: an elderly resident living alone, with watch-over devices.
        let tanaka = town.person_by_login("tanaka").unwrap();
        assert!(tanaka.needs_support);
        assert!(tanaka.birth_date.as_deref().unwrap().starts_with("1938"));
        assert!(
            roles_of(&town, "tanaka")
                .iter()
                .any(|&(o, r, _)| o == "assoc-midori1" && r == "resident")
        );
        let home = town
            .households
            .iter()
            .find(|h| h.members.iter().any(|m| m.key == tanaka.key))
            .unwrap();
        assert_eq!(home.members.len(), 1);
        let devices: Vec<_> = town
            .identifiers
            .iter()
            .filter(|i| i.person_key == tanaka.key && i.kind == "device")
            .collect();
        assert_eq!(devices.len(), 2);

        // sato lives in another household of the same town.
        let sato = town.person_by_login("sato").unwrap();
        assert!(!home.members.iter().any(|m| m.key == sato.key));

        // Everyone in a district with an association is its resident and has a member number.
        for h in &town.households {
            let district = &h.area_code[..7];
            let assoc = town
                .organisations
                .iter()
                .find(|o| o.kind == "association" && o.area_code.as_deref() == Some(district));
            for p in &h.members {
                let resident = town
                    .memberships
                    .iter()
                    .any(|m| m.person_key == p.key && m.role == "resident");
                let member_no = town
                    .identifiers
                    .iter()
                    .any(|i| i.person_key == p.key && i.kind == "member_no");
                assert_eq!(resident, assoc.is_some(), "{}", p.key);
                assert_eq!(member_no, assoc.is_some(), "{}", p.key);
            }
        }
    }

    #[test]
    fn small_requests_give_the_default_town() {
        assert_eq!(generate(0), generate(60));
    }

    #[test]
    fn large_town_is_exact_and_deterministic() {
        let a = generate(5000);
        let b = generate(5000);
        assert_eq!(a.person_count(), 5000);
        assert_eq!(a, b);
        assert_eq!(
            a.people().next().unwrap().display_name,
            b.people().next().unwrap().display_name
        );
        assert_eq!(
            a.people().last().unwrap().display_name,
            b.people().last().unwrap().display_name
        );
        check_invariants(&a);
        // The fixed core is the same in every town.
        let small = generate(60);
        assert_eq!(a.households[..28], small.households[..]);
        assert_eq!(a.areas, small.areas);
        assert_eq!(a.organisations, small.organisations);
        assert!(a.households.iter().all(|h| (1..=5).contains(&h.members.len())));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(32))]

        #[test]
        fn any_size_has_exactly_that_many_people(n in 60usize..2000) {
            let town = generate(n);
            proptest::prop_assert_eq!(town.person_count(), n);
            check_invariants(&town);
        }
    }
}
