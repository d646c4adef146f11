//! Kafka helpers for the tests: the stack's brokers, unique topic names, raw produce, reading a
//! topic (dead-letter topics, say) from the beginning, and deleting a test's topics.

use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::time::{Duration, Instant};

pub fn brokers() -> String {
    std::env::var("BATTLESCOPE_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// A topic name no other test run uses.
pub fn unique_topic(test: &str) -> String {
    crate::unique_prefix(test).trim_end_matches('_').replace('_', "-")
}

/// Delete every topic on `brokers` that `doomed` picks, as well as it can (a broker that is
/// down keeps them). The dev broker keeps every topic in memory: a day of test runs and
/// benchmarks grew it to 7.6 GB, and every run on the machine got slower.
pub async fn delete_topics(brokers: &str, doomed: impl Fn(&str) -> bool + Send + 'static) {
    let brokers = brokers.to_string();
    let found = tokio::task::spawn_blocking(move || -> anyhow::Result<(AdminClient<DefaultClientContext>, Vec<String>)> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", &brokers).create()?;
        let metadata = admin.inner().fetch_metadata(None, Duration::from_secs(10))?;
        let names = metadata.topics().iter().map(|t| t.name().to_string()).filter(|name| doomed(name)).collect();
        Ok((admin, names))
    })
    .await;
    let Ok(Ok((admin, names))) = found else { return };
    if names.is_empty() {
        return;
    }
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let _ = admin.delete_topics(&names, &options).await;
}

/// A message read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    pub key: Option<String>,
    pub payload: String,
    pub headers: Vec<(String, String)>,
}

impl Record {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Publish raw bytes, bypassing every component (for malformed input).
pub async fn produce_raw(topic: &str, key: &str, payload: &[u8]) {
    produce_many(topic, &[(key.to_string(), payload.to_vec())]).await;
}

/// Publish keyed messages with one producer, waiting for every acknowledgement.
/// Every message a service's outbox holds (key, payload), in the order they were written: to
/// publish a day's events again.
pub async fn outbox_messages(db: &tokio_postgres::Client) -> Vec<(String, Vec<u8>)> {
    db.query("SELECT key, payload FROM outbox ORDER BY id", &[])
        .await
        .expect("reading the outbox")
        .iter()
        .map(|r| (r.get::<_, String>(0), r.get::<_, String>(1).into_bytes()))
        .collect()
}

pub async fn produce_many(topic: &str, messages: &[(String, Vec<u8>)]) {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("message.timeout.ms", "30000")
        .set("linger.ms", "5")
        .create()
        .expect("test producer");
    let sends = messages.iter().map(|(key, payload)| {
        let producer = producer.clone();
        async move {
            producer
                .send(FutureRecord::to(topic).key(key).payload(payload), Duration::from_secs(30))
                .await
                .map_err(|(e, _)| e)
                .expect("test publish")
        }
    });
    futures::future::join_all(sends).await;
}

/// Read `topic` from its beginning until `want` messages arrived or `timeout` passed.
pub async fn read_topic(topic: &str, want: usize, timeout: Duration) -> Vec<Record> {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("reader-{}", crate::unique_prefix("r")))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("test consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let deadline = Instant::now() + timeout;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, consumer.recv()).await {
            Ok(Ok(m)) => out.push(Record {
                key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                payload: String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned(),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_string(), String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned()))
                            .collect()
                    })
                    .unwrap_or_default(),
            }),
            Ok(Err(e)) => panic!("reading {topic}: {e}"),
            Err(_) => break,
        }
    }
    out
}

/// Per partition of `topics` on `brokers`: the messages `group` has not committed past
/// (topic, partition, end offset, lag). A topic the broker does not know has none.
pub async fn group_lag(brokers: &str, group: &str, topics: &[String]) -> anyhow::Result<Vec<(String, i32, i64, i64)>> {
    use rdkafka::consumer::BaseConsumer;
    use rdkafka::{Offset, TopicPartitionList};
    let (brokers, group, topics) = (brokers.to_string(), group.to_string(), topics.to_vec());
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(10);
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &brokers)
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("allow.auto.create.topics", "false")
            .create()?;
        let mut out = Vec::new();
        for topic in &topics {
            let metadata = consumer.fetch_metadata(Some(topic), timeout)?;
            let Some(t) = metadata.topics().iter().find(|t| t.name() == topic && t.error().is_none()) else { continue };
            let mut partitions = TopicPartitionList::new();
            for p in t.partitions() {
                partitions.add_partition(topic, p.id());
            }
            let committed = consumer.committed_offsets(partitions, timeout)?;
            for e in committed.elements() {
                let (_, end) = consumer.fetch_watermarks(topic, e.partition(), timeout)?;
                let position = match e.offset() {
                    Offset::Offset(o) => o,
                    _ => 0,
                };
                out.push((topic.clone(), e.partition(), end, (end - position).max(0)));
            }
        }
        Ok(out)
    })
    .await?
}

/// Set `group`'s committed offset of every partition of `topic` to `offset`, as a member of
/// the group (the broker takes commits from members only): joins, waits until the partitions
/// are its own (a dead member's session lapses first), commits and leaves.
pub async fn commit_offsets(group: &str, topic: &str, offset: i64) {
    use rdkafka::consumer::{BaseConsumer, CommitMode};
    use rdkafka::{Offset, TopicPartitionList};
    let (group, topic) = (group.to_string(), topic.to_string());
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers())
            .set("group.id", &group)
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "6000")
            .create()
            .expect("test consumer");
        let metadata = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10)).expect("topic metadata");
        let partitions: Vec<i32> =
            metadata.topics().iter().filter(|t| t.name() == topic).flat_map(|t| t.partitions()).map(|p| p.id()).collect();
        assert!(!partitions.is_empty(), "{topic} has no partitions");
        consumer.subscribe(&[&topic]).expect("subscribe");
        let deadline = Instant::now() + Duration::from_secs(60);
        while consumer.assignment().map(|a| a.count()).unwrap_or(0) < partitions.len() {
            assert!(Instant::now() < deadline, "{group} did not get all of {topic}'s partitions within 60 s");
            let _ = consumer.poll(Duration::from_millis(200));
        }
        let mut list = TopicPartitionList::new();
        for p in partitions {
            list.add_partition_offset(&topic, p, Offset::Offset(offset)).expect("an offset");
        }
        consumer.commit(&list, CommitMode::Sync).unwrap_or_else(|e| panic!("committing {group}'s offsets on {topic}: {e}"));
        consumer.unsubscribe();
    })
    .await
    .expect("the commit task");
}
