//! Cross-field checks of a parsed manifest: every reference resolves, every file exists, no two
//! triggers claim one route.

use super::template::{check_variable_name, Template};
use super::{HttpRoute, LoadedManifest, ManifestError};
use crate::triggers::http::routes::RoutePattern;
use std::collections::BTreeMap;

/// The largest `batch_size` of a Kafka trigger: a batch is one instance's call, all of it
/// within the handler deadline.
const MAX_KAFKA_BATCH: usize = 1000;
/// The longest `batch_linger_ms`.
const MAX_BATCH_LINGER_MS: u64 = 1000;
/// The longest `yield_max_ms`: a background consumer still makes progress while the rest of
/// the host is never idle.
const MAX_YIELD_MS: u64 = 60_000;

pub(super) fn validate(loaded: &LoadedManifest) -> Result<(), ManifestError> {
    let file = &loaded.path;
    let m = &loaded.manifest;
    let invalid = |location: String, message: String| ManifestError::Invalid { file: file.clone(), location, message };

    for (name, var) in &m.variables {
        check_variable_name(name).map_err(|e| invalid(format!("variables.{name}"), e))?;
        match (&var.default, var.required) {
            (Some(_), true) => {
                return Err(invalid(format!("variables.{name}"), "give either `default` or `required = true`, not both".into()))
            }
            (None, false) => return Err(invalid(format!("variables.{name}"), "needs a `default` or `required = true`".into())),
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
            return Err(field_error("source", format!("no file at {} (build the component first)", source.display())));
        }
        for (name, value) in &component.variables {
            check_variable_name(name).map_err(|e| field_error("variables", e))?;
            let template = Template::parse(value).map_err(|e| field_error(&format!("variables.{name}"), e))?;
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
                        format!("{host:?} refers to `{reference}`, which is not a variable of this component"),
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
            return Err(invalid(location, format!("component `{}` is not defined in [component]", trigger.component)));
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
    validate_event_triggers(loaded)
}

/// Kafka, cron and Redis triggers: components exist, schedules parse, settings are present.
pub(super) fn validate_event_triggers(loaded: &LoadedManifest) -> Result<(), ManifestError> {
    let file = &loaded.path;
    let m = &loaded.manifest;
    let invalid = |location: String, message: String| ManifestError::Invalid { file: file.clone(), location, message };
    let known = |location: &str, component: &str| {
        if m.components.contains_key(component) {
            Ok(())
        } else {
            Err(invalid(location.to_string(), format!("component `{component}` is not defined in [component]")))
        }
    };
    let settings = &m.trigger_settings;
    if let Some(kafka) = &settings.kafka {
        if kafka.brokers.trim().is_empty() {
            return Err(invalid("application.trigger.kafka.brokers".into(), "must name at least one broker".into()));
        }
        if let Some(dir) = &kafka.schemas {
            if !loaded.base_dir.join(dir).is_dir() {
                return Err(invalid("application.trigger.kafka.schemas".into(), format!("no folder {dir:?}")));
            }
        }
        if kafka.partitions < 1 {
            return Err(invalid("application.trigger.kafka.partitions".into(), "must be at least 1".into()));
        }
        if kafka.replication < 1 {
            return Err(invalid("application.trigger.kafka.replication".into(), "must be at least 1".into()));
        }
    }
    for (index, t) in m.triggers.kafka.iter().enumerate() {
        let location = format!("trigger.kafka[{index}]");
        known(&location, &t.component)?;
        if settings.kafka.is_none() {
            return Err(invalid(location, "needs [application.trigger.kafka] with `brokers`".into()));
        }
        if t.topics.is_empty() || t.topics.iter().any(|topic| topic.trim().is_empty()) {
            return Err(invalid(format!("{location}.topics"), "must list at least one topic, none empty".into()));
        }
        if t.group.trim().is_empty() {
            return Err(invalid(format!("{location}.group"), "must not be empty".into()));
        }
        if t.max_attempts == 0 {
            return Err(invalid(format!("{location}.max_attempts"), "must be at least 1".into()));
        }
        if !(1..=MAX_KAFKA_BATCH).contains(&t.batch_size) {
            return Err(invalid(format!("{location}.batch_size"), format!("must be between 1 and {MAX_KAFKA_BATCH}")));
        }
        if t.batch_linger_ms > MAX_BATCH_LINGER_MS {
            return Err(invalid(
                format!("{location}.batch_linger_ms"),
                format!("must be at most {MAX_BATCH_LINGER_MS} (a longer wait delays every quiet message)"),
            ));
        }
        if t.yield_max_ms > MAX_YIELD_MS {
            return Err(invalid(
                format!("{location}.yield_max_ms"),
                format!("must be at most {MAX_YIELD_MS} (a background consumer must still make progress)"),
            ));
        }
        if t.validate_envelopes && settings.kafka.as_ref().is_some_and(|k| k.schemas.is_none()) {
            return Err(invalid(
                format!("{location}.validate_envelopes"),
                "needs `schemas` in [application.trigger.kafka] (or set validate_envelopes = false)".into(),
            ));
        }
    }
    for (index, t) in m.triggers.cron.iter().enumerate() {
        let location = format!("trigger.cron[{index}]");
        known(&location, &t.component)?;
        // A templated schedule is checked once its variables have values (`render_templates`).
        if !t.cron_expression.contains("{{") {
            super::parse_schedule(&t.cron_expression).map_err(|e| invalid(format!("{location}.cron_expression"), e))?;
        }
        let lease = settings.cron.as_ref().and_then(|c| c.lease_address.as_ref()).or(settings.redis.as_ref().map(|r| &r.address));
        if t.singleton && lease.is_none() {
            return Err(invalid(
                format!("{location}.singleton"),
                "needs a Redis server for the lease: [application.trigger.cron] lease_address or [application.trigger.redis] address".into(),
            ));
        }
    }
    for (index, t) in m.triggers.websocket.iter().enumerate() {
        let location = format!("trigger.websocket[{index}]");
        known(&location, &t.component)?;
        if settings.websocket.is_none() {
            return Err(invalid(
                location,
                "needs [application.trigger.websocket] with `address` (the event stream's Redis)".into(),
            ));
        }
        match &t.route {
            HttpRoute::Path(route) => {
                RoutePattern::parse(route).map_err(|e| invalid(format!("{location}.route"), e))?;
            }
            HttpRoute::Private { .. } => return Err(invalid(format!("{location}.route"), "a WebSocket route is a path".into())),
        }
    }
    for (index, t) in m.triggers.redis.iter().enumerate() {
        let location = format!("trigger.redis[{index}]");
        known(&location, &t.component)?;
        if t.channel.trim().is_empty() {
            return Err(invalid(format!("{location}.channel"), "must not be empty".into()));
        }
        if t.address.is_none() && settings.redis.is_none() {
            return Err(invalid(format!("{location}.address"), "give `address` here or in [application.trigger.redis]".into()));
        }
    }
    Ok(())
}
