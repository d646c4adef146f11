//! The ingestion HTTP API (`/api/ingestion/...`, docs/ingestion.md): health, statistics and
//! the ruleset. HTTP only, so it runs on Spin as well as on the BattleScope host. Backfill
//! intake (`POST /api/ingestion/killmails`) runs plugins, so the ingestion worker serves it.

// Only a component: native builds (the workspace's unit tests) compile it empty.
#![cfg(target_arch = "wasm32")]

use guest::http::{authorise, cacheable, database_health, json_response, path_segments, respond, HttpError, Reply};
use ingestion::ruleset::Ruleset;
use ingestion::wasm::config;
use ingestion::wasm::store::Store;
use serde_json::json;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let segments = path_segments(&req);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    respond(match (req.method(), segments.as_slice()) {
        (Method::Get, ["health"]) => return health_response(),
        // Revalidated every time: the ETag spares the body while nothing changed.
        (Method::Get, ["stats"]) => stats().map(|r| cacheable(&req, r, "no-cache")),
        (Method::Get, ["ruleset"]) => get_ruleset().map(|r| cacheable(&req, r, "no-cache")),
        (Method::Put, ["ruleset"]) => writer(&req).and_then(|store| put_ruleset(&store, req.body())),
        (_, [endpoint @ ("health" | "stats")]) => {
            Err(HttpError::MethodNotAllowed(format!("use GET for /api/ingestion/{endpoint}")))
        }
        (_, ["ruleset"]) => Err(HttpError::MethodNotAllowed("use GET or PUT for /api/ingestion/ruleset".into())),
        // Where the worker is deployed its exact route takes these requests (spin.toml).
        (_, ["killmails"]) => Err(HttpError::NotFound(
            "backfill intake runs plugins and is served by the ingestion worker on the BattleScope host, not deployed here"
                .into(),
        )),
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
    let state = store().map_err(|e| e.to_string()).and_then(|s| s.health()).map(|db| db.to_json());
    database_health("ingestion", state)
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
