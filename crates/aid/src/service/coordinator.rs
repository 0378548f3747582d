//! The coordinator's queue of unmatched requests and their suggestions.

use crate::policy::{Action, Resource};
use kernel::i18n::Lang;
use kernel::model::audit::AuditRecord;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::lifecycle::State as St;
use crate::store::{self, Request};

use super::requests::{SuggestionView, check_eligible, suggestions_for};
use super::{me, state_of};

/// The coordinator's queue: unmatched requests older than `coordinator_after_hours`, each with
/// its best suggestion.
#[derive(Serialize, ToSchema)]
pub struct QueueItem {
    #[serde(flatten)]
    pub request: Request,
    pub requester_name: String,
    pub area_name: String,
    pub waiting_hours: i64,
    pub suggestions: Vec<SuggestionView>,
}

pub(crate) async fn queue_for(k: &Kernel, actor: &Actor, lang: Lang) -> Result<Vec<QueueItem>> {
    if !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let now = k.now();
    let before = now - crate::config::of(k).coordinator_after_hours as i64 * 3_600_000;
    let mut out = Vec::new();
    for r in store::unmatched_since(&k.db, before, now).await? {
        let suggestions = suggestions_for(k, actor, &r, lang).await?.into_iter().take(3).collect();
        out.push(QueueItem {
            requester_name: crate::service::notices::name(k, &r.requester_id).await?,
            area_name: kernel::store::areas::get(&k.db, &r.area_id)
                .await?
                .map(|a| a.name)
                .unwrap_or_default(),
            waiting_hours: (now - r.created_at) / 3_600_000,
            suggestions,
            request: r,
        });
    }
    let rec = AuditRecord::new(actor.person_id.as_deref(), "aid.queue", "aid/queue")
        .reason(&format!("{} requests", out.len()));
    kernel::service::record_alone(k, vec![rec]).await?;
    Ok(out)
}

pub(crate) async fn coordinator_suggest_for(k: &Kernel, actor: &Actor, id: &str, supporter: &str) -> Result<()> {
    if !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let r = store::require(&k.db, id).await?;
    if !matches!(state_of(&r), St::Open | St::Offered) {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    check_eligible(k, &r, supporter, false).await?;
    store::coordinator_suggest(k, &r.id, supporter, me(actor)?).await?;
    let link = crate::service::notices::link(k, &r.id);
    let requester = crate::service::notices::name(k, &r.requester_id).await?;
    let helper = crate::service::notices::name(k, supporter).await?;
    let notice = crate::model::notice::coordinator_to_requester(&helper, &link);
    crate::service::notices::notify(
        k,
        std::slice::from_ref(&r.requester_id),
        &notice,
        &format!("aid:{}:coord:{supporter}:r", r.id),
    )
    .await?;
    let notice = crate::model::notice::coordinator_to_supporter(&requester, &r.category, &link);
    crate::service::notices::notify(
        k,
        &[supporter.to_string()],
        &notice,
        &format!("aid:{}:coord:{supporter}:s", r.id),
    )
    .await
}

/// Reports not yet handled, for the coordinator; reading them (who reported whom) is recorded.
pub(crate) async fn reports_for(k: &Kernel, actor: &Actor) -> Result<Vec<store::Report>> {
    if !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let reports = store::open_reports(&k.db).await?;
    if !reports.is_empty() {
        let rec = AuditRecord::new(actor.person_id.as_deref(), "aid.reports", "aid/reports")
            .reason(&format!("{} reports", reports.len()));
        kernel::service::record_alone(k, vec![rec]).await?;
    }
    Ok(reports)
}

/// A person by name and birth date, as a coordinator knows them.
pub(crate) async fn find_person(k: &Kernel, actor: &Actor, name: &str, birth: &str) -> Result<String> {
    if !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    kernel::store::people::find_by_name_and_birth(&k.db, name, birth)
        .await?
        .ok_or_else(|| Error::invalid_with("aid-person-not-found", vec![("field", "name".into())]))
}
