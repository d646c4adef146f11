//! The Kafka trigger (`[[trigger.kafka]]`): consumer groups over rdkafka, messages of one
//! partition handled in order by one worker (a batch per call for a `batch-handler`),
//! partitions in parallel (or one call at a time with `serial = true`), at-least-once delivery
//! (an offset is stored for commit only after its message was settled: handled, or
//! dead-lettered after bounded retries). Rebalances settle and commit before partitions go
//! (`ownership`); a partition whose worker falls behind is paused, not the whole consumer.

mod dispatch;
pub mod envelope;
mod lag;
mod ownership;
mod resumption;
mod retry;
mod yielding;

use crate::bindings::kafka::KafkaTriggerPre;
use crate::bindings::kafka_batch::KafkaBatchTriggerPre;
use crate::capabilities::HostCapabilities;
use crate::component::{require_export, LoadedComponent};
use crate::kafka_client::{KafkaConfig, Producer};
use crate::manifest::LoadedManifest;
use crate::triggers::sleep_or_shutdown;
use anyhow::Context;
use dispatch::{dead_letter_topic, Dispatcher, Handler};
use envelope::EnvelopeValidator;
use ownership::{Lease, Ownership, PartitionKey, TriggerContext};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Message, OwnedMessage};
use rdkafka::{Offset, TopicPartitionList};
use retry::RetryPolicy;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};

/// The trigger's consumer: its context follows the group's rebalances.
type TriggerConsumer = StreamConsumer<TriggerContext>;

/// Messages buffered per partition worker (at least two batches); past that the partition is
/// paused (the others go on) until its worker catches up.
const PARTITION_QUEUE: usize = 256;
/// How often messages held for a paused partition are offered to its worker again.
const RESUME_CHECK: Duration = Duration::from_millis(20);

struct Entry {
    dispatcher: Arc<Dispatcher>,
    topics: Vec<String>,
}

pub struct KafkaTrigger {
    entries: Vec<Entry>,
    config: KafkaConfig,
    producer: Arc<Producer>,
}

impl KafkaTrigger {
    pub fn new(
        manifest: &LoadedManifest,
        components: &BTreeMap<String, LoadedComponent>,
        capabilities: Arc<HostCapabilities>,
        config: &KafkaConfig,
        budget: Duration,
    ) -> anyhow::Result<Self> {
        let producer = capabilities.producer.clone().context("the Kafka trigger needs the producer")?;
        let validator = match &config.schemas {
            Some(dir) => Some(Arc::new(EnvelopeValidator::load(dir)?)),
            None => None,
        };
        let activity = Arc::new(yielding::Activity::default());
        let mut entries = Vec::new();
        for (index, t) in manifest.manifest.triggers.kafka.iter().enumerate() {
            let component = &components[&t.component];
            let location = format!("trigger.kafka[{index}]");
            // A component exporting `batch-handler` gets batches; otherwise `incoming-handler`.
            let handler = match KafkaBatchTriggerPre::new(component.pre.clone()) {
                Ok(pre) => Handler::Batch(pre),
                Err(_) => Handler::Single(require_export(
                    KafkaTriggerPre::new(component.pre.clone()),
                    &location,
                    &t.component,
                    "battlescope:kafka/incoming-handler or battlescope:kafka/batch-handler",
                )?),
            };
            let batch_size = match handler {
                Handler::Batch(_) => t.batch_size,
                Handler::Single(_) => 1,
            };
            let name = t.id.clone().unwrap_or_else(|| format!("kafka[{index}]:{}", t.component));
            let topics = t.topics.clone();
            let dispatcher = Dispatcher {
                name,
                group: t.group.clone(),
                context: component.context.clone(),
                handler,
                capabilities: capabilities.clone(),
                producer: producer.clone(),
                policy: RetryPolicy {
                    max_attempts: t.max_attempts,
                    initial_backoff: Duration::from_millis(t.initial_backoff_ms),
                    max_backoff: Duration::from_millis(t.max_backoff_ms),
                },
                validator: if t.validate_envelopes { validator.clone() } else { None },
                budget,
                serial: t.serial.then(|| tokio::sync::Mutex::new(())),
                batch_size,
                linger: Duration::from_millis(t.batch_linger_ms),
                activity: activity.clone(),
                yield_max: (t.yield_max_ms > 0).then(|| Duration::from_millis(t.yield_max_ms)),
            };
            entries.push(Entry { dispatcher: Arc::new(dispatcher), topics });
        }
        Ok(Self { entries, config: config.clone(), producer })
    }

    /// Consume until shutdown; then store nothing more and commit what was settled. The host is
    /// not ready (`ready`) until the topics exist and every consumer has subscribed: a broker
    /// down at boot is waited for, with the reason on `/ready` and in the log.
    pub async fn run(self, ready: crate::readiness::Pending, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut topics: Vec<String> = Vec::new();
        for e in &self.entries {
            for t in &e.topics {
                topics.push(t.clone());
                topics.push(dead_letter_topic(t));
            }
        }
        topics.sort();
        topics.dedup();
        let mut pause = Duration::from_millis(500);
        for attempt in 1.. {
            match self.producer.ensure_topics(&topics).await {
                Ok(()) => break,
                Err(e) => {
                    let why = format!("creating topics (attempt {attempt}, next in {pause:?}): {e:#}");
                    tracing::warn!(brokers = %self.config.brokers, "kafka trigger not consuming yet: {why}");
                    ready.waiting_on(why);
                }
            }
            if sleep_or_shutdown(pause, &mut shutdown).await {
                return Ok(());
            }
            pause = (pause * 2).min(Duration::from_secs(10));
        }
        let consumers = self.entries.iter().map(|e| self.consumer(e)).collect::<anyhow::Result<Vec<_>>>()?;
        ready.running();
        let mut tasks = Vec::new();
        for (entry, consumer) in self.entries.into_iter().zip(consumers) {
            tracing::info!(trigger = %entry.dispatcher.name, component = %entry.dispatcher.context.id,
                topics = ?entry.topics, group = %entry.dispatcher.group, "kafka trigger consuming");
            tasks.push(tokio::spawn(consume(consumer, entry.dispatcher, shutdown.clone())));
        }
        for t in tasks {
            t.await.context("kafka consumer task")??;
        }
        Ok(())
    }

    fn consumer(&self, entry: &Entry) -> anyhow::Result<(Arc<TriggerConsumer>, Arc<Ownership>)> {
        let mut c = self.config.client_config();
        // Defaults first; `[application.trigger.kafka.client]` settings win.
        for (k, v) in [
            ("enable.auto.commit", "true"),
            ("auto.commit.interval.ms", "500"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", "6000"),
            ("heartbeat.interval.ms", "1000"),
        ] {
            if !self.config.client.contains_key(k) {
                c.set(k, v);
            }
        }
        c.set("group.id", &entry.dispatcher.group);
        let ownership = Arc::new(Ownership::default());
        let context = TriggerContext { trigger: entry.dispatcher.name.clone(), ownership: ownership.clone() };
        let consumer: TriggerConsumer = c.create_with_context(context).context("creating a Kafka consumer")?;
        let topics: Vec<&str> = entry.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics).with_context(|| format!("subscribing to {topics:?}"))?;
        Ok((Arc::new(consumer), ownership))
    }
}

/// One partition's worker as the consumer loop sees it.
struct Worker {
    lease: Arc<Lease>,
    queue: mpsc::Sender<OwnedMessage>,
    /// Messages its full queue could not take, in offset order; the partition is paused while
    /// any are held.
    held: VecDeque<OwnedMessage>,
}

impl Worker {
    /// Hand over held messages while the queue takes them; true when none are left.
    fn offer_held(&mut self) -> bool {
        while let Some(msg) = self.held.pop_front() {
            match self.queue.try_send(msg) {
                Ok(()) => {}
                Err(TrySendError::Full(msg)) => {
                    self.held.push_front(msg);
                    return false;
                }
                // The worker stopped (revoked or shut down): what it did not take is not ours.
                Err(TrySendError::Closed(_)) => self.held.clear(),
            }
        }
        true
    }
}

fn partition_list(key: &PartitionKey) -> TopicPartitionList {
    let mut tpl = TopicPartitionList::new();
    // A partition without an offset: pause and resume take the partition only.
    let _ = tpl.add_partition_offset(&key.0, key.1, Offset::Invalid);
    tpl
}

async fn consume(
    (consumer, ownership): (Arc<TriggerConsumer>, Arc<Ownership>),
    dispatcher: Arc<Dispatcher>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut workers: HashMap<PartitionKey, Worker> = HashMap::new();
    let mut handles = Vec::new();
    let lag = tokio::spawn(lag::report(consumer.clone(), dispatcher.clone(), shutdown.clone()));
    let mut resume_check = tokio::time::interval(RESUME_CHECK);
    loop {
        let received = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            _ = resume_check.tick() => {
                for key in ownership.take_assigned() {
                    resumption::check_end(&consumer, &dispatcher, &key);
                }
                offer_held(&consumer, &mut workers);
                continue;
            }
            r = consumer.recv() => r,
        };
        let msg = match received {
            Ok(m) => m.detach(),
            Err(e) => {
                tracing::warn!(trigger = %dispatcher.name, error = %e, "kafka receive failed");
                if sleep_or_shutdown(Duration::from_millis(500), &mut shutdown).await {
                    break;
                }
                continue;
            }
        };
        let key = (msg.topic().to_string(), msg.partition());
        let Some(lease) = ownership.lease(&key) else {
            tracing::debug!(topic = %key.0, partition = key.1, offset = msg.offset(), "message of a partition not owned; dropped");
            continue;
        };
        let current = workers.get(&key).is_some_and(|w| Arc::ptr_eq(&w.lease, &lease));
        if !current {
            resumption::check_first(&consumer, &dispatcher, &key, msg.offset());
            // A new assignment: a fresh worker (the previous one, if any, stops on its revoked lease).
            let (tx, rx) = mpsc::channel(PARTITION_QUEUE.max(2 * dispatcher.batch_size));
            handles.push(tokio::spawn(partition_worker(
                consumer.clone(),
                dispatcher.clone(),
                lease.clone(),
                rx,
                shutdown.clone(),
            )));
            workers.insert(key.clone(), Worker { lease, queue: tx, held: VecDeque::new() });
        }
        let worker = workers.get_mut(&key).expect("inserted above");
        if !worker.held.is_empty() {
            worker.held.push_back(msg);
            continue;
        }
        match worker.queue.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(msg)) => {
                // Only this partition waits; messages already fetched for it are held in order.
                worker.held.push_back(msg);
                if let Err(e) = consumer.pause(&partition_list(&key)) {
                    tracing::warn!(topic = %key.0, partition = key.1, error = %e, "pausing a partition that fell behind");
                }
            }
            Err(TrySendError::Closed(_)) => {
                tracing::error!(topic = %key.0, partition = key.1, "partition worker stopped unexpectedly");
                workers.remove(&key);
            }
        }
    }
    drop(workers);
    for h in handles {
        let _ = h.await;
    }
    lag.abort();
    // Offsets stored so far (settled messages only) are committed before leaving the group.
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        tracing::debug!(error = %e, "final commit");
    }
    tracing::info!(trigger = %dispatcher.name, "kafka trigger stopped");
    Ok(())
}

/// Offer held messages to their workers again; resume a partition once all of its are taken,
/// and forget workers whose partition was revoked.
fn offer_held(consumer: &TriggerConsumer, workers: &mut HashMap<PartitionKey, Worker>) {
    workers.retain(|_, w| !w.lease.is_revoked());
    for (key, worker) in workers.iter_mut().filter(|(_, w)| !w.held.is_empty()) {
        if worker.offer_held() {
            if let Err(e) = consumer.resume(&partition_list(key)) {
                tracing::warn!(topic = %key.0, partition = key.1, error = %e, "resuming a partition");
            }
        }
    }
}

/// Handles one partition's messages in offset order, a batch at a time, while its lease lasts.
async fn partition_worker(
    consumer: Arc<TriggerConsumer>,
    dispatcher: Arc<Dispatcher>,
    lease: Arc<Lease>,
    mut rx: mpsc::Receiver<OwnedMessage>,
    mut shutdown: watch::Receiver<bool>,
) {
    while let Some(first) = rx.recv().await {
        // Waiting before the batch is taken lets it fill meanwhile.
        if let Some(max) = dispatcher.yield_max {
            dispatcher.activity.wait_for_quiet(max, &mut shutdown).await;
        }
        let batch = fill_batch(first, &mut rx, dispatcher.batch_size, dispatcher.linger).await;
        if *shutdown.borrow() || !lease.begin() {
            return;
        }
        let _busy = dispatcher.yield_max.is_none().then(|| dispatcher.activity.busy());
        let settled = dispatcher
            .settle(&batch, &mut shutdown, |msg| {
                // `store_offset` goes through librdkafka's `rd_kafka_offset_store`, which itself
                // commits `offset + 1` (the next message to read): pass the handled message's own
                // offset. Adding one here would skip a message after every restart.
                if let Err(e) = consumer.store_offset(msg.topic(), msg.partition(), msg.offset()) {
                    // The partition went after waiting too long for this message; it will redeliver.
                    tracing::debug!(topic = %msg.topic(), partition = msg.partition(), error = %e, "offset not stored");
                }
            })
            .await;
        lease.end();
        if !settled {
            return;
        }
    }
}

/// `first` and whatever else is queued, up to `size` messages, waiting up to `linger` for more.
async fn fill_batch(
    first: OwnedMessage,
    rx: &mut mpsc::Receiver<OwnedMessage>,
    size: usize,
    linger: Duration,
) -> Vec<OwnedMessage> {
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + linger;
    while batch.len() < size {
        match rx.try_recv() {
            Ok(msg) => batch.push(msg),
            Err(mpsc::error::TryRecvError::Disconnected) => break,
            Err(mpsc::error::TryRecvError::Empty) => match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(msg)) => batch.push(msg),
                Ok(None) | Err(_) => break,
            },
        }
    }
    batch
}
