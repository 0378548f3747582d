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
