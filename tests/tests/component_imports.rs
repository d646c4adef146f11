//! Components import exactly what spin-sdk 5.2 emits (so Spin 3.6 / SpinKube can run them),
//! plus, for ingestion, the two documented extras: Spin's cron-trigger world types, and the
//! host's ruleset-filter plugin runner (on Spin, a no-plugin runner is composed in).

use battlescope_tests::wasm;
use std::collections::BTreeSet;

fn imports(name: &str) -> BTreeSet<String> {
    let bytes = std::fs::read(wasm(name)).unwrap();
    let mut out = BTreeSet::new();
    // Nested components (adapters, shims) have imports of their own; only the outermost
    // component's imports are what a host must provide.
    let mut depth = 0;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload.unwrap() {
            wasmparser::Payload::Version { .. } => depth += 1,
            wasmparser::Payload::End(_) => depth -= 1,
            wasmparser::Payload::ComponentImportSection(reader) if depth == 1 => {
                for import in reader {
                    out.insert(import.unwrap().name.name.to_string());
                }
            }
            _ => {}
        }
    }
    out
}

/// What a Spin 3.6 host provides to spin-sdk 5.2 components (WASI 0.2 and Spin's interfaces).
fn spin_provides(import: &str) -> bool {
    const ALLOWED: &[&str] = &[
        "wasi:cli/",
        "wasi:io/",
        "wasi:clocks/",
        "wasi:random/",
        "wasi:filesystem/",
        "wasi:sockets/",
        "wasi:http/types@0.2",
        "wasi:http/outgoing-handler@0.2",
        "fermyon:spin/variables@2.0.0",
        "fermyon:spin/key-value@2.0.0",
        "fermyon:spin/redis@2.0.0",
        "spin:postgres/postgres@3.0.0",
    ];
    ALLOWED.iter().any(|p| import.starts_with(p))
}

/// Spin's cron trigger plugin world: `use cron-types.{metadata, error}` makes these imports.
fn spin_cron_world(import: &str) -> bool {
    import.starts_with("fermyon:spin-cron/cron-types@2.0.0") || import == "metadata" || import == "error"
}

#[test]
fn ingestion_imports_spin_interfaces_the_cron_world_and_the_plugin_runner_only() {
    let imports = imports("ingestion");
    assert!(imports.contains("spin:postgres/postgres@3.0.0"), "{imports:?}");
    assert!(imports.contains("fermyon:spin/variables@2.0.0"), "{imports:?}");
    assert!(imports.contains("battlescope:ruleset-filter/runner@0.1.0"), "{imports:?}");
    let foreign: Vec<_> = imports
        .iter()
        .filter(|i| !spin_provides(i) && !spin_cron_world(i) && !i.starts_with("battlescope:ruleset-filter/"))
        .collect();
    assert!(foreign.is_empty(), "imports neither Spin nor the plugin runner provides: {foreign:?}");
    assert!(!imports.iter().any(|i| i.starts_with("battlescope:kafka")), "ingestion publishes through its outbox: {imports:?}");
}

#[test]
fn probe_uses_every_capability_and_nothing_else() {
    let imports = imports("probe");
    for needed in [
        "spin:postgres/postgres@3.0.0",
        "fermyon:spin/redis@2.0.0",
        "fermyon:spin/key-value@2.0.0",
        "fermyon:spin/variables@2.0.0",
    ] {
        assert!(imports.contains(needed), "missing {needed}: {imports:?}");
    }
    assert!(imports.iter().any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")), "{imports:?}");
    let foreign: Vec<_> = imports.iter().filter(|i| !spin_provides(i)).collect();
    assert!(foreign.is_empty(), "imports Spin does not provide: {foreign:?}");
}

#[test]
fn enrichment_imports_spin_interfaces_and_the_kafka_trigger_types_only() {
    let imports = imports("enrichment");
    assert!(imports.contains("fermyon:spin/redis@2.0.0"), "{imports:?}");
    assert!(imports.iter().any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")), "{imports:?}");
    let foreign: Vec<_> = imports
        .iter()
        .filter(|i| !spin_provides(i) && !spin_cron_world(i) && !i.starts_with("battlescope:kafka/types@"))
        .collect();
    assert!(foreign.is_empty(), "unexpected imports: {foreign:?}");
    assert!(
        !imports.iter().any(|i| i.starts_with("battlescope:kafka/producer")),
        "enrichment publishes through its outbox: {imports:?}"
    );
}
