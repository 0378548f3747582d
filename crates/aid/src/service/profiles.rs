//! Supporters' profiles and certifications, and 「知り合い」 links and blocks.

use crate::policy::{Action, Resource};
use kernel::model::audit::AuditRecord;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::Category;
use crate::model::matching::Slot;
use crate::store::{self, Supporter};

use super::me;

#[derive(Deserialize, Serialize, ToSchema, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct ProfileInput {
    /// Categories the supporter helps with.
    pub categories: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    /// How far they will go, in metres (100–20,000).
    pub radius_m: i64,
    /// Their starting point; their 町丁目's centre when absent.
    #[serde(default)]
    pub lat: Option<f64>,
    #[serde(default)]
    pub lon: Option<f64>,
    /// Weekly slots `weekday:HH:MM-HH:MM` (0 = Monday), e.g. `5:09:00-12:00` for Saturday morning.
    /// The web page edits them as a grid of 午前 (0–12時), 午後 (12–17時) and 夜 (17–24時).
    pub availability: Vec<String>,
    /// Enrolled in volunteer-activity insurance, and the categories it covers.
    #[serde(default)]
    pub insured: bool,
    #[serde(default)]
    pub insured_categories: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default = "yes")]
    pub active: bool,
}

pub(crate) fn yes() -> bool {
    true
}

/// The centre (label point) of the person's 町丁目.
pub(crate) async fn home_point(k: &Kernel, person: &str) -> Result<Option<(f64, f64)>> {
    let Some(p) = kernel::store::people::get(&k.db, person).await? else {
        return Ok(None);
    };
    area_point(k, p.area_id.as_deref()).await
}

pub(crate) async fn area_point(k: &Kernel, area: Option<&str>) -> Result<Option<(f64, f64)>> {
    let Some(area) = area else { return Ok(None) };
    let Some(a) = kernel::store::areas::get(&k.db, area).await? else {
        return Ok(None);
    };
    Ok(kernel::model::geometry::parse_geometry(&a.geometry)
        .ok()
        .and_then(|g| g.label_point())
        .map(|p| (p.lat, p.lon)))
}

pub(crate) async fn put_profile_for(k: &Kernel, actor: &Actor, input: &ProfileInput) -> Result<Supporter> {
    let me = me(actor)?;
    if !may(actor, Action::OfferAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let bad = |key: &'static str, field: &str| Error::invalid_with(key, vec![("field", field.to_string())]);
    let cats: Vec<Category> = input.categories.iter().filter_map(|c| Category::parse(c)).collect();
    if cats.is_empty() || cats.len() != input.categories.len() {
        return Err(bad("aid-category-invalid", "categories"));
    }
    if !(100..=20_000).contains(&input.radius_m) {
        return Err(bad("aid-radius-invalid", "radius_m"));
    }
    let slots: Vec<Slot> = input.availability.iter().filter_map(|s| Slot::parse(s)).collect();
    if slots.len() != input.availability.len() {
        return Err(bad("aid-availability-invalid", "availability"));
    }
    let insured_cats: Vec<Category> = input
        .insured_categories
        .iter()
        .filter_map(|c| Category::parse(c))
        .collect();
    if insured_cats.len() != input.insured_categories.len() {
        return Err(bad("aid-category-invalid", "insured_categories"));
    }
    let clean = |v: &[String]| {
        v.iter()
            .map(|s| s.trim().replace(',', " "))
            .filter(|s| !s.is_empty())
            .take(20)
            .map(|s| s.chars().take(40).collect::<String>())
            .collect::<Vec<_>>()
            .join(",")
    };
    let (lat, lon) = match (input.lat, input.lon) {
        (Some(lat), Some(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => (lat, lon),
        (None, None) => home_point(k, me)
            .await?
            .ok_or_else(|| bad("aid-point-required", "lat"))?,
        _ => return Err(bad("aid-point-invalid", "lat")),
    };
    let s = Supporter {
        person_id: me.to_string(),
        categories: cats.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
        skills: clean(&input.skills),
        radius_m: input.radius_m,
        lat,
        lon,
        availability: slots.iter().map(Slot::text).collect::<Vec<_>>().join(","),
        insured: i64::from(input.insured),
        insured_categories: insured_cats.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(","),
        languages: clean(&input.languages),
        active: i64::from(input.active),
        updated_at: k.now(),
    };
    store::put_supporter(k, &s).await?;
    Ok(s)
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CertificationInput {
    pub person_id: String,
    /// `childcare` (the childcare supporter course).
    pub kind: String,
    pub issued_by: String,
    /// `YYYY-MM-DD`: valid through this day.
    pub valid_until: String,
}

pub(crate) async fn certify_for(k: &Kernel, actor: &Actor, input: &CertificationInput) -> Result<store::Certification> {
    if !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let bad = |key: &'static str, field: &str| Error::invalid_with(key, vec![("field", field.to_string())]);
    if input.kind != "childcare" {
        return Err(bad("aid-certification-kind-invalid", "kind"));
    }
    let by = input.issued_by.trim();
    if by.is_empty() || by.chars().count() > 100 {
        return Err(bad("aid-certification-issuer-invalid", "issued_by"));
    }
    if crate::model::local_ms(&input.valid_until, "00:00").is_none() {
        return Err(bad("aid-date-invalid", "valid_until"));
    }
    kernel::store::people::require_active(&k.db, &input.person_id)
        .await
        .map_err(|_| bad("aid-person-not-found", "person_id"))?;
    let mut tx = k.db.begin().await?;
    let c = store::add_certification(
        &mut tx,
        k,
        &input.person_id,
        &input.kind,
        by,
        &input.valid_until,
        me(actor)?,
    )
    .await?;
    let rec = AuditRecord::new(
        actor.person_id.as_deref(),
        "aid.certify",
        format!("person/{}", input.person_id),
    )
    .subject(&input.person_id)
    .reason(&input.kind);
    kernel::store::audit::append_in(&mut tx, k.now(), vec![rec]).await?;
    tx.commit().await?;
    Ok(c)
}

#[derive(Serialize, ToSchema)]
pub struct LinkState {
    /// Both have said 「知り合い」.
    pub mutual: bool,
}

/// The supporter's own profile; 404 when they have none.
pub(crate) async fn profile_of(k: &Kernel, me: &str) -> Result<Supporter> {
    store::supporter(&k.db, me)
        .await?
        .ok_or_else(|| Error::not_found("aid-not-a-supporter"))
}

/// Say someone is 「知り合い」; it counts for matching once they say it back.
pub(crate) async fn link_for(k: &Kernel, me: &str, person: &str) -> Result<LinkState> {
    if person == me {
        return Err(Error::invalid_with("aid-link-self", vec![("field", "person".into())]));
    }
    kernel::store::people::require_active(&k.db, person).await?;
    let mutual = store::link(k, me, person).await?;
    if mutual {
        store::bump_index(&k.db).await?;
    }
    Ok(LinkState { mutual })
}

/// Block someone: never matched with me, either way.
pub(crate) async fn block_for(k: &Kernel, me: &str, person: &str) -> Result<()> {
    kernel::store::people::require_active(&k.db, person).await?;
    store::block(k, me, person).await
}

/// The asker's own profile (if they support) and certifications.
pub(crate) async fn own_for(k: &Kernel, actor: &Actor) -> Result<(Option<Supporter>, Vec<store::Certification>)> {
    let me = me(actor)?;
    Ok((
        store::supporter(&k.db, me).await?,
        store::certifications(&k.db, me).await?,
    ))
}

/// Those who said 「知り合い」 to the asker and wait for it back: (id, name).
pub(crate) async fn links_asked_for(k: &Kernel, actor: &Actor) -> Result<Vec<(String, String)>> {
    store::links_asked_of(&k.db, me(actor)?).await
}

/// The 町丁目 a request may be placed in (the public directory).
pub(crate) async fn chome(k: &Kernel) -> Result<Vec<kernel::model::area::Area>> {
    kernel::store::residence::chome(&k.db).await
}
