//! The Spin part of the application, exercised rather than asserted: `deploy/spin/spin.toml` is
//! what `battlescope deploy spin` makes of spin.toml today (nothing drifts), and the host in
//! `--spin-only` mode (Spin 3.6's interfaces and triggers only) serves it against real
//! databases: every API reads and writes, the BFF composes over service chaining, the web UI
//! answers. The same mode refuses the full manifest and a worker component.

use battlescope_tests::host::{run_to_exit, Host, HostOptions};
use battlescope_tests::{http, postgres_admin_url, postgres_host, repo_root};
use std::path::{Path, PathBuf};

const TOKEN: &str = "spin-only-token";

fn committed() -> PathBuf {
    repo_root().join("deploy/spin/spin.toml")
}

/// The host's options for serving `manifest` as Spin would, against the databases of `prefix`.
fn spin_only(manifest: &Path, state: &Path, prefix: &str) -> HostOptions {
    let mut options = HostOptions::new(manifest, "spinonly", state).arg("--spin-only");
    for database in ["ingestion", "enrichment", "battles"] {
        let url = format!("postgres://postgres@{}/{prefix}{database}", postgres_host());
        options = options
            .env(&format!("SPIN_VARIABLE_{}_DATABASE_URL", database.to_uppercase()), &url)
            .env(&format!("SPIN_VARIABLE_{}_DATABASE_HOST", database.to_uppercase()), &postgres_host());
    }
    options
        .env("SPIN_VARIABLE_API_TOKEN", TOKEN)
        .env("SPIN_VARIABLE_TYPESENSE_API_KEY", "battlescope-dev")
        .env("SPIN_VARIABLE_DEPLOYMENT", prefix.trim_end_matches('_'))
}

#[tokio::test]
async fn the_committed_spin_manifest_is_what_deploy_spin_generates() {
    let fresh = repo_root().join(format!("deploy/spin/.generated-{}.toml", std::process::id()));
    let out = std::process::Command::new(battlescope_tests::host_binary())
        .args(["deploy", "spin", "--from"])
        .arg(repo_root().join("spin.toml"))
        .arg("--out")
        .arg(&fresh)
        .output()
        .unwrap();
    let generated = std::fs::read_to_string(&fresh);
    let _ = std::fs::remove_file(&fresh);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let committed = std::fs::read_to_string(committed()).unwrap();
    assert!(generated.unwrap() == committed, "deploy/spin/spin.toml is stale: run `make deploy` and commit it");
    let manifest: toml::Table = committed.parse().unwrap();
    let components: Vec<&String> = manifest["component"].as_table().unwrap().keys().collect();
    assert_eq!(
        components,
        ["battle-api", "bff", "enrichment-api", "ingestion-api", "notification-api", "search-api", "web"],
        "the Spin part is every API, the BFF and the web UI"
    );
}

#[tokio::test]
async fn spin_only_serves_the_spin_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = battlescope_tests::unique_prefix("spinonly");
    // Spin does not migrate: the databases are prepared as a deployment would, by the host that
    // runs the workers (here its `migrate` command on the full manifest).
    let migrate = HostOptions::new(&repo_root().join("spin.toml"), "spinonly", dir.path())
        .env("BATTLESCOPE_DATABASE_URL", &postgres_admin_url())
        .env("BATTLESCOPE_DATABASE_PREFIX", &prefix);
    let (ok, output) = run_to_exit(&migrate, "migrate").await.unwrap();
    assert!(ok, "{output}");

    let host = Host::start(spin_only(&committed(), dir.path(), &prefix)).await.unwrap();
    let health = http::get(&host.url("/api/ingestion/health")).await.unwrap();
    assert_eq!(health.status, 200, "the ingestion API reaches its database: {}", health.body);

    let ruleset = host.url("/api/ingestion/ruleset");
    let auth = format!("Bearer {TOKEN}");
    let r = http::request_with_headers("PUT", &ruleset, r#"{"minPilots": 3}"#, &[("authorization", &auth)]).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(http::get(&ruleset).await.unwrap().json()["ruleset"]["minPilots"], 3);

    let battles = http::get(&host.url("/api/battles")).await.unwrap();
    assert_eq!((battles.status, battles.json()["battles"].clone()), (200, serde_json::json!([])), "{}", battles.body);
    // Reads an edge cache can keep: a validator, a lifetime, and a 304 for a current copy.
    let etag = battles.header("etag").expect("reads carry an ETag").to_string();
    assert_eq!(battles.header("cache-control"), Some("public, max-age=5"));
    let again = http::request_with_headers("GET", &host.url("/api/battles"), "", &[("if-none-match", &etag)]).await.unwrap();
    assert_eq!((again.status, again.body.as_str(), again.header("etag")), (304, "", Some(etag.as_str())));
    battlescope_tests::contract::validate_response("battles", "GET", "/api/battles", 304, "").unwrap();
    let stats = http::get(&host.url("/api/enrichment/stats")).await.unwrap();
    assert_eq!(stats.status, 200, "{}", stats.body);

    // Backfill intake runs plugins: not part of the Spin deployment, and the API says where it is.
    let intake = http::request("POST", &host.url("/api/ingestion/killmails"), "").await.unwrap();
    assert_eq!(intake.status, 404, "{}", intake.body);
    assert!(intake.body.contains("ingestion worker"), "{}", intake.body);

    // The BFF composes the APIs through Spin's service chaining, all inside the Spin part.
    let dashboard = http::get(&host.url("/api/bff/dashboard")).await.unwrap();
    assert_eq!(dashboard.status, 200, "{}", dashboard.body);
    let missing = dashboard.json()["missing"].clone();
    for service in ["battles", "ingestion", "enrichment"] {
        assert!(!missing.as_array().unwrap().contains(&serde_json::json!(service)), "{service} missing: {}", dashboard.body);
    }
    let page = http::get(&host.url("/")).await.unwrap();
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap_or_default().starts_with("text/html"), "{:?}", page.headers);
    host.kill().await;
    battlescope_tests::drop_databases(&prefix).await;
}

#[tokio::test]
async fn spin_only_refuses_what_spin_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = battlescope_tests::unique_prefix("spinrefuse");
    let full = spin_only(&repo_root().join("spin.toml"), dir.path(), &prefix)
        .env("SPIN_VARIABLE_TYPESENSE_API_KEY", "k")
        .env("SPIN_VARIABLE_API_TOKEN", TOKEN);
    let (ok, output) = run_to_exit(&full, "check").await.unwrap();
    assert!(!ok, "the full manifest has Kafka triggers: {output}");
    assert!(output.contains("Spin 3.6 has no kafka trigger"), "{output}");

    // A worker behind an HTTP route (the ingestion worker serves one, and calls the plugin
    // runner): the manifest is Spin's, the component is not.
    let text = std::fs::read_to_string(committed()).unwrap().replace("ingestion_api.wasm", "ingestion_worker.wasm");
    let manifest = repo_root().join(format!("deploy/spin/.worker-{}.toml", std::process::id()));
    std::fs::write(&manifest, text).unwrap();
    let (ok, output) = run_to_exit(&spin_only(&manifest, dir.path(), &prefix), "check").await.unwrap();
    let _ = std::fs::remove_file(&manifest);
    assert!(!ok, "{output}");
    assert!(output.contains("component `ingestion-api` imports something Spin 3.6 (--spin-only) does not provide"), "{output}");
    assert!(output.contains("battlescope:ruleset-filter"), "wasmtime names the import: {output}");
}
