//! A misbehaving guest is stopped by its instance's limits and the host keeps serving.

use battlescope_tests::host::{Host, HostOptions};
use battlescope_tests::{http, probe};
use std::time::{Duration, Instant};

async fn start(test: &str, dir: &tempfile::TempDir, args: &[&str]) -> Host {
    let manifest = probe::write_manifest(dir.path(), &[], "", "");
    let mut options = HostOptions::new(&manifest, test, &dir.path().join("state")).env("SPIN_VARIABLE_REQUIRED_ONE", "x");
    for a in args {
        options = options.arg(a);
    }
    Host::start(options).await.expect("host starts")
}

#[tokio::test]
async fn infinite_loop_gets_a_504_within_the_deadline_while_others_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let host = start("loop", &dir, &["--request-timeout-ms", "1000"]).await;
    let started = Instant::now();
    let looping = tokio::spawn({
        let url = host.url("/probe/loop");
        async move { http::get(&url).await.unwrap() }
    });
    // While the loop burns its budget, other requests are answered.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let during = http::get(&host.url("/probe/echo")).await.unwrap();
    assert_eq!(during.status, 200);
    assert!(!looping.is_finished(), "the loop is still running when the echo returns (after {:?})", started.elapsed());
    let r = looping.await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.body);
    assert!(r.body.contains("did not answer within 1s"), "{}", r.body);
    assert!(elapsed >= Duration::from_millis(900), "stopped at {elapsed:?}, before its budget");
    assert!(elapsed < Duration::from_secs(5), "took {elapsed:?}");
    assert_eq!(http::get(&host.url("/probe/echo")).await.unwrap().status, 200);
    let metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    assert!(
        metrics.contains("component_failures_total{component=\"probe\",trigger=\"http\",kind=\"deadline\"} 1\n"),
        "the deadline is counted: {metrics}"
    );
    // The stopped instance's store goes when its aborted task is next polled: soon, not at once.
    let mut metrics = metrics;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !metrics.contains("component_instances{component=\"probe\"} 0\n") {
        assert!(Instant::now() < deadline, "an instance is still counted alive 5 s on: {metrics}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    }
}

#[tokio::test]
async fn memory_bomb_traps_and_the_host_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let host = start("bomb", &dir, &["--memory-limit-mib", "64"]).await;
    let r = http::get(&host.url("/probe/bomb")).await.unwrap();
    assert_eq!(r.status, 500, "{}", r.body);
    // The client learns which component failed and the incident to quote, not the trap.
    assert!(r.body.contains("component `probe` failed (incident "), "{}", r.body);
    assert!(!r.body.contains("memory") && !r.body.contains("wasm"), "{}", r.body);
    let incident = r.body.split("incident ").nth(1).and_then(|rest| rest.split(';').next()).unwrap().to_string();
    for _ in 0..3 {
        assert_eq!(http::get(&host.url("/probe/echo")).await.unwrap().status, 200);
    }
    let metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    let counted = ["memory", "trap"].iter().any(|kind| {
        metrics.contains(&format!("component_failures_total{{component=\"probe\",trigger=\"http\",kind=\"{kind}\"}} 1\n"))
    });
    assert!(counted, "the failure is counted: {metrics}");
    let log = host.log_text();
    assert!(log.contains("memory") || log.contains("unreachable"), "the trap is logged: {log}");
    assert!(log.lines().any(|l| l.contains(&incident) && l.contains("failed")), "the log names incident {incident}: {log}");
}
