//! The connection to the Kafka-protocol bus, shared by the producer capability, the Kafka
//! trigger (consumers, dead-letter topics) and the outbox relay.

use crate::metrics::Metrics;
use anyhow::Context;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::ClientConfig;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// `[application.trigger.kafka]` with templates rendered and paths resolved.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    pub brokers: String,
    /// Folder of event schemas, when configured.
    pub schemas: Option<PathBuf>,
    /// Partitions of topics the host creates.
    pub partitions: i32,
    /// Replicas of topics the host creates.
    pub replication: i32,
    /// Extra librdkafka settings.
    pub client: BTreeMap<String, String>,
}

impl KafkaConfig {
    /// A client configuration with the brokers and the extra settings applied.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.client {
            c.set(k, v);
        }
        c
    }

    /// `(host, port)` of each broker, for allow-list checks.
    pub fn broker_addresses(&self) -> Vec<(String, u16)> {
        self.brokers
            .split(',')
            .filter_map(|b| {
                let b = b.trim().trim_start_matches("tcp://");
                let (h, p) = b.rsplit_once(':')?;
                Some((h.to_string(), p.parse().ok()?))
            })
            .collect()
    }
}

/// Time a send may wait for the broker's acknowledgement.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// An idempotent producer (`enable.idempotence`, `acks=all`) plus topic creation.
pub struct Producer {
    config: KafkaConfig,
    producer: FutureProducer,
    admin: AdminClient<DefaultClientContext>,
    known_topics: Mutex<HashSet<String>>,
    metrics: Arc<Metrics>,
}

impl Producer {
    pub fn new(config: &KafkaConfig, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let mut c = config.client_config();
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("message.timeout.ms", DELIVERY_TIMEOUT.as_millis().to_string());
        let producer: FutureProducer = c.create().context("creating the Kafka producer")?;
        let admin: AdminClient<DefaultClientContext> =
            config.client_config().create().context("creating the Kafka admin client")?;
        Ok(Self { config: config.clone(), producer, admin, known_topics: Mutex::default(), metrics })
    }

    pub fn config(&self) -> &KafkaConfig {
        &self.config
    }

    /// Create the topics that do not exist yet (an existing topic is not an error).
    pub async fn ensure_topics(&self, topics: &[String]) -> anyhow::Result<()> {
        let mut known = self.known_topics.lock().await;
        let missing: Vec<&String> = topics.iter().filter(|t| !known.contains(*t)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        let new: Vec<NewTopic> = missing
            .iter()
            .map(|t| NewTopic::new(t, self.config.partitions, TopicReplication::Fixed(self.config.replication)))
            .collect();
        let results = self
            .admin
            .create_topics(
                &new,
                // Both bounded: with the broker down, the request would otherwise wait out
                // librdkafka's minute-long socket timeout.
                &AdminOptions::new()
                    .operation_timeout(Some(Duration::from_secs(10)))
                    .request_timeout(Some(Duration::from_secs(10))),
            )
            .await
            .context("creating Kafka topics")?;
        for result in results {
            match result {
                Ok(topic) => {
                    tracing::info!(
                        topic,
                        partitions = self.config.partitions,
                        replication = self.config.replication,
                        "created topic"
                    );
                    known.insert(topic);
                }
                Err((topic, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {
                    known.insert(topic);
                }
                Err((topic, code)) => anyhow::bail!("creating topic {topic}: {code}"),
            }
        }
        Ok(())
    }

    /// Publish one message and wait for the broker's acknowledgement. Returns partition and
    /// offset.
    pub async fn send(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        headers: &[(String, Vec<u8>)],
        data: &[u8],
    ) -> Result<(i32, i64), ProduceError> {
        self.ensure_topics(&[topic.to_string()]).await.map_err(|e| ProduceError {
            topic: topic.to_string(),
            reason: format!("{e:#}"),
            permanent: false,
        })?;
        let mut owned = OwnedHeaders::new_with_capacity(headers.len());
        for (name, value) in headers {
            owned = owned.insert(Header { key: name, value: Some(value.as_slice()) });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).payload(data).headers(owned);
        if let Some(k) = key {
            record = record.key(k);
        }
        match self.producer.send(record, DELIVERY_TIMEOUT).await {
            Ok(delivery) => {
                self.metrics.count("kafka_messages_produced_total", "Messages the broker acknowledged.", &[("topic", topic)], 1);
                Ok((delivery.partition, delivery.offset))
            }
            Err((e, _)) => {
                self.metrics.count("kafka_produce_errors_total", "Messages the broker did not take.", &[("topic", topic)], 1);
                let permanent = e.rdkafka_error_code().is_some_and(refused_for_good);
                Err(ProduceError { topic: topic.to_string(), reason: e.to_string(), permanent })
            }
        }
    }
}

/// A message the broker did not store.
#[derive(Debug, thiserror::Error)]
#[error("publishing to {topic}: {reason}")]
pub struct ProduceError {
    pub topic: String,
    pub reason: String,
    /// Sending the same message again would be refused again (it is too large, say).
    pub permanent: bool,
}

/// Refusals about the message itself rather than the broker's state.
fn refused_for_good(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode as C;
    matches!(code, C::MessageSizeTooLarge | C::InvalidMessageSize | C::MessageBatchTooLarge | C::InvalidRecord | C::InvalidTopic)
}
