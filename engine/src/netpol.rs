//! Kubernetes NetworkPolicy semantics, as exact as the RBAC evaluator: may this pod open a
//! connection to that pod (or address) on this port?
//!
//! The rules, from the `networking.k8s.io/v1` API reference:
//! - a policy selects pods of its own namespace by `podSelector` (`{}` selects all of them);
//! - a pod is isolated for a direction when some policy selecting it lists that direction in
//!   `policyTypes`; left out, `policyTypes` defaults to `Ingress`, plus `Egress` when the policy
//!   has a non-empty `egress` list (the API server's defaulting);
//! - an isolated pod accepts (or sends) only what the union of the selecting policies' rules
//!   allows; a pod that no policy isolates is open in that direction;
//! - a rule allows a peer when `from`/`to` is empty or absent, or one of its peers matches: a
//!   `podSelector` alone means pods of the policy's namespace, a `namespaceSelector` alone every
//!   pod of the matching namespaces, both together pods matching both (AND), an `ipBlock` the
//!   addresses in `cidr` outside every `except`;
//! - and a port when `ports` is empty or absent, or one entry matches: protocol (TCP when left
//!   out), a number (with `endPort`, a range), or a name looked up among the destination pod's
//!   container ports; an entry without `port` matches every port of its protocol;
//! - a connection needs both: the source's egress and the destination's ingress.
//!
//! CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy are evaluated beside them, with
//! their own selectors, entities, CIDR rules and deny rules (see [`cilium`]). Where the input
//! carries Calico's policies, every side is evaluated in Calico's order instead — tiers,
//! policy order, first matching rule with Allow/Deny/Pass/Log — with the NetworkPolicies among
//! them in the `default` tier at order 1000 (see [`calico`]).
//!
//! What cannot be decided is said, never guessed: an `ipBlock` against a pod whose address the
//! input does not hold, a host-network pod the policies would not let through (traffic between
//! a pod and its own node is always allowed, and plugins differ on selecting host-network pods),
//! what a Cilium rule leaves to L7 or to peers not evaluated here, Cilium's CRDs in an input
//! that holds no Cilium policy (likewise Calico's: the input may be a collection that could not
//! read them), Cilium's policies beside Calico's or the policy API's, and clusters that also
//! hold Antrea's policies or the policy API's newer ClusterNetworkPolicy (they can allow or deny
//! around the Kubernetes ones, in an order of their own; counted for coverage elsewhere but not
//! evaluated here). AdminNetworkPolicy and BaselineAdminNetworkPolicy are evaluated in the same
//! ordered way as Calico's policies, as the tiers Calico runs them in.

use crate::inventory::{Inventory, PodTemplate};
use crate::pointer::Pointer as _;
use crate::selector::LabelSelector;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;

/// The label the API server sets on every namespace (immutable, since Kubernetes 1.22).
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Policy kinds of network plugins and of the cluster-scoped policy API that this evaluator
/// does not read: they can allow or deny around NetworkPolicies.
const OTHER_POLICY_KINDS: &[&str] = &[
    "GlobalNetworkPolicy",
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
    "AdminNetworkPolicy",
    "BaselineAdminNetworkPolicy",
    "ClusterNetworkPolicy",
];

/// The API groups of those kinds (and of Calico's and Antrea's namespaced NetworkPolicy): a
/// CustomResourceDefinition of one of them means such policies may exist even when the input
/// (a live collection reads only the kinds it knows) holds none.
const OTHER_POLICY_GROUPS: &[&str] = &[
    "crd.projectcalico.org",
    "projectcalico.org",
    "cilium.io",
    "policy.networking.k8s.io",
    "crd.antrea.io",
];

/// Whether an object is a Calico Tier or network set: a change to one changes what Calico's
/// policies decide anywhere in the cluster.
pub fn is_plugin_support(o: &crate::object::Object) -> bool {
    calico::is_support(o)
}

/// Whether an object is a network plugin's policy, or the CRD of one, that this evaluator does
/// not read (see [`OTHER_POLICY_KINDS`]).
pub fn is_plugin_policy(o: &crate::object::Object) -> bool {
    if o.kind == "CustomResourceDefinition" {
        let group = o
            .body
            .at("/spec/group")
            .and_then(Value::as_str)
            .unwrap_or("");
        let kind = o
            .body
            .at("/spec/names/kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        return OTHER_POLICY_GROUPS.contains(&group)
            && (OTHER_POLICY_KINDS.contains(&kind) || kind == "NetworkPolicy");
    }
    OTHER_POLICY_KINDS.contains(&o.kind.as_str())
        || (o.kind == "NetworkPolicy" && !o.api_version.starts_with("networking.k8s.io/"))
}

/// Whether this evaluator reads a policy object: a NetworkPolicy, a Cilium policy, a Calico
/// policy or an AdminNetworkPolicy/BaselineAdminNetworkPolicy (not Antrea's, nor the policy
/// API's ClusterNetworkPolicy).
pub fn is_evaluated(o: &crate::object::Object) -> bool {
    (o.kind == "NetworkPolicy" && o.api_version.starts_with("networking.k8s.io/"))
        || cilium::is_policy(o)
        || calico::is_policy(o)
        || calico::admin::is_policy(o)
}

/// Whether an object is a network plugin's policy this evaluator does not read (Antrea's, the
/// policy API's ClusterNetworkPolicy): a policy kind of a plugin's API group.
pub fn is_unread_policy(o: &crate::object::Object) -> bool {
    o.kind != "CustomResourceDefinition"
        && is_plugin_policy(o)
        && !is_evaluated(o)
        && OTHER_POLICY_GROUPS.contains(&o.api_group())
}

/// The network-plugin policies and policy CRDs `inv` holds, by reference, sorted.
pub fn plugin_policies(inv: &Inventory<'_>) -> Vec<String> {
    let kinds = OTHER_POLICY_KINDS
        .iter()
        .copied()
        .chain(["NetworkPolicy", "CustomResourceDefinition"]);
    kinds
        .flat_map(|k| inv.of_kind(k).iter())
        .filter(|o| is_plugin_policy(o))
        .map(|o| {
            if calico::is_policy(o) {
                calico::reference(o)
            } else {
                o.node_ref()
            }
        })
        .collect::<BTreeSet<String>>()
        .into_iter()
        .collect()
}

/// One end of a connection.
#[derive(Debug, Clone)]
pub enum Party {
    /// Pods of a workload (or one Pod).
    Pods(Pods),
    /// An address outside the cluster's pods.
    Address(IpAddr),
    /// Some address on the internet, which one (and of which family) unknown: only a rule
    /// admitting both `0.0.0.0/0` and `::/0` without exceptions (or every source) surely
    /// admits it; other `ipBlock`s may or may not.
    Outside,
    /// Some pod of the cluster not on the host network, which one (namespace, labels,
    /// ServiceAccount, address) unknown: only a rule for every pod of every namespace surely
    /// matches it, and a rule that can match no pod surely does not; others may or may not.
    AnyPod,
}

/// The port of a question about every port and protocol (with [`Party::AnyPod`]: "open to
/// every pod on every port?"): a rule that names ports or a protocol may or may not match it.
/// Port 0 is no connection's port.
pub const EVERY_PORT: (u16, &str) = (0, "");

/// The pods of one workload, as far as policies see them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pods {
    /// The workload's reference (`Deployment:shop/web`).
    pub reference: String,
    /// Its namespace.
    pub namespace: String,
    /// The pods' labels.
    pub labels: BTreeMap<String, String>,
    /// Named container ports: (name, port, protocol).
    pub ports: Vec<(String, u16, String)>,
    /// The pod's address, when the input holds it (`status.podIP` of a Pod).
    pub ip: Option<IpAddr>,
    /// Whether the pods share the node's network namespace.
    pub host_network: bool,
    /// Their ServiceAccount's name (Cilium's selectors may read it).
    pub service_account: String,
}

/// Yes, no, or not decidable from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// Allowed.
    Yes,
    /// Denied.
    No,
    /// Not decidable from the input (see the notes).
    Unknown,
}

/// What one direction decided.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Side {
    /// The policies that isolate the pod in this direction (empty: open).
    pub isolated_by: Vec<String>,
    /// The policies with a rule that allows the connection.
    pub allowed_by: Vec<String>,
    /// The policies with a rule that may allow it, undecidable from the input.
    pub undecided_by: Vec<String>,
    /// The policies with a deny rule that matches it (Cilium's `ingressDeny`/`egressDeny`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub denied_by: Vec<String>,
    /// The policies with a deny rule that may match it, undecidable from the input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deny_undecided_by: Vec<String>,
}

impl Side {
    /// Whether no policy applies in this direction: none isolates the pods and no deny rule
    /// matches or may match (the connection is open whatever its peer).
    pub fn is_open(&self) -> bool {
        self.isolated_by.is_empty()
            && self.denied_by.is_empty()
            && self.deny_undecided_by.is_empty()
    }

    /// The policies that apply in this direction: those that isolate, else (a Cilium policy
    /// that denies without isolating) those whose deny rules match or may match.
    pub fn deciders(&self) -> Vec<&str> {
        let by = if self.isolated_by.is_empty() {
            self.denied_by
                .iter()
                .chain(&self.deny_undecided_by)
                .collect()
        } else {
            self.isolated_by.iter().collect::<Vec<_>>()
        };
        by.into_iter().map(String::as_str).collect()
    }

    fn answer(&self) -> Answer {
        let allowed = if self.isolated_by.is_empty() || !self.allowed_by.is_empty() {
            Answer::Yes
        } else if self.undecided_by.is_empty() {
            Answer::No
        } else {
            Answer::Unknown
        };
        with_denies(
            allowed,
            !self.denied_by.is_empty(),
            !self.deny_undecided_by.is_empty(),
        )
    }
}

/// An answer by the allow rules, given whether a deny rule matches (deny wins) or may match.
fn with_denies(allowed: Answer, denied: bool, maybe_denied: bool) -> Answer {
    match (allowed, denied, maybe_denied) {
        (_, true, _) => Answer::No,
        (Answer::No, _, _) => Answer::No,
        (_, false, true) => Answer::Unknown,
        (a, false, false) => a,
    }
}

/// The verdict on a connection.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// The answer.
    pub answer: Answer,
    /// The source's egress (absent for an address source).
    pub egress: Option<Side>,
    /// The destination's ingress (absent for an address destination).
    pub ingress: Option<Side>,
    /// Why the answer is not decidable, when it is not.
    pub notes: Vec<String>,
}

/// The NetworkPolicies of one cluster and the labels of its namespaces.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Model {
    policies: Vec<Policy>,
    namespaces: BTreeMap<String, BTreeMap<String, String>>,
    /// Policy objects of other plugins present in the cluster (kind/namespace/name).
    others: Vec<String>,
    /// Namespace → indices of its policies (a policy selects pods of its own namespace only).
    by_namespace: BTreeMap<String, Vec<usize>>,
    /// Policy kinds the input lacks because they could not be listed (coverage gaps): what
    /// they allow or deny is unknown.
    unread: Vec<String>,
    /// Calico's policies, when the input carries some: then every side is evaluated in
    /// Calico's order, the NetworkPolicies among them ([`calico`]).
    calico: Option<calico::Calico>,
}

#[derive(Debug, Clone, PartialEq)]
struct Policy {
    reference: String,
    /// Its namespace (empty for a clusterwide policy).
    namespace: String,
    selects: LabelSelector,
    /// Whether it applies in every namespace (CiliumClusterwideNetworkPolicy).
    cluster_wide: bool,
    /// Whether it is Cilium's ([`cilium`]): its selectors read Cilium's labels of a pod.
    cilium: bool,
    /// `None`: the policy does not isolate this direction.
    ingress: Option<Vec<Rule>>,
    egress: Option<Vec<Rule>>,
    /// Deny rules (Cilium): a match denies whatever allows.
    ingress_deny: Vec<Rule>,
    egress_deny: Vec<Rule>,
    /// Whether it isolates the pods it selects, for ingress and for egress: a NetworkPolicy
    /// does for the directions it has; a Cilium policy for those with allow or deny rules,
    /// unless `enableDefaultDeny` says otherwise (its rules then only add).
    isolates: [bool; 2],
}

impl Policy {
    /// Whether it isolates the pods it selects in a direction.
    fn isolates(&self, egress: bool) -> bool {
        self.isolates[usize::from(egress)]
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    /// Position in the policy's `ingress`/`egress` list.
    index: usize,
    /// `None`: every peer.
    peers: Option<Vec<Peer>>,
    /// `None`: every port.
    ports: Option<Vec<PortRule>>,
    /// Why the rule's match cannot be decided, when peers and ports would match (L7 rules,
    /// requirements, ...).
    undecided: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq)]
enum Peer {
    Pods {
        pods: Option<LabelSelector>,
        namespaces: Option<LabelSelector>,
    },
    Block {
        cidr: Cidr,
        except: Vec<Cidr>,
        /// Whether the block matches pods by their address (a NetworkPolicy's `ipBlock`; a
        /// Cilium CIDR rule only matches what is outside the cluster).
        pods: bool,
    },
    /// A peer the API server would reject (no field, or a malformed CIDR): matches nothing.
    Invalid,
    /// Cilium endpoints: a selector over Cilium's labels of a pod, limited to `namespace` when
    /// set.
    Endpoints {
        selector: LabelSelector,
        namespace: Option<String>,
    },
    /// A Cilium entity (`world`, `cluster`, `all`, `host`, ...), lower case.
    Entity(String),
    /// A peer this evaluator does not decide, and why.
    Undecided(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
struct PortRule {
    protocol: String,
    port: Option<PortRef>,
    end_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq)]
enum PortRef {
    Number(u16),
    Name(String),
    /// Not a port the API server accepts (0, beyond 65535, a fraction): matches nothing.
    Invalid,
}

impl Peer {
    /// An address block from `{cidr, except}` (a NetworkPolicy's `ipBlock`, a Cilium
    /// `fromCIDRSet` entry); [`Peer::Invalid`] when a CIDR does not parse. `pods`: whether it
    /// matches pods by their address.
    fn block(b: &Value, pods: bool) -> Peer {
        let cidr = b.get("cidr").and_then(Value::as_str).and_then(Cidr::parse);
        let except: Option<Vec<Cidr>> = b
            .get("except")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| e.as_str().and_then(Cidr::parse))
            .collect();
        match (cidr, except) {
            (Some(cidr), Some(except)) => Peer::Block { cidr, except, pods },
            _ => Peer::Invalid,
        }
    }
}

/// An address range.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = text.split_once('/')?;
        let network: IpAddr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    /// Whether no pod's address lies in the range: it is within the loopback, link-local or
    /// multicast ranges, which the API server refuses as the address of an endpoint (the
    /// metadata servers' 169.254.169.254 is link-local).
    fn holds_no_pod(&self) -> bool {
        use std::net::{Ipv4Addr, Ipv6Addr};
        const fn v4(a: u8, b: u8, prefix: u8) -> Cidr {
            Cidr {
                network: IpAddr::V4(Ipv4Addr::new(a, b, 0, 0)),
                prefix,
            }
        }
        const fn v6(first: u16, last: u16, prefix: u8) -> Cidr {
            Cidr {
                network: IpAddr::V6(Ipv6Addr::new(first, 0, 0, 0, 0, 0, 0, last)),
                prefix,
            }
        }
        const SPECIAL: [Cidr; 6] = [
            v4(127, 0, 8),
            v4(169, 254, 16),
            v4(224, 0, 4),
            v6(0, 1, 128),
            v6(0xfe80, 0, 10),
            v6(0xff00, 0, 8),
        ];
        SPECIAL
            .iter()
            .any(|special| self.prefix >= special.prefix && special.contains(self.network))
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

fn rules(list: Option<&Value>, peer_field: &str) -> Vec<Rule> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(index, r)| Rule {
            index,
            peers: r
                .get(peer_field)
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .map(|a| a.iter().map(peer).collect()),
            ports: r
                .get("ports")
                .and_then(Value::as_array)
                .filter(|a| !a.is_empty())
                .map(|a| a.iter().map(port_rule).collect()),
            undecided: None,
        })
        .collect()
}

fn peer(p: &Value) -> Peer {
    if let Some(b) = p.get("ipBlock") {
        return Peer::block(b, true);
    }
    let pods = p
        .get("podSelector")
        .filter(|v| v.is_object())
        .map(|v| LabelSelector::from_value(Some(v)));
    let namespaces = p
        .get("namespaceSelector")
        .filter(|v| v.is_object())
        .map(|v| LabelSelector::from_value(Some(v)));
    if pods.is_none() && namespaces.is_none() {
        return Peer::Invalid;
    }
    Peer::Pods { pods, namespaces }
}

fn port_rule(p: &Value) -> PortRule {
    PortRule {
        protocol: p
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("TCP")
            .to_string(),
        port: match p.get("port") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .filter(|n| *n > 0)
                    .map_or(PortRef::Invalid, PortRef::Number),
            ),
            Some(Value::String(s)) => Some(PortRef::Name(s.clone())),
            Some(_) => Some(PortRef::Invalid),
        },
        end_port: p
            .get("endPort")
            .and_then(Value::as_u64)
            .and_then(|n| u16::try_from(n).ok()),
    }
}

impl Model {
    /// The cluster's NetworkPolicies and namespace labels.
    pub fn of(inv: &Inventory<'_>) -> Model {
        let namespaces = namespace_labels(inv);
        let mut policies: Vec<Policy> = inv
            .of_kind("NetworkPolicy")
            .iter()
            .filter(|o| o.api_version.starts_with("networking.k8s.io/"))
            .map(|o| {
                let spec = o.body.get("spec").unwrap_or(&Value::Null);
                let types: Option<Vec<&str>> = spec
                    .get("policyTypes")
                    .and_then(Value::as_array)
                    .filter(|t| !t.is_empty())
                    .map(|t| t.iter().filter_map(Value::as_str).collect());
                let has_egress = spec
                    .get("egress")
                    .and_then(Value::as_array)
                    .is_some_and(|e| !e.is_empty());
                let (ingress, egress) = match types {
                    Some(t) => (t.contains(&"Ingress"), t.contains(&"Egress")),
                    None => (true, has_egress),
                };
                Policy {
                    reference: o.node_ref(),
                    namespace: o.effective_namespace().unwrap_or("default").to_string(),
                    selects: LabelSelector::from_value(spec.get("podSelector")),
                    cluster_wide: false,
                    cilium: false,
                    ingress: ingress.then(|| rules(spec.get("ingress"), "from")),
                    egress: egress.then(|| rules(spec.get("egress"), "to")),
                    ingress_deny: Vec::new(),
                    egress_deny: Vec::new(),
                    isolates: [ingress, egress],
                }
            })
            .collect();
        policies.extend(
            cilium::KINDS
                .iter()
                .flat_map(|k| inv.of_kind(k).iter())
                .filter(|o| cilium::is_policy(o))
                .flat_map(|o| cilium::policies(o)),
        );
        policies.sort_by(|a, b| a.reference.cmp(&b.reference));
        let unread: Vec<String> = inv
            .cluster
            .coverage_gaps
            .iter()
            .filter(|g| {
                cilium::KINDS.contains(&g.as_str()) || calico::GAP_KINDS.contains(&g.as_str())
            })
            .map(|g| format!("{g} (could not be listed)"))
            .collect();
        let mut others = unevaluated(plugin_policies(inv));
        others.extend(unread.iter().cloned());
        let mut model = Model {
            policies,
            namespaces,
            others,
            by_namespace: BTreeMap::new(),
            unread,
            calico: calico::Calico::of(inv, false),
        };
        model.index();
        model
    }

    /// What every namespace's policies are read with, from the whole cluster's objects: the
    /// Namespaces' labels and, when the cluster carries Calico policies, Calico's cluster-wide
    /// policies, tiers, network sets and ServiceAccount labels (a namespace part's inventory
    /// holds its own namespace's objects and the cluster-scoped ones only).
    pub fn shared_of(inv: &Inventory<'_>) -> Model {
        Model {
            calico: calico::Calico::of(inv, true),
            namespaces: namespace_labels(inv),
            ..Model::default()
        }
    }

    /// Whether two models read the same of Calico (its objects, and the ServiceAccounts'
    /// labels it reads), whatever the Namespaces' labels.
    pub fn shares_calico_with(&self, other: &Model) -> bool {
        self.calico == other.calico
    }

    /// The model read with the cluster's shared facts ([`Model::shared_of`]).
    pub fn with_shared(mut self, shared: &Model) -> Model {
        self.merge(shared);
        self
    }

    /// The model with `others` as the network-plugin policies of the cluster (a model of one
    /// namespace's objects sees only that namespace's; the cluster's list decides for all).
    pub fn with_plugin_policies(mut self, others: Vec<String>) -> Model {
        self.others = unevaluated(others);
        self.others.extend(self.unread.iter().cloned());
        self
    }

    /// Rebuilds [`Model::by_namespace`] (clusterwide policies under the empty name).
    fn index(&mut self) {
        self.by_namespace.clear();
        for (i, p) in self.policies.iter().enumerate() {
            let key = if p.cluster_wide {
                ""
            } else {
                p.namespace.as_str()
            };
            self.by_namespace
                .entry(key.to_string())
                .or_default()
                .push(i);
        }
    }

    /// The policies that may select pods of one namespace: its own and the clusterwide ones.
    fn policies_in<'m>(&'m self, namespace: &str) -> impl Iterator<Item = &'m Policy> + 'm {
        let own = self.by_namespace.get(namespace);
        let everywhere = (!namespace.is_empty())
            .then(|| self.by_namespace.get(""))
            .flatten();
        own.into_iter()
            .chain(everywhere)
            .flatten()
            .map(|i| &self.policies[*i])
    }

    /// Whether a policy selects the pods (of a namespace it applies in, see
    /// [`Model::policies_in`]).
    fn selects(&self, policy: &Policy, pods: &Pods) -> bool {
        if policy.cilium {
            policy.selects.matches(&self.cilium_labels(pods))
        } else {
            policy.selects.matches(&pods.labels)
        }
    }

    /// The labels Cilium's selectors see on the pods.
    fn cilium_labels(&self, pods: &Pods) -> BTreeMap<String, String> {
        cilium::labels(
            &pods.labels,
            &pods.namespace,
            self.namespaces.get(&pods.namespace),
            &pods.service_account,
        )
    }

    /// The model with the Namespaces' labels `shared` holds in place of those it holds
    /// (namespaces `shared` does not know keep theirs).
    pub fn with_namespaces_of(mut self, shared: &Model) -> Model {
        for (ns, labels) in &shared.namespaces {
            self.namespaces.insert(ns.clone(), labels.clone());
        }
        self
    }

    /// Adds what another model of the same cluster holds (the model of one namespace's
    /// objects, for the incremental evaluator): its policies, namespaces and plugin policies.
    pub fn merge(&mut self, other: &Model) {
        self.merge_policies(other);
        for (ns, labels) in &other.namespaces {
            self.namespaces.insert(ns.clone(), labels.clone());
        }
    }

    /// Whether `other` holds what this model holds but, maybe, other namespaces' labels.
    pub fn same_but_namespaces(&self, other: &Model) -> bool {
        self.policies == other.policies
            && self.others == other.others
            && self.by_namespace == other.by_namespace
            && self.unread == other.unread
            && self.calico == other.calico
    }

    /// Whether a link between two segments may read the labels of a namespace other than its
    /// two stand-ins': Calico's namespaced NetworkSets are scoped by their own namespace's labels
    /// ([`calico`]), so then a relabeled namespace's segments are not all a relabel changes.
    pub fn links_read_other_namespaces(&self) -> bool {
        self.calico.is_some()
    }

    /// The namespaces whose NetworkPolicies `other` holds otherwise, when nothing every
    /// namespace reads differs (cluster-wide policies, Calico's, the network plugins' policies
    /// or the coverage gaps: then `None`). A link between two segments reads the policies of its
    /// two stand-ins' namespaces and no other's ([`Decided::forget_namespaces`]).
    pub fn policies_changed_in(&self, other: &Model) -> Option<BTreeSet<String>> {
        if self.others != other.others || self.unread != other.unread || self.calico != other.calico
        {
            return None;
        }
        fn of<'m>(m: &'m Model, ns: &str) -> Vec<&'m Policy> {
            let indices = m.by_namespace.get(ns).into_iter().flatten();
            indices.map(|i| &m.policies[*i]).collect()
        }
        let namespaces: BTreeSet<&String> = (self.by_namespace.keys())
            .chain(other.by_namespace.keys())
            .collect();
        let mut changed = BTreeSet::new();
        for ns in namespaces {
            if of(self, ns) != of(other, ns) {
                if ns.is_empty() {
                    return None;
                }
                changed.insert(ns.clone());
            }
        }
        Some(changed)
    }

    /// Adds what another model of the same cluster holds but its namespaces' labels (for the
    /// incremental evaluator, which takes those from the cluster's facts).
    pub fn merge_policies(&mut self, other: &Model) {
        self.merge_policies_of([other]);
    }

    /// [`Model::merge_policies`] of each of `others` in turn, sorted and indexed once: a policy
    /// whose reference this model or an earlier one holds is not added again.
    pub fn merge_policies_of<'m>(&mut self, others: impl IntoIterator<Item = &'m Model>) {
        let mut known: HashSet<String> =
            self.policies.iter().map(|p| p.reference.clone()).collect();
        for other in others {
            let before = self.policies.len();
            self.policies.extend(
                other
                    .policies
                    .iter()
                    .filter(|p| !known.contains(&p.reference))
                    .cloned(),
            );
            known.extend(self.policies[before..].iter().map(|p| p.reference.clone()));
            self.others.extend(other.others.iter().cloned());
            self.unread.extend(other.unread.iter().cloned());
            match (&mut self.calico, &other.calico) {
                (Some(mine), Some(theirs)) => mine.merge(theirs),
                (None, Some(theirs)) => self.calico = Some(theirs.clone()),
                (_, None) => {}
            }
        }
        // (A stable sort: policies of one reference keep the order they came in.)
        self.policies.sort_by(|a, b| a.reference.cmp(&b.reference));
        self.index();
        self.others.sort();
        self.others.dedup();
        self.unread.sort();
        self.unread.dedup();
    }

    /// The peers of every rule of every policy (not Calico's).
    fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.policies.iter().flat_map(|p| {
            let rules = p.ingress.iter().chain(p.egress.iter()).flatten();
            rules
                .chain(&p.ingress_deny)
                .chain(&p.egress_deny)
                .flat_map(|r| r.peers.iter().flatten())
        })
    }

    /// The policies' namespace selectors.
    fn namespace_selectors(&self) -> impl Iterator<Item = &LabelSelector> {
        self.peers().filter_map(|peer| match peer {
            Peer::Pods { namespaces, .. } => namespaces.as_ref(),
            _ => None,
        })
    }

    /// The label keys the policies' namespace selectors read.
    fn namespace_keys(&self) -> BTreeSet<String> {
        self.namespace_selectors()
            .flat_map(|s| s.keys().map(str::to_string))
            .collect()
    }

    /// The namespaces the policies' namespace selectors name by their name label
    /// (`kubernetes.io/metadata.name`, which every namespace has, with its name): a selector
    /// on that label answers alike for every namespace it does not name.
    fn namespaces_named(&self) -> BTreeSet<&str> {
        self.namespace_selectors()
            .flat_map(|s| s.values_named(NAMESPACE_NAME_LABEL))
            .collect()
    }

    /// Whether `other` answers every question this model answers alike, its Namespaces'
    /// labels aside where no policy reads them: the same policies
    /// ([`Model::same_but_namespaces`]), and for every namespace either holds the same labels
    /// on the keys namespace selectors read and the same knowledge of whether its Namespace
    /// exists ([`Model::reads_namespaces_alike`]).
    pub fn reads_alike(&self, other: &Model) -> bool {
        let namespaces = self.known_namespaces().chain(other.known_namespaces());
        self.same_but_namespaces(other) && self.reads_namespaces_alike(other, namespaces)
    }

    /// The namespaces whose labels this model holds (those whose Namespace object is known).
    pub fn known_namespaces(&self) -> impl Iterator<Item = &str> {
        self.namespaces.keys().map(String::as_str)
    }

    /// Those of `namespaces` whose labels `other` holds otherwise as this model's or `other`'s
    /// selectors read them ([`Model::reads_namespaces_alike`] both ways).
    pub fn namespaces_read_otherwise<'n>(
        &self,
        other: &Model,
        namespaces: impl IntoIterator<Item = &'n str>,
    ) -> BTreeSet<String> {
        let (mine, theirs) = (self.labels_read(), other.labels_read());
        namespaces
            .into_iter()
            .filter(|ns| {
                !(labels_read_alike(&mine, self, other, ns)
                    && labels_read_alike(&theirs, self, other, ns))
            })
            .map(str::to_string)
            .collect()
    }

    /// Whether `other`, holding this model's policies, reads the labels of `namespaces` alike:
    /// a NetworkPolicy's namespace selector reads the keys it names (every namespace has its
    /// name label, its object known or not); Calico's and Cilium's policies read more (a
    /// namespace's labels under `pcns.`, as a pod's own): with them, every label counts.
    pub fn reads_namespaces_alike<'n>(
        &self,
        other: &Model,
        namespaces: impl IntoIterator<Item = &'n str>,
    ) -> bool {
        let read = self.labels_read();
        namespaces
            .into_iter()
            .all(|ns| labels_read_alike(&read, self, other, ns))
    }

    /// What this model's selectors read of a namespace's labels (see
    /// [`Model::reads_namespaces_alike`]): the keys its namespace selectors name, or `None`
    /// for every label.
    fn labels_read(&self) -> Option<BTreeSet<String>> {
        let everything = self.calico.is_some() || self.policies.iter().any(|p| p.cilium);
        (!everything).then(|| self.namespace_keys())
    }

    /// Whether a namespace selector matches a namespace. A namespace the input holds no object
    /// for is known only by its name label: a selector on other labels cannot be decided.
    fn namespace_matches(&self, sel: &LabelSelector, ns: &str) -> Answer {
        match self.namespaces.get(ns) {
            Some(labels) => yes(sel.matches(labels)),
            None if sel.keys().all(|k| k == NAMESPACE_NAME_LABEL) => yes(sel.matches(
                &BTreeMap::from([(NAMESPACE_NAME_LABEL.to_string(), ns.to_string())]),
            )),
            None => Answer::Unknown,
        }
    }

    /// May `from` open a connection to `to` on `port`/`protocol`?
    ///
    /// A host-network pod is the node's network: traffic between a pod and the node it runs on
    /// is always allowed, and whether policies select or match host-network pods at all is the
    /// network plugin's choice. Placement is not read, so a connection involving one is yes
    /// when the policies allow it as for any pod, else unknown — never no.
    pub fn connect(&self, from: &Party, to: &Party, port: u16, protocol: &str) -> Verdict {
        self.connect_from(self, from, to, port, protocol)
    }

    /// [`Model::connect`] where `source` holds the policies of the source's namespace (this
    /// model those of the destination's): the source's egress is decided by `source`, the
    /// rest by this model. Both must be models of the same cluster, each holding at least
    /// the namespace it decides for and the cluster's shared facts.
    pub fn connect_from(
        &self,
        source: &Model,
        from: &Party,
        to: &Party,
        port: u16,
        protocol: &str,
    ) -> Verdict {
        let egress = match from {
            Party::Pods(p) => Some(source.side(p, to, (port, protocol), true)),
            Party::Address(_) | Party::Outside | Party::AnyPod => None,
        };
        let ingress = match to {
            Party::Pods(p) => Some(self.side(p, from, (port, protocol), false)),
            Party::Address(_) | Party::Outside | Party::AnyPod => None,
        };
        let sides = [&egress, &ingress].map(|s| s.as_ref().map_or(Answer::Yes, Side::answer));
        let by_policies = and(sides[0], sides[1]);
        let answer = self.combine(from, to, sides);
        let mut notes = Vec::new();
        if by_policies == Answer::Unknown {
            notes.push(
                "a rule decides on what the input does not hold (an ipBlock against a pod whose address is unknown or against an unspecified internet client, or a namespaceSelector on labels of a namespace with no Namespace object)".into(),
            );
        }
        let host: Vec<&str> = [from, to]
            .into_iter()
            .filter_map(|p| match p {
                Party::Pods(p) if p.host_network => Some(p.reference.as_str()),
                _ => None,
            })
            .collect();
        if !host.is_empty() && by_policies != Answer::Yes {
            notes.push(format!(
                "{} uses the host network: traffic between a pod and the node it runs on is always allowed, and whether policies select host-network pods is the network plugin's choice",
                host.join(" and ")
            ));
        }
        notes.extend(self.plugin_note());
        Verdict {
            answer,
            egress,
            ingress,
            notes,
        }
    }

    /// Why every answer is unknown when the cluster holds network-plugin policies.
    pub(crate) fn plugin_note(&self) -> Option<String> {
        (!self.others.is_empty()).then(|| {
            format!(
                "the cluster also holds policies of its network plugin ({}), which can allow or deny around NetworkPolicies and are not evaluated here",
                self.others.join(", ")
            )
        })
    }

    /// [`Model::connect`]'s answer alone, without naming policies (cheap: no allocation).
    pub fn answer(&self, from: &Party, to: &Party, port: u16, protocol: &str) -> Answer {
        let egress = match from {
            Party::Pods(p) => self.side_answer(p, to, (port, protocol), true),
            Party::Address(_) | Party::Outside | Party::AnyPod => Answer::Yes,
        };
        // The destination's side only matters when the source's may allow.
        let ingress = match (egress, to) {
            (Answer::No, _) if self.others.is_empty() && !host_network(from, to) => Answer::No,
            (_, Party::Pods(p)) => self.side_answer(p, from, (port, protocol), false),
            (_, Party::Address(_) | Party::Outside | Party::AnyPod) => Answer::Yes,
        };
        self.combine(from, to, [egress, ingress])
    }

    /// The answer from the two sides' answers: no if either denies, unknown if either cannot
    /// decide; then a host-network party turns anything but yes into unknown, and plugin
    /// policies make every answer unknown.
    fn combine(&self, from: &Party, to: &Party, sides: [Answer; 2]) -> Answer {
        let answer = and(sides[0], sides[1]);
        if !self.others.is_empty() || (answer != Answer::Yes && host_network(from, to)) {
            Answer::Unknown
        } else {
            answer
        }
    }

    /// One direction at `pod`: its egress towards `other`, or its ingress from `other`.
    fn side(&self, pod: &Pods, other: &Party, port: (u16, &str), egress: bool) -> Side {
        if let Some(outcome) = self.calico_side(pod, other, port, egress, true) {
            // Calico's order decides: who may admit and who may drop, as a Side reads them.
            let answer = outcome.answer();
            let calico::Outcome {
                applied,
                allowed_by,
                denied_by,
                ..
            } = outcome;
            let mut side = Side {
                isolated_by: applied,
                ..Side::default()
            };
            match answer {
                Answer::Yes => side.allowed_by = allowed_by,
                Answer::No => side.denied_by = denied_by,
                Answer::Unknown => {
                    side.undecided_by = allowed_by;
                    side.deny_undecided_by = denied_by;
                }
            }
            return side;
        }
        let mut side = Side::default();
        for (policy, verdict) in self.verdicts(pod, other, port, egress) {
            if policy.isolates(egress) {
                side.isolated_by.push(policy.reference.clone());
            }
            match verdict {
                Answer::Yes => side.allowed_by.push(policy.reference.clone()),
                Answer::Unknown => side.undecided_by.push(policy.reference.clone()),
                Answer::No => {}
            }
        }
        for (policy, verdict) in self.denials(pod, other, port, egress) {
            match verdict {
                Answer::Yes => side.denied_by.push(policy.reference.clone()),
                Answer::Unknown => side.deny_undecided_by.push(policy.reference.clone()),
                Answer::No => {}
            }
        }
        side
    }

    /// [`Model::side`]'s answer, without naming the policies.
    fn side_answer(&self, pod: &Pods, other: &Party, port: (u16, &str), egress: bool) -> Answer {
        if let Some(outcome) = self.calico_side(pod, other, port, egress, false) {
            return outcome.answer();
        }
        let mut isolated = false;
        let mut undecided = false;
        let mut allowed = false;
        for (policy, verdict) in self.verdicts(pod, other, port, egress) {
            isolated |= policy.isolates(egress);
            match verdict {
                Answer::Yes => {
                    allowed = true;
                    isolated = true;
                    break;
                }
                Answer::Unknown => undecided = true,
                Answer::No => {}
            }
        }
        let by_allows = match (isolated, allowed, undecided) {
            (false, _, _) | (true, true, _) => Answer::Yes,
            (true, false, true) => Answer::Unknown,
            (true, false, false) => Answer::No,
        };
        if by_allows == Answer::No {
            return Answer::No;
        }
        let mut maybe_denied = false;
        for (_, verdict) in self.denials(pod, other, port, egress) {
            match verdict {
                Answer::Yes => return Answer::No,
                Answer::Unknown => maybe_denied = true,
                Answer::No => {}
            }
        }
        with_denies(by_allows, false, maybe_denied)
    }

    /// One direction at `pod` evaluated Calico's way, when the cluster's Calico policies are
    /// evaluated (the NetworkPolicies isolating the pod join them in the `default` tier).
    fn calico_side(
        &self,
        pod: &Pods,
        other: &Party,
        port: (u16, &str),
        egress: bool,
        named: bool,
    ) -> Option<calico::Outcome> {
        let c = self.calico.as_ref()?;
        let kubernetes = self
            .verdicts(pod, other, port, egress)
            .filter(|(p, _)| !p.cilium && p.isolates(egress))
            .map(|(p, a)| (p.reference.as_str(), a))
            .collect();
        Some(c.side(&calico::SideQuestion {
            namespaces: &self.namespaces,
            pod,
            other,
            port,
            egress,
            kubernetes,
            named,
        }))
    }

    /// Each policy that selects `pod` with rules (or isolation) in the direction, with whether
    /// one of its rules allows the connection.
    fn verdicts<'m>(
        &'m self,
        pod: &'m Pods,
        other: &'m Party,
        port: (u16, &'m str),
        egress: bool,
    ) -> impl Iterator<Item = (&'m Policy, Answer)> + 'm {
        self.matching(pod, other, port, egress, move |policy| {
            let rules = if egress {
                policy.egress.as_deref()
            } else {
                policy.ingress.as_deref()
            };
            rules.or_else(|| policy.isolates(egress).then_some(&[][..]))
        })
    }

    /// Each policy selecting `pod` with deny rules for the direction, with whether one matches
    /// the connection.
    fn denials<'m>(
        &'m self,
        pod: &'m Pods,
        other: &'m Party,
        port: (u16, &'m str),
        egress: bool,
    ) -> impl Iterator<Item = (&'m Policy, Answer)> + 'm {
        self.matching(pod, other, port, egress, move |policy| {
            let rules = if egress {
                &policy.egress_deny
            } else {
                &policy.ingress_deny
            };
            (!rules.is_empty()).then_some(rules.as_slice())
        })
    }

    /// Each policy selecting `pod` for which `rules_of` gives rules, with whether one of them
    /// matches the connection.
    fn matching<'m>(
        &'m self,
        pod: &'m Pods,
        other: &'m Party,
        port: (u16, &'m str),
        egress: bool,
        rules_of: impl Fn(&'m Policy) -> Option<&'m [Rule]> + 'm,
    ) -> impl Iterator<Item = (&'m Policy, Answer)> + 'm {
        self.policies_in(&pod.namespace).filter_map(move |policy| {
            let rules = rules_of(policy)?;
            if !self.selects(policy, pod) {
                return None;
            }
            Some((
                policy,
                self.rules_match(policy, rules, pod, other, port, egress),
            ))
        })
    }

    /// Whether one of a policy's rules (for `pod`'s direction) matches the connection with
    /// `other`: yes, no, or undecidable.
    fn rules_match(
        &self,
        policy: &Policy,
        rules: &[Rule],
        pod: &Pods,
        other: &Party,
        (port, protocol): (u16, &str),
        egress: bool,
    ) -> Answer {
        // Named ports are the destination's.
        let destination = if egress {
            match other {
                Party::Pods(p) => Some(p),
                Party::Address(_) | Party::Outside | Party::AnyPod => None,
            }
        } else {
            Some(pod)
        };
        let mut verdict = Answer::No;
        for rule in rules {
            let ports = match &rule.ports {
                None => Answer::Yes,
                // Every port: a rule naming some may or may not match.
                Some(ps) if (port, protocol) == EVERY_PORT => {
                    if ps.is_empty() {
                        Answer::No
                    } else {
                        Answer::Unknown
                    }
                }
                Some(ps) => yes(ps
                    .iter()
                    .any(|p| port_matches(p, port, protocol, destination))),
            };
            if ports == Answer::No {
                continue;
            }
            let peer = match &rule.peers {
                None => Answer::Yes,
                Some(peers) if matches!(other, Party::Outside) && every_address(peers) => {
                    Answer::Yes
                }
                Some(peers) => peers
                    .iter()
                    .map(|p| self.peer_matches(p, &policy.namespace, other))
                    .fold(Answer::No, or),
            };
            let peer = match (and(ports, peer), rule.undecided) {
                (Answer::No, _) => Answer::No,
                (_, Some(_)) => Answer::Unknown,
                (a, None) => a,
            };
            if peer == Answer::Yes {
                return Answer::Yes;
            }
            if peer == Answer::Unknown {
                verdict = Answer::Unknown;
            }
        }
        verdict
    }

    fn peer_matches(&self, peer: &Peer, policy_ns: &str, other: &Party) -> Answer {
        match (peer, other) {
            (Peer::Invalid, _) => Answer::No,
            (Peer::Undecided(_), _) => Answer::Unknown,
            (Peer::Pods { pods, namespaces }, Party::Pods(p)) => {
                if !pods.as_ref().is_none_or(|s| s.matches(&p.labels)) {
                    return Answer::No;
                }
                match namespaces {
                    None => yes(p.namespace == policy_ns),
                    Some(sel) => self.namespace_matches(sel, &p.namespace),
                }
            }
            (Peer::Pods { .. } | Peer::Endpoints { .. }, Party::Address(_) | Party::Outside) => {
                Answer::No
            }
            // Some pod: surely matched only by a peer for every pod of every namespace.
            (Peer::Pods { pods, namespaces }, Party::AnyPod) => {
                let every_pod = pods.as_ref().is_none_or(LabelSelector::is_empty);
                let every_namespace = namespaces
                    .as_ref()
                    .is_some_and(audit::selects_every_namespace);
                surely(every_pod && every_namespace)
            }
            (
                Peer::Endpoints {
                    selector,
                    namespace,
                },
                Party::AnyPod,
            ) => surely(namespace.is_none() && selector.is_empty()),
            (
                Peer::Endpoints {
                    selector,
                    namespace,
                },
                Party::Pods(p),
            ) => {
                if namespace.as_ref().is_some_and(|n| *n != p.namespace) {
                    Answer::No
                } else if selector.matches(&self.cilium_labels(p)) {
                    Answer::Yes
                } else if !self.namespaces.contains_key(&p.namespace)
                    && cilium::reads_namespace_labels(selector)
                {
                    // The labels of a namespace the input holds no object of are unknown.
                    Answer::Unknown
                } else {
                    Answer::No
                }
            }
            (Peer::Entity(e), party) => entity_matches(e, party),
            // A Cilium CIDR rule never matches the cluster's own pods.
            (Peer::Block { pods: false, .. }, Party::Pods(_) | Party::AnyPod) => Answer::No,
            // Which address (and family) an internet client has is unknown: a rule admits
            // every one only with both unbounded blocks (see `rules_match`).
            (Peer::Block { .. }, Party::Outside) => Answer::Unknown,
            (Peer::Block { cidr, except, .. }, party) => {
                let ip = match party {
                    Party::Address(ip) => Some(*ip),
                    Party::Pods(p) => p.ip,
                    Party::Outside | Party::AnyPod => None,
                };
                match ip {
                    Some(ip) => yes(cidr.contains(ip) && !except.iter().any(|e| e.contains(ip))),
                    None if cidr.holds_no_pod() => Answer::No,
                    None => Answer::Unknown,
                }
            }
        }
    }
}

/// Whether a Cilium entity is the party: `all` is everything, `world` what is outside the
/// cluster (`world-ipv4`/`world-ipv6` by family), `cluster` the cluster's pods; the others
/// (`host`, `remote-node`, `kube-apiserver`, `health`, `ingress`, ...) are never a pod that
/// does not use the host network, and may or may not be an address.
fn entity_matches(entity: &str, party: &Party) -> Answer {
    match (entity, party) {
        ("all", _) => Answer::Yes,
        ("world", Party::Pods(_) | Party::AnyPod)
        | ("cluster", Party::Address(_) | Party::Outside) => Answer::No,
        ("world", Party::Address(_) | Party::Outside)
        | ("cluster", Party::Pods(_) | Party::AnyPod) => Answer::Yes,
        // Some pod may be one Cilium does not manage, or one starting up.
        ("init" | "unmanaged", Party::AnyPod) => Answer::Unknown,
        ("world-ipv4", Party::Address(ip)) => yes(ip.is_ipv4()),
        ("world-ipv6", Party::Address(ip)) => yes(ip.is_ipv6()),
        ("world-ipv4" | "world-ipv6", Party::Outside) => Answer::Unknown,
        (_, Party::Pods(_) | Party::AnyPod) => Answer::No,
        (_, Party::Address(_)) => Answer::Unknown,
        (_, Party::Outside) => Answer::No,
    }
}

fn port_matches(rule: &PortRule, port: u16, protocol: &str, destination: Option<&Pods>) -> bool {
    if rule.protocol != "ANY" && !rule.protocol.eq_ignore_ascii_case(protocol) {
        return false;
    }
    match &rule.port {
        None => true,
        Some(PortRef::Number(n)) => match rule.end_port {
            Some(end) => (*n..=end).contains(&port),
            None => *n == port,
        },
        Some(PortRef::Invalid) => false,
        Some(PortRef::Name(name)) => {
            destination.is_some_and(|d| d.names_port(name, port, protocol))
        }
    }
}

/// The network-plugin policies of a cluster that this evaluator does not read: all of them,
/// except Cilium's (and Cilium's CRDs) once the input carries some Cilium policy, Calico's (and
/// its CRDs) once it carries some Calico policy, and the policy API's AdminNetworkPolicy and
/// BaselineAdminNetworkPolicy (and their CRDs) once it carries one of them — then the input is
/// an export that holds them, and they are evaluated. CRDs alone say that such policies may
/// exist where the input (a live collection) does not show them. Cilium's policies beside
/// Calico's or the policy API's are not evaluated (one cluster runs one plugin; which one
/// enforces is not in the input).
fn unevaluated(others: Vec<String>) -> Vec<String> {
    let carries_cilium = others.iter().any(|r| {
        cilium::KINDS
            .iter()
            .any(|k| r.starts_with(&format!("{k}:")))
    });
    let carries_calico = others.iter().any(|r| calico::is_policy_reference(r));
    let carries_admin = others.iter().any(|r| calico::is_admin_policy_reference(r));
    // The ordered evaluation (Calico's, the policy API's) and Cilium's are not combined.
    let ordered = carries_calico || carries_admin;
    others
        .into_iter()
        .filter(|r| {
            let evaluated = if carries_cilium {
                !ordered && cilium::is_cilium_reference(r)
            } else {
                (carries_calico && calico::is_calico_reference(r))
                    || (carries_admin && calico::is_admin_reference(r))
            };
            !evaluated
        })
        .collect()
}

/// A namespace's default deny for a direction, voided by a policy whose rule allows every peer
/// (or every pod of every namespace) on every port for the pods it selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reopened {
    /// The namespace.
    pub namespace: String,
    /// `ingress` or `egress`.
    pub direction: &'static str,
    /// The default-deny policy.
    pub denied_by: String,
    /// The policy that re-opens the direction.
    pub reopened_by: String,
    /// The rule's path in that policy (`spec.ingress[0]`).
    pub rule: String,
    /// Whether the re-opening policy selects every pod of the namespace.
    pub for_all_pods: bool,
    /// Whom the rule admits: `every source` or `every pod of every namespace`.
    pub peers: &'static str,
}

impl Model {
    /// Default denies that another policy of the namespace voids (policies are a union: an
    /// allow-all rule beside a deny-all policy leaves the selected pods open).
    pub fn reopened(&self) -> Vec<Reopened> {
        let mut out = Vec::new();
        for (direction, rules_of) in [
            (
                "ingress",
                (|p: &Policy| p.ingress.as_ref()) as fn(&Policy) -> Option<&Vec<Rule>>,
            ),
            ("egress", |p: &Policy| p.egress.as_ref()),
        ] {
            // NetworkPolicies only: a Cilium policy's empty rule list does not isolate, and its
            // empty rule is a deny, not an allow-all.
            for deny in self.policies.iter().filter(|p| !p.cilium) {
                if !deny.selects.is_empty() || rules_of(deny).is_none_or(|r| !r.is_empty()) {
                    continue;
                }
                for allow in self
                    .policies
                    .iter()
                    .filter(|p| !p.cilium && p.namespace == deny.namespace)
                {
                    let Some(rule) = rules_of(allow).into_iter().flatten().find_map(|r| {
                        if r.ports.is_some() {
                            return None;
                        }
                        match &r.peers {
                            None => Some((r.index, "every source")),
                            Some(peers) => peers
                                .iter()
                                .any(every_pod)
                                .then_some((r.index, "every pod of every namespace")),
                        }
                    }) else {
                        continue;
                    };
                    out.push(Reopened {
                        namespace: deny.namespace.clone(),
                        direction,
                        denied_by: deny.reference.clone(),
                        reopened_by: allow.reference.clone(),
                        rule: format!("spec.{direction}[{}]", rule.0),
                        for_all_pods: allow.selects.is_empty(),
                        peers: rule.1,
                    });
                }
            }
        }
        out
    }
}

/// The labels of the namespaces `inv` holds objects of, with the name label the API server
/// sets on each.
fn namespace_labels(inv: &Inventory<'_>) -> BTreeMap<String, BTreeMap<String, String>> {
    inv.of_kind("Namespace")
        .iter()
        .map(|ns| {
            let mut labels = ns.labels.clone();
            labels.insert(NAMESPACE_NAME_LABEL.into(), ns.name.clone());
            (ns.name.clone(), labels)
        })
        .collect()
}

/// Whether models `a` and `b` hold the labels of namespace `ns` alike on `keys` (`None`: every
/// label; keys that are the name label alone read nothing a namespace's name does not say).
fn labels_read_alike(keys: &Option<BTreeSet<String>>, a: &Model, b: &Model, ns: &str) -> bool {
    let (x, y) = (a.namespaces.get(ns), b.namespaces.get(ns));
    match keys {
        None => x == y,
        Some(keys) if keys.iter().all(|k| k == NAMESPACE_NAME_LABEL) => true,
        Some(keys) => x.map(|l| project(l, keys)) == y.map(|l| project(l, keys)),
    }
}

/// `labels` on `keys` alone.
fn project<'l>(
    labels: &'l BTreeMap<String, String>,
    keys: &BTreeSet<String>,
) -> BTreeMap<&'l str, &'l str> {
    labels
        .iter()
        .filter(|(k, _)| keys.contains(*k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Adds to `mine` the items of `theirs` whose reference it does not hold, sorted by reference
/// (two models of one cluster share their cluster-wide objects).
fn merge_by_reference<T: Clone>(mine: &mut Vec<T>, theirs: &[T], reference: fn(&T) -> &str) {
    let known: std::collections::BTreeSet<String> =
        mine.iter().map(|x| reference(x).to_string()).collect();
    mine.extend(
        theirs
            .iter()
            .filter(|x| !known.contains(reference(x)))
            .cloned(),
    );
    mine.sort_by(|a, b| reference(a).cmp(reference(b)));
}

/// Yes when `b`, else unknown (a peer that is not surely every pod may still be some pod).
fn surely(b: bool) -> Answer {
    if b {
        Answer::Yes
    } else {
        Answer::Unknown
    }
}

/// Yes or no.
fn yes(b: bool) -> Answer {
    if b {
        Answer::Yes
    } else {
        Answer::No
    }
}

/// No if either is no, else unknown if either is, else yes (both sides of a connection, every
/// field of a rule).
fn and(a: Answer, b: Answer) -> Answer {
    match (a, b) {
        (Answer::No, _) | (_, Answer::No) => Answer::No,
        (Answer::Unknown, _) | (_, Answer::Unknown) => Answer::Unknown,
        _ => Answer::Yes,
    }
}

/// Yes if either is yes, else unknown if either is, else no (alternative peers).
fn or(a: Answer, b: Answer) -> Answer {
    match (a, b) {
        (Answer::Yes, _) | (_, Answer::Yes) => Answer::Yes,
        (Answer::Unknown, _) | (_, Answer::Unknown) => Answer::Unknown,
        _ => Answer::No,
    }
}

/// The opposite; unknown stays unknown.
fn not(a: Answer) -> Answer {
    match a {
        Answer::Yes => Answer::No,
        Answer::No => Answer::Yes,
        Answer::Unknown => Answer::Unknown,
    }
}

/// Whether either party is a host-network pod.
fn host_network(from: &Party, to: &Party) -> bool {
    [from, to]
        .iter()
        .any(|p| matches!(p, Party::Pods(p) if p.host_network))
}

/// Whether peers admit every address of both families (`0.0.0.0/0` and `::/0`, no `except`).
fn every_address(peers: &[Peer]) -> bool {
    every_address_in(peers.iter().filter_map(|p| match p {
        Peer::Block { cidr, except, .. } if except.is_empty() => Some(cidr),
        _ => None,
    }))
}

/// Whether the ranges hold every address of both families (`0.0.0.0/0` and `::/0`): only then
/// do they surely hold an internet client, whose address is unknown.
fn every_address_in<'c>(ranges: impl Iterator<Item = &'c Cidr>) -> bool {
    let (mut v4, mut v6) = (false, false);
    for c in ranges.filter(|c| c.prefix == 0) {
        v4 |= c.network.is_ipv4();
        v6 |= c.network.is_ipv6();
    }
    v4 && v6
}

/// A peer that admits every pod of every namespace (`namespaceSelector: {}`, no narrower
/// `podSelector`).
fn every_pod(peer: &Peer) -> bool {
    matches!(peer, Peer::Pods { pods, namespaces: Some(ns) }
        if ns.is_empty() && pods.as_ref().is_none_or(LabelSelector::is_empty))
}

/// The pods of the workload or Pod `reference` (`Kind:namespace/name`), as policies see them.
pub fn pods_of(inv: &Inventory<'_>, reference: &str) -> Option<Pods> {
    inv.pod_templates()
        .into_iter()
        .find(|t| t.owner.node_ref() == reference)
        .map(|t| Pods::of(&t))
}

impl Pods {
    /// Whether the pods' container port `name` is `port` with `protocol` (a named port in a
    /// rule is the destination's).
    fn names_port(&self, name: &str, port: u16, protocol: &str) -> bool {
        self.ports
            .iter()
            .any(|(pn, pp, pr)| pn == name && *pp == port && pr.eq_ignore_ascii_case(protocol))
    }

    /// The pods a template makes, as policies see them.
    pub fn of(t: &PodTemplate<'_>) -> Pods {
        let ports = t
            .containers()
            .flat_map(|c| c.ports().collect::<Vec<_>>())
            .filter_map(|p| {
                Some((
                    p.name.unwrap_or("").to_string(),
                    // Port 0 is no port (and the question about every port, EVERY_PORT).
                    u16::try_from(p.number).ok().filter(|n| *n > 0)?,
                    p.protocol.to_string(),
                ))
            })
            .collect();
        Pods {
            reference: t.owner.node_ref(),
            namespace: t
                .owner
                .effective_namespace()
                .unwrap_or("default")
                .to_string(),
            labels: LabelSelector::labels_of(t.metadata),
            ports,
            ip: (t.spec_path == "spec")
                .then(|| t.owner.body.at("/status/podIP"))
                .flatten()
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok()),
            host_network: t.spec.get("hostNetwork").and_then(Value::as_bool) == Some(true),
            service_account: t.service_account_name().to_string(),
        }
    }
}

/// The addresses a cloud's instance metadata server answers on (port 80): AWS IMDS (IPv4 and
/// the Nitro IPv6 endpoint), the GCE metadata server (IPv4 and IPv6), Azure IMDS.
pub const AWS_METADATA: &[&str] = &["169.254.169.254", "fd00:ec2::254"];
/// See [`AWS_METADATA`].
pub const GCP_METADATA: &[&str] = &["169.254.169.254", "fd20:ce::254"];
/// See [`AWS_METADATA`].
pub const AZURE_METADATA: &[&str] = &["169.254.169.254"];

impl Model {
    /// Whether pods may reach the metadata server at any of `addresses` on port 80, by the
    /// NetworkPolicies, and in words why when they may not or it cannot be decided.
    pub fn metadata_egress(&self, pods: &Pods, addresses: &[&str]) -> (Answer, String) {
        let mut answer = Answer::No;
        let mut why = String::new();
        let from = Party::Pods(pods.clone());
        for a in addresses {
            let Ok(ip) = a.parse::<IpAddr>() else {
                continue;
            };
            let v = self.connect(&from, &Party::Address(ip), 80, "TCP");
            match v.answer {
                Answer::Yes => return (Answer::Yes, String::new()),
                Answer::Unknown => {
                    answer = Answer::Unknown;
                    why = v.notes.join("; ");
                }
                Answer::No if answer == Answer::No => {
                    let by = v
                        .egress
                        .map(|s| s.isolated_by.join(", "))
                        .unwrap_or_default();
                    why = format!("egress to the metadata server is denied by {by}");
                }
                Answer::No => {}
            }
        }
        (answer, why)
    }
}

mod audit;
mod calico;
mod cilium;
mod reach;
pub use audit::Shadowed;
pub use reach::{Decided, Forgotten, Link, Member, Reach, Segment};

#[cfg(test)]
pub(crate) mod tests;
