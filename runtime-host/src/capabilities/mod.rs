//! Host capabilities: one module per interface a component can import. Each module keeps its
//! lifecycle (backends, pools, configuration) in `mod.rs` and its WIT implementation in
//! `host.rs`.

pub mod allowed_hosts;
pub mod key_value;
pub mod outbound_http;
pub mod plugins;
pub mod postgres;
pub mod producer;
pub mod redis;
pub mod variables;

use crate::state::InstanceState;
use std::sync::Arc;
use wasmtime::component::{HasSelf, Linker};

/// Backends shared by every instance of every component: connection pools, stores, the
/// Kafka producer and the metrics registry.
pub struct HostCapabilities {
    pub key_value: key_value::Stores,
    pub postgres: postgres::Pools,
    pub redis: redis::Clients,
    /// Present when the manifest configures `[application.trigger.kafka]`.
    pub producer: Option<Arc<crate::kafka_client::Producer>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Ruleset-filter plugins from the runtime config (`[[ruleset_filter]]`).
    pub plugins: plugins::PluginSet,
}

impl HostCapabilities {
    pub fn new(
        key_value: key_value::Stores,
        producer: Option<Arc<crate::kafka_client::Producer>>,
        metrics: Arc<crate::metrics::Metrics>,
        plugins: plugins::PluginSet,
    ) -> Self {
        Self { key_value, postgres: postgres::Pools::default(), redis: redis::Clients::default(), producer, metrics, plugins }
    }
}

/// Add WASI, wasi:http and every Spin capability to `linker`.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    crate::bindings::spin::SpinCapabilities::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    crate::bindings::kafka::KafkaTrigger::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    crate::bindings::plugins::runner::PluginRunner::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}
