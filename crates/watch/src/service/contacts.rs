//! The contact allow-list, messages to a person's terminal, and the guardian's decisions on held ones.

use kernel::model::policy::{Actor, may};
use kernel::{Error, Kernel, Result};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::access::{Access, access, audit_change};
use super::circles::require_watching;
use crate::policy::{Action, Resource};
use crate::store::{self, Circle};

pub(crate) async fn contact_for(k: &Kernel, actor: &Actor, a: &Access, contact: &str, add: bool) -> Result<()> {
    a.require(actor, Action::ApproveContacts)?;
    require_watching(k, a).await?;
    let person = kernel::store::people::get(&k.db, contact)
        .await?
        .ok_or_else(|| Error::invalid_with("watch-person-not-found", vec![("field", "contact_id".into())]))?;
    let mut tx = k.db.begin().await?;
    let changed = if add {
        store::add_contact(
            &mut tx,
            k,
            &a.circle.id,
            &person.id,
            actor.person_id.as_deref().unwrap_or_default(),
        )
        .await?
    } else {
        store::remove_contact(&mut tx, &a.circle.id, &person.id).await?
    };
    if !changed {
        return Ok(());
    }
    audit_change(
        &mut tx,
        k,
        actor,
        a,
        "watch.contacts",
        &format!("{} {}", if add { "add" } else { "remove" }, person.id),
    )
    .await?;
    tx.commit().await?;
    // The person and the guardian both hear of every change.
    let name = crate::service::notices::person_name(k, &a.circle.person_id).await?;
    let mut to = vec![a.circle.person_id.clone()];
    to.extend(guardians(k, &a.circle).await?);
    let notice = crate::model::contacts_notice(
        &name,
        &person.display_name,
        add,
        &crate::service::notices::circle_link(k, &a.circle),
    );
    let key = format!("watch:{}:contacts:{}:{}:{}", a.circle.id, person.id, add, k.now());
    crate::service::notices::notify(k, &to, &notice, &key).await
}

/// Who approves the person's contacts and decides held messages: the named guardian, or else
/// the family members of the circle (and the welfare desk, which also may, and is told when the
/// circle has no family).
pub(crate) async fn guardians(k: &Kernel, c: &Circle) -> Result<Vec<String>> {
    if let Some(g) = &c.guardian_id {
        return Ok(vec![g.clone()]);
    }
    let family: Vec<String> = store::members(&k.db, &c.id)
        .await?
        .into_iter()
        .filter(|m| m.role == "family")
        .map(|m| m.person_id)
        .collect();
    if family.is_empty() {
        kernel::store::orgs::duty_staff(&k.db, "watch").await
    } else {
        Ok(family)
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MessageInput {
    /// The person whose terminal shows it.
    pub to: String,
    pub body: String,
}

/// What the sender learns: delivered, or waiting for the family's check. A sender must not be
/// told 「送りました」 for a message the person will not see (they would think it was read).
#[derive(Serialize, ToSchema)]
pub struct Sent {
    pub id: String,
    /// `delivered`, or `held` (waiting for the person's family or guardian to check it).
    pub state: String,
}

pub(crate) async fn send_for(k: &Kernel, actor: &Actor, input: &MessageInput) -> Result<Sent> {
    let me = actor.person_id.as_deref().ok_or(Error::Forbidden)?;
    let to = kernel::store::people::require_active(&k.db, input.to.trim())
        .await
        .ok()
        .ok_or_else(|| Error::invalid_with("watch-person-not-found", vec![("field", "to".into())]))?;
    let target = Resource::Person { id: to.id.clone() };
    if !may(actor, Action::SendMessage, &target) {
        return Err(Error::Forbidden);
    }
    let body = crate::model::check_message(&input.body)
        .ok_or_else(|| Error::invalid_with("watch-message-invalid", vec![("field", "body".into())]))?;
    // Fraud protection: a watched person's messages from anyone off their list wait for the guardian.
    let circle = match store::of_person(&k.db, &to.id).await? {
        Some(c) if store::watching(&k.db, &c.id).await? => Some(c),
        _ => None,
    };
    let held = match &circle {
        Some(c) => crate::model::message_is_held(store::allowed(&k.db, &c.id, me).await?),
        None => false,
    };
    let state = if held { "held" } else { "delivered" };
    let id = store::send_message(k, &to.id, me, &body, state).await?;
    if let (true, Some(c)) = (held, &circle) {
        let sender = crate::service::notices::person_name(k, me).await?;
        let notice = crate::model::held_notice(&to.display_name, &sender, &crate::service::notices::circle_link(k, c));
        crate::service::notices::notify(k, &guardians(k, c).await?, &notice, &format!("watch:message:{id}")).await?;
    } else {
        k.hub.publish(kernel::events::Event {
            kind: "watch-message".into(),
            id: id.clone(),
            area_ids: Vec::new(),
            person_ids: vec![to.id.clone()],
            data: serde_json::json!({ "id": id }),
        });
    }
    Ok(Sent {
        id,
        state: state.into(),
    })
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DecisionInput {
    pub approve: bool,
    /// Also put the sender on the allow-list.
    #[serde(default)]
    pub allow_sender: bool,
}

pub(crate) async fn decide_for(k: &Kernel, actor: &Actor, id: &str, input: &DecisionInput) -> Result<()> {
    let m = store::get_message(&k.db, id).await?.ok_or(Error::Forbidden)?;
    let circle = store::of_person(&k.db, &m.to_person_id)
        .await?
        .ok_or(Error::Forbidden)?;
    let a = access(k, actor, &circle.id).await?;
    a.require(actor, Action::ApproveContacts)?;
    let mut tx = k.db.begin().await?;
    let by = actor.person_id.as_deref().unwrap_or_default();
    if !store::decide_message(&mut tx, k, &m.id, input.approve, by).await? {
        return Err(Error::conflict("watch-message-decided", vec![]));
    }
    audit_change(
        &mut tx,
        k,
        actor,
        &a,
        "watch.message",
        if input.approve { "approved" } else { "rejected" },
    )
    .await?;
    tx.commit().await?;
    if input.approve {
        k.hub.publish(kernel::events::Event {
            kind: "watch-message".into(),
            id: m.id.clone(),
            area_ids: Vec::new(),
            person_ids: vec![m.to_person_id.clone()],
            data: serde_json::json!({ "id": m.id }),
        });
    }
    if input.approve && input.allow_sender {
        contact_for(k, actor, &a, &m.from_person_id, true).await?;
    }
    Ok(())
}

/// The circle of a message's addressee, for one who may see that circle.
pub(crate) async fn circle_of_message(k: &Kernel, actor: &Actor, id: &str) -> Result<String> {
    let m = store::get_message(&k.db, id).await?.ok_or(Error::Forbidden)?;
    let circle = store::of_person(&k.db, &m.to_person_id)
        .await?
        .ok_or(Error::Forbidden)?;
    Ok(access(k, actor, &circle.id).await?.circle.id)
}

/// What the person's own terminal shows of watch-over.
pub(crate) struct Terminal {
    pub circle: Option<Circle>,
    pub last_checkin: Option<i64>,
    /// The latest messages let through to the person.
    pub delivered: Vec<store::Message>,
    /// Held messages while watched (the caller shows only who wrote, never the text).
    pub held: Vec<store::Message>,
}

pub(crate) async fn terminal_for(k: &Kernel, actor: &Actor) -> Result<Terminal> {
    let me = actor.person_id.as_deref().ok_or(Error::Forbidden)?;
    let circle = store::of_person(&k.db, me).await?;
    let watched = circle.as_ref().is_some_and(|c| c.consent_id.is_some());
    let (_, last_checkin) = store::signals::state(k, me).await?;
    let delivered = store::messages_to(&k.db, me, true, 5).await?;
    let held = if watched {
        let mut list: Vec<_> = store::messages_to(&k.db, me, false, 20)
            .await?
            .into_iter()
            .filter(|m| m.state == "held")
            .collect();
        for m in &mut list {
            m.body = None;
        }
        list
    } else {
        Vec::new()
    };
    Ok(Terminal {
        circle,
        last_checkin,
        delivered,
        held,
    })
}
