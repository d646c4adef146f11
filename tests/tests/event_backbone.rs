//! The event backbone against the real tansu broker, Postgres and Redis: keyed order, crash
//! safety, retries and dead letters, envelope validation, and the outbox.

use battlescope_tests::contract::validate_event;
use battlescope_tests::events::{wait_for_count, EventApp, Options};
use battlescope_tests::{http, kafka};
use std::collections::HashMap;
use std::time::Duration;

const EFFECTS: &str = "SELECT total FROM effects WHERE id = 1";

async fn produce(host: &battlescope_tests::host::Host, topic: &str, n: u32, keys: u32, behaviour: &str) {
    let url = host.url(&format!("/probe-events/produce?n={n}&keys={keys}&topic={topic}&behaviour={behaviour}"));
    let r = http::request("POST", &url, "").await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn keyed_events_flow_between_components_in_order_and_match_their_schema() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "order", &Options::default());
    let host = app.start("a").await;
    produce(&host, &app.topic, 200, 5, "ok").await;
    let db = app.db().await;
    assert_eq!(wait_for_count(&db, EFFECTS, 200, 60).await, 200, "all 200 events arrived\n{}", host.log_text());

    let rows = db.query("SELECT key, seq, payload, traceparent FROM seen ORDER BY arrival", &[]).await.unwrap();
    let mut last: HashMap<String, i32> = HashMap::new();
    for row in &rows {
        let (key, seq): (String, i32) = (row.get(0), row.get(1));
        if let Some(prev) = last.insert(key.clone(), seq) {
            assert!(seq > prev, "key {key}: seq {seq} arrived after {prev}");
        }
        let payload: String = row.get(2);
        validate_event(&payload).unwrap();
        let traceparent: Option<String> = row.get(3);
        assert!(traceparent.is_some_and(|t| t.starts_with("00-")), "the producer sent trace context");
    }
    assert_eq!(last.len(), 5);
    let metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    assert!(metrics.contains(&format!("kafka_messages_consumed_total{{topic=\"{}\"", app.topic)), "{metrics}");
    assert!(metrics.contains("kafka_messages_produced_total"), "{metrics}");
}

#[tokio::test]
async fn sigkill_mid_stream_loses_nothing_and_applies_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "crash", &Options { handle_delay_ms: 4, ..Options::default() });
    let host = app.start("a").await;
    produce(&host, &app.topic, 600, 8, "ok").await;
    let db = app.db().await;
    let before = wait_for_count(&db, EFFECTS, 120, 60).await;
    assert!(before >= 120, "processing started");
    host.kill().await; // SIGKILL: no shutdown, no final commit
    let killed_at: i64 = db.query_one(EFFECTS, &[]).await.unwrap().get(0);
    assert!(killed_at < 600, "the host died mid-stream ({killed_at} of 600 applied)");

    let host = app.start("a").await;
    assert_eq!(wait_for_count(&db, EFFECTS, 600, 120).await, 600, "{}", host.log_text());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let effects: i64 = db.query_one(EFFECTS, &[]).await.unwrap().get(0);
    let distinct: i64 = db.query_one("SELECT count(*) FROM seen", &[]).await.unwrap().get(0);
    let deliveries: i64 = db.query_one("SELECT count(*) FROM deliveries", &[]).await.unwrap().get(0);
    assert_eq!(effects, 600, "each event applied exactly once");
    assert_eq!(distinct, 600, "none missing");
    assert!(deliveries >= 600, "redeliveries are allowed ({deliveries})");
    println!("crash test: {killed_at} applied before SIGKILL, {deliveries} deliveries for 600 events");
}

#[tokio::test]
async fn retries_recover_poison_messages_are_dead_lettered_and_the_partition_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    // One message per call, so each attempt the component counts is one the host counts
    // (batches: `a_batch_settles_each_message_alone_when_some_fail_or_one_traps`).
    let app = EventApp::new(dir.path(), "dlq", &Options { batch_size: Some(1), ..Options::default() });
    let host = battlescope_tests::host::Host::start(app.options("a").json_logs()).await.unwrap();
    // One key, so one partition, in this order.
    produce(&host, &app.topic, 1, 1, "fail-then-ok").await;
    produce(&host, &app.topic, 1, 1, "fail-always").await;
    // The trapping message is sent in a trace of the test's own, to find its handler's output by.
    let url = host.url(&format!("/probe-events/produce?n=1&keys=1&topic={}&behaviour=trap", app.topic));
    let caller = [("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")];
    let r = http::request_with_headers("POST", &url, "", &caller).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    produce(&host, &app.topic, 1, 1, "fatal").await;
    produce(&host, &app.topic, 1, 1, "ok").await;
    let db = app.db().await;
    assert_eq!(wait_for_count(&db, EFFECTS, 2, 60).await, 2, "{}", host.log_text());
    let recovered: i32 = db.query_one("SELECT a.n FROM attempts a JOIN seen s USING (event_id)", &[]).await.unwrap().get(0);
    assert_eq!(recovered, 6, "a transient failure is waited out past max_attempts: failed five times, then succeeded");
    let order: Vec<i32> =
        db.query("SELECT seq FROM seen ORDER BY arrival", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(order.len(), 2);

    let dead = kafka::read_topic(&format!("{}.dlq", app.topic), 3, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 3, "{dead:?}");
    let always = dead.iter().find(|r| r.payload.contains("fail-always")).expect("fail-always dead-lettered");
    assert!(always.header("battlescope-dlq-error").unwrap().contains("always failing, attempt 3"), "{always:?}");
    assert_eq!(always.header("battlescope-dlq-attempts"), Some("3"), "a repeating failure gets max_attempts");
    let trapped = dead.iter().find(|r| r.payload.contains("\"trap\"")).expect("the trapping handler's message dead-lettered");
    assert_eq!(trapped.header("battlescope-dlq-attempts"), Some("3"), "a trap counts as a repeating failure");
    assert!(trapped.header("battlescope-dlq-error").unwrap().contains("trap"), "{trapped:?}");
    // An instance that traps mid-transaction holding a lock leaves neither behind: its
    // connection is closed, not pooled (where the lock would stay until the connection was
    // handed out again, every other instance waiting on it meanwhile).
    let trap = http::request("POST", &host.url("/probe-events/trap-holding-lock"), "").await.unwrap();
    assert_eq!(trap.status, 500, "{}", trap.body);
    let mut free = false;
    for _ in 0..50 {
        free = db.query_one("SELECT pg_try_advisory_xact_lock(4242)", &[]).await.unwrap().get(0);
        if free {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(free, "the trapped instance's lock is still held 5 s later");
    assert_eq!(always.header("battlescope-dlq-topic"), Some(app.topic.as_str()));
    assert_eq!(always.key.as_deref(), Some("k0"), "the key is kept");
    let fatal = dead.iter().find(|r| r.payload.contains("\"fatal\"")).expect("fatal dead-lettered");
    assert_eq!(fatal.header("battlescope-dlq-attempts"), Some("1"), "a fatal error is not retried");
    assert!(fatal.header("traceparent").is_some(), "original headers are kept");
    let metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    assert!(metrics.contains(&format!("kafka_messages_dead_lettered_total{{topic=\"{}\"", app.topic)), "{metrics}");
    assert_trapping_handler_output_is_logged_in_its_trace(&host.log_text());
}

/// The panic message a trapping handler wrote on stderr is a JSON log line of its own, with the
/// component, the trigger and the trace of the HTTP request that published its message.
fn assert_trapping_handler_output_is_logged_in_its_trace(log: &str) {
    // The file has stdout too, where the host writes a plain line for people: "serving …".
    let on_stderr = log.lines().filter(|l| !l.starts_with("battlescope: "));
    let lines: Vec<serde_json::Value> =
        on_stderr.map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l:?}"))).collect();
    let panics: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["stream"] == "stderr" && l["message"].as_str().is_some_and(|m| m.starts_with("trapping on purpose")))
        .collect();
    let (in_kafka, in_http): (Vec<_>, Vec<_>) = panics.into_iter().partition(|l| l["trigger"] == "kafka");
    assert_eq!(in_http.len(), 1, "the HTTP route that traps holding a lock:\n{log}");
    assert_eq!(in_http[0]["component"], "producer", "{}", in_http[0]);
    assert_eq!(in_kafka.len(), 3, "one panic line per attempt (max_attempts 3):\n{log}");
    for line in in_kafka {
        assert_eq!(line["component"], "consumer", "{line}");
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(
            line["trace_id"], "0af7651916cd43dd8448eb211c80319c",
            "the HTTP caller's trace continues through Kafka: {line}"
        );
        assert_eq!(line["span_id"].as_str().map(str::len), Some(16), "{line}");
    }
    let dead_lettered =
        lines.iter().find(|l| l["message"].as_str().is_some_and(|m| m.starts_with("message dead-lettered: trap")));
    assert_eq!(dead_lettered.map(|l| &l["trace_id"]), Some(&serde_json::json!("0af7651916cd43dd8448eb211c80319c")), "{log}");
}

#[tokio::test]
async fn a_batch_settles_each_message_alone_when_some_fail_or_one_traps() {
    let dir = tempfile::tempdir().unwrap();
    // The worker waits for a batch to fill, so the six events below arrive as one call.
    let app = EventApp::new(dir.path(), "batch", &Options { batch_linger_ms: 500, ..Options::default() });
    let host = app.start("a").await;
    produce(&host, &app.topic, 6, 1, "ok,fail-then-ok,fatal,trap,ok,ok").await;
    let db = app.db().await;
    assert_eq!(wait_for_count(&db, EFFECTS, 4, 60).await, 4, "the four good events applied\n{}", host.log_text());
    let largest: i32 = db.query_one("SELECT max(size) FROM batches", &[]).await.unwrap().get(0);
    assert_eq!(largest, 6, "one call had all six events");

    let dead = kafka::read_topic(&format!("{}.dlq", app.topic), 2, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 2, "{dead:?}");
    let fatal = dead.iter().find(|r| r.payload.contains("\"fatal\"")).expect("fatal dead-lettered");
    // The trap failed the batch as a whole, which is nobody's attempt: the fatal event's own
    // first attempt comes alone.
    assert_eq!(fatal.header("battlescope-dlq-attempts"), Some("1"), "{fatal:?}");
    let trapped = dead.iter().find(|r| r.payload.contains("\"trap\"")).expect("the trapping event dead-lettered");
    assert_eq!(trapped.header("battlescope-dlq-attempts"), Some("3"), "{trapped:?}");
    let recovered: i32 = db
        .query_one("SELECT a.n FROM attempts a JOIN seen s USING (event_id) WHERE s.payload LIKE '%fail-then-ok%'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recovered, 6, "the transient failure was waited out");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let effects: i64 = db.query_one(EFFECTS, &[]).await.unwrap().get(0);
    assert_eq!(effects, 4, "events handled in the failed batch and again alone are applied once");
    let order: Vec<i32> = db.query("SELECT seq FROM seen ORDER BY seq", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(order, [0, 1, 4, 5], "exactly the good events, none twice");
}

#[tokio::test]
async fn an_invalid_envelope_is_dead_lettered_with_the_schema_error() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "schema", &Options::default());
    let host = app.start("a").await;
    let bad = br#"{"eventId":"6f1c2a9e-6a4e-4b8f-9a39-2f7f8b0a1c11","eventType":"test.probe","timestamp":"2021-11-28T10:21:00Z","data":{"key":"k0","seq":-5,"behaviour":"ok"}}"#;
    kafka::produce_raw(&app.topic, "k0", bad).await;
    kafka::produce_raw(&app.topic, "k0", b"this is not json").await;
    produce(&host, &app.topic, 1, 1, "ok").await;
    let db = app.db().await;
    assert_eq!(wait_for_count(&db, EFFECTS, 1, 60).await, 1, "{}", host.log_text());
    let dead = kafka::read_topic(&format!("{}.dlq", app.topic), 2, Duration::from_secs(30)).await;
    assert_eq!(dead.len(), 2, "{dead:?}");
    let schema_error =
        dead.iter().find(|r| r.payload.contains("-5")).unwrap().header("battlescope-dlq-error").unwrap().to_string();
    assert!(schema_error.contains("invalid envelope") && schema_error.contains("/data/seq"), "{schema_error}");
    let json_error = dead.iter().find(|r| r.payload == "this is not json").unwrap();
    assert!(json_error.header("battlescope-dlq-error").unwrap().contains("not JSON"), "{json_error:?}");
    let deliveries: i64 = db.query_one("SELECT count(*) FROM deliveries", &[]).await.unwrap().get(0);
    assert_eq!(deliveries, 1, "the component never saw the invalid messages");
}

#[tokio::test]
async fn outbox_rows_reach_the_consumer_even_when_the_relay_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "outbox", &Options { outbox: true, ..Options::default() });
    let host = app.start("a").await;
    let r =
        http::request("POST", &host.url(&format!("/probe-events/outbox?n=400&keys=4&topic={}", app.topic)), "").await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let db = app.db().await;
    let orders: i64 = db.query_one("SELECT count(*) FROM orders", &[]).await.unwrap().get(0);
    assert_eq!(orders, 400, "domain rows and outbox rows committed together");
    wait_for_count(&db, EFFECTS, 40, 60).await;
    host.kill().await;
    let _host = app.start("a").await;
    assert_eq!(wait_for_count(&db, EFFECTS, 400, 120).await, 400);
    let pending = wait_for_count(&db, "SELECT -count(*) FROM outbox WHERE published_at IS NULL", 0, 30).await;
    assert_eq!(pending, 0, "every outbox row is marked published");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let effects: i64 = db.query_one(EFFECTS, &[]).await.unwrap().get(0);
    assert_eq!(effects, 400, "duplicates from the relay are absorbed by the idempotent consumer");
    for row in db.query("SELECT payload FROM seen", &[]).await.unwrap() {
        validate_event(&row.get::<_, String>(0)).unwrap();
    }
}

#[tokio::test]
async fn a_committed_offset_past_the_partitions_end_is_read_again_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "reset", &Options::default());
    let host = app.start("a").await;
    produce(&host, &app.topic, 40, 4, "ok").await;
    let db = app.db().await;
    assert_eq!(wait_for_count(&db, EFFECTS, 40, 60).await, 40, "{}", host.log_text());
    host.kill().await;
    // As after a broker lost its log: the group's offsets point past every partition's end.
    kafka::commit_offsets(&format!("{}-group", app.topic), &app.topic, 100_000).await;

    let host = app.start("a").await;
    let deliveries = wait_for_count(&db, "SELECT count(*) FROM deliveries", 80, 60).await;
    assert_eq!(deliveries, 80, "every message was read again:\n{}", host.log_text());
    let effects: i64 = db.query_one(EFFECTS, &[]).await.unwrap().get(0);
    assert_eq!(effects, 40, "and applied once");
    assert!(host.log_text().contains("the committed offset is past the partition's end"), "{}", host.log_text());
    let metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    let resets: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("kafka_offset_resets_total{") && l.contains(&app.topic))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    assert!((1..=4).contains(&resets), "one reset counted per partition holding messages: {resets}\n{metrics}");
}

/// `kafka_messages_consumed_total` of the probe's topic on one host.
async fn consumed_by(host: &battlescope_tests::host::Host, topic: &str) -> u64 {
    let metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    let prefix = format!("kafka_messages_consumed_total{{topic=\"{topic}\"");
    metrics.lines().filter(|l| l.starts_with(&prefix)).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum()
}

#[tokio::test]
async fn a_member_joining_mid_stream_takes_partitions_without_redelivering_handled_messages() {
    let dir = tempfile::tempdir().unwrap();
    // About 15 s of work for one host, so that b joins while a is busy.
    let app = EventApp::new(dir.path(), "rebalance", &Options { handle_delay_ms: 50, ..Options::default() });
    let a = app.start("a").await;
    // Hundreds of messages per partition: a's workers have queues full when b joins.
    produce(&a, &app.topic, 1200, 16, "ok").await;
    let db = app.db().await;
    assert!(wait_for_count(&db, EFFECTS, 80, 60).await >= 80, "a started:\n{}", a.log_text());
    let b = app.start("b").await;
    assert_eq!(wait_for_count(&db, EFFECTS, 1200, 240).await, 1200, "{}\n{}", a.log_text(), b.log_text());
    tokio::time::sleep(Duration::from_secs(2)).await;

    let (by_a, by_b) = (consumed_by(&a, &app.topic).await, consumed_by(&b, &app.topic).await);
    assert!(by_b > 0, "b took partitions over (a handled {by_a}):\n{}", b.log_text());
    assert!(a.log_text().contains("kafka partitions revoked after settling the messages in hand"), "{}", a.log_text());
    let deliveries: i64 = db.query_one("SELECT count(*) FROM deliveries", &[]).await.unwrap().get(0);
    assert_eq!(deliveries, 1200, "a message handled before the rebalance was delivered again (a handled {by_a}, b {by_b})");
    println!("rebalance: a handled {by_a}, b {by_b}, 1200 deliveries for 1200 events");
}

#[tokio::test]
async fn a_serial_trigger_keeps_handling_other_partitions_while_one_message_waits_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "serialwait", &Options { serial: true, ..Options::default() });
    let host = app.start("a").await;
    produce(&host, &app.topic, 1, 1, "fail-then-ok").await;
    produce(&host, &app.topic, 80, 16, "ok").await;
    let db = app.db().await;
    assert_eq!(wait_for_count(&db, EFFECTS, 81, 60).await, 81, "{}", host.log_text());
    let before: i64 = db
        .query_one(
            "SELECT count(*) FROM seen WHERE arrival < (SELECT s.arrival FROM seen s JOIN attempts a USING (event_id))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    // The waiting message backs off about 0.6 s in all; with the turn held while it sleeps,
    // nothing else could run meanwhile. (Messages of its own partition wait behind it.)
    assert!(before >= 20, "only {before} messages were handled while one waited to retry");
}

#[tokio::test]
async fn a_broker_down_at_boot_keeps_the_host_unready_until_it_comes_and_nothing_is_lost() {
    let port = battlescope_tests::free_port();
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "late-broker", &Options::default());
    let options = app.options("a").env("SPIN_VARIABLE_KAFKA_BROKERS", &format!("127.0.0.1:{port}"));
    let host = battlescope_tests::host::Host::start_serving(options).await.unwrap();

    // Serving, but not ready, and saying what it waits for.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ready = http::get(&host.url("/.well-known/battlescope/ready")).await.unwrap();
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert!(ready.body.contains("kafka:"), "{}", ready.body);

    let _broker = battlescope_tests::broker::Broker::start(port).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ready = http::get(&host.url("/.well-known/battlescope/ready")).await.unwrap();
        if ready.status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not ready 60 s after the broker came: {}\n{}",
            ready.body,
            host.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    produce(&host, &app.topic, 20, 2, "ok").await;
    let db = app.db().await;
    assert_eq!(wait_for_count(&db, EFFECTS, 20, 60).await, 20, "consumption started\n{}", host.log_text());
}

#[tokio::test]
async fn an_outbox_row_the_broker_refuses_for_good_is_parked_and_the_rows_behind_it_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "outbox-big", &Options { outbox: true, ..Options::default() });
    let host = app.start("a").await;
    let db = app.db().await;
    let topic = kafka::unique_topic("outbox-big");
    // Bigger than the 1 MB a Kafka message may be, then an ordinary one behind it.
    let huge = format!("{{\"blob\":\"{}\"}}", "x".repeat(2_000_000));
    db.execute("INSERT INTO outbox (topic, key, payload) VALUES ($1, 'k', $2), ($1, 'k', '{\"ok\":true}')", &[&topic, &huge])
        .await
        .unwrap();

    let settled =
        format!("SELECT count(*) FROM outbox WHERE topic = '{topic}' AND (published_at IS NOT NULL OR failed_at IS NOT NULL)");
    assert_eq!(wait_for_count(&db, &settled, 2, 60).await, 2, "both rows settled\n{}", host.log_text());
    let records = kafka::read_topic(&topic, 1, Duration::from_secs(30)).await;
    assert_eq!(records.len(), 1, "the row behind the refused one was published");
    assert_eq!(records[0].payload, "{\"ok\":true}");
    let parked = db
        .query("SELECT failure FROM outbox WHERE topic = $1 AND failed_at IS NOT NULL AND published_at IS NULL", &[&topic])
        .await
        .unwrap();
    assert_eq!(parked.len(), 1, "the oversize row is parked, not published");
    let failure: String = parked[0].get(0);
    assert!(failure.contains("too large") || failure.contains("TooLarge"), "{failure}");
    let metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    assert!(metrics.contains(&format!("outbox_rows_parked_total{{topic=\"{topic}\"}} 1")), "{metrics}");
}
