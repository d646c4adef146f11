//! Cross-field checks of a parsed manifest: every reference resolves, every file exists, no two
//! triggers claim one route.

use super::template::{check_variable_name, Template};
use super::{HttpRoute, LoadedManifest, ManifestError};
use crate::triggers::http::routes::RoutePattern;
use std::collections::BTreeMap;

pub(super) fn validate(loaded: &LoadedManifest) -> Result<(), ManifestError> {
    let file = &loaded.path;
    let m = &loaded.manifest;
    let invalid = |location: String, message: String| ManifestError::Invalid {
        file: file.clone(),
        location,
        message,
    };

    for (name, var) in &m.variables {
        check_variable_name(name).map_err(|e| invalid(format!("variables.{name}"), e))?;
        match (&var.default, var.required) {
            (Some(_), true) => {
                return Err(invalid(
                    format!("variables.{name}"),
                    "give either `default` or `required = true`, not both".into(),
                ))
            }
            (None, false) => {
                return Err(invalid(
                    format!("variables.{name}"),
                    "needs a `default` or `required = true`".into(),
                ))
            }
            _ => {}
        }
    }

    for (id, component) in &m.components {
        let field_error = |field: &str, message: String| ManifestError::ComponentField {
            file: file.clone(),
            component: id.clone(),
            field: field.to_string(),
            message,
        };
        let source = loaded.component_source(component);
        if !source.is_file() {
            return Err(field_error(
                "source",
                format!("no file at {} (build the component first)", source.display()),
            ));
        }
        for (name, value) in &component.variables {
            check_variable_name(name).map_err(|e| field_error("variables", e))?;
            let template = Template::parse(value)
                .map_err(|e| field_error(&format!("variables.{name}"), e))?;
            for reference in template.references() {
                if !m.variables.contains_key(reference) {
                    return Err(field_error(
                        &format!("variables.{name}"),
                        format!("refers to `{reference}`, which is not declared in [variables]"),
                    ));
                }
            }
        }
        for host in &component.allowed_outbound_hosts {
            let template = Template::parse(host).map_err(|e| field_error("allowed_outbound_hosts", e))?;
            for reference in template.references() {
                if !component.variables.contains_key(reference) {
                    return Err(field_error(
                        "allowed_outbound_hosts",
                        format!(
                            "{host:?} refers to `{reference}`, which is not a variable of this component"
                        ),
                    ));
                }
            }
            if template.references().next().is_none() {
                crate::capabilities::allowed_hosts::AllowedHost::parse(host)
                    .map_err(|e| field_error("allowed_outbound_hosts", e))?;
            }
        }
    }

    let mut claimed: BTreeMap<String, usize> = BTreeMap::new();
    for (index, trigger) in m.triggers.http.iter().enumerate() {
        let location = format!("trigger.http[{index}]");
        if !m.components.contains_key(&trigger.component) {
            return Err(invalid(
                location,
                format!("component `{}` is not defined in [component]", trigger.component),
            ));
        }
        if let Some(executor) = &trigger.executor {
            if executor.kind != "spin" {
                return Err(invalid(
                    format!("{location}.executor"),
                    format!("executor type `{}` is not supported (only `spin`)", executor.kind),
                ));
            }
        }
        if let HttpRoute::Path(route) = &trigger.route {
            let pattern = RoutePattern::parse(route).map_err(|e| invalid(format!("{location}.route"), e))?;
            if let Some(first) = claimed.insert(pattern.canonical(), index) {
                return Err(invalid(
                    format!("{location}.route"),
                    format!("route {route:?} is already claimed by trigger.http[{first}]"),
                ));
            }
        }
    }
    Ok(())
}
