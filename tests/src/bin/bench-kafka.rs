//! `make bench` (Kafka part): events/s through produce → Kafka trigger → handler → commit,
//! for a no-op handler and for a handler that writes one row to Postgres, each run as a Wasm
//! component on our host and as native rdkafka code doing the same work in the same run.

use battlescope_tests::events::{EventApp, Options};
use battlescope_tests::kafka::brokers;
use battlescope_tests::metrics_text::sum_by;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const EVENTS: usize = 20_000;
const KEYS: usize = 64;

async fn produce(topic: &str) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .unwrap();
    let mut sends = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let key = format!("k{}", i % KEYS);
        let payload = serde_json::json!({
            "eventId": uuid::Uuid::new_v4().to_string(), "eventType": "test.probe",
            "timestamp": "2021-11-28T10:21:00.000Z",
            "data": { "key": key, "seq": i / KEYS, "behaviour": "ok" }
        })
        .to_string();
        let producer = producer.clone();
        let topic = topic.to_string();
        sends.push(async move {
            producer.send(FutureRecord::to(&topic).key(&key).payload(&payload), Duration::from_secs(30)).await.map_err(|(e, _)| e)
        });
    }
    for r in futures::future::join_all(sends).await {
        r.unwrap();
    }
}

async fn create_topic(topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers()).create().unwrap();
    let _ = admin.create_topics(&[NewTopic::new(topic, 4, TopicReplication::Fixed(1))], &AdminOptions::new()).await;
}

/// Native baseline: a consumer group with one worker per partition, storing offsets after the
/// work, like the host.
async fn native(topic: &str, database_url: Option<&str>) -> Duration {
    let consumer: std::sync::Arc<StreamConsumer> = std::sync::Arc::new(
        ClientConfig::new()
            .set("bootstrap.servers", brokers())
            .set("group.id", format!("{topic}-native"))
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .create()
            .unwrap(),
    );
    consumer.subscribe(&[topic]).unwrap();
    // Join the group before the clock starts, as the host has by then.
    let joined = Instant::now();
    let mut first = None;
    while joined.elapsed() < Duration::from_secs(4) {
        if let Ok(Ok(m)) = tokio::time::timeout(Duration::from_millis(100), consumer.recv()).await {
            first = Some(m.detach());
            break;
        }
    }
    assert!(first.is_none(), "the native topic is empty before the run");
    let producing = tokio::spawn({
        let topic = topic.to_string();
        async move { produce(&topic).await }
    });
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut workers: HashMap<i32, tokio::sync::mpsc::Sender<OwnedMessage>> = HashMap::new();
    let started = Instant::now();
    let mut done = 0;
    while done < EVENTS {
        tokio::select! {
            m = consumer.recv() => {
                let m = m.unwrap().detach();
                let tx = workers.entry(m.partition()).or_insert_with(|| {
                    let (tx, mut rx) = tokio::sync::mpsc::channel::<OwnedMessage>(256);
                    let (consumer, done_tx, url) = (consumer.clone(), done_tx.clone(), database_url.map(str::to_string));
                    tokio::spawn(async move {
                        let db = match url {
                            Some(u) => {
                                let (c, conn) = tokio_postgres::connect(&u, tokio_postgres::NoTls).await.unwrap();
                                tokio::spawn(conn);
                                Some(c)
                            }
                            None => None,
                        };
                        while let Some(m) = rx.recv().await {
                            if let Some(db) = &db {
                                db.execute(
                                    "INSERT INTO bench_rows (topic, partition, \"offset\") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                    &[&m.topic(), &m.partition(), &m.offset()],
                                ).await.unwrap();
                            }
                            let _ = consumer.store_offset(m.topic(), m.partition(), m.offset());
                            let _ = done_tx.send(());
                        }
                    });
                    tx
                });
                tx.send(m).await.unwrap();
            }
            Some(()) = done_rx.recv() => done += 1,
        }
    }
    producing.await.unwrap();
    started.elapsed()
}

async fn component(mode: &str) -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), &format!("bench{mode}"), &Options::default());
    std::env::set_var("SPIN_VARIABLE_MODE", mode);
    std::env::set_var("BATTLESCOPE_LOG", "warn");
    let host = app.start("bench").await;
    // Let the consumer join its group before the clock starts.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let started = Instant::now();
    produce(&app.topic).await;
    let group = format!("{}-group", app.topic);
    loop {
        let text = host.metrics().await;
        let n = sum_by(&text, "kafka_messages_consumed_total", "group").get(&group).copied().unwrap_or(0.0);
        if n >= EVENTS as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let component_time = started.elapsed();

    // The native baseline: the same events on its own topic, the same work.
    let db_url = (mode == "row").then(|| app.database_url.clone());
    if let Some(url) = &db_url {
        let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        c.execute("TRUNCATE bench_rows", &[]).await.unwrap();
    }
    let native_topic = format!("{}-native", app.topic);
    create_topic(&native_topic).await;
    let native_time = native(&native_topic, db_url.as_deref()).await;
    host.kill().await;
    battlescope_tests::drop_databases(&app.prefix).await;
    (component_time, native_time)
}

#[tokio::main]
async fn main() {
    if let Some(host) = std::env::args().skip_while(|a| a != "--host").nth(1) {
        std::env::set_var("BATTLESCOPE_BIN", host);
    }
    println!("Kafka: {EVENTS} keyed events ({KEYS} keys, 4 partitions) through tansu");
    for (mode, label) in [("noop", "no-op handler"), ("row", "one Postgres row per event")] {
        let (wasm, native) = component(mode).await;
        let (w, n) = (EVENTS as f64 / wasm.as_secs_f64(), EVENTS as f64 / native.as_secs_f64());
        println!("{label:<28} component {w:>9.0} events/s   native rdkafka {n:>9.0} events/s   ratio {:.2}x", w / n);
    }
    println!(
        "(both: consumer already in its group; clock from the first publish until every event was handled and its offset stored)"
    );
}
