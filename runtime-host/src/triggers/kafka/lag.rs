//! Consumer lag per assigned partition (`kafka_consumer_lag`): the messages between where the
//! group stands and the partition's end, measured every few seconds.

use super::dispatch::Dispatcher;
use super::TriggerConsumer;
use crate::triggers::sleep_or_shutdown;
use rdkafka::consumer::Consumer;
use rdkafka::Offset;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often consumer lag is measured.
const INTERVAL: Duration = Duration::from_secs(5);
/// How long one broker question of a measurement may take.
const BROKER_TIMEOUT: Duration = Duration::from_secs(1);

/// The lag of one partition. `position` is the consumer's: the offset after the last message it
/// took since the partition was assigned. Before it has taken one, rdkafka reports no offset
/// (`Invalid`, whose raw value is -1001: read as an offset, every idle partition showed 1,001
/// messages of lag). Then the group's committed offset says where it stands, or, when it never
/// committed, the partition's first message.
pub fn partition_lag(position: Offset, committed: Option<Offset>, low: i64, high: i64) -> i64 {
    let at = match (position, committed) {
        (Offset::Offset(p), _) => p,
        (_, Some(Offset::Offset(c))) => c,
        _ => low,
    };
    (high - at).max(0)
}

/// Measure every assigned partition's lag until shutdown.
pub async fn report(consumer: Arc<TriggerConsumer>, dispatcher: Arc<Dispatcher>, mut shutdown: watch::Receiver<bool>) {
    loop {
        if sleep_or_shutdown(INTERVAL, &mut shutdown).await {
            return;
        }
        let c = consumer.clone();
        let lags = tokio::task::spawn_blocking(move || measure(&c)).await.unwrap_or_default();
        for (topic, partition, lag) in lags {
            dispatcher.capabilities.metrics.gauge(
                "kafka_consumer_lag",
                "Messages between the consumer's position and the partition's end.",
                &[("group", dispatcher.group.as_str()), ("topic", topic.as_str()), ("partition", &partition.to_string())],
                lag as f64,
            );
        }
    }
}

fn measure(c: &TriggerConsumer) -> Vec<(String, i32, i64)> {
    let Ok(position) = c.position() else { return Vec::new() };
    // Asked only when a partition has no position yet: a round trip to the group coordinator.
    let committed: HashMap<(String, i32), Offset> =
        if position.elements().iter().any(|e| !matches!(e.offset(), Offset::Offset(_))) {
            c.committed(BROKER_TIMEOUT)
                .map(|list| list.elements().iter().map(|e| ((e.topic().to_string(), e.partition()), e.offset())).collect())
                .unwrap_or_default()
        } else {
            HashMap::new()
        };
    let mut out = Vec::new();
    for e in position.elements() {
        let Ok((low, high)) = c.fetch_watermarks(e.topic(), e.partition(), BROKER_TIMEOUT) else { continue };
        let committed = committed.get(&(e.topic().to_string(), e.partition())).copied();
        out.push((e.topic().to_string(), e.partition(), partition_lag(e.offset(), committed, low, high)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partition_counts_from_the_position_then_the_commit_then_its_start() {
        assert_eq!(partition_lag(Offset::Offset(90), Some(Offset::Offset(10)), 0, 100), 10);
        assert_eq!(partition_lag(Offset::Invalid, Some(Offset::Offset(40)), 0, 100), 60, "nothing taken since assignment");
        assert_eq!(partition_lag(Offset::Invalid, Some(Offset::Invalid), 20, 100), 80, "never committed");
        assert_eq!(partition_lag(Offset::Invalid, None, 0, 0), 0, "an empty partition is not behind");
        assert_eq!(partition_lag(Offset::Offset(120), None, 0, 100), 0, "never negative");
    }
}
