//! BattleScope's event contracts. `schemas/events/` is the one description of every event;
//! the payload types here are generated from it at build time (see `build.rs`), so a service
//! cannot publish or read a field the schema does not have. What the crate adds by hand is the
//! envelope every event shares (`Envelope`), checked against `envelope.schema.json` by its
//! tests.
//!
//! Services share these types, never business logic: the types are the schema.

mod envelope;

pub use envelope::{event_type, ContractError, Envelope};

/// A payload type of one event type.
pub trait Event: serde::Serialize + serde::de::DeserializeOwned {
    /// The `eventType` of envelopes carrying this payload, and its default topic.
    const EVENT_TYPE: &'static str;
}

include!(concat!(env!("OUT_DIR"), "/events.rs"));
