//! The battle bounded context. The pure core: clustering killmails into battles
//! (`clustering`, on the stargate map of `eve_static`), the sides of a battle from
//! its attack graph (`sides`), its statistics (`stats`), reading `killmail.enriched`
//! (`enriched`), the report and event payload (`report`) and the API's inputs (`api`). The
//! Wasm glue (`wasm`) stores battles, publishes their events and serves the API.

pub mod api;
pub mod clustering;
pub mod config;
pub mod enriched;
pub mod report;
pub mod sides;
pub mod stats;

// The glue exports the Kafka handler and the HTTP API, which only mean something in a
// component; native builds (unit tests) leave it out.
#[cfg(target_arch = "wasm32")]
mod wasm;
