//! `make bench` (search part), loopback only, against the real spin.toml on a release host. The
//! first killmails of the recorded 2021-11-28 (the Jorund fight's day) go through ingestion,
//! enrichment and battles into the dev stack's Typesense; then:
//!
//! 1. Query latency: searches a player makes, each sent one after another through the host's
//!    `search-api` component, against the baseline of the same Typesense request (built by the
//!    same `search::query` code) sent straight to Typesense in the same run.
//! 2. Reindex: `search-reindex` over the run's topics, documents written per second, against
//!    the baseline of importing the same documents straight into scratch collections.

use battlescope_tests::app::{App, Options};
use battlescope_tests::replay::{data, Replay, ReplayData};
use battlescope_tests::samples::Samples;
use battlescope_tests::typesense::{api_key, reindex, shared_url};
use battlescope_tests::{eventually, http};
use search::query::{self, Search};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

struct Args {
    killmails: usize,
    rounds: usize,
}

fn parse_args() -> Args {
    let mut args = Args { killmails: 3000, rounds: 300 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            // The host binary comes through BATTLESCOPE_BIN; `--host` sets it.
            "--host" => std::env::set_var("BATTLESCOPE_BIN", value()),
            "--killmails" => args.killmails = value().parse().expect("--killmails takes a number"),
            "--rounds" => args.rounds = value().parse().expect("--rounds takes a number"),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// p50 and p99 of `samples`, in milliseconds.
fn percentiles(samples: Vec<f64>) -> (f64, f64) {
    let s = Samples::new(samples);
    (s.median(), s.at(0.99))
}

/// The Typesense request `search-api` makes for `searches` (one search, or a multi_search).
async fn straight_to_typesense(prefix: &str, searches: &[Search]) -> http::Reply {
    let key = api_key();
    let headers = [("x-typesense-api-key", key.as_str())];
    let reply = if let [one] = searches {
        let url = format!(
            "{}/collections/{}/documents/search?{}",
            shared_url(),
            one.kind.alias(prefix),
            search::typesense::query_string(&one.params)
        );
        http::request_with_headers("GET", &url, "", &headers).await
    } else {
        let body = json!({ "searches": searches.iter().map(|s| s.to_multi(prefix)).collect::<Vec<_>>() });
        http::request_with_headers("POST", &format!("{}/multi_search", shared_url()), &body.to_string(), &headers).await
    };
    let reply = reply.expect("Typesense answers");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

async fn query_latency(app: &App, rounds: usize) {
    println!("query latency, {rounds} requests each, one at a time (p50 / p99):");
    let cases: [(&str, &str); 4] = [
        ("battles by alliance name", "/api/search/battles?q=Goonswarm&minKills=10&sort=kills"),
        ("alliance autocomplete with a typo", "/api/search/entities?q=Gonswarm&type=alliance"),
        ("everything, grouped", "/api/search?q=Jor"),
        ("killmails by ship", "/api/search/killmails?q=Rifter"),
    ];
    for (what, path) in cases {
        let query_string = path.split_once('?').map(|(_, q)| q).unwrap_or("");
        let searches = match path.split('?').next().unwrap() {
            "/api/search/battles" => vec![query::battles(query_string).unwrap().0],
            "/api/search/entities" => vec![query::entities(query_string).unwrap()],
            "/api/search/killmails" => vec![query::killmails(query_string).unwrap().0],
            _ => query::everything(query_string).unwrap(),
        };
        let (mut through, mut direct) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let started = Instant::now();
            let r = http::get(&app.host.url(path)).await.unwrap();
            through.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status, 200, "{path}: {}", r.body);
            let started = Instant::now();
            straight_to_typesense(&app.prefix, &searches).await;
            direct.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let ((p50, p99), (b50, b99)) = (percentiles(through), percentiles(direct));
        println!(
            "  {what:<36} component {p50:>6.2} / {p99:>6.2} ms   Typesense direct {b50:>6.2} / {b99:>6.2} ms   {:.1}x p50",
            p50 / b50
        );
    }
}

/// Documents imported per second into scratch copies of the run's collections, 1,000 a request.
async fn direct_import_rate(prefix: &str) -> (usize, f64) {
    let key = api_key();
    let headers = [("x-typesense-api-key", key.as_str())];
    let (mut documents, mut spent) = (0, Duration::ZERO);
    for kind in search::collections::Kind::ALL {
        let alias = kind.alias(prefix);
        let export =
            http::request_with_headers("GET", &format!("{}/collections/{alias}/documents/export", shared_url()), "", &headers)
                .await
                .unwrap();
        let scratch = format!("{alias}_bench_scratch");
        // A crashed earlier run may have left it.
        http::request_with_headers("DELETE", &format!("{}/collections/{scratch}", shared_url()), "", &headers).await.unwrap();
        let schema = kind.schema(&scratch);
        let created = http::request_with_headers("POST", &format!("{}/collections", shared_url()), &schema.to_string(), &headers)
            .await
            .unwrap();
        assert_eq!(created.status, 201, "{}", created.body);
        let lines: Vec<&str> = export.body.lines().collect();
        let started = Instant::now();
        for chunk in lines.chunks(1000) {
            let url = format!("{}/collections/{scratch}/documents/import?action=upsert", shared_url());
            let r = http::request_with_headers("POST", &url, &chunk.join("\n"), &headers).await.unwrap();
            assert!(r.status == 200 && !r.body.contains("\"success\":false"), "{}", r.body);
        }
        spent += started.elapsed();
        documents += lines.len();
        http::request_with_headers("DELETE", &format!("{}/collections/{scratch}", shared_url()), "", &headers).await.unwrap();
    }
    (documents, documents as f64 / spent.as_secs_f64())
}

async fn reindex_rate(app: &App, dir: &std::path::Path) {
    let started = Instant::now();
    let said = reindex(app, &shared_url(), &dir.join("snapshot"), &[]).await;
    let seconds = started.elapsed().as_secs_f64();
    let rebuilt = said.lines().find(|l| l.starts_with("reindex: rebuilt:")).expect("a summary line");
    // "... ; 116 battles, 600 killmails, 2111 entities"
    let written: usize = rebuilt
        .rsplit(';')
        .next()
        .unwrap()
        .split(',')
        .filter_map(|part| part.split_whitespace().next()?.parse::<usize>().ok())
        .sum();
    // "rebuilt: 4455 of 4455 events (100%), 3397/s; ..." : how long the rebuild itself took.
    let number = |text: &str| text.trim().trim_end_matches("/s").parse::<f64>().ok();
    let events = rebuilt.split_whitespace().nth(2).and_then(number).expect("an event count");
    let rate = rebuilt.split(", ").find_map(|part| part.split(';').next().and_then(number)).expect("a rate");
    let rebuild_seconds = events / rate;
    let (documents, direct) = direct_import_rate(&app.prefix).await;
    println!("reindex from the topics: {rebuilt}");
    println!(
        "  {written} documents: rebuild {rebuild_seconds:.2} s, {:.0} documents/s; importing the same {documents} straight into Typesense {direct:.0}/s   {:.2}x",
        written as f64 / rebuild_seconds,
        written as f64 / rebuild_seconds / direct
    );
    println!("  start to finish {seconds:.1} s (including the catch-up passes, each ending after the topics were quiet for 1 s)");
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().unwrap();
    let killmails: Vec<Value> = data::load_day(&data::day_file("2021-11-28")).unwrap().into_iter().take(args.killmails).collect();
    let replay = Replay::start(ReplayData::new(killmails).unwrap(), 0).await.unwrap();
    let options = Options { feed: "r2z2", replay_url: Some(replay.base_url.clone()), ..Options::default() };
    let app = App::start(dir.path(), "benchsearch", options).await.expect("starting the host");
    let started = Instant::now();
    eventually("the index holding every killmail", Duration::from_secs(900), || async {
        let r = http::get(&app.host.url("/api/search/killmails?perPage=1")).await.map_err(|e| e.to_string())?;
        let found = if r.status == 200 { r.json()["found"].as_u64().unwrap_or(0) } else { 0 };
        if found as usize == args.killmails {
            Ok(())
        } else {
            Err(format!("{found} of {}", args.killmails))
        }
    })
    .await;
    println!(
        "{} killmails of 2021-11-28 through the pipeline into the index in {:.0} s",
        args.killmails,
        started.elapsed().as_secs_f64()
    );
    query_latency(&app, args.rounds).await;
    reindex_rate(&app, dir.path()).await;
    app.stop().await;
}
