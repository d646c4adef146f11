//! Host capabilities: one module per interface a component can import. Each module keeps its
//! lifecycle (shared backends, and the state one instance holds over them) in `mod.rs` and its
//! WIT implementation, on that per-instance state, in `host.rs`. No capability knows another
//! or the instance that holds it: `state.rs` puts them together, as Spin's factors do.

pub mod access;
pub mod allowed_hosts;
pub mod key_value;
pub mod outbound_http;
pub mod plugins;
pub mod postgres;
pub mod producer;
pub mod redis;
pub mod variables;
pub mod websocket;

use std::sync::Arc;

/// Backends shared by every instance of every component: connection pools, stores, the
/// Kafka producer, the plugins and the metrics registry. Each instance gets a state of its own
/// per capability (`state.rs`), over these.
pub struct HostCapabilities {
    pub key_value: Arc<key_value::Stores>,
    pub postgres: Arc<postgres::Pools>,
    pub redis: Arc<redis::Clients>,
    /// Present when the manifest configures `[application.trigger.kafka]`.
    pub producer: Option<Arc<crate::kafka_client::Producer>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Ruleset-filter plugins from the runtime config (`[[ruleset_filter]]`).
    pub plugins: Arc<plugins::PluginSet>,
    /// Where chained requests (`http://<component>.spin.internal`) go: the HTTP trigger, once
    /// it is built.
    pub local_http: std::sync::OnceLock<std::sync::Weak<dyn outbound_http::LocalDispatch>>,
    /// WebSocket connections and the event stream, when `[application.trigger.websocket]` is set.
    pub websocket: Option<Arc<websocket::Hub>>,
    /// Where spans go, when an OTLP endpoint is configured.
    pub spans: Option<Arc<crate::telemetry::Spans>>,
}

impl HostCapabilities {
    pub fn new(
        key_value: key_value::Stores,
        producer: Option<Arc<crate::kafka_client::Producer>>,
        metrics: Arc<crate::metrics::Metrics>,
        plugins: Arc<plugins::PluginSet>,
        websocket: Option<Arc<websocket::Hub>>,
        connections: (postgres::PoolSettings, redis::ClientSettings),
        spans: Option<Arc<crate::telemetry::Spans>>,
    ) -> Self {
        Self {
            key_value: Arc::new(key_value),
            postgres: Arc::new(postgres::Pools::new(connections.0)),
            redis: Arc::new(redis::Clients::new(connections.1)),
            producer,
            metrics,
            plugins,
            local_http: std::sync::OnceLock::new(),
            websocket,
            spans,
        }
    }

    /// Describe a failed call into an instance of `component` started by `trigger`, and count
    /// it in `component_failures_total`.
    pub fn failure(&self, component: &str, trigger: &'static str, error: &wasmtime::Error) -> String {
        self.count_failure(component, trigger, crate::engine::failure_kind(error));
        crate::engine::describe_failure(error)
    }

    /// Count a failed invocation of `kind` (`deadline` too for one stopped while it waited in a
    /// host call, which no trap reports).
    pub fn count_failure(&self, component: &str, trigger: &'static str, kind: &'static str) {
        self.metrics.count(
            "component_failures_total",
            "Invocations that trapped, ran out of time or memory, or could not start.",
            &[("component", component), ("trigger", trigger), ("kind", kind)],
            1,
        );
    }

    /// An invocation's span, or `None` when spans are not exported (so triggers open spans
    /// only when they will be sent).
    pub fn open_span(&self, open: impl FnOnce() -> crate::telemetry::OpenSpan) -> Option<crate::telemetry::OpenSpan> {
        self.spans.as_ref().map(|_| open())
    }

    /// Finish a span [`Self::open_span`] gave, failed with `error` or not.
    pub fn finish_span(&self, span: Option<crate::telemetry::OpenSpan>, error: Option<&str>) {
        if let (Some(span), Some(spans)) = (span, &self.spans) {
            span.finish(spans, error);
        }
    }
}
