//! Prometheus metrics in the text exposition format. A small registry of labelled counters
//! and gauges is all the host needs; it is served on `/.well-known/battlescope/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    gauges: Mutex<BTreeMap<(&'static str, Labels), f64>>,
    help: Mutex<BTreeMap<&'static str, (&'static str, &'static str)>>,
}

impl Metrics {
    /// Add `by` to counter `name` with `labels`.
    pub fn count(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)], by: u64) {
        self.describe(name, "counter", help);
        let key = (name, owned(labels));
        *self.counters.lock().unwrap_or_else(|e| e.into_inner()).entry(key).or_default() += by;
    }

    /// Set gauge `name` with `labels` to `value`.
    pub fn gauge(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)], value: f64) {
        self.describe(name, "gauge", help);
        self.gauges.lock().unwrap_or_else(|e| e.into_inner()).insert((name, owned(labels)), value);
    }

    /// A counter's current value.
    #[cfg(test)]
    pub fn counter_value(&self, name: &'static str, labels: &[(&'static str, &str)]) -> u64 {
        let key = (name, owned(labels));
        self.counters.lock().unwrap_or_else(|e| e.into_inner()).get(&key).copied().unwrap_or(0)
    }

    fn describe(&self, name: &'static str, kind: &'static str, help: &'static str) {
        self.help.lock().unwrap_or_else(|e| e.into_inner()).entry(name).or_insert((kind, help));
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let help = self.help.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let gauges = self.gauges.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = String::new();
        for (name, (kind, text)) in &help {
            let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
            for ((n, labels), v) in counters.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{n}{} {v}", format_labels(labels));
            }
            for ((n, labels), v) in gauges.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{n}{} {v}", format_labels(labels));
            }
        }
        out
    }
}

fn owned(labels: &[(&'static str, &str)]) -> Labels {
    labels.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

fn format_labels(labels: &Labels) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")))
        .collect();
    format!("{{{}}}", inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges_with_escaped_labels() {
        let m = Metrics::default();
        m.count("kafka_messages_consumed_total", "Messages handled.", &[("topic", "a\"b")], 2);
        m.count("kafka_messages_consumed_total", "Messages handled.", &[("topic", "a\"b")], 1);
        m.gauge("kafka_consumer_lag", "Lag.", &[("topic", "t"), ("partition", "0")], 5.0);
        let text = m.render();
        assert!(text.contains("# TYPE kafka_messages_consumed_total counter"), "{text}");
        assert!(text.contains("kafka_messages_consumed_total{topic=\"a\\\"b\"} 3"), "{text}");
        assert!(text.contains("kafka_consumer_lag{topic=\"t\",partition=\"0\"} 5"), "{text}");
        assert_eq!(m.counter_value("kafka_messages_consumed_total", &[("topic", "a\"b")]), 3);
    }
}
