//! The envelope every event travels in: `{eventId, eventType, timestamp, data}`.

use crate::Event;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Why a payload is not the event a consumer expected.
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// Not JSON, or JSON that does not fit the envelope or the payload type.
    #[error("not a {expected} event: {source}")]
    Malformed {
        expected: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A well-formed envelope of another event type.
    #[error("eventType is {found:?}, not {expected}")]
    WrongType { expected: &'static str, found: String },
}

/// An event with its envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Envelope<D> {
    /// Unique per event; consumers de-duplicate on it.
    pub event_id: uuid::Uuid,
    /// Names the schema of `data`.
    pub event_type: String,
    /// When the event was produced (wall-clock time, not game time).
    pub timestamp: DateTime<Utc>,
    pub data: D,
}

/// Only the type, to tell events apart before reading their payload.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeOnly {
    event_type: String,
}

/// The `eventType` of an envelope, to choose the payload type to read it as.
pub fn event_type(payload: &[u8]) -> Result<String, ContractError> {
    serde_json::from_slice::<TypeOnly>(payload)
        .map(|t| t.event_type)
        .map_err(|source| ContractError::Malformed { expected: "an envelope with an eventType", source })
}

impl<D: Event> Envelope<D> {
    /// A new event with a fresh id, stamped now.
    pub fn new(data: D) -> Self {
        Self::at(uuid::Uuid::new_v4(), Utc::now(), data)
    }

    /// An event with a given id and time (replays, tests).
    pub fn at(event_id: uuid::Uuid, timestamp: DateTime<Utc>, data: D) -> Self {
        Self { event_id, event_type: D::EVENT_TYPE.to_string(), timestamp, data }
    }

    /// Read an envelope of this event type; the error says what was wrong.
    pub fn parse(payload: &[u8]) -> Result<Self, ContractError> {
        let malformed = |source| ContractError::Malformed { expected: D::EVENT_TYPE, source };
        let kind: TypeOnly = serde_json::from_slice(payload).map_err(malformed)?;
        if kind.event_type != D::EVENT_TYPE {
            return Err(ContractError::WrongType { expected: D::EVENT_TYPE, found: kind.event_type });
        }
        serde_json::from_slice(payload).map_err(malformed)
    }
}

impl<D: Serialize> Envelope<D> {
    /// The wire form.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an event always serialises")
    }
}

impl<'a, D: Event> Envelope<&'a D> {
    /// A new event around a payload it borrows: a big payload is neither copied nor
    /// serialised twice when its writer keeps it too (enrichment stores the document it
    /// publishes).
    pub fn borrowing(data: &'a D) -> Self {
        Self { event_id: uuid::Uuid::new_v4(), event_type: D::EVENT_TYPE.to_string(), timestamp: Utc::now(), data }
    }
}

#[cfg(test)]
mod borrowing_tests {
    use super::*;
    use crate::test_probe::TestProbe;

    #[test]
    fn a_borrowing_envelope_has_the_wire_form_of_an_owning_one() {
        let probe: TestProbe = serde_json::from_value(serde_json::json!({"behaviour": "ok", "key": "k", "seq": 7})).unwrap();
        let borrowed = Envelope::borrowing(&probe);
        let owned = Envelope::at(borrowed.event_id, borrowed.timestamp, probe.clone());
        assert_eq!(borrowed.to_json(), owned.to_json());
        assert_eq!(Envelope::<TestProbe>::parse(borrowed.to_json().as_bytes()).unwrap(), owned);
    }
}
