//! What each event becomes in the index. A battle event is its battle's document (newer
//! versions replace older ones; a removed battle becomes a tombstone that every query leaves
//! out, so a late older event cannot bring it back). A killmail is its own document and
//! names a set of entities (the pilots, corporations, alliances, ship types, system and
//! region on it), whose activity is the number of killmails they appear on.

use contracts::battle_created::BattleCreated;
use contracts::battle_removed::BattleRemoved;
use contracts::killmail_enriched::KillmailEnriched;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// A value's JSON text without quotes (an enum's wire name).
fn wire_name(value: &impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// Names and ids, each once, in first-seen order.
fn unique<T: PartialEq>(items: impl IntoIterator<Item = T>) -> Vec<T> {
    let mut out = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The document of a battle, from any of its created/updated/ended events.
pub fn battle(b: &BattleCreated) -> Value {
    let sides = &b.sides;
    let alliances = || sides.iter().flat_map(|s| &s.alliances);
    let corporations = || sides.iter().flat_map(|s| &s.corporations);
    let mut doc = json!({
        "id": b.battle_id.to_string(),
        "version": b.version,
        "removed": false,
        "status": wire_name(&b.status),
        "start_time": b.start_time.timestamp(),
        "end_time": b.end_time.timestamp(),
        "kills": b.kills,
        "pilots": b.pilots,
        "isk_destroyed": b.isk_destroyed.unwrap_or(0.0),
        "systems": unique(b.systems.iter().filter_map(|s| s.name.clone())),
        "system_ids": unique(b.systems.iter().map(|s| s.id)),
        "regions": unique(b.regions.iter().filter_map(|r| r.name.clone())),
        "region_ids": unique(b.regions.iter().map(|r| r.id)),
        "security_bands": unique(b.systems.iter().map(|s| wire_name(&s.security_band))),
        "alliances": unique(alliances().filter_map(|a| a.name.clone())),
        "alliance_ids": unique(alliances().map(|a| a.id)),
        "corporations": unique(corporations().filter_map(|c| c.name.clone())),
        "corporation_ids": unique(corporations().map(|c| c.id)),
    });
    if let Some(title) = &b.title {
        doc["title"] = json!(title);
    }
    doc
}

/// The tombstone of a removed battle: it keeps the id and version, so an older event that
/// arrives late does not bring the battle back, and queries leave it out.
pub fn removed_battle(r: &BattleRemoved) -> Value {
    let empty: [u64; 0] = [];
    json!({
        "id": r.battle_id.to_string(), "version": r.version, "removed": true, "status": "removed",
        "start_time": 0, "end_time": 0, "kills": 0, "pilots": 0, "isk_destroyed": 0.0,
        "systems": empty, "system_ids": empty, "regions": empty, "region_ids": empty, "security_bands": empty,
        "alliances": empty, "alliance_ids": empty, "corporations": empty, "corporation_ids": empty,
    })
}

/// Whether a stored document of version `stored` may be replaced by one of version `incoming`.
pub fn supersedes(incoming: u64, stored: Option<&Value>) -> bool {
    match stored.and_then(|d| d["version"].as_u64()) {
        Some(v) => incoming > v,
        None => true,
    }
}

fn put(doc: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        doc.insert(key.to_string(), v.into());
    }
}

/// The document of a killmail.
pub fn killmail(k: &KillmailEnriched) -> Value {
    let s = &k.solar_system;
    let v = &k.victim;
    // Alliances on the attacking side only: the victim's own (awoxing) is not "against" it.
    let attacker_alliances: Vec<(u64, Option<String>)> = unique(
        k.attackers
            .iter()
            .filter_map(|a| Some((a.alliance_id?, a.alliance_name.clone())))
            .filter(|(id, _)| Some(*id) != v.alliance_id),
    );
    let mut doc = Map::new();
    doc.insert("id".into(), json!(k.killmail_id.to_string()));
    doc.insert("killmail_id".into(), json!(k.killmail_id));
    doc.insert("version".into(), json!(k.version.unwrap_or(0)));
    doc.insert("time".into(), json!(k.killmail_time.timestamp()));
    put(&mut doc, "system", s.name.clone());
    doc.insert("system_id".into(), json!(s.id));
    put(&mut doc, "region", s.region_name.clone());
    doc.insert("security_band".into(), json!(wire_name(&s.security_band)));
    put(&mut doc, "victim", v.character_name.clone());
    put(&mut doc, "victim_corporation", v.corporation_name.clone());
    put(&mut doc, "victim_alliance", v.alliance_name.clone());
    put(&mut doc, "victim_alliance_id", v.alliance_id);
    put(&mut doc, "ship", v.ship_type_name.clone());
    put(&mut doc, "ship_type_id", v.ship_type_id);
    put(&mut doc, "ship_group", v.ship_group_name.clone());
    doc.insert("attacker_alliances".into(), json!(unique(attacker_alliances.iter().filter_map(|(_, name)| name.clone()))));
    doc.insert("attacker_alliance_ids".into(), json!(attacker_alliances.iter().map(|(id, _)| *id).collect::<Vec<_>>()));
    doc.insert("attackers".into(), json!(k.attackers.len()));
    doc.insert("value".into(), json!(k.values.as_ref().and_then(|x| x.total_value).unwrap_or(0.0)));
    Value::Object(doc)
}

/// Something people search for by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// `type` letter + id (`a1354830081`): the document id, unique across types.
    pub key: String,
    pub kind: &'static str,
    pub id: u64,
    pub name: String,
}

/// The entity types, their key letters, and what a user calls them in `type=`.
pub const ENTITY_TYPES: [(&str, char); 6] =
    [("alliance", 'a'), ("corporation", 'c'), ("character", 'p'), ("system", 's'), ("region", 'r'), ("ship", 't')];

fn entity(kind: &'static str, id: Option<u64>, name: &Option<String>) -> Option<Entity> {
    let letter = ENTITY_TYPES.iter().find(|(k, _)| *k == kind)?.1;
    let (id, name) = (id?, name.clone().filter(|n| !n.trim().is_empty())?);
    Some(Entity { key: format!("{letter}{id}"), kind, id, name })
}

/// The named entities on a killmail, each once.
pub fn entities(k: &KillmailEnriched) -> Vec<Entity> {
    let s = &k.solar_system;
    let mut found: BTreeMap<String, Entity> = BTreeMap::new();
    let people = std::iter::once(&k.victim).chain(&k.attackers);
    let candidates = people
        .flat_map(|p| {
            [
                entity("character", p.character_id, &p.character_name),
                entity("corporation", p.corporation_id, &p.corporation_name),
                entity("alliance", p.alliance_id, &p.alliance_name),
                entity("ship", p.ship_type_id, &p.ship_type_name),
            ]
        })
        .chain([entity("system", Some(s.id), &s.name), entity("region", s.region_id, &s.region_name)]);
    for e in candidates.flatten() {
        found.entry(e.key.clone()).or_insert(e);
    }
    found.into_values().collect()
}

/// An entity's activity once a killmail naming it is indexed, from what was stored (`None`: the
/// entity is new). A killmail counts on its first version only; a later version (names resolved
/// since) renames without counting again.
pub fn activity_after(stored: Option<u64>, killmail_first_time: bool) -> u64 {
    let known = stored.unwrap_or(0);
    if killmail_first_time {
        known + 1
    } else {
        known.max(1)
    }
}

/// An entity's document with its activity.
pub fn entity_document(e: &Entity, activity: u64) -> Value {
    json!({ "id": e.key, "key": e.key, "type": e.kind, "entity_id": e.id, "name": e.name, "activity": activity })
}

#[cfg(test)]
mod tests {
    use super::*;
    use contracts::Envelope;

    fn enriched() -> KillmailEnriched {
        let person = |c: u64, alliance: u64| json!({"characterId": c, "characterName": format!("pilot {c}"), "corporationId": 98000001, "corporationName": "Corp", "allianceId": alliance, "allianceName": format!("alliance {alliance}"), "shipTypeId": 587, "shipTypeName": "Rifter", "shipGroupName": "Frigate", "finalBlow": c == 2});
        let k = json!({"killmailId": 7, "killmailHash": "h", "killmailTime": "2021-11-28T10:21:00Z", "version": 2,
                       "solarSystem": {"id": 30001046, "name": "Jorund", "regionId": 10000012, "regionName": "Curse", "securityBand": "nullsec"},
                       "victim": person(1, 99005338), "attackers": [person(2, 1354830081), person(3, 1354830081)],
                       "values": {"totalValue": 1.5e9}});
        let envelope = json!({"eventId": "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", "eventType": "killmail.enriched", "timestamp": "2026-11-29T12:00:00Z", "data": k});
        Envelope::<KillmailEnriched>::parse(envelope.to_string().as_bytes()).unwrap().data
    }

    #[test]
    fn a_killmail_document_names_its_victim_ship_place_and_attacking_alliances() {
        let d = killmail(&enriched());
        assert_eq!((d["id"].as_str(), d["version"].as_u64(), d["time"].as_i64()), (Some("7"), Some(2), Some(1638094860)));
        assert_eq!(
            (d["victim"].as_str(), d["ship"].as_str(), d["system"].as_str()),
            (Some("pilot 1"), Some("Rifter"), Some("Jorund"))
        );
        assert_eq!(d["attacker_alliances"], json!(["alliance 1354830081"]));
        assert_eq!((d["security_band"].as_str(), d["value"].as_f64()), (Some("nullsec"), Some(1.5e9)));
    }

    #[test]
    fn entities_are_each_named_thing_once() {
        let keys: Vec<String> = entities(&enriched()).into_iter().map(|e| e.key).collect();
        assert_eq!(keys, ["a1354830081", "a99005338", "c98000001", "p1", "p2", "p3", "r10000012", "s30001046", "t587"]);
        let doc = entity_document(&entities(&enriched())[0], 4);
        assert_eq!(
            doc,
            json!({"id": "a1354830081", "key": "a1354830081", "type": "alliance", "entity_id": 1354830081u64, "name": "alliance 1354830081", "activity": 4})
        );
    }

    #[test]
    fn only_newer_versions_replace_older_ones() {
        let stored = json!({"version": 3});
        assert!(!supersedes(3, Some(&stored)) && !supersedes(2, Some(&stored)));
        assert!(supersedes(4, Some(&stored)) && supersedes(1, None));
    }
}
