//! Sides of a battle, from who shot whom.
//!
//! Units are alliances, or corporations without an alliance (NPC corporations are left out).
//! Every kill says two things: its attackers' units fought **together**, and each of them
//! fought **against** the victim's unit. Units are merged into sides greedily, strongest
//! partnership first, but only while the two would-be partners have shot together more often
//! than they have shot each other; a unit that only ever lost ships joins the side that fought
//! its killers hardest. More than two sides come out when the graph has them (a third party
//! shooting everyone). The input is sorted first, so the result does not depend on the order
//! of the kills.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// An alliance, or a corporation that has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Unit {
    Alliance(u64),
    Corporation(u64),
}

/// Corporation ids CCP gives to NPC corporations.
pub const NPC_CORPORATIONS: std::ops::Range<u64> = 1_000_000..2_000_000;

impl Unit {
    /// The alliance or corporation id.
    pub fn id(self) -> u64 {
        match self {
            Unit::Alliance(id) | Unit::Corporation(id) => id,
        }
    }

    pub fn alliance(self) -> Option<u64> {
        match self {
            Unit::Alliance(id) => Some(id),
            Unit::Corporation(_) => None,
        }
    }

    pub fn corporation(self) -> Option<u64> {
        match self {
            Unit::Corporation(id) => Some(id),
            Unit::Alliance(_) => None,
        }
    }

    /// The unit of a participant; NPC corporations have none.
    pub fn of(alliance: Option<u64>, corporation: Option<u64>) -> Option<Unit> {
        match (alliance, corporation) {
            (Some(a), _) => Some(Unit::Alliance(a)),
            (None, Some(c)) if !NPC_CORPORATIONS.contains(&c) => Some(Unit::Corporation(c)),
            _ => None,
        }
    }
}

/// One kill as sides see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Engagement {
    pub victim: Option<Unit>,
    pub attackers: BTreeSet<Unit>,
}

fn pair(a: Unit, b: Unit) -> (Unit, Unit) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// The sides, largest (by kills made) first; each side's units sorted.
pub fn sides(engagements: &[Engagement]) -> Vec<Vec<Unit>> {
    let mut together: BTreeMap<(Unit, Unit), u64> = BTreeMap::new();
    let mut against: HashMap<(Unit, Unit), u64> = HashMap::new();
    let mut units: BTreeSet<Unit> = BTreeSet::new();
    let mut kills_by: HashMap<Unit, u64> = HashMap::new();
    for e in engagements {
        let attackers: Vec<Unit> = e.attackers.iter().copied().collect();
        units.extend(attackers.iter().copied());
        units.extend(e.victim);
        for (i, a) in attackers.iter().enumerate() {
            *kills_by.entry(*a).or_default() += 1;
            for b in &attackers[i + 1..] {
                *together.entry(pair(*a, *b)).or_default() += 1;
            }
            if let Some(v) = e.victim.filter(|v| v != a) {
                *against.entry(pair(*a, v)).or_default() += 1;
            }
        }
    }
    let index: BTreeMap<Unit, usize> = units.iter().enumerate().map(|(i, u)| (*u, i)).collect();
    let n = units.len();
    let mut group: Vec<usize> = (0..n).collect();
    // Enmity between groups, kept symmetric and merged along with the groups.
    let mut enmity: Vec<HashMap<usize, u64>> = vec![HashMap::new(); n];
    for ((a, b), w) in &against {
        let (ia, ib) = (index[a], index[b]);
        *enmity[ia].entry(ib).or_default() += w;
        *enmity[ib].entry(ia).or_default() += w;
    }
    fn find(group: &mut [usize], mut i: usize) -> usize {
        while group[i] != i {
            group[i] = group[group[i]];
            i = group[i];
        }
        i
    }
    let mut partnerships: Vec<((Unit, Unit), u64)> = together.into_iter().collect();
    partnerships.sort_by(|(pa, wa), (pb, wb)| wb.cmp(wa).then(pa.cmp(pb)));
    let merge = |group: &mut Vec<usize>, enmity: &mut Vec<HashMap<usize, u64>>, keep: usize, gone: usize| {
        group[gone] = keep;
        let moved = std::mem::take(&mut enmity[gone]);
        for (other, w) in moved {
            if other == keep {
                enmity[keep].remove(&gone);
                continue;
            }
            *enmity[keep].entry(other).or_default() += w;
            let back = enmity[other].remove(&gone).unwrap_or(0);
            *enmity[other].entry(keep).or_default() += back;
        }
    };
    for ((a, b), w) in &partnerships {
        let (ga, gb) = (find(&mut group, index[a]), find(&mut group, index[b]));
        if ga == gb {
            continue;
        }
        let hostile = enmity[ga].get(&gb).copied().unwrap_or(0);
        if *w > hostile {
            let (keep, gone) = if ga < gb { (ga, gb) } else { (gb, ga) };
            merge(&mut group, &mut enmity, keep, gone);
        }
    }
    // Units that never shot: join the group that fought their killers hardest.
    let shooters: BTreeSet<Unit> = kills_by.keys().copied().collect();
    for unit in units.iter().filter(|u| !shooters.contains(u)) {
        let own = find(&mut group, index[unit]);
        let killers: Vec<usize> = enmity[own].keys().copied().collect();
        let mut best: Option<(u64, usize)> = None;
        for k in killers {
            let k = find(&mut group, k);
            let candidates: Vec<(usize, u64)> = enmity[k].iter().map(|(g, w)| (*g, *w)).collect();
            for (g, w) in candidates {
                let g = find(&mut group, g);
                if g != own && g != k && best.is_none_or(|(bw, bg)| w > bw || (w == bw && g < bg)) {
                    best = Some((w, g));
                }
            }
        }
        if let Some((_, g)) = best {
            let (keep, gone) = if g < own { (g, own) } else { (own, g) };
            merge(&mut group, &mut enmity, keep, gone);
        }
    }
    let mut by_group: BTreeMap<usize, Vec<Unit>> = BTreeMap::new();
    for unit in &units {
        let g = find(&mut group, index[unit]);
        by_group.entry(g).or_default().push(*unit);
    }
    let mut out: Vec<Vec<Unit>> = by_group.into_values().collect();
    let made = |side: &Vec<Unit>| side.iter().map(|u| kills_by.get(u).copied().unwrap_or(0)).sum::<u64>();
    out.sort_by(|a, b| made(b).cmp(&made(a)).then(a.cmp(b)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(victim: u64, attackers: &[u64]) -> Engagement {
        Engagement { victim: Some(Unit::Alliance(victim)), attackers: attackers.iter().map(|a| Unit::Alliance(*a)).collect() }
    }

    fn ids(side: &[Unit]) -> Vec<u64> {
        side.iter()
            .map(|u| match u {
                Unit::Alliance(a) | Unit::Corporation(a) => *a,
            })
            .collect()
    }

    #[test]
    fn co_attackers_side_together_against_their_victims() {
        let s = sides(&[e(3, &[1, 2]), e(3, &[1, 2]), e(1, &[3]), e(2, &[3, 4]), e(4, &[1])]);
        assert_eq!(s.iter().map(|x| ids(x)).collect::<Vec<_>>(), vec![vec![1, 2], vec![3, 4]]);
    }

    #[test]
    fn a_third_party_shooting_everyone_is_a_side_of_its_own() {
        let s = sides(&[e(2, &[1]), e(1, &[2]), e(1, &[9]), e(2, &[9])]);
        assert_eq!(s.len(), 3);
        assert_eq!(ids(&s[0]), vec![9], "the third party made the most kills");
    }

    #[test]
    fn an_occasional_shared_kill_does_not_merge_enemies() {
        // 1 and 2 shoot each other four times and share one kill on a neutral.
        let s = sides(&[e(1, &[2]), e(2, &[1]), e(1, &[2]), e(2, &[1]), e(7, &[1, 2])]);
        assert!(s.iter().all(|side| !(side.contains(&Unit::Alliance(1)) && side.contains(&Unit::Alliance(2)))), "{s:?}");
    }

    #[test]
    fn the_order_of_kills_does_not_matter() {
        let mut kills = vec![e(3, &[1, 2]), e(1, &[3]), e(2, &[3, 4]), e(4, &[1]), e(5, &[3]), e(3, &[5, 1])];
        let first = sides(&kills);
        kills.reverse();
        assert_eq!(sides(&kills), first);
    }

    #[test]
    fn units_leave_out_npc_corporations() {
        assert_eq!(Unit::of(None, Some(1000125)), None);
        assert_eq!(Unit::of(None, Some(98000001)), Some(Unit::Corporation(98000001)));
        assert_eq!(Unit::of(Some(5), Some(98000001)), Some(Unit::Alliance(5)));
    }
}
