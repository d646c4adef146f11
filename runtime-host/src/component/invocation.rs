//! What started one instance: the kind of trigger and the trace it continues. The instance's
//! output lines, what it publishes and the host's log lines about it all carry both, so one
//! killmail can be followed through the services' logs by its trace id.

use crate::telemetry::{Kind, OpenSpan};
use crate::trace::TraceParent;
use std::time::SystemTime;

/// One call into a fresh instance.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `http`, `kafka`, `cron`, `redis` or `websocket`.
    pub trigger: &'static str,
    /// This invocation's own span: a child of the caller's when it sent trace context.
    pub trace: TraceParent,
    /// The caller's span, when it sent one.
    pub parent: Option<[u8; 8]>,
    pub started: SystemTime,
}

impl Invocation {
    /// An invocation that continues `parent` (a `traceparent` the caller sent; one that does
    /// not parse starts a new trace, as the W3C spec asks) or starts a trace of its own.
    pub fn new(trigger: &'static str, parent: Option<&[u8]>) -> Self {
        let parent = parent.and_then(|v| std::str::from_utf8(v).ok()).and_then(TraceParent::parse);
        let trace = parent.as_ref().map(TraceParent::child).unwrap_or_else(TraceParent::new_root);
        Self { trigger, trace, parent: parent.map(|p| p.span_id), started: SystemTime::now() }
    }

    /// This invocation's span, to finish when it ends (`HostCapabilities::finish_span`).
    pub fn span(&self, name: impl Into<String>, kind: Kind, component: &str) -> OpenSpan {
        let mut span = OpenSpan::new(name, kind, self.trace.clone(), self.parent, self.started);
        span.attribute("battlescope.component", component.to_string());
        span.attribute("battlescope.trigger", self.trigger);
        span
    }

    pub fn trace_id(&self) -> String {
        hex::encode(self.trace.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex::encode(self.trace.span_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_the_callers_trace_in_a_span_of_its_own() {
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let call = Invocation::new("kafka", Some(parent.as_bytes()));
        assert_eq!(call.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(call.span_id(), "00f067aa0ba902b7");
        assert_eq!(call.parent.map(hex::encode).as_deref(), Some("00f067aa0ba902b7"));
    }

    #[test]
    fn starts_a_trace_when_the_caller_sent_none_or_garbage() {
        for parent in [None, Some(&b"not a traceparent"[..]), Some(&[0xff, 0xfe][..])] {
            let call = Invocation::new("http", parent);
            assert_eq!(call.trace_id().len(), 32);
            assert_ne!(call.trace.trace_id, [0; 16]);
            assert_eq!(call.parent, None, "a new trace's first span has no parent");
        }
    }
}
