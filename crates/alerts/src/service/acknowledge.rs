//! 「確認しました」: a person acknowledges an alert (a screen, the web banner, the API, a device's
//! button), and a screen reports that it showed an alert to its person (a receipt, counted as
//! delivered in the report).

use kernel::model::person::Person;
use kernel::{Kernel, Result};

use crate::model::screen::{Screen, credit_receipt};
use crate::store;

/// The person acknowledges the alert on a channel. The first acknowledgement counts; returns
/// whether this was it. An unknown alert is not found.
pub(crate) async fn acknowledge(k: &Kernel, person_id: &str, alert_id: &str, channel: &str) -> Result<bool> {
    let alert = store::require(&k.db, alert_id).await?;
    store::acknowledge(k, &alert.id, person_id, channel).await
}

/// A device pressed its button for an alert (payload: the alert id): the device's person has
/// acknowledged. Anything unknown is ignored (`false`).
pub async fn device_ack(k: &Kernel, device: &str, alert_id: &str) -> Result<bool> {
    let Some(li) = kernel::store::identifiers::lookup(&k.db, "device", device).await? else {
        return Ok(false);
    };
    if store::get(&k.db, alert_id).await?.is_none() {
        return Ok(false);
    }
    store::acknowledge(k, alert_id, &li.person_id, "mqtt").await
}

/// A screen (`web` banner or `terminal`) showed the alert to its person. Only what the screen
/// shows now counts as a delivery: an alert in force for the person (their area and groups)
/// and, on a terminal, not queued behind another that has the screen.
pub(crate) async fn seen(k: &Kernel, person: &Person, alert_id: &str, channel: &str) -> Result<()> {
    let alert = store::require(&k.db, alert_id).await?;
    let screen = if channel == "web" {
        Screen::Web
    } else {
        Screen::Terminal
    };
    let in_force: Vec<_> = super::in_force::in_force_for(k, person, kernel::i18n::Lang::Ja)
        .await?
        .iter()
        .map(|a| a.on_screen())
        .collect();
    if credit_receipt(screen, &in_force, &alert.id) {
        store::record_receipt(k, &alert.id, &person.id, person.area_id.as_deref(), channel).await?;
    }
    Ok(())
}
