//! The battle HTTP API (`openapi/battles.yaml`): the battle list with filters and cursor
//! paging, one battle, its killmails, and operators' edits behind the API token.

use super::manual::{self, Refusal};
use super::store::Store;
use crate::api::{self, ApiError};
use serde_json::{json, Value};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let path = req.header("spin-path-info").and_then(|v| v.as_str()).unwrap_or("").trim_matches('/').to_string();
    let segments: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('/').collect() };
    let method = req.method().clone();
    let result = match (&method, segments.as_slice()) {
        (Method::Get, []) => list(req.query()),
        (Method::Post, []) => authorised(&req).and_then(|()| create(req.body())),
        (Method::Get, [id]) => with_id(id).and_then(battle),
        (Method::Patch, [id]) => authorised(&req).and_then(|()| with_id(id)).and_then(|id| update(id, req.body())),
        (Method::Delete, [id]) => authorised(&req).and_then(|()| with_id(id)).and_then(delete),
        (Method::Get, [id, "killmails"]) => with_id(id).and_then(killmails),
        (Method::Post, [id, "merge"]) => authorised(&req).and_then(|()| with_id(id)).and_then(|id| merge(id, req.body())),
        (Method::Post, [id, "split"]) => authorised(&req).and_then(|()| with_id(id)).and_then(|id| split(id, req.body())),
        (_, [] | [_] | [_, "killmails" | "merge" | "split"]) => Err(error(405, format!("{method:?} is not allowed on /api/battles/{path}"))),
        _ => Err(error(404, format!("no such resource /api/battles/{path}"))),
    };
    result.unwrap_or_else(|response| response)
}

fn json_response(status: u16, body: &Value) -> Response {
    Response::builder().status(status).header("content-type", "application/json").body(body.to_string()).build()
}

fn error(status: u16, message: String) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn invalid(e: ApiError) -> Response {
    json_response(400, &json!({ "error": e.message, "parameter": e.parameter }))
}

fn unavailable(e: String) -> Response {
    eprintln!("battles: {e}");
    error(503, e)
}

fn refused(r: Refusal) -> Response {
    match r {
        Refusal::Bad(e) => invalid(e),
        Refusal::NotFound(m) => error(404, m),
        Refusal::Conflict(m) => error(409, m),
        Refusal::Unavailable(m) => unavailable(m),
    }
}

fn open() -> Result<Store, Response> {
    Store::open().map_err(unavailable)
}

fn with_id(id: &str) -> Result<&str, Response> {
    if api::is_battle_id(id) {
        Ok(id)
    } else {
        Err(invalid(ApiError { parameter: "id".into(), message: format!("battle id {id:?} is not a UUID") }))
    }
}

/// Write endpoints need `Authorization: Bearer <api_token>`.
fn authorised(req: &Request) -> Result<(), Response> {
    let expected = spin_sdk::variables::get("api_token").unwrap_or_default();
    if expected.is_empty() {
        return Err(error(503, "no api_token is configured, so write endpoints are closed".into()));
    }
    let given = req.header("authorization").and_then(|v| v.as_str()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or("");
    // Compare every byte so the time taken says nothing about how much of a guess was right.
    let same = given.len() == expected.len() && given.bytes().zip(expected.bytes()).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0;
    if same {
        Ok(())
    } else {
        Err(error(401, "missing or wrong API token (Authorization: Bearer <token>)".into()))
    }
}

fn list(query: &str) -> Result<Response, Response> {
    let q = api::list_query(query).map_err(invalid)?;
    let battles = open()?.list(&q).map_err(unavailable)?;
    let next = (battles.len() as i64 == q.limit)
        .then(|| battles.last())
        .flatten()
        .and_then(|b| Some(api::cursor_after(crate::enriched::parse_time(b["startTime"].as_str()?)?, b["battleId"].as_str()?)));
    Ok(json_response(200, &json!({ "battles": battles, "nextCursor": next })))
}

fn battle(id: &str) -> Result<Response, Response> {
    match open()?.battle(id).map_err(unavailable)? {
        Some(b) => Ok(json_response(200, &b)),
        None => Err(error(404, format!("no battle {id}"))),
    }
}

fn killmails(id: &str) -> Result<Response, Response> {
    match open()?.battle_killmails(id).map_err(unavailable)? {
        Some(k) => Ok(json_response(200, &json!({ "battleId": id, "killmails": k }))),
        None => Err(error(404, format!("no battle {id}"))),
    }
}

/// The battle as it now is, with `status`.
fn show(store: &Store, status: u16, id: &str) -> Result<Response, Response> {
    let b = store.battle(id).map_err(unavailable)?.ok_or_else(|| error(404, format!("battle {id} is gone")))?;
    Ok(json_response(status, &b))
}

fn create(body: &[u8]) -> Result<Response, Response> {
    let edit = api::create_body(body).map_err(invalid)?;
    let store = open()?;
    let id = manual::create(&store, edit).map_err(refused)?;
    show(&store, 201, &id)
}

fn update(id: &str, body: &[u8]) -> Result<Response, Response> {
    let edit = api::update_body(body).map_err(invalid)?;
    let store = open()?;
    manual::update(&store, id, edit).map_err(refused)?;
    show(&store, 200, id)
}

fn delete(id: &str) -> Result<Response, Response> {
    manual::delete(&open()?, id).map_err(refused)?;
    Ok(Response::builder().status(204).build())
}

fn merge(id: &str, body: &[u8]) -> Result<Response, Response> {
    let merge = api::merge_body(body, id).map_err(invalid)?;
    let store = open()?;
    manual::merge(&store, id, merge).map_err(refused)?;
    show(&store, 200, id)
}

fn split(id: &str, body: &[u8]) -> Result<Response, Response> {
    let split = api::split_body(body).map_err(invalid)?;
    let store = open()?;
    let new_id = manual::split(&store, id, split).map_err(refused)?;
    let kept = store.battle(id).map_err(unavailable)?;
    let split_off = store.battle(&new_id).map_err(unavailable)?;
    Ok(json_response(201, &json!({ "battle": kept, "newBattle": split_off })))
}
