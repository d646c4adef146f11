//! What the workers import beyond Spin, and that the probe (the host's capability test
//! component) uses every capability. Whether a component runs on Spin 3.6 is checked against
//! Spin's own WIT in `spin_platform.rs`, not here.

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

#[test]
fn services_publish_through_their_outbox_not_the_producer() {
    for component in ["ingestion_api", "ingestion_worker", "enrichment_api", "enrichment_worker", "battle_api", "battle_worker"] {
        let imports = imports(component);
        assert!(imports.contains("spin:postgres/postgres@3.0.0"), "{component}: {imports:?}");
        assert!(
            !imports.iter().any(|i| i.starts_with("battlescope:kafka/producer")),
            "{component} imports the producer: {imports:?}"
        );
    }
}

#[test]
fn only_the_ingestion_worker_runs_plugins() {
    assert!(imports("ingestion_worker").contains("battlescope:ruleset-filter/runner@0.1.0"));
    assert!(!imports("ingestion_api").iter().any(|i| i.starts_with("battlescope:")));
}

#[test]
fn probe_uses_every_capability() {
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
}
