//! The HTTP benchmark compares our host with `wasmtime serve` on one component; that only means
//! something if both run the same file and answer alike. They do: the component imports only
//! WASI, and both hosts answer its trivial route and its report byte for byte, the report
//! being the one the native code draws. Our host serves this app (no databases) with no
//! Postgres to reach.

use battlescope_tests::http;
use battlescope_tests::http_bench::{on_our_host, WasmtimeServe};

#[tokio::test]
async fn our_host_and_wasmtime_serve_answer_the_benchmark_component_alike() {
    let dir = tempfile::tempdir().unwrap();
    let ours = on_our_host(dir.path()).await.unwrap();
    let reference = WasmtimeServe::start().await.unwrap();
    for path in ["/hello", "/report"] {
        let (a, b) = (http::get(&ours.url(path)).await.unwrap(), http::get(&reference.url(path)).await.unwrap());
        assert_eq!((a.status, b.status), (200, 200), "{path}: {} / {}", a.body, b.body);
        assert_eq!(a.body, b.body, "{path}");
    }
    let report = http::get(&ours.url("/report")).await.unwrap();
    assert_eq!(report.body, http_bench::report_json());
    let parsed = report.json();
    assert_eq!(parsed["killmails"], 25);
    assert!(parsed["units"].as_array().unwrap().len() > 2, "{}", report.body);
    ours.kill().await;
}
