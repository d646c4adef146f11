//! The Spin application manifest (`spin.toml`, manifest version 2): its types, loading and
//! validation. Everything that can be checked without starting anything is checked here, so a
//! broken manifest stops the host before it binds a port.

mod error;
mod model;
pub(crate) mod template;
mod validate;

pub use error::ManifestError;
pub use model::*;
pub use template::Template;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A manifest that parsed and passed validation, with paths resolved against its directory.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    /// The file it was read from.
    pub path: PathBuf,
    /// The directory relative paths in the manifest are resolved against.
    pub base_dir: PathBuf,
    pub manifest: Manifest,
}

impl LoadedManifest {
    /// The absolute path of a component's `.wasm`.
    pub fn component_source(&self, component: &Component) -> PathBuf {
        self.base_dir.join(&component.source)
    }
}

/// Read, parse and validate the manifest at `path`.
pub fn load(path: &Path) -> Result<LoadedManifest, ManifestError> {
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read {
        file: path.to_path_buf(),
        source,
    })?;
    let manifest = parse(path, &text)?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let base_dir = if base_dir.as_os_str().is_empty() { PathBuf::from(".") } else { base_dir };
    let loaded = LoadedManifest { path: path.to_path_buf(), base_dir, manifest };
    validate::validate(&loaded)?;
    Ok(loaded)
}

/// Parse manifest text. Components are deserialised one by one so that an error names the
/// component it is in, not just a line number.
pub fn parse(file: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let raw: RawManifest = toml::from_str(text).map_err(|e| ManifestError::Syntax {
        file: file.to_path_buf(),
        message: e.to_string(),
    })?;
    if raw.spin_manifest_version != 2 {
        return Err(ManifestError::Invalid {
            file: file.to_path_buf(),
            location: "spin_manifest_version".into(),
            message: format!(
                "this host reads manifest version 2, the file says {}",
                raw.spin_manifest_version
            ),
        });
    }
    let mut components = BTreeMap::new();
    for (id, value) in raw.component {
        let component: Component =
            value.try_into().map_err(|e: toml::de::Error| ManifestError::Component {
                file: file.to_path_buf(),
                component: id.clone(),
                message: e.message().to_string(),
            })?;
        components.insert(id, component);
    }
    let mut triggers = Triggers::default();
    for (kind, entries) in raw.trigger {
        match kind.as_str() {
            "http" => triggers.http = typed_entries(file, &kind, entries)?,
            "kafka" => triggers.kafka = typed_entries(file, &kind, entries)?,
            "cron" => triggers.cron = typed_entries(file, &kind, entries)?,
            "redis" => triggers.redis = typed_entries(file, &kind, entries)?,
            other => {
                return Err(ManifestError::Invalid {
                    file: file.to_path_buf(),
                    location: format!("trigger.{other}"),
                    message: format!("this host has no `{other}` trigger (it runs: http, kafka, cron, redis)"),
                })
            }
        }
    }
    let trigger_settings = trigger_settings(file, &raw.application.trigger)?;
    Ok(Manifest {
        application: raw.application,
        trigger_settings,
        variables: raw.variables,
        triggers,
        components,
    })
}

fn typed_entries<T: serde::de::DeserializeOwned>(
    file: &Path,
    kind: &str,
    entries: Vec<toml::Value>,
) -> Result<Vec<T>, ManifestError> {
    entries
        .into_iter()
        .enumerate()
        .map(|(index, value)| {
            value.try_into().map_err(|e: toml::de::Error| ManifestError::Invalid {
                file: file.to_path_buf(),
                location: format!("trigger.{kind}[{index}]"),
                message: e.message().to_string(),
            })
        })
        .collect()
}

fn trigger_settings(
    file: &Path,
    tables: &BTreeMap<String, toml::Table>,
) -> Result<TriggerSettings, ManifestError> {
    fn typed<T: serde::de::DeserializeOwned>(file: &Path, kind: &str, table: &toml::Table) -> Result<T, ManifestError> {
        toml::Value::Table(table.clone()).try_into().map_err(|e: toml::de::Error| ManifestError::Invalid {
            file: file.to_path_buf(),
            location: format!("application.trigger.{kind}"),
            message: e.message().to_string(),
        })
    }
    let mut settings = TriggerSettings::default();
    for (kind, table) in tables {
        match kind.as_str() {
            "kafka" => settings.kafka = Some(typed(file, kind, table)?),
            "redis" => settings.redis = Some(typed(file, kind, table)?),
            "cron" => settings.cron = Some(typed(file, kind, table)?),
            // Spin's own HTTP settings (base path) are accepted and not needed here.
            "http" => {}
            other => {
                return Err(ManifestError::Invalid {
                    file: file.to_path_buf(),
                    location: format!("application.trigger.{other}"),
                    message: format!("this host has no `{other}` trigger"),
                })
            }
        }
    }
    Ok(settings)
}
