//! `killmail.enriched` → battles: store the kill, gather everything it can join (linked kills,
//! their battles, the stragglers of big battles) until nothing new comes, cluster that with
//! the pure module, and write the result.

use super::exports::battlescope::kafka::incoming_handler::Guest;
use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::store::{time, Store};
use super::Battles;
use crate::clustering::{Clusterer, Kill, Params};
use crate::report::{report, worth_announcing, Report};
use crate::stats::KillDetail;
use crate::{enriched, universe};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

impl Guest for Battles {
    fn handle(message: Message) -> Result<(), KafkaError> {
        let event = enriched::parse(&message.data).map_err(KafkaError::Fatal)?;
        let store = Store::open().map_err(KafkaError::Retryable)?;
        if !store.upsert_kill(&event).map_err(KafkaError::Retryable)? {
            return Ok(()); // seen before: the battles already include it
        }
        update(&store, event).map_err(KafkaError::Retryable)
    }
}

fn cluster(kills: &BTreeMap<u64, (Kill, KillDetail)>, params: &Params) -> Vec<crate::clustering::Battle> {
    let mut c = Clusterer::new(*params, |a, b| universe::within(a, b, params.max_jumps));
    for (kill, _) in kills.values() {
        c.add(kill.clone());
    }
    c.battles()
}

fn update(store: &Store, event: enriched::Enriched) -> Result<(), String> {
    let params = Params::default();
    let mut kills: BTreeMap<u64, (Kill, KillDetail)> = BTreeMap::new();
    for (k, d) in store.linked(&event.kill, &params)? {
        kills.insert(k.id, (k, d));
    }
    // A kill that links to no pilot can still be a big battle's straggler.
    let absorbing = store.absorbing(&event.kill, &params)?;
    if !absorbing.is_empty() {
        for (k, d) in store.kills_of(&absorbing)? {
            kills.entry(k.id).or_insert((k, d));
        }
    }
    kills.insert(event.kill.id, (event.kill, event.detail));
    let mut old_battles: BTreeSet<String> = BTreeSet::new();
    // Grow the set until it is closed: every battle a member belongs to, and every straggler
    // a big battle of the set would take in.
    loop {
        let before = kills.len();
        let members: BTreeSet<u64> = kills.keys().copied().collect();
        let battles: BTreeSet<String> = store.battles_of(&members)?.difference(&old_battles).cloned().collect();
        if !battles.is_empty() {
            for (k, d) in store.kills_of(&battles)? {
                kills.entry(k.id).or_insert((k, d));
            }
            old_battles.extend(battles);
        }
        for b in cluster(&kills, &params).iter().filter(|b| b.kill_ids.len() >= params.anchor_kills) {
            let units: BTreeSet<u64> = b.kill_ids.iter().flat_map(|id| kills[id].0.units.iter().copied()).collect();
            let q = params.quiet_period_secs;
            for (k, d) in store.stragglers(&b.systems, b.start - q, b.end + q, &units)? {
                kills.entry(k.id).or_insert((k, d));
            }
        }
        if kills.len() == before {
            break;
        }
    }
    let battles = cluster(&kills, &params);
    let reports: Vec<Report> = battles
        .iter()
        .map(|b| {
            let details: Vec<KillDetail> = b.kill_ids.iter().map(|id| kills[id].1.clone()).collect();
            report(b, &details)
        })
        .collect();
    let ids: BTreeSet<String> = reports.iter().map(|r| r.battle_id.clone()).collect();
    let stored = store.stored(&ids)?;
    let topic_created = var("battle_created_topic", "battle.created");
    let topic_updated = var("battle_updated_topic", "battle.updated");
    let rows: Vec<Value> = reports
        .iter()
        .map(|r| {
            let previous = stored.get(&r.battle_id);
            let version = previous.map(|p| p.version + 1).unwrap_or(1);
            let (announce, topic, kind) = match previous {
                None => (true, &topic_created, "battle.created"),
                Some(p) => (worth_announcing(r.stats.kills, r.stats.end, p.announced_kills, p.announced_end), &topic_updated, "battle.updated"),
            };
            let data = r.event_data(version);
            let (announced_kills, announced_end) = match (announce, previous) {
                (false, Some(p)) => (p.announced_kills, p.announced_end),
                _ => (r.stats.kills, r.stats.end),
            };
            let event = announce.then(|| {
                json!({"eventId": uuid::Uuid::new_v4().to_string(), "eventType": kind,
                       "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "data": data})
                .to_string()
            });
            let side_of: BTreeMap<u64, usize> = r
                .sides
                .iter()
                .enumerate()
                .flat_map(|(i, s)| s.iter().map(move |u| (match u { crate::sides::Unit::Alliance(a) | crate::sides::Unit::Corporation(a) => *a }, i)))
                .collect();
            let mut participants: BTreeMap<u64, Value> = BTreeMap::new();
            for id in &r.kill_ids {
                let d = &kills[id].1;
                for p in std::iter::once(&d.victim).chain(&d.attackers) {
                    if let Some(c) = p.character {
                        let unit = p.alliance.or(p.corporation);
                        participants.insert(c, json!({"c": c, "corp": p.corporation, "al": p.alliance, "side": unit.and_then(|u| side_of.get(&u))}));
                    }
                }
            }
            let mut statistics = vec![json!({"side": -1, "statistics": {
                "kills": r.stats.kills, "durationSecs": r.stats.duration_secs, "pilots": r.stats.pilots,
                "corporations": r.stats.corporations, "alliances": r.stats.alliances, "iskDestroyed": r.stats.isk_destroyed,
                "systems": r.stats.systems, "timeline": r.stats.timeline }})];
            statistics.extend(r.stats.sides.iter().map(|s| json!({"side": s.side, "statistics": s})));
            json!({
                "battle_id": r.battle_id, "battle_key": r.key, "start_time": time(r.stats.start), "end_time": time(r.stats.end),
                "kills": r.stats.kills, "isk_destroyed": r.stats.isk_destroyed.total, "pilots": r.stats.pilots,
                "systems": r.systems, "regions": r.regions, "summary": data, "version": version,
                "announced_kills": announced_kills, "announced_end": time(announced_end), "killmail_ids": r.kill_ids,
                "participants": participants.into_values().collect::<Vec<_>>(), "statistics": statistics,
                "event": event, "topic": topic,
            })
        })
        .collect();
    let gone: BTreeSet<String> = old_battles.difference(&ids).cloned().collect();
    store.save(&Value::Array(rows), &gone)
}

fn var(name: &str, default: &str) -> String {
    spin_sdk::variables::get(name).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string())
}
