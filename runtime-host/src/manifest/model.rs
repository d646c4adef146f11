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
