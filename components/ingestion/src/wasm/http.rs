//! Wasm glue: the HTTP entry point and database access through the Spin capabilities.

use crate::health;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::pg3::{Connection, Decode};

#[http_component]
fn handle(req: Request) -> Response {
    let path = req.header("spin-path-info").and_then(|v| v.as_str()).unwrap_or("").to_string();
    match (req.method(), path.as_str()) {
        (Method::Get, "/health") => health_response(),
        (_, "/health") => json(405, &serde_json::json!({"error": "use GET for /api/ingestion/health"})),
        _ => json(404, &serde_json::json!({"error": format!("no ingestion endpoint {path}")})),
    }
}

fn json(status: u16, body: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

fn health_response() -> Response {
    let report = match read_database() {
        Ok(db) => health::HealthReport::healthy(db),
        Err(e) => health::HealthReport::database_unreachable(e),
    };
    json(report.http_status(), &report.to_json())
}

fn read_database() -> Result<health::DatabaseState, String> {
    let address = spin_sdk::variables::get("database_url").map_err(|e| format!("variable database_url: {e}"))?;
    let db = Connection::open(&address).map_err(|e| format!("connecting: {e}"))?;
    let rows = db
        .query(
            "SELECT (SELECT count(*) FROM killmail_events),
                    (SELECT coalesce(max(version), 0) FROM schema_migrations),
                    to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            &[],
        )
        .map_err(|e| format!("querying: {e}"))?;
    let row = rows.rows.first().ok_or("the health query returned no row")?;
    let decode_err = |e: spin_sdk::pg3::Error| format!("decoding: {e}");
    Ok(health::DatabaseState {
        killmails: i64::decode(&row[0]).map_err(decode_err)?,
        schema_version: i32::decode(&row[1]).map_err(decode_err)?,
        server_time: String::decode(&row[2]).map_err(decode_err)?,
    })
}

