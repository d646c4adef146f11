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
/// on its kills.
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

/// The systems and the span of game time that hold every straggler of `battles`.
pub fn straggler_area(battles: &[Absorber], params: &Params) -> Option<(BTreeSet<u32>, i64, i64)> {
    let q = params.quiet_period_secs;
    let from = battles.iter().map(|b| b.start).min()?;
    let to = battles.iter().map(|b| b.end).max()?;
    Some((battles.iter().flat_map(|b| b.systems.iter().copied()).collect(), from - q, to + q))
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
}
