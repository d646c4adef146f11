use super::{Connection, RedisState};
use crate::bindings::redis::{Error, Host, HostConnection, Payload, RedisParameter, RedisResult};
use crate::telemetry::{Kind, OpenSpan};
use redis::{AsyncCommands, Value};
use wasmtime::component::Resource;

type Span = Option<OpenSpan>;

type R<T> = wasmtime::Result<Result<T, Error>>;

fn other(e: redis::RedisError) -> Error {
    if e.kind() == redis::ErrorKind::TypeError {
        Error::TypeError
    } else {
        Error::Other(e.to_string())
    }
}

impl RedisState {
    /// The connection's address, the shared connection, and the command's span.
    fn redis(
        &self,
        c: &Resource<Connection>,
        command: &str,
    ) -> wasmtime::Result<(String, redis::aio::MultiplexedConnection, Span)> {
        let c = self.table.get(c)?;
        let span = self.calls.open(format!("redis {command}"), Kind::Client).map(|mut span| {
            span.attribute("db.system.name", "redis");
            span.attribute("db.operation.name", command.to_string());
            span
        });
        Ok((c.address.clone(), c.connection.clone(), span))
    }

    /// Map a reply, forgetting the shared connection when it broke so the next `open`
    /// reconnects.
    fn redis_result<T>(
        &self,
        address: &str,
        span: Span,
        result: redis::RedisResult<T>,
    ) -> impl std::future::Future<Output = R<T>> + Send + 'static
    where
        T: Send + 'static,
    {
        self.calls.close(span, result.as_ref().err().map(|e| e.to_string()).as_deref());
        let clients = self.clients.clone();
        let address = address.to_string();
        async move {
            if let Err(e) = &result {
                if e.is_io_error() || e.is_connection_dropped() {
                    clients.forget(&address).await;
                }
            }
            Ok(result.map_err(other))
        }
    }
}

/// Turn one reply into the flat list the interface returns.
fn flatten(value: Value, out: &mut Vec<RedisResult>) -> Result<(), Error> {
    match value {
        Value::Nil => out.push(RedisResult::Nil),
        Value::Int(i) => out.push(RedisResult::Int64(i)),
        Value::BulkString(b) => out.push(RedisResult::Binary(b)),
        Value::SimpleString(s) => out.push(RedisResult::Status(s)),
        Value::Okay => out.push(RedisResult::Status("OK".into())),
        Value::Array(items) | Value::Set(items) => {
            for item in items {
                flatten(item, out)?;
            }
        }
        Value::Double(d) => out.push(RedisResult::Binary(d.to_string().into_bytes())),
        Value::Boolean(b) => out.push(RedisResult::Int64(b as i64)),
        Value::VerbatimString { text, .. } => out.push(RedisResult::Binary(text.into_bytes())),
        Value::BigNumber(n) => out.push(RedisResult::Binary(n.to_string().into_bytes())),
        Value::Map(pairs) => {
            for (k, v) in pairs {
                flatten(k, out)?;
                flatten(v, out)?;
            }
        }
        Value::ServerError(e) => return Err(Error::Other(format!("{e:?}"))),
        other => out.push(RedisResult::Binary(format!("{other:?}").into_bytes())),
    }
    Ok(())
}

impl Host for RedisState {}

impl HostConnection for RedisState {
    async fn open(&mut self, address: String) -> R<Resource<Connection>> {
        if !self.access.allowed_hosts.allows_url(&address) {
            tracing::warn!(component = %self.access.component, address = %crate::databases::redact(&address),
                "denied Redis connection: address is not in allowed_outbound_hosts");
            return Ok(Err(Error::InvalidAddress));
        }
        let connection = match self.clients.connect(&address).await {
            Ok(c) => c,
            Err(e) if e.kind() == redis::ErrorKind::InvalidClientConfig => return Ok(Err(Error::InvalidAddress)),
            Err(e) => return Ok(Err(Error::Other(format!("connecting to {}: {e}", crate::databases::redact(&address))))),
        };
        Ok(Ok(self.table.push(Connection { address, connection })?))
    }

    async fn publish(&mut self, c: Resource<Connection>, channel: String, payload: Payload) -> R<()> {
        let (address, mut conn, span) = self.redis(&c, "PUBLISH")?;
        let r: redis::RedisResult<i64> = conn.publish(channel, payload).await;
        self.redis_result(&address, span, r.map(|_| ())).await
    }

    async fn get(&mut self, c: Resource<Connection>, key: String) -> R<Option<Payload>> {
        let (address, mut conn, span) = self.redis(&c, "GET")?;
        let r = conn.get(key).await;
        self.redis_result(&address, span, r).await
    }

    async fn set(&mut self, c: Resource<Connection>, key: String, value: Payload) -> R<()> {
        let (address, mut conn, span) = self.redis(&c, "SET")?;
        let r = conn.set(key, value).await;
        self.redis_result(&address, span, r).await
    }

    async fn incr(&mut self, c: Resource<Connection>, key: String) -> R<i64> {
        let (address, mut conn, span) = self.redis(&c, "INCR")?;
        let r = conn.incr(key, 1).await;
        self.redis_result(&address, span, r).await
    }

    async fn del(&mut self, c: Resource<Connection>, keys: Vec<String>) -> R<u32> {
        let (address, mut conn, span) = self.redis(&c, "DEL")?;
        let r = conn.del(keys).await;
        self.redis_result(&address, span, r).await
    }

    async fn sadd(&mut self, c: Resource<Connection>, key: String, values: Vec<String>) -> R<u32> {
        let (address, mut conn, span) = self.redis(&c, "SADD")?;
        let r = conn.sadd(key, values).await;
        self.redis_result(&address, span, r).await
    }

    async fn smembers(&mut self, c: Resource<Connection>, key: String) -> R<Vec<String>> {
        let (address, mut conn, span) = self.redis(&c, "SMEMBERS")?;
        let r = conn.smembers(key).await;
        self.redis_result(&address, span, r).await
    }

    async fn srem(&mut self, c: Resource<Connection>, key: String, values: Vec<String>) -> R<u32> {
        let (address, mut conn, span) = self.redis(&c, "SREM")?;
        let r = conn.srem(key, values).await;
        self.redis_result(&address, span, r).await
    }

    async fn execute(&mut self, c: Resource<Connection>, command: String, arguments: Vec<RedisParameter>) -> R<Vec<RedisResult>> {
        let (address, mut conn, span) = self.redis(&c, &command.to_ascii_uppercase())?;
        let mut cmd = redis::cmd(&command);
        for arg in arguments {
            match arg {
                RedisParameter::Int64(i) => cmd.arg(i),
                RedisParameter::Binary(b) => cmd.arg(b),
            };
        }
        let r: redis::RedisResult<Value> = cmd.query_async(&mut conn).await;
        let value = match self.redis_result(&address, span, r).await? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let mut out = Vec::new();
        Ok(flatten(value, &mut out).map(|()| out))
    }

    async fn drop(&mut self, c: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(c)?;
        Ok(())
    }
}
