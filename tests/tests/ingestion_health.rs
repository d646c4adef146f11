//! The first real component: ingestion's health report, read from its own migrated database.

use battlescope_tests::host::{Host, HostOptions};
use battlescope_tests::{drop_databases, http, postgres_host, repo_root};

#[tokio::test]
async fn health_reads_the_ingestion_database_through_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = repo_root().join("spin.toml");
    let mut options = HostOptions::new(&manifest, "health", &dir.path().join("state"));
    let database = format!("{}ingestion", options.database_prefix);
    options = options
        .env("SPIN_VARIABLE_POSTGRES_HOST", &postgres_host())
        .env("SPIN_VARIABLE_INGESTION_DATABASE_URL", &format!("postgres://postgres@{}/{database}", postgres_host()));
    let prefix = options.database_prefix.clone();
    let host = Host::start(options).await.unwrap();

    let r = http::get(&host.url("/api/ingestion/health")).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["status"], "ok");
    assert_eq!(j["database"]["reachable"], true);
    assert_eq!(j["database"]["killmails"], 0);
    assert!(j["database"]["schemaVersion"].as_i64().unwrap() >= 1, "migrations ran: {j}");

    // A row written behind the component's back shows up: the number comes from the database.
    let url = format!("postgres://postgres@{}/{database}", postgres_host());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
        .execute(
            "INSERT INTO killmail_events (killmail_id, killmail_hash, killmail_time, solar_system_id, source)
             VALUES (96000001, 'abc', now(), 30001046, 'test')",
            &[],
        )
        .await
        .unwrap();
    let j = http::get(&host.url("/api/ingestion/health")).await.unwrap().json();
    assert_eq!(j["database"]["killmails"], 1, "{j}");

    let wrong = http::request("POST", &host.url("/api/ingestion/health"), "").await.unwrap();
    assert_eq!(wrong.status, 405);
    host.kill().await;
    drop(client);
    drop_databases(&prefix).await;
}
