//! The `killmail.ingested` event (schemas/events/killmail.ingested.schema.json).

use crate::killmail::{Killmail, KillmailError, Source};
use contracts::killmail_ingested::{KillmailIngested, KillmailIngestedSource};

/// The payload announcing an accepted killmail. `tracked` says whether the ruleset's lists
/// name it.
pub fn ingested(km: &Killmail, tracked: bool) -> Result<KillmailIngested, KillmailError> {
    Ok(KillmailIngested {
        killmail_id: km.id,
        killmail_hash: km.hash.as_str().try_into().map_err(|_| KillmailError::Hash { id: km.id, hash: km.hash.clone() })?,
        killmail_time: km.time,
        solar_system_id: km.solar_system_id.into(),
        source: match km.source {
            Source::R2z2 => KillmailIngestedSource::R2z2,
            Source::Redisq => KillmailIngestedSource::Redisq,
            Source::Backfill => KillmailIngestedSource::Backfill,
        },
        sequence: km.sequence,
        tracked: Some(tracked),
        esi: km.esi.as_object().cloned(),
        zkb: km.zkb.as_ref().and_then(|z| z.raw.as_object().cloned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::killmail::tests::sample;

    #[test]
    fn the_event_carries_the_body_and_marks_absent_values() {
        let km = Killmail::from_archive_line(&sample().to_string()).unwrap();
        let e = serde_json::to_value(ingested(&km, true).unwrap()).unwrap();
        assert_eq!(e["killmailTime"], "2021-11-28T10:21:00Z");
        assert_eq!(e["esi"]["killmail_id"], 97030352);
        assert!(e.get("zkb").is_none(), "archives carry no zkb; it must not be invented");
        assert_eq!(e["tracked"], true);
        assert_eq!(e["source"], "backfill");
    }
}
