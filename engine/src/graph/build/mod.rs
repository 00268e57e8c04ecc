//! Building the graph from a snapshot: exposure, workload identity, host escapes, node pivots and
//! RBAC abuse, each edge with the exact precondition of its technique.
//!
//! This module holds the cluster facts a part of the graph depends on ([`ClusterFacts`]), the
//! builder and the order it runs in; each family of techniques is a module of its own:
//! [`exposure`] (internet, load balancers, Ingresses, Gateways, Services, webhook backends),
//! [`workloads`] (pods, containers, tokens, Secrets, ports, placement), [`escape`] (container to
//! node), [`nodes`] (kubelet credentials, control-plane nodes), [`identity`] (ServiceAccounts,
//! users, groups), [`rbac`] (what grants allow) and [`tokens`] (token Secrets). Each technique's
//! positive and negative case is in `graph/tests/cases.rs` (cloud bridges: `graph/cloud*.rs`,
//! cases in `engine/tests/cloud_bridges.rs`).

mod accounts;
mod escape;
mod exposure;
mod identity;
mod nodes;
mod rbac;
mod tokens;
mod workloads;

use super::remedy::Remedy;
use super::{AttackGraph, NodeKind, Technique as T};
use crate::exposure::Exposure;
use crate::inventory::{ContainerRef, HostPathVolume, Inventory, PodTemplate};
use crate::object::Object;
use crate::pointer::Pointer as _;
use crate::pss::enforced_level;
use crate::pss::Level;
use crate::rbac::{sets, Grant, Identity, Rbac, Request, Subject, SYSTEM_MASTERS};
use crate::selector::LabelSelector;
use crate::snapshot::{ClusterSnapshot, Provider, Snapshot};
pub use accounts::{is_token_secret, Accounts};
pub use nodes::NodeView;
pub(crate) use nodes::{EKS_NODEGROUP_LABEL, GKE_NODEPOOL_LABEL};
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
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
        self.build_cluster_with(cluster, inv, rbac, &crate::vulns::Database::default());
    }

    /// As [`AttackGraph::build_cluster`], with the vulnerability reports of the scan: each
    /// workload's exploit hop (`ENDPOINT_EXPLOIT`) takes its likelihood and evidence from what
    /// they say of its images ([`crate::vulns::Database::assess`]).
    pub fn build_cluster_with(
        &mut self,
        cluster: &ClusterSnapshot,
        inv: &Inventory<'_>,
        rbac: &Rbac,
        vulns: &crate::vulns::Database,
    ) {
        let facts = ClusterFacts::of(inv, rbac);
        self.build_part(cluster, inv, rbac, &facts, vulns, Part::Whole);
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
        vulns: &crate::vulns::Database,
        part: Part,
    ) -> Neighbours {
        let internet = self.node(None, "Internet", NodeKind::Internet);
        self.mark_entry(internet);
        let mut b = ClusterBuilder::new(self, cluster, inv, rbac, facts, part);
        b.vulns = Some(vulns);
        b.build();
        std::mem::take(&mut b.neighbours)
    }

    /// The users and groups of a cluster, each on a graph of its own: what a [`Part::Cluster`]
    /// graph leaves out (built from the same inventory, RBAC and facts), so that an RBAC change
    /// builds again only the identities whose grants it changes. Every user and group is a key;
    /// those `rebuild` declines (given the node reference and the identity RBAC sees) have
    /// `None`. `runs_as`: the workloads that run as each ServiceAccount a user is named after
    /// (`system:serviceaccount:NS:NAME`, the account to RBAC), by the account's node reference:
    /// taking the account out of a binding takes the grant from them too (the fix's cost), and
    /// `inv` holds no pod templates.
    pub fn identity_parts(
        cluster: &ClusterSnapshot,
        inv: &Inventory<'_>,
        rbac: &Rbac,
        facts: &ClusterFacts,
        runs_as: &HashMap<String, Vec<String>>,
        rebuild: &dyn Fn(&str, &Identity) -> bool,
    ) -> BTreeMap<String, Option<AttackGraph>> {
        let mut scratch = AttackGraph::default();
        let mut b = ClusterBuilder::new(&mut scratch, cluster, inv, rbac, facts, Part::Cluster);
        b.sa_users = Some(runs_as.clone());
        b.identity_parts(rebuild)
    }

    /// Adds HOST_TRAVERSE_TOKENS edges between the parts of a cluster: from every container
    /// that reads the kubelet's pod directories to the ServiceAccounts of the pods on its nodes,
    /// whatever their namespace.
    pub fn join_neighbours(&mut self, cluster: &str, parts: &[&Neighbours]) {
        for p in parts {
            for (container, evidence, nodes, fix) in &p.traversers {
                let ci = self.node(Some(cluster), container, NodeKind::Container);
                for q in parts {
                    for (ns, sa, placed) in &q.residents {
                        if nodes.is_empty() || placed.iter().any(|n| nodes.contains(n)) {
                            let si = self.node(
                                Some(cluster),
                                &format!("ServiceAccount:{ns}/{sa}"),
                                NodeKind::ServiceAccount,
                            );
                            self.edge_fixed(
                                ci,
                                si,
                                T::HOST_TRAVERSE_TOKENS,
                                format!("{evidence}: tokens of pods on the same node"),
                                fix.clone(),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// What network reach draws between the workloads of a cluster's namespace parts, under their
/// policies merged ([`merged_policies`]): the policies and workloads of every part together
/// (reach crosses namespaces). `decided`: the links already decided under those policies.
pub fn network_drawing(
    policies: &crate::netpol::Model,
    parts: &[&Neighbours],
    decided: &mut crate::netpol::Decided,
) -> super::network::Drawing {
    let members: Vec<&std::sync::Arc<crate::netpol::Member>> =
        parts.iter().flat_map(|p| p.members.iter()).collect();
    super::network::Drawing::of_with(policies, &members, decided)
}

/// The NetworkPolicies of every part, as one model, with the Namespaces' labels `facts` hold
/// (each part holds a copy of them as they were when it was evaluated).
pub fn merged_policies(parts: &[&Neighbours], facts: &ClusterFacts) -> crate::netpol::Model {
    let mut policies = crate::netpol::Model::default();
    policies.merge_policies_of(parts.iter().map(|p| &p.policies));
    policies.with_namespaces_of(&facts.shared_policies)
}

/// What a [`Part::Namespace`] graph leaves to [`AttackGraph::join_neighbours`]: pods on a node
/// expose their tokens to containers of any namespace that read the node's pod directories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Neighbours {
    /// Containers that read the kubelet's pod directories: (container reference, evidence,
    /// nodes their pods run on — empty when unknown, i.e. any node — and the changes that end
    /// it, as a whole cluster's build gives them).
    pub traversers: Vec<(String, String, BTreeSet<String>, Vec<super::remedy::Remedy>)>,
    /// Pod templates: (namespace, ServiceAccount, nodes their pods run on).
    pub residents: Vec<(String, String, BTreeSet<String>)>,
    /// The namespace's NetworkPolicies and labels (network reach is decided across
    /// namespaces).
    pub policies: crate::netpol::Model,
    /// Its workloads, as network reach sees them (shared with the network reach drawn of them).
    pub members: Vec<std::sync::Arc<crate::netpol::Member>>,
}

/// Which part of a cluster's graph a build produces (see [`AttackGraph::build_part`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Everything, from an inventory of the whole cluster.
    Whole,
    /// What does not depend on pod templates, Services, Ingresses or Secrets: namespace hubs,
    /// nodes, and the ServiceAccounts of namespaces the cluster does not know (users and groups
    /// are [`AttackGraph::identity_parts`]).
    Cluster,
    /// What one namespace's workloads, Services, Ingresses, Secrets and ServiceAccounts add
    /// (from an inventory of that namespace and the cluster-scoped objects).
    Namespace,
}

/// Facts about the whole cluster that a part of its graph depends on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterFacts {
    /// Namespaces known (from Namespace objects and namespaced objects).
    pub namespaces: BTreeSet<String>,
    /// The ServiceAccounts and their live token Secrets.
    accounts: Accounts,
    /// Namespaces whose enforced Pod Security level forbids privileged pods.
    guarded_namespaces: HashSet<String>,
    /// The identities bindings name (users and groups: impersonation targets; ServiceAccounts).
    bound: BoundNames,
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
    /// Internet-facing load balancers, the pods behind them and their namespaces' policies.
    pub exposure: Exposure,
    /// Network-plugin policies (and their CRDs) anywhere in the cluster: they make
    /// NetworkPolicy answers undecidable in every namespace.
    pub plugin_policies: Vec<String>,
    /// What every namespace's policies are read with: the Namespaces' labels and Calico's
    /// cluster-wide policies, tiers, network sets and ServiceAccount labels
    /// ([`crate::netpol::Model::shared_of`]).
    shared_policies: crate::netpol::Model,
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
        let guarded_namespaces = guarded_namespaces(inv);
        let eks_docs = inv.of_kind(crate::cloud::documents::EKS_CLUSTER);
        let eks = inv.cluster.info.provider == Provider::Eks || !eks_docs.is_empty();
        let mode = eks_docs.first().map(|c| {
            crate::cloud::eks_access::AuthMode::parse(
                crate::cloud::documents::spec(c)
                    .at("/accessConfig/authenticationMode")
                    .and_then(Value::as_str),
            )
        });
        let namespaces_for_labels = namespaces.clone();
        ClusterFacts {
            namespaces,
            accounts: Accounts::of(inv),
            guarded_namespaces,
            bound: BoundNames::of(rbac),
            aws_auth_live: eks && mode != Some(crate::cloud::eks_access::AuthMode::Api),
            has_slices: !inv.of_kind("EndpointSlice").is_empty(),
            scheduled: inv.of_kind("Pod").iter().any(|p| is_scheduled(p)),
            namespace_labels: namespace_labels(inv, &namespaces_for_labels),
            exposure: Exposure::default(),
            plugin_policies: crate::netpol::plugin_policies(inv),
            shared_policies: crate::netpol::Model::shared_of(inv),
        }
    }

    /// The identities bindings name.
    pub fn bound(&self) -> &BoundNames {
        &self.bound
    }

    /// Puts `bound` in place of the identities bindings name held, returning those (the only
    /// facts RBAC decides: an RBAC change leaves every other fact as it was).
    pub fn rebind(&mut self, bound: BoundNames) -> BoundNames {
        std::mem::replace(&mut self.bound, bound)
    }

    /// The ServiceAccounts and their live token Secrets.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// Puts `accounts` in place of those held, returning those (a change to ServiceAccounts or
    /// their token Secrets alone leaves every other fact as it was, but the network policies'
    /// shared facts: see [`ClusterFacts::shares_policies_with`]).
    pub fn reaccount(&mut self, accounts: Accounts) -> Accounts {
        std::mem::replace(&mut self.accounts, accounts)
    }

    /// Reads again from `inv` what the facts read of the Namespaces — the namespaces known, with
    /// `added` (new Namespaces) and without `removed` (namespaces gone, Namespace and objects),
    /// which of them Pod Security guards, the labels namespace selectors see, the shared
    /// policies' copy of them — returning what they held (`inv` holds every Namespace and every
    /// object [`crate::netpol::Model::shared_of`] reads; the other namespaces are those known
    /// before).
    pub fn relabel(
        &mut self,
        inv: &Inventory<'_>,
        added: &BTreeSet<String>,
        removed: &BTreeSet<String>,
    ) -> LabelFacts {
        let mut namespaces = self.namespaces.clone();
        namespaces.extend(added.iter().cloned());
        namespaces.retain(|ns| !removed.contains(ns));
        let fresh = LabelFacts {
            guarded_namespaces: guarded_namespaces(inv),
            namespace_labels: namespace_labels(inv, &namespaces),
            shared_policies: crate::netpol::Model::shared_of(inv),
            namespaces,
        };
        self.restore_labels(fresh)
    }

    /// Puts `facts` in place of what the facts read of the Namespaces' labels, returning what
    /// they held.
    pub fn restore_labels(&mut self, facts: LabelFacts) -> LabelFacts {
        LabelFacts {
            namespaces: std::mem::replace(&mut self.namespaces, facts.namespaces),
            guarded_namespaces: std::mem::replace(
                &mut self.guarded_namespaces,
                facts.guarded_namespaces,
            ),
            namespace_labels: std::mem::replace(&mut self.namespace_labels, facts.namespace_labels),
            shared_policies: std::mem::replace(&mut self.shared_policies, facts.shared_policies),
        }
    }

    /// What every namespace's policies are read with ([`crate::netpol::Model::shared_of`]):
    /// the Namespaces' labels among it.
    pub fn shared_policies(&self) -> &crate::netpol::Model {
        &self.shared_policies
    }

    /// Whether Pod Security forbids privileged pods in namespace `ns`.
    pub fn guarded(&self, ns: &str) -> bool {
        self.guarded_namespaces.contains(ns)
    }

    /// Whether what every namespace's policies are read with is, in `inv`, what it is here
    /// but for the Namespaces' labels (which [`ClusterFacts::relabel`] reads again): Calico's
    /// shared objects and the ServiceAccounts' labels (`inv` holds every object of the kinds
    /// [`crate::netpol::Model::shared_of`] reads).
    pub fn shares_policies_with(&self, inv: &Inventory<'_>) -> bool {
        crate::netpol::Model::shared_of(inv).shares_calico_with(&self.shared_policies)
    }

    /// The network policies of `inv` (the whole cluster, or a namespace part), read with what
    /// the cluster's other objects say about them.
    pub fn network_model(&self, inv: &Inventory<'_>) -> crate::netpol::Model {
        crate::netpol::Model::of(inv)
            .with_plugin_policies(self.plugin_policies.clone())
            .with_shared(&self.shared_policies)
    }
}

/// What [`ClusterFacts`] read of the Namespaces ([`ClusterFacts::relabel`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelFacts {
    namespaces: BTreeSet<String>,
    guarded_namespaces: HashSet<String>,
    namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    shared_policies: crate::netpol::Model,
}

impl LabelFacts {
    /// Whether Pod Security forbids privileged pods in namespace `ns`.
    pub fn guarded(&self, ns: &str) -> bool {
        self.guarded_namespaces.contains(ns)
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
    /// The scan's vulnerability reports (the exploit hop's likelihood).
    vulns: Option<&'a crate::vulns::Database>,
    /// Workload node reference → nodes its pods run on.
    placement: HashMap<String, BTreeSet<String>>,
    /// What a namespace part leaves to the join.
    neighbours: Neighbours,
    /// Container node references that would collide across owner kinds.
    ambiguous_owner_names: HashSet<(String, String)>,
    /// Workload reference → its pods as network reach sees them.
    members: BTreeMap<String, crate::netpol::Member>,
    /// The NetworkPolicies `inv` holds, read on first use ([`ClusterBuilder::policies`]): a
    /// [`Part::Cluster`] (no pods, no Services) never asks.
    policies: std::cell::OnceCell<crate::netpol::Model>,
    /// The pod templates whose pods hold a ServiceAccount token — (workload reference,
    /// namespace, ServiceAccount) — read once, on the first container that reads the kubelet's
    /// pod directories.
    token_holders: Option<Vec<(String, String, String)>>,
    /// ServiceAccount node reference → the workloads that run as it, read once, on the first
    /// binding subject a fix would remove.
    sa_users: Option<HashMap<String, Vec<String>>>,
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
            vulns: None,
            placement: HashMap::new(),
            neighbours: Neighbours::default(),
            ambiguous_owner_names,
            members: BTreeMap::new(),
            policies: std::cell::OnceCell::new(),
            token_holders: None,
            sa_users: None,
        }
    }

    /// The cluster's ServiceAccounts (namespace, name) in namespace `scope`, or all of them.
    fn service_accounts_in(&self, scope: Option<&str>) -> Vec<(String, String)> {
        self.facts
            .accounts
            .service_accounts
            .iter()
            .filter(|(ns, _)| scope.is_none_or(|s| s == ns))
            .cloned()
            .collect()
    }

    /// The NetworkPolicies `inv` holds, read with the cluster's facts.
    fn policies(&self) -> &crate::netpol::Model {
        self.policies
            .get_or_init(|| self.facts.network_model(self.inv))
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
        let (inv, facts, placement, policies) =
            (self.inv, self.facts, &self.placement, &self.policies);
        let read = || policies.get_or_init(|| facts.network_model(inv));
        // The nodes' own cloud identities are the cluster part's (a namespace part draws only
        // its workloads' way to them: it reads a Node only as [`NodeView`] says).
        let on = super::cloud::Draw {
            nodes: cluster_wide,
            placement,
            policies: &read,
        };
        super::cloud::node_roles(self.g, self.name, inv, &on);
        super::cloud_gcp::node_service_accounts(self.g, self.name, inv, &on);
        super::cloud_azure::kubelet_identity(self.g, self.name, inv, &on);
        self.services_and_exposure();
        let members: Vec<std::sync::Arc<crate::netpol::Member>> = std::mem::take(&mut self.members)
            .into_values()
            .map(std::sync::Arc::new)
            .collect();
        match self.part {
            Part::Whole => {
                let model = self
                    .policies
                    .get_or_init(|| self.facts.network_model(self.inv));
                self.g.network_reach(self.name, model, &members)
            }
            Part::Namespace => {
                // (Nothing reads them here after the Services.)
                self.neighbours.policies = match self.policies.take() {
                    Some(model) => model,
                    None => self.facts.network_model(self.inv),
                };
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

    fn compute_placement(&mut self) {
        let placed: Vec<(&Object, &str)> = self
            .inv
            .of_kind("Pod")
            .iter()
            .filter_map(|pod| Some((*pod, pod.body.at("/spec/nodeName")?.as_str()?)))
            .collect();
        if placed.is_empty() {
            return;
        }
        // Owners are looked up in their pod's namespace: only the objects of those namespaces
        // can be found (a cluster part, or a namespace part's cluster-scoped objects, none).
        let namespaces: HashSet<Option<&str>> = placed
            .iter()
            .map(|(pod, _)| pod.effective_namespace())
            .collect();
        let candidates = || {
            self.inv
                .objects()
                .iter()
                .filter(|o| namespaces.contains(&o.effective_namespace()))
        };
        let by_uid: HashMap<(Option<&str>, &str), &Object> = candidates()
            .filter_map(|o| Some(((o.effective_namespace(), o.uid.as_deref()?), *o)))
            .collect();
        let by_name: HashMap<(&str, Option<&str>, &str), &Object> = candidates()
            .map(|o| {
                (
                    (o.kind.as_str(), o.effective_namespace(), o.name.as_str()),
                    *o,
                )
            })
            .collect();
        for (pod, node) in placed {
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
}

/// The identities bindings name: user and group names (the impersonation targets), each sorted,
/// and ServiceAccounts by namespace.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoundNames {
    users: Vec<String>,
    groups: Vec<String>,
    service_accounts: BTreeMap<String, BTreeSet<String>>,
}

impl BoundNames {
    /// The identities the bindings of `rbac` name.
    pub fn of(rbac: &Rbac) -> BoundNames {
        let mut service_accounts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in rbac.bindings.iter().flat_map(|b| b.subjects.iter()) {
            if let Subject::ServiceAccount { namespace, name } = s {
                service_accounts
                    .entry(namespace.clone())
                    .or_default()
                    .insert(name.clone());
            }
        }
        BoundNames {
            users: BoundNames::users_of(rbac),
            groups: bound_names(rbac, |s| match s {
                Subject::Group { name } => Some(name),
                _ => None,
            }),
            service_accounts,
        }
    }

    /// The user names the bindings of `rbac` name, sorted (without the rest of
    /// [`BoundNames::of`]).
    pub(crate) fn users_of(rbac: &Rbac) -> Vec<String> {
        bound_names(rbac, |s| match s {
            Subject::User { name } => Some(name),
            _ => None,
        })
    }

    /// The user names bindings name, sorted.
    pub(crate) fn users(&self) -> &[String] {
        &self.users
    }

    /// Whether the user and group names are those of `other` (what a ServiceAccount that may
    /// impersonate names reads; the ServiceAccounts are their namespaces').
    pub fn same_names(&self, other: &BoundNames) -> bool {
        self.users == other.users && self.groups == other.groups
    }

    /// The ServiceAccounts of namespace `ns` bindings name.
    fn service_accounts_of<'s>(&'s self, ns: &str) -> impl Iterator<Item = &'s String> + 's {
        self.service_accounts.get(ns).into_iter().flatten()
    }
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

/// The Namespaces whose enforced Pod Security level forbids privileged pods.
fn guarded_namespaces(inv: &Inventory<'_>) -> HashSet<String> {
    inv.of_kind("Namespace")
        .iter()
        .filter(|n| enforced_level(n).is_some_and(|(level, _)| level != Level::Privileged))
        .map(|n| n.name.clone())
        .collect()
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
        .at("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty())
}
