use super::ProducerState;
use crate::bindings::kafka::battlescope::kafka::producer::{Host, OutgoingMessage};
use crate::bindings::kafka::battlescope::kafka::types::{self, Error};

impl types::Host for ProducerState {}

impl Host for ProducerState {
    async fn send(&mut self, message: OutgoingMessage) -> wasmtime::Result<Result<(), Error>> {
        let Some(producer) = self.producer.clone() else {
            return Ok(Err(Error::Fatal("no Kafka broker is configured ([application.trigger.kafka])".into())));
        };
        let brokers = producer.config().broker_addresses();
        let allowed = brokers.iter().any(|(h, p)| self.access.allowed_hosts.allows("kafka", h, Some(*p)));
        if !allowed {
            tracing::warn!(component = %self.access.component, brokers = %producer.config().brokers, topic = %message.topic,
                "denied Kafka publish: broker is not in allowed_outbound_hosts");
            return Ok(Err(Error::Fatal(format!(
                "kafka://{} is not in allowed_outbound_hosts of component `{}`",
                producer.config().brokers,
                self.access.component
            ))));
        }
        let mut headers = message.headers;
        if !headers.iter().any(|(name, _)| name == "traceparent") {
            headers.push(("traceparent".into(), self.trace.child().header().into_bytes()));
        }
        Ok(producer.send(&message.topic, message.key.as_deref(), &headers, &message.data).await.map(|_| ()).map_err(|e| {
            if e.permanent {
                Error::Failed(e.to_string())
            } else {
                Error::Retryable(e.to_string())
            }
        }))
    }
}
