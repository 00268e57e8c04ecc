//! AdminNetworkPolicy and BaselineAdminNetworkPolicy (`policy.networking.k8s.io/v1alpha1`), read
//! into the ordered evaluation as the tiers Calico runs them in, which is the policy API's own
//! order: AdminNetworkPolicies first (tier `kube-admin`, by `priority`, lower first), then
//! NetworkPolicies (the `default` tier), then the BaselineAdminNetworkPolicy (tier
//! `kube-baseline`), and what none decides is allowed. From the API reference:
//!
//! - `subject` selects pods: every pod of the namespaces `namespaces` selects, or the pods
//!   `pods.podSelector` selects in the namespaces `pods.namespaceSelector` selects;
//! - rules are evaluated in order and the first that matches decides: `Allow`, `Deny`, or
//!   (AdminNetworkPolicy only) `Pass`, which hands the connection to the NetworkPolicies (and
//!   then the baseline); a policy whose rules match nothing decides nothing;
//! - a rule's peers (`from`/`to`, one at least) are alternatives: `namespaces` (every pod of the
//!   selected namespaces), `pods` (namespace and pod selectors together), and for egress
//!   `networks` (CIDRs; they match pods by their address too), `nodes` and `domainNames`;
//! - `ports` are alternatives too: `portNumber` (protocol and port), `portRange` (protocol,
//!   `start`..`end`), `namedPort` (the destination pod's container port of that name);
//! - AdminNetworkPolicies of equal priority are in an order the API leaves to the
//!   implementation: both orders are followed.
//!
//! Not decided here: `nodes` peers and `domainNames` (which addresses they are is not in the
//! input); they never match a pod of the pod network. An object the API server would refuse
//! (no subject or two, an unknown action, a rule without peers, a malformed port or CIDR, a
//! priority out of 0..=1000) enforces nothing.

use super::{Action, Entity, Policy, Port, Rule};
use crate::netpol::Cidr;
use crate::object::Object;
use crate::selector::LabelSelector;
use serde_json::Value;

/// The API group of the policy API.
const GROUP: &str = "policy.networking.k8s.io";
/// The kinds read here.
pub(in crate::netpol) const KINDS: &[&str] = &["AdminNetworkPolicy", "BaselineAdminNetworkPolicy"];
/// The tiers Calico runs them in (and their orders and default actions: pass on).
pub(super) const ADMIN_TIER: (&str, f64) = ("kube-admin", 1_000.0);
pub(super) const BASELINE_TIER: (&str, f64) = ("kube-baseline", 10_000_000.0);

/// Whether an object is one of the policy API's policies read here.
pub(in crate::netpol) fn is_policy(o: &Object) -> bool {
    o.api_group() == GROUP && KINDS.contains(&o.kind.as_str())
}

fn selector(v: Option<&Value>) -> crate::calico::Selector {
    LabelSelector::from_value(v).to_calico()
}

/// Whether a peer is in the shape of the API's earlier v1alpha1 releases: `namespaces` holding
/// `namespaceSelector`, `sameLabels` or `notSameLabels`, or `pods` holding `namespaces` (read
/// as today's shape they would select every namespace).
fn earlier_shape(p: &Value) -> bool {
    let has = |v: Option<&Value>, keys: &[&str]| {
        v.is_some_and(|v| keys.iter().any(|k| v.get(*k).is_some()))
    };
    has(
        p.get("namespaces"),
        &["namespaceSelector", "sameLabels", "notSameLabels"],
    ) || has(p.get("pods"), &["namespaces"])
}

/// A peer of a rule as an entity (`None`: the API server refuses it).
fn peer(p: &Value) -> Option<Entity> {
    let fields = ["namespaces", "pods", "networks", "nodes", "domainNames"];
    if fields.iter().filter(|f| p.get(**f).is_some()).count() != 1 {
        return None;
    }
    let entity = if let Some(ns) = p.get("namespaces") {
        Entity {
            namespace_selector: Some(selector(Some(ns))),
            endpoints_only: true,
            ..Entity::default()
        }
    } else if let Some(pods) = p.get("pods") {
        Entity {
            namespace_selector: Some(selector(pods.get("namespaceSelector"))),
            selector: Some(selector(pods.get("podSelector"))),
            endpoints_only: true,
            ..Entity::default()
        }
    } else if let Some(nets) = p.get("networks") {
        let nets: Option<Vec<Cidr>> = nets
            .as_array()?
            .iter()
            .map(|n| n.as_str().and_then(Cidr::parse))
            .collect();
        Entity {
            nets: nets.filter(|n| !n.is_empty())?,
            ..Entity::default()
        }
    } else if p.get("nodes").is_some() {
        Entity {
            outside_pods: Some("a `nodes` peer"),
            ..Entity::default()
        }
    } else {
        Entity {
            outside_pods: Some("a `domainNames` peer"),
            ..Entity::default()
        }
    };
    Some(entity)
}

/// A rule's ports, grouped by protocol (named ports under `None`: their protocol is the
/// container port's); `Some(vec![])` when the rule names none. `None`: malformed.
fn ports(list: Option<&Value>) -> Option<Vec<(Option<u8>, Vec<Port>)>> {
    let Some(list) = list.filter(|l| !l.is_null()) else {
        return Some(vec![(None, Vec::new())]);
    };
    let mut groups: Vec<(Option<u8>, Vec<Port>)> = Vec::new();
    let protocol = |v: Option<&Value>| -> Option<u8> {
        match v.and_then(Value::as_str).unwrap_or("TCP") {
            "TCP" => Some(6),
            "UDP" => Some(17),
            "SCTP" => Some(132),
            _ => None,
        }
    };
    let number = |v: Option<&Value>| {
        v.and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|n| *n > 0)
    };
    for p in list.as_array()? {
        let (proto, port) = if let Some(n) = p.get("portNumber") {
            let port = number(n.get("port"))?;
            (Some(protocol(n.get("protocol"))?), Port::Range(port, port))
        } else if let Some(r) = p.get("portRange") {
            let (start, end) = (number(r.get("start"))?, number(r.get("end"))?);
            if start > end {
                return None;
            }
            (Some(protocol(r.get("protocol"))?), Port::Range(start, end))
        } else {
            let name = p.get("namedPort").and_then(Value::as_str)?;
            (None, Port::Name(name.to_string()))
        };
        match groups.iter_mut().find(|g| g.0 == proto) {
            Some(g) => g.1.push(port),
            None => groups.push((proto, vec![port])),
        }
    }
    if groups.is_empty() {
        groups.push((None, Vec::new()));
    }
    Some(groups)
}

/// A direction's rules, each peer and protocol its own rule of the same action and position
/// (the first that matches decides, so alternatives in a row decide as the one rule did).
fn rules(
    list: Option<&Value>,
    peers_field: &str,
    egress: bool,
    baseline: bool,
) -> Option<Vec<Rule>> {
    let mut out = Vec::new();
    for (index, r) in list
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let action = match r.get("action").and_then(Value::as_str) {
            Some("Allow") => Action::Allow,
            Some("Deny") => Action::Deny,
            Some("Pass") if !baseline => Action::Pass,
            _ => return None,
        };
        let listed = r
            .get(peers_field)
            .and_then(Value::as_array)
            .filter(|p| !p.is_empty())?;
        let peers: Vec<Entity> = listed.iter().map(peer).collect::<Option<_>>()?;
        let undecided = listed.iter().any(earlier_shape).then_some(
            "a peer in the API's earlier shape (namespaces.namespaceSelector, sameLabels, notSameLabels, pods.namespaces), not evaluated",
        );
        if !egress && peers.iter().any(|p| !p.endpoints_only) {
            // Ingress peers are namespaces and pods only.
            return None;
        }
        let groups = ports(r.get("ports"))?;
        for peer in peers {
            for (protocol, ports) in &groups {
                // Ports are the destination's: the peer's for egress, the subject's for ingress.
                let (source, destination) = if egress {
                    (Entity::default(), peer.clone())
                } else {
                    (peer.clone(), Entity::default())
                };
                let destination = Entity {
                    ports: ports.clone(),
                    ..destination
                };
                out.push(Rule {
                    index,
                    action,
                    protocol: *protocol,
                    not_protocol: None,
                    ip_version: None,
                    source,
                    destination,
                    undecided,
                });
            }
        }
    }
    Some(out)
}

/// The policy an AdminNetworkPolicy or BaselineAdminNetworkPolicy holds, if the API server
/// accepts it.
pub(super) fn policy(o: &Object) -> Option<Policy> {
    let spec = o.body.get("spec")?;
    let baseline = o.kind == "BaselineAdminNetworkPolicy";
    let priority = if baseline {
        None
    } else {
        let p = spec.get("priority").and_then(Value::as_u64)?;
        if p > 1000 {
            return None;
        }
        Some(p as f64)
    };
    let subject = spec.get("subject")?;
    let (namespace_selector, pod_selector) = match (subject.get("namespaces"), subject.get("pods"))
    {
        (Some(ns), None) => (selector(Some(ns)), crate::calico::Selector::All),
        (None, Some(pods)) => (
            selector(pods.get("namespaceSelector")),
            selector(pods.get("podSelector")),
        ),
        _ => return None,
    };
    let ingress = rules(spec.get("ingress"), "from", false, baseline)?;
    let egress = rules(spec.get("egress"), "to", true, baseline)?;
    let (tier, _) = if baseline { BASELINE_TIER } else { ADMIN_TIER };
    Some(Policy {
        reference: o.node_ref(),
        name: o.name.clone(),
        namespace: None,
        tier: tier.to_string(),
        order: priority,
        selector: pod_selector,
        namespace_selector: Some(namespace_selector),
        service_account_selector: None,
        ingress: (!ingress.is_empty()).then_some(ingress),
        egress: (!egress.is_empty()).then_some(egress),
    })
}
