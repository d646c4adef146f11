//! Triggers: how events reach components. One module per trigger type.

pub mod cron;
pub mod http;
pub mod kafka;
pub mod redis;
pub mod websocket;

use std::time::Duration;
use tokio::sync::watch;

/// Sleep for `d`; true when shutdown was signalled first.
pub async fn sleep_or_shutdown(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = shutdown.wait_for(|stop| *stop) => true,
    }
}
