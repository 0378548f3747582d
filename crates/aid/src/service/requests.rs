//! Requests: asking, who may see them and how, suggestions (with the reason for each),
//! invitations and broadcasts.

use crate::policy::{Action, Resource};
use kernel::i18n::{Lang, t};
use kernel::model::audit::AuditRecord;
use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::lifecycle::{self, Party, State as St};
use crate::model::matching;
use crate::model::{Category, RequestInput};
use crate::store::index::{self, Want};
use crate::store::{self, Offer, Request, Review, Settlement};

use super::profiles::area_point;
use super::{fees, invalid, me, party, resource, state_of};

/// A request as the asker may see it: the exact place and the other party's contact details
/// only between the two, after acceptance.
#[derive(Serialize, ToSchema)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: Request,
    pub area_name: String,
    pub requester_name: String,
    pub supporter_name: Option<String>,
    /// `requester`, `supporter` or `other`.
    pub party: String,
    /// The amount for the agreed fee and the time.
    pub amount: Option<i64>,
    /// Shown only between the parties once accepted.
    pub contact: Option<Contact>,
    pub offers: Vec<Offer>,
    pub settlement: Option<Settlement>,
    pub reviews: Vec<Review>,
}

#[derive(Serialize, ToSchema)]
pub struct Contact {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// The exact place (for the supporter): `lat,lon`, when the requester gave a point.
    pub point: Option<String>,
    /// Where to meet, in the requester's words (for the supporter).
    pub place: Option<String>,
    /// The requester's address as registered (for the supporter).
    pub address: Option<String>,
}

pub(crate) async fn create_for(k: &Kernel, actor: &Actor, input: &RequestInput) -> Result<Request> {
    let me = me(actor)?.to_string();
    if !may(actor, Action::AskAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let checked = input.check(k.now(), fees(k)).map_err(invalid)?;
    let bad = |key: &'static str, field: &str| Error::invalid_with(key, vec![("field", field.to_string())]);
    let (area_id, lat, lon, exact) = match (input.lat, input.lon, input.area.as_deref().map(str::trim)) {
        (Some(lat), Some(lon), _) => {
            let area = kernel::store::areas::at_point(&k.db, kernel::model::geometry::Point { lat, lon })
                .await?
                .ok_or_else(|| bad("aid-point-outside", "lat"))?;
            (area.id, lat, lon, true)
        }
        (None, None, Some(code)) if !code.is_empty() => {
            let area = kernel::store::areas::get(&k.db, code)
                .await?
                .ok_or_else(|| bad("aid-area-unknown", "area"))?;
            let (lat, lon) = area_point(k, Some(&area.id))
                .await?
                .ok_or_else(|| bad("aid-area-unknown", "area"))?;
            (area.id, lat, lon, false)
        }
        (None, None, _) => {
            // Where the requester lives.
            let p = kernel::store::people::require(&k.db, &me).await?;
            let area = p.area_id.ok_or_else(|| bad("aid-area-required", "area"))?;
            let (lat, lon) = area_point(k, Some(&area))
                .await?
                .ok_or_else(|| bad("aid-area-required", "area"))?;
            (area, lat, lon, false)
        }
        _ => return Err(bad("aid-point-invalid", "lat")),
    };
    let mut tx = k.db.begin().await?;
    let r = store::create_request(
        &mut tx,
        k,
        store::NewRequest {
            requester_id: &me,
            checked: &checked,
            area_id: &area_id,
            lat,
            lon,
            exact_point: exact,
        },
    )
    .await?;
    let rec = AuditRecord::new(Some(&me), "aid.request", format!("aid/{}", r.id)).reason(checked.category.as_str());
    kernel::store::audit::append_in(&mut tx, k.now(), vec![rec]).await?;
    tx.commit().await?;
    Ok(r)
}

/// Was the request put before this supporter: invited (by the requester or the coordinator),
/// offered already, or broadcast — and is it still looking for someone? Others never see it,
/// and after the match nobody but the two does.
pub(crate) async fn reaches(k: &Kernel, me: &str, r: &Request) -> Result<bool> {
    if !matches!(state_of(r), St::Open | St::Offered) {
        return Ok(false);
    }
    Ok(r.audience != "invited"
        || store::invited(&k.db, &r.id, me).await?
        || store::offers(&k.db, &r.id).await?.iter().any(|o| o.supporter_id == me))
}

/// May a supporter (not a party) see this request: it reaches them, and they are eligible (for
/// a broadcast to acquaintances, an acquaintance). Eligibility is judged from the 町丁目's centre,
/// so the exact place cannot be found by moving one's radius about.
pub(crate) async fn visible_to_supporter(k: &Kernel, actor: &Actor, r: &Request) -> Result<bool> {
    let me = me(actor)?;
    if !reaches(k, me, r).await? {
        return Ok(false);
    }
    if store::invited(&k.db, &r.id, me).await?
        || store::offers(&k.db, &r.id).await?.iter().any(|o| o.supporter_id == me)
    {
        return Ok(true);
    }
    let idx = index::current(k).await?;
    if idx.get(me).is_none() {
        return Ok(false);
    }
    let trust = index::trust_of(&k.db, &r.requester_id).await?;
    let want = want_public(k, r).await?;
    let Some(facts) = idx.facts_for(me, &want, &trust) else {
        return Ok(false);
    };
    let ok = matching::eligible(want.category, &facts).is_ok();
    Ok(ok && (r.audience == "nearby" || facts.trust.is_acquaintance()))
}

/// The request as others may know it: placed at its 町丁目's centre.
pub(crate) async fn want_public<'a>(k: &Kernel, r: &'a Request) -> Result<Want<'a>> {
    let mut w = want_of(k, r);
    if r.exact_point != 0
        && let Some((lat, lon)) = area_point(k, Some(&r.area_id)).await?
    {
        w.lat = lat;
        w.lon = lon;
    }
    Ok(w)
}

pub fn want_of<'a>(k: &Kernel, r: &'a Request) -> Want<'a> {
    Want {
        requester_id: &r.requester_id,
        category: Category::parse(&r.category).unwrap_or(Category::Other),
        lat: r.lat,
        lon: r.lon,
        starts_at: r.starts_at,
        duration_minutes: r.duration_minutes,
        description: &r.description,
        // Certifications must be valid today and on the day of the activity.
        today: kernel::model::clock::to_rfc3339_jst(k.now())[..10].to_string(),
        activity_date: kernel::model::clock::to_rfc3339_jst(r.starts_at)[..10].to_string(),
    }
}

pub(crate) async fn view_for(k: &Kernel, actor: &Actor, r: Request) -> Result<RequestView> {
    let p = party(actor, &r);
    let coordinator = may(actor, Action::CoordinateAid, &Resource::Town);
    if p == Party::Other && !coordinator && !visible_to_supporter(k, actor, &r).await? {
        return Err(Error::Forbidden);
    }
    let name = |id: String| async move {
        kernel::store::people::get(&k.db, &id)
            .await
            .map(|p| p.map(|p| p.display_name))
    };
    let contact = if lifecycle::contacts_visible(state_of(&r), p) {
        let other = if p == Party::Requester {
            r.supporter_id.clone().unwrap_or_default()
        } else {
            r.requester_id.clone()
        };
        let o = kernel::store::people::require(&k.db, &other).await?;
        // The contact details are shown only once their read is on the record.
        let rec = AuditRecord::new(actor.person_id.as_deref(), "aid.contact", format!("aid/{}", r.id)).subject(&o.id);
        kernel::service::record_alone(k, vec![rec]).await?;
        Some(Contact {
            name: o.display_name,
            phone: o.phone,
            email: o.email,
            point: (p == Party::Supporter && r.exact_point != 0).then(|| format!("{:.5},{:.5}", r.lat, r.lon)),
            place: r.place.clone().filter(|_| p == Party::Supporter),
            address: o.address.filter(|_| p == Party::Supporter),
        })
    } else {
        None
    };
    let offers = if p == Party::Requester || coordinator {
        store::offers(&k.db, &r.id).await?
    } else {
        Vec::new()
    };
    let parties = p != Party::Other;
    Ok(RequestView {
        area_name: kernel::store::areas::get(&k.db, &r.area_id)
            .await?
            .map(|a| a.name)
            .unwrap_or_default(),
        requester_name: name(r.requester_id.clone()).await?.unwrap_or_default(),
        supporter_name: match &r.supporter_id {
            Some(s) => name(s.clone()).await?,
            None => None,
        },
        party: match p {
            Party::Requester => "requester",
            Party::Supporter => "supporter",
            Party::Other => "other",
        }
        .into(),
        amount: r.fee_agreed.map(|f| crate::model::amount(f, r.duration_minutes)),
        contact,
        offers,
        settlement: if parties {
            store::settlement(&k.db, &r.id).await?
        } else {
            None
        },
        reviews: if parties {
            store::reviews(&k.db, &r.id).await?
        } else {
            Vec::new()
        },
        request: r,
    })
}

#[derive(Serialize, ToSchema)]
pub struct MyAid {
    /// Requests I asked.
    pub asked: Vec<Request>,
    /// Activities I took on as a supporter.
    pub helping: Vec<Request>,
    /// Open requests I may offer on (invited, or broadcast and I am eligible).
    pub open_to_me: Vec<Request>,
}

pub(crate) async fn mine_for(k: &Kernel, actor: &Actor) -> Result<MyAid> {
    let me = me(actor)?;
    let asked = store::of_requester(&k.db, me, 50).await?;
    let helping = store::of_supporter(&k.db, me, 50).await?;
    let mut open_to_me = Vec::new();
    if store::supporter(&k.db, me).await?.is_some() || !store::invitations_of(&k.db, me).await?.is_empty() {
        for r in store::open_requests(&k.db, k.now(), 200).await? {
            if r.requester_id != me && visible_to_supporter(k, actor, &r).await? {
                open_to_me.push(r);
            }
        }
    }
    Ok(MyAid {
        asked,
        helping,
        open_to_me,
    })
}

/// One suggestion with its reason in words.
#[derive(Serialize, ToSchema)]
pub struct SuggestionView {
    #[serde(flatten)]
    pub suggestion: matching::Suggestion,
    pub name: String,
    /// 「同じ町会・1.2km・評価4.8・土曜午前に対応可」
    pub why: String,
    pub insured: bool,
}

pub(crate) async fn suggestions_for(k: &Kernel, actor: &Actor, r: &Request, lang: Lang) -> Result<Vec<SuggestionView>> {
    if party(actor, r) != Party::Requester && !may(actor, Action::CoordinateAid, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let idx = index::current(k).await?;
    let trust = index::trust_of(&k.db, &r.requester_id).await?;
    let want = want_of(k, r);
    let list = index::suggest(&idx, &want, &trust, crate::config::of(k).suggestions);
    let (weekday, minute) = crate::model::local_weekday_minute(r.starts_at);
    let ids: Vec<&str> = list.iter().map(|s| s.person_id.as_str()).collect();
    let mut names = kernel::store::people::display_names(&k.db, &ids).await?;
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        let why = why_text(lang, &matching::reasons(&s, weekday, minute));
        let name = names.remove(&s.person_id).unwrap_or_default();
        let insured = idx.get(&s.person_id).is_some_and(|e| e.covers(want.category));
        out.push(SuggestionView {
            suggestion: s,
            name,
            why,
            insured,
        });
    }
    Ok(out)
}

/// The reasons joined in the asker's language.
pub fn why_text(lang: Lang, reasons: &[matching::Reason]) -> String {
    let parts: Vec<String> = reasons
        .iter()
        .map(|r| {
            let mut args: Vec<(&str, String)> = r.args.clone();
            for (k, v) in args.iter_mut() {
                if *k == "day" {
                    *v = t(lang, &format!("aid-weekday-{v}"), &[]);
                } else if *k == "part" {
                    *v = t(lang, &format!("aid-part-{v}"), &[]);
                }
            }
            t(lang, r.key, &args)
        })
        .collect();
    // 「同じ町会・1.2km」 in Japanese; "acquaintance, 1.2 km" in English.
    parts.join(if lang == Lang::Ja { "・" } else { ", " })
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct SupporterRef {
    pub supporter_id: String,
}

/// Why this supporter may not take the request, as a 403 that says so. `public`: judged as the
/// supporter may know the request (from its 町丁目's centre).
pub(crate) async fn check_eligible(k: &Kernel, r: &Request, supporter: &str, public: bool) -> Result<()> {
    let idx = index::current(k).await?;
    if idx.get(supporter).is_none() {
        return Err(Error::refused("aid-not-a-supporter", vec![]));
    }
    let trust = index::trust_of(&k.db, &r.requester_id).await?;
    let want = if public {
        want_public(k, r).await?
    } else {
        want_of(k, r)
    };
    let facts = idx
        .facts_for(supporter, &want, &trust)
        .ok_or_else(|| Error::refused("aid-not-a-supporter", vec![]))?;
    matching::eligible(want.category, &facts).map_err(|e| Error::refused(e.key(), vec![]))
}

pub(crate) async fn invite_for(k: &Kernel, actor: &Actor, id: &str, supporter: &str) -> Result<()> {
    let r = store::require(&k.db, id).await?;
    if !may(actor, Action::ManageAidRequest, &resource(&r)) {
        return Err(Error::Forbidden);
    }
    if !matches!(state_of(&r), St::Open | St::Offered) {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    check_eligible(k, &r, supporter, false).await?;
    if store::invite(k, &r.id, supporter, me(actor)?).await? {
        let name = crate::service::notices::name(k, &r.requester_id).await?;
        let notice = crate::model::notice::invited(&name, &r.category, &crate::service::notices::link(k, &r.id));
        crate::service::notices::notify(
            k,
            &[supporter.to_string()],
            &notice,
            &format!("aid:{}:invite:{supporter}", r.id),
        )
        .await?;
    }
    Ok(())
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct AudienceInput {
    /// `acquaintances` (people linked to me) or `nearby` (everyone eligible around).
    pub audience: String,
}

pub(crate) async fn broadcast_for(k: &Kernel, actor: &Actor, id: &str, audience: &str) -> Result<usize> {
    let r = store::require(&k.db, id).await?;
    if !may(actor, Action::ManageAidRequest, &resource(&r)) {
        return Err(Error::Forbidden);
    }
    if !["acquaintances", "nearby"].contains(&audience) {
        return Err(Error::invalid_with(
            "aid-audience-invalid",
            vec![("field", "audience".into())],
        ));
    }
    if !matches!(state_of(&r), St::Open | St::Offered) {
        return Err(Error::conflict("aid-wrong-state", vec![]));
    }
    store::set_audience(&k.db, &r.id, audience).await?;
    // Tell those it now reaches (a nearby broadcast tells the best 50, not a whole town).
    let idx = index::current(k).await?;
    let trust = index::trust_of(&k.db, &r.requester_id).await?;
    let want = want_of(k, &r);
    let reach: Vec<String> = index::suggest(&idx, &want, &trust, 50)
        .into_iter()
        .filter(|s| audience == "nearby" || s.trust.is_acquaintance())
        .map(|s| s.person_id)
        .collect();
    let name = crate::service::notices::name(k, &r.requester_id).await?;
    let notice = crate::model::notice::invited(&name, &r.category, &crate::service::notices::link(k, &r.id));
    crate::service::notices::notify(k, &reach, &notice, &format!("aid:{}:broadcast:{audience}", r.id)).await?;
    Ok(reach.len())
}

/// A request and the asker's view of it (`view_for` decides who sees it and records the read
/// of contact details).
pub(crate) async fn view_by_id(k: &Kernel, actor: &Actor, id: &str) -> Result<(Request, RequestView)> {
    let r = store::require(&k.db, id).await?;
    let view = view_for(k, actor, r.clone()).await?;
    Ok((r, view))
}

/// The suggestions for a request, by its id.
pub(crate) async fn suggestions_by_id(k: &Kernel, actor: &Actor, id: &str, lang: Lang) -> Result<Vec<SuggestionView>> {
    let r = store::require(&k.db, id).await?;
    suggestions_for(k, actor, &r, lang).await
}

/// Where the asker and each suggested supporter stand on a request the asker sees: whether the
/// asker offered, and for each suggestion `offered`, `invited` or nothing yet.
pub(crate) async fn standing_for(
    k: &Kernel,
    actor: &Actor,
    view: &RequestView,
    suggestions: &[SuggestionView],
) -> Result<(bool, Vec<&'static str>)> {
    let r = &view.request;
    let me = actor.person_id.as_deref().unwrap_or_default();
    let offered = view.offers.iter().any(|o| o.supporter_id == me)
        || store::offers(&k.db, &r.id).await?.iter().any(|o| o.supporter_id == me);
    let mut asked = Vec::new();
    for s in suggestions {
        let id = &s.suggestion.person_id;
        if view.offers.iter().any(|o| &o.supporter_id == id) {
            asked.push("offered");
        } else if store::invited(&k.db, &r.id, id).await? {
            asked.push("invited");
        } else {
            asked.push("");
        }
    }
    Ok((offered, asked))
}
