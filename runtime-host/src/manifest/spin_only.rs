//! `--spin-only`: the manifest must be one Spin 3.6 can run as it is. Spin has HTTP and Redis
//! triggers and ignores `tool` tables, so anything beyond them is refused here rather than
//! served by this host's extras.

use super::{LoadedManifest, ManifestError};

/// Refuse every trigger, trigger setting and host-only table Spin 3.6 does not have.
pub fn check_spin_only(manifest: &LoadedManifest) -> Result<(), ManifestError> {
    let m = &manifest.manifest;
    let refuse = |location: String, what: &str| {
        ManifestError::Invalid {
        file: manifest.path.clone(),
        location,
        message: format!("Spin 3.6 has no {what}, and --spin-only serves only what Spin can (`battlescope deploy spin` writes such a manifest)"),
    }
    };
    let host_only: [(&str, Vec<&String>); 3] = [
        ("kafka", m.triggers.kafka.iter().map(|t| &t.component).collect()),
        ("cron", m.triggers.cron.iter().map(|t| &t.component).collect()),
        ("websocket", m.triggers.websocket.iter().map(|t| &t.component).collect()),
    ];
    for (kind, components) in host_only {
        if let Some(component) = components.first() {
            return Err(refuse(format!("[[trigger.{kind}]] of component `{component}`"), &format!("{kind} trigger")));
        }
    }
    let settings = &m.trigger_settings;
    for (kind, present) in
        [("kafka", settings.kafka.is_some()), ("cron", settings.cron.is_some()), ("websocket", settings.websocket.is_some())]
    {
        if present {
            return Err(refuse(format!("[application.trigger.{kind}]"), &format!("{kind} trigger")));
        }
    }
    for (id, component) in &m.components {
        if component.battlescope != Default::default() {
            return Err(refuse(
                format!("[component.{id}.tool.battlescope]"),
                "service databases declared for it (give the component a `database_url` variable and an allowed Postgres host)",
            ));
        }
    }
    Ok(())
}
