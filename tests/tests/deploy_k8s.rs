//! The Kubernetes manifests in `deploy/k8s/` are what `battlescope deploy k8s` makes of
//! spin.toml today (nothing drifts), and every document in them is valid offline: core kinds
//! against Kubernetes' own schemas (kubernetes-validate, strict), the `SpinApp` against
//! SpinKube's CRD. The validator itself is shown to reject a broken document.

use battlescope_tests::{installed_tool, repo_root};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes version the manifests are written for.
const KUBERNETES: &str = "1.30.0";

fn committed_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("deploy/k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Run the validator over `files`: success and what it printed.
fn validate(files: &[PathBuf]) -> (bool, String) {
    let site = installed_tool("kubernetes-validate/.installed").parent().unwrap().to_path_buf();
    let out = Command::new("python3")
        .arg(repo_root().join("tests/deploy/validate_k8s.py"))
        .arg(repo_root().join("spin/spinkube-crds"))
        .arg(KUBERNETES)
        .args(files)
        .env("PYTHONPATH", site)
        .output()
        .expect("python3 runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn the_committed_manifests_are_what_deploy_k8s_generates() {
    let fresh = tempfile::tempdir().unwrap();
    let out = Command::new(battlescope_tests::host_binary())
        .args(["deploy", "k8s", "--from"])
        .arg(repo_root().join("spin.toml"))
        .arg("--out-dir")
        .arg(fresh.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut generated: Vec<PathBuf> = std::fs::read_dir(fresh.path()).unwrap().map(|e| e.unwrap().path()).collect();
    generated.sort();
    let names = |files: &[PathBuf]| files.iter().map(|p| name(p)).collect::<Vec<_>>();
    assert_eq!(names(&generated), names(&committed_files()), "run `make deploy` and commit deploy/k8s");
    for (fresh, committed) in generated.iter().zip(committed_files()) {
        let same = std::fs::read_to_string(fresh).unwrap() == std::fs::read_to_string(&committed).unwrap();
        assert!(same, "{} is stale: run `make deploy` and commit it", committed.display());
    }
}

#[test]
fn every_generated_document_is_valid_kubernetes() {
    let files = committed_files();
    let (ok, report) = validate(&files);
    assert!(ok, "{report}");
    for kind in
        ["SpinApp", "Deployment", "StatefulSet", "Service", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Secret"]
    {
        assert!(
            report.lines().any(|l| l.starts_with("valid ") && l.contains(&format!(" {kind} "))),
            "no valid {kind}:\n{report}"
        );
    }
}

#[test]
fn the_validator_rejects_broken_documents() {
    let dir = tempfile::tempdir().unwrap();
    let spin_app = std::fs::read_to_string(repo_root().join("deploy/k8s/spin-app.yaml")).unwrap();
    let broken = [
        // The CRD requires an executor and types replicas as an integer.
        ("spin-app.yaml", spin_app.replace("executor: containerd-shim-spin\n", "").replace("replicas: 2", "replicas: two")),
        ("deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replica: 1\n".to_string()),
        ("unknown.yaml", "apiVersion: example.org/v1\nkind: Gadget\nmetadata:\n  name: x\n".to_string()),
    ];
    for (file, text) in broken {
        let path = dir.path().join(file);
        std::fs::write(&path, text).unwrap();
        let (ok, report) = validate(&[path]);
        assert!(!ok && report.contains("INVALID"), "{file} passed:\n{report}");
    }
}
