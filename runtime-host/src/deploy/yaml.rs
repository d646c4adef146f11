//! A YAML writer for JSON values, for manifests Kubernetes reads. Every string is written
//! double-quoted (JSON's escapes are YAML's): Kubernetes' YAML reader follows YAML 1.1, where
//! an unquoted `yes`, `on` or `0777` is not a string, and a generic emitter writes them bare.

use serde_json::Value;

/// `value` as one YAML document (no `---`), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(map, 0, &mut out),
        Value::Array(items) if !items.is_empty() => write_list(items, 0, &mut out),
        scalar => {
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
    out
}

/// A scalar or an empty collection on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        Value::String(s) => quoted(s),
        other => other.to_string(),
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

/// Words YAML 1.1 reads as booleans or null when bare.
const NOT_STRINGS_IN_YAML_1_1: &[&str] = &["y", "yes", "n", "no", "true", "false", "on", "off", "null"];

/// Keys stay bare when nothing in them could be read otherwise.
fn key(k: &str) -> String {
    let plain = k.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && k.starts_with(|c: char| c.is_ascii_alphabetic())
        && !NOT_STRINGS_IN_YAML_1_1.contains(&k.to_ascii_lowercase().as_str());
    if plain {
        k.to_string()
    } else {
        quoted(k)
    }
}

fn is_block(value: &Value) -> bool {
    matches!(value, Value::Object(m) if !m.is_empty()) || matches!(value, Value::Array(a) if !a.is_empty())
}

fn write_map(map: &serde_json::Map<String, Value>, indent: usize, out: &mut String) {
    for (k, v) in map {
        out.push_str(&" ".repeat(indent));
        out.push_str(&key(k));
        out.push(':');
        write_value_after_key(v, indent, out);
    }
}

fn write_value_after_key(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(m, indent + 2, out);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_list(a, indent, out);
        }
        scalar => {
            out.push(' ');
            out.push_str(&inline(scalar));
            out.push('\n');
        }
    }
}

fn write_list(items: &[Value], indent: usize, out: &mut String) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push_str("- ");
        match item {
            // The first key shares the dash's line; the rest line up under it.
            Value::Object(m) if !m.is_empty() => {
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(&" ".repeat(indent + 2));
                    }
                    out.push_str(&key(k));
                    out.push(':');
                    write_value_after_key(v, indent + 2, out);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('\n');
                write_list(a, indent + 2, out);
            }
            scalar => {
                out.push_str(&inline(scalar));
                out.push('\n');
            }
        }
        debug_assert!(!is_block(item) || out.ends_with('\n'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_quoted_so_yaml_1_1_keeps_them_strings() {
        let yaml = to_yaml(&json!({ "args": ["--appendonly", "yes"], "mode": "0777", "on": true }));
        assert_eq!(yaml, "args:\n- \"--appendonly\"\n- \"yes\"\nmode: \"0777\"\n\"on\": true\n");
    }

    #[test]
    fn nested_maps_and_lists_of_maps_indent() {
        let value = json!({
            "spec": {
                "containers": [{ "name": "a", "ports": [{ "containerPort": 80 }], "env": [] }],
                "labels": {},
            },
            "data": { "runtime-config.toml": "[a]\nb = 1\n", "app.kubernetes.io/name": "x" },
        });
        let expected = "data:\n  app.kubernetes.io/name: \"x\"\n  runtime-config.toml: \"[a]\\nb = 1\\n\"\nspec:\n  containers:\n  - env: []\n    name: \"a\"\n    ports:\n    - containerPort: 80\n  labels: {}\n";
        assert_eq!(to_yaml(&value), expected);
    }
}
