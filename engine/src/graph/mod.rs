//! The attack graph: one petgraph for the whole fleet, typed nodes, technique edges with
//! evidence, path search to the sinks, and blast radius.
//!
//! Start at [`AttackGraph::build`]. Nodes are keyed by (cluster, node reference); the Internet
//! (and, with the cloud collectors, cloud principals) belong to no cluster, so one graph can link
//! clusters. Cluster-wide grants point at hub nodes ("every ServiceAccount in namespace N",
//! "every pod", "any node") instead of fanning out, so the graph grows linearly with the cluster.

mod build;
pub mod cloud;
pub mod cloud_azure;
pub mod cloud_gcp;
pub mod explore;
pub mod fixplan;
pub mod joined;
mod network;
pub mod paths;
pub mod query;
pub mod remedy;
pub mod techniques;

pub use crate::exposure::Exposure;
pub use build::{
    is_scheduled, is_token_secret, merged_policies, network_drawing, Accounts, BoundNames,
    ClusterFacts, LabelFacts, Neighbours, NodeView, Part,
};
pub use network::{Drawing, OPEN_PORTS};
use petgraph::graph::DiGraph;
pub use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
pub use techniques::Technique;

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeKind {
    /// The internet.
    Internet,
    /// A Service.
    Service,
    /// An Ingress.
    Ingress,
    /// A workload: the pods of a pod-template owner (Deployment, ..., or a bare Pod).
    Workload,
    /// The network-reachable ports of a workload's pods (`Endpoint:<workload reference>`):
    /// reaching it is network access, not code execution.
    Endpoint,
    /// One container of a workload.
    Container,
    /// A node (or the hub `Node:*`, any node).
    Node,
    /// A ServiceAccount.
    ServiceAccount,
    /// A user.
    User,
    /// A group.
    Group,
    /// A Secret.
    Secret,
    /// A hub standing for a set of nodes.
    Hub,
    /// A network segment (`Network:<segment>`): pods every NetworkPolicy treats alike, as a
    /// foothold — what a compromise of any of them can connect to.
    Segment,
    /// Sink: full control of a cluster.
    ClusterAdmin,
    /// Sink: reading every Secret of a cluster.
    AllSecrets,
    /// A cloud principal (IAM role, GCP service account, managed identity).
    CloudPrincipal,
    /// Sink: admin of a cloud account, project or subscription.
    CloudAdmin,
}

/// A node of the graph.
#[derive(Debug, Clone, Serialize)]
pub struct GraphNode {
    /// Cluster, or `None` for fleet-wide nodes (the Internet, cloud principals).
    pub cluster: Option<String>,
    /// Node reference (`Deployment:shop/web`, `ServiceAccount:ci/deployer`, `ClusterAdmin`).
    pub reference: String,
    /// Kind.
    pub kind: NodeKind,
    /// Whether attack paths start here (the internet, workloads and identities that are not
    /// Kubernetes' or the provider's own).
    pub entry: bool,
}

/// An edge: a technique (or relation) with the evidence that made it true.
#[derive(Debug, Clone, Serialize)]
pub struct GraphEdge {
    /// Technique ID.
    pub technique: Technique,
    /// Why the precondition holds: binding and rule, field, annotation.
    pub evidence: String,
    /// The changes that together remove the edge (positions in [`AttackGraph::remedies`]):
    /// every way the edge arose must be undone. `None` when some way of it is no
    /// configuration anyone can change (a relation, a fact of the platform, an assumed flaw).
    #[serde(skip)]
    pub remedies: Option<Vec<u32>>,
    /// This edge's own likelihood where evidence overrides the technique's (an exploit hop
    /// whose images' vulnerability reports say how likely it works); `None`: the catalogue's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub likelihood: Option<f64>,
}

impl GraphEdge {
    /// The likelihood that the hop works (0–1), for path scores: the edge's own, else its
    /// technique's ([`techniques::TechniqueInfo::likelihood`]).
    pub fn likelihood(&self) -> f64 {
        self.likelihood
            .unwrap_or_else(|| self.technique.info().likelihood)
    }
}

/// The fleet's attack graph.
#[derive(Debug, Default)]
pub struct AttackGraph {
    /// The graph.
    pub graph: DiGraph<GraphNode, GraphEdge>,
    index: hashbrown::HashMap<(Option<String>, String), NodeIndex>,
    edges: hashbrown::HashSet<(NodeIndex, NodeIndex, Technique)>,
    /// Every change an edge names ([`GraphEdge::remedies`]), once each.
    remedies: Vec<remedy::Remedy>,
    remedy_index: hashbrown::HashMap<remedy::RemedyKey, u32>,
}

/// A node's key, borrowed: looks up [`AttackGraph`]'s index without building the owned key.
/// It hashes as the owned `(Option<String>, String)` does (a tuple hashes its fields in order;
/// a `String` as its `str`).
struct NodeKey<'a>(Option<&'a str>, &'a str);

impl Hash for NodeKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl hashbrown::Equivalent<(Option<String>, String)> for NodeKey<'_> {
    fn equivalent(&self, key: &(Option<String>, String)) -> bool {
        self.0 == key.0.as_deref() && self.1 == key.1
    }
}

impl AttackGraph {
    /// The node for (cluster, reference), created on first use.
    pub fn node(&mut self, cluster: Option<&str>, reference: &str, kind: NodeKind) -> NodeIndex {
        if let Some(i) = self.index.get(&NodeKey(cluster, reference)) {
            return *i;
        }
        let key = (cluster.map(str::to_string), reference.to_string());
        let i = self.graph.add_node(GraphNode {
            cluster: key.0.clone(),
            reference: key.1.clone(),
            kind,
            entry: false,
        });
        self.index.insert(key, i);
        i
    }

    /// Marks a node as an entry point.
    pub fn mark_entry(&mut self, i: NodeIndex) {
        self.graph[i].entry = true;
    }

    /// Looks a node up.
    pub fn find(&self, cluster: Option<&str>, reference: &str) -> Option<NodeIndex> {
        self.index.get(&NodeKey(cluster, reference)).copied()
    }

    /// The (from, to, technique) edge, when the graph has it.
    pub fn edge_id(
        &self,
        (from, to, technique): (NodeIndex, NodeIndex, Technique),
    ) -> Option<petgraph::graph::EdgeIndex> {
        self.graph
            .edges_connecting(from, to)
            .find(|e| e.weight().technique == technique)
            .map(|e| e.id())
    }

    /// Adds an edge no configuration change removes, unless the same (from, to, technique)
    /// exists already (which then is not removable either).
    pub fn edge(
        &mut self,
        from: NodeIndex,
        to: NodeIndex,
        technique: Technique,
        evidence: impl Into<String>,
    ) {
        self.edge_ids(from, to, technique, evidence, None, None);
    }

    /// As [`AttackGraph::edge`], with the edge's own likelihood ([`GraphEdge::likelihood`]);
    /// when the edge exists already, the higher likelihood stays.
    pub fn edge_weighted(
        &mut self,
        from: NodeIndex,
        to: NodeIndex,
        technique: Technique,
        evidence: impl Into<String>,
        likelihood: Option<f64>,
    ) {
        self.edge_ids(from, to, technique, evidence, None, likelihood);
    }

    /// Adds an edge that the given changes remove together (see [`GraphEdge::remedies`]);
    /// when the same (from, to, technique) exists already, its evidence stays and removing it
    /// takes these changes too. No changes at all means none removes it.
    pub fn edge_fixed(
        &mut self,
        from: NodeIndex,
        to: NodeIndex,
        technique: Technique,
        evidence: impl Into<String>,
        remedies: Vec<remedy::Remedy>,
    ) {
        let ids = self.remedy_ids(remedies);
        self.edge_ids(from, to, technique, evidence, ids, None);
    }

    /// The positions of changes in [`AttackGraph::remedies`]; none: `None` (no change removes
    /// the edge).
    fn remedy_ids(&mut self, remedies: Vec<remedy::Remedy>) -> Option<Vec<u32>> {
        (!remedies.is_empty()).then(|| remedies.into_iter().map(|r| self.remedy_id(r)).collect())
    }

    /// Adds the (from, to, technique) edge, or, when it exists already, merges into it: the
    /// changes that remove it are those of both ways (none when either has none), its own
    /// likelihood the higher of the two.
    fn edge_ids(
        &mut self,
        from: NodeIndex,
        to: NodeIndex,
        technique: Technique,
        evidence: impl Into<String>,
        remedies: Option<Vec<u32>>,
        likelihood: Option<f64>,
    ) {
        if from == to {
            return;
        }
        if !self.edges.insert((from, to, technique)) {
            // Another way to the same edge: removing the edge now takes undoing both.
            if let Some(e) = self.edge_id((from, to, technique)) {
                let w = &mut self.graph[e];
                w.remedies = match (w.remedies.take(), remedies) {
                    (Some(mut a), Some(b)) => {
                        for r in b {
                            if !a.contains(&r) {
                                a.push(r);
                            }
                        }
                        Some(a)
                    }
                    _ => None,
                };
                w.likelihood = match (w.likelihood, likelihood) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
            }
            return;
        }
        self.graph.add_edge(
            from,
            to,
            GraphEdge {
                technique,
                evidence: evidence.into(),
                remedies,
                likelihood,
            },
        );
    }

    /// Makes an existing edge removable by exactly these changes (an empty list: by none).
    pub fn set_remedies(
        &mut self,
        edge: petgraph::graph::EdgeIndex,
        remedies: Vec<remedy::Remedy>,
    ) {
        let ids: Vec<u32> = remedies.into_iter().map(|r| self.remedy_id(r)).collect();
        self.graph[edge].remedies = (!ids.is_empty()).then_some(ids);
    }

    /// Makes the token edges into a ServiceAccount (or into each member of a ServiceAccount
    /// hub) unremovable: where the cloud gives the pod the account's identity without the
    /// mounted token (GKE's metadata server, AKS's injecting webhook), taking the token away
    /// does not take the identity.
    pub fn keep_token_edges(&mut self, account: NodeIndex) {
        let mut targets = vec![account];
        if self.graph[account].kind == NodeKind::Hub {
            targets = self
                .graph
                .edges_directed(account, petgraph::Direction::Outgoing)
                .filter(|e| e.weight().technique == Technique::INCLUDES)
                .map(|e| e.target())
                .collect();
        }
        for t in targets {
            let incoming: Vec<petgraph::graph::EdgeIndex> = self
                .graph
                .edges_directed(t, petgraph::Direction::Incoming)
                .filter(|e| e.weight().technique == Technique::CONTAINER_HAS_SA_TOKEN)
                .map(|e| e.id())
                .collect();
            for e in incoming {
                self.graph[e].remedies = None;
            }
        }
    }

    /// The position of a change in [`AttackGraph::remedies`], added on first use.
    fn remedy_id(&mut self, r: remedy::Remedy) -> u32 {
        let key = r.key();
        if let Some(i) = self.remedy_index.get(&key) {
            return *i;
        }
        let i = self.remedies.len() as u32;
        self.remedies.push(r);
        self.remedy_index.insert(key, i);
        i
    }

    /// Every change some edge names.
    pub fn remedies(&self) -> &[remedy::Remedy] {
        &self.remedies
    }

    /// The changes of another graph's edge, as positions in this graph's table.
    fn import_remedies(&mut self, other: &AttackGraph, ids: &Option<Vec<u32>>) -> Option<Vec<u32>> {
        ids.as_ref().map(|v| {
            v.iter()
                .map(|i| self.remedy_id(other.remedies[*i as usize].clone()))
                .collect()
        })
    }

    /// Moves every node and edge of another graph into this one (nodes with the same key — the
    /// Internet, shared cloud principals — are merged).
    pub fn absorb(&mut self, mut other: AttackGraph) {
        let table = std::mem::take(&mut other.remedies);
        let (nodes, edges) = other.graph.into_nodes_edges();
        let mut map = Vec::with_capacity(nodes.len());
        for n in nodes {
            let w = n.weight;
            let i = self.node(w.cluster.as_deref(), &w.reference, w.kind);
            if w.entry {
                self.mark_entry(i);
            }
            map.push(i);
        }
        let ids: Vec<u32> = table.into_iter().map(|r| self.remedy_id(r)).collect();
        for e in edges {
            let (a, b) = (map[e.source().index()], map[e.target().index()]);
            let remedies = e
                .weight
                .remedies
                .map(|v| v.iter().map(|i| ids[*i as usize]).collect());
            let (technique, likelihood) = (e.weight.technique, e.weight.likelihood);
            self.edge_ids(a, b, technique, e.weight.evidence, remedies, likelihood);
        }
    }

    /// Copies every node and edge of another graph into this one, as [`AttackGraph::absorb`].
    pub fn merge(&mut self, other: &AttackGraph) {
        let mut map = Vec::with_capacity(other.graph.node_count());
        for w in other.graph.node_weights() {
            let i = self.node(w.cluster.as_deref(), &w.reference, w.kind);
            if w.entry {
                self.mark_entry(i);
            }
            map.push(i);
        }
        for e in other.graph.raw_edges() {
            let (a, b) = (map[e.source().index()], map[e.target().index()]);
            let remedies = self.import_remedies(other, &e.weight.remedies);
            self.edge_ids(
                a,
                b,
                e.weight.technique,
                e.weight.evidence.as_str(),
                remedies,
                e.weight.likelihood,
            );
        }
    }

    /// Every node the internet reaches by exposure alone — load balancers, Ingresses,
    /// NodePorts, Gateways and the Services they lead to, and the ports (`Endpoint:` nodes) of
    /// the pods those select — without running code anywhere: the one answer to "is this
    /// workload internet-exposed".
    pub fn internet_exposed(&self) -> HashSet<NodeIndex> {
        const EXPOSURE: &[Technique] = &[
            Technique::INTERNET_TO_LB,
            Technique::INTERNET_TO_INGRESS,
            Technique::INTERNET_TO_NODEPORT,
            Technique::INTERNET_TO_GATEWAY,
            Technique::SVC_SELECTS_POD,
        ];
        let mut seen = HashSet::new();
        let Some(internet) = self.find(None, "Internet") else {
            return seen;
        };
        let mut stack = vec![internet];
        while let Some(n) = stack.pop() {
            for e in self.graph.edges(n) {
                if EXPOSURE.contains(&e.weight().technique) && seen.insert(e.target()) {
                    stack.push(e.target());
                }
            }
        }
        seen
    }

    /// Number of nodes and edges.
    pub fn size(&self) -> (usize, usize) {
        (self.graph.node_count(), self.graph.edge_count())
    }

    /// A plain-data copy of the graph, for storage (see [`GraphDump`]).
    pub fn dump(&self) -> GraphDump {
        GraphDump {
            nodes: self
                .graph
                .node_weights()
                .map(|n| DumpNode {
                    cluster: n.cluster.clone(),
                    reference: n.reference.clone(),
                    kind: n.kind,
                    entry: n.entry,
                })
                .collect(),
            edges: self
                .graph
                .edge_indices()
                .filter_map(|e| {
                    let (a, b) = self.graph.edge_endpoints(e)?;
                    let w = &self.graph[e];
                    Some((a.index(), b.index(), w.technique.id(), w.evidence.clone()))
                })
                .collect(),
            remedies: self.remedies.clone(),
            edge_remedies: self
                .graph
                .edge_indices()
                .filter_map(|e| Some((e.index(), self.graph[e].remedies.clone()?)))
                .collect(),
            edge_likelihoods: self
                .graph
                .edge_indices()
                .filter_map(|e| Some((e.index(), self.graph[e].likelihood?)))
                .collect(),
        }
    }

    /// Rebuilds a graph from a [`GraphDump`]; edges naming unknown nodes or techniques are
    /// dropped (a dump written by another version).
    pub fn restore(dump: GraphDump) -> AttackGraph {
        let mut g = AttackGraph::default();
        let ids: Vec<NodeIndex> = dump
            .nodes
            .iter()
            .map(|n| {
                let i = g.node(n.cluster.as_deref(), &n.reference, n.kind);
                if n.entry {
                    g.mark_entry(i);
                }
                i
            })
            .collect();
        let fixes: HashMap<usize, Vec<u32>> = dump
            .edge_remedies
            .into_iter()
            .filter(|(_, r)| r.iter().all(|i| (*i as usize) < dump.remedies.len()))
            .collect();
        let likelihoods: HashMap<usize, f64> = dump.edge_likelihoods.into_iter().collect();
        for (position, (a, b, technique, evidence)) in dump.edges.into_iter().enumerate() {
            if let (Some(a), Some(b), Some(t)) =
                (ids.get(a), ids.get(b), Technique::from_id(&technique))
            {
                let remedies = fixes
                    .get(&position)
                    .map(|r| {
                        r.iter()
                            .map(|i| dump.remedies[*i as usize].clone())
                            .collect()
                    })
                    .unwrap_or_default();
                let remedies = g.remedy_ids(remedies);
                let likelihood = likelihoods.get(&position).copied();
                g.edge_ids(*a, *b, t, evidence, remedies, likelihood);
            }
        }
        g
    }
}

/// A node of a [`GraphDump`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DumpNode {
    /// Cluster.
    pub cluster: Option<String>,
    /// Reference.
    pub reference: String,
    /// Kind.
    pub kind: NodeKind,
    /// Entry point.
    pub entry: bool,
}

/// The graph as plain data: nodes, and edges as (from, to, technique ID, evidence) by node
/// position.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GraphDump {
    /// Nodes.
    pub nodes: Vec<DumpNode>,
    /// Edges.
    pub edges: Vec<(usize, usize, String, String)>,
    /// The changes edges name ([`AttackGraph::remedies`]); absent in dumps of older versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remedies: Vec<remedy::Remedy>,
    /// (edge position, positions in `remedies`) for each edge a change removes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edge_remedies: Vec<(usize, Vec<u32>)>,
    /// (edge position, likelihood) for each edge with one of its own ([`GraphEdge::likelihood`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edge_likelihoods: Vec<(usize, f64)>,
}

#[cfg(test)]
mod tests;
