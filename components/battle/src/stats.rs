//! Statistics of a battle and of each side: kills, losses, ISK (only where values are known,
//! and saying how many were not), efficiency, pilots, corporations, alliances, ship types and
//! groups fielded and lost, duration, systems, and a per-minute timeline.

use crate::sides::Unit;
use serde::Serialize;
use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One pilot, NPC or structure on a kill.
#[derive(Debug, Clone, PartialEq)]
pub struct Participant {
    pub character: Option<u64>,
    pub corporation: Option<u64>,
    pub alliance: Option<u64>,
    pub ship_type: Option<u64>,
    pub ship_group: Option<u64>,
}

impl Participant {
    pub fn unit(&self) -> Option<Unit> {
        Unit::of(self.alliance, self.corporation)
    }
}

/// A kill with what statistics need.
#[derive(Debug, Clone, PartialEq)]
pub struct KillDetail {
    pub id: u64,
    pub time: i64,
    pub system: u32,
    /// The system's region and band, as enrichment gave them.
    pub region: Option<u32>,
    pub band: eve_static::SecurityBand,
    pub victim: Participant,
    pub attackers: Vec<Participant>,
    /// zKillboard's total value, when the feed supplied one.
    pub value: Option<f64>,
}

impl KillDetail {
    /// What the kill says about sides: who shot together, and whom.
    pub fn engagement(&self) -> crate::sides::Engagement {
        crate::sides::Engagement {
            victim: self.victim.unit(),
            attackers: self.attackers.iter().filter_map(|a| a.unit()).collect(),
        }
    }
}

/// ISK with a note of how many kills had no value.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Isk {
    /// Sum over the kills whose value is known; `None` when none is.
    pub total: Option<f64>,
    pub kills_with_value: u32,
    pub kills_without_value: u32,
}

impl Isk {
    fn add(&mut self, value: Option<f64>) {
        match value {
            Some(v) => {
                self.total = Some(self.total.unwrap_or(0.0) + v);
                self.kills_with_value += 1;
            }
            None => self.kills_without_value += 1,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SideStats {
    pub side: usize,
    pub units: Vec<Unit>,
    /// Kills credited to this side (it had the most attackers on them).
    pub kills: u32,
    /// Its members' ships lost.
    pub losses: u32,
    pub isk_destroyed: Isk,
    pub isk_lost: Isk,
    /// destroyed / (destroyed + lost), when both are known.
    pub isk_efficiency: Option<f64>,
    pub pilots: u32,
    pub corporations: u32,
    pub alliances: u32,
    /// Ship type → distinct pilots who flew it here.
    pub ships_fielded: BTreeMap<u64, u32>,
    /// Ship type → ships lost.
    pub ships_lost: BTreeMap<u64, u32>,
    /// Ship group → distinct pilots who flew one.
    pub groups_fielded: BTreeMap<u64, u32>,
    /// Ship group → ships lost.
    pub groups_lost: BTreeMap<u64, u32>,
    /// The kills credited to this side and their ISK, minute by minute (minutes without
    /// any left out).
    pub timeline: Vec<Minute>,
}

/// One minute of the battle.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Minute {
    /// Seconds since the epoch, at the start of the minute.
    pub minute: i64,
    pub kills: u32,
    /// ISK of the kills with a value in this minute.
    pub isk: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BattleStats {
    pub kills: u32,
    pub start: i64,
    pub end: i64,
    pub duration_secs: i64,
    pub systems: BTreeSet<u32>,
    pub pilots: u32,
    pub corporations: u32,
    pub alliances: u32,
    pub isk_destroyed: Isk,
    pub sides: Vec<SideStats>,
    pub timeline: Vec<Minute>,
}

/// Statistics for the kills of one battle split into `sides` (as [`crate::sides::sides`]
/// returns them).
pub fn battle_stats<K: Borrow<KillDetail>>(kills: &[K], sides: &[Vec<Unit>]) -> BattleStats {
    let side_of: HashMap<Unit, usize> = sides.iter().enumerate().flat_map(|(i, s)| s.iter().map(move |u| (*u, i))).collect();
    let mut out = BattleStats {
        sides: sides.iter().enumerate().map(|(i, s)| SideStats { side: i, units: s.clone(), ..Default::default() }).collect(),
        ..Default::default()
    };
    let mut pilots: BTreeSet<u64> = BTreeSet::new();
    let mut corporations: BTreeSet<u64> = BTreeSet::new();
    let mut alliances: BTreeSet<u64> = BTreeSet::new();
    let mut side_sets: Vec<(BTreeSet<u64>, BTreeSet<u64>, BTreeSet<u64>)> = vec![Default::default(); sides.len()];
    let mut fielded: Vec<BTreeMap<u64, BTreeSet<u64>>> = vec![BTreeMap::new(); sides.len()];
    let mut groups: Vec<BTreeMap<u64, BTreeSet<u64>>> = vec![BTreeMap::new(); sides.len()];
    let mut timeline: BTreeMap<i64, Minute> = BTreeMap::new();
    let mut side_timelines: Vec<BTreeMap<i64, Minute>> = vec![BTreeMap::new(); sides.len()];
    let mut sorted: Vec<&KillDetail> = kills.iter().map(Borrow::borrow).collect();
    sorted.sort_by_key(|k| (k.time, k.id));
    for k in sorted {
        out.kills += 1;
        out.systems.insert(k.system);
        out.isk_destroyed.add(k.value);
        let minute = k.time - k.time.rem_euclid(60);
        let m = timeline.entry(minute).or_insert(Minute { minute, ..Default::default() });
        m.kills += 1;
        m.isk += k.value.unwrap_or(0.0);
        let victim_side = k.victim.unit().and_then(|u| side_of.get(&u).copied());
        for p in std::iter::once(&k.victim).chain(&k.attackers) {
            pilots.extend(p.character);
            corporations.extend(p.corporation.filter(|c| !crate::sides::NPC_CORPORATIONS.contains(c)));
            alliances.extend(p.alliance);
            if let Some(s) = p.unit().and_then(|u| side_of.get(&u).copied()) {
                side_sets[s].0.extend(p.character);
                side_sets[s].1.extend(p.corporation);
                side_sets[s].2.extend(p.alliance);
                if let (Some(ship), Some(pilot)) = (p.ship_type, p.character) {
                    fielded[s].entry(ship).or_default().insert(pilot);
                }
                if let (Some(group), Some(pilot)) = (p.ship_group, p.character) {
                    groups[s].entry(group).or_default().insert(pilot);
                }
            }
        }
        if let Some(s) = victim_side {
            let side = &mut out.sides[s];
            side.losses += 1;
            side.isk_lost.add(k.value);
            if let Some(ship) = k.victim.ship_type {
                *side.ships_lost.entry(ship).or_default() += 1;
            }
            if let Some(group) = k.victim.ship_group {
                *side.groups_lost.entry(group).or_default() += 1;
            }
        }
        // The kill goes to the side with the most attackers on it, the victim's own excepted.
        let mut counts: BTreeMap<usize, usize> = BTreeMap::new();
        for a in &k.attackers {
            if let Some(s) = a.unit().and_then(|u| side_of.get(&u).copied()).filter(|s| Some(*s) != victim_side) {
                *counts.entry(s).or_default() += 1;
            }
        }
        if let Some((&s, _)) = counts.iter().max_by(|(sa, ca), (sb, cb)| ca.cmp(cb).then(sb.cmp(sa))) {
            out.sides[s].kills += 1;
            out.sides[s].isk_destroyed.add(k.value);
            let m = side_timelines[s].entry(minute).or_insert(Minute { minute, ..Default::default() });
            m.kills += 1;
            m.isk += k.value.unwrap_or(0.0);
        }
    }
    for (s, side) in out.sides.iter_mut().enumerate() {
        side.pilots = side_sets[s].0.len() as u32;
        side.corporations = side_sets[s].1.len() as u32;
        side.alliances = side_sets[s].2.len() as u32;
        side.ships_fielded = fielded[s].iter().map(|(t, p)| (*t, p.len() as u32)).collect();
        side.groups_fielded = groups[s].iter().map(|(g, p)| (*g, p.len() as u32)).collect();
        side.timeline = std::mem::take(&mut side_timelines[s]).into_values().collect();
        side.isk_efficiency = match (side.isk_destroyed.total, side.isk_lost.total) {
            (Some(d), Some(l)) if d + l > 0.0 => Some(d / (d + l)),
            (Some(d), None) if d > 0.0 => Some(1.0),
            _ => None,
        };
    }
    out.pilots = pilots.len() as u32;
    out.corporations = corporations.len() as u32;
    out.alliances = alliances.len() as u32;
    out.start = kills.iter().map(|k| k.borrow().time).min().unwrap_or_default();
    out.end = kills.iter().map(|k| k.borrow().time).max().unwrap_or_default();
    out.duration_secs = out.end - out.start;
    out.timeline = timeline.into_values().collect();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(character: u64, alliance: u64, ship: u64) -> Participant {
        Participant {
            character: Some(character),
            corporation: Some(98_000_000 + alliance),
            alliance: Some(alliance),
            ship_type: Some(ship),
            ship_group: Some(ship / 10),
        }
    }

    fn k(id: u64, minute: i64, victim: Participant, attackers: Vec<Participant>, value: Option<f64>) -> KillDetail {
        KillDetail {
            id,
            time: minute * 60,
            system: 1,
            region: None,
            band: eve_static::SecurityBand::Nullsec,
            victim,
            attackers,
            value,
        }
    }

    #[test]
    fn sides_get_kills_losses_isk_and_ships() {
        let sides = vec![vec![Unit::Alliance(1)], vec![Unit::Alliance(2)]];
        let kills = vec![
            k(1, 0, p(20, 2, 587), vec![p(10, 1, 11_000), p(11, 1, 11_000)], Some(300.0)),
            k(2, 0, p(21, 2, 587), vec![p(10, 1, 11_000)], None),
            k(3, 2, p(11, 1, 11_000), vec![p(22, 2, 587)], Some(100.0)),
        ];
        let s = battle_stats(&kills, &sides);
        assert_eq!((s.kills, s.pilots, s.alliances, s.duration_secs), (3, 5, 2, 120));
        assert_eq!(s.isk_destroyed, Isk { total: Some(400.0), kills_with_value: 2, kills_without_value: 1 });
        let (a, b) = (&s.sides[0], &s.sides[1]);
        assert_eq!((a.kills, a.losses, b.kills, b.losses), (2, 1, 1, 2));
        assert_eq!(a.isk_destroyed.total, Some(300.0));
        assert_eq!(a.isk_destroyed.kills_without_value, 1, "the unknown value is said, not guessed");
        assert_eq!(a.isk_efficiency, Some(0.75));
        assert_eq!(a.ships_fielded[&11_000], 2, "two pilots flew it");
        assert_eq!(b.ships_lost[&587], 2);
        assert_eq!(b.groups_lost[&58], 2, "the test's ships are in group type / 10");
        assert_eq!(s.timeline.iter().map(|m| m.kills).collect::<Vec<_>>(), vec![2, 1]);
        let per_minute = |side: &SideStats| side.timeline.iter().map(|m| (m.minute, m.kills, m.isk)).collect::<Vec<_>>();
        assert_eq!(per_minute(a), vec![(0, 2, 300.0)], "the unknown value counts as a kill, not as ISK");
        assert_eq!(per_minute(b), vec![(120, 1, 100.0)]);
    }

    #[test]
    fn without_any_values_isk_is_unknown_not_zero() {
        let sides = vec![vec![Unit::Alliance(1)], vec![Unit::Alliance(2)]];
        let s = battle_stats(&[k(1, 0, p(20, 2, 587), vec![p(10, 1, 1)], None)], &sides);
        assert_eq!(s.isk_destroyed.total, None);
        assert_eq!(s.sides[0].isk_efficiency, None);
    }
}
