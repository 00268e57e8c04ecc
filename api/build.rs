//! Build steps: the gRPC server and client from `proto/kspm/v1/*.proto` (never committed; protoc
//! comes from the `protoc-bin-vendored` crate unless `PROTOC` names another one), and
//! cytoscape.js from npm (`web/package-lock.json`) for the HTML report, embedded in the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn protos(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    }
    let proto = "../proto/kspm/v1/posture.proto";
    println!("cargo:rerun-if-changed={proto}");
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("kspm_descriptor.bin"))
        .compile_protos(&[proto], &["../proto"])?;
    Ok(())
}

fn cytoscape(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let web = PathBuf::from("../web");
    let lib = web.join("node_modules/cytoscape/dist/cytoscape.min.js");
    println!("cargo:rerun-if-changed=../web/package-lock.json");
    println!("cargo:rerun-if-changed={}", lib.display());
    if !lib.exists() {
        // A fresh clone: install the pinned front-end packages (npm registry).
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error", "--prefix"])
            .arg(&web)
            .status()
            .map_err(|e| format!("cannot run npm to install web/ (cytoscape.js for the HTML report): {e}; install Node.js and npm"))?;
        if !status.success() || !lib.exists() {
            return Err(
                "`npm ci --prefix web` failed: cytoscape.js is needed for the HTML report".into(),
            );
        }
    }
    std::fs::copy(&lib, out.join("cytoscape.min.js"))?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    protos(&out)?;
    cytoscape(&out)?;
    Ok(())
}
