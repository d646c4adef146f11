//! Kafka → WebSocket: each event is published once to the channels it concerns. A redelivered
//! event (same `eventId`) is not pushed again once it was.

use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::battlescope::websocket::publisher;
use super::battlescope::websocket::types::Error as SocketError;
use super::exports::battlescope::kafka::incoming_handler::Guest;
use super::{config, Worker};
use notification::pushes::{push, PushError};
use spin_sdk::redis::{Connection, RedisParameter};

/// How long an event id is remembered as pushed.
const REMEMBER_SECONDS: i64 = 24 * 3600;

fn event_id(payload: &[u8]) -> Option<String> {
    serde_json::from_slice::<serde_json::Value>(payload).ok()?["eventId"].as_str().map(str::to_string)
}

impl Guest for Worker {
    fn handle(message: Message) -> Result<(), KafkaError> {
        let push = push(&message.data).map_err(|e| match e {
            PushError::Malformed(_) | PushError::Unknown(_) => KafkaError::Fatal(e.to_string()),
        })?;
        // A configuration mistake is waited out (the partition holds) rather than dead-lettering events.
        let config = config().map_err(KafkaError::Retryable)?;
        let redis = Connection::open(&config.redis_address).map_err(|e| KafkaError::Retryable(format!("Redis: {e}")))?;
        let seen = event_id(&message.data).map(|id| format!("{}pushed:{id}", config.redis_prefix));
        if let Some(key) = &seen {
            if redis.get(key).map_err(|e| KafkaError::Retryable(format!("Redis: {e}")))?.is_some() {
                return Ok(());
            }
        }
        publisher::publish(&push.channels, &push.kind, push.key.as_deref(), &push.data).map_err(|e| match e {
            SocketError::Unavailable(why) => KafkaError::Retryable(format!("publishing: {why}")),
            other => KafkaError::Failed(format!("publishing: {other:?}")),
        })?;
        if let Some(key) = seen {
            let args = [
                RedisParameter::Binary(key.into_bytes()),
                RedisParameter::Binary(b"1".to_vec()),
                RedisParameter::Binary(b"EX".to_vec()),
                RedisParameter::Int64(REMEMBER_SECONDS),
            ];
            // Forgetting it only risks a duplicate push on a redelivery.
            let _ = redis.execute("SET", &args);
        }
        Ok(())
    }
}
