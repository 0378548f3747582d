//! The safety module's background work, once a second on the kernel's clock (so tests can
//! move time): start rounds for alerts that match the town's rule (after the configured
//! delay; aftershocks join the open round), send reminders, escalate silent 要支援者 households.
//! Every step is safe with two nodes: the database decides who does it.

use std::time::Duration;

use kernel::store::outbox::{NewDelivery, enqueue};
use kernel::{Kernel, Result};

use crate::model::rule;
use crate::service::asking::{announce, ask};
use crate::store::{self, Round};

pub fn spawn(k: Kernel) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(async move {
        loop {
            if let Err(e) = tick(&k).await {
                tracing::warn!(error = %e, "safety job failed; trying again");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })]
}

/// What one pass did.
#[derive(Debug, Default, PartialEq)]
pub struct Tick {
    pub started: Vec<String>,
    pub joined: Vec<String>,
    pub reminders: usize,
    pub escalated: usize,
}

pub async fn tick(k: &Kernel) -> Result<Tick> {
    let mut t = Tick::default();
    auto_start(k, &mut t).await?;
    announce_unfinished(k).await?;
    remind(k, &mut t).await?;
    escalate(k, &mut t).await?;
    Ok(t)
}

async fn auto_start(k: &Kernel, t: &mut Tick) -> Result<()> {
    let cfg = &*crate::config::of(k);
    if !cfg.auto_start {
        return Ok(());
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
                t.joined.push(r.id.clone());
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
            announce(k, &round).await?;
            store::mark_announced(k, &round.id).await?;
            t.started.push(round.id);
        }
    }
    Ok(())
}

/// Rounds started but whose households were never asked (the node died or sending failed
/// in between): ask now. Young rounds are left to the request that is still asking.
async fn announce_unfinished(k: &Kernel) -> Result<()> {
    let now = k.now();
    for round in store::unannounced(&k.db).await? {
        if now - round.started_at >= 30_000 {
            announce(k, &round).await?;
            store::mark_announced(k, &round.id).await?;
        }
    }
    Ok(())
}

async fn remind(k: &Kernel, t: &mut Tick) -> Result<()> {
    let cfg = &*crate::config::of(k);
    let now = k.now();
    for round in store::open(&k.db).await? {
        let due = rule::reminders_due(round.started_at, cfg, now) as i64;
        if due <= round.reminders_sent {
            continue;
        }
        // Only the node that moves the counter sends; a reminder missed while down is sent once.
        if !store::bump_reminders(k, &round.id, round.reminders_sent, due).await? {
            continue;
        }
        let channels = rule::reminder_channels(cfg, round.reminders_sent as usize, due as usize);
        let channels: Vec<&str> = channels.iter().map(String::as_str).collect();
        ask(k, &round, Some(due), &channels).await?;
        t.reminders += 1;
    }
    Ok(())
}

async fn escalate(k: &Kernel, t: &mut Tick) -> Result<()> {
    let cfg = &*crate::config::of(k);
    let now = k.now();
    for round in store::open(&k.db).await? {
        if !rule::escalation_due(round.started_at, cfg, now) {
            continue;
        }
        for (household, area, visitor) in store::to_escalate(&k.db, &round.id).await? {
            // The assigned visitor if there is one, else the officers and supporters of the area,
            // and the watch-over circle's ladder of anyone in the household; else (nobody covers
            // the area) the city's staff with the alerts duty.
            let mut to: Vec<String> = match visitor {
                Some(v) => vec![v],
                None => {
                    let path = kernel::store::areas::path(&k.db, Some(&area)).await?;
                    store::visitors(&k.db, &path)
                        .await?
                        .into_iter()
                        .map(|(id, _)| id)
                        .collect()
                }
            };
            // A watched person's circle (見守りの輪) knows them best: its ladder is told too, first.
            let members: Vec<String> = kernel::store::households::members(&k.db, &household)
                .await?
                .into_iter()
                .map(|m| m.person_id)
                .collect();
            let mut circle = watch::service::for_others::ladders_of(&k.db, &members).await?;
            if !circle.is_empty() {
                circle.retain(|p| !to.contains(p));
                circle.extend(to);
                to = circle;
            }
            if to.is_empty() {
                to = kernel::store::orgs::duty_staff(&k.db, "alerts").await?;
            }
            if !store::mark_escalated(k, &round.id, &household, &to).await? {
                continue;
            }
            t.escalated += 1;
            let h = kernel::store::households::get(&k.db, &household).await?;
            let (name, address) = h.map(|h| (h.name, h.address.unwrap_or_default())).unwrap_or_default();
            let mut mail = Vec::new();
            for person in &to {
                if let Some(p) = kernel::store::people::get(&k.db, person).await?
                    && let Some(email) = p.email
                {
                    let (subject, body) = crate::model::escalation_mail(
                        &round.title,
                        &name,
                        &address,
                        &k.link(&format!("/safety/{}", round.id)),
                    )
                    .render(kernel::i18n::Lang::from_tag(p.language.as_deref()));
                    mail.push(NewDelivery {
                        channel: "email".into(),
                        source: format!("safety:{}", round.id),
                        person_id: Some(person.clone()),
                        address: email,
                        subject,
                        body,
                        dedupe_key: format!("safety:{}:escalate:{household}:{person}", round.id),
                    });
                }
            }
            enqueue(k, &mail).await?;
        }
    }
    Ok(())
}
