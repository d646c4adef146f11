//! Support for the end-to-end tests: the real stack's addresses, fresh databases, free ports,
//! and a `battlescope` host process started on a manifest and stopped when dropped.

pub mod app;
pub mod battles;
pub mod broker;
pub mod browser;
pub mod chaos;
pub mod contract;
pub mod cpu_time;
pub mod events;
pub mod fuzz;
pub mod host;
pub mod http;
pub mod http_bench;
pub mod kafka;
pub mod link;
pub mod metrics_text;
pub mod otlp;
pub mod private;
pub mod probe;
pub mod prometheus;
pub mod redis_keys;
pub mod replay;
pub mod samples;
pub mod typesense;
pub mod ws;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// The `battlescope` binary the tests run (`make test` builds it first).
pub fn host_binary() -> PathBuf {
    std::env::var_os("BATTLESCOPE_BIN").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/debug/battlescope"))
}

/// A native command built beside the host (`make host` builds them).
pub fn tool_binary(name: &str) -> PathBuf {
    let path = host_binary().with_file_name(name);
    assert!(path.is_file(), "{} is missing: run `make host` first", path.display());
    path
}

/// A built component's `.wasm` (`make components` builds them).
pub fn wasm(name: &str) -> PathBuf {
    let dir = std::env::var_os("BATTLESCOPE_WASM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/wasm32-wasip2/release"));
    let path = dir.join(format!("{name}.wasm"));
    assert!(path.is_file(), "{} is missing: run `make components` first", path.display());
    path
}

/// A ruleset-filter plugin built for `wasm32-unknown-unknown` (`make components`), or with
/// `wasip2` the same crate built for `wasm32-wasip2`.
pub fn plugin_wasm(name: &str, wasip2: bool) -> PathBuf {
    if wasip2 {
        return wasm(name);
    }
    let wasip2_dir = wasm("probe").parent().expect("a wasm dir").to_path_buf();
    let path = wasip2_dir.join("../../wasm32-unknown-unknown/release").join(format!("{name}.wasm"));
    assert!(path.is_file(), "{} is missing: run `make components` first", path.display());
    path
}

/// A ruleset-filter plugin written in Python or JavaScript (`make language-plugins` builds
/// them beside the Rust ones: `capital_ships_python`, `capital_ships_js`).
pub fn language_plugin_wasm(name: &str) -> PathBuf {
    let wasip2_dir = wasm("probe").parent().expect("a wasm dir").to_path_buf();
    let path = wasip2_dir.join("../../language-plugins").join(format!("{name}.wasm"));
    assert!(path.is_file(), "{} is missing: run `make language-plugins` first", path.display());
    path
}

/// Postgres URL of the stack's admin database.
pub fn postgres_admin_url() -> String {
    std::env::var("BATTLESCOPE_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// `host:port` of the stack's Postgres.
pub fn postgres_host() -> String {
    let url = postgres_admin_url();
    let rest = url.split('@').nth(1).unwrap_or("127.0.0.1:5432/postgres");
    rest.split('/').next().unwrap_or("127.0.0.1:5432").to_string()
}

/// The stack's Redis.
pub fn redis_url() -> String {
    std::env::var("BATTLESCOPE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A database-name prefix no other test run uses, so every test gets fresh databases. It starts
/// with the process id (`t<pid>_`), so databases that an interrupted run left behind can be
/// told from those of a run still going ([`drop_orphans`]).
pub fn unique_prefix(test: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("t{}_{}_{}_{:x}_", std::process::id(), test, n, nanos)
}

/// The process that made a test database or search collection, from its name's prefix (see
/// [`unique_prefix`]).
fn owner_pid(name: &str) -> Option<u32> {
    // Topic names from `kafka::unique_topic` use dashes.
    let (pid, _) = name.strip_prefix('t')?.split_once(['_', '-'])?;
    pid.parse().ok()
}

/// Whether `name` was made by a test process that is gone.
fn orphaned(name: &str) -> bool {
    owner_pid(name).is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
}

/// Drop the databases, search collections, Kafka topics and Redis keys of test processes that
/// are gone; once per process. A run stopped with Ctrl-C, killed, or whose test panicked never
/// drops its own, and on the shared Typesense every collection left behind makes each snapshot
/// slower (the search indexer snapshots after creating its collections, and timed out once
/// enough had piled up).
pub async fn drop_orphans() {
    static DONE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    DONE.get_or_init(|| async {
        typesense::drop_collections(orphaned).await;
        kafka::delete_topics(&kafka::brokers(), orphaned).await;
        redis_keys::delete_keys(&redis_url(), "t[0-9]*:*", orphaned).await;
        let Ok((client, conn)) = tokio_postgres::connect(&postgres_admin_url(), tokio_postgres::NoTls).await else {
            return;
        };
        tokio::spawn(conn);
        let Ok(rows) = client.query("SELECT datname FROM pg_database WHERE datname ~ '^t[0-9]+_'", &[]).await else {
            return;
        };
        for row in rows {
            let name: String = row.get(0);
            if orphaned(&name) {
                let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
            }
        }
    })
    .await;
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("binding an ephemeral port")
}

/// Drop every database whose name starts with `prefix`.
pub async fn drop_databases(prefix: &str) {
    let Ok((client, conn)) = tokio_postgres::connect(&postgres_admin_url(), tokio_postgres::NoTls).await else {
        return;
    };
    tokio::spawn(conn);
    let pattern = format!("{prefix}%");
    if let Ok(rows) = client.query("SELECT datname FROM pg_database WHERE datname LIKE $1", &[&pattern]).await {
        for row in rows {
            let name: String = row.get(0);
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
        }
    }
}

/// A command-line tool `scripts/stack.sh` installs under the tools folder (`wasm-tools`).
pub fn installed_tool(relative: &str) -> PathBuf {
    let tools = std::env::var_os("BATTLESCOPE_TOOLS_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME is set")).join(".cache"));
        cache.join("battlescope/tools")
    });
    let path = tools.join(relative);
    assert!(path.is_file(), "{} is missing: run `scripts/stack.sh up` first", path.display());
    path
}

/// Wait until `address` accepts TCP connections (a server just started).
pub async fn wait_listening(what: &str, address: &str, timeout: Duration) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while tokio::net::TcpStream::connect(address).await.is_err() {
        anyhow::ensure!(Instant::now() < deadline, "{what} did not listen on {address} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Poll until `check` holds (something asynchronous caught up), or panic with what it saw.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let (started, mut reported) = (Instant::now(), Instant::now());
    loop {
        match check().await {
            Ok(()) => return,
            Err(last) if started.elapsed() > timeout => panic!("{what} did not happen within {timeout:?}: {last}"),
            Err(last) => {
                if reported.elapsed() > Duration::from_secs(10) {
                    eprintln!("waiting for {what} ({:.0} s): {last}", started.elapsed().as_secs_f64());
                    reported = Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(500)).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_database_names_the_process_that_made_it() {
        let prefix = unique_prefix("bench_growth");
        assert_eq!(owner_pid(&format!("{prefix}kafka_probe")), Some(std::process::id()));
        assert_eq!(owner_pid(&crate::kafka::unique_topic("bench_growth")), Some(std::process::id()));
        assert_eq!(owner_pid("template1"), None);
        assert_eq!(owner_pid("battlescope_battles"), None);
    }
}
