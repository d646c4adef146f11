//! Embeds the bundled pages (`ui/dist/`, made by `make web-ui` from `ui/src/` with esbuild)
//! into the component: each file with its content type, a strong ETag (a digest of its
//! bytes) and a gzip copy made here, so serving never compresses or hashes.

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        other => panic!("ui/dist/: no content type known for {path:?} ({other:?}); add it to build.rs"),
    }
}

fn main() {
    let assets = Path::new("ui/dist");
    println!("cargo:rerun-if-changed=ui/dist");
    if !assets.join("app.js").is_file() {
        panic!("components/web/ui/dist/app.js is missing: the pages are bundled by `make web-ui` (npm ci, then esbuild) before the web component builds");
    }
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut paths: Vec<_> =
        std::fs::read_dir(assets).expect("components/web/ui/dist").map(|e| e.expect("an asset").path()).collect();
    paths.sort();
    let mut table = String::from("pub static ASSETS: &[Asset] = &[\n");
    for path in paths.iter().filter(|p| p.is_file()) {
        let name = path.file_name().and_then(|n| n.to_str()).expect("a UTF-8 asset name");
        let bytes = std::fs::read(path).expect("reading an asset");
        let digest = Sha256::digest(&bytes);
        let etag: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&bytes).expect("compressing in memory");
        let gzip_path = out.join(format!("{name}.gz"));
        std::fs::write(&gzip_path, gz.finish().expect("compressing in memory")).expect("writing the gzip copy");
        // The bytes read here are the ones embedded (not the file, which a rebuild of the
        // pages may have changed since), so the body, its ETag and its gzip copy agree.
        let source = out.join(name);
        std::fs::write(&source, &bytes).expect("copying the asset");
        table.push_str(&format!(
            "    Asset {{ name: {name:?}, content_type: {:?}, etag: \"\\\"{etag}\\\"\", body: include_bytes!({:?}), gzip: include_bytes!({:?}) }},\n",
            content_type(path),
            source.display().to_string(),
            gzip_path.display().to_string(),
        ));
    }
    table.push_str("];\n");
    std::fs::write(out.join("assets.rs"), table).expect("writing the asset table");
}
