//! Ingestion end to end on real killmails: the R2Z2 walk of a whole day, restarts, feed
//! faults and gaps, and the RedisQ path with bodies from the ESI replay.

use battlescope_tests::app::{App, Options};
use battlescope_tests::contract::validate_event;
use battlescope_tests::replay::{data, Fault, Replay, ReplayData, Route};
use std::collections::HashMap;
use std::time::Duration;

const DECISIONS: &str = "SELECT count(*) FROM killmail_decisions";

async fn replay(newest: Option<usize>) -> Replay {
    let killmails = data::load_day(&data::day_file("2021-11-30")).expect("loading the recorded day");
    let replay = Replay::start(ReplayData::new(killmails).unwrap(), 0).await.unwrap();
    if let Some(n) = newest {
        replay.set_window(1, n);
    }
    replay
}

fn r2z2(replay: &Replay) -> Options {
    Options { feed: "r2z2", replay_url: Some(replay.base_url.clone()), ..Options::default() }
}

/// High-sec killmails of the day, counted here from the static data on its own (≥ 0.45,
/// outside the wormhole, abyssal and Pochven exceptions).
fn highsec_count(killmails: &[serde_json::Value]) -> usize {
    let text = std::fs::read_to_string(battlescope_tests::repo_root().join("data/sde/systems.csv")).unwrap();
    let systems: HashMap<u64, (u64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), (f[3].parse().unwrap(), f[4].parse().unwrap()))
        })
        .collect();
    killmails
        .iter()
        .filter(|k| {
            let id = k["solar_system_id"].as_u64().unwrap();
            let (region, security) = systems[&id];
            id < 31_000_000 && region != 10000070 && security >= 0.45
        })
        .count()
}

#[tokio::test]
async fn r2z2_replay_of_a_real_day_stores_every_killmail_once_and_the_statistics_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let killmails = data::load_day(&data::day_file("2021-11-30")).unwrap();
    let total = killmails.len() as i64;
    assert_eq!(total, 11_721);
    let highsec = highsec_count(&killmails) as i64;
    // The feed is empty until the ruleset (everything but high-sec) is in place.
    let replay = replay(Some(0)).await;
    let app = App::start(dir.path(), "r2z2day", r2z2(&replay)).await.unwrap();
    let r = app.put_ruleset(r#"{"trackedSecurityBands": ["lowsec", "nullsec", "wormhole", "pochven", "abyssal"]}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    replay.set_window(1, total as usize);

    app.wait_for_count(DECISIONS, total, Duration::from_secs(900)).await;
    let stats = app.stats().await;
    assert_eq!(stats["received"], total, "{stats}");
    assert_eq!(stats["rejected"]["byRule"]["security_band"], highsec, "{stats}");
    assert_eq!(stats["accepted"], total - highsec, "{stats}");
    assert_eq!(stats["duplicates"], 0, "{stats}");
    assert_eq!(stats["feeds"][0]["lastSequence"], total, "{stats}");
    assert_eq!(app.count("SELECT count(*) FROM killmail_events").await, total - highsec);
    assert_eq!(app.count("SELECT count(DISTINCT sequence) FROM killmail_events").await, total - highsec);
    // One event per stored killmail, each valid against its schema, relayed to Kafka.
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, total - highsec);
    for row in app.db.query("SELECT payload FROM outbox", &[]).await.unwrap() {
        let payload: String = row.get(0);
        validate_event(&payload).unwrap_or_else(|e| panic!("{e}: {payload}"));
    }
    app.wait_for_count("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL", total - highsec, Duration::from_secs(300))
        .await;
    // The replay marks its estimated values; they arrive marked.
    let zkb: String = app.db.query_one("SELECT payload::json->'data'->>'zkb' FROM outbox LIMIT 1", &[]).await.unwrap().get(0);
    assert!(zkb.contains("\"synthetic\":true"), "{zkb}");
    app.stop().await;
}

#[tokio::test]
async fn a_restart_mid_feed_continues_at_the_next_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let replay = replay(Some(600)).await;
    let app = App::start(dir.path(), "r2z2restart", r2z2(&replay)).await.unwrap();
    app.wait_for_count(DECISIONS, 150, Duration::from_secs(300)).await;
    let app = app.crash_and_restart().await.unwrap();
    app.wait_for_count(DECISIONS, 600, Duration::from_secs(300)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(app.count(DECISIONS).await, 600, "nothing past the window");
    assert_eq!(app.count("SELECT count(DISTINCT sequence) FROM killmail_events").await, 600, "no sequence skipped");
    assert_eq!(app.count("SELECT min(sequence) FROM killmail_events").await, 1);
    assert_eq!(app.count("SELECT max(sequence) FROM killmail_events").await, 600);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, 600, "one event per killmail");
    assert_eq!(app.stats().await["duplicates"], 0);
    app.stop().await;
}

#[tokio::test]
async fn feed_faults_are_retried_with_backoff_counted_and_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let replay = replay(Some(120)).await;
    replay.inject(Fault::status(Route::R2z2Package, 429, 2));
    replay.inject(Fault::status(Route::R2z2Package, 503, 2));
    replay.inject(Fault::malformed(Route::R2z2Package, 2));
    let app = App::start(dir.path(), "r2z2faults", r2z2(&replay)).await.unwrap();
    app.wait_for_count(DECISIONS, 120, Duration::from_secs(300)).await;
    let stats = app.stats().await;
    let counters = &stats["counters"];
    assert_eq!(counters["feed_errors:r2z2:429"], 2, "{stats}");
    assert_eq!(counters["feed_errors:r2z2:503"], 2, "{stats}");
    assert_eq!(counters["feed_errors:r2z2:unreadable"], 2, "{stats}");
    assert_eq!(stats["accepted"], 120, "{stats}");
    assert_eq!(app.count("SELECT count(DISTINCT sequence) FROM killmail_events").await, 120);
    assert_eq!(replay.counts().faults_served, 6);
    app.stop().await;
}

#[tokio::test]
async fn sequences_already_gone_are_counted_as_gaps_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let replay = replay(None).await;
    replay.set_window(3001, 3050);
    let app = App::start(dir.path(), "r2z2gaps", r2z2(&replay)).await.unwrap();
    app.wait_for_count(DECISIONS, 50, Duration::from_secs(300)).await;
    let stats = app.stats().await;
    assert_eq!(stats["counters"]["gaps:r2z2"], 3000, "{stats}");
    assert_eq!(app.count("SELECT min(sequence) FROM killmail_events").await, 3001);
    let asked = replay.counts().r2z2_package;
    assert!(asked < 100, "the expired range is skipped, not walked: {asked} package requests");
    app.stop().await;
}

async fn service_stats(app: &App, path: &str) -> serde_json::Value {
    let r = battlescope_tests::http::get(&app.host.url(path)).await.unwrap();
    assert_eq!(r.status, 200, "{path}: {}", r.body);
    r.json()
}

#[tokio::test]
async fn redisq_references_get_their_bodies_from_the_esi_replay() {
    let dir = tempfile::tempdir().unwrap();
    let replay = replay(Some(60)).await;
    replay.inject(Fault::status(Route::EsiKillmail, 503, 3));
    let options = Options { feed: "redisq", replay_url: Some(replay.base_url.clone()), ..Options::default() };
    let app = App::start(dir.path(), "redisq", options).await.unwrap();
    app.wait_for_count(DECISIONS, 60, Duration::from_secs(300)).await;
    assert_eq!(app.count("SELECT count(*) FROM pending_references").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM killmail_events WHERE source = 'redisq'").await, 60);
    let counts = replay.counts();
    assert!(counts.esi_killmail >= 63, "every body from ESI, three retried: {counts:?}");
    // Bodies come through enrichment's ESI gateway, under its one error budget: its client
    // retries the three 503s itself, gives up once, and ingestion asks again on the next tick.
    assert_eq!(app.stats().await["counters"]["feed_errors:esi"], 1);
    let enrichment = service_stats(&app, "/api/enrichment/stats").await;
    assert_eq!(enrichment["counters"]["bodies_from_esi"], 60, "{enrichment}");
    app.stop().await;
}
