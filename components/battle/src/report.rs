//! A battle as it is stored and announced: clustering's battle with its sides and statistics,
//! and the summary events carry and the API lists (with names).

use crate::clustering::Battle;
use crate::moves::{apply_moves, SideMove};
use crate::sides::{sides, Engagement, Unit};
use crate::stats::{battle_stats, BattleStats, KillDetail};
use contracts::battle_created::{BattleCreated, BattleCreatedStatus, Entity, Region, Side, System, SystemSecurityBand};
use eve_static::SecurityBand;
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

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
    /// Each system with its region and band, as enrichment gave them.
    pub systems: BTreeMap<u32, (Option<u32>, SecurityBand)>,
    pub sides: Vec<Vec<Unit>>,
    pub stats: BattleStats,
    /// The operator's corrections `sides` include.
    pub side_moves: Vec<SideMove>,
}

/// Sides (clustering's, then an operator's `moves`) and statistics of `battle` from the
/// details of its kills.
/// Generic over how the details are held: the engine lends them from the change's kills
/// rather than copying every kill of a big battle for each batch.
pub fn report<K: Borrow<KillDetail>>(battle: &Battle, details: &[K], moves: &[SideMove]) -> Report {
    let engagements: Vec<Engagement> = details.iter().map(|d| d.borrow().engagement()).collect();
    let sides = apply_moves(sides(&engagements), moves);
    let stats = battle_stats(details, &sides);
    Report {
        battle_id: battle_id(battle.key),
        key: battle.key,
        kill_ids: battle.kill_ids.clone(),
        systems: details.iter().map(Borrow::borrow).map(|d: &KillDetail| (d.system, (d.region, d.band))).collect(),
        sides,
        stats,
        side_moves: moves.to_vec(),
    }
}

/// How a battle is owned: by clustering, or by an operator who made or edited it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Clustering,
    Operator { title: Option<String> },
}

fn time(secs: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

fn band(b: SecurityBand) -> SystemSecurityBand {
    match b {
        SecurityBand::Highsec => SystemSecurityBand::Highsec,
        SecurityBand::Lowsec => SystemSecurityBand::Lowsec,
        SecurityBand::Nullsec => SystemSecurityBand::Nullsec,
        SecurityBand::Wormhole => SystemSecurityBand::Wormhole,
        SecurityBand::Pochven => SystemSecurityBand::Pochven,
        SecurityBand::Abyssal => SystemSecurityBand::Abyssal,
        SecurityBand::Unknown => SystemSecurityBand::Unknown,
    }
}

impl Report {
    /// Every id the summary names: units, systems, regions.
    pub fn named_ids(&self) -> BTreeSet<u64> {
        let units = self.sides.iter().flatten().map(|u| u.id());
        let places = self.systems.iter().flat_map(|(s, (r, _))| [Some(u64::from(*s)), r.map(u64::from)]).flatten();
        units.chain(places).collect()
    }

    /// The payload of `battle.created` / `battle.updated` / `battle.ended`, and what the API
    /// lists: names from `names` (null where unknown, never invented).
    pub fn summary(&self, names: &BTreeMap<u64, String>, version: u64, ended: bool, owner: &Owner) -> BattleCreated {
        let name = |id: u64| names.get(&id).cloned();
        let entity = |id: u64| Entity { id, name: name(id), ticker: None };
        let regions: BTreeSet<u32> = self.systems.values().filter_map(|(r, _)| *r).collect();
        let (manual, title) = match owner {
            Owner::Clustering => (false, None),
            Owner::Operator { title } => (true, title.clone()),
        };
        BattleCreated {
            battle_id: self.battle_id.parse().expect("battle ids are UUIDs"),
            version,
            status: if ended { BattleCreatedStatus::Ended } else { BattleCreatedStatus::Open },
            start_time: time(self.stats.start),
            end_time: time(self.stats.end),
            systems: self
                .systems
                .iter()
                .map(|(s, (r, b))| System {
                    id: (*s).into(),
                    name: name((*s).into()),
                    region_id: r.map(u64::from),
                    security_band: band(*b),
                })
                .collect(),
            regions: regions.iter().map(|r| Region { id: (*r).into(), name: name((*r).into()) }).collect(),
            kills: self.stats.kills.into(),
            isk_destroyed: self.stats.isk_destroyed.total,
            pilots: self.stats.pilots.into(),
            sides: self
                .stats
                .sides
                .iter()
                .map(|s| Side {
                    side: s.side as u64,
                    alliances: s.units.iter().filter_map(|u| u.alliance()).map(entity).collect(),
                    corporations: s.units.iter().filter_map(|u| u.corporation()).map(entity).collect(),
                    kills: s.kills.into(),
                    losses: s.losses.into(),
                    isk_destroyed: s.isk_destroyed.total,
                    isk_lost: s.isk_lost.total,
                    pilots: s.pilots.into(),
                })
                .collect(),
            manual,
            title,
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
