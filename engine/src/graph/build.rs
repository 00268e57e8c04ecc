//! Building the graph from a snapshot: exposure, workload identity, host escapes, node pivots and
//! RBAC abuse, each edge with the exact precondition of its technique.

use super::{AttackGraph, NodeKind, Technique as T};
use crate::exposure::Exposure;
use crate::inventory::{ContainerRef, HostPathVolume, Inventory, PodTemplate};
use crate::object::Object;
use crate::pss::enforced_level;
use crate::pss::Level;
use crate::rbac::{sets, Grant, Identity, Rbac, Request, Subject, SYSTEM_MASTERS};
use crate::selector::LabelSelector;
use crate::snapshot::{ClusterSnapshot, Provider, Snapshot};
use petgraph::graph::NodeIndex;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Namespace used to ask "is this granted cluster-wide": no RoleBinding is in it.
const ANY_NAMESPACE: &str = "\u{0}any";

/// Namespaces whose workloads and ServiceAccounts are the platform's, not entry points.
const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// Name prefixes of identities Kubernetes and the managed providers own.
const PLATFORM_PREFIXES: &[&str] = &["system:", "eks:", "gke:", "gce:", "aks:"];

impl AttackGraph {
    /// Builds the fleet's graph.
    pub fn build(snapshot: &Snapshot) -> AttackGraph {
        let mut g = AttackGraph::default();
        for cluster in &snapshot.clusters {
            let inv = Inventory::new(cluster);
            let rbac = Rbac::build(&cluster.objects, cluster.info.version().map(|(_, m)| m));
            g.build_cluster(cluster, &inv, &rbac);
        }
        g
    }

    /// Builds the graph of one cluster with the RBAC state already computed.
    pub fn build_cluster(&mut self, cluster: &ClusterSnapshot, inv: &Inventory<'_>, rbac: &Rbac) {
        let facts = ClusterFacts::of(inv, rbac);
        self.build_part(cluster, inv, rbac, &facts, Part::Whole);
    }

    /// Builds one part of a cluster's graph from the objects `inv` holds, with the whole
    /// cluster's RBAC and [`ClusterFacts`]. The graph of a cluster is the union of its
    /// [`Part::Cluster`] graph and the [`Part::Namespace`] graphs of every namespace (each
    /// built from that namespace's objects and the cluster-scoped ones): the incremental
    /// evaluator rebuilds only the namespaces that changed.
    pub fn build_part(
        &mut self,
        cluster: &ClusterSnapshot,
        inv: &Inventory<'_>,
        rbac: &Rbac,
        facts: &ClusterFacts,
        part: Part,
    ) -> Neighbours {
        let internet = self.node(None, "Internet", NodeKind::Internet);
        self.mark_entry(internet);
        let mut b = ClusterBuilder::new(self, cluster, inv, rbac, facts, part);
        b.build();
        std::mem::take(&mut b.neighbours)
    }

    /// Adds HOST_TRAVERSE_TOKENS edges between the parts of a cluster: from every container
    /// that reads the kubelet's pod directories to the ServiceAccounts of the pods on its nodes,
    /// whatever their namespace.
    pub fn join_neighbours(&mut self, cluster: &str, parts: &[&Neighbours]) {
        for p in parts {
            for (container, evidence, nodes) in &p.traversers {
                let ci = self.node(Some(cluster), container, NodeKind::Container);
                for q in parts {
                    for (ns, sa, placed) in &q.residents {
                        if nodes.is_empty() || placed.iter().any(|n| nodes.contains(n)) {
                            let si = self.node(
                                Some(cluster),
                                &format!("ServiceAccount:{ns}/{sa}"),
                                NodeKind::ServiceAccount,
                            );
                            self.edge(
                                ci,
                                si,
                                T::HOST_TRAVERSE_TOKENS,
                                format!("{evidence}: tokens of pods on the same node"),
                            );
                        }
                    }
                }
            }
        }
    }
}

impl AttackGraph {
    /// Adds the network reach between the workloads of a cluster's namespace parts (policies
    /// and workloads of every part together: reach crosses namespaces).
    pub fn join_network(&mut self, cluster: &str, parts: &[&Neighbours]) {
        let mut policies = crate::netpol::Model::default();
        let mut members: Vec<&crate::netpol::Member> = Vec::new();
        for p in parts {
            policies.merge(&p.policies);
            members.extend(p.members.iter());
        }
        self.network_reach(cluster, &policies, &members);
    }
}

/// What a [`Part::Namespace`] graph leaves to [`AttackGraph::join_neighbours`]: pods on a node
/// expose their tokens to containers of any namespace that read the node's pod directories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbours {
    /// Containers that read the kubelet's pod directories: (container reference, evidence,
    /// nodes their pods run on — empty when unknown, i.e. any node).
    pub traversers: Vec<(String, String, BTreeSet<String>)>,
    /// Pod templates: (namespace, ServiceAccount, nodes their pods run on).
    pub residents: Vec<(String, String, BTreeSet<String>)>,
    /// The namespace's NetworkPolicies and labels (network reach is decided across
    /// namespaces).
    pub policies: crate::netpol::Model,
    /// Its workloads, as network reach sees them.
    pub members: Vec<crate::netpol::Member>,
}

/// Which part of a cluster's graph a build produces (see [`AttackGraph::build_part`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything, from an inventory of the whole cluster.
    Whole,
    /// What does not depend on pod templates, Services, Ingresses or Secrets: namespace hubs,
    /// nodes, and every identity bound by RBAC or present as a ServiceAccount object.
    Cluster,
    /// What one namespace's workloads, Services, Ingresses and Secrets add (from an inventory
    /// of that namespace and the cluster-scoped objects).
    Namespace,
}

/// Facts about the whole cluster that a part of its graph depends on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFacts {
    /// Namespaces known (from Namespace objects and namespaced objects).
    pub namespaces: BTreeSet<String>,
    /// Live ServiceAccount token Secrets: (namespace, secret name, ServiceAccount name).
    token_secrets: Vec<(String, String, String)>,
    /// ServiceAccounts in the snapshot: (namespace, name).
    service_accounts: Vec<(String, String)>,
    /// Namespaces whose enforced Pod Security level forbids privileged pods.
    guarded_namespaces: HashSet<String>,
    /// User names that some binding names (impersonation targets).
    bound_users: Vec<String>,
    /// Group names that some binding names.
    bound_groups: Vec<String>,
    /// EKS cluster whose authentication mode reads `kube-system/aws-auth`.
    aws_auth_live: bool,
    /// Whether the cluster has EndpointSlices (then only Services with ready endpoints route).
    pub has_slices: bool,
    /// Whether some pod's placement is known (`spec.nodeName`): then "any node" hosts only
    /// what is known to run on its nodes.
    pub scheduled: bool,
    /// Every known namespace's labels (with `kubernetes.io/metadata.name`), for namespace
    /// selectors: a namespace part's inventory holds only its own Namespace object.
    namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Internet-facing load balancers and the ingress controllers behind them.
    pub exposure: Exposure,
    /// Network-plugin policies (and their CRDs) anywhere in the cluster: they make
    /// NetworkPolicy answers undecidable in every namespace.
    pub plugin_policies: Vec<String>,
}

impl Exposure {
    /// The exposure the Services, Gateways and ReferenceGrants of `inv` create (with the
    /// cluster facts it reads: EndpointSlices, network-plugin policies). A LoadBalancer whose
    /// pods' NetworkPolicies admit no client from outside exposes nothing.
    pub fn of(inv: &Inventory<'_>, facts: &ClusterFacts) -> Exposure {
        let mut out = Exposure::default();
        crate::exposure::gateway_facts(inv, &mut out);
        let provider = inv.cluster.info.provider;
        let lbs: Vec<(&Object, String)> = inv
            .of_kind("Service")
            .iter()
            .filter_map(|s| Some((*s, crate::exposure::internet_facing(s, provider)?)))
            .collect();
        if lbs.is_empty() {
            return out;
        }
        let routing = Routing::of(inv, facts.has_slices);
        let policies =
            crate::netpol::Model::of(inv).with_plugin_policies(facts.plugin_policies.clone());
        for (s, _) in lbs {
            if admits_outside(&policies, s, &routing.selected(s)).is_none() {
                continue;
            }
            out.addresses.extend(crate::exposure::addresses(s));
            let sref = s.node_ref();
            if let Some(key) = crate::exposure::implemented_gateway(s) {
                // The first by reference, as `merge` keeps it: one answer whatever the order.
                let first = out.gateway_services.get(&key).is_none_or(|e| *e > sref);
                if first {
                    out.gateway_services.insert(key, sref.clone());
                }
            }
            for t in routing.selected(s) {
                out.public_pods
                    .insert((LabelSelector::labels_of(t.metadata), sref.clone()));
                for c in t.containers() {
                    let image = c.image();
                    if let Some(controller) = crate::image::ingress_controller(image) {
                        out.offer(controller, &sref);
                    }
                }
            }
        }
        out
    }
}

impl ClusterFacts {
    /// The facts of a whole cluster.
    pub fn of(inv: &Inventory<'_>, rbac: &Rbac) -> ClusterFacts {
        let mut facts = Self::without_exposure(inv, rbac);
        facts.exposure = Exposure::of(inv, &facts);
        facts
    }

    /// The facts of a whole cluster but its [`Exposure`] (the incremental evaluator gathers
    /// that namespace by namespace).
    pub fn without_exposure(inv: &Inventory<'_>, rbac: &Rbac) -> ClusterFacts {
        let mut namespaces: BTreeSet<String> = inv
            .of_kind("Namespace")
            .iter()
            .map(|n| n.name.clone())
            .collect();
        for o in inv.objects() {
            if let Some(ns) = o.effective_namespace() {
                if !namespaces.contains(ns) {
                    namespaces.insert(ns.to_string());
                }
            }
        }
        let sa_uids: HashMap<(String, String), String> = inv
            .of_kind("ServiceAccount")
            .iter()
            .filter_map(|sa| {
                Some((
                    (sa.effective_namespace()?.to_string(), sa.name.clone()),
                    sa.uid.clone()?,
                ))
            })
            .collect();
        let token_secrets = inv
            .of_kind("Secret")
            .iter()
            .filter_map(|s| {
                Some((
                    s.effective_namespace()?.to_string(),
                    s.name.clone(),
                    live_token_secret_sa(s, &sa_uids)?,
                ))
            })
            .collect();
        let service_accounts = inv
            .of_kind("ServiceAccount")
            .iter()
            .map(|sa| {
                (
                    sa.effective_namespace().unwrap_or("default").to_string(),
                    sa.name.clone(),
                )
            })
            .collect();
        let guarded_namespaces = inv
            .of_kind("Namespace")
            .iter()
            .filter(|n| enforced_level(n).is_some_and(|(level, _)| level != Level::Privileged))
            .map(|n| n.name.clone())
            .collect();
        let bound_users = bound_names(rbac, |s| match s {
            Subject::User { name } => Some(name),
            _ => None,
        });
        let bound_groups = bound_names(rbac, |s| match s {
            Subject::Group { name } => Some(name),
            _ => None,
        });
        let eks_docs = inv.of_kind(crate::cloud::documents::EKS_CLUSTER);
        let eks = inv.cluster.info.provider == Provider::Eks || !eks_docs.is_empty();
        let mode = eks_docs.first().map(|c| {
            crate::cloud::eks_access::AuthMode::parse(
                crate::cloud::documents::spec(c)
                    .pointer("/accessConfig/authenticationMode")
                    .and_then(Value::as_str),
            )
        });
        let namespaces_for_labels = namespaces.clone();
        ClusterFacts {
            namespaces,
            token_secrets,
            service_accounts,
            guarded_namespaces,
            bound_users,
            bound_groups,
            aws_auth_live: eks && mode != Some(crate::cloud::eks_access::AuthMode::Api),
            has_slices: !inv.of_kind("EndpointSlice").is_empty(),
            scheduled: inv.of_kind("Pod").iter().any(|p| is_scheduled(p)),
            namespace_labels: namespace_labels(inv, &namespaces_for_labels),
            exposure: Exposure::default(),
            plugin_policies: crate::netpol::plugin_policies(inv),
        }
    }
}

struct ClusterBuilder<'g, 'a> {
    g: &'g mut AttackGraph,
    cluster: &'a ClusterSnapshot,
    name: &'a str,
    inv: &'a Inventory<'a>,
    rbac: &'a Rbac,
    facts: &'a ClusterFacts,
    part: Part,
    /// Workload node reference → nodes its pods run on.
    placement: HashMap<String, BTreeSet<String>>,
    /// What a namespace part leaves to the join.
    neighbours: Neighbours,
    /// Container node references that would collide across owner kinds.
    ambiguous_owner_names: HashSet<(String, String)>,
    /// Workload reference → its pods as network reach sees them.
    members: BTreeMap<String, crate::netpol::Member>,
    /// The NetworkPolicies `inv` holds.
    policies: crate::netpol::Model,
}

impl<'g, 'a> ClusterBuilder<'g, 'a> {
    fn new(
        g: &'g mut AttackGraph,
        cluster: &'a ClusterSnapshot,
        inv: &'a Inventory<'a>,
        rbac: &'a Rbac,
        facts: &'a ClusterFacts,
        part: Part,
    ) -> Self {
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for t in inv.templates() {
            let ns = t
                .owner
                .effective_namespace()
                .unwrap_or("default")
                .to_string();
            *seen.entry((ns, t.owner.name.clone())).or_default() += 1;
        }
        let ambiguous_owner_names = seen
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(k, _)| k)
            .collect();
        ClusterBuilder {
            g,
            cluster,
            name: &cluster.info.name,
            inv,
            rbac,
            facts,
            part,
            placement: HashMap::new(),
            neighbours: Neighbours::default(),
            ambiguous_owner_names,
            members: BTreeMap::new(),
            policies: crate::netpol::Model::of(inv)
                .with_plugin_policies(facts.plugin_policies.clone()),
        }
    }

    fn n(&mut self, reference: &str, kind: NodeKind) -> NodeIndex {
        self.g.node(Some(self.name), reference, kind)
    }

    fn build(&mut self) {
        // A namespace's inventory holds its own objects and the cluster-scoped ones: what
        // depends on the latter alone (nodes, Secrets, bound identities) is the cluster part's.
        let cluster_wide = self.part != Part::Namespace;
        self.compute_placement();
        if cluster_wide {
            self.sinks_and_hubs();
            self.nodes();
        }
        self.workloads();
        let (inv, placement, policies) = (self.inv, &self.placement, &self.policies);
        super::cloud::node_roles(self.g, self.name, inv, placement, policies);
        super::cloud_gcp::node_service_accounts(self.g, self.name, inv, placement, policies);
        super::cloud_azure::kubelet_identity(self.g, self.name, inv, placement, policies);
        self.services_and_exposure();
        let members: Vec<crate::netpol::Member> =
            std::mem::take(&mut self.members).into_values().collect();
        match self.part {
            Part::Whole => self.g.network_reach(self.name, &self.policies, &members),
            Part::Namespace => {
                self.neighbours.policies = self.policies.clone();
                self.neighbours.members = members;
            }
            Part::Cluster => {}
        }
        if self.part != Part::Cluster {
            // Secrets belong to their namespace (ServiceAccount tokens are also cluster facts).
            self.secrets();
        }
        self.identities();
    }

    // ---------------------------------------------------------------------------------------
    // Placement: which nodes each workload's pods run on (live snapshots carry spec.nodeName).

    fn compute_placement(&mut self) {
        let by_uid: HashMap<(Option<&str>, &str), &Object> = self
            .inv
            .objects()
            .iter()
            .filter_map(|o| Some(((o.effective_namespace(), o.uid.as_deref()?), *o)))
            .collect();
        let by_name: HashMap<(&str, Option<&str>, &str), &Object> = self
            .inv
            .objects()
            .iter()
            .map(|o| {
                (
                    (o.kind.as_str(), o.effective_namespace(), o.name.as_str()),
                    *o,
                )
            })
            .collect();
        for pod in self.inv.of_kind("Pod") {
            let Some(node) = pod.body.pointer("/spec/nodeName").and_then(Value::as_str) else {
                continue;
            };
            // Walk controller references up to the top-most owner present in the snapshot.
            let mut top: &Object = pod;
            for _ in 0..8 {
                let Some(r) = top.owners.iter().find(|r| r.controller) else {
                    break;
                };
                let next = r
                    .uid
                    .as_deref()
                    .and_then(|u| by_uid.get(&(top.effective_namespace(), u)))
                    .or_else(|| {
                        by_name.get(&(r.kind.as_str(), top.effective_namespace(), r.name.as_str()))
                    });
                match next {
                    Some(o) => top = o,
                    None => break,
                }
            }
            self.placement
                .entry(top.node_ref())
                .or_default()
                .insert(node.to_string());
        }
    }

    fn sinks_and_hubs(&mut self) {
        self.n("ClusterAdmin", NodeKind::ClusterAdmin);
        let all_secrets = self.n("AllSecrets", NodeKind::AllSecrets);
        let any_node = self.n("Node:*", NodeKind::Node);
        let all_sas = self.n("ServiceAccounts:*", NodeKind::Hub);
        let all_pods = self.n("Pods:*", NodeKind::Hub);
        let all_endpoints = self.n("Endpoints:*", NodeKind::Hub);
        let namespaces: Vec<String> = self.facts.namespaces.iter().cloned().collect();
        for ns in namespaces {
            let sas = self.n(&format!("ServiceAccounts:{ns}"), NodeKind::Hub);
            self.g.edge(all_sas, sas, T::INCLUDES, "every namespace");
            let pods = self.n(&format!("Pods:{ns}"), NodeKind::Hub);
            self.g.edge(all_pods, pods, T::INCLUDES, "every namespace");
            let endpoints = self.n(&format!("Endpoints:{ns}"), NodeKind::Hub);
            self.g
                .edge(all_endpoints, endpoints, T::INCLUDES, "every namespace");
            let secrets = self.n(&format!("Secrets:{ns}"), NodeKind::Hub);
            self.g
                .edge(all_secrets, secrets, T::INCLUDES, "every namespace");
        }
        let _ = any_node;
    }

    // ---------------------------------------------------------------------------------------
    // Nodes.

    fn nodes(&mut self) {
        let any = self.n("Node:*", NodeKind::Node);
        let nodes: Vec<&Object> = self.inv.of_kind("Node").to_vec();
        let external_ip = nodes.iter().any(|n| {
            n.body
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x.get("type").and_then(Value::as_str) == Some("ExternalIP"))
                })
        });
        if external_ip {
            self.g.node(None, "Internet", NodeKind::Internet);
        }
        if nodes.is_empty() {
            // No Node objects (manifests): whichever node it is, its kubelet is in system:nodes.
            let nodes_group = self.n("Group:system:nodes", NodeKind::Group);
            self.g.edge(
                any,
                nodes_group,
                T::NODE_CREDENTIALS,
                "kubelet credentials of whichever node it is (group system:nodes; the Node authorizer limits them to its own pods' objects)",
            );
        }
        for node in nodes {
            let idx = self.n(&node.node_ref(), NodeKind::Node);
            self.g.edge(any, idx, T::INCLUDES, "any schedulable node");
            let kubelet = self.n(&format!("User:system:node:{}", node.name), NodeKind::User);
            self.g.edge(
                idx,
                kubelet,
                T::NODE_CREDENTIALS,
                format!(
                    "kubelet credentials of node {} (user system:node:{}, group system:nodes)",
                    node.name, node.name
                ),
            );
            let nodes_group = self.n("Group:system:nodes", NodeKind::Group);
            self.g.edge(
                kubelet,
                nodes_group,
                T::MEMBER_OF,
                "kubelet identities are in system:nodes",
            );
            let control_plane = [
                "node-role.kubernetes.io/control-plane",
                "node-role.kubernetes.io/master",
            ]
            .iter()
            .find(|l| node.labels.contains_key(**l));
            if let (Some(label), Provider::Generic) = (control_plane, self.cluster.info.provider) {
                let admin = self.n("ClusterAdmin", NodeKind::ClusterAdmin);
                self.g.edge(idx, admin, T::CONTROL_PLANE_NODE, format!("node labelled {label}: it holds the control plane's credentials (self-managed cluster)"));
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Workloads, containers, escapes.

    fn container_ref(&self, t: &PodTemplate<'_>, c: &ContainerRef<'_>) -> String {
        let ns = t.owner.effective_namespace().unwrap_or("default");
        if self
            .ambiguous_owner_names
            .contains(&(ns.to_string(), t.owner.name.clone()))
        {
            format!(
                "Container:{ns}/{}.{}/{}",
                t.owner.kind, t.owner.name, c.name
            )
        } else {
            format!("Container:{ns}/{}/{}", t.owner.name, c.name)
        }
    }

    /// The node indices a workload's containers escape to: where its pods run, or any node.
    fn escape_targets(&mut self, workload_ref: &str) -> Vec<NodeIndex> {
        let nodes: Vec<String> = self
            .placement
            .get(workload_ref)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        if nodes.is_empty() {
            vec![self.n("Node:*", NodeKind::Node)]
        } else {
            nodes
                .iter()
                .map(|n| self.n(&format!("Node:{n}"), NodeKind::Node))
                .collect()
        }
    }

    fn workloads(&mut self) {
        let tokens = self.inv.tokens();
        let minor = self.rbac.minor_version;
        for t in self.inv.pod_templates() {
            let ns = t
                .owner
                .effective_namespace()
                .unwrap_or("default")
                .to_string();
            let wref = t.owner.node_ref();
            let w = self.n(&wref, NodeKind::Workload);
            let pods = crate::netpol::Pods::of(&t);
            let listens = pods
                .ports
                .iter()
                .map(|(_, port, protocol)| (*port, protocol.clone()))
                .collect();
            self.members
                .insert(wref.clone(), crate::netpol::Member { pods, listens });
            // Every workload is an assumed breach, the platform's own in kube-system included:
            // a compromised CNI agent or log shipper is where many real escalations start.
            self.g.mark_entry(w);
            let pods_hub = self.n(&format!("Pods:{ns}"), NodeKind::Hub);
            self.g
                .edge(pods_hub, w, T::INCLUDES, "pods of the namespace");
            // Its ports: what a Service, the internet or port-forward reaches. Running code in
            // the pods from there is an explicit, assumed step.
            let endpoint = self.n(&format!("Endpoint:{wref}"), NodeKind::Endpoint);
            let endpoints_hub = self.n(&format!("Endpoints:{ns}"), NodeKind::Hub);
            self.g.edge(
                endpoints_hub,
                endpoint,
                T::INCLUDES,
                "ports of the namespace's pods",
            );
            self.g.edge(
                endpoint,
                w,
                T::ENDPOINT_EXPLOIT,
                format!(
                    "code execution in {wref} assumed through a flaw in what listens on {}",
                    listening_ports(&t)
                ),
            );
            // Any node → what may run beside the attacker's pod, where no placement is known.
            if !self.facts.scheduled {
                if let Some((technique, why)) = co_scheduling(&t) {
                    let any = self.n("Node:*", NodeKind::Node);
                    self.g.edge(any, w, technique, why);
                }
            }
            // Node → pods it hosts.
            for node in self.placement.get(&wref).cloned().unwrap_or_default() {
                let n = self.n(&format!("Node:{node}"), NodeKind::Node);
                self.g.edge(
                    n,
                    w,
                    T::NODE_HOSTS_POD,
                    format!("a pod of {wref} runs on node {node} (spec.nodeName)"),
                );
            }
            let sa_name = t.service_account_name().to_string();
            let sa = self.n(
                &format!("ServiceAccount:{ns}/{sa_name}"),
                NodeKind::ServiceAccount,
            );
            let pod_tokens = tokens.of_pods(&t);
            // Only pods that hold a token leave one in the node's pod directories.
            if self.part == Part::Namespace && pod_tokens.held(&t) {
                self.neighbours.residents.push((
                    ns.clone(),
                    sa_name.clone(),
                    self.placement.get(&wref).cloned().unwrap_or_default(),
                ));
            }
            let host_pid = t.host_pid();
            let pod_apparmor = t
                .spec
                .pointer("/securityContext/appArmorProfile/type")
                .and_then(Value::as_str);
            let volumes = t.host_path_volumes();
            let containers: Vec<ContainerRef<'_>> = t.containers().collect();
            let mut ctr_nodes = Vec::new();
            for c in &containers {
                let cref = self.container_ref(&t, c);
                let ci = self.n(&cref, NodeKind::Container);
                ctr_nodes.push(ci);
                self.g.edge(
                    w,
                    ci,
                    T::POD_RUNS_CONTAINER,
                    format!("{} `{}` of {wref}", c.list, c.name),
                );
                // Token.
                if let Some(why) = pod_tokens.in_container(c) {
                    self.g.edge(ci, sa, T::CONTAINER_HAS_SA_TOKEN, why);
                }
                self.escapes(
                    &t,
                    c,
                    ci,
                    &wref,
                    &ns,
                    &sa_name,
                    host_pid,
                    pod_apparmor,
                    &volumes,
                    minor,
                );
            }
            if t.spec.get("shareProcessNamespace").and_then(Value::as_bool) == Some(true) {
                for (i, a) in ctr_nodes.iter().enumerate() {
                    for (j, b) in ctr_nodes.iter().enumerate() {
                        if i != j {
                            self.g.edge(
                                *a,
                                *b,
                                T::SHARE_PROCESS_NS,
                                format!("{wref} sets shareProcessNamespace: true"),
                            );
                        }
                    }
                }
            }
            // Secrets the pods mount or read.
            for (secret, how) in pod_secrets(&t) {
                let s = self.n(&format!("Secret:{ns}/{secret}"), NodeKind::Secret);
                self.g.edge(
                    w,
                    s,
                    T::POD_MOUNTS_SECRET,
                    format!("{wref} {how} Secret {ns}/{secret}"),
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn escapes(
        &mut self,
        t: &PodTemplate<'_>,
        c: &ContainerRef<'_>,
        ci: NodeIndex,
        wref: &str,
        ns: &str,
        sa_name: &str,
        host_pid: bool,
        pod_apparmor: Option<&str>,
        volumes: &[HostPathVolume<'_>],
        minor: Option<u32>,
    ) {
        let sc = c.container.get("securityContext");
        let privileged = c.privileged();
        let caps = c.added_capabilities();
        let has_cap = |cap: &str| caps.iter().any(|c| c == cap || c == "ALL");
        let path = |rel: &str| t.container_path(c, rel);
        let mut escapes: Vec<(T, String)> = Vec::new();
        if privileged {
            escapes.push((
                T::CE_PRIV_MOUNT,
                format!("{} = true", path("securityContext.privileged")),
            ));
            if host_pid {
                escapes.push((
                    T::CE_NSENTER,
                    format!(
                        "{} = true and {} = true",
                        path("securityContext.privileged"),
                        t.path("hostPID")
                    ),
                ));
            }
        }
        if privileged || has_cap("SYS_MODULE") {
            escapes.push((
                T::CE_MODULE_LOAD,
                if privileged {
                    format!("{} = true", path("securityContext.privileged"))
                } else {
                    format!(
                        "{} adds SYS_MODULE",
                        path("securityContext.capabilities.add")
                    )
                },
            ));
        }
        let ctr_apparmor = sc
            .and_then(|s| s.pointer("/appArmorProfile/type"))
            .and_then(Value::as_str);
        let apparmor_annotation = t.annotation(&format!(
            "container.apparmor.security.beta.kubernetes.io/{}",
            c.name
        ));
        let unconfined = ctr_apparmor.or(pod_apparmor) == Some("Unconfined")
            || apparmor_annotation == Some("unconfined");
        let old_k8s = minor.is_some_and(|m| m < 31);
        if host_pid && has_cap("SYS_PTRACE") && has_cap("SYS_ADMIN") && (unconfined || old_k8s) {
            escapes.push((
                T::CE_SYS_PTRACE,
                format!(
                    "hostPID, {} adds SYS_PTRACE and SYS_ADMIN, {}",
                    path("securityContext.capabilities.add"),
                    if unconfined {
                        "AppArmor Unconfined"
                    } else {
                        "Kubernetes < 1.31"
                    }
                ),
            ));
        }
        if has_cap("SYS_ADMIN") {
            escapes.push((
                T::CE_CGROUP_SYSADMIN,
                format!(
                    "{} adds SYS_ADMIN",
                    path("securityContext.capabilities.add")
                ),
            ));
        }
        if has_cap("DAC_READ_SEARCH") {
            escapes.push((
                T::CE_DAC_READ_SEARCH,
                format!(
                    "{} adds DAC_READ_SEARCH",
                    path("securityContext.capabilities.add")
                ),
            ));
        }
        // Host path mounts of this container. Who it runs as decides which host files it can
        // use: the runtime sockets (0660 root), the kubelet's pod directories (0750 root) and
        // root-only files are out of reach of a definitely non-root process without
        // DAC_OVERRIDE/DAC_READ_SEARCH or root's group. One fact for checks and graph:
        // `PodTemplate::runs_as_non_root`.
        let uid = t.run_as_user(c);
        let root = !t.runs_as_non_root(c);
        // Definitely unable to open root-only host files.
        let blocked = t.cannot_open_root_files(c);
        let as_who = if uid == Some(0) {
            ", container runs as UID 0".to_string()
        } else if uid.is_none() && root {
            ", container runs as the image's user (root unless the image sets another)".to_string()
        } else {
            String::new()
        };
        let mut traverse_tokens = None;
        for m in c.volume_mounts() {
            let Some(vname) = m.get("name").and_then(Value::as_str) else {
                continue;
            };
            let Some(host) = volumes.iter().find(|v| v.name == vname).map(|v| &v.path) else {
                continue;
            };
            let read_only = m.get("readOnly").and_then(Value::as_bool) == Some(true);
            let ev = format!(
                "volume `{vname}` mounts host path {host}{}",
                if read_only { " read-only" } else { "" }
            );
            if blocked {
                // Nothing below is reachable for this user (writes included: host directories
                // are root's).
                continue;
            }
            if let Some(sock) = crate::host_path::runtime_socket(host) {
                escapes.push((
                    T::EXPLOIT_RUNTIME_SOCKET,
                    format!("{ev} (runtime socket {sock}){as_who}"),
                ));
            }
            // Writing core_pattern needs a writable mount and root.
            if root
                && !read_only
                && ["/", "/proc", "/proc/sys", "/proc/sys/kernel"].contains(&host.as_str())
            {
                escapes.push((T::CE_UMH_CORE_PATTERN, format!("{ev}{as_who}")));
            }
            if !read_only && ["/", "/var", "/var/log"].contains(&host.as_str()) {
                let who = Identity::service_account(ns, sa_name);
                let bindings = self.rbac.bindings_for(&who);
                if let Some(g) = self.rbac.grant_among(
                    &bindings,
                    &Request::resource("get", "", "pods/log", Some(ns), Some("x")),
                ) {
                    escapes.push((
                        T::CE_VAR_LOG_SYMLINK,
                        format!(
                            "{ev}; ServiceAccount {ns}/{sa_name} can get pods/log via {}",
                            g.describe()
                        ),
                    ));
                }
            }
            if !read_only && !safe_writable(host) {
                escapes.push((T::EXPLOIT_HOST_WRITE, format!("{ev}, writable{as_who}")));
            }
            if read_only
                && [
                    "/",
                    "/etc",
                    "/root",
                    "/home",
                    "/proc",
                    "/etc/kubernetes",
                    "/var/lib/kubelet",
                ]
                .iter()
                .any(|p| host == p || (*p != "/" && host.starts_with(&format!("{p}/"))))
            {
                escapes.push((T::EXPLOIT_HOST_READ, format!("{ev}{as_who}")));
            }
            if ["/", "/var", "/var/lib", "/var/lib/kubelet"].contains(&host.as_str())
                || host.starts_with("/var/lib/kubelet/pods")
            {
                traverse_tokens = Some(format!("{ev}{as_who}"));
            }
        }
        if escapes.is_empty() && traverse_tokens.is_none() {
            return;
        }
        let targets = self.escape_targets(wref);
        for (tech, ev) in escapes {
            for target in &targets {
                self.g.edge(ci, *target, tech, ev.clone());
            }
        }
        if let Some(ev) = traverse_tokens {
            // The kubelet's pod directories hold the tokens of every pod on the same node.
            let nodes: Vec<String> = self
                .placement
                .get(wref)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            if self.part == Part::Namespace {
                // Pods of every namespace may share its nodes: the join adds these edges.
                let cref = self.g.graph[ci].reference.clone();
                self.neighbours
                    .traversers
                    .push((cref, ev, nodes.into_iter().collect()));
                return;
            }
            let neighbours: Vec<(String, String)> = self
                .inv
                .pod_templates()
                .iter()
                .filter(|o| {
                    let placed = self.placement.get(&o.owner.node_ref());
                    nodes.is_empty() || placed.is_some_and(|p| p.iter().any(|n| nodes.contains(n)))
                })
                // Only pods that hold a token leave one in the node's pod directories.
                .filter(|o| self.inv.tokens().of_pods(o).held(o))
                .map(|o| {
                    (
                        o.owner
                            .effective_namespace()
                            .unwrap_or("default")
                            .to_string(),
                        o.service_account_name().to_string(),
                    )
                })
                .collect();
            for (ns2, sa2) in neighbours {
                let sa = self.n(
                    &format!("ServiceAccount:{ns2}/{sa2}"),
                    NodeKind::ServiceAccount,
                );
                self.g.edge(
                    ci,
                    sa,
                    T::HOST_TRAVERSE_TOKENS,
                    format!("{ev}: tokens of pods on the same node"),
                );
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Services and exposure.

    fn services_and_exposure(&mut self) {
        let routing = Routing::of(self.inv, self.facts.has_slices);
        let external_ip_node = self.inv.of_kind("Node").iter().any(|n| {
            n.body
                .pointer("/status/addresses")
                .and_then(Value::as_array)
                .is_some_and(|a| {
                    a.iter()
                        .any(|x| x.get("type").and_then(Value::as_str) == Some("ExternalIP"))
                })
        });
        let internet = self.g.node(None, "Internet", NodeKind::Internet);
        for s in self.inv.of_kind("Service").to_vec() {
            let si = self.n(&s.node_ref(), NodeKind::Service);
            let ty = s
                .body
                .pointer("/spec/type")
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            let selected = routing.selected(s);
            // The internet reaches the Service's pods only where their ingress policies admit
            // a client from outside the cluster (or cannot tell).
            let admitted = admits_outside(&self.policies, s, &selected);
            if let Some(ev) = crate::exposure::internet_facing(s, self.cluster.info.provider) {
                if let Some(why) = &admitted {
                    self.g
                        .edge(internet, si, T::INTERNET_TO_LB, format!("{ev}{why}"));
                }
            }
            if ty == "NodePort" && external_ip_node {
                if let Some(why) = &admitted {
                    self.g.edge(
                        internet,
                        si,
                        T::INTERNET_TO_NODEPORT,
                        format!("type NodePort and a node has an ExternalIP address{why}"),
                    );
                }
            }
            let webhooks = mutating_webhooks_served_by(self.inv, s);
            for t in selected {
                if !webhooks.is_empty() {
                    self.webhook_backend(&t.owner.node_ref(), &webhooks);
                }
                if let Some(m) = self.members.get_mut(&t.owner.node_ref()) {
                    for p in target_ports(s, &t) {
                        if !m.listens.contains(&p) {
                            m.listens.push(p);
                        }
                    }
                }
                let endpoint = self.n(
                    &format!("Endpoint:{}", t.owner.node_ref()),
                    NodeKind::Endpoint,
                );
                self.g.edge(
                    si,
                    endpoint,
                    T::SVC_SELECTS_POD,
                    format!(
                        "selector {} matches the pod labels; {}",
                        s.body
                            .pointer("/spec/selector")
                            .map(|v| v.to_string())
                            .unwrap_or_default(),
                        service_ports(s)
                    ),
                );
            }
        }
        let public_addresses = &self.facts.exposure.addresses;
        let public_controllers = &self.facts.exposure.controllers;
        // Ingresses whose address is a public load balancer's, or a cloud-managed public one.
        for i in self.inv.of_kind("Ingress").to_vec() {
            let ns = i.effective_namespace().unwrap_or("default");
            let addrs = crate::exposure::addresses(i);
            let cloud_public = cloud_managed_public_ingress(i);
            let via = addrs
                .iter()
                .find(|a| public_addresses.contains(*a))
                .cloned();
            let by_class = self.ingress_controller(i).and_then(|controller| {
                public_controllers
                    .get(controller.as_str())
                    .map(|svc| (controller, svc.clone()))
            });
            let exposed = match (&via, cloud_public, by_class) {
                (Some(a), _, _) => Some(format!(
                    "address {a} is an internet-facing LoadBalancer's (the ingress controller)"
                )),
                (None, Some(why), _) if !addrs.is_empty() => Some(why.to_string()),
                (None, _, Some((controller, svc))) => Some(format!(
                    "its ingress class is served by {controller}, whose {svc} is an internet-facing LoadBalancer"
                )),
                _ => None,
            };
            let Some(ev) = exposed else { continue };
            let ii = self.n(&i.node_ref(), NodeKind::Ingress);
            self.g.edge(internet, ii, T::INTERNET_TO_INGRESS, ev);
            for backend in crate::exposure::ingress_backends(i) {
                let si = self.n(&format!("Service:{ns}/{backend}"), NodeKind::Service);
                self.g.edge(
                    ii,
                    si,
                    T::INTERNET_TO_INGRESS,
                    format!("rule backend Service {ns}/{backend}"),
                );
            }
        }
        self.gateway_routes(internet);
    }

    /// Gateway API routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute) attached to an
    /// internet-facing Gateway whose listener admits the route's namespace, and Istio
    /// VirtualServices bound to an internet-facing Istio Gateway: Internet → Gateway → each
    /// backend Service (another namespace's only under a ReferenceGrant, for Gateway API).
    fn gateway_routes(&mut self, internet: NodeIndex) {
        // The facts outlive this builder's borrow: no copy needed to add edges meanwhile.
        let facts = self.facts;
        let (exposure, labels) = (&facts.exposure, &facts.namespace_labels);
        for kind in crate::exposure::ROUTE_KINDS
            .iter()
            .filter(|k| **k != "Ingress")
        {
            for r in self.inv.of_kind(kind).to_vec() {
                let ns = r.effective_namespace().unwrap_or("default").to_string();
                let istio = r.api_version.starts_with("networking.istio.io/");
                for (gw, section) in crate::exposure::route_parents(r) {
                    let (why, attach) = if istio {
                        (exposure.public_istio_gateway(&gw), None)
                    } else {
                        let facts = exposure.gateways.get(&gw);
                        let gw_ns = gw.split('/').next().unwrap_or("");
                        let listener = facts.and_then(|f| {
                            f.listeners.iter().find(|(name, from, selector)| {
                                section.as_ref().is_none_or(|s| s == name)
                                    && match from.as_str() {
                                        "All" => true,
                                        "Selector" => {
                                            labels.get(&ns).is_some_and(|l| selector.matches(l))
                                        }
                                        _ => gw_ns == ns,
                                    }
                            })
                        });
                        match listener {
                            Some((name, from, _)) => (
                                exposure.public_gateway(&gw),
                                Some(format!(
                                    "listener {name} admits routes from {}",
                                    if from == "All" {
                                        "every namespace".to_string()
                                    } else {
                                        format!("namespace {ns}")
                                    }
                                )),
                            ),
                            None => (None, None),
                        }
                    };
                    let Some(why) = why else { continue };
                    let gi = self.n(&format!("Gateway:{gw}"), NodeKind::Ingress);
                    self.g.edge(internet, gi, T::INTERNET_TO_GATEWAY, why);
                    for (_, bns, svc) in crate::exposure::route_backends(r) {
                        let granted = istio
                            || bns == ns
                            || [svc.as_str(), "*"].iter().any(|to| {
                                exposure.grants.contains(&(
                                    bns.clone(),
                                    ns.clone(),
                                    r.kind.clone(),
                                    to.to_string(),
                                ))
                            });
                        if !granted {
                            continue;
                        }
                        let si = self.n(&format!("Service:{bns}/{svc}"), NodeKind::Service);
                        self.g.edge(
                            gi,
                            si,
                            T::INTERNET_TO_GATEWAY,
                            format!(
                                "{} {ns}/{} routes to Service {bns}/{svc}{}",
                                r.kind,
                                r.name,
                                attach
                                    .as_ref()
                                    .map(|a| format!(" ({a})"))
                                    .unwrap_or_default()
                            ),
                        );
                    }
                }
            }
        }
    }

    /// The pods behind a mutating admission webhook's Service answer every pod admission the
    /// webhook covers: code execution there rewrites those pods (ServiceAccount, privileges).
    fn webhook_backend(&mut self, wref: &str, webhooks: &[(String, LabelSelector)]) {
        let w = self.n(wref, NodeKind::Workload);
        let labels = &self.facts.namespace_labels;
        for (name, selector) in webhooks {
            let covered: Vec<&String> = labels
                .iter()
                .filter(|(_, l)| selector.matches(l))
                .map(|(n, _)| n)
                .collect();
            let why = format!(
                "{wref} serves mutating webhook {name}, which patches pods as they are created"
            );
            if selector.is_empty() {
                let sas = self.n("ServiceAccounts:*", NodeKind::Hub);
                self.g.edge(
                    w,
                    sas,
                    T::CONTROL_WEBHOOK,
                    format!("{why} in every namespace"),
                );
            } else {
                for ns in &covered {
                    let sas = self.n(&format!("ServiceAccounts:{ns}"), NodeKind::Hub);
                    self.g.edge(
                        w,
                        sas,
                        T::CONTROL_WEBHOOK,
                        format!("{why} in namespace {ns} (its namespaceSelector matches)"),
                    );
                }
            }
            let open = covered
                .iter()
                .find(|ns| self.privileged_allowed(Some(ns.as_str())));
            if let Some(ns) = open {
                let any_node = self.n("Node:*", NodeKind::Node);
                self.g.edge(
                    w,
                    any_node,
                    T::CONTROL_WEBHOOK,
                    format!("{why}; Pod Security admits privileged pods in namespace {ns}, which it covers"),
                );
            }
        }
    }

    /// The controller that serves an Ingress: its class (field or annotation, else the default
    /// IngressClass) → the IngressClass's `spec.controller`, or the usual controller of a
    /// well-known class name when the snapshot has no IngressClass objects.
    fn ingress_controller(&self, i: &Object) -> Option<String> {
        let classes = self.inv.of_kind("IngressClass");
        let name = i
            .body
            .pointer("/spec/ingressClassName")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| i.annotations.get("kubernetes.io/ingress.class").cloned())
            .or_else(|| {
                classes
                    .iter()
                    .find(|c| {
                        c.annotations
                            .get("ingressclass.kubernetes.io/is-default-class")
                            .map(String::as_str)
                            == Some("true")
                    })
                    .map(|c| c.name.clone())
            })?;
        if let Some(c) = classes.iter().find(|c| c.name == name) {
            return c
                .body
                .pointer("/spec/controller")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        let guess = match name.as_str() {
            "nginx" | "ingress-nginx" => "k8s.io/ingress-nginx",
            "traefik" => "traefik.io/ingress-controller",
            "haproxy" => "haproxy.org/ingress-controller/haproxy",
            "kong" => "ingress-controllers.konghq.com/kong",
            "contour" => "projectcontour.io/ingress-controller",
            _ => return None,
        };
        Some(guess.to_string())
    }

    // ---------------------------------------------------------------------------------------
    // Secrets.

    fn secrets(&mut self) {
        let sa_uids: HashMap<(String, String), String> = self
            .inv
            .of_kind("ServiceAccount")
            .iter()
            .filter_map(|sa| {
                Some((
                    (sa.effective_namespace()?.to_string(), sa.name.clone()),
                    sa.uid.clone()?,
                ))
            })
            .collect();
        for s in self.inv.of_kind("Secret").to_vec() {
            let ns = s.effective_namespace().unwrap_or("default").to_string();
            let si = self.n(&s.node_ref(), NodeKind::Secret);
            let hub = self.n(&format!("Secrets:{ns}"), NodeKind::Hub);
            self.g
                .edge(hub, si, T::INCLUDES, "Secrets of the namespace");
            if let Some(sa) = live_token_secret_sa(s, &sa_uids) {
                let sai = self.n(
                    &format!("ServiceAccount:{ns}/{sa}"),
                    NodeKind::ServiceAccount,
                );
                self.g.edge(
                    si,
                    sai,
                    T::SECRET_AUTHENTICATES_AS,
                    format!(
                        "type kubernetes.io/service-account-token for ServiceAccount {ns}/{sa}"
                    ),
                );
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Identities and RBAC abuse.

    fn identities(&mut self) {
        // Every identity: ServiceAccounts (objects, referenced, bound), users and groups bound.
        // A namespace part adds only the ServiceAccounts its pod templates name: bound and
        // existing identities are the cluster part's.
        let mut sas: BTreeSet<(String, String)> = self
            .inv
            .templates()
            .iter()
            .map(|t| {
                let (ns, name) = t.service_account();
                (ns.to_string(), name.to_string())
            })
            .collect();
        let mut users: BTreeSet<String> = BTreeSet::new();
        let mut groups: BTreeSet<String> = BTreeSet::new();
        if self.part != Part::Namespace {
            self.cluster_identities(&mut sas, &mut users, &mut groups);
        }
        let authenticated = self.n("Group:system:authenticated", NodeKind::Group);
        let identities_hub = self.n("Identities:*", NodeKind::Hub);
        let users_hub = self.n("Users:*", NodeKind::Hub);
        let groups_hub = self.n("Groups:*", NodeKind::Hub);
        for (ns, name) in &sas {
            let sa = self.n(
                &format!("ServiceAccount:{ns}/{name}"),
                NodeKind::ServiceAccount,
            );
            if !SYSTEM_NAMESPACES.contains(&ns.as_str()) {
                self.g.mark_entry(sa);
            }
            let hub = self.n(&format!("ServiceAccounts:{ns}"), NodeKind::Hub);
            self.g
                .edge(hub, sa, T::INCLUDES, "ServiceAccounts of the namespace");
            let all = self.n("Group:system:serviceaccounts", NodeKind::Group);
            self.g.edge(
                sa,
                all,
                T::MEMBER_OF,
                "every ServiceAccount token carries system:serviceaccounts",
            );
            let nsg = self.n(
                &format!("Group:system:serviceaccounts:{ns}"),
                NodeKind::Group,
            );
            self.g.edge(
                sa,
                nsg,
                T::MEMBER_OF,
                format!("ServiceAccount tokens of {ns} carry system:serviceaccounts:{ns}"),
            );
            self.g.edge(
                sa,
                authenticated,
                T::MEMBER_OF,
                "every authenticated identity is in system:authenticated",
            );
            let id = Identity::service_account(ns, name);
            self.rbac_edges(sa, &id, false);
        }
        // A user or group is an entry point when a binding the cluster owner manages names it.
        let owned_subjects: HashSet<String> = self
            .rbac
            .bindings
            .iter()
            .filter(|b| !b.managed)
            .flat_map(|b| b.subjects.iter().map(|s| s.node_ref()))
            .collect();
        for u in &users {
            let ui = self.n(&format!("User:{u}"), NodeKind::User);
            if owned_subjects.contains(&format!("User:{u}"))
                && !PLATFORM_PREFIXES.iter().any(|p| u.starts_with(p))
            {
                self.g.mark_entry(ui);
            }
            self.g.edge(users_hub, ui, T::INCLUDES, "any user name");
            self.g.edge(identities_hub, ui, T::INCLUDES, "any identity");
            if u != "system:anonymous" {
                self.g.edge(
                    ui,
                    authenticated,
                    T::MEMBER_OF,
                    "every authenticated identity is in system:authenticated",
                );
            } else {
                let unauth = self.n("Group:system:unauthenticated", NodeKind::Group);
                self.g.edge(
                    ui,
                    unauth,
                    T::MEMBER_OF,
                    "anonymous requests are in system:unauthenticated",
                );
            }
            let id = Identity {
                user: u.clone(),
                groups: Vec::new(),
            };
            self.rbac_edges(ui, &id, false);
        }
        for gname in &groups {
            let gi = self.n(&format!("Group:{gname}"), NodeKind::Group);
            let everyone = gname == "system:authenticated" || gname == "system:unauthenticated";
            if everyone
                || (owned_subjects.contains(&format!("Group:{gname}"))
                    && !PLATFORM_PREFIXES.iter().any(|p| gname.starts_with(p)))
            {
                self.g.mark_entry(gi);
            }
            self.g.edge(groups_hub, gi, T::INCLUDES, "any group name");
            if gname != SYSTEM_MASTERS {
                // CSR-minted certificates can carry any group but system:masters.
                self.g.edge(
                    identities_hub,
                    gi,
                    T::INCLUDES,
                    "any identity but system:masters",
                );
            }
            let id = Identity {
                user: String::new(),
                groups: vec![gname.clone()],
            };
            self.rbac_edges(gi, &id, gname == SYSTEM_MASTERS);
        }
    }

    /// The identities of the whole cluster: ServiceAccount objects and those bindings name,
    /// users and groups bindings name, node users, and the groups EKS maps IAM principals into.
    fn cluster_identities(
        &self,
        sas: &mut BTreeSet<(String, String)>,
        users: &mut BTreeSet<String>,
        groups: &mut BTreeSet<String>,
    ) {
        sas.extend(self.inv.of_kind("ServiceAccount").iter().map(|sa| {
            (
                sa.effective_namespace().unwrap_or("default").to_string(),
                sa.name.clone(),
            )
        }));
        groups.extend(
            [
                "system:authenticated",
                "system:unauthenticated",
                "system:serviceaccounts",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        for b in &self.rbac.bindings {
            for s in &b.subjects {
                match s {
                    Subject::User { name } => {
                        users.insert(name.clone());
                    }
                    Subject::Group { name } => {
                        groups.insert(name.clone());
                    }
                    Subject::ServiceAccount { namespace, name } => {
                        sas.insert((namespace.clone(), name.clone()));
                    }
                }
            }
        }
        for node in self.inv.of_kind("Node") {
            users.insert(format!("system:node:{}", node.name));
        }
        // Groups EKS maps IAM principals into (aws-auth, access entries): system:masters needs
        // its node even when no binding names it.
        if self.facts.aws_auth_live {
            groups.insert(SYSTEM_MASTERS.to_string());
        }
        if let Some(cm) = crate::cloud::eks::aws_auth_configmap(self.inv) {
            let parsed = crate::cloud::aws_auth::AwsAuth::from_configmap(cm);
            groups.extend(
                parsed
                    .mappings
                    .iter()
                    .flat_map(|m| m.groups.iter().cloned()),
            );
        }
        groups.extend(
            crate::cloud::eks::access_entries(self.inv)
                .0
                .iter()
                .flat_map(|e| e.groups.iter().cloned()),
        );
    }

    /// Namespaces where a subject's RoleBindings grant something, plus the cluster-wide scope.
    fn scopes(&self, bindings: &[usize]) -> Vec<Option<String>> {
        let mut out: Vec<Option<String>> = vec![None];
        let mut seen = BTreeSet::new();
        for i in bindings {
            if let Some(ns) = &self.rbac.bindings[*i].namespace {
                if seen.insert(ns.clone()) {
                    out.push(Some(ns.clone()));
                }
            }
        }
        out
    }

    fn privileged_allowed(&self, ns: Option<&str>) -> bool {
        match ns {
            Some(n) => !self.facts.guarded_namespaces.contains(n),
            None => {
                self.facts.namespaces.is_empty()
                    || self
                        .facts
                        .namespaces
                        .iter()
                        .any(|n| !self.facts.guarded_namespaces.contains(n))
            }
        }
    }

    fn rbac_edges(&mut self, subject: NodeIndex, who: &Identity, masters: bool) {
        let admin = self.n("ClusterAdmin", NodeKind::ClusterAdmin);
        if masters {
            self.g.edge(
                subject,
                admin,
                T::ADMIN_EQUIVALENT,
                "members of system:masters are authorized before RBAC (privileged group)",
            );
            return;
        }
        let bindings = self.rbac.bindings_for(who);
        if bindings.is_empty() {
            return;
        }
        let rbac = self.rbac;
        let minor = rbac.minor_version;
        let grant = |verb: &str,
                     group: &str,
                     resource: &str,
                     ns: Option<&str>,
                     name: Option<&str>|
         -> Option<Grant<'_>> {
            rbac.grant_among(
                &bindings,
                &Request::resource(verb, group, resource, ns, name),
            )
        };
        let any_of = |reqs: &[(&str, &str, &str)], ns: Option<&str>, name: Option<&str>| {
            reqs.iter().find_map(|(v, g, r)| grant(v, g, r, ns, name))
        };
        // Cluster-wide full control.
        if let Some(g) = grant("*", "*", "*", None, None).filter(|g| g.binding.namespace.is_none())
        {
            self.g.edge(
                subject,
                admin,
                T::ADMIN_EQUIVALENT,
                format!(
                    "every verb on every resource cluster-wide via {}",
                    g.describe()
                ),
            );
            return;
        }
        // Editing aws-auth maps any IAM principal (one's own) to system:masters.
        if self.facts.aws_auth_live {
            if let Some(g) = ["update", "patch"]
                .iter()
                .find_map(|v| grant(v, "", "configmaps", Some("kube-system"), Some("aws-auth")))
            {
                let masters = self.n(&format!("Group:{SYSTEM_MASTERS}"), NodeKind::Group);
                self.g.edge(
                    subject,
                    masters,
                    T::UPDATE_AWS_AUTH,
                    format!(
                        "can edit ConfigMap kube-system/aws-auth, which the cluster's authentication mode reads, via {}",
                        g.describe()
                    ),
                );
            }
        }
        for scope in self.scopes(&bindings) {
            let ns_req = Some(scope.as_deref().unwrap_or(ANY_NAMESPACE));
            let label = scope.clone().unwrap_or_else(|| "*".to_string());
            let where_ = match &scope {
                Some(n) => format!("in namespace {n}"),
                None => "in every namespace".to_string(),
            };
            let sas_hub = self.n(&format!("ServiceAccounts:{label}"), NodeKind::Hub);
            let pods_hub = self.n(&format!("Pods:{label}"), NodeKind::Hub);
            let endpoints_hub = self.n(&format!("Endpoints:{label}"), NodeKind::Hub);
            let secrets_target = match &scope {
                Some(n) => self.n(&format!("Secrets:{n}"), NodeKind::Hub),
                None => self.n("AllSecrets", NodeKind::AllSecrets),
            };
            let any_node = self.n("Node:*", NodeKind::Node);
            let create_pods = any_of(sets::CREATE_WORKLOADS, ns_req, None);
            if let Some(g) = create_pods {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::CREATE_POD_AS_SA,
                    format!("can create pods {where_} via {}", g.describe()),
                );
                let relabel = grant("patch", "", "namespaces", None, scope.as_deref())
                    .or_else(|| grant("update", "", "namespaces", None, scope.as_deref()));
                if self.privileged_allowed(scope.as_deref()) || relabel.is_some() {
                    let why = if relabel.is_some() {
                        "can relabel the namespace's Pod Security level"
                    } else {
                        "Pod Security does not forbid privileged pods there"
                    };
                    self.g.edge(
                        subject,
                        any_node,
                        T::CREATE_PRIVILEGED_POD,
                        format!("can create pods {where_} via {}; {why}", g.describe()),
                    );
                }
            }
            if let Some(g) = any_of(sets::UPDATE_WORKLOADS, ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::UPDATE_WORKLOAD_AS_SA,
                    format!(
                        "can update workload controllers {where_} via {}",
                        g.describe()
                    ),
                );
                // A controller's new pod template makes new pods: privileged ones where Pod
                // Security admits them.
                if self.privileged_allowed(scope.as_deref()) {
                    self.g.edge(
                        subject,
                        any_node,
                        T::UPDATE_WORKLOAD_AS_SA,
                        format!(
                            "can rewrite workload pod templates {where_} via {}; Pod Security does not forbid privileged pods there",
                            g.describe()
                        ),
                    );
                }
            }
            if let Some(g) = any_of(sets::PATCH_PODS, ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    pods_hub,
                    T::PATCH_POD_IMAGE,
                    format!("can patch pods {where_} via {}", g.describe()),
                );
            }
            if let Some(g) = any_of(sets::exec(minor), ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    pods_hub,
                    T::EXEC_INTO_POD,
                    format!("can exec/attach {where_} via {}", g.describe()),
                );
            }
            if let Some(g) = any_of(sets::EPHEMERAL_CONTAINERS, ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    pods_hub,
                    T::EPHEMERAL_CONTAINER,
                    format!("can add ephemeral containers {where_} via {}", g.describe()),
                );
                if self.privileged_allowed(scope.as_deref()) {
                    self.g.edge(
                        subject,
                        any_node,
                        T::EPHEMERAL_CONTAINER,
                        format!(
                            "privileged ephemeral containers are allowed {where_}; via {}",
                            g.describe()
                        ),
                    );
                }
            }
            if let Some(g) = any_of(sets::port_forward(minor), ns_req, Some("any")) {
                self.g.edge(
                    subject,
                    endpoints_hub,
                    T::PORT_FORWARD,
                    format!(
                        "can port-forward to the pods' ports {where_} via {}",
                        g.describe()
                    ),
                );
            }
            // Secrets.
            let list = any_of(sets::LIST_SECRETS, ns_req, None);
            let get_any = grant("get", "", "secrets", ns_req, None);
            if let Some(g) = list.or(get_any) {
                self.g.edge(
                    subject,
                    secrets_target,
                    T::READ_SECRET,
                    format!("can read Secrets {where_} via {}", g.describe()),
                );
            }
            self.token_secret_edges(subject, &scope, &bindings, list.is_some());
            // TokenRequest.
            if let Some(g) = any_of(sets::MINT_TOKENS, ns_req, None) {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::MINT_TOKEN_REQUEST,
                    format!(
                        "can create tokens for any ServiceAccount {where_} via {}",
                        g.describe()
                    ),
                );
            } else {
                self.named_token_requests(subject, &scope, &bindings);
            }
            if let Some(g) = grant("create", "", "secrets", ns_req, None) {
                if list.is_some() || get_any.is_some() || create_pods.is_some() {
                    self.g.edge(
                        subject,
                        sas_hub,
                        T::MINT_LEGACY_TOKEN_SECRET,
                        format!(
                            "can create Secrets {where_} via {} and read them back",
                            g.describe()
                        ),
                    );
                }
            }
            // Binding and escalation.
            if let Some(rb) = any_of(sets::WRITE_ROLEBINDINGS, ns_req, None) {
                // A RoleBinding whose roleRef is a ClusterRole needs `bind` on `clusterroles`
                // (by name): any of the ClusterRoles that own a namespace — cluster-admin,
                // admin or edit — gives its pods' ServiceAccounts and its Secrets.
                let cluster_role = ["cluster-admin", "admin", "edit"].iter().find_map(|r| {
                    grant(
                        "bind",
                        "rbac.authorization.k8s.io",
                        "clusterroles",
                        ns_req,
                        Some(r),
                    )
                    .map(|g| (format!("ClusterRole:{r}"), g, true, true, None))
                });
                // One whose roleRef is a Role needs `bind` on `roles`: only Roles that exist in
                // the namespace can be bound, and each gives what it grants — every such Role
                // counts (one may create pods, another read Secrets, in other namespaces).
                let roles: Vec<_> = rbac
                    .roles
                    .iter()
                    .filter(|r| {
                        r.kind == crate::rbac::RoleKind::Role
                            && scope
                                .as_deref()
                                .is_none_or(|n| r.namespace.as_deref() == Some(n))
                    })
                    .filter_map(|r| {
                        let ns = r.namespace.as_deref();
                        let allows = |reqs: &[(&str, &str, &str)]| {
                            reqs.iter().any(|(v, g, res)| {
                                let req = Request::resource(v, g, res, ns, None);
                                r.rules.iter().any(|rule| rule.allows(&req))
                            })
                        };
                        let pods = allows(sets::CREATE_WORKLOADS);
                        let secrets = allows(sets::READ_SECRETS);
                        if !(pods || secrets) {
                            return None;
                        }
                        grant(
                            "bind",
                            "rbac.authorization.k8s.io",
                            "roles",
                            ns,
                            Some(&r.name),
                        )
                        .map(|g| (r.node_ref(), g, pods, secrets, ns))
                    })
                    .collect();
                for (bound, b, pods, secrets, role_ns) in cluster_role.into_iter().chain(roles) {
                    let ev = format!(
                        "can create RoleBindings {where_} via {} and bind {bound} via {}",
                        rb.describe(),
                        b.describe()
                    );
                    // A Role gives its own namespace, whatever the scope of the bind grant.
                    let (sas, secret_hub, pod_ns) = match role_ns {
                        Some(n) => (
                            self.n(&format!("ServiceAccounts:{n}"), NodeKind::Hub),
                            self.n(&format!("Secrets:{n}"), NodeKind::Hub),
                            Some(n.to_string()),
                        ),
                        None => (sas_hub, secrets_target, scope.clone()),
                    };
                    if pods {
                        self.g.edge(subject, sas, T::BIND_ROLE, ev.clone());
                        if self.privileged_allowed(pod_ns.as_deref()) {
                            self.g.edge(
                                subject,
                                any_node,
                                T::BIND_ROLE,
                                format!("{ev}; it creates pods, and Pod Security does not forbid privileged pods there"),
                            );
                        }
                    }
                    if secrets {
                        self.g.edge(subject, secret_hub, T::BIND_ROLE, ev);
                    }
                }
            }
            if rbac.may_grant_in(
                &bindings,
                ns_req,
                "escalate",
                "rbac.authorization.k8s.io",
                "roles",
            ) || rbac.may_grant_in(
                &bindings,
                ns_req,
                "escalate",
                "rbac.authorization.k8s.io",
                "clusterroles",
            ) {
                // Escalating a role the subject is bound to — `escalate` and update or patch on
                // that role, by name or any — in that binding's scope.
                for i in &bindings {
                    let b = &rbac.bindings[*i];
                    if b.namespace.as_deref() != scope.as_deref() {
                        continue;
                    }
                    let Some(role_idx) = b.role else { continue };
                    let role = &rbac.roles[role_idx];
                    let (res, role_ns) = match role.kind {
                        crate::rbac::RoleKind::ClusterRole => ("clusterroles", None),
                        crate::rbac::RoleKind::Role => ("roles", role.namespace.as_deref()),
                    };
                    let upd = grant(
                        "update",
                        "rbac.authorization.k8s.io",
                        res,
                        role_ns.or(ns_req),
                        Some(&role.name),
                    )
                    .or_else(|| {
                        grant(
                            "patch",
                            "rbac.authorization.k8s.io",
                            res,
                            role_ns.or(ns_req),
                            Some(&role.name),
                        )
                    });
                    let esc = grant(
                        "escalate",
                        "rbac.authorization.k8s.io",
                        res,
                        role_ns.or(ns_req),
                        Some(&role.name),
                    );
                    if let (Some(g), Some(u)) = (esc, upd) {
                        let ev = format!(
                            "can escalate {} via {} and update it (bound through {}) via {}",
                            role.node_ref(),
                            g.describe(),
                            b.node_ref,
                            u.describe()
                        );
                        if scope.is_none() {
                            self.g.edge(subject, admin, T::ESCALATE_ROLE, ev);
                        } else {
                            self.g.edge(subject, sas_hub, T::ESCALATE_ROLE, ev.clone());
                            self.g
                                .edge(subject, secrets_target, T::ESCALATE_ROLE, ev.clone());
                            if self.privileged_allowed(scope.as_deref()) {
                                self.g.edge(
                                    subject,
                                    any_node,
                                    T::ESCALATE_ROLE,
                                    format!("{ev}; it can grant itself pod creation, and Pod Security does not forbid privileged pods there"),
                                );
                            }
                        }
                        break;
                    }
                }
            }
            // Impersonation (users and groups are cluster-scoped; ServiceAccounts are namespaced).
            if scope.is_none() {
                self.cluster_scoped_edges(subject, &bindings);
            }
            if let Some(g) = grant("impersonate", "", "serviceaccounts", ns_req, None) {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::IMPERSONATE,
                    format!(
                        "can impersonate any ServiceAccount {where_} via {}",
                        g.describe()
                    ),
                );
            } else if rbac.may_grant_in(&bindings, ns_req, "impersonate", "", "serviceaccounts") {
                // ServiceAccounts named in resourceNames (impersonation is namespaced).
                let candidates: Vec<(String, String)> = self
                    .facts
                    .service_accounts
                    .iter()
                    .filter(|(ns, _)| scope.as_deref().is_none_or(|s| s == ns))
                    .cloned()
                    .collect();
                for (ns, name) in candidates {
                    let req_ns = if scope.is_some() {
                        ns.as_str()
                    } else {
                        ANY_NAMESPACE
                    };
                    if let Some(g) = grant(
                        "impersonate",
                        "",
                        "serviceaccounts",
                        Some(req_ns),
                        Some(&name),
                    ) {
                        let sai = self.n(
                            &format!("ServiceAccount:{ns}/{name}"),
                            NodeKind::ServiceAccount,
                        );
                        self.g.edge(
                            subject,
                            sai,
                            T::IMPERSONATE,
                            format!(
                                "can impersonate ServiceAccount {ns}/{name} via {}",
                                g.describe()
                            ),
                        );
                    }
                }
            }
            // Evict pods + taint nodes: pods reschedule onto a node the attacker holds.
            let evict = any_of(
                &[("delete", "", "pods"), ("create", "", "pods/eviction")],
                ns_req,
                Some("any"),
            );
            let taint = any_of(
                &[
                    ("patch", "", "nodes"),
                    ("update", "", "nodes"),
                    ("patch", "", "nodes/status"),
                    ("update", "", "nodes/status"),
                ],
                None,
                Some("any"),
            );
            if let (Some(e), Some(t)) = (evict, taint) {
                self.g.edge(
                    subject,
                    sas_hub,
                    T::STEAL_POD_SCHEDULING,
                    format!(
                        "can evict pods {where_} via {} and taint nodes via {}",
                        e.describe(),
                        t.describe()
                    ),
                );
            }
        }
    }

    fn cluster_scoped_edges(&mut self, subject: NodeIndex, bindings: &[usize]) {
        let rbac = self.rbac;
        let grant = |verb: &str, group: &str, resource: &str, name: Option<&str>| {
            rbac.grant_among(
                bindings,
                &Request::resource(verb, group, resource, None, name),
            )
        };
        let admin = self.n("ClusterAdmin", NodeKind::ClusterAdmin);
        // Impersonation.
        let user_any = grant("impersonate", "", "users", None);
        if let Some(g) = user_any {
            let users = self.n("Users:*", NodeKind::Hub);
            self.g.edge(
                subject,
                users,
                T::IMPERSONATE,
                format!("can impersonate any user via {}", g.describe()),
            );
        }
        // Named users (only worth asking about when some rule mentions impersonating users).
        let named_users =
            if rbac.may_grant_in(bindings, Some(ANY_NAMESPACE), "impersonate", "", "users") {
                self.facts.bound_users.clone()
            } else {
                Vec::new()
            };
        // Impersonating groups needs some user to impersonate alongside — any user name the
        // rules allow (existing or not: impersonation does not look users up), or a
        // ServiceAccount (its user name carries the impersonated groups as well).
        let can_some_user = user_any.is_some()
            || rbac.may_grant_in(bindings, Some(ANY_NAMESPACE), "impersonate", "", "users")
            || rbac.may_grant(bindings, "impersonate", "", "serviceaccounts");
        if user_any.is_none() {
            for u in &named_users {
                if let Some(g) = grant("impersonate", "", "users", Some(u)) {
                    let ui = self.n(&format!("User:{u}"), NodeKind::User);
                    self.g.edge(
                        subject,
                        ui,
                        T::IMPERSONATE,
                        format!("can impersonate user {u} via {}", g.describe()),
                    );
                }
            }
        }
        // Groups need some user to impersonate alongside.
        if can_some_user {
            if let Some(g) = grant("impersonate", "", "groups", Some(SYSTEM_MASTERS)) {
                self.g.edge(
                    subject,
                    admin,
                    T::IMPERSONATE,
                    format!("can impersonate group system:masters via {}", g.describe()),
                );
            }
            if let Some(g) = grant("impersonate", "", "groups", None) {
                let groups = self.n("Groups:*", NodeKind::Hub);
                self.g.edge(
                    subject,
                    groups,
                    T::IMPERSONATE,
                    format!("can impersonate any group via {}", g.describe()),
                );
            } else if rbac.may_grant_in(bindings, Some(ANY_NAMESPACE), "impersonate", "", "groups")
            {
                // Groups named in resourceNames: each bound group it may become.
                for gname in &self.facts.bound_groups.clone() {
                    if let Some(g) = grant("impersonate", "", "groups", Some(gname)) {
                        let gi = self.n(&format!("Group:{gname}"), NodeKind::Group);
                        self.g.edge(
                            subject,
                            gi,
                            T::IMPERSONATE,
                            format!("can impersonate group {gname} via {}", g.describe()),
                        );
                    }
                }
            }
        }
        // Binding cluster roles cluster-wide.
        let crb = ["create", "update", "patch"]
            .iter()
            .find_map(|v| grant(v, "rbac.authorization.k8s.io", "clusterrolebindings", None));
        if let Some(c) = crb {
            // Binding edit or admin cluster-wide: every namespace's pods and Secrets.
            if let Some(b) = ["admin", "edit"]
                .iter()
                .find_map(|r| grant("bind", "rbac.authorization.k8s.io", "clusterroles", Some(r)))
            {
                let ev = format!(
                    "can create ClusterRoleBindings via {} and bind {} cluster-wide via {}",
                    c.describe(),
                    b.role.rules[b.rule],
                    b.describe()
                );
                let sas = self.n("ServiceAccounts:*", NodeKind::Hub);
                let secrets = self.n("AllSecrets", NodeKind::AllSecrets);
                self.g.edge(subject, sas, T::BIND_ROLE, ev.clone());
                self.g.edge(subject, secrets, T::BIND_ROLE, ev);
            }
            if let Some(b) = grant(
                "bind",
                "rbac.authorization.k8s.io",
                "clusterroles",
                Some("cluster-admin"),
            ) {
                self.g.edge(
                    subject,
                    admin,
                    T::BIND_ROLE,
                    format!(
                        "can create ClusterRoleBindings via {} and bind cluster-admin via {}",
                        c.describe(),
                        b.describe()
                    ),
                );
            }
        }
        // CSR: mint a client certificate for any identity but system:masters.
        let signer = grant(
            "approve",
            "certificates.k8s.io",
            "signers",
            Some("kubernetes.io/kube-apiserver-client"),
        )
        .or_else(|| {
            grant(
                "approve",
                "certificates.k8s.io",
                "signers",
                Some("kubernetes.io/*"),
            )
        });
        // Approving (approval subresource + approve on the signer) or signing directly (status
        // subresource + sign on the signer) both yield a certificate.
        let sign = grant(
            "sign",
            "certificates.k8s.io",
            "signers",
            Some("kubernetes.io/kube-apiserver-client"),
        )
        .or_else(|| {
            grant(
                "sign",
                "certificates.k8s.io",
                "signers",
                Some("kubernetes.io/*"),
            )
        });
        let approval = grant(
            "update",
            "certificates.k8s.io",
            "certificatesigningrequests/approval",
            Some("any"),
        );
        let status = grant(
            "update",
            "certificates.k8s.io",
            "certificatesigningrequests/status",
            Some("any"),
        );
        let issue = match (approval.zip(signer), status.zip(sign)) {
            (Some(pair), _) | (None, Some(pair)) => Some(pair),
            _ => None,
        };
        if let (Some(c), Some((a, s))) = (
            grant(
                "create",
                "certificates.k8s.io",
                "certificatesigningrequests",
                None,
            ),
            issue,
        ) {
            // EKS does not issue kube-apiserver-client certificates.
            if self.cluster.info.provider != Provider::Eks {
                let ids = self.n("Identities:*", NodeKind::Hub);
                self.g.edge(subject, ids, T::CSR_MINT_CLIENT_CERT, format!("can create CSRs via {}, approve or sign them via {} and the kube-apiserver-client signer via {}", c.describe(), a.describe(), s.describe()));
            }
        }
        if let Some(g) = grant("get", "", "nodes/proxy", Some("any"))
            .or_else(|| grant("create", "", "nodes/proxy", Some("any")))
        {
            let pods = self.n("Pods:*", NodeKind::Hub);
            self.g.edge(
                subject,
                pods,
                T::NODES_PROXY_EXEC,
                format!("can reach every kubelet's exec API via {}", g.describe()),
            );
        }
        if let Some(g) = ["create", "update", "patch"].iter().find_map(|v| {
            grant(
                v,
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
                Some("any"),
            )
        }) {
            let sas = self.n("ServiceAccounts:*", NodeKind::Hub);
            self.g.edge(
                subject,
                sas,
                T::CONTROL_WEBHOOK,
                format!(
                    "can control mutating admission webhooks via {}",
                    g.describe()
                ),
            );
            // Mutation happens before Pod Security validates: a webhook can make pods
            // privileged only in namespaces that admit them.
            if self.privileged_allowed(None) {
                let any_node = self.n("Node:*", NodeKind::Node);
                self.g.edge(
                    subject,
                    any_node,
                    T::CONTROL_WEBHOOK,
                    format!(
                        "can control mutating admission webhooks via {}; some namespace's Pod Security admits the privileged pods they can make",
                        g.describe()
                    ),
                );
            }
        }
        if let Some(pv) = grant("create", "", "persistentvolumes", None) {
            let claim = rbac
                .grant_among(
                    bindings,
                    &Request::resource(
                        "create",
                        "",
                        "persistentvolumeclaims",
                        Some(ANY_NAMESPACE),
                        None,
                    ),
                )
                .or_else(|| {
                    self.scopes(bindings).into_iter().flatten().find_map(|ns| {
                        rbac.grant_among(
                            bindings,
                            &Request::resource(
                                "create",
                                "",
                                "persistentvolumeclaims",
                                Some(&ns),
                                None,
                            ),
                        )
                    })
                });
            let pods = rbac
                .grant_among(
                    bindings,
                    &Request::resource("create", "", "pods", Some(ANY_NAMESPACE), None),
                )
                .or_else(|| {
                    self.scopes(bindings).into_iter().flatten().find_map(|ns| {
                        rbac.grant_among(
                            bindings,
                            &Request::resource("create", "", "pods", Some(&ns), None),
                        )
                    })
                });
            if let (Some(_), Some(_)) = (claim, pods) {
                let any_node = self.n("Node:*", NodeKind::Node);
                self.g.edge(subject, any_node, T::CREATE_HOSTPATH_PV, format!("can create a hostPath PersistentVolume via {}, claim it and mount it in a pod", pv.describe()));
            }
        }
    }

    /// READ_SA_TOKEN_SECRET to each ServiceAccount with a live token Secret in scope.
    fn token_secret_edges(
        &mut self,
        subject: NodeIndex,
        scope: &Option<String>,
        bindings: &[usize],
        can_list: bool,
    ) {
        let rbac = self.rbac;
        let scope_ns = Some(scope.as_deref().unwrap_or(ANY_NAMESPACE));
        if self.facts.token_secrets.is_empty()
            || !(can_list || rbac.may_grant_in(bindings, scope_ns, "get", "", "secrets"))
        {
            return;
        }
        let secrets = self.facts.token_secrets.clone();
        for (ns, name, sa) in secrets {
            if scope.as_deref().is_some_and(|n| n != ns) {
                continue;
            }
            let ns_req = Some(if scope.is_some() {
                ns.as_str()
            } else {
                ANY_NAMESPACE
            });
            let how = if can_list {
                rbac.grant_among(
                    bindings,
                    &Request::resource("list", "", "secrets", ns_req, None),
                )
                .or_else(|| {
                    rbac.grant_among(
                        bindings,
                        &Request::resource("watch", "", "secrets", ns_req, None),
                    )
                })
            } else {
                rbac.grant_among(
                    bindings,
                    &Request::resource("get", "", "secrets", ns_req, Some(&name)),
                )
            };
            if let Some(g) = how {
                let sai = self.n(
                    &format!("ServiceAccount:{ns}/{sa}"),
                    NodeKind::ServiceAccount,
                );
                self.g.edge(
                    subject,
                    sai,
                    T::READ_SA_TOKEN_SECRET,
                    format!("can read token Secret {ns}/{name} via {}", g.describe()),
                );
            }
        }
    }

    /// MINT_TOKEN_REQUEST limited by resourceNames to specific ServiceAccounts.
    fn named_token_requests(
        &mut self,
        subject: NodeIndex,
        scope: &Option<String>,
        bindings: &[usize],
    ) {
        let rbac = self.rbac;
        let scope_ns = Some(scope.as_deref().unwrap_or(ANY_NAMESPACE));
        if !rbac.may_grant_in(bindings, scope_ns, "create", "", "serviceaccounts/token") {
            return;
        }
        let candidates: Vec<(String, String)> = self
            .facts
            .service_accounts
            .iter()
            .filter(|(ns, _)| scope.as_deref().is_none_or(|s| s == ns))
            .cloned()
            .collect();
        for (ns, name) in candidates {
            let ns_req = if scope.is_some() {
                ns.as_str()
            } else {
                ANY_NAMESPACE
            };
            if let Some(g) = rbac.grant_among(
                bindings,
                &Request::resource(
                    "create",
                    "",
                    "serviceaccounts/token",
                    Some(ns_req),
                    Some(&name),
                ),
            ) {
                let sai = self.n(
                    &format!("ServiceAccount:{ns}/{name}"),
                    NodeKind::ServiceAccount,
                );
                self.g.edge(
                    subject,
                    sai,
                    T::MINT_TOKEN_REQUEST,
                    format!(
                        "can create tokens for ServiceAccount {ns}/{name} via {}",
                        g.describe()
                    ),
                );
            }
        }
    }
}

/// Services with at least one ready endpoint (when the snapshot has EndpointSlices).
fn ready_services(inv: &Inventory<'_>) -> HashSet<(String, String)> {
    inv.of_kind("EndpointSlice")
        .iter()
        .filter(|e| {
            e.body
                .get("endpoints")
                .and_then(Value::as_array)
                .is_some_and(|eps| {
                    eps.iter().any(|ep| {
                        ep.pointer("/conditions/ready").and_then(Value::as_bool) != Some(false)
                    })
                })
        })
        .filter_map(|e| {
            Some((
                e.effective_namespace()?.to_string(),
                e.labels.get("kubernetes.io/service-name")?.clone(),
            ))
        })
        .collect()
}

/// Pod templates with their labels.
type Labelled<'a> = Vec<(PodTemplate<'a>, BTreeMap<String, String>)>;

/// What decides which pod templates a Service routes to: the templates of each namespace with
/// their labels, and the Services with a ready endpoint.
struct Routing<'a> {
    by_ns: HashMap<&'a str, Labelled<'a>>,
    slices: HashSet<(String, String)>,
    has_slices: bool,
}

impl<'a> Routing<'a> {
    fn of(inv: &Inventory<'a>, has_slices: bool) -> Self {
        let mut by_ns: HashMap<&'a str, Labelled<'a>> = HashMap::new();
        for t in inv.templates() {
            by_ns
                .entry(t.owner.effective_namespace().unwrap_or("default"))
                .or_default()
                .push((*t, LabelSelector::labels_of(t.metadata)));
        }
        Routing {
            by_ns,
            slices: ready_services(inv),
            has_slices,
        }
    }

    /// The pod templates of its namespace a Service routes to: its selector matches their
    /// labels, a port resolves, and (when the cluster has EndpointSlices) it has a ready
    /// endpoint.
    fn selected(&self, s: &Object) -> Vec<PodTemplate<'a>> {
        let ns = s.effective_namespace().unwrap_or("default");
        let Some(sel) = LabelSelector::from_map(s.body.pointer("/spec/selector")) else {
            return Vec::new();
        };
        if self.has_slices && !self.slices.contains(&(ns.to_string(), s.name.clone())) {
            return Vec::new();
        }
        let ports: Vec<&Value> = s
            .body
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        self.by_ns
            .get(ns)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter(|(_, labels)| sel.matches(labels))
            .filter(|(t, _)| ports.is_empty() || ports.iter().any(|p| target_port_resolves(p, t)))
            .map(|(t, _)| *t)
            .collect()
    }
}

fn safe_writable(host: &str) -> bool {
    const SAFE: &[&str] = &[
        "/tmp",
        "/var/tmp",
        "/var/log/pods",
        "/var/log/containers",
        "/dev/shm",
        "/run/xtables.lock",
        "/var/run/xtables.lock",
        "/var/lib/kubelet/plugins",
        "/var/lib/kubelet/plugins_registry",
        "/var/lib/kubelet/device-plugins",
        "/var/lib/kubelet/pod-resources",
        "/var/run/secrets-store-csi",
        "/etc/cni/net.d",
        "/opt/cni/bin",
        "/var/lib/cni",
        "/var/run/netns",
        "/run/netns",
    ];
    // /var/log itself is not safe (CE_VAR_LOG_SYMLINK), but application log sub-directories are.
    SAFE.iter()
        .any(|s| host == *s || host.starts_with(&format!("{s}/")))
        || (host.starts_with("/var/log/")
            && !host.starts_with("/var/log/pods/..")
            && host != "/var/log")
        || host.starts_with("/data/")
        || host.starts_with("/mnt/")
}

/// The ServiceAccount a live legacy token Secret authenticates as.
fn live_token_secret_sa(s: &Object, sa_uids: &HashMap<(String, String), String>) -> Option<String> {
    if s.body.get("type").and_then(Value::as_str) != Some("kubernetes.io/service-account-token") {
        return None;
    }
    if s.labels
        .contains_key("kubernetes.io/legacy-token-invalid-since")
    {
        return None;
    }
    let sa = s
        .annotations
        .get("kubernetes.io/service-account.name")?
        .clone();
    let ns = s.effective_namespace()?.to_string();
    if let (Some(want), Some(have)) = (
        s.annotations.get("kubernetes.io/service-account.uid"),
        sa_uids.get(&(ns, sa.clone())),
    ) {
        if want != have {
            return None;
        }
    }
    Some(sa)
}

/// The distinct names `pick` takes from the subjects of every binding, sorted.
fn bound_names(rbac: &Rbac, pick: impl Fn(&Subject) -> Option<&String>) -> Vec<String> {
    rbac.bindings
        .iter()
        .flat_map(|b| b.subjects.iter())
        .filter_map(pick)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .cloned()
        .collect()
}

/// Secrets a pod template mounts or reads into env, with how.
fn pod_secrets(t: &PodTemplate<'_>) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for v in t
        .spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(n) = v.pointer("/secret/secretName").and_then(Value::as_str) {
            out.insert(n.to_string(), "mounts");
        }
        for src in v
            .pointer("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = src.pointer("/secret/name").and_then(Value::as_str) {
                out.insert(n.to_string(), "mounts (projected)");
            }
        }
    }
    for c in t.containers() {
        for (_, e) in c.env() {
            if let Some(n) = e
                .pointer("/valueFrom/secretKeyRef/name")
                .and_then(Value::as_str)
            {
                out.entry(n.to_string()).or_insert("reads into env");
            }
        }
        for e in c
            .container
            .get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = e.pointer("/secretRef/name").and_then(Value::as_str) {
                out.entry(n.to_string()).or_insert("reads into env");
            }
        }
    }
    out
}

/// Cloud-managed ingress classes that create their own public load balancer.
fn cloud_managed_public_ingress(i: &Object) -> Option<&'static str> {
    let class = i
        .body
        .pointer("/spec/ingressClassName")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| i.annotations.get("kubernetes.io/ingress.class").cloned())
        .unwrap_or_default();
    let a = |k: &str| i.annotations.get(k).map(String::as_str);
    match class.as_str() {
        "gce" => Some("GKE's gce ingress class provisions an external HTTP(S) load balancer"),
        "alb" if a("alb.ingress.kubernetes.io/scheme") == Some("internet-facing") => {
            Some("ALB ingress with alb.ingress.kubernetes.io/scheme: internet-facing")
        }
        "azure-application-gateway" | "webapprouting.kubernetes.azure.com"
            if a("appgw.ingress.kubernetes.io/use-private-ip") != Some("true") =>
        {
            Some("Azure Application Gateway ingress on a public frontend")
        }
        _ => None,
    }
}

/// A Service port's targetPort resolves on the pod: numbers always do (containerPort is only
/// informational); names must match a named containerPort.
fn target_port_resolves(port: &Value, t: &PodTemplate<'_>) -> bool {
    match port.get("targetPort") {
        Some(Value::String(name)) => match name.parse::<u16>() {
            Ok(_) => true,
            Err(_) => t.containers().any(|c| {
                c.container
                    .get("ports")
                    .and_then(Value::as_array)
                    .is_some_and(|ps| {
                        ps.iter()
                            .any(|p| p.get("name").and_then(Value::as_str) == Some(name.as_str()))
                    })
            }),
        },
        _ => true,
    }
}

/// Whether some pod behind Service `s` admits a connection from outside the cluster on a
/// port the Service sends to: `None` when the NetworkPolicies deny it for every selected
/// workload, else the words to add to the exposure's evidence (empty when no policy
/// isolates the pods, or no pod is selected).
fn admits_outside(
    policies: &crate::netpol::Model,
    s: &Object,
    selected: &[PodTemplate<'_>],
) -> Option<String> {
    if selected.is_empty() {
        return Some(String::new());
    }
    // With externalTrafficPolicy Cluster (the default) kube-proxy may hand the client's
    // connection to the pod from its node's address, which NetworkPolicies never block.
    let local = s
        .body
        .pointer("/spec/externalTrafficPolicy")
        .and_then(Value::as_str)
        == Some("Local");
    let mut undecided = None;
    let mut evaluated = false;
    for t in selected {
        let pods = crate::netpol::Pods::of(t);
        let to = crate::netpol::Party::Pods(pods);
        for (port, protocol) in target_ports(s, t) {
            evaluated = true;
            let v = policies.connect(&crate::netpol::Party::Outside, &to, port, &protocol);
            let ingress = v.ingress.unwrap_or_default();
            if ingress.isolated_by.is_empty() {
                return Some(String::new());
            }
            if !local && v.answer != crate::netpol::Answer::Yes {
                undecided.get_or_insert_with(|| {
                    format!(
                        "; ingress of {} is isolated by {}, but with externalTrafficPolicy Cluster the connection may arrive from the node's own address, which NetworkPolicies never block",
                        t.owner.node_ref(),
                        ingress.isolated_by.join(", ")
                    )
                });
                continue;
            }
            match v.answer {
                crate::netpol::Answer::Yes => {
                    return Some(format!(
                        "; ingress of {} on {port}/{protocol} allowed by {}",
                        t.owner.node_ref(),
                        ingress.allowed_by.join(", ")
                    ))
                }
                crate::netpol::Answer::Unknown => {
                    undecided.get_or_insert_with(|| {
                        format!(
                            "; ingress of {} on {port}/{protocol} from outside the cluster not decidable: {}",
                            t.owner.node_ref(),
                            v.notes.join("; ")
                        )
                    });
                }
                crate::netpol::Answer::No => {}
            }
        }
    }
    if !evaluated {
        return Some(String::new());
    }
    undecided
}

/// The ports a Service sends to on the pods of `t`: (port, protocol) of each `targetPort`
/// (the `port` when left out, a name looked up among the containers' ports).
fn target_ports(s: &Object, t: &PodTemplate<'_>) -> Vec<(u16, String)> {
    let declared: Vec<crate::inventory::DeclaredPort<'_>> = t
        .containers()
        .flat_map(|c| c.ports().collect::<Vec<_>>())
        .collect();
    s.body
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            let number = match p.get("targetPort") {
                None | Some(Value::Null) => p.get("port")?.as_u64()?,
                Some(Value::Number(n)) => n.as_u64()?,
                Some(Value::String(name)) => match name.parse::<u64>() {
                    Ok(n) => n,
                    Err(_) => declared
                        .iter()
                        .find(|d| d.name == Some(name.as_str()) && d.protocol == protocol)
                        .map(|d| d.number)?,
                },
                Some(_) => return None,
            };
            let number = u16::try_from(number).ok().filter(|n| *n > 0)?;
            Some((number, protocol.to_string()))
        })
        .collect()
}

/// The ports a workload's pods declare, for the evidence of [`T::ENDPOINT_EXPLOIT`]:
/// `8080/TCP (http, container web), …`, or a note that none is declared.
fn listening_ports(t: &PodTemplate<'_>) -> String {
    let ports: Vec<String> = t
        .containers()
        .flat_map(|c| {
            c.ports().map(move |p| match p.name {
                Some(n) => format!("{}/{} ({n}, container {})", p.number, p.protocol, c.name),
                None => format!("{}/{} (container {})", p.number, p.protocol, c.name),
            })
        })
        .collect();
    if ports.is_empty() {
        "whatever its containers listen on (no containerPort declared)".to_string()
    } else {
        format!(
            "{} or any other port its containers listen on",
            ports.join(", ")
        )
    }
}

/// A Service's port mappings for the evidence of [`T::SVC_SELECTS_POD`]: `ports 80→http/TCP`.
fn service_ports(s: &Object) -> String {
    let ports: Vec<String> = s
        .body
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = p.get("port")?.as_u64()?;
            let target = match p.get("targetPort") {
                Some(Value::String(n)) => n.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => port.to_string(),
            };
            let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("TCP");
            Some(format!("{port}→{target}/{protocol}"))
        })
        .collect();
    if ports.is_empty() {
        "no ports listed".to_string()
    } else {
        format!("ports {}", ports.join(", "))
    }
}

/// Mutating webhooks whose backend is Service `s` and whose rules cover pod creation: (name,
/// namespace selector). An object selector is not evaluated (it narrows which pods, by labels
/// their creators choose).
fn mutating_webhooks_served_by(inv: &Inventory<'_>, s: &Object) -> Vec<(String, LabelSelector)> {
    let ns = s.effective_namespace().unwrap_or("default");
    let mut out = Vec::new();
    for config in inv.of_kind("MutatingWebhookConfiguration") {
        for hook in config
            .body
            .get("webhooks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let svc = hook.pointer("/clientConfig/service");
            let served = svc.and_then(|v| v.get("namespace")).and_then(Value::as_str) == Some(ns)
                && svc.and_then(|v| v.get("name")).and_then(Value::as_str) == Some(s.name.as_str());
            if !served || !covers_pod_creation(hook) {
                continue;
            }
            let name = hook.get("name").and_then(Value::as_str).unwrap_or("");
            out.push((
                format!("{}/{name}", config.name),
                LabelSelector::from_value(hook.get("namespaceSelector")),
            ));
        }
    }
    out
}

/// Whether a webhook's rules include CREATE of core/v1 pods (`pods/*` is subresources only; a
/// `Cluster` scope excludes namespaced resources).
fn covers_pod_creation(hook: &Value) -> bool {
    let has = |rule: &Value, field: &str, wanted: &[&str]| {
        rule.get(field).and_then(Value::as_array).is_some_and(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .any(|v| wanted.contains(&v))
        })
    };
    hook.get("rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|r| {
            has(r, "operations", &["CREATE", "*"])
                && has(r, "apiGroups", &["", "*"])
                && has(r, "apiVersions", &["v1", "*"])
                && has(r, "resources", &["pods", "*", "*/*"])
                && r.get("scope").and_then(Value::as_str) != Some("Cluster")
        })
}

/// Every known namespace's labels, with the `kubernetes.io/metadata.name` label the API server
/// sets.
fn namespace_labels(
    inv: &Inventory<'_>,
    known: &BTreeSet<String>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> =
        known.iter().map(|n| (n.clone(), BTreeMap::new())).collect();
    for n in inv.of_kind("Namespace") {
        out.insert(n.name.clone(), n.labels.clone());
    }
    for (name, labels) in out.iter_mut() {
        labels.insert("kubernetes.io/metadata.name".to_string(), name.clone());
    }
    out
}

/// Whether a pod is placed on a node (a non-empty `spec.nodeName`).
pub fn is_scheduled(pod: &Object) -> bool {
    pod.body
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty())
}

/// Node labels every node carries (`kubernetes.io/os`, `kubernetes.io/arch` and their beta
/// forms): a selector on them alone keeps a pod off no node of a uniform cluster.
const UNIVERSAL_NODE_LABELS: &[&str] = &[
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
];

/// Whether a template's pods are kept to particular nodes: `nodeName`, a `nodeSelector` or a
/// required node affinity on anything but the universal os/arch labels.
fn pinned_to_nodes(spec: &Value) -> bool {
    let named = spec
        .get("nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let selector = spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .is_some_and(|m| {
            m.keys()
                .any(|k| !UNIVERSAL_NODE_LABELS.contains(&k.as_str()))
        });
    let affinity = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
        .is_some_and(|terms| {
            // Terms are ORed: pinned unless some term selects on universal labels only.
            !terms.is_empty()
                && !terms.iter().any(|term| {
                    ["matchExpressions", "matchFields"]
                        .iter()
                        .flat_map(|f| term.get(*f).and_then(Value::as_array).into_iter().flatten())
                        .map(|e| e.get("key").and_then(Value::as_str).unwrap_or(""))
                        .all(|k| UNIVERSAL_NODE_LABELS.contains(&k))
                })
        });
    named || selector || affinity
}

/// Whether "any node" may host a template's pods when no placement is known: a DaemonSet with
/// no node selector runs on every node ([`T::NODE_HOSTS_POD`]); any other workload may land
/// beside the attacker's pod ([`T::NODE_MAY_HOST_POD`]) unless it is pinned to particular nodes
/// ([`pinned_to_nodes`]).
fn co_scheduling(t: &PodTemplate<'_>) -> Option<(T, String)> {
    if pinned_to_nodes(t.spec) {
        return None;
    }
    let wref = t.owner.node_ref();
    Some(if t.owner.kind == "DaemonSet" {
        (
            T::NODE_HOSTS_POD,
            format!("{wref} is a DaemonSet with no nodeSelector or required node affinity beyond os/arch: one of its pods runs on every node it tolerates"),
        )
    } else {
        (
            T::NODE_MAY_HOST_POD,
            format!("{wref} has no nodeName, nodeSelector or required node affinity beyond os/arch: it may be scheduled on the attacker's node (placement unknown)"),
        )
    })
}
