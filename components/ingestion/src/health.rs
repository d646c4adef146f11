//! The ingestion health report: what the service knows about its own database.

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

/// The report `GET /api/ingestion/health` returns.
#[derive(Debug, Clone, PartialEq)]
pub enum HealthReport {
    Healthy(DatabaseState),
    DatabaseUnreachable(String),
}

impl HealthReport {
    pub fn healthy(db: DatabaseState) -> Self {
        Self::Healthy(db)
    }

    pub fn database_unreachable(error: String) -> Self {
        Self::DatabaseUnreachable(error)
    }

    /// 200 when the database answered, 503 otherwise, so load balancers can act on it.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Healthy(_) => 200,
            Self::DatabaseUnreachable(_) => 503,
        }
    }

    pub fn to_json(&self) -> Value {
        match self {
            Self::Healthy(db) => json!({
                "status": "ok",
                "service": "ingestion",
                "database": {
                    "reachable": true,
                    "schemaVersion": db.schema_version,
                    "killmails": db.killmails,
                    "serverTime": db.server_time,
                }
            }),
            Self::DatabaseUnreachable(error) => json!({
                "status": "unavailable",
                "service": "ingestion",
                "database": { "reachable": false, "error": error }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_report_carries_the_database_state() {
        let r =
            HealthReport::healthy(DatabaseState { killmails: 3, schema_version: 1, server_time: "2026-11-28T16:00:00Z".into() });
        assert_eq!(r.http_status(), 200);
        let j = r.to_json();
        assert_eq!(j["status"], "ok");
        assert_eq!(j["database"]["killmails"], 3);
        assert_eq!(j["database"]["schemaVersion"], 1);
    }

    #[test]
    fn unreachable_database_is_a_503_with_the_reason() {
        let r = HealthReport::database_unreachable("connecting: refused".into());
        assert_eq!(r.http_status(), 503);
        assert_eq!(r.to_json()["database"]["error"], "connecting: refused");
    }
}
