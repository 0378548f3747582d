//! The demo town's watch-over circle, so a newcomer sees a living example: tanaka watched with
//! her consent, her daughter sato and her care manager on the ladder, a supporter beside them, her
//! smart bulb, the default rules, and two days of signals (the bulb going on and off, 「元気です」
//! each morning, the terminal in use). Who is in it is the data below;
//! the logins are the kernel's demo town's.

use kernel::{Kernel, Result};

use crate::model::{DAY_MS, local_midnight};
use crate::store::signals::{Incoming, Sender};
use crate::store::{self};

/// The demo town's watch-over circle (見守りの輪), a living example for a newcomer: the watched
/// person's login, the members (login, role in the circle, place on the calling ladder) and the
/// devices (id, kind). [`load`] loads it with consent, default rules and recent signals.
pub const DEMO_WATCHED: &str = "tanaka";
pub const DEMO_CIRCLE: &[(&str, &str, Option<i64>)] = &[
    ("sato", "family", Some(1)),
    ("caremgr", "care_manager", Some(2)),
    // Off the ladder: calling a visitor needs a privacy training on record, which the demo
    // leaves for the welfare desk to enter (the browser tests walk that gate).
    ("supporter", "supporter", None),
];
pub const DEMO_DEVICES: &[(&str, &str)] = &[("bulb-0001", "bulb")];

/// Minutes after local midnight at which the demo's signals happen each day: (minute, source, value).
const DAY: &[(i64, &str, &str)] = &[
    (6 * 60 + 40, "bulb", "on"),
    (7 * 60 + 30, "checkin", "genki"),
    (7 * 60 + 50, "bulb", "off"),
    (8 * 60 + 5, "terminal", "use"),
    (12 * 60 + 15, "terminal", "use"),
    (17 * 60 + 30, "bulb", "on"),
    (19 * 60, "terminal", "use"),
    (22 * 60 + 10, "bulb", "off"),
];

/// The module's `demo`: [`load`], with a line for the operator when the circle was loaded.
pub fn load_module(k: Kernel) -> kernel::module::Loading {
    Box::pin(async move {
        Ok(load(&k)
            .await?
            .then(|| format!("demo watch-over circle of {DEMO_WATCHED} loaded")))
    })
}

/// Load the circle once, after the kernel's demo town; false when there is nothing to do (the
/// logins are not there, or the circle exists already).
pub async fn load(k: &Kernel) -> Result<bool> {
    let login = |l: &'static str| kernel::store::accounts::person_by_login(&k.db, l);
    let Some(person) = login(DEMO_WATCHED).await? else {
        return Ok(false);
    };
    if store::of_person(&k.db, &person).await?.is_some() {
        return Ok(false);
    }
    let mut members = Vec::new();
    for (l, role, ladder) in DEMO_CIRCLE {
        let Some(id) = login(l).await? else { return Ok(false) };
        members.push((id, *role, *ladder));
    }
    let (creator, creator_role, _) = members[0].clone();
    // The demo circle is made whole or not at all.
    let mut tx = k.db.begin().await?;
    let circle = store::create_circle(&mut tx, k, &person, &creator, Some(creator_role)).await?;
    let circle = store::record_consent(&mut tx, k, &circle, &person).await?;
    for rule in crate::model::rule::defaults() {
        store::add_rule(&mut tx, k, &circle.id, &rule, &creator).await?;
    }
    for (id, role, ladder) in &members {
        store::put_member(&mut tx, k, &circle.id, id, role, *ladder, &creator).await?;
    }
    let mut tokens = Vec::new();
    for (device, kind) in DEMO_DEVICES {
        tokens.push((*kind, store::add_device(&mut tx, k, &circle, device, kind).await?));
    }
    tx.commit().await?;
    // Two days of signals up to now: this morning's 「元気です」 is among them once it is past 7:30,
    // so the demo does not start with a missed check-in.
    let now = k.now();
    let mut signals = Vec::new();
    let today = local_midnight(now);
    for day in [today - 2 * DAY_MS, today - DAY_MS, today] {
        for (minute, source, value) in DAY {
            let at = day + minute * 60_000;
            if at <= now - 60_000 && at > now - 2 * DAY_MS {
                let sender = match tokens.iter().find(|(kind, _)| kind == source) {
                    Some((_, token)) => Sender::TokenHash(store::hash_token(token)),
                    None if *source == "checkin" || *source == "terminal" => Sender::Person {
                        person_id: person.clone(),
                        source: if *source == "checkin" { "checkin" } else { "terminal" },
                    },
                    None => continue,
                };
                signals.push(Incoming {
                    sender,
                    value: (*value).to_string(),
                    at,
                });
            }
        }
    }
    store::signals::ingest(k, &signals).await?;
    Ok(true)
}
