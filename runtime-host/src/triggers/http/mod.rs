//! The HTTP trigger: serves the routes of `[[trigger.http]]`, a fresh component instance per
//! request, plus the host's own health and readiness endpoints under `/.well-known/battlescope/`.

mod handler;
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

/// A route's target.
pub struct HttpComponent {
    pub id: String,
    pub context: Arc<crate::component::ComponentContext>,
    pub pre: ProxyPre<InstanceState>,
}

/// Settings of the HTTP trigger.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Wall-clock budget of one request; wasm still running after it traps (epoch deadline).
    pub request_timeout: Duration,
}

pub struct HttpTrigger {
    router: Router<Arc<HttpComponent>>,
    capabilities: Arc<HostCapabilities>,
    settings: HttpSettings,
    ready: AtomicBool,
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
            let target = match proxies.get(id) {
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
            routes.push((RoutePattern::parse(route).map_err(anyhow::Error::msg)?, target));
        }
        let router = Router::new(routes);
        let trigger = Arc::new_cyclic(|this| Self {
            router,
            capabilities,
            settings,
            websocket,
            ready: AtomicBool::new(false),
            this: this.clone(),
        });
        let local: Weak<dyn LocalDispatch> = Arc::downgrade(&trigger) as Weak<dyn LocalDispatch>;
        let _ = trigger.capabilities.local_http.set(local);
        Ok(trigger)
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
            tracing::info!(route = pattern.raw(), component = %target.id, "http route");
        }
        tracing::info!(url = %format!("http://{local}"), "serving HTTP");
        // A line for people and scripts that wait for the host to come up.
        println!("battlescope: serving http://{local}");
        self.ready.store(true, std::sync::atomic::Ordering::SeqCst);
        tokio::pin!(shutdown);
        loop {
            let (stream, client) = tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
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
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
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
