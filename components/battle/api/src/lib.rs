//! The battle HTTP API (`openapi/battles.json`): the battle list with filters and cursor
//! paging, one battle, its killmails, and operators' edits behind the API token. HTTP only, so
//! it runs on Spin as well as on the BattleScope host; the battle worker keeps the battles up to
//! date.

// Only a component: native builds (the workspace's unit tests) compile it empty.
#![cfg(target_arch = "wasm32")]

use battle::api;
use battle::config::Config;
use battle::engine::manual::{self, unavailable};
use battle::wasm::store::Store;
use battle::wasm::{config, context};
use guest::http::{authorise, cacheable, database_health, json_response, path_segments, respond, HttpError, Reply};
use serde_json::json;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

/// Lists and open battles change with every kill: caches may keep them a few seconds.
const CHANGING: &str = "public, max-age=5";
/// An ended battle changes only by an operator's edit (its ETag then changes).
const ENDED: &str = "public, max-age=3600";

#[http_component]
fn handle(req: Request) -> Response {
    let segments = path_segments(&req);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method().clone();
    respond(match (&method, segments.as_slice()) {
        (Method::Get, []) => list(req.query()).map(|r| cacheable(&req, r, CHANGING)),
        (Method::Post, []) => writer(&req).and_then(|mut s| create(&mut s, req.body())),
        (Method::Get, ["health"]) => Ok(health()),
        (Method::Get, ["metrics"]) => metrics(),
        (Method::Get, [id]) => with_id(id).and_then(|id| battle(&req, id)),
        (Method::Patch, [id]) => writer(&req).and_then(|mut s| update(&mut s, with_id(id)?, req.body())),
        (Method::Delete, [id]) => writer(&req).and_then(|mut s| delete(&mut s, with_id(id)?)),
        (Method::Get, [id, "killmails"]) => with_id(id).and_then(killmails).map(|r| cacheable(&req, r, CHANGING)),
        (Method::Post, [id, "merge"]) => writer(&req).and_then(|mut s| merge(&mut s, with_id(id)?, req.body())),
        (Method::Post, [id, "split"]) => writer(&req).and_then(|mut s| split(&mut s, with_id(id)?, req.body())),
        (_, [] | [_] | [_, "killmails" | "merge" | "split"]) => {
            Err(HttpError::MethodNotAllowed(format!("{method:?} is not allowed on /api/battles/{}", segments.join("/"))))
        }
        _ => Err(HttpError::NotFound(format!("no such resource /api/battles/{}", segments.join("/")))),
    })
}

fn settings() -> Result<Config, HttpError> {
    config().map_err(|e| HttpError::unavailable("the battle service's configuration", e))
}

fn store() -> Result<Store, HttpError> {
    Store::open(&settings()?).map_err(unavailable)
}

/// The store, for a request that carries the API token (operators' edits).
fn writer(req: &Request) -> Result<Store, HttpError> {
    let config = settings()?;
    authorise(req, &config.api_token)?;
    Store::open(&config).map_err(unavailable)
}

fn health() -> Response {
    let state = store().map_err(|e| e.to_string()).and_then(|s| s.health().map_err(|e| e.to_string()));
    database_health("battle", state)
}

/// The health report's figures as Prometheus gauges (battles open, changes waiting, the newest
/// kill), for the scrape and its alerts.
fn metrics() -> Reply {
    let database = store()?.health().map_err(unavailable)?;
    let text = battle::exposition::prometheus_text(&database);
    Ok(Response::builder()
        .status(200)
        .header("content-type", "text/plain; version=0.0.4")
        .header("cache-control", "no-store")
        .body(text)
        .build())
}

fn new_battle_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn with_id(id: &str) -> Result<&str, HttpError> {
    if api::is_battle_id(id) {
        Ok(id)
    } else {
        Err(HttpError::bad("id", format!("battle id {id:?} is not a UUID")))
    }
}

fn list(query: &str) -> Reply {
    let q = api::list_query(query)?;
    let battles = store()?.list(&q).map_err(unavailable)?;
    let next = (battles.len() as i64 == q.limit)
        .then(|| battles.last())
        .flatten()
        .map(|b| api::cursor_after(b.start_time.timestamp(), &b.battle_id.to_string()));
    Ok(json_response(200, &json!({ "battles": battles, "nextCursor": next })))
}

fn battle(req: &Request, id: &str) -> Reply {
    let view = match api::battle_query(req.query())? {
        None => store()?.battle(id),
        Some(moves) => store()?.battle_with_moves(id, moves),
    };
    match view.map_err(unavailable)? {
        Some(b) => {
            let ended = serde_json::to_value(b.summary.status).ok() == Some(json!("ended"));
            Ok(cacheable(req, json_response(200, &b), if ended { ENDED } else { CHANGING }))
        }
        None => Err(HttpError::NotFound(format!("no battle {id}"))),
    }
}

fn killmails(id: &str) -> Reply {
    match store()?.battle_killmails(id).map_err(unavailable)? {
        Some(k) => Ok(json_response(200, &json!({ "battleId": id, "killmails": k }))),
        None => Err(HttpError::NotFound(format!("no battle {id}"))),
    }
}

/// The battle as it now is, with `status`.
fn show(store: &Store, status: u16, id: &str) -> Reply {
    let b = store.battle(id).map_err(unavailable)?.ok_or_else(|| HttpError::NotFound(format!("battle {id} is gone")))?;
    Ok(json_response(status, &b))
}

fn create(store: &mut Store, body: &[u8]) -> Reply {
    let cx = context(&store.config);
    let id = manual::create(store, &cx, new_battle_id(), api::create_body(body)?)?;
    show(store, 201, &id)
}

fn update(store: &mut Store, id: &str, body: &[u8]) -> Reply {
    let cx = context(&store.config);
    manual::update(store, &cx, id, api::update_body(body)?)?;
    show(store, 200, id)
}

fn delete(store: &mut Store, id: &str) -> Reply {
    let cx = context(&store.config);
    manual::delete(store, &cx, id)?;
    Ok(Response::builder().status(204).build())
}

fn merge(store: &mut Store, id: &str, body: &[u8]) -> Reply {
    let cx = context(&store.config);
    manual::merge(store, &cx, id, api::merge_body(body, id)?)?;
    show(store, 200, id)
}

fn split(store: &mut Store, id: &str, body: &[u8]) -> Reply {
    let cx = context(&store.config);
    let new_id = manual::split(store, &cx, id, new_battle_id(), api::split_body(body)?)?;
    let kept = store.battle(id).map_err(unavailable)?;
    let split_off = store.battle(&new_id).map_err(unavailable)?;
    Ok(json_response(201, &json!({ "battle": kept, "newBattle": split_off })))
}
