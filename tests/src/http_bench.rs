//! The HTTP benchmark's component (`tests/components/http-bench`, WASI imports only) served two
//! ways: by the battlescope host and by `wasmtime serve`, wasmtime's own CLI (the reference host
//! a user could pick instead; `scripts/stack.sh` installs it from PyPI).

use crate::host::{Host, HostOptions};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// A manifest that serves the component at every path.
pub fn write_manifest(dir: &Path) -> PathBuf {
    let manifest = format!(
        "spin_manifest_version = 2\n[application]\nname = \"http-bench\"\n\n[[trigger.http]]\nroute = \"/...\"\n\
         component = \"bench\"\n\n[component.bench]\nsource = \"{}\"\n",
        crate::wasm("http_bench").display()
    );
    let path = dir.join("spin.toml");
    std::fs::write(&path, manifest).expect("writing the benchmark's manifest");
    path
}

/// The component on the battlescope host. The app has no database, so the host is given a
/// Postgres address nothing listens on: it must start without one.
pub async fn on_our_host(dir: &Path) -> anyhow::Result<Host> {
    let mut options = HostOptions::new(&write_manifest(dir), "httpbench", &dir.join("state")).env("BATTLESCOPE_LOG", "warn");
    options.database_url = format!("postgres://postgres@127.0.0.1:{}/postgres", crate::free_port());
    Host::start(options).await
}

/// The component on `wasmtime serve`, stopped when dropped.
pub struct WasmtimeServe {
    pub base_url: String,
    _child: Child,
}

impl WasmtimeServe {
    /// `wasmtime serve` as it comes: no time limit on a request.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(&[]).await
    }

    /// With a time limit per request (`-W timeout`, epoch interruption), as our host always has.
    pub async fn start_with_deadline() -> anyhow::Result<Self> {
        Self::start_with(&["-Wtimeout=30s"]).await
    }

    async fn start_with(options: &[&str]) -> anyhow::Result<Self> {
        let port = crate::free_port();
        let child = Command::new(crate::installed_tool("wasmtime/wasmtime_cli/wasmtime"))
            .args(["serve", "-Scli", "--addr", &format!("127.0.0.1:{port}")])
            .args(options)
            .arg(crate::wasm("http_bench"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let serve = Self { base_url: format!("http://127.0.0.1:{port}"), _child: child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while crate::http::get(&serve.url("/hello")).await.map(|r| r.status).ok() != Some(200) {
            anyhow::ensure!(Instant::now() < deadline, "wasmtime serve did not answer within 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(serve)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}
