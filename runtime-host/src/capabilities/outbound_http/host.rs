use super::OutboundHttp;
use http_body_util::BodyExt;
use std::future::Future;
use wasmtime_wasi_http::{Error, RequestOptions, WasiHttpHooks};

use wasmtime_wasi_http::WasiBody;
type IoFuture = Box<dyn Future<Output = Result<(), Error>> + Send>;

impl WasiHttpHooks for OutboundHttp {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _request_io: IoFuture,
    ) -> Box<dyn Future<Output = Result<(http::Response<WasiBody>, IoFuture), Error>> + Send> {
        if !self.permits(request.uri()) {
            tracing::warn!(component = %self.component.id, uri = %request.uri(),
                "denied outbound HTTP request: destination is not in allowed_outbound_hosts");
            return Box::new(async { Err(Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as IoFuture))
        })
    }
}
