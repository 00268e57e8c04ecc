//! Network checks: NetworkPolicy coverage per namespace and per workload, and exposure through
//! Services and Ingresses.

use super::pod_security::{SYSTEM_NAMESPACES, WORKLOAD_KINDS};
use super::Needs;
use super::{Check, Context, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::object::Object;
use crate::options::Profile;
use crate::pointer::Pointer as _;
use crate::selector::LabelSelector;
use crate::severity::Severity;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The pods a policy selects.
enum Selects {
    /// Kubernetes and Cilium label selectors.
    Labels(LabelSelector),
    /// A Calico selector expression.
    Calico(crate::calico::Selector),
}

impl Selects {
    fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Selects::Labels(l) => l.matches(labels),
            Selects::Calico(c) => c.matches(labels),
        }
    }

    fn is_all(&self) -> bool {
        match self {
            Selects::Labels(l) => l.is_empty(),
            Selects::Calico(c) => c.is_all(),
        }
    }
}

/// The namespaces a policy applies in.
enum Scope {
    /// Its own namespace (Kubernetes, Cilium and Calico namespaced policies).
    Namespace(String),
    /// Every namespace (CiliumClusterwideNetworkPolicy), or those a Calico
    /// GlobalNetworkPolicy's `namespaceSelector` selects.
    Cluster(Option<crate::calico::Selector>),
}

/// What a network policy does, whatever its API: the pods it selects, the directions it
/// isolates, and whether it allows nothing in a direction (a default deny).
struct Policy {
    scope: Scope,
    selects: Selects,
    ingress: bool,
    egress: bool,
    deny_ingress: bool,
    deny_egress: bool,
}

/// The pseudo-labels Cilium and Calico selectors can use for a pod's namespace.
const NAMESPACE_LABELS: &[&str] = &["io.kubernetes.pod.namespace", "projectcalico.org/namespace"];

/// Whether a list of rules allows nothing: absent, null, empty, or (Cilium) only empty rules.
fn allows_nothing(rules: Option<&Value>, empty_rules_deny: bool) -> bool {
    match rules {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => {
            a.is_empty()
                || (empty_rules_deny
                    && a.iter()
                        .all(|r| r.as_object().is_some_and(|m| m.is_empty())))
        }
        _ => false,
    }
}

/// A Cilium endpoint selector as a label selector: `k8s:` and `any:` key prefixes dropped.
fn cilium_selector(v: Option<&Value>) -> LabelSelector {
    fn strip(k: &str) -> String {
        k.trim_start_matches("k8s:")
            .trim_start_matches("any:")
            .to_string()
    }
    let Some(mut v) = v.cloned() else {
        return LabelSelector::default();
    };
    if let Some(m) = v.get_mut("matchLabels").and_then(Value::as_object_mut) {
        *m = m.iter().map(|(k, x)| (strip(k), x.clone())).collect();
    }
    if let Some(a) = v.get_mut("matchExpressions").and_then(Value::as_array_mut) {
        for e in a {
            if let Some(k) = e.get("key").and_then(Value::as_str).map(strip) {
                e["key"] = Value::String(k);
            }
        }
    }
    LabelSelector::from_value(Some(&v))
}

impl Policy {
    /// The policies an object holds: one for a NetworkPolicy, Calico policy or Cilium policy
    /// (one per entry of a Cilium `specs` list); none for anything else.
    fn of(o: &Object) -> Vec<Policy> {
        let group = o.api_group();
        let ns = || Scope::Namespace(o.effective_namespace().unwrap_or("default").to_string());
        match (o.kind.as_str(), group) {
            ("NetworkPolicy", "networking.k8s.io") => vec![Policy::kubernetes(o, ns())],
            ("NetworkPolicy", "projectcalico.org" | "crd.projectcalico.org") => {
                Policy::calico(o, ns()).into_iter().collect()
            }
            ("GlobalNetworkPolicy", "projectcalico.org" | "crd.projectcalico.org") => {
                // preDNAT and doNotTrack policies apply to host endpoints, not pods.
                let host_only = ["preDNAT", "doNotTrack", "applyOnForward"].iter().any(|k| {
                    o.body.at(&format!("/spec/{k}")).and_then(Value::as_bool) == Some(true)
                });
                if host_only {
                    return Vec::new();
                }
                // A namespaceSelector Calico cannot parse selects nothing (it rejects the policy).
                let namespaces = match o.body.at("/spec/namespaceSelector").and_then(Value::as_str)
                {
                    Some(t) => match crate::calico::Selector::parse(t) {
                        Ok(sel) => Some(sel),
                        Err(_) => return Vec::new(),
                    },
                    None => None,
                };
                Policy::calico(o, Scope::Cluster(namespaces))
                    .into_iter()
                    .collect()
            }
            ("CiliumNetworkPolicy", "cilium.io") => Policy::cilium(o, ns),
            ("CiliumClusterwideNetworkPolicy", "cilium.io") => {
                Policy::cilium(o, || Scope::Cluster(None))
            }
            _ => Vec::new(),
        }
    }

    fn kubernetes(o: &Object, scope: Scope) -> Policy {
        let spec = o.body.get("spec");
        let types: Vec<&str> = spec
            .and_then(|s| s.get("policyTypes"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Without policyTypes, Ingress is always implied and Egress only if egress rules exist.
        let (ingress, egress) = if types.is_empty() {
            (
                true,
                spec.and_then(|s| s.get("egress"))
                    .is_some_and(|e| !e.is_null()),
            )
        } else {
            (types.contains(&"Ingress"), types.contains(&"Egress"))
        };
        Policy {
            scope,
            selects: Selects::Labels(LabelSelector::from_value(
                spec.and_then(|s| s.get("podSelector")),
            )),
            ingress,
            egress,
            deny_ingress: allows_nothing(spec.and_then(|s| s.get("ingress")), false),
            deny_egress: allows_nothing(spec.and_then(|s| s.get("egress")), false),
        }
    }

    /// A Calico policy; `None` when its selector cannot be parsed (Calico rejects it).
    fn calico(o: &Object, scope: Scope) -> Option<Policy> {
        let spec = o.body.get("spec");
        let mut selects = match spec.and_then(|s| s.get("selector")).and_then(Value::as_str) {
            Some(text) => crate::calico::Selector::parse(text).ok()?,
            None => crate::calico::Selector::All,
        };
        // A serviceAccountSelector narrows the pods to those whose ServiceAccount's labels
        // match, which kspm does not evaluate: the policy counts for no pod in particular.
        if spec.and_then(|s| s.get("serviceAccountSelector")).is_some() {
            selects = crate::calico::Selector::Not(Box::new(crate::calico::Selector::All));
        }
        let has = |k: &str| {
            spec.and_then(|s| s.get(k))
                .and_then(Value::as_array)
                .is_some_and(|a| !a.is_empty())
        };
        let types: Vec<&str> = spec
            .and_then(|s| s.get("types"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        // Calico's defaulting: Ingress unless the policy has only egress rules; Egress when it
        // has egress rules.
        let (ingress, egress) = if types.is_empty() {
            (has("ingress") || !has("egress"), has("egress"))
        } else {
            (types.contains(&"Ingress"), types.contains(&"Egress"))
        };
        Some(Policy {
            scope,
            selects: Selects::Calico(selects),
            ingress,
            egress,
            deny_ingress: !has("ingress"),
            deny_egress: !has("egress"),
        })
    }

    fn cilium(o: &Object, scope: impl Fn() -> Scope) -> Vec<Policy> {
        let specs: Vec<&Value> = match (o.body.get("spec"), o.body.get("specs")) {
            (Some(s), _) if s.is_object() => vec![s],
            (_, Some(Value::Array(a))) => a.iter().collect(),
            _ => Vec::new(),
        };
        specs
            .into_iter()
            .filter(|s| s.get("endpointSelector").is_some())
            .map(|s| {
                let present = |k: &str| s.get(k).is_some_and(|v| !v.is_null());
                let default_deny = |d: &str| {
                    s.at(&format!("/enableDefaultDeny/{d}"))
                        .and_then(Value::as_bool)
                };
                // A direction is isolated when the policy has rules for it (allow or deny),
                // unless enableDefaultDeny says otherwise.
                let ingress =
                    default_deny("ingress").unwrap_or(present("ingress") || present("ingressDeny"));
                let egress =
                    default_deny("egress").unwrap_or(present("egress") || present("egressDeny"));
                Policy {
                    scope: scope(),
                    selects: Selects::Labels(cilium_selector(s.get("endpointSelector"))),
                    ingress,
                    egress,
                    deny_ingress: allows_nothing(s.get("ingress"), true),
                    deny_egress: allows_nothing(s.get("egress"), true),
                }
            })
            .collect()
    }

    /// Whether the policy applies in namespace `ns` (with its labels).
    fn applies_in(&self, ns: &str, ns_labels: &BTreeMap<String, String>) -> bool {
        match &self.scope {
            Scope::Namespace(n) => n == ns,
            Scope::Cluster(None) => true,
            Scope::Cluster(Some(sel)) => {
                let mut l = ns_labels.clone();
                l.insert("projectcalico.org/name".into(), ns.to_string());
                sel.matches(&l)
            }
        }
    }

    /// Whether the policy selects a pod of namespace `ns` with these labels.
    fn selects_pod(&self, ns: &str, labels: &BTreeMap<String, String>) -> bool {
        let mut l = labels.clone();
        for k in NAMESPACE_LABELS {
            l.insert((*k).to_string(), ns.to_string());
        }
        self.selects.matches(&l)
    }

    /// A default deny for a direction: selects every pod, isolates the direction, allows nothing.
    fn default_deny(&self, direction: &str) -> bool {
        let (isolates, nothing) = if direction == "ingress" {
            (self.ingress, self.deny_ingress)
        } else {
            (self.egress, self.deny_egress)
        };
        isolates && nothing && self.selects.is_all()
    }
}

/// Every network policy of the inventory (Kubernetes, Calico, Cilium).
fn all_policies(ctx: &Context<'_>) -> Vec<Policy> {
    POLICY_KINDS
        .iter()
        .flat_map(|k| ctx.inv.of_kind(k).iter())
        .flat_map(|o| Policy::of(o))
        .collect()
}

/// The kinds that hold network policies.
const POLICY_KINDS: &[&str] = &[
    "NetworkPolicy",
    "GlobalNetworkPolicy",
    "CiliumNetworkPolicy",
    "CiliumClusterwideNetworkPolicy",
];

/// The pods of each namespace, gathered once per check: the labels of the pods its workloads
/// run, and whether the input holds its running pods (a live cluster or a `kubectl get`
/// export) — only then does "matches no pod" mean something: in a manifest folder, operators
/// create pods no manifest shows.
struct NamespacePods {
    labels: HashMap<String, Vec<BTreeMap<String, String>>>,
    running: HashSet<String>,
}

impl NamespacePods {
    fn of(ctx: &Context<'_>) -> NamespacePods {
        let mut labels: HashMap<String, Vec<BTreeMap<String, String>>> = HashMap::new();
        for t in ctx.inv.pod_templates() {
            if let Some(ns) = t.owner.effective_namespace() {
                labels
                    .entry(ns.to_string())
                    .or_default()
                    .push(LabelSelector::labels_of(t.metadata));
            }
        }
        let running = ctx
            .inv
            .of_kind("Pod")
            .iter()
            .filter_map(|p| p.effective_namespace().map(str::to_string))
            .collect();
        NamespacePods { labels, running }
    }

    fn labels(&self, ns: &str) -> &[BTreeMap<String, String>] {
        self.labels.get(ns).map_or(&[], Vec::as_slice)
    }

    /// The labels of the namespace's pods when its running pods are known.
    fn known(&self, ns: &str) -> Option<&[BTreeMap<String, String>]> {
        let pods = self.labels(ns);
        (self.running.contains(ns) && !pods.is_empty()).then_some(pods)
    }
}

/// The policies that apply in a namespace: its own, and cluster-wide ones that select every
/// pod or at least one of the namespace's pods (`pods`: their labels).
fn policies_in<'p>(
    all: &'p [Policy],
    ns: &str,
    ns_labels: &BTreeMap<String, String>,
    pods: &[BTreeMap<String, String>],
) -> Vec<&'p Policy> {
    all.iter()
        .filter(|p| p.applies_in(ns, ns_labels))
        .filter(|p| {
            matches!(p.scope, Scope::Namespace(_))
                || p.selects.is_all()
                || pods.iter().any(|l| p.selects_pod(ns, l))
        })
        .collect()
}

fn namespaces_with_workloads<'a>(ctx: &Context<'a>) -> Vec<&'a Object> {
    let with: std::collections::HashSet<&str> = ctx
        .inv
        .pod_templates()
        .iter()
        .filter_map(|t| t.owner.effective_namespace())
        .collect();
    ctx.inv
        .of_kind("Namespace")
        .iter()
        .copied()
        .filter(|ns| {
            !SYSTEM_NAMESPACES.contains(&ns.name.as_str()) && with.contains(&ns.name.as_str())
        })
        .collect()
}

fn no_network_policy<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let all = all_policies(ctx);
    let pods = NamespacePods::of(ctx);
    namespaces_with_workloads(ctx)
        .into_iter()
        .filter(|ns| policies_in(&all, &ns.name, &ns.labels, pods.labels(&ns.name)).is_empty())
        .map(|ns| Hit {
            severity: None,
            object: ns,
            message: "namespace runs workloads but has no NetworkPolicy: every pod accepts traffic from anywhere".into(),
            evidence: vec![Evidence::new("metadata.name", Value::String(ns.name.clone()))],
        })
        .collect()
}

fn missing_default_deny<'a>(ctx: &Context<'a>, direction: &str) -> Vec<Hit<'a>> {
    let all = all_policies(ctx);
    let pods = NamespacePods::of(ctx);
    namespaces_with_workloads(ctx)
        .into_iter()
        .filter_map(|ns| {
            let p = policies_in(&all, &ns.name, &ns.labels, pods.labels(&ns.name));
            if p.is_empty() {
                return None;
            }
            (!p.iter().any(|p| p.default_deny(direction))).then(|| Hit {
                severity: None,
                object: ns,
                message: format!(
                    "namespace has NetworkPolicies but none denies {direction} by default"
                ),
                evidence: vec![Evidence::new(
                    "metadata.name",
                    Value::String(ns.name.clone()),
                )],
            })
        })
        .collect()
}

fn no_default_deny_ingress<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    missing_default_deny(ctx, "ingress")
}

fn no_default_deny_egress<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    missing_default_deny(ctx, "egress")
}

fn workload_not_isolated<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let all = all_policies(ctx);
    let pods = NamespacePods::of(ctx);
    let namespaces: HashMap<&str, &Object> = ctx
        .inv
        .of_kind("Namespace")
        .iter()
        .map(|o| (o.name.as_str(), *o))
        .collect();
    let no_labels = BTreeMap::new();
    let mut by_ns: BTreeMap<&str, (bool, Vec<&Policy>)> = BTreeMap::new();
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        let Some(ns) = t.owner.effective_namespace() else {
            continue;
        };
        let (has_object, p) = by_ns.entry(ns).or_insert_with(|| {
            let object = namespaces.get(ns);
            let ns_labels = object.map_or(&no_labels, |o| &o.labels);
            (
                object.is_some(),
                policies_in(&all, ns, ns_labels, pods.labels(ns)),
            )
        });
        // hostNetwork pods are not subject to NetworkPolicy at all (KSPM-W-004 covers them).
        if t.spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let labels = LabelSelector::labels_of(t.metadata);
        let evidence = || {
            vec![Evidence::new(
                t.owner_path("metadata.labels"),
                t.metadata
                    .and_then(|m| m.get("labels"))
                    .cloned()
                    .unwrap_or(Value::Null),
            )]
        };
        if p.is_empty() {
            // A namespace with a Namespace object is KSPM-N-001's finding; one known only from
            // its objects (a manifest folder) is reported here, workload by workload.
            if !*has_object && !SYSTEM_NAMESPACES.contains(&ns) {
                hits.push(Hit {
                    severity: None,
                    object: t.owner,
                    message: format!("no NetworkPolicy applies in namespace {ns} (no Namespace object in the input): these pods accept traffic from anywhere"),
                    evidence: evidence(),
                });
            }
            continue;
        }
        if !p.iter().any(|p| p.ingress && p.selects_pod(ns, &labels)) {
            hits.push(Hit {
                severity: None,
                object: t.owner,
                message: format!("no NetworkPolicy in {ns} selects these pods for ingress: they accept traffic from anywhere"),
                evidence: evidence(),
            });
        }
    }
    hits
}

fn external_ips<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("Service")
        .iter()
        .filter_map(|s| {
            let ips = s.body.at("/spec/externalIPs").and_then(Value::as_array).filter(|a| !a.is_empty())?;
            Some(Hit {
                severity: None,
                object: s,
                message: format!("Service sets externalIPs {}: traffic to those addresses is intercepted cluster-wide (CVE-2020-8554)", ips.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")),
                evidence: vec![Evidence::new("spec.externalIPs", Value::Array(ips.clone()))],
            })
        })
        .collect()
}

fn node_port<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("Service")
        .iter()
        .filter(|s| s.body.at("/spec/type").and_then(Value::as_str) == Some("NodePort"))
        .map(|s| Hit {
            severity: None,
            object: s,
            message: "Service of type NodePort opens its port on every node".into(),
            evidence: vec![Evidence::new("spec.type", "NodePort")],
        })
        .collect()
}

fn open_load_balancer<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let provider = ctx.inv.cluster.info.provider;
    ctx.inv
        .of_kind("Service")
        .iter()
        .filter_map(|s| {
            let crate::exposure::LoadBalancer::Internet { addresses, .. } =
                crate::exposure::load_balancer(s, provider)?
            else {
                return None;
            };
            let ports: Vec<String> = s
                .body
                .at("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("port").map(|v| v.to_string()))
                .collect();
            Some(Hit {
                severity: None,
                object: s,
                message: format!(
                    "internet-facing LoadBalancer on port(s) {} with no source ranges{}",
                    ports.join(", "),
                    if addresses.is_empty() {
                        " (not provisioned yet: internet-facing once it is, the provider's default)"
                    } else {
                        ""
                    }
                ),
                evidence: vec![Evidence::new(
                    "spec.loadBalancerSourceRanges",
                    s.body
                        .at("/spec/loadBalancerSourceRanges")
                        .cloned()
                        .unwrap_or(Value::Null),
                )],
            })
        })
        .collect()
}

fn ingress_without_tls<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("Ingress")
        .iter()
        .filter(|i| {
            i.body
                .at("/spec/tls")
                .and_then(Value::as_array)
                .is_none_or(|a| a.is_empty())
        })
        .map(|i| Hit {
            severity: None,
            object: i,
            message: "Ingress serves plain HTTP (no spec.tls)".into(),
            evidence: vec![Evidence::new("spec.tls", Value::Null)],
        })
        .collect()
}

const NGINX_SNIPPETS: &[&str] = &[
    "nginx.ingress.kubernetes.io/configuration-snippet",
    "nginx.ingress.kubernetes.io/server-snippet",
    "nginx.ingress.kubernetes.io/auth-snippet",
    "nginx.ingress.kubernetes.io/modsecurity-snippet",
    "nginx.ingress.kubernetes.io/stream-snippet",
];

fn nginx_snippets<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("Ingress")
        .iter()
        .filter_map(|i| {
            let keys: Vec<&str> = NGINX_SNIPPETS.iter().copied().filter(|k| i.annotations.contains_key(*k)).collect();
            (!keys.is_empty()).then(|| Hit {
                severity: None,
                object: i,
                message: format!("Ingress uses ingress-nginx snippet annotation(s) {}: raw NGINX configuration that can read the controller's token (CVE-2021-25742, CVE-2025-1974 family)", keys.join(", ")),
                evidence: keys.iter().map(|k| Evidence::new(format!("metadata.annotations[{k}]"), "<snippet>")).collect(),
            })
        })
        .collect()
}

fn dashboard<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        for c in t.containers() {
            let image = c.image();
            if image.contains("kubernetesui/dashboard") || image.contains("kubernetes-dashboard") {
                hits.push(Hit {
                    severity: None,
                    object: t.owner,
                    message: format!("Kubernetes Dashboard is deployed (image {image})"),
                    evidence: vec![Evidence::new(t.container_path(&c, "image"), image)],
                });
            }
        }
    }
    hits
}

/// Kubernetes NetworkPolicies whose podSelector matches no pod of their namespace (while the
/// namespace runs pods): a policy meant to protect something that protects nothing.
fn policy_selects_nothing<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let known = NamespacePods::of(ctx);
    let mut hits = Vec::new();
    for o in ctx.inv.of_kind("NetworkPolicy") {
        if o.api_group() != "networking.k8s.io" {
            continue;
        }
        let ns = o.effective_namespace().unwrap_or("default");
        let Some(pods) = known.known(ns) else {
            continue;
        };
        let selector = LabelSelector::from_value(o.body.at("/spec/podSelector"));
        if !pods.iter().any(|l| selector.matches(l)) {
            hits.push(Hit {
                severity: None,
                object: o,
                message: format!(
                    "podSelector matches none of the {} workload(s) in namespace {ns}",
                    pods.len()
                ),
                evidence: vec![Evidence::new(
                    "spec.podSelector",
                    o.body
                        .at("/spec/podSelector")
                        .cloned()
                        .unwrap_or(Value::Null),
                )],
            });
        }
    }
    hits
}

/// Services with a selector that matches no pod template of their namespace: traffic goes
/// nowhere today, and to whatever pod is created later with those labels.
fn service_selects_nothing<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    services_selecting_nothing(ctx, true)
}

/// Services whose selector matches no workload of their namespace: in the namespaces read live
/// (`live`: their running pods are in the input; KSPM-N-012), or in the others (KSPM-M-003).
/// ExternalName Services and Services without a selector select nothing by design.
pub(crate) fn services_selecting_nothing<'a>(ctx: &Context<'a>, live: bool) -> Vec<Hit<'a>> {
    let known = NamespacePods::of(ctx);
    let mut hits = Vec::new();
    for s in ctx.inv.of_kind("Service") {
        if s.body.at("/spec/type").and_then(Value::as_str) == Some("ExternalName") {
            continue;
        }
        let Some(sel) = LabelSelector::from_map(s.body.at("/spec/selector")) else {
            continue;
        };
        let ns = s.effective_namespace().unwrap_or("default");
        if known.known(ns).is_some() != live {
            continue;
        }
        if !known.labels(ns).iter().any(|l| sel.matches(l)) {
            hits.push(Hit {
                severity: None,
                object: s,
                message: format!("selector matches no workload in namespace {ns}"),
                evidence: vec![Evidence::new(
                    "spec.selector",
                    s.body.at("/spec/selector").cloned().unwrap_or(Value::Null),
                )],
            });
        }
    }
    hits
}

const NETWORK_SEGMENTATION: &[crate::controls::Control] = &[
    c(CisKubernetes, "5.3.2"),
    c(CisEks, "4.3.2"),
    c(CisGke, "4.3.2"),
    c(CisAks, "4.4.2"),
    c(NsaCisa, "N14"),
    c(Soc2, "CC6.6"),
    c(PciDss, "1.3.1"),
    c(Hipaa, "164.312(e)(1)"),
    c(Iso27001, "A.8.22"),
    c(Nist800190, "4.3.3"),
];

/// The network checks.
pub static CHECKS: &[Check] = &[
    Check {
        id: "KSPM-N-001",
        title: "Namespace has no NetworkPolicy",
        severity: Severity::Medium,
        description: "Without NetworkPolicies every pod can talk to every other pod in the cluster: one compromised pod reaches databases, internal APIs and other tenants.",
        remediation: "Add a default-deny policy for ingress and egress, then allow the flows the namespace needs.",
        kinds: &["Namespace"],
        controls: NETWORK_SEGMENTATION,
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: no_network_policy,
    },
    Check {
        id: "KSPM-N-002",
        title: "Namespace has no default-deny ingress policy",
        severity: Severity::Low,
        description: "Policies that only select some pods leave every other pod open; a default deny makes new workloads closed until allowed.",
        remediation: "Add `podSelector: {}` with `policyTypes: [Ingress]` and no rules, then allow specific flows.",
        kinds: &["Namespace"],
        controls: NETWORK_SEGMENTATION,
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: no_default_deny_ingress,
    },
    Check {
        id: "KSPM-N-003",
        title: "Namespace has no default-deny egress policy",
        severity: Severity::Low,
        description: "Without egress control a compromised pod can reach the cloud metadata endpoint, the API server and the internet.",
        remediation: "Add `podSelector: {}` with `policyTypes: [Egress]` and no rules, then allow DNS and the flows needed.",
        kinds: &["Namespace"],
        controls: NETWORK_SEGMENTATION,
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: no_default_deny_egress,
    },
    Check {
        id: "KSPM-N-004",
        title: "Workload is not selected by any ingress NetworkPolicy",
        severity: Severity::Low,
        description: "The namespace has NetworkPolicies, but none selects these pods for ingress, so they accept connections from anywhere.",
        remediation: "Extend a policy's podSelector to these pods, or add a namespace-wide default deny.",
        kinds: WORKLOAD_KINDS,
        controls: NETWORK_SEGMENTATION,
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: workload_not_isolated,
    },
    Check {
        id: "KSPM-N-005",
        title: "Service uses externalIPs",
        severity: Severity::High,
        description: "Any user who can create a Service with externalIPs can intercept traffic to those IPs from every pod (CVE-2020-8554).",
        remediation: "Remove `spec.externalIPs`; block the field with the DenyServiceExternalIPs admission plugin or a policy.",
        kinds: &["Service"],
        controls: &[c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(PciDss, "1.3.1"), c(Iso27001, "A.8.20"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: external_ips,
    },
    Check {
        id: "KSPM-N-006",
        title: "Service of type NodePort",
        severity: Severity::Low,
        description: "A NodePort opens a port on every node's interfaces, reachable from wherever the nodes are (often the whole VPC, sometimes the internet).",
        remediation: "Use ClusterIP behind an Ingress or an internal LoadBalancer.",
        kinds: &["Service"],
        controls: &[c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(PciDss, "1.3.1"), c(Iso27001, "A.8.20"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: node_port,
    },
    Check {
        id: "KSPM-N-007",
        title: "Internet-facing LoadBalancer without source ranges",
        severity: Severity::Medium,
        description: "A public load balancer with no `loadBalancerSourceRanges` accepts connections from the whole internet.",
        remediation: "Restrict `spec.loadBalancerSourceRanges`, make the load balancer internal, or put it behind an authenticated Ingress.",
        kinds: &["Service"],
        controls: &[c(NsaCisa, "N17"), c(Soc2, "CC6.6"), c(PciDss, "1.3.1"), c(Hipaa, "164.312(e)(1)"), c(Iso27001, "A.8.20"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: open_load_balancer,
    },
    Check {
        id: "KSPM-N-008",
        title: "Ingress without TLS",
        severity: Severity::Medium,
        description: "Traffic to this Ingress travels in clear text, including credentials and session cookies.",
        remediation: "Add `spec.tls` with a certificate (cert-manager or a managed certificate).",
        kinds: &["Ingress"],
        controls: &[c(CisEks, "5.4.5"), c(CisAks, "5.4.5"), c(Soc2, "CC6.7"), c(PciDss, "4.2.1"), c(Hipaa, "164.312(e)(1)"), c(Iso27001, "A.8.24"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: ingress_without_tls,
    },
    Check {
        id: "KSPM-N-009",
        title: "ingress-nginx snippet annotations",
        severity: Severity::High,
        description: "Snippet annotations inject raw NGINX configuration into the shared controller, which runs with a token that can read every Secret in the cluster.",
        remediation: "Remove the snippet; set `allow-snippet-annotations: false` on the controller.",
        kinds: &["Ingress"],
        controls: &[c(NsaCisa, "N25"), c(Iso27001, "A.8.9"), c(Nist800190, "4.3.2")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: nginx_snippets,
    },
    Check {
        id: "KSPM-N-010",
        title: "Kubernetes Dashboard deployed",
        severity: Severity::Medium,
        description: "The Dashboard is a frequent entry point: exposed, or bound to a powerful ServiceAccount, it hands out cluster access.",
        remediation: "Remove it; use kubectl or a read-only tool with SSO.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(CisGke, "5.10.1"), c(NsaCisa, "N25"), c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: dashboard,
    },
    Check {
        id: "KSPM-N-011",
        title: "NetworkPolicy selects no pod",
        severity: Severity::Low,
        description: "A NetworkPolicy whose podSelector matches none of its namespace's workloads protects nothing — usually a label typo that leaves the intended pods open.",
        remediation: "Fix the podSelector to the labels of the pods it is meant for, or delete the policy.",
        kinds: &["NetworkPolicy"],
        controls: NETWORK_SEGMENTATION,
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: policy_selects_nothing,
    },
    Check {
        id: "KSPM-N-012",
        title: "Service selects no pod",
        severity: Severity::Info,
        description: "A Service whose selector matches no workload sends traffic nowhere today, and to whichever pod someone later creates with those labels.",
        remediation: "Fix the selector or delete the Service.",
        kinds: &["Service"],
        controls: &[c(Iso27001, "A.8.9")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: service_selects_nothing,
    },
    Check {
        id: "KSPM-N-013",
        title: "Ingress routes to a Service that does not exist",
        severity: Severity::Low,
        description: "An Ingress rule whose backend Service is missing serves errors today; whoever can create a Service with that name in the namespace later receives the Ingress's traffic for its hosts and paths (and its TLS hostnames).",
        remediation: "Remove the rule, or create the intended Service.",
        kinds: &["Ingress"],
        controls: &[c(Iso27001, "A.8.9"), c(Soc2, "CC6.6")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: ingress_routes_nowhere,
    },
    Check {
        id: "KSPM-N-014",
        title: "ingress-nginx controller accepts snippet annotations",
        severity: Severity::High,
        description: "With `allow-snippet-annotations: \"true\"` in the controller's ConfigMap (the default before 1.9), and from 1.12 `annotations-risk-level: Critical` as well, anyone who can create an Ingress injects raw NGINX configuration into the shared controller: read its ServiceAccount token (every Secret), other tenants' traffic and TLS keys (CVE-2021-25742).",
        remediation: "Set `allow-snippet-annotations: \"false\"` and leave `annotations-risk-level` at `High` or lower in the controller's ConfigMap.",
        kinds: WORKLOAD_KINDS,
        controls: &[c(NsaCisa, "N21"), c(Soc2, "CC6.6"), c(PciDss, "2.2.1"), c(Iso27001, "A.8.9"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: nginx_controller_snippets,
    },
    Check {
        id: "KSPM-N-015",
        title: "kube-proxy serves metrics on every interface",
        severity: Severity::Low,
        description: "kube-proxy runs on the host network; with `metricsBindAddress` (or `--metrics-bind-address`) on a non-loopback address its unauthenticated /metrics endpoint is open to every pod and host that reaches the node (the default is 127.0.0.1:10249).",
        remediation: "Bind metrics to 127.0.0.1:10249, or restrict port 10249 on the nodes to the monitoring system.",
        kinds: &["ConfigMap", "DaemonSet"],
        controls: &[c(NsaCisa, "N7"), c(Iso27001, "A.8.20"), c(Nist800190, "4.3.3")],
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: kube_proxy_metrics,
    },
    Check {
        id: "KSPM-N-017",
        title: "Default-deny NetworkPolicy re-opened by an allow-all rule",
        severity: Severity::Medium,
        description: "NetworkPolicies add up: a namespace's default deny stops nothing for the pods another policy opens to every source (or every pod of every namespace) on every port. The namespace looks segmented and is not.",
        remediation: "Narrow the rule to the peers (podSelector/namespaceSelector) and ports the pods need, or remove it; keep the default deny.",
        kinds: &["NetworkPolicy"],
        controls: NETWORK_SEGMENTATION,
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: default_deny_reopened,
    },
    Check {
        id: "KSPM-N-018",
        title: "NetworkPolicy has no effect",
        severity: Severity::Low,
        description: "NetworkPolicies add up: when another policy that selects at least the same pods already isolates them and admits, by an allow-all rule, everything this policy's rules admit, this policy changes no connection. Whoever reads it believes the pods restricted; they are not. (A default deny voided this way is KSPM-N-017.)",
        remediation: "Narrow the other policy's allow-all rule to the peers and ports its pods need, so that this policy's restriction applies; or delete this policy if the openness is intended.",
        kinds: &["NetworkPolicy"],
        controls: NETWORK_SEGMENTATION,
        profile: Profile::Security,
        needs: Needs::Nothing,
        run: policy_without_effect,
    },
    Check {
        id: "KSPM-N-019",
        title: "Sensitive namespace open to every namespace",
        severity: Severity::High,
        description: "kube-system, and every namespace with a ServiceAccount that reaches, on the fleet's attack graph, cluster admin, every Secret or a cloud account's admin (by RBAC, a token it can take, Workload Identity or IRSA: the graph's one answer; high — kube-system where nothing shows such an account is medium), should accept connections only from the peers its services need. Here no NetworkPolicy restricts which namespaces' pods may connect to some of its pods (none isolates their ingress, or a rule admits every pod of every namespace on every port): a foothold in any namespace reaches them. Cilium's policies count as NetworkPolicies do (its `cluster` and `all` entities admit every namespace; a deny rule for the pods may restrict them). Pods a Calico policy or an AdminNetworkPolicy may apply to are evaluated in their order (tiers, `Pass`, NetworkPolicies at order 1000, the baseline last) for some pod of some namespace on every port: open only when every way through admits it (not judged beside a Cilium policy for the same pods). Host-network pods are left out (whether policies govern them is the network plugin's choice), and so are pods a policy API ClusterNetworkPolicy with ingress rules selects and the namespaces of Antrea's NetworkPolicies; a cluster with an Antrea ClusterNetworkPolicy, or whose input may lack policies (a policy kind the collector could not list, a policy CRD with no object of its kind), is not judged.",
        remediation: "Add a default-deny ingress policy to the namespace and allow, per port, only the namespaces and pods that need each service (for kube-dns: every namespace on 53/UDP and 53/TCP).",
        kinds: crate::inventory::workload_kinds!("Namespace", "NetworkPolicy"),
        controls: NETWORK_SEGMENTATION,
        profile: Profile::Security,
        needs: Needs::AttackGraph,
        run: sensitive_namespace_open,
    },
];

/// The Kubernetes NetworkPolicies by reference (a Calico `NetworkPolicy` of the same namespace
/// and name is another object, which the evaluator does not read).
fn kubernetes_policies<'a>(ctx: &Context<'a>) -> HashMap<String, &'a Object> {
    ctx.inv
        .of_kind("NetworkPolicy")
        .iter()
        .filter(|o| o.api_group() == "networking.k8s.io")
        .map(|o| (o.node_ref(), *o))
        .collect()
}

/// KSPM-N-018, from the NetworkPolicy evaluator's own reading of the policies.
fn policy_without_effect<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let policies = kubernetes_policies(ctx);
    crate::netpol::Model::of(ctx.inv)
        .shadowed()
        .into_iter()
        .filter_map(|s| {
            let object = *policies.get(&s.policy)?;
            let voided: Vec<String> = s
                .by
                .iter()
                .map(|(direction, by, rule, whom)| {
                    format!("{direction}: {by} {rule} admits {whom} on every port")
                })
                .collect();
            Some(Hit {
                severity: None,
                object,
                message: format!(
                    "changes no connection: another policy selecting at least its pods already admits all it would allow ({})",
                    voided.join("; ")
                ),
                evidence: s
                    .by
                    .iter()
                    .map(|(direction, by, rule, whom)| {
                        Evidence::new(
                            format!("spec.{direction}"),
                            format!("{by} {rule}: {whom}, every port"),
                        )
                    })
                    .collect(),
            })
        })
        .collect()
}

/// The ServiceAccounts of each namespace: its objects, and those its pods name.
fn service_accounts<'a>(ctx: &Context<'a>) -> BTreeMap<&'a str, BTreeSet<&'a str>> {
    let mut accounts: BTreeMap<&'a str, BTreeSet<&'a str>> = BTreeMap::new();
    for o in ctx.inv.of_kind("ServiceAccount") {
        if let Some(ns) = o.effective_namespace() {
            accounts.entry(ns).or_default().insert(o.name.as_str());
        }
    }
    for t in ctx.inv.templates() {
        let (ns, sa) = t.service_account();
        accounts.entry(ns).or_default().insert(sa);
    }
    accounts
}

/// Whether a cluster-scoped policy of the Kubernetes policy API (AdminNetworkPolicy,
/// BaselineAdminNetworkPolicy, ClusterNetworkPolicy), which can deny around NetworkPolicies,
/// has ingress rules for a pod of namespace `ns`. Its `subject` selects namespaces, or pods by
/// namespace and pod labels; a subject in another shape is taken to select the pod (so the
/// pod is not judged rather than judged wrongly).
fn admin_policy_selects(
    o: &Object,
    ns: &str,
    ns_labels: &BTreeMap<String, String>,
    pod_labels: &BTreeMap<String, String>,
) -> bool {
    if o.api_group() != "policy.networking.k8s.io"
        || o.body
            .at("/spec/ingress")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        return false;
    }
    let mut ns_labels = ns_labels.clone();
    ns_labels.insert("kubernetes.io/metadata.name".into(), ns.to_string());
    let subject = o.body.at("/spec/subject");
    let selector = |path: &str| {
        subject
            .and_then(|s| s.at(path))
            .filter(|v| v.is_object())
            .map(|v| LabelSelector::from_value(Some(v)))
    };
    match (selector("/namespaces"), selector("/pods/namespaceSelector")) {
        (Some(namespaces), _) => namespaces.matches(&ns_labels),
        (None, Some(namespaces)) => {
            namespaces.matches(&ns_labels)
                && selector("/pods/podSelector").is_none_or(|p| p.matches(pod_labels))
        }
        (None, None) => true,
    }
}

/// KSPM-N-019 candidates: per namespace, the workloads whose pods accept connections from every
/// namespace, and the namespace's ServiceAccounts as identities for the fleet's graph to judge
/// ([`settle_sensitive_namespace`]).
fn sensitive_namespace_open<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    const ADMIN_POLICY_KINDS: &[&str] = &[
        "AdminNetworkPolicy",
        "BaselineAdminNetworkPolicy",
        "ClusterNetworkPolicy",
    ];
    // The policy API's ClusterNetworkPolicy, which the evaluator does not read but whose
    // subject this check does (Antrea's kind of that name is among the unread ones below).
    let by_subject = |o: &Object| {
        ADMIN_POLICY_KINDS.contains(&o.kind.as_str()) && o.api_group() == "policy.networking.k8s.io"
    };
    let admin_policies: Vec<&Object> = ADMIN_POLICY_KINDS
        .iter()
        .flat_map(|k| ctx.inv.of_kind(k).iter().copied())
        .filter(|o| crate::netpol::is_unread_policy(o) && by_subject(o))
        .collect();
    // Policies the input may lack — a kind the collector could not list, or a policy CRD with
    // no object of its kind in the input (a live collection reads only the kinds it knows) —
    // could restrict any pod: nothing is claimed open.
    // An input that holds some Cilium policy has read Cilium's kinds (they are listed
    // together): a Cilium CRD without objects then means none exist.
    let cilium_read = ["CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy"]
        .iter()
        .any(|k| !ctx.inv.of_kind(k).is_empty());
    let unlisted =
        ctx.inv.cluster.coverage_gaps.iter().any(|g| {
            POLICY_KINDS.contains(&g.as_str()) || ADMIN_POLICY_KINDS.contains(&g.as_str())
        }) || ctx
            .inv
            .of_kind("CustomResourceDefinition")
            .iter()
            .filter(|o| crate::netpol::is_plugin_policy(o))
            .filter(|o| {
                !(cilium_read
                    && o.body.at("/spec/group").and_then(Value::as_str) == Some("cilium.io"))
            })
            .filter_map(|o| o.body.at("/spec/names/kind").and_then(Value::as_str))
            .any(|kind| ctx.inv.of_kind(kind).is_empty());
    if unlisted {
        return Vec::new();
    }
    let model = crate::netpol::Model::of(ctx.inv);
    // Policies the evaluator does not read (it reads Kubernetes', Cilium's, Calico's and the
    // AdminNetworkPolicy API's).
    let unread: Vec<&Object> = POLICY_KINDS
        .iter()
        .chain(ADMIN_POLICY_KINDS)
        .flat_map(|k| ctx.inv.of_kind(k).iter().copied())
        .filter(|o| crate::netpol::is_unread_policy(o) && !by_subject(o))
        .collect();
    // Which pods they select is not read (Antrea's appliedTo): a cluster-wide one may restrict
    // any pod, a namespaced one any pod of its namespace — decided the same in a namespace
    // part, which holds the cluster-scoped objects and its own.
    if unread.iter().any(|o| o.effective_namespace().is_none()) {
        return Vec::new();
    }
    let unread_in: HashSet<&str> = unread
        .iter()
        .filter_map(|o| o.effective_namespace())
        .collect();
    let namespaces: HashMap<&str, &Object> = ctx
        .inv
        .of_kind("Namespace")
        .iter()
        .map(|o| (o.name.as_str(), *o))
        .collect();
    let no_labels = BTreeMap::new();
    let mut open: BTreeMap<&str, Vec<(&'a Object, String, String)>> = BTreeMap::new();
    for t in ctx.inv.templates() {
        let pods = crate::netpol::Pods::of(t);
        if pods.host_network {
            continue;
        }
        let ns_labels = namespaces
            .get(pods.namespace.as_str())
            .map_or(&no_labels, |o| &o.labels);
        // Policies the evaluator does not read that may restrict the pods: not judged.
        let restricted_elsewhere = unread_in.contains(pods.namespace.as_str())
            || admin_policies
                .iter()
                .any(|o| admin_policy_selects(o, &pods.namespace, ns_labels, &pods.labels));
        if restricted_elsewhere {
            continue;
        }
        let Some(why) = model.open_to_every_namespace(&pods) else {
            continue;
        };
        let ns = t.owner.effective_namespace().unwrap_or("default");
        open.entry(ns).or_default().push((
            t.owner,
            pods.reference.clone(),
            match why {
                None => "no NetworkPolicy isolates its ingress".to_string(),
                Some(why) => why,
            },
        ));
    }
    let accounts = service_accounts(ctx);
    let mut hits = Vec::new();
    for (ns, mut workloads) in open {
        // In reference order, whatever order the input lists them in.
        workloads.sort_by(|a, b| a.1.cmp(&b.1));
        // On the Namespace; in manifests without one, on its first open workload.
        let object = namespaces.get(ns).copied().unwrap_or(workloads[0].0);
        const SHOWN: usize = 10;
        let mut listed: Vec<String> = workloads
            .iter()
            .take(SHOWN)
            .map(|(_, w, why)| format!("{w} ({why})"))
            .collect();
        if workloads.len() > SHOWN {
            listed.push(format!("and {} more", workloads.len() - SHOWN));
        }
        let mut evidence = vec![
            Evidence::new("metadata.name", ns),
            Evidence::new(
                "open to every namespace",
                workloads
                    .iter()
                    .map(|(_, w, why)| Value::String(format!("{w}: {why}")))
                    .collect::<Vec<Value>>(),
            ),
        ];
        evidence.extend(accounts.get(ns).into_iter().flatten().map(|sa| {
            Evidence::new(
                format!("{}ServiceAccount:{ns}/{sa}", super::IDENTITY_EVIDENCE),
                "",
            )
        }));
        hits.push(Hit {
            severity: None,
            object,
            message: format!(
                "pods of every namespace may connect to {} of its workload(s): {}",
                workloads.len(),
                listed.join(", ")
            ),
            evidence,
        });
    }
    hits
}

/// KSPM-N-019's rule on the fleet's graph: the namespace is sensitive when one of its
/// ServiceAccounts reaches cluster admin, every Secret (of any cluster) or a cloud account's
/// admin (high); kube-system is sensitive in any case (medium when nothing in the input shows
/// such a ServiceAccount: the platform's components run there); other namespaces are not
/// reported.
pub(crate) fn settle_sensitive_namespace(
    f: &crate::finding::Finding,
    reached: &[super::Reached],
) -> Option<crate::finding::Finding> {
    let ns = f
        .evidence
        .iter()
        .find(|e| e.path == "metadata.name")
        .and_then(|e| e.value.as_str())
        .unwrap_or_default()
        .to_string();
    let (why, severity) = match reached.iter().find(|r| !r.sinks.is_empty()) {
        Some(r) => (
            format!(
                "{} reaches {}",
                r.identity,
                super::judged::sink_names(r).join(", ")
            ),
            f.severity,
        ),
        None if ns == "kube-system" => (
            "it runs the control plane's and the platform's components".to_string(),
            Severity::Medium,
        ),
        None => return None,
    };
    let mut f = f.clone();
    f.severity = severity;
    f.message = format!("namespace {ns} is sensitive ({why}), yet {}", f.message);
    super::judged::keep_powerful_evidence(&mut f, reached);
    Some(f)
}

/// KSPM-N-017, from the NetworkPolicy evaluator's own reading of the policies.
fn default_deny_reopened<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let policies = kubernetes_policies(ctx);
    crate::netpol::Model::of(ctx.inv)
        .reopened()
        .into_iter()
        .filter_map(|r| {
            let object = *policies.get(&r.reopened_by)?;
            let pods = if r.for_all_pods {
                "every pod of the namespace"
            } else {
                "the pods it selects"
            };
            Some(Hit {
                severity: None,
                object,
                message: format!(
                    "{} opens {} {} to {} on every port, voiding the default deny {}",
                    r.rule, pods, r.direction, r.peers, r.denied_by
                ),
                evidence: vec![
                    Evidence::new(r.rule.clone(), "no peer or port restriction"),
                    Evidence::new("default deny", r.denied_by.clone()),
                ],
            })
        })
        .collect()
}

/// KSPM-N-014: the controller's ConfigMap (`--configmap`, `$(POD_NAMESPACE)` resolved) and its
/// version decide whether snippet annotations are accepted.
fn nginx_controller_snippets<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for c in crate::image::ingress_nginx_controllers(ctx.inv) {
        let ns = c.template.owner.effective_namespace().unwrap_or("default");
        let flags = super::control_plane::command_flags(c.container.container);
        let config = flags.get("configmap").and_then(|v| {
            let v = v.replace("$(POD_NAMESPACE)", ns);
            let (cm_ns, name) = v.split_once('/')?;
            ctx.inv
                .of_kind("ConfigMap")
                .iter()
                .find(|m| m.effective_namespace() == Some(cm_ns) && m.name == name)
                .copied()
        });
        let data = |key: &str| {
            config
                .and_then(|m| m.body.at(&format!("/data/{key}")))
                .and_then(Value::as_str)
        };
        // Unknown versions (a digest) are taken as current: snippets off, risk level High.
        let version = c.version.unwrap_or((1, 12, 0));
        let allow = match data("allow-snippet-annotations") {
            Some(v) => v.eq_ignore_ascii_case("true"),
            None => version < (1, 9, 0),
        };
        let risk = data("annotations-risk-level").unwrap_or("High");
        let risk_admits = version < (1, 12, 0) || risk.eq_ignore_ascii_case("Critical");
        if !(allow && risk_admits) {
            continue;
        }
        let (why, evidence) = match (config, data("allow-snippet-annotations")) {
            (Some(m), Some(v)) => (
                format!(
                    "ConfigMap {}/{} sets allow-snippet-annotations: {v:?}{}",
                    m.effective_namespace().unwrap_or(""),
                    m.name,
                    if version >= (1, 12, 0) {
                        format!(" and annotations-risk-level: {risk:?}")
                    } else {
                        String::new()
                    }
                ),
                Evidence::new(
                    format!("{}: data.allow-snippet-annotations", m.node_ref()),
                    v,
                ),
            ),
            _ => (
                format!(
                    "controller {} allows snippet annotations by default (before 1.9)",
                    c.tag.unwrap_or("")
                ),
                Evidence::new(c.template.container_path(&c.container, "image"), c.image),
            ),
        };
        hits.push(Hit {
            severity: None,
            object: c.template.owner,
            message: format!("{why}: anyone who can create an Ingress injects NGINX configuration into the controller"),
            evidence: vec![evidence],
        });
    }
    hits
}

/// Whether a bind address (`host:port`, `[v6]:port`, a bare host, or `:port` for every
/// interface) listens beyond loopback.
fn beyond_loopback(addr: &str) -> bool {
    let host = if let Some(rest) = addr.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else if addr.matches(':').count() == 1 {
        addr.split(':').next().unwrap_or("")
    } else {
        addr
    };
    !(host == "localhost" || host == "::1" || host.starts_with("127."))
}

/// KSPM-N-015: kube-system/kube-proxy's `config.conf` (`metricsBindAddress`) and the kube-proxy
/// DaemonSet's `--metrics-bind-address` flag (the flag wins when both are set).
fn kube_proxy_metrics<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        if t.owner.kind != "DaemonSet" || t.owner.effective_namespace() != Some("kube-system") {
            continue;
        }
        for c in t.containers() {
            if c.name != "kube-proxy" {
                continue;
            }
            let flags = super::control_plane::command_flags(c.container);
            if let Some(addr) = flags.get("metrics-bind-address") {
                if beyond_loopback(addr) {
                    hits.push(Hit {
                        severity: None,
                        object: t.owner,
                        message: format!(
                            "kube-proxy serves /metrics on {addr} (--metrics-bind-address)"
                        ),
                        evidence: vec![Evidence::new(
                            t.container_path(&c, "command"),
                            addr.as_str(),
                        )],
                    });
                }
            }
        }
    }
    for m in ctx.inv.of_kind("ConfigMap") {
        if m.name != "kube-proxy" || m.effective_namespace() != Some("kube-system") {
            continue;
        }
        let Some(conf) = m.body.at("/data/config.conf").and_then(Value::as_str) else {
            continue;
        };
        let Ok(cfg) = crate::yaml::value(conf) else {
            continue;
        };
        if let Some(addr) = cfg.get("metricsBindAddress").and_then(Value::as_str) {
            if !addr.is_empty() && beyond_loopback(addr) {
                hits.push(Hit {
                    severity: None,
                    object: m,
                    message: format!("kube-proxy configuration sets metricsBindAddress: {addr}"),
                    evidence: vec![Evidence::new("data[config.conf].metricsBindAddress", addr)],
                });
            }
        }
    }
    hits
}

fn ingress_routes_nowhere<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ingresses_to_missing_services(ctx, true)
}

/// Ingresses with a backend Service missing from their namespace: in the namespaces read live
/// (`live`; KSPM-N-013 — their Services are all in the input), or in the others (KSPM-M-004).
pub(crate) fn ingresses_to_missing_services<'a>(ctx: &Context<'a>, live: bool) -> Vec<Hit<'a>> {
    let known = NamespacePods::of(ctx);
    let services: HashSet<(&str, &str)> = ctx
        .inv
        .of_kind("Service")
        .iter()
        .map(|s| {
            (
                s.effective_namespace().unwrap_or("default"),
                s.name.as_str(),
            )
        })
        .collect();
    let mut hits = Vec::new();
    for i in ctx.inv.of_kind("Ingress") {
        let ns = i.effective_namespace().unwrap_or("default");
        if known.known(ns).is_some() != live {
            continue;
        }
        let missing: Vec<Evidence> = crate::exposure::ingress_backend_refs(i)
            .into_iter()
            .filter(|(_, name)| !services.contains(&(ns, name.as_str())))
            .map(|(path, name)| Evidence::new(path, name))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let mut names: Vec<&str> = missing.iter().filter_map(|e| e.value.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        hits.push(Hit {
            severity: None,
            object: i,
            message: format!(
                "Ingress routes to Service(s) {} that do not exist in namespace {ns}",
                names.join(", ")
            ),
            evidence: missing,
        });
    }
    hits
}

#[cfg(test)]
pub(crate) mod cases;
