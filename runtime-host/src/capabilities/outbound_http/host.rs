use super::{chained_component, OutboundHttp};
use http_body_util::BodyExt;
use std::future::Future;
use std::time::Duration;
use wasmtime_wasi_http::{Error, RequestOptions, WasiHttpHooks};

use wasmtime_wasi_http::WasiBody;
type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

/// A component that sets no timeouts gets these, not wasi-http's ten minutes: a hung upstream
/// then fails the request (which the component can count and back off from) well before the
/// instance's own deadline.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(20);
const BETWEEN_BYTES_TIMEOUT: Duration = Duration::from_secs(20);

fn with_default_timeouts(options: Option<RequestOptions>) -> RequestOptions {
    let given =
        options.unwrap_or(RequestOptions { connect_timeout: None, first_byte_timeout: None, between_bytes_timeout: None });
    RequestOptions {
        connect_timeout: given.connect_timeout.or(Some(CONNECT_TIMEOUT)),
        first_byte_timeout: given.first_byte_timeout.or(Some(FIRST_BYTE_TIMEOUT)),
        between_bytes_timeout: given.between_bytes_timeout.or(Some(BETWEEN_BYTES_TIMEOUT)),
    }
}

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _request_io: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), Error>> + Send> {
        if !self.permits(request.uri()) {
            tracing::warn!(component = %self.access.component, uri = %request.uri(),
                "denied outbound HTTP request: destination is not in allowed_outbound_hosts");
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        if let Some(target) = chained_component(request.uri()).map(str::to_string) {
            let Some(local) = self.local.as_ref().and_then(|l| l.upgrade()) else {
                tracing::warn!(component = %self.access.component, target, "a chained request, but this application serves no HTTP");
                return Box::new(async { Err(Error::DestinationNotFound) });
            };
            let response = local.dispatch(&target, request);
            let done: IoFuture = Box::new(async { Ok(()) });
            return Box::new(async move { Ok((response.await?, done)) });
        }
        let options = Some(with_default_timeouts(options));
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
        })
    }
}
