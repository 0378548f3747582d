//! Login rate limit: after 5 failures within 5 minutes for an account or a client address,
//! further attempts are refused until the oldest failure leaves the window.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

pub const MAX_FAILURES: usize = 5;
pub const WINDOW_MS: i64 = 5 * 60 * 1000;

type Failures = HashMap<String, VecDeque<i64>>;

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<Failures>,
}

/// Seconds to wait if any key is over the limit at `now`, else 0. Drops expired entries.
fn wait_secs(map: &mut Failures, keys: &[String], now: i64) -> i64 {
    let mut wait = 0;
    for k in keys {
        if let Some(q) = map.get_mut(k) {
            while q.front().is_some_and(|t| *t <= now - WINDOW_MS) {
                q.pop_front();
            }
            if q.len() >= MAX_FAILURES {
                let oldest = *q.front().expect("non-empty");
                wait = wait.max(((oldest + WINDOW_MS - now) + 999) / 1000);
            }
        }
    }
    if wait > 0 { wait.max(1) } else { 0 }
}

fn record(map: &mut Failures, keys: &[String], now: i64) {
    for k in keys {
        let q = map.entry(k.clone()).or_default();
        q.push_back(now);
        while q.len() > MAX_FAILURES * 4 {
            q.pop_front();
        }
    }
    // Keep memory bounded under a flood of distinct keys.
    if map.len() > 100_000 {
        map.retain(|_, q| q.back().is_some_and(|t| *t > now - WINDOW_MS));
    }
}

impl LoginLimiter {
    fn map(&self) -> std::sync::MutexGuard<'_, Failures> {
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(seconds)` to wait if any of `keys` is over the limit at `now`.
    pub fn check(&self, keys: &[String], now: i64) -> Result<(), i64> {
        match wait_secs(&mut self.map(), keys, now) {
            0 => Ok(()),
            wait => Err(wait),
        }
    }

    /// Check and count an attempt under one lock, so parallel requests cannot all slip through
    /// before any of them fails. A successful attempt is taken back with [`Self::succeeded`].
    pub fn attempt(&self, keys: &[String], now: i64) -> Result<(), i64> {
        let mut map = self.map();
        match wait_secs(&mut map, keys, now) {
            0 => {
                record(&mut map, keys, now);
                Ok(())
            }
            wait => Err(wait),
        }
    }

    /// The attempt counted by [`Self::attempt`] at `now` succeeded: it is not a failure.
    pub fn succeeded(&self, keys: &[String], now: i64) {
        let mut map = self.map();
        for k in keys {
            if let Some(q) = map.get_mut(k)
                && let Some(pos) = q.iter().rposition(|t| *t == now)
            {
                q.remove(pos);
            }
        }
    }

    pub fn fail(&self, keys: &[String], now: i64) {
        record(&mut self.map(), keys, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_for_the_rest_of_the_window() {
        let l = LoginLimiter::default();
        let keys = vec!["acct:tanaka".to_string()];
        for i in 0..5 {
            assert!(l.check(&keys, 1000 + i).is_ok());
            l.fail(&keys, 1000 + i);
        }
        assert_eq!(
            l.check(&keys, 2000),
            Err(299),
            "seconds until the oldest failure leaves the window"
        );
        assert!(l.check(&keys, 1000 + WINDOW_MS + 1).is_ok());
        assert!(l.check(&["ip:1.2.3.4".to_string()], 2000).is_ok());
    }

    #[test]
    fn attempts_count_until_they_succeed() {
        let l = LoginLimiter::default();
        let keys = vec!["acct:sato".to_string()];
        // Five parallel attempts are all counted before any finishes; the sixth waits.
        for i in 0..5 {
            assert!(l.attempt(&keys, 100 + i).is_ok());
        }
        assert!(l.attempt(&keys, 200).is_err());
        // A success takes its own attempt back.
        let l = LoginLimiter::default();
        for i in 0..10 {
            assert!(l.attempt(&keys, 100 + i).is_ok());
            l.succeeded(&keys, 100 + i);
        }
    }
}
