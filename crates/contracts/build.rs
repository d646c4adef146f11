//! Generates one Rust module per event type from `schemas/events/<type>.schema.json`: the
//! schema's `data` object (with the schema's `$defs`) becomes a type named after the event
//! (`killmail.enriched` → `killmail_enriched::KillmailEnriched`), implementing `Event`. The
//! envelope fields are the same for every event and live in `src/envelope.rs`, which its tests
//! check against `envelope.schema.json`.

use serde_json::{json, Value};
use std::fmt::Write;
use std::path::Path;

const SCHEMAS: &str = "../../schemas/events";

fn main() {
    println!("cargo:rerun-if-changed={SCHEMAS}");
    let mut files: Vec<_> = std::fs::read_dir(SCHEMAS)
        .unwrap_or_else(|e| panic!("{SCHEMAS}: {e}"))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".schema.json") && !p.ends_with("envelope.schema.json"))
        .collect();
    files.sort();
    let mut out = String::new();
    // Payload schemas already generated, by their shape: an event whose payload has the
    // shape of an earlier one's (battle.updated and battle.created) wraps that type instead of
    // repeating it, so one value can be published as either.
    let mut shapes: Vec<(Value, String, String)> = Vec::new();
    for path in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let (event_type, data) = payload(&path);
        let module = event_type.replace(['.', '-'], "_");
        let shape = without_prose(&data);
        let code = match shapes.iter().find(|(s, _, _)| *s == shape) {
            Some((_, same_module, same_type)) => wrapper(&event_type, &format!("super::{same_module}::{same_type}")),
            None => {
                shapes.push((shape, module.clone(), type_name(&event_type)));
                generate(&path, &event_type, data)
            }
        };
        writeln!(
            out,
            "/// Types of `{event_type}` (generated from `schemas/events/{event_type}.schema.json`).\n\
             #[allow(clippy::all, missing_docs, unused_imports, irrefutable_let_patterns)]\n\
             pub mod {module} {{\n{code}\n}}\n"
        )
        .unwrap();
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("events.rs");
    std::fs::write(dest, out).unwrap();
}

/// `killmail.enriched` → `KillmailEnriched`.
fn type_name(event_type: &str) -> String {
    event_type
        .split(['.', '_', '-'])
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_uppercase().chain(c).collect::<String>()).unwrap_or_default()
        })
        .collect()
}

/// The event type a schema describes and its payload schema, with the schema's `$defs`.
fn payload(path: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let event_type = schema["properties"]["eventType"]["const"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: properties.eventType.const is missing", path.display()))
        .to_string();
    let mut data = schema["properties"]["data"].clone();
    let object = data.as_object_mut().unwrap_or_else(|| panic!("{}: properties.data is not an object", path.display()));
    if let Some(defs) = schema.get("$defs") {
        object.insert("$defs".into(), defs.clone());
    }
    (event_type, data)
}

/// A schema without its prose (`title`, `description`), to compare shapes.
fn without_prose(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| *k != "title" && *k != "description")
                .map(|(k, v)| (k.clone(), without_prose(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_prose).collect()),
        other => other.clone(),
    }
}

/// An event whose payload is another event's type.
fn wrapper(event_type: &str, inner: &str) -> String {
    let name = type_name(event_type);
    format!(
        "/// The payload of `{event_type}`: the same shape as [`{inner}`].\n\
         #[derive(::serde::Serialize, ::serde::Deserialize, Clone, Debug, PartialEq)]\n\
         #[serde(transparent)]\n\
         pub struct {name}(pub {inner});\n\
         impl ::std::convert::From<{inner}> for {name} {{ fn from(v: {inner}) -> Self {{ Self(v) }} }}\n\
         impl ::std::ops::Deref for {name} {{ type Target = {inner}; fn deref(&self) -> &{inner} {{ &self.0 }} }}\n\
         impl crate::Event for {name} {{ const EVENT_TYPE: &'static str = {event_type:?}; }}\n"
    )
}

fn generate(path: &Path, event_type: &str, mut data: Value) -> String {
    let name = type_name(event_type);
    data.as_object_mut().expect("checked in payload()").insert("title".into(), json!(name));
    let root: schemars::schema::RootSchema =
        serde_json::from_value(data).unwrap_or_else(|e| panic!("{}: not a schema typify reads: {e}", path.display()));
    let mut space = typify::TypeSpace::new(
        typify::TypeSpaceSettings::default().with_struct_builder(false).with_derive("PartialEq".to_string()),
    );
    space.add_root_schema(root).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let file: syn::File = syn::parse2(space.to_stream()).unwrap_or_else(|e| panic!("{}: generated code: {e}", path.display()));
    let mut code = prettyplease::unparse(&file);
    writeln!(code, "impl crate::Event for {name} {{ const EVENT_TYPE: &'static str = {event_type:?}; }}").unwrap();
    code
}
