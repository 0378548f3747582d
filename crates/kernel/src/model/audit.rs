//! The audit log is append-only and hash-chained: each entry carries the hash of the one
//! before, so altering or removing any row breaks every link after it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::Id;

/// The hash the first entry points back to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    /// Who acted; `None` for the system itself (jobs, CLI).
    pub actor_id: Option<Id>,
    pub action: String,
    /// Whose personal data was touched, if anyone's.
    pub subject_id: Option<Id>,
    pub resource: String,
    pub reason: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// What a caller records; the store adds sequence, time and hashes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditRecord {
    pub actor_id: Option<Id>,
    pub action: String,
    pub subject_id: Option<Id>,
    pub resource: String,
    pub reason: Option<String>,
}

impl AuditRecord {
    pub fn new(actor_id: Option<&str>, action: &str, resource: impl Into<String>) -> Self {
        AuditRecord {
            actor_id: actor_id.map(str::to_string),
            action: action.to_string(),
            subject_id: None,
            resource: resource.into(),
            reason: None,
        }
    }
    pub fn subject(mut self, person: &str) -> Self {
        self.subject_id = Some(person.to_string());
        self
    }
    pub fn reason(mut self, reason: &str) -> Self {
        self.reason = Some(reason.to_string());
        self
    }
}

/// Hash of an entry's content and its predecessor's hash. Fields are length-prefixed so no
/// two different entries serialise to the same bytes.
pub fn entry_hash(seq: i64, at: i64, r: &AuditRecord, prev_hash: &str) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &[u8]| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s);
    };
    field(&seq.to_be_bytes());
    field(&at.to_be_bytes());
    field(r.actor_id.as_deref().unwrap_or("\u{0}").as_bytes());
    field(r.action.as_bytes());
    field(r.subject_id.as_deref().unwrap_or("\u{0}").as_bytes());
    field(r.resource.as_bytes());
    field(r.reason.as_deref().unwrap_or("\u{0}").as_bytes());
    field(prev_hash.as_bytes());
    hex::encode(h.finalize())
}

impl AuditEntry {
    pub fn record(&self) -> AuditRecord {
        AuditRecord {
            actor_id: self.actor_id.clone(),
            action: self.action.clone(),
            subject_id: self.subject_id.clone(),
            resource: self.resource.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// The first place the chain is broken, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokenLink {
    /// A sequence number is missing or repeated (a row was removed or inserted).
    Gap { expected_seq: i64, found_seq: i64 },
    /// The entry's stored `prev_hash` is not the previous entry's hash.
    PrevMismatch { seq: i64 },
    /// The entry's content does not hash to its stored hash (the row was altered).
    Altered { seq: i64 },
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrokenLink::Gap {
                expected_seq,
                found_seq,
            } => {
                write!(f, "entry {expected_seq} is missing (next entry found is {found_seq})")
            }
            BrokenLink::PrevMismatch { seq } => write!(f, "entry {seq} does not link to the entry before it"),
            BrokenLink::Altered { seq } => write!(f, "entry {seq} was altered (its content does not match its hash)"),
        }
    }
}

/// Incremental verifier, so a long chain can be checked in pages without loading it whole.
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
    pub checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            checked: 0,
        }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, e: &AuditEntry) -> Result<(), BrokenLink> {
        if e.seq != self.expected_seq {
            return Err(BrokenLink::Gap {
                expected_seq: self.expected_seq,
                found_seq: e.seq,
            });
        }
        if e.prev_hash != self.prev_hash {
            return Err(BrokenLink::PrevMismatch { seq: e.seq });
        }
        if entry_hash(e.seq, e.at, &e.record(), &e.prev_hash) != e.hash {
            return Err(BrokenLink::Altered { seq: e.seq });
        }
        self.expected_seq += 1;
        self.prev_hash = e.hash.clone();
        self.checked += 1;
        Ok(())
    }
}

/// Verify a whole chain held in memory.
pub fn verify(entries: &[AuditEntry]) -> Result<u64, BrokenLink> {
    let mut v = ChainVerifier::default();
    for e in entries {
        v.check(e)?;
    }
    Ok(v.checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chain(records: &[AuditRecord]) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let seq = i as i64 + 1;
                let at = 1000 + seq;
                let hash = entry_hash(seq, at, r, &prev);
                let e = AuditEntry {
                    seq,
                    at,
                    actor_id: r.actor_id.clone(),
                    action: r.action.clone(),
                    subject_id: r.subject_id.clone(),
                    resource: r.resource.clone(),
                    reason: r.reason.clone(),
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    fn records(n: usize) -> Vec<AuditRecord> {
        (0..n)
            .map(|i| AuditRecord::new(Some("admin"), "person.read", format!("person/{i}")).subject("p1"))
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(&records(5))), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
    }

    #[test]
    fn names_altered_removed_and_relinked_rows() {
        let mut c = chain(&records(5));
        c[2].reason = Some("curiosity".into());
        assert_eq!(verify(&c), Err(BrokenLink::Altered { seq: 3 }));

        let mut c = chain(&records(5));
        c.remove(1);
        assert_eq!(
            verify(&c),
            Err(BrokenLink::Gap {
                expected_seq: 2,
                found_seq: 3
            })
        );

        // Recomputing one row's own hash after altering it still breaks the next link.
        let mut c = chain(&records(5));
        c[1].resource = "person/other".into();
        c[1].hash = entry_hash(c[1].seq, c[1].at, &c[1].record(), &c[1].prev_hash);
        assert_eq!(verify(&c), Err(BrokenLink::PrevMismatch { seq: 3 }));
    }

    proptest! {
        #[test]
        fn any_single_field_change_is_detected(n in 1usize..20, pick in 0usize..20, txt in "[a-z]{1,8}") {
            let mut c = chain(&records(n));
            let i = pick % n;
            c[i].action.push_str(&txt);
            let err = verify(&c).unwrap_err();
            prop_assert_eq!(err, BrokenLink::Altered { seq: i as i64 + 1 });
        }
    }
}
