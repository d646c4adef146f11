//! The `killmail.ingested` event (schemas/events/killmail.ingested.schema.json).

use crate::killmail::Killmail;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

pub const TOPIC: &str = "killmail.ingested";

/// The envelope announcing an accepted killmail. `tracked` says whether the ruleset's lists
/// name it.
pub fn ingested(km: &Killmail, event_id: &str, now: DateTime<Utc>, tracked: bool) -> Value {
    json!({
        "eventId": event_id,
        "eventType": TOPIC,
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": {
            "killmailId": km.id,
            "killmailHash": km.hash,
            "killmailTime": km.time.to_rfc3339_opts(SecondsFormat::Secs, true),
            "solarSystemId": km.solar_system_id,
            "source": km.source.name(),
            "sequence": km.sequence,
            "tracked": tracked,
            "esi": km.esi,
            "zkb": km.zkb.as_ref().map(|z| z.raw.clone()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::killmail::tests::sample;

    #[test]
    fn the_event_carries_the_body_and_marks_absent_values() {
        let km = Killmail::from_archive_line(&sample().to_string()).unwrap();
        let now = DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").unwrap().with_timezone(&Utc);
        let e = ingested(&km, "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", now, true);
        assert_eq!(e["eventType"], TOPIC);
        assert_eq!(e["timestamp"], "2026-11-29T12:00:00.000Z");
        assert_eq!(e["data"]["killmailTime"], "2021-11-28T10:21:00Z");
        assert_eq!(e["data"]["esi"]["killmail_id"], 97030352);
        assert!(e["data"]["zkb"].is_null(), "archives carry no zkb; it must not be invented");
        assert_eq!(e["data"]["tracked"], true);
    }
}
