//! Serde model of manifest version 2. Tables that Spin defines reject unknown keys, as Spin
//! does, so a typo fails loudly instead of being ignored.

#![allow(dead_code)] // Fields Spin defines but this host does not act on are still parsed and checked.

use serde::Deserialize;
use std::collections::BTreeMap;

/// The top level as read; components and triggers stay untyped until `parse` can name them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawManifest {
    pub spin_manifest_version: u32,
    pub application: Application,
    #[serde(default)]
    pub variables: BTreeMap<String, AppVariable>,
    #[serde(default)]
    pub trigger: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    pub component: BTreeMap<String, toml::Value>,
}

/// A validated manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub application: Application,
    /// Typed `[application.trigger.*]` tables.
    pub trigger_settings: TriggerSettings,
    /// Application variables by name.
    pub variables: BTreeMap<String, AppVariable>,
    pub triggers: Triggers,
    /// Components by id.
    pub components: BTreeMap<String, Component>,
}

/// `[application]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// Application name, shown in logs.
    pub name: String,
    /// Application version.
    #[serde(default)]
    pub version: Option<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Who wrote it.
    #[serde(default)]
    pub authors: Vec<String>,
    /// Application-wide trigger settings, `[application.trigger.<type>]`.
    #[serde(default)]
    pub trigger: BTreeMap<String, toml::Table>,
}

/// Application-level trigger settings.
#[derive(Debug, Clone, Default)]
pub struct TriggerSettings {
    pub http: HttpSettings,
    pub kafka: Option<KafkaSettings>,
    pub redis: Option<RedisSettings>,
    pub cron: Option<CronSettings>,
    pub websocket: Option<WebSocketSettings>,
}

/// An entry of `[variables]`: either a default value or `required = true`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppVariable {
    /// Value used when no provider supplies one.
    #[serde(default)]
    pub default: Option<String>,
    /// The host refuses to start unless a provider supplies a value.
    #[serde(default)]
    pub required: bool,
    /// The value is never logged.
    #[serde(default)]
    pub secret: bool,
}

/// Triggers by type.
#[derive(Debug, Clone, Default)]
pub struct Triggers {
    pub http: Vec<HttpTrigger>,
    pub kafka: Vec<KafkaTrigger>,
    pub cron: Vec<CronTrigger>,
    pub redis: Vec<RedisTrigger>,
    pub websocket: Vec<WebSocketTrigger>,
}

/// `[[trigger.kafka]]` (host-only): a component that consumes topics in a consumer group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaTrigger {
    /// Optional id, for logs and metrics.
    #[serde(default)]
    pub id: Option<String>,
    /// Id of the component; it exports `battlescope:kafka/incoming-handler`, or
    /// `battlescope:kafka/batch-handler` to be given several messages at once.
    pub component: String,
    /// Topics to consume; may use `{{ variable }}`.
    pub topics: Vec<String>,
    /// Consumer group; replicas sharing it split the partitions. May use `{{ variable }}`.
    pub group: String,
    /// Attempts per message before it is dead-lettered (retryable errors and traps).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Delay before the first retry, in milliseconds; doubles each attempt, with jitter.
    #[serde(default = "default_initial_backoff_ms")]
    pub initial_backoff_ms: u64,
    /// Longest delay between retries, in milliseconds.
    #[serde(default = "default_max_backoff_ms")]
    pub max_backoff_ms: u64,
    /// Validate each message as a BattleScope event envelope against `schemas` before the
    /// component sees it; invalid ones are dead-lettered with the validation error.
    #[serde(default = "default_true")]
    pub validate_envelopes: bool,
    /// Handle one message at a time across all partitions (in this host) instead of one per
    /// partition in parallel. For handlers that read state shared across message keys and
    /// write it back, where two messages handled at once could each miss the other's write.
    #[serde(default)]
    pub serial: bool,
    /// Most messages of one partition handed to a `batch-handler` in one call. Components
    /// exporting only `incoming-handler` get one at a time whatever this says.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long a partition worker waits for a batch to fill once it has a first message, in
    /// milliseconds. 0 takes whatever is queued already: batches grow only when the handler
    /// falls behind, so a quiet feed is handled at once.
    #[serde(default)]
    pub batch_linger_ms: u64,
    /// Background work: before each call, wait while the host's other Kafka triggers are
    /// handling messages, up to this many milliseconds. 0 (the default) never waits. For a
    /// consumer that may lag (search indexing), so that a backfill's enrichment and battles
    /// get the CPU first.
    #[serde(default)]
    pub yield_max_ms: u64,
}

fn default_batch_size() -> usize {
    100
}

fn default_max_attempts() -> u32 {
    5
}
fn default_initial_backoff_ms() -> u64 {
    200
}
fn default_max_backoff_ms() -> u64 {
    10_000
}
fn default_true() -> bool {
    true
}

/// `[[trigger.cron]]`, as Spin's cron trigger plugin defines it, plus `singleton`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronTrigger {
    /// Optional id, for logs and the lease name.
    #[serde(default)]
    pub id: Option<String>,
    /// Id of the component; it exports `handle-cron-event`.
    pub component: String,
    /// Six fields: second minute hour day-of-month month day-of-week. May use
    /// `{{ variable }}`.
    pub cron_expression: String,
    /// With several host replicas, only the one holding the job's Redis lease runs it.
    #[serde(default)]
    pub singleton: bool,
}

/// `[[trigger.websocket]]` (host-only): a component that serves WebSocket connections on a
/// route of the HTTP port.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSocketTrigger {
    /// Optional id, for logs.
    #[serde(default)]
    pub id: Option<String>,
    /// The route: an exact path, or a prefix ending in `/...`.
    pub route: HttpRoute,
    /// Id of the component; it exports `battlescope:websocket/handler`.
    pub component: String,
}

/// `[application.trigger.websocket]`: the event stream and the limits of connections.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSocketSettings {
    /// Redis server holding the event stream; may use `{{ variable }}`.
    pub address: String,
    /// Key of the Redis Stream events go through; may use `{{ variable }}`.
    #[serde(default = "default_stream")]
    pub stream: String,
    /// Events the stream keeps for clients that resume (approximately).
    #[serde(default = "default_history")]
    pub history: usize,
    /// Origins browsers may connect from (`Origin` header), comma-separated; empty allows
    /// any. May use `{{ variable }}`.
    #[serde(default)]
    pub allowed_origins: String,
    /// Connections one host holds; more are refused with 503.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Channels one connection may subscribe to.
    #[serde(default = "default_max_subscriptions")]
    pub max_subscriptions: usize,
    /// Largest frame or message a client may send; bigger ones close the connection (1009).
    #[serde(default = "default_max_frame_bytes")]
    pub max_frame_bytes: usize,
    /// Frames queued for one connection; beyond that the overflow rule applies (docs).
    #[serde(default = "default_send_queue")]
    pub send_queue: usize,
    /// How often the host pings each connection, in milliseconds.
    #[serde(default = "default_ping_interval_ms")]
    pub ping_interval_ms: u64,
    /// A connection silent (no frame, no pong) this long, in milliseconds, is closed.
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
}

fn default_stream() -> String {
    "battlescope:websocket".into()
}
fn default_history() -> usize {
    10_000
}
fn default_max_connections() -> usize {
    20_000
}
fn default_max_subscriptions() -> usize {
    64
}
fn default_max_frame_bytes() -> usize {
    64 * 1024
}
fn default_send_queue() -> usize {
    256
}
fn default_ping_interval_ms() -> u64 {
    20_000
}
fn default_idle_timeout_ms() -> u64 {
    60_000
}

/// `[[trigger.redis]]`, as Spin defines it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisTrigger {
    /// Optional id, for logs.
    #[serde(default)]
    pub id: Option<String>,
    /// Id of the component; it exports `fermyon:spin/inbound-redis`.
    pub component: String,
    /// Channel to subscribe to.
    pub channel: String,
    /// Server address; default `[application.trigger.redis] address`.
    #[serde(default)]
    pub address: Option<String>,
}

/// `[application.trigger.kafka]`: the event bus for every Kafka trigger and the producer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSettings {
    /// Comma-separated `host:port` list; may use `{{ variable }}`.
    pub brokers: String,
    /// Folder of `<eventType>.schema.json` files, relative to the manifest.
    #[serde(default)]
    pub schemas: Option<String>,
    /// Partitions of topics the host creates (consumed topics, dead-letter topics, produced
    /// topics that do not exist yet).
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replicas of the topics the host creates: 1 suits a single broker; a production
    /// cluster wants 3, so a broker's loss loses no events.
    #[serde(default = "default_replication")]
    pub replication: i32,
    /// Extra librdkafka settings for consumers and the producer.
    #[serde(default)]
    pub client: BTreeMap<String, String>,
}

fn default_partitions() -> i32 {
    4
}
fn default_replication() -> i32 {
    1
}

/// `[application.trigger.redis]`, as Spin defines it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedisSettings {
    /// Server the Redis triggers subscribe to; may use `{{ variable }}`.
    pub address: String,
}

/// `[application.trigger.cron]` (host-only).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CronSettings {
    /// Redis server that holds singleton leases; default `[application.trigger.redis]
    /// address`. May use `{{ variable }}`.
    #[serde(default)]
    pub lease_address: Option<String>,
    /// Names this deployment's leases, so two deployments sharing a Redis server do not take
    /// each other's; default: the application name. May use `{{ variable }}`.
    #[serde(default)]
    pub lease_namespace: Option<String>,
}

/// `[[trigger.http]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTrigger {
    /// Optional id, for logs.
    #[serde(default)]
    pub id: Option<String>,
    /// The route: an exact path, or a prefix ending in `/...`.
    pub route: HttpRoute,
    /// Id of the component that handles the route.
    pub component: String,
    /// Only `{ type = "spin" }` (wasi:http) is supported.
    #[serde(default)]
    pub executor: Option<HttpExecutor>,
    /// Largest request body this route takes, in bytes (host-only); default
    /// `[application.trigger.http] max_body_bytes`.
    #[serde(default)]
    pub max_body_bytes: Option<u64>,
}

/// `[application.trigger.http]`: what one client may take of the HTTP port. Every key but
/// Spin's `base` is this host's; `battlescope deploy spin` leaves them out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSettings {
    /// Spin's base path; accepted for Spin manifests, routes here are absolute.
    #[serde(default)]
    pub base: Option<String>,
    /// Largest request body a route takes unless its trigger says otherwise, in bytes; a
    /// bigger one is answered 413 without running the component.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// Connections held open at once; further clients wait in the listen backlog.
    #[serde(default = "default_http_max_connections")]
    pub max_connections: usize,
    /// A client must send a request's headers within this many milliseconds, or its
    /// connection is closed (slow clients cannot hold connections).
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// Component instances HTTP requests may hold at once, chained ones included; beyond it a
    /// request is answered 503 with `Retry-After`. Default: half of `--max-instances`, so a
    /// flood of requests cannot take the instances Kafka, cron and WebSocket work needs.
    #[serde(default)]
    pub max_concurrent_requests: Option<u32>,
    /// Origins browsers may call the API from (CORS): the host answers their preflights and
    /// marks responses readable; `"*"` allows any. Empty: no cross-origin reads.
    #[serde(default)]
    pub cors_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            base: None,
            max_body_bytes: default_max_body_bytes(),
            max_connections: default_http_max_connections(),
            header_timeout_ms: default_header_timeout_ms(),
            max_concurrent_requests: None,
            cors_origins: Vec::new(),
        }
    }
}

fn default_max_body_bytes() -> u64 {
    1 << 20
}
fn default_http_max_connections() -> usize {
    1024
}
fn default_header_timeout_ms() -> u64 {
    10_000
}

/// A route string, or `{ private = true }` for a component reachable only internally.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HttpRoute {
    Path(String),
    Private { private: bool },
}

/// `executor = { type = "..." }` of an HTTP trigger.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpExecutor {
    /// Executor type; this host runs `spin` (wasi:http) only.
    #[serde(rename = "type")]
    pub kind: String,
}

/// `[component.<id>]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Path of the `.wasm`, relative to the manifest.
    pub source: String,
    /// Hosts the component may reach: `scheme://host:port` with `*` wildcards and
    /// `{{ variable }}` templates.
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    /// Key-value store labels the component may open.
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    /// Environment variables visible to the guest.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Component variables: templates over application variables.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// How `spin build` builds it; the host does not run it.
    #[serde(default)]
    pub build: Option<ComponentBuild>,
    /// Tools' own tables (`[component.<id>.tool.<name>]`), which Spin passes over. This host
    /// reads `tool.battlescope` (see [`ComponentTool`]); `parse` checks it.
    #[serde(default)]
    pub tool: BTreeMap<String, toml::Table>,
    /// `tool.battlescope`, typed.
    #[serde(skip)]
    pub battlescope: ComponentTool,
}

/// `[component.<id>.tool.battlescope]`: what this host provides a component beyond Spin.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentTool {
    /// The component's service database: the host creates `<prefix><database>`, applies its
    /// migrations, gives the component its address as the variable `database_url` and allows
    /// the component to reach it. Components of one bounded context may name the same one.
    #[serde(default)]
    pub database: Option<String>,
    /// Folder of the database's migrations, relative to the manifest; default
    /// `migrations/<database>`.
    #[serde(default)]
    pub migrations: Option<String>,
    /// The host creates the database's `outbox` table and relays its rows to Kafka.
    #[serde(default)]
    pub outbox: bool,
}

/// `[component.<id>.build]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentBuild {
    /// The build command.
    pub command: String,
    /// Directory the command runs in, relative to the manifest.
    #[serde(default)]
    pub workdir: Option<String>,
    /// Files whose change triggers a rebuild under `spin watch`.
    #[serde(default)]
    pub watch: Vec<String>,
}
