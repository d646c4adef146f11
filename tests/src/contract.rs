//! Contract checks: every event a component publishes must validate against the JSON Schema
//! of its `eventType` in `schemas/events/`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

fn validators() -> &'static BTreeMap<String, jsonschema::Validator> {
    static V: OnceLock<BTreeMap<String, jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| {
        let dir = crate::repo_root().join("schemas/events");
        let mut out = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).expect("schemas/events") {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let Some(event_type) = name.strip_suffix(".schema.json") else { continue };
            let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            out.insert(event_type.to_string(), jsonschema::validator_for(&schema).expect("valid schema"));
        }
        out
    })
}

/// Check one published envelope; the error lists what is wrong.
pub fn validate_event(payload: &str) -> Result<(), String> {
    let value: serde_json::Value = serde_json::from_str(payload).map_err(|e| format!("not JSON: {e}: {payload}"))?;
    let event_type = value["eventType"].as_str().ok_or_else(|| format!("no eventType: {payload}"))?;
    let validator = validators().get(event_type).ok_or_else(|| format!("no schema for {event_type}"))?;
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{event_type}: {}: {payload}", errors.join("; ")))
    }
}
