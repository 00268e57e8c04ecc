//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `kspm` binary with `args`, no stdin, logging variables cleared.
pub fn kspm(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run kspm")
}

/// Environment variables that choose cloud credentials.
const CLOUD_CREDENTIAL_VARS: &[&str] = &[
    "GOOGLE_OAUTH_ACCESS_TOKEN",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GCE_METADATA_HOST",
    "GOOGLE_CLOUD_QUOTA_PROJECT",
    "AZURE_ACCESS_TOKEN",
    "AZURE_AKS_ACCESS_TOKEN",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
];

/// Runs `kspm` with extra environment variables (and none of the runner's cloud credentials).
pub fn kspm_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kspm"));
    cmd.args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null());
    // The runner's own cloud credentials never reach a test's kspm: a test gives its own.
    for var in CLOUD_CREDENTIAL_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run kspm")
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

/// Writes malformed Secrets into `dir`, each carrying `canary` as a value in a way that once made
/// a parser quote it or an alias copy it: YAML type tags, wrong types, invalid base64, duplicate
/// keys, anchors aliased into kept fields, broken JSON. Returns the number of files written.
pub fn write_malformed_secrets(dir: &Path, canary: &str) -> usize {
    let head = |name: &str| {
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: shop\n")
    };
    let files = [
        ("tag-int.yaml", format!("{}stringData:\n  password: !!int {canary}\n", head("tag-int"))),
        ("tag-float.yaml", format!("{}stringData:\n  password: !!float {canary}\n", head("tag-float"))),
        ("tag-bool.yaml", format!("{}data:\n  password: !!bool {canary}\n", head("tag-bool"))),
        ("tag-null.yaml", format!("{}data:\n  password: !!null {canary}\n", head("tag-null"))),
        ("tag-str-seq.yaml", format!("{}stringData: !!str [{canary}]\n", head("tag-str-seq"))),
        ("tag-map.yaml", format!("{}stringData: !!map {canary}\n", head("tag-map"))),
        ("tag-binary.yaml", format!("{}data:\n  password: !!binary {canary}\n", head("tag-binary"))),
        ("wrong-type.yaml", format!("{}data: {canary}\nstringData: [{canary}]\n", head("wrong-type"))),
        ("bad-base64.yaml", format!("{}data:\n  password: \"{canary}!!!\"\n", head("bad-base64"))),
        ("duplicate.yaml", format!("{}stringData:\n  password: {canary}\n  password: {canary}-2\n", head("duplicate"))),
        ("anchor.yaml", format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: anchor\n  namespace: shop\n  labels: {{copy: *v}}\n  annotations:\n    note: *v\nstringData:\n  password: &v {canary}\n")),
        ("anchor-first.yaml", format!("apiVersion: v1\nkind: Secret\nstringData:\n  password: &w {canary}\nmetadata:\n  name: *w\n  namespace: shop\n  labels: {{copy: *w}}\n")),
        ("list-tag.yaml", format!("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {{name: in-list, namespace: shop}}\n  stringData:\n    k: !!int {canary}\n")),
        ("block.yaml", format!("{}stringData:\n  k: |\n    {canary}\n  bad: [\n", head("block"))),
        ("flow.yaml", format!("{}stringData: {{k: {canary}, k: {canary}}}\n", head("flow"))),
        ("bad.json", format!("{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{{\"name\":\"j\",\"namespace\":\"shop\"}},\"data\":{{\"k\":{canary}}}}}")),
        ("bad-number.json", format!("{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{{\"name\":\"n\",\"namespace\":\"shop\"}},\"data\":{{\"k\":12{canary}}}}}")),
        ("ctrl.json", format!("{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{{\"name\":\"c\",\"namespace\":\"shop\"}},\"data\":{{\"k\":\"{canary}\u{1}\"}}}}")),
    ];
    for (f, text) in &files {
        fs::write(dir.join(f), text).expect("write");
    }
    files.len()
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    fs::write(&p, text).expect("write");
    p.to_string_lossy().into_owned()
}
