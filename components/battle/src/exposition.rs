//! The battle database's state, as `GET /api/battles/health` reports it, in Prometheus text
//! (`GET /api/battles/metrics`): what an alert on a stuck lifecycle tick or a stalled stage
//! needs, without a token and without counting whole tables.

use serde_json::Value;
use std::fmt::Write;

/// Prometheus text for the `database` object of a health report.
pub fn prometheus_text(database: &Value) -> String {
    let mut out = String::new();
    for (key, metric, help) in [
        ("openBattles", "battles_open", "Battles not ended yet."),
        ("battles", "battles_stored", "Battles stored (the planner's estimate past 100,000)."),
        ("unannouncedChanges", "battle_changes_unannounced", "Battles whose newest change waits for its battle.updated."),
    ] {
        let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} gauge\n{metric} {}", database[key].as_i64().unwrap_or(0));
    }
    let newest = database["newestKill"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    if let Some(newest) = newest {
        let metric = "battle_newest_kill_timestamp_seconds";
        let _ = writeln!(out, "# HELP {metric} Game time of the newest kill stored: how far the battles have come.");
        let _ = writeln!(out, "# TYPE {metric} gauge\n{metric} {}", newest.timestamp());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_health_report_becomes_gauges() {
        let text = prometheus_text(&json!({"openBattles": 4, "battles": 120, "unannouncedChanges": 2,
            "newestKill": "2021-11-28T23:59:52Z"}));
        assert!(text.contains("\nbattles_open 4\n"), "{text}");
        assert!(text.contains("\nbattles_stored 120\n"), "{text}");
        assert!(text.contains("\nbattle_changes_unannounced 2\n"), "{text}");
        assert!(text.contains("\nbattle_newest_kill_timestamp_seconds 1638143992\n"), "{text}");
    }

    #[test]
    fn no_newest_kill_before_the_first() {
        let text = prometheus_text(&json!({"openBattles": 0, "battles": 0, "unannouncedChanges": 0, "newestKill": null}));
        assert!(!text.contains("battle_newest_kill_timestamp_seconds"), "{text}");
    }
}
