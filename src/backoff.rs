//! Delays for work that met a passing failure (the database or the blob
//! store out of reach for a while): it is put back and tried again after a
//! growing delay, never failed for it, and the try does not count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

/// Consecutive transient failures per piece of work, and the delay they earn:
/// 1 s, 2 s, 4 s … up to a minute, with ±10 % jitter.
#[derive(Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

const FIRST: Duration = Duration::from_secs(1);
const LONGEST: Duration = Duration::from_secs(60);

impl Backoff {
    /// Counts a failure of `key` and returns how long to wait before trying again.
    pub fn failed(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().expect("backoff counters");
        let n = failures.entry(key.to_string()).or_default();
        *n = n.saturating_add(1);
        let delay = FIRST.saturating_mul(1u32 << (*n - 1).min(16)).min(LONGEST);
        delay.mul_f64(rand::thread_rng().gen_range(0.9..=1.1))
    }

    /// Forgets `key`'s failures once it went through.
    pub fn succeeded(&self, key: &str) {
        let mut failures = self.failures.lock().expect("backoff counters");
        if !failures.is_empty() {
            failures.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_a_minute_and_reset_after_a_success() {
        let b = Backoff::default();
        let first = b.failed("job");
        assert!(first >= Duration::from_millis(900) && first <= Duration::from_millis(1100));
        let second = b.failed("job");
        assert!(second >= Duration::from_millis(1800), "{second:?}");
        for _ in 0..20 {
            b.failed("job");
        }
        assert!(b.failed("job") <= Duration::from_secs(66));
        b.succeeded("job");
        assert!(b.failed("job") <= Duration::from_millis(1100));
        assert!(b.failed("other") <= Duration::from_millis(1100));
    }
}
