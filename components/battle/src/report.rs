//! A battle as it is stored and announced: clustering's battle with its sides and statistics.

use crate::clustering::Battle;
use crate::enriched::format_time;
use crate::sides::{sides, Engagement, Unit};
use crate::stats::{battle_stats, BattleStats, KillDetail};
use crate::universe;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The battle id: a UUID made from the battle's key (its smallest killmail id), so the same
/// killmails give the same id whatever the order they came in.
pub fn battle_id(key: u64) -> String {
    format!("00000000-0000-4000-8000-{key:012x}")
}

#[derive(Debug, Clone)]
pub struct Report {
    pub battle_id: String,
    pub key: u64,
    pub kill_ids: Vec<u64>,
    pub systems: BTreeSet<u32>,
    pub regions: BTreeSet<u32>,
    pub sides: Vec<Vec<Unit>>,
    pub stats: BattleStats,
}

/// Sides and statistics of `battle` from the details of its kills.
pub fn report(battle: &Battle, details: &[KillDetail]) -> Report {
    let engagements: Vec<Engagement> = details
        .iter()
        .map(|d| Engagement { victim: d.victim.unit(), attackers: d.attackers.iter().filter_map(|a| a.unit()).collect() })
        .collect();
    let sides = sides(&engagements);
    let stats = battle_stats(details, &sides);
    Report {
        battle_id: battle_id(battle.key),
        key: battle.key,
        kill_ids: battle.kill_ids.clone(),
        systems: battle.systems.clone(),
        regions: battle.systems.iter().filter_map(|s| universe::region(*s)).collect(),
        sides,
        stats,
    }
}

fn ids(side: &[Unit], alliances: bool) -> Vec<u64> {
    side.iter()
        .filter_map(|u| match (u, alliances) {
            (Unit::Alliance(a), true) | (Unit::Corporation(a), false) => Some(*a),
            _ => None,
        })
        .collect()
}

impl Report {
    /// The payload of `battle.created` / `battle.updated` (schemas/events/battle.*.schema.json).
    pub fn event_data(&self, version: i64) -> Value {
        json!({
            "battleId": self.battle_id,
            "startTime": format_time(self.stats.start),
            "endTime": format_time(self.stats.end),
            "systemIds": self.systems,
            "regionIds": self.regions,
            "kills": self.stats.kills,
            "iskDestroyed": self.stats.isk_destroyed.total,
            "pilots": self.stats.pilots,
            "version": version,
            "sides": self.stats.sides.iter().map(|s| json!({
                "side": s.side,
                "allianceIds": ids(&s.units, true),
                "corporationIds": ids(&s.units, false),
                "kills": s.kills,
                "losses": s.losses,
                "iskDestroyed": s.isk_destroyed.total,
                "iskLost": s.isk_lost.total,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Whether a growing battle is worth another `battle.updated`: not for every kill of a
/// thousand-kill fight, but when it grew by a quarter (or 50 kills), or its end moved on by
/// ten minutes of game time since the last announcement.
pub fn worth_announcing(kills: u32, end: i64, announced_kills: u32, announced_end: i64) -> bool {
    let grown = kills.saturating_sub(announced_kills);
    grown >= 50 || (grown > 0 && kills * 4 >= announced_kills * 5) || end - announced_end >= 600
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_from_the_key() {
        assert_eq!(battle_id(96990000), "00000000-0000-4000-8000-000005c7f330");
    }

    #[test]
    fn updates_are_coalesced() {
        assert!(!worth_announcing(101, 1000, 100, 1000));
        assert!(worth_announcing(125, 1000, 100, 1000));
        assert!(worth_announcing(1050, 1000, 1000, 1000), "fifty more");
        assert!(worth_announcing(101, 1700, 100, 1000), "ten minutes later");
        assert!(worth_announcing(3, 0, 2, 0), "small battles grow by a quarter quickly");
    }
}
