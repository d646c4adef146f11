//! Every OpenAPI document in `openapi/` fuzzed with schemathesis against the running platform,
//! which holds the first 150 killmails of 2021-11-28 (so reads find battles, killmails and
//! names): generated requests, valid and invalid, with the API token, get no server error and
//! no status, content type or body their document does not describe. The token sent with all
//! of them never shows in the host's log.

use battlescope_tests::app::{tail, App, Options, TOKEN};
use battlescope_tests::fuzz;
use battlescope_tests::replay::{data, Replay, ReplayData};
use serde_json::Value;
use std::time::{Duration, Instant};

const SLICE: usize = 150;
/// Generated cases per operation: enough to reach each parameter's edges in a bounded run;
/// `BATTLESCOPE_FUZZ_EXAMPLES` asks for more (a longer hunt outside CI).
const EXAMPLES: u32 = 30;
const APIS: [&str; 6] = ["ingestion", "enrichment", "battles", "search", "notifications", "bff"];

#[tokio::test]
async fn every_api_answers_generated_requests_as_its_document_says() {
    let dir = tempfile::tempdir().unwrap();
    let killmails: Vec<Value> = data::load_day(&data::day_file("2021-11-28")).unwrap().into_iter().take(SLICE).collect();
    let replay = Replay::start(ReplayData::new(killmails).unwrap(), 0).await.unwrap();
    let options = Options { feed: "r2z2", replay_url: Some(replay.base_url.clone()), ..Options::default() };
    let app = App::start(dir.path(), "fuzz", options).await.unwrap();
    app.wait_for_battles("SELECT count(*) FROM battle_kills", SLICE as i64, Duration::from_secs(300)).await;

    let examples = std::env::var("BATTLESCOPE_FUZZ_EXAMPLES").ok().and_then(|n| n.parse().ok()).unwrap_or(EXAMPLES);
    let mut failures = Vec::new();
    for api in APIS {
        let started = Instant::now();
        match fuzz::run(api, &app.host.url(""), TOKEN, examples).await {
            Ok(report) => println!("openapi/{api}.json: passed in {:.1?}\n{}", started.elapsed(), tail(&report, 6)),
            Err(report) => failures.push(report),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let log = app.host.log_text();
    assert!(!log.contains(TOKEN), "the API token is in the host's log");
}
