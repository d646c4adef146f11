//! Variables reach the component from all three sources: `[variables]` defaults, component
//! templates, and `SPIN_VARIABLE_*` in the environment.

use battlescope_tests::host::{Host, HostOptions};
use battlescope_tests::{http, probe};

#[tokio::test]
async fn variables_from_defaults_templates_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = probe::write_manifest(dir.path(), &[], "", "");
    let options = HostOptions::new(&manifest, "vars", &dir.path().join("state"))
        .env("SPIN_VARIABLE_REQUIRED_ONE", "required-from-env")
        .env("SPIN_VARIABLE_FROM_ENV", "env-wins");
    let host = Host::start(options).await.unwrap();
    let get = |name: &str| {
        let url = host.url(&format!("/probe/variables?name={name}"));
        async move { http::get(&url).await.unwrap().json() }
    };
    assert_eq!(get("from_default").await["value"], "default-value");
    assert_eq!(get("from_env").await["value"], "env-wins");
    assert_eq!(get("combined").await["value"], "default-value+required-from-env");
    let undeclared = get("required_one").await;
    assert!(
        undeclared["error"].as_str().unwrap().starts_with("Error::Undefined"),
        "only component variables are visible: {undeclared}"
    );
    let bad = get("Bad-Name").await;
    assert!(bad["error"].as_str().unwrap().starts_with("Error::InvalidName"), "{bad}");
}
