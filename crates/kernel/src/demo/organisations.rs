//! The town's organisations (city hall departments, associations, shops…) and the demo logins' roles in them.

use super::*;

pub(super) struct OrgDef {
    pub(super) key: &'static str,
    pub(super) kind: &'static str,
    pub(super) name: &'static str,
    pub(super) area: Option<&'static str>,
    pub(super) duties: &'static [&'static str],
}

pub(super) const ORGS: &[OrgDef] = &[
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

pub(super) fn build_orgs() -> Vec<DemoOrg> {
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
pub(super) const LOGIN_ROLES: &[(&str, &str, &str, Option<&str>)] = &[
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
