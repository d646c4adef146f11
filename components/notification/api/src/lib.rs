//! The notifications API (`/api/notifications/...`, `openapi/notifications.json`): users and
//! their tokens, and saved subscriptions (a connection opened with the user's token gets them),
//! kept in Redis. It imports only what Spin provides.

#![cfg(target_arch = "wasm32")]

use guest::http::{authorise, json_response, path_segments, respond, HttpError, Reply};
use notification::channels;
use notification::config::Config;
use notification::subscriptions::{digest, token_of, MAX_SAVED};
use serde_json::json;
use spin_sdk::http::{Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

#[http_component]
fn handle(req: Request) -> Response {
    let segments = path_segments(&req);
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    respond(route(&req, &segments))
}

fn route(req: &Request, segments: &[&str]) -> Reply {
    let config = Config::load(&guest::config::Variables::spin())
        .map_err(|e| HttpError::unavailable("the notification service's configuration", e))?;
    match (req.method(), segments) {
        (Method::Get, ["health"]) => health(&config),
        (Method::Post, ["users"]) => {
            authorise(req, &config.api_token)?;
            create_user(&config)
        }
        (Method::Get, ["subscriptions"]) => {
            let (redis, user) = user(req, &config)?;
            list(&config, &redis, &user, 200)
        }
        (Method::Post, ["subscriptions"]) => {
            let (redis, user) = user(req, &config)?;
            add(&config, &redis, &user, req.body())
        }
        (Method::Delete, ["subscriptions", channel]) => {
            let (redis, user) = user(req, &config)?;
            redis.srem(&config.keys().subscriptions(&user), &[channel.to_string()]).map_err(unavailable)?;
            Ok(Response::builder().status(204).build())
        }
        (_, ["health"] | ["users"] | ["subscriptions"] | ["subscriptions", _]) => Err(HttpError::MethodNotAllowed(format!(
            "{:?} is not allowed on /api/notifications/{}",
            req.method(),
            segments.join("/")
        ))),
        _ => Err(HttpError::NotFound(format!("no notification endpoint /{}", segments.join("/")))),
    }
}

fn unavailable(e: spin_sdk::redis::Error) -> HttpError {
    HttpError::unavailable("Redis", e)
}

fn redis(config: &Config) -> Result<Connection, HttpError> {
    Connection::open(&config.redis_address).map_err(unavailable)
}

/// The user whose token the request carries (401 without a known one).
fn user(req: &Request, config: &Config) -> Result<(Connection, String), HttpError> {
    let authorization = req.header("authorization").and_then(|v| v.as_str());
    let token = token_of(authorization, "").ok_or(HttpError::Unauthorized)?;
    let redis = redis(config)?;
    let args = [RedisParameter::Binary(config.keys().tokens().into_bytes()), RedisParameter::Binary(digest(&token).into_bytes())];
    match redis.execute("HGET", &args).map_err(unavailable)?.first() {
        Some(RedisResult::Binary(user)) => Ok((redis, String::from_utf8_lossy(user).into_owned())),
        _ => Err(HttpError::Unauthorized),
    }
}

fn health(config: &Config) -> Reply {
    let reachable = redis(config).and_then(|r| r.execute("PING", &[]).map_err(unavailable)).is_ok();
    Ok(json_response(if reachable { 200 } else { 503 }, &json!({ "redis": { "reachable": reachable } })))
}

/// A new user and its token; the token is shown once and stored only as a digest.
fn create_user(config: &Config) -> Reply {
    let (user, token) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().simple().to_string());
    let args = [
        RedisParameter::Binary(config.keys().tokens().into_bytes()),
        RedisParameter::Binary(digest(&token).into_bytes()),
        RedisParameter::Binary(user.clone().into_bytes()),
    ];
    redis(config)?.execute("HSET", &args).map_err(unavailable)?;
    Ok(json_response(201, &json!({ "userId": user, "token": token })))
}

fn list(config: &Config, redis: &Connection, user: &str, status: u16) -> Reply {
    let mut channels = redis.smembers(&config.keys().subscriptions(user)).map_err(unavailable)?;
    channels.sort();
    Ok(json_response(status, &json!({ "userId": user, "channels": channels })))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSubscription {
    channel: String,
}

fn add(config: &Config, redis: &Connection, user: &str, body: &[u8]) -> Reply {
    let wanted: NewSubscription = serde_json::from_slice(body)
        .map_err(|e| HttpError::bad("body", format!("send {{\"channel\": \"alliance:ID\"}}: {e}")))?;
    let channel = channels::parse(&wanted.channel).map_err(|e| HttpError::bad("body.channel", e.to_string()))?;
    let key = config.keys().subscriptions(user);
    let saved = redis.smembers(&key).map_err(unavailable)?;
    if !saved.contains(&channel) && saved.len() >= MAX_SAVED {
        return Err(HttpError::Conflict(format!("a user may save {MAX_SAVED} channels")));
    }
    redis.sadd(&key, &[channel]).map_err(unavailable)?;
    list(config, redis, user, 201)
}
