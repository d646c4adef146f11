//! The ingestion bounded context: killmails from zKillboard's feeds (R2Z2, RedisQ) and daily
//! archives, filtered by the current ruleset and plugins, stored once, and announced as
//! `killmail.ingested` through the service's outbox.
//!
//! Pure logic lives in plain modules, unit-tested natively; `wasm` is the thin component glue
//! (HTTP API, cron-driven pollers, database access).

pub mod config;
pub mod event;
pub mod feed;
pub mod health;
pub mod intake;
pub mod killmail;
pub mod ruleset;
pub mod stats;

// The glue exports `wasi:http/incoming-handler` and the cron handler, which only mean
// something in a component; native builds (unit tests) leave it out.
#[cfg(target_arch = "wasm32")]
mod wasm;
