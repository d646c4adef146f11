//! A `killmail.enriched` event as the battle service reads it.

use crate::clustering::Kill;
use crate::sides::Unit;
use crate::stats::{KillDetail, Participant};
use serde_json::Value;
use std::collections::BTreeSet;

const NPC_CHARACTERS: std::ops::Range<u64> = 3_000_000..4_000_000;

/// What one event gives: the kill for clustering, its details for statistics, its version.
#[derive(Debug, Clone, PartialEq)]
pub struct Enriched {
    pub kill: Kill,
    pub detail: KillDetail,
    pub version: i64,
}

fn participant(p: &Value) -> Participant {
    Participant {
        character: p["characterId"].as_u64(),
        corporation: p["corporationId"].as_u64(),
        alliance: p["allianceId"].as_u64(),
        ship_type: p["shipTypeId"].as_u64(),
        ship_group: p["shipGroupId"].as_u64(),
    }
}

/// Parse an envelope; the error says what is wrong (fatal for the message).
pub fn parse(payload: &[u8]) -> Result<Enriched, String> {
    let v: Value = serde_json::from_slice(payload).map_err(|e| format!("not JSON: {e}"))?;
    if v["eventType"] != "killmail.enriched" {
        return Err(format!("eventType is {}, not killmail.enriched", v["eventType"]));
    }
    let d = &v["data"];
    let id = d["killmailId"].as_u64().ok_or("data.killmailId is missing")?;
    let time_text = d["killmailTime"].as_str().ok_or("data.killmailTime is missing")?;
    let time = parse_time(time_text).ok_or_else(|| format!("data.killmailTime {time_text:?} is not RFC 3339 UTC"))?;
    let system = d["solarSystem"]["id"].as_u64().ok_or("data.solarSystem.id is missing")? as u32;
    let victim = participant(&d["victim"]);
    let attackers: Vec<Participant> = d["attackers"].as_array().ok_or("data.attackers is missing")?.iter().map(participant).collect();
    let players: Vec<&Participant> = std::iter::once(&victim)
        .chain(&attackers)
        .filter(|p| p.character.is_some_and(|c| !NPC_CHARACTERS.contains(&c)))
        .collect();
    let pilots: BTreeSet<u64> = players.iter().filter_map(|p| p.character).collect();
    let units: BTreeSet<u64> = players
        .iter()
        .filter_map(|p| p.unit())
        .map(|u| match u {
            Unit::Alliance(a) | Unit::Corporation(a) => a,
        })
        .collect();
    Ok(Enriched {
        kill: Kill { id, time, system, pilots: pilots.into_iter().collect(), units: units.into_iter().collect() },
        detail: KillDetail { id, time, system, victim, attackers, value: d["values"]["totalValue"].as_f64() },
        version: d["version"].as_i64().unwrap_or(1),
    })
}

/// Seconds since the epoch of an RFC 3339 UTC time (`2021-11-28T10:21:00Z`).
pub fn parse_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' || !text.ends_with('Z') {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d, h, mi, s) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from the civil date (proleptic Gregorian), as in Howard Hinnant's algorithm.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some(days * 86400 + h * 3600 + mi * 60 + s)
}

/// Format seconds since the epoch as RFC 3339 UTC.
pub fn format_time(secs: i64) -> String {
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_time("2021-11-28T10:21:00Z"), Some(1638094860));
        assert_eq!(format_time(1638094860), "2021-11-28T10:21:00Z");
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn an_event_gives_pilots_units_and_details() {
        let e = br#"{"eventId":"x","eventType":"killmail.enriched","timestamp":"t","data":{"killmailId":7,"killmailTime":"2021-11-28T10:21:00Z",
            "solarSystem":{"id":30001046},"version":2,"values":null,
            "victim":{"characterId":1,"corporationId":98000001,"allianceId":99005338,"shipTypeId":587},
            "attackers":[{"characterId":2,"corporationId":98000002,"allianceId":1354830081},{"characterId":3020009,"corporationId":1000274},{"corporationId":1000125}]}}"#;
        let p = parse(e).unwrap();
        assert_eq!(p.kill.pilots, vec![1, 2], "NPC characters do not count");
        assert_eq!(p.kill.units, vec![99005338, 1354830081]);
        assert_eq!((p.version, p.detail.value, p.detail.attackers.len()), (2, None, 3));
        assert!(parse(b"{}").is_err());
    }
}
