//! A battle recomputed with other side moves than its own, for a reader to see an
//! arrangement before an operator saves it. Nothing is written.

use super::recluster::participants;
use super::{BattleStore, BattleSummary, ParticipantRow, Status, StoreError};
use crate::clustering::Battle;
use crate::moves::SideMove;
use crate::report::{report, Owner};
use crate::stats::{BattleStats, KillDetail};

/// What the API shows of a battle, recomputed.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub summary: BattleSummary,
    pub statistics: BattleStats,
    pub participants: Vec<ParticipantRow>,
}

/// `battle_id` with its sides corrected by `moves` (instead of its saved ones); `None` when
/// there is no such battle.
pub fn preview<S: BattleStore>(store: &S, battle_id: &str, moves: &[SideMove]) -> Result<Option<Preview>, StoreError> {
    let Some(stored) = store.stored(&[battle_id.to_string()].into())?.remove(battle_id) else { return Ok(None) };
    let kills = store.with_details(&store.kill_ids_of(battle_id)?)?;
    let Some(battle) = Battle::of(kills.values().map(|(k, _)| k)) else { return Ok(None) };
    let details: Vec<&KillDetail> = battle.kill_ids.iter().map(|id| &kills[id].1).collect();
    let mut r = report(&battle, &details, moves);
    r.battle_id = battle_id.to_string();
    let owner = if stored.manual() { Owner::Operator { title: stored.summary.title.clone() } } else { Owner::Clustering };
    let names = store.names(&r.named_ids())?;
    let summary = r.summary(&names, stored.summary.version, stored.status() == Status::Ended, &owner);
    Ok(Some(Preview { summary, statistics: r.stats.clone(), participants: participants(&r, &kills) }))
}
