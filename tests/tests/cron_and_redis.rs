//! The cron trigger (with and without a singleton lease) and the Redis trigger, against the
//! real Redis and Postgres.

use battlescope_tests::events::{wait_for_count, EventApp, Options};
use std::time::Duration;

#[tokio::test]
async fn cron_fires_every_second() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "cron", &Options { cron: Some(false), ..Options::default() });
    let _host = app.start("a").await;
    let db = app.db().await;
    assert!(wait_for_count(&db, "SELECT count(DISTINCT tick) FROM cron_runs", 3, 10).await >= 3);
    let gaps: Vec<i64> = db
        .query("SELECT tick - lag(tick) OVER (ORDER BY tick) FROM cron_runs ORDER BY tick", &[])
        .await
        .unwrap()
        .iter()
        .filter_map(|r| r.get::<_, Option<i64>>(0))
        .collect();
    assert!(gaps.iter().all(|g| *g >= 1), "one run per scheduled second: {gaps:?}");
}

#[tokio::test]
async fn a_singleton_job_runs_on_one_replica_and_moves_when_it_dies() {
    let dir = tempfile::tempdir().unwrap();
    let app = EventApp::new(dir.path(), "singleton", &Options { cron: Some(true), ..Options::default() });
    let a = app.start("a").await;
    let b = app.start("b").await;
    let db = app.db().await;
    wait_for_count(&db, "SELECT count(*) FROM cron_runs", 4, 20).await;
    let doubled: i64 = db
        .query_one("SELECT count(*) FROM (SELECT tick FROM cron_runs GROUP BY tick HAVING count(*) > 1) d", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(doubled, 0, "no tick ran on both replicas");
    let leader: String = db.query_one("SELECT replica FROM cron_runs ORDER BY tick DESC LIMIT 1", &[]).await.unwrap().get(0);
    let (dead, survivor) = if leader == "a" { (a, b) } else { (b, a) };
    let last_tick: i64 = db.query_one("SELECT max(tick) FROM cron_runs", &[]).await.unwrap().get(0);
    dead.kill().await;
    let follower = if leader == "a" { "b" } else { "a" };
    let query = format!("SELECT count(*) FROM cron_runs WHERE replica = '{follower}' AND tick > {last_tick}");
    let taken_over = wait_for_count(&db, &query, 2, 10).await;
    assert!(taken_over >= 2, "replica {follower} took over after {leader} died");
    let first_takeover: i64 = db
        .query_one(&format!("SELECT min(tick) FROM cron_runs WHERE replica = '{follower}' AND tick > {last_tick}"), &[])
        .await
        .unwrap()
        .get(0);
    assert!(first_takeover - last_tick <= 3, "the lease moved within a couple of periods ({} s)", first_takeover - last_tick);
    let doubled: i64 = db
        .query_one("SELECT count(*) FROM (SELECT tick FROM cron_runs GROUP BY tick HAVING count(*) > 1) d", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(doubled, 0);
    drop(survivor);
}

#[tokio::test]
async fn redis_trigger_delivers_published_messages() {
    let dir = tempfile::tempdir().unwrap();
    let channel = format!("probe-{}", battlescope_tests::unique_prefix("chan"));
    let app = EventApp::new(dir.path(), "redistrig", &Options { redis_channel: Some(channel.clone()), ..Options::default() });
    let _host = app.start("a").await;
    let client = redis::Client::open(battlescope_tests::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let db = app.db().await;
    // The subscription is set up right after start; publish until it is seen.
    for i in 0..50 {
        let _: i64 = redis::cmd("PUBLISH").arg(&channel).arg(format!("hello {i}")).query_async(&mut conn).await.unwrap();
        if wait_for_count(&db, "SELECT count(*) FROM redis_messages", 1, 0).await >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got: String = db.query_one("SELECT payload FROM redis_messages LIMIT 1", &[]).await.unwrap().get(0);
    assert!(got.starts_with("hello "), "{got}");
}
