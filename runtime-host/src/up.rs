//! Start-up order: manifest → variables (templates rendered once) → service databases →
//! runtime config → engine → stores and producer → components → migrations → triggers.
//! Everything that can fail on bad configuration fails before a port is bound or a message
//! consumed.

use crate::capabilities::variables::{AppVariables, EnvironmentProvider};
use crate::capabilities::websocket::registry::Limits;
use crate::capabilities::websocket::Hub;
use crate::capabilities::{key_value, HostCapabilities};
use crate::cli::{AppArgs, UpArgs};
use crate::component::{self, InstanceLimits, LoadedComponent};
use crate::databases::ServiceDatabase;
use crate::engine::{EngineSettings, HostEngine};
use crate::kafka_client::{KafkaConfig, Producer};
use crate::manifest::{self, LoadedManifest};
use crate::metrics::Metrics;
use crate::runtime_config::RuntimeConfig;
use crate::state::Platform;
use crate::triggers::websocket::{ConnectionSettings, WebSocketTrigger};
use crate::triggers::{cron::CronTrigger, http::HttpSettings, http::HttpTrigger, kafka::KafkaTrigger, redis::RedisTrigger};
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A loaded application, ready for triggers.
pub struct App {
    /// The manifest with every trigger template rendered.
    pub manifest: LoadedManifest,
    pub components: BTreeMap<String, LoadedComponent>,
    pub capabilities: Arc<HostCapabilities>,
    pub kafka: Option<KafkaConfig>,
    /// The service databases components declare.
    pub databases: Vec<ServiceDatabase>,
    /// The HTTP trigger's routes, built before any trigger runs: chained requests
    /// (`<component>.spin.internal`) from every trigger go through it.
    pub http: Arc<HttpTrigger>,
    /// The WebSocket trigger, on the HTTP port, when the manifest has one.
    pub websocket: Option<Arc<WebSocketTrigger>>,
    _engine: HostEngine,
}

/// `[application.trigger.kafka]` with paths resolved.
fn kafka_config(manifest: &LoadedManifest) -> Option<KafkaConfig> {
    let k = manifest.manifest.trigger_settings.kafka.as_ref()?;
    Some(KafkaConfig {
        brokers: k.brokers.clone(),
        schemas: k.schemas.as_ref().map(|d| manifest.base_dir.join(d)),
        partitions: k.partitions,
        replication: k.replication,
        client: k.client.clone(),
    })
}

/// Load and validate everything `up` needs, without serving.
pub async fn check(args: &AppArgs) -> anyhow::Result<App> {
    let mut manifest = manifest::load(&args.manifest)?;
    if !args.components.is_empty() {
        manifest::keep_only(&mut manifest, &args.components)?;
    }
    let platform = if args.spin_only {
        manifest::check_spin_only(&manifest)?;
        Platform::Spin
    } else {
        Platform::Host
    };
    let variables = AppVariables::resolve(&manifest.manifest, &EnvironmentProvider)
        .map_err(|e| anyhow::anyhow!("{}: {e}", manifest.path.display()))?;
    manifest::render_templates(&mut manifest, &|t| variables.render(t))?;
    let databases = args.database.server().databases(&manifest)?;
    let kafka = kafka_config(&manifest);
    let runtime_config = match &args.runtime_config_file {
        Some(path) => RuntimeConfig::load(path)?,
        None => RuntimeConfig::default(),
    };
    if platform == Platform::Spin && !runtime_config.ruleset_filter.is_empty() {
        anyhow::bail!("--spin-only: the runtime config lists ruleset-filter plugins, and Spin has no plugin runner");
    }
    let state_dir = args.state_dir.clone().unwrap_or_else(|| manifest.base_dir.join(".spin"));
    let memory_bytes = args.memory_limit_mib.checked_mul(1 << 20).context("--memory-limit-mib is too large")?;
    let engine = HostEngine::new(&EngineSettings {
        memory_bytes,
        max_instances: args.max_instances,
        perf_map: args.perf_map,
        cache_dir: args.cache_dir.clone().unwrap_or_else(|| state_dir.join("compiled")),
    })?;
    let stores = key_value::Stores::open(&runtime_config.key_value_store, &state_dir).await?;
    let labels: BTreeSet<String> = stores.labels().map(str::to_string).collect();
    let limits = InstanceLimits { memory_bytes, max_core_instances: 32 };
    let components = component::load_all(&engine, &manifest, &variables, &databases, &labels, limits, platform)?;
    for (id, c) in &components {
        tracing::info!(
            component = %id,
            source = %manifest.component_source(&manifest.manifest.components[id]).display(),
            variables = c.context.variables.len(),
            key_value_stores = ?c.context.access.key_value_stores,
            "component loaded"
        );
    }
    let metrics = Arc::new(Metrics::default());
    let producer = match &kafka {
        Some(k) => Some(Arc::new(Producer::new(k, metrics.clone())?)),
        None => None,
    };
    let plugins = Arc::new(crate::capabilities::plugins::PluginSet::load(&runtime_config.ruleset_filter, metrics.clone())?);
    plugins.watch().context("starting the plugin file watcher")?;
    let hub = match &manifest.manifest.trigger_settings.websocket {
        Some(w) => {
            let limits =
                Limits { max_connections: w.max_connections, max_subscriptions: w.max_subscriptions, send_queue: w.send_queue };
            let hub = Hub::connect(&w.address, &w.stream, w.history, limits).await.with_context(|| {
                format!("connecting to the WebSocket event stream at {}", crate::databases::redact(&w.address))
            })?;
            Some(Arc::new(hub))
        }
        None => None,
    };
    let connections = (runtime_config.postgres.clone(), runtime_config.redis.clone());
    let spans = match &args.otlp_endpoint {
        Some(endpoint) => {
            Some(crate::telemetry::Spans::start(endpoint, &args.otlp_service_name, &args.replica_id, metrics.clone())?)
        }
        None => None,
    };
    let capabilities = Arc::new(HostCapabilities::new(stores, producer, metrics, plugins, hub.clone(), connections, spans));
    let budget = Duration::from_millis(args.request_timeout_ms);
    let websocket = match (hub, &manifest.manifest.trigger_settings.websocket) {
        (Some(hub), Some(w)) if !manifest.manifest.triggers.websocket.is_empty() => {
            let settings = ConnectionSettings {
                allowed_origins: w
                    .allowed_origins
                    .split(',')
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_string)
                    .collect(),
                max_frame_bytes: w.max_frame_bytes,
                ping_interval: Duration::from_millis(w.ping_interval_ms),
                idle_timeout: Duration::from_millis(w.idle_timeout_ms),
            };
            let trigger =
                WebSocketTrigger::new(&manifest, &components, capabilities.clone(), hub, settings, budget, &args.replica_id)?;
            Some(Arc::new(trigger))
        }
        _ => None,
    };
    let http = HttpTrigger::new(
        &manifest,
        &components,
        capabilities.clone(),
        HttpSettings {
            request_timeout: budget,
            port: manifest.manifest.trigger_settings.http.clone(),
            max_instances: args.max_instances,
        },
        websocket.clone(),
    )?;
    Ok(App { manifest, components, capabilities, kafka, databases, http, websocket, _engine: engine })
}

pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    let app = check(&args.app).await?;
    tracing::info!(application = %app.manifest.manifest.application.name, replica = %args.app.replica_id, "starting");
    if !args.no_migrate {
        let applied = crate::migrate::run(&args.app.database.server(), &app.databases).await.context("running migrations")?;
        tracing::info!(applied, databases = app.databases.len(), "migrations done");
    }
    let budget = Duration::from_millis(args.app.request_timeout_ms);
    let (stop, stopped) = watch::channel(false);
    let mut background = Vec::new();
    let triggers = &app.manifest.manifest.triggers;
    let settings = &app.manifest.manifest.trigger_settings;

    if let (Some(kafka), Some(producer)) = (&app.kafka, &app.capabilities.producer) {
        if !triggers.kafka.is_empty() {
            let trigger = KafkaTrigger::new(&app.manifest, &app.components, app.capabilities.clone(), kafka, budget)?;
            let ready = app.http.readiness().pending("kafka", "connecting to the brokers");
            background.push(tokio::spawn(trigger.run(ready, stopped.clone())));
        }
        for db in app.databases.iter().filter(|d| d.outbox) {
            let relay = crate::outbox::relay(db.url.clone(), producer.clone(), app.capabilities.metrics.clone(), stopped.clone());
            background.push(tokio::spawn(async move {
                relay.await;
                Ok(())
            }));
        }
    }
    let redis_address = settings.redis.as_ref().map(|r| r.address.clone());
    if !triggers.cron.is_empty() {
        let lease = settings.cron.as_ref().and_then(|c| c.lease_address.clone()).or_else(|| redis_address.clone());
        let trigger =
            CronTrigger::new(&app.manifest, &app.components, app.capabilities.clone(), lease.as_deref(), &args.app.replica_id)
                .await?;
        background.push(tokio::spawn(trigger.run(stopped.clone())));
    }
    if !triggers.redis.is_empty() {
        let trigger =
            RedisTrigger::new(&app.manifest, &app.components, app.capabilities.clone(), redis_address.as_deref(), budget)?;
        background.push(tokio::spawn(trigger.run(stopped.clone())));
    }

    if let Some(ws) = &app.websocket {
        background.push(tokio::spawn(ws.clone().follow(stopped.clone())));
    }
    let http = app.http.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let mut http_stopped = stopped.clone();
    http.serve(args.listen, async move {
        let _ = http_stopped.wait_for(|s| *s).await;
    })
    .await?;
    // Give the other triggers a moment to settle in-flight work and commit.
    let drain = futures::future::join_all(background);
    match tokio::time::timeout(Duration::from_secs(15), drain).await {
        Ok(results) => {
            for r in results {
                if let Ok(Err(e)) = r {
                    tracing::error!(error = %format!("{e:#}"), "trigger ended with an error");
                }
            }
        }
        Err(_) => tracing::warn!("triggers did not stop within 15 s"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}
