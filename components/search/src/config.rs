//! The search components' settings, from their variables in spin.toml (where the defaults
//! live). A missing or malformed variable is an error naming it.

use guest::config::{ConfigError, Source, Variables};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Typesense's base URL, e.g. `http://127.0.0.1:8108`.
    pub typesense_url: String,
    /// Typesense's API key (a secret: never logged, never answered).
    pub typesense_api_key: String,
    /// Prefix of the collection aliases (`<prefix>battles`, ...): one per deployment.
    pub collection_prefix: String,
}

impl Config {
    pub fn load<S: Source>(v: &Variables<S>) -> Result<Self, ConfigError> {
        Ok(Self {
            typesense_url: v.required("typesense_url")?.trim_end_matches('/').to_string(),
            typesense_api_key: v.required("typesense_api_key")?,
            collection_prefix: v.text("collection_prefix")?,
        })
    }
}

/// The indexer's settings: the shared ones, and what only it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexerConfig {
    pub search: Config,
    /// A directory on Typesense's machine where it copies its state after the indexer created
    /// collections (`typesense::Client::snapshot` says why).
    pub typesense_snapshot_dir: String,
}

impl IndexerConfig {
    pub fn load<S: Source>(v: &Variables<S>) -> Result<Self, ConfigError> {
        Ok(Self { search: Config::load(v)?, typesense_snapshot_dir: v.required("typesense_snapshot_dir")? })
    }
}
