//! The search indexer: each battle and killmail event from Kafka applied to the Typesense
//! index (`search::index`). Typesense being down or failing is retryable (the partition waits
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
            export battlescope:kafka/incoming-handler@0.1.0;
        }
    ",
    path: ["../../../wit/kafka"],
    world: "battlescope:search/indexer",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

use battlescope::kafka::types::{Error, Message};
use exports::battlescope::kafka::incoming_handler::Guest;

struct SearchIndexer;
export!(SearchIndexer);

impl Guest for SearchIndexer {
    fn handle(message: Message) -> Result<(), Error> {
        // A configuration mistake is waited out (the partition holds) rather than dead-lettering events.
        let IndexerConfig { search: config, typesense_snapshot_dir } =
            IndexerConfig::load(&guest::config::Variables::spin()).map_err(|e| Error::Retryable(e.to_string()))?;
        let indexer = Indexer::new(
            Client::new(SpinHttp, &config.typesense_url, &config.typesense_api_key),
            &config.collection_prefix,
            &typesense_snapshot_dir,
        );
        match indexer.apply(&message.data) {
            Ok(_) => Ok(()),
            // Retrying cannot make these acceptable (and a refused killmail would count its
            // entities again on every attempt).
            Err(
                e @ (IndexError::Malformed(_) | IndexError::Unknown(_) | IndexError::Typesense(TypesenseError::Refused { .. })),
            ) => Err(Error::Fatal(e.to_string())),
            Err(IndexError::Typesense(e)) if e.is_transient() => Err(Error::Retryable(e.to_string())),
            Err(e) => Err(Error::Failed(e.to_string())),
        }
    }
}
