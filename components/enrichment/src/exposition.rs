//! Enrichment's statistics (`GET /api/enrichment/stats`) as Prometheus text
//! (`GET /api/enrichment/metrics`): the ESI breaker, what is stored, every counter, and how
//! often the name cache answered.

use serde_json::Value;
use std::fmt::Write;

/// Name lookups by where they were answered: Redis, the `esi_cache` table, or neither (ESI).
const NAME_LOOKUPS: [(&str, &str); 3] =
    [("redis", "name_hits_redis"), ("database", "name_hits_database"), ("miss", "name_misses")];

/// Prometheus text for `stats`, as `report` in the API builds it.
pub fn prometheus_text(stats: &Value) -> String {
    let mut out = String::new();
    let state = stats["esi"]["breakerState"].as_str().unwrap_or("closed");
    out.push_str("# HELP enrichment_esi_breaker_state ESI circuit breaker: 1 for the current state.\n");
    out.push_str("# TYPE enrichment_esi_breaker_state gauge\n");
    for name in ["closed", "open", "half-open"] {
        let _ = writeln!(out, "enrichment_esi_breaker_state{{state=\"{name}\"}} {}", u8::from(name == state));
    }
    for (key, metric) in [
        ("killmails", "enrichment_killmails"),
        ("namesIncomplete", "enrichment_names_incomplete"),
        ("cachedNames", "enrichment_cached_names"),
        ("unresolvedIds", "enrichment_unresolved_ids"),
    ] {
        let _ = writeln!(out, "# TYPE {metric} gauge\n{metric} {}", stats[key].as_i64().unwrap_or(0));
    }
    let counters = &stats["counters"];
    out.push_str("# TYPE enrichment_events_total counter\n");
    for (counter, value) in counters.as_object().into_iter().flatten() {
        let _ = writeln!(out, "enrichment_events_total{{counter=\"{counter}\"}} {}", value.as_i64().unwrap_or(0));
    }
    let lookups: Vec<(&str, i64)> =
        NAME_LOOKUPS.iter().map(|(outcome, counter)| (*outcome, counters[*counter].as_i64().unwrap_or(0))).collect();
    out.push_str("# HELP cache_lookups_total Lookups of a cache, by where they were answered.\n");
    out.push_str("# TYPE cache_lookups_total counter\n");
    for (outcome, n) in &lookups {
        let _ = writeln!(out, "cache_lookups_total{{cache=\"enrichment_names\",outcome=\"{outcome}\"}} {n}");
    }
    // Over the service's life; `rate(cache_lookups_total)` gives it over a window.
    let total: i64 = lookups.iter().map(|(_, n)| n).sum();
    let misses = lookups.iter().find(|(o, _)| *o == "miss").map_or(0, |(_, n)| *n);
    if total > 0 {
        out.push_str("# HELP cache_hit_ratio Share of lookups a cache answered, since it started counting.\n");
        out.push_str("# TYPE cache_hit_ratio gauge\n");
        let _ = writeln!(out, "cache_hit_ratio{{cache=\"enrichment_names\"}} {}", (total - misses) as f64 / total as f64);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_name_cache_ratio_counts_redis_and_database_answers_as_hits() {
        let stats = json!({"esi": {"breakerState": "open"}, "killmails": 3,
            "counters": {"name_hits_redis": 6, "name_hits_database": 2, "name_misses": 2, "enriched": 3}});
        let text = prometheus_text(&stats);
        assert!(text.contains("cache_hit_ratio{cache=\"enrichment_names\"} 0.8\n"), "{text}");
        assert!(text.contains("cache_lookups_total{cache=\"enrichment_names\",outcome=\"database\"} 2\n"), "{text}");
        assert!(text.contains("enrichment_esi_breaker_state{state=\"open\"} 1\n"), "{text}");
        assert!(text.contains("enrichment_events_total{counter=\"enriched\"} 3\n"), "{text}");
        assert!(text.contains("enrichment_killmails 3\n"), "{text}");
    }

    #[test]
    fn no_ratio_before_the_first_lookup() {
        let text = prometheus_text(&json!({"counters": {}}));
        assert!(!text.contains("cache_hit_ratio{"), "{text}");
        assert!(text.contains("cache_lookups_total{cache=\"enrichment_names\",outcome=\"miss\"} 0\n"), "{text}");
    }
}
