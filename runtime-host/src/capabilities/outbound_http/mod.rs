//! Outbound HTTP (`wasi:http/outgoing-handler`): wasmtime-wasi-http does the I/O; this module
//! is the hook that enforces `allowed_outbound_hosts` before a request leaves the host, and
//! routes Spin's service chaining (`http://<component>.spin.internal/...`) to the named
//! component in-process, as Spin does, so the same component runs unchanged on Spin.

mod host;

use super::access::Access;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use wasmtime_wasi_http::WasiBody;

/// The host of Spin's service chaining: `<component>.spin.internal`.
const CHAINING_SUFFIX: &str = ".spin.internal";

/// A response to a chained request, or the wasi-http error code the caller sees.
pub type LocalResponse = Pin<Box<dyn Future<Output = Result<http::Response<WasiBody>, wasmtime_wasi_http::Error>> + Send>>;

/// Handles a request addressed to a component of this application, without a socket (the
/// HTTP trigger).
pub trait LocalDispatch: Send + Sync {
    fn dispatch(&self, component: &str, request: http::Request<WasiBody>) -> LocalResponse;
}

/// Per-instance hook state for wasi:http.
pub struct OutboundHttp {
    access: Arc<Access>,
    local: Option<Weak<dyn LocalDispatch>>,
    calls: crate::telemetry::CallSpans,
}

impl OutboundHttp {
    pub fn new(access: Arc<Access>, local: Option<Weak<dyn LocalDispatch>>, calls: crate::telemetry::CallSpans) -> Self {
        Self { access, local, calls }
    }

    /// Whether the component may send a request to `uri`.
    fn permits(&self, uri: &http::Uri) -> bool {
        let Some(host) = uri.host() else { return false };
        let scheme = uri.scheme_str().unwrap_or("https");
        self.access.allowed_hosts.allows(scheme, host, uri.port_u16())
    }
}

/// The component a chained request is for, when `uri` is one.
fn chained_component(uri: &http::Uri) -> Option<&str> {
    uri.host()?.strip_suffix(CHAINING_SUFFIX).filter(|c| !c.is_empty() && !c.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chained_requests_name_a_component() {
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        assert_eq!(chained_component(&uri("http://enrichment.spin.internal/api/x")), Some("enrichment"));
        assert_eq!(chained_component(&uri("http://a.b.spin.internal/")), None);
        assert_eq!(chained_component(&uri("http://spin.internal/")), None);
        assert_eq!(chained_component(&uri("https://esi.evetech.net/latest")), None);
    }
}
