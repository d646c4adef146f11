//! Outbound HTTP (`wasi:http/outgoing-handler`): wasmtime-wasi-http does the I/O; this module
//! is the hook that enforces `allowed_outbound_hosts` before a request leaves the host.

mod host;

use crate::component::ComponentContext;
use std::sync::Arc;

/// Per-instance hook state for wasi:http.
pub struct OutboundHttp {
    component: Arc<ComponentContext>,
}

impl OutboundHttp {
    pub fn new(component: Arc<ComponentContext>) -> Self {
        Self { component }
    }

    /// Whether the component may send a request to `uri`.
    fn permits(&self, uri: &http::Uri) -> bool {
        let Some(host) = uri.host() else { return false };
        let scheme = uri.scheme_str().unwrap_or("https");
        self.component.allowed_outbound_hosts.allows(scheme, host, uri.port_u16())
    }
}
