//! The collections as code. Each lives behind an alias (`<prefix>battles`, ...) that readers
//! and the indexer use; the collection itself is named for its schema version
//! (`<prefix>battles_v1`). A schema change (or a rebuild) is the reindex's work: it builds fresh
//! collections (`<prefix>battles_v1_<stamp>`) and swaps the aliases, so readers never go without
//! an index. The indexer only creates what is missing.

use crate::typesense::{Client, Transport, TypesenseError};
use serde_json::{json, Value};

/// Bumped whenever a schema below changes; `make reindex` then builds collections of the new
/// schema and moves the aliases to them.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Battles,
    Entities,
    Killmails,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Battles, Kind::Entities, Kind::Killmails];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Battles => "battles",
            Kind::Entities => "entities",
            Kind::Killmails => "killmails",
        }
    }

    /// The alias readers and the indexer use.
    pub fn alias(self, prefix: &str) -> String {
        format!("{prefix}{}", self.name())
    }

    /// The collection the indexer creates when there is none yet.
    pub fn first_collection(self, prefix: &str) -> String {
        format!("{}_v{SCHEMA_VERSION}", self.alias(prefix))
    }

    /// The schema of a collection of this kind named `collection`.
    pub fn schema(self, collection: &str) -> Value {
        let field = |name: &str, kind: &str| json!({ "name": name, "type": kind });
        let facet = |name: &str, kind: &str| json!({ "name": name, "type": kind, "facet": true });
        let optional = |name: &str, kind: &str| json!({ "name": name, "type": kind, "optional": true });
        let optional_facet = |name: &str, kind: &str| json!({ "name": name, "type": kind, "facet": true, "optional": true });
        let (fields, sorting) = match self {
            Kind::Battles => (
                vec![
                    field("version", "int64"),
                    field("removed", "bool"),
                    facet("status", "string"),
                    optional("title", "string"),
                    field("start_time", "int64"),
                    field("end_time", "int64"),
                    field("kills", "int32"),
                    field("pilots", "int32"),
                    field("isk_destroyed", "float"),
                    field("systems", "string[]"),
                    facet("system_ids", "int64[]"),
                    facet("regions", "string[]"),
                    facet("region_ids", "int64[]"),
                    facet("security_bands", "string[]"),
                    facet("alliances", "string[]"),
                    facet("alliance_ids", "int64[]"),
                    field("corporations", "string[]"),
                    facet("corporation_ids", "int64[]"),
                ],
                "start_time",
            ),
            Kind::Entities => (
                vec![
                    facet("key", "string"),
                    facet("type", "string"),
                    field("entity_id", "int64"),
                    field("name", "string"),
                    optional("ticker", "string"),
                    field("activity", "int32"),
                ],
                "activity",
            ),
            Kind::Killmails => (
                vec![
                    field("killmail_id", "int64"),
                    field("version", "int64"),
                    field("time", "int64"),
                    optional("system", "string"),
                    facet("system_id", "int64"),
                    optional_facet("region", "string"),
                    facet("security_band", "string"),
                    optional("victim", "string"),
                    optional("victim_corporation", "string"),
                    optional_facet("victim_alliance", "string"),
                    optional_facet("victim_alliance_id", "int64"),
                    optional_facet("ship", "string"),
                    optional_facet("ship_type_id", "int64"),
                    optional_facet("ship_group", "string"),
                    field("attacker_alliances", "string[]"),
                    facet("attacker_alliance_ids", "int64[]"),
                    field("attackers", "int32"),
                    field("value", "float"),
                ],
                "time",
            ),
        };
        json!({ "name": collection, "fields": fields, "default_sorting_field": sorting })
    }
}

/// The three collections (or aliases) something writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names([String; 3]);

impl Names {
    /// The deployment's aliases: what readers and the live indexer use.
    pub fn aliases(prefix: &str) -> Self {
        Self(Kind::ALL.map(|k| k.alias(prefix)))
    }

    /// Collections named by `name_of` (a reindex's fresh ones).
    pub fn each(name_of: impl Fn(Kind) -> String) -> Self {
        Self(Kind::ALL.map(name_of))
    }

    pub fn of(&self, kind: Kind) -> &str {
        let i = Kind::ALL.iter().position(|k| *k == kind).expect("every kind is in ALL");
        &self.0[i]
    }
}

/// Make sure every alias leads to a collection: a missing alias gets a first collection, an alias
/// whose collection is gone gets it back (empty: `make reindex` refills it). Typesense snapshots
/// into `snapshot_dir` after each creation and before the alias points there, so a failed
/// snapshot is tried again on the next call (`Client::snapshot` says why it matters).
pub fn ensure<T: Transport>(client: &Client<T>, prefix: &str, snapshot_dir: &str) -> Result<(), TypesenseError> {
    for kind in Kind::ALL {
        let alias = kind.alias(prefix);
        let collection = match client.alias_target(&alias)? {
            Some(target) if client.collection_exists(&target)? => continue,
            Some(target) => target,
            None => kind.first_collection(prefix),
        };
        client.create_collection(&kind.schema(&collection))?;
        snapshot_after_creating(client, snapshot_dir, &collection)?;
        client.set_alias(&alias, &collection)?;
    }
    Ok(())
}

/// Have Typesense snapshot after `created` was made (`Client::snapshot` says why). A request
/// that got no answer counts as done: Typesense 0.24.1 sometimes takes the snapshot at once
/// ("On demand snapshot succeeded!" in its log, within a second) and never answers. Waiting for
/// that answer held the indexer for minutes, each retry spending the 20 s timeout; what the
/// snapshot guards against (a restart losing new collections' first documents) a reindex
/// repairs.
pub fn snapshot_after_creating<T: Transport>(
    client: &Client<T>,
    snapshot_dir: &str,
    created: &str,
) -> Result<(), TypesenseError> {
    match client.snapshot(snapshot_dir) {
        Err(e) if e.is_timeout() => {
            eprintln!("search: Typesense did not answer the snapshot after creating {created} ({e}); going on");
            Ok(())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typesense::fake::Scripted;

    #[test]
    fn every_schema_sorts_by_a_field_it_has_and_names_itself() {
        for kind in Kind::ALL {
            let s = kind.schema("x_v1");
            assert_eq!(s["name"], "x_v1");
            let sorting = s["default_sorting_field"].as_str().unwrap();
            let field = s["fields"].as_array().unwrap().iter().find(|f| f["name"] == sorting).expect("the sorting field");
            assert!(matches!(field["type"].as_str(), Some("int32" | "int64" | "float")) && field.get("optional").is_none());
        }
        assert_eq!(Kind::Battles.first_collection("bs_"), "bs_battles_v1");
    }

    #[test]
    fn ensure_creates_only_what_is_missing_and_snapshots_before_pointing_at_it() {
        let t = Scripted::answering(vec![
            // battles: alias and collection there.
            Ok((200, "{\"collection_name\":\"bs_battles_v1\"}")),
            Ok((200, "{\"name\":\"bs_battles_v1\"}")),
            // entities: no alias.
            Ok((404, "{\"message\":\"Not Found\"}")),
            Ok((201, "{}")),
            Ok((201, "{\"success\":true}")),
            Ok((200, "{}")),
            // killmails: the alias leads to a collection that is gone.
            Ok((200, "{\"collection_name\":\"bs_killmails_v1_9\"}")),
            Ok((404, "{\"message\":\"Not Found\"}")),
            Ok((201, "{}")),
            Ok((201, "{\"success\":true}")),
            Ok((200, "{}")),
        ]);
        ensure(&Client::new(&t, "http://ts", "k"), "bs_", "/var/tmp/snap").unwrap();
        let asked: Vec<String> = t.asked.borrow().iter().map(|r| format!("{} {}", r.method, r.url)).collect();
        let snapshot = "POST http://ts/operations/snapshot?snapshot_path=%2Fvar%2Ftmp%2Fsnap";
        assert_eq!(
            asked,
            [
                "GET http://ts/aliases/bs_battles",
                "GET http://ts/collections/bs_battles_v1",
                "GET http://ts/aliases/bs_entities",
                "POST http://ts/collections",
                snapshot,
                "PUT http://ts/aliases/bs_entities",
                "GET http://ts/aliases/bs_killmails",
                "GET http://ts/collections/bs_killmails_v1_9",
                "POST http://ts/collections",
                snapshot,
                "PUT http://ts/aliases/bs_killmails",
            ]
        );
        let recreated: Value = serde_json::from_slice(t.asked.borrow()[8].body.as_ref().unwrap()).unwrap();
        assert_eq!(recreated["name"], "bs_killmails_v1_9", "the alias's own collection comes back");
    }

    #[test]
    fn a_snapshot_without_an_answer_does_not_hold_up_the_collections_but_a_refused_one_does() {
        // Battles missing: created, snapshotted (as scripted), pointed at; the others there.
        let creating_battles = |snapshot| {
            let there = [Ok((200, "{\"collection_name\":\"c\"}")), Ok((200, "{}"))];
            let battles = [Ok((404, "{}")), Ok((201, "{}")), snapshot, Ok((200, "{}"))];
            Scripted::answering(battles.into_iter().chain(there).chain(there).collect())
        };
        let t = creating_battles(Err("POST http://ts/operations/snapshot: ErrorCode::ConnectionReadTimeout"));
        let done = ensure(&Client::new(&t, "http://ts", "k"), "bs_", "/s");
        assert!(done.is_ok(), "{done:?}");
        assert!(t.asked.borrow().iter().any(|r| r.method == "PUT" && r.url.ends_with("/aliases/bs_battles")), "pointed at");

        let t = creating_battles(Err("POST http://ts/operations/snapshot: ErrorCode::ConnectionRefused"));
        let e = ensure(&Client::new(&t, "http://ts", "k"), "bs_", "/s").unwrap_err();
        assert!(!e.is_timeout() && e.is_transient(), "{e}");
        assert!(!t.asked.borrow().iter().any(|r| r.method == "PUT"), "no alias before a snapshot that may not exist");
    }

    #[test]
    fn names_are_the_aliases_or_chosen_collections() {
        assert_eq!(Names::aliases("bs_").of(Kind::Entities), "bs_entities");
        assert_eq!(Names::each(|k| format!("x_{}", k.name())).of(Kind::Killmails), "x_killmails");
    }
}
