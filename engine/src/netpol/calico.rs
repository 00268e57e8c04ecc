//! Calico's policies (`projectcalico.org/v3` NetworkPolicy and GlobalNetworkPolicy, also as
//! stored in `crd.projectcalico.org/v1`), evaluated in Calico's order, from its policy
//! resource reference:
//!
//! - policies belong to a *tier* (`spec.tier`, `default` when left out); tiers are evaluated
//!   in their `order` (a Tier object's `spec.order`, none: last; the `default` tier's order is
//!   1,000,000 unless its object says otherwise), ties by name;
//! - within a tier, the policies that apply to the pod for the direction (`types`, defaulted as
//!   Calico defaults it: Egress alone when there are egress rules and no ingress rules, both
//!   when there are both, else Ingress) are evaluated by `order` (none: last), ties by name;
//!   Kubernetes NetworkPolicies sit in the `default` tier at order 1000 (named
//!   `knp.default.<name>`), each one rule list of allows;
//! - a policy's rules are evaluated in order, and the first that matches decides: `Allow`
//!   admits the connection, `Deny` drops it, `Pass` skips the rest of the tier to the next
//!   tier, `Log` only logs; when no rule of a tier's applying policies matches, the tier's
//!   `defaultAction` decides (`Deny` unless the Tier says `Pass`); a tier with no policy
//!   applying to the pod is skipped; when no tier decides, the pod's namespace profile admits;
//! - a policy applies to pods of its own namespace (a NetworkPolicy) or of the namespaces its
//!   `namespaceSelector` selects (a GlobalNetworkPolicy, every namespace when left out) that
//!   its `selector` and `serviceAccountSelector` select; `preDNAT` and `doNotTrack` policies
//!   apply to host endpoints only;
//! - selectors read a pod's labels and Calico's own: `projectcalico.org/namespace`,
//!   `projectcalico.org/serviceaccount`, `projectcalico.org/orchestrator`, the namespace's labels
//!   as `pcns.<key>` and the ServiceAccount's as `pcsa.<key>` (`projectcalico.org/name` giving
//!   their names); a namespace selector reads the namespace's labels and `projectcalico.org/name`;
//! - a rule matches when every field it sets matches: `protocol`/`notProtocol` (by name or
//!   number), `ipVersion`, and for `source` and `destination`: `nets`/`notNets`,
//!   `selector`/`notSelector` with `namespaceSelector` (limited to the policy's namespace in a
//!   NetworkPolicy when left out, `global()` meaning non-namespaced resources), network sets
//!   (NetworkSet, GlobalNetworkSet) whose labels a selector selects stand for their `nets`,
//!   `serviceAccounts` (names, selector), `ports`/`notPorts` (numbers, `first:last` ranges, named
//!   ports of the destination pod);
//! - an object Calico's validation refuses (a selector that does not parse, a rule without a
//!   known action, ports without a TCP/UDP/SCTP protocol, an unparsable CIDR) enforces nothing.
//!
//! Not decided here, and said so (the answer is unknown): HTTP matches (application layer
//! policy), `services` peers, source ports, a pod's address where a rule reads it, an internet
//! client against address sets other than everything, labels of a namespace or ServiceAccount
//! the input holds no object of, and the order of a tier the input holds no Tier object of.
//!
//! Staged policies (`Staged*NetworkPolicy`) enforce nothing and are not read.
//! AdminNetworkPolicies and the BaselineAdminNetworkPolicy are evaluated here too, in the tiers
//! Calico runs them in (`kube-admin`, `kube-baseline`), which is the policy API's own order (see
//! [`admin`]); without Calico's policies, the same order holds for any implementation.

use super::{and, not, or, yes, Answer, Cidr, Party, Pods, NAMESPACE_NAME_LABEL};
use crate::calico::Selector;
use crate::inventory::Inventory;
use crate::object::Object;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The API groups Calico's policies are read from.
const GROUPS: &[&str] = &["projectcalico.org", "crd.projectcalico.org"];
/// The Calico policy kinds evaluated here.
pub(super) const POLICY_KINDS: &[&str] = &["NetworkPolicy", "GlobalNetworkPolicy"];
/// Other Calico kinds the evaluation reads.
pub(crate) const SUPPORT_KINDS: &[&str] = &["Tier", "NetworkSet", "GlobalNetworkSet"];
/// The tier of policies that name none, and of Kubernetes NetworkPolicies.
const DEFAULT_TIER: &str = "default";
/// The `default` tier's order when its Tier object is not in the input.
const DEFAULT_TIER_ORDER: f64 = 1_000_000.0;
/// The order Calico gives Kubernetes NetworkPolicies in the `default` tier.
const KUBERNETES_ORDER: f64 = 1000.0;
/// The label Calico gives a namespace's and a ServiceAccount's name.
const NAME: &str = "projectcalico.org/name";
/// The prefixes of the namespace's and ServiceAccount's labels on a pod.
const NAMESPACE_PREFIX: &str = "pcns.";
const SERVICE_ACCOUNT_PREFIX: &str = "pcsa.";

/// Whether an object is one of Calico's (by API group).
pub(super) fn is_calico(o: &Object) -> bool {
    GROUPS.contains(&o.api_group())
}

/// Whether an object is a Calico policy read here.
pub(super) fn is_policy(o: &Object) -> bool {
    is_calico(o) && POLICY_KINDS.contains(&o.kind.as_str())
}

/// Whether an object is a Calico Tier or network set (read by the evaluation).
pub(crate) fn is_support(o: &Object) -> bool {
    is_calico(o) && SUPPORT_KINDS.contains(&o.kind.as_str())
}

/// A Calico policy's reference: the kind with Calico's group where the Kubernetes API has a
/// kind of the same name (`NetworkPolicy.projectcalico.org:shop/web`).
pub(super) fn reference(o: &Object) -> String {
    let r = o.node_ref();
    match r.strip_prefix("NetworkPolicy:") {
        Some(rest) => format!("NetworkPolicy.projectcalico.org:{rest}"),
        None => r,
    }
}

/// Whether a reference (of [`super::plugin_policies`]) names a Calico policy or Calico's CRDs.
pub(super) fn is_calico_reference(reference: &str) -> bool {
    is_policy_reference(reference)
        || (reference.starts_with("CustomResourceDefinition:")
            && reference.ends_with(".projectcalico.org"))
}

/// Whether a reference names a Calico policy (the input carries Calico's policies).
pub(super) fn is_policy_reference(reference: &str) -> bool {
    reference.starts_with("NetworkPolicy.projectcalico.org:")
        || reference.starts_with("GlobalNetworkPolicy:")
}

/// Whether a reference names an AdminNetworkPolicy or BaselineAdminNetworkPolicy (the input
/// carries them).
pub(super) fn is_admin_policy_reference(reference: &str) -> bool {
    admin::KINDS
        .iter()
        .any(|k| reference.starts_with(&format!("{k}:")))
}

/// Whether a reference names one of the policy API's policies read here, or its CRD.
pub(super) fn is_admin_reference(reference: &str) -> bool {
    is_admin_policy_reference(reference)
        || [
            "CustomResourceDefinition:adminnetworkpolicies.policy.networking.k8s.io",
            "CustomResourceDefinition:baselineadminnetworkpolicies.policy.networking.k8s.io",
        ]
        .contains(&reference)
}

/// The kinds whose absence for want of permission (a coverage gap) leaves the ordered
/// evaluation without some of what decides.
pub(super) const GAP_KINDS: &[&str] = &[
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "Tier",
    "NetworkSet",
    "GlobalNetworkSet",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
];

/// What Calico's evaluation reads: its policies, tiers, network sets and the labels of
/// ServiceAccounts.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Calico {
    pub(super) policies: Vec<Policy>,
    tiers: BTreeMap<String, Tier>,
    sets: Vec<NetworkSet>,
    /// Namespace → name → labels of the ServiceAccounts the input holds.
    service_accounts: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>>,
    /// Namespace → indices of its policies (global ones under the empty name).
    by_namespace: BTreeMap<String, Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Tier {
    order: Option<f64>,
    /// `defaultAction: Pass` (else Deny).
    pass: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct NetworkSet {
    reference: String,
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
    nets: Vec<Cidr>,
}

/// One Calico policy.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Policy {
    pub(super) reference: String,
    /// The name it is ordered by within its order.
    name: String,
    /// Its namespace; `None` for a GlobalNetworkPolicy.
    namespace: Option<String>,
    tier: String,
    order: Option<f64>,
    selector: Selector,
    namespace_selector: Option<Selector>,
    service_account_selector: Option<Selector>,
    /// `None`: the policy does not apply to this direction.
    pub(super) ingress: Option<Vec<Rule>>,
    pub(super) egress: Option<Vec<Rule>>,
}

impl Policy {
    /// Its rules, ingress then egress.
    fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.ingress.iter().chain(self.egress.iter()).flatten()
    }

    /// The entities of its rules, sources and destinations.
    fn entities(&self) -> impl Iterator<Item = &Entity> + Clone {
        self.ingress
            .iter()
            .chain(self.egress.iter())
            .flatten()
            .flat_map(|r| [&r.source, &r.destination])
    }
}

/// One rule of a Calico policy.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Rule {
    index: usize,
    action: Action,
    protocol: Option<u8>,
    not_protocol: Option<u8>,
    ip_version: Option<u8>,
    pub(super) source: Entity,
    pub(super) destination: Entity,
    /// Why the rule's match is not decided here, when its other fields match.
    undecided: Option<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Allow,
    Deny,
    Pass,
    Log,
}

/// The `source` or `destination` of a rule.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Entity {
    pub(super) nets: Vec<Cidr>,
    pub(super) not_nets: Vec<Cidr>,
    pub(super) selector: Option<Selector>,
    pub(super) not_selector: Option<Selector>,
    pub(super) namespace_selector: Option<Selector>,
    pub(super) ports: Vec<Port>,
    pub(super) not_ports: Vec<Port>,
    /// `serviceAccounts`: names (empty: any) and a selector over their labels.
    pub(super) service_accounts: Option<(Vec<String>, Option<Selector>)>,
    /// `services` (not decided here).
    services: bool,
    /// Whether the selectors match endpoints only, never network sets (the policy API's
    /// peers).
    pub(super) endpoints_only: bool,
    /// A peer that is never a pod of the pod network and whose addresses are not in the input
    /// (the policy API's `nodes` and `domainNames`), and what it is.
    pub(super) outside_pods: Option<&'static str>,
}

impl Entity {
    /// Whether the entity names ports.
    pub(super) fn has_ports(&self) -> bool {
        !self.ports.is_empty() || !self.not_ports.is_empty()
    }
}

/// A port, a range or a named port.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Port {
    Range(u16, u16),
    Name(String),
}

/// A protocol's number, from a name Calico accepts or a number.
fn protocol_number(v: &Value) -> Option<u8> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u8::try_from(n).ok()),
        Value::String(s) => match s.as_str() {
            "TCP" | "tcp" => Some(6),
            "UDP" | "udp" => Some(17),
            "ICMP" | "icmp" => Some(1),
            "ICMPv6" | "icmpv6" => Some(58),
            "SCTP" | "sctp" => Some(132),
            "UDPLite" | "udplite" => Some(136),
            other => other.parse().ok(),
        },
        _ => None,
    }
}

/// A connection's protocol number: `TCP`, `UDP` or `SCTP` in any case (as ports name them),
/// or a number.
fn connection_protocol(protocol: &str) -> Option<u8> {
    [("TCP", 6), ("UDP", 17), ("SCTP", 132)]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(protocol))
        .map(|(_, n)| n)
        .or_else(|| protocol.parse().ok())
}

/// An optional selector field: `Ok(None)` when absent, `Err` when it does not parse (Calico
/// refuses the object).
fn selector_field(v: &Value, field: &str) -> Result<Option<Selector>, ()> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        // Calico reads an empty selector as no selector.
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Selector::parse(s).map(Some).map_err(|_| ()),
        Some(_) => Err(()),
    }
}

/// A list of CIDRs (a bare address is its own /32 or /128).
fn nets(v: &Value, field: &str) -> Result<Vec<Cidr>, ()> {
    v.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|n| {
            let text = n.as_str().ok_or(())?;
            match text.parse::<IpAddr>() {
                Ok(ip) => Ok(Cidr {
                    network: ip,
                    prefix: if ip.is_ipv4() { 32 } else { 128 },
                }),
                Err(_) => Cidr::parse(text).ok_or(()),
            }
        })
        .collect()
}

fn ports(v: &Value, field: &str) -> Result<Vec<Port>, ()> {
    v.get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| match p {
            Value::Number(n) => {
                let n = n.as_u64().and_then(|n| u16::try_from(n).ok()).ok_or(())?;
                Ok(Port::Range(n, n))
            }
            Value::String(s) => {
                if let Some((a, b)) = s.split_once(':') {
                    let (a, b) = (
                        a.parse::<u16>().map_err(|_| ())?,
                        b.parse().map_err(|_| ())?,
                    );
                    return if a <= b {
                        Ok(Port::Range(a, b))
                    } else {
                        Err(())
                    };
                }
                match s.parse::<u16>() {
                    Ok(n) => Ok(Port::Range(n, n)),
                    Err(_) if !s.is_empty() => Ok(Port::Name(s.clone())),
                    Err(_) => Err(()),
                }
            }
            _ => Err(()),
        })
        .collect()
}

fn entity(v: Option<&Value>) -> Result<Entity, ()> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Entity::default());
    };
    let service_accounts = match v.get("serviceAccounts").filter(|s| !s.is_null()) {
        None => None,
        Some(sa) => {
            let names = sa
                .get("names")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|n| n.as_str().map(str::to_string).ok_or(()))
                .collect::<Result<Vec<_>, ()>>()?;
            let selector = selector_field(sa, "selector")?;
            // `serviceAccounts: {}` restricts nothing.
            (!names.is_empty() || selector.is_some()).then_some((names, selector))
        }
    };
    Ok(Entity {
        nets: nets(v, "nets")?,
        not_nets: nets(v, "notNets")?,
        selector: selector_field(v, "selector")?,
        not_selector: selector_field(v, "notSelector")?,
        namespace_selector: selector_field(v, "namespaceSelector")?,
        ports: ports(v, "ports")?,
        not_ports: ports(v, "notPorts")?,
        service_accounts,
        services: v.get("services").is_some_and(|s| !s.is_null()),
        endpoints_only: false,
        outside_pods: None,
    })
}

fn rules(list: Option<&Value>) -> Result<Vec<Rule>, ()> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, r)| {
            let action = match r.get("action").and_then(Value::as_str) {
                Some("Allow") => Action::Allow,
                Some("Deny") => Action::Deny,
                Some("Pass") => Action::Pass,
                Some("Log") => Action::Log,
                _ => return Err(()),
            };
            let protocol = match r.get("protocol") {
                None | Some(Value::Null) => None,
                Some(p) => Some(protocol_number(p).ok_or(())?),
            };
            let not_protocol = match r.get("notProtocol") {
                None | Some(Value::Null) => None,
                Some(p) => Some(protocol_number(p).ok_or(())?),
            };
            let source = entity(r.get("source"))?;
            let destination = entity(r.get("destination"))?;
            // Ports need a protocol that has them.
            if (source.has_ports() || destination.has_ports())
                && !matches!(protocol, Some(6 | 17 | 132))
            {
                return Err(());
            }
            let ip_version = match r.get("ipVersion").and_then(Value::as_u64) {
                None => None,
                Some(v @ (4 | 6)) => Some(v as u8),
                Some(_) => return Err(()),
            };
            let undecided = if r.get("http").is_some_and(|h| !h.is_null()) {
                Some("an HTTP match (application layer policy)")
            } else if source.services || destination.services {
                Some("a `services` peer")
            } else if source.has_ports() {
                Some("source ports")
            } else {
                None
            };
            Ok(Rule {
                index,
                action,
                protocol,
                not_protocol,
                ip_version,
                source,
                destination,
                undecided,
            })
        })
        .collect()
}

/// The policy an object holds, if Calico accepts it and it applies to pods.
fn policy(o: &Object) -> Option<Policy> {
    let spec = o.body.get("spec").unwrap_or(&Value::Null);
    let flag = |k: &str| spec.get(k).and_then(Value::as_bool) == Some(true);
    if flag("preDNAT") || flag("doNotTrack") {
        return None;
    }
    let global = o.kind == "GlobalNetworkPolicy";
    let selector = selector_field(spec, "selector")
        .ok()?
        .unwrap_or(Selector::All);
    let namespace_selector = if global {
        selector_field(spec, "namespaceSelector").ok()?
    } else {
        None
    };
    let service_account_selector = selector_field(spec, "serviceAccountSelector").ok()?;
    let ingress_rules = rules(spec.get("ingress")).ok()?;
    let egress_rules = rules(spec.get("egress")).ok()?;
    let types: Option<Vec<&str>> = spec
        .get("types")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
        .map(|t| t.iter().filter_map(Value::as_str).collect());
    let (ingress, egress) = match types {
        Some(t) => (t.contains(&"Ingress"), t.contains(&"Egress")),
        None => match (ingress_rules.is_empty(), egress_rules.is_empty()) {
            (true, false) => (false, true),
            (false, false) => (true, true),
            _ => (true, false),
        },
    };
    Some(Policy {
        reference: reference(o),
        name: o.name.clone(),
        namespace: (!global).then(|| o.effective_namespace().unwrap_or("default").to_string()),
        tier: spec
            .get("tier")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_TIER)
            .to_string(),
        order: spec.get("order").and_then(Value::as_f64),
        selector,
        namespace_selector,
        service_account_selector,
        ingress: ingress.then_some(ingress_rules),
        egress: egress.then_some(egress_rules),
    })
}

impl Calico {
    /// Calico's objects of `inv`, or `None` when it holds no Calico policy (then none are
    /// evaluated: see [`super::unevaluated`]). `shared`: only what every namespace's pods are
    /// evaluated with (GlobalNetworkPolicies, tiers, network sets and every ServiceAccount's
    /// labels, which a rule may read on a peer of any namespace; no namespaced policy).
    pub(super) fn of(inv: &Inventory<'_>, shared: bool) -> Option<Calico> {
        let objects = |kinds: &'static [&'static str]| {
            kinds
                .iter()
                .flat_map(|k| inv.of_kind(k).iter())
                .filter(|o| is_calico(o))
        };
        let admin_objects = || {
            admin::KINDS
                .iter()
                .flat_map(|k| inv.of_kind(k).iter())
                .filter(|o| admin::is_policy(o))
        };
        let carried = objects(POLICY_KINDS).next().is_some() || admin_objects().next().is_some();
        if !carried {
            return None;
        }
        let mut policies: Vec<Policy> = objects(POLICY_KINDS)
            .filter(|o| !shared || o.kind == "GlobalNetworkPolicy")
            .filter_map(|o| policy(o))
            .chain(admin_objects().filter_map(|o| admin::policy(o)))
            .collect();
        policies.sort_by(|a, b| a.reference.cmp(&b.reference));
        // The tiers Calico runs the policy API's policies in, which pass on what they do not
        // decide (its Tier objects, when the input holds them, say the same).
        let mut tiers = BTreeMap::new();
        for (name, order) in [admin::ADMIN_TIER, admin::BASELINE_TIER] {
            tiers.insert(
                name.to_string(),
                Tier {
                    order: Some(order),
                    pass: true,
                },
            );
        }
        let mut sets = Vec::new();
        for o in objects(SUPPORT_KINDS) {
            let spec = o.body.get("spec").unwrap_or(&Value::Null);
            if o.kind == "Tier" {
                tiers.insert(
                    o.name.clone(),
                    Tier {
                        order: spec.get("order").and_then(Value::as_f64),
                        pass: spec.get("defaultAction").and_then(Value::as_str) == Some("Pass"),
                    },
                );
            } else if let Ok(nets) = nets(spec, "nets") {
                sets.push(NetworkSet {
                    reference: o.node_ref(),
                    namespace: (o.kind == "NetworkSet")
                        .then(|| o.effective_namespace().unwrap_or("default").to_string()),
                    labels: o.labels.clone(),
                    nets,
                });
            }
        }
        let mut service_accounts: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> =
            BTreeMap::new();
        for sa in inv.of_kind("ServiceAccount") {
            service_accounts
                .entry(sa.effective_namespace().unwrap_or("default").to_string())
                .or_default()
                .insert(sa.name.clone(), sa.labels.clone());
        }
        let mut calico = Calico {
            policies,
            tiers,
            sets,
            service_accounts,
            by_namespace: BTreeMap::new(),
        };
        calico.index();
        Some(calico)
    }

    /// Adds what another model of the same cluster holds (see [`super::Model::merge`]).
    pub(super) fn merge(&mut self, other: &Calico) {
        super::merge_by_reference(&mut self.policies, &other.policies, |p| &p.reference);
        self.index();
        for (k, v) in &other.tiers {
            self.tiers.insert(k.clone(), v.clone());
        }
        super::merge_by_reference(&mut self.sets, &other.sets, |s| &s.reference);
        for (ns, accounts) in &other.service_accounts {
            let mine = self.service_accounts.entry(ns.clone()).or_default();
            for (name, labels) in accounts {
                mine.insert(name.clone(), labels.clone());
            }
        }
    }

    /// The label keys Calico's selectors read on pods (for segments: pods that agree on them,
    /// their namespace and ServiceAccount are told apart by no Calico selector).
    pub(super) fn pod_keys(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .selectors()
            .flat_map(|s| s.keys())
            .map(str::to_string)
            .collect();
        // A pod's own `pcns.`/`pcsa.` labels override its namespace's and ServiceAccount's.
        for p in &self.policies {
            let entities = p.entities();
            let namespace_selectors = p
                .namespace_selector
                .iter()
                .chain(entities.clone().flat_map(|e| e.namespace_selector.iter()));
            for sel in namespace_selectors {
                out.extend(sel.keys().iter().map(|k| format!("{NAMESPACE_PREFIX}{k}")));
            }
            let account_selectors = p.service_account_selector.iter().chain(
                entities.flat_map(|e| e.service_accounts.iter().flat_map(|(_, s)| s.iter())),
            );
            for sel in account_selectors {
                out.extend(
                    sel.keys()
                        .iter()
                        .map(|k| format!("{SERVICE_ACCOUNT_PREFIX}{k}")),
                );
            }
        }
        out
    }

    /// The address ranges Calico's rules and network sets read (a pod's address is tested
    /// against them; `0.0.0.0/0` where a rule reads the IP version, which tells the families
    /// apart).
    pub(super) fn blocks(&self) -> Vec<Cidr> {
        let mut out: Vec<Cidr> = self.sets.iter().flat_map(|s| s.nets.clone()).collect();
        let ip_version = self
            .policies
            .iter()
            .any(|p| p.rules().any(|r| r.ip_version.is_some()));
        if ip_version {
            out.push(Cidr {
                network: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                prefix: 0,
            });
        }
        for e in self.policies.iter().flat_map(Policy::entities) {
            out.extend(e.nets.iter().chain(&e.not_nets).copied());
        }
        out
    }

    /// The selectors of the policies and their rules' entities.
    fn selectors(&self) -> impl Iterator<Item = &Selector> {
        self.policies.iter().flat_map(|p| {
            std::iter::once(&p.selector)
                .chain(p.entities().flat_map(|e| {
                    e.selector
                        .iter()
                        .chain(e.not_selector.iter())
                        .chain(e.service_accounts.iter().flat_map(|(_, s)| s.iter()))
                }))
                .chain(p.service_account_selector.iter())
        })
    }

    /// Whether some policy tells pods apart by their ServiceAccount (its name or labels).
    pub(super) fn reads_service_accounts(&self) -> bool {
        self.policies.iter().any(|p| {
            p.service_account_selector.is_some()
                || p.entities().any(|e| e.service_accounts.is_some())
        }) || self.selectors().any(|s| {
            s.keys().iter().any(|k| {
                k.starts_with(SERVICE_ACCOUNT_PREFIX) || *k == "projectcalico.org/serviceaccount"
            })
        })
    }

    /// Whether some policy tells pods apart by their namespace beyond the namespaces that have
    /// Calico policies ([`Calico::policy_namespaces`]): a namespace selector, or a selector on
    /// the namespace or its labels.
    pub(super) fn reads_namespaces(&self) -> bool {
        self.policies.iter().any(|p| {
            p.namespace_selector.is_some() || p.entities().any(|e| e.namespace_selector.is_some())
        }) || self.selectors().any(|s| {
            s.keys()
                .iter()
                .any(|k| k.starts_with(NAMESPACE_PREFIX) || *k == "projectcalico.org/namespace")
        })
    }

    /// The namespaces that have namespaced Calico policies (their pods, and peers in them,
    /// are told apart from other namespaces').
    pub(super) fn policy_namespaces(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().filter_map(|p| p.namespace.as_deref())
    }

    /// Whether some rule names destination ports or a protocol (then ports, and the protocol
    /// they listen with, tell destinations apart).
    pub(super) fn rules_read_ports(&self) -> bool {
        self.policies.iter().any(|p| {
            p.rules().any(|r| {
                r.destination.has_ports() || r.protocol.is_some() || r.not_protocol.is_some()
            })
        })
    }

    /// Whether a selector over namespace labels (and `projectcalico.org/name`) selects a
    /// namespace; labels of a namespace with no Namespace object are unknown but its name.
    fn namespace_selects(&self, namespaces: &Namespaces, sel: &Selector, ns: &str) -> Answer {
        partly(sel.eval(&|k| namespace_label(namespaces, ns, k)))
    }

    /// Whether a namespace selector selects the pods' namespace as Calico decides it: on the
    /// endpoint's `pcns.`-prefixed labels, which it inherits from its namespace but its own
    /// labels override (a pod can carry `pcns.team: ops` itself).
    fn pod_namespace_selects(
        &self,
        namespaces: &Namespaces,
        sel: &Selector,
        pods: &Pods,
    ) -> Answer {
        partly(sel.eval(&|k| match own_label(pods, NAMESPACE_PREFIX, k) {
            Some(v) => Some(Some(v)),
            None => namespace_label(namespaces, &pods.namespace, k),
        }))
    }

    /// The labels of the pods' ServiceAccount, when the input holds it.
    fn service_account(&self, pods: &Pods) -> Option<&BTreeMap<String, String>> {
        self.service_accounts
            .get(&pods.namespace)?
            .get(&pods.service_account)
    }

    /// Whether a selector over ServiceAccount labels (and `projectcalico.org/name`) selects
    /// the pods' ServiceAccount (on the endpoint's `pcsa.` labels, its own overriding them).
    fn service_account_selects(&self, sel: &Selector, pods: &Pods) -> Answer {
        partly(
            sel.eval(&|k| match own_label(pods, SERVICE_ACCOUNT_PREFIX, k) {
                Some(v) => Some(Some(v)),
                None => self.service_account_label(pods, k),
            }),
        )
    }

    /// A label of the pods' ServiceAccount as selectors read it: `projectcalico.org/name` is
    /// its name; the others are unknown when the input holds no object of it.
    fn service_account_label<'p>(&'p self, pods: &'p Pods, key: &str) -> Option<Option<&'p str>> {
        if key == NAME {
            return Some(
                (!pods.service_account.is_empty()).then_some(pods.service_account.as_str()),
            );
        }
        self.service_account(pods)
            .map(|l| l.get(key).map(String::as_str))
    }

    /// Whether a selector over endpoint labels selects the pods: their labels, and Calico's
    /// (namespace, orchestrator, ServiceAccount, which it sets; `pcns.*` namespace labels and
    /// `pcsa.*` ServiceAccount labels, which the pod's own labels override).
    fn pod_selects(&self, namespaces: &Namespaces, sel: &Selector, pods: &Pods) -> Answer {
        partly(sel.eval(&|k| {
            match k {
                "projectcalico.org/namespace" => return Some(Some(pods.namespace.as_str())),
                "projectcalico.org/orchestrator" => return Some(Some("k8s")),
                "projectcalico.org/serviceaccount" => {
                    return self.service_account_label(pods, NAME)
                }
                _ => {}
            }
            if let Some(v) = pods.labels.get(k) {
                return Some(Some(v.as_str()));
            }
            if let Some(rest) = k.strip_prefix(NAMESPACE_PREFIX) {
                return namespace_label(namespaces, &pods.namespace, rest);
            }
            if let Some(rest) = k.strip_prefix(SERVICE_ACCOUNT_PREFIX) {
                return self.service_account_label(pods, rest);
            }
            Some(None)
        }))
    }

    /// Whether a selector over endpoint labels selects a network set: its labels, and for a
    /// namespaced one `projectcalico.org/namespace` and its namespace's `pcns.*` labels.
    fn set_selects(&self, namespaces: &Namespaces, sel: &Selector, set: &NetworkSet) -> Answer {
        let ns = set.namespace.as_deref();
        partly(sel.eval(&|k| {
            if k == "projectcalico.org/namespace" {
                return Some(ns);
            }
            if let Some(v) = set.labels.get(k) {
                return Some(Some(v.as_str()));
            }
            match (k.strip_prefix(NAMESPACE_PREFIX), ns) {
                (Some(rest), Some(n)) => namespace_label(namespaces, n, rest),
                _ => Some(None),
            }
        }))
    }

    /// The policies that may apply to pods of a namespace: its own and the global ones.
    fn policies_for<'c>(&'c self, namespace: &str) -> impl Iterator<Item = &'c Policy> + 'c {
        let own = self.by_namespace.get(namespace);
        let global = self.by_namespace.get("");
        own.into_iter()
            .chain(global)
            .flatten()
            .map(|i| &self.policies[*i])
    }

    /// Rebuilds [`Calico::by_namespace`] (global policies under the empty name).
    fn index(&mut self) {
        self.by_namespace.clear();
        for (i, p) in self.policies.iter().enumerate() {
            self.by_namespace
                .entry(p.namespace.clone().unwrap_or_default())
                .or_default()
                .push(i);
        }
    }

    /// Whether a policy applies to the pods.
    fn applies(&self, namespaces: &Namespaces, p: &Policy, pods: &Pods) -> Answer {
        let scope = match (&p.namespace, &p.namespace_selector) {
            (Some(ns), _) => yes(*ns == pods.namespace),
            (None, None) => Answer::Yes,
            (None, Some(sel)) => self.pod_namespace_selects(namespaces, sel, pods),
        };
        if scope == Answer::No {
            return Answer::No;
        }
        let selector = and(scope, self.pod_selects(namespaces, &p.selector, pods));
        if selector == Answer::No {
            return Answer::No;
        }
        let sa = p
            .service_account_selector
            .as_ref()
            .map_or(Answer::Yes, |s| self.service_account_selects(s, pods));
        and(selector, sa)
    }

    /// Whether Calico applies some policy to the pods for a direction (yes, or maybe).
    pub(super) fn isolates(&self, namespaces: &Namespaces, pods: &Pods, egress: bool) -> bool {
        self.policies_for(&pods.namespace).any(|p| {
            direction(p, egress).is_some() && self.applies(namespaces, p, pods) != Answer::No
        })
    }

    /// The namespace scope of an entity rule: its `namespaceSelector`, else the policy's
    /// namespace for a NetworkPolicy (Calico adds it whenever the entity has a selector, a
    /// `notSelector`, a `namespaceSelector` or `serviceAccounts`), else none.
    fn in_scope(
        &self,
        namespaces: &Namespaces,
        policy: &Policy,
        e: &Entity,
        pods: &Pods,
    ) -> Answer {
        match (&e.namespace_selector, &policy.namespace) {
            (Some(sel), _) => self.pod_namespace_selects(namespaces, sel, pods),
            (None, Some(ns)) => yes(*ns == pods.namespace),
            (None, None) => Answer::Yes,
        }
    }

    /// Whether a network set is in an entity's scope (see [`Calico::in_scope`]): a namespace
    /// selector reads the set's namespace labels (a global set has none, and `global()`
    /// selects it).
    fn set_in_scope(
        &self,
        namespaces: &Namespaces,
        policy: &Policy,
        e: &Entity,
        set: &NetworkSet,
    ) -> Answer {
        match (&e.namespace_selector, &set.namespace) {
            (Some(sel), Some(ns)) => self.namespace_selects(namespaces, sel, ns),
            (Some(sel), None) => partly(sel.eval_global(&|_| Some(None))),
            (None, ns) => match &policy.namespace {
                Some(own) => yes(ns.as_deref() == Some(own.as_str())),
                None => Answer::Yes,
            },
        }
    }

    /// Whether the party is an address of a network set `sel` selects (in the entity's scope
    /// when `scoped`).
    #[allow(clippy::too_many_arguments)]
    fn in_sets(
        &self,
        namespaces: &Namespaces,
        policy: &Policy,
        e: &Entity,
        sel: &Selector,
        party: Ep<'_>,
        scoped: bool,
    ) -> Answer {
        let mut out = Answer::No;
        for set in &self.sets {
            if set.nets.is_empty() {
                continue;
            }
            let scope = if scoped {
                self.set_in_scope(namespaces, policy, e, set)
            } else {
                Answer::Yes
            };
            if scope == Answer::No {
                continue;
            }
            let selected = and(scope, self.set_selects(namespaces, sel, set));
            if selected == Answer::No {
                continue;
            }
            out = or(out, and(selected, address_in(&set.nets, party)));
            if out == Answer::Yes {
                break;
            }
        }
        out
    }

    /// Whether a selector selects the party: pods by their labels, addresses by the network
    /// sets it selects; in the entity's namespace scope when `scoped` (a `notSelector` is not).
    #[allow(clippy::too_many_arguments)]
    fn selects_party(
        &self,
        namespaces: &Namespaces,
        policy: &Policy,
        e: &Entity,
        sel: &Selector,
        party: Ep<'_>,
        scoped: bool,
    ) -> Answer {
        let endpoint = match party {
            Ep::Pods(p) => {
                let scope = if scoped {
                    self.in_scope(namespaces, policy, e, p)
                } else {
                    Answer::Yes
                };
                match scope {
                    Answer::No => Answer::No,
                    scope => and(scope, self.pod_selects(namespaces, sel, p)),
                }
            }
            // Its namespace and labels unknown: only what selects every pod in scope surely
            // selects it.
            Ep::AnyPod => {
                let scope = if scoped {
                    match (&e.namespace_selector, &policy.namespace) {
                        (Some(sel), _) => unknown_labels(sel),
                        (None, Some(_)) => Answer::Unknown,
                        (None, None) => Answer::Yes,
                    }
                } else {
                    Answer::Yes
                };
                and(scope, unknown_labels(sel))
            }
            Ep::Address(_) | Ep::Outside => Answer::No,
        };
        if endpoint == Answer::Yes || self.sets.is_empty() || e.endpoints_only {
            return endpoint;
        }
        or(
            endpoint,
            self.in_sets(namespaces, policy, e, sel, party, scoped),
        )
    }

    /// Whether an entity rule matches the party, with the connection's port when the entity
    /// is the destination.
    fn entity_matches(
        &self,
        namespaces: &Namespaces,
        policy: &Policy,
        e: &Entity,
        party: Ep<'_>,
        port: Option<(u16, &str)>,
    ) -> Answer {
        let mut out = Answer::Yes;
        if port == Some(super::EVERY_PORT) {
            // Every port: a rule naming some may or may not match.
            if !e.ports.is_empty() || !e.not_ports.is_empty() {
                out = Answer::Unknown;
            }
        } else if let Some((port, protocol)) = port {
            let named = match party {
                Ep::Pods(p) => Some(p),
                Ep::Address(_) | Ep::Outside | Ep::AnyPod => None,
            };
            let hit = |list: &[Port]| {
                list.iter().any(|r| match r {
                    Port::Range(a, b) => (*a..=*b).contains(&port),
                    Port::Name(n) => named.is_some_and(|d| d.names_port(n, port, protocol)),
                })
            };
            if (!e.ports.is_empty() && !hit(&e.ports)) || hit(&e.not_ports) {
                return Answer::No;
            }
        }
        if e.outside_pods.is_some() {
            out = match party {
                Ep::Pods(_) | Ep::AnyPod => Answer::No,
                Ep::Address(_) | Ep::Outside => Answer::Unknown,
            };
        }
        if !e.nets.is_empty() {
            out = and(out, address_in(&e.nets, party));
        }
        if !e.not_nets.is_empty() {
            out = and(out, not(address_in(&e.not_nets, party)));
        }
        if out == Answer::No {
            return out;
        }
        // The positive selector, in the namespace scope: a NetworkPolicy's namespace applies
        // whenever the entity selects at all.
        let selects = e.selector.is_some()
            || e.not_selector.is_some()
            || e.namespace_selector.is_some()
            || e.service_accounts.is_some();
        let scoped = e.namespace_selector.is_some() || policy.namespace.is_some();
        if e.selector.is_some() || (selects && scoped) {
            let sel = e.selector.as_ref().unwrap_or(&Selector::All);
            out = and(
                out,
                self.selects_party(namespaces, policy, e, sel, party, true),
            );
            if out == Answer::No {
                return out;
            }
        }
        if let Some(sel) = &e.not_selector {
            out = and(
                out,
                not(self.selects_party(namespaces, policy, e, sel, party, false)),
            );
        }
        if let Some((names, sel)) = &e.service_accounts {
            let m = match party {
                Ep::Pods(p) => {
                    let named = yes(names.is_empty() || names.contains(&p.service_account));
                    let selected = sel
                        .as_ref()
                        .map_or(Answer::Yes, |s| self.service_account_selects(s, p));
                    and(named, selected)
                }
                Ep::AnyPod => {
                    let named = super::surely(names.is_empty());
                    and(named, sel.as_ref().map_or(Answer::Yes, unknown_labels))
                }
                Ep::Address(_) | Ep::Outside => Answer::No,
            };
            out = and(out, m);
        }
        out
    }

    /// Whether a rule matches the connection between `pod` (the policy's) and `other`.
    #[allow(clippy::too_many_arguments)]
    fn rule_matches(
        &self,
        namespaces: &Namespaces,
        policy: &Policy,
        rule: &Rule,
        pod: Ep<'_>,
        other: Ep<'_>,
        (port, protocol): (u16, &str),
        egress: bool,
    ) -> Answer {
        let mut out = Answer::Yes;
        if (port, protocol) == super::EVERY_PORT {
            // Every protocol: a rule naming one may or may not match.
            if rule.protocol.is_some() || rule.not_protocol.is_some() {
                out = Answer::Unknown;
            }
        } else {
            let number = connection_protocol(protocol);
            if rule.protocol.is_some_and(|p| Some(p) != number)
                || rule.not_protocol.is_some_and(|p| Some(p) == number)
            {
                return Answer::No;
            }
        }
        let (src, dst) = if egress { (pod, other) } else { (other, pod) };
        if let Some(v) = rule.ip_version {
            // The family of either known address is the connection's.
            let family = [src, dst]
                .iter()
                .find_map(|p| match p {
                    Ep::Address(ip) => Some(*ip),
                    Ep::Pods(Pods { ip: Some(ip), .. }) => Some(*ip),
                    _ => None,
                })
                .map_or(Answer::Unknown, |ip| yes(ip.is_ipv4() == (v == 4)));
            out = and(out, family);
            if out == Answer::No {
                return out;
            }
        }
        out = and(
            out,
            self.entity_matches(
                namespaces,
                policy,
                &rule.destination,
                dst,
                Some((port, protocol)),
            ),
        );
        if out == Answer::No {
            return out;
        }
        out = and(
            out,
            self.entity_matches(namespaces, policy, &rule.source, src, None),
        );
        match (out, rule.undecided) {
            (Answer::No, _) => Answer::No,
            (_, Some(_)) => Answer::Unknown,
            (a, None) => a,
        }
    }
}

/// A label of namespace `ns` as selectors read it: its name under `projectcalico.org/name` and
/// `kubernetes.io/metadata.name`; the others are unknown when the input holds no object of it.
fn namespace_label<'n>(
    namespaces: &'n Namespaces,
    ns: &'n str,
    key: &str,
) -> Option<Option<&'n str>> {
    if key == NAME || key == NAMESPACE_NAME_LABEL {
        return Some(Some(ns));
    }
    namespaces.get(ns).map(|l| l.get(key).map(String::as_str))
}

/// The pods' own label `prefix` + `key` (`pcns.team`): Calico lets it override the label its
/// namespace or ServiceAccount gives them.
fn own_label<'p>(pods: &'p Pods, prefix: &str, key: &str) -> Option<&'p str> {
    pods.labels
        .iter()
        .find(|(k, _)| k.strip_prefix(prefix) == Some(key))
        .map(|(_, v)| v.as_str())
}

/// Namespace → its labels (with `kubernetes.io/metadata.name`), for the namespaces the input
/// holds an object of.
type Namespaces = BTreeMap<String, BTreeMap<String, String>>;

/// One end of a connection, borrowed.
#[derive(Debug, Clone, Copy)]
enum Ep<'a> {
    Pods(&'a Pods),
    Address(IpAddr),
    Outside,
    /// Some pod, which one unknown ([`Party::AnyPod`]).
    AnyPod,
}

impl<'a> Ep<'a> {
    fn of(party: &'a Party) -> Ep<'a> {
        match party {
            Party::Pods(p) => Ep::Pods(p),
            Party::Address(ip) => Ep::Address(*ip),
            Party::Outside => Ep::Outside,
            Party::AnyPod => Ep::AnyPod,
        }
    }
}

/// A policy's rules for a direction, when it applies to the direction.
fn direction(p: &Policy, egress: bool) -> Option<&[Rule]> {
    if egress {
        p.egress.as_deref()
    } else {
        p.ingress.as_deref()
    }
}

/// Whether the party's address is in one of the ranges: unknown for an internet client
/// unless the ranges hold every address of both families, and for pods of unknown address
/// unless no pod's address can be in them (see [`Cidr::holds_no_pod`]).
fn address_in(ranges: &[Cidr], party: Ep<'_>) -> Answer {
    let ip = match party {
        Ep::Address(ip) => ip,
        Ep::Pods(Pods { ip: Some(ip), .. }) => *ip,
        Ep::Pods(_) | Ep::AnyPod if ranges.iter().all(Cidr::holds_no_pod) => return Answer::No,
        Ep::Pods(_) | Ep::AnyPod => return Answer::Unknown,
        Ep::Outside if super::every_address_in(ranges.iter()) => return Answer::Yes,
        Ep::Outside => return Answer::Unknown,
    };
    yes(ranges.iter().any(|c| c.contains(ip)))
}

/// Whether a selector selects labels none of which is known (some pod's, some namespace's,
/// some ServiceAccount's): yes only when it selects whatever they are (`all()`).
fn unknown_labels(sel: &Selector) -> Answer {
    partly(sel.eval(&|_| None))
}

/// A selector's three-valued answer (`None`: the known labels do not decide).
fn partly(m: Option<bool>) -> Answer {
    m.map_or(Answer::Unknown, yes)
}

/// What may become of a connection from some point of the evaluation on: admitted or dropped
/// (both: not decidable), with what decides each way when names are kept.
#[derive(Debug, Clone, Default)]
pub(super) struct Outcome {
    pub(super) allow: bool,
    pub(super) deny: bool,
    pub(super) allowed_by: Vec<String>,
    pub(super) denied_by: Vec<String>,
    /// The policies that apply to the pod for the direction (surely or maybe).
    pub(super) applied: Vec<String>,
}

impl Outcome {
    fn allow(named: bool, by: impl FnOnce() -> String) -> Outcome {
        Outcome {
            allow: true,
            allowed_by: if named { vec![by()] } else { Vec::new() },
            ..Outcome::default()
        }
    }

    fn deny(named: bool, by: impl FnOnce() -> String) -> Outcome {
        Outcome {
            deny: true,
            denied_by: if named { vec![by()] } else { Vec::new() },
            ..Outcome::default()
        }
    }

    fn add(&mut self, other: &Outcome) {
        self.allow |= other.allow;
        self.deny |= other.deny;
        for b in &other.allowed_by {
            if !self.allowed_by.contains(b) {
                self.allowed_by.push(b.clone());
            }
        }
        for b in &other.denied_by {
            if !self.denied_by.contains(b) {
                self.denied_by.push(b.clone());
            }
        }
    }

    /// The answer: yes when only admitting is possible, no when only dropping is.
    pub(super) fn answer(&self) -> Answer {
        match (self.allow, self.deny) {
            (true, false) => Answer::Yes,
            (false, true) => Answer::No,
            _ => Answer::Unknown,
        }
    }
}

/// One policy applying to the pod in a tier: Calico's, or a Kubernetes NetworkPolicy (its
/// reference and whether one of its rules allows the connection).
enum Entry<'m> {
    Calico(&'m Policy, Answer),
    Kubernetes(&'m str, Answer),
}

impl Entry<'_> {
    fn applies(&self) -> Answer {
        match self {
            Entry::Calico(_, a) => *a,
            Entry::Kubernetes(..) => Answer::Yes,
        }
    }
}

/// The side of a connection at one pod, evaluated Calico's way.
pub(super) struct SideQuestion<'q> {
    pub(super) namespaces: &'q BTreeMap<String, BTreeMap<String, String>>,
    pub(super) pod: &'q Pods,
    pub(super) other: &'q Party,
    pub(super) port: (u16, &'q str),
    pub(super) egress: bool,
    /// The Kubernetes NetworkPolicies that isolate the pod for the direction, with whether one
    /// of their rules allows the connection.
    pub(super) kubernetes: Vec<(&'q str, Answer)>,
    /// Whether to keep the names of what decides.
    pub(super) named: bool,
}

impl Calico {
    /// Evaluates one side of a connection: tiers in order, policies in order, rules in order
    /// (see the module docs), computed from the last tier back so that a `Pass`, or a rule
    /// whose match is not decidable, follows every way it may go.
    pub(super) fn side(&self, q: &SideQuestion<'_>) -> Outcome {
        let me = Ep::Pods(q.pod);
        let other = Ep::of(q.other);
        // Tier name → its applying entries, with (order, name) to sort them.
        let mut by_tier: BTreeMap<&str, Vec<TierEntry<'_>>> = BTreeMap::new();
        for p in self.policies_for(&q.pod.namespace) {
            if direction(p, q.egress).is_none() {
                continue;
            }
            let applies = self.applies(q.namespaces, p, q.pod);
            if applies == Answer::No {
                continue;
            }
            by_tier.entry(p.tier.as_str()).or_default().push((
                p.order.unwrap_or(f64::INFINITY),
                std::borrow::Cow::Borrowed(p.name.as_str()),
                Entry::Calico(p, applies),
            ));
        }
        for (reference, answer) in &q.kubernetes {
            let name = reference.rsplit('/').next().unwrap_or(reference);
            by_tier.entry(DEFAULT_TIER).or_default().push((
                KUBERNETES_ORDER,
                std::borrow::Cow::Owned(format!("knp.default.{name}")),
                Entry::Kubernetes(reference, *answer),
            ));
        }
        let mut applied: Vec<String> = Vec::new();
        let mut tiers: Vec<(Option<f64>, &str, Vec<TierEntry<'_>>)> = by_tier
            .into_iter()
            .map(|(name, mut entries)| {
                entries.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                let order = match self.tiers.get(name) {
                    Some(t) => Some(t.order.unwrap_or(f64::INFINITY)),
                    None if name == DEFAULT_TIER => Some(DEFAULT_TIER_ORDER),
                    None => None,
                };
                (order, name, entries)
            })
            .collect();
        for (_, _, entries) in &tiers {
            for (_, _, e) in entries {
                applied.push(match e {
                    Entry::Calico(p, _) => p.reference.clone(),
                    Entry::Kubernetes(r, _) => r.to_string(),
                });
            }
        }
        let unordered: Vec<&str> = tiers
            .iter()
            .filter(|t| t.0.is_none())
            .map(|t| t.1)
            .collect();
        if tiers.len() > 1 && !unordered.is_empty() {
            let why = || {
                format!(
                    "the order of tier {} (no Tier object in the input)",
                    unordered.join(", ")
                )
            };
            let mut out = Outcome::allow(q.named, why);
            out.add(&Outcome::deny(q.named, why));
            out.applied = applied;
            return out;
        }
        tiers.sort_by(|a, b| {
            a.0.unwrap_or(f64::INFINITY)
                .total_cmp(&b.0.unwrap_or(f64::INFINITY))
                .then_with(|| a.1.cmp(b.1))
        });
        let profile = || {
            format!(
                "the profile of namespace {} (no tier decides)",
                q.pod.namespace
            )
        };
        let mut next = Outcome::allow(q.named, profile);
        for (_, tier, entries) in tiers.iter().rev() {
            let in_order: Vec<&TierEntry<'_>> = entries.iter().collect();
            let mut acc = self.tier_outcome(q, tier, &in_order, &next, (me, other));
            // AdminNetworkPolicies of equal priority: the order is the implementation's.
            let tied = entries.windows(2).any(|w| w[0].0 == w[1].0);
            if *tier == admin::ADMIN_TIER.0 && tied {
                let mut reversed = in_order.clone();
                reversed.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(&a.1)));
                acc.add(&self.tier_outcome(q, tier, &reversed, &next, (me, other)));
            }
            next = acc;
        }
        next.applied = applied;
        next
    }

    /// What one tier makes of the connection, its entries in the order given, `next` being
    /// what the later tiers make of it.
    fn tier_outcome(
        &self,
        q: &SideQuestion<'_>,
        tier: &str,
        entries: &[&TierEntry<'_>],
        next: &Outcome,
        (me, other): (Ep<'_>, Ep<'_>),
    ) -> Outcome {
        let mut acc = Outcome::default();
        let mut surely_applied = false;
        for (_, _, entry) in entries {
            surely_applied |= entry.applies() == Answer::Yes;
            match entry {
                Entry::Kubernetes(reference, answer) => match answer {
                    Answer::Yes => {
                        acc.add(&Outcome::allow(q.named, || reference.to_string()));
                        return acc;
                    }
                    Answer::Unknown => acc.add(&Outcome::allow(q.named, || reference.to_string())),
                    Answer::No => {}
                },
                Entry::Calico(p, applies) => {
                    let dir = if q.egress { "egress" } else { "ingress" };
                    for rule in direction(p, q.egress).unwrap_or(&[]) {
                        if rule.action == Action::Log {
                            continue;
                        }
                        let m = and(
                            *applies,
                            self.rule_matches(q.namespaces, p, rule, me, other, q.port, q.egress),
                        );
                        if m == Answer::No {
                            continue;
                        }
                        let by = || format!("{} spec.{dir}[{}]", p.reference, rule.index);
                        match rule.action {
                            Action::Allow => acc.add(&Outcome::allow(q.named, by)),
                            Action::Deny => acc.add(&Outcome::deny(q.named, by)),
                            Action::Pass => acc.add(next),
                            Action::Log => {}
                        }
                        if m == Answer::Yes {
                            return acc;
                        }
                    }
                }
            }
        }
        // No rule decided: the tier's default action.
        let pass = self.tiers.get(tier).is_some_and(|t| t.pass);
        if pass || !surely_applied {
            acc.add(next);
        }
        if !pass {
            acc.add(&Outcome::deny(q.named, || {
                format!("the end of tier {tier} (no rule matches)")
            }));
        }
        acc
    }
}

/// An entry of a tier, with its order and the name that breaks ties.
type TierEntry<'m> = (f64, std::borrow::Cow<'m, str>, Entry<'m>);

pub(super) mod admin;
#[cfg(test)]
mod tests;
