//! Killmails as the feeds deliver them: the ESI body, validated, and the summary that rules
//! and plugins look at.

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

/// Character ids CCP gives to NPC agents and fleets.
const NPC_CHARACTER_IDS: std::ops::Range<u64> = 3_000_000..4_000_000;

/// Which feed delivered a killmail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    R2z2,
    Redisq,
    Backfill,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::R2z2 => "r2z2",
            Source::Redisq => "redisq",
            Source::Backfill => "backfill",
        }
    }
}

/// Why a killmail body was refused. Each variant says which field was wrong.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum KillmailError {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not an ESI killmail: {0}")]
    Shape(String),
    #[error("field `killmail_time`: {0:?} is not an RFC 3339 time")]
    Time(String),
    #[error("field `killmail_time`: {0} is not a time EVE has killmails for (2003 to 9999)")]
    TimeOutOfRange(String),
    #[error("field `attackers`: a killmail has at least one attacker")]
    NoAttackers,
    #[error("field `killmail_id`: must be 1 to 9223372036854775807")]
    Id,
    #[error("field `solar_system_id`: {0} is past 2147483647")]
    SystemId(u32),
    #[error("killmail {id}: hash {hash:?} is not 40 lower-case hex digits")]
    Hash { id: u64, hash: String },
    #[error("the envelope says killmail {envelope} but its ESI body is killmail {body}")]
    IdMismatch { envelope: u64, body: u64 },
}

#[derive(Debug, Clone, Deserialize)]
struct EsiBody {
    killmail_id: u64,
    killmail_time: String,
    solar_system_id: u32,
    victim: EsiVictim,
    attackers: Vec<EsiAttacker>,
}

#[derive(Debug, Clone, Deserialize)]
struct EsiVictim {
    character_id: Option<u64>,
    corporation_id: Option<u64>,
    alliance_id: Option<u64>,
    faction_id: Option<u64>,
    ship_type_id: u32,
}

#[derive(Debug, Clone, Deserialize)]
struct EsiAttacker {
    character_id: Option<u64>,
    corporation_id: Option<u64>,
    alliance_id: Option<u64>,
    faction_id: Option<u64>,
    ship_type_id: Option<u32>,
    #[serde(default)]
    final_blow: bool,
}

/// One pilot, NPC or structure on a killmail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub character_id: Option<u64>,
    pub corporation_id: Option<u64>,
    pub alliance_id: Option<u64>,
    pub faction_id: Option<u64>,
    pub ship_type_id: Option<u32>,
    pub final_blow: bool,
}

/// zKillboard's values for a killmail, when the feed supplied them.
#[derive(Debug, Clone, PartialEq)]
pub struct ZkbValues {
    pub total_value: Option<f64>,
    pub raw: Value,
}

/// A validated killmail: what ingestion stores, filters and announces.
#[derive(Debug, Clone)]
pub struct Killmail {
    pub id: u64,
    pub hash: String,
    pub time: DateTime<Utc>,
    pub solar_system_id: u32,
    pub victim: Participant,
    pub attackers: Vec<Participant>,
    /// The ESI body as received, forwarded untouched to enrichment.
    pub esi: Value,
    pub zkb: Option<ZkbValues>,
    pub source: Source,
    /// The R2Z2 sequence it came from.
    pub sequence: Option<i64>,
}

impl Killmail {
    /// Validate an ESI killmail body. `hash` comes from the feed (or, for the daily archives,
    /// the body's own `killmail_hash` key).
    pub fn from_esi(esi: Value, hash: Option<&str>, zkb: Option<Value>, source: Source) -> Result<Self, KillmailError> {
        let body: EsiBody = serde_json::from_value(esi.clone()).map_err(|e| KillmailError::Shape(e.to_string()))?;
        // The database keeps ids as bigint and integer: larger ones would not fit.
        if body.killmail_id == 0 || body.killmail_id > i64::MAX as u64 {
            return Err(KillmailError::Id);
        }
        if body.solar_system_id > i32::MAX as u32 {
            return Err(KillmailError::SystemId(body.solar_system_id));
        }
        let time = DateTime::parse_from_rfc3339(&body.killmail_time)
            .map_err(|_| KillmailError::Time(body.killmail_time.clone()))?
            .with_timezone(&Utc);
        if !(2003..=9999).contains(&time.year()) {
            return Err(KillmailError::TimeOutOfRange(time.to_rfc3339()));
        }
        if body.attackers.is_empty() {
            return Err(KillmailError::NoAttackers);
        }
        let hash = hash
            .map(str::to_string)
            .or_else(|| esi.get("killmail_hash").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        if hash.len() != 40 || !hash.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(KillmailError::Hash { id: body.killmail_id, hash });
        }
        let v = body.victim;
        Ok(Self {
            id: body.killmail_id,
            hash,
            time,
            solar_system_id: body.solar_system_id,
            victim: Participant {
                character_id: v.character_id,
                corporation_id: v.corporation_id,
                alliance_id: v.alliance_id,
                faction_id: v.faction_id,
                ship_type_id: Some(v.ship_type_id),
                final_blow: false,
            },
            attackers: body
                .attackers
                .into_iter()
                .map(|a| Participant {
                    character_id: a.character_id,
                    corporation_id: a.corporation_id,
                    alliance_id: a.alliance_id,
                    faction_id: a.faction_id,
                    ship_type_id: a.ship_type_id,
                    final_blow: a.final_blow,
                })
                .collect(),
            esi,
            zkb: zkb.map(|raw| ZkbValues { total_value: raw.get("totalValue").and_then(Value::as_f64), raw }),
            source,
            sequence: None,
        })
    }

    /// Parse one line of a daily archive (one ESI body per line, with `killmail_hash`).
    pub fn from_archive_line(line: &str) -> Result<Self, KillmailError> {
        let esi: Value = serde_json::from_str(line).map_err(|e| KillmailError::NotJson(e.to_string()))?;
        Self::from_esi(esi, None, None, Source::Backfill)
    }

    /// Victim pilot plus distinct attacker pilots. NPCs count for nothing: most have no
    /// character, and the ones that do (Triglavians, Drifters) have ids in the NPC range.
    pub fn pilot_count(&self) -> usize {
        let player = |c: &u64| !NPC_CHARACTER_IDS.contains(c);
        let attackers: BTreeSet<u64> = self.attackers.iter().filter_map(|a| a.character_id).filter(player).collect();
        let victim = self.victim.character_id.filter(|c| player(c) && !attackers.contains(c)).is_some();
        attackers.len() + usize::from(victim)
    }

    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        std::iter::once(&self.victim).chain(self.attackers.iter())
    }

    /// Where the kill happened, from the static data; `None` for a system it does not know.
    pub fn location(&self) -> Option<&'static eve_static::System> {
        eve_static::system(self.solar_system_id.into())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use eve_static::SecurityBand;
    use serde_json::json;

    pub(crate) fn sample() -> Value {
        json!({
            "attackers": [
                {"alliance_id": 1354830081, "character_id": 11, "corporation_id": 98000001, "damage_done": 300, "final_blow": true, "security_status": 0.0, "ship_type_id": 29990},
                {"character_id": 12, "corporation_id": 98000002, "damage_done": 100, "final_blow": false, "security_status": 0.0, "ship_type_id": 29990},
                {"character_id": 11, "corporation_id": 98000001, "damage_done": 1, "final_blow": false, "security_status": 0.0},
                {"corporation_id": 1000125, "faction_id": 500001, "damage_done": 5, "final_blow": false, "security_status": 0.0, "ship_type_id": 3740}
            ],
            "killmail_hash": "1656a079a32d83cee42ed32d26bd31ebf97aa8ab",
            "killmail_id": 97030352,
            "killmail_time": "2021-11-28T10:21:00Z",
            "solar_system_id": 30001046,
            "victim": {"alliance_id": 99005338, "character_id": 21, "corporation_id": 98000003, "damage_taken": 406, "ship_type_id": 670, "items": []}
        })
    }

    #[test]
    fn an_archive_line_parses_with_its_hash() {
        let km = Killmail::from_archive_line(&sample().to_string()).unwrap();
        assert_eq!(km.id, 97030352);
        assert_eq!(km.hash, "1656a079a32d83cee42ed32d26bd31ebf97aa8ab");
        assert_eq!(km.source, Source::Backfill);
        assert_eq!(km.attackers.len(), 4);
        assert_eq!(km.location().unwrap().band, SecurityBand::Nullsec);
    }

    #[test]
    fn pilots_are_the_victim_and_distinct_attacker_characters() {
        let km = Killmail::from_archive_line(&sample().to_string()).unwrap();
        assert_eq!(km.pilot_count(), 3, "characters 11 and 12 attack, 21 dies; the NPC does not count");
    }

    #[test]
    fn broken_bodies_name_what_is_wrong() {
        let err = |v: Value| Killmail::from_archive_line(&v.to_string()).unwrap_err().to_string();
        assert!(Killmail::from_archive_line("{nope").unwrap_err().to_string().starts_with("not JSON"));
        let mut v = sample();
        v["killmail_time"] = json!("yesterday");
        assert!(err(v).contains("killmail_time"));
        let mut v = sample();
        v["killmail_time"] = json!("0000-01-01T00:00:00Z");
        assert!(err(v).contains("2003 to 9999"));
        let mut v = sample();
        v["killmail_id"] = json!(u64::MAX);
        assert!(err(v).contains("killmail_id"));
        let mut v = sample();
        v["solar_system_id"] = json!(u32::MAX);
        assert!(err(v).contains("solar_system_id"));
        let mut v = sample();
        v["attackers"] = json!([]);
        assert!(err(v).contains("attackers"));
        let mut v = sample();
        v["killmail_hash"] = json!("XYZ");
        assert!(err(v).contains("hash"));
        let mut v = sample();
        v.as_object_mut().unwrap().remove("victim");
        assert!(err(v).contains("victim"));
    }

    #[test]
    fn zkb_total_value_is_read_when_supplied() {
        let km = Killmail::from_esi(sample(), None, Some(json!({"totalValue": 12.5e6, "hash": "x"})), Source::R2z2).unwrap();
        assert_eq!(km.zkb.unwrap().total_value, Some(12.5e6));
    }
}
