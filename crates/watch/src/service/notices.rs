//! Who hears of a circle's events, by their name, and the links in what they are told. Notices
//! are rendered from the catalogs in each recipient's language by the kernel's outbox.

use kernel::{Kernel, Result};

use crate::store::{self, Circle, Escalation};

/// The welfare desk: staff with the `watch` duty; without any, the alerts duty, so a call is
/// never made to nobody.
pub async fn desk(k: &Kernel) -> Result<Vec<String>> {
    let staff = kernel::store::orgs::duty_staff(&k.db, "watch").await?;
    if !staff.is_empty() {
        return Ok(staff);
    }
    tracing::warn!("watch: no staff holds the watch duty; calling the alerts duty instead");
    kernel::store::orgs::duty_staff(&k.db, "alerts").await
}

pub async fn person_name(k: &Kernel, person_id: &str) -> Result<String> {
    kernel::store::people::display_name(&k.db, person_id).await
}

/// Everyone called so far for an escalation.
pub async fn called_people(k: &Kernel, escalation_id: &str) -> Result<Vec<String>> {
    store::called_people(&k.db, escalation_id).await
}

pub fn circle_link(k: &Kernel, circle: &Circle) -> String {
    k.link(&format!("/watch/{}", circle.id))
}

/// Notify people on their channels through the outbox: their screens (web and terminal, over
/// SSE) always, e-mail when they gave an address. `dedupe` makes a retry send nothing twice.
pub async fn notify(k: &Kernel, people: &[String], notice: &kernel::notice::Notice, dedupe: &str) -> Result<()> {
    kernel::store::outbox::notify_people(k, "watch", people, notice, dedupe).await
}

/// An escalation's people to tell of a change: everyone called, and the ladder.
pub async fn concerned(k: &Kernel, e: &Escalation) -> Result<Vec<String>> {
    let mut people = called_people(k, &e.id).await?;
    for m in store::ladder(&k.db, &e.circle_id).await? {
        if !people.contains(&m) {
            people.push(m);
        }
    }
    Ok(people)
}

/// The asker's own notices, newest first.
pub(crate) async fn mine(k: &Kernel, actor: &kernel::model::policy::Actor, limit: i64) -> Result<Vec<store::Notice>> {
    let me = actor.person_id.as_deref().ok_or(kernel::Error::Forbidden)?;
    store::notices(&k.db, me, limit).await
}
