//! ID source. Production IDs are ULIDs (the `ulid` crate: time-ordered, 26 Crockford base32 chars) so
//! they sort by creation and never collide across nodes; tests use a sequential source.

use std::sync::atomic::{AtomicU64, Ordering};

pub trait IdSource: Send + Sync {
    fn new_id(&self) -> String;
}

pub struct RandomIds;

impl RandomIds {
    /// A random ID in lower case, usable as an SQL identifier suffix.
    pub fn new_id_lower(&self) -> String {
        self.new_id().to_ascii_lowercase()
    }
}

impl IdSource for RandomIds {
    fn new_id(&self) -> String {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut rnd = [0u8; 10];
        crate::model::token::fill_random(&mut rnd);
        ulid(ms, rnd)
    }
}

/// The ULID text of 48 bits of time and 80 bits of randomness (the randomness is ours, from getrandom).
pub fn ulid(ms: u64, rnd: [u8; 10]) -> String {
    let mut random = [0u8; 16];
    random[6..].copy_from_slice(&rnd);
    let mut buf = [0u8; ulid::ULID_LEN];
    ulid::Ulid::from_parts(ms, u128::from_be_bytes(random))
        .array_to_str(&mut buf)
        .to_owned()
}

/// An ID for one HTTP request (`x-request-id`, the logs): ULID-shaped like the others, but the
/// 80 bits after the time are a random prefix drawn once per process and a counter, not fresh
/// randomness. It only has to be unique, and a call to the operating system's random source
/// on every request is a cost at tens of thousands of requests a second.
pub fn request_id() -> String {
    static PREFIX: std::sync::OnceLock<[u8; 4]> = std::sync::OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        let mut b = [0u8; 4];
        crate::model::token::fill_random(&mut b);
        b
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes();
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let mut rnd = [0u8; 10];
    rnd[..4].copy_from_slice(prefix);
    rnd[4..].copy_from_slice(&n[2..]);
    ulid(ms, rnd)
}

/// Deterministic IDs for tests and the demo town: prefix + zero-padded counter.
pub struct SequentialIds {
    prefix: String,
    next: AtomicU64,
}

impl SequentialIds {
    pub fn new(prefix: &str) -> Self {
        SequentialIds {
            prefix: prefix.to_string(),
            next: AtomicU64::new(1),
        }
    }
}

impl IdSource for SequentialIds {
    fn new_id(&self) -> String {
        format!("{}{:08}", self.prefix, self.next.fetch_add(1, Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_differ() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|id| id.len() == 26));
    }

    #[test]
    fn ulids_sort_by_time() {
        let a = ulid(1_000, [255; 10]);
        let b = ulid(1_001, [0; 10]);
        assert_eq!(a.len(), 26);
        assert!(a < b);
    }

    #[test]
    fn ulid_text_is_unchanged() {
        // The text written by the hand-written encoder this replaced, for ids already stored.
        assert_eq!(ulid(1_000, [0; 10]), "00000000Z80000000000000000");
        assert_eq!(ulid(1_796_655_960_000, [255; 10]), "01M98GMKY0ZZZZZZZZZZZZZZZZ");
        assert_eq!(ulid(u64::MAX, [7; 10]), "7ZZZZZZZZZ0W3GE1R70W3GE1R7");
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(RandomIds.new_id(), RandomIds.new_id());
    }
}
