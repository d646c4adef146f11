//! WebSocket connections and publishing (`battlescope:websocket`): the host holds every
//! connection (`registry`); events go through a Redis Stream (`stream`), so every replica
//! delivers to its own subscribers and clients resume after a reconnect. The trigger that
//! accepts connections and calls components is `triggers/websocket`; this module is what
//! components act through: `connections` (their own connections) and `publisher` (any
//! component).

mod host;
pub mod registry;
pub mod stream;

use super::access::Access;
use registry::{Limits, Registry};
use std::sync::Arc;
use stream::{EventId, EventStream};

/// One host's connections and the deployment's event stream.
pub struct Hub {
    pub registry: Registry,
    pub stream: EventStream,
    /// The stream's Redis server, for the allow-list check of publishers.
    pub address: url::Url,
}

impl Hub {
    pub async fn connect(address: &str, stream_key: &str, history: usize, limits: Limits) -> anyhow::Result<Self> {
        let stream = EventStream::connect(address, stream_key, history).await?;
        Ok(Self { registry: Registry::new(limits), stream, address: url::Url::parse(address)? })
    }

    /// Catch a connection up from `since` to the live reader, then hand it back: what it
    /// missed, once each and in order. Returns how many events it got.
    pub async fn resume(&self, connection: &str, since: EventId) -> Result<u32, String> {
        self.registry.begin_catch_up(connection).map_err(|_| format!("no connection {connection}"))?;
        let (deleted, first) = self.stream.bounds().await.map_err(|e| format!("reading the event stream: {e}"))?;
        // Redis 7.0 records XDEL in max-deleted-entry-id but not trimming, so a position older
        // than the oldest kept event counts as a gap too (it may say so when the trimmed event
        // was exactly the client's last one: telling too often beats missing one).
        if since < deleted || first.is_some_and(|f| since < f) {
            let oldest = first.map(|f| f.to_string()).unwrap_or_default();
            let gap = format!("{{\"type\":\"gap\",\"since\":\"{since}\",\"oldest\":\"{oldest}\"}}");
            let _ = self.registry.send(connection, registry::Outbound::Text(gap));
        }
        let (mut position, mut delivered) = (since, 0);
        loop {
            let events = self.stream.range_after(position, 500).await.map_err(|e| format!("reading the event stream: {e}"))?;
            if let Some(last) = events.last() {
                position = last.id;
            }
            delivered += self.registry.catch_up(connection, &events).map_err(|_| format!("connection {connection} closed"))?;
            if events.len() < 500
                && self.registry.finish_catch_up(connection, position).map_err(|_| format!("connection {connection} closed"))?
            {
                return Ok(delivered);
            }
        }
    }
}

/// One instance's WebSocket capabilities: the host's hub (when the application configures
/// `[application.trigger.websocket]`) and what the component may reach.
pub struct WebSocketState {
    hub: Option<Arc<Hub>>,
    access: Arc<Access>,
    calls: crate::telemetry::CallSpans,
}

impl WebSocketState {
    pub fn new(hub: Option<Arc<Hub>>, access: Arc<Access>, calls: crate::telemetry::CallSpans) -> Self {
        Self { hub, access, calls }
    }
}
