//! `battlescope plugin test`: the capital-ships example, written in Rust, Python and JavaScript,
//! over a whole recorded day (2021-11-30, 11,721 killmails) without Postgres, Kafka or a feed,
//! each language's verdicts matching one count made here from the same data (the plugins ask
//! the host's static data which ships are capitals); a plugin that traps is reported with the
//! killmail that made it fail; a file that is no plugin stops the command with the reason.

use battlescope_tests::replay::data;
use battlescope_tests::{host_binary, language_plugin_wasm, plugin_wasm};
use std::path::Path;
use std::process::Command;

fn plugin_test(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(host_binary()).args(["plugin", "test"]).args(args).output().expect("running battlescope plugin test");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The number after `label` on a line of the report.
fn count(report: &str, label: &str) -> u64 {
    report
        .lines()
        .find_map(|l| l.trim().strip_prefix(label).map(|rest| rest.trim().to_string()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` count in:\n{report}"))
}

/// Runs the plugin over 2021-11-30 and checks its verdicts against a count of the killmails
/// with a capital ship on them.
fn decides_as_counted(plugin: &Path, language: &str) {
    let day = data::day_file("2021-11-30");
    let killmails = data::load_day(&day).unwrap();
    let with_capital = killmails.iter().filter(|km| data::has_capital_ship(km)).count() as u64;

    let (ok, report, stderr) = plugin_test(&[&plugin.display().to_string(), "--language", language, &day.display().to_string()]);
    assert!(ok, "{stderr}\n{report}");
    assert_eq!(count(&report, "accepted"), with_capital, "{report}");
    assert_eq!(count(&report, "rejected"), killmails.len() as u64 - with_capital, "{report}");
    assert!(report.contains("no capital ship on the killmail"), "{report}");
    assert_eq!(count(&report, "failed"), 0, "the language's default budget suffices:\n{report}");
    assert!(report.contains(&format!("{} killmails", killmails.len())), "{report}");
    for measured in ["calls (fresh instance + call): mean", "fuel: mean", "memory: mean"] {
        assert!(report.contains(measured), "{measured}: {report}");
    }
}

#[test]
fn the_rust_capital_ships_plugin_over_a_recorded_day_decides_as_counted() {
    decides_as_counted(&plugin_wasm("capital_ships_filter", false), "rust");
}

#[test]
fn the_python_capital_ships_plugin_decides_as_the_rust_one() {
    decides_as_counted(&language_plugin_wasm("capital_ships_python"), "python");
}

#[test]
fn the_javascript_capital_ships_plugin_decides_as_the_rust_one() {
    decides_as_counted(&language_plugin_wasm("capital_ships_js"), "javascript");
}

#[test]
fn failures_name_their_killmail_and_a_non_plugin_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let day = data::day_file("2021-11-30");
    let settings = dir.path().join("settings.toml");
    std::fs::write(&settings, "mode = \"trap\"\n").unwrap();
    let hostile = plugin_wasm("hostile_plugin", false).display().to_string();
    let first_id = data::load_day(&day).unwrap()[0]["killmail_id"].as_u64().unwrap();
    let (ok, report, stderr) =
        plugin_test(&[&hostile, "--settings", &settings.display().to_string(), &day.display().to_string()]);
    assert!(ok, "a failing plugin is reported, not an error of the command: {stderr}");
    assert_eq!(count(&report, "accepted"), 0, "{report}");
    assert!(report.contains(&format!("killmail {first_id}: trap")), "the first failure names its killmail:\n{report}");

    let not_wasm = dir.path().join("notes.wasm");
    std::fs::write(&not_wasm, "just text").unwrap();
    let (ok, _, stderr) = plugin_test(&[&not_wasm.display().to_string(), &day.display().to_string()]);
    assert!(!ok);
    assert!(stderr.contains("cannot be run as a ruleset filter") && stderr.contains("is not WebAssembly"), "{stderr}");
}
