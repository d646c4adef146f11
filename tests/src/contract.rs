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

/// An OpenAPI document of `openapi/`, by file stem.
fn openapi(name: &str) -> serde_json::Value {
    let path = crate::repo_root().join(format!("openapi/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Check a response against the OpenAPI document `api` (`openapi/<api>.json`): the status
/// must be documented for `method` on `path` (the template, e.g. `/api/battles/{id}`), and a
/// JSON body must validate against its schema.
pub fn validate_response(api: &str, method: &str, path: &str, status: u16, body: &str) -> Result<(), String> {
    let doc = openapi(api);
    let operation = &doc["paths"][path][method.to_ascii_lowercase()];
    if operation.is_null() {
        return Err(format!("{method} {path} is not in openapi/{api}.json"));
    }
    let response = &operation["responses"][status.to_string()];
    if response.is_null() {
        return Err(format!("{method} {path} answered {status}, which openapi/{api}.json does not document: {body}"));
    }
    let Some(schema) = response["content"]["application/json"]["schema"].as_object() else {
        return if body.is_empty() { Ok(()) } else { Err(format!("{method} {path} {status} should have no body: {body}")) };
    };
    // The response schema refers into the document's components: validate with the whole
    // document as the root, pointed at that schema.
    let mut root = doc.clone();
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema".into();
    for (k, v) in schema {
        root[k] = v.clone();
    }
    let validator = jsonschema::validator_for(&root).map_err(|e| format!("openapi/{api}.json: {e}"))?;
    let value: serde_json::Value =
        serde_json::from_str(body).map_err(|e| format!("{method} {path} {status}: not JSON: {e}: {body}"))?;
    let errors: Vec<String> = validator.iter_errors(&value).take(5).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{method} {path} {status} does not match openapi/{api}.json: {}", errors.join("; ")))
    }
}

/// The query parameters `openapi/<api>.json` documents for `method` on `path`.
pub fn documented_parameters(api: &str, method: &str, path: &str) -> Vec<String> {
    let doc = openapi(api);
    doc["paths"][path][method.to_ascii_lowercase()]["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["in"] == "query")
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect()
}
