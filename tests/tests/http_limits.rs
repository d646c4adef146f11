//! What one client may take of the HTTP port (`[application.trigger.http]`): bodies past their
//! route's cap are refused, surplus connections wait, slow headers are cut off, a full share of
//! instances sheds load with 503, and browsers from listed origins may read.

use battlescope_tests::host::{Host, HostOptions};
use battlescope_tests::{http, probe};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(test: &str, dir: &tempfile::TempDir, extra: &str, args: &[&str]) -> Host {
    let manifest = probe::write_manifest(dir.path(), &[], "", extra);
    let mut options = HostOptions::new(&manifest, test, &dir.path().join("state")).env("SPIN_VARIABLE_REQUIRED_ONE", "x");
    for a in args {
        options = options.arg(a);
    }
    Host::start(options).await.expect("host starts")
}

async fn connect(host: &Host) -> TcpStream {
    let address = host.url("").trim_start_matches("http://").to_string();
    TcpStream::connect(&address).await.expect("connecting to the host")
}

/// Everything the server sends until it closes the connection, or what came within `wait`.
async fn read_for(stream: &mut TcpStream, wait: Duration) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn bodies_past_their_routes_cap_get_413_whether_declared_or_streamed() {
    let dir = tempfile::tempdir().unwrap();
    let extra = r#"
[application.trigger.http]
max_body_bytes = 1024
cors_origins = ["https://fleet.example"]

[[trigger.http]]
route = "/probe/big/..."
component = "probe"
max_body_bytes = 4096
"#;
    let host = start("http-bodies", &dir, extra, &[]).await;

    let within = http::request("POST", &host.url("/probe/body"), &"x".repeat(1000)).await.unwrap();
    assert_eq!((within.status, within.json()["bytes"].as_u64()), (200, Some(1000)), "{}", within.body);

    let declared = http::request("POST", &host.url("/probe/body"), &"x".repeat(2000)).await.unwrap();
    assert_eq!(declared.status, 413, "{}", declared.body);
    assert!(declared.body.contains("at most 1024 bytes"), "{}", declared.body);

    // The route's own cap overrides the port's.
    let big = http::request("POST", &host.url("/probe/big/body"), &"x".repeat(2000)).await.unwrap();
    assert_eq!((big.status, big.json()["bytes"].as_u64()), (200, Some(2000)), "{}", big.body);

    // No Content-Length: the body is counted as it streams in.
    let mut stream = connect(&host).await;
    let mut request = b"POST /probe/body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..6 {
        request.extend_from_slice(format!("1f4\r\n{}\r\n", "y".repeat(500)).as_bytes());
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let answer = read_for(&mut stream, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Cross-origin: the host answers preflights for the listed origin only and marks
    // responses readable by it.
    let allowed = [("origin", "https://fleet.example"), ("access-control-request-method", "PATCH")];
    let preflight = http::request_with_headers("OPTIONS", &host.url("/probe/echo"), "", &allowed).await.unwrap();
    assert_eq!(preflight.status, 204, "{}", preflight.body);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("https://fleet.example"));
    let refused = [("origin", "https://elsewhere.example"), ("access-control-request-method", "PATCH")];
    let preflight = http::request_with_headers("OPTIONS", &host.url("/probe/echo"), "", &refused).await.unwrap();
    assert_eq!(preflight.status, 403);
    assert_eq!(preflight.header("access-control-allow-origin"), None);
    let read = http::request_with_headers("GET", &host.url("/probe/echo"), "", &allowed[..1]).await.unwrap();
    assert_eq!(read.status, 200);
    assert_eq!(read.header("access-control-allow-origin"), Some("https://fleet.example"));
    assert!(read.header("access-control-expose-headers").is_some_and(|h| h.contains("etag")), "{:?}", read.headers);
}

#[tokio::test]
async fn surplus_connections_wait_and_slow_headers_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "\n[application.trigger.http]\nmax_connections = 2\nheader_timeout_ms = 1000\n";
    let host = start("http-connections", &dir, extra, &[]).await;

    // Two silent connections hold the port's two places; a third is accepted by the kernel
    // but not served until one of them goes.
    let first = connect(&host).await;
    let _second = connect(&host).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect(&host).await;
    third.write_all(b"GET /probe/echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await.unwrap();
    let early = read_for(&mut third, Duration::from_millis(300)).await;
    assert!(early.is_empty(), "served past the connection cap: {early}");
    drop(first);
    let answer = read_for(&mut third, Duration::from_secs(10)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A client that never finishes its headers loses its connection after the header timeout.
    let mut slow = connect(&host).await;
    let started = Instant::now();
    slow.write_all(b"GET /probe/echo HTTP/1.1\r\nHost: t\r\n").await.unwrap();
    let answer = read_for(&mut slow, Duration::from_secs(10)).await;
    let elapsed = started.elapsed();
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5), "closed after {elapsed:?}");
}

#[tokio::test]
async fn a_full_share_of_instances_sheds_requests_with_503_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let extra = "\n[application.trigger.http]\nmax_concurrent_requests = 1\n";
    let host = start("http-shed", &dir, extra, &["--request-timeout-ms", "1500"]).await;

    let looping = tokio::spawn({
        let url = host.url("/probe/loop");
        async move { http::get(&url).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let shed = http::get(&host.url("/probe/echo")).await.unwrap();
    assert_eq!(shed.status, 503, "{}", shed.body);
    assert_eq!(shed.header("retry-after"), Some("1"));

    let looped = looping.await.unwrap();
    assert_eq!(looped.status, 504, "{}", looped.body);
    assert_eq!(http::get(&host.url("/probe/echo")).await.unwrap().status, 200, "the share is free again");
    let metrics = http::get(&host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    assert!(metrics.lines().any(|l| l.starts_with("http_requests_shed_total{") && l.ends_with(" 1")), "{metrics}");
}
