//! A graph joined from parts that can be taken out again: every node, entry mark and edge
//! counts the parts that contribute it, so replacing one namespace's part of a cluster's graph
//! costs the size of that part, not of the cluster.

use super::{AttackGraph, Technique};
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use std::collections::HashMap;

type EdgeKey = (NodeIndex, NodeIndex, Technique);

/// The union of part graphs, patched part by part (see [`Joined::add`], [`Joined::remove`]).
#[derive(Debug, Default)]
pub struct Joined {
    graph: AttackGraph,
    node_uses: Vec<u32>,
    entry_uses: Vec<u32>,
    edge_uses: HashMap<EdgeKey, u32>,
}

impl Joined {
    /// The joined graph.
    pub fn graph(&self) -> &AttackGraph {
        &self.graph
    }

    /// Adds a part. An edge another part already contributes keeps that part's evidence.
    pub fn add(&mut self, part: &AttackGraph) {
        let mut map = Vec::with_capacity(part.graph.node_count());
        for w in part.graph.node_weights() {
            let i = self.graph.node(w.cluster.as_deref(), &w.reference, w.kind);
            if i.index() == self.node_uses.len() {
                self.node_uses.push(0);
                self.entry_uses.push(0);
            }
            self.node_uses[i.index()] += 1;
            if w.entry {
                self.entry_uses[i.index()] += 1;
                self.graph.mark_entry(i);
            }
            map.push(i);
        }
        for e in part.graph.raw_edges() {
            let (a, b) = (map[e.source().index()], map[e.target().index()]);
            if a == b {
                continue;
            }
            *self
                .edge_uses
                .entry((a, b, e.weight.technique))
                .or_default() += 1;
            self.graph
                .edge(a, b, e.weight.technique, e.weight.evidence.as_str());
        }
    }

    /// Takes out a part added before: what no other part contributes leaves the graph.
    pub fn remove(&mut self, part: &AttackGraph) {
        let map: Vec<Option<NodeIndex>> = part
            .graph
            .node_weights()
            .map(|w| self.graph.find(w.cluster.as_deref(), &w.reference))
            .collect();
        for e in part.graph.raw_edges() {
            let (Some(a), Some(b)) = (map[e.source().index()], map[e.target().index()]) else {
                continue;
            };
            let key = (a, b, e.weight.technique);
            let Some(uses) = self.edge_uses.get_mut(&key) else {
                continue;
            };
            *uses -= 1;
            if *uses == 0 {
                self.edge_uses.remove(&key);
                self.graph.edges.remove(&key);
                let id = self
                    .graph
                    .graph
                    .edges_connecting(a, b)
                    .find(|x| x.weight().technique == key.2)
                    .map(|x| x.id());
                if let Some(id) = id {
                    self.graph.graph.remove_edge(id);
                }
            }
        }
        // Nodes by decreasing index: removing one moves the last node into its place.
        let mut gone: Vec<NodeIndex> = Vec::new();
        for (w, i) in part.graph.node_weights().zip(&map) {
            let Some(i) = *i else { continue };
            let n = i.index();
            self.node_uses[n] -= 1;
            if w.entry {
                self.entry_uses[n] -= 1;
                if self.entry_uses[n] == 0 {
                    self.graph.graph[i].entry = false;
                }
            }
            if self.node_uses[n] == 0 {
                gone.push(i);
            }
        }
        gone.sort_unstable_by(|a, b| b.cmp(a));
        for i in gone {
            self.remove_node(i);
        }
    }

    /// The edges from and to a node.
    fn incident(&self, n: NodeIndex) -> Vec<EdgeKey> {
        let g = &self.graph.graph;
        g.edges_directed(n, petgraph::Direction::Outgoing)
            .chain(g.edges_directed(n, petgraph::Direction::Incoming))
            .map(|e| (e.source(), e.target(), e.weight().technique))
            .collect()
    }

    /// Removes a node no part contributes (it has no edges left) and re-keys the last node,
    /// which takes its index.
    fn remove_node(&mut self, i: NodeIndex) {
        let last = NodeIndex::new(self.graph.graph.node_count() - 1);
        let moved: Vec<EdgeKey> = if i != last {
            self.incident(last)
                .into_iter()
                .filter(|(a, b, _)| *a != i && *b != i)
                .collect()
        } else {
            Vec::new()
        };
        // Edges still at the removed node (none when parts were consistent) go with it.
        for k in self.incident(i) {
            self.graph.edges.remove(&k);
            self.edge_uses.remove(&k);
        }
        let Some(w) = self.graph.graph.remove_node(i) else {
            return;
        };
        self.graph.index.remove(&(w.cluster, w.reference));
        self.node_uses.swap_remove(i.index());
        self.entry_uses.swap_remove(i.index());
        if i == last {
            return;
        }
        let rekey = |n: NodeIndex| if n == last { i } else { n };
        for (a, b, t) in moved {
            let new = (rekey(a), rekey(b), t);
            self.graph.edges.remove(&(a, b, t));
            self.graph.edges.insert(new);
            if let Some(u) = self.edge_uses.remove(&(a, b, t)) {
                self.edge_uses.insert(new, u);
            }
        }
        let w = &self.graph.graph[i];
        self.graph
            .index
            .insert((w.cluster.clone(), w.reference.clone()), i);
    }
}
