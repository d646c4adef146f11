//! The search API (`/api/search`, `openapi/search.json`): battles, entities and killmails by
//! name, over Typesense. Queries are built by `search::query`; this is the glue. It imports
//! only what Spin provides (outbound HTTP, variables).

#![cfg(target_arch = "wasm32")]

use guest::http::{cacheable, json_response, path_segments, respond, HttpError, Reply};
use search::collections::Kind;
use search::config::Config;
use search::query::{self, BadParameter, Search};
use search::spin_http::SpinHttp;
use search::typesense::{Client, TypesenseError};
use serde_json::{json, Value};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let segments = path_segments(&req);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    respond(route(&req, &segments))
}

fn bad(e: BadParameter) -> HttpError {
    HttpError::bad(e.parameter, e.message)
}

/// Typesense's failure as the answer: the detail is logged, never the key.
fn unavailable(e: TypesenseError) -> HttpError {
    HttpError::unavailable("search", e)
}

fn route(req: &Request, segments: &[&str]) -> Reply {
    if *req.method() != Method::Get {
        return Err(HttpError::MethodNotAllowed(format!("{:?} is not allowed on the search API: it only reads", req.method())));
    }
    let config = Config::load(&guest::config::Variables::spin())
        .map_err(|e| HttpError::unavailable("the search service's configuration", e))?;
    let client = Client::new(SpinHttp, &config.typesense_url, &config.typesense_api_key);
    let prefix = config.collection_prefix.as_str();
    let q = req.query();
    let body = match segments {
        [] => {
            let searches = query::everything(q).map_err(bad)?;
            query::everything_answer(&multi(&client, prefix, &searches)?)
        }
        ["battles"] => {
            let (search, page) = query::battles(q).map_err(bad)?;
            query::battles_answer(&one(&client, prefix, &search)?, page)
        }
        ["entities"] => query::entities_answer(&one(&client, prefix, &query::entities(q).map_err(bad)?)?),
        ["killmails"] => {
            let (search, page) = query::killmails(q).map_err(bad)?;
            query::killmails_answer(&one(&client, prefix, &search)?, page)
        }
        ["health"] => return health(&client, prefix),
        _ => return Err(HttpError::NotFound(format!("no search endpoint /api/search/{}", segments.join("/")))),
    };
    // Results change with every event; a few seconds of caching still spares Typesense bursts.
    Ok(cacheable(req, json_response(200, &body), "public, max-age=5"))
}

/// One search; an index not built yet finds nothing.
fn one(client: &Client<SpinHttp>, prefix: &str, search: &Search) -> Result<Value, HttpError> {
    match client.search(&search.kind.alias(prefix), &search.params) {
        Err(e) if e.is_not_found() => Ok(json!({ "found": 0, "hits": [] })),
        other => other.map_err(unavailable),
    }
}

fn multi(client: &Client<SpinHttp>, prefix: &str, searches: &[Search]) -> Result<Vec<Value>, HttpError> {
    let body: Vec<Value> = searches.iter().map(|s| s.to_multi(prefix)).collect();
    match client.multi_search(&body) {
        Err(e) if e.is_not_found() => Ok(Vec::new()),
        other => other.map_err(unavailable),
    }
}

fn health(client: &Client<SpinHttp>, prefix: &str) -> Reply {
    let reachable = client.healthy().unwrap_or(false);
    let counts = if reachable { client.collections().unwrap_or_default() } else { Vec::new() };
    let mut documents = json!({});
    for kind in Kind::ALL {
        let alias = kind.alias(prefix);
        let target = if reachable { client.alias_target(&alias).ok().flatten() } else { None };
        documents[kind.name()] = json!(target.and_then(|t| counts.iter().find(|(name, _)| *name == t).map(|(_, n)| *n)));
    }
    Ok(json_response(
        if reachable { 200 } else { 503 },
        &json!({ "typesense": { "reachable": reachable }, "documents": documents }),
    ))
}
