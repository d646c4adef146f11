//! The ingestion HTTP API (`/api/ingestion/...`, docs/ingestion.md).

use super::store::Store;
use crate::health;
use crate::intake::Tally;
use crate::killmail::Killmail;
use crate::ruleset::Ruleset;
use super::process;
use serde_json::{json, Value};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;


#[http_component]
fn handle(req: Request) -> Response {
    let path = req.header("spin-path-info").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let result = match (req.method(), path.as_str()) {
        (Method::Get, "/health") => return health_response(),
        (Method::Get, "/stats") => stats(),
        (Method::Get, "/ruleset") => get_ruleset(),
        (Method::Put, "/ruleset") => authorised(&req).and_then(|()| put_ruleset(req.body())),
        (Method::Post, "/killmails") => authorised(&req).and_then(|()| intake_batch(req.body())),
        (_, "/health" | "/stats") => Err(error(405, &format!("use GET for /api/ingestion{path}"))),
        (_, "/ruleset") => Err(error(405, "use GET or PUT for /api/ingestion/ruleset")),
        (_, "/killmails") => Err(error(405, "use POST for /api/ingestion/killmails")),
        _ => Err(error(404, &format!("no ingestion endpoint {path}"))),
    };
    result.unwrap_or_else(|response| response)
}

fn json(status: u16, body: &Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(body.to_string())
        .build()
}

fn error(status: u16, message: &str) -> Response {
    json(status, &json!({ "error": message }))
}

fn unavailable(e: String) -> Response {
    eprintln!("ingestion: {e}");
    error(503, &e)
}

/// Write endpoints need `Authorization: Bearer <api_token>`.
fn authorised(req: &Request) -> Result<(), Response> {
    let expected = spin_sdk::variables::get("api_token").unwrap_or_default();
    if expected.is_empty() {
        return Err(error(503, "no api_token is configured, so write endpoints are closed"));
    }
    let given = req.header("authorization").and_then(|v| v.as_str()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
    // Compare every byte so the time taken says nothing about how much of a guess was right.
    let same = given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
    if same {
        Ok(())
    } else {
        Err(error(401, "missing or wrong API token (Authorization: Bearer <token>)"))
    }
}

fn health_response() -> Response {
    let report = match Store::open().and_then(|s| s.health()) {
        Ok(db) => health::HealthReport::healthy(db),
        Err(e) => health::HealthReport::database_unreachable(e),
    };
    json(report.http_status(), &report.to_json())
}

fn stats() -> Result<Response, Response> {
    let stats = Store::open().and_then(|s| s.stats()).map_err(unavailable)?;
    Ok(json(200, &stats))
}

fn get_ruleset() -> Result<Response, Response> {
    let (id, ruleset) = Store::open().and_then(|s| s.ruleset()).map_err(unavailable)?;
    Ok(json(200, &json!({ "id": id, "ruleset": ruleset })))
}

fn put_ruleset(body: &[u8]) -> Result<Response, Response> {
    let ruleset = Ruleset::parse(body)
        .map_err(|e| json(400, &json!({ "error": e.to_string(), "field": e.field })))?;
    let id = Store::open().and_then(|s| s.replace_ruleset(&ruleset)).map_err(unavailable)?;
    Ok(json(200, &json!({ "id": id, "ruleset": ruleset })))
}

/// Backfill intake: one ESI killmail per line (the daily archive format), each through the
/// same rules and storage as the live feed. Malformed lines are reported, not fatal.
fn intake_batch(body: &[u8]) -> Result<Response, Response> {
    let text = std::str::from_utf8(body).map_err(|e| error(400, &format!("the body is not UTF-8: {e}")))?;
    let store = Store::open().map_err(unavailable)?;
    let mut tally = Tally::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match Killmail::from_archive_line(line) {
            Ok(km) => {
                let (decision, outcome) = process(&store, &km, None).map_err(unavailable)?;
                tally.add(&decision, outcome);
            }
            Err(e) => {
                store.count("malformed:backfill", 1).map_err(unavailable)?;
                tally.malformed(index + 1, e.to_string());
            }
        }
    }
    Ok(json(200, &serde_json::to_value(&tally).expect("a tally serialises")))
}
