//! Outbound Redis. One multiplexed connection per server address, shared by all instances;
//! a component's `open` only checks its allow-list and hands out a clone.

mod host;

use super::access::Access;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;
use wasmtime::component::ResourceTable;

/// What a component holds after `connection.open`.
pub struct Connection {
    address: String,
    connection: redis::aio::MultiplexedConnection,
}

/// One instance's Redis: the shared connections, what it may reach, its open handles.
pub struct RedisState {
    clients: Arc<Clients>,
    access: Arc<Access>,
    table: ResourceTable,
}

impl RedisState {
    pub fn new(clients: Arc<Clients>, access: Arc<Access>) -> Self {
        Self { clients, access, table: ResourceTable::new() }
    }
}

/// Shared connections by address.
#[derive(Default)]
pub struct Clients {
    by_address: Mutex<HashMap<String, redis::aio::MultiplexedConnection>>,
}

impl Clients {
    async fn connect(&self, address: &str) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let mut map = self.by_address.lock().await;
        if let Some(c) = map.get(address) {
            return Ok(c.clone());
        }
        let client = redis::Client::open(address)?;
        let c = client.get_multiplexed_async_connection().await?;
        map.insert(address.to_string(), c.clone());
        Ok(c)
    }

    /// Forget a connection that failed, so the next `open` reconnects.
    async fn forget(&self, address: &str) {
        self.by_address.lock().await.remove(address);
    }
}
