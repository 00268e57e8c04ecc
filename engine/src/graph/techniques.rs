//! The technique catalogue (`../shared/ATTACK-TECHNIQUES.md`): every attack edge carries one of
//! these IDs. Relations (membership, hub fan-out) are edges too, but not techniques.

use serde::Serialize;

/// What an edge means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum Technique {
    // 1. Exposure and workload identity
    /// Internet → LoadBalancer Service.
    INTERNET_TO_LB,
    /// Internet → Ingress → Service.
    INTERNET_TO_INGRESS,
    /// Internet → NodePort Service on a node with an external IP.
    INTERNET_TO_NODEPORT,
    /// Internet → Gateway API or Istio Gateway → the Services its routes lead to.
    INTERNET_TO_GATEWAY,
    /// Service → the pods it selects (network reach of their ports).
    SVC_SELECTS_POD,
    /// Network segment → the listening ports of a segment its pods may connect to, by the
    /// NetworkPolicies.
    NETWORK_REACH,
    /// Network reach of a workload's ports → code execution in it (an assumed flaw in what
    /// listens there).
    ENDPOINT_EXPLOIT,
    /// Pod → each of its containers.
    POD_RUNS_CONTAINER,
    /// Container → the ServiceAccount whose token it holds.
    CONTAINER_HAS_SA_TOKEN,
    /// Pod → a Secret it mounts or reads into env.
    POD_MOUNTS_SECRET,
    /// Secret (service-account-token) → the ServiceAccount it authenticates as.
    SECRET_AUTHENTICATES_AS,
    /// Container → another container of the same pod (shareProcessNamespace).
    SHARE_PROCESS_NS,
    // 2. Host escape and node pivots
    /// Privileged container → node.
    CE_PRIV_MOUNT,
    /// Privileged and hostPID → node (nsenter).
    CE_NSENTER,
    /// Kernel module load → node.
    CE_MODULE_LOAD,
    /// hostPID, SYS_PTRACE, SYS_ADMIN and no AppArmor → node.
    CE_SYS_PTRACE,
    /// SYS_ADMIN (cgroup v1 release_agent) → node.
    CE_CGROUP_SYSADMIN,
    /// DAC_READ_SEARCH (open_by_handle_at) → node.
    CE_DAC_READ_SEARCH,
    /// Root with /proc/sys mounted → node (core_pattern usermode helper).
    CE_UMH_CORE_PATTERN,
    /// /var/log mount plus pods/log read → node files (symlink trick).
    CE_VAR_LOG_SYMLINK,
    /// Writable sensitive hostPath → node.
    EXPLOIT_HOST_WRITE,
    /// Read-only credential-bearing hostPath → node.
    EXPLOIT_HOST_READ,
    /// Container runtime socket → node.
    EXPLOIT_RUNTIME_SOCKET,
    /// Kubelet pod directory → tokens of every pod on the node.
    HOST_TRAVERSE_TOKENS,
    /// Node → pods scheduled on it.
    NODE_HOSTS_POD,
    /// Any node → pods that may be scheduled beside the attacker's (placement unknown).
    NODE_MAY_HOST_POD,
    /// Node → its kubelet identity.
    NODE_CREDENTIALS,
    /// Self-managed control-plane node → cluster admin.
    CONTROL_PLANE_NODE,
    /// Node → its cloud identity (cloud collectors).
    NODE_CLOUD_IDENTITY,
    /// Pod → the node's cloud identity through the metadata service (cloud collectors).
    POD_IMDS_PIVOT,
    // 4. Cloud ↔ cluster bridges
    /// ServiceAccount → IAM role its tokens may assume (IRSA; the trust policy decides).
    IRSA_ASSUME,
    /// ServiceAccount → IAM role of an EKS Pod Identity association.
    EKS_POD_IDENTITY,
    /// AWS principal → Kubernetes user/group through the aws-auth ConfigMap.
    AWS_AUTH_MAP,
    /// AWS principal → Kubernetes user/group through an EKS access entry.
    EKS_ACCESS_ENTRY,
    /// AWS principal → what its associated EKS access policies grant.
    EKS_ACCESS_POLICY,
    /// Update kube-system/aws-auth → any mapping, including system:masters.
    UPDATE_AWS_AUTH,
    /// AWS principal with EKS API rights to grant itself cluster-admin.
    AWS_IAM_TO_EKS_API,
    /// Kubernetes ServiceAccount → Google service account (Workload Identity).
    GKE_WI_ASSUME,
    /// GCP principal → Kubernetes permissions through GKE's IAM authorizer.
    GKE_IAM_TO_K8S,
    /// Google group → Kubernetes group (Google Groups for RBAC).
    GKE_GROUPS_RBAC,
    /// Internet → system:authenticated on GKE (any Google account).
    GKE_AUTHENTICATED_PUBLIC,
    /// ServiceAccount → Azure managed identity (workload identity federation).
    AKS_WI_ASSUME,
    /// Entra principal → Kubernetes permissions (Azure RBAC, admin groups, local accounts).
    AKS_ENTRA_TO_K8S,
    /// Cloud principal → account admin (admin policy or a privilege-escalation chain).
    CLOUD_ROLE_TO_ADMIN,
    /// AWS principal → an IAM role it may assume (role chaining).
    AWS_ASSUME_ROLE,
    // 3. RBAC abuse
    /// Create pods or controllers → any ServiceAccount in scope.
    CREATE_POD_AS_SA,
    /// Create a privileged pod → any node.
    CREATE_PRIVILEGED_POD,
    /// Update a workload controller → any ServiceAccount in its namespace.
    UPDATE_WORKLOAD_AS_SA,
    /// Patch a pod's image → that pod's ServiceAccount.
    PATCH_POD_IMAGE,
    /// Exec or attach into pods.
    EXEC_INTO_POD,
    /// Add an ephemeral container to a pod.
    EPHEMERAL_CONTAINER,
    /// Port-forward to pods (network reach).
    PORT_FORWARD,
    /// Read a ServiceAccount token Secret.
    READ_SA_TOKEN_SECRET,
    /// Read Secrets.
    READ_SECRET,
    /// TokenRequest for a ServiceAccount.
    MINT_TOKEN_REQUEST,
    /// Create a legacy token Secret and read it back.
    MINT_LEGACY_TOKEN_SECRET,
    /// Impersonate a user, group or ServiceAccount.
    IMPERSONATE,
    /// Bind a role the subject does not hold.
    BIND_ROLE,
    /// Escalate a role the subject is bound to.
    ESCALATE_ROLE,
    /// Approve a CSR for a client certificate of any identity.
    CSR_MINT_CLIENT_CERT,
    /// Kubelet API through nodes/proxy.
    NODES_PROXY_EXEC,
    /// Control a mutating webhook → every pod admitted later.
    CONTROL_WEBHOOK,
    /// Create a hostPath PersistentVolume → node.
    CREATE_HOSTPATH_PV,
    /// Evict pods and taint nodes → pods land on an attacker's node.
    STEAL_POD_SCHEDULING,
    /// Holds every permission.
    ADMIN_EQUIVALENT,
    // Relations (not attacks)
    /// Identity → group it belongs to.
    MEMBER_OF,
    /// Hub → a member (every SA of a namespace, every pod, every node...).
    INCLUDES,
}

/// Catalogue entry.
pub struct TechniqueInfo {
    /// The technique.
    pub id: Technique,
    /// Section of the catalogue (1 exposure, 2 escape, 3 RBAC, 4 cloud, 0 relation).
    pub section: u8,
    /// Precondition, in words.
    pub precondition: &'static str,
    /// Likelihood that the hop works when its precondition holds (0–1), for path scores.
    pub likelihood: f64,
    /// Implemented now (cloud bridges come with the cloud collectors).
    pub implemented: bool,
}

macro_rules! t {
    ($id:ident, $sec:expr, $lik:expr, $imp:expr, $pre:expr) => {
        TechniqueInfo {
            id: Technique::$id,
            section: $sec,
            precondition: $pre,
            likelihood: $lik,
            implemented: $imp,
        }
    };
}

/// The catalogue, in document order.
pub static CATALOGUE: &[TechniqueInfo] = &[
    t!(INTERNET_TO_LB, 1, 1.0, true, "type LoadBalancer with an ingress IP/hostname, not internal by provider annotation, loadBalancerSourceRanges absent or 0.0.0.0/0"),
    t!(INTERNET_TO_INGRESS, 1, 1.0, true, "the Ingress's address is that of an internet-facing LoadBalancer (its controller's) or a cloud-managed public load balancer, or its class is served by a controller behind one; a rule backend leads to its Service where its senders (the controller's pods behind that LoadBalancer, or for a cloud load balancer a client outside the cluster) may connect to a pod behind it on the Service port routed to: sender egress and backend ingress both allowed by the network policies, or undecidable"),
    t!(INTERNET_TO_NODEPORT, 1, 0.8, true, "type NodePort and some node has an ExternalIP"),
    t!(INTERNET_TO_GATEWAY, 1, 1.0, true, "a Gateway API Gateway implemented by an internet-facing LoadBalancer (its implementation's labels), at such an address, or of an external managed GatewayClass, with an HTTPRoute/GRPCRoute/TLSRoute/TCPRoute/UDPRoute whose parentRef names it and whose namespace a listener admits (allowedRoutes: Same, All, Selector); backendRefs to another namespace need a ReferenceGrant there. A backend in the route's namespace is reached where the gateway's pods (behind the LoadBalancer that implements it or holds its address; for an external class, a client outside the cluster) may connect to a pod behind it on the port routed to, as for an Ingress. Istio: a VirtualService bound to a Gateway whose selector picks pods behind an internet-facing LoadBalancer; destinations svc, svc.ns, svc.ns.svc.cluster.local"),
    t!(SVC_SELECTS_POD, 1, 0.9, true, "same namespace, selector ⊆ pod labels, target port resolves (number, or a named containerPort), pods ready where EndpointSlices say so; leads to the pods' ports (Endpoint), not into the pods"),
    t!(NETWORK_REACH, 1, 1.0, true, "the pods of one segment (pods every NetworkPolicy treats alike) may open a connection to a listening port (declared containerPort or a Service target port) of another's: egress of the source and ingress of the destination both allowed, each open when no policy isolates it; undecidable answers (ipBlocks against unknown addresses, namespaces known only by name, host-network pods, network-plugin policies) kept and said in the evidence"),
    t!(ENDPOINT_EXPLOIT, 1, 0.6, true, "network reach of the pods' ports (a Service, an Ingress or the internet through them, or port-forward) becomes code execution only through a flaw in what listens there: assumed, not proven; the evidence names the ports. With image vulnerability reports (--vulns), the hop's likelihood is the highest over its containers: the worst vulnerability a network attacker can use (attack vector network or not stated: known exploited 0.95, critical 0.85, high 0.75, medium 0.5, low 0.3, raised to its EPSS score), 0.3 for a scanned image without one, 0.6 for an image no report covers; the CVEs are in the evidence"),
    t!(POD_RUNS_CONTAINER, 1, 1.0, true, "every container, init container and ephemeral container"),
    t!(CONTAINER_HAS_SA_TOKEN, 1, 1.0, true, "automountServiceAccountToken not false (pod overrides ServiceAccount), or a projected serviceAccountToken volume"),
    t!(POD_MOUNTS_SECRET, 1, 1.0, true, "secret volume, projected secret, envFrom or env secretKeyRef"),
    t!(SECRET_AUTHENTICATES_AS, 1, 1.0, true, "type kubernetes.io/service-account-token, annotation kubernetes.io/service-account.name (uid matches when both known), not labelled legacy-token-invalid-since"),
    t!(SHARE_PROCESS_NS, 1, 0.9, true, "shareProcessNamespace: true (every ordered pair of containers)"),
    t!(CE_PRIV_MOUNT, 2, 0.95, true, "privileged: true"),
    t!(CE_NSENTER, 2, 0.95, true, "privileged and hostPID"),
    t!(CE_MODULE_LOAD, 2, 0.8, true, "privileged, or capabilities add SYS_MODULE (CAP_ prefix, case and ALL normalised)"),
    t!(CE_SYS_PTRACE, 2, 0.7, true, "hostPID, SYS_PTRACE and SYS_ADMIN, and AppArmor Unconfined or Kubernetes < 1.31"),
    t!(CE_CGROUP_SYSADMIN, 2, 0.5, true, "capabilities add SYS_ADMIN (cgroup v1 release_agent; lower confidence)"),
    t!(CE_DAC_READ_SEARCH, 2, 0.7, true, "capabilities add DAC_READ_SEARCH (open_by_handle_at)"),
    t!(CE_UMH_CORE_PATTERN, 2, 0.8, true, "root (explicit UID 0, or the image's user) and a writable hostPath of /, /proc, /proc/sys or /proc/sys/kernel"),
    t!(CE_VAR_LOG_SYMLINK, 2, 0.6, true, "hostPath /, /var or /var/log mounted writable and the container's ServiceAccount can get pods/log — not for a container that definitely cannot open root-only files (explicit non-zero UID or runAsNonRoot, allowPrivilegeEscalation: false or drop ALL, none of DAC_OVERRIDE/DAC_READ_SEARCH/FOWNER/CHOWN/SETUID/SETGID, no runAsGroup 0, supplemental groups or fsGroup, not privileged)"),
    t!(EXPLOIT_HOST_WRITE, 2, 0.9, true, "a writable hostPath outside the safe list — not for a container that definitely cannot open root-only files (explicit non-zero UID or runAsNonRoot, allowPrivilegeEscalation: false or drop ALL, none of DAC_OVERRIDE/DAC_READ_SEARCH/FOWNER/CHOWN/SETUID/SETGID, no runAsGroup 0, supplemental groups or fsGroup, not privileged)"),
    t!(EXPLOIT_HOST_READ, 2, 0.7, true, "a read-only hostPath of /, /etc, /root, /home, /proc, /etc/kubernetes or /var/lib/kubelet — not for a container that definitely cannot open root-only files (explicit non-zero UID or runAsNonRoot, allowPrivilegeEscalation: false or drop ALL, none of DAC_OVERRIDE/DAC_READ_SEARCH/FOWNER/CHOWN/SETUID/SETGID, no runAsGroup 0, supplemental groups or fsGroup, not privileged)"),
    t!(EXPLOIT_RUNTIME_SOCKET, 2, 0.95, true, "a hostPath that is or contains a container runtime socket (read-only too; the socket is 0660 root) — not for a container that definitely cannot open root-only files (explicit non-zero UID or runAsNonRoot, allowPrivilegeEscalation: false or drop ALL, none of DAC_OVERRIDE/DAC_READ_SEARCH/FOWNER/CHOWN/SETUID/SETGID, no runAsGroup 0, supplemental groups or fsGroup, not privileged)"),
    t!(HOST_TRAVERSE_TOKENS, 2, 0.9, true, "a hostPath of /, /var, /var/lib, /var/lib/kubelet or /var/lib/kubelet/pods (the pod directories are 0750 root), to the ServiceAccounts of the pods on the same nodes that hold a token (automounted, a mounted projected token, or EKS's) — not for a container that definitely cannot open root-only files (explicit non-zero UID or runAsNonRoot, allowPrivilegeEscalation: false or drop ALL, none of DAC_OVERRIDE/DAC_READ_SEARCH/FOWNER/CHOWN/SETUID/SETGID, no runAsGroup 0, supplemental groups or fsGroup, not privileged)"),
    t!(NODE_HOSTS_POD, 2, 1.0, true, "the pod's spec.nodeName; from any node, where no pod's placement is known, a DaemonSet with no nodeSelector or required node affinity (a pod on every node)"),
    t!(NODE_MAY_HOST_POD, 2, 0.5, true, "any node, where no pod's placement is known (manifests, templates): a workload with no nodeSelector or required node affinity keeping it apart may be scheduled beside the attacker's pod"),
    t!(NODE_CREDENTIALS, 2, 1.0, true, "the kubelet's identity system:node:<name> in group system:nodes (any node, when the snapshot has no Node objects: group system:nodes); the Node authorizer limits it to its own pods' objects"),
    t!(CONTROL_PLANE_NODE, 2, 1.0, true, "self-managed clusters only: node labelled node-role.kubernetes.io/control-plane or /master"),
    t!(NODE_CLOUD_IDENTITY, 4, 1.0, true, "EKS: the node group's nodeRole (eks.amazonaws.com/nodegroup label); GKE: the node pool's service account (cloud.google.com/gke-nodepool) when its OAuth scopes let the token use it (cloud-platform, compute, iam or userinfo.email; not the legacy read-only defaults); AKS: the kubelet identity"),
    t!(POD_IMDS_PIVOT, 4, 0.7, true, "EKS: the launch template allows IMDSv1 or hop limit ≥ 2, or hostNetwork; GKE: node pool in GCE_METADATA mode (or no Workload Identity), or hostNetwork, with scopes that let the token be used; AKS: always (no hop limit); pods placed by spec.nodeName, else every pool they may be scheduled on; not when the pod's NetworkPolicies deny egress to every metadata address on port 80 (host-network pods excepted)"),
    t!(IRSA_ASSUME, 4, 1.0, true, "the role's trust policy allows the cluster's OIDC provider sts:AssumeRoleWithWebIdentity with sub system:serviceaccount:<ns>:<sa> and aud sts.amazonaws.com (StringEquals/StringLike, evaluated); the annotation only drives injection"),
    t!(EKS_POD_IDENTITY, 4, 1.0, true, "a Pod Identity association for the ServiceAccount, and a role trust allowing pods.eks.amazonaws.com sts:AssumeRole + sts:TagSession; targetRoleArn chains"),
    t!(AWS_AUTH_MAP, 4, 1.0, true, "mapRoles/mapUsers/mapAccounts entry (auth mode CONFIG_MAP or API_AND_CONFIG_MAP, no access entry for the same principal); username templates matched against bound users"),
    t!(EKS_ACCESS_ENTRY, 4, 1.0, true, "access entry username and kubernetesGroups (auth mode API or API_AND_CONFIG_MAP; the entry overrides aws-auth)"),
    t!(EKS_ACCESS_POLICY, 4, 1.0, true, "associated access policies, as the equivalent RBAC roles at cluster or namespace scope; AmazonEKSClusterAdminPolicy at cluster scope is cluster-admin"),
    t!(UPDATE_AWS_AUTH, 3, 0.9, true, "update/patch ConfigMap kube-system/aws-auth while the auth mode reads it"),
    t!(AWS_IAM_TO_EKS_API, 4, 0.9, true, "IAM allows eks:CreateAccessEntry on the cluster and eks:AssociateAccessPolicy (plus eks:UpdateClusterConfig in CONFIG_MAP mode), same account"),
    t!(GKE_WI_ASSUME, 4, 1.0, true, "the GSA's IAM policy — its own, or its project's, folders' or organization's, which it inherits — grants roles/iam.workloadIdentityUser (or serviceAccountTokenCreator) to serviceAccount:<pool>[ns/ksa] and the cluster uses that pool (the annotation only selects the GSA)"),
    t!(GKE_IAM_TO_K8S, 4, 1.0, true, "project IAM roles carrying container.* permissions (owner/editor/container.admin: cluster-admin; secrets.get/list: every Secret; pods.exec; pods.create or serviceAccounts.createToken: any ServiceAccount); also direct Workload Identity Federation principals"),
    t!(GKE_GROUPS_RBAC, 4, 1.0, true, "authenticatorGroupsConfig.enabled and RBAC naming a group by e-mail (membership not expanded)"),
    t!(GKE_AUTHENTICATED_PUBLIC, 4, 1.0, true, "GKE, unless rbacBindingConfig.enableInsecureBindingSystemAuthenticated is false: system:authenticated includes every Google account"),
    t!(AKS_WI_ASSUME, 4, 1.0, true, "a federated identity credential whose issuer is the cluster's OIDC issuer and whose subject is system:serviceaccount:<ns>:<sa>"),
    t!(AKS_ENTRA_TO_K8S, 4, 1.0, true, "Azure RBAC for Kubernetes roles at cluster or namespace scope (when enabled), adminGroupObjectIDs, Cluster Admin Role with local accounts, Cluster User Role without Entra, Owner/Contributor rewriting the cluster"),
    t!(CLOUD_ROLE_TO_ADMIN, 4, 0.9, true, "AWS: policies allow * on *, a self-escalation action (iam:Put*/Attach*Policy, CreatePolicyVersion, ...), iam:PassRole of an admin role to compute it can create, (assuming an admin role is AWS_ASSUME_ROLE, then this hop)"),
    t!(AWS_ASSUME_ROLE, 4, 1.0, true, "the target role's trust policy admits the caller (principal ARN, its account, or *; conditions kept), and the caller's identity policies allow sts:AssumeRole on it (boundary applied) unless the trust names the caller itself in the same account; both accounts scanned; callers that may assume a role in the graph become entry points"),
    t!(CREATE_POD_AS_SA, 3, 0.9, true, "create on pods, deployments, daemonsets, replicasets, statefulsets, jobs, cronjobs or replicationcontrollers without resourceNames"),
    t!(CREATE_PRIVILEGED_POD, 3, 0.9, true, "as CREATE_POD_AS_SA, in a namespace whose enforced Pod Security level allows privileged pods (or whose labels the subject can change)"),
    t!(UPDATE_WORKLOAD_AS_SA, 3, 0.8, true, "update or patch on a workload controller kind: its pods' ServiceAccounts in scope, and any node where the namespace's Pod Security admits privileged pods"),
    t!(PATCH_POD_IMAGE, 3, 0.8, true, "update or patch on pods"),
    t!(EXEC_INTO_POD, 3, 1.0, true, "create pods/exec or pods/attach (get before Kubernetes 1.35)"),
    t!(EPHEMERAL_CONTAINER, 3, 0.9, true, "update or patch on pods/ephemeralcontainers"),
    t!(PORT_FORWARD, 3, 1.0, true, "create pods/portforward (or get before 1.35, a WebSocket upgrade): network reach of every port the pods listen on, localhost-bound ones included (running code there is ENDPOINT_EXPLOIT)"),
    t!(READ_SA_TOKEN_SECRET, 3, 1.0, true, "get (naming the Secret), list or watch on secrets where a live ServiceAccount token Secret is"),
    t!(READ_SECRET, 3, 1.0, true, "get, list or watch on secrets"),
    t!(MINT_TOKEN_REQUEST, 3, 1.0, true, "create serviceaccounts/token, by name or without resourceNames"),
    t!(MINT_LEGACY_TOKEN_SECRET, 3, 0.9, true, "create secrets and (read secrets or create pods) in the namespace"),
    t!(IMPERSONATE, 3, 1.0, true, "impersonate on users, groups or serviceaccounts; a group also needs some user to impersonate alongside — any user name the rules allow (bound or not) or any ServiceAccount — and system:masters is cluster-admin"),
    t!(BIND_ROLE, 3, 1.0, true, "create/update/patch RoleBindings (ClusterRoleBindings) and `bind` on the referenced role by name: `clusterroles` for a ClusterRole (cluster-admin, admin or edit: the namespace's pods, Secrets and, where Pod Security admits privileged pods, a node), `roles` for a Role, which must exist in that namespace and gives what it grants"),
    t!(ESCALATE_ROLE, 3, 1.0, true, "escalate and update/patch on a role the subject is bound to (by name or any), within that binding's scope: cluster-wide is cluster-admin; a namespace gives its pods' ServiceAccounts, its Secrets and, where Pod Security admits privileged pods, a node"),
    t!(CSR_MINT_CLIENT_CERT, 3, 0.9, true, "create CSRs, update certificatesigningrequests/approval and approve on the kube-apiserver-client signer"),
    t!(NODES_PROXY_EXEC, 3, 0.9, true, "get or create on nodes/proxy"),
    t!(CONTROL_WEBHOOK, 3, 0.8, true, "create/update/patch mutatingwebhookconfigurations, or code execution in the pods behind a mutating webhook's Service whose rules cover pod CREATE: every ServiceAccount of the namespaces its namespaceSelector matches (mutation precedes validation), and any node where one of them admits privileged pods under Pod Security"),
    t!(CREATE_HOSTPATH_PV, 3, 0.7, true, "create persistentvolumes, and create persistentvolumeclaims and pods somewhere"),
    t!(STEAL_POD_SCHEDULING, 3, 0.4, true, "delete or evict pods in a namespace and patch nodes"),
    t!(ADMIN_EQUIVALENT, 3, 1.0, true, "* verbs on * resources in * groups cluster-wide, or membership of system:masters"),
    t!(MEMBER_OF, 0, 1.0, true, "identity belongs to the group (explicitly or implicitly)"),
    t!(INCLUDES, 0, 1.0, true, "the hub stands for each of its members"),
];

/// Each technique's catalogue entry and ID, by the technique's discriminant: worked out once
/// from [`CATALOGUE`] (its first entry for a technique, as a search of it finds), for the path
/// searches that ask for them on every edge they cross.
struct Entries {
    info: Vec<&'static TechniqueInfo>,
    names: Vec<Option<String>>,
}

fn entries() -> &'static Entries {
    static ENTRIES: std::sync::OnceLock<Entries> = std::sync::OnceLock::new();
    ENTRIES.get_or_init(|| {
        let n = CATALOGUE
            .iter()
            .map(|t| t.id as usize + 1)
            .max()
            .unwrap_or(0);
        let mut info: Vec<Option<&'static TechniqueInfo>> = vec![None; n];
        let mut names = vec![None; n];
        for t in CATALOGUE {
            let i = t.id as usize;
            if info[i].is_none() {
                info[i] = Some(t);
                names[i] = Some(format!("{:?}", t.id));
            }
        }
        Entries {
            info: info
                .into_iter()
                .map(|i| i.unwrap_or(&CATALOGUE[0]))
                .collect(),
            names,
        }
    })
}

impl Technique {
    /// Catalogue entry (the first for this technique; the catalogue's first when it has none).
    pub fn info(self) -> &'static TechniqueInfo {
        entries()
            .info
            .get(self as usize)
            .copied()
            .unwrap_or(&CATALOGUE[0])
    }

    /// [`Technique::id`], without a copy for a technique of the catalogue.
    pub fn name(self) -> std::borrow::Cow<'static, str> {
        match entries().names.get(self as usize) {
            Some(Some(name)) => std::borrow::Cow::Borrowed(name),
            _ => std::borrow::Cow::Owned(format!("{self:?}")),
        }
    }

    /// Whether this edge is an attack (not a relation).
    pub fn is_attack(self) -> bool {
        self.info().section != 0
    }

    /// The ID as written in the catalogue.
    pub fn id(self) -> String {
        self.name().into_owned()
    }

    /// The technique with this catalogue ID.
    pub fn from_id(id: &str) -> Option<Technique> {
        CATALOGUE.iter().map(|t| t.id).find(|t| t.name() == id)
    }
}
