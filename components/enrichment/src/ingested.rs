//! The `killmail.ingested` event as enrichment reads it.

use serde::Deserialize;
use serde_json::Value;

/// What enrichment needs from a `killmail.ingested` envelope.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub event_id: String,
    pub killmail_id: u64,
    pub hash: String,
    pub source: String,
    /// The ESI body when the feed carried it (R2Z2, backfill); RedisQ's come without.
    pub esi: Option<Value>,
    /// zKillboard's values when the feed supplied them.
    pub zkb: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    event_id: String,
    event_type: String,
    data: Data,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    killmail_id: u64,
    killmail_hash: String,
    source: String,
    #[serde(default)]
    esi: Option<Value>,
    #[serde(default)]
    zkb: Option<Value>,
}

/// Parse an envelope; the error says what is wrong (the message is then fatal, not retried).
pub fn parse(payload: &[u8]) -> Result<Ingested, String> {
    let e: Envelope = serde_json::from_slice(payload).map_err(|e| format!("not a killmail.ingested envelope: {e}"))?;
    if e.event_type != "killmail.ingested" {
        return Err(format!("eventType is {:?}, not killmail.ingested", e.event_type));
    }
    if let Some(esi) = &e.data.esi {
        let body_id = esi.get("killmail_id").and_then(Value::as_u64);
        if body_id != Some(e.data.killmail_id) {
            return Err(format!("data.esi is killmail {body_id:?}, the event says {}", e.data.killmail_id));
        }
    }
    Ok(Ingested {
        event_id: e.event_id,
        killmail_id: e.data.killmail_id,
        hash: e.data.killmail_hash,
        source: e.data.source,
        esi: e.data.esi.filter(Value::is_object),
        zkb: e.data.zkb.filter(Value::is_object),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_and_without_a_body() {
        let with = br#"{"eventId":"e","eventType":"killmail.ingested","timestamp":"t","data":{"killmailId":5,"killmailHash":"h","killmailTime":"t","solarSystemId":1,"source":"r2z2","esi":{"killmail_id":5},"zkb":{"totalValue":1}}}"#;
        let i = parse(with).unwrap();
        assert_eq!((i.killmail_id, i.esi.is_some(), i.zkb.is_some()), (5, true, true));
        let without = br#"{"eventId":"e","eventType":"killmail.ingested","timestamp":"t","data":{"killmailId":5,"killmailHash":"h","killmailTime":"t","solarSystemId":1,"source":"redisq","esi":null}}"#;
        assert!(parse(without).unwrap().esi.is_none());
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        assert!(parse(b"{").unwrap_err().contains("not a killmail.ingested"));
        let other = br#"{"eventId":"e","eventType":"battle.created","timestamp":"t","data":{"killmailId":5,"killmailHash":"h","source":"x"}}"#;
        assert!(parse(other).unwrap_err().contains("battle.created"));
        let mismatch = br#"{"eventId":"e","eventType":"killmail.ingested","timestamp":"t","data":{"killmailId":5,"killmailHash":"h","source":"r2z2","esi":{"killmail_id":6}}}"#;
        assert!(parse(mismatch).unwrap_err().contains("data.esi"));
    }
}
