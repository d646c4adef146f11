//! `make bench` (battles, growth): does the battle component slow down as history grows? The
//! four recorded days (2021-11-27 to 2021-11-30, 57,461 killmails) go through ingestion and
//! enrichment once; their `killmail.enriched` events are then fed to the battle component again
//! and again, each round shifted four days later with new killmail ids, so every round lands on
//! top of all the earlier ones as one continuous history. Printed: each round's rate and the
//! history it met; the first round is the baseline the last one is compared with (#11 asks for
//! the last within 20 %), and the largest battle after each round: each batch reads and
//! rewrites the battles it touches whole, so a battle that kept growing across the rounds (as
//! faction-warfare space did under the earlier straggler rule) would make the rounds slower.
//!
//! `--rounds N` (default 3) bounds the run: a round takes about a minute on a 2-core machine.

use battlescope_tests::app::{App, Options};
use battlescope_tests::battles::enriched_events;
use battlescope_tests::kafka::produce_many;
use battlescope_tests::replay::{data, Replay, ReplayData};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::{Duration, Instant};

const DAYS: [&str; 4] = ["2021-11-27", "2021-11-28", "2021-11-29", "2021-11-30"];
/// Added to every killmail id per round: more than the four days' id range (about 70,000).
const ID_SHIFT: i64 = 1_000_000;

/// `event` moved `round` rounds later: killmail id and time shifted, a fresh event id.
fn shifted(event: &[u8], round: i64) -> (String, Vec<u8>) {
    let mut e: Value = serde_json::from_slice(event).expect("an enriched event is JSON");
    let data = &mut e["data"];
    let id = data["killmailId"].as_i64().expect("killmailId") + round * ID_SHIFT;
    let time: DateTime<Utc> = data["killmailTime"].as_str().and_then(|t| t.parse().ok()).expect("killmailTime");
    let time = time + chrono::Duration::days(round * DAYS.len() as i64);
    data["killmailId"] = id.into();
    data["killmailTime"] = time.format("%Y-%m-%dT%H:%M:%SZ").to_string().into();
    e["eventId"] = uuid::Uuid::new_v4().to_string().into();
    (id.to_string(), e.to_string().into_bytes())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value_of = |flag: &str| args.iter().skip_while(|a| *a != flag).nth(1).cloned();
    if let Some(host) = value_of("--host") {
        std::env::set_var("BATTLESCOPE_BIN", host);
    }
    let rounds: i64 = value_of("--rounds").map(|r| r.parse().expect("--rounds takes a whole number")).unwrap_or(3);
    assert!(rounds >= 2, "--rounds must be at least 2: the first round is the baseline");
    let mut killmails = Vec::new();
    for day in DAYS {
        killmails.extend(data::load_day(&data::day_file(day)).unwrap());
    }
    let replay = Replay::start(ReplayData::new(killmails.clone()).unwrap(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), "bench_growth", Options { replay_url: Some(replay.base_url.clone()), ..Options::default() })
        .await
        .unwrap();
    eprintln!("preparing: {} killmails of {} days through ingestion and enrichment…", killmails.len(), DAYS.len());
    let events = enriched_events(&app, &killmails).await;
    let per_round = events.len() as i64;

    println!(
        "Battle growth: {} days ({per_round} killmail.enriched) fed to the battle component {rounds} times, \
         each round four days later on top of the earlier ones",
        DAYS.len()
    );
    let mut first = None;
    for round in 0..rounds {
        let messages: Vec<(String, Vec<u8>)> = events.iter().map(|(_, payload)| shifted(payload, round)).collect();
        let history = round * per_round;
        // This round's ids only, by the primary key: counting the whole table on every poll
        // would grow with history too, and share the cores with the component.
        let ids = messages.iter().map(|(key, _)| key.parse::<i64>().expect("keys are killmail ids"));
        let (low, high) = (ids.clone().min().unwrap(), ids.max().unwrap());
        let stored = format!("SELECT count(*) FROM battle_kills WHERE killmail_id BETWEEN {low} AND {high}");
        let started = Instant::now();
        produce_many(&app.enriched_topic, &messages).await;
        app.wait_for_battles(&stored, per_round, Duration::from_secs(3600)).await;
        let rate = per_round as f64 / started.elapsed().as_secs_f64();
        let baseline = *first.get_or_insert(rate);
        println!(
            "round {:>2}   {rate:>7.0} killmails/s   on top of {history:>7} stored killmails   ratio to round 1 {:.2}x",
            round + 1,
            rate / baseline
        );
        // What a batch rewrites grows with the battles it touches (docs/battles.md, "Growth").
        let largest = app
            .battles_db
            .query_one(
                "SELECT kills, round(extract(epoch FROM end_time - start_time) / 3600)::bigint, cardinality(systems)
                 FROM battles ORDER BY kills DESC LIMIT 1",
                &[],
            )
            .await
            .expect("read the largest battle");
        println!(
            "          largest battle so far: {} kills over {} hours in {} systems",
            largest.get::<_, i32>(0),
            largest.get::<_, i64>(1),
            largest.get::<_, i32>(2)
        );
    }
    let peak = app.host.peak_rss_kib().map(|k| format!("{:.0} MiB", k as f64 / 1024.0)).unwrap_or_else(|| "unknown".into());
    println!("host peak RSS over the run    {peak}");
    app.stop().await;
}
