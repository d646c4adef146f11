//! The WebSocket trigger (`[[trigger.websocket]]`): the host accepts and holds the connections
//! on the HTTP port, and calls the component in a fresh instance per event (`on-open`,
//! `on-message` with the frames that arrived, `on-close`). Events published anywhere reach
//! subscribers through the hub's Redis Stream, which one reader per host follows.
//! docs/websocket.md is the guide.

mod connection;

use crate::bindings::websocket::battlescope::websocket::types::{ConnectionInfo, Frame, OpenAnswer};
use crate::bindings::websocket::WebsocketTriggerPre;
use crate::capabilities::websocket::stream::EventId;
use crate::capabilities::websocket::Hub;
use crate::capabilities::HostCapabilities;
use crate::component::{require_export, ComponentContext, Invocation, LoadedComponent};
use crate::manifest::{HttpRoute, LoadedManifest};
use crate::state::InstanceState;
use crate::telemetry::{Kind, OpenSpan};
use crate::triggers::http::routes::{RoutePattern, Router};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// Limits and timers of the connections, from `[application.trigger.websocket]`.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    /// Origins a browser may connect from; empty: any.
    pub allowed_origins: Vec<String>,
    /// Largest frame or message a client may send; bigger ones close the connection (1009).
    pub max_frame_bytes: usize,
    /// How often the host pings a connection.
    pub ping_interval: Duration,
    /// A connection that sent nothing (not even a pong) for this long is closed.
    pub idle_timeout: Duration,
}

/// A component a route leads to.
struct Target {
    context: Arc<ComponentContext>,
    pre: WebsocketTriggerPre<InstanceState>,
}

pub struct WebSocketTrigger {
    router: Router<Arc<Target>>,
    pub hub: Arc<Hub>,
    settings: ConnectionSettings,
    capabilities: Arc<HostCapabilities>,
    budget: Duration,
    replica: String,
    opened: AtomicU64,
}

fn plain(status: StatusCode, body: &str) -> Response<HyperOutgoingBody> {
    let mut r = Response::new(Full::new(bytes::Bytes::from(body.to_string())).map_err(|never| match never {}).boxed_unsync());
    *r.status_mut() = status;
    r
}

fn header<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Where a reconnecting client says it stopped: `since` in the query or `Last-Event-ID`.
fn resume_position<B>(req: &Request<B>) -> Option<String> {
    let from_query = req.uri().query().and_then(|q| q.split('&').find_map(|p| p.strip_prefix("since=").map(str::to_string)));
    from_query.or_else(|| header(req, "last-event-id").map(str::to_string)).filter(|s| s.parse::<EventId>().is_ok())
}

impl WebSocketTrigger {
    /// The routes of `[[trigger.websocket]]`; every routed component must export
    /// `battlescope:websocket/handler`.
    pub fn new(
        manifest: &LoadedManifest,
        components: &BTreeMap<String, LoadedComponent>,
        capabilities: Arc<HostCapabilities>,
        hub: Arc<Hub>,
        settings: ConnectionSettings,
        budget: Duration,
        replica: &str,
    ) -> anyhow::Result<Self> {
        let mut routes = Vec::new();
        for (index, t) in manifest.manifest.triggers.websocket.iter().enumerate() {
            let loaded = &components[&t.component];
            let pre = require_export(
                WebsocketTriggerPre::new(loaded.pre.clone()),
                &format!("trigger.websocket[{index}]"),
                &t.component,
                "battlescope:websocket/handler",
            )?;
            let HttpRoute::Path(route) = &t.route else {
                anyhow::bail!("trigger.websocket[{index}]: a WebSocket route is a path")
            };
            routes.push((
                RoutePattern::parse(route).map_err(anyhow::Error::msg)?,
                Arc::new(Target { context: loaded.context.clone(), pre }),
            ));
        }
        Ok(Self {
            router: Router::new(routes),
            hub,
            settings,
            capabilities,
            budget,
            replica: replica.to_string(),
            opened: AtomicU64::new(0),
        })
    }

    /// Whether a request is a WebSocket upgrade for one of the routes.
    pub fn claims<B>(&self, req: &Request<B>) -> bool {
        let upgrade = header(req, "upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
        upgrade && self.router.route(req.uri().path()).is_some()
    }

    /// Answer an upgrade request: refuse it with a status, or accept it (101) and hold the
    /// connection from then on.
    pub async fn upgrade(self: Arc<Self>, mut req: Request<hyper::body::Incoming>) -> Response<HyperOutgoingBody> {
        let path = req.uri().path().to_string();
        let Some(target) = self.router.route(&path).map(|m| m.target.clone()) else {
            return plain(StatusCode::NOT_FOUND, "no WebSocket route\n");
        };
        let key = match (header(&req, "sec-websocket-key"), header(&req, "sec-websocket-version")) {
            (Some(key), Some("13")) => key.to_string(),
            _ => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "a WebSocket upgrade needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13\n",
                )
            }
        };
        let origins = &self.settings.allowed_origins;
        if let Some(origin) = header(&req, "origin") {
            if !origins.is_empty() && !origins.iter().any(|o| o == origin) {
                tracing::warn!(origin, "WebSocket upgrade from an origin not allowed");
                return plain(StatusCode::FORBIDDEN, "origin not allowed\n");
            }
        }
        let id = format!("{}.{}", self.replica, self.opened.fetch_add(1, Ordering::Relaxed) + 1);
        let wake = match self.hub.registry.open(&id, resume_position(&req).is_some()) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(?e, "WebSocket connection refused");
                return plain(StatusCode::SERVICE_UNAVAILABLE, "too many connections; try another replica or later\n");
            }
        };
        let info = ConnectionInfo {
            id: id.clone(),
            path: path.clone(),
            query: req.uri().query().unwrap_or_default().to_string(),
            headers: req
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
                .collect(),
        };
        match self.on_open(&target, info).await {
            Ok(OpenAnswer::Accept) => {}
            Ok(OpenAnswer::Reject(status)) => {
                self.hub.registry.remove(&id);
                return plain(StatusCode::from_u16(status).unwrap_or(StatusCode::FORBIDDEN), "connection refused\n");
            }
            Err(cause) => {
                self.hub.registry.remove(&id);
                tracing::error!(component = %target.context.id, "on-open failed: {cause}");
                return plain(StatusCode::INTERNAL_SERVER_ERROR, "the component failed to open the connection\n");
            }
        }
        let upgraded = hyper::upgrade::on(&mut req);
        let trigger = self.clone();
        tokio::spawn(async move {
            match upgraded.await {
                Ok(io) => connection::serve(trigger, target, id, wake, io).await,
                Err(e) => {
                    tracing::debug!(error = %e, "WebSocket upgrade did not complete");
                    trigger.hub.registry.remove(&id);
                }
            }
        });
        let mut response = plain(StatusCode::SWITCHING_PROTOCOLS, "");
        let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
        let headers = response.headers_mut();
        headers.insert(http::header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(http::header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert("sec-websocket-accept", HeaderValue::from_str(&accept).expect("base64 is a header value"));
        response
    }

    /// A fresh instance's store for WebSocket event `event`, and the event's span.
    fn store(&self, target: &Target, event: &str) -> (wasmtime::Store<InstanceState>, Option<OpenSpan>) {
        let invocation = Invocation::new("websocket", None);
        let span =
            self.capabilities.open_span(|| invocation.span(format!("websocket {event}"), Kind::Server, &target.context.id));
        (LoadedComponent::store(&target.context, target.pre.engine(), &self.capabilities, self.budget, &invocation), span)
    }

    fn failure(&self, target: &Target, error: &wasmtime::Error) -> String {
        self.capabilities.failure(&target.context.id, "websocket", error)
    }

    fn finished<T>(&self, span: Option<OpenSpan>, result: Result<T, String>) -> Result<T, String> {
        self.capabilities.finish_span(span, result.as_ref().err().map(String::as_str));
        result
    }

    async fn on_open(&self, target: &Target, info: ConnectionInfo) -> Result<OpenAnswer, String> {
        let (mut store, span) = self.store(target, "on-open");
        let result = async {
            let instance = target.pre.instantiate_async(&mut store).await.map_err(|e| self.failure(target, &e))?;
            instance.battlescope_websocket_handler().call_on_open(&mut store, &info).await.map_err(|e| self.failure(target, &e))
        };
        self.finished(span, result.await)
    }

    async fn on_message(&self, target: &Target, id: &str, frames: Vec<Frame>) -> Result<(), String> {
        let (mut store, span) = self.store(target, "on-message");
        let result = async {
            let instance = target.pre.instantiate_async(&mut store).await.map_err(|e| self.failure(target, &e))?;
            instance
                .battlescope_websocket_handler()
                .call_on_message(&mut store, &id.to_string(), &frames)
                .await
                .map_err(|e| self.failure(target, &e))
        };
        self.finished(span, result.await)
    }

    async fn on_close(&self, target: &Target, id: &str, code: u16, reason: &str) -> Result<(), String> {
        let (mut store, span) = self.store(target, "on-close");
        let result = async {
            let instance = target.pre.instantiate_async(&mut store).await.map_err(|e| self.failure(target, &e))?;
            instance
                .battlescope_websocket_handler()
                .call_on_close(&mut store, &id.to_string(), code, reason)
                .await
                .map_err(|e| self.failure(target, &e))
        };
        self.finished(span, result.await)
    }

    /// Follow the event stream and deliver each new event to this host's subscribers, until
    /// shutdown. Redis outages are waited out; nothing is lost, as the stream keeps the events.
    pub async fn follow(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut backoff = Duration::from_millis(200);
        // Start at the newest event: what came before is for `resume`, not for live delivery.
        let mut position = loop {
            match self.hub.stream.last_id().await {
                Ok(last) => break last,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the WebSocket event stream; retrying");
                    if crate::triggers::sleep_or_shutdown(backoff, &mut shutdown).await {
                        return Ok(());
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        };
        self.hub.registry.set_live(position);
        loop {
            let read = tokio::select! {
                read = self.hub.stream.read_after(position, 2_000) => read,
                _ = shutdown.wait_for(|s| *s) => return Ok(()),
            };
            match read {
                Ok(events) => {
                    backoff = Duration::from_millis(200);
                    for event in events {
                        let reached = self.hub.registry.deliver(&event);
                        position = event.id;
                        self.capabilities.metrics.count(
                            "websocket_events_delivered_total",
                            "Events queued to WebSocket subscribers.",
                            &[],
                            reached as u64,
                        );
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "reading the WebSocket event stream failed; retrying");
                    if crate::triggers::sleep_or_shutdown(backoff, &mut shutdown).await {
                        return Ok(());
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
