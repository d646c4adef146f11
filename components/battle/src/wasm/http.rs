//! The battle HTTP API (`openapi/battles.json`): the battle list with filters and cursor
//! paging, one battle, its killmails, and operators' edits behind the API token.

use super::manual::{self, unavailable};
use super::store::Store;
use crate::api;
use guest::http::{authorise, json_response, path_segments, respond, HttpError, Reply};
use serde_json::json;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let segments = path_segments(&req);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = req.method().clone();
    respond(match (&method, segments.as_slice()) {
        (Method::Get, []) => list(req.query()),
        (Method::Post, []) => writer(&req).and_then(|s| create(&s, req.body())),
        (Method::Get, [id]) => with_id(id).and_then(battle),
        (Method::Patch, [id]) => writer(&req).and_then(|s| update(&s, with_id(id)?, req.body())),
        (Method::Delete, [id]) => writer(&req).and_then(|s| delete(&s, with_id(id)?)),
        (Method::Get, [id, "killmails"]) => with_id(id).and_then(killmails),
        (Method::Post, [id, "merge"]) => writer(&req).and_then(|s| merge(&s, with_id(id)?, req.body())),
        (Method::Post, [id, "split"]) => writer(&req).and_then(|s| split(&s, with_id(id)?, req.body())),
        (_, [] | [_] | [_, "killmails" | "merge" | "split"]) => {
            Err(HttpError::MethodNotAllowed(format!("{method:?} is not allowed on /api/battles/{}", segments.join("/"))))
        }
        _ => Err(HttpError::NotFound(format!("no such resource /api/battles/{}", segments.join("/")))),
    })
}

fn config() -> Result<crate::config::Config, HttpError> {
    super::config().map_err(|e| HttpError::unavailable("the battle service's configuration", e))
}

fn store() -> Result<Store, HttpError> {
    Store::open(&config()?).map_err(unavailable)
}

/// The store, for a request that carries the API token (operators' edits).
fn writer(req: &Request) -> Result<Store, HttpError> {
    let config = config()?;
    authorise(req, &config.api_token)?;
    Store::open(&config).map_err(unavailable)
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
        .and_then(|b| Some(api::cursor_after(crate::enriched::parse_time(b["startTime"].as_str()?)?, b["battleId"].as_str()?)));
    Ok(json_response(200, &json!({ "battles": battles, "nextCursor": next })))
}

fn battle(id: &str) -> Reply {
    match store()?.battle(id).map_err(unavailable)? {
        Some(b) => Ok(json_response(200, &b)),
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

fn create(store: &Store, body: &[u8]) -> Reply {
    let id = manual::create(store, api::create_body(body)?)?;
    show(store, 201, &id)
}

fn update(store: &Store, id: &str, body: &[u8]) -> Reply {
    manual::update(store, id, api::update_body(body)?)?;
    show(store, 200, id)
}

fn delete(store: &Store, id: &str) -> Reply {
    manual::delete(store, id)?;
    Ok(Response::builder().status(204).build())
}

fn merge(store: &Store, id: &str, body: &[u8]) -> Reply {
    manual::merge(store, id, api::merge_body(body, id)?)?;
    show(store, 200, id)
}

fn split(store: &Store, id: &str, body: &[u8]) -> Reply {
    let new_id = manual::split(store, id, api::split_body(body)?)?;
    let kept = store.battle(id).map_err(unavailable)?;
    let split_off = store.battle(&new_id).map_err(unavailable)?;
    Ok(json_response(201, &json!({ "battle": kept, "newBattle": split_off })))
}
