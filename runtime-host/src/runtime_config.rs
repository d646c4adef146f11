//! The runtime config file (`--runtime-config-file`): backends that are a deployment's choice
//! rather than the application's, in the shape Spin's runtime config uses.

use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Key-value stores by label; `default` exists even when not listed (on local disk).
    #[serde(default)]
    pub key_value_store: BTreeMap<String, KeyValueStoreConfig>,
    /// Ruleset-filter plugins, run in this order after ingestion's built-in rules.
    #[serde(default)]
    pub ruleset_filter: Vec<crate::capabilities::plugins::config::PluginConfig>,
    /// Pools and timeouts of components' Postgres connections.
    #[serde(default)]
    pub postgres: crate::capabilities::postgres::PoolSettings,
    /// Timeouts of components' Redis connections.
    #[serde(default)]
    pub redis: crate::capabilities::redis::ClientSettings,
}

/// `[key_value_store.<label>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeyValueStoreConfig {
    /// A file on local disk.
    Spin {
        /// Database file; default `<state-dir>/key_value.redb`.
        #[serde(default)]
        path: Option<PathBuf>,
    },
    /// A Redis server.
    Redis {
        /// `redis://host:port[/db]`.
        url: String,
    },
}

impl RuntimeConfig {
    /// Read `path`; relative `path`s inside are taken relative to the file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading runtime config {}", path.display()))?;
        let mut config: Self =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: invalid runtime config: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for plugin in &mut config.ruleset_filter {
            if plugin.source.is_relative() {
                plugin.source = base.join(&plugin.source);
            }
        }
        for store in config.key_value_store.values_mut() {
            if let KeyValueStoreConfig::Spin { path: Some(p) } = store {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spin_style_store_tables() {
        let c: RuntimeConfig = toml::from_str(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://127.0.0.1:6379\"\n\
             [key_value_store.local]\ntype = \"spin\"\n",
        )
        .unwrap();
        assert!(matches!(c.key_value_store["default"], KeyValueStoreConfig::Redis { .. }));
        assert!(matches!(c.key_value_store["local"], KeyValueStoreConfig::Spin { path: None }));
    }

    #[test]
    fn rejects_unknown_keys_and_types() {
        assert!(toml::from_str::<RuntimeConfig>("[key_value_store.x]\ntype = \"azure\"\n").is_err());
        assert!(toml::from_str::<RuntimeConfig>("[key_value_store.x]\ntype = \"spin\"\nfoo = 1\n").is_err());
        assert!(toml::from_str::<RuntimeConfig>("[sqlite_database.x]\n").is_err());
        assert!(toml::from_str::<RuntimeConfig>("[postgres]\npool_sise = 4\n").is_err());
    }

    #[test]
    fn connection_limits_default_and_override_one_by_one() {
        let c: RuntimeConfig = toml::from_str("[postgres]\npool_size = 4\n[redis]\nresponse_timeout_ms = 250\n").unwrap();
        assert_eq!(c.postgres.pool_size, 4);
        assert_eq!(c.postgres.connect_timeout_ms, 5_000);
        assert_eq!(c.redis.response_timeout_ms, 250);
        assert_eq!(RuntimeConfig::default().postgres, crate::capabilities::postgres::PoolSettings::default());
    }
}
