//! End-to-end tests of `kspm pss`, `who-can`, `can-i`, `can-connect`, exceptions, annotations and profiles.

mod common;

use common::{kspm, repo, write};
use serde_json::Value;
use std::fs;

#[test]
fn pss_reports_each_object_with_upstream_check_ids() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = write(
        tmp.path(),
        "pods.yaml",
        r#"apiVersion: v1
kind: Pod
metadata: {name: ok}
spec:
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers: [{name: a, securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: priv}
spec:
  template:
    spec:
      containers: [{name: a, securityContext: {privileged: true}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ignored}
"#,
    );
    let bad = write(tmp.path(), "bad.yaml", "kind: [\n");
    let out = kspm(&[
        "pss",
        "--level",
        "restricted",
        "--version",
        "v1.30",
        "--format",
        "json",
        &f,
        &bad,
    ]);
    assert_eq!(out.status.code(), Some(1), "a denied object exits 1");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let arr = v.as_array().expect("array");
    assert_eq!(arr.len(), 3, "{v}");
    let by_object = |name: &str| {
        arr.iter()
            .find(|e| e["object"] == name)
            .expect(name)
            .clone()
    };
    assert_eq!(by_object("Pod/ok")["allowed"], true);
    let d = by_object("Deployment/priv");
    assert_eq!(d["allowed"], false);
    let checks: Vec<&str> = d["violations"]
        .as_array()
        .expect("v")
        .iter()
        .filter_map(|x| x["check"].as_str())
        .collect();
    assert!(
        checks.contains(&"privileged") && checks.contains(&"allowPrivilegeEscalation"),
        "{checks:?}"
    );
    let paths = &d["violations"][0]["paths"];
    assert!(
        paths[0]
            .as_str()
            .unwrap_or("")
            .starts_with("spec.template.spec.containers[0]"),
        "{paths}"
    );
    let err = arr
        .iter()
        .find(|e| e["object"].is_null())
        .expect("error entry");
    assert!(err["error"].as_str().unwrap_or("").contains("bad.yaml:"));
    // Baseline admits the hardened pod and exits 0 when everything passes.
    let only_ok = write(
        tmp.path(),
        "ok.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {containers: [{name: a}]}\n",
    );
    let out = kspm(&["pss", "--level", "baseline", &only_ok]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ALLOWED  Pod/ok"));
    assert_eq!(
        kspm(&["pss", "--level", "strict", &only_ok]).status.code(),
        Some(2)
    );
    assert_eq!(
        kspm(&["pss", "--level", "baseline", "--version", "v2.0", &only_ok])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn who_can_and_can_i_on_the_fixture() {
    let fixture = repo().join("tests/fixtures/small-cluster");
    let f = fixture.to_str().expect("utf8");
    let out = kspm(&["who-can", "delete", "nodes", f, "--format", "json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let subjects: Vec<&str> = v[0]["subjects"]
        .as_array()
        .expect("subjects")
        .iter()
        .filter_map(|s| s["subject"].as_str())
        .collect();
    assert!(
        subjects.contains(&"ServiceAccount:ci/deployer"),
        "{subjects:?}"
    );
    assert!(subjects.contains(&"Group:system:masters"));
    let yes = kspm(&[
        "can-i",
        "--as",
        "system:serviceaccount:ci:deployer",
        "get",
        "secrets",
        "-n",
        "shop",
        f,
    ]);
    assert_eq!(yes.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&yes.stdout).contains("ClusterRoleBinding:ci-admin"));
    let no = kspm(&[
        "can-i",
        "--as",
        "system:serviceaccount:shop:default",
        "get",
        "secrets",
        "-n",
        "shop",
        f,
    ]);
    assert_eq!(no.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&no.stdout).trim(), "no");
    let masters = kspm(&[
        "can-i",
        "--as",
        "bob",
        "--as-group",
        "system:masters",
        "escalate",
        "clusterroles",
        f,
    ]);
    assert_eq!(masters.status.code(), Some(0));
    assert_eq!(
        kspm(&["who-can", "get", "pods/exec/x", f]).status.code(),
        Some(2)
    );
}

#[test]
fn exceptions_and_annotations_suppress_and_are_counted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("c");
    fs::create_dir_all(&dir).expect("mkdir");
    write(
        &dir,
        "pods.yaml",
        r#"apiVersion: v1
kind: Pod
metadata:
  name: agent
  namespace: ops
  annotations: {kspm.io/ignore: "KSPM-W-001, KSPM-W-025"}
spec: {containers: [{name: a, image: "x:1", securityContext: {privileged: true}}]}
---
apiVersion: v1
kind: Pod
metadata: {name: other, namespace: ops}
spec: {hostPID: true, containers: [{name: a, image: "x:1", securityContext: {privileged: true}}]}
"#,
    );
    let exc = write(
        tmp.path(),
        "exceptions.yaml",
        "exceptions:\n- check: KSPM-W-002\n  resource: \"Pod:ops/*\"\n  reason: node agent, reviewed\n- check: KSPM-W-001\n  resource: Pod:ops/other\n  reason: expired one\n  expires: 2000-01-01\n",
    );
    let d = dir.to_str().expect("utf8");
    let out = kspm(&["scan", d, "-f", "json", "--exceptions", &exc]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let active: Vec<(String, String)> = v["findings"]
        .as_array()
        .expect("f")
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap_or("").into(),
                f["resource"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert!(
        !active.contains(&("KSPM-W-001".into(), "Pod:ops/agent".into())),
        "annotation suppresses"
    );
    assert!(
        active.contains(&("KSPM-W-001".into(), "Pod:ops/other".into())),
        "expired exception does not"
    );
    assert!(
        !active.iter().any(|(c, _)| c == "KSPM-W-002"),
        "exception suppresses"
    );
    assert_eq!(v["summary"]["suppressed"], 3);
    let reasons: Vec<&str> = v["suppressed"]
        .as_array()
        .expect("s")
        .iter()
        .filter_map(|s| s["reason"].as_str())
        .collect();
    assert!(
        reasons.contains(&"node agent, reviewed") && reasons.contains(&"annotation kspm.io/ignore")
    );
    // A malformed exceptions file is a usage error naming the file.
    let bad = write(tmp.path(), "bad.yaml", "exceptions:\n- chek: X\n");
    let out = kspm(&["scan", d, "--exceptions", &bad]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.yaml"));
}

#[test]
fn profile_all_adds_hygiene_checks() {
    let fixture = repo().join("tests/fixtures/small-cluster");
    let f = fixture.to_str().expect("utf8");
    let count = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["scan", f, "-f", "json"];
        a.extend_from_slice(args);
        let v: Value = serde_json::from_slice(&kspm(&a).stdout).expect("json");
        v["findings"]
            .as_array()
            .expect("f")
            .iter()
            .filter_map(|x| x["check"].as_str().map(str::to_string))
            .collect()
    };
    let security = count(&[]);
    let all = count(&["--profile", "all"]);
    assert!(!security.iter().any(|c| c == "KSPM-Q-004"));
    assert!(all.iter().any(|c| c == "KSPM-Q-004") && all.len() > security.len());
    let with_registry = count(&["--allowed-registry", "registry.example.com/"]);
    assert!(with_registry.iter().any(|c| c == "KSPM-I-003"));
}

#[test]
fn compliance_reports_pass_fail_and_not_assessable() {
    let demo = repo().join("examples/demo-fleet/eks-prod-us-east-1");
    let d = demo.to_str().expect("utf8");
    let out = kspm(&[
        "compliance",
        d,
        "--framework",
        "cis-kubernetes",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let controls = v[0]["controls"].as_array().expect("controls");
    let status = |id: &str| {
        controls
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap_or("").to_string())
    };
    assert_eq!(
        status("5.2.2").as_deref(),
        Some("fail"),
        "privileged containers in the demo"
    );
    assert_eq!(status("5.2.11").as_deref(), Some("pass"));
    assert_eq!(
        status("5.5.1").as_deref(),
        Some("not_assessable"),
        "no registry allow-list given"
    );
    assert_eq!(status("4.2.7").as_deref(), Some("not_assessable"));
    let alias = controls.iter().find(|c| c["id"] == "5.7.4").expect("5.7.4");
    assert_eq!(alias["aliases"][0], "cis-1.12:5.6.4");
    let total = v[0]["controls_total"].as_u64().unwrap_or(0);
    let parts = [
        "controls_passed",
        "controls_failed",
        "controls_not_assessable",
    ]
    .iter()
    .map(|k| v[0][*k].as_u64().unwrap_or(0))
    .sum::<u64>();
    assert_eq!(total, parts);
    // With the registry allow-list 5.5.1 becomes assessable.
    let out = kspm(&[
        "compliance",
        d,
        "--framework",
        "cis-kubernetes",
        "--format",
        "json",
        "--allowed-registry",
        "602401143452.dkr.ecr.us-east-1.amazonaws.com/",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let c551 = v[0]["controls"]
        .as_array()
        .expect("c")
        .iter()
        .find(|c| c["id"] == "5.5.1")
        .cloned()
        .expect("5.5.1");
    assert_ne!(c551["status"], "not_assessable");
    // Managed benchmarks apply only to their provider; unknown frameworks are usage errors.
    assert_eq!(
        kspm(&["compliance", d, "--framework", "cis-gke"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        kspm(&["compliance", d, "--framework", "nope"])
            .status
            .code(),
        Some(2)
    );
    let table = kspm(&["compliance", d, "--framework", "nsa-cisa"]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("N/A"));
}

#[test]
fn query_paths_and_reach_on_the_demo_fleet() {
    let demo = repo().join("examples/demo-fleet");
    let d = demo.to_str().expect("utf8");
    let out = kspm(&[
        "query",
        "paths",
        d,
        "--from",
        "Internet",
        "--to",
        "ClusterAdmin",
        "--cluster",
        "eks-prod-us-east-1",
        "-f",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let steps = v["paths"][0]["steps"].as_array().expect("steps");
    let techniques: Vec<&str> = steps
        .iter()
        .filter_map(|s| s["technique"].as_str())
        .collect();
    assert_eq!(techniques.first(), Some(&"INTERNET_TO_LB"));
    assert_eq!(
        steps.last().and_then(|s| s["to"].as_str()),
        Some("ClusterAdmin")
    );
    assert!(steps.iter().all(|s| s["from"].is_string()
        && s["to"].is_string()
        && s["evidence"].as_str().is_some_and(|e| !e.is_empty())));
    // Nothing connects: an empty list, not an error.
    let none = kspm(&[
        "query",
        "paths",
        d,
        "--from",
        "Deployment:shop/frontend",
        "--to",
        "ClusterAdmin",
        "--cluster",
        "eks-prod-us-east-1",
        "--max-hops",
        "1",
        "-f",
        "json",
    ]);
    assert!(none.status.success());
    let v: Value = serde_json::from_slice(&none.stdout).expect("json");
    assert_eq!(v["paths"].as_array().map(Vec::len), Some(0));
    for fmt in ["dot", "mermaid", "table"] {
        let out = kspm(&[
            "query",
            "paths",
            d,
            "--from",
            "Internet",
            "--cluster",
            "gke-staging-eu",
            "--to",
            "NodeRoot",
            "-f",
            fmt,
        ]);
        assert!(
            out.status.success(),
            "{fmt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let bad = kspm(&[
        "query",
        "paths",
        d,
        "--from",
        "Deployment:nowhere/x",
        "--to",
        "ClusterAdmin",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let reach = kspm(&[
        "query",
        "reach",
        d,
        "--cluster",
        "aks-payments-westeurope",
        "--from",
        "Deployment:ci/azp-agent",
        "-f",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&reach.stdout).expect("json");
    assert!(v["reaches"]
        .as_array()
        .expect("reaches")
        .iter()
        .any(|r| r["node"] == "ClusterAdmin"));
    let t = kspm(&["techniques", "list", "--format", "json"]);
    let v: Value = serde_json::from_slice(&t.stdout).expect("json");
    assert!(v
        .as_array()
        .is_some_and(|a| a.len() >= 46 && a.iter().any(|x| x["id"] == "CE_NSENTER")));
}

#[test]
fn scan_reports_ranked_attack_paths_and_blast_radius() {
    let demo = repo().join("examples/demo-fleet");
    let out = kspm(&["scan", demo.to_str().expect("utf8"), "-f", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let paths = v["attack_paths"].as_array().expect("paths");
    assert!(paths.len() >= 3);
    let scores: Vec<f64> = paths.iter().filter_map(|p| p["score"].as_f64()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "ranked by score");
    for cluster in [
        "eks-prod-us-east-1",
        "gke-staging-eu",
        "aks-payments-westeurope",
    ] {
        assert!(
            paths.iter().any(|p| p["cluster"] == cluster
                && p["source"] == "Internet"
                && p["steps"].as_array().is_some_and(|s| s.len() >= 4)),
            "{cluster}: a multi-hop internet path"
        );
    }
    let findings = v["findings"].as_array().expect("findings");
    let first_off = findings
        .iter()
        .position(|f| f["on_attack_path"] == false)
        .unwrap_or(findings.len());
    assert!(
        first_off > 0
            && findings[first_off..]
                .iter()
                .all(|f| f["on_attack_path"] == false),
        "on-path findings sort first"
    );
    assert!(findings
        .iter()
        .any(|f| f["blast_radius"]["reaches"]["ClusterAdmin"].is_u64()));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        if e.path().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn diff_between_snapshots_and_between_reports() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (old, new) = (tmp.path().join("old"), tmp.path().join("new"));
    copy_dir(&repo().join("tests/fixtures/small-cluster"), &old);
    copy_dir(&repo().join("tests/fixtures/small-cluster"), &new);
    let (o, n) = (
        old.to_string_lossy().into_owned(),
        new.to_string_lossy().into_owned(),
    );

    // Same input: nothing changed, exit 0.
    let same = kspm(&["diff", &o, &n]);
    assert_eq!(
        same.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert!(String::from_utf8_lossy(&same.stdout).starts_with(
        "0 new finding(s), 0 resolved; 0 new attack path(s), 0 resolved; 0 posture change(s)"
    ));

    // A new cluster-admin binding and a new admission webhook.
    write(
        &new,
        "drift.yaml",
        r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: shop-web-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: web, namespace: shop}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: policy}
webhooks: [{name: p.example.com, failurePolicy: Ignore, sideEffects: None, admissionReviewVersions: [v1], clientConfig: {service: {name: p, namespace: policy}}}]
"#,
    );
    let out = kspm(&["diff", &o, &n, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Written as it always was: the drift's fields in order, then the posture changes.
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("{\n  \"new_findings\": ["));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let changes = v["changes"].as_array().expect("changes");
    let has = |cat: &str, item: &str| {
        changes.iter().any(|c| {
            c["category"] == cat
                && c["change"] == "added"
                && c["item"].as_str().unwrap_or("").contains(item)
        })
    };
    assert!(
        has("rbac_binding", "ClusterRoleBinding:shop-web-admin"),
        "{changes:#?}"
    );
    assert!(has(
        "admission_webhook",
        "ValidatingWebhookConfiguration:policy"
    ));
    assert!(has("escalation_edge", "ServiceAccount:shop/web"));
    assert!(v["new_findings"].as_array().is_some_and(|f| f
        .iter()
        .any(|f| f["resource"] == "ClusterRoleBinding:shop-web-admin")));
    assert!(v["new_paths"].as_array().is_some_and(|p| !p.is_empty()));
    assert!(v["resolved_findings"].as_array().is_some_and(Vec::is_empty));

    // Reports: findings and paths only, and the table says so.
    let report = |dir: &str, name: &str| {
        let r = kspm(&["scan", dir, "--format", "json"]);
        write(tmp.path(), name, &String::from_utf8_lossy(&r.stdout))
    };
    let (ro, rn) = (report(&o, "old.json"), report(&n, "new.json"));
    let out = kspm(&["diff", &ro, &rn]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("+ finding") && text.contains("ClusterRoleBinding:shop-web-admin"),
        "{text}"
    );
    assert!(text.contains("posture changes need two snapshots"));

    // An older report file (written before the fix plan): its findings and paths compare.
    let mut older: Value =
        serde_json::from_str(&std::fs::read_to_string(&rn).expect("read")).expect("report json");
    older.as_object_mut().expect("report").remove("fix_plan");
    let older = write(tmp.path(), "older.json", &older.to_string());
    let out = kspm(&["diff", &ro, &older]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ClusterRoleBinding:shop-web-admin"));

    // A report file that is not one this version reads (no findings): refused by name, exit 2,
    // not compared as a report without findings.
    let mut broken: Value =
        serde_json::from_str(&std::fs::read_to_string(&rn).expect("read")).expect("report json");
    broken.as_object_mut().expect("report").remove("findings");
    let broken = write(tmp.path(), "broken.json", &broken.to_string());
    let refused = kspm(&["diff", &ro, &broken]);
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("broken.json") && err.contains("findings"),
        "{err}"
    );

    // Something that is neither: a clear error, exit 2.
    let bad = kspm(&["diff", &o, "/nonexistent/path"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/path"));
}

/// The sink class a reported path's target belongs to, as a query names it.
fn sink_of(target: &str) -> String {
    if target.starts_with("Node:") || target.contains("] Node:") {
        "NodeRoot".into()
    } else {
        target.to_string()
    }
}

/// `kspm query paths` answers from the fleet graph the scan builds: every path the scan reports
/// — cloud layer, cross-cluster, every sink — comes back as the same object (id, hops,
/// evidence, score), cloud principals and cloud admins can be named, and unknown references get
/// suggestions.
#[test]
fn query_reproduces_every_path_of_the_scan() {
    let demo = repo().join("examples/demo-fleet");
    let d = demo.to_str().expect("utf8");
    let scan = kspm(&["scan", d, "--format", "json"]);
    let report: Value = serde_json::from_slice(&scan.stdout).expect("json");
    let paths = report["attack_paths"].as_array().expect("paths");
    assert!(paths.len() > 60, "{}", paths.len());
    let mut cloud = 0;
    let mut folded = 0;
    let mut siblings = 0;
    for reported in paths {
        // The route is the scan's; the paths folded into it are asked from their own sources.
        let mut p = reported.clone();
        let tails = p
            .as_object_mut()
            .and_then(|o| o.remove("folded"))
            .unwrap_or_default();
        let p = &p;
        let to = sink_of(p["target"].as_str().unwrap_or(""));
        let ask = |from: &str| {
            kspm(&[
                "query",
                "paths",
                d,
                "--from",
                from,
                "--to",
                &to,
                "--cluster",
                p["cluster"].as_str().unwrap_or(""),
                "--max-hops",
                "30",
                "-f",
                "json",
            ])
        };
        for f in tails.as_array().into_iter().flatten() {
            folded += 1;
            let out = ask(f["source"].as_str().unwrap_or(""));
            let v: Value = serde_json::from_slice(&out.stdout).expect("json");
            assert_eq!(v["paths"][0]["id"], f["id"], "{f}");
            let steps = p["steps"].as_array().expect("steps");
            let tail = v["paths"][0]["steps"].as_array().expect("tail steps");
            if f["via"].is_object() {
                // Another network segment: its own first hop, then the same way.
                assert_eq!(tail[0], f["via"], "{f}");
                assert_eq!(tail.len(), steps.len(), "{f}");
                assert_eq!(tail[1..], steps[1..], "{f}");
                siblings += 1;
                continue;
            }
            assert!(tail.len() < steps.len(), "{f}: a folded path is shorter");
            assert_eq!(tail[..], steps[steps.len() - tail.len()..], "{f}");
        }
        let out = ask(p["source"].as_str().unwrap_or(""));
        assert!(
            out.status.success(),
            "{p}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            &v["paths"][0], p,
            "query for {} → {to} in {}",
            p["source"], p["cluster"]
        );
        if p["steps"].as_array().is_some_and(|s| {
            s.iter().any(|s| {
                s["to"].as_str().is_some_and(|t| {
                    t.starts_with("Aws")
                        || t.starts_with("Gcp")
                        || t.starts_with("Azure")
                        || t.starts_with("CloudAdmin")
                })
            })
        }) {
            cloud += 1;
        }
    }
    assert!(cloud > 0, "no path through the cloud layer was checked");
    assert!(folded > 0, "no folded path was checked");
    assert!(
        siblings > 0,
        "no path folded from another network segment was checked"
    );
    // The issue's own example: the internet reaches an AWS account's admin.
    let out = kspm(&[
        "query",
        "paths",
        d,
        "--from",
        "Internet",
        "--to",
        "CloudAdmin",
        "-f",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(
        v["paths"][0]["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("CloudAdmin:")),
        "{v}"
    );
    // Reach sees the cloud half: the frontend's IRSA role and the account admin.
    let reach = kspm(&[
        "query",
        "reach",
        d,
        "--cluster",
        "eks-prod-us-east-1",
        "--from",
        "ServiceAccount:shop/frontend",
        "-f",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&reach.stdout).expect("json");
    let nodes: Vec<&str> = v["reaches"]
        .as_array()
        .expect("reaches")
        .iter()
        .filter_map(|r| r["node"].as_str())
        .collect();
    assert!(nodes.iter().any(|n| n.starts_with("AwsRole:")), "{nodes:?}");
    assert!(
        nodes.iter().any(|n| n.starts_with("CloudAdmin:aws:")),
        "{nodes:?}"
    );
    // A cloud principal can be the start.
    let role = nodes
        .iter()
        .find(|n| n.starts_with("AwsRole:"))
        .expect("a role");
    let from_role = kspm(&["query", "reach", d, "--from", role, "-f", "json"]);
    assert!(
        from_role.status.success(),
        "{}",
        String::from_utf8_lossy(&from_role.stderr)
    );
    // Unknown references suggest the closest existing ones.
    let bad = kspm(&[
        "query",
        "paths",
        d,
        "--from",
        "ServiceAccount:shop/frontnd",
        "--to",
        "ClusterAdmin",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("did you mean") && err.contains("ServiceAccount:shop/frontend"),
        "{err}"
    );
}

/// `--limit K` returns K different routes, best first, the first being the scan's.
#[test]
fn query_limit_returns_distinct_alternatives() {
    let tmp = tempfile::tempdir().expect("tmp");
    // A privileged pod with the host's PID namespace, network, root filesystem and socket: many
    // ways out to its node.
    std::fs::write(
        tmp.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec:\n  nodeName: n1\n  hostPID: true\n  hostNetwork: true\n  containers:\n  - name: c\n    image: x\n    securityContext: {privileged: true}\n    volumeMounts: [{name: root, mountPath: /host}, {name: sock, mountPath: /run/containerd/containerd.sock}]\n  volumes:\n  - {name: root, hostPath: {path: /}}\n  - {name: sock, hostPath: {path: /run/containerd/containerd.sock}}\n---\napiVersion: v1\nkind: Node\nmetadata: {name: n1}\n",
    )
    .expect("write");
    let d = tmp.path().to_str().expect("utf8");
    let out = kspm(&[
        "query", "paths", d, "--from", "Pod:a/p", "--to", "NodeRoot", "--limit", "3", "-f", "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let paths = v["paths"].as_array().expect("paths");
    assert_eq!(paths.len(), 3, "{v}");
    let routes: std::collections::HashSet<Vec<String>> = paths
        .iter()
        .map(|p| {
            p["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|s| format!("{} {}", s["technique"], s["to"]))
                .collect()
        })
        .collect();
    assert_eq!(routes.len(), 3, "{v}");
    let ids: std::collections::HashSet<&str> =
        paths.iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(ids.len(), 3);
    let one = kspm(&[
        "query", "paths", d, "--from", "Pod:a/p", "--to", "NodeRoot", "-f", "json",
    ]);
    let first: Value = serde_json::from_slice(&one.stdout).expect("json");
    assert_eq!(first["paths"][0], paths[0]);
}

/// who-can lists the cloud principals that hold a right through the clusters' mappings of them
/// (EKS access entries and aws-auth, GKE's IAM authorizer, AKS admin groups), and can-i
/// accepts them.
#[test]
fn who_can_and_can_i_see_cloud_principals() {
    let demo = repo().join("examples/demo-fleet");
    let d = demo.to_str().expect("utf8");
    let out = kspm(&["who-can", "delete", "nodes", d, "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let holders = |cluster: &str| -> Vec<(String, String, String)> {
        v.as_array()
            .expect("clusters")
            .iter()
            .find(|c| c["cluster"] == cluster)
            .and_then(|c| c["cloud_principals"].as_array())
            .map(|a| {
                a.iter()
                    .map(|h| {
                        (
                            h["principal"].as_str().unwrap_or("").to_string(),
                            h["becomes"].as_str().unwrap_or("").to_string(),
                            h["technique"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let eks = holders("eks-prod-us-east-1");
    assert!(
        eks.contains(&(
            "AwsRole:arn:aws:iam::123456789012:role/github-actions-deploy".into(),
            "Group:system:masters".into(),
            "AWS_AUTH_MAP".into()
        )),
        "{eks:?}"
    );
    assert!(
        eks.contains(&(
            "AwsRole:arn:aws:iam::123456789012:role/terraform-admin".into(),
            "ClusterAdmin".into(),
            "EKS_ACCESS_POLICY".into()
        )),
        "{eks:?}"
    );
    let gke = holders("gke-staging-eu");
    assert!(
        gke.iter()
            .any(|(p, b, t)| p == "GcpUser:owner@demo-staging.example"
                && b == "ClusterAdmin"
                && t == "GKE_IAM_TO_K8S"),
        "{gke:?}"
    );
    // Read-only Secret access is not delete on nodes.
    assert!(
        !gke.iter()
            .any(|(p, _, _)| p == "GcpGroup:staging-devs@demo-staging.example"),
        "{gke:?}"
    );
    let aks = holders("aks-payments-westeurope");
    assert!(
        aks.iter().any(
            |(p, b, _)| p == "AzureGroup:aaaaaaaa-0000-4000-8000-0000000000ad"
                && b == "ClusterAdmin"
        ),
        "{aks:?}"
    );
    // ... but it is reading Secrets.
    let secrets = kspm(&["who-can", "list", "secrets", d, "--format", "json"]);
    let s: Value = serde_json::from_slice(&secrets.stdout).expect("json");
    let gke_secrets = s
        .as_array()
        .expect("clusters")
        .iter()
        .find(|c| c["cluster"] == "gke-staging-eu")
        .expect("gke")["cloud_principals"]
        .to_string();
    assert!(
        gke_secrets.contains("GcpGroup:staging-devs@demo-staging.example"),
        "{gke_secrets}"
    );
    // The table names them too.
    let table = kspm(&["who-can", "delete", "nodes", d]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("CLOUD PRINCIPAL") && text.contains("terraform-admin"),
        "{text}"
    );

    // can-i --as a cloud principal: yes where it is mapped to admin, no elsewhere.
    let role = "AwsRole:arn:aws:iam::123456789012:role/terraform-admin";
    let yes = kspm(&[
        "can-i",
        "--as",
        role,
        "delete",
        "nodes",
        demo.join("eks-prod-us-east-1").to_str().expect("utf8"),
    ]);
    assert_eq!(
        yes.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&yes.stdout)
    );
    assert!(String::from_utf8_lossy(&yes.stdout).contains("EKS_ACCESS_POLICY"));
    let masters = kspm(&[
        "can-i",
        "--as",
        "AwsRole:arn:aws:iam::123456789012:role/github-actions-deploy",
        "delete",
        "nodes",
        d,
    ]);
    let text = String::from_utf8_lossy(&masters.stdout);
    assert!(
        text.contains("eks-prod-us-east-1: yes") && text.contains("gke-staging-eu: no"),
        "{text}"
    );
    assert_eq!(masters.status.code(), Some(1));
    let unknown = kspm(&[
        "can-i",
        "--as",
        "AwsRole:arn:aws:iam::123456789012:role/nope",
        "get",
        "pods",
        d,
    ]);
    assert_eq!(unknown.status.code(), Some(2));
}

/// Command-line listen overrides obey the configuration's rules: plaintext off the loopback is
/// refused for the web view and for gRPC unless opted in.
#[test]
fn serve_refuses_plaintext_off_loopback_from_flags_too() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("kspm.toml");
    std::fs::write(
        &cfg,
        format!(
            "[service]\ndatabase_url = \"sqlite://{}\"\n",
            tmp.path().join("db.sqlite").display()
        ),
    )
    .expect("config");
    let c = cfg.to_str().expect("utf8");
    for (flag, addr, says) in [
        ("--web-listen", "0.0.0.0:0", "plain HTTP"),
        ("--listen", "0.0.0.0:0", "no TLS"),
        ("--listen", "192.0.2.1:0", "no TLS"),
    ] {
        let out = kspm(&["serve", "--config", c, flag, addr]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {addr}: {err}");
        assert!(err.contains(says), "{flag} {addr}: {err}");
    }
}

/// An object the API server would reject (wrong-typed fields) is not assessable: an error,
/// never admitted by `pss` nor silently passed by `scan`; duplicates keep the later definition.
#[test]
fn malformed_and_duplicate_objects_are_reported_not_graded() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("bad.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: nginx}\n",
    )
    .expect("write");
    let f = tmp.path().join("bad.yaml");
    let out = kspm(&[
        "pss",
        f.to_str().expect("utf8"),
        "--level",
        "restricted",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("spec.containers is not a list"), "{text}");
    // Two definitions of one Deployment: the later, privileged one is graded; a warning names both.
    std::fs::write(
        tmp.path().join("a.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: a}\nspec: {template: {spec: {containers: [{name: c, image: x:1}]}}}\n",
    )
    .expect("write");
    std::fs::write(
        tmp.path().join("b.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: a}\nspec: {template: {spec: {containers: [{name: c, image: x:1, securityContext: {privileged: true}}]}}}\n",
    )
    .expect("write");
    let out = kspm(&[
        "scan",
        tmp.path().to_str().expect("utf8"),
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let errors = v["errors"].to_string();
    assert!(errors.contains("spec.containers is not a list"), "{errors}");
    // A gate fails on an object nobody could grade, whatever the findings' severities.
    let only_bad = tempfile::tempdir().expect("tmp");
    std::fs::copy(&f, only_bad.path().join("bad.yaml")).expect("copy");
    std::fs::write(
        only_bad.path().join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {pod-security.kubernetes.io/enforce: restricted}}\n",
    )
    .expect("write");
    let gate = kspm(&[
        "scan",
        only_bad.path().to_str().expect("utf8"),
        "--fail-on",
        "critical",
    ]);
    assert_eq!(
        gate.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&gate.stderr)
    );
    assert_eq!(
        kspm(&["scan", only_bad.path().to_str().expect("utf8")])
            .status
            .code(),
        Some(0)
    );
    assert!(
        errors.contains("duplicate Deployment:a/d")
            && errors.contains("a.yaml")
            && errors.contains("b.yaml"),
        "{errors}"
    );
    let w001: Vec<&Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == "KSPM-W-001")
        .collect();
    assert_eq!(w001.len(), 1, "{w001:?}");
    assert!(
        w001[0]["source"]["file"]
            .as_str()
            .is_some_and(|s| s.ends_with("b.yaml")),
        "{}",
        w001[0]
    );
    assert_eq!(v["clusters"][0]["kinds"]["Deployment"], 1);
}

/// The demo's segmentation story (README, "Segmentation"): namespace ci has no NetworkPolicy,
/// so one of the shortest ways from the shop's frontend to the CI runners' identity is over the
/// network into the BuildKit daemon there; the default deny of
/// `examples/segmentation/ci-default-deny.yaml` takes that hop away (what remains does not cross
/// the network into ci), and `kspm diff` says so.
#[test]
fn a_default_deny_ends_the_demo_segmentation_story() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fleet = tmp.path().join("fleet");
    copy_dir(&repo().join("examples/demo-fleet"), &fleet);
    let before_dir = tmp.path().join("before");
    copy_dir(&repo().join("examples/demo-fleet"), &before_dir);
    let f = fleet.to_str().expect("utf8");
    let route = || {
        let out = kspm(&[
            "query",
            "paths",
            f,
            "--cluster",
            "gke-staging-eu",
            "--from",
            "Deployment:shop/frontend",
            "--to",
            "ServiceAccount:ci/actions-runner",
            "--limit",
            "3",
            "-f",
            "json",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // The likeliest ways (the demo's image reports make ingress-nginx's IngressNightmare the
        // first; the network way into ci is among the next), their steps together.
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        v["paths"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["steps"].as_array().cloned().unwrap_or_default())
            .collect::<Vec<Value>>()
    };
    // Over the network into buildkitd, whose pods hold the runners' token.
    let into_ci = |steps: &[Value]| {
        steps.iter().any(|s| {
            s["from"].as_str().is_some_and(|f| f.starts_with("Ports:"))
                && s["to"] == "Endpoint:Deployment:ci/buildkitd"
        })
    };
    let connect = || {
        kspm(&[
            "can-connect",
            "Deployment:shop/frontend",
            "Deployment:ci/buildkitd:buildkit",
            f,
        ])
    };
    let before = route();
    assert!(into_ci(&before), "{before:?}");
    assert!(before.iter().any(|s| s["technique"] == "NETWORK_REACH"));
    assert_eq!(connect().status.code(), Some(0));
    fs::copy(
        repo().join("examples/segmentation/ci-default-deny.yaml"),
        fleet.join("gke-staging-eu/ci-default-deny.yaml"),
    )
    .expect("copy the fix");
    let after = route();
    assert!(!into_ci(&after), "{after:?}");
    let denied = connect();
    assert_eq!(denied.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&denied.stdout).contains("NetworkPolicy:ci/default-deny-ingress")
    );
    // The runners still reach their daemon.
    let runners = kspm(&[
        "can-connect",
        "Deployment:ci/actions-runner",
        "Deployment:ci/buildkitd:buildkit",
        f,
    ]);
    assert_eq!(runners.status.code(), Some(0));
    // The drift names the namespaces that no longer reach ci.
    let diff = kspm(&[
        "diff",
        before_dir.join("gke-staging-eu").to_str().expect("utf8"),
        fleet.join("gke-staging-eu").to_str().expect("utf8"),
        "-f",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&diff.stdout).expect("json");
    let removed: Vec<&str> = v["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["category"] == "segmentation" && c["change"] == "removed")
        .filter_map(|c| c["item"].as_str())
        .collect();
    // ingress-nginx has no host-network pod; shop (checkout), monitoring (node exporter),
    // kube-system and default (netshoot) keep a possible way through theirs: traffic between a
    // pod and its own node is never blocked by NetworkPolicies.
    assert_eq!(removed, ["ingress-nginx → ci"], "{v}");
    let host = kspm(&[
        "can-connect",
        "Deployment:shop/checkout",
        "Deployment:ci/buildkitd:buildkit",
        f,
    ]);
    assert!(String::from_utf8_lossy(&host.stdout).starts_with("unknown"));
}

/// The demo's internet entry through the shop's Ingress exists because the shop's default deny
/// is opened to ingress-nginx on the frontend's port (`allow-ingress-nginx-to-frontend`): the
/// hop `Ingress shop/frontend → Service shop/frontend` names that policy, and when the rule
/// admits another port the controller cannot forward there, so the internet path is gone
/// (the frontend stays a foothold of its own) — as `kspm can-connect` says.
#[test]
fn an_ingress_reaches_only_backends_that_admit_its_controller() {
    let tmp = tempfile::tempdir().expect("tmp");
    let fleet = tmp.path().join("fleet");
    copy_dir(&repo().join("examples/demo-fleet"), &fleet);
    let eks = fleet.join("eks-prod-us-east-1");
    let eks = eks.to_str().expect("utf8");
    // The hop's evidence on the paths through the shop's Ingress (the fleet's IAM joins the
    // cluster's graph: the path ends at the AWS account).
    let hops = || {
        let out = kspm(&["scan", fleet.to_str().expect("utf8"), "-f", "json"]);
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        v["attack_paths"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| p["steps"].as_array().cloned().unwrap_or_default())
            .filter(|s| s["from"] == "Ingress:shop/frontend" && s["to"] == "Service:shop/frontend")
            .map(|s| s["evidence"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<String>>()
    };
    let before = hops();
    assert!(!before.is_empty());
    assert!(
        before
            .iter()
            .all(|h| h
                .contains("ingress allowed by NetworkPolicy:shop/allow-ingress-nginx-to-frontend")),
        "{before:?}"
    );
    let policies = fleet.join("eks-prod-us-east-1/networkpolicies.yaml");
    let text = fs::read_to_string(&policies).expect("read");
    let rule = "      - port: 8080\n        protocol: TCP\n    podSelector:\n      matchLabels:\n        app.kubernetes.io/name: frontend";
    assert!(text.contains(rule));
    fs::write(&policies, text.replace(rule, &rule.replace("8080", "9090"))).expect("write");
    assert_eq!(hops(), Vec::<String>::new());
    let connect = kspm(&[
        "can-connect",
        "Deployment:ingress-nginx/ingress-nginx-controller",
        "Deployment:shop/frontend:8080",
        eks,
    ]);
    assert_eq!(connect.status.code(), Some(1));
}

/// `kspm can-connect` on the demo EKS cluster: the ingress controller reaches the shop's
/// frontend through the policy that allows it, the CI runner does not (default deny), a port the
/// rule does not list is refused, and a bad destination spec is a usage error.
#[test]
fn can_connect_answers_from_the_network_policies() {
    let eks = repo().join("examples/demo-fleet/eks-prod-us-east-1");
    let eks = eks.to_str().expect("utf8");
    let yes = kspm(&[
        "can-connect",
        "Deployment:ingress-nginx/ingress-nginx-controller",
        "Deployment:shop/frontend:8080",
        eks,
    ]);
    assert_eq!(yes.status.code(), Some(0));
    let text = String::from_utf8_lossy(&yes.stdout);
    assert!(text.starts_with("yes\n"), "{text}");
    assert!(text.contains("allowed by NetworkPolicy:shop/allow-ingress-nginx-to-frontend"));
    let no = kspm(&[
        "can-connect",
        "Deployment:ci/gitlab-runner",
        "Deployment:shop/frontend:8080",
        eks,
        "--format",
        "json",
    ]);
    assert_eq!(no.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&no.stdout).expect("json");
    assert_eq!(v[0]["verdict"]["answer"], "no");
    assert!(v[0]["verdict"]["ingress"]["isolated_by"]
        .as_array()
        .expect("list")
        .iter()
        .any(|p| p == "NetworkPolicy:shop/default-deny-ingress"));
    let other_port = kspm(&[
        "can-connect",
        "Deployment:ingress-nginx/ingress-nginx-controller",
        "Deployment:shop/frontend:9999",
        eks,
    ]);
    assert_eq!(other_port.status.code(), Some(1));
    for bad in [
        "Deployment:shop/frontend",
        "Deployment:shop/frontend:80/XYZ",
    ] {
        let o = kspm(&["can-connect", "Deployment:ci/gitlab-runner", bad, eks]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
    }
}

/// `kspm can-connect` with Calico's policies beside the demo's NetworkPolicies: a tier before
/// the default one decides first (its deny names the rule), a Pass hands the connection to the
/// NetworkPolicies, and an AdminNetworkPolicy's deny comes before both.
#[test]
fn can_connect_follows_calico_tiers_and_admin_policies() {
    let tmp = tempfile::tempdir().expect("tmp");
    let eks = tmp.path().join("eks");
    copy_dir(&repo().join("examples/demo-fleet/eks-prod-us-east-1"), &eks);
    let e = eks.to_str().expect("utf8");
    let ask = || {
        kspm(&[
            "can-connect",
            "Deployment:ingress-nginx/ingress-nginx-controller",
            "Deployment:shop/frontend:8080",
            e,
        ])
    };
    assert_eq!(ask().status.code(), Some(0));
    let calico = |action: &str| {
        format!(
            "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {{name: security}}\nspec: {{order: 100}}\n---\n\
             apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {{name: security.edge}}\n\
             spec: {{tier: security, order: 1, selector: \"projectcalico.org/namespace == 'shop'\", types: [Ingress],\n\
             ingress: [{{action: {action}, source: {{namespaceSelector: \"kubernetes.io/metadata.name == 'ingress-nginx'\"}}}}, {{action: Pass}}]}}\n"
        )
    };
    fs::write(eks.join("calico.yaml"), calico("Deny")).expect("write");
    let denied = ask();
    assert_eq!(denied.status.code(), Some(1));
    let text = String::from_utf8_lossy(&denied.stdout);
    assert!(text.starts_with("no\n"), "{text}");
    assert!(
        text.contains("GlobalNetworkPolicy:security.edge spec.ingress[0]"),
        "{text}"
    );
    // Passed on: the demo's NetworkPolicy that allows the controller decides.
    fs::write(eks.join("calico.yaml"), calico("Pass")).expect("write");
    let passed = ask();
    assert_eq!(passed.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&passed.stdout)
        .contains("NetworkPolicy:shop/allow-ingress-nginx-to-frontend"));
    // An AdminNetworkPolicy's deny comes before every tier Calico's policies are in.
    fs::write(
        eks.join("anp.yaml"),
        "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: shop-edge}\n\
         spec: {priority: 10, subject: {namespaces: {matchLabels: {kubernetes.io/metadata.name: shop}}},\n\
         ingress: [{action: Deny, from: [{namespaces: {matchLabels: {kubernetes.io/metadata.name: ingress-nginx}}}]}]}\n",
    )
    .expect("write");
    let admin = ask();
    assert_eq!(admin.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&admin.stdout).contains("AdminNetworkPolicy:shop-edge"));
}
