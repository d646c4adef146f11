//! One instance's accounting: it counts in `component_instances` while its store lives, it is
//! the store's resource limiter (the component's memory cap), and when it ends it adds the
//! linear memory it grew to `component_memory_bytes_total`. Every invocation gets a fresh
//! instance whose memory the kernel hands out as zeroed pages, so that counter divided by
//! `component_instances_created_total` is the memory each call of the component costs: page
//! faults the host's CPU profile shows, which no metric put down to a component before.

use crate::metrics::Metrics;
use std::sync::Arc;
use wasmtime::{ResourceLimiter, StoreLimits};

const ALIVE_HELP: &str = "Component instances alive now, by component.";
const CREATED_HELP: &str = "Component instances created (one per invocation), by component.";
const MEMORY_HELP: &str = "Linear memory the component's instances grew to, in bytes, summed over its instances.";

pub struct InstanceAccounting {
    limits: StoreLimits,
    /// Bytes of linear memory granted so far, over all of the instance's memories.
    memory_bytes: usize,
    metrics: Arc<Metrics>,
    component: String,
}

impl InstanceAccounting {
    pub fn new(metrics: Arc<Metrics>, component: &str, limits: StoreLimits) -> Self {
        metrics.add_to_gauge("component_instances", ALIVE_HELP, &[("component", component)], 1.0);
        metrics.count("component_instances_created_total", CREATED_HELP, &[("component", component)], 1);
        Self { limits, memory_bytes: 0, metrics, component: component.to_string() }
    }
}

impl ResourceLimiter for InstanceAccounting {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let granted = self.limits.memory_growing(current, desired, maximum)?;
        if granted {
            // A memory's first allocation comes with `current` 0, so the sum is every memory's size.
            self.memory_bytes += desired.saturating_sub(current);
        }
        Ok(granted)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

impl Drop for InstanceAccounting {
    fn drop(&mut self) {
        let labels = [("component", self.component.as_str())];
        self.metrics.add_to_gauge("component_instances", ALIVE_HELP, &labels, -1.0);
        self.metrics.count("component_memory_bytes_total", MEMORY_HELP, &labels, self.memory_bytes as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    fn accounting(metrics: &Arc<Metrics>, cap: usize) -> InstanceAccounting {
        let limits = wasmtime::StoreLimitsBuilder::new().memory_size(cap).trap_on_grow_failure(true).build();
        InstanceAccounting::new(metrics.clone(), "c", limits)
    }

    #[test]
    fn counts_the_memory_granted_to_every_memory_when_the_instance_ends() {
        let metrics = Arc::new(Metrics::default());
        let mut a = accounting(&metrics, 64 * MIB);
        assert!(a.memory_growing(0, MIB, None).unwrap(), "the first memory's initial size");
        assert!(a.memory_growing(MIB, 3 * MIB, None).unwrap(), "it grows");
        assert!(a.memory_growing(0, 2 * MIB, None).unwrap(), "a second memory");
        assert!(a.memory_growing(3 * MIB, 65 * MIB, None).is_err(), "over the cap: refused, and not counted");
        assert_eq!(metrics.counter_value("component_memory_bytes_total", &[("component", "c")]), 0, "counted at the end");
        drop(a);
        assert_eq!(metrics.counter_value("component_memory_bytes_total", &[("component", "c")]), 5 * MIB as u64);
        assert_eq!(metrics.counter_value("component_instances_created_total", &[("component", "c")]), 1);
        let _second = accounting(&metrics, 64 * MIB);
        assert_eq!(metrics.counter_value("component_instances_created_total", &[("component", "c")]), 2);
    }
}
