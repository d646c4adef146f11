//! How enrichment behaves towards ESI, as pure state machines: the error limit it must not
//! spend, and a circuit breaker over upstream failures. The glue keeps their state in Redis so
//! every instance and every replica sees the same.

use serde::{Deserialize, Serialize};

/// Stop calling while this few errors remain in ESI's window.
pub const ERROR_LIMIT_FLOOR: i64 = 10;
/// Consecutive failures that open the breaker.
pub const FAILURES_TO_OPEN: u32 = 5;
/// How long the breaker stays open at first; doubles on each failed probe, up to the cap.
pub const OPEN_FOR_MS: i64 = 5_000;
pub const MAX_OPEN_FOR_MS: i64 = 120_000;

/// ESI's error budget as its last response reported it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ErrorLimit {
    pub remain: i64,
    /// When the window resets, in ms since the epoch.
    pub reset_at_ms: i64,
}

impl ErrorLimit {
    /// From `X-ESI-Error-Limit-Remain` and `X-ESI-Error-Limit-Reset` (seconds to the reset).
    pub fn from_headers(remain: Option<&str>, reset: Option<&str>, now_ms: i64) -> Option<Self> {
        let remain = remain?.trim().parse().ok()?;
        let reset: i64 = reset?.trim().parse().ok()?;
        Some(Self { remain, reset_at_ms: now_ms + reset * 1000 })
    }

    /// How long to wait before the next call, if the budget is nearly spent.
    pub fn pause_ms(&self, now_ms: i64) -> Option<i64> {
        (self.remain <= ERROR_LIMIT_FLOOR && now_ms < self.reset_at_ms).then(|| self.reset_at_ms - now_ms)
    }
}

/// The circuit breaker over ESI.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Breaker {
    Closed {
        failures: u32,
    },
    /// No calls until `until_ms`; then one probe.
    Open {
        until_ms: i64,
        open_for_ms: i64,
    },
    /// A probe is out; others wait for its outcome.
    HalfOpen {
        open_for_ms: i64,
        probe_started_ms: i64,
    },
}

/// What the breaker allows now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Permit {
    Call,
    /// The one call that decides whether ESI is back.
    Probe,
    /// Wait this long.
    Wait(i64),
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker::Closed { failures: 0 }
    }
}

impl Breaker {
    pub fn name(&self) -> &'static str {
        match self {
            Breaker::Closed { .. } => "closed",
            Breaker::Open { .. } => "open",
            Breaker::HalfOpen { .. } => "half-open",
        }
    }

    /// May a call go out now? A permitted probe moves the breaker to half-open.
    pub fn permit(&mut self, now_ms: i64) -> Permit {
        match *self {
            Breaker::Closed { .. } => Permit::Call,
            Breaker::Open { until_ms, .. } if now_ms < until_ms => Permit::Wait(until_ms - now_ms),
            Breaker::Open { open_for_ms, .. } => {
                *self = Breaker::HalfOpen { open_for_ms, probe_started_ms: now_ms };
                Permit::Probe
            }
            // A probe that never reported back (its instance died) is replaced after a while.
            Breaker::HalfOpen { open_for_ms, probe_started_ms } if now_ms - probe_started_ms > 30_000 => {
                *self = Breaker::HalfOpen { open_for_ms, probe_started_ms: now_ms };
                Permit::Probe
            }
            Breaker::HalfOpen { .. } => Permit::Wait(1_000),
        }
    }

    pub fn on_success(&mut self) {
        *self = Breaker::Closed { failures: 0 };
    }

    /// An upstream failure (5xx, 420, 429, timeout): count it, open when too many.
    pub fn on_failure(&mut self, now_ms: i64) {
        *self = match *self {
            Breaker::Closed { failures } if failures + 1 < FAILURES_TO_OPEN => Breaker::Closed { failures: failures + 1 },
            Breaker::Closed { .. } => Breaker::Open { until_ms: now_ms + OPEN_FOR_MS, open_for_ms: OPEN_FOR_MS },
            Breaker::HalfOpen { open_for_ms, .. } | Breaker::Open { open_for_ms, .. } => {
                let next = (open_for_ms * 2).min(MAX_OPEN_FOR_MS);
                Breaker::Open { until_ms: now_ms + next, open_for_ms: next }
            }
        };
    }
}

/// Exponential backoff with jitter for attempt `n` (1-based): 100 ms, 200 ms, … ≤ 2 s.
pub fn backoff_ms(attempt: u32, jitter: f64) -> u64 {
    let base = (100u64 << attempt.saturating_sub(1).min(5)).min(2_000) as f64;
    (base * (0.75 + 0.5 * jitter.clamp(0.0, 1.0))) as u64
}

/// Whether an HTTP status is an upstream failure worth retrying (and counting).
pub fn is_upstream_failure(status: u16) -> bool {
    matches!(status, 420 | 429 | 500..=599)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_limit_pauses_only_when_nearly_spent() {
        let l = ErrorLimit::from_headers(Some("100"), Some("30"), 1_000).unwrap();
        assert_eq!(l.pause_ms(1_000), None);
        let low = ErrorLimit::from_headers(Some("8"), Some("20"), 1_000).unwrap();
        assert_eq!(low.pause_ms(1_000), Some(20_000));
        assert_eq!(low.pause_ms(21_000), None, "the window has reset");
        assert!(ErrorLimit::from_headers(None, Some("1"), 0).is_none());
    }

    #[test]
    fn the_breaker_opens_probes_and_closes() {
        let mut b = Breaker::default();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            b.on_failure(0);
            assert_eq!(b.permit(0), Permit::Call);
        }
        b.on_failure(0);
        assert_eq!(b.name(), "open");
        assert_eq!(b.permit(1_000), Permit::Wait(OPEN_FOR_MS - 1_000));
        assert_eq!(b.permit(OPEN_FOR_MS), Permit::Probe);
        assert_eq!(b.name(), "half-open");
        assert_eq!(b.permit(OPEN_FOR_MS + 10), Permit::Wait(1_000), "one probe at a time");
        b.on_failure(OPEN_FOR_MS + 20);
        assert_eq!(b, Breaker::Open { until_ms: OPEN_FOR_MS + 20 + 2 * OPEN_FOR_MS, open_for_ms: 2 * OPEN_FOR_MS });
        assert_eq!(b.permit(10 * OPEN_FOR_MS), Permit::Probe);
        b.on_success();
        assert_eq!(b, Breaker::Closed { failures: 0 });
    }

    #[test]
    fn a_lost_probe_is_replaced() {
        let mut b = Breaker::HalfOpen { open_for_ms: OPEN_FOR_MS, probe_started_ms: 0 };
        assert_eq!(b.permit(31_000), Permit::Probe);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff_ms(1, 0.5), 100);
        assert_eq!(backoff_ms(3, 0.5), 400);
        assert_eq!(backoff_ms(20, 0.5), 2_000);
        assert!(is_upstream_failure(420) && is_upstream_failure(503) && !is_upstream_failure(404));
    }
}
