//! Command-line interface. Every option can also come from a `BATTLESCOPE_*` environment variable.

use crate::databases::DatabaseServer;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "battlescope", version, about = "BattleScope's wasmtime host for Spin applications")]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value = "json", env = "BATTLESCOPE_LOG_FORMAT", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the application: migrate, load every component, serve the triggers.
    Up(UpArgs),
    /// Create the service databases the manifest declares and apply pending migrations.
    Migrate(AppArgs),
    /// Validate the manifest, resolve variables and compile every component, then exit.
    Check(AppArgs),
    /// Load daily killmail archives through the running ingestion service.
    Backfill(crate::backfill::BackfillArgs),
    /// Generate deployment files from the manifest.
    #[command(subcommand)]
    Deploy(crate::deploy::DeployTarget),
    /// Tools for ruleset-filter plugin authors.
    #[command(subcommand)]
    Plugin(PluginCommand),
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Run one plugin over recorded days of killmails, without Postgres, Kafka or a feed, and
    /// report its verdicts, speed, fuel and first failures.
    Test(crate::plugin_test::PluginTestArgs),
}

#[derive(Debug, Args)]
pub struct AppArgs {
    /// The application manifest.
    #[arg(long = "from", short = 'f', default_value = "spin.toml", env = "BATTLESCOPE_MANIFEST")]
    pub manifest: PathBuf,
    /// Runtime config file (key-value store backends).
    #[arg(long, env = "BATTLESCOPE_RUNTIME_CONFIG")]
    pub runtime_config_file: Option<PathBuf>,
    /// Directory for host state: local key-value stores and the compiled-component cache.
    /// Default: `.spin` beside the manifest.
    #[arg(long, env = "BATTLESCOPE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Where compiled components are cached. Default: `<state-dir>/compiled`.
    #[arg(long, env = "BATTLESCOPE_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Largest linear memory of one instance, in MiB; growing past it traps.
    #[arg(long, default_value_t = 128, env = "BATTLESCOPE_MEMORY_LIMIT_MIB")]
    pub memory_limit_mib: usize,
    /// Component instances that may run at once.
    #[arg(long, default_value_t = 256, env = "BATTLESCOPE_MAX_INSTANCES")]
    pub max_instances: u32,
    /// Write `/tmp/perf-<pid>.map` naming every compiled wasm function, so `perf report`
    /// attributes a component's samples to its functions instead of anonymous JIT code.
    #[arg(long, env = "BATTLESCOPE_PERF_MAP")]
    pub perf_map: bool,
    /// This replica's name in leases, WebSocket connection ids and logs. Default:
    /// `<hostname>-<pid>`.
    #[arg(long, env = "BATTLESCOPE_REPLICA_ID", default_value_t = default_replica_id())]
    pub replica_id: String,
    /// Budget of one request or message in milliseconds; a guest still running after it is
    /// stopped.
    #[arg(long, default_value_t = 30_000, env = "BATTLESCOPE_REQUEST_TIMEOUT_MS")]
    pub request_timeout_ms: u64,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Export spans with OTLP (HTTP/protobuf) to this collector, e.g. `http://127.0.0.1:4318`
    /// (a Jaeger or an OpenTelemetry Collector; spans go to `/v1/traces` under it). Off when
    /// unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The service name spans are exported under.
    #[arg(long, default_value = "battlescope", env = "OTEL_SERVICE_NAME")]
    pub otlp_service_name: String,
    /// Be Spin 3.6: link only Spin's interfaces (WASI, wasi:http, variables, key-value, Redis,
    /// Postgres) and accept only Spin's triggers (HTTP, Redis), so a manifest that serves here
    /// runs on Spin (`battlescope deploy spin` writes one).
    #[arg(long, env = "BATTLESCOPE_SPIN_ONLY")]
    pub spin_only: bool,
    /// Serve only these components (comma-separated ids) and the triggers that call them: one
    /// bounded context per process, or one component measured alone. Default: all of them.
    #[arg(long, value_delimiter = ',', env = "BATTLESCOPE_COMPONENTS")]
    pub components: Vec<String>,
}

/// Where the service databases components declare (`tool.battlescope.database`) live.
#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// Postgres URL of a database to create service databases from; service databases are
    /// on the same server.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres", env = "BATTLESCOPE_DATABASE_URL")]
    pub database_url: String,
    /// Service databases are named `<prefix><database>`.
    #[arg(long, default_value = "battlescope_", env = "BATTLESCOPE_DATABASE_PREFIX")]
    pub database_prefix: String,
}

impl DatabaseArgs {
    pub fn server(&self) -> DatabaseServer {
        DatabaseServer { admin_url: self.database_url.clone(), prefix: self.database_prefix.clone() }
    }
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub app: AppArgs,
    /// Skip migrations (when another process runs them).
    #[arg(long, env = "BATTLESCOPE_NO_MIGRATE")]
    pub no_migrate: bool,
    /// Address of the HTTP trigger.
    #[arg(long, default_value = "127.0.0.1:3000", env = "BATTLESCOPE_LISTEN")]
    pub listen: SocketAddr,
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("BATTLESCOPE_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,cranelift=warn,wasmtime=warn,tokio_postgres::connection=warn")
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        // Colour only for a terminal; log files stay plain text.
        LogFormat::Text => builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init(),
    }
}

fn default_replica_id() -> String {
    let host = std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_string()).unwrap_or_else(|_| "host".into());
    format!("{host}-{}", std::process::id())
}
