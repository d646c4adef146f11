//! `make bench` (enrichment part): killmails/s through the enrichment component for one real
//! day (2021-11-29, 10,831 killmails) against the local ESI replay: first with cold caches
//! (every name from ESI), then again with the names cached (Redis and Postgres), the cold run
//! being the baseline.

use battlescope_tests::app::{App, Options};
use battlescope_tests::kafka::produce_many;
use battlescope_tests::replay::{data, Replay, ReplayData};
use std::time::{Duration, Instant};

fn events(killmails: &[serde_json::Value]) -> Vec<(String, Vec<u8>)> {
    killmails
        .iter()
        .map(|km| {
            let id = km["killmail_id"].as_u64().unwrap();
            let event = serde_json::json!({
                "eventId": uuid::Uuid::new_v4().to_string(), "eventType": "killmail.ingested", "timestamp": "2026-11-29T00:00:00.000Z",
                "data": {"killmailId": id, "killmailHash": km["killmail_hash"], "killmailTime": km["killmail_time"],
                         "solarSystemId": km["solar_system_id"], "source": "backfill", "esi": km}
            });
            (id.to_string(), event.to_string().into_bytes())
        })
        .collect()
}

/// Publish the day and time until every killmail is enriched.
async fn run(app: &App, events: &[(String, Vec<u8>)]) -> f64 {
    let started = Instant::now();
    produce_many(&app.ingested_topic, events).await;
    app.wait_for_enriched("SELECT count(*) FROM enriched_killmails", events.len() as i64, Duration::from_secs(1800)).await;
    events.len() as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() {
    if let Some(host) = std::env::args().skip_while(|a| a != "--host").nth(1) {
        std::env::set_var("BATTLESCOPE_BIN", host);
    }
    let killmails = data::load_day(&data::day_file("2021-11-29")).unwrap();
    let replay = Replay::start(ReplayData::new(killmails.clone()).unwrap(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), "bench_enrich", Options { replay_url: Some(replay.base_url.clone()), ..Options::default() })
        .await
        .unwrap();
    // Let the consumer join its group before the clock starts.
    tokio::time::sleep(Duration::from_secs(5)).await;
    println!(
        "Enrichment: 2021-11-29 ({} killmails) from Kafka to enriched_killmails + outbox, ESI replay on 127.0.0.1",
        killmails.len()
    );
    let cold = run(&app, &events(&killmails)).await;
    let cold_calls = replay.counts().esi_names;
    app.enrichment_db.execute("DELETE FROM enriched_killmails", &[]).await.unwrap();
    let warm = run(&app, &events(&killmails)).await;
    let warm_calls = replay.counts().esi_names - cold_calls;
    println!("cold caches                  {cold:>9.0} killmails/s   ({cold_calls} /universe/names/ calls)");
    println!("warm caches                  {warm:>9.0} killmails/s   ({warm_calls} calls)   ratio warm/cold {:.2}x", warm / cold);
    app.stop().await;
}
