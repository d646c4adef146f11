//! A wall-clock limit for a call, on WASI's monotonic clock: Spin's executor polls the
//! clock's pollable beside the call's, so whichever is ready first ends the wait. A call to a
//! service that hangs then fails on its own and the answer names that service as missing,
//! instead of the whole request waiting for the host's deadline.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use wasi::clocks::monotonic_clock;

/// Ready once `after` has passed since it was made.
pub struct Deadline {
    at: monotonic_clock::Instant,
    /// The clock's pollable, registered with the executor while this is waited on.
    waiting: Option<spin_executor::CancelOnDropToken>,
}

impl Deadline {
    pub fn after(after: Duration) -> Self {
        let nanos = u64::try_from(after.as_nanos()).unwrap_or(u64::MAX);
        Self { at: monotonic_clock::now().saturating_add(nanos), waiting: None }
    }
}

impl Future for Deadline {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if monotonic_clock::now() >= self.at {
            self.waiting = None;
            return Poll::Ready(());
        }
        let pollable = monotonic_clock::subscribe_instant(self.at);
        self.waiting = Some(spin_executor::push_waker_and_get_token(pollable, cx.waker().clone()).into());
        Poll::Pending
    }
}

/// `call`'s result, or `None` when `limit` passed first.
pub async fn within<T>(limit: Duration, call: impl Future<Output = T>) -> Option<T> {
    futures::pin_mut!(call);
    match futures::future::select(call, Deadline::after(limit)).await {
        futures::future::Either::Left((result, _)) => Some(result),
        futures::future::Either::Right(((), _)) => None,
    }
}
