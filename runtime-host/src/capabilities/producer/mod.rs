//! The producer capability (`battlescope:kafka/producer`): components publish through the
//! host's shared idempotent producer. The broker must be in the component's
//! `allowed_outbound_hosts` as `kafka://host:port`.

mod host;

use super::access::Access;
use crate::kafka_client::Producer;
use std::sync::Arc;

/// One instance's producer: the shared one (when Kafka is configured), what it may reach, and
/// the instance's own span, whose child every publish carries.
pub struct ProducerState {
    producer: Option<Arc<Producer>>,
    access: Arc<Access>,
    calls: crate::telemetry::CallSpans,
}

impl ProducerState {
    pub fn new(producer: Option<Arc<Producer>>, access: Arc<Access>, calls: crate::telemetry::CallSpans) -> Self {
        Self { producer, access, calls }
    }
}
