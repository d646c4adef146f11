//! Search over the real pipeline: the first 600 killmails of the recorded 2021-11-28 through
//! ingestion, enrichment and battles into a Typesense of this test's own, which becomes
//! unreachable mid-stream and comes back: the API says it is unavailable meanwhile, and the
//! index ends complete. Then every endpoint against `openapi/search.json`, with checks against
//! independent counts (facets vs the battle API, ship losses vs the recorded killmails), typos,
//! prefixes and bad input named; and, after a Typesense restart, a reindex from the topics
//! while an operator merges two battles.

use battlescope_tests::app::{App, Options};
use battlescope_tests::battles::Api;
use battlescope_tests::contract::validate_response;
use battlescope_tests::replay::{data, Replay, ReplayData};
use battlescope_tests::typesense::{api_key, reindex_while, PrivateTypesense};
use battlescope_tests::{eventually, http};
use search::typesense::encode;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SLICE: usize = 600;

/// A search call, checked against `openapi/search.json`.
async fn search(app: &App, template: &str, query: &str) -> http::Reply {
    let path = if query.is_empty() { template.to_string() } else { format!("{template}?{query}") };
    let r = http::get(&app.host.url(&path)).await.unwrap();
    if let Err(e) = validate_response("search", "GET", template, r.status, &r.body) {
        panic!("{e}");
    }
    r
}

/// Every hit `query` finds on a paged endpoint (`battles` or `killmails`), through all pages.
async fn all_pages(app: &App, endpoint: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1..=100 {
        let r = search(app, &format!("/api/search/{endpoint}"), &format!("{query}&perPage=100&page={page}")).await.json();
        let hits = r[endpoint].as_array().unwrap().clone();
        out.extend(hits.iter().cloned());
        if hits.len() < 100 {
            break;
        }
    }
    out
}

#[tokio::test]
async fn search_finds_what_the_pipeline_made_through_a_typesense_outage() {
    let dir = tempfile::tempdir().unwrap();
    let mut typesense = PrivateTypesense::start(dir.path()).await;
    let killmails: Vec<Value> = data::load_day(&data::day_file("2021-11-28")).unwrap().into_iter().take(SLICE).collect();
    let replay = Replay::start(ReplayData::new(killmails.clone()).unwrap(), 0).await.unwrap();
    let options = Options {
        feed: "r2z2",
        replay_url: Some(replay.base_url.clone()),
        typesense_url: Some(typesense.url.clone()),
        ..Options::default()
    };
    let app = App::start(dir.path(), "search", options).await.unwrap();

    // Typesense is cut off while killmails flow: the API says so (without its key), nothing is lost.
    app.wait_for_battles("SELECT count(*) FROM battle_kills", 100, Duration::from_secs(300)).await;
    typesense.cut();
    let down = search(&app, "/api/search/battles", "q=Goonswarm").await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert!(down.body.contains("search is unavailable") && !down.body.contains(&api_key()), "{}", down.body);
    assert_eq!(search(&app, "/api/search/health", "").await.status, 503);
    app.wait_for_battles("SELECT count(*) FROM battle_kills", SLICE as i64, Duration::from_secs(600)).await;
    typesense.restore().await;

    // The index ends complete: every killmail, and every battle the battle API lists.
    let api = Api { app: &app };
    eventually("the index catching up", Duration::from_secs(180), || async {
        let battles = api.all("").await;
        let indexed = search(&app, "/api/search/battles", "perPage=1").await.json()["found"].as_u64().unwrap();
        let killmails = search(&app, "/api/search/killmails", "perPage=1").await.json()["found"].as_u64().unwrap();
        if indexed == battles.len() as u64 && killmails == SLICE as u64 {
            Ok(())
        } else {
            let log = app.host.log_text();
            let indexer: Vec<&str> = log.lines().filter(|l| l.contains("search-indexer") && !l.contains(" INFO ")).collect();
            let recent = indexer[indexer.len().saturating_sub(5)..].join("\n");
            let stored = search(&app, "/api/search/health", "").await.json()["documents"].clone();
            Err(format!(
                "{indexed} of {} battles, {killmails} of {SLICE} killmails found ({stored} stored); the indexer's last words:\n{recent}",
                battles.len()
            ))
        }
    })
    .await;
    let health = search(&app, "/api/search/health", "").await.json();
    assert_eq!(health["documents"]["killmails"], SLICE as u64, "{health}");

    // Facets count what the battle API lists: each battle once per security band it touched.
    let battles = api.all("").await;
    let mut by_band: BTreeMap<String, u64> = BTreeMap::new();
    for b in &battles {
        let bands: BTreeSet<&str> =
            b["systems"].as_array().unwrap().iter().map(|s| s["securityBand"].as_str().unwrap()).collect();
        for band in bands {
            *by_band.entry(band.to_string()).or_default() += 1;
        }
    }
    let facets = search(&app, "/api/search/battles", "perPage=1").await.json()["facets"]["securityBand"].clone();
    let counted: BTreeMap<String, u64> = facets
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["value"].as_str().unwrap().to_string(), f["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(counted, by_band);

    // The biggest battle, found by its alliance's name, by a typo of it, and its system by prefix.
    let biggest = battles.iter().max_by_key(|b| b["kills"].as_u64()).unwrap();
    let detail = api.get("/api/battles/{id}", &format!("/api/battles/{}", biggest["battleId"].as_str().unwrap())).await.json();
    let alliance = detail["sides"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["alliances"].as_array().unwrap().iter())
        .find(|a| a["name"].is_string())
        .expect("a named alliance");
    let name = alliance["name"].as_str().unwrap();
    let found = all_pages(&app, "battles", &format!("q={}", encode(name))).await;
    assert!(found.iter().any(|b| b["battleId"] == biggest["battleId"]), "{name} finds its battle");
    let typo: String = name.chars().enumerate().filter(|(i, _)| *i != 2).map(|(_, c)| c).collect();
    let entities = search(&app, "/api/search/entities", &format!("q={}&type=alliance", encode(&typo))).await.json();
    assert!(
        entities["entities"].as_array().unwrap().iter().any(|e| e["id"] == alliance["id"]),
        "{typo:?} finds {name}: {entities}"
    );
    let system = detail["systems"][0]["name"].as_str().unwrap();
    let prefix: String = system.chars().take(3).collect();
    let completed = search(&app, "/api/search/entities", &format!("q={}&type=system", encode(&prefix))).await.json();
    assert!(
        completed["entities"].as_array().unwrap().iter().any(|e| e["name"] == system),
        "{prefix:?} completes {system}: {completed}"
    );
    let grouped = search(&app, "/api/search", &format!("q={}", encode(name))).await.json();
    assert!(grouped["alliances"].as_array().unwrap().iter().any(|e| e["name"] == name), "{grouped}");

    // A ship's losses, by its name, are exactly the recorded killmails where a victim flew it.
    let mut losses: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for k in &killmails {
        if let Some(ship) = k["victim"]["ship_type_id"].as_u64() {
            losses.entry(ship).or_default().insert(k["killmail_id"].as_u64().unwrap());
        }
    }
    let (ship, expected) = losses.iter().max_by_key(|(_, ids)| ids.len()).unwrap();
    let ship_name = eve_static::item_type(*ship).expect("a known ship type").name;
    let hits = all_pages(&app, "killmails", &format!("q={}", encode(ship_name))).await;
    let named: BTreeSet<u64> =
        hits.iter().filter(|k| k["ship"] == ship_name).map(|k| k["killmailId"].as_u64().unwrap()).collect();
    assert_eq!(&named, expected, "{ship_name} losses");

    // Bad input is named.
    for (query, parameter) in [("securityBand=space", "securityBand"), ("minKills=many", "minKills"), ("colour=red", "colour")] {
        let r = search(&app, "/api/search/battles", query).await;
        assert_eq!((r.status, r.json()["parameter"].as_str().map(str::to_string)), (400, Some(parameter.to_string())), "{query}");
    }
    assert_eq!(search(&app, "/api/search/entities", "type=alliance").await.status, 400, "q is required");

    // Typesense restarted (it may come back without documents it had acknowledged,
    // docs/search.md), then the documented repair: a reindex from the topics rebuilds the index
    // into fresh collections and swaps them in, while an operator merges two battles. The
    // merged-away battle leaves the index whichever of the reindex's passes or the live indexer
    // takes the merge's events, and the index ends complete.
    let before = export(&typesense.url, &format!("{}entities", app.prefix)).await;
    let found = |r: http::Reply| r.json()["found"].as_u64().unwrap();
    let killmails_found = found(search(&app, "/api/search/killmails", "perPage=1").await);
    typesense.restart().await;
    let after_restart = search(&app, "/api/search/killmails", "perPage=1").await.json()["found"].clone();
    println!("after a Typesense restart: {after_restart} killmails found of {killmails_found}");
    let mut two = battles.iter().filter(|b| b["battleId"] != biggest["battleId"]).take(2);
    let (keep, absorbed) = (two.next().unwrap()["battleId"].as_str().unwrap(), two.next().unwrap()["battleId"].as_str().unwrap());
    let merge = || async {
        let merged = api
            .write(
                "POST",
                "/api/battles/{id}/merge",
                &format!("/api/battles/{keep}/merge"),
                &json!({ "battleIds": [absorbed] }).to_string(),
            )
            .await;
        assert_eq!(merged.status, 200, "{}", merged.body);
    };
    let said = reindex_while(
        &app,
        &typesense.url,
        &dir.path().join("reindex-snapshot"),
        &["--batch", "100"],
        Some(("reindex: rebuilt:", merge)),
    )
    .await;
    assert!(
        said.contains("rebuilt: ")
            && said.contains("(100%)")
            && said.contains(&format!("{SLICE} killmails, {} entities", before.len())),
        "{said}"
    );
    assert!(said.contains(&format!("dropped {}entities_v1", app.prefix)), "{said}");
    eventually("the merged-away battle leaving the index", Duration::from_secs(60), || async {
        let ids: Vec<Value> = all_pages(&app, "battles", "q=*").await.into_iter().map(|b| b["battleId"].clone()).collect();
        let listed = api.all("").await.len();
        match (ids.contains(&json!(absorbed)), ids.contains(&json!(keep))) {
            (false, true) if ids.len() == listed => Ok(()),
            found => Err(format!(
                "absorbed, kept found: {found:?}; {} battles found, {listed} listed; the reindex said:\n{said}",
                ids.len()
            )),
        }
    })
    .await;
    assert_eq!(found(search(&app, "/api/search/killmails", "perPage=1").await), killmails_found, "{said}");
    let after = export(&typesense.url, &format!("{}entities", app.prefix)).await;
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>(), "the same entities");
    for (key, (name, activity)) in &after {
        // The live indexer may count a killmail twice when Typesense failed between its two
        // writes (the outage above); the rebuild counts each once.
        let (live_name, live_activity) = &before[key];
        assert!(
            name == live_name && activity <= live_activity && *activity >= 1,
            "{key}: {name} {activity} vs {live_name} {live_activity}"
        );
    }
    app.stop().await;
}

/// Every entity in a collection (or alias): key -> (name, activity).
async fn export(typesense: &str, collection: &str) -> BTreeMap<String, (String, u64)> {
    let url = format!("{typesense}/collections/{collection}/documents/export");
    let r = http::request_with_headers("GET", &url, "", &[("x-typesense-api-key", &api_key())]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
        .lines()
        .map(|line| {
            let d: Value = serde_json::from_str(line).unwrap();
            (d["key"].as_str().unwrap().to_string(), (d["name"].as_str().unwrap().to_string(), d["activity"].as_u64().unwrap()))
        })
        .collect()
}
