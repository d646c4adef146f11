//! What happens to battles as time passes: a battle ends once the newest kill seen anywhere
//! (game time, so a backfill ends battles as live data does) is the quiet period past its last
//! kill, and changes that were not worth an event at once are announced a little later, so
//! a consumer that folds the events always catches up with the stored battles.

use super::{Announced, BattleStore, BattleSummary, Context, Mark, Outgoing, StoreError, Write};
use contracts::battle_created::BattleCreatedStatus;
use contracts::battle_ended::BattleEnded;
use contracts::battle_updated::BattleUpdated;
use contracts::{Envelope, Event};

/// How long, in wall time, a change may wait for a coalesced announcement.
pub const ANNOUNCE_WITHIN_MS: i64 = 5_000;

/// Battles one tick ends, and battles it announces, at most. A tick holds the battle lock and
/// must finish within its period; after a backlog (a backfill, a tick that could not get the
/// lock for a while) there can be thousands, and a tick that tried them all would be stopped
/// at its deadline every time and never end any. The rest wait for the next tick.
pub const TICK_LIMIT: usize = 100;

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tick {
    pub ended: usize,
    pub announced: usize,
}

/// Publish `summary` as `event` and remember it as announced.
fn announce<D: Event>(write: &mut Write, topic: &str, summary: BattleSummary, event: D, now_ms: i64) {
    let key = summary.battle_id.to_string();
    write.events.push(Outgoing { topic: topic.to_string(), key, payload: Envelope::new(event).to_json() });
    let (version, kills, end) = (summary.version, summary.kills as u32, summary.end_time.timestamp());
    write.marks.push(Mark { announced: Announced { version, kills, end, at_ms: now_ms }, summary });
}

/// The cron tick: [`due`], when no change holds the battle lock. A held lock means kills are
/// being handled, and each batch does this work itself before it commits, so the tick gives
/// way rather than wait behind them past its period (a backfill's batches of a thousand kept
/// it waiting until it was stopped, tick after tick).
pub fn tick<S: BattleStore>(store: &mut S, cx: &Context) -> Result<Tick, StoreError> {
    Ok(store.exclusive_if_free(|store| due(store, cx))?.unwrap_or_default())
}

/// End the battles that are quiet and announce changes older than [`ANNOUNCE_WITHIN_MS`],
/// inside a change that holds the battle lock.
pub fn due<S: BattleStore>(store: &mut S, cx: &Context) -> Result<Tick, StoreError> {
    let mut write = Write::default();
    let mut done = Tick::default();
    if let Some(watermark) = store.watermark()? {
        for stored in store.open_until(watermark - cx.params.quiet_period_secs, TICK_LIMIT)?.into_values() {
            let mut summary = stored.summary;
            summary.status = BattleCreatedStatus::Ended;
            summary.version += 1;
            announce(&mut write, &cx.topics.ended, summary.clone(), BattleEnded(summary), cx.now_ms);
            done.ended += 1;
        }
    }
    for stored in store.unannounced(cx.now_ms - ANNOUNCE_WITHIN_MS, TICK_LIMIT)?.into_values() {
        if write.marks.iter().any(|m| m.summary.battle_id == stored.summary.battle_id) {
            continue;
        }
        let summary = stored.summary;
        announce(&mut write, &cx.topics.updated, summary.clone(), BattleUpdated(summary), cx.now_ms);
        done.announced += 1;
    }
    if !write.is_empty() {
        store.save(&write)?;
    }
    Ok(done)
}
