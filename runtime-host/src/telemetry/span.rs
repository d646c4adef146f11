//! Spans as BattleScope records them: opened with the ids the trace context already carries
//! (so the `traceparent` a component's messages name is the span exported), closed with
//! their outcome, and handed to the exporter.

use super::Spans;
use crate::trace::TraceParent;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use std::sync::Arc;
use std::time::SystemTime;

/// What a span stands for, in OTLP's terms.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// An HTTP request or WebSocket event handled.
    Server,
    /// A Kafka message or Redis message handled.
    Consumer,
    /// A call out: Postgres, Redis, HTTP.
    Client,
    /// A message published: Kafka, the WebSocket event stream.
    Producer,
    /// A cron run.
    Internal,
}

/// A span not finished yet.
pub struct OpenSpan {
    name: String,
    kind: Kind,
    context: TraceParent,
    parent: Option<[u8; 8]>,
    started: SystemTime,
    attributes: Vec<KeyValue>,
}

impl OpenSpan {
    /// A span whose own ids are `context`'s, under the span `parent` (of the same trace).
    pub fn new(name: impl Into<String>, kind: Kind, context: TraceParent, parent: Option<[u8; 8]>, started: SystemTime) -> Self {
        Self { name: name.into(), kind, context, parent, started, attributes: Vec::new() }
    }

    pub fn attribute(&mut self, key: &'static str, value: impl Into<Value>) {
        self.attributes.push(KeyValue::new(key, value));
    }

    /// Close the span now, failed with `error` or not, and send it.
    pub fn finish(self, spans: &Spans, error: Option<&str>) {
        let kind = match self.kind {
            Kind::Server => SpanKind::Server,
            Kind::Consumer => SpanKind::Consumer,
            Kind::Client => SpanKind::Client,
            Kind::Producer => SpanKind::Producer,
            Kind::Internal => SpanKind::Internal,
        };
        let flags = TraceFlags::new(self.context.flags);
        let context = SpanContext::new(
            TraceId::from_bytes(self.context.trace_id),
            SpanId::from_bytes(self.context.span_id),
            flags,
            false,
            TraceState::NONE,
        );
        spans.submit(SpanData {
            span_context: context,
            parent_span_id: self.parent.map(SpanId::from_bytes).unwrap_or(SpanId::INVALID),
            parent_span_is_remote: false,
            span_kind: kind,
            name: self.name.into(),
            start_time: self.started,
            end_time: SystemTime::now(),
            attributes: self.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: error.map(|e| Status::error(e.to_string())).unwrap_or(Status::Ok),
            instrumentation_scope: InstrumentationScope::builder("battlescope").build(),
        });
    }
}

/// An instance's capability calls, as children of its span: cheap to clone, and a no-op when
/// spans are not exported.
#[derive(Clone)]
pub struct CallSpans {
    spans: Option<Arc<Spans>>,
    parent: TraceParent,
    component: Arc<str>,
}

impl CallSpans {
    pub fn new(spans: Option<Arc<Spans>>, parent: TraceParent, component: &str) -> Self {
        Self { spans, parent, component: component.into() }
    }

    /// A child span of the instance's, or `None` when spans are not exported.
    pub fn open(&self, name: impl Into<String>, kind: Kind) -> Option<OpenSpan> {
        self.spans.as_ref()?;
        let mut span = OpenSpan::new(name, kind, self.parent.child(), Some(self.parent.span_id), SystemTime::now());
        span.attribute("battlescope.component", self.component.to_string());
        Some(span)
    }

    /// Finish a span [`Self::open`] gave.
    pub fn close(&self, span: Option<OpenSpan>, error: Option<&str>) {
        if let (Some(span), Some(spans)) = (span, &self.spans) {
            span.finish(spans, error);
        }
    }

    /// The trace context to send with a call out or a message: the call's span, or a child of
    /// the instance's span when spans are not exported (the ids still join the logs up).
    pub fn context_for(&self, span: Option<&OpenSpan>) -> TraceParent {
        span.map(|s| s.context.clone()).unwrap_or_else(|| self.parent.child())
    }
}
