//! `killmail.enriched` → battles, through the engine. Failures say whether waiting helps: a
//! database that is down or busy is retried for as long as it lasts; a failure that would
//! repeat is retried a few times and then dead-lettered; a malformed event at once.

use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::exports::battlescope::kafka::incoming_handler::Guest;
use super::Battles;
use battle::engine::{self, StoreError};
use battle::enriched;
use battle::wasm::store::Store;
use battle::wasm::{config, context};

fn kafka_error(e: StoreError) -> KafkaError {
    match e {
        StoreError::Transient(why) => KafkaError::Retryable(why),
        StoreError::Permanent(why) => KafkaError::Failed(why),
    }
}

impl Guest for Battles {
    fn handle(message: Message) -> Result<(), KafkaError> {
        let event = enriched::parse(&message.data).map_err(KafkaError::Fatal)?;
        let config = config().map_err(KafkaError::Fatal)?;
        let mut store = Store::open(&config).map_err(kafka_error)?;
        engine::handle(&mut store, &event, &context(&config)).map(drop).map_err(kafka_error)
    }
}
