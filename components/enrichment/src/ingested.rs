//! The `killmail.ingested` event as enrichment reads it.

use contracts::killmail_enriched::KillmailEnrichedSource;
use contracts::killmail_ingested::{KillmailIngested, KillmailIngestedSource};
use contracts::Envelope;
use serde_json::Value;

/// What enrichment needs from a `killmail.ingested` envelope.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub killmail_id: u64,
    pub hash: String,
    pub source: KillmailEnrichedSource,
    /// The ESI body when the feed carried it (R2Z2, backfill).
    pub esi: Option<Value>,
    /// zKillboard's values when the feed supplied them.
    pub zkb: Option<Value>,
}

/// Parse an envelope; the error says what is wrong (the message is then fatal, not retried).
pub fn parse(payload: &[u8]) -> Result<Ingested, String> {
    let event: KillmailIngested = Envelope::parse(payload).map_err(|e| e.to_string())?.data;
    let esi = event.esi.map(Value::Object);
    if let Some(esi) = &esi {
        let body_id = esi.get("killmail_id").and_then(Value::as_u64);
        if body_id != Some(event.killmail_id) {
            return Err(format!("data.esi is killmail {body_id:?}, the event says {}", event.killmail_id));
        }
    }
    Ok(Ingested {
        killmail_id: event.killmail_id,
        hash: event.killmail_hash.to_string(),
        source: match event.source {
            KillmailIngestedSource::R2z2 => KillmailEnrichedSource::R2z2,
            KillmailIngestedSource::Redisq => KillmailEnrichedSource::Redisq,
            KillmailIngestedSource::Backfill => KillmailEnrichedSource::Backfill,
        },
        esi,
        zkb: event.zkb.map(Value::Object),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "5d9c4d2e8c7a0a4b3e2f1d0c9b8a7f6e5d4c3b2a";

    fn envelope(event_type: &str, data: &str) -> Vec<u8> {
        format!(r#"{{"eventId":"6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a","eventType":"{event_type}","timestamp":"2026-11-29T12:00:00Z","data":{data}}}"#)
            .into_bytes()
    }

    #[test]
    fn parses_with_and_without_a_body() {
        let with = envelope(
            "killmail.ingested",
            &format!(
                r#"{{"killmailId":5,"killmailHash":"{HASH}","killmailTime":"2021-11-28T10:21:00Z","solarSystemId":1,"source":"r2z2","esi":{{"killmail_id":5}},"zkb":{{"totalValue":1}}}}"#
            ),
        );
        let i = parse(&with).unwrap();
        assert_eq!((i.killmail_id, i.esi.is_some(), i.zkb.is_some()), (5, true, true));
        let without = envelope(
            "killmail.ingested",
            &format!(
                r#"{{"killmailId":5,"killmailHash":"{HASH}","killmailTime":"2021-11-28T10:21:00Z","solarSystemId":1,"source":"redisq","esi":null}}"#
            ),
        );
        assert!(parse(&without).unwrap().esi.is_none());
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert!(parse(b"{").unwrap_err().contains("not a killmail.ingested"));
        assert!(parse(&envelope("battle.created", "{}")).unwrap_err().contains("battle.created"));
        let mismatch = envelope(
            "killmail.ingested",
            &format!(
                r#"{{"killmailId":5,"killmailHash":"{HASH}","killmailTime":"2021-11-28T10:21:00Z","solarSystemId":1,"source":"r2z2","esi":{{"killmail_id":6}}}}"#
            ),
        );
        assert!(parse(&mismatch).unwrap_err().contains("data.esi"));
    }
}
