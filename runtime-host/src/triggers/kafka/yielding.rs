//! Background triggers (`yield_max_ms`): work allowed to lag behind the rest of the pipeline
//! (search indexing) waits, before each call, while the host's other Kafka triggers are
//! handling messages. On a host short of CPU a backfill then goes through enrichment and
//! battles first and is indexed as soon as they pause, or at the latest `yield_max_ms` later;
//! on a quiet feed the other triggers are idle and the wait is `QUIET` at most.

use crate::triggers::sleep_or_shutdown;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long the foreground triggers must have been idle before a background call starts: a
/// busy partition worker starts its next call within microseconds of the last, so a gap this
/// long means the queue is empty, not that a batch just ended.
const QUIET: Duration = Duration::from_millis(50);
/// How often a waiting background call looks again.
const POLL: Duration = Duration::from_millis(10);

/// Whether any foreground trigger of this host is handling messages, and since when none is.
#[derive(Debug)]
pub struct Activity {
    calls: AtomicUsize,
    idle_since: Mutex<Instant>,
}

impl Default for Activity {
    fn default() -> Self {
        Self { calls: AtomicUsize::new(0), idle_since: Mutex::new(Instant::now()) }
    }
}

/// A foreground call in progress; the host counts as idle again once every guard is dropped.
pub struct Busy(Arc<Activity>);

impl Drop for Busy {
    fn drop(&mut self) {
        let mut idle_since = self.0.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        if self.0.calls.fetch_sub(1, Ordering::SeqCst) == 1 {
            *idle_since = Instant::now();
        }
    }
}

impl Activity {
    /// Count a foreground call until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// How long no foreground call has been running (zero while one is).
    fn idle_for(&self) -> Duration {
        let idle_since = self.idle_since.lock().unwrap_or_else(|e| e.into_inner());
        if self.calls.load(Ordering::SeqCst) > 0 {
            Duration::ZERO
        } else {
            idle_since.elapsed()
        }
    }

    /// Wait until the foreground has been idle for `QUIET`, for at most `max`, or until
    /// shutdown. Returns how long it waited.
    pub async fn wait_for_quiet(&self, max: Duration, shutdown: &mut watch::Receiver<bool>) -> Duration {
        let started = Instant::now();
        while self.idle_for() < QUIET && started.elapsed() < max {
            if sleep_or_shutdown(POLL, shutdown).await {
                break;
            }
        }
        started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_background_call_waits_for_the_foreground_to_pause_or_for_its_limit() {
        let activity = Arc::new(Activity::default());
        let (_stop, mut shutdown) = watch::channel(false);
        // Idle since long enough: no wait beyond the quiet gap.
        tokio::time::sleep(QUIET).await;
        assert!(activity.wait_for_quiet(Duration::from_secs(5), &mut shutdown).await < QUIET);

        // A foreground call that never ends: the background waits its whole limit.
        let busy = activity.busy();
        let waited = activity.wait_for_quiet(Duration::from_millis(200), &mut shutdown).await;
        assert!(waited >= Duration::from_millis(200), "{waited:?}");

        // The call ends after 100 ms: the background starts once the foreground was quiet.
        let ending = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(busy);
        });
        let waited = activity.wait_for_quiet(Duration::from_secs(5), &mut shutdown).await;
        ending.await.unwrap();
        // Less one poll: the call's clock started a moment before the wait's.
        assert!(waited >= Duration::from_millis(100) + QUIET - POLL && waited < Duration::from_secs(2), "{waited:?}");
    }

    #[tokio::test]
    async fn two_overlapping_calls_keep_the_host_busy_until_both_end() {
        let activity = Arc::new(Activity::default());
        let (first, second) = (activity.busy(), activity.busy());
        drop(first);
        assert_eq!(activity.idle_for(), Duration::ZERO);
        drop(second);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(activity.idle_for() >= Duration::from_millis(20));
    }

    #[tokio::test]
    async fn shutdown_ends_the_wait() {
        let activity = Arc::new(Activity::default());
        let _busy = activity.busy();
        let (stop, mut shutdown) = watch::channel(false);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = stop.send(true);
        });
        assert!(activity.wait_for_quiet(Duration::from_secs(30), &mut shutdown).await < Duration::from_secs(5));
    }
}
