//! The ingestion health report: what the service knows about its own database
//! (`guest::http::database_health` answers with it).

use serde_json::{json, Value};

/// What the health query read from the ingestion database.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseState {
    /// Rows in `killmail_events`; estimated past 100,000.
    pub killmails: i64,
    /// Highest applied migration.
    pub schema_version: i32,
    /// The database server's clock, RFC 3339 UTC.
    pub server_time: String,
}

impl DatabaseState {
    /// The `database` part of `GET /api/ingestion/health` (`openapi/ingestion.json`, HealthOk).
    pub fn to_json(&self) -> Value {
        json!({ "schemaVersion": self.schema_version, "killmails": self.killmails, "serverTime": self.server_time })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_what_the_database_holds() {
        let j = DatabaseState { killmails: 3, schema_version: 1, server_time: "2026-11-28T16:00:00Z".into() }.to_json();
        assert_eq!((j["killmails"].as_i64(), j["schemaVersion"].as_i64()), (Some(3), Some(1)));
        assert_eq!(j["serverTime"], "2026-11-28T16:00:00Z");
    }
}
