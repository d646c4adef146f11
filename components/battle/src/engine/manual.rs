//! Operators' edits: a battle made by hand, edited, deleted, merged or split. A battle an
//! operator touched is held: automatic clustering leaves its killmails alone from then on,
//! and the battles that lose killmails to it are recomputed from what they keep. Each edit
//! runs as one exclusive change, like a kill arriving, so the two never interleave.

use super::{apply, BattleStore, Change, Context, HeldBattle, StoreError, Stored};
use crate::api::{BattleEdit, Merge, Split};
use crate::moves::SideMove;
use crate::sides::Unit;
use guest::http::HttpError;
use std::collections::BTreeSet;

/// Why an edit was refused: the answer the operator gets.
pub type Refusal = HttpError;

/// The battle database failed under an edit.
pub fn unavailable(e: StoreError) -> Refusal {
    HttpError::unavailable("the battle database", e)
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        unavailable(e)
    }
}

fn bad(parameter: &str, message: String) -> Refusal {
    HttpError::bad(parameter, message)
}

/// Every kill must be known, and none held by a battle other than `editing`.
fn check_kills<S: BattleStore>(store: &S, ids: &BTreeSet<u64>, editing: &BTreeSet<String>) -> Result<(), Refusal> {
    let known: BTreeSet<u64> = store.kills_by_id(ids)?.into_iter().map(|k| k.id).collect();
    let unknown: Vec<&u64> = ids.difference(&known).take(10).collect();
    if !unknown.is_empty() {
        return Err(bad("body.killmailIds", format!("the battle service has not seen killmails {unknown:?}")));
    }
    if let Some((kill, holder)) = store.pinned(ids)?.into_iter().find(|(_, b)| !editing.contains(b)) {
        return Err(HttpError::Conflict(format!(
            "killmail {kill} belongs to battle {holder}, made by hand; edit that battle first"
        )));
    }
    Ok(())
}

/// Automatic battles (other than `except`) that hold any of `ids`.
fn losing<S: BattleStore>(store: &S, ids: &BTreeSet<u64>, except: &BTreeSet<String>) -> Result<BTreeSet<String>, StoreError> {
    Ok(store.battles_of(ids)?.difference(except).cloned().collect())
}

fn existing<S: BattleStore>(store: &S, battle_id: &str) -> Result<Stored, Refusal> {
    store
        .stored(&[battle_id.to_string()].into())?
        .remove(battle_id)
        .ok_or_else(|| HttpError::NotFound(format!("no battle {battle_id}")))
}

/// Apply `change` and save what it writes.
fn save<S: BattleStore>(store: &mut S, change: Change, cx: &Context) -> Result<(), Refusal> {
    let write = apply(store, change, cx)?;
    Ok(store.save(&write)?)
}

/// Run an edit as one exclusive change; refusals leave nothing behind.
fn exclusive<S: BattleStore, T>(store: &mut S, edit: impl FnOnce(&mut S) -> Result<T, Refusal>) -> Result<T, Refusal> {
    let mut refusal = None;
    let outcome = store.exclusive(|store| {
        edit(store).map_err(|r| {
            refusal = Some(r);
            // Any error undoes the change; which one it was is kept aside.
            StoreError::Permanent("refused".into())
        })
    });
    match (outcome, refusal) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(r)) => Err(r),
        (Err(e), None) => Err(unavailable(e)),
    }
}

/// `POST /api/battles`: a battle of exactly these killmails, with id `new_id`.
pub fn create<S: BattleStore>(store: &mut S, cx: &Context, new_id: String, edit: BattleEdit) -> Result<String, Refusal> {
    exclusive(store, |store| {
        let ids: BTreeSet<u64> = edit.killmail_ids.unwrap_or_default().into_iter().collect();
        check_kills(store, &ids, &BTreeSet::new())?;
        let losing = losing(store, &ids, &BTreeSet::new())?;
        let held = vec![HeldBattle { battle_id: new_id.clone(), title: edit.title, kill_ids: ids, side_moves: Vec::new() }];
        save(store, Change { held, losing, ..Change::default() }, cx)?;
        Ok(new_id)
    })
}

/// Every unit a move names must be one of the battle's (as its sides show them now).
fn check_moves(stored: &Stored, moves: &[SideMove]) -> Result<(), Refusal> {
    let units: BTreeSet<Unit> = stored
        .summary
        .sides
        .iter()
        .flat_map(|s| {
            let alliances = s.alliances.iter().map(|a| Unit::Alliance(a.id));
            alliances.chain(s.corporations.iter().map(|c| Unit::Corporation(c.id)))
        })
        .collect();
    let named = moves.iter().flat_map(|m| std::iter::once(m.unit).chain(m.joins));
    match named.into_iter().find(|u| !units.contains(u)) {
        Some(u) => Err(bad("body.sideMoves", format!("{u:?} is not on any side of battle {}", stored.summary.battle_id))),
        None => Ok(()),
    }
}

/// `PATCH /api/battles/{id}`: new title, killmails and/or side moves; the battle is held from
/// now on.
pub fn update<S: BattleStore>(store: &mut S, cx: &Context, battle_id: &str, edit: BattleEdit) -> Result<(), Refusal> {
    exclusive(store, |store| {
        let stored = existing(store, battle_id)?;
        if let Some(moves) = &edit.side_moves {
            check_moves(&stored, moves)?;
        }
        let current = store.kill_ids_of(battle_id)?;
        let wanted: BTreeSet<u64> = edit.killmail_ids.map(|ids| ids.into_iter().collect()).unwrap_or_else(|| current.clone());
        let this: BTreeSet<String> = [battle_id.to_string()].into();
        check_kills(store, &wanted, &this)?;
        let leaving: BTreeSet<u64> = current.difference(&wanted).copied().collect();
        let manual = stored.manual();
        let change = Change {
            held: vec![HeldBattle {
                battle_id: battle_id.into(),
                title: edit.title.or(stored.summary.title),
                kill_ids: wanted.clone(),
                side_moves: edit.side_moves.unwrap_or(stored.side_moves),
            }],
            losing: losing(store, &wanted, &this)?,
            seeds: if leaving.is_empty() { Vec::new() } else { store.kills_by_id(&leaving)? },
            released: if manual { leaving } else { BTreeSet::new() },
            ..Change::default()
        };
        save(store, change, cx)
    })
}

/// `DELETE /api/battles/{id}`: a battle made by hand goes, and its killmails return to
/// clustering. A battle clustering found would only form again, so it is refused.
pub fn delete<S: BattleStore>(store: &mut S, cx: &Context, battle_id: &str) -> Result<(), Refusal> {
    exclusive(store, |store| {
        if !existing(store, battle_id)?.manual() {
            return Err(HttpError::Conflict(format!(
                "battle {battle_id} was found by clustering and would form again from its killmails; \
                 split it, merge it or edit it instead"
            )));
        }
        let kills = store.kill_ids_of(battle_id)?;
        let change = Change {
            deleted: [battle_id.to_string()].into(),
            seeds: store.kills_by_id(&kills)?,
            released: kills,
            ..Change::default()
        };
        save(store, change, cx)
    })
}

/// `POST /api/battles/{id}/merge`: the battles in the body join this one.
pub fn merge<S: BattleStore>(store: &mut S, cx: &Context, into: &str, merge: Merge) -> Result<(), Refusal> {
    exclusive(store, |store| {
        let target = existing(store, into)?;
        let others: BTreeSet<String> = merge.battle_ids.into_iter().collect();
        let found = store.stored(&others)?;
        if let Some(missing) = others.iter().find(|id| !found.contains_key(*id)) {
            return Err(bad("body.battleIds", format!("no battle {missing}")));
        }
        let mut kills = store.kill_ids_of(into)?;
        for id in &others {
            kills.extend(store.kill_ids_of(id)?);
        }
        let (manual, automatic): (BTreeSet<String>, BTreeSet<String>) = others.into_iter().partition(|id| found[id].manual());
        let change = Change {
            held: vec![HeldBattle {
                battle_id: into.into(),
                title: target.summary.title,
                kill_ids: kills,
                side_moves: target.side_moves,
            }],
            deleted: manual,
            losing: automatic,
            ..Change::default()
        };
        save(store, change, cx)
    })
}

/// `POST /api/battles/{id}/split`: these killmails leave for a new battle, `new_id`.
pub fn split<S: BattleStore>(
    store: &mut S,
    cx: &Context,
    battle_id: &str,
    new_id: String,
    split: Split,
) -> Result<String, Refusal> {
    exclusive(store, |store| {
        let stored = existing(store, battle_id)?;
        let current = store.kill_ids_of(battle_id)?;
        let leaving: BTreeSet<u64> = split.killmail_ids.into_iter().collect();
        if let Some(stranger) = leaving.iter().find(|k| !current.contains(k)) {
            return Err(bad("body.killmailIds", format!("killmail {stranger} is not in battle {battle_id}")));
        }
        let staying: BTreeSet<u64> = current.difference(&leaving).copied().collect();
        if staying.is_empty() {
            return Err(bad("body.killmailIds", "a split must leave at least one killmail in the battle".into()));
        }
        let change = Change {
            held: vec![
                HeldBattle {
                    battle_id: battle_id.into(),
                    title: stored.summary.title,
                    kill_ids: staying,
                    side_moves: stored.side_moves,
                },
                HeldBattle { battle_id: new_id.clone(), title: split.title, kill_ids: leaving, side_moves: Vec::new() },
            ],
            ..Change::default()
        };
        save(store, change, cx)?;
        Ok(new_id)
    })
}
