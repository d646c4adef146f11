//! The enriched killmail: the ESI body with names from ESI, places and ship types from the
//! static data, and zKillboard's values when the feed supplied them.

use crate::names::Names;
use chrono::{DateTime, Utc};
use contracts::killmail_enriched::{
    KillmailEnriched, KillmailEnrichedItems, KillmailEnrichedSolarSystem, KillmailEnrichedSolarSystemSecurityBand as Band,
    KillmailEnrichedSource, KillmailEnrichedValues, Participant,
};
use eve_static::SecurityBand;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// A killmail with everything enrichment knows about it.
#[derive(Debug, Clone)]
pub struct Enriched {
    /// The event payload (`data` of `killmail.enriched`).
    pub document: KillmailEnriched,
    /// Ids on the killmail that have no name yet.
    pub unresolved: BTreeSet<u64>,
}

/// The parts of an ESI killmail body enrichment reads.
#[derive(Deserialize)]
struct EsiKillmail {
    killmail_id: u64,
    killmail_time: DateTime<Utc>,
    solar_system_id: u64,
    victim: EsiParticipant,
    attackers: Vec<EsiParticipant>,
}

#[derive(Deserialize)]
struct EsiParticipant {
    character_id: Option<u64>,
    corporation_id: Option<u64>,
    alliance_id: Option<u64>,
    faction_id: Option<u64>,
    ship_type_id: Option<u64>,
    weapon_type_id: Option<u64>,
    damage_taken: Option<u64>,
    damage_done: Option<u64>,
    #[serde(default)]
    final_blow: bool,
    #[serde(default)]
    items: Vec<EsiItem>,
}

#[derive(Deserialize)]
struct EsiItem {
    quantity_destroyed: Option<u64>,
    quantity_dropped: Option<u64>,
}

/// Names the killmail needs; ids without one are noted in `unresolved`.
struct Namer<'a> {
    names: &'a Names,
    unresolved: BTreeSet<u64>,
}

impl Namer<'_> {
    fn name(&mut self, id: Option<u64>) -> Option<String> {
        let id = id?;
        let found = self.names.get(&id).map(|n| n.name.clone());
        if found.is_none() {
            self.unresolved.insert(id);
        }
        found
    }

    fn participant(&mut self, p: &EsiParticipant, victim: bool) -> Participant {
        let ship = p.ship_type_id.and_then(eve_static::item_type);
        let group = ship.and_then(|t| t.group());
        Participant {
            character_id: p.character_id,
            character_name: self.name(p.character_id),
            corporation_id: p.corporation_id,
            corporation_name: self.name(p.corporation_id),
            alliance_id: p.alliance_id,
            alliance_name: self.name(p.alliance_id),
            faction_id: p.faction_id,
            faction_name: self.name(p.faction_id),
            ship_type_id: p.ship_type_id,
            ship_type_name: ship.map(|t| t.name.to_string()),
            ship_group_id: ship.map(|t| t.group_id.into()),
            ship_group_name: group.map(|g| g.name.to_string()),
            ship_category_id: group.map(|g| g.category_id.into()),
            ship_category_name: ship.and_then(|t| t.category()).map(|c| c.name.to_string()),
            weapon_type_id: p.weapon_type_id,
            weapon_type_name: p.weapon_type_id.and_then(eve_static::item_type).map(|t| t.name.to_string()),
            damage: Some(if victim { p.damage_taken } else { p.damage_done }.unwrap_or(0)),
            final_blow: Some(!victim && p.final_blow),
        }
    }
}

/// Where the kill happened, from the static data; only the id and `unknown` for a system it
/// does not know.
fn solar_system(id: u64) -> KillmailEnrichedSolarSystem {
    let system = eve_static::system(id);
    KillmailEnrichedSolarSystem {
        id,
        name: system.map(|s| s.name.to_string()),
        constellation_id: system.map(|s| s.constellation_id.into()),
        region_id: system.map(|s| s.region_id.into()),
        region_name: system.and_then(|s| s.region()).map(|r| r.name.to_string()),
        security: system.map(|s| s.security),
        security_band: match eve_static::band(id) {
            SecurityBand::Highsec => Band::Highsec,
            SecurityBand::Lowsec => Band::Lowsec,
            SecurityBand::Nullsec => Band::Nullsec,
            SecurityBand::Wormhole => Band::Wormhole,
            SecurityBand::Pochven => Band::Pochven,
            SecurityBand::Abyssal => Band::Abyssal,
            SecurityBand::Unknown => Band::Unknown,
        },
    }
}

/// zKillboard's values, kept as supplied; `synthetic` when the feed said they were estimates.
fn values(zkb: Option<&Value>) -> Option<KillmailEnrichedValues> {
    let z = zkb?;
    let number = |k: &str| z.get(k).and_then(Value::as_f64);
    let flag = |k: &str| z.get(k).and_then(Value::as_bool);
    let has_values = ["totalValue", "fittedValue", "droppedValue", "destroyedValue"].iter().any(|k| z.get(*k).is_some());
    has_values.then(|| KillmailEnrichedValues {
        total_value: number("totalValue"),
        fitted_value: number("fittedValue"),
        dropped_value: number("droppedValue"),
        destroyed_value: number("destroyedValue"),
        npc: flag("npc"),
        solo: flag("solo"),
        awox: flag("awox"),
        synthetic: Some(flag("synthetic").unwrap_or(false)),
    })
}

/// Build the enriched killmail from an ESI body. `version` grows with each re-publication.
pub fn enrich(
    esi: &Value,
    hash: &str,
    source: KillmailEnrichedSource,
    zkb: Option<&Value>,
    names: &Names,
    version: u32,
) -> Result<Enriched, String> {
    let body = EsiKillmail::deserialize(esi).map_err(|e| format!("not an ESI killmail body: {e}"))?;
    let mut namer = Namer { names, unresolved: BTreeSet::new() };
    let victim = namer.participant(&body.victim, true);
    let attackers: Vec<Participant> = body.attackers.iter().map(|a| namer.participant(a, false)).collect();
    let items = &body.victim.items;
    let document = KillmailEnriched {
        killmail_id: body.killmail_id,
        killmail_hash: hash.to_string(),
        killmail_time: body.killmail_time,
        source: Some(source),
        version: Some(version.into()),
        solar_system: solar_system(body.solar_system_id),
        victim,
        attackers,
        items: Some(KillmailEnrichedItems {
            stacks: Some(items.len() as u64),
            destroyed: Some(items.iter().filter_map(|i| i.quantity_destroyed).sum()),
            dropped: Some(items.iter().filter_map(|i| i.quantity_dropped).sum()),
        }),
        values: values(zkb),
        unresolved_ids: namer.unresolved.iter().copied().collect(),
    };
    Ok(Enriched { document, unresolved: namer.unresolved })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Name;
    use serde_json::json;

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
        let e = enrich(&body(), "abc", KillmailEnrichedSource::R2z2, None, &names, 1).unwrap();
        let d = &serde_json::to_value(&e.document).unwrap();
        assert_eq!(d["solarSystem"]["securityBand"], "nullsec");
        assert_eq!(d["solarSystem"]["security"], -1.0);
        assert_eq!(d["victim"]["shipTypeName"], "Rifter");
        assert_eq!(d["victim"]["shipCategoryName"], "Ship");
        assert_eq!(d["victim"]["damage"], 900);
        assert_eq!(d["attackers"][0]["allianceName"], "Goonswarm Federation");
        assert_eq!(d["attackers"][0]["finalBlow"], true);
        assert_eq!(d["items"], json!({"stacks": 2, "destroyed": 2, "dropped": 5}));
        assert!(d.get("values").is_none(), "no zkb, no values");
        assert!(e.unresolved.contains(&838783020) && !e.unresolved.contains(&1354830081));
        assert_eq!(d["unresolvedIds"].as_array().unwrap().len(), e.unresolved.len());
    }

    #[test]
    fn values_are_kept_as_supplied_and_marked_when_synthetic() {
        let zkb = json!({"totalValue": 5.5e6, "hash": "x", "synthetic": true});
        let e = enrich(&body(), "abc", KillmailEnrichedSource::R2z2, Some(&zkb), &Names::new(), 1).unwrap();
        let values = e.document.values.unwrap();
        assert_eq!((values.total_value, values.synthetic), (Some(5.5e6), Some(true)));
        assert_eq!(values.npc, None, "never invented");
        let hash_only = json!({"hash": "x"});
        assert!(enrich(&body(), "abc", KillmailEnrichedSource::Redisq, Some(&hash_only), &Names::new(), 1)
            .unwrap()
            .document
            .values
            .is_none());
    }

    #[test]
    fn a_broken_body_says_what_is_missing() {
        let mut b = body();
        b.as_object_mut().unwrap().remove("victim");
        assert!(enrich(&b, "abc", KillmailEnrichedSource::R2z2, None, &Names::new(), 1).unwrap_err().contains("victim"));
    }
}
