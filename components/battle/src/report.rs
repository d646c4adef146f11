//! A battle as it is stored and announced: clustering's battle with its sides and statistics.

use crate::clustering::Battle;
use crate::sides::{sides, Engagement, Unit};
use crate::stats::{battle_stats, BattleStats, KillDetail};
use contracts::battle_created::{BattleCreated, BattleCreatedSidesItem};
use eve_static::SecurityBand;
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
    pub bands: BTreeSet<SecurityBand>,
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
        regions: details.iter().filter_map(|d| d.region).collect(),
        bands: details.iter().map(|d| d.band).collect(),
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

fn time(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

impl Report {
    /// The payload of `battle.created` / `battle.updated` / `battle.ended`
    /// (schemas/events/battle.*.schema.json; one shape).
    pub fn event_data(&self, version: i64) -> BattleCreated {
        BattleCreated {
            battle_id: self.battle_id.parse().expect("battle ids are UUIDs"),
            start_time: time(self.stats.start),
            end_time: time(self.stats.end),
            system_ids: self.systems.iter().map(|s| u64::from(*s)).collect(),
            region_ids: self.regions.iter().map(|r| u64::from(*r)).collect(),
            kills: self.stats.kills.into(),
            isk_destroyed: self.stats.isk_destroyed.total,
            pilots: self.stats.pilots as u64,
            version: version as u64,
            sides: self
                .stats
                .sides
                .iter()
                .map(|s| BattleCreatedSidesItem {
                    side: s.side as u64,
                    alliance_ids: ids(&s.units, true),
                    corporation_ids: ids(&s.units, false),
                    kills: s.kills.into(),
                    losses: s.losses.into(),
                    isk_destroyed: s.isk_destroyed.total,
                    isk_lost: s.isk_lost.total,
                })
                .collect(),
        }
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
