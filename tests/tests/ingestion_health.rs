//! Ingestion's health report, read from its own migrated database through the host.

use battlescope_tests::app::{App, Options};
use battlescope_tests::http;

#[tokio::test]
async fn health_reads_the_ingestion_database_through_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), "health", Options::default()).await.unwrap();

    let r = http::get(&app.host.url("/api/ingestion/health")).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["status"], "ok");
    assert_eq!(j["database"]["reachable"], true);
    assert_eq!(j["database"]["killmails"], 0);
    assert!(j["database"]["schemaVersion"].as_i64().unwrap() >= 3, "migrations ran: {j}");

    // A row written behind the component's back shows up: the number comes from the database.
    app.db
        .execute(
            "INSERT INTO killmail_events (killmail_id, killmail_hash, killmail_time, solar_system_id, source)
             VALUES (96000001, 'abc', now(), 30001046, 'test')",
            &[],
        )
        .await
        .unwrap();
    let j = http::get(&app.host.url("/api/ingestion/health")).await.unwrap().json();
    assert_eq!(j["database"]["killmails"], 1, "{j}");

    let wrong = http::request("POST", &app.host.url("/api/ingestion/health"), "").await.unwrap();
    assert_eq!(wrong.status, 405);
    app.stop().await;
}
