//! One request: route it, add Spin's headers, run a fresh instance under its deadline.

use super::{HttpComponent, HttpTrigger};
use crate::component::{describe_failure, LoadedComponent};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::WasiHttpView;

const HOST_PREFIX: &str = "/.well-known/battlescope/";

fn plain(status: StatusCode, body: impl Into<String>) -> Response<HyperOutgoingBody> {
    let body = Full::new(bytes::Bytes::from(body.into()))
        .map_err(|never| match never {})
        .boxed_unsync();
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

impl HttpTrigger {
    pub(super) async fn handle(
        self: Arc<Self>,
        mut req: Request<hyper::body::Incoming>,
        client: SocketAddr,
        local: SocketAddr,
    ) -> anyhow::Result<Response<HyperOutgoingBody>> {
        let path = req.uri().path().to_string();
        if let Some(endpoint) = path.strip_prefix(HOST_PREFIX) {
            return Ok(self.host_endpoint(endpoint));
        }
        let Some(matched) = self.router.route(&path) else {
            return Ok(plain(StatusCode::NOT_FOUND, format!("no route for {path}\n")));
        };
        let target = matched.target.clone();
        let full_url = format!(
            "http://{}{}",
            req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(&local.to_string()),
            req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        let spin_headers = [
            ("spin-full-url", full_url),
            ("spin-path-info", matched.path_info.clone()),
            ("spin-matched-route", matched.pattern.raw().to_string()),
            ("spin-raw-component-route", matched.pattern.raw().to_string()),
            ("spin-component-route", matched.pattern.base()),
            ("spin-base-path", "/".to_string()),
            ("spin-client-addr", client.to_string()),
        ];
        for (name, value) in spin_headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                req.headers_mut().insert(name, v);
            }
        }
        let response = self.run_component(target.clone(), req).await;
        self.capabilities.metrics.count(
            "http_requests_total",
            "Requests routed to components, by response status.",
            &[("component", target.id.as_str()), ("status", response.status().as_str())],
            1,
        );
        Ok(response)
    }

    async fn run_component(
        &self,
        target: Arc<HttpComponent>,
        req: Request<hyper::body::Incoming>,
    ) -> Response<HyperOutgoingBody> {
        let timeout = self.settings.request_timeout;
        let mut store = LoadedComponent::store(&target.context, target.pre.engine(), &self.capabilities, timeout);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = (|| {
            let req = store.data_mut().http().new_incoming_request(Scheme::Http, req)?;
            let out = store.data_mut().http().new_response_outparam(sender)?;
            wasmtime::Result::Ok((req, out))
        })();
        let (wasi_req, out) = match prepared {
            Ok(p) => p,
            Err(e) => return self.failure(&target, "preparing the request", describe_failure(&e)),
        };
        let component = target.clone();
        let task = tokio::spawn(async move {
            let proxy = component.pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(&mut store, wasi_req, out).await
        });
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(Ok(response))) => response,
            Ok(Ok(Err(code))) => self.failure(&target, "handling the request", format!("{code:?}")),
            Ok(Err(_)) => {
                let cause = match task.await {
                    Ok(Ok(())) => "the component returned without setting a response".to_string(),
                    Ok(Err(e)) => describe_failure(&e),
                    Err(e) => format!("the instance task failed: {e}"),
                };
                self.failure(&target, "handling the request", cause)
            }
            Err(_) => {
                task.abort();
                self.failure(&target, "handling the request", format!("no response within {timeout:?}"))
            }
        }
    }

    fn failure(&self, target: &HttpComponent, what: &str, cause: String) -> Response<HyperOutgoingBody> {
        tracing::error!(component = %target.id, "{what} failed: {cause}");
        plain(StatusCode::INTERNAL_SERVER_ERROR, format!("component `{}` failed: {cause}\n", target.id))
    }

    fn host_endpoint(&self, endpoint: &str) -> Response<HyperOutgoingBody> {
        match endpoint {
            "health" => plain(StatusCode::OK, "ok\n"),
            "ready" if self.ready.load(Ordering::SeqCst) => plain(StatusCode::OK, "ready\n"),
            "ready" => plain(StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
            "metrics" => {
                let mut r = plain(StatusCode::OK, self.capabilities.metrics.render());
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                r
            }
            _ => plain(StatusCode::NOT_FOUND, format!("no host endpoint {endpoint}\n")),
        }
    }
}
