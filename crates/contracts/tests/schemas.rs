//! The generated types and the envelope against the schemas they come from: a realistic
//! event of each type read into its type, written back, and validated by the schema.

use contracts::{Envelope, Event};
use serde_json::{json, Value};

fn schema(event_type: &str) -> jsonschema::Validator {
    let path = format!("{}/../../schemas/events/{event_type}.schema.json", env!("CARGO_MANIFEST_DIR"));
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Read `data` into the type of `D`'s event, write it back in an envelope, and validate that.
fn round_trip<D: Event>(data: Value) -> Value {
    let wire = json!({"eventId": "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", "eventType": D::EVENT_TYPE,
                      "timestamp": "2026-11-29T12:00:00.123Z", "data": data});
    let event = Envelope::<D>::parse(wire.to_string().as_bytes()).unwrap_or_else(|e| panic!("{}: {e}", D::EVENT_TYPE));
    let back: Value = serde_json::from_str(&event.to_json()).unwrap();
    if let Err(e) = schema(D::EVENT_TYPE).validate(&back) {
        panic!("{} does not validate: {e}\n{back:#}", D::EVENT_TYPE);
    }
    assert!(schema("envelope").is_valid(&back), "the envelope schema");
    back
}

#[test]
fn killmail_ingested() {
    let back = round_trip::<contracts::killmail_ingested::KillmailIngested>(json!({
        "killmailId": 97030352, "killmailHash": "5d9c4d2e8c7a0a4b3e2f1d0c9b8a7f6e5d4c3b2a", "killmailTime": "2021-11-28T10:21:00Z",
        "solarSystemId": 30001046, "source": "r2z2", "sequence": 12, "tracked": true,
        "esi": {"killmail_id": 97030352}, "zkb": {"totalValue": 1.5e9}
    }));
    assert_eq!(back["data"]["killmailTime"], "2021-11-28T10:21:00Z");
    assert_eq!(back["timestamp"], "2026-11-29T12:00:00.123Z");
}

#[test]
fn killmail_enriched() {
    let person = json!({"characterId": 1, "characterName": "A", "corporationId": 98000001, "corporationName": "C",
                        "allianceId": 99005338, "allianceName": "Pandemic Horde", "shipTypeId": 587, "shipTypeName": "Rifter",
                        "shipGroupId": 25, "damage": 10, "finalBlow": true});
    round_trip::<contracts::killmail_enriched::KillmailEnriched>(json!({
        "killmailId": 97030352, "killmailHash": "h", "killmailTime": "2021-11-28T10:21:00Z",
        "solarSystem": {"id": 30001046, "name": "Jorund", "regionId": 10000012, "securityBand": "nullsec", "security": -0.007},
        "victim": person, "attackers": [person, {"corporationId": 1000125, "damage": 0}],
        "values": {"totalValue": 1.5e9, "synthetic": true}, "unresolvedIds": [5], "version": 2, "source": "backfill",
        "items": {"stacks": 1, "destroyed": 2, "dropped": 0}
    }));
}

#[test]
fn the_envelope_says_what_is_wrong() {
    type Ingested = Envelope<contracts::killmail_ingested::KillmailIngested>;
    let e = Ingested::parse(br#"{"eventId":"6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a","eventType":"battle.created","timestamp":"2026-11-29T12:00:00Z","data":{}}"#)
        .unwrap_err();
    assert_eq!(e.to_string(), "eventType is \"battle.created\", not killmail.ingested");
    assert!(Ingested::parse(b"{").unwrap_err().to_string().starts_with("not a killmail.ingested event"));
    let no_hash = br#"{"eventId":"6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a","eventType":"killmail.ingested","timestamp":"2026-11-29T12:00:00Z",
        "data":{"killmailId":1,"killmailHash":"not-hex","killmailTime":"2021-11-28T10:21:00Z","solarSystemId":1,"source":"r2z2"}}"#;
    assert!(Ingested::parse(no_hash).is_err(), "the schema's pattern holds in the type");
}

#[test]
fn new_events_get_an_id_and_a_time() {
    let data: contracts::killmail_ingested::KillmailIngested = serde_json::from_value(json!({
        "killmailId": 1, "killmailHash": "5d9c4d2e8c7a0a4b3e2f1d0c9b8a7f6e5d4c3b2a", "killmailTime": "2021-11-28T10:21:00Z",
        "solarSystemId": 30001046, "source": "backfill"}))
    .unwrap();
    let (a, b) = (Envelope::new(data.clone()), Envelope::new(data));
    assert_ne!(a.event_id, b.event_id);
    assert_eq!(a.event_type, "killmail.ingested");
}
