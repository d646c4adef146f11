//! The incremental path against the batch one, on whole recorded days: kills arrive one by
//! one, or in Kafka batches of varying sizes, in a shuffled order, some twice, while the store
//! fails now and then (each failed kill or batch is delivered again, as the Kafka trigger
//! would). At the end the stored battles must be the
//! battles clustering finds over all the kills at once, every battle quiet long enough must
//! have ended, every event published must match its JSON Schema (the contract test of the
//! battle events), and folding the events must give the stored battles.

mod support;

use battle::clustering::{on_the_map, Params};
use battle::engine::memory::MemoryStore;
use battle::engine::{self, lifecycle, BattleStore, Context, StoreError, Topics};
use battle::enriched::Enriched;
use battle::report::battle_id;
use contracts::battle_created::{BattleCreated, BattleCreatedStatus};
use contracts::battle_removed::BattleRemoved;
use contracts::Envelope;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Battle id → kill ids.
type Battles = BTreeMap<String, BTreeSet<u64>>;

fn batch(events: &[Enriched]) -> Battles {
    let mut c = on_the_map(Params::default());
    for e in events {
        c.add(e.kill.clone());
    }
    c.battles().into_iter().map(|b| (battle_id(b.key), b.kill_ids.into_iter().collect())).collect()
}

/// Fails about one call in `one_in` (deterministically from `seed`), transiently.
fn flaky(seed: u64, one_in: u64) -> engine::memory::Faults {
    let mut state = seed | 1;
    Box::new(move |call: &str| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state.is_multiple_of(one_in).then(|| StoreError::Transient(format!("injected failure in {call}")))
    })
}

fn context(now_ms: i64) -> Context {
    Context { params: Params::default(), topics: Topics::default(), now_ms, lifecycle_with_changes: true }
}

/// Every published event against `schemas/events/<eventType>.schema.json`.
fn assert_events_match_their_schemas(store: &MemoryStore) {
    let mut validators: BTreeMap<String, jsonschema::Validator> = BTreeMap::new();
    for e in &store.events {
        let event: serde_json::Value = serde_json::from_str(&e.payload).unwrap();
        let kind = event["eventType"].as_str().unwrap().to_string();
        let validator = validators.entry(kind.clone()).or_insert_with(|| {
            let path = format!("{}/../../schemas/events/{kind}.schema.json", env!("CARGO_MANIFEST_DIR"));
            let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            jsonschema::validator_for(&schema).unwrap()
        });
        if let Err(err) = validator.validate(&event) {
            panic!("{kind} does not match its schema: {err}\n{event}");
        }
        assert_eq!(e.topic, kind, "published to its own topic");
    }
    assert!(validators.len() >= 3, "created, updated and ended all occur on a real day: {:?}", validators.keys());
}

/// The stored battles folded from the events alone: the highest version of each battle's
/// summary, unless a removal with a higher version came.
fn fold(store: &MemoryStore) -> BTreeMap<String, BattleCreated> {
    let mut battles: BTreeMap<String, BattleCreated> = BTreeMap::new();
    let mut removed: BTreeMap<String, u64> = BTreeMap::new();
    for e in &store.events {
        if e.topic == "battle.removed" {
            let r: BattleRemoved = Envelope::parse(e.payload.as_bytes()).unwrap().data;
            let v = removed.entry(e.key.clone()).or_default();
            *v = (*v).max(r.version);
            continue;
        }
        let summary: BattleCreated =
            serde_json::from_value(serde_json::from_str::<serde_json::Value>(&e.payload).unwrap()["data"].clone()).unwrap();
        match battles.get(&e.key) {
            Some(known) if known.version >= summary.version => {}
            _ => {
                battles.insert(e.key.clone(), summary);
            }
        }
    }
    battles.retain(|id, b| removed.get(id).is_none_or(|v| *v < b.version));
    battles
}

/// Run a day through the engine in the order `seed` gives, with redeliveries and faults, in
/// batches of 1 to `largest_batch` kills.
fn run(events: &[Enriched], seed: u64, fail_one_in: Option<u64>, largest_batch: usize) -> MemoryStore {
    let mut order: Vec<&Enriched> = events.iter().collect();
    // About one kill in eight comes twice.
    order.extend(events.iter().enumerate().filter(|(i, _)| (*i as u64).wrapping_mul(seed | 1).is_multiple_of(8)).map(|(_, e)| e));
    support::shuffle(&mut order, seed);
    let mut store = MemoryStore::new();
    if let Some(n) = fail_one_in {
        *store.faults.borrow_mut() = Some(flaky(seed, n));
    }
    let mut now_ms = 1_700_000_000_000;
    let (mut failures, mut ticks) = (0, 0);
    let (mut next, mut batches) = (0, 0);
    while next < order.len() {
        let size = 1 + (seed.wrapping_add(batches).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize % largest_batch;
        let batch: Vec<Enriched> = order[next..(next + size).min(order.len())].iter().map(|e| (*e).clone()).collect();
        now_ms += 100;
        while let Err(err) = engine::handle_batch(&mut store, &batch, &context(now_ms)) {
            assert!(matches!(err, StoreError::Transient(_)), "{err}");
            failures += 1;
        }
        // About every 500 kills, the lifecycle tick.
        if next / 500 != (next + batch.len()) / 500 || next == 0 {
            while lifecycle::tick(&mut store, &context(now_ms)).is_err() {
                ticks += 1;
            }
        }
        next += batch.len();
        batches += 1;
    }
    *store.faults.borrow_mut() = None;
    tick_until_done(&mut store, now_ms + lifecycle::ANNOUNCE_WITHIN_MS + 1);
    eprintln!(
        "{} deliveries in {batches} batches, {failures} failed and were delivered again, {ticks} ticks failed",
        order.len()
    );
    store
}

/// Lifecycle ticks until one has nothing left to do; returns how many did something. Each does
/// at most its limit.
fn tick_until_done(store: &mut MemoryStore, now_ms: i64) -> usize {
    let mut busy = 0;
    loop {
        let done = lifecycle::tick(store, &context(now_ms)).unwrap();
        assert!(done.ended <= lifecycle::TICK_LIMIT && done.announced <= lifecycle::TICK_LIMIT, "{done:?}");
        if done == lifecycle::Tick::default() {
            return busy;
        }
        busy += 1;
    }
}

fn check(date: &str, seed: u64, fail_one_in: Option<u64>, largest_batch: usize) {
    let events: Vec<Enriched> = support::day(date).iter().map(support::enriched).collect();
    let expected = batch(&events);
    let store = run(&events, seed, fail_one_in, largest_batch);
    let stored = store.battles();
    let got: Battles = stored.iter().map(|(id, (_, kills))| (id.clone(), kills.clone())).collect();
    let differ: Vec<_> = expected.iter().filter(|(id, k)| got.get(*id) != Some(k)).map(|(id, _)| id).take(3).collect();
    let extra: Vec<_> = got.keys().filter(|id| !expected.contains_key(*id)).take(3).collect();
    assert!(
        differ.is_empty() && extra.is_empty(),
        "{date}: {} stored vs {} batch; differ {differ:?}, extra {extra:?}",
        got.len(),
        expected.len()
    );

    let watermark = store.watermark().unwrap().unwrap();
    for (id, (s, _)) in &stored {
        let quiet = watermark - s.summary.end_time.timestamp() >= Params::default().quiet_period_secs;
        let ended = s.summary.status == BattleCreatedStatus::Ended;
        assert_eq!(quiet, ended, "{id} ends {} (watermark {watermark}) but is {:?}", s.summary.end_time, s.summary.status);
        assert_eq!(s.summary.version, s.announced.version, "{id}: every change announced after the last tick");
    }

    assert_events_match_their_schemas(&store);
    let folded = fold(&store);
    assert_eq!(
        folded.keys().collect::<Vec<_>>(),
        stored.keys().collect::<Vec<_>>(),
        "{date}: the events name the stored battles"
    );
    for (id, summary) in &folded {
        assert_eq!(*summary, stored[id].0.summary, "{date}: battle {id} as the events tell it");
    }
    eprintln!("{date}: {} battles, {} events", stored.len(), store.events.len());
}

#[test]
fn incremental_equals_batch_on_2021_11_28_with_redeliveries_and_failures() {
    check("2021-11-28", 28, Some(40), 1);
}

#[test]
fn batches_equal_batch_on_2021_11_28_with_redeliveries_and_failures() {
    // A batch makes hundreds of store calls: failing one in 40 would fail nearly all of them.
    check("2021-11-28", 128, Some(2000), 300);
}

#[test]
fn incremental_equals_batch_on_2021_11_29_with_redeliveries_and_failures() {
    check("2021-11-29", 29, Some(40), 1);
}

#[test]
fn incremental_equals_batch_on_2021_11_30_with_redeliveries_and_failures() {
    check("2021-11-30", 30, Some(40), 1);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// Any arrival order of 2021-11-30, in any batches, gives the batch's battles.
    #[test]
    fn any_arrival_order_gives_the_batch_battles(seed in any::<u64>(), largest_batch in 1usize..400) {
        check("2021-11-30", seed, None, largest_batch);
    }
}

#[test]
fn a_backlog_of_quiet_battles_ends_a_bounded_slice_per_tick() {
    // A whole day with no tick at all (the lock was never free, say): hundreds of battles are
    // quiet but still open. Each tick ends the ones that ended first, at most its limit.
    // (Batches of kills end battles themselves, but at most a tick's limit each: here they do
    // not, to make the backlog.)
    let events: Vec<Enriched> = support::day("2021-11-28").iter().map(support::enriched).collect();
    let now_ms = 1_700_000_000_000;
    let day = |lifecycle_with_changes: bool| {
        let mut store = MemoryStore::new();
        for chunk in events.chunks(500) {
            engine::handle_batch(&mut store, chunk, &Context { lifecycle_with_changes, ..context(now_ms) }).unwrap();
        }
        store
    };
    let quiet_before = Params::default().quiet_period_secs;
    let open_and_quiet = |store: &MemoryStore| {
        let watermark = store.watermark().unwrap().unwrap();
        store.open_until(watermark - quiet_before, usize::MAX).unwrap()
    };
    let ended_by_batches = open_and_quiet(&day(true)).len();
    let mut store = day(false);
    let backlog = open_and_quiet(&store);
    eprintln!("quiet battles still open after the day: {} with batches ending them, {} without", ended_by_batches, backlog.len());
    assert!(ended_by_batches < lifecycle::TICK_LIMIT, "batches of kills end quiet battles themselves: {ended_by_batches} left");
    assert!(backlog.len() > 2 * lifecycle::TICK_LIMIT, "the day leaves a backlog: {}", backlog.len());
    let first = lifecycle::tick(&mut store, &context(now_ms)).unwrap();
    assert_eq!(first.ended, lifecycle::TICK_LIMIT);
    let mut by_end: Vec<(_, &String)> = backlog.iter().map(|(id, s)| (s.summary.end_time, id)).collect();
    by_end.sort();
    let first_slice: BTreeSet<&String> = by_end.iter().take(lifecycle::TICK_LIMIT).map(|(_, id)| *id).collect();
    let still_open = open_and_quiet(&store);
    let ended: BTreeSet<&String> = backlog.keys().filter(|id| !still_open.contains_key(*id)).collect();
    assert_eq!(ended, first_slice, "the slice is the battles that ended first");
    let more = tick_until_done(&mut store, now_ms + lifecycle::ANNOUNCE_WITHIN_MS + 1);
    assert!(more >= backlog.len() / lifecycle::TICK_LIMIT - 1, "{more} ticks for {} battles", backlog.len());
    assert!(open_and_quiet(&store).is_empty(), "every quiet battle ended");
}
