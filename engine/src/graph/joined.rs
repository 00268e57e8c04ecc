//! A graph joined from parts that can be taken out again: every node, entry mark and edge
//! counts the parts that contribute it, so replacing one namespace's part of a cluster's graph
//! costs the size of that part, not of the cluster.

use super::{AttackGraph, Drawing, Technique};
use hashbrown::HashMap;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;

type EdgeKey = (NodeIndex, NodeIndex, Technique);

/// The union of part graphs, patched part by part (see [`Joined::add`], [`Joined::remove`]).
#[derive(Debug, Default)]
pub struct Joined {
    graph: AttackGraph,
    node_uses: Vec<u32>,
    entry_uses: Vec<u32>,
    edge_uses: HashMap<EdgeKey, Uses>,
}

/// The parts that contribute one edge: how many with the evidence the graph shows, and the
/// evidence of the others with their counts, in the order they came. (Parts agree on an edge's
/// evidence once each is evaluated on the same facts; between two of their updates they may
/// not, and the evidence shown must then follow the parts that remain.)
#[derive(Debug, Default)]
struct Uses {
    shown: u32,
    others: Vec<(String, u32)>,
}

impl Joined {
    /// The joined graph.
    pub fn graph(&self) -> &AttackGraph {
        &self.graph
    }

    /// Adds a part. An edge another part already contributes keeps that part's evidence (until
    /// every part that gave it is taken out).
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
            let key = (a, b, e.weight.technique);
            let evidence = e.weight.evidence.as_str();
            match self.edge_uses.get_mut(&key) {
                None => {
                    self.edge_uses.insert(
                        key,
                        Uses {
                            shown: 1,
                            others: Vec::new(),
                        },
                    );
                    self.graph.edge(a, b, key.2, evidence);
                }
                Some(uses) => {
                    let id = self.graph.edge_id(key);
                    if id.is_some_and(|i| self.graph.graph[i].evidence == evidence) {
                        uses.shown += 1;
                    } else if let Some(other) = uses.others.iter_mut().find(|(x, _)| x == evidence)
                    {
                        other.1 += 1;
                    } else {
                        uses.others.push((evidence.to_string(), 1));
                    }
                }
            }
        }
    }

    /// Replaces a part added before (`old`) with its new version, touching only the nodes,
    /// entry marks and edges (by evidence too) that differ: the cost of the change, not of the
    /// part.
    pub fn replace(&mut self, old: &AttackGraph, new: &AttackGraph) {
        let (removed, added, kept) = delta(old, new);
        // The nodes both versions have are held while the removal counts them down, so they
        // (and the edges at them that did not change) never leave.
        self.add(&kept);
        self.remove(&removed);
        self.add(&added);
        self.remove(&kept);
    }

    /// Replaces the network reach drawn as pieces (`old`, each piece a part) with `new`: only
    /// the pieces that differ are added and taken out ([`Drawing::changes`]), added first so
    /// that nothing both have leaves the graph meanwhile.
    pub fn redraw(&mut self, old: &Drawing, new: &Drawing, cluster: &str) {
        let (out, into) = old.changes(new, cluster);
        for piece in &into {
            self.add(piece);
        }
        for piece in &out {
            self.remove(piece);
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
            let evidence = e.weight.evidence.as_str();
            let id = self.graph.edge_id(key);
            let shown = id.is_some_and(|i| self.graph.graph[i].evidence == evidence);
            match uses.others.iter().position(|(x, _)| x == evidence) {
                Some(i) if !shown => {
                    uses.others[i].1 -= 1;
                    if uses.others[i].1 == 0 {
                        uses.others.remove(i);
                    }
                }
                _ => uses.shown = uses.shown.saturating_sub(1),
            }
            if uses.shown == 0 && !uses.others.is_empty() {
                // The parts that gave the evidence shown are gone: the earliest other's shows.
                let (evidence, count) = uses.others.remove(0);
                uses.shown = count;
                if let Some(i) = id {
                    self.graph.graph[i].evidence = evidence;
                }
            }
            if uses.shown == 0 {
                self.edge_uses.remove(&key);
                self.graph.edges.remove(&key);
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

/// A node's identity across graphs.
type NodeKey<'a> = (Option<&'a str>, &'a str);

/// An edge's identity and evidence across graphs.
type EdgeFacts<'a> = (NodeKey<'a>, NodeKey<'a>, Technique, &'a str);

fn edge_facts(g: &AttackGraph) -> HashMap<EdgeFacts<'_>, (NodeIndex, NodeIndex)> {
    g.graph
        .edge_references()
        .map(|e| {
            let (a, b) = (&g.graph[e.source()], &g.graph[e.target()]);
            (
                (
                    (a.cluster.as_deref(), a.reference.as_str()),
                    (b.cluster.as_deref(), b.reference.as_str()),
                    e.weight().technique,
                    e.weight().evidence.as_str(),
                ),
                (e.source(), e.target()),
            )
        })
        .collect()
}

/// What [`Joined::replace`] takes out and puts in: the edges only one version has (with their
/// ends), the nodes only one has or whose entry mark changed; a node of both versions that
/// either side touches is in both (so its count is unchanged) and held meanwhile (the third
/// graph: those nodes alone, unmarked).
fn delta(old: &AttackGraph, new: &AttackGraph) -> (AttackGraph, AttackGraph, AttackGraph) {
    let (old_edges, new_edges) = (edge_facts(old), edge_facts(new));
    let mut removed = AttackGraph::default();
    let mut added = AttackGraph::default();
    let copy = |into: &mut AttackGraph, from: &AttackGraph, i: NodeIndex| {
        let w = &from.graph[i];
        let n = into.node(w.cluster.as_deref(), &w.reference, w.kind);
        if w.entry {
            into.mark_entry(n);
        }
        n
    };
    for (k, (a, b)) in &old_edges {
        if !new_edges.contains_key(k) {
            let (x, y) = (copy(&mut removed, old, *a), copy(&mut removed, old, *b));
            removed.edge(x, y, k.2, k.3);
        }
    }
    for (k, (a, b)) in &new_edges {
        if !old_edges.contains_key(k) {
            let (x, y) = (copy(&mut added, new, *a), copy(&mut added, new, *b));
            added.edge(x, y, k.2, k.3);
        }
    }
    for i in old.graph.node_indices() {
        let w = &old.graph[i];
        match new.find(w.cluster.as_deref(), &w.reference) {
            None => {
                copy(&mut removed, old, i);
            }
            Some(j) if new.graph[j].entry != w.entry => {
                copy(&mut removed, old, i);
                copy(&mut added, new, j);
            }
            Some(_) => {}
        }
    }
    for j in new.graph.node_indices() {
        let w = &new.graph[j];
        if old.find(w.cluster.as_deref(), &w.reference).is_none() {
            copy(&mut added, new, j);
        }
    }
    // Nodes of both versions that either side touches are counted down once and up once (and
    // held meanwhile), so their count does not change.
    let touched: Vec<(Option<String>, String)> = removed
        .graph
        .node_weights()
        .chain(added.graph.node_weights())
        .map(|w| (w.cluster.clone(), w.reference.clone()))
        .collect();
    let mut kept = AttackGraph::default();
    for (c, r) in touched {
        if let (Some(i), Some(j)) = (old.find(c.as_deref(), &r), new.find(c.as_deref(), &r)) {
            copy(&mut removed, old, i);
            copy(&mut added, new, j);
            let w = &new.graph[j];
            kept.node(w.cluster.as_deref(), &w.reference, w.kind);
        }
    }
    (removed, added, kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::NodeKind;

    fn graph(edges: &[(&str, &str, &str)], entries: &[&str]) -> AttackGraph {
        let mut g = AttackGraph::default();
        for (a, b, ev) in edges {
            let x = g.node(Some("c"), a, NodeKind::Hub);
            let y = g.node(Some("c"), b, NodeKind::Hub);
            g.edge(x, y, Technique::INCLUDES, *ev);
        }
        for e in entries {
            let x = g.node(Some("c"), e, NodeKind::Hub);
            g.mark_entry(x);
        }
        g
    }

    /// Nodes with their entry mark, and edges with their evidence, sorted.
    type Facts = (Vec<(String, bool)>, Vec<(String, String, String)>);

    fn facts(j: &Joined) -> Facts {
        let g = &j.graph().graph;
        let mut nodes: Vec<(String, bool)> = g
            .node_weights()
            .map(|w| (w.reference.clone(), w.entry))
            .collect();
        nodes.sort();
        let mut edges: Vec<(String, String, String)> = g
            .edge_references()
            .map(|e| {
                (
                    g[e.source()].reference.clone(),
                    g[e.target()].reference.clone(),
                    e.weight().evidence.clone(),
                )
            })
            .collect();
        edges.sort();
        (nodes, edges)
    }

    /// Random parts over a few nodes: replacing equals joining afresh, every time.
    #[test]
    fn replace_equals_a_fresh_join_at_random() {
        let mut seed: u64 = 7;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let names = ["a", "b", "c", "d", "e", "f"];
        let random = |next: &mut dyn FnMut(u64) -> u64| {
            let mut edges = Vec::new();
            for _ in 0..next(8) {
                let (x, y) = (next(6) as usize, next(6) as usize);
                let ev = ["1", "2"][next(2) as usize];
                edges.push((names[x], names[y], ev));
            }
            let entries: Vec<&str> = (0..next(3)).map(|_| names[next(6) as usize]).collect();
            graph(&edges, &entries)
        };
        for _ in 0..500 {
            let other = random(&mut next);
            let mut old = random(&mut next);
            let mut patched = Joined::default();
            patched.add(&other);
            patched.add(&old);
            for _ in 0..4 {
                let new = random(&mut next);
                patched.replace(&old, &new);
                let mut fresh = Joined::default();
                fresh.add(&other);
                fresh.add(&new);
                assert_eq!(facts(&patched).0, facts(&fresh).0, "nodes");
                assert_eq!(facts(&patched).1, facts(&fresh).1, "edges");
                old = new;
            }
        }
    }

    /// Two parts give one edge, and each is replaced in turn with a new evidence for it: once
    /// both are, the edge shows the new evidence (the evidence follows the parts that remain),
    /// and taking one out leaves the other's.
    #[test]
    fn evidence_follows_the_parts_that_give_the_edge() {
        let (a, b) = (
            graph(&[("s", "t", "old")], &[]),
            graph(&[("s", "t", "old")], &[]),
        );
        let (a2, b2) = (
            graph(&[("s", "t", "new")], &[]),
            graph(&[("s", "t", "new")], &[]),
        );
        let mut joined = Joined::default();
        joined.add(&a);
        joined.add(&b);
        joined.replace(&a, &a2);
        // Negative: while `b` still gives the old evidence, it stays.
        assert_eq!(facts(&joined).1[0].2, "old");
        joined.replace(&b, &b2);
        let mut fresh = Joined::default();
        fresh.add(&a2);
        fresh.add(&b2);
        assert_eq!(facts(&joined), facts(&fresh));
        // Taken out and put in part by part.
        joined.remove(&a2);
        joined.add(&a);
        joined.remove(&b2);
        assert_eq!(facts(&joined).1, [("s".into(), "t".into(), "old".into())]);
        joined.remove(&a);
        assert!(facts(&joined).1.is_empty());
    }

    /// Replacing a part by its difference gives the graph adding the new part would.
    #[test]
    fn replace_equals_a_fresh_join() {
        let other = graph(&[("w1", "e1", "x"), ("w2", "e2", "x")], &["w1"]);
        let cases = [
            (
                graph(
                    &[("w1", "n1", "m"), ("n1", "p1", "r"), ("p1", "e1", "i")],
                    &["n1"],
                ),
                graph(
                    &[("w1", "n2", "m"), ("n2", "p1", "r"), ("p1", "e1", "i2")],
                    &["n2"],
                ),
            ),
            (
                graph(
                    &[
                        ("w1", "n1", "m"),
                        ("w2", "n1", "m"),
                        ("n1", "p1", "r"),
                        ("p1", "e2", "i"),
                    ],
                    &["n1"],
                ),
                graph(&[("w1", "n1", "m"), ("n1", "p1", "r")], &[]),
            ),
            (
                graph(
                    &[("w1", "n1", "m"), ("n1", "p1", "r"), ("p1", "e1", "i")],
                    &["n1"],
                ),
                graph(
                    &[
                        ("w1", "n1", "m"),
                        ("n1", "p2", "r"),
                        ("p2", "e1", "i"),
                        ("p2", "e2", "i"),
                    ],
                    &["n1", "w2"],
                ),
            ),
        ];
        for (old, new) in cases {
            let mut patched = Joined::default();
            patched.add(&other);
            patched.add(&old);
            patched.replace(&old, &new);
            let mut fresh = Joined::default();
            fresh.add(&other);
            fresh.add(&new);
            assert_eq!(facts(&patched), facts(&fresh));
            // And back.
            patched.replace(&new, &old);
            let mut back = Joined::default();
            back.add(&other);
            back.add(&old);
            assert_eq!(facts(&patched), facts(&back));
        }
    }
}
