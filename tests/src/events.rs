//! The event-backbone test application: the kafka-probe component as producer (HTTP) and as
//! consumer (Kafka, cron, Redis), on a fresh topic and a fresh database.

use crate::host::{Host, HostOptions};
use std::path::{Path, PathBuf};

/// What the manifest should include besides the HTTP producer and the Kafka consumer.
#[derive(Default, Clone)]
pub struct Options {
    /// Relay the probe database's outbox.
    pub outbox: bool,
    /// A cron job every second; `true` makes it a singleton.
    pub cron: Option<bool>,
    /// Subscribe the consumer to this Redis channel.
    pub redis_channel: Option<String>,
    /// Milliseconds the handler sleeps per message.
    pub handle_delay_ms: u32,
    /// The Kafka trigger handles one message at a time across partitions.
    pub serial: bool,
    /// How long the Kafka trigger waits for a batch to fill (`batch_linger_ms`).
    pub batch_linger_ms: u64,
    /// Most messages per call (`batch_size`); the host's default when unset.
    pub batch_size: Option<usize>,
}

/// One test's application: manifest, topic and database.
pub struct EventApp {
    pub manifest: PathBuf,
    pub topic: String,
    pub prefix: String,
    pub database_url: String,
    pub state: PathBuf,
}

impl EventApp {
    pub fn new(dir: &Path, test: &str, options: &Options) -> Self {
        let topic = crate::kafka::unique_topic(test);
        let prefix = crate::unique_prefix(test);
        let database_url = format!("postgres://postgres@{}/{prefix}kafka_probe", crate::postgres_host());
        let mut triggers = String::new();
        if let Some(singleton) = options.cron {
            triggers.push_str(&format!(
                "[[trigger.cron]]\ncomponent = \"consumer\"\ncron_expression = \"* * * * * *\"\nsingleton = {singleton}\n\n"
            ));
        }
        if let Some(channel) = &options.redis_channel {
            triggers.push_str(&format!("[[trigger.redis]]\ncomponent = \"consumer\"\nchannel = \"{channel}\"\n\n"));
        }
        let component = |name: &str| {
            format!(
                r#"[component.{name}]
source = {wasm:?}
allowed_outbound_hosts = ["kafka://{{{{ kafka }}}}"]
[component.{name}.variables]
kafka = "{{{{ kafka_brokers }}}}"
replica = "{{{{ replica }}}}"
mode = "{{{{ mode }}}}"
handle_delay_ms = "{delay}"
[component.{name}.tool.battlescope]
database = "kafka_probe"
migrations = {migrations:?}
outbox = {outbox}
"#,
                wasm = crate::wasm("kafka_probe").display().to_string(),
                migrations = crate::repo_root().join("tests/migrations/kafka_probe").display().to_string(),
                outbox = options.outbox,
                delay = options.handle_delay_ms,
            )
        };
        let text = format!(
            r#"spin_manifest_version = 2

[application]
name = "{app}"

[application.trigger.kafka]
brokers = "{{{{ kafka_brokers }}}}"
schemas = {schemas:?}
partitions = 4

[application.trigger.redis]
address = "{redis}"

[variables]
kafka_brokers = {{ default = "{brokers}" }}
replica = {{ default = "a" }}
mode = {{ default = "probe" }}

[[trigger.http]]
route = "/probe-events/..."
component = "producer"

[[trigger.kafka]]
component = "consumer"
topics = ["{topic}"]
group = "{topic}-group"
max_attempts = 3
initial_backoff_ms = 50
max_backoff_ms = 200
serial = {serial}
batch_linger_ms = {linger}
{batch_size}
{triggers}{producer}
{consumer}"#,
            app = topic,
            schemas = crate::repo_root().join("schemas/events").display().to_string(),
            redis = crate::redis_url(),
            brokers = crate::kafka::brokers(),
            serial = options.serial,
            linger = options.batch_linger_ms,
            batch_size = options.batch_size.map(|n| format!("batch_size = {n}\n")).unwrap_or_default(),
            producer = component("producer"),
            consumer = component("consumer"),
        );
        let manifest = dir.join("spin.toml");
        std::fs::write(&manifest, text).expect("writing the events manifest");
        Self { manifest, topic, prefix, database_url, state: dir.join("state") }
    }

    /// Start a host of this application; `replica` names it in cron runs.
    pub async fn start(&self, replica: &str) -> Host {
        Host::start(self.options(replica)).await.expect("host starts")
    }

    /// How `start` runs a host, for tests that change something first.
    pub fn options(&self, replica: &str) -> HostOptions {
        let mut options = HostOptions::new(&self.manifest, "events", &self.state.join(replica))
            .env("SPIN_VARIABLE_REPLICA", replica)
            .arg("--replica-id")
            .arg(replica);
        options.database_prefix = self.prefix.clone();
        options
    }

    /// A connection to the probe's database.
    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.database_url, tokio_postgres::NoTls).await.expect("probe db");
        tokio::spawn(conn);
        client
    }
}

/// Poll `query` (one bigint) until it reaches `want` or `secs` pass; returns the last value.
pub async fn wait_for_count(db: &tokio_postgres::Client, query: &str, want: i64, secs: u64) -> i64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let n: i64 = db.query_one(query, &[]).await.map(|r| r.get(0)).unwrap_or(-1);
        if n >= want || std::time::Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
