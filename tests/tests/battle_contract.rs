//! The battle core's event payload validates against `battle.created` / `battle.updated`,
//! for the biggest battle of a real day.

use battle::clustering::{on_the_map, Params};
use battle::enriched;
use battle::report::report;
use battlescope_tests::contract::validate_event;
use battlescope_tests::replay::data;
use serde_json::json;

/// A `killmail.enriched` envelope with what the battle core reads, from a raw ESI killmail.
fn enriched_event(km: &serde_json::Value) -> Vec<u8> {
    let p = |p: &serde_json::Value| json!({"characterId": p["character_id"], "corporationId": p["corporation_id"], "allianceId": p["alliance_id"], "shipTypeId": p["ship_type_id"]});
    let system = km["solar_system_id"].as_u64().unwrap();
    let place = json!({"id": system, "regionId": eve_static::system(system).map(|s| s.region_id), "securityBand": eve_static::band(system)});
    json!({
        "eventId": uuid::Uuid::new_v4().to_string(), "eventType": "killmail.enriched", "timestamp": "2026-11-29T00:00:00Z",
        "data": {"killmailId": km["killmail_id"], "killmailHash": km["killmail_hash"], "killmailTime": km["killmail_time"], "solarSystem": place,
                 "victim": p(&km["victim"]), "attackers": km["attackers"].as_array().unwrap().iter().map(p).collect::<Vec<_>>(), "values": null}
    })
    .to_string()
    .into_bytes()
}

#[test]
fn battle_events_match_their_schemas() {
    let day = data::load_day(&data::day_file("2021-11-30")).unwrap();
    let parsed: Vec<enriched::Enriched> = day.iter().map(|k| enriched::parse(&enriched_event(k)).unwrap()).collect();
    let mut c = on_the_map(Params::default());
    for e in &parsed {
        c.add(e.kill.clone());
    }
    let battles = c.battles();
    let biggest = battles.iter().max_by_key(|b| b.kill_ids.len()).unwrap();
    let details: Vec<_> = parsed.iter().filter(|e| biggest.kill_ids.contains(&e.kill.id)).map(|e| e.detail.clone()).collect();
    let r = report(biggest, &details);
    for event_type in ["battle.created", "battle.updated"] {
        let envelope = json!({
            "eventId": uuid::Uuid::new_v4().to_string(), "eventType": event_type,
            "timestamp": "2026-11-29T00:00:00.000Z", "data": r.event_data(1),
        });
        validate_event(&envelope.to_string()).unwrap_or_else(|e| panic!("{event_type}: {e}\n{envelope}"));
    }
    assert!(r.stats.kills >= 200 && r.sides.len() >= 2, "{} kills, {} sides", r.stats.kills, r.sides.len());
}
