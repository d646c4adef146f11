//! A component as the host runs it: its resolved configuration (`context`), compiled code and
//! pre-instantiation, and a fresh store for each invocation.

pub mod accounting;
pub mod context;
pub mod invocation;
pub mod output;

use crate::capabilities::variables::AppVariables;
use crate::databases::ServiceDatabase;
use crate::manifest::LoadedManifest;
use crate::state::InstanceState;
use anyhow::Context;
pub use context::{ComponentContext, InstanceLimits};
pub use invocation::Invocation;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use wasmtime::component::InstancePre;

/// A component ready to instantiate.
pub struct LoadedComponent {
    pub context: Arc<ComponentContext>,
    pub pre: InstancePre<InstanceState>,
}

impl LoadedComponent {
    /// A fresh store for one invocation, with its memory cap and a CPU budget of `budget`.
    pub fn store(
        context: &Arc<ComponentContext>,
        engine: &wasmtime::Engine,
        capabilities: &Arc<crate::capabilities::HostCapabilities>,
        budget: std::time::Duration,
        invocation: &Invocation,
    ) -> wasmtime::Store<InstanceState> {
        let mut store = wasmtime::Store::new(engine, InstanceState::new(context, capabilities, invocation));
        store.limiter(|s| &mut s.accounting);
        crate::engine::HostEngine::arm_deadline(&mut store, budget);
        store
    }
}

/// The typed pre-instance a trigger builds from a component (`ProxyPre::new(pre)`, say), or an
/// error that names the trigger, the component and the export it lacks.
pub fn require_export<P>(made: wasmtime::Result<P>, trigger: &str, component: &str, export: &str) -> anyhow::Result<P> {
    made.map_err(anyhow::Error::from)
        .with_context(|| format!("component `{component}` is named by {trigger} but does not export {export}"))
}

/// Resolve, compile and link every component of the manifest.
pub fn load_all(
    engine: &crate::engine::HostEngine,
    manifest: &LoadedManifest,
    app_variables: &AppVariables,
    databases: &[ServiceDatabase],
    kv_labels: &BTreeSet<String>,
    limits: InstanceLimits,
    platform: crate::state::Platform,
) -> anyhow::Result<BTreeMap<String, LoadedComponent>> {
    let mut linker = wasmtime::component::Linker::new(engine.engine());
    crate::state::add_to_linker(&mut linker, platform)?;
    let mut out = BTreeMap::new();
    for (id, component) in &manifest.manifest.components {
        let database = databases.iter().find(|d| d.components.contains(id));
        let context = ComponentContext::resolve(id, component, app_variables, database, limits)?;
        if let Some(label) = context.access.key_value_stores.iter().find(|l| !kv_labels.contains(*l)) {
            anyhow::bail!(
                "{}: component `{id}`: field `key_value_stores`: no store `{label}` is configured (configured: {})",
                manifest.path.display(),
                kv_labels.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        let source = manifest.component_source(component);
        let compiled =
            engine.load_component(&source).with_context(|| format!("component `{id}`: loading {}", source.display()))?;
        let pre = linker
            .instantiate_pre(&compiled)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("component `{id}` imports something {} does not provide", platform.name()))?;
        out.insert(id.clone(), LoadedComponent { context: Arc::new(context), pre });
    }
    Ok(out)
}
