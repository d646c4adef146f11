//! Where a newly assigned partition resumes, against where the group left it. Two faults hide
//! there: the group was away longer than the topic's retention (messages were deleted before it
//! handled them: lost), or the broker lost its log (the committed offset is past the end).
//! Kafka resets such an offset to the earliest one without a word; tansu keeps fetching at the
//! committed offset, so the partition would stall until its end got that far. Both are logged
//! and counted so an operator learns of them, and a committed offset past the end is moved back
//! to the partition's beginning (handlers de-duplicate what they see again).

use super::dispatch::Dispatcher;
use super::ownership::PartitionKey;
use super::TriggerConsumer;
use rdkafka::consumer::Consumer;
use rdkafka::Offset;
use std::time::Duration;

/// How a partition's first message after an assignment compares with the committed offset.
#[derive(Debug, PartialEq, Eq)]
pub enum Resumption {
    /// Where the group left it, or earlier (read again), or the group had never committed (a new
    /// group starts at the beginning).
    AsCommitted,
    /// Messages between the committed offset and the first one read are gone from the broker.
    Skipped { committed: i64, first: i64 },
}

pub fn resumption(committed: Option<i64>, first: i64) -> Resumption {
    match committed {
        Some(committed) if first > committed => Resumption::Skipped { committed, first },
        _ => Resumption::AsCommitted,
    }
}

/// The group's committed offset of `key`, if it has one.
fn committed_offset(consumer: &TriggerConsumer, key: &PartitionKey) -> Option<i64> {
    let list = super::partition_list(key);
    match tokio::task::block_in_place(|| consumer.committed_offsets(list, TIMEOUT)) {
        Ok(list) => list.elements().first().and_then(|e| match e.offset() {
            Offset::Offset(o) => Some(o),
            _ => None,
        }),
        Err(e) => {
            tracing::debug!(topic = %key.0, partition = key.1, error = %e, "reading the committed offset");
            None
        }
    }
}

const TIMEOUT: Duration = Duration::from_secs(5);

/// Count `by` on `name` for the group's partition `key`.
fn count(dispatcher: &Dispatcher, key: &PartitionKey, name: &'static str, help: &'static str, by: u64) {
    let partition = key.1.to_string();
    let labels = [("group", dispatcher.group.as_str()), ("topic", key.0.as_str()), ("partition", partition.as_str())];
    dispatcher.capabilities.metrics.count(name, help, &labels, by);
}

/// Compare `first`, the offset of the first message of a new assignment of `key`, with the
/// group's committed offset; log and count messages the broker deleted unhandled. One broker
/// round trip per assignment.
pub fn check_first(consumer: &TriggerConsumer, dispatcher: &Dispatcher, key: &PartitionKey, first: i64) {
    if let Resumption::Skipped { committed, first } = resumption(committed_offset(consumer, key), first) {
        tracing::error!(trigger = %dispatcher.name, topic = %key.0, partition = key.1, committed, first,
            lost = first - committed,
            "messages this group never handled are gone from the broker (it was away longer than the topic's retention)");
        let help = "Messages deleted by the broker before the group handled them.";
        count(dispatcher, key, "kafka_messages_skipped_total", help, (first - committed) as u64);
    }
}

/// For a newly assigned partition: when the group's committed offset is past its end, say so,
/// count it and read the partition again from its beginning.
pub fn check_end(consumer: &TriggerConsumer, dispatcher: &Dispatcher, key: &PartitionKey) {
    let Some(committed) = committed_offset(consumer, key) else { return };
    let end = match tokio::task::block_in_place(|| consumer.fetch_watermarks(&key.0, key.1, TIMEOUT)) {
        Ok((_, end)) => end,
        Err(e) => {
            tracing::debug!(topic = %key.0, partition = key.1, error = %e, "reading the partition's end");
            return;
        }
    };
    if committed <= end {
        return;
    }
    tracing::warn!(trigger = %dispatcher.name, topic = %key.0, partition = key.1, committed, end,
        "the committed offset is past the partition's end (the broker lost its log?); reading again from the start");
    let help = "Assignments whose committed offset was past the partition's end.";
    count(dispatcher, key, "kafka_offset_resets_total", help, 1);
    if let Err(e) = consumer.seek(&key.0, key.1, Offset::Beginning, TIMEOUT) {
        tracing::error!(topic = %key.0, partition = key.1, error = %e, "seeking to the partition's beginning");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_offset_is_compared_with_the_committed_one() {
        assert_eq!(resumption(None, 0), Resumption::AsCommitted, "a new group");
        assert_eq!(resumption(None, 5_000), Resumption::AsCommitted, "a new group on a trimmed log starts at its start");
        assert_eq!(resumption(Some(42), 42), Resumption::AsCommitted);
        assert_eq!(resumption(Some(42), 50), Resumption::Skipped { committed: 42, first: 50 });
        assert_eq!(resumption(Some(1_000), 0), Resumption::AsCommitted, "read again, not lost");
    }
}
