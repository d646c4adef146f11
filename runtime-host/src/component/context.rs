//! A component's configuration once variables have values: what it may reach, its variables,
//! environment and limits.

use crate::capabilities::access::Access;
use crate::capabilities::allowed_hosts::{AllowList, AllowedHost};
use crate::capabilities::variables::AppVariables;
use crate::databases::ServiceDatabase;
use crate::manifest::{self, Template};
use anyhow::Context;
use std::collections::BTreeMap;
use std::sync::Arc;

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
    /// Its variables, rendered; what `fermyon:spin/variables` answers.
    pub variables: Arc<BTreeMap<String, String>>,
    /// What it may reach, as every capability checks it.
    pub access: Arc<Access>,
    pub environment: BTreeMap<String, String>,
    pub limits: InstanceLimits,
}

impl ComponentContext {
    /// Resolve a manifest component: render its variables and outbound-host templates; a
    /// declared service database becomes the variable `database_url` and an allowed host.
    pub fn resolve(
        id: &str,
        component: &manifest::Component,
        app_variables: &AppVariables,
        database: Option<&ServiceDatabase>,
        limits: InstanceLimits,
    ) -> anyhow::Result<Self> {
        let mut variables =
            app_variables.for_component(&component.variables).map_err(|e| anyhow::anyhow!("component `{id}`: {e}"))?;
        let mut hosts = Vec::new();
        if let Some(db) = database {
            variables.insert("database_url".into(), db.url.clone());
            let address = url::Url::parse(&db.url)?;
            let host = address.host_str().context("a database URL names its host")?;
            let allowed = format!("postgres://{host}:{}", address.port().unwrap_or(5432));
            hosts.push(AllowedHost::parse(&allowed).map_err(|e| anyhow::anyhow!("component `{id}`: its database: {e}"))?);
        }
        for entry in &component.allowed_outbound_hosts {
            let rendered = Template::parse(entry)
                .and_then(|t| t.render(|name| variables.get(name).cloned()).map_err(|m| format!("undefined variable `{m}`")))
                .map_err(|e| anyhow::anyhow!("component `{id}`: allowed_outbound_hosts {entry:?}: {e}"))?;
            hosts.push(
                AllowedHost::parse(&rendered).map_err(|e| anyhow::anyhow!("component `{id}`: allowed_outbound_hosts: {e}"))?,
            );
        }
        let access = Access {
            component: id.to_string(),
            allowed_hosts: AllowList::new(hosts),
            key_value_stores: component.key_value_stores.iter().cloned().collect(),
        };
        Ok(Self {
            id: id.to_string(),
            variables: Arc::new(variables),
            access: Arc::new(access),
            environment: component.environment.clone(),
            limits,
        })
    }
}
