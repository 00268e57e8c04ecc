//! A graph joined from parts that can be taken out again: every node, entry mark and edge
//! counts the parts that contribute it, so replacing one namespace's part of a cluster's graph
//! costs the size of that part, not of the cluster.

use super::{AttackGraph, Drawing, GraphNode, Technique};
use hashbrown::HashMap;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use std::hash::{Hash, Hasher};

type EdgeKey = (NodeIndex, NodeIndex, Technique);

/// The union of part graphs, patched part by part (see [`Joined::add`], [`Joined::remove`]).
#[derive(Debug, Default)]
pub struct Joined {
    graph: AttackGraph,
    node_uses: Vec<u32>,
    entry_uses: Vec<u32>,
    edge_uses: HashMap<EdgeKey, Uses>,
    /// [`Joined::signature`], kept as parts come and go.
    signature: u64,
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

    /// What the joined graph holds, as one number: the same nodes (with their entry marks) and
    /// edges (with the evidence shown) give the same number, however the parts came and went
    /// ([`signature_of`] of [`Joined::graph`]); kept as parts are added and taken out, so a
    /// caller learns whether the graph changed without comparing it.
    pub fn signature(&self) -> u64 {
        self.signature
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
                self.signature = self.signature.wrapping_add(node_hash(w));
            }
            self.node_uses[i.index()] += 1;
            if w.entry {
                if self.entry_uses[i.index()] == 0 {
                    self.signature = self.signature.wrapping_add(entry_hash(w));
                }
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
                    let h = key_hash(&self.graph, key, evidence);
                    self.signature = self.signature.wrapping_add(h);
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
        if drawn_alike(old, new) {
            return;
        }
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
                    let old = std::mem::replace(&mut self.graph.graph[i].evidence, evidence);
                    let (gone, shown) = (
                        key_hash(&self.graph, key, &old),
                        key_hash(&self.graph, key, &self.graph.graph[i].evidence),
                    );
                    self.signature = self.signature.wrapping_sub(gone).wrapping_add(shown);
                }
            }
            if uses.shown == 0 {
                self.edge_uses.remove(&key);
                self.graph.edges.remove(&key);
                if let Some(id) = id {
                    let gone = key_hash(&self.graph, key, &self.graph.graph[id].evidence);
                    self.signature = self.signature.wrapping_sub(gone);
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
                    self.signature = self.signature.wrapping_sub(entry_hash(w));
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
            if let Some(id) = self.graph.edge_id(k) {
                let gone = key_hash(&self.graph, k, &self.graph.graph[id].evidence);
                self.signature = self.signature.wrapping_sub(gone);
            }
            self.graph.edges.remove(&k);
            self.edge_uses.remove(&k);
        }
        let Some(w) = self.graph.graph.remove_node(i) else {
            return;
        };
        self.signature = self.signature.wrapping_sub(node_hash(&w));
        if w.entry {
            self.signature = self.signature.wrapping_sub(entry_hash(&w));
        }
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

/// The hash an edge of `g` adds to the signature, with the evidence `evidence`.
fn key_hash(g: &AttackGraph, (a, b, technique): EdgeKey, evidence: &str) -> u64 {
    edge_hash(&g.graph[a], &g.graph[b], technique, evidence)
}

/// A deterministic hash of `value` (the same in every run of one build).
fn hash_of(value: impl Hash) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn node_hash(w: &GraphNode) -> u64 {
    hash_of((0u8, &w.cluster, &w.reference, w.kind))
}

fn entry_hash(w: &GraphNode) -> u64 {
    hash_of((1u8, &w.cluster, &w.reference))
}

fn edge_hash(a: &GraphNode, b: &GraphNode, technique: Technique, evidence: &str) -> u64 {
    hash_of((
        2u8,
        &a.cluster,
        &a.reference,
        &b.cluster,
        &b.reference,
        technique,
        evidence,
    ))
}

/// The signature ([`Joined::signature`]) of a graph's nodes, entry marks and edges: the sum of
/// their hashes, so that it does not depend on their order.
pub fn signature_of(g: &AttackGraph) -> u64 {
    let nodes = g.graph.node_weights().fold(0u64, |s, w| {
        let s = s.wrapping_add(node_hash(w));
        if w.entry {
            s.wrapping_add(entry_hash(w))
        } else {
            s
        }
    });
    g.graph.edge_references().fold(nodes, |s, e| {
        let (a, b) = (&g.graph[e.source()], &g.graph[e.target()]);
        s.wrapping_add(edge_hash(a, b, e.weight().technique, &e.weight().evidence))
    })
}

/// Whether `a` and `b` hold what a part gives [`Joined`] — nodes with their entry marks, edges
/// with their evidence — in the same order: a part built again from what it read before comes
/// out so, and replacing it then changes nothing. Read in order, without the hashing of
/// [`delta`] (which finds the same for graphs alike in another order).
fn drawn_alike(a: &AttackGraph, b: &AttackGraph) -> bool {
    a.graph.node_count() == b.graph.node_count()
        && a.graph.edge_count() == b.graph.edge_count()
        && a.graph
            .node_weights()
            .zip(b.graph.node_weights())
            .all(|(x, y)| {
                x.entry == y.entry
                    && x.kind == y.kind
                    && x.reference == y.reference
                    && x.cluster == y.cluster
            })
        && a.graph
            .raw_edges()
            .iter()
            .zip(b.graph.raw_edges())
            .all(|(e, f)| {
                e.source() == f.source()
                    && e.target() == f.target()
                    && e.weight.technique == f.weight.technique
                    && e.weight.evidence == f.weight.evidence
            })
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
        type Drawn<'n> = (Vec<(&'n str, &'n str, &'n str)>, Vec<&'n str>);
        let random = |next: &mut dyn FnMut(u64) -> u64| -> Drawn<'_> {
            let mut edges = Vec::new();
            for _ in 0..next(8) {
                let (x, y) = (next(6) as usize, next(6) as usize);
                let ev = ["1", "2"][next(2) as usize];
                edges.push((names[x], names[y], ev));
            }
            let entries: Vec<&str> = (0..next(3)).map(|_| names[next(6) as usize]).collect();
            (edges, entries)
        };
        for _ in 0..500 {
            let other = random(&mut next);
            let mut old = random(&mut next);
            let mut patched = Joined::default();
            patched.add(&graph(&other.0, &other.1));
            patched.add(&graph(&old.0, &old.1));
            for _ in 0..4 {
                // A part built again as it was (drawn alike), or but for one edge's evidence or
                // one entry mark (the same order, not alike), or another.
                let new = match next(4) {
                    0 => old.clone(),
                    1 if !old.0.is_empty() => {
                        let mut new = old.clone();
                        let at = next(new.0.len() as u64) as usize;
                        new.0[at].2 = if new.0[at].2 == "1" { "2" } else { "1" };
                        new
                    }
                    2 => {
                        let mut new = old.clone();
                        new.1.push(names[next(6) as usize]);
                        new
                    }
                    _ => random(&mut next),
                };
                patched.replace(&graph(&old.0, &old.1), &graph(&new.0, &new.1));
                let new_graph = graph(&new.0, &new.1);
                let mut fresh = Joined::default();
                fresh.add(&graph(&other.0, &other.1));
                fresh.add(&new_graph);
                assert_eq!(facts(&patched).0, facts(&fresh).0, "nodes");
                assert_eq!(facts(&patched).1, facts(&fresh).1, "edges");
                // The signature kept through the replacements is the graph's own.
                assert_eq!(patched.signature(), signature_of(patched.graph()));
                assert_eq!(patched.signature(), fresh.signature());
                old = new;
            }
        }
    }

    /// A part built again from the same input is drawn alike, and replacing it is skipped; the
    /// same nodes and edges in the same order with one evidence, entry mark or edge otherwise
    /// are not.
    #[test]
    fn parts_built_again_alike_are_told_from_changed_ones() {
        let edges = [("a", "b", "1"), ("b", "c", "2"), ("a", "c", "1")];
        let part = graph(&edges, &["a"]);
        assert!(drawn_alike(&part, &graph(&edges, &["a"])));
        assert!(!drawn_alike(&part, &graph(&edges, &["b"])));
        assert!(!drawn_alike(&part, &graph(&edges, &[])));
        let evidence = [("a", "b", "1"), ("b", "c", "1"), ("a", "c", "1")];
        assert!(!drawn_alike(&part, &graph(&evidence, &["a"])));
        assert!(!drawn_alike(&part, &graph(&edges[..2], &["a"])));
        // The same in another order is not drawn alike (the delta finds it the same).
        let reordered = [("a", "c", "1"), ("a", "b", "1"), ("b", "c", "2")];
        assert!(!drawn_alike(&part, &graph(&reordered, &["a"])));
        let mut joined = Joined::default();
        joined.add(&part);
        let before = joined.signature();
        joined.replace(&part, &graph(&reordered, &["a"]));
        assert_eq!(joined.signature(), before);
    }

    /// The signature tells a changed graph from an unchanged one: an entry mark, an edge's
    /// evidence, a node or an edge makes a difference; the order parts came in makes none, and
    /// taking every part out comes back to the empty graph's.
    #[test]
    fn the_signature_follows_what_the_graph_holds() {
        let base = graph(&[("s", "t", "1"), ("t", "u", "1")], &["s"]);
        let sig = |parts: &[&AttackGraph]| {
            let mut j = Joined::default();
            for p in parts {
                j.add(p);
            }
            assert_eq!(j.signature(), signature_of(j.graph()));
            j.signature()
        };
        let other = graph(&[("u", "v", "1")], &[]);
        assert_eq!(sig(&[&base, &other]), sig(&[&other, &base]));
        assert_eq!(sig(&[&base, &base]), sig(&[&base]), "counted once");
        for changed in [
            graph(&[("s", "t", "1"), ("t", "u", "1")], &[]),
            graph(&[("s", "t", "1"), ("t", "u", "2")], &["s"]),
            graph(&[("s", "t", "1")], &["s", "u"]),
            graph(&[("s", "t", "1"), ("t", "u", "1"), ("u", "s", "1")], &["s"]),
        ] {
            assert_ne!(sig(&[&changed]), sig(&[&base]));
        }
        let mut j = Joined::default();
        j.add(&base);
        j.add(&other);
        j.remove(&base);
        assert_eq!(j.signature(), sig(&[&other]));
        j.remove(&other);
        assert_eq!(j.signature(), 0);
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
        assert_eq!(
            joined.signature(),
            fresh.signature(),
            "the evidence shown counts"
        );
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
