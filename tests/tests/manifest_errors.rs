//! A broken manifest stops the host before it serves, with a message naming the file, the
//! component and the field.

use battlescope_tests::host::{run_to_exit, HostOptions};
use battlescope_tests::{probe, wasm};

async fn up_fails(test: &str, edit: impl Fn(String) -> String) -> String {
    let dir = tempfile::tempdir().unwrap();
    let manifest = probe::write_manifest(dir.path(), &[], "", "");
    let text = edit(std::fs::read_to_string(&manifest).unwrap());
    std::fs::write(&manifest, text).unwrap();
    let options = HostOptions::new(&manifest, test, &dir.path().join("state")).env("SPIN_VARIABLE_REQUIRED_ONE", "x");
    let (ok, output) = run_to_exit(&options, "up").await.unwrap();
    assert!(!ok, "the host must refuse this manifest; it printed:\n{output}");
    assert!(output.contains(&manifest.display().to_string()), "the message names the file:\n{output}");
    output
}

#[tokio::test]
async fn malformed_toml() {
    let out = up_fails("syntax", |t| t.replace("[component.probe]", "[component.probe")).await;
    assert!(out.contains("malformed manifest"), "{out}");
}

#[tokio::test]
async fn unknown_field_in_a_component() {
    let out = up_fails("unknown", |t| t.replace("key_value_stores", "key_value_storez")).await;
    assert!(out.contains("component `probe`"), "{out}");
    assert!(out.contains("unknown field `key_value_storez`"), "{out}");
}

#[tokio::test]
async fn unknown_http_limit() {
    let out = up_fails("http-limit", |t| format!("{t}\n[application.trigger.http]\nmax_body_byte = 10\n")).await;
    assert!(out.contains("application.trigger.http") && out.contains("unknown field `max_body_byte`"), "{out}");
}

#[tokio::test]
async fn route_claimed_twice() {
    let out = up_fails("route", |t| {
        t.replace("[component.probe]", "[[trigger.http]]\nroute = \"/probe//...\"\ncomponent = \"probe\"\n\n[component.probe]")
    })
    .await;
    assert!(out.contains("already claimed by trigger.http[0]"), "{out}");
}

#[tokio::test]
async fn missing_wasm() {
    let real = wasm("probe").display().to_string();
    let out = up_fails("nowasm", move |t| t.replace(&real, "/nonexistent/probe.wasm")).await;
    assert!(out.contains("component `probe`: field `source`: no file at /nonexistent/probe.wasm"), "{out}");
}

#[tokio::test]
async fn variable_without_value() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = probe::write_manifest(dir.path(), &[], "", "");
    // No SPIN_VARIABLE_REQUIRED_ONE this time.
    let options = HostOptions::new(&manifest, "novalue", &dir.path().join("state"));
    let (ok, out) = run_to_exit(&options, "up").await.unwrap();
    assert!(!ok, "{out}");
    assert!(out.contains("required variables have no value: `required_one` (set SPIN_VARIABLE_REQUIRED_ONE)"), "{out}");
}

#[tokio::test]
async fn component_variable_referring_to_an_undeclared_variable() {
    let out = up_fails("undeclared", |t| t.replace("{{ from_env }}\"", "{{ nowhere }}\"")).await;
    assert!(out.contains("field `variables.from_env`: refers to `nowhere`"), "{out}");
}

#[tokio::test]
async fn trigger_naming_an_unknown_component() {
    let out = up_fails("nocomp", |t| t.replace("component = \"probe\"", "component = \"ghost\"")).await;
    assert!(out.contains("trigger.http[0]: component `ghost` is not defined"), "{out}");
}
