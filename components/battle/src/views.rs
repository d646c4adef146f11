//! What the API answers, built from stored rows and names: a battle with its statistics and
//! pilots, and its killmails. Names come from `killmail.enriched` (kept by id); a name not
//! known yet is null with the id beside it, never invented.

use crate::engine::BattleSummary;
use crate::stats::{KillDetail, Participant};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Names by id.
pub type Names = BTreeMap<u64, String>;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedId {
    pub id: u64,
    pub name: Option<String>,
}

fn named(names: &Names, id: u64) -> NamedId {
    NamedId { id, name: names.get(&id).cloned() }
}

/// A pilot of the battle, the side their group fought on and the ships they flew.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PilotView {
    pub character_id: u64,
    pub character_name: Option<String>,
    pub corporation_id: Option<u64>,
    pub corporation_name: Option<String>,
    pub alliance_id: Option<u64>,
    pub alliance_name: Option<String>,
    pub side: Option<usize>,
    pub ships: Vec<NamedId>,
}

/// A stored participant row: character, corporation, alliance, side, ships.
pub type PilotRow = (u64, Option<u64>, Option<u64>, Option<usize>, Vec<u64>);

pub fn pilot(names: &Names, (character, corporation, alliance, side, ships): &PilotRow) -> PilotView {
    let name = |id: &Option<u64>| id.and_then(|i| names.get(&i).cloned());
    PilotView {
        character_id: *character,
        character_name: names.get(character).cloned(),
        corporation_id: *corporation,
        corporation_name: name(corporation),
        alliance_id: *alliance,
        alliance_name: name(alliance),
        side: *side,
        ships: ships.iter().map(|s| named(names, *s)).collect(),
    }
}

/// Ids a set of pilots names.
pub fn pilot_ids(rows: &[PilotRow]) -> BTreeSet<u64> {
    rows.iter()
        .flat_map(|(c, corp, al, _, ships)| [Some(*c), *corp, *al].into_iter().flatten().chain(ships.iter().copied()))
        .collect()
}

/// One battle as `GET /api/battles/{id}` shows it: the summary, statistics per side (side -1:
/// the battle as a whole, with its timeline), the pilots, `names` for the ids the statistics
/// use as keys (units, ship types) and `groupNames` for their ship groups (from the static
/// data: ESI's names endpoint knows no groups, and group ids overlap type ids).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BattleView {
    #[serde(flatten)]
    pub summary: BattleSummary,
    pub statistics: Vec<serde_json::Value>,
    pub participants: Vec<PilotView>,
    pub names: BTreeMap<String, String>,
    pub group_names: BTreeMap<String, String>,
    /// An operator's corrections of the sides (already applied to them).
    pub side_moves: Vec<crate::moves::SideMove>,
}

/// Statistics as stored and shown: side -1 the whole battle (with its timeline), then each side.
pub fn statistics_entries(stats: &crate::stats::BattleStats) -> Vec<serde_json::Value> {
    let mut entries = vec![serde_json::json!({"side": -1, "statistics": {
        "kills": stats.kills, "durationSecs": stats.duration_secs, "pilots": stats.pilots,
        "corporations": stats.corporations, "alliances": stats.alliances, "iskDestroyed": stats.isk_destroyed,
        "systems": stats.systems, "timeline": stats.timeline }})];
    entries.extend(stats.sides.iter().map(|side| serde_json::json!({"side": side.side, "statistics": side})));
    entries
}

const GROUP_KEYS: [&str; 2] = ["groupsFielded", "groupsLost"];

/// The keys of the `maps` of each statistics entry, as ids.
fn keys_of<'a>(statistics: &'a [serde_json::Value], maps: &'a [&str]) -> impl Iterator<Item = u64> + 'a {
    statistics.iter().flat_map(move |entry| {
        maps.iter().flat_map(move |map| {
            entry["statistics"][*map].as_object().into_iter().flat_map(|m| m.keys()).filter_map(|k| k.parse::<u64>().ok())
        })
    })
}

/// Names of the ship groups statistics count, from the static data.
pub fn group_names(statistics: &[serde_json::Value]) -> BTreeMap<String, String> {
    keys_of(statistics, &GROUP_KEYS).filter_map(|id| Some((id.to_string(), eve_static::group(id)?.name.to_string()))).collect()
}

/// Ids statistics use as keys or values that ESI names: units, ship types.
pub fn statistics_ids(statistics: &[serde_json::Value]) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for entry in statistics {
        let s = &entry["statistics"];
        for unit in s["units"].as_array().into_iter().flatten() {
            out.extend(unit["id"].as_u64());
        }
    }
    out.extend(keys_of(statistics, &["shipsFielded", "shipsLost"]));
    out
}

/// The names dictionary of a battle view.
pub fn names_of(names: &Names, ids: &BTreeSet<u64>) -> BTreeMap<String, String> {
    ids.iter().filter_map(|id| Some((id.to_string(), names.get(id)?.clone()))).collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VictimView {
    pub character_id: Option<u64>,
    pub character_name: Option<String>,
    pub corporation_id: Option<u64>,
    pub corporation_name: Option<String>,
    pub alliance_id: Option<u64>,
    pub alliance_name: Option<String>,
    pub ship_type_id: Option<u64>,
    pub ship_type_name: Option<String>,
}

/// One killmail of a battle.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KillmailView {
    pub killmail_id: u64,
    pub killmail_time: String,
    pub solar_system_id: u32,
    pub solar_system_name: Option<String>,
    pub victim: VictimView,
    pub attackers: usize,
    pub total_value: Option<f64>,
}

/// Ids a killmail view names.
pub fn killmail_ids(d: &KillDetail) -> BTreeSet<u64> {
    let v = &d.victim;
    [v.character, v.corporation, v.alliance, v.ship_type, Some(u64::from(d.system))].into_iter().flatten().collect()
}

pub fn killmail(names: &Names, d: &KillDetail) -> KillmailView {
    let name = |id: Option<u64>| id.and_then(|i| names.get(&i).cloned());
    let Participant { character, corporation, alliance, ship_type, .. } = d.victim.clone();
    KillmailView {
        killmail_id: d.id,
        killmail_time: crate::enriched::format_time(d.time),
        solar_system_id: d.system,
        solar_system_name: name(Some(d.system.into())),
        victim: VictimView {
            character_id: character,
            character_name: name(character),
            corporation_id: corporation,
            corporation_name: name(corporation),
            alliance_id: alliance,
            alliance_name: name(alliance),
            ship_type_id: ship_type,
            ship_type_name: name(ship_type),
        },
        attackers: d.attackers.len(),
        total_value: d.value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_names_are_null_beside_their_ids() {
        let names: Names = [(1, "Pilot".to_string()), (99005338, "Pandemic Horde".to_string())].into();
        let v = pilot(&names, &(1, Some(98000001), Some(99005338), Some(0), vec![587]));
        let j = serde_json::to_value(v).unwrap();
        assert_eq!(j["characterName"], "Pilot");
        assert_eq!(j["allianceName"], "Pandemic Horde");
        assert!(j["corporationName"].is_null() && j["corporationId"] == 98000001);
        assert_eq!(j["ships"], json!([{"id": 587, "name": null}]));
    }

    #[test]
    fn statistics_name_their_keys() {
        let stats = vec![json!({"side": 0, "statistics": {"units": [{"kind": "alliance", "id": 99005338}],
            "shipsFielded": {"587": 2}, "shipsLost": {}, "groupsFielded": {"25": 2}, "groupsLost": {"358": 1}}})];
        assert_eq!(statistics_ids(&stats), [587, 99005338].into(), "groups are not ESI's to name");
        let groups = group_names(&stats);
        assert_eq!(groups.get("25").map(String::as_str), Some("Frigate"));
        assert_eq!(groups.get("358").map(String::as_str), Some("Heavy Assault Cruiser"));
    }
}
