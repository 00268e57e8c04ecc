//! Secret values never leave the loader: a unique canary placed in every field of a Secret that
//! can carry a value (and in a malformed Secret) appears in no output format and no log line.

mod common;

use common::{kspm_env, write_malformed_secrets};
use std::fs;

const CANARY: &str = "kspm-canary-7f3e9a1c5b2d4e60";

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn canary_appears_in_no_output_and_no_log() {
    let encoded = base64(CANARY.as_bytes());
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("cluster");
    fs::create_dir_all(&dir).expect("mkdir");
    let last_applied = format!(
        r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"db"}},"stringData":{{"password":"{CANARY}"}}}}"#
    );
    fs::write(
        dir.join("secrets.yaml"),
        format!(
            r#"apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata:
    name: db
    namespace: shop
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: '{last_applied}'
  type: Opaque
  data:
    password: {encoded}
  stringData:
    plain: {CANARY}
"#
        ),
    )
    .expect("write");
    fs::write(
        dir.join("secret.json"),
        format!(
            r#"{{"apiVersion":"v1","kind":"Secret","metadata":{{"name":"j","namespace":"shop"}},"type":"kubernetes.io/tls","data":{{"tls.key":"{encoded}"}}}}"#
        ),
    )
    .expect("write");
    // Malformed: the parser fails after reading the value.
    fs::write(
        dir.join("broken-secret.yaml"),
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: broken\nstringData:\n  key: {CANARY}\n  bad: [\n"),
    )
    .expect("write");
    // Parses, but is not an object: scrubbed before the error is built.
    fs::write(
        dir.join("kindless.yaml"),
        format!("apiVersion: v1\nstringData:\n  key: {CANARY}\n"),
    )
    .expect("write");
    // A privileged pod so that every format has findings to print.
    fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, securityContext: {privileged: true}}]}\n",
    )
    .expect("write");

    let path = dir.to_str().expect("utf8");
    let report_file = tmp.path().join("report.out");
    for format in ["table", "json", "sarif"] {
        for output in [None, Some(report_file.to_str().expect("utf8"))] {
            let mut args = vec!["-vvv", "scan", path, "--format", format];
            if let Some(o) = output {
                args.extend(["--output", o]);
            }
            let out = kspm_env(&args, &[("RUST_LOG", "trace")]);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{format}: {stderr}");
            for text in [&stdout, &stderr] {
                assert!(!text.contains(CANARY), "{format}: canary leaked:\n{text}");
                assert!(
                    !text.contains(&encoded),
                    "{format}: encoded canary leaked:\n{text}"
                );
            }
            assert!(!stderr.is_empty(), "trace logging produced nothing");
            if output.is_some() {
                let written = fs::read_to_string(&report_file).expect("report");
                assert!(!written.contains(CANARY) && !written.contains(&encoded));
                assert!(written.contains("KSPM-W-001"));
            } else {
                assert!(stdout.contains("KSPM-W-001"), "{format}: findings missing");
            }
        }
    }
    // The errors for the two malformed files are still reported.
    let out = kspm_env(&["scan", path, "--format", "json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let files: Vec<String> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["file"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        files.iter().any(|f| f.ends_with("broken-secret.yaml")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.ends_with("kindless.yaml")),
        "{files:?}"
    );
    assert_eq!(v["clusters"][0]["kinds"]["Secret"], 2);
}

/// Malformed Secrets (type tags, wrong types, bad base64, duplicate keys, anchors, broken JSON)
/// leak nothing through parse errors or aliases, in any output of any command.
#[test]
fn malformed_secrets_leak_through_no_error_message() {
    const CANARY2: &str = "kspmcanary4d1b7e0a9c";
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("cluster");
    fs::create_dir_all(&dir).expect("mkdir");
    let written = write_malformed_secrets(&dir, CANARY2);
    fs::write(
        dir.join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\nspec: {containers: [{name: c, securityContext: {privileged: true}}]}\n",
    )
    .expect("write");
    let path = dir.to_str().expect("utf8");
    let html = tmp.path().join("report.html");
    let runs: Vec<Vec<&str>> = vec![
        vec!["-vvv", "scan", path],
        vec!["scan", path, "--format", "json"],
        vec!["scan", path, "--format", "sarif"],
        vec![
            "scan",
            path,
            "--format",
            "html",
            "--output",
            html.to_str().expect("utf8"),
        ],
        vec!["pss", path, "--level", "restricted"],
        vec!["pss", path, "--level", "baseline", "--format", "json"],
        vec!["query", "reach", path, "--from", "Deployment:shop/none"],
        vec!["who-can", "get", "secrets", path],
        vec!["can-i", "get", "secrets", path, "--as", "alice"],
        vec!["compliance", "--framework", "nsa-cisa", path],
    ];
    let mut json_errors = 0;
    for args in &runs {
        let out = kspm_env(args, &[("RUST_LOG", "trace")]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for text in [&stdout, &stderr] {
            assert!(!text.contains(CANARY2), "{args:?}: canary leaked:\n{text}");
        }
        if args[..] == ["scan", path, "--format", "json"] {
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            json_errors = v["errors"].as_array().map_or(0, Vec::len);
            // The anchored Secrets are read (values dropped, copies redacted), not lost.
            assert!(
                v["clusters"][0]["kinds"]["Secret"].as_u64().unwrap_or(0) >= 3,
                "{}",
                v["clusters"][0]["kinds"]
            );
        }
    }
    let page = fs::read_to_string(&html).expect("html");
    assert!(!page.contains(CANARY2), "html leaked");
    // The explorer's graph travels deflated: read it too.
    let start = page
        .find(r#""graph_deflated":""#)
        .expect("the explorer's graph")
        + 18;
    let end = start + page[start..].find('"').expect("closed");
    let graph = kspm_api::html::inflated(&page[start..end]).expect("inflates");
    assert!(graph.contains("\"nodes\""), "{graph}");
    assert!(!graph.contains(CANARY2), "the explorer's graph leaked");
    // Every file that could not be read is still named in the report.
    assert!(
        json_errors >= written - 8,
        "{json_errors} errors for {written} files"
    );
}

#[test]
fn base64_helper_is_right() {
    assert_eq!(base64(b"Man"), "TWFu");
    assert_eq!(base64(b"Ma"), "TWE=");
    assert_eq!(base64(b"M"), "TQ==");
}
