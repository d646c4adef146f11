//! `make bench` (web part), loopback only, against the real spin.toml on a release host. The
//! killmails of 2021-11-28 from 10:00 to 15:30 (the Jorund fight and whatever else happened
//! then) go through ingestion, enrichment and battles; then, on the Jorund battle:
//!
//! 1. The BFF's report, `GET /api/bff/battle/{id}`: p50/p99 composed from the services (cold,
//!    `Cache-Control: no-cache`) against the same answer from its Redis cache, same run.
//! 2. The web UI in Debian's chromium (`tests/browser/flows.mjs page-load`): time from asking
//!    for `/battle/{id}` with an empty browser cache until the report is drawn (sides and both
//!    timeline charts), and the compressed bytes of script and style it loaded; against the
//!    issue's goals (1 s, 300 KB) and against the cached BFF answer alone.

use battlescope_tests::app::{App, Options};
use battlescope_tests::replay::{data, Replay, ReplayData};
use battlescope_tests::samples::Samples;
use battlescope_tests::{browser, http};
use serde_json::Value;
use std::time::{Duration, Instant};

const FROM: &str = "2021-11-28T10:00:00Z";
const TO: &str = "2021-11-28T15:30:00Z";
const JORUND: u64 = 30001046;

struct Args {
    rounds: usize,
    page_loads: usize,
}

fn parse_args() -> Args {
    let mut args = Args { rounds: 200, page_loads: 10 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            // The host binary comes through BATTLESCOPE_BIN; `--host` sets it.
            "--host" => std::env::set_var("BATTLESCOPE_BIN", value()),
            "--rounds" => args.rounds = value().parse().expect("--rounds takes a number"),
            "--page-loads" => args.page_loads = value().parse().expect("--page-loads takes a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// Milliseconds of `rounds` report requests sent one after another, each checked.
async fn timed(url: &str, rounds: usize, headers: &[(&str, &str)], expect_cache: &str) -> Vec<f64> {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let r = http::request_with_headers("GET", url, "", headers).await.expect("the BFF answers");
        samples.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!((r.status, r.header("x-cache")), (200, Some(expect_cache)), "{}", &r.body[..r.body.len().min(300)]);
    }
    samples
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().unwrap();
    let killmails: Vec<Value> = data::load_day(&data::day_file("2021-11-28"))
        .unwrap()
        .into_iter()
        .filter(|k| k["killmail_time"].as_str().is_some_and(|t| (FROM..=TO).contains(&t)))
        .collect();
    let count = killmails.len();
    let replay = Replay::start(ReplayData::new(killmails).unwrap(), 0).await.unwrap();
    let options = Options { feed: "r2z2", replay_url: Some(replay.base_url.clone()), ..Options::default() };
    let app = App::start(dir.path(), "benchweb", options).await.expect("starting the host");
    let started = Instant::now();
    app.wait_for_battles("SELECT count(*) FROM battle_kills", count as i64, Duration::from_secs(1200)).await;
    println!("{count} killmails of 2021-11-28 {FROM}–{TO} through the pipeline in {:.0} s", started.elapsed().as_secs_f64());
    let list = http::get(&app.host.url(&format!("/api/battles?system={JORUND}&minKills=500"))).await.unwrap().json();
    let battle = &list["battles"][0];
    let id = battle["battleId"].as_str().expect("the Jorund battle formed").to_string();
    println!("the Jorund battle: {} kills, {} pilots", battle["kills"], battle["pilots"]);

    let url = app.host.url(&format!("/api/bff/battle/{id}"));
    let size = http::get(&url).await.unwrap().body.len();
    let cold = timed(&url, (args.rounds / 5).max(10), &[("cache-control", "no-cache")], "refresh").await;
    let cached = timed(&url, args.rounds, &[], "hit").await;
    let (cold, cached) = (Samples::new(cold), Samples::new(cached));
    let (cold50, cold99, hit50, hit99) = (cold.median(), cold.at(0.99), cached.median(), cached.at(0.99));
    println!("BFF report ({} KB of JSON), one request at a time:", size / 1024);
    println!("  composed (cold): p50 {cold50:.1} ms  p99 {cold99:.1} ms");
    println!("  from the cache:  p50 {hit50:.1} ms  p99 {hit99:.1} ms  (p99 cold/cached {:.1}×)", cold99 / hit99);

    let runs = args.page_loads.to_string();
    let output = browser::run("page-load", &app.host.url("/"), "bench-web", &[&id, &runs], Duration::from_secs(300)).await;
    let result: Value = output.lines().rev().find_map(|l| serde_json::from_str(l).ok()).expect("the flow prints its result");
    let loads = Samples::new(result["runs"].as_array().unwrap().iter().filter_map(Value::as_f64).collect());
    let (median, worst) = (loads.median(), loads.max());
    let bytes = result["scriptAndStyleBytes"].as_u64().unwrap();
    println!("Report page in chromium, empty browser cache, {} loads:", loads.len());
    println!(
        "  until drawn: median {median:.0} ms, slowest {worst:.0} ms ({:.2}× the 1 s goal; {:.1}× the cached BFF answer alone)",
        median / 1000.0,
        median / hit50
    );
    println!(
        "  script and style shipped: {:.1} KB compressed ({:.2}× the 300 KB goal)",
        bytes as f64 / 1024.0,
        bytes as f64 / (300.0 * 1024.0)
    );
    app.stop().await;
}
