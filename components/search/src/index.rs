//! Applying one event to the index, idempotently: a battle document is replaced only by a
//! newer version; a killmail counts towards its entities' activity the first time it is
//! indexed, and a newer version of it (names resolved later) refreshes names without
//! counting again. Collections are created on first use.

use crate::collections::{self, Kind, Names};
use crate::documents::{self, Entity};
use crate::typesense::{Client, Transport, TypesenseError};
use contracts::battle_created::BattleCreated;
use contracts::battle_ended::BattleEnded;
use contracts::battle_removed::BattleRemoved;
use contracts::battle_updated::BattleUpdated;
use contracts::killmail_enriched::KillmailEnriched;
use contracts::{ContractError, Envelope};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Why an event was not indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The event itself is wrong: indexing it again will not help.
    #[error("{0}")]
    Malformed(#[from] ContractError),
    #[error("not an event the search index takes: {0}")]
    Unknown(String),
    #[error(transparent)]
    Typesense(#[from] TypesenseError),
}

/// What indexing an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Documents written.
    Written(usize),
    /// Nothing to do: the index already holds this version or a newer one.
    AlreadyCurrent,
}

/// An event the index takes, parsed.
pub enum Event {
    /// A battle's state (created, updated or ended: the same document).
    Battle(BattleCreated),
    Removed(BattleRemoved),
    Killmail(Box<KillmailEnriched>),
}

impl Event {
    /// Parse an envelope by its `eventType`.
    pub fn parse(payload: &[u8]) -> Result<Self, IndexError> {
        Ok(match contracts::event_type(payload)?.as_str() {
            "battle.created" => Event::Battle(Envelope::<BattleCreated>::parse(payload)?.data),
            "battle.updated" => Event::Battle(Envelope::<BattleUpdated>::parse(payload)?.data.0),
            "battle.ended" => Event::Battle(Envelope::<BattleEnded>::parse(payload)?.data.0),
            "battle.removed" => Event::Removed(Envelope::<BattleRemoved>::parse(payload)?.data),
            "killmail.enriched" => Event::Killmail(Box::new(Envelope::<KillmailEnriched>::parse(payload)?.data)),
            other => return Err(IndexError::Unknown(other.to_string())),
        })
    }
}

/// Typesense answers at most this many hits per page.
const PAGE: usize = 250;

pub struct Indexer<T: Transport> {
    client: Client<T>,
    names: Names,
    /// Prefix and snapshot directory for `collections::ensure`, when missing collections are
    /// this indexer's to create.
    creates: Option<(String, String)>,
}

impl<T: Transport> Indexer<T> {
    /// The live indexer: writes through the aliases of `prefix`, creating what is missing
    /// (`snapshot_dir` as for `collections::ensure`).
    pub fn new(client: Client<T>, prefix: &str, snapshot_dir: &str) -> Self {
        Self { client, names: Names::aliases(prefix), creates: Some((prefix.to_string(), snapshot_dir.to_string())) }
    }

    /// An indexer writing into collections made beforehand (a reindex's fresh ones).
    pub fn into_collections(client: Client<T>, names: Names) -> Self {
        Self { client, names, creates: None }
    }

    pub fn client(&self) -> &Client<T> {
        &self.client
    }

    /// Index one event envelope (by its `eventType`).
    pub fn apply(&self, payload: &[u8]) -> Result<Outcome, IndexError> {
        let event = Event::parse(payload)?;
        let work = || -> Result<Outcome, IndexError> {
            match &event {
                Event::Battle(b) => self.versioned(Kind::Battles, documents::battle(b), b.version),
                Event::Removed(r) => self.versioned(Kind::Battles, documents::removed_battle(r), r.version),
                Event::Killmail(k) => self.killmail(k),
            }
        };
        match (work(), &self.creates) {
            // A fresh deployment (or Typesense's data lost): make the collections, then again.
            (Err(IndexError::Typesense(e)), Some((prefix, snapshot_dir))) if e.is_not_found() => {
                collections::ensure(&self.client, prefix, snapshot_dir)?;
                work()
            }
            (other, _) => other,
        }
    }

    /// Write `doc` unless the index holds the same or a newer version of it.
    fn versioned(&self, kind: Kind, doc: Value, version: u64) -> Result<Outcome, IndexError> {
        let collection = self.names.of(kind);
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        let stored = self.client.document(collection, &id)?;
        if !documents::supersedes(version, stored.as_ref()) {
            return Ok(Outcome::AlreadyCurrent);
        }
        self.client.upsert(collection, &[doc])?;
        Ok(Outcome::Written(1))
    }

    fn killmail(&self, k: &KillmailEnriched) -> Result<Outcome, IndexError> {
        let collection = self.names.of(Kind::Killmails);
        let stored = self.client.document(collection, &k.killmail_id.to_string())?;
        let version = k.version.unwrap_or(0);
        if !documents::supersedes(version, stored.as_ref()) && stored.is_some() {
            return Ok(Outcome::AlreadyCurrent);
        }
        let first_time = stored.is_none();
        let entities = documents::entities(k);
        let activity = self.activity(&entities)?;
        let docs: Vec<Value> = entities
            .iter()
            .map(|e| documents::entity_document(e, documents::activity_after(activity.get(&e.key).copied(), first_time)))
            .collect();
        // Entities first: a killmail whose entities failed is written again on the retry, and
        // counted then (it is not in the index yet).
        self.client.upsert(self.names.of(Kind::Entities), &docs)?;
        self.client.upsert(collection, &[documents::killmail(k)])?;
        Ok(Outcome::Written(docs.len() + 1))
    }

    /// The stored activity of these entities (absent ones are new).
    fn activity(&self, entities: &[Entity]) -> Result<HashMap<String, u64>, IndexError> {
        let mut found = HashMap::new();
        let searches: Vec<Value> = entities
            .chunks(PAGE)
            .map(|chunk| {
                let keys: Vec<&str> = chunk.iter().map(|e| e.key.as_str()).collect();
                json!({ "collection": self.names.of(Kind::Entities), "q": "*", "filter_by": format!("key:=[{}]", keys.join(",")),
                        "per_page": PAGE, "include_fields": "key,activity" })
            })
            .collect();
        if searches.is_empty() {
            return Ok(found);
        }
        for result in self.client.multi_search(&searches)? {
            for hit in result["hits"].as_array().into_iter().flatten() {
                let d = &hit["document"];
                if let (Some(key), Some(n)) = (d["key"].as_str(), d["activity"].as_u64()) {
                    found.insert(key.to_string(), n);
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typesense::fake::Scripted;

    fn battle_event(kind: &str, version: u64) -> Vec<u8> {
        json!({"eventId": "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", "eventType": kind, "timestamp": "2026-11-29T12:00:00Z",
               "data": {"battleId": "00000000-0000-4000-8000-000005c7f330", "version": version, "status": "open",
                        "startTime": "2021-11-28T10:19:00Z", "endTime": "2021-11-28T15:04:00Z", "systems": [], "regions": [],
                        "kills": 3, "iskDestroyed": null, "pilots": 9, "sides": [], "manual": false, "title": null}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn an_older_battle_version_never_replaces_a_newer_one() {
        let t = Scripted::answering(vec![
            Ok((200, "{\"version\": 5}")),
            Ok((200, "{\"version\": 5}")),
            Ok((200, "{\"success\":true}")),
        ]);
        let indexer = Indexer::new(Client::new(&t, "http://ts", "k"), "bs_", "/snap");
        assert_eq!(indexer.apply(&battle_event("battle.updated", 4)).unwrap(), Outcome::AlreadyCurrent);
        assert_eq!(indexer.apply(&battle_event("battle.ended", 6)).unwrap(), Outcome::Written(1));
        let asked = t.asked.borrow();
        assert_eq!(asked.len(), 3, "no write for the stale event");
        assert!(asked[2].url.ends_with("/collections/bs_battles/documents/import?action=upsert"));
    }

    #[test]
    fn missing_collections_are_created_and_the_event_indexed() {
        let t = Scripted::answering(vec![
            // No collection: the document is not found, and the import fails.
            Ok((404, "{\"message\":\"Not found.\"}")),
            Ok((404, "{\"message\":\"Not found.\"}")),
            // ensure: three aliases, each missing: created, snapshotted, pointed at.
            Ok((404, "{}")),
            Ok((201, "{}")),
            Ok((201, "{}")),
            Ok((200, "{}")),
            Ok((404, "{}")),
            Ok((201, "{}")),
            Ok((201, "{}")),
            Ok((200, "{}")),
            Ok((404, "{}")),
            Ok((201, "{}")),
            Ok((201, "{}")),
            Ok((200, "{}")),
            Ok((404, "{\"message\":\"Could not find a document\"}")),
            Ok((200, "{\"success\":true}")),
        ]);
        let indexer = Indexer::new(Client::new(&t, "http://ts", "k"), "bs_", "/snap");
        assert_eq!(indexer.apply(&battle_event("battle.created", 1)).unwrap(), Outcome::Written(1));
    }

    #[test]
    fn bad_events_are_refused_as_such() {
        let t = Scripted::default();
        let indexer = Indexer::new(Client::new(&t, "http://ts", "k"), "bs_", "/snap");
        assert!(matches!(indexer.apply(b"{"), Err(IndexError::Malformed(_))));
        assert!(matches!(indexer.apply(&battle_event("killmail.ingested", 1)), Err(IndexError::Unknown(_))));
        let kills_as_text =
            String::from_utf8(battle_event("battle.created", 1)).unwrap().replace("\"kills\":3", "\"kills\":\"three\"");
        let e = indexer.apply(kills_as_text.as_bytes()).unwrap_err();
        assert!(matches!(e, IndexError::Malformed(_)), "{e}");
    }
}
