//! Start-up order: manifest → variables → runtime config → engine → stores → components →
//! migrations → triggers. Everything that can fail on bad configuration fails before a port is
//! bound.

use crate::capabilities::variables::{AppVariables, EnvironmentProvider};
use crate::capabilities::{key_value, HostCapabilities};
use crate::cli::{AppArgs, UpArgs};
use crate::component::{self, InstanceLimits, LoadedComponent};
use crate::engine::{EngineSettings, HostEngine};
use crate::manifest::{self, LoadedManifest};
use crate::runtime_config::RuntimeConfig;
use crate::triggers::http::{HttpSettings, HttpTrigger};
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// A loaded application, ready for triggers.
pub struct App {
    pub manifest: LoadedManifest,
    pub components: BTreeMap<String, LoadedComponent>,
    pub capabilities: Arc<HostCapabilities>,
    _engine: HostEngine,
}

/// Load and validate everything `up` needs, without serving.
pub async fn check(args: &AppArgs) -> anyhow::Result<App> {
    let manifest = manifest::load(&args.manifest)?;
    let variables = AppVariables::resolve(&manifest.manifest, &EnvironmentProvider)
        .map_err(|e| anyhow::anyhow!("{}: {e}", manifest.path.display()))?;
    let runtime_config = match &args.runtime_config_file {
        Some(path) => RuntimeConfig::load(path)?,
        None => RuntimeConfig::default(),
    };
    let state_dir = args.state_dir.clone().unwrap_or_else(|| manifest.base_dir.join(".spin"));
    let memory_bytes = args.memory_limit_mib.checked_mul(1 << 20).context("--memory-limit-mib is too large")?;
    let engine = HostEngine::new(&EngineSettings {
        memory_bytes,
        max_instances: args.max_instances,
        cache_dir: args.cache_dir.clone().unwrap_or_else(|| state_dir.join("compiled")),
    })?;
    let stores = key_value::Stores::open(&runtime_config.key_value_store, &state_dir).await?;
    let labels: BTreeSet<String> = stores.labels().map(str::to_string).collect();
    let limits = InstanceLimits { memory_bytes, max_core_instances: 32 };
    let components = component::load_all(&engine, &manifest, &variables, &labels, limits)?;
    for (id, c) in &components {
        tracing::info!(
            component = %id,
            source = %manifest.component_source(&manifest.manifest.components[id]).display(),
            variables = c.context.variables.len(),
            key_value_stores = ?c.context.key_value_stores,
            "component loaded"
        );
    }
    Ok(App { manifest, components, capabilities: Arc::new(HostCapabilities::new(stores)), _engine: engine })
}

pub async fn up(args: UpArgs) -> anyhow::Result<()> {
    let app = check(&args.app).await?;
    if !args.no_migrate {
        let applied = crate::migrate::run(&args.database.target()).await.context("running migrations")?;
        tracing::info!(applied, "migrations done");
    }
    let http = Arc::new(HttpTrigger::new(
        &app.manifest,
        &app.components,
        app.capabilities.clone(),
        HttpSettings { listen: args.listen, request_timeout: Duration::from_millis(args.request_timeout_ms) },
    )?);
    http.serve(shutdown_signal()).await
}

async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing the SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}
