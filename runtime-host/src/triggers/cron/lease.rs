//! A Redis lease that makes one host replica the runner of a singleton job. The holder renews
//! it a few times per TTL; if the holder dies the key expires and another replica takes it
//! within one TTL, which is at most half the job's period.

use std::time::{Duration, Instant};

/// Renew only if we still hold the key; take it if it is free.
const ACQUIRE_OR_RENEW: &str = r#"
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
elseif not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"#;

const RELEASE: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"#;

pub struct Lease {
    key: String,
    holder: String,
    ttl: Duration,
    connection: redis::aio::ConnectionManager,
    /// Until when we know we hold it (measured from before the renewal was sent).
    held_until: Option<Instant>,
}

impl Lease {
    pub async fn new(address: &str, key: String, holder: String, ttl: Duration) -> anyhow::Result<Self> {
        let connection = crate::capabilities::redis::reconnecting(address).await?;
        Ok(Self { key, holder, ttl, connection, held_until: None })
    }

    /// Try to take or keep the lease; true when we hold it now.
    pub async fn refresh(&mut self) -> bool {
        let sent = Instant::now();
        let result: redis::RedisResult<i64> = redis::Script::new(ACQUIRE_OR_RENEW)
            .key(&self.key)
            .arg(&self.holder)
            .arg(self.ttl.as_millis() as u64)
            .invoke_async(&mut self.connection)
            .await;
        match result {
            Ok(1) => {
                if self.held_until.is_none() {
                    tracing::info!(lease = %self.key, holder = %self.holder, "lease acquired");
                }
                self.held_until = Some(sent + self.ttl);
            }
            Ok(_) => {
                if self.held_until.take().is_some() {
                    tracing::warn!(lease = %self.key, holder = %self.holder, "lease lost");
                }
            }
            Err(e) => tracing::warn!(lease = %self.key, error = %e, "lease refresh failed"),
        }
        self.held()
    }

    /// Whether the lease is ours right now.
    pub fn held(&self) -> bool {
        self.held_until.is_some_and(|t| Instant::now() < t)
    }

    pub async fn release(&mut self) {
        let _: redis::RedisResult<i64> =
            redis::Script::new(RELEASE).key(&self.key).arg(&self.holder).invoke_async(&mut self.connection).await;
        self.held_until = None;
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}
