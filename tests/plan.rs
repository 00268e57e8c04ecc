//! End-to-end tests of `kspm plan`: a change applied to a snapshot with `kubectl apply`
//! semantics, what it introduces and resolves, exit codes and formats.

mod common;

use common::{kspm, repo, write};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

fn small() -> String {
    repo()
        .join("tests/fixtures/small-cluster")
        .to_string_lossy()
        .into_owned()
}

fn demo() -> String {
    repo()
        .join("examples/demo-fleet")
        .to_string_lossy()
        .into_owned()
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Runs `kspm ARGS` with `input` on standard input.
fn with_stdin(args: &[&str], input: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kspm"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

const EXPOSE_AND_BIND: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: web-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: shop}]
"#;

#[test]
fn a_change_that_opens_a_path_names_the_changed_objects_on_it_and_fails_the_gate() {
    let dir = tempfile::tempdir().expect("tmp");
    let change = write(dir.path(), "change.yaml", EXPOSE_AND_BIND);
    let out = kspm(&["plan", "--base", &small(), &change, "-f", "json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let plan = json(&out);
    assert_eq!(plan["cluster"], "small");
    let changes: Vec<(&str, &str)> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["reference"].as_str().unwrap_or(""),
                c["action"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        changes,
        [
            ("Service:shop/web", "created"),
            ("ClusterRoleBinding:web-admin", "created")
        ]
    );
    let internet = plan["introduced_paths"]
        .as_array()
        .expect("paths")
        .iter()
        .find(|p| p["source"] == "Internet" && p["target"] == "ClusterAdmin")
        .expect("internet → cluster admin introduced");
    let through: Vec<&str> = internet["changed_objects"]
        .as_array()
        .expect("changed objects")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        through,
        ["Service:shop/web", "ClusterRoleBinding:web-admin"]
    );
    // Findings on the changed objects are located at the change's lines.
    let r001 = plan["introduced_findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == "KSPM-R-001")
        .expect("cluster-admin binding");
    assert!(r001["source"]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("change.yaml")));
    assert_eq!(r001["source"]["line"], 10);
    assert!(plan["resolved_paths"].as_array().is_some_and(Vec::is_empty));
    // Only critical fails: these are high at most.
    let out = kspm(&["plan", "--base", &small(), &change, "--fail-on", "critical"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn a_change_that_closes_a_path_resolves_it_and_passes() {
    let dir = tempfile::tempdir().expect("tmp");
    // The base with the exposure and the binding; the change takes the token away.
    let base = dir.path().join("base");
    common::copy_dir(&repo().join("tests/fixtures/small-cluster"), &base);
    write(&base, "change.yaml", EXPOSE_AND_BIND);
    let change = write(
        dir.path(),
        "no-token.yaml",
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      containers:
      - name: web
        image: nginx:1.27
        securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: false}
"#,
    );
    let base = base.to_string_lossy().into_owned();
    let out = kspm(&["plan", "--base", &base, &change, "-f", "json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let plan = json(&out);
    assert_eq!(plan["changes"][0]["action"], "replaced");
    assert!(plan["resolved_paths"]
        .as_array()
        .expect("resolved")
        .iter()
        .any(|p| p["source"] == "Internet" && p["target"] == "ClusterAdmin"));
    assert!(plan["resolved_findings"]
        .as_array()
        .expect("resolved findings")
        .iter()
        .any(|f| f["check"] == "KSPM-S-008"));
    assert!(plan["introduced_paths"]
        .as_array()
        .is_some_and(Vec::is_empty));
    // Deleting the binding instead resolves the path too.
    let out = kspm(&[
        "plan",
        "--base",
        &base,
        "--delete",
        "ClusterRoleBinding/web-admin",
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let plan = json(&out);
    assert_eq!(plan["changes"][0]["action"], "deleted");
    assert!(plan["resolved_paths"]
        .as_array()
        .is_some_and(|p| !p.is_empty()));
}

#[test]
fn re_applying_what_the_base_holds_changes_nothing() {
    let base = small();
    let same = repo().join("tests/fixtures/small-cluster/rbac.yaml");
    let out = kspm(&[
        "plan",
        "--base",
        &base,
        &same.to_string_lossy(),
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let plan = json(&out);
    for k in [
        "introduced_findings",
        "resolved_findings",
        "introduced_paths",
        "resolved_paths",
    ] {
        assert!(plan[k].as_array().is_some_and(Vec::is_empty), "{k}: {plan}");
    }
    assert!(plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .all(|c| c["action"] == "replaced"));
}

/// A pod that runs as a ServiceAccount an existing IRSA trust names opens a way to the AWS
/// account: the cloud documents of the base stay in play. Read from standard input, as
/// `helm template … | kspm plan … -` would.
#[test]
fn a_pod_running_as_a_trusted_service_account_opens_a_way_to_the_cloud_account() {
    let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: shop}
spec:
  serviceAccountName: cart
  automountServiceAccountToken: true
  containers: [{name: c, image: busybox:1.36}]
"#;
    let out = with_stdin(
        &[
            "plan",
            "--base",
            &demo(),
            "--cluster",
            "eks-prod-us-east-1",
            "-",
            "-f",
            "json",
        ],
        pod,
    );
    let plan = json(&out);
    let to_account = plan["introduced_paths"]
        .as_array()
        .expect("paths")
        .iter()
        .find(|p| p["source"] == "Pod:shop/debug" && p["target"] == "CloudAdmin:aws:123456789012")
        .unwrap_or_else(|| panic!("pod → AWS account admin: {plan}"));
    let hops: Vec<&str> = to_account["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["technique"].as_str())
        .collect();
    assert!(hops.contains(&"IRSA_ASSUME"), "{hops:?}");
    assert_eq!(to_account["changed_objects"][0], "Pod:shop/debug");
    assert_eq!(plan["changes"][0]["file"], "-");
    // The gate: a path this severe fails it.
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn a_change_that_cannot_be_read_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = write(
        dir.path(),
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n  namespace: y\n",
    );
    let out = kspm(&["plan", "--base", &small(), &bad]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.yaml:"), "{err}");
    assert!(err.contains("cannot be planned"), "{err}");
    // A base of several clusters needs --cluster; an unknown one is named.
    let ok = write(dir.path(), "ok.yaml", EXPOSE_AND_BIND);
    let out = kspm(&["plan", "--base", &demo(), &ok]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cluster"));
    let out = kspm(&["plan", "--base", &demo(), "--cluster", "nope", &ok]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no cluster nope"));
    // Nothing to plan, or a deletion of what is not there.
    let empty = write(dir.path(), "empty.yaml", "# nothing\n");
    let out = kspm(&["plan", "--base", &small(), &empty]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = kspm(&["plan", "--base", &small(), "--delete", "Role/shop/ghost"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such object"));
}

#[test]
fn markdown_and_sarif_for_the_pull_request() {
    let dir = tempfile::tempdir().expect("tmp");
    let change = write(dir.path(), "change.yaml", EXPOSE_AND_BIND);
    let out = kspm(&["plan", "--base", &small(), &change, "-f", "markdown"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.starts_with("### kspm plan — cluster small"), "{md}");
    assert!(
        md.contains(r"| high | Internet | ClusterAdmin | Service\:shop/web, ClusterRoleBinding\:web\-admin |"),
        "{md}"
    );
    let out = kspm(&["plan", "--base", &small(), &change, "-f", "sarif"]);
    let sarif = json(&out);
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    let path = results
        .iter()
        .find(|r| r["ruleId"] == "KSPM-PATH")
        .expect("a path result");
    let uri = path["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .expect("uri");
    assert!(uri.ends_with("change.yaml"), "{uri}");
    assert!(results.iter().any(|r| r["ruleId"] == "KSPM-R-001"
        && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 10));
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "KSPM-PATH"));
}

/// The plan's delta is what two full scans say: the paths and findings `kspm diff` finds
/// between the base and the base with the change applied.
#[test]
fn the_plan_agrees_with_a_full_scan_of_the_changed_cluster() {
    let dir = tempfile::tempdir().expect("tmp");
    let before = dir.path().join("before");
    let after = dir.path().join("after");
    common::copy_dir(&repo().join("examples/demo-fleet/gke-staging-eu"), &before);
    common::copy_dir(&repo().join("examples/demo-fleet/gke-staging-eu"), &after);
    let change = write(dir.path(), "change.yaml", EXPOSE_AND_BIND);
    write(&after, "zz-change.yaml", EXPOSE_AND_BIND);
    let out = kspm(&[
        "plan",
        "--base",
        &before.to_string_lossy(),
        &change,
        "-f",
        "json",
    ]);
    let plan = json(&out);
    let diff = kspm(&[
        "diff",
        &before.to_string_lossy(),
        &after.to_string_lossy(),
        "-f",
        "json",
    ]);
    let diff = json(&diff);
    let ids = |v: &Value, k: &str| -> std::collections::BTreeSet<String> {
        v[k].as_array()
            .expect(k)
            .iter()
            .filter_map(|p| p["id"].as_str().map(str::to_string))
            .collect()
    };
    let plan_paths = ids(&plan, "introduced_paths");
    assert!(!plan_paths.is_empty());
    assert_eq!(plan_paths, ids(&diff, "new_paths"));
    assert_eq!(ids(&plan, "resolved_paths"), ids(&diff, "resolved_paths"));
    let keys = |v: &Value, k: &str| -> std::collections::BTreeSet<String> {
        v[k].as_array()
            .expect(k)
            .iter()
            .map(|f| format!("{} {} {}", f["check"], f["resource"], f["message"]))
            .collect()
    };
    assert_eq!(
        keys(&plan, "introduced_findings"),
        keys(&diff, "new_findings")
    );
    assert_eq!(
        keys(&plan, "resolved_findings"),
        keys(&diff, "resolved_findings")
    );
}

/// Standard input is read as files are: YAML 1.1 booleans mean what they mean to kubectl, and
/// an object defined twice is a warning (the later one planned), not an error.
#[test]
fn standard_input_and_duplicates_are_read_as_kubectl_reads_them() {
    let pod = r#"
apiVersion: v1
kind: Pod
metadata: {name: root, namespace: shop}
spec:
  containers: [{name: c, image: busybox:1.36, securityContext: {privileged: yes}}]
---
apiVersion: v1
kind: Pod
metadata: {name: root, namespace: shop}
spec:
  containers: [{name: c, image: busybox:1.36, securityContext: {privileged: yes}}]
"#;
    let out = with_stdin(&["plan", "--base", &small(), "-", "-f", "json"], pod);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let plan = json(&out);
    assert!(plan["introduced_findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["check"] == "KSPM-W-001" && f["resource"] == "Pod:shop/root"));
    assert_eq!(plan["changes"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        plan["change_warnings"].as_array().map(Vec::len),
        Some(1),
        "{plan}"
    );
}

/// Names are input: a Markdown comment shows them, it does not render them.
#[test]
fn markdown_escapes_what_a_name_could_inject() {
    let dir = tempfile::tempdir().expect("tmp");
    let change = write(
        dir.path(),
        "evil.yaml",
        r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "x](https://evil.example/p.png) @admins `y"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: default, namespace: shop}]
"#,
    );
    let out = kspm(&["plan", "--base", &small(), &change, "-f", "markdown"]);
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.contains("| KSPM-R-001 |"), "{md}");
    assert!(!md.contains("](https"), "{md}");
    assert!(!md.contains(" @admins"), "{md}");
    assert!(md.contains("\\@admins") && md.contains("\\`y"), "{md}");
}

/// Exceptions apply as for `kspm scan`, and deleting a Namespace deletes what is in it.
#[test]
fn exceptions_and_namespace_deletion() {
    let dir = tempfile::tempdir().expect("tmp");
    let change = write(dir.path(), "change.yaml", EXPOSE_AND_BIND);
    let exceptions = write(
        dir.path(),
        "exceptions.yaml",
        "exceptions:\n- {check: KSPM-R-001, resource: 'ClusterRoleBinding:web-admin', reason: accepted in review}\n",
    );
    let out = kspm(&[
        "plan",
        "--base",
        &small(),
        &change,
        "--exceptions",
        &exceptions,
        "-f",
        "json",
    ]);
    let plan = json(&out);
    assert!(!plan["introduced_findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["check"] == "KSPM-R-001"));
    // The base's shop namespace holds web: deleting the namespace resolves its findings.
    let base = dir.path().join("base");
    common::copy_dir(&repo().join("tests/fixtures/small-cluster"), &base);
    write(
        &base,
        "namespaces.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
    );
    let out = kspm(&[
        "plan",
        "--base",
        &base.to_string_lossy(),
        "--delete",
        "Namespace/shop",
        "-f",
        "json",
    ]);
    let plan = json(&out);
    let resolved = plan["resolved_findings"].as_array().expect("resolved");
    assert!(
        resolved
            .iter()
            .any(|f| f["resource"] == "Deployment:shop/web"),
        "{plan}"
    );
}
