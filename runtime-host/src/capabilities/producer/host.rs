use super::ProducerState;
use crate::bindings::kafka::battlescope::kafka::producer::{Host, OutgoingMessage};
use crate::bindings::kafka::battlescope::kafka::types::{self, Error};
use crate::telemetry::Kind;

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
        let mut span = self.calls.open(format!("{} publish", message.topic), Kind::Producer);
        if let Some(span) = span.as_mut() {
            span.attribute("messaging.system", "kafka");
            span.attribute("messaging.destination.name", message.topic.clone());
        }
        let mut headers = message.headers;
        if !headers.iter().any(|(name, _)| name == "traceparent") {
            headers.push(("traceparent".into(), self.calls.context_for(span.as_ref()).header().into_bytes()));
        }
        let sent = producer.send(&message.topic, message.key.as_deref(), &headers, &message.data).await;
        self.calls.close(span, sent.as_ref().err().map(|e| e.to_string()).as_deref());
        Ok(sent.map(|_| ()).map_err(|e| if e.permanent { Error::Failed(e.to_string()) } else { Error::Retryable(e.to_string()) }))
    }
}
