//! Typesense for the tests: the dev stack's shared server (each test under its own collection
//! prefix), or a private server a test may cut off (an outage) or restart; and the reindex
//! command run over a test's topics.

use crate::app::App;
use crate::link::Link;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The dev stack's Typesense.
pub fn shared_url() -> String {
    std::env::var("BATTLESCOPE_TYPESENSE_URL").unwrap_or_else(|_| "http://127.0.0.1:8108".into())
}

pub fn api_key() -> String {
    std::env::var("BATTLESCOPE_TYPESENSE_API_KEY").unwrap_or_else(|_| "battlescope-dev".into())
}

/// Delete the shared Typesense's aliases and collections whose names `doomed` picks; aliases
/// first, so no alias is left leading nowhere. Best effort: a test cleaning up must not fail.
pub async fn drop_collections(doomed: impl Fn(&str) -> bool) {
    let (base, key) = (shared_url(), api_key());
    let headers = [("x-typesense-api-key", key.as_str())];
    for list in ["aliases", "collections"] {
        let Ok(r) = crate::http::request_with_headers("GET", &format!("{base}/{list}"), "", &headers).await else { return };
        let body: serde_json::Value = serde_json::from_str(&r.body).unwrap_or_default();
        // GET /aliases answers {"aliases": [...]}, GET /collections a bare array.
        let items = if list == "aliases" { body["aliases"].clone() } else { body };
        for item in items.as_array().into_iter().flatten() {
            if let Some(name) = item["name"].as_str().filter(|n| doomed(n)) {
                let _ = crate::http::request_with_headers("DELETE", &format!("{base}/{list}/{name}"), "", &headers).await;
            }
        }
    }
}

/// A Typesense server of one test's own, on free ports, with its data in `dir`, reached through
/// a proxy the test can cut: to its clients, an outage (connections refused, open ones reset)
/// while Typesense keeps its data. It can also be restarted, which is not the same: 0.24.1 was
/// seen here to come back from a clean restart without documents it had acknowledged
/// (docs/search.md), which `make reindex` repairs.
pub struct PrivateTypesense {
    /// What clients use: the link's address.
    pub url: String,
    /// Typesense's own ports (API, peering): kept across restarts, as its Raft state names the
    /// node by its peering address.
    ports: (u16, u16),
    dir: PathBuf,
    child: Option<Child>,
    link: Link,
}

impl PrivateTypesense {
    pub async fn start(dir: &Path) -> Self {
        let ports = (crate::free_port(), crate::free_port());
        let link = Link::open(&format!("127.0.0.1:{}", ports.0)).await;
        let mut server =
            Self { url: format!("http://127.0.0.1:{}", link.port), ports, dir: dir.join("typesense"), child: None, link };
        server.run().await;
        server
    }

    /// Start the server and wait until it says it is healthy.
    async fn run(&mut self) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let binary = std::fs::read_to_string(crate::installed_tool("typesense/.path")).unwrap().trim().to_string();
        let log_path = self.dir.with_extension("log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).unwrap();
        let (port, peering_port) = self.ports;
        let child = Command::new(binary)
            .args(["--data-dir", &self.dir.display().to_string(), "--api-key", &api_key(), "--api-address", "127.0.0.1"])
            .args([
                "--api-port",
                &port.to_string(),
                "--peering-address",
                "127.0.0.1",
                "--peering-port",
                &peering_port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("starting Typesense");
        let child = self.child.insert(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = crate::http::get(&format!("http://127.0.0.1:{port}/health")).await {
                if r.status == 200 && r.body.contains("true") {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "Typesense on port {port} not healthy within 60 s");
            assert!(child.try_wait().unwrap().is_none(), "Typesense exited; see {}", log_path.display());
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stop the server (SIGTERM, waiting until it has exited) and start it again on the same
    /// ports and data.
    pub async fn restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            crate::host::terminate(&mut child).await;
        }
        self.run().await;
    }

    /// Cut clients off: new connections are refused, open ones reset.
    pub fn cut(&mut self) {
        self.link.cut();
    }

    /// Hang: clients connect and are read from, but nothing ever answers.
    pub async fn hang(&mut self) {
        self.link.hang().await;
    }

    /// Let clients through again.
    pub async fn restore(&mut self) {
        self.link.restore().await;
    }
}

/// Run `search-reindex` over `app`'s topics into the Typesense at `url` and return what it
/// said. Panics, with its words, if the reindex fails.
pub async fn reindex(app: &App, url: &str, snapshot_dir: &Path, extra: &[&str]) -> String {
    reindex_while(app, url, snapshot_dir, extra, None::<(&str, fn() -> std::future::Ready<()>)>).await
}

/// `reindex`, running `during`'s action once a line starting with its text appears (while the
/// reindex goes on).
pub async fn reindex_while<F, Fut>(app: &App, url: &str, snapshot_dir: &Path, extra: &[&str], during: Option<(&str, F)>) -> String
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let topics: Vec<String> = ["battle.created", "battle.updated", "battle.ended", "battle.removed"]
        .iter()
        .map(|t| format!("{}{t}", app.prefix))
        .chain([app.enriched_topic.clone(), crate::app::backfill_lane(&app.enriched_topic)])
        .collect();
    let mut child = Command::new(crate::tool_binary("search-reindex"))
        .args(["--typesense-url", url, "--prefix", &app.prefix, "--topics", &topics.join(",")])
        .args(["--brokers", &crate::kafka::brokers()])
        .args(extra)
        .env("SPIN_VARIABLE_TYPESENSE_API_KEY", api_key())
        .env("SPIN_VARIABLE_TYPESENSE_SNAPSHOT_DIR", snapshot_dir)
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("starting search-reindex");
    let mut lines = BufReader::new(child.stderr.take().expect("piped stderr")).lines();
    let (mut said, mut during) = (String::new(), during);
    while let Some(line) = lines.next_line().await.expect("reading the reindex's words") {
        said.push_str(&line);
        said.push('\n');
        if during.as_ref().is_some_and(|(marker, _)| line.starts_with(marker)) {
            let (_, action) = during.take().expect("checked above");
            action().await;
        }
    }
    let status = child.wait().await.expect("waiting for search-reindex");
    assert!(status.success(), "search-reindex failed ({status}):\n{said}");
    said
}
