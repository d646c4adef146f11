//! The WebSocket protocol: a connection opened with a user's token gets that user's saved
//! subscriptions; anyone may subscribe to channels; `resume` delivers what was missed since an
//! event id. Malformed requests are answered with an error, and after several the connection is
//! closed (1008).

use super::battlescope::websocket::connections;
use super::battlescope::websocket::types::{ConnectionInfo, Error as SocketError, Frame, OpenAnswer};
use super::exports::battlescope::websocket::handler::Guest;
use super::{config, Worker};
use notification::config::Config;
use notification::protocol::{self, Action, ConnectionState, MAX_STRIKES};
use notification::subscriptions::{digest, token_of};
use spin_sdk::redis::{Connection, RedisParameter, RedisResult};

fn header<'a>(info: &'a ConnectionInfo, name: &str) -> Option<&'a str> {
    info.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The user a token belongs to, if any.
fn user_of(config: &Config, redis: &Connection, token: &str) -> Result<Option<String>, String> {
    let args = [RedisParameter::Binary(config.keys().tokens().into_bytes()), RedisParameter::Binary(digest(token).into_bytes())];
    match redis.execute("HGET", &args).map_err(|e| format!("Redis: {e}"))?.first() {
        Some(RedisResult::Binary(user)) => Ok(Some(String::from_utf8_lossy(user).into_owned())),
        _ => Ok(None),
    }
}

fn describe(e: &SocketError) -> String {
    match e {
        SocketError::NoSuchConnection => "the connection is gone".into(),
        SocketError::Limit(why) | SocketError::Invalid(why) | SocketError::Unavailable(why) => why.clone(),
    }
}

/// Open: a token that matches no user is refused (401); a user's saved channels are subscribed,
/// and a reconnect with `since` resumes them at once.
fn open(info: &ConnectionInfo) -> Result<OpenAnswer, String> {
    let Some(token) = token_of(header(info, "authorization"), &info.query) else {
        return Ok(OpenAnswer::Accept);
    };
    let config = config()?;
    let redis = Connection::open(&config.redis_address).map_err(|e| format!("Redis: {e}"))?;
    let Some(user) = user_of(&config, &redis, &token)? else { return Ok(OpenAnswer::Reject(401)) };
    let saved = redis.smembers(&config.keys().subscriptions(&user)).map_err(|e| format!("Redis: {e}"))?;
    let state = ConnectionState { user: Some(user), strikes: 0 };
    connections::set_attachment(&info.id, &serde_json::to_string(&state).expect("state serialises")).map_err(|e| describe(&e))?;
    if !saved.is_empty() {
        connections::subscribe(&info.id, &saved).map_err(|e| describe(&e))?;
        let since = info.query.split('&').find_map(|p| p.strip_prefix("since=")).map(str::to_string);
        if let Some(since) = since.or_else(|| header(info, "last-event-id").map(str::to_string)) {
            connections::resume(&info.id, &since).map_err(|e| describe(&e))?;
        }
    }
    Ok(OpenAnswer::Accept)
}

/// One request; the answer to send.
fn answer(connection: &str, action: Action) -> String {
    match action {
        Action::Subscribe(channels) => match connections::subscribe(connection, &channels) {
            Ok(()) => protocol::subscribed(&channels),
            Err(e) => protocol::error(&describe(&e)),
        },
        Action::Unsubscribe(channels) => match connections::unsubscribe(connection, &channels) {
            Ok(()) => protocol::unsubscribed(&channels),
            Err(e) => protocol::error(&describe(&e)),
        },
        Action::Resume(since) => match connections::resume(connection, &since) {
            Ok(n) => protocol::resumed(&since, n),
            Err(e) => protocol::error(&describe(&e)),
        },
    }
}

impl Guest for Worker {
    fn on_open(connection: ConnectionInfo) -> OpenAnswer {
        open(&connection).unwrap_or_else(|e| {
            eprintln!("notification: opening {}: {e}", connection.id);
            OpenAnswer::Reject(503)
        })
    }

    fn on_message(connection: String, frames: Vec<Frame>) {
        let mut state: ConnectionState =
            connections::attachment(&connection).ok().flatten().and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        let strikes = state.strikes;
        for frame in frames {
            let reply = match frame {
                Frame::Text(text) => match protocol::parse(&text) {
                    Ok(action) => answer(&connection, action),
                    Err(why) => {
                        state.strikes += 1;
                        protocol::error(&why)
                    }
                },
                Frame::Binary(_) => {
                    state.strikes += 1;
                    protocol::error("send text frames holding JSON requests")
                }
            };
            if connections::send(&connection, &reply).is_err() {
                return;
            }
            if state.strikes >= MAX_STRIKES {
                let _ = connections::close(&connection, 1008, "too many malformed requests");
                return;
            }
        }
        if state.strikes != strikes {
            let _ = connections::set_attachment(&connection, &serde_json::to_string(&state).expect("state serialises"));
        }
    }

    fn on_close(_connection: String, _code: u16, _reason: String) {}
}
