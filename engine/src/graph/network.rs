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

use super::{AttackGraph, NodeIndex, NodeKind, Technique as T};
use crate::netpol::{Member, Model};
use std::borrow::Borrow;

/// The hub of the listening ports of every pod no policy isolates for ingress.
pub const OPEN_PORTS: &str = "Ports:(no ingress policy)";

impl AttackGraph {
    /// Adds the network reach between one cluster's workloads (see the module docs).
    pub fn network_reach<M: std::borrow::Borrow<Member>>(
        &mut self,
        cluster: &str,
        model: &Model,
        members: &[M],
    ) {
        if members.is_empty() {
            return;
        }
        let reach = model.reach(members);
        let c = Some(cluster);
        let mut from: Vec<NodeIndex> = Vec::with_capacity(reach.segments.len());
        let mut to: Vec<Option<NodeIndex>> = Vec::with_capacity(reach.segments.len());
        for s in &reach.segments {
            let n = self.node(c, &format!("Network:{}", s.name), NodeKind::Segment);
            self.mark_entry(n);
            from.push(n);
            let mut ports = None;
            for m in s
                .members
                .iter()
                .map(|i| Borrow::<Member>::borrow(&members[*i]))
            {
                let w = self.node(c, &m.pods.reference, NodeKind::Workload);
                self.edge(
                    w,
                    n,
                    T::MEMBER_OF,
                    format!(
                        "the pods of {} are in network segment {} (what the NetworkPolicies tell apart)",
                        m.pods.reference, s.name
                    ),
                );
                if m.listens.is_empty() {
                    continue;
                }
                let p = *ports.get_or_insert_with(|| {
                    self.node(c, &format!("Ports:{}", s.name), NodeKind::Hub)
                });
                let e = self.node(
                    c,
                    &format!("Endpoint:{}", m.pods.reference),
                    NodeKind::Endpoint,
                );
                let listens: Vec<String> = m
                    .listens
                    .iter()
                    .map(|(port, protocol)| format!("{port}/{protocol}"))
                    .collect();
                self.edge(
                    p,
                    e,
                    T::INCLUDES,
                    format!("{} listens on {}", m.pods.reference, listens.join(", ")),
                );
            }
            to.push(ports);
        }
        let notes = if reach.open_notes.is_empty() {
            String::new()
        } else {
            format!(" (may only: {})", reach.open_notes.join("; "))
        };
        let open_to: Vec<(usize, NodeIndex)> = reach
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.open_ingress())
            .filter_map(|(i, _)| to[i].map(|p| (i, p)))
            .collect();
        if !open_to.is_empty() {
            let hub = self.node(c, OPEN_PORTS, NodeKind::Hub);
            for (i, p) in &open_to {
                self.edge(
                    hub,
                    *p,
                    T::INCLUDES,
                    format!(
                        "no NetworkPolicy isolates the ingress of {}",
                        reach.segments[*i].name
                    ),
                );
            }
            for (i, s) in reach.segments.iter().enumerate() {
                if s.open_egress() {
                    self.edge(
                        from[i],
                        hub,
                        T::NETWORK_REACH,
                        format!(
                            "no NetworkPolicy isolates the egress of {}: its pods may connect to every pod no policy isolates for ingress{notes}",
                            s.name
                        ),
                    );
                }
            }
        }
        for l in &reach.links {
            if let Some(p) = to[l.to] {
                self.edge(from[l.from], p, T::NETWORK_REACH, l.evidence.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests;
