//! Bringing stored battles up to date around some kills: gather everything they can join
//! (linked kills, the big battles they are stragglers of, those battles' kills and
//! stragglers) until nothing new comes, cluster that with the pure module, and decide what to
//! write: the battles that changed, those made by hand, those that stopped existing, and the
//! events that announce it.

use super::reach::Absorber;
use super::{
    Announced, BattleRecord, BattleStore, Context, KillMap, Outgoing, ParticipantRow, Status, StoreError, Stored, Write,
};
use crate::clustering::{on_the_map, Battle, Kill, Params};
use crate::enriched::Enriched;
use crate::moves::SideMove;
use crate::report::{battle_id, report, worth_announcing, Owner, Report};
use crate::stats::KillDetail;
use contracts::battle_ended::BattleEnded;
use contracts::battle_removed::{BattleRemoved, BattleRemovedReason};
use contracts::battle_updated::BattleUpdated;
use contracts::Envelope;
use std::collections::{BTreeMap, BTreeSet};

/// What `gather` found: the battles of the gathered kills as clustering now sees them, and
/// the stored battles that held any of them.
struct Gathered {
    battles: Vec<Battle>,
    old_battles: BTreeSet<String>,
}

/// Everything automatic clustering needs to place `seeds` (kills in `excluded` are left out:
/// an operator is taking them).
fn gather<S: BattleStore>(
    store: &S,
    seeds: Vec<Kill>,
    excluded: &BTreeSet<u64>,
    params: &Params,
) -> Result<Gathered, StoreError> {
    let mut kills: BTreeMap<u64, Kill> = BTreeMap::new();
    let mut old_battles: BTreeSet<String> = BTreeSet::new();
    let add = |kills: &mut BTreeMap<u64, Kill>, found: Vec<Kill>| {
        for k in found {
            if !excluded.contains(&k.id) {
                kills.entry(k.id).or_insert(k);
            }
        }
    };
    add(&mut kills, store.linked(&seeds, params)?);
    // A kill that links to no pilot can still be a big battle's straggler.
    let absorbing = store.absorbing(&seeds, params)?;
    if !absorbing.is_empty() {
        add(&mut kills, store.kills_of(&absorbing)?);
        old_battles.extend(absorbing);
    }
    // The seeds as they are now (an arriving kill's newest details win over stored ones).
    for seed in seeds {
        if !excluded.contains(&seed.id) {
            kills.insert(seed.id, seed);
        }
    }
    // Members whose battle was looked up, and big battles (by key and extent) whose stragglers
    // were: a round asks only about what the previous one added.
    let mut asked: BTreeSet<u64> = BTreeSet::new();
    let mut straggler_queries: BTreeSet<(u64, usize, i64, i64)> = BTreeSet::new();
    let mut clusterer = on_the_map(*params);
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
        // Clustering is a function of the set of kills, so one clusterer takes each round's
        // new kills instead of clustering everything again.
        let fresh: Vec<Kill> = kills.values().filter(|k| !clusterer.contains(k.id)).cloned().collect();
        for kill in fresh {
            clusterer.add(kill);
        }
        let clustered = clusterer.battles();
        let mut grown: Vec<Absorber> = Vec::new();
        for b in clustered.iter().filter(|b| b.kill_ids.len() >= params.anchor_kills) {
            if straggler_queries.insert((b.key, b.kill_ids.len(), b.start, b.end)) {
                let units = b.kill_ids.iter().flat_map(|id| kills[id].units.iter().copied()).collect();
                let (systems, start, end) = (b.systems.clone(), b.start, b.end);
                grown.push(Absorber { battle_id: battle_id(b.key), systems, start, end, units });
            }
        }
        if !grown.is_empty() {
            let found = store.stragglers(&grown, params)?;
            add(&mut kills, found);
        }
        if kills.len() == before {
            return Ok(Gathered { battles: clustered, old_battles });
        }
    }
}

/// A battle an operator holds, by id, with its kills.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldBattle {
    pub battle_id: String,
    pub title: Option<String>,
    pub kill_ids: BTreeSet<u64>,
    pub side_moves: Vec<SideMove>,
}

/// What a change is about: kills arriving (stored with the write), battles made by hand
/// (`held`), manual battles deleted, kills to place by automatic clustering (`seeds`), and
/// the automatic battles that lost kills to `held` (their remaining kills are placed again).
#[derive(Debug, Default)]
pub struct Change {
    pub arriving: Vec<Enriched>,
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

/// Pilots of a battle with their group's side and the ships they flew.
pub(super) fn participants(r: &Report, kills: &KillMap) -> Vec<ParticipantRow> {
    let side_of: BTreeMap<u64, usize> =
        r.sides.iter().enumerate().flat_map(|(i, s)| s.iter().map(move |u| (u.id(), i))).collect();
    let mut out: BTreeMap<u64, ParticipantRow> = BTreeMap::new();
    for id in &r.kill_ids {
        let d = &kills[id].1;
        for p in std::iter::once(&d.victim).chain(&d.attackers) {
            let Some(c) = p.character else { continue };
            let unit = p.alliance.or(p.corporation);
            let row = out.entry(c).or_insert_with(|| ParticipantRow {
                character: c,
                corporation: p.corporation,
                alliance: p.alliance,
                side: unit.and_then(|u| side_of.get(&u).copied()),
                ships: BTreeSet::new(),
            });
            // Their latest membership, in time order of the battle's kills.
            (row.corporation, row.alliance, row.side) = (p.corporation, p.alliance, unit.and_then(|u| side_of.get(&u).copied()));
            row.ships.extend(p.ship_type);
        }
    }
    out.into_values().collect()
}

/// An event with its envelope, for the outbox.
fn outgoing<D: contracts::Event>(topic: &str, key: &str, data: D) -> Outgoing {
    Outgoing { topic: topic.to_string(), key: key.to_string(), payload: Envelope::new(data).to_json() }
}

/// What every battle of a change is judged against: the names known, the newest kill time
/// seen, and the change's context.
struct Now<'a> {
    names: &'a BTreeMap<u64, String>,
    watermark: i64,
    cx: &'a Context,
}

/// Decide what to write for one battle's new state: nothing when it did not change, else a
/// new version. It is announced now when it is new, made by hand, ended or reopened, or grew
/// enough; other changes are announced by `lifecycle::tick` a little later. `watermark` is the
/// newest kill time seen: a battle that quiet is ended.
fn record(r: &Report, owner: &Owner, kills: &KillMap, previous: Option<&Stored>, now: &Now, w: &mut Write) {
    let Now { names, watermark, cx } = *now;
    let version = previous.map(|p| p.summary.version).unwrap_or(0);
    let ended = watermark - r.stats.end >= cx.params.quiet_period_secs;
    let mut summary = r.summary(names, version, ended, owner);
    let units: BTreeSet<u64> = r.kill_ids.iter().flat_map(|id| kills[id].0.units.iter().copied()).collect();
    // An operator's write always lands (its killmails may differ with the same figures).
    if *owner == Owner::Clustering && previous.is_some_and(|p| p.summary == summary && p.units == units) {
        return;
    }
    summary.version = version + 1;
    let was = previous.map(|p| p.status());
    let now = if ended { Status::Ended } else { Status::Open };
    let topics = &cx.topics;
    let announcement = match (previous, was) {
        (None, _) => Some(outgoing(&topics.created, &r.battle_id, summary.clone())),
        (Some(_), Some(Status::Open)) if now == Status::Ended => {
            Some(outgoing(&topics.ended, &r.battle_id, BattleEnded(summary.clone())))
        }
        (Some(p), _)
            if was != Some(now)
                || matches!(owner, Owner::Operator { .. })
                || worth_announcing(r.stats.kills, r.stats.end, p.announced.kills, p.announced.end) =>
        {
            Some(outgoing(&topics.updated, &r.battle_id, BattleUpdated(summary.clone())))
        }
        _ => None,
    };
    let announced = if let Some(event) = announcement {
        w.events.push(event);
        Announced { version: summary.version, kills: r.stats.kills, end: r.stats.end, at_ms: cx.now_ms }
    } else {
        previous.map(|p| p.announced).unwrap_or_default()
    };
    w.battles.push(BattleRecord {
        summary,
        key: r.key,
        kill_ids: r.kill_ids.clone(),
        announced,
        participants: participants(r, kills),
        statistics: r.stats.clone(),
        side_moves: r.side_moves.clone(),
        units,
    });
}

/// Work out everything `change` writes: the battles made by hand as given, everything
/// clustering places anew, the battles that stop existing (with where their kills went), the
/// arriving kills, and the events. The caller saves it.
pub fn apply<S: BattleStore>(store: &S, change: Change, cx: &Context) -> Result<Write, StoreError> {
    let params = &cx.params;
    let held_kills: BTreeSet<u64> = change.held.iter().flat_map(|h| h.kill_ids.iter().copied()).collect();
    let mut seeds = change.seeds;
    if !change.losing.is_empty() {
        seeds.extend(store.kills_of(&change.losing)?.into_iter().filter(|k| !held_kills.contains(&k.id)));
    }
    let Gathered { battles: automatic, mut old_battles } = gather(store, seeds, &held_kills, params)?;
    old_battles.extend(change.losing.iter().cloned());
    old_battles.extend(change.deleted.iter().cloned());
    let held_ids: BTreeSet<String> = change.held.iter().map(|h| h.battle_id.clone()).collect();
    let reported: BTreeSet<u64> =
        automatic.iter().flat_map(|b| b.kill_ids.iter().copied()).chain(held_kills.iter().copied()).collect();
    // An arriving kill's details come with it (and win over stored ones): only the others are
    // read. Arriving kills are mostly new, so looking them up found nothing (17,000 ids a day).
    let arriving: BTreeMap<u64, &Enriched> =
        change.arriving.iter().filter(|e| reported.contains(&e.kill.id)).map(|e| (e.kill.id, e)).collect();
    let stored_kills: BTreeSet<u64> = reported.iter().filter(|id| !arriving.contains_key(id)).copied().collect();
    let mut kills: KillMap = store.with_details(&stored_kills)?;
    for (id, e) in arriving {
        kills.insert(id, (e.kill.clone(), e.detail.clone()));
    }
    let candidate_ids = automatic.iter().flat_map(|b| [battle_id(b.key), aside(&battle_id(b.key))]);
    let stored = store.stored(&held_ids.iter().cloned().chain(candidate_ids).chain(old_battles.iter().cloned()).collect())?;
    let details = |b: &Battle| -> Vec<&KillDetail> { b.kill_ids.iter().map(|id| &kills[id].1).collect() };

    let mut reports: Vec<(Report, Owner)> = Vec::new();
    for b in &automatic {
        let mut r = report(b, &details(b), &[]);
        // A battle made by hand may carry the id clustering would give: step aside.
        if stored.get(&r.battle_id).is_some_and(|s| s.manual()) || held_ids.contains(&r.battle_id) {
            r.battle_id = aside(&r.battle_id);
        }
        reports.push((r, Owner::Clustering));
    }
    let mut write = Write { kills: change.arriving, ..Write::default() };
    write.pins = change.released.iter().map(|k| (*k, None)).collect();
    for h in &change.held {
        let members: Vec<&Kill> = h.kill_ids.iter().filter_map(|id| kills.get(id).map(|(k, _)| k)).collect();
        let Some(b) = Battle::of(members) else { continue };
        let mut r = report(&b, &details(&b), &h.side_moves);
        r.battle_id = h.battle_id.clone();
        write.pins.extend(h.kill_ids.iter().map(|k| (*k, Some(h.battle_id.clone()))));
        reports.push((r, Owner::Operator { title: h.title.clone() }));
    }
    let arriving_names = change_names(&write);
    let wanted: BTreeSet<u64> =
        reports.iter().flat_map(|(r, _)| r.named_ids()).filter(|id| !arriving_names.contains_key(id)).collect();
    let mut names = store.names(&wanted)?;
    names.extend(arriving_names);
    let newest_arriving = write.kills.iter().map(|e| e.kill.time).max();
    let watermark = store.watermark()?.max(newest_arriving).unwrap_or(i64::MIN);
    for (r, owner) in &reports {
        let previous = match owner {
            // An automatic battle never continues a manual one (it stepped aside above).
            Owner::Clustering => stored.get(&r.battle_id).filter(|s| !s.manual()),
            Owner::Operator { .. } => stored.get(&r.battle_id),
        };
        record(r, owner, &kills, previous, &Now { names: &names, watermark, cx }, &mut write);
    }
    let written: BTreeSet<&String> = reports.iter().map(|(r, _)| &r.battle_id).collect();
    let gone: BTreeSet<String> =
        old_battles.iter().filter(|b| !written.contains(b) && stored.contains_key(*b)).cloned().collect();
    let mut members = if gone.is_empty() { BTreeMap::new() } else { store.members_of(&gone)? };
    for gone in &gone {
        let s = &stored[gone];
        let former = members.remove(gone).unwrap_or_default();
        let successors: Vec<uuid::Uuid> = reports
            .iter()
            .filter(|(r, _)| r.kill_ids.iter().any(|k| former.contains(k)))
            .filter_map(|(r, _)| r.battle_id.parse().ok())
            .collect();
        let reason = if change.deleted.contains(gone) {
            BattleRemovedReason::Deleted
        } else if successors.is_empty() {
            BattleRemovedReason::Dissolved
        } else {
            BattleRemovedReason::Merged
        };
        let removed = BattleRemoved {
            battle_id: s.summary.battle_id,
            version: s.summary.version + 1,
            reason,
            successor_ids: successors,
            killmails: former.len() as u64,
        };
        write.events.push(outgoing(&cx.topics.removed, gone, removed));
        write.removed.insert(gone.clone());
    }
    Ok(write)
}

/// The names the arriving kills carry (newer than what the store has).
fn change_names(write: &Write) -> BTreeMap<u64, String> {
    write.kills.iter().flat_map(|e| e.names.iter().map(|(id, n)| (*id, n.clone()))).collect()
}
