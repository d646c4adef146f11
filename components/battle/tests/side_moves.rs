//! Operators' side corrections through the engine (in-memory store): on the Jorund hours of
//! 2021-11-28, moving Pandemic Horde to Goonswarm's side is kept by the battle, announced,
//! survives a later recomputation of the battle (a killmail of it delivered again with newer
//! details), and clearing the moves gives clustering's sides back; a move naming a unit that
//! is not in the battle is refused. A preview of the move shows the same sides and writes nothing.

mod support;

use battle::api::BattleEdit;
use battle::clustering::Params;
use battle::engine::memory::MemoryStore;
use battle::engine::preview::preview;
use battle::engine::{self, manual, Context, Stored, Topics};
use battle::moves::SideMove;
use battle::sides::Unit;
use std::collections::BTreeSet;

const GOONSWARM: u64 = 1354830081;
const HORDE: u64 = 99005338;

fn context() -> Context {
    // Battles ending is not what these tests are about: the edits' events are.
    Context { params: Params::default(), topics: Topics::default(), now_ms: 1_700_000_000_000, lifecycle_with_changes: false }
}

/// The side index of each alliance, as the battle's summary lists them.
fn side_of(stored: &Stored, alliance: u64) -> Option<u64> {
    stored.summary.sides.iter().find(|s| s.alliances.iter().any(|a| a.id == alliance)).map(|s| s.side)
}

fn jorund(store: &MemoryStore) -> (String, Stored) {
    let (id, (stored, _)) = store.battles().into_iter().max_by_key(|(_, (s, _))| s.summary.kills).expect("battles formed");
    assert!(stored.summary.systems.iter().any(|s| s.id == 30001046), "the biggest battle is in Jorund");
    (id, stored)
}

fn moves(edit: Vec<SideMove>) -> BattleEdit {
    BattleEdit { title: None, killmail_ids: None, side_moves: Some(edit) }
}

#[test]
fn a_moved_alliance_stays_moved_until_the_moves_are_cleared() {
    let events: Vec<_> = support::day("2021-11-28")
        .iter()
        .filter(|k| ("2021-11-28T10:00".."2021-11-28T15:30").contains(&&k["killmail_time"].as_str().unwrap()[..16]))
        .map(support::enriched)
        .collect();
    let mut store = MemoryStore::new();
    for e in &events {
        engine::handle(&mut store, e, &context()).unwrap();
    }
    let (id, before) = jorund(&store);
    assert_ne!(side_of(&before, GOONSWARM), side_of(&before, HORDE), "clustering puts them apart");

    let horde_with_goons = vec![SideMove { unit: Unit::Alliance(HORDE), joins: Some(Unit::Alliance(GOONSWARM)) }];
    let events_before = store.events.len();
    // Seen first, saving nothing.
    let seen = preview(&store, &id, &horde_with_goons).unwrap().expect("the battle exists");
    let seen_side = |alliance: u64| seen.summary.sides.iter().position(|s| s.alliances.iter().any(|a| a.id == alliance));
    assert_eq!(seen_side(HORDE), seen_side(GOONSWARM));
    assert_eq!((store.events.len(), jorund(&store).1), (events_before, before.clone()), "a preview writes nothing");
    manual::update(&mut store, &context(), &id, moves(horde_with_goons.clone())).unwrap();
    let (_, moved) = jorund(&store);
    assert_eq!(moved.side_moves, horde_with_goons);
    assert_eq!(side_of(&moved, HORDE), side_of(&moved, GOONSWARM), "{:?}", moved.summary.sides);
    assert_eq!(moved.summary.sides, seen.summary.sides, "saved as seen");
    assert!(moved.summary.manual, "an edited battle is held");
    let announced = &store.events[events_before..];
    assert!(announced.iter().any(|e| e.topic == "battle.updated" && e.key == id), "the move is announced");

    // A killmail of the battle again, with newer details: the battle is recomputed, the move kept.
    let member: BTreeSet<u64> = store.battles()[&id].1.clone();
    let mut again = events.iter().find(|e| member.contains(&e.kill.id)).unwrap().clone();
    again.version += 1;
    engine::handle(&mut store, &again, &context()).unwrap();
    let (_, recomputed) = jorund(&store);
    assert!(recomputed.summary.version > moved.summary.version, "recomputed");
    assert_eq!(side_of(&recomputed, HORDE), side_of(&recomputed, GOONSWARM));

    // A unit that is not in the battle is refused, and nothing changes.
    let stranger = vec![SideMove { unit: Unit::Alliance(1), joins: None }];
    let refused = manual::update(&mut store, &context(), &id, moves(stranger)).unwrap_err();
    assert!(refused.to_string().contains("not on any side"), "{refused}");
    assert_eq!(jorund(&store).1, recomputed);

    manual::update(&mut store, &context(), &id, moves(Vec::new())).unwrap();
    let (_, cleared) = jorund(&store);
    assert!(cleared.side_moves.is_empty());
    assert!(side_of(&cleared, HORDE).is_some());
    assert_ne!(side_of(&cleared, HORDE), side_of(&cleared, GOONSWARM), "clustering's sides are back");
}
