//! How long the BFF keeps an answer in Redis. Pages are read far more often than battles
//! change, and the web UI gets live changes over the WebSocket anyway; an answer missing a part
//! is not kept, so a service that comes back shows at once.

use crate::plan::Endpoint;
use serde_json::Value;

/// Seconds `answer` to `endpoint` may be served from the cache; `None`: not cached.
pub fn ttl(endpoint: &Endpoint, status: u16, answer: &Value) -> Option<u64> {
    let complete = answer["missing"].as_array().is_some_and(|m| m.is_empty());
    if status != 200 || !complete {
        return None;
    }
    Some(match endpoint {
        Endpoint::Battles { .. } | Endpoint::Dashboard => 60,
        // An open battle changes with every kill; an ended one rarely (a late kill reopens it,
        // an operator's edit or reclustering can merge it away), so not for long either.
        Endpoint::Battle { .. } if answer["battle"]["status"] == "ended" => 60,
        Endpoint::Battle { .. } => 10,
    })
}

/// Whether the caller wants an answer fresher than the cache's (`Cache-Control: no-cache` or
/// `max-age=0`, as a browser sends on reload and the web UI after a change it was told of):
/// then the BFF asks the services and keeps the new answer for everyone else.
pub fn fresh_wanted(cache_control: Option<&str>) -> bool {
    cache_control
        .is_some_and(|value| value.split(',').map(|d| d.trim().to_ascii_lowercase()).any(|d| d == "no-cache" || d == "max-age=0"))
}

/// The cache key of a request: the deployment's prefix, then the path and query as asked.
pub fn key(prefix: &str, path: &str, query: &str) -> String {
    if query.is_empty() {
        format!("{prefix}{path}")
    } else {
        format!("{prefix}{path}?{query}")
    }
}

/// Where the cache's lookups are counted, by `outcome` (`hit`, `miss`): not a path, so never
/// the key of a kept answer.
pub fn lookups_key(prefix: &str, outcome: &str) -> String {
    format!("{prefix}lookups:{outcome}")
}

/// The cache's counts as Prometheus text (`GET /api/bff/metrics`). Refreshes (a reload that
/// skips the cache) are neither hits nor misses.
pub fn prometheus_text(hits: i64, misses: i64) -> String {
    let mut out = String::from("# HELP cache_lookups_total Lookups of a cache, by whether it held the answer.\n");
    out.push_str("# TYPE cache_lookups_total counter\n");
    out.push_str(&format!("cache_lookups_total{{cache=\"bff\",outcome=\"hit\"}} {hits}\n"));
    out.push_str(&format!("cache_lookups_total{{cache=\"bff\",outcome=\"miss\"}} {misses}\n"));
    if hits + misses > 0 {
        out.push_str("# HELP cache_hit_ratio Share of lookups a cache answered, since it started counting.\n");
        out.push_str("# TYPE cache_hit_ratio gauge\n");
        out.push_str(&format!("cache_hit_ratio{{cache=\"bff\"}} {}\n", hits as f64 / (hits + misses) as f64));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn complete_answers_are_kept_by_how_fast_they_change() {
        let battle = Endpoint::Battle { id: "x".into(), moves: None };
        assert_eq!(ttl(&battle, 200, &json!({"battle": {"status": "ended"}, "missing": []})), Some(60));
        assert_eq!(ttl(&battle, 200, &json!({"battle": {"status": "open"}, "missing": []})), Some(10));
        assert_eq!(ttl(&Endpoint::Dashboard, 200, &json!({"missing": []})), Some(60));
        assert_eq!(ttl(&Endpoint::Dashboard, 200, &json!({"missing": ["search"]})), None, "a partial answer");
        assert_eq!(ttl(&battle, 404, &json!({"error": "no such battle"})), None);
        assert_eq!(key("bs:bff:", "/api/bff/battles", "limit=5"), "bs:bff:/api/bff/battles?limit=5");
    }

    #[test]
    fn the_hit_ratio_is_hits_over_lookups_and_absent_before_any() {
        let text = prometheus_text(3, 1);
        assert!(text.contains("cache_hit_ratio{cache=\"bff\"} 0.75\n"), "{text}");
        assert!(text.contains("cache_lookups_total{cache=\"bff\",outcome=\"miss\"} 1\n"), "{text}");
        assert!(!prometheus_text(0, 0).contains("cache_hit_ratio{"));
        assert!(!lookups_key("bs:bff:", "hit").contains('/'), "never a cached path's key");
    }

    #[test]
    fn reloads_skip_the_cache() {
        assert!(fresh_wanted(Some("no-cache")));
        assert!(fresh_wanted(Some("max-age=0")));
        assert!(fresh_wanted(Some("public, No-Cache")));
        assert!(!fresh_wanted(Some("max-age=60")));
        assert!(!fresh_wanted(None));
    }
}
