//! A [`BattleStore`] in memory, with the same meaning as the Postgres one: the engine's
//! property tests run whole recorded days through it, in any order, with redeliveries and
//! injected failures. A `Write` is applied whole or not at all; reads see what the last one
//! left. `faults` can make any call fail, as a database would.

use super::reach::{self, Absorber};
use super::{BattleStore, KillMap, KnownKill, Outgoing, StoreError, Stored, Write};
use crate::clustering::{Kill, Params};
use crate::stats::KillDetail;
use contracts::battle_created::BattleCreatedStatus;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

struct StoredKill {
    kill: Kill,
    detail: KillDetail,
    version: i64,
    pinned: Option<String>,
}

struct MemoryBattle {
    kill_ids: BTreeSet<u64>,
    stored: Stored,
}

/// Decides whether a call (by name) fails; `None` lets it through.
pub type Faults = Box<dyn FnMut(&str) -> Option<StoreError>>;

/// The first `limit` of `ordered`, by battle id.
fn first(ordered: Vec<&Stored>, limit: usize) -> BTreeMap<String, Stored> {
    ordered.into_iter().take(limit).map(|s| (s.summary.battle_id.to_string(), s.clone())).collect()
}

#[derive(Default)]
pub struct MemoryStore {
    kills: BTreeMap<u64, StoredKill>,
    /// Per pilot and per system: (time, kill id), for the range reads clustering makes.
    by_pilot: HashMap<u64, BTreeSet<(i64, u64)>>,
    by_system: HashMap<u32, BTreeSet<(i64, u64)>>,
    member: HashMap<u64, String>,
    battles: BTreeMap<String, MemoryBattle>,
    names: BTreeMap<u64, String>,
    watermark: Option<i64>,
    /// Every event written, in order: what the outbox would relay.
    pub events: Vec<Outgoing>,
    pub faults: RefCell<Option<Faults>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn check(&self, call: &str) -> Result<(), StoreError> {
        match self.faults.borrow_mut().as_mut().and_then(|f| f(call)) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Battles with their kill ids, by id.
    pub fn battles(&self) -> BTreeMap<String, (Stored, BTreeSet<u64>)> {
        self.battles.iter().map(|(id, b)| (id.clone(), (b.stored.clone(), b.kill_ids.clone()))).collect()
    }

    fn unpinned(&self, ids: impl IntoIterator<Item = u64>) -> Vec<Kill> {
        let ids: BTreeSet<u64> = ids.into_iter().collect();
        ids.into_iter().filter_map(|id| self.kills.get(&id)).filter(|k| k.pinned.is_none()).map(|k| k.kill.clone()).collect()
    }

    fn in_range(index: Option<&BTreeSet<(i64, u64)>>, from: i64, to: i64) -> impl Iterator<Item = u64> + '_ {
        index.into_iter().flat_map(move |set| set.range((from, 0)..=(to, u64::MAX)).map(|(_, id)| *id))
    }

    fn store_kill(&mut self, kill: Kill, detail: KillDetail, version: i64) {
        let pinned = self.kills.remove(&kill.id).and_then(|old| {
            for p in &old.kill.pilots {
                self.by_pilot.entry(*p).or_default().remove(&(old.kill.time, old.kill.id));
            }
            self.by_system.entry(old.kill.system).or_default().remove(&(old.kill.time, old.kill.id));
            old.pinned
        });
        for p in &kill.pilots {
            self.by_pilot.entry(*p).or_default().insert((kill.time, kill.id));
        }
        self.by_system.entry(kill.system).or_default().insert((kill.time, kill.id));
        self.watermark = self.watermark.max(Some(kill.time));
        self.kills.insert(kill.id, StoredKill { kill, detail, version, pinned });
    }
}

impl BattleStore for MemoryStore {
    fn exclusive<T>(&mut self, change: impl FnOnce(&mut Self) -> Result<T, StoreError>) -> Result<T, StoreError> {
        // One caller at a time by construction; a change writes only through `save`, which
        // applies all of a `Write` or none of it.
        self.check("exclusive")?;
        change(self)
    }

    fn exclusive_if_free<T>(&mut self, change: impl FnOnce(&mut Self) -> Result<T, StoreError>) -> Result<Option<T>, StoreError> {
        self.exclusive(change).map(Some)
    }

    fn known_all(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, KnownKill>, StoreError> {
        self.check("known")?;
        Ok(kill_ids
            .iter()
            .filter_map(|id| self.kills.get(id).map(|k| (*id, KnownKill { version: k.version, pinned: k.pinned.clone() })))
            .collect())
    }

    fn linked(&self, seeds: &[Kill], params: &Params) -> Result<Vec<Kill>, StoreError> {
        self.check("linked")?;
        let gap = params.max_gap_secs;
        let near = seeds.iter().flat_map(|kill| kill.pilots.iter().map(move |p| (p, kill.time - gap, kill.time + gap)));
        Ok(self.unpinned(near.flat_map(|(p, from, to)| Self::in_range(self.by_pilot.get(p), from, to))))
    }

    fn stragglers(&self, battles: &[Absorber], params: &Params) -> Result<Vec<Kill>, StoreError> {
        self.check("stragglers")?;
        let windows = reach::straggler_windows(battles, params);
        let found = self.unpinned(windows.iter().flat_map(|w| Self::in_range(self.by_system.get(&w.system), w.from, w.to)));
        Ok(reach::stragglers(battles, found, params))
    }

    fn absorbing(&self, seeds: &[Kill], params: &Params) -> Result<BTreeSet<String>, StoreError> {
        self.check("absorbing")?;
        let seeds = reach::with_units(seeds);
        let mut absorbers = Vec::new();
        for (id, b) in self.battles.iter().filter(|(_, b)| !b.stored.manual() && b.kill_ids.len() >= params.anchor_kills) {
            let s = &b.stored.summary;
            let a = Absorber {
                battle_id: id.clone(),
                systems: s.systems.iter().map(|x| x.id as u32).collect(),
                start: s.start_time.timestamp(),
                end: s.end_time.timestamp(),
                // As the battle's write recorded them (the Postgres store reads them so too).
                units: b.stored.units.clone(),
            };
            if seeds.iter().any(|k| a.near(k, params)) {
                absorbers.push(a);
            }
        }
        Ok(reach::absorbing(&seeds, &absorbers, params))
    }

    fn battles_of(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeSet<String>, StoreError> {
        self.check("battles_of")?;
        Ok(kill_ids.iter().filter_map(|k| self.member.get(k).cloned()).collect())
    }

    fn kills_of(&self, battle_ids: &BTreeSet<String>) -> Result<Vec<Kill>, StoreError> {
        self.check("kills_of")?;
        let ids = battle_ids.iter().filter_map(|b| self.battles.get(b)).flat_map(|b| b.kill_ids.iter().copied());
        Ok(ids.filter_map(|id| self.kills.get(&id)).map(|k| k.kill.clone()).collect())
    }

    fn kills_by_id(&self, ids: &BTreeSet<u64>) -> Result<Vec<Kill>, StoreError> {
        self.check("kills_by_id")?;
        Ok(ids.iter().filter_map(|id| self.kills.get(id)).map(|k| k.kill.clone()).collect())
    }

    fn members_of(&self, battle_ids: &BTreeSet<String>) -> Result<BTreeMap<String, BTreeSet<u64>>, StoreError> {
        self.check("members_of")?;
        Ok(battle_ids.iter().filter_map(|id| Some((id.clone(), self.battles.get(id)?.kill_ids.clone()))).collect())
    }

    fn pinned(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, String>, StoreError> {
        self.check("pinned")?;
        Ok(kill_ids.iter().filter_map(|id| Some((*id, self.kills.get(id)?.pinned.clone()?))).collect())
    }

    fn with_details(&self, kill_ids: &BTreeSet<u64>) -> Result<KillMap, StoreError> {
        self.check("with_details")?;
        Ok(kill_ids.iter().filter_map(|id| self.kills.get(id)).map(|k| (k.kill.id, (k.kill.clone(), k.detail.clone()))).collect())
    }

    fn stored(&self, battle_ids: &BTreeSet<String>) -> Result<BTreeMap<String, Stored>, StoreError> {
        self.check("stored")?;
        Ok(battle_ids.iter().filter_map(|id| Some((id.clone(), self.battles.get(id)?.stored.clone()))).collect())
    }

    fn names(&self, ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, String>, StoreError> {
        self.check("names")?;
        Ok(ids.iter().filter_map(|id| Some((*id, self.names.get(id)?.clone()))).collect())
    }

    fn watermark(&self) -> Result<Option<i64>, StoreError> {
        self.check("watermark")?;
        Ok(self.watermark)
    }

    fn open_until(&self, time: i64, limit: usize) -> Result<BTreeMap<String, Stored>, StoreError> {
        self.check("open_until")?;
        let mut quiet: Vec<&Stored> = self
            .battles
            .values()
            .map(|b| &b.stored)
            .filter(|s| s.summary.status == BattleCreatedStatus::Open && s.summary.end_time.timestamp() <= time)
            .collect();
        quiet.sort_by_key(|s| (s.summary.end_time, s.summary.battle_id));
        Ok(first(quiet, limit))
    }

    fn unannounced(&self, at_ms: i64, limit: usize) -> Result<BTreeMap<String, Stored>, StoreError> {
        self.check("unannounced")?;
        let mut waiting: Vec<&Stored> = self
            .battles
            .values()
            .map(|b| &b.stored)
            .filter(|s| s.summary.version > s.announced.version && s.announced.at_ms <= at_ms)
            .collect();
        waiting.sort_by_key(|s| (s.announced.at_ms, s.summary.battle_id));
        Ok(first(waiting, limit))
    }

    fn save(&mut self, w: &Write) -> Result<(), StoreError> {
        self.check("save")?;
        for e in &w.kills {
            self.store_kill(e.kill.clone(), e.detail.clone(), e.version);
            self.names.extend(e.names.iter().map(|(id, n)| (*id, n.clone())));
        }
        for gone in &w.removed {
            if let Some(b) = self.battles.remove(gone) {
                for k in b.kill_ids {
                    if self.member.get(&k) == Some(gone) {
                        self.member.remove(&k);
                    }
                }
            }
        }
        for r in &w.battles {
            let id = r.summary.battle_id.to_string();
            let kill_ids: BTreeSet<u64> = r.kill_ids.iter().copied().collect();
            if let Some(old) = self.battles.get(&id) {
                for k in old.kill_ids.difference(&kill_ids) {
                    if self.member.get(k) == Some(&id) {
                        self.member.remove(k);
                    }
                }
            }
            for k in &kill_ids {
                self.member.insert(*k, id.clone());
            }
            let stored = Stored {
                summary: r.summary.clone(),
                announced: r.announced,
                side_moves: r.side_moves.clone(),
                units: r.units.clone(),
            };
            self.battles.insert(id, MemoryBattle { kill_ids, stored });
        }
        for m in &w.marks {
            if let Some(b) = self.battles.get_mut(&m.summary.battle_id.to_string()) {
                b.stored.summary = m.summary.clone();
                b.stored.announced = m.announced;
            }
        }
        for (kill, battle) in &w.pins {
            if let Some(k) = self.kills.get_mut(kill) {
                k.pinned = battle.clone();
            }
        }
        self.events.extend(w.events.iter().cloned());
        Ok(())
    }
}
