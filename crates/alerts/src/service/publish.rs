//! Publishing: a CAP alert from the JSON API, the web's compose form, or the end (Cancel or
//! 解除) of one in force — stored with its audit entry in one transaction, then sent on every
//! channel (screens, e-mail through the outbox, MQTT).

use kernel::events::Event;
use kernel::i18n::{Lang, t};
use kernel::model::audit::AuditRecord;
use kernel::model::policy::Actor;
use kernel::{Error, Kernel, Result};
use serde::Serialize;

use super::report::in_force;
use crate::model::alert::{is_drill, main_info, summary};
use crate::model::cap;
use crate::policy::{Action, Resource};
use crate::store::{self, StoredAlert};

/// Store an alert (a second time: the first, `false`) with the audit entry of whoever published
/// it in the same transaction, and send a new one on every channel. `why` says what it was, for
/// the audit entry (`reason`), given the stored alert.
pub(crate) async fn publish(
    k: &Kernel,
    by: Option<&str>,
    action: &str,
    alert: &cap::Alert,
    xml: &str,
    why: impl Fn(&StoredAlert) -> String,
) -> Result<(StoredAlert, bool)> {
    if let Some(existing) = store::by_sender_identifier(&k.db, &alert.sender, &alert.identifier).await? {
        return Ok((existing, false));
    }
    let prepared = store::prepare(k, alert).await?;
    let stored = async {
        let mut tx = k.db.begin().await?;
        let stored = store::insert_in(&mut tx, prepared, xml, by).await?;
        let entry = AuditRecord::new(by, action, format!("alert/{}", stored.id)).reason(&why(&stored));
        kernel::store::audit::append_in(&mut tx, k.now(), vec![entry]).await?;
        tx.commit().await?;
        Ok::<_, Error>(stored)
    }
    .await;
    let stored = match stored {
        Ok(s) => s,
        // The same alert arrived twice at once: the other request stored it.
        Err(Error::Database(e)) if Error::is_unique_violation(&e) => {
            let existing = store::by_sender_identifier(&k.db, &alert.sender, &alert.identifier).await?;
            return existing.map(|a| (a, false)).ok_or(Error::Database(e));
        }
        Err(e) => return Err(e),
    };
    announce(k, &stored, alert).await?;
    Ok((stored, true))
}

/// A CAP alert posted to the API by someone who may publish for the town.
pub(crate) async fn publish_cap(k: &Kernel, actor: &Actor, xml: &str) -> Result<(StoredAlert, bool)> {
    if !kernel::model::policy::may(actor, Action::PublishAlerts, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let alert = cap::parse(xml).map_err(|e| {
        Error::invalid_with(
            "cap-invalid",
            vec![("element", e.element.clone()), ("rule", e.rule.clone())],
        )
    })?;
    publish(
        k,
        actor.person_id.as_deref(),
        Action::PublishAlerts.as_str(),
        &alert,
        xml,
        |s| format!("{} {}", s.status, s.msg_type),
    )
    .await
}

/// An alert composed on the web (built from the form by `http`), signed with the sender's name.
pub(crate) async fn publish_composed(k: &Kernel, actor: &Actor, mut alert: cap::Alert) -> Result<StoredAlert> {
    if !kernel::model::policy::may(actor, Action::PublishAlerts, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let sender = sender_name(k, actor).await?;
    for info in alert.infos.iter_mut() {
        info.sender_name = sender.clone();
    }
    let xml = cap::to_xml(&alert);
    let (stored, _) = publish(k, actor.person_id.as_deref(), "alerts.publish", &alert, &xml, |s| {
        format!("{} {}", s.status, s.msg_type)
    })
    .await?;
    Ok(stored)
}

/// The composed alert with the sender's name, as the confirmation shows it before sending.
pub(crate) async fn signed(k: &Kernel, actor: &Actor, mut alert: cap::Alert) -> Result<cap::Alert> {
    let sender = sender_name(k, actor).await?;
    for info in alert.infos.iter_mut() {
        info.sender_name = sender.clone();
    }
    Ok(alert)
}

/// (people, households) an alert would reach, for the confirmation before it goes out.
pub(crate) async fn reach(k: &Kernel, alert: &cap::Alert) -> Result<(i64, i64)> {
    store::reach(k, alert).await
}

/// End an alert in force: its Cancel (sent by mistake) or 解除 Update, to the same people.
pub(crate) async fn end_for(k: &Kernel, actor: &Actor, id: &str, kind: Ending, note: &str) -> Result<StoredAlert> {
    if !kernel::model::policy::may(actor, Action::PublishAlerts, &Resource::Town) {
        return Err(Error::Forbidden);
    }
    let (original_stored, original) = endable(k, id).await?;
    let alert = ending_alert(k, &original, kind, note, sender_name(k, actor).await?)?;
    let xml = cap::to_xml(&alert);
    let (sent, _) = publish(k, actor.person_id.as_deref(), "alerts.publish", &alert, &xml, |s| {
        format!("{} {} of {}", s.status, s.msg_type, original_stored.id)
    })
    .await?;
    Ok(sent)
}

/// Who sends alerts composed here, in words for the people who read them: 「みどり市 危機管理課」.
pub(crate) async fn sender_name(k: &Kernel, actor: &Actor) -> Result<Option<String>> {
    let town = kernel::store::areas::list(&k.db)
        .await?
        .into_iter()
        .find(|a| a.parent_id.is_none())
        .map(|a| a.name);
    let grant = actor
        .grants
        .iter()
        .find(|g| g.duties.iter().any(|d| d == "alerts"))
        .or_else(|| actor.grants.first());
    let org = match grant {
        Some(g) => kernel::store::orgs::get(&k.db, &g.organisation_id)
            .await?
            .map(|o| o.name),
        None => None,
    };
    Ok(match (town, org) {
        (Some(town), Some(org)) => Some(format!("{town} {org}")),
        (town, org) => org.or(town),
    })
}

/// What a screen needs to show an alert.
#[derive(Debug, Clone, Serialize)]
pub struct ScreenAlert {
    pub id: String,
    pub msg_type: String,
    pub drill: bool,
    pub severity: String,
    pub event: String,
    pub headline: Option<String>,
    pub description: Option<String>,
    pub instruction: Option<String>,
    /// The alert an Update or Cancel replaces: screens take it down.
    pub refers_to: Option<String>,
    /// Severe or Extreme and real: ordinary content steps aside (平時と有事).
    pub takes_over: bool,
    /// An ordinary notice: shown in the status area, withheld while an emergency takes over.
    pub ordinary: bool,
    /// Groups the alert is limited to: personal screens of people outside them don't show it;
    /// public screens of the area do (高齢者等避難 is announced to all).
    pub groups: Vec<String>,
    /// When it was issued (CAP `sent`), ms; screens write it in the viewer's words.
    pub sent_ms: i64,
    /// Who issued it (CAP `senderName`, else the sender).
    pub sender: String,
}

pub(crate) fn screen_alert(stored: &StoredAlert, alert: &cap::Alert) -> ScreenAlert {
    let s = summary(alert);
    ScreenAlert {
        id: stored.id.clone(),
        msg_type: stored.msg_type.clone(),
        drill: is_drill(alert),
        takes_over: alert.status == cap::Status::Actual && matches!(s.severity.as_str(), "Severe" | "Extreme"),
        ordinary: crate::model::alert::priority(alert) == crate::model::alert::Priority::Ordinary,
        severity: s.severity,
        event: s.event,
        headline: s.headline,
        description: s.description,
        instruction: s.instruction,
        refers_to: stored.refers_to.clone(),
        sent_ms: stored.sent_ms,
        sender: super::in_force::sender_of(alert),
        groups: crate::model::alert::groups(alert)
            .unwrap_or_default()
            .iter()
            .map(|g| g.as_string())
            .collect(),
    }
}

/// Is an alert (as sent to screens) meant for this viewer? `mine` is None on public screens.
pub(crate) fn for_viewer(data: &serde_json::Value, mine: Option<&[String]>) -> bool {
    let Some(mine) = mine else { return true };
    let groups: Vec<String> = data
        .get("groups")
        .and_then(|g| serde_json::from_value(g.clone()).ok())
        .unwrap_or_default();
    crate::model::target::person_in_groups(&groups, mine)
}

/// Send a newly stored alert (or its Update / Cancel) on every channel: queue an e-mail for
/// each person who agreed to e-mail alerts (the outbox sends it), and tell connected screens.
pub async fn announce(k: &Kernel, stored: &StoredAlert, alert: &cap::Alert) -> Result<()> {
    // Screens first: queueing tens of thousands of e-mails must not delay the terminals.
    announce_to_screens(k, stored, alert).await?;
    // Tests of the system reach nobody; real alerts and drills go out.
    if alert.status == cap::Status::Actual || alert.status == cap::Status::Exercise {
        let mail = crate::model::alert::email_text(alert, &stored.id);
        // Ordinary notices: at most `notices_per_day` e-mails per resident per local day. A Cancel
        // or 解除 of an earlier alert is never held back: it reaches everyone the alert reached.
        let ordinary = crate::model::alert::priority(alert) == crate::model::alert::Priority::Ordinary
            && alert.references.is_empty();
        let today = if ordinary {
            store::notices_since(&k.db, crate::model::alert::jst_day_start(k.now())).await?
        } else {
            Default::default()
        };
        let kind = if ordinary { "notice" } else { "alert" };
        let deliveries: Vec<kernel::store::outbox::NewDelivery> = store::email_recipients(&k.db, &stored.id)
            .await?
            .into_iter()
            .filter(|(person, _)| {
                !ordinary
                    || crate::model::alert::notices_left(
                        today.get(person).copied().unwrap_or(0),
                        k.config.notices_per_day,
                    ) > 0
            })
            .map(|(person, address)| kernel::store::outbox::NewDelivery {
                channel: "email".into(),
                source: format!("alert:{}", stored.id),
                dedupe_key: format!("{kind}:{}:email:{person}", stored.id),
                person_id: Some(person),
                address,
                subject: mail.0.clone(),
                body: mail.1.clone(),
            })
            .collect();
        kernel::store::outbox::enqueue(k, &deliveries).await?;
        // MQTT: one message per area topic (cable-TV and public displays) and one per device.
        let payload =
            serde_json::to_string(&screen_alert(stored, alert)).map_err(|e| Error::Internal(e.to_string()))?;
        let mqtt = |topic: String, key: String, person: Option<String>| kernel::store::outbox::NewDelivery {
            channel: "mqtt".into(),
            source: format!("alert:{}", stored.id),
            person_id: person,
            address: topic,
            subject: stored.id.clone(),
            body: payload.clone(),
            dedupe_key: format!("alert:{}:mqtt:{key}", stored.id),
        };
        let mut messages: Vec<_> = store::area_codes(&k.db, &stored.id)
            .await?
            .into_iter()
            .map(|code| mqtt(format!("machi/alerts/{code}"), format!("area:{code}"), None))
            .collect();
        for (person, device) in store::device_recipients(&k.db, &stored.id).await? {
            messages.push(mqtt(
                format!("machi/devices/{device}"),
                format!("device:{device}"),
                Some(person),
            ));
        }
        kernel::store::outbox::enqueue(k, &messages).await?;
    }
    Ok(())
}

async fn announce_to_screens(k: &Kernel, stored: &StoredAlert, alert: &cap::Alert) -> Result<()> {
    let data = serde_json::to_value(screen_alert(stored, alert)).map_err(|e| Error::Internal(e.to_string()))?;
    let mut area_ids = store::area_ids(&k.db, &stored.id).await?;
    if let Some(prev) = &stored.refers_to {
        // Screens showing the replaced alert must hear of its replacement.
        area_ids.extend(store::area_ids(&k.db, prev).await?);
    }
    if area_ids.is_empty() {
        return Ok(());
    }
    k.hub.publish(Event {
        kind: "alert".into(),
        id: stored.id.clone(),
        area_ids,
        person_ids: Vec::new(),
        data,
    });
    Ok(())
}

/// The CAP sender of alerts composed on the web: `alerts@` the public host.
pub(crate) fn web_sender(k: &Kernel) -> String {
    let host = k
        .config
        .public_url
        .as_deref()
        .and_then(|u| u.split("://").nth(1))
        .and_then(|h| h.split('/').next())
        .unwrap_or("machi.localhost");
    format!("alerts@{host}")
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// CAP Cancel: sent by mistake, disregard it.
    Cancel,
    /// CAP Update with responseType AllClear: 解除, the danger is over.
    Lift,
}

impl Ending {
    pub(crate) fn parse(s: Option<&str>) -> Result<Ending> {
        match s {
            Some("cancel") => Ok(Ending::Cancel),
            Some("lift") => Ok(Ending::Lift),
            _ => Err(Error::invalid_with("alerts-end-kind", vec![])),
        }
    }
    pub(crate) fn code(self) -> &'static str {
        match self {
            Ending::Cancel => "cancel",
            Ending::Lift => "lift",
        }
    }
}

/// The original alert, refusing one that is no longer in force (already cancelled, lifted, expired).
pub(crate) async fn endable(k: &Kernel, id: &str) -> Result<(StoredAlert, cap::Alert)> {
    let stored = store::require(&k.db, id).await?;
    if !in_force(&stored, k.now()) {
        return Err(Error::conflict("alerts-not-in-force", vec![]));
    }
    let alert = cap::parse(&store::cap_xml(&k.db, id).await?).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((stored, alert))
}

/// The Cancel or 解除 Update for an alert: the same areas and groups (so the same people), the
/// same status (a drill ends as a drill), referencing it. Its words are the town's language.
fn ending_alert(
    k: &Kernel,
    original: &cap::Alert,
    kind: Ending,
    note: &str,
    sender_name: Option<String>,
) -> std::result::Result<cap::Alert, Error> {
    let info = main_info(original).ok_or_else(|| Error::Internal("an alert without info".into()))?;
    let title = info.headline.clone().unwrap_or_else(|| info.event.clone());
    let now = k.now();
    let note = Some(note.trim().to_string()).filter(|n| !n.is_empty());
    let (headline, description, response_types, urgency, severity) = match kind {
        Ending::Cancel => (
            t(Lang::Ja, "alerts-cancel-headline", &[("title", title)]),
            note.unwrap_or_else(|| t(Lang::Ja, "alerts-cancel-text", &[])),
            vec![],
            info.urgency,
            info.severity,
        ),
        Ending::Lift => (
            t(Lang::Ja, "alerts-lift-headline", &[("title", title)]),
            note.unwrap_or_else(|| t(Lang::Ja, "alerts-lift-text", &[])),
            vec![cap::ResponseType::AllClear],
            cap::Urgency::Past,
            cap::Severity::Minor,
        ),
    };
    let alert = cap::Alert {
        identifier: format!("machi-{}", k.new_id()),
        sender: web_sender(k),
        sent: cap::CapTime::from_unix_ms_jst(now),
        status: original.status,
        msg_type: match kind {
            Ending::Cancel => cap::MsgType::Cancel,
            Ending::Lift => cap::MsgType::Update,
        },
        source: None,
        scope: original.scope,
        restriction: original.restriction.clone(),
        addresses: original.addresses.clone(),
        codes: vec![],
        note: None,
        references: vec![cap::Reference {
            sender: original.sender.clone(),
            identifier: original.identifier.clone(),
            sent: original.sent.clone(),
        }],
        incidents: original.incidents.clone(),
        infos: vec![cap::Info {
            language: "ja-JP".into(),
            categories: info.categories.clone(),
            event: info.event.clone(),
            response_types,
            urgency,
            severity,
            certainty: cap::Certainty::Observed,
            audience: None,
            event_codes: vec![],
            effective: None,
            onset: None,
            // The 解除 stays on screens for six hours, then goes.
            expires: Some(cap::CapTime::from_unix_ms_jst(now + 6 * 3_600_000)),
            sender_name,
            headline: Some(headline),
            description: Some(description),
            instruction: None,
            web: None,
            contact: None,
            // The same groups and areas: the same people as the original.
            parameters: info.parameters.clone(),
            resources: vec![],
            areas: original.infos.iter().flat_map(|i| i.areas.clone()).collect(),
        }],
    };
    alert
        .validate()
        .map_err(|e| Error::invalid_with("cap-invalid", vec![("element", e.element), ("rule", e.rule)]))?;
    Ok(alert)
}
