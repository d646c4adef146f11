//! A `battlescope up` process for a test, on a free port, stopped (SIGKILL) when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Options for one host process.
pub struct HostOptions {
    pub manifest: PathBuf,
    pub env: Vec<(String, String)>,
    pub extra_args: Vec<String>,
    /// Fresh databases are named `<prefix><service>`.
    pub database_prefix: String,
    /// The Postgres server they are made on (the stack's, unless a test says otherwise).
    pub database_url: String,
    pub state_dir: PathBuf,
    /// `text`, or `json` for a test that reads the log's fields.
    pub log_format: &'static str,
}

impl HostOptions {
    pub fn new(manifest: &Path, test: &str, state_dir: &Path) -> Self {
        Self {
            manifest: manifest.to_path_buf(),
            env: Vec::new(),
            extra_args: Vec::new(),
            database_prefix: crate::unique_prefix(test),
            database_url: crate::postgres_admin_url(),
            state_dir: state_dir.to_path_buf(),
            log_format: "text",
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn json_logs(mut self) -> Self {
        self.log_format = "json";
        self
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.extra_args.push(arg.to_string());
        self
    }

    fn command(&self, subcommand: &str) -> Command {
        let mut cmd = Command::new(crate::host_binary());
        cmd.arg(subcommand)
            .arg("--from")
            .arg(&self.manifest)
            .arg("--state-dir")
            .arg(&self.state_dir)
            .arg("--cache-dir")
            .arg(crate::repo_root().join("target/test-compiled-cache"))
            .arg("--log-format")
            .arg(self.log_format)
            .args(&self.extra_args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }
}

/// A running host.
pub struct Host {
    pub base_url: String,
    child: Child,
    log: PathBuf,
    pub options_prefix: String,
}

impl Host {
    /// Start `battlescope up` and wait until its readiness endpoint answers.
    pub async fn start(options: HostOptions) -> anyhow::Result<Self> {
        Self::start_until(options, "ready").await
    }

    /// Start `battlescope up` and wait only until it serves HTTP (its health endpoint), for
    /// tests of a host that is not ready yet.
    pub async fn start_serving(options: HostOptions) -> anyhow::Result<Self> {
        Self::start_until(options, "health").await
    }

    async fn start_until(options: HostOptions, endpoint: &str) -> anyhow::Result<Self> {
        let port = crate::free_port();
        let log = options.state_dir.join(format!("host-{port}.log"));
        std::fs::create_dir_all(&options.state_dir)?;
        let file = std::fs::File::create(&log)?;
        let mut cmd = options.command("up");
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(&options.database_url)
            .arg("--database-prefix")
            .arg(&options.database_prefix)
            .stdout(file.try_clone()?)
            .stderr(file);
        let child = cmd.spawn()?;
        let mut host =
            Self { base_url: format!("http://127.0.0.1:{port}"), child, log, options_prefix: options.database_prefix.clone() };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = host.child.try_wait()? {
                anyhow::bail!("host exited with {status} before it was ready:\n{}", host.log_text());
            }
            if let Ok(r) = crate::http::get(&format!("{}/.well-known/battlescope/{endpoint}", host.base_url)).await {
                if r.status == 200 {
                    return Ok(host);
                }
            }
            if Instant::now() > deadline {
                anyhow::bail!("host's {endpoint} endpoint not answering 200 after 120 s:\n{}", host.log_text());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// The host's Prometheus text now (read it with `crate::metrics_text`).
    pub async fn metrics(&self) -> String {
        crate::http::get(&self.url("/.well-known/battlescope/metrics")).await.expect("the host's metrics").body
    }

    /// The process id (for its memory, say).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Resident memory of the process, in KiB (Linux).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()
    }

    /// The most resident memory the process has had, in KiB (Linux's high-water mark).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?.trim().trim_end_matches("kB").trim().parse().ok()
    }

    /// Everything the host logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGKILL, keeping the value (to replace it with a restarted host).
    pub async fn kill_in_place(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Shut down as an operator would (SIGTERM: it leaves its consumer groups, so a successor
    /// is given the partitions without waiting out a session), keeping the value.
    pub async fn stop_in_place(&mut self) {
        terminate(&mut self.child).await;
    }
}

/// SIGTERM, and wait until the process has exited (SIGKILL after 30 s).
pub async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
    }
    if tokio::time::timeout(Duration::from_secs(30), child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

/// Run a host subcommand to completion: exit success and everything it printed.
pub async fn run_to_exit(options: &HostOptions, subcommand: &str) -> anyhow::Result<(bool, String)> {
    let mut cmd = options.command(subcommand);
    if subcommand == "up" {
        cmd.arg("--database-url").arg(&options.database_url);
        cmd.arg("--database-prefix").arg(&options.database_prefix);
        cmd.arg("--listen").arg(format!("127.0.0.1:{}", crate::free_port()));
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output()).await??;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    Ok((out.status.success(), text))
}
