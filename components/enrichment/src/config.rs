//! Enrichment's settings: its component variables in spin.toml (where every default lives).
//! A missing or malformed variable is an error naming it.

use guest::config::{ConfigError, Source, Variables};

/// Everything enrichment reads from its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The enrichment database (injected by the host from the component's declared database).
    pub database_url: String,
    /// Topic `killmail.enriched` is published to, for killmails from the live feeds.
    pub enriched_topic: String,
    /// Topic `killmail.enriched` is published to for backfilled killmails: their own lane, as
    /// on the way in (docs/enrichment.md).
    pub backfill_enriched_topic: String,
    /// ESI's base URL, version included (`https://esi.evetech.net/latest`).
    pub esi_url: String,
    /// Redis holding the name cache, the ESI error budget and the breaker.
    pub redis_address: String,
    /// Prefix of every Redis key enrichment writes.
    pub redis_prefix: String,
    /// How long a resolved name stays in the Redis cache (the database keeps it for good).
    pub name_cache_ttl_seconds: i64,
}

impl Config {
    pub fn load<S: Source>(v: &Variables<S>) -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: v.required("database_url")?,
            enriched_topic: v.required("enriched_topic")?,
            backfill_enriched_topic: v.required("backfill_enriched_topic")?,
            esi_url: v.required("esi_url")?,
            redis_address: v.required("redis_address")?,
            redis_prefix: v.required("redis_prefix")?,
            name_cache_ttl_seconds: v.parsed("name_cache_ttl_seconds", "a number of seconds")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn every_variable_is_needed() {
        let all = [
            ("database_url", "postgres://db"),
            ("enriched_topic", "killmail.enriched"),
            ("backfill_enriched_topic", "killmail.enriched.backfill"),
            ("esi_url", "https://esi.evetech.net/latest"),
            ("redis_address", "redis://127.0.0.1:6379"),
            ("redis_prefix", "battlescope:enrichment:"),
            ("name_cache_ttl_seconds", "86400"),
        ];
        assert_eq!(Config::load(&Variables(BTreeMap::from(all))).unwrap().redis_prefix, "battlescope:enrichment:");
        for (missing, _) in all {
            let v = Variables(all.into_iter().filter(|(k, _)| *k != missing).collect::<BTreeMap<_, _>>());
            assert!(Config::load(&v).unwrap_err().to_string().contains(&format!("`{missing}`")));
        }
    }
}
