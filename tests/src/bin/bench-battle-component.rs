//! `make bench` (battles, component part): killmails/s through the battle component with its
//! storage, for a full real day (2021-11-28, the Jorund fight included): every
//! `killmail.enriched` of the day, in Kafka order, into an empty battle database, each one
//! stored, its battle gathered, re-clustered and written back; once beside the application's
//! other consumers (as it runs in production) and once alone, in a host serving only the
//! battle worker (`--components`: issue #11 asks for the component's own rate). The baseline,
//! measured in the same run, is the pure clustering module over the same killmails at once
//! (its fastest pass within a second).

use battle::clustering::Kill;
use battlescope_tests::app::{App, Options};
use battlescope_tests::battles::{empty_battles, enriched_events, pure_module_rate, recomputed, settle};
use battlescope_tests::kafka::produce_many;
use battlescope_tests::replay::{data, Replay, ReplayData};
use std::time::{Duration, Instant};

const DAY: &str = "2021-11-28";

#[tokio::main]
async fn main() {
    if let Some(host) = std::env::args().skip_while(|a| a != "--host").nth(1) {
        std::env::set_var("BATTLESCOPE_BIN", host);
    }
    let killmails = data::load_day(&data::day_file(DAY)).unwrap();
    let total = killmails.len() as i64;
    let replay = Replay::start(ReplayData::new(killmails.clone()).unwrap(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut app =
        App::start(dir.path(), "bench_battles", Options { replay_url: Some(replay.base_url.clone()), ..Options::default() })
            .await
            .unwrap();

    // Outside the clock: the day through ingestion and enrichment gives the real events.
    eprintln!("preparing: {DAY} through ingestion and enrichment ({total} killmails)…");
    let events = enriched_events(&app, &killmails).await;

    // The component beside the application's other consumers of its input and its events
    // (notifications and search take the same killmails and every battle event), then alone.
    let (beside, _) = through_the_component(&app, &events).await;
    empty_battles(&app).await;
    app.restart_with_only(&["battle-worker"]).await.unwrap();
    let (component, battles) = through_the_component(&app, &events).await;

    // Baseline: the pure module over the kills as stored, at once.
    let started = Instant::now();
    let expected = recomputed(&app).await.len();
    let pure_with_read = events.len() as f64 / started.elapsed().as_secs_f64();
    let kills: Vec<Kill> = app
        .battles_db
        .query(
            "SELECT killmail_id, extract(epoch FROM killmail_time)::bigint, solar_system_id, pilots, units FROM battle_kills",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| Kill {
            id: r.get::<_, i64>(0) as u64,
            time: r.get(1),
            system: r.get::<_, i64>(2) as u32,
            pilots: r.get::<_, Vec<i64>>(3).into_iter().map(|p| p as u64).collect(),
            units: r.get::<_, Vec<i64>>(4).into_iter().map(|u| u as u64).collect(),
        })
        .collect();
    let (pure, formed) = pure_module_rate(&kills);
    assert_eq!(formed, expected);

    println!("Battles: {DAY} ({} killmail.enriched events) through the battle component into an empty database", events.len());
    println!(
        "component alone, with storage {component:>8.0} killmails/s   ({battles} battles stored, {expected} recomputed)   \
         pure module {pure:.0}/s ({pure_with_read:.0}/s reading the kills from Postgres)   ratio {:.5}x",
        component / pure
    );
    println!(
        "beside notifications, search  {beside:>8.0} killmails/s   (they take the same killmails and every battle event)   ratio {:.5}x",
        beside / pure
    );
    // #11 asks for at most 1 GiB during a day's backfill.
    let peak = app.host.peak_rss_kib().map(|k| format!("{:.0} MiB", k as f64 / 1024.0)).unwrap_or_else(|| "unknown".into());
    println!("host peak RSS, component alone {peak}");
    app.stop().await;
}

/// The day's events through the battle stage into an empty database: killmails/s, and the
/// battles stored. The clock starts once the component has stored the first event: a host
/// that has just started (or restarted) needs seconds for its consumer group's first
/// assignment, which is not the component's speed.
async fn through_the_component(app: &App, events: &[(String, Vec<u8>)]) -> (f64, i64) {
    let (first, rest) = events.split_first().expect("the day has events");
    produce_many(&app.enriched_topic, std::slice::from_ref(first)).await;
    app.wait_for_battles("SELECT count(*) FROM battle_kills", 1, Duration::from_secs(600)).await;
    let started = Instant::now();
    produce_many(&app.enriched_topic, rest).await;
    app.wait_for_battles("SELECT count(*) FROM battle_kills", events.len() as i64, Duration::from_secs(3600)).await;
    let seconds = started.elapsed().as_secs_f64();
    settle(app).await;
    let battles: i64 = app.battles_db.query_one("SELECT count(*) FROM battles", &[]).await.unwrap().get(0);
    (rest.len() as f64 / seconds, battles)
}
