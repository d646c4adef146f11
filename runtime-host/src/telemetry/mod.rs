//! Spans, exported with OTLP (HTTP/protobuf) when an endpoint is configured (`--otlp-endpoint`
//! or `OTEL_EXPORTER_OTLP_ENDPOINT`); off by default. Each instance is a span that continues
//! the trace of what started it (`component::Invocation`), and its capability calls (Postgres,
//! Redis, outbound HTTP, Kafka publishes, WebSocket pushes) are its children.
//!
//! Spans are queued and sent in batches by one task; when the collector is slow or down, spans
//! past the queue are dropped and counted (`otlp_spans_dropped_total`), never waited for: a
//! trace is worth less than the killmail it follows.

mod http_client;
mod span;

pub use span::{CallSpans, Kind, OpenSpan};

use crate::metrics::Metrics;
use anyhow::Context;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Spans waiting to be sent; more are dropped.
const QUEUE: usize = 16_384;
/// Spans per OTLP request.
const BATCH: usize = 512;
/// How long a span waits for its batch to fill (and so, at most, what a crash loses).
const LINGER: Duration = Duration::from_millis(500);

const DROPPED_HELP: &str = "Spans not exported: the queue was full, or the OTLP endpoint failed.";

/// Where finished spans go.
pub struct Spans {
    queue: mpsc::Sender<SpanData>,
    metrics: Arc<Metrics>,
}

impl Spans {
    /// Start exporting to `endpoint` (the collector's base URL, e.g. `http://127.0.0.1:4318`;
    /// spans are POSTed to `/v1/traces` under it) as service `service` of replica `replica`.
    pub fn start(endpoint: &str, service: &str, replica: &str, metrics: Arc<Metrics>) -> anyhow::Result<Arc<Self>> {
        let traces_url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
        let client = http_client::OtlpHttp::new(&traces_url).with_context(|| format!("OTLP endpoint {endpoint:?}"))?;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url.clone())
            .with_timeout(Duration::from_secs(10))
            .with_http_client(client)
            .build()
            .with_context(|| format!("building the OTLP exporter for {traces_url}"))?;
        let resource = opentelemetry_sdk::Resource::builder_empty()
            .with_service_name(service.to_string())
            .with_attributes([opentelemetry::KeyValue::new("service.instance.id", replica.to_string())])
            .build();
        exporter.set_resource(&resource);
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(send_batches(exporter, receiver, metrics.clone(), traces_url.clone()));
        tracing::info!(endpoint = %traces_url, "exporting spans with OTLP");
        Ok(Arc::new(Self { queue, metrics }))
    }

    fn submit(&self, span: SpanData) {
        if self.queue.try_send(span).is_err() {
            self.metrics.count("otlp_spans_dropped_total", DROPPED_HELP, &[], 1);
        }
    }
}

async fn send_batches(
    exporter: opentelemetry_otlp::SpanExporter,
    mut receiver: mpsc::Receiver<SpanData>,
    metrics: Arc<Metrics>,
    url: String,
) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut failing = false;
    loop {
        let Some(first) = receiver.recv().await else { return };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < BATCH {
            match tokio::time::timeout_at(deadline, receiver.recv()).await {
                Ok(Some(span)) => batch.push(span),
                Ok(None) | Err(_) => break,
            }
        }
        let sent = batch.len() as u64;
        match exporter.export(std::mem::take(&mut batch)).await {
            Ok(()) => {
                metrics.count("otlp_spans_exported_total", "Spans the OTLP endpoint accepted.", &[], sent);
                if failing {
                    tracing::info!(endpoint = %url, "the OTLP endpoint takes spans again");
                }
                failing = false;
            }
            Err(e) => {
                metrics.count("otlp_spans_dropped_total", DROPPED_HELP, &[], sent);
                metrics.count("otlp_export_failures_total", "OTLP requests that failed.", &[], 1);
                // Once per outage, not once per batch.
                if !failing {
                    tracing::warn!(endpoint = %url, error = %e, "cannot export spans; dropping them until the endpoint answers");
                }
                failing = true;
            }
        }
    }
}
