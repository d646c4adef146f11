//! Templates resolved once: after variables have their values, every `{{ variable }}` in the
//! triggers and their application-wide settings is replaced, so triggers only ever see final
//! strings. (Component variables and outbound hosts are rendered per component, in
//! `component.rs`, over the component's own variables.)

use super::{LoadedManifest, ManifestError};

/// Render the templates of triggers and trigger settings in place with `render`, then check
/// what could only be checked with values (cron schedules).
pub fn render_templates(
    loaded: &mut LoadedManifest,
    render: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(), ManifestError> {
    let file = loaded.path.clone();
    let at = |location: String| {
        let file = file.clone();
        move |message: String| ManifestError::Invalid { file: file.clone(), location: location.clone(), message }
    };
    let m = &mut loaded.manifest;
    if let Some(k) = &mut m.trigger_settings.kafka {
        k.brokers = render(&k.brokers).map_err(at("application.trigger.kafka.brokers".into()))?;
    }
    if let Some(r) = &mut m.trigger_settings.redis {
        r.address = render(&r.address).map_err(at("application.trigger.redis.address".into()))?;
    }
    if let Some(c) = &mut m.trigger_settings.cron {
        for (field, value) in [("lease_address", &mut c.lease_address), ("lease_namespace", &mut c.lease_namespace)] {
            if let Some(v) = value {
                *v = render(v).map_err(at(format!("application.trigger.cron.{field}")))?;
            }
        }
    }
    if let Some(w) = &mut m.trigger_settings.websocket {
        w.address = render(&w.address).map_err(at("application.trigger.websocket.address".into()))?;
        w.stream = render(&w.stream).map_err(at("application.trigger.websocket.stream".into()))?;
        w.allowed_origins = render(&w.allowed_origins).map_err(at("application.trigger.websocket.allowed_origins".into()))?;
    }
    for (i, t) in m.triggers.kafka.iter_mut().enumerate() {
        for topic in &mut t.topics {
            *topic = render(topic).map_err(at(format!("trigger.kafka[{i}].topics")))?;
        }
        t.group = render(&t.group).map_err(at(format!("trigger.kafka[{i}].group")))?;
    }
    for (i, t) in m.triggers.redis.iter_mut().enumerate() {
        t.channel = render(&t.channel).map_err(at(format!("trigger.redis[{i}].channel")))?;
        if let Some(a) = &mut t.address {
            *a = render(a).map_err(at(format!("trigger.redis[{i}].address")))?;
        }
    }
    for (i, t) in m.triggers.cron.iter_mut().enumerate() {
        let location = format!("trigger.cron[{i}].cron_expression");
        t.cron_expression = render(&t.cron_expression).map_err(at(location.clone()))?;
        super::parse_schedule(&t.cron_expression).map_err(at(location))?;
    }
    Ok(())
}
