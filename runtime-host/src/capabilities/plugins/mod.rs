//! Ruleset-filter plugins: third-party components the host runs for the ingestion component,
//! each call in a fresh instance with no capability but static-data lookups, a fuel budget and
//! a memory cap, on an engine of their own (fuel metering costs the other components nothing).
//! A plugin that traps, spends its budget or cannot be loaded is reported and its failure
//! policy decides. Changed plugin files are swapped in while the host runs (`reload`).

pub mod config;
mod host;
mod limits;
mod reload;
mod static_data;

use crate::bindings::plugins::filter::RulesetFilterPre;
use crate::bindings::plugins::runner::battlescope::ruleset_filter::runner::{Failure, Outcome, Rejection};
use crate::bindings::plugins::types::{KillmailSummary, Setting, Verdict};
use crate::metrics::Metrics;
use anyhow::Context;
use config::{FailurePolicy, PluginConfig};
use std::sync::{Arc, RwLock};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store};

/// What a plugin call's store holds: its limits, nothing else.
struct PluginState {
    limits: limits::CallLimits,
}

/// A plugin's compiled code, or the reason it was refused.
type Linked = Result<RulesetFilterPre<PluginState>, String>;

/// A configured plugin: the version calls use now, swapped whole when its file changes.
struct Plugin {
    config: PluginConfig,
    settings: Vec<Setting>,
    current: RwLock<Version>,
}

/// One load of a plugin's file.
struct Version {
    linked: Arc<Linked>,
    /// The file as it was when loaded (or refused); a different stamp means it changed.
    stamp: Option<reload::FileStamp>,
}

impl Plugin {
    fn linked(&self) -> Arc<Linked> {
        self.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).linked.clone()
    }
}

/// What one plugin said about one killmail.
#[derive(Debug, Clone, PartialEq)]
pub enum PluginAnswer {
    Accept,
    Reject(String),
    /// Trap, budget spent, or refused at load; the policy is applied by the caller.
    Failed(String),
}

/// What one call used of its budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallCost {
    pub fuel: u64,
    /// The most linear memory the call's instance held at once, all memories together.
    pub memory_bytes: usize,
}

/// One instance's runner: the configured plugins.
pub struct PluginsState {
    plugins: Arc<PluginSet>,
    calls: crate::telemetry::CallSpans,
}

impl PluginsState {
    pub fn new(plugins: Arc<PluginSet>, calls: crate::telemetry::CallSpans) -> Self {
        Self { plugins, calls }
    }
}

/// Every configured plugin, in order.
pub struct PluginSet {
    engine: Engine,
    plugins: Vec<Plugin>,
    metrics: Arc<Metrics>,
}

impl PluginSet {
    /// Compile and link every plugin. Configuration errors stop the host; a plugin that
    /// cannot be loaded (unreadable, not a ruleset filter, imports a capability) is refused:
    /// logged, and failed by its policy on every call until a loadable file replaces it.
    pub fn load(configs: &[PluginConfig], metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        let mut engine_config = wasmtime::Config::new();
        engine_config.wasm_component_model(true).consume_fuel(true);
        let engine = Engine::new(&engine_config).map_err(anyhow::Error::from).context("creating the plugin engine")?;
        let mut seen = std::collections::BTreeSet::new();
        let mut plugins = Vec::new();
        for config in configs {
            config.check().map_err(anyhow::Error::msg)?;
            anyhow::ensure!(seen.insert(config.name.clone()), "ruleset_filter `{}` is configured twice", config.name);
            let stamp = reload::FileStamp::of(&config.source);
            let linked = link(&engine, config);
            match &linked {
                Ok(_) => tracing::info!(plugin = %config.name, source = %config.source.display(), fuel = config.fuel(),
                    memory_mib = config.memory_mib(), on_failure = ?config.on_failure, "ruleset-filter plugin loaded"),
                Err(e) => {
                    tracing::error!(plugin = %config.name, source = %config.source.display(), on_failure = ?config.on_failure,
                    "ruleset-filter plugin refused: {e}")
                }
            }
            let settings = config.setting_pairs().into_iter().map(|(key, value)| Setting { key, value }).collect();
            let current = RwLock::new(Version { linked: Arc::new(linked), stamp });
            plugins.push(Plugin { config: config.clone(), settings, current });
        }
        Ok(Self { engine, plugins, metrics })
    }

    /// Run the plugins in order until one rejects. Failures are logged, counted and turned
    /// into the plugin's policy.
    pub fn evaluate(&self, killmail: &KillmailSummary) -> Outcome {
        let mut failures = Vec::new();
        let reject = |plugin: &str, reason: String, failures: Vec<Failure>| Outcome {
            rejection: Some(Rejection { plugin: plugin.to_string(), reason }),
            failures,
        };
        for plugin in &self.plugins {
            let name = plugin.config.name.as_str();
            let started = std::time::Instant::now();
            let (answer, _cost) = self.call(plugin, killmail);
            // A sum and a count give the mean call time (fresh instance included).
            let micros = started.elapsed().as_micros() as u64;
            self.metrics.count(
                "plugin_call_microseconds_total",
                "Time spent in ruleset-filter plugin calls.",
                &[("plugin", name)],
                micros,
            );
            self.metrics.count("plugin_calls_total", "Ruleset-filter plugin calls.", &[("plugin", name)], 1);
            let verdict = match answer {
                PluginAnswer::Accept => "accept",
                PluginAnswer::Reject(reason) => {
                    self.count(name, "reject");
                    return reject(name, reason, failures);
                }
                PluginAnswer::Failed(error) => {
                    // A refused plugin was reported once, at load.
                    if plugin.linked().is_ok() {
                        tracing::warn!(plugin = name, killmail_id = killmail.killmail_id, policy = ?plugin.config.on_failure,
                            "ruleset-filter plugin failed: {error}");
                    }
                    self.metrics.count(
                        "plugin_failures_total",
                        "Ruleset-filter plugin calls that failed.",
                        &[("plugin", name)],
                        1,
                    );
                    failures.push(Failure { plugin: name.to_string(), error: error.clone() });
                    if plugin.config.on_failure == FailurePolicy::Reject {
                        self.count(name, "reject");
                        return reject(name, format!("plugin failed and fails closed: {error}"), failures);
                    }
                    "accept"
                }
            };
            self.count(name, verdict);
        }
        Outcome { rejection: None, failures }
    }

    fn count(&self, plugin: &str, verdict: &str) {
        self.metrics.count(
            "plugin_verdicts_total",
            "Ruleset-filter plugin verdicts.",
            &[("plugin", plugin), ("verdict", verdict)],
            1,
        );
    }

    /// Why each refused plugin could not be loaded, by name.
    pub fn refusals(&self) -> Vec<(String, String)> {
        self.plugins
            .iter()
            .filter_map(|p| p.linked().as_ref().as_ref().err().map(|e| (p.config.name.clone(), e.clone())))
            .collect()
    }

    /// One call of the first plugin, as `battlescope plugin test` makes it: its answer and
    /// what it used.
    pub fn call_first(&self, killmail: &KillmailSummary) -> Option<(PluginAnswer, CallCost)> {
        self.plugins.first().map(|plugin| self.call(plugin, killmail))
    }

    /// One call in a fresh instance of the plugin's current version under its fuel and memory
    /// limits; the answer and what it used.
    fn call(&self, plugin: &Plugin, killmail: &KillmailSummary) -> (PluginAnswer, CallCost) {
        let linked = plugin.linked();
        let pre = match linked.as_ref() {
            Ok(pre) => pre,
            Err(refused) => return (PluginAnswer::Failed(format!("refused at load: {refused}")), CallCost::default()),
        };
        let fuel = plugin.config.fuel();
        let limits = limits::CallLimits::new(plugin.config.memory_mib() << 20);
        let mut store = Store::new(&self.engine, PluginState { limits });
        store.limiter(|s| &mut s.limits);
        if let Err(e) = store.set_fuel(fuel) {
            return (PluginAnswer::Failed(format!("setting fuel: {e}")), CallCost::default());
        }
        let outcome = pre.instantiate(&mut store).and_then(|instance| {
            instance.battlescope_ruleset_filter_filter().call_evaluate(&mut store, killmail, &plugin.settings)
        });
        let cost = CallCost { fuel: fuel - store.get_fuel().unwrap_or(0), memory_bytes: store.data().limits.peak() };
        let answer = match outcome {
            Ok(Verdict::Accept) => PluginAnswer::Accept,
            Ok(Verdict::Reject(reason)) => PluginAnswer::Reject(reason),
            Err(e) => PluginAnswer::Failed(describe(&e)),
        };
        (answer, cost)
    }
}

fn describe(error: &wasmtime::Error) -> String {
    match error.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::OutOfFuel) => "fuel budget spent".to_string(),
        _ => crate::engine::describe_failure(error),
    }
}

/// Read, wrap (core module → component) and link a plugin against an empty linker: any
/// import at all is a capability it does not get.
fn link(engine: &Engine, config: &PluginConfig) -> Result<RulesetFilterPre<PluginState>, String> {
    let bytes = std::fs::read(&config.source).map_err(|e| format!("reading {}: {e}", config.source.display()))?;
    let component_bytes = if wasmparser::Parser::is_component(&bytes) {
        bytes
    } else if wasmparser::Parser::is_core_wasm(&bytes) {
        wit_component::ComponentEncoder::default().module(&bytes).and_then(|e| e.validate(true).encode()).map_err(|e| {
            format!(
                "{} is a core module but not one built with wit-bindgen for the ruleset-filter world: {e:#}",
                config.source.display()
            )
        })?
    } else {
        return Err(format!("{} is not WebAssembly", config.source.display()));
    };
    let component = Component::new(engine, &component_bytes).map_err(|e| format!("compiling: {e:#}"))?;
    // The filter world imports the `types` interface, which holds types only; an empty
    // instance satisfies it. Static data is served; any other import with a function or
    // resource in it is a capability.
    let mut linker: Linker<PluginState> = Linker::new(engine);
    crate::bindings::plugins::filter::battlescope::ruleset_filter::static_data::add_to_linker::<_, HasSelf<PluginState>>(
        &mut linker,
        |s| s,
    )
    .map_err(|e| format!("linking static data: {e:#}"))?;
    let mut capabilities = Vec::new();
    for (name, item) in component.component_type().imports(engine) {
        if name == static_data::IMPORT {
            continue;
        }
        let types_only = match &item.ty {
            ComponentItem::ComponentInstance(instance) => {
                instance.exports(engine).all(|(_, export)| matches!(export.ty, ComponentItem::Type(_)))
            }
            _ => false,
        };
        if types_only {
            linker.instance(name).map_err(|e| format!("linking {name}: {e:#}"))?;
        } else {
            capabilities.push(name.to_string());
        }
    }
    if !capabilities.is_empty() {
        return Err(format!("it imports {}; plugins get no capabilities", capabilities.join(", ")));
    }
    let pre = linker.instantiate_pre(&component).map_err(|e| format!("linking: {e:#}"))?;
    RulesetFilterPre::new(pre).map_err(|e| format!("it does not export battlescope:ruleset-filter/filter@0.1.0: {e:#}"))
}
