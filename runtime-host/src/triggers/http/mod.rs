//! The HTTP trigger: serves the routes of `[[trigger.http]]`, a fresh component instance per
//! request, plus the host's own health and readiness endpoints under `/.well-known/battlescope/`.

mod cors;
mod handler;
mod limits;
pub mod routes;

use crate::capabilities::outbound_http::{LocalDispatch, LocalResponse};
use crate::capabilities::HostCapabilities;
use crate::component::{require_export, LoadedComponent};
use crate::manifest::{HttpRoute, LoadedManifest};
use crate::state::InstanceState;
use anyhow::Context;
use hyper_util::rt::TokioIo;
use routes::{RoutePattern, Router};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::net::TcpListener;
use wasmtime_wasi_http::p2::bindings::ProxyPre;

/// How long the accept loop rests after a failed accept.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// A route's component.
pub struct HttpComponent {
    pub id: String,
    pub context: Arc<crate::component::ComponentContext>,
    pub pre: ProxyPre<InstanceState>,
}

/// A route: its component and the largest body it takes.
#[derive(Clone)]
pub struct RouteTarget {
    pub component: Arc<HttpComponent>,
    pub max_body_bytes: u64,
}

/// Settings of the HTTP trigger.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Wall-clock budget of one request; wasm still running after it traps (epoch deadline).
    pub request_timeout: Duration,
    /// The manifest's limits of the port (`[application.trigger.http]`).
    pub port: crate::manifest::HttpSettings,
    /// Instances the host may run at once (`--max-instances`), of which HTTP takes its share.
    pub max_instances: u32,
}

pub struct HttpTrigger {
    router: Router<RouteTarget>,
    capabilities: Arc<HostCapabilities>,
    settings: HttpSettings,
    budget: limits::RequestBudget,
    cors: cors::Cors,
    /// Listening (the other parts' readiness is in `readiness`).
    ready: AtomicBool,
    readiness: Arc<crate::readiness::Readiness>,
    /// Itself, for chained requests that outlive the call that made them.
    this: Weak<HttpTrigger>,
    /// WebSocket routes share the port: upgrade requests for them go there.
    websocket: Option<Arc<crate::triggers::websocket::WebSocketTrigger>>,
}

impl HttpTrigger {
    /// Build the route table; every routed component must export `wasi:http/incoming-handler`.
    /// Chained requests (`http://<component>.spin.internal`) from any trigger's instances are
    /// served from then on.
    pub fn new(
        manifest: &LoadedManifest,
        components: &BTreeMap<String, LoadedComponent>,
        capabilities: Arc<HostCapabilities>,
        settings: HttpSettings,
        websocket: Option<Arc<crate::triggers::websocket::WebSocketTrigger>>,
    ) -> anyhow::Result<Arc<Self>> {
        let mut routes = Vec::new();
        let mut proxies: BTreeMap<String, Arc<HttpComponent>> = BTreeMap::new();
        for trigger in &manifest.manifest.triggers.http {
            let HttpRoute::Path(route) = &trigger.route else { continue };
            let id = &trigger.component;
            let component = match proxies.get(id) {
                Some(t) => t.clone(),
                None => {
                    let loaded = &components[id];
                    let pre = require_export(
                        ProxyPre::new(loaded.pre.clone()),
                        "an HTTP trigger",
                        id,
                        "wasi:http/incoming-handler@0.2",
                    )?;
                    let t = Arc::new(HttpComponent { id: id.clone(), context: loaded.context.clone(), pre });
                    proxies.insert(id.clone(), t.clone());
                    t
                }
            };
            let max_body_bytes = trigger.max_body_bytes.unwrap_or(settings.port.max_body_bytes);
            routes.push((RoutePattern::parse(route).map_err(anyhow::Error::msg)?, RouteTarget { component, max_body_bytes }));
        }
        let router = Router::new(routes);
        let share = settings.port.max_concurrent_requests.unwrap_or(settings.max_instances / 2).max(1);
        if share > settings.max_instances {
            anyhow::bail!(
                "[application.trigger.http] max_concurrent_requests = {share} is more than the {} instances the host may run \
                 (--max-instances)",
                settings.max_instances
            );
        }
        let trigger = Arc::new_cyclic(|this| Self {
            router,
            capabilities,
            budget: limits::RequestBudget::new(share as usize),
            cors: cors::Cors::new(&settings.port.cors_origins),
            settings,
            websocket,
            ready: AtomicBool::new(false),
            readiness: Arc::default(),
            this: this.clone(),
        });
        let local: Weak<dyn LocalDispatch> = Arc::downgrade(&trigger) as Weak<dyn LocalDispatch>;
        let _ = trigger.capabilities.local_http.set(local);
        Ok(trigger)
    }

    /// Where the other parts of the host register until they run; `/ready` waits for them.
    pub fn readiness(&self) -> Arc<crate::readiness::Readiness> {
        self.readiness.clone()
    }

    /// Serve until `shutdown` resolves. Logs every route before accepting connections.
    pub async fn serve(
        self: Arc<Self>,
        listen: SocketAddr,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<()> {
        let listener = TcpListener::bind(listen).await.with_context(|| format!("binding HTTP listener on {listen}"))?;
        let local = listener.local_addr()?;
        for (pattern, target) in self.router.routes() {
            tracing::info!(route = pattern.raw(), component = %target.component.id, max_body_bytes = target.max_body_bytes, "http route");
        }
        let port = &self.settings.port;
        tracing::info!(
            max_connections = port.max_connections,
            header_timeout_ms = port.header_timeout_ms,
            max_concurrent_requests = self.budget.size(),
            cors_origins = ?port.cors_origins,
            "http limits"
        );
        let connections = Arc::new(tokio::sync::Semaphore::new(port.max_connections));
        let header_timeout = Duration::from_millis(port.header_timeout_ms);
        tracing::info!(url = %format!("http://{local}"), "serving HTTP");
        // A line for people and scripts that wait for the host to come up.
        println!("battlescope: serving http://{local}");
        self.ready.store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::pin!(shutdown);
        loop {
            // At the connection cap, further clients wait in the kernel's backlog.
            let permit = tokio::select! {
                _ = &mut shutdown => break,
                permit = connections.clone().acquire_owned() => permit.expect("the connection semaphore is never closed"),
            };
            let (stream, client) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors, say: retrying at once would spin a core.
                        tracing::warn!(error = %e, "accept failed; pausing before the next");
                        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                        continue;
                    }
                },
            };
            // Small responses and pushed WebSocket frames go out at once: without this, Nagle's
            // algorithm meets the client's delayed ACK and stalls a response by ~40 ms.
            if let Err(e) = stream.set_nodelay(true) {
                tracing::debug!(error = %e, "cannot set TCP_NODELAY");
            }
            let trigger = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let trigger = trigger.clone();
                    async move { trigger.handle(req, client, local).await }
                });
                let _held = permit;
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await
                {
                    tracing::debug!(%client, error = %e, "connection ended with an error");
                }
            });
        }
        self.ready.store(false, std::sync::atomic::Ordering::SeqCst);
        tracing::info!("HTTP trigger stopped");
        Ok(())
    }
}

impl LocalDispatch for HttpTrigger {
    fn dispatch(&self, component: &str, request: http::Request<wasmtime_wasi_http::WasiBody>) -> LocalResponse {
        let this = self.this.upgrade();
        let component = component.to_string();
        Box::pin(async move {
            match this {
                Some(trigger) => trigger.chained(component, request).await,
                None => Err(wasmtime_wasi_http::Error::DestinationNotFound),
            }
        })
    }
}
