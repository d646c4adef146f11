//! Host capabilities: one module per interface a component can import. Each module keeps its
//! lifecycle (backends, pools, configuration) in `mod.rs` and its WIT implementation in
//! `host.rs`.

pub mod allowed_hosts;
pub mod key_value;
pub mod outbound_http;
pub mod postgres;
pub mod redis;
pub mod variables;

use crate::state::InstanceState;
use wasmtime::component::{HasSelf, Linker};

/// Backends shared by every instance of every component: connection pools and stores.
pub struct HostCapabilities {
    pub key_value: key_value::Stores,
    pub postgres: postgres::Pools,
    pub redis: redis::Clients,
}

impl HostCapabilities {
    pub fn new(key_value: key_value::Stores) -> Self {
        Self { key_value, postgres: postgres::Pools::default(), redis: redis::Clients::default() }
    }
}

/// Add WASI, wasi:http and every Spin capability to `linker`.
pub fn add_to_linker(linker: &mut Linker<InstanceState>) -> anyhow::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    crate::bindings::SpinCapabilities::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}
