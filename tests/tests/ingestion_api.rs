//! The ingestion API through the host: ruleset validation and authorisation, the backfill
//! intake on real killmails, duplicates, and the `battlescope backfill` command.

use battlescope_tests::app::{App, Options, TOKEN};
use battlescope_tests::http;
use battlescope_tests::replay::data;
use std::io::Write;

fn fixture(name: &str) -> String {
    let path = battlescope_tests::repo_root().join(format!("components/ingestion/tests/fixtures/{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).trim().to_string()
}

const SPACE_TYPES: [&str; 6] = ["nullsec_minus_one", "wormhole", "highsec", "lowsec", "pochven", "abyssal"];

#[tokio::test]
async fn rulesets_are_validated_and_apply_to_the_next_killmail() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), "ingapi", Options::default()).await.unwrap();
    let url = app.host.url("/api/ingestion/ruleset");

    let r = http::get(&url).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ruleset"]["minPilots"], 0, "the default keeps everything: {}", r.body);

    let r = http::request("PUT", &url, r#"{"minPilots": 2}"#).await.unwrap();
    assert_eq!(r.status, 401, "no token: {}", r.body);
    let r = http::request_with_headers("PUT", &url, r#"{"minPilots": 2}"#, &[("authorization", "Bearer nope")]).await.unwrap();
    assert_eq!(r.status, 401, "wrong token: {}", r.body);

    for (body, field) in [
        (r#"{"minPilots": -1}"#, "minPilots"),
        (r#"{"trackedSecurityBands": ["deepspace"]}"#, "trackedSecurityBands"),
        (r#"{"trackedAllianceIds": [0]}"#, "trackedAllianceIds"),
        (r#"{"ignoreUnlisted": "yes"}"#, "ignoreUnlisted"),
        (r#"{"minPilot": 2}"#, "minPilot"),
        ("not json", "(body)"),
    ] {
        let r = app.put_ruleset(body).await;
        assert_eq!(r.status, 400, "{body}: {}", r.body);
        assert_eq!(r.json()["parameter"], field, "{body}: {}", r.body);
        assert!(r.json()["error"].as_str().unwrap().contains(field), "{}", r.body);
    }

    let r = app.put_ruleset(r#"{"trackedSecurityBands": ["nullsec"]}"#).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut batch: Vec<String> = SPACE_TYPES.iter().map(|n| fixture(n)).collect();
    batch.push("{\"killmail_id\": 5, \"truncated".into());
    let r = app.post_killmails(&batch.join("\n")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tally = r.json();
    assert_eq!(tally["received"], 7, "{tally}");
    assert_eq!(tally["accepted"], 1, "only the −1.0 null-sec kill: {tally}");
    assert_eq!(tally["rejected"]["security_band"], 5, "{tally}");
    assert_eq!(tally["malformed"][0]["line"], 7, "{tally}");
    assert!(tally["malformed"][0]["error"].as_str().unwrap().contains("not JSON"), "{tally}");

    // A new ruleset decides the very next killmails, without a restart.
    assert_eq!(app.put_ruleset(r#"{"trackedSecurityBands": ["wormhole"], "minPilots": 2}"#).await.status, 200);
    let day = data::load_day(&data::day_file("2021-11-30")).unwrap();
    let posted: Vec<serde_json::Value> =
        batch[..6].iter().map(|f| serde_json::from_str::<serde_json::Value>(f).unwrap()["killmail_id"].clone()).collect();
    let mut wormholes = day.iter().filter(|k| {
        !posted.contains(&k["killmail_id"])
            && (31_000_000..32_000_000).contains(&k["solar_system_id"].as_u64().unwrap())
            && k["attackers"].as_array().unwrap().iter().filter(|a| a.get("character_id").is_some()).count() >= 2
    });
    let (wormhole, another_wormhole) = (wormholes.next().unwrap(), wormholes.next().unwrap());
    let highsec_id = serde_json::from_str::<serde_json::Value>(&fixture("highsec")).unwrap()["killmail_id"].clone();
    let other =
        day.iter().find(|k| k["solar_system_id"].as_u64().unwrap() < 31_000_000 && k["killmail_id"] != highsec_id).unwrap();
    let r = app.post_killmails(&format!("{wormhole}\n{other}")).await;
    assert_eq!(r.json()["accepted"], 1, "{}", r.body);

    // The same killmails again: decided once, stored once, announced once.
    let events_before = app.count("SELECT count(*) FROM outbox").await;
    let r = app.post_killmails(&batch[..6].join("\n")).await;
    assert_eq!(r.json()["duplicates"], 6, "{}", r.body);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, events_before);
    // Twice in one request (a request is one statement): the second copy is the duplicate.
    let r = app.post_killmails(&format!("{another_wormhole}\n{another_wormhole}")).await;
    assert_eq!((r.json()["accepted"].clone(), r.json()["duplicates"].clone()), (1.into(), 1.into()), "{}", r.body);
    assert_eq!(app.count("SELECT count(*) FROM outbox").await, events_before + 1);

    let stats = app.stats().await;
    let rejected = stats["rejected"]["total"].as_i64().unwrap();
    assert_eq!(stats["received"], 7 + 2 + 6 + 2, "{stats}");
    assert_eq!(
        stats["accepted"].as_i64().unwrap()
            + rejected
            + stats["duplicates"].as_i64().unwrap()
            + stats["malformed"].as_i64().unwrap(),
        17
    );

    let r = http::request("POST", &app.host.url("/api/ingestion/killmails"), &batch[0]).await.unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(http::request("DELETE", &url, "").await.unwrap().status, 405);
    assert_eq!(http::get(&app.host.url("/api/ingestion/nothing")).await.unwrap().status, 404);
    app.stop().await;
}

#[tokio::test]
async fn the_backfill_command_loads_an_archive_with_progress_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let app = App::start(dir.path(), "backfill", Options::default()).await.unwrap();
    let day = data::load_day(&data::day_file("2021-11-30")).unwrap();
    let archive = dir.path().join("part.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&archive).unwrap(), flate2::Compression::fast());
    for km in &day[..300] {
        writeln!(gz, "{km}").unwrap();
    }
    gz.finish().unwrap();

    let run = || async {
        let out = tokio::process::Command::new(battlescope_tests::host_binary())
            .args(["backfill", "--batch", "64", "--url", &app.host.base_url, "--token", TOKEN])
            .arg(&archive)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "backfill failed: {stderr}");
        stderr
    };
    let first = run().await;
    assert!(first.contains("300/300 killmails (100.0 %)"), "progress: {first}");
    assert!(first.contains("300 killmails in") && first.contains("300 accepted"), "summary: {first}");
    assert_eq!(app.count("SELECT count(*) FROM killmail_events WHERE source = 'backfill'").await, 300);
    let second = run().await;
    assert!(second.contains("0 accepted") && second.contains("300 duplicates"), "{second}");

    let out = tokio::process::Command::new(battlescope_tests::host_binary())
        .args(["backfill", "--url", &app.host.base_url, "--token", "wrong"])
        .arg(&archive)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"), "{}", String::from_utf8_lossy(&out.stderr));
    app.stop().await;
}
