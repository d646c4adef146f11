//! Battles through the whole pipeline (ingestion → enrichment → battle) on a real day: the
//! stored battles equal the battles the pure module computes from all the killmails at once,
//! whatever order the events came in; replaying changes nothing; updates are coalesced.

use battle::clustering::{Clusterer, Kill, Params};
use battlescope_tests::app::{App, Options};
use battlescope_tests::contract::validate_event;
use battlescope_tests::http;
use battlescope_tests::kafka::produce_many;
use battlescope_tests::replay::{data, Replay, ReplayData};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

async fn stored_battles(app: &App) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for r in app.battles_db.query("SELECT battle_id, killmail_id FROM battle_killmails ORDER BY killmail_id", &[]).await.unwrap() {
        out.entry(r.get(0)).or_default().push(r.get(1));
    }
    out
}

/// The battles the pure module finds over every stored kill at once.
async fn recomputed(app: &App) -> BTreeMap<String, Vec<i64>> {
    let rows = app
        .battles_db
        .query(
            "SELECT killmail_id, extract(epoch FROM killmail_time)::bigint, solar_system_id, pilots, units FROM battle_kills",
            &[],
        )
        .await
        .unwrap();
    let mut c = Clusterer::new(Params::default(), |a, b| battle::universe::within(a, b, 1));
    for r in rows {
        let pilots: Vec<i64> = r.get(3);
        let units: Vec<i64> = r.get(4);
        c.add(Kill {
            id: r.get::<_, i64>(0) as u64,
            time: r.get(1),
            system: r.get::<_, i64>(2) as u32,
            pilots: pilots.into_iter().map(|p| p as u64).collect(),
            units: units.into_iter().map(|u| u as u64).collect(),
        });
    }
    c.battles()
        .into_iter()
        .map(|b| (battle::report::battle_id(b.key), b.kill_ids.into_iter().map(|k| k as i64).collect()))
        .collect()
}

/// Wait until the battle consumer has been idle for a few seconds (its last writes follow the
/// last kill row).
async fn settle(app: &App) {
    let mut last = (-1, -1);
    let mut still = 0;
    while still < 4 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = (
            app.battles_db.query_one("SELECT count(*) FROM battle_killmails", &[]).await.unwrap().get::<_, i64>(0),
            app.battles_db.query_one("SELECT coalesce(sum(version), 0)::bigint FROM battles", &[]).await.unwrap().get::<_, i64>(0),
        );
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
}

#[tokio::test]
async fn a_real_day_becomes_battles_that_equal_the_battles_recomputed_from_its_killmails() {
    let dir = tempfile::tempdir().unwrap();
    let killmails = data::load_day(&data::day_file("2021-11-30")).unwrap();
    let replay = Replay::start(ReplayData::new(killmails.clone()).unwrap(), 0).await.unwrap();
    let app = App::start(dir.path(), "battleday", Options { replay_url: Some(replay.base_url.clone()), ..Options::default() })
        .await
        .unwrap();
    for chunk in killmails.chunks(500) {
        let lines: Vec<String> = chunk.iter().map(Value::to_string).collect();
        assert_eq!(app.post_killmails(&lines.join("\n")).await.status, 200);
    }
    let total = killmails.len() as i64;
    app.wait_for_battles("SELECT count(*) FROM battle_kills", total, Duration::from_secs(1200)).await;
    settle(&app).await;

    let stored = stored_battles(&app).await;
    let expected = recomputed(&app).await;
    let differ: Vec<_> = expected.iter().filter(|(id, kills)| stored.get(*id) != Some(kills)).take(3).collect();
    let extra: Vec<_> = stored.keys().filter(|id| !expected.contains_key(*id)).take(3).collect();
    assert!(differ.is_empty() && extra.is_empty(), "{} stored vs {} recomputed; differing {differ:?}; extra {extra:?}", stored.len(), expected.len());

    // The J105951 burst: one battle of 251 kills, served by the API.
    let row = app
        .battles_db
        .query_one("SELECT battle_id, kills FROM battles WHERE 31000368 = ANY(systems) ORDER BY kills DESC LIMIT 1", &[])
        .await
        .unwrap();
    let (id, kills): (String, i32) = (row.get(0), row.get(1));
    assert_eq!(kills, 251);
    let r = http::get(&app.host.url(&format!("/api/battles/{id}"))).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let b = r.json();
    assert_eq!(b["kills"], 251);
    assert!(b["sides"].as_array().unwrap().len() >= 2, "{b}");
    assert!(b["statistics"].as_array().unwrap().len() >= 3, "battle and per-side statistics");

    // Events: valid, and coalesced (far fewer than one per kill).
    let events: Vec<String> = app.battles_db.query("SELECT payload FROM outbox", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    for e in &events {
        validate_event(e).unwrap_or_else(|err| panic!("{err}: {e}"));
    }
    let burst_events = events.iter().filter(|e| e.contains(&id)).count();
    assert!((1..40).contains(&burst_events), "{burst_events} events for a 251-kill battle");

    // Paging and bad input.
    let page = http::get(&app.host.url("/api/battles?limit=5")).await.unwrap().json();
    assert_eq!(page["battles"].as_array().unwrap().len(), 5);
    let cursor = page["nextCursor"].as_str().unwrap().to_string();
    let next = http::get(&app.host.url(&format!("/api/battles?limit=5&cursor={cursor}"))).await.unwrap().json();
    assert_ne!(next["battles"][0]["battleId"], page["battles"][0]["battleId"]);
    for (query, parameter) in [("limit=0", "limit"), ("cursor=x", "cursor"), ("color=red", "color")] {
        let r = http::get(&app.host.url(&format!("/api/battles?{query}"))).await.unwrap();
        assert_eq!((r.status, r.json()["parameter"].as_str().unwrap().to_string()), (400, parameter.to_string()), "{query}");
    }
    assert_eq!(http::get(&app.host.url("/api/battles/nope")).await.unwrap().status, 400);
    assert_eq!(http::get(&app.host.url("/api/battles/00000000-0000-4000-8000-000000000001")).await.unwrap().status, 404);

    // Replaying every killmail.enriched again changes nothing.
    let before: Vec<(String, i32)> =
        app.battles_db.query("SELECT battle_id, version FROM battles ORDER BY battle_id", &[]).await.unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    let replayed: Vec<(String, Vec<u8>)> = app
        .enrichment_db
        .query("SELECT key, payload FROM outbox", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1).into_bytes()))
        .collect();
    produce_many(&app.enriched_topic, &replayed).await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    settle(&app).await;
    let after: Vec<(String, i32)> =
        app.battles_db.query("SELECT battle_id, version FROM battles ORDER BY battle_id", &[]).await.unwrap().iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(before, after, "a replay changed the battles");
    app.stop().await;
}
