//! Assembly: the hand-written households, then generated ones up to the size asked for.

use super::*;

/// Everything needed to create a person, before keys and contact details are assigned.
pub(super) struct PersonSpec {
    pub(super) display_name: String,
    pub(super) kana: Option<String>,
    pub(super) birth_date: Option<String>,
    pub(super) relation: &'static str,
    pub(super) contact: Contact,
    pub(super) needs_support: bool,
    pub(super) login: Option<&'static str>,
}

pub(super) struct Builder {
    pub(super) chome: Vec<Chome>,
    pub(super) households: Vec<DemoHousehold>,
    pub(super) memberships: Vec<DemoMembership>,
    pub(super) identifiers: Vec<DemoIdentifier>,
    pub(super) people: usize,
    /// Member numbers issued so far, per district association.
    pub(super) member_nos: [usize; 3],
}

impl Builder {
    pub(super) fn new(chome: Vec<Chome>, residents: usize) -> Self {
        // Roughly 2.2 people per household, 1.5 memberships and 1 identifier per person.
        Self {
            chome,
            households: Vec::with_capacity(residents / 2),
            memberships: Vec::with_capacity(residents * 3 / 2),
            identifiers: Vec::with_capacity(residents),
            people: 0,
            member_nos: [0; 3],
        }
    }

    pub(super) fn add_fixed(&mut self, h: &FixedHousehold) {
        let specs = h.members.iter().map(|m| PersonSpec {
            display_name: format!("{} {}", h.surname, m.given),
            kana: Some(format!("{} {}", h.kana, m.kana)),
            birth_date: Some(m.birth.to_owned()),
            relation: m.relation,
            contact: m.contact,
            needs_support: m.needs_support,
            login: m.login,
        });
        let specs: Vec<_> = specs.collect();
        let address = format!("{}{}", self.chome[h.chome].name, h.lot);
        self.add_household(h.surname, h.chome, address, specs);
    }

    /// Appends random households of 1–5 people until the town has exactly `residents` people.
    pub(super) fn fill(&mut self, residents: usize) {
        let mut rng = SplitMix64(0x6d69_646f_7269); // "midori"
        while self.people < residents {
            let size = (1 + rng.below(5) as usize).min(residents - self.people);
            let (surname, surname_kana) = rng.pick(SURNAMES);
            let chome = rng.below(self.chome.len() as u64) as usize;
            let head_year = if size == 1 {
                1935 + rng.below(68)
            } else {
                1950 + rng.below(46)
            };
            let head_male = rng.below(2) == 0;
            let mut specs = Vec::with_capacity(size);
            for i in 0..size {
                let (relation, year, male) = match i {
                    0 => ("本人", head_year, head_male),
                    1 => ("配偶者", head_year + rng.below(7) - 3, !head_male),
                    // A fifth member is a parent who moved in.
                    4 => ("親", (head_year - 25 - rng.below(10)).max(1928), rng.below(2) == 0),
                    _ => ("子", (head_year + 22 + rng.below(18)).min(2024), rng.below(2) == 0),
                };
                specs.push(random_person(
                    &mut rng,
                    surname,
                    surname_kana,
                    relation,
                    year,
                    male,
                    size,
                ));
            }
            let address = format!("{}{}-{}", self.chome[chome].name, 1 + rng.below(20), 1 + rng.below(30));
            self.add_household(surname, chome, address, specs);
        }
    }

    pub(super) fn add_household(&mut self, surname: &str, chome: usize, address: String, specs: Vec<PersonSpec>) {
        let members = specs.into_iter().map(|spec| self.add_person(spec, chome)).collect();
        self.households.push(DemoHousehold {
            key: format!("h{:06}", self.households.len() + 1),
            name: format!("{surname}家"),
            area_code: self.chome[chome].code.clone(),
            address,
            members,
            representative: 0,
        });
    }

    pub(super) fn add_person(&mut self, spec: PersonSpec, chome: usize) -> DemoPerson {
        self.people += 1;
        let n = self.people as u64;
        let key = format!("p{n:06}");
        let (phone, email) = match spec.contact {
            Contact::Name => (false, false),
            Contact::Phone => (true, false),
            Contact::Email => (false, true),
            Contact::Both => (true, true),
        };
        // Multiplying by a number coprime to 10^8 spreads consecutive people over plausible-looking numbers.
        let digits = (n * 7_654_321 + 12_345_678) % 100_000_000;
        let phone = phone.then(|| {
            let prefix = if n.is_multiple_of(2) { "090" } else { "080" };
            format!("{prefix}-{:04}-{:04}", digits / 10_000, digits % 10_000)
        });
        let email = email.then(|| format!("{}@example.jp", spec.login.unwrap_or(&key)));

        let district = self.chome[chome].district;
        if let Some(assoc) = DISTRICTS[district].association {
            self.memberships.push(DemoMembership {
                person_key: key.clone(),
                org_key: assoc.to_owned(),
                role: "resident",
                area_code: Some(self.chome[chome].code.clone()),
            });
            self.member_nos[district] += 1;
            self.identify(
                &key,
                "member_no",
                format!("M{}-{:04}", district + 1, self.member_nos[district]),
            );
        }
        if let Some(login) = spec.login {
            for &(_, org, role, area) in LOGIN_ROLES.iter().filter(|r| r.0 == login) {
                self.memberships.push(DemoMembership {
                    person_key: key.clone(),
                    org_key: org.to_owned(),
                    role,
                    area_code: area.map(str::to_owned),
                });
            }
        }
        if n.is_multiple_of(3) {
            // 982451653 is prime, so n ↦ n·p mod 10^12 is a bijection: unique 16-digit card numbers.
            let card = 3_581_000_000_000_000 + (n * 982_451_653) % 1_000_000_000_000;
            self.identify(&key, "ic_card", card.to_string());
        }
        if spec.login == Some("tanaka") {
            // The watch-over devices of the elderly demo resident: a smart bulb and a tablet terminal.
            self.identify(&key, "device", "bulb-0001".to_owned());
            self.identify(&key, "device", "terminal-0001".to_owned());
        }

        DemoPerson {
            key,
            display_name: spec.display_name,
            kana: spec.kana,
            birth_date: spec.birth_date,
            phone,
            email,
            needs_support: spec.needs_support,
            relation: Some(spec.relation.to_owned()),
            login: spec.login,
        }
    }

    pub(super) fn identify(&mut self, person_key: &str, kind: &'static str, value: String) {
        self.identifiers.push(DemoIdentifier {
            person_key: person_key.to_owned(),
            kind,
            value,
        });
    }
}

pub(super) fn random_person(
    rng: &mut SplitMix64,
    surname: &str,
    surname_kana: &str,
    relation: &'static str,
    year: u64,
    male: bool,
    household_size: usize,
) -> PersonSpec {
    let (given, given_kana) = rng.pick(if male { MALE_NAMES } else { FEMALE_NAMES });
    let (month, day) = (1 + rng.below(12), 1 + rng.below(28));
    // Some people leave out their birth date or reading; children have no contact details of their own.
    let birth_date = (rng.below(12) != 0).then(|| format!("{year:04}-{month:02}-{day:02}"));
    let kana = (rng.below(15) != 0).then(|| format!("{surname_kana} {given_kana}"));
    let contact = match rng.below(10) {
        _ if year > 2010 => Contact::Name,
        0..=2 => Contact::Phone,
        3 | 4 => Contact::Both,
        5 => Contact::Email,
        _ => Contact::Name,
    };
    let needs_support = year < 1950 && (household_size == 1 || relation == "親") && rng.below(3) == 0;
    PersonSpec {
        display_name: format!("{surname} {given}"),
        kana,
        birth_date,
        relation,
        contact,
        needs_support,
        login: None,
    }
}
