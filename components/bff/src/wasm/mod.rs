//! The BFF component: the plan's calls sent at once through Spin's service chaining, their
//! answers composed, the result cached in Redis.

mod deadline;

use crate::cache;
use crate::compose::{self, Answer, Failure, Part};
use crate::config::Config;
use crate::plan::{self, Call, Endpoint, PlanError};
use deadline::within;
use futures::future::join_all;
use guest::http::{cacheable, path_segments, HttpError};
use serde_json::Value;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};
use std::time::Duration;

#[http_component]
async fn handle(req: Request) -> Response {
    if *req.method() != Method::Get {
        return HttpError::MethodNotAllowed(format!("{:?} is not allowed on the BFF: it only reads", req.method())).into();
    }
    let segments = path_segments(&req);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["metrics"] => return metrics(),
        ["health"] => return health(),
        _ => {}
    }
    let endpoint = match plan::endpoint(&segments, req.query()) {
        Ok(endpoint) => endpoint,
        Err(PlanError::BadParameter { parameter, message }) => return HttpError::bad(parameter, message).into(),
        Err(e @ PlanError::NotFound(_)) => return HttpError::NotFound(e.to_string()).into(),
    };
    let config = match Config::load(&guest::config::Variables::spin()) {
        Ok(config) => config,
        Err(e) => return HttpError::unavailable("the BFF's configuration", e).into(),
    };
    let key = cache::key(&config.cache_prefix, req.path(), req.query());
    // Without Redis the BFF still answers, uncached.
    let redis = Connection::open(&config.redis_address).inspect_err(|e| eprintln!("BFF cache unavailable: {e}")).ok();
    let fresh = cache::fresh_wanted(req.header("cache-control").and_then(|v| v.as_str()));
    if let (Some(redis), false) = (&redis, fresh) {
        if let Some(cached) = redis.get(&key).ok().flatten() {
            count(redis, &config, "hit");
            return answer_with(&req, 200, cached, "hit", remaining_seconds(redis, &key));
        }
        count(redis, &config, "miss");
    }
    let (status, body) = answer(&endpoint, config.call_timeout).await;
    let ttl = cache::ttl(&endpoint, status, &body);
    let text = serde_json::to_vec(&body).expect("an answer serialises");
    if let (Some(redis), Some(seconds)) = (&redis, ttl) {
        let args = [
            RedisParameter::Binary(key.into_bytes()),
            RedisParameter::Binary(text.clone()),
            RedisParameter::Binary(b"EX".to_vec()),
            RedisParameter::Int64(seconds as i64),
        ];
        if let Err(e) = redis.execute("SET", &args) {
            eprintln!("BFF cache: cannot keep an answer: {e}");
        }
    }
    answer_with(&req, status, text, if fresh { "refresh" } else { "miss" }, ttl)
}

/// Count a lookup of the cache; a count lost to a Redis hiccup is not worth failing a page.
fn count(redis: &Connection, config: &Config, outcome: &str) {
    if let Err(e) = redis.incr(&cache::lookups_key(&config.cache_prefix, outcome)) {
        eprintln!("BFF cache: cannot count a {outcome}: {e}");
    }
}

/// The configuration and a connection to the cache's Redis, or why not.
fn cache_redis() -> Result<(Config, Connection), String> {
    let config = Config::load(&guest::config::Variables::spin()).map_err(|e| e.to_string())?;
    let redis = Connection::open(&config.redis_address).map_err(|e| format!("connecting to Redis: {e}"))?;
    Ok((config, redis))
}

/// `GET /api/bff/health`: whether Redis, the BFF's cache, answers. The services it composes
/// have their own health routes (and the dashboard shows which of them answer).
fn health() -> Response {
    let redis = cache_redis().and_then(|(_, redis)| {
        redis.execute("PING", &[]).map_err(|e| format!("PING: {e}"))?;
        Ok(serde_json::json!({}))
    });
    guest::http::health("bff", vec![("redis", redis)])
}

/// `GET /api/bff/metrics`: the cache's hits and misses in Prometheus text; 503 without Redis,
/// where they are counted.
fn metrics() -> Response {
    let counted = cache_redis().and_then(|(config, redis)| {
        let read = |outcome: &str| -> Result<i64, String> {
            let stored =
                redis.get(&cache::lookups_key(&config.cache_prefix, outcome)).map_err(|e| format!("reading Redis: {e}"))?;
            Ok(stored.and_then(|b| String::from_utf8(b).ok()).and_then(|t| t.parse().ok()).unwrap_or(0))
        };
        Ok((read("hit")?, read("miss")?))
    });
    match counted {
        Ok((hits, misses)) => Response::builder()
            .status(200)
            .header("content-type", "text/plain; version=0.0.4")
            .header("cache-control", "no-store")
            .body(cache::prometheus_text(hits, misses))
            .build(),
        Err(e) => HttpError::unavailable("the BFF cache's counts", e).into(),
    }
}

/// How long a cached answer has left, so a browser or CDN keeps it no longer than Redis does.
fn remaining_seconds(redis: &Connection, key: &str) -> Option<u64> {
    match redis.execute("TTL", &[RedisParameter::Binary(key.as_bytes().to_vec())]).ok()?.first() {
        Some(RedisResult::Int64(seconds)) if *seconds > 0 => Some(*seconds as u64),
        _ => None,
    }
}

/// The answer with its cache headers; a browser or CDN that holds the same answer gets a 304.
fn answer_with(req: &Request, status: u16, body: Vec<u8>, cache: &str, ttl: Option<u64>) -> Response {
    let control = match ttl {
        Some(seconds) => format!("public, max-age={seconds}"),
        None => "no-store".to_string(),
    };
    let response = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-cache", cache)
        .header("cache-control", &control)
        .body(body)
        .build();
    cacheable(req, response, &control)
}

async fn answer(endpoint: &Endpoint, limit: Duration) -> Answer {
    let mut parts = fetch_all(&plan::calls(endpoint), limit).await.into_iter();
    let mut next = || parts.next().expect("one part per call");
    match endpoint {
        Endpoint::Battles { .. } => compose::battles(next(), next()),
        Endpoint::Battle { .. } => {
            let (battle, killmails) = (next(), next());
            let near = match battle.as_ref().ok().and_then(plan::near) {
                Some(call) => Some(fetch(&call, limit).await),
                None => None,
            };
            compose::report(battle, killmails, near)
        }
        Endpoint::Dashboard => compose::dashboard(next(), next(), next(), next(), next()),
    }
}

/// Every call at once; the answers in the calls' order.
async fn fetch_all(calls: &[Call], limit: Duration) -> Vec<Part> {
    join_all(calls.iter().map(|call| fetch(call, limit))).await
}

/// One call, given up after `limit`.
async fn fetch(call: &Call, limit: Duration) -> Part {
    let failure = |status: Option<u16>, body: String| Failure { service: call.service, status, body };
    let request = Request::get(call.url()).build();
    let response: Response = match within(limit, spin_sdk::http::send(request)).await {
        Some(Ok(response)) => response,
        Some(Err(e)) => return Err(failure(None, format!("GET {}: {e}", call.url()))),
        None => return Err(failure(None, format!("GET {}: no answer within {limit:?}", call.url()))),
    };
    let status = *response.status();
    let body = response.into_body();
    if status != 200 {
        return Err(failure(Some(status), String::from_utf8_lossy(&body).into_owned()));
    }
    serde_json::from_slice::<Value>(&body).map_err(|e| failure(None, format!("GET {}: not JSON: {e}", call.url())))
}
