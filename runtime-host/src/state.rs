//! What one component instance carries in its `Store`: WASI state, and each capability's own
//! per-instance state over the host-wide backends. This file is where capabilities meet: it
//! builds their states and links their interfaces, each to its own state.

use crate::capabilities::key_value::KeyValueState;
use crate::capabilities::outbound_http::OutboundHttp;
use crate::capabilities::plugins::PluginsState;
use crate::capabilities::postgres::PostgresState;
use crate::capabilities::producer::ProducerState;
use crate::capabilities::redis::RedisState;
use crate::capabilities::variables::VariablesState;
use crate::capabilities::websocket::WebSocketState;
use crate::capabilities::HostCapabilities;
use crate::component::accounting::InstanceAccounting;
use crate::component::context::ComponentContext;
use crate::component::output::{ComponentOutput, Stream};
use crate::component::Invocation;
use crate::telemetry::CallSpans;
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct InstanceState {
    /// The store's resource limiter, and what the instance counts in the metrics.
    pub accounting: InstanceAccounting,
    /// WASI's and wasi:http's resources (each capability keeps its own).
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound_http: OutboundHttp,
    variables: VariablesState,
    key_value: KeyValueState,
    postgres: PostgresState,
    redis: RedisState,
    producer: ProducerState,
    plugins: PluginsState,
    websocket: WebSocketState,
}

impl InstanceState {
    pub fn new(component: &ComponentContext, capabilities: &HostCapabilities, invocation: &Invocation) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.stdout(ComponentOutput::new(&component.id, Stream::Stdout, invocation));
        wasi.stderr(ComponentOutput::new(&component.id, Stream::Stderr, invocation));
        for (key, value) in &component.environment {
            wasi.env(key, value);
        }
        // The instance's span, for what the component writes to an outbox (published later,
        // by the host's relay, in this trace).
        wasi.env("TRACEPARENT", invocation.trace.header());
        let calls = CallSpans::new(capabilities.spans.clone(), invocation.trace.clone(), &component.id);
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(component.limits.memory_bytes)
            .instances(component.limits.max_core_instances)
            .trap_on_grow_failure(true)
            .build();
        let access = &component.access;
        Self {
            accounting: InstanceAccounting::new(capabilities.metrics.clone(), &component.id, limits),
            table: ResourceTable::new(),
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
            outbound_http: OutboundHttp::new(access.clone(), capabilities.local_http.get().cloned(), calls.clone()),
            variables: VariablesState::new(component.variables.clone()),
            key_value: KeyValueState::new(capabilities.key_value.clone(), access.clone()),
            postgres: PostgresState::new(
                capabilities.postgres.clone(),
                access.clone(),
                capabilities.metrics.clone(),
                calls.clone(),
            ),
            redis: RedisState::new(capabilities.redis.clone(), access.clone(), calls.clone()),
            producer: ProducerState::new(capabilities.producer.clone(), access.clone(), calls.clone()),
            plugins: PluginsState::new(capabilities.plugins.clone(), calls.clone()),
            websocket: WebSocketState::new(capabilities.websocket.clone(), access.clone(), calls),
        }
    }
}

/// Which interfaces components get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Everything this host provides.
    Host,
    /// Spin 3.6's platform only (`--spin-only`): what runs here then runs on Spin.
    Spin,
}

impl Platform {
    pub fn name(self) -> &'static str {
        match self {
            Platform::Host => "this host",
            Platform::Spin => "Spin 3.6 (--spin-only)",
        }
    }
}

/// Add WASI, wasi:http and Spin's capability interfaces to `linker`, and for the full host
/// BattleScope's own (producer, plugin runner, WebSocket), each served by its own part of the
/// instance state.
pub fn add_to_linker(linker: &mut Linker<InstanceState>, platform: Platform) -> anyhow::Result<()> {
    use crate::bindings::websocket::battlescope::websocket as ws;
    use crate::bindings::{kafka, key_value, plugins, postgres, redis, variables};
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    variables::add_to_linker::<_, HasSelf<VariablesState>>(linker, |s| &mut s.variables)?;
    key_value::add_to_linker::<_, HasSelf<KeyValueState>>(linker, |s| &mut s.key_value)?;
    redis::add_to_linker::<_, HasSelf<RedisState>>(linker, |s| &mut s.redis)?;
    postgres::add_to_linker::<_, HasSelf<PostgresState>>(linker, |s| &mut s.postgres)?;
    if platform == Platform::Spin {
        return Ok(());
    }
    kafka::battlescope::kafka::types::add_to_linker::<_, HasSelf<ProducerState>>(linker, |s| &mut s.producer)?;
    kafka::battlescope::kafka::producer::add_to_linker::<_, HasSelf<ProducerState>>(linker, |s| &mut s.producer)?;
    plugins::types::add_to_linker::<_, HasSelf<PluginsState>>(linker, |s| &mut s.plugins)?;
    plugins::runner::battlescope::ruleset_filter::runner::add_to_linker::<_, HasSelf<PluginsState>>(linker, |s| &mut s.plugins)?;
    ws::types::add_to_linker::<_, HasSelf<WebSocketState>>(linker, |s| &mut s.websocket)?;
    ws::connections::add_to_linker::<_, HasSelf<WebSocketState>>(linker, |s| &mut s.websocket)?;
    ws::publisher::add_to_linker::<_, HasSelf<WebSocketState>>(linker, |s| &mut s.websocket)?;
    Ok(())
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound_http }
    }
}
