//! The battle bounded context. This first slice is the pure core: clustering killmails into
//! battles (`clustering`), the map it measures distance on (`universe`), the sides of a
//! battle from its attack graph (`sides`), its statistics (`stats`), reading
//! `killmail.enriched` (`enriched`) and the report and event payload (`report`). Storage,
//! events, the API and the Wasm glue build on it.

pub mod clustering;
pub mod enriched;
pub mod report;
pub mod sides;
pub mod stats;
pub mod universe;

// The glue exports the Kafka handler and the HTTP API, which only mean something in a
// component; native builds (unit tests) leave it out.
#[cfg(target_arch = "wasm32")]
mod wasm;
