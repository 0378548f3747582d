//! Alerts as the public reads them (feeds, CAP out, relays): recent alerts, one alert with the
//! areas and groups it reaches, its CAP text, what reached an area. Alerts are public: no
//! policy, no audit.

use kernel::model::area::Area;
use kernel::{Error, Kernel, Result};

use crate::store::{self, StoredAlert};

/// The newest alerts first.
pub(crate) async fn recent(k: &Kernel, limit: i64) -> Result<Vec<StoredAlert>> {
    store::recent(&k.db, limit).await
}

/// One alert, or `not found`.
pub(crate) async fn require(k: &Kernel, id: &str) -> Result<StoredAlert> {
    store::require(&k.db, id).await
}

/// The alert's CAP 1.2 text, as received (or as composed here).
pub(crate) async fn cap_xml(k: &Kernel, id: &str) -> Result<String> {
    store::cap_xml(&k.db, id).await
}

/// Codes of the town's areas (町丁目) the alert reaches, and the groups it is limited to.
pub(crate) async fn reach_of(k: &Kernel, id: &str) -> Result<(Vec<String>, Vec<String>)> {
    Ok((store::area_codes(&k.db, id).await?, store::groups(&k.db, id).await?))
}

/// An area (by code or id) and the newest alerts that reached it or any area below it.
pub(crate) async fn of_area(k: &Kernel, code: &str, limit: i64) -> Result<(Area, Vec<StoredAlert>)> {
    let area = kernel::store::areas::get(&k.db, code)
        .await?
        .ok_or_else(|| Error::not_found("area-not-found"))?;
    let alerts = store::recent_for_areas(&k.db, &super::in_force::leaves(k, code).await?, limit).await?;
    Ok((area, alerts))
}
