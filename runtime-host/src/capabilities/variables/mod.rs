//! Variables: `[variables]` defaults, values from `SPIN_VARIABLE_<NAME>` in the environment, and
//! each component's `variables` templates over them. Everything is resolved at start-up so a
//! missing required value stops the host before it serves.

mod host;

use crate::manifest::{Manifest, Template};
use std::collections::BTreeMap;

/// One instance's view of its component's variables.
pub struct VariablesState {
    values: std::sync::Arc<BTreeMap<String, String>>,
}

impl VariablesState {
    pub fn new(values: std::sync::Arc<BTreeMap<String, String>>) -> Self {
        Self { values }
    }
}

/// Application variables with their final values.
#[derive(Debug, Clone, Default)]
pub struct AppVariables {
    values: BTreeMap<String, String>,
}

/// Where application variable values come from, in priority order.
pub trait Provider {
    fn get(&self, name: &str) -> Option<String>;
}

/// `SPIN_VARIABLE_<NAME>` environment variables, as Spin's environment provider reads them.
pub struct EnvironmentProvider;

impl Provider for EnvironmentProvider {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok()
    }
}

impl AppVariables {
    /// Give every application variable its value; the error names each required one that has
    /// none.
    pub fn resolve(manifest: &Manifest, provider: &dyn Provider) -> Result<Self, String> {
        let mut values = BTreeMap::new();
        let mut missing = Vec::new();
        for (name, declared) in &manifest.variables {
            match provider.get(name).or_else(|| declared.default.clone()) {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None => missing.push(format!("`{name}` (set SPIN_VARIABLE_{})", name.to_ascii_uppercase())),
            }
        }
        if missing.is_empty() {
            Ok(Self { values })
        } else {
            Err(format!("required variables have no value: {}", missing.join(", ")))
        }
    }

    /// Render a `{{ variable }}` template over the application variables.
    pub fn render(&self, text: &str) -> Result<String, String> {
        Template::parse(text)?
            .render(|r| self.values.get(r).cloned())
            .map_err(|missing| format!("{text:?} refers to undefined variable `{missing}`"))
    }

    /// A component's variables, rendered from its templates.
    pub fn for_component(&self, templates: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
        templates
            .iter()
            .map(|(name, text)| {
                let template = Template::parse(text)?;
                let value = template
                    .render(|r| self.values.get(r).cloned())
                    .map_err(|missing| format!("variable `{name}` refers to undefined `{missing}`"))?;
                Ok((name.clone(), value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{AppVariable, Application, Triggers};
    use std::collections::HashMap;

    struct MapProvider(HashMap<&'static str, &'static str>);
    impl Provider for MapProvider {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|s| s.to_string())
        }
    }

    fn manifest(vars: &[(&str, Option<&str>)]) -> Manifest {
        Manifest {
            application: Application {
                name: "t".into(),
                version: None,
                description: None,
                authors: vec![],
                trigger: Default::default(),
            },
            trigger_settings: Default::default(),
            variables: vars
                .iter()
                .map(|(n, d)| {
                    (n.to_string(), AppVariable { default: d.map(str::to_string), required: d.is_none(), secret: false })
                })
                .collect(),
            triggers: Triggers::default(),
            components: Default::default(),
        }
    }

    #[test]
    fn provider_overrides_default() {
        let m = manifest(&[("a", Some("default")), ("b", Some("kept"))]);
        let vars = AppVariables::resolve(&m, &MapProvider(HashMap::from([("a", "env")]))).unwrap();
        let c = vars.for_component(&BTreeMap::from([("x".to_string(), "{{ a }}/{{ b }}".to_string())])).unwrap();
        assert_eq!(c["x"], "env/kept");
    }

    #[test]
    fn missing_required_value_is_named() {
        let m = manifest(&[("token", None), ("other", None)]);
        let err = AppVariables::resolve(&m, &MapProvider(HashMap::new())).unwrap_err();
        assert!(err.contains("`other` (set SPIN_VARIABLE_OTHER)"), "{err}");
        assert!(err.contains("`token` (set SPIN_VARIABLE_TOKEN)"), "{err}");
    }
}
