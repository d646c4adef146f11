//! `killmail.enriched` → battles, through the engine, a batch at a time (one gather, one
//! clustering and one write for the whole batch). Failures say whether waiting helps: a
//! database that is down or busy is retried for as long as it lasts; a failure that would
//! repeat is retried a few times and then dead-lettered; a malformed event at once. A failing
//! batch fails every message in it: the host then tries each alone, which finds the one to
//! blame.

use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::exports::battlescope::kafka::batch_handler::Guest;
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
    fn handle_batch(messages: Vec<Message>) -> Vec<Result<(), KafkaError>> {
        let parsed: Vec<Result<enriched::Enriched, KafkaError>> =
            messages.iter().map(|m| enriched::parse(&m.data).map_err(KafkaError::Fatal)).collect();
        let events: Vec<enriched::Enriched> = parsed.iter().filter_map(|p| p.as_ref().ok().cloned()).collect();
        let outcome = handle(&events);
        parsed.into_iter().map(|p| p.map(drop).and_then(|()| outcome.clone())).collect()
    }
}

fn handle(events: &[enriched::Enriched]) -> Result<(), KafkaError> {
    if events.is_empty() {
        return Ok(());
    }
    let config = config().map_err(KafkaError::Fatal)?;
    let mut store = Store::open(&config).map_err(kafka_error)?;
    engine::handle_batch(&mut store, events, &context(&config)).map(drop).map_err(kafka_error)
}
