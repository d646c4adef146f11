//! Applying one event to the index, idempotently: a battle document is replaced only by a
//! newer version; a killmail counts towards its entities' activity the first time it is
//! indexed, and a newer version of it (names resolved later) refreshes names without
//! counting again. Collections are created on first use.

use crate::collections::{self, Kind, Names};
use crate::documents;
use crate::typesense::{Client, Transport, TypesenseError};
use contracts::battle_created::BattleCreated;
use contracts::battle_ended::BattleEnded;
use contracts::battle_removed::BattleRemoved;
use contracts::battle_updated::BattleUpdated;
use contracts::killmail_enriched::KillmailEnriched;
use contracts::{ContractError, Envelope};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

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

/// Searches sent in one `multi_search` request: Typesense takes at most 50 by default
/// (`limit_multi_searches`), and a batch of big fights' killmails can name more than 50 pages
/// of entities.
const SEARCHES_PER_REQUEST: usize = 40;

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
        self.apply_batch(&[payload])?.pop().expect("one result for one event")
    }

    /// Index several event envelopes with a handful of requests: one search for what the index
    /// holds of their killmails and entities, a read per battle, and one import per collection.
    /// The events are folded in order onto what is stored, exactly as one `apply` after another
    /// would, so a killmail counts towards its entities once however often it comes. The outer
    /// error is Typesense failing (every parsed event shares it); the inner results are the
    /// events' own (malformed, unknown, or what indexing did).
    pub fn apply_batch(&self, payloads: &[&[u8]]) -> Result<Vec<Result<Outcome, IndexError>>, IndexError> {
        let events: Vec<Result<Event, IndexError>> = payloads.iter().map(|p| Event::parse(p)).collect();
        let parsed: Vec<&Event> = events.iter().filter_map(|e| e.as_ref().ok()).collect();
        let outcomes = match (self.index(&parsed), &self.creates) {
            // A fresh deployment (or Typesense's data lost): make the collections, then again.
            (Err(IndexError::Typesense(e)), Some((prefix, snapshot_dir))) if e.is_not_found() => {
                collections::ensure(&self.client, prefix, snapshot_dir)?;
                self.index(&parsed)?
            }
            (outcomes, _) => outcomes?,
        };
        let mut outcomes = outcomes.into_iter();
        Ok(events.into_iter().map(|e| e.map(|_| outcomes.next().expect("an outcome per parsed event"))).collect())
    }

    /// Fold `events` onto what the index holds and write the result: an outcome per event.
    fn index(&self, events: &[&Event]) -> Result<Vec<Outcome>, IndexError> {
        let mut fold = Fold::default();
        let killmails: Vec<&KillmailEnriched> =
            events.iter().filter_map(|e| if let Event::Killmail(k) = e { Some(k.as_ref()) } else { None }).collect();
        fold.killmail_versions = self.killmail_versions(&killmails)?;
        let entities: BTreeSet<String> = killmails.iter().flat_map(|k| documents::entities(k)).map(|e| e.key).collect();
        fold.activity = self.activity(&entities.into_iter().collect::<Vec<_>>())?;
        let battle_ids: BTreeSet<String> = events
            .iter()
            .filter_map(|e| match e {
                Event::Battle(b) => Some(b.battle_id.to_string()),
                Event::Removed(r) => Some(r.battle_id.to_string()),
                Event::Killmail(_) => None,
            })
            .collect();
        fold.battle_versions = self.battle_versions(&battle_ids.into_iter().collect::<Vec<_>>())?;
        let outcomes = events.iter().map(|e| fold.add(e)).collect();
        // Entities first: a killmail whose entities failed is written again on the retry, and
        // counted then (it is not in the index yet).
        self.client.upsert(self.names.of(Kind::Entities), &fold.entities.into_values().collect::<Vec<_>>())?;
        self.client.upsert(self.names.of(Kind::Killmails), &fold.killmails.into_values().collect::<Vec<_>>())?;
        self.client.upsert(self.names.of(Kind::Battles), &fold.battles.into_values().collect::<Vec<_>>())?;
        Ok(outcomes)
    }

    /// The stored version of each of these killmails that the index holds.
    fn killmail_versions(&self, killmails: &[&KillmailEnriched]) -> Result<HashMap<u64, u64>, IndexError> {
        let ids: BTreeSet<u64> = killmails.iter().map(|k| k.killmail_id).collect();
        let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
        let hits = self.lookup(Kind::Killmails, "killmail_id", &ids, "killmail_id,version")?;
        Ok(hits.iter().filter_map(|d| Some((d["killmail_id"].as_u64()?, d["version"].as_u64().unwrap_or(0)))).collect())
    }

    /// The stored version of each of these battles: `None` for one the index does not hold.
    /// Asked in one request for the whole batch (a backfill's batch names dozens of battles).
    fn battle_versions(&self, ids: &[String]) -> Result<HashMap<String, Option<u64>>, IndexError> {
        let hits = self.lookup(Kind::Battles, "id", ids, "id,version")?;
        Ok(hits.iter().filter_map(|d| Some((d["id"].as_str()?.to_string(), d["version"].as_u64()))).collect())
    }

    /// The stored activity of these entities (absent ones are new).
    fn activity(&self, keys: &[String]) -> Result<HashMap<String, u64>, IndexError> {
        let hits = self.lookup(Kind::Entities, "key", keys, "key,activity")?;
        Ok(hits.iter().filter_map(|d| Some((d["key"].as_str()?.to_string(), d["activity"].as_u64()?))).collect())
    }

    /// The documents of `kind` whose `field` is one of `values` (only `fields` of them), in
    /// searches of a page each, sent together.
    fn lookup(&self, kind: Kind, field: &str, values: &[String], fields: &str) -> Result<Vec<Value>, IndexError> {
        let searches: Vec<Value> = values
            .chunks(PAGE)
            .map(|chunk| {
                json!({ "collection": self.names.of(kind), "q": "*", "filter_by": format!("{field}:=[{}]", chunk.join(",")),
                        "per_page": PAGE, "include_fields": fields })
            })
            .collect();
        let mut found = Vec::new();
        for group in searches.chunks(SEARCHES_PER_REQUEST) {
            let results = self.client.multi_search(group)?;
            found.extend(results.iter().flat_map(|r| r["hits"].as_array().into_iter().flatten()).map(|h| h["document"].clone()));
        }
        Ok(found)
    }
}

/// Events folded onto what the index held before them: the versions and activity known so far,
/// and the documents to write (the newest of each).
#[derive(Default)]
struct Fold {
    battle_versions: HashMap<String, Option<u64>>,
    killmail_versions: HashMap<u64, u64>,
    activity: HashMap<String, u64>,
    battles: BTreeMap<String, Value>,
    killmails: BTreeMap<u64, Value>,
    entities: BTreeMap<String, Value>,
}

impl Fold {
    fn add(&mut self, event: &Event) -> Outcome {
        match event {
            Event::Battle(b) => self.battle(documents::battle(b), b.version),
            Event::Removed(r) => self.battle(documents::removed_battle(r), r.version),
            Event::Killmail(k) => self.killmail(k),
        }
    }

    /// Keep `doc` unless a version as new or newer is stored or already kept.
    fn battle(&mut self, doc: Value, version: u64) -> Outcome {
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        let known = self.battle_versions.entry(id.clone()).or_default();
        if known.is_some_and(|v| version <= v) {
            return Outcome::AlreadyCurrent;
        }
        *known = Some(version);
        self.battles.insert(id, doc);
        Outcome::Written(1)
    }

    /// A killmail counts towards its entities the first time it is indexed; a newer version
    /// renames them without counting again; an older or equal one does nothing.
    fn killmail(&mut self, k: &KillmailEnriched) -> Outcome {
        let version = k.version.unwrap_or(0);
        let stored = self.killmail_versions.get(&k.killmail_id).copied();
        if stored.is_some_and(|v| version <= v) {
            return Outcome::AlreadyCurrent;
        }
        self.killmail_versions.insert(k.killmail_id, version);
        let entities = documents::entities(k);
        for e in &entities {
            let activity = documents::activity_after(self.activity.get(&e.key).copied(), stored.is_none());
            self.activity.insert(e.key.clone(), activity);
            self.entities.insert(e.key.clone(), documents::entity_document(e, activity));
        }
        self.killmails.insert(k.killmail_id, documents::killmail(k));
        Outcome::Written(entities.len() + 1)
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
            Ok((200, r#"{"results":[{"hits":[{"document":{"id":"00000000-0000-4000-8000-000005c7f330","version":5}}]}]}"#)),
            Ok((200, r#"{"results":[{"hits":[{"document":{"id":"00000000-0000-4000-8000-000005c7f330","version":5}}]}]}"#)),
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
            // No collection: the lookup of the battle's version is not found.
            Ok((200, r#"{"results":[{"code":404,"error":"Not found."}]}"#)),
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
            Ok((200, r#"{"results":[{"hits":[]}]}"#)),
            Ok((200, "{\"success\":true}")),
        ]);
        let indexer = Indexer::new(Client::new(&t, "http://ts", "k"), "bs_", "/snap");
        assert_eq!(indexer.apply(&battle_event("battle.created", 1)).unwrap(), Outcome::Written(1));
    }

    #[test]
    fn a_batch_asks_for_all_its_battles_versions_in_one_request() {
        let other = "00000000-0000-4000-8000-000000000002";
        let t = Scripted::answering(vec![
            Ok((200, r#"{"results":[{"hits":[{"document":{"id":"00000000-0000-4000-8000-000005c7f330","version":5}}]}]}"#)),
            Ok((200, "{\"success\":true}\n{\"success\":true}")),
        ]);
        let indexer = Indexer::new(Client::new(&t, "http://ts", "k"), "bs_", "/snap");
        let second =
            String::from_utf8(battle_event("battle.created", 1)).unwrap().replace("00000000-0000-4000-8000-000005c7f330", other);
        let batch = [battle_event("battle.updated", 5), second.into_bytes(), battle_event("battle.updated", 6)];
        let payloads: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
        let outcomes: Vec<Outcome> = indexer.apply_batch(&payloads).unwrap().into_iter().map(Result::unwrap).collect();
        assert_eq!(outcomes, [Outcome::AlreadyCurrent, Outcome::Written(1), Outcome::Written(1)]);
        let asked = t.asked.borrow();
        assert_eq!(asked.len(), 2, "one lookup and one import");
        let lookup: Value = serde_json::from_slice(asked[0].body.as_ref().unwrap()).unwrap();
        let filter = lookup["searches"][0]["filter_by"].as_str().unwrap();
        assert!(filter.starts_with("id:=[") && filter.contains(other) && filter.contains("000005c7f330"), "{filter}");
        let written: Vec<Value> = import_lines(&asked[1]);
        assert_eq!(
            written.iter().map(|b| (b["id"].clone(), b["version"].clone())).collect::<Vec<_>>(),
            [(json!(other), json!(1)), (json!("00000000-0000-4000-8000-000005c7f330"), json!(6))]
        );
    }

    fn killmail_event(id: u64, version: u64, victim: &str) -> Vec<u8> {
        let victim = json!({"characterId": 1, "characterName": victim, "corporationId": 98000001, "corporationName": "Corp",
                            "shipTypeId": 587, "shipTypeName": "Rifter"});
        json!({"eventId": "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", "eventType": "killmail.enriched", "timestamp": "2026-11-29T12:00:00Z",
               "data": {"killmailId": id, "killmailHash": "h", "killmailTime": "2021-11-28T10:21:00Z", "version": version,
                        "solarSystem": {"id": 30001046, "name": "Jorund", "regionId": 10000012, "regionName": "Curse", "securityBand": "nullsec"},
                        "victim": victim, "attackers": []}})
        .to_string()
        .into_bytes()
    }

    fn import_lines(asked: &crate::typesense::Request) -> Vec<Value> {
        let body = String::from_utf8(asked.body.clone().unwrap()).unwrap();
        body.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn a_batch_is_folded_as_one_event_after_another_and_written_in_four_requests() {
        let ok = |n: usize| vec!["{\"success\":true}"; n].join("\n");
        let (entities_ok, killmails_ok) = (ok(5), ok(2));
        let t = Scripted::answering(vec![
            // Killmail 2 is indexed already (version 0); the system has five killmails on it.
            Ok((200, r#"{"results":[{"hits":[{"document":{"killmail_id":2,"version":0}}]}]}"#)),
            Ok((200, r#"{"results":[{"hits":[{"document":{"key":"s30001046","activity":5}}]}]}"#)),
            Ok((200, &entities_ok)),
            Ok((200, &killmails_ok)),
        ]);
        let indexer = Indexer::new(Client::new(&t, "http://ts", "k"), "bs_", "/snap");
        let batch =
            [killmail_event(1, 0, "old"), killmail_event(2, 1, "old"), killmail_event(1, 1, "new"), killmail_event(1, 1, "new")];
        let payloads: Vec<&[u8]> = batch.iter().map(Vec::as_slice).collect();
        let outcomes: Vec<Outcome> = indexer.apply_batch(&payloads).unwrap().into_iter().map(Result::unwrap).collect();
        assert_eq!(outcomes, [Outcome::Written(6), Outcome::Written(6), Outcome::Written(6), Outcome::AlreadyCurrent]);
        let asked = t.asked.borrow();
        assert_eq!(asked.len(), 4, "two lookups and two imports for the whole batch");
        let entities = import_lines(&asked[2]);
        let entity = |key: &str| entities.iter().find(|e| e["key"] == key).unwrap().clone();
        // Killmail 1 counts once (its second version renames), killmail 2 was counted before.
        assert_eq!(entity("s30001046")["activity"], 6);
        assert_eq!((entity("p1")["name"].clone(), entity("p1")["activity"].clone()), (json!("new"), json!(1)));
        let killmails = import_lines(&asked[3]);
        assert_eq!(
            killmails.iter().map(|k| (k["killmail_id"].clone(), k["version"].clone())).collect::<Vec<_>>(),
            [(json!(1), json!(1)), (json!(2), json!(1))]
        );
    }

    #[test]
    fn lookups_past_the_multi_search_limit_go_in_several_requests() {
        let empty = r#"{"results":[]}"#.to_string();
        let t = Scripted::answering(vec![Ok((200, &empty)), Ok((200, &empty))]);
        let indexer = Indexer::new(Client::new(&t, "http://ts", "k"), "bs_", "/snap");
        let keys: Vec<String> = (0..PAGE * SEARCHES_PER_REQUEST + 1).map(|i| format!("p{i}")).collect();
        assert!(indexer.activity(&keys).unwrap().is_empty());
        let asked = t.asked.borrow();
        let searches = |i: usize| {
            let body: Value = serde_json::from_slice(asked[i].body.as_ref().unwrap()).unwrap();
            body["searches"].as_array().unwrap().len()
        };
        assert_eq!((asked.len(), searches(0), searches(1)), (2, SEARCHES_PER_REQUEST, 1));
    }

    #[test]
    fn a_bad_event_in_a_batch_fails_alone() {
        let t = Scripted::answering(vec![Ok((200, r#"{"results":[{"hits":[]}]}"#)), Ok((200, "{\"success\":true}"))]);
        let indexer = Indexer::new(Client::new(&t, "http://ts", "k"), "bs_", "/snap");
        let good = battle_event("battle.created", 1);
        let results = indexer.apply_batch(&[b"{", &good]).unwrap();
        assert!(matches!(results[0], Err(IndexError::Malformed(_))), "{:?}", results[0]);
        assert_eq!(results[1].as_ref().unwrap(), &Outcome::Written(1));
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
