//! The kernel's use cases that change data and record it, shared by the JSON API and the
//! pages: each opens one transaction, makes its change(s), appends the audit entries that
//! record them and commits — both are kept, or neither. Policy checks stay in the callers,
//! which hold the request's resource.

use serde_json::Value;

use crate::model::audit::AuditRecord;
use crate::model::identifier::{IdentifierInput, LinkedIdentifier};
use crate::model::org::{Membership, Organisation, OrganisationInput};
use crate::model::person::{Person, PersonInput};
use crate::model::policy::{Action, Actor};
use crate::store::{self, Tx, audit};
use crate::{Error, Kernel, Result};

/// A read or change of someone's personal data, unless they are handling their own.
pub fn personal(actor: &Actor, action: &str, subject: &str, resource: String) -> Option<AuditRecord> {
    (!actor.is_person(subject)).then(|| AuditRecord::new(actor.person_id.as_deref(), action, resource).subject(subject))
}

/// Append `records` in `tx` and commit.
async fn commit_with(k: &Kernel, mut tx: Tx, records: Vec<AuditRecord>) -> Result<()> {
    audit::append_in(&mut tx, k.now(), records).await?;
    tx.commit().await
}

/// Record entries that have no change to commit with: reads of personal data (what matters is
/// that the entry is committed before the data is shown, so callers call this before they
/// answer) and a login (which changes no personal data; its session is not on the record).
/// A change commits its entry in its own transaction instead (the functions below).
pub async fn record_alone(k: &Kernel, records: Vec<AuditRecord>) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    commit_with(k, k.db.begin().await?, records).await
}

pub async fn import_areas(k: &Kernel, actor: &Actor, doc: &Value, resource: impl Fn(usize) -> String) -> Result<usize> {
    let mut tx = k.db.begin().await?;
    let n = store::areas::import_in(&mut tx, k, doc, |_, _| {}).await?;
    let rec = AuditRecord::new(actor.person_id.as_deref(), Action::ImportAreas.as_str(), resource(n));
    commit_with(k, tx, vec![rec]).await?;
    Ok(n)
}

pub async fn create_organisation(k: &Kernel, actor: &Actor, input: OrganisationInput) -> Result<Organisation> {
    let mut tx = k.db.begin().await?;
    let o = store::orgs::create_in(&mut tx, k, input).await?;
    let rec = AuditRecord::new(
        actor.person_id.as_deref(),
        Action::ManageOrganisations.as_str(),
        format!("organisation/{}", o.id),
    );
    commit_with(k, tx, vec![rec]).await?;
    Ok(o)
}

pub async fn grant_role(
    k: &Kernel,
    actor: &Actor,
    person_id: &str,
    organisation_id: &str,
    role: &str,
    area_id: Option<&str>,
) -> Result<Membership> {
    let mut tx = k.db.begin().await?;
    let m = store::orgs::add_membership_in(&mut tx, k, person_id, organisation_id, role, area_id).await?;
    let rec = AuditRecord::new(
        actor.person_id.as_deref(),
        Action::ManageMemberships.as_str(),
        format!("membership/{}", m.id),
    )
    .subject(&m.person_id)
    .reason(&format!("grant {}", m.role));
    commit_with(k, tx, vec![rec]).await?;
    Ok(m)
}

/// Revoke a membership; with `of_person`, only if it is that person's (the pages name whose).
pub async fn revoke_role(k: &Kernel, actor: &Actor, id: &str, of_person: Option<&str>) -> Result<Membership> {
    if let Some(person) = of_person {
        match store::orgs::get_membership(&k.db, id).await? {
            Some(m) if m.person_id == person => {}
            _ => return Err(Error::not_found("not-found")),
        }
    }
    let mut tx = k.db.begin().await?;
    let m = store::orgs::remove_membership_in(&mut tx, id)
        .await?
        .ok_or_else(|| Error::not_found("not-found"))?;
    let rec = AuditRecord::new(
        actor.person_id.as_deref(),
        Action::ManageMemberships.as_str(),
        format!("membership/{id}"),
    )
    .subject(&m.person_id)
    .reason(&format!("revoke {}", m.role));
    commit_with(k, tx, vec![rec]).await?;
    Ok(m)
}

pub async fn create_person(k: &Kernel, actor: &Actor, input: PersonInput) -> Result<Person> {
    let mut tx = k.db.begin().await?;
    let p = store::people::create_in(&mut tx, k, input).await?;
    let rec = personal(actor, Action::CreatePerson.as_str(), &p.id, format!("person/{}", p.id));
    commit_with(k, tx, rec.into_iter().collect()).await?;
    Ok(p)
}

pub async fn update_person(k: &Kernel, actor: &Actor, id: &str, input: PersonInput) -> Result<Person> {
    let mut tx = k.db.begin().await?;
    let p = store::people::update_in(&mut tx, id, input).await?;
    let rec = personal(actor, Action::EditPerson.as_str(), &p.id, format!("person/{}", p.id));
    commit_with(k, tx, rec.into_iter().collect()).await?;
    Ok(p)
}

pub async fn link_identifier(
    k: &Kernel,
    actor: &Actor,
    person_id: &str,
    input: IdentifierInput,
) -> Result<LinkedIdentifier> {
    let mut tx = k.db.begin().await?;
    let li = store::identifiers::link_in(&mut tx, k, person_id, input).await?;
    let rec = personal(
        actor,
        Action::ManageIdentifiers.as_str(),
        person_id,
        format!("identifier/{}", li.kind),
    );
    commit_with(k, tx, rec.into_iter().collect()).await?;
    Ok(li)
}

pub async fn unlink_identifier(k: &Kernel, actor: &Actor, person_id: &str, kind: &str, value: &str) -> Result<()> {
    let mut tx = k.db.begin().await?;
    if !store::identifiers::unlink_in(&mut tx, person_id, kind, value).await? {
        return Err(Error::not_found("identifier-not-found"));
    }
    let rec = personal(
        actor,
        Action::ManageIdentifiers.as_str(),
        person_id,
        format!("identifier/{kind}"),
    )
    .map(|r| r.reason("remove"));
    commit_with(k, tx, rec.into_iter().collect()).await
}

pub async fn add_household_member(
    k: &Kernel,
    actor: &Actor,
    household_id: &str,
    person_id: &str,
    relation: Option<&str>,
    representative: bool,
) -> Result<()> {
    let mut tx = k.db.begin().await?;
    store::households::add_member_in(&mut tx, household_id, person_id, relation, representative).await?;
    let rec = personal(
        actor,
        Action::ManageHousehold.as_str(),
        person_id,
        format!("household/{household_id}"),
    );
    commit_with(k, tx, rec.into_iter().collect()).await
}

/// A new API token for `person_id`, made by `by` (themselves; `None` from the command line).
pub async fn create_token(
    k: &Kernel,
    by: Option<&str>,
    person_id: &str,
    name: &str,
) -> Result<(store::accounts::ApiToken, String)> {
    let mut tx = k.db.begin().await?;
    let (token, secret) = store::accounts::create_token_in(&mut tx, k, person_id, name).await?;
    let mut rec = AuditRecord::new(by, "token.create", format!("token/{}", token.id));
    if by != Some(person_id) {
        rec = rec.subject(person_id);
    }
    commit_with(k, tx, vec![rec]).await?;
    Ok((token, secret))
}

/// A person revokes one of their tokens.
pub async fn revoke_token(k: &Kernel, person_id: &str, token_id: &str) -> Result<()> {
    let mut tx = k.db.begin().await?;
    store::accounts::revoke_token_in(&mut tx, k, person_id, token_id).await?;
    let rec = AuditRecord::new(Some(person_id), "token.revoke", format!("token/{token_id}"));
    commit_with(k, tx, vec![rec]).await
}

/// A token for every household (`machi token provision`), in transactions of 500 tokens so the
/// write lock is never held long; each commits with an entry for its tokens.
pub async fn provision_household_tokens(k: &Kernel, name: &str) -> Result<Vec<(crate::model::Id, String)>> {
    // A bad name is refused before anything is read, whether or not there are households.
    let name = store::accounts::token_name(name)?;
    let holders = store::accounts::household_token_holders(&k.db).await?;
    let mut out = Vec::with_capacity(holders.len());
    for chunk in holders.chunks(500) {
        let mut tx = k.db.begin().await?;
        let issued = store::accounts::provision_household_tokens_in(&mut tx, k, name, chunk).await?;
        let rec = AuditRecord::new(None, "token.provision", "households".to_string()).reason(&format!(
            "{} tokens ({})",
            issued.len(),
            name.trim()
        ));
        commit_with(k, tx, vec![rec]).await?;
        out.extend(issued);
    }
    Ok(out)
}

/// A person's new password (already hashed): their sessions end and, if they chose it, their
/// tokens are revoked, with the entry recording it. How many tokens were revoked.
pub async fn change_password(k: &Kernel, person_id: &str, hash: &str, revoke_tokens: bool) -> Result<u64> {
    let mut tx = k.db.begin().await?;
    store::accounts::set_password_hash_in(&mut tx, person_id, hash).await?;
    store::sessions::end_all_in(&mut tx, person_id).await?;
    let mut rec = AuditRecord::new(Some(person_id), "account.password", format!("person/{person_id}"));
    let mut n = 0;
    if revoke_tokens {
        n = store::accounts::revoke_all_tokens_in(&mut tx, k, person_id).await?;
        rec = rec.reason(&format!("{n} tokens revoked"));
    }
    commit_with(k, tx, vec![rec]).await?;
    Ok(n)
}
