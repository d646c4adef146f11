//! The client protocol, zKillboard's plus resume: clients send
//! `{"action":"sub","channel":"alliance:99003581"}` (or `"channels":[...]`),
//! `{"action":"unsub",...}` and `{"action":"resume","since":"<event id>"}`, and are answered
//! `{"type":"subscribed"|"unsubscribed","channels":[...]}`, `{"type":"resumed","since":...,
//! "events":n}` or `{"type":"error","error":...}`. Pushes arrive as
//! `{"id","channel","type","data"}`.

use crate::channels;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A client's request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Subscribe(Vec<String>),
    Unsubscribe(Vec<String>),
    Resume(String),
}

/// Malformed frames a connection may send before it is closed (1008).
pub const MAX_STRIKES: u32 = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    action: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    channels: Option<Vec<String>>,
    #[serde(default)]
    since: Option<String>,
}

/// Read a client frame; the error is what the client is told.
pub fn parse(frame: &str) -> Result<Action, String> {
    let r: Request = serde_json::from_str(frame)
        .map_err(|e| format!("not a request ({e}); send {{\"action\":\"sub\",\"channel\":\"alliance:ID\"}}"))?;
    let channels = || -> Result<Vec<String>, String> {
        let given: Vec<String> = r.channel.iter().cloned().chain(r.channels.iter().flatten().cloned()).collect();
        if given.is_empty() {
            return Err(format!("{} needs channel or channels", r.action));
        }
        given.iter().map(|c| channels::parse(c).map_err(|e| e.to_string())).collect()
    };
    match r.action.as_str() {
        "sub" => channels().map(Action::Subscribe),
        "unsub" => channels().map(Action::Unsubscribe),
        "resume" => {
            r.since.clone().filter(|s| !s.is_empty()).map(Action::Resume).ok_or_else(|| "resume needs since (an event id)".into())
        }
        other => Err(format!("unknown action {:?}; actions are sub, unsub, resume", other.chars().take(40).collect::<String>())),
    }
}

/// What the component keeps with a connection between calls.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionState {
    /// The user whose token opened it.
    #[serde(default)]
    pub user: Option<String>,
    /// Malformed frames so far.
    #[serde(default)]
    pub strikes: u32,
}

pub fn subscribed(channels: &[String]) -> String {
    json!({"type": "subscribed", "channels": channels}).to_string()
}

pub fn unsubscribed(channels: &[String]) -> String {
    json!({"type": "unsubscribed", "channels": channels}).to_string()
}

pub fn resumed(since: &str, events: u32) -> String {
    json!({"type": "resumed", "since": since, "events": events}).to_string()
}

pub fn error(message: &str) -> String {
    json!({"type": "error", "error": message}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(
            parse(r#"{"action":"sub","channel":"alliance:99003581"}"#),
            Ok(Action::Subscribe(vec!["alliance:99003581".into()]))
        );
        assert_eq!(
            parse(r#"{"action":"unsub","channels":["all:*","system:1"]}"#),
            Ok(Action::Unsubscribe(vec!["all:*".into(), "system:1".into()]))
        );
        assert_eq!(parse(r#"{"action":"resume","since":"1-0"}"#), Ok(Action::Resume("1-0".into())));
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        assert!(parse("hello").unwrap_err().contains("not a request"));
        assert!(parse(r#"{"action":"sub"}"#).unwrap_err().contains("needs channel"));
        assert!(parse(r#"{"action":"sub","channel":"planet:1"}"#).unwrap_err().contains("planet:1"));
        assert!(parse(r#"{"action":"dance"}"#).unwrap_err().contains("unknown action"));
        assert!(parse(r#"{"action":"sub","channel":"all:*","extra":1}"#).is_err(), "unknown fields are refused");
        assert!(parse(r#"{"action":"resume"}"#).unwrap_err().contains("since"));
    }
}
