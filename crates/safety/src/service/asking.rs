//! Asking households whether they are safe: on every channel they have, first when a round
//! starts and again for the silent ones at each reminder.

use kernel::events::Event;
use kernel::store::outbox::{NewDelivery, enqueue};
use kernel::{Kernel, Result};

use crate::model::rule;

use crate::store::{self, Round};

/// Ask every target household on every channel it has: screens (SSE), e-mail with a
/// single-use link, devices over MQTT. With `reminder` = Some(n), only the silent ones.
pub async fn announce(k: &Kernel, round: &Round) -> Result<()> {
    ask(k, round, None, &["terminal", "email", "mqtt"]).await
}

pub async fn ask(k: &Kernel, round: &Round, reminder: Option<i64>, channels: &[&str]) -> Result<()> {
    let silent_only = reminder.is_some();
    let source = format!("safety:{}", round.id);
    let step = match reminder {
        Some(n) => format!("remind{n}"),
        None => "ask".into(),
    };
    if channels.contains(&"terminal") {
        let areas = if silent_only {
            store::silent_areas(&k.db, &round.id).await?
        } else {
            store::round_areas(&k.db, &round.id).await?
        };
        if !areas.is_empty() {
            k.hub.publish(Event {
                kind: "safety".into(),
                id: k.new_id(),
                area_ids: areas,
                person_ids: Vec::new(),
                data: serde_json::json!({ "round": round.id, "title": round.title, "reminder": silent_only }),
            });
        }
    }
    if channels.contains(&"email") {
        let recipients = store::email_recipients(&k.db, &round.id, silent_only).await?;
        let pairs: Vec<(String, String)> = recipients.iter().map(|(p, h, _)| (p.clone(), h.clone())).collect();
        let expires = k.now() + crate::config::of(k).link_hours as i64 * 3_600_000;
        let mut deliveries = Vec::with_capacity(recipients.len());
        for (chunk, rows) in pairs.chunks(2000).zip(recipients.chunks(2000)) {
            let tokens = store::create_links(k, &round.id, chunk, expires).await?;
            // Each e-mail in the language its reader chose (Japanese when none).
            let ids: Vec<&str> = rows.iter().map(|(p, _, _)| p.as_str()).collect();
            let langs = kernel::store::people::languages(&k.db, &ids).await?;
            for ((person, _, address), token) in rows.iter().zip(tokens) {
                let lang = langs.get(person).copied().unwrap_or(kernel::i18n::Lang::Ja);
                let (subject, body) =
                    crate::model::answer_mail(&round.title, &k.link(&format!("/safety/a/{token}")), silent_only)
                        .render(lang);
                deliveries.push(NewDelivery {
                    channel: "email".into(),
                    source: source.clone(),
                    person_id: Some(person.clone()),
                    address: address.clone(),
                    subject,
                    body,
                    dedupe_key: format!("safety:{}:{step}:email:{person}", round.id),
                });
            }
        }
        for chunk in deliveries.chunks(5000) {
            enqueue(k, chunk).await?;
        }
    }
    if channels.contains(&"mqtt") {
        let devices = store::device_recipients(&k.db, &round.id, silent_only).await?;
        let deliveries: Vec<NewDelivery> = devices
            .into_iter()
            .map(|(person, _, device)| NewDelivery {
                channel: "mqtt".into(),
                source: source.clone(),
                person_id: Some(person),
                address: format!("machi/devices/{device}"),
                subject: round.id.clone(),
                body: serde_json::json!({
                    "kind": "safety",
                    "round": round.id,
                    "title": round.title,
                    "reminder": silent_only,
                    "answer_topic": format!("machi/acks/{device}"),
                    "answers": { "safe": format!("safety:{}:safe", round.id), "help": format!("safety:{}:help", round.id) },
                })
                .to_string(),
                dedupe_key: format!("safety:{}:{step}:mqtt:{device}", round.id),
            })
            .collect();
        enqueue(k, &deliveries).await?;
    }
    Ok(())
}

/// Remind the silent households of open rounds when a reminder is due (each goes once, even
/// with two nodes). Returns how many rounds were reminded.
pub async fn remind(k: &Kernel) -> Result<usize> {
    let mut reminded = 0;
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
        reminded += 1;
    }
    Ok(reminded)
}
