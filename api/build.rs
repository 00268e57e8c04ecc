//! Generates the gRPC server and client from `proto/kspm/v1/*.proto` (never committed). protoc
//! comes from the `protoc-bin-vendored` crate unless `PROTOC` names another one.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("PROTOC").is_none() {
        std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    }
    let proto = "../proto/kspm/v1/posture.proto";
    println!("cargo:rerun-if-changed={proto}");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("kspm_descriptor.bin"))
        .compile_protos(&[proto], &["../proto"])?;
    Ok(())
}
