//! The operators' files and the host's metrics against the real tools: the alert rules and the
//! scrape config pass promtool, and the rules' unit tests show each alert firing on the series
//! that should raise it and staying quiet on healthy ones; a real Prometheus scraping a host
//! while 200 real killmails flow from the replayed feed to battles sees the pipeline's series
//! move, and accepts every query of the Grafana dashboard and of the alert rules.

use battlescope_tests::app::{App, Options};
use battlescope_tests::otlp::{OtlpReceiver, ReceivedSpan};
use battlescope_tests::prometheus::{promtool, Prometheus};
use battlescope_tests::replay::{data, Replay, ReplayData};
use battlescope_tests::{http, repo_root};
use serde_json::Value;
use std::time::Duration;

const KILLMAILS: usize = 200;

/// What deploy/observability/prometheus.yml scrapes: the host's metrics and the services'.
const SCRAPED: &[(&str, &str)] = &[
    ("battlescope", "/.well-known/battlescope/metrics"),
    ("battlescope-enrichment", "/api/enrichment/metrics"),
    ("battlescope-battles", "/api/battles/metrics"),
    ("battlescope-bff", "/api/bff/metrics"),
];

fn observability_dir() -> std::path::PathBuf {
    repo_root().join("deploy/observability")
}

#[test]
fn alert_rules_and_the_scrape_config_pass_promtool_and_their_unit_tests() {
    let dir = observability_dir();
    let checked = promtool(&dir, &["check", "rules", "alerts.yml"]).unwrap();
    assert!(checked.contains("SUCCESS: 13 rules found"), "{checked}");
    promtool(&dir, &["check", "config", "prometheus.yml"]).unwrap();
    let scraped = std::fs::read_to_string(dir.join("prometheus.yml")).unwrap();
    for (job, path) in SCRAPED {
        assert!(scraped.contains(&format!("job_name: {job}\n    metrics_path: {path}\n")), "{job} ({path}) in prometheus.yml");
    }
    let tested = promtool(&dir, &["test", "rules", "alerts.test.yml"]).unwrap();
    assert!(tested.contains("SUCCESS"), "{tested}");
}

/// Every PromQL expression of the dashboard and of the alert rules.
fn expressions() -> Vec<String> {
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(observability_dir().join("grafana-pipeline.json")).unwrap()).unwrap();
    let mut exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter().map(|t| t["expr"].as_str().unwrap().to_string()))
        .collect();
    // The rule file's `expr:` blocks, read as text: one expression per rule.
    let rules = std::fs::read_to_string(observability_dir().join("alerts.yml")).unwrap();
    let mut lines = rules.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(rest) = line.trim_start().strip_prefix("expr:") else { continue };
        let mut expr = rest.trim().trim_start_matches('|').trim().to_string();
        let indent = line.len() - line.trim_start().len();
        while let Some(next) = lines.peek().filter(|l| l.len() - l.trim_start().len() > indent && !l.trim().is_empty()) {
            expr.push(' ');
            expr.push_str(next.trim());
            lines.next();
        }
        exprs.push(expr);
    }
    exprs
}

#[tokio::test]
async fn prometheus_sees_the_pipeline_move_and_answers_every_dashboard_and_alert_query() {
    let dir = tempfile::tempdir().unwrap();
    let killmails: Vec<Value> = data::load_day(&data::day_file("2021-11-30")).unwrap().into_iter().take(KILLMAILS).collect();
    let replay = Replay::start(ReplayData::new(killmails).unwrap(), 0).await.unwrap();
    // Nothing in the feed until Prometheus has scraped the idle host once.
    replay.set_window(1, 0);
    let otlp = OtlpReceiver::start().await.unwrap();
    let options = Options {
        feed: "r2z2",
        replay_url: Some(replay.base_url.clone()),
        otlp_endpoint: Some(otlp.base_url.clone()),
        ..Options::default()
    };
    let app = App::start(dir.path(), "observability", options).await.unwrap();
    let target = app.host.url("").trim_start_matches("http://").to_string();
    std::fs::create_dir_all(dir.path().join("prometheus")).unwrap();
    let prometheus = Prometheus::start(&dir.path().join("prometheus"), &target, SCRAPED).await.unwrap();
    // `up` is 0 when an exposition text does not parse.
    let all_up = format!("count(up == 1) == {}", SCRAPED.len());
    prometheus.wait_for(&all_up, Duration::from_secs(30)).await.unwrap();
    app.stats().await;

    replay.set_window(1, KILLMAILS);
    app.wait_for_battles("SELECT count(*) FROM battle_kills", KILLMAILS as i64, Duration::from_secs(300)).await;
    for _ in 0..3 {
        app.stats().await;
        let r = http::get(&app.host.url("/api/ingestion/health")).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        // The first answer is composed (a miss), the next ones come from the BFF's cache.
        let r = http::get(&app.host.url("/api/bff/battles")).await.unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    // Two more scrapes after the last request.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let moved = |metric: &str| format!("sum by (job) (changes({metric}[10m])) > 0");
    for metric in [
        "kafka_messages_consumed_total",
        "kafka_messages_produced_total",
        "kafka_call_duration_seconds_count",
        "kafka_call_messages_total",
        "http_requests_total",
        "http_request_duration_seconds_count",
        "database_query_duration_seconds_count",
    ] {
        prometheus.wait_for(&moved(metric), Duration::from_secs(10)).await.unwrap_or_else(|e| panic!("{metric}: {e}"));
    }
    for (cache, outcome) in [("enrichment_names", "miss"), ("enrichment_names", "redis"), ("bff", "miss"), ("bff", "hit")] {
        let lookups = format!("cache_lookups_total{{cache=\"{cache}\",outcome=\"{outcome}\"}} > 0");
        prometheus.wait_for(&lookups, Duration::from_secs(10)).await.unwrap_or_else(|e| panic!("{e}"));
    }
    let ratios = prometheus.wait_for("cache_hit_ratio > 0 and cache_hit_ratio < 1", Duration::from_secs(10)).await.unwrap();
    assert_eq!(ratios.len(), 2, "both caches hit some and missed some: {ratios:?}");
    let instances =
        prometheus.wait_for("component_instances{component=\"enrichment-worker\"}", Duration::from_secs(10)).await.unwrap();
    assert!(instances[0]["value"][1].as_str().unwrap().parse::<f64>().unwrap() >= 0.0, "{instances:?}");
    // Every instance that ended added its memory: at least the 64 KiB page a memory starts with.
    prometheus
        .wait_for(
            "component_memory_bytes_total{component=\"battle-worker\"} / component_instances_created_total >= 65536",
            Duration::from_secs(10),
        )
        .await
        .unwrap();
    prometheus.wait_for("battles_stored > 0", Duration::from_secs(10)).await.unwrap();
    prometheus.wait_for("battles_open", Duration::from_secs(10)).await.unwrap();
    let stages = prometheus.query("sum by (group) (kafka_messages_consumed_total) > 0").await.unwrap();
    assert!(stages.len() >= 3, "ingested, enriched and battle stages all consumed: {stages:?}");
    let routes = prometheus.query("sum by (route, method) (http_requests_total{status=\"200\"})").await.unwrap();
    assert!(
        routes.iter().any(|s| s["metric"]["route"] == "/api/ingestion/..." && s["metric"]["method"] == "GET"),
        "requests are labelled with their manifest route: {routes:?}"
    );
    for gauge in ["kafka_consumer_lag", "outbox_pending_rows"] {
        prometheus.wait_for(gauge, Duration::from_secs(10)).await.unwrap_or_else(|e| panic!("{gauge}: {e}"));
    }
    let exprs = expressions();
    assert!(exprs.len() >= 28, "the dashboard's and the rules' expressions were all found: {exprs:#?}");
    for expr in &exprs {
        prometheus.query(expr).await.unwrap();
    }
    one_trace_runs_from_the_feed_to_the_websocket(&otlp).await;
    app.stop().await;
}

/// A killmail's way from the R2Z2 poll to the battle event pushed to WebSocket clients is one
/// trace: ingestion's poll, enrichment, the battle worker and the notification worker's push,
/// each a span under the one before (across the outboxes and Kafka), and their database calls
/// beneath them. Prints the trace, as docs/observability.md shows it.
async fn one_trace_runs_from_the_feed_to_the_websocket(otlp: &OtlpReceiver) {
    let stages = ["ingestion-worker", "enrichment-worker", "battle-worker", "notification-worker"];
    let expected: Vec<&str> = [&stages[..], &["notification-worker"]].concat();
    // A parent ends, and is sent, after its children: wait until some pushed battle event's
    // ancestors have all arrived.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (spans, path_ids) = loop {
        let spans = otlp.spans();
        let by_id: std::collections::BTreeMap<&str, &ReceivedSpan> = spans.iter().map(|s| (s.span_id.as_str(), s)).collect();
        let pushes =
            spans.iter().filter(|s| s.name.starts_with("websocket push battle.") && s.component() == "notification-worker");
        let whole = pushes
            .map(|push| {
                let mut path = vec![push];
                while let Some(parent) = by_id.get(path.last().unwrap().parent_span_id.as_str()) {
                    path.push(parent);
                }
                path.reverse();
                path
            })
            .find(|path| path.iter().map(|s| s.component()).collect::<Vec<_>>() == expected);
        if let Some(path) = whole {
            let ids: Vec<String> = path.iter().map(|s| s.span_id.clone()).collect();
            break (spans.clone(), ids);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no pushed battle event descends from all four stages in 30 s ({} spans received)",
            spans.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let path: Vec<&ReceivedSpan> = path_ids.iter().map(|id| spans.iter().find(|s| &s.span_id == id).unwrap()).collect();
    let trace = path[0].trace_id.clone();
    let in_trace: Vec<&ReceivedSpan> = spans.iter().filter(|s| s.trace_id == trace).collect();
    for span in &in_trace {
        assert_eq!(span.service, "battlescope", "{span:?}");
    }
    assert!(path.iter().all(|s| s.trace_id == trace), "one trace: {path:#?}");
    assert!(path[0].parent_span_id.is_empty() && path[0].name.ends_with(" run"), "the feed's poll is the root: {:?}", path[0]);
    for consumed in &path[1..4] {
        assert_eq!(consumed.kind, 5, "a consumer span for each Kafka stage: {consumed:?}");
        let calls = in_trace.iter().filter(|s| s.parent_span_id == consumed.span_id && s.kind == 3).count();
        assert!(calls > 0, "{}'s calls (Postgres, Redis) are children of its message's span", consumed.component());
    }
    let started = path[0].start_unix_nano;
    println!("trace {trace}: {} spans; the pushed event's way:", in_trace.len());
    for s in &path {
        let calls: Vec<&str> =
            in_trace.iter().filter(|c| c.parent_span_id == s.span_id && c.kind == 3).map(|c| c.name.as_str()).collect();
        let offset = s.start_unix_nano.saturating_sub(started) as f64 / 1e6;
        println!("  +{offset:>8.1} ms {:>8.1} ms  {:<20} {} ({} calls)", s.duration_ms(), s.component(), s.name, calls.len());
    }
}
