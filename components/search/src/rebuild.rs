//! Rebuilding the index from the event topics into fresh collections, by the batch. Nothing
//! else writes to a collection being rebuilt, so what the live indexer asks Typesense for each
//! event (the stored version, the entities' activity) is kept here in memory instead: a battle
//! or killmail version seen, and every entity's latest name and count. Only a newer version
//! replaces a document, and activity counts by `documents::activity_after`, as in the live
//! indexer, so the documents come out as it would have written them from the same events had
//! nothing failed in between.

use crate::documents::{self, Entity};
use crate::index::{Event, IndexError};
use serde_json::Value;
use std::collections::HashMap;

/// What a rebuild has taken in so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Events read.
    pub events: u64,
    /// Events that were not indexable (malformed, or of another type); the first reason is kept
    /// by the caller.
    pub refused: u64,
    /// Distinct battles (removed ones included) and killmails.
    pub battles: u64,
    pub killmails: u64,
}

#[derive(Default)]
pub struct Rebuild {
    battle_versions: HashMap<String, u64>,
    killmail_versions: HashMap<u64, u64>,
    /// Documents not yet handed out, by id (a newer version replaces a pending older one).
    pending_battles: HashMap<String, Value>,
    pending_killmails: HashMap<u64, Value>,
    entities: HashMap<String, (Entity, u64)>,
    tally: Tally,
}

impl Rebuild {
    pub fn tally(&self) -> Tally {
        self.tally
    }

    /// Take one event in. A refused event is counted and its reason returned; the rebuild goes on.
    pub fn add(&mut self, payload: &[u8]) -> Result<(), IndexError> {
        self.tally.events += 1;
        let event = Event::parse(payload).inspect_err(|_| self.tally.refused += 1)?;
        match event {
            Event::Battle(b) => self.battle(documents::battle(&b), b.version),
            Event::Removed(r) => self.battle(documents::removed_battle(&r), r.version),
            Event::Killmail(k) => {
                let version = k.version.unwrap_or(0);
                let first_time = match self.killmail_versions.get(&k.killmail_id) {
                    None => true,
                    Some(seen) if version > *seen => false,
                    Some(_) => return Ok(()),
                };
                self.killmail_versions.insert(k.killmail_id, version);
                for e in documents::entities(&k) {
                    let stored = self.entities.get(&e.key).map(|(_, n)| *n);
                    let activity = documents::activity_after(stored, first_time);
                    self.entities.insert(e.key.clone(), (e, activity));
                }
                if first_time {
                    self.tally.killmails += 1;
                }
                self.pending_killmails.insert(k.killmail_id, documents::killmail(&k));
            }
        }
        Ok(())
    }

    fn battle(&mut self, doc: Value, version: u64) {
        let id = doc["id"].as_str().unwrap_or_default().to_string();
        match self.battle_versions.get(&id) {
            Some(seen) if *seen >= version => return,
            Some(_) => {}
            None => self.tally.battles += 1,
        }
        self.battle_versions.insert(id.clone(), version);
        self.pending_battles.insert(id, doc);
    }

    /// Battle and killmail documents waiting to be imported, once there are at least `at_least`
    /// of them (0: all). A document handed out is written; a later newer version is handed out again.
    pub fn take(&mut self, at_least: usize) -> (Vec<Value>, Vec<Value>) {
        if self.pending_battles.len() + self.pending_killmails.len() < at_least.max(1) {
            return (Vec::new(), Vec::new());
        }
        (self.pending_battles.drain().map(|(_, d)| d).collect(), self.pending_killmails.drain().map(|(_, d)| d).collect())
    }

    /// Every entity's document with its activity: written once, at the end.
    pub fn entity_documents(&self) -> Vec<Value> {
        self.entities.values().map(|(e, n)| documents::entity_document(e, *n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn envelope(kind: &str, data: Value) -> Vec<u8> {
        json!({"eventId": "6f1c0c1e-8a4e-4f61-9a55-0a6c4b1e2f3a", "eventType": kind, "timestamp": "2026-11-29T12:00:00Z", "data": data})
            .to_string()
            .into_bytes()
    }

    fn battle(version: u64, kills: u64) -> Vec<u8> {
        envelope(
            "battle.updated",
            json!({"battleId": "00000000-0000-4000-8000-000005c7f330", "version": version, "status": "open",
                   "startTime": "2021-11-28T10:19:00Z", "endTime": "2021-11-28T15:04:00Z", "systems": [], "regions": [],
                   "kills": kills, "iskDestroyed": null, "pilots": 9, "sides": [], "manual": false, "title": null}),
        )
    }

    fn killmail(id: u64, version: u64, victim_name: Option<&str>) -> Vec<u8> {
        let victim = json!({"characterId": 1, "characterName": victim_name, "corporationId": 98000001, "corporationName": "Corp",
                            "shipTypeId": 587, "shipTypeName": "Rifter", "finalBlow": false});
        envelope(
            "killmail.enriched",
            json!({"killmailId": id, "killmailHash": "h", "killmailTime": "2021-11-28T10:21:00Z", "version": version,
                   "solarSystem": {"id": 30001046, "name": "Jorund", "regionId": 10000012, "regionName": "Curse", "securityBand": "nullsec"},
                   "victim": victim, "attackers": []}),
        )
    }

    fn activity(r: &Rebuild, key: &str) -> Option<(String, u64)> {
        r.entity_documents()
            .into_iter()
            .find(|d| d["key"] == key)
            .map(|d| (d["name"].as_str().unwrap().to_string(), d["activity"].as_u64().unwrap()))
    }

    #[test]
    fn the_newest_battle_version_wins_whatever_the_order() {
        let mut r = Rebuild::default();
        for (version, kills) in [(2, 20), (5, 50), (3, 30)] {
            r.add(&battle(version, kills)).unwrap();
        }
        let (battles, killmails) = r.take(0);
        assert_eq!((battles.len(), killmails.len()), (1, 0));
        assert_eq!((battles[0]["version"].as_u64(), battles[0]["kills"].as_u64()), (Some(5), Some(50)));
        r.add(&battle(4, 40)).unwrap();
        assert_eq!(r.take(0).0.len(), 0, "an older version after a newer one changes nothing");
        assert_eq!(r.tally(), Tally { events: 4, refused: 0, battles: 1, killmails: 0 });
    }

    #[test]
    fn a_killmail_counts_once_and_its_later_version_renames() {
        let mut r = Rebuild::default();
        r.add(&killmail(7, 1, None)).unwrap();
        r.add(&killmail(8, 1, None)).unwrap();
        r.add(&killmail(7, 2, Some("Pilot One"))).unwrap();
        r.add(&killmail(7, 1, None)).unwrap();
        assert_eq!(activity(&r, "s30001046"), Some(("Jorund".to_string(), 2)));
        assert_eq!(activity(&r, "p1"), Some(("Pilot One".to_string(), 1)), "named by the later version");
        let (_, killmails) = r.take(0);
        assert_eq!(killmails.len(), 2);
        assert_eq!(r.tally().killmails, 2);
    }

    #[test]
    fn documents_wait_for_a_batch_and_refused_events_are_counted() {
        let mut r = Rebuild::default();
        r.add(&killmail(7, 1, None)).unwrap();
        assert_eq!(r.take(2).1.len(), 0);
        r.add(&killmail(9, 1, None)).unwrap();
        assert_eq!(r.take(2).1.len(), 2);
        assert!(matches!(r.add(b"{}"), Err(IndexError::Malformed(_))));
        assert!(matches!(r.add(&envelope("killmail.ingested", json!({}))), Err(IndexError::Unknown(_))));
        assert_eq!((r.tally().events, r.tally().refused), (4, 2));
    }
}
