//! One message through its component: envelope check, fresh instance, retries with backoff,
//! and the dead-letter topic when retrying cannot help. A message is *settled* once it was
//! handled or dead-lettered; only then may its offset be stored.

use super::envelope::EnvelopeValidator;
use super::retry::RetryPolicy;
use crate::bindings::kafka::battlescope::kafka::types::{Error as HandlerError, Message};
use crate::bindings::kafka::KafkaTriggerPre;
use crate::capabilities::HostCapabilities;
use crate::component::{ComponentContext, LoadedComponent};
use crate::engine::describe_failure;
use crate::kafka_client::Producer;
use crate::state::InstanceState;
use crate::trace::TraceParent;
use crate::triggers::sleep_or_shutdown;
use rdkafka::message::{Headers, Message as _, OwnedMessage};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Everything needed to deliver messages of one `[[trigger.kafka]]` entry.
pub struct Dispatcher {
    pub name: String,
    pub group: String,
    pub context: Arc<ComponentContext>,
    pub pre: KafkaTriggerPre<InstanceState>,
    pub capabilities: Arc<HostCapabilities>,
    pub producer: Arc<Producer>,
    pub policy: RetryPolicy,
    pub validator: Option<Arc<EnvelopeValidator>>,
    pub budget: Duration,
    /// Held while a message is handled when the trigger is `serial`.
    pub serial: Option<tokio::sync::Mutex<()>>,
}

/// How an attempt failed (the handler's own word, or a trap).
enum Failure {
    /// Wait it out: retried for as long as it lasts.
    Retryable(String),
    /// Would repeat: retried up to `max_attempts` attempts in all.
    Failed(String),
    /// Dead-lettered at once.
    Fatal(String),
}

/// The dead-letter topic of `topic`.
pub fn dead_letter_topic(topic: &str) -> String {
    format!("{topic}.dlq")
}

impl Dispatcher {
    /// One attempt, taking the trigger's turn when it is `serial` (held for the attempt only,
    /// never while waiting to retry, so one message's backoff does not stop the others).
    async fn attempt(&self, msg: &OwnedMessage) -> Result<(), Failure> {
        match &self.serial {
            Some(one_at_a_time) => {
                let _turn = one_at_a_time.lock().await;
                self.invoke(msg).await
            }
            None => self.invoke(msg).await,
        }
    }

    /// Deliver `msg` until it is settled. Returns false only when shutdown interrupted it, in
    /// which case its offset must not be stored.
    pub async fn settle(&self, msg: &OwnedMessage, shutdown: &mut watch::Receiver<bool>) -> bool {
        let topic = msg.topic().to_string();
        let labels = [("topic", topic.as_str()), ("group", self.group.as_str())];
        if let Some(validator) = &self.validator {
            if let Err(reason) = validator.validate(msg.payload()) {
                self.capabilities.metrics.count(
                    "kafka_messages_invalid_total",
                    "Messages whose envelope failed its JSON Schema.",
                    &labels,
                    1,
                );
                return self.dead_letter(msg, &format!("invalid envelope: {reason}"), 0, shutdown).await;
            }
        }
        // Attempts in all, and those that count towards `max_attempts` (failed ones and traps).
        let (mut attempt, mut counted) = (0, 0);
        loop {
            attempt += 1;
            let failure = match self.attempt(msg).await {
                Ok(()) => {
                    self.capabilities.metrics.count(
                        "kafka_messages_consumed_total",
                        "Messages handled successfully.",
                        &labels,
                        1,
                    );
                    return true;
                }
                Err(f) => f,
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
            tracing::warn!(trigger = %self.name, component = %self.context.id, topic = %topic,
                partition = msg.partition(), offset = msg.offset(), attempt, wait_ms = wait.as_millis() as u64,
                "handler failed, retrying: {reason}");
            if sleep_or_shutdown(wait, shutdown).await {
                return false;
            }
        }
    }

    async fn invoke(&self, msg: &OwnedMessage) -> Result<(), Failure> {
        let mut store = LoadedComponent::store(&self.context, self.pre.engine(), &self.capabilities, self.budget);
        let headers = headers_of(msg);
        let trace = headers
            .iter()
            .find(|(k, _)| k == "traceparent")
            .and_then(|(_, v)| std::str::from_utf8(v).ok())
            .and_then(TraceParent::parse)
            .unwrap_or_else(TraceParent::new_root);
        store.data_mut().producer.trace = Some(trace);
        let message = Message {
            topic: msg.topic().to_string(),
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key().map(<[u8]>::to_vec),
            headers,
            data: msg.payload().unwrap_or_default().to_vec(),
            timestamp_ms: msg.timestamp().to_millis(),
        };
        // The epoch deadline stops running wasm; this also stops a guest waiting in a host call
        // (a query on a half-open socket, say), which no epoch tick reaches.
        let call = async {
            let instance = self
                .pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| Failure::Retryable(format!("instantiating: {}", describe_failure(&e))))?;
            match instance.battlescope_kafka_incoming_handler().call_handle(&mut store, &message).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(HandlerError::Retryable(r))) => Err(Failure::Retryable(r)),
                Ok(Err(HandlerError::Failed(r))) => Err(Failure::Failed(r)),
                Ok(Err(HandlerError::Fatal(r))) => Err(Failure::Fatal(r)),
                Err(trap) => Err(Failure::Failed(describe_failure(&trap))),
            }
        };
        match tokio::time::timeout(self.budget, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Failure::Retryable(format!("no result within {:?} (waiting in a host call)", self.budget))),
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
                        "message dead-lettered: {reason}");
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

fn headers_of(msg: &OwnedMessage) -> Vec<(String, Vec<u8>)> {
    msg.headers()
        .map(|h| h.iter().map(|h| (h.key.to_string(), h.value.unwrap_or_default().to_vec())).collect())
        .unwrap_or_default()
}
