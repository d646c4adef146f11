//! The enrichment bounded context: `killmail.ingested` in, `killmail.enriched` out. Bodies
//! come with the event (R2Z2, archives) or from ESI (RedisQ); names of characters,
//! corporations, alliances and factions from ESI through a two-level cache; places and ship
//! types from the static data in the repository.
//!
//! Pure logic in plain modules, natively tested; `wasm` is the glue both enrichment components
//! share (ESI client, name resolution, storage). The HTTP API (`api/`) and the Kafka handler
//! and cron job (`worker/`) are crates of their own.

pub mod config;
pub mod enrich;
pub mod esi_policy;
pub mod exposition;
pub mod ingested;
pub mod names;

#[cfg(target_arch = "wasm32")]
pub mod wasm;
