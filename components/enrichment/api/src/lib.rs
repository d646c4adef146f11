//! The enrichment HTTP API (`/api/enrichment/...`): stored killmails, statistics and metrics,
//! and the ESI gateway through which every other service fetches killmail bodies, so that
//! BattleScope spends one ESI error budget behind one breaker. HTTP only, so it runs on Spin
//! as well as on the BattleScope host.

// Only a component: native builds (the workspace's unit tests) compile it empty.
#![cfg(target_arch = "wasm32")]

use enrichment::wasm::config;
use enrichment::wasm::counters::Counters;
use enrichment::wasm::esi::{Esi, EsiError};
use enrichment::wasm::store::Store;
use guest::http::{cacheable, json_response, path_segments, respond, HttpError, Reply};
use serde_json::{json, Value};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let segments = path_segments(&req);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    if *req.method() != Method::Get {
        return respond(Err(HttpError::MethodNotAllowed(format!("use GET for /api/enrichment/{}", segments.join("/")))));
    }
    respond(match segments.as_slice() {
        ["health"] => Ok(health()),
        // Counters move all the time: revalidate every time (the ETag still spares the body).
        ["stats"] => stats().map(|r| cacheable(&req, r, "no-cache")),
        ["metrics"] => metrics().map(|r| cacheable(&req, r, "no-cache")),
        // A stored killmail changes only when it gains names.
        ["killmails", id] => killmail(id).map(|r| cacheable(&req, r, "public, max-age=60")),
        ["esi", "killmails", id, hash] => esi_killmail(&req, id, hash),
        _ => Err(HttpError::NotFound(format!("no enrichment endpoint /{}", segments.join("/")))),
    })
}

fn unavailable(e: String) -> HttpError {
    HttpError::unavailable("the enrichment database", e)
}

fn settings() -> Result<enrichment::config::Config, HttpError> {
    config().map_err(|e| HttpError::unavailable("enrichment's configuration", e))
}

fn killmail_id(id: &str) -> Result<u64, HttpError> {
    id.parse().map_err(|_| HttpError::bad("id", format!("killmail id {id:?} is not a positive whole number")))
}

/// The database and Redis (name cache, ESI budget and breaker), each as it answers now.
fn health() -> Response {
    let (database, redis) = match settings() {
        Ok(config) => {
            let database = Store::open(&config).and_then(|s| s.health());
            let mut scratch = Counters::default();
            let redis = Esi::open(&config, &mut scratch).redis_health();
            (database, redis)
        }
        Err(e) => (Err(e.to_string()), Err(e.to_string())),
    };
    guest::http::health("enrichment", vec![("database", database), ("redis", redis)])
}

fn killmail(id: &str) -> Reply {
    let id = killmail_id(id)?;
    match Store::open(&settings()?).and_then(|s| s.killmail(id)).map_err(unavailable)? {
        Some(doc) => Ok(json_response(200, &doc)),
        None => Err(HttpError::NotFound(format!("killmail {id} has not been enriched"))),
    }
}

/// A killmail body from ESI, through the shared error budget, breaker and HTTP cache: 200
/// with the body; 422 when ESI refused it (a wrong hash: asking again will not help); 503
/// when ESI cannot be asked now. Only for holders of the API token: each wrong hash costs
/// the error budget every ESI call of BattleScope shares.
fn esi_killmail(req: &Request, id: &str, hash: &str) -> Reply {
    let id = killmail_id(id)?;
    if hash.len() != 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(HttpError::bad("hash", format!("killmail hash {hash:?} is not 40 hex digits")));
    }
    let token = guest::config::Variables::spin()
        .text("api_token")
        .map_err(|e| HttpError::unavailable("enrichment's configuration", e))?;
    guest::http::authorise(req, &token)?;
    let config = settings()?;
    let store = Store::open(&config).map_err(unavailable)?;
    let mut counters = Counters::default();
    let mut esi = Esi::open(&config, &mut counters);
    let outcome = esi.killmail(&store, id, hash);
    if outcome.is_ok() {
        esi.counters.add("bodies_from_esi", 1);
    }
    drop(esi); // counts a Redis outage it met
    if let Err(e) = store.count(&counters) {
        eprintln!("enrichment: {e}");
    }
    match outcome {
        Ok(body) => Ok(json_response(200, &body)),
        Err(EsiError::Refused(status, detail)) => {
            Ok(json_response(422, &json!({ "error": format!("ESI refused killmail {id}: {detail}"), "upstreamStatus": status })))
        }
        Err(e @ EsiError::Unavailable(_)) => Err(HttpError::unavailable("ESI", e)),
    }
}

/// Database statistics plus ESI's state as this service last saw it.
fn report() -> Result<Value, HttpError> {
    let config = settings()?;
    let mut stats = Store::open(&config).and_then(|s| s.stats()).map_err(unavailable)?;
    let mut scratch = Counters::default();
    let esi = Esi::open(&config, &mut scratch);
    let breaker = esi.breaker();
    stats["esi"] = json!({ "breaker": breaker, "breakerState": breaker.name(), "errorLimit": esi.error_limit() });
    Ok(stats)
}

fn stats() -> Reply {
    Ok(json_response(200, &report()?))
}

/// The same in Prometheus' text format.
fn metrics() -> Reply {
    let out = enrichment::exposition::prometheus_text(&report()?);
    Ok(Response::builder().status(200).header("content-type", "text/plain; version=0.0.4").body(out).build())
}
