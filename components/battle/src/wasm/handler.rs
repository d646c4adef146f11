//! `killmail.enriched` → battles: store the kill, then bring the battles around it up to date
//! (`recluster`). A kill that an operator's battle holds only refreshes that battle.

use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::exports::battlescope::kafka::incoming_handler::Guest;
use super::recluster::{apply, Change, HeldBattle};
use super::store::{Store, Upsert};
use super::Battles;
use crate::enriched;

impl Guest for Battles {
    fn handle(message: Message) -> Result<(), KafkaError> {
        let event = enriched::parse(&message.data).map_err(KafkaError::Fatal)?;
        let config = super::config().map_err(KafkaError::Fatal)?;
        let store = Store::open(&config).map_err(KafkaError::Retryable)?;
        let change = match store.upsert_kill(&event).map_err(KafkaError::Retryable)? {
            Upsert::Unchanged => return Ok(()), // seen before: the battles already include it
            Upsert::Automatic => Change { seeds: vec![event.kill], ..Change::default() },
            Upsert::Pinned(battle_id) => held(&store, battle_id).map_err(KafkaError::Retryable)?,
        };
        apply(&store, change).map(drop).map_err(KafkaError::Retryable)
    }
}

/// The same battle, held as it is, recomputed with the kill's new details.
fn held(store: &Store, battle_id: String) -> Result<Change, String> {
    let title = store.stored(&[battle_id.clone()].into())?.remove(&battle_id).and_then(|s| s.title);
    let kill_ids = store.kill_ids_of(&battle_id)?;
    Ok(Change { held: vec![HeldBattle { battle_id, title, kill_ids }], ..Change::default() })
}
