//! A batch of signals resolved and planned: which are stored, what they change in
//! `watch_state` and the devices (each key once), and the SQL both writers share.

use super::*;

/// A device as the ingest needs it.
#[derive(sqlx::FromRow)]
pub(super) struct Resolved {
    pub(super) id: String,
    pub(super) token_hash: String,
    pub(super) person_id: String,
    pub(super) kind: String,
    pub(super) watched: bool,
    /// SQLite's rowid of the device (the SQLite writer updates the device by it).
    #[sqlx(default)]
    pub(super) rowid: Option<i64>,
}

/// Devices by token hash, with whether their circle is watching (and, for the SQLite writer,
/// the device's rowid as the first column).
pub(super) fn resolve_sql(keys: &str, with_rowid: bool) -> String {
    format!(
        "SELECT {}d.id, d.token_hash, d.person_id, d.kind, ({}) AS watched \
         FROM watch_devices d JOIN watch_circles c ON c.id = d.circle_id \
         WHERE d.token_hash IN ({keys}) AND d.removed_at IS NULL",
        if with_rowid { "d.rowid, " } else { "" },
        crate::store::WATCHING
    )
}

/// People among a list with a consented, open circle.
pub(super) fn watched_sql(keys: &str) -> String {
    format!(
        "SELECT c.person_id FROM watch_circles c WHERE c.person_id IN ({keys}) AND {}",
        crate::store::WATCHING
    )
}

/// What a batch says of one device: its newest value, and since when it has been on.
pub(super) struct DeviceChange<'a> {
    pub(super) value: &'a str,
    pub(super) at: i64,
    /// 1 on, 0 off, None for values that switch nothing (a door, motion).
    pub(super) switch: Option<i64>,
    /// Switched off within the batch: a later "on" starts a new on-period.
    pub(super) off_in_batch: bool,
    /// The first "on" after the last "off" in the batch.
    pub(super) on_from: i64,
}

impl<'a> DeviceChange<'a> {
    /// `events` sorted by time, not empty.
    pub(super) fn of(events: &[(i64, &'a str)]) -> DeviceChange<'a> {
        let (at, value) = events[events.len() - 1];
        let last_off = events
            .iter()
            .rposition(|(_, v)| crate::model::signal::switches(v) == Some(false));
        let after = last_off.map_or(0, |i| i + 1);
        let on_from = events[after..]
            .iter()
            .find(|(_, v)| crate::model::signal::switches(v) == Some(true))
            .map_or(at, |(t, _)| *t);
        DeviceChange {
            value,
            at,
            switch: crate::model::signal::switches(value).map(i64::from),
            off_in_batch: last_off.is_some(),
            on_from,
        }
    }
}

/// Per person in a batch: newest signal, newest 「元気です」, newest use of the terminal.
pub(super) type PersonState = (i64, Option<i64>, Option<i64>);

#[derive(Clone, Copy)]
pub(super) struct Row<'a> {
    pub(super) person_id: &'a str,
    pub(super) device_id: Option<&'a str>,
    /// SQLite's rowid of the device, when the writer resolved it (see `UPDATE_BY_ROWID`).
    pub(super) device_rowid: Option<i64>,
    pub(super) source: &'a str,
    pub(super) value: &'a str,
    pub(super) at: i64,
}

/// A batch resolved: each signal's result, and the signals to write.
pub(super) struct Plan<'a> {
    pub(super) results: Vec<Ingested>,
    pub(super) rows: Vec<Row<'a>>,
}

/// What signals change in `watch_state` and the devices, each key once.
pub(super) struct Projection<'a> {
    /// Sorted by person (rows are locked in one order).
    pub(super) state: Vec<(&'a str, PersonState)>,
    /// Sorted by device id: the device's rowid (if known) and its change.
    pub(super) devices: Vec<(&'a str, Option<i64>, DeviceChange<'a>)>,
}

/// Per person: the newest signal, 「元気です」 and use of the terminal. Per device: its newest
/// value, and since when it is on. The rows may come in any order.
pub(super) fn project<'a, 'b>(rows: impl IntoIterator<Item = &'b Row<'a>>) -> Projection<'a>
where
    'a: 'b,
{
    let mut state: HashMap<&str, PersonState> = HashMap::new();
    // By device: its rowid (if known) and its (time, value) events.
    type Events<'a> = (Option<i64>, Vec<(i64, &'a str)>);
    let mut device_events: HashMap<&str, Events> = HashMap::new();
    for r in rows {
        let e = state.entry(r.person_id).or_insert((i64::MIN, None, None));
        e.0 = e.0.max(r.at);
        if r.source == "checkin" {
            e.1 = Some(e.1.map_or(r.at, |c| c.max(r.at)));
        }
        if r.source == "terminal" && r.device_id.is_none() {
            e.2 = Some(e.2.map_or(r.at, |c| c.max(r.at)));
        }
        if let Some(d) = r.device_id {
            let e = device_events.entry(d).or_default();
            e.0 = e.0.or(r.device_rowid);
            e.1.push((r.at, r.value));
        }
    }
    let mut state: Vec<(&str, PersonState)> = state.into_iter().collect();
    state.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let mut devices: Vec<(&str, Option<i64>, DeviceChange)> = device_events
        .into_iter()
        .map(|(d, (rowid, mut events))| {
            events.sort_unstable();
            (d, rowid, DeviceChange::of(&events))
        })
        .collect();
    devices.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Projection { state, devices }
}

/// The senders whose devices must be looked up (by token hash) and the people whose watching
/// must be checked.
pub(super) fn keys(signals: &[Incoming]) -> (Vec<&str>, Vec<&str>) {
    let mut by_token = Vec::new();
    let mut people = Vec::new();
    for s in signals {
        match &s.sender {
            Sender::TokenHash(h) | Sender::DeviceToken { hash: h, .. } => by_token.push(h.as_str()),
            Sender::Person { person_id, .. } => people.push(person_id.as_str()),
        }
    }
    (by_token, people)
}

pub(super) fn plan<'a>(signals: &'a [Incoming], devices: &'a [Resolved], watched: &[String]) -> Plan<'a> {
    let by_hash: HashMap<&str, &Resolved> = devices.iter().map(|d| (d.token_hash.as_str(), d)).collect();
    let mut results = Vec::with_capacity(signals.len());
    let mut rows: Vec<Row> = Vec::with_capacity(signals.len());
    for s in signals {
        let device = match &s.sender {
            Sender::TokenHash(h) => by_hash.get(h.as_str()).copied(),
            Sender::DeviceToken { device, hash } => by_hash.get(hash.as_str()).copied().filter(|d| &d.id == device),
            Sender::Person { person_id, source } => {
                if watched.iter().any(|w| w == person_id) {
                    rows.push(Row {
                        person_id,
                        device_id: None,
                        device_rowid: None,
                        source,
                        value: &s.value,
                        at: s.at,
                    });
                    results.push(Ingested::Stored {
                        person_id: person_id.clone(),
                    });
                } else {
                    results.push(Ingested::NotWatched);
                }
                continue;
            }
        };
        match device {
            None => results.push(Ingested::Unknown),
            Some(d) if !d.watched => results.push(Ingested::NotWatched),
            Some(d) => {
                rows.push(Row {
                    person_id: &d.person_id,
                    device_id: Some(&d.id),
                    device_rowid: d.rowid,
                    source: &d.kind,
                    value: &s.value,
                    at: s.at,
                });
                results.push(Ingested::Stored {
                    person_id: d.person_id.clone(),
                });
            }
        }
    }

    Plan { results, rows }
}

pub(super) const INSERT_SIGNAL: &str =
    "INSERT INTO watch_signals (person_id, device_id, source, value, at, received_at) VALUES ";

/// The SQLite writer's log of the signals it holds (`sqlite::Pending`).
pub(super) const HOLD_SIGNAL: &str =
    "INSERT INTO watch_signal_log (person_id, device_id, source, value, at, received_at) VALUES ";

/// Keeps the newest of each time per person (a batch may arrive after a newer one).
pub(super) const UPSERT_STATE: &str = "ON CONFLICT (person_id) DO UPDATE SET \
    last_signal_at = CASE WHEN watch_state.last_signal_at IS NULL OR excluded.last_signal_at > watch_state.last_signal_at \
      THEN excluded.last_signal_at ELSE watch_state.last_signal_at END, \
    last_checkin_at = CASE WHEN excluded.last_checkin_at IS NOT NULL AND (watch_state.last_checkin_at IS NULL \
      OR excluded.last_checkin_at > watch_state.last_checkin_at) THEN excluded.last_checkin_at ELSE watch_state.last_checkin_at END, \
    last_use_at = CASE WHEN excluded.last_use_at IS NOT NULL AND (watch_state.last_use_at IS NULL \
      OR excluded.last_use_at > watch_state.last_use_at) THEN excluded.last_use_at ELSE watch_state.last_use_at END";

/// The columns of `FROM (VALUES …) AS v`, for `update_device` over many devices.
pub(super) const VALUES_COLUMNS: [&str; 6] = [
    "v.column1",
    "v.column2",
    "v.column3",
    "v.column4",
    "v.column5",
    "v.column6",
];

/// A device's newest value, unless a newer one is stored. `v` names the values: (id, value, at,
/// switch, off_in_batch, on_from), e.g. `["?1", …]` for one device or the columns of a VALUES
/// list for many; `which` picks the device (`watch_devices.id = {id}` unless given).
pub(super) fn update_device(v: [&str; 6], from: &str, which: Option<&str>) -> String {
    let [id, value, at, switch, off, on_from] = v;
    let which = which.map_or_else(|| format!("watch_devices.id = {id}"), str::to_string);
    format!(
        "UPDATE watch_devices SET last_value = {value}, last_at = {at}, \
         on_since = CASE WHEN {switch} = 1 AND {off} = 1 THEN {on_from} \
           WHEN {switch} = 1 THEN COALESCE(watch_devices.on_since, {on_from}) WHEN {switch} = 0 THEN NULL \
           ELSE watch_devices.on_since END {from} \
         WHERE {which} AND (watch_devices.last_at IS NULL OR watch_devices.last_at <= {at})"
    )
}

#[cfg(test)]
mod tests {
    use super::{DeviceChange, VALUES_COLUMNS, update_device};

    /// The signal writer's statement for one device stays a plain UPDATE: SQLite runs
    /// UPDATE … FROM through temporary tables (`OpenEphemeral`), a pager each, opened and closed
    /// for every device of every batch.
    #[test]
    fn one_device_is_updated_without_temporary_tables() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("../../../migrations/sqlite/0001_watch.sql"))
            .unwrap();
        let opcodes = |sql: &str| -> Vec<String> {
            let mut q = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
            // Unbound parameters are NULL, which EXPLAIN does not mind.
            let mut rows = q.raw_query();
            let mut ops = Vec::new();
            while let Some(r) = rows.next().unwrap() {
                ops.push(r.get::<_, String>(1).unwrap());
            }
            ops
        };
        let single = opcodes(&update_device(["?1", "?2", "?3", "?4", "?5", "?6"], "", None));
        assert!(single.iter().any(|op| op == "OpenWrite"), "{single:?}");
        assert!(!single.iter().any(|op| op == "OpenEphemeral"), "{single:?}");
        // By the rowid the writer kept: one seek into the table, the id's index not opened.
        let by_rowid = opcodes(&update_device(
            ["?1", "?2", "?3", "?4", "?5", "?6"],
            "",
            Some(super::super::sqlite::UPDATE_BY_ROWID),
        ));
        assert!(
            by_rowid.iter().any(|op| op == "NotExists" || op == "SeekRowid"),
            "{by_rowid:?}"
        );
        assert!(
            !by_rowid.iter().any(|op| op == "SeekGE" || op == "IdxGT"),
            "{by_rowid:?}"
        );
        // The pooled form for many devices at once is the one that pays for them.
        let many = opcodes(&update_device(
            VALUES_COLUMNS,
            "FROM (VALUES (?1, ?2, ?3, ?4, ?5, ?6)) AS v",
            None,
        ));
        assert!(many.iter().any(|op| op == "OpenEphemeral"), "{many:?}");
    }

    /// The writer keeps the devices it resolved while `watch_ingest_generation` stays the same:
    /// what the answer depends on moves it on, the writer's own update of a device does not.
    #[test]
    fn only_what_resolving_a_device_depends_on_moves_the_generation() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        // The kernel's tables the watch tables refer to, as far as they matter here.
        conn.execute_batch(
            "CREATE TABLE people (id TEXT PRIMARY KEY); INSERT INTO people (id) VALUES ('p1'); \
             CREATE TABLE consents (id TEXT PRIMARY KEY, withdrawn_at INTEGER);",
        )
        .unwrap();
        conn.execute_batch(include_str!("../../../migrations/sqlite/0001_watch.sql"))
            .unwrap();
        conn.execute_batch(include_str!("../../../migrations/sqlite/0003_ingest_cache.sql"))
            .unwrap();
        let generation = || -> i64 {
            conn.query_row("SELECT n FROM watch_ingest_generation", [], |r| r.get(0))
                .unwrap()
        };
        conn.execute_batch(
            "INSERT INTO consents (id) VALUES ('co1'); \
             INSERT INTO watch_circles (id, person_id, created_by, created_at, consent_id, ladder_minutes) \
               VALUES ('c1', 'p1', 'p1', 0, 'co1', 15); \
             INSERT INTO watch_devices (id, circle_id, person_id, kind, token_hash, created_at) \
               VALUES ('d1', 'c1', 'p1', 'bulb', 'h1', 0);",
        )
        .unwrap();
        let start = generation();
        assert_eq!(start, 2, "a new circle and a new device each move it");

        conn.execute(
            &update_device(["?1", "?2", "?3", "?4", "?5", "?6"], "", None),
            rusqlite::params!["d1", "on", 10, 1, 0, 10],
        )
        .unwrap();
        assert_eq!(
            conn.query_row("SELECT last_value FROM watch_devices", [], |r| r.get::<_, String>(0))
                .unwrap(),
            "on"
        );
        conn.execute("UPDATE watch_circles SET paused_until = 5, quiet_start = 1", [])
            .unwrap();
        assert_eq!(generation(), start, "a device's last value, a pause: the same devices");

        let mut expected = start;
        for change in [
            "UPDATE watch_devices SET removed_at = 20",
            "UPDATE watch_devices SET token_hash = 'h2'",
            "UPDATE watch_circles SET closed_at = 30",
            "UPDATE watch_circles SET consent_id = NULL",
            "UPDATE consents SET withdrawn_at = 40",
            "DELETE FROM watch_devices",
            "DELETE FROM consents",
        ] {
            conn.execute(change, []).unwrap();
            expected += 1;
            assert_eq!(generation(), expected, "{change}");
        }
    }

    #[test]
    fn an_off_within_a_batch_starts_a_new_on_period() {
        let c = DeviceChange::of(&[(1, "on"), (2, "off"), (3, "on"), (4, "on")]);
        assert_eq!(
            (c.value, c.at, c.switch, c.off_in_batch, c.on_from),
            ("on", 4, Some(1), true, 3)
        );
        let c = DeviceChange::of(&[(5, "on"), (6, "on")]);
        assert_eq!((c.off_in_batch, c.on_from), (false, 5));
        let c = DeviceChange::of(&[(7, "on"), (8, "off")]);
        assert_eq!((c.switch, c.off_in_batch), (Some(0), true));
        let c = DeviceChange::of(&[(9, "open")]);
        assert_eq!(c.switch, None);
    }
}
