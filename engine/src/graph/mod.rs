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
pub mod joined;
mod network;
pub mod paths;
pub mod query;
pub mod techniques;

pub use crate::exposure::Exposure;
pub use build::{is_scheduled, ClusterFacts, Neighbours, Part};
pub use network::OPEN_PORTS;
use petgraph::graph::DiGraph;
pub use petgraph::graph::NodeIndex;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
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
}

/// The fleet's attack graph.
#[derive(Debug, Default)]
pub struct AttackGraph {
    /// The graph.
    pub graph: DiGraph<GraphNode, GraphEdge>,
    index: HashMap<(Option<String>, String), NodeIndex>,
    edges: HashSet<(NodeIndex, NodeIndex, Technique)>,
}

impl AttackGraph {
    /// The node for (cluster, reference), created on first use.
    pub fn node(&mut self, cluster: Option<&str>, reference: &str, kind: NodeKind) -> NodeIndex {
        let key = (cluster.map(str::to_string), reference.to_string());
        if let Some(i) = self.index.get(&key) {
            return *i;
        }
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
        self.index
            .get(&(cluster.map(str::to_string), reference.to_string()))
            .copied()
    }

    /// Adds an edge unless the same (from, to, technique) exists already.
    pub fn edge(
        &mut self,
        from: NodeIndex,
        to: NodeIndex,
        technique: Technique,
        evidence: impl Into<String>,
    ) {
        if from == to || !self.edges.insert((from, to, technique)) {
            return;
        }
        self.graph.add_edge(
            from,
            to,
            GraphEdge {
                technique,
                evidence: evidence.into(),
            },
        );
    }

    /// Moves every node and edge of another graph into this one (nodes with the same key — the
    /// Internet, shared cloud principals — are merged).
    pub fn absorb(&mut self, other: AttackGraph) {
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
        for e in edges {
            let (a, b) = (map[e.source().index()], map[e.target().index()]);
            self.edge(a, b, e.weight.technique, e.weight.evidence);
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
            self.edge(a, b, e.weight.technique, e.weight.evidence.as_str());
        }
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
        for (a, b, technique, evidence) in dump.edges {
            if let (Some(a), Some(b), Some(t)) =
                (ids.get(a), ids.get(b), Technique::from_id(&technique))
            {
                g.edge(*a, *b, t, evidence);
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
}

#[cfg(test)]
mod tests;
