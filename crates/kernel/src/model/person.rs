//! A person: a display name is all machi needs; everything else is optional and personal.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Id;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Person {
    pub id: Id,
    pub display_name: String,
    pub kana: Option<String>,
    /// ISO date `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    /// BCP 47 language tag; Japanese when absent.
    pub language: Option<String>,
    pub address: Option<String>,
    /// The 町丁目 (or other area) the person lives in.
    pub area_id: Option<Id>,
    /// Registered as needing support in disasters (要支援者).
    pub needs_support: bool,
    pub created_at: i64,
}

/// What anyone may see of a person: the name they chose to show and their area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PersonPublic {
    pub id: Id,
    pub display_name: String,
    pub area_id: Option<Id>,
}

impl From<&Person> for PersonPublic {
    fn from(p: &Person) -> Self {
        PersonPublic {
            id: p.id.clone(),
            display_name: p.display_name.clone(),
            area_id: p.area_id.clone(),
        }
    }
}

/// Input for creating or editing a person.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonInput {
    pub display_name: String,
    #[serde(default)]
    pub kana: Option<String>,
    #[serde(default)]
    pub birth_date: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub area_id: Option<Id>,
    #[serde(default)]
    pub needs_support: bool,
}

/// Why a person's input was refused; each maps to a message catalog key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersonInvalid {
    NameMissing,
    NameTooLong,
    BirthDate,
    Email,
}

impl PersonInvalid {
    pub fn message_key(&self) -> &'static str {
        match self {
            PersonInvalid::NameMissing => "person-name-missing",
            PersonInvalid::NameTooLong => "person-name-too-long",
            PersonInvalid::BirthDate => "person-birth-date-invalid",
            PersonInvalid::Email => "person-email-invalid",
        }
    }
}

pub const MAX_NAME_CHARS: usize = 100;

impl PersonInput {
    /// Trim the fields and check the few rules machi has about people.
    pub fn validate(mut self) -> Result<PersonInput, PersonInvalid> {
        self.display_name = self.display_name.trim().to_string();
        if self.display_name.is_empty() {
            return Err(PersonInvalid::NameMissing);
        }
        if self.display_name.chars().count() > MAX_NAME_CHARS {
            return Err(PersonInvalid::NameTooLong);
        }
        let blank_to_none = |o: Option<String>| o.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        self.kana = blank_to_none(self.kana);
        self.birth_date = blank_to_none(self.birth_date);
        self.phone = blank_to_none(self.phone);
        self.email = blank_to_none(self.email);
        self.language = blank_to_none(self.language);
        self.address = blank_to_none(self.address);
        self.area_id = blank_to_none(self.area_id);
        if let Some(d) = &self.birth_date
            && !is_iso_date(d)
        {
            return Err(PersonInvalid::BirthDate);
        }
        if let Some(e) = &self.email
            && !is_plausible_email(e)
        {
            return Err(PersonInvalid::Email);
        }
        Ok(self)
    }
}

pub fn is_iso_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(y), Some(m), Some(d)) => {
            let dim = match m {
                1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
                4 | 6 | 9 | 11 => 30,
                2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
                2 => 28,
                _ => return false,
            };
            (1..=dim).contains(&d) && y >= 1850
        }
        _ => false,
    }
}

fn is_plausible_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn name_is_enough() {
        let p = PersonInput {
            display_name: " 田中 ".into(),
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(p.display_name, "田中");
    }

    #[test]
    fn refuses_missing_name_and_bad_fields() {
        assert_eq!(
            PersonInput::default().validate().unwrap_err(),
            PersonInvalid::NameMissing
        );
        let bad_date = PersonInput {
            display_name: "a".into(),
            birth_date: Some("2023-02-30".into()),
            ..Default::default()
        };
        assert_eq!(bad_date.validate().unwrap_err(), PersonInvalid::BirthDate);
        let bad_mail = PersonInput {
            display_name: "a".into(),
            email: Some("nope".into()),
            ..Default::default()
        };
        assert_eq!(bad_mail.validate().unwrap_err(), PersonInvalid::Email);
    }

    #[test]
    fn dates() {
        assert!(is_iso_date("2024-02-29"));
        assert!(!is_iso_date("2023-02-29"));
        assert!(!is_iso_date("1950-13-01"));
        assert!(!is_iso_date("1950-1-01"));
    }

    proptest! {
        #[test]
        fn any_nonblank_short_name_is_accepted(name in "[^\\s]{1,50}") {
            let p = PersonInput { display_name: name.clone(), ..Default::default() }.validate().unwrap();
            prop_assert_eq!(p.display_name, name);
        }
    }
}
