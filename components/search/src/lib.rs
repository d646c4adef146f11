//! Search: battles, entities (alliances, corporations, pilots, systems, regions, ship types)
//! and killmails in Typesense. This crate is the pure core both search components and the
//! reindex command build on:
//!
//! - `collections`: the three collections as code, versioned, behind aliases;
//! - `documents`: what each event becomes in the index;
//! - `index`: one event applied to the index, idempotently;
//! - `rebuild`: the reindex command's batch rebuild from the topics into fresh collections;
//! - `query`: the search API's parameters, validated, turned into Typesense searches, and
//!   Typesense's answers turned into ours;
//! - `typesense`: a small client of Typesense's HTTP API over any `Transport` (spin-sdk's
//!   outbound HTTP in the components, hyper in the reindex command, a fake in unit tests);
//! - `config`: the components' variables.

pub mod collections;
pub mod config;
pub mod documents;
pub mod index;
pub mod query;
pub mod rebuild;
#[cfg(target_arch = "wasm32")]
pub mod spin_http;
pub mod typesense;
