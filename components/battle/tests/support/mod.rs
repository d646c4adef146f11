//! Recorded days as the battle service receives them: each ESI killmail of
//! `data/killmails/` turned into the `killmail.enriched` payload enrichment would publish
//! (alliance and corporation names from the recorded names, places and ships from the static
//! data), then read the way the component reads it.

#![allow(dead_code)] // Each test file uses its own part.

use battle::enriched::{from_event, Enriched};
use contracts::killmail_enriched::{
    KillmailEnriched, KillmailEnrichedSolarSystem, KillmailEnrichedSolarSystemSecurityBand, Participant,
};
use serde_json::Value;
use std::collections::HashMap;
use std::io::BufRead;
use std::sync::OnceLock;

/// Every killmail of a recorded day, as ESI gave it.
pub fn day(date: &str) -> Vec<Value> {
    let path = format!("{}/../../data/killmails/killmails-{date}.jsonl.gz", env!("CARGO_MANIFEST_DIR"));
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    std::io::BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect()
}

/// Recorded alliance and corporation names, by id.
fn recorded_names() -> &'static HashMap<u64, String> {
    static NAMES: OnceLock<HashMap<u64, String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut out = HashMap::new();
        for file in ["alliances", "corporations"] {
            let path = format!("{}/../../data/names/{file}.json", env!("CARGO_MANIFEST_DIR"));
            let entries: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            out.extend(entries.iter().map(|e| (e["id"].as_u64().unwrap(), e["name"].as_str().unwrap().to_string())));
        }
        out
    })
}

fn band(system: u64) -> KillmailEnrichedSolarSystemSecurityBand {
    serde_json::from_value(serde_json::to_value(eve_static::band(system)).unwrap()).unwrap()
}

fn participant(p: &Value) -> Participant {
    let id = |k: &str| p[k].as_u64();
    let named = |k: &str| id(k).and_then(|i| recorded_names().get(&i).cloned());
    let ship = id("ship_type_id").and_then(eve_static::item_type);
    Participant {
        character_id: id("character_id"),
        character_name: None,
        corporation_id: id("corporation_id"),
        corporation_name: named("corporation_id"),
        alliance_id: id("alliance_id"),
        alliance_name: named("alliance_id"),
        faction_id: id("faction_id"),
        faction_name: None,
        ship_type_id: id("ship_type_id"),
        ship_type_name: ship.map(|t| t.name.to_string()),
        ship_group_id: ship.map(|t| t.group_id.into()),
        ship_group_name: None,
        ship_category_id: None,
        ship_category_name: None,
        weapon_type_id: None,
        weapon_type_name: None,
        damage: None,
        final_blow: None,
    }
}

/// The `killmail.enriched` payload of an ESI killmail (version 1).
pub fn enriched_payload(km: &Value) -> KillmailEnriched {
    let system_id = km["solar_system_id"].as_u64().unwrap();
    let system = eve_static::system(system_id);
    KillmailEnriched {
        killmail_id: km["killmail_id"].as_u64().unwrap(),
        killmail_hash: km["killmail_hash"].as_str().unwrap_or_default().to_string(),
        killmail_time: km["killmail_time"].as_str().unwrap().parse().unwrap(),
        solar_system: KillmailEnrichedSolarSystem {
            id: system_id,
            name: system.map(|s| s.name.to_string()),
            constellation_id: system.map(|s| s.constellation_id.into()),
            region_id: system.map(|s| s.region_id.into()),
            region_name: system.and_then(|s| s.region()).map(|r| r.name.to_string()),
            security: system.map(|s| s.security),
            security_band: band(system_id),
        },
        victim: participant(&km["victim"]),
        attackers: km["attackers"].as_array().unwrap().iter().map(participant).collect(),
        values: None,
        unresolved_ids: Vec::new(),
        version: Some(1),
        items: None,
        source: None,
    }
}

/// What the battle service makes of an ESI killmail.
pub fn enriched(km: &Value) -> Enriched {
    from_event(&enriched_payload(km))
}

/// A reproducible shuffle (xorshift).
pub fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}
