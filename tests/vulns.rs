//! `kspm scan --vulns/--kev`: image vulnerability reports on the exploit hop, findings'
//! `vulnerabilities`, KSPM-I-007, and bad input; OCSF output against the OCSF schema; SARIF
//! attack paths as code flows.

mod common;

use common::{kspm, repo};
use serde_json::Value;
use std::fs;

fn fixture(rel: &str) -> String {
    repo()
        .join("tests/fixtures/vulns")
        .join(rel)
        .to_str()
        .expect("utf8")
        .to_string()
}

fn scan(extra: &[&str]) -> (Value, std::process::Output) {
    let cluster = fixture("cluster/cluster.yaml");
    let mut args = vec!["scan", "--format", "json", cluster.as_str()];
    args.extend_from_slice(extra);
    let out = kspm(&args);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

fn findings<'v>(v: &'v Value, check: &str) -> Vec<&'v Value> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// The score of the best path from the internet through the web workload's exploit hop.
fn internet_score(v: &Value) -> f64 {
    v["attack_paths"]
        .as_array()
        .expect("paths")
        .iter()
        .filter(|p| p["source"] == "Internet" && p["target"] == "ClusterAdmin")
        .filter_map(|p| p["score"].as_f64())
        .fold(0.0, f64::max)
}

fn exploit_step(v: &Value) -> Value {
    v["attack_paths"]
        .as_array()
        .expect("paths")
        .iter()
        .filter(|p| p["source"] == "Internet")
        .flat_map(|p| p["steps"].as_array().expect("steps").iter())
        .find(|s| s["technique"] == "ENDPOINT_EXPLOIT" && s["to"] == "Deployment:shop/web")
        .cloned()
        .expect("exploit hop into web")
}

#[test]
fn reports_weigh_the_exploit_hop_and_findings_carry_what_images_have() {
    let (plain, out) = scan(&[]);
    assert!(out.status.success());
    let reports = fixture("reports");
    let kev = fixture("kev.json");
    let (v, out) = scan(&["--vulns", &reports, "--kev", &kev]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        v["errors"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v["errors"]
    );
    // Without reports the hop is the assumed 0.6; a known-exploited network flaw makes it 0.95.
    let (before, after) = (internet_score(&plain), internet_score(&v));
    assert!(after > before, "score {before} → {after}");
    assert!(
        (after / before - 0.95 / 0.6).abs() < 0.02,
        "{before} → {after}"
    );
    let step = exploit_step(&v);
    let evidence = step["evidence"].as_str().expect("evidence");
    assert!(
        evidence.contains("CVE-2021-44228") && evidence.contains("known exploited"),
        "{evidence}"
    );
    assert!(evidence.contains("matched by reference"), "{evidence}");
    assert!(!exploit_step(&plain)["evidence"]
        .as_str()
        .expect("e")
        .contains("CVE"));
    // KSPM-I-007: critical where the internet reaches the pods, high where it does not; the
    // message names what code execution in the web pods reaches.
    let i007 = findings(&v, "KSPM-I-007");
    let web = i007
        .iter()
        .find(|f| f["resource"] == "Deployment:shop/web")
        .expect("web");
    assert_eq!(web["severity"], "critical");
    let msg = web["message"].as_str().expect("message");
    assert!(
        msg.contains("the internet reaches") && msg.contains("ClusterAdmin"),
        "{msg}"
    );
    let worker = i007
        .iter()
        .find(|f| f["resource"] == "Deployment:shop/worker")
        .expect("worker");
    assert_eq!(worker["severity"], "high");
    assert!(worker["message"]
        .as_str()
        .expect("m")
        .contains("CVE-2022-22965"));
    // Every finding on the workloads lists what their containers carry.
    let on_web = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["resource"] == "Deployment:shop/web")
        .collect::<Vec<_>>();
    assert!(on_web.len() > 1);
    for f in on_web {
        let c = &f["vulnerabilities"][0];
        assert_eq!(
            (c["container"].as_str(), c["matched_by"].as_str()),
            (Some("web"), Some("reference"))
        );
        assert_eq!(c["known_exploited"][0], "CVE-2021-44228");
    }
    // Nothing of the reports' secret-scanner results enters the report.
    for format in ["json", "sarif", "ocsf", "table"] {
        let cluster = fixture("cluster/cluster.yaml");
        let out = kspm(&[
            "scan", "-f", format, &cluster, "--vulns", &reports, "--kev", &kev,
        ]);
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("kspm-canary"),
            "{format} leaks the secret scanner's match"
        );
    }
}

#[test]
fn without_known_exploited_data_the_check_is_not_assessed_and_other_images_keep_the_default() {
    let web = fixture("reports/web.trivy.json");
    let (v, out) = scan(&["--vulns", &web]);
    assert!(out.status.success());
    assert!(findings(&v, "KSPM-I-007").is_empty());
    let skipped = v["compliance"]
        .as_array()
        .expect("compliance")
        .iter()
        .flat_map(|c| c["controls"].as_array().into_iter().flatten())
        .filter(|c| {
            c["checks"]
                .as_array()
                .is_some_and(|k| k.iter().any(|x| x == "KSPM-I-007"))
        })
        .filter_map(|c| c["reason"].as_str())
        .collect::<Vec<_>>();
    assert!(
        skipped
            .iter()
            .any(|r| r.contains("no known-exploited data")),
        "{skipped:?}"
    );
    // The critical network flaw still weighs the hop (0.85), without KEV.
    let (plain, _) = scan(&[]);
    assert!((internet_score(&v) / internet_score(&plain) - 0.85 / 0.6).abs() < 0.02);
    // No report at all: the check says so.
    let reason = plain["compliance"]
        .as_array()
        .expect("compliance")
        .iter()
        .flat_map(|c| c["controls"].as_array().into_iter().flatten())
        .filter_map(|c| c["reason"].as_str())
        .find(|r| r.contains("--vulns"));
    assert!(reason.is_some());
}

#[test]
fn bad_reports_are_named_with_their_line_and_the_rest_is_read() {
    let dir = tempfile::tempdir().expect("tmp");
    fs::copy(
        fixture("reports/worker.grype.json"),
        dir.path().join("worker.json"),
    )
    .expect("copy");
    fs::write(
        dir.path().join("broken.json"),
        "{\n  \"SchemaVersion\": 2,\n  \"ArtifactName\": oops\n}\n",
    )
    .expect("write");
    fs::write(dir.path().join("old.json"), "[{\"Target\": \"x\"}]").expect("write");
    fs::write(dir.path().join("notes.txt"), "not a report").expect("write");
    let d = dir.path().to_str().expect("utf8");
    let (v, out) = scan(&["--vulns", d]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let errors = v["errors"].as_array().expect("errors");
    let broken = errors
        .iter()
        .find(|e| {
            e["file"]
                .as_str()
                .is_some_and(|f| f.ends_with("broken.json"))
        })
        .expect("broken.json named");
    assert_eq!(broken["line"], 3);
    assert!(errors.iter().any(
        |e| e["file"].as_str().is_some_and(|f| f.ends_with("old.json"))
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("before SchemaVersion 2"))
    ));
    // The good report was read: Grype's own KEV flag makes the worker a finding.
    assert_eq!(findings(&v, "KSPM-I-007").len(), 1);
    // Reading nothing is an error, not a pass.
    let empty = tempfile::tempdir().expect("tmp");
    let cluster = fixture("cluster/cluster.yaml");
    let out = kspm(&[
        "scan",
        &cluster,
        "--vulns",
        empty.path().to_str().expect("utf8"),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no vulnerability report could be read"));
    let out = kspm(&[
        "scan",
        &cluster,
        "--vulns",
        &fixture("reports"),
        "--kev",
        &fixture("cluster/cluster.yaml"),
    ]);
    assert!(
        !out.status.success(),
        "a --kev file that is no KEV catalogue fails the scan"
    );
}

#[test]
fn ocsf_events_validate_against_the_ocsf_schema() {
    let Ok(python) = std::env::var("KSPM_TEST_OCSF_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "KSPM_TEST_OCSF_PYTHON is not set: CI runs the tests through scripts/test, which installs the OCSF validator"
        );
        eprintln!("skipping: no OCSF validator (scripts/test installs it)");
        return;
    };
    let demo = repo().join("examples/demo-fleet");
    let out = kspm(&["scan", "-f", "ocsf", demo.to_str().expect("utf8")]);
    assert!(out.status.success());
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array");
    let classes: std::collections::BTreeSet<u64> = events
        .iter()
        .filter_map(|e| e["class_uid"].as_u64())
        .collect();
    assert_eq!(classes, [2003, 2004].into_iter().collect());
    // One event per finding and per reported path: none left out.
    let json = kspm(&["scan", "-f", "json", demo.to_str().expect("utf8")]);
    let report: Value = serde_json::from_slice(&json.stdout).expect("report");
    let count = |class: u64| events.iter().filter(|e| e["class_uid"] == class).count();
    assert_eq!(
        count(2003),
        report["findings"].as_array().map_or(0, Vec::len)
    );
    assert_eq!(
        count(2004),
        report["attack_paths"].as_array().map_or(0, Vec::len)
    );
    // Detection findings link the findings on their objects.
    assert!(events
        .iter()
        .any(|e| e["class_uid"] == 2004 && e["finding_info"]["related_events"].is_array()));
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("events.json");
    fs::write(&file, &out.stdout).expect("write");
    let validator = repo().join("tests/fixtures/ocsf/validate.py");
    let run = |path: &std::path::Path| {
        std::process::Command::new(&python)
            .arg(&validator)
            .arg(path)
            .arg("-q")
            .output()
            .expect("python runs")
    };
    let ok = run(&file);
    assert!(
        ok.status.success(),
        "OCSF validation failed:\n{}{}",
        String::from_utf8_lossy(&ok.stdout),
        String::from_utf8_lossy(&ok.stderr)
    );
    // The validator is not a rubber stamp: an event without finding_info fails.
    let mut broken = events[0].clone();
    broken
        .as_object_mut()
        .expect("object")
        .remove("finding_info");
    let bad = dir.path().join("bad.json");
    fs::write(&bad, serde_json::to_vec(&[broken]).expect("json")).expect("write");
    assert!(!run(&bad).status.success());
}

#[test]
fn sarif_shows_attack_paths_as_code_flows_through_the_manifests() {
    let cluster = fixture("cluster/cluster.yaml");
    let out = kspm(&["scan", "-f", "sarif", &cluster]);
    assert!(out.status.success());
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let (json, _) = scan(&[]);
    let paths = json["attack_paths"].as_array().expect("paths");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let flows: Vec<&Value> = results
        .iter()
        .filter(|r| r["ruleId"] == "KSPM-PATH")
        .collect();
    assert_eq!(flows.len(), paths.len());
    for (r, p) in flows.iter().zip(paths) {
        let hops = r["codeFlows"][0]["threadFlows"][0]["locations"]
            .as_array()
            .expect("thread flow");
        assert_eq!(hops.len(), p["nodes"].as_array().expect("nodes").len());
        for (i, h) in hops.iter().enumerate().skip(1) {
            let text = h["location"]["message"]["text"].as_str().expect("message");
            assert!(
                text.contains(p["steps"][i - 1]["technique"].as_str().expect("t")),
                "{text}"
            );
        }
    }
    // The internet → web path: the Service and the Deployment hops point at their lines.
    let web = flows
        .iter()
        .find(|r| {
            r["message"]["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("attack path Internet → ClusterAdmin"))
        })
        .expect("internet path");
    let located: Vec<(String, u64)> = web["codeFlows"][0]["threadFlows"][0]["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .filter_map(|h| {
            let p = &h["location"]["physicalLocation"];
            Some((
                p["artifactLocation"]["uri"].as_str()?.to_string(),
                p["region"]["startLine"].as_u64()?,
            ))
        })
        .collect();
    let text =
        fs::read_to_string(repo().join("tests/fixtures/vulns/cluster/cluster.yaml")).expect("read");
    // An object's line is its document's first (`apiVersion:`, just above `kind:`).
    let line_of = |kind: &str| text.lines().position(|l| l == kind).expect("line") as u64;
    assert!(
        located
            .iter()
            .any(|(u, l)| u.ends_with("cluster.yaml") && *l == line_of("kind: Service")),
        "{located:?}"
    );
    assert!(
        located
            .iter()
            .any(|(_, l)| *l == line_of("kind: Deployment")),
        "{located:?}"
    );
}
