//! What the enrichment API and the enrichment worker share inside a component: the ESI client
//! behind one error budget and breaker (`esi`), name resolution through Redis, the database
//! and ESI (`resolve`), the enrichment database (`store`) and its counters. The API
//! (`enrichment-api`, HTTP only, runs on Spin) and the worker (`enrichment-worker`: the Kafka
//! handler and the name-retry cron, runs on the BattleScope host) are crates of their own.

pub mod counters;
pub mod esi;
pub mod resolve;
pub mod store;

/// The component's settings from its variables.
pub fn config() -> Result<crate::config::Config, String> {
    crate::config::Config::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
