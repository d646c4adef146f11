//! The ingestion bounded context. This first slice serves its health report, read from the
//! service's own database; the feeds, rulesets and events build on it.
//!
//! `health` holds the report logic (natively tested); `wasm` is the thin component glue.

pub mod health;

// The glue exports `wasi:http/incoming-handler`, which only means something in a component;
// native builds (unit tests) leave it out.
#[cfg(target_arch = "wasm32")]
mod wasm;
