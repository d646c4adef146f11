//! What a batch of arriving kills reaches among the stored ones: kills that share a pilot with
//! one of them within the gap, and big battles that would take one of them in as a straggler.
//! A store reads candidates for the whole batch at once (a superset: every pilot and system of
//! the batch over its whole time span) and these decide, kill by kill, which candidates count,
//! so a batch costs a couple of reads however many kills it brings.

use crate::clustering::{Kill, Params};
use std::collections::BTreeSet;

/// The span of game time that holds every seed's window of `margin` seconds either side.
pub fn span(seeds: &[&Kill], margin: i64) -> Option<(i64, i64)> {
    let from = seeds.iter().map(|k| k.time).min()?;
    let to = seeds.iter().map(|k| k.time).max()?;
    Some((from - margin, to + margin))
}

/// Seeds that can link to anything: those with pilots.
pub fn with_pilots(seeds: &[Kill]) -> Vec<&Kill> {
    seeds.iter().filter(|k| !k.pilots.is_empty()).collect()
}

/// Seeds that can be a battle's stragglers: those with units.
pub fn with_units(seeds: &[Kill]) -> Vec<&Kill> {
    seeds.iter().filter(|k| !k.units.is_empty()).collect()
}

/// Of `candidates`, those sharing a pilot with a seed no more than the gap away in time.
pub fn linked(seeds: &[&Kill], candidates: Vec<Kill>, params: &Params) -> Vec<Kill> {
    let gap = params.max_gap_secs;
    candidates
        .into_iter()
        .filter(|c| seeds.iter().any(|s| (c.time - s.time).abs() <= gap && c.pilots.iter().any(|p| s.pilots.contains(p))))
        .collect()
}

/// A big automatic battle that might take a seed in: where and when it was, and every unit
/// on its kills. It judges by the battle's whole span, a superset of clustering's rule (which
/// asks for a kill of the battle in the seed's system within the quiet period): what it lets
/// through is only read and clustered, and clustering decides. A stored battle's span and
/// systems are on its row; the times of its kills in each system are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absorber {
    pub battle_id: String,
    pub systems: BTreeSet<u32>,
    pub start: i64,
    pub end: i64,
    pub units: BTreeSet<u64>,
}

impl Absorber {
    /// Whether `seed` is in one of its systems, within the quiet period of its time span.
    pub fn near(&self, seed: &Kill, params: &Params) -> bool {
        let q = params.quiet_period_secs;
        self.systems.contains(&seed.system) && self.start - q <= seed.time && seed.time <= self.end + q
    }

    /// Whether `seed` is one of its stragglers: near it, with a unit that fought in it.
    pub fn takes(&self, seed: &Kill, params: &Params) -> bool {
        self.near(seed, params) && seed.units.iter().any(|u| self.units.contains(u))
    }
}

/// Of `candidates`, those one of `battles` takes in as a straggler.
pub fn stragglers(battles: &[Absorber], candidates: Vec<Kill>, params: &Params) -> Vec<Kill> {
    candidates.into_iter().filter(|c| battles.iter().any(|b| b.takes(c, params))).collect()
}

/// Where a battle's stragglers can be: one system over one span of game time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub system: u32,
    pub from: i64,
    pub to: i64,
}

/// The windows that hold every straggler of `battles`: each battle's systems over its span and
/// quiet period, overlapping spans in one system merged, so no kill is in two windows. One
/// span over all the battles' systems read every kill of a busy region for hours.
pub fn straggler_windows(battles: &[Absorber], params: &Params) -> Vec<Window> {
    let q = params.quiet_period_secs;
    let mut spans: Vec<Window> = battles
        .iter()
        .flat_map(|b| b.systems.iter().map(|&system| Window { system, from: b.start - q, to: b.end + q }))
        .collect();
    spans.sort_by_key(|w| (w.system, w.from));
    let mut merged: Vec<Window> = Vec::with_capacity(spans.len());
    for w in spans {
        match merged.last_mut() {
            Some(last) if last.system == w.system && w.from <= last.to => last.to = last.to.max(w.to),
            _ => merged.push(w),
        }
    }
    merged
}

/// The battles of `absorbers` that take in at least one seed.
pub fn absorbing(seeds: &[&Kill], absorbers: &[Absorber], params: &Params) -> BTreeSet<String> {
    absorbers.iter().filter(|a| seeds.iter().any(|s| a.takes(s, params))).map(|a| a.battle_id.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kill(id: u64, time: i64, system: u32, pilots: &[u64], units: &[u64]) -> Kill {
        Kill { id, time, system, pilots: pilots.to_vec(), units: units.to_vec() }
    }

    #[test]
    fn a_candidate_links_only_through_a_seed_near_enough_that_shares_a_pilot() {
        let params = Params::default();
        let gap = params.max_gap_secs;
        let seeds = [kill(1, 10_000, 1, &[7], &[]), kill(2, 50_000, 1, &[8], &[])];
        let seeds: Vec<&Kill> = seeds.iter().collect();
        let candidates = vec![
            kill(10, 10_000 + gap, 2, &[7], &[]),     // pilot 7, at the gap's edge: linked
            kill(11, 10_000 + gap + 1, 2, &[7], &[]), // pilot 7, a second too late
            kill(12, 10_000, 2, &[8], &[]),           // pilot 8 is on the other seed, far away
            kill(13, 50_000 - gap, 3, &[9, 8], &[]),  // pilot 8 near the second seed: linked
        ];
        let ids: Vec<u64> = linked(&seeds, candidates, &params).iter().map(|k| k.id).collect();
        assert_eq!(ids, [10, 13]);
        assert_eq!(span(&seeds, gap), Some((10_000 - gap, 50_000 + gap)));
        assert_eq!(span(&[], gap), None);
    }

    #[test]
    fn a_battle_takes_a_seed_in_its_system_and_time_with_a_unit_of_its_own() {
        let params = Params::default();
        let q = params.quiet_period_secs;
        let jorund =
            Absorber { battle_id: "b".into(), systems: [30001046].into(), start: 1_000, end: 5_000, units: [99005338].into() };
        assert!(jorund.takes(&kill(1, 5_000 + q, 30001046, &[], &[99005338]), &params));
        assert!(!jorund.takes(&kill(1, 5_000 + q + 1, 30001046, &[], &[99005338]), &params), "too late");
        assert!(!jorund.takes(&kill(1, 1_000 - q - 1, 30001046, &[], &[99005338]), &params), "too early");
        assert!(!jorund.takes(&kill(1, 3_000, 30001047, &[], &[99005338]), &params), "another system");
        assert!(!jorund.takes(&kill(1, 3_000, 30001046, &[], &[1354830081]), &params), "a unit not in it");
        let seeds = [kill(1, 3_000, 30001047, &[], &[99005338]), kill(2, 3_000, 30001046, &[], &[99005338])];
        let seeds: Vec<&Kill> = seeds.iter().collect();
        let absorbers = [jorund];
        assert_eq!(absorbing(&seeds, &absorbers, &params), ["b".to_string()].into());
        assert!(absorbing(&seeds[..1], &absorbers, &params).is_empty());
    }

    #[test]
    fn straggler_windows_cover_each_battle_and_merge_only_what_overlaps_in_one_system() {
        let params = Params::default();
        let q = params.quiet_period_secs;
        let battle = |id: &str, systems: &[u32], start, end| Absorber {
            battle_id: id.into(),
            systems: systems.iter().copied().collect(),
            start,
            end,
            units: BTreeSet::new(),
        };
        let battles = [
            battle("a", &[1, 2], 10_000, 20_000),
            battle("b", &[1], 20_000 + 2 * q, 30_000),
            battle("c", &[1], 100_000, 110_000),
        ];
        let w = |system, from, to| Window { system, from, to };
        assert_eq!(
            straggler_windows(&battles, &params),
            [w(1, 10_000 - q, 30_000 + q), w(1, 100_000 - q, 110_000 + q), w(2, 10_000 - q, 20_000 + q)],
            "a and b touch in system 1, c is hours later, system 2 only has a"
        );
        assert!(straggler_windows(&[], &params).is_empty());
        // Every kill a battle takes is inside a window.
        let takes = |k: &Kill| battles.iter().any(|b| b.near(k, &params));
        let windows = straggler_windows(&battles, &params);
        for time in (0..130_000).step_by(500) {
            for system in [1, 2, 3] {
                let k = kill(1, time, system, &[], &[]);
                let inside = windows.iter().any(|w| w.system == system && w.from <= time && time <= w.to);
                assert!(!takes(&k) || inside, "{system} at {time} is near a battle but in no window");
            }
        }
    }
}
