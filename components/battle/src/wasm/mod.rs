//! What the battle API and the battle worker share inside a component: the engine's store over
//! Spin's Postgres interface (`store`, writes in `rows`, the API's reads in `queries`) and the
//! component's settings. The API (`battle-api`, HTTP only, runs on Spin) and the worker
//! (`battle-worker`: the Kafka handler and the lifecycle cron, runs on the BattleScope host)
//! are their own crates beside this one.

mod queries;
mod rows;
pub mod store;

/// The component's settings from its variables.
pub fn config() -> Result<crate::config::Config, String> {
    crate::config::Config::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())
}

/// What the engine needs besides the store, now.
pub fn context(config: &crate::config::Config) -> crate::engine::Context {
    crate::engine::Context {
        params: crate::clustering::Params::default(),
        topics: config.topics(),
        now_ms: chrono::Utc::now().timestamp_millis(),
        lifecycle_with_changes: true,
    }
}
