//! Which partitions a consumer owns, kept in step with the group's rebalances. When partitions
//! are revoked, their workers stop taking messages, the message in hand is settled, and the
//! offsets stored so far are committed before the partitions go: the member that gets them next
//! starts right after the last message handled here, so a rebalance redelivers nothing that
//! was already handled (a crash still may: delivery stays at-least-once).

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::TopicPartitionList;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A topic and one of its partitions.
pub type PartitionKey = (String, i32);

/// How long a revocation waits for messages in hand before the partitions go anyway.
const SETTLE_BEFORE_REVOKE: Duration = Duration::from_secs(10);

/// One assignment of one partition to this consumer; a new assignment gets a new one.
#[derive(Default)]
pub struct Lease {
    state: Mutex<LeaseState>,
}

#[derive(Default)]
struct LeaseState {
    revoked: bool,
    /// A worker is settling a message of the partition.
    busy: bool,
}

impl Lease {
    fn lock(&self) -> MutexGuard<'_, LeaseState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Take the next message in hand, unless the partition was revoked.
    pub fn begin(&self) -> bool {
        let mut state = self.lock();
        state.busy = !state.revoked;
        state.busy
    }

    /// The message in hand is settled (and its offset stored).
    pub fn end(&self) {
        self.lock().busy = false;
    }

    pub fn is_revoked(&self) -> bool {
        self.lock().revoked
    }

    fn revoke(&self) {
        self.lock().revoked = true;
    }

    fn is_busy(&self) -> bool {
        self.lock().busy
    }
}

/// The partitions this consumer owns now.
#[derive(Default)]
pub struct Ownership {
    leases: Mutex<HashMap<PartitionKey, Arc<Lease>>>,
    /// Partitions assigned since the consumer loop last looked (it checks where they resume).
    assigned: Mutex<Vec<PartitionKey>>,
}

impl Ownership {
    fn leases(&self) -> MutexGuard<'_, HashMap<PartitionKey, Arc<Lease>>> {
        self.leases.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current lease of a partition a message came from; none for a partition this
    /// consumer does not own (anymore).
    pub fn lease(&self, key: &PartitionKey) -> Option<Arc<Lease>> {
        self.leases().get(key).cloned()
    }

    fn assign(&self, partitions: &TopicPartitionList) {
        let mut leases = self.leases();
        let mut assigned = self.assigned.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for p in partitions.elements() {
            let key = (p.topic().to_string(), p.partition());
            leases.entry(key.clone()).or_default();
            assigned.push(key);
        }
    }

    /// Partitions assigned since the last call.
    pub fn take_assigned(&self) -> Vec<PartitionKey> {
        std::mem::take(&mut *self.assigned.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Mark the partitions revoked and hand back their leases.
    fn revoke(&self, partitions: &TopicPartitionList) -> Vec<Arc<Lease>> {
        let mut leases = self.leases();
        partitions
            .elements()
            .iter()
            .filter_map(|p| leases.remove(&(p.topic().to_string(), p.partition())))
            .inspect(|lease| lease.revoke())
            .collect()
    }
}

/// The consumer's librdkafka context: follows rebalances for one trigger.
pub struct TriggerContext {
    pub trigger: String,
    pub ownership: Arc<Ownership>,
}

impl ClientContext for TriggerContext {}

impl ConsumerContext for TriggerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(partitions) = rebalance else { return };
        let leases = self.ownership.revoke(partitions);
        // Called inside the consumer's poll, on a runtime worker: waiting here must not hold
        // up the tasks settling the messages waited for.
        let waited = tokio::task::block_in_place(|| {
            let started = Instant::now();
            while leases.iter().any(|l| l.is_busy()) && started.elapsed() < SETTLE_BEFORE_REVOKE {
                std::thread::sleep(Duration::from_millis(5));
            }
            started.elapsed()
        });
        let unsettled = leases.iter().filter(|l| l.is_busy()).count();
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
            // Nothing stored since the last commit is the usual reason.
            tracing::debug!(trigger = %self.trigger, error = %e, "commit before revocation");
        }
        tracing::info!(trigger = %self.trigger, partitions = partitions.count(), waited_ms = waited.as_millis() as u64,
            unsettled, "kafka partitions revoked after settling the messages in hand");
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                self.ownership.assign(partitions);
                // A partition paused here before it was revoked (its worker had fallen behind)
                // stays paused in librdkafka when it comes back, and its held messages went with
                // the revocation: nothing would ever resume it.
                if let Err(e) = consumer.resume(partitions) {
                    tracing::warn!(trigger = %self.trigger, error = %e, "resuming newly assigned partitions");
                }
                tracing::info!(trigger = %self.trigger, partitions = partitions.count(), "kafka partitions assigned");
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!(trigger = %self.trigger, error = %e, "kafka rebalance failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::Offset;

    fn list(partitions: &[i32]) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition_offset("t", p, Offset::Invalid).unwrap();
        }
        tpl
    }

    #[test]
    fn a_revoked_lease_takes_no_more_messages_and_a_new_assignment_gets_a_new_lease() {
        let ownership = Ownership::default();
        ownership.assign(&list(&[0, 1]));
        let zero = ownership.lease(&("t".into(), 0)).unwrap();
        assert!(zero.begin(), "an owned partition takes its next message");
        assert!(zero.is_busy());
        let revoked = ownership.revoke(&list(&[0]));
        assert_eq!(revoked.len(), 1);
        assert!(revoked[0].is_busy(), "the message in hand is still being settled");
        zero.end();
        assert!(!zero.begin(), "a revoked partition takes no more messages");
        assert!(ownership.lease(&("t".into(), 0)).is_none(), "messages of a revoked partition have no lease");
        assert!(!ownership.lease(&("t".into(), 1)).unwrap().is_revoked(), "partition 1 stays");

        ownership.assign(&list(&[0]));
        let again = ownership.lease(&("t".into(), 0)).unwrap();
        assert!(!Arc::ptr_eq(&zero, &again) && again.begin(), "given back, partition 0 has a fresh lease");
    }
}
