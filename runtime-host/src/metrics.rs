//! Prometheus metrics in the text exposition format. A small registry of labelled counters,
//! gauges and latency histograms is all the host needs; it is served on
//! `/.well-known/battlescope/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

type Labels = Vec<(&'static str, String)>;

/// Upper bounds, in seconds, of every histogram's buckets: from a cached read (milliseconds)
/// to a handler near its deadline.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// One histogram series: counts per bucket (not cumulative), the sum and the count.
#[derive(Clone, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    counters: Mutex<BTreeMap<(&'static str, Labels), u64>>,
    gauges: Mutex<BTreeMap<(&'static str, Labels), f64>>,
    histograms: Mutex<BTreeMap<(&'static str, Labels), Histogram>>,
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

    /// Add `delta` to gauge `name` with `labels` (a count of things in progress).
    pub fn add_to_gauge(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)], delta: f64) {
        self.describe(name, "gauge", help);
        *self.gauges.lock().unwrap_or_else(|e| e.into_inner()).entry((name, owned(labels))).or_default() += delta;
    }

    /// Record one duration in histogram `name` with `labels`.
    pub fn observe(&self, name: &'static str, help: &'static str, labels: &[(&'static str, &str)], took: std::time::Duration) {
        self.describe(name, "histogram", help);
        let seconds = took.as_secs_f64();
        let mut histograms = self.histograms.lock().unwrap_or_else(|e| e.into_inner());
        let h = histograms.entry((name, owned(labels))).or_default();
        if let Some(i) = BUCKETS.iter().position(|&le| seconds <= le) {
            h.buckets[i] += 1;
        }
        h.sum += seconds;
        h.count += 1;
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
        let histograms = self.histograms.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut out = String::new();
        for (name, (kind, text)) in &help {
            let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
            for ((n, labels), v) in counters.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{n}{} {v}", format_labels(labels));
            }
            for ((n, labels), v) in gauges.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{n}{} {v}", format_labels(labels));
            }
            for ((n, labels), h) in histograms.iter().filter(|((n, _), _)| n == name) {
                let mut bucket = |le: String, observations: u64| {
                    let mut with_le = labels.clone();
                    with_le.push(("le", le));
                    let _ = writeln!(out, "{n}_bucket{} {observations}", format_labels(&with_le));
                };
                let mut cumulative = 0;
                for (le, count) in BUCKETS.iter().zip(h.buckets) {
                    cumulative += count;
                    bucket(le.to_string(), cumulative);
                }
                bucket("+Inf".into(), h.count);
                let labels = format_labels(labels);
                let _ = writeln!(out, "{n}_sum{labels} {}\n{n}_count{labels} {}", h.sum, h.count);
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

    #[test]
    fn histograms_render_cumulative_buckets_sum_and_count() {
        let m = Metrics::default();
        let labels = [("component", "bff")];
        for ms in [2, 3, 40, 20_000] {
            m.observe("http_request_duration_seconds", "Time to answer.", &labels, std::time::Duration::from_millis(ms));
        }
        let text = m.render();
        assert!(text.contains("# TYPE http_request_duration_seconds histogram"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket{component=\"bff\",le=\"0.001\"} 0"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket{component=\"bff\",le=\"0.005\"} 2"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket{component=\"bff\",le=\"0.05\"} 3"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket{component=\"bff\",le=\"10\"} 3"), "{text}");
        assert!(text.contains("http_request_duration_seconds_bucket{component=\"bff\",le=\"+Inf\"} 4"), "{text}");
        assert!(text.contains("http_request_duration_seconds_count{component=\"bff\"} 4"), "{text}");
        assert!(text.contains("http_request_duration_seconds_sum{component=\"bff\"} 20.04"), "{text}");
    }
}
