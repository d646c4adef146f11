//! Kafka → WebSocket: each event is published once to the channels it concerns. A redelivered
//! event (same `eventId`) is not pushed again once it was. Events come in batches (whatever
//! waits in a partition), sharing one Redis connection; each is settled on its own.

use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::battlescope::websocket::publisher;
use super::battlescope::websocket::types::Error as SocketError;
use super::exports::battlescope::kafka::batch_handler::Guest;
use super::{config, Worker};
use notification::pushes::{push, Push, PushError};
use spin_sdk::redis::{Connection, RedisParameter};

/// How long an event id is remembered as pushed.
const REMEMBER_SECONDS: i64 = 24 * 3600;

impl Guest for Worker {
    fn handle_batch(messages: Vec<Message>) -> Vec<Result<(), KafkaError>> {
        // A configuration mistake is waited out (the partition holds) rather than dead-lettering events.
        let connected = config().map_err(KafkaError::Retryable).and_then(|config| {
            let redis = Connection::open(&config.redis_address).map_err(|e| KafkaError::Retryable(format!("Redis: {e}")))?;
            Ok((config.redis_prefix, redis))
        });
        messages
            .iter()
            .map(|m| {
                let push = push(&m.data).map_err(|e| match e {
                    PushError::Malformed(_) | PushError::Unknown(_) => KafkaError::Fatal(e.to_string()),
                })?;
                let (prefix, redis) = connected.as_ref().map_err(Clone::clone)?;
                publish_once(&push, prefix, redis)
            })
            .collect()
    }
}

fn publish_once(push: &Push, prefix: &str, redis: &Connection) -> Result<(), KafkaError> {
    let seen = format!("{prefix}pushed:{}", push.event_id);
    if redis.get(&seen).map_err(|e| KafkaError::Retryable(format!("Redis: {e}")))?.is_some() {
        return Ok(());
    }
    publisher::publish(&push.channels, &push.kind, push.key.as_deref(), &push.data).map_err(|e| match e {
        SocketError::Unavailable(why) => KafkaError::Retryable(format!("publishing: {why}")),
        other => KafkaError::Failed(format!("publishing: {other:?}")),
    })?;
    let args = [
        RedisParameter::Binary(seen.into_bytes()),
        RedisParameter::Binary(b"1".to_vec()),
        RedisParameter::Binary(b"EX".to_vec()),
        RedisParameter::Int64(REMEMBER_SECONDS),
    ];
    // Forgetting it only risks a duplicate push on a redelivery.
    let _ = redis.execute("SET", &args);
    Ok(())
}
