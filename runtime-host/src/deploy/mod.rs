//! `battlescope deploy`: deployment files generated from the application's manifest, so they
//! cannot drift from it (a test compares the committed files with a fresh generation).

mod k8s;
mod spin;
mod yaml;

use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum DeployTarget {
    /// The Spin part: a manifest Spin 3.6 and SpinKube can load (HTTP and Redis components).
    Spin(SpinArgs),
    /// Kubernetes: the Spin part as a SpinApp, the host running the workers, the data stores,
    /// Secrets and an Ingress.
    K8s(K8sArgs),
}

#[derive(Debug, Args)]
pub struct SpinArgs {
    /// The application manifest.
    #[arg(long = "from", short = 'f', default_value = "spin.toml")]
    pub manifest: PathBuf,
    /// Where the Spin manifest is written.
    #[arg(long, default_value = "deploy/spin/spin.toml")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct K8sArgs {
    /// The application manifest.
    #[arg(long = "from", short = 'f', default_value = "spin.toml")]
    pub manifest: PathBuf,
    /// Where the manifests are written (one file per part).
    #[arg(long, default_value = "deploy/k8s")]
    pub out_dir: PathBuf,
    /// The host's image (built from deploy/Dockerfile).
    #[arg(long, default_value = "ghcr.io/battlescope/battlescope-host:0.1.0")]
    pub host_image: String,
    /// The Spin part's OCI artifact (`spin registry push ... -f deploy/spin/spin.toml`).
    #[arg(long, default_value = "ghcr.io/battlescope/battlescope-spin:0.1.0")]
    pub spin_image: String,
    /// The Ingress's host name.
    #[arg(long, default_value = "battlescope.example.org")]
    pub domain: String,
}

pub fn run(target: DeployTarget) -> anyhow::Result<()> {
    match target {
        DeployTarget::Spin(args) => spin_manifest(&args),
        DeployTarget::K8s(args) => k8s_manifests(&args),
    }
}

/// The manifest, validated as `up` would (a manifest this host refuses is deployed nowhere),
/// and its raw table.
fn read_app(manifest: &Path) -> anyhow::Result<(crate::manifest::LoadedManifest, toml::Table)> {
    let loaded = crate::manifest::load(manifest)?;
    let text = std::fs::read_to_string(manifest).with_context(|| format!("reading {}", manifest.display()))?;
    let app: toml::Table = text.parse().with_context(|| format!("{}: malformed manifest", manifest.display()))?;
    Ok((loaded, app))
}

fn k8s_manifests(args: &K8sArgs) -> anyhow::Result<()> {
    let (loaded, app) = read_app(&args.manifest)?;
    let spin_part = spin::spin_part(&app, ".").with_context(|| format!("{}: no Spin part", args.manifest.display()))?;
    let settings = k8s::K8sSettings {
        host_image: args.host_image.clone(),
        spin_image: args.spin_image.clone(),
        domain: args.domain.clone(),
    };
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("creating {}", args.out_dir.display()))?;
    for file in k8s::k8s_files(&loaded.manifest, &spin_part, &settings) {
        let path = args.out_dir.join(file.name);
        std::fs::write(&path, k8s::render(&file)).with_context(|| format!("writing {}", path.display()))?;
        println!("battlescope: wrote {} ({} objects)", path.display(), file.documents.len());
    }
    Ok(())
}

fn spin_manifest(args: &SpinArgs) -> anyhow::Result<()> {
    let (_, app) = read_app(&args.manifest)?;
    let out_dir = args.out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let app_dir = args.manifest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let to_app_dir = relative_path(out_dir, app_dir)?;
    let manifest =
        spin::spin_manifest(&app, &to_app_dir).with_context(|| format!("{}: no Spin manifest", args.manifest.display()))?;
    std::fs::write(&args.out, manifest).with_context(|| format!("writing {}", args.out.display()))?;
    println!("battlescope: wrote {} (the components Spin can run)", args.out.display());
    Ok(())
}

/// `to` as seen from `from` (both directories), with `/` separators.
fn relative_path(from: &Path, to: &Path) -> anyhow::Result<String> {
    let canonical = |p: &Path| p.canonicalize().with_context(|| format!("resolving {}", p.display()));
    let (from, to) = (canonical(from)?, canonical(to)?);
    let names = |p: &Path| {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let (from, to) = (names(&from), names(&to));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(to[common..].iter().cloned());
    Ok(if parts.is_empty() { ".".into() } else { parts.join("/") })
}
