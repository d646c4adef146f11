//! `make bench` (WebSocket part), loopback only, against the real spin.toml on a release host:
//!
//! 1. Memory: the host's resident memory idle, then with N connections (10,000 by default)
//!    each subscribed to `all:*`; the ratio is the cost of the connections.
//! 2. Fan-out: one event to all N subscribers, time until the last has it, against the
//!    baseline of the same publish reaching one subscriber in the same run.
//! 3. Kill → WebSocket: a recorded hour of 2021-11-28 (the start of the Jorund fight) fed by
//!    the R2Z2 replay at a paced rate through ingestion, enrichment, battles and the
//!    notification worker; from ingestion storing a killmail to a client on `all:*` receiving
//!    its `killmail` push, and to receiving the first battle push that counts it.

use battlescope_tests::app::{App, Options};
use battlescope_tests::replay::{data, Replay, ReplayData};
use battlescope_tests::samples::Samples;
use battlescope_tests::ws::{self, Next};
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

struct Args {
    connections: usize,
    rounds: usize,
    feed_rate: u32,
}

fn parse_args() -> Args {
    let mut args = Args { connections: 10_000, rounds: 5, feed_rate: 20 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            // The host binary comes through BATTLESCOPE_BIN; `--host` sets it.
            "--host" => std::env::set_var("BATTLESCOPE_BIN", value()),
            "--connections" => args.connections = value().parse().expect("--connections takes a number"),
            "--rounds" => args.rounds = value().parse().expect("--rounds takes a number"),
            "--feed-rate" => args.feed_rate = value().parse().expect("--feed-rate takes requests per second"),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn median(values: Vec<f64>) -> f64 {
    Samples::new(values).median()
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0
}

/// Connect `n` clients subscribed to `channel`, `parallel` at a time.
async fn connect_many(url: &str, channel: &str, n: usize, parallel: usize) -> Vec<ws::Client> {
    let started = Instant::now();
    let clients: Vec<ws::Client> = futures::stream::iter(0..n)
        .map(|_| async move {
            let mut c = ws::connect(url, &[]).await.unwrap_or_else(|status| panic!("upgrade refused: {status}"));
            let answer = c.subscribe(&[channel]).await;
            assert_eq!(answer["type"], "subscribed", "{answer}");
            c
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    println!("  connected and subscribed {n} clients in {:.1} s", started.elapsed().as_secs_f64());
    clients
}

/// Each client in a task of its own, reporting when each push arrived.
fn listen(clients: Vec<ws::Client>) -> mpsc::UnboundedReceiver<(Instant, Value)> {
    let (tx, rx) = mpsc::unbounded_channel();
    for mut client in clients {
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                match client.next(Duration::from_secs(3600)).await {
                    Next::Json(v) => {
                        if tx.send((Instant::now(), v)).is_err() {
                            return;
                        }
                    }
                    _ => return,
                }
            }
        });
    }
    rx
}

async fn memory_and_fan_out(args: &Args) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), "benchws", Options::default()).await.expect("starting the host");
    let url = ws::url(&app.host, "/ws/live");
    let stream = app.event_stream();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = app.host.rss_kib().expect("the host's RSS");

    // Baseline: one subscriber on a channel of its own.
    let solo_channel = "battle:00000000-0000-4000-8000-00000000b001";
    let mut solo = listen(connect_many(&url, solo_channel, 1, 1).await);
    let mut solo_ms = Vec::new();
    for round in 0..args.rounds {
        let sent = Instant::now();
        ws::publish(&stream, &[solo_channel], "bench", None, &json!({ "round": round })).await;
        let (at, _) = solo.recv().await.expect("the baseline push");
        solo_ms.push(at.duration_since(sent).as_secs_f64() * 1000.0);
    }

    let clients = connect_many(&url, "all:*", args.connections, 200).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loaded = app.host.rss_kib().expect("the host's RSS");
    let mut pushes = listen(clients);
    let mut fan_out_ms = Vec::new();
    for round in 0..args.rounds {
        let sent = Instant::now();
        ws::publish(&stream, &["all:*"], "bench", None, &json!({ "round": round })).await;
        let mut last = sent;
        for _ in 0..args.connections {
            let (at, push) = tokio::time::timeout(Duration::from_secs(60), pushes.recv())
                .await
                .expect("every subscriber gets the event within a minute")
                .expect("listeners alive");
            assert_eq!(push["data"]["round"], round, "{push}");
            last = last.max(at);
        }
        fan_out_ms.push(last.duration_since(sent).as_secs_f64() * 1000.0);
    }
    let (solo_ms, fan_out_ms) = (median(solo_ms), median(fan_out_ms));
    let n = args.connections;
    println!("connections: host RSS idle {:.1} MB, with {n} subscribed connections {:.1} MB (goal ≤ 500 MB): {:.1} KiB per connection, ratio {:.2}x idle",
        idle as f64 / 1024.0, loaded as f64 / 1024.0, (loaded.saturating_sub(idle)) as f64 / n as f64, loaded as f64 / idle as f64);
    println!("fan-out: one event to {n} subscribers, last received after {fan_out_ms:.1} ms (median of {}); to one subscriber {solo_ms:.2} ms; ratio {:.0}x",
        args.rounds, fan_out_ms / solo_ms);
    app.stop().await;
    solo_ms
}

/// The killmails of 2021-11-28 from 10:00 to 11:00 UTC, in time order (the Jorund fight begins).
fn jorund_hour() -> Vec<Value> {
    let mut day = data::load_day(&data::day_file("2021-11-28")).expect("the recorded day");
    day.retain(|k| k["killmail_time"].as_str().is_some_and(|t| ("2021-11-28T10:00:00Z".."2021-11-28T11:00:00Z").contains(&t)));
    day.sort_by(|a, b| a["killmail_time"].as_str().cmp(&b["killmail_time"].as_str()));
    day
}

async fn kill_to_socket(args: &Args, transport_ms: f64) {
    let killmails = jorund_hour();
    let n = killmails.len();
    let replay = Replay::start(ReplayData::new(killmails).unwrap(), 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        feed: "r2z2",
        replay_url: Some(replay.base_url.clone()),
        feed_requests_per_second: args.feed_rate,
        ..Options::default()
    };
    let app = App::start(dir.path(), "benchpipe", options).await.expect("starting the host");
    let mut client = ws::connect(&ws::url(&app.host, "/ws/live"), &[]).await.expect("connecting");
    client.subscribe(&["all:*"]).await;
    let (tx, mut rx) = mpsc::unbounded_channel::<(f64, Value)>();
    tokio::spawn(async move {
        while let Next::Json(v) = client.next(Duration::from_secs(3600)).await {
            let _ = tx.send((now_ms(), v));
        }
    });
    let started = Instant::now();
    app.wait_for_battles("SELECT count(*) FROM battle_kills", n as i64, Duration::from_secs(900)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut pushes = Vec::new();
    while let Ok(p) = rx.try_recv() {
        pushes.push(p);
    }
    let fed_for = started.elapsed().as_secs_f64();

    let stored: HashMap<i64, f64> = app
        .db
        .query("SELECT killmail_id, extract(epoch FROM received_at)::float8 * 1000 FROM killmail_events", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    // Until every consumer group has joined (the first push), killmails wait for the pipeline
    // to exist rather than go through it: those stored before are left out.
    let warm = pushes.iter().map(|(at, _)| *at).fold(f64::INFINITY, f64::min);
    let cold = stored.values().filter(|at| **at < warm).count();
    let kill_ms: Vec<f64> = pushes
        .iter()
        .filter(|(_, p)| p["type"] == "killmail")
        .filter_map(|(at, p)| Some((at, *stored.get(&p["data"]["killmailId"].as_i64()?)?)))
        .filter(|(_, stored_at)| *stored_at >= warm)
        .map(|(at, stored_at)| at - stored_at)
        .collect();
    // A battle push that counts k kills answers the k-th of its killmails to arrive.
    let mut arrivals: HashMap<String, Vec<f64>> = HashMap::new();
    for r in app.battles_db.query("SELECT battle_id::text, killmail_id FROM battle_killmails", &[]).await.unwrap() {
        if let Some(at) = stored.get(&r.get::<_, i64>(1)) {
            arrivals.entry(r.get(0)).or_default().push(*at);
        }
    }
    arrivals.values_mut().for_each(|v| v.sort_by(f64::total_cmp));
    let battle_ms: Vec<f64> = pushes
        .iter()
        .filter(|(_, p)| matches!(p["type"].as_str(), Some("battle.created" | "battle.updated")))
        .filter_map(|(at, p)| {
            let times = arrivals.get(p["data"]["battleId"].as_str()?)?;
            let k = (p["data"]["kills"].as_u64()? as usize).clamp(1, times.len());
            Some(at - times[k - 1]).filter(|_| times[k - 1] >= warm)
        })
        .filter(|ms| *ms >= 0.0)
        .collect();
    assert!(!kill_ms.is_empty() && !battle_ms.is_empty(), "pushes arrived: {} in all", pushes.len());
    let (kill_ms, battle_ms) = (Samples::new(kill_ms), Samples::new(battle_ms));
    println!(
        "kill → WebSocket ({n} killmails of 2021-11-28 10:00–11:00 fed at {} requests/s in {fed_for:.0} s; battle tick every second; \
         {cold} stored before the pipeline's first push left out):",
        args.feed_rate
    );
    println!(
        "  killmail push: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms ({} pushes); ratio to the bare publish→receive {transport_ms:.2} ms: p50 {:.0}x",
        kill_ms.median(),
        kill_ms.at(0.9),
        kill_ms.at(0.99),
        kill_ms.len(),
        kill_ms.median() / transport_ms
    );
    println!(
        "  battle push: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms ({} pushes; goal p99 < 1 s)",
        battle_ms.median(),
        battle_ms.at(0.9),
        battle_ms.at(0.99),
        battle_ms.len()
    );
    app.stop().await;
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        println!("WebSocket benchmark (loopback; host: {})", battlescope_tests::host_binary().display());
        let transport_ms = memory_and_fan_out(&args).await;
        kill_to_socket(&args, transport_ms).await;
    });
}
