//! Path search: from every entry point (the internet, every workload as an assumed breach, every
//! non-system identity) to the sinks (cluster admin, every Secret, node root), shortest first,
//! scored by exposure, sink criticality and hop likelihood; plus ad-hoc queries and blast radius.

use super::{AttackGraph, GraphEdge, NodeKind};
use crate::severity::Severity;
use petgraph::graph::{EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// One hop of a path.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    /// Node reference the hop starts at.
    pub from: String,
    /// Node reference it reaches.
    pub to: String,
    /// Technique ID (or `MEMBER_OF` / `INCLUDES` for relations).
    pub technique: String,
    /// Why the hop works.
    pub evidence: String,
}

/// A path from an entry point to a sink.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttackPath {
    /// Stable ID.
    pub id: String,
    /// Cluster the sink belongs to.
    pub cluster: String,
    /// Entry node reference.
    pub source: String,
    /// Sink node reference.
    pub target: String,
    /// Severity from the score.
    pub severity: Severity,
    /// 0–100: entry exposure × sink criticality × hop likelihood.
    pub score: f64,
    /// Node references from entry to sink.
    pub nodes: Vec<String>,
    /// The hops, explained.
    pub steps: Vec<Step>,
    /// Lower-ranked paths that are exact suffixes of this one (the same attack from an entry
    /// point further along it), folded in so each attack is reported once; each stays
    /// queryable by its source and ID.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub folded: Vec<FoldedPath>,
}

/// A path folded into a longer one that contains it (see [`AttackPath::folded`]), or into one
/// that takes the same way from a network segment's first hop on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoldedPath {
    /// Its own stable ID.
    pub id: String,
    /// Its entry point: a node of the containing path, or (with `via`) another network
    /// segment.
    pub source: String,
    /// Its severity.
    pub severity: Severity,
    /// Its score.
    pub score: f64,
    /// For a network segment that reaches the containing path's destination ports the same
    /// way: its own first hop ([`super::Technique::NETWORK_REACH`]), after which it follows
    /// the containing path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Step>,
}

impl AttackPath {
    /// The order paths are listed in: highest score first, then by ID.
    pub fn highest_score_first(a: &AttackPath, b: &AttackPath) -> std::cmp::Ordering {
        b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id))
    }

    /// The paths folded into this one, each rebuilt as the path of its own: this path's hops
    /// from its entry point on, with its ID, score and severity.
    pub fn unfold(&self) -> Vec<AttackPath> {
        self.folded
            .iter()
            .filter_map(|f| self.unfolded(f))
            .collect()
    }

    /// The folded paths [`AttackPath::unfold`] rebuilds, in order, without rebuilding them.
    pub fn unfoldable(&self) -> impl Iterator<Item = &FoldedPath> + '_ {
        self.folded
            .iter()
            .filter(|f| self.fold_position(f).is_some())
    }

    /// One folded path rebuilt as the path of its own (see [`AttackPath::unfold`]); `None` when
    /// this path does not hold where it joins.
    pub fn unfolded(&self, f: &FoldedPath) -> Option<AttackPath> {
        let at = self.fold_position(f)?;
        let (nodes, steps) = match &f.via {
            Some(via) => {
                let mut steps = vec![via.clone()];
                steps.extend_from_slice(&self.steps[at..]);
                let mut nodes = vec![f.source.clone()];
                nodes.extend_from_slice(&self.nodes[at..]);
                (nodes, steps)
            }
            None => (self.nodes[at..].to_vec(), self.steps[at..].to_vec()),
        };
        Some(AttackPath {
            id: f.id.clone(),
            cluster: self.cluster.clone(),
            source: f.source.clone(),
            target: self.target.clone(),
            severity: f.severity,
            score: f.score,
            nodes,
            steps,
            folded: Vec::new(),
        })
    }

    /// The hop of this path a folded path follows it from: the one leaving where its own first
    /// hop arrives (`via`), else its entry point; `None` when this path does not hold it.
    fn fold_position(&self, f: &FoldedPath) -> Option<usize> {
        let from = f.via.as_ref().map_or(&f.source, |via| &via.to);
        let at = self.steps.iter().position(|s| &s.from == from)?;
        (at <= self.nodes.len()).then_some(at)
    }

    /// This path alone, without the paths folded into it.
    pub fn without_folded(&self) -> AttackPath {
        AttackPath {
            id: self.id.clone(),
            cluster: self.cluster.clone(),
            source: self.source.clone(),
            target: self.target.clone(),
            severity: self.severity,
            score: self.score,
            nodes: self.nodes.clone(),
            steps: self.steps.clone(),
            folded: Vec::new(),
        }
    }

    /// This path and every path folded into it, rebuilt ([`AttackPath::unfold`]).
    pub fn with_folded(&self) -> Vec<AttackPath> {
        let mut out = vec![self.without_folded()];
        out.extend(self.unfold());
        out
    }

    /// Ranked paths with the paths folded into each rebuilt as paths of their own
    /// ([`AttackPath::with_folded`]), in order: what "every path" means for drift and lookups
    /// by ID.
    pub fn all(paths: &[AttackPath]) -> Vec<AttackPath> {
        paths.iter().flat_map(AttackPath::with_folded).collect()
    }
}

/// Sink classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Sink {
    /// Full control of the cluster.
    ClusterAdmin,
    /// Read every Secret.
    AllSecrets,
    /// Root on a node.
    NodeRoot,
    /// Admin of a cloud account.
    CloudAdmin,
}

impl Sink {
    pub(crate) fn criticality(self) -> f64 {
        match self {
            Sink::ClusterAdmin => 1.0,
            Sink::AllSecrets => 0.8,
            Sink::NodeRoot => 0.7,
            Sink::CloudAdmin => 1.0,
        }
    }

    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Sink::ClusterAdmin => "ClusterAdmin",
            Sink::AllSecrets => "AllSecrets",
            Sink::NodeRoot => "NodeRoot",
            Sink::CloudAdmin => "CloudAdmin",
        }
    }
}

/// Distances to one sink class of one cluster: for each node, hops and the next edge.
#[derive(Clone)]
pub(crate) struct Distances {
    next: Vec<Option<(u32, Option<EdgeIndex>)>>,
}

/// Everything a node can reach, in hops, per sink.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlastRadius {
    /// Sinks reachable and the fewest hops to each.
    pub reaches: BTreeMap<String, u32>,
}

/// From how many nodes a graph's sink searches run in parallel ([`AttackGraph::searches`]).
const PARALLEL_SEARCH_NODES: usize = 4096;

/// Precomputed search state of a graph.
pub struct PathIndex<'g> {
    graph: &'g AttackGraph,
    searches: Cow<'g, PathSearches>,
}

/// A graph's searches toward every sink, owned: what a [`PathIndex`] walks, kept beside the
/// graph for as long as the graph stays as it was ([`AttackGraph::index_with`]).
#[derive(Clone, Default)]
pub struct PathSearches {
    /// (cluster, sink) → distances; cloud sinks are keyed by their account (`aws:<id>`).
    distances: BTreeMap<(String, Sink), Distances>,
    /// The same without network segments, when the graph has any: the ways that do not cross
    /// the network, which the report's paths prefer (see [`AttackGraph::preferred_route`]).
    direct: Option<BTreeMap<(String, Sink), Distances>>,
}

impl AttackGraph {
    /// Reverse breadth-first search from `targets`: every node's distance to the nearest target
    /// and the first edge of a shortest path. Cluster-admin-like sinks are never passed through.
    fn reverse_bfs(&self, targets: &[NodeIndex]) -> Distances {
        self.reverse_bfs_masked(targets, &Mask::default())
    }

    /// [`AttackGraph::reverse_bfs`] without the nodes and edges of `mask` (for alternatives).
    pub(crate) fn reverse_bfs_masked(&self, targets: &[NodeIndex], mask: &Mask) -> Distances {
        let mut next: Vec<Option<(u32, Option<EdgeIndex>)>> = vec![None; self.graph.node_count()];
        // Likelihood of the chosen way from each node to the target (product over its hops).
        let mut odds: Vec<f64> = vec![0.0; self.graph.node_count()];
        let mut queue = VecDeque::new();
        for t in targets {
            next[t.index()] = Some((0, None));
            odds[t.index()] = 1.0;
            queue.push_back(*t);
        }
        let likelihood = |x: EdgeIndex| self.graph[x].likelihood();
        while let Some(n) = queue.pop_front() {
            let d = next[n.index()].map(|x| x.0).unwrap_or(0);
            for e in self.graph.edges_directed(n, Direction::Incoming) {
                let src = e.source();
                if is_terminal(self.graph[src].kind) || mask.left_out(src, e.id()) {
                    continue;
                }
                let p = likelihood(e.id()) * odds[n.index()];
                match next[src.index()] {
                    None => {
                        next[src.index()] = Some((d + 1, Some(e.id())));
                        odds[src.index()] = p;
                        queue.push_back(src);
                    }
                    // Among equally short ways, prefer the most likely; among equally likely
                    // ones, the first by next node and technique — whatever order the graph was
                    // built in.
                    Some((dist, Some(old))) if dist == d + 1 => {
                        let q = odds[src.index()];
                        let better = if (p - q).abs() > 1e-12 {
                            p > q
                        } else {
                            let key = |x: EdgeIndex| {
                                let t = self.graph.edge_endpoints(x).map(|(_, t)| t);
                                (
                                    t.map(|t| self.graph[t].reference.as_str()),
                                    self.graph[x].technique.name(),
                                )
                            };
                            key(e.id()) < key(old)
                        };
                        if better {
                            next[src.index()] = Some((dist, Some(e.id())));
                            odds[src.index()] = p;
                        }
                    }
                    _ => {}
                }
            }
        }
        Distances { next }
    }

    /// The sink nodes of the graph by (cluster, sink class); cloud admin sinks are keyed by
    /// their account (`aws:<id>`, `gcp:<project>`, `azure:<subscription>`).
    pub(crate) fn sink_targets(&self) -> BTreeMap<(String, Sink), Vec<NodeIndex>> {
        let mut out: BTreeMap<(String, Sink), Vec<NodeIndex>> = BTreeMap::new();
        for (c, sinks) in self.sinks_by_cluster() {
            for (sink, targets) in sinks {
                out.insert((c.clone(), sink), targets);
            }
        }
        out
    }

    /// Builds the path index (three reverse searches per cluster, twice when the graph has
    /// network segments).
    pub fn index(&self) -> PathIndex<'_> {
        PathIndex {
            graph: self,
            searches: Cow::Owned(self.searches()),
        }
    }

    /// The index of this graph over `searches`, which [`AttackGraph::searches`] made of it as it
    /// is now (unchanged since).
    pub fn index_with<'g>(&'g self, searches: &'g PathSearches) -> PathIndex<'g> {
        PathIndex {
            graph: self,
            searches: Cow::Borrowed(searches),
        }
    }

    /// The searches [`AttackGraph::index`] indexes, to keep beside the graph.
    pub fn searches(&self) -> PathSearches {
        let mask = self.segment_mask();
        let segmented = mask.leaves_nodes();
        let targets: Vec<((String, Sink), Vec<NodeIndex>)> =
            self.sink_targets().into_iter().collect();
        let search = |(_, targets): &((String, Sink), Vec<NodeIndex>)| {
            let direct = segmented.then(|| self.reverse_bfs_masked(targets, &mask));
            (self.reverse_bfs(targets), direct)
        };
        // Each sink's search is its own: on a large graph they run side by side (a small one
        // would spend more on the threads than on the searches).
        let searched = if self.graph.node_count() >= PARALLEL_SEARCH_NODES {
            crate::parallel::parallel_map(&targets, search)
        } else {
            targets.iter().map(search).collect()
        };
        let mut distances = BTreeMap::new();
        let mut direct = segmented.then(BTreeMap::new);
        for ((key, _), (full, without_network)) in targets.into_iter().zip(searched) {
            if let (Some(direct), Some(d)) = (direct.as_mut(), without_network) {
                direct.insert(key.clone(), d);
            }
            distances.insert(key, full);
        }
        PathSearches { distances, direct }
    }

    /// The network segments ([`NodeKind::Segment`]) as a mask.
    fn segment_mask(&self) -> Mask {
        let mut mask = Mask::default();
        for i in self.graph.node_indices() {
            if self.graph[i].kind == NodeKind::Segment {
                mask.leave_node(i);
            }
        }
        mask
    }

    /// The route the report takes from `from` to the nearest of `targets`: the shortest that
    /// does not cross the network between pods, else the shortest of all. A lateral move over
    /// the network is reported where it is the only way; it always counts for reach and blast
    /// radius.
    pub(crate) fn preferred_route(
        &self,
        from: NodeIndex,
        targets: &[NodeIndex],
    ) -> Option<Vec<EdgeIndex>> {
        let mask = self.segment_mask();
        if mask.leaves_nodes() {
            let direct = self.reverse_bfs_masked(targets, &mask).walk(self, from);
            if let Some(w) = direct.filter(|w| !w.is_empty()) {
                return Some(w);
            }
        }
        self.reverse_bfs(targets).walk(self, from)
    }

    fn sinks_by_cluster(&self) -> BTreeMap<String, BTreeMap<Sink, Vec<NodeIndex>>> {
        let mut by_cluster: BTreeMap<String, BTreeMap<Sink, Vec<NodeIndex>>> = BTreeMap::new();
        for i in self.graph.node_indices() {
            let n = &self.graph[i];
            let (c, sink) = match (&n.cluster, n.kind) {
                (None, NodeKind::CloudAdmin) => (
                    n.reference.trim_start_matches("CloudAdmin:").to_string(),
                    Sink::CloudAdmin,
                ),
                (Some(c), NodeKind::ClusterAdmin) => (c.clone(), Sink::ClusterAdmin),
                (Some(c), NodeKind::AllSecrets) => (c.clone(), Sink::AllSecrets),
                (Some(c), NodeKind::Node) => (c.clone(), Sink::NodeRoot),
                _ => continue,
            };
            by_cluster
                .entry(c)
                .or_default()
                .entry(sink)
                .or_default()
                .push(i);
        }
        by_cluster
    }

    /// The first cluster a path from `from` along `edges` enters (paths to a cloud account
    /// belong to it).
    pub(crate) fn first_cluster(&self, from: NodeIndex, edges: &[EdgeIndex]) -> Option<String> {
        std::iter::once(from)
            .chain(
                edges
                    .iter()
                    .filter_map(|e| self.graph.edge_endpoints(*e).map(|x| x.1)),
            )
            .find_map(|x| self.graph[x].cluster.clone())
    }

    /// The path object for `edges` from `from`, scored `exposure × criticality × likelihood` and
    /// identified by (cluster, source, `sink_name` or the target's reference): one rule for the
    /// report's paths and for every query.
    pub(crate) fn path_object(
        &self,
        cluster: &str,
        sink_name: Option<&str>,
        criticality: f64,
        from: NodeIndex,
        edges: &[EdgeIndex],
        exposure: f64,
    ) -> AttackPath {
        let likelihood: f64 = edges.iter().map(|x| self.graph[*x].likelihood()).product();
        let score = (1000.0 * exposure * criticality * likelihood).round() / 10.0;
        let steps: Vec<Step> = edges
            .iter()
            .map(|x| self.step_in(*x, Some(cluster)))
            .collect();
        let source = self.reference_in(from, Some(cluster));
        let mut nodes = vec![source.clone()];
        nodes.extend(steps.iter().map(|s| s.to.clone()));
        let target = nodes.last().cloned().unwrap_or_default();
        let sink_name = sink_name.map_or_else(|| target.clone(), str::to_string);
        AttackPath {
            id: path_id(cluster, &source, &sink_name),
            cluster: cluster.to_string(),
            source,
            target,
            severity: severity_of(score),
            score,
            nodes,
            steps,
            folded: Vec::new(),
        }
    }

    fn step(&self, e: EdgeIndex) -> Step {
        self.step_in(e, None)
    }

    /// A node's reference as seen from a path in `cluster`: nodes of another cluster are
    /// qualified as `[cluster] reference`.
    pub fn reference_in(&self, i: NodeIndex, cluster: Option<&str>) -> String {
        let n = &self.graph[i];
        match (&n.cluster, cluster) {
            (Some(c), Some(p)) if c != p => format!("[{c}] {}", n.reference),
            _ => n.reference.clone(),
        }
    }

    fn step_in(&self, e: EdgeIndex, cluster: Option<&str>) -> Step {
        let (a, b) = self
            .graph
            .edge_endpoints(e)
            .unwrap_or((NodeIndex::new(0), NodeIndex::new(0)));
        let w: &GraphEdge = &self.graph[e];
        Step {
            from: self.reference_in(a, cluster),
            to: self.reference_in(b, cluster),
            technique: w.technique.id(),
            evidence: w.evidence.clone(),
        }
    }

    /// Shortest path from one node to another (forward search, at most `max_hops`), never
    /// through a terminal sink other than the target.
    pub fn shortest_path(
        &self,
        from: NodeIndex,
        to: NodeIndex,
        max_hops: u32,
    ) -> Option<Vec<Step>> {
        let mut prev: Vec<Option<(u32, Option<EdgeIndex>)>> = vec![None; self.graph.node_count()];
        prev[from.index()] = Some((0, None));
        let mut queue = VecDeque::from([from]);
        while let Some(n) = queue.pop_front() {
            if n == to {
                break;
            }
            let d = prev[n.index()].map(|x| x.0).unwrap_or(0);
            if d >= max_hops || (n != from && is_terminal(self.graph[n].kind)) {
                continue;
            }
            for e in self.graph.edges_directed(n, Direction::Outgoing) {
                let t = e.target();
                if prev[t.index()].is_none() {
                    prev[t.index()] = Some((d + 1, Some(e.id())));
                    queue.push_back(t);
                }
            }
        }
        prev[to.index()]?;
        let mut edges = Vec::new();
        let mut cur = to;
        while let Some((_, Some(e))) = prev[cur.index()] {
            edges.push(e);
            cur = self.graph.edge_endpoints(e)?.0;
        }
        edges.reverse();
        Some(edges.into_iter().map(|e| self.step(e)).collect())
    }

    /// Every node reachable from `from` within `max_hops`, with its distance.
    pub fn reach(&self, from: NodeIndex, max_hops: u32) -> Vec<(NodeIndex, u32)> {
        let mut dist: Vec<Option<u32>> = vec![None; self.graph.node_count()];
        dist[from.index()] = Some(0);
        let mut queue = VecDeque::from([from]);
        let mut out = Vec::new();
        while let Some(n) = queue.pop_front() {
            let d = dist[n.index()].unwrap_or(0);
            if n != from {
                out.push((n, d));
            }
            if d >= max_hops || (n != from && is_terminal(self.graph[n].kind)) {
                continue;
            }
            for e in self.graph.edges_directed(n, Direction::Outgoing) {
                if dist[e.target().index()].is_none() {
                    dist[e.target().index()] = Some(d + 1);
                    queue.push_back(e.target());
                }
            }
        }
        out
    }
}

pub(crate) fn is_terminal(kind: NodeKind) -> bool {
    matches!(kind, NodeKind::ClusterAdmin | NodeKind::CloudAdmin)
}

/// How exposed an entry point is (internet > any authenticated user > named identity > workload).
pub(crate) fn exposure(kind: NodeKind, reference: &str) -> Option<f64> {
    Some(match kind {
        NodeKind::Internet => 1.0,
        NodeKind::Group if reference == "Group:system:unauthenticated" => 1.0,
        NodeKind::Group if reference == "Group:system:authenticated" => 0.8,
        NodeKind::User | NodeKind::Group | NodeKind::CloudPrincipal => 0.6,
        NodeKind::Workload | NodeKind::Segment => 0.5,
        NodeKind::ServiceAccount => 0.4,
        _ => return None,
    })
}

fn is_entry(g: &AttackGraph, i: NodeIndex) -> bool {
    g.graph[i].entry
}

fn severity_of(score: f64) -> Severity {
    match score {
        s if s >= 70.0 => Severity::Critical,
        s if s >= 45.0 => Severity::High,
        s if s >= 25.0 => Severity::Medium,
        _ => Severity::Low,
    }
}

pub(crate) fn path_id(cluster: &str, source: &str, target: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in cluster
        .bytes()
        .chain([0])
        .chain(source.bytes())
        .chain([0])
        .chain(target.bytes())
    {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("AP-{:012x}", h & 0xffff_ffff_ffff)
}

impl PathIndex<'_> {
    /// Every (entry, sink) pair that connects, shortest path each, best score first. Entries of
    /// other clusters count: they reach a sink only through a shared cloud identity. A path to
    /// a cloud account's admin belongs to the first cluster on it; cloud principals that are
    /// admins already are an inventory, not a path.
    pub fn attack_paths(&self) -> Vec<AttackPath> {
        let g = self.graph;
        let mut out = Vec::new();
        for ((key, sink), full) in &self.searches.distances {
            let direct = self
                .searches
                .direct
                .as_ref()
                .and_then(|m| m.get(&(key.clone(), *sink)));
            for i in g.graph.node_indices() {
                if !is_entry(g, i) {
                    continue;
                }
                let n = &g.graph[i];
                // The way that does not cross the network, else any (see `preferred_route`).
                let reached = |d: &Distances| d.next[i.index()].filter(|(hops, _)| *hops > 0);
                let (d, hops) = match direct.and_then(|x| reached(x).map(|(h, _)| (x, h))) {
                    Some(found) => found,
                    None => match reached(full) {
                        Some((h, _)) => (full, h),
                        None => continue,
                    },
                };
                if *sink == Sink::CloudAdmin && n.kind == NodeKind::CloudPrincipal {
                    continue;
                }
                let Some(edges) = d.walk(g, i) else {
                    continue;
                };
                // A workload whose way starts with the network is its segment's path: that
                // segment (every pod the policies treat alike) reports it once.
                if n.kind == NodeKind::Workload
                    && edges.first().is_some_and(|e| {
                        g.graph
                            .edge_endpoints(*e)
                            .is_some_and(|(_, t)| g.graph[t].kind == NodeKind::Segment)
                    })
                {
                    continue;
                }
                // A segment speaks for its members that have no way of their own but through
                // it; when none is left (a segment of the target alone), it reports nothing.
                if n.kind == NodeKind::Segment
                    && !g.graph.edges_directed(i, Direction::Incoming).any(|e| {
                        let m = e.source().index();
                        direct.is_none_or(|x| x.next[m].is_none())
                            && d.next[m] == Some((hops + 1, Some(e.id())))
                    })
                {
                    continue;
                }
                let cluster = if *sink == Sink::CloudAdmin {
                    match g.first_cluster(i, &edges) {
                        Some(c) => c,
                        None => continue,
                    }
                } else {
                    key.clone()
                };
                let Some(e) = exposure(n.kind, &n.reference) else {
                    continue;
                };
                // A path that is nothing but relations (an SA "reaching" a node through hubs) is
                // not an attack.
                if !edges.iter().any(|x| g.graph[*x].technique.is_attack()) {
                    continue;
                }
                let sink_name = (*sink != Sink::CloudAdmin).then(|| sink.as_str());
                out.push(g.path_object(&cluster, sink_name, sink.criticality(), i, &edges, e));
            }
        }
        sort_paths(&mut out);
        fold_suffixes(out)
    }

    /// Every sink a node can reach, in any cluster or cloud account: (cluster, or the account's
    /// key for [`Sink::CloudAdmin`]; sink; fewest hops), in that order.
    pub fn reach_everywhere(&self, node: NodeIndex) -> Vec<(String, Sink, u32)> {
        self.searches
            .distances
            .iter()
            .filter_map(|((c, sink), d)| match d.next[node.index()] {
                Some((hops, _)) if hops > 0 => Some((c.clone(), *sink, hops)),
                _ => None,
            })
            .collect()
    }

    /// Every search the report's paths are walked in: (cluster or the account's key, sink),
    /// the search through every edge, and the one that does not cross the network between pods
    /// when the graph has network segments (see [`AttackGraph::preferred_route`]).
    pub(crate) fn searches(
        &self,
    ) -> impl Iterator<Item = (&(String, Sink), &Distances, Option<&Distances>)> + '_ {
        self.searches.distances.iter().map(|(k, full)| {
            (
                k,
                full,
                self.searches.direct.as_ref().and_then(|m| m.get(k)),
            )
        })
    }

    /// What a node can reach, per sink, in hops.
    pub fn blast_radius(&self, cluster: &str, node: NodeIndex) -> BlastRadius {
        let mut reaches = BTreeMap::new();
        for ((c, sink), d) in &self.searches.distances {
            if c != cluster && *sink != Sink::CloudAdmin {
                continue;
            }
            if let Some((hops, _)) = d.next[node.index()] {
                if hops > 0 {
                    let e = reaches.entry(sink.as_str().to_string()).or_insert(hops);
                    *e = (*e).min(hops);
                }
            }
        }
        BlastRadius { reaches }
    }
}

/// Orders paths as reports list them: best score first, then cluster, fewest hops, source and
/// target.
pub(crate) fn sort_paths(paths: &mut [AttackPath]) {
    paths.sort_by(|a, b| {
        b.score
            .partial_cmp(&a.score)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.cluster.cmp(&b.cluster))
            .then_with(|| a.steps.len().cmp(&b.steps.len()))
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.target.cmp(&b.target))
    });
}

/// Folds every path that is an exact suffix (same nodes and techniques from some node on, same
/// cluster and sink) of a path ranked before it into the first such path, keeping the order;
/// and every path from a network segment whose way after its first hop is that of a path from
/// another segment ranked before it (the same destination reached from several segments).
pub(crate) fn fold_suffixes(paths: Vec<AttackPath>) -> Vec<AttackPath> {
    let mut out: Vec<AttackPath> = Vec::with_capacity(paths.len());
    let mut by_suffix: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut by_way: HashMap<u64, usize> = HashMap::new();
    for p in paths {
        let container = by_suffix
            .get(&suffix_hash(&p, 0))
            .and_then(|c| c.iter().copied().find(|i| is_suffix(&p, &out[*i])));
        if let Some(i) = container {
            out[i].folded.push(FoldedPath {
                id: p.id,
                source: p.source,
                severity: p.severity,
                score: p.score,
                via: None,
            });
            continue;
        }
        let way = network_way(&p);
        if let Some(i) = way.and_then(|h| by_way.get(&h).copied()) {
            if same_way(&p, &out[i]) {
                let via = p.steps.first().cloned();
                out[i].folded.push(FoldedPath {
                    id: p.id,
                    source: p.source,
                    severity: p.severity,
                    score: p.score,
                    via,
                });
                continue;
            }
        }
        let i = out.len();
        for k in 1..p.steps.len() {
            by_suffix.entry(suffix_hash(&p, k)).or_default().push(i);
        }
        if let Some(h) = way {
            by_way.entry(h).or_insert(i);
        }
        out.push(p);
    }
    out
}

/// For a path whose first hop is a segment's [`super::Technique::NETWORK_REACH`]: the hash of
/// its cluster, sink and hops after that one.
fn network_way(p: &AttackPath) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    if p.steps.first()?.technique != "NETWORK_REACH" || p.steps.len() < 2 {
        return None;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    p.target.hash(&mut h);
    p.steps[0].to.hash(&mut h);
    Some(suffix_hash(p, 1) ^ h.finish())
}

/// Whether two segment paths take the same way after their first hop.
fn same_way(a: &AttackPath, b: &AttackPath) -> bool {
    a.cluster == b.cluster
        && a.target == b.target
        && a.steps.len() == b.steps.len()
        && b.steps
            .first()
            .is_some_and(|s| s.technique == "NETWORK_REACH")
        && a.steps[1..]
            .iter()
            .zip(&b.steps[1..])
            .all(|(x, y)| x.from == y.from && x.to == y.to && x.technique == y.technique)
}

/// Hash of a path's cluster and its hops from step `k` on.
fn suffix_hash(p: &AttackPath, k: usize) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    p.cluster.hash(&mut h);
    for s in &p.steps[k..] {
        (&s.from, &s.to, &s.technique).hash(&mut h);
    }
    h.finish()
}

/// Whether `short` is a proper suffix of `long` (same cluster, the same hops at the end).
fn is_suffix(short: &AttackPath, long: &AttackPath) -> bool {
    short.cluster == long.cluster
        && short.steps.len() < long.steps.len()
        && short
            .steps
            .iter()
            .rev()
            .zip(long.steps.iter().rev())
            .all(|(a, b)| a.from == b.from && a.to == b.to && a.technique == b.technique)
}

/// Nodes and edges a reverse search leaves out (by index: the search asks at every edge).
#[derive(Default)]
pub(crate) struct Mask {
    /// Nodes never passed through.
    nodes: Vec<bool>,
    /// Edges never taken.
    edges: Vec<bool>,
    /// Whether some node is left out.
    any_node: bool,
}

impl Mask {
    /// Leaves a node out.
    pub(crate) fn leave_node(&mut self, n: NodeIndex) {
        set(&mut self.nodes, n.index());
        self.any_node = true;
    }

    /// Leaves an edge out.
    pub(crate) fn leave_edge(&mut self, e: EdgeIndex) {
        set(&mut self.edges, e.index());
    }

    /// Whether some node is left out.
    fn leaves_nodes(&self) -> bool {
        self.any_node
    }

    fn left_out(&self, n: NodeIndex, e: EdgeIndex) -> bool {
        self.nodes.get(n.index()).copied().unwrap_or(false)
            || self.edges.get(e.index()).copied().unwrap_or(false)
    }
}

fn set(bits: &mut Vec<bool>, i: usize) {
    if bits.len() <= i {
        bits.resize(i + 1, false);
    }
    bits[i] = true;
}

impl Distances {
    /// A node's first step on its chosen way: `None` when it cannot reach the search's targets,
    /// `Some(None)` at a target, `Some(Some(edge))` otherwise.
    pub(crate) fn first_step(&self, n: NodeIndex) -> Option<Option<EdgeIndex>> {
        self.next.get(n.index()).copied().flatten().map(|(_, e)| e)
    }

    /// The edges of the chosen way from `from` to the search's targets (empty at a target).
    pub(crate) fn walk(&self, g: &AttackGraph, from: NodeIndex) -> Option<Vec<EdgeIndex>> {
        let mut out = Vec::new();
        let mut cur = from;
        loop {
            match self.next[cur.index()]? {
                (_, None) => return Some(out),
                (_, Some(e)) => {
                    out.push(e);
                    cur = g.graph.edge_endpoints(e)?.1;
                }
            }
        }
    }
}

/// Techniques used by a path (for tests and summaries).
pub fn techniques(path: &AttackPath) -> Vec<&str> {
    path.steps
        .iter()
        .map(|s| s.technique.as_str())
        .filter(|t| *t != "INCLUDES" && *t != "MEMBER_OF")
        .collect()
}

/// Whether a technique ID is known.
pub fn is_technique(id: &str) -> bool {
    super::techniques::CATALOGUE.iter().any(|t| t.id.id() == id)
}

/// A path node as [`PathIndex::reference_in`] wrote it, split: `[B] ServiceAccount:ns/sa` is
/// (`Some("B")`, `ServiceAccount:ns/sa`), a node of the path's own cluster (`None`, itself).
pub fn split_reference(node: &str) -> (Option<&str>, &str) {
    node.strip_prefix('[')
        .and_then(|rest| rest.split_once("] "))
        .map_or((None, node), |(c, r)| (Some(c), r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(from: &str, to: &str) -> Step {
        Step {
            from: from.into(),
            to: to.into(),
            technique: "T".into(),
            evidence: String::new(),
        }
    }

    fn folded(id: &str, source: &str, via: Option<Step>) -> FoldedPath {
        FoldedPath {
            id: id.into(),
            source: source.into(),
            severity: Severity::High,
            score: 1.0,
            via,
        }
    }

    /// a → b → c → d, with four paths folded in: from b (a suffix), via a segment into c, from
    /// a node it does not hold, and via a hop into a node it does not hold.
    fn container() -> AttackPath {
        AttackPath {
            id: "P".into(),
            cluster: "c1".into(),
            source: "a".into(),
            target: "d".into(),
            severity: Severity::Critical,
            score: 2.0,
            nodes: ["a", "b", "c", "d"].map(String::from).to_vec(),
            steps: vec![step("a", "b"), step("b", "c"), step("c", "d")],
            folded: vec![
                folded("F1", "b", None),
                folded("F2", "s", Some(step("s", "c"))),
                folded("F3", "x", None),
                folded("F4", "s", Some(step("s", "y"))),
            ],
        }
    }

    #[test]
    fn a_folded_path_is_rebuilt_from_where_it_joins() {
        let p = container();
        let f1 = p.unfolded(&p.folded[0]).expect("holds b");
        assert_eq!(f1.nodes, ["b", "c", "d"]);
        assert_eq!(f1.steps.len(), 2);
        assert_eq!((f1.id.as_str(), f1.severity), ("F1", Severity::High));
        let f2 = p.unfolded(&p.folded[1]).expect("holds c");
        assert_eq!(f2.nodes, ["s", "c", "d"]);
        assert_eq!(f2.steps[0].from, "s");
        assert_eq!(f2.steps[1].from, "c");
        // Neither the entry point nor the hop's end is on the path: nothing to rebuild.
        assert!(p.unfolded(&p.folded[2]).is_none());
        assert!(p.unfolded(&p.folded[3]).is_none());
    }

    #[test]
    fn unfoldable_names_exactly_what_unfold_rebuilds() {
        let p = container();
        let ids: Vec<&str> = p.unfoldable().map(|f| f.id.as_str()).collect();
        let rebuilt: Vec<String> = p.unfold().into_iter().map(|u| u.id).collect();
        assert_eq!(ids, rebuilt);
        assert_eq!(ids, ["F1", "F2"]);
        let all: Vec<String> = p.with_folded().into_iter().map(|u| u.id).collect();
        assert_eq!(all, ["P", "F1", "F2"]);
        assert!(p.without_folded().folded.is_empty());
        assert_eq!(p.without_folded().nodes, p.nodes);
    }
}
