//! Reading the host's Prometheus text (`/.well-known/battlescope/metrics`) in the benches,
//! without a Prometheus server.

use std::collections::BTreeMap;

/// The sum of every series of metric `name` in `text`, by the value of its label `by`
/// (series without that label are left out). Label values are read up to the next comma: the
/// host's groups, topics and component names have none.
pub fn sum_by(text: &str, name: &str, by: &str) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    let prefix = format!("{name}{{");
    let wanted = format!("{by}=\"");
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(&prefix) else { continue };
        let Some((labels, value)) = rest.rsplit_once("} ") else { continue };
        let Ok(value) = value.trim().parse::<f64>() else { continue };
        let Some(label) = labels.split(',').find_map(|l| l.strip_prefix(&wanted)).and_then(|v| v.strip_suffix('"')) else {
            continue;
        };
        *sums.entry(label.to_string()).or_default() += value;
    }
    sums
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_series_of_one_metric_by_a_label() {
        let text = "# TYPE database_query_duration_seconds histogram\n\
            database_query_duration_seconds_sum{component=\"battle-worker\",operation=\"query\"} 1.5\n\
            database_query_duration_seconds_sum{component=\"battle-worker\",operation=\"execute\"} 0.25\n\
            database_query_duration_seconds_sum{component=\"search-indexer\",operation=\"query\"} 2\n\
            database_query_duration_seconds_count{component=\"battle-worker\",operation=\"query\"} 9\n\
            database_query_duration_seconds_sum{operation=\"query\"} 7\n";
        let sums = sum_by(text, "database_query_duration_seconds_sum", "component");
        assert_eq!(sums.len(), 2, "{sums:?}");
        assert_eq!(sums["battle-worker"], 1.75);
        assert_eq!(sums["search-indexer"], 2.0);
    }
}
