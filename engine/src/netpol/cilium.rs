//! CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, read into the evaluator's model
//! (`cilium.io/v2`, from Cilium's policy language reference):
//!
//! - `endpointSelector` selects the pods a policy applies to — in its own namespace for a
//!   CiliumNetworkPolicy, in every namespace for a clusterwide one — over the pod's labels and
//!   Cilium's own: `io.kubernetes.pod.namespace`, `io.cilium.k8s.namespace.labels.<key>` and
//!   `io.cilium.k8s.policy.serviceaccount` (keys may carry the `k8s:` or `any:` source prefix);
//!   `nodeSelector` policies are about nodes, not pods, and are left out; a label of another
//!   source (`reserved:`, `cidr:`, ...) is on no pod;
//! - a direction with allow or deny rules (`ingress`/`ingressDeny`, `egress`/`egressDeny`)
//!   isolates the pods as a NetworkPolicy does, unless `enableDefaultDeny` turns that off for it
//!   (its rules then only add); rules of every kind add up, and a deny rule that matches wins
//!   over any allow, a NetworkPolicy's included;
//! - in a rule, the peers `fromEndpoints`/`toEndpoints` (a selector that names no namespace is
//!   limited to the policy's namespace in a CiliumNetworkPolicy), `fromCIDR`/`fromCIDRSet`
//!   (addresses outside the cluster only: CIDR rules never match pods), and `fromEntities`
//!   (`world`, `cluster`, `all`, ...) are alternatives (Cilium refuses a rule, and its whole
//!   object, that combines two kinds), and `toPorts` narrows them; a rule with
//!   ports and no peer admits every peer on those ports, and an empty rule (`{}`) admits nothing
//!   (Cilium's default deny);
//! - what is not decided here — L7 rules, `fromRequires`, `toFQDNs`, `toServices`, node and
//!   group peers, ICMP rules, labels the default identity filter drops — makes the
//!   rule, or the peer, undecided: the answer is unknown, never a guess.

use super::{Cidr, Peer, Policy, PortRef, PortRule, Rule};
use crate::object::Object;
use crate::pointer::Pointer as _;
use crate::selector::LabelSelector;
use serde_json::Value;
use std::collections::BTreeMap;

/// Cilium's label for a pod's namespace.
pub(super) const NAMESPACE: &str = "io.kubernetes.pod.namespace";
/// The prefix of Cilium's labels for a pod's namespace labels.
const NAMESPACE_LABELS: &str = "io.cilium.k8s.namespace.labels.";
/// Cilium's label for a pod's ServiceAccount.
const SERVICE_ACCOUNT: &str = "io.cilium.k8s.policy.serviceaccount";
/// The prefix of the labels Cilium sets on a pod itself.
const CILIUM_OWN: &str = "io.cilium.k8s.";

/// The Cilium policy kinds read here.
pub(super) const KINDS: &[&str] = &["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"];

/// Whether an object is a Cilium policy read here.
pub(super) fn is_policy(o: &Object) -> bool {
    KINDS.contains(&o.kind.as_str()) && o.api_version.starts_with("cilium.io/")
}

/// Whether a reference (of [`super::plugin_policies`]) names a Cilium policy or Cilium's CRDs.
pub(super) fn is_cilium_reference(reference: &str) -> bool {
    KINDS
        .iter()
        .any(|k| reference.starts_with(&format!("{k}:")))
        || (reference.starts_with("CustomResourceDefinition:") && reference.ends_with(".cilium.io"))
}

/// The labels a Cilium selector sees on a pod.
pub(super) fn labels(
    pod_labels: &BTreeMap<String, String>,
    namespace: &str,
    namespace_labels: Option<&BTreeMap<String, String>>,
    service_account: &str,
) -> BTreeMap<String, String> {
    // Cilium drops a pod's own labels in its namespace and sets them itself.
    let mut l: BTreeMap<String, String> = pod_labels
        .iter()
        .filter(|(k, _)| !k.starts_with(CILIUM_OWN))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    l.insert(NAMESPACE.into(), namespace.into());
    l.insert(
        format!("{NAMESPACE_LABELS}{}", super::NAMESPACE_NAME_LABEL),
        namespace.into(),
    );
    for (k, v) in namespace_labels.into_iter().flatten() {
        l.insert(format!("{NAMESPACE_LABELS}{k}"), v.clone());
    }
    l.insert(SERVICE_ACCOUNT.into(), service_account.into());
    l
}

/// Whether a selector reads labels of a namespace other than its name (unknown for a namespace
/// the input holds no object of).
pub(super) fn reads_namespace_labels(sel: &LabelSelector) -> bool {
    let name = format!("{NAMESPACE_LABELS}{}", super::NAMESPACE_NAME_LABEL);
    sel.keys()
        .any(|k| k.starts_with(NAMESPACE_LABELS) && k != name)
}

/// Whether a label key is one Cilium leaves out of a pod's identity by default
/// (`io.kubernetes*` but the namespace, `kubernetes.io*`, `k8s.io*`, `*beta.kubernetes.io*`,
/// the controllers' hashes): a selector on it matches no pod under the default filter, which is
/// the agent's configuration the input does not hold.
fn filtered_from_identity(key: &str) -> bool {
    (key.starts_with("io.kubernetes") && key != NAMESPACE)
        || key.starts_with("kubernetes.io")
        || key.starts_with("k8s.io")
        || key.contains("beta.kubernetes.io")
        || [
            "pod-template-hash",
            "pod-template-generation",
            "controller-revision-hash",
        ]
        .contains(&key)
}

/// What a Cilium selector's label key is to a pod.
enum Key {
    /// A label of the pod (or one Cilium sets on it), by this name.
    Pod(String),
    /// A label of another source (`reserved:`, `cidr:`, `fqdn:`, ...), which no pod carries.
    NotOnPods,
    /// Not decided here: a label the default identity filter drops, or Cilium's cluster name.
    Undecided,
}

fn key(k: &str) -> Key {
    // A Kubernetes label key holds no `:`: one before it names the label's source.
    let key = match k.split_once(':') {
        Some(("k8s" | "any", rest)) => rest,
        Some(_) => return Key::NotOnPods,
        None => k,
    };
    let undecided = filtered_from_identity(key)
        || (key.starts_with(CILIUM_OWN)
            && key != SERVICE_ACCOUNT
            && !key.starts_with(NAMESPACE_LABELS));
    if undecided {
        Key::Undecided
    } else {
        Key::Pod(key.to_string())
    }
}

/// A Cilium selector as a label selector over [`labels`], or `None` when it reads what is not
/// decided here ([`Key::Undecided`]). A requirement on a label no pod carries makes it select
/// no pod (`k: v`, `In`, `Exists`) or holds for every pod (`NotIn`, `DoesNotExist`).
fn selector(v: &Value) -> Option<LabelSelector> {
    let mut v = v.clone();
    let mut never = false;
    if let Some(m) = v.get_mut("matchLabels").and_then(Value::as_object_mut) {
        let mut out = serde_json::Map::new();
        for (k, x) in m.iter() {
            match key(k) {
                Key::Pod(k) => {
                    out.insert(k, x.clone());
                }
                Key::NotOnPods => never = true,
                Key::Undecided => return None,
            }
        }
        *m = out;
    }
    if let Some(es) = v.get_mut("matchExpressions").and_then(Value::as_array_mut) {
        let mut kept = Vec::new();
        for e in es.iter() {
            let Some(k) = e.get("key").and_then(Value::as_str) else {
                kept.push(e.clone());
                continue;
            };
            match key(k) {
                Key::Pod(k) => {
                    let mut e = e.clone();
                    e["key"] = Value::String(k);
                    kept.push(e);
                }
                Key::NotOnPods => {
                    let op = e.get("operator").and_then(Value::as_str).unwrap_or("");
                    if !["NotIn", "DoesNotExist"].contains(&op) {
                        never = true;
                    }
                }
                Key::Undecided => return None,
            }
        }
        *es = kept;
    }
    Some(if never {
        LabelSelector::nothing()
    } else {
        LabelSelector::from_value(Some(&v))
    })
}

/// The policies one Cilium object holds (`spec`, and each of `specs`).
pub(super) fn policies(o: &Object) -> Vec<Policy> {
    let cluster_wide = o.kind == "CiliumClusterwideNetworkPolicy";
    let namespace = if cluster_wide {
        String::new()
    } else {
        o.effective_namespace().unwrap_or("default").to_string()
    };
    let specs = o.body.get("spec").into_iter().chain(
        o.body
            .get("specs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    );
    let specs: Vec<&Value> = specs.collect();
    // Cilium refuses the whole object when one of its rules is invalid: nothing is enforced.
    if specs.iter().any(|s| invalid(s).is_some()) {
        return Vec::new();
    }
    specs
        .into_iter()
        .filter(|s| s.get("endpointSelector").is_some_and(Value::is_object))
        .map(|s| {
            // A namespaced policy selects in its own namespace, whatever its selector says of it.
            let endpoint_selector = s.get("endpointSelector").map(|v| {
                if cluster_wide {
                    v.clone()
                } else {
                    in_namespace(v, &namespace)
                }
            });
            let (selects, selector_read) = match endpoint_selector.as_ref().and_then(selector) {
                Some(sel) => (sel, true),
                None => (LabelSelector::default(), false),
            };
            let direction = |field: &str, ingress: bool| -> Vec<Rule> {
                let rules = s
                    .get(field)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                    .map(|(index, r)| {
                        rule(
                            index,
                            r,
                            ingress,
                            (!cluster_wide).then_some(namespace.as_str()),
                        )
                    });
                if selector_read {
                    return rules.collect();
                }
                // Which pods it selects is not known: for every pod, its rules may or may not
                // apply — one undecided rule says so.
                rules
                    .take(1)
                    .map(|r| Rule {
                        index: r.index,
                        peers: None,
                        ports: None,
                        undecided: Some("the endpointSelector reads labels pods here do not carry"),
                    })
                    .collect()
            };
            let (ingress, egress) = (direction("ingress", true), direction("egress", false));
            let (ingress_deny, egress_deny) = (
                direction("ingressDeny", true),
                direction("egressDeny", false),
            );
            // Default deny: by default for a direction with allow or deny rules.
            // The flag turns default deny off for a direction with rules; it adds none alone.
            let isolates = |d: &str, has_rules: bool| {
                has_rules
                    && s.at(&format!("/enableDefaultDeny/{d}"))
                        .and_then(Value::as_bool)
                        .unwrap_or(true)
            };
            let isolates = [
                isolates("ingress", !ingress.is_empty() || !ingress_deny.is_empty()),
                isolates("egress", !egress.is_empty() || !egress_deny.is_empty()),
            ];
            Policy {
                reference: o.node_ref(),
                namespace: namespace.clone(),
                selects,
                cluster_wide,
                cilium: true,
                ingress: (!ingress.is_empty()).then_some(ingress),
                egress: (!egress.is_empty()).then_some(egress),
                ingress_deny,
                egress_deny,
                isolates,
            }
        })
        .collect()
}

/// One rule: its peers (alternatives), its ports, and what it leaves undecided. `namespace`:
/// the policy's, to which endpoint selectors that name none are limited (`None`: clusterwide).
fn rule(index: usize, r: &Value, ingress: bool, namespace: Option<&str>) -> Rule {
    let (endpoints, cidr, cidr_set, entities) = if ingress {
        ("fromEndpoints", "fromCIDR", "fromCIDRSet", "fromEntities")
    } else {
        ("toEndpoints", "toCIDR", "toCIDRSet", "toEntities")
    };
    // Peers this evaluator does not decide, which add to the rule's alternatives.
    let other_peers: &[&str] = if ingress {
        &["fromNodes", "fromGroups"]
    } else {
        &["toFQDNs", "toServices", "toNodes", "toGroups"]
    };
    // Fields that narrow the rule in ways not decided here.
    let narrowing: &[&str] = &["fromRequires", "toRequires", "icmps", "authentication"];
    let list = |f: &str| r.get(f).and_then(Value::as_array).filter(|a| !a.is_empty());
    let mut peers: Vec<Peer> = Vec::new();
    // A peer field given as an empty list selects nothing (it is not "every peer").
    let mut any_peer_field = [endpoints, cidr, cidr_set, entities]
        .iter()
        .chain(other_peers)
        .any(|f| r.get(*f).and_then(Value::as_array).is_some());
    if let Some(a) = list(endpoints) {
        any_peer_field = true;
        for e in a {
            peers.push(match selector(e) {
                Some(sel) => {
                    // A selector on the namespace, or on namespace labels, is not limited to
                    // the policy's (where Cilium's reading is in doubt, a wider reach is
                    // noise; a narrower one would hide a path).
                    let names_namespace = sel
                        .keys()
                        .any(|k| k == NAMESPACE || k.starts_with(NAMESPACE_LABELS));
                    Peer::Endpoints {
                        namespace: namespace.filter(|_| !names_namespace).map(str::to_string),
                        selector: sel,
                    }
                }
                None => Peer::Undecided("an endpoint selector reads labels pods here do not carry"),
            });
        }
    }
    if let Some(a) = list(cidr) {
        any_peer_field = true;
        peers.extend(a.iter().map(|c| {
            c.as_str()
                .and_then(Cidr::parse)
                .map_or(Peer::Invalid, |cidr| Peer::Block {
                    cidr,
                    except: Vec::new(),
                    pods: false,
                })
        }));
    }
    if let Some(a) = list(cidr_set) {
        any_peer_field = true;
        peers.extend(a.iter().map(|c| {
            if c.get("cidr").and_then(Value::as_str).is_none() {
                return Peer::Undecided("a CIDR group reference");
            }
            Peer::block(c, false)
        }));
    }
    if let Some(a) = list(entities) {
        any_peer_field = true;
        peers.extend(
            a.iter()
                .filter_map(Value::as_str)
                .map(|e| Peer::Entity(e.to_ascii_lowercase())),
        );
    }
    for f in other_peers {
        if list(f).is_some() || r.get(*f).is_some_and(Value::is_object) {
            any_peer_field = true;
            peers.push(Peer::Undecided(
                "a peer kind not evaluated here (FQDNs, Services, nodes or groups)",
            ));
        }
    }
    let mut undecided = narrowing
        .iter()
        .any(|f| r.get(*f).is_some_and(|v| !v.is_null()))
        .then_some("the rule narrows its peers in a way not evaluated here (requirements, ICMP or authentication)");
    let mut ports: Vec<PortRule> = Vec::new();
    let to_ports = list("toPorts");
    for entry in to_ports.into_iter().flatten() {
        let l7 = [
            "rules",
            "serverNames",
            "listener",
            "terminatingTLS",
            "originatingTLS",
        ]
        .iter()
        .any(|f| entry.get(*f).is_some_and(|v| !v.is_null()));
        if l7 {
            undecided = undecided.or(Some("L7 rules decide which requests pass"));
        }
        let listed = entry.get("ports").and_then(Value::as_array);
        if listed.is_none_or(Vec::is_empty) {
            ports.push(PortRule {
                protocol: "ANY".into(),
                port: None,
                end_port: None,
            });
        }
        for p in listed.into_iter().flatten() {
            let protocol = p
                .get("protocol")
                .and_then(Value::as_str)
                .unwrap_or("ANY")
                .to_ascii_uppercase();
            // Port 0 (or none) is every port.
            let number = |n: u64| match n {
                0 => None,
                n => Some(u16::try_from(n).map_or(PortRef::Invalid, PortRef::Number)),
            };
            let port = match p.get("port") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.is_empty() => None,
                Some(Value::String(s)) => match s.parse::<u64>() {
                    Ok(n) => number(n),
                    Err(_) => Some(PortRef::Name(s.clone())),
                },
                Some(Value::Number(n)) => n.as_u64().map_or(Some(PortRef::Invalid), number),
                Some(_) => Some(PortRef::Invalid),
            };
            ports.push(PortRule {
                protocol,
                port,
                end_port: p
                    .get("endPort")
                    .and_then(Value::as_u64)
                    .and_then(|n| u16::try_from(n).ok()),
            });
        }
    }
    let has_ports = to_ports.is_some();
    Rule {
        index,
        // Ports without a peer admit every peer on them; no peer and no port admit nothing.
        peers: if any_peer_field {
            Some(peers)
        } else if has_ports {
            None
        } else {
            Some(Vec::new())
        },
        ports: has_ports.then_some(ports),
        undecided,
    }
}

/// Why Cilium would refuse a policy spec, if it would (its validation: one kind of peer per
/// rule, no ports with `toServices`, ICMP rules beside ports, no empty port, L7 rules on TCP
/// only, an endpoint or node selector that is an object).
fn invalid(spec: &Value) -> Option<&'static str> {
    let selector_ok = |f: &str| spec.get(f).is_none_or(Value::is_object);
    if !selector_ok("endpointSelector")
        || !selector_ok("nodeSelector")
        || (spec.get("endpointSelector").is_none() && spec.get("nodeSelector").is_none())
    {
        return Some("no endpoint or node selector");
    }
    let directions = [
        ("ingress", true),
        ("ingressDeny", true),
        ("egress", false),
        ("egressDeny", false),
    ];
    for (field, ingress) in directions {
        for r in spec
            .get(field)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let peer_kinds: &[&str] = if ingress {
                &[
                    "fromEndpoints",
                    "fromCIDR",
                    "fromCIDRSet",
                    "fromEntities",
                    "fromNodes",
                    "fromGroups",
                ]
            } else {
                &[
                    "toEndpoints",
                    "toCIDR",
                    "toCIDRSet",
                    "toEntities",
                    "toServices",
                    "toFQDNs",
                    "toNodes",
                    "toGroups",
                ]
            };
            let given = peer_kinds
                .iter()
                .filter(|f| {
                    r.get(**f)
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty())
                })
                .count();
            if given > 1 {
                return Some("two kinds of peer in one rule");
            }
            let to_ports = r
                .get("toPorts")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty());
            if to_ports.is_some()
                && (r
                    .get("toServices")
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
                    || r.get("icmps")
                        .and_then(Value::as_array)
                        .is_some_and(|a| !a.is_empty()))
            {
                return Some("ports beside toServices or ICMP rules");
            }
            for entry in to_ports.into_iter().flatten() {
                let l7 = entry.get("rules").is_some_and(|v| !v.is_null());
                for p in entry
                    .get("ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if p.get("port").and_then(Value::as_str) == Some("") {
                        return Some("an empty port");
                    }
                    let protocol = p.get("protocol").and_then(Value::as_str).unwrap_or("ANY");
                    if l7 && !["TCP", "ANY"].contains(&protocol.to_ascii_uppercase().as_str()) {
                        return Some("L7 rules on a port other than TCP");
                    }
                }
            }
        }
    }
    None
}

/// A namespaced policy's endpoint selector with its namespace requirement replaced by the
/// policy's namespace (as Cilium does).
fn in_namespace(v: &Value, namespace: &str) -> Value {
    let mut v = v.clone();
    let is_namespace = |k: &str| {
        k.strip_prefix("k8s:")
            .or(k.strip_prefix("any:"))
            .unwrap_or(k)
            == NAMESPACE
    };
    if let Some(m) = v.get_mut("matchLabels").and_then(Value::as_object_mut) {
        m.retain(|k, _| !is_namespace(k));
    }
    if let Some(es) = v.get_mut("matchExpressions").and_then(Value::as_array_mut) {
        es.retain(|e| {
            !e.get("key")
                .and_then(Value::as_str)
                .is_some_and(is_namespace)
        });
    }
    if let Some(o) = v.as_object_mut() {
        let labels = o
            .entry("matchLabels")
            .or_insert_with(|| Value::Object(serde_json::Map::new()));
        if let Some(m) = labels.as_object_mut() {
            m.insert(NAMESPACE.into(), Value::String(namespace.into()));
        }
    }
    v
}
