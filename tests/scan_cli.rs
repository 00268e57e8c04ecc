//! End-to-end tests of `kspm scan`: formats, schema, exit codes, bad input.

mod common;

use common::{copy_dir, kspm, repo};
use serde_json::Value;
use std::fs;

fn scan_json(args: &[&str]) -> (Value, std::process::Output) {
    let mut all = vec!["scan", "--format", "json"];
    all.extend_from_slice(args);
    let out = kspm(&all);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

fn validate(report: &Value) {
    let schema_text = fs::read_to_string(repo().join("docs/report.schema.json")).expect("schema");
    let schema: Value = serde_json::from_str(&schema_text).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "schema violations:\n{}",
        errors.join("\n")
    );
}

#[test]
fn small_cluster_json_matches_schema_and_findings() {
    let fixture = repo().join("tests/fixtures/small-cluster");
    let (v, out) = scan_json(&[fixture.to_str().expect("utf8")]);
    assert!(out.status.success());
    validate(&v);
    let findings: Vec<(&str, &str)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            f["severity"] == "critical" || f["severity"] == "high" || f["check"] == "KSPM-W-005"
        })
        .map(|f| {
            (
                f["check"].as_str().unwrap_or(""),
                f["resource"].as_str().unwrap_or(""),
            )
        })
        .collect();
    // The hardened deployment only has low-severity hardening gaps.
    assert!(v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .all(|f| f["resource"] != "Deployment:shop/web" || f["severity"] == "low"));
    assert_eq!(
        findings,
        vec![
            ("KSPM-W-001", "DaemonSet:logging/log-shipper"),
            ("KSPM-R-001", "ClusterRoleBinding:ci-admin"),
            ("KSPM-W-002", "DaemonSet:logging/log-shipper"),
            ("KSPM-W-005", "DaemonSet:logging/log-shipper"),
        ]
    );
    let cluster = &v["clusters"][0];
    assert_eq!(cluster["name"], "small");
    assert_eq!(cluster["unevaluated_kinds"]["Widget"], 1);
    assert_eq!(cluster["unevaluated_kinds"]["CustomResourceDefinition"], 1);
    let priv_finding = &v["findings"][0];
    assert_eq!(
        priv_finding["evidence"][0]["path"],
        "spec.template.spec.containers[0].securityContext.privileged"
    );
    assert!(priv_finding["source"]["file"]
        .as_str()
        .unwrap_or("")
        .ends_with("workloads.yaml"));
    assert!(priv_finding["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .any(|c| c["framework"] == "cis-kubernetes" && c["id"] == "5.2.2"));
    let cis = v["compliance"]
        .as_array()
        .expect("compliance")
        .iter()
        .find(|c| c["framework"] == "cis-kubernetes")
        .expect("cis summary");
    assert!(cis["controls_passed"].as_u64() < cis["controls_total"].as_u64());
}

#[test]
fn demo_fleet_json_matches_schema() {
    let (v, out) = scan_json(&[repo().join("examples/demo-fleet").to_str().expect("utf8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    validate(&v);
    assert_eq!(v["summary"]["clusters"], 3);
    assert_eq!(
        v["errors"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v["errors"]
    );
    let providers: Vec<&str> = v["clusters"]
        .as_array()
        .expect("clusters")
        .iter()
        .filter_map(|c| c["provider"].as_str())
        .collect();
    for p in ["eks", "gke", "aks"] {
        assert!(providers.contains(&p), "{providers:?}");
    }
    assert!(v["summary"]["findings"].as_u64().unwrap_or(0) > 5);
}

/// The JSON report reads back into the engine's types and renders again byte for byte: every
/// field the store, the gRPC conversion and the HTML view read is typed, not looked up by name.
/// Negative: a report missing a field the type requires is refused, not read as empty.
#[test]
fn the_json_report_reads_back_into_its_types_unchanged() {
    let out = kspm(&[
        "scan",
        repo().join("examples/demo-fleet").to_str().expect("utf8"),
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let report: kspm_engine::report::Report = serde_json::from_str(&text).expect("typed report");
    assert!(!report.findings.is_empty() && !report.attack_paths.is_empty());
    assert_eq!(kspm_engine::render::json::render(&report), text);
    let mut v: Value = serde_json::from_str(&text).expect("json");
    v["findings"][0]
        .as_object_mut()
        .expect("finding")
        .remove("check");
    let refused = serde_json::from_value::<kspm_engine::report::Report>(v);
    assert!(
        refused
            .as_ref()
            .is_err_and(|e| e.to_string().contains("check")),
        "{:?}",
        refused.map(|r| r.findings.len())
    );
}

#[test]
fn corrupt_file_is_reported_and_the_rest_is_scanned() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fleet = tmp.path().join("fleet");
    copy_dir(&repo().join("examples/demo-fleet"), &fleet);
    let (before, _) = scan_json(&[fleet.to_str().expect("utf8")]);
    // Corrupt one file of the first cluster: a broken flow sequence in the middle.
    let mut victims: Vec<_> = fs::read_dir(fleet.join("eks-prod-us-east-1"))
        .expect("cluster dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml") && !p.ends_with("kspm-cluster.yaml"))
        .collect();
    victims.sort();
    let victim = victims.first().expect("a yaml file");
    fs::write(victim, "apiVersion: v1\nkind: List\nitems: [\n  {broken\n").expect("corrupt");
    let (after, out) = scan_json(&[fleet.to_str().expect("utf8")]);
    assert!(out.status.success());
    validate(&after);
    let errors = after["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{errors:?}");
    let name = victim
        .file_name()
        .expect("name")
        .to_string_lossy()
        .to_string();
    assert!(
        errors[0]["file"].as_str().unwrap_or("").ends_with(&name),
        "{errors:?}"
    );
    assert!(errors[0]["line"].as_u64().is_some());
    assert_eq!(errors[0]["cluster"], "eks-prod-us-east-1");
    assert_eq!(after["summary"]["clusters"], 3);
    let objects = |v: &Value| v["summary"]["objects"].as_u64().unwrap_or(0);
    assert!(objects(&after) > 0 && objects(&after) < objects(&before));
    assert!(after["summary"]["findings"].as_u64().unwrap_or(0) > 0);
    // The table names the file too, and stderr says something was not assessed.
    let table = kspm(&["scan", fleet.to_str().expect("utf8")]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("NOT ASSESSED (1)") && text.contains(&name),
        "{text}"
    );
}

#[test]
fn exit_codes_follow_fail_on() {
    let fixture = repo().join("tests/fixtures/small-cluster");
    let f = fixture.to_str().expect("utf8");
    assert_eq!(kspm(&["scan", f]).status.code(), Some(0));
    assert_eq!(
        kspm(&["scan", f, "--fail-on", "critical"]).status.code(),
        Some(1)
    );
    assert_eq!(
        kspm(&["scan", f, "--fail-on", "HIGH"]).status.code(),
        Some(1)
    );
    let tmp = tempfile::tempdir().expect("tmp");
    fs::write(
        tmp.path().join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {pod-security.kubernetes.io/enforce: restricted}}\n",
    )
    .expect("write");
    let clean = tmp.path().to_str().expect("utf8");
    assert_eq!(
        kspm(&["scan", clean, "--fail-on", "info"]).status.code(),
        Some(0)
    );
    // Usage errors and fatal errors exit 2.
    assert_eq!(
        kspm(&["scan", f, "--fail-on", "severe"]).status.code(),
        Some(2)
    );
    assert_eq!(kspm(&["scan", f, "--format", "xml"]).status.code(), Some(2));
    assert_eq!(kspm(&["scan"]).status.code(), Some(2));
    let missing = kspm(&["scan", "/nonexistent/kspm-test"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such file or directory"));
}

#[test]
fn output_file_and_table() {
    let fixture = repo().join("tests/fixtures/small-cluster");
    let tmp = tempfile::tempdir().expect("tmp");
    let dest = tmp.path().join("r.json");
    let out = kspm(&[
        "scan",
        fixture.to_str().expect("utf8"),
        "-f",
        "json",
        "-o",
        dest.to_str().expect("utf8"),
    ]);
    assert!(out.status.success() && out.stdout.is_empty());
    let v: Value =
        serde_json::from_str(&fs::read_to_string(&dest).expect("written")).expect("json");
    validate(&v);
    let table = kspm(&["scan", fixture.to_str().expect("utf8")]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
    let crit = text.find("CRITICAL (1)").expect("critical group");
    let high = text.find("HIGH (2)").expect("high group");
    assert!(crit < high);
    assert!(text.contains("DaemonSet:logging/log-shipper  KSPM-W-001"));
    assert!(
        text.contains("1 cluster, 5 objects, 22 findings (1 critical, 2 high, 3 medium, 16 low)"),
        "{text}"
    );
}

#[test]
fn sarif_is_shaped_for_code_scanning() {
    let fixture = repo().join("tests/fixtures/small-cluster");
    let out = kspm(&["scan", fixture.to_str().expect("utf8"), "--format", "sarif"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("sarif json");
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap_or("").contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "kspm");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for r in rules {
        assert!(r["id"].as_str().is_some_and(|s| s.starts_with("KSPM-")));
        assert!(
            r["help"]["text"].as_str().is_some_and(|s| s.len() > 20),
            "{r}"
        );
        assert!(r["shortDescription"]["text"].is_string());
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .expect("security-severity");
        assert!((0.0..=10.0).contains(&sev));
    }
    let results = run["results"].as_array().expect("results");
    // Every finding, and every attack path as a code flow (tests/vulns.rs checks those).
    let findings = results
        .iter()
        .filter(|r| r["ruleId"] != "KSPM-PATH")
        .count();
    assert_eq!(findings, 22);
    for res in results {
        let idx = res["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        assert!(["error", "warning", "note"].contains(&res["level"].as_str().unwrap_or("")));
        let loc = &res["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(!uri.contains('\\') && !uri.contains(' '));
        assert!(loc["region"]["startLine"].as_u64().expect("line") >= 1);
        let key = if res["ruleId"] == "KSPM-PATH" {
            "kspmPath/v1"
        } else {
            "kspmFinding/v2"
        };
        assert!(res["partialFingerprints"][key].is_string(), "{res}");
    }
}

/// The API reference is generated from the proto and kept current.
#[test]
fn api_reference_is_current() {
    let out = std::process::Command::new("python3")
        .arg(repo().join("scripts/api-reference.py"))
        .arg("--check")
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = fs::read_to_string(repo().join("docs/api-reference.md")).expect("reference");
    for rpc in [
        "| `ListFindings` |",
        "| `WatchEvents` |",
        "| `CreateException` |",
    ] {
        assert!(doc.contains(rpc), "{rpc}");
    }
    assert!(doc.contains("| `fingerprint` | `string` | 16 |"));
    // Every numbered field and enum value of the proto has its row.
    let proto = fs::read_to_string(repo().join("proto/kspm/v1/posture.proto")).expect("proto");
    let numbered = proto
        .lines()
        .map(|l| l.split("//").next().unwrap_or("").trim())
        .filter(|l| {
            l.ends_with(';')
                && l.contains(" = ")
                && l.rsplit(" = ")
                    .next()
                    .is_some_and(|n| n.trim_end_matches(';').trim().parse::<u32>().is_ok())
        })
        .count();
    let rows = doc
        .lines()
        .filter(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            l.starts_with("| `")
                && cells.len() >= 3
                && (cells[1].starts_with('`') && cells[2].parse::<u32>().is_ok()
                    || cells[1].parse::<u32>().is_ok())
        })
        .count();
    assert_eq!(
        rows, numbered,
        "a field or enum value of the proto is missing"
    );
}

#[test]
fn techniques_doc_is_current() {
    let out = kspm(&["techniques", "list", "--format", "markdown"]);
    assert!(out.status.success());
    let doc = fs::read_to_string(repo().join("docs/attack-techniques.md")).unwrap_or_default();
    assert!(
        doc == String::from_utf8_lossy(&out.stdout),
        "docs/attack-techniques.md is stale: run `cargo run -- techniques list --format markdown > docs/attack-techniques.md`"
    );
    for id in ["ENDPOINT_EXPLOIT", "NODE_MAY_HOST_POD", "AWS_ASSUME_ROLE"] {
        assert!(doc.contains(&format!("| `{id}` |")), "{id}");
    }
}

#[test]
fn checks_doc_is_current() {
    let out = kspm(&["checks", "list", "--format", "markdown"]);
    assert!(out.status.success());
    let doc = fs::read_to_string(repo().join("docs/checks.md")).unwrap_or_default();
    assert!(
        doc == String::from_utf8_lossy(&out.stdout),
        "docs/checks.md is stale: run `cargo run -- checks list --format markdown > docs/checks.md`"
    );
    let json = kspm(&["checks", "list", "--format", "json"]);
    let v: Value = serde_json::from_slice(&json.stdout).expect("json");
    assert!(v.as_array().is_some_and(|a| a.len() >= 6));
}

/// Reading nothing is an error (exit 2), whatever `--fail-on` says: a CI gate pointed at the
/// wrong folder, at chart sources or at undecodable files must not pass. A partial read is not.
#[test]
fn reading_nothing_exits_2_and_says_why() {
    let tmp = tempfile::tempdir().expect("tmp");
    let case = |name: &str, files: &[(&str, &[u8])]| {
        let dir = tmp.path().join(name);
        fs::create_dir_all(&dir).expect("mkdir");
        for (f, body) in files {
            let p = dir.join(f);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, body).expect("write");
        }
        dir
    };
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            "not: [kubernetes\n"
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes()),
        )
        .collect();
    let cases = [
        (case("empty-dir", &[]), None),
        (case("empty-file", &[("a.yaml", b"")]), None),
        (
            case("corrupt", &[("a.yaml", b"kind: [\n"), ("b.json", b"{")]),
            None,
        ),
        (case("binary", &[("a.yaml", &[0xC3, 0x28, 0xA0, 0xA1])]), None),
        (case("utf16-garbage", &[("a.yaml", &utf16)]), None),
        (
            case(
                "chart",
                &[
                    ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                    (
                        "templates/deploy.yaml",
                        b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n",
                    ),
                ],
            ),
            Some("helm template"),
        ),
        (
            case(
                "kustomize",
                &[("kustomization.yaml", b"resources: [deploy.yaml]\n")],
            ),
            Some("kustomize build"),
        ),
    ];
    for (dir, hint) in &cases {
        let d = dir.to_str().expect("utf8");
        for args in [
            vec!["scan", d, "--fail-on", "low"],
            vec!["scan", d, "--format", "json"],
            vec!["pss", d, "--level", "baseline"],
            vec!["compliance", "--framework", "cis-kubernetes", d],
            vec!["who-can", "get", "secrets", d],
        ] {
            let out = kspm(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains("no Kubernetes objects found in"),
                "{args:?}: {stderr}"
            );
            if let Some(h) = hint {
                assert!(stderr.contains(h), "{args:?}: {stderr}");
            }
        }
    }
    // A partial read is not "nothing": the object read is graded, the bad file listed.
    let partial = case(
        "partial",
        &[
            ("bad.yaml", b"kind: [\n"),
            (
                "pod.yaml",
                b"apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n",
            ),
        ],
    );
    let p = partial.to_str().expect("utf8");
    assert_eq!(kspm(&["scan", p]).status.code(), Some(0));
    assert_eq!(
        kspm(&["scan", p, "--fail-on", "critical"]).status.code(),
        Some(1)
    );
}

/// kubectl accepts a byte-order mark and UTF-16 exports (PowerShell's `>`); so does the loader.
#[test]
fn byte_order_marks_and_utf16_are_read() {
    let tmp = tempfile::tempdir().expect("tmp");
    let pod = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: x, securityContext: {privileged: true}}]}\n";
    let mut bom8 = vec![0xEF, 0xBB, 0xBF];
    bom8.extend_from_slice(pod.as_bytes());
    fs::write(tmp.path().join("utf8bom.yaml"), bom8).expect("write");
    let le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            pod.replace("name: p", "name: q")
                .encode_utf16()
                .flat_map(|u| u.to_le_bytes()),
        )
        .collect();
    fs::write(tmp.path().join("utf16le.yaml"), le).expect("write");
    let be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(
            pod.replace("name: p", "name: r")
                .encode_utf16()
                .flat_map(|u| u.to_be_bytes()),
        )
        .collect();
    fs::write(tmp.path().join("utf16be.yaml"), be).expect("write");
    let (v, out) = scan_json(&[tmp.path().to_str().expect("utf8")]);
    assert!(out.status.success());
    assert_eq!(
        v["errors"].as_array().map(Vec::len),
        Some(0),
        "{}",
        v["errors"]
    );
    assert_eq!(v["summary"]["objects"], 3);
}

/// FIFOs and devices are never opened: a FIFO named like a manifest would block the scan
/// forever, a link to /dev/zero would allocate until the process dies.
#[cfg(unix)]
#[test]
fn fifos_and_devices_are_errors_not_hangs() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fifo = tmp.path().join("pipe.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", tmp.path().join("zero.yaml")).expect("symlink");
    fs::write(
        tmp.path().join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    )
    .expect("write");
    let started = std::time::Instant::now();
    // Links out of the snapshot are refused anyway; allowed here, the device is still not read.
    let out = common::kspm_env(
        &[
            "scan",
            tmp.path().to_str().expect("utf8"),
            "--format",
            "json",
        ],
        &[("KSPM_FOLLOW_SYMLINKS", "1"), ("NO_COLOR", "1")],
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert!(out.status.success());
    let messages: Vec<String> = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| format!("{} {}", e["file"], e["message"]))
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages.iter().all(|m| m.contains("not a regular file")),
        "{messages:?}"
    );
    assert_eq!(v["summary"]["objects"], 1);
}

/// Manifests meant for `kubectl apply -n NS` (no metadata.namespace, bindings naming NS):
/// without `--namespace` the report says so; with it the workload is linked to its binding.
#[test]
fn namespace_flag_places_manifests_like_kubectl_apply_n() {
    let tmp = tempfile::tempdir().expect("tmp");
    fs::write(
        tmp.path().join("install.yaml"),
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: controller}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: controller}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: controller, namespace: argocd}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: controller}\nspec:\n  template:\n    metadata: {labels: {app: c}}\n    spec: {serviceAccountName: controller, containers: [{name: c, image: x:1}]}\n",
    )
    .expect("write");
    let d = tmp.path().to_str().expect("utf8");
    let (plain, out) = scan_json(&[d]);
    assert!(out.status.success());
    let warned = plain["errors"].as_array().expect("errors").iter().any(|e| {
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("--namespace argocd"))
    });
    assert!(warned, "{}", plain["errors"]);
    let s008 = |v: &Value| {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["check"] == "KSPM-S-008")
            .map(|f| f["resource"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert!(s008(&plain).is_empty(), "{:?}", s008(&plain));
    let (placed, out) = scan_json(&[d, "--namespace", "argocd"]);
    assert!(out.status.success());
    assert_eq!(
        s008(&placed),
        vec!["Deployment:argocd/controller".to_string()]
    );
    assert!(
        placed["errors"].as_array().is_some_and(|e| e.is_empty()),
        "{}",
        placed["errors"]
    );
}

/// Names, images and annotations come from whoever can create a pod: table output shows their
/// control characters instead of sending them to the terminal; JSON stays valid JSON.
#[test]
fn control_characters_in_input_reach_no_terminal() {
    let tmp = tempfile::tempdir().expect("tmp");
    fs::write(
        tmp.path().join("pod.json"),
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p\r\u001b[2Kall clear","namespace":"a"},"spec":{"containers":[{"name":"c\u001b[8m","image":"x:latest\u009b31m\u202e","securityContext":{"privileged":true}}]}}"#,
    )
    .expect("write");
    let d = tmp.path().to_str().expect("utf8");
    for args in [
        vec!["scan", d],
        vec!["scan", d, "--format", "json"],
        vec!["scan", d, "--format", "sarif"],
        vec!["pss", d, "--level", "baseline"],
        vec!["query", "reach", d, "--from", "Internet"],
    ] {
        let out = kspm(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text
                .chars()
                .any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{202e}'),
            "{args:?}: {text:?}"
        );
    }
    let table = String::from_utf8_lossy(&kspm(&["scan", d]).stdout).to_string();
    assert!(
        table.contains("\\x1b[2K") && table.contains("\\r"),
        "{table}"
    );
    let (v, _) = scan_json(&[d]);
    assert!(v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["resource"].as_str().is_some_and(|r| r.contains('\u{1b}'))));
}

/// Symbolic links do not lead out of a snapshot: whoever can write one target's directory
/// cannot link another's files into it. Links inside it are followed.
#[cfg(unix)]
#[test]
fn symlinks_do_not_leave_the_snapshot_directory() {
    let tmp = tempfile::tempdir().expect("tmp");
    let other = tmp.path().join("other-tenant");
    fs::create_dir_all(&other).expect("mkdir");
    fs::write(
        other.join("secret-workload.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: theirs, namespace: b}\nspec: {containers: [{name: c, image: x:1, securityContext: {privileged: true}}]}\n",
    )
    .expect("write");
    let mine = tmp.path().join("mine");
    fs::create_dir_all(mine.join("sub")).expect("mkdir");
    fs::write(
        mine.join("sub/pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ours, namespace: a}\nspec: {containers: [{name: c, image: x:1}]}\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(&other, mine.join("linked-dir")).expect("symlink");
    std::os::unix::fs::symlink(other.join("secret-workload.yaml"), mine.join("linked.yaml"))
        .expect("symlink");
    std::os::unix::fs::symlink(mine.join("sub/pod.yaml"), mine.join("inside.yaml"))
        .expect("symlink");
    let (v, out) = scan_json(&[mine.to_str().expect("utf8")]);
    assert!(out.status.success());
    let text = v.to_string();
    assert!(!text.contains("theirs"), "{text}");
    let outside = v["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains("outside the snapshot directory"))
        })
        .count();
    assert_eq!(outside, 2, "{}", v["errors"]);
    // The link inside the snapshot is read (the duplicate it makes is resolved).
    assert_eq!(v["clusters"][0]["kinds"]["Pod"], 1);
}
