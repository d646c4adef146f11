//! One accepted connection: a reader that hands frames to the component (batched while a
//! call runs), and a writer that sends what the registry queued, pings, and closes half-open or
//! idle connections. When either ends, the connection is forgotten and the component hears of
//! it (`on-close`, best effort).

use super::{Target, WebSocketTrigger};
use crate::bindings::websocket::battlescope::websocket::types::Frame;
use crate::capabilities::websocket::registry::Outbound;
use futures::{SinkExt, StreamExt};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

/// Frames waiting for the component; a client that sends faster than the component handles
/// waits (TCP back-pressure).
const PENDING_FRAMES: usize = 64;

fn millis_since(start: Instant) -> i64 {
    start.elapsed().as_millis() as i64
}

pub(super) async fn serve(trigger: Arc<WebSocketTrigger>, target: Arc<Target>, id: String, wake: Arc<Notify>, io: Upgraded) {
    let metrics = trigger.capabilities.metrics.clone();
    let open = |trigger: &WebSocketTrigger| trigger.hub.registry.len() as f64;
    metrics.gauge("websocket_connections", "Open WebSocket connections on this host.", &[], open(&trigger));
    let mut config = WebSocketConfig::default();
    config.max_frame_size = Some(trigger.settings.max_frame_bytes);
    config.max_message_size = Some(trigger.settings.max_frame_bytes);
    // tungstenite's 128 KiB buffers per connection would dominate a host's memory at 10,000
    // connections; requests are small, and each frame is flushed as it is sent anyway.
    config.read_buffer_size = 4096;
    config.write_buffer_size = 0;
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(io), Role::Server, Some(config)).await;
    let (mut sink, mut stream) = ws.split();
    let started = Instant::now();
    let last_heard = Arc::new(AtomicI64::new(0));
    let (frames_tx, mut frames_rx) = mpsc::channel::<Frame>(PENDING_FRAMES);

    // Reader: frames in, until the client closes or breaks the rules. A close the host must
    // answer goes through the writer's queue (it holds the sending half).
    let heard = last_heard.clone();
    let reader_trigger = trigger.clone();
    let reader_id = id.clone();
    let reader = async move {
        let close = |code: u16, reason: String| {
            let _ = reader_trigger.hub.registry.send(&reader_id, Outbound::Close(code, reason.clone()));
            (code, reason)
        };
        while let Some(msg) = stream.next().await {
            heard.store(millis_since(started), Ordering::Relaxed);
            let frame = match msg {
                Ok(Message::Text(t)) => Frame::Text(t.to_string()),
                Ok(Message::Binary(b)) => Frame::Binary(b.to_vec()),
                Ok(Message::Close(c)) => {
                    let (code, reason) = c.map(|c| (u16::from(c.code), c.reason.to_string())).unwrap_or((1005, String::new()));
                    close(code, reason);
                    return std::future::pending().await;
                }
                Ok(_) => continue, // pings are answered by tungstenite, pongs only prove liveness
                Err(WsError::Capacity(e)) => {
                    close(1009, format!("frame too big: {e}"));
                    return std::future::pending().await;
                }
                Err(e) => return (1006, format!("connection broken: {e}")),
            };
            if frames_tx.send(frame).await.is_err() {
                break;
            }
        }
        (1006, "connection ended".to_string())
    };

    // Dispatcher: frames to the component, batched.
    let dispatch_trigger = trigger.clone();
    let dispatch_target = target.clone();
    let dispatch_id = id.clone();
    let dispatcher = async move {
        while let Some(first) = frames_rx.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = frames_rx.try_recv() {
                batch.push(more);
            }
            if let Err(cause) = dispatch_trigger.on_message(&dispatch_target, &dispatch_id, batch).await {
                tracing::error!(component = %dispatch_target.context.id, connection = %dispatch_id, "on-message failed: {cause}");
            }
        }
    };

    // Writer: queued frames out, pings, the idle cut.
    let writer_trigger = trigger.clone();
    let writer_id = id.clone();
    let writer = async move {
        let settings = &writer_trigger.settings;
        let mut ping = tokio::time::interval(settings.ping_interval);
        ping.tick().await;
        loop {
            while let Some(item) = writer_trigger.hub.registry.next(&writer_id) {
                let sent = match item {
                    Outbound::Text(text) => sink.send(Message::Text(text.into())).await,
                    Outbound::Event { id, frame, .. } => {
                        let sent = sink.send(Message::Text(frame.into())).await;
                        if sent.is_ok() {
                            writer_trigger.hub.registry.sent(&writer_id, id);
                        }
                        sent
                    }
                    Outbound::Close(code, reason) => {
                        let frame = CloseFrame { code: CloseCode::from(code), reason: reason.clone().into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                        return (code, reason);
                    }
                };
                if let Err(e) = sent {
                    return (1006, format!("sending failed: {e}"));
                }
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = ping.tick() => {
                    let silent = Duration::from_millis((millis_since(started) - last_heard.load(Ordering::Relaxed)).max(0) as u64);
                    if silent > settings.idle_timeout {
                        let frame = CloseFrame { code: CloseCode::Away, reason: "idle".into() };
                        let _ = sink.send(Message::Close(Some(frame))).await;
                        return (1001, "idle".to_string());
                    }
                    if sink.send(Message::Ping(Vec::new().into())).await.is_err() {
                        return (1006, "ping failed".to_string());
                    }
                }
            }
        }
    };

    let (code, reason) = tokio::select! {
        ended = reader => ended,
        ended = writer => ended,
        _ = dispatcher => (1011, "the dispatcher stopped".to_string()),
    };
    trigger.hub.registry.remove(&id);
    metrics.gauge("websocket_connections", "Open WebSocket connections on this host.", &[], open(&trigger));
    metrics.count("websocket_closed_total", "WebSocket connections closed, by close code.", &[("code", &code.to_string())], 1);
    if let Err(cause) = trigger.on_close(&target, &id, code, &reason).await {
        tracing::warn!(component = %target.context.id, connection = %id, "on-close failed: {cause}");
    }
}
