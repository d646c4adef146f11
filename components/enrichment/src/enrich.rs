//! The enriched killmail: the ESI body with names from ESI, places and ship types from the
//! static data, and zKillboard's values when the feed supplied them.

use crate::names::Names;
use crate::sde;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// A killmail with everything enrichment knows about it.
#[derive(Debug, Clone)]
pub struct Enriched {
    pub killmail_id: u64,
    pub time: DateTime<Utc>,
    pub system: sde::SolarSystem,
    /// The event payload (`data` of `killmail.enriched`).
    pub document: Value,
    /// Ids on the killmail that have no name yet.
    pub unresolved: BTreeSet<u64>,
}

fn name_of(names: &Names, id: Option<u64>, unresolved: &mut BTreeSet<u64>) -> Value {
    match id {
        Some(id) => match names.get(&id) {
            Some(n) => json!(n.name),
            None => {
                unresolved.insert(id);
                Value::Null
            }
        },
        None => Value::Null,
    }
}

fn participant(p: &Value, names: &Names, unresolved: &mut BTreeSet<u64>, victim: bool) -> Value {
    let id = |key: &str| p.get(key).and_then(Value::as_u64);
    let ship = id("ship_type_id").and_then(sde::item_type);
    let weapon = id("weapon_type_id").and_then(sde::item_type);
    json!({
        "characterId": id("character_id"),
        "characterName": name_of(names, id("character_id"), unresolved),
        "corporationId": id("corporation_id"),
        "corporationName": name_of(names, id("corporation_id"), unresolved),
        "allianceId": id("alliance_id"),
        "allianceName": name_of(names, id("alliance_id"), unresolved),
        "factionId": id("faction_id"),
        "factionName": name_of(names, id("faction_id"), unresolved),
        "shipTypeId": id("ship_type_id"),
        "shipTypeName": ship.as_ref().map(|t| t.name.clone()),
        "shipGroupId": ship.as_ref().map(|t| t.group_id),
        "shipGroupName": ship.as_ref().and_then(|t| t.group_name.clone()),
        "shipCategoryId": ship.as_ref().and_then(|t| t.category_id),
        "shipCategoryName": ship.as_ref().and_then(|t| t.category_name.clone()),
        "weaponTypeId": id("weapon_type_id"),
        "weaponTypeName": weapon.map(|t| t.name),
        "damage": if victim { p.get("damage_taken") } else { p.get("damage_done") }.and_then(Value::as_u64).unwrap_or(0),
        "finalBlow": !victim && p.get("final_blow").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// zKillboard's values, kept as supplied; `synthetic` when the feed said they were estimates.
fn values(zkb: Option<&Value>) -> Value {
    let Some(z) = zkb else { return Value::Null };
    let has_values = ["totalValue", "fittedValue", "droppedValue", "destroyedValue"].iter().any(|k| z.get(*k).is_some());
    if !has_values {
        return Value::Null;
    }
    json!({
        "totalValue": z.get("totalValue").and_then(Value::as_f64),
        "fittedValue": z.get("fittedValue").and_then(Value::as_f64),
        "droppedValue": z.get("droppedValue").and_then(Value::as_f64),
        "destroyedValue": z.get("destroyedValue").and_then(Value::as_f64),
        "npc": z.get("npc").and_then(Value::as_bool),
        "solo": z.get("solo").and_then(Value::as_bool),
        "awox": z.get("awox").and_then(Value::as_bool),
        "synthetic": z.get("synthetic").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// Build the enriched killmail from an ESI body. `version` grows with each re-publication.
pub fn enrich(esi: &Value, hash: &str, source: &str, zkb: Option<&Value>, names: &Names, version: u32) -> Result<Enriched, String> {
    let killmail_id = esi.get("killmail_id").and_then(Value::as_u64).ok_or("the ESI body has no killmail_id")?;
    let time_text = esi.get("killmail_time").and_then(Value::as_str).ok_or("the ESI body has no killmail_time")?;
    let time = DateTime::parse_from_rfc3339(time_text)
        .map_err(|_| format!("killmail_time {time_text:?} is not RFC 3339"))?
        .with_timezone(&Utc);
    let system_id = esi.get("solar_system_id").and_then(Value::as_u64).ok_or("the ESI body has no solar_system_id")?;
    let victim = esi.get("victim").filter(|v| v.is_object()).ok_or("the ESI body has no victim")?;
    let attackers = esi.get("attackers").and_then(Value::as_array).ok_or("the ESI body has no attackers")?;
    let system = sde::solar_system(system_id);
    let mut unresolved = BTreeSet::new();
    let victim_doc = participant(victim, names, &mut unresolved, true);
    let attacker_docs: Vec<Value> = attackers.iter().map(|a| participant(a, names, &mut unresolved, false)).collect();
    let (mut stacks, mut destroyed, mut dropped) = (0u64, 0u64, 0u64);
    for item in victim.get("items").and_then(Value::as_array).into_iter().flatten() {
        stacks += 1;
        destroyed += item.get("quantity_destroyed").and_then(Value::as_u64).unwrap_or(0);
        dropped += item.get("quantity_dropped").and_then(Value::as_u64).unwrap_or(0);
    }
    let document = json!({
        "killmailId": killmail_id,
        "killmailHash": hash,
        "killmailTime": time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "source": source,
        "version": version,
        "solarSystem": system,
        "victim": victim_doc,
        "attackers": attacker_docs,
        "items": {"stacks": stacks, "destroyed": destroyed, "dropped": dropped},
        "values": values(zkb),
        "unresolvedIds": unresolved.iter().collect::<Vec<_>>(),
    });
    Ok(Enriched { killmail_id, time, system, document, unresolved })
}

/// The `killmail.enriched` envelope.
pub fn event(enriched: &Enriched, event_id: &str, now: DateTime<Utc>) -> Value {
    json!({
        "eventId": event_id,
        "eventType": "killmail.enriched",
        "timestamp": now.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": enriched.document,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Name;

    fn body() -> Value {
        json!({
            "killmail_id": 97033185, "killmail_time": "2021-11-30T02:00:00Z", "solar_system_id": 30004764,
            "victim": {"character_id": 838783020, "corporation_id": 98594528, "alliance_id": 99010623, "ship_type_id": 587,
                       "damage_taken": 900, "items": [{"item_type_id": 3, "quantity_destroyed": 2}, {"item_type_id": 4, "quantity_dropped": 5}]},
            "attackers": [{"character_id": 96268143, "corporation_id": 98370861, "alliance_id": 1354830081, "ship_type_id": 587,
                           "weapon_type_id": 587, "damage_done": 900, "final_blow": true},
                          {"corporation_id": 1000134, "faction_id": 500001, "damage_done": 0, "final_blow": false}]
        })
    }

    #[test]
    fn names_places_and_ships_are_filled_in() {
        let mut names = Names::new();
        names.insert(1354830081, Name { name: "Goonswarm Federation".into(), category: "alliance".into() });
        let e = enrich(&body(), "abc", "r2z2", None, &names, 1).unwrap();
        let d = &e.document;
        assert_eq!(d["solarSystem"]["securityBand"], "nullsec");
        assert_eq!(d["solarSystem"]["security"], -1.0);
        assert_eq!(d["victim"]["shipTypeName"], "Rifter");
        assert_eq!(d["victim"]["shipCategoryName"], "Ship");
        assert_eq!(d["victim"]["damage"], 900);
        assert_eq!(d["attackers"][0]["allianceName"], "Goonswarm Federation");
        assert_eq!(d["attackers"][0]["finalBlow"], true);
        assert_eq!(d["items"], json!({"stacks": 2, "destroyed": 2, "dropped": 5}));
        assert!(d["values"].is_null(), "no zkb, no values");
        assert!(e.unresolved.contains(&838783020) && !e.unresolved.contains(&1354830081));
        assert_eq!(d["unresolvedIds"].as_array().unwrap().len(), e.unresolved.len());
    }

    #[test]
    fn values_are_kept_as_supplied_and_marked_when_synthetic() {
        let zkb = json!({"totalValue": 5.5e6, "hash": "x", "synthetic": true});
        let e = enrich(&body(), "abc", "r2z2", Some(&zkb), &Names::new(), 1).unwrap();
        assert_eq!(e.document["values"]["totalValue"], 5.5e6);
        assert_eq!(e.document["values"]["synthetic"], true);
        assert!(e.document["values"]["npc"].is_null(), "never invented");
        let hash_only = json!({"hash": "x"});
        assert!(enrich(&body(), "abc", "redisq", Some(&hash_only), &Names::new(), 1).unwrap().document["values"].is_null());
    }

    #[test]
    fn a_broken_body_says_what_is_missing() {
        let mut b = body();
        b.as_object_mut().unwrap().remove("victim");
        assert!(enrich(&b, "abc", "r2z2", None, &Names::new(), 1).unwrap_err().contains("victim"));
    }
}
