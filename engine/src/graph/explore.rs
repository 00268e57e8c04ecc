//! The fleet graph as the explorer of the HTML report and of the live web view reads it: every
//! node and edge (with its evidence) for pivoting, and the report's own path searches as data,
//! so the page walks the routes the scan chose instead of searching again.
//!
//! Compact by construction: cluster names, node kinds, techniques and evidence texts are stored
//! once and referred to by position; edges are a flat list of numbers. A route table lists, for
//! every node that reaches one sink class of one cluster (or one cloud account), the first edge
//! of its way there — the same choice [`super::query::Query::paths`] and the report make
//! (fewest hops, then most likely, then the first by next node and technique; the way that does
//! not cross the network between pods when there is one). For a way to any other node the page
//! runs the same reverse search itself, over the edges' likelihoods given here; the browser test
//! holds its answers to `kspm query paths`.

use super::paths::{is_terminal, Distances, PathIndex};
use super::{AttackGraph, NodeKind};
use serde::Serialize;
use std::collections::HashMap;

/// Node flag: a sink nothing is reached through (cluster admin, cloud admin).
pub const TERMINAL: u8 = 1;
/// Node flag: a step, never an answer of "what does this reach" (hubs, containers, network
/// segments), as [`super::query::Query::reach`] leaves them out.
pub const STEP: u8 = 2;
/// Node flag: attack paths start here.
pub const ENTRY: u8 = 4;

/// One search of the report's paths, as data.
#[derive(Debug, Clone, Serialize)]
pub struct RouteTable {
    /// The cluster, or the cloud account's key (`aws:123456789012`) for `CloudAdmin`.
    pub key: String,
    /// `ClusterAdmin`, `AllSecrets`, `NodeRoot` or `CloudAdmin`.
    pub sink: &'static str,
    /// The graph it belongs to (a position in [`Explorer::parts`]).
    pub part: u32,
    /// Pairs (node, first edge of its way; `-1` at a target), for every node that reaches the
    /// sink through any edge.
    pub full: Vec<i64>,
    /// The same for the ways that do not cross the network between pods (the report prefers
    /// them); absent when the graph has no network segments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct: Option<Vec<i64>>,
}

/// The graph the explorer reads.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Explorer {
    /// Cluster names (nodes refer to them by position).
    pub clusters: Vec<String>,
    /// Node kind names.
    pub kinds: Vec<String>,
    /// Technique IDs.
    pub techniques: Vec<String>,
    /// Each technique's likelihood (the catalogue's), by position in `techniques`.
    pub likelihoods: Vec<f64>,
    /// Edges whose evidence sets their own likelihood (an exploit hop weighed by its images'
    /// vulnerability reports): (edge, likelihood).
    pub edge_likelihoods: Vec<(u32, f64)>,
    /// Evidence texts, each once.
    pub texts: Vec<String>,
    /// Nodes: (reference, cluster position or `-1` for fleet-wide nodes, kind position, flags
    /// [`TERMINAL`] | [`STEP`] | [`ENTRY`]).
    pub nodes: Vec<(String, i64, u32, u8)>,
    /// Edges, four numbers each: source node, target node, technique, evidence text.
    pub edges: Vec<u32>,
    /// The report's path searches.
    pub routes: Vec<RouteTable>,
    /// The first node of each graph added (one per scan target in the live view): a graph's
    /// nodes run to the next one's first.
    pub parts: Vec<u32>,
    #[serde(skip)]
    interned: Interned,
}

#[derive(Debug, Clone, Default)]
struct Interned {
    clusters: HashMap<String, i64>,
    kinds: HashMap<NodeKind, u32>,
    techniques: HashMap<String, u32>,
    texts: HashMap<String, u32>,
}

fn intern<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, u32>,
    list: &mut Vec<String>,
    key: &K,
    name: impl FnOnce() -> String,
) -> u32 {
    if let Some(i) = map.get(key) {
        return *i;
    }
    let i = list.len() as u32;
    list.push(name());
    map.insert(key.clone(), i);
    i
}

fn kind_name(kind: NodeKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl Explorer {
    /// The explorer of one graph.
    pub fn of(graph: &AttackGraph) -> Explorer {
        let mut e = Explorer::default();
        e.add(graph);
        e
    }

    /// Adds a graph (the fleet graph of another scan target) beside those already here: its
    /// nodes, edges and route tables stay its own — fleet-wide nodes (the Internet, a cloud
    /// role) are not joined across targets, as the service's queries ask each target's graph
    /// alone, the first that can answer.
    pub fn add(&mut self, graph: &AttackGraph) {
        self.add_indexed(graph, &graph.index());
    }

    /// As [`Explorer::add`], with the graph's path index already built (a caller that also
    /// lists the graph's paths builds it once).
    pub fn add_indexed(&mut self, graph: &AttackGraph, index: &PathIndex<'_>) {
        let g = &graph.graph;
        let part = self.parts.len() as u32;
        self.parts.push(self.nodes.len() as u32);
        let mut position: Vec<u32> = Vec::with_capacity(g.node_count());
        for i in g.node_indices() {
            let n = &g[i];
            let cluster = match &n.cluster {
                None => -1,
                Some(c) => match self.interned.clusters.get(c) {
                    Some(p) => *p,
                    None => {
                        let p = self.clusters.len() as i64;
                        self.clusters.push(c.clone());
                        self.interned.clusters.insert(c.clone(), p);
                        p
                    }
                },
            };
            let kind = intern(&mut self.interned.kinds, &mut self.kinds, &n.kind, || {
                kind_name(n.kind)
            });
            let mut flags = 0;
            if is_terminal(n.kind) {
                flags |= TERMINAL;
            }
            if matches!(
                n.kind,
                NodeKind::Hub | NodeKind::Container | NodeKind::Segment
            ) {
                flags |= STEP;
            }
            if n.entry {
                flags |= ENTRY;
            }
            position.push(self.nodes.len() as u32);
            self.nodes.push((n.reference.clone(), cluster, kind, flags));
        }
        let first_edge = (self.edges.len() / 4) as i64;
        for e in g.edge_indices() {
            let Some((s, t)) = g.edge_endpoints(e) else {
                continue;
            };
            let w = &g[e];
            let technique = w.technique.id();
            let tech = intern(
                &mut self.interned.techniques,
                &mut self.techniques,
                &technique,
                || technique.clone(),
            );
            if self.likelihoods.len() < self.techniques.len() {
                self.likelihoods.push(w.technique.info().likelihood);
            }
            if let Some(l) = w.likelihood {
                self.edge_likelihoods
                    .push(((self.edges.len() / 4) as u32, l));
            }
            let text = intern(
                &mut self.interned.texts,
                &mut self.texts,
                &w.evidence,
                || w.evidence.clone(),
            );
            self.edges
                .extend([position[s.index()], position[t.index()], tech, text]);
        }
        let table = |d: &Distances| -> Vec<i64> {
            let mut out = Vec::new();
            for i in g.node_indices() {
                if let Some(step) = d.first_step(i) {
                    out.push(i64::from(position[i.index()]));
                    out.push(step.map_or(-1, |e| first_edge + e.index() as i64));
                }
            }
            out
        };
        for ((key, sink), full, direct) in index.searches() {
            self.routes.push(RouteTable {
                key: key.clone(),
                sink: sink.as_str(),
                part,
                full: table(full),
                direct: direct.map(table),
            });
        }
    }

    /// The node at `position`: (reference, cluster).
    pub fn node(&self, position: u32) -> Option<(&str, Option<&str>)> {
        let (r, c, _, _) = self.nodes.get(position as usize)?;
        let cluster = usize::try_from(*c)
            .ok()
            .and_then(|c| self.clusters.get(c))
            .map(String::as_str);
        Some((r.as_str(), cluster))
    }
}
