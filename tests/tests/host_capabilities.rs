//! The host runs a spin-sdk 5.2 component against the real Postgres and Redis, and every
//! capability behaves as Spin's does: values round-trip, and the allow-list is enforced.

use battlescope_tests::host::{Host, HostOptions};
use battlescope_tests::{http, postgres_host, probe, redis_url};
use serde_json::json;

fn allowed(extra: &[String]) -> Vec<String> {
    let mut hosts = vec![format!("postgres://{}", postgres_host()), redis_url()];
    hosts.extend_from_slice(extra);
    hosts
}

async fn start(test: &str, dir: &tempfile::TempDir, hosts: Vec<String>, extra_vars: &str) -> Host {
    let manifest = probe::write_manifest(dir.path(), &hosts, extra_vars, "");
    let options = HostOptions::new(&manifest, test, &dir.path().join("state"))
        .env("SPIN_VARIABLE_REQUIRED_ONE", "from-environment")
        .env("SPIN_VARIABLE_FROM_ENV", "env-value");
    Host::start(options).await.expect("host starts")
}

#[tokio::test]
async fn postgres_round_trips_every_column_type() {
    let dir = tempfile::tempdir().unwrap();
    let host = start("pg", &dir, allowed(&[]), "").await;
    let r = http::get(&host.url("/probe/pg")).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["inserted"], 1, "{j}");
    assert_eq!(j["b"], true);
    assert_eq!(j["i2"], -2);
    assert_eq!(j["i4"], 40000);
    assert_eq!(j["i8"], 5_000_000_000i64);
    assert_eq!(j["f4"], 1.5);
    assert_eq!(j["f8"], 2.25);
    assert_eq!(j["t"], "Jorund");
    assert_eq!(j["by"], json!([0, 1, 2]));
    assert_eq!(j["d"], "2021-11-28");
    assert_eq!(j["tm"], "10:21:00");
    assert_eq!(j["ts"], "2021-11-28 14:51:00");
    assert_eq!(j["tz"], "2021-11-28 14:51:30");
    assert_eq!(j["j"], r#"{"kills":1081}"#);
    assert_eq!(j["u"], "6f1c2a9e-6a4e-4b8f-9a39-2f7f8b0a1c11");
    assert_eq!(j["n"], "12345.678");
    assert_eq!(j["nul"], serde_json::Value::Null);
    let types: Vec<String> = j["columns"].as_array().unwrap().iter().map(|c| c[1].as_str().unwrap().to_string()).collect();
    assert_eq!(&types[..4], ["DbDataType::Boolean", "DbDataType::Int16", "DbDataType::Int32", "DbDataType::Int64"]);
    assert_eq!(types[10], "DbDataType::Datetime");
}

#[tokio::test]
async fn redis_commands_reach_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let host = start("redis", &dir, allowed(&[]), "").await;
    let r = http::get(&host.url("/probe/redis")).await.unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let j = r.json();
    assert_eq!(j["get"], "value", "{j}");
    assert_eq!(j["incr"], 1);
    assert_eq!(j["sadd"], 2);
    assert_eq!(j["smembers"], json!(["a", "b"]));
    assert_eq!(j["srem"], 2);
    assert_eq!(j["execute"], json!(["executed"]));
    assert_eq!(j["del"], 2);
}

#[tokio::test]
async fn key_value_default_store_persists_on_disk_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let host = start("kv", &dir, allowed(&[]), "").await;
    let first = http::get(&host.url("/probe/kv")).await.unwrap().json();
    assert_eq!(first["previous"], 0, "{first}");
    assert_eq!(first["exists_before_delete"], true);
    assert_eq!(first["exists_after_delete"], false);
    assert_eq!(first["keys"], json!(["probe-counter"]));
    let second = http::get(&host.url("/probe/kv")).await.unwrap().json();
    assert_eq!(second["previous"], 1);
    host.kill().await;

    let again = start("kv", &dir, allowed(&[]), "").await;
    let third = http::get(&again.url("/probe/kv")).await.unwrap().json();
    assert_eq!(third["previous"], 2, "the store survived the restart: {third}");
    let denied = http::get(&again.url("/probe/kv?store=elsewhere")).await.unwrap().json();
    assert_eq!(denied["open_error"], "Error::AccessDenied");
}

#[tokio::test]
async fn key_value_store_can_be_backed_by_redis_through_runtime_config() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = probe::write_manifest(dir.path(), &allowed(&[]), "", "");
    let db = 9;
    let config = dir.path().join("runtime-config.toml");
    std::fs::write(&config, format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{}/{db}\"\n", redis_url())).unwrap();
    let client = redis::Client::open(format!("{}/{db}", redis_url())).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("DEL").arg("probe-counter").query_async(&mut conn).await.unwrap();
    let options = HostOptions::new(&manifest, "kvredis", &dir.path().join("state"))
        .env("SPIN_VARIABLE_REQUIRED_ONE", "x")
        .arg("--runtime-config-file")
        .arg(config.to_str().unwrap());
    let host = Host::start(options).await.unwrap();
    let r = http::get(&host.url("/probe/kv")).await.unwrap().json();
    assert_eq!(r["previous"], 0, "{r}");
    let stored: Option<String> = redis::cmd("GET").arg("probe-counter").query_async(&mut conn).await.unwrap();
    assert_eq!(stored.as_deref(), Some("1"), "the value is in Redis, not on disk");
    let _: () = redis::cmd("DEL").arg("probe-counter").query_async(&mut conn).await.unwrap();
}

#[tokio::test]
async fn outbound_connections_are_limited_to_the_allow_list() {
    // A real HTTP server the component may reach (through a templated entry), and one it may not.
    let allowed_server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let allowed_port = allowed_server.local_addr().unwrap().port();
    tokio::spawn(serve_text(allowed_server, "hello from upstream"));
    let denied_server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let denied_port = denied_server.local_addr().unwrap().port();
    tokio::spawn(serve_text(denied_server, "should never be read"));

    let dir = tempfile::tempdir().unwrap();
    let hosts = allowed(&["http://127.0.0.1:{{ upstream_port }}".to_string()]);
    let manifest = probe::write_manifest(dir.path(), &hosts, "upstream_port = \"{{ upstream_port }}\"", "");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("[variables]\n", &format!("[variables]\nupstream_port = {{ default = \"{allowed_port}\" }}\n"));
    std::fs::write(&manifest, text).unwrap();
    let options = HostOptions::new(&manifest, "allow", &dir.path().join("state")).env("SPIN_VARIABLE_REQUIRED_ONE", "x");
    let host = Host::start(options).await.unwrap();

    let ok = http::get(&host.url(&format!("/probe/http?url=http://127.0.0.1:{allowed_port}/"))).await.unwrap().json();
    assert_eq!(ok["status"], 200, "{ok}");
    assert_eq!(ok["body"], "hello from upstream");

    let denied = http::get(&host.url(&format!("/probe/http?url=http://127.0.0.1:{denied_port}/"))).await.unwrap().json();
    assert!(denied["error"].as_str().unwrap_or("").contains("HttpRequestDenied"), "{denied}");

    let pg = http::get(&host.url("/probe/pg?address=postgres://postgres@127.0.0.1:1/postgres")).await.unwrap().json();
    assert!(pg["open_error"].as_str().unwrap().contains("is not permitted"), "{pg}");
    assert!(pg["open_error"].as_str().unwrap().starts_with("Error::ConnectionFailed"), "{pg}");
    // An allowed name cannot smuggle in another address: `hostaddr` is where the client would
    // connect. The refusal does not repeat the password.
    let smuggled = format!("postgres://postgres:hunter2@{}/postgres?hostaddr=127.0.0.2", postgres_host());
    let pg = http::get(&host.url(&format!("/probe/pg?address={smuggled}"))).await.unwrap().json();
    let error = pg["open_error"].as_str().unwrap();
    assert!(error.contains("is not permitted") && error.contains("127.0.0.2"), "{pg}");
    assert!(!error.contains("hunter2"), "{pg}");

    let redis = http::get(&host.url("/probe/redis?address=redis://127.0.0.1:1")).await.unwrap().json();
    assert_eq!(redis["open_error"], "Error::InvalidAddress", "{redis}");

    let log = host.log_text();
    assert!(log.contains("denied outbound HTTP request") && log.contains("probe"), "the host logs who asked: {log}");
    assert!(log.contains("denied Postgres connection"), "{log}");
}

async fn serve_text(listener: tokio::net::TcpListener, text: &'static str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((mut s, _)) = listener.accept().await else { return };
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let reply = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}", text.len());
            let _ = s.write_all(reply.as_bytes()).await;
        });
    }
}

#[tokio::test]
async fn spin_routing_headers_reach_the_component() {
    let dir = tempfile::tempdir().unwrap();
    let host = start("headers", &dir, allowed(&[]), "").await;
    let j = http::get(&host.url("/probe/echo?x=1")).await.unwrap().json();
    let h = &j["headers"];
    assert_eq!(h["spin-path-info"], "/echo", "{j}");
    assert_eq!(h["spin-matched-route"], "/probe/...");
    assert_eq!(h["spin-component-route"], "/probe");
    assert!(h["spin-full-url"].as_str().unwrap().ends_with("/probe/echo?x=1"), "{j}");
    assert!(h["spin-client-addr"].as_str().unwrap().starts_with("127.0.0.1:"));
    let missing = http::get(&host.url("/nothing-here")).await.unwrap();
    assert_eq!(missing.status, 404);
}
