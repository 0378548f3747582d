//! The export for the disaster HQ: results per area always; per household only for the areas
//! whose households the asker may list — a read of personal data, committed with its audit entry.

use kernel::i18n::Lang;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};

use crate::store::{self, Round};

// Quoted, with a leading = + - @ TAB or CR neutralised so spreadsheets never run a field.
use kernel::web::csv::field as csv_field;

/// The export as CSV (with a BOM, so spreadsheets read it as UTF-8).
pub(crate) async fn export_for(k: &Kernel, actor: &Actor, round: &Round, lang: Lang) -> Result<String> {
    let s = super::rounds::scope(k, actor, round).await?;
    if s.tally.is_empty() {
        return Err(Error::Forbidden);
    }
    let mut out = String::from("\u{feff}");
    out.push_str("section,area_code,area,households,answered,safe,help,silent,rate_percent\r\n");
    for a in store::tally(&k.db, &round.id, Some(&s.tally)).await? {
        out.push_str(&format!(
            "area,{},{},{},{},{},{},{},{}\r\n",
            csv_field(&a.code),
            csv_field(&a.name),
            a.households,
            a.answered,
            a.safe,
            a.help,
            a.silent,
            a.rate
        ));
    }
    let mut listed = Vec::new();
    for area in &s.tally {
        let area_path = kernel::store::areas::path(&k.db, Some(area)).await?;
        if may(
            actor,
            kernel::model::policy::Action::ListPeople,
            &kernel::model::policy::Resource::Area { area_path },
        ) {
            listed.push(area.clone());
        }
    }
    if listed.is_empty() {
        return Ok(out);
    }
    let mut tx = k.db.begin().await?;
    let rows = store::export_rows_in(&mut tx, &round.id).await?;
    let entry = super::audit(actor.person_id.as_deref(), "safety.export", &round.id)
        .reason(&format!("{} areas with households", listed.len()));
    kernel::store::audit::append_in(&mut tx, k.now(), vec![entry]).await?;
    tx.commit().await?;
    out.push_str(
        "section,area_code,area,household_id,household,address,status,answered_at,needs_support,answered_for_by\r\n",
    );
    for r in rows.iter().filter(|r| listed.contains(&r.area_id)) {
        out.push_str(&format!(
            "household,{},{},{},{},{},{},{},{},{}\r\n",
            csv_field(&r.code),
            csv_field(&r.area),
            csv_field(&r.household_id),
            csv_field(&r.household),
            csv_field(r.address.as_deref().unwrap_or("")),
            r.status.as_deref().unwrap_or("silent"),
            csv_field(
                &r.answered_at
                    .map(|at| kernel::web::render::human_time(lang, at))
                    .unwrap_or_default()
            ),
            r.needs_support,
            csv_field(r.proxy.as_deref().unwrap_or(""))
        ));
    }
    Ok(out)
}
