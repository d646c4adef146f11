//! The real `spin.toml` application, set up for one test through its variables alone: fresh
//! databases, topics and Redis keys of its own, the feeds and ESI pointed at a local replay
//! (or nowhere), cron jobs every second, and direct clients to the service databases.

use crate::host::{Host, HostOptions};
use crate::http::{self, Reply};
use crate::{postgres_host, redis_url, repo_root};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-token-7f3a";

/// How one test runs ingestion.
#[derive(Clone)]
pub struct Options {
    /// `r2z2`, `redisq` or `off`.
    pub feed: &'static str,
    /// Base URL of the replay standing in for zKillboard and ESI.
    pub replay_url: Option<String>,
    /// First R2Z2 sequence on a fresh database.
    pub start_sequence: Option<i64>,
    /// Budget of one poll.
    pub tick_ms: u64,
    /// A runtime config file (ruleset-filter plugins).
    pub runtime_config: Option<PathBuf>,
    /// Origins browsers may open WebSockets from, comma-separated (empty: any).
    pub websocket_origins: &'static str,
    /// Requests per second ingestion makes to the feed (0: unpaced).
    pub feed_requests_per_second: u32,
    /// Typesense for search (the dev stack's when `None`).
    pub typesense_url: Option<String>,
    /// Where the host exports spans (OTLP/HTTP base URL); none when `None`.
    pub otlp_endpoint: Option<String>,
    /// Redis for components, leases and the WebSocket stream (the dev stack's when `None`).
    pub redis_url: Option<String>,
    /// The Postgres server's admin URL the services' databases are made on (the dev stack's
    /// when `None`).
    pub postgres_admin_url: Option<String>,
    /// Kafka bootstrap brokers (the dev stack's when `None`).
    pub kafka_brokers: Option<String>,
    /// Serve only these components (`--components`); all when empty.
    pub components: Vec<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            feed: "off",
            replay_url: None,
            start_sequence: Some(1),
            tick_ms: 700,
            runtime_config: None,
            websocket_origins: "",
            feed_requests_per_second: 0,
            typesense_url: None,
            otlp_endpoint: None,
            redis_url: None,
            postgres_admin_url: None,
            kafka_brokers: None,
            components: Vec::new(),
        }
    }
}

/// The repository's own manifest: tests change only its variables, never its text.
pub fn manifest() -> PathBuf {
    repo_root().join("spin.toml")
}

/// A running application and its databases.
pub struct App {
    pub host: Host,
    /// The ingestion database.
    pub db: tokio_postgres::Client,
    pub database_url: String,
    /// The enrichment database.
    pub enrichment_db: tokio_postgres::Client,
    /// The battle database.
    pub battles_db: tokio_postgres::Client,
    pub prefix: String,
    /// This test's topics.
    pub ingested_topic: String,
    pub enriched_topic: String,
    manifest: PathBuf,
    state: PathBuf,
    options: Options,
}

impl App {
    pub async fn start(dir: &Path, test: &str, options: Options) -> anyhow::Result<Self> {
        crate::drop_orphans().await;
        let prefix = crate::unique_prefix(test);
        let manifest = manifest();
        let database_url = options.database_url(&prefix, "ingestion");
        let state = dir.join("state");
        let host = Self::launch(&manifest, &state, &prefix, &options).await?;
        let [db, enrichment_db, battles_db] = Self::connect(&options, &prefix).await?;
        let (ingested_topic, enriched_topic) = topics(&prefix);
        Ok(Self {
            host,
            db,
            database_url,
            enrichment_db,
            battles_db,
            prefix,
            ingested_topic,
            enriched_topic,
            manifest,
            state,
            options,
        })
    }

    async fn launch(manifest: &Path, state: &Path, prefix: &str, o: &Options) -> anyhow::Result<Host> {
        let mut options = HostOptions::new(manifest, "ingestion", state);
        options.database_prefix = prefix.to_string();
        if let Some(url) = &o.postgres_admin_url {
            options.database_url = url.clone();
        }
        let (ingested_topic, enriched_topic) = topics(prefix);
        let mut options = options
            .env("SPIN_VARIABLE_DEPLOYMENT", prefix.trim_end_matches('_'))
            .env("SPIN_VARIABLE_WEBSOCKET_ORIGINS", o.websocket_origins)
            .env("SPIN_VARIABLE_INGESTION_POLL_SCHEDULE", "* * * * * *")
            .env("SPIN_VARIABLE_ENRICHMENT_RETRY_SCHEDULE", "* * * * * *")
            .env("SPIN_VARIABLE_BATTLE_TICK_SCHEDULE", "* * * * * *")
            .env("SPIN_VARIABLE_BATTLE_CREATED_TOPIC", &format!("{prefix}battle.created"))
            .env("SPIN_VARIABLE_BATTLE_UPDATED_TOPIC", &format!("{prefix}battle.updated"))
            .env("SPIN_VARIABLE_BATTLE_ENDED_TOPIC", &format!("{prefix}battle.ended"))
            .env("SPIN_VARIABLE_BATTLE_REMOVED_TOPIC", &format!("{prefix}battle.removed"))
            .env("SPIN_VARIABLE_INGESTED_TOPIC", &ingested_topic)
            .env("SPIN_VARIABLE_ENRICHED_TOPIC", &enriched_topic)
            .env("SPIN_VARIABLE_BACKFILL_INGESTED_TOPIC", &backfill_lane(&ingested_topic))
            .env("SPIN_VARIABLE_BACKFILL_ENRICHED_TOPIC", &backfill_lane(&enriched_topic))
            .env("SPIN_VARIABLE_REDIS_ADDRESS", &o.redis())
            .env("SPIN_VARIABLE_TYPESENSE_URL", &o.typesense_url.clone().unwrap_or_else(crate::typesense::shared_url))
            .env("SPIN_VARIABLE_TYPESENSE_API_KEY", &crate::typesense::api_key())
            .env("SPIN_VARIABLE_TYPESENSE_SNAPSHOT_DIR", &state.join("typesense-snapshot").display().to_string())
            .env("SPIN_VARIABLE_API_TOKEN", TOKEN)
            .env("SPIN_VARIABLE_FEED", o.feed)
            .env("SPIN_VARIABLE_FEED_REQUESTS_PER_SECOND", &o.feed_requests_per_second.to_string())
            .env("SPIN_VARIABLE_FEED_TICK_MS", &o.tick_ms.to_string())
            .env("SPIN_VARIABLE_REDISQ_QUEUE_ID", prefix);
        // Without a replay, nothing answers: tests never reach the real zKillboard or ESI.
        let upstream = o.replay_url.clone().unwrap_or_else(|| format!("http://127.0.0.1:{}", crate::free_port()));
        for origin in ["SPIN_VARIABLE_R2Z2_ORIGIN", "SPIN_VARIABLE_REDISQ_ORIGIN", "SPIN_VARIABLE_ESI_ORIGIN"] {
            options = options.env(origin, &upstream);
        }
        if let Some(brokers) = &o.kafka_brokers {
            options = options.env("SPIN_VARIABLE_KAFKA_BROKERS", brokers);
        }
        if !o.components.is_empty() {
            options = options.arg("--components").arg(&o.components.join(","));
        }
        if let Some(path) = &o.runtime_config {
            options = options.arg("--runtime-config-file").arg(&path.display().to_string());
        }
        if let Some(endpoint) = &o.otlp_endpoint {
            options = options.arg("--otlp-endpoint").arg(endpoint);
        }
        if let Some(s) = o.start_sequence {
            options = options.env("SPIN_VARIABLE_R2Z2_START_SEQUENCE", &s.to_string());
        }
        Host::start(options).await
    }

    /// The deployment name this test's application runs as (its Redis keys and leases).
    pub fn deployment(&self) -> String {
        self.prefix.trim_end_matches('_').to_string()
    }

    /// The Redis Stream WebSocket events of this application go through.
    pub fn event_stream(&self) -> String {
        format!("{}:websocket", self.deployment())
    }

    /// Another host of the same application (same databases, topics and consumer groups), as
    /// a second replica would run.
    pub async fn start_replica(&self, name: &str) -> anyhow::Result<Host> {
        Self::launch(&self.manifest, &self.state.join(name), &self.prefix, &self.options).await
    }

    /// SIGKILL the host and start a new one on the same database.
    pub async fn crash_and_restart(mut self) -> anyhow::Result<Self> {
        self.host.kill_in_place().await;
        self.relaunch().await?;
        Ok(self)
    }

    /// Stop the host and start one that serves only `components`, on the same databases and
    /// state (a benchmark of one component, without the others competing for the CPU).
    pub async fn restart_with_only(&mut self, components: &[&'static str]) -> anyhow::Result<()> {
        self.host.stop_in_place().await;
        self.options.components = components.to_vec();
        self.relaunch().await
    }

    /// Start the host again (after it was killed), on the same databases and state.
    pub async fn relaunch(&mut self) -> anyhow::Result<()> {
        self.host = Self::launch(&self.manifest, &self.state, &self.prefix, &self.options).await?;
        Ok(())
    }

    /// The test's own sessions to the ingestion, enrichment and battle databases.
    async fn connect(options: &Options, prefix: &str) -> anyhow::Result<[tokio_postgres::Client; 3]> {
        let mut clients = Vec::new();
        for service in ["ingestion", "enrichment", "battles"] {
            let (client, conn) = tokio_postgres::connect(&options.database_url(prefix, service), tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            clients.push(client);
        }
        Ok(clients.try_into().unwrap_or_else(|_| unreachable!("three services")))
    }

    /// Open the test's sessions again (after Postgres restarted and closed them).
    pub async fn reconnect(&mut self) -> anyhow::Result<()> {
        [self.db, self.enrichment_db, self.battles_db] = Self::connect(&self.options, &self.prefix).await?;
        Ok(())
    }

    /// This test's Kafka brokers.
    pub fn kafka_brokers(&self) -> String {
        self.options.kafka_brokers.clone().unwrap_or_else(crate::kafka::brokers)
    }

    /// Every topic the application publishes to, with the consumer groups reading it.
    pub fn topics_and_groups(&self) -> Vec<(String, Vec<String>)> {
        let group = |service: &str| format!("{}.{service}", self.deployment());
        let mut out = vec![
            (self.ingested_topic.clone(), vec![group("enrichment")]),
            (self.enriched_topic.clone(), vec![group("battle"), group("notification"), group("search")]),
            (backfill_lane(&self.ingested_topic), vec![group("enrichment")]),
            // Notifications push live killmails only (docs/notifications.md).
            (backfill_lane(&self.enriched_topic), vec![group("battle"), group("search")]),
        ];
        for kind in ["created", "updated", "ended", "removed"] {
            out.push((format!("{}battle.{kind}", self.prefix), vec![group("notification"), group("search")]));
        }
        out
    }

    /// `Ok` once every consumer group has committed every message of its topics; otherwise
    /// the first group found behind (or why the broker could not say).
    pub async fn consumers_caught_up(&self) -> Result<(), String> {
        let brokers = self.kafka_brokers();
        for (topic, groups) in self.topics_and_groups() {
            for group in groups {
                let lags =
                    crate::kafka::group_lag(&brokers, &group, std::slice::from_ref(&topic)).await.map_err(|e| e.to_string())?;
                if let Some((t, p, end, lag)) = lags.iter().find(|l| l.3 > 0) {
                    return Err(format!("{group} is {lag} behind on {t}/{p} (end {end})"));
                }
            }
        }
        Ok(())
    }

    pub async fn stats(&self) -> serde_json::Value {
        let r = http::get(&self.host.url("/api/ingestion/stats")).await.expect("GET stats");
        assert_eq!(r.status, 200, "stats: {}", r.body);
        r.json()
    }

    pub async fn put_ruleset(&self, ruleset: &str) -> Reply {
        http::request_with_headers(
            "PUT",
            &self.host.url("/api/ingestion/ruleset"),
            ruleset,
            &[("authorization", &format!("Bearer {TOKEN}"))],
        )
        .await
        .expect("PUT ruleset")
    }

    pub async fn post_killmails(&self, lines: &str) -> Reply {
        http::request_with_headers(
            "POST",
            &self.host.url("/api/ingestion/killmails"),
            lines,
            &[("authorization", &format!("Bearer {TOKEN}"))],
        )
        .await
        .expect("POST killmails")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        self.db.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
    }

    /// One bigint from the enrichment database.
    pub async fn enrichment_count(&self, sql: &str) -> i64 {
        self.enrichment_db.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
    }

    /// Poll `sql` (one bigint, ingestion database) until it reaches `target`; panics with the
    /// statistics after `timeout`.
    pub async fn wait_for_count(&self, sql: &str, target: i64, timeout: Duration) {
        self.wait_for(&self.db, sql, target, timeout).await
    }

    /// The same against the battle database.
    pub async fn wait_for_battles(&self, sql: &str, target: i64, timeout: Duration) {
        self.wait_for(&self.battles_db, sql, target, timeout).await
    }

    /// The same against the enrichment database.
    pub async fn wait_for_enriched(&self, sql: &str, target: i64, timeout: Duration) {
        self.wait_for(&self.enrichment_db, sql, target, timeout).await
    }

    async fn wait_for(&self, db: &tokio_postgres::Client, sql: &str, target: i64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        let mut last_report = Instant::now();
        loop {
            let n: i64 = db.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0);
            if n >= target {
                return;
            }
            if Instant::now() > deadline {
                let enrichment = http::get(&self.host.url("/api/enrichment/stats")).await.map(|r| r.body).unwrap_or_default();
                panic!(
                    "{sql}: {n} after {timeout:?}, wanted {target}\ningestion: {}\nenrichment: {enrichment}\nhost log tail:\n{}",
                    self.stats().await,
                    tail(&self.host.log_text(), 40)
                );
            }
            if last_report.elapsed() > Duration::from_secs(15) {
                eprintln!("waiting: {sql} = {n}/{target}");
                last_report = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn stop(self) {
        // The host first: its search indexer would make a collection again if it came after.
        // Its collections and aliases are only on the shared Typesense (a private one dies
        // with its test).
        let shared_search = self.options.typesense_url.is_none();
        let (brokers, redis, deployment) = (self.kafka_brokers(), self.options.redis(), self.deployment());
        self.host.kill().await;
        if shared_search {
            let prefix = format!("{}_", self.prefix.trim_end_matches('_'));
            crate::typesense::drop_collections(|name| name.starts_with(&prefix)).await;
        }
        drop(self.db);
        drop(self.enrichment_db);
        drop(self.battles_db);
        crate::drop_databases(&self.prefix).await;
        crate::redis_keys::delete_keys(&redis, &format!("{deployment}:*"), |owner| owner == deployment).await;
        let prefix = self.prefix.clone();
        crate::kafka::delete_topics(&brokers, move |name| name.starts_with(&prefix)).await;
    }
}

impl Options {
    /// The Redis this test's application uses: its own, or the stack's.
    fn redis(&self) -> String {
        self.redis_url.clone().unwrap_or_else(redis_url)
    }

    /// The URL of one service's database on this test's Postgres server.
    fn database_url(&self, prefix: &str, service: &str) -> String {
        let server = match &self.postgres_admin_url {
            Some(url) => url.split('@').nth(1).and_then(|rest| rest.split('/').next()).unwrap_or_default().to_string(),
            None => postgres_host(),
        };
        format!("postgres://postgres@{server}/{prefix}{service}")
    }
}

fn topics(prefix: &str) -> (String, String) {
    (format!("{prefix}killmail.ingested"), format!("{prefix}killmail.enriched"))
}

/// The topic that carries backfilled killmails beside a live one (spin.toml's
/// `backfill_ingested_topic` and `backfill_enriched_topic`).
pub fn backfill_lane(topic: &str) -> String {
    format!("{topic}.backfill")
}

pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
