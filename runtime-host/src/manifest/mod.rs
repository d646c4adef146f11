//! The Spin application manifest (`spin.toml`, manifest version 2): its types, loading and
//! validation. Everything that can be checked without starting anything is checked here, so a
//! broken manifest stops the host before it binds a port.

mod error;
mod model;
mod render;
mod schedule;
mod select;
mod spin_only;
pub(crate) mod template;
mod validate;

pub use error::ManifestError;
pub use model::*;
pub use render::render_templates;
pub use schedule::parse_schedule;
pub use select::keep_only;
pub use spin_only::check_spin_only;
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
    let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Read { file: path.to_path_buf(), source })?;
    let manifest = parse(path, &text)?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
    let base_dir = if base_dir.as_os_str().is_empty() { PathBuf::from(".") } else { base_dir };
    let loaded = LoadedManifest { path: path.to_path_buf(), base_dir, manifest };
    validate::validate(&loaded)?;
    Ok(loaded)
}

/// Parse manifest text. Components are deserialised one by one so that an error names the
/// component it is in, not just a line number.
pub fn parse(file: &Path, text: &str) -> Result<Manifest, ManifestError> {
    let raw: RawManifest =
        toml::from_str(text).map_err(|e| ManifestError::Syntax { file: file.to_path_buf(), message: e.to_string() })?;
    if raw.spin_manifest_version != 2 {
        return Err(ManifestError::Invalid {
            file: file.to_path_buf(),
            location: "spin_manifest_version".into(),
            message: format!("this host reads manifest version 2, the file says {}", raw.spin_manifest_version),
        });
    }
    let mut components = BTreeMap::new();
    for (id, value) in raw.component {
        let component_error =
            |message: String| ManifestError::Component { file: file.to_path_buf(), component: id.clone(), message };
        let mut component: Component = value.try_into().map_err(|e: toml::de::Error| component_error(e.message().to_string()))?;
        if let Some(table) = component.tool.get("battlescope") {
            component.battlescope = toml::Value::Table(table.clone())
                .try_into()
                .map_err(|e: toml::de::Error| component_error(format!("tool.battlescope: {}", e.message())))?;
        }
        components.insert(id, component);
    }
    let mut triggers = Triggers::default();
    for (kind, entries) in raw.trigger {
        match kind.as_str() {
            "http" => triggers.http = typed_entries(file, &kind, entries)?,
            "kafka" => triggers.kafka = typed_entries(file, &kind, entries)?,
            "cron" => triggers.cron = typed_entries(file, &kind, entries)?,
            "redis" => triggers.redis = typed_entries(file, &kind, entries)?,
            "websocket" => triggers.websocket = typed_entries(file, &kind, entries)?,
            other => {
                return Err(ManifestError::Invalid {
                    file: file.to_path_buf(),
                    location: format!("trigger.{other}"),
                    message: format!("this host has no `{other}` trigger (it runs: http, kafka, cron, redis, websocket)"),
                })
            }
        }
    }
    let trigger_settings = trigger_settings(file, &raw.application.trigger)?;
    Ok(Manifest { application: raw.application, trigger_settings, variables: raw.variables, triggers, components })
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

fn trigger_settings(file: &Path, tables: &BTreeMap<String, toml::Table>) -> Result<TriggerSettings, ManifestError> {
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
            "websocket" => settings.websocket = Some(typed(file, kind, table)?),
            "http" => settings.http = typed(file, kind, table)?,
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

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
brokers = { default = "127.0.0.1:9092" }
[application.trigger.kafka]
brokers = "{{ brokers }}"
[[trigger.http]]
route = "/api/..."
component = "api"
[[trigger.kafka]]
component = "api"
topics = ["killmail.ingested"]
group = "g"
validate_envelopes = false
[[trigger.cron]]
component = "api"
cron_expression = "*/6 * * * * *"
[component.api]
source = "api.wasm"
allowed_outbound_hosts = ["postgres://127.0.0.1:5432"]
"#;

    fn loaded(manifest: Manifest) -> LoadedManifest {
        LoadedManifest { path: "spin.toml".into(), base_dir: ".".into(), manifest }
    }

    fn parse_str(text: &str) -> Result<Manifest, ManifestError> {
        parse(Path::new("spin.toml"), text)
    }

    #[test]
    fn parses_every_trigger_type_and_defaults() {
        let m = parse_str(BASE).unwrap();
        assert_eq!(m.triggers.http.len(), 1);
        let k = &m.triggers.kafka[0];
        assert_eq!((k.max_attempts, k.initial_backoff_ms, k.max_backoff_ms), (5, 200, 10_000));
        assert!(!k.serial, "partitions run in parallel unless a trigger asks otherwise");
        assert_eq!((k.batch_size, k.batch_linger_ms), (100, 0), "batches take what waits, no lingering");
        assert_eq!(k.yield_max_ms, 0, "a trigger is foreground unless it asks to yield");
        assert_eq!(m.triggers.cron[0].cron_expression, "*/6 * * * * *");
        assert!(!m.triggers.cron[0].singleton);
        assert_eq!(m.trigger_settings.kafka.as_ref().unwrap().partitions, 4);
        assert_eq!(m.components["api"].allowed_outbound_hosts.len(), 1);
    }

    #[test]
    fn an_unknown_component_field_names_the_component_and_the_field() {
        let e = parse_str(&BASE.replace("allowed_outbound_hosts", "allowed_hosts")).unwrap_err().to_string();
        assert!(e.starts_with("spin.toml: component `api`:"), "{e}");
        assert!(e.contains("unknown field `allowed_hosts`"), "{e}");
    }

    #[test]
    fn batch_settings_out_of_range_are_refused_with_their_range() {
        let refused = |setting: &str| {
            let m = parse_str(&BASE.replace("group = \"g\"", &format!("group = \"g\"\n{setting}"))).unwrap();
            validate::validate_event_triggers(&loaded(m)).unwrap_err().to_string()
        };
        let e = refused("batch_size = 0");
        assert!(e.contains("trigger.kafka[0].batch_size") && e.contains("between 1 and 1000"), "{e}");
        let e = refused("batch_linger_ms = 5000");
        assert!(e.contains("trigger.kafka[0].batch_linger_ms") && e.contains("at most 1000"), "{e}");
        let e = refused("yield_max_ms = 600000");
        assert!(e.contains("trigger.kafka[0].yield_max_ms") && e.contains("at most 60000"), "{e}");
    }

    #[test]
    fn unknown_trigger_types_and_trigger_fields_are_refused() {
        let e = parse_str(&BASE.replace("[[trigger.cron]]", "[[trigger.mqtt]]")).unwrap_err().to_string();
        assert!(e.contains("trigger.mqtt") && e.contains("no `mqtt` trigger"), "{e}");
        let e = parse_str(&BASE.replace("group = \"g\"", "group = \"g\"\nretries = 3")).unwrap_err().to_string();
        assert!(e.contains("trigger.kafka[0]") && e.contains("unknown field `retries`"), "{e}");
        let e = parse_str(&BASE.replace("[application.trigger.kafka]\nbrokers", "[application.trigger.kafka]\nbroker"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("application.trigger.kafka"), "{e}");
    }

    #[test]
    fn websocket_triggers_need_the_event_stream_and_take_only_known_settings() {
        let socket = "[[trigger.websocket]]\nroute = \"/ws/live\"\ncomponent = \"api\"\n";
        let with_socket = BASE.replace("[component.api]", &format!("{socket}[component.api]"));
        let e = validate::validate_event_triggers(&loaded(parse_str(&with_socket).unwrap())).unwrap_err().to_string();
        assert!(e.contains("trigger.websocket[0]") && e.contains("[application.trigger.websocket]"), "{e}");
        let settings = "[application.trigger.websocket]\naddress = \"redis://127.0.0.1:6379\"\nstream = \"bs:websocket\"\n";
        let m = parse_str(&format!("{with_socket}{settings}")).unwrap();
        let w = m.trigger_settings.websocket.as_ref().unwrap();
        assert_eq!((w.max_subscriptions, w.max_frame_bytes), (64, 65_536));
        validate::validate_event_triggers(&loaded(m)).unwrap();
        let e = parse_str(&format!("{with_socket}{settings}max_conections = 5\n")).unwrap_err().to_string();
        assert!(e.contains("application.trigger.websocket") && e.contains("max_conections"), "{e}");
    }

    #[test]
    fn only_manifest_version_2_is_read() {
        let e = parse_str(&BASE.replace("spin_manifest_version = 2", "spin_manifest_version = 1")).unwrap_err().to_string();
        assert!(e.contains("spin_manifest_version") && e.contains("version 2"), "{e}");
        let e = parse_str("spin_manifest_version = 2\n[application]\n").unwrap_err().to_string();
        assert!(e.contains("malformed manifest") && e.contains("name"), "{e}");
    }
}
