//! The search indexer: battle and killmail events from Kafka applied to the Typesense index
//! by the batch (`search::index`). Typesense being down or failing is retryable (the partition waits
//! and nothing is lost); a malformed event is dead-lettered.

#![cfg(target_arch = "wasm32")]

use search::config::IndexerConfig;
use search::index::{IndexError, Indexer};
use search::spin_http::SpinHttp;
use search::typesense::{Client, TypesenseError};

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:search;

        world indexer {
            export battlescope:kafka/batch-handler@0.1.0;
        }
    ",
    path: ["../../../wit/kafka"],
    world: "battlescope:search/indexer",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

use battlescope::kafka::types::{Error, Message};
use exports::battlescope::kafka::batch_handler::Guest;

struct SearchIndexer;
export!(SearchIndexer);

impl Guest for SearchIndexer {
    fn handle_batch(messages: Vec<Message>) -> Vec<Result<(), Error>> {
        // A configuration mistake is waited out (the partition holds) rather than dead-lettering events.
        let config = match IndexerConfig::load(&guest::config::Variables::spin()) {
            Ok(config) => config,
            Err(e) => return messages.iter().map(|_| Err(Error::Retryable(e.to_string()))).collect(),
        };
        let IndexerConfig { search: config, typesense_snapshot_dir } = config;
        let indexer = Indexer::new(
            Client::new(SpinHttp, &config.typesense_url, &config.typesense_api_key),
            &config.collection_prefix,
            &typesense_snapshot_dir,
        );
        let payloads: Vec<&[u8]> = messages.iter().map(|m| m.data.as_slice()).collect();
        match indexer.apply_batch(&payloads) {
            Ok(outcomes) => outcomes.into_iter().map(|o| o.map(drop).map_err(|e| failure(e, false))).collect(),
            Err(e) => {
                let shared = failure(e, messages.len() > 1);
                messages.iter().map(|_| Err(shared.clone())).collect()
            }
        }
    }
}

/// How the trigger treats a failure. `shared`: Typesense refused a document of a batch, which
/// cannot say whose; each event is then tried alone, where a refusal is its own.
fn failure(e: IndexError, shared: bool) -> Error {
    match e {
        IndexError::Typesense(TypesenseError::Refused { .. }) if shared => Error::Failed(e.to_string()),
        // Retrying cannot make these acceptable (and a refused killmail would count its
        // entities again on every attempt).
        IndexError::Malformed(_) | IndexError::Unknown(_) | IndexError::Typesense(TypesenseError::Refused { .. }) => {
            Error::Fatal(e.to_string())
        }
        IndexError::Typesense(e) if e.is_transient() => Error::Retryable(e.to_string()),
        e => Error::Failed(e.to_string()),
    }
}
