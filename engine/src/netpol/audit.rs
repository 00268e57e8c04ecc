//! What the policies of a namespace fail to do, read from the same model as every connection
//! question: policies that change no connection (every rule and the isolation they bring are
//! already given by another policy's allow-all rule), and pods whose ingress admits every pod
//! of every namespace.

use super::{every_pod, Answer, Model, Peer, Pods, Policy, Rule, NAMESPACE_NAME_LABEL};
use crate::selector::LabelSelector;

/// A direction, and how a policy's rules for it are read.
type Direction = (&'static str, fn(&Policy) -> Option<&Vec<Rule>>);

const DIRECTIONS: [Direction; 2] = [
    ("ingress", |p| p.ingress.as_ref()),
    ("egress", |p| p.egress.as_ref()),
];

/// A rule that allows everything a direction can carry, or every pod of every namespace: what
/// it admits, in words, and whether it admits addresses outside the cluster too.
fn allow_all(rule: &Rule) -> Option<(&'static str, bool)> {
    if rule.ports.is_some() {
        return None;
    }
    match &rule.peers {
        None => Some(("every peer", true)),
        Some(peers) => peers
            .iter()
            .any(every_pod)
            .then_some(("every pod of every namespace", false)),
    }
}

/// Whether a rule admits nothing beyond pods (no `ipBlock`, not every peer): an allow-all rule
/// for every pod of every namespace on every port then admits all it admits.
fn pods_only(rule: &Rule) -> bool {
    rule.peers
        .as_ref()
        .is_some_and(|peers| peers.iter().all(|p| !matches!(p, Peer::Block { .. })))
}

/// A NetworkPolicy that changes no connection: for each direction it isolates, another policy
/// that selects at least the pods it selects already isolates them and admits, by an allow-all
/// rule, everything its rules admit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shadowed {
    /// The policy without effect.
    pub policy: String,
    /// Per direction it isolates: (`ingress`/`egress`, the other policy, its rule's path, whom
    /// that rule admits).
    pub by: Vec<(&'static str, String, String, &'static str)>,
}

impl Model {
    /// The policies that change no connection (see [`Shadowed`]). A direction that is a default
    /// deny for every pod, voided by an allow-all rule, is [`Model::reopened`]'s answer: it is
    /// not named here, and a policy that is nothing else is not reported here. A policy with an
    /// allow-all rule of its own is the one that opens, not one without effect.
    pub fn shadowed(&self) -> Vec<Shadowed> {
        let mut out = Vec::new();
        // NetworkPolicies only, voided by NetworkPolicies only: a Cilium policy's selectors read
        // other labels and its empty rule denies. (A Cilium deny rule denies with or without
        // the policy judged here: it changes nothing to the claim.)
        for p in self.policies.iter().filter(|p| !p.cilium) {
            let mut by = Vec::new();
            let mut isolates = false;
            let mut voided_everywhere = true;
            for (direction, rules_of) in DIRECTIONS {
                let Some(rules) = rules_of(p) else {
                    continue;
                };
                isolates = true;
                // A default deny for every pod is reopened()'s answer (KSPM-N-017): voided or
                // not, it is not named here, and alone it makes no finding here.
                let default_deny = p.selects.is_empty() && rules.is_empty();
                if rules.iter().any(|r| allow_all(r).is_some()) {
                    voided_everywhere = false;
                    break;
                }
                let voider = self
                    .policies_in(&p.namespace)
                    .filter(|q| {
                        !q.cilium && q.reference != p.reference && q.selects.covers(&p.selects)
                    })
                    .find_map(|q| {
                        rules_of(q)?.iter().find_map(|r| {
                            let (whom, addresses) = allow_all(r)?;
                            (addresses || rules.iter().all(pods_only)).then(|| {
                                (
                                    direction,
                                    q.reference.clone(),
                                    format!("spec.{direction}[{}]", r.index),
                                    whom,
                                )
                            })
                        })
                    });
                match voider {
                    Some(_) if default_deny => {}
                    Some(v) => by.push(v),
                    None => {
                        voided_everywhere = false;
                        break;
                    }
                }
            }
            if isolates && voided_everywhere && !by.is_empty() {
                out.push(Shadowed {
                    policy: p.reference.clone(),
                    by,
                });
            }
        }
        out
    }

    /// Whether `pods` accept connections from every pod of every other namespace on every port
    /// by the policies: `Some(None)` when no policy applies to their ingress, `Some(why)` when
    /// they admit every pod of every namespace (or every peer) on every port, `None` when the
    /// policies restrict who may connect — or may: a deny rule for the pods, or a rule this
    /// evaluator cannot decide.
    ///
    /// Where a Calico policy or an AdminNetworkPolicy may apply to the pods' ingress, it is
    /// evaluated in their order for some pod of some namespace on every port
    /// ([`super::Party::AnyPod`], [`super::EVERY_PORT`]): open only when every way through ends
    /// in an allow; not decided beside a Cilium policy for the pods (the two orders are not
    /// evaluated together) or with Calico objects the input lacks. Elsewhere the
    /// NetworkPolicies and Cilium's policies decide as a union, the ordered policies applying
    /// to none of the pods (a rule that admits every pod of every namespace on every port).
    pub fn open_to_every_namespace(&self, pods: &Pods) -> Option<Option<String>> {
        if let Some(calico) = &self.calico {
            if calico.isolates(&self.namespaces, pods, false) {
                let cilium = self
                    .policies_in(&pods.namespace)
                    .any(|p| p.cilium && self.selects(p, pods));
                if cilium || !self.unread.is_empty() {
                    return None;
                }
                let side = self.side(pods, &super::Party::AnyPod, super::EVERY_PORT, false);
                return (side.answer() == Answer::Yes).then(|| {
                    Some(format!(
                        "every way through the policies in order admits every pod of every namespace on every port ({})",
                        side.allowed_by.join(", ")
                    ))
                });
            }
        }
        let selecting: Vec<&Policy> = self
            .policies_in(&pods.namespace)
            .filter(|p| self.selects(p, pods))
            .collect();
        if selecting.iter().any(|p| !p.ingress_deny.is_empty()) {
            return None;
        }
        if !selecting.iter().any(|p| p.isolates(false)) {
            return Some(None);
        }
        selecting.iter().find_map(|p| {
            p.ingress.iter().flatten().find_map(|r| {
                let every_namespace = r.ports.is_none()
                    && r.undecided.is_none()
                    && r.peers
                        .as_ref()
                        .is_none_or(|peers| peers.iter().any(every_namespace_peer));
                every_namespace.then(|| {
                    Some(format!(
                        "{} spec.ingress[{}] admits every pod of every namespace on every port",
                        p.reference, r.index
                    ))
                })
            })
        })
    }
}

/// Whether a peer admits every pod of every namespace: a NetworkPolicy peer with a namespace
/// selector for every namespace and no narrower pod selector, Cilium's `cluster` or `all`
/// entity, or a Cilium endpoint selector for every endpoint of every namespace.
fn every_namespace_peer(peer: &Peer) -> bool {
    match peer {
        Peer::Pods {
            pods,
            namespaces: Some(ns),
        } => selects_every_namespace(ns) && pods.as_ref().is_none_or(LabelSelector::is_empty),
        Peer::Entity(e) => e == "cluster" || e == "all",
        Peer::Endpoints {
            selector,
            namespace: None,
        } => selector.is_empty(),
        _ => false,
    }
}

/// Whether a namespace selector selects every namespace: empty, or asking only that the name
/// label (which the API server sets on every namespace) exists.
pub(super) fn selects_every_namespace(sel: &LabelSelector) -> bool {
    let exists = LabelSelector::from_value(Some(&serde_json::json!({
        "matchExpressions": [{"key": NAMESPACE_NAME_LABEL, "operator": "Exists"}]
    })));
    sel.covers(&exists)
}
