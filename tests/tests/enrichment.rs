//! Enrichment end to end: a real day from ingestion through Kafka to enriched killmails with
//! names from the ESI replay and places from the static data; batching and the name cache;
//! ESI's error budget; the circuit breaker through an outage; redelivery and ETags.

use battlescope_tests::app::{App, Options};
use battlescope_tests::contract::{validate_event, validate_response};
use battlescope_tests::kafka::{outbox_messages, produce_many};
use battlescope_tests::link::Link;
use battlescope_tests::replay::{data, Fault, Replay, ReplayData, Route};
use battlescope_tests::{http, repo_root};
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const ENRICHED: &str = "SELECT count(*) FROM enriched_killmails";

async fn replay_of(day: &str) -> (Vec<Value>, Replay) {
    let killmails = data::load_day(&data::day_file(day)).unwrap();
    let replay = Replay::start(ReplayData::new(killmails.clone()).unwrap(), 0).await.unwrap();
    (killmails, replay)
}

async fn start(dir: &std::path::Path, test: &str, replay: &Replay) -> App {
    App::start(dir, test, Options { replay_url: Some(replay.base_url.clone()), ..Options::default() }).await.unwrap()
}

async fn backfill(app: &App, killmails: &[Value]) {
    for chunk in killmails.chunks(500) {
        let lines: Vec<String> = chunk.iter().map(Value::to_string).collect();
        let r = app.post_killmails(&lines.join("\n")).await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
}

fn csv(file: &str) -> HashMap<u64, Vec<String>> {
    std::fs::read_to_string(repo_root().join("data/sde").join(file))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<String> = l.split(',').map(str::to_string).collect();
            (f[0].parse().unwrap(), f)
        })
        .collect()
}

fn recorded_names(file: &str) -> HashMap<u64, String> {
    let text = std::fs::read_to_string(repo_root().join("data/names").join(file)).unwrap();
    let entries: Vec<Value> = serde_json::from_str(&text).unwrap();
    entries.iter().map(|e| (e["id"].as_u64().unwrap(), e["name"].as_str().unwrap().to_string())).collect()
}

/// A `killmail.ingested` envelope as ingestion writes it, without the ESI body (RedisQ-style).
fn ingested_without_body(km: &Value) -> (String, Vec<u8>) {
    let id = km["killmail_id"].as_u64().unwrap();
    let event = serde_json::json!({
        "eventId": uuid::Uuid::new_v4().to_string(), "eventType": "killmail.ingested", "timestamp": "2026-11-29T00:00:00.000Z",
        "data": {"killmailId": id, "killmailHash": km["killmail_hash"], "killmailTime": km["killmail_time"],
                 "solarSystemId": km["solar_system_id"], "source": "redisq", "esi": null, "zkb": null}
    });
    (id.to_string(), event.to_string().into_bytes())
}

#[tokio::test]
async fn a_real_day_flows_from_ingestion_to_enrichment_with_names_and_places() {
    let dir = tempfile::tempdir().unwrap();
    let (killmails, replay) = replay_of("2021-11-29").await;
    let total = killmails.len() as i64;
    assert_eq!(total, 10_831);
    let app = start(dir.path(), "enrichday", &replay).await;
    backfill(&app, &killmails).await;
    assert_eq!(app.count("SELECT count(*) FROM killmail_events").await, total);
    app.wait_for_enriched(ENRICHED, total, Duration::from_secs(900)).await;

    // Once each, announced once each, every event valid.
    assert_eq!(app.enrichment_count("SELECT count(DISTINCT killmail_id) FROM enriched_killmails").await, total);
    assert_eq!(app.enrichment_count("SELECT count(*) FROM outbox").await, total);
    for row in app.enrichment_db.query("SELECT payload FROM outbox", &[]).await.unwrap() {
        let payload: String = row.get(0);
        validate_event(&payload).unwrap_or_else(|e| panic!("{e}: {payload}"));
    }
    health_reports_the_day(&app, &killmails).await;

    // Big values are compressed with lz4, not pglz (its CPU cost: migrations/enrichment/0002).
    for (table, column) in [("enriched_killmails", "document"), ("enriched_killmails", "esi"), ("outbox", "payload")] {
        let sql = format!(
            "SELECT count(*) FILTER (WHERE m = 'pglz'), count(*) FILTER (WHERE m = 'lz4')
             FROM (SELECT pg_column_compression({column}) AS m FROM {table}) c"
        );
        let row = app.enrichment_db.query_one(&sql, &[]).await.unwrap();
        let (pglz, lz4): (i64, i64) = (row.get(0), row.get(1));
        assert!(pglz == 0 && lz4 > 0, "{table}.{column}: {pglz} values compressed with pglz, {lz4} with lz4");
    }

    // Real alliance and corporation names, wherever the recorded names know the id.
    let alliances = recorded_names("alliances.json");
    let corporations = recorded_names("corporations.json");
    let (mut checked, mut wrong) = (0, Vec::new());
    for row in app.enrichment_db.query("SELECT document::text FROM enriched_killmails", &[]).await.unwrap() {
        let doc: Value = serde_json::from_str(&row.get::<_, String>(0)).unwrap();
        let participants = std::iter::once(&doc["victim"]).chain(doc["attackers"].as_array().unwrap());
        for p in participants {
            for (id_key, name_key, book) in
                [("allianceId", "allianceName", &alliances), ("corporationId", "corporationName", &corporations)]
            {
                if let Some(expected) = p[id_key].as_u64().and_then(|id| book.get(&id)) {
                    checked += 1;
                    if p[name_key].as_str() != Some(expected.as_str()) {
                        wrong.push(format!("{}: {} vs {expected}", p[id_key], p[name_key]));
                    }
                }
            }
        }
    }
    assert!(checked > 10_000, "only {checked} names checked");
    assert!(wrong.is_empty(), "{} wrong names, e.g. {:?}", wrong.len(), &wrong[..wrong.len().min(5)]);

    // Places from the static data: one kill in each of four space types.
    let systems = csv("systems.csv");
    let regions = csv("regions.csv");
    let pick = |want: &str| -> (u64, u64) {
        killmails
            .iter()
            .find_map(|k| {
                let s = k["solar_system_id"].as_u64().unwrap();
                let f = &systems[&s];
                let sec: f64 = f[4].parse().unwrap();
                let band = if (31_000_000..32_000_000).contains(&s) {
                    "wormhole"
                } else if f[3] == "10000070" || s >= 32_000_000 {
                    "other"
                } else if sec >= 0.45 {
                    "highsec"
                } else if sec > 0.0 {
                    "lowsec"
                } else if sec <= -0.99 {
                    "nullsec -1.0"
                } else {
                    "nullsec"
                };
                (band == want).then(|| (k["killmail_id"].as_u64().unwrap(), s))
            })
            .unwrap_or_else(|| panic!("no {want} kill on the day"))
    };
    for (want, band) in [("highsec", "highsec"), ("lowsec", "lowsec"), ("nullsec -1.0", "nullsec"), ("wormhole", "wormhole")] {
        let (id, system) = pick(want);
        let r = http::get(&app.host.url(&format!("/api/enrichment/killmails/{id}"))).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let s = &r.json()["solarSystem"];
        let f = &systems[&system];
        assert_eq!(s["name"], f[1].as_str(), "{want}: {s}");
        assert_eq!(s["securityBand"], band, "{want}: {s}");
        assert_eq!(s["regionName"], regions[&f[3].parse::<u64>().unwrap()][1].as_str(), "{want}: {s}");
    }

    // The relay vacuumed the outbox itself as it went (every 2,000 rows it marked), so its
    // reads do not visit every row published since autovacuum last came by.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let row = app
            .enrichment_db
            .query_one("SELECT coalesce(sum(vacuum_count), 0)::bigint FROM pg_stat_user_tables WHERE relname = 'outbox'", &[])
            .await
            .unwrap();
        if row.get::<_, i64>(0) > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the outbox was never vacuumed by its relay");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Batching: no names call over 1,000 ids.
    let counts = replay.counts();
    assert!(counts.esi_names > 0 && counts.esi_names_max_ids <= 1000, "{counts:?}");
    assert!(counts.esi_names_max_ids > 1, "ids are batched: {counts:?}");

    // A second pass over the day: every id is cached, so no names call at all.
    let calls_before = replay.counts().esi_names;
    app.enrichment_db.execute("DELETE FROM enriched_killmails", &[]).await.unwrap();
    let events = outbox_messages(&app.db).await;
    produce_many(&app.ingested_topic, &events).await;
    app.wait_for_enriched(ENRICHED, total, Duration::from_secs(900)).await;
    assert_eq!(replay.counts().esi_names, calls_before, "the second pass asked ESI for names");
    let stats = http::get(&app.host.url("/api/enrichment/stats")).await.unwrap().json();
    assert!(stats["counters"]["name_hits_redis"].as_i64().unwrap() > 0, "{stats}");

    // The API: 404 for unknown, 400 for malformed ids.
    assert_eq!(http::get(&app.host.url("/api/enrichment/killmails/1")).await.unwrap().status, 404);
    let bad = http::get(&app.host.url("/api/enrichment/killmails/abc")).await.unwrap();
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert_eq!(bad.json()["parameter"], "id");
    app.stop().await;
}

/// `/health` says the database and Redis answer, how many killmails are enriched and the
/// newest of them, and that the breaker is closed; the answer matches openapi/enrichment.json.
async fn health_reports_the_day(app: &App, killmails: &[Value]) {
    let reply = health(app).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["database"]["killmails"].as_u64(), Some(killmails.len() as u64), "{body}");
    let newest = killmails.iter().filter_map(|k| k["killmail_time"].as_str()).max().unwrap();
    assert_eq!(body["database"]["newestKill"].as_str(), Some(newest), "{body}");
    assert_eq!(body["redis"], serde_json::json!({ "reachable": true, "esiBreaker": "closed" }));
}

async fn health(app: &App) -> http::Reply {
    let reply = http::get(&app.host.url("/api/enrichment/health")).await.unwrap();
    validate_response("enrichment", "GET", "/api/enrichment/health", reply.status, &reply.body).unwrap();
    reply
}

#[tokio::test]
async fn with_the_error_budget_nearly_spent_the_client_pauses_instead_of_earning_420s() {
    let dir = tempfile::tempdir().unwrap();
    let (killmails, replay) = replay_of("2021-11-30").await;
    let app = start(dir.path(), "enricherrlimit", &replay).await;
    // 11 errors left in a 2-second window; then 6 failures on the names route. A client that
    // ignored the budget would spend it and get 420s.
    replay.set_error_limit(11, Duration::from_secs(2));
    replay.inject(Fault::status(Route::EsiNames, 503, 6));
    backfill(&app, &killmails[..150]).await;
    app.wait_for_enriched(ENRICHED, 150, Duration::from_secs(300)).await;
    app.wait_for_enriched("SELECT count(*) FROM enriched_killmails WHERE names_complete", 150, Duration::from_secs(300)).await;
    let counts = replay.counts();
    assert_eq!(counts.esi_error_limited, 0, "no 420s: {counts:?}");
    assert_eq!(counts.faults_served, 6, "{counts:?}");
    let stats = http::get(&app.host.url("/api/enrichment/stats")).await.unwrap().json();
    assert!(stats["counters"]["esi_error_limit_pauses"].as_i64().unwrap_or(0) > 0, "{stats}");
    app.stop().await;
}

#[tokio::test]
async fn while_esi_is_down_killmails_wait_behind_the_breaker_and_none_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (killmails, replay) = replay_of("2021-11-30").await;
    let app = start(dir.path(), "enrichbreaker", &replay).await;
    // ESI stays down until the test has seen the breaker open: with several partitions in
    // flight, an outage of a fixed number of answers can end (and a success close the
    // breaker) before a scrape comes round.
    replay.inject(Fault::status(Route::EsiKillmail, 503, u32::MAX));
    let events: Vec<(String, Vec<u8>)> = killmails[..60].iter().map(ingested_without_body).collect();
    produce_many(&app.ingested_topic, &events).await;

    // The breaker opens during the outage, and the metrics and the health report say so (an
    // open breaker is waited out: enrichment stays healthy).
    let started = Instant::now();
    let (mut open_in_metrics, mut open_in_health) = (false, false);
    let metrics_url = app.host.url("/api/enrichment/metrics");
    while started.elapsed() < Duration::from_secs(120) && !(open_in_metrics && open_in_health) {
        let (metrics, reply) = tokio::join!(http::get(&metrics_url), health(&app));
        open_in_metrics |= metrics.unwrap().body.contains("enrichment_esi_breaker_state{state=\"open\"} 1");
        open_in_health |= reply.status == 200 && reply.json()["redis"]["esiBreaker"] == "open";
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        open_in_metrics && open_in_health,
        "the breaker never showed open (metrics: {open_in_metrics}, health: {open_in_health})"
    );
    assert_eq!(app.enrichment_count(ENRICHED).await, 0, "a killmail was enriched while ESI was down");
    replay.clear_faults();
    app.wait_for_enriched(ENRICHED, 60, Duration::from_secs(300)).await;
    // Enrichment's breaker opens after five upstream failures in a row (esi_policy::FAILURES_TO_OPEN).
    assert!(replay.counts().faults_served >= 5, "{:?}", replay.counts());
    let stats = http::get(&app.host.url("/api/enrichment/stats")).await.unwrap().json();
    assert_eq!(stats["esi"]["breakerState"], "closed", "{stats}");
    assert!(stats["counters"]["bodies_from_esi"].as_i64().unwrap() >= 60, "{stats}");
    app.stop().await;
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing_and_bodies_are_revalidated_with_etags() {
    let dir = tempfile::tempdir().unwrap();
    let (killmails, replay) = replay_of("2021-11-30").await;
    replay.set_killmail_max_age(0);
    let app = start(dir.path(), "enrichredeliver", &replay).await;
    let event = ingested_without_body(&killmails[10]);
    produce_many(&app.ingested_topic, &[event.clone(), event.clone()]).await;
    app.wait_for_enriched(ENRICHED, 1, Duration::from_secs(120)).await;
    let stats_until = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = http::get(&app.host.url("/api/enrichment/stats")).await.unwrap().json();
        if stats["counters"]["redelivered"].as_i64().unwrap_or(0) >= 1 || Instant::now() > stats_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.enrichment_count(ENRICHED).await, 1);
    assert_eq!(app.enrichment_count("SELECT count(*) FROM outbox").await, 1, "one event for a redelivered killmail");

    // Enriched again from scratch: the cached body is stale (max-age 0), so it is revalidated.
    app.enrichment_db.execute("DELETE FROM enriched_killmails", &[]).await.unwrap();
    produce_many(&app.ingested_topic, &[ingested_without_body(&killmails[10])]).await;
    app.wait_for_enriched(ENRICHED, 1, Duration::from_secs(120)).await;
    let counts = replay.counts();
    assert_eq!(counts.esi_killmail, 2, "{counts:?}");
    assert_eq!(counts.esi_not_modified, 1, "If-None-Match answered 304: {counts:?}");
    app.stop().await;
}

/// Redis is not needed to enrich: with it cut off, killmails are still enriched, from the
/// database's names and ESI, and the health report names Redis; when it is back, so is the
/// report.
#[tokio::test]
async fn with_redis_cut_off_killmails_are_still_enriched() {
    let dir = tempfile::tempdir().unwrap();
    let (killmails, replay) = replay_of("2021-11-30").await;
    let stack_redis = battlescope_tests::redis_url();
    let mut link = Link::open(stack_redis.trim_start_matches("redis://").trim_end_matches('/')).await;
    let options = Options {
        replay_url: Some(replay.base_url.clone()),
        redis_url: Some(format!("redis://127.0.0.1:{}", link.port)),
        ..Options::default()
    };
    let app = App::start(dir.path(), "enrichnoredis", options).await.unwrap();
    link.cut();
    let events: Vec<(String, Vec<u8>)> = killmails[..40].iter().map(ingested_without_body).collect();
    produce_many(&app.ingested_topic, &events).await;
    app.wait_for_enriched(ENRICHED, 40, Duration::from_secs(180)).await;
    let named = app.enrichment_count("SELECT count(*) FROM enriched_killmails WHERE names_complete").await;
    assert!(named > 0, "names came from ESI without Redis");
    let down = health(&app).await;
    assert_eq!((down.status, down.json()["redis"]["reachable"].clone()), (503, serde_json::json!(false)), "{}", down.body);
    assert_eq!(down.json()["database"]["killmails"], 40, "{}", down.body);
    let stats = http::get(&app.host.url("/api/enrichment/stats")).await.unwrap().json();
    assert!(stats["counters"]["redis_unavailable"].as_i64().unwrap_or(0) > 0, "{stats}");

    link.restore().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while health(&app).await.status != 200 {
        assert!(Instant::now() < deadline, "health did not recover with Redis");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    app.stop().await;
}
