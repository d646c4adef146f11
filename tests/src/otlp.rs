//! An OTLP/HTTP endpoint for tests: it takes `POST /v1/traces` (protobuf), as a collector
//! would, and keeps every span it was sent.

use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A span as received, ids in hex.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a trace's first span.
    pub parent_span_id: String,
    pub name: String,
    /// OTLP's span kind number (2 server, 3 client, 4 producer, 5 consumer).
    pub kind: i32,
    /// String and integer attributes, as text.
    pub attributes: BTreeMap<String, String>,
    pub service: String,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
    /// The status code (2 is error) and message.
    pub status: (i32, String),
}

impl ReceivedSpan {
    pub fn component(&self) -> &str {
        self.attributes.get("battlescope.component").map(String::as_str).unwrap_or("")
    }

    pub fn duration_ms(&self) -> f64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano) as f64 / 1e6
    }
}

pub struct OtlpReceiver {
    pub base_url: String,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    task: tokio::task::JoinHandle<()>,
}

impl OtlpReceiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = spans.clone();
        let task = crate::http::serve(listener, move |req| receive(kept.clone(), req));
        Ok(Self { base_url, spans, task })
    }

    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(
    kept: Arc<Mutex<Vec<ReceivedSpan>>>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
    use http_body_util::BodyExt;
    let answer = |status: u16, body: Vec<u8>| {
        let mut r = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from(body)));
        *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
        r.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("application/x-protobuf"));
        r
    };
    let protobuf = req.headers().get("content-type").is_some_and(|v| v == "application/x-protobuf");
    if req.method() != hyper::Method::POST || req.uri().path() != "/v1/traces" || !protobuf {
        return answer(404, Vec::new());
    }
    let Ok(body) = req.into_body().collect().await.map(|b| b.to_bytes()) else { return answer(400, Vec::new()) };
    let Ok(request) = ExportTraceServiceRequest::decode(body) else { return answer(400, Vec::new()) };
    let mut spans = kept.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|a| a.key == "service.name")
            .and_then(|a| text(a.value.as_ref()?.value.as_ref()?))
            .unwrap_or_default();
        for span in resource.scope_spans.into_iter().flat_map(|s| s.spans) {
            let attributes =
                span.attributes.iter().filter_map(|a| Some((a.key.clone(), text(a.value.as_ref()?.value.as_ref()?)?))).collect();
            let status = span.status.map(|s| (s.code, s.message)).unwrap_or_default();
            spans.push(ReceivedSpan {
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_span_id: hex(&span.parent_span_id),
                name: span.name,
                kind: span.kind,
                attributes,
                service: service.clone(),
                start_unix_nano: span.start_time_unix_nano,
                end_unix_nano: span.end_time_unix_nano,
                status,
            });
        }
    }
    answer(200, ExportTraceServiceResponse::default().encode_to_vec())
}

fn text(value: &AnyValue) -> Option<String> {
    match value {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(i) => Some(i.to_string()),
        AnyValue::BoolValue(b) => Some(b.to_string()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
