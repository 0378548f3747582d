//! Rounds: who sees which, starting one (an officer for their area, city staff for any) and
//! closing it, and what the overview and a round's page show the asker.

use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::rule;
use crate::model::tally::{AreaTally, total};
use crate::policy::{Action, Resource};
use crate::store::{self, Round};

/// What the actor may see and do in a round, area by area.
pub(crate) struct Scope {
    /// Areas whose tallies the actor sees.
    pub tally: Vec<String>,
    /// Areas whose follow-up lists (and visits) the actor handles.
    pub follow_up: Vec<String>,
    /// The actor's household is asked in this round: they see the counts.
    pub resident: bool,
}

pub(crate) async fn scope(k: &Kernel, actor: &Actor, round: &Round) -> Result<Scope> {
    let town = may(actor, Action::ViewSafetyTally, &Resource::Town);
    let mut s = Scope {
        tally: Vec::new(),
        follow_up: Vec::new(),
        resident: false,
    };
    for area in store::round_areas(&k.db, &round.id).await? {
        let area_path = kernel::store::areas::path(&k.db, Some(&area)).await?;
        let resource = Resource::Area { area_path };
        if town || may(actor, Action::ViewSafetyTally, &resource) {
            s.tally.push(area.clone());
        }
        if may(actor, Action::FollowUpSafety, &resource) {
            s.follow_up.push(area);
        }
    }
    if let Some(h) = &actor.household_id {
        s.resident = store::target(&k.db, &round.id, h).await?.is_some();
    }
    Ok(s)
}

/// A round as the API shows it, with the tallies the asker may see.
#[derive(Serialize, ToSchema)]
pub struct RoundView {
    #[serde(flatten)]
    pub round: Round,
    /// Sum over the areas shown.
    pub total: AreaTally,
    /// Per area; empty for residents, who see only the total.
    pub areas: Vec<AreaTally>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartInput {
    /// Area code or id: the town, a district, a 町丁目.
    pub area: String,
    pub title: String,
}

/// Start a round for an area: an officer for their own, city staff for any. The round and its
/// audit entry commit together; then the households are asked.
pub(crate) async fn start_for(k: &Kernel, actor: &Actor, area: &str, title: &str) -> Result<Round> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(Error::invalid_with(
            "safety-title-invalid",
            vec![("field", "title".into())],
        ));
    }
    let area = kernel::store::areas::get(&k.db, area.trim())
        .await?
        .ok_or_else(|| Error::invalid_with("area-unknown", vec![("area", area.to_string())]))?;
    let area_path = kernel::store::areas::path(&k.db, Some(&area.id)).await?;
    if !may(actor, Action::StartSafetyRound, &Resource::Area { area_path }) {
        return Err(Error::Forbidden);
    }
    let how = if may(actor, Action::StartSafetyRound, &Resource::Town) {
        "staff"
    } else {
        "officer"
    };
    let by = actor.person_id.as_deref();
    let mut tx = k.db.begin().await?;
    let round = store::start_in(&mut tx, k, &area.id, title, how, by, None).await?;
    let entry = super::audit(by, "safety.start", &round.id).reason(&area.code);
    kernel::store::audit::append_in(&mut tx, k.now(), vec![entry]).await?;
    tx.commit().await?;
    // Should asking fail half-way, the round is there and the job asks again.
    super::asking::announce(k, &round).await?;
    store::mark_announced(k, &round.id).await?;
    Ok(round)
}

/// Rounds the actor may see (open first): officers and staff theirs, residents those asking them.
pub(crate) async fn visible_rounds(k: &Kernel, actor: &Actor) -> Result<Vec<Round>> {
    let mut out = Vec::new();
    for r in store::recent(&k.db, 50).await? {
        let s = scope(k, actor, &r).await?;
        if !s.tally.is_empty() || !s.follow_up.is_empty() || s.resident {
            out.push(r);
        }
    }
    out.sort_by_key(|r| (r.closed_at.is_some(), -r.started_at));
    Ok(out)
}

/// The round with the tallies the actor may see; refused if they may see nothing of it.
pub(crate) async fn view_for(k: &Kernel, actor: &Actor, round: Round) -> Result<(RoundView, Scope)> {
    let s = scope(k, actor, &round).await?;
    if s.tally.is_empty() && s.follow_up.is_empty() && !s.resident {
        return Err(Error::Forbidden);
    }
    let (total, areas) = if !s.tally.is_empty() || !s.follow_up.is_empty() {
        let mut shown = s.tally.clone();
        shown.extend(s.follow_up.iter().cloned());
        let areas = store::tally(&k.db, &round.id, Some(&shown)).await?;
        (total(&areas), areas)
    } else {
        // Residents of an area see only how many answered, never who.
        (total(&store::tally(&k.db, &round.id, None).await?), Vec::new())
    };
    Ok((RoundView { round, total, areas }, s))
}

/// When each household of the areas shown first answered, in ms after the start (the curve).
pub(crate) async fn first_answers(k: &Kernel, round: &Round, shown: &[String]) -> Result<Vec<i64>> {
    store::first_answers(&k.db, round, Some(shown)).await
}

/// May the actor close (and start) rounds for the round's area?
pub(crate) async fn may_close(k: &Kernel, actor: &Actor, round: &Round) -> Result<bool> {
    let area_path = kernel::store::areas::path(&k.db, Some(&round.area_id)).await?;
    Ok(may(actor, Action::StartSafetyRound, &Resource::Area { area_path }))
}

pub(crate) async fn close_for(k: &Kernel, actor: &Actor, id: &str) -> Result<Round> {
    let round = store::require(&k.db, id).await?;
    if !may_close(k, actor, &round).await? {
        return Err(Error::Forbidden);
    }
    store::close(k, id).await
}

/// An open round asking the household of someone the actor watches over as family.
pub(crate) struct FamilyRound {
    pub round: Round,
    pub household_id: String,
    pub household: String,
    /// The watched person, by name.
    pub person: String,
    /// The household's latest answer, if any.
    pub state: Option<String>,
}

/// The overview: rounds the actor sees, areas they may start one for, open rounds asking
/// households they may answer for as family (代理回答), and those asking their own.
pub(crate) struct Overview {
    pub rounds: Vec<Round>,
    pub startable: Vec<kernel::model::area::Area>,
    pub family: Vec<FamilyRound>,
    pub own: Vec<Round>,
}

pub(crate) async fn overview_for(k: &Kernel, actor: &Actor) -> Result<Overview> {
    let rounds = visible_rounds(k, actor).await?;
    // Areas the actor may start a round for: all for city staff, their own for officers.
    let mut startable = Vec::new();
    for a in kernel::store::areas::list(&k.db).await? {
        let area_path = kernel::store::areas::path(&k.db, Some(&a.id)).await?;
        if may(actor, Action::StartSafetyRound, &Resource::Area { area_path }) {
            startable.push(a);
        }
    }
    let mut family = Vec::new();
    let households = super::answers::family_households(k, actor).await?;
    let ids: Vec<String> = households.iter().map(|(h, _)| h.clone()).collect();
    for (round, h) in store::open_for_households(&k.db, &ids).await? {
        let watched = households
            .iter()
            .find(|(x, _)| x == &h)
            .map(|(_, p)| p.clone())
            .unwrap_or_default();
        let person = kernel::store::people::get(&k.db, &watched)
            .await?
            .map(|p| p.display_name)
            .unwrap_or_default();
        let state = store::target(&k.db, &round.id, &h).await?.and_then(|(_, s)| s);
        family.push(FamilyRound {
            household: super::answers::household_name(k, &h).await?,
            round,
            household_id: h,
            person,
            state,
        });
    }
    let own = match actor.household_id.as_deref() {
        Some(h) => store::pending_for_household(&k.db, h).await?,
        None => Vec::new(),
    };
    Ok(Overview {
        rounds,
        startable,
        family,
        own,
    })
}

/// The household's latest answer in the round, when the actor's household is asked.
pub(crate) async fn own_state(k: &Kernel, actor: &Actor, round: &Round, s: &Scope) -> Result<Option<String>> {
    Ok(match &actor.household_id {
        Some(h) if s.resident => store::target(&k.db, &round.id, h).await?.and_then(|(_, s)| s),
        _ => None,
    })
}

/// A round by id, or `safety-round-not-found`.
pub(crate) async fn require(k: &Kernel, id: &str) -> Result<Round> {
    store::require(&k.db, id).await
}

/// Open rounds asking the actor's household that it has not answered yet.
pub(crate) async fn pending_for(k: &Kernel, actor: &Actor) -> Result<Vec<Round>> {
    match actor.household_id.as_deref() {
        Some(h) => pending(k, h).await,
        None => Ok(Vec::new()),
    }
}

/// Open rounds asking this household that it has not answered yet (the home page's card).
pub(crate) async fn pending(k: &Kernel, household_id: &str) -> Result<Vec<Round>> {
    store::pending_for_household(&k.db, household_id).await
}

/// Start rounds for alerts that match the town's rule (after the configured delay); an
/// aftershock's alert joins the open round. Returns (rounds started, rounds joined).
pub async fn auto_start(k: &Kernel) -> Result<(Vec<String>, Vec<String>)> {
    let (mut started, mut joined) = (Vec::new(), Vec::new());
    let cfg = &*crate::config::of(k);
    if !cfg.auto_start {
        return Ok((started, joined));
    }
    let now = k.now();
    for a in store::alerts_without_round(&k.db, now - 86_400_000).await? {
        let facts = rule::AlertFacts {
            status: &a.status,
            msg_type: &a.msg_type,
            event: &a.event,
            headline: &a.headline,
            category: &a.category,
        };
        if !rule::triggers(cfg, &facts) {
            continue;
        }
        // A mistaken alert cancelled during the delay starts nothing.
        if a.replaced || alerts::service::for_others::is_replaced(&k.db, &a.id).await? {
            continue;
        }
        // Aftershocks are counted from the round's first alert (its start may be later by the delay).
        let mut open: Option<Round> = None;
        for r in store::open(&k.db)
            .await?
            .into_iter()
            .filter(|r| r.started_how == "alert")
        {
            let anchor = store::first_alert_at(&k.db, &r.id).await?.unwrap_or(r.started_at);
            if rule::joins_open_round(anchor, a.created_at, cfg) {
                open = Some(r);
                break;
            }
        }
        if let Some(r) = &open {
            if store::join(k, &r.id, &a.id).await? {
                joined.push(r.id.clone());
            }
            continue;
        }
        // A new round waits out the delay (an aftershock above joins at once).
        if !rule::start_due(a.created_at, cfg, now) {
            continue;
        }
        let Some(area) = store::alert_scope(&k.db, &a.id).await? else {
            continue; // reaches nobody in the town
        };
        let title = if a.headline.is_empty() {
            a.event.clone()
        } else {
            a.headline.clone()
        };
        let (round, created) = store::start(k, &area, &title, "alert", None, Some(&a.id)).await?;
        if created {
            super::asking::announce(k, &round).await?;
            store::mark_announced(k, &round.id).await?;
            started.push(round.id);
        }
    }
    Ok((started, joined))
}

/// Rounds started but whose households were never asked (the node died or sending failed
/// in between): ask now. Young rounds are left to the request that is still asking.
pub async fn announce_unfinished(k: &Kernel) -> Result<()> {
    let now = k.now();
    for round in store::unannounced(&k.db).await? {
        if now - round.started_at >= 30_000 {
            super::asking::announce(k, &round).await?;
            store::mark_announced(k, &round.id).await?;
        }
    }
    Ok(())
}
