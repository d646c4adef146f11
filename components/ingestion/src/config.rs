//! Ingestion's settings: its component variables in spin.toml (where every default lives),
//! read once per instance. A missing or malformed variable is an error naming it.

use guest::config::{ConfigError, Source, Variables};
use std::time::Duration;

/// Which zKillboard feed the cron job polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    R2z2,
    Redisq,
    Off,
}

impl std::str::FromStr for Feed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "r2z2" => Ok(Feed::R2z2),
            "redisq" => Ok(Feed::Redisq),
            "off" => Ok(Feed::Off),
            other => Err(format!("{other:?} is none of r2z2, redisq, off")),
        }
    }
}

/// What both ingestion components read: the database, its event's topic, the write token.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The ingestion database (injected by the host from the component's declared database).
    pub database_url: String,
    /// Topic `killmail.ingested` is published to, for killmails from the live feeds.
    pub ingested_topic: String,
    /// Topic `killmail.ingested` is published to for backfilled killmails: a lane of their
    /// own, so a backfill's backlog never queues ahead of a live killmail (docs/ingestion.md).
    pub backfill_ingested_topic: String,
    /// Bearer token of the write endpoints; empty closes them.
    pub api_token: String,
}

impl Config {
    /// Read every setting; the first missing or malformed variable is the error.
    pub fn load<S: Source>(v: &Variables<S>) -> Result<Self, ConfigError> {
        Ok(Self {
            database_url: v.required("database_url")?,
            ingested_topic: v.required("ingested_topic")?,
            backfill_ingested_topic: v.required("backfill_ingested_topic")?,
            api_token: v.text("api_token")?,
        })
    }
}

/// How the worker polls zKillboard's feeds: variables only the worker is given.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedConfig {
    /// The feed the cron job polls.
    pub feed: Feed,
    /// R2Z2's base URL (`…/ephemeral`).
    pub r2z2_url: String,
    /// RedisQ's listen URL.
    pub redisq_url: String,
    /// Where killmail bodies for RedisQ references come from: enrichment's ESI gateway, so
    /// every ESI call spends one error budget.
    pub esi_gateway_url: String,
    /// Requests per second to a feed; 0 means unpaced (local replays).
    pub feed_requests_per_second: f64,
    /// How long one poll may walk the feed.
    pub feed_tick: Duration,
    /// Where a fresh database starts reading R2Z2; `None`: at the newest sequence.
    pub r2z2_start_sequence: Option<i64>,
    /// RedisQ's consumer queue name.
    pub redisq_queue_id: String,
    /// Seconds one RedisQ poll waits for a package.
    pub redisq_ttw: u32,
}

impl FeedConfig {
    /// Read every setting; the first missing or malformed variable is the error.
    pub fn load<S: Source>(v: &Variables<S>) -> Result<Self, ConfigError> {
        Ok(Self {
            feed: v.parsed("feed", "a feed name")?,
            r2z2_url: v.required("r2z2_url")?,
            redisq_url: v.required("redisq_url")?,
            esi_gateway_url: v.required("esi_gateway_url")?,
            feed_requests_per_second: v.parsed("feed_requests_per_second", "a number of requests per second")?,
            feed_tick: Duration::from_millis(v.parsed("feed_tick_ms", "a number of milliseconds")?),
            r2z2_start_sequence: v.optional("r2z2_start_sequence", "an R2Z2 sequence number")?,
            redisq_queue_id: v.required("redisq_queue_id")?,
            redisq_ttw: v.parsed("redisq_ttw", "a number of seconds")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn variables(changes: &[(&'static str, &'static str)]) -> Variables<BTreeMap<&'static str, &'static str>> {
        let mut m = BTreeMap::from([
            ("database_url", "postgres://db"),
            ("ingested_topic", "killmail.ingested"),
            ("backfill_ingested_topic", "killmail.ingested.backfill"),
            ("api_token", ""),
            ("feed", "r2z2"),
            ("r2z2_url", "https://r2z2.zkillboard.com/ephemeral"),
            ("redisq_url", "https://zkillredisq.stream/listen.php"),
            ("esi_gateway_url", "http://enrichment-api.spin.internal/api/enrichment/esi"),
            ("feed_requests_per_second", "10"),
            ("feed_tick_ms", "4000"),
            ("r2z2_start_sequence", ""),
            ("redisq_queue_id", "battlescope"),
            ("redisq_ttw", "1"),
        ]);
        m.extend(changes.iter().copied());
        Variables(m)
    }

    #[test]
    fn reads_every_setting() {
        let c = Config::load(&variables(&[])).unwrap();
        assert_eq!((c.database_url.as_str(), c.api_token.as_str()), ("postgres://db", ""));
        let f = FeedConfig::load(&variables(&[])).unwrap();
        assert_eq!((f.feed, f.feed_tick, f.r2z2_start_sequence), (Feed::R2z2, Duration::from_secs(4), None));
        assert_eq!(FeedConfig::load(&variables(&[("r2z2_start_sequence", "42")])).unwrap().r2z2_start_sequence, Some(42));
    }

    #[test]
    fn the_api_needs_no_feed_settings() {
        let only_common = Variables(BTreeMap::from([
            ("database_url", "postgres://db"),
            ("ingested_topic", "killmail.ingested"),
            ("backfill_ingested_topic", "killmail.ingested.backfill"),
            ("api_token", "t"),
        ]));
        assert!(Config::load(&only_common).is_ok());
        let e = FeedConfig::load(&only_common).unwrap_err().to_string();
        assert!(e.contains("`feed`"), "{e}");
    }

    #[test]
    fn a_wrong_value_names_its_variable() {
        let e = FeedConfig::load(&variables(&[("feed", "zkb")])).unwrap_err().to_string();
        assert!(e.contains("`feed`") && e.contains("none of r2z2, redisq, off"), "{e}");
        let e = FeedConfig::load(&variables(&[("feed_tick_ms", "soon")])).unwrap_err().to_string();
        assert!(e.contains("`feed_tick_ms`"), "{e}");
    }
}
