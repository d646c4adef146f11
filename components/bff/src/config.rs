//! The BFF's settings, from its variables in spin.toml (where the defaults live).

use guest::config::{ConfigError, Source, Variables};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The Redis that caches answers, e.g. `redis://127.0.0.1:6379`.
    pub redis_address: String,
    /// Prefix of the cache's keys: one per deployment.
    pub cache_prefix: String,
    /// How long one call to a service may take before its part is given up as missing.
    pub call_timeout: std::time::Duration,
}

impl Config {
    pub fn load<S: Source>(v: &Variables<S>) -> Result<Self, ConfigError> {
        let timeout_ms: u64 = v.parsed("call_timeout_ms", "a whole number of milliseconds")?;
        Ok(Self {
            redis_address: v.required("redis_address")?,
            cache_prefix: v.text("cache_prefix")?,
            call_timeout: std::time::Duration::from_millis(timeout_ms),
        })
    }
}
