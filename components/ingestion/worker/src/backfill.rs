//! Backfill intake over HTTP (`POST /api/ingestion/killmails`, docs/ingestion.md): one ESI
//! killmail per line (the daily archive format), each through the same rules, plugins and
//! storage as the live feed. Malformed lines are reported, not fatal. It lives in the worker
//! because plugins need the BattleScope host.

use super::process;
use guest::http::{authorise, json_response, path_segments, respond, HttpError, Reply};
use ingestion::intake::Tally;
use ingestion::killmail::Killmail;
use ingestion::wasm::config;
use ingestion::wasm::store::Store;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    // The route is exact: anything below it is not ours.
    if !path_segments(&req).is_empty() {
        return respond(Err(HttpError::NotFound("no ingestion endpoint below /api/ingestion/killmails".into())));
    }
    respond(match req.method() {
        Method::Post => writer(&req).and_then(|store| intake_batch(&store, req.body())),
        _ => Err(HttpError::MethodNotAllowed("use POST for /api/ingestion/killmails".into())),
    })
}

fn unavailable(e: String) -> HttpError {
    HttpError::unavailable("the ingestion database", e)
}

/// The store, for a request that carries the API token.
fn writer(req: &Request) -> Result<Store, HttpError> {
    let config = config().map_err(|e| HttpError::unavailable("ingestion's configuration", e))?;
    authorise(req, &config.api_token)?;
    Store::open(&config).map_err(unavailable)
}

/// A request's killmails are decided and stored together (one statement); its malformed
/// lines are reported by line number and counted.
fn intake_batch(store: &Store, body: &[u8]) -> Reply {
    let text = std::str::from_utf8(body).map_err(|e| HttpError::bad("body", format!("the body is not UTF-8: {e}")))?;
    let mut tally = Tally::default();
    let mut killmails = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match Killmail::from_archive_line(line) {
            Ok(km) => killmails.push(km),
            Err(e) => tally.malformed(index + 1, e.to_string()),
        }
    }
    if !tally.malformed.is_empty() {
        store.count("malformed:backfill", tally.malformed.len() as i64).map_err(unavailable)?;
    }
    for (decision, outcome) in process(store, &killmails, None).map_err(unavailable)? {
        tally.add(&decision, outcome);
    }
    Ok(json_response(200, &tally))
}
