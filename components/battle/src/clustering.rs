//! Clustering killmails into battles.
//!
//! Two kills are **linked** when they share a pilot (victim or attacker), happened at most
//! `max_gap` apart in game time, and in the same system or within `max_jumps` stargate jumps
//! of each other. A battle is a connected group of linked kills with at least `min_kills`.
//!
//! Big fights also have stragglers: a pilot who reships and dies an hour later in the same
//! system, for the same alliance. So a battle of at least `anchor_kills` kills also takes in
//! kills that share an alliance (or corporation without alliance) with it, in a system where
//! it had a kill at most `quiet_period` before or after. Near its own kills in that system,
//! not anywhere in its whole span: a battle that ranged over many systems for hours would
//! otherwise take in every skirmish of its units in each of them, and in faction-warfare
//! space, which is never quiet for long, grow for days.
//!
//! The pilot links define connected components, which depend only on the set of kills; the
//! straggler rule only ever grows battles and gets easier to meet as they grow, so applying it
//! until nothing changes reaches the same result whatever the order: battles never depend on
//! arrival order. A late kill links to kills on both sides of it in time, and when it bridges
//! two battles they become one. A long fight with kills every few minutes is one battle however
//! many hours it lasts, and kills that share no pilot and no battle stay apart. NPCs link
//! nothing (they have no character, and NPC corporations are no unit).
//!
//! Each pilot's kills are kept sorted by time, so adding a kill looks only at the kills of its
//! own pilots inside the time window: cost grows with participants, not with history.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Clustering parameters (docs/battles.md explains the choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Longest game-time gap, in seconds, between two linked kills.
    pub max_gap_secs: i64,
    /// Stargate jumps between the systems of two linked kills (0: same system only).
    pub max_jumps: u8,
    /// Kills a group needs to be a battle.
    pub min_kills: usize,
    /// Kills a battle needs before it takes in stragglers by alliance.
    pub anchor_kills: usize,
    /// Game time without a kill after which a battle counts as ended.
    pub quiet_period_secs: i64,
}

impl Default for Params {
    fn default() -> Self {
        Self { max_gap_secs: 30 * 60, max_jumps: 1, min_kills: 2, anchor_kills: 10, quiet_period_secs: 45 * 60 }
    }
}

/// What clustering needs of a killmail.
#[derive(Debug, Clone, PartialEq)]
pub struct Kill {
    pub id: u64,
    /// Game time, seconds since the epoch.
    pub time: i64,
    pub system: u32,
    /// Player characters on it: the victim and every attacker with a character.
    pub pilots: Vec<u64>,
    /// Alliances, or corporations without one, of its players (no NPC corporations).
    pub units: Vec<u64>,
}

/// A battle as clustering sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Battle {
    /// The smallest killmail id in it: stable whatever the arrival order.
    pub key: u64,
    pub kill_ids: Vec<u64>,
    pub start: i64,
    pub end: i64,
    pub systems: BTreeSet<u32>,
}

impl Battle {
    /// A battle of exactly these kills, whatever links them (one made by hand); None for none.
    pub fn of<'a>(kills: impl IntoIterator<Item = &'a Kill>) -> Option<Battle> {
        let kills: Vec<&Kill> = kills.into_iter().collect();
        let mut kill_ids: Vec<u64> = kills.iter().map(|k| k.id).collect();
        kill_ids.sort_unstable();
        kill_ids.dedup();
        Some(Battle {
            key: *kill_ids.first()?,
            kill_ids,
            start: kills.iter().map(|k| k.time).min()?,
            end: kills.iter().map(|k| k.time).max()?,
            systems: kills.iter().map(|k| k.system).collect(),
        })
    }

    /// Ended when the newest kill seen anywhere (`watermark`) is a quiet period past its last.
    pub fn ended(&self, watermark: i64, params: &Params) -> bool {
        watermark - self.end >= params.quiet_period_secs
    }
}

/// The game time within `margin` of any of `times` (one system's kills of a battle), as
/// disjoint windows in order: kills close together make one window, not one each.
fn windows(mut times: Vec<i64>, margin: i64) -> Vec<(i64, i64)> {
    times.sort_unstable();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for t in times {
        match out.last_mut() {
            Some((_, to)) if t - margin <= *to => *to = t + margin,
            _ => out.push((t - margin, t + margin)),
        }
    }
    out
}

/// Clustering on New Eden's stargate map (`eve_static::within`).
pub fn on_the_map(params: Params) -> Clusterer<impl Fn(u32, u32) -> bool> {
    Clusterer::new(params, move |a, b| eve_static::within(a.into(), b.into(), params.max_jumps))
}

/// Incremental clustering over every kill seen so far.
pub struct Clusterer<N: Fn(u32, u32) -> bool> {
    params: Params,
    near: N,
    kills: Vec<Kill>,
    parent: Vec<usize>,
    index: HashMap<u64, usize>,
    /// Per pilot: (time, kill index), sorted by time.
    by_pilot: HashMap<u64, Vec<(i64, usize)>>,
    /// Per system: (time, kill index), sorted by time.
    by_system: HashMap<u32, Vec<(i64, usize)>>,
    watermark: i64,
}

impl<N: Fn(u32, u32) -> bool> Clusterer<N> {
    /// `near(a, b)`: whether two systems are close enough to link kills (within
    /// `params.max_jumps`; [`on_the_map`] uses New Eden's stargates).
    pub fn new(params: Params, near: N) -> Self {
        Self {
            params,
            near,
            kills: Vec::new(),
            parent: Vec::new(),
            index: HashMap::new(),
            by_pilot: HashMap::new(),
            by_system: HashMap::new(),
            watermark: i64::MIN,
        }
    }

    fn root(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) -> bool {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra == rb {
            return false;
        }
        // The smaller index becomes the root: deterministic, and roots stay old kills.
        let (keep, merge) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.parent[merge] = keep;
        true
    }

    /// Add a kill (a second copy of a killmail id is ignored). Returns the root of its group.
    pub fn add(&mut self, kill: Kill) -> usize {
        if let Some(&i) = self.index.get(&kill.id) {
            return self.root(i);
        }
        let i = self.kills.len();
        self.parent.push(i);
        self.index.insert(kill.id, i);
        self.watermark = self.watermark.max(kill.time);
        let gap = self.params.max_gap_secs;
        let mut links = Vec::new();
        for pilot in &kill.pilots {
            let seen = self.by_pilot.entry(*pilot).or_default();
            let from = seen.partition_point(|(t, _)| *t < kill.time - gap);
            for &(t, j) in &seen[from..] {
                if t > kill.time + gap {
                    break;
                }
                links.push(j);
            }
            let at = seen.partition_point(|(t, _)| *t <= kill.time);
            seen.insert(at, (kill.time, i));
        }
        let in_system = self.by_system.entry(kill.system).or_default();
        let at = in_system.partition_point(|(t, _)| *t <= kill.time);
        in_system.insert(at, (kill.time, i));
        links.sort_unstable();
        links.dedup();
        for j in links {
            if (self.near)(self.kills[j].system, kill.system) {
                self.union(i, j);
            }
        }
        self.kills.push(kill);
        self.root(i)
    }

    /// Whether a kill with this id was added.
    pub fn contains(&self, kill_id: u64) -> bool {
        self.index.contains_key(&kill_id)
    }

    /// The newest game time seen.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    fn groups(&mut self) -> HashMap<usize, Vec<usize>> {
        let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..self.kills.len() {
            let r = self.root(i);
            groups.entry(r).or_default().push(i);
        }
        groups
    }

    /// Apply the straggler rule until nothing changes.
    fn absorb_stragglers(&mut self) {
        let q = self.params.quiet_period_secs;
        loop {
            let mut changed = false;
            let anchors: Vec<Vec<usize>> = self.groups().into_values().filter(|m| m.len() >= self.params.anchor_kills).collect();
            for members in anchors {
                let mut times: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
                for &i in &members {
                    times.entry(self.kills[i].system).or_default().push(self.kills[i].time);
                }
                let units: HashSet<u64> = members.iter().flat_map(|&i| self.kills[i].units.iter().copied()).collect();
                let anchor = members[0];
                let mut joining = Vec::new();
                for (system, times) in times {
                    let Some(kills) = self.by_system.get(&system) else { continue };
                    for (from, to) in windows(times, q) {
                        let first = kills.partition_point(|(t, _)| *t < from);
                        let within = kills[first..].iter().take_while(|(t, _)| *t <= to);
                        joining.extend(
                            within.filter(|(_, j)| self.kills[*j].units.iter().any(|u| units.contains(u))).map(|(_, j)| *j),
                        );
                    }
                }
                for j in joining {
                    changed |= self.union(anchor, j);
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// Every battle (groups of at least `min_kills`), ordered by key.
    pub fn battles(&mut self) -> Vec<Battle> {
        self.absorb_stragglers();
        let mut out: Vec<Battle> = self
            .groups()
            .into_values()
            .filter(|members| members.len() >= self.params.min_kills)
            .map(|members| {
                let mut kill_ids: Vec<u64> = members.iter().map(|&i| self.kills[i].id).collect();
                kill_ids.sort_unstable();
                Battle {
                    key: kill_ids[0],
                    start: members.iter().map(|&i| self.kills[i].time).min().unwrap_or_default(),
                    end: members.iter().map(|&i| self.kills[i].time).max().unwrap_or_default(),
                    systems: members.iter().map(|&i| self.kills[i].system).collect(),
                    kill_ids,
                }
            })
            .collect();
        out.sort();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kill(id: u64, minute: i64, system: u32, pilots: &[u64]) -> Kill {
        Kill { id, time: minute * 60, system, pilots: pilots.to_vec(), units: vec![] }
    }

    fn same_system(a: u32, b: u32) -> bool {
        a == b
    }

    fn cluster(kills: Vec<Kill>) -> Vec<Vec<u64>> {
        let mut c = Clusterer::new(Params::default(), same_system);
        for k in kills {
            c.add(k);
        }
        c.battles().into_iter().map(|b| b.kill_ids).collect()
    }

    #[test]
    fn a_battle_made_by_hand_takes_exactly_its_kills() {
        let b = Battle::of(&[kill(9, 30, 2, &[]), kill(4, 10, 1, &[7]), kill(4, 10, 1, &[7])]).unwrap();
        assert_eq!((b.key, b.kill_ids.clone(), b.start, b.end), (4, vec![4, 9], 600, 1800));
        assert_eq!(b.systems.into_iter().collect::<Vec<_>>(), vec![1, 2]);
        assert!(Battle::of(&[]).is_none());
    }

    #[test]
    fn a_long_fight_with_steady_kills_is_one_battle() {
        // Five hours, a kill every ten minutes, the same fleet shooting.
        let kills = (0..30).map(|n| kill(100 + n, n as i64 * 10, 1, &[7, 1000 + n])).collect();
        assert_eq!(cluster(kills).len(), 1);
    }

    #[test]
    fn a_gap_longer_than_the_limit_splits() {
        let battles =
            cluster(vec![kill(1, 0, 1, &[7, 1]), kill(2, 5, 1, &[7, 2]), kill(3, 45, 1, &[7, 3]), kill(4, 50, 1, &[7, 4])]);
        assert_eq!(battles, vec![vec![1, 2], vec![3, 4]]);
    }

    #[test]
    fn kills_without_shared_pilots_stay_apart() {
        let battles = cluster(vec![kill(1, 0, 1, &[7, 1]), kill(2, 1, 1, &[8, 2]), kill(3, 2, 1, &[7, 3])]);
        assert_eq!(battles, vec![vec![1, 3]], "kill 2 shares nobody; alone it is no battle");
    }

    #[test]
    fn a_late_kill_bridges_two_battles() {
        let mut c = Clusterer::new(Params::default(), same_system);
        for k in [kill(1, 0, 1, &[7, 1]), kill(2, 10, 1, &[7, 2]), kill(3, 30, 1, &[8, 3]), kill(4, 35, 1, &[8, 4])] {
            c.add(k);
        }
        assert_eq!(c.battles().len(), 2);
        c.add(kill(5, 20, 1, &[7, 8]));
        assert_eq!(c.battles().iter().map(|b| b.kill_ids.clone()).collect::<Vec<_>>(), vec![vec![1, 2, 3, 4, 5]]);
    }

    #[test]
    fn adjacent_systems_join_through_shared_pilots() {
        let near = |a: u32, b: u32| a == b || (a.min(b), a.max(b)) == (1, 2);
        let mut c = Clusterer::new(Params::default(), near);
        for k in [kill(1, 0, 1, &[7, 1]), kill(2, 5, 2, &[7, 2]), kill(3, 6, 3, &[7, 3])] {
            c.add(k);
        }
        assert_eq!(c.battles()[0].kill_ids, vec![1, 2], "system 3 is too far");
    }

    #[test]
    fn a_big_battle_takes_in_stragglers_of_its_alliances_in_its_systems() {
        let mut c = Clusterer::new(Params::default(), same_system);
        for n in 0..10 {
            c.add(Kill { id: n + 1, time: n as i64 * 60, system: 1, pilots: vec![7, 100 + n], units: vec![50, 60] });
        }
        // An hour later than its pilot's last kill, but within the quiet period of the battle.
        c.add(Kill { id: 20, time: 50 * 60, system: 1, pilots: vec![500, 501], units: vec![60, 70] });
        // Same time and place, but nobody of the battle's alliances.
        c.add(Kill { id: 21, time: 50 * 60, system: 1, pilots: vec![600], units: vec![80] });
        // A battle's alliance, elsewhere.
        c.add(Kill { id: 22, time: 20 * 60, system: 2, pilots: vec![700], units: vec![50] });
        let battles = c.battles();
        assert_eq!(battles.len(), 1);
        assert!(battles[0].kill_ids.contains(&20));
        assert!(!battles[0].kill_ids.contains(&21) && !battles[0].kill_ids.contains(&22));
    }

    #[test]
    fn a_straggler_is_near_the_battles_own_kills_in_its_system() {
        // Ten kills in system 1 over ten minutes, then the same pilot fights on in system 2
        // (linked by the pilot hop by hop; here any two systems are neighbours) for three hours.
        let mut c = Clusterer::new(Params::default(), |_, _| true);
        for n in 0..10 {
            c.add(Kill { id: n + 1, time: n as i64 * 60, system: 1, pilots: vec![7, 100 + n], units: vec![50] });
        }
        for n in 0..10 {
            c.add(Kill { id: 11 + n, time: (10 + n as i64 * 20) * 60, system: 2, pilots: vec![7, 200 + n], units: vec![50] });
        }
        // Inside the battle's span, in a system it fought in, of its alliance: but two hours
        // after its last kill there.
        c.add(Kill { id: 30, time: 130 * 60, system: 1, pilots: vec![500], units: vec![50] });
        // Forty minutes after a kill of the battle in system 2: a straggler.
        c.add(Kill { id: 31, time: 230 * 60, system: 2, pilots: vec![501], units: vec![50] });
        let battle = &c.battles()[0];
        assert!(!battle.kill_ids.contains(&30), "{:?}", battle.kill_ids);
        assert!(battle.kill_ids.contains(&31), "{:?}", battle.kill_ids);
    }

    #[test]
    fn windows_merge_kills_close_together() {
        assert_eq!(windows(vec![100, 0, 30, 500], 20), vec![(-20, 50), (80, 120), (480, 520)]);
        assert_eq!(windows(vec![0, 40], 20), vec![(-20, 60)], "touching windows are one");
        assert_eq!(windows(vec![], 20), vec![]);
    }

    #[test]
    fn duplicates_change_nothing_and_battles_end_after_the_quiet_period() {
        let mut c = Clusterer::new(Params::default(), same_system);
        c.add(kill(1, 0, 1, &[7, 1]));
        c.add(kill(2, 5, 1, &[7, 2]));
        c.add(kill(2, 5, 1, &[7, 2]));
        let b = &c.battles()[0];
        assert_eq!(b.kill_ids, vec![1, 2]);
        assert!(!b.ended(c.watermark(), &Params::default()));
        c.add(kill(9, 60, 5, &[99, 98]));
        assert!(c.battles()[0].ended(c.watermark(), &Params::default()));
    }
}
