//! The battle HTTP API (first slice): `GET /api/battles` (newest first, cursor paging) and
//! `GET /api/battles/{id}`.

use super::store::Store;
use serde_json::{json, Value};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let path = req.header("spin-path-info").and_then(|v| v.as_str()).unwrap_or("").to_string();
    if *req.method() != Method::Get {
        return json(405, &json!({"error": format!("use GET for /api/battles{path}")}));
    }
    let result = match path.trim_end_matches('/') {
        "" => list(req.query()),
        id => battle(id.trim_start_matches('/')),
    };
    result.unwrap_or_else(|e| {
        eprintln!("battles: {e}");
        json(503, &json!({"error": e}))
    })
}

fn json(status: u16, body: &Value) -> Response {
    Response::builder().status(status).header("content-type", "application/json").body(body.to_string()).build()
}

fn bad(parameter: &str, message: String) -> Result<Response, String> {
    Ok(json(400, &json!({"error": message, "parameter": parameter})))
}

fn list(query: &str) -> Result<Response, String> {
    let mut limit = 50;
    let mut cursor = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "limit" => match value.parse::<i64>() {
                Ok(n) if (1..=500).contains(&n) => limit = n,
                _ => return bad("limit", format!("limit {value:?} is not a whole number from 1 to 500")),
            },
            "cursor" => match value.split_once('.').and_then(|(s, id)| Some((s.parse::<i64>().ok()?, id.to_string()))) {
                Some(c) => cursor = Some(c),
                None => return bad("cursor", format!("cursor {value:?} is not one this API gave out")),
            },
            other => return bad(other, format!("unknown parameter {other:?}; use limit and cursor")),
        }
    }
    let battles = Store::open()?.list(cursor, limit)?;
    let next = (battles.len() as i64 == limit)
        .then(|| battles.last())
        .flatten()
        .and_then(|b| Some(format!("{}.{}", crate::enriched::parse_time(b["startTime"].as_str()?)?, b["battleId"].as_str()?)));
    Ok(json(200, &json!({"battles": battles, "nextCursor": next})))
}

fn battle(id: &str) -> Result<Response, String> {
    if id.len() != 36 || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return bad("id", format!("battle id {id:?} is not a UUID"));
    }
    Ok(match Store::open()?.battle(id)? {
        Some(b) => json(200, &b),
        None => json(404, &json!({"error": format!("no battle {id}")})),
    })
}
