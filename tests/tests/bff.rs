//! The frontend BFF over the real pipeline: the first 400 killmails of the recorded 2021-11-28
//! through ingestion, enrichment, battles and search. First with search cut off (its Typesense
//! unreachable): the list, a report and the dashboard still answer with what they have and
//! name what is missing. Then whole: the list equals the battle API's with the search API's
//! facets, a report holds its battle and every killmail of it, the dashboard says every
//! service answers; complete answers come from the cache the second time. Every answer is
//! checked against `openapi/bff.json`; bad input is named. The web UI's report, opened in a
//! real browser while search is cut off, is drawn and says search is unavailable.

use battlescope_tests::app::{App, Options};
use battlescope_tests::battles::Api;
use battlescope_tests::contract::validate_response;
use battlescope_tests::replay::{data, Replay, ReplayData};
use battlescope_tests::typesense::PrivateTypesense;
use battlescope_tests::{browser, eventually, http};
use serde_json::{json, Value};
use std::time::Duration;

const SLICE: usize = 400;

/// A BFF call, checked against `openapi/bff.json`.
async fn bff(app: &App, template: &str, path: &str) -> http::Reply {
    let r = http::get(&app.host.url(path)).await.unwrap();
    if let Err(e) = validate_response("bff", "GET", template, r.status, &r.body) {
        panic!("{e}");
    }
    r
}

fn ids(battles: &Value) -> Vec<Value> {
    battles.as_array().unwrap().iter().map(|b| b["battleId"].clone()).collect()
}

#[tokio::test]
async fn the_bff_composes_the_read_apis_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut typesense = PrivateTypesense::start(dir.path()).await;
    let killmails: Vec<Value> = data::load_day(&data::day_file("2021-11-28")).unwrap().into_iter().take(SLICE).collect();
    let replay = Replay::start(ReplayData::new(killmails).unwrap(), 0).await.unwrap();
    let options = Options {
        feed: "r2z2",
        replay_url: Some(replay.base_url.clone()),
        typesense_url: Some(typesense.url.clone()),
        ..Options::default()
    };
    let app = App::start(dir.path(), "bff", options).await.unwrap();
    app.wait_for_battles("SELECT count(*) FROM battle_kills", SLICE as i64, Duration::from_secs(300)).await;
    eventually("the search index holding every killmail", Duration::from_secs(120), || async {
        let found = http::get(&app.host.url("/api/search/killmails?perPage=1")).await.unwrap().json()["found"].as_u64();
        if found == Some(SLICE as u64) {
            Ok(())
        } else {
            Err(format!("{found:?} of {SLICE}"))
        }
    })
    .await;
    let api = Api { app: &app };
    let listed = api.get("/api/battles", "/api/battles?limit=50").await.json();
    let biggest = listed["battles"].as_array().unwrap().iter().max_by_key(|b| b["kills"].as_u64()).unwrap().clone();
    let id = biggest["battleId"].as_str().unwrap();

    // Search cut off: what the other services give is still answered, and search is named.
    typesense.cut();
    let degraded = bff(&app, "/api/bff/battles", "/api/bff/battles?limit=50").await;
    let body = degraded.json();
    assert_eq!(
        (degraded.status, body["missing"].clone(), body["facets"].clone()),
        (200, json!(["search"]), Value::Null),
        "{body}"
    );
    assert_eq!(ids(&body["battles"]), ids(&listed["battles"]));
    assert_eq!(degraded.header("cache-control"), Some("no-store"), "a partial answer is not kept");
    let report = bff(&app, "/api/bff/battle/{id}", &format!("/api/bff/battle/{id}")).await.json();
    assert_eq!(
        (report["missing"].clone(), report["near"].clone(), report["battle"]["battleId"].clone()),
        (json!(["search"]), Value::Null, json!(id))
    );
    // In a browser: the report is drawn and says search is unavailable.
    browser::run("degraded", &app.host.url("/"), "bff-degraded", &[id, "search"], Duration::from_secs(90)).await;
    let health = bff(&app, "/api/bff/health", "/api/bff/health").await;
    assert_eq!((health.status, health.json()["redis"]["reachable"].clone()), (200, json!(true)), "{}", health.body);
    let dashboard = bff(&app, "/api/bff/dashboard", "/api/bff/dashboard").await.json();
    assert_eq!(dashboard["health"]["search"], "unavailable", "{dashboard}");
    assert_eq!(dashboard["health"]["battles"], "ok", "{dashboard}");

    // Search hanging rather than down: its part is given up after the BFF's call timeout (3 s
    // in spin.toml), not after the host's request deadline.
    typesense.hang().await;
    let started = std::time::Instant::now();
    let url = app.host.url(&format!("/api/bff/battle/{id}"));
    let hung = http::request_with_headers("GET", &url, "", &[("cache-control", "no-cache")]).await.unwrap();
    let waited = started.elapsed();
    assert_eq!((hung.status, hung.json()["missing"].clone()), (200, json!(["search"])), "{}", hung.body);
    assert!(waited >= Duration::from_secs(3) && waited < Duration::from_secs(10), "answered after {waited:?}");
    typesense.restore().await;

    // Whole again: a partial answer was not kept; the list is the battle API's, the facets the
    // search API's.
    let recovered = bff(&app, "/api/bff/battles", "/api/bff/battles?limit=50").await;
    assert_eq!((recovered.header("x-cache"), recovered.json()["missing"].clone()), (Some("miss"), json!([])));
    let whole = bff(&app, "/api/bff/battles", "/api/bff/battles?limit=50&securityBand=nullsec").await;
    let body = whole.json();
    assert_eq!((whole.status, body["missing"].clone(), whole.header("x-cache")), (200, json!([]), Some("miss")), "{body}");
    let nullsec = api.get("/api/battles", "/api/battles?limit=50&securityBand=nullsec").await.json();
    assert_eq!(ids(&body["battles"]), ids(&nullsec["battles"]));
    let searched = http::get(&app.host.url("/api/search/battles?perPage=1&securityBand=nullsec")).await.unwrap().json();
    assert_eq!(body["facets"], searched["facets"]);
    let again = bff(&app, "/api/bff/battles", "/api/bff/battles?limit=50&securityBand=nullsec").await;
    assert_eq!((again.header("x-cache"), again.json()), (Some("hit"), body), "the second time from the cache");
    let left: u64 =
        again.header("cache-control").and_then(|c| c.strip_prefix("public, max-age=")).and_then(|s| s.parse().ok()).unwrap();
    assert!((1..=60).contains(&left), "kept no longer than Redis keeps it: {left} s");

    // A report: the battle with names and statistics, each of its killmails, links out.
    let report = bff(&app, "/api/bff/battle/{id}", &format!("/api/bff/battle/{id}")).await.json();
    let detail = api.get("/api/battles/{id}", &format!("/api/battles/{id}")).await.json();
    assert_eq!((report["battle"]["battleId"].clone(), report["battle"]["sides"].clone()), (json!(id), detail["sides"].clone()));
    assert_eq!(
        report["killmails"].as_array().unwrap().len() as u64,
        detail["kills"].as_u64().unwrap(),
        "every killmail of the battle"
    );
    assert!(report["near"].is_array() && report["missing"] == json!([]), "{}", report["missing"]);
    let system = detail["systems"][0]["id"].as_u64().unwrap();
    assert!(report["zkillboard"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l.as_str().unwrap().contains(&format!("/related/{system}/"))));

    // The dashboard: every service answers; the big battles are the battle API's.
    let dashboard = bff(&app, "/api/bff/dashboard", "/api/bff/dashboard").await.json();
    assert_eq!(dashboard["missing"], json!([]), "{dashboard}");
    let big = api.get("/api/battles", "/api/battles?minKills=20&limit=10").await.json();
    assert!(!big["battles"].as_array().unwrap().is_empty(), "the slice has battles of 20 kills");
    assert_eq!(ids(&dashboard["bigBattles"]), ids(&big["battles"]));
    assert_eq!(dashboard["searchDocuments"]["killmails"], SLICE as u64);

    // Bad input is named, whether the BFF or the API behind it refuses it.
    for (path, parameter) in [
        ("/api/bff/battles?colour=red", "colour"),
        ("/api/bff/battles?minKills=many", "minKills"),
        ("/api/bff/battles?minKills=3000000000", "minKills"),
        ("/api/bff/dashboard?x=1", "x"),
    ] {
        let template = path.split('?').next().unwrap();
        let r = bff(&app, template, path).await;
        assert_eq!((r.status, r.json()["parameter"].as_str().map(str::to_string)), (400, Some(parameter.to_string())), "{path}");
    }
    assert_eq!(bff(&app, "/api/bff/battle/{id}", "/api/bff/battle/42").await.status, 400);
    let unknown = bff(&app, "/api/bff/battle/{id}", "/api/bff/battle/00000000-0000-4000-8000-000000000000").await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(http::get(&app.host.url("/api/bff/nothing")).await.unwrap().status, 404);
    assert_eq!(http::request("POST", &app.host.url("/api/bff/battles"), "").await.unwrap().status, 405);

    // The web UI: its page for its own routes, assets gzipped, ETags honoured; a report's page
    // drawn on the server from the BFF's answer (headline, Open Graph tags, the sides).
    let report = http::get(&app.host.url(&format!("/battle/{id}"))).await.unwrap();
    assert_eq!((report.status, report.header("content-type")), (200, Some("text/html; charset=utf-8")));
    assert!(report.body.contains("/app.js") && report.body.contains("<meta property=\"og:title\""), "{}", report.body);
    assert!(report.body.contains("<table class=\"sides-summary\">"), "{}", report.body);
    let missing = http::get(&app.host.url("/battle/00000000-0000-4000-8000-000000000000")).await.unwrap();
    assert_eq!(missing.status, 404, "a report of no battle is a 404 page");
    let page = http::get(&app.host.url("/")).await.unwrap();
    assert_eq!((page.status, page.header("content-type")), (200, Some("text/html; charset=utf-8")));
    let etag = page.header("etag").unwrap().to_string();
    let again = http::request_with_headers("GET", &app.host.url("/"), "", &[("if-none-match", &etag)]).await.unwrap();
    assert_eq!((again.status, again.body.as_str()), (304, ""));
    let script = http::request_with_headers("GET", &app.host.url("/app.js"), "", &[("accept-encoding", "gzip")]).await.unwrap();
    assert_eq!((script.status, script.header("content-encoding")), (200, Some("gzip")));
    assert_eq!(http::get(&app.host.url("/api/nothing")).await.unwrap().status, 404, "an unknown API is not the page");
    app.stop().await;
}
