//! A manifest that runs the probe test component with a chosen allow-list and variables.

use std::path::{Path, PathBuf};

/// Write `spin.toml` for the probe into `dir`; `extra` is appended verbatim (more variables,
/// triggers or components).
pub fn write_manifest(dir: &Path, allowed_hosts: &[String], extra_component_vars: &str, extra: &str) -> PathBuf {
    let hosts = allowed_hosts.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", ");
    let text = format!(
        r#"spin_manifest_version = 2

[application]
name = "probe-test"

[variables]
pg_address = {{ default = "postgres://postgres@{pg}/postgres" }}
redis_address = {{ default = "{redis}" }}
from_default = {{ default = "default-value" }}
from_env = {{ default = "overridden-by-env" }}
required_one = {{ required = true }}

[[trigger.http]]
route = "/probe/..."
component = "probe"

[component.probe]
source = {wasm:?}
allowed_outbound_hosts = [{hosts}]
key_value_stores = ["default"]
[component.probe.variables]
pg_address = "{{{{ pg_address }}}}"
redis_address = "{{{{ redis_address }}}}"
from_default = "{{{{ from_default }}}}"
from_env = "{{{{ from_env }}}}"
combined = "{{{{ from_default }}}}+{{{{ required_one }}}}"
{extra_component_vars}
{extra}"#,
        pg = crate::postgres_host(),
        redis = crate::redis_url(),
        wasm = crate::wasm("probe").display().to_string(),
    );
    let path = dir.join("spin.toml");
    std::fs::write(&path, text).expect("writing the probe manifest");
    path
}
