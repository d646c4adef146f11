//! A `killmail.enriched` event as the battle service reads it.

use crate::clustering::Kill;
use crate::sides::Unit;
use crate::stats::{KillDetail, Participant};
use contracts::killmail_enriched::{KillmailEnriched, Participant as EventParticipant};
use contracts::Envelope;
use eve_static::SecurityBand;
use std::collections::{BTreeMap, BTreeSet};

pub const NPC_CHARACTERS: std::ops::Range<u64> = 3_000_000..4_000_000;

/// What one event gives: the kill for clustering, its details for statistics, its version,
/// and the names enrichment resolved (characters, corporations, alliances, ship types, the
/// system and its region), by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Enriched {
    pub kill: Kill,
    pub detail: KillDetail,
    pub version: i64,
    pub names: BTreeMap<u64, String>,
}

/// The names an event carries, by id (EVE ids do not collide across kinds).
fn names(d: &KillmailEnriched) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    let mut add = |id: Option<u64>, name: &Option<String>| {
        if let (Some(id), Some(name)) = (id, name) {
            out.insert(id, name.clone());
        }
    };
    for p in std::iter::once(&d.victim).chain(&d.attackers) {
        add(p.character_id, &p.character_name);
        add(p.corporation_id, &p.corporation_name);
        add(p.alliance_id, &p.alliance_name);
        add(p.ship_type_id, &p.ship_type_name);
    }
    add(Some(d.solar_system.id), &d.solar_system.name);
    add(d.solar_system.region_id, &d.solar_system.region_name);
    out
}

fn participant(p: &EventParticipant) -> Participant {
    Participant {
        character: p.character_id,
        corporation: p.corporation_id,
        alliance: p.alliance_id,
        ship_type: p.ship_type_id,
        ship_group: p.ship_group_id,
    }
}

/// Parse an envelope; the error says what is wrong (fatal for the message).
pub fn parse(payload: &[u8]) -> Result<Enriched, String> {
    let event: KillmailEnriched = Envelope::parse(payload).map_err(|e| e.to_string())?.data;
    Ok(from_event(&event))
}

/// What the battle service keeps of an enriched killmail. Place and band come from the event:
/// enrichment owns them.
pub fn from_event(d: &KillmailEnriched) -> Enriched {
    let id = d.killmail_id;
    let time = d.killmail_time.timestamp();
    let system = d.solar_system.id as u32;
    let victim = participant(&d.victim);
    let attackers: Vec<Participant> = d.attackers.iter().map(participant).collect();
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
    Enriched {
        kill: Kill { id, time, system, pilots: pilots.into_iter().collect(), units: units.into_iter().collect() },
        detail: KillDetail {
            id,
            time,
            system,
            region: d.solar_system.region_id.map(|r| r as u32),
            band: SecurityBand::from_name(&d.solar_system.security_band.to_string()).unwrap_or(SecurityBand::Unknown),
            victim,
            attackers,
            value: d.values.as_ref().and_then(|v| v.total_value),
        },
        version: d.version.unwrap_or(1) as i64,
        names: names(d),
    }
}

/// Seconds since the epoch of an RFC 3339 time (`2021-11-28T10:21:00Z`).
pub fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp())
}

/// Seconds since the epoch as RFC 3339 UTC.
pub fn format_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("@{secs}"))
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
        let e = br#"{"eventId":"6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a","eventType":"killmail.enriched","timestamp":"2026-11-29T12:00:00Z","data":{"killmailId":7,"killmailHash":"h","killmailTime":"2021-11-28T10:21:00Z",
            "solarSystem":{"id":30001046,"regionId":10000012,"securityBand":"nullsec"},"version":2,"values":null,
            "victim":{"characterId":1,"corporationId":98000001,"allianceId":99005338,"shipTypeId":587},
            "attackers":[{"characterId":2,"corporationId":98000002,"allianceId":1354830081},{"characterId":3020009,"corporationId":1000274},{"corporationId":1000125}]}}"#;
        let p = parse(e).unwrap();
        assert_eq!(p.kill.pilots, vec![1, 2], "NPC characters do not count");
        assert_eq!(p.kill.units, vec![99005338, 1354830081]);
        assert_eq!((p.version, p.detail.value, p.detail.attackers.len()), (2, None, 3));
        assert_eq!((p.detail.region, p.detail.band), (Some(10000012), SecurityBand::Nullsec), "place and band from the event");
        assert!(parse(b"{}").is_err());
    }
}

/// A participant in the compact form: character, corporation, alliance, ship type, ship group.
type CompactParticipant = (Option<u64>, Option<u64>, Option<u64>, Option<u64>, Option<u64>);

fn compact_participant(p: &Participant) -> CompactParticipant {
    (p.character, p.corporation, p.alliance, p.ship_type, p.ship_group)
}

fn participant_from_compact((character, corporation, alliance, ship_type, ship_group): CompactParticipant) -> Participant {
    Participant { character, corporation, alliance, ship_type, ship_group }
}

/// The compact form kept in the database (`battle_kills.detail`). Written and read straight
/// from and to text: a batch stores a thousand of these and reads back thousands more, and a
/// `serde_json::Value` in between doubled the work.
#[derive(serde::Serialize, serde::Deserialize)]
struct Compact {
    v: CompactParticipant,
    a: Vec<CompactParticipant>,
    value: Option<f64>,
    r: Option<u32>,
    b: SecurityBand,
}

/// A kill's details in the compact form, as JSON text.
pub fn compact(detail: &KillDetail) -> String {
    let c = Compact {
        v: compact_participant(&detail.victim),
        a: detail.attackers.iter().map(compact_participant).collect(),
        value: detail.value,
        r: detail.region,
        b: detail.band,
    };
    serde_json::to_string(&c).expect("numbers and strings always serialize")
}

/// A kill and its details back from the database's columns (`compact`: the `detail` column's
/// text).
pub fn from_row(
    id: u64,
    time: i64,
    system: u32,
    pilots: Vec<u64>,
    units: Vec<u64>,
    compact: &str,
) -> Result<(Kill, KillDetail), serde_json::Error> {
    let c: Compact = serde_json::from_str(compact)?;
    let detail = KillDetail {
        id,
        time,
        system,
        region: c.r,
        band: c.b,
        victim: participant_from_compact(c.v),
        attackers: c.a.into_iter().map(participant_from_compact).collect(),
        value: c.value,
    };
    Ok((Kill { id, time, system, pilots, units }, detail))
}

#[cfg(test)]
mod compact_tests {
    use super::*;

    #[test]
    fn the_compact_form_round_trips() {
        let d = KillDetail {
            id: 1,
            time: 2,
            system: 3,
            region: Some(10000012),
            band: SecurityBand::Lowsec,
            victim: Participant {
                character: Some(4),
                corporation: Some(5),
                alliance: None,
                ship_type: Some(587),
                ship_group: Some(25),
            },
            attackers: vec![Participant {
                character: None,
                corporation: Some(1000125),
                alliance: None,
                ship_type: None,
                ship_group: None,
            }],
            value: Some(1.5),
        };
        let (_, back) = from_row(1, 2, 3, vec![4], vec![5], &compact(&d)).unwrap();
        assert_eq!(back, d);
    }
}
