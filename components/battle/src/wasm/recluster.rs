//! Bringing stored battles up to date around some kills: gather everything they can join
//! (linked kills, the big battles they are stragglers of, those battles' kills and
//! stragglers) until nothing new comes, cluster that with the pure module, and write the
//! result together with any battles made by hand.

use super::rows::{battle_row, Owner};
use super::store::{KillMap, Store};
use crate::clustering::{Battle, Kill, Params};
use crate::report::{battle_id, report, Report};
use crate::stats::KillDetail;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub fn cluster(kills: &BTreeMap<u64, Kill>, params: &Params) -> Vec<Battle> {
    let mut c = crate::clustering::on_the_map(*params);
    for kill in kills.values() {
        c.add(kill.clone());
    }
    c.battles()
}

/// What `gather` found: the battles of the gathered kills as clustering now sees them, and
/// the stored battles that held any of them.
pub struct Gathered {
    pub battles: Vec<Battle>,
    pub old_battles: BTreeSet<String>,
}

/// Everything automatic clustering needs to place `seeds` (kills in `excluded` are left out:
/// an operator is taking them).
pub fn gather(store: &Store, seeds: Vec<Kill>, excluded: &BTreeSet<u64>, params: &Params) -> Result<Gathered, String> {
    let mut kills: BTreeMap<u64, Kill> = BTreeMap::new();
    let mut old_battles: BTreeSet<String> = BTreeSet::new();
    let add = |kills: &mut BTreeMap<u64, Kill>, found: Vec<Kill>| {
        for k in found {
            if !excluded.contains(&k.id) {
                kills.entry(k.id).or_insert(k);
            }
        }
    };
    for seed in &seeds {
        add(&mut kills, store.linked(seed, params)?);
        // A kill that links to no pilot can still be a big battle's straggler.
        let absorbing: BTreeSet<String> = store.absorbing(seed, params)?.difference(&old_battles).cloned().collect();
        if !absorbing.is_empty() {
            add(&mut kills, store.kills_of(&absorbing)?);
            old_battles.extend(absorbing);
        }
    }
    add(&mut kills, seeds);
    // Members whose battle was looked up, and big battles (by key and extent) whose stragglers
    // were: a round asks only about what the previous one added.
    let mut asked: BTreeSet<u64> = BTreeSet::new();
    let mut straggler_queries: BTreeSet<(u64, usize, i64, i64)> = BTreeSet::new();
    // Grow the set until it is closed: every battle a member belongs to, and every straggler
    // a big battle of the set would take in.
    loop {
        let before = kills.len();
        let fresh: BTreeSet<u64> = kills.keys().filter(|id| !asked.contains(id)).copied().collect();
        asked.extend(&fresh);
        let battles: BTreeSet<String> = store.battles_of(&fresh)?.difference(&old_battles).cloned().collect();
        if !battles.is_empty() {
            add(&mut kills, store.kills_of(&battles)?);
            old_battles.extend(battles);
        }
        let clustered = cluster(&kills, params);
        for b in clustered.iter().filter(|b| b.kill_ids.len() >= params.anchor_kills) {
            if !straggler_queries.insert((b.key, b.kill_ids.len(), b.start, b.end)) {
                continue;
            }
            let units: BTreeSet<u64> = b.kill_ids.iter().flat_map(|id| kills[id].units.iter().copied()).collect();
            let q = params.quiet_period_secs;
            add(&mut kills, store.stragglers(&b.systems, b.start - q, b.end + q, &units)?);
        }
        if kills.len() == before {
            return Ok(Gathered { battles: clustered, old_battles });
        }
    }
}

/// A battle an operator holds, by id, with its kills.
pub struct HeldBattle {
    pub battle_id: String,
    pub title: Option<String>,
    pub kill_ids: BTreeSet<u64>,
}

/// What a change writes: battles made by hand (`held`), manual battles deleted, kills to
/// place by automatic clustering (`seeds`), and the automatic battles that lost kills to
/// `held` (their remaining kills are placed again).
#[derive(Default)]
pub struct Change {
    pub held: Vec<HeldBattle>,
    pub deleted: BTreeSet<String>,
    pub seeds: Vec<Kill>,
    pub losing: BTreeSet<String>,
    /// Kills released from manual battles, to be handed back to clustering.
    pub released: BTreeSet<u64>,
}

/// The id an automatic battle takes when a battle made by hand already has its usual one.
fn aside(battle_id: &str) -> String {
    battle_id.replacen("-8000-", "-9000-", 1)
}

/// Write `change`: the battles made by hand as given, and everything clustering places anew.
pub fn apply(store: &Store, change: Change) -> Result<Vec<Report>, String> {
    let params = Params::default();
    let held_kills: BTreeSet<u64> = change.held.iter().flat_map(|h| h.kill_ids.iter().copied()).collect();
    let mut seeds = change.seeds;
    if !change.losing.is_empty() {
        seeds.extend(store.kills_of(&change.losing)?.into_iter().filter(|k| !held_kills.contains(&k.id)));
    }
    let Gathered { battles: automatic, mut old_battles } = gather(store, seeds, &held_kills, &params)?;
    old_battles.extend(change.losing.iter().cloned());
    old_battles.extend(change.deleted.iter().cloned());
    let held_ids: BTreeSet<String> = change.held.iter().map(|h| h.battle_id.clone()).collect();
    let reported: BTreeSet<u64> =
        automatic.iter().flat_map(|b| b.kill_ids.iter().copied()).chain(held_kills.iter().copied()).collect();
    let kills: KillMap = store.with_details(&reported)?;
    let candidate_ids = automatic.iter().flat_map(|b| [battle_id(b.key), aside(&battle_id(b.key))]);
    let stored = store.stored(&held_ids.iter().cloned().chain(candidate_ids).collect())?;
    let details = |b: &Battle| -> Vec<KillDetail> { b.kill_ids.iter().map(|id| kills[id].1.clone()).collect() };

    let mut rows: Vec<Value> = Vec::new();
    let mut reports = Vec::new();
    for b in &automatic {
        let mut r = report(b, &details(b));
        // A battle made by hand may carry the id clustering would give: step aside.
        if stored.get(&r.battle_id).is_some_and(|s| s.manual) || held_ids.contains(&r.battle_id) {
            r.battle_id = aside(&r.battle_id);
        }
        rows.push(battle_row(&store.config, &r, &Owner::Clustering, &kills, stored.get(&r.battle_id).filter(|s| !s.manual)));
        reports.push(r);
    }
    let mut pins: BTreeMap<u64, Option<String>> = change.released.iter().map(|k| (*k, None)).collect();
    for h in &change.held {
        let members: Vec<&Kill> = h.kill_ids.iter().filter_map(|id| kills.get(id).map(|(k, _)| k)).collect();
        let Some(b) = Battle::of(members) else { continue };
        let mut r = report(&b, &details(&b));
        r.battle_id = h.battle_id.clone();
        rows.push(battle_row(&store.config, &r, &Owner::Operator { title: h.title.clone() }, &kills, stored.get(&h.battle_id)));
        pins.extend(h.kill_ids.iter().map(|k| (*k, Some(h.battle_id.clone()))));
        reports.push(r);
    }
    let written: BTreeSet<String> = reports.iter().map(|r| r.battle_id.clone()).collect();
    let gone: BTreeSet<String> = old_battles.difference(&written).cloned().collect();
    store.save(&Value::Array(rows), &gone, &pins)?;
    Ok(reports)
}
