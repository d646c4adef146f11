//! Postgres and Redis servers of a test's own, on free ports, that the test may restart
//! without disturbing the shared dev stack other tests use.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Where Debian's Postgres 15 binaries are (`scripts/stack.sh` installs them).
fn postgres_bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("BATTLESCOPE_PG_BIN").map(PathBuf::from).unwrap_or_else(|| "/usr/lib/postgresql/15/bin".into());
    dir.join(name)
}

/// Postgres refuses to run as root: as root, its commands run as the `postgres` user.
fn as_postgres_user(program: &Path) -> Command {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    cmd
}

/// A Postgres cluster in a folder of its own.
pub struct PrivatePostgres {
    pub port: u16,
    dir: PathBuf,
    server: Option<Child>,
}

impl PrivatePostgres {
    /// `initdb` a cluster (trust authentication, user `postgres`) and start it.
    pub async fn start() -> anyhow::Result<Self> {
        // Not under a test's temporary folder: that one is root's alone (0700), and the
        // `postgres` user must be able to enter this one.
        let dir = std::env::temp_dir().join(format!("battlescope-pg-{}-{}", std::process::id(), crate::free_port()));
        std::fs::create_dir_all(&dir)?;
        let status = Command::new("chown").arg("postgres:postgres").arg(&dir).status().await;
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("could not give {} to the postgres user; initdb runs as this user", dir.display());
        }
        let out = as_postgres_user(&postgres_bin("initdb"))
            .args(["--auth=trust", "--username=postgres", "--no-sync", "--encoding=UTF8", "-D"])
            .arg(&dir)
            .output()
            .await?;
        anyhow::ensure!(out.status.success(), "initdb {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
        let mut pg = Self { port: crate::free_port(), dir, server: None };
        pg.launch().await?;
        Ok(pg)
    }

    /// The admin URL (database `postgres`).
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let server = as_postgres_user(&postgres_bin("postgres"))
            .arg("-D")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="])
            // Durability against the process dying is all a restart needs; the OS keeps the
            // page cache.
            .args(["-c", "fsync=off", "-c", "max_connections=300"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        self.server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(60);
        // Listening comes before crash recovery ends: wait for a session.
        while tokio_postgres::connect(&self.admin_url(), tokio_postgres::NoTls).await.is_err() {
            anyhow::ensure!(Instant::now() < deadline, "postgres on port {} took over 60 s to accept sessions", self.port);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Stop the server the way a crash does (immediate shutdown: no checkpoint, every session
    /// cut) and start it again after `down`; it recovers from its write-ahead log.
    pub async fn restart(&mut self, down: Duration) -> anyhow::Result<()> {
        self.stop_immediately().await;
        tokio::time::sleep(down).await;
        self.launch().await
    }

    async fn stop_immediately(&mut self) {
        if let Some(mut server) = self.server.take() {
            self.signal_postmaster("-QUIT");
            if tokio::time::timeout(Duration::from_secs(20), server.wait()).await.is_err() {
                self.signal_postmaster("-KILL");
                let _ = server.kill().await;
            }
        }
    }

    /// Signal the postmaster itself (the child this test spawned may be `runuser`, which need
    /// not pass signals on). SIGQUIT is Postgres' immediate shutdown.
    fn signal_postmaster(&self, signal: &str) {
        let pid_file = std::fs::read_to_string(self.dir.join("postmaster.pid")).unwrap_or_default();
        if let Some(pid) = pid_file.lines().next().filter(|p| p.parse::<u32>().is_ok()) {
            let _ = std::process::Command::new("kill").args([signal, pid]).status();
        }
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        self.signal_postmaster("-QUIT");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis server without persistence: a restart loses everything it held, as a cache's
/// restart in production would.
pub struct PrivateRedis {
    pub port: u16,
    server: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> anyhow::Result<Self> {
        let mut redis = Self { port: crate::free_port(), server: None };
        redis.launch().await?;
        Ok(redis)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        let server = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        self.server = Some(server);
        crate::wait_listening("redis-server", &format!("127.0.0.1:{}", self.port), Duration::from_secs(20)).await
    }

    /// SIGKILL the server and start an empty one on the same port after `down`.
    pub async fn restart(&mut self, down: Duration) -> anyhow::Result<()> {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill().await;
        }
        tokio::time::sleep(down).await;
        self.launch().await
    }
}
