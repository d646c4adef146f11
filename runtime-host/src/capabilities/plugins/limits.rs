//! What one plugin call may take. Wasmtime's stock limits cap each linear memory on its own, so
//! a plugin with several memories (multi-memory, or several core modules) could take the cap
//! several times over; this counts every memory and table of the call's store together.

use wasmtime::ResourceLimiter;

/// Table elements one call may hold across its tables (each costs a pointer of host memory).
const TABLE_ELEMENTS: usize = 100_000;
/// Core instances, memories and tables one call may create. A Rust plugin needs a few; a
/// Python one (componentize-py links CPython's libraries as separate core modules) a few dozen.
/// The memory and table totals above bound what they cost together.
const INSTANCES: usize = 64;
const MEMORIES: usize = 16;
const TABLES: usize = 32;

/// The limiter of one call's store.
pub struct CallLimits {
    memory_cap: usize,
    memory_used: usize,
    memory_peak: usize,
    table_elements_used: usize,
}

impl CallLimits {
    pub fn new(memory_cap: usize) -> Self {
        Self { memory_cap, memory_used: 0, memory_peak: 0, table_elements_used: 0 }
    }

    /// The most memory the call's memories held together.
    pub fn peak(&self) -> usize {
        self.memory_peak
    }
}

impl ResourceLimiter for CallLimits {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let after = self.memory_used - current.min(self.memory_used) + desired;
        if after > self.memory_cap {
            // An error traps the call: a plugin may not probe how much it can get.
            wasmtime::bail!(
                "memory limit exceeded: the call's memories would total {} MiB, more than its {} MiB",
                after.div_ceil(1 << 20),
                self.memory_cap >> 20
            );
        }
        self.memory_used = after;
        self.memory_peak = self.memory_peak.max(after);
        Ok(true)
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let after = self.table_elements_used - current.min(self.table_elements_used) + desired;
        if after > TABLE_ELEMENTS {
            wasmtime::bail!("table limit exceeded: the call's tables would hold {after} elements, more than {TABLE_ELEMENTS}");
        }
        self.table_elements_used = after;
        Ok(true)
    }

    fn instances(&self) -> usize {
        INSTANCES
    }

    fn memories(&self) -> usize {
        MEMORIES
    }

    fn tables(&self) -> usize {
        TABLES
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn memories_share_one_cap() {
        let mut limits = CallLimits::new(16 * MIB);
        assert!(limits.memory_growing(0, 10 * MIB, None).unwrap(), "the first memory's 10 MiB");
        assert!(limits.memory_growing(0, 4 * MIB, None).unwrap(), "a second memory's 4 MiB");
        let error = limits.memory_growing(0, 4 * MIB, None).unwrap_err().to_string();
        assert!(error.contains("18 MiB") && error.contains("16 MiB"), "a third memory passes the total: {error}");
        assert!(limits.memory_growing(4 * MIB, 6 * MIB, None).unwrap(), "growing within the cap is fine");
        assert!(limits.memory_growing(10 * MIB, 11 * MIB, None).is_err(), "16 MiB are taken");
        assert_eq!(limits.peak(), 16 * MIB);
    }

    #[test]
    fn tables_share_one_cap() {
        let mut limits = CallLimits::new(MIB);
        assert!(limits.table_growing(0, 60_000, None).unwrap());
        assert!(limits.table_growing(0, 50_000, None).unwrap_err().to_string().contains("110000"));
        assert!(limits.table_growing(0, 40_000, None).unwrap());
    }
}
