//! The totals of `GET /api/ingestion/stats`, derived from what the database counted.

use serde_json::{json, Value};

/// Counters whose names start with this were killmails that never became a decision.
pub const MALFORMED_PREFIX: &str = "malformed:";

/// Add `received`, `accepted`, `rejected` (total and per rule), `duplicates` and `malformed`
/// to the raw statistics, so that received = accepted + rejected + duplicates + malformed.
pub fn summarise(stats: &mut Value) {
    let decisions = stats["decisions"].as_object().cloned().unwrap_or_default();
    let counters = stats["counters"].as_object().cloned().unwrap_or_default();
    let n = |v: &Value| v.as_u64().unwrap_or(0);
    let accepted = decisions.get("accepted").map(n).unwrap_or(0);
    let by_rule: serde_json::Map<String, Value> =
        decisions.iter().filter(|(k, _)| *k != "accepted").map(|(k, v)| (k.clone(), json!(n(v)))).collect();
    let rejected: u64 = by_rule.values().map(n).sum();
    let duplicates = counters.get("duplicates").map(n).unwrap_or(0);
    let malformed: u64 = counters.iter().filter(|(k, _)| k.starts_with(MALFORMED_PREFIX)).map(|(_, v)| n(v)).sum();
    stats["received"] = json!(accepted + rejected + duplicates + malformed);
    stats["accepted"] = json!(accepted);
    stats["rejected"] = json!({ "total": rejected, "byRule": by_rule });
    stats["duplicates"] = json!(duplicates);
    stats["malformed"] = json!(malformed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up() {
        let mut s = json!({
            "decisions": {"accepted": 10, "min_pilots": 3, "plugin:capitals": 2},
            "counters": {"duplicates": 4, "malformed:r2z2": 1, "feed_errors:r2z2:429": 7},
        });
        summarise(&mut s);
        assert_eq!(s["received"], 20);
        assert_eq!(s["rejected"]["total"], 5);
        assert_eq!(s["rejected"]["byRule"]["plugin:capitals"], 2);
        assert_eq!(s["malformed"], 1, "feed errors are not killmails");
    }
}
