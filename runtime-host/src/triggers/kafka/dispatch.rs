//! Messages through their component: envelope check, a fresh instance per call (one message,
//! or a batch for a `batch-handler`), retries with backoff, and the dead-letter topic when
//! retrying cannot help. A message is *settled* once it was handled or dead-lettered; only then
//! may its offset be stored.

use super::envelope::EnvelopeValidator;
use super::retry::RetryPolicy;
use super::yielding::Activity;
use crate::bindings::kafka::battlescope::kafka::types::{Error as HandlerError, Message};
use crate::bindings::kafka::KafkaTriggerPre;
use crate::bindings::kafka_batch::KafkaBatchTriggerPre;
use crate::capabilities::HostCapabilities;
use crate::component::{ComponentContext, Invocation, LoadedComponent};
use crate::kafka_client::Producer;
use crate::state::InstanceState;
use crate::telemetry::{Kind, OpenSpan};
use crate::triggers::sleep_or_shutdown;
use rdkafka::message::{Headers, Message as _, OwnedMessage};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The export a trigger calls.
pub enum Handler {
    /// `incoming-handler`: one message per call.
    Single(KafkaTriggerPre<InstanceState>),
    /// `batch-handler`: up to the trigger's batch size per call.
    Batch(KafkaBatchTriggerPre<InstanceState>),
}

/// Everything needed to deliver messages of one `[[trigger.kafka]]` entry.
pub struct Dispatcher {
    pub name: String,
    pub group: String,
    pub context: Arc<ComponentContext>,
    pub handler: Handler,
    pub capabilities: Arc<HostCapabilities>,
    pub producer: Arc<Producer>,
    pub policy: RetryPolicy,
    pub validator: Option<Arc<EnvelopeValidator>>,
    pub budget: Duration,
    /// Held while a message is handled when the trigger is `serial`.
    pub serial: Option<tokio::sync::Mutex<()>>,
    /// Most messages per call (1 for an `incoming-handler`).
    pub batch_size: usize,
    /// How long a worker waits for a batch to fill.
    pub linger: Duration,
    /// The host's foreground Kafka calls, which a background trigger waits for.
    pub activity: Arc<Activity>,
    /// A background trigger's longest wait for the foreground to pause; `None` for a foreground
    /// trigger.
    pub yield_max: Option<Duration>,
}

/// How an attempt failed (the handler's own word, or a trap).
#[derive(Clone)]
enum Failure {
    /// Wait it out: retried for as long as it lasts.
    Retryable(String),
    /// Would repeat: retried up to `max_attempts` attempts in all.
    Failed(String),
    /// Dead-lettered at once.
    Fatal(String),
}

impl From<HandlerError> for Failure {
    fn from(e: HandlerError) -> Self {
        match e {
            HandlerError::Retryable(r) => Failure::Retryable(r),
            HandlerError::Failed(r) => Failure::Failed(r),
            HandlerError::Fatal(r) => Failure::Fatal(r),
        }
    }
}

/// Per message of a call: handled, or how it failed.
type Outcomes = Vec<Result<(), Failure>>;

/// The outcome of a call made with one message.
fn only(mut outcomes: Outcomes) -> Result<(), Failure> {
    outcomes.pop().expect("one outcome for one message")
}

impl Failure {
    fn reason(&self) -> &str {
        match self {
            Failure::Retryable(r) | Failure::Failed(r) | Failure::Fatal(r) => r,
        }
    }
}

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

impl Dispatcher {
    /// One attempt at some messages, taking the trigger's turn when it is `serial` (held for
    /// the attempt only, never while waiting to retry, so one message's backoff does not stop
    /// the others). An error is the whole call's failure (a trap, say).
    async fn attempt(&self, msgs: &[&OwnedMessage]) -> Result<Outcomes, Failure> {
        match &self.serial {
            Some(one_at_a_time) => {
                let _turn = one_at_a_time.lock().await;
                self.invoke(msgs).await
            }
            None => self.invoke(msgs).await,
        }
    }

    /// Deliver `msgs` (one partition's, in offset order) until each is settled, calling
    /// `settled` for each in order. Returns false only when shutdown interrupted it: the
    /// message it stopped at and those after it were not settled.
    pub async fn settle(
        &self,
        msgs: &[OwnedMessage],
        shutdown: &mut watch::Receiver<bool>,
        mut settled: impl FnMut(&OwnedMessage),
    ) -> bool {
        let invalid: Vec<Option<String>> = msgs.iter().map(|m| self.invalid(m)).collect();
        let valid: Vec<&OwnedMessage> = msgs.iter().zip(&invalid).filter(|(_, i)| i.is_none()).map(|(m, _)| m).collect();
        // Per valid message: the outcome of its attempt, or none when a call of several failed
        // as a whole (a trap, a deadline), which says nothing about any one of them.
        let mut outcomes = match valid.len() {
            0 => Vec::new(),
            1 => vec![Some(self.attempt(&valid).await.and_then(only))],
            n => match self.attempt(&valid).await {
                Ok(outcomes) => outcomes.into_iter().map(Some).collect(),
                Err(failure) => {
                    tracing::warn!(trigger = %self.name, component = %self.context.id, messages = n,
                        "batch failed as a whole, trying each message alone: {}", failure.reason());
                    vec![None; n]
                }
            },
        }
        .into_iter();
        for (msg, invalid) in msgs.iter().zip(invalid) {
            let done = match invalid {
                Some(reason) => self.dead_letter(msg, &format!("invalid envelope: {reason}"), 0, shutdown).await,
                None => match outcomes.next().expect("one outcome per valid message") {
                    Some(Ok(())) => {
                        self.count_consumed(msg);
                        true
                    }
                    Some(Err(failure)) => self.deliver_alone(msg, Some(failure), shutdown).await,
                    None => self.deliver_alone(msg, None, shutdown).await,
                },
            };
            if !done {
                return false;
            }
            settled(msg);
        }
        true
    }

    /// Why `msg`'s envelope is not valid, counted; none when it is (or nothing is checked).
    fn invalid(&self, msg: &OwnedMessage) -> Option<String> {
        let reason = self.validator.as_ref()?.validate(msg.payload()).err()?;
        self.capabilities.metrics.count(
            "kafka_messages_invalid_total",
            "Messages whose envelope failed its JSON Schema.",
            &[("topic", msg.topic()), ("group", self.group.as_str())],
            1,
        );
        Some(reason)
    }

    fn count_consumed(&self, msg: &OwnedMessage) {
        self.capabilities.metrics.count(
            "kafka_messages_consumed_total",
            "Messages handled successfully.",
            &[("topic", msg.topic()), ("group", self.group.as_str())],
            1,
        );
    }

    /// One call of the component (a batch, or one message) and how long it took: with both,
    /// an operator sees how big the batches run and what each costs (docs/observability.md).
    fn count_call(&self, messages: usize, took: Duration) {
        let labels = [("group", self.group.as_str())];
        self.capabilities.metrics.observe(
            "kafka_call_duration_seconds",
            "Time one call of a component took with its messages, instantiation included.",
            &labels,
            took,
        );
        self.capabilities.metrics.count(
            "kafka_call_messages_total",
            "Messages handed to a component's calls, retries included.",
            &labels,
            messages as u64,
        );
    }

    /// Deliver `msg` alone until it is handled or dead-lettered; `failed` is how its attempt
    /// in a batch failed, if it had one of its own. False when shutdown interrupted it.
    async fn deliver_alone(&self, msg: &OwnedMessage, mut failed: Option<Failure>, shutdown: &mut watch::Receiver<bool>) -> bool {
        let labels = [("topic", msg.topic()), ("group", self.group.as_str())];
        // Attempts in all, and those that count towards `max_attempts` (failed ones and traps).
        let (mut attempt, mut counted) = (0, 0);
        loop {
            attempt += 1;
            let failure = match failed.take() {
                Some(failure) => failure,
                None => match self.attempt(&[msg]).await.and_then(only) {
                    Ok(()) => {
                        self.count_consumed(msg);
                        return true;
                    }
                    Err(failure) => failure,
                },
            };
            self.capabilities.metrics.count("kafka_messages_failed_total", "Failed handler attempts.", &labels, 1);
            let (reason, retry) = match failure {
                Failure::Fatal(r) => (r, false),
                Failure::Retryable(r) => (r, true),
                Failure::Failed(r) => {
                    counted += 1;
                    (r, self.policy.may_retry(counted))
                }
            };
            if !retry {
                return self.dead_letter(msg, &reason, attempt, shutdown).await;
            }
            let wait = self.policy.backoff(attempt);
            tracing::warn!(trigger = %self.name, component = %self.context.id, topic = %msg.topic(),
                partition = msg.partition(), offset = msg.offset(), attempt, wait_ms = wait.as_millis() as u64,
                trace_id = %trace_id_of(msg), "handler failed, retrying: {reason}");
            if sleep_or_shutdown(wait, shutdown).await {
                return false;
            }
        }
    }

    async fn invoke(&self, msgs: &[&OwnedMessage]) -> Result<Outcomes, Failure> {
        let engine = match &self.handler {
            Handler::Single(pre) => pre.engine(),
            Handler::Batch(pre) => pre.engine(),
        };
        let mut messages: Vec<Message> = msgs.iter().map(|m| message(m)).collect();
        // Each message is a span of its own in its own trace, and the component is handed that
        // span as the message's `traceparent`: what it writes for the message (an outbox row)
        // continues the message's trace. Host calls are children of the first message's span.
        let invocations: Vec<Invocation> = messages.iter_mut().map(message_invocation).collect();
        let spans: Vec<_> = messages
            .iter()
            .zip(&invocations)
            .map(|(m, invocation)| self.capabilities.open_span(|| self.message_span(m, invocation, msgs.len())))
            .collect();
        let mut store = LoadedComponent::store(&self.context, engine, &self.capabilities, self.budget, &invocations[0]);
        let started = Instant::now();
        let outcomes = self.call(&mut store, &messages).await;
        self.count_call(msgs.len(), started.elapsed());
        for (i, span) in spans.into_iter().enumerate() {
            let error = match &outcomes {
                Ok(each) => each.get(i).and_then(|o| o.as_ref().err()).map(Failure::reason),
                Err(failure) => Some(failure.reason()),
            };
            self.capabilities.finish_span(span, error);
        }
        outcomes
    }

    fn message_span(&self, m: &Message, invocation: &Invocation, batch: usize) -> OpenSpan {
        let mut span = invocation.span(format!("{} process", m.topic), Kind::Consumer, &self.context.id);
        span.attribute("messaging.system", "kafka");
        span.attribute("messaging.destination.name", m.topic.clone());
        span.attribute("messaging.consumer.group.name", self.group.clone());
        span.attribute("messaging.destination.partition.id", m.partition.to_string());
        span.attribute("messaging.kafka.offset", m.offset);
        span.attribute("messaging.batch.message_count", batch as i64);
        span
    }

    /// One call of the component with `messages`, within the budget.
    async fn call(&self, store: &mut wasmtime::Store<InstanceState>, messages: &[Message]) -> Result<Outcomes, Failure> {
        let failure = |e: wasmtime::Error| self.capabilities.failure(&self.context.id, "kafka", &e);
        let instantiating = |e: wasmtime::Error| Failure::Retryable(format!("instantiating: {}", failure(e)));
        // The epoch deadline stops running wasm; this also stops a guest waiting in a host call
        // (a query on a half-open socket, say), which no epoch tick reaches.
        let call = async {
            match &self.handler {
                Handler::Single(pre) => {
                    let [message] = messages else {
                        unreachable!("an incoming-handler is given one message per call");
                    };
                    let instance = pre.instantiate_async(&mut *store).await.map_err(instantiating)?;
                    match instance.battlescope_kafka_incoming_handler().call_handle(&mut *store, message).await {
                        Ok(outcome) => Ok(vec![outcome.map_err(Failure::from)]),
                        Err(trap) => Err(Failure::Failed(failure(trap))),
                    }
                }
                Handler::Batch(pre) => {
                    let instance = pre.instantiate_async(&mut *store).await.map_err(instantiating)?;
                    match instance.battlescope_kafka_batch_handler().call_handle_batch(&mut *store, messages).await {
                        Ok(outcomes) if outcomes.len() == messages.len() => {
                            Ok(outcomes.into_iter().map(|o| o.map_err(Failure::from)).collect())
                        }
                        Ok(outcomes) => Err(Failure::Failed(format!(
                            "handle-batch returned {} results for {} messages",
                            outcomes.len(),
                            messages.len()
                        ))),
                        Err(trap) => Err(Failure::Failed(failure(trap))),
                    }
                }
            }
        };
        match tokio::time::timeout(self.budget, call).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.capabilities.count_failure(&self.context.id, "kafka", "deadline");
                Err(Failure::Retryable(format!("no result within {:?} (waiting in a host call)", self.budget)))
            }
        }
    }

    /// Publish `msg` to its dead-letter topic with the reason, retrying the publish itself
    /// until it works: a message is never dropped.
    async fn dead_letter(&self, msg: &OwnedMessage, reason: &str, attempts: u32, shutdown: &mut watch::Receiver<bool>) -> bool {
        let dlq = dead_letter_topic(msg.topic());
        let mut headers = headers_of(msg);
        for (name, value) in [
            ("battlescope-dlq-error", reason.to_string()),
            ("battlescope-dlq-topic", msg.topic().to_string()),
            ("battlescope-dlq-partition", msg.partition().to_string()),
            ("battlescope-dlq-offset", msg.offset().to_string()),
            ("battlescope-dlq-attempts", attempts.to_string()),
            ("battlescope-dlq-component", self.context.id.clone()),
            ("battlescope-dlq-group", self.group.clone()),
        ] {
            headers.push((name.to_string(), value.into_bytes()));
        }
        let mut tries = 0;
        loop {
            tries += 1;
            match self.producer.send(&dlq, msg.key(), &headers, msg.payload().unwrap_or_default()).await {
                Ok(_) => {
                    self.capabilities.metrics.count(
                        "kafka_messages_dead_lettered_total",
                        "Messages sent to a dead-letter topic.",
                        &[("topic", msg.topic()), ("group", self.group.as_str())],
                        1,
                    );
                    tracing::error!(trigger = %self.name, component = %self.context.id, topic = %msg.topic(),
                        partition = msg.partition(), offset = msg.offset(), attempts, dead_letter_topic = %dlq,
                        trace_id = %trace_id_of(msg), "message dead-lettered: {reason}");
                    return true;
                }
                Err(e) => {
                    tracing::error!(topic = %dlq, error = %e, "cannot publish to the dead-letter topic; retrying");
                    if sleep_or_shutdown(self.policy.ceiling(tries), shutdown).await {
                        return false;
                    }
                }
            }
        }
    }
}

/// The invocation that handles `m`, continuing its trace, with `m`'s `traceparent` set to it.
fn message_invocation(m: &mut Message) -> Invocation {
    let parent = m.headers.iter().find(|(k, _)| k == "traceparent").map(|(_, v)| v.as_slice());
    let invocation = Invocation::new("kafka", parent);
    m.headers.retain(|(k, _)| k != "traceparent");
    m.headers.push(("traceparent".into(), invocation.trace.header().into_bytes()));
    invocation
}

/// A consumed message as the component sees it.
fn message(msg: &OwnedMessage) -> Message {
    Message {
        topic: msg.topic().to_string(),
        partition: msg.partition(),
        offset: msg.offset(),
        key: msg.key().map(<[u8]>::to_vec),
        headers: headers_of(msg),
        data: msg.payload().unwrap_or_default().to_vec(),
        timestamp_ms: msg.timestamp().to_millis(),
    }
}

/// The trace a message belongs to, for the host's log lines about it ("" when it has none).
fn trace_id_of(msg: &OwnedMessage) -> String {
    let header = msg.headers().and_then(|h| h.iter().find(|h| h.key == "traceparent").and_then(|h| h.value));
    header
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(crate::trace::TraceParent::parse)
        .map(|t| hex::encode(t.trace_id))
        .unwrap_or_default()
}

fn headers_of(msg: &OwnedMessage) -> Vec<(String, Vec<u8>)> {
    msg.headers()
        .map(|h| h.iter().map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec())).collect())
        .unwrap_or_default()
}
