//! `make bench` (ingestion part): backfill throughput of one real day (2021-11-30, 11,721
//! killmails) through the ingestion component (rules, storage, outbox), without and with one
//! plugin, against native code doing the same database work in the same run; and the cost of
//! one plugin call (fresh instance + call) against the same decision as a native function call.

use battlescope_tests::app::{App, Options};
use battlescope_tests::metrics_text::sum_by;
use battlescope_tests::plugin_wasm;
use battlescope_tests::replay::data;
use std::time::Instant;

const BATCH: usize = 250;

/// Backfill the day through the component; killmails/s.
async fn component(day: &[String], plugin: bool) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let runtime_config = plugin.then(|| {
        let path = dir.path().join("runtime-config.toml");
        let text = format!(
            "[[ruleset_filter]]\nname = \"capital-ships\"\nsource = {:?}\n",
            plugin_wasm("capital_ships_filter", false).display().to_string()
        );
        std::fs::write(&path, text).unwrap();
        path
    });
    let app = App::start(dir.path(), "bench", Options { runtime_config, ..Options::default() }).await.unwrap();
    let started = Instant::now();
    for chunk in day.chunks(BATCH) {
        let r = app.post_killmails(&chunk.join("\n")).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let elapsed = started.elapsed();
    assert_eq!(app.count("SELECT count(*) FROM killmail_decisions").await, day.len() as i64);
    if plugin {
        let metrics = app.host.metrics().await;
        let value = |name: &str| sum_by(&metrics, name, "plugin").get("capital-ships").copied().unwrap_or(f64::NAN);
        let per_call = value("plugin_call_microseconds_total") / value("plugin_calls_total");
        let native = native_decision_micros(day);
        println!(
            "plugin call (capital-ships)  component {per_call:>9.1} µs/call   native fn    {native:>9.3} µs/call   ratio {:.0}x",
            per_call / native
        );
    }
    app.stop().await;
    day.len() as f64 / elapsed.as_secs_f64()
}

/// The capital-ships decision as a plain function call over the same killmails (the static
/// data's table standing in for the host's lookup).
fn native_decision_micros(day: &[String]) -> f64 {
    let parsed: Vec<(Option<u32>, Vec<Option<u32>>)> = day
        .iter()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let ship = |p: &serde_json::Value| p["ship_type_id"].as_u64().map(|t| t as u32);
            (ship(&v["victim"]), v["attackers"].as_array().unwrap().iter().map(ship).collect())
        })
        .collect();
    let started = Instant::now();
    let mut kept = 0;
    for _ in 0..10 {
        for (victim, attackers) in &parsed {
            kept +=
                usize::from(capital_ships_filter::decide(*victim, attackers, &[], |t| eve_static::is_capital(t.into())).is_ok());
        }
    }
    std::hint::black_box(kept);
    started.elapsed().as_secs_f64() * 1e6 / (10 * parsed.len()) as f64
}

/// Native baseline: the same statement per killmail (decision, killmail row, outbox event)
/// from tokio-postgres, batch by batch, with the same parsing (serde) of each line.
async fn native(day: &[String]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    // A migrated database, made by a host that is stopped before the clock starts.
    let app = App::start(dir.path(), "bench_native", Options::default()).await.unwrap();
    let (db, conn) = tokio_postgres::connect(&app.database_url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let statement = db
        .prepare(
            "WITH decided AS (
                INSERT INTO killmail_decisions (killmail_id, accepted, rule, reason, source)
                VALUES ($1, true, NULL, NULL, 'backfill') ON CONFLICT (killmail_id) DO NOTHING RETURNING killmail_id
            ), stored AS (
                INSERT INTO killmail_events (killmail_id, killmail_hash, killmail_time, solar_system_id, source, tracked)
                SELECT $1, $2, $3::text::timestamptz, $4, 'backfill', false FROM decided RETURNING killmail_id
            ) INSERT INTO outbox (topic, key, payload) SELECT 'killmail.ingested', $1::text, $5 FROM stored",
        )
        .await
        .unwrap();
    let started = Instant::now();
    for line in day {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = v["killmail_id"].as_i64().unwrap();
        let event = serde_json::json!({
            "eventId": uuid::Uuid::new_v4().to_string(), "eventType": "killmail.ingested",
            "timestamp": "2026-11-29T00:00:00.000Z",
            "data": {"killmailId": id, "killmailHash": v["killmail_hash"], "killmailTime": v["killmail_time"],
                     "solarSystemId": v["solar_system_id"], "source": "backfill", "esi": v}
        })
        .to_string();
        let system = v["solar_system_id"].as_i64().unwrap() as i32;
        let time = v["killmail_time"].as_str().unwrap().to_string();
        let hash = v["killmail_hash"].as_str().unwrap().to_string();
        db.execute(&statement, &[&id, &hash, &time, &system, &event]).await.unwrap();
    }
    let elapsed = started.elapsed();
    app.stop().await;
    day.len() as f64 / elapsed.as_secs_f64()
}

#[tokio::main]
async fn main() {
    if let Some(host) = std::env::args().skip_while(|a| a != "--host").nth(1) {
        std::env::set_var("BATTLESCOPE_BIN", host);
    }
    let day: Vec<String> = data::load_day(&data::day_file("2021-11-30")).unwrap().iter().map(|k| k.to_string()).collect();
    println!("Ingestion: backfill of 2021-11-30 ({} killmails) in batches of {BATCH}, rules + storage + outbox", day.len());
    let native = native(&day).await;
    let plain = component(&day, false).await;
    let with_plugin = component(&day, true).await;
    println!(
        "backfill, no plugin          component {plain:>9.0} killmails/s   native SQL   {native:>9.0} killmails/s   ratio {:.2}x",
        plain / native
    );
    println!(
        "backfill, capital-ships      component {with_plugin:>9.0} killmails/s   no plugin    {plain:>9.0} killmails/s   ratio {:.2}x",
        with_plugin / plain
    );
}
