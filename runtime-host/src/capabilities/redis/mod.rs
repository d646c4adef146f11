//! Outbound Redis. One multiplexed connection per server address, shared by all instances;
//! a component's `open` only checks its allow-list and hands out a clone.

mod host;

use super::access::Access;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use wasmtime::component::ResourceTable;

/// `[redis]` of the runtime config: bounds on the host's connections for components, so an
/// unreachable or stalled server fails a guest's call instead of hanging it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSettings {
    /// Giving up on connecting, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Giving up on one command's reply, in milliseconds.
    pub response_timeout_ms: u64,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self { connect_timeout_ms: 5_000, response_timeout_ms: 10_000 }
    }
}

/// A self-reconnecting connection for the host's own long-lived uses (cron leases, the
/// WebSocket stream, key-value stores), bounded like components' connections and trying a lost
/// server again at most a second apart. redis-rs' default backoff multiplies a one-second delay
/// by 100 per attempt: after a Redis restart, leases and the stream waited two minutes.
pub async fn reconnecting(address: &str) -> redis::RedisResult<redis::aio::ConnectionManager> {
    let bounds = ClientSettings::default();
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_millis(bounds.connect_timeout_ms))
        .set_response_timeout(Duration::from_millis(bounds.response_timeout_ms))
        .set_factor(2)
        .set_max_delay(1_000);
    redis::aio::ConnectionManager::new_with_config(redis::Client::open(address)?, config).await
}

/// What a component holds after `connection.open`.
pub struct Connection {
    address: String,
    connection: redis::aio::MultiplexedConnection,
}

/// One instance's Redis: the shared connections, what it may reach, its open handles.
pub struct RedisState {
    clients: Arc<Clients>,
    access: Arc<Access>,
    calls: crate::telemetry::CallSpans,
    table: ResourceTable,
}

impl RedisState {
    pub fn new(clients: Arc<Clients>, access: Arc<Access>, calls: crate::telemetry::CallSpans) -> Self {
        Self { clients, access, calls, table: ResourceTable::new() }
    }
}

/// Shared connections by address.
#[derive(Default)]
pub struct Clients {
    settings: ClientSettings,
    by_address: Mutex<HashMap<String, redis::aio::MultiplexedConnection>>,
}

impl Clients {
    pub fn new(settings: ClientSettings) -> Self {
        Self { settings, by_address: Mutex::default() }
    }

    /// The shared connection to `address`, made if there is none. The map is not locked while
    /// connecting: one unreachable server must not hold up every other server's callers.
    async fn connect(&self, address: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        if let Some(c) = self.by_address.lock().await.get(address) {
            return Ok(c.clone());
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Duration::from_millis(self.settings.connect_timeout_ms))
            .set_response_timeout(Duration::from_millis(self.settings.response_timeout_ms));
        let made = redis::Client::open(address)?.get_multiplexed_async_connection_with_config(&config).await?;
        // Two callers may have connected at once; both keep using the first one stored.
        Ok(self.by_address.lock().await.entry(address.to_string()).or_insert(made).clone())
    }

    /// Forget a connection that failed, so the next `open` reconnects.
    async fn forget(&self, address: &str) {
        self.by_address.lock().await.remove(address);
    }
}
