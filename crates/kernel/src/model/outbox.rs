//! Delivery retry rules: exponential backoff, and when to give up.

/// Attempts before a delivery is marked failed for good.
pub const MAX_ATTEMPTS: i64 = 8;

/// Delay before attempt `attempts + 1`: 5 s, 10 s, 20 s … capped at one hour.
pub fn backoff_ms(attempts: i64) -> i64 {
    let exp = attempts.clamp(0, 20) as u32;
    (5_000i64.saturating_mul(1 << exp)).min(3_600_000)
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    RetryAt(i64),
    GiveUp,
}

pub fn after_failure(attempts: i64, permanent: bool, now: i64) -> AfterFailure {
    if permanent || attempts >= MAX_ATTEMPTS {
        AfterFailure::GiveUp
    } else {
        AfterFailure::RetryAt(now + backoff_ms(attempts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ms(0), 5_000);
        assert_eq!(backoff_ms(1), 10_000);
        assert_eq!(backoff_ms(30), 3_600_000);
        assert_eq!(after_failure(1, true, 0), AfterFailure::GiveUp);
        assert_eq!(after_failure(MAX_ATTEMPTS, false, 0), AfterFailure::GiveUp);
        assert_eq!(after_failure(2, false, 100), AfterFailure::RetryAt(100 + 20_000));
    }

    proptest! {
        #[test]
        fn backoff_never_shrinks(a in 0i64..40) {
            prop_assert!(backoff_ms(a + 1) >= backoff_ms(a));
            prop_assert!(backoff_ms(a) > 0 && backoff_ms(a) <= 3_600_000);
        }
    }
}
