//! A resident's own reach: their 町丁目, their household (joined by code or made), their e-mail and
//! phone with the consent each needs. What My Page and `/api/v1/me/…` both call.

use crate::model::Id;
use crate::model::area::{Area, AreaLevel};
use crate::model::audit::AuditRecord;
use crate::model::consent::ConsentInput;
use crate::model::household::{Household, HouseholdInput};
use crate::model::person::{Person, PersonInput};
use crate::model::residence::{self, AddressMatch, AreaName};
use crate::store::{Db, Tx, areas, audit, consents, households, people};
use crate::{Error, Kernel, Result, on_db, on_tx};

/// What stands between a person and the alerts and safety checks meant for them.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Reach {
    /// No 町丁目: area alerts cannot find them.
    pub no_area: bool,
    /// No household: safety checks (安否確認) ask households.
    pub no_household: bool,
}

impl Reach {
    pub fn ok(&self) -> bool {
        !self.no_area && !self.no_household
    }
}

pub async fn reach(db: &Db, person: &Person) -> Result<Reach> {
    Ok(Reach {
        no_area: person.area_id.is_none(),
        no_household: people::household_of(db, &person.id).await?.is_none(),
    })
}

/// The 町丁目 a person may choose, in code order (grouped by district through `parent_id`).
pub async fn chome(db: &Db) -> Result<Vec<Area>> {
    Ok(areas::list(db)
        .await?
        .into_iter()
        .filter(|a| a.level == AreaLevel::Chome)
        .collect())
}

/// An address as typed → the matching 町丁目.
pub async fn find_address(db: &Db, text: &str) -> Result<AddressMatch> {
    let names: Vec<AreaName> = chome(db)
        .await?
        .into_iter()
        .map(|a| AreaName {
            id: a.id,
            name: a.name,
            kana: a.kana,
        })
        .collect();
    Ok(residence::match_address(text, &names))
}

/// The entry recording a resident's change of their own record.
fn own_change(person: &Person, action: &str, resource: String) -> AuditRecord {
    AuditRecord::new(Some(&person.id), action, resource)
}

/// Set where a person lives: a 町丁目 (by id or code) and, optionally, the address as they wrote it.
/// Their household moves with them when they act for it or it has no area yet.
pub async fn set_area(k: &Kernel, person: &Person, area: &str, address: Option<&str>) -> Result<(Person, Area)> {
    let mut tx = k.db.begin().await?;
    let out = set_area_in(&mut tx, person, area, address).await?;
    let rec = own_change(person, "residence.area", format!("person/{}", person.id));
    audit::append_in(&mut tx, k.now(), vec![rec]).await?;
    tx.commit().await?;
    Ok(out)
}

/// The person's household as the transaction sees it: (id, area, representative).
async fn household_in(tx: &mut Tx, person_id: &str) -> Result<Option<(Id, Option<Id>, Option<Id>)>> {
    Ok(on_tx!(tx, |t| sqlx::query_as(
        "SELECT h.id, h.area_id, h.representative_id FROM household_members m \
         JOIN households h ON h.id = m.household_id WHERE m.person_id = $1"
    )
    .bind(person_id)
    .fetch_optional(&mut **t)
    .await)?)
}

async fn set_area_in(tx: &mut Tx, person: &Person, area: &str, address: Option<&str>) -> Result<(Person, Area)> {
    let area = areas::get_in(tx, area)
        .await?
        .ok_or_else(|| Error::invalid_with("address-area-unknown", vec![("area", area.to_string())]))?;
    if area.level != AreaLevel::Chome {
        return Err(Error::invalid_with(
            "address-area-not-chome",
            vec![("area", area.name.clone())],
        ));
    }
    let address = address.map(str::trim).filter(|a| !a.is_empty());
    let input = PersonInput {
        display_name: person.display_name.clone(),
        kana: person.kana.clone(),
        birth_date: person.birth_date.clone(),
        phone: person.phone.clone(),
        email: person.email.clone(),
        language: person.language.clone(),
        address: address.map(str::to_string).or_else(|| person.address.clone()),
        area_id: Some(area.id.clone()),
        needs_support: person.needs_support,
    };
    let updated = people::update_in(tx, &person.id, input).await?;
    if let Some((h, h_area, representative)) = household_in(tx, &person.id).await?
        && (h_area.is_none() || representative.as_deref() == Some(person.id.as_str()))
    {
        on_tx!(tx, |t| sqlx::query("UPDATE households SET area_id = $2 WHERE id = $1")
            .bind(&h)
            .bind(&area.id)
            .execute(&mut **t)
            .await
            .map(|r| r.rows_affected()))?;
    }
    Ok((updated, area))
}

/// The household's join code, made on first use.
pub async fn join_code(k: &Kernel, household_id: &str) -> Result<String> {
    let existing: Option<Option<String>> = on_db!(&k.db, |p| sqlx::query_scalar(
        "SELECT join_code FROM households WHERE id = $1"
    )
    .bind(household_id)
    .fetch_optional(p)
    .await)?;
    match existing {
        None => return Err(Error::not_found("household-not-found")),
        Some(Some(code)) => return Ok(code),
        Some(None) => {}
    }
    for _ in 0..5 {
        let code = residence::join_code_from(&k.new_id());
        let set = on_db!(&k.db, |p| sqlx::query(
            "UPDATE households SET join_code = $2 WHERE id = $1 AND join_code IS NULL"
        )
        .bind(household_id)
        .bind(&code)
        .execute(p)
        .await
        .map(|r| r.rows_affected()));
        match set {
            // Another request made it first: theirs stands.
            Ok(0) => return Box::pin(join_code(k, household_id)).await,
            Ok(_) => return Ok(code),
            Err(e) if Error::is_unique_violation(&e) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(Error::Internal("no free household code".into()))
}

/// Join the household whose code was typed (leaving any other). A wrong code changes nothing.
pub async fn join_household(k: &Kernel, person: &Person, typed_code: &str) -> Result<Household> {
    let code = residence::normalize_join_code(typed_code)
        .ok_or_else(|| Error::invalid_with("household-code-unknown", vec![("code", typed_code.trim().to_string())]))?;
    let id: Option<Id> = on_db!(&k.db, |p| sqlx::query_scalar(
        "SELECT id FROM households WHERE join_code = $1"
    )
    .bind(&code)
    .fetch_optional(p)
    .await)?;
    let Some(id) = id else {
        return Err(Error::invalid_with(
            "household-code-unknown",
            vec![("code", typed_code.trim().to_string())],
        ));
    };
    let h = households::require(&k.db, &id).await?;
    let mut tx = k.db.begin().await?;
    leave_current(&mut tx, person, Some(&id)).await?;
    households::add_member_in(&mut tx, &id, &person.id, None, false).await?;
    let mut records = vec![own_change(person, "residence.household", format!("household/{id}"))];
    // Living together: someone without a 町丁目 takes the household's.
    if person.area_id.is_none()
        && let Some(area) = &h.area_id
    {
        set_area_in(&mut tx, person, area, None).await?;
        records.insert(0, own_change(person, "residence.area", format!("person/{}", person.id)));
    }
    audit::append_in(&mut tx, k.now(), records).await?;
    tx.commit().await?;
    Ok(h)
}

/// Make a household of one, acting for it, in the person's 町丁目.
pub async fn create_household(k: &Kernel, person: &Person, name: &str) -> Result<Household> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("household-name-missing"));
    }
    if name.chars().count() > crate::model::person::MAX_NAME_CHARS {
        return Err(Error::invalid("person-name-too-long"));
    }
    let mut tx = k.db.begin().await?;
    let h = households::create_in(
        &mut tx,
        k,
        HouseholdInput {
            name: name.to_string(),
            area_id: person.area_id.clone(),
            address: person.address.clone(),
        },
    )
    .await?;
    leave_current(&mut tx, person, Some(&h.id)).await?;
    households::add_member_in(&mut tx, &h.id, &person.id, None, true).await?;
    let rec = own_change(person, "residence.household", format!("household/{}", h.id));
    audit::append_in(&mut tx, k.now(), vec![rec]).await?;
    tx.commit().await?;
    households::require(&k.db, &h.id).await
}

/// Leaving a household one acted for leaves it without a representative (the next member to
/// create or be named takes it); nobody else's membership changes.
async fn leave_current(tx: &mut Tx, person: &Person, next: Option<&str>) -> Result<()> {
    let Some((current, _, _)) = household_in(tx, &person.id).await? else {
        return Ok(());
    };
    if Some(current.as_str()) == next {
        return Ok(());
    }
    on_tx!(tx, |t| sqlx::query(
        "UPDATE households SET representative_id = NULL WHERE id = $1 AND representative_id = $2"
    )
    .bind(&current)
    .bind(&person.id)
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// E-mail or phone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Contact {
    Email,
    Phone,
}

impl Contact {
    pub fn scope(self) -> &'static str {
        match self {
            Contact::Email => "email",
            Contact::Phone => "phone",
        }
    }

    pub fn purpose_key(self) -> &'static str {
        match self {
            Contact::Email => "consent-purpose-email",
            Contact::Phone => "consent-purpose-phone",
        }
    }

    fn consent_needed_key(self) -> &'static str {
        match self {
            Contact::Email => "consent-needed-email",
            Contact::Phone => "consent-needed-phone",
        }
    }
}

/// Add, change or remove an e-mail address or phone number. A value needs the person's consent
/// to its purpose, recorded as a consent record (once, while it stands); removing the value
/// withdraws that consent.
pub async fn set_contact(k: &Kernel, person: &Person, kind: Contact, value: &str, consent: bool) -> Result<Person> {
    let value = value.trim();
    let value = if value.is_empty() {
        None
    } else if kind == Contact::Phone {
        Some(residence::normalize_phone(value).ok_or_else(|| Error::invalid("contact-phone-invalid"))?)
    } else {
        Some(value.to_string())
    };
    if value.is_some() && !consent {
        return Err(Error::invalid(kind.consent_needed_key()));
    }
    let mut input = PersonInput {
        display_name: person.display_name.clone(),
        kana: person.kana.clone(),
        birth_date: person.birth_date.clone(),
        phone: person.phone.clone(),
        email: person.email.clone(),
        language: person.language.clone(),
        address: person.address.clone(),
        area_id: person.area_id.clone(),
        needs_support: person.needs_support,
    };
    match kind {
        Contact::Email => input.email = value.clone(),
        Contact::Phone => input.phone = value.clone(),
    }
    // Read before the transaction begins: it is only the consents standing until now.
    let standing: Vec<_> = consents::of_person(&k.db, &person.id)
        .await?
        .into_iter()
        .filter(|c| c.is_active() && c.scope == kind.scope())
        .collect();
    let mut tx = k.db.begin().await?;
    let updated = people::update_in(&mut tx, &person.id, input).await?;
    if value.is_some() {
        if standing.is_empty() {
            consents::grant_in(
                &mut tx,
                k,
                &person.id,
                &person.id,
                ConsentInput {
                    purpose: crate::i18n::t(crate::i18n::Lang::Ja, kind.purpose_key(), &[]),
                    scope: kind.scope().to_string(),
                },
            )
            .await?;
        }
    } else {
        for c in standing {
            consents::withdraw_in(&mut tx, k, &person.id, &c.id).await?;
        }
    }
    let rec = own_change(person, "residence.contact", format!("person/{}", person.id)).reason(kind.scope());
    audit::append_in(&mut tx, k.now(), vec![rec]).await?;
    tx.commit().await?;
    Ok(updated)
}
