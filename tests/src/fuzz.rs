//! schemathesis (installed by `scripts/stack.sh`) against one of the OpenAPI documents in
//! `openapi/`, on a running host: generated requests, valid and not, must get no server error
//! and only responses their document describes.

use std::process::Stdio;
use tokio::process::Command;

/// What schemathesis checks on every response.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";

/// Run schemathesis on `openapi/<api>.json` against `base_url`, `examples` cases per
/// operation, with the API token on every request. Ok with the report, or Err with it.
pub async fn run(api: &str, base_url: &str, token: &str, examples: u32) -> Result<String, String> {
    let tools = crate::installed_tool("schemathesis/bin/st");
    let library = tools.parent().and_then(|bin| bin.parent()).expect("st lives in <target>/bin").to_path_buf();
    let document = crate::repo_root().join(format!("openapi/{api}.json"));
    let config = crate::repo_root().join("tests/fuzz/schemathesis.toml");
    let output = Command::new("python3")
        .arg(&tools)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &document.display().to_string(), "--url", base_url])
        .args(["--checks", CHECKS, "--max-examples", &examples.to_string(), "--seed", "20211128"])
        .args(["--workers", "1", "--request-timeout", "15", "--suppress-health-check", "all"])
        .args(["--generation-database", "none", "--no-color", "--max-failures", "20"])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .env("PYTHONPATH", &library)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("running schemathesis: {e}"))?;
    let report = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    if output.status.success() {
        Ok(report)
    } else {
        Err(format!("schemathesis on openapi/{api}.json failed ({}):\n{report}", output.status))
    }
}
