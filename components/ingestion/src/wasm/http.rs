//! The ingestion HTTP API (`/api/ingestion/...`, docs/ingestion.md).

use super::store::Store;
use super::{config, process};
use crate::health;
use crate::intake::Tally;
use crate::killmail::Killmail;
use crate::ruleset::Ruleset;
use guest::http::{authorise, json_response, path_segments, respond, HttpError, Reply};
use serde_json::json;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let segments = path_segments(&req);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    respond(match (req.method(), segments.as_slice()) {
        (Method::Get, ["health"]) => return health_response(),
        (Method::Get, ["stats"]) => stats(),
        (Method::Get, ["ruleset"]) => get_ruleset(),
        (Method::Put, ["ruleset"]) => writer(&req).and_then(|store| put_ruleset(&store, req.body())),
        (Method::Post, ["killmails"]) => writer(&req).and_then(|store| intake_batch(&store, req.body())),
        (_, [endpoint @ ("health" | "stats")]) => {
            Err(HttpError::MethodNotAllowed(format!("use GET for /api/ingestion/{endpoint}")))
        }
        (_, ["ruleset"]) => Err(HttpError::MethodNotAllowed("use GET or PUT for /api/ingestion/ruleset".into())),
        (_, ["killmails"]) => Err(HttpError::MethodNotAllowed("use POST for /api/ingestion/killmails".into())),
        _ => Err(HttpError::NotFound(format!("no ingestion endpoint /{}", segments.join("/")))),
    })
}

fn unavailable(e: String) -> HttpError {
    HttpError::unavailable("the ingestion database", e)
}

fn store() -> Result<Store, HttpError> {
    let config = config().map_err(|e| HttpError::unavailable("ingestion's configuration", e))?;
    Store::open(&config).map_err(unavailable)
}

/// The store, for a request that carries the API token.
fn writer(req: &Request) -> Result<Store, HttpError> {
    let config = config().map_err(|e| HttpError::unavailable("ingestion's configuration", e))?;
    authorise(req, &config.api_token)?;
    Store::open(&config).map_err(unavailable)
}

fn health_response() -> Response {
    let report = match store().map_err(|e| e.to_string()).and_then(|s| s.health()) {
        Ok(db) => health::HealthReport::healthy(db),
        Err(e) => health::HealthReport::database_unreachable(e),
    };
    json_response(report.http_status(), &report.to_json())
}

fn stats() -> Reply {
    let stats = store()?.stats().map_err(unavailable)?;
    Ok(json_response(200, &stats))
}

fn get_ruleset() -> Reply {
    let (id, ruleset) = store()?.ruleset().map_err(unavailable)?;
    Ok(json_response(200, &json!({ "id": id, "ruleset": ruleset })))
}

fn put_ruleset(store: &Store, body: &[u8]) -> Reply {
    let ruleset = Ruleset::parse(body).map_err(|e| HttpError::bad(e.field.clone(), e.to_string()))?;
    let id = store.replace_ruleset(&ruleset).map_err(unavailable)?;
    Ok(json_response(200, &json!({ "id": id, "ruleset": ruleset })))
}

/// Backfill intake: one ESI killmail per line (the daily archive format), each through the
/// same rules and storage as the live feed. Malformed lines are reported, not fatal.
fn intake_batch(store: &Store, body: &[u8]) -> Reply {
    let text = std::str::from_utf8(body).map_err(|e| HttpError::bad("body", format!("the body is not UTF-8: {e}")))?;
    let mut tally = Tally::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match Killmail::from_archive_line(line) {
            Ok(km) => {
                let (decision, outcome) = process(store, &km, None).map_err(unavailable)?;
                tally.add(&decision, outcome);
            }
            Err(e) => {
                store.count("malformed:backfill", 1).map_err(unavailable)?;
                tally.malformed(index + 1, e.to_string());
            }
        }
    }
    Ok(json_response(200, &tally))
}
