//! The enrichment HTTP API (`/api/enrichment/...`).

use super::counters::Counters;
use super::esi::Esi;
use super::store::Store;
use serde_json::{json, Value};
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;

#[http_component]
fn handle(req: Request) -> Response {
    let path = req.header("spin-path-info").and_then(|v| v.as_str()).unwrap_or("").to_string();
    if *req.method() != Method::Get {
        return json(405, &json!({"error": format!("use GET for /api/enrichment{path}")}));
    }
    match path.as_str() {
        "/stats" => stats().unwrap_or_else(unavailable),
        "/metrics" => metrics().unwrap_or_else(unavailable),
        p => match p.strip_prefix("/killmails/") {
            Some(id) => killmail(id).unwrap_or_else(unavailable),
            None => json(404, &json!({"error": format!("no enrichment endpoint {path}")})),
        },
    }
}

fn json(status: u16, body: &Value) -> Response {
    Response::builder().status(status).header("content-type", "application/json").body(body.to_string()).build()
}

fn unavailable(e: String) -> Response {
    eprintln!("enrichment: {e}");
    json(503, &json!({"error": e}))
}

fn killmail(id: &str) -> Result<Response, String> {
    let Ok(id) = id.trim_end_matches('/').parse::<u64>() else {
        return Ok(json(400, &json!({"error": format!("killmail id {id:?} is not a positive whole number"), "parameter": "id"})));
    };
    Ok(match Store::open()?.killmail(id)? {
        Some(doc) => json(200, &doc),
        None => json(404, &json!({"error": format!("killmail {id} has not been enriched")})),
    })
}

/// Database statistics plus ESI's state as this service last saw it.
fn report() -> Result<Value, String> {
    let mut stats = Store::open()?.stats()?;
    let mut scratch = Counters::default();
    let esi = Esi::open(&mut scratch)?;
    let breaker = esi.breaker();
    stats["esi"] = json!({ "breaker": breaker, "breakerState": breaker.name(), "errorLimit": esi.error_limit() });
    Ok(stats)
}

fn stats() -> Result<Response, String> {
    Ok(json(200, &report()?))
}

/// The same in Prometheus' text format.
fn metrics() -> Result<Response, String> {
    let s = report()?;
    let mut out = String::new();
    let state = s["esi"]["breakerState"].as_str().unwrap_or("closed");
    out.push_str("# HELP enrichment_esi_breaker_state ESI circuit breaker: 1 for the current state.\n# TYPE enrichment_esi_breaker_state gauge\n");
    for name in ["closed", "open", "half-open"] {
        out.push_str(&format!("enrichment_esi_breaker_state{{state=\"{name}\"}} {}\n", u8::from(name == state)));
    }
    for (key, metric) in [("killmails", "enrichment_killmails"), ("namesIncomplete", "enrichment_names_incomplete"),
        ("cachedNames", "enrichment_cached_names"), ("unresolvedIds", "enrichment_unresolved_ids")] {
        out.push_str(&format!("# TYPE {metric} gauge\n{metric} {}\n", s[key].as_i64().unwrap_or(0)));
    }
    out.push_str("# TYPE enrichment_events_total counter\n");
    for (counter, value) in s["counters"].as_object().into_iter().flatten() {
        out.push_str(&format!("enrichment_events_total{{counter=\"{counter}\"}} {}\n", value.as_i64().unwrap_or(0)));
    }
    Ok(Response::builder().status(200).header("content-type", "text/plain; version=0.0.4").body(out).build())
}
