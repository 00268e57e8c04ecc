//! The live collector against the fake API server: same results as the offline scan of the same
//! files, GET only, no Secret value ever requested, faults survived, gaps reported.

mod common;
#[path = "support/fake_apiserver.rs"]
mod fake_apiserver;

use common::{kspm, repo};
use fake_apiserver::FakeApiServer;
use serde_json::Value;
use std::fs;
use std::path::Path;

/// Findings and paths without where they were read from (files vs the API).
fn essence(report: &Value) -> (Vec<String>, Vec<String>) {
    let findings = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            format!(
                "{} {} {} {} {}",
                f["check"], f["resource"], f["message"], f["evidence"], f["on_attack_path"]
            )
        })
        .collect();
    let paths = report["attack_paths"]
        .as_array()
        .expect("paths")
        .iter()
        .map(|p| {
            format!(
                "{} {} {} {}",
                p["source"], p["target"], p["score"], p["nodes"]
            )
        })
        .collect();
    (findings, paths)
}

fn scan_json(args: &[&str]) -> Value {
    let mut all = vec!["scan", "-f", "json"];
    all.extend_from_slice(args);
    let out = kspm(&all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn copy_without_cloud(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let target = to.join(e.file_name());
        if p.is_dir() {
            if e.file_name() != "cloud" {
                copy_without_cloud(&p, &target);
            }
        } else {
            std::fs::copy(&p, &target).expect("copy");
        }
    }
}

fn live_equals_offline(dir: &Path, context: &str, page_size: &str) -> Vec<fake_apiserver::Logged> {
    let server = FakeApiServer::start(dir);
    let tmp = tempfile::tempdir().expect("tmp");
    let kubeconfig = server.kubeconfig(tmp.path(), context);
    let live = scan_json(&[
        "--kubeconfig",
        kubeconfig.to_str().expect("utf8"),
        "--page-size",
        page_size,
    ]);
    // The API server knows nothing of the provider's `cloud/` documents: compare with the
    // offline scan of the Kubernetes objects alone.
    let k8s_only = tmp.path().join(context);
    copy_without_cloud(dir, &k8s_only);
    let offline = scan_json(&[k8s_only.to_str().expect("utf8")]);
    assert_eq!(live["clusters"][0]["name"], context);
    assert_eq!(
        live["errors"].as_array().map(Vec::len),
        Some(0),
        "{}",
        live["errors"]
    );
    let (lf, lp) = essence(&live);
    let (of, op) = essence(&offline);
    assert_eq!(
        lf, of,
        "findings differ between the live and the offline scan"
    );
    assert_eq!(
        lp, op,
        "attack paths differ between the live and the offline scan"
    );
    assert!(!lf.is_empty());
    // Read-only: every request was a GET.
    let log = server.log();
    assert!(log.len() > 20);
    assert!(
        log.iter().all(|r| r.method == "GET"),
        "{:?}",
        log.iter().find(|r| r.method != "GET")
    );
    // Secrets were only ever listed as metadata.
    let secret_requests: Vec<_> = log.iter().filter(|r| r.path.contains("/secrets")).collect();
    assert!(!secret_requests.is_empty());
    assert!(
        secret_requests
            .iter()
            .all(|r| r.accept.contains("as=PartialObjectMetadataList")),
        "{secret_requests:?}"
    );
    log
}

#[test]
fn live_scan_of_the_fixture_equals_the_offline_scan() {
    let _ = live_equals_offline(&repo().join("tests/fixtures/small-cluster"), "small", "1");
}

#[test]
fn live_scan_of_a_demo_cluster_equals_the_offline_scan() {
    let log = live_equals_offline(
        &repo().join("examples/demo-fleet/eks-prod-us-east-1"),
        "eks-prod-us-east-1",
        "7",
    );
    // Lists were paginated (7 objects a page) and followed to the end.
    assert!(log.iter().any(|r| r.query.contains("continue=")));
}

#[test]
fn secret_values_are_never_requested_and_never_written() {
    let canary = "kspm-live-canary-93c1f0a2";
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("c");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join("kspm-cluster.yaml"), "name: c\n").expect("write");
    fs::write(
        dir.join("secrets.yaml"),
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{{\"stringData\":{{\"p\":\"{canary}\"}}}}'\ntype: Opaque\nstringData:\n  p: {canary}\ndata:\n  q: a3NwbS1saXZlLWNhbmFyeS05M2MxZjBhMg==\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: tok, namespace: shop, annotations: {{kubernetes.io/service-account.name: app}}}}\ntype: kubernetes.io/service-account-token\ndata: {{token: a3NwbS1saXZlLWNhbmFyeS05M2MxZjBhMg==}}\n"),
    )
    .expect("write");
    let server = FakeApiServer::start(&dir);
    let kubeconfig = server.kubeconfig(tmp.path(), "c");
    let k = kubeconfig.to_str().expect("utf8");
    let out_dir = tmp.path().join("collected");
    let collect = kspm(&[
        "-vvv",
        "collect",
        "--kubeconfig",
        k,
        "--out",
        out_dir.to_str().expect("utf8"),
    ]);
    assert!(
        collect.status.success(),
        "{}",
        String::from_utf8_lossy(&collect.stderr)
    );
    let scan = kspm(&["-vvv", "scan", "--kubeconfig", k, "-f", "json"]);
    for out in [&collect, &scan] {
        for text in [
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        ] {
            assert!(
                !text.contains(canary) && !text.contains("a3NwbS1saXZlLWNhbmFyeS05M2MxZjBhMg"),
                "canary leaked"
            );
        }
    }
    for e in fs::read_dir(&out_dir).expect("collected") {
        let text = fs::read_to_string(e.expect("entry").path()).unwrap_or_default();
        assert!(
            !text.contains(canary) && !text.contains("a3NwbS1saXZlLWNhbmFyeS05M2MxZjBhMg"),
            "canary written to disk"
        );
    }
    // The token Secret's type was learned through a field selector.
    let v: Value = serde_json::from_slice(&scan.stdout).expect("json");
    assert!(v["findings"]
        .as_array()
        .expect("f")
        .iter()
        .any(|f| f["check"] == "KSPM-S-007" && f["resource"] == "Secret:shop/tok"));
    assert!(server.log().iter().any(|r| r
        .query
        .contains("fieldSelector=type%3Dkubernetes.io%2Fservice-account-token")));
    assert!(server.log().iter().all(|r| r.method == "GET"));
    // The collected snapshot scans offline to the same findings.
    let offline = scan_json(&[out_dir.to_str().expect("utf8")]);
    assert_eq!(essence(&offline).0, essence(&v).0);
}

#[test]
fn faults_are_retried_and_forbidden_kinds_become_gaps() {
    let fixture = repo().join("tests/fixtures/small-cluster");
    let server = FakeApiServer::start(&fixture);
    server.faults(|f| {
        f.fail_first.insert("deployments".into(), vec![429, 500]);
        f.fail_first.insert("pods".into(), vec![503]);
        f.expire_continue_once = true;
        f.forbidden.insert("clusterroles".into());
    });
    let tmp = tempfile::tempdir().expect("tmp");
    let kubeconfig = server.kubeconfig(tmp.path(), "small");
    let v = scan_json(&[
        "--kubeconfig",
        kubeconfig.to_str().expect("utf8"),
        "--page-size",
        "1",
    ]);
    // Retried lists still arrive whole: the privileged DaemonSet is found.
    assert!(v["findings"]
        .as_array()
        .expect("f")
        .iter()
        .any(|f| f["check"] == "KSPM-W-001"));
    assert_eq!(v["clusters"][0]["kinds"]["Deployment"], 1);
    // The expired continue token made the collector relist from the start.
    let log = server.log();
    assert!(
        log.iter()
            .filter(|r| r.path.ends_with("/deployments"))
            .count()
            >= 3,
        "429 and 500 were retried"
    );
    // A forbidden kind is a coverage gap: reported, and the RBAC checks are not assessable.
    let errors = v["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e["message"]
            .as_str()
            .unwrap_or("")
            .contains("forbidden to list clusterroles")),
        "{errors:?}"
    );
    assert!(!v["findings"]
        .as_array()
        .expect("f")
        .iter()
        .any(|f| f["check"].as_str().unwrap_or("").starts_with("KSPM-R-")));
    let cis = v["compliance"]
        .as_array()
        .expect("c")
        .iter()
        .find(|c| c["framework"] == "cis-kubernetes")
        .expect("cis");
    let c511 = cis["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .find(|c| c["id"] == "5.1.1")
        .expect("5.1.1");
    assert_eq!(c511["status"], "not_assessable");
    assert!(c511["reason"]
        .as_str()
        .unwrap_or("")
        .contains("ClusterRole"));
}

#[test]
fn unreachable_cluster_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("kubeconfig");
    fs::write(&cfg, "apiVersion: v1\nkind: Config\nclusters:\n- name: x\n  cluster: {server: 'http://127.0.0.1:9'}\ncontexts:\n- name: x\n  context: {cluster: x, user: u}\nusers:\n- name: u\n  user: {token: t}\ncurrent-context: x\n").expect("write");
    let out = kspm(&[
        "scan",
        "--kubeconfig",
        cfg.to_str().expect("utf8"),
        "--qps",
        "1000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the API server"));
    let rbac = kspm(&["collector-rbac"]);
    let text = String::from_utf8_lossy(&rbac.stdout);
    assert!(
        text.contains("kind: ClusterRole") && !text.contains("verbs: [get, list, watch, create")
    );
}

/// Runs `kspm watch`'s loop against `kubeconfig` on its own thread; every update arrives on the
/// returned channel, and the loop ends once the receiver is dropped.
fn spawn_watch(
    kubeconfig: std::path::PathBuf,
    page_size: u32,
    settle: std::time::Duration,
) -> (
    std::sync::mpsc::Receiver<kspm_api::watch::WatchUpdate>,
    std::thread::JoinHandle<Result<(), String>>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let live = kspm_collectors::live::LiveOptions {
        kubeconfig: Some(kubeconfig),
        concurrency: 4,
        page_size,
        skip_kubelet_config: true,
        ..Default::default()
    };
    let runner = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("rt");
        rt.block_on(kspm_api::watch::run(
            &live,
            &kspm_engine::ScanOptions::default(),
            settle,
            |u| tx.send(u).is_ok(),
        ))
    });
    (rx, runner)
}

#[test]
fn watch_reports_changes_and_survives_dropped_connections_and_expired_versions() {
    use std::time::Duration;
    let server = std::sync::Arc::new(FakeApiServer::start(
        &repo().join("tests/fixtures/small-cluster"),
    ));
    let tmp = tempfile::tempdir().expect("tmp");
    let kubeconfig = server.kubeconfig(tmp.path(), "small");
    let (rx, runner) = spawn_watch(kubeconfig, 100, Duration::from_millis(30));
    let next = |what: &str| {
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no update: {what}"))
    };
    let initial = next("initial");
    assert!(
        initial.initial
            && initial
                .added_findings
                .iter()
                .any(|f| f.check == "KSPM-W-001")
    );
    let wait_watches = |n: usize| {
        for _ in 0..200 {
            if server.open_watches() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("watches not open");
    };
    wait_watches(10);
    let intruder = |name: &str| {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
        "spec": {"containers": [{"name": "c", "image": "x:1", "securityContext": {"privileged": true}}]}})
    };
    let privileged_on = |u: &kspm_api::watch::WatchUpdate, name: &str| {
        u.added_findings
            .iter()
            .any(|f| f.check == "KSPM-W-001" && f.resource == format!("Pod:shop/{name}"))
    };
    // An added pod appears within one update.
    server.emit("pods", "ADDED", intruder("intruder"));
    let u = next("added");
    assert!(
        privileged_on(&u, "intruder"),
        "{:?}",
        u.added_findings
            .iter()
            .map(|f| &f.resource)
            .collect::<Vec<_>>()
    );
    assert!(u.latency < Duration::from_secs(5));
    assert_eq!(
        u.namespaces,
        Some(1),
        "a pod re-evaluates its namespace only"
    );
    // Connections drop; a deletion made meanwhile is replayed from the resourceVersion.
    server.close_watches();
    server.emit("pods", "DELETED", intruder("intruder"));
    let u = next("deleted");
    assert!(u
        .resolved_findings
        .iter()
        .any(|f| f.resource == "Pod:shop/intruder"));
    assert!(
        u.added_findings.is_empty(),
        "nothing duplicated: {:?}",
        u.added_findings
            .iter()
            .map(|f| &f.resource)
            .collect::<Vec<_>>()
    );
    // The version expires: the client relists and keeps going.
    wait_watches(10);
    server.faults(|f| f.expire_next_watch = true);
    server.close_watches();
    std::thread::sleep(Duration::from_millis(500));
    server.emit("pods", "ADDED", intruder("second"));
    let mut seen = false;
    while let Ok(u) = rx.recv_timeout(Duration::from_secs(10)) {
        assert!(
            u.resolved_findings
                .iter()
                .all(|f| f.resource != "DaemonSet:logging/log-shipper"),
            "a relist must not lose objects"
        );
        if privileged_on(&u, "second") {
            seen = true;
            break;
        }
    }
    assert!(seen, "change after the relist was seen");
    drop(rx);
    server.emit("pods", "DELETED", intruder("second"));
    let _ = runner.join();
    assert!(server.log().iter().all(|r| r.method == "GET"));
}

/// Watch latency on a generated 10,000-pod cluster served by the fake API server: from a watch
/// event to updated findings and paths. Run: `cargo test --release --test live -- --ignored
/// watch_latency --nocapture` (numbers in docs/benchmarks.md).
#[test]
#[ignore]
fn watch_latency_on_a_10k_pod_cluster() {
    use std::time::Duration;
    let tmp = tempfile::tempdir().expect("tmp");
    kspm_fleetgen::generate(
        tmp.path(),
        kspm_fleetgen::Shape::realistic(1, 10_000, false),
        11,
    )
    .expect("generate");
    let server = std::sync::Arc::new(FakeApiServer::start(&tmp.path().join("cluster-00")));
    let kubeconfig = server.kubeconfig(tmp.path(), "cluster-00");
    let (rx, _runner) = spawn_watch(kubeconfig, 500, Duration::from_millis(10));
    let initial = rx.recv_timeout(Duration::from_secs(300)).expect("initial");
    println!(
        "initial: {} objects, {} findings in {:?}",
        initial.objects,
        initial.added_findings.len(),
        initial.latency
    );
    let report = |what: &str, mut latencies: Vec<Duration>| {
        latencies.sort();
        let p = |q: f64| latencies[((latencies.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "{what} ({} changes): p50 {:?}, p95 {:?}, max {:?}",
            latencies.len(),
            p(0.5),
            p(0.95),
            latencies[latencies.len() - 1]
        );
        p(0.95)
    };
    let probe = |i: usize, privileged: bool| {
        serde_json::json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": format!("probe-{i}"), "namespace": format!("team-{:03}", i % 7)},
            "spec": {"nodeName": "node-0001", "containers": [{"name": "c", "image": "x:1",
                "securityContext": {"privileged": privileged}}]}})
    };
    let measure = |resource: &str, event: &str, object: serde_json::Value| {
        server.emit(resource, event, object);
        let u = rx.recv_timeout(Duration::from_secs(60)).expect("update");
        (
            u.latency,
            u.namespaces.is_some(),
            u.added_findings.len() + u.resolved_findings.len(),
        )
    };
    let mut namespace_batches = Vec::new();
    // Each pod event must re-evaluate its namespace only and change findings.
    let mut p95 = Duration::ZERO;
    for (what, event, privileged, why) in [
        (
            "pod added",
            "ADDED",
            true,
            "a new privileged pod has findings",
        ),
        (
            "pod modified",
            "MODIFIED",
            false,
            "dropping privileged resolves findings",
        ),
        (
            "pod deleted",
            "DELETED",
            false,
            "a deleted pod's findings resolve",
        ),
    ] {
        let mut latencies = Vec::new();
        for i in 0..20 {
            let (l, local, changed) = measure("pods", event, probe(i, privileged));
            assert!(local && changed > 0, "{what}: {why}, in its namespace only");
            latencies.push(l);
        }
        namespace_batches.extend(latencies.iter().copied());
        let q = report(what, latencies);
        if event == "ADDED" {
            p95 = q;
        }
    }
    let all = report("namespace changes, all", namespace_batches);
    // `n` changes of one kind, each of which must re-evaluate only what reads it: its
    // quantiles, as `report` prints them.
    let local_batch =
        |what: &str,
         why: &str,
         n: usize,
         change: &dyn Fn(usize) -> (&'static str, &'static str, serde_json::Value)| {
            let latencies: Vec<Duration> = (0..n)
                .map(|i| {
                    let (resource, event, object) = change(i);
                    let (l, local, _) = measure(resource, event, object);
                    assert!(local, "{why}");
                    l
                })
                .collect();
            report(what, latencies)
        };
    // An RBAC change re-evaluates RBAC, the cluster part and the namespaces it reaches (the
    // binding's and its subject's), not the whole cluster.
    let rbac = local_batch(
        "RoleBinding added (RBAC and 2 namespaces)",
        "an RBAC change re-evaluates only what it reaches",
        5,
        &|i| {
            (
                "rolebindings",
                "ADDED",
                serde_json::json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": format!("probe-{i}"), "namespace": "team-001"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team-002"}]}),
            )
        },
    );
    // A ServiceAccount (with a cloud identity annotation) and a token Secret re-evaluate the
    // cluster part, their namespace and the namespaces whose grants read them, not the whole
    // cluster.
    let accounts = local_batch(
        "ServiceAccount or token Secret added",
        "an account change re-evaluates only what reads it",
        10,
        &|i| {
            let ns = format!("team-{:03}", 10 + i);
            if i % 2 == 0 {
                (
                    "serviceaccounts",
                    "ADDED",
                    serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": format!("probe-{i}"), "namespace": ns,
                        "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/probe"}}}),
                )
            } else {
                (
                    "secrets",
                    "ADDED",
                    serde_json::json!({"apiVersion": "v1", "kind": "Secret",
                    "type": "kubernetes.io/service-account-token",
                    "metadata": {"name": format!("probe-{i}"), "namespace": ns,
                        "annotations": {"kubernetes.io/service-account.name": "default"}}}),
                )
            }
        },
    );
    // A node's status report (what kubelets post every few minutes) and a new node re-evaluate
    // the cluster part and the namespaces with pods on a node whose pool or presence changed:
    // here none.
    let nodes = local_batch(
        "Node status report or node added",
        "a node change re-evaluates only what reads it",
        10,
        &|i| {
            let name = if i % 2 == 0 {
                format!("node-{:04}", i)
            } else {
                format!("probe-node-{i}")
            };
            let node = serde_json::json!({"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}},
                "status": {"conditions": [{"type": "Ready", "status": "True",
                    "lastHeartbeatTime": format!("2026-12-06T12:00:{i:02}Z")}]}});
            ("nodes", if i % 2 == 0 { "MODIFIED" } else { "ADDED" }, node)
        },
    );
    // A Namespace's annotations: its own namespace.
    let annotated = local_batch(
        "Namespace annotated",
        "a Namespace's annotations re-evaluate its namespace",
        10,
        &|i| {
            let name = format!("team-{:03}", 20 + i);
            let mut namespace = server
                .stored("Namespace", None, &name)
                .expect("generated namespace");
            namespace["metadata"]["annotations"] =
                serde_json::json!({"kspm.io/ignore": "KSPM-N-001"});
            ("namespaces", "MODIFIED", namespace)
        },
    );
    // A Namespace's labels: the cluster part, its namespace and what reads them (namespace
    // selectors that now say otherwise of it; where its Pod Security guard changed, the
    // namespaces whose ServiceAccounts may create or change workloads there).
    let relabeled = local_batch(
        "Namespace relabeled (a team label, a Pod Security level)",
        "a Namespace's labels re-evaluate only what reads them",
        10,
        &|i| {
            let name = format!("team-{:03}", 30 + i);
            let mut namespace = server
                .stored("Namespace", None, &name)
                .expect("generated namespace");
            let (key, value) = if i % 2 == 0 {
                ("team", "payments")
            } else {
                ("pod-security.kubernetes.io/enforce", "restricted")
            };
            namespace["metadata"]["labels"][key] = serde_json::json!(value);
            ("namespaces", "MODIFIED", namespace)
        },
    );
    assert!(
        p95 < Duration::from_secs(1)
            && all < Duration::from_secs(1)
            && rbac < Duration::from_secs(1)
            && accounts < Duration::from_secs(1)
            && nodes < Duration::from_secs(1)
            && annotated < Duration::from_secs(1)
            && relabeled < Duration::from_secs(1)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read dir") {
        let p = e.expect("entry").path();
        let dest = to.join(p.file_name().expect("name"));
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            fs::copy(&p, &dest).expect("copy");
        }
    }
}

/// `kspm collect --redact` writes no value a check does not need, and the redacted snapshot
/// scans to the same findings and paths as the full one (the demo EKS cluster, plus values of
/// every kind the redaction replaces).
#[test]
fn redacted_snapshots_keep_the_findings_and_drop_the_values() {
    let canary = "CanaryLiteral7f3e";
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("eks");
    copy_dir(&repo().join("examples/demo-fleet/eks-prod-us-east-1"), &dir);
    fs::write(
        dir.join("canary.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: canary\n  namespace: shop\n  annotations:\n    example.com/deploy-key: ghp_{canary}0123456789\nspec:\n  selector: {{matchLabels: {{app: canary}}}}\n  template:\n    metadata: {{labels: {{app: canary}}}}\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.27\n        args: [\"--token={canary}\", \"--db-password\", \"{canary}\"]\n        env:\n        - {{name: DB_PASSWORD, value: {canary}}}\n        - {{name: GREETING, value: {canary}}}\n        readinessProbe:\n          httpGet:\n            path: /\n            port: 80\n            httpHeaders: [{{name: Authorization, value: {canary}}}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app-config, namespace: shop}}\ndata:\n  api_token: {canary}\n  settings.ini: \"color=blue\\nsecret={canary}\\n\"\n"
        ),
    )
    .expect("write");
    let server = FakeApiServer::start(&dir);
    let kubeconfig = server.kubeconfig(tmp.path(), "eks-prod-us-east-1");
    let k = kubeconfig.to_str().expect("utf8");
    let collect = |out: &Path, redact: bool| {
        let mut args = vec![
            "collect",
            "--kubeconfig",
            k,
            "--out",
            out.to_str().expect("utf8"),
        ];
        if redact {
            args.push("--redact");
        }
        let o = kspm(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let (full, redacted) = (tmp.path().join("full"), tmp.path().join("redacted"));
    collect(&full, false);
    collect(&redacted, true);
    let written = |d: &Path| -> String {
        fs::read_dir(d)
            .expect("collected")
            .map(|e| fs::read_to_string(e.expect("entry").path()).unwrap_or_default())
            .collect()
    };
    assert!(
        written(&full).contains(canary),
        "the full snapshot holds the values"
    );
    assert!(
        !written(&redacted).contains(canary),
        "a value survived --redact"
    );
    assert!(written(&redacted).contains("\"DB_PASSWORD\""));
    let scan = |d: &Path| {
        let mut v = scan_json(&[d.to_str().expect("utf8")]);
        // The two snapshots are different directories; the reports name their files.
        let text = v.to_string().replace(d.to_str().expect("utf8"), "SNAPSHOT");
        v = serde_json::from_str(&text).expect("json");
        v
    };
    let (a, b) = (scan(&full), scan(&redacted));
    assert_eq!(essence(&a), essence(&b));
    assert!(essence(&a).0.iter().any(|f| f.contains("KSPM-S-011")));
    assert!(essence(&a).0.iter().any(|f| f.contains("KSPM-S-005")));
    assert!(essence(&a).0.iter().any(|f| f.contains("KSPM-S-006")));
}
