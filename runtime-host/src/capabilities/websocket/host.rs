use super::registry::{Outbound, Refused};
use super::stream::EventId;
use super::{Hub, WebSocketState};
use crate::bindings::websocket::battlescope::websocket::connections::Host as Connections;
use crate::bindings::websocket::battlescope::websocket::publisher::Host as Publisher;
use crate::bindings::websocket::battlescope::websocket::types::{self, Error};
use std::sync::Arc;

type R<T> = wasmtime::Result<Result<T, Error>>;

fn refused(e: Refused) -> Error {
    match e {
        Refused::NoSuchConnection => Error::NoSuchConnection,
        Refused::Limit(why) => Error::Limit(why),
    }
}

/// Channel names: letters, digits and `:*._-`, at most 100 characters.
fn check_channels(channels: &[String]) -> Result<(), Error> {
    match channels
        .iter()
        .find(|c| c.is_empty() || c.len() > 100 || !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ":*._-".contains(ch)))
    {
        Some(bad) => Err(Error::Invalid(format!("{bad:?} is not a channel name (letters, digits and :*._- only, up to 100)"))),
        None => Ok(()),
    }
}

impl WebSocketState {
    fn hub(&self) -> Result<Arc<Hub>, Error> {
        self.hub.clone().ok_or_else(|| Error::Unavailable("this application has no [application.trigger.websocket]".into()))
    }
}

impl types::Host for WebSocketState {}

impl Connections for WebSocketState {
    async fn send(&mut self, connection: String, text: String) -> R<()> {
        Ok(self.hub().and_then(|h| h.registry.send(&connection, Outbound::Text(text)).map_err(refused)))
    }

    async fn subscribe(&mut self, connection: String, channels: Vec<String>) -> R<()> {
        Ok(check_channels(&channels).and_then(|()| self.hub()?.registry.subscribe(&connection, &channels).map_err(refused)))
    }

    async fn unsubscribe(&mut self, connection: String, channels: Vec<String>) -> R<()> {
        Ok(self.hub().and_then(|h| h.registry.unsubscribe(&connection, &channels).map_err(refused)))
    }

    async fn subscriptions(&mut self, connection: String) -> R<Vec<String>> {
        Ok(self.hub().and_then(|h| h.registry.subscriptions(&connection).map_err(refused)))
    }

    async fn resume(&mut self, connection: String, since: String) -> R<u32> {
        let hub = match self.hub() {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        let since: EventId = match since.parse() {
            Ok(s) => s,
            Err(why) => return Ok(Err(Error::Invalid(why))),
        };
        Ok(hub.resume(&connection, since).await.map_err(Error::Unavailable))
    }

    async fn close(&mut self, connection: String, code: u16, reason: String) -> R<()> {
        Ok(self.hub().and_then(|h| h.registry.send(&connection, Outbound::Close(code, reason)).map_err(refused)))
    }

    async fn set_attachment(&mut self, connection: String, value: String) -> R<()> {
        if value.len() > 4096 {
            return Ok(Err(Error::Limit("an attachment holds at most 4096 bytes".into())));
        }
        Ok(self.hub().and_then(|h| h.registry.set_attachment(&connection, value).map_err(refused)))
    }

    async fn attachment(&mut self, connection: String) -> R<Option<String>> {
        Ok(self.hub().and_then(|h| h.registry.attachment(&connection).map_err(refused)))
    }
}

impl Publisher for WebSocketState {
    async fn publish(&mut self, channels: Vec<String>, kind: String, key: Option<String>, data: String) -> R<String> {
        let hub = match self.hub() {
            Ok(h) => h,
            Err(e) => return Ok(Err(e)),
        };
        if !self.access.allowed_hosts.allows_url(hub.address.as_str()) {
            tracing::warn!(component = %self.access.component, address = %crate::databases::redact(hub.address.as_str()),
                "denied WebSocket publish: the event stream's Redis is not in allowed_outbound_hosts");
            return Ok(Err(Error::Invalid(format!(
                "{} is not in allowed_outbound_hosts",
                crate::databases::redact(hub.address.as_str())
            ))));
        }
        if let Err(e) = check_channels(&channels) {
            return Ok(Err(e));
        }
        if serde_json::from_str::<serde_json::Value>(&data).is_err() {
            return Ok(Err(Error::Invalid("data is not JSON".into())));
        }
        let span = self.calls.open(format!("websocket push {kind}"), crate::telemetry::Kind::Producer).map(|mut span| {
            span.attribute("battlescope.websocket.channels", channels.join(","));
            span
        });
        let published = hub.stream.publish(&channels, &kind, key.as_deref(), &data).await;
        self.calls.close(span, published.as_ref().err().map(|e| e.to_string()).as_deref());
        Ok(published.map(|id| id.to_string()).map_err(|e| Error::Unavailable(e.to_string())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names() {
        assert!(check_channels(&[
            "alliance:99003581".into(),
            "all:*".into(),
            "battle:00000000-0000-4000-8000-000005c7f330".into()
        ])
        .is_ok());
        assert!(check_channels(&["a b".into()]).is_err());
        assert!(check_channels(&["".into()]).is_err());
    }
}
