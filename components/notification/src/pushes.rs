//! What is pushed for each event: the channels it goes to, its type, the key by which a newer
//! push may replace an older one in a slow client's queue, and its `data` (with names).

use crate::channels::Channels;
use contracts::battle_created::BattleCreated;
use contracts::battle_ended::BattleEnded;
use contracts::battle_removed::BattleRemoved;
use contracts::battle_updated::BattleUpdated;
use contracts::killmail_enriched::{KillmailEnriched, Participant};
use contracts::{ContractError, Envelope, Event};
use serde::Serialize;

/// One push.
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// The event's `eventId`: a redelivered event is pushed once.
    pub event_id: String,
    pub channels: Vec<String>,
    pub kind: String,
    pub key: Option<String>,
    pub data: String,
}

/// Why an event cannot be pushed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}")]
    Malformed(#[from] ContractError),
    #[error("not an event this service pushes: {0}")]
    Unknown(String),
}

fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("an event payload serialises")
}

/// A battle's summary to the battle, its alliances, corporations, systems and regions.
fn battle(event_id: String, kind: &str, b: &BattleCreated) -> Push {
    let mut c = Channels::new();
    c.add("battle", b.battle_id);
    for side in &b.sides {
        c.add_all("alliance", side.alliances.iter().map(|a| a.id));
        c.add_all("corporation", side.corporations.iter().map(|x| x.id));
    }
    c.add_all("system", b.systems.iter().map(|s| s.id));
    c.add_all("region", b.regions.iter().map(|r| r.id));
    Push { event_id, channels: c.into_vec(), kind: kind.to_string(), key: Some(b.battle_id.to_string()), data: json(b) }
}

/// A named thing.
#[derive(Debug, Serialize)]
struct Named<'a> {
    id: u64,
    name: Option<&'a str>,
}

fn named(id: Option<u64>, name: &Option<String>) -> Option<Named<'_>> {
    Some(Named { id: id?, name: name.as_deref() })
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Pilot<'a> {
    character: Option<Named<'a>>,
    corporation: Option<Named<'a>>,
    alliance: Option<Named<'a>>,
    ship: Option<Named<'a>>,
}

fn pilot(p: &Participant) -> Pilot<'_> {
    Pilot {
        character: named(p.character_id, &p.character_name),
        corporation: named(p.corporation_id, &p.corporation_name),
        alliance: named(p.alliance_id, &p.alliance_name),
        ship: named(p.ship_type_id, &p.ship_type_name),
    }
}

/// A killmail as the live feed shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Kill<'a> {
    killmail_id: u64,
    killmail_time: String,
    system: Named<'a>,
    region: Option<Named<'a>>,
    security_band: String,
    victim: Pilot<'a>,
    final_blow: Option<Pilot<'a>>,
    attackers: usize,
    total_value: Option<f64>,
}

fn killmail(event_id: String, k: &KillmailEnriched) -> Push {
    let s = &k.solar_system;
    let mut c = Channels::new();
    c.add("system", s.id);
    if let Some(r) = s.region_id {
        c.add("region", r);
    }
    for p in std::iter::once(&k.victim).chain(&k.attackers) {
        c.add_all("character", p.character_id);
        c.add_all("corporation", p.corporation_id);
        c.add_all("alliance", p.alliance_id);
    }
    let data = Kill {
        killmail_id: k.killmail_id,
        killmail_time: k.killmail_time.to_rfc3339(),
        system: Named { id: s.id, name: s.name.as_deref() },
        region: named(s.region_id, &s.region_name),
        security_band: s.security_band.to_string(),
        victim: pilot(&k.victim),
        final_blow: k.attackers.iter().find(|a| a.final_blow == Some(true)).map(pilot),
        attackers: k.attackers.len(),
        total_value: k.values.as_ref().and_then(|v| v.total_value),
    };
    Push { event_id, channels: c.into_vec(), kind: "killmail".into(), key: None, data: json(&data) }
}

/// An envelope of type `D`, read once: its id and payload.
fn read<D: Event>(payload: &[u8]) -> Result<(String, D), PushError> {
    let envelope = Envelope::<D>::parse(payload)?;
    Ok((envelope.event_id.to_string(), envelope.data))
}

/// The push for an event envelope (by its `eventType`).
pub fn push(payload: &[u8]) -> Result<Push, PushError> {
    Ok(match contracts::event_type(payload)?.as_str() {
        "battle.created" => {
            let (id, b) = read::<BattleCreated>(payload)?;
            battle(id, "battle.created", &b)
        }
        "battle.updated" => {
            let (id, b) = read::<BattleUpdated>(payload)?;
            battle(id, "battle.updated", &b.0)
        }
        "battle.ended" => {
            let (id, b) = read::<BattleEnded>(payload)?;
            battle(id, "battle.ended", &b.0)
        }
        "battle.removed" => {
            let (event_id, r) = read::<BattleRemoved>(payload)?;
            let mut c = Channels::new();
            c.add("battle", r.battle_id);
            let (kind, key) = ("battle.removed".into(), Some(r.battle_id.to_string()));
            Push { event_id, channels: c.into_vec(), kind, key, data: json(&r) }
        }
        "killmail.enriched" => {
            let (id, k) = read::<KillmailEnriched>(payload)?;
            killmail(id, &k)
        }
        other => return Err(PushError::Unknown(other.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(kind: &str, data: serde_json::Value) -> Vec<u8> {
        json!({"eventId": "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", "eventType": kind, "timestamp": "2026-11-29T12:00:00Z", "data": data})
            .to_string()
            .into_bytes()
    }

    fn summary() -> serde_json::Value {
        json!({"battleId": "00000000-0000-4000-8000-000005c7f330", "version": 3, "status": "open",
               "startTime": "2021-11-28T10:19:00Z", "endTime": "2021-11-28T15:04:00Z",
               "systems": [{"id": 30001046, "name": "Jorund", "regionId": 10000012, "securityBand": "nullsec"}],
               "regions": [{"id": 10000012, "name": "Curse"}], "kills": 1124, "iskDestroyed": null, "pilots": 1597,
               "sides": [{"side": 0, "alliances": [{"id": 1354830081, "name": "Goonswarm Federation", "ticker": null}],
                          "corporations": [{"id": 98000001, "name": null, "ticker": null}], "kills": 758, "losses": 333,
                          "iskDestroyed": null, "iskLost": null, "pilots": 730}],
               "manual": false, "title": null})
    }

    #[test]
    fn battles_go_to_their_battle_alliances_corporations_and_places() {
        let p = push(&envelope("battle.updated", summary())).unwrap();
        assert_eq!(
            p.channels,
            [
                "all:*",
                "alliance:1354830081",
                "battle:00000000-0000-4000-8000-000005c7f330",
                "corporation:98000001",
                "region:10000012",
                "system:30001046"
            ]
        );
        assert_eq!((p.kind.as_str(), p.key.as_deref()), ("battle.updated", Some("00000000-0000-4000-8000-000005c7f330")));
        assert_eq!(p.event_id, "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", "redeliveries are recognised by it");
        let data: serde_json::Value = serde_json::from_str(&p.data).unwrap();
        assert_eq!(data["sides"][0]["alliances"][0]["name"], "Goonswarm Federation", "names included");
    }

    #[test]
    fn killmails_go_to_everyone_on_them() {
        let person = |c: u64| json!({"characterId": c, "characterName": format!("pilot {c}"), "corporationId": 98000001, "allianceId": 1354830081, "shipTypeId": 587, "shipTypeName": "Rifter", "finalBlow": c == 2});
        let k = json!({"killmailId": 7, "killmailHash": "h", "killmailTime": "2021-11-28T10:21:00Z",
                       "solarSystem": {"id": 30001046, "name": "Jorund", "regionId": 10000012, "regionName": "Curse", "securityBand": "nullsec"},
                       "victim": person(1), "attackers": [person(2), person(3)]});
        let p = push(&envelope("killmail.enriched", k)).unwrap();
        assert!(p.channels.contains(&"character:3".to_string()) && p.channels.contains(&"region:10000012".to_string()));
        let data: serde_json::Value = serde_json::from_str(&p.data).unwrap();
        assert_eq!(data["finalBlow"]["character"]["name"], "pilot 2");
        assert_eq!(data["victim"]["ship"]["name"], "Rifter");
        assert_eq!(data["system"]["name"], "Jorund");
    }

    #[test]
    fn other_events_are_refused_with_the_reason() {
        assert!(matches!(push(&envelope("killmail.ingested", json!({}))), Err(PushError::Unknown(_))));
        assert!(matches!(push(b"{"), Err(PushError::Malformed(_))));
        assert!(push(&envelope("battle.created", json!({"battleId": "x"}))).unwrap_err().to_string().contains("battle.created"));
    }
}
