//! A real Prometheus server (Debian's `prometheus` package, installed by scripts/stack.sh)
//! scraping a test's host, and promtool, for the observability tests.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A Prometheus scraping one target every second, killed when dropped.
pub struct Prometheus {
    pub url: String,
    _child: Child,
}

impl Prometheus {
    /// Start Prometheus in `dir` scraping `target` (`host:port`) once per `(job, metrics path)`
    /// of `jobs`, and wait until it answers queries.
    pub async fn start(dir: &Path, target: &str, jobs: &[(&str, &str)]) -> anyhow::Result<Self> {
        let config = dir.join("prometheus.yml");
        let mut text = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n");
        for (job, metrics_path) in jobs {
            text.push_str(&format!(
                "  - job_name: {job}\n    metrics_path: {metrics_path}\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ));
        }
        std::fs::write(&config, text)?;
        let address = format!("127.0.0.1:{}", crate::free_port());
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address={address}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log"))?)
            .kill_on_drop(true)
            .spawn()?;
        let url = format!("http://{address}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while crate::http::get(&format!("{url}/-/ready")).await.map(|r| r.status).ok() != Some(200) {
            anyhow::ensure!(Instant::now() < deadline, "Prometheus was not ready on {address} within 30 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Self { url, _child: child })
    }

    /// An instant query's result vector; an error for a query Prometheus refuses.
    pub async fn query(&self, expr: &str) -> anyhow::Result<Vec<serde_json::Value>> {
        let url = format!("{}/api/v1/query?query={}", self.url, percent_encoded(expr));
        let reply = crate::http::get(&url).await?;
        let body: serde_json::Value = serde_json::from_str(&reply.body)?;
        anyhow::ensure!(body["status"] == "success", "Prometheus refused {expr}: {}", reply.body);
        Ok(body["data"]["result"].as_array().cloned().unwrap_or_default())
    }

    /// Wait until `expr` returns at least one series.
    pub async fn wait_for(&self, expr: &str, timeout: Duration) -> anyhow::Result<Vec<serde_json::Value>> {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.query(expr).await?;
            if !result.is_empty() {
                return Ok(result);
            }
            anyhow::ensure!(Instant::now() < deadline, "no series for {expr} within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// A query parameter's value with everything but unreserved characters escaped.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Run promtool with `args` in `dir`; its output, or an error with it.
pub fn promtool(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = std::process::Command::new("promtool").args(args).current_dir(dir).output()?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    anyhow::ensure!(out.status.success(), "promtool {}: {text}", args.join(" "));
    Ok(text)
}
