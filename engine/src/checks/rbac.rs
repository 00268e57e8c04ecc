//! RBAC checks on *effective* permissions: every check asks the exact authorizer
//! ([`crate::rbac::Rbac`]) whether a binding's role grants a request in the binding's scope
//! (aggregated roles recomputed, `*/subresource`, resourceNames, scope rules), and reports the
//! binding with the subjects that hold the permission.

use super::Needs;
use super::{Check, Context, Evidence, Hit};
use crate::controls::{c, Control, Framework::*};
use crate::object::Object;
use crate::options::Profile;
use crate::rbac::{sets, BindingDef, Grant, Rbac, Request, RoleKind, Subject};
use crate::severity::Severity;
use crate::snapshot::Provider;
use serde_json::Value;
use std::collections::HashMap;

const BINDING_KINDS: &[&str] = &["ClusterRoleBinding", "RoleBinding"];

/// Bindings the platform manages (Kubernetes bootstrap, kubeadm, EKS, GKE, AKS): reported
/// findings there are not actionable by the cluster's users.
pub(crate) fn is_platform_binding(b: &BindingDef) -> bool {
    b.managed
}

/// Subjects that are the control plane's own components (never the reader of a report), and
/// `system:masters` (all-powerful before RBAC is asked). Decided by what the name can
/// authenticate as: ServiceAccounts in user form, nodes, bootstrap tokens and the broad groups
/// are never hidden.
fn is_system_subject(s: &Subject) -> bool {
    crate::rbac::platform::is_component_identity(s)
        || matches!(s, Subject::Group { name } if name == crate::rbac::SYSTEM_MASTERS)
}

fn subjects_text(subjects: &[&Subject]) -> String {
    subjects
        .iter()
        .map(|s| match s {
            Subject::User { name } => format!("User {name}"),
            Subject::Group { name } => format!("Group {name}"),
            Subject::ServiceAccount { namespace, name } => {
                format!("ServiceAccount {namespace}/{name}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn binding_objects<'a>(ctx: &Context<'a>) -> HashMap<String, &'a Object> {
    BINDING_KINDS
        .iter()
        .flat_map(|k| ctx.inv.of_kind(k).iter())
        .map(|o| (o.node_ref(), *o))
        .collect()
}

/// Whether a role grants full control (`*` verbs on `*` resources in `*` groups).
fn is_admin_equivalent(rbac: &Rbac, b: &BindingDef) -> bool {
    b.role.is_some_and(|i| {
        rbac.roles[i].rules.iter().any(|r| {
            r.verbs.iter().any(|v| v == "*")
                && r.api_groups.iter().any(|g| g == "*")
                && r.resources.iter().any(|x| x == "*")
                && r.resource_names.is_empty()
        })
    })
}

/// A permission a check looks for: any of `requests` (verb, group, resource).
struct Permission<'r> {
    requests: &'r [(&'static str, &'static str, &'static str)],
    /// Cluster-scoped resources: only ClusterRoleBindings can grant them.
    cluster_scoped: bool,
    /// Which bindings count: cluster-wide ones, namespaced ones, or both.
    scope: Scope,
    /// Only requests in this namespace (e.g. kube-system), instead of each binding's own.
    namespace: Option<&'static str>,
    what: &'static str,
    /// And also one of these named requests (verb, group, resource, name): approving a CSR
    /// needs `approve` on its signer besides the approval subresource.
    also: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Scope {
    Cluster,
    Namespace,
    Both,
}

fn permission_hits<'a>(ctx: &Context<'a>, p: &Permission<'_>) -> Vec<Hit<'a>> {
    let objects = binding_objects(ctx);
    let mut found: Vec<Found<'a, '_>> = Vec::new();
    // Only bindings of this inventory are reported: skip the rest of the cluster's at once.
    for b in ctx.rbac.bindings_named(objects.keys().map(String::as_str)) {
        if is_platform_binding(b) || is_admin_equivalent(ctx.rbac, b) {
            continue;
        }
        let in_scope = !matches!(
            (p.scope, &b.namespace),
            (Scope::Cluster, Some(_)) | (Scope::Namespace, None)
        );
        if !in_scope {
            continue;
        }
        let subjects: Vec<&Subject> = b
            .subjects
            .iter()
            .filter(|s| !is_system_subject(s))
            .collect();
        if subjects.is_empty() {
            continue;
        }
        let Some(obj) = objects.get(&b.node_ref) else {
            continue;
        };
        let ns = match (p.cluster_scoped, p.namespace) {
            (true, _) => None,
            (false, Some(fixed)) => Some(fixed),
            (false, None) => Some(b.namespace.as_deref().unwrap_or("*")),
        };
        let mut granted: Vec<(&str, Grant<'_>)> = Vec::new();
        for (verb, group, resource) in p.requests {
            let req = Request::resource(verb, group, resource, ns, None);
            if let Some(g) = ctx.rbac.grants_in(b, &req).next() {
                granted.push((verb, g));
            }
        }
        if granted.is_empty() {
            continue;
        }
        let also = p.also.iter().find_map(|(verb, group, resource, name)| {
            let req = Request::resource(verb, group, resource, ns, Some(name));
            ctx.rbac.grants_in(b, &req).next()
        });
        if !p.also.is_empty() {
            match also {
                Some(g) => granted.push((p.also[0].0, g)),
                None => continue,
            }
        }
        let mut verbs: Vec<String> = Vec::new();
        for (verb, _) in &granted {
            if !verbs.iter().any(|v| v == verb) {
                verbs.push(verb.to_string());
            }
        }
        let first = granted[0].1;
        let scope = match (&b.namespace, p.namespace) {
            (_, Some(fixed)) => format!("in namespace {fixed}"),
            (Some(ns), None) => format!("in namespace {ns}"),
            (None, None) if p.cluster_scoped => "cluster-wide".to_string(),
            (None, None) => "in every namespace".to_string(),
        };
        let mut evidence = vec![Evidence::new(
            "roleRef",
            Value::String(first.role.node_ref()),
        )];
        let mut seen_rules = Vec::new();
        for (_, g) in &granted {
            if !seen_rules.contains(&g.rule) {
                seen_rules.push(g.rule);
                let (role, index) = g.role.written_at(g.rule);
                evidence.push(Evidence::new(
                    format!("{role}.rules[{index}]"),
                    Value::String(g.role.rules[g.rule].to_string()),
                ));
            }
        }
        for s in subjects {
            // One finding per subject and capability: a subject holding it through several
            // bindings (of one kind and namespace) is reported once, with every binding.
            let key = (s.node_ref(), b.namespace.clone(), scope.clone());
            match found.iter_mut().find(|f| f.key == key) {
                Some(f) => {
                    f.via
                        .push(format!("{} ({})", first.role.node_ref(), b.node_ref));
                    for v in &verbs {
                        if !f.verbs.contains(v) {
                            f.verbs.push(v.clone());
                        }
                    }
                    // This binding is not the finding's resource: name it in the path.
                    for mut e in evidence.iter().cloned() {
                        if e.path == "roleRef" {
                            e.path = format!("{}.roleRef", b.node_ref);
                        }
                        if !f.evidence.contains(&e) {
                            f.evidence.push(e);
                        }
                    }
                }
                None => found.push(Found {
                    key,
                    subject: s,
                    object: obj,
                    verbs: verbs.clone(),
                    via: vec![first.role.node_ref()],
                    evidence: evidence.clone(),
                }),
            }
        }
    }
    found
        .into_iter()
        .map(|f| Hit {
            severity: None,
            object: f.object,
            message: format!(
                "{} can {} ({}) {}, via {}",
                subjects_text(&[f.subject]),
                p.what,
                f.verbs.join(", "),
                f.key.2,
                f.via.join("; also via ")
            ),
            evidence: f.evidence,
        })
        .collect()
}

/// A subject's capability, gathered over its bindings (see [`permission_hits`]).
struct Found<'a, 'r> {
    /// (subject, binding namespace, scope).
    key: (String, Option<String>, String),
    subject: &'r Subject,
    /// The first binding's object: where the finding is reported.
    object: &'a Object,
    verbs: Vec<String>,
    /// Roles (and, after the first, their bindings) that grant it.
    via: Vec<String>,
    evidence: Vec<Evidence>,
}

macro_rules! permission_check {
    ($fn:ident, $perm:expr) => {
        fn $fn<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
            permission_hits(ctx, &$perm)
        }
    };
}

permission_check!(
    kube_system_configmaps_hits,
    Permission {
        requests: &[("update", "", "configmaps"), ("patch", "", "configmaps")],
        cluster_scoped: false,
        scope: Scope::Both,
        namespace: Some("kube-system"),
        what: "modify ConfigMaps",
        also: &[],
    }
);

permission_check!(
    cover_tracks,
    Permission {
        requests: &[
            ("delete", "", "events"),
            ("deletecollection", "", "events"),
            ("delete", "events.k8s.io", "events"),
            ("deletecollection", "events.k8s.io", "events")
        ],
        cluster_scoped: false,
        scope: Scope::Both,
        namespace: None,
        what: "delete events",
        also: &[],
    }
);

permission_check!(
    hijack_endpoints,
    Permission {
        requests: &[
            ("create", "", "endpoints"),
            ("update", "", "endpoints"),
            ("patch", "", "endpoints"),
            ("create", "discovery.k8s.io", "endpointslices"),
            ("update", "discovery.k8s.io", "endpointslices"),
            ("patch", "discovery.k8s.io", "endpointslices"),
            ("update", "", "services/status"),
            ("patch", "", "services/status"),
        ],
        cluster_scoped: false,
        scope: Scope::Both,
        namespace: None,
        what: "rewrite Service endpoints or status",
        also: &[],
    }
);

permission_check!(
    manage_bindings,
    Permission {
        requests: &[
            ("create", "rbac.authorization.k8s.io", "rolebindings"),
            ("update", "rbac.authorization.k8s.io", "rolebindings"),
            ("patch", "rbac.authorization.k8s.io", "rolebindings"),
            ("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
            ("update", "rbac.authorization.k8s.io", "clusterrolebindings"),
            ("patch", "rbac.authorization.k8s.io", "clusterrolebindings"),
        ],
        cluster_scoped: false,
        scope: Scope::Both,
        namespace: None,
        what: "create or change role bindings",
        also: &[],
    }
);

permission_check!(
    read_secrets_cluster,
    Permission {
        requests: sets::READ_SECRETS,
        cluster_scoped: false,
        scope: Scope::Cluster,
        namespace: None,
        what: "read Secrets",
        also: &[],
    }
);
permission_check!(
    read_secrets_namespace,
    Permission {
        requests: sets::READ_SECRETS,
        cluster_scoped: false,
        scope: Scope::Namespace,
        namespace: None,
        what: "read Secrets",
        also: &[],
    }
);
permission_check!(
    create_workloads,
    Permission {
        requests: sets::CREATE_WORKLOADS,
        cluster_scoped: false,
        scope: Scope::Both,
        namespace: None,
        what: "create pods or pod controllers",
        also: &[],
    }
);
permission_check!(
    nodes_proxy,
    Permission {
        // The kubelet authorizes GET/HEAD as `get` (read pods, logs, metrics; since the
        // WebSocket upgrade, exec) and POST as `create` (exec, attach, run); nothing it serves
        // needs update, patch or delete.
        requests: &[("get", "", "nodes/proxy"), ("create", "", "nodes/proxy")],
        cluster_scoped: true,
        scope: Scope::Cluster,
        namespace: None,
        what: "use nodes/proxy (the kubelet API)",
        also: &[],
    }
);
permission_check!(
    bind_escalate_impersonate,
    Permission {
        requests: &[
            ("bind", "rbac.authorization.k8s.io", "clusterroles"),
            ("bind", "rbac.authorization.k8s.io", "roles"),
            ("escalate", "rbac.authorization.k8s.io", "clusterroles"),
            ("escalate", "rbac.authorization.k8s.io", "roles"),
            ("impersonate", "", "users"),
            ("impersonate", "", "groups"),
            ("impersonate", "", "serviceaccounts"),
        ],
        cluster_scoped: false,
        scope: Scope::Both,
        namespace: None,
        what: "bind or escalate roles, or impersonate",
        also: &[],
    }
);
permission_check!(
    approve_csrs,
    Permission {
        requests: &[
            (
                "update",
                "certificates.k8s.io",
                "certificatesigningrequests/approval"
            ),
            (
                "patch",
                "certificates.k8s.io",
                "certificatesigningrequests/approval"
            )
        ],
        cluster_scoped: true,
        scope: Scope::Cluster,
        namespace: None,
        what: "approve certificate signing requests",
        also: &[
            (
                "approve",
                "certificates.k8s.io",
                "signers",
                "kubernetes.io/kube-apiserver-client"
            ),
            (
                "approve",
                "certificates.k8s.io",
                "signers",
                "kubernetes.io/kube-apiserver-client-kubelet"
            ),
            (
                "approve",
                "certificates.k8s.io",
                "signers",
                "kubernetes.io/kubelet-serving"
            ),
            (
                "approve",
                "certificates.k8s.io",
                "signers",
                "kubernetes.io/legacy-unknown"
            ),
            (
                "approve",
                "certificates.k8s.io",
                "signers",
                "kubernetes.io/*"
            ),
        ],
    }
);
permission_check!(
    webhooks,
    Permission {
        requests: &[
            (
                "create",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations"
            ),
            (
                "update",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations"
            ),
            (
                "patch",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations"
            ),
            (
                "delete",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations"
            ),
            (
                "create",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations"
            ),
            (
                "update",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations"
            ),
            (
                "patch",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations"
            ),
            (
                "delete",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations"
            ),
            (
                "update",
                "admissionregistration.k8s.io",
                "validatingadmissionpolicies"
            ),
            (
                "patch",
                "admissionregistration.k8s.io",
                "validatingadmissionpolicies"
            ),
            (
                "delete",
                "admissionregistration.k8s.io",
                "validatingadmissionpolicies"
            ),
            (
                "update",
                "admissionregistration.k8s.io",
                "validatingadmissionpolicybindings"
            ),
            (
                "patch",
                "admissionregistration.k8s.io",
                "validatingadmissionpolicybindings"
            ),
            (
                "delete",
                "admissionregistration.k8s.io",
                "validatingadmissionpolicybindings"
            ),
        ],
        cluster_scoped: true,
        scope: Scope::Cluster,
        namespace: None,
        what: "change admission webhook configurations",
        also: &[],
    }
);
permission_check!(
    delete_kube_system_workloads,
    Permission {
        requests: &[
            ("delete", "apps", "deployments"),
            ("deletecollection", "apps", "deployments"),
            ("delete", "apps", "daemonsets"),
            ("deletecollection", "apps", "daemonsets"),
            ("delete", "apps", "statefulsets"),
            ("deletecollection", "apps", "statefulsets"),
        ],
        cluster_scoped: false,
        scope: Scope::Both,
        namespace: Some("kube-system"),
        what: "delete the platform's Deployments, DaemonSets or StatefulSets",
        also: &[],
    }
);
permission_check!(
    delete_crds,
    Permission {
        requests: &[
            (
                "delete",
                "apiextensions.k8s.io",
                "customresourcedefinitions"
            ),
            (
                "deletecollection",
                "apiextensions.k8s.io",
                "customresourcedefinitions"
            ),
        ],
        cluster_scoped: true,
        scope: Scope::Cluster,
        namespace: None,
        what: "delete CustomResourceDefinitions (and with each, every custom resource of its type)",
        also: &[],
    }
);
permission_check!(
    delete_namespaces_or_volumes,
    Permission {
        requests: &[
            ("delete", "", "namespaces"),
            ("deletecollection", "", "namespaces"),
            ("delete", "", "persistentvolumes"),
            ("deletecollection", "", "persistentvolumes"),
        ],
        cluster_scoped: true,
        scope: Scope::Cluster,
        namespace: None,
        what: "delete Namespaces or PersistentVolumes",
        also: &[],
    }
);
permission_check!(
    create_pvs,
    Permission {
        requests: &[("create", "", "persistentvolumes")],
        cluster_scoped: true,
        scope: Scope::Cluster,
        namespace: None,
        what: "create PersistentVolumes (hostPath volumes on any node)",
        also: &[],
    }
);
permission_check!(
    create_tokens,
    Permission {
        requests: sets::MINT_TOKENS,
        cluster_scoped: false,
        scope: Scope::Both,
        namespace: None,
        what: "mint ServiceAccount tokens",
        also: &[],
    }
);

/// Exec, attach and port-forward ([`sets::exec`], [`sets::port_forward`]: `get` suffices for
/// a WebSocket upgrade before Kubernetes 1.35, and for unknown versions, to be safe).
fn exec_into_pods<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let minor = ctx.rbac.minor_version;
    let requests: Vec<_> = sets::exec(minor)
        .iter()
        .chain(sets::port_forward(minor))
        .copied()
        .collect();
    permission_hits(
        ctx,
        &Permission {
            requests: &requests,
            cluster_scoped: false,
            scope: Scope::Both,
            namespace: None,
            what: "exec, attach or port-forward into pods",
            also: &[],
        },
    )
}

fn aws_auth<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    if ctx.inv.cluster.info.provider != Provider::Eks {
        return Vec::new();
    }
    let objects = binding_objects(ctx);
    let mut hits = Vec::new();
    // Only bindings of this inventory are reported: skip the rest of the cluster's at once.
    for b in ctx.rbac.bindings_named(objects.keys().map(String::as_str)) {
        if is_platform_binding(b) || is_admin_equivalent(ctx.rbac, b) {
            continue;
        }
        let subjects: Vec<&Subject> = b
            .subjects
            .iter()
            .filter(|s| !is_system_subject(s))
            .collect();
        let Some(obj) = objects.get(&b.node_ref) else {
            continue;
        };
        if subjects.is_empty() {
            continue;
        }
        let grant = ["update", "patch"].iter().find_map(|v| {
            let req = Request::resource(v, "", "configmaps", Some("kube-system"), Some("aws-auth"));
            ctx.rbac.grants_in(b, &req).next()
        });
        if let Some(g) = grant {
            hits.push(Hit {
                severity: None,
                object: obj,
                message: format!(
                    "{} can modify the kube-system/aws-auth ConfigMap (map any IAM principal to system:masters), via {}",
                    subjects_text(&subjects),
                    g.role.node_ref()
                ),
                evidence: vec![{
                    let (role, index) = g.role.written_at(g.rule);
                    Evidence::new(
                        format!("{role}.rules[{index}]"),
                        Value::String(g.role.rules[g.rule].to_string()),
                    )
                }],
            });
        }
    }
    hits
}

fn admin_equivalent<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let objects = binding_objects(ctx);
    let mut hits = Vec::new();
    // Only bindings of this inventory are reported: skip the rest of the cluster's at once.
    for b in ctx.rbac.bindings_named(objects.keys().map(String::as_str)) {
        let refs_cluster_admin = b.role_ref == "ClusterRole:cluster-admin";
        if !(refs_cluster_admin || is_admin_equivalent(ctx.rbac, b)) || b.managed {
            continue;
        }
        let subjects: Vec<&Subject> = b
            .subjects
            .iter()
            .filter(|s| {
                !is_system_subject(s)
                    && !matches!(s, Subject::Group { name } if name == "system:masters")
            })
            .collect();
        if subjects.is_empty() {
            continue;
        }
        let Some(obj) = objects.get(&b.node_ref) else {
            continue;
        };
        let scope = match &b.namespace {
            Some(ns) => format!("in namespace {ns}"),
            None => "cluster-wide".to_string(),
        };
        let role = if refs_cluster_admin {
            "cluster-admin".to_string()
        } else {
            format!("full control (via {})", b.role_ref)
        };
        hits.push(Hit {
            severity: None,
            object: obj,
            message: format!("grants {role} {scope} to {}", subjects_text(&subjects)),
            evidence: vec![Evidence::new(
                "roleRef.name",
                Value::String(
                    b.role_ref
                        .split_once(':')
                        .map(|(_, n)| n)
                        .unwrap_or("")
                        .to_string(),
                ),
            )],
        });
    }
    hits
}

/// Whether a role with wildcards is the platform's: the default `cluster-admin`, or a role with a
/// reserved name that only platform bindings use and that aggregates into no other role. Its
/// name alone decides nothing: `system:evil` bound to a ServiceAccount is reported.
fn platform_role<'s>(
    ctx: &Context<'_>,
    o: &Object,
    owned: impl FnOnce() -> &'s std::collections::HashSet<String>,
) -> bool {
    let reference = match o.effective_namespace() {
        Some(ns) if o.kind == "Role" => format!("Role:{ns}/{}", o.name),
        _ => format!("ClusterRole:{}", o.name),
    };
    if o.kind == "ClusterRole" && o.name == "cluster-admin" {
        return ctx
            .rbac
            .roles
            .iter()
            .find(|r| r.kind == RoleKind::ClusterRole && r.name == "cluster-admin")
            .is_some_and(|r| {
                r.rules.iter().all(|rule| {
                    rule.verbs == ["*"]
                        && (rule.non_resource_urls == ["*"]
                            || (rule.api_groups == ["*"] && rule.resources == ["*"]))
                })
            });
    }
    if owned().contains(reference.as_str()) {
        return false;
    }
    let aggregated = o
        .labels
        .keys()
        .any(|k| k.starts_with("rbac.authorization.k8s.io/aggregate-to-"));
    crate::rbac::platform::has_reserved_name(&o.name) && !aggregated
}

/// Controllers and add-ons of kube-system run as its ServiceAccounts.
fn service_account_of_kube_system(s: &Subject) -> bool {
    matches!(s, Subject::ServiceAccount { namespace, .. } if namespace == "kube-system")
}

fn wildcard_roles<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    // Roles that a binding the cluster's users own refers to, or that a platform binding
    // grants to identities other than control-plane components (read through every binding:
    // once, when a role asks).
    let owned = std::cell::OnceCell::new();
    let owned = || {
        owned.get_or_init(|| -> std::collections::HashSet<String> {
            ctx.rbac
                .bindings
                .iter()
                .filter(|b| {
                    !b.managed
                        || !b
                            .subjects
                            .iter()
                            .all(|s| is_system_subject(s) || service_account_of_kube_system(s))
                })
                // The role the binding resolves to, not its roleRef as written: a
                // ClusterRoleBinding cannot refer to a Role, whatever its roleRef's name spells.
                .filter_map(|b| b.role.map(|r| ctx.rbac.roles[r].node_ref()))
                .collect()
        })
    };
    let mut hits = Vec::new();
    for kind in ["ClusterRole", "Role"] {
        for o in ctx.inv.of_kind(kind) {
            if !ctx.reports_on(o) || o.api_group() != "rbac.authorization.k8s.io" {
                continue;
            }
            let Some(rules) = o.body.get("rules").and_then(Value::as_array) else {
                continue;
            };
            let mut ev = Vec::new();
            for (i, r) in rules.iter().enumerate() {
                for field in ["verbs", "resources", "apiGroups"] {
                    let has_star = r
                        .get(field)
                        .and_then(Value::as_array)
                        .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("*")));
                    if has_star {
                        ev.push(Evidence::new(
                            format!("rules[{i}].{field}"),
                            r.get(field).cloned().unwrap_or(Value::Null),
                        ));
                    }
                }
            }
            if ev.is_empty() || platform_role(ctx, o, owned) {
                continue;
            }
            let role_kind = if kind == "Role" {
                RoleKind::Role
            } else {
                RoleKind::ClusterRole
            };
            let bound: Vec<String> = ctx
                .rbac
                .bindings
                .iter()
                .filter(|b| {
                    b.role.is_some_and(|i| {
                        let r = &ctx.rbac.roles[i];
                        r.kind == role_kind
                            && r.name == o.name
                            && r.namespace.as_deref()
                                == o.effective_namespace().filter(|_| kind == "Role")
                    })
                })
                .map(|b| b.node_ref.clone())
                .collect();
            let fields: Vec<&str> = ev
                .iter()
                .map(|e| e.path.rsplit('.').next().unwrap_or(""))
                .collect();
            hits.push(Hit {
                severity: None,
                object: o,
                message: format!(
                    "rules use `*` in {} ({})",
                    fields.join(", "),
                    if bound.is_empty() {
                        "not bound".to_string()
                    } else {
                        format!("bound by {}", bound.join(", "))
                    }
                ),
                evidence: ev,
            });
        }
    }
    hits
}

fn subject_binding_hits<'a>(
    ctx: &Context<'a>,
    pred: fn(&Subject) -> bool,
    what: &str,
) -> Vec<Hit<'a>> {
    let objects = binding_objects(ctx);
    let mut hits = Vec::new();
    // Only bindings of this inventory are reported: skip the rest of the cluster's at once.
    for b in ctx.rbac.bindings_named(objects.keys().map(String::as_str)) {
        if is_platform_binding(b) {
            continue;
        }
        let Some(obj) = objects.get(&b.node_ref) else {
            continue;
        };
        let matching: Vec<(usize, &Subject)> = b
            .subjects
            .iter()
            .enumerate()
            .filter(|(_, s)| pred(s))
            .collect();
        if matching.is_empty() {
            continue;
        }
        let raw_subjects = obj.body.get("subjects").and_then(Value::as_array);
        hits.push(Hit {
            severity: None,
            object: obj,
            message: format!("binds {} to {what}", b.role_ref,),
            evidence: matching
                .iter()
                .map(|(i, s)| {
                    let raw = raw_subjects.and_then(|a| {
                        a.iter().find(|r| {
                            r.get("name").and_then(Value::as_str) == Some(subject_name(s))
                        })
                    });
                    Evidence::new(
                        format!("subjects[{i}]"),
                        raw.cloned().unwrap_or(Value::String(s.node_ref())),
                    )
                })
                .collect(),
        });
    }
    hits
}

fn dashboard_bindings<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    // The Dashboard's stock bindings grant its own Secrets and ConfigMap by name and read-only
    // metrics: that is what it needs, not a finding. Anything beyond is.
    let stock = |rules: &[crate::rbac::Rule]| {
        rules.iter().all(|r| {
            !r.resource_names.is_empty()
                || (r.api_groups.iter().all(|g| g == "metrics.k8s.io")
                    && r.verbs
                        .iter()
                        .all(|v| ["get", "list", "watch"].contains(&v.as_str())))
        })
    };
    subject_binding_hits(
        ctx,
        |s| matches!(s, Subject::ServiceAccount { name, .. } if name.contains("kubernetes-dashboard")),
        "the Kubernetes Dashboard's ServiceAccount (whoever reaches the Dashboard acts with it)",
    )
    .into_iter()
    .filter(|h| {
        let reference = h.object.node_ref();
        !ctx.rbac
            .bindings_named([reference.as_str()])
            .iter()
            .all(|b| b.role.is_some_and(|r| stock(&ctx.rbac.roles[r].rules)))
    })
    .collect()
}

fn subject_name(s: &Subject) -> &str {
    match s {
        Subject::User { name } | Subject::Group { name } | Subject::ServiceAccount { name, .. } => {
            name
        }
    }
}

fn anonymous_bindings<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    subject_binding_hits(
        ctx,
        |s| {
            matches!(s, Subject::User { name } if name == "system:anonymous")
                || matches!(s, Subject::Group { name } if name == "system:unauthenticated")
        },
        "unauthenticated users (system:anonymous / system:unauthenticated)",
    )
}

fn authenticated_bindings<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    subject_binding_hits(
        ctx,
        |s| matches!(s, Subject::Group { name } if name == "system:authenticated"),
        "every authenticated user (system:authenticated)",
    )
}

fn masters_bindings<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    subject_binding_hits(
        ctx,
        |s| matches!(s, Subject::Group { name } if name == "system:masters"),
        "the system:masters group",
    )
}

fn default_sa_bindings<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    subject_binding_hits(
        ctx,
        |s| matches!(s, Subject::ServiceAccount { name, .. } if name == "default"),
        "a namespace's default ServiceAccount (every pod that names no ServiceAccount gets it)",
    )
}

fn platform_impostors<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let objects = binding_objects(ctx);
    let mut hits = Vec::new();
    for b in ctx.rbac.bindings_named(objects.keys().map(String::as_str)) {
        // `managed` is the platform-by-content decision, already taken once per binding.
        if b.assumed_default
            || b.managed
            || !crate::rbac::platform::has_platform_name(b.namespace.as_deref(), &b.name)
        {
            continue;
        }
        let Some(obj) = objects.get(&b.node_ref) else {
            continue;
        };
        let subjects: Vec<&Subject> = b.subjects.iter().collect();
        hits.push(Hit {
            severity: None,
            object: obj,
            message: format!(
                "has a platform-reserved name but is not a platform default: binds {} to {}",
                b.role_ref,
                if subjects.is_empty() {
                    "no one".to_string()
                } else {
                    subjects_text(&subjects)
                }
            ),
            evidence: vec![
                Evidence::new("metadata.name", Value::String(b.name.clone())),
                Evidence::new(
                    "roleRef",
                    obj.body.get("roleRef").cloned().unwrap_or(Value::Null),
                ),
                Evidence::new(
                    "subjects",
                    obj.body.get("subjects").cloned().unwrap_or(Value::Null),
                ),
            ],
        });
    }
    hits
}

fn dangling<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let objects = binding_objects(ctx);
    ctx.rbac
        .dangling_bindings()
        // Bootstrap roles (`system:node`, ...) exist in every cluster even when the snapshot
        // does not carry them.
        .filter(|b| {
            !b.assumed_default
                && !b.role_ref.starts_with("ClusterRole:system:")
                && !crate::rbac::platform::BOOTSTRAP_ROLES.contains(&b.role_ref.as_str())
        })
        .filter_map(|b| {
            let obj = objects.get(&b.node_ref)?;
            Some(Hit {
                severity: None,
                object: obj,
                message: format!("references {}, which does not exist (creating it later silently grants its rules)", b.role_ref),
                evidence: vec![Evidence::new("roleRef", obj.body.get("roleRef").cloned().unwrap_or(Value::Null))],
            })
        })
        .collect()
}

// Positional metadata keeps the catalogue below readable as a table.
const LEAST_PRIVILEGE: &[Control] = &[
    c(NsaCisa, "N21"),
    c(Soc2, "CC6.3"),
    c(PciDss, "7.2.2"),
    c(Hipaa, "164.308(a)(4)"),
    c(Iso27001, "A.5.15"),
    c(Nist800190, "4.3.1"),
];

/// The RBAC checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-R-001",
        title: "cluster-admin (or equivalent) granted to a non-system subject",
        severity: Severity::High,
        description: "A binding grants `cluster-admin`, or a role with every verb on every resource, to a user, group or ServiceAccount. Whoever holds that identity, or can run a pod as that ServiceAccount, owns the cluster (or the namespace, for a RoleBinding).",
        remediation: "Bind a narrower role that grants only what the subject needs. Keep cluster-admin for break-glass access through `system:masters` or your provider's admin mechanism.",
        kinds: BINDING_KINDS,
        controls: &[c(CisKubernetes, "5.1.1"), c(CisEks, "4.1.1"), c(CisGke, "4.1.1"), c(CisAks, "4.1.1"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Hipaa, "164.308(a)(4)"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: admin_equivalent,
    },
    Check {
        id: "KSPM-R-002",
        title: "Role uses wildcards",
        severity: Severity::Medium,
        description: "`*` in verbs, resources or apiGroups grants every current and future permission of that kind, including subresources such as pods/exec and secrets.",
        remediation: "List the verbs, resources and API groups explicitly.",
        kinds: &["ClusterRole", "Role"],
        controls: &[c(CisKubernetes, "5.1.3"), c(CisEks, "4.1.3"), c(CisGke, "4.1.3"), c(CisAks, "4.1.3"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: wildcard_roles,
    },
    Check {
        id: "KSPM-R-003",
        title: "Subjects can read Secrets in every namespace",
        severity: Severity::High,
        description: "get, list or watch on Secrets cluster-wide reads every credential in the cluster, including ServiceAccount tokens of privileged controllers.",
        remediation: "Grant Secret access per namespace, by name (resourceNames) where possible; prefer mounting Secrets over reading them through the API.",
        kinds: &["ClusterRoleBinding"],
        controls: &[c(CisKubernetes, "5.1.2"), c(CisEks, "4.1.2"), c(CisGke, "4.1.2"), c(CisAks, "4.1.2"), c(NsaCisa, "N21"), c(Soc2, "CC6.1"), c(PciDss, "7.2.2"), c(Hipaa, "164.312(a)(1)"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: read_secrets_cluster,
    },
    Check {
        id: "KSPM-R-004",
        title: "Subjects can read Secrets in a namespace",
        severity: Severity::Medium,
        description: "get, list or watch on Secrets reads every credential in the namespace, including ServiceAccount token Secrets.",
        remediation: "Restrict with resourceNames to the Secrets the subject needs, or mount them instead.",
        kinds: &["RoleBinding"],
        controls: &[c(CisKubernetes, "5.1.2"), c(CisEks, "4.1.2"), c(CisGke, "4.1.2"), c(CisAks, "4.1.2"), c(NsaCisa, "N21"), c(Soc2, "CC6.1"), c(PciDss, "7.2.2"), c(Hipaa, "164.312(a)(1)"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: read_secrets_namespace,
    },
    Check {
        id: "KSPM-R-005",
        title: "Subjects can create workloads",
        severity: Severity::Medium,
        description: "Creating pods (directly or through a Deployment, Job, ...) lets a subject run code as any ServiceAccount in the namespace and, where Pod Security allows it, privileged on a node.",
        remediation: "Limit pod and controller creation to deployment pipelines; enforce a Pod Security level in their namespaces.",
        kinds: BINDING_KINDS,
        controls: &[c(CisKubernetes, "5.1.4"), c(CisEks, "4.1.4"), c(CisAks, "4.1.4"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: create_workloads,
    },
    Check {
        id: "KSPM-R-006",
        title: "Subjects can exec, attach or port-forward into pods",
        severity: Severity::Medium,
        description: "pods/exec, pods/attach and pods/portforward give a shell in, or network access to, running containers with their ServiceAccount tokens and mounted Secrets (before Kubernetes 1.35, `get` was enough).",
        remediation: "Grant exec only for break-glass debugging, time-boxed, and audit its use.",
        kinds: BINDING_KINDS,
        controls: LEAST_PRIVILEGE,
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: exec_into_pods,
    },
    Check {
        id: "KSPM-R-007",
        title: "Subjects can use nodes/proxy",
        severity: Severity::High,
        description: "nodes/proxy reaches the kubelet API directly: exec into any pod on the node, bypassing API-server audit of the exec.",
        remediation: "Remove nodes/proxy from roles; monitoring agents can use the metrics endpoints instead.",
        kinds: &["ClusterRoleBinding"],
        controls: &[c(CisKubernetes, "5.1.10"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: nodes_proxy,
    },
    Check {
        id: "KSPM-R-008",
        title: "Subjects can bind, escalate or impersonate",
        severity: Severity::High,
        description: "`bind` and `escalate` on roles bypass RBAC's escalation prevention; `impersonate` acts as another user, group or ServiceAccount. Each is a direct path to more privilege.",
        remediation: "Remove these verbs; grant them only to the controllers that manage RBAC.",
        kinds: BINDING_KINDS,
        controls: &[c(CisKubernetes, "5.1.8"), c(CisEks, "4.1.8"), c(CisGke, "4.1.7"), c(CisAks, "4.1.7"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: bind_escalate_impersonate,
    },
    Check {
        id: "KSPM-R-009",
        title: "Subjects can approve certificate signing requests",
        severity: Severity::High,
        description: "Approving CSRs (with `approve` on a signer) mints client certificates for arbitrary users and groups.",
        remediation: "Leave CSR approval to the controller manager and node bootstrap.",
        kinds: &["ClusterRoleBinding"],
        controls: &[c(CisKubernetes, "5.1.11"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: approve_csrs,
    },
    Check {
        id: "KSPM-R-010",
        title: "Subjects can change admission webhooks",
        severity: Severity::High,
        description: "Whoever controls a mutating webhook rewrites every pod admitted afterwards (and a validating one sees every object); deleting them, or changing or deleting ValidatingAdmissionPolicies and their bindings, disables policy enforcement.",
        remediation: "Restrict webhook configuration changes to the policy engine's installer.",
        kinds: &["ClusterRoleBinding"],
        controls: &[c(CisKubernetes, "5.1.12"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: webhooks,
    },
    Check {
        id: "KSPM-R-011",
        title: "Subjects can create PersistentVolumes",
        severity: Severity::Medium,
        description: "A PersistentVolume can be a hostPath on any node; with a claim and a pod it gives host filesystem access regardless of Pod Security.",
        remediation: "Use dynamic provisioning through StorageClasses; keep PV creation for administrators.",
        kinds: &["ClusterRoleBinding"],
        controls: &[c(CisKubernetes, "5.1.9"), c(NsaCisa, "N21"), c(PciDss, "7.2.2"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: create_pvs,
    },
    Check {
        id: "KSPM-R-012",
        title: "Subjects can mint ServiceAccount tokens",
        severity: Severity::Medium,
        description: "`create serviceaccounts/token` issues tokens for ServiceAccounts, acting as them with all their permissions.",
        remediation: "Remove the permission, or restrict it with resourceNames to specific ServiceAccounts.",
        kinds: BINDING_KINDS,
        controls: &[c(CisKubernetes, "5.1.13"), c(NsaCisa, "N10"), c(PciDss, "7.2.2"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: create_tokens,
    },
    Check {
        id: "KSPM-R-013",
        title: "Binding grants permissions to unauthenticated users",
        severity: Severity::Critical,
        description: "`system:anonymous` and `system:unauthenticated` are anyone who can reach the API server without credentials.",
        remediation: "Delete the binding (Kubernetes' own public-info binding is the only one expected).",
        kinds: BINDING_KINDS,
        controls: &[c(CisGke, "4.1.8"), c(CisGke, "4.1.9"), c(NsaCisa, "N20"), c(Soc2, "CC6.1"), c(PciDss, "7.2.1"), c(Hipaa, "164.312(d)"), c(Iso27001, "A.8.5"), c(Nist800190, "4.3.2")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: anonymous_bindings,
    },
    Check {
        id: "KSPM-R-014",
        title: "Binding grants permissions to every authenticated user",
        severity: Severity::High,
        description: "`system:authenticated` includes every ServiceAccount of every namespace — and, on GKE, any Google account.",
        remediation: "Bind specific groups instead.",
        kinds: BINDING_KINDS,
        controls: &[c(CisGke, "4.1.10"), c(NsaCisa, "N21"), c(Soc2, "CC6.1"), c(PciDss, "7.2.1"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.2")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: authenticated_bindings,
    },
    Check {
        id: "KSPM-R-015",
        title: "Binding to the system:masters group",
        severity: Severity::High,
        description: "Members of `system:masters` bypass RBAC entirely; a binding to it suggests certificates with O=system:masters are in use, which cannot be revoked.",
        remediation: "Remove the binding; give administrators a named group bound to cluster-admin instead.",
        kinds: BINDING_KINDS,
        controls: &[c(CisKubernetes, "5.1.7"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: masters_bindings,
    },
    Check {
        id: "KSPM-R-016",
        title: "Default ServiceAccount has role bindings",
        severity: Severity::Low,
        description: "Every pod that names no ServiceAccount runs as its namespace's `default` ServiceAccount, so permissions bound to it are given to all of them.",
        remediation: "Create a dedicated ServiceAccount for the workload that needs the permissions, and bind that.",
        kinds: BINDING_KINDS,
        controls: &[c(CisKubernetes, "5.1.5"), c(CisEks, "4.1.5"), c(CisGke, "4.1.4"), c(CisAks, "4.1.5"), c(NsaCisa, "N10"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: default_sa_bindings,
    },
    Check {
        id: "KSPM-R-017",
        title: "Binding references a role that does not exist",
        severity: Severity::Low,
        description: "A binding to a missing role grants nothing today, but whoever later creates a role with that name silently grants it to the binding's subjects.",
        remediation: "Delete the binding, or create the intended role.",
        kinds: BINDING_KINDS,
        controls: &[c(NsaCisa, "N21"), c(Iso27001, "A.5.15")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: dangling,
    },
    Check {
        id: "KSPM-R-018",
        title: "Subjects can modify the EKS aws-auth ConfigMap",
        severity: Severity::High,
        description: "On EKS, kube-system/aws-auth maps IAM roles and users to Kubernetes groups; whoever can edit it can map any IAM principal to system:masters.",
        remediation: "Move to EKS access entries (authentication mode API) and remove write access to aws-auth.",
        kinds: BINDING_KINDS,
        controls: &[c(CisEks, "4.1.7"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: aws_auth,
    },
    Check {
        id: "KSPM-R-019",
        title: "Subjects can modify ConfigMaps in kube-system",
        severity: Severity::Medium,
        description: "kube-system ConfigMaps include CoreDNS's configuration (redirect any name inside the cluster) and provider settings such as aws-auth.",
        remediation: "Restrict ConfigMap writes in kube-system to the platform's own automation; use resourceNames where a tool needs one ConfigMap.",
        kinds: BINDING_KINDS,
        controls: &[c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.8.2"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: kube_system_configmaps_hits,
    },
    Check {
        id: "KSPM-R-020",
        title: "Subjects can delete events",
        severity: Severity::Low,
        description: "Deleting events removes the trail of what happened (pods started, images pulled, probes failing) before anyone looks.",
        remediation: "Keep event deletion for the garbage collector; ship events to external storage.",
        kinds: BINDING_KINDS,
        controls: &[c(NsaCisa, "N22"), c(Soc2, "CC7.2"), c(PciDss, "10.3.2"), c(Hipaa, "164.312(b)"), c(Iso27001, "A.8.15")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: cover_tracks,
    },
    Check {
        id: "KSPM-R-021",
        title: "Subjects can rewrite Service endpoints",
        severity: Severity::Medium,
        description: "Writing Endpoints, EndpointSlices or a Service's status redirects the Service's traffic to any address, inside or outside the cluster.",
        remediation: "Leave endpoints to the endpoint controllers; grant write access only to the network components that need it.",
        kinds: BINDING_KINDS,
        controls: &[c(NsaCisa, "N21"), c(Soc2, "CC6.6"), c(Iso27001, "A.8.20"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: hijack_endpoints,
    },
    Check {
        id: "KSPM-R-022",
        title: "Subjects can create or change role bindings",
        severity: Severity::Low,
        description: "Creating bindings is the first half of a privilege escalation: with `bind` on a role, or holding its permissions already, the subject hands them to any identity.",
        remediation: "Restrict binding management to the platform's RBAC automation.",
        kinds: BINDING_KINDS,
        controls: &[c(CisKubernetes, "5.1.8"), c(NsaCisa, "N21"), c(Soc2, "CC6.3"), c(Iso27001, "A.5.18"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: manage_bindings,
    },
    Check {
        id: "KSPM-R-023",
        title: "Binding grants permissions to the Dashboard's ServiceAccount",
        severity: Severity::Medium,
        description: "The Kubernetes Dashboard acts with its ServiceAccount (skip-login or token mode): whatever that account is granted, every Dashboard visitor gets.",
        remediation: "Bind nothing to the Dashboard's ServiceAccount; log in to the Dashboard with each user's own token.",
        kinds: BINDING_KINDS,
        controls: &[c(NsaCisa, "N25"), c(NsaCisa, "N21"), c(Iso27001, "A.5.15")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: dashboard_bindings,
    },
    Check {
        id: "KSPM-R-024",
        title: "Binding wears a platform name but is not the platform's",
        severity: Severity::Medium,
        description: "Names such as `system:…`, `eks:…` or `kubeadm:…` and the bootstrap labels are chosen by whoever creates a binding; kspm recognises Kubernetes', kubeadm's and the providers' defaults by their role and subjects. A binding with a reserved or default name whose role or subjects differ from any default is either a default someone changed or a grant made to look like one.",
        remediation: "Restore the default's roleRef and subjects, or rename the binding so that its owner is clear; investigate who created it.",
        kinds: BINDING_KINDS,
        controls: &[c(NsaCisa, "N21"), c(Soc2, "CC6.1"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: platform_impostors,
    },
    Check {
        id: "KSPM-R-025",
        title: "Subjects can delete workloads in kube-system",
        severity: Severity::Medium,
        description: "kube-system runs the cluster's DNS, network and storage agents: deleting their Deployments, DaemonSets or StatefulSets takes name resolution, pod networking or volumes down for every workload, and removes security agents that run there.",
        remediation: "Leave kube-system to the platform's automation; grant read-only access for troubleshooting.",
        kinds: BINDING_KINDS,
        controls: &[c(NsaCisa, "N21"), c(Soc2, "A1.2"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: delete_kube_system_workloads,
    },
    Check {
        id: "KSPM-R-026",
        title: "Subjects can delete CustomResourceDefinitions",
        severity: Severity::Medium,
        description: "Deleting a CRD deletes every custom resource of its type in every namespace: policy engines' rules (Kyverno, Gatekeeper), certificates, backups, network policies of a CNI — destruction and a way to switch controls off.",
        remediation: "Grant CRD deletion to the installer of each operator only.",
        kinds: &["ClusterRoleBinding"],
        controls: &[c(NsaCisa, "N21"), c(Soc2, "A1.2"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: delete_crds,
    },
    Check {
        id: "KSPM-R-027",
        title: "Subjects can delete Namespaces or PersistentVolumes",
        severity: Severity::Medium,
        description: "Deleting a Namespace deletes everything in it; deleting a PersistentVolume whose reclaim policy is Delete destroys its data. Either erases workloads and evidence at once.",
        remediation: "Keep namespace and volume deletion for administrators; set reclaimPolicy Retain on volumes holding data that matters.",
        kinds: &["ClusterRoleBinding"],
        controls: &[c(NsaCisa, "N21"), c(Soc2, "A1.2"), c(Soc2, "CC6.3"), c(PciDss, "7.2.2"), c(Hipaa, "164.308(a)(7)"), c(Iso27001, "A.5.15"), c(Nist800190, "4.3.1")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: delete_namespaces_or_volumes,
    },
];

#[cfg(test)]
pub(crate) mod cases;
