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

use super::{Request, Rule, Subject};
use crate::snapshot::Provider;

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

/// One default binding: namespace (`None` for a ClusterRoleBinding), name, roleRef, subjects;
/// the provider that creates it (`None`: every cluster), and whether its subjects are the
/// platform's own identities on that provider (so its role may be powerful).
struct DefaultBinding {
    namespace: Option<&'static str>,
    name: &'static str,
    role_ref: &'static str,
    subjects: &'static [S],
    provider: Option<Provider>,
    trusted: bool,
}

const fn crb(name: &'static str, role: &'static str, subjects: &'static [S]) -> DefaultBinding {
    DefaultBinding {
        namespace: None,
        name,
        role_ref: role,
        subjects,
        provider: None,
        trusted: false,
    }
}

const fn rb(
    namespace: &'static str,
    name: &'static str,
    role: &'static str,
    subjects: &'static [S],
) -> DefaultBinding {
    DefaultBinding {
        namespace: Some(namespace),
        name,
        role_ref: role,
        subjects,
        provider: None,
        trusted: false,
    }
}

impl DefaultBinding {
    /// Created by this provider only.
    const fn on(mut self, provider: Provider) -> DefaultBinding {
        self.provider = Some(provider);
        self
    }

    /// Its subjects are the platform's own (an admin credential it issues, its add-on
    /// manager): the role may be cluster-admin.
    const fn trusted(mut self) -> DefaultBinding {
        self.trusted = true;
        self
    }
}

const BOOTSTRAP_TOKEN: &str = "system:bootstrappers:kubeadm:default-node-token";

/// The defaults, each with the roleRef and subjects the creator writes.
const DEFAULTS: &[DefaultBinding] = &[
    // Kubernetes bootstrap policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy).
    crb(
        "cluster-admin",
        "ClusterRole:cluster-admin",
        &[S::Group("system:masters")],
    )
    .trusted(),
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
    )
    .trusted(),
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
    )
    .on(Provider::Eks)
    .trusted(),
    // AKS: the local accounts' certificates (the admin and the user kubeconfig of a cluster
    // without Entra ID) and Microsoft support's access; their use is graded by the AKS checks.
    crb(
        "aks-cluster-admin-binding",
        "ClusterRole:cluster-admin",
        &[S::User("clusterAdmin"), S::User("clusterUser")],
    )
    .on(Provider::Aks)
    .trusted(),
    crb(
        "aks-service-rolebinding",
        "ClusterRole:aks-service",
        &[S::User("aks-support")],
    )
    .on(Provider::Aks)
    .trusted(),
    // GKE node bootstrap.
    crb(
        "gce:beta:kubelet-certificate-bootstrap",
        "ClusterRole:gce:beta:kubelet-certificate-bootstrap",
        &[S::User("kubelet")],
    )
    .on(Provider::Gke),
    crb(
        "gce:beta:kubelet-certificate-rotation",
        "ClusterRole:gce:beta:kubelet-certificate-rotation",
        &[S::Group("system:nodes")],
    )
    .on(Provider::Gke),
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

/// What kspm knows of a binding when it decides whether the platform owns it.
#[derive(Clone, Copy)]
pub struct BindingFacts<'a> {
    /// `None` for a ClusterRoleBinding.
    pub namespace: Option<&'a str>,
    /// The binding's name.
    pub name: &'a str,
    /// `ClusterRole:edit`, `Role:ns/name`.
    pub role_ref: &'a str,
    /// Its subjects.
    pub subjects: &'a [Subject],
    /// The referenced role's effective rules (`None` when the role does not exist).
    pub rules: Option<&'a [Rule]>,
    /// The cluster's provider.
    pub provider: Provider,
}

/// Requests whose grant makes a role powerful beyond the named sets it also counts
/// ([`powerful`]): changing RBAC, impersonating, the kubelet API, webhooks, ConfigMaps.
const ALSO_POWERFUL: &[(&str, &str, &str)] = &[
    ("impersonate", "", "users"),
    ("impersonate", "", "groups"),
    ("impersonate", "", "serviceaccounts"),
    ("bind", "rbac.authorization.k8s.io", "clusterroles"),
    ("escalate", "rbac.authorization.k8s.io", "clusterroles"),
    ("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
    ("create", "rbac.authorization.k8s.io", "rolebindings"),
    ("update", "rbac.authorization.k8s.io", "clusterroles"),
    ("get", "", "nodes/proxy"),
    ("create", "", "nodes/proxy"),
    (
        "update",
        "admissionregistration.k8s.io",
        "mutatingwebhookconfigurations",
    ),
    ("update", "", "configmaps"),
];

/// Every request whose grant makes a role powerful: reading Secrets, running code as a pod's
/// identity in any way (creating or changing pods and every pod-making controller, ephemeral
/// containers, exec and attach at any version), minting tokens, and
/// [`ALSO_POWERFUL`].
fn powerful() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    super::sets::READ_SECRETS
        .iter()
        .chain(super::sets::CREATE_WORKLOADS)
        .chain(super::sets::UPDATE_WORKLOADS)
        .chain(super::sets::PATCH_PODS)
        .chain(super::sets::EPHEMERAL_CONTAINERS)
        .chain(super::sets::exec(None))
        .chain(super::sets::MINT_TOKENS)
        .chain(ALSO_POWERFUL)
}

/// Whether a role grants nothing powerful (names aside: a rule restricted by resourceNames
/// matches no nameless request) and no wildcard verb or resource.
fn mild(rules: &[Rule]) -> bool {
    rules.iter().all(|r| {
        !r.verbs.iter().any(|v| v == "*")
            && !r.resources.iter().any(|x| x == "*")
            && !powerful().any(|(v, g, res)| {
                r.allows(&Request::resource(v, g, res, Some("kube-system"), None))
            })
    })
}

/// Subjects that may hold powerful defaults: control-plane components, the controllers'
/// kube-system ServiceAccounts, and `system:masters` (all-powerful before RBAC anyway).
fn trusted_holder(s: &Subject) -> bool {
    is_component_identity(s)
        || matches!(s, Subject::Group { name } if name == super::SYSTEM_MASTERS)
        || matches!(s, Subject::ServiceAccount { namespace, name }
            if namespace == "kube-system" && CONTROLLERS.contains(&name.as_str()))
}

/// Whether a binding is a platform default: the default's name and roleRef on its provider, no
/// subject the default does not have (fewer grant less), and — unless the default's subjects
/// are the platform's own — a role that grants nothing powerful, so that a default's name and
/// roleRef pointing at a role rewritten with wildcards hides nothing.
fn is_default(b: &BindingFacts<'_>) -> bool {
    let role_ok = |trusted: bool| {
        trusted || b.subjects.iter().all(trusted_holder) || b.rules.is_none_or(mild)
    };
    if let Some(controller) = b.name.strip_prefix("system:controller:") {
        if b.namespace.is_none()
            && CONTROLLERS.contains(&controller)
            && b.role_ref == format!("ClusterRole:{}", b.name)
            && b.subjects.iter().all(|s| {
                matches!(s, Subject::ServiceAccount { namespace, name }
                    if namespace == "kube-system" && name == controller)
            })
        {
            return true;
        }
    }
    DEFAULTS.iter().any(|d| {
        d.namespace == b.namespace
            && d.name == b.name
            && d.role_ref == b.role_ref
            && d.provider.is_none_or(|p| p == b.provider)
            && b.subjects
                .iter()
                .all(|s| d.subjects.iter().any(|x| matches(s, x)))
            && role_ok(d.trusted)
    })
}

/// Users that are not the control plane's although their names look reserved: credentials held
/// on every node (kube-proxy's in kops and hand-built clusters, k3s/RKE2 agents, the kubelet).
const NODE_HELD_USERS: &[&str] = &[
    "system:kube-proxy",
    "system:kubelet",
    "system:k3s-controller",
    "system:rke2-controller",
    "system:anonymous",
];

/// Whether a subject is one of the control plane's own components: a user or group in a
/// reserved name space that no workload, node, bootstrap token, anonymous request or ordinary
/// credential authenticates as. ServiceAccounts never are (anyone who may create pods in their
/// namespace acts as them); nor are `system:nodes`, node users and credentials every node holds,
/// bootstrap tokens, the broad groups, or `system:masters` (already all-powerful).
pub fn is_component_identity(s: &Subject) -> bool {
    match s {
        Subject::ServiceAccount { .. } => false,
        Subject::User { name } => {
            (name.starts_with("system:") || name.starts_with("eks:"))
                && !name.starts_with("system:serviceaccount:")
                && !name.starts_with("system:node:")
                && !NODE_HELD_USERS.contains(&name.as_str())
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
pub fn is_platform_binding(b: &BindingFacts<'_>) -> bool {
    is_default(b)
        || (has_reserved_name(b.name)
            && !b.subjects.is_empty()
            && b.subjects.iter().all(is_component_identity))
}

/// Whether a binding's name is a platform's: a reserved prefix, or the name of a default.
pub fn has_platform_name(namespace: Option<&str>, name: &str) -> bool {
    has_reserved_name(name)
        || DEFAULTS
            .iter()
            .any(|d| d.namespace == namespace && d.name == name)
}

/// Whether a binding wears a platform name without being the platform's by content: a backdoor
/// hiding among the defaults, or a default someone changed.
pub fn impersonates_platform(b: &BindingFacts<'_>) -> bool {
    has_platform_name(b.namespace, b.name) && !is_platform_binding(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(
        namespace: Option<&'a str>,
        name: &'a str,
        role_ref: &'a str,
        subjects: &'a [Subject],
    ) -> BindingFacts<'a> {
        BindingFacts {
            namespace,
            name,
            role_ref,
            subjects,
            rules: None,
            provider: Provider::Generic,
        }
    }
    fn plat(namespace: Option<&str>, name: &str, role_ref: &str, subjects: &[Subject]) -> bool {
        is_platform_binding(&facts(namespace, name, role_ref, subjects))
    }
    fn imp(namespace: Option<&str>, name: &str, role_ref: &str, subjects: &[Subject]) -> bool {
        impersonates_platform(&facts(namespace, name, role_ref, subjects))
    }

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
        assert!(plat(
            None,
            "cluster-admin",
            "ClusterRole:cluster-admin",
            &[group("system:masters")]
        ));
        assert!(plat(
            None,
            "system:controller:deployment-controller",
            "ClusterRole:system:controller:deployment-controller",
            &[sa("kube-system", "deployment-controller")]
        ));
        assert!(plat(
            Some("kube-system"),
            "system::leader-locking-kube-scheduler",
            "Role:kube-system/system::leader-locking-kube-scheduler",
            &[user("system:kube-scheduler")]
        ));
        // Provider bindings for the control plane's own users.
        assert!(plat(
            None,
            "eks:node-manager",
            "ClusterRole:eks:node-manager",
            &[user("eks:node-manager")]
        ));
    }

    /// A default's name and roleRef with the role rewritten: not the platform's when the
    /// subjects are ones an attacker can hold; provider defaults only on their provider.
    #[test]
    fn content_includes_the_role_and_the_provider() {
        let nodes = [group("system:nodes")];
        let wildcard = vec![Rule {
            verbs: vec!["*".into()],
            api_groups: vec!["*".into()],
            resources: vec!["*".into()],
            ..Default::default()
        }];
        let csr = vec![Rule {
            verbs: vec!["create".into()],
            api_groups: vec!["certificates.k8s.io".into()],
            resources: vec!["certificatesigningrequests/selfnodeclient".into()],
            ..Default::default()
        }];
        let on = |provider, rules: &'static [Rule]| BindingFacts {
            namespace: None,
            name: "gce:beta:kubelet-certificate-rotation",
            role_ref: "ClusterRole:gce:beta:kubelet-certificate-rotation",
            subjects: &nodes,
            rules: Some(rules),
            provider,
        };
        let csr: &'static [Rule] = Box::leak(csr.into_boxed_slice());
        let wildcard: &'static [Rule] = Box::leak(wildcard.into_boxed_slice());
        assert!(is_platform_binding(&on(Provider::Gke, csr)));
        assert!(!is_platform_binding(&on(Provider::Gke, wildcard)));
        assert!(impersonates_platform(&on(Provider::Gke, wildcard)));
        // Rewritten to run pods in a way other than `create pods` — a StatefulSet, a
        // changed Deployment template, an attached shell — it is no longer the default either.
        for (verb, group, resource) in [
            ("create", "apps", "statefulsets"),
            ("patch", "apps", "deployments"),
            ("create", "", "pods/attach"),
            ("watch", "", "secrets"),
        ] {
            let rewritten: &'static [Rule] = Box::leak(
                vec![Rule {
                    verbs: vec![verb.into()],
                    api_groups: vec![group.into()],
                    resources: vec![resource.into()],
                    ..Default::default()
                }]
                .into_boxed_slice(),
            );
            assert!(
                !is_platform_binding(&on(Provider::Gke, rewritten)),
                "{verb} {resource}"
            );
        }
        assert!(!is_platform_binding(&on(Provider::Eks, csr)));
        // AKS's local-account binding is AKS's only.
        let users = [user("clusterAdmin")];
        let aks = |provider| BindingFacts {
            namespace: None,
            name: "aks-cluster-admin-binding",
            role_ref: "ClusterRole:cluster-admin",
            subjects: &users,
            rules: Some(wildcard),
            provider,
        };
        assert!(is_platform_binding(&aks(Provider::Aks)));
        assert!(!is_platform_binding(&aks(Provider::Eks)));
        // Credentials every node holds are not the control plane's.
        assert!(!plat(
            None,
            "system:x",
            "ClusterRole:cluster-admin",
            &[user("system:kube-proxy")]
        ));
        assert!(plat(
            None,
            "system:x",
            "ClusterRole:cluster-admin",
            &[user("system:kube-scheduler")]
        ));
    }

    #[test]
    fn a_reserved_name_or_a_default_name_hides_nothing() {
        // A backdoor with a system: name, for a ServiceAccount.
        let backdoor = [sa("attacker", "sa")];
        assert!(!plat(
            None,
            "system:backdoor",
            "ClusterRole:cluster-admin",
            &backdoor
        ));
        assert!(imp(
            None,
            "system:backdoor",
            "ClusterRole:cluster-admin",
            &backdoor
        ));
        // The default's name, one subject more.
        let widened = [group("system:masters"), sa("default", "default")];
        assert!(!plat(
            None,
            "cluster-admin",
            "ClusterRole:cluster-admin",
            &widened
        ));
        assert!(imp(
            None,
            "cluster-admin",
            "ClusterRole:cluster-admin",
            &widened
        ));
        // The default's name, another role.
        assert!(!plat(
            None,
            "system:discovery",
            "ClusterRole:cluster-admin",
            &[group("system:authenticated")]
        ));
        // A controller's name for a controller that does not exist, or another namespace's SA.
        assert!(!plat(
            None,
            "system:controller:backdoor",
            "ClusterRole:system:controller:backdoor",
            &[sa("kube-system", "backdoor")]
        ));
        assert!(!plat(
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
                !plat(
                    None,
                    "eks:evil",
                    "ClusterRole:cluster-admin",
                    std::slice::from_ref(&s)
                ),
                "{s:?}"
            );
        }
        // An ordinary name is neither.
        assert!(!imp(
            None,
            "ci-admin",
            "ClusterRole:cluster-admin",
            &backdoor
        ));
    }
}
