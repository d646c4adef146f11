//! The event stream behind WebSocket fan-out: one Redis Stream per deployment. Publishing
//! appends an entry (its id is the event id); every replica reads new entries and delivers them
//! to its own subscribers; a client that reconnects reads what it missed from the same stream.

use redis::aio::ConnectionManager;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};
use redis::Value;
use std::fmt;
use std::str::FromStr;

/// A stream entry id, `<milliseconds>-<sequence>`, ordered as Redis orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventId(pub u64, pub u64);

impl FromStr for EventId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (ms, seq) = s.split_once('-').unwrap_or((s, "0"));
        match (ms.parse(), seq.parse()) {
            (Ok(ms), Ok(seq)) => Ok(EventId(ms, seq)),
            _ => Err(format!("{s:?} is not an event id (<milliseconds>-<sequence>)")),
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// One published event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: EventId,
    pub channels: Vec<String>,
    pub kind: String,
    /// Events with the same key on a channel may replace each other in a slow client's queue.
    pub key: Option<String>,
    /// A JSON value, as text.
    pub data: String,
}

impl Event {
    /// What a subscriber of `channel` receives.
    pub fn frame(&self, channel: &str) -> String {
        let quoted = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        format!(
            "{{\"id\":{},\"channel\":{},\"type\":{},\"data\":{}}}",
            quoted(&self.id.to_string()),
            quoted(channel),
            quoted(&self.kind),
            self.data
        )
    }
}

fn text(map: &std::collections::HashMap<String, Value>, field: &str) -> Option<String> {
    match map.get(field)? {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

fn event(entry: &StreamId) -> Option<Event> {
    Some(Event {
        id: entry.id.parse().ok()?,
        channels: text(&entry.map, "channels")?.split(' ').filter(|c| !c.is_empty()).map(str::to_string).collect(),
        kind: text(&entry.map, "kind")?,
        key: text(&entry.map, "key").filter(|k| !k.is_empty()),
        data: text(&entry.map, "data")?,
    })
}

/// The stream of one deployment.
#[derive(Clone)]
pub struct EventStream {
    key: String,
    /// Entries kept (approximately: `MAXLEN ~`).
    history: usize,
    redis: ConnectionManager,
    /// The live reader's own connection: a blocking XREAD on the shared one would hold up
    /// every publish of this host behind it.
    reader: ConnectionManager,
}

impl EventStream {
    pub async fn connect(address: &str, key: &str, history: usize) -> anyhow::Result<Self> {
        let redis = crate::capabilities::redis::reconnecting(address).await?;
        let reader = crate::capabilities::redis::reconnecting(address).await?;
        Ok(Self { key: key.to_string(), history, redis, reader })
    }

    /// Append an event; returns its id.
    pub async fn publish(&self, channels: &[String], kind: &str, key: Option<&str>, data: &str) -> redis::RedisResult<EventId> {
        let id: String = redis::cmd("XADD")
            .arg(&self.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.history)
            .arg("*")
            .arg("channels")
            .arg(channels.join(" "))
            .arg("kind")
            .arg(kind)
            .arg("key")
            .arg(key.unwrap_or(""))
            .arg("data")
            .arg(data)
            .query_async(&mut self.redis.clone())
            .await?;
        id.parse().map_err(|e: String| redis::RedisError::from((redis::ErrorKind::TypeError, "XADD id", e)))
    }

    /// Entries after `after`, waiting up to `block_ms` for one when there is none yet.
    pub async fn read_after(&self, after: EventId, block_ms: u64) -> redis::RedisResult<Vec<Event>> {
        let reply: Option<StreamReadReply> = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(block_ms)
            .arg("COUNT")
            .arg(500)
            .arg("STREAMS")
            .arg(&self.key)
            .arg(after.to_string())
            .query_async(&mut self.reader.clone())
            .await?;
        Ok(reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids).filter_map(|e| event(&e)).collect())
    }

    /// Up to `count` entries after `after`, oldest first.
    pub async fn range_after(&self, after: EventId, count: usize) -> redis::RedisResult<Vec<Event>> {
        let reply: StreamRangeReply = redis::cmd("XRANGE")
            .arg(&self.key)
            .arg(format!("({after}"))
            .arg("+")
            .arg("COUNT")
            .arg(count)
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(reply.ids.iter().filter_map(event).collect())
    }

    /// The newest entry's id (the zero id for an empty stream).
    pub async fn last_id(&self) -> redis::RedisResult<EventId> {
        let reply: StreamRangeReply = redis::cmd("XREVRANGE")
            .arg(&self.key)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.redis.clone())
            .await?;
        Ok(reply.ids.first().and_then(|e| e.id.parse().ok()).unwrap_or_default())
    }

    /// The newest id trimmed away, and the oldest id still kept: a client asking for events
    /// after an id older than the first has a gap.
    pub async fn bounds(&self) -> redis::RedisResult<(EventId, Option<EventId>)> {
        let exists: bool = redis::cmd("EXISTS").arg(&self.key).query_async(&mut self.redis.clone()).await?;
        if !exists {
            return Ok((EventId::default(), None));
        }
        let info: Value = redis::cmd("XINFO").arg("STREAM").arg(&self.key).query_async(&mut self.redis.clone()).await?;
        let fields: Vec<(String, Value)> = match info {
            Value::Map(pairs) => pairs.into_iter().filter_map(|(k, v)| Some((redis::from_redis_value(&k).ok()?, v))).collect(),
            Value::Array(items) => {
                items.chunks(2).filter_map(|kv| Some((redis::from_redis_value(kv.first()?).ok()?, kv.get(1)?.clone()))).collect()
            }
            _ => Vec::new(),
        };
        let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let deleted = field("max-deleted-entry-id")
            .and_then(|v| redis::from_redis_value::<String>(&v).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        let first = field("first-entry").and_then(|v| match v {
            Value::Array(parts) => {
                parts.first().and_then(|id| redis::from_redis_value::<String>(id).ok()).and_then(|s| s.parse().ok())
            }
            _ => None,
        });
        Ok((deleted, first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_as_redis_orders_them() {
        let id = |s: &str| s.parse::<EventId>().unwrap();
        assert!(id("1700000000000-2") > id("1700000000000-1"));
        assert!(id("1700000000001-0") > id("1700000000000-9"));
        assert_eq!(id("5").to_string(), "5-0");
        assert!("x-1".parse::<EventId>().is_err());
    }

    #[test]
    fn frames_carry_the_event_verbatim() {
        let e = Event {
            id: EventId(7, 1),
            channels: vec!["alliance:1".into()],
            kind: "battle.updated".into(),
            key: None,
            data: r#"{"kills":3}"#.into(),
        };
        let frame: serde_json::Value = serde_json::from_str(&e.frame("alliance:1")).unwrap();
        assert_eq!(
            frame,
            serde_json::json!({"id": "7-1", "channel": "alliance:1", "type": "battle.updated", "data": {"kills": 3}})
        );
    }
}
