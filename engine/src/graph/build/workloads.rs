//! Workloads: their pods, containers, tokens and Secrets, the ports they listen on, and where they run (INCLUDES, ENDPOINT_EXPLOIT, NODE_HOSTS_POD, NODE_MAY_HOST_POD, POD_RUNS_CONTAINER, CONTAINER_HAS_SA_TOKEN, SHARE_PROCESS_NS, POD_MOUNTS_SECRET).

use super::*;
use crate::pointer::Pointer as _;

impl ClusterBuilder<'_, '_> {
    pub(super) fn container_ref(&self, t: &PodTemplate<'_>, c: &ContainerRef<'_>) -> String {
        let ns = t.owner.effective_namespace().unwrap_or("default");
        if self
            .ambiguous_owner_names
            .contains(&(ns.to_string(), t.owner.name.clone()))
        {
            format!(
                "Container:{ns}/{}.{}/{}",
                t.owner.kind, t.owner.name, c.name
            )
        } else {
            format!("Container:{ns}/{}/{}", t.owner.name, c.name)
        }
    }

    /// The node indices a workload's containers escape to: where its pods run, or any node.
    pub(super) fn escape_targets(&mut self, workload_ref: &str) -> Vec<NodeIndex> {
        let nodes: Vec<String> = self
            .placement
            .get(workload_ref)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default();
        if nodes.is_empty() {
            vec![self.n("Node:*", NodeKind::Node)]
        } else {
            nodes
                .iter()
                .map(|n| self.n(&format!("Node:{n}"), NodeKind::Node))
                .collect()
        }
    }

    pub(super) fn workloads(&mut self) {
        let minor = self.rbac.minor_version;
        for t in self.inv.pod_templates() {
            let ns = t
                .owner
                .effective_namespace()
                .unwrap_or("default")
                .to_string();
            let wref = t.owner.node_ref();
            let w = self.n(&wref, NodeKind::Workload);
            let pods = crate::netpol::Pods::of(&t);
            let listens = pods
                .ports
                .iter()
                .map(|(_, port, protocol)| (*port, protocol.clone()))
                .collect();
            self.members
                .insert(wref.clone(), crate::netpol::Member { pods, listens });
            // Every workload is an assumed breach, the platform's own in kube-system included:
            // a compromised CNI agent or log shipper is where many real escalations start.
            self.g.mark_entry(w);
            let pods_hub = self.n(&format!("Pods:{ns}"), NodeKind::Hub);
            self.g
                .edge(pods_hub, w, T::INCLUDES, "pods of the namespace");
            // Its ports: what a Service, the internet or port-forward reaches. Running code in
            // the pods from there is an explicit, assumed step.
            let endpoint = self.n(&format!("Endpoint:{wref}"), NodeKind::Endpoint);
            let endpoints_hub = self.n(&format!("Endpoints:{ns}"), NodeKind::Hub);
            self.g.edge(
                endpoints_hub,
                endpoint,
                T::INCLUDES,
                "ports of the namespace's pods",
            );
            // What the scan's vulnerability reports say of its images sets how likely that
            // step is; without reports it stays the catalogue's assumption.
            let (likelihood, known) = match self.vulns.and_then(|v| v.assess(&t, self.inv)) {
                Some(a) => (
                    Some(a.likelihood(T::ENDPOINT_EXPLOIT.info().likelihood)),
                    format!("; {}", a.evidence()),
                ),
                None => (None, String::new()),
            };
            self.g.edge_weighted(
                endpoint,
                w,
                T::ENDPOINT_EXPLOIT,
                format!(
                    "code execution in {wref} assumed through a flaw in what listens on {}{known}",
                    listening_ports(&t)
                ),
                likelihood,
            );
            // Any node → what may run beside the attacker's pod, where no placement is known.
            if !self.facts.scheduled {
                if let Some((technique, why)) = co_scheduling(&t) {
                    let any = self.n("Node:*", NodeKind::Node);
                    self.g.edge(any, w, technique, why);
                }
            }
            // Node → pods it hosts.
            for node in self.placement.get(&wref).cloned().unwrap_or_default() {
                let n = self.n(&format!("Node:{node}"), NodeKind::Node);
                self.g.edge(
                    n,
                    w,
                    T::NODE_HOSTS_POD,
                    format!("a pod of {wref} runs on node {node} (spec.nodeName)"),
                );
            }
            let sa_name = t.service_account_name().to_string();
            let sa = self.n(
                &format!("ServiceAccount:{ns}/{sa_name}"),
                NodeKind::ServiceAccount,
            );
            // (Read on first use: a cluster part holds no pod templates.)
            let pod_tokens = self.inv.tokens().of_pods(&t);
            // Only pods that hold a token leave one in the node's pod directories.
            if self.part == Part::Namespace && pod_tokens.held(&t) {
                self.neighbours.residents.push((
                    ns.clone(),
                    sa_name.clone(),
                    self.placement.get(&wref).cloned().unwrap_or_default(),
                ));
            }
            let host_pid = t.host_pid();
            let pod_apparmor = t
                .spec
                .at("/securityContext/appArmorProfile/type")
                .and_then(Value::as_str);
            let volumes = t.host_path_volumes();
            let containers: Vec<ContainerRef<'_>> = t.containers().collect();
            let mut ctr_nodes = Vec::new();
            for c in &containers {
                let cref = self.container_ref(&t, c);
                let ci = self.n(&cref, NodeKind::Container);
                ctr_nodes.push(ci);
                self.g.edge(
                    w,
                    ci,
                    T::POD_RUNS_CONTAINER,
                    format!("{} `{}` of {wref}", c.list, c.name),
                );
                // Token.
                if let Some(why) = pod_tokens.in_container(c) {
                    let granted = !self
                        .rbac
                        .bindings_for(&Identity::service_account(&ns, &sa_name))
                        .is_empty();
                    let fix = token_removal(self.name, &pod_tokens, &t, c, granted);
                    self.g
                        .edge_fixed(ci, sa, T::CONTAINER_HAS_SA_TOKEN, why, fix);
                }
                self.escapes(
                    &t,
                    c,
                    ci,
                    &wref,
                    &ns,
                    &sa_name,
                    host_pid,
                    pod_apparmor,
                    &volumes,
                    minor,
                );
            }
            if t.spec.get("shareProcessNamespace").and_then(Value::as_bool) == Some(true) {
                for (i, a) in ctr_nodes.iter().enumerate() {
                    for (j, b) in ctr_nodes.iter().enumerate() {
                        if i != j {
                            self.g.edge(
                                *a,
                                *b,
                                T::SHARE_PROCESS_NS,
                                format!("{wref} sets shareProcessNamespace: true"),
                            );
                        }
                    }
                }
            }
            // Secrets the pods mount or read.
            for (secret, how) in pod_secrets(&t) {
                let s = self.n(&format!("Secret:{ns}/{secret}"), NodeKind::Secret);
                self.g.edge(
                    w,
                    s,
                    T::POD_MOUNTS_SECRET,
                    format!("{wref} {how} Secret {ns}/{secret}"),
                );
            }
        }
    }
}

/// The changes that take the ServiceAccount token out of container `c`: no automount, and no
/// projected token volume mounted; none where EKS's webhook injects one regardless.
fn token_removal(
    cluster: &str,
    tokens: &crate::inventory::PodTokens<'_>,
    t: &PodTemplate<'_>,
    c: &ContainerRef<'_>,
    granted: bool,
) -> Vec<Remedy> {
    if tokens.injected() {
        return Vec::new();
    }
    let sa = format!("{}/{}", tokens.namespace, tokens.service_account);
    let mut out = Vec::new();
    if tokens.automounted() {
        out.push(Remedy::no_automount(cluster, t, &sa, granted));
    }
    for v in tokens.projected_in(c) {
        out.extend(Remedy::unmount(
            cluster,
            t,
            c,
            v,
            &format!("the projected token of ServiceAccount {sa}"),
        ));
    }
    out
}

/// Secrets a pod template mounts or reads into env, with how.
pub(super) fn pod_secrets(t: &PodTemplate<'_>) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for v in t
        .spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(n) = v.at("/secret/secretName").and_then(Value::as_str) {
            out.insert(n.to_string(), "mounts");
        }
        for src in v
            .at("/projected/sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = src.at("/secret/name").and_then(Value::as_str) {
                out.insert(n.to_string(), "mounts (projected)");
            }
        }
    }
    for c in t.containers() {
        for (_, e) in c.env() {
            if let Some(n) = e.at("/valueFrom/secretKeyRef/name").and_then(Value::as_str) {
                out.entry(n.to_string()).or_insert("reads into env");
            }
        }
        for e in c
            .container
            .get("envFrom")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(n) = e.at("/secretRef/name").and_then(Value::as_str) {
                out.entry(n.to_string()).or_insert("reads into env");
            }
        }
    }
    out
}

/// The ports a workload's pods declare, for the evidence of [`T::ENDPOINT_EXPLOIT`]:
/// `8080/TCP (http, container web), …`, or a note that none is declared.
pub(super) fn listening_ports(t: &PodTemplate<'_>) -> String {
    let ports: Vec<String> = t
        .containers()
        .flat_map(|c| {
            c.ports().map(move |p| match p.name {
                Some(n) => format!("{}/{} ({n}, container {})", p.number, p.protocol, c.name),
                None => format!("{}/{} (container {})", p.number, p.protocol, c.name),
            })
        })
        .collect();
    if ports.is_empty() {
        "whatever its containers listen on (no containerPort declared)".to_string()
    } else {
        format!(
            "{} or any other port its containers listen on",
            ports.join(", ")
        )
    }
}

/// Node labels every node carries (`kubernetes.io/os`, `kubernetes.io/arch` and their beta
/// forms): a selector on them alone keeps a pod off no node of a uniform cluster.
pub(super) const UNIVERSAL_NODE_LABELS: &[&str] = &[
    "kubernetes.io/os",
    "kubernetes.io/arch",
    "beta.kubernetes.io/os",
    "beta.kubernetes.io/arch",
];

/// Whether a template's pods are kept to particular nodes: `nodeName`, a `nodeSelector` or a
/// required node affinity on anything but the universal os/arch labels.
pub(super) fn pinned_to_nodes(spec: &Value) -> bool {
    let named = spec
        .get("nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let selector = spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .is_some_and(|m| {
            m.keys()
                .any(|k| !UNIVERSAL_NODE_LABELS.contains(&k.as_str()))
        });
    let affinity = spec
        .at("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms")
        .and_then(Value::as_array)
        .is_some_and(|terms| {
            // Terms are ORed: pinned unless some term selects on universal labels only.
            !terms.is_empty()
                && !terms.iter().any(|term| {
                    ["matchExpressions", "matchFields"]
                        .iter()
                        .flat_map(|f| term.get(*f).and_then(Value::as_array).into_iter().flatten())
                        .map(|e| e.get("key").and_then(Value::as_str).unwrap_or(""))
                        .all(|k| UNIVERSAL_NODE_LABELS.contains(&k))
                })
        });
    named || selector || affinity
}

/// Whether "any node" may host a template's pods when no placement is known: a DaemonSet with
/// no node selector runs on every node ([`T::NODE_HOSTS_POD`]); any other workload may land
/// beside the attacker's pod ([`T::NODE_MAY_HOST_POD`]) unless it is pinned to particular nodes
/// ([`pinned_to_nodes`]).
pub(super) fn co_scheduling(t: &PodTemplate<'_>) -> Option<(T, String)> {
    if pinned_to_nodes(t.spec) {
        return None;
    }
    let wref = t.owner.node_ref();
    Some(if t.owner.kind == "DaemonSet" {
        (
            T::NODE_HOSTS_POD,
            format!("{wref} is a DaemonSet with no nodeSelector or required node affinity beyond os/arch: one of its pods runs on every node it tolerates"),
        )
    } else {
        (
            T::NODE_MAY_HOST_POD,
            format!("{wref} has no nodeName, nodeSelector or required node affinity beyond os/arch: it may be scheduled on the attacker's node (placement unknown)"),
        )
    })
}
