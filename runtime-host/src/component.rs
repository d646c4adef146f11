//! A component as the host runs it: its resolved configuration, compiled code and
//! pre-instantiation.

use crate::capabilities::allowed_hosts::{AllowList, AllowedHost};
use crate::capabilities::variables::AppVariables;
use crate::manifest::{self, LoadedManifest, Template};
use crate::state::InstanceState;
use anyhow::Context;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use wasmtime::component::InstancePre;

/// Per-instance resource limits.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Largest linear memory an instance may grow to, in bytes.
    pub memory_bytes: usize,
    /// Core instances one component instance may create.
    pub max_core_instances: usize,
}

/// A component's configuration after variables are resolved.
#[derive(Debug)]
pub struct ComponentContext {
    pub id: String,
    pub variables: BTreeMap<String, String>,
    pub allowed_outbound_hosts: AllowList,
    pub key_value_stores: BTreeSet<String>,
    pub environment: BTreeMap<String, String>,
    pub limits: InstanceLimits,
}

impl ComponentContext {
    /// Resolve a manifest component: render its variables and outbound-host templates.
    pub fn resolve(
        id: &str,
        component: &manifest::Component,
        app_variables: &AppVariables,
        limits: InstanceLimits,
    ) -> anyhow::Result<Self> {
        let variables = app_variables
            .for_component(&component.variables)
            .map_err(|e| anyhow::anyhow!("component `{id}`: {e}"))?;
        let mut hosts = Vec::new();
        for entry in &component.allowed_outbound_hosts {
            let rendered = Template::parse(entry)
                .and_then(|t| t.render(|name| variables.get(name).cloned()).map_err(|m| format!("undefined variable `{m}`")))
                .map_err(|e| anyhow::anyhow!("component `{id}`: allowed_outbound_hosts {entry:?}: {e}"))?;
            hosts.push(
                AllowedHost::parse(&rendered)
                    .map_err(|e| anyhow::anyhow!("component `{id}`: allowed_outbound_hosts: {e}"))?,
            );
        }
        Ok(Self {
            id: id.to_string(),
            variables,
            allowed_outbound_hosts: AllowList::new(hosts),
            key_value_stores: component.key_value_stores.iter().cloned().collect(),
            environment: component.environment.clone(),
            limits,
        })
    }
}

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
    ) -> wasmtime::Store<InstanceState> {
        let mut store = wasmtime::Store::new(engine, InstanceState::new(context.clone(), capabilities.clone()));
        store.limiter(|s| &mut s.limits);
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

/// A short reason for a failed instance: wasmtime wraps traps and limit errors in context, so
/// the root cause is what says what happened.
pub fn describe_failure(error: &wasmtime::Error) -> String {
    if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
        return match trap {
            wasmtime::Trap::Interrupt => "deadline exceeded (epoch interrupt)".to_string(),
            other => format!("trap: {other}"),
        };
    }
    let root = error.root_cause().to_string();
    if root.contains("memory") && (root.contains("limit") || root.contains("grow")) {
        return format!("memory limit exceeded: {root}");
    }
    format!("{root} ({error:#})")
}

/// Resolve, compile and link every component of the manifest.
pub fn load_all(
    engine: &crate::engine::HostEngine,
    manifest: &LoadedManifest,
    app_variables: &AppVariables,
    kv_labels: &BTreeSet<String>,
    limits: InstanceLimits,
) -> anyhow::Result<BTreeMap<String, LoadedComponent>> {
    let mut linker = wasmtime::component::Linker::new(engine.engine());
    crate::capabilities::add_to_linker(&mut linker)?;
    let mut out = BTreeMap::new();
    for (id, component) in &manifest.manifest.components {
        let context = ComponentContext::resolve(id, component, app_variables, limits)?;
        if let Some(label) = context.key_value_stores.iter().find(|l| !kv_labels.contains(*l)) {
            anyhow::bail!(
                "{}: component `{id}`: field `key_value_stores`: no store `{label}` is configured (configured: {})",
                manifest.path.display(),
                kv_labels.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        let source = manifest.component_source(component);
        let compiled = engine
            .load_component(&source)
            .with_context(|| format!("component `{id}`: loading {}", source.display()))?;
        let pre = linker.instantiate_pre(&compiled).map_err(anyhow::Error::from).with_context(|| {
            format!("component `{id}` imports something this host does not provide")
        })?;
        out.insert(id.clone(), LoadedComponent { context: Arc::new(context), pre });
    }
    Ok(out)
}
