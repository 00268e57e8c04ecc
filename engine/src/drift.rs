//! Drift: what changed in a cluster's posture between two scans, beyond findings and paths —
//! RBAC (bindings, roles, escalation edges), policies (NetworkPolicies, Pod Security labels,
//! admission webhooks), which namespaces' pods may connect to which (the NetworkPolicies'
//! effect), image registries in use and services exposed to the internet.
//!
//! [`Facts`] is a compact, serialisable digest of one cluster, small enough to keep with every
//! scan; [`diff`] compares two digests. Findings and paths are compared by [`finding_key`] and
//! path ID.

use crate::graph::{AttackGraph, NodeKind, Technique, OPEN_PORTS};
use crate::image::parse_image;
use crate::inventory::Inventory;
use crate::report::Finding;
use crate::snapshot::ClusterSnapshot;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Drift categories, in report order.
pub const CATEGORIES: &[&str] = &[
    "rbac_binding",
    "rbac_role",
    "escalation_edge",
    "network_policy",
    "segmentation",
    "pod_security_label",
    "admission_webhook",
    "image_registry",
    "exposed_service",
];

/// One cluster's posture digest: per category, item → canonical description.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Category → item → value (canonical JSON or text).
    pub categories: BTreeMap<String, BTreeMap<String, String>>,
}

/// One changed item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// One of [`CATEGORIES`].
    pub category: String,
    /// Resource reference or edge.
    pub item: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    /// Before (absent when added).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// After (absent when removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

/// The identity of a finding across scans: cluster, check, resource and message.
pub fn finding_key(f: &Finding) -> String {
    key(&f.cluster, &f.check, &f.resource, &f.message)
}

/// [`finding_key`] of a finding in report JSON (as the service stores it).
pub fn finding_key_json(f: &Value) -> String {
    let s = |k: &str| f.get(k).and_then(Value::as_str).unwrap_or("");
    key(s("cluster"), s("check"), s("resource"), s("message"))
}

/// The one spelling of a finding's key, whichever form the finding is read from.
fn key(cluster: &str, check: &str, resource: &str, message: &str) -> String {
    format!("{cluster}|{check}|{resource}|{message}")
}

fn canonical(v: Option<&Value>) -> String {
    // serde_json maps are ordered (BTreeMap), so this is canonical.
    v.map(Value::to_string).unwrap_or_else(|| "null".into())
}

impl Facts {
    /// Records `value` for `item` of category `cat`.
    fn put(&mut self, cat: &str, item: String, value: String) {
        self.categories
            .entry(cat.to_string())
            .or_default()
            .insert(item, value);
    }

    /// Digests one cluster (its objects and attack graph).
    pub fn collect(cluster: &ClusterSnapshot, graph: &AttackGraph) -> Facts {
        let mut f = Facts::of_objects(&Inventory::new(cluster));
        f.categories.extend(Facts::of_graph(graph).categories);
        f
    }

    /// The part of [`Facts::collect`] its objects give (RBAC, NetworkPolicies, Pod Security
    /// labels, admission webhooks, image registries); none of its categories is
    /// [`Facts::of_graph`]'s.
    pub fn of_objects(inv: &Inventory<'_>) -> Facts {
        let mut f = Facts::default();
        for kind in ["RoleBinding", "ClusterRoleBinding"] {
            for b in inv.of_kind(kind) {
                let value = serde_json::json!({
                    "roleRef": b.body.get("roleRef"),
                    "subjects": b.body.get("subjects"),
                });
                f.put("rbac_binding", b.node_ref(), value.to_string());
            }
        }
        for kind in ["Role", "ClusterRole"] {
            for r in inv.of_kind(kind) {
                let value = serde_json::json!({
                    "rules": r.body.get("rules"),
                    "aggregationRule": r.body.get("aggregationRule"),
                });
                f.put("rbac_role", r.node_ref(), value.to_string());
            }
        }
        for p in inv.of_kind("NetworkPolicy") {
            f.put(
                "network_policy",
                p.node_ref(),
                canonical(p.body.get("spec")),
            );
        }
        for ns in inv.of_kind("Namespace") {
            let labels: BTreeMap<&String, &String> = ns
                .labels
                .iter()
                .filter(|(k, _)| k.starts_with("pod-security.kubernetes.io/"))
                .collect();
            if !labels.is_empty() {
                f.put(
                    "pod_security_label",
                    ns.node_ref(),
                    serde_json::to_string(&labels).unwrap_or_default(),
                );
            }
        }
        for kind in [
            "ValidatingWebhookConfiguration",
            "MutatingWebhookConfiguration",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        ] {
            for w in inv.of_kind(kind) {
                let body = w.body.get("webhooks").or_else(|| w.body.get("spec"));
                f.put("admission_webhook", w.node_ref(), canonical(body));
            }
        }
        let mut registries: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for t in inv.pod_templates() {
            for c in t.containers() {
                let image = c.image();
                if !image.is_empty() {
                    registries
                        .entry(parse_image(image).registry.to_string())
                        .or_default()
                        .insert(t.owner.node_ref());
                }
            }
        }
        for (registry, users) in registries {
            f.put(
                "image_registry",
                registry,
                format!("{} workload(s)", users.len()),
            );
        }
        f
    }

    /// The part of [`Facts::collect`] its attack graph gives (exposed Services, segmentation,
    /// escalation edges).
    pub fn of_graph(graph: &AttackGraph) -> Facts {
        let mut f = Facts::default();
        let g = &graph.graph;
        let mut reach: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in g.edge_indices() {
            let Some((a, b)) = g.edge_endpoints(e) else {
                continue;
            };
            let (from, to, edge) = (&g[a], &g[b], &g[e]);
            if from.kind == NodeKind::Internet {
                f.put(
                    "exposed_service",
                    to.reference.clone(),
                    format!("{}: {}", edge.technique.id(), edge.evidence),
                );
            } else if edge.technique == Technique::NETWORK_REACH {
                // "Namespace X became reachable from Y": segments are named after what the
                // policies read, so namespaces are the stable unit.
                let sources: BTreeSet<&str> = g
                    .neighbors_directed(a, petgraph::Direction::Incoming)
                    .filter_map(|w| namespace_of(&g[w].reference))
                    .collect();
                let ports: Vec<petgraph::graph::NodeIndex> = if to.reference == OPEN_PORTS {
                    g.neighbors_directed(b, petgraph::Direction::Outgoing)
                        .collect()
                } else {
                    vec![b]
                };
                for p in ports {
                    for e in g.neighbors_directed(p, petgraph::Direction::Outgoing) {
                        let Some(workload) = g[e].reference.strip_prefix("Endpoint:") else {
                            continue;
                        };
                        let Some(dst) = namespace_of(workload) else {
                            continue;
                        };
                        for src in &sources {
                            reach
                                .entry(format!("{src} → {dst}"))
                                .or_default()
                                .insert(workload.to_string());
                        }
                    }
                }
            } else if edge.technique.is_attack()
                && matches!(
                    from.kind,
                    NodeKind::ServiceAccount | NodeKind::User | NodeKind::Group
                )
            {
                // What identities can do: the edges RBAC (and cloud IAM) changes create.
                f.put(
                    "escalation_edge",
                    format!(
                        "{} → {} ({})",
                        from.reference,
                        to.reference,
                        edge.technique.id()
                    ),
                    edge.evidence.clone(),
                );
            }
        }
        for (item, workloads) in reach {
            f.put(
                "segmentation",
                item,
                format!("{} listening workload(s) reachable", workloads.len()),
            );
        }
        f
    }
}

/// The namespace of a workload reference (`Deployment:shop/web` → `shop`).
fn namespace_of(reference: &str) -> Option<&str> {
    let (_, rest) = reference.split_once(':')?;
    rest.split_once('/').map(|(ns, _)| ns)
}

/// What changed from `old` to `new`, category by category, items in order.
pub fn diff(old: &Facts, new: &Facts) -> Vec<Change> {
    let empty = BTreeMap::new();
    let mut out = Vec::new();
    for cat in CATEGORIES {
        let a = old.categories.get(*cat).unwrap_or(&empty);
        let b = new.categories.get(*cat).unwrap_or(&empty);
        let items: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        for item in items {
            let (before, after) = (a.get(item), b.get(item));
            let change = match (before, after) {
                (None, Some(_)) => "added",
                (Some(_), None) => "removed",
                (Some(x), Some(y)) if x != y => "changed",
                _ => continue,
            };
            out.push(Change {
                category: cat.to_string(),
                item: item.clone(),
                change: change.into(),
                before: before.cloned(),
                after: after.cloned(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};
    use crate::rbac::Rbac;

    fn facts(yaml: &str) -> Facts {
        let mut c = ClusterSnapshot::default();
        c.info.name = "c".into();
        c.objects = parse_text(yaml, "t.yaml", Syntax::Yaml).objects;
        let inv = Inventory::new(&c);
        let rbac = Rbac::build(&c.objects, None);
        let mut g = AttackGraph::default();
        g.build_cluster(&c, &inv, &rbac);
        Facts::collect(&c, &g)
    }

    const BASE: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {pod-security.kubernetes.io/enforce: restricted}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: ci, namespace: shop}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ci, namespace: shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: ci
      containers: [{name: web, image: registry.example.com/web:1.0}]
"#;

    #[test]
    fn segmentation_changes_are_drift() {
        let listening = BASE.replace(
            "image: registry.example.com/web:1.0}",
            "image: registry.example.com/web:1.0, ports: [{containerPort: 8080}]}",
        ) + r#"
---
apiVersion: v1
kind: Namespace
metadata: {name: ops}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tool, namespace: ops}
spec:
  selector: {matchLabels: {app: tool}}
  template:
    metadata: {labels: {app: tool}}
    spec: {containers: [{name: tool, image: registry.example.com/tool:1.0}]}
"#;
        let before = facts(&listening);
        let seg = &before.categories["segmentation"];
        assert_eq!(
            seg.get("ops → shop").map(String::as_str),
            Some("1 listening workload(s) reachable"),
            "{before:#?}"
        );
        assert!(seg.contains_key("shop → shop"));
        // tool listens on nothing: no namespace reaches ops.
        assert!(!seg.keys().any(|k| k.ends_with("→ ops")));
        let denied = listening.clone()
            + r#"
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Ingress]}
"#;
        let changes = diff(&before, &facts(&denied));
        let seg = |change: &str, item: &str| {
            changes
                .iter()
                .any(|c| c.category == "segmentation" && c.change == change && c.item == item)
        };
        assert!(seg("removed", "ops → shop"), "{changes:#?}");
        assert!(seg("removed", "shop → shop"), "{changes:#?}");
        assert!(!changes
            .iter()
            .any(|c| c.category == "segmentation" && c.change == "added"));
    }

    /// A finding's key is the same read from the type (drift of report files) or from its JSON
    /// (the service's store): the two must agree or the same finding would look new.
    #[test]
    fn a_findings_key_is_one_whichever_form_it_is_read_from() {
        let f: Finding = serde_json::from_value(serde_json::json!({"check": "KSPM-W-001",
            "title": "t", "severity": "high", "cluster": "c|d", "resource": "Pod:ns/p",
            "message": "container `a` is privileged", "remediation": "r"}))
        .expect("finding");
        let json = serde_json::to_value(&f).expect("json");
        assert_eq!(finding_key(&f), finding_key_json(&json));
        assert_eq!(
            finding_key(&f),
            "c|d|KSPM-W-001|Pod:ns/p|container `a` is privileged"
        );
        let mut other = f.clone();
        other.message = "container `b` is privileged".into();
        assert_ne!(finding_key(&other), finding_key_json(&json));
    }

    #[test]
    fn identical_inputs_have_no_drift() {
        assert!(diff(&facts(BASE), &facts(BASE)).is_empty());
    }

    #[test]
    fn widened_role_new_escalation_relabelled_namespace_new_registry_and_exposure() {
        let widened = BASE
            .replace(
                "resources: [pods], verbs: [get]",
                "resources: [\"*\"], verbs: [\"*\"]",
            )
            .replace("enforce: restricted", "enforce: privileged")
            .replace("registry.example.com/web:1.0", "docker.io/evil/web:latest")
            + r#"
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
status: {loadBalancer: {ingress: [{ip: 203.0.113.7}]}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {podSelector: {}, policyTypes: [Egress]}
"#;
        let changes = diff(&facts(BASE), &facts(&widened));
        let has = |cat: &str, change: &str, item: &str| {
            changes
                .iter()
                .any(|c| c.category == cat && c.change == change && c.item.contains(item))
        };
        assert!(
            has("rbac_role", "changed", "Role:shop/reader"),
            "{changes:#?}"
        );
        assert!(has("pod_security_label", "changed", "Namespace:shop"));
        assert!(has("image_registry", "added", "docker.io"));
        assert!(has("image_registry", "removed", "registry.example.com"));
        assert!(has("network_policy", "added", "NetworkPolicy:shop/deny"));
        assert!(has("exposed_service", "added", "Service:shop/web"));
        assert!(
            has("escalation_edge", "added", "ServiceAccount:shop/ci"),
            "{changes:#?}"
        );
        // Nothing about the unchanged binding.
        assert!(!changes.iter().any(|c| c.category == "rbac_binding"));
        // Reversed, every change flips.
        let back = diff(&facts(&widened), &facts(BASE));
        assert_eq!(back.len(), changes.len());
    }

    #[test]
    fn removed_binding_is_reported_with_its_old_value() {
        let without = BASE.replace("kind: RoleBinding", "kind: ConfigMap");
        let changes = diff(&facts(BASE), &facts(&without));
        let c = changes
            .iter()
            .find(|c| c.category == "rbac_binding")
            .expect("binding removed");
        assert_eq!(c.change, "removed");
        assert!(c.before.as_deref().unwrap_or("").contains("reader"));
        assert!(c.after.is_none());
    }
}
