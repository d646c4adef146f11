//! The battle bounded context. The pure core: clustering killmails into battles
//! (`clustering`, on the stargate map of `eve_static`), the sides of a battle from
//! its attack graph (`sides`), its statistics (`stats`), reading `killmail.enriched`
//! (`enriched`), the report and event payload (`report`) and the API's inputs (`api`); how
//! changes reach the stored battles, over any store (`engine`). In a component, `wasm` is the
//! Postgres store both battle components use; the HTTP API (`api/`) and the Kafka and cron
//! handlers (`worker/`) are crates of their own.

pub mod api;
pub mod clustering;
pub mod config;
pub mod engine;
pub mod enriched;
pub mod exposition;
pub mod failure;
pub mod moves;
pub mod report;
pub mod sides;
pub mod stats;
pub mod views;

// Spin's Postgres interface only links in a component; native builds (unit tests) leave it out.
#[cfg(target_arch = "wasm32")]
pub mod wasm;
