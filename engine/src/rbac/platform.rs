//! Which bindings the platform owns, decided by what they grant to whom — never by name or label.
//!
//! Names (`system:…`, `eks:…`) and labels (`kubernetes.io/bootstrapping: rbac-defaults`,
//! `addonmanager.kubernetes.io/mode`) are written by whoever creates the binding, so an attacker
//! who can create bindings can give a backdoor any of them. A binding is the platform's when
//! either
//! - it is one of the defaults Kubernetes (`bootstrappolicy`), kubeadm or a managed provider
//!   creates, with the default's roleRef and no subject beyond the default's; or
//! - it carries a reserved prefix and grants only to the control plane's own components (users
//!   and groups in reserved namespaces of names that no workload, node or ordinary credential can
//!   authenticate as).
//!
//! Everything else is an ordinary binding and every check sees it; a binding with a reserved
//! name that is not the platform's by content is itself worth a finding ([`impersonates_platform`]).

use super::Subject;

/// Name prefixes Kubernetes, kubeadm and the managed providers use for their bindings.
pub const RESERVED_PREFIXES: &[&str] = &["system:", "kubeadm:", "eks:", "gke:", "gce:", "aks:"];

/// A subject as the catalogue writes it.
#[derive(Clone, Copy)]
enum S {
    User(&'static str),
    Group(&'static str),
    /// ServiceAccount in kube-system.
    Sa(&'static str),
}

/// One default binding: namespace (`None` for a ClusterRoleBinding), name, roleRef, subjects.
struct Default {
    namespace: Option<&'static str>,
    name: &'static str,
    role_ref: &'static str,
    subjects: &'static [S],
}

const fn crb(name: &'static str, role: &'static str, subjects: &'static [S]) -> Default {
    Default {
        namespace: None,
        name,
        role_ref: role,
        subjects,
    }
}

const fn rb(
    namespace: &'static str,
    name: &'static str,
    role: &'static str,
    subjects: &'static [S],
) -> Default {
    Default {
        namespace: Some(namespace),
        name,
        role_ref: role,
        subjects,
    }
}

const BOOTSTRAP_TOKEN: &str = "system:bootstrappers:kubeadm:default-node-token";

/// The defaults, each with the roleRef and subjects the creator writes.
const DEFAULTS: &[Default] = &[
    // Kubernetes bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy).
    crb(
        "cluster-admin",
        "ClusterRole:cluster-admin",
        &[S::Group("system:masters")],
    ),
    crb(
        "system:basic-user",
        "ClusterRole:system:basic-user",
        &[S::Group("system:authenticated")],
    ),
    crb(
        "system:discovery",
        "ClusterRole:system:discovery",
        &[S::Group("system:authenticated")],
    ),
    crb(
        "system:public-info-viewer",
        "ClusterRole:system:public-info-viewer",
        &[
            S::Group("system:authenticated"),
            S::Group("system:unauthenticated"),
        ],
    ),
    crb(
        "system:service-account-issuer-discovery",
        "ClusterRole:system:service-account-issuer-discovery",
        &[S::Group("system:serviceaccounts")],
    ),
    crb(
        "system:monitoring",
        "ClusterRole:system:monitoring",
        &[S::Group("system:monitoring")],
    ),
    crb(
        "system:node-proxier",
        "ClusterRole:system:node-proxier",
        &[S::User("system:kube-proxy")],
    ),
    crb(
        "system:kube-controller-manager",
        "ClusterRole:system:kube-controller-manager",
        &[S::User("system:kube-controller-manager")],
    ),
    crb(
        "system:kube-dns",
        "ClusterRole:system:kube-dns",
        &[S::Sa("kube-dns")],
    ),
    crb(
        "system:kube-scheduler",
        "ClusterRole:system:kube-scheduler",
        &[S::User("system:kube-scheduler")],
    ),
    crb(
        "system:volume-scheduler",
        "ClusterRole:system:volume-scheduler",
        &[S::User("system:kube-scheduler")],
    ),
    crb("system:node", "ClusterRole:system:node", &[]),
    rb(
        "kube-system",
        "system::extension-apiserver-authentication-reader",
        "Role:kube-system/extension-apiserver-authentication-reader",
        &[
            S::User("system:kube-controller-manager"),
            S::User("system:kube-scheduler"),
        ],
    ),
    rb(
        "kube-system",
        "system::leader-locking-kube-controller-manager",
        "Role:kube-system/system::leader-locking-kube-controller-manager",
        &[
            S::User("system:kube-controller-manager"),
            S::Sa("kube-controller-manager"),
        ],
    ),
    rb(
        "kube-system",
        "system::leader-locking-kube-scheduler",
        "Role:kube-system/system::leader-locking-kube-scheduler",
        &[S::User("system:kube-scheduler"), S::Sa("kube-scheduler")],
    ),
    rb(
        "kube-system",
        "system:controller:bootstrap-signer",
        "Role:kube-system/system:controller:bootstrap-signer",
        &[S::Sa("bootstrap-signer")],
    ),
    rb(
        "kube-system",
        "system:controller:cloud-provider",
        "Role:kube-system/system:controller:cloud-provider",
        &[S::Sa("cloud-provider")],
    ),
    rb(
        "kube-system",
        "system:controller:token-cleaner",
        "Role:kube-system/system:controller:token-cleaner",
        &[S::Sa("token-cleaner")],
    ),
    rb(
        "kube-public",
        "system:controller:bootstrap-signer",
        "Role:kube-public/system:controller:bootstrap-signer",
        &[S::Sa("bootstrap-signer")],
    ),
    // kubeadm (cmd/kubeadm/app/phases/bootstraptoken, kubelet, addons).
    crb(
        "kubeadm:kubelet-bootstrap",
        "ClusterRole:system:node-bootstrapper",
        &[S::Group(BOOTSTRAP_TOKEN)],
    ),
    crb(
        "kubeadm:node-autoapprove-bootstrap",
        "ClusterRole:system:certificates.k8s.io:certificatesigningrequests:nodeclient",
        &[S::Group(BOOTSTRAP_TOKEN)],
    ),
    crb(
        "kubeadm:node-autoapprove-certificate-rotation",
        "ClusterRole:system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
        &[S::Group("system:nodes")],
    ),
    crb(
        "kubeadm:get-nodes",
        "ClusterRole:kubeadm:get-nodes",
        &[S::Group(BOOTSTRAP_TOKEN)],
    ),
    crb(
        "kubeadm:cluster-admins",
        "ClusterRole:cluster-admin",
        &[S::Group("kubeadm:cluster-admins")],
    ),
    crb(
        "kubeadm:node-proxier",
        "ClusterRole:system:node-proxier",
        &[S::Sa("kube-proxy")],
    ),
    crb(
        "system:coredns",
        "ClusterRole:system:coredns",
        &[S::Sa("coredns")],
    ),
    rb(
        "kube-system",
        "kubeadm:kubelet-config",
        "Role:kube-system/kubeadm:kubelet-config",
        &[S::Group("system:nodes"), S::Group(BOOTSTRAP_TOKEN)],
    ),
    rb(
        "kube-system",
        "kubeadm:nodes-kubeadm-config",
        "Role:kube-system/kubeadm:nodes-kubeadm-config",
        &[S::Group(BOOTSTRAP_TOKEN), S::Group("system:nodes")],
    ),
    rb(
        "kube-public",
        "kubeadm:bootstrap-signer-clusterinfo",
        "Role:kube-public/kubeadm:bootstrap-signer-clusterinfo",
        &[S::User("system:anonymous")],
    ),
    // EKS: the add-on manager acts as cluster-admin.
    crb(
        "eks:addon-cluster-admin",
        "ClusterRole:cluster-admin",
        &[S::User("eks:addon-manager")],
    ),
    // AKS: the local accounts' certificates (the admin and the user kubeconfig of a cluster
    // without Entra ID) and Microsoft support's access; their use is graded by the AKS checks.
    crb(
        "aks-cluster-admin-binding",
        "ClusterRole:cluster-admin",
        &[S::User("clusterAdmin"), S::User("clusterUser")],
    ),
    crb(
        "aks-service-rolebinding",
        "ClusterRole:aks-service",
        &[S::User("aks-support")],
    ),
    // GKE node bootstrap.
    crb(
        "gce:beta:kubelet-certificate-bootstrap",
        "ClusterRole:gce:beta:kubelet-certificate-bootstrap",
        &[S::User("kubelet")],
    ),
    crb(
        "gce:beta:kubelet-certificate-rotation",
        "ClusterRole:gce:beta:kubelet-certificate-rotation",
        &[S::Group("system:nodes")],
    ),
    // metrics-server, shipped by GKE and AKS and installed everywhere else.
    crb(
        "system:metrics-server",
        "ClusterRole:system:metrics-server",
        &[S::Sa("metrics-server")],
    ),
];

/// The controllers of kube-controller-manager (and the cloud controller manager) that run with
/// `--use-service-account-credentials`: each has a ClusterRole and a ClusterRoleBinding named
/// `system:controller:<name>` for the kube-system ServiceAccount `<name>`.
const CONTROLLERS: &[&str] = &[
    "attachdetach-controller",
    "certificate-controller",
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "ephemeral-volume-controller",
    "expand-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "legacy-service-account-token-cleaner",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "replication-controller",
    "resource-claim-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "route-controller",
    "selinux-warning-controller",
    "service-account-controller",
    "service-cidrs-controller",
    "service-controller",
    "statefulset-controller",
    "ttl-after-finished-controller",
    "ttl-controller",
    "validatingadmissionpolicy-status-controller",
    "volumeattributesclass-protection-controller",
    "cloud-node-controller",
    "cloud-node-lifecycle-controller",
];

/// Namespaced Roles every API server creates (bootstrap policy): bindings to them are not
/// dangling even when a snapshot lacks the Role.
pub const BOOTSTRAP_ROLES: &[&str] = &[
    "Role:kube-system/extension-apiserver-authentication-reader",
    "Role:kube-system/system::leader-locking-kube-controller-manager",
    "Role:kube-system/system::leader-locking-kube-scheduler",
    "Role:kube-system/system:controller:bootstrap-signer",
    "Role:kube-system/system:controller:cloud-provider",
    "Role:kube-system/system:controller:token-cleaner",
    "Role:kube-public/system:controller:bootstrap-signer",
];

fn matches(s: &Subject, d: &S) -> bool {
    match (s, d) {
        (Subject::User { name }, S::User(n)) | (Subject::Group { name }, S::Group(n)) => name == n,
        (Subject::ServiceAccount { namespace, name }, S::Sa(n)) => {
            namespace == "kube-system" && name == n
        }
        _ => false,
    }
}

/// Whether (namespace, name, roleRef, subjects) is a platform default: the default's roleRef and
/// no subject the default does not have (fewer grant less).
fn is_default(namespace: Option<&str>, name: &str, role_ref: &str, subjects: &[Subject]) -> bool {
    if let Some(controller) = name.strip_prefix("system:controller:") {
        if namespace.is_none()
            && CONTROLLERS.contains(&controller)
            && role_ref == format!("ClusterRole:{name}")
            && subjects.iter().all(|s| {
                matches!(s, Subject::ServiceAccount { namespace, name }
                    if namespace == "kube-system" && name == controller)
            })
        {
            return true;
        }
    }
    DEFAULTS.iter().any(|d| {
        d.namespace == namespace
            && d.name == name
            && d.role_ref == role_ref
            && subjects
                .iter()
                .all(|s| d.subjects.iter().any(|x| matches(s, x)))
    })
}

/// Whether a subject is one of the control plane's own components: a user or group in a
/// reserved name space that no workload, node, bootstrap token, anonymous request or ordinary
/// credential authenticates as. ServiceAccounts never are (anyone who may create pods in their
/// namespace acts as them); nor are `system:nodes`, node users, bootstrap tokens, the broad
/// groups, or `system:masters` (already all-powerful).
pub fn is_component_identity(s: &Subject) -> bool {
    match s {
        Subject::ServiceAccount { .. } => false,
        Subject::User { name } => {
            (name.starts_with("system:") || name.starts_with("eks:"))
                && !name.starts_with("system:serviceaccount:")
                && !name.starts_with("system:node:")
                && name != "system:anonymous"
        }
        Subject::Group { name } => {
            (name.starts_with("system:") || name.starts_with("eks:"))
                && !name.starts_with("system:serviceaccounts")
                && !name.starts_with("system:bootstrappers")
                && !matches!(
                    name.as_str(),
                    "system:authenticated"
                        | "system:unauthenticated"
                        | "system:nodes"
                        | "system:masters"
                )
        }
    }
}

/// Whether a name carries a prefix Kubernetes, kubeadm or a provider reserves.
pub fn has_reserved_name(name: &str) -> bool {
    RESERVED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Whether the platform owns the binding, by content (see the module documentation).
pub fn is_platform_binding(
    namespace: Option<&str>,
    name: &str,
    role_ref: &str,
    subjects: &[Subject],
) -> bool {
    is_default(namespace, name, role_ref, subjects)
        || (has_reserved_name(name)
            && !subjects.is_empty()
            && subjects.iter().all(is_component_identity))
}

/// Whether a binding wears a platform name (a reserved prefix, or the name of a default) without
/// being the platform's by content: a backdoor hiding among the defaults, or a default someone
/// changed.
pub fn impersonates_platform(
    namespace: Option<&str>,
    name: &str,
    role_ref: &str,
    subjects: &[Subject],
) -> bool {
    let default_name = DEFAULTS
        .iter()
        .any(|d| d.namespace == namespace && d.name == name);
    (default_name || has_reserved_name(name))
        && !is_platform_binding(namespace, name, role_ref, subjects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(n: &str) -> Subject {
        Subject::User { name: n.into() }
    }
    fn group(n: &str) -> Subject {
        Subject::Group { name: n.into() }
    }
    fn sa(ns: &str, n: &str) -> Subject {
        Subject::ServiceAccount {
            namespace: ns.into(),
            name: n.into(),
        }
    }

    #[test]
    fn defaults_are_recognised_by_content() {
        assert!(is_platform_binding(
            None,
            "cluster-admin",
            "ClusterRole:cluster-admin",
            &[group("system:masters")]
        ));
        assert!(is_platform_binding(
            None,
            "system:controller:deployment-controller",
            "ClusterRole:system:controller:deployment-controller",
            &[sa("kube-system", "deployment-controller")]
        ));
        assert!(is_platform_binding(
            Some("kube-system"),
            "system::leader-locking-kube-scheduler",
            "Role:kube-system/system::leader-locking-kube-scheduler",
            &[user("system:kube-scheduler")]
        ));
        // Provider bindings for the control plane's own users.
        assert!(is_platform_binding(
            None,
            "eks:node-manager",
            "ClusterRole:eks:node-manager",
            &[user("eks:node-manager")]
        ));
    }

    #[test]
    fn a_reserved_name_or_a_default_name_hides_nothing() {
        // A backdoor with a system: name, for a ServiceAccount.
        let backdoor = [sa("attacker", "sa")];
        assert!(!is_platform_binding(
            None,
            "system:backdoor",
            "ClusterRole:cluster-admin",
            &backdoor
        ));
        assert!(impersonates_platform(
            None,
            "system:backdoor",
            "ClusterRole:cluster-admin",
            &backdoor
        ));
        // The default's name, one subject more.
        let widened = [group("system:masters"), sa("default", "default")];
        assert!(!is_platform_binding(
            None,
            "cluster-admin",
            "ClusterRole:cluster-admin",
            &widened
        ));
        assert!(impersonates_platform(
            None,
            "cluster-admin",
            "ClusterRole:cluster-admin",
            &widened
        ));
        // The default's name, another role.
        assert!(!is_platform_binding(
            None,
            "system:discovery",
            "ClusterRole:cluster-admin",
            &[group("system:authenticated")]
        ));
        // A controller's name for a controller that does not exist, or another namespace's SA.
        assert!(!is_platform_binding(
            None,
            "system:controller:backdoor",
            "ClusterRole:system:controller:backdoor",
            &[sa("kube-system", "backdoor")]
        ));
        assert!(!is_platform_binding(
            None,
            "system:controller:job-controller",
            "ClusterRole:system:controller:job-controller",
            &[sa("default", "job-controller")]
        ));
        // Reserved names granting to identities attackers can hold.
        for s in [
            group("system:unauthenticated"),
            group("system:authenticated"),
            group("system:serviceaccounts"),
            group("system:serviceaccounts:shop"),
            group("system:nodes"),
            group("system:bootstrappers"),
            user("system:serviceaccount:shop:app"),
            user("system:node:worker-1"),
            user("system:anonymous"),
            user("alice"),
        ] {
            assert!(
                !is_platform_binding(
                    None,
                    "eks:evil",
                    "ClusterRole:cluster-admin",
                    std::slice::from_ref(&s)
                ),
                "{s:?}"
            );
        }
        // An ordinary name is neither.
        assert!(!impersonates_platform(
            None,
            "ci-admin",
            "ClusterRole:cluster-admin",
            &backdoor
        ));
    }
}
