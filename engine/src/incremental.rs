//! Incremental evaluation of one cluster, for continuous mode: after a batch of object changes,
//! only the namespaces that changed are evaluated again.
//!
//! The evaluation of a cluster splits into a *cluster part* and one *namespace part* per
//! namespace. The cluster part holds what depends on shared objects: the effective RBAC, nodes,
//! ServiceAccounts and every identity bound by RBAC, the cloud bridges, and the checks on
//! cluster-scoped objects. A namespace part holds what its own objects add, read together with
//! the cluster-scoped objects and the cluster part's facts ([`ClusterFacts`]): its pod
//! templates, Services, Ingresses and Secrets in the graph ([`Part::Namespace`]) and every
//! finding on its objects and on its Namespace. The union of the parts is the cluster's
//! evaluation (a test holds it equal to [`crate::evaluate_cluster_result`]).
//!
//! A change to a namespaced object of a kind nothing shared depends on (pods, workloads,
//! Services, Ingresses, ConfigMaps, NetworkPolicies, Secrets other than ServiceAccount tokens,
//! ...) re-evaluates that namespace. A change to RBAC objects (Roles, ClusterRoles and their
//! bindings) re-evaluates the cluster part — of its users and groups, those whose grants change
//! — and, of the namespaces, only those it reaches: whose bindings, or whose ServiceAccounts'
//! grants, differ, and those whose ServiceAccounts may read what else changed (the names
//! bindings name, the Roles; [`crate::rbac::reach`]). A change to ServiceAccounts or their
//! token Secrets re-evaluates the cluster part — of its users and groups, those whose grants
//! read them by name — and their namespaces, and those whose ServiceAccounts' grants read the
//! accounts or live token Secrets of those namespaces (when the ones listed there changed).
//! A change to Nodes re-evaluates the cluster part and the namespaces whose pods run
//! (`spec.nodeName`) on a node whose [`NodeView`] changed — its pool labels, or its being
//! there at all: a namespace part reads nothing else of a Node — unless whether some node has
//! an external address (NodePorts facing the internet) changed.
//! A Namespace whose labels stay as they were (its annotations, finalizers, status changed)
//! re-evaluates its own namespace: other parts read only its name and labels. When its labels
//! change, the cluster part is evaluated again with the facts read again from them (which
//! namespaces Pod Security guards, the labels namespace selectors see), and so are the
//! namespace, those whose objects' namespace selectors may now say otherwise of it, and — when
//! whether Pod Security forbids privileged pods there changed — those whose ServiceAccounts may
//! create or change workloads there and those serving a mutating webhook ([`relabel`]); the
//! whole cluster when a cluster-scoped object's selector (but a webhook's) may say otherwise.
//! A new Namespace alone in its namespace is judged alike (as one that no selector matched and
//! Pod Security did not guard before; with RBAC again when EKS access policies, which may be
//! scoped to namespace patterns, are present). A namespace removed — its Namespace deleted and
//! nothing left in it, as the namespace controller leaves it (a webhook's review of the
//! deletion, or the watch's last event of it) — is judged alike, as one that no selector matches
//! and Pod Security does not guard after, its part taken out.
//! A change to EKS's aws-auth ConfigMap re-evaluates the cluster part (the groups it maps IAM
//! identities into, the cloud facts it feeds the bridges) and its namespace.
//! Every other change (cloud documents, network-plugin policies, a namespace that appears
//! with objects in it, or empties while no Namespace names it; a Namespace deleted while objects
//! stay in its namespace; ServiceAccount labels when Calico policies read them; a node's
//! external address as said) re-evaluates the cluster.
//! Pod-to-pod network reach crosses namespaces: it is decided again at the join when some
//! part's policies or workloads (as reach sees them) changed, the links between segments that
//! did not change taken from the decisions kept under the same merged policies
//! ([`crate::netpol::Decided`]: a source segment asking the same destinations gets its row of
//! links again; what an update forgot is put back when it is undone), and the joined graph
//! takes only the pieces of the reach that differ ([`Drawing::changes`]).
//! Cross-namespace facts that namespaces feed — the internet-facing load balancers, the pods
//! behind them (ingress controllers, gateways) and their namespaces' policies, whether the cluster has EndpointSlices, the pods that share a node with
//! a container reading the kubelet's pod directories, the ServiceAccounts only pod templates
//! name (for the cloud bridges) — are gathered from every namespace part and, when they change,
//! re-evaluate what depends on them.

use crate::checks::{self, Check};
use crate::drift::finding_key;
use crate::evaluate::{
    annotate, binding_subjects, cloud_bridges, evaluate_cluster, judge_on_fleet_graph, rbac_of,
    skipped_checks, CloudParts, ClusterCloud, ClusterResult, Evaluation, Pending,
};
use crate::graph::joined::Joined;
use crate::graph::paths::{AttackPath, PathSearches};
use crate::graph::{
    is_token_secret, Accounts, AttackGraph, BoundNames, ClusterFacts, Drawing, Exposure,
    LabelFacts, Neighbours, NodeKind, NodeView, Part,
};
use crate::inventory::Inventory;
use crate::object::Object;
use crate::options::ScanOptions;
use crate::parallel::{both, parallel_map, Aside};
use crate::pointer::Pointer as _;
use crate::rbac::Rbac;
use crate::report::{Finding, Suppressed};
use crate::snapshot::ClusterSnapshot;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

mod relabel;

/// Identifies an object for [`Incremental::apply`]: (resource, namespace, name), the resource
/// as the caller lists it (two resources may serve one kind).
pub type Key = (String, String, String);

/// An object's key as [`Incremental::new`] keys its initial objects: (kind, namespace or
/// `""`, name).
pub fn key_of(o: &Object) -> Key {
    (
        o.kind.clone(),
        o.effective_namespace().unwrap_or("").to_string(),
        o.name.clone(),
    )
}

/// A key as findings name resources: `Kind:namespace/name`, or `Kind:name` when
/// cluster-scoped.
pub fn reference(key: &Key) -> String {
    if key.1.is_empty() {
        format!("{}:{}", key.0, key.2)
    } else {
        format!("{}:{}/{}", key.0, key.1, key.2)
    }
}

/// Namespaced kinds the cluster part reads: a change to one re-evaluates the cluster. (Secrets
/// too when they are ServiceAccount tokens.)
const SHARED_KINDS: &[&str] = &["ServiceAccount", "Role", "RoleBinding"];

/// What a change can affect of the evaluation, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    /// Its namespace's part.
    Namespace,
    /// RBAC: the cluster part and the namespaces whose bindings or ServiceAccounts' grants the
    /// change alters ([`crate::rbac::reach`]).
    Rbac,
    /// ServiceAccounts and their token Secrets ([`Accounts`]): the cluster part, their
    /// namespaces and the namespaces whose ServiceAccounts' grants read them by name.
    Accounts,
    /// Nodes: the cluster part, and the namespaces whose pods run on a node whose
    /// [`NodeView`] (what a namespace part reads of it) changed.
    Nodes,
    /// EKS's aws-auth ConfigMap ([`is_aws_auth`]): the cluster part (the groups it maps
    /// identities into, the cloud facts) and its namespace.
    AwsAuth,
    /// The whole cluster.
    Cluster,
}

impl Reach {
    fn of(o: &Object) -> Reach {
        if RBAC_KINDS.contains(&o.kind.as_str()) {
            Reach::Rbac
        } else if o.kind == "ServiceAccount" || is_token_secret(o) {
            Reach::Accounts
        } else if o.kind == "Node" {
            Reach::Nodes
        } else if is_aws_auth(o) {
            Reach::AwsAuth
        } else if kind_is_shared(o) {
            Reach::Cluster
        } else {
            Reach::Namespace
        }
    }
}

/// Kinds whose objects the cluster part reads as RBAC alone: every other fact stays as it was
/// when one changes but for the names bindings name ([`BoundNames`]).
const RBAC_KINDS: &[&str] = &["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"];

/// The namespaced ones.
const NAMESPACED_RBAC_KINDS: &[&str] = &["Role", "RoleBinding"];

/// What an RBAC or ServiceAccount change altered that identities' parts read beyond their own
/// grants ([`crate::rbac::reach::Reads`]).
#[derive(Debug)]
struct Changed {
    /// The user and group names bindings name.
    names: bool,
    /// The Roles.
    roles: bool,
    /// The namespaces whose ServiceAccounts (by name) changed.
    service_accounts: BTreeSet<String>,
    /// The namespaces whose live token Secrets changed.
    token_secrets: BTreeSet<String>,
    /// The namespaces whose Pod Security guard (whether it forbids privileged pods) changed.
    pod_security: BTreeSet<String>,
}

impl Changed {
    fn reads(&self) -> Vec<crate::rbac::reach::Reads> {
        use crate::rbac::reach::Reads;
        let mut out = Vec::new();
        if self.names {
            out.push(Reads::BoundNames);
        }
        if self.roles {
            out.push(Reads::Roles);
        }
        if !self.service_accounts.is_empty() {
            out.push(Reads::ServiceAccounts(self.service_accounts.clone()));
        }
        if !self.token_secrets.is_empty() {
            out.push(Reads::TokenSecrets(self.token_secrets.clone()));
        }
        if !self.pod_security.is_empty() {
            out.push(Reads::PodSecurity(self.pod_security.clone()));
        }
        out
    }
}

/// A batch of changes, stored: what they affect.
struct Staged {
    /// The whole cluster must be evaluated again.
    whole: bool,
    /// Some RBAC object changed.
    rbac: bool,
    /// Some ServiceAccount or token Secret changed.
    accounts: bool,
    /// Some Node changed.
    nodes: bool,
    /// The aws-auth ConfigMap changed.
    aws_auth: bool,
    /// The namespaces their objects were and are in, and those whose pods run on a node whose
    /// [`NodeView`] changed.
    dirty: BTreeSet<String>,
    /// Namespaces that stay whose labels changed, new Namespaces of namespaces that hold
    /// nothing else, and namespaces removed (their Namespace and everything in them): their
    /// labels before (`None`: new) and after (`None`: removed).
    relabeled: BTreeMap<String, relabel::Change>,
}

impl Staged {
    /// Whether something held changed.
    fn changed(&self) -> bool {
        self.whole
            || self.rbac
            || self.accounts
            || self.nodes
            || self.aws_auth
            || !self.dirty.is_empty()
    }

    /// Whether the cluster part must be evaluated again.
    fn cluster(&self) -> bool {
        self.rbac || self.accounts || self.nodes || self.aws_auth || !self.relabeled.is_empty()
    }

    /// The namespaces removed.
    fn removed(&self) -> BTreeSet<String> {
        self.relabeled
            .iter()
            .filter(|(_, (_, after))| after.is_none())
            .map(|(ns, _)| ns.clone())
            .collect()
    }
}

/// What one [`Incremental::apply`] changed.
#[derive(Debug, Default)]
pub struct Delta {
    /// Findings that appeared (with `on_attack_path` and `blast_radius` set).
    pub added_findings: Vec<Finding>,
    /// Findings that resolved.
    pub resolved_findings: Vec<Finding>,
    /// Attack paths that appeared.
    pub added_paths: Vec<AttackPath>,
    /// Attack paths that resolved.
    pub resolved_paths: Vec<AttackPath>,
    /// Whether the whole cluster was evaluated again (else only `namespaces`).
    pub whole_cluster: bool,
    /// Whether the cluster part was evaluated again (an RBAC, ServiceAccount, token Secret or
    /// Node change), with only the namespaces the change reaches (not the whole cluster).
    pub cluster_part: bool,
    /// Namespaces evaluated again.
    pub namespaces: usize,
}

/// One namespace's part of the evaluation.
struct NamespacePart {
    graph: AttackGraph,
    neighbours: Neighbours,
    findings: Vec<Finding>,
    /// Hits the joined graph judges ([`judge_on_fleet_graph`]).
    pending: Vec<Pending>,
    /// Findings an exception or annotation suppresses.
    suppressed: Vec<Suppressed>,
    exposure: Exposure,
    endpoint_slices: usize,
    /// Pods placed on a node (the cluster fact `scheduled` depends on them).
    scheduled_pods: usize,
    has_ingress: bool,
    /// The addresses of its Ingresses (what of the exposure they read by address:
    /// [`crate::exposure::RouteReaders`]).
    ingress_addresses: BTreeSet<String>,
    template_sas: BTreeSet<(String, String)>,
    /// Fleet-level nodes (cloud principals) the part creates: the cloud bridges read them.
    principals: BTreeMap<String, NodeKind>,
}

/// The cluster part of the evaluation: what depends on shared objects (see the module
/// documentation).
struct ClusterPart {
    /// Shared with the next cluster part while RBAC objects stay as they were (a ServiceAccount,
    /// token Secret or Node change): not copied, and compared by address.
    rbac: Arc<Rbac>,
    /// What the cluster brings to its cloud bridges (when present, the bridges read template
    /// ServiceAccounts).
    cloud_facts: ClusterCloud,
    /// Its graph but for the users and groups.
    graph: AttackGraph,
    /// That graph before the cloud bridges (a cluster's result is read before the fleet's
    /// bridges join it: [`Incremental::cluster_result`]); `None` when the cluster brings no
    /// cloud facts, the bridges then drawing nothing ([`ClusterPart::unbridged`]).
    unbridged: Option<AttackGraph>,
    /// Each user's and group's graph, by node reference.
    identities: BTreeMap<String, AttackGraph>,
    findings: Vec<Finding>,
    /// The hits that the joined graph judges.
    pending: Vec<Pending>,
    /// Findings an exception or annotation suppresses.
    suppressed: Vec<Suppressed>,
    binding_subjects: HashMap<(String, String), Vec<String>>,
    /// What its users' graphs read of the namespaces: [`Incremental::runs_as`].
    runs_as: HashMap<String, Vec<String>>,
}

impl ClusterPart {
    /// Its graph before the cloud bridges.
    fn unbridged(&self) -> &AttackGraph {
        self.unbridged.as_ref().unwrap_or(&self.graph)
    }

    /// Whether the cluster part built with the gathered cloud principals `a` is the one built
    /// with `b`: they differ only in principals its own graph draws (node roles of listed
    /// nodes), which adding again changes nothing.
    fn reads_alike(&self, a: &BTreeMap<String, NodeKind>, b: &BTreeMap<String, NodeKind>) -> bool {
        let beyond = |m: &BTreeMap<String, NodeKind>| -> Vec<(String, NodeKind)> {
            m.iter()
                .filter(|(reference, _)| self.unbridged().find(None, reference).is_none())
                .map(|(r, k)| (r.clone(), *k))
                .collect()
        };
        a == b || beyond(a) == beyond(b)
    }
}

/// The evaluation state of the whole cluster.
struct State {
    cluster: ClusterPart,
    facts: ClusterFacts,
    template_sas: BTreeSet<(String, String)>,
    principals: BTreeMap<String, NodeKind>,
    namespaces: BTreeMap<String, NamespacePart>,
    /// The HOST_TRAVERSE_TOKENS edges between namespaces, as a part of `joined`.
    neighbours: AttackGraph,
    /// The network reach between workloads of every namespace, in `joined` piece by piece
    /// (decided again only when some namespace's policies or workloads, as reach sees them,
    /// change; then only the pieces that differ are replaced).
    network: Drawing,
    /// Every namespace's NetworkPolicies and labels as one model (merged again only when some
    /// namespace's change).
    policies: Policies,
    joined: Joined,
    /// The joined graph's searches, made at the join ([`join_neighbours`]) for its paths and
    /// judged findings, and read again for the delta's added findings. `None` once the graph
    /// may have changed since: an update clears them, an undo too (a graph patched back holds
    /// the same nodes and edges, not at the same indices).
    searches: Option<PathSearches>,
    paths: Vec<AttackPath>,
    /// The pending findings of every part that the joined graph confirms.
    judged: Vec<Finding>,
}

/// Every namespace's NetworkPolicies and labels as one model, and the network links decided
/// under it (kept for the next reach while the model stays).
#[derive(Default)]
struct Policies {
    model: crate::netpol::Model,
    decided: crate::netpol::Decided,
}

/// The merged policies an update replaced.
enum OldPolicies {
    /// Merged again: the model and the links decided under it.
    Replaced(Policies),
    /// Only some namespaces' policies, or labels, changed: the model, whose links decided stay
    /// but those of these namespaces' segments ([`crate::netpol::Decided::forget_namespaces`];
    /// none, when no policy changed and no selector reads the labels that did), and what was
    /// forgotten of them, put back with the model ([`crate::netpol::Decided::put_back`]).
    Patched(
        crate::netpol::Model,
        BTreeSet<String>,
        crate::netpol::Forgotten,
    ),
}

/// A cluster's objects and their evaluation, kept up to date change by change.
pub struct Incremental {
    meta: ClusterSnapshot,
    options: ScanOptions,
    /// Checks that report on namespaced objects or Namespaces.
    namespace_checks: Vec<&'static Check>,
    /// Checks that report on cluster-scoped objects.
    cluster_checks: Vec<&'static Check>,
    /// Objects by namespace (`""`: cluster-scoped), in key order.
    objects: BTreeMap<String, BTreeMap<Key, Object>>,
    /// Where each key's object is.
    placed: HashMap<Key, String>,
    /// The objects the cluster part reads ([`Incremental::cluster_inventory`]), by
    /// (namespace, key): in the order of [`Incremental::objects`].
    shared: BTreeSet<(String, Key)>,
    /// What each RBAC object says of RBAC, read when it is stored ([`Incremental::rbac`]),
    /// likewise.
    rbac_pieces: BTreeMap<(String, Key), crate::rbac::Piece>,
    /// The objects of kinds that may hold a namespace selector
    /// ([`relabel::may_select_namespaces`]), likewise: those a relabel asks.
    selecting: BTreeSet<(String, Key)>,
    /// The next apply evaluates the whole cluster.
    force_whole: bool,
    state: Option<Box<State>>,
}

fn cluster_scoped_kind(kind: &str) -> bool {
    crate::object::CLUSTER_SCOPED_KINDS.contains(&kind)
        || crate::cloud::documents::CLOUD_KINDS.contains(&kind)
}

/// Whether the cluster part reads `o`: the shared objects but Roles and RoleBindings (read as
/// RBAC; as objects, their namespace parts').
fn cluster_reads(o: &Object) -> bool {
    kind_is_shared(o) && !NAMESPACED_RBAC_KINDS.contains(&o.kind.as_str())
}

/// The ServiceAccounts (namespace → names) the users `bound` names are named after
/// (`system:serviceaccount:NS:NAME`).
fn named_accounts(bound: &BoundNames) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut accounts: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (ns, name) in bound
        .users()
        .iter()
        .filter_map(|u| crate::rbac::service_account_of(u))
    {
        accounts.entry(ns).or_default().insert(name);
    }
    accounts
}

/// Whether `o` is a Namespace object.
fn is_namespace(o: &Object) -> bool {
    o.kind == "Namespace" && o.effective_namespace().is_none()
}

/// Whether `o` is EKS's aws-auth ConfigMap ([`crate::cloud::eks::aws_auth_configmap`]), which
/// maps IAM identities to RBAC users and groups.
fn is_aws_auth(o: &Object) -> bool {
    o.kind == "ConfigMap" && o.name == "aws-auth" && o.namespace.as_deref() == Some("kube-system")
}

fn kind_is_shared(o: &Object) -> bool {
    o.effective_namespace().is_none()
        || SHARED_KINDS.contains(&o.kind.as_str())
        || is_token_secret(o)
        || is_aws_auth(o)
        // Network-plugin policies make NetworkPolicy answers undecidable cluster-wide; Calico's
        // tiers and network sets change what its policies decide in every namespace.
        || crate::netpol::is_plugin_policy(o)
        || crate::netpol::is_plugin_support(o)
}

impl Incremental {
    /// An empty cluster: `meta` gives its identity, origin and coverage gaps (its objects, if
    /// any, are the initial objects, keyed by (kind, namespace or `""`, name)).
    pub fn new(mut meta: ClusterSnapshot, options: ScanOptions) -> Incremental {
        let objects = std::mem::take(&mut meta.objects);
        let mut inc = Incremental {
            meta,
            options,
            namespace_checks: checks::catalogue()
                .into_iter()
                .filter(|c| {
                    c.kinds
                        .iter()
                        .any(|k| *k == "*" || *k == "Namespace" || !cluster_scoped_kind(k))
                })
                .collect(),
            cluster_checks: checks::catalogue()
                .into_iter()
                .filter(|c| {
                    c.kinds
                        .iter()
                        .any(|k| *k == "*" || (*k != "Namespace" && cluster_scoped_kind(k)))
                })
                .collect(),
            objects: BTreeMap::new(),
            placed: HashMap::new(),
            shared: BTreeSet::new(),
            rbac_pieces: BTreeMap::new(),
            selecting: BTreeSet::new(),
            force_whole: false,
            state: None,
        };
        for o in objects {
            inc.store(key_of(&o), Some(o));
        }
        inc
    }

    /// The cluster's identity.
    pub fn info(&self) -> &crate::snapshot::ClusterInfo {
        &self.meta.info
    }

    /// Changes the cluster's identity (e.g. the provider, once nodes tell it): the next
    /// [`Incremental::apply`] evaluates the whole cluster.
    pub fn set_info(&mut self, info: crate::snapshot::ClusterInfo) {
        if info != self.meta.info {
            self.meta.info = info;
            self.force_whole = true;
        }
    }

    /// Objects held.
    pub fn len(&self) -> usize {
        self.placed.len()
    }

    /// Whether no object is held.
    pub fn is_empty(&self) -> bool {
        self.placed.is_empty()
    }

    /// Every current finding.
    pub fn findings(&self) -> Vec<&Finding> {
        self.state
            .as_deref()
            .map_or(Vec::new(), |s| s.findings().collect())
    }

    /// Every current attack path, highest score first.
    pub fn paths(&self) -> &[AttackPath] {
        self.state.as_ref().map_or(&[], |s| s.paths.as_slice())
    }

    /// The cluster's attack graph.
    pub fn graph(&self) -> Option<&AttackGraph> {
        self.state.as_ref().map(|s| s.joined.graph())
    }

    /// The objects, cluster-scoped first, then namespace by namespace.
    pub fn objects(&self) -> impl Iterator<Item = &Object> {
        self.objects.values().flat_map(|m| m.values())
    }

    /// The cluster but its objects: identity, origin, coverage gaps and read errors.
    pub fn meta(&self) -> &ClusterSnapshot {
        &self.meta
    }

    /// Replaces the cluster's read errors (objects that could not be read: the report says so).
    /// They change no evaluation.
    pub fn set_errors(&mut self, errors: Vec<crate::LoadError>) {
        self.meta.errors = errors;
    }

    /// The options the cluster is evaluated with.
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// Evaluates with `options` from now on (exceptions added or expired, say): the next
    /// [`Incremental::apply`] evaluates the whole cluster.
    pub fn set_options(&mut self, options: ScanOptions) {
        self.options = options;
        self.force_whole = true;
    }

    /// [`crate::graph::joined::Joined::signature`] of the cluster's attack graph: equal numbers,
    /// an unchanged graph (`None` until evaluated).
    pub fn graph_signature(&self) -> Option<u64> {
        self.state.as_ref().map(|s| s.joined.signature())
    }

    /// The cluster's result as [`crate::evaluate_cluster_result`] gives it for the objects held
    /// (the same findings, pending hits, suppressions, skipped checks, summary, errors, graph
    /// before the cloud bridges, and what the cluster brings to them), built from the parts
    /// held — what [`crate::assemble_fleet_graph`] turns into the report a scan of these objects
    /// gives. `None` until evaluated. (Like the rest of the incremental engine, it does not place
    /// objects that name no namespace in `options.default_namespace`: watched objects name
    /// theirs.)
    pub fn cluster_result(&self) -> Option<ClusterResult> {
        let state = self.state.as_deref()?;
        let all = Inventory::of_objects(&self.meta, self.objects());
        // The parts' graphs joined afresh, in the order they are first joined ([`join`]),
        // with their likelihoods and remedies.
        let mut graph = AttackGraph::default();
        graph.merge(state.cluster.unbridged());
        for g in state.cluster.identities.values() {
            graph.merge(g);
        }
        for p in state.namespaces.values() {
            graph.merge(&p.graph);
        }
        graph.merge(&state.neighbours);
        state.network.draw(&mut graph, &self.meta.info.name);
        let parts = || {
            std::iter::once(&state.cluster.findings)
                .chain(state.namespaces.values().map(|p| &p.findings))
        };
        let catalogue = checks::catalogue();
        let rbac = &state.cluster.rbac;
        let evaluation = Evaluation {
            findings: parts().flatten().cloned().collect(),
            pending: state
                .cluster
                .pending
                .iter()
                .chain(state.namespaces.values().flat_map(|p| p.pending.iter()))
                .cloned()
                .collect(),
            suppressed: state
                .cluster
                .suppressed
                .iter()
                .chain(state.namespaces.values().flat_map(|p| p.suppressed.iter()))
                .cloned()
                .collect(),
            skipped: skipped_checks(&all, rbac, Some(&graph), &catalogue, &self.options),
        };
        Some(ClusterResult::of_evaluation(
            &all,
            rbac,
            graph,
            state.cluster.cloud_facts.clone(),
            evaluation,
            &catalogue,
        ))
    }

    /// The posture digest of the objects held ([`crate::drift::Facts::of_objects`]).
    pub fn object_facts(&self) -> crate::drift::Facts {
        crate::drift::Facts::of_objects(&Inventory::of_objects(&self.meta, self.objects()))
    }

    /// Puts (or, with `None`, removes) an object; returns the namespaces it was and is in (`""`:
    /// cluster-scoped), and what of the evaluation the change can affect.
    fn store(&mut self, key: Key, object: Option<Object>) -> (Vec<String>, Reach) {
        let mut touched = Vec::new();
        let mut reach = Reach::Namespace;
        if let Some(ns) = self.placed.remove(&key) {
            if let Some(old) = self.objects.get_mut(&ns).and_then(|m| m.remove(&key)) {
                if let Some(new) = &object {
                    if new.body == old.body && new.kind == old.kind {
                        // A relist delivering what we hold: nothing changes.
                        self.objects
                            .entry(ns.clone())
                            .or_default()
                            .insert(key.clone(), old);
                        self.placed.insert(key, ns);
                        return (Vec::new(), Reach::Namespace);
                    }
                }
                reach = reach.max(Reach::of(&old));
            }
            let at = (ns, key.clone());
            self.shared.remove(&at);
            self.rbac_pieces.remove(&at);
            self.selecting.remove(&at);
            touched.push(at.0);
        }
        if let Some(o) = object {
            let ns = o.effective_namespace().unwrap_or("").to_string();
            reach = reach.max(Reach::of(&o));
            if cluster_reads(&o) {
                self.shared.insert((ns.clone(), key.clone()));
            }
            if relabel::may_select_namespaces(&o) {
                self.selecting.insert((ns.clone(), key.clone()));
            }
            if RBAC_KINDS.contains(&o.kind.as_str()) {
                self.rbac_pieces
                    .insert((ns.clone(), key.clone()), crate::rbac::Piece::of(&o, false));
            }
            self.objects
                .entry(ns.clone())
                .or_default()
                .insert(key.clone(), o);
            self.placed.insert(key, ns.clone());
            touched.push(ns);
        }
        (touched, reach)
    }

    /// Applies a batch of changes (`None` deletes) and evaluates again what they affect.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = (Key, Option<Object>)>) -> Delta {
        let staged = self.stage(changes);
        self.evaluate(staged)
    }

    /// What [`Incremental::apply`] would return for `changes`, without keeping them: afterwards
    /// the objects and their evaluation are those before the call. (A change the cluster part
    /// reads evaluates the cluster once and puts the previous evaluation back; any other is
    /// applied and then undone, two evaluations of its namespaces. A cluster never evaluated is
    /// evaluated, with its objects as they were.)
    pub fn preview(&mut self, changes: impl IntoIterator<Item = (Key, Option<Object>)>) -> Delta {
        let mut undo: Vec<(Key, Option<Object>)> = Vec::new();
        let mut seen: HashSet<Key> = HashSet::new();
        let changes: Vec<(Key, Option<Object>)> = changes
            .into_iter()
            .inspect(|(key, _)| {
                if seen.insert(key.clone()) {
                    undo.push((key.clone(), self.held(key).cloned()));
                }
            })
            .collect();
        let forced = self.force_whole;
        let staged = self.stage(changes);
        let previewed = match self.state.take() {
            Some(prev) if staged.whole => Some(self.whole_beside(prev)),
            Some(prev) if staged.changed() => Some(match self.update(prev, &staged) {
                // Evaluated once; the evaluation it replaced is put back as it was.
                Ok((mut state, replaced)) => {
                    let mut delta = namespace_delta(&state, &replaced);
                    annotate_delta(&state, &mut delta);
                    replaced.restore(&mut state, &self.meta.info.name);
                    self.state = Some(state);
                    delta
                }
                // What the namespaces feed the cluster changed: the whole cluster, once.
                Err(prev) => self.whole_beside(prev),
            }),
            prev => {
                self.state = prev;
                None
            }
        };
        let delta = match previewed {
            Some(delta) => {
                // Put back as they were, sources too: a batch that changed an object back to its
                // body holds one from elsewhere, which `store` would keep as a relist.
                for (key, object) in undo {
                    if object.is_some() {
                        self.store(key.clone(), None);
                    }
                    self.store(key, object);
                }
                delta
            }
            // Nothing evaluated yet (or nothing changed): applied, then undone.
            None => {
                let delta = self.evaluate(staged);
                self.apply(undo);
                delta
            }
        };
        self.force_whole = forced;
        delta
    }

    /// Whether an object is held under `key`.
    pub fn holds(&self, key: &Key) -> bool {
        self.placed.contains_key(key)
    }

    /// The objects of namespace `ns` (`""`: the cluster-scoped ones).
    pub fn objects_in<'s>(&'s self, ns: &str) -> impl Iterator<Item = &'s Object> + 's {
        self.objects.get(ns).into_iter().flat_map(|m| m.values())
    }

    /// The keys of the objects in namespace `ns` (what deleting the Namespace deletes).
    pub fn keys_in_namespace(&self, ns: &str) -> Vec<Key> {
        if ns.is_empty() {
            return Vec::new();
        }
        self.objects
            .get(ns)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// What the whole cluster's evaluation, with the staged objects, changes from `prev`; `prev`
    /// stays the evaluation held.
    fn whole_beside(&mut self, prev: Box<State>) -> Delta {
        let state = self.rebuild();
        let mut delta = whole_delta(Some(&prev), &state);
        annotate_delta(&state, &mut delta);
        self.state = Some(prev);
        delta
    }

    /// What deleting the object under `key` removes (`kind` its kind): the object, and for a
    /// Namespace what is in it, as the namespace controller deletes it.
    pub fn deletion(&self, kind: &str, key: Key) -> Vec<(Key, Option<Object>)> {
        let mut out: Vec<(Key, Option<Object>)> = Vec::new();
        if kind == "Namespace" {
            out.extend(
                self.keys_in_namespace(&key.2)
                    .into_iter()
                    .map(|k| (k, None)),
            );
        }
        out.push((key, None));
        out
    }

    /// The object held under `key`.
    fn held(&self, key: &Key) -> Option<&Object> {
        let ns = self.placed.get(key)?;
        self.objects.get(ns)?.get(key)
    }

    /// Stores a batch of changes: whether the whole cluster must be evaluated again, and the
    /// namespaces they touch.
    fn stage(&mut self, changes: impl IntoIterator<Item = (Key, Option<Object>)>) -> Staged {
        let mut whole = self.state.is_none() || std::mem::take(&mut self.force_whole);
        let (mut rbac, mut accounts, mut nodes, mut aws_auth) = (false, false, false, false);
        let mut dirty: BTreeSet<String> = BTreeSet::new();
        // Nodes whose view changed: the namespaces whose pods run on them read it.
        let mut moved: BTreeSet<String> = BTreeSet::new();
        let mut external_ip = None;
        let mut relabeled: BTreeMap<String, relabel::Change> = BTreeMap::new();
        for (key, object) in changes {
            let held = self.held(&key);
            let before = held.and_then(NodeView::of);
            let after = object.as_ref().and_then(NodeView::of);
            if (before.is_some() || after.is_some()) && external_ip.is_none() {
                external_ip = Some(self.external_ip());
            }
            if before != after {
                moved.extend(before.into_iter().chain(after).map(|v| v.name));
            }
            // A Namespace that stays: of it, other parts read its name and labels only (when
            // those changed, what reads them: see `relabel`); a new one, of a namespace not
            // known, alike (when nothing else is in it: see below); one deleted, alike (when
            // nothing is left in its namespace: see below).
            let stays = match (held, &object) {
                (Some(old), Some(new))
                    if is_namespace(old) && is_namespace(new) && old.name == new.name =>
                {
                    Some((
                        new.name.clone(),
                        Some(old.labels.clone()),
                        Some(new.labels.clone()),
                    ))
                }
                (None, Some(new))
                    if is_namespace(new)
                        && self
                            .state
                            .as_ref()
                            .is_some_and(|s| !s.facts.namespaces.contains(&new.name)) =>
                {
                    Some((new.name.clone(), None, Some(new.labels.clone())))
                }
                (Some(old), None) if is_namespace(old) => {
                    Some((old.name.clone(), Some(old.labels.clone()), None))
                }
                _ => None,
            };
            let (touched, mut reach) = self.store(key, object);
            if let Some((name, before, after)) = stays.filter(|_| !touched.is_empty()) {
                dirty.insert(name.clone());
                reach = Reach::Namespace;
                relabeled
                    .entry(name)
                    .and_modify(|(_, now)| *now = after.clone())
                    .or_insert((before, after));
            }
            whole |= reach == Reach::Cluster;
            rbac |= reach == Reach::Rbac;
            accounts |= reach == Reach::Accounts;
            nodes |= reach == Reach::Nodes;
            aws_auth |= reach == Reach::AwsAuth;
            dirty.extend(touched.into_iter().filter(|ns| !ns.is_empty()));
        }
        // Whether NodePorts face the internet is read by every namespace with one.
        whole |= external_ip.is_some_and(|before| before != self.external_ip());
        if !moved.is_empty() && !whole {
            dirty.extend(self.namespaces_running_on(&moved));
        }
        if let Some(s) = &self.state {
            // A namespace that appears or empties changes the cluster's set of namespaces (but
            // a new Namespace alone in its namespace, and a namespace removed — its Namespace
            // deleted and nothing left in it, as the namespace controller leaves it: see
            // `relabel`). (A Namespace deleted while objects stay in its namespace: the whole
            // cluster.)
            let namespace_object = |ns: &str| {
                self.objects
                    .get("")
                    .is_some_and(|m| m.values().any(|o| o.kind == "Namespace" && o.name == ns))
            };
            let holds_nothing = |ns: &str| self.objects.get(ns).is_none_or(BTreeMap::is_empty);
            let change = |ns: &str| {
                relabeled
                    .get(ns)
                    .map(|(before, after)| (before.is_some(), after.is_some()))
            };
            whole |= dirty.iter().any(|ns| {
                if s.facts.namespaces.contains(ns) {
                    match change(ns) {
                        Some((true, false)) => !holds_nothing(ns),
                        _ => holds_nothing(ns) && !namespace_object(ns),
                    }
                } else {
                    !(change(ns) == Some((false, true))
                        && holds_nothing(ns)
                        && namespace_object(ns))
                }
            });
        }
        relabeled.retain(|_, (before, after)| before != after);
        Staged {
            whole,
            rbac,
            accounts,
            nodes,
            aws_auth,
            dirty,
            relabeled,
        }
    }

    /// Whether some Node held has an external address ([`NodeView::external_ip`]).
    fn external_ip(&self) -> bool {
        self.objects_in("")
            .filter_map(NodeView::of)
            .any(|v| v.external_ip)
    }

    /// The workloads that run as each ServiceAccount a user that `bound` names is named after
    /// (`system:serviceaccount:NS:NAME`: the account, to RBAC), by the account's node reference
    /// (those with none left out), in the order of their namespace's pod templates: the
    /// cluster part's users' graphs read them (what removing the account from a binding takes).
    /// Of the namespaces `only` names, when given.
    fn runs_as(
        &self,
        bound: &BoundNames,
        only: Option<&BTreeSet<&str>>,
    ) -> HashMap<String, Vec<String>> {
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (ns, names) in named_accounts(bound) {
            if ns.is_empty()
                || !self.objects.contains_key(ns)
                || only.is_some_and(|o| !o.contains(ns))
            {
                continue;
            }
            let inv = Inventory::of_objects(&self.meta, self.namespace_objects(ns));
            for t in inv.pod_templates() {
                let (tns, sa) = t.service_account();
                if tns == ns && names.contains(sa) {
                    out.entry(format!("ServiceAccount:{ns}/{sa}"))
                        .or_default()
                        .push(t.owner.node_ref());
                }
            }
        }
        out
    }

    /// The namespaces with a pod placed (`spec.nodeName`) on one of `nodes`.
    fn namespaces_running_on(&self, nodes: &BTreeSet<String>) -> Vec<String> {
        self.objects
            .iter()
            .filter(|(ns, objects)| {
                !ns.is_empty()
                    && objects.values().any(|o| {
                        o.kind == "Pod"
                            && o.body
                                .at("/spec/nodeName")
                                .and_then(serde_json::Value::as_str)
                                .is_some_and(|n| nodes.contains(n))
                    })
            })
            .map(|(ns, _)| ns.clone())
            .collect()
    }

    /// Evaluates again what a staged batch affects.
    fn evaluate(&mut self, staged: Staged) -> Delta {
        if !staged.changed() {
            // Nothing held changed (a relist of the same objects, a delete of an unknown key).
            return Delta::default();
        }
        let prev = self.state.take();
        let mut delta = match prev {
            Some(prev) if !staged.whole => match self.update(prev, &staged) {
                Ok((state, undo)) => {
                    let d = namespace_delta(&state, &undo);
                    self.state = Some(state);
                    d
                }
                Err(prev) => self.reevaluate(Some(prev)),
            },
            prev => self.reevaluate(prev),
        };
        if let Some(state) = &self.state {
            annotate_delta(state, &mut delta);
        }
        delta
    }

    /// Evaluates the whole cluster and compares with `prev`.
    fn reevaluate(&mut self, prev: Option<Box<State>>) -> Delta {
        let state = Box::new(self.rebuild());
        let d = whole_delta(prev.as_deref(), &state);
        self.state = Some(state);
        d
    }

    fn namespace_objects<'s>(&'s self, ns: &'s str) -> impl Iterator<Item = &'s Object> + 's {
        // Other Namespaces are left out: the namespace checks would judge them empty.
        let cluster_scoped = self
            .objects
            .get("")
            .into_iter()
            .flat_map(|m| m.values())
            .filter(move |o| o.kind != "Namespace" || o.name == ns);
        let own = self.objects.get(ns).into_iter().flat_map(|m| m.values());
        cluster_scoped.chain(own)
    }

    /// The parts of the namespaces `names`, evaluated on every core, by namespace.
    fn evaluate_namespaces<'n>(
        &self,
        names: impl IntoIterator<Item = &'n String>,
        rbac: &Rbac,
        facts: &ClusterFacts,
    ) -> BTreeMap<String, NamespacePart> {
        let names: Vec<&String> = names.into_iter().collect();
        let parts = parallel_map(&names, |ns| self.evaluate_namespace(ns, rbac, facts));
        names.into_iter().cloned().zip(parts).collect()
    }

    fn evaluate_namespace(&self, ns: &str, rbac: &Rbac, facts: &ClusterFacts) -> NamespacePart {
        let inv = Inventory::of_objects(&self.meta, self.namespace_objects(ns));
        let mut graph = AttackGraph::default();
        let neighbours = graph.build_part(
            &self.meta,
            &inv,
            rbac,
            facts,
            &self.options.vulnerabilities,
            Part::Namespace,
        );
        let keep = |o: &Object| match o.effective_namespace() {
            Some(n) => n == ns,
            None => o.kind == "Namespace" && o.name == ns,
        };
        let evaluation = evaluate_cluster(
            &self.meta,
            &inv,
            rbac,
            Some(&graph),
            &self.namespace_checks,
            &self.options,
            &keep,
        );
        let (findings, pending, suppressed) = (
            evaluation.findings,
            evaluation.pending,
            evaluation.suppressed,
        );
        let own = self.objects.get(ns);
        let count = |kind: &str| own.map_or(0, |m| m.values().filter(|o| o.kind == kind).count());
        NamespacePart {
            neighbours,
            findings,
            pending,
            suppressed,
            exposure: Exposure::of(&inv, facts),
            endpoint_slices: count("EndpointSlice"),
            scheduled_pods: own.map_or(0, |m| {
                m.values()
                    .filter(|o| o.kind == "Pod" && crate::graph::is_scheduled(o))
                    .count()
            }),
            has_ingress: crate::exposure::ROUTE_KINDS.iter().any(|k| count(k) > 0),
            ingress_addresses: (inv.of_kind("Ingress").iter())
                .flat_map(|i| crate::exposure::addresses(i))
                .collect(),
            template_sas: template_sas(&inv),
            principals: graph
                .graph
                .node_weights()
                .filter(|n| n.cluster.is_none() && n.kind != NodeKind::Internet)
                .map(|n| (n.reference.clone(), n.kind))
                .collect(),
            graph,
        }
    }

    /// Evaluates everything.
    fn rebuild(&self) -> State {
        let all = Inventory::of_objects(&self.meta, self.objects());
        let rbac = self.rbac(&all);
        let facts = ClusterFacts::of(&all, &rbac);
        let namespaces = self.evaluate_namespaces(&facts.namespaces, &rbac, &facts);
        // (Exposure and EndpointSlices came from the whole inventory, into `facts`; the
        // exposure is kept as the parts gather it, which an update compares with.)
        let gathered = Gathered::of(namespaces.values(), &facts);
        let mut facts = facts;
        facts.exposure = gathered.exposure;
        let cloud = ClusterCloud::of(&all, &rbac);
        let (mut cluster, identities) = self.cluster_part(
            &self.cluster_inventory(),
            cloud,
            Arc::new(rbac),
            &facts,
            &gathered.principals,
            None,
        );
        cluster.identities = identities
            .into_iter()
            .filter_map(|(reference, g)| Some((reference, g?)))
            .collect();
        let mut state = State {
            cluster,
            principals: gathered.principals,
            template_sas: gathered.template_sas,
            facts,
            namespaces,
            neighbours: AttackGraph::default(),
            network: Drawing::default(),
            policies: Policies::default(),
            joined: Joined::default(),
            searches: None,
            paths: Vec::new(),
            judged: Vec::new(),
        };
        join(&mut state, &self.meta.info.name);
        state
    }

    /// The cluster's RBAC, from its RBAC objects' pieces (in the order of all objects: the RBAC
    /// [`crate::evaluate::cluster_rbac`] reads from them) and the EKS access policies of the
    /// cloud documents `inv` holds (every object, or the cluster part's).
    fn rbac(&self, inv: &Inventory<'_>) -> Rbac {
        rbac_of(self.rbac_pieces.values(), inv)
    }

    /// The objects the cluster part reads: the shared ones, but Roles and RoleBindings (read as
    /// RBAC; as objects, their namespace parts').
    fn cluster_inventory(&self) -> Inventory<'_> {
        Inventory::of_objects(&self.meta, self.indexed(&self.shared))
    }

    /// The objects under `keys` (an index of [`Incremental::store`]), in its order.
    fn indexed<'s>(
        &'s self,
        keys: &'s BTreeSet<(String, Key)>,
    ) -> impl Iterator<Item = &'s Object> + 's {
        // Keys come namespace by namespace: each namespace's objects are looked up once.
        let mut namespace: Option<(&str, Option<&BTreeMap<Key, Object>>)> = None;
        keys.iter().filter_map(move |(ns, key)| {
            let objects = match namespace {
                Some((current, objects)) if current == ns => objects,
                _ => {
                    let objects = self.objects.get(ns);
                    namespace = Some((ns, objects));
                    objects
                }
            };
            objects?.get(key)
        })
    }

    /// Evaluates the cluster part: `shared` the objects it reads
    /// ([`Incremental::cluster_inventory`]), `cloud_facts` what the cluster brings to the cloud
    /// bridges, `rbac` its RBAC, `facts` the cluster facts (the exposure as the namespace parts
    /// gather it), `principals` the cloud principals the namespace parts create.
    ///
    /// Its users and groups are graphs of their own: given the cluster part as it was and what
    /// else than grants the RBAC change altered (`previous`), only those whose grants, or what
    /// they read, changed are built again (the others are listed with `None`).
    fn cluster_part(
        &self,
        shared: &Inventory<'_>,
        cloud_facts: ClusterCloud,
        rbac: Arc<Rbac>,
        facts: &ClusterFacts,
        principals: &BTreeMap<String, NodeKind>,
        previous: Option<(&ClusterPart, &Changed)>,
    ) -> (ClusterPart, BTreeMap<String, Option<AttackGraph>>) {
        let reads = previous
            .map(|(_, changed)| changed.reads())
            .unwrap_or_default();
        let compared =
            previous.map(|(old, _)| crate::rbac::reach::Comparison::new(&old.rbac, &rbac));
        let rebuild = |reference: &str, who: &crate::rbac::Identity| {
            previous
                .zip(compared.as_ref())
                .is_none_or(|((old, _), compared)| {
                    !old.identities.contains_key(reference)
                        || !compared.same_grants(who)
                        || reads
                            .iter()
                            .any(|what| crate::rbac::reach::reads(&rbac, who, what))
                })
        };
        // (Unless the names bindings name changed, they are those read before: `update` checks
        // that the batch left them alike.)
        let runs_as = match previous {
            Some((old, changed)) if !changed.names => old.runs_as.clone(),
            _ => self.runs_as(facts.bound(), None),
        };
        // The users' and groups' graphs and the rest of the part read the same inputs and
        // nothing of each other: built side by side.
        let (mut graph, identities) = both(
            || {
                let mut graph = AttackGraph::default();
                graph.build_part(
                    &self.meta,
                    shared,
                    &rbac,
                    facts,
                    &self.options.vulnerabilities,
                    Part::Cluster,
                );
                graph
            },
            || AttackGraph::identity_parts(&self.meta, shared, &rbac, facts, &runs_as, &rebuild),
        );
        // (Without cloud facts the bridges draw nothing: the graph is its own unbridged one.)
        let unbridged = cloud_facts.is_present().then(|| {
            let mut unbridged = AttackGraph::default();
            unbridged.merge(&graph);
            unbridged
        });
        if cloud_facts.is_present() {
            // The bridges find the users and groups they map principals to in this graph (and
            // add nothing else to them).
            for reference in identities.keys() {
                let kind = if reference.starts_with("User:") {
                    NodeKind::User
                } else {
                    NodeKind::Group
                };
                graph.node(Some(&self.meta.info.name), reference, kind);
            }
        }
        // The bridges grant cloud principals what their IAM allows, including those only
        // workloads reach (node roles of pools without listed nodes). Without cloud facts
        // nothing reads them here, and what the namespace parts gather may change without the
        // cluster part (their own graphs hold them).
        if cloud_facts.is_present() {
            for (reference, kind) in principals {
                graph.node(None, reference, *kind);
            }
        }
        let drawn = (graph.graph.node_count(), graph.graph.edge_count());
        let mut bridges = CloudParts::default();
        bridges.add(cloud_facts.clone());
        cloud_bridges(&mut graph, bridges, &[]);
        debug_assert!(
            unbridged.is_some() || drawn == (graph.graph.node_count(), graph.graph.edge_count()),
            "the cloud bridges drew on a cluster without cloud facts"
        );
        let keep = |o: &Object| o.effective_namespace().is_none() && o.kind != "Namespace";
        let evaluation = evaluate_cluster(
            &self.meta,
            shared,
            &rbac,
            Some(&graph),
            &self.cluster_checks,
            &self.options,
            &keep,
        );
        let part = ClusterPart {
            runs_as,
            binding_subjects: binding_subjects(&self.meta.info.name, &rbac).collect(),
            rbac,
            cloud_facts,
            graph,
            unbridged,
            identities: BTreeMap::new(),
            findings: evaluation.findings,
            pending: evaluation.pending,
            suppressed: evaluation.suppressed,
        };
        (part, identities)
    }

    /// Evaluates the staged batch's namespaces again on top of `prev` — when an RBAC object, a
    /// ServiceAccount, a token Secret or a Node changed, the cluster part too, and the namespaces the
    /// change reaches ([`crate::rbac::reach`]) — returning the new state with what it replaced
    /// ([`Undo`]); `Err(prev)` when what they feed the cluster part changed, or the
    /// ServiceAccounts' labels that every namespace's policies read (then the whole cluster must
    /// be evaluated; `prev` is as it was).
    fn update(
        &self,
        mut prev: Box<State>,
        staged: &Staged,
    ) -> Result<(Box<State>, Undo), Box<State>> {
        // The cluster part's users' graphs read which workloads run as the accounts they are
        // named after: when the batch changed those, the whole cluster is evaluated again.
        let stale = {
            let touched: BTreeSet<&str> = named_accounts(prev.facts.bound())
                .into_keys()
                .filter(|ns| staged.dirty.contains(*ns))
                .collect();
            !touched.is_empty() && {
                let before: HashMap<String, Vec<String>> = prev
                    .cluster
                    .runs_as
                    .iter()
                    .filter(|(account, _)| {
                        account
                            .strip_prefix("ServiceAccount:")
                            .and_then(|a| a.split_once('/'))
                            .is_some_and(|(ns, _)| touched.contains(ns))
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                self.runs_as(prev.facts.bound(), Some(&touched)) != before
            }
        };
        if stale {
            return Err(prev);
        }
        // The joined graph changes below (and on failure is patched back): searched again.
        prev.searches = None;
        let (cluster, dirty, parts) = if staged.cluster() {
            let Some((replaced, dirty, parts)) = self.update_cluster(&mut prev, staged) else {
                return Err(prev);
            };
            (Some(replaced), dirty, Some(parts))
        } else {
            (None, staged.dirty.clone(), None)
        };
        let relabeled: BTreeSet<String> = staged.relabeled.keys().cloned().collect();
        match self.update_namespaces(prev, &dirty, parts, &relabeled, &staged.removed()) {
            Ok((state, mut undo)) => {
                undo.cluster = cluster;
                undo.reached = dirty;
                Ok((state, undo))
            }
            Err(mut prev) => {
                if let Some(replaced) = cluster {
                    replaced.restore(&mut prev, &mut Aside::default());
                }
                Err(prev)
            }
        }
    }

    /// Evaluates the cluster part again in `prev` for a staged batch — and RBAC, when RBAC
    /// objects changed, the ServiceAccounts' facts, when ServiceAccounts or their token Secrets
    /// changed, what the facts read of Namespaces' labels, when those changed; of the objects
    /// the cluster part reads, those and Nodes alone changed —
    /// returning what it replaced, the namespaces to evaluate again (the staged ones and those
    /// the change reaches: [`crate::rbac::reach::namespaces_reached`], [`relabel`]) and their
    /// parts, evaluated on the new RBAC and facts beside the cluster part. `None`, and `prev`
    /// as it was, when the ServiceAccounts' labels that every namespace's policies read
    /// changed, or a cluster-scoped object reads a Namespace's changed labels.
    fn update_cluster(
        &self,
        prev: &mut State,
        staged: &Staged,
    ) -> Option<(
        ReplacedCluster,
        BTreeSet<String>,
        BTreeMap<String, NamespacePart>,
    )> {
        let shared = self.cluster_inventory();
        let added: BTreeSet<String> = staged
            .relabeled
            .iter()
            .filter(|(_, (before, _))| before.is_none())
            .map(|(ns, _)| ns.clone())
            .collect();
        let removed = staged.removed();
        // EKS access policies scoped to namespace patterns (`dev-*`) grant in the Namespaces
        // they match: a new or removed one may change RBAC.
        let rbac_changed = staged.rbac
            || ((!added.is_empty() || !removed.is_empty())
                && !shared
                    .of_kind(crate::cloud::documents::EKS_ACCESS_ENTRY)
                    .is_empty());
        let accounts_changed = staged.accounts;
        if accounts_changed && !prev.facts.shares_policies_with(&shared) {
            return None;
        }
        let mut dirty = staged.dirty.clone();
        if !staged.relabeled.is_empty() {
            let changes: Vec<relabel::Change> = staged
                .relabeled
                .iter()
                .map(|(ns, (before, after))| {
                    (
                        before.as_ref().map(|b| relabel::as_selected(ns, b)),
                        after.as_ref().map(|a| relabel::as_selected(ns, a)),
                    )
                })
                .collect();
            let objects = self
                .selecting
                .iter()
                .filter_map(|(ns, key)| Some((ns.as_str(), self.objects.get(ns)?.get(key)?)));
            dirty.extend(relabel::selector_readers(objects, &changes)?);
        }
        let labels =
            (!staged.relabeled.is_empty()).then(|| prev.facts.relabel(&shared, &added, &removed));
        // The namespaces whose Pod Security guard changed, and the new and removed ones (whether
        // some namespace admits privileged pods is read cluster-wide).
        let pod_security: BTreeSet<String> = match &labels {
            Some(old) => staged
                .relabeled
                .keys()
                .filter(|ns| {
                    added.contains(*ns)
                        || removed.contains(*ns)
                        || old.guarded(ns) != prev.facts.guarded(ns)
                })
                .cloned()
                .collect(),
            None => BTreeSet::new(),
        };
        if !pod_security.is_empty() {
            // (A removed namespace, as it was.)
            let covering: Vec<relabel::Labels> = pod_security
                .iter()
                .filter_map(|ns| {
                    let (before, after) = staged.relabeled.get(ns)?;
                    Some(relabel::as_selected(
                        ns,
                        after.as_ref().or(before.as_ref())?,
                    ))
                })
                .collect();
            dirty.extend(relabel::webhook_backends(self.objects_in(""), &covering));
        }
        let accounts = accounts_changed.then(|| Accounts::of(&shared));
        let (rbac, bound) = if rbac_changed {
            let rbac = self.rbac(&shared);
            let bound = BoundNames::of(&rbac);
            (Arc::new(rbac), bound)
        } else {
            (Arc::clone(&prev.cluster.rbac), prev.facts.bound().clone())
        };
        let read = Changed {
            names: rbac_changed && !prev.facts.bound().same_names(&bound),
            roles: rbac_changed && !crate::rbac::reach::same_roles(&prev.cluster.rbac, &rbac),
            service_accounts: accounts
                .as_ref()
                .map(|a| prev.facts.accounts().service_accounts_differ(a))
                .unwrap_or_default(),
            token_secrets: accounts
                .as_ref()
                .map(|a| prev.facts.accounts().token_secrets_differ(a))
                .unwrap_or_default(),
            pod_security,
        };
        // (Nodes alone change nothing RBAC reads.)
        let reached = if rbac_changed || accounts_changed || !read.pod_security.is_empty() {
            crate::rbac::reach::namespaces_reached(
                &prev.cluster.rbac,
                &rbac,
                &prev.facts.namespaces,
                read.reads(),
            )
        } else {
            BTreeSet::new()
        };
        let old_bound = prev.facts.rebind(bound);
        let old_accounts = accounts.map(|a| prev.facts.reaccount(a));
        // The other objects are as they were, or are Nodes (which the cloud facts do not read):
        // so are the cloud facts, but the user names bindings name and the ServiceAccounts
        // (with those templates name, as gathered) — and all of them when aws-auth, which the
        // EKS facts read, changed (the cluster part holds every object they read but the pod
        // templates, whose ServiceAccounts are gathered).
        let mut cloud = if staged.aws_auth {
            ClusterCloud::of(&shared, &rbac)
        } else {
            prev.cluster.cloud_facts.under(prev.facts.bound())
        };
        if staged.aws_auth || old_accounts.is_some() {
            cloud = cloud.with_accounts(&shared, &prev.template_sas);
        }
        dirty.extend(reached);
        // A removed namespace has no part.
        dirty.retain(|ns| !removed.contains(ns));
        // The namespaces read the new RBAC and the facts as rebound, nothing of the cluster part
        // itself: evaluated beside it.
        let before: &State = prev;
        let ((mut part, fresh), parts) = both(
            || {
                self.cluster_part(
                    &shared,
                    cloud,
                    Arc::clone(&rbac),
                    &before.facts,
                    &before.principals,
                    Some((&before.cluster, &read)),
                )
            },
            || self.evaluate_namespaces(&dirty, &rbac, &before.facts),
        );
        prev.joined.replace(&prev.cluster.graph, &part.graph);
        // The users and groups built again take their old graphs' place; those gone leave.
        let mut identities = std::mem::take(&mut prev.cluster.identities);
        let mut replaced: Vec<(String, Option<AttackGraph>)> = Vec::new();
        let gone: Vec<String> = identities
            .keys()
            .filter(|k| !fresh.contains_key(*k))
            .cloned()
            .collect();
        for reference in gone {
            if let Some(old) = identities.remove(&reference) {
                prev.joined.remove(&old);
                replaced.push((reference, Some(old)));
            }
        }
        for (reference, g) in fresh {
            let Some(g) = g else { continue };
            prev.joined.add(&g);
            let old = identities.insert(reference.clone(), g);
            if let Some(old) = &old {
                prev.joined.remove(old);
            }
            replaced.push((reference, old));
        }
        part.identities = identities;
        let part = std::mem::replace(&mut prev.cluster, part);
        Some((
            ReplacedCluster {
                part,
                bound: old_bound,
                accounts: old_accounts,
                labels,
                identities: replaced,
            },
            dirty,
            parts,
        ))
    }

    /// Evaluates the `dirty` namespaces again on top of `prev` (see [`Incremental::update`]),
    /// unless `evaluated` holds their parts already, and takes out the parts of the `removed`
    /// ones (no longer among the facts' namespaces); `relabeled`: the namespaces whose labels
    /// changed, the removed ones among them (network reach keys pods by them).
    fn update_namespaces(
        &self,
        mut prev: Box<State>,
        dirty: &BTreeSet<String>,
        evaluated: Option<BTreeMap<String, NamespacePart>>,
        relabeled: &BTreeSet<String>,
        removed: &BTreeSet<String>,
    ) -> Result<(Box<State>, Undo), Box<State>> {
        let fresh = evaluated
            .unwrap_or_else(|| self.evaluate_namespaces(dirty, &prev.cluster.rbac, &prev.facts));
        let parts = || {
            prev.facts
                .namespaces
                .iter()
                .filter_map(|ns| fresh.get(ns).or_else(|| prev.namespaces.get(ns)))
        };
        let endpoint_slices: usize = parts().map(|p| p.endpoint_slices).sum();
        let scheduled_pods: usize = parts().map(|p| p.scheduled_pods).sum();
        // What every part feeds is gathered again only when a fresh part feeds something else,
        // or a part is removed.
        let feeds_alike = removed.iter().all(|ns| !prev.namespaces.contains_key(ns))
            && fresh.iter().all(|(ns, p)| {
                prev.namespaces.get(ns).is_some_and(|old| {
                    old.exposure == p.exposure
                        && old.template_sas == p.template_sas
                        && old.principals == p.principals
                })
            });
        let g = (!feeds_alike).then(|| Gathered::of(parts(), &prev.facts));
        if (endpoint_slices > 0) != prev.facts.has_slices
            || (scheduled_pods > 0) != prev.facts.scheduled
            || (prev.cluster.cloud_facts.is_present()
                && g.as_ref().is_some_and(|g| {
                    g.template_sas != prev.template_sas
                        || !prev.cluster.reads_alike(&g.principals, &prev.principals)
                }))
        {
            return Err(prev);
        }
        let mut undo = Undo {
            cluster: None,
            reached: BTreeSet::new(),
            exposure: None,
            template_sas: None,
            principals: None,
            parts: Vec::new(),
            added: Vec::new(),
            neighbours: None,
            network: None,
            policies: None,
            paths: Vec::new(),
            judged: Vec::new(),
        };
        let mut readers = crate::exposure::RouteReaders::None;
        if let Some(g) = g {
            readers = prev.facts.exposure.route_readers(&g.exposure);
            undo.exposure = Some(std::mem::replace(&mut prev.facts.exposure, g.exposure));
            undo.template_sas = Some(std::mem::replace(&mut prev.template_sas, g.template_sas));
            undo.principals = Some(std::mem::replace(&mut prev.principals, g.principals));
        }
        // Network reach is decided across namespaces: again only when what it reads changed.
        // (Namespaces' labels are read from the cluster's facts: `relabeled` says which.)
        let mut changed = JoinInput::default();
        for ns in removed {
            if let Some(old) = prev.namespaces.remove(ns) {
                prev.joined.remove(&old.graph);
                let n = &old.neighbours;
                changed |= JoinInput {
                    policies: true,
                    members: !n.members.is_empty(),
                    nodes: !n.traversers.is_empty() || !n.residents.is_empty(),
                };
                undo.parts.push((ns.clone(), old));
            }
        }
        for (ns, p) in fresh {
            changed |= prev.join_input_changed(&ns, &p);
            match prev.replace(ns.clone(), p) {
                Some(old) => undo.parts.push((ns, old)),
                None => undo.added.push(ns),
            }
        }
        if readers != crate::exposure::RouteReaders::None {
            // Ingresses and Gateway routes anywhere depend on the public load balancers, the
            // pods behind them and their namespaces' policies (who sends what they route):
            // those that may read otherwise are evaluated again. (The dirty namespaces were
            // evaluated with the previous exposure too.)
            let stale = self.evaluate_namespaces(
                prev.namespaces
                    .iter()
                    .filter(|(ns, p)| p.has_ingress && readers.include(ns, &p.ingress_addresses))
                    .map(|(ns, _)| ns),
                &prev.cluster.rbac,
                &prev.facts,
            );
            for (ns, p) in stale {
                changed |= prev.join_input_changed(&ns, &p);
                if let Some(old) = prev.replace(ns.clone(), p) {
                    undo.parts.push((ns, old));
                }
            }
        }
        undo.paths = std::mem::take(&mut prev.paths);
        // What the joined graph confirms may change with any part: judged again at the join.
        undo.judged = std::mem::take(&mut prev.judged);
        let (neighbours, network, policies) =
            join_neighbours(&mut prev, &self.meta.info.name, changed, relabeled, removed);
        undo.neighbours = neighbours;
        undo.network = network;
        undo.policies = policies;
        Ok((prev, undo))
    }
}

/// The cluster part an RBAC, ServiceAccount or Node change replaced (without its identities), with
/// the names bindings named, the ServiceAccounts' facts (when they were read again) and the
/// users' and groups' graphs it replaced, in order (`None`: the identity is new).
struct ReplacedCluster {
    part: ClusterPart,
    bound: BoundNames,
    accounts: Option<Accounts>,
    /// What the facts read of Namespaces' labels, when those changed.
    labels: Option<LabelFacts>,
    identities: Vec<(String, Option<AttackGraph>)>,
}

impl ReplacedCluster {
    /// Puts the replaced cluster part back in `state` (what it takes out goes `aside`).
    fn restore(self, state: &mut State, aside: &mut Aside) {
        let mut identities = std::mem::take(&mut state.cluster.identities);
        for (reference, old) in self.identities.into_iter().rev() {
            if let Some(new) = identities.remove(&reference) {
                state.joined.remove(&new);
                aside.put(new);
            }
            if let Some(old) = old {
                state.joined.add(&old);
                identities.insert(reference, old);
            }
        }
        state.joined.replace(&state.cluster.graph, &self.part.graph);
        aside.put(std::mem::replace(&mut state.cluster, self.part));
        state.cluster.identities = identities;
        aside.put(state.facts.rebind(self.bound));
        if let Some(accounts) = self.accounts {
            aside.put(state.facts.reaccount(accounts));
        }
        if let Some(labels) = self.labels {
            aside.put(state.facts.restore_labels(labels));
        }
    }
}

/// What [`Incremental::update`] replaced in the state, to put back (a preview) or to compare
/// with (an apply).
struct Undo {
    /// The cluster part, when an RBAC, ServiceAccount or Node change evaluated it again.
    cluster: Option<ReplacedCluster>,
    /// The namespaces the changes touched or their RBAC change reached.
    reached: BTreeSet<String>,
    /// The gathered exposure, template ServiceAccounts and cloud principals, when they were
    /// gathered again.
    exposure: Option<Exposure>,
    template_sas: Option<BTreeSet<(String, String)>>,
    principals: Option<BTreeMap<String, NodeKind>>,
    /// The namespace parts replaced, in the order they were.
    parts: Vec<(String, NamespacePart)>,
    /// The namespaces whose parts are new (a new Namespace's).
    added: Vec<String>,
    /// The edges between namespaces' pods on shared nodes, when they were joined again.
    neighbours: Option<AttackGraph>,
    /// The network reach, when it was decided again.
    network: Option<Drawing>,
    /// The merged policies, when they were merged again.
    policies: Option<OldPolicies>,
    paths: Vec<AttackPath>,
    judged: Vec<Finding>,
}

impl Undo {
    /// The findings the update replaced: those of every namespace evaluated again (dirty, or
    /// stale after the exposure changed: each namespace's part as it was before the update) and
    /// the joined graph's.
    fn old_findings(&self) -> Vec<Finding> {
        let mut seen = BTreeSet::new();
        self.parts
            .iter()
            .filter(|(ns, _)| seen.insert(ns.as_str()))
            .flat_map(|(_, p)| p.findings.iter().cloned())
            .chain(
                self.cluster
                    .iter()
                    .flat_map(|c| c.part.findings.iter().cloned()),
            )
            .chain(self.judged.iter().cloned())
            .collect()
    }

    /// The namespaces the update evaluated again.
    fn namespaces(&self) -> BTreeSet<&str> {
        self.parts.iter().map(|(ns, _)| ns.as_str()).collect()
    }

    /// Puts `state` (of the cluster named `cluster`) back as it was before the update (in the
    /// reverse order of the update); what it takes out is dropped aside ([`Aside`]).
    fn restore(self, state: &mut State, cluster: &str) {
        let mut aside = Aside::default();
        if let Some(network) = self.network {
            state.joined.redraw(&state.network, &network, cluster);
            aside.put(std::mem::replace(&mut state.network, network));
        }
        match self.policies {
            Some(OldPolicies::Replaced(policies)) => {
                aside.put(std::mem::replace(&mut state.policies, policies));
            }
            Some(OldPolicies::Patched(model, namespaces, forgotten)) => {
                aside.put(std::mem::replace(&mut state.policies.model, model));
                state.policies.decided.put_back(&namespaces, forgotten);
            }
            None => {}
        }
        if let Some(neighbours) = self.neighbours {
            state.joined.replace(&state.neighbours, &neighbours);
            aside.put(std::mem::replace(&mut state.neighbours, neighbours));
        }
        for (ns, part) in self.parts.into_iter().rev() {
            aside.put(state.replace(ns, part));
        }
        for ns in self.added {
            if let Some(part) = state.namespaces.remove(&ns) {
                state.joined.remove(&part.graph);
                aside.put(part);
            }
        }
        aside.put(state.searches.take());
        aside.put(std::mem::replace(&mut state.paths, self.paths));
        aside.put(std::mem::replace(&mut state.judged, self.judged));
        if let Some(e) = self.exposure {
            aside.put(std::mem::replace(&mut state.facts.exposure, e));
        }
        if let Some(t) = self.template_sas {
            aside.put(std::mem::replace(&mut state.template_sas, t));
        }
        if let Some(p) = self.principals {
            aside.put(std::mem::replace(&mut state.principals, p));
        }
        if let Some(cluster) = self.cluster {
            cluster.restore(state, &mut aside);
        }
    }
}

impl State {
    /// Every finding: the cluster part's, then each namespace's, then those the joined graph
    /// confirmed.
    fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.cluster
            .findings
            .iter()
            .chain(self.namespaces.values().flat_map(|p| p.findings.iter()))
            .chain(self.judged.iter())
    }

    /// What of the join's input a namespace's new part changes ([`JoinInput`]). (Its copy of
    /// the Namespaces' labels does not count: the join reads the cluster's, and is told which
    /// namespaces were relabeled.)
    fn join_input_changed(&self, ns: &str, part: &NamespacePart) -> JoinInput {
        let new = &part.neighbours;
        // (A new part's policies are told apart once merged: see `join_neighbours`.)
        let Some(old) = self.namespaces.get(ns).map(|p| &p.neighbours) else {
            return JoinInput {
                policies: true,
                members: !new.members.is_empty(),
                nodes: !new.traversers.is_empty() || !new.residents.is_empty(),
            };
        };
        JoinInput {
            policies: !old.policies.same_but_namespaces(&new.policies),
            members: old.members != new.members,
            nodes: old.traversers != new.traversers || old.residents != new.residents,
        }
    }

    /// Puts a namespace's new part in place of its old one, in the joined graph too (what of the
    /// old part differs leaves first: an edge whose evidence changed must not keep the old one).
    fn replace(&mut self, ns: String, part: NamespacePart) -> Option<NamespacePart> {
        let old = self.namespaces.remove(&ns);
        // Only what differs is taken out and put in ([`Joined::replace`]): taking an edge out of
        // the joined graph walks the edge lists of its ends, long at the hubs every namespace's
        // identities join.
        match &old {
            Some(old) => self.joined.replace(&old.graph, &part.graph),
            None => self.joined.add(&part.graph),
        }
        self.namespaces.insert(ns, part);
        old
    }
}

/// What of the join's input namespaces' new parts changed (see [`join_neighbours`]).
#[derive(Debug, Clone, Copy, Default)]
struct JoinInput {
    /// Their NetworkPolicies.
    policies: bool,
    /// Their workloads as network reach sees them: labels, ports and addresses.
    members: bool,
    /// Who reads the kubelet's pod directories and whose pods run where (the edges between
    /// namespaces' pods on shared nodes).
    nodes: bool,
}

impl std::ops::BitOrAssign for JoinInput {
    fn bitor_assign(&mut self, other: JoinInput) {
        self.policies |= other.policies;
        self.members |= other.members;
        self.nodes |= other.nodes;
    }
}

/// What the namespace parts feed the rest of the cluster.
#[derive(Default)]
struct Gathered {
    endpoint_slices: usize,
    scheduled_pods: usize,
    exposure: Exposure,
    template_sas: BTreeSet<(String, String)>,
    principals: BTreeMap<String, NodeKind>,
}

impl Gathered {
    /// What `parts` feed the cluster, their exposure read with the cluster's Namespace labels
    /// `facts` hold ([`Exposure::gathered`]).
    fn of<'p>(
        parts: impl IntoIterator<Item = &'p NamespacePart> + Clone,
        facts: &ClusterFacts,
    ) -> Gathered {
        let mut g = Gathered {
            exposure: Exposure::gathered(
                parts.clone().into_iter().map(|p| &p.exposure),
                facts.shared_policies(),
            ),
            ..Gathered::default()
        };
        for p in parts {
            g.endpoint_slices += p.endpoint_slices;
            g.scheduled_pods += p.scheduled_pods;
            g.template_sas.extend(p.template_sas.iter().cloned());
            g.principals
                .extend(p.principals.iter().map(|(r, k)| (r.clone(), *k)));
        }
        g
    }
}

/// The ServiceAccounts the pod templates of `inv` name that are not objects of `inv` (the
/// cloud facts list both; the objects are the cluster part's).
fn template_sas(inv: &Inventory<'_>) -> BTreeSet<(String, String)> {
    let objects: HashSet<(Option<&str>, &str)> = inv
        .of_kind("ServiceAccount")
        .iter()
        .map(|sa| (sa.effective_namespace(), sa.name.as_str()))
        .collect();
    inv.templates()
        .iter()
        .map(|t| t.service_account())
        .filter(|(ns, sa)| !objects.contains(&(Some(*ns), *sa)))
        .map(|(ns, sa)| (ns.to_string(), sa.to_string()))
        .collect()
}

/// Joins the parts' graphs and finds the attack paths.
fn join(state: &mut State, cluster: &str) {
    let mut joined = Joined::default();
    joined.add(&state.cluster.graph);
    for g in state.cluster.identities.values() {
        joined.add(g);
    }
    for p in state.namespaces.values() {
        joined.add(&p.graph);
    }
    state.joined = joined;
    state.neighbours = AttackGraph::default();
    state.network = Drawing::default();
    let everything = JoinInput {
        policies: true,
        members: true,
        nodes: true,
    };
    let _ = join_neighbours(
        state,
        cluster,
        everything,
        &BTreeSet::new(),
        &BTreeSet::new(),
    );
}

/// Replaces the edges between namespaces' pods on shared nodes, when who reads the kubelet's
/// pod directories or whose pods run where changed (`changed.nodes`), and the network reach
/// between them, when what it reads changed: the workloads (`changed.members`), the policies
/// (`changed.policies`, merged again then) or the labels of the namespaces in `relabeled` that
/// a selector reads (the links decided for the segments of the `removed` ones are forgotten);
/// then finds the attack paths. Returns the edges, reach and merged policies it replaced.
fn join_neighbours(
    state: &mut State,
    cluster: &str,
    changed: JoinInput,
    relabeled: &BTreeSet<String>,
    removed: &BTreeSet<String>,
) -> (Option<AttackGraph>, Option<Drawing>, Option<OldPolicies>) {
    let parts: Vec<&Neighbours> = state.namespaces.values().map(|p| &p.neighbours).collect();
    let neighbours = changed.nodes.then(|| {
        let mut graph = AttackGraph::default();
        graph.join_neighbours(cluster, &parts);
        graph
    });
    // Whether the reach reads policies or labels other than it did.
    let mut read = false;
    let old_policies = (changed.policies || !relabeled.is_empty()).then(|| {
        let model = crate::graph::merged_policies(&parts, &state.facts);
        let old = &state.policies.model;
        // (Calico's NetworkSets read their own namespace's labels: a relabel there keeps none.)
        let patched = old.policies_changed_in(&model).filter(|_| {
            relabeled.is_empty()
                || !(old.links_read_other_namespaces() || model.links_read_other_namespaces())
        });
        if let Some(mut forgotten) = patched {
            // Only namespaces' own policies or labels changed: the links between other
            // namespaces' segments hold (and every link, when no selector reads what changed:
            // the keys either model's selectors read).
            let names = relabeled.iter().map(String::as_str);
            if !old.namespaces_read_otherwise(&model, names).is_empty() {
                forgotten.extend(relabeled.iter().cloned());
            }
            forgotten.extend(removed.iter().cloned());
            read = !forgotten.is_empty();
            let decisions = state.policies.decided.forget_namespaces(&forgotten);
            let old = std::mem::replace(&mut state.policies.model, model);
            OldPolicies::Patched(old, forgotten, decisions)
        } else {
            read = true;
            let merged = Policies {
                model,
                decided: Default::default(),
            };
            OldPolicies::Replaced(std::mem::replace(&mut state.policies, merged))
        }
    });
    let reach = (changed.members || read).then(|| {
        let p = &mut state.policies;
        crate::graph::network_drawing(&p.model, &parts, &mut p.decided)
    });
    let old_neighbours = neighbours.map(|graph| {
        state.joined.replace(&state.neighbours, &graph);
        std::mem::replace(&mut state.neighbours, graph)
    });
    let old_network = reach.map(|reach| {
        state.joined.redraw(&state.network, &reach, cluster);
        std::mem::replace(&mut state.network, reach)
    });
    let searches = state.joined.graph().searches();
    let index = state.joined.graph().index_with(&searches);
    state.paths = index.attack_paths();
    let pending = state
        .cluster
        .pending
        .iter()
        .chain(state.namespaces.values().flat_map(|p| p.pending.iter()));
    // Suppressed ones are left out, as they are from the parts' findings.
    state.judged = judge_on_fleet_graph(pending, state.joined.graph(), &index)
        .into_iter()
        .filter_map(|(f, suppressed)| suppressed.is_none().then_some(f))
        .collect();
    drop(index);
    state.searches = Some(searches);
    (old_neighbours, old_network, old_policies)
}

/// What changed in an update, from what it replaced (`undo`: the namespaces evaluated again,
/// the cluster part when an RBAC, ServiceAccount or Node change evaluated it again) to `state`.
fn namespace_delta(state: &State, undo: &Undo) -> Delta {
    let old_findings = undo.old_findings();
    let mut evaluated = undo.namespaces();
    evaluated.extend(undo.reached.iter().map(String::as_str));
    let cluster = undo.cluster.as_ref().map(|_| &state.cluster.findings);
    let new_findings: Vec<&Finding> = evaluated
        .into_iter()
        .filter_map(|ns| state.namespaces.get(ns))
        .flat_map(|p| p.findings.iter())
        .chain(cluster.into_iter().flatten())
        .chain(state.judged.iter())
        .collect();
    let mut d = diff(&old_findings, &new_findings, &undo.paths, &state.paths);
    d.namespaces = undo.reached.len();
    d.cluster_part = undo.cluster.is_some();
    d
}

/// What changed from `prev` (none: an empty cluster) to the whole cluster's evaluation `state`.
fn whole_delta(prev: Option<&State>, state: &State) -> Delta {
    let old: Vec<Finding> = prev
        .map(|p| p.findings().cloned().collect())
        .unwrap_or_default();
    let old_paths = prev.map_or(&[][..], |p| p.paths.as_slice());
    let new: Vec<&Finding> = state.findings().collect();
    let mut d = diff(&old, &new, old_paths, &state.paths);
    d.whole_cluster = true;
    d.namespaces = state.namespaces.len();
    d
}

/// Sets the added findings' attack-path facts from the evaluation they were added in.
fn annotate_delta(state: &State, delta: &mut Delta) {
    if delta.added_findings.is_empty() {
        return;
    }
    let index = match &state.searches {
        Some(searches) => state.joined.graph().index_with(searches),
        None => state.joined.graph().index(),
    };
    annotate(
        &mut delta.added_findings,
        state.joined.graph(),
        &index,
        &state.paths,
        &state.cluster.binding_subjects,
    );
}

/// What changed between two sets of findings and paths.
fn diff(
    old: &[Finding],
    new: &[&Finding],
    old_paths: &[AttackPath],
    new_paths: &[AttackPath],
) -> Delta {
    let old_keyed: Vec<(String, &Finding)> = old.iter().map(|f| (finding_key(f), f)).collect();
    let new_keyed: Vec<(String, &Finding)> = new.iter().map(|f| (finding_key(f), *f)).collect();
    let old_keys: HashSet<&str> = old_keyed.iter().map(|(k, _)| k.as_str()).collect();
    let new_keys: HashSet<&str> = new_keyed.iter().map(|(k, _)| k.as_str()).collect();
    // Every path counts, folded ones included: a path that becomes folded into another, or
    // stops being folded, still exists and is neither new nor resolved. (Compared by ID; only
    // those added or resolved are rebuilt.)
    fn ids(ps: &[AttackPath]) -> HashSet<&str> {
        ps.iter()
            .flat_map(|p| {
                std::iter::once(p.id.as_str()).chain(p.unfoldable().map(|f| f.id.as_str()))
            })
            .collect()
    }
    let (old_ids, new_ids) = (ids(old_paths), ids(new_paths));
    let beyond = |ps: &[AttackPath], other: &HashSet<&str>| -> Vec<AttackPath> {
        let mut out = Vec::new();
        for p in ps {
            if !other.contains(p.id.as_str()) {
                out.push(p.without_folded());
            }
            out.extend(
                p.unfoldable()
                    .filter(|f| !other.contains(f.id.as_str()))
                    .filter_map(|f| p.unfolded(f)),
            );
        }
        out
    };
    Delta {
        added_findings: new_keyed
            .iter()
            .filter(|(k, _)| !old_keys.contains(k.as_str()))
            .map(|(_, f)| (*f).clone())
            .collect(),
        resolved_findings: old_keyed
            .iter()
            .filter(|(k, _)| !new_keys.contains(k.as_str()))
            .map(|(_, f)| (*f).clone())
            .collect(),
        added_paths: beyond(new_paths, &old_ids),
        resolved_paths: beyond(old_paths, &new_ids),
        ..Default::default()
    }
}
