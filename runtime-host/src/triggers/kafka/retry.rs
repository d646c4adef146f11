//! When to try a failed message again: exponential backoff with full jitter, bounded attempts.

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// The ceiling of the wait after failed attempt `attempt` (1-based): initial × 2^(n−1),
    /// capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(20));
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }

    /// The wait after failed attempt `attempt`: uniformly between half the ceiling and the
    /// ceiling, so replicas retrying together spread out.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let low = ceiling / 2;
        if ceiling <= low {
            return ceiling;
        }
        let spread = (ceiling - low).as_micros() as u64;
        low + Duration::from_micros(rand::rng().random_range(0..=spread))
    }

    /// Whether another attempt is allowed after `attempt` failed ones.
    pub fn may_retry(&self, attempt: u32) -> bool {
        attempt < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy { max_attempts: 4, initial_backoff: Duration::from_millis(100), max_backoff: Duration::from_secs(1) }
    }

    #[test]
    fn doubles_up_to_the_cap() {
        let p = policy();
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(4), Duration::from_millis(800));
        assert_eq!(p.ceiling(5), Duration::from_secs(1));
        assert_eq!(p.ceiling(60), Duration::from_secs(1));
    }

    #[test]
    fn jitter_stays_between_half_and_the_ceiling() {
        let p = policy();
        for attempt in 1..8 {
            for _ in 0..100 {
                let d = p.backoff(attempt);
                assert!(d >= p.ceiling(attempt) / 2 && d <= p.ceiling(attempt), "{attempt}: {d:?}");
            }
        }
    }

    #[test]
    fn attempts_are_bounded() {
        let p = policy();
        assert!(p.may_retry(3));
        assert!(!p.may_retry(4));
    }
}
