//! Outbound PostgreSQL (`spin:postgres/postgres@3.0.0`). A connection pool per address, shared
//! by all instances; a component's connection is a pooled client that goes back to the pool
//! when the instance drops it.

mod convert;
mod host;

use super::access::Access;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;
use tokio::sync::Mutex;
use wasmtime::component::ResourceTable;

/// Connections a pool keeps per address.
const POOL_SIZE: usize = 16;

/// Run on a pooled connection before it is handed out again: an instance that trapped or
/// returned mid-transaction (or holding a session lock) must not pass either to the next one.
/// Outside a transaction `ROLLBACK` only warns.
const RECYCLE_SQL: &str = "ROLLBACK; SELECT pg_advisory_unlock_all()";

/// What a component holds after `connection.open`.
pub struct Connection {
    client: deadpool_postgres::Object,
}

/// One instance's Postgres: the shared pools, what it may reach, its open connections.
pub struct PostgresState {
    pools: Arc<Pools>,
    access: Arc<Access>,
    table: ResourceTable,
}

impl PostgresState {
    pub fn new(pools: Arc<Pools>, access: Arc<Access>) -> Self {
        Self { pools, access, table: ResourceTable::new() }
    }
}

/// Pools by connection string.
#[derive(Default)]
pub struct Pools {
    by_address: Mutex<HashMap<String, deadpool_postgres::Pool>>,
}

impl Pools {
    async fn pool(&self, address: &str) -> Result<deadpool_postgres::Pool, String> {
        let mut map = self.by_address.lock().await;
        if let Some(p) = map.get(address) {
            return Ok(p.clone());
        }
        let config = tokio_postgres::Config::from_str(address).map_err(|e| format!("invalid address: {e}"))?;
        let manager = deadpool_postgres::Manager::from_config(
            config,
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Custom(RECYCLE_SQL.into()) },
        );
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| e.to_string())?;
        map.insert(address.to_string(), pool.clone());
        Ok(pool)
    }
}

/// The `(host, port)` pairs a connection string would reach, for the allow-list check.
fn targets(address: &str) -> Result<Vec<(String, u16)>, String> {
    let config = tokio_postgres::Config::from_str(address).map_err(|e| format!("invalid address: {e}"))?;
    let ports = config.get_ports();
    let mut out = Vec::new();
    for (i, host) in config.get_hosts().iter().enumerate() {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        match host {
            tokio_postgres::config::Host::Tcp(h) => out.push((h.clone(), port)),
            tokio_postgres::config::Host::Unix(p) => out.push((p.display().to_string(), port)),
        }
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
}
