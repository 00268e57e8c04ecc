//! The control-plane checks' cases: for each rule the hardened flags pass and one bad flag fails;
//! the kubeadm configuration in place of static pods (`checks::cases` runs every family's).

use super::super::{by_id, Context};
use crate::checks::cases::*;
use crate::inventory::Inventory;
use crate::options::ScanOptions;
use crate::parse::{parse_text, Syntax};
use crate::rbac::Rbac;
use crate::snapshot::{ClusterSnapshot, Provider};
use serde_json::{json, Value};

/// A control-plane static pod in kube-system running `binary` with `flags`.
fn static_pod(binary: &str, flags: &[String]) -> Value {
    let mut command = vec![binary.to_string()];
    command.extend(flags.iter().cloned());
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": format!("{binary}-cp1"), "namespace": "kube-system",
        "labels": {"component": binary, "tier": "control-plane"}},
        "spec": {"nodeName": "cp1", "hostNetwork": true, "containers": [{"name": binary, "image": format!("registry.k8s.io/{binary}:v1.31.0"), "command": command}]}})
}

/// Hardened flags of each control-plane component (what passes every rule).
fn hardened(binary: &str) -> Vec<String> {
    let flags: &[&str] = match binary {
        "kube-apiserver" => &[
            "--anonymous-auth=false",
            "--authorization-mode=Node,RBAC",
            "--client-ca-file=/pki/ca.crt",
            "--enable-admission-plugins=NodeRestriction",
            "--etcd-cafile=/pki/etcd/ca.crt",
            "--etcd-certfile=/pki/etcd-client.crt",
            "--etcd-keyfile=/pki/etcd-client.key",
            "--kubelet-client-certificate=/pki/kc.crt",
            "--kubelet-client-key=/pki/kc.key",
            "--kubelet-certificate-authority=/pki/ca.crt",
            "--profiling=false",
            "--audit-log-path=/var/log/audit.log",
            "--audit-policy-file=/etc/kubernetes/audit-policy.yaml",
            "--audit-log-maxage=30",
            "--audit-log-maxbackup=10",
            "--audit-log-maxsize=100",
            "--service-account-key-file=/pki/sa.pub",
            "--tls-cert-file=/pki/apiserver.crt",
            "--tls-private-key-file=/pki/apiserver.key",
            "--encryption-provider-config=/etc/kubernetes/enc.yaml",
        ],
        "kube-controller-manager" => &[
            "--profiling=false",
            "--use-service-account-credentials=true",
            "--service-account-private-key-file=/pki/sa.key",
            "--root-ca-file=/pki/ca.crt",
            "--bind-address=127.0.0.1",
        ],
        "kube-scheduler" => &["--profiling=false", "--bind-address=127.0.0.1"],
        _ => &[
            "--cert-file=/pki/etcd/server.crt",
            "--key-file=/pki/etcd/server.key",
            "--client-cert-auth=true",
            "--peer-cert-file=/pki/etcd/peer.crt",
            "--peer-key-file=/pki/etcd/peer.key",
            "--peer-client-cert-auth=true",
            "--trusted-ca-file=/pki/etcd/ca.crt",
        ],
    };
    flags.iter().map(|f| f.to_string()).collect()
}

/// `hardened(binary)` with `flag` replaced by `value` (`None`: removed).
fn changed(binary: &str, flag: &str, value: Option<&str>) -> Value {
    let mut flags: Vec<String> = hardened(binary)
        .into_iter()
        .filter(|f| f.split('=').next() != Some(flag))
        .collect();
    if let Some(v) = value {
        flags.push(format!("{flag}={v}"));
    }
    static_pod(binary, &flags)
}

/// One case per control-plane rule: the hardened flags pass, one bad flag fails.
pub(crate) fn cases() -> Vec<Case> {
    let api = "kube-apiserver";
    let cm = "kube-controller-manager";
    let sched = "kube-scheduler";
    let etcd = "etcd";
    let good = |b: &str| vec![static_pod(b, &hardened(b))];
    let bad = |b: &str, flag: &str, v: Option<&str>| vec![changed(b, flag, v)];
    vec![
        case("KSPM-C-001", bad(api, "--anonymous-auth", None), good(api)),
        case(
            "KSPM-C-002",
            bad(api, "--token-auth-file", Some("/etc/tokens.csv")),
            good(api),
        ),
        case(
            "KSPM-C-003",
            bad(api, "--kubelet-client-key", None),
            good(api),
        ),
        case(
            "KSPM-C-004",
            bad(api, "--kubelet-certificate-authority", None),
            good(api),
        ),
        case(
            "KSPM-C-005",
            bad(api, "--authorization-mode", None),
            good(api),
        ),
        case(
            "KSPM-C-006",
            bad(api, "--authorization-mode", Some("RBAC")),
            good(api),
        ),
        case(
            "KSPM-C-007",
            bad(api, "--authorization-mode", Some("Node,ABAC")),
            good(api),
        ),
        case(
            "KSPM-C-008",
            bad(
                api,
                "--enable-admission-plugins",
                Some("NodeRestriction,AlwaysAdmit"),
            ),
            good(api),
        ),
        case(
            "KSPM-C-009",
            bad(api, "--disable-admission-plugins", Some("ServiceAccount")),
            good(api),
        ),
        case(
            "KSPM-C-010",
            bad(api, "--enable-admission-plugins", Some("PodSecurity")),
            good(api),
        ),
        case(
            "KSPM-C-011",
            bad(api, "--profiling", Some("true")),
            good(api),
        ),
        case("KSPM-C-012", bad(api, "--audit-log-path", None), good(api)),
        case(
            "KSPM-C-013",
            bad(api, "--audit-log-maxage", Some("7")),
            good(api),
        ),
        case(
            "KSPM-C-014",
            bad(api, "--service-account-lookup", Some("false")),
            good(api),
        ),
        case(
            "KSPM-C-015",
            bad(api, "--service-account-key-file", None),
            good(api),
        ),
        case("KSPM-C-016", bad(api, "--etcd-cafile", None), good(api)),
        case("KSPM-C-017", bad(api, "--client-ca-file", None), good(api)),
        case(
            "KSPM-C-018",
            bad(api, "--encryption-provider-config", None),
            good(api),
        ),
        case(
            "KSPM-C-019",
            bad(api, "--insecure-port", Some("8080")),
            vec![changed(api, "--insecure-port", Some("0"))],
        ),
        case("KSPM-C-020", bad(cm, "--profiling", None), good(cm)),
        case(
            "KSPM-C-021",
            bad(cm, "--use-service-account-credentials", None),
            good(cm),
        ),
        case("KSPM-C-022", bad(cm, "--root-ca-file", None), good(cm)),
        case(
            "KSPM-C-023",
            bad(
                cm,
                "--feature-gates",
                Some("RotateKubeletServerCertificate=false"),
            ),
            good(cm),
        ),
        case("KSPM-C-024", bad(cm, "--bind-address", None), good(cm)),
        case(
            "KSPM-C-025",
            bad(sched, "--profiling", Some("true")),
            good(sched),
        ),
        case(
            "KSPM-C-026",
            bad(sched, "--bind-address", Some("0.0.0.0")),
            good(sched),
        ),
        case("KSPM-C-027", bad(etcd, "--key-file", None), good(etcd)),
        case(
            "KSPM-C-028",
            bad(etcd, "--client-cert-auth", None),
            good(etcd),
        ),
        case(
            "KSPM-C-029",
            bad(etcd, "--auto-tls", Some("true")),
            good(etcd),
        ),
        case(
            "KSPM-C-030",
            bad(etcd, "--peer-client-cert-auth", Some("false")),
            good(etcd),
        ),
        case(
            "KSPM-C-031",
            bad(etcd, "--peer-auto-tls", Some("true")),
            good(etcd),
        ),
    ]
}

/// The kubeadm ClusterConfiguration stands in for missing static pods: kubeadm's own flags
/// pass what they should, `extraArgs` (map or v1beta4 list) override them; an external etcd is
/// not graded; a managed cluster's controls are not assessable.
#[test]
fn kubeadm_configuration_and_managed_control_planes() {
    let opts = ScanOptions::default();
    let kubeadm = |config: &str| {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kubeadm-config", "namespace": "kube-system"},
            "data": {"ClusterConfiguration": config}})
    };
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    let plain = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\n");
    // kubeadm sets Node,RBAC, NodeRestriction, TLS and etcd client certificates...
    for id in [
        "KSPM-C-005",
        "KSPM-C-006",
        "KSPM-C-007",
        "KSPM-C-010",
        "KSPM-C-016",
        "KSPM-C-017",
        "KSPM-C-021",
        "KSPM-C-024",
        "KSPM-C-028",
    ] {
        assert_eq!(count(id, std::slice::from_ref(&plain)), 0, "{id}");
    }
    // ... but not profiling=false, audit logging or encryption at rest.
    for id in [
        "KSPM-C-011",
        "KSPM-C-012",
        "KSPM-C-018",
        "KSPM-C-020",
        "KSPM-C-025",
    ] {
        assert_eq!(count(id, std::slice::from_ref(&plain)), 1, "{id}");
    }
    let v1beta3 = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n    authorization-mode: AlwaysAllow\n    profiling: \"false\"\n");
    assert_eq!(count("KSPM-C-005", std::slice::from_ref(&v1beta3)), 1);
    assert_eq!(count("KSPM-C-011", std::slice::from_ref(&v1beta3)), 0);
    let v1beta4 = kubeadm("apiVersion: kubeadm.k8s.io/v1beta4\nkind: ClusterConfiguration\napiServer:\n  extraArgs:\n  - name: enable-admission-plugins\n    value: PodSecurity\n");
    assert_eq!(count("KSPM-C-010", std::slice::from_ref(&v1beta4)), 1);
    let external = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [https://etcd:2379]\n");
    assert_eq!(count("KSPM-C-028", std::slice::from_ref(&external)), 0);
    // A static pod wins over the configuration for its component.
    let pod = changed(
        "kube-apiserver",
        "--authorization-mode",
        Some("AlwaysAllow"),
    );
    assert_eq!(count("KSPM-C-005", &[pod, plain.clone()]), 1);
    // The binary decides, not the name: a pod named like the API server running something else
    // is not graded, a renamed one running kube-apiserver is.
    let mut imposter = static_pod("kube-apiserver", &[]);
    imposter["spec"]["containers"][0]["command"] = json!(["/bin/sh", "-c", "sleep 1d"]);
    assert_eq!(count("KSPM-C-005", &[imposter]), 0);
    let mut renamed = static_pod("/usr/local/bin/kube-apiserver", &[]);
    renamed["metadata"]["name"] = json!("api");
    renamed["metadata"]["labels"] = json!({});
    assert_eq!(count("KSPM-C-005", &[renamed]), 1);
    // Only kube-system's components are the control plane: an etcd elsewhere is a workload,
    // and does not hide the kubeadm configuration's etcd.
    let mut tenant_etcd = static_pod("etcd", &[]);
    tenant_etcd["metadata"]["namespace"] = json!("tenant");
    assert_eq!(count("KSPM-C-028", std::slice::from_ref(&tenant_etcd)), 0);
    let insecure_etcd = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  local:\n    extraArgs:\n      client-cert-auth: \"false\"\n");
    assert_eq!(count("KSPM-C-028", &[tenant_etcd, insecure_etcd]), 1);
    // Repeated list flags add up: AlwaysAllow cannot hide behind a later --authorization-mode.
    let mut flags = hardened("kube-apiserver");
    flags.push("--authorization-mode=AlwaysAllow".into());
    assert_eq!(
        count("KSPM-C-005", &[static_pod("kube-apiserver", &flags)]),
        1
    );
    // An external etcd: the API server's etcd client flags come from etcd.external.
    let no_tls = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [http://etcd:2379]\n");
    assert_eq!(count("KSPM-C-016", std::slice::from_ref(&no_tls)), 1);
    let tls = kubeadm("apiVersion: kubeadm.k8s.io/v1beta3\nkind: ClusterConfiguration\netcd:\n  external:\n    endpoints: [https://etcd:2379]\n    caFile: /pki/ca.crt\n    certFile: /pki/c.crt\n    keyFile: /pki/c.key\n");
    assert_eq!(count("KSPM-C-016", std::slice::from_ref(&tls)), 0);
    // Audit: a log path without a policy records nothing.
    assert_eq!(
        count(
            "KSPM-C-012",
            &[changed("kube-apiserver", "--audit-policy-file", None)]
        ),
        1
    );
    // Managed control planes: not assessable, with the reason.
    let out = parse_text(
        &docs(&[json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}})]),
        "x.yaml",
        Syntax::Yaml,
    );
    let mut cluster = ClusterSnapshot {
        objects: out.objects,
        ..Default::default()
    };
    cluster.info.provider = Provider::Eks;
    let inv = Inventory::new(&cluster);
    let rbac = Rbac::build_for(&cluster.objects, None, Provider::Eks);
    let ctx = Context {
        inv: &inv,
        rbac: &rbac,
        graph: None,
        options: &opts,
        reports: &crate::checks::every_object,
    };
    let why = by_id("KSPM-C-005")
        .expect("check")
        .needs
        .missing(&ctx)
        .expect("not assessable");
    assert!(why.contains("provider manages the control plane"), "{why}");
}
