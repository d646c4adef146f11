use super::{chained_component, OutboundHttp};
use crate::telemetry::Kind;
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
        let mut request = request;
        let span = self.calls.open(format!("http {}", request.method()), Kind::Client).map(|mut span| {
            span.attribute("http.request.method", request.method().to_string());
            span.attribute("url.full", request.uri().to_string());
            span
        });
        // The callee (another component, or a service that reads it) continues this trace.
        if !request.headers().contains_key("traceparent") {
            if let Ok(value) = http::HeaderValue::from_str(&self.calls.context_for(span.as_ref()).header()) {
                request.headers_mut().insert("traceparent", value);
            }
        }
        let calls = self.calls.clone();
        let finish = move |outcome: Result<http::StatusCode, &Error>| {
            let error = match outcome {
                Ok(status) if status.is_server_error() => Some(format!("status {status}")),
                Ok(_) => None,
                Err(e) => Some(format!("{e:?}")),
            };
            calls.close(span, error.as_deref());
        };
        if let Some(target) = chained_component(request.uri()).map(str::to_string) {
            let Some(local) = self.local.as_ref().and_then(|l| l.upgrade()) else {
                tracing::warn!(component = %self.access.component, target, "a chained request, but this application serves no HTTP");
                return Box::new(async { Err(Error::DestinationNotFound) });
            };
            let response = local.dispatch(&target, request);
            let done: IoFuture = Box::new(async { Ok(()) });
            return Box::new(async move {
                let response = response.await;
                finish(response.as_ref().map(http::Response::status));
                Ok((response?, done))
            });
        }
        let options = Some(with_default_timeouts(options));
        Box::new(async move {
            let sent = wasmtime_wasi_http::default_send_request(request, options).await;
            finish(sent.as_ref().map(|(response, _)| response.status()));
            let (response, io) = sent?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
        })
    }
}
