//! What one component instance carries in its `Store`: WASI state, the component's own
//! configuration, and handles to the host-wide capability backends.

use crate::capabilities::{outbound_http::OutboundHttp, HostCapabilities};
use crate::component::ComponentContext;
use std::sync::Arc;
use wasmtime::component::ResourceTable;
use wasmtime::StoreLimits;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

pub struct InstanceState {
    pub component: Arc<ComponentContext>,
    pub capabilities: Arc<HostCapabilities>,
    pub table: ResourceTable,
    pub limits: StoreLimits,
    /// Trace context of the message or request being handled; published messages carry a
    /// child of it.
    pub trace: Option<crate::trace::TraceParent>,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound_http: OutboundHttp,
}

impl InstanceState {
    pub fn new(component: Arc<ComponentContext>, capabilities: Arc<HostCapabilities>) -> Self {
        let mut wasi = WasiCtx::builder();
        wasi.inherit_stdout().inherit_stderr();
        for (key, value) in &component.environment {
            wasi.env(key, value);
        }
        let limits = wasmtime::StoreLimitsBuilder::new()
            .memory_size(component.limits.memory_bytes)
            .instances(component.limits.max_core_instances)
            .trap_on_grow_failure(true)
            .build();
        Self {
            outbound_http: OutboundHttp::new(component.clone()),
            component,
            capabilities,
            table: ResourceTable::new(),
            limits,
            trace: None,
            wasi: wasi.build(),
            http: WasiHttpCtx::new(),
        }
    }
}

impl WasiView for InstanceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for InstanceState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.outbound_http,
        }
    }
}
