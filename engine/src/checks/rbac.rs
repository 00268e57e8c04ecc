//! RBAC checks on bindings and roles as written (the effective-permission engine comes with the
//! attack graph).

use super::{Check, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::inventory::Inventory;
use crate::severity::Severity;
use serde_json::Value;

/// The RBAC checks.
pub static CHECKS: &[Check] = &[Check {
    id: "KSPM-R-001",
    title: "cluster-admin granted to a non-system subject",
    severity: Severity::High,
    description: "A (Cluster)RoleBinding grants the `cluster-admin` ClusterRole (every verb on every resource) to a user, group or ServiceAccount. Whoever holds that identity, or can run a pod as that ServiceAccount, owns the cluster (or the namespace, for a RoleBinding).",
    remediation: "Bind a narrower role that grants only what the subject needs. Keep cluster-admin for break-glass access through `system:masters` or your provider's admin mechanism.",
    kinds: &["ClusterRoleBinding", "RoleBinding"],
    controls: &[
        c(CisKubernetes, "5.1.1"),
        c(CisEks, "4.1.1"),
        c(CisGke, "4.1.1"),
        c(CisAks, "4.1.1"),
        c(NsaCisa, "N21"),
        c(Soc2, "CC6.3"),
        c(PciDss, "7.2.2"),
        c(Hipaa, "164.308(a)(4)"),
        c(Iso27001, "A.8.2"),
        c(Nist800190, "4.3.1"),
    ],
    run: cluster_admin_bindings,
}];

/// A subject string for messages: `User alice`, `ServiceAccount ci/deployer`.
fn describe_subject(s: &Value) -> Option<String> {
    let kind = s.get("kind")?.as_str()?;
    let name = s.get("name")?.as_str()?;
    Some(match (kind, s.get("namespace").and_then(Value::as_str)) {
        ("ServiceAccount", Some(ns)) => format!("ServiceAccount {ns}/{name}"),
        _ => format!("{kind} {name}"),
    })
}

/// System subjects are Kubernetes' own (`system:` users and groups); ServiceAccounts never are,
/// since any pod in their namespace can run as them.
fn is_system_subject(s: &Value) -> bool {
    let kind = s.get("kind").and_then(Value::as_str).unwrap_or("");
    let name = s.get("name").and_then(Value::as_str).unwrap_or("");
    matches!(kind, "User" | "Group")
        && name.starts_with("system:")
        && !matches!(
            name,
            "system:anonymous" | "system:unauthenticated" | "system:authenticated"
        )
}

fn cluster_admin_bindings<'a>(inv: &Inventory<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for kind in ["ClusterRoleBinding", "RoleBinding"] {
        for b in inv.of_kind(kind) {
            let role_ref = b.body.get("roleRef");
            let ref_kind = role_ref.and_then(|r| r.get("kind")).and_then(Value::as_str);
            let ref_name = role_ref.and_then(|r| r.get("name")).and_then(Value::as_str);
            if ref_kind != Some("ClusterRole") || ref_name != Some("cluster-admin") {
                continue;
            }
            let subjects = b.body.get("subjects").and_then(Value::as_array);
            let mut evidence = vec![Evidence::new("roleRef.name", "cluster-admin")];
            let mut names = Vec::new();
            for (i, s) in subjects.into_iter().flatten().enumerate() {
                if is_system_subject(s) {
                    continue;
                }
                if let Some(d) = describe_subject(s) {
                    evidence.push(Evidence::new(format!("subjects[{i}]"), s.clone()));
                    names.push(d);
                }
            }
            if names.is_empty() {
                continue;
            }
            let scope = match b.effective_namespace() {
                Some(ns) if kind == "RoleBinding" => format!("in namespace {ns}"),
                _ => "cluster-wide".to_string(),
            };
            hits.push(Hit {
                object: b,
                message: format!("grants cluster-admin {scope} to {}", names.join(", ")),
                evidence,
            });
        }
    }
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};
    use crate::snapshot::ClusterSnapshot;

    fn messages(yaml: &str) -> Vec<(String, String)> {
        let out = parse_text(yaml, "t.yaml", Syntax::Yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        let cluster = ClusterSnapshot {
            objects: out.objects,
            ..Default::default()
        };
        (CHECKS[0].run)(&Inventory::new(&cluster))
            .into_iter()
            .map(|h| (h.object.node_ref(), h.message))
            .collect()
    }

    #[test]
    fn default_masters_binding_is_fine_and_others_are_not() {
        let hits = messages(
            r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cluster-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: "system:masters"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: ci}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {kind: ServiceAccount, name: deployer, namespace: ci}
- {kind: Group, name: "system:authenticated"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-admin, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: alice}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: not-it, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cluster-admin}
subjects: [{kind: User, name: bob}]
"#,
        );
        assert_eq!(
            hits,
            vec![
                (
                    "ClusterRoleBinding:ci".to_string(),
                    "grants cluster-admin cluster-wide to ServiceAccount ci/deployer, Group system:authenticated".to_string()
                ),
                (
                    "RoleBinding:shop/team-admin".to_string(),
                    "grants cluster-admin in namespace shop to User alice".to_string()
                ),
            ]
        );
    }
}
