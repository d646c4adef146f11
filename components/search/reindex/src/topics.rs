//! Reading topics from given offsets up to the end they had when reading began: the
//! reindex's source. Partitions are assigned directly (no consumer group, nothing committed),
//! so a reindex never disturbs the live indexer's offsets.

use anyhow::{bail, Context};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A partition of a topic.
pub type Partition = (String, i32);

/// Where each partition's reading stops (exclusive): its end when reading began.
pub type Ends = BTreeMap<Partition, i64>;

const METADATA_TIMEOUT: Duration = Duration::from_secs(10);
/// No message for this long while some partition is short of its end: the broker lost them.
const STALL: Duration = Duration::from_secs(60);
/// Past the ends: reading stops once no message came for this long...
const QUIET: Duration = Duration::from_secs(1);
/// ...or after this long (the topics are busy: the catch-up, or the live indexer, takes the rest).
const DRAIN: Duration = Duration::from_secs(30);

pub struct Reader {
    consumer: BaseConsumer,
    brokers: String,
}

impl Reader {
    pub fn connect(brokers: &str) -> anyhow::Result<Self> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", "battlescope-search-reindex")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .with_context(|| format!("connecting to the Kafka brokers {brokers}"))?;
        Ok(Self { consumer, brokers: brokers.to_string() })
    }

    /// The current start (oldest kept message) and end of every partition of `topics`. A
    /// topic that does not exist yet has none.
    pub fn bounds(&self, topics: &[String]) -> anyhow::Result<(Ends, Ends)> {
        let (mut starts, mut ends) = (Ends::new(), Ends::new());
        for topic in topics {
            let metadata = self
                .consumer
                .fetch_metadata(Some(topic), METADATA_TIMEOUT)
                .with_context(|| format!("reading the partitions of {topic} from {}", self.brokers))?;
            for t in metadata.topics().iter().filter(|t| t.error().is_none()) {
                for p in t.partitions() {
                    let (low, high) = self
                        .consumer
                        .fetch_watermarks(topic, p.id(), METADATA_TIMEOUT)
                        .with_context(|| format!("reading the end of {topic}[{}]", p.id()))?;
                    starts.insert((topic.clone(), p.id()), low);
                    ends.insert((topic.clone(), p.id()), high);
                }
            }
        }
        Ok((starts, ends))
    }

    /// Hand every message from `from` (a partition's oldest when absent) up to at least `to` to
    /// `each`, in partition order, and return where each partition's reading stopped. The ends
    /// are a lower bound: a broker may report a high watermark short of its last message (the
    /// dev stack's tansu sometimes reports one less), so reading goes on past them until no
    /// message came for `QUIET` (at most `DRAIN` longer).
    pub fn read(
        &self,
        from: &Ends,
        to: &Ends,
        mut each: impl FnMut(&Partition, &[u8]) -> anyhow::Result<()>,
    ) -> anyhow::Result<Ends> {
        let mut assignment = TopicPartitionList::new();
        let mut next = Ends::new();
        for partition in to.keys() {
            let start = from.get(partition).copied();
            let offset = start.map(Offset::Offset).unwrap_or(Offset::Beginning);
            assignment.add_partition_offset(&partition.0, partition.1, offset).context("assigning a partition")?;
            next.insert(partition.clone(), start.unwrap_or(0));
        }
        if next.is_empty() {
            return Ok(next);
        }
        self.consumer.assign(&assignment).context("assigning the partitions to read")?;
        let mut last_message = Instant::now();
        let mut positions_checked = Instant::now();
        let mut reached: Option<Instant> = None;
        loop {
            let short: Vec<String> = next
                .iter()
                .filter(|(p, n)| **n < to[*p])
                .map(|((t, p), n)| format!("{t}[{p}] at {n} of {}", to[&(t.clone(), *p)]))
                .collect();
            if short.is_empty() {
                let since = *reached.get_or_insert_with(Instant::now);
                if last_message.elapsed() > QUIET || since.elapsed() > DRAIN {
                    break;
                }
            }
            match self.consumer.poll(Duration::from_millis(200)) {
                Some(Ok(message)) => {
                    last_message = Instant::now();
                    let partition = (message.topic().to_string(), message.partition());
                    let Some(at) = next.get_mut(&partition) else { continue };
                    *at = message.offset() + 1;
                    each(&partition, message.payload().unwrap_or_default())?;
                }
                Some(Err(e)) => bail!("reading from {}: {e}", self.brokers),
                None => {}
            }
            if positions_checked.elapsed() > Duration::from_secs(1) {
                positions_checked = Instant::now();
                // Offsets the broker skips (compaction, transaction markers, retention) show up
                // as the consumer's position moving past them.
                let positions = self.consumer.position().context("asking the consumer's positions")?;
                for element in positions.elements() {
                    if let (Offset::Offset(position), Some(at)) =
                        (element.offset(), next.get_mut(&(element.topic().to_string(), element.partition())))
                    {
                        *at = (*at).max(position);
                    }
                }
                if !short.is_empty() && last_message.elapsed() > STALL {
                    bail!("no message for {STALL:?} although {} are not read to their end", short.join(", "));
                }
            }
        }
        self.consumer.unassign().context("releasing the partitions")?;
        Ok(next)
    }
}

/// How many messages lie between `from` (or offset 0) and `to`, as the broker reports them.
pub fn count(from: &Ends, to: &Ends) -> i64 {
    to.iter().map(|(p, end)| end - from.get(p).copied().unwrap_or(0)).filter(|n| *n > 0).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_skips_partitions_read_past_their_reported_end() {
        let at = |entries: &[(&str, i32, i64)]| -> Ends { entries.iter().map(|(t, p, o)| ((t.to_string(), *p), *o)).collect() };
        let to = at(&[("a", 0, 10), ("a", 1, 5), ("b", 0, 7)]);
        assert_eq!(count(&Ends::new(), &to), 22);
        assert_eq!(count(&at(&[("a", 0, 4), ("a", 1, 6)]), &to), 6 + 7, "a[1] was read past its reported end");
    }
}
