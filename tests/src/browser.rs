//! The web UI in a real browser: `tests/browser/flows.mjs` drives Debian's chromium through
//! playwright-core (`make test` installs both) against a running host, and says which step
//! failed. Screenshots land in `target/browser/<name>/`, printed for the test's output.

use crate::repo_root;
use std::path::PathBuf;
use std::time::Duration;

/// Where a flow's screenshots go.
pub fn screenshots(name: &str) -> PathBuf {
    repo_root().join("target/browser").join(name)
}

/// Run `flow` of flows.mjs against `base_url` with its arguments; its output (the steps it
/// passed, the screenshots it wrote) is returned, a failure panics with it.
pub async fn run(flow: &str, base_url: &str, name: &str, args: &[&str], budget: Duration) -> String {
    let dir = repo_root().join("tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "tests/browser/node_modules is missing: `make browser-deps` (part of `make test`) installs playwright-core"
    );
    let out = screenshots(name);
    let mut command = tokio::process::Command::new("node");
    command.current_dir(&dir).arg("flows.mjs").arg(flow).arg(base_url).arg(&out).args(args).kill_on_drop(true);
    let output = tokio::time::timeout(budget, command.output())
        .await
        .unwrap_or_else(|_| panic!("the browser flow {flow} took longer than {budget:?}"))
        .unwrap_or_else(|e| panic!("cannot run node for the browser flow {flow}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("browser flow {flow}:\n{stdout}{stderr}");
    assert!(output.status.success(), "the browser flow {flow} failed ({}):\n{stdout}\n{stderr}", output.status);
    stdout
}
