//! Secrets: personal API tokens (shown once, stored only as a SHA-256 hash) and the
//! randomness they come from.

use sha2::{Digest, Sha256};

pub const TOKEN_PREFIX: &str = "machi_";

pub fn fill_random(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random source is available");
}

/// A new token as shown to its owner: `machi_` followed by 64 hex characters (256 bits).
pub fn new_token() -> String {
    let mut b = [0u8; 32];
    fill_random(&mut b);
    format!("{TOKEN_PREFIX}{}", hex::encode(b))
}

/// What the database keeps instead of the token. Tokens have 256 bits of entropy, so a fast
/// hash is enough (no password stretching needed) and lookups stay cheap.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The first characters, to let a person recognise a token in a list without revealing it.
pub fn token_hint(token: &str) -> String {
    token.chars().take(TOKEN_PREFIX.len() + 6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_hash_stably() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == TOKEN_PREFIX.len() + 64);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hint(&a).len(), 12);
    }
}
