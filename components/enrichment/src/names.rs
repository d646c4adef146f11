//! Names of characters, corporations, alliances and factions: which ids a killmail needs,
//! how they are batched for `POST /universe/names/`, and what ESI answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// ESI takes at most this many ids per `/universe/names/` call.
pub const MAX_IDS_PER_CALL: usize = 1000;

/// One resolved name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Name {
    pub name: String,
    pub category: String,
}

pub type Names = BTreeMap<u64, Name>;

/// Every id on an ESI killmail body that has a name: victim and attackers' character,
/// corporation, alliance and faction.
pub fn ids(esi: &Value) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    let participants = std::iter::once(&esi["victim"]).chain(esi["attackers"].as_array().into_iter().flatten());
    for p in participants {
        for key in ["character_id", "corporation_id", "alliance_id", "faction_id"] {
            if let Some(id) = p.get(key).and_then(Value::as_u64) {
                out.insert(id);
            }
        }
    }
    out
}

/// Split ids into calls of at most [`MAX_IDS_PER_CALL`].
pub fn batches(ids: &BTreeSet<u64>) -> Vec<Vec<u64>> {
    ids.iter().copied().collect::<Vec<_>>().chunks(MAX_IDS_PER_CALL).map(<[u64]>::to_vec).collect()
}

/// ESI's answer: `[{"id", "name", "category"}, …]`.
pub fn parse_response(body: &[u8]) -> Result<Names, String> {
    #[derive(Deserialize)]
    struct Entry {
        id: u64,
        name: String,
        category: String,
    }
    let entries: Vec<Entry> =
        serde_json::from_slice(body).map_err(|e| format!("/universe/names/ answered something else: {e}"))?;
    Ok(entries.into_iter().map(|e| (e.id, Name { name: e.name, category: e.category })).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn collects_every_named_id_once() {
        let esi = json!({
            "victim": {"character_id": 1, "corporation_id": 10, "alliance_id": 100},
            "attackers": [{"character_id": 2, "corporation_id": 10}, {"corporation_id": 1000125, "faction_id": 500001}]
        });
        assert_eq!(ids(&esi).into_iter().collect::<Vec<_>>(), vec![1, 2, 10, 100, 500001, 1000125]);
    }

    #[test]
    fn batches_never_exceed_the_limit() {
        let ids: BTreeSet<u64> = (1..=2501).collect();
        let b = batches(&ids);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), vec![1000, 1000, 501]);
        assert!(batches(&BTreeSet::new()).is_empty());
    }

    #[test]
    fn parses_esi_answers() {
        let n = parse_response(br#"[{"id":99005338,"name":"Pandemic Horde","category":"alliance"}]"#).unwrap();
        assert_eq!(n[&99005338].name, "Pandemic Horde");
        assert!(parse_response(b"{\"error\":\"x\"}").is_err());
    }
}
