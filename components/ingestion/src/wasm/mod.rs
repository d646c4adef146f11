//! What the ingestion API and the ingestion worker share inside a component: the ingestion
//! database through Spin's Postgres interface (`store`) and the component's settings. The API
//! (`ingestion-api`: health, statistics, the ruleset; HTTP only, runs on Spin) and the worker
//! (`ingestion-worker`: the feed pollers and backfill intake, which run plugins; runs on the
//! BattleScope host) are crates of their own.

pub mod store;

/// The component's settings from its variables.
pub fn config() -> Result<crate::config::Config, String> {
    crate::config::Config::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())
}
