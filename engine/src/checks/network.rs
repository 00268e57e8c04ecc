//! Network checks: NetworkPolicy coverage per namespace and per workload, and exposure through
//! Services and Ingresses.

use super::pod_security::{SYSTEM_NAMESPACES, WORKLOAD_KINDS};
use super::Needs;
use super::{Check, Context, Evidence, Hit};
use crate::controls::{c, Framework::*};
use crate::object::Object;
use crate::options::Profile;
use crate::selector::LabelSelector;
use crate::severity::Severity;
use serde_json::Value;
use std::collections::BTreeMap;

/// What a NetworkPolicy does: the pods it selects and which directions it isolates.
struct Policy<'a> {
    object: &'a Object,
    selector: LabelSelector,
    ingress: bool,
    egress: bool,
}

impl<'a> Policy<'a> {
    fn from(o: &'a Object) -> Policy<'a> {
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
            object: o,
            selector: LabelSelector::from_value(spec.and_then(|s| s.get("podSelector"))),
            ingress,
            egress,
        }
    }

    /// A default deny for a direction: selects every pod, isolates the direction, allows nothing.
    fn default_deny(&self, direction: &str) -> bool {
        let isolates = if direction == "ingress" {
            self.ingress
        } else {
            self.egress
        };
        let rules_empty = self
            .object
            .body
            .pointer(&format!("/spec/{direction}"))
            .is_none_or(|r| r.is_null() || r.as_array().is_some_and(|a| a.is_empty()));
        isolates && self.selector.is_empty() && rules_empty
    }
}

fn policies_by_namespace<'a>(ctx: &Context<'a>) -> BTreeMap<&'a str, Vec<Policy<'a>>> {
    let mut m: BTreeMap<&str, Vec<Policy>> = BTreeMap::new();
    for o in ctx.inv.of_kind("NetworkPolicy") {
        if o.api_group() == "networking.k8s.io" {
            m.entry(o.effective_namespace().unwrap_or("default"))
                .or_default()
                .push(Policy::from(o));
        }
    }
    m
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
    let pols = policies_by_namespace(ctx);
    namespaces_with_workloads(ctx)
        .into_iter()
        .filter(|ns| !pols.contains_key(ns.name.as_str()))
        .map(|ns| Hit {
            object: ns,
            message: "namespace runs workloads but has no NetworkPolicy: every pod accepts traffic from anywhere".into(),
            evidence: vec![Evidence::new("metadata.name", Value::String(ns.name.clone()))],
        })
        .collect()
}

fn missing_default_deny<'a>(ctx: &Context<'a>, direction: &str) -> Vec<Hit<'a>> {
    let pols = policies_by_namespace(ctx);
    namespaces_with_workloads(ctx)
        .into_iter()
        .filter_map(|ns| {
            let p = pols.get(ns.name.as_str())?;
            (!p.iter().any(|p| p.default_deny(direction))).then(|| Hit {
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
    let pols = policies_by_namespace(ctx);
    let mut hits = Vec::new();
    for t in ctx.inv.pod_templates() {
        let Some(ns) = t.owner.effective_namespace() else {
            continue;
        };
        // Namespaces without any policy are KSPM-N-001's finding.
        let Some(p) = pols.get(ns) else { continue };
        // hostNetwork pods are not subject to NetworkPolicy at all (KSPM-W-004 covers them).
        if t.spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let labels = LabelSelector::labels_of(t.metadata);
        if !p.iter().any(|p| p.ingress && p.selector.matches(&labels)) {
            hits.push(Hit {
                object: t.owner,
                message: format!("no NetworkPolicy in {ns} selects these pods for ingress: they accept traffic from anywhere"),
                evidence: vec![Evidence::new(t.owner_path("metadata.labels"), t.metadata.and_then(|m| m.get("labels")).cloned().unwrap_or(Value::Null))],
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
            let ips = s.body.pointer("/spec/externalIPs").and_then(Value::as_array).filter(|a| !a.is_empty())?;
            Some(Hit {
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
        .filter(|s| s.body.pointer("/spec/type").and_then(Value::as_str) == Some("NodePort"))
        .map(|s| Hit {
            object: s,
            message: "Service of type NodePort opens its port on every node".into(),
            evidence: vec![Evidence::new("spec.type", "NodePort")],
        })
        .collect()
}

/// Whether a LoadBalancer Service is internal (private) by its provider annotations.
pub(crate) fn internal_load_balancer(s: &Object) -> bool {
    let a = |k: &str| s.annotations.get(k).map(|v| v.to_ascii_lowercase());
    a("service.beta.kubernetes.io/aws-load-balancer-scheme").as_deref() == Some("internal")
        || a("service.beta.kubernetes.io/aws-load-balancer-internal").as_deref() == Some("true")
        || a("networking.gke.io/load-balancer-type").as_deref() == Some("internal")
        || a("cloud.google.com/load-balancer-type").as_deref() == Some("internal")
        || a("service.beta.kubernetes.io/azure-load-balancer-internal").as_deref() == Some("true")
}

fn open_load_balancer<'a>(ctx: &Context<'a>) -> Vec<Hit<'a>> {
    ctx.inv
        .of_kind("Service")
        .iter()
        .filter(|s| s.body.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer"))
        .filter(|s| !internal_load_balancer(s))
        .filter_map(|s| {
            let ranges: Vec<&str> = s
                .body
                .pointer("/spec/loadBalancerSourceRanges")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let open =
                ranges.is_empty() || ranges.iter().any(|r| *r == "0.0.0.0/0" || *r == "::/0");
            open.then(|| {
                let ports: Vec<String> = s
                    .body
                    .pointer("/spec/ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.get("port").map(|v| v.to_string()))
                    .collect();
                Hit {
                    object: s,
                    message: format!(
                        "internet-facing LoadBalancer on port(s) {} with no source ranges",
                        ports.join(", ")
                    ),
                    evidence: vec![Evidence::new(
                        "spec.loadBalancerSourceRanges",
                        s.body
                            .pointer("/spec/loadBalancerSourceRanges")
                            .cloned()
                            .unwrap_or(Value::Null),
                    )],
                }
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
                .pointer("/spec/tls")
                .and_then(Value::as_array)
                .is_none_or(|a| a.is_empty())
        })
        .map(|i| Hit {
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
            let image = c
                .container
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or("");
            if image.contains("kubernetesui/dashboard") || image.contains("kubernetes-dashboard") {
                hits.push(Hit {
                    object: t.owner,
                    message: format!("Kubernetes Dashboard is deployed (image {image})"),
                    evidence: vec![Evidence::new(t.container_path(&c, "image"), image)],
                });
            }
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
];
