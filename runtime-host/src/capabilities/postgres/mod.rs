//! Outbound PostgreSQL (`spin:postgres/postgres@3.0.0`). A connection pool per address, shared
//! by all instances; a component's connection is a pooled client that goes back to the pool
//! when the instance drops it.

mod convert;
mod host;

use super::access::Access;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use wasmtime::component::ResourceTable;

/// `[postgres]` of the runtime config: how the host's pools reach Postgres, so a dead or
/// unreachable server makes a guest's call fail in bounded time instead of hanging it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSettings {
    /// Connections one pool keeps per address.
    pub pool_size: usize,
    /// Distinct addresses (connection strings) the host keeps pools for; one more is refused,
    /// so a component varying its address cannot open connections without end.
    pub max_pools: usize,
    /// Giving up on connecting to the server, in milliseconds (unless the address sets
    /// `connect_timeout` itself).
    pub connect_timeout_ms: u64,
    /// Giving up on a free pooled connection, in milliseconds.
    pub pool_wait_timeout_ms: u64,
    /// Data the server has not acknowledged for this long, in milliseconds, ends the
    /// connection (a half-open socket fails instead of waiting forever).
    pub tcp_user_timeout_ms: u64,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            pool_size: 16,
            max_pools: 32,
            connect_timeout_ms: 5_000,
            pool_wait_timeout_ms: 10_000,
            tcp_user_timeout_ms: 30_000,
        }
    }
}

/// Run on a pooled connection before it is handed out again: an instance that trapped or
/// returned mid-transaction (or holding a session lock) must not pass either to the next one.
/// Outside a transaction `ROLLBACK` only warns.
const RECYCLE_SQL: &str = "ROLLBACK; SELECT pg_advisory_unlock_all()";

/// What a component holds after `connection.open`. It goes back to the pool only when the
/// component drops it (`connection.drop`). One left behind by an instance that trapped or was
/// stopped at its deadline may be mid-transaction holding locks, or mid-statement; back in the
/// pool it would keep those locks until its turn to be recycled came (every other instance
/// waiting on them meanwhile), so it is closed instead: the server then rolls back and frees
/// them at once.
pub struct Connection {
    client: Option<deadpool_postgres::Object>,
}

impl Connection {
    fn new(client: deadpool_postgres::Object) -> Self {
        Self { client: Some(client) }
    }

    fn client(&self) -> &deadpool_postgres::Object {
        self.client.as_ref().expect("a connection keeps its client until it is dropped")
    }

    /// Back to the pool, for the next instance (recycled with `RECYCLE_SQL` first).
    fn release(mut self) {
        drop(self.client.take());
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            // Out of the pool: dropping the bare client closes the connection.
            drop(deadpool_postgres::Object::take(client));
        }
    }
}

/// One instance's Postgres: the shared pools, what it may reach, its open connections.
pub struct PostgresState {
    pools: Arc<Pools>,
    access: Arc<Access>,
    metrics: Arc<crate::metrics::Metrics>,
    calls: crate::telemetry::CallSpans,
    table: ResourceTable,
}

impl PostgresState {
    pub fn new(
        pools: Arc<Pools>,
        access: Arc<Access>,
        metrics: Arc<crate::metrics::Metrics>,
        calls: crate::telemetry::CallSpans,
    ) -> Self {
        Self { pools, access, metrics, calls, table: ResourceTable::new() }
    }

    /// A statement's span (when spans are exported), with its text: statements take their
    /// values as parameters, so the text holds no data.
    fn open_span(&self, operation: &'static str, statement: &str) -> Option<crate::telemetry::OpenSpan> {
        let mut span = self.calls.open(format!("postgres {operation}"), crate::telemetry::Kind::Client)?;
        span.attribute("db.system.name", "postgresql");
        span.attribute("db.operation.name", operation);
        span.attribute("db.query.text", statement.chars().take(2_000).collect::<String>());
        Some(span)
    }

    /// Time one statement (preparing included) into `database_query_duration_seconds`, and
    /// close its span.
    fn finish(
        &self,
        operation: &'static str,
        started: std::time::Instant,
        span: Option<crate::telemetry::OpenSpan>,
        error: Option<&crate::bindings::postgres::Error>,
    ) {
        self.metrics.observe(
            "database_query_duration_seconds",
            "Time a component's Postgres statement took, preparation included.",
            &[("component", self.access.component.as_str()), ("operation", operation)],
            started.elapsed(),
        );
        self.calls.close(span, error.map(|e| format!("{e:?}")).as_deref());
    }
}

/// Pools by connection string.
#[derive(Default)]
pub struct Pools {
    settings: PoolSettings,
    by_address: Mutex<HashMap<String, deadpool_postgres::Pool>>,
}

impl Pools {
    pub fn new(settings: PoolSettings) -> Self {
        Self { settings, by_address: Mutex::default() }
    }

    async fn pool(&self, address: &str) -> Result<deadpool_postgres::Pool, String> {
        let mut map = self.by_address.lock().await;
        if let Some(p) = map.get(address) {
            return Ok(p.clone());
        }
        if map.len() >= self.settings.max_pools {
            return Err(format!(
                "the host already keeps pools for {} distinct Postgres addresses (max_pools); use one of them",
                map.len()
            ));
        }
        let mut config = tokio_postgres::Config::from_str(address).map_err(|e| format!("invalid address: {e}"))?;
        let s = &self.settings;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_millis(s.connect_timeout_ms));
        }
        config.tcp_user_timeout(Duration::from_millis(s.tcp_user_timeout_ms));
        config.keepalives(true).keepalives_idle(Duration::from_secs(30)).keepalives_interval(Duration::from_secs(10));
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Custom(RECYCLE_SQL.into()) },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(s.pool_size)
            .wait_timeout(Some(Duration::from_millis(s.pool_wait_timeout_ms)))
            .create_timeout(Some(Duration::from_millis(s.connect_timeout_ms)))
            .recycle_timeout(Some(Duration::from_millis(s.connect_timeout_ms)))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| e.to_string())?;
        map.insert(address.to_string(), pool.clone());
        Ok(pool)
    }
}

/// The `(host, port)` pairs a connection string would reach, for the allow-list check. A
/// `hostaddr` is where the client really connects (the host name then only serves TLS and
/// authentication), so it must be allowed as well as the name.
fn targets(address: &str) -> Result<Vec<(String, u16)>, String> {
    let config = tokio_postgres::Config::from_str(address).map_err(|e| format!("invalid address: {e}"))?;
    let ports = config.get_ports();
    let port_of = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    let mut out = Vec::new();
    for (i, host) in config.get_hosts().iter().enumerate() {
        match host {
            tokio_postgres::config::Host::Tcp(h) => out.push((h.clone(), port_of(i))),
            tokio_postgres::config::Host::Unix(p) => out.push((p.display().to_string(), port_of(i))),
        }
    }
    for (i, ip) in config.get_hostaddrs().iter().enumerate() {
        out.push((ip.to_string(), port_of(i)));
    }
    if out.is_empty() {
        return Err("address names no host".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::targets;

    #[test]
    fn reads_hosts_and_ports_from_urls_and_key_value_strings() {
        assert_eq!(targets("postgres://u@db:6000/x").unwrap(), vec![("db".to_string(), 6000)]);
        assert_eq!(targets("postgres://u@db/x").unwrap(), vec![("db".to_string(), 5432)]);
        assert_eq!(targets("host=a port=7 dbname=x").unwrap(), vec![("a".to_string(), 7)]);
        assert!(targets("user=x").is_err());
    }

    #[test]
    fn a_hostaddr_is_a_target_beside_its_host_name() {
        let both = targets("postgres://u@db:6000/x?hostaddr=10.1.2.3").unwrap();
        assert_eq!(both, vec![("db".to_string(), 6000), ("10.1.2.3".to_string(), 6000)]);
        let key_value = targets("host=db hostaddr=192.168.0.9 dbname=x").unwrap();
        assert!(key_value.contains(&("192.168.0.9".to_string(), 5432)), "{key_value:?}");
    }
}
