//! Kafka → WebSocket: each event is published once to the channels it concerns. A redelivered
//! event (same `eventId`) is not pushed again once it was. Events come in batches (whatever
//! waits in a partition), sharing one Redis connection: one `MGET` asks which were pushed
//! before, one script marks those this batch pushed; each event is settled on its own.

use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::battlescope::websocket::publisher;
use super::battlescope::websocket::types::Error as SocketError;
use super::exports::battlescope::kafka::batch_handler::Guest;
use super::{config, Worker};
use notification::pushes::{push, Push, PushError};
use spin_sdk::redis::Connection;
use std::collections::BTreeSet;

/// How long an event id is remembered as pushed.
const REMEMBER_SECONDS: i64 = 24 * 3600;

impl Guest for Worker {
    fn handle_batch(messages: Vec<Message>) -> Vec<Result<(), KafkaError>> {
        let pushes: Vec<Result<Push, KafkaError>> = messages
            .iter()
            .map(|m| {
                push(&m.data).map_err(|e| match e {
                    PushError::Malformed(_) | PushError::Unknown(_) => KafkaError::Fatal(e.to_string()),
                })
            })
            .collect();
        // A configuration mistake or Redis down is waited out (the partition holds) rather
        // than dead-lettering events.
        let ready = config().map_err(KafkaError::Retryable).and_then(|config| {
            let redis = Connection::open(&config.redis_address).map_err(redis_error)?;
            let ids: Vec<&str> = pushes.iter().flatten().map(|p| p.event_id.as_str()).collect();
            let pushed = pushed_before(&redis, &config.redis_prefix, &ids)?;
            Ok((config.redis_prefix, redis, pushed))
        });
        let (prefix, redis, mut pushed) = match ready {
            Ok(ready) => ready,
            Err(e) => return pushes.into_iter().map(|p| p.and(Err(e.clone()))).collect(),
        };
        let mut marks = Vec::new();
        let settled = pushes
            .into_iter()
            .map(|p| {
                let push = p?;
                // Pushed before, or earlier in this batch (a redelivery can share a batch).
                if pushed.contains(&push.event_id) {
                    return Ok(());
                }
                publish(&push)?;
                marks.push((seen_key(&prefix, &push.event_id), b"1".to_vec()));
                pushed.insert(push.event_id);
                Ok(())
            })
            .collect();
        // Forgetting the marks only risks a duplicate push on a redelivery.
        let _ = guest::redis::set_all(&redis, &marks, REMEMBER_SECONDS);
        settled
    }
}

fn redis_error(e: spin_sdk::redis::Error) -> KafkaError {
    KafkaError::Retryable(format!("Redis: {e}"))
}

fn seen_key(prefix: &str, event_id: &str) -> String {
    format!("{prefix}pushed:{event_id}")
}

/// Which of `ids` were pushed before, in one round trip.
fn pushed_before(redis: &Connection, prefix: &str, ids: &[&str]) -> Result<BTreeSet<String>, KafkaError> {
    let keys: Vec<String> = ids.iter().map(|id| seen_key(prefix, id)).collect();
    let values = guest::redis::get_all(redis, &keys).map_err(redis_error)?;
    Ok(ids.iter().zip(values).filter(|(_, v)| v.is_some()).map(|(id, _)| id.to_string()).collect())
}

fn publish(push: &Push) -> Result<(), KafkaError> {
    publisher::publish(&push.channels, &push.kind, push.key.as_deref(), &push.data).map_err(|e| match e {
        SocketError::Unavailable(why) => KafkaError::Retryable(format!("publishing: {why}")),
        other => KafkaError::Failed(format!("publishing: {other:?}")),
    })?;
    Ok(())
}
