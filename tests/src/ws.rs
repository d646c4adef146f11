//! A WebSocket client for the tests: connect (with headers), send requests, read pushes and
//! answers with a deadline, and see how the host closed the connection.

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What reading found.
#[derive(Debug, PartialEq)]
pub enum Next {
    Json(Value),
    Closed(u16, String),
    Nothing,
}

/// The `ws://` URL of a host's path.
pub fn url(host: &crate::host::Host, path: &str) -> String {
    host.url(path).replacen("http://", "ws://", 1)
}

/// Connect, or the HTTP status the upgrade was refused with.
pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Result<Client, u16> {
    let mut request = url.into_client_request().expect("a WebSocket URL");
    for (k, v) in headers {
        let name = tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(k.as_bytes()).expect("a header name");
        request.headers_mut().insert(name, v.parse().expect("a header value"));
    }
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(64 << 20);
    match tokio_tungstenite::connect_async_with_config(request, Some(config), false).await {
        Ok((ws, _)) => Ok(Client { ws }),
        Err(Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("connecting to {url}: {e}"),
    }
}

impl Client {
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::Text(text.into())).await.expect("sending a frame");
    }

    pub async fn send(&mut self, request: &Value) {
        self.send_text(&request.to_string()).await;
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        let _ = self.ws.send(Message::Binary(bytes.into())).await;
    }

    /// The next JSON message or close, within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Next {
        // One deadline for the whole wait: pings must not extend it.
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Next::Nothing,
                Ok(None) => return Next::Closed(1006, "ended".into()),
                Ok(Some(Ok(Message::Text(t)))) => return Next::Json(serde_json::from_str(&t).expect("JSON from the host")),
                Ok(Some(Ok(Message::Close(c)))) => {
                    return c
                        .map(|c| Next::Closed(u16::from(c.code), c.reason.to_string()))
                        .unwrap_or(Next::Closed(1005, String::new()))
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(e))) => return Next::Closed(1006, e.to_string()),
            }
        }
    }

    /// The next JSON message, or a panic saying what came instead.
    pub async fn json(&mut self, wait: Duration) -> Value {
        match self.next(wait).await {
            Next::Json(v) => v,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// Subscribe and wait for the answer.
    pub async fn subscribe(&mut self, channels: &[&str]) -> Value {
        self.send(&serde_json::json!({"action": "sub", "channels": channels})).await;
        self.json(Duration::from_secs(10)).await
    }

    /// Pushes (messages with an `id`) until `n` arrived or `wait` passed without one.
    pub async fn pushes(&mut self, n: usize, wait: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while out.len() < n {
            match self.next(wait).await {
                Next::Json(v) if v.get("id").is_some() => out.push(v),
                Next::Json(_) => continue,
                _ => break,
            }
        }
        out
    }
}

/// Append an event to a deployment's stream as a publisher on any replica would.
pub async fn publish(stream: &str, channels: &[&str], kind: &str, key: Option<&str>, data: &Value) -> String {
    let client = redis::Client::open(crate::redis_url()).expect("Redis URL");
    let mut conn = client.get_multiplexed_async_connection().await.expect("Redis");
    redis::cmd("XADD")
        .arg(stream)
        .arg("*")
        .arg("channels")
        .arg(channels.join(" "))
        .arg("kind")
        .arg(kind)
        .arg("key")
        .arg(key.unwrap_or(""))
        .arg("data")
        .arg(data.to_string())
        .query_async(&mut conn)
        .await
        .expect("XADD")
}
