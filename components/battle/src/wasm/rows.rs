//! A battle's report as the JSON row `Store::save` writes: the battle, its killmails,
//! participants with their side, statistics per side, and the event that announces it (when
//! one is due).

use super::store::{KillMap, Stored};
use crate::config::Config;
use crate::enriched::format_time;
use crate::report::{worth_announcing, Report};
use crate::sides::Unit;
use contracts::battle_updated::BattleUpdated;
use contracts::Envelope;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// How a battle is owned: by clustering, or by an operator who made or edited it.
pub enum Owner {
    Clustering,
    Operator { title: Option<String> },
}

fn participants(r: &Report, kills: &KillMap) -> Vec<Value> {
    let side_of: BTreeMap<u64, usize> = r
        .sides
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            s.iter().map(move |u| {
                (
                    match u {
                        Unit::Alliance(a) | Unit::Corporation(a) => *a,
                    },
                    i,
                )
            })
        })
        .collect();
    let mut out: BTreeMap<u64, Value> = BTreeMap::new();
    for id in &r.kill_ids {
        let d = &kills[id].1;
        for p in std::iter::once(&d.victim).chain(&d.attackers) {
            if let Some(c) = p.character {
                let unit = p.alliance.or(p.corporation);
                out.insert(
                    c,
                    json!({"c": c, "corp": p.corporation, "al": p.alliance, "side": unit.and_then(|u| side_of.get(&u))}),
                );
            }
        }
    }
    out.into_values().collect()
}

fn statistics(r: &Report) -> Vec<Value> {
    let s = &r.stats;
    let mut out = vec![json!({"side": -1, "statistics": {
        "kills": s.kills, "durationSecs": s.duration_secs, "pilots": s.pilots,
        "corporations": s.corporations, "alliances": s.alliances, "iskDestroyed": s.isk_destroyed,
        "systems": s.systems, "timeline": s.timeline }})];
    out.extend(s.sides.iter().map(|side| json!({"side": side.side, "statistics": side})));
    out
}

/// The row of one battle. `previous` is the battle as stored (for its version and what was
/// last announced); operators' changes are always announced.
pub fn battle_row(config: &Config, r: &Report, owner: &Owner, kills: &KillMap, previous: Option<&Stored>) -> Value {
    let version = previous.map(|p| p.version + 1).unwrap_or(1);
    let (manual, title) = match owner {
        Owner::Clustering => (false, None),
        Owner::Operator { title } => (true, title.clone()),
    };
    let announce = match previous {
        None => true,
        Some(_) if manual => true,
        Some(p) => worth_announcing(r.stats.kills, r.stats.end, p.announced_kills, p.announced_end),
    };
    let data = r.event_data(version);
    let (event, topic) = match previous {
        None => (Envelope::new(data.clone()).to_json(), &config.battle_created_topic),
        Some(_) => (Envelope::new(BattleUpdated(data.clone())).to_json(), &config.battle_updated_topic),
    };
    let (announced_kills, announced_end) = match (announce, previous) {
        (false, Some(p)) => (p.announced_kills, p.announced_end),
        _ => (r.stats.kills, r.stats.end),
    };
    json!({
        "battle_id": r.battle_id, "battle_key": r.key, "start_time": format_time(r.stats.start), "end_time": format_time(r.stats.end),
        "kills": r.stats.kills, "isk_destroyed": r.stats.isk_destroyed.total, "pilots": r.stats.pilots,
        "systems": r.systems, "regions": r.regions, "security_bands": r.bands, "summary": data, "version": version,
        "announced_kills": announced_kills, "announced_end": format_time(announced_end), "killmail_ids": r.kill_ids,
        "participants": participants(r, kills), "statistics": statistics(r),
        "event": announce.then_some(event), "topic": topic, "manual": manual, "title": title,
    })
}
