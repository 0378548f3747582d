//! A circle as the asker stands in it (the gate every use case of a circle passes first), and
//! the audit of reads and changes of a circle's personal data.

use kernel::model::audit::AuditRecord;
use kernel::model::policy::{Actor, may};
use kernel::store::Tx;
use kernel::{Error, Kernel, Result};

use crate::policy::{Action, Resource};
use crate::store::{self, Circle};

/// A circle as the asker stands in it.
pub(crate) struct Access {
    pub circle: Circle,
    pub role: Option<String>,
    pub resource: Resource,
}

impl Access {
    pub fn may(&self, actor: &Actor, action: Action) -> bool {
        may(actor, action, &self.resource)
    }
    pub fn require(&self, actor: &Actor, action: Action) -> Result<()> {
        if self.may(actor, action) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
    pub fn is_person(&self, actor: &Actor) -> bool {
        actor.is_person(&self.circle.person_id)
    }
}

pub(crate) async fn access(k: &Kernel, actor: &Actor, circle_id: &str) -> Result<Access> {
    let person = actor.person_id.as_deref().ok_or(Error::Forbidden)?;
    // A circle that does not exist and one the asker may not see look the same: nothing is revealed.
    let circle = store::get(&k.db, circle_id).await?.ok_or(Error::Forbidden)?;
    let role = store::member_role(&k.db, &circle.id, person).await?;
    let resource = Resource::Circle {
        person_id: circle.person_id.clone(),
        role: role.clone(),
        guardian: circle.guardian_id.as_deref() == Some(person),
        has_guardian: circle.guardian_id.is_some(),
    };
    let a = Access { circle, role, resource };
    a.require(actor, Action::ViewCircle)?;
    Ok(a)
}

/// Audit a read of the circle's personal data (not the person's own), before it is shown.
pub(crate) async fn audit_read(k: &Kernel, actor: &Actor, a: &Access, what: &str) -> Result<()> {
    if a.is_person(actor) {
        return Ok(());
    }
    let rec = AuditRecord::new(
        actor.person_id.as_deref(),
        "watch.read",
        format!("watch/{}", a.circle.id),
    )
    .subject(&a.circle.person_id)
    .reason(what);
    kernel::service::record_alone(k, vec![rec]).await
}

/// Audit a change of the circle in the transaction that makes it: both commit, or neither.
pub(crate) async fn audit_change(
    tx: &mut Tx,
    k: &Kernel,
    actor: &Actor,
    a: &Access,
    action: &str,
    what: &str,
) -> Result<()> {
    let rec = AuditRecord::new(actor.person_id.as_deref(), action, format!("watch/{}", a.circle.id))
        .subject(&a.circle.person_id)
        .reason(what);
    kernel::store::audit::append_in(tx, k.now(), vec![rec]).await?;
    Ok(())
}
