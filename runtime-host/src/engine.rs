//! The wasmtime engine: pooling allocator, epoch interruption, and an on-disk cache of compiled
//! components keyed by the wasm's hash and the engine's settings.

use anyhow::Context;
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::Duration;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ProfilingStrategy};

/// How often the epoch advances; deadlines are whole ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Largest linear memory any instance may have, in bytes.
    pub memory_bytes: usize,
    /// Component instances that may exist at once (pool slots).
    pub max_instances: u32,
    /// Name compiled wasm functions for `perf` (`/tmp/perf-<pid>.map`).
    pub perf_map: bool,
    /// Where compiled components are cached.
    pub cache_dir: PathBuf,
}

pub struct HostEngine {
    engine: Engine,
    cache_dir: PathBuf,
}

impl HostEngine {
    pub fn new(settings: &EngineSettings) -> anyhow::Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        let n = settings.max_instances;
        pool.total_component_instances(n)
            .total_core_instances(n * 4)
            .total_memories(n * 2)
            .total_tables(n * 4)
            .max_memory_size(settings.memory_bytes)
            .max_memories_per_component(4)
            .max_tables_per_component(8);
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true).allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        if settings.perf_map {
            config.profiler(ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(anyhow::Error::from).context("creating the wasmtime engine")?;
        let ticker = engine.weak();
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while let Some(engine) = ticker.upgrade() {
                    engine.increment_epoch();
                    drop(engine);
                    std::thread::sleep(EPOCH_TICK);
                }
            })
            .context("starting the epoch ticker")?;
        Ok(Self { engine, cache_dir: settings.cache_dir.clone() })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Give `store` a CPU budget of `budget` wall-clock time from now. Running wasm yields to
    /// the executor at every epoch tick, so a guest that never returns cannot starve the other
    /// requests on its worker thread; once the budget is spent it traps with
    /// `Trap::Interrupt`.
    pub fn arm_deadline<T: 'static>(store: &mut wasmtime::Store<T>, budget: Duration) {
        let deadline = std::time::Instant::now() + budget;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if std::time::Instant::now() >= deadline {
                wasmtime::UpdateDeadline::Interrupt
            } else {
                wasmtime::UpdateDeadline::Yield(1)
            })
        });
    }

    /// Load a component, compiling it only when the cache has no artifact for this wasm and
    /// these engine settings.
    pub fn load_component(&self, wasm_path: &Path) -> anyhow::Result<Component> {
        let wasm = std::fs::read(wasm_path).with_context(|| format!("reading {}", wasm_path.display()))?;
        let key = self.cache_key(&wasm);
        let cached = self.cache_dir.join(format!("{key}.cwasm"));
        if cached.is_file() {
            // SAFETY: the cache holds only artifacts this function wrote with
            // `precompile_component`, for the same engine settings (they are in the key).
            match unsafe { Component::deserialize_file(&self.engine, &cached) } {
                Ok(c) => return Ok(c),
                Err(e) => tracing::warn!(path = %cached.display(), error = %e, "discarding unusable cached component"),
            }
        }
        let started = std::time::Instant::now();
        let artifact = self
            .engine
            .precompile_component(&wasm)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("compiling {}", wasm_path.display()))?;
        std::fs::create_dir_all(&self.cache_dir).with_context(|| format!("creating cache dir {}", self.cache_dir.display()))?;
        let tmp = self.cache_dir.join(format!("{key}.{}.tmp", std::process::id()));
        std::fs::write(&tmp, &artifact).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &cached).with_context(|| format!("writing {}", cached.display()))?;
        tracing::info!(path = %wasm_path.display(), ms = started.elapsed().as_millis() as u64, "compiled component");
        // SAFETY: written just above by `precompile_component` of this engine.
        unsafe { Component::deserialize_file(&self.engine, &cached) }
            .map_err(anyhow::Error::from)
            .with_context(|| format!("loading compiled {}", cached.display()))
    }

    fn cache_key(&self, wasm: &[u8]) -> String {
        struct Sha(Sha256);
        impl Hasher for Sha {
            fn finish(&self) -> u64 {
                0
            }
            fn write(&mut self, bytes: &[u8]) {
                self.0.update(bytes);
            }
        }
        let mut h = Sha(Sha256::new());
        h.write(wasm);
        self.engine.precompile_compatibility_hash().hash(&mut h);
        hex::encode(&h.0.finalize()[..16])
    }
}

/// A short reason for a failed instance: wasmtime wraps traps and limit errors in context, so
/// the root cause is what says what happened.
/// What kind of failure `error` is, for `component_failures_total{kind}`: `deadline`, `trap`,
/// `memory` (a linear memory could not grow past its cap) or `error` (instantiation, a host
/// call that failed the instance).
pub fn failure_kind(error: &wasmtime::Error) -> &'static str {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => "deadline",
        Some(_) => "trap",
        None if describe_failure(error).starts_with("memory limit exceeded") => "memory",
        None => "error",
    }
}

pub fn describe_failure(error: &wasmtime::Error) -> String {
    if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => "deadline exceeded (epoch interrupt)".to_string(),
            other => format!("trap: {other}"),
        };
    }
    let root = error.root_cause().to_string();
    if root.contains("memory") && (root.contains("limit") || root.contains("grow")) {
        return format!("memory limit exceeded: {root}");
    }
    format!("{root} ({error:#})")
}
