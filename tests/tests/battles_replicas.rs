//! Two `battlescope` hosts in one consumer group share a real day (2021-11-30): each handles
//! the partitions it is given, every change holds the battle database's lock, and an
//! operator's edit made while the day flows takes the same path. The battles stored must be
//! exactly those clustering finds over every killmail no operator holds.

use battlescope_tests::battles::{assert_stored_equals_recomputed, finish_day, start_day, Api};
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn two_replicas_store_the_battles_one_would_with_an_edit_made_midway() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _replay, killmails) = start_day(dir.path(), "replicas", "2021-11-30").await;
    let second = app.start_replica("b").await.unwrap();

    // Midway, an operator merges two small battles (on whichever host the request reaches).
    app.wait_for_battles("SELECT count(*) FROM battle_kills", 4000, Duration::from_secs(600)).await;
    let small: Vec<String> = app
        .battles_db
        .query("SELECT battle_id FROM battles WHERE kills = 2 AND NOT manual ORDER BY battle_id LIMIT 2", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let api = Api { app: &app };
    let merged = api
        .write(
            "POST",
            "/api/battles/{id}/merge",
            &format!("/api/battles/{}/merge", small[0]),
            &json!({"battleIds": [small[1]]}).to_string(),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);

    finish_day(&app, killmails.len()).await;
    assert_stored_equals_recomputed(&app).await;
    let held: i64 = app
        .battles_db
        .query_one("SELECT count(*) FROM battle_killmails WHERE battle_id = $1", &[&small[0]])
        .await
        .unwrap()
        .get(0);
    assert_eq!(held, 4, "the merged battle keeps exactly its killmails while the day flows on");

    // Both hosts did battle work.
    for host in [&app.host, &second] {
        let metrics = battlescope_tests::http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
        let handled: f64 = metrics
            .lines()
            .filter(|l| {
                // Either lane: the live topic or its backfill twin.
                l.starts_with("kafka_messages_consumed_total") && l.contains(&format!("topic=\"{}", app.enriched_topic))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        assert!(handled > 100.0, "each replica handled enriched killmails ({handled})");
    }
    second.kill().await;
    app.stop().await;
}
