//! The ingestion bounded context: killmails from zKillboard's feeds (R2Z2, RedisQ) and daily
//! archives, filtered by the current ruleset and plugins, stored once, and announced as
//! `killmail.ingested` through the service's outbox.
//!
//! Pure logic lives in plain modules, unit-tested natively; `wasm` is the glue both ingestion
//! components share (database access). The HTTP API (`api/`) and the feed pollers and backfill
//! intake (`worker/`) are crates of their own.

pub mod config;
pub mod event;
pub mod feed;
pub mod health;
pub mod intake;
pub mod killmail;
pub mod plugin_summary;
pub mod ruleset;
pub mod stats;

// Spin's Postgres interface only links in a component; native builds (unit tests) leave it out.
#[cfg(target_arch = "wasm32")]
pub mod wasm;
