//! Operators' edits: a battle made by hand, edited, deleted, merged or split. A battle an
//! operator touched is held: automatic clustering leaves its killmails alone from then on,
//! and the battles that lose killmails to it are recomputed from what they keep.

use super::recluster::{apply, Change, HeldBattle};
use super::store::Store;
use crate::api::{BattleEdit, Merge, Split};
use guest::http::HttpError;
use std::collections::BTreeSet;

/// Why an edit was refused: the answer the operator gets.
pub type Refusal = HttpError;

/// The battle database failed under an edit.
pub fn unavailable(e: String) -> Refusal {
    HttpError::unavailable("the battle database", e)
}

fn bad(parameter: &str, message: String) -> Refusal {
    HttpError::bad(parameter, message)
}

fn new_battle_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Every kill must be known, and none held by a battle other than `editing`.
fn check_kills(store: &Store, ids: &BTreeSet<u64>, editing: &BTreeSet<String>) -> Result<(), Refusal> {
    let known: BTreeSet<u64> = store.kills_by_id(ids).map_err(unavailable)?.into_iter().map(|k| k.id).collect();
    let unknown: Vec<&u64> = ids.difference(&known).take(10).collect();
    if !unknown.is_empty() {
        return Err(bad("body.killmailIds", format!("the battle service has not seen killmails {unknown:?}")));
    }
    if let Some((kill, holder)) = store.pinned(ids).map_err(unavailable)?.into_iter().find(|(_, b)| !editing.contains(b)) {
        return Err(HttpError::Conflict(format!(
            "killmail {kill} belongs to battle {holder}, made by hand; edit that battle first"
        )));
    }
    Ok(())
}

/// Automatic battles (other than `except`) that hold any of `ids`.
fn losing(store: &Store, ids: &BTreeSet<u64>, except: &BTreeSet<String>) -> Result<BTreeSet<String>, String> {
    Ok(store.battles_of(ids)?.difference(except).cloned().collect())
}

fn existing(store: &Store, battle_id: &str) -> Result<super::store::Stored, Refusal> {
    store
        .stored(&[battle_id.to_string()].into())
        .map_err(unavailable)?
        .remove(battle_id)
        .ok_or_else(|| HttpError::NotFound(format!("no battle {battle_id}")))
}

/// `POST /api/battles`: a battle of exactly these killmails. Returns its id.
pub fn create(store: &Store, edit: BattleEdit) -> Result<String, Refusal> {
    let ids: BTreeSet<u64> = edit.killmail_ids.unwrap_or_default().into_iter().collect();
    check_kills(store, &ids, &BTreeSet::new())?;
    let battle_id = new_battle_id();
    let losing = losing(store, &ids, &BTreeSet::new()).map_err(unavailable)?;
    apply(
        store,
        Change {
            held: vec![HeldBattle { battle_id: battle_id.clone(), title: edit.title, kill_ids: ids }],
            losing,
            ..Change::default()
        },
    )
    .map_err(unavailable)?;
    Ok(battle_id)
}

/// `PATCH /api/battles/{id}`: new title and/or killmails; the battle is held from now on.
pub fn update(store: &Store, battle_id: &str, edit: BattleEdit) -> Result<(), Refusal> {
    let stored = existing(store, battle_id)?;
    let current = store.kill_ids_of(battle_id).map_err(unavailable)?;
    let wanted: BTreeSet<u64> = edit.killmail_ids.map(|ids| ids.into_iter().collect()).unwrap_or_else(|| current.clone());
    let this: BTreeSet<String> = [battle_id.to_string()].into();
    check_kills(store, &wanted, &this)?;
    let leaving: BTreeSet<u64> = current.difference(&wanted).copied().collect();
    let change = Change {
        held: vec![HeldBattle { battle_id: battle_id.into(), title: edit.title.or(stored.title), kill_ids: wanted.clone() }],
        losing: losing(store, &wanted, &this).map_err(unavailable)?,
        seeds: if leaving.is_empty() { Vec::new() } else { store.kills_by_id(&leaving).map_err(unavailable)? },
        released: if stored.manual { leaving } else { BTreeSet::new() },
        ..Change::default()
    };
    apply(store, change).map_err(unavailable)?;
    Ok(())
}

/// `DELETE /api/battles/{id}`: a battle made by hand goes, and its killmails return to
/// clustering. A battle clustering found would only form again, so it is refused.
pub fn delete(store: &Store, battle_id: &str) -> Result<(), Refusal> {
    if !existing(store, battle_id)?.manual {
        return Err(HttpError::Conflict(format!(
            "battle {battle_id} was found by clustering and would form again from its killmails; \
             split it, merge it or edit it instead"
        )));
    }
    let kills = store.kill_ids_of(battle_id).map_err(unavailable)?;
    let change = Change {
        deleted: [battle_id.to_string()].into(),
        seeds: store.kills_by_id(&kills).map_err(unavailable)?,
        released: kills,
        ..Change::default()
    };
    apply(store, change).map_err(unavailable)?;
    Ok(())
}

/// `POST /api/battles/{id}/merge`: the battles in the body join this one.
pub fn merge(store: &Store, into: &str, merge: Merge) -> Result<(), Refusal> {
    let target = existing(store, into)?;
    let others: BTreeSet<String> = merge.battle_ids.into_iter().collect();
    let found = store.stored(&others).map_err(unavailable)?;
    if let Some(missing) = others.iter().find(|id| !found.contains_key(*id)) {
        return Err(bad("body.battleIds", format!("no battle {missing}")));
    }
    let mut kills = store.kill_ids_of(into).map_err(unavailable)?;
    for id in &others {
        kills.extend(store.kill_ids_of(id).map_err(unavailable)?);
    }
    let (manual, automatic): (BTreeSet<String>, BTreeSet<String>) = others.into_iter().partition(|id| found[id].manual);
    let change = Change {
        held: vec![HeldBattle { battle_id: into.into(), title: target.title, kill_ids: kills }],
        deleted: manual,
        losing: automatic,
        ..Change::default()
    };
    apply(store, change).map_err(unavailable)?;
    Ok(())
}

/// `POST /api/battles/{id}/split`: these killmails leave for a new battle. Returns its id.
pub fn split(store: &Store, battle_id: &str, split: Split) -> Result<String, Refusal> {
    let stored = existing(store, battle_id)?;
    let current = store.kill_ids_of(battle_id).map_err(unavailable)?;
    let leaving: BTreeSet<u64> = split.killmail_ids.into_iter().collect();
    if let Some(stranger) = leaving.iter().find(|k| !current.contains(k)) {
        return Err(bad("body.killmailIds", format!("killmail {stranger} is not in battle {battle_id}")));
    }
    let staying: BTreeSet<u64> = current.difference(&leaving).copied().collect();
    if staying.is_empty() {
        return Err(bad("body.killmailIds", "a split must leave at least one killmail in the battle".into()));
    }
    let new_id = new_battle_id();
    let change = Change {
        held: vec![
            HeldBattle { battle_id: battle_id.into(), title: stored.title, kill_ids: staying },
            HeldBattle { battle_id: new_id.clone(), title: split.title, kill_ids: leaving },
        ],
        ..Change::default()
    };
    apply(store, change).map_err(unavailable)?;
    Ok(new_id)
}
