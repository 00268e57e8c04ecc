//! The RBAC checks' cases: for each check an input it must fail and one it must pass
//! (`checks::cases` runs every family's).

use crate::checks::cases::*;
use crate::options::ScanOptions;
use crate::snapshot::Provider;
use serde_json::{json, Value};

fn granted(rules: Value) -> Vec<Value> {
    vec![
        role("ClusterRole", rules),
        binding("ClusterRoleBinding", "ClusterRole", "r", alice()),
    ]
}

/// One case per check of the family.
pub(crate) fn cases() -> Vec<Case> {
    vec![
        case(
            "KSPM-R-001",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "cluster-admin",
                alice(),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "cluster-admin",
                json!([{"kind": "Group", "name": "system:masters"}]),
            )],
        ),
        case(
            "KSPM-R-002",
            vec![role("ClusterRole", rule(&["*"], &[""], &["pods"]))],
            vec![role("ClusterRole", rule(&["get"], &[""], &["pods"]))],
        ),
        case(
            "KSPM-R-003",
            granted(rule(&["list"], &[""], &["secrets"])),
            granted(rule(&["list"], &[""], &["configmaps"])),
        ),
        case(
            "KSPM-R-004",
            vec![
                role("Role", rule(&["get"], &[""], &["secrets"])),
                binding("RoleBinding", "Role", "r", alice()),
            ],
            vec![
                role("Role", rule(&["get"], &[""], &["configmaps"])),
                binding("RoleBinding", "Role", "r", alice()),
            ],
        ),
        case(
            "KSPM-R-005",
            granted(rule(&["create"], &["batch"], &["jobs"])),
            granted(rule(&["get", "list"], &["batch"], &["jobs"])),
        ),
        case(
            "KSPM-R-006",
            granted(rule(&["get"], &[""], &["pods/exec"])),
            granted(rule(&["get"], &[""], &["pods/log"])),
        ),
        case(
            "KSPM-R-007",
            granted(rule(&["create"], &[""], &["nodes/proxy"])),
            // The kubelet never authorizes update, patch or delete on nodes/proxy.
            granted(rule(
                &["update", "patch", "delete"],
                &[""],
                &["nodes/proxy"],
            )),
        ),
        case(
            "KSPM-R-008",
            granted(rule(&["impersonate"], &[""], &["serviceaccounts"])),
            granted(rule(&["get"], &[""], &["serviceaccounts"])),
        ),
        case(
            "KSPM-R-009",
            granted(json!([
                {"verbs": ["update"], "apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"]},
                {"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": ["kubernetes.io/kube-apiserver-client"]},
            ])),
            // The approval subresource without `approve` on any signer approves nothing
            // (argocd-server's `patch` on every resource).
            granted(json!([
                {"verbs": ["patch", "update"], "apiGroups": ["*"], "resources": ["*"]},
                {"verbs": ["approve"], "apiGroups": ["certificates.k8s.io"], "resources": ["signers"], "resourceNames": ["example.com/internal"]},
            ])),
        ),
        case(
            "KSPM-R-010",
            granted(rule(
                &["patch"],
                &["admissionregistration.k8s.io"],
                &["mutatingwebhookconfigurations"],
            )),
            granted(rule(
                &["list"],
                &["admissionregistration.k8s.io"],
                &["mutatingwebhookconfigurations"],
            )),
        ),
        case(
            "KSPM-R-011",
            granted(rule(&["create"], &[""], &["persistentvolumes"])),
            granted(rule(&["create"], &[""], &["persistentvolumeclaims"])),
        ),
        case(
            "KSPM-R-012",
            granted(rule(&["create"], &[""], &["serviceaccounts/token"])),
            granted(rule(&["get"], &[""], &["serviceaccounts"])),
        ),
        case(
            "KSPM-R-013",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "Group", "name": "system:unauthenticated"}]),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                alice(),
            )],
        ),
        case(
            "KSPM-R-014",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "Group", "name": "system:authenticated"}]),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                alice(),
            )],
        ),
        case(
            "KSPM-R-015",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "Group", "name": "system:masters"}]),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                alice(),
            )],
        ),
        case(
            "KSPM-R-016",
            vec![binding(
                "RoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "ServiceAccount", "name": "default"}]),
            )],
            vec![binding(
                "RoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "ServiceAccount", "name": "app"}]),
            )],
        ),
        case(
            "KSPM-R-017",
            vec![binding("RoleBinding", "Role", "missing", alice())],
            vec![
                role("Role", rule(&["get"], &[""], &["pods"])),
                binding("RoleBinding", "Role", "r", alice()),
            ],
        ),
        case(
            "KSPM-R-019",
            granted(json!([{"verbs": ["patch"], "apiGroups": [""], "resources": ["configmaps"]}])),
            vec![
                role(
                    "Role",
                    json!([{"verbs": ["patch"], "apiGroups": [""], "resources": ["configmaps"]}]),
                ),
                binding("RoleBinding", "Role", "r", alice()),
            ],
        ),
        case(
            "KSPM-R-020",
            granted(rule(&["delete"], &[""], &["events"])),
            granted(rule(&["list"], &[""], &["events"])),
        ),
        case(
            "KSPM-R-025",
            vec![
                role("ClusterRole", rule(&["delete"], &["apps"], &["daemonsets"])),
                binding("ClusterRoleBinding", "ClusterRole", "r", alice()),
            ],
            // The same right in the subject's own namespace only.
            vec![
                role("ClusterRole", rule(&["delete"], &["apps"], &["daemonsets"])),
                binding("RoleBinding", "ClusterRole", "r", alice()),
            ],
        ),
        case(
            "KSPM-R-026",
            granted(rule(
                &["delete"],
                &["apiextensions.k8s.io"],
                &["customresourcedefinitions"],
            )),
            granted(rule(
                &["get", "list"],
                &["apiextensions.k8s.io"],
                &["customresourcedefinitions"],
            )),
        ),
        case(
            "KSPM-R-027",
            granted(rule(&["delete"], &[""], &["namespaces"])),
            granted(rule(&["delete"], &[""], &["persistentvolumeclaims"])),
        ),
        case(
            "KSPM-R-021",
            granted(rule(&["patch"], &["discovery.k8s.io"], &["endpointslices"])),
            granted(rule(&["get"], &["discovery.k8s.io"], &["endpointslices"])),
        ),
        case(
            "KSPM-R-022",
            granted(rule(
                &["create"],
                &["rbac.authorization.k8s.io"],
                &["rolebindings"],
            )),
            granted(rule(
                &["list"],
                &["rbac.authorization.k8s.io"],
                &["rolebindings"],
            )),
        ),
        case(
            "KSPM-R-023",
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                json!([{"kind": "ServiceAccount", "name": "kubernetes-dashboard", "namespace": "kubernetes-dashboard"}]),
            )],
            vec![binding(
                "ClusterRoleBinding",
                "ClusterRole",
                "view",
                alice(),
            )],
        ),
        Case {
            provider: Provider::Eks,
            ..case(
                "KSPM-R-018",
                granted(
                    json!([{"verbs": ["patch"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["aws-auth"]}]),
                ),
                granted(
                    json!([{"verbs": ["patch"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"]}]),
                ),
            )
        },
        case(
            "KSPM-R-024",
            vec![named(
                binding(
                    "ClusterRoleBinding",
                    "ClusterRole",
                    "cluster-admin",
                    json!([{"kind": "ServiceAccount", "name": "sa", "namespace": "shop"}]),
                ),
                "system:backdoor",
            )],
            vec![named(
                binding(
                    "ClusterRoleBinding",
                    "ClusterRole",
                    "system:node-proxier",
                    json!([{"kind": "User", "name": "system:kube-proxy"}]),
                ),
                "system:node-proxier",
            )],
        ),
    ]
}

/// A subject that holds a capability through several bindings is one finding that names every
/// binding; two subjects of one binding are two findings.
#[test]
fn one_finding_per_subject_and_capability() {
    let opts = ScanOptions::default();
    let sa = json!([{"kind": "ServiceAccount", "name": "app", "namespace": "shop"}]);
    let reader = role("ClusterRole", rule(&["list"], &[""], &["secrets"]));
    let objs = vec![
        reader.clone(),
        named(
            binding("ClusterRoleBinding", "ClusterRole", "r", sa.clone()),
            "b1",
        ),
        named(
            binding("ClusterRoleBinding", "ClusterRole", "r", sa.clone()),
            "b2",
        ),
        named(binding("ClusterRoleBinding", "ClusterRole", "r", sa), "b3"),
    ];
    let found = hits("KSPM-R-003", &objs, Provider::Generic, &opts);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("ClusterRoleBinding:b2") && found[0].contains("ClusterRoleBinding:b3"),
        "{found:?}"
    );
    let two = vec![
        reader,
        binding(
            "ClusterRoleBinding",
            "ClusterRole",
            "r",
            json!([{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"}]),
        ),
    ];
    assert_eq!(hits("KSPM-R-003", &two, Provider::Generic, &opts).len(), 2);
}

/// The Dashboard's stock bindings (its own Secrets and settings by name, read-only metrics) are
/// what it needs; a binding that gives it more is R-023.
#[test]
fn dashboard_stock_bindings_are_not_findings() {
    let opts = ScanOptions::default();
    let sa =
        json!([{"kind": "ServiceAccount", "name": "kubernetes-dashboard", "namespace": "shop"}]);
    let stock_role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "shop"}, "rules": [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["kubernetes-dashboard-key-holder", "kubernetes-dashboard-certs", "kubernetes-dashboard-csrf"], "verbs": ["get", "update", "delete"]},
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["kubernetes-dashboard-settings"], "verbs": ["get", "update"]},
        {"apiGroups": [""], "resources": ["services/proxy"], "resourceNames": ["heapster", "dashboard-metrics-scraper"], "verbs": ["get"]}]});
    let metrics = named(
        role(
            "ClusterRole",
            json!([{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}]),
        ),
        "metrics",
    );
    let stock = vec![
        stock_role,
        binding("RoleBinding", "Role", "r", sa.clone()),
        metrics,
        named(
            binding("ClusterRoleBinding", "ClusterRole", "metrics", sa.clone()),
            "m",
        ),
    ];
    assert!(hits("KSPM-R-023", &stock, Provider::Generic, &opts).is_empty());
    let more = vec![
        role("ClusterRole", rule(&["list"], &[""], &["secrets"])),
        binding("ClusterRoleBinding", "ClusterRole", "r", sa),
    ];
    assert_eq!(hits("KSPM-R-023", &more, Provider::Generic, &opts).len(), 1);
}

/// Destruction and evidence tampering: the delete rights on critical objects, each with where
/// it does and does not apply.
#[test]
fn delete_rights_on_critical_objects() {
    let opts = ScanOptions::default();
    let count = |id: &str, objs: &[Value]| hits(id, objs, Provider::Generic, &opts).len();
    assert_eq!(
        count(
            "KSPM-R-027",
            &granted(rule(&["delete"], &[""], &["persistentvolumes"]))
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-R-027",
            &granted(rule(&["deletecollection"], &[""], &["namespaces"]))
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-R-027",
            &granted(rule(
                &["get", "list", "watch"],
                &[""],
                &["namespaces", "persistentvolumes"]
            ))
        ),
        0
    );
    // Policy engines switched off: ValidatingAdmissionPolicy bindings count as webhooks do.
    assert_eq!(
        count(
            "KSPM-R-010",
            &granted(rule(
                &["delete"],
                &["admissionregistration.k8s.io"],
                &["validatingadmissionpolicybindings"]
            ))
        ),
        1
    );
    assert_eq!(
        count(
            "KSPM-R-010",
            &granted(rule(
                &["list"],
                &["admissionregistration.k8s.io"],
                &["validatingadmissionpolicybindings"]
            ))
        ),
        0
    );
    // A RoleBinding in kube-system gives the right there.
    let mut in_kube_system = binding("RoleBinding", "ClusterRole", "r", alice());
    in_kube_system["metadata"]["namespace"] = json!("kube-system");
    let role_ = role(
        "ClusterRole",
        rule(&["deletecollection"], &["apps"], &["deployments"]),
    );
    assert_eq!(count("KSPM-R-025", &[role_.clone(), in_kube_system]), 1);
    // ... and `*` on resources covers it.
    assert_eq!(
        count("KSPM-R-025", &granted(rule(&["delete"], &["apps"], &["*"]))),
        1
    );
    assert_eq!(
        count("KSPM-R-025", &granted(rule(&["delete"], &[""], &["pods"]))),
        0
    );
}
