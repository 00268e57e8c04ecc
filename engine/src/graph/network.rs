//! Pod-to-pod network reach on the graph, by the NetworkPolicies ([`crate::netpol`]).
//!
//! Each workload is a member of its segment (`Network:<segment>`, pods every policy treats
//! alike); a segment is an entry point — a foothold in any of its pods — and reaches, by
//! [`Technique::NETWORK_REACH`], the listening ports of the segments its pods may connect to
//! (`Ports:<segment>`), which include each listening workload's `Endpoint:`. Running code there
//! stays the explicit, assumed [`Technique::ENDPOINT_EXPLOIT`]. Segments whose egress no policy
//! isolates reach every segment whose ingress no policy isolates through one hub
//! ([`OPEN_PORTS`]), so a cluster without policies adds two edges per workload, not one per
//! pair.
//!
//! What reach draws is a [`Drawing`], fact by fact: each segment's head (its node and open
//! edges), each of its links and each member's edges. [`AttackGraph::network_reach`] draws all
//! of it; the incremental engine draws only the facts that differ between two reaches
//! ([`Drawing::changes`]), so a workload added to a segment of thousands costs its own edges,
//! not the segment's, and a destination closed to one source costs that one link.

use super::{AttackGraph, NodeKind, Technique as T};
use crate::netpol::{Decided, Link, Member, Model};
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The hub of the listening ports of every pod no policy isolates for ingress.
pub const OPEN_PORTS: &str = "Ports:(no ingress policy)";

impl AttackGraph {
    /// Adds the network reach between one cluster's workloads (see the module docs).
    pub fn network_reach<M: Borrow<Arc<Member>>>(
        &mut self,
        cluster: &str,
        model: &Model,
        members: &[M],
    ) {
        Drawing::of(model, members).draw(self, cluster);
    }
}

/// What network reach draws for one cluster (see the module docs): its segments in the order
/// the reach decides them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Drawing {
    segments: Vec<(String, SegmentFacts)>,
}

/// One segment's facts.
#[derive(Debug, Clone, PartialEq)]
struct SegmentFacts {
    /// Its members, in reference order.
    members: Vec<Drawn>,
    /// What it draws beside its members.
    own: SegmentEdges,
}

/// A member as a drawing holds it: shared with the part it comes from (so a member drawn again
/// is told from the one drawn before by a pointer, mostly), drawn and compared by its workload
/// reference and the ports its pods listen on alone.
#[derive(Clone)]
struct Drawn(Arc<Member>);

impl Drawn {
    /// What is drawn of it: (workload reference, the ports its pods listen on).
    fn fact(&self) -> (&str, &[(u16, String)]) {
        (&self.0.pods.reference, &self.0.listens)
    }
}

impl std::fmt::Debug for Drawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.fact().fmt(f)
    }
}

impl Ord for Drawn {
    fn cmp(&self, other: &Self) -> Ordering {
        if Arc::ptr_eq(&self.0, &other.0) {
            Ordering::Equal
        } else {
            self.fact().cmp(&other.fact())
        }
    }
}

impl PartialOrd for Drawn {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Drawn {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for Drawn {}

/// A segment's node and its edges other than its members'.
#[derive(Debug, Clone, PartialEq)]
struct SegmentEdges {
    /// `OPEN_PORTS → Ports:<segment>`: no policy isolates its ingress, and it listens.
    open_ingress: bool,
    /// `Network:<segment> → OPEN_PORTS`, with its evidence: no policy isolates its egress (and
    /// some segment is open to it).
    open_egress: Option<String>,
    /// `Network:<segment> → Ports:<destination>`, in the reach's order: the segment's row of
    /// links, shared with the reach's (a row the reach gives again is the same row, so telling
    /// two drawings' rows apart mostly costs a pointer comparison).
    links: Arc<[Link]>,
}

/// A piece of a [`Drawing`] that the incremental engine adds to or takes from a joined graph as
/// one part: a segment's head (its node and open edges), one of its links, or one member's
/// edges.
pub type Piece = AttackGraph;

impl Drawing {
    /// Segments the members under the policies and decides the links (see the module docs).
    pub fn of<M: Borrow<Arc<Member>>>(model: &Model, members: &[M]) -> Drawing {
        Drawing::of_with(model, members, &mut Decided::default())
    }

    /// [`Drawing::of`], with the links already decided under `model` ([`Decided`]).
    pub fn of_with<M: Borrow<Arc<Member>>>(
        model: &Model,
        members: &[M],
        decided: &mut Decided,
    ) -> Drawing {
        if members.is_empty() {
            return Drawing::default();
        }
        let plain: Vec<&Member> = members.iter().map(|m| &**m.borrow()).collect();
        let reach = model.reach_with(&plain, decided);
        let notes = if reach.open_notes.is_empty() {
            String::new()
        } else {
            format!(" (may only: {})", reach.open_notes.join("; "))
        };
        // The hub exists when some segment is open to every unisolated source.
        let hub = reach
            .segments
            .iter()
            .any(|s| s.open_ingress() && s.listener.is_some());
        let segments = reach
            .segments
            .iter()
            .zip(reach.links)
            .map(|(s, links)| {
                let members = s
                    .members
                    .iter()
                    .map(|i| Drawn(Arc::clone(members[*i].borrow())))
                    .collect();
                let open_egress = (hub && s.open_egress()).then(|| {
                    format!(
                        "no NetworkPolicy isolates the egress of {}: its pods may connect to every pod no policy isolates for ingress{notes}",
                        s.name
                    )
                });
                let own = SegmentEdges {
                    open_ingress: s.open_ingress() && s.listener.is_some(),
                    open_egress,
                    links,
                };
                (s.name.clone(), SegmentFacts { members, own })
            })
            .collect();
        Drawing { segments }
    }

    /// Draws every fact on `g`: the segments with their members, then the open hub's edges,
    /// then the links.
    pub fn draw(&self, g: &mut AttackGraph, cluster: &str) {
        for (name, s) in &self.segments {
            segment_node(g, cluster, name);
            for m in &s.members {
                member(g, cluster, name, m.fact());
            }
        }
        for (name, s) in &self.segments {
            if s.own.open_ingress {
                open_ingress(g, cluster, name);
            }
        }
        for (name, s) in &self.segments {
            if let Some(evidence) = &s.own.open_egress {
                open_egress(g, cluster, name, evidence);
            }
        }
        for (name, s) in &self.segments {
            for l in s.own.links.iter() {
                link(g, cluster, name, &l.to, &l.evidence);
            }
        }
    }

    /// The pieces of `self` that `new` does not have and those of `new` that `self` does not,
    /// each drawn alone: (to take out, to add). A segment's pieces are its head (its node and
    /// open edges), each of its links and each of its members, so a destination isolated or
    /// opened costs one link piece per segment that reaches it, not every such segment's links.
    pub fn changes(&self, new: &Drawing, cluster: &str) -> (Vec<Piece>, Vec<Piece>) {
        let old: BTreeMap<&str, &SegmentFacts> =
            self.segments.iter().map(|(n, s)| (n.as_str(), s)).collect();
        let mut out = Vec::new();
        let mut into = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (name, s) in &new.segments {
            seen.insert(name.as_str());
            match old.get(name.as_str()) {
                None => s.pieces(cluster, name, &mut into),
                Some(o) => {
                    if !o.own.same_head(&s.own) {
                        out.push(head_piece(cluster, name, &o.own));
                        into.push(head_piece(cluster, name, &s.own));
                    }
                    if o.own.links != s.own.links {
                        let (was, is) = unshared(&o.own.links, &s.own.links);
                        let (was, is) = (sorted(was), sorted(is));
                        let (gone, came) = differences(&was, &is);
                        out.extend(gone.into_iter().map(|l| link_piece(cluster, name, *l)));
                        into.extend(came.into_iter().map(|l| link_piece(cluster, name, *l)));
                    }
                    let (gone, came) = differences(&o.members, &s.members);
                    out.extend(gone.into_iter().map(|m| member_piece(cluster, name, m)));
                    into.extend(came.into_iter().map(|m| member_piece(cluster, name, m)));
                }
            }
        }
        for (name, o) in &self.segments {
            if !seen.contains(name.as_str()) {
                o.pieces(cluster, name, &mut out);
            }
        }
        (out, into)
    }
}

impl SegmentFacts {
    /// Every piece of the segment named `name`: its head, its links, its members.
    fn pieces(&self, cluster: &str, name: &str, to: &mut Vec<Piece>) {
        to.push(head_piece(cluster, name, &self.own));
        to.extend((self.own.links.iter()).map(|l| link_piece(cluster, name, (&l.to, &l.evidence))));
        to.extend(self.members.iter().map(|m| member_piece(cluster, name, m)));
    }
}

impl SegmentEdges {
    /// Whether `other` draws the same head: the same open edges (with the same evidence).
    fn same_head(&self, other: &SegmentEdges) -> bool {
        self.open_ingress == other.open_ingress && self.open_egress == other.open_egress
    }
}

/// Two rows of links but for the run both start with and the run both end with: a row drawn
/// again mostly differs from the one before in a few destinations, and the links the two hold
/// alike are matched without sorting them.
fn unshared<'a>(old: &'a [Link], new: &'a [Link]) -> (&'a [Link], &'a [Link]) {
    let start = old.iter().zip(new).take_while(|(a, b)| a == b).count();
    let (old, new) = (&old[start..], &new[start..]);
    let end = (old.iter().rev().zip(new.iter().rev()))
        .take_while(|(a, b)| a == b)
        .count();
    (&old[..old.len() - end], &new[..new.len() - end])
}

/// The links as (destination, evidence), sorted (for [`differences`]).
fn sorted(links: &[Link]) -> Vec<(&Arc<str>, &Arc<str>)> {
    let mut links: Vec<(&Arc<str>, &Arc<str>)> =
        links.iter().map(|l| (&l.to, &l.evidence)).collect();
    links.sort_unstable();
    links
}

/// The members only `old` has and those only `new` has (both in reference order).
fn differences<'a, T: Ord>(old: &'a [T], new: &'a [T]) -> (Vec<&'a T>, Vec<&'a T>) {
    let (mut gone, mut came) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => match a.cmp(b) {
                Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
                Ordering::Less => {
                    gone.push(a);
                    i += 1;
                }
                Ordering::Greater => {
                    came.push(b);
                    j += 1;
                }
            },
            (Some(a), None) => {
                gone.push(a);
                i += 1;
            }
            (None, Some(b)) => {
                came.push(b);
                j += 1;
            }
            (None, None) => break,
        }
    }
    (gone, came)
}

/// A segment's head alone: its node and its open edges.
fn head_piece(cluster: &str, name: &str, own: &SegmentEdges) -> Piece {
    let mut g = AttackGraph::default();
    segment_node(&mut g, cluster, name);
    if own.open_ingress {
        open_ingress(&mut g, cluster, name);
    }
    if let Some(evidence) = &own.open_egress {
        open_egress(&mut g, cluster, name, evidence);
    }
    g
}

/// One of a segment's links, alone.
fn link_piece(cluster: &str, from: &str, (to, evidence): (&Arc<str>, &Arc<str>)) -> Piece {
    let mut g = AttackGraph::default();
    link(&mut g, cluster, from, to, evidence);
    g
}

/// One member's edges, alone.
fn member_piece(cluster: &str, segment: &str, m: &Drawn) -> Piece {
    let mut g = AttackGraph::default();
    member(&mut g, cluster, segment, m.fact());
    g
}

/// `Network:<segment>`, an entry point: a foothold in any of its pods.
fn segment_node(g: &mut AttackGraph, cluster: &str, name: &str) {
    let n = g.node(Some(cluster), &format!("Network:{name}"), NodeKind::Segment);
    g.mark_entry(n);
}

/// A workload is a member of its segment; where it listens, the segment's ports include its
/// endpoint.
fn member(
    g: &mut AttackGraph,
    cluster: &str,
    segment: &str,
    (reference, listens): (&str, &[(u16, String)]),
) {
    let c = Some(cluster);
    let w = g.node(c, reference, NodeKind::Workload);
    let n = g.node(c, &format!("Network:{segment}"), NodeKind::Segment);
    g.edge(
        w,
        n,
        T::MEMBER_OF,
        format!(
            "the pods of {reference} are in network segment {segment} (what the NetworkPolicies tell apart)"
        ),
    );
    if listens.is_empty() {
        return;
    }
    let p = g.node(c, &format!("Ports:{segment}"), NodeKind::Hub);
    let e = g.node(c, &format!("Endpoint:{reference}"), NodeKind::Endpoint);
    let listens: Vec<String> = listens
        .iter()
        .map(|(port, protocol)| format!("{port}/{protocol}"))
        .collect();
    g.edge(
        p,
        e,
        T::INCLUDES,
        format!("{reference} listens on {}", listens.join(", ")),
    );
}

/// The open hub includes a segment's ports.
fn open_ingress(g: &mut AttackGraph, cluster: &str, name: &str) {
    let c = Some(cluster);
    let hub = g.node(c, OPEN_PORTS, NodeKind::Hub);
    let p = g.node(c, &format!("Ports:{name}"), NodeKind::Hub);
    g.edge(
        hub,
        p,
        T::INCLUDES,
        format!("no NetworkPolicy isolates the ingress of {name}"),
    );
}

/// A segment reaches the open hub.
fn open_egress(g: &mut AttackGraph, cluster: &str, name: &str, evidence: &str) {
    let c = Some(cluster);
    let n = g.node(c, &format!("Network:{name}"), NodeKind::Segment);
    let hub = g.node(c, OPEN_PORTS, NodeKind::Hub);
    g.edge(n, hub, T::NETWORK_REACH, evidence);
}

/// A segment reaches another's ports.
fn link(g: &mut AttackGraph, cluster: &str, from: &str, to: &str, evidence: &str) {
    let c = Some(cluster);
    let a = g.node(c, &format!("Network:{from}"), NodeKind::Segment);
    let b = g.node(c, &format!("Ports:{to}"), NodeKind::Hub);
    g.edge(a, b, T::NETWORK_REACH, evidence);
}

#[cfg(test)]
mod tests;
