//! `make bench` (HTTP part): requests/s and latency of one component that imports only WASI
//! (`tests/components/http-bench`: a trivial route and a report drawn from recorded killmails)
//! served by our host and by `wasmtime serve` (the reference host a user could pick instead),
//! beside native hyper code answering the same, at 1, 16 and 64 connections, in the same run.
//! `wasmtime serve` runs twice: as it comes (no time limit) and with `-W timeout`, which, like our
//! host's request budget, instruments the code with epoch checks. Each server runs in its own process; this process is the load generator.

use battlescope_tests::http_bench::{on_our_host, WasmtimeServe};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};

struct Args {
    host: Option<String>,
    serve_native: Option<u16>,
    seconds: u64,
}

fn parse_args() -> Args {
    let mut args = Args { host: None, serve_native: None, seconds: 3 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--host" => args.host = Some(value()),
            "--serve-native" => args.serve_native = Some(value().parse().expect("port")),
            "--seconds" => args.seconds = value().parse().expect("seconds"),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// The baseline: the component's answers from plain hyper, the report drawn by the same code.
async fn serve_native(port: u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        stream.set_nodelay(true).unwrap();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                let (kind, body) = match req.uri().path() {
                    "/report" => ("application/json", Bytes::from(http_bench::report_json())),
                    _ => ("text/plain", Bytes::from_static(b"hello")),
                };
                Ok::<_, std::convert::Infallible>(
                    hyper::Response::builder().header("content-type", kind).body(Full::new(body)).unwrap(),
                )
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

struct Result {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Result {
    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn percentile(&self, p: f64) -> Duration {
        let i = ((self.latencies.len() as f64 * p) as usize).min(self.latencies.len().saturating_sub(1));
        self.latencies[i]
    }
}

async fn load(url: &str, connections: usize, duration: Duration) -> Result {
    let uri: hyper::Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().to_string();
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (uri, authority) = (uri.clone(), authority.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&authority).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            let (mut ok, mut errors, mut latencies) = (0usize, 0usize, Vec::new());
            while Instant::now() < deadline {
                let req = hyper::Request::get(uri.clone()).header("host", &authority).body(Full::new(Bytes::new())).unwrap();
                let t = Instant::now();
                match sender.send_request(req).await {
                    Ok(resp) if resp.status() == 200 => {
                        let _ = resp.into_body().collect().await;
                        latencies.push(t.elapsed());
                        ok += 1;
                    }
                    _ => errors += 1,
                }
            }
            (ok, errors, latencies)
        }));
    }
    let mut result = Result { requests: 0, errors: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for t in tasks {
        let (ok, errors, lat) = t.await.unwrap();
        result.requests += ok;
        result.errors += errors;
        result.latencies.extend(lat);
    }
    result.elapsed = started.elapsed();
    result.latencies.sort();
    result
}

fn row(name: &str, r: &Result) {
    println!(
        "{name:<28} {:>10.0} req/s   p50 {:>8.2} ms   p99 {:>8.2} ms   errors {}",
        r.rps(),
        r.percentile(0.50).as_secs_f64() * 1e3,
        r.percentile(0.99).as_secs_f64() * 1e3,
        r.errors
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args();
    if let Some(port) = args.serve_native {
        serve_native(port).await;
        return Ok(());
    }
    if let Some(host) = &args.host {
        std::env::set_var("BATTLESCOPE_BIN", host);
    }
    let duration = Duration::from_secs(args.seconds);
    let dir = tempfile::tempdir()?;
    let ours = on_our_host(dir.path()).await?;
    let reference = WasmtimeServe::start().await?;
    let reference_with_deadline = WasmtimeServe::start_with_deadline().await?;
    let native_port = battlescope_tests::free_port();
    let mut native = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--serve-native", &native_port.to_string()])
        .kill_on_drop(true)
        .spawn()?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let native_url = |path: &str| format!("http://127.0.0.1:{native_port}{path}");

    println!(
        "HTTP: one WASI-only component (tests/components/http-bench) on our host and on wasmtime serve ({}), \
         native hyper as baseline, {} s per run, load generator on the same machine",
        wasmtime_version(),
        args.seconds
    );
    for path in ["/hello", "/report"] {
        for connections in [1, 16, 64] {
            println!("{path} at {connections} connection(s)");
            let urls = [
                ("native hyper (baseline)", native_url(path)),
                ("our host", ours.url(path)),
                ("wasmtime serve", reference.url(path)),
                ("wasmtime serve -W timeout", reference_with_deadline.url(path)),
            ];
            let mut results = Vec::new();
            for (name, url) in &urls {
                // Warm up (instance pools, compiled code, caches) before measuring.
                load(url, connections, Duration::from_millis(500)).await;
                let r = load(url, connections, duration).await;
                row(name, &r);
                results.push(r);
            }
            let (baseline, host, wasmtime, wasmtime_deadline) = (&results[0], &results[1], &results[2], &results[3]);
            let p99 = |r: &Result| r.percentile(0.99).as_secs_f64();
            println!(
                "  our host / wasmtime serve: throughput {:.2}x, p99 {:.2}x;  / with -W timeout: throughput {:.2}x, p99 {:.2}x;  \
                 / native: throughput {:.2}x, p99 {:.2}x",
                host.rps() / wasmtime.rps(),
                p99(host) / p99(wasmtime),
                host.rps() / wasmtime_deadline.rps(),
                p99(host) / p99(wasmtime_deadline),
                host.rps() / baseline.rps(),
                p99(host) / p99(baseline),
            );
        }
    }
    native.kill().await?;
    ours.kill().await;
    Ok(())
}

/// `wasmtime --version`, for the record.
fn wasmtime_version() -> String {
    std::process::Command::new(battlescope_tests::installed_tool("wasmtime/wasmtime_cli/wasmtime"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|e| format!("version unknown: {e}"))
}
