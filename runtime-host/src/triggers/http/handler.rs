//! One request: route it, add Spin's headers, run a fresh instance under its deadline.

use super::routes::RouteMatch;
use super::{limits, HttpComponent, HttpTrigger, RouteTarget};
use crate::component::{Invocation, LoadedComponent};
use crate::telemetry::Kind;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiBody, WasiHttpView};

const HOST_PREFIX: &str = "/.well-known/battlescope/";

fn plain(status: StatusCode, body: impl Into<String>) -> Response<HyperOutgoingBody> {
    let body = Full::new(bytes::Bytes::from(body.into())).map_err(|never| match never {}).boxed_unsync();
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// The headers Spin gives a routed request.
fn add_spin_headers<B>(req: &mut Request<B>, matched: &RouteMatch<'_, RouteTarget>, full_url: String, client: String) {
    let spin_headers = [
        ("spin-full-url", full_url),
        ("spin-path-info", matched.path_info.clone()),
        ("spin-matched-route", matched.pattern.raw().to_string()),
        ("spin-raw-component-route", matched.pattern.raw().to_string()),
        ("spin-component-route", matched.pattern.base()),
        ("spin-base-path", "/".to_string()),
        ("spin-client-addr", client),
    ];
    for (name, value) in spin_headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            req.headers_mut().insert(name, v);
        }
    }
}

/// One routed request's metrics: counted by status, timed to its response head.
struct Measure {
    component: String,
    route: String,
    method: &'static str,
    started: std::time::Instant,
}

impl Measure {
    fn start(component: &str, route: &str, method: &http::Method) -> Self {
        // Methods outside the standard set share one label, so clients cannot add series.
        let method = match *method {
            http::Method::GET => "GET",
            http::Method::HEAD => "HEAD",
            http::Method::POST => "POST",
            http::Method::PUT => "PUT",
            http::Method::PATCH => "PATCH",
            http::Method::DELETE => "DELETE",
            http::Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        Self { component: component.to_string(), route: route.to_string(), method, started: std::time::Instant::now() }
    }

    fn record(self, metrics: &crate::metrics::Metrics, status: StatusCode) {
        let labels = [("component", self.component.as_str()), ("route", self.route.as_str()), ("method", self.method)];
        metrics.observe(
            "http_request_duration_seconds",
            "Time from a routed request's arrival to its response head.",
            &labels,
            self.started.elapsed(),
        );
        let [component, route, method] = labels;
        metrics.count(
            "http_requests_total",
            "Requests routed to components, by response status.",
            &[component, route, method, ("status", status.as_str())],
            1,
        );
    }
}

/// Why the host, not the component, answered.
enum Refusal {
    /// The component did not answer within the request's budget.
    Deadline,
    /// The component trapped, returned no response, or failed otherwise.
    Failed,
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
        if let Some(ws) = self.websocket.as_ref().filter(|ws| ws.claims(&req)) {
            return Ok(ws.clone().upgrade(req).await);
        }
        if self.cors.is_preflight(req.method(), req.headers()) {
            let (status, headers) = self.cors.preflight(req.headers());
            let mut r = plain(status, "");
            r.headers_mut().extend(headers);
            return Ok(r);
        }
        let Some(matched) = self.router.route(&path) else {
            return Ok(plain(StatusCode::NOT_FOUND, format!("no route for {path}\n")));
        };
        let target = matched.target.clone();
        let measure = Measure::start(&target.component.id, matched.pattern.as_str(), req.method());
        let origin = req.headers().get(http::header::ORIGIN).cloned();
        if let Some(length) = limits::declared_length(req.headers()).filter(|l| *l > target.max_body_bytes) {
            return Ok(too_large(&path, length, target.max_body_bytes));
        }
        // Only the host may say a request is chained.
        if req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).is_some_and(|h| h.ends_with(".spin.internal")) {
            req.headers_mut().remove(http::header::HOST);
        }
        let full_url = format!(
            "http://{}{}",
            req.headers().get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or(&local.to_string()),
            req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/")
        );
        add_spin_headers(&mut req, &matched, full_url, client.to_string());
        let (req, exceeded) = {
            let (parts, body) = req.into_parts();
            let (body, exceeded) = limits::CappedBody::new(body, target.max_body_bytes);
            (Request::from_parts(parts, body), exceeded)
        };
        let mut response = self.run_within_budget(&target.component, matched.pattern.as_str(), req).await;
        if exceeded.load(Ordering::Relaxed) {
            response = too_large(&path, target.max_body_bytes + 1, target.max_body_bytes);
        }
        self.cors.decorate(origin.as_ref(), response.headers_mut());
        measure.record(&self.capabilities.metrics, response.status());
        Ok(response)
    }

    /// A request that came from a component of this application (Spin's service chaining):
    /// routed like one from outside, but only to `component`, and never off the host.
    pub(super) async fn chained(
        self: Arc<Self>,
        component: String,
        mut req: Request<WasiBody>,
    ) -> Result<Response<WasiBody>, wasmtime_wasi_http::Error> {
        let path = req.uri().path().to_string();
        let Some(matched) = self.router.route(&path).filter(|m| m.target.component.id == component) else {
            tracing::warn!(component, path, "a chained request that no route of the component matches");
            return Err(wasmtime_wasi_http::Error::DestinationNotFound);
        };
        let target = matched.target.component.clone();
        let measure = Measure::start(&component, matched.pattern.as_str(), req.method());
        let host = format!("{component}.spin.internal");
        let full_url = format!("http://{host}{}", req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"));
        add_spin_headers(&mut req, &matched, full_url, "127.0.0.1:0".into());
        if let Ok(v) = HeaderValue::from_str(&host) {
            req.headers_mut().insert(http::header::HOST, v);
        }
        let response = self.run_within_budget(&target, matched.pattern.as_str(), req).await;
        measure.record(&self.capabilities.metrics, response.status());
        Ok(response)
    }

    /// Run the component if the HTTP share of instances has room; 503 at once if not.
    async fn run_within_budget<B>(&self, target: &Arc<HttpComponent>, route: &str, req: Request<B>) -> Response<HyperOutgoingBody>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let Some(_permit) = self.budget.try_take() else {
            self.capabilities.metrics.count(
                "http_requests_shed_total",
                "Requests answered 503 because HTTP held all the instances it may (max_concurrent_requests).",
                &[("component", &target.id)],
                1,
            );
            let mut r = plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("busy: {} requests are running, the most this host takes at once; retry shortly\n", self.budget.size()),
            );
            r.headers_mut().insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
            return r;
        };
        self.run_component(target.clone(), route, req).await
    }

    async fn run_component<B>(&self, target: Arc<HttpComponent>, route: &str, req: Request<B>) -> Response<HyperOutgoingBody>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let parent = req.headers().get("traceparent").map(|v| v.as_bytes());
        let invocation = Invocation::new("http", parent);
        let span = self.capabilities.open_span(|| {
            let mut span = invocation.span(format!("{} {route}", req.method()), Kind::Server, &target.id);
            span.attribute("http.request.method", req.method().to_string());
            span.attribute("http.route", route.to_string());
            span
        });
        let response = self.respond(target, &invocation, req).await;
        let status = response.status();
        self.capabilities.finish_span(
            span.map(|mut s| {
                s.attribute("http.response.status_code", i64::from(status.as_u16()));
                s
            }),
            status.is_server_error().then(|| status.as_str()),
        );
        response
    }

    /// The component's response to `req`, or the host's when it gave none in time.
    async fn respond<B>(
        &self,
        target: Arc<HttpComponent>,
        invocation: &Invocation,
        req: Request<B>,
    ) -> Response<HyperOutgoingBody>
    where
        B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let timeout = self.settings.request_timeout;
        let mut store = LoadedComponent::store(&target.context, target.pre.engine(), &self.capabilities, timeout, invocation);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let prepared = (|| {
            let req = store.data_mut().http().new_incoming_request(Scheme::Http, req)?;
            let out = store.data_mut().http().new_response_outparam(sender)?;
            wasmtime::Result::Ok((req, out))
        })();
        let (wasi_req, out) = match prepared {
            Ok(p) => p,
            Err(e) => {
                let cause = self.capabilities.failure(&target.id, "http", &e);
                return self.failure(&target, Refusal::Failed, "preparing the request", cause);
            }
        };
        let component = target.clone();
        let task = tokio::spawn(async move {
            let proxy = component.pre.instantiate_async(&mut store).await?;
            proxy.wasi_http_incoming_handler().call_handle(&mut store, wasi_req, out).await
        });
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(Ok(response))) => response,
            Ok(Ok(Err(code))) => self.failure(&target, Refusal::Failed, "handling the request", format!("{code:?}")),
            Ok(Err(_)) => {
                let (refusal, cause) = match task.await {
                    Ok(Ok(())) => (Refusal::Failed, "the component returned without setting a response".to_string()),
                    Ok(Err(e)) if matches!(e.downcast_ref::<wasmtime::Trap>(), Some(wasmtime::Trap::Interrupt)) => {
                        (Refusal::Deadline, self.capabilities.failure(&target.id, "http", &e))
                    }
                    Ok(Err(e)) => (Refusal::Failed, self.capabilities.failure(&target.id, "http", &e)),
                    Err(e) => (Refusal::Failed, format!("the instance task failed: {e}")),
                };
                self.failure(&target, refusal, "handling the request", cause)
            }
            Err(_) => {
                task.abort();
                self.capabilities.count_failure(&target.id, "http", "deadline");
                self.failure(&target, Refusal::Deadline, "handling the request", format!("no response within {timeout:?}"))
            }
        }
    }

    /// The cause goes to the log, with an id the client is given: traps carry backtraces and
    /// database errors carry addresses, neither of which is the client's business.
    fn failure(&self, target: &HttpComponent, refusal: Refusal, what: &str, cause: String) -> Response<HyperOutgoingBody> {
        let incident = next_incident();
        tracing::error!(component = %target.id, incident, "{what} failed: {cause}");
        match refusal {
            Refusal::Deadline => plain(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "component `{}` did not answer within {:?} (incident {incident})\n",
                    target.id, self.settings.request_timeout
                ),
            ),
            Refusal::Failed => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("component `{}` failed (incident {incident}; the host's log has the cause)\n", target.id),
            ),
        }
    }

    fn host_endpoint(&self, endpoint: &str) -> Response<HyperOutgoingBody> {
        match endpoint {
            "health" => plain(StatusCode::OK, "ok\n"),
            "ready" if !self.ready.load(Ordering::SeqCst) => plain(StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
            "ready" => match self.readiness.waiting_for() {
                None => plain(StatusCode::OK, "ready\n"),
                Some(waiting) => plain(StatusCode::SERVICE_UNAVAILABLE, format!("waiting for\n{waiting}")),
            },
            "metrics" => {
                let mut r = plain(StatusCode::OK, self.capabilities.metrics.render());
                r.headers_mut()
                    .insert(http::header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
                r
            }
            _ => plain(StatusCode::NOT_FOUND, format!("no host endpoint {endpoint}\n")),
        }
    }
}

fn too_large(path: &str, length: u64, limit: u64) -> Response<HyperOutgoingBody> {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body of a request to {path} may be at most {limit} bytes; this one is {length} or more\n"),
    )
}

/// Ids that tie a client's error to the host's log line, unique within this process's run.
fn next_incident() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let start = START
        .get_or_init(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0));
    format!("{start:x}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
