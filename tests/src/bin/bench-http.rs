//! `make bench` (HTTP part): requests/s and latency of one trivial handler served (a) by a
//! spin-sdk component on our host and (b) by native hyper code, in the same run, and their
//! ratio. Each server runs in its own process; this process is the load generator.

use battlescope_tests::host::{Host, HostOptions};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use std::time::{Duration, Instant};

struct Args {
    host: Option<String>,
    serve_native: Option<u16>,
    seconds: u64,
    connections: usize,
}

fn parse_args() -> Args {
    let mut args = Args { host: None, serve_native: None, seconds: 5, connections: 16 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--host" => args.host = Some(value()),
            "--serve-native" => args.serve_native = Some(value().parse().expect("port")),
            "--seconds" => args.seconds = value().parse().expect("seconds"),
            "--connections" => args.connections = value().parse().expect("connections"),
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

/// The baseline: the same response as the component's `/probe/hello`, from plain hyper.
async fn serve_native(port: u16) {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    loop {
        let (stream, _) = listener.accept().await.unwrap();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|_req| async {
                Ok::<_, std::convert::Infallible>(
                    hyper::Response::builder()
                        .header("content-type", "text/plain")
                        .body(Full::new(Bytes::from_static(b"hello")))
                        .unwrap(),
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
    let manifest = battlescope_tests::probe::write_manifest(dir.path(), &[], "", "");
    let options = HostOptions::new(&manifest, "bench", &dir.path().join("state"))
        .env("SPIN_VARIABLE_REQUIRED_ONE", "x")
        .env("BATTLESCOPE_LOG", "warn");
    let host = Host::start(options).await?;

    let native_port = battlescope_tests::free_port();
    let mut native = tokio::process::Command::new(std::env::current_exe()?)
        .args(["--serve-native", &native_port.to_string()])
        .kill_on_drop(true)
        .spawn()?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let native_url = format!("http://127.0.0.1:{native_port}/probe/hello");

    println!(
        "HTTP: one trivial handler, {} connections, {} s each, load generator on the same machine",
        args.connections, args.seconds
    );
    // Warm both up (instance pool, caches) before measuring.
    load(&host.url("/probe/hello"), args.connections, Duration::from_secs(1)).await;
    load(&native_url, args.connections, Duration::from_secs(1)).await;
    let wasm = load(&host.url("/probe/hello"), args.connections, duration).await;
    let baseline = load(&native_url, args.connections, duration).await;
    row("spin-sdk component (host)", &wasm);
    row("native hyper (baseline)", &baseline);
    println!(
        "ratio component/native: throughput {:.2}x, p50 latency {:.2}x, p99 latency {:.2}x",
        wasm.rps() / baseline.rps(),
        wasm.percentile(0.5).as_secs_f64() / baseline.percentile(0.5).as_secs_f64(),
        wasm.percentile(0.99).as_secs_f64() / baseline.percentile(0.99).as_secs_f64(),
    );
    native.kill().await?;
    host.kill().await;
    Ok(())
}
