//! `killmail.ingested` → `killmail.enriched`.

use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::exports::battlescope::kafka::incoming_handler::Guest;
use super::Enrichment;
use enrichment::config::Config;
use enrichment::wasm::counters::Counters;
use enrichment::wasm::esi::{Esi, EsiError};
use enrichment::wasm::store::Store;
use enrichment::wasm::{config, resolve};
use enrichment::{enrich, ingested, names};

impl Guest for Enrichment {
    /// Idempotent: an already-enriched killmail is acknowledged without fetching or
    /// publishing again. ESI outages and database trouble are retryable (the killmail waits);
    /// a malformed event or body is fatal (dead-lettered with the reason).
    fn handle(message: Message) -> Result<(), KafkaError> {
        let event = ingested::parse(&message.data).map_err(KafkaError::Fatal)?;
        let config = config().map_err(KafkaError::Fatal)?;
        let store = Store::open(&config).map_err(KafkaError::Retryable)?;
        let mut counters = Counters::default();
        let outcome = enrich_one(&config, &store, &event, &mut counters);
        if let Err(e) = store.count(&counters) {
            eprintln!("enrichment: {e}");
        }
        outcome
    }
}

fn enrich_one(config: &Config, store: &Store, event: &ingested::Ingested, counters: &mut Counters) -> Result<(), KafkaError> {
    let id = event.killmail_id;
    if store.is_enriched(id).map_err(KafkaError::Retryable)? {
        counters.add("redelivered", 1);
        return Ok(());
    }
    let mut esi = Esi::open(config, counters).map_err(KafkaError::Retryable)?;
    let body = match &event.esi {
        Some(body) => body.clone(),
        None => match esi.killmail(store, id, &event.hash) {
            Ok(body) => {
                esi.counters.add("bodies_from_esi", 1);
                body
            }
            Err(EsiError::Unavailable(why)) => return Err(KafkaError::Retryable(format!("killmail {id}: {why}"))),
            Err(e @ EsiError::Refused(..)) => return Err(KafkaError::Fatal(format!("killmail {id}: {e}"))),
        },
    };
    let ids = names::ids(&body);
    let found = resolve::resolve(&mut esi, store, &ids, false).map_err(KafkaError::Retryable)?;
    let enriched = enrich::enrich(&body, &event.hash, event.source, event.zkb.as_ref(), &found, 1)
        .map_err(|e| KafkaError::Fatal(format!("killmail {id}: {e}")))?;
    let saved = store.save(&enriched, &body, event.zkb.as_ref()).map_err(KafkaError::Retryable)?;
    esi.counters.add(if saved { "enriched" } else { "redelivered" }, 1);
    if !enriched.unresolved.is_empty() {
        esi.counters.add("published_without_some_names", 1);
    }
    Ok(())
}
