//! How changes reach the stored battles: a kill arriving (`handle`), an operator's edit
//! (`manual`), game time passing and coalesced announcements (`lifecycle`). All of it is pure
//! logic over a [`BattleStore`]: the component's store is Postgres (`wasm/store.rs`), the
//! tests' an in-memory one ([`memory::MemoryStore`]), so "incremental equals batch, in any
//! order, through redeliveries and failures" is tested natively.
//!
//! Every change reads what it needs, then writes everything it decided as one [`Write`],
//! which the store applies atomically: the kill, its names, the battles, removals, pins and
//! events together. A failure anywhere before that leaves the store as it was, so a redelivered
//! kill is simply handled again. The Postgres store also runs each change in a transaction that
//! holds one advisory lock, so replicas and operators' edits never interleave.

pub mod lifecycle;
pub mod manual;
pub mod memory;
pub mod preview;
pub mod reach;
mod recluster;

pub use recluster::{apply, Change, HeldBattle};

use crate::clustering::{Kill, Params};
use crate::enriched::Enriched;
use crate::moves::SideMove;
use crate::stats::KillDetail;
use contracts::battle_created::BattleCreated;
use std::collections::{BTreeMap, BTreeSet};

/// A battle as events announce it and the API lists it (`battle.created` / `.updated` /
/// `.ended` share this payload).
pub type BattleSummary = BattleCreated;

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Trying again later may help: a lost connection, a timeout, a lock or serialization
    /// conflict, the database restarting.
    #[error("{0}")]
    Transient(String),
    /// It would fail the same way again: a constraint, a malformed value, a bug.
    #[error("{0}")]
    Permanent(String),
}

/// Kills by id, with what statistics read.
pub type KillMap = BTreeMap<u64, (Kill, KillDetail)>;

/// Whether a battle is still going, in game time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Open,
    Ended,
}

/// What was last announced of a battle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Announced {
    pub version: u64,
    pub kills: u32,
    /// Game time of the battle's last kill then.
    pub end: i64,
    /// Wall clock of the announcement, milliseconds since the epoch.
    pub at_ms: i64,
}

/// A battle as stored: what the next change needs to know of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub summary: BattleSummary,
    pub announced: Announced,
    /// An operator's corrections of its sides (none for a battle clustering owns).
    pub side_moves: Vec<SideMove>,
    /// Every unit on its kills: what decides which kills it takes in as stragglers.
    pub units: BTreeSet<u64>,
}

impl Stored {
    pub fn manual(&self) -> bool {
        self.summary.manual
    }

    pub fn status(&self) -> Status {
        match self.summary.status {
            contracts::battle_created::BattleCreatedStatus::Open => Status::Open,
            contracts::battle_created::BattleCreatedStatus::Ended => Status::Ended,
        }
    }
}

/// A kill the store has, with the version of its details and the manual battle holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownKill {
    pub version: i64,
    pub pinned: Option<String>,
}

/// One battle's new state. `participants` and `statistics` are what the API shows of it.
#[derive(Debug, Clone, PartialEq)]
pub struct BattleRecord {
    pub summary: BattleSummary,
    /// The smallest killmail id: what an automatic battle's id is made from.
    pub key: u64,
    pub kill_ids: Vec<u64>,
    pub announced: Announced,
    pub participants: Vec<ParticipantRow>,
    pub statistics: crate::stats::BattleStats,
    /// The operator's corrections its sides were computed with.
    pub side_moves: Vec<SideMove>,
    /// Every unit on its kills, kept so that finding the big battles a kill may join does not
    /// read all their kills.
    pub units: BTreeSet<u64>,
}

/// A pilot of a battle and the side their group fought on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantRow {
    pub character: u64,
    pub corporation: Option<u64>,
    pub alliance: Option<u64>,
    pub side: Option<usize>,
    /// Ship types they flew here (as victim or attacker).
    pub ships: BTreeSet<u64>,
}

/// A battle whose state changes without its killmails changing (ended, announced).
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub summary: BattleSummary,
    pub announced: Announced,
}

/// An event for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    pub key: String,
    pub payload: String,
}

/// Everything one change writes; a store applies it all or nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Write {
    /// Kills to store (new, or a newer version of their details), with their names.
    pub kills: Vec<Enriched>,
    pub battles: Vec<BattleRecord>,
    pub marks: Vec<Mark>,
    /// Battles that stop existing.
    pub removed: BTreeSet<String>,
    /// Which manual battle holds which kill from now on (`None`: released to clustering).
    pub pins: BTreeMap<u64, Option<String>>,
    pub events: Vec<Outgoing>,
}

impl Write {
    pub fn is_empty(&self) -> bool {
        *self == Write::default()
    }
}

/// The topics battle events go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    pub created: String,
    pub updated: String,
    pub ended: String,
    pub removed: String,
}

impl Default for Topics {
    fn default() -> Self {
        Self {
            created: "battle.created".into(),
            updated: "battle.updated".into(),
            ended: "battle.ended".into(),
            removed: "battle.removed".into(),
        }
    }
}

/// What a change needs besides the store: clustering parameters, topics, the wall clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub params: Params,
    pub topics: Topics,
    /// Wall clock, milliseconds since the epoch (announcements are coalesced in wall time).
    pub now_ms: i64,
    /// Whether a batch of kills also does the lifecycle tick's work ([`lifecycle::due`]) before
    /// it commits: it holds the lock anyway, and while batches keep the lock busy the tick gives
    /// way to them.
    pub lifecycle_with_changes: bool,
}

/// The battle database as the engine sees it. Reads see what the last applied `Write` left;
/// `save` applies a whole `Write` or nothing.
pub trait BattleStore {
    /// Run `change` so that no other change (another replica, an operator's edit) interleaves
    /// with it, and nothing of it stays if it fails.
    fn exclusive<T>(&mut self, change: impl FnOnce(&mut Self) -> Result<T, StoreError>) -> Result<T, StoreError>;
    /// Like `exclusive`, but only if no other change holds the lock now: `None`, and nothing
    /// run, when one does.
    fn exclusive_if_free<T>(&mut self, change: impl FnOnce(&mut Self) -> Result<T, StoreError>) -> Result<Option<T>, StoreError>;
    /// The stored versions of those of these kills the store has, with the manual battle
    /// holding each.
    fn known_all(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, KnownKill>, StoreError>;
    /// Kills that share a pilot with one of `seeds` within the gap, no operator holds.
    fn linked(&self, seeds: &[Kill], params: &Params) -> Result<Vec<Kill>, StoreError>;
    /// Kills no operator holds that one of `battles` would take in as a straggler (one read
    /// for all of them).
    fn stragglers(&self, battles: &[reach::Absorber], params: &Params) -> Result<Vec<Kill>, StoreError>;
    /// Automatic battles of at least `anchor_kills` that would take one of `seeds` in as a
    /// straggler.
    fn absorbing(&self, seeds: &[Kill], params: &Params) -> Result<BTreeSet<String>, StoreError>;
    /// The battles these kills belong to.
    fn battles_of(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeSet<String>, StoreError>;
    /// The kills of these battles.
    fn kills_of(&self, battle_ids: &BTreeSet<String>) -> Result<Vec<Kill>, StoreError>;
    /// Kills by id (those stored).
    fn kills_by_id(&self, ids: &BTreeSet<u64>) -> Result<Vec<Kill>, StoreError>;
    /// The kill ids of each of these battles (those that exist).
    fn members_of(&self, battle_ids: &BTreeSet<String>) -> Result<BTreeMap<String, BTreeSet<u64>>, StoreError>;
    /// The kill ids of one battle.
    fn kill_ids_of(&self, battle_id: &str) -> Result<BTreeSet<u64>, StoreError> {
        Ok(self.members_of(&[battle_id.to_string()].into())?.remove(battle_id).unwrap_or_default())
    }
    /// The manual battles holding any of these kills, by kill.
    fn pinned(&self, kill_ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, String>, StoreError>;
    /// Kills with the details statistics read.
    fn with_details(&self, kill_ids: &BTreeSet<u64>) -> Result<KillMap, StoreError>;
    /// Stored battles by id (those that exist).
    fn stored(&self, battle_ids: &BTreeSet<String>) -> Result<BTreeMap<String, Stored>, StoreError>;
    /// Names of alliances, corporations, systems and regions, where known.
    fn names(&self, ids: &BTreeSet<u64>) -> Result<BTreeMap<u64, String>, StoreError>;
    /// The newest kill time stored (game time): what ends quiet battles.
    fn watermark(&self) -> Result<Option<i64>, StoreError>;
    /// Open battles whose last kill is at or before `time`: the `limit` that ended first.
    fn open_until(&self, time: i64, limit: usize) -> Result<BTreeMap<String, Stored>, StoreError>;
    /// Battles with changes not announced yet, last announced at or before `at_ms`: the
    /// `limit` that waited longest.
    fn unannounced(&self, at_ms: i64, limit: usize) -> Result<BTreeMap<String, Stored>, StoreError>;
    /// Apply a whole `Write`, or nothing of it.
    fn save(&mut self, write: &Write) -> Result<(), StoreError>;
}

/// One `killmail.enriched`: store it and bring the battles around it up to date. A kill seen
/// before at the same (or a newer) version changes nothing. Returns the battles written.
pub fn handle<S: BattleStore>(store: &mut S, event: &Enriched, cx: &Context) -> Result<usize, StoreError> {
    handle_batch(store, std::slice::from_ref(event), cx)
}

/// Several `killmail.enriched` as one change: the battles around all of them are gathered,
/// clustered and written once, so a batch of a big fight costs one rewrite of that fight, not
/// one per kill. The outcome is that of handling them one by one in any order (clustering
/// does not depend on order); of one kill's versions the newest counts. Returns the battles
/// written.
pub fn handle_batch<S: BattleStore>(store: &mut S, events: &[Enriched], cx: &Context) -> Result<usize, StoreError> {
    let mut newest: BTreeMap<u64, &Enriched> = BTreeMap::new();
    for e in events {
        let slot = newest.entry(e.kill.id).or_insert(e);
        if e.version > slot.version {
            *slot = e;
        }
    }
    store.exclusive(|store| {
        let known = store.known_all(&newest.keys().copied().collect())?;
        let mut change = Change::default();
        let mut held: BTreeMap<String, HeldBattle> = BTreeMap::new();
        for (id, event) in &newest {
            let known = known.get(id);
            if known.is_some_and(|k| k.version >= event.version) {
                continue;
            }
            match known.and_then(|k| k.pinned.clone()) {
                // A kill an operator's battle holds only refreshes that battle.
                Some(battle_id) if !held.contains_key(&battle_id) => {
                    let stored = store.stored(&[battle_id.clone()].into())?.remove(&battle_id);
                    let (title, side_moves) = stored.map(|s| (s.summary.title, s.side_moves)).unwrap_or_default();
                    let kill_ids = store.kill_ids_of(&battle_id)?;
                    held.insert(battle_id.clone(), HeldBattle { battle_id, title, kill_ids, side_moves });
                }
                Some(_) => {}
                None => change.seeds.push(event.kill.clone()),
            }
            change.arriving.push((*event).clone());
        }
        if change.arriving.is_empty() {
            return Ok(0);
        }
        change.held = held.into_values().collect();
        let write = apply(store, change, cx)?;
        let written = write.battles.len();
        store.save(&write)?;
        if cx.lifecycle_with_changes {
            lifecycle::due(store, cx)?;
        }
        Ok(written)
    })
}
